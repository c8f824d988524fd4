//! Redis Sentinel against a real group (a primary, two replicas, three sentinels): the primary
//! is found through the sentinels and checked with ROLE, its replicas are shown, a failover
//! while connected and editing is followed, and no edit is applied twice.

mod common;

use cache_console::backend::BackendError;
use cache_console::core::model::{Expect, TtlChange, WriteOp, WriteOutcome};
use common::sentinel::{MASTER, SentinelGroup};
use common::{b, open_url};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_primary_is_found_through_the_sentinels_with_its_replicas() {
    let group = SentinelGroup::start();
    let be = open_url(&group.url()).await;
    assert_eq!(be.capabilities().kind_label, "Redis Sentinel");
    let described = be.describe();
    assert!(described.contains(MASTER), "{described}");
    be.write(&WriteOp::SetString {
        key: b("df:cache:k"),
        value: b("v1"),
        ttl: TtlChange::Persist,
        expect: Expect::Any,
    })
    .await
    .expect("write to the primary");
    let on_primary: Option<String> = redis::cmd("GET")
        .arg("df:cache:k")
        .query(&mut group.primary.conn())
        .expect("get");
    assert_eq!(on_primary.as_deref(), Some("v1"));
    let rows = be.nodes().await.expect("nodes");
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(rows[0].primary && rows[0].address == format!("127.0.0.1:{}", group.primary.port));
    assert_eq!(rows.iter().filter(|r| !r.primary).count(), 2);
    assert!(rows.iter().all(|r| r.keys.is_some()), "{rows:?}");
    let keys = common::list_keys(be.as_ref(), "df:*").await;
    assert_eq!(keys, vec![b"df:cache:k".to_vec()]);

    // A name the sentinels do not watch is named in the error.
    let url = group.url().replace(MASTER, "nosuchmaster");
    let err = common::connect_err(&url).await;
    assert!(err.to_string().contains("nosuchmaster"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failover_while_editing_is_followed_and_no_edit_is_applied_twice() {
    let group = SentinelGroup::start();
    let be = open_url(&group.url()).await;
    be.write(&WriteOp::SetString {
        key: b("before"),
        value: b("1"),
        ttl: TtlChange::Persist,
        expect: Expect::Any,
    })
    .await
    .expect("write before");
    // Replication is asynchronous: let both replicas have it before one is promoted.
    let acked: u64 = redis::cmd("WAIT")
        .arg(2)
        .arg(5000)
        .query(&mut group.primary.conn())
        .expect("WAIT");
    assert_eq!(acked, 2);
    let new_primary = group.failover();

    // A push is not idempotent: it either fails saying it may not have run, or runs once.
    let push = WriteOp::ListPush {
        key: b("pushed"),
        head: false,
        value: b("x"),
    };
    let mut attempts = 0;
    loop {
        attempts += 1;
        match be.write(&push).await {
            Ok(outcome) => {
                assert_eq!(outcome, WriteOutcome::Done(1));
                break;
            }
            Err(e @ BackendError::Connect { .. }) => {
                assert!(e.to_string().contains("may or may not"), "{e}");
                // As the user would: look before trying again.
                let len = be.key_details(b"pushed").await.map_or(0, |d| d.length);
                if len == 1 {
                    break;
                }
            }
            Err(e) => panic!("{e}"),
        }
        assert!(attempts < 5, "the new primary was not found");
    }
    let new = group.current_primary();
    assert_eq!(new.port, new_primary);
    let len: u64 = redis::cmd("LLEN")
        .arg("pushed")
        .query(&mut new.conn())
        .expect("llen");
    assert_eq!(len, 1, "applied once, on the new primary");
    let v: Option<String> = redis::cmd("GET")
        .arg("before")
        .query(&mut new.conn())
        .expect("get");
    assert_eq!(v.as_deref(), Some("1"), "the data came along");
    let rows = be.nodes().await.expect("nodes");
    assert_eq!(
        rows[0].address,
        format!("127.0.0.1:{new_primary}"),
        "{rows:?}"
    );

    // And a second failover, found the same way (a `+switch-master` event or the next error).
    let third = group.failover();
    be.write(&WriteOp::SetString {
        key: b("after"),
        value: b("2"),
        ttl: TtlChange::Persist,
        expect: Expect::Any,
    })
    .await
    .or_else(|e| {
        assert!(e.to_string().contains("may or may not"), "{e}");
        Ok::<_, BackendError>(WriteOutcome::Done(0))
    })
    .expect("write");
    let v = be
        .key_details(b"before")
        .await
        .expect("read after the second failover");
    assert_eq!(v.length, 1);
    assert_eq!(group.current_primary().port, third);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_can_be_browsed_and_refuses_writes() {
    let group = SentinelGroup::start();
    let _: () = redis::cmd("SET")
        .arg("seen")
        .arg("yes")
        .query(&mut group.primary.conn())
        .expect("set");
    // Let the replicas catch up.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while group.replicas.iter().any(|r| {
        redis::cmd("EXISTS")
            .arg("seen")
            .query::<u64>(&mut r.conn())
            .unwrap_or(0)
            == 0
    }) {
        assert!(std::time::Instant::now() < deadline, "replication");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let be = open_url(&format!("{}?replica=yes", group.url())).await;
    assert!(!be.capabilities().write);
    assert!(be.describe().contains("a replica of"), "{}", be.describe());
    let details = be.key_details(b"seen").await.expect("read on a replica");
    assert_eq!(details.length, 3);
    // The node in use is a replica: it refuses a write itself.
    let err = be
        .write(&WriteOp::SetString {
            key: b("seen"),
            value: b("no"),
            ttl: TtlChange::Keep,
            expect: Expect::Any,
        })
        .await
        .expect_err("a replica refuses writes");
    assert!(err.to_string().to_lowercase().contains("read"), "{err}");
}

#[test]
fn the_command_line_takes_a_sentinel_url() {
    let group = SentinelGroup::start();
    let cfg = common::config_dir();
    let url = group.url();
    let run = |args: &[&str]| {
        let out = common::cli(cfg.path()).args(args).output().expect("run");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    run(&["set", &url, "greeting", "hello"]);
    assert_eq!(run(&["get", &url, "greeting"]), "hello");
    assert_eq!(run(&["keys", &url, "--count"]).trim(), "1");
    let on_primary: Option<String> = redis::cmd("GET")
        .arg("greeting")
        .query(&mut group.primary.conn())
        .expect("get");
    assert_eq!(on_primary.as_deref(), Some("hello"));
}
