//! The file cache backend on directories written the way Laravel's file store writes them —
//! by PHP itself.

mod common;

use std::time::Duration;

use bytes::Bytes;
use cache_console::backend::{self, CacheBackend, ConnectOptions};
use cache_console::connection::parse_url;
use cache_console::model::{
    KeyType, PageCursor, ScanRequest, Ttl, TtlChange, ValueItems, WriteOp, WriteOutcome,
};
use common::{b, php};

/// Laravel's `FileStore::put`, verbatim in spirit: sha1 path, 10-digit expiry, `serialize()`.
const PUT: &str = r"
function put($dir, $key, $value, $seconds) {
    $hash = sha1($key);
    $parts = array_slice(str_split($hash, 2), 0, 2);
    $path = $dir.'/'.implode('/', $parts).'/'.$hash;
    @mkdir(dirname($path), 0777, true);
    $expire = $seconds === 0 ? 9999999999 : time() + $seconds;
    file_put_contents($path, $expire.serialize($value));
    return $path;
}
function get($dir, $key) {
    $hash = sha1($key);
    $path = $dir.'/'.substr($hash, 0, 2).'/'.substr($hash, 2, 2).'/'.$hash;
    $c = @file_get_contents($path);
    if ($c === false) { return 'MISSING'; }
    return substr($c, 0, 10).'|'.json_encode(unserialize(substr($c, 10)));
}
";

fn php_in(dir: &std::path::Path, body: &str) -> String {
    let code = format!("{PUT} $d = '{}'; {body}", dir.display());
    String::from_utf8(php(&code)).expect("utf8")
}

async fn open(dir: &std::path::Path) -> Box<dyn CacheBackend> {
    common::open_url(&format!("file://{}", dir.display())).await
}

#[tokio::test]
async fn entries_written_by_php_are_listed_read_edited_and_purged() {
    let tmp = tempfile::tempdir().expect("dir");
    let dir = tmp.path();
    php_in(
        dir,
        "put($d, 'user:1', ['name' => 'Ada', 'roles' => ['admin']], 600);
         put($d, 'config', 'forever value', 0);
         $p = put($d, 'old', 1, 600);
         file_put_contents($p, (time() - 10).serialize(1));",
    );
    std::fs::write(dir.join(".gitignore"), "*\n!.gitignore\n").expect("gitignore");
    std::fs::write(dir.join("notes.txt"), "not an entry").expect("notes");
    let be = open(dir).await;
    assert!(be.capabilities().purge_expired);
    assert_eq!(be.key_count().await.expect("count"), 3);
    let request = ScanRequest {
        pattern: b"*".to_vec(),
        type_filter: None,
        count: 1000,
        server: None,
    };
    let page = be.scan(&request, 0).await.expect("scan");
    let user_hash = sha1_smol::Sha1::from("user:1").digest().to_string();
    assert_eq!(page.keys.len(), 3);
    assert!(page.keys.contains(&b(&user_hash)));

    // Opened by name (hashed) or by hash: the same entry, decoded.
    let by_name = be.key_details(b"user:1").await.expect("details");
    let by_hash = be.key_details(user_hash.as_bytes()).await.expect("details");
    assert_eq!(by_name.length, by_hash.length);
    match by_name.meta.ttl {
        Ttl::ExpiresInMs(ms) => assert!((590_000..=600_000).contains(&ms), "{ms}"),
        Ttl::Persistent => panic!("a TTL was set"),
    }
    assert!(
        by_name
            .meta
            .preview
            .as_deref()
            .is_some_and(|p| p.contains("Ada"))
    );
    assert_eq!(
        be.key_details(b"config").await.expect("details").meta.ttl,
        Ttl::Persistent
    );
    let meta = be.key_meta(&[b("old")]).await.expect("meta");
    assert_eq!(
        meta[0].as_ref().map(|m| m.ttl),
        Some(Ttl::ExpiresInMs(0)),
        "shown as expired"
    );
    let page = be
        .read_page(b"user:1", &KeyType::String, &PageCursor::Start, 0)
        .await
        .expect("read");
    let ValueItems::String { bytes, .. } = page.items else {
        panic!("string")
    };
    let decoded = cache_console::decode::detect(&bytes, None)
        .expect("php")
        .expect("decoded");
    assert_eq!(
        cache_console::decode::to_json(&decoded.node),
        serde_json::json!({"name": "Ada", "roles": ["admin"]})
    );

    // A TTL change rewrites the header; PHP still reads the value.
    be.write(&WriteOp::SetTtl {
        key: b("user:1"),
        ttl: TtlChange::InMs(7_200_000),
    })
    .await
    .expect("ttl");
    let read = php_in(dir, "echo get($d, 'user:1');");
    let (expiry, json) = read.split_once('|').expect("entry");
    let now = cache_console::ttl::now_unix_ms() / 1000;
    let expiry: u64 = expiry.parse().expect("10 digits");
    assert!((now + 7_190..=now + 7_200).contains(&expiry), "{expiry}");
    assert_eq!(json, r#"{"name":"Ada","roles":["admin"]}"#);

    // An edit with the value as loaded goes through; a stale one is a conflict.
    let new_value = php("echo serialize(['name' => 'Ada Lovelace']);");
    let op = WriteOp::SetString {
        key: b("user:1"),
        value: Bytes::from(new_value.clone()),
        ttl: TtlChange::Keep,
        expect: Some(Some(bytes.clone())),
    };
    assert_eq!(be.write(&op).await.expect("set"), WriteOutcome::Done(1));
    assert_eq!(be.write(&op).await.expect("set"), WriteOutcome::Conflict);
    assert!(php_in(dir, "echo get($d, 'user:1');").ends_with(r#"{"name":"Ada Lovelace"}"#));

    // Purge removes the expired entry only; undo brings a deleted one back.
    assert_eq!(
        be.write(&WriteOp::PurgeExpired).await.expect("purge"),
        WriteOutcome::Done(1)
    );
    assert_eq!(php_in(dir, "echo get($d, 'old');"), "MISSING");
    let (saved, deleted) = common::delete_saved(be.as_ref(), &[b("config")]).await;
    assert_eq!(deleted, WriteOutcome::Done(1));
    assert_eq!(php_in(dir, "echo get($d, 'config');"), "MISSING");
    be.write(&WriteOp::Restore { keys: saved })
        .await
        .expect("restore");
    assert!(php_in(dir, "echo get($d, 'config');").starts_with("9999999999|"));

    // Flush empties the entries and nothing else.
    assert_eq!(
        be.write(&WriteOp::FlushDb).await.expect("flush"),
        WriteOutcome::Done(2)
    );
    assert_eq!(be.key_count().await.expect("count"), 0);
    assert!(dir.join(".gitignore").exists() && dir.join("notes.txt").exists());
    tokio::time::sleep(Duration::from_millis(1)).await;
}

#[tokio::test]
async fn a_damaged_entry_or_missing_directory_is_a_clear_error() {
    let tmp = tempfile::tempdir().expect("dir");
    let dir = tmp.path();
    let hash = sha1_smol::Sha1::from("broken").digest().to_string();
    let path = dir.join(&hash[..2]).join(&hash[2..4]);
    std::fs::create_dir_all(&path).expect("mkdir");
    std::fs::write(path.join(&hash), b"xx").expect("write");
    let be = open(dir).await;
    let err = be.key_details(b"broken").await.expect_err("damaged");
    assert!(err.to_string().contains("not a cache entry"), "{err}");
    let (spec, _) = parse_url("file:///no/such/cache/dir").expect("url");
    let err = backend::connect(&spec, None, &ConnectOptions::default())
        .await
        .err()
        .expect("missing");
    assert!(err.to_string().contains("/no/such/cache/dir"), "{err}");
    assert!(parse_url("file://relative/path").is_err());
}

#[test]
fn the_cli_reads_a_file_cache() {
    let tmp = tempfile::tempdir().expect("dir");
    let dir = tmp.path();
    php_in(
        dir,
        "put($d, 'session:abc', ['user' => 7], 300); put($d, 'x', 'y', 0);",
    );
    let cfg = common::config_dir();
    let url = format!("file://{}", dir.display());
    let run = |args: &[&str]| common::cli(cfg.path()).args(args).output().expect("run");
    let out = run(&["keys", &url, "--count"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "2");
    let out = run(&["get", &url, "session:abc", "--decode"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json, serde_json::json!({"user": 7}));
    let out = run(&["ttl", &url, "x"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "-1");
    let out = run(&["del", &url, "x"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1");
    let out = run(&["flush", &url, "--yes"]);
    assert!(out.status.success());
    let out = run(&["keys", &url, "--count"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0");
}

#[test]
fn the_cli_reads_an_sqlite_cache_table() {
    let dirs = tempfile::tempdir().expect("dirs");
    let mut store = cache_console::profiles::ProfileStore::empty_in(&dirs.path().join("config"));
    cache_console::demo::ensure_first_run(&mut store, dirs.path()).expect("seed");
    let db = cache_console::demo::demo_path(dirs.path());
    let url = format!("sqlite://{}?table=cache", db.display());
    let run = |args: &[&str]| common::cli(dirs.path()).args(args).output().expect("run");
    let out = run(&["keys", &url, "product:*", "--count"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "30",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["get", &url, "product:7:inventory", "--decode"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["sku"], "P-0007");
    let out = run(&["set", &url, "note", "hello", "--ttl", "1h"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["ttl", &url, "note"]);
    let secs: i64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("secs");
    assert!((3590..=3600).contains(&secs), "{secs}");
    let out = run(&["del", &url, "--pattern", "ratelimit:*"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "15");
    let out = run(&["keys", "sqlite:///no/such.db?table=cache"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn stats_count_live_and_expired_entries_and_their_bytes() {
    let tmp = tempfile::tempdir().expect("dir");
    let dir = tmp.path();
    php_in(
        dir,
        "put($d, 'a', 'hello', 300); put($d, 'b', [1, 2, 3], 0); put($d, 'old', 'x', -5);",
    );
    std::fs::write(dir.join("not-an-entry.txt"), "ignored").expect("write");
    let values: usize = [
        php("echo serialize('hello');"),
        php("echo serialize([1, 2, 3]);"),
        php("echo serialize('x');"),
    ]
    .iter()
    .map(Vec::len)
    .sum();
    let cfg = common::config_dir();
    let url = format!("file://{}", dir.display());
    let json = common::cli_json(cfg.path(), &["stats", &url, "--json", "--interval", "0.2"]);
    assert_eq!(json["keys"], 3.0);
    assert_eq!(json["expired_entries"], 1.0);
    assert_eq!(json["live_entries"], 2.0);
    assert_eq!(json["total_size_bytes"], values as f64);
    assert!(
        json["hit_rate_pct"].is_null(),
        "a file cache counts no hits"
    );
}
