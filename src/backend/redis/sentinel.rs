//! A primary (and its replicas) behind Redis Sentinel: the sentinels are asked for the
//! primary's address in turn, the answer is checked with `ROLE`, and it is asked again
//! whenever the primary may have changed — a connection that breaks or cannot be opened, a
//! `READONLY` answer (the node was demoted), or a `+switch-master` event, which a task
//! subscribed on a sentinel watches for.
//!
//! redis-rs has a Sentinel client, but it opens its connections through its own reply parser
//! (unbounded lines, see `link.rs`) and resolves the primary when asked rather than when a
//! sentinel announces a switch; here every connection is a [`Link`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt as _;
use redis::{RedisConnectionInfo, Value};

use super::link::{Address, Link};
use super::reply::{info_field, millis, parse_keyspace, raw_stats, text, to_u64};
use super::{classify, command_error, connect_error};
use crate::backend::{BackendError, BackendResult};
use crate::config::connection::NodeAddress;
use crate::core::model::NodeRow;

/// How many rounds of the sentinels a lookup makes: during a failover they may name the old
/// primary for a moment.
const LOOKUP_ROUNDS: u32 = 4;
/// The pause between two rounds.
const LOOKUP_PAUSE: Duration = Duration::from_millis(400);

/// How a Sentinel group is reached.
pub struct SentinelSettings {
    /// The sentinels, asked in turn.
    pub sentinels: Vec<NodeAddress>,
    /// The primary's name.
    pub master: String,
    /// Browse a replica instead of the primary.
    pub replica: bool,
    /// Handshake with the sentinels.
    pub sentinel_info: RedisConnectionInfo,
    /// Handshake with the data nodes.
    pub data_info: RedisConnectionInfo,
    /// TLS for both, when on.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Connect and response timeouts.
    pub timeouts: (Duration, Duration),
    /// How sentinels and data nodes are reached (straight or through SSH).
    pub dialer: crate::backend::net::Dialer,
}

/// The node in use and the link to it.
type Current = Arc<Mutex<Option<(NodeAddress, Arc<Link>)>>>;

/// A Sentinel group: its sentinels, and the node (primary, or a replica when asked) in use.
pub struct Sentinel {
    settings: SentinelSettings,
    links_to_sentinels: Vec<(NodeAddress, Arc<Link>)>,
    data_links: Mutex<HashMap<NodeAddress, Arc<Link>>>,
    current: Current,
    looking: tokio::sync::Mutex<()>,
    watcher: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        if let Ok(mut watcher) = self.watcher.lock()
            && let Some(task) = watcher.take()
        {
            task.abort();
        }
    }
}

fn link_to(settings: &SentinelSettings, node: &NodeAddress, info: &RedisConnectionInfo) -> Link {
    let address = if settings.tls.is_some() {
        Address::Tls {
            host: node.host.clone(),
            port: node.port,
            name: None,
        }
    } else {
        Address::Tcp {
            host: node.host.clone(),
            port: node.port,
        }
    };
    Link::new(
        address,
        settings.tls.clone(),
        info.clone(),
        settings.timeouts,
        settings.dialer.clone(),
    )
}

impl Sentinel {
    /// A group; nothing is opened until [`Sentinel::node`].
    #[must_use]
    pub fn new(settings: SentinelSettings) -> Self {
        let links_to_sentinels = settings
            .sentinels
            .iter()
            .map(|s| {
                (
                    s.clone(),
                    Arc::new(link_to(&settings, s, &settings.sentinel_info)),
                )
            })
            .collect();
        Self {
            settings,
            links_to_sentinels,
            data_links: Mutex::new(HashMap::new()),
            current: Arc::new(Mutex::new(None)),
            looking: tokio::sync::Mutex::new(()),
            watcher: Mutex::new(None),
        }
    }

    /// How messages name the group: `primary `mymaster` (sentinels a:26379,b:26379)`.
    #[must_use]
    pub fn label(&self) -> String {
        let role = if self.settings.replica {
            "a replica of"
        } else {
            "primary"
        };
        format!(
            "{role} `{}` (sentinels {})",
            self.settings.master,
            crate::config::connection::node_list(&self.settings.sentinels, ",")
        )
    }

    /// The node in use now, if one was found.
    #[must_use]
    pub fn current_address(&self) -> Option<NodeAddress> {
        self.current
            .lock()
            .ok()
            .and_then(|c| c.as_ref().map(|(a, _)| a.clone()))
    }

    /// Forgets the node in use: the next command asks the sentinels again.
    pub fn forget(&self) {
        if let Ok(mut current) = self.current.lock() {
            *current = None;
        }
    }

    /// The node in use, or the one the sentinels name now.
    ///
    /// # Errors
    /// No sentinel answers, none knows the primary, or the node it names is not one.
    pub async fn node(&self) -> BackendResult<(NodeAddress, Arc<Link>)> {
        if let Some(found) = self.current.lock().ok().and_then(|c| c.clone()) {
            return Ok(found);
        }
        let _one_at_a_time = self.looking.lock().await;
        if let Some(found) = self.current.lock().ok().and_then(|c| c.clone()) {
            return Ok(found);
        }
        let found = self.look_up().await?;
        if let Ok(mut current) = self.current.lock() {
            *current = Some(found.clone());
        }
        Ok(found)
    }

    fn data_link(&self, node: &NodeAddress) -> Arc<Link> {
        let make = || Arc::new(link_to(&self.settings, node, &self.settings.data_info));
        match self.data_links.lock() {
            Ok(mut links) => Arc::clone(links.entry(node.clone()).or_insert_with(make)),
            Err(_) => make(),
        }
    }

    /// Asks the sentinels in turn, a few rounds, until one names a node whose `ROLE` agrees.
    async fn look_up(&self) -> BackendResult<(NodeAddress, Arc<Link>)> {
        let mut last = None;
        for round in 0..LOOKUP_ROUNDS {
            if round > 0 {
                tokio::time::sleep(LOOKUP_PAUSE).await;
            }
            for (sentinel, link) in &self.links_to_sentinels {
                let named = match self.ask(sentinel, link).await {
                    Ok(named) => named,
                    Err(e @ (BackendError::Config(_) | BackendError::Auth { .. })) => {
                        return Err(e);
                    }
                    Err(e) => {
                        last = Some(e);
                        continue;
                    }
                };
                let data = self.data_link(&named);
                match self.role(&named, &data).await {
                    Ok(role) if role == self.wanted_role() => return Ok((named, data)),
                    Ok(role) => {
                        last = Some(BackendError::Server {
                            command: "ROLE".to_owned(),
                            reason: format!(
                                "sentinel {sentinel} names {named}, which says it is a {role}: \
                                 a failover is under way"
                            ),
                        });
                    }
                    Err(e @ BackendError::Auth { .. }) => return Err(e),
                    Err(e) => last = Some(e),
                }
            }
        }
        Err(last.unwrap_or_else(|| {
            BackendError::Config("a Sentinel profile needs at least one sentinel".to_owned())
        }))
    }

    fn wanted_role(&self) -> &'static str {
        if self.settings.replica {
            "slave"
        } else {
            "master"
        }
    }

    /// A read on one node (or sentinel).
    async fn on(
        &self,
        node: &NodeAddress,
        link: &Link,
        cmd: &redis::Cmd,
        name: &str,
    ) -> BackendResult<Value> {
        let target = node.to_string();
        let unreachable = |e: &redis::RedisError| {
            connect_error(
                e,
                &target,
                millis(self.settings.timeouts.0),
                self.settings.tls.is_some(),
            )
        };
        let mut conn = link.connection().await.map_err(|e| unreachable(&e))?;
        match cmd.query_async(&mut conn).await {
            Ok(value) => Ok(value),
            // Only reads come here (INFO, ROLE, SENTINEL …): a connection a failover closed
            // (a demoted node drops its clients) is opened again and the read repeated once.
            Err(e) if e.is_connection_dropped() || e.is_io_error() => {
                link.after_error(&e);
                let mut conn = link.connection().await.map_err(|e| unreachable(&e))?;
                cmd.query_async(&mut conn).await.map_err(|e| {
                    link.after_error(&e);
                    classify(&e, &target, name)
                })
            }
            Err(e) => Err(classify(&e, &target, name)),
        }
    }

    /// The address a sentinel gives for the primary (or for a replica that is up).
    async fn ask(&self, sentinel: &NodeAddress, link: &Link) -> BackendResult<NodeAddress> {
        let master = &self.settings.master;
        if self.settings.replica {
            let mut cmd = redis::cmd("SENTINEL");
            cmd.arg("REPLICAS").arg(master);
            let reply = self.on(sentinel, link, &cmd, "SENTINEL REPLICAS").await?;
            return replicas(&reply)
                .into_iter()
                .find(|r| r.up)
                .map(|r| r.address)
                .ok_or_else(|| BackendError::Server {
                    command: "SENTINEL REPLICAS".to_owned(),
                    reason: format!(
                        "sentinel {sentinel} knows no replica of `{master}` that is up"
                    ),
                });
        }
        let mut cmd = redis::cmd("SENTINEL");
        cmd.arg("GET-MASTER-ADDR-BY-NAME").arg(master);
        let reply = self
            .on(sentinel, link, &cmd, "SENTINEL GET-MASTER-ADDR-BY-NAME")
            .await?;
        match reply {
            Value::Array(items) if items.len() == 2 => {
                let host = text(&items[0]);
                let port = to_u64(&items[1]).and_then(|p| u16::try_from(p).ok());
                match port {
                    Some(port) if !host.is_empty() => Ok(NodeAddress::new(host, port)),
                    _ => Err(BackendError::Server {
                        command: "SENTINEL GET-MASTER-ADDR-BY-NAME".to_owned(),
                        reason: format!("sentinel {sentinel} gave no usable address"),
                    }),
                }
            }
            _ => Err(BackendError::Config(format!(
                "sentinel {sentinel} watches no primary named `{master}`: check the name \
                 (SENTINEL MASTERS lists them)"
            ))),
        }
    }

    async fn role(&self, node: &NodeAddress, link: &Link) -> BackendResult<String> {
        let reply = self.on(node, link, &redis::cmd("ROLE"), "ROLE").await?;
        Ok(match reply {
            Value::Array(items) => items.first().map(text).unwrap_or_default(),
            _ => String::new(),
        })
    }

    /// Starts the task that listens for `+switch-master` on the sentinels (one at a time,
    /// the next when one goes away) and forgets the node in use when the primary switches.
    pub fn watch(&self) {
        let links: Vec<Arc<Link>> = self
            .links_to_sentinels
            .iter()
            .map(|(_, l)| Arc::clone(l))
            .collect();
        let (current, master) = (Arc::clone(&self.current), self.settings.master.clone());
        let task = tokio::spawn(async move {
            loop {
                for link in &links {
                    let Ok(mut pubsub) = link.pubsub().await else {
                        continue;
                    };
                    if pubsub.subscribe("+switch-master").await.is_err() {
                        continue;
                    }
                    let mut messages = pubsub.on_message();
                    while let Some(msg) = messages.next().await {
                        let payload: String = msg.get_payload().unwrap_or_default();
                        // `<name> <old ip> <old port> <new ip> <new port>`
                        if payload.split(' ').next() == Some(master.as_str())
                            && let Ok(mut now) = current.lock()
                        {
                            *now = None;
                        }
                    }
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
        if let Ok(mut watcher) = self.watcher.lock() {
            *watcher = Some(task);
        }
    }

    /// The primary and its replicas as the sentinels see them, each with its keys and memory.
    ///
    /// # Errors
    /// No sentinel answers.
    pub async fn node_rows(&self) -> BackendResult<Vec<NodeRow>> {
        let mut last = None;
        for (sentinel, link) in &self.links_to_sentinels {
            let primary = {
                let mut cmd = redis::cmd("SENTINEL");
                cmd.arg("GET-MASTER-ADDR-BY-NAME")
                    .arg(&self.settings.master);
                self.on(sentinel, link, &cmd, "SENTINEL").await
            };
            let listed = {
                let mut cmd = redis::cmd("SENTINEL");
                cmd.arg("REPLICAS").arg(&self.settings.master);
                self.on(sentinel, link, &cmd, "SENTINEL REPLICAS").await
            };
            let (primary, listed) = match (primary, listed) {
                (Ok(Value::Array(p)), Ok(r)) if p.len() == 2 => (p, r),
                (Err(e), _) | (_, Err(e)) => {
                    last = Some(e);
                    continue;
                }
                _ => continue,
            };
            let port = to_u64(&primary[1])
                .and_then(|p| u16::try_from(p).ok())
                .unwrap_or(0);
            let primary = NodeAddress::new(text(&primary[0]), port);
            let mut nodes = vec![(primary.clone(), true, "online".to_owned())];
            for r in replicas(&listed) {
                // The flags matter only when something is wrong (`slave` alone is the norm).
                let state = if r.up {
                    "online".to_owned()
                } else if r.flags.contains("down") || r.flags.contains("disconnected") {
                    format!("down ({})", r.flags)
                } else {
                    "up, its link to the primary is down (syncing after a failover?)".to_owned()
                };
                nodes.push((r.address, false, state));
            }
            // Every node's INFO at once.
            let infos = futures_util::future::join_all(nodes.iter().map(|(address, ..)| async {
                let data = self.data_link(address);
                self.on(address, &data, &redis::cmd("INFO"), "INFO").await
            }))
            .await;
            let mut rows = Vec::with_capacity(nodes.len());
            for ((address, is_primary, link_state), info) in nodes.into_iter().zip(infos) {
                let (keys, memory, link_state) = match info {
                    Ok(info) => {
                        let info = text(&info);
                        let keys = parse_keyspace(&info).iter().map(|d| d.keys).sum();
                        (Some(keys), raw_stats(&info).used_memory, link_state)
                    }
                    Err(e) => (None, None, format!("{link_state} · unreachable: {e}")),
                };
                rows.push(NodeRow {
                    address: address.to_string(),
                    reached_at: None,
                    id: String::new(),
                    primary: is_primary,
                    replica_of: (!is_primary).then(|| primary.to_string()),
                    slots: String::new(),
                    slot_count: 0,
                    keys,
                    memory,
                    link: link_state,
                });
            }
            return Ok(rows);
        }
        Err(last.unwrap_or_else(|| {
            BackendError::Config("a Sentinel profile needs at least one sentinel".to_owned())
        }))
    }

    /// The server version of the node in use.
    pub async fn version(&self) -> String {
        let Ok((node, link)) = self.node().await else {
            return "?".to_owned();
        };
        let mut cmd = redis::cmd("INFO");
        cmd.arg("server");
        match self.on(&node, &link, &cmd, "INFO").await {
            Ok(info) => info_field(&text(&info), "redis_version")
                .unwrap_or("?")
                .to_owned(),
            Err(_) => "?".to_owned(),
        }
    }
}

/// One replica as `SENTINEL REPLICAS` describes it.
struct ReplicaEntry {
    address: NodeAddress,
    flags: String,
    up: bool,
}

fn replicas(reply: &Value) -> Vec<ReplicaEntry> {
    let Value::Array(entries) = reply else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|entry| {
            let fields: Vec<(String, String)> = match entry {
                Value::Array(items) => items
                    .chunks(2)
                    .filter(|p| p.len() == 2)
                    .map(|p| (text(&p[0]), text(&p[1])))
                    .collect(),
                Value::Map(pairs) => pairs.iter().map(|(k, v)| (text(k), text(v))).collect(),
                _ => return None,
            };
            let get = |name: &str| {
                fields
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            let port = get("port").parse().ok()?;
            let flags = get("flags");
            let up = !flags.contains("down")
                && !flags.contains("disconnected")
                && get("master-link-status") != "err";
            Some(ReplicaEntry {
                address: NodeAddress::new(get("ip"), port),
                flags,
                up,
            })
        })
        .collect()
}

/// Connects to the node the sentinels name (checked with `ROLE`), and starts watching for a
/// switch of the primary.
///
/// # Errors
/// No sentinel answers, none knows the primary, or the credentials are refused.
pub(super) async fn connect(
    spec: &crate::config::connection::RedisSpec,
    sentinels: &[NodeAddress],
    master: &str,
    password: Option<&crate::config::connection::Secret>,
    dialer: crate::backend::net::Dialer,
) -> BackendResult<super::RedisBackend> {
    use crate::config::connection::SentinelAuth;
    let tls = super::shared_tls(spec).await?;
    let data_info = super::connection_info(spec, password);
    let mut sentinel_info = RedisConnectionInfo::default();
    match &spec.sentinel.password {
        SentinelAuth::None => {}
        SentinelAuth::SameAsData => sentinel_info = data_info.clone().set_db(0),
        SentinelAuth::Env(var) => {
            let secret = std::env::var(var).map_err(|_| {
                BackendError::Config(format!(
                    "environment variable `{var}` (the sentinels' password) is not set"
                ))
            })?;
            sentinel_info = sentinel_info.set_password(secret);
        }
    }
    if let Some(user) = &spec.sentinel.username {
        sentinel_info = sentinel_info.set_username(user);
    }
    let group = Sentinel::new(SentinelSettings {
        sentinels: sentinels.to_vec(),
        master: master.to_owned(),
        replica: spec.sentinel.replica,
        sentinel_info,
        data_info,
        tls,
        timeouts: (
            Duration::from_millis(spec.connect_timeout_ms),
            Duration::from_millis(spec.command_timeout_ms),
        ),
        dialer,
    });
    let limit = Duration::from_millis(spec.connect_timeout_ms.saturating_mul(3));
    tokio::time::timeout(limit, group.node())
        .await
        .map_err(|_| BackendError::Timeout {
            target: group.label(),
            timeout_ms: millis(limit),
        })??;
    let version = group.version().await;
    group.watch();
    let mut capabilities = super::redis_capabilities();
    capabilities.kind_label = "Redis Sentinel";
    capabilities.nodes = true;
    if spec.sentinel.replica {
        capabilities.write = false;
        capabilities.listing_note =
            Some("browsing a replica: it is read-only, and may lag the primary".to_owned());
    }
    let target = group.label();
    Ok(super::RedisBackend::assemble(
        spec,
        super::Nodes::Sentinel(group),
        target,
        version,
        capabilities,
    ))
}

/// One line about the group: version, which node it follows, the sentinels. Not the node's
/// address: it changes with a failover while the line is shown (the Nodes tab has it).
pub(super) fn describe(group: &Sentinel, version: &str, db: u32) -> String {
    format!("Redis {version}, {}, db {db}", group.label())
}

/// An error of the node in use: its connection is dropped when broken, and the primary is
/// looked up again on the next command when it may have changed. A command whose connection
/// broke after it was sent may or may not have run: the message says so rather than send it
/// twice.
pub(super) fn map(
    group: &Sentinel,
    e: &redis::RedisError,
    command: &str,
    timeout_ms: u64,
) -> BackendError {
    let node = group.current_address();
    let target = node
        .as_ref()
        .map_or_else(|| group.label(), |n| format!("{} at {n}", group.label()));
    if let Ok(current) = group.current.lock()
        && let Some((_, link)) = current.as_ref()
    {
        link.after_error(e);
    }
    let broken = e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_unrecoverable_error();
    let demoted = e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::ReadOnly);
    if broken || demoted || e.is_timeout() {
        group.forget();
    }
    if e.is_timeout() || !broken {
        return command_error(e, &target, timeout_ms, command);
    }
    BackendError::Connect {
        target,
        reason: format!(
            "the connection broke during `{command}` ({e}); a failover may be under way. It \
             may or may not have been carried out: look at the value before trying again (the \
             primary is looked up afresh)"
        ),
    }
}
