//! The embedded default: a "Local demo" profile on an SQLite cache table in the app's data
//! directory, created and seeded on first run, so a newcomer sees a working console without
//! any server. The entries look like a Laravel/DreamFactory app's: users, inventory, orders,
//! sessions and rate-limit counters, in JSON and PHP `serialize()` form, with TTLs of 30 s,
//! 15 min, 24 h and none.

use std::path::{Path, PathBuf};

use crate::config::connection::{ConnectionSpec, SqlDialect, SqlSpec};
use crate::config::profiles::{ColorTag, Profile, ProfileStore};
use crate::core::decode::{Key, Node, php};

/// The demo profile's name.
pub const DEMO_PROFILE: &str = "Local demo";
const FILE_NAME: &str = "demo-cache.sqlite";

/// Where the demo database lives.
#[must_use]
pub fn demo_path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE_NAME)
}

fn s(text: &str) -> Node {
    Node::Str(text.as_bytes().to_vec())
}

fn k(text: &str) -> Key {
    Key::Str(text.as_bytes().to_vec())
}

/// The rows: key, value, TTL in seconds (`None`: forever).
fn rows() -> Vec<(String, String, Option<i64>)> {
    let mut out = Vec::new();
    let names = [
        "Ada", "Grace", "Linus", "Barbara", "Ken", "Margaret", "Dennis", "Frances",
    ];
    for id in 1..=40 {
        let name = names[id % names.len()];
        let json = serde_json::json!({
            "id": id,
            "name": format!("{name} {id}"),
            "email": format!("{}{id}@example.com", name.to_lowercase()),
            "roles": if id % 7 == 0 { vec!["admin", "viewer"] } else { vec!["viewer"] },
            "last_login": format!("2026-11-{:02}T09:{:02}:00Z", 1 + id % 25, id % 60),
        });
        out.push((format!("user:{id}:profile"), json.to_string(), Some(86_400)));
    }
    for id in 1..=30_i64 {
        let price = format!("{}.5", 9 + id);
        let node = Node::List(vec![
            (k("sku"), s(&format!("P-{id:04}"))),
            (k("qty"), Node::Int(id * 3 % 50)),
            (
                k("warehouse"),
                s(if id % 2 == 0 { "north" } else { "south" }),
            ),
            (k("price"), Node::Float(price.parse().unwrap_or(0.0), price)),
        ]);
        out.push((
            format!("product:{id}:inventory"),
            String::from_utf8_lossy(&php::serialize(&node)).into_owned(),
            Some(900),
        ));
    }
    for id in 1..=20 {
        let items = serde_json::json!([
            {"sku": format!("P-{:04}", id % 30 + 1), "qty": 1 + id % 3},
            {"sku": format!("P-{:04}", (id * 7) % 30 + 1), "qty": 2},
        ]);
        out.push((format!("order:{id}:items"), items.to_string(), None));
    }
    for id in 1..=12 {
        let session = Node::List(vec![
            (k("_token"), s(&format!("{:040x}", id * 7_919_u64))),
            (k("user_id"), Node::Int(i64::try_from(id).unwrap_or(0))),
            (
                k("_previous"),
                Node::List(vec![(
                    k("url"),
                    s(&format!("https://app.example.com/orders/{id}")),
                )]),
            ),
        ]);
        out.push((
            format!("laravel_session:{:016x}", id * 104_729_u64),
            String::from_utf8_lossy(&php::serialize(&session)).into_owned(),
            Some(7_200),
        ));
    }
    for id in 1..=15 {
        out.push((
            format!("ratelimit:ip:10.0.0.{id}"),
            (id * 3).to_string(),
            Some(30),
        ));
    }
    let config = Node::Object {
        class: "stdClass".to_owned(),
        members: vec![
            (k("app_name"), s("DreamFactory")),
            (k("debug"), Node::Bool(false)),
            (k("cache_prefix"), s("df_cache:")),
        ],
    };
    out.push((
        "config:app".to_owned(),
        String::from_utf8_lossy(&php::serialize(&config)).into_owned(),
        None,
    ));
    out
}

/// Creates (or recreates) the demo database with fresh rows.
///
/// # Errors
/// The file cannot be written.
pub async fn seed(path: &Path) -> Result<(), String> {
    sqlx::any::install_default_drivers();
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let _ = tokio::fs::remove_file(path).await;
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let pool = sqlx::AnyPool::connect(&url)
        .await
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    let run = |sql: String| sqlx::query(sqlx::AssertSqlSafe(sql));
    run("CREATE TABLE \"cache\" (\"key\" varchar NOT NULL PRIMARY KEY, \"value\" text NOT NULL, \"expiration\" integer NOT NULL)".to_owned())
        .execute(&pool)
        .await
        .map_err(|e| e.to_string())?;
    let now = i64::try_from(crate::core::ttl::now_unix_ms() / 1000).unwrap_or(0);
    for (key, value, ttl) in rows() {
        let expiration = now + ttl.unwrap_or(315_360_000);
        run(
            "INSERT INTO \"cache\" (\"key\", \"value\", \"expiration\") VALUES (?, ?, ?)"
                .to_owned(),
        )
        .bind(key)
        .bind(value)
        .bind(expiration)
        .execute(&pool)
        .await
        .map_err(|e| e.to_string())?;
    }
    pool.close().await;
    Ok(())
}

/// The demo profile for a database at `path`.
#[must_use]
pub fn demo_profile(path: &Path) -> Profile {
    let mut profile = Profile::new(
        DEMO_PROFILE,
        ConnectionSpec::Sql(SqlSpec {
            url: format!("sqlite://{}", path.display()),
            dialect: SqlDialect::Sqlite,
            table: "cache".to_owned(),
            password: crate::config::connection::PasswordSource::None,
            connect_timeout_ms: 5_000,
            command_timeout_ms: crate::config::connection::DEFAULT_SQL_COMMAND_TIMEOUT_MS,
            session_lifetime_min: None,
        }),
    );
    profile.color = Some(ColorTag::Green);
    profile
}

/// On first run (no profiles file yet), seeds the demo database and adds its profile.
/// Returns true when it did.
///
/// # Errors
/// The database or the profiles file cannot be written.
pub fn ensure_first_run(store: &mut ProfileStore, data_dir: &Path) -> Result<bool, String> {
    if store.path().exists() || !store.profiles().is_empty() {
        return Ok(false);
    }
    let path = demo_path(data_dir);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(seed(&path))?;
    store.add(demo_profile(&path)).map_err(|e| e.to_string())?;
    store.save().map_err(|e| e.to_string())?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_rows_are_varied_and_their_php_values_parse() {
        let rows = rows();
        assert!(rows.len() > 100);
        let ttls: std::collections::BTreeSet<_> = rows.iter().map(|r| r.2).collect();
        assert_eq!(
            ttls,
            [None, Some(30), Some(900), Some(7_200), Some(86_400)].into()
        );
        for (key, value, _) in &rows {
            if key.starts_with("product:")
                || key.starts_with("laravel_session:")
                || key == "config:app"
            {
                assert!(php::unserialize(value.as_bytes()).is_ok(), "{key}");
            }
        }
    }

    #[test]
    fn first_run_creates_the_demo_once() {
        let dir = tempfile::tempdir().expect("dir");
        let mut store = ProfileStore::empty_in(&dir.path().join("config"));
        assert!(ensure_first_run(&mut store, dir.path()).expect("seed"));
        assert!(store.get(DEMO_PROFILE).is_some());
        assert!(demo_path(dir.path()).exists());
        assert!(
            !ensure_first_run(&mut store, dir.path()).expect("again"),
            "only the first time"
        );
    }
}
