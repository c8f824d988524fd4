//! Real Laravel (Debian's Laravel 8 components: `php-illuminate-cache`, `-redis`, `-database`,
//! `-filesystem`, `-session`) writing and reading the caches the tests look at: the same `Repository` over
//! the same stores a Laravel or DreamFactory app uses, so every format is Laravel's own.

use std::path::PathBuf;
use std::process::Command;

/// A Laravel cache store, as an app's `config/cache.php` would name it.
#[derive(Debug, Clone)]
pub enum Store {
    /// `redis`: phpredis, the default connection prefix `laravel_database_` and the cache
    /// prefix `laravel_cache`.
    Redis {
        /// The server's port.
        port: u16,
    },
    /// `redis` as DreamFactory's Redis cache service sets it up (df-cache's `Redis.php`): no
    /// connection prefix and no cache prefix, so a key is stored under its own name.
    RedisBare {
        /// The server's port.
        port: u16,
    },
    /// `file`: the file store in this directory.
    File(PathBuf),
    /// `database`: the `cache` table (made as Laravel's migration makes it) of this SQLite file,
    /// prefix `laravel_cache`.
    Sqlite(PathBuf),
    /// `database` on a PostgreSQL or MySQL/MariaDB server: `url` is the server's
    /// (`postgres://user[:password]@host:port`, `mysql://…`), `database` the test's own.
    Server {
        /// The server's URL without a database.
        url: String,
        /// The database.
        database: String,
    },
    /// `memcached`: php-memcached, prefix `laravel_cache`.
    Memcached {
        /// The server's port.
        port: u16,
    },
}

impl Store {
    /// PHP that sets `$cache` (an `Illuminate\Cache\Repository`) and `$store` over this store.
    pub fn prelude(&self) -> String {
        let store = match self {
            Self::Redis { port } => format!(
                "$redis = new Illuminate\\Redis\\RedisManager(null, 'phpredis', [
                    'default' => ['host' => '127.0.0.1', 'port' => {port}, 'database' => 0],
                    'options' => ['prefix' => 'laravel_database_']]);
                 $store = new Illuminate\\Cache\\RedisStore($redis, 'laravel_cache', 'default');"
            ),
            Self::RedisBare { port } => format!(
                "$redis = new Illuminate\\Redis\\RedisManager(null, 'phpredis', [
                    'default' => ['host' => '127.0.0.1', 'port' => {port}, 'database' => 0]]);
                 $store = new Illuminate\\Cache\\RedisStore($redis, '', 'default');"
            ),
            Self::File(dir) => format!(
                "$store = new Illuminate\\Cache\\FileStore(new Illuminate\\Filesystem\\Filesystem(), '{}');",
                dir.display()
            ),
            Self::Sqlite(path) => format!(
                "$capsule = new Illuminate\\Database\\Capsule\\Manager;
                 $capsule->addConnection(['driver' => 'sqlite', 'database' => '{}', 'prefix' => '']);
                 $db = $capsule->getConnection();
                 {CREATE_TABLE}
                 $store = new Illuminate\\Cache\\DatabaseStore($db, 'cache', 'laravel_cache');",
                path.display()
            ),
            Self::Server { url, database } => {
                let (driver, rest) = match url.split_once("://") {
                    Some(("postgres" | "postgresql", rest)) => ("pgsql", rest),
                    Some(("mysql" | "mariadb", rest)) => ("mysql", rest),
                    _ => panic!("not a PostgreSQL or MySQL URL: {url}"),
                };
                let (login, address) = rest.rsplit_once('@').unwrap_or(("", rest));
                let (user, password) = login.split_once(':').unwrap_or((login, ""));
                let (host, port) = address.rsplit_once(':').unwrap_or((address, ""));
                // As Laravel's config/database.php sets each driver up.
                let charset = if driver == "pgsql" {
                    "'charset' => 'utf8'"
                } else {
                    "'charset' => 'utf8mb4', 'collation' => 'utf8mb4_unicode_ci'"
                };
                format!(
                    "$capsule = new Illuminate\\Database\\Capsule\\Manager;
                     $capsule->addConnection(['driver' => '{driver}', 'host' => '{host}',
                         'port' => '{port}', 'database' => '{database}', 'username' => '{user}',
                         'password' => '{password}', {charset}, 'prefix' => '']);
                     $db = $capsule->getConnection();
                     {CREATE_TABLE}
                     $store = new Illuminate\\Cache\\DatabaseStore($db, 'cache', 'laravel_cache');"
                )
            }
            Self::Memcached { port } => format!(
                "$store = new Illuminate\\Cache\\MemcachedStore(
                     (new Illuminate\\Cache\\MemcachedConnector)->connect(
                         [['host' => '127.0.0.1', 'port' => {port}, 'weight' => 100]]),
                     'laravel_cache');"
            ),
        };
        format!(
            "foreach (['Cache', 'Redis', 'Filesystem', 'Database', 'Session'] as $c) {{
                 require \"/usr/share/php/Illuminate/$c/autoload.php\";
             }}
             {store}
             $cache = new Illuminate\\Cache\\Repository($store);"
        )
    }

    /// The key the console lists for what Laravel calls `name`.
    #[must_use]
    pub fn key_of(&self, name: &str) -> Vec<u8> {
        match self {
            Self::Redis { .. } => format!("laravel_database_laravel_cache:{name}").into_bytes(),
            Self::RedisBare { .. } => name.as_bytes().to_vec(),
            // The file store names its files by the sha1 of the key (no prefix).
            Self::File(_) => sha1_smol::Sha1::from(name)
                .digest()
                .to_string()
                .into_bytes(),
            Self::Sqlite(_) | Self::Server { .. } => format!("laravel_cache{name}").into_bytes(),
            Self::Memcached { .. } => format!("laravel_cache:{name}").into_bytes(),
        }
    }
}

/// The `cache` table as Laravel's `cache:table` migration makes it (once).
const CREATE_TABLE: &str = "if (!$db->getSchemaBuilder()->hasTable('cache')) {
        $db->getSchemaBuilder()->create('cache', function ($table) {
            $table->string('key')->primary();
            $table->mediumText('value');
            $table->integer('expiration');
        });
    }";

/// Runs `code` with `$cache` and `$store` set up over `store`; what it printed.
///
/// # Panics
/// PHP or the Illuminate components are missing (`bash scripts/test.sh` installs them), or the
/// code failed.
#[must_use]
pub fn laravel(store: &Store, code: &str) -> String {
    let script = format!("{}\n{code}", store.prelude());
    let out = Command::new("php")
        .args(["-r", &script])
        .output()
        .unwrap_or_else(|_| {
            panic!("php is not installed: run `bash scripts/test.sh`, which installs it")
        });
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "Laravel failed (are php-illuminate-cache, -redis, -database, -filesystem, -session and \
         php-redis, php-memcached, php-sqlite3, php-pgsql, php-mysql installed? `bash scripts/test.sh` installs \
         them): {}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
