//! What a cluster does per node rather than per key: connecting (the topology first), key
//! counts, server figures, flushes, and multi-key deletes split by slot.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use redis::Value;

use super::cluster::{Cluster, NodeInfo, Topology, slot};
use super::reply::{info_field, parse_info_sections, raw_stats, text, to_u64};
use super::{Nodes, RedisBackend, connection_info, redis_capabilities};
use crate::backend::{BackendError, BackendResult, ServerInfo};
use crate::config::connection::{NodeAddress, RedisSpec, Secret};
use crate::core::metrics::RawStats;
use crate::core::model::{NodeRow, WriteOutcome};

/// Connects to a cluster: reads its topology from the seeds (within the connect timeout),
/// and proves the handshake on a primary.
///
/// # Errors
/// No seed answers, they are not cluster nodes, or the credentials are refused.
pub(super) async fn connect_cluster(
    spec: &RedisSpec,
    seeds: &[NodeAddress],
    password: Option<&Secret>,
    dialer: crate::backend::net::Dialer,
) -> BackendResult<RedisBackend> {
    let tls = super::shared_tls(spec).await?;
    let cluster = Cluster::new(
        seeds.to_vec(),
        spec.cluster.clone(),
        tls,
        connection_info(spec, password),
        (
            Duration::from_millis(spec.connect_timeout_ms),
            Duration::from_millis(spec.command_timeout_ms),
        ),
        dialer,
    );
    let limit = Duration::from_millis(spec.connect_timeout_ms.saturating_mul(2));
    let topology = tokio::time::timeout(limit, cluster.refresh())
        .await
        .map_err(|_| BackendError::Timeout {
            target: cluster.label(),
            timeout_ms: u64::try_from(limit.as_millis()).unwrap_or(u64::MAX),
        })??;
    let version = match topology.primaries().next() {
        Some(primary) => {
            let info = cluster
                .on_node(
                    &primary.address,
                    redis::cmd("INFO").arg("server"),
                    "INFO server",
                )
                .await?;
            let info = text(&info);
            info_field(&info, "redis_version").unwrap_or("?").to_owned()
        }
        None => "?".to_owned(),
    };
    let mut capabilities = redis_capabilities();
    capabilities.kind_label = "Redis Cluster";
    capabilities.databases = false;
    capabilities.nodes = true;
    capabilities.servers = topology
        .primaries()
        .map(|p| p.address.to_string())
        .collect();
    capabilities.listing_note = Some(format!(
        "a cluster: every primary is listed with its own cursor{}",
        if spec.cluster.scan_replicas {
            " (read from replicas where one is up)"
        } else {
            ""
        }
    ));
    let target = cluster.label();
    Ok(RedisBackend::assemble(
        spec,
        Nodes::Cluster(cluster, super::cluster_scan::Listings::new()),
        target,
        version,
        capabilities,
    ))
}

/// One line about the cluster: version, primaries and replicas, and where it was found.
pub(super) fn describe(cluster: &Cluster, version: &str) -> String {
    let topology = cluster.topology();
    let primaries = topology.primaries().count();
    let replicas = topology.nodes.len().saturating_sub(primaries);
    format!(
        "Redis Cluster {version}: {primaries} primaries, {replicas} replicas (seeds {})",
        cluster.label()
    )
}

/// How a node is named in server panels: `host:port (primary, slots 0-5460)`.
#[must_use]
pub fn node_label(topology: &Topology, node: &NodeInfo) -> String {
    let ranges = slot_ranges(topology.slots_of(node));
    let role = if node.primary { "primary" } else { "replica" };
    format!("{} ({role}, slots {ranges})", node.address)
}

/// The same command on every primary at once, each answer with its node.
async fn on_primaries(
    cluster: &Cluster,
    cmd: &redis::Cmd,
    name: &str,
) -> BackendResult<Vec<(NodeInfo, Value)>> {
    let topology = cluster.topology();
    let nodes: Vec<NodeInfo> = topology.primaries().cloned().collect();
    on_nodes(cluster, nodes, cmd, name).await
}

/// The same read on every node given, at once (a dropped connection is retried once).
async fn on_nodes(
    cluster: &Cluster,
    nodes: Vec<NodeInfo>,
    cmd: &redis::Cmd,
    name: &str,
) -> BackendResult<Vec<(NodeInfo, Value)>> {
    each_node(cluster, nodes, cmd, name, true).await
}

/// The same write on every node given, at once (never sent twice).
async fn write_on_nodes(
    cluster: &Cluster,
    nodes: Vec<NodeInfo>,
    cmd: &redis::Cmd,
    name: &str,
) -> BackendResult<Vec<(NodeInfo, Value)>> {
    each_node(cluster, nodes, cmd, name, false).await
}

async fn each_node(
    cluster: &Cluster,
    nodes: Vec<NodeInfo>,
    cmd: &redis::Cmd,
    name: &str,
    read: bool,
) -> BackendResult<Vec<(NodeInfo, Value)>> {
    let runs = nodes.into_iter().map(|node| async move {
        let reply = if read {
            cluster.read_on_node(&node.address, cmd, name).await
        } else {
            cluster.on_node(&node.address, cmd, name).await
        };
        reply.map(|value| (node, value))
    });
    futures_util::future::join_all(runs)
        .await
        .into_iter()
        .collect()
}

/// Every node with its slots, keys, memory and link, read afresh (topology and each node's
/// `INFO` at once); a node that does not answer is shown as unreachable, not left out.
pub(super) async fn node_rows(cluster: &Cluster) -> BackendResult<Vec<NodeRow>> {
    let topology = cluster.refresh_now().await?;
    let mut ordered: Vec<NodeInfo> = Vec::new();
    for shard in &topology.shards {
        for i in shard.primary.iter().chain(&shard.replicas) {
            ordered.extend(topology.nodes.get(*i).cloned());
        }
    }
    let reads = ordered.iter().map(|node| async move {
        let info = cluster
            .read_on_node(&node.address, &redis::cmd("INFO"), "INFO")
            .await;
        (node, info)
    });
    let mut rows = Vec::with_capacity(ordered.len());
    for (node, info) in futures_util::future::join_all(reads).await {
        let shard = topology.shards.get(node.shard);
        let replica_of = (!node.primary)
            .then(|| shard.and_then(|s| s.primary))
            .flatten()
            .and_then(|p| topology.nodes.get(p))
            .map(|p| p.address.to_string());
        let slots = topology.slots_of(node);
        let slot_count = slots
            .iter()
            .map(|(a, b)| u32::from(b.saturating_sub(*a)) + 1)
            .sum();
        let (keys, memory, link) = match info {
            Ok(info) => {
                let text = text(&info);
                let stats = raw_stats(&text);
                let keys = super::reply::parse_keyspace(&text)
                    .iter()
                    .map(|d| d.keys)
                    .sum();
                (Some(keys), stats.used_memory, node.health.clone())
            }
            Err(e) => (None, None, format!("{} · unreachable: {e}", node.health)),
        };
        let reach = cluster.reach(&node.address);
        rows.push(NodeRow {
            address: node.address.to_string(),
            reached_at: (reach != node.address).then(|| reach.to_string()),
            id: node.id.clone(),
            primary: node.primary,
            replica_of,
            slots: slot_ranges(slots),
            slot_count,
            keys,
            memory,
            link,
        });
    }
    Ok(rows)
}

fn slot_ranges(slots: &[(u16, u16)]) -> String {
    slots
        .iter()
        .map(|(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Keys in the whole cluster: the sum over the primaries.
pub(super) async fn key_count(cluster: &Cluster) -> BackendResult<u64> {
    Ok(on_primaries(cluster, &redis::cmd("DBSIZE"), "DBSIZE")
        .await?
        .iter()
        .filter_map(|(_, v)| to_u64(v))
        .sum())
}

/// Every node, primaries first.
fn every_node(cluster: &Cluster) -> Vec<NodeInfo> {
    let topology = cluster.topology();
    let mut nodes: Vec<NodeInfo> = topology.primaries().cloned().collect();
    nodes.extend(topology.nodes.iter().filter(|n| !n.primary).cloned());
    nodes
}

/// INFO of every node, primaries and replicas.
pub(super) async fn server_info(cluster: &Cluster) -> BackendResult<Vec<ServerInfo>> {
    let topology = cluster.topology();
    let nodes = every_node(cluster);
    let answers = on_nodes(cluster, nodes, redis::cmd("INFO").arg("all"), "INFO").await?;
    Ok(answers
        .into_iter()
        .map(|(node, info)| ServerInfo {
            server: node_label(&topology, &node),
            sections: parse_info_sections(&text(&info)),
        })
        .collect())
}

/// The figures of every primary (their sum is the cluster's).
pub(super) async fn stats(cluster: &Cluster) -> BackendResult<Vec<(String, RawStats)>> {
    Ok(on_primaries(cluster, &redis::cmd("INFO"), "INFO")
        .await?
        .into_iter()
        .map(|(node, info)| (node.address.to_string(), raw_stats(&text(&info))))
        .collect())
}

impl RedisBackend {
    /// The cluster, when this is one.
    pub(super) fn cluster(&self) -> Option<&Cluster> {
        match &self.nodes {
            Nodes::Cluster(cluster, _) => Some(cluster),
            Nodes::Single(_) | Nodes::Sentinel(_) => None,
        }
    }

    /// The writes a cluster carries out per node or per slot rather than on one key's node;
    /// `None` for the others (and for a standalone server).
    pub(super) async fn apply_to_nodes(
        &self,
        op: &crate::core::model::WriteOp,
    ) -> Option<BackendResult<WriteOutcome>> {
        use crate::core::model::WriteOp;
        let cluster = self.cluster()?;
        Some(match op {
            WriteOp::Delete { keys } => self.unlink_by_slot(cluster, keys).await,
            WriteOp::FlushDb | WriteOp::FlushAll => self.flush_nodes(None).await,
            WriteOp::Flush { server, .. } => self.flush_nodes(server.as_deref()).await,
            WriteOp::ResetSlowLog => {
                let every = every_node(cluster);
                write_on_nodes(
                    cluster,
                    every,
                    redis::cmd("SLOWLOG").arg("RESET"),
                    "SLOWLOG RESET",
                )
                .await
                .map(|done| WriteOutcome::Done(done.len() as u64))
            }
            WriteOp::KillClient { id, node } => {
                self.kill_on_node(cluster, *id, node.as_deref()).await
            }
            _ => return None,
        })
    }

    /// The slow logs of every node, newest first, each entry naming its node.
    pub(super) async fn cluster_slow_log(
        &self,
        cluster: &Cluster,
        count: u32,
    ) -> BackendResult<Vec<crate::core::model::SlowLogEntry>> {
        let every = every_node(cluster);
        let logs = on_nodes(
            cluster,
            every,
            redis::cmd("SLOWLOG").arg("GET").arg(count),
            "SLOWLOG GET",
        )
        .await?;
        let mut entries: Vec<crate::core::model::SlowLogEntry> = logs
            .into_iter()
            .flat_map(|(node, reply)| {
                super::reply::array(reply)
                    .into_iter()
                    .filter_map(super::reply::slow_log_entry)
                    .map(move |mut e| {
                        e.node = Some(node.address.to_string());
                        e
                    })
            })
            .collect();
        entries.sort_by(|a, b| b.at_unix.cmp(&a.at_unix).then(b.id.cmp(&a.id)));
        Ok(entries)
    }

    /// The clients of every node, each naming its node (client ids are per node).
    pub(super) async fn cluster_clients(
        &self,
        cluster: &Cluster,
    ) -> BackendResult<Vec<crate::core::model::ClientInfo>> {
        let every = every_node(cluster);
        let lists = every.into_iter().map(|node| async move {
            let mut pipe = redis::pipe();
            pipe.cmd("CLIENT").arg("ID").cmd("CLIENT").arg("LIST");
            let replies = cluster
                .pipeline_on(&node.address, &pipe, "CLIENT LIST")
                .await?;
            let own = replies
                .first()
                .and_then(|r| r.as_ref().ok())
                .and_then(to_u64)
                .unwrap_or(0);
            let list = replies
                .get(1)
                .and_then(|r| r.as_ref().ok())
                .map(text)
                .unwrap_or_default();
            let address = node.address.to_string();
            Ok::<_, BackendError>(
                super::reply::parse_client_list(&list, own)
                    .into_iter()
                    .map(|mut c| {
                        c.node = Some(address.clone());
                        c
                    })
                    .collect::<Vec<_>>(),
            )
        });
        let mut all = Vec::new();
        for list in futures_util::future::join_all(lists).await {
            all.extend(list?);
        }
        Ok(all)
    }

    async fn kill_on_node(
        &self,
        cluster: &Cluster,
        id: u64,
        node: Option<&str>,
    ) -> BackendResult<WriteOutcome> {
        let Some(name) = node else {
            return Err(BackendError::Invalid(
                "in a cluster client ids are per node: say which node the client is on".to_owned(),
            ));
        };
        let target = every_node(cluster)
            .into_iter()
            .find(|n| n.address.to_string() == name)
            .ok_or_else(|| {
                BackendError::Invalid(format!("`{name}` is not a node of this cluster"))
            })?;
        let killed = cluster
            .on_node(
                &target.address,
                redis::cmd("CLIENT").arg("KILL").arg("ID").arg(id),
                "CLIENT KILL",
            )
            .await?;
        match to_u64(&killed) {
            Some(n) if n > 0 => Ok(WriteOutcome::Done(n)),
            _ => Err(BackendError::Invalid(format!(
                "client {id} is no longer connected to {name}"
            ))),
        }
    }

    /// Empties every primary (`server: None`) or one: the count is what they held just
    /// before.
    pub(super) async fn flush_nodes(&self, server: Option<&str>) -> BackendResult<WriteOutcome> {
        let Some(cluster) = self.cluster() else {
            return Err(BackendError::Internal("not a cluster".to_owned()));
        };
        let topology = cluster.refresh().await?;
        let primaries: Vec<NodeInfo> = topology.primaries().cloned().collect();
        let chosen: Vec<NodeInfo> = match server {
            None => primaries,
            Some(name) => {
                let node = primaries
                    .into_iter()
                    .find(|p| p.address.to_string() == name || p.id == name)
                    .ok_or_else(|| {
                        BackendError::Invalid(format!(
                            "`{name}` is not a primary of this cluster (primaries: {})",
                            topology
                                .primaries()
                                .map(|p| p.address.to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                    })?;
                vec![node]
            }
        };
        let counts = on_nodes(cluster, chosen.clone(), &redis::cmd("DBSIZE"), "DBSIZE").await?;
        let keys = counts.iter().filter_map(|(_, v)| to_u64(v)).sum();
        write_on_nodes(
            cluster,
            chosen,
            redis::cmd("FLUSHDB").arg("ASYNC"),
            "FLUSHDB",
        )
        .await?;
        Ok(WriteOutcome::Done(keys))
    }

    /// Deletes keys of any slots: one `UNLINK` per slot (a cluster refuses keys of several
    /// slots in one command), sent as a pipeline per node.
    pub(super) async fn unlink_by_slot(
        &self,
        cluster: &Cluster,
        keys: &[Bytes],
    ) -> BackendResult<WriteOutcome> {
        let mut by_slot: BTreeMap<u16, Vec<&Bytes>> = BTreeMap::new();
        for key in keys {
            by_slot.entry(slot(key)).or_default().push(key);
        }
        let commands: Vec<redis::Cmd> = by_slot
            .values()
            .map(|group| {
                let mut cmd = redis::cmd("UNLINK");
                for key in group {
                    cmd.arg(key.as_ref());
                }
                cmd
            })
            .collect();
        let mut deleted = 0;
        let mut first_error = None;
        for reply in cluster.batch(&commands, "UNLINK").await? {
            match reply {
                Ok(v) => deleted += to_u64(&v).unwrap_or(0),
                Err(e) => {
                    first_error.get_or_insert_with(|| super::classify(&e, &self.target, "UNLINK"));
                }
            }
        }
        match first_error {
            // Some slots were deleted, some not: say so rather than report a partial count
            // as the whole.
            Some(BackendError::Server { command, reason }) if deleted > 0 => {
                Err(BackendError::Server {
                    command,
                    reason: format!("{reason} ({deleted} keys were deleted before that)"),
                })
            }
            Some(e) => Err(e),
            None => Ok(WriteOutcome::Done(deleted)),
        }
    }

    /// Refuses a two-key command whose keys are in different slots, with what to do.
    pub(super) fn same_slot(&self, from: &[u8], to: &[u8], what: &str) -> BackendResult<()> {
        if self.cluster().is_none() || slot(from) == slot(to) {
            return Ok(());
        }
        Err(BackendError::Invalid(format!(
            "a cluster can {what} only within one hash slot, and these keys are in slots {} \
             and {}: give both names the same {{hash tag}} (user:{{42}}:a, user:{{42}}:b)",
            slot(from),
            slot(to)
        )))
    }
}
