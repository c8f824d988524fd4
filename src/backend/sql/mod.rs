//! The database cache backend: a Laravel-style `cache` table (`key`, `value`, `expiration` in
//! Unix seconds) in SQLite, PostgreSQL or MySQL/MariaDB, through sqlx's `Any` driver.
//!
//! Identifiers (the table name from the profile) are quoted and their quote characters doubled;
//! every value is a bound parameter, so the SQL built here is safe to assert as such.
//!
//! Patterns become a correctly escaped `LIKE` where they can (it only narrows the rows read);
//! every row is then matched client-side with the Redis glob rules, so results are exactly
//! Redis semantics on every dialect (case-insensitive `LIKE` collations included).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use sqlx::Row as _;
use tokio::sync::Mutex;

mod write;

use super::{
    BackendError, BackendResult, CacheBackend, Capabilities, clamped_range, key_not_found,
    whole_string_page,
};
use crate::config::connection::{Secret, SqlDialect, SqlSpec};
use crate::core::model::{
    DbInfo, DumpedKey, KeyDetails, KeyMeta, KeyType, PageCursor, ScanPage, ScanRequest, Ttl,
    TtlChange, ValuePage, WriteOp, WriteOutcome,
};

/// Rows read per listing round trip.
const PAGE_ROWS: i64 = 2000;

/// The columns of the table: Laravel's cache table, or its sessions table read as one.
#[derive(Debug, Clone)]
struct Columns {
    key: String,
    value: String,
    expiration: String,
    /// Added to the stored number to give the expiration: a session's lifetime, since a
    /// sessions table keeps when a session was last used (`last_activity`), not when it ends.
    offset: i64,
}

impl Columns {
    fn of(spec: &SqlSpec) -> Self {
        match spec.session_lifetime_min {
            None => Self {
                key: "key".to_owned(),
                value: "value".to_owned(),
                expiration: "expiration".to_owned(),
                offset: 0,
            },
            Some(minutes) => Self {
                key: "id".to_owned(),
                value: "payload".to_owned(),
                expiration: "last_activity".to_owned(),
                offset: i64::from(minutes) * 60,
            },
        }
    }

    /// What is stored for expiration `exp`.
    fn stored(&self, exp: i64) -> i64 {
        exp.saturating_sub(self.offset)
    }
}

/// A connected cache table.
pub struct SqlBackend {
    pool: sqlx::AnyPool,
    dialect: SqlDialect,
    table: String,
    target: String,
    connect_timeout_ms: u64,
    /// The longest one statement may take.
    command_timeout: std::time::Duration,
    capabilities: Capabilities,
    /// Which columns hold the key, value and expiration.
    columns: Columns,
    /// Where each listing stopped: the last key read (as bytes), by cursor token.
    cursors: Mutex<HashMap<u64, Vec<u8>>>,
    next_cursor: AtomicU64,
    /// The local end of the SSH tunnel the pool connects to, while it is in use.
    _tunnel_socket: Option<crate::backend::ssh::LocalSocket>,
}

/// The longest literal prefix of a Redis glob, as an escaped `LIKE` pattern (`prefix%`), or
/// `None` when the glob starts with a wildcard.
#[must_use]
pub fn like_prefix(glob: &[u8]) -> Option<String> {
    let mut literal = Vec::new();
    let mut i = 0;
    while i < glob.len() {
        match glob[i] {
            b'*' | b'?' | b'[' => break,
            b'\\' if i + 1 < glob.len() => {
                literal.push(glob[i + 1]);
                i += 2;
            }
            b => {
                literal.push(b);
                i += 1;
            }
        }
    }
    let literal = String::from_utf8(literal).ok()?;
    if literal.is_empty() {
        return None;
    }
    let mut like = String::with_capacity(literal.len() + 1);
    for c in literal.chars() {
        if matches!(c, '%' | '_' | '!') {
            like.push('!');
        }
        like.push(c);
    }
    like.push('%');
    Some(like)
}

fn now_secs() -> i64 {
    i64::try_from(crate::core::ttl::now_unix_ms() / 1000).unwrap_or(i64::MAX)
}

/// Laravel's "forever": ten years ahead, written as an expiration like any other.
const FOREVER_SECS: i64 = 315_360_000;

fn ttl_of(expiration: i64, now: i64) -> Ttl {
    if expiration - now >= FOREVER_SECS - 86_400 {
        Ttl::Persistent
    } else {
        Ttl::ExpiresInMs(u64::try_from(expiration - now).unwrap_or(0) * 1000)
    }
}

fn expiration_for(ttl: TtlChange, current: Option<i64>, now: i64) -> i64 {
    match ttl {
        TtlChange::Keep => current.unwrap_or(now + FOREVER_SECS),
        TtlChange::Persist => now + FOREVER_SECS,
        TtlChange::InMs(ms) => now + i64::try_from(ms.div_ceil(1000)).unwrap_or(i64::MAX / 2),
        TtlChange::AtUnixMs(at) => i64::try_from(at / 1000).unwrap_or(i64::MAX),
    }
}

fn text_key(key: &[u8]) -> BackendResult<&str> {
    std::str::from_utf8(key).map_err(|_| {
        BackendError::Invalid(format!(
            "`{}` cannot be a key of a cache table: keys are text",
            crate::core::escape::escape_bytes(key)
        ))
    })
}

/// A value bound to a statement.
enum Arg {
    Text(String),
    Bytes(Vec<u8>),
    Int(i64),
}

/// A statement and its arguments, numbered as the dialect wants (`$n` or `?`).
struct Stmt {
    dialect: SqlDialect,
    sql: String,
    args: Vec<Arg>,
}

impl Stmt {
    fn new(dialect: SqlDialect) -> Self {
        Self {
            dialect,
            sql: String::new(),
            args: Vec::new(),
        }
    }

    /// Adds an argument and returns its placeholder.
    fn bind(&mut self, arg: Arg) -> String {
        self.args.push(arg);
        match self.dialect {
            SqlDialect::Postgres => format!("${}", self.args.len()),
            _ => "?".to_owned(),
        }
    }

    fn query(&self) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments> {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(self.sql.clone()));
        for a in &self.args {
            q = match a {
                Arg::Text(t) => q.bind(t.as_str()),
                Arg::Bytes(b) => q.bind(b.as_slice()),
                Arg::Int(i) => q.bind(*i),
            };
        }
        q
    }
}

/// Points `url` at a private local socket whose connections the tunnel carries to the
/// database's host and port (sqlx opens its own sockets, so it cannot take a channel as a
/// stream; both drivers take a unix socket).
fn through_tunnel(
    tunnel: std::sync::Arc<crate::backend::ssh::Tunnel>,
    dialect: SqlDialect,
    url: &mut url::Url,
) -> BackendResult<crate::backend::ssh::LocalSocket> {
    let (file_name, default_port) = match dialect {
        SqlDialect::Sqlite => {
            return Err(BackendError::Config(
                "an SQLite database is a file on this machine: it has no SSH tunnel".to_owned(),
            ));
        }
        // libpq's socket name, which sqlx builds from the directory and the port.
        SqlDialect::Postgres => (None, 5432),
        SqlDialect::MySql => (Some("mysql.sock"), 3306),
    };
    let host = url.host_str().unwrap_or("localhost").to_owned();
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .map_or(host.clone(), str::to_owned);
    let port = url.port().unwrap_or(default_port);
    let name = file_name.map_or_else(|| format!(".s.PGSQL.{port}"), str::to_owned);
    let socket = crate::backend::ssh::LocalSocket::start(tunnel, &name, host, port)
        .map_err(|e| BackendError::Config(format!("cannot make the tunnel's local socket: {e}")))?;
    let mut query: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != "host" && k != "socket")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    match dialect {
        SqlDialect::Postgres => {
            query.push(("host".to_owned(), socket.dir().display().to_string()));
        }
        _ => query.push(("socket".to_owned(), socket.socket().display().to_string())),
    }
    url.query_pairs_mut().clear().extend_pairs(query);
    Ok(socket)
}

/// Reads a bytes column (NULL reads as empty).
fn bytes_at(row: &sqlx::any::AnyRow, i: usize) -> Result<Vec<u8>, sqlx::Error> {
    Ok(row.try_get::<Option<Vec<u8>>, _>(i)?.unwrap_or_default())
}

/// One row of the cache table, read as bytes.
struct CacheRow {
    value: Vec<u8>,
    expiration: i64,
}

impl SqlBackend {
    /// Connects and checks that the table has Laravel's cache columns.
    ///
    /// # Errors
    /// The database is unreachable, refuses the login, or the table is missing or different.
    pub async fn connect(
        spec: &SqlSpec,
        password: Option<&Secret>,
        dialer: crate::backend::net::Dialer,
    ) -> BackendResult<Self> {
        use sqlx::ConnectOptions as _;
        use sqlx::Connection as _;
        sqlx::any::install_default_drivers();
        let mut url =
            url::Url::parse(&spec.url).map_err(|e| BackendError::Config(e.to_string()))?;
        let tunnel_socket = match dialer {
            crate::backend::net::Dialer::Direct => None,
            crate::backend::net::Dialer::Ssh(tunnel) => {
                Some(through_tunnel(tunnel, spec.dialect, &mut url)?)
            }
        };
        if let Some(pw) = password {
            url.set_password(Some(pw.expose())).map_err(|()| {
                BackendError::Config("this URL cannot carry a password".to_owned())
            })?;
        }
        let target = spec.display_target();
        let options: sqlx::any::AnyConnectOptions = url
            .as_str()
            .parse()
            .map_err(|e: sqlx::Error| BackendError::Config(scrub(&e.to_string(), password)))?;
        let options = options.disable_statement_logging();
        let connect_timeout = std::time::Duration::from_millis(spec.connect_timeout_ms);
        // One connection first, on its own: a refused port or a wrong password is reported at
        // once with its cause (the pool would retry until its timeout and only say "timed out").
        match tokio::time::timeout(connect_timeout, sqlx::AnyConnection::connect_with(&options))
            .await
        {
            Ok(Ok(conn)) => {
                let _ = conn.close().await;
            }
            Ok(Err(e)) => return Err(classify(&e, &target, spec.connect_timeout_ms, password)),
            Err(_) => {
                return Err(BackendError::Timeout {
                    target,
                    timeout_ms: spec.connect_timeout_ms,
                });
            }
        }
        let pool = sqlx::any::AnyPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(connect_timeout)
            .connect_lazy_with(options);
        let backend = Self {
            pool,
            dialect: spec.dialect,
            table: spec.table.clone(),
            target,
            connect_timeout_ms: spec.connect_timeout_ms,
            command_timeout: std::time::Duration::from_millis(spec.command_timeout_ms.max(1)),
            capabilities: Capabilities {
                scan_pause: true,
                scan_budget: false,
                rename: true,
                purge_expired: true,
                ..Capabilities::string_store(if spec.session_lifetime_min.is_some() {
                    "Database sessions"
                } else {
                    "Database cache"
                })
            },
            columns: Columns::of(spec),
            cursors: Mutex::new(HashMap::new()),
            next_cursor: AtomicU64::new(1),
            _tunnel_socket: tunnel_socket,
        };
        let probe = format!(
            "SELECT {k}, {v}, {e} FROM {t} WHERE 1 = 0",
            k = backend.col(&backend.columns.key),
            v = backend.col(&backend.columns.value),
            e = backend.col(&backend.columns.expiration),
            t = backend.col(&backend.table)
        );
        let result = backend
            .timed(sqlx::query(sqlx::AssertSqlSafe(probe)).fetch_all(&backend.pool))
            .await;
        match result {
            Ok(_) => Ok(backend),
            Err(BackendError::Server { reason, .. }) => Err(BackendError::Config(format!(
                "table `{}` in {} is missing or is not a {} table ({}, {}, {}): {reason}",
                backend.table,
                backend.target,
                if backend.columns.offset == 0 {
                    "cache"
                } else {
                    "sessions"
                },
                backend.columns.key,
                backend.columns.value,
                backend.columns.expiration
            ))),
            Err(e) => Err(e),
        }
    }

    /// A quoted identifier.
    fn col(&self, name: &str) -> String {
        match self.dialect {
            SqlDialect::MySql => format!("`{}`", name.replace('`', "``")),
            _ => format!("\"{}\"", name.replace('"', "\"\"")),
        }
    }

    fn stmt(&self) -> Stmt {
        Stmt::new(self.dialect)
    }

    /// A text column as the bytes a UTF-8 client reads, whatever the column's collation:
    /// what keys are compared and ordered by, and how values are read.
    fn bytes_of(&self, column: &str) -> String {
        let c = self.col(column);
        match self.dialect {
            SqlDialect::Sqlite => format!("CAST({c} AS BLOB)"),
            SqlDialect::Postgres => format!("convert_to({c}, 'UTF8')"),
            SqlDialect::MySql => format!("CAST(CONVERT({c} USING utf8mb4) AS BINARY)"),
        }
    }

    /// The expiration as a whole number, even when a row holds it as text.
    fn expiration_int(&self) -> String {
        let e = self.col(&self.columns.expiration);
        let int = match self.dialect {
            SqlDialect::Sqlite => format!("CAST({e} AS INTEGER)"),
            SqlDialect::Postgres => format!("CAST({e} AS BIGINT)"),
            SqlDialect::MySql => format!("CAST({e} AS SIGNED)"),
        };
        match self.columns.offset {
            0 => int,
            offset => format!("({int} + {offset})"),
        }
    }

    /// `WHERE` condition for exactly this key, byte for byte. The column's own `=` comes first
    /// so an index is used; a case- or accent-insensitive collation (`utf8mb4_unicode_ci`,
    /// trailing-space padding, a nondeterministic ICU collation) may let it match other keys,
    /// which the byte comparison then drops.
    fn key_eq(&self, q: &mut Stmt, key: &[u8]) -> String {
        // Arguments are bound in the order their placeholders appear (`?` is positional).
        let bytes = self.bytes_of(&self.columns.key);
        if let Ok(text) = std::str::from_utf8(key) {
            let a = q.bind(Arg::Text(text.to_owned()));
            let exact = q.bind(Arg::Bytes(key.to_vec()));
            format!(
                "{} = {a} AND {bytes} = {exact}",
                self.col(&self.columns.key)
            )
        } else {
            let exact = q.bind(Arg::Bytes(key.to_vec()));
            format!("{bytes} = {exact}")
        }
    }

    fn err(&self, e: &sqlx::Error) -> BackendError {
        classify(e, &self.target, self.connect_timeout_ms, None)
    }

    /// Runs one statement under the command timeout: a server that stops answering
    /// mid-query gives an error, never a listing (or a UI) that waits forever.
    async fn timed<T>(
        &self,
        fut: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> BackendResult<T> {
        self.within_timeout(fut).await?.map_err(|e| self.err(&e))
    }

    /// The statement's own result, or the timeout error: for callers that tell driver errors
    /// apart themselves (a unique violation is an answer, not a failure).
    async fn within_timeout<T>(
        &self,
        fut: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> BackendResult<Result<T, sqlx::Error>> {
        tokio::time::timeout(self.command_timeout, fut)
            .await
            .map_err(|_| BackendError::Timeout {
                target: self.target.clone(),
                timeout_ms: u64::try_from(self.command_timeout.as_millis()).unwrap_or(u64::MAX),
            })
    }

    async fn execute(&self, q: &Stmt) -> BackendResult<u64> {
        Ok(self
            .timed(q.query().execute(&self.pool))
            .await?
            .rows_affected())
    }

    /// The row of exactly this key, its value as bytes.
    async fn row(&self, key: &[u8]) -> BackendResult<Option<CacheRow>> {
        let mut q = self.stmt();
        let cond = self.key_eq(&mut q, key);
        q.sql = format!(
            "SELECT {kb}, {vb}, {e} FROM {t} WHERE {cond}",
            kb = self.bytes_of(&self.columns.key),
            vb = self.bytes_of(&self.columns.value),
            e = self.expiration_int(),
            t = self.col(&self.table),
        );
        let rows = self.timed(q.query().fetch_all(&self.pool)).await?;
        for r in &rows {
            let read = |r: &sqlx::any::AnyRow| -> Result<(Vec<u8>, CacheRow), sqlx::Error> {
                Ok((
                    bytes_at(r, 0)?,
                    CacheRow {
                        value: bytes_at(r, 1)?,
                        expiration: r.try_get::<Option<i64>, _>(2)?.unwrap_or(0),
                    },
                ))
            };
            let (found, row) = read(r).map_err(|e| BackendError::Server {
                command: "SELECT".to_owned(),
                reason: format!(
                    "the row of `{}` cannot be read: {e}",
                    crate::core::escape::escape_bytes(key)
                ),
            })?;
            // The exact check on what came back, whatever the query matched.
            if found == key {
                return Ok(Some(row));
            }
        }
        Ok(None)
    }

    /// Who a session of a sessions table belongs to: its user id, IP address and user agent,
    /// where the table has them (Laravel's migration makes them; an app may not). Nothing when
    /// they cannot be read: they are facts to show, never needed.
    async fn session_facts(&self, key: &[u8]) -> Vec<(String, String)> {
        let columns = ["user_id", "ip_address", "user_agent"];
        let mut q = self.stmt();
        let cond = self.key_eq(&mut q, key);
        let texts: Vec<String> = columns
            .iter()
            .map(|c| {
                let text = if self.dialect == SqlDialect::MySql {
                    "CHAR"
                } else {
                    "TEXT"
                };
                format!("CAST({} AS {text})", self.col(c))
            })
            .collect();
        q.sql = format!(
            "SELECT {} FROM {} WHERE {cond}",
            texts.join(", "),
            self.col(&self.table)
        );
        let Ok(Some(row)) = self.timed(q.query().fetch_optional(&self.pool)).await else {
            return Vec::new();
        };
        let labels = ["User id", "IP address", "User agent"];
        labels
            .iter()
            .enumerate()
            .filter_map(|(i, label)| {
                let value: Option<String> = row.try_get(i).ok().flatten();
                value.map(|v| ((*label).to_owned(), v.chars().take(300).collect()))
            })
            .collect()
    }

    /// A value as the argument a statement stores: text where it is UTF-8; raw bytes in
    /// SQLite (what PHP's PDO writes for a binary string); refused elsewhere.
    fn value_arg(&self, value: &[u8]) -> BackendResult<Arg> {
        match std::str::from_utf8(value) {
            Ok(text) => Ok(Arg::Text(text.to_owned())),
            Err(_) if self.dialect == SqlDialect::Sqlite => Ok(Arg::Bytes(value.to_vec())),
            Err(_) => Err(BackendError::Invalid(format!(
                "this value is not UTF-8, and a {} cache table holds text",
                self.dialect.label()
            ))),
        }
    }

    /// Inserts a row; false when the key exists already.
    async fn insert(&self, key: &[u8], value: &[u8], exp: i64) -> BackendResult<bool> {
        let mut q = self.stmt();
        let (v, e, k) = (
            q.bind(self.value_arg(value)?),
            q.bind(Arg::Int(self.columns.stored(exp))),
            q.bind(Arg::Text(text_key(key)?.to_owned())),
        );
        q.sql = format!(
            "INSERT INTO {t} ({vc}, {ec}, {kc}) VALUES ({v}, {e}, {k})",
            t = self.col(&self.table),
            kc = self.col(&self.columns.key),
            vc = self.col(&self.columns.value),
            ec = self.col(&self.columns.expiration),
        );
        // A key equal to this one under the table's collation blocks it too; that is a
        // conflict the user sees, never a silent write to the other key.
        match self.within_timeout(q.query().execute(&self.pool)).await? {
            Ok(_) => Ok(true),
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => Ok(false),
            Err(e) => Err(self.err(&e)),
        }
    }

    async fn delete_key(&self, key: &[u8]) -> BackendResult<u64> {
        let mut q = self.stmt();
        let cond = self.key_eq(&mut q, key);
        q.sql = format!("DELETE FROM {} WHERE {cond}", self.col(&self.table));
        self.execute(&q).await
    }
}

/// The error for a key the table refuses because its collation calls it equal to another.
fn collation_clash(key: &[u8]) -> BackendError {
    BackendError::Server {
        command: "INSERT".to_owned(),
        reason: format!(
            "the table already holds a key its collation treats as equal to `{}` (differing \
             only in case, accents or trailing spaces); nothing was written, and that other \
             key was left as it is",
            crate::core::escape::escape_bytes(key)
        ),
    }
}

/// Takes a secret out of a driver message (some echo the URL they were given).
fn scrub(message: &str, password: Option<&Secret>) -> String {
    match password {
        Some(pw) if !pw.expose().is_empty() => message.replace(pw.expose(), "***"),
        _ => message.to_owned(),
    }
}

fn classify(
    e: &sqlx::Error,
    target: &str,
    connect_timeout_ms: u64,
    password: Option<&Secret>,
) -> BackendError {
    match e {
        sqlx::Error::Io(io) => BackendError::Connect {
            target: target.to_owned(),
            reason: io.to_string(),
        },
        sqlx::Error::PoolTimedOut => BackendError::Timeout {
            target: target.to_owned(),
            timeout_ms: connect_timeout_ms,
        },
        sqlx::Error::Tls(tls) => BackendError::Connect {
            target: target.to_owned(),
            reason: format!("TLS: {}", scrub(&tls.to_string(), password)),
        },
        sqlx::Error::Database(db) => {
            let msg = scrub(db.message(), password);
            let code = db
                .code()
                .map(std::borrow::Cow::into_owned)
                .unwrap_or_default();
            // 28P01/28000: PostgreSQL; 1045: MySQL access denied.
            if code == "28P01" || code == "28000" || code == "1045" || msg.contains("Access denied")
            {
                BackendError::Auth {
                    target: target.to_owned(),
                    reason: msg,
                }
            } else {
                BackendError::Server {
                    command: "SQL".to_owned(),
                    reason: msg,
                }
            }
        }
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => BackendError::Server {
            command: "SQL".to_owned(),
            reason: format!("a row cannot be read: {e}"),
        },
        other => BackendError::Connect {
            target: target.to_owned(),
            reason: scrub(&other.to_string(), password),
        },
    }
}

#[async_trait]
impl CacheBackend for SqlBackend {
    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    fn describe(&self) -> String {
        format!(
            "{} table `{}` at {}",
            self.dialect.label(),
            self.table,
            self.target
        )
    }

    async fn databases(&self) -> BackendResult<Vec<DbInfo>> {
        Ok(Vec::new())
    }

    async fn key_count(&self) -> BackendResult<u64> {
        let sql = format!("SELECT COUNT(*) FROM {}", self.col(&self.table));
        let row = self
            .timed(sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_one(&self.pool))
            .await?;
        let n: i64 = row.try_get(0).map_err(|e| self.err(&e))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn stats(&self) -> BackendResult<Vec<(String, crate::core::metrics::RawStats)>> {
        let text = match self.dialect {
            SqlDialect::Sqlite | SqlDialect::Postgres => "TEXT",
            SqlDialect::MySql => "CHAR",
        };
        // The byte sum is NUMERIC/DECIMAL on PostgreSQL and MySQL, which the Any driver cannot
        // decode: it comes back as text on every dialect and is parsed here.
        let sql = format!(
            "SELECT COUNT(*), COUNT(CASE WHEN {e} <= {now} THEN 1 END), \
             CAST(COALESCE(SUM(LENGTH({vb})), 0) AS {text}) FROM {t}",
            e = self.expiration_int(),
            now = now_secs(),
            vb = self.bytes_of(&self.columns.value),
            t = self.col(&self.table),
        );
        let row = self
            .timed(sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_one(&self.pool))
            .await?;
        let total: i64 = row.try_get(0).map_err(|e| self.err(&e))?;
        let expired: i64 = row.try_get(1).map_err(|e| self.err(&e))?;
        let size: String = row.try_get(2).map_err(|e| self.err(&e))?;
        Ok(vec![(
            self.target.clone(),
            crate::core::metrics::RawStats {
                keys: u64::try_from(total).ok(),
                expired_entries: u64::try_from(expired).ok(),
                total_size: size.trim().parse().ok(),
                ..crate::core::metrics::RawStats::default()
            },
        )])
    }

    async fn scan(&self, request: &ScanRequest, cursor: u64) -> BackendResult<ScanPage> {
        let after = if cursor == 0 {
            None
        } else {
            Some(
                self.cursors
                    .lock()
                    .await
                    .remove(&cursor)
                    .ok_or(BackendError::ListingStopped)?,
            )
        };
        let k = self.col(&self.columns.key);
        let kb = self.bytes_of(&self.columns.key);
        let mut q = self.stmt();
        let mut conditions = Vec::new();
        if let Some(after) = &after {
            // Rows come ordered by the column's collation, ties (keys a case-insensitive
            // collation calls equal) by their bytes; the next page starts after the last row
            // in exactly that order, so no key is skipped or read twice.
            let text = String::from_utf8_lossy(after).into_owned();
            let (a, b) = (q.bind(Arg::Text(text.clone())), q.bind(Arg::Text(text)));
            let c = q.bind(Arg::Bytes(after.clone()));
            conditions.push(format!("({k} > {a} OR ({k} = {b} AND {kb} > {c}))"));
        }
        if let Some(like) = like_prefix(&request.pattern) {
            // Only narrows what is read (a case-insensitive LIKE reads more, never less); the
            // glob below decides.
            let a = q.bind(Arg::Text(like));
            conditions.push(format!("{k} LIKE {a} ESCAPE '!'"));
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        q.sql = format!(
            "SELECT {kb} FROM {t} {filter} ORDER BY {k}, {kb} LIMIT {PAGE_ROWS}",
            t = self.col(&self.table)
        );
        let rows = self.timed(q.query().fetch_all(&self.pool)).await?;
        let mut keys = Vec::with_capacity(rows.len());
        let mut last = None;
        let wanted = request
            .type_filter
            .as_ref()
            .is_none_or(|t| *t == KeyType::String);
        for r in &rows {
            let key = bytes_at(r, 0).map_err(|e| self.err(&e))?;
            if wanted && crate::core::glob::matches(&request.pattern, &key) {
                keys.push(Bytes::from(key.clone()));
            }
            last = Some(key);
        }
        let done = rows.len() < usize::try_from(PAGE_ROWS).unwrap_or(usize::MAX);
        let next_cursor = match (done, last) {
            (false, Some(last)) => {
                let token = self.next_cursor.fetch_add(1, Ordering::Relaxed);
                self.cursors.lock().await.insert(token, last);
                token
            }
            _ => 0,
        };
        Ok(ScanPage::single(
            keys,
            next_cursor,
            if next_cursor == 0 { 1.0 } else { 0.5 },
        ))
    }

    async fn key_meta(&self, keys: &[Bytes]) -> BackendResult<Vec<Option<KeyMeta>>> {
        let now = now_secs();
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            // One unreadable row is that row's problem, not the whole page's.
            let row = match self.row(key).await {
                Ok(row) => row,
                Err(BackendError::Server { .. }) => None,
                Err(e) => return Err(e),
            };
            out.push(row.map(|row| KeyMeta {
                key_type: KeyType::String,
                ttl: ttl_of(row.expiration, now),
                size_bytes: Some(row.value.len() as u64),
                server: None,
                idle_secs: None,
                preview: None,
            }));
        }
        Ok(out)
    }

    async fn key_details(&self, key: &[u8]) -> BackendResult<KeyDetails> {
        let row = self.row(key).await?.ok_or_else(|| key_not_found(key))?;
        let mut extra = vec![(
            "Expiration".to_owned(),
            crate::core::format::expiry_text(row.expiration, now_secs()),
        )];
        if self.columns.offset != 0 {
            extra.extend(self.session_facts(key).await);
        }
        Ok(KeyDetails {
            meta: KeyMeta {
                key_type: KeyType::String,
                ttl: ttl_of(row.expiration, now_secs()),
                size_bytes: Some(row.value.len() as u64),
                server: None,
                idle_secs: None,
                preview: None,
            },
            encoding: None,
            length: row.value.len() as u64,
            extra,
            flags: None,
        })
    }

    async fn read_page(
        &self,
        key: &[u8],
        _key_type: &KeyType,
        cursor: &PageCursor,
        _page_size: u32,
    ) -> BackendResult<ValuePage> {
        let row = self.row(key).await?.ok_or_else(|| key_not_found(key))?;
        Ok(whole_string_page(cursor, Bytes::from(row.value)))
    }

    async fn read_string_range(&self, key: &[u8], offset: u64, len: u64) -> BackendResult<Bytes> {
        let row = self.row(key).await?.ok_or_else(|| key_not_found(key))?;
        Ok(clamped_range(&row.value, offset, len))
    }

    async fn write(&self, op: &WriteOp) -> BackendResult<WriteOutcome> {
        self.apply(op).await
    }

    async fn dump(&self, keys: &[Bytes]) -> BackendResult<Vec<Option<DumpedKey>>> {
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            out.push(self.row(key).await?.map(|row| DumpedKey {
                key: key.clone(),
                payload: Bytes::from(row.value),
                expire_at_unix_ms: Some(u64::try_from(row.expiration).unwrap_or(0) * 1000),
            }));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::like_prefix;

    #[test]
    fn globs_become_escaped_like_prefixes() {
        assert_eq!(like_prefix(b"user:*").as_deref(), Some("user:%"));
        assert_eq!(like_prefix(b"100%_off*").as_deref(), Some("100!%!_off%"));
        assert_eq!(like_prefix(b"a\\*b*").as_deref(), Some("a*b%"));
        assert_eq!(like_prefix(b"*x"), None);
        assert_eq!(like_prefix(b"[ab]c"), None);
        assert_eq!(like_prefix(b"key!").as_deref(), Some("key!!%"));
    }
}
