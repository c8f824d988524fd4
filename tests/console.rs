//! The console's server side against real servers: completion and help from `COMMAND DOCS`
//! (and the bundled table when a server will not give it), a blocking command on its own
//! connection that a cancel frees, commands routed on a cluster (by key, by the server's
//! `COMMAND GETKEYS`, to every primary, to one node), and memcached's text protocol.

mod common;

use std::time::Duration;

use cache_console::backend::BackendError;
use cache_console::core::model::{ExecOn, NodeReply, RawReply};
use common::cluster::RedisCluster;
use common::{MemcachedServer, RedisServer, b, open_url};

fn args(line: &str) -> Vec<bytes::Bytes> {
    cache_console::core::cmdline::split_args(line).expect("a command line")
}

fn one(replies: Vec<NodeReply>) -> RawReply {
    assert_eq!(replies.len(), 1, "{replies:?}");
    replies
        .into_iter()
        .next()
        .map(|r| r.reply)
        .expect("a reply")
}

#[tokio::test]
async fn completion_and_help_come_from_the_servers_command_docs() {
    let server = RedisServer::start();
    let backend = open_url(&server.url()).await;
    let docs = backend.command_docs().await.expect("docs");
    let set = docs.iter().find(|d| d.name == "SET").expect("SET");
    assert!(set.args.starts_with("key value [NX | XX]"), "{}", set.args);
    assert_eq!(set.group, "string");
    assert!(set.summary.to_lowercase().contains("string value"));
    let config_get = docs
        .iter()
        .find(|d| d.name == "CONFIG GET")
        .expect("CONFIG GET");
    assert!(config_get.args.contains("parameter"));

    // The bundled table (for servers before COMMAND DOCS) says what this server says.
    let bundled = cache_console::backend::redis::docs::bundled();
    if std::env::var_os("CACHE_CONSOLE_WRITE_COMMAND_TABLE").is_some() {
        let table: String = docs
            .iter()
            .map(|d| cache_console::backend::redis::docs::table_line(d) + "\n")
            .collect();
        std::fs::write(
            concat!(env!("CARGO_MANIFEST_DIR"), "/assets/redis-commands.tsv"),
            table,
        )
        .expect("write the table");
        return;
    }
    assert!(
        bundled.len() > 200,
        "the bundled table has {}",
        bundled.len()
    );
    for doc in &bundled {
        if let Some(live) = docs.iter().find(|d| d.name == doc.name) {
            assert_eq!(live, doc, "the bundled {} agrees with Redis", doc.name);
        }
    }
}

#[tokio::test]
async fn a_server_that_refuses_command_docs_gets_the_bundled_table() {
    let server = RedisServer::start();
    let mut c = server.conn();
    redis::cmd("ACL")
        .arg("SETUSER")
        .arg("nodocs")
        .arg("on")
        .arg(">pw")
        .arg("~*")
        .arg("+@all")
        .arg("-command|docs")
        .query::<()>(&mut c)
        .expect("acl");
    let url = format!("redis://nodocs:pw@127.0.0.1:{}", server.port);
    let backend = open_url(&url).await;
    let docs = backend.command_docs().await.expect("docs");
    assert_eq!(docs, cache_console::backend::redis::docs::bundled());
}

#[tokio::test]
async fn a_blocking_command_runs_on_its_own_connection_and_a_cancel_frees_it() {
    let server = RedisServer::start();
    let backend: std::sync::Arc<dyn cache_console::backend::CacheBackend> =
        open_url(&server.url()).await.into();
    let blocked = {
        let backend = backend.clone();
        tokio::spawn(async move { backend.execute(&args("BLPOP jobs 0"), &ExecOn::ByKey).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The shared connection is not held up behind it.
    let pong = tokio::time::timeout(
        Duration::from_secs(2),
        backend.execute(&args("PING"), &ExecOn::ByKey),
    )
    .await
    .expect("PING is not held up by BLPOP")
    .expect("ping");
    assert_eq!(one(pong), RawReply::Status("PONG".into()));
    let clients = || -> usize {
        let list: String = redis::cmd("CLIENT")
            .arg("LIST")
            .query(&mut server.conn())
            .expect("client list");
        list.lines().filter(|l| l.contains("cmd=blpop")).count()
    };
    assert_eq!(clients(), 1, "the BLPOP waits on the server");
    blocked.abort();
    let mut freed = false;
    for _ in 0..50 {
        if clients() == 0 {
            freed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(freed, "cancelling closed the blocked client's connection");

    // One that gets its answer: another client pushes.
    let waiting = {
        let backend = backend.clone();
        tokio::spawn(async move { backend.execute(&args("BLPOP jobs 5"), &ExecOn::ByKey).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    redis::cmd("RPUSH")
        .arg("jobs")
        .arg("job-1")
        .query::<()>(&mut server.conn())
        .expect("push");
    let reply = one(waiting.await.expect("task").expect("blpop"));
    assert_eq!(
        reply,
        RawReply::Array(vec![RawReply::Bulk(b("jobs")), RawReply::Bulk(b("job-1"))])
    );
}

#[tokio::test]
async fn cluster_commands_go_to_their_keys_node_or_where_the_user_says() {
    let cluster = RedisCluster::start();
    let backend = open_url(&cluster.url()).await;
    // With a key: the slot's owner, whichever node that is.
    for key in ["user:1", "user:2", "cart:9", "{tag}x"] {
        let set = backend
            .execute(&args(&format!("SET {key} v")), &ExecOn::ByKey)
            .await
            .expect("set");
        assert_eq!(one(set), RawReply::Status("OK".into()));
    }
    // A key that is not the first argument: found by the server (COMMAND GETKEYS).
    let eval = backend
        .execute(
            &args("EVAL \"return redis.call('GET', KEYS[1])\" 1 cart:9"),
            &ExecOn::ByKey,
        )
        .await
        .expect("eval");
    assert_eq!(one(eval), RawReply::Bulk(b("v")));
    let mut held = 0;
    for node in &cluster.nodes[..cluster.primaries] {
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg("*")
            .query(&mut node.conn())
            .expect("keys");
        held += keys.len();
    }
    assert_eq!(held, 4, "each key on exactly one primary");

    // Without a key: refused until the user says where.
    let keyless = backend.execute(&args("DBSIZE"), &ExecOn::ByKey).await;
    assert!(
        matches!(keyless, Err(BackendError::NeedsNode(ref n)) if n == "DBSIZE"),
        "{keyless:?}"
    );
    let all = backend
        .execute(&args("DBSIZE"), &ExecOn::AllPrimaries)
        .await
        .expect("on all");
    assert_eq!(all.len(), 3);
    let total: i64 = all
        .iter()
        .map(|r| match r.reply {
            RawReply::Int(n) => n,
            ref other => panic!("{other:?}"),
        })
        .sum();
    assert_eq!(total, 4);
    let first = format!("127.0.0.1:{}", cluster.nodes[0].port);
    let on_one = backend
        .execute(&args("DBSIZE"), &ExecOn::Node(first.clone()))
        .await
        .expect("on one");
    assert_eq!(on_one[0].node.as_deref(), Some(first.as_str()));
    let direct: i64 = redis::cmd("DBSIZE")
        .query(&mut cluster.nodes[0].conn())
        .expect("dbsize");
    assert_eq!(on_one[0].reply, RawReply::Int(direct));
    let unknown = backend
        .execute(&args("DBSIZE"), &ExecOn::Node("10.9.9.9:1".into()))
        .await;
    assert!(matches!(unknown, Err(BackendError::Invalid(_))));
}

#[tokio::test]
async fn memcached_speaks_its_text_protocol_in_the_console() {
    let server = MemcachedServer::start();
    let backend = open_url(&format!("memcached://{}", server.addr())).await;
    assert!(backend.capabilities().commands);
    let run = |line: &'static str| {
        let backend = &backend;
        async move {
            one(backend
                .execute(&args(line), &ExecOn::ByKey)
                .await
                .expect(line))
        }
    };
    assert_eq!(
        run("set greeting 5 60 \"hi there\"").await,
        RawReply::Status("STORED".into())
    );
    assert_eq!(
        run("get greeting").await,
        RawReply::Array(vec![
            RawReply::Status("VALUE greeting 5 8".into()),
            RawReply::Bulk(b("hi there")),
            RawReply::Status("END".into()),
        ])
    );
    assert_eq!(run("get missing").await, RawReply::Status("END".into()));
    match run("mg greeting v t").await {
        RawReply::Array(items) => {
            assert!(matches!(&items[0], RawReply::Status(s) if s.starts_with("VA 8")));
            assert_eq!(items[1], RawReply::Bulk(b("hi there")));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        run("incr greeting 1").await,
        RawReply::Error("CLIENT_ERROR cannot increment or decrement non-numeric value".into())
    );
    match run("stats").await {
        RawReply::Array(lines) => {
            assert!(
                lines
                    .iter()
                    .any(|l| matches!(l, RawReply::Status(s) if s.starts_with("STAT pid ")))
            );
            assert_eq!(lines.last(), Some(&RawReply::Status("END".into())));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(run("bogus").await, RawReply::Error("ERROR".into()));
    assert!(matches!(
        backend
            .execute(&args("set k 0 0 v noreply"), &ExecOn::ByKey)
            .await,
        Err(BackendError::Invalid(_))
    ));
    // What the server holds is what was typed.
    assert!(server.raw("get greeting\r\n", "END").contains("hi there"));

    // A pool: keyless commands ask where, or run on every server.
    let other = MemcachedServer::start();
    let pool = open_url(&format!("memcached://{},{}", server.addr(), other.addr())).await;
    assert!(matches!(
        pool.execute(&args("version"), &ExecOn::ByKey).await,
        Err(BackendError::NeedsNode(_))
    ));
    let versions = pool
        .execute(&args("version"), &ExecOn::AllPrimaries)
        .await
        .expect("versions");
    assert_eq!(versions.len(), 2);
    assert!(versions.iter().all(|v| v.node.is_some()
        && matches!(&v.reply, RawReply::Status(s) if s.starts_with("VERSION "))));
}
