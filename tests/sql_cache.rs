//! Database caches: a Laravel-style `cache` table in SQLite (temp file), PostgreSQL and
//! MariaDB (each test creates its own database on the local server and drops it).
#![allow(
    clippy::too_many_lines,
    reason = "each test reads as one user story, start to end"
)]

mod common;

use cache_console::backend::{self, CacheBackend, ConnectOptions};
use cache_console::config::connection::parse_url;
use cache_console::core::model::{Expect, Ttl, TtlChange, WriteOp, WriteOutcome};
use common::b;
use sqlx::Row as _;

fn q(sql: String) -> sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments> {
    sqlx::query(sqlx::AssertSqlSafe(sql))
}

async fn exec(pool: &sqlx::AnyPool, sql: &str) {
    q(sql.to_owned())
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn list(be: &dyn CacheBackend, pattern: &str) -> Vec<String> {
    let mut keys: Vec<String> = common::list_keys(be, pattern)
        .await
        .iter()
        .map(|k| String::from_utf8_lossy(k).into_owned())
        .collect();
    keys.sort();
    keys
}

/// The same checks on every dialect: patterns with LIKE specials, TTLs, conflicts, purge,
/// flush leaving other tables alone.
async fn suite(pool: &sqlx::AnyPool, url: &str, quote: char) {
    let id = |n: &str| format!("{quote}{n}{quote}");
    let now = i64::try_from(cache_console::core::ttl::now_unix_ms() / 1000).expect("now");
    let value = String::from_utf8(common::php("echo serialize(['name' => 'Ada']);")).expect("utf8");
    let rows: Vec<(&str, String, i64)> = vec![
        ("user:1", value.clone(), now + 600),
        ("User:2", "x".to_owned(), now + 600),
        ("100%_off", "y".to_owned(), now + 600),
        ("a_b", "1".to_owned(), now + 600),
        ("aXb", "2".to_owned(), now + 600),
        ("a*b", "3".to_owned(), now + 600),
        ("old", "gone".to_owned(), now - 5),
        ("forever", "f".to_owned(), now + 315_360_000),
    ];
    for (k, v, e) in &rows {
        q(format!(
            "INSERT INTO {} ({}, {}, {}) VALUES ('{k}', '{}', {e})",
            id("cache"),
            id("key"),
            id("value"),
            id("expiration"),
            v.replace('\'', "''")
        ))
        .execute(pool)
        .await
        .expect("insert");
    }
    exec(
        pool,
        &format!(
            "INSERT INTO {} ({}) VALUES ('keep me')",
            id("sessions"),
            id("note")
        ),
    )
    .await;

    let (spec, _) = parse_url(url).expect("url");
    let be = backend::connect(&spec, None, &ConnectOptions::default())
        .await
        .expect("connect");
    assert!(be.capabilities().purge_expired);
    assert_eq!(be.key_count().await.expect("count"), 8);
    // Live metrics: entries, the one expired row, and the bytes of every value.
    let stats = be.stats().await.expect("stats");
    assert_eq!(stats.len(), 1);
    let s = &stats[0].1;
    assert_eq!(s.keys, Some(8));
    assert_eq!(s.expired_entries, Some(1));
    let bytes: usize = rows.iter().map(|(_, v, _)| v.len()).sum();
    assert_eq!(s.total_size, Some(bytes as u64));
    // Exactly Redis glob semantics, whatever LIKE and the collation would say.
    assert_eq!(list(be.as_ref(), "a_b").await, ["a_b"]);
    assert_eq!(list(be.as_ref(), "a?b").await, ["a*b", "aXb", "a_b"]);
    assert_eq!(list(be.as_ref(), "a\\*b").await, ["a*b"]);
    assert_eq!(list(be.as_ref(), "100%*").await, ["100%_off"]);
    assert_eq!(
        list(be.as_ref(), "user:*").await,
        ["user:1"],
        "case-sensitive like Redis"
    );
    assert_eq!(list(be.as_ref(), "[uU]ser:*").await, ["User:2", "user:1"]);
    assert_eq!(list(be.as_ref(), "*").await.len(), 8);

    let meta = be
        .key_meta(&[b("old"), b("forever"), b("user:1")])
        .await
        .expect("meta");
    assert_eq!(
        meta[0].as_ref().map(|m| m.ttl),
        Some(Ttl::ExpiresInMs(0)),
        "expired rows show as expired"
    );
    assert_eq!(meta[1].as_ref().map(|m| m.ttl), Some(Ttl::Persistent));
    let details = be.key_details(b"user:1").await.expect("details");
    assert_eq!(details.length, value.len() as u64);
    let expiration = details
        .extra
        .iter()
        .find(|(name, _)| name == "Expiration")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    assert!(
        expiration.contains(" UTC (in "),
        "a date and how far off it is, not a raw epoch: {expiration}"
    );

    // TTL edits rewrite the expiration; an edit keeps it; a concurrent change is a conflict.
    be.write(&WriteOp::SetTtl {
        key: b("user:1"),
        ttl: TtlChange::InMs(7_200_000),
    })
    .await
    .expect("ttl");
    let op = WriteOp::SetString {
        key: b("user:1"),
        value: b("new"),
        ttl: TtlChange::Keep,
        expect: Expect::Value(b(&value)),
    };
    assert_eq!(be.write(&op).await.expect("set"), WriteOutcome::Done(1));
    assert_eq!(
        be.write(&op).await.expect("stale set"),
        WriteOutcome::Conflict
    );
    let row = q(format!(
        "SELECT {}, {} FROM {} WHERE {} = 'user:1'",
        id("value"),
        id("expiration"),
        id("cache"),
        id("key")
    ))
    .fetch_one(pool)
    .await
    .expect("row");
    let (v, e): (String, i64) = (row.try_get(0).expect("v"), row.try_get(1).expect("e"));
    assert_eq!(v, "new");
    assert!((now + 7_190..=now + 7_205).contains(&e), "{e}");

    // Rename refuses a taken name; undo of a delete restores value and expiration.
    let rename = WriteOp::Rename {
        from: b("aXb"),
        to: b("a_b"),
        overwrite: false,
    };
    assert_eq!(
        be.write(&rename).await.expect("rename"),
        WriteOutcome::TargetExists
    );
    let (saved, deleted) = common::delete_saved(be.as_ref(), &[b("User:2")]).await;
    assert_eq!(deleted, WriteOutcome::Done(1));
    be.write(&WriteOp::Restore { keys: saved })
        .await
        .expect("restore");
    assert_eq!(list(be.as_ref(), "User:*").await, ["User:2"]);

    assert_eq!(
        be.write(&WriteOp::PurgeExpired).await.expect("purge"),
        WriteOutcome::Done(1)
    );
    assert!(list(be.as_ref(), "old").await.is_empty());
    be.write(&WriteOp::FlushDb).await.expect("flush");
    assert_eq!(be.key_count().await.expect("count"), 0);
    let row = q(format!("SELECT COUNT(*) FROM {}", id("sessions")))
        .fetch_one(pool)
        .await
        .expect("count");
    let other: i64 = row.try_get(0).expect("n");
    assert_eq!(other, 1, "other tables are untouched");

    // A missing table is a clear error.
    let missing = url.replace("table=cache", "table=nope");
    let (spec, _) = parse_url(&missing).expect("url");
    let err = backend::connect(&spec, None, &ConnectOptions::default())
        .await
        .err()
        .expect("missing table");
    assert!(err.to_string().contains("table `nope`"), "{err}");
}

#[tokio::test]
async fn sqlite_cache_tables() {
    sqlx::any::install_default_drivers();
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("cache.sqlite");
    let create = format!("sqlite://{}?mode=rwc", path.display());
    let pool = sqlx::AnyPool::connect(&create).await.expect("sqlite");
    exec(&pool, "CREATE TABLE \"cache\" (\"key\" varchar NOT NULL PRIMARY KEY, \"value\" text NOT NULL, \"expiration\" integer NOT NULL)").await;
    exec(&pool, "CREATE TABLE \"sessions\" (\"note\" text)").await;
    suite(
        &pool,
        &format!("sqlite://{}?table=cache", path.display()),
        '"',
    )
    .await;
}

/// Runs the suite in a database of its own on a server the test command started, then
/// drops that database: nothing this test did not create is touched.
async fn server_suite(env_var: &str, default_url: &str, quote: char, value_type: &str) {
    let db = common::OwnDatabase::create(env_var, default_url).await;
    let (pool, base) = (db.pool().await, db.base.clone());
    let q = |name: &str| format!("{quote}{name}{quote}");
    exec(
        &pool,
        &format!(
            "CREATE TABLE {} ({} varchar(255) PRIMARY KEY, {} {value_type} NOT NULL, {} integer NOT NULL)",
            q("cache"),
            q("key"),
            q("value"),
            q("expiration")
        ),
    )
    .await;
    exec(
        &pool,
        &format!("CREATE TABLE {} ({} text)", q("sessions"), q("note")),
    )
    .await;
    suite(&pool, &format!("{base}/{db}?table=cache"), quote).await;
    pool.close().await;
}

#[tokio::test]
async fn postgres_cache_tables() {
    server_suite(
        "CC_TEST_PG_URL",
        "postgres://postgres@127.0.0.1:5432/postgres",
        '"',
        "text",
    )
    .await;
}

#[tokio::test]
async fn mariadb_cache_tables() {
    server_suite(
        "CC_TEST_MYSQL_URL",
        "mysql://root@127.0.0.1:3306/mysql",
        '`',
        "mediumtext",
    )
    .await;
}

const MYSQL: (&str, &str) = ("CC_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/mysql");
const PG: (&str, &str) = (
    "CC_TEST_PG_URL",
    "postgres://postgres@127.0.0.1:5432/postgres",
);

#[tokio::test]
async fn keys_compare_byte_exactly_under_a_case_and_accent_insensitive_collation() {
    let db = common::OwnDatabase::create(MYSQL.0, MYSQL.1).await;
    let (pool, base) = (db.pool().await, db.base.clone());
    exec(
        &pool,
        "CREATE TABLE `cache` (`key` varchar(255) NOT NULL PRIMARY KEY, `value` mediumtext NOT NULL, \
         `expiration` int NOT NULL) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
    )
    .await;
    exec(
        &pool,
        "INSERT INTO `cache` VALUES ('CaseKey', 'original', 1999999999), ('café', 'accent', 1999999999)",
    )
    .await;
    let cfg = common::config_dir();
    let url = format!("{base}/{db}?table=cache");
    let run = |args: &[&str]| common::cli(cfg.path()).args(args).output().expect("run");
    for (key, what) in [
        ("casekey", "another case"),
        ("CASEKEY", "another case"),
        ("casekey ", "a trailing space"),
        ("cafe", "no accent"),
    ] {
        let out = run(&["get", &url, key]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "get `{key}` ({what}) found a different key"
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
        let out = run(&["del", &url, key]);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "0",
            "del `{key}`"
        );
        let out = run(&["ttl", &url, key, "1h"]);
        assert_eq!(out.status.code(), Some(1), "ttl `{key}`");
    }
    let out = run(&["set", &url, "CASEKEY", "overwritten?"]);
    assert_eq!(out.status.code(), Some(1), "a set may not land on CaseKey");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("collation"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let row = q("SELECT `value`, `expiration` FROM `cache` WHERE BINARY `key` = 'CaseKey'".into())
        .fetch_one(&pool)
        .await
        .expect("row");
    let (v, e): (String, i64) = (row.try_get(0).expect("v"), row.try_get(1).expect("e"));
    assert_eq!(
        (v.as_str(), e),
        ("original", 1_999_999_999),
        "CaseKey untouched"
    );
    let out = run(&["get", &url, "café"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "accent");
    let out = run(&["keys", &url]);
    let mut listed: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    listed.sort();
    assert_eq!(listed, ["CaseKey", "café"]);
    let out = run(&["del", &url, "CaseKey"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1");
    pool.close().await;
}

#[tokio::test]
async fn postgres_connections_use_tls_when_the_server_offers_it() {
    let db = common::OwnDatabase::create(PG.0, PG.1).await;
    let (pool, base) = (db.pool().await, db.base.clone());
    let ssl: String = q("SHOW ssl".into())
        .fetch_one(&pool)
        .await
        .expect("show ssl")
        .try_get(0)
        .expect("ssl");
    assert_eq!(
        ssl, "on",
        "this test needs a PostgreSQL with TLS on (scripts/test.sh installs one so)"
    );
    exec(
        &pool,
        "CREATE TABLE cache (key varchar(255) PRIMARY KEY, value text NOT NULL, expiration integer NOT NULL)",
    )
    .await;
    for url in [
        format!("{base}/{db}?table=cache"),
        format!("{base}/{db}?sslmode=require&table=cache"),
    ] {
        let be = common::open_url(&url).await;
        assert_eq!(be.key_count().await.expect("count"), 0, "{url}");
        let row = q(format!(
            "SELECT bool_and(s.ssl)::text, count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a \
             USING (pid) WHERE a.datname = '{db}' AND a.pid <> pg_backend_pid() \
             AND a.backend_type = 'client backend'"
        ))
        .fetch_one(&pool)
        .await
        .expect("pg_stat_ssl");
        let (all_tls, n): (Option<String>, i64) =
            (row.try_get(0).expect("ssl"), row.try_get(1).expect("n"));
        assert!(n >= 1, "the console's connection is seen");
        assert_eq!(
            all_tls.as_deref(),
            Some("true"),
            "{url}: every connection uses TLS"
        );
        drop(be);
    }
    pool.close().await;
}

#[tokio::test]
async fn a_server_that_stops_answering_mid_query_times_out() {
    use common::fault::{Fault, FaultProxy};
    let db = common::OwnDatabase::create(PG.0, PG.1).await;
    let (pool, base) = (db.pool().await, db.base.clone());
    exec(
        &pool,
        "CREATE TABLE cache (key varchar(255) PRIMARY KEY, value text NOT NULL, expiration integer NOT NULL)",
    )
    .await;
    exec(&pool, "INSERT INTO cache VALUES ('k', 'v', 1999999999)").await;
    let upstream = base
        .rsplit_once('@')
        .map(|(_, hp)| hp.to_owned())
        .expect("host:port");
    let proxy = FaultProxy::start(&upstream);
    let user = base
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .map(|(u, _)| u.to_owned())
        .expect("user");
    let url = format!(
        "postgres://{user}@127.0.0.1:{}/{db}?sslmode=disable&table=cache&command_timeout_ms=800",
        proxy.port()
    );
    let be = common::open_url(&url).await;
    assert_eq!(be.key_count().await.expect("count"), 1);
    proxy.set(Fault::Stall);
    let started = std::time::Instant::now();
    let err = be.key_count().await.expect_err("stalled");
    assert!(err.to_string().contains("800 ms"), "{err}");
    let err = common::list_keys_result(be.as_ref(), "*")
        .await
        .expect_err("stalled listing");
    assert!(err.to_string().contains("800 ms"), "{err}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "it gave up"
    );
    proxy.set(Fault::Cut);
    drop(be);
    pool.close().await;
}

#[tokio::test]
async fn binary_values_and_odd_rows_in_sqlite_are_read_as_bytes() {
    sqlx::any::install_default_drivers();
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("cache.sqlite");
    let pool = sqlx::AnyPool::connect(&format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .expect("sqlite");
    exec(&pool, "CREATE TABLE cache (key varchar NOT NULL PRIMARY KEY, value text NOT NULL, expiration integer NOT NULL)").await;
    // What PHP's PDO stores for gzcompress('hello hello hello'): TEXT that is not UTF-8.
    let gz = common::php("echo gzcompress('hello hello hello');");
    let hex: String = gz.iter().fold(String::new(), |mut h, b| {
        use std::fmt::Write as _;
        let _ = write!(h, "{b:02x}");
        h
    });
    exec(
        &pool,
        &format!("INSERT INTO cache VALUES ('gz', CAST(X'{hex}' AS TEXT), 1999999999)"),
    )
    .await;
    exec(
        &pool,
        "INSERT INTO cache VALUES ('blob', X'00ff10', 1999999999)",
    )
    .await;
    exec(
        &pool,
        "INSERT INTO cache VALUES ('textexp', 'v', '1999999999')",
    )
    .await;
    exec(
        &pool,
        "INSERT INTO cache VALUES ('plain', 'text', 1999999999)",
    )
    .await;
    let url = format!("sqlite://{}?table=cache", path.display());
    let be = common::open_url(&url).await;
    let keys: Vec<bytes::Bytes> = common::list_keys(be.as_ref(), "*")
        .await
        .into_iter()
        .map(bytes::Bytes::from)
        .collect();
    assert_eq!(keys.len(), 4);
    let meta = be.key_meta(&keys).await.expect("every row's meta");
    assert!(meta.iter().all(Option::is_some), "{meta:?}");
    let cfg = common::config_dir();
    let run = |args: &[&str]| common::cli(cfg.path()).args(args).output().expect("run");
    let out = run(&["get", &url, "gz"]);
    assert_eq!(out.stdout, gz, "the value's exact bytes");
    let out = run(&["get", &url, "gz", "--decode"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "\"hello hello hello\""
    );
    let out = run(&["get", &url, "blob"]);
    assert_eq!(out.stdout, b"\x00\xff\x10");
    let out = run(&["ttl", &url, "textexp"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["keys", &url, "--count"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "4");
    // A binary value is kept through a TTL change and an undo.
    let out = run(&["ttl", &url, "gz", "2h"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(run(&["get", &url, "gz"]).stdout, gz);
    let (saved, _) = common::delete_saved(be.as_ref(), &[b("gz")]).await;
    be.write(&WriteOp::Restore { keys: saved })
        .await
        .expect("undo");
    assert_eq!(run(&["get", &url, "gz"]).stdout, gz);
}

#[tokio::test]
async fn a_refused_port_is_reported_as_refused() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let (spec, _) =
        parse_url(&format!("postgres://u@127.0.0.1:{port}/db?table=cache")).expect("url");
    let err = backend::connect(&spec, None, &ConnectOptions::default())
        .await
        .err()
        .expect("refused");
    let text = err.to_string();
    assert!(text.to_lowercase().contains("refused"), "{text}");
    assert!(!text.contains("within 0 ms"), "{text}");
}
