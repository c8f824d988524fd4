//! The Redis backend: one standalone server over TCP, TLS or a unix socket, or a Redis
//! Cluster.
//!
//! All commands to a server go through one multiplexed connection ([`Link`]) that a key
//! listing and the value viewer share concurrently; it checks every reply as it arrives and is
//! replaced when it breaks. A cluster has a link per node, and every command with a key goes
//! to the node serving the key's slot (`cluster.rs`); the few that concern servers rather
//! than keys (INFO, DBSIZE, FLUSH…) are sent to each node in `nodes.rs`.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use redis::{RedisConnectionInfo, Value};

pub mod cluster;
mod cluster_scan;
pub mod docs;
mod exec;
mod find;
pub(crate) mod link;
mod nodes;
mod put;
mod read;
mod reply;
mod scanner;
mod sentinel;
pub mod streams;
mod write;

use link::{Address, Link, read_ca_file};
use reply::{
    array, info_field, parse_client_list, parse_info_sections, parse_keyspace, raw_stats,
    scan_progress, scan_reply, slow_log_entry, to_bytes, to_u64, ttl_from_pttl,
};

use super::{BackendError, BackendResult, CacheBackend, Capabilities, key_not_found};
use crate::config::connection::{RedisAddress, RedisSpec, Secret};
use crate::core::model::{
    ClientInfo, DbInfo, DumpedKey, FoundPage, KeyDetails, KeyMeta, KeyType, PageCursor, ScanPage,
    ScanRequest, SlowLogEntry, ValuePage, WriteOp, WriteOutcome,
};

/// Strings longer than this are shown as a preview of this many bytes.
pub const STRING_PREVIEW_BYTES: u64 = 1024 * 1024;

/// Where commands go: one server, or the nodes of a cluster.
enum Nodes {
    Single(Link),
    Cluster(cluster::Cluster, cluster_scan::Listings),
    Sentinel(sentinel::Sentinel),
}

/// A connected Redis server or cluster.
pub struct RedisBackend {
    nodes: Nodes,
    target: String,
    version: String,
    db: u32,
    command_timeout_ms: u64,
    connect_timeout_ms: u64,
    tls: bool,
    capabilities: Capabilities,
    /// What `COMMAND INFO` said of each command asked about (it does not change while
    /// connected): the guard and the command line ask before every command.
    command_facts: exec::FactsCache,
}

impl RedisBackend {
    /// The backend over `nodes`, with the timeouts, database and TLS flag of `spec`.
    fn assemble(
        spec: &RedisSpec,
        nodes: Nodes,
        target: String,
        version: String,
        capabilities: Capabilities,
    ) -> Self {
        Self {
            nodes,
            target,
            version,
            db: spec.db,
            command_timeout_ms: spec.command_timeout_ms,
            connect_timeout_ms: spec.connect_timeout_ms,
            tls: spec.tls.is_some(),
            capabilities,
            command_facts: exec::FactsCache::default(),
        }
    }

    /// Connects, authenticates and selects the database of `spec`.
    ///
    /// # Errors
    /// The server is unreachable, refuses the credentials, or the TLS CA file cannot be read.
    pub async fn connect(
        spec: &RedisSpec,
        password: Option<&Secret>,
        dialer: crate::backend::net::Dialer,
    ) -> BackendResult<Self> {
        install_crypto_provider();
        match &spec.address {
            RedisAddress::Cluster { seeds } => {
                return nodes::connect_cluster(spec, seeds, password, dialer).await;
            }
            RedisAddress::Sentinel { sentinels, master } => {
                return sentinel::connect(spec, sentinels, master, password, dialer).await;
            }
            RedisAddress::Tcp { .. } | RedisAddress::Unix { .. } => {}
        }
        let target = match &spec.address {
            RedisAddress::Tcp { host, port } => format!("{host}:{port}"),
            RedisAddress::Unix { path } => path.display().to_string(),
            RedisAddress::Cluster { .. } | RedisAddress::Sentinel { .. } => String::new(),
        };
        let address = match (&spec.address, &spec.tls) {
            (RedisAddress::Tcp { host, port }, None) => Address::Tcp {
                host: host.clone(),
                port: *port,
            },
            (RedisAddress::Tcp { host, port }, Some(_)) => Address::Tls {
                host: host.clone(),
                port: *port,
                name: None,
            },
            (RedisAddress::Unix { path }, _) => Address::Unix(path.clone()),
            (RedisAddress::Cluster { .. } | RedisAddress::Sentinel { .. }, _) => {
                return Err(BackendError::Internal(
                    "a cluster has no single address".into(),
                ));
            }
        };
        // A unix socket is not spoken to over TLS: its CA file is not read.
        let tls = match address {
            Address::Tls { .. } => shared_tls(spec).await?,
            _ => None,
        };
        let link = Link::new(
            address,
            tls,
            connection_info(spec, password),
            (
                Duration::from_millis(spec.connect_timeout_ms),
                Duration::from_millis(spec.command_timeout_ms),
            ),
            dialer,
        );
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
        let mut backend = Self::assemble(
            spec,
            Nodes::Single(link),
            target,
            String::new(),
            redis_capabilities(),
        );
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
        let value = match &self.nodes {
            Nodes::Single(_) => {
                let mut conn = self.conn().await?;
                cmd.query_async::<Value>(&mut conn)
                    .await
                    .map_err(|e| self.map(&e, name))?
            }
            Nodes::Sentinel(group) => {
                let mut conn = self.conn().await?;
                match cmd.query_async::<Value>(&mut conn).await {
                    Ok(value) => value,
                    // A demoted primary refused it, so nothing was changed: ask the
                    // sentinels where the primary is now and send it there, once.
                    Err(e)
                        if e.kind()
                            == redis::ErrorKind::Server(redis::ServerErrorKind::ReadOnly) =>
                    {
                        group.forget();
                        let mut conn = self.conn().await?;
                        cmd.query_async::<Value>(&mut conn)
                            .await
                            .map_err(|e| self.map(&e, name))?
                    }
                    Err(e) => return Err(self.map(&e, name)),
                }
            }
            Nodes::Cluster(cluster, _) => cluster.routed(cmd, name).await?,
        };
        redis::from_redis_value(value).map_err(|e| BackendError::Server {
            command: name.to_owned(),
            reason: format!("an answer of an unexpected kind: {e}"),
        })
    }

    /// The connection to a standalone server, opened again if the last one broke.
    async fn conn(&self) -> BackendResult<redis::aio::MultiplexedConnection> {
        match &self.nodes {
            Nodes::Single(link) => link
                .connection()
                .await
                .map_err(|e| connect_error(&e, &self.target, self.connect_timeout_ms, self.tls)),
            Nodes::Sentinel(group) => {
                let (node, link) = group.node().await?;
                if let Ok(conn) = link.connection().await {
                    return Ok(conn);
                }
                // Nothing was sent: the primary may have moved; ask again, once.
                group.forget();
                let (now, link) = group.node().await?;
                link.connection().await.map_err(|e| {
                    let target = format!("{} at {now} (before: {node})", group.label());
                    connect_error(&e, &target, self.connect_timeout_ms, self.tls)
                })
            }
            Nodes::Cluster(..) => Err(BackendError::Internal(
                "a cluster has no one connection: commands go to the node of their key".into(),
            )),
        }
    }

    fn map(&self, e: &redis::RedisError, command: &str) -> BackendError {
        match &self.nodes {
            Nodes::Single(link) => link.after_error(e),
            Nodes::Sentinel(group) => {
                return sentinel::map(group, e, command, self.command_timeout_ms);
            }
            Nodes::Cluster(..) => {}
        }
        command_error(e, &self.target, self.command_timeout_ms, command)
    }

    /// Runs a Lua script on one key: EVALSHA, and EVAL when the server does not have it yet.
    async fn script(
        &self,
        source: &str,
        key: &[u8],
        args: &[&[u8]],
        name: &str,
    ) -> BackendResult<i64> {
        let script = redis::Script::new(source);
        let call = |command: &str, body: &str| {
            let mut cmd = redis::cmd(command);
            cmd.arg(body).arg(1).arg(key);
            for arg in args {
                cmd.arg(*arg);
            }
            cmd
        };
        match self.query(&call("EVALSHA", script.get_hash()), name).await {
            Err(BackendError::Server { reason, .. })
                if reason.contains("NOSCRIPT") || reason.contains("No matching script") =>
            {
                self.query(&call("EVAL", source), name).await
            }
            other => other,
        }
    }

    /// Commands with keys, each answered on its own (a reply may be an error); one pipeline
    /// to a server, one per node in a cluster.
    async fn batch(
        &self,
        commands: &[redis::Cmd],
        name: &str,
    ) -> BackendResult<Vec<redis::RedisResult<Value>>> {
        match &self.nodes {
            Nodes::Single(_) | Nodes::Sentinel(_) => {
                let mut pipe = redis::pipe();
                for cmd in commands {
                    pipe.add_command(cmd.clone());
                }
                pipe.ignore_errors();
                let mut conn = self.conn().await?;
                pipe.query_async(&mut conn)
                    .await
                    .map_err(|e| self.map(&e, name))
            }
            Nodes::Cluster(cluster, _) => cluster.batch(commands, name).await,
        }
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

/// The error of a command that was sent: one that took too long names the limit it kept; the
/// others are classified by what the server or the network said.
fn command_error(
    e: &redis::RedisError,
    target: &str,
    timeout_ms: u64,
    command: &str,
) -> BackendError {
    if e.is_timeout() {
        return BackendError::Timeout {
            target: target.to_owned(),
            timeout_ms,
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

/// `SCAN cursor MATCH pattern COUNT n [TYPE t]`.
fn scan_cmd(request: &ScanRequest, cursor: u64, count: u32) -> redis::Cmd {
    let mut cmd = redis::cmd("SCAN");
    cmd.arg(cursor)
        .arg("MATCH")
        .arg(&request.pattern)
        .arg("COUNT")
        .arg(count);
    if let Some(t) = &request.type_filter {
        cmd.arg("TYPE").arg(t.redis_name());
    }
    cmd
}

/// The TLS settings every node of a cluster or Sentinel group shares (read once).
///
/// # Errors
/// The CA file cannot be read or holds no certificate.
async fn shared_tls(
    spec: &RedisSpec,
) -> BackendResult<Option<std::sync::Arc<rustls::ClientConfig>>> {
    let Some(tls) = &spec.tls else {
        return Ok(None);
    };
    let ca = match &tls.ca_file {
        Some(ca_file) => Some(read_ca_file(ca_file).await.map_err(|e| {
            BackendError::Config(format!(
                "cannot read TLS CA file {}: {e}",
                ca_file.display()
            ))
        })?),
        None => None,
    };
    Ok(Some(std::sync::Arc::new(
        link::tls_config(ca.as_deref()).map_err(BackendError::Config)?,
    )))
}

/// `NAME [SUBCOMMAND] key`.
fn key_cmd(name: &str, sub: Option<&str>, key: &[u8]) -> redis::Cmd {
    let mut cmd = redis::cmd(name);
    if let Some(sub) = sub {
        cmd.arg(sub);
    }
    cmd.arg(key);
    cmd
}

/// The handshake settings every connection uses: user, password, database.
fn connection_info(spec: &RedisSpec, password: Option<&Secret>) -> RedisConnectionInfo {
    let mut settings = RedisConnectionInfo::default().set_db(i64::from(spec.db));
    if let Some(user) = &spec.username {
        settings = settings.set_username(user);
    }
    if let Some(password) = password {
        settings = settings.set_password(password.expose());
    }
    settings
}

/// What a Redis server can do.
fn redis_capabilities() -> Capabilities {
    Capabilities {
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
        scan_budget: true,
        rename: true,
        servers: Vec::new(),
        listing_note: None,
        flush_delay: false,
        purge_expired: false,
        slow_log: true,
        clients: true,
        hashed_names: false,
        find_in_values: true,
        nodes: false,
        commands: true,
        server_stats: true,
        structured_values: false,
        pubsub: true,
        monitor: true,
    }
}

/// rustls needs exactly one process-wide crypto provider; we ship `ring`.
fn install_crypto_provider() {
    // Fails only when a provider is installed already, which is what we want anyway.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[async_trait]
impl CacheBackend for RedisBackend {
    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    fn describe(&self) -> String {
        if let Nodes::Cluster(cluster, _) = &self.nodes {
            return nodes::describe(cluster, &self.version);
        }
        if let Nodes::Sentinel(group) = &self.nodes {
            return sentinel::describe(group, &self.version, self.db);
        }
        format!("Redis {} at {}, db {}", self.version, self.target, self.db)
    }

    async fn databases(&self) -> BackendResult<Vec<DbInfo>> {
        if let Nodes::Cluster(..) = &self.nodes {
            return Ok(Vec::new());
        }
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
        if let Nodes::Cluster(cluster, _) = &self.nodes {
            return nodes::key_count(cluster).await;
        }
        self.query(&redis::cmd("DBSIZE"), "DBSIZE").await
    }

    async fn server_info(&self) -> BackendResult<Vec<super::ServerInfo>> {
        if let Nodes::Cluster(cluster, _) = &self.nodes {
            return nodes::server_info(cluster).await;
        }
        let info: String = self.query(redis::cmd("INFO").arg("all"), "INFO").await?;
        Ok(vec![super::ServerInfo {
            server: self.target.clone(),
            sections: parse_info_sections(&info),
        }])
    }

    async fn stats(&self) -> BackendResult<Vec<(String, crate::core::metrics::RawStats)>> {
        if let Nodes::Cluster(cluster, _) = &self.nodes {
            return nodes::stats(cluster).await;
        }
        // Plain INFO holds server, clients, memory, stats and keyspace: one round trip.
        let info: String = self.query(&redis::cmd("INFO"), "INFO").await?;
        Ok(vec![(self.target.clone(), raw_stats(&info))])
    }

    async fn slow_log(&self, count: u32) -> BackendResult<Vec<SlowLogEntry>> {
        if let Nodes::Cluster(cluster, _) = &self.nodes {
            return self.cluster_slow_log(cluster, count).await;
        }
        let reply: Value = self
            .query(redis::cmd("SLOWLOG").arg("GET").arg(count), "SLOWLOG GET")
            .await?;
        Ok(array(reply)
            .into_iter()
            .filter_map(slow_log_entry)
            .collect())
    }

    async fn clients(&self) -> BackendResult<Vec<ClientInfo>> {
        if let Nodes::Cluster(cluster, _) = &self.nodes {
            return self.cluster_clients(cluster).await;
        }
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
        if let Nodes::Cluster(cluster, listings) = &self.nodes {
            return listings.scan(cluster, request, cursor).await;
        }
        let reply: Value = self
            .query(&scan_cmd(request, cursor, request.count), "SCAN")
            .await?;
        let (next_cursor, items) = scan_reply(reply);
        Ok(ScanPage::single(
            reply::packed_keys(items),
            next_cursor,
            scan_progress(next_cursor),
        ))
    }

    async fn scan_feed(
        &self,
        request: &ScanRequest,
        from: u64,
    ) -> BackendResult<Option<tokio::sync::mpsc::Receiver<BackendResult<ScanPage>>>> {
        let link = match &self.nodes {
            // A cluster's listing has a task per node already (cluster_scan.rs).
            Nodes::Cluster(..) => return Ok(None),
            Nodes::Single(link) => scanner::open(link).await,
            Nodes::Sentinel(group) => scanner::open(&group.node().await?.1).await,
        };
        let conn =
            link.map_err(|e| connect_error(&e, &self.target, self.connect_timeout_ms, self.tls))?;
        let (pages_in, pages) = tokio::sync::mpsc::channel(2);
        let (target, timeout_ms) = (self.target.clone(), self.command_timeout_ms);
        let budgeted = request.budget_ms.is_some();
        tokio::spawn(scanner::run(
            conn,
            request.clone(),
            from,
            pages_in,
            move |e| command_error(e, &target, timeout_ms, "SCAN"),
            move |step| {
                step.map(|s| ScanPage {
                    count: budgeted.then_some(s.count),
                    ..ScanPage::single(s.keys, s.next, scan_progress(s.next))
                })
            },
        ));
        Ok(Some(pages))
    }

    async fn nodes(&self) -> BackendResult<Vec<crate::core::model::NodeRow>> {
        match &self.nodes {
            Nodes::Cluster(cluster, _) => nodes::node_rows(cluster).await,
            Nodes::Sentinel(group) => group.node_rows().await,
            Nodes::Single(_) => Err(super::unsupported(&self.capabilities, "cluster nodes")),
        }
    }

    async fn key_meta(&self, keys: &[Bytes]) -> BackendResult<Vec<Option<KeyMeta>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut commands = Vec::with_capacity(keys.len() * 3);
        for key in keys {
            commands.push(key_cmd("TYPE", None, key));
            commands.push(key_cmd("PTTL", None, key));
            commands.push(key_cmd("MEMORY", Some("USAGE"), key));
        }
        let replies = self.batch(&commands, "TYPE/PTTL/MEMORY USAGE").await?;
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
        let commands = [
            key_cmd("TYPE", None, key),
            key_cmd("PTTL", None, key),
            key_cmd("OBJECT", Some("ENCODING"), key),
            key_cmd("MEMORY", Some("USAGE"), key),
        ];
        let replies = self.batch(&commands, "TYPE/PTTL/OBJECT ENCODING").await?;
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
        self.page(key, key_type, cursor, page_size).await
    }

    async fn find_in_value(
        &self,
        key: &[u8],
        key_type: &KeyType,
        pattern: &[u8],
        cursor: &PageCursor,
        page_size: u32,
    ) -> BackendResult<FoundPage> {
        self.find(key, key_type, pattern, cursor, page_size).await
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
    async fn command_facts(
        &self,
        args: &[Bytes],
    ) -> BackendResult<crate::core::model::CommandFacts> {
        self.command_facts_of(args).await
    }

    async fn execute(
        &self,
        args: &[Bytes],
        on: &crate::core::model::ExecOn,
    ) -> BackendResult<Vec<crate::core::model::NodeReply>> {
        self.execute_args(args, on).await
    }

    async fn command_docs(&self) -> BackendResult<Vec<crate::core::model::CommandDoc>> {
        self.docs().await
    }

    fn server_version(&self) -> Option<String> {
        Some(self.version.clone())
    }

    async fn subscribe(
        &self,
        subscription: &crate::core::model::Subscription,
        feed: std::sync::Arc<crate::backend::feed::Feed>,
    ) -> BackendResult<()> {
        self.subscribe_to(subscription, feed).await
    }

    async fn monitor(
        &self,
        nodes: &[String],
        feed: std::sync::Arc<crate::backend::feed::Feed>,
    ) -> BackendResult<()> {
        self.monitor_on(nodes, feed).await
    }

    async fn write(&self, op: &WriteOp) -> BackendResult<WriteOutcome> {
        self.apply(op).await
    }

    async fn dump(&self, keys: &[Bytes]) -> BackendResult<Vec<Option<DumpedKey>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut commands = Vec::with_capacity(keys.len() * 2);
        for key in keys {
            commands.push(key_cmd("DUMP", None, key));
            commands.push(key_cmd("PTTL", None, key));
        }
        let mut replies = Vec::with_capacity(commands.len());
        for reply in self.batch(&commands, "DUMP").await? {
            replies.push(reply.map_err(|e| self.map(&e, "DUMP"))?);
        }
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
