//! `cargo bench --bench transfer`: exporting and importing 1,000,000 keys with the command
//! line (the release binary), its peak memory read from `/proc` as it runs.
//!
//! Fills a redis-server it starts with 1,000,000 keys (70% strings, 20% hashes of 5 fields,
//! 10% lists of 5 elements, a third with TTLs), then: exports 100,000 of them and all of
//! them as JSON lines (the peak must not grow with the count: the export streams), exports
//! them as DUMP payloads, and imports the JSON lines into a second server.

#[path = "../tests/common/mod.rs"]
mod common;

use std::process::Command;
use std::time::{Duration, Instant};

const KEYS: usize = 1_000_000;

fn fill(server: &common::RedisServer) {
    let mut c = server.conn();
    let mut pipe = redis::pipe();
    for i in 0..KEYS {
        let key = format!("k:{:02}:{i}", i % 10);
        match i % 10 {
            0..=6 => pipe
                .cmd("SET")
                .arg(&key)
                .arg(format!("value-{i}-{}", "x".repeat(40)))
                .ignore(),
            7..=8 => pipe
                .cmd("HSET")
                .arg(&key)
                .arg("a")
                .arg(i)
                .arg("b")
                .arg("two")
                .arg("c")
                .arg("3")
                .arg("d")
                .arg("four")
                .arg("e")
                .arg("5")
                .ignore(),
            _ => pipe
                .cmd("RPUSH")
                .arg(&key)
                .arg(1)
                .arg(2)
                .arg(3)
                .arg(4)
                .arg(5)
                .ignore(),
        };
        if i % 3 == 0 {
            pipe.cmd("EXPIRE").arg(&key).arg(86_400).ignore();
        }
        if (i + 1) % 20_000 == 0 {
            pipe.query::<()>(&mut c).expect("fill");
            pipe = redis::pipe();
        }
    }
    let n: usize = redis::cmd("DBSIZE").query(&mut c).expect("dbsize");
    assert_eq!(n, KEYS);
}

/// Runs the binary, polling its peak resident memory (`VmHWM`) until it exits.
fn measured(args: &[&str], cfg: &std::path::Path) -> (Duration, f64, String) {
    let start = Instant::now();
    let mut child = Command::new(common::binary())
        .args(args)
        .env("CACHE_CONSOLE_CONFIG_DIR", cfg)
        .env("CACHE_CONSOLE_DATA_DIR", cfg)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run");
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0.0f64;
    loop {
        if let Ok(text) = std::fs::read_to_string(&status_file)
            && let Some(kb) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<f64>().ok())
        {
            peak_kb = peak_kb.max(kb);
        }
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout).trim(),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    (start.elapsed(), peak_kb / 1024.0, said)
}

fn main() {
    let server = common::RedisServer::start();
    let target = common::RedisServer::start();
    let cfg = tempfile::tempdir().expect("dir");
    print!("filling {KEYS} keys… ");
    let t = Instant::now();
    fill(&server);
    println!("{:.1} s", t.elapsed().as_secs_f64());
    let url = server.url();
    let file = |name: &str| cfg.path().join(name).to_string_lossy().into_owned();
    let small = file("small.jsonl");
    let all = file("all.jsonl");
    let dump = file("all.dump.jsonl");
    let runs: [(&str, Vec<&str>); 3] = [
        (
            "export 100,000 keys (k:00:*) as jsonl",
            vec!["export", &url, "k:00:*", "-o", &small],
        ),
        (
            "export 1,000,000 keys as jsonl",
            vec!["export", &url, "-o", &all],
        ),
        (
            "export 1,000,000 keys as DUMP",
            vec!["export", &url, "--format", "dump", "-o", &dump],
        ),
    ];
    println!("\n1. exports through the command line (release binary)");
    for (name, args) in &runs {
        let (took, peak, said) = measured(args, cfg.path());
        let size = std::fs::metadata(args[args.len() - 1]).map_or(0, |m| m.len());
        println!(
            "  {name:<40} {:>6.1} s  {:>7.0} keys/s  peak {:>5.1} MiB  file {:>5.0} MiB  ({said})",
            took.as_secs_f64(),
            if name.contains("100,000") {
                100_000.0
            } else {
                KEYS as f64
            } / took.as_secs_f64(),
            peak,
            size as f64 / 1_048_576.0
        );
    }
    println!("\n2. import of the 1,000,000-key jsonl export into another server");
    let (took, peak, said) = measured(&["import", &target.url(), &all], cfg.path());
    println!(
        "  {:>6.1} s  {:>7.0} keys/s  peak {:>5.1} MiB  ({said})",
        took.as_secs_f64(),
        KEYS as f64 / took.as_secs_f64(),
        peak
    );
    let n: usize = redis::cmd("DBSIZE")
        .query(&mut target.conn())
        .expect("dbsize");
    assert_eq!(n, KEYS, "every key arrived");
}
