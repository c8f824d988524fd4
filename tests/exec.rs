//! `cache-console exec`: one command as typed, against a real Redis — the reply printed as
//! redis-cli prints it, an error reply exiting 1, a command the server calls a write refused
//! on a read-only profile (checked on the server), secrets redacted in the audit log, and a
//! dangerous command on a production profile needing --yes.

mod common;

use common::{RedisServer, cli, ok};

fn run(cfg: &std::path::Path, args: &[&str]) -> std::process::Output {
    cli(cfg).args(args).output().expect("run cache-console")
}

#[test]
fn commands_run_and_their_replies_print_as_redis_cli_prints_them() {
    let server = RedisServer::start();
    let cfg = common::config_dir();
    let url = server.url();
    assert_eq!(
        ok(&run(
            cfg.path(),
            &["exec", &url, "--", "SET", "greeting", "hi \"you\""]
        )),
        "OK\n"
    );
    assert_eq!(
        ok(&run(cfg.path(), &["exec", &url, "--", "get", "greeting"])),
        "\"hi \\\"you\\\"\"\n"
    );
    assert_eq!(
        ok(&run(
            cfg.path(),
            &["exec", &url, "--", "RPUSH", "l", "a", "b"]
        )),
        "(integer) 2\n"
    );
    assert_eq!(
        ok(&run(
            cfg.path(),
            &["exec", &url, "--", "LRANGE", "l", "0", "-1"]
        )),
        "1) \"a\"\n2) \"b\"\n"
    );
    assert_eq!(
        ok(&run(cfg.path(), &["exec", &url, "--", "GET", "nope"])),
        "(nil)\n"
    );
    // An error reply is printed and exits 1.
    let wrong = run(cfg.path(), &["exec", &url, "--", "INCR", "l"]);
    assert_eq!(wrong.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&wrong.stdout).starts_with("(error) WRONGTYPE"));
    // What would take over the shared connection is refused, saying why.
    let monitor = run(cfg.path(), &["exec", &url, "--", "MONITOR"]);
    assert!(!monitor.status.success());
    assert!(String::from_utf8_lossy(&monitor.stderr).contains("streams without end"));
    let select = run(cfg.path(), &["exec", &url, "--", "SELECT", "2"]);
    assert!(String::from_utf8_lossy(&select.stderr).contains("choose the database"));
}

#[test]
fn a_read_only_profile_refuses_what_the_server_calls_a_write() {
    let server = RedisServer::start();
    let cfg = common::config_dir();
    ok(&run(
        cfg.path(),
        &["profiles", "add", "ro", &server.url(), "--read-only"],
    ));
    let mut c = server.conn();
    redis::cmd("SET")
        .arg("k")
        .arg("v")
        .query::<()>(&mut c)
        .expect("set");
    // Reads go through.
    assert_eq!(
        ok(&run(
            cfg.path(),
            &["exec", "--profile", "ro", "--", "GET", "k"]
        )),
        "\"v\"\n"
    );
    // Writes, whatever their name, are refused before they are sent.
    for command in [
        &["DEL", "k"][..],
        &["SET", "k", "changed"],
        &["HSET", "h", "f", "v"],
        &["EXPIRE", "k", "1"],
        &["FLUSHALL"],
        &["CONFIG", "SET", "maxmemory", "1mb"],
    ] {
        let mut args = vec!["exec", "--profile", "ro", "--"];
        args.extend_from_slice(command);
        let out = run(cfg.path(), &args);
        assert!(!out.status.success(), "{command:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("read-only"),
            "{command:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let v: String = redis::cmd("GET").arg("k").query(&mut c).expect("get");
    assert_eq!(v, "v", "nothing changed on the server");
    let ttl: i64 = redis::cmd("TTL").arg("k").query(&mut c).expect("ttl");
    assert_eq!(ttl, -1);
    let maxmemory: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("maxmemory")
        .query(&mut c)
        .expect("config");
    assert_eq!(maxmemory[1], "0");
}

#[test]
fn writes_are_audited_with_their_secrets_redacted() {
    let server = RedisServer::start();
    let cfg = common::config_dir();
    let url = server.url();
    ok(&run(
        cfg.path(),
        &[
            "exec",
            &url,
            "--",
            "CONFIG",
            "SET",
            "masterauth",
            "hunter2-secret",
        ],
    ));
    ok(&run(
        cfg.path(),
        &[
            "exec",
            &url,
            "--",
            "ACL",
            "SETUSER",
            "app",
            "on",
            ">s3cret-pw",
            "~*",
            "+get",
        ],
    ));
    ok(&run(cfg.path(), &["exec", &url, "--", "GET", "nothing"]));
    let log = std::fs::read_to_string(cfg.path().join("audit.jsonl")).expect("audit log");
    assert!(!log.contains("hunter2") && !log.contains("s3cret"), "{log}");
    assert!(log.contains("CONFIG SET masterauth (redacted)"), "{log}");
    assert!(log.contains("ACL SETUSER app on (redacted)"), "{log}");
    assert!(
        !log.contains("GET nothing"),
        "a read is not a change: {log}"
    );
    // The secrets did reach the server.
    let users: Vec<String> = redis::cmd("ACL")
        .arg("USERS")
        .query(&mut server.conn())
        .expect("acl");
    assert!(users.contains(&"app".to_owned()));
}

#[test]
fn a_dangerous_command_on_a_production_profile_needs_yes() {
    let server = RedisServer::start();
    let cfg = common::config_dir();
    ok(&run(
        cfg.path(),
        &["profiles", "add", "prod", &server.url(), "--production"],
    ));
    let mut c = server.conn();
    redis::cmd("SET")
        .arg("keep")
        .arg("1")
        .query::<()>(&mut c)
        .expect("set");
    let refused = run(cfg.path(), &["exec", "--profile", "prod", "--", "FLUSHALL"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--yes"));
    let n: i64 = redis::cmd("DBSIZE").query(&mut c).expect("dbsize");
    assert_eq!(n, 1, "nothing was flushed");
    // A plain write on production needs nothing more.
    ok(&run(
        cfg.path(),
        &["exec", "--profile", "prod", "--", "SET", "other", "2"],
    ));
    assert_eq!(
        ok(&run(
            cfg.path(),
            &["exec", "--profile", "prod", "--yes", "--", "FLUSHALL"]
        )),
        "OK\n"
    );
    let n: i64 = redis::cmd("DBSIZE").query(&mut c).expect("dbsize");
    assert_eq!(n, 0);
}

#[test]
fn memcached_takes_its_text_protocol_and_caches_without_one_say_so() {
    let memcached = common::MemcachedServer::start();
    let cfg = common::config_dir();
    let url = format!("memcached://{}", memcached.addr());
    assert_eq!(
        ok(&run(
            cfg.path(),
            &["exec", &url, "--", "set", "k", "0", "0", "a b"]
        )),
        "STORED\n"
    );
    assert_eq!(
        ok(&run(cfg.path(), &["exec", &url, "--", "get", "k"])),
        "1) VALUE k 0 3\n2) \"a b\"\n3) END\n"
    );
    let wrong = run(cfg.path(), &["exec", &url, "--", "bogus"]);
    assert_eq!(wrong.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&wrong.stdout), "(error) ERROR\n");
    let dir = tempfile::tempdir().expect("dir");
    let file = format!("file://{}", dir.path().display());
    let out = run(cfg.path(), &["exec", &file, "--", "GET", "k"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no command line"));
    let none = run(cfg.path(), &["exec", "redis://127.0.0.1:1"]);
    assert_eq!(none.status.code(), Some(2), "no command: a usage error");
}
