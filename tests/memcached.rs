//! The Memcached backend against real memcached processes: one server and a pool of three.

mod common;

use std::collections::HashSet;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use bytes::Bytes;
use cache_console::backend::BackendError;
use cache_console::core::model::{
    Expect, KeyType, PageCursor, ScanRequest, Ttl, TtlChange, ValueItems, WriteOp, WriteOutcome,
};
use common::{MemcachedServer, b, list_keys as list, open_url as open};

#[tokio::test]
async fn values_are_binary_safe_and_ttls_are_read_and_touched() {
    let server = MemcachedServer::start();
    let be = open(&format!("memcached://{}", server.addr())).await;
    assert!(be.describe().starts_with("Memcached 1.6"));
    let caps = be.capabilities();
    assert!(!caps.type_filter && !caps.databases && !caps.rename && caps.flush_delay);
    let value = Bytes::from_static(b"\x00\xff\r\nEND\r\nbinary");
    let op = WriteOp::SetString {
        key: b("bin"),
        value: value.clone(),
        ttl: TtlChange::InMs(120_000),
        expect: Expect::Any,
    };
    assert_eq!(be.write(&op).await.expect("set"), WriteOutcome::Done(1));
    let page = be
        .read_page(b"bin", &KeyType::String, &PageCursor::Start, 0)
        .await
        .expect("read");
    assert_eq!(
        page.items,
        ValueItems::String {
            bytes: value.clone(),
            total_len: value.len() as u64
        }
    );
    let details = be.key_details(b"bin").await.expect("details");
    match details.meta.ttl {
        Ttl::ExpiresInMs(ms) => assert!((118_000..=120_000).contains(&ms), "{ms}"),
        other => panic!("a TTL was set, and memcached tells it: {other:?}"),
    }
    assert_eq!(details.length, value.len() as u64);
    assert!(
        details
            .extra
            .iter()
            .any(|(k, v)| k == "Server" && *v == server.addr())
    );
    // Touch changes the TTL; persist removes it; a save without a TTL change keeps it.
    be.write(&WriteOp::SetTtl {
        key: b("bin"),
        ttl: TtlChange::InMs(3_600_000),
    })
    .await
    .expect("touch");
    let meta = be.key_meta(&[b("bin"), b("missing")]).await.expect("meta");
    assert!(
        matches!(meta[0].as_ref().map(|m| m.ttl), Some(Ttl::ExpiresInMs(ms)) if ms > 3_500_000)
    );
    assert!(meta[1].is_none());
    let op = WriteOp::SetString {
        key: b("bin"),
        value: b("v2"),
        ttl: TtlChange::Keep,
        expect: Expect::Value(value),
    };
    assert_eq!(be.write(&op).await.expect("save"), WriteOutcome::Done(1));
    let details = be.key_details(b"bin").await.expect("details");
    assert!(
        matches!(details.meta.ttl, Ttl::ExpiresInMs(ms) if ms > 3_500_000),
        "TTL kept"
    );
    be.write(&WriteOp::SetTtl {
        key: b("bin"),
        ttl: TtlChange::Persist,
    })
    .await
    .expect("persist");
    assert_eq!(
        be.key_details(b"bin").await.expect("details").meta.ttl,
        Ttl::Persistent
    );
    let err = be
        .write(&WriteOp::SetTtl {
            key: b("nope"),
            ttl: TtlChange::InMs(1000),
        })
        .await;
    assert!(matches!(err, Err(BackendError::KeyNotFound(_))));
    let err = be
        .write(&WriteOp::Rename {
            from: b("bin"),
            to: b("x"),
            overwrite: false,
        })
        .await;
    assert!(err.is_err_and(|e| e.to_string().contains("plain values")));
}

#[tokio::test]
async fn a_concurrent_change_is_a_cas_conflict() {
    let server = MemcachedServer::start();
    let be = open(&format!("memcached://{}", server.addr())).await;
    be.write(&WriteOp::SetString {
        key: b("k"),
        value: b("loaded"),
        ttl: TtlChange::Persist,
        expect: Expect::Any,
    })
    .await
    .expect("set");
    // Another client writes meanwhile.
    let reply = server.raw("set k 0 0 6\r\ntheirs\r\n", "\r\n");
    assert!(reply.starts_with("STORED"));
    let op = WriteOp::SetString {
        key: b("k"),
        value: b("mine"),
        ttl: TtlChange::Keep,
        expect: Expect::Value(b("loaded")),
    };
    assert_eq!(be.write(&op).await.expect("save"), WriteOutcome::Conflict);
    assert!(server.raw("get k\r\n", "END\r\n").contains("theirs"));
    let op = WriteOp::SetString {
        key: b("k"),
        value: b("mine"),
        ttl: TtlChange::Keep,
        expect: Expect::Value(b("theirs")),
    };
    assert_eq!(be.write(&op).await.expect("save"), WriteOutcome::Done(1));
    assert!(server.raw("get k\r\n", "END\r\n").contains("mine"));
    // Create refuses an existing key; undo restores value, flags and TTL.
    let create = WriteOp::Create {
        key: b("k"),
        value: cache_console::core::model::NewValue::String(b("x")),
        ttl: TtlChange::Persist,
    };
    assert_eq!(
        be.write(&create).await.expect("add"),
        WriteOutcome::TargetExists
    );
    server.raw("set flagged 42 600 3\r\nabc\r\n", "\r\n");
    let (saved, deleted) = common::delete_saved(be.as_ref(), &[b("flagged"), b("gone")]).await;
    assert_eq!(deleted, WriteOutcome::Done(1));
    assert!(!server.raw("get flagged\r\n", "END\r\n").contains("abc"));
    be.write(&WriteOp::Restore { keys: saved })
        .await
        .expect("restore");
    let reply = server.raw("mg flagged v f t\r\n", "\r\n");
    assert!(reply.starts_with("VA 3 f42 t"), "{reply}");
}

#[tokio::test]
async fn listing_100k_keys_is_exact_and_patterns_are_redis_globs() {
    let server = MemcachedServer::start();
    server.fill("item:", 100_000);
    server.fill("other:", 500);
    let be = open(&format!("memcached://{}", server.addr())).await;
    assert_eq!(be.key_count().await.expect("count"), 100_500);
    let keys = list(be.as_ref(), "item:*").await;
    let unique: HashSet<_> = keys.iter().collect();
    assert_eq!(keys.len(), 100_000);
    assert_eq!(unique.len(), 100_000);
    let some = list(be.as_ref(), "item:1[0-2]?").await;
    assert_eq!(some.len(), 30);
    assert!(list(be.as_ref(), "nothing*").await.is_empty());
}

#[tokio::test]
async fn a_pool_of_three_spreads_keys_and_lists_them_all() {
    let servers: Vec<MemcachedServer> = (0..3).map(|_| MemcachedServer::start()).collect();
    let url = format!(
        "memcached://{}",
        servers
            .iter()
            .map(MemcachedServer::addr)
            .collect::<Vec<_>>()
            .join(",")
    );
    let be = open(&url).await;
    assert_eq!(be.capabilities().servers.len(), 3);
    assert!(be.describe().contains("pool of 3"));
    for i in 0..300 {
        let op = WriteOp::SetString {
            key: b(&format!("p:{i}")),
            value: b("v"),
            ttl: TtlChange::Persist,
            expect: Expect::Any,
        };
        be.write(&op).await.expect("set");
    }
    // Every server got some keys, and the app says which one holds each.
    let mut per_server = std::collections::HashMap::new();
    let keys: Vec<Bytes> = (0..300).map(|i| b(&format!("p:{i}"))).collect();
    for meta in be.key_meta(&keys).await.expect("meta") {
        let server = meta.and_then(|m| m.server).expect("a server");
        *per_server.entry(server).or_insert(0) += 1;
    }
    assert_eq!(per_server.len(), 3, "{per_server:?}");
    for s in &servers {
        let count = per_server.get(&s.addr()).copied().unwrap_or(0);
        let on_server = s.raw("stats\r\n", "END\r\n");
        assert!(
            on_server.contains(&format!("STAT curr_items {count}\r")),
            "{count} on {}",
            s.addr()
        );
    }
    assert_eq!(list(be.as_ref(), "p:*").await.len(), 300);
    // A per-server listing shows exactly what that server holds.
    for s in &servers {
        let request = ScanRequest {
            pattern: b"p:*".to_vec(),
            type_filter: None,
            count: 1000,
            server: Some(s.addr()),
            budget_ms: None,
        };
        let mut cursor = 0;
        let mut n = 0;
        loop {
            let page = be.scan(&request, cursor).await.expect("scan");
            n += page.keys.len();
            cursor = page.next_cursor;
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(
            n,
            per_server.get(&s.addr()).copied().unwrap_or(0),
            "{}",
            s.addr()
        );
    }
    // Flush one server only, then the rest after a delay.
    let one = servers[0].addr();
    be.write(&WriteOp::Flush {
        server: Some(one.clone()),
        delay_secs: 0,
    })
    .await
    .expect("flush one");
    assert_eq!(list(be.as_ref(), "p:*").await.len(), 300 - per_server[&one]);
    be.write(&WriteOp::Flush {
        server: None,
        // memcached's clock ticks in whole seconds: 3 s leaves at least 1 s of "not yet".
        delay_secs: 3,
    })
    .await
    .expect("flush later");
    assert_eq!(
        list(be.as_ref(), "p:*").await.len(),
        300 - per_server[&one],
        "not yet"
    );
    tokio::time::sleep(Duration::from_millis(4_100)).await;
    let left = be.key_meta(&keys).await.expect("meta");
    assert!(left.iter().all(Option::is_none), "flushed after the delay");
}

#[tokio::test]
async fn delete_by_pattern_and_flush_work_through_the_shared_path() {
    let server = MemcachedServer::start();
    server.fill("tmp:", 2_000);
    server.fill("keep:", 100);
    let be = open(&format!("memcached://{}", server.addr())).await;
    let request = ScanRequest {
        pattern: b"tmp:*".to_vec(),
        type_filter: None,
        count: 1000,
        server: None,
        budget_ms: None,
    };
    let result = be
        .delete_matching(&request, &AtomicBool::new(false), &|_| {})
        .await
        .expect("bulk");
    assert_eq!(result.deleted, 2_000);
    assert_eq!(list(be.as_ref(), "*").await.len(), 100);
    be.write(&WriteOp::FlushDb).await.expect("flush");
    assert!(list(be.as_ref(), "*").await.is_empty());
}

#[tokio::test]
async fn a_server_refusing_dumps_or_dying_mid_listing_gives_a_clear_error() {
    let refusing = MemcachedServer::start_with(&["-X"]);
    let be = open(&format!("memcached://{}", refusing.addr())).await;
    let request = ScanRequest {
        pattern: b"*".to_vec(),
        type_filter: None,
        count: 1000,
        server: None,
        budget_ms: None,
    };
    let err = be.scan(&request, 0).await.expect_err("refused");
    assert!(
        err.to_string().contains("refuses to list its keys"),
        "{err}"
    );
    assert!(err.to_string().contains("exact name"), "{err}");

    let mut dying = MemcachedServer::start();
    dying.fill("d:", 200_000);
    let be = open(&format!("memcached://{}?timeout_ms=2000", dying.addr())).await;
    let request = ScanRequest {
        pattern: b"*".to_vec(),
        type_filter: None,
        count: 100,
        server: None,
        budget_ms: None,
    };
    let first = be.scan(&request, 0).await.expect("first page");
    dying.kill();
    let mut cursor = first.next_cursor;
    let mut outcome = Ok(());
    for _ in 0..10_000 {
        match be.scan(&request, cursor).await {
            Ok(page) if page.next_cursor == 0 => break,
            Ok(page) => cursor = page.next_cursor,
            Err(e) => {
                outcome = Err(e);
                break;
            }
        }
    }
    let err = outcome.expect_err("the listing must fail, not end quietly");
    assert!(matches!(err, BackendError::Connect { .. }), "{err:?}");
}

#[tokio::test]
async fn a_unix_socket_server_is_reached_and_last_access_is_shown() {
    let dir = tempfile::tempdir().expect("dir");
    let socket = dir.path().join("mc.sock");
    let mut child = std::process::Command::new("memcached")
        .arg("-s")
        .arg(&socket)
        .args(["-a", "0700", "-u", "root", "-m", "16"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("memcached is installed (see scripts/test.sh)");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !socket.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "memcached did not create its socket"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let be = open(&format!("memcached+unix://{}", socket.display())).await;
    let op = WriteOp::SetString {
        key: b("sock:1"),
        value: b("v"),
        ttl: TtlChange::Persist,
        expect: Expect::Any,
    };
    assert_eq!(be.write(&op).await.expect("set"), WriteOutcome::Done(1));
    assert_eq!(list(be.as_ref(), "sock:*").await, vec![b"sock:1".to_vec()]);
    let meta = be.key_meta(&[b("sock:1")]).await.expect("meta");
    assert!(
        meta[0].as_ref().is_some_and(|m| m.idle_secs.is_some()),
        "{meta:?}"
    );
    let details = be.key_details(b"sock:1").await.expect("details");
    assert!(details.extra.iter().any(|(k, _)| k == "Last access"));
    let _ = child.kill();
    let _ = child.wait();
}

async fn be_details(server: &MemcachedServer, key: &str) -> (serde_json::Value, Vec<&'static str>) {
    let be = open(&format!("memcached://{}", server.addr())).await;
    let details = be.key_details(key.as_bytes()).await.expect("details");
    let page = be
        .read_page(key.as_bytes(), &KeyType::String, &PageCursor::Start, 0)
        .await
        .expect("read");
    let ValueItems::String { bytes, .. } = page.items else {
        panic!("string")
    };
    let d = cache_console::core::decode::detect(&bytes, details.flags)
        .expect("flags")
        .expect("decoded");
    (cache_console::core::decode::to_json(&d.node), d.labels())
}

#[tokio::test]
async fn values_written_by_php_memcached_are_decoded_by_their_flags() {
    let server = MemcachedServer::start();
    common::php(&format!(
        "$m = new Memcached(); $m->addServer('127.0.0.1', {0});
         $m->setOption(Memcached::OPT_COMPRESSION, true);
         $m->set('arr', ['big' => str_repeat('x', 5000), 'n' => 7]);
         $m->set('small', ['a' => 1]);
         $m->set('int', 42);
         $m->set('text', 'plain');
         $z = new Memcached(); $z->addServer('127.0.0.1', {0});
         $z->setOption(Memcached::OPT_COMPRESSION_TYPE, Memcached::COMPRESSION_ZLIB);
         $z->set('zipped', ['big' => str_repeat('y', 5000)]);",
        server.port
    ));
    let details = be_details(&server, "zipped").await;
    assert_eq!(details.0, serde_json::json!({"big": "y".repeat(5000)}));
    assert!(details.1.contains(&"zlib"), "{:?}", details.1);
    let be = open(&format!("memcached://{}", server.addr())).await;
    let decode = |bytes: &[u8], flags| cache_console::core::decode::detect(bytes, flags);
    for (key, expected, compressed) in [
        (
            "arr",
            serde_json::json!({"big": "x".repeat(5000), "n": 7}),
            true,
        ),
        ("small", serde_json::json!({"a": 1}), false),
    ] {
        let details = be.key_details(key.as_bytes()).await.expect("details");
        let page = be
            .read_page(key.as_bytes(), &KeyType::String, &PageCursor::Start, 0)
            .await
            .expect("read");
        let ValueItems::String { bytes, .. } = page.items else {
            panic!("string")
        };
        let d = decode(&bytes, details.flags)
            .expect("flags recognised")
            .expect("decoded");
        assert_eq!(
            cache_console::core::decode::to_json(&d.node),
            expected,
            "{key}"
        );
        assert_eq!(
            d.labels().contains(&"FastLZ"),
            compressed,
            "{key}: {:?}",
            d.labels()
        );
    }
    let details = be.key_details(b"int").await.expect("details");
    let d = decode(b"42", details.flags)
        .expect("flags")
        .expect("decoded");
    assert_eq!(d.labels(), ["PHP memcached flags", "PHP int"]);
}

#[tokio::test]
async fn a_memory_analysis_of_a_pool_sums_item_sizes_by_namespace() {
    let one = MemcachedServer::start();
    let two = MemcachedServer::start();
    let be = open(&format!("memcached://{},{}", one.addr(), two.addr())).await;
    // Written through the pool, so each key is on the server its hash picks.
    let put = async |key: String, len: usize| {
        be.write(&WriteOp::SetString {
            key: Bytes::from(key),
            value: Bytes::from(vec![b'v'; len]),
            ttl: TtlChange::Persist,
            expect: Expect::Any,
        })
        .await
        .expect("set");
    };
    for i in 0..120 {
        put(format!("page:{i}"), 100).await;
    }
    for i in 0..80 {
        put(format!("sess:{i}"), 50).await;
    }
    put("big:1".to_owned(), 5000).await;
    let request = cache_console::backend::analysis::AnalysisRequest {
        pattern: b"*".to_vec(),
        sample: None,
        delimiter: ":".into(),
        depth: 1,
        top: 5,
        server: None,
        budget_ms: None,
    };
    let report = cache_console::backend::analysis::analyze(
        be.as_ref(),
        &request,
        &AtomicBool::new(false),
        &|_, _| {},
    )
    .await
    .expect("analysis");
    assert_eq!(report.keys, 201);
    assert_eq!(&report.top[0].key[..], b"big:1");
    assert!(report.top[0].bytes >= 5000, "{}", report.top[0].bytes);
    let keys_of = |ns: &str| {
        report
            .namespaces
            .iter()
            .find(|(n, _)| n == ns)
            .map(|(_, t)| t.keys)
    };
    assert_eq!(keys_of("page:"), Some(120));
    assert_eq!(keys_of("sess:"), Some(80));
    assert_eq!(report.ttl[0].keys, 201, "none of them expires");
}

#[test]
fn hostile_servers_get_one_clear_line_and_bounded_memory() {
    use common::fault::FakeServer;
    let cfg = common::config_dir();
    let run = |args: &[&str]| common::cli(cfg.path()).args(args).output().expect("run");
    // Garbage in answer to `version`: not a memcached, said at once in one line.
    let garbage = FakeServer::start(b"HTTP/1.1 400 Bad Request\r\n\r\n", false);
    let url = format!("memcached://127.0.0.1:{}", garbage.port());
    for args in [
        vec!["get", url.as_str(), "k"],
        vec!["set", url.as_str(), "k", "v"],
        vec!["keys", url.as_str()],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(err.contains("not a memcached server"), "{err}");
    }
    // One endless line: cut off at the line limit, never read into memory whole.
    let endless = FakeServer::start(b"VERSION 1.6.18 and then it goes on and on ", true);
    let url = format!("memcached://127.0.0.1:{}", endless.port());
    let out = run(&["keys", url.as_str()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("longer than 64 KiB"), "{err}");
}

#[tokio::test]
async fn keys_with_spaces_and_binary_bytes_are_reached_through_base64() {
    use base64::Engine as _;
    let server = MemcachedServer::start();
    // What a binary-protocol client (or PHP with binary protocol on) can store.
    let odd = [&b"has space"[..], "café:1".as_bytes(), b"\xff\x01bin"];
    for (i, key) in odd.iter().enumerate() {
        let k64 = base64::engine::general_purpose::STANDARD.encode(key);
        let reply = server.raw(&format!("ms {k64} 1 b T0\r\n{i}\r\n"), "\r\n");
        assert!(reply.starts_with("HD"), "{reply}");
    }
    server.raw("set plain 0 0 1\r\np\r\n", "STORED");
    let be = common::open_url(&format!("memcached://{}", server.addr())).await;
    let listed = common::list_keys(be.as_ref(), "*").await;
    for key in odd {
        assert!(
            listed.contains(&key.to_vec()),
            "{:?} listed",
            String::from_utf8_lossy(key)
        );
        let page = be
            .read_string_range(key, 0, 10)
            .await
            .expect("read a binary key");
        assert_eq!(page.len(), 1);
    }
    let cfg = common::config_dir();
    let url = format!("memcached://{}", server.addr());
    let out = common::cli(cfg.path())
        .args(["get", &url, "has space"])
        .output()
        .expect("run");
    assert_eq!(out.stdout, b"0");
    let out = common::cli(cfg.path())
        .args(["del", &url, "--pattern", "*", "--yes"])
        .output()
        .expect("run");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "4",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(common::list_keys(be.as_ref(), "*").await.is_empty());
}

#[test]
fn a_flush_delay_memcached_would_read_as_a_date_is_refused() {
    let server = MemcachedServer::start();
    server.raw("set k 0 0 1\r\nv\r\n", "STORED");
    let cfg = common::config_dir();
    let url = format!("memcached://{}", server.addr());
    for delay in ["4294967295", "2592001"] {
        let out = common::cli(cfg.path())
            .args(["flush", &url, "--yes", "--delay", delay])
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(1), "--delay {delay}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("30 days"));
    }
    assert!(
        server.raw("get k\r\n", "END").contains("VALUE k"),
        "nothing was flushed"
    );
    let out = common::cli(cfg.path())
        .args(["flush", &url, "--yes", "--delay", "2592000"])
        .output()
        .expect("run");
    assert!(out.status.success(), "30 days exactly is still relative");
}
