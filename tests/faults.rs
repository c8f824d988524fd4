//! A broken network between the console and each real server: the fault proxy stalls, cuts or
//! corrupts the stream mid-reply, and the console must answer with a clear error within its
//! timeout — never hang, never crash — and work again once the network does.

mod common;

use std::time::{Duration, Instant};

use common::fault::{Fault, FaultProxy};
use common::{MemcachedServer, RedisServer};

/// Fails the test if `f` takes far longer than the timeout it was given (a hang, not slowness).
async fn bounded<T>(what: &str, f: impl Future<Output = T>) -> T {
    let started = Instant::now();
    let out = tokio::time::timeout(Duration::from_mins(1), f)
        .await
        .unwrap_or_else(|_| panic!("{what} hung for a minute"));
    assert!(started.elapsed() < Duration::from_mins(1));
    out
}

#[tokio::test]
async fn redis_stalled_cut_or_corrupted_mid_listing() {
    let server = RedisServer::start();
    let mut c = server.conn();
    common::fill(&mut c, "k:", 5_000);
    let proxy = FaultProxy::start(&format!("127.0.0.1:{}", server.port));
    let url = format!(
        "redis://127.0.0.1:{}/0?connect_timeout_ms=1000&command_timeout_ms=700",
        proxy.port()
    );
    let be = common::open_url(&url).await;
    assert_eq!(be.key_count().await.expect("count"), 5_000);

    proxy.set(Fault::Stall);
    let err = bounded("a stalled SCAN", common::list_keys_result(be.as_ref(), "*"))
        .await
        .expect_err("stalled");
    assert!(err.to_string().contains("700 ms"), "{err}");

    proxy.set(Fault::Cut);
    let err = bounded("a cut SCAN", common::list_keys_result(be.as_ref(), "*"))
        .await
        .expect_err("cut");
    assert!(!err.to_string().is_empty());

    proxy.set(Fault::Corrupt);
    let result = bounded("a corrupted reply", be.key_count()).await;
    assert!(
        result.is_err() || result.is_ok_and(|n| n == 5_000),
        "no wrong answer"
    );

    // The network is back: the same backend works again (it reconnects by itself).
    proxy.set(Fault::Pass);
    let mut recovered = false;
    for _ in 0..20 {
        if bounded("recovery", be.key_count())
            .await
            .is_ok_and(|n| n == 5_000)
        {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(recovered, "the connection came back");
}

#[tokio::test]
async fn memcached_stalled_or_cut_mid_crawl() {
    let server = MemcachedServer::start();
    server.fill("m:", 20_000);
    let proxy = FaultProxy::start(&server.addr());
    let url = format!(
        "memcached://127.0.0.1:{}?connect_timeout_ms=1000&timeout_ms=700",
        proxy.port()
    );
    let be = common::open_url(&url).await;
    proxy.set(Fault::Stall);
    let err = bounded("a stalled get", be.key_details(b"m:1"))
        .await
        .expect_err("stalled");
    assert!(err.to_string().contains("700 ms"), "{err}");
    proxy.set(Fault::Cut);
    let result = bounded("a cut crawl", common::list_keys_result(be.as_ref(), "*")).await;
    assert!(
        result.is_err(),
        "a cut crawl is an error, not a short listing"
    );
    proxy.set(Fault::Corrupt);
    let result = bounded("a corrupted reply", be.key_details(b"m:1")).await;
    assert!(result.is_err(), "garbage is an error");
    proxy.set(Fault::Pass);
    let details = bounded("recovery", be.key_details(b"m:1"))
        .await
        .expect("works again");
    assert!(details.length > 0);
}

/// The same stall on a database connection: the statement gives up at its timeout.
async fn sql_stall(admin_env: &str, admin_default: &str, scheme_opts: &str) {
    let db = common::OwnDatabase::create(admin_env, admin_default).await;
    let admin_url = std::env::var(admin_env).unwrap_or_else(|_| admin_default.to_owned());
    let (scheme, rest) = admin_url.split_once("://").expect("scheme");
    let (user, host_db) = rest.split_once('@').expect("user");
    let (host_port, _) = host_db.split_once('/').expect("host");
    let base = format!("{scheme}://{user}@{host_port}/{db}");
    let pool = sqlx::AnyPool::connect(&base).await.expect("db");
    let quote = if scheme.starts_with("postgres") {
        "\""
    } else {
        "`"
    };
    let create = format!(
        "CREATE TABLE cache ({quote}key{quote} varchar(255) PRIMARY KEY, value text NOT NULL, \
         expiration integer NOT NULL)"
    );
    sqlx::query(sqlx::AssertSqlSafe(create))
        .execute(&pool)
        .await
        .expect("table");
    pool.close().await;
    let proxy = FaultProxy::start(host_port);
    let url = format!(
        "{scheme}://{user}@127.0.0.1:{}/{db}?{scheme_opts}table=cache&command_timeout_ms=800",
        proxy.port()
    );
    let be = common::open_url(&url).await;
    assert_eq!(be.key_count().await.expect("count"), 0);
    proxy.set(Fault::Stall);
    let err = bounded("a stalled statement", be.key_count())
        .await
        .expect_err("stalled");
    assert!(err.to_string().contains("800 ms"), "{err}");
    proxy.set(Fault::Cut);
    let err = bounded("a cut connection", be.key_count())
        .await
        .expect_err("cut");
    assert!(!err.to_string().is_empty());
    drop(be);
}

#[tokio::test]
async fn postgres_stalled_or_cut_mid_statement() {
    sql_stall(
        "CC_TEST_PG_URL",
        "postgres://postgres@127.0.0.1:5432/postgres",
        "sslmode=disable&",
    )
    .await;
}

#[tokio::test]
async fn mariadb_stalled_or_cut_mid_statement() {
    sql_stall(
        "CC_TEST_MYSQL_URL",
        "mysql://root@127.0.0.1:3306/mysql",
        "ssl-mode=DISABLED&",
    )
    .await;
}

#[test]
fn the_cli_exits_on_a_stalled_server_within_its_timeout() {
    let server = RedisServer::start();
    let proxy = FaultProxy::start(&format!("127.0.0.1:{}", server.port));
    let cfg = common::config_dir();
    let url = format!(
        "redis://127.0.0.1:{}/0?command_timeout_ms=600",
        proxy.port()
    );
    assert!(
        common::cli(cfg.path())
            .args(["keys", &url])
            .status()
            .expect("run")
            .success()
    );
    proxy.set(Fault::Stall);
    let out = common::cli(cfg.path())
        .args(["keys", &url])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn a_fake_redis_answering_an_endless_line_or_garbage_is_cut_off() {
    use common::fault::FakeServer;
    let cfg = common::config_dir();
    let endless = FakeServer::start(b"+OKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOK", true);
    let out = common::cli(cfg.path())
        .args(["keys", &format!("redis://127.0.0.1:{}/0", endless.port())])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("longer than 64 KiB"), "{err}");
    let garbage = FakeServer::start(b"HTTP/1.1 400 Bad Request\r\n\r\n", false);
    let out = common::cli(cfg.path())
        .args(["keys", &format!("redis://127.0.0.1:{}/0", garbage.port())])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a Redis reply"), "{err}");
    assert_eq!(err.lines().count(), 1);
}
