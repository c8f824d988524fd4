//! `export` and `import` against real servers: every type, value and TTL comes back after an
//! export, a flush and an import (compared member by member, not by DUMP bytes) in each
//! format; a `commands` export loads with plain `redis-cli < FILE`; a DUMP export is refused on
//! another major version; conflict policies; a read-only profile refuses an import; an import
//! into a cluster lands each key on its slot's owner; strings go into memcached and what it
//! cannot hold is reported.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::cluster::RedisCluster;
use common::{MemcachedServer, RedisServer, cli, ok};

fn run(cfg: &Path, args: &[&str]) -> std::process::Output {
    cli(cfg).args(args).output().expect("run cache-console")
}

fn fill(c: &mut redis::Connection) {
    let mut pipe = redis::pipe();
    pipe.cmd("SET")
        .arg(b"bin:\xff\x00key")
        .arg(b"v\x00\xff\n\"q\"")
        .ignore();
    pipe.cmd("SET").arg("plain").arg("text é").ignore();
    pipe.cmd("PEXPIRE").arg("plain").arg(3_600_000).ignore();
    pipe.cmd("HSET")
        .arg("user:1")
        .arg("name")
        .arg("Ada")
        .arg("bytes")
        .arg(b"\x01\x02")
        .ignore();
    pipe.cmd("RPUSH")
        .arg("queue")
        .arg("a")
        .arg("b")
        .arg("a")
        .ignore();
    pipe.cmd("EXPIRE").arg("queue").arg(600).ignore();
    pipe.cmd("SADD").arg("tags").arg("x").arg("y").ignore();
    pipe.cmd("ZADD")
        .arg("rank")
        .arg("1.5")
        .arg("one")
        .arg("-inf")
        .arg("low")
        .arg("0.1")
        .arg("tenth")
        .ignore();
    pipe.cmd("XADD")
        .arg("events")
        .arg("1-1")
        .arg("k")
        .arg("v")
        .ignore();
    pipe.cmd("XADD")
        .arg("events")
        .arg("2-0")
        .arg("a")
        .arg("1")
        .arg("b")
        .arg("2")
        .ignore();
    // Enough fields to take several pages and several commands.
    for i in 0..2_500 {
        pipe.cmd("HSET")
            .arg("big")
            .arg(format!("f{i}"))
            .arg(i)
            .ignore();
    }
    pipe.query::<()>(c).expect("fill");
}

/// Every key as its type and value, compared logically; TTLs rounded to seconds.
fn snapshot(c: &mut redis::Connection) -> BTreeMap<Vec<u8>, (String, String, i64)> {
    let keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(c).expect("keys");
    let mut out = BTreeMap::new();
    for key in keys {
        let kind: String = redis::cmd("TYPE").arg(&key).query(c).expect("type");
        let value = match kind.as_str() {
            "string" => {
                let v: Vec<u8> = redis::cmd("GET").arg(&key).query(c).expect("get");
                format!("{v:?}")
            }
            "hash" => {
                let mut v: Vec<(Vec<u8>, Vec<u8>)> =
                    redis::cmd("HGETALL").arg(&key).query(c).expect("hgetall");
                v.sort();
                format!("{v:?}")
            }
            "list" => {
                let v: Vec<Vec<u8>> = redis::cmd("LRANGE")
                    .arg(&key)
                    .arg(0)
                    .arg(-1)
                    .query(c)
                    .expect("lrange");
                format!("{v:?}")
            }
            "set" => {
                let mut v: Vec<Vec<u8>> =
                    redis::cmd("SMEMBERS").arg(&key).query(c).expect("smembers");
                v.sort();
                format!("{v:?}")
            }
            "zset" => {
                let v: Vec<(Vec<u8>, String)> = redis::cmd("ZRANGE")
                    .arg(&key)
                    .arg(0)
                    .arg(-1)
                    .arg("WITHSCORES")
                    .query(c)
                    .expect("zrange");
                format!("{v:?}")
            }
            "stream" => {
                let v: redis::Value = redis::cmd("XRANGE")
                    .arg(&key)
                    .arg("-")
                    .arg("+")
                    .query(c)
                    .expect("xrange");
                format!("{v:?}")
            }
            other => panic!("unexpected type {other}"),
        };
        let pttl: i64 = redis::cmd("PTTL").arg(&key).query(c).expect("pttl");
        // A TTL is kept to within a few seconds of what it was.
        let ttl = if pttl < 0 {
            pttl
        } else {
            (pttl + 5_000) / 10_000
        };
        out.insert(key, (kind, value, ttl));
    }
    out
}

fn flush(c: &mut redis::Connection) {
    redis::cmd("FLUSHDB").query::<()>(c).expect("flush");
}

#[test]
fn every_type_value_and_ttl_comes_back_in_each_format() {
    let server = RedisServer::start();
    let cfg = common::config_dir();
    let url = server.url();
    let mut c = server.conn();
    fill(&mut c);
    let before = snapshot(&mut c);
    for (format, extra) in [("jsonl", None), ("jsonl", Some("--base64")), ("dump", None)] {
        let file = cfg.path().join(format!("export-{format}.jsonl"));
        let file = file.to_str().expect("path");
        let mut args = vec!["export", &url, "--format", format, "-o", file];
        args.extend(extra);
        let out = run(cfg.path(), &args);
        ok(&out);
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("exported 8 keys"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        flush(&mut c);
        let imported = ok(&run(cfg.path(), &["import", &url, file]));
        assert!(imported.starts_with("imported 8 keys"), "{imported}");
        assert_eq!(snapshot(&mut c), before, "{format} {extra:?}");
    }
}

#[test]
fn a_commands_export_loads_with_plain_redis_cli() {
    let server = RedisServer::start();
    let other = RedisServer::start();
    let cfg = common::config_dir();
    let mut c = server.conn();
    fill(&mut c);
    let file = cfg.path().join("export.redis");
    ok(&run(
        cfg.path(),
        &[
            "export",
            &server.url(),
            "--format",
            "commands",
            "-o",
            file.to_str().expect("path"),
        ],
    ));
    let status = std::process::Command::new("redis-cli")
        .args(["-p", &other.port.to_string()])
        .stdin(std::fs::File::open(&file).expect("file"))
        .stdout(std::process::Stdio::null())
        .status()
        .expect("redis-cli");
    assert!(status.success());
    assert_eq!(snapshot(&mut other.conn()), snapshot(&mut c));
    // A commands file is for redis-cli: importing it here says so.
    let refused = run(
        cfg.path(),
        &["import", &other.url(), file.to_str().expect("path")],
    );
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("redis-cli < FILE"));
}

#[test]
fn a_dump_export_is_refused_on_another_major_version() {
    let server = RedisServer::start();
    let cfg = common::config_dir();
    let mut c = server.conn();
    fill(&mut c);
    let file = cfg.path().join("dump.jsonl");
    ok(&run(
        cfg.path(),
        &[
            "export",
            &server.url(),
            "--format",
            "dump",
            "-o",
            file.to_str().expect("path"),
        ],
    ));
    // The header as an older Redis would have written it.
    let text = std::fs::read_to_string(&file).expect("read");
    let (header, body) = text.split_once('\n').expect("lines");
    let mut header: serde_json::Value = serde_json::from_str(header).expect("header");
    header["redis_version"] = serde_json::json!("6.2.14");
    std::fs::write(&file, format!("{header}\n{body}")).expect("write");
    flush(&mut c);
    let refused = run(
        cfg.path(),
        &["import", &server.url(), file.to_str().expect("path")],
    );
    assert_eq!(refused.status.code(), Some(1));
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(
        why.contains("Redis 6.2.14") && why.contains("same major version"),
        "{why}"
    );
    let n: i64 = redis::cmd("DBSIZE").query(&mut c).expect("dbsize");
    assert_eq!(n, 0, "nothing restored");
}

#[test]
fn a_key_that_exists_is_skipped_replaced_or_stops_the_import() {
    let server = RedisServer::start();
    let cfg = common::config_dir();
    let url = server.url();
    let mut c = server.conn();
    for i in 0..5 {
        redis::cmd("SET")
            .arg(format!("k{i}"))
            .arg("new")
            .query::<()>(&mut c)
            .expect("set");
    }
    let file = cfg.path().join("keys.jsonl");
    let path = file.to_str().expect("path");
    ok(&run(cfg.path(), &["export", &url, "-o", path]));
    // The order in the file (SCAN's) says which keys come before the one that exists.
    let order: Vec<String> = std::fs::read_to_string(&file)
        .expect("read")
        .lines()
        .skip(1)
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("record");
            v["key"].as_str().expect("key").to_owned()
        })
        .collect();
    let blocker = order[2].clone();
    let reset = |c: &mut redis::Connection| {
        flush(c);
        redis::cmd("SET")
            .arg(&blocker)
            .arg("old")
            .query::<()>(c)
            .expect("set");
    };
    let get = |c: &mut redis::Connection, k: &str| -> Option<String> {
        redis::cmd("GET").arg(k).query(c).expect("get")
    };

    reset(&mut c);
    let out = ok(&run(cfg.path(), &["import", &url, path]));
    assert!(out.contains("imported 4 keys, skipped 1"), "{out}");
    assert_eq!(get(&mut c, &blocker).as_deref(), Some("old"));

    reset(&mut c);
    ok(&run(
        cfg.path(),
        &["import", &url, path, "--on-conflict", "replace"],
    ));
    assert_eq!(get(&mut c, &blocker).as_deref(), Some("new"));

    reset(&mut c);
    let stopped = run(cfg.path(), &["import", &url, path, "--on-conflict", "stop"]);
    assert_eq!(stopped.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&stopped.stderr).contains("imported 2 keys, then stopped"));
    assert_eq!(get(&mut c, &blocker).as_deref(), Some("old"));
    assert_eq!(
        get(&mut c, &order[0]).as_deref(),
        Some("new"),
        "before it: written"
    );
    assert_eq!(get(&mut c, &order[4]), None, "after it: not written");
}

#[test]
fn a_read_only_profile_refuses_an_import_and_writes_are_audited_per_batch() {
    let server = RedisServer::start();
    let cfg = common::config_dir();
    let url = server.url();
    let mut c = server.conn();
    fill(&mut c);
    let file = cfg.path().join("all.jsonl");
    let path = file.to_str().expect("path");
    ok(&run(cfg.path(), &["export", &url, "-o", path]));
    flush(&mut c);
    ok(&run(
        cfg.path(),
        &["profiles", "add", "ro", &url, "--read-only"],
    ));
    let refused = run(cfg.path(), &["import", "--profile", "ro", path]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("read-only"));
    let n: i64 = redis::cmd("DBSIZE").query(&mut c).expect("dbsize");
    assert_eq!(n, 0, "nothing reached the server");
    ok(&run(cfg.path(), &["profiles", "add", "rw", &url]));
    ok(&run(cfg.path(), &["import", "--profile", "rw", path]));
    let log = std::fs::read_to_string(cfg.path().join("audit.jsonl")).expect("audit log");
    let imports: Vec<&str> = log.lines().filter(|l| l.contains("\"import\"")).collect();
    assert_eq!(imports.len(), 2, "one refused batch, one written: {log}");
    assert!(imports[1].contains("8 written"), "{}", imports[1]);
}

#[test]
fn an_import_into_a_cluster_lands_every_key_on_its_slots_owner() {
    let server = RedisServer::start();
    let cluster = RedisCluster::start();
    let cfg = common::config_dir();
    let mut c = server.conn();
    fill(&mut c);
    let file = cfg.path().join("to-cluster.jsonl");
    let path = file.to_str().expect("path");
    ok(&run(cfg.path(), &["export", &server.url(), "-o", path]));
    let out = ok(&run(cfg.path(), &["import", &cluster.url(), path]));
    assert!(out.starts_with("imported 8 keys"), "{out}");
    let mut on_nodes = 0;
    for node in &cluster.nodes[..cluster.primaries] {
        let n: i64 = redis::cmd("DBSIZE")
            .query(&mut node.conn())
            .expect("dbsize");
        on_nodes += n;
    }
    assert_eq!(on_nodes, 8, "each key once, on the node serving its slot");
    let mut cc = cluster.client();
    let len: i64 = redis::cmd("HLEN").arg("big").query(&mut cc).expect("hlen");
    assert_eq!(len, 2_500);
    let pttl: i64 = redis::cmd("PTTL")
        .arg("queue")
        .query(&mut cc)
        .expect("pttl");
    assert!(pttl > 590_000, "{pttl}");
}

#[test]
fn strings_go_into_memcached_and_what_it_cannot_hold_is_reported() {
    let server = RedisServer::start();
    let memcached = MemcachedServer::start();
    let cfg = common::config_dir();
    let mut c = server.conn();
    fill(&mut c);
    let file = cfg.path().join("strings.jsonl");
    let path = file.to_str().expect("path");
    ok(&run(cfg.path(), &["export", &server.url(), "-o", path]));
    let url = format!("memcached://{}", memcached.addr());
    let out = run(cfg.path(), &["import", &url, path]);
    assert_eq!(out.status.code(), Some(1), "some keys could not go");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("imported 2 keys"), "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not imported: user:1") && stderr.contains("strings only"),
        "{stderr}"
    );
    assert!(memcached.raw("get plain\r\n", "END").contains("text é"));
    // A key that is not text went too (as the meta protocol's base64 key).
    let binary = run(cfg.path(), &["get", &url, "bin:\\xff\\x00key"]);
    assert!(
        binary.status.success(),
        "{}",
        String::from_utf8_lossy(&binary.stderr)
    );
    assert_eq!(binary.stdout, b"v\x00\xff\n\"q\"");
}

#[test]
fn every_type_is_copied_between_redis_servers_of_any_topology() {
    let server = RedisServer::start();
    let cluster = RedisCluster::start();
    let back = RedisServer::start();
    let cfg = common::config_dir();
    let mut c = server.conn();
    fill(&mut c);
    let before = snapshot(&mut c);
    let out = ok(&run(cfg.path(), &["copy", &server.url(), &cluster.url()]));
    assert!(out.starts_with("copied 8 keys"), "{out}");
    // And from the cluster (a listing over every primary) to a standalone server.
    let out = ok(&run(cfg.path(), &["copy", &cluster.url(), &back.url()]));
    assert!(out.starts_with("copied 8 keys"), "{out}");
    assert_eq!(snapshot(&mut back.conn()), before);
    // Again: every key exists now, so each is skipped, and the values stay.
    let out = ok(&run(cfg.path(), &["copy", &cluster.url(), &back.url()]));
    assert!(out.contains("skipped 8"), "{out}");
}

#[test]
fn strings_are_copied_between_redis_memcached_sql_and_file_caches_and_back() {
    let server = RedisServer::start();
    let memcached = MemcachedServer::start();
    let cfg = common::config_dir();
    let mut c = server.conn();
    for i in 1..=5 {
        redis::cmd("SET")
            .arg(format!("s:{i}"))
            .arg(format!("value {i} \u{e9}"))
            .query::<()>(&mut c)
            .expect("set");
    }
    redis::cmd("SET")
        .arg("s:6")
        .arg(b"\x00\xffbin")
        .query::<()>(&mut c)
        .expect("set");
    redis::cmd("EXPIRE")
        .arg("s:2")
        .arg(3_600)
        .query::<()>(&mut c)
        .expect("expire");
    redis::cmd("HSET")
        .arg("h:1")
        .arg("f")
        .arg("v")
        .query::<()>(&mut c)
        .expect("hset");
    let source = snapshot(&mut c);
    let strings: BTreeMap<_, _> = source
        .iter()
        .filter(|(k, _)| k.starts_with(b"s:"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let demo_dir = tempfile::tempdir().expect("dir");
    let mut store =
        cache_console::config::profiles::ProfileStore::empty_in(&demo_dir.path().join("config"));
    cache_console::config::demo::ensure_first_run(&mut store, demo_dir.path()).expect("seed");
    let sqlite = format!(
        "sqlite://{}?table=cache",
        cache_console::config::demo::demo_path(demo_dir.path()).display()
    );
    let files = tempfile::tempdir().expect("file cache");
    let file_url = format!("file://{}", files.path().display());
    let mem_url = format!("memcached://{}", memcached.addr());
    for destination in [&mem_url, &sqlite, &file_url] {
        let out = ok(&run(
            cfg.path(),
            &["copy", &server.url(), destination, "s:*"],
        ));
        assert!(out.starts_with("copied 6 keys"), "{destination}: {out}");
        let again = RedisServer::start();
        let out = ok(&run(cfg.path(), &["copy", destination, &again.url()]));
        assert!(out.contains("copied"), "{out}");
        let got = snapshot(&mut again.conn());
        if destination == &file_url {
            // Laravel's file store keeps a name's sha1, not the name: those come back.
            assert_eq!(got.len(), 6);
            let name = sha1_smol::Sha1::from("s:1").digest().to_string();
            assert_eq!(got[name.as_bytes()], strings[&b"s:1".to_vec()]);
        } else {
            let got: BTreeMap<_, _> = got
                .into_iter()
                .filter(|(k, _)| k.starts_with(b"s:"))
                .collect();
            assert_eq!(got, strings, "through {destination}");
        }
    }
    // A hash cannot go into a store of strings: said, and the copy exits 1.
    let refused = run(cfg.path(), &["copy", &server.url(), &mem_url, "h:*"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("strings only"));
}
