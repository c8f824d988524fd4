//! Redis Cluster against a real 6-node cluster (3 primaries, 3 replicas) started for each
//! test: listings exact against what every primary holds, keys routed by slot, redirections
//! (`ASK` during a migration, `MOVED` after it), a failover during a listing, nodes that
//! announce names that do not resolve, flushes per node and of all.

mod common;

use std::sync::atomic::AtomicBool;

use bytes::Bytes;
use cache_console::backend::BackendError;
use cache_console::core::model::{Expect, ScanRequest, TtlChange, WriteOp, WriteOutcome};
use common::cluster::{RedisCluster, is_primary, node_id};
use common::{b, list_keys, open_url};

/// Seeds `n` string keys `{prefix}{i}` through redis-rs' own cluster client.
fn seed(cluster: &RedisCluster, prefix: &str, n: usize) {
    let mut c = cluster.client();
    for i in 0..n {
        redis::cmd("SET")
            .arg(format!("{prefix}{i}"))
            .arg(i)
            .query::<()>(&mut c)
            .expect("seed");
    }
}

fn sorted(mut keys: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    keys.sort();
    keys
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_is_exact_against_the_union_of_what_each_primary_holds() {
    let cluster = RedisCluster::start();
    seed(&cluster, "user:", 3000);
    let mut c = cluster.client();
    let _: () = redis::cmd("HSET")
        .arg("{svc}:config")
        .arg("f")
        .arg("v")
        .query(&mut c)
        .expect("hash");
    let be = open_url(&cluster.url()).await;
    assert_eq!(be.capabilities().kind_label, "Redis Cluster");
    assert!(
        be.describe().contains("3 primaries, 3 replicas"),
        "{}",
        be.describe()
    );
    assert_eq!(be.key_count().await.expect("count"), 3001);

    let listed = sorted(list_keys(be.as_ref(), "*").await);
    assert_eq!(listed, cluster.keys_on_primaries(), "every key, once");
    assert_eq!(listed.len(), 3001);

    // A pattern and a type filter go to every node.
    let users = list_keys(be.as_ref(), "user:1*").await;
    assert_eq!(users.len(), 1111);
    let mut request = ScanRequest::matching(b"*".to_vec());
    request.type_filter = Some(cache_console::core::model::KeyType::Hash);
    let page = be.scan(&request, 0).await.expect("scan");
    let mut hashes = page.keys.clone();
    let mut cursor = page.next_cursor;
    while cursor != 0 {
        let page = be.scan(&request, cursor).await.expect("scan");
        hashes.extend(page.keys);
        cursor = page.next_cursor;
    }
    assert_eq!(hashes, vec![b("{svc}:config")]);

    // Each page says how far each primary is; the last says all are done.
    let request = ScanRequest::matching(b"*".to_vec());
    let mut page = be.scan(&request, 0).await.expect("first page");
    assert_eq!(page.parts.len(), 3, "one part per primary");
    while page.next_cursor != 0 {
        page = be.scan(&request, page.next_cursor).await.expect("page");
    }
    assert!(page.parts.iter().all(|p| p.done), "{:?}", page.parts);
    let total: u64 = page.parts.iter().map(|p| p.total).sum();
    assert_eq!(total, 3001);
    assert!((page.progress - 1.0).abs() < 1e-9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_operations_go_to_the_slot_owner_and_multi_key_deletes_are_split_per_slot() {
    let cluster = RedisCluster::start();
    let be = open_url(&cluster.url()).await;
    // Writes of every kind, on keys spread over the slots.
    for i in 0..50 {
        let key = b(&format!("k:{i}"));
        be.write(&WriteOp::SetString {
            key: key.clone(),
            value: b(&format!("v{i}")),
            ttl: TtlChange::InMs(600_000),
            expect: Expect::Any,
        })
        .await
        .expect("set");
    }
    // A checked write runs a script on the key's node.
    let outcome = be
        .write(&WriteOp::SetString {
            key: b("k:7"),
            value: b("new"),
            ttl: TtlChange::Keep,
            expect: Expect::Value(b("v7")),
        })
        .await
        .expect("checked set");
    assert_eq!(outcome, WriteOutcome::Done(1));
    let mut c = cluster.client();
    let seen: String = redis::cmd("GET").arg("k:7").query(&mut c).expect("get");
    assert_eq!(seen, "new");
    let ttl: i64 = redis::cmd("TTL").arg("k:7").query(&mut c).expect("ttl");
    assert!(ttl > 500, "the TTL was kept: {ttl}");

    // Row facts for keys on every node at once.
    let keys: Vec<Bytes> = (0..50).map(|i| b(&format!("k:{i}"))).collect();
    let meta = be.key_meta(&keys).await.expect("meta");
    assert!(meta.iter().all(Option::is_some), "{meta:?}");
    let details = be.key_details(b"k:3").await.expect("details");
    assert_eq!(details.length, 2);

    // Saved for undo, deleted in one call (the keys are in many slots), put back.
    let (saved, outcome) = common::delete_saved(be.as_ref(), &keys).await;
    assert_eq!(outcome, WriteOutcome::Done(50));
    assert_eq!(saved.len(), 50);
    let left: u64 = cluster
        .nodes
        .iter()
        .map(|n| {
            redis::cmd("DBSIZE")
                .query::<u64>(&mut n.conn())
                .expect("dbsize")
        })
        .sum();
    assert_eq!(left, 0, "every key gone from every node (replicas too)");
    be.write(&WriteOp::Restore { keys: saved })
        .await
        .expect("undo");
    let back: Option<String> = redis::cmd("GET").arg("k:49").query(&mut c).expect("get");
    assert_eq!(back.as_deref(), Some("v49"));

    // Two keys in different slots cannot be renamed into each other: a reason, and how.
    let err = be
        .write(&WriteOp::Rename {
            from: b("k:1"),
            to: b("elsewhere"),
            overwrite: false,
        })
        .await
        .expect_err("cross-slot rename");
    assert!(
        matches!(err, BackendError::Invalid(_)) && err.to_string().contains("hash tag"),
        "{err}"
    );
    be.write(&WriteOp::SetString {
        key: b("{u42}:a"),
        value: b("x"),
        ttl: TtlChange::Persist,
        expect: Expect::Any,
    })
    .await
    .expect("set");
    be.write(&WriteOp::Rename {
        from: b("{u42}:a"),
        to: b("{u42}:b"),
        overwrite: false,
    })
    .await
    .expect("a rename within one hash tag");
    let renamed: Option<String> = redis::cmd("GET").arg("{u42}:b").query(&mut c).expect("get");
    assert_eq!(renamed.as_deref(), Some("x"));

    // Delete by pattern across the nodes.
    let cancel = AtomicBool::new(false);
    let done = be
        .delete_matching(&ScanRequest::matching(b"k:*".to_vec()), &cancel, &|_| {})
        .await
        .expect("delete by pattern");
    assert_eq!(done.deleted, 50);
    assert_eq!(cluster.keys_on_primaries(), vec![b"{u42}:b".to_vec()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_in_a_migrating_slot_is_followed_through_ask_and_then_moved() {
    let cluster = RedisCluster::start();
    let be = open_url(&cluster.url()).await;
    let mut c = cluster.client();
    let _: () = redis::cmd("SET")
        .arg("moving")
        .arg("old-home")
        .query(&mut c)
        .expect("set");
    let slot: u16 = redis::cmd("CLUSTER")
        .arg("KEYSLOT")
        .arg("moving")
        .query(&mut cluster.nodes[0].conn())
        .expect("keyslot");
    let source = cluster.primary_of(b"moving");
    let target = cluster
        .nodes
        .iter()
        .take(cluster.primaries)
        .find(|n| n.port != source.port)
        .expect("another primary");
    let source_id = node_id(&mut source.conn());
    let target_id = node_id(&mut target.conn());
    let setslot = |node: &common::RedisServer, how: &str, id: &str| {
        let _: () = redis::cmd("CLUSTER")
            .arg("SETSLOT")
            .arg(slot)
            .arg(how)
            .arg(id)
            .query(&mut node.conn())
            .expect("SETSLOT");
    };
    setslot(target, "IMPORTING", &source_id);
    setslot(source, "MIGRATING", &target_id);
    let _: () = redis::cmd("MIGRATE")
        .arg("127.0.0.1")
        .arg(target.port)
        .arg("moving")
        .arg(0)
        .arg(5000)
        .query(&mut source.conn())
        .expect("MIGRATE");
    // The source answers ASK for the key it no longer has; the console follows it.
    let details = be.key_details(b"moving").await.expect("read through ASK");
    assert_eq!(details.length, 8);
    let page = be
        .read_page(
            b"moving",
            &details.meta.key_type,
            &cache_console::core::model::PageCursor::Start,
            100,
        )
        .await
        .expect("value through ASK");
    match page.items {
        cache_console::core::model::ValueItems::String { bytes, .. } => {
            assert_eq!(&bytes[..], b"old-home");
        }
        other => panic!("{other:?}"),
    }
    be.write(&WriteOp::SetString {
        key: b("moving"),
        value: b("written-while-moving"),
        ttl: TtlChange::Keep,
        expect: Expect::Any,
    })
    .await
    .expect("a write through ASK");
    let on_target: Option<String> = redis::cmd("GET")
        .arg("moving")
        .query(&mut {
            let mut conn = target.conn();
            let _: () = redis::cmd("ASKING").query(&mut conn).expect("asking");
            conn
        })
        .expect("get on target");
    assert_eq!(on_target.as_deref(), Some("written-while-moving"));

    // The migration ends: the slot belongs to the target, and the source answers MOVED.
    for node in cluster.nodes.iter().take(cluster.primaries) {
        let _: () = redis::cmd("CLUSTER")
            .arg("SETSLOT")
            .arg(slot)
            .arg("NODE")
            .arg(&target_id)
            .query(&mut node.conn())
            .expect("SETSLOT NODE");
    }
    let details = be.key_details(b"moving").await.expect("read after MOVED");
    assert_eq!(details.length, "written-while-moving".len() as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failover_during_a_listing_is_followed_and_no_key_is_missed() {
    let cluster = RedisCluster::start();
    seed(&cluster, "f:", 6000);
    let be = open_url(&cluster.url()).await;
    let mut request = ScanRequest::matching(b"*".to_vec());
    request.count = 50;
    let mut keys: Vec<Vec<u8>> = Vec::new();
    let mut page = be.scan(&request, 0).await.expect("first page");
    keys.extend(page.keys.iter().map(|k| k.to_vec()));
    for _ in 0..3 {
        page = be.scan(&request, page.next_cursor).await.expect("page");
        keys.extend(page.keys.iter().map(|k| k.to_vec()));
    }
    assert_ne!(page.next_cursor, 0, "the listing is under way");
    // A replica takes over its primary while the listing runs.
    let replica = &cluster.nodes[cluster.primaries];
    let _: () = redis::cmd("CLUSTER")
        .arg("FAILOVER")
        .query(&mut replica.conn())
        .expect("CLUSTER FAILOVER");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !is_primary(&mut replica.conn()) {
        assert!(std::time::Instant::now() < deadline, "no failover");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    cluster.wait_ok();
    // Let the listing see the change (it looks at the topology about once a second).
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let mut notes = Vec::new();
    while page.next_cursor != 0 {
        page = be.scan(&request, page.next_cursor).await.expect("page");
        keys.extend(page.keys.iter().map(|k| k.to_vec()));
        notes.extend(page.note.clone());
    }
    keys.sort();
    keys.dedup();
    assert_eq!(keys, cluster.keys_on_primaries(), "nothing missed");
    assert_eq!(keys.len(), 6000);
    assert!(
        notes
            .iter()
            .any(|n| n.contains("changed during the listing")),
        "the user is told: {notes:?}"
    );
    // Writes go to the new primary.
    be.write(&WriteOp::SetString {
        key: b("f:1"),
        value: b("after-failover"),
        ttl: TtlChange::Keep,
        expect: Expect::Any,
    })
    .await
    .expect("write after failover");
    let mut c = cluster.client();
    let v: String = redis::cmd("GET").arg("f:1").query(&mut c).expect("get");
    assert_eq!(v, "after-failover");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_announcing_names_that_do_not_resolve_are_reached_through_the_address_map() {
    let cluster = RedisCluster::start();
    seed(&cluster, "nat:", 300);
    cluster.announce_hostnames(|i| format!("node-{i}.cluster.invalid"));
    // Without a map: a clear error that names the unreachable node and says what to do.
    let err = common::connect_err(&cluster.url()).await;
    let text = err.to_string();
    assert!(
        text.contains("cluster.invalid") && text.contains("address map"),
        "{text}"
    );

    let map: Vec<String> = cluster
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            format!(
                "map=node-{i}.cluster.invalid:{}=127.0.0.1:{}",
                n.port, n.port
            )
        })
        .collect();
    let url = format!("{}?{}", cluster.url(), map.join("&"));
    let be = open_url(&url).await;
    let listed = sorted(list_keys(be.as_ref(), "*").await);
    assert_eq!(listed, cluster.keys_on_primaries());
    let details = be.key_details(b"nat:7").await.expect("through the map");
    assert_eq!(details.length, 1);
    be.write(&WriteOp::Delete {
        keys: vec![b("nat:1"), b("nat:2"), b("nat:3")],
    })
    .await
    .expect("delete through the map");
    assert_eq!(cluster.keys_on_primaries().len(), 297);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_node_or_every_primary_is_flushed_and_a_node_can_be_listed_alone() {
    let cluster = RedisCluster::start();
    seed(&cluster, "fl:", 600);
    let be = open_url(&cluster.url()).await;
    let servers = be.capabilities().servers.clone();
    assert_eq!(servers.len(), 3, "{servers:?}");
    let first = servers[0].clone();
    let on_first: u64 = redis::cmd("DBSIZE")
        .query(&mut cluster.nodes[0].conn())
        .expect("dbsize");
    assert!(on_first > 0);

    // Listing one node lists that node's keys only.
    let mut request = ScanRequest::matching(b"*".to_vec());
    request.server = Some(first.clone());
    let mut page = be.scan(&request, 0).await.expect("one node");
    let mut count = page.keys.len() as u64;
    while page.next_cursor != 0 {
        page = be.scan(&request, page.next_cursor).await.expect("page");
        count += page.keys.len() as u64;
    }
    assert_eq!(count, on_first);
    request.server = Some("127.0.0.1:1".to_owned());
    let err = be.scan(&request, 0).await.expect_err("no such node");
    assert!(err.to_string().contains("not a node"), "{err}");

    let outcome = be
        .write(&WriteOp::Flush {
            server: Some(first),
            delay_secs: 0,
        })
        .await
        .expect("flush one node");
    assert_eq!(outcome, WriteOutcome::Done(on_first));
    assert_eq!(be.key_count().await.expect("count"), 600 - on_first);
    let outcome = be.write(&WriteOp::FlushDb).await.expect("flush all");
    assert_eq!(outcome, WriteOutcome::Done(600 - on_first));
    assert_eq!(be.key_count().await.expect("count"), 0);
}

#[tokio::test]
async fn a_standalone_server_given_as_a_cluster_says_so() {
    let server = common::RedisServer::start();
    let url = format!("redis+cluster://127.0.0.1:{}", server.port);
    let err = common::connect_err(&url).await;
    assert!(err.to_string().contains("not a cluster node"), "{err}");
    // And nothing listens: a connect error naming the seed.
    let url = format!("redis+cluster://127.0.0.1:{}", common::free_port());
    let err = common::connect_err(&url).await;
    assert!(matches!(err, BackendError::Connect { .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_cluster_is_listed_and_checks_the_name_each_node_announces() {
    let pki = common::tls::Pki::for_names(&["127.0.0.1", "redis.cluster.test"]);
    let cluster = RedisCluster::start_tls(&pki);
    seed(&cluster, "tls:", 200);
    let be = open_url(&cluster.tls_url(&pki.path("ca.pem"))).await;
    let listed = sorted(list_keys(be.as_ref(), "*").await);
    assert_eq!(listed, cluster.keys_on_primaries());
    be.write(&WriteOp::SetString {
        key: b("tls:written"),
        value: b("over TLS"),
        ttl: TtlChange::Persist,
        expect: Expect::Any,
    })
    .await
    .expect("write over TLS");
    let details = be.key_details(b"tls:7").await.expect("read over TLS");
    assert_eq!(details.length, 1);

    // Nodes mapped to a host name the certificate does not carry are refused: the name is
    // checked, not trusted because the address answered.
    let to_localhost: Vec<String> = cluster
        .nodes
        .iter()
        .map(|n| {
            let port = n.tls_port.expect("tls port");
            format!("map=127.0.0.1:{port}=localhost:{port}")
        })
        .collect();
    let url = format!(
        "{}&{}",
        cluster.tls_url(&pki.path("ca.pem")),
        to_localhost.join("&")
    );
    let err = common::connect_err(&url).await;
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );

    // The nodes announce a name the certificate carries but this machine cannot resolve:
    // reached through the map, checked against the announced name.
    cluster.announce_hostnames(|_| "redis.cluster.test".to_owned());
    let map: Vec<String> = cluster
        .nodes
        .iter()
        .map(|n| {
            let port = n.tls_port.expect("tls port");
            format!("map=redis.cluster.test:{port}=127.0.0.1:{port}")
        })
        .collect();
    let url = format!("{}&{}", cluster.tls_url(&pki.path("ca.pem")), map.join("&"));
    let be = open_url(&url).await;
    let listed = sorted(list_keys(be.as_ref(), "*").await);
    assert_eq!(listed.len(), 201);
    let details = be
        .key_details(b"tls:written")
        .await
        .expect("through the map");
    assert_eq!(details.length, 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_logs_and_clients_are_read_per_node_and_a_client_is_killed_on_its_own_node() {
    let cluster = RedisCluster::start();
    for node in &cluster.nodes {
        let _: () = redis::cmd("CONFIG")
            .arg("SET")
            .arg("slowlog-log-slower-than")
            .arg(0)
            .query(&mut node.conn())
            .expect("config");
    }
    let be = open_url(&cluster.url()).await;
    assert!(be.capabilities().slow_log && be.capabilities().clients);
    be.key_details(b"some:key").await.err();
    let log = be.slow_log(128).await.expect("slow log");
    let nodes: std::collections::BTreeSet<String> =
        log.iter().filter_map(|e| e.node.clone()).collect();
    assert!(
        nodes.len() >= 3,
        "every node's log, each entry naming its node: {nodes:?}"
    );

    // A client of the second primary, named so it can be found.
    let second = &cluster.nodes[1];
    let mut victim = second.named_conn("victim");
    let clients = be.clients().await.expect("clients");
    let target = clients
        .iter()
        .find(|c| c.field("name") == "victim")
        .expect("the named client")
        .clone();
    let second_name = format!("127.0.0.1:{}", second.port);
    assert_eq!(target.node.as_deref(), Some(second_name.as_str()));
    // The same id may exist on another node: without a node the kill is refused.
    let err = be
        .write(&WriteOp::KillClient {
            id: target.id,
            node: None,
        })
        .await
        .expect_err("which node?");
    assert!(err.to_string().contains("which node"), "{err}");
    be.write(&WriteOp::KillClient {
        id: target.id,
        node: target.node.clone(),
    })
    .await
    .expect("kill on its node");
    assert!(
        redis::cmd("PING").query::<String>(&mut victim).is_err(),
        "the victim was disconnected"
    );
    be.write(&WriteOp::ResetSlowLog)
        .await
        .expect("reset every node");
    let left: u64 = redis::cmd("SLOWLOG")
        .arg("LEN")
        .query(&mut cluster.nodes[2].conn())
        .expect("len");
    assert!(left <= 2, "reset (the reset itself may be logged): {left}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_dies_mid_listing_is_named_and_the_listing_goes_on_once_it_is_back() {
    let mut cluster = RedisCluster::start_with(3, 0, &[]);
    seed(&cluster, "d:", 3000);
    let be = open_url(&cluster.url()).await;
    let mut request = ScanRequest::matching(b"*".to_vec());
    request.count = 20;
    let mut listed: Vec<Vec<u8>> = Vec::new();
    let mut page = be.scan(&request, 0).await.expect("first page");
    listed.extend(page.keys.iter().map(|k| k.to_vec()));
    let kept: Vec<Vec<u8>> = {
        let mut on_others = Vec::new();
        for node in [&cluster.nodes[0], &cluster.nodes[2]] {
            let keys: Vec<Vec<u8>> = redis::cmd("KEYS")
                .arg("*")
                .query(&mut node.conn())
                .expect("keys");
            on_others.extend(keys);
        }
        on_others
    };
    let dead_port = cluster.nodes[1].port;
    cluster.nodes[1].kill();
    // Pages of the other nodes may still come; then the dead one is named.
    let mut cursor = page.next_cursor;
    let err = loop {
        match be.scan(&request, cursor).await {
            Ok(next) => {
                listed.extend(next.keys.iter().map(|k| k.to_vec()));
                assert_ne!(
                    next.next_cursor, 0,
                    "a listing with a dead node is never done"
                );
                cursor = next.next_cursor;
            }
            Err(e) => break e,
        }
    };
    assert!(err.to_string().contains(&dead_port.to_string()), "{err}");
    // The node comes back (empty: nothing is persisted); the listing goes on from the same
    // cursor and loses nothing it had found.
    cluster.nodes[1].restart();
    cluster.wait_ok();
    // Reads on a node whose connection the restart closed are opened again, not failed.
    be.key_count().await.expect("counted after the restart");
    be.server_info()
        .await
        .expect("every node's INFO after the restart");
    loop {
        page = be.scan(&request, cursor).await.expect("goes on");
        listed.extend(page.keys.iter().map(|k| k.to_vec()));
        if page.next_cursor == 0 {
            break;
        }
        cursor = page.next_cursor;
    }
    listed.sort();
    listed.dedup();
    for key in &kept {
        assert!(listed.binary_search(key).is_ok(), "{key:?} missing");
    }
}
