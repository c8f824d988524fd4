//! A real Redis Cluster for one test: redis-server processes on free loopback ports (cluster
//! bus ports too), joined with CLUSTER MEET, slots assigned, replicas attached, and waited for
//! until every node says `cluster_state:ok`.

use std::time::{Duration, Instant};

use super::{RedisServer, free_port};

/// A cluster owned by one test; its nodes stop when it is dropped.
pub struct RedisCluster {
    /// Primaries first (in slot order), then replicas (replica `i` follows primary `i %
    /// primaries`).
    pub nodes: Vec<RedisServer>,
    /// How many of `nodes` are primaries.
    pub primaries: usize,
    /// Each node's cluster bus port.
    pub bus_ports: Vec<u16>,
}

/// `CLUSTER MYID` of a node.
pub fn node_id(conn: &mut redis::Connection) -> String {
    redis::cmd("CLUSTER")
        .arg("MYID")
        .query(conn)
        .expect("CLUSTER MYID")
}

fn info_field(conn: &mut redis::Connection, section: &str, field: &str) -> String {
    let mut cmd = redis::cmd(section);
    if section == "CLUSTER" {
        cmd.arg("INFO");
    }
    let info: String = cmd.query(conn).unwrap_or_default();
    info.lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{field}:")))
        .unwrap_or_default()
        .to_owned()
}

impl RedisCluster {
    /// 3 primaries and a replica each: the shape the tests ask for.
    pub fn start() -> Self {
        Self::start_with(3, 1, &[])
    }

    /// `primaries` primaries with `replicas` replicas each, every node started with `extra`.
    pub fn start_with(primaries: usize, replicas: usize, extra: &[&str]) -> Self {
        Self::start_on(primaries, replicas, extra, None)
    }

    /// 3 primaries and a replica each, every node also listening for TLS clients with the
    /// certificate of `pki`. The bus and replication speak TLS too: only then does Redis
    /// announce its TLS ports (`tls-port` in `CLUSTER SHARDS`) to clients.
    pub fn start_tls(pki: &super::tls::Pki) -> Self {
        Self::start_on(
            3,
            1,
            &["--tls-cluster", "yes", "--tls-replication", "yes"],
            Some(pki),
        )
    }

    fn start_on(
        primaries: usize,
        replicas: usize,
        extra: &[&str],
        tls: Option<&super::tls::Pki>,
    ) -> Self {
        let total = primaries * (1 + replicas);
        let mut nodes = Vec::with_capacity(total);
        let mut bus_ports = Vec::with_capacity(total);
        for _ in 0..total {
            let bus = free_port();
            let bus_text = bus.to_string();
            let mut args = vec![
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-node-timeout",
                "2000",
                "--cluster-port",
                &bus_text,
            ];
            args.extend_from_slice(extra);
            nodes.push(match tls {
                Some(pki) => RedisServer::start_tls_args(
                    &pki.path("server.pem"),
                    &pki.path("server.key"),
                    &pki.path("ca.pem"),
                    &args,
                ),
                None => RedisServer::start_args(&args),
            });
            bus_ports.push(bus);
        }
        let cluster = Self {
            nodes,
            primaries,
            bus_ports,
        };
        cluster.form(replicas);
        cluster
    }

    fn form(&self, replicas: usize) {
        let first = &self.nodes[0];
        for (i, node) in self.nodes.iter().enumerate().skip(1) {
            let _: () = redis::cmd("CLUSTER")
                .arg("MEET")
                .arg("127.0.0.1")
                .arg(first.port)
                .arg(self.bus_ports[0])
                .query(&mut node.conn())
                .unwrap_or_else(|e| panic!("CLUSTER MEET from node {i}: {e}"));
        }
        let per = 16384 / self.primaries;
        for p in 0..self.primaries {
            let start = p * per;
            let end = if p + 1 == self.primaries {
                16383
            } else {
                (p + 1) * per - 1
            };
            let _: () = redis::cmd("CLUSTER")
                .arg("ADDSLOTSRANGE")
                .arg(start)
                .arg(end)
                .query(&mut self.nodes[p].conn())
                .expect("ADDSLOTSRANGE");
        }
        self.wait(
            Duration::from_secs(30),
            "every node to know every other",
            |c| {
                let nodes: String = redis::cmd("CLUSTER")
                    .arg("NODES")
                    .query(c)
                    .unwrap_or_default();
                nodes.lines().count() == self.nodes.len()
            },
        );
        if replicas > 0 {
            for (i, node) in self.nodes.iter().enumerate().skip(self.primaries) {
                let primary = node_id(&mut self.nodes[i % self.primaries].conn());
                let _: () = redis::cmd("CLUSTER")
                    .arg("REPLICATE")
                    .arg(&primary)
                    .query(&mut node.conn())
                    .unwrap_or_else(|e| panic!("CLUSTER REPLICATE on node {i}: {e}"));
            }
        }
        self.wait_ok();
    }

    /// Waits until every node says the cluster is ok and every replica is in sync.
    pub fn wait_ok(&self) {
        self.wait(
            Duration::from_secs(40),
            "cluster_state:ok everywhere",
            |c| {
                let state = info_field(c, "CLUSTER", "cluster_state");
                let mut info = redis::cmd("INFO");
                info.arg("replication");
                let replication: String = info.query(c).unwrap_or_default();
                let role_ok = !replication.contains("role:slave")
                    || replication.contains("master_link_status:up");
                state == "ok" && role_ok
            },
        );
    }

    fn wait(&self, limit: Duration, what: &str, ok: impl Fn(&mut redis::Connection) -> bool) {
        let deadline = Instant::now() + limit;
        loop {
            let all = self
                .nodes
                .iter()
                .all(|n| match n.client().get_connection() {
                    Ok(mut c) => ok(&mut c),
                    Err(_) => false,
                });
            if all {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the test cluster did not get to {what} within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Makes every node announce a host name (`name(i)` for node `i`) as its preferred
    /// endpoint, and waits until the cluster's gossip carries them all.
    pub fn announce_hostnames(&self, name: impl Fn(usize) -> String) {
        for (i, node) in self.nodes.iter().enumerate() {
            let mut c = node.conn();
            for (setting, value) in [
                ("cluster-announce-hostname", name(i)),
                ("cluster-preferred-endpoint-type", "hostname".to_owned()),
            ] {
                let _: () = redis::cmd("CONFIG")
                    .arg("SET")
                    .arg(setting)
                    .arg(value)
                    .query(&mut c)
                    .expect("config set");
            }
        }
        let names: Vec<String> = (0..self.nodes.len()).map(&name).collect();
        self.wait(
            Duration::from_secs(20),
            "the names in every node's gossip",
            |c| {
                let slots: redis::Value = redis::cmd("CLUSTER")
                    .arg("SLOTS")
                    .query(c)
                    .unwrap_or(redis::Value::Nil);
                let text = format!("{slots:?}");
                names.iter().all(|n| text.contains(n.as_str()))
            },
        );
    }

    /// `redis+cluster://` with the first two nodes as seeds.
    pub fn url(&self) -> String {
        format!(
            "redis+cluster://127.0.0.1:{},127.0.0.1:{}/0",
            self.nodes[0].port, self.nodes[1].port
        )
    }

    /// `rediss+cluster://` on the TLS ports of the first two nodes, trusting `ca`.
    pub fn tls_url(&self, ca: &std::path::Path) -> String {
        format!(
            "rediss+cluster://127.0.0.1:{},127.0.0.1:{}/0?ca_file={}",
            self.nodes[0].tls_port.expect("a TLS port"),
            self.nodes[1].tls_port.expect("a TLS port"),
            ca.display()
        )
    }

    /// A redis-rs cluster client: the test's "other client" to seed and check data.
    pub fn client(&self) -> redis::cluster::ClusterConnection {
        let urls: Vec<String> = self
            .nodes
            .iter()
            .map(|n| format!("redis://127.0.0.1:{}/", n.port))
            .collect();
        redis::cluster::ClusterClient::new(urls)
            .expect("cluster client")
            .get_connection()
            .expect("connect to the test cluster")
    }

    /// Every key each primary holds, by `KEYS *` on the node itself (the truth a listing is
    /// checked against), sorted.
    pub fn keys_on_primaries(&self) -> Vec<Vec<u8>> {
        let mut all = Vec::new();
        for node in self.nodes.iter().filter(|n| is_primary(&mut n.conn())) {
            let keys: Vec<Vec<u8>> = redis::cmd("KEYS")
                .arg("*")
                .query(&mut node.conn())
                .expect("KEYS");
            all.extend(keys);
        }
        all.sort();
        all
    }

    /// The node that serves `key`'s slot now (asked of the cluster).
    pub fn primary_of(&self, key: &[u8]) -> &RedisServer {
        let slot: u16 = redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(key)
            .query(&mut self.nodes[0].conn())
            .expect("KEYSLOT");
        self.nodes
            .iter()
            .find(|n| {
                let mut c = n.conn();
                is_primary(&mut c) && serves(&mut c, slot)
            })
            .expect("a primary serves every slot")
    }
}

/// Whether the node is a primary now.
pub fn is_primary(conn: &mut redis::Connection) -> bool {
    let role: Vec<redis::Value> = redis::cmd("ROLE").query(conn).unwrap_or_default();
    matches!(role.first(), Some(redis::Value::BulkString(b)) if b == b"master")
}

/// Whether the node (a primary) serves `slot`: the slot ranges on its own `CLUSTER NODES`
/// line (the one marked `myself`).
fn serves(conn: &mut redis::Connection, slot: u16) -> bool {
    let nodes: String = redis::cmd("CLUSTER")
        .arg("NODES")
        .query(conn)
        .unwrap_or_default();
    let Some(mine) = nodes.lines().find(|l| l.contains("myself")) else {
        return false;
    };
    mine.split_whitespace().skip(8).any(|range| {
        let (a, b) = range.split_once('-').unwrap_or((range, range));
        match (a.parse::<u16>(), b.parse::<u16>()) {
            (Ok(a), Ok(b)) => (a..=b).contains(&slot),
            _ => false,
        }
    })
}
