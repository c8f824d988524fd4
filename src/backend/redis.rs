//! The Redis backend: one standalone server over TCP, TLS or a unix socket.
//!
//! All commands go through a redis-rs `ConnectionManager`, a multiplexed connection that
//! reconnects by itself, so a key listing and the value viewer can share it concurrently.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ConnectionAddr, IntoConnectionInfo, RedisConnectionInfo, Value};

use super::{BackendError, BackendResult, CacheBackend, Capabilities, key_not_found};
use crate::connection::{RedisAddress, RedisSpec, Secret};
use crate::model::{
    DbInfo, KeyDetails, KeyMeta, KeyType, PageCursor, ScanPage, ScanRequest, StreamEntry, Ttl,
    ValueItems, ValuePage,
};

/// Strings longer than this are shown as a preview of this many bytes.
pub const STRING_PREVIEW_BYTES: u64 = 1024 * 1024;

/// A connected Redis server.
pub struct RedisBackend {
    conn: ConnectionManager,
    target: String,
    version: String,
    db: u32,
    command_timeout_ms: u64,
    capabilities: Capabilities,
}

impl RedisBackend {
    /// Connects, authenticates and selects the database of `spec`.
    ///
    /// # Errors
    /// The server is unreachable, refuses the credentials, or the TLS CA file cannot be read.
    pub async fn connect(spec: &RedisSpec, password: Option<&Secret>) -> BackendResult<Self> {
        install_crypto_provider();
        let target = match &spec.address {
            RedisAddress::Tcp { host, port } => format!("{host}:{port}"),
            RedisAddress::Unix { path } => path.display().to_string(),
        };
        let addr = match (&spec.address, &spec.tls) {
            (RedisAddress::Tcp { host, port }, None) => ConnectionAddr::Tcp(host.clone(), *port),
            (RedisAddress::Tcp { host, port }, Some(_)) => ConnectionAddr::TcpTls {
                host: host.clone(),
                port: *port,
                insecure: false,
                tls_params: None,
            },
            (RedisAddress::Unix { path }, _) => ConnectionAddr::Unix(path.clone()),
        };
        let mut settings = RedisConnectionInfo::default().set_db(i64::from(spec.db));
        if let Some(user) = &spec.username {
            settings = settings.set_username(user);
        }
        if let Some(password) = password {
            settings = settings.set_password(password.expose());
        }
        let info = addr
            .into_connection_info()
            .map_err(|e| BackendError::Config(e.to_string()))?
            .set_redis_settings(settings);
        let client = match spec.tls.as_ref().and_then(|t| t.ca_file.as_ref()) {
            Some(ca_file) => {
                let root_cert = std::fs::read(ca_file).map_err(|e| {
                    BackendError::Config(format!(
                        "cannot read TLS CA file {}: {e}",
                        ca_file.display()
                    ))
                })?;
                redis::Client::build_with_tls(
                    info,
                    redis::TlsCertificates {
                        client_tls: None,
                        root_cert: Some(root_cert),
                    },
                )
            }
            None => redis::Client::open(info),
        }
        .map_err(|e| BackendError::Config(e.to_string()))?;

        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(spec.connect_timeout_ms)))
            .set_response_timeout(Some(Duration::from_millis(spec.command_timeout_ms)))
            .set_number_of_retries(1);
        // The manager retries internally; bound the whole attempt so a black-holed host
        // fails within the connect timeout the user chose.
        let limit = Duration::from_millis(spec.connect_timeout_ms.saturating_mul(2));
        let conn =
            match tokio::time::timeout(limit, client.get_connection_manager_with_config(config))
                .await
            {
                Ok(result) => result.map_err(|e| map_error(&e, &target, "connect", spec))?,
                Err(_) => {
                    return Err(BackendError::Timeout {
                        target,
                        timeout_ms: spec.connect_timeout_ms,
                    });
                }
            };
        let mut backend = Self {
            conn,
            target,
            version: String::new(),
            db: spec.db,
            command_timeout_ms: spec.command_timeout_ms,
            capabilities: Capabilities {
                kind_label: "Redis",
                value_types: vec![
                    KeyType::String,
                    KeyType::Hash,
                    KeyType::List,
                    KeyType::Set,
                    KeyType::ZSet,
                    KeyType::Stream,
                    KeyType::Json,
                ],
                list_keys: true,
                server_side_pattern: true,
                type_filter: true,
                ttl: true,
                databases: true,
                memory_usage: true,
                flush: true,
            },
        };
        // A PING proves the handshake (AUTH, SELECT) worked; INFO gives the version.
        let _: Value = backend.query(&redis::cmd("PING"), "PING").await?;
        let info: String = backend
            .query(redis::cmd("INFO").arg("server"), "INFO server")
            .await
            .unwrap_or_default();
        backend.version = info_field(&info, "redis_version").unwrap_or("?").to_owned();
        Ok(backend)
    }

    async fn query<T: redis::FromRedisValue>(
        &self,
        cmd: &redis::Cmd,
        name: &str,
    ) -> BackendResult<T> {
        let mut conn = self.conn.clone();
        cmd.query_async(&mut conn)
            .await
            .map_err(|e| self.map(&e, name))
    }

    fn map(&self, e: &redis::RedisError, command: &str) -> BackendError {
        if e.is_timeout() {
            return BackendError::Timeout {
                target: self.target.clone(),
                timeout_ms: self.command_timeout_ms,
            };
        }
        classify(e, &self.target, command)
    }

    async fn length(&self, key: &[u8], key_type: &KeyType) -> BackendResult<u64> {
        let command = match key_type {
            KeyType::String => "STRLEN",
            KeyType::Hash => "HLEN",
            KeyType::List => "LLEN",
            KeyType::Set => "SCARD",
            KeyType::ZSet => "ZCARD",
            KeyType::Stream => "XLEN",
            KeyType::Json => "JSON.STRLEN",
            KeyType::Other(_) => return Ok(0),
        };
        if *key_type == KeyType::Json {
            // JSON.STRLEN fails on non-string roots; the document length is not essential.
            return Ok(self
                .query::<Option<u64>>(redis::cmd("JSON.OBJLEN").arg(key), "JSON.OBJLEN")
                .await
                .ok()
                .flatten()
                .unwrap_or(0));
        }
        self.query(redis::cmd(command).arg(key), command).await
    }
}

fn map_error(e: &redis::RedisError, target: &str, command: &str, spec: &RedisSpec) -> BackendError {
    if e.is_timeout() {
        return BackendError::Timeout {
            target: target.to_owned(),
            timeout_ms: spec.connect_timeout_ms,
        };
    }
    classify(e, target, command)
}

fn classify(e: &redis::RedisError, target: &str, command: &str) -> BackendError {
    let code = e.code().unwrap_or_default();
    let auth_codes = ["WRONGPASS", "NOAUTH", "NOPERM"];
    if e.kind() == redis::ErrorKind::AuthenticationFailed
        || (auth_codes.contains(&code) && command == "connect")
        || (auth_codes.contains(&code) && command == "PING")
    {
        return BackendError::Auth {
            target: target.to_owned(),
            reason: e.detail().unwrap_or(e.category()).to_owned(),
        };
    }
    if e.is_io_error() || e.is_connection_refusal() || e.is_connection_dropped() {
        return BackendError::Connect {
            target: target.to_owned(),
            reason: e.to_string(),
        };
    }
    BackendError::Server {
        command: command.to_owned(),
        reason: e.to_string(),
    }
}

/// rustls needs exactly one process-wide crypto provider; we ship `ring`.
fn install_crypto_provider() {
    // Fails only when a provider is installed already, which is what we want anyway.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A field of an INFO reply (`name:value` lines).
#[must_use]
pub fn info_field<'a>(info: &'a str, name: &str) -> Option<&'a str> {
    info.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        (k == name).then(|| v.trim())
    })
}

/// Parses `INFO keyspace` lines such as `db0:keys=12,expires=3,avg_ttl=0`.
#[must_use]
pub fn parse_keyspace(info: &str) -> Vec<DbInfo> {
    info.lines()
        .filter_map(|line| {
            let (db, rest) = line.split_once(':')?;
            let index = db.strip_prefix("db")?.parse().ok()?;
            let mut keys = 0;
            let mut expires = 0;
            for part in rest.trim().split(',') {
                match part.split_once('=') {
                    Some(("keys", v)) => keys = v.parse().unwrap_or(0),
                    Some(("expires", v)) => expires = v.parse().unwrap_or(0),
                    _ => {}
                }
            }
            Some(DbInfo {
                index,
                keys,
                expires,
            })
        })
        .collect()
}

/// Share of the keyspace a SCAN has visited when it returns `cursor`.
///
/// Redis walks its hash table in reverse-binary order: it reverses the cursor's bits, adds one
/// and reverses back. So the reversed cursor, read as a fraction of 2^64, is how far the
/// iteration has come, whatever the table size.
#[must_use]
pub fn scan_progress(cursor: u64) -> f64 {
    if cursor == 0 {
        return 1.0;
    }
    #[allow(clippy::cast_precision_loss)]
    let visited = cursor.reverse_bits() as f64;
    visited / 18_446_744_073_709_551_616.0
}

fn to_bytes(value: Value) -> Bytes {
    match value {
        Value::BulkString(b) => Bytes::from(b),
        Value::SimpleString(s) | Value::VerbatimString { text: s, .. } => Bytes::from(s),
        Value::Int(i) => Bytes::from(i.to_string()),
        Value::Double(d) => Bytes::from(d.to_string()),
        _ => Bytes::new(),
    }
}

fn to_u64(value: &Value) -> Option<u64> {
    match value {
        Value::Int(i) => u64::try_from(*i).ok(),
        Value::BulkString(b) => std::str::from_utf8(b).ok()?.parse().ok(),
        _ => None,
    }
}

fn to_f64(value: &Value) -> f64 {
    match value {
        Value::Double(d) => *d,
        Value::Int(i) => {
            #[allow(clippy::cast_precision_loss)]
            let d = *i as f64;
            d
        }
        Value::BulkString(b) => std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(f64::NAN),
        _ => f64::NAN,
    }
}

fn array(value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) | Value::Set(items) => items,
        Value::Map(pairs) => pairs.into_iter().flat_map(|(k, v)| [k, v]).collect(),
        _ => Vec::new(),
    }
}

fn pairs(items: Vec<Value>) -> Vec<(Bytes, Bytes)> {
    let mut out = Vec::with_capacity(items.len() / 2);
    let mut it = items.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((to_bytes(k), to_bytes(v)));
    }
    out
}

fn ttl_from_pttl(pttl: i64) -> Option<Ttl> {
    match pttl {
        -2 => None,
        ms if ms < 0 => Some(Ttl::Persistent),
        ms => Some(Ttl::ExpiresInMs(u64::try_from(ms).unwrap_or(0))),
    }
}

/// Splits `(cursor, [items])`, the reply shape of SCAN, HSCAN, SSCAN and ZSCAN.
fn scan_reply(value: Value) -> (u64, Vec<Value>) {
    let mut parts = array(value).into_iter();
    let cursor = parts.next().as_ref().and_then(to_u64).unwrap_or(0);
    let items = parts.next().map(array).unwrap_or_default();
    (cursor, items)
}

#[async_trait]
impl CacheBackend for RedisBackend {
    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    fn describe(&self) -> String {
        format!("Redis {} at {}, db {}", self.version, self.target, self.db)
    }

    async fn databases(&self) -> BackendResult<Vec<DbInfo>> {
        // CONFIG may be forbidden (managed services, ACLs); 16 is Redis' default.
        let count = self
            .query::<Vec<String>>(
                redis::cmd("CONFIG").arg("GET").arg("databases"),
                "CONFIG GET",
            )
            .await
            .ok()
            .and_then(|v| v.get(1).and_then(|n| n.parse::<u32>().ok()))
            .unwrap_or(16);
        let info: String = self
            .query(redis::cmd("INFO").arg("keyspace"), "INFO keyspace")
            .await?;
        let known = parse_keyspace(&info);
        Ok((0..count.max(self.db + 1))
            .map(|index| {
                known
                    .iter()
                    .find(|d| d.index == index)
                    .cloned()
                    .unwrap_or(DbInfo {
                        index,
                        keys: 0,
                        expires: 0,
                    })
            })
            .collect())
    }

    async fn key_count(&self) -> BackendResult<u64> {
        self.query(&redis::cmd("DBSIZE"), "DBSIZE").await
    }

    async fn scan(&self, request: &ScanRequest, cursor: u64) -> BackendResult<ScanPage> {
        let mut cmd = redis::cmd("SCAN");
        cmd.arg(cursor)
            .arg("MATCH")
            .arg(&request.pattern)
            .arg("COUNT")
            .arg(request.count);
        if let Some(t) = &request.type_filter {
            cmd.arg("TYPE").arg(t.redis_name());
        }
        let reply: Value = self.query(&cmd, "SCAN").await?;
        let (next_cursor, items) = scan_reply(reply);
        Ok(ScanPage {
            keys: items.into_iter().map(to_bytes).collect(),
            next_cursor,
            progress: scan_progress(next_cursor),
        })
    }

    async fn key_meta(&self, keys: &[Bytes]) -> BackendResult<Vec<Option<KeyMeta>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for key in keys {
            pipe.cmd("TYPE").arg(key.as_ref());
            pipe.cmd("PTTL").arg(key.as_ref());
            pipe.cmd("MEMORY").arg("USAGE").arg(key.as_ref());
        }
        pipe.ignore_errors();
        let mut conn = self.conn.clone();
        let replies: Vec<redis::RedisResult<Value>> = pipe
            .query_async(&mut conn)
            .await
            .map_err(|e| self.map(&e, "TYPE/PTTL/MEMORY USAGE"))?;
        let mut out = Vec::with_capacity(keys.len());
        for chunk in replies.chunks(3) {
            let key_type = match chunk.first() {
                Some(Ok(Value::SimpleString(s))) => KeyType::from_redis(s),
                Some(Ok(Value::BulkString(b))) => KeyType::from_redis(&String::from_utf8_lossy(b)),
                _ => None,
            };
            let pttl = match chunk.get(1) {
                Some(Ok(Value::Int(ms))) => *ms,
                _ => -2,
            };
            let size_bytes = match chunk.get(2) {
                Some(Ok(v)) => to_u64(v),
                _ => None,
            };
            out.push(match (key_type, ttl_from_pttl(pttl)) {
                (Some(key_type), Some(ttl)) => Some(KeyMeta {
                    key_type,
                    ttl,
                    size_bytes,
                }),
                _ => None,
            });
        }
        Ok(out)
    }

    async fn key_details(&self, key: &[u8]) -> BackendResult<KeyDetails> {
        let mut pipe = redis::pipe();
        pipe.cmd("TYPE").arg(key);
        pipe.cmd("PTTL").arg(key);
        pipe.cmd("OBJECT").arg("ENCODING").arg(key);
        pipe.cmd("MEMORY").arg("USAGE").arg(key);
        pipe.ignore_errors();
        let mut conn = self.conn.clone();
        let replies: Vec<redis::RedisResult<Value>> = pipe
            .query_async(&mut conn)
            .await
            .map_err(|e| self.map(&e, "TYPE/PTTL/OBJECT ENCODING"))?;
        let key_type = match replies.first() {
            Some(Ok(Value::SimpleString(s))) => KeyType::from_redis(s),
            Some(Ok(Value::BulkString(b))) => KeyType::from_redis(&String::from_utf8_lossy(b)),
            Some(Err(e)) => return Err(self.map(e, "TYPE")),
            _ => None,
        }
        .ok_or_else(|| key_not_found(key))?;
        let ttl = match replies.get(1) {
            Some(Ok(Value::Int(ms))) => ttl_from_pttl(*ms),
            _ => None,
        }
        .ok_or_else(|| key_not_found(key))?;
        let encoding = match replies.get(2) {
            Some(Ok(v)) => Some(String::from_utf8_lossy(&to_bytes(v.clone())).into_owned()),
            _ => None,
        };
        let size_bytes = match replies.get(3) {
            Some(Ok(v)) => to_u64(v),
            _ => None,
        };
        let length = self.length(key, &key_type).await?;
        Ok(KeyDetails {
            meta: KeyMeta {
                key_type,
                ttl,
                size_bytes,
            },
            encoding,
            length,
        })
    }

    async fn read_page(
        &self,
        key: &[u8],
        key_type: &KeyType,
        cursor: &PageCursor,
        page_size: u32,
    ) -> BackendResult<ValuePage> {
        let scan_cursor = match cursor {
            PageCursor::Scan(c) => *c,
            _ => 0,
        };
        let index = match cursor {
            PageCursor::Index(i) => *i,
            _ => 0,
        };
        let (items, next) = match key_type {
            KeyType::String => {
                let total_len: u64 = self.query(redis::cmd("STRLEN").arg(key), "STRLEN").await?;
                let bytes = if total_len > STRING_PREVIEW_BYTES {
                    self.read_string_range(key, 0, STRING_PREVIEW_BYTES).await?
                } else {
                    let value: Option<Vec<u8>> =
                        self.query(redis::cmd("GET").arg(key), "GET").await?;
                    Bytes::from(value.ok_or_else(|| key_not_found(key))?)
                };
                (ValueItems::String { bytes, total_len }, None)
            }
            KeyType::Hash | KeyType::Set => {
                let command = if *key_type == KeyType::Hash {
                    "HSCAN"
                } else {
                    "SSCAN"
                };
                let reply: Value = self
                    .query(
                        redis::cmd(command)
                            .arg(key)
                            .arg(scan_cursor)
                            .arg("COUNT")
                            .arg(page_size),
                        command,
                    )
                    .await?;
                let (next_cursor, values) = scan_reply(reply);
                let items = if *key_type == KeyType::Hash {
                    ValueItems::Hash(pairs(values))
                } else {
                    ValueItems::Set(values.into_iter().map(to_bytes).collect())
                };
                (
                    items,
                    (next_cursor != 0).then_some(PageCursor::Scan(next_cursor)),
                )
            }
            KeyType::List => {
                let stop = index + u64::from(page_size) - 1;
                let values: Vec<Value> = self
                    .query(redis::cmd("LRANGE").arg(key).arg(index).arg(stop), "LRANGE")
                    .await?;
                let full = values.len() == page_size as usize;
                let next = full.then_some(PageCursor::Index(stop + 1));
                (
                    ValueItems::List(values.into_iter().map(to_bytes).collect()),
                    next,
                )
            }
            KeyType::ZSet => {
                // ZRANGE by rank rather than ZSCAN: it pages in score order, which is what a
                // sorted set is for, and costs O(log n + page) like a scan.
                let stop = index + u64::from(page_size) - 1;
                let values: Vec<Value> = self
                    .query(
                        redis::cmd("ZRANGE")
                            .arg(key)
                            .arg(index)
                            .arg(stop)
                            .arg("WITHSCORES"),
                        "ZRANGE",
                    )
                    .await?;
                let members: Vec<(Bytes, f64)> = flatten_pairs(values)
                    .into_iter()
                    .map(|(m, s)| (to_bytes(m), to_f64(&s)))
                    .collect();
                let full = members.len() == page_size as usize;
                (
                    ValueItems::ZSet(members),
                    full.then_some(PageCursor::Index(stop + 1)),
                )
            }
            KeyType::Stream => {
                let start = match cursor {
                    PageCursor::StreamAfter(id) => {
                        let mut s = b"(".to_vec();
                        s.extend_from_slice(id);
                        s
                    }
                    _ => b"-".to_vec(),
                };
                let reply: Value = self
                    .query(
                        redis::cmd("XRANGE")
                            .arg(key)
                            .arg(start)
                            .arg("+")
                            .arg("COUNT")
                            .arg(page_size),
                        "XRANGE",
                    )
                    .await?;
                let entries: Vec<StreamEntry> = array(reply)
                    .into_iter()
                    .map(|entry| {
                        let mut parts = array(entry).into_iter();
                        let id = parts.next().map(to_bytes).unwrap_or_default();
                        let fields = parts.next().map(array).map(pairs).unwrap_or_default();
                        StreamEntry { id, fields }
                    })
                    .collect();
                let next = if entries.len() == page_size as usize {
                    entries
                        .last()
                        .map(|e| PageCursor::StreamAfter(e.id.clone()))
                } else {
                    None
                };
                (ValueItems::Stream(entries), next)
            }
            KeyType::Json => {
                let text: Option<String> = self
                    .query(redis::cmd("JSON.GET").arg(key), "JSON.GET")
                    .await?;
                (
                    ValueItems::Json(text.ok_or_else(|| key_not_found(key))?),
                    None,
                )
            }
            KeyType::Other(name) => {
                return Err(BackendError::Server {
                    command: "read".to_owned(),
                    reason: format!("values of type `{name}` cannot be shown yet"),
                });
            }
        };
        Ok(ValuePage {
            cursor: cursor.clone(),
            items,
            next,
        })
    }

    async fn read_string_range(&self, key: &[u8], offset: u64, len: u64) -> BackendResult<Bytes> {
        if len == 0 {
            return Ok(Bytes::new());
        }
        let value: Vec<u8> = self
            .query(
                redis::cmd("GETRANGE")
                    .arg(key)
                    .arg(offset)
                    .arg(offset + len - 1),
                "GETRANGE",
            )
            .await?;
        Ok(Bytes::from(value))
    }
}

fn flatten_pairs(values: Vec<Value>) -> Vec<(Value, Value)> {
    // RESP3 may answer WITHSCORES as an array of [member, score] pairs; RESP2 flat.
    if values.iter().all(|v| matches!(v, Value::Array(_))) && !values.is_empty() {
        return values
            .into_iter()
            .filter_map(|v| {
                let mut it = array(v).into_iter();
                Some((it.next()?, it.next()?))
            })
            .collect();
    }
    let mut out = Vec::with_capacity(values.len() / 2);
    let mut it = values.into_iter();
    while let (Some(m), Some(s)) = (it.next(), it.next()) {
        out.push((m, s));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyspace_lines_are_parsed() {
        let info =
            "# Keyspace\r\ndb0:keys=12,expires=3,avg_ttl=0\r\ndb5:keys=1,expires=0,avg_ttl=0\r\n";
        let dbs = parse_keyspace(info);
        assert_eq!(
            dbs,
            vec![
                DbInfo {
                    index: 0,
                    keys: 12,
                    expires: 3
                },
                DbInfo {
                    index: 5,
                    keys: 1,
                    expires: 0
                }
            ]
        );
    }

    #[test]
    fn scan_progress_follows_reverse_binary_order() {
        assert!((scan_progress(0) - 1.0).abs() < f64::EPSILON);
        // In a table of 8 buckets the cursor after bucket 0 is 4 (binary 100 reversed = 001).
        let after_first = scan_progress(4);
        assert!((after_first - 0.125).abs() < 1e-9, "{after_first}");
        let half = scan_progress(1);
        assert!((half - 0.5).abs() < 1e-9, "{half}");
    }

    #[test]
    fn info_fields_are_found() {
        assert_eq!(
            info_field("# Server\r\nredis_version:7.0.15\r\n", "redis_version"),
            Some("7.0.15")
        );
        assert_eq!(info_field("a:b", "c"), None);
    }
}
