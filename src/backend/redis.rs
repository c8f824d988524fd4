//! The Redis backend: one standalone server over TCP, TLS or a unix socket.
//!
//! All commands go through one multiplexed connection ([`Link`]) that a key listing and the
//! value viewer share concurrently; it checks every reply as it arrives and is replaced when
//! it breaks.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use redis::{RedisConnectionInfo, Value};

use super::redis_link::{Address, Link, read_ca_file};
use super::{BackendError, BackendResult, CacheBackend, Capabilities, key_not_found};
use crate::config::connection::{RedisAddress, RedisSpec, Secret};
use crate::core::model::{
    ClientInfo, DbInfo, DumpedKey, Expect, KeyDetails, KeyMeta, KeyType, NewValue, PageCursor,
    ScanPage, ScanRequest, SlowLogEntry, StreamEntry, Ttl, TtlChange, ValueItems, ValuePage,
    WriteOp, WriteOutcome,
};

/// Strings longer than this are shown as a preview of this many bytes.
pub const STRING_PREVIEW_BYTES: u64 = 1024 * 1024;

/// Replaces a string only if it still holds what the user loaded, keeping or changing the TTL
/// in the same atomic step. ARGV: expect mode (`any`, `absent`, `value`), expected value, new
/// value, TTL mode (`keep`, `persist`, `px`, `pxat`), TTL argument.
const SET_STRING_SCRIPT: &str = r"
if ARGV[1] ~= 'any' then
  local cur = redis.call('GET', KEYS[1])
  if ARGV[1] == 'absent' then
    if cur then return -1 end
  elseif cur ~= ARGV[2] then
    return -1
  end
end
if ARGV[4] == 'keep' then
  redis.call('SET', KEYS[1], ARGV[3], 'KEEPTTL')
elseif ARGV[4] == 'persist' then
  redis.call('SET', KEYS[1], ARGV[3])
elseif ARGV[4] == 'px' then
  redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[5])
else
  redis.call('SET', KEYS[1], ARGV[3], 'PXAT', ARGV[5])
end
return 1
";

/// Sets a hash field only if it still holds the loaded value. ARGV: field, expect mode
/// (`any`, `absent`, `value`), expected value, new value.
const HSET_SCRIPT: &str = r"
if ARGV[2] ~= 'any' then
  local cur = redis.call('HGET', KEYS[1], ARGV[1])
  if ARGV[2] == 'absent' then
    if cur then return -1 end
  elseif cur ~= ARGV[3] then
    return -1
  end
end
return redis.call('HSET', KEYS[1], ARGV[1], ARGV[4]) + 1
";

/// Sets (`set`) or removes (`remove`) the list element at an index only if it still holds the
/// value the user saw. Redis has no remove-by-index, so removal overwrites the element with a
/// unique marker and removes that. ARGV: mode, index, expected value, new value or marker.
const LIST_AT_SCRIPT: &str = r"
local cur = redis.call('LINDEX', KEYS[1], ARGV[2])
if cur ~= ARGV[3] then return -1 end
redis.call('LSET', KEYS[1], ARGV[2], ARGV[4])
if ARGV[1] == 'remove' then
  redis.call('LREM', KEYS[1], 1, ARGV[4])
end
return 1
";

/// Creates a key only if it does not exist, then applies the TTL. ARGV: TTL mode (`persist`,
/// `px`, `pxat`), TTL argument, command, its arguments after the key.
const CREATE_SCRIPT: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
redis.call(ARGV[3], KEYS[1], unpack(ARGV, 4))
if ARGV[1] == 'px' then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
elseif ARGV[1] == 'pxat' then
  redis.call('PEXPIREAT', KEYS[1], ARGV[2])
end
return 1
";

fn ttl_args(ttl: TtlChange) -> (&'static str, u64) {
    match ttl {
        TtlChange::Keep => ("keep", 0),
        TtlChange::Persist => ("persist", 0),
        TtlChange::InMs(ms) => ("px", ms),
        TtlChange::AtUnixMs(ms) => ("pxat", ms),
    }
}

/// The scripts' ARGV for an [`Expect`]: a mode word the Lua code branches on, and the value.
fn expect_args(expect: &Expect) -> (&'static str, &[u8]) {
    match expect {
        Expect::Any => ("any", b""),
        Expect::Absent => ("absent", b""),
        Expect::Value(v) => ("value", v.as_ref()),
    }
}

fn script_outcome(code: i64) -> WriteOutcome {
    if code < 0 {
        WriteOutcome::Conflict
    } else {
        WriteOutcome::Done(u64::try_from(code).unwrap_or(0))
    }
}

/// A connected Redis server.
pub struct RedisBackend {
    link: Link,
    target: String,
    version: String,
    db: u32,
    command_timeout_ms: u64,
    connect_timeout_ms: u64,
    tls: bool,
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
        let address = match (&spec.address, &spec.tls) {
            (RedisAddress::Tcp { host, port }, None) => Address::Tcp {
                host: host.clone(),
                port: *port,
            },
            (RedisAddress::Tcp { host, port }, Some(tls)) => Address::Tls {
                host: host.clone(),
                port: *port,
                ca_pem: match &tls.ca_file {
                    Some(ca_file) => Some(read_ca_file(ca_file).await.map_err(|e| {
                        BackendError::Config(format!(
                            "cannot read TLS CA file {}: {e}",
                            ca_file.display()
                        ))
                    })?),
                    None => None,
                },
            },
            (RedisAddress::Unix { path }, _) => Address::Unix(path.clone()),
        };
        let mut settings = RedisConnectionInfo::default().set_db(i64::from(spec.db));
        if let Some(user) = &spec.username {
            settings = settings.set_username(user);
        }
        if let Some(password) = password {
            settings = settings.set_password(password.expose());
        }
        let link = Link::new(
            address,
            settings,
            Duration::from_millis(spec.connect_timeout_ms),
            Duration::from_millis(spec.command_timeout_ms),
        )
        .map_err(BackendError::Config)?;
        // The first connection proves the address, TLS and credentials, within the connect
        // timeout the user chose (and the message names that very limit).
        if let Err(e) = link.connection().await {
            return Err(connect_error(
                &e,
                &target,
                spec.connect_timeout_ms,
                spec.tls.is_some(),
            ));
        }
        let mut backend = Self {
            link,
            target,
            version: String::new(),
            db: spec.db,
            command_timeout_ms: spec.command_timeout_ms,
            connect_timeout_ms: spec.connect_timeout_ms,
            tls: spec.tls.is_some(),
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
                write: true,
                undo_delete: true,
                scan_pause: true,
                rename: true,
                servers: Vec::new(),
                listing_note: None,
                flush_delay: false,
                purge_expired: false,
                slow_log: true,
                clients: true,
                hashed_names: false,
            },
        };
        // A PING proves the handshake (AUTH, SELECT) worked; INFO gives the version.
        let _: Value = backend.query(&redis::cmd("PING"), "PING").await?;
        let info: String = backend
            .query(redis::cmd("INFO").arg("server"), "INFO server")
            .await
            .unwrap_or_default();
        info_field(&info, "redis_version")
            .unwrap_or("?")
            .clone_into(&mut backend.version);
        Ok(backend)
    }

    async fn query<T: redis::FromRedisValue>(
        &self,
        cmd: &redis::Cmd,
        name: &str,
    ) -> BackendResult<T> {
        let mut conn = self.conn().await?;
        cmd.query_async(&mut conn)
            .await
            .map_err(|e| self.map(&e, name))
    }

    /// The connection, opened again if the last one broke.
    async fn conn(&self) -> BackendResult<redis::aio::MultiplexedConnection> {
        self.link
            .connection()
            .await
            .map_err(|e| connect_error(&e, &self.target, self.connect_timeout_ms, self.tls))
    }

    fn map(&self, e: &redis::RedisError, command: &str) -> BackendError {
        self.link.after_error(e);
        if e.is_timeout() {
            return BackendError::Timeout {
                target: self.target.clone(),
                timeout_ms: self.command_timeout_ms,
            };
        }
        classify(e, &self.target, command)
    }

    async fn script(
        &self,
        source: &str,
        key: &[u8],
        args: &[&[u8]],
        name: &str,
    ) -> BackendResult<i64> {
        let script = redis::Script::new(source);
        let mut invocation = script.key(key);
        for arg in args {
            invocation.arg(*arg);
        }
        let mut conn = self.conn().await?;
        invocation
            .invoke_async(&mut conn)
            .await
            .map_err(|e| self.map(&e, name))
    }

    async fn count(&self, cmd: &redis::Cmd, name: &str) -> BackendResult<WriteOutcome> {
        let n: u64 = self.query(cmd, name).await?;
        Ok(WriteOutcome::Done(n))
    }

    async fn exists(&self, key: &[u8]) -> BackendResult<bool> {
        let n: u64 = self.query(redis::cmd("EXISTS").arg(key), "EXISTS").await?;
        Ok(n > 0)
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

/// A connect (the first one or a reconnect) that failed. One that did not finish in time names
/// the limit it kept; over TLS the usual cause is a server that does not speak TLS at all (a
/// plain Redis never answers a TLS hello), so the message says so.
fn connect_error(e: &redis::RedisError, target: &str, timeout_ms: u64, tls: bool) -> BackendError {
    match (e.is_timeout(), tls) {
        (true, true) => BackendError::Connect {
            target: target.to_owned(),
            reason: format!(
                "no TLS handshake within {timeout_ms} ms: check that this server speaks TLS (a \
                 plain Redis needs redis://, not rediss://)"
            ),
        },
        (true, false) => BackendError::Timeout {
            target: target.to_owned(),
            timeout_ms,
        },
        (false, _) => classify(e, target, "connect"),
    }
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
    if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoPerm) {
        // Name what is missing: a checked edit runs a script (EVALSHA), which an ACL user
        // allowed `+set` alone may not.
        return BackendError::Server {
            command: command.to_owned(),
            reason: format!(
                "{} — this ACL user lacks that permission (checked edits and creates run Lua \
                 scripts: they need +@scripting, or +evalsha and +eval)",
                e.detail().unwrap_or(e.category())
            ),
        };
    }
    // BUSYKEY has no kind of its own in the client: its code is how the server names it.
    if code == "BUSYKEY" {
        return BackendError::KeyExists {
            command: command.to_owned(),
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

/// Splits an INFO reply into its `# Section`s of `name:value` lines.
#[must_use]
pub fn parse_info_sections(info: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut sections: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for line in info.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(name) = line.strip_prefix("# ") {
            sections.push((name.to_owned(), Vec::new()));
        } else if let Some((k, v)) = line.split_once(':') {
            if sections.is_empty() {
                sections.push(("Info".to_owned(), Vec::new()));
            }
            if let Some((_, fields)) = sections.last_mut() {
                fields.push((k.to_owned(), v.to_owned()));
            }
        }
    }
    sections
}

/// The figures of an `INFO` reply the live metrics need.
#[must_use]
pub fn raw_stats(info: &str) -> crate::core::metrics::RawStats {
    let fields: HashMap<&str, &str> = info
        .lines()
        .filter_map(|l| l.trim().split_once(':'))
        .collect();
    let n = |k: &str| fields.get(k).and_then(|v| v.trim().parse::<u64>().ok());
    let keyspace = parse_keyspace(info);
    crate::core::metrics::RawStats {
        instance: fields.get("run_id").map(|v| (*v).to_owned()),
        uptime_secs: n("uptime_in_seconds"),
        hits: n("keyspace_hits"),
        misses: n("keyspace_misses"),
        commands: n("total_commands_processed"),
        gets: None,
        sets: None,
        evicted: n("evicted_keys"),
        expired: n("expired_keys"),
        net_in: n("total_net_input_bytes"),
        net_out: n("total_net_output_bytes"),
        used_memory: n("used_memory"),
        rss_memory: n("used_memory_rss"),
        max_memory: n("maxmemory"),
        fragmentation: fields
            .get("mem_fragmentation_ratio")
            .and_then(|v| v.trim().parse().ok()),
        clients: n("connected_clients"),
        blocked_clients: n("blocked_clients"),
        keys: Some(keyspace.iter().map(|d| d.keys).sum()),
        expired_entries: None,
        total_size: None,
        keys_per_db: keyspace.into_iter().map(|d| (d.index, d.keys)).collect(),
        error: None,
    }
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
/// One `SLOWLOG GET` entry: id, time, microseconds, arguments, client address, client name.
fn slow_log_entry(value: Value) -> Option<SlowLogEntry> {
    let mut parts = array(value).into_iter();
    let id = to_u64(&parts.next()?)?;
    let at_unix = to_u64(&parts.next()?)?;
    let duration_us = to_u64(&parts.next()?)?;
    let args = parts.next().map(array).unwrap_or_default();
    let text = |v: Option<Value>| {
        v.map(|v| String::from_utf8_lossy(&to_bytes(v)).into_owned())
            .unwrap_or_default()
    };
    Some(SlowLogEntry {
        id,
        at_unix,
        duration_us,
        args: args.into_iter().map(to_bytes).collect(),
        client: text(parts.next()),
        client_name: text(parts.next()),
    })
}

/// `CLIENT LIST`: one client per line, `name=value` fields separated by spaces (values never
/// hold spaces: Redis refuses them in client names).
#[must_use]
pub fn parse_client_list(text: &str, own_id: u64) -> Vec<ClientInfo> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<(String, String)> = line
                .split_whitespace()
                .filter_map(|f| f.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            let id = fields
                .iter()
                .find(|(k, _)| k == "id")
                .and_then(|(_, v)| v.parse().ok())?;
            Some(ClientInfo {
                id,
                own: id == own_id,
                fields,
            })
        })
        .collect()
}

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

    async fn server_info(&self) -> BackendResult<Vec<super::ServerInfo>> {
        let info: String = self.query(redis::cmd("INFO").arg("all"), "INFO").await?;
        Ok(vec![super::ServerInfo {
            server: self.target.clone(),
            sections: parse_info_sections(&info),
        }])
    }

    async fn stats(&self) -> BackendResult<Vec<(String, crate::core::metrics::RawStats)>> {
        // Plain INFO holds server, clients, memory, stats and keyspace: one round trip.
        let info: String = self.query(&redis::cmd("INFO"), "INFO").await?;
        Ok(vec![(self.target.clone(), raw_stats(&info))])
    }

    async fn slow_log(&self, count: u32) -> BackendResult<Vec<SlowLogEntry>> {
        let reply: Value = self
            .query(redis::cmd("SLOWLOG").arg("GET").arg(count), "SLOWLOG GET")
            .await?;
        Ok(array(reply)
            .into_iter()
            .filter_map(slow_log_entry)
            .collect())
    }

    async fn clients(&self) -> BackendResult<Vec<ClientInfo>> {
        // One pipeline, so CLIENT ID names the connection that also ran CLIENT LIST.
        let mut conn = self.conn().await?;
        let (own, list): (u64, String) = redis::pipe()
            .cmd("CLIENT")
            .arg("ID")
            .cmd("CLIENT")
            .arg("LIST")
            .query_async(&mut conn)
            .await
            .map_err(|e| self.map(&e, "CLIENT LIST"))?;
        Ok(parse_client_list(&list, own))
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
        let mut conn = self.conn().await?;
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
                    server: None,
                    idle_secs: None,
                    preview: None,
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
        let mut conn = self.conn().await?;
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
                server: None,
                idle_secs: None,
                preview: None,
            },
            encoding,
            length,
            extra: Vec::new(),
            flags: None,
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
    async fn write(&self, op: &WriteOp) -> BackendResult<WriteOutcome> {
        match op {
            WriteOp::SetString {
                key,
                value,
                ttl,
                expect,
            } => {
                if *expect == Expect::Any {
                    // Nothing to compare: one plain SET does it atomically and needs only the
                    // `set` permission (an ACL user without scripting can still set).
                    let mut cmd = redis::cmd("SET");
                    cmd.arg(key.as_ref()).arg(value.as_ref());
                    match ttl {
                        TtlChange::Keep => cmd.arg("KEEPTTL"),
                        TtlChange::Persist => &mut cmd,
                        TtlChange::InMs(ms) => cmd.arg("PX").arg(*ms),
                        TtlChange::AtUnixMs(ms) => cmd.arg("PXAT").arg(*ms),
                    };
                    let _: Value = self.query(&cmd, "SET").await?;
                    return Ok(WriteOutcome::Done(1));
                }
                let (expect_mode, expected) = expect_args(expect);
                let (ttl_mode, ttl_arg) = ttl_args(*ttl);
                let ttl_arg = ttl_arg.to_string();
                let code = self
                    .script(
                        SET_STRING_SCRIPT,
                        key,
                        &[
                            expect_mode.as_bytes(),
                            expected,
                            value,
                            ttl_mode.as_bytes(),
                            ttl_arg.as_bytes(),
                        ],
                        "SET",
                    )
                    .await?;
                Ok(script_outcome(code))
            }
            WriteOp::SetTtl { key, ttl } => {
                let mut cmd = match ttl {
                    TtlChange::Keep => return Ok(WriteOutcome::Done(0)),
                    TtlChange::Persist => redis::cmd("PERSIST"),
                    TtlChange::InMs(ms) => {
                        let mut c = redis::cmd("PEXPIRE");
                        c.arg(key.as_ref()).arg(*ms);
                        c
                    }
                    TtlChange::AtUnixMs(ms) => {
                        let mut c = redis::cmd("PEXPIREAT");
                        c.arg(key.as_ref()).arg(*ms);
                        c
                    }
                };
                if *ttl == TtlChange::Persist {
                    cmd.arg(key.as_ref());
                }
                let changed: u64 = self.query(&cmd, "EXPIRE").await?;
                // PERSIST answers 0 for a key without TTL too: tell that from a missing key.
                if changed == 0 && !self.exists(key).await? {
                    return Err(key_not_found(key));
                }
                Ok(WriteOutcome::Done(changed))
            }
            WriteOp::Create { key, value, ttl } => {
                let (ttl_mode, ttl_arg) = ttl_args(*ttl);
                let ttl_arg = ttl_arg.to_string();
                let score;
                let mut args: Vec<&[u8]> = vec![ttl_mode.as_bytes(), ttl_arg.as_bytes()];
                match value {
                    NewValue::String(v) => args.extend([b"SET".as_slice(), v]),
                    NewValue::Hash(f, v) => args.extend([b"HSET".as_slice(), f, v]),
                    NewValue::List(v) => args.extend([b"RPUSH".as_slice(), v]),
                    NewValue::Set(v) => args.extend([b"SADD".as_slice(), v]),
                    NewValue::ZSet(m, s) => {
                        score = s.to_string();
                        args.extend([b"ZADD".as_slice(), score.as_bytes(), m]);
                    }
                    NewValue::Stream(fields) => {
                        args.extend([b"XADD".as_slice(), b"*".as_slice()]);
                        for (f, v) in fields {
                            args.extend([f.as_ref(), v.as_ref()]);
                        }
                    }
                }
                let code = self.script(CREATE_SCRIPT, key, &args, "create").await?;
                Ok(if code < 0 {
                    WriteOutcome::TargetExists
                } else {
                    WriteOutcome::Done(1)
                })
            }
            WriteOp::HashSet {
                key,
                field,
                value,
                expect,
            } => {
                let (mode, expected) = expect_args(expect);
                let code = self
                    .script(
                        HSET_SCRIPT,
                        key,
                        &[field, mode.as_bytes(), expected, value],
                        "HSET",
                    )
                    .await?;
                Ok(script_outcome(code.min(1)))
            }
            WriteOp::HashDelete { key, fields } => {
                self.count(
                    redis::cmd("HDEL").arg(key.as_ref()).arg(refs(fields)),
                    "HDEL",
                )
                .await
            }
            WriteOp::ListSet {
                key,
                index,
                value,
                expect,
            } => {
                let index_arg = index.to_string();
                let code = if let Some(old) = expect {
                    self.script(
                        LIST_AT_SCRIPT,
                        key,
                        &[b"set", index_arg.as_bytes(), old, value],
                        "LSET",
                    )
                    .await?
                } else {
                    let _: Value = self
                        .query(
                            redis::cmd("LSET")
                                .arg(key.as_ref())
                                .arg(*index)
                                .arg(value.as_ref()),
                            "LSET",
                        )
                        .await?;
                    1
                };
                Ok(script_outcome(code))
            }
            WriteOp::ListPush { key, head, value } => {
                let name = if *head { "LPUSH" } else { "RPUSH" };
                let _: u64 = self
                    .query(redis::cmd(name).arg(key.as_ref()).arg(value.as_ref()), name)
                    .await?;
                Ok(WriteOutcome::Done(1))
            }
            WriteOp::ListRemoveAt { key, index, expect } => {
                let index_arg = index.to_string();
                let marker = format!(
                    "__cache_console_removed_{}__",
                    crate::core::ttl::now_unix_ms()
                );
                let code = self
                    .script(
                        LIST_AT_SCRIPT,
                        key,
                        &[b"remove", index_arg.as_bytes(), expect, marker.as_bytes()],
                        "LREM",
                    )
                    .await?;
                Ok(script_outcome(code))
            }
            WriteOp::SetAdd { key, members } => {
                self.count(
                    redis::cmd("SADD").arg(key.as_ref()).arg(refs(members)),
                    "SADD",
                )
                .await
            }
            WriteOp::SetRemove { key, members } => {
                self.count(
                    redis::cmd("SREM").arg(key.as_ref()).arg(refs(members)),
                    "SREM",
                )
                .await
            }
            WriteOp::ZSetAdd { key, member, score } => {
                if !score.is_finite() {
                    return Err(BackendError::Invalid(format!(
                        "`{score}` is not a usable score: give a finite number"
                    )));
                }
                let _: u64 = self
                    .query(
                        redis::cmd("ZADD")
                            .arg(key.as_ref())
                            .arg(*score)
                            .arg(member.as_ref()),
                        "ZADD",
                    )
                    .await?;
                Ok(WriteOutcome::Done(1))
            }
            WriteOp::ZSetRemove { key, members } => {
                self.count(
                    redis::cmd("ZREM").arg(key.as_ref()).arg(refs(members)),
                    "ZREM",
                )
                .await
            }
            WriteOp::StreamAdd { key, fields } => {
                if fields.is_empty() {
                    return Err(BackendError::Invalid(
                        "a stream entry needs at least one field".to_owned(),
                    ));
                }
                let mut cmd = redis::cmd("XADD");
                cmd.arg(key.as_ref()).arg("*");
                for (f, v) in fields {
                    cmd.arg(f.as_ref()).arg(v.as_ref());
                }
                let _: Value = self.query(&cmd, "XADD").await?;
                Ok(WriteOutcome::Done(1))
            }
            WriteOp::StreamDelete { key, ids } => {
                self.count(redis::cmd("XDEL").arg(key.as_ref()).arg(refs(ids)), "XDEL")
                    .await
            }
            WriteOp::Rename {
                from,
                to,
                overwrite,
            } => {
                if !self.exists(from).await? {
                    return Err(key_not_found(from));
                }
                if *overwrite {
                    let _: Value = self
                        .query(
                            redis::cmd("RENAME").arg(from.as_ref()).arg(to.as_ref()),
                            "RENAME",
                        )
                        .await?;
                    return Ok(WriteOutcome::Done(1));
                }
                let n: u64 = self
                    .query(
                        redis::cmd("RENAMENX").arg(from.as_ref()).arg(to.as_ref()),
                        "RENAMENX",
                    )
                    .await?;
                Ok(if n == 1 {
                    WriteOutcome::Done(1)
                } else {
                    WriteOutcome::TargetExists
                })
            }
            WriteOp::Copy {
                from,
                to,
                overwrite,
            } => {
                if !self.exists(from).await? {
                    return Err(key_not_found(from));
                }
                let mut cmd = redis::cmd("COPY");
                cmd.arg(from.as_ref()).arg(to.as_ref());
                if *overwrite {
                    cmd.arg("REPLACE");
                }
                let n: u64 = self.query(&cmd, "COPY").await?;
                Ok(if n == 1 {
                    WriteOutcome::Done(1)
                } else {
                    WriteOutcome::TargetExists
                })
            }
            WriteOp::Delete { keys } => {
                if keys.is_empty() {
                    return Ok(WriteOutcome::Done(0));
                }
                self.count(redis::cmd("UNLINK").arg(refs(keys)), "UNLINK")
                    .await
            }
            WriteOp::Restore { keys } => {
                let mut restored = 0;
                for k in keys {
                    let mut cmd = redis::cmd("RESTORE");
                    cmd.arg(k.key.as_ref());
                    match k.expire_at_unix_ms {
                        Some(at) => cmd.arg(at).arg(k.payload.as_ref()).arg("ABSTTL"),
                        None => cmd.arg(0).arg(k.payload.as_ref()),
                    };
                    match self.query::<Value>(&cmd, "RESTORE").await {
                        Ok(_) => restored += 1,
                        Err(BackendError::KeyExists { .. }) => {
                            return Err(BackendError::Server {
                                command: "RESTORE".to_owned(),
                                reason: format!(
                                    "`{}` exists again; it was not replaced",
                                    escape_key(&k.key)
                                ),
                            });
                        }
                        Err(e) => return Err(e),
                    }
                }
                Ok(WriteOutcome::Done(restored))
            }
            WriteOp::FlushDb => {
                let _: Value = self
                    .query(redis::cmd("FLUSHDB").arg("ASYNC"), "FLUSHDB")
                    .await?;
                Ok(WriteOutcome::Done(1))
            }
            WriteOp::Flush { .. } => Err(BackendError::Unsupported(
                "Redis flushes a database or all of them, at once".to_owned(),
            )),
            WriteOp::PurgeExpired => Err(BackendError::Unsupported(
                "Redis removes expired keys itself".to_owned(),
            )),
            WriteOp::FlushAll => {
                let _: Value = self
                    .query(redis::cmd("FLUSHALL").arg("ASYNC"), "FLUSHALL")
                    .await?;
                Ok(WriteOutcome::Done(1))
            }
            WriteOp::ResetSlowLog => {
                let _: Value = self
                    .query(redis::cmd("SLOWLOG").arg("RESET"), "SLOWLOG RESET")
                    .await?;
                Ok(WriteOutcome::Done(1))
            }
            WriteOp::KillClient { id } => {
                let killed: u64 = self
                    .query(
                        redis::cmd("CLIENT").arg("KILL").arg("ID").arg(*id),
                        "CLIENT KILL",
                    )
                    .await?;
                if killed == 0 {
                    return Err(BackendError::Invalid(format!(
                        "client {id} is no longer connected"
                    )));
                }
                Ok(WriteOutcome::Done(killed))
            }
        }
    }

    async fn dump(&self, keys: &[Bytes]) -> BackendResult<Vec<Option<DumpedKey>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for key in keys {
            pipe.cmd("DUMP").arg(key.as_ref());
            pipe.cmd("PTTL").arg(key.as_ref());
        }
        let mut conn = self.conn().await?;
        let replies: Vec<Value> = pipe
            .query_async(&mut conn)
            .await
            .map_err(|e| self.map(&e, "DUMP"))?;
        let now = crate::core::ttl::now_unix_ms();
        Ok(keys
            .iter()
            .zip(replies.chunks(2))
            .map(|(key, pair)| {
                let Some(Value::BulkString(payload)) = pair.first() else {
                    return None;
                };
                let expire_at_unix_ms = match pair.get(1) {
                    Some(Value::Int(ms)) if *ms > 0 => Some(now + u64::try_from(*ms).unwrap_or(0)),
                    _ => None,
                };
                Some(DumpedKey {
                    key: key.clone(),
                    payload: Bytes::from(payload.clone()),
                    expire_at_unix_ms,
                })
            })
            .collect())
    }
}

fn refs(items: &[Bytes]) -> Vec<&[u8]> {
    items.iter().map(AsRef::as_ref).collect()
}

fn escape_key(key: &[u8]) -> String {
    crate::core::escape::escape_bytes(key)
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
