//! Real Laravel as the judge of every store's format: Laravel (Debian's Laravel 8 cache
//! components) writes a set of values through its own `Repository` into Redis, memcached, a
//! file cache and a database cache table (SQLite, PostgreSQL, MariaDB); the console lists and decodes them to what Laravel
//! reads; then the console edits one (through "Edit decoded": the scalars changed,
//! re-serialized and wrapped as before), changes TTLs and deletes one, and Laravel reads back
//! exactly what the console says it did.

mod common;

use std::time::Duration;

use bytes::Bytes;
use cache_console::backend::CacheBackend;
use cache_console::core::decode;
use cache_console::core::model::{Expect, ScanRequest, Ttl, TtlChange, WriteOp};
use common::laravel::{Store, laravel};
use common::{MemcachedServer, RedisServer};

/// What Laravel writes: name, the PHP value, and its TTL in seconds (0: forever).
const VALUES: &[(&str, &str, u32)] = &[
    (
        "user:1",
        // Notes long enough for php-memcached to compress the value (FastLZ, its default).
        "['name' => 'Ada', 'roles' => ['admin', 'ops'], 'visits' => 3, 'score' => 9.5, \
         'active' => true, 'notes' => str_repeat('Analytical Engine. ', 200)]",
        600,
    ),
    ("counter", "42", 0),
    ("price", "19.99", 600),
    ("greeting", "'Zoë says \"hi\" 東京'", 600),
    ("flags", "[1, 2, 3]", 0),
    ("short", "'goes soon'", 600),
];

/// The stored bytes of a string value and the flags stored beside it (memcached).
async fn stored(be: &dyn CacheBackend, key: &[u8]) -> (Bytes, Option<u32>) {
    let details = be.key_details(key).await.expect("details");
    let bytes = be
        .read_string_range(key, 0, details.length)
        .await
        .expect("value");
    (bytes, details.flags)
}

/// The value as the console decodes it, as JSON; a value no decoder claims is its text.
fn console_json(bytes: &[u8], flags: Option<u32>) -> serde_json::Value {
    match decode::detect(bytes, flags) {
        Some(Ok(decoded)) => decode::to_json(&decoded.node),
        Some(Err(e)) => panic!("decoding failed: {e}"),
        None => serde_json::Value::String(String::from_utf8_lossy(bytes).into_owned()),
    }
}

/// What Laravel reads for `name`, as JSON. A number a store keeps as raw text comes back to
/// Laravel as that text: compared as the number it is.
fn laravel_json(store: &Store, name: &str) -> serde_json::Value {
    let text = laravel(
        store,
        &format!("$v = $cache->get('{name}'); echo json_encode(is_numeric($v) ? $v + 0 : $v);"),
    );
    serde_json::from_str(&text).expect("Laravel's JSON")
}

/// "Edit decoded", as the viewer does it: Ada becomes Grace, the value re-serialized and
/// wrapped as before, its TTL kept, refused if it changed meanwhile.
async fn edit_decoded(store: &Store, be: &dyn CacheBackend) {
    edit_decoded_as(store, be, &store.key_of("user:1")).await;
}

/// [`edit_decoded`] on the key the console shows as `user`.
async fn edit_decoded_as(store: &Store, be: &dyn CacheBackend, user: &[u8]) {
    let decoded = save_decoded(be, user, |s| (s.text == "Ada").then(|| "Grace".to_owned())).await;
    if matches!(store, Store::Memcached { .. }) {
        assert_eq!(
            decoded.labels(),
            ["PHP memcached flags", "FastLZ", "PHP serialize"],
            "php-memcached compressed it"
        );
    }
    match be.key_details(user).await.expect("details").meta.ttl {
        Ttl::ExpiresInMs(ms) => assert!(ms > 500_000, "the TTL is kept: {ms} ms left"),
        other => panic!("the edit dropped the TTL: {other:?}"),
    }
}

/// What the viewer's "Edit decoded" saves: the value at `key` decoded, each scalar `change`
/// gives new text for replaced, re-serialized and wrapped as before, its TTL kept, refused if
/// it changed meanwhile. The value as it was decoded.
async fn save_decoded(
    be: &dyn CacheBackend,
    key: &[u8],
    change: impl Fn(&decode::Scalar) -> Option<String>,
) -> decode::Decoded {
    let (before, flags) = stored(be, key).await;
    let decoded = decode::detect(&before, flags)
        .expect("detected")
        .expect("decoded");
    let texts: Vec<String> = decode::scalars(&decoded.node)
        .iter()
        .map(|s| change(s).unwrap_or_else(|| s.text.clone()))
        .collect();
    let node = decode::with_scalars(&decoded.node, &texts).expect("edited");
    be.write(&WriteOp::SetString {
        key: Bytes::copy_from_slice(key),
        value: Bytes::from(decode::reencode(&decoded.steps, &node).expect("re-encoded")),
        ttl: TtlChange::Keep,
        expect: Expect::Value(before),
    })
    .await
    .expect("saved");
    decoded
}

/// Laravel writes, the console reads and changes, Laravel reads back.
async fn laravel_judges(store: Store, url: &str) {
    let writes: String = VALUES
        .iter()
        .map(|(name, value, ttl)| match ttl {
            0 => format!("$cache->forever('{name}', {value});"),
            _ => format!("$cache->put('{name}', {value}, {ttl});"),
        })
        .collect();
    assert_eq!(laravel(&store, &writes), "", "Laravel wrote quietly");

    let be = common::open_url(url).await;
    let keys = common::list_keys(be.as_ref(), "*").await;
    for (name, _, _) in VALUES {
        let key = store.key_of(name);
        assert!(
            keys.contains(&key),
            "{url}: `{name}` is listed as {}",
            String::from_utf8_lossy(&key)
        );
        let (bytes, flags) = stored(be.as_ref(), &key).await;
        let mut seen = console_json(&bytes, flags);
        // A number Laravel stored as raw text is read by the console as that number's text.
        if let serde_json::Value::String(s) = &seen
            && let Ok(n) = serde_json::from_str::<serde_json::Number>(s)
        {
            seen = serde_json::Value::Number(n);
        }
        assert_eq!(seen, laravel_json(&store, name), "{url}: `{name}`");
    }

    edit_decoded(&store, be.as_ref()).await;
    assert_eq!(
        laravel(
            &store,
            "$u = $cache->get('user:1'); echo $u['name'], '|', implode(',', $u['roles']), '|', \
             $u['visits'] + 1, '|', var_export($u['active'], true);"
        ),
        "Grace|admin,ops|4|true",
        "{url}: Laravel reads the edit"
    );

    // TTLs: made forever, made short (Laravel sees it go), and a delete.
    be.write(&WriteOp::SetTtl {
        key: Bytes::from(store.key_of("price")),
        ttl: TtlChange::Persist,
    })
    .await
    .expect("persist");
    be.write(&WriteOp::SetTtl {
        key: Bytes::from(store.key_of("short")),
        ttl: TtlChange::InMs(2_000),
    })
    .await
    .expect("short ttl");
    be.write(&WriteOp::Delete {
        keys: vec![Bytes::from(store.key_of("counter"))],
    })
    .await
    .expect("delete");
    assert_eq!(
        laravel(
            &store,
            "echo json_encode([$cache->has('counter'), $cache->get('price') + 0, \
             $cache->get('short')]);"
        ),
        r#"[false,19.99,"goes soon"]"#,
        "{url}: the delete is gone for Laravel, the other two still there"
    );
    tokio::time::sleep(Duration::from_millis(3_200)).await;
    assert_eq!(
        laravel(
            &store,
            "echo json_encode([$cache->has('short'), $cache->get('price') + 0]);"
        ),
        "[false,19.99]",
        "{url}: the short TTL expired for Laravel too; the persisted one did not"
    );
}

#[tokio::test]
async fn laravel_judges_the_redis_store() {
    let redis = RedisServer::start();
    laravel_judges(
        Store::Redis { port: redis.port },
        &format!("redis://127.0.0.1:{}/0", redis.port),
    )
    .await;
}

#[tokio::test]
async fn laravel_judges_the_memcached_store() {
    let memcached = MemcachedServer::start();
    laravel_judges(
        Store::Memcached {
            port: memcached.port,
        },
        &format!("memcached://127.0.0.1:{}", memcached.port),
    )
    .await;
}

#[tokio::test]
async fn laravel_judges_the_file_store() {
    let dir = tempfile::tempdir().expect("dir");
    let cache = dir.path().join("cache");
    std::fs::create_dir(&cache).expect("cache dir");
    laravel_judges(
        Store::File(cache.clone()),
        &format!("file://{}", cache.display()),
    )
    .await;
}

#[tokio::test]
async fn laravel_judges_the_database_store() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("cache.sqlite");
    std::fs::write(&db, b"").expect("db file");
    laravel_judges(
        Store::Sqlite(db.clone()),
        &format!("sqlite://{}?table=cache", db.display()),
    )
    .await;
}

/// The database store on a server: the test's own database, the table Laravel's migration
/// makes (on MariaDB a case- and accent-insensitive collation, as Laravel sets it up).
async fn laravel_judges_a_server_database(env_var: &str, default_url: &str) {
    let db = common::OwnDatabase::create(env_var, default_url).await;
    laravel_judges(
        Store::Server {
            url: db.base.clone(),
            database: db.name.clone(),
        },
        &format!("{}/{}?table=cache", db.base, db.name),
    )
    .await;
}

#[tokio::test]
async fn laravel_judges_the_database_store_on_postgresql() {
    laravel_judges_a_server_database(
        "CC_TEST_PG_URL",
        "postgres://postgres@127.0.0.1:5432/postgres",
    )
    .await;
}

#[tokio::test]
async fn laravel_judges_the_database_store_on_mariadb() {
    laravel_judges_a_server_database("CC_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/mysql")
        .await;
}

#[tokio::test]
async fn a_declared_laravel_prefix_lists_opens_and_writes_keys_without_it() {
    let redis = RedisServer::start();
    let store = Store::Redis { port: redis.port };
    assert_eq!(
        laravel(
            &store,
            "$cache->put('user:1', ['name' => 'Ada'], 600); $cache->put('user:2', 'Bob', 600); \
             $cache->forever('config', [1, 2]);"
        ),
        ""
    );
    // A key of another app in the same database: never listed, never touched.
    let mut c = redis.conn();
    redis::cmd("SET")
        .arg("other_app:user:1")
        .arg("theirs")
        .query::<()>(&mut c)
        .expect("seed");

    let url = format!(
        "redis://127.0.0.1:{}/0?key_prefix=laravel_database_laravel_cache%3A",
        redis.port
    );
    let be = common::open_url(&url).await;
    assert!(
        be.describe()
            .contains("keys under `laravel_database_laravel_cache:`")
    );
    let mut keys: Vec<String> = common::list_keys(be.as_ref(), "*")
        .await
        .iter()
        .map(|k| String::from_utf8_lossy(k).into_owned())
        .collect();
    keys.sort();
    assert_eq!(keys, ["config", "user:1", "user:2"]);

    // Opened and edited by the name Laravel uses; Laravel reads the edit.
    let (before, flags) = stored(be.as_ref(), b"user:1").await;
    assert_eq!(
        console_json(&before, flags),
        serde_json::json!({"name": "Ada"})
    );
    edit_decoded_as(&store, be.as_ref(), b"user:1").await;
    assert_eq!(
        laravel(&store, "echo $cache->get('user:1')['name'];"),
        "Grace"
    );

    // Delete by pattern stays under the prefix; undo puts the key back where Laravel finds it.
    let cancel = std::sync::atomic::AtomicBool::new(false);
    let done = be
        .delete_matching(&ScanRequest::matching(b"user:*".to_vec()), &cancel, &|_| {})
        .await
        .expect("deleted");
    assert_eq!(done.deleted, 2);
    assert_eq!(
        laravel(
            &store,
            "echo json_encode([$cache->has('user:1'), $cache->has('config')]);"
        ),
        "[false,true]"
    );
    let theirs: String = redis::cmd("GET")
        .arg("other_app:user:1")
        .query(&mut c)
        .expect("get");
    assert_eq!(theirs, "theirs");
    let dumped = be
        .dump(&[Bytes::from_static(b"config")])
        .await
        .expect("dump");
    assert_eq!(dumped[0].as_ref().map(|d| &d.key[..]), Some(&b"config"[..]));
    be.write(&WriteOp::Delete {
        keys: vec![Bytes::from_static(b"config")],
    })
    .await
    .expect("delete");
    be.write(&WriteOp::Restore {
        keys: dumped.into_iter().flatten().collect(),
    })
    .await
    .expect("undo");
    assert_eq!(
        laravel(&store, "echo json_encode($cache->get('config'));"),
        "[1,2]"
    );

    // The command line takes the same URL.
    let cfg = common::config_dir();
    let out = common::cli(cfg.path())
        .args(["keys", &url, "*"])
        .output()
        .expect("keys");
    assert_eq!(common::ok(&out).trim(), "config");
}

#[test]
fn keys_that_look_like_a_laravel_cache_offer_to_be_browsed_without_the_prefix() {
    use cache_console::config::profiles::ProfileStore;
    use egui_kittest::kittest::Queryable;
    let redis = RedisServer::start();
    let store = Store::Redis { port: redis.port };
    assert_eq!(
        laravel(
            &store,
            "for ($i = 1; $i <= 5; $i++) { $cache->put(\"user:$i\", ['n' => $i], 600); }"
        ),
        ""
    );
    let (cfg, mut h) =
        common::ui::connect_to(&format!("redis://127.0.0.1:{}/0", redis.port), "app");
    common::ui::wait_listed(&mut h);
    h.get_by_label("Browse without `laravel_database_laravel_cache:`")
        .click();
    h.run_steps(2);
    common::ui::run_until(&mut h, "the keys by their names", |app| {
        app.state.active_session().is_some_and(|s| {
            s.browser.scan.phase == cache_console::state::ScanPhase::Done
                && s.browser.index.len() == 5
                && s.browser.index.find(b"user:1").is_some()
        })
    });
    // The profile keeps it: the next connection browses the same way.
    common::ui::run_until(&mut h, "the profile saved", |_| {
        ProfileStore::load_from(cfg.path())
            .store
            .get("app")
            .and_then(|p| match &p.connection {
                cache_console::config::connection::ConnectionSpec::Redis(spec) => {
                    spec.key_prefix.clone()
                }
                _ => None,
            })
            .as_deref()
            == Some("laravel_database_laravel_cache:")
    });
    assert!(
        h.query_by_label_contains("Browse without").is_none(),
        "offered no more"
    );
}

/// A Laravel session kept by the cache session driver (`SESSION_DRIVER=redis` or
/// `memcached`) is shown as its attributes, and an attribute edited in the console is what
/// Laravel's session reads next.
async fn a_laravel_session_is_shown_and_edited_as_its_attributes(store: Store, url: &str) {
    let handler = "$handler = new Illuminate\\Session\\CacheBasedSessionHandler($cache, 120);";
    let key = |id: &str| store.key_of(id);
    a_session_is_its_attributes(&store, handler, url, &key).await;
}

/// The sessions table Laravel's `session:table` migration makes.
const SESSIONS_TABLE: &str = "if (!$db->getSchemaBuilder()->hasTable('sessions')) {
        $db->getSchemaBuilder()->create('sessions', function ($table) {
            $table->string('id')->primary();
            $table->foreignId('user_id')->nullable()->index();
            $table->string('ip_address', 45)->nullable();
            $table->text('user_agent')->nullable();
            $table->longText('payload');
            $table->integer('last_activity')->index();
        });
    }";

/// A session kept by Laravel's session `handler` (PHP setting `$handler`) is shown as its
/// attributes through `url`, where it is `key(id)`; an attribute edited there is what
/// Laravel's session reads next; a delete logs it out.
async fn a_session_is_its_attributes(
    store: &Store,
    handler: &str,
    url: &str,
    key: &dyn Fn(&str) -> Vec<u8>,
) {
    let id = laravel(
        store,
        &format!(
            "{handler} $s = new Illuminate\\Session\\Store('laravel_session', $handler);
             $s->start(); $s->put('user_id', 42); $s->put('cart', ['items' => [1, 2]]);
             $s->flash('status', 'Saved!'); $s->save(); echo $s->getId();"
        ),
    );
    let be = common::open_url(url).await;
    let key = key(&id);
    assert!(
        common::list_keys(be.as_ref(), "*").await.contains(&key),
        "{url}: the session is listed"
    );
    let (before, flags) = stored(be.as_ref(), &key).await;
    let decoded = decode::detect(&before, flags)
        .expect("detected")
        .expect("decoded");
    let attributes = decode::to_json(&decoded.node);
    assert_eq!(attributes["user_id"], 42, "{url}: {attributes}");
    assert_eq!(attributes["cart"], serde_json::json!({"items": [1, 2]}));
    assert_eq!(attributes["status"], "Saved!");
    assert!(attributes["_token"].is_string(), "{attributes}");

    save_decoded(be.as_ref(), &key, |s| {
        (s.path == "[user_id]").then(|| "7".to_owned())
    })
    .await;
    let read_back = format!(
        "{handler} $s = new Illuminate\\Session\\Store('laravel_session', $handler, '{id}');
         $s->start(); echo json_encode([$s->get('user_id'), $s->get('cart'), $s->get('status')]);"
    );
    assert_eq!(
        laravel(store, &read_back),
        r#"[7,{"items":[1,2]},"Saved!"]"#,
        "{url}: Laravel's session reads the edit"
    );
    // Deleting the session logs its user out.
    be.write(&WriteOp::Delete {
        keys: vec![Bytes::from(key)],
    })
    .await
    .expect("delete");
    assert_eq!(
        laravel(store, &read_back),
        "[null,null,null]",
        "{url}: the session is gone"
    );
}

#[tokio::test]
async fn a_laravel_session_in_a_sessions_table_is_its_attributes() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("app.sqlite");
    std::fs::write(&db, b"").expect("db file");
    let handler = format!(
        "{SESSIONS_TABLE} $handler = new Illuminate\\Session\\DatabaseSessionHandler($db, 'sessions', 120);"
    );
    let url = format!("sqlite://{}?session_lifetime=120", db.display());
    let key = |id: &str| id.as_bytes().to_vec();
    a_session_is_its_attributes(&Store::Sqlite(db.clone()), &handler, &url, &key).await;
    for (env_var, default_url) in [
        (
            "CC_TEST_PG_URL",
            "postgres://postgres@127.0.0.1:5432/postgres",
        ),
        ("CC_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/mysql"),
    ] {
        let db = common::OwnDatabase::create(env_var, default_url).await;
        let store = Store::Server {
            url: db.base.clone(),
            database: db.name.clone(),
        };
        let url = format!("{}/{}?session_lifetime=120", db.base, db.name);
        a_session_is_its_attributes(&store, &handler, &url, &key).await;
    }
}

#[tokio::test]
async fn a_sessions_table_shows_when_each_session_ends() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("app.sqlite");
    std::fs::write(&db, b"").expect("db file");
    let store = Store::Sqlite(db.clone());
    let id = laravel(
        &store,
        &format!(
            "{SESSIONS_TABLE} $handler = new Illuminate\\Session\\DatabaseSessionHandler($db, 'sessions', 120);
             $s = new Illuminate\\Session\\Store('laravel_session', $handler);
             $s->start(); $s->put('a', 1); $s->save(); echo $s->getId();"
        ),
    );
    assert_eq!(
        laravel(
            &store,
            &format!(
                "$db->table('sessions')->where('id', '{id}')->update(['user_id' => 7,
                     'ip_address' => '10.1.2.3', 'user_agent' => 'Firefox/140']);"
            )
        ),
        ""
    );
    let be = common::open_url(&format!("sqlite://{}?session_lifetime=120", db.display())).await;
    assert_eq!(be.capabilities().kind_label, "Database sessions");
    let extra = be.key_details(id.as_bytes()).await.expect("details").extra;
    for fact in [
        ("User id", "7"),
        ("IP address", "10.1.2.3"),
        ("User agent", "Firefox/140"),
    ] {
        assert!(
            extra.iter().any(|(k, v)| (k.as_str(), v.as_str()) == fact),
            "{fact:?} in {extra:?}"
        );
    }
    two_hours_left(be.as_ref(), &id).await;
    // A TTL of 10 minutes: Laravel's garbage collection takes it then, not before.
    be.write(&WriteOp::SetTtl {
        key: Bytes::from(id.clone().into_bytes()),
        ttl: TtlChange::InMs(600_000),
    })
    .await
    .expect("ttl");
    // Stored as Laravel counts it: last used 110 minutes ago, so its 120 end in 10; its
    // garbage collection leaves it.
    let left = laravel(
        &store,
        "$handler = new Illuminate\\Session\\DatabaseSessionHandler($db, 'sessions', 120);
         $handler->gc(120 * 60);
         echo $db->table('sessions')->value('last_activity') + 120 * 60 - time();",
    );
    let left: i64 = left.trim().parse().expect("seconds");
    assert!((590..=600).contains(&left), "{left}");
}

#[tokio::test]
async fn a_laravel_session_in_redis_is_its_attributes() {
    let redis = RedisServer::start();
    a_laravel_session_is_shown_and_edited_as_its_attributes(
        Store::Redis { port: redis.port },
        &format!("redis://127.0.0.1:{}/0", redis.port),
    )
    .await;
}

#[tokio::test]
async fn a_laravel_session_in_memcached_is_its_attributes() {
    let memcached = MemcachedServer::start();
    a_laravel_session_is_shown_and_edited_as_its_attributes(
        Store::Memcached {
            port: memcached.port,
        },
        &format!("memcached://127.0.0.1:{}", memcached.port),
    )
    .await;
}

/// The session `id` ends two hours after its last use, as Laravel's garbage collection counts
/// it (a lifetime of 120 minutes).
async fn two_hours_left(be: &dyn CacheBackend, id: &str) {
    match be
        .key_details(id.as_bytes())
        .await
        .expect("details")
        .meta
        .ttl
    {
        Ttl::ExpiresInMs(ms) => assert!((7_190_000..=7_200_000).contains(&ms), "{ms}"),
        other => panic!("the session's end is known: {other:?}"),
    }
}

/// What Laravel writes under tags: entries under one tag, under two, forever and with a TTL,
/// another tag's, and an untagged entry.
const TAGGED: &str = "$cache->tags(['people'])->put('ada', ['name' => 'Ada'], 600);
    $cache->tags(['people', 'admins'])->put('grace', 'Grace', 600);
    $cache->tags(['people'])->forever('linus', 'Linus');
    $cache->tags(['admins'])->forever('root', 'Root');
    $cache->tags(['posts'])->put('p1', 'Post 1', 600);
    $cache->put('plain', 'not tagged', 600);";

/// Every key of `from` copied into `to`, TTLs included (DUMP and RESTORE).
fn copy_all(from: &RedisServer, to: &RedisServer) {
    let (mut a, mut b) = (from.conn(), to.conn());
    let keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(&mut a).expect("keys");
    for key in keys {
        let dump: Vec<u8> = redis::cmd("DUMP").arg(&key).query(&mut a).expect("dump");
        let pttl: i64 = redis::cmd("PTTL").arg(&key).query(&mut a).expect("pttl");
        redis::cmd("RESTORE")
            .arg(&key)
            .arg(pttl.max(0))
            .arg(dump)
            .query::<()>(&mut b)
            .expect("restore");
    }
}

/// Every key with its type and value (sets sorted): two servers compare equal when they hold
/// the same data.
fn contents(server: &RedisServer) -> Vec<(Vec<u8>, String, Vec<Vec<u8>>)> {
    let mut c = server.conn();
    let mut keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(&mut c).expect("keys");
    keys.sort();
    keys.into_iter()
        .map(|key| {
            let kind: String = redis::cmd("TYPE").arg(&key).query(&mut c).expect("type");
            let mut value: Vec<Vec<u8>> = if kind == "set" {
                redis::cmd("SMEMBERS")
                    .arg(&key)
                    .query(&mut c)
                    .expect("members")
            } else {
                vec![redis::cmd("GET").arg(&key).query(&mut c).expect("get")]
            };
            value.sort();
            (key, kind, value)
        })
        .collect()
}

#[tokio::test]
async fn flushing_a_tag_deletes_exactly_what_laravels_flush_deletes() {
    use cache_console::backend::laravel::{flush_tag, tags_of};
    let a = RedisServer::start();
    assert_eq!(laravel(&Store::Redis { port: a.port }, TAGGED), "");
    // Laravel flushes `people` on a copy; the console on two others, one with the prefix
    // declared in its profile.
    let (laravel_copy, prefixed) = (RedisServer::start(), RedisServer::start());
    copy_all(&a, &laravel_copy);
    copy_all(&a, &prefixed);
    assert_eq!(
        laravel(
            &Store::Redis {
                port: laravel_copy.port
            },
            "$cache->tags(['people'])->flush();"
        ),
        ""
    );
    {
        let be = common::open_url(&a.url()).await;
        let grace = common::list_keys(be.as_ref(), "*:grace").await;
        assert_eq!(grace.len(), 1, "one entry named grace");
        let tags = tags_of(be.as_ref(), &grace[0]).await.expect("tags");
        let names: Vec<&str> = tags.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["admins", "people"]);
        assert_eq!(&tags[0].root[..], b"laravel_database_laravel_cache:");
        let deleted = flush_tag(be.as_ref(), &tags[1].root, "people")
            .await
            .expect("flush");
        // ada, grace, linus, the two reference sets and the tag's id.
        assert_eq!(deleted, 6);
        let plain = common::list_keys(be.as_ref(), "*:plain").await;
        assert!(
            tags_of(be.as_ref(), &plain[0])
                .await
                .expect("none")
                .is_empty()
        );

        let url = format!(
            "{}?key_prefix=laravel_database_laravel_cache:",
            prefixed.url()
        );
        let be = common::open_url(&url).await;
        let grace = common::list_keys(be.as_ref(), "*:grace").await;
        let tags = tags_of(be.as_ref(), &grace[0]).await.expect("tags");
        assert_eq!(tags.len(), 2);
        assert!(tags[1].root.is_empty(), "under the declared prefix");
        assert_eq!(
            flush_tag(be.as_ref(), &tags[1].root, "people")
                .await
                .expect("flush"),
            6
        );
    }
    let expected = contents(&laravel_copy);
    assert_eq!(contents(&a), expected, "the console did what Laravel did");
    assert_eq!(contents(&prefixed), expected, "under a declared prefix too");
    assert_eq!(
        laravel(
            &Store::Redis { port: a.port },
            "echo json_encode([$cache->tags(['admins'])->get('root'),
                 $cache->tags(['people', 'admins'])->get('grace'),
                 $cache->tags(['posts'])->get('p1'), $cache->get('plain')]);"
        ),
        r#"["Root",null,"Post 1","not tagged"]"#
    );
}

/// In the app: the open entry's tags are shown; "Flush tag" says what goes, then deletes it,
/// and Laravel finds the tag empty.
#[test]
fn the_viewer_shows_an_entrys_tags_and_flushes_one() {
    use egui_kittest::kittest::Queryable;
    let redis = RedisServer::start();
    let store = Store::Redis { port: redis.port };
    assert_eq!(laravel(&store, TAGGED), "");
    let url = format!(
        "redis://127.0.0.1:{}/0?key_prefix=laravel_database_laravel_cache:",
        redis.port
    );
    let raw: Vec<String> = redis::cmd("KEYS")
        .arg("*:grace")
        .query(&mut redis.conn())
        .expect("keys");
    let grace = raw[0]
        .strip_prefix("laravel_database_laravel_cache:")
        .expect("prefixed")
        .to_owned();
    let (_cfg, mut h) = common::ui::connect_to(&url, "app");
    common::ui::wait_listed(&mut h);
    common::ui::replace_text(&mut h, "Open key", &grace);
    h.get_by_label("Open").click();
    common::ui::run_until(&mut h, "the tags", |app| {
        app.state
            .active_session()
            .and_then(|s| s.viewer.as_ref())
            .is_some_and(|v| v.tags.as_ref().is_some_and(|t| t.len() == 2))
    });
    assert!(h.query_by_label("Laravel tags:").is_some());
    h.get_by_label("Flush tag people...").click();
    common::ui::run_until(&mut h, "the question", |app| app.state.confirm.is_some());
    assert!(h.query_by_label_contains("deletes 6 keys").is_some());
    assert!(
        h.query_by_label_contains("3 entries stored under the tag")
            .is_some()
    );
    h.get_by_label("Flush the tag").click();
    common::ui::run_until(&mut h, "the flush", |_| {
        laravel(
            &store,
            "echo json_encode([$cache->tags(['people'])->get('ada'), $cache->tags(['people'])->get('linus')]);",
        ) == "[null,null]"
    });
    assert_eq!(
        laravel(&store, "echo $cache->tags(['admins'])->get('root');"),
        "Root"
    );
}

#[test]
fn the_command_line_lists_an_entrys_tags_and_flushes_one() {
    let redis = RedisServer::start();
    let store = Store::Redis { port: redis.port };
    assert_eq!(laravel(&store, TAGGED), "");
    let cfg = common::config_dir();
    let raw: Vec<String> = redis::cmd("KEYS")
        .arg("*:grace")
        .query(&mut redis.conn())
        .expect("keys");
    let run = |args: &[&str]| common::cli(cfg.path()).args(args).output().expect("run");
    let url = redis.url();
    assert_eq!(
        common::ok(&run(&["tags", &url, &raw[0]])),
        "admins\npeople\n"
    );
    assert_eq!(
        common::ok(&run(&["tags", &url, "--flush", "people", "--dry-run"])).trim(),
        "6"
    );
    let refused = run(&["tags", &url, "--flush", "people"]);
    assert!(!refused.status.success(), "no terminal and no --yes");
    let missing = run(&["tags", &url, "--flush", "nobody", "--yes"]);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no Laravel tag named `nobody`"));
    assert_eq!(
        common::ok(&run(&["tags", &url, "--flush", "people", "--yes"])).trim(),
        "6"
    );
    assert_eq!(
        laravel(
            &store,
            "echo json_encode([$cache->tags(['people'])->get('ada'), $cache->tags(['admins'])->get('root')]);"
        ),
        r#"[null,"Root"]"#
    );
}

#[tokio::test]
async fn a_laravel_session_file_is_its_attributes() {
    let dir = tempfile::tempdir().expect("dir");
    let sessions = dir.path().join("sessions");
    std::fs::create_dir(&sessions).expect("sessions dir");
    // Laravel's own directory holds a .gitignore: not a session.
    std::fs::write(sessions.join(".gitignore"), "*\n!.gitignore\n").expect("gitignore");
    let handler = format!(
        "$handler = new Illuminate\\Session\\FileSessionHandler(new Illuminate\\Filesystem\\Filesystem(), '{}', 120);",
        sessions.display()
    );
    let url = format!("file://{}?session_lifetime=120", sessions.display());
    let key = |id: &str| id.as_bytes().to_vec();
    a_session_is_its_attributes(&Store::File(dir.path().join("cache")), &handler, &url, &key).await;
}

#[tokio::test]
async fn a_session_files_ttl_is_what_laravel_reads_it_by() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().expect("dir");
    let handler = format!(
        "$handler = new Illuminate\\Session\\FileSessionHandler(new Illuminate\\Filesystem\\Filesystem(), '{}', 120);",
        dir.path().display()
    );
    let store = Store::File(dir.path().join("cache"));
    let id = laravel(
        &store,
        &format!(
            "{handler} $s = new Illuminate\\Session\\Store('laravel_session', $handler);
             $s->start(); $s->put('a', 1); $s->save(); echo $s->getId();"
        ),
    );
    let file = dir.path().join(&id);
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).expect("mode");
    // A symlink planted beside the sessions is neither listed nor followed.
    std::os::unix::fs::symlink("/etc/passwd", dir.path().join("A".repeat(40))).expect("link");
    let url = format!("file://{}?session_lifetime=120", dir.path().display());
    let be = common::open_url(&url).await;
    assert_eq!(
        common::list_keys(be.as_ref(), "*").await,
        vec![id.clone().into_bytes()]
    );
    assert!(be.key_details("A".repeat(40).as_bytes()).await.is_err());
    two_hours_left(be.as_ref(), &id).await;
    let read = format!(
        "{handler} $s = new Illuminate\\Session\\Store('laravel_session', $handler, '{id}');
         $s->start(); echo json_encode($s->get('a'));"
    );
    // Ten minutes left: Laravel still reads it; its mode is kept.
    be.write(&WriteOp::SetTtl {
        key: Bytes::from(id.clone().into_bytes()),
        ttl: TtlChange::InMs(600_000),
    })
    .await
    .expect("ttl");
    assert_eq!(laravel(&store, &read), "1");
    let mode = std::fs::metadata(&file).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode, 0o640, "the file keeps its mode");
    // A second left, then gone by Laravel's clock too.
    be.write(&WriteOp::SetTtl {
        key: Bytes::from(id.clone().into_bytes()),
        ttl: TtlChange::InMs(1_000),
    })
    .await
    .expect("ttl");
    std::thread::sleep(Duration::from_millis(2_100));
    assert_eq!(laravel(&store, &read), "null", "expired for Laravel");
    assert_eq!(
        be.write(&WriteOp::PurgeExpired).await.expect("purge"),
        cache_console::core::model::WriteOutcome::Done(1)
    );
    assert!(!file.exists(), "purged");
    assert!(
        std::fs::symlink_metadata(dir.path().join("A".repeat(40))).is_ok(),
        "the symlink is left alone"
    );
}
