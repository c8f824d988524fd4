//! Profiles from a DreamFactory/Laravel `.env` file: one per cache store it configures.
//!
//! Passwords found in the file are never written to the profiles file: the profiles ask for
//! them, and the importing session keeps them in memory.

use std::collections::HashMap;
use std::path::Path;

use crate::config::connection::{PasswordSource, Secret, parse_url};
use crate::config::profiles::Profile;

/// A profile made from the file, with the password it named (for this session only).
#[derive(Debug)]
pub struct Imported {
    /// The profile.
    pub profile: Profile,
    /// The password from the file, if any.
    pub password: Option<Secret>,
}

fn get<'a>(env: &'a HashMap<String, String>, key: &str) -> Option<&'a str> {
    env.get(key).map(String::as_str).filter(|v| !v.is_empty())
}

/// The variables of the `.env` at `path` (bounded: a `.env` is a few KiB).
fn read_env(path: &Path) -> Result<HashMap<String, String>, String> {
    use std::io::Read as _;
    // Anything past 1 MiB is not a `.env`, and is not read into memory.
    const MAX_ENV_BYTES: u64 = 1 << 20;
    let mut text = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_ENV_BYTES + 1).read_to_end(&mut text))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if text.len() as u64 > MAX_ENV_BYTES {
        return Err(format!(
            "{} is larger than 1 MiB: not a .env file",
            path.display()
        ));
    }
    let mut env = HashMap::new();
    for item in dotenvy::from_read_iter(std::io::Cursor::new(text)) {
        let (k, v) = item.map_err(|e| format!("{}: {e}", path.display()))?;
        env.insert(k, v);
    }
    Ok(env)
}

/// The URL of `table` in the database a `.env` at `path` uses.
fn database_url(env: &HashMap<String, String>, path: &Path, table: &str) -> String {
    let connection = get(env, "DB_CONNECTION").unwrap_or("mysql");
    match connection {
        "sqlite" => {
            let db = get(env, "DB_DATABASE").unwrap_or("database/database.sqlite");
            let file = if Path::new(db).is_absolute() {
                db.to_owned()
            } else {
                path.parent()
                    .unwrap_or(Path::new("."))
                    .join(db)
                    .display()
                    .to_string()
            };
            format!("sqlite://{file}?table={table}")
        }
        other => {
            let scheme = if other == "pgsql" {
                "postgres"
            } else {
                "mysql"
            };
            let default_port = if scheme == "postgres" { "5432" } else { "3306" };
            format!(
                "{scheme}://{}@{}:{}/{}?table={table}",
                get(env, "DB_USERNAME").unwrap_or("root"),
                get(env, "DB_HOST").unwrap_or("127.0.0.1"),
                get(env, "DB_PORT").unwrap_or(default_port),
                get(env, "DB_DATABASE").unwrap_or("app"),
            )
        }
    }
}

/// Where the database and file session drivers keep sessions, apart from the cache (the redis
/// and memcached ones keep them in the cache stores): the profile's kind, URL and password.
fn sessions<'a>(
    env: &'a HashMap<String, String>,
    path: &Path,
) -> Option<(&'static str, String, Option<&'a str>)> {
    let lifetime = get(env, "SESSION_LIFETIME").unwrap_or("120");
    match get(env, "SESSION_DRIVER")?.to_ascii_lowercase().as_str() {
        "database" => {
            let table = get(env, "SESSION_TABLE").unwrap_or("sessions");
            let url = format!(
                "{}&session_lifetime={lifetime}",
                database_url(env, path, table)
            );
            Some(("sessions, database", url, get(env, "DB_PASSWORD")))
        }
        "file" => {
            let dir = path
                .parent()
                .unwrap_or(Path::new("."))
                .join("storage/framework/sessions");
            let url = format!("file://{}?session_lifetime={lifetime}", dir.display());
            Some(("sessions, files", url, None))
        }
        _ => None,
    }
}

/// Reads the `.env` at `path` and makes a profile for each store it configures: the
/// `CACHE_DRIVER`/`CACHE_STORE` one, and any other whose settings are present.
///
/// # Errors
/// The file cannot be read or parsed, or configures no cache store.
pub fn profiles_from_env(path: &Path) -> Result<Vec<Imported>, String> {
    let env = read_env(path)?;
    let app = get(&env, "APP_NAME").map_or_else(
        || {
            path.parent()
                .and_then(Path::file_name)
                .map_or_else(|| "app".to_owned(), |n| n.to_string_lossy().into_owned())
        },
        str::to_owned,
    );
    let driver = get(&env, "CACHE_DRIVER")
        .or_else(|| get(&env, "CACHE_STORE"))
        .unwrap_or("file")
        .to_ascii_lowercase();
    let pattern = get(&env, "CACHE_PREFIX").map_or_else(|| "*".to_owned(), |p| format!("{p}*"));
    let mut out = Vec::new();
    let mut add = |kind: &str, url: String, password: Option<&str>| -> Result<(), String> {
        let (mut spec, inline) = parse_url(&url).map_err(|e| format!("{kind}: {e}"))?;
        let password = password.map(Secret::new).or(inline);
        if password.is_some() {
            spec.set_password_source(PasswordSource::Prompt);
        }
        let mut profile = Profile::new(format!("{app} ({kind})"), spec);
        // Session ids carry no cache prefix.
        if !kind.starts_with("sessions") {
            profile.default_pattern.clone_from(&pattern);
        }
        out.push(Imported { profile, password });
        Ok(())
    };
    if driver == "redis" || get(&env, "REDIS_HOST").is_some() {
        let host = get(&env, "REDIS_HOST").unwrap_or("127.0.0.1");
        let port = get(&env, "REDIS_PORT").unwrap_or("6379");
        let db = get(&env, "REDIS_CACHE_DB")
            .or_else(|| get(&env, "REDIS_DB"))
            .unwrap_or("0");
        let user = get(&env, "REDIS_USERNAME")
            .map(|u| format!("{u}@"))
            .unwrap_or_default();
        add(
            "redis",
            format!("redis://{user}{host}:{port}/{db}"),
            get(&env, "REDIS_PASSWORD"),
        )?;
    }
    if driver == "memcached" || get(&env, "MEMCACHED_HOST").is_some() {
        let host = get(&env, "MEMCACHED_HOST").unwrap_or("127.0.0.1");
        let port = get(&env, "MEMCACHED_PORT").unwrap_or("11211");
        add("memcached", format!("memcached://{host}:{port}"), None)?;
    }
    if driver == "database" {
        let url = database_url(&env, path, get(&env, "CACHE_TABLE").unwrap_or("cache"));
        add("database", url, get(&env, "DB_PASSWORD"))?;
    }
    if let Some((kind, url, password)) = sessions(&env, path) {
        add(kind, url, password)?;
    }
    if driver == "file" || get(&env, "CACHE_PATH").is_some() {
        let dir = get(&env, "CACHE_PATH").map_or_else(
            || {
                path.parent()
                    .unwrap_or(Path::new("."))
                    .join("storage/framework/cache/data")
            },
            std::path::PathBuf::from,
        );
        let dir = if dir.is_absolute() {
            dir
        } else {
            path.parent().unwrap_or(Path::new(".")).join(dir)
        };
        add("file", format!("file://{}", dir.display()), None)?;
    }
    if out.is_empty() {
        return Err(format!(
            "{} configures no cache store this console knows",
            path.display()
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dreamfactory_env_becomes_profiles_without_plaintext_passwords() {
        let dir = tempfile::tempdir().expect("dir");
        let env = dir.path().join(".env");
        std::fs::write(
            &env,
            "APP_NAME=DreamFactory\nCACHE_DRIVER=database\nCACHE_PREFIX=df_\n\
             REDIS_HOST=cache.local\nREDIS_PORT=6380\nREDIS_PASSWORD=\"r3dis pw\"\nREDIS_DB=2\n\
             MEMCACHED_HOST=mc.local\n\
             DB_CONNECTION=pgsql\nDB_HOST=db.local\nDB_PORT=5433\nDB_DATABASE=df\nDB_USERNAME=dfadmin\nDB_PASSWORD=db-secret\n\
             CACHE_PATH=storage/cache\n",
        )
        .expect("write");
        let imported = profiles_from_env(&env).expect("import");
        let urls: Vec<String> = imported
            .iter()
            .map(|i| i.profile.connection.display_url())
            .collect();
        assert_eq!(
            urls,
            [
                "redis://cache.local:6380/2".to_owned(),
                "memcached://mc.local:11211".to_owned(),
                "postgres://dfadmin@db.local:5433/df?table=cache".to_owned(),
                format!("file://{}", dir.path().join("storage/cache").display()),
            ]
        );
        assert_eq!(imported[0].profile.name, "DreamFactory (redis)");
        assert_eq!(imported[0].profile.default_pattern, "df_*");
        assert_eq!(
            imported[0].password.as_ref().map(Secret::expose),
            Some("r3dis pw")
        );
        assert_eq!(
            imported[0].profile.connection.password_source(),
            &PasswordSource::Prompt
        );
        assert_eq!(
            imported[2].password.as_ref().map(Secret::expose),
            Some("db-secret")
        );
        let ron = ron::to_string(
            &imported
                .iter()
                .map(|i| i.profile.clone())
                .collect::<Vec<_>>(),
        )
        .expect("ron");
        assert!(!ron.contains("r3dis") && !ron.contains("db-secret"));
        let sessions = dir.path().join("sessions.env");
        std::fs::write(
            &sessions,
            "APP_NAME=App\nCACHE_DRIVER=redis\nSESSION_DRIVER=database\nSESSION_LIFETIME=30\n\
             DB_CONNECTION=sqlite\nDB_DATABASE=/srv/app/db.sqlite\n",
        )
        .expect("write");
        let urls: Vec<String> = profiles_from_env(&sessions)
            .expect("import")
            .iter()
            .map(|i| i.profile.connection.display_url())
            .collect();
        assert_eq!(
            urls,
            [
                "redis://127.0.0.1:6379/0",
                "sqlite:///srv/app/db.sqlite?table=sessions&session_lifetime=30"
            ]
        );
        std::fs::write(&sessions, "CACHE_DRIVER=redis\nSESSION_DRIVER=file\n").expect("write");
        let imported = profiles_from_env(&sessions).expect("import");
        assert_eq!(
            imported[1].profile.connection.display_url(),
            format!(
                "file://{}?session_lifetime=120",
                dir.path().join("storage/framework/sessions").display()
            )
        );
        let empty = dir.path().join("empty.env");
        std::fs::write(&empty, "CACHE_DRIVER=array\n").expect("write");
        assert!(profiles_from_env(&empty).is_err());
    }
}
