//! Listings that do not slow the server: the scan budget against a real redis-server whose
//! slow log records every command over 1 ms. One test alone in its binary: the slow log
//! measures wall time, so no other test of this binary runs beside it.

mod common;

use common::{RedisServer, cli, config_dir, ok};

/// `n` string keys `key:N` made by the server itself (fast), and `hashes` hashes.
fn keyspace(server: &RedisServer, n: usize, hashes: usize) {
    let mut c = server.conn();
    redis::cmd("DEBUG")
        .arg("POPULATE")
        .arg(n)
        .arg("key")
        .query::<()>(&mut c)
        .expect("populate");
    let mut pipe = redis::pipe();
    for i in 0..hashes {
        pipe.cmd("HSET")
            .arg(format!("h:{i}"))
            .arg("f")
            .arg(i)
            .ignore();
    }
    pipe.query::<()>(&mut c).expect("hashes");
}

/// The `SCAN` calls the slow log holds (it records every command over 1 ms here).
fn slow_scans(server: &RedisServer) -> Vec<String> {
    let entries: Vec<redis::Value> = redis::cmd("SLOWLOG")
        .arg("GET")
        .arg(1000)
        .query(&mut server.conn())
        .expect("slowlog");
    entries
        .iter()
        .filter_map(|e| match e {
            redis::Value::Array(fields) => match fields.get(3) {
                Some(redis::Value::Array(args)) => Some(format!("{args:?}")),
                _ => None,
            },
            _ => None,
        })
        .filter(|args| args.to_uppercase().contains("SCAN"))
        .collect()
}

/// Microseconds the server spent in `SCAN` so far (`INFO commandstats`).
fn scan_usec(server: &RedisServer) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut server.conn())
        .expect("info");
    info.lines()
        .find_map(|l| l.strip_prefix("cmdstat_scan:"))
        .and_then(|rest| {
            rest.split(',')
                .find_map(|kv| kv.strip_prefix("usec="))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

#[test]
fn a_budgeted_listing_leaves_no_scan_in_the_slow_log_and_keeps_to_its_share() {
    let server = RedisServer::start_args(&[
        "--slowlog-log-slower-than",
        "1000",
        "--enable-debug-command",
        "yes",
    ]);
    // The slow log measures wall time: the server must not wait for a core meanwhile.
    server.prioritise();
    keyspace(&server, 300_000, 2_000);
    let cfg = config_dir();
    let url = server.url();

    // The default budget: every key, a TYPE-filtered listing too (RedisInsight #6202 filled
    // the slow log with these), and no SCAN in the slow log. A machine's hiccup (the server
    // paused by the system mid-call) can put one call there whatever its length: a second and
    // third try tell such a hiccup from calls that are too long, which are there every time.
    let mut tries = Vec::new();
    for _ in 0..3 {
        redis::cmd("SLOWLOG")
            .arg("RESET")
            .query::<()>(&mut server.conn())
            .expect("reset");
        let out = ok(&cli(cfg.path())
            .args(["keys", &url, "*", "--count"])
            .output()
            .expect("keys"));
        assert_eq!(out.trim(), "302000");
        let out = ok(&cli(cfg.path())
            .args(["keys", &url, "*", "--type", "hash", "--count"])
            .output()
            .expect("keys --type"));
        assert_eq!(out.trim(), "2000");
        let slow = slow_scans(&server);
        if slow.is_empty() {
            tries.clear();
            break;
        }
        tries.push(slow);
    }
    assert_eq!(
        tries,
        Vec::<Vec<String>>::new(),
        "slow SCAN calls in every try"
    );

    // Unthrottled lists the same keys.
    let out = ok(&cli(cfg.path())
        .args(["keys", &url, "*", "--count", "--scan-budget", "off"])
        .output()
        .expect("keys --scan-budget off"));
    assert_eq!(out.trim(), "302000");

    // A small budget: the server's time in SCAN stays within it (plus the quarter second's
    // worth it may spend at once), however long the listing takes.
    let small = RedisServer::start();
    common::fill(&mut small.conn(), "k:", 20_000);
    let before = scan_usec(&small);
    let started = std::time::Instant::now();
    let out = ok(&cli(cfg.path())
        .args(["keys", &small.url(), "*", "--count", "--scan-budget", "20"])
        .output()
        .expect("keys --scan-budget 20"));
    let wall = started.elapsed().as_secs_f64();
    assert_eq!(out.trim(), "20000");
    let spent_ms = (scan_usec(&small) - before) as f64 / 1000.0;
    assert!(
        spent_ms <= 20.0 * wall * 1.25 + 5.0,
        "{spent_ms:.1} ms of SCAN in {wall:.2} s with a budget of 20 ms/s"
    );

    // A budget that is not one is refused.
    for wrong in ["0", "1001", "fast", "-5"] {
        let out = cli(cfg.path())
            .args(["keys", &url, "--scan-budget", wrong])
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "--scan-budget {wrong}");
    }
}
