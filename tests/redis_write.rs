//! Writes through the guarded Redis backend, against real redis-server processes.
#![allow(
    clippy::too_many_lines,
    reason = "each test reads as one user story, start to end"
)]

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use bytes::Bytes;
use cache_console::backend::{self, BackendError, CacheBackend, ConnectOptions};
use cache_console::config::audit::AuditLog;
use cache_console::config::connection::parse_url;
use cache_console::core::model::{Expect, NewValue, ScanRequest, TtlChange, WriteOp, WriteOutcome};
use common::{RedisServer, b, fill};
use redis::Commands as _;

async fn open_with(server: &RedisServer, options: ConnectOptions) -> Box<dyn CacheBackend> {
    let (spec, _) = parse_url(&server.url()).expect("url");
    backend::connect(&spec, None, &options)
        .await
        .expect("connect")
}

async fn open(server: &RedisServer) -> Box<dyn CacheBackend> {
    open_with(server, ConnectOptions::default()).await
}

fn pttl(c: &mut redis::Connection, key: &[u8]) -> i64 {
    redis::cmd("PTTL").arg(key).query(c).expect("pttl")
}

#[tokio::test]
async fn saving_a_string_keeps_its_ttl_unless_told_otherwise() {
    let server = RedisServer::start();
    let mut c = server.conn();
    redis::cmd("SET")
        .arg("s")
        .arg("old")
        .arg("EX")
        .arg(1000)
        .query::<()>(&mut c)
        .expect("set");
    let be = open(&server).await;
    let op = WriteOp::SetString {
        key: b("s"),
        value: b("new"),
        ttl: TtlChange::Keep,
        expect: Expect::Value(b("old")),
    };
    assert_eq!(be.write(&op).await.expect("write"), WriteOutcome::Done(1));
    let v: String = c.get("s").expect("get");
    assert_eq!(v, "new");
    assert!(pttl(&mut c, b"s") > 990_000, "TTL kept");

    let op = WriteOp::SetString {
        key: b("s"),
        value: b("v2"),
        ttl: TtlChange::InMs(5_000),
        expect: Expect::Any,
    };
    be.write(&op).await.expect("write");
    let ms = pttl(&mut c, b"s");
    assert!(ms > 0 && ms <= 5_000, "{ms}");
    let op = WriteOp::SetString {
        key: b("s"),
        value: b("v3"),
        ttl: TtlChange::Persist,
        expect: Expect::Any,
    };
    be.write(&op).await.expect("write");
    assert_eq!(pttl(&mut c, b"s"), -1);
}

#[tokio::test]
async fn a_value_changed_by_another_client_is_a_conflict_not_an_overwrite() {
    let server = RedisServer::start();
    let mut c = server.conn();
    let _: () = c.set("s", "loaded").expect("set");
    let _: () = c.hset("h", "f", "loaded").expect("hset");
    let _: () = c.rpush("l", &["a", "loaded", "c"]).expect("rpush");
    let be = open(&server).await;
    // Meanwhile, another writer.
    let _: () = c.set("s", "theirs").expect("set");
    let _: () = c.hset("h", "f", "theirs").expect("hset");
    let _: () = c.lset("l", 1, "theirs").expect("lset");

    let conflicts = [
        WriteOp::SetString {
            key: b("s"),
            value: b("mine"),
            ttl: TtlChange::Keep,
            expect: Expect::Value(b("loaded")),
        },
        WriteOp::SetString {
            key: b("s"),
            value: b("mine"),
            ttl: TtlChange::Keep,
            expect: Expect::Absent,
        },
        WriteOp::HashSet {
            key: b("h"),
            field: b("f"),
            value: b("mine"),
            expect: Expect::Value(b("loaded")),
        },
        WriteOp::HashSet {
            key: b("h"),
            field: b("f"),
            value: b("mine"),
            expect: Expect::Absent,
        },
        WriteOp::ListSet {
            key: b("l"),
            index: 1,
            value: b("mine"),
            expect: Some(b("loaded")),
        },
        WriteOp::ListRemoveAt {
            key: b("l"),
            index: 1,
            expect: b("loaded"),
        },
    ];
    for op in &conflicts {
        assert_eq!(
            be.write(op).await.expect("write"),
            WriteOutcome::Conflict,
            "{op:?}"
        );
    }
    let s: String = c.get("s").expect("get");
    let h: String = c.hget("h", "f").expect("hget");
    let l: Vec<String> = c.lrange("l", 0, -1).expect("lrange");
    assert_eq!((s.as_str(), h.as_str()), ("theirs", "theirs"));
    assert_eq!(l, ["a", "theirs", "c"]);
    // With the current value as the expectation, the save goes through.
    let op = WriteOp::HashSet {
        key: b("h"),
        field: b("f"),
        value: b("mine"),
        expect: Expect::Value(b("theirs")),
    };
    assert_eq!(be.write(&op).await.expect("write"), WriteOutcome::Done(1));
}

#[tokio::test]
async fn collection_edits_keep_the_ttl_and_do_exactly_what_was_asked() {
    let server = RedisServer::start();
    let mut c = server.conn();
    let _: () = c
        .hset_multiple("h", &[("a", "1"), ("b", "2")])
        .expect("hset");
    let _: () = c.expire("h", 1000).expect("expire");
    let _: () = c.rpush("l", &["x", "dup", "y", "dup"]).expect("rpush");
    let _: () = c.expire("l", 1000).expect("expire");
    let _: () = c.sadd("set", &["m1", "m2"]).expect("sadd");
    let _: () = c.zadd("z", "m", 1.0).expect("zadd");
    let be = open(&server).await;
    let ops = [
        WriteOp::HashSet {
            key: b("h"),
            field: b("a"),
            value: b("10"),
            expect: Expect::Value(b("1")),
        },
        WriteOp::HashSet {
            key: b("h"),
            field: b("c"),
            value: b("3"),
            expect: Expect::Absent,
        },
        WriteOp::HashDelete {
            key: b("h"),
            fields: vec![b("b")],
        },
        WriteOp::ListSet {
            key: b("l"),
            index: 0,
            value: b("X"),
            expect: Some(b("x")),
        },
        WriteOp::ListPush {
            key: b("l"),
            head: true,
            value: b("head"),
        },
        WriteOp::ListPush {
            key: b("l"),
            head: false,
            value: b("tail"),
        },
        // Remove the second `dup` (index 4 after the head push), not the first.
        WriteOp::ListRemoveAt {
            key: b("l"),
            index: 4,
            expect: b("dup"),
        },
        WriteOp::SetAdd {
            key: b("set"),
            members: vec![b("m3")],
        },
        WriteOp::SetRemove {
            key: b("set"),
            members: vec![b("m1")],
        },
        WriteOp::ZSetAdd {
            key: b("z"),
            member: b("m"),
            score: 42.5,
        },
        WriteOp::ZSetAdd {
            key: b("z"),
            member: b("n"),
            score: -1.0,
        },
        WriteOp::ZSetRemove {
            key: b("z"),
            members: vec![b("n")],
        },
        WriteOp::StreamAdd {
            key: b("st"),
            fields: vec![(b("event"), b("login"))],
        },
    ];
    for op in &ops {
        assert!(
            matches!(be.write(op).await.expect("write"), WriteOutcome::Done(_)),
            "{op:?}"
        );
    }
    let h: std::collections::BTreeMap<String, String> = c.hgetall("h").expect("hgetall");
    assert_eq!(
        h,
        [("a".into(), "10".into()), ("c".into(), "3".into())].into()
    );
    let l: Vec<String> = c.lrange("l", 0, -1).expect("lrange");
    assert_eq!(l, ["head", "X", "dup", "y", "tail"]);
    let mut set: Vec<String> = c.smembers("set").expect("smembers");
    set.sort();
    assert_eq!(set, ["m2", "m3"]);
    let z: Vec<(String, f64)> = c.zrange_withscores("z", 0, -1).expect("zrange");
    assert_eq!(z, [("m".to_owned(), 42.5)]);
    assert!(
        pttl(&mut c, b"h") > 990_000 && pttl(&mut c, b"l") > 990_000,
        "TTLs kept"
    );
    let ids: Vec<redis::Value> = redis::cmd("XRANGE")
        .arg("st")
        .arg("-")
        .arg("+")
        .query(&mut c)
        .expect("xrange");
    assert_eq!(ids.len(), 1);
    let id = match &ids[0] {
        redis::Value::Array(parts) => match &parts[0] {
            redis::Value::BulkString(id) => Bytes::from(id.clone()),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    };
    let del = WriteOp::StreamDelete {
        key: b("st"),
        ids: vec![id],
    };
    assert_eq!(be.write(&del).await.expect("xdel"), WriteOutcome::Done(1));
    let bad = WriteOp::ZSetAdd {
        key: b("z"),
        member: b("m"),
        score: f64::NAN,
    };
    assert!(matches!(
        be.write(&bad).await,
        Err(BackendError::Invalid(_))
    ));
}

#[tokio::test]
async fn create_rename_and_copy_refuse_to_overwrite_unless_asked() {
    let server = RedisServer::start();
    let mut c = server.conn();
    let _: () = c.set("taken", "keep me").expect("set");
    let be = open(&server).await;
    let create = |key: &str, value: NewValue| WriteOp::Create {
        key: b(key),
        value,
        ttl: TtlChange::InMs(60_000),
    };
    assert_eq!(
        be.write(&create("taken", NewValue::String(b("x"))))
            .await
            .expect("create"),
        WriteOutcome::TargetExists
    );
    for (key, value) in [
        ("new:s", NewValue::String(b("v"))),
        ("new:h", NewValue::Hash(b("f"), b("v"))),
        ("new:l", NewValue::List(b("v"))),
        ("new:set", NewValue::Set(b("v"))),
        ("new:z", NewValue::ZSet(b("v"), 2.0)),
        ("new:st", NewValue::Stream(vec![(b("f"), b("v"))])),
    ] {
        assert_eq!(
            be.write(&create(key, value)).await.expect("create"),
            WriteOutcome::Done(1),
            "{key}"
        );
        let ms = pttl(&mut c, key.as_bytes());
        assert!(ms > 0 && ms <= 60_000, "{key}: {ms}");
    }
    let types: Vec<String> = ["new:s", "new:h", "new:l", "new:set", "new:z", "new:st"]
        .iter()
        .map(|k| redis::cmd("TYPE").arg(k).query(&mut c).expect("type"))
        .collect();
    assert_eq!(types, ["string", "hash", "list", "set", "zset", "stream"]);

    let rename = WriteOp::Rename {
        from: b("new:s"),
        to: b("taken"),
        overwrite: false,
    };
    assert_eq!(
        be.write(&rename).await.expect("rename"),
        WriteOutcome::TargetExists
    );
    let kept: String = c.get("taken").expect("get");
    assert_eq!(kept, "keep me");
    let rename = WriteOp::Rename {
        from: b("new:s"),
        to: b("taken"),
        overwrite: true,
    };
    assert_eq!(
        be.write(&rename).await.expect("rename"),
        WriteOutcome::Done(1)
    );
    let copy = WriteOp::Copy {
        from: b("taken"),
        to: b("new:h"),
        overwrite: false,
    };
    assert_eq!(
        be.write(&copy).await.expect("copy"),
        WriteOutcome::TargetExists
    );
    let copy = WriteOp::Copy {
        from: b("taken"),
        to: b("copy"),
        overwrite: false,
    };
    assert_eq!(be.write(&copy).await.expect("copy"), WriteOutcome::Done(1));
    let copied: String = c.get("copy").expect("get");
    assert_eq!(copied, "v");
    let missing = WriteOp::Rename {
        from: b("nope"),
        to: b("x"),
        overwrite: false,
    };
    assert!(matches!(
        be.write(&missing).await,
        Err(BackendError::KeyNotFound(_))
    ));
}

#[tokio::test]
async fn ttl_changes_and_bad_targets() {
    let server = RedisServer::start();
    let mut c = server.conn();
    let _: () = c.set("k", "v").expect("set");
    let be = open(&server).await;
    be.write(&WriteOp::SetTtl {
        key: b("k"),
        ttl: TtlChange::InMs(90_000),
    })
    .await
    .expect("ttl");
    let ms = pttl(&mut c, b"k");
    assert!(ms > 89_000 && ms <= 90_000, "{ms}");
    let at = cache_console::core::ttl::now_unix_ms() + 3_600_000;
    be.write(&WriteOp::SetTtl {
        key: b("k"),
        ttl: TtlChange::AtUnixMs(at),
    })
    .await
    .expect("ttl");
    let ms = pttl(&mut c, b"k");
    assert!(ms > 3_590_000 && ms <= 3_600_000, "{ms}");
    be.write(&WriteOp::SetTtl {
        key: b("k"),
        ttl: TtlChange::Persist,
    })
    .await
    .expect("persist");
    assert_eq!(pttl(&mut c, b"k"), -1);
    // Persisting a key that has no TTL is fine; a missing key is not.
    be.write(&WriteOp::SetTtl {
        key: b("k"),
        ttl: TtlChange::Persist,
    })
    .await
    .expect("persist again");
    let err = be
        .write(&WriteOp::SetTtl {
            key: b("gone"),
            ttl: TtlChange::InMs(1000),
        })
        .await;
    assert!(matches!(err, Err(BackendError::KeyNotFound(_))), "{err:?}");
}

#[tokio::test]
async fn delete_can_be_undone_with_value_and_ttl() {
    let server = RedisServer::start();
    let mut c = server.conn();
    let _: () = c
        .hset_multiple("user:42:profile", &[("name", "Ada"), ("lang", "en")])
        .expect("hset");
    let _: () = c.expire("user:42:profile", 500).expect("expire");
    let key = Bytes::from_static(b"bin:\xff\x00");
    redis::cmd("SET")
        .arg(key.as_ref())
        .arg(b"\x00\x01".as_slice())
        .query::<()>(&mut c)
        .expect("set");
    let be = open(&server).await;
    let keys = vec![b("user:42:profile"), key.clone(), b("missing")];
    let saved: Vec<_> = be
        .dump(&keys)
        .await
        .expect("dump")
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(saved.len(), 2);
    assert_eq!(
        be.write(&WriteOp::Delete { keys }).await.expect("delete"),
        WriteOutcome::Done(2)
    );
    let n: u64 = redis::cmd("DBSIZE").query(&mut c).expect("dbsize");
    assert_eq!(n, 0);
    assert_eq!(
        be.write(&WriteOp::Restore {
            keys: saved.clone()
        })
        .await
        .expect("restore"),
        WriteOutcome::Done(2)
    );
    let name: String = c.hget("user:42:profile", "name").expect("hget");
    assert_eq!(name, "Ada");
    let ms = pttl(&mut c, b"user:42:profile");
    assert!(ms > 490_000 && ms <= 500_000, "TTL restored: {ms}");
    let v: Vec<u8> = redis::cmd("GET")
        .arg(key.as_ref())
        .query(&mut c)
        .expect("get");
    assert_eq!(v, b"\x00\x01");
    assert_eq!(pttl(&mut c, &key), -1);
    // Undo never overwrites a key that was created again meanwhile.
    let err = be.write(&WriteOp::Restore { keys: saved }).await;
    assert!(
        err.as_ref()
            .err()
            .is_some_and(|e| e.to_string().contains("exists again")),
        "{err:?}"
    );
}

#[tokio::test]
async fn bulk_delete_of_200k_keys_leaves_every_other_key_intact() {
    let server = RedisServer::start();
    let mut c = server.conn();
    fill(&mut c, "cache:page:", 200_000);
    fill(&mut c, "cache:keep", 1_000); // cache:keep0 … does not match `cache:page:*`
    fill(&mut c, "session:", 5_000);
    let be = open(&server).await;
    let request = ScanRequest {
        pattern: b"cache:page:*".to_vec(),
        type_filter: None,
        count: 1000,
        server: None,
        budget_ms: None,
    };
    let last = AtomicU64::new(0);
    let cancel = AtomicBool::new(false);
    let result = be
        .delete_matching(&request, &cancel, &|p| {
            last.store(p.deleted, Ordering::Relaxed);
        })
        .await
        .expect("bulk delete");
    assert_eq!(result.deleted, 200_000);
    assert!(!result.cancelled);
    assert_eq!(last.load(Ordering::Relaxed), 200_000);
    let n: u64 = redis::cmd("DBSIZE").query(&mut c).expect("dbsize");
    assert_eq!(n, 6_000);
    let left: Vec<String> = redis::cmd("KEYS")
        .arg("cache:page:*")
        .query(&mut c)
        .expect("keys");
    assert!(left.is_empty());
}

#[tokio::test]
async fn a_cancelled_bulk_delete_stops_between_batches() {
    let server = RedisServer::start();
    let mut c = server.conn();
    fill(&mut c, "x:", 50_000);
    let be = open(&server).await;
    let request = ScanRequest {
        pattern: b"x:*".to_vec(),
        type_filter: None,
        count: 100,
        server: None,
        budget_ms: None,
    };
    let cancel = AtomicBool::new(false);
    let result = be
        .delete_matching(&request, &cancel, &|p| {
            if p.deleted >= 1_000 {
                cancel.store(true, Ordering::Relaxed);
            }
        })
        .await
        .expect("bulk delete");
    assert!(result.cancelled);
    let n: u64 = redis::cmd("DBSIZE").query(&mut c).expect("dbsize");
    assert_eq!(n, 50_000 - result.deleted);
    assert!(
        result.deleted >= 1_000 && result.deleted < 5_000,
        "{}",
        result.deleted
    );
}

#[tokio::test]
async fn a_read_only_profile_refuses_every_write() {
    let server = RedisServer::start();
    let mut c = server.conn();
    fill(&mut c, "ro:", 10);
    let _: () = c.hset("h", "f", "v").expect("hset");
    let audit_dir = tempfile::tempdir().expect("dir");
    let options = ConnectOptions {
        read_only: true,
        profile: "prod-ro".into(),
        audit: Some(AuditLog::in_dir(audit_dir.path())),
        ssh: None,
    };
    let be = open_with(&server, options).await;
    assert!(!be.capabilities().write);
    assert!(be.describe().contains("read-only"));
    let every_write = [
        WriteOp::SetString {
            key: b("ro:1"),
            value: b("x"),
            ttl: TtlChange::Keep,
            expect: Expect::Any,
        },
        WriteOp::SetTtl {
            key: b("ro:1"),
            ttl: TtlChange::InMs(1000),
        },
        WriteOp::Create {
            key: b("new"),
            value: NewValue::String(b("x")),
            ttl: TtlChange::Persist,
        },
        WriteOp::HashSet {
            key: b("h"),
            field: b("f"),
            value: b("x"),
            expect: Expect::Any,
        },
        WriteOp::HashDelete {
            key: b("h"),
            fields: vec![b("f")],
        },
        WriteOp::ListSet {
            key: b("l"),
            index: 0,
            value: b("x"),
            expect: None,
        },
        WriteOp::ListPush {
            key: b("l"),
            head: true,
            value: b("x"),
        },
        WriteOp::ListRemoveAt {
            key: b("l"),
            index: 0,
            expect: b("x"),
        },
        WriteOp::SetAdd {
            key: b("s"),
            members: vec![b("x")],
        },
        WriteOp::SetRemove {
            key: b("s"),
            members: vec![b("x")],
        },
        WriteOp::ZSetAdd {
            key: b("z"),
            member: b("x"),
            score: 1.0,
        },
        WriteOp::ZSetRemove {
            key: b("z"),
            members: vec![b("x")],
        },
        WriteOp::StreamAdd {
            key: b("st"),
            fields: vec![(b("f"), b("v"))],
        },
        WriteOp::StreamDelete {
            key: b("st"),
            ids: vec![b("0-1")],
        },
        WriteOp::Rename {
            from: b("ro:1"),
            to: b("ro:x"),
            overwrite: true,
        },
        WriteOp::Copy {
            from: b("ro:1"),
            to: b("ro:y"),
            overwrite: true,
        },
        WriteOp::Delete {
            keys: vec![b("ro:1")],
        },
        WriteOp::Restore { keys: Vec::new() },
        WriteOp::FlushDb,
        WriteOp::FlushAll,
        WriteOp::ResetSlowLog,
        WriteOp::KillClient { id: 1, node: None },
    ];
    for op in &every_write {
        let err = be.write(op).await.expect_err("refused");
        assert_eq!(err, BackendError::ReadOnly("prod-ro".into()), "{op:?}");
        assert!(err.to_string().contains("read-only"));
    }
    let request = ScanRequest {
        pattern: b"*".to_vec(),
        type_filter: None,
        count: 100,
        server: None,
        budget_ms: None,
    };
    let err = be
        .delete_matching(&request, &AtomicBool::new(false), &|_| {})
        .await;
    assert_eq!(err.err(), Some(BackendError::ReadOnly("prod-ro".into())));
    let n: u64 = redis::cmd("DBSIZE").query(&mut c).expect("dbsize");
    assert_eq!(n, 11, "nothing changed");
    let v: String = c.hget("h", "f").expect("hget");
    assert_eq!(v, "v");
    // Reads still work.
    assert_eq!(be.key_count().await.expect("dbsize"), 11);
}

#[tokio::test]
async fn writes_are_audited_without_values() {
    let server = RedisServer::start();
    let mut c = server.conn();
    fill(&mut c, "a:", 30);
    let audit_dir = tempfile::tempdir().expect("dir");
    let log = AuditLog::in_dir(audit_dir.path());
    let options = ConnectOptions {
        read_only: false,
        profile: "staging".into(),
        audit: Some(log.clone()),
        ssh: None,
    };
    let be = open_with(&server, options).await;
    let secret_value = b("top-secret-value");
    be.write(&WriteOp::SetString {
        key: b("a:1"),
        value: secret_value,
        ttl: TtlChange::Keep,
        expect: Expect::Any,
    })
    .await
    .expect("set");
    be.write(&WriteOp::Delete {
        keys: vec![b("a:2"), b("a:3")],
    })
    .await
    .expect("delete");
    let request = ScanRequest {
        pattern: b"a:1*".to_vec(),
        type_filter: None,
        count: 100,
        server: None,
        budget_ms: None,
    };
    be.delete_matching(&request, &AtomicBool::new(false), &|_| {})
        .await
        .expect("bulk");
    be.write(&WriteOp::FlushDb).await.expect("flush");
    let entries = log.recent(10).expect("read");
    let actions: Vec<_> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["flushdb", "delete-pattern", "delete", "set"]);
    assert_eq!(entries[1].pattern.as_deref(), Some("a:1*"));
    assert_eq!(entries[1].affected, Some(11));
    assert_eq!(entries[2].keys, ["a:2", "a:3"]);
    assert!(
        entries
            .iter()
            .all(|e| e.profile == "staging" && e.outcome == "ok")
    );
    assert!(
        entries
            .iter()
            .all(|e| e.target.starts_with("redis://127.0.0.1:"))
    );
    let text = std::fs::read_to_string(log.path()).expect("log");
    assert!(!text.contains("top-secret-value"), "{text}");
    let n: u64 = redis::cmd("DBSIZE").query(&mut c).expect("dbsize");
    assert_eq!(n, 0);
}

#[tokio::test]
async fn binary_keys_and_values_are_edited_exactly() {
    let server = RedisServer::start();
    let mut c = server.conn();
    let key = Bytes::from_static(b"k:\xff\x00\\");
    let field = Bytes::from_static(b"f\x01");
    redis::cmd("SET")
        .arg(key.as_ref())
        .arg(b"\x00old".as_slice())
        .query::<()>(&mut c)
        .expect("set");
    redis::cmd("HSET")
        .arg(b"h:\xfe".as_slice())
        .arg(field.as_ref())
        .arg(b"\x80".as_slice())
        .query::<()>(&mut c)
        .expect("hset");
    let be = open(&server).await;
    let op = WriteOp::SetString {
        key: key.clone(),
        value: Bytes::from_static(b"\xff\xfe\x00new"),
        ttl: TtlChange::Keep,
        expect: Expect::Value(Bytes::from_static(b"\x00old")),
    };
    assert_eq!(be.write(&op).await.expect("set"), WriteOutcome::Done(1));
    let v: Vec<u8> = redis::cmd("GET")
        .arg(key.as_ref())
        .query(&mut c)
        .expect("get");
    assert_eq!(v, b"\xff\xfe\x00new");
    let op = WriteOp::HashSet {
        key: Bytes::from_static(b"h:\xfe"),
        field: field.clone(),
        value: Bytes::from_static(b"\x81\x00"),
        expect: Expect::Value(Bytes::from_static(b"\x80")),
    };
    assert_eq!(be.write(&op).await.expect("hset"), WriteOutcome::Done(1));
    let v: Vec<u8> = redis::cmd("HGET")
        .arg(b"h:\xfe".as_slice())
        .arg(field.as_ref())
        .query(&mut c)
        .expect("hget");
    assert_eq!(v, b"\x81\x00");
    let op = WriteOp::Rename {
        from: key.clone(),
        to: Bytes::from_static(b"k:\x00renamed"),
        overwrite: false,
    };
    assert_eq!(be.write(&op).await.expect("rename"), WriteOutcome::Done(1));
    let del = WriteOp::Delete {
        keys: vec![
            Bytes::from_static(b"k:\x00renamed"),
            Bytes::from_static(b"k:\x00"),
        ],
    };
    assert_eq!(
        be.write(&del).await.expect("delete"),
        WriteOutcome::Done(1),
        "only the exact key"
    );
    let n: u64 = redis::cmd("DBSIZE").query(&mut c).expect("dbsize");
    assert_eq!(n, 1);
}

#[tokio::test]
async fn the_slow_log_is_read_and_reset_and_a_client_is_killed_and_audited() {
    let server = RedisServer::start();
    let mut c = server.conn();
    server.log_every_command();
    let mut victim = server.named_conn("victim");
    redis::cmd("SET")
        .arg(b"slow:\xff".as_slice())
        .arg("x")
        .query::<()>(&mut victim)
        .expect("set");
    let audit_dir = tempfile::tempdir().expect("dir");
    let be = open_with(
        &server,
        ConnectOptions {
            read_only: false,
            profile: "admin".into(),
            audit: Some(AuditLog::in_dir(audit_dir.path())),
            ssh: None,
        },
    )
    .await;
    assert!(be.capabilities().slow_log && be.capabilities().clients);

    let log = be.slow_log(128).await.expect("slow log");
    let set = log
        .iter()
        .find(|e| e.args.first().is_some_and(|a| &a[..] == b"SET"))
        .expect("the SET was logged");
    assert_eq!(&set.args[1][..], b"slow:\xff", "arguments stay bytes");
    assert_eq!(set.client_name, "victim");
    assert!(log.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    assert_eq!(
        be.write(&WriteOp::ResetSlowLog).await.expect("reset"),
        WriteOutcome::Done(1)
    );
    let after = be.slow_log(128).await.expect("slow log");
    assert!(after.iter().all(|e| e.id > set.id), "{after:?}");

    let clients = be.clients().await.expect("clients");
    assert_eq!(clients.iter().filter(|c| c.own).count(), 1, "{clients:?}");
    let target = clients
        .iter()
        .find(|c| c.field("name") == "victim")
        .expect("the victim is listed");
    assert!(!target.own);
    assert!(target.field("addr").starts_with("127.0.0.1:"));
    be.write(&WriteOp::KillClient {
        id: target.id,
        node: None,
    })
    .await
    .expect("kill");
    let err = be
        .write(&WriteOp::KillClient {
            id: target.id,
            node: None,
        })
        .await
        .expect_err("gone");
    assert!(err.to_string().contains("no longer connected"), "{err}");
    let left: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query(&mut c)
        .expect("list");
    assert!(!left.contains("name=victim "), "{left}");
    let audit = std::fs::read_to_string(audit_dir.path().join("audit.jsonl")).expect("audit");
    assert!(audit.contains("\"action\":\"slowlog-reset\""), "{audit}");
    assert!(
        audit.contains(&format!("\"detail\":\"client id {}\"", target.id)),
        "{audit}"
    );
}
