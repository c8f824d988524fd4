//! Live metrics against real redis-server and memcached processes: known numbers of hits and
//! misses in, the computed hit rate, ops and memory figures out.

mod common;

use std::time::{Duration, Instant};

use cache_console::backend::{CacheBackend, ConnectOptions};
use cache_console::config::connection::parse_url;
use cache_console::core::metrics::{Derived, Metric, Sample, derive};
use cache_console::service::{CommandKind, EventKind, ServiceHandle};
use common::{MemcachedServer, RedisServer, cli, hits_and_misses, open_url as open};

async fn sample(be: &dyn CacheBackend) -> Sample {
    Sample {
        at_ms: cache_console::core::ttl::now_unix_ms(),
        servers: be.stats().await.expect("stats"),
    }
}

/// The counter increase behind a rate: rate × the interval.
fn over_interval(d: &Derived, m: Metric, a: &Sample, b: &Sample) -> f64 {
    d.total.get(m) * (b.at_ms - a.at_ms) as f64 / 1000.0
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

#[tokio::test]
async fn redis_hit_rate_ops_and_memory_follow_what_clients_did() {
    let server = RedisServer::start_args(&["--maxmemory", "64mb"]);
    let mut c = server.conn();
    let be = open(&server.url()).await;
    let a = sample(be.as_ref()).await;
    hits_and_misses(&mut c, 30, 10);
    redis::cmd("SET")
        .arg("big")
        .arg(vec![b'x'; 1 << 20])
        .query::<()>(&mut c)
        .expect("set big");
    tokio::time::sleep(Duration::from_millis(50)).await;
    let b = sample(be.as_ref()).await;
    let d = derive(Some(&a), &b);

    assert!(close(d.total.get(Metric::HitRate), 75.0), "{:?}", d.total);
    assert!(close(over_interval(&d, Metric::HitsPerSec, &a, &b), 30.0));
    assert!(close(over_interval(&d, Metric::MissesPerSec, &a, &b), 10.0));
    // 40 GETs, two SETs and the INFO of the first sample (a command counts once it is done).
    let ops = over_interval(&d, Metric::OpsPerSec, &a, &b);
    assert!((42.9..=44.1).contains(&ops), "ops over the interval: {ops}");
    assert!(close(d.total.get(Metric::LifetimeHitRate), 75.0));
    assert!(close(
        d.total.get(Metric::MaxMemory),
        64.0 * 1024.0 * 1024.0
    ));
    let grew = d.total.get(Metric::UsedMemory) - derive(None, &a).total.get(Metric::UsedMemory);
    assert!(grew >= f64::from(1 << 20), "used memory grew by {grew}");
    assert!(d.total.get(Metric::RssMemory) > 0.0);
    assert!(d.total.get(Metric::Fragmentation) > 0.0);
    assert!(d.total.get(Metric::Clients) >= 2.0);
    assert!(close(d.total.get(Metric::Keys), 2.0));
    assert_eq!(b.servers[0].1.keys_per_db, vec![(0, 2)]);
    assert!(d.total.get(Metric::NetInPerSec) > 0.0);
    assert!(d.restarted.is_empty());
}

#[tokio::test]
async fn evictions_and_expirations_are_counted_per_second() {
    let server =
        RedisServer::start_args(&["--maxmemory", "2mb", "--maxmemory-policy", "allkeys-lru"]);
    let mut c = server.conn();
    let be = open(&server.url()).await;
    let a = sample(be.as_ref()).await;
    for i in 0..20 {
        redis::cmd("SET")
            .arg(format!("e:{i}"))
            .arg("v")
            .arg("PX")
            .arg(1)
            .query::<()>(&mut c)
            .expect("set");
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    for i in 0..20 {
        // Reading an expired key removes it and counts it as expired.
        let _: Option<String> = redis::cmd("GET")
            .arg(format!("e:{i}"))
            .query(&mut c)
            .expect("get");
    }
    for i in 0..64 {
        redis::cmd("SET")
            .arg(format!("big:{i}"))
            .arg(vec![b'x'; 100 * 1024])
            .query::<()>(&mut c)
            .expect("set big");
    }
    let b = sample(be.as_ref()).await;
    let d = derive(Some(&a), &b);
    assert!(close(
        over_interval(&d, Metric::ExpiredPerSec, &a, &b),
        20.0
    ));
    let evicted = over_interval(&d, Metric::EvictedPerSec, &a, &b);
    assert!(evicted >= 40.0, "evicted {evicted}");
}

/// Metric events of connection 1 until `n` arrived (failures are collected too).
fn collect(service: &mut common::Service, n: usize) -> (Vec<Derived>, usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let (mut got, mut failed) = (Vec::new(), 0);
    while got.len() < n {
        assert!(
            Instant::now() < deadline,
            "only {} samples arrived",
            got.len()
        );
        match service
            .blocking_recv(Duration::from_secs(5))
            .map(|e| e.kind)
        {
            Some(EventKind::Metrics { derived, .. }) => got.push(derived),
            Some(EventKind::MetricsFailed(_)) => failed += 1,
            _ => {}
        }
    }
    (got, failed)
}

#[test]
fn a_restart_mid_sampling_is_detected_and_never_drawn_as_a_negative_rate() {
    let mut server = RedisServer::start();
    hits_and_misses(&mut server.conn(), 500, 0);
    let (spec, _) = parse_url(&server.url()).expect("url");
    let mut service = common::Service(ServiceHandle::start(None).expect("service"));
    let connect = CommandKind::Connect {
        spec: Box::new(spec),
        password: None,
        options: ConnectOptions::default(),
    };
    service.send(1, 1, connect).expect("send");
    let ev = service
        .blocking_recv(Duration::from_secs(10))
        .expect("event");
    assert!(matches!(ev.kind, EventKind::Connected { .. }), "{ev:?}");
    let interval = Duration::from_millis(150);
    service
        .send(1, 2, CommandKind::StartMetrics { interval })
        .expect("send");
    let (before, _) = collect(&mut service, 3);

    server.restart();
    hits_and_misses(&mut server.conn(), 1, 0);
    let (after, _) = collect(&mut service, 4);

    let all: Vec<&Derived> = before.iter().chain(&after).collect();
    for d in &all {
        for m in Metric::ALL {
            let v = d.total.get(m);
            assert!(v.is_nan() || v >= 0.0, "{m:?} = {v} in {d:?}");
        }
    }
    let restart = after
        .iter()
        .position(|d| !d.restarted.is_empty())
        .expect("the restart is reported");
    assert!(after[restart].total.value(Metric::OpsPerSec).is_none());
    assert!(
        after[restart + 1..]
            .iter()
            .any(|d| d.total.value(Metric::OpsPerSec).is_some()),
        "rates come back after the restart"
    );

    // Stopped (nothing shows it): no more samples.
    service.send(1, 3, CommandKind::StopMetrics).expect("send");
    std::thread::sleep(interval * 2);
    while service.blocking_recv(Duration::from_millis(10)).is_some() {}
    std::thread::sleep(interval * 3);
    assert!(
        service.blocking_recv(Duration::from_millis(50)).is_none(),
        "a stopped sampler sends nothing"
    );
}

/// `get` of these keys `times` times over, in one multi-key command per round.
fn gets(server: &MemcachedServer, keys: &[&str], times: usize) {
    let line = format!("get {}\r\n", keys.join(" "));
    for _ in 0..times {
        server.raw(&line, "END\r\n");
    }
}

#[tokio::test]
async fn a_memcached_pool_is_summed_and_shown_per_server() {
    let one = MemcachedServer::start();
    let two = MemcachedServer::start();
    for s in [&one, &two] {
        s.raw("set k 0 0 5\r\nhello\r\n", "STORED");
    }
    let be = open(&format!("memcached://{},{}", one.addr(), two.addr())).await;
    let a = sample(be.as_ref()).await;
    gets(&one, &["k", "k", "k", "k", "nope"], 5); // 20 hits, 5 misses
    gets(&two, &["k", "nope", "nope", "nope"], 10); // 10 hits, 30 misses
    two.raw("set n 0 0 1\r\nx\r\n", "STORED");
    let b = sample(be.as_ref()).await;
    let d = derive(Some(&a), &b);

    assert!(
        close(d.total.get(Metric::HitRate), 30.0 / 65.0 * 100.0),
        "{:?}",
        d.total
    );
    assert_eq!(d.servers.len(), 2);
    assert!(close(d.servers[0].1.get(Metric::HitRate), 80.0));
    assert!(close(d.servers[1].1.get(Metric::HitRate), 25.0));
    assert!(close(over_interval(&d, Metric::GetsPerSec, &a, &b), 65.0));
    assert!(close(over_interval(&d, Metric::SetsPerSec, &a, &b), 1.0));
    assert!(close(
        d.total.get(Metric::MaxMemory),
        2.0 * 256.0 * 1024.0 * 1024.0
    ));
    assert!(d.total.get(Metric::UsedMemory) > 0.0);
    assert!(close(d.total.get(Metric::Keys), 3.0));
    assert!(d.total.get(Metric::Clients) >= 2.0);
    assert!(close(
        d.total.get(Metric::LifetimeHitRate),
        30.0 / 65.0 * 100.0
    ));
}

#[test]
fn the_stats_command_reports_the_hit_rate_over_its_interval() {
    let server = RedisServer::start();
    let url = server.url();
    let cfg = common::config_dir();
    let child = cli(cfg.path())
        .args(["stats", &url, "--json", "--watch", "0.5", "--count", "2"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run");
    // Steady traffic for the whole run: 3 hits per miss.
    let mut c = server.conn();
    hits_and_misses(&mut c, 0, 0);
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(1300) {
        for key in ["k", "k", "k", "missing"] {
            let _: Option<String> = redis::cmd("GET").arg(key).query(&mut c).expect("get");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let reports: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(reports.len(), 2, "{text}");
    for r in &reports {
        let rate = r["hit_rate_pct"].as_f64().expect("hit rate");
        assert!((70.0..=80.0).contains(&rate), "{rate}");
        assert!(r["ops_per_sec"].as_f64().expect("ops") > 10.0);
        assert!(r["used_memory_bytes"].as_f64().expect("memory") > 0.0);
        assert!(r["time"].as_str().is_some_and(|t| t.ends_with('Z')));
    }

    let plain = cli(cfg.path())
        .args(["stats", &url, "--interval", "0.2"])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&plain.stdout);
    assert!(text.contains("Hit rate since start"), "{text}");
    assert!(text.contains("Keys in db0"), "{text}");
    let bad = cli(cfg.path())
        .args(["stats", &url, "--interval", "0"])
        .output()
        .expect("run");
    assert_eq!(bad.status.code(), Some(2));
}

#[tokio::test]
async fn a_pool_with_a_dead_server_is_still_sampled_and_names_it() {
    let mut one = MemcachedServer::start();
    let mut two = MemcachedServer::start();
    one.raw("set k 0 0 1\r\nx\r\n", "STORED");
    let be = open(&format!("memcached://{},{}", one.addr(), two.addr())).await;
    let dead = two.port.to_string();
    two.kill();
    let stats = be.stats().await.expect("one server still answers");
    assert_eq!(stats[0].1.keys, Some(1));
    assert!(stats[0].1.error.is_none());
    let error = stats[1].1.error.clone().unwrap_or_default();
    assert!(error.contains(&dead), "{error}");
    let d = derive(
        None,
        &Sample {
            at_ms: 0,
            servers: stats,
        },
    );
    assert!(
        close(d.total.get(Metric::Keys), 1.0),
        "the live server's figures"
    );
    one.kill();
    assert!(
        be.stats().await.is_err(),
        "no server answers: the sample fails"
    );
}
