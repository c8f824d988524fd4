//! `cargo bench --bench scan`: listing 1,000,000 keys at the server's speed, and within the
//! default scan budget without a slow `SCAN`.
//!
//! Starts a redis-server whose slow log records every command over 1 ms
//! (`slowlog-log-slower-than 1000`), has it make 1,000,000 keys (`DEBUG POPULATE`), and times:
//! a C loop on hiredis (`SCAN cursor COUNT 1000` until the cursor is 0, compiled here with
//! `cc -O2 … -lhiredis`: Debian's libhiredis-dev; the bench stops and says so when it is
//! missing); `cache-console keys URL '*' --count --scan-budget off` (the command line); and the
//! app's own path (service → channel → state → key index, a headless window drawing at 60 Hz).
//! Then the same listings within the default budget, with the `SCAN` calls the slow log holds
//! after each. Best of three runs where it says so.

#[path = "../tests/common/mod.rs"]
mod common;

use std::process::Command;
use std::time::{Duration, Instant};

const KEYS: usize = 1_000_000;

const HIREDIS_LOOP: &str = r#"
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
int main(int argc, char **argv) {
    redisContext *c = redisConnect("127.0.0.1", atoi(argv[1]));
    if (c == NULL || c->err) { fprintf(stderr, "cannot connect\n"); return 1; }
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    unsigned long long cursor = 0, n = 0;
    do {
        redisReply *r = redisCommand(c, "SCAN %llu COUNT 1000", cursor);
        if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            fprintf(stderr, "bad reply\n");
            return 1;
        }
        cursor = strtoull(r->element[0]->str, NULL, 10);
        n += r->element[1]->elements;
        freeReplyObject(r);
    } while (cursor != 0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%llu %.3f\n", n, (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6);
    redisFree(c);
    return 0;
}
"#;

/// Compiles the hiredis loop; its path.
fn hiredis_loop(dir: &std::path::Path) -> std::path::PathBuf {
    let source = dir.join("scanloop.c");
    let binary = dir.join("scanloop");
    std::fs::write(&source, HIREDIS_LOOP).expect("write the C loop");
    let out = Command::new("cc")
        .args(["-O2", "-o"])
        .arg(&binary)
        .arg(&source)
        .arg("-lhiredis")
        .output()
        .expect("run cc");
    assert!(
        out.status.success(),
        "cannot build the hiredis loop (install libhiredis-dev): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    binary
}

/// One run of the C loop: its own timing.
fn run_hiredis(binary: &std::path::Path, port: u16) -> Duration {
    let out = Command::new(binary)
        .arg(port.to_string())
        .output()
        .expect("run the loop");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text.split_whitespace();
    let n: usize = parts.next().and_then(|n| n.parse().ok()).expect("count");
    assert!(n >= KEYS, "the loop saw {n} keys");
    let ms: f64 = parts.next().and_then(|m| m.parse().ok()).expect("time");
    Duration::from_secs_f64(ms / 1000.0)
}

/// One run of `keys --count` with `budget`: its wall time.
fn run_cli(url: &str, budget: &str) -> Duration {
    let cfg = tempfile::tempdir().expect("cfg");
    let start = Instant::now();
    let out = common::cli(cfg.path())
        .args(["keys", url, "*", "--count", "--scan-budget", budget])
        .output()
        .expect("run cache-console");
    let took = start.elapsed();
    let n: usize = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("a count");
    assert!(n >= KEYS, "the command line counted {n}");
    took
}

fn best(mut run: impl FnMut() -> Duration, runs: usize) -> Duration {
    (0..runs).map(|_| run()).min().unwrap_or_default()
}

/// The `SCAN` calls the slow log holds: their microseconds and `COUNT`s.
fn slow_scans(c: &mut redis::Connection) -> Vec<(i64, String)> {
    let entries: Vec<redis::Value> = redis::cmd("SLOWLOG")
        .arg("GET")
        .arg(10_000)
        .query(c)
        .expect("slowlog");
    entries
        .iter()
        .filter_map(|e| match e {
            redis::Value::Array(fields) => {
                let micros = match fields.get(2) {
                    Some(redis::Value::Int(us)) => *us,
                    _ => 0,
                };
                let args = match fields.get(3) {
                    Some(redis::Value::Array(args)) => args
                        .iter()
                        .filter_map(|a| match a {
                            redis::Value::BulkString(b) => {
                                Some(String::from_utf8_lossy(b).into_owned())
                            }
                            _ => None,
                        })
                        .collect::<Vec<_>>(),
                    _ => Vec::new(),
                };
                (args.first().is_some_and(|a| a.eq_ignore_ascii_case("SCAN")))
                    .then(|| (micros, args.get(5).cloned().unwrap_or_default()))
            }
            _ => None,
        })
        .collect()
}

/// `N SCAN calls over 1 ms` and, when there are any, their µs and `COUNT`s.
fn said(slow: &[(i64, String)]) -> String {
    if slow.is_empty() {
        return "0 SCAN calls over 1 ms in the slow log".to_owned();
    }
    let list: Vec<String> = slow
        .iter()
        .take(10)
        .map(|(us, count)| format!("{us} µs at COUNT {count}"))
        .collect();
    format!(
        "{} SCAN calls over 1 ms in the slow log ({})",
        slow.len(),
        list.join(", ")
    )
}

fn reset(c: &mut redis::Connection) {
    redis::cmd("SLOWLOG")
        .arg("RESET")
        .query::<()>(c)
        .expect("reset");
    redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query::<()>(c)
        .expect("reset the command stats");
}

/// The server's own count of `SCAN` calls since the last reset, and their mean length (µs).
fn scan_calls(c: &mut redis::Connection) -> (u64, f64) {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(c)
        .expect("info");
    let line = info
        .lines()
        .find_map(|l| l.strip_prefix("cmdstat_scan:"))
        .unwrap_or_default();
    let field = |name: &str| {
        line.split(',')
            .find_map(|kv| kv.strip_prefix(name))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a count the server printed"
    )]
    let calls = field("calls=") as u64;
    (calls, field("usec_per_call="))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let server = common::RedisServer::start_args(&[
        "--slowlog-log-slower-than",
        "1000",
        "--slowlog-max-len",
        "10000",
        "--enable-debug-command",
        "yes",
    ]);
    // The slow log measures wall time: on a two-core machine the app under test would pause
    // the server mid-command; a server has a host of its own in production.
    let prioritised = server.prioritise();
    let mut c = server.conn();
    redis::cmd("DEBUG")
        .arg("POPULATE")
        .arg(KEYS)
        .arg("key")
        .query::<()>(&mut c)
        .expect("populate");
    let dir = tempfile::tempdir().expect("dir");
    let looped = hiredis_loop(dir.path());
    let url = server.url();

    let hiredis = best(|| run_hiredis(&looped, server.port), 3);
    reset(&mut c);
    let cli_off = best(|| run_cli(&url, "off"), 3);
    let slow_off = slow_scans(&mut c);
    let (calls_off, mean_off) = scan_calls(&mut c);
    let (_h, app_off) = common::ui::timed_app_listing(&url, 2, None);
    println!("scan: {KEYS} keys, unthrottled (redis-server at a raised priority: {prioritised})");
    println!(
        "  hiredis SCAN COUNT 1000 loop (C, -O2): {:.0} ms",
        ms(hiredis)
    );
    println!(
        "  cache-console keys --count --scan-budget off: {:.0} ms = {:.2}x the C loop (three runs: {})",
        ms(cli_off),
        cli_off.as_secs_f64() / hiredis.as_secs_f64(),
        said(&slow_off)
    );
    println!("  SCAN calls (three runs): {calls_off}, {mean_off:.0} µs each on average");
    println!(
        "  the app's path, unthrottled: {:.0} ms = {:.2}x the C loop",
        ms(app_off),
        app_off.as_secs_f64() / hiredis.as_secs_f64()
    );

    let default = cache_console::core::model::DEFAULT_SCAN_BUDGET_MS.to_string();
    reset(&mut c);
    let cli_budget = run_cli(&url, &default);
    let slow_cli = slow_scans(&mut c);
    let (calls_cli, mean_cli) = scan_calls(&mut c);
    reset(&mut c);
    let (_h, app_budget) = common::ui::timed_app_listing(
        &url,
        1,
        Some(cache_console::core::model::DEFAULT_SCAN_BUDGET_MS),
    );
    let slow_app = slow_scans(&mut c);
    let (calls_app, mean_app) = scan_calls(&mut c);
    println!("scan: {KEYS} keys, the default budget ({default} ms/s)");
    println!(
        "  cache-console keys --count: {:.0} ms = {:.2}x its unthrottled listing; {}",
        ms(cli_budget),
        cli_budget.as_secs_f64() / cli_off.as_secs_f64(),
        said(&slow_cli)
    );
    println!(
        "  the app's path (two listings: at connect and one timed): {:.0} ms = {:.2}x its unthrottled listing; {}",
        ms(app_budget),
        app_budget.as_secs_f64() / app_off.as_secs_f64(),
        said(&slow_app)
    );
    println!(
        "  SCAN calls: the command line {calls_cli}, {mean_cli:.0} µs each on average; the app's path {calls_app}, {mean_app:.0} µs each"
    );
}
