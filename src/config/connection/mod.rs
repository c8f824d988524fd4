//! Where and how to connect: connection specs, URLs, and password sources.
//!
//! A spec is what a profile stores. It never holds a password: a password is either asked for
//! when connecting, read from an environment variable named in the spec, or (when a URL with an
//! inline password is pasted) kept in memory for this session only, or remembered in the OS
//! keyring or the vault (`config::secrets`), where the spec only says which.

mod ssh;
mod urls;

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use ssh::{SshAuth, SshHop, SshSpec};
pub use urls::{UrlError, parse_url};

/// A password or other secret. Its `Debug` output is redacted so it never reaches a log.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    #[must_use]
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; call only where it is handed to a client library.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Where a connection's password comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PasswordSource {
    /// No password.
    #[default]
    None,
    /// Ask the user when connecting (kept in memory for the session).
    Prompt,
    /// Read this environment variable when connecting (`${REDIS_PASSWORD}` in a URL).
    Env(String),
    /// Remembered in the OS keyring, under the profile's name.
    Keyring,
    /// Remembered in the vault file, under the profile's name.
    Vault,
}

impl PasswordSource {
    /// The store a remembered secret is kept in, if it is one.
    #[must_use]
    pub fn store(&self) -> Option<crate::config::secrets::StoreKind> {
        match self {
            Self::Keyring => Some(crate::config::secrets::StoreKind::Keyring),
            Self::Vault => Some(crate::config::secrets::StoreKind::Vault),
            Self::None | Self::Prompt | Self::Env(_) => None,
        }
    }

    /// Where a secret kept in `store` comes from.
    #[must_use]
    pub fn stored_in(store: crate::config::secrets::StoreKind) -> Self {
        match store {
            crate::config::secrets::StoreKind::Keyring => Self::Keyring,
            crate::config::secrets::StoreKind::Vault => Self::Vault,
        }
    }
}

/// Network address of a Redis server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RedisAddress {
    /// TCP host and port.
    Tcp {
        /// Host name or IP address.
        host: String,
        /// TCP port.
        port: u16,
    },
    /// A unix domain socket.
    Unix {
        /// Path of the socket file.
        path: PathBuf,
    },
    /// A Redis Cluster, found from one or more of its nodes (the seeds); the others come from
    /// the cluster's own topology.
    Cluster {
        /// The nodes asked for the topology, in turn.
        seeds: Vec<NodeAddress>,
    },
    /// A primary (and its replicas) watched by Sentinels: asked for the primary's address,
    /// in turn, and again after a failover.
    Sentinel {
        /// The sentinels.
        sentinels: Vec<NodeAddress>,
        /// The name the sentinels know the primary by (`mymaster`).
        master: String,
    },
}

/// How the sentinels themselves are logged in to: they may have no password, the data
/// nodes' password, or one of their own (from an environment variable).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SentinelAuth {
    /// No password.
    #[default]
    None,
    /// The same user and password as the data nodes.
    SameAsData,
    /// A password read from this environment variable.
    Env(String),
}

/// How a Sentinel group is reached, besides the sentinels' addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SentinelOptions {
    /// The sentinels' ACL user name, when they have one of their own.
    pub username: Option<String>,
    /// The sentinels' password.
    pub password: SentinelAuth,
    /// Browse a replica rather than the primary (reads only).
    pub replica: bool,
}

/// One node of a cluster as `host:port`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NodeAddress {
    /// Host name or IP address.
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl NodeAddress {
    /// A node address.
    #[must_use]
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Self {
            host: host.into(),
            port,
        }
    }

    /// Reads `host:port` (`[v6]:port` for an IPv6 address).
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        let (host, port) = text.trim().rsplit_once(':')?;
        let port = port.parse().ok()?;
        if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            v6.parse::<std::net::Ipv6Addr>().ok()?;
            return Some(Self::new(v6, port));
        }
        let valid = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
        valid.then(|| Self::new(host, port))
    }
}

/// Node addresses as one line, `host:port` joined by `separator` (a URL's `,`, a form's `, `).
#[must_use]
pub fn node_list(nodes: &[NodeAddress], separator: &str) -> String {
    nodes
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(separator)
}

impl fmt::Display for NodeAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// How a cluster is reached and listed, besides its seeds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClusterOptions {
    /// Addresses nodes announce that cannot be reached from here (NAT, internal names), and
    /// where to reach each instead. TLS still checks the announced name.
    pub address_map: Vec<(NodeAddress, NodeAddress)>,
    /// List keys from a replica of each shard (sparing the primaries) where one is up.
    pub scan_replicas: bool,
}

impl ClusterOptions {
    /// Where to connect for a node that announces `announced`.
    #[must_use]
    pub fn reach(&self, announced: &NodeAddress) -> NodeAddress {
        self.address_map
            .iter()
            .find(|(from, _)| from == announced)
            .map_or_else(|| announced.clone(), |(_, to)| to.clone())
    }
}

/// TLS settings of a Redis connection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsSpec {
    /// PEM file with the CA certificates to trust; the system roots when `None`.
    pub ca_file: Option<PathBuf>,
}

/// Everything needed to reach one Redis server, minus the password itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RedisSpec {
    /// Where the server listens.
    pub address: RedisAddress,
    /// TLS, when the server speaks it (`rediss://`).
    pub tls: Option<TlsSpec>,
    /// ACL user name; the default user when `None`.
    pub username: Option<String>,
    /// Where the password comes from.
    pub password: PasswordSource,
    /// Database index selected after connecting.
    pub db: u32,
    /// How long to wait for the connection to open.
    pub connect_timeout_ms: u64,
    /// How long to wait for any one command's reply.
    pub command_timeout_ms: u64,
    /// Cluster settings (used when the address is a cluster).
    pub cluster: ClusterOptions,
    /// Sentinel settings (used when the address is a Sentinel group).
    pub sentinel: SentinelOptions,
    /// A prefix every key of the app has (Laravel's `laravel_database_laravel_cache:`): the
    /// console lists and opens keys without it and writes them with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_prefix: Option<String>,
}

impl RedisSpec {
    /// Whether this is a Redis Cluster.
    #[must_use]
    pub fn is_cluster(&self) -> bool {
        matches!(self.address, RedisAddress::Cluster { .. })
    }
}

impl Default for RedisSpec {
    fn default() -> Self {
        Self {
            address: RedisAddress::Tcp {
                host: "127.0.0.1".to_owned(),
                port: 6379,
            },
            tls: None,
            username: None,
            password: PasswordSource::None,
            db: 0,
            connect_timeout_ms: 5_000,
            command_timeout_ms: 10_000,
            cluster: ClusterOptions::default(),
            sentinel: SentinelOptions::default(),
            key_prefix: None,
        }
    }
}

/// One memcached server of a pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MemcachedAddress {
    /// TCP host and port.
    Tcp {
        /// Host name or IP address.
        host: String,
        /// TCP port.
        port: u16,
    },
    /// A unix domain socket.
    Unix {
        /// Path of the socket file.
        path: PathBuf,
    },
}

impl MemcachedAddress {
    /// `host:port` or the socket path: how the UI names this server.
    #[must_use]
    pub fn label(&self) -> String {
        match self {
            Self::Tcp { host, port } if host.contains(':') => format!("[{host}]:{port}"),
            Self::Tcp { host, port } => format!("{host}:{port}"),
            Self::Unix { path } => path.display().to_string(),
        }
    }
}

/// One memcached server or a pool of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MemcachedSpec {
    /// The servers; keys are spread over them by the client's hashing.
    pub servers: Vec<MemcachedAddress>,
    /// How long to wait for a connection to open.
    pub connect_timeout_ms: u64,
    /// How long to wait for any one reply.
    pub command_timeout_ms: u64,
}

impl Default for MemcachedSpec {
    fn default() -> Self {
        Self {
            servers: vec![MemcachedAddress::Tcp {
                host: "127.0.0.1".to_owned(),
                port: 11211,
            }],
            connect_timeout_ms: 5_000,
            command_timeout_ms: 10_000,
        }
    }
}

/// A connection target of any backend kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConnectionSpec {
    /// A Redis server (standalone).
    Redis(RedisSpec),
    /// A memcached server or pool.
    Memcached(MemcachedSpec),
    /// A Laravel-style file cache directory.
    File(FileSpec),
    /// A Laravel-style cache table in SQLite, PostgreSQL or MySQL/MariaDB.
    Sql(SqlSpec),
    /// One cache service of a DreamFactory instance, through its REST API.
    DreamFactory(DreamFactorySpec),
}

/// One cache service of a DreamFactory instance, reached through its REST API
/// (`/api/v2/{service}`). The API key takes the place of a password (`password`); the admin
/// session token, when one is used, comes from an environment variable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DreamFactorySpec {
    /// Where the instance answers, without `/api/v2`: `https://df.example.com`, or with the
    /// path it is mounted under (`https://example.com/df`).
    pub base_url: String,
    /// The cache service's name (the `{service}` of `/api/v2/{service}`).
    pub service: String,
    /// Where the API key comes from (`X-DreamFactory-API-Key`).
    pub api_key: PasswordSource,
    /// The environment variable holding an admin session token
    /// (`X-DreamFactory-Session-Token`), when one is sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_token_env: Option<String>,
    /// A PEM file of CA certificates to trust (HTTPS); the system's roots when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// How long to wait for a connection to open.
    pub connect_timeout_ms: u64,
    /// How long one request may take, answer included.
    pub command_timeout_ms: u64,
}

impl Default for DreamFactorySpec {
    fn default() -> Self {
        Self {
            base_url: "https://localhost".to_owned(),
            service: "cache".to_owned(),
            api_key: PasswordSource::None,
            session_token_env: None,
            ca_file: None,
            connect_timeout_ms: 5_000,
            command_timeout_ms: 10_000,
        }
    }
}

impl DreamFactorySpec {
    /// `https://host/api/v2/{service}`: where the requests go, for messages.
    #[must_use]
    pub fn endpoint(&self) -> String {
        format!(
            "{}/api/v2/{}",
            self.base_url.trim_end_matches('/'),
            self.service
        )
    }
}

/// The SQL database kind of a cache table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SqlDialect {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB.
    MySql,
}

impl SqlDialect {
    /// A display name.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
            Self::MySql => "MySQL",
        }
    }
}

/// A cache table: where the database is, which table, and where the password comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SqlSpec {
    /// The database URL without password or cache options (`postgres://app@db:5432/app`).
    pub url: String,
    /// The database kind.
    pub dialect: SqlDialect,
    /// The cache table (Laravel's default: `cache`).
    pub table: String,
    /// Where the password comes from.
    #[serde(default)]
    pub password: PasswordSource,
    /// How long to wait for a connection.
    #[serde(default = "default_sql_timeout")]
    pub connect_timeout_ms: u64,
    /// How long one statement may take before it is abandoned (a server that stops
    /// answering mid-query must not hold a listing or the UI forever).
    #[serde(default = "default_sql_command_timeout")]
    pub command_timeout_ms: u64,
    /// The table is Laravel's sessions table (`id`, `payload`, `last_activity`; the database
    /// session driver), whose sessions last this many minutes after their last use
    /// (`config/session.php`'s `lifetime`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_lifetime_min: Option<u32>,
}

pub(super) fn default_sql_timeout() -> u64 {
    5_000
}

/// The command timeout of a cache table when the profile names none.
pub const DEFAULT_SQL_COMMAND_TIMEOUT_MS: u64 = 10_000;

pub(super) fn default_sql_command_timeout() -> u64 {
    DEFAULT_SQL_COMMAND_TIMEOUT_MS
}

impl SqlSpec {
    /// `host:port/db` or the SQLite file, for messages.
    #[must_use]
    pub fn display_target(&self) -> String {
        url::Url::parse(&self.url).map_or_else(
            |_| self.url.clone(),
            |u| match self.dialect {
                SqlDialect::Sqlite => u.path().to_owned(),
                _ => format!(
                    "{}:{}{}",
                    u.host_str().unwrap_or("localhost"),
                    u.port().unwrap_or(if self.dialect == SqlDialect::Postgres {
                        5432
                    } else {
                        3306
                    }),
                    u.path()
                ),
            },
        )
    }
}

/// A Laravel-style file cache directory (`storage/framework/cache/data`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSpec {
    /// The cache directory.
    pub dir: PathBuf,
    /// The directory holds Laravel's session files (the file session driver), whose sessions
    /// last this many minutes after their last write (`config/session.php`'s `lifetime`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_lifetime_min: Option<u32>,
}

impl ConnectionSpec {
    /// What kind of cache this is, for people: `Redis Cluster`, `Memcached pool`, `PostgreSQL
    /// cache`.
    #[must_use]
    pub fn kind_label(&self) -> &'static str {
        match self {
            Self::Redis(r) => match r.address {
                RedisAddress::Cluster { .. } => "Redis Cluster",
                RedisAddress::Sentinel { .. } => "Redis Sentinel",
                RedisAddress::Tcp { .. } | RedisAddress::Unix { .. } => "Redis",
            },
            Self::Memcached(m) if m.servers.len() > 1 => "Memcached pool",
            Self::Memcached(_) => "Memcached",
            Self::File(f) if f.session_lifetime_min.is_some() => "File sessions",
            Self::File(_) => "File cache",
            Self::Sql(s) => match (s.dialect, s.session_lifetime_min.is_some()) {
                (SqlDialect::Sqlite, false) => "SQLite cache",
                (SqlDialect::Postgres, false) => "PostgreSQL cache",
                (SqlDialect::MySql, false) => "MySQL cache",
                (_, true) => "SQL sessions",
            },
            Self::DreamFactory(_) => "DreamFactory API",
        }
    }

    /// The connect and command timeouts, in milliseconds (a file cache has no network: the
    /// defaults stand in for it).
    #[must_use]
    pub fn timeouts_ms(&self) -> (u64, u64) {
        match self {
            Self::Redis(r) => (r.connect_timeout_ms, r.command_timeout_ms),
            Self::Memcached(m) => (m.connect_timeout_ms, m.command_timeout_ms),
            Self::File(_) => (5_000, 10_000),
            Self::Sql(q) => (q.connect_timeout_ms, q.command_timeout_ms),
            Self::DreamFactory(d) => (d.connect_timeout_ms, d.command_timeout_ms),
        }
    }

    /// The numbered database it opens (0 where there are no numbered databases).
    #[must_use]
    pub fn db(&self) -> u32 {
        match self {
            Self::Redis(spec) => spec.db,
            Self::Memcached(_) | Self::File(_) | Self::Sql(_) | Self::DreamFactory(_) => 0,
        }
    }

    /// The same target on database `db` (unchanged where there are no numbered databases).
    #[must_use]
    pub fn with_db(&self, db: u32) -> Self {
        let mut spec = self.clone();
        if let Self::Redis(redis) = &mut spec {
            redis.db = db;
        }
        spec
    }

    /// Where the password comes from (memcached's text protocol has none; DreamFactory's
    /// API key stands in for it).
    #[must_use]
    pub fn password_source(&self) -> &PasswordSource {
        match self {
            Self::Redis(spec) => &spec.password,
            Self::Sql(spec) => &spec.password,
            Self::DreamFactory(spec) => &spec.api_key,
            Self::Memcached(_) | Self::File(_) => &PasswordSource::None,
        }
    }

    /// What the password is called for this kind of connection, for a dialog's label.
    #[must_use]
    pub fn secret_name(&self) -> &'static str {
        match self {
            Self::DreamFactory(_) => "API key",
            Self::Redis(_) | Self::Memcached(_) | Self::File(_) | Self::Sql(_) => "Password",
        }
    }

    /// Sets where the password comes from (ignored for memcached).
    pub fn set_password_source(&mut self, source: PasswordSource) {
        match self {
            Self::Redis(spec) => spec.password = source,
            Self::Sql(spec) => spec.password = source,
            Self::DreamFactory(spec) => spec.api_key = source,
            Self::Memcached(_) | Self::File(_) => {}
        }
    }

    /// Resolves the password for a connection attempt.
    ///
    /// `entered` is what the user typed (or a pasted URL carried) this session.
    ///
    /// # Errors
    /// The spec asks for a prompt and nothing was entered, or names an unset variable.
    pub fn resolve_password(&self, entered: Option<&Secret>) -> Result<Option<Secret>, UrlError> {
        if let Some(secret) = entered {
            return Ok(Some(secret.clone()));
        }
        match self.password_source() {
            PasswordSource::None => Ok(None),
            PasswordSource::Prompt => Err(UrlError::PasswordNeeded),
            PasswordSource::Env(name) => std::env::var(name)
                .map(|v| Some(Secret::new(v)))
                .map_err(|_| UrlError::EnvUnset(name.clone())),
            source @ (PasswordSource::Keyring | PasswordSource::Vault) => Err(UrlError::NotLoaded(
                source.store().map_or("a store", |s| s.describe()),
            )),
        }
    }
}
