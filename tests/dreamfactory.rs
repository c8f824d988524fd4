//! DreamFactory's cache API as a backend, tested against a stand-in for DreamFactory: NOT
//! DreamFactory itself (its PHP dependencies cannot be installed here), but a PHP front script
//! under `php -S` that answers the cache services' contract as df-cache's `BaseService` does,
//! with Laravel's own cache Repository over a real Redis, memcached or file store, and
//! DreamFactory's API-key check, error body and status codes (`tests/fixtures/dreamfactory/`).
//! What Laravel wrote the console reads through the API; what the console writes Laravel reads
//! back.

mod common;

use std::time::Duration;

use bytes::Bytes;
use cache_console::backend::{BackendError, CacheBackend, ConnectOptions};
use cache_console::config::connection::{Secret, parse_url};
use cache_console::core::model::{
    Expect, KeyType, NewValue, PageCursor, Ttl, TtlChange, ValueItems, WriteOp, WriteOutcome,
};
use common::dreamfactory::{DreamFactory, Options};
use common::laravel::{Store, laravel};
use common::{MemcachedServer, RedisServer, b};

const KEY: &str = "k3y-for-tests";

async fn open(url: &str) -> Result<Box<dyn CacheBackend>, BackendError> {
    let (spec, key) = parse_url(url).expect("url");
    cache_console::backend::connect(&spec, key.as_ref(), &ConnectOptions::default()).await
}

async fn value(be: &dyn CacheBackend, key: &str) -> Bytes {
    let page = be
        .read_page(key.as_bytes(), &KeyType::String, &PageCursor::Start, 100)
        .await
        .expect("read");
    match page.items {
        ValueItems::String { bytes, .. } => bytes,
        other => panic!("not a string page: {other:?}"),
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn redis_ttl(redis: &RedisServer, key: &str) -> i64 {
    redis::cmd("TTL")
        .arg(key)
        .query(&mut redis.conn())
        .expect("ttl")
}

/// Redis behind the stand-in, with what Laravel wrote: a string, an array, a number, and a
/// string that looks like JSON.
fn laravel_wrote() -> (RedisServer, Store, DreamFactory) {
    let redis = RedisServer::start();
    let store = Store::RedisBare { port: redis.port };
    let df = DreamFactory::start(&store, "cache", KEY, &Options::default());
    let wrote = laravel(
        &store,
        "$cache->put('greeting', 'Zoë says \"hi\"', 600);
         $cache->put('user:1', ['name' => 'Ada', 'roles' => ['admin']], 600);
         $cache->forever('counter', 42);
         $cache->put('looks-like-json', '{\"a\":1}', 600);",
    );
    assert_eq!(wrote, "");
    (redis, store, df)
}

#[test]
fn what_laravel_wrote_is_read_through_the_api() {
    let (_redis, _store, df) = laravel_wrote();
    rt().block_on(async {
        let be = open(&df.url()).await.expect("connect");
        let caps = be.capabilities();
        assert!(!caps.list_keys, "the API cannot list keys");
        assert!(caps.write && caps.flush && caps.structured_values);
        assert_eq!(
            &value(be.as_ref(), "greeting").await[..],
            "Zoë says \"hi\"".as_bytes()
        );
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&value(be.as_ref(), "user:1").await)
                .expect("a structure arrives as JSON"),
            serde_json::json!({"name": "Ada", "roles": ["admin"]})
        );
        assert_eq!(&value(be.as_ref(), "counter").await[..], b"42");
        assert_eq!(
            &value(be.as_ref(), "looks-like-json").await[..],
            br#"{"a":1}"#
        );
        let details = be.key_details(b"user:1").await.expect("details");
        assert_eq!(details.meta.ttl, Ttl::Unknown, "the API does not tell TTLs");
        assert!(matches!(
            be.key_details(b"missing").await,
            Err(BackendError::KeyNotFound(_))
        ));
    });
}

#[test]
fn what_the_console_writes_through_the_api_laravel_reads() {
    let (redis, store, df) = laravel_wrote();
    rt().block_on(async {
        let be = open(&df.url()).await.expect("connect");
        // Read first, as the viewer does: each is saved back as the kind it was.
        for key in ["greeting", "user:1", "looks-like-json"] {
            value(be.as_ref(), key).await;
        }
        let set = |key: &str, value: &str, expect: Expect| WriteOp::SetString {
            key: b(key),
            value: b(value),
            ttl: TtlChange::Keep,
            expect,
        };
        let done = be
            .write(&set(
                "greeting",
                "¡hola!",
                Expect::Value(b("Zoë says \"hi\"")),
            ))
            .await
            .expect("save");
        assert_eq!(done, WriteOutcome::Done(1));
        assert_eq!(
            be.write(&set(
                "greeting",
                "stale",
                Expect::Value(b("Zoë says \"hi\""))
            ))
            .await
            .expect("conflict"),
            WriteOutcome::Conflict,
            "a value changed since it was loaded is not overwritten"
        );
        be.write(&set(
            "user:1",
            r#"{"name":"Grace","roles":["admin","ops"]}"#,
            Expect::Any,
        ))
        .await
        .expect("save structure");
        be.write(&set("looks-like-json", r#"{"a":2}"#, Expect::Any))
            .await
            .expect("save text");
        let create = |key: &str, value: &str, ttl| WriteOp::Create {
            key: b(key),
            value: NewValue::String(b(value)),
            ttl,
        };
        let created = be
            .write(&create("fresh", "new value", TtlChange::InMs(120_000)))
            .await
            .expect("create");
        assert_eq!(created, WriteOutcome::Done(1));
        let again = be
            .write(&create("fresh", "other", TtlChange::Keep))
            .await
            .expect("create again");
        assert_eq!(
            again,
            WriteOutcome::TargetExists,
            "POST of a key that exists: 400"
        );
        be.write(&WriteOp::SetJson {
            key: b("list"),
            value: b("[1, 2, 3]"),
            ttl: TtlChange::Persist,
        })
        .await
        .expect("set json");
        let deleted = be
            .write(&WriteOp::Delete {
                keys: vec![b("counter"), b("never-there")],
            })
            .await
            .expect("delete");
        assert_eq!(deleted, WriteOutcome::Done(1));
    });
    let read = laravel(
        &store,
        "echo json_encode([$cache->get('greeting'), $cache->get('user:1'),
             $cache->get('looks-like-json'), $cache->get('fresh'), $cache->get('list'),
             $cache->has('counter')]);",
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&read).expect("json"),
        serde_json::json!([
            "¡hola!",
            {"name": "Grace", "roles": ["admin", "ops"]},
            "{\"a\":2}",
            "new value",
            [1, 2, 3],
            false
        ])
    );
    // TTLs as written: 120 s for the new key, none for `forever`, the service's default (300 s)
    // for a save that did not name one.
    assert!((110..=120).contains(&redis_ttl(&redis, "fresh")));
    assert_eq!(redis_ttl(&redis, "list"), -1);
    assert!((290..=300).contains(&redis_ttl(&redis, "greeting")));
}

#[test]
fn a_ttl_change_through_the_api_keeps_the_value() {
    let (redis, store, df) = laravel_wrote();
    rt().block_on(async {
        let be = open(&df.url()).await.expect("connect");
        be.write(&WriteOp::SetTtl {
            key: b("greeting"),
            ttl: TtlChange::InMs(3_600_000),
        })
        .await
        .expect("ttl");
        be.write(&WriteOp::SetTtl {
            key: b("user:1"),
            ttl: TtlChange::Persist,
        })
        .await
        .expect("persist");
        let gone = be
            .write(&WriteOp::SetTtl {
                key: b("missing"),
                ttl: TtlChange::Persist,
            })
            .await
            .expect_err("nothing to change");
        assert!(matches!(gone, BackendError::KeyNotFound(_)), "{gone}");
    });
    assert!((3590..=3600).contains(&redis_ttl(&redis, "greeting")));
    assert_eq!(redis_ttl(&redis, "user:1"), -1);
    assert_eq!(
        laravel(
            &store,
            "echo $cache->get('greeting'), '|', $cache->get('user:1')['name'];"
        ),
        "Zoë says \"hi\"|Ada"
    );
}

#[test]
fn path_like_keys_are_stored_as_each_dreamfactory_version_stores_them() {
    for (dot, stored) in [(false, "app\x1Fusers\x1F7"), (true, "app.users.7")] {
        let redis = RedisServer::start();
        let store = Store::RedisBare { port: redis.port };
        let options = Options {
            dot_separator: dot,
            ..Options::default()
        };
        let df = DreamFactory::start(&store, "cache", KEY, &options);
        rt().block_on(async {
            let be = open(&df.url()).await.expect("connect");
            be.write(&WriteOp::Create {
                key: b("app/users/7"),
                value: NewValue::String(b("seven")),
                ttl: TtlChange::Persist,
            })
            .await
            .expect("create");
            assert_eq!(&value(be.as_ref(), "app/users/7").await[..], b"seven");
            // Spaces, `?`, `#`, `%` and non-ASCII travel escaped and arrive as typed.
            be.write(&WriteOp::Create {
                key: b("odd key?#%ü"),
                value: NewValue::String(b("odd")),
                ttl: TtlChange::Persist,
            })
            .await
            .expect("create odd");
            for bad in ["/lead", "trail/", "a//b", "a/../b", "."] {
                let err = be
                    .write(&WriteOp::Create {
                        key: b(bad),
                        value: NewValue::String(b("x")),
                        ttl: TtlChange::Keep,
                    })
                    .await
                    .expect_err(bad);
                assert!(matches!(err, BackendError::Invalid(_)), "{bad}: {err}");
            }
        });
        let mut conn = redis.conn();
        let got: Option<Vec<u8>> = redis::cmd("GET").arg(stored).query(&mut conn).expect("get");
        assert!(got.is_some(), "`{}` holds the value", stored.escape_debug());
        let odd: Option<Vec<u8>> = redis::cmd("GET")
            .arg("odd key?#%ü")
            .query(&mut conn)
            .expect("get");
        assert!(odd.is_some(), "the odd key arrived as typed");
    }
}

#[test]
fn each_failure_says_what_happened_and_what_to_do() {
    let redis = RedisServer::start();
    let store = Store::RedisBare { port: redis.port };
    let df = DreamFactory::start(&store, "cache", KEY, &Options::default());
    rt().block_on(async {
        let wrong_key = format!(
            "dreamfactory+http://:not-the-key@127.0.0.1:{}/api/v2/cache",
            df.port
        );
        let err = open(&wrong_key).await.err().expect("refused");
        assert!(matches!(err, BackendError::Auth { .. }), "{err}");
        let text = err.to_string();
        assert!(text.contains("401") && text.contains("API key"), "{text}");
        assert!(
            !text.contains("not-the-key"),
            "the key is never quoted: {text}"
        );

        let no_key = format!("dreamfactory+http://127.0.0.1:{}/api/v2/cache", df.port);
        let err = open(&no_key).await.err().expect("refused");
        assert!(err.to_string().contains("401"), "{err}");

        let wrong_service = format!(
            "dreamfactory+http://:{KEY}@127.0.0.1:{}/api/v2/nocache",
            df.port
        );
        let err = open(&wrong_service).await.err().expect("no such service");
        assert!(err.to_string().contains("service name"), "{err}");

        // Nothing listening: a connection error; a server that never answers: a timeout.
        let port = common::free_port();
        let err = open(&format!(
            "dreamfactory+http://:{KEY}@127.0.0.1:{port}/api/v2/cache"
        ))
        .await
        .err()
        .expect("nothing there");
        assert!(matches!(err, BackendError::Connect { .. }), "{err}");
        let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let silent_port = silent.local_addr().expect("addr").port();
        let started = std::time::Instant::now();
        let err = open(&format!(
            "dreamfactory+http://:{KEY}@127.0.0.1:{silent_port}/api/v2/cache?timeout_ms=700"
        ))
        .await
        .err()
        .expect("no answer");
        assert!(matches!(err, BackendError::Timeout { .. }), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
        drop(silent);

        // A value DreamFactory would refuse is refused before it is sent.
        let be = open(&df.url()).await.expect("connect");
        for refused in ["", "0"] {
            let err = be
                .write(&WriteOp::SetString {
                    key: b("k"),
                    value: b(refused),
                    ttl: TtlChange::Keep,
                    expect: Expect::Any,
                })
                .await
                .expect_err("refused");
            assert!(matches!(err, BackendError::Invalid(_)), "{err}");
        }
        let err = be
            .write(&WriteOp::SetJson {
                key: b("k"),
                value: b("{broken"),
                ttl: TtlChange::Keep,
            })
            .await
            .expect_err("broken JSON");
        assert!(err.to_string().contains("not valid JSON"), "{err}");
        // No listing: a plain answer, never an empty list.
        let err = common::list_keys_result(be.as_ref(), "*")
            .await
            .expect_err("no listing");
        assert!(err.to_string().contains("cannot list keys"), "{err}");
    });
    // The store behind the API goes away: 503, named as such.
    drop(redis);
    rt().block_on(async {
        let be = open(&df.url()).await.expect("the API itself answers");
        let err = be.key_details(b"anything").await.expect_err("store down");
        let text = err.to_string();
        assert!(
            text.contains("503") && text.contains("unreachable"),
            "{text}"
        );
    });
}

#[test]
fn the_documented_body_form_and_an_instance_that_cannot_flush() {
    let redis = RedisServer::start();
    let store = Store::RedisBare { port: redis.port };
    let documented = DreamFactory::start(
        &store,
        "cache",
        KEY,
        &Options {
            documented_only: true,
            ..Options::default()
        },
    );
    rt().block_on(async {
        let be = open(&documented.url()).await.expect("connect");
        be.write(&WriteOp::Create {
            key: b("doc"),
            value: NewValue::String(b("first")),
            ttl: TtlChange::InMs(60_000),
        })
        .await
        .expect("create through the body form");
        be.write(&WriteOp::SetString {
            key: b("doc"),
            value: b("second"),
            ttl: TtlChange::InMs(90_000),
            expect: Expect::Value(b("first")),
        })
        .await
        .expect("replace through the body form");
        be.write(&WriteOp::FlushDb).await.expect("flush");
        assert!(be.key_details(b"doc").await.is_err(), "flushed");
        be.write(&WriteOp::SetJson {
            key: b("doc"),
            value: b(r#"{"x": 1}"#),
            ttl: TtlChange::InMs(90_000),
        })
        .await
        .expect("json through the body form");
    });
    assert_eq!(
        laravel(&store, "echo json_encode($cache->get('doc'));"),
        r#"{"x":1}"#
    );
    assert!((80..=90).contains(&redis_ttl(&redis, "doc")));

    let old = DreamFactory::start(
        &store,
        "cache",
        KEY,
        &Options {
            no_flush: true,
            ..Options::default()
        },
    );
    rt().block_on(async {
        let be = open(&old.url()).await.expect("connect");
        let err = be.write(&WriteOp::FlushDb).await.expect_err("cannot flush");
        assert!(
            err.to_string().contains("cannot flush through its API"),
            "{err}"
        );
    });
    assert_eq!(
        laravel(&store, "echo $cache->has('doc') ? 'kept' : 'gone';"),
        "kept"
    );
}

#[test]
fn memcached_and_file_stores_behind_the_api() {
    let memcached = MemcachedServer::start();
    let dir = tempfile::tempdir().expect("dir");
    for store in [
        Store::Memcached {
            port: memcached.port,
        },
        Store::File(dir.path().to_path_buf()),
    ] {
        let df = DreamFactory::start(&store, "files", KEY, &Options::default());
        let wrote = laravel(
            &store,
            "$cache->put('shared', ['from' => 'laravel', 'n' => 7], 600);",
        );
        assert_eq!(wrote, "");
        rt().block_on(async {
            let be = open(&df.url()).await.expect("connect");
            let got: serde_json::Value =
                serde_json::from_slice(&value(be.as_ref(), "shared").await).expect("json");
            assert_eq!(
                got,
                serde_json::json!({"from": "laravel", "n": 7}),
                "{store:?}"
            );
            be.write(&WriteOp::SetString {
                key: b("shared"),
                value: b(r#"{"from":"console","n":8}"#),
                ttl: TtlChange::InMs(600_000),
                expect: Expect::Any,
            })
            .await
            .expect("save");
            be.write(&WriteOp::FlushDb).await.expect("flush");
            be.write(&WriteOp::Create {
                key: b("after"),
                value: NewValue::String(b("flush")),
                ttl: TtlChange::Keep,
            })
            .await
            .expect("create");
        });
        assert_eq!(
            laravel(
                &store,
                "echo json_encode([$cache->has('shared'), $cache->get('after')]);"
            ),
            r#"[false,"flush"]"#,
            "{store:?}"
        );
    }
}

#[test]
fn secrets_never_reach_a_message_or_the_url() {
    let (spec, key) =
        parse_url("dreamfactory+https://:p4ss-k3y@df.example/api/v2/cache").expect("url");
    assert_eq!(key, Some(Secret::new("p4ss-k3y")));
    assert!(!spec.display_url().contains("p4ss"));
    assert!(!format!("{spec:?}").contains("p4ss"));
}

#[test]
fn discovery_lists_cache_services_and_their_direct_profiles() {
    let redis = RedisServer::start();
    let store = Store::RedisBare { port: redis.port };
    let services = serde_json::json!([
        {"id": 1, "name": "system", "label": "System", "type": "system", "config": {}},
        {"id": 5, "name": "cache", "label": "App cache", "type": "cache_redis",
         "config": {"host": "127.0.0.1", "port": redis.port, "database_index": 0,
                    "password": "**********", "default_ttl": 300}},
        {"id": 6, "name": "mc", "label": "Sessions", "type": "cache_memcached",
         "config": {"host": "10.0.0.9", "port": "11212"}},
        {"id": 7, "name": "local", "label": "Local", "type": "cache_local",
         "config": {"store": "file"}},
        {"id": 8, "name": "db", "label": "MySQL", "type": "mysql", "config": {}}
    ]);
    let options = Options {
        admin: Some(("admin-t0ken".to_owned(), services)),
        ..Options::default()
    };
    let df = DreamFactory::start(&store, "cache", KEY, &options);
    let cfg = common::config_dir();
    // Without the admin token: refused, and said why.
    let out = common::cli(cfg.path())
        .args([
            "profiles",
            "discover",
            &format!("dreamfactory+{}", df.base()),
        ])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("session token"), "{err}");

    let url = format!(
        "dreamfactory+{}?session_token=${{CC_TEST_DF_TOKEN}}",
        df.base()
    );
    let out = common::cli(cfg.path())
        .env("CC_TEST_DF_TOKEN", "admin-t0ken")
        .args(["profiles", "discover", &url, "--add", "--group", "df"])
        .output()
        .expect("run");
    let listed = common::ok(&out);
    assert!(!listed.contains("admin-t0ken"), "{listed}");
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 3, "only the cache services: {listed}");
    assert!(lines[0].starts_with("cache\tcache_redis\tdreamfactory+http://127.0.0.1:"));
    assert!(
        lines[0].ends_with(&format!("redis://127.0.0.1:{}/0", redis.port)),
        "{listed}"
    );
    assert!(lines[1].ends_with("memcached://10.0.0.9:11212"), "{listed}");
    assert!(
        lines[2].ends_with("\t-"),
        "a local cache has no direct profile: {listed}"
    );

    let profiles = common::ok(
        &common::cli(cfg.path())
            .args(["profiles", "list"])
            .output()
            .expect("list"),
    );
    for name in ["cache", "cache (direct)", "mc", "mc (direct)", "local"] {
        assert!(
            profiles
                .lines()
                .any(|l| l.starts_with(&format!("{name}\t")) && l.contains("group df")),
            "{name}: {profiles}"
        );
    }
    // The direct profile reads what the API wrote: no prefix, PHP-serialized, numbers raw.
    let wrote = laravel(
        &store,
        "$cache->forever('visits', 12); $cache->forever('who', ['ada']);",
    );
    assert_eq!(wrote, "");
    rt().block_on(async {
        let direct = common::open_url(&format!("redis://127.0.0.1:{}/0", redis.port)).await;
        let keys = common::list_keys(direct.as_ref(), "*").await;
        assert!(keys.contains(&b"visits".to_vec()) && keys.contains(&b"who".to_vec()));
        let raw = direct
            .read_string_range(b"visits", 0, 100)
            .await
            .expect("raw");
        assert_eq!(&raw[..], b"12", "a number is stored raw");
        let who = direct.read_string_range(b"who", 0, 100).await.expect("who");
        let decoded = cache_console::core::decode::detect(&who, None)
            .expect("detected")
            .expect("decoded");
        assert_eq!(
            cache_console::core::decode::to_json(&decoded.node),
            serde_json::json!(["ada"])
        );
    });
}

#[test]
fn the_command_line_speaks_to_the_api() {
    let redis = RedisServer::start();
    let store = Store::RedisBare { port: redis.port };
    let df = DreamFactory::start(&store, "cache", KEY, &Options::default());
    let cfg = common::config_dir();
    let url = format!(
        "dreamfactory+http://:${{CC_TEST_DF_KEY}}@127.0.0.1:{}/api/v2/cache",
        df.port
    );
    let run = |args: &[&str]| {
        common::cli(cfg.path())
            .env("CC_TEST_DF_KEY", KEY)
            .args(args)
            .output()
            .expect("run")
    };
    common::ok(&run(&[
        "set",
        &url,
        "plain",
        r#"{"not":"json"}"#,
        "--ttl",
        "5m",
    ]));
    common::ok(&run(&[
        "set",
        &url,
        "structured",
        r#"{"a":[1,2]}"#,
        "--json",
    ]));
    let bad = run(&["set", &url, "broken", "{oops", "--json"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not valid JSON"));
    assert_eq!(
        common::ok(&run(&["get", &url, "plain"])),
        r#"{"not":"json"}"#
    );
    assert_eq!(
        laravel(
            &store,
            "echo json_encode([$cache->get('plain'), $cache->get('structured')]);"
        ),
        r#"["{\"not\":\"json\"}",{"a":[1,2]}]"#,
        "a string stays a string; --json stores the structure"
    );
    assert!((290..=300).contains(&redis_ttl(&redis, "plain")));
    let keys = run(&["keys", &url]);
    assert!(!keys.status.success(), "keys cannot be listed");
    assert!(String::from_utf8_lossy(&keys.stderr).contains("cannot list keys"));
    assert_eq!(
        common::ok(&run(&["del", &url, "plain", "gone"])).trim(),
        "1"
    );
    let flush = run(&["flush", &url]);
    assert!(!flush.status.success(), "a flush needs --yes");
    common::ok(&run(&["flush", &url, "--yes"]));
    assert_eq!(
        laravel(&store, "echo $cache->has('structured') ? 'kept' : 'gone';"),
        "gone"
    );
}

/// Connects profile `df`, typing the API key into the dialog that asks for it.
fn connect_with_key(h: &mut egui_kittest::Harness<'static, cache_console::ui::App>) {
    use egui_kittest::kittest::Queryable as _;
    h.state_mut().state.connect_profile("df");
    common::ui::run_until(h, "the API key dialog", |app| {
        app.state.password_prompt.is_some()
    });
    assert!(h.query_by_label("API key for df").is_some());
    h.get_by_label("API key").type_text(KEY);
    h.run_steps(1);
    h.get_by_label("Connect").click();
    common::ui::run_until(h, "the connection", |app| {
        app.state
            .active_session()
            .is_some_and(|s| s.capabilities.is_some())
    });
}

/// The app on a DreamFactory profile, as a user drives it: the API key asked for (never
/// saved), no listing but an "Open key" field, a key opened by name, edited and saved; the
/// keys opened stay listed; Laravel reads back what was saved.
#[test]
fn the_app_opens_keys_by_name_and_saves_through_the_api() {
    use cache_console::config::connection::PasswordSource;
    use cache_console::config::profiles::{Profile, ProfileStore};
    use cache_console::state::{AppState, ViewerState};
    use common::ui::{harness, run_until, wait_value};
    use egui_kittest::kittest::Queryable as _;

    let redis = RedisServer::start();
    let store = Store::RedisBare { port: redis.port };
    let df = DreamFactory::start(&store, "cache", KEY, &Options::default());
    let wrote = laravel(
        &store,
        "$cache->put('greeting', 'hello from Laravel', 600);
         $cache->put('user:1', ['name' => 'Ada', 'visits' => 3], 600);",
    );
    assert_eq!(wrote, "");
    let cfg = common::config_dir();
    let profiles = || {
        let mut profiles = ProfileStore::empty_in(cfg.path());
        let (mut spec, _) = parse_url(&format!(
            "dreamfactory+http://127.0.0.1:{}/api/v2/cache",
            df.port
        ))
        .expect("url");
        spec.set_password_source(PasswordSource::Prompt);
        profiles.add(Profile::new("df", spec)).expect("add");
        profiles
    };
    let mut h = harness(AppState::new(profiles(), None));
    h.run_steps(1);
    connect_with_key(&mut h);
    assert!(h.query_by_label_contains("cannot list keys").is_some());
    for absent in ["Pattern", "Delete by pattern...", "Metrics", "Server info"] {
        assert!(
            h.query_by_label(absent).is_none(),
            "nothing behind `{absent}` here"
        );
    }

    for key in ["user:1", "greeting"] {
        common::ui::replace_text(&mut h, "Open key", key);
        h.get_by_label("Open").click();
        run_until(&mut h, "the value", |app| {
            app.state
                .active_session()
                .and_then(|s| s.viewer.as_ref())
                .is_some_and(|v| v.state == ViewerState::Loaded && &v.key[..] == key.as_bytes())
        });
    }
    assert!(h.query_by_label_contains("hello from Laravel").is_some());
    // Both keys opened are listed, each a row.
    assert!(h.query_all_by_label("user:1").count() >= 1);

    h.get_by_label("Edit raw").click();
    h.run_steps(2);
    let editor = h.get_by_role(egui::accesskit::Role::MultilineTextInput);
    editor.focus();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_role(egui::accesskit::Role::MultilineTextInput)
        .type_text("hello from the console");
    h.run_steps(2);
    h.get_by_label("Save").click();
    wait_value(&mut h);
    run_until(&mut h, "the save", |app| {
        app.state
            .active_session()
            .and_then(|s| s.viewer.as_ref())
            .is_some_and(|v| v.editor.is_none() && v.state == ViewerState::Loaded)
    });
    assert_eq!(
        laravel(&store, "echo $cache->get('greeting');"),
        "hello from the console"
    );
    let saved = std::fs::read_to_string(cfg.path().join("profiles.ron")).unwrap_or_default();
    assert!(!saved.contains(KEY), "the API key is never saved");

    // The keys opened are the history the next run starts with.
    let window = h.state().state.ui_snapshot();
    assert_eq!(
        window.opened_keys.get("df"),
        Some(&vec!["user:1".to_owned(), "greeting".to_owned()])
    );
    let mut again = AppState::new(profiles(), None);
    again.restore_ui(&window);
    let mut h = harness(again);
    h.run_steps(1);
    connect_with_key(&mut h);
    run_until(&mut h, "the history's rows", |app| {
        app.state
            .active_session()
            .is_some_and(|s| s.browser.opened_history() == ["user:1", "greeting"])
    });
    assert!(h.query_by_label("greeting").is_some());
}

/// The profile form of a DreamFactory service: its URL and key, Test connection, and
/// *Discover services* with an admin's token typed there (never saved), each found service
/// added as a profile through the API and straight to its Redis.
#[test]
fn the_form_tests_the_api_and_discovers_its_services() {
    use egui_kittest::kittest::Queryable as _;
    let redis = RedisServer::start();
    let store = Store::RedisBare { port: redis.port };
    let services = serde_json::json!([
        {"name": "cache", "label": "App cache", "type": "cache_redis",
         "config": {"host": "127.0.0.1", "port": redis.port, "database_index": 0}}
    ]);
    let df = DreamFactory::start(
        &store,
        "cache",
        KEY,
        &Options {
            admin: Some(("t0ken-typed".to_owned(), services)),
            ..Options::default()
        },
    );
    let cfg = common::config_dir();
    let state = cache_console::state::AppState::new(
        cache_console::config::profiles::ProfileStore::empty_in(cfg.path()),
        None,
    );
    let mut h = common::ui::harness(state);
    h.run_steps(2);
    h.get_by_label("New profile").click();
    h.run_steps(2);
    common::ui::replace_text(&mut h, "Name", "df api");
    h.get_by_label("DreamFactory cache API").click();
    h.run_steps(2);
    let url = format!("dreamfactory+http://127.0.0.1:{}/api/v2/cache", df.port);
    common::ui::replace_text(&mut h, "Service URL", &url);
    h.get_by_label("Ask when connecting").click();
    h.run_steps(2);
    // A password field shows dots: typed, not read back.
    h.get_by_label("API key (this session)").focus();
    h.run_steps(1);
    h.get_by_label("API key (this session)").type_text(KEY);
    h.run_steps(2);
    h.get_by_label("Test connection").click();
    common::ui::wait_tested(&mut h);
    assert!(
        h.query_by_label_contains("DreamFactory cache API at")
            .is_some(),
        "{:?}",
        h.state().state.form.as_ref().map(|f| &f.test)
    );
    h.get_by_label("Admin session token").focus();
    h.run_steps(1);
    h.get_by_label("Admin session token")
        .type_text("t0ken-typed");
    h.run_steps(2);
    h.get_by_label("Discover services").click();
    common::ui::run_until(&mut h, "the services", |app| {
        app.state
            .form
            .as_ref()
            .is_some_and(|f| matches!(f.discovery, cache_console::state::Discovery::Found(_)))
    });
    h.get_by_label("Add API profile").click();
    h.run_steps(2);
    h.get_by_label("Add direct profile").click();
    h.run_steps(2);
    let profiles = &h.state().state.profiles;
    let api = profiles.get("cache").expect("the API profile");
    assert!(
        api.connection
            .display_url()
            .starts_with("dreamfactory+http://")
    );
    assert_eq!(
        profiles
            .get("cache (direct)")
            .expect("the direct profile")
            .connection
            .display_url(),
        format!("redis://127.0.0.1:{}/0", redis.port)
    );
    h.get_by_label("Save").click();
    h.run_steps(3);
    common::ui::run_until(&mut h, "the profiles saved", |_| {
        std::fs::read_to_string(cfg.path().join("profiles.ron"))
            .is_ok_and(|s| s.contains("df api") && s.contains("(direct)"))
    });
    let saved = std::fs::read_to_string(cfg.path().join("profiles.ron")).expect("saved");
    assert!(!saved.contains(KEY) && !saved.contains("t0ken"), "{saved}");
}

/// Serves TLS on a free port with `pki`'s server certificate, carrying each connection to
/// `backend_port` in plain TCP (a TLS-terminating front, as DreamFactory usually sits behind);
/// its port.
async fn tls_front(pki: &common::tls::Pki, backend_port: u16) -> u16 {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(pki.path("server.pem"))
        .expect("cert file")
        .collect::<Result<_, _>>()
        .expect("certs");
    let key = PrivateKeyDer::from_pem_file(pki.path("server.key")).expect("key");
    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return; // a client that refused our certificate
                };
                let Ok(mut plain) =
                    tokio::net::TcpStream::connect(("127.0.0.1", backend_port)).await
                else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    port
}

/// HTTPS: the certificate is checked (the system's roots, or the profile's CA file), and a
/// certificate that is not trusted or not for the host is refused, said as such.
#[test]
fn https_checks_the_certificate() {
    let redis = RedisServer::start();
    let store = Store::RedisBare { port: redis.port };
    let df = DreamFactory::start(&store, "cache", KEY, &Options::default());
    let pki = common::tls::Pki::for_names(&["localhost"]);
    assert_eq!(laravel(&store, "$cache->put('over-tls', 'yes', 600);"), "");
    rt().block_on(async {
        let port = tls_front(&pki, df.port).await;
        let ca = pki.path("ca.pem");
        let trusted = format!(
            "dreamfactory+https://:{KEY}@localhost:{port}/api/v2/cache?ca_file={}",
            ca.display()
        );
        let be = open(&trusted).await.expect("trusted through the CA file");
        assert_eq!(&value(be.as_ref(), "over-tls").await[..], b"yes");

        let untrusted = format!("dreamfactory+https://:{KEY}@localhost:{port}/api/v2/cache");
        let text = open(&untrusted)
            .await
            .err()
            .expect("not trusted")
            .to_string();
        assert!(
            text.contains("TLS certificate")
                && text.contains("ca_file")
                && text.contains("UnknownIssuer"),
            "{text}"
        );

        let wrong_name = format!(
            "dreamfactory+https://:{KEY}@127.0.0.1:{port}/api/v2/cache?ca_file={}",
            ca.display()
        );
        let text = open(&wrong_name)
            .await
            .err()
            .expect("not for this host")
            .to_string();
        assert!(
            text.contains("TLS certificate") && text.contains("not valid for name"),
            "{text}"
        );
    });
}

/// A web server at the address that is not DreamFactory (a wrong URL, a proxy's error page):
/// said as such when connecting, never taken for a cache; a proxy's 502 says where to look.
#[test]
fn an_address_that_is_not_dreamfactory_is_said_to_be_so() {
    use std::io::{Read as _, Write as _};
    // Answers every request with `status` and an HTML page, as a web server or proxy does.
    let serve = |status: &'static str| {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                let body = "<html><body><h1>Welcome to nginx!</h1></body></html>";
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        port
    };
    rt().block_on(async {
        for status in ["200 OK", "404 Not Found"] {
            let port = serve(status);
            let err = open(&format!(
                "dreamfactory+http://:{KEY}@127.0.0.1:{port}/api/v2/cache"
            ))
            .await
            .err()
            .expect("not DreamFactory");
            let text = err.to_string();
            assert!(
                text.contains("did not answer as DreamFactory does") && text.contains("web page"),
                "{status}: {text}"
            );
        }
        let port = serve("502 Bad Gateway");
        let text = open(&format!(
            "dreamfactory+http://:{KEY}@127.0.0.1:{port}/api/v2/cache"
        ))
        .await
        .err()
        .expect("a gateway error")
        .to_string();
        assert!(text.contains("502") && text.contains("PHP-FPM"), "{text}");
    });
}
