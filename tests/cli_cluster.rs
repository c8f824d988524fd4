//! The command line on a real Redis Cluster: every command takes a `redis+cluster://` URL;
//! keys of different slots go in one `del`; `--node` lists or flushes one node.

mod common;

use common::cluster::RedisCluster;
use common::{cli, config_dir, ok};

fn run(cfg: &std::path::Path, args: &[&str]) -> std::process::Output {
    cli(cfg).args(args).output().expect("run cache-console")
}

#[test]
fn every_command_works_on_a_cluster_url() {
    let cluster = RedisCluster::start();
    let cfg = config_dir();
    let url = cluster.url();
    for i in 0..40 {
        ok(&run(
            cfg.path(),
            &["set", &url, &format!("page:{i}"), "x", "--ttl", "1h"],
        ));
    }
    ok(&run(cfg.path(), &["set", &url, "user:1", "alice"]));
    assert_eq!(ok(&run(cfg.path(), &["get", &url, "user:1"])), "alice");
    let keys = ok(&run(cfg.path(), &["keys", &url, "page:*", "--count"]));
    assert_eq!(keys.trim(), "40");
    let listed = ok(&run(cfg.path(), &["keys", &url]));
    assert_eq!(listed.lines().count(), 41);
    let secs: i64 = ok(&run(cfg.path(), &["ttl", &url, "page:3", "30m"]))
        .trim()
        .parse()
        .expect("seconds");
    assert!((1790..=1800).contains(&secs), "{secs}");

    // One node's keys alone.
    let first = format!("127.0.0.1:{}", cluster.nodes[0].port);
    let on_first: u64 = redis::cmd("DBSIZE")
        .query(&mut cluster.nodes[0].conn())
        .expect("dbsize");
    let listed = ok(&run(
        cfg.path(),
        &["keys", &url, "--node", &first, "--count"],
    ));
    assert_eq!(listed.trim(), on_first.to_string());

    // Keys in different slots, in one call.
    let out = ok(&run(
        cfg.path(),
        &["del", &url, "page:1", "page:2", "page:3", "user:1"],
    ));
    assert_eq!(out.trim(), "4");
    let out = ok(&run(
        cfg.path(),
        &["del", &url, "--pattern", "page:*", "--yes"],
    ));
    assert_eq!(out.trim(), "37");

    // Figures per primary and summed; an analysis over every node.
    for i in 0..30 {
        ok(&run(cfg.path(), &["set", &url, &format!("s:{i}"), "v"]));
    }
    let stats = ok(&run(
        cfg.path(),
        &["stats", &url, "--json", "--interval", "0.2"],
    ));
    assert!(stats.contains(&first), "{stats}");
    let analysis = ok(&run(cfg.path(), &["analyze", &url, "--json"]));
    assert!(
        analysis.contains("\"keys\":30") || analysis.contains("\"keys\": 30"),
        "{analysis}"
    );
    let on_first_now: u64 = redis::cmd("DBSIZE")
        .query(&mut cluster.nodes[0].conn())
        .expect("dbsize");
    let one = ok(&run(
        cfg.path(),
        &["analyze", &url, "--node", &first, "--json"],
    ));
    let keys = format!("\"keys\":{on_first_now}");
    assert!(one.contains(&keys), "{keys} in {one}");

    // Flush one node, then every primary; both need --yes.
    let out = run(cfg.path(), &["flush", &url, "--node", &first]);
    assert_eq!(out.status.code(), Some(1));
    let on_first: u64 = redis::cmd("DBSIZE")
        .query(&mut cluster.nodes[0].conn())
        .expect("dbsize");
    ok(&run(
        cfg.path(),
        &["flush", &url, "--node", &first, "--yes"],
    ));
    let left: u64 = cluster.nodes[..3]
        .iter()
        .map(|n| {
            redis::cmd("DBSIZE")
                .query::<u64>(&mut n.conn())
                .expect("dbsize")
        })
        .sum();
    assert_eq!(left, 30 - on_first);
    ok(&run(cfg.path(), &["flush", &url, "--yes"]));
    assert!(cluster.keys_on_primaries().is_empty());
}

/// `exec` on a cluster: a command with a key goes to the node that owns its slot, whichever
/// node the URL names; one without a key is refused, saying why.
#[test]
fn exec_routes_a_keyed_command_to_its_slots_owner() {
    let cluster = RedisCluster::start();
    let cfg = config_dir();
    let url = cluster.url();
    for i in 0..20 {
        let key = format!("exec:{i}");
        assert_eq!(
            ok(&run(
                cfg.path(),
                &["exec", &url, "--", "SET", &key, &i.to_string()]
            )),
            "OK\n"
        );
        assert_eq!(
            ok(&run(cfg.path(), &["exec", &url, "--", "GET", &key])),
            format!("\"{i}\"\n")
        );
    }
    let listed = ok(&run(cfg.path(), &["keys", &url, "exec:*", "--count"]));
    assert_eq!(listed.trim(), "20", "each on its own slot's node");
    let keyless = run(cfg.path(), &["exec", &url, "--", "DBSIZE"]);
    assert!(!keyless.status.success());
    assert!(String::from_utf8_lossy(&keyless.stderr).contains("no key to choose a node by"));
}
