//! `cargo bench --bench ssh`: the same listing straight to Redis and through an SSH tunnel.
//!
//! Starts a redis-server with 1,000,000 keys and a real sshd on loopback, then lists every key
//! through the backend (the app's listing path below the UI: `SCAN COUNT 1000` pages) three
//! times each way, and reports the best of each, the keys per second, and the ratio. The
//! tunnel's cost is the SSH encryption and channel windowing of every reply, on this machine's
//! cores (the bastion is local, so no network time is in either figure).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use cache_console::backend::ssh::{SshSecrets, SshTarget};
use cache_console::backend::{CacheBackend, ConnectOptions};
use cache_console::config::connection::{SshAuth, parse_url};
use common::sshd::{ClientKeys, Sshd};

const KEYS: usize = 1_000_000;

async fn listing(be: &dyn CacheBackend) -> (Duration, usize) {
    let start = Instant::now();
    let keys = common::list_keys(be, "*").await;
    (start.elapsed(), keys.len())
}

async fn best_of(be: &dyn CacheBackend, runs: usize) -> Duration {
    let mut best = Duration::MAX;
    for _ in 0..runs {
        let (t, n) = listing(be).await;
        assert_eq!(n, KEYS, "every key listed");
        best = best.min(t);
    }
    best
}

fn main() {
    let redis = common::RedisServer::start();
    let started = Instant::now();
    common::fill(&mut redis.conn(), "bench:key:", KEYS);
    println!(
        "redis-server filled with {KEYS} keys in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let keys = ClientKeys::new();
    let sshd = Sshd::start(&keys.authorized());
    let dir = tempfile::tempdir().expect("dir");
    let known_hosts = dir.path().join("known_hosts");
    std::fs::write(&known_hosts, sshd.known_hosts_line() + "\n").expect("known_hosts");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let (spec, _) = parse_url(&redis.url()).expect("url");
        let direct = cache_console::backend::connect(&spec, None, &ConnectOptions::default())
            .await
            .expect("direct");
        let tunnel = SshTarget {
            spec: common::sshd::tunnel_spec(
                &sshd,
                SshAuth::Key(keys.ed25519.clone()),
                &known_hosts,
            ),
            secrets: SshSecrets::default(),
        };
        let options = ConnectOptions {
            ssh: Some(Box::new(tunnel)),
            ..ConnectOptions::default()
        };
        let through = cache_console::backend::connect(&spec, None, &options)
            .await
            .expect("through the tunnel");
        let direct_t = best_of(direct.as_ref(), 3).await;
        let ssh_t = best_of(through.as_ref(), 3).await;
        let rate = |t: Duration| KEYS as f64 / t.as_secs_f64();
        println!(
            "direct: {} ms ({:.0} keys/s)",
            direct_t.as_millis(),
            rate(direct_t)
        );
        println!(
            "through SSH: {} ms ({:.0} keys/s)",
            ssh_t.as_millis(),
            rate(ssh_t)
        );
        println!(
            "throughput through SSH / direct: {:.2}",
            rate(ssh_t) / rate(direct_t)
        );
    });
}
