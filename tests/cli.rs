//! The command-line twin, run as a real process against real redis-server processes.

mod common;

use std::process::{Command, Output};

use common::{RedisServer, binary, config_dir, fill};

fn run(config: &std::path::Path, args: &[&str]) -> Output {
    Command::new(binary())
        .args(args)
        .env("CACHE_CONSOLE_CONFIG_DIR", config)
        .env_remove("CACHE_CONSOLE_PASSWORD")
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
