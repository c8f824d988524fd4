//! A Sentinel group for one test: a primary, two replicas and three sentinels, each a real
//! redis-server on a free loopback port, waited for until every sentinel sees the primary,
//! both replicas and the other two sentinels.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{RedisServer, free_port};

/// One sentinel process.
pub struct SentinelServer {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for SentinelServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl SentinelServer {
    pub fn conn(&self) -> redis::Connection {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))
            .expect("client")
            .get_connection()
            .expect("connect to the sentinel")
    }
}

/// A primary named `mymaster`, its replicas and the sentinels watching it.
pub struct SentinelGroup {
    /// The first primary (after a failover, a replica).
    pub primary: RedisServer,
    pub replicas: Vec<RedisServer>,
    pub sentinels: Vec<SentinelServer>,
}

pub const MASTER: &str = "mymaster";

fn sentinel_value(conn: &mut redis::Connection, field: &str) -> String {
    let reply: Vec<String> = redis::cmd("SENTINEL")
        .arg("MASTER")
        .arg(MASTER)
        .query(conn)
        .unwrap_or_default();
    reply
        .chunks(2)
        .find(|p| p.len() == 2 && p[0] == field)
        .map(|p| p[1].clone())
        .unwrap_or_default()
}

impl SentinelGroup {
    pub fn start() -> Self {
        let primary = RedisServer::start();
        let port = primary.port.to_string();
        let replicas = (0..2)
            .map(|_| RedisServer::start_args(&["--replicaof", "127.0.0.1", &port]))
            .collect();
        let sentinels = (0..3).map(|_| start_sentinel(primary.port)).collect();
        let group = Self {
            primary,
            replicas,
            sentinels,
        };
        group.wait_settled();
        group
    }

    /// Waits until every sentinel knows both replicas and both other sentinels.
    pub fn wait_settled(&self) {
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            let ready = self.sentinels.iter().all(|s| {
                let mut c = s.conn();
                sentinel_value(&mut c, "num-slaves") == "2"
                    && sentinel_value(&mut c, "num-other-sentinels") == "2"
            });
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the sentinels did not find the replicas and each other"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// `redis+sentinel://` naming every sentinel.
    pub fn url(&self) -> String {
        let list: Vec<String> = self
            .sentinels
            .iter()
            .map(|s| format!("127.0.0.1:{}", s.port))
            .collect();
        format!("redis+sentinel://{}/{MASTER}/0", list.join(","))
    }

    /// The data node that is primary now, by asking each its `ROLE`.
    pub fn current_primary(&self) -> &RedisServer {
        std::iter::once(&self.primary)
            .chain(&self.replicas)
            .find(|n| super::cluster::is_primary(&mut n.conn()))
            .expect("a primary")
    }

    /// Makes the sentinels fail the primary over, and waits until another node is primary
    /// and the sentinels name it.
    pub fn failover(&self) -> u16 {
        let before = self.current_primary().port;
        let _: () = redis::cmd("SENTINEL")
            .arg("FAILOVER")
            .arg(MASTER)
            .query(&mut self.sentinels[0].conn())
            .expect("SENTINEL FAILOVER");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let named: Vec<String> = redis::cmd("SENTINEL")
                .arg("GET-MASTER-ADDR-BY-NAME")
                .arg(MASTER)
                .query(&mut self.sentinels[0].conn())
                .unwrap_or_default();
            let now = named.get(1).and_then(|p| p.parse::<u16>().ok());
            if let Some(now) = now
                && now != before
                && self.current_primary().port == now
            {
                return now;
            }
            assert!(Instant::now() < deadline, "no failover");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn start_sentinel(primary_port: u16) -> SentinelServer {
    for _attempt in 0..5 {
        let dir = tempfile::tempdir().expect("dir");
        let port = free_port();
        let conf: PathBuf = dir.path().join("sentinel.conf");
        std::fs::write(
            &conf,
            format!(
                "port {port}\nbind 127.0.0.1\ndir {}\n\
                 sentinel monitor {MASTER} 127.0.0.1 {primary_port} 2\n\
                 sentinel down-after-milliseconds {MASTER} 1000\n\
                 sentinel failover-timeout {MASTER} 4000\n\
                 sentinel parallel-syncs {MASTER} 1\n",
                dir.path().display()
            ),
        )
        .expect("write sentinel.conf");
        let child = Command::new("redis-server")
            .arg(&conf)
            .arg("--sentinel")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server --sentinel (install redis-server, or run scripts/test.sh)");
        let mut server = SentinelServer {
            child,
            port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = server.child.try_wait() {
                break;
            }
            let up = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
                .ok()
                .and_then(|c| c.get_connection().ok())
                .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c).ok());
            if up.is_some() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = server.child.kill();
    }
    panic!("a sentinel did not start on a free port after 5 attempts");
}
