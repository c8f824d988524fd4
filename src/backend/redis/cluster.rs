//! A Redis Cluster: its topology, one [`Link`] per node, and commands routed by hash slot.
//!
//! Why not redis-rs' `ClusterClient`: it opens every node's connection itself, through its own
//! reply parser (a line is buffered until it ends: see `link.rs`), and offers no way to hand
//! it the stream to use — an SSH channel, a mapped address whose certificate carries the
//! announced name. Here every node is a [`Link`] (replies bounded, a broken connection
//! replaced), the topology comes from `CLUSTER SHARDS` (`CLUSTER SLOTS` before Redis 7), and
//! `MOVED`, `ASK` and `TRYAGAIN` are followed here. redis-rs still builds every command and
//! reads every reply.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{Cmd, RedisConnectionInfo, RedisError, Value};

use super::link::{Address, Link};
use super::reply::{millis, text, to_u64};
use super::{command_error, connect_error};
use crate::backend::{BackendError, BackendResult};
use crate::config::connection::{ClusterOptions, NodeAddress};

/// Hash slots in a cluster.
pub const SLOTS: u16 = 16384;
/// Redirects followed for one command before giving up.
const MAX_REDIRECTS: usize = 6;

/// The hash slot of a key: CRC16 (XMODEM) of the key, or of its `{hash tag}`, modulo 16384.
/// The `crc16` crate is the one redis-rs itself uses.
#[must_use]
pub fn slot(key: &[u8]) -> u16 {
    let hashed = hash_tag(key).unwrap_or(key);
    crc16::State::<crc16::XMODEM>::calculate(hashed) % SLOTS
}

/// What is between the first `{` and the next `}`, when that is not empty.
fn hash_tag(key: &[u8]) -> Option<&[u8]> {
    let open = memchr::memchr(b'{', key)?;
    let close = memchr::memchr(b'}', &key[open + 1..])?;
    (close > 0).then(|| &key[open + 1..open + 1 + close])
}

/// One node as the cluster describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    /// The node's id (40 hex characters).
    pub id: String,
    /// The address it announces (reached through the address map).
    pub address: NodeAddress,
    /// A primary (else a replica).
    pub primary: bool,
    /// `online`, `failed` or `loading` (`CLUSTER SHARDS`), `?` when the server does not say.
    pub health: String,
    /// Index of its shard in [`Topology::shards`].
    pub shard: usize,
}

/// A primary with its replicas and the slots they serve.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShardInfo {
    /// Slot ranges, inclusive.
    pub slots: Vec<(u16, u16)>,
    /// The primary's index in [`Topology::nodes`].
    pub primary: Option<usize>,
    /// The replicas' indices.
    pub replicas: Vec<usize>,
}

/// Which node serves which slots.
#[derive(Debug, Clone, Default)]
pub struct Topology {
    /// Every node.
    pub nodes: Vec<NodeInfo>,
    /// Every shard.
    pub shards: Vec<ShardInfo>,
    /// The primary of each slot (index into `nodes`), `u16::MAX` for a slot nobody serves.
    owner: Vec<u16>,
}

/// What a listing compares to see whether the cluster changed under it: each primary's id
/// and slots.
pub(super) type Signature = Vec<(String, Vec<(u16, u16)>)>;

impl Topology {
    /// The primary serving `slot`.
    #[must_use]
    pub fn owner_of(&self, slot: u16) -> Option<&NodeInfo> {
        let index = *self.owner.get(usize::from(slot))?;
        self.nodes.get(usize::from(index))
    }

    /// The primaries, in slot order.
    pub fn primaries(&self) -> impl Iterator<Item = &NodeInfo> {
        self.shards
            .iter()
            .filter_map(|s| s.primary.and_then(|p| self.nodes.get(p)))
    }

    /// The slots a node serves (a replica: its primary's).
    #[must_use]
    pub fn slots_of(&self, node: &NodeInfo) -> &[(u16, u16)] {
        self.shards
            .get(node.shard)
            .map_or(&[][..], |s| s.slots.as_slice())
    }

    /// How many slots nobody serves.
    #[must_use]
    pub fn unserved_slots(&self) -> usize {
        self.owner.iter().filter(|o| **o == u16::MAX).count()
    }

    pub(super) fn signature(&self) -> Signature {
        let mut sig: Signature = self
            .primaries()
            .map(|p| (p.id.clone(), self.slots_of(p).to_vec()))
            .collect();
        sig.sort();
        sig
    }

    fn finish(mut self) -> Self {
        self.owner = vec![u16::MAX; usize::from(SLOTS)];
        for shard in &self.shards {
            let Some(primary) = shard.primary.and_then(|p| u16::try_from(p).ok()) else {
                continue;
            };
            for &(start, end) in &shard.slots {
                for slot in start..=end.min(SLOTS - 1) {
                    self.owner[usize::from(slot)] = primary;
                }
            }
        }
        self
    }

    /// Reads a `CLUSTER SHARDS` reply. `asked` is the node that answered (it stands for a
    /// node announcing no endpoint); `tls` picks the TLS port where a node has one.
    ///
    /// # Errors
    /// The reply is not shaped like one.
    pub fn from_shards(reply: Value, asked: &NodeAddress, tls: bool) -> Result<Self, String> {
        let Value::Array(shards) = reply else {
            return Err("CLUSTER SHARDS did not answer a list".to_owned());
        };
        let mut topology = Self::default();
        for shard in shards {
            let mut info = ShardInfo::default();
            let shard_index = topology.shards.len();
            for (name, value) in fields(shard) {
                match name.as_str() {
                    "slots" => {
                        let bounds: Vec<u16> = list(value)
                            .iter()
                            .filter_map(|v| to_u64(v).and_then(|n| u16::try_from(n).ok()))
                            .collect();
                        info.slots = bounds.chunks(2).map(|p| (p[0], p[p.len() - 1])).collect();
                    }
                    "nodes" => {
                        for node in list(value) {
                            let node = shard_node(node, asked, tls, shard_index)?;
                            let index = topology.nodes.len();
                            topology.nodes.push(node);
                            info.replicas.push(index);
                        }
                    }
                    _ => {}
                }
            }
            // The primary: a node with that role, one that is up first (after a failover the
            // old primary may still be listed as a failed primary).
            let primaries: Vec<usize> = info
                .replicas
                .iter()
                .copied()
                .filter(|&i| topology.nodes[i].primary)
                .collect();
            let primary = primaries
                .iter()
                .copied()
                .find(|&i| topology.nodes[i].health != "failed")
                .or_else(|| primaries.first().copied());
            info.primary = primary;
            info.replicas.retain(|&i| Some(i) != primary);
            info.slots.sort_unstable();
            topology.shards.push(info);
        }
        topology.shards.sort_by_key(|s| s.slots.first().copied());
        for (index, shard) in topology.shards.iter().enumerate() {
            for node in shard.primary.iter().chain(&shard.replicas) {
                topology.nodes[*node].shard = index;
            }
        }
        Ok(topology.finish())
    }

    /// Reads a `CLUSTER SLOTS` reply (servers before Redis 7): `[start, end, primary,
    /// replica…]` per range, each node `[host, port, id, …]`.
    ///
    /// # Errors
    /// The reply is not shaped like one.
    pub fn from_slots(reply: Value, asked: &NodeAddress) -> Result<Self, String> {
        let Value::Array(ranges) = reply else {
            return Err("CLUSTER SLOTS did not answer a list".to_owned());
        };
        let mut topology = Self::default();
        let mut by_primary: HashMap<String, usize> = HashMap::new();
        for range in ranges {
            let mut items = list(range).into_iter();
            let bound = |v: Option<Value>| {
                v.as_ref()
                    .and_then(to_u64)
                    .and_then(|n| u16::try_from(n).ok())
                    .ok_or_else(|| "a CLUSTER SLOTS range without bounds".to_owned())
            };
            let (start, end) = (bound(items.next())?, bound(items.next())?);
            let nodes: Vec<(NodeAddress, String)> = items
                .filter_map(|n| {
                    let parts = list(n);
                    let host = parts.first().map(text)?;
                    let port = parts.get(1).and_then(to_u64)?;
                    let id = parts.get(2).map(text).unwrap_or_default();
                    let host = match host.as_str() {
                        "" | "?" => asked.host.clone(),
                        _ => host,
                    };
                    Some((NodeAddress::new(host, u16::try_from(port).ok()?), id))
                })
                .collect();
            let Some((primary_addr, primary_id)) = nodes.first().cloned() else {
                continue;
            };
            let shard = *by_primary.entry(primary_id.clone()).or_insert_with(|| {
                topology.shards.push(ShardInfo::default());
                topology.shards.len() - 1
            });
            topology.shards[shard].slots.push((start, end));
            if topology.shards[shard].primary.is_none() {
                topology.nodes.push(NodeInfo {
                    id: primary_id,
                    address: primary_addr,
                    primary: true,
                    health: "?".to_owned(),
                    shard,
                });
                topology.shards[shard].primary = Some(topology.nodes.len() - 1);
                for (address, id) in nodes.into_iter().skip(1) {
                    topology.nodes.push(NodeInfo {
                        id,
                        address,
                        primary: false,
                        health: "?".to_owned(),
                        shard,
                    });
                    let index = topology.nodes.len() - 1;
                    topology.shards[shard].replicas.push(index);
                }
            }
        }
        for shard in &mut topology.shards {
            shard.slots.sort_unstable();
        }
        Ok(topology.finish())
    }
}

fn shard_node(
    node: Value,
    asked: &NodeAddress,
    tls: bool,
    shard: usize,
) -> Result<NodeInfo, String> {
    let mut id = String::new();
    let (mut port, mut tls_port, mut ip, mut endpoint) = (None, None, String::new(), None);
    let (mut primary, mut health) = (false, "?".to_owned());
    for (name, value) in fields(node) {
        match name.as_str() {
            "id" => id = text(&value),
            "port" => port = to_u64(&value),
            "tls-port" => tls_port = to_u64(&value),
            "ip" => ip = text(&value),
            "endpoint" => endpoint = Some(text(&value)),
            "role" => primary = text(&value) == "master",
            "health" => health = text(&value),
            _ => {}
        }
    }
    let port = if tls {
        tls_port.or(port)
    } else {
        port.or(tls_port)
    };
    let port = port
        .and_then(|p| u16::try_from(p).ok())
        .filter(|p| *p > 0)
        .ok_or_else(|| format!("node {id} has no port in CLUSTER SHARDS"))?;
    // The preferred endpoint; a node that does not know it (`?`, empty) is reached where it
    // was asked, as the cluster specification says.
    let host = match endpoint.as_deref() {
        Some("" | "?") | None if ip.is_empty() => asked.host.clone(),
        Some("" | "?") | None => ip,
        Some(endpoint) => endpoint.to_owned(),
    };
    Ok(NodeInfo {
        id,
        address: NodeAddress::new(host, port),
        primary,
        health,
        shard,
    })
}

/// The name/value pairs of a RESP2 flat list or a RESP3 map.
fn fields(value: Value) -> Vec<(String, Value)> {
    match value {
        Value::Map(pairs) => pairs.into_iter().map(|(k, v)| (text(&k), v)).collect(),
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len() / 2);
            let mut items = items.into_iter();
            while let (Some(k), Some(v)) = (items.next(), items.next()) {
                out.push((text(&k), v));
            }
            out
        }
        _ => Vec::new(),
    }
}

fn list(value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) | Value::Set(items) => items,
        _ => Vec::new(),
    }
}

/// Where a command's key is: after the name, or later for commands with a subcommand or a
/// script. `None` for commands without a key.
#[must_use]
pub fn key_of(cmd: &Cmd) -> Option<Vec<u8>> {
    let mut args = cmd.args_iter().filter_map(|a| match a {
        redis::Arg::Simple(bytes) => Some(bytes),
        _ => None,
    });
    let name = args.next()?.to_ascii_uppercase();
    let skip = match name.as_slice() {
        b"MEMORY" | b"OBJECT" => 1,
        b"EVALSHA" | b"EVAL" | b"EVALSHA_RO" | b"EVAL_RO" | b"FCALL" | b"FCALL_RO" => {
            let _script = args.next()?;
            let numkeys = args.next()?;
            if numkeys == b"0" {
                return None;
            }
            0
        }
        b"INFO" | b"DBSIZE" | b"PING" | b"CONFIG" | b"SLOWLOG" | b"CLIENT" | b"FLUSHDB"
        | b"FLUSHALL" | b"SCAN" | b"CLUSTER" | b"SCRIPT" | b"COMMAND" | b"ROLE" | b"ASKING"
        | b"READONLY" => return None,
        _ => 0,
    };
    args.nth(skip).map(<[u8]>::to_vec)
}

/// The nodes of a cluster and how to reach them.
pub struct Cluster {
    pub(super) seeds: Vec<NodeAddress>,
    pub(super) options: ClusterOptions,
    pub(super) tls: Option<Arc<rustls::ClientConfig>>,
    info: RedisConnectionInfo,
    pub(super) connect_timeout: Duration,
    pub(super) response_timeout: Duration,
    dialer: crate::backend::net::Dialer,
    links: Mutex<HashMap<NodeAddress, Arc<Link>>>,
    topology: Mutex<Arc<Topology>>,
    refreshing: tokio::sync::Mutex<()>,
}

impl Cluster {
    /// A cluster found from `seeds`; nothing is opened until [`Cluster::refresh`].
    #[must_use]
    pub fn new(
        seeds: Vec<NodeAddress>,
        options: ClusterOptions,
        tls: Option<Arc<rustls::ClientConfig>>,
        info: RedisConnectionInfo,
        timeouts: (Duration, Duration),
        dialer: crate::backend::net::Dialer,
    ) -> Self {
        Self {
            seeds,
            options,
            tls,
            info,
            connect_timeout: timeouts.0,
            response_timeout: timeouts.1,
            dialer,
            links: Mutex::new(HashMap::new()),
            topology: Mutex::new(Arc::new(Topology::default())),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    /// How messages name the cluster: its seeds.
    #[must_use]
    pub fn label(&self) -> String {
        crate::config::connection::node_list(&self.seeds, ",")
    }

    /// The topology as last read.
    #[must_use]
    pub fn topology(&self) -> Arc<Topology> {
        self.topology
            .lock()
            .map_or_else(|_| Arc::new(Topology::default()), |t| Arc::clone(&t))
    }

    /// The link to the node that announces `node`, made on first use: through the address
    /// map, TLS checking the name the node announced (or, when it announced an IP address and
    /// the map names a host, that host's).
    pub fn link(&self, node: &NodeAddress) -> Arc<Link> {
        let Ok(mut links) = self.links.lock() else {
            return Arc::new(self.new_link(node));
        };
        Arc::clone(
            links
                .entry(node.clone())
                .or_insert_with(|| Arc::new(self.new_link(node))),
        )
    }

    fn new_link(&self, node: &NodeAddress) -> Link {
        let reach = self.options.reach(node);
        let address = if self.tls.is_some() {
            let announced_is_ip = node.host.parse::<std::net::IpAddr>().is_ok();
            let reach_is_ip = reach.host.parse::<std::net::IpAddr>().is_ok();
            let name = if announced_is_ip && !reach_is_ip {
                reach.host.clone()
            } else {
                node.host.clone()
            };
            Address::Tls {
                host: reach.host,
                port: reach.port,
                name: Some(name),
            }
        } else {
            Address::Tcp {
                host: reach.host,
                port: reach.port,
            }
        };
        Link::new(
            address,
            self.tls.clone(),
            self.info.clone(),
            (self.connect_timeout, self.response_timeout),
            self.dialer.clone(),
        )
    }

    pub(super) fn target(&self, node: &NodeAddress) -> String {
        let reach = self.options.reach(node);
        if reach == *node {
            node.to_string()
        } else {
            format!("{node} (reached at {reach})")
        }
    }

    /// The open connection to a node, or a new one.
    ///
    /// # Errors
    /// The node cannot be reached within the connect timeout.
    pub async fn conn(&self, node: &NodeAddress) -> BackendResult<MultiplexedConnection> {
        self.link(node)
            .connection()
            .await
            .map_err(|e| self.connect_failed(&e, node))
    }

    /// A node that could not be reached; when the cluster announced a name that does not
    /// resolve (an internal name, a NAT), the message says how to map it.
    fn connect_failed(&self, e: &RedisError, node: &NodeAddress) -> BackendError {
        let error = connect_error(
            e,
            &self.target(node),
            millis(self.connect_timeout),
            self.tls.is_some(),
        );
        let unmapped = self.options.reach(node) == *node && !self.seeds.contains(node);
        match error {
            BackendError::Connect { target, reason } if unmapped => BackendError::Connect {
                target,
                reason: format!(
                    "{reason} — the cluster announces this address for one of its nodes; if \
                     it cannot be reached from here, add it to the profile's address map \
                     (map={node}=REACHABLE_HOST:PORT)"
                ),
            },
            other => other,
        }
    }

    pub(super) fn map(&self, node: &NodeAddress, e: &RedisError, command: &str) -> BackendError {
        self.link(node).after_error(e);
        command_error(
            e,
            &self.target(node),
            millis(self.response_timeout),
            command,
        )
    }

    /// Reads the topology again, unless another task did while this one waited.
    ///
    /// # Errors
    /// No node answered, or the servers are not cluster nodes.
    pub async fn refresh(&self) -> BackendResult<Arc<Topology>> {
        let before = self.topology();
        let _one_at_a_time = self.refreshing.lock().await;
        let current = self.topology();
        if !Arc::ptr_eq(&before, &current) {
            return Ok(current);
        }
        self.read_from_any().await
    }

    /// Where the node announcing `node` is reached (through the address map).
    #[must_use]
    pub fn reach(&self, node: &NodeAddress) -> NodeAddress {
        self.options.reach(node)
    }

    /// Reads the topology now, even when another task read it a moment ago.
    ///
    /// # Errors
    /// No node answered, or the servers are not cluster nodes.
    pub async fn refresh_now(&self) -> BackendResult<Arc<Topology>> {
        let _one_at_a_time = self.refreshing.lock().await;
        self.read_from_any().await
    }

    /// Asks the nodes it knows (primaries first), then the seeds, in turn.
    async fn read_from_any(&self) -> BackendResult<Arc<Topology>> {
        let current = self.topology();
        let mut candidates: Vec<NodeAddress> = current
            .primaries()
            .map(|n| n.address.clone())
            .chain(current.nodes.iter().map(|n| n.address.clone()))
            .chain(self.seeds.iter().cloned())
            .collect();
        let mut seen = std::collections::HashSet::new();
        candidates.retain(|c| seen.insert(c.clone()));
        let mut last_error = None;
        for node in candidates {
            match self.read_topology(&node).await {
                Ok(topology) => {
                    let topology = Arc::new(topology);
                    if let Ok(mut slot) = self.topology.lock() {
                        *slot = Arc::clone(&topology);
                    }
                    return Ok(topology);
                }
                Err(e @ BackendError::Config(_)) => return Err(e),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| {
            BackendError::Config("a cluster profile needs at least one node".to_owned())
        }))
    }

    async fn read_topology(&self, node: &NodeAddress) -> BackendResult<Topology> {
        let mut conn = self.conn(node).await?;
        let tls = self.tls.is_some();
        let shards: redis::RedisResult<Value> = redis::cmd("CLUSTER")
            .arg("SHARDS")
            .query_async(&mut conn)
            .await;
        let topology = match shards {
            Ok(reply) => Topology::from_shards(reply, node, tls),
            Err(e) if e.code() == Some("ERR") && !is_cluster_disabled(&e) => {
                // Before Redis 7 there is no CLUSTER SHARDS.
                let reply: Value = redis::cmd("CLUSTER")
                    .arg("SLOTS")
                    .query_async(&mut conn)
                    .await
                    .map_err(|e| self.topology_error(node, &e))?;
                Topology::from_slots(reply, node)
            }
            Err(e) => return Err(self.topology_error(node, &e)),
        }
        .map_err(|reason| BackendError::Server {
            command: "CLUSTER SHARDS".to_owned(),
            reason,
        })?;
        if topology.shards.is_empty() {
            return Err(BackendError::Server {
                command: "CLUSTER SHARDS".to_owned(),
                reason: format!("{node} knows no slots: the cluster is not set up yet"),
            });
        }
        Ok(topology)
    }

    fn topology_error(&self, node: &NodeAddress, e: &RedisError) -> BackendError {
        if is_cluster_disabled(e) {
            return BackendError::Config(format!(
                "{} is not a cluster node (cluster support is disabled there): connect with \
                 redis:// for a standalone server",
                self.target(node)
            ));
        }
        self.map(node, e, "CLUSTER SHARDS")
    }

    /// The primary serving `slot`, reading the topology again when no node is known for it.
    async fn owner(&self, slot: u16) -> BackendResult<NodeAddress> {
        if let Some(node) = self.topology().owner_of(slot) {
            return Ok(node.address.clone());
        }
        let topology = self.refresh().await?;
        topology
            .owner_of(slot)
            .map(|n| n.address.clone())
            .ok_or_else(|| BackendError::Server {
                command: "route".to_owned(),
                reason: format!(
                    "no node serves hash slot {slot}: the cluster is down or being resharded \
                     (CLUSTER SHARDS lists no owner)"
                ),
            })
    }

    /// Runs a command on one node, no redirect followed.
    ///
    /// # Errors
    /// The node is unreachable or answers with an error.
    pub async fn on_node(&self, node: &NodeAddress, cmd: &Cmd, name: &str) -> BackendResult<Value> {
        let mut conn = self.conn(node).await?;
        cmd.query_async(&mut conn)
            .await
            .map_err(|e| self.map(node, &e, name))
    }

    /// A read on one node (INFO, DBSIZE, SLOWLOG GET …): a connection the server closed
    /// meanwhile (a restart, an idle timeout, a failover) is opened again and the read
    /// repeated once. Never for writes: a write may have run before its connection broke.
    ///
    /// # Errors
    /// The node is unreachable or answers with an error.
    pub async fn read_on_node(
        &self,
        node: &NodeAddress,
        cmd: &Cmd,
        name: &str,
    ) -> BackendResult<Value> {
        let mut conn = self.conn(node).await?;
        match cmd.query_async(&mut conn).await {
            Ok(value) => Ok(value),
            Err(e) if e.is_connection_dropped() || e.is_io_error() => {
                self.link(node).after_error(&e);
                self.on_node(node, cmd, name).await
            }
            Err(e) => Err(self.map(node, &e, name)),
        }
    }

    /// Runs a pipeline on one node; each reply is its own result.
    ///
    /// # Errors
    /// The node is unreachable or the connection broke.
    pub async fn pipeline_on(
        &self,
        node: &NodeAddress,
        pipe: &redis::Pipeline,
        name: &str,
    ) -> BackendResult<Vec<redis::RedisResult<Value>>> {
        let mut conn = self.conn(node).await?;
        pipe.query_async(&mut conn)
            .await
            .map_err(|e| self.map(node, &e, name))
    }

    /// Runs a command with a key on the node serving the key's slot, following redirects.
    /// A command is sent again only when it was certainly not carried out: a redirect
    /// (`MOVED`, `ASK`, `TRYAGAIN`) or a connection that could not be opened.
    ///
    /// # Errors
    /// The command has no key, the node is unreachable or answers with an error.
    pub async fn routed(&self, cmd: &Cmd, name: &str) -> BackendResult<Value> {
        let key = key_of(cmd).ok_or_else(|| {
            BackendError::Internal(format!("`{name}` names no key, so no node can be chosen"))
        })?;
        self.routed_key(cmd, &key, name).await
    }

    /// The first primary (where a command for any node goes).
    ///
    /// # Errors
    /// The cluster has no primary.
    pub fn first_primary(&self) -> BackendResult<NodeAddress> {
        self.topology()
            .primaries()
            .next()
            .map(|n| n.address.clone())
            .ok_or_else(|| BackendError::Internal("the cluster has no primary".into()))
    }

    /// [`Cluster::routed`] by a key given (a typed command's key, wherever it stands).
    ///
    /// # Errors
    /// The node is unreachable or answers with an error.
    pub async fn routed_key(&self, cmd: &Cmd, key: &[u8], name: &str) -> BackendResult<Value> {
        let slot = slot(key);
        let mut target = self.owner(slot).await?;
        let mut asking = false;
        let mut refreshed = false;
        for attempt in 0..MAX_REDIRECTS {
            let link = self.link(&target);
            let mut conn = match link.connection().await {
                Ok(conn) => conn,
                Err(e) => {
                    // Nothing was sent: the node may have failed over; ask where the slot is.
                    if !refreshed {
                        refreshed = true;
                        if let Ok(topology) = self.refresh().await
                            && let Some(owner) = topology.owner_of(slot)
                            && owner.address != target
                        {
                            target = owner.address.clone();
                            continue;
                        }
                    }
                    return Err(self.connect_failed(&e, &target));
                }
            };
            let result = if asking {
                // One pipeline, so nothing another task sends comes between ASKING and the
                // command; each reply read on its own, so a redirect stays a redirect.
                let mut pipe = redis::pipe();
                pipe.cmd("ASKING").add_command(cmd.clone()).ignore_errors();
                match pipe
                    .query_async::<Vec<redis::RedisResult<Value>>>(&mut conn)
                    .await
                {
                    Ok(mut replies) => replies.pop().unwrap_or(Ok(Value::Nil)),
                    Err(e) => Err(e),
                }
            } else {
                cmd.query_async::<Value>(&mut conn).await
            };
            let e = match result {
                Ok(value) => return Ok(value),
                Err(e) => e,
            };
            match e.kind() {
                redis::ErrorKind::Server(redis::ServerErrorKind::Moved) => {
                    target = redirect(&e, &target);
                    asking = false;
                    if !refreshed {
                        refreshed = true;
                        // The map is stale; the next command should not be redirected too.
                        let _ = self.refresh().await;
                    }
                }
                redis::ErrorKind::Server(redis::ServerErrorKind::Ask) => {
                    target = redirect(&e, &target);
                    asking = true;
                }
                redis::ErrorKind::Server(redis::ServerErrorKind::TryAgain) => {
                    tokio::time::sleep(Duration::from_millis(50 << attempt.min(4))).await;
                }
                _ => return Err(self.map(&target, &e, name)),
            }
        }
        Err(BackendError::Server {
            command: name.to_owned(),
            reason: format!(
                "the cluster redirected it {MAX_REDIRECTS} times (slot {slot} is being moved): \
                 try again in a moment"
            ),
        })
    }

    /// Commands with keys, grouped by node and sent there as pipelines at once; the replies
    /// in the commands' order. A reply that is a redirect is sent again through
    /// [`Cluster::routed`].
    ///
    /// # Errors
    /// A node could not be reached or its connection broke.
    pub async fn batch(
        &self,
        commands: &[Cmd],
        name: &str,
    ) -> BackendResult<Vec<redis::RedisResult<Value>>> {
        let topology = self.topology();
        let mut groups: BTreeMap<NodeAddress, Vec<usize>> = BTreeMap::new();
        for (index, cmd) in commands.iter().enumerate() {
            let key = key_of(cmd).unwrap_or_default();
            let node = match topology.owner_of(slot(&key)) {
                Some(node) => node.address.clone(),
                None => self.owner(slot(&key)).await?,
            };
            groups.entry(node).or_default().push(index);
        }
        let runs = groups.into_iter().map(|(node, indices)| async move {
            let mut pipe = redis::pipe();
            for &i in &indices {
                pipe.add_command(commands[i].clone());
            }
            pipe.ignore_errors();
            let replies = self.pipeline_on(&node, &pipe, name).await?;
            Ok::<_, BackendError>((indices, replies))
        });
        let mut out: Vec<Option<redis::RedisResult<Value>>> = vec![None; commands.len()];
        for run in futures_util::future::join_all(runs).await {
            let (indices, replies) = run?;
            for (i, reply) in indices.into_iter().zip(replies) {
                out[i] = Some(reply);
            }
        }
        let mut results = Vec::with_capacity(out.len());
        for (i, reply) in out.into_iter().enumerate() {
            let reply = reply.unwrap_or(Ok(Value::Nil));
            let redirected = matches!(
                &reply,
                Err(e) if matches!(
                    e.kind(),
                    redis::ErrorKind::Server(
                        redis::ServerErrorKind::Moved
                            | redis::ServerErrorKind::Ask
                            | redis::ServerErrorKind::TryAgain
                    )
                )
            );
            if redirected {
                results.push(match self.routed(&commands[i], name).await {
                    Ok(v) => Ok(v),
                    Err(e) => Err(RedisError::from(std::io::Error::other(e.to_string()))),
                });
            } else {
                results.push(reply);
            }
        }
        Ok(results)
    }
}

fn is_cluster_disabled(e: &RedisError) -> bool {
    e.to_string().contains("cluster support disabled")
}

/// Where a `MOVED` or `ASK` sends the command (`MOVED 3999 host:port`); an empty host means
/// the node that answered.
fn redirect(e: &RedisError, from: &NodeAddress) -> NodeAddress {
    let Some((address, _slot)) = e.redirect_node() else {
        return from.clone();
    };
    if let Some(port) = address.strip_prefix(':').and_then(|p| p.parse().ok()) {
        return NodeAddress::new(from.host.clone(), port);
    }
    NodeAddress::parse(address).unwrap_or_else(|| from.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_follow_the_cluster_specification() {
        // Values from the Redis Cluster specification and `CLUSTER KEYSLOT`.
        assert_eq!(slot(b"123456789"), 0x31C3 % SLOTS);
        assert_eq!(slot(b"foo"), 12182);
        assert_eq!(slot(b"{user1000}.following"), slot(b"user1000"));
        assert_eq!(
            slot(b"foo{}{bar}"),
            slot(b"foo{}{bar}"),
            "an empty tag hashes all"
        );
        assert_ne!(slot(b"foo{}{bar}"), slot(b"bar"));
        assert_eq!(slot(b"foo{{bar}}zap"), slot(b"{bar"));
        assert_eq!(slot(b"foo{bar}{zap}"), slot(b"bar"));
        assert_eq!(slot(b""), 0);
    }

    #[test]
    fn keys_are_found_in_every_command_shape() {
        let mut c = redis::cmd("GET");
        c.arg("k1");
        assert_eq!(key_of(&c), Some(b"k1".to_vec()));
        let mut c = redis::cmd("MEMORY");
        c.arg("USAGE").arg("k2");
        assert_eq!(key_of(&c), Some(b"k2".to_vec()));
        let mut c = redis::cmd("EVALSHA");
        c.arg("abc").arg(1).arg("k3").arg("x");
        assert_eq!(key_of(&c), Some(b"k3".to_vec()));
        let mut c = redis::cmd("EVALSHA");
        c.arg("abc").arg(0);
        assert_eq!(key_of(&c), None);
        assert_eq!(key_of(&redis::cmd("DBSIZE")), None);
        let mut c = redis::cmd("INFO");
        c.arg("keyspace");
        assert_eq!(key_of(&c), None);
    }

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    fn node(id: &str, port: i64, endpoint: &str, role: &str, health: &str) -> Value {
        Value::Array(vec![
            bulk("id"),
            bulk(id),
            bulk("port"),
            Value::Int(port),
            bulk("ip"),
            bulk("10.0.0.1"),
            bulk("endpoint"),
            bulk(endpoint),
            bulk("role"),
            bulk(role),
            bulk("health"),
            bulk(health),
        ])
    }

    #[test]
    fn shards_give_primaries_replicas_and_the_owner_of_every_slot() {
        let reply = Value::Array(vec![
            Value::Array(vec![
                bulk("slots"),
                Value::Array(vec![Value::Int(8192), Value::Int(16383)]),
                bulk("nodes"),
                Value::Array(vec![
                    node("b", 7001, "node-b", "master", "online"),
                    node("d", 7003, "?", "replica", "online"),
                ]),
            ]),
            Value::Array(vec![
                bulk("slots"),
                Value::Array(vec![Value::Int(0), Value::Int(8191)]),
                bulk("nodes"),
                Value::Array(vec![
                    node("a-old", 7000, "node-a", "master", "failed"),
                    node("a", 7002, "", "master", "online"),
                ]),
            ]),
        ]);
        let asked = NodeAddress::new("seed", 1);
        let t = Topology::from_shards(reply, &asked, false).expect("parses");
        let primaries: Vec<&str> = t.primaries().map(|n| n.id.as_str()).collect();
        assert_eq!(primaries, ["a", "b"], "slot order; the one that is up");
        assert_eq!(
            t.owner_of(0).map(|n| n.address.to_string()).as_deref(),
            Some("10.0.0.1:7002"),
            "no endpoint: the ip"
        );
        assert_eq!(t.owner_of(16383).map(|n| n.id.as_str()), Some("b"));
        assert_eq!(t.unserved_slots(), 0);
        let d = t.nodes.iter().find(|n| n.id == "d").expect("replica");
        assert_eq!(t.slots_of(d), &[(8192, 16383)]);
        assert_eq!(d.address.to_string(), "10.0.0.1:7003");
    }

    #[test]
    fn slots_replies_of_older_servers_are_read_too() {
        let entry = |start, end, port: i64, id: &str, replica: i64| {
            Value::Array(vec![
                Value::Int(start),
                Value::Int(end),
                Value::Array(vec![bulk("127.0.0.1"), Value::Int(port), bulk(id)]),
                Value::Array(vec![bulk(""), Value::Int(replica), bulk("r")]),
            ])
        };
        let reply = Value::Array(vec![
            entry(0, 99, 7000, "a", 7003),
            entry(200, 16383, 7000, "a", 7003),
        ]);
        let t = Topology::from_slots(reply, &NodeAddress::new("seed", 1)).expect("parses");
        assert_eq!(t.shards.len(), 1);
        assert_eq!(t.shards[0].slots, vec![(0, 99), (200, 16383)]);
        assert_eq!(t.unserved_slots(), 100);
        let replica = &t.nodes[t.shards[0].replicas[0]];
        assert_eq!(replica.address.to_string(), "seed:7003");
    }
}
