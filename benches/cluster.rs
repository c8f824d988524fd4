//! `cargo bench --bench cluster`: listing a Redis Cluster of 3,000,000 keys on 3 primaries.
//!
//! Starts its own cluster (3 primaries, no replicas), fills it node by node (each key sent to
//! the primary of its slot), then reports:
//! 1. the full listing through the app's own path (service → channel → state → key index, the
//!    list view shown and a frame drawn at most every 1/60 s meanwhile) against a bare
//!    redis-rs loop that scans the three primaries at once, each with its own cursor
//!    (`SCAN COUNT 1000`), doing nothing with the keys;
//! 2. bytes per key held by the key index (namespace tree built) beyond the key bytes.
//!
//! Two more lines say where the app's time goes: the backend's cluster listing alone (no
//! service, no UI), and the key index alone fed the keys that listing found.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use cache_console::backend::redis::cluster::slot;
use common::cluster::RedisCluster;

const KEYS: usize = 3_000_000;
const PRIMARIES: usize = 3;

fn fill(cluster: &RedisCluster) {
    let per = 16384 / PRIMARIES;
    let owner = |key: &[u8]| (usize::from(slot(key)) / per).min(PRIMARIES - 1);
    let mut conns: Vec<redis::Connection> = cluster
        .nodes
        .iter()
        .map(common::RedisServer::conn)
        .collect();
    let mut pipes: Vec<redis::Pipeline> = (0..PRIMARIES).map(|_| redis::pipe()).collect();
    let mut queued = [0usize; PRIMARIES];
    for i in 0..KEYS {
        // The shape of the one-server bench (`benches/browser.rs`): `{type}:{id}:{sub}`.
        let t = match i % 10 {
            0..=2 => "string",
            3..=5 => "hash",
            6..=7 => "list",
            _ => "set",
        };
        let key = format!("{t}:{}:{}", i / 3, ["name", "data", "meta"][i % 3]);
        let node = owner(key.as_bytes());
        pipes[node].cmd("SET").arg(&key).arg(i).ignore();
        queued[node] += 1;
        if queued[node] == 20_000 {
            pipes[node].query::<()>(&mut conns[node]).expect("fill");
            pipes[node] = redis::pipe();
            queued[node] = 0;
        }
    }
    for node in 0..PRIMARIES {
        if queued[node] > 0 {
            pipes[node].query::<()>(&mut conns[node]).expect("fill");
        }
    }
    let total: usize = conns
        .iter_mut()
        .map(|c| redis::cmd("DBSIZE").query::<usize>(c).expect("dbsize"))
        .sum();
    assert_eq!(total, KEYS, "every key on its slot's primary");
}

/// A runtime with two worker threads, one a core here.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Three SCAN loops at once, one per primary, each with its own cursor.
fn bare_scan(cluster: &RedisCluster) -> (Duration, usize) {
    let rt = runtime();
    rt.block_on(async {
        let mut conns = Vec::new();
        for node in &cluster.nodes {
            conns.push(
                node.client()
                    .get_multiplexed_async_connection()
                    .await
                    .expect("connect"),
            );
        }
        let start = Instant::now();
        let loops = conns
            .iter_mut()
            .map(|conn| async move { common::bare_scan(conn).await });
        let counts = futures_util::future::join_all(loops).await;
        (start.elapsed(), counts.into_iter().sum())
    })
}

/// The console's own cluster listing, without the service or the UI: what the backend alone
/// costs.
fn backend_scan(url: &str) -> (Duration, Vec<bytes::Bytes>) {
    let rt = runtime();
    rt.block_on(async {
        let be = common::open_url(url).await;
        let request = cache_console::core::model::ScanRequest::matching(b"*".to_vec());
        let start = Instant::now();
        let (mut cursor, mut keys) = (0, Vec::new());
        loop {
            let page = be.scan(&request, cursor).await.expect("scan");
            keys.extend(page.keys);
            cursor = page.next_cursor;
            if cursor == 0 {
                return (start.elapsed(), keys);
            }
        }
    })
}

fn main() {
    let started = Instant::now();
    let cluster = RedisCluster::start_with(PRIMARIES, 0, &[]);
    fill(&cluster);
    println!(
        "cluster of {PRIMARIES} primaries filled with {KEYS} keys in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let bare = (0..3)
        .map(|_| {
            let (t, n) = bare_scan(&cluster);
            assert!(n >= KEYS);
            t
        })
        .min()
        .unwrap_or_default();
    let mut listed = Vec::new();
    let alone = (0..2)
        .map(|_| {
            let (t, keys) = backend_scan(&cluster.url());
            assert!(keys.len() >= KEYS);
            listed = keys;
            t
        })
        .min()
        .unwrap_or_default();
    // The key index alone, fed the keys in the order the listing found them (what the UI
    // thread does with them, without drawing).
    let index_alone = |tree: bool| {
        let start = Instant::now();
        let mut index = cache_console::core::keyindex::KeyIndex::new(":");
        index.set_tree_wanted(tree);
        index
            .extend(listed.iter().map(AsRef::as_ref))
            .expect("index");
        assert_eq!(index.len(), KEYS);
        start.elapsed()
    };
    let indexing = index_alone(false);
    let with_tree = index_alone(true);
    // The best of three, as for the bare loops: both sides get the same number of tries.
    let (mut h, app_best) = common::ui::timed_app_listing(&cluster.url(), 3, None);
    // Memory as the tree view holds it: every key in the namespace tree too.
    let session = h.state_mut().state.active_session_mut().expect("session");
    session.browser.index.attach_pending(Duration::MAX);
    let session = h.state().state.active_session().expect("session");
    assert_eq!(session.browser.index.len(), KEYS, "every key listed once");
    let ratio = app_best.as_secs_f64() / bare.as_secs_f64();
    println!("\n1. full listing of {KEYS} keys on {PRIMARIES} primaries");
    println!(
        "  bare redis-rs loops, one per primary, at once  {:>8.0} ms",
        bare.as_secs_f64() * 1e3
    );
    println!(
        "  the backend's cluster listing alone            {:>8.0} ms",
        alone.as_secs_f64() * 1e3
    );
    println!(
        "  the key index alone, fed the listed keys        {:>8.0} ms",
        indexing.as_secs_f64() * 1e3
    );
    println!(
        "  the same with the namespace tree (tree view)    {:>8.0} ms",
        with_tree.as_secs_f64() * 1e3
    );
    println!(
        "  app path (cluster scan, service, index, UI)    {:>8.0} ms",
        app_best.as_secs_f64() * 1e3
    );
    println!("  ratio                                          {ratio:>8.2}   (target <= 1.25)");
    let heap = session.browser.index.heap_bytes();
    let key_bytes = session.browser.index.key_bytes();
    #[allow(clippy::cast_precision_loss)]
    let per_key = (heap - key_bytes) as f64 / KEYS as f64;
    println!("\n2. key index memory (with the namespace tree built)");
    println!("  bytes per key beyond the key bytes             {per_key:>8.1}   (target <= 100)");
}
