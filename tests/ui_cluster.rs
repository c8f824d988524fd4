//! The console on a real Redis Cluster, clicked through as a user does: the listing shows each
//! primary's progress, the server panel opens on the nodes, and a flush of one node asks
//! which node and empties only that one.

mod common;

use common::cluster::RedisCluster;
use common::ui::{connect_to, replace_text, run_until, wait_listed};
use egui_kittest::kittest::Queryable;

fn seed(cluster: &RedisCluster, n: usize) {
    let mut c = cluster.client();
    for i in 0..n {
        redis::cmd("SET")
            .arg(format!("order:{i}"))
            .arg(i)
            .query::<()>(&mut c)
            .expect("seed");
    }
}

#[test]
fn a_cluster_lists_with_progress_per_node_and_shows_its_nodes() {
    let cluster = RedisCluster::start();
    seed(&cluster, 900);
    let (_cfg, mut h) = connect_to(&cluster.url(), "shop-cluster");
    wait_listed(&mut h);
    let session = h.state().state.active_session().expect("session");
    assert_eq!(
        session.browser.index.len(),
        900,
        "every key of every primary"
    );
    assert_eq!(session.browser.scan.parts.len(), 3);
    h.run_steps(2);
    // One bar per primary, each saying it is done and how many keys its node holds.
    let primaries: Vec<u16> = cluster.nodes[..3].iter().map(|n| n.port).collect();
    for (i, port) in primaries.iter().enumerate() {
        let on_node: u64 = redis::cmd("DBSIZE")
            .query(&mut cluster.nodes[i].conn())
            .expect("dbsize");
        let line = format!("127.0.0.1:{port}: done, {on_node} keys");
        assert!(
            h.query_by_label_contains(&line).is_some(),
            "a progress bar reads `{line}`"
        );
    }

    h.get_by_label("Server info").click();
    run_until(&mut h, "the nodes", |app| {
        app.state
            .active_session()
            .and_then(|s| s.server_info.as_ref())
            .is_some_and(|v| v.nodes.result.is_some())
    });
    h.run_steps(2);
    let rows = h
        .state()
        .state
        .active_session()
        .and_then(|s| s.server_info.as_ref())
        .and_then(|v| v.nodes.result.clone())
        .expect("loaded")
        .expect("nodes");
    assert_eq!(rows.len(), 6);
    for port in &primaries {
        h.get_by_label(&format!("127.0.0.1:{port}"));
    }
    assert_eq!(h.query_all_by_label("primary").count(), 3);
    let replicas = h
        .query_all_by_label_contains("replica of 127.0.0.1:")
        .count();
    assert_eq!(replicas, 3, "each replica names its primary");
    assert_eq!(
        h.query_all_by_label("0-5460").count(),
        2,
        "the first shard: its primary and its replica"
    );
    let keys: u64 = rows
        .iter()
        .filter(|r| r.primary)
        .filter_map(|r| r.keys)
        .sum();
    assert_eq!(keys, 900);
    h.get_by_label_contains("3 primaries, 3 replicas · 900 keys");

    // The client list is every node's, each client with its node.
    h.get_by_label("Clients").click();
    run_until(&mut h, "the clients", |app| {
        app.state
            .active_session()
            .and_then(|s| s.server_info.as_ref())
            .is_some_and(|v| v.clients.result.is_some())
    });
    h.run_steps(2);
    h.get_by_label("Node");
    let first = format!("127.0.0.1:{}", primaries[0]);
    assert!(
        h.query_all_by_label(&first).count() >= 1,
        "a client row names node {first}"
    );
}

#[test]
fn flushing_one_node_of_a_cluster_asks_which_and_empties_only_it() {
    let cluster = RedisCluster::start();
    seed(&cluster, 300);
    let (_cfg, mut h) = connect_to(&cluster.url(), "shop-cluster");
    wait_listed(&mut h);
    let first = format!("127.0.0.1:{}", cluster.nodes[0].port);
    let before: Vec<u64> = (0..3)
        .map(|i| {
            redis::cmd("DBSIZE")
                .query(&mut cluster.nodes[i].conn())
                .expect("dbsize")
        })
        .collect();
    h.get_by_label("Flush...").click();
    h.run_steps(2);
    h.get_by_label(&first).click();
    h.run_steps(1);
    replace_text(&mut h, "Confirmation", "shop-cluster");
    h.get_by_label("Flush").click();
    run_until(&mut h, "the flush", |_| {
        redis::cmd("DBSIZE")
            .query::<u64>(&mut cluster.nodes[0].conn())
            .is_ok_and(|n| n == 0)
    });
    for (i, (node, before)) in cluster.nodes[..3].iter().zip(&before).enumerate().skip(1) {
        let now: u64 = redis::cmd("DBSIZE")
            .query(&mut node.conn())
            .expect("dbsize");
        assert_eq!(now, *before, "node {i} untouched");
    }
}

#[test]
fn a_cluster_profile_is_made_in_the_form_by_typing_its_seed_nodes() {
    let cluster = RedisCluster::start();
    seed(&cluster, 120);
    let cfg = tempfile::tempdir().expect("config dir");
    let state = cache_console::state::AppState::new(
        cache_console::config::profiles::ProfileStore::empty_in(cfg.path()),
        None,
    );
    let mut h = common::ui::harness(state);
    h.run_steps(2);
    h.get_by_label("New profile").click();
    h.run_steps(2);
    replace_text(&mut h, "Name", "orders-cluster");
    h.get_by_label("Redis Cluster").click();
    h.run_steps(2);
    let seeds = format!(
        "127.0.0.1:{}, 127.0.0.1:{}",
        cluster.nodes[0].port, cluster.nodes[4].port
    );
    replace_text(&mut h, "Seed nodes", &seeds);
    h.get_by_label("Test connection").click();
    common::ui::wait_tested(&mut h);
    assert!(
        h.query_by_label_contains("Connection OK: Redis Cluster")
            .is_some(),
        "{:?}",
        h.state().state.form.as_ref().map(|f| &f.test)
    );
    h.get_by_label("Save and connect").click();
    wait_listed(&mut h);
    let session = h.state().state.active_session().expect("connected");
    assert_eq!(session.browser.index.len(), 120);
    let saved = std::fs::read_to_string(cfg.path().join("profiles.ron")).expect("saved");
    assert!(
        saved.contains("Cluster") && saved.contains(&cluster.nodes[4].port.to_string()),
        "{saved}"
    );
}
