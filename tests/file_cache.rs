//! The file cache backend on directories written the way Laravel's file store writes them —
//! by PHP itself.
#![allow(
    clippy::too_many_lines,
    reason = "each test reads as one user story, start to end"
)]

mod common;

use bytes::Bytes;
use cache_console::backend::{self, CacheBackend, ConnectOptions};
use cache_console::config::connection::parse_url;
use cache_console::core::model::{
    Expect, KeyType, PageCursor, ScanRequest, Ttl, TtlChange, ValueItems, WriteOp, WriteOutcome,
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

/// The backend key of an entry named `name`: its sha1, as "Open key" makes it.
fn named(be: &dyn CacheBackend, name: &str) -> Bytes {
    be.capabilities().key_for_name(name.as_bytes())
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
        budget_ms: None,
    };
    let page = be.scan(&request, 0).await.expect("scan");
    let user_hash = sha1_smol::Sha1::from("user:1").digest().to_string();
    assert_eq!(page.keys.len(), 3);
    assert!(page.keys.contains(&b(&user_hash)));

    // Opened by name (hashed, as "Open key" does) or by its listed hash: the same entry.
    let user = named(be.as_ref(), "user:1");
    assert_eq!(user, b(&user_hash));
    let by_name = be.key_details(&user).await.expect("details");
    assert!(
        be.key_details(b"user:1").await.is_err(),
        "a name is not an entry until it is hashed"
    );
    match by_name.meta.ttl {
        Ttl::ExpiresInMs(ms) => assert!((590_000..=600_000).contains(&ms), "{ms}"),
        other => panic!("a TTL was set, and the file tells it: {other:?}"),
    }
    assert!(
        by_name
            .meta
            .preview
            .as_deref()
            .is_some_and(|p| p.contains("Ada"))
    );
    assert_eq!(
        be.key_details(&named(be.as_ref(), "config"))
            .await
            .expect("details")
            .meta
            .ttl,
        Ttl::Persistent
    );
    let meta = be
        .key_meta(&[named(be.as_ref(), "old")])
        .await
        .expect("meta");
    assert_eq!(
        meta[0].as_ref().map(|m| m.ttl),
        Some(Ttl::ExpiresInMs(0)),
        "shown as expired"
    );
    let page = be
        .read_page(&user, &KeyType::String, &PageCursor::Start, 0)
        .await
        .expect("read");
    let ValueItems::String { bytes, .. } = page.items else {
        panic!("string")
    };
    let decoded = cache_console::core::decode::detect(&bytes, None)
        .expect("php")
        .expect("decoded");
    assert_eq!(
        cache_console::core::decode::to_json(&decoded.node),
        serde_json::json!({"name": "Ada", "roles": ["admin"]})
    );

    // A TTL change rewrites the header; PHP still reads the value.
    be.write(&WriteOp::SetTtl {
        key: user.clone(),
        ttl: TtlChange::InMs(7_200_000),
    })
    .await
    .expect("ttl");
    let read = php_in(dir, "echo get($d, 'user:1');");
    let (expiry, json) = read.split_once('|').expect("entry");
    let now = cache_console::core::ttl::now_unix_ms() / 1000;
    let expiry: u64 = expiry.parse().expect("10 digits");
    assert!((now + 7_190..=now + 7_200).contains(&expiry), "{expiry}");
    assert_eq!(json, r#"{"name":"Ada","roles":["admin"]}"#);

    // An edit with the value as loaded goes through; a stale one is a conflict.
    let new_value = php("echo serialize(['name' => 'Ada Lovelace']);");
    let op = WriteOp::SetString {
        key: user.clone(),
        value: Bytes::from(new_value.clone()),
        ttl: TtlChange::Keep,
        expect: Expect::Value(bytes.clone()),
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
    let (saved, deleted) = common::delete_saved(be.as_ref(), &[named(be.as_ref(), "config")]).await;
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
    let err = be
        .key_details(&named(be.as_ref(), "broken"))
        .await
        .expect_err("damaged");
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
    let mut store =
        cache_console::config::profiles::ProfileStore::empty_in(&dirs.path().join("config"));
    cache_console::config::demo::ensure_first_run(&mut store, dirs.path()).expect("seed");
    let db = cache_console::config::demo::demo_path(dirs.path());
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
    assert_eq!(out.status.code(), Some(1), "no terminal, no --yes: refused");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("without --yes"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["del", &url, "--pattern", "ratelimit:*", "--dry-run"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "15");
    let out = run(&["del", &url, "--pattern", "ratelimit:*", "--yes"]);
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

/// The hash path of a key name, relative to the cache directory.
fn entry_path(dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    let h = sha1_smol::Sha1::from(name).digest().to_string();
    dir.join(&h[..2]).join(&h[2..4]).join(&h)
}

#[test]
fn a_planted_symlink_never_turns_a_write_into_writing_elsewhere() {
    let tmp = tempfile::tempdir().expect("dir");
    let dir = tmp.path().join("data");
    std::fs::create_dir(&dir).expect("data");
    let victim = tmp.path().join("victim.conf");
    std::fs::write(&victim, "precious\n").expect("victim");
    let entry = entry_path(&dir, "attack:key");
    let leaf = entry.parent().expect("leaf");
    std::fs::create_dir_all(leaf).expect("leaf");
    let cfg = common::config_dir();
    let url = format!("file://{}", dir.display());
    // The attack as reported: a symlink where the old code put its temp file, named by the
    // pid of the process that `exec` then becomes.
    let script = format!(
        "ln -s {victim} {leaf}/.cache-console-$$.tmp; exec {bin} set {url} attack:key PWNED",
        victim = victim.display(),
        leaf = leaf.display(),
        bin = common::binary().display(),
    );
    let out = std::process::Command::new("bash")
        .args(["-c", &script])
        .env("CACHE_CONSOLE_CONFIG_DIR", cfg.path())
        .env("CACHE_CONSOLE_DATA_DIR", cfg.path())
        .output()
        .expect("bash");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&victim).expect("victim"),
        "precious\n"
    );
    assert!(
        !std::fs::symlink_metadata(&entry)
            .expect("entry")
            .is_symlink()
    );
    assert!(std::fs::read(&entry).expect("entry").ends_with(b"PWNED"));

    // A symlink at the entry itself: replaced by the new entry, never written through, and
    // never read through either.
    std::fs::remove_file(&entry).expect("rm");
    std::os::unix::fs::symlink(&victim, &entry).expect("link");
    let run = |args: &[&str]| common::cli(cfg.path()).args(args).output().expect("run");
    let out = run(&["get", &url, "attack:key"]);
    assert_eq!(out.status.code(), Some(1), "a symlinked entry is not read");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("precious"));
    let out = run(&["set", &url, "attack:key", "again"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&victim).expect("victim"),
        "precious\n"
    );

    // A symlinked hash directory: writes and reads below it are refused.
    let outside = tmp.path().join("outside");
    std::fs::create_dir(&outside).expect("outside");
    let other = entry_path(&dir, "other:key");
    let top = other.parent().and_then(|p| p.parent()).expect("top");
    if top.exists() {
        std::fs::remove_dir_all(top).expect("clear");
    }
    std::os::unix::fs::symlink(&outside, top).expect("dir link");
    let out = run(&["set", &url, "other:key", "x"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("symlink"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read_dir(&outside).expect("outside").count(), 0);
}

#[test]
fn flush_and_purge_stay_inside_the_cache_directory() {
    let tmp = tempfile::tempdir().expect("dir");
    let dir = tmp.path().join("data");
    std::fs::create_dir(&dir).expect("data");
    php_in(&dir, "put($d, 'inside', 'v', 0);");
    // An entry-shaped file outside, reachable only through a symlinked hash directory.
    let outside = tmp.path().join("outside2");
    let name = "0123456789abcdef0123456789abcdef01234567";
    std::fs::create_dir_all(outside.join(&name[2..4])).expect("outside");
    std::fs::write(outside.join(&name[2..4]).join(name), "9999999999s:1:\"x\";").expect("file");
    std::os::unix::fs::symlink(&outside, dir.join(&name[..2])).expect("link");
    let cfg = common::config_dir();
    let url = format!("file://{}", dir.display());
    let run = |args: &[&str]| common::cli(cfg.path()).args(args).output().expect("run");
    let out = run(&["keys", &url, "--count"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "1",
        "the linked entry is not listed"
    );
    let out = run(&["flush", &url, "--yes"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        outside.join(&name[2..4]).join(name).exists(),
        "the outside file survived"
    );
    assert!(!entry_path(&dir, "inside").exists());
    assert!(
        dir.join(&name[..2]).is_symlink(),
        "the link itself is left alone"
    );
}

#[test]
fn a_key_named_like_a_hash_is_its_own_entry() {
    let tmp = tempfile::tempdir().expect("dir");
    let dir = tmp.path();
    let alias = sha1_smol::Sha1::from("query1").digest().to_string();
    php_in(
        dir,
        &format!("put($d, 'query1', 'the query', 0); put($d, '{alias}', 'named like a hash', 0);"),
    );
    let cfg = common::config_dir();
    let url = format!("file://{}", dir.display());
    let run = |args: &[&str]| common::cli(cfg.path()).args(args).output().expect("run");
    let out = run(&["get", &url, &alias, "--decode"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "\"named like a hash\""
    );
    // A listed hash is reached with --hashed: then it is the entry at that hash.
    let out = run(&["get", &url, &alias, "--decode", "--hashed"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "\"the query\"");
    let out = run(&["del", &url, &alias]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1");
    assert_eq!(php_in(dir, &format!("echo get($d, '{alias}');")), "MISSING");
    assert!(php_in(dir, "echo get($d, 'query1');").ends_with("\"the query\""));
}

#[test]
fn edits_keep_the_owner_group_and_mode_of_what_they_rewrite() {
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
    let tmp = tempfile::tempdir().expect("dir");
    let dir = tmp.path().join("data");
    std::fs::create_dir(&dir).expect("data");
    php_in(&dir, "put($d, 'page:1', 'v', 0);");
    let entry = entry_path(&dir, "page:1");
    let leaf = entry.parent().expect("leaf").to_path_buf();
    let top = leaf.parent().expect("top").to_path_buf();
    let root = std::fs::metadata(tmp.path()).expect("meta").uid() == 0;
    // As a web server leaves its cache: www-data (33) owns it, group-writable.
    let (uid, gid) = if root { (33, 33) } else { (u32::MAX, u32::MAX) };
    for (path, mode) in [
        (&dir, 0o2775),
        (&top, 0o2775),
        (&leaf, 0o2775),
        (&entry, 0o664),
    ] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        if root {
            std::os::unix::fs::chown(path, Some(uid), Some(gid)).expect("chown");
        }
    }
    let cfg = common::config_dir();
    let url = format!("file://{}", dir.display());
    let run = |args: &[&str]| common::cli(cfg.path()).args(args).output().expect("run");
    for args in [
        vec!["set", url.as_str(), "page:1", "new value"],
        vec!["ttl", url.as_str(), "page:1", "1h"],
        vec!["set", url.as_str(), "page:2", "brand new"],
    ] {
        let out = run(&args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let meta = std::fs::metadata(&entry).expect("entry");
    assert_eq!(meta.mode() & 0o7777, 0o664, "mode kept");
    let fresh = entry_path(&dir, "page:2");
    let fresh_meta = std::fs::metadata(&fresh).expect("new entry");
    assert_eq!(
        fresh_meta.mode() & 0o777,
        0o664,
        "a new entry is made like its directory"
    );
    for made in [
        fresh.parent().expect("leaf"),
        fresh.parent().and_then(|p| p.parent()).expect("top"),
    ] {
        let m = std::fs::metadata(made).expect("dir");
        assert_eq!(
            m.mode() & 0o7777,
            0o2775,
            "{} like its parent",
            made.display()
        );
        if root {
            assert_eq!((m.uid(), m.gid()), (uid, gid), "{}", made.display());
        }
    }
    if root {
        assert_eq!((meta.uid(), meta.gid()), (uid, gid), "owner kept");
        assert_eq!(
            (fresh_meta.uid(), fresh_meta.gid()),
            (uid, gid),
            "owner of the directory"
        );
    }
}
