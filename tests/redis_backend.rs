//! The Redis backend and the service against real redis-server processes.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use bytes::Bytes;
use cache_console::backend::{self, BackendError, CacheBackend, ConnectOptions};
use cache_console::config::connection::{Secret, parse_url};
use cache_console::core::escape::{escape_bytes, pattern_to_glob};
use cache_console::core::model::{KeyType, PageCursor, ScanRequest, Ttl, ValueItems};
use cache_console::service::{CommandKind, EventKind, ScanState, ServiceHandle};
use common::Service;
use common::{RedisServer, fill};

/// A service with connection 1 open on `server`.
fn connected(server: &RedisServer) -> Service {
    let (spec, _) = parse_url(&server.url()).expect("url");
    connected_with(spec)
}

/// A service with connection 1 open with `spec`.
fn connected_with(spec: cache_console::config::connection::ConnectionSpec) -> Service {
    let mut service = Service(ServiceHandle::start(None).expect("service"));
    service
        .send(
            1,
            1,
            CommandKind::Connect {
                spec: Box::new(spec),
                password: None,
                options: ConnectOptions::default(),
            },
        )
        .expect("send");
    let event = service
        .blocking_recv(Duration::from_secs(10))
        .expect("an answer");
    assert!(
        matches!(event.kind, EventKind::Connected { .. }),
        "{event:?}"
    );
    service
}

/// Lists everything `request` matches on connection 1, as request `req`.
fn start_scan(service: &Service, req: u64, request: ScanRequest) {
    service
        .send(
            1,
            req,
            CommandKind::Scan {
                request,
                from_cursor: 0,
                limit: None,
            },
        )
        .expect("send");
}

/// Waits until listing `req` has sent its first batch: it is running.
fn wait_first_batch(service: &mut Service, req: u64) {
    loop {
        let e = service
            .blocking_recv(Duration::from_secs(30))
            .expect("a batch");
        if e.req == req && matches!(e.kind, EventKind::ScanBatch { .. }) {
            return;
        }
    }
}

async fn open(server: &RedisServer) -> Box<dyn CacheBackend> {
    common::open_url(&server.url()).await
}

async fn all_keys(b: &dyn CacheBackend, pattern: &str, t: Option<KeyType>) -> Vec<Vec<u8>> {
    let request = ScanRequest {
        pattern: pattern_to_glob(pattern),
        type_filter: t,
        count: 100,
        server: None,
        budget_ms: None,
    };
    let mut cursor = 0;
    let mut out = HashSet::new();
    loop {
        let page = b.scan(&request, cursor).await.expect("scan");
        out.extend(page.keys.iter().map(|k| k.to_vec()));
        cursor = page.next_cursor;
        if cursor == 0 {
            break;
        }
    }
    let mut v: Vec<_> = out.into_iter().collect();
    v.sort();
    v
}

#[tokio::test]
async fn patterns_follow_redis_glob_rules_including_escapes() {
    let server = RedisServer::start();
    let mut c = server.conn();
    for key in [
        "a*b", "a?b", "axb", "a[b", "abc", "bbc", "cbc", "dbc", "a\\b",
    ] {
        redis::cmd("SET")
            .arg(key)
            .arg(1)
            .query::<()>(&mut c)
            .expect("set");
    }
    let b = open(&server).await;
    let names = |v: Vec<Vec<u8>>| v.into_iter().map(|k| escape_bytes(&k)).collect::<Vec<_>>();
    assert_eq!(names(all_keys(b.as_ref(), "a\\*b", None).await), ["a*b"]);
    assert_eq!(
        names(all_keys(b.as_ref(), "a?b", None).await),
        ["a*b", "a?b", "a[b", "a\\\\b", "axb"]
    );
    assert_eq!(names(all_keys(b.as_ref(), "a\\?b", None).await), ["a?b"]);
    assert_eq!(
        names(all_keys(b.as_ref(), "[a-c]bc", None).await),
        ["abc", "bbc", "cbc"]
    );
    assert_eq!(names(all_keys(b.as_ref(), "[^a-c]bc", None).await), ["dbc"]);
    assert_eq!(names(all_keys(b.as_ref(), "a\\[b", None).await), ["a[b"]);
    // The displayed form of a key with a backslash is a pattern for exactly that key.
    assert_eq!(
        names(all_keys(b.as_ref(), "a\\\\b", None).await),
        ["a\\\\b"]
    );
    assert!(all_keys(b.as_ref(), "nothing:*", None).await.is_empty());
}

#[tokio::test]
async fn binary_keys_round_trip_exactly() {
    let server = RedisServer::start();
    let mut c = server.conn();
    let key: &[u8] = b"bin:\xff\x00\x80:end";
    let value: &[u8] = b"\x00\x01\xfe\xffpayload";
    redis::cmd("SET")
        .arg(key)
        .arg(value)
        .query::<()>(&mut c)
        .expect("set");
    let b = open(&server).await;
    let found = all_keys(b.as_ref(), "bin:\\xff*", None).await;
    assert_eq!(found, vec![key.to_vec()]);
    let shown = escape_bytes(key);
    assert_eq!(shown, "bin:\\xff\\x00\\x80:end");
    let typed = cache_console::core::escape::unescape(&shown).expect("unescape");
    let meta = b
        .key_meta(&[Bytes::from(typed.clone())])
        .await
        .expect("meta");
    assert_eq!(
        meta[0].as_ref().map(|m| &m.key_type),
        Some(&KeyType::String)
    );
    let page = b
        .read_page(&typed, &KeyType::String, &PageCursor::Start, 10)
        .await
        .expect("read");
    assert_eq!(
        page.items,
        ValueItems::String {
            bytes: Bytes::from_static(value),
            total_len: value.len() as u64
        }
    );
}

#[tokio::test]
async fn type_filter_lists_only_that_type() {
    let server = RedisServer::start();
    let mut c = server.conn();
    redis::cmd("SET")
        .arg("s1")
        .arg(1)
        .query::<()>(&mut c)
        .expect("set");
    redis::cmd("HSET")
        .arg("h1")
        .arg("f")
        .arg("v")
        .query::<()>(&mut c)
        .expect("hset");
    redis::cmd("HSET")
        .arg("h2")
        .arg("f")
        .arg("v")
        .query::<()>(&mut c)
        .expect("hset");
    redis::cmd("RPUSH")
        .arg("l1")
        .arg("x")
        .query::<()>(&mut c)
        .expect("rpush");
    let b = open(&server).await;
    assert_eq!(
        all_keys(b.as_ref(), "*", Some(KeyType::Hash)).await,
        vec![b"h1".to_vec(), b"h2".to_vec()]
    );
    assert_eq!(
        all_keys(b.as_ref(), "*", Some(KeyType::List)).await,
        vec![b"l1".to_vec()]
    );
    assert_eq!(all_keys(b.as_ref(), "*", None).await.len(), 4);
}

#[test]
fn service_lists_exactly_100k_keys_and_reports_progress() {
    let server = RedisServer::start();
    let mut c = server.conn();
    fill(&mut c, "k:", 100_000);
    fill(&mut c, "other:", 5_000);
    let mut service = connected(&server);
    let request = ScanRequest {
        pattern: b"k:*".to_vec(),
        type_filter: None,
        count: 1000,
        server: None,
        budget_ms: None,
    };
    service
        .send(
            1,
            2,
            CommandKind::Scan {
                request,
                from_cursor: 0,
                limit: None,
            },
        )
        .expect("send");
    let mut keys = HashSet::new();
    let mut total = 0;
    let mut last_progress = 0.0;
    loop {
        let event = service
            .blocking_recv(Duration::from_secs(30))
            .expect("scan event");
        assert_eq!((event.conn, event.req), (1, 2));
        match event.kind {
            EventKind::ScanStarted { total_keys } => total = total_keys,
            EventKind::ScanBatch {
                keys: batch,
                progress,
                state,
                ..
            } => {
                assert!(progress >= last_progress);
                last_progress = progress;
                keys.extend(batch);
                if state == ScanState::Done {
                    break;
                }
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(total, 105_000);
    assert_eq!(keys.len(), 100_000);
    assert!((last_progress - 1.0).abs() < f64::EPSILON);
    service.shutdown();
}

#[test]
fn a_limited_listing_pauses_and_continues_where_it_stopped() {
    let server = RedisServer::start();
    let mut c = server.conn();
    fill(&mut c, "p:", 20_000);
    let mut service = connected(&server);
    let request = ScanRequest {
        pattern: b"*".to_vec(),
        type_filter: None,
        count: 1000,
        server: None,
        budget_ms: None,
    };
    let mut keys = HashSet::new();
    let mut cursor = 0;
    let mut req = 10;
    let mut pauses = 0;
    loop {
        req += 1;
        service
            .send(
                1,
                req,
                CommandKind::Scan {
                    request: request.clone(),
                    from_cursor: cursor,
                    limit: Some(5_000),
                },
            )
            .expect("send");
        let state = loop {
            let e = service
                .blocking_recv(Duration::from_secs(30))
                .expect("event");
            if let EventKind::ScanBatch {
                keys: batch,
                cursor: next,
                state,
                ..
            } = e.kind
            {
                keys.extend(batch);
                cursor = next;
                if state != ScanState::Running {
                    break state;
                }
            }
        };
        if state == ScanState::Done {
            break;
        }
        pauses += 1;
    }
    assert!(pauses >= 3, "paused {pauses} times");
    assert_eq!(keys.len(), 20_000);
    service.shutdown();
}

#[test]
fn a_new_search_cancels_the_old_one() {
    let server = RedisServer::start();
    let mut c = server.conn();
    fill(&mut c, "c:", 100_000);
    let mut service = connected(&server);
    // COUNT 10 makes the first listing slow, so it is still running when replaced.
    let slow = ScanRequest {
        pattern: b"*".to_vec(),
        type_filter: None,
        count: 10,
        server: None,
        budget_ms: None,
    };
    start_scan(&service, 2, slow);
    wait_first_batch(&mut service, 2);
    let fast = ScanRequest {
        pattern: b"c:1*".to_vec(),
        type_filter: None,
        count: 1000,
        server: None,
        budget_ms: None,
    };
    start_scan(&service, 3, fast);
    let mut old_after_new = 0;
    let mut new_keys = HashSet::new();
    let mut seen_new = false;
    loop {
        let e = service
            .blocking_recv(Duration::from_secs(30))
            .expect("event");
        match (e.req, e.kind) {
            (2, EventKind::ScanBatch { state, .. }) => {
                assert_ne!(state, ScanState::Done, "the old listing must not finish");
                if seen_new {
                    old_after_new += 1;
                }
            }
            (3, EventKind::ScanBatch { keys, state, .. }) => {
                seen_new = true;
                new_keys.extend(keys);
                if state == ScanState::Done {
                    break;
                }
            }
            (_, EventKind::ScanStarted { .. }) => {}
            (req, other) => panic!("unexpected event for {req}: {other:?}"),
        }
    }
    // Only batches already queued before the cancel may trail in.
    assert!(
        old_after_new <= cache_console::service::EVENT_CAPACITY,
        "{old_after_new}"
    );
    assert_eq!(new_keys.len(), 11_111);
    assert!(new_keys.iter().all(|k| k.starts_with(b"c:1")));
    service.shutdown();
}

#[tokio::test]
async fn wrong_password_is_an_auth_error_without_the_secret() {
    let server = RedisServer::start_with(Some("right-password"));
    let (spec, _) = parse_url(&server.url()).expect("url");
    let wrong = Secret::new("hunter2-wrong");
    let err = backend::connect(&spec, Some(&wrong), &ConnectOptions::default())
        .await
        .err()
        .expect("must fail");
    assert!(matches!(err, BackendError::Auth { .. }), "{err:?}");
    let text = err.to_string();
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("authentication failed"), "{text}");
    let missing = backend::connect(&spec, None, &ConnectOptions::default())
        .await
        .err()
        .expect("must fail");
    assert!(
        matches!(missing, BackendError::Auth { .. }),
        "no password against requirepass: {missing:?}"
    );
    let right = Secret::new("right-password");
    assert!(
        backend::connect(&spec, Some(&right), &ConnectOptions::default())
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_server_that_is_down_gives_a_clear_error() {
    let mut server = RedisServer::start();
    let url = server.url();
    server.kill();
    let (spec, _) = parse_url(&url).expect("url");
    let started = Instant::now();
    let err = backend::connect(&spec, None, &ConnectOptions::default())
        .await
        .err()
        .expect("must fail");
    assert!(started.elapsed() < Duration::from_secs(15));
    assert!(
        matches!(
            err,
            BackendError::Connect { .. } | BackendError::Timeout { .. }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains(&format!("127.0.0.1:{}", server.port)),
        "{err}"
    );
}

#[test]
fn a_server_dying_mid_listing_ends_the_listing_with_an_error() {
    let mut server = RedisServer::start();
    let mut c = server.conn();
    fill(&mut c, "d:", 50_000);
    let (mut spec, _) = parse_url(&server.url()).expect("url");
    let cache_console::config::connection::ConnectionSpec::Redis(r) = &mut spec else {
        panic!("a redis spec");
    };
    r.command_timeout_ms = 2_000;
    r.connect_timeout_ms = 1_000;
    let mut service = connected_with(spec);
    let slow = ScanRequest {
        pattern: b"*".to_vec(),
        type_filter: None,
        count: 10,
        server: None,
        budget_ms: None,
    };
    start_scan(&service, 2, slow);
    let mut batches = 0;
    let outcome = loop {
        let e = service
            .blocking_recv(Duration::from_secs(30))
            .expect("event");
        match e.kind {
            EventKind::ScanBatch { state, .. } => {
                assert_ne!(state, ScanState::Done);
                batches += 1;
                if batches == 5 {
                    server.kill();
                }
            }
            EventKind::Failed(err) => break err,
            EventKind::ScanStarted { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    };
    assert!(
        matches!(
            outcome,
            BackendError::Connect { .. } | BackendError::Timeout { .. }
        ),
        "{outcome:?}"
    );
    service.shutdown();
}

#[tokio::test]
async fn a_hash_with_many_fields_opens_fast_and_pages_completely() {
    let server = RedisServer::start();
    let mut c = server.conn();
    let mut start = 0;
    while start < 200_000 {
        let mut cmd = redis::cmd("HSET");
        cmd.arg("big");
        for i in start..start + 10_000 {
            cmd.arg(format!("f{i}")).arg(i);
        }
        cmd.query::<()>(&mut c).expect("hset");
        start += 10_000;
    }
    let b = open(&server).await;
    let details = b.key_details(b"big").await.expect("details");
    assert_eq!(details.meta.key_type, KeyType::Hash);
    assert_eq!(details.length, 200_000);
    assert_eq!(details.encoding.as_deref(), Some("hashtable"));
    let first = b
        .read_page(b"big", &KeyType::Hash, &PageCursor::Start, 200)
        .await
        .expect("page");
    let ValueItems::Hash(items) = &first.items else {
        panic!("hash page")
    };
    assert!(
        !items.is_empty() && items.len() < 2_000,
        "a page, not the whole hash: {}",
        items.len()
    );
    let mut fields = HashSet::new();
    let mut cursor = first.next.clone();
    fields.extend(items.iter().map(|(f, _)| f.clone()));
    while let Some(cur) = cursor {
        let page = b
            .read_page(b"big", &KeyType::Hash, &cur, 1000)
            .await
            .expect("page");
        if let ValueItems::Hash(items) = page.items {
            fields.extend(items.into_iter().map(|(f, _)| f));
        }
        cursor = page.next;
    }
    assert_eq!(fields.len(), 200_000);
}

#[tokio::test]
async fn every_type_reads_in_pages() {
    let server = RedisServer::start();
    let mut c = server.conn();
    let items: Vec<String> = (0..450).map(|i| format!("e{i:03}")).collect();
    redis::cmd("RPUSH")
        .arg("list")
        .arg(&items)
        .query::<()>(&mut c)
        .expect("rpush");
    redis::cmd("SADD")
        .arg("set")
        .arg(&items)
        .query::<()>(&mut c)
        .expect("sadd");
    let mut z = redis::cmd("ZADD");
    z.arg("zset");
    for (i, m) in items.iter().enumerate() {
        z.arg(i).arg(m);
    }
    z.query::<()>(&mut c).expect("zadd");
    for i in 0..450 {
        redis::cmd("XADD")
            .arg("stream")
            .arg("*")
            .arg("n")
            .arg(i)
            .query::<()>(&mut c)
            .expect("xadd");
    }
    redis::cmd("SET")
        .arg("ttl")
        .arg("v")
        .arg("EX")
        .arg(100)
        .query::<()>(&mut c)
        .expect("set");
    let b = open(&server).await;
    for (key, t) in [
        ("list", KeyType::List),
        ("set", KeyType::Set),
        ("zset", KeyType::ZSet),
        ("stream", KeyType::Stream),
    ] {
        let mut cursor = Some(PageCursor::Start);
        let mut n = 0;
        let mut pages = 0;
        let mut last_score = -1.0;
        while let Some(cur) = cursor {
            let page = b
                .read_page(key.as_bytes(), &t, &cur, 100)
                .await
                .expect("page");
            pages += 1;
            n += match &page.items {
                ValueItems::List(v) | ValueItems::Set(v) => v.len(),
                ValueItems::ZSet(v) => {
                    for (_, s) in v {
                        assert!(*s > last_score, "zset pages come in score order");
                        last_score = *s;
                    }
                    v.len()
                }
                ValueItems::Stream(v) => v.len(),
                other => panic!("{key}: {other:?}"),
            };
            cursor = page.next;
        }
        assert_eq!(n, 450, "{key}");
        if key != "set" {
            assert_eq!(pages, 5, "{key}");
        }
    }
    let meta = b
        .key_meta(&[Bytes::from_static(b"ttl"), Bytes::from_static(b"missing")])
        .await
        .expect("meta");
    match meta[0].as_ref().map(|m| m.ttl) {
        Some(Ttl::ExpiresInMs(ms)) => assert!(ms > 90_000 && ms <= 100_000, "{ms}"),
        other => panic!("{other:?}"),
    }
    assert!(meta[1].is_none());
    let gone = b.key_details(b"missing").await.expect_err("missing key");
    assert!(matches!(gone, BackendError::KeyNotFound(_)));
}

#[tokio::test]
async fn large_strings_are_previewed_and_saved_whole() {
    let server = RedisServer::start();
    let mut c = server.conn();
    let big: Vec<u8> = (0..3_500_000u32).map(|i| (i % 251) as u8).collect();
    redis::cmd("SET")
        .arg("big")
        .arg(&big)
        .query::<()>(&mut c)
        .expect("set");
    let b = open(&server).await;
    let page = b
        .read_page(b"big", &KeyType::String, &PageCursor::Start, 0)
        .await
        .expect("page");
    let ValueItems::String { bytes, total_len } = page.items else {
        panic!("string")
    };
    assert_eq!(total_len, 3_500_000);
    assert_eq!(
        bytes.len() as u64,
        cache_console::backend::redis::STRING_PREVIEW_BYTES
    );
    assert_eq!(&bytes[..], &big[..bytes.len()]);

    let mut service = connected(&server);
    let out = tempfile::tempdir().expect("dir");
    let path = out.path().join("big.bin");
    service
        .send(
            1,
            2,
            CommandKind::SaveValue {
                key: Bytes::from_static(b"big"),
                path: path.clone(),
            },
        )
        .expect("send");
    match service
        .blocking_recv(Duration::from_secs(30))
        .map(|e| e.kind)
    {
        Some(EventKind::Saved { bytes, .. }) => assert_eq!(bytes, 3_500_000),
        other => panic!("{other:?}"),
    }
    assert_eq!(std::fs::read(&path).expect("saved file"), big);
    service.shutdown();
}

#[tokio::test]
async fn databases_and_unix_sockets() {
    let server = RedisServer::start();
    let mut c = server.conn();
    redis::cmd("SELECT")
        .arg(3)
        .query::<()>(&mut c)
        .expect("select");
    fill(&mut c, "db3:", 7);
    let b = open(&server).await;
    let dbs = b.databases().await.expect("databases");
    assert_eq!(dbs.len(), 16);
    assert_eq!(dbs[3].keys, 7);
    assert_eq!(dbs[0].keys, 0);
    let url = format!("redis+unix://{}?db=3", server.socket().display());
    let (spec, _) = parse_url(&url).expect("url");
    let unix = backend::connect(&spec, None, &ConnectOptions::default())
        .await
        .expect("unix socket");
    assert_eq!(unix.key_count().await.expect("dbsize"), 7);
    assert!(unix.describe().contains("redis.sock"));
}

#[tokio::test]
async fn a_slow_server_times_out_with_a_clear_error() {
    let server = RedisServer::start();
    let (mut spec, _) = parse_url(&server.url()).expect("url");
    let cache_console::config::connection::ConnectionSpec::Redis(r) = &mut spec else {
        panic!("a redis spec");
    };
    r.command_timeout_ms = 300;
    let b = backend::connect(&spec, None, &ConnectOptions::default())
        .await
        .expect("connect");
    // Another client freezes every client's commands for two seconds.
    let mut other = server.conn();
    redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(2000)
        .query::<()>(&mut other)
        .expect("pause");
    let started = Instant::now();
    let err = b.key_count().await.expect_err("must time out");
    assert!(started.elapsed() < Duration::from_millis(1500));
    assert!(
        matches!(
            err,
            BackendError::Timeout {
                timeout_ms: 300,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("did not answer within 300 ms"),
        "{err}"
    );
}

#[tokio::test]
async fn the_client_side_glob_agrees_with_redis_itself() {
    let server = RedisServer::start();
    let mut c = server.conn();
    let keys: Vec<&[u8]> = vec![
        b"a",
        b"ab",
        b"abc",
        b"a*b",
        b"a?b",
        b"a[b",
        b"a]b",
        b"a-b",
        b"a\\b",
        b"_",
        b"]",
        b"-",
        b"user:1",
        b"user:10",
        b"user:2:x",
        b"x\xff",
        b"",
        b"^",
        b"aXb",
    ];
    for k in &keys {
        if !k.is_empty() {
            redis::cmd("SET")
                .arg(*k)
                .arg(1)
                .query::<()>(&mut c)
                .expect("set");
        }
    }
    let patterns: Vec<&[u8]> = vec![
        b"*",
        b"a*",
        b"a?b",
        b"a\\*b",
        b"a[*]b",
        b"[a-c]*",
        b"[c-a]*",
        b"[^a]*",
        b"[a-]",
        b"[-a]",
        b"[]]",
        b"[\\]]",
        b"a[b",
        b"a\\",
        b"*:*",
        b"user:?",
        b"user:[0-9]*",
        b"x\xff",
        b"*[",
        b"[^-]",
        b"a[^b]b",
        b"**b",
    ];
    let b = open(&server).await;
    for pattern in patterns {
        let request = ScanRequest {
            pattern: pattern.to_vec(),
            type_filter: None,
            count: 1000,
            server: None,
            budget_ms: None,
        };
        let mut cursor = 0;
        let mut from_redis = std::collections::BTreeSet::new();
        loop {
            let page = b.scan(&request, cursor).await.expect("scan");
            from_redis.extend(page.keys.iter().map(|k| k.to_vec()));
            cursor = page.next_cursor;
            if cursor == 0 {
                break;
            }
        }
        let ours: std::collections::BTreeSet<Vec<u8>> = keys
            .iter()
            .filter(|k| !k.is_empty() && cache_console::core::glob::matches(pattern, k))
            .map(|k| k.to_vec())
            .collect();
        assert_eq!(ours, from_redis, "pattern {}", escape_bytes(pattern));
    }
}

#[test]
fn every_event_wakes_the_ui_and_shutdown_takes_at_most_a_second() {
    let server = RedisServer::start();
    let mut c = server.conn();
    fill(&mut c, "w:", 50_000);
    let ctx = egui::Context::default();
    let wakes = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = wakes.clone();
    ctx.set_request_repaint_callback(move |_| {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    });
    let mut service = Service(ServiceHandle::start(Some(ctx.clone())).expect("service"));
    let (spec, _) = parse_url(&server.url()).expect("url");
    service
        .send(
            1,
            1,
            CommandKind::Connect {
                spec: Box::new(spec),
                password: None,
                options: ConnectOptions::default(),
            },
        )
        .expect("send");
    let event = service
        .blocking_recv(Duration::from_secs(10))
        .expect("connected");
    assert!(matches!(event.kind, EventKind::Connected { .. }));
    assert!(
        wakes.load(std::sync::atomic::Ordering::SeqCst) >= 1,
        "the event woke the UI"
    );
    // A slow listing is running when the app quits: the service still stops within a second.
    let slow = ScanRequest {
        pattern: b"*".to_vec(),
        type_filter: None,
        count: 10,
        server: None,
        budget_ms: None,
    };
    start_scan(&service, 2, slow);
    wait_first_batch(&mut service, 2);
    let started = Instant::now();
    service.shutdown();
    assert!(
        started.elapsed() < Duration::from_millis(1_200),
        "{:?}",
        started.elapsed()
    );
}

/// Runs a memory analysis on connection 1 as request `req` and waits for its report.
fn analysis(
    service: &mut Service,
    req: u64,
    request: cache_console::backend::analysis::AnalysisRequest,
    cancel: bool,
) -> cache_console::backend::analysis::MemoryReport {
    service
        .send(1, req, CommandKind::AnalyzeMemory { request })
        .expect("send");
    if cancel {
        service
            .send(1, req + 1, CommandKind::CancelAnalysis)
            .expect("send");
    }
    let deadline = Instant::now() + Duration::from_mins(1);
    loop {
        assert!(Instant::now() < deadline, "no report");
        match service
            .blocking_recv(Duration::from_secs(10))
            .map(|e| (e.req, e.kind))
        {
            Some((r, EventKind::AnalysisDone(report))) if r == req => return report,
            Some((r, EventKind::Failed(e))) if r == req => panic!("analysis failed: {e}"),
            _ => {}
        }
    }
}

fn analysis_request(sample: Option<u64>) -> cache_console::backend::analysis::AnalysisRequest {
    cache_console::backend::analysis::AnalysisRequest {
        pattern: b"*".to_vec(),
        sample,
        delimiter: ":".into(),
        depth: 1,
        top: 10,
        server: None,
        budget_ms: None,
    }
}

#[test]
fn memory_analysis_finds_the_biggest_keys_and_namespace_totals() {
    use cache_console::backend::analysis::NO_NAMESPACE;
    let server = RedisServer::start();
    let mut c = server.conn();
    redis::cmd("SET")
        .arg("big:1")
        .arg(vec![b'x'; 100_000])
        .query::<()>(&mut c)
        .expect("set");
    redis::cmd("SET")
        .arg("big:2")
        .arg(vec![b'y'; 50_000])
        .query::<()>(&mut c)
        .expect("set");
    redis::cmd("RPUSH")
        .arg("big:3")
        .arg(vec![b'z'; 20_000])
        .query::<()>(&mut c)
        .expect("rpush");
    let mut pipe = redis::pipe();
    for i in 0..500 {
        pipe.cmd("SET")
            .arg(format!("user:{i}"))
            .arg(i)
            .arg("EX")
            .arg(30)
            .ignore();
    }
    for i in 0..300 {
        pipe.cmd("HSET")
            .arg(format!("session:{i}"))
            .arg("u")
            .arg(i)
            .ignore();
        pipe.cmd("EXPIRE")
            .arg(format!("session:{i}"))
            .arg(7200)
            .ignore();
    }
    for i in 0..100 {
        pipe.cmd("SADD").arg(format!("cfg{i}")).arg("on").ignore();
    }
    pipe.query::<()>(&mut c).expect("fill");
    let usage = |c: &mut redis::Connection, pattern: &str| -> u64 {
        let keys: Vec<String> = redis::cmd("KEYS").arg(pattern).query(c).expect("keys");
        keys.iter()
            .map(|k| {
                redis::cmd("MEMORY")
                    .arg("USAGE")
                    .arg(k)
                    .query::<u64>(c)
                    .expect("usage")
            })
            .sum()
    };
    let user_bytes = usage(&mut c, "user:*");
    let big_bytes = usage(&mut c, "big:*");

    let mut service = connected(&server);
    let r = analysis(&mut service, 10, analysis_request(None), false);
    assert_eq!(r.keys, 903);
    assert!(!r.sampled && !r.cancelled);
    let top: Vec<&[u8]> = r.top.iter().take(3).map(|f| &f.key[..]).collect();
    assert_eq!(top, vec![&b"big:1"[..], b"big:2", b"big:3"]);
    assert_eq!(r.top[0].key_type, KeyType::String);
    assert_eq!(r.top[2].key_type, KeyType::List);
    let ns = |name: &str| {
        r.namespaces.iter().find(|(n, _)| n == name).map_or_else(
            || panic!("namespace {name} in {:?}", r.namespaces),
            |(_, t)| (t.keys, t.bytes),
        )
    };
    assert_eq!(ns("user:"), (500, user_bytes));
    assert_eq!(ns("big:"), (3, big_bytes));
    assert_eq!(ns("session:").0, 300);
    assert_eq!(ns(NO_NAMESPACE).0, 100);
    assert_eq!(r.namespaces[0].0, "big:", "most bytes first");
    let total: u64 = r.namespaces.iter().map(|(_, t)| t.bytes).sum();
    assert_eq!(total, r.bytes);
    let ttl: Vec<u64> = r.ttl.iter().map(|t| t.keys).collect();
    assert_eq!(
        ttl,
        vec![103, 500, 0, 300, 0],
        "no TTL, <1 min, <1 h, <1 day, longer"
    );
    let hashes = r
        .types
        .iter()
        .find(|(t, _)| *t == KeyType::Hash)
        .map(|(_, t)| t.keys);
    assert_eq!(hashes, Some(300));

    // A sample stops at its size.
    let r = analysis(&mut service, 20, analysis_request(Some(100)), false);
    assert_eq!(r.keys, 100);
    assert!(r.sampled);

    // A cancelled analysis reports what it found so far.
    fill(&mut c, "bulk:", 200_000);
    let r = analysis(&mut service, 30, analysis_request(None), true);
    assert!(r.cancelled);
    assert!(r.keys < 200_903, "{}", r.keys);
}

/// Every match of `pattern` in `key`, page by page; also the most elements one page looked at.
async fn find_all(
    b: &dyn CacheBackend,
    key: &[u8],
    t: &KeyType,
    pattern: &[u8],
) -> (Vec<Bytes>, Vec<u64>, u64) {
    let mut cursor = PageCursor::Start;
    let mut found = Vec::new();
    let mut positions = Vec::new();
    let mut most = 0;
    for _ in 0..1_000 {
        let page = b
            .find_in_value(key, t, pattern, &cursor, 200)
            .await
            .expect("find");
        most = most.max(page.examined);
        positions.extend(page.positions);
        match page.items {
            ValueItems::Hash(pairs) => found.extend(pairs.into_iter().map(|(f, _)| f)),
            ValueItems::List(v) | ValueItems::Set(v) => found.extend(v),
            ValueItems::ZSet(v) => found.extend(v.into_iter().map(|(m, _)| m)),
            other => panic!("unexpected items {other:?}"),
        }
        match page.next {
            Some(next) => cursor = next,
            None => return (found, positions, most),
        }
    }
    panic!("the search never ended");
}

#[tokio::test]
async fn find_inside_collections_pages_through_the_whole_value_with_bounded_steps() {
    let server = RedisServer::start();
    let mut c = server.conn();
    let mut pipe = redis::pipe();
    for i in 0..60_000 {
        pipe.cmd("HSET")
            .arg("h")
            .arg(format!("f{i}"))
            .arg(i)
            .ignore();
        pipe.cmd("RPUSH").arg("l").arg(format!("e{i}")).ignore();
        pipe.cmd("SADD").arg("s").arg(format!("m{i}")).ignore();
    }
    // Binary and glob-special names match only literally.
    pipe.cmd("HSET").arg("h").arg(b"bin\xff*").arg(1).ignore();
    pipe.cmd("RPUSH").arg("l").arg(b"x[1]\x00").ignore();
    pipe.query::<()>(&mut c).expect("fill");
    let b = open(&server).await;
    let (fields, _, most) = find_all(b.as_ref(), b"h", &KeyType::Hash, b"f4242*").await;
    let mut fields: Vec<_> = fields.into_iter().map(|f| escape_bytes(&f)).collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "f4242", "f42420", "f42421", "f42422", "f42423", "f42424", "f42425", "f42426",
            "f42427", "f42428", "f42429"
        ]
    );
    assert!(most <= 20_000, "one page looks at a bounded part: {most}");
    let (odd, _, _) = find_all(
        b.as_ref(),
        b"h",
        &KeyType::Hash,
        &pattern_to_glob("bin\\xff\\x2a"),
    )
    .await;
    assert_eq!(odd, [Bytes::from_static(b"bin\xff*")]);
    let (elements, positions, most) = find_all(b.as_ref(), b"l", &KeyType::List, b"e5999?").await;
    assert_eq!(elements.len(), 10);
    assert_eq!(positions, (59_990..60_000).collect::<Vec<u64>>());
    assert!(most <= 20_000, "list pages are bounded: {most}");
    let (special, positions, _) = find_all(
        b.as_ref(),
        b"l",
        &KeyType::List,
        &pattern_to_glob("x\\x5b1\\x5d\\x00"),
    )
    .await;
    assert_eq!(
        (special, positions),
        (vec![Bytes::from_static(b"x[1]\x00")], vec![60_000])
    );
    let (members, _, _) = find_all(b.as_ref(), b"s", &KeyType::Set, b"m1234").await;
    assert_eq!(members, [Bytes::from_static(b"m1234")]);
    let err = b
        .find_in_value(b"h", &KeyType::String, b"*", &PageCursor::Start, 10)
        .await
        .expect_err("strings are not searched inside");
    assert!(matches!(err, BackendError::Unsupported(_)), "{err}");
}
