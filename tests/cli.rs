//! The command-line twin, run as a real process against real redis-server processes.

mod common;

use std::process::{Command, Output};

use common::{RedisServer, binary, config_dir, fill};

fn run(config: &std::path::Path, args: &[&str]) -> Output {
    common::cli(config)
        .args(args)
        .output()
        .expect("run cache-console")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn keys_lists_matching_keys_in_escaped_form() {
    let server = RedisServer::start();
    let mut c = server.conn();
    fill(&mut c, "user:", 1_500);
    fill(&mut c, "order:", 10);
    redis::cmd("SET")
        .arg(b"user:\xff\x00raw".as_slice())
        .arg(1)
        .query::<()>(&mut c)
        .expect("set");
    redis::cmd("SET")
        .arg("user:back\\slash")
        .arg(1)
        .query::<()>(&mut c)
        .expect("set");
    redis::cmd("HSET")
        .arg("user:hash")
        .arg("f")
        .arg("v")
        .query::<()>(&mut c)
        .expect("hset");
    let cfg = config_dir();
    let url = server.url();

    let out = run(cfg.path(), &["keys", &url, "user:*"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1_503);
    assert!(lines.contains(&"user:\\xff\\x00raw"));
    assert!(lines.contains(&"user:back\\\\slash"));
    assert!(!lines.iter().any(|l| l.starts_with("order:")));

    let out = run(cfg.path(), &["keys", &url, "--count"]);
    assert_eq!(stdout(&out).trim(), "1513");
    let out = run(cfg.path(), &["keys", &url, "user:*", "--type", "hash"]);
    assert_eq!(stdout(&out), "user:hash\n");
    // A key printed in escaped form works as a pattern for itself.
    let out = run(cfg.path(), &["keys", &url, "user:\\xff\\x00raw"]);
    assert_eq!(stdout(&out), "user:\\xff\\x00raw\n");
    let out = run(cfg.path(), &["keys", &url, "nomatch:*", "--count"]);
    assert_eq!(stdout(&out).trim(), "0");
}

#[test]
fn get_prints_raw_bytes_json_or_meta() {
    let server = RedisServer::start();
    let mut c = server.conn();
    let value: &[u8] = b"\x00\xffbinary\nvalue";
    redis::cmd("SET")
        .arg("bin")
        .arg(value)
        .arg("EX")
        .arg(500)
        .query::<()>(&mut c)
        .expect("set");
    redis::cmd("HSET")
        .arg("h")
        .arg("name")
        .arg("Ada")
        .arg("lang")
        .arg("en")
        .query::<()>(&mut c)
        .expect("hset");
    redis::cmd("RPUSH")
        .arg("l")
        .arg("a")
        .arg(b"b\xff".as_slice())
        .query::<()>(&mut c)
        .expect("rpush");
    redis::cmd("SET")
        .arg(b"k\x01".as_slice())
        .arg("x")
        .query::<()>(&mut c)
        .expect("set");
    let cfg = config_dir();
    let url = server.url();

    let out = run(cfg.path(), &["get", &url, "bin"]);
    assert!(out.status.success());
    assert_eq!(out.stdout, value);

    let out = run(cfg.path(), &["get", &url, "h"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json, serde_json::json!({"name": "Ada", "lang": "en"}));

    let out = run(cfg.path(), &["get", &url, "l"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json, serde_json::json!(["a", "b\\xff"]));

    let out = run(cfg.path(), &["get", &url, "k\\x01"]);
    assert_eq!(stdout(&out), "x");

    let out = run(cfg.path(), &["get", &url, "bin", "--meta"]);
    let text = stdout(&out);
    assert!(text.contains("type: string"), "{text}");
    let ttl: i64 = text
        .lines()
        .find_map(|l| l.strip_prefix("ttl: "))
        .and_then(|t| t.parse().ok())
        .expect("ttl line");
    assert!((490..=500).contains(&ttl), "{ttl}");
    assert!(text.contains("length: 14"), "{text}");
    assert!(text.contains("size: "), "{text}");
}

#[test]
fn errors_are_one_line_with_the_right_exit_code() {
    let mut server = RedisServer::start();
    let cfg = config_dir();
    let url = server.url();

    let out = run(cfg.path(), &["get", &url, "missing"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("does not exist"), "{err}");

    let out = run(cfg.path(), &["get", "http://x", "k"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unsupported URL scheme"));

    let out = run(cfg.path(), &["get", &url]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));

    let out = run(cfg.path(), &["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));

    server.kill();
    let out = run(cfg.path(), &["keys", &url]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("cannot connect"), "{err}");
}

#[test]
fn wrong_password_fails_without_echoing_it() {
    let server = RedisServer::start_with(Some("s3cret"));
    let cfg = config_dir();
    let url = format!("redis://:wrong-pw-123@127.0.0.1:{}/0", server.port);
    let out = run(cfg.path(), &["keys", &url]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("authentication failed"), "{err}");
    assert!(!err.contains("wrong-pw-123"), "{err}");
    let good = format!("redis://:s3cret@127.0.0.1:{}/0", server.port);
    assert!(run(cfg.path(), &["keys", &good]).status.success());
}

#[test]
fn profiles_are_managed_and_usable_in_place_of_a_url() {
    let server = RedisServer::start_with(Some("pw-from-env"));
    let mut c = server.conn();
    fill(&mut c, "p:", 3);
    let cfg = config_dir();
    let url = format!("redis://:${{CC_TEST_PW}}@127.0.0.1:{}/0", server.port);
    let out = run(cfg.path(), &["profiles", "add", "local", &url]);
    assert!(out.status.success(), "{}", stderr(&out));
    let inline = format!("redis://:plain-secret@127.0.0.1:{}/0", server.port);
    let out = run(cfg.path(), &["profiles", "add", "asks", &inline]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("not saved"));

    let file = std::fs::read_to_string(cfg.path().join("profiles.ron")).expect("profiles file");
    assert!(!file.contains("plain-secret"), "{file}");
    assert!(!file.contains("pw-from-env"));

    let out = run(cfg.path(), &["profiles", "list"]);
    let text = stdout(&out);
    assert!(
        text.contains("local\tredis://:${CC_TEST_PW}@127.0.0.1"),
        "{text}"
    );
    assert!(text.contains("asks\tredis://127.0.0.1"), "{text}");

    let out = Command::new(binary())
        .args(["keys", "--profile", "local", "p:*", "--count"])
        .env("CACHE_CONSOLE_CONFIG_DIR", cfg.path())
        .env("CC_TEST_PW", "pw-from-env")
        .output()
        .expect("run");
    assert_eq!(stdout(&out).trim(), "3", "{}", stderr(&out));

    let out = run(cfg.path(), &["keys", "--profile", "asks"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("CACHE_CONSOLE_PASSWORD"));

    let out = run(cfg.path(), &["keys", "--profile", "local"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("CC_TEST_PW"), "{}", stderr(&out));

    assert!(
        run(cfg.path(), &["profiles", "remove", "local"])
            .status
            .success()
    );
    let out = run(cfg.path(), &["profiles", "remove", "local"]);
    assert_eq!(out.status.code(), Some(1));
    let out = run(cfg.path(), &["keys", "--profile", "local"]);
    assert!(stderr(&out).contains("no profile named"));
}

#[test]
fn a_corrupt_profiles_file_is_reported_not_fatal() {
    let cfg = config_dir();
    std::fs::write(
        cfg.path().join("profiles.ron"),
        "(version: 1, profiles: [oops",
    )
    .expect("write");
    let out = run(cfg.path(), &["profiles", "list"]);
    assert!(out.status.success());
    assert!(stderr(&out).contains("damaged"), "{}", stderr(&out));
    let kept: Vec<_> = std::fs::read_dir(cfg.path())
        .expect("dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains("corrupt"))
        .collect();
    assert_eq!(kept.len(), 1);
}

fn pttl(c: &mut redis::Connection, key: &str) -> i64 {
    redis::cmd("PTTL").arg(key).query(c).expect("pttl")
}

#[test]
fn set_ttl_del_and_flush_change_the_server() {
    let server = RedisServer::start();
    let mut c = server.conn();
    redis::cmd("SET")
        .arg("k")
        .arg("old")
        .arg("EX")
        .arg(1000)
        .query::<()>(&mut c)
        .expect("set");
    let cfg = config_dir();
    let url = server.url();

    // Without --ttl the TTL is kept.
    let out = run(cfg.path(), &["set", &url, "k", "new value"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: String = redis::cmd("GET").arg("k").query(&mut c).expect("get");
    assert_eq!(v, "new value");
    assert!(pttl(&mut c, "k") > 990_000);
    let out = run(cfg.path(), &["set", &url, "k", "v2", "--ttl", "15m"]);
    assert!(out.status.success());
    let ms = pttl(&mut c, "k");
    assert!(ms > 890_000 && ms <= 900_000, "{ms}");
    let out = run(cfg.path(), &["set", &url, "bin:\\xff", "x", "--ttl", "-3"]);
    assert_eq!(out.status.code(), Some(2), "a bad TTL is a usage error");
    assert!(stderr(&out).contains("cannot be negative"));

    // ttl: print, change, persist, missing.
    let out = run(cfg.path(), &["ttl", &url, "k", "2h"]);
    let secs: i64 = stdout(&out).trim().parse().expect("seconds");
    assert!((7190..=7200).contains(&secs), "{secs}");
    let out = run(cfg.path(), &["ttl", &url, "k", "--persist"]);
    assert_eq!(stdout(&out).trim(), "-1");
    let out = run(cfg.path(), &["ttl", &url, "nope"]);
    assert_eq!(stdout(&out).trim(), "-2");
    let out = run(cfg.path(), &["ttl", &url, "k", "soon"]);
    assert_eq!(out.status.code(), Some(2));

    // del: keys, exact binary key, pattern with dry run.
    redis::cmd("SET")
        .arg(b"bin:\xff\x00".as_slice())
        .arg(1)
        .query::<()>(&mut c)
        .expect("set");
    fill(&mut c, "page:", 300);
    fill(&mut c, "keep:", 20);
    let out = run(cfg.path(), &["del", &url, "bin:\\xff\\x00", "nope"]);
    assert_eq!(stdout(&out).trim(), "1", "{}", stderr(&out));
    let out = run(
        cfg.path(),
        &["del", &url, "--pattern", "page:*", "--dry-run"],
    );
    assert_eq!(stdout(&out).trim(), "300");
    let n: u64 = redis::cmd("DBSIZE").query(&mut c).expect("dbsize");
    assert_eq!(n, 321, "a dry run deletes nothing");
    let out = run(cfg.path(), &["del", &url, "--pattern", "page:*", "--yes"]);
    assert_eq!(stdout(&out).trim(), "300");
    let n: u64 = redis::cmd("DBSIZE").query(&mut c).expect("dbsize");
    assert_eq!(n, 21);

    // flush refuses without --yes.
    let out = run(cfg.path(), &["flush", &url]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("without --yes"));
    let n: u64 = redis::cmd("DBSIZE").query(&mut c).expect("dbsize");
    assert_eq!(n, 21);
    let out = run(cfg.path(), &["flush", &url, "--yes"]);
    assert!(out.status.success());
    let n: u64 = redis::cmd("DBSIZE").query(&mut c).expect("dbsize");
    assert_eq!(n, 0);

    // Every write was audited, without values.
    let audit = std::fs::read_to_string(cfg.path().join("audit.jsonl")).expect("audit log");
    assert!(audit.contains("\"action\":\"flushdb\""), "{audit}");
    assert!(audit.contains("\"action\":\"delete-pattern\""));
    assert!(!audit.contains("new value"));
}

#[test]
fn a_read_only_profile_refuses_writes_from_the_command_line() {
    let server = RedisServer::start();
    let mut c = server.conn();
    fill(&mut c, "ro:", 5);
    let cfg = config_dir();
    let out = run(
        cfg.path(),
        &[
            "profiles",
            "add",
            "prod",
            &server.url(),
            "--read-only",
            "--color",
            "red",
            "--production",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(cfg.path(), &["profiles", "list"]);
    assert!(
        stdout(&out).contains("[read-only, production, red]"),
        "{}",
        stdout(&out)
    );
    for args in [
        vec!["set", "--profile", "prod", "ro:1", "x"],
        vec!["ttl", "--profile", "prod", "ro:1", "60"],
        vec!["ttl", "--profile", "prod", "ro:1", "--persist"],
        vec!["del", "--profile", "prod", "ro:1"],
        vec!["del", "--profile", "prod", "--pattern", "ro:*"],
        vec!["flush", "--profile", "prod", "--yes"],
    ] {
        let out = run(cfg.path(), &args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&out).contains("profile `prod` is read-only"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    let n: u64 = redis::cmd("DBSIZE").query(&mut c).expect("dbsize");
    assert_eq!(n, 5);
    // Reads still work, and a dry run is a read.
    let out = run(
        cfg.path(),
        &["del", "--profile", "prod", "--pattern", "ro:*", "--dry-run"],
    );
    assert_eq!(stdout(&out).trim(), "5");
    let out = run(
        cfg.path(),
        &["profiles", "add", "x", &server.url(), "--color", "mauve"],
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn every_subcommand_works_with_memcached_urls() {
    let server = common::MemcachedServer::start();
    server.fill("mc:", 250);
    let cfg = config_dir();
    let url = format!("memcached://{}", server.addr());
    let out = run(cfg.path(), &["keys", &url, "mc:1*", "--count"]);
    assert_eq!(stdout(&out).trim(), "111", "{}", stderr(&out));
    let out = run(
        cfg.path(),
        &["keys", &url, "mc:1*", "--count", "--server", &server.addr()],
    );
    assert_eq!(stdout(&out).trim(), "111", "{}", stderr(&out));
    let out = run(
        cfg.path(),
        &["keys", &url, "--count", "--server", "10.9.9.9:1"],
    );
    assert_eq!(stdout(&out).trim(), "0");
    let out = run(
        cfg.path(),
        &["set", &url, "greeting", "hello\u{1f600}", "--ttl", "10m"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(cfg.path(), &["get", &url, "greeting"]);
    assert_eq!(out.stdout, "hello\u{1f600}".as_bytes());
    let out = run(cfg.path(), &["get", &url, "greeting", "--meta"]);
    let text = stdout(&out);
    assert!(
        text.contains("type: string") && text.contains("length: 9"),
        "{text}"
    );
    let out = run(cfg.path(), &["ttl", &url, "greeting"]);
    let secs: i64 = stdout(&out).trim().parse().expect("seconds");
    assert!((590..=600).contains(&secs), "{secs}");
    let out = run(cfg.path(), &["ttl", &url, "greeting", "--persist"]);
    assert_eq!(stdout(&out).trim(), "-1");
    let out = run(
        cfg.path(),
        &["del", &url, "--pattern", "mc:2*", "--dry-run"],
    );
    assert_eq!(stdout(&out).trim(), "61");
    let out = run(cfg.path(), &["del", &url, "--pattern", "mc:2*", "--yes"]);
    assert_eq!(stdout(&out).trim(), "61");
    let out = run(cfg.path(), &["del", &url, "mc:1", "mc:nope"]);
    assert_eq!(stdout(&out).trim(), "1");
    let out = run(cfg.path(), &["keys", &url, "--count"]);
    assert_eq!(stdout(&out).trim(), "189");
    let out = run(cfg.path(), &["flush", &url]);
    assert_eq!(out.status.code(), Some(1));
    let out = run(
        cfg.path(),
        &["flush", &url, "--yes", "--server", &server.addr()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(cfg.path(), &["keys", &url, "--count"]);
    assert_eq!(stdout(&out).trim(), "0");
    let out = run(cfg.path(), &["get", &url, "greeting"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("does not exist"));
    let out = run(cfg.path(), &["keys", "memcached://127.0.0.1:1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("cannot connect to 127.0.0.1:1"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn analyze_reports_the_biggest_keys_and_namespaces() {
    let server = RedisServer::start();
    let mut c = server.conn();
    fill(&mut c, "user:", 30);
    redis::cmd("SET")
        .arg("blob:1")
        .arg(vec![b'x'; 50_000])
        .arg("EX")
        .arg(7200)
        .query::<()>(&mut c)
        .expect("set");
    let cfg = config_dir();
    let url = server.url();
    let json = common::cli_json(cfg.path(), &["analyze", &url, "--json", "--top", "3"]);
    assert_eq!(json["keys"], 31);
    assert_eq!(json["top"][0]["key"], "blob:1");
    assert_eq!(json["top"][0]["type"], "string");
    assert!(
        json["top"][0]["ttl_secs"]
            .as_u64()
            .is_some_and(|s| s <= 7200)
    );
    assert_eq!(json["top"].as_array().map(Vec::len), Some(3));
    assert_eq!(json["namespaces"][0]["namespace"], "blob:");
    let users = json["namespaces"]
        .as_array()
        .and_then(|ns| ns.iter().find(|n| n["namespace"] == "user:"))
        .map(|n| n["keys"].clone());
    assert_eq!(users, Some(30.into()));
    assert_eq!(json["ttl"][0]["keys"], 30, "no TTL");
    assert_eq!(json["ttl"][3]["keys"], 1, "under a day");

    let sample = common::cli_json(
        cfg.path(),
        &["analyze", &url, "user:*", "--sample", "5", "--json"],
    );
    assert_eq!(sample["keys"], 5);
    assert_eq!(sample["sampled"], true);

    let text = run(cfg.path(), &["analyze", &url]);
    assert!(text.status.success());
    let text = stdout(&text);
    assert!(text.starts_with("31 keys"), "{text}");
    assert!(
        text.contains("biggest keys") && text.contains("blob:1"),
        "{text}"
    );

    let bad = run(cfg.path(), &["analyze", &url, "--depth", "4"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn absurd_ttls_are_usage_errors_not_server_errors() {
    let server = RedisServer::start();
    let cfg = config_dir();
    let url = server.url();
    for ttl in [
        "18446744073709551",
        "18446744073709551615",
        "9999-01-01 00:00:00",
    ] {
        let out = run(cfg.path(), &["set", &url, "k", "v", "--ttl", ttl]);
        assert_eq!(out.status.code(), Some(2), "--ttl {ttl}: {}", stderr(&out));
        assert!(stderr(&out).contains("too long"), "{}", stderr(&out));
        assert!(
            !stderr(&out).to_lowercase().contains("script"),
            "{}",
            stderr(&out)
        );
        let out = run(cfg.path(), &["ttl", &url, "k", ttl]);
        assert_eq!(out.status.code(), Some(2));
    }
    let mut c = server.conn();
    let exists: bool = redis::cmd("EXISTS").arg("k").query(&mut c).expect("exists");
    assert!(!exists, "nothing was written");
}

#[test]
fn a_user_allowed_to_set_but_not_to_script_can_set() {
    let server = RedisServer::start();
    let mut c = server.conn();
    redis::cmd("ACL")
        .arg(&[
            "SETUSER",
            "writer",
            "on",
            ">writer-pw",
            "~*",
            "+set",
            "+get",
            "+ping",
            "+info",
            "+pttl",
            "+type",
            "+strlen",
            "+exists",
            "+memory|usage",
            "+object|encoding",
            "+scan",
            "+dbsize",
            "+select",
        ])
        .query::<()>(&mut c)
        .expect("acl");
    let cfg = config_dir();
    let url = format!("redis://writer:writer-pw@127.0.0.1:{}/0", server.port);
    let out = run(cfg.path(), &["set", &url, "plain", "value", "--ttl", "1h"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(cfg.path(), &["set", &url, "plain", "value2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: String = redis::cmd("GET").arg("plain").query(&mut c).expect("get");
    assert_eq!(v, "value2");
    let ttl: i64 = redis::cmd("TTL").arg("plain").query(&mut c).expect("ttl");
    assert!((3590..=3600).contains(&ttl), "the TTL was kept: {ttl}");
}

#[test]
fn tls_to_a_plaintext_server_says_tls_and_the_real_limit() {
    let server = RedisServer::start();
    let cfg = config_dir();
    let url = format!(
        "rediss://127.0.0.1:{}/0?connect_timeout_ms=1500",
        server.port
    );
    let out = run(cfg.path(), &["keys", &url, "--count"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("TLS"), "{err}");
    assert!(!err.contains("5000 ms"), "{err}");
    // A stopped server: the limit it names is the one it kept.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let out = run(
        cfg.path(),
        &["keys", &format!("redis://127.0.0.1:{port}/0"), "--count"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(!stderr(&out).contains("within 0 ms"), "{}", stderr(&out));
}

#[test]
fn profile_names_cannot_forge_lines_and_secret_url_parameters_are_never_kept() {
    let cfg = config_dir();
    for name in [
        "evil\nfake\tredis://x",
        "tab\there",
        "ansi\u{1b}[31mred",
        "zero\u{200b}width",
        " padded",
    ] {
        let out = run(
            cfg.path(),
            &["profiles", "add", name, "redis://127.0.0.1:6399/0"],
        );
        assert_eq!(out.status.code(), Some(1), "{name:?} was accepted");
        assert!(
            !stderr(&out).contains('\u{1b}'),
            "the name is escaped in the error"
        );
    }
    let out = run(
        cfg.path(),
        &[
            "profiles",
            "add",
            "pg",
            "postgres://app@db.internal:5432/shop?password=hunter2&sslmode=require&table=cache",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(
        cfg.path(),
        &[
            "profiles",
            "add",
            "pg2",
            "postgres://app@db.internal:5432/shop?sslpassword=hunter3",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "a URL that cannot be kept is a usage error"
    );
    assert!(!stderr(&out).contains("hunter3"), "{}", stderr(&out));
    let list = run(cfg.path(), &["profiles", "list"]);
    let text = stdout(&list);
    assert!(!text.contains("hunter2"), "{text}");
    let printed = text
        .lines()
        .find_map(|l| l.strip_prefix("pg\t"))
        .expect("pg listed")
        .split('\t')
        .next()
        .expect("url")
        .to_owned();
    assert_eq!(printed.matches('?').count(), 1, "{printed}");
    // The printed URL can be pasted back.
    let out = run(cfg.path(), &["profiles", "add", "pg-again", &printed]);
    assert!(out.status.success(), "{}", stderr(&out));
    for entry in std::fs::read_dir(cfg.path()).expect("dir").flatten() {
        let content = std::fs::read(entry.path()).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&content).contains("hunter"),
            "{} holds a secret",
            entry.path().display()
        );
    }
}

#[test]
fn a_pattern_delete_asks_like_a_flush() {
    let server = RedisServer::start();
    let mut c = server.conn();
    fill(&mut c, "doomed:", 30);
    fill(&mut c, "kept:", 5);
    let cfg = config_dir();
    let url = server.url();
    let out = run(cfg.path(), &["del", &url, "--pattern", "*"]);
    assert_eq!(out.status.code(), Some(1), "no terminal, no --yes");
    assert!(stderr(&out).contains("35 key"), "{}", stderr(&out));
    let n: u64 = redis::cmd("DBSIZE").query(&mut c).expect("dbsize");
    assert_eq!(n, 35, "nothing was deleted");
    let prod = server.url();
    let out = run(
        cfg.path(),
        &["profiles", "add", "prod", &prod, "--production"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(
        cfg.path(),
        &["del", "--profile", "prod", "--pattern", "doomed:*"],
    );
    assert_eq!(out.status.code(), Some(1));
    let out = run(
        cfg.path(),
        &["del", "--profile", "prod", "--pattern", "doomed:*", "--yes"],
    );
    assert_eq!(stdout(&out).trim(), "30", "{}", stderr(&out));
    let n: u64 = redis::cmd("DBSIZE").query(&mut c).expect("dbsize");
    assert_eq!(n, 5);
}

#[test]
fn a_change_that_cannot_be_audited_is_not_made() {
    let server = RedisServer::start();
    let cfg = config_dir();
    // A directory where the log should be: it cannot be opened for appending (even by root).
    std::fs::create_dir(cfg.path().join("audit.jsonl")).expect("block the log");
    let url = server.url();
    let out = run(cfg.path(), &["set", &url, "k", "v"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("audit log"), "{}", stderr(&out));
    let out = run(cfg.path(), &["del", &url, "--pattern", "*", "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    let mut c = server.conn();
    let exists: bool = redis::cmd("EXISTS").arg("k").query(&mut c).expect("exists");
    assert!(!exists, "nothing was written");
    // Reads do not need the log.
    assert!(run(cfg.path(), &["keys", &url]).status.success());
}

#[test]
fn a_big_hash_streams_out_as_one_valid_json_object() {
    let server = RedisServer::start();
    let mut c = server.conn();
    let n = 50_000;
    for start in (0..n).step_by(10_000) {
        let mut pipe = redis::pipe();
        for i in start..start + 10_000 {
            pipe.cmd("HSET")
                .arg("big")
                .arg(format!("field:{i}"))
                .arg(i)
                .ignore();
        }
        pipe.query::<()>(&mut c).expect("fill");
    }
    redis::cmd("SADD")
        .arg("s")
        .arg(&["a", "b\u{200b}"])
        .query::<()>(&mut c)
        .expect("sadd");
    let cfg = config_dir();
    let out = run(cfg.path(), &["get", &server.url(), "big"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let object = json.as_object().expect("object");
    assert_eq!(object.len(), n);
    assert_eq!(object["field:4242"], "4242");
    let out = run(cfg.path(), &["get", &server.url(), "s"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("array");
    let mut members: Vec<&str> = json
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    members.sort_unstable();
    assert_eq!(
        members,
        ["a", "b\\xe2\\x80\\x8b"],
        "invisible characters come escaped"
    );
    redis::cmd("DEL")
        .arg("empty")
        .query::<()>(&mut c)
        .expect("del");
}

#[test]
fn without_a_display_the_app_says_so_in_one_line_and_points_to_the_command_line() {
    let cfg = tempfile::tempdir().expect("dir");
    let out = Command::new(binary())
        .env("CACHE_CONSOLE_CONFIG_DIR", cfg.path())
        .env("CACHE_CONSOLE_DATA_DIR", cfg.path())
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("WAYLAND_SOCKET")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("there is no display"), "{err}");
    assert!(err.contains("cache-console --help"), "{err}");
    assert!(
        !err.contains("winit"),
        "winit's own text is not shown: {err}"
    );
}

/// The audit entries in `cfg`'s log, oldest first.
/// The audit entries `cache-console audit` prints as JSON lines with `filter` arguments.
fn audit_cli(cfg: &std::path::Path, filter: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec!["audit", "--format", "json", "--limit", "1000"];
    args.extend_from_slice(filter);
    let out = run(cfg, &args);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn audit_entries(cfg: &std::path::Path) -> Vec<serde_json::Value> {
    audit_cli(cfg, &[])
}

#[test]
fn the_audit_log_records_ttls_before_and_after_real_flush_counts_and_refusals() {
    let server = RedisServer::start();
    let mut c = server.conn();
    fill(&mut c, "a:", 5);
    let cfg = config_dir();
    let url = server.url();
    assert!(
        run(cfg.path(), &["ttl", &url, "a:1", "90"])
            .status
            .success()
    );
    assert!(
        run(cfg.path(), &["ttl", &url, "a:1", "--persist"])
            .status
            .success()
    );
    assert!(run(cfg.path(), &["flush", &url, "--yes"]).status.success());
    let out = run(cfg.path(), &["profiles", "add", "ro", &url, "--read-only"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(cfg.path(), &["set", "--profile", "ro", "a:9", "x"]);
    assert_eq!(out.status.code(), Some(1));
    let out = run(
        cfg.path(),
        &["del", "--profile", "ro", "--pattern", "a:*", "--yes"],
    );
    assert_eq!(out.status.code(), Some(1));

    let entries = audit_entries(cfg.path());
    let ttl: Vec<(&str, &str)> = entries
        .iter()
        .filter(|e| e["action"] == "ttl")
        .map(|e| {
            (
                e["ttl_before"].as_str().unwrap_or("?"),
                e["ttl_after"].as_str().unwrap_or("?"),
            )
        })
        .collect();
    assert_eq!(
        ttl,
        [
            ("none", "1 minute 30 seconds"),
            ("1 minute 30 seconds", "none")
        ]
    );
    let flush = entries
        .iter()
        .find(|e| e["action"] == "flushdb")
        .expect("the flush");
    assert_eq!(flush["affected"], 5, "the keys it removed, not 1: {flush}");
    assert_eq!(flush["db"], 0);
    let refused: Vec<&serde_json::Value> = entries
        .iter()
        .filter(|e| {
            e["outcome"]
                .as_str()
                .is_some_and(|o| o.starts_with("refused"))
        })
        .collect();
    assert_eq!(refused.len(), 2, "{entries:?}");
    assert_eq!(refused[0]["action"], "set");
    assert_eq!(refused[0]["profile"], "ro");
    assert_eq!(refused[1]["action"], "delete-pattern");
    assert_eq!(refused[1]["pattern"], "a:*");

    // The same log, filtered, as the app's audit window filters it.
    let flushes = audit_cli(cfg.path(), &["--action", "flushdb"]);
    assert_eq!(flushes.len(), 1);
    let ro = audit_cli(cfg.path(), &["--profile", "ro"]);
    assert_eq!(ro.len(), 2);
    let keyed = audit_cli(cfg.path(), &["--key", "a:*"]);
    assert!(
        keyed.iter().all(|e| e["action"] != "flushdb") && keyed.len() >= 3,
        "TTL changes of a:1 and the pattern delete: {keyed:?}"
    );
    assert_eq!(
        audit_cli(cfg.path(), &["--since", "1h"]).len(),
        entries.len()
    );
    assert!(audit_cli(cfg.path(), &["--until", "1h"]).is_empty());
    let csv = run(cfg.path(), &["audit", "--format", "csv", "--action", "ttl"]);
    let text = stdout(&csv);
    assert!(text.starts_with("time,profile,target,database"), "{text}");
    assert_eq!(text.lines().count(), 3, "a header and two TTL rows: {text}");
    let table = run(cfg.path(), &["audit", "--limit", "1"]);
    assert!(stdout(&table).starts_with("TIME"));
    assert!(
        stderr(&table).contains("raise --limit"),
        "{}",
        stderr(&table)
    );
    let bad = run(cfg.path(), &["audit", "--since", "next tuesday"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
}
