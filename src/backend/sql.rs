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

use super::{
    BackendError, BackendResult, CacheBackend, Capabilities, clamped_range, key_not_found,
    whole_string_page,
};
use crate::connection::{Secret, SqlDialect, SqlSpec};
use crate::model::{
    DbInfo, DumpedKey, KeyDetails, KeyMeta, KeyType, NewValue, PageCursor, ScanPage, ScanRequest,
    Ttl, TtlChange, ValuePage, WriteOp, WriteOutcome,
};

/// Rows read per listing round trip.
const PAGE_ROWS: i64 = 2000;

/// A connected cache table.
pub struct SqlBackend {
    pool: sqlx::AnyPool,
    dialect: SqlDialect,
    table: String,
    target: String,
    capabilities: Capabilities,
    /// Where each listing stopped: the last key read, by cursor token.
    cursors: Mutex<HashMap<u64, String>>,
    next_cursor: AtomicU64,
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
    i64::try_from(crate::ttl::now_unix_ms() / 1000).unwrap_or(i64::MAX)
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
        BackendError::Config(format!(
            "`{}` cannot be a key of a cache table: keys are text",
            crate::escape::escape_bytes(key)
        ))
    })
}

impl SqlBackend {
    /// Connects and checks that the table has Laravel's cache columns.
    ///
    /// # Errors
    /// The database is unreachable, refuses the login, or the table is missing or different.
    pub async fn connect(spec: &SqlSpec, password: Option<&Secret>) -> BackendResult<Self> {
        sqlx::any::install_default_drivers();
        let mut url =
            url::Url::parse(&spec.url).map_err(|e| BackendError::Config(e.to_string()))?;
        if let Some(pw) = password {
            url.set_password(Some(pw.expose())).map_err(|()| {
                BackendError::Config("this URL cannot carry a password".to_owned())
            })?;
        }
        let target = spec.display_target();
        let pool = sqlx::any::AnyPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(std::time::Duration::from_millis(spec.connect_timeout_ms))
            .connect(url.as_str())
            .await
            .map_err(|e| classify(&e, &target))?;
        let backend = Self {
            pool,
            dialect: spec.dialect,
            table: spec.table.clone(),
            target,
            capabilities: Capabilities {
                scan_pause: true,
                rename: true,
                purge_expired: true,
                ..Capabilities::string_store("Database cache")
            },
            cursors: Mutex::new(HashMap::new()),
            next_cursor: AtomicU64::new(1),
        };
        let probe = format!(
            "SELECT {k}, {v}, {e} FROM {t} WHERE 1 = 0",
            k = backend.col("key"),
            v = backend.col("value"),
            e = backend.col("expiration"),
            t = backend.col(&backend.table)
        );
        sqlx::query(sqlx::AssertSqlSafe(probe.clone())).fetch_all(&backend.pool).await.map_err(|e| {
            BackendError::Config(format!(
                "table `{}` in {} is missing or is not a cache table (key, value, expiration): {e}",
                backend.table, backend.target
            ))
        })?;
        Ok(backend)
    }

    /// A quoted identifier.
    fn col(&self, name: &str) -> String {
        match self.dialect {
            SqlDialect::MySql => format!("`{}`", name.replace('`', "``")),
            _ => format!("\"{}\"", name.replace('"', "\"\"")),
        }
    }

    /// The n-th (1-based) placeholder.
    fn arg(&self, n: usize) -> String {
        match self.dialect {
            SqlDialect::Postgres => format!("${n}"),
            _ => "?".to_owned(),
        }
    }

    fn err(&self, e: &sqlx::Error) -> BackendError {
        classify(e, &self.target)
    }

    async fn row(&self, key: &str) -> BackendResult<Option<(String, i64)>> {
        let sql = format!(
            "SELECT {v}, {e} FROM {t} WHERE {k} = {a}",
            v = self.col("value"),
            e = self.col("expiration"),
            t = self.col(&self.table),
            k = self.col("key"),
            a = self.arg(1)
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.err(&e))?;
        row.map(|r| {
            let value: String = r.try_get(0).map_err(|e| self.err(&e))?;
            let exp: i64 = r.try_get(1).map_err(|e| self.err(&e))?;
            Ok((value, exp))
        })
        .transpose()
    }

    async fn exec(&self, sql: &str, args: &[&str]) -> BackendResult<u64> {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()));
        for a in args {
            q = q.bind(*a);
        }
        Ok(q.execute(&self.pool)
            .await
            .map_err(|e| self.err(&e))?
            .rows_affected())
    }

    async fn exec_with_exp(
        &self,
        sql: &str,
        value: &str,
        exp: i64,
        key: &str,
    ) -> BackendResult<u64> {
        Ok(sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .bind(value)
            .bind(exp)
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(|e| self.err(&e))?
            .rows_affected())
    }

    async fn insert(&self, key: &str, value: &str, exp: i64) -> BackendResult<bool> {
        let sql = format!(
            "INSERT INTO {t} ({v}, {e}, {k}) VALUES ({a1}, {a2}, {a3})",
            t = self.col(&self.table),
            k = self.col("key"),
            v = self.col("value"),
            e = self.col("expiration"),
            a1 = self.arg(1),
            a2 = self.arg(2),
            a3 = self.arg(3)
        );
        match self.exec_with_exp(&sql, value, exp, key).await {
            Ok(_) => Ok(true),
            Err(BackendError::Server { reason, .. })
                if reason.contains("UNIQUE")
                    || reason.contains("unique")
                    || reason.contains("Duplicate") =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }
}

fn classify(e: &sqlx::Error, target: &str) -> BackendError {
    match e {
        sqlx::Error::Io(io) => BackendError::Connect {
            target: target.to_owned(),
            reason: io.to_string(),
        },
        sqlx::Error::PoolTimedOut => BackendError::Timeout {
            target: target.to_owned(),
            timeout_ms: 0,
        },
        sqlx::Error::Database(db) => {
            let msg = db.message().to_owned();
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
        other => BackendError::Connect {
            target: target.to_owned(),
            reason: other.to_string(),
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
        let row = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .fetch_one(&self.pool)
            .await
            .map_err(|e| self.err(&e))?;
        let n: i64 = row.try_get(0).map_err(|e| self.err(&e))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn stats(&self) -> BackendResult<Vec<(String, crate::metrics::RawStats)>> {
        let (length, text) = match self.dialect {
            SqlDialect::Sqlite => ("LENGTH(CAST({v} AS BLOB))", "TEXT"),
            SqlDialect::Postgres => ("OCTET_LENGTH({v})", "TEXT"),
            SqlDialect::MySql => ("OCTET_LENGTH({v})", "CHAR"),
        };
        // The byte sum is NUMERIC/DECIMAL on PostgreSQL and MySQL, which the Any driver cannot
        // decode: it comes back as text on every dialect and is parsed here.
        let sql = format!(
            "SELECT COUNT(*), COUNT(CASE WHEN {e} <= {now} THEN 1 END), \
             CAST(COALESCE(SUM({len}), 0) AS {text}) FROM {t}",
            e = self.col("expiration"),
            now = now_secs(),
            len = length.replace("{v}", &self.col("value")),
            t = self.col(&self.table),
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_one(&self.pool)
            .await
            .map_err(|e| self.err(&e))?;
        let total: i64 = row.try_get(0).map_err(|e| self.err(&e))?;
        let expired: i64 = row.try_get(1).map_err(|e| self.err(&e))?;
        let size: String = row.try_get(2).map_err(|e| self.err(&e))?;
        Ok(vec![(
            self.target.clone(),
            crate::metrics::RawStats {
                keys: u64::try_from(total).ok(),
                expired_entries: u64::try_from(expired).ok(),
                total_size: size.trim().parse().ok(),
                ..crate::metrics::RawStats::default()
            },
        )])
    }

    async fn scan(&self, request: &ScanRequest, cursor: u64) -> BackendResult<ScanPage> {
        let after = if cursor == 0 {
            None
        } else {
            Some(self.cursors.lock().await.remove(&cursor).ok_or_else(|| {
                BackendError::Config("this listing was stopped; search again".to_owned())
            })?)
        };
        let like = like_prefix(&request.pattern);
        let mut conditions = Vec::new();
        let mut args: Vec<String> = Vec::new();
        if let Some(after) = &after {
            args.push(after.clone());
            conditions.push(format!("{} > {}", self.col("key"), self.arg(args.len())));
        }
        if let Some(like) = &like {
            args.push(like.clone());
            conditions.push(format!(
                "{} LIKE {} ESCAPE '!'",
                self.col("key"),
                self.arg(args.len())
            ));
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let sql = format!(
            "SELECT {k} FROM {t} {filter} ORDER BY {k} LIMIT {PAGE_ROWS}",
            k = self.col("key"),
            t = self.col(&self.table)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
        for a in &args {
            q = q.bind(a.as_str());
        }
        let rows = q.fetch_all(&self.pool).await.map_err(|e| self.err(&e))?;
        let mut keys = Vec::with_capacity(rows.len());
        let mut last = None;
        let wanted = request
            .type_filter
            .as_ref()
            .is_none_or(|t| *t == KeyType::String);
        for r in &rows {
            let key: String = r.try_get(0).map_err(|e| self.err(&e))?;
            if wanted && crate::glob::matches(&request.pattern, key.as_bytes()) {
                keys.push(Bytes::from(key.clone().into_bytes()));
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
        Ok(ScanPage {
            keys,
            next_cursor,
            progress: if next_cursor == 0 { 1.0 } else { 0.5 },
        })
    }

    async fn key_meta(&self, keys: &[Bytes]) -> BackendResult<Vec<Option<KeyMeta>>> {
        let now = now_secs();
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            let Ok(k) = text_key(key) else {
                out.push(None);
                continue;
            };
            out.push(self.row(k).await?.map(|(value, exp)| KeyMeta {
                key_type: KeyType::String,
                ttl: ttl_of(exp, now),
                size_bytes: Some(value.len() as u64),
                server: None,
                idle_secs: None,
                preview: None,
            }));
        }
        Ok(out)
    }

    async fn key_details(&self, key: &[u8]) -> BackendResult<KeyDetails> {
        let (value, exp) = self
            .row(text_key(key)?)
            .await?
            .ok_or_else(|| key_not_found(key))?;
        Ok(KeyDetails {
            meta: KeyMeta {
                key_type: KeyType::String,
                ttl: ttl_of(exp, now_secs()),
                size_bytes: Some(value.len() as u64),
                server: None,
                idle_secs: None,
                preview: None,
            },
            encoding: None,
            length: value.len() as u64,
            extra: vec![("Expiration".to_owned(), exp.to_string())],
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
        let (value, _) = self
            .row(text_key(key)?)
            .await?
            .ok_or_else(|| key_not_found(key))?;
        Ok(whole_string_page(cursor, Bytes::from(value.into_bytes())))
    }

    async fn read_string_range(&self, key: &[u8], offset: u64, len: u64) -> BackendResult<Bytes> {
        let (value, _) = self
            .row(text_key(key)?)
            .await?
            .ok_or_else(|| key_not_found(key))?;
        Ok(clamped_range(value.as_bytes(), offset, len))
    }

    async fn write(&self, op: &WriteOp) -> BackendResult<WriteOutcome> {
        let now = now_secs();
        let t = self.col(&self.table);
        let (k, v, e) = (self.col("key"), self.col("value"), self.col("expiration"));
        let value_text = |b: &Bytes| {
            String::from_utf8(b.to_vec()).map_err(|_| {
                BackendError::Config("a cache table holds text: this value is not UTF-8".to_owned())
            })
        };
        match op {
            WriteOp::SetString {
                key,
                value,
                ttl,
                expect,
            } => {
                let key = text_key(key)?;
                let value = value_text(value)?;
                let current = self.row(key).await?;
                match (expect, &current) {
                    (Some(Some(_)), None) | (Some(None), Some(_)) => {
                        return Ok(WriteOutcome::Conflict);
                    }
                    _ => {}
                }
                let exp = expiration_for(*ttl, current.as_ref().map(|c| c.1), now);
                if current.is_none() {
                    return Ok(if self.insert(key, &value, exp).await? {
                        WriteOutcome::Done(1)
                    } else {
                        WriteOutcome::Conflict
                    });
                }
                let (sql, n) = if let Some(Some(old)) = expect {
                    // The comparison happens in the UPDATE itself: atomic.
                    let sql = format!(
                        "UPDATE {t} SET {v} = {a1}, {e} = {a2} WHERE {k} = {a3} AND {v} = {a4}",
                        a1 = self.arg(1),
                        a2 = self.arg(2),
                        a3 = self.arg(3),
                        a4 = self.arg(4)
                    );
                    let old = value_text(old)?;
                    let n = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                        .bind(value.as_str())
                        .bind(exp)
                        .bind(key)
                        .bind(old.as_str())
                        .execute(&self.pool)
                        .await
                        .map_err(|e| self.err(&e))?
                        .rows_affected();
                    (sql, n)
                } else {
                    let sql = format!(
                        "UPDATE {t} SET {v} = {a1}, {e} = {a2} WHERE {k} = {a3}",
                        a1 = self.arg(1),
                        a2 = self.arg(2),
                        a3 = self.arg(3)
                    );
                    let n = self.exec_with_exp(&sql, &value, exp, key).await?;
                    (sql, n)
                };
                let _ = sql;
                Ok(if n == 0 {
                    WriteOutcome::Conflict
                } else {
                    WriteOutcome::Done(n)
                })
            }
            WriteOp::SetTtl { key, ttl } => {
                let key = text_key(key)?;
                let current = self
                    .row(key)
                    .await?
                    .ok_or_else(|| key_not_found(key.as_bytes()))?;
                let exp = expiration_for(*ttl, Some(current.1), now);
                let sql = format!(
                    "UPDATE {t} SET {e} = {a1} WHERE {k} = {a2}",
                    a1 = self.arg(1),
                    a2 = self.arg(2)
                );
                let n = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                    .bind(exp)
                    .bind(key)
                    .execute(&self.pool)
                    .await
                    .map_err(|e| self.err(&e))?
                    .rows_affected();
                Ok(WriteOutcome::Done(n))
            }
            WriteOp::Create { key, value, ttl } => {
                let NewValue::String(value) = value else {
                    return Err(BackendError::Config(
                        "a cache table holds plain values only".to_owned(),
                    ));
                };
                let exp = expiration_for(*ttl, None, now);
                Ok(
                    if self
                        .insert(text_key(key)?, &value_text(value)?, exp)
                        .await?
                    {
                        WriteOutcome::Done(1)
                    } else {
                        WriteOutcome::TargetExists
                    },
                )
            }
            WriteOp::Delete { keys } => {
                let sql = format!("DELETE FROM {t} WHERE {k} = {a}", a = self.arg(1));
                let mut n = 0;
                for key in keys {
                    if let Ok(key) = text_key(key) {
                        n += self.exec(&sql, &[key]).await?;
                    }
                }
                Ok(WriteOutcome::Done(n))
            }
            WriteOp::Rename {
                from,
                to,
                overwrite,
            }
            | WriteOp::Copy {
                from,
                to,
                overwrite,
            } => {
                let (from, to) = (text_key(from)?, text_key(to)?);
                let (value, exp) = self
                    .row(from)
                    .await?
                    .ok_or_else(|| key_not_found(from.as_bytes()))?;
                if self.row(to).await?.is_some() {
                    if !overwrite {
                        return Ok(WriteOutcome::TargetExists);
                    }
                    self.exec(
                        &format!("DELETE FROM {t} WHERE {k} = {a}", a = self.arg(1)),
                        &[to],
                    )
                    .await?;
                }
                if !self.insert(to, &value, exp).await? {
                    return Ok(WriteOutcome::TargetExists);
                }
                if matches!(op, WriteOp::Rename { .. }) {
                    self.exec(
                        &format!("DELETE FROM {t} WHERE {k} = {a}", a = self.arg(1)),
                        &[from],
                    )
                    .await?;
                }
                Ok(WriteOutcome::Done(1))
            }
            WriteOp::Restore { keys } => {
                let mut n = 0;
                for d in keys {
                    let key = text_key(&d.key)?;
                    let exp = d.expire_at_unix_ms.map_or(now + FOREVER_SECS, |at| {
                        i64::try_from(at / 1000).unwrap_or(i64::MAX)
                    });
                    if !self.insert(key, &value_text(&d.payload)?, exp).await? {
                        return Err(BackendError::Server {
                            command: "INSERT".to_owned(),
                            reason: format!("`{key}` exists again; it was not replaced"),
                        });
                    }
                    n += 1;
                }
                Ok(WriteOutcome::Done(n))
            }
            WriteOp::FlushDb | WriteOp::FlushAll | WriteOp::Flush { .. } => Ok(WriteOutcome::Done(
                self.exec(&format!("DELETE FROM {t}"), &[]).await?,
            )),
            WriteOp::PurgeExpired => {
                let sql = format!("DELETE FROM {t} WHERE {e} <= {a}", a = self.arg(1));
                let n = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                    .bind(now)
                    .execute(&self.pool)
                    .await
                    .map_err(|e| self.err(&e))?
                    .rows_affected();
                Ok(WriteOutcome::Done(n))
            }
            _ => Err(BackendError::Config(
                "a cache table holds plain values: this edit is not possible here".to_owned(),
            )),
        }
    }

    async fn dump(&self, keys: &[Bytes]) -> BackendResult<Vec<Option<DumpedKey>>> {
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            let row = match text_key(key) {
                Ok(k) => self.row(k).await?,
                Err(_) => None,
            };
            out.push(row.map(|(value, exp)| DumpedKey {
                key: key.clone(),
                payload: Bytes::from(value.into_bytes()),
                expire_at_unix_ms: Some(u64::try_from(exp).unwrap_or(0) * 1000),
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
