//! A listing across a cluster: every node scanned by a task of its own, each with its own
//! cursor, all at once, into one stream of pages the listing takes from. The topology is read
//! again once a second and before the listing says it is done; a failover or a resharding
//! lists the changed nodes again from their start.
//!
//! Why tasks that read ahead rather than one `SCAN` per node per page: a page would wait for
//! the slowest node, and no node would be read while the app takes in the last page. The
//! tasks keep at most [`AHEAD`] pages each waiting, so a paused listing holds a bounded
//! amount, and a listing that is dropped stops them.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::mpsc;

use super::cluster::{Cluster, NodeInfo, Signature, Topology};
use super::link::Link;
use super::reply::{millis, scan_progress, to_u64};
use super::{command_error, connect_error};
use crate::backend::{BackendError, BackendResult};
use crate::config::connection::NodeAddress;
use crate::core::model::{ScanPage, ScanPart, ScanRequest};

/// How often a running listing looks at the topology again.
const TOPOLOGY_CHECK: Duration = Duration::from_secs(1);
/// Listings kept for continuing (paused ones); the oldest is forgotten first.
const KEPT_LISTINGS: usize = 64;
/// Pages each node's task may have read ahead of the listing.
const AHEAD: usize = 2;
/// A page of the listing holds at most this many `SCAN` replies (of any nodes).
const REPLIES_PER_PAGE: usize = 8;

/// A listing across the cluster: every node's own cursor.
struct ClusterScan {
    targets: Vec<ScanTarget>,
    /// The tasks reading ahead, when running.
    feed: Option<Feed>,
    /// A node failed after this listing had taken pages from others: reported on the next
    /// page, so the keys of the last one reach the user first.
    pending_error: Option<(NodeAddress, BackendError)>,
    /// A listing of one node the user chose: it is not moved to others when the cluster
    /// changes.
    one_node: bool,
    signature: Signature,
    checked: Instant,
    note: Option<String>,
}

#[derive(Debug, Clone)]
struct ScanTarget {
    node: NodeAddress,
    id: String,
    slots: Vec<(u16, u16)>,
    cursor: u64,
    done: bool,
    matched: u64,
    total: u64,
}

/// One `SCAN` reply of one node's task: the target's index, the cursor the reply was read
/// from, and the next cursor with the keys (or why it failed).
type Reply = (usize, u64, BackendResult<(u64, Vec<Bytes>)>);

/// The tasks of a listing; dropping it stops them.
struct Feed {
    replies: mpsc::Receiver<Reply>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Feed {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// What a node's task needs to scan it and name it in errors.
struct NodeScan {
    link: Arc<Link>,
    target: String,
    connect_timeout_ms: u64,
    response_timeout_ms: u64,
    tls: bool,
}

impl NodeScan {
    /// Lists the node from `cursor` to its end on a connection of its own, pipelined and
    /// within the request's budget (`scanner.rs`), each reply handed on as the listing's.
    async fn pipelined(
        self,
        index: usize,
        request: ScanRequest,
        cursor: u64,
        send: mpsc::Sender<Reply>,
    ) {
        let conn = match super::scanner::open(&self.link).await {
            Ok(conn) => conn,
            Err(e) => {
                let e = connect_error(&e, &self.target, self.connect_timeout_ms, self.tls);
                let _ = send.send((index, cursor, Err(e))).await;
                return;
            }
        };
        let (target, timeout_ms) = (self.target.clone(), self.response_timeout_ms);
        let mut at = cursor;
        super::scanner::run(
            conn,
            request,
            cursor,
            send,
            move |e| command_error(e, &target, timeout_ms, "SCAN"),
            // A failure is named by the cursor the node's listing had reached.
            move |step| match step {
                Ok(step) => {
                    at = step.next;
                    (index, step.from, Ok((step.next, step.keys)))
                }
                Err(e) => (index, at, Err(e)),
            },
        )
        .await;
    }
}

impl Cluster {
    /// The nodes a listing reads from: every primary, or (when asked to spare them) a
    /// replica of each shard that is up.
    fn scan_nodes(&self, topology: &Topology) -> Vec<NodeInfo> {
        topology
            .shards
            .iter()
            .filter_map(|shard| {
                let replica = self
                    .options
                    .scan_replicas
                    .then(|| {
                        let mut up: Vec<&NodeInfo> = shard
                            .replicas
                            .iter()
                            .filter_map(|&r| topology.nodes.get(r))
                            .filter(|n| n.health != "failed" && n.health != "loading")
                            .collect();
                        up.sort_by(|a, b| a.id.cmp(&b.id));
                        up.first().copied().cloned()
                    })
                    .flatten();
                replica.or_else(|| shard.primary.and_then(|p| topology.nodes.get(p)).cloned())
            })
            .collect()
    }

    async fn new_target(&self, node: &NodeInfo, topology: &Topology) -> ScanTarget {
        let total = self
            .read_on_node(&node.address, &redis::cmd("DBSIZE"), "DBSIZE")
            .await
            .ok()
            .as_ref()
            .and_then(to_u64)
            .unwrap_or(0);
        ScanTarget {
            node: node.address.clone(),
            id: node.id.clone(),
            slots: topology.slots_of(node).to_vec(),
            cursor: 0,
            done: false,
            matched: 0,
            total,
        }
    }

    async fn start_scan(&self, request: &ScanRequest) -> BackendResult<ClusterScan> {
        let topology = self.refresh_now().await?;
        let mut nodes = self.scan_nodes(&topology);
        if let Some(only) = &request.server {
            // A listing of one node (`--node`, the server filter): that node, whatever its
            // role.
            nodes = topology
                .nodes
                .iter()
                .filter(|n| n.address.to_string() == *only || n.id == *only)
                .cloned()
                .collect();
            if nodes.is_empty() {
                return Err(BackendError::Invalid(format!(
                    "`{only}` is not a node of this cluster (nodes: {})",
                    topology
                        .nodes
                        .iter()
                        .map(|n| n.address.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        // Each node's size, asked of all at once.
        let targets = futures_util::future::join_all(
            nodes.iter().map(|node| self.new_target(node, &topology)),
        )
        .await;
        Ok(ClusterScan {
            targets,
            feed: None,
            pending_error: None,
            one_node: request.server.is_some(),
            signature: topology.signature(),
            checked: Instant::now(),
            note: None,
        })
    }

    /// Takes a changed topology into a listing: a node that serves the same slots as before
    /// goes on from its cursor; one that is new, or serves other slots now (a failover, a
    /// resharding), is listed again from its start. Keys found before stay found.
    async fn follow_change(&self, scan: &mut ClusterScan, topology: &Topology) {
        let mut targets = Vec::new();
        let mut relisted = Vec::new();
        for node in self.scan_nodes(topology) {
            let slots = topology.slots_of(&node).to_vec();
            if let Some(kept) = scan
                .targets
                .iter()
                .find(|t| t.id == node.id && t.slots == slots)
            {
                targets.push(kept.clone());
            } else {
                relisted.push(node.address.to_string());
                targets.push(self.new_target(&node, topology).await);
            }
        }
        if !relisted.is_empty() {
            scan.note = Some(format!(
                "the cluster changed during the listing (failover or resharding): {} listed \
                 again from the start",
                relisted.join(", ")
            ));
        }
        scan.targets = targets;
        scan.signature = topology.signature();
        // The prefetched pages belong to the old targets: read again from the kept cursors.
        scan.feed = None;
    }

    /// Starts a task per node not yet done, each from the cursor the listing has taken.
    fn start_feed(&self, scan: &ClusterScan, request: &ScanRequest) -> Feed {
        let (send, replies) = mpsc::channel(AHEAD * scan.targets.len().max(1));
        let mut tasks = Vec::new();
        for (index, target) in scan.targets.iter().enumerate().filter(|(_, t)| !t.done) {
            let node = NodeScan {
                link: self.link(&target.node),
                target: self.target(&target.node),
                connect_timeout_ms: millis(self.connect_timeout),
                response_timeout_ms: millis(self.response_timeout),
                tls: self.tls.is_some(),
            };
            let (send, request, cursor) = (send.clone(), request.clone(), target.cursor);
            tasks.push(tokio::spawn(node.pipelined(index, request, cursor, send)));
        }
        Feed { replies, tasks }
    }
}

/// The listings of one cluster connection that can go on (by cursor token); the oldest is
/// forgotten first.
pub(super) struct Listings {
    scans: Mutex<BTreeMap<u64, ClusterScan>>,
    next_token: AtomicU64,
}

impl Listings {
    /// No listing yet.
    pub(super) fn new() -> Self {
        Self {
            scans: Mutex::new(BTreeMap::new()),
            next_token: AtomicU64::new(1),
        }
    }

    /// One page of a listing: what the nodes' tasks have read since the last page (at least
    /// one reply, waiting for it if need be).
    ///
    /// # Errors
    /// A node failed and the topology does not explain it; the listing can go on from the
    /// same cursor once it is back (the node is read again from where it was).
    pub async fn scan(
        &self,
        cluster: &Cluster,
        request: &ScanRequest,
        cursor: u64,
    ) -> BackendResult<ScanPage> {
        let mut scan = if cursor == 0 {
            cluster.start_scan(request).await?
        } else {
            self.scans
                .lock()
                .ok()
                .and_then(|mut s| s.remove(&cursor))
                .ok_or(BackendError::ListingStopped)?
        };
        let mut keys = Vec::new();
        let mut failed = scan.pending_error.take();
        if failed.is_none() && scan.targets.iter().any(|t| !t.done) {
            if scan.feed.is_none() {
                scan.feed = Some(cluster.start_feed(&scan, request));
            }
            failed = take_replies(&mut scan, &mut keys).await;
        }
        if failed.is_some() && !keys.is_empty() {
            // Hand over what was read first; the failure comes with the next page.
            scan.pending_error = failed.take();
        }
        let all_done = scan.targets.iter().all(|t| t.done);
        let look = failed.is_some() || all_done || scan.checked.elapsed() >= TOPOLOGY_CHECK;
        if look && !scan.one_node {
            scan.checked = Instant::now();
            if let Ok(topology) = cluster.refresh_now().await
                && topology.signature() != scan.signature
            {
                cluster.follow_change(&mut scan, &topology).await;
                failed = None;
                scan.pending_error = None;
            }
        }
        if let Some((node, e)) = failed {
            // The failed node's task has ended; the next page starts it again from the
            // cursor the listing had taken.
            scan.feed = None;
            if cursor != 0 {
                self.keep_as(cursor, scan);
            }
            return Err(with_node(e, &node));
        }
        let done = scan.targets.iter().all(|t| t.done) && scan.pending_error.is_none();
        let parts = scan.targets.iter().map(part).collect();
        let progress = overall_progress(&scan.targets);
        let note = scan.note.clone();
        let next_cursor = if done { 0 } else { self.keep(scan) };
        Ok(ScanPage {
            keys,
            next_cursor,
            progress,
            parts,
            note,
            count: None,
        })
    }

    fn keep(&self, scan: ClusterScan) -> u64 {
        let token = self.next_token.fetch_add(1, Ordering::Relaxed);
        self.keep_as(token, scan);
        token
    }

    /// Keeps a listing under `token`, so a later page can go on from it.
    fn keep_as(&self, token: u64, scan: ClusterScan) {
        if let Ok(mut scans) = self.scans.lock() {
            scans.insert(token, scan);
            while scans.len() > KEPT_LISTINGS {
                scans.pop_first();
            }
        }
    }
}

/// Takes the replies the tasks have read (waiting for the first), up to a page's worth;
/// the node that failed, if one did.
async fn take_replies(
    scan: &mut ClusterScan,
    keys: &mut Vec<Bytes>,
) -> Option<(NodeAddress, BackendError)> {
    let feed = scan.feed.as_mut()?;
    let mut taken = 0;
    loop {
        let reply = if taken == 0 {
            feed.replies.recv().await
        } else {
            feed.replies.try_recv().ok()
        };
        let (index, from, reply) = reply?;
        taken += 1;
        let target = scan.targets.get_mut(index)?;
        if target.cursor != from || target.done {
            continue; // read for an older start of this node
        }
        match reply {
            Ok((next, found)) => {
                target.cursor = next;
                target.done = next == 0;
                target.matched += found.len() as u64;
                keys.extend(found);
            }
            Err(e) => return Some((target.node.clone(), e)),
        }
        if taken >= REPLIES_PER_PAGE || scan.targets.iter().all(|t| t.done) {
            return None;
        }
    }
}

fn with_node(e: BackendError, node: &NodeAddress) -> BackendError {
    match e {
        BackendError::Connect { target, reason } => BackendError::Connect {
            target,
            reason: format!(
                "{reason} (node {node} of the cluster; the keys listed so far are kept, and \
                 the topology shows no failover for it)"
            ),
        },
        other => other,
    }
}

fn part(target: &ScanTarget) -> ScanPart {
    let share = if target.done {
        1.0
    } else {
        scan_progress(target.cursor)
    };
    ScanPart {
        name: target.node.to_string(),
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        visited: ((target.total as f64) * share).round() as u64,
        total: target.total,
        matched: target.matched,
        done: target.done,
    }
}

fn overall_progress(targets: &[ScanTarget]) -> f64 {
    let total: u64 = targets.iter().map(|t| t.total).sum();
    let share = |t: &ScanTarget| {
        if t.done { 1.0 } else { scan_progress(t.cursor) }
    };
    if total == 0 {
        if targets.is_empty() {
            return 1.0;
        }
        return targets.iter().map(share).sum::<f64>() / targets.len() as f64;
    }
    targets
        .iter()
        .map(|t| share(t) * t.total as f64)
        .sum::<f64>()
        / total as f64
}
