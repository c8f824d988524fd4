//! Commands as typed (`cache-console exec`, the console): what the server says a command is
//! (`COMMAND INFO`), and the command sent with its reply kept as the protocol gave it.
//!
//! A few commands are refused here because they would change or take over the one shared
//! connection every other request of the console rides on (`SELECT`, `MULTI`, `SUBSCRIBE`,
//! `MONITOR`, …): they say what to use instead.

use bytes::Bytes;
use redis::Value;

use super::{Nodes, RedisBackend};
use crate::backend::{BackendError, BackendResult};
use crate::config::connection::NodeAddress;
use crate::core::model::{CommandDoc, CommandFacts, ExecOn, NodeReply, RawReply};

/// Commands asked about at most, kept (what a person types is a few dozen commands; the
/// subcommand looked up may be any first argument, so it is bounded).
const MAX_FACTS: usize = 1_000;

/// `COMMAND INFO`'s answers by the `name` or `name|sub` asked (`known: false` for none).
#[derive(Default)]
pub(super) struct FactsCache(std::sync::Mutex<std::collections::HashMap<String, CommandFacts>>);

impl FactsCache {
    fn get(&self, asked: &str) -> Option<CommandFacts> {
        self.0.lock().ok()?.get(asked).cloned()
    }

    fn keep(&self, asked: String, facts: CommandFacts) {
        if let Ok(mut map) = self.0.lock() {
            if map.len() >= MAX_FACTS {
                map.clear();
            }
            map.insert(asked, facts);
        }
    }
}

/// Commands that change the connection itself (shared by every request) or stream without
/// end; what to do instead.
fn refusal(name: &str) -> Option<&'static str> {
    Some(match name {
        "SELECT" | "SWAPDB" => "choose the database in the profile or its URL (/db)",
        "MULTI" | "EXEC" | "DISCARD" | "WATCH" | "UNWATCH" => {
            "transactions need a connection of their own; send the commands one by one"
        }
        "SUBSCRIBE" | "PSUBSCRIBE" | "SSUBSCRIBE" | "MONITOR" => {
            "it streams without end; open the Pub/Sub or MONITOR viewer for it"
        }
        "SYNC" | "PSYNC" => "it makes this client a replica",
        "QUIT" | "RESET" | "HELLO" | "AUTH" | "CLIENT" => {
            "it changes the connection every request shares; change the profile instead"
        }
        _ => return None,
    })
}

/// A reply value as the console shows it.
fn raw(value: Value) -> RawReply {
    match value {
        Value::Nil => RawReply::Nil,
        Value::Int(i) => RawReply::Int(i),
        Value::BulkString(bytes) => RawReply::Bulk(Bytes::from(bytes)),
        Value::Array(items) | Value::Push { data: items, .. } => {
            RawReply::Array(items.into_iter().map(raw).collect())
        }
        Value::SimpleString(text) => RawReply::Status(text),
        Value::Okay => RawReply::Status("OK".to_owned()),
        Value::Map(pairs) => {
            RawReply::Map(pairs.into_iter().map(|(k, v)| (raw(k), raw(v))).collect())
        }
        Value::Attribute { data, .. } => raw(*data),
        Value::Set(items) => RawReply::Set(items.into_iter().map(raw).collect()),
        Value::Double(d) => RawReply::Double(d),
        Value::Boolean(b) => RawReply::Bool(b),
        Value::VerbatimString { text, .. } => RawReply::Text(text),
        Value::ServerError(e) => RawReply::Error(match e.details() {
            Some(detail) => format!("{} {detail}", e.code()),
            None => e.code().to_owned(),
        }),
        other => RawReply::Text(format!("{other:?}")),
    }
}

/// A reply, an error reply kept as one; `Err` only for what did not get an answer.
fn reply_of(result: redis::RedisResult<Value>) -> redis::RedisResult<RawReply> {
    match result {
        Ok(value) => Ok(raw(value)),
        Err(e) if e.code().is_some() && !e.is_io_error() && !e.is_timeout() => {
            Ok(RawReply::Error(match e.detail() {
                Some(detail) => format!("{} {detail}", e.code().unwrap_or("ERR")),
                None => e.code().unwrap_or("ERR").to_owned(),
            }))
        }
        Err(e) => Err(e),
    }
}

/// The standalone paths never see a cluster; said as an error rather than a panic.
fn unreachable_cluster<T>() -> BackendResult<T> {
    Err(BackendError::Internal(
        "a cluster has no single connection".into(),
    ))
}

/// The text of a flag or category in `COMMAND INFO`'s answer.
fn words(value: Option<&Value>) -> Vec<String> {
    let items = match value {
        Some(Value::Array(items) | Value::Set(items)) => items.as_slice(),
        _ => return Vec::new(),
    };
    items
        .iter()
        .filter_map(|v| match v {
            Value::SimpleString(s) => Some(s.to_ascii_lowercase()),
            Value::BulkString(b) => Some(String::from_utf8_lossy(b).to_ascii_lowercase()),
            Value::Okay => Some("ok".to_owned()),
            _ => None,
        })
        .collect()
}

/// The facts of one `COMMAND INFO` entry; `None` for an unknown command (`nil`).
fn facts_of(entry: &Value) -> Option<CommandFacts> {
    let Value::Array(fields) = entry else {
        return None;
    };
    let flags = words(fields.get(2));
    let categories = words(fields.get(6));
    let has = |list: &[String], w: &str| list.iter().any(|x| x == w);
    let first_key = match fields.get(3) {
        Some(Value::Int(i)) => *i,
        _ => 0,
    };
    Some(CommandFacts {
        known: true,
        write: has(&flags, "write") || has(&categories, "@write"),
        dangerous: has(&categories, "@dangerous")
            || (categories.is_empty() && has(&flags, "admin")),
        blocking: has(&flags, "blocking") || has(&categories, "@blocking"),
        admin: has(&flags, "admin") || has(&categories, "@admin"),
        first_key,
    })
}

impl RedisBackend {
    /// `COMMAND INFO` of the subcommand (`config|set`) where the server knows one, else of the
    /// command.
    pub(super) async fn command_facts_of(&self, args: &[Bytes]) -> BackendResult<CommandFacts> {
        let Some(name) = args.first() else {
            return Ok(CommandFacts::default());
        };
        let name = String::from_utf8_lossy(name).to_ascii_lowercase();
        let mut asked = Vec::new();
        if let Some(sub) = args.get(1) {
            asked.push(format!(
                "{name}|{}",
                String::from_utf8_lossy(sub).to_ascii_lowercase()
            ));
        }
        asked.push(name);
        for candidate in asked {
            let facts = if let Some(cached) = self.command_facts.get(&candidate) {
                cached
            } else {
                let info: Value = self
                    .query_any(
                        redis::cmd("COMMAND").arg("INFO").arg(&candidate),
                        "COMMAND INFO",
                    )
                    .await?;
                let facts = match info {
                    Value::Array(entries) => entries.first().and_then(facts_of),
                    _ => None,
                }
                .unwrap_or_default();
                self.command_facts.keep(candidate, facts.clone());
                facts
            };
            if facts.known {
                return Ok(facts);
            }
        }
        Ok(CommandFacts::default())
    }

    /// Sends `args` as one command; an error reply comes back as [`RawReply::Error`]. A
    /// command that may block runs on a connection of its own (see
    /// [`crate::backend::CacheBackend::execute`]); on a cluster it goes where `on` says.
    pub(super) async fn execute_args(
        &self,
        args: &[Bytes],
        on: &ExecOn,
    ) -> BackendResult<Vec<NodeReply>> {
        let Some(first) = args.first() else {
            return Err(BackendError::Invalid("give a command".to_owned()));
        };
        let name = String::from_utf8_lossy(first).to_ascii_uppercase();
        if let Some(why) = refusal(&name) {
            return Err(BackendError::Unsupported(format!(
                "`{name}` is not run here: {why}"
            )));
        }
        let mut cmd = redis::cmd(&name);
        for arg in &args[1..] {
            cmd.arg(arg.as_ref());
        }
        let facts = self.command_facts_of(args).await?;
        if let Nodes::Cluster(cluster, _) = &self.nodes {
            return self
                .on_cluster(cluster, args, &cmd, &name, &facts, on)
                .await;
        }
        let reply = if facts.blocking {
            let opened = match &self.nodes {
                Nodes::Single(link) => link.dedicated().await,
                Nodes::Sentinel(group) => group.node().await?.1.dedicated().await,
                Nodes::Cluster(..) => return unreachable_cluster(),
            };
            let mut conn = opened.map_err(|e| {
                super::connect_error(&e, &self.target, self.connect_timeout_ms, self.tls)
            })?;
            reply_of(cmd.query_async::<Value>(&mut conn).await)
        } else {
            let mut conn = self.conn().await?;
            reply_of(cmd.query_async::<Value>(&mut conn).await)
        };
        let reply = reply.map_err(|e| self.map(&e, &name))?;
        Ok(vec![NodeReply { node: None, reply }])
    }

    /// A typed command on a cluster: to its key's owner, to every primary, or to one node.
    async fn on_cluster(
        &self,
        cluster: &super::cluster::Cluster,
        args: &[Bytes],
        cmd: &redis::Cmd,
        name: &str,
        facts: &CommandFacts,
        on: &ExecOn,
    ) -> BackendResult<Vec<NodeReply>> {
        let nodes: Vec<NodeAddress> = match on {
            ExecOn::ByKey => {
                let key = match usize::try_from(facts.first_key) {
                    Ok(at) if at > 0 => args.get(at).cloned(),
                    _ => self.key_by_server(args).await,
                };
                let Some(key) = key else {
                    return Err(BackendError::NeedsNode(name.to_owned()));
                };
                if !facts.blocking {
                    let reply = match cluster.routed_key(cmd, &key, name).await {
                        Ok(value) => raw(value),
                        Err(BackendError::Server { reason, .. }) => RawReply::Error(reason),
                        Err(e) => return Err(e),
                    };
                    return Ok(vec![NodeReply { node: None, reply }]);
                }
                let slot = super::cluster::slot(&key);
                let owner = cluster
                    .topology()
                    .owner_of(slot)
                    .map(|n| n.address.clone())
                    .ok_or_else(|| BackendError::Server {
                        command: name.to_owned(),
                        reason: format!("no node serves slot {slot}"),
                    })?;
                vec![owner]
            }
            ExecOn::AllPrimaries => cluster
                .topology()
                .primaries()
                .map(|n| n.address.clone())
                .collect(),
            ExecOn::Node(label) => {
                let topology = cluster.topology();
                let node = topology
                    .nodes
                    .iter()
                    .find(|n| n.address.to_string() == *label)
                    .ok_or_else(|| {
                        BackendError::Invalid(format!("the cluster has no node `{label}` now"))
                    })?;
                vec![node.address.clone()]
            }
        };
        let runs = nodes.iter().map(|node| async move {
            let result = if facts.blocking {
                match cluster.link(node).dedicated().await {
                    Ok(mut conn) => reply_of(cmd.query_async::<Value>(&mut conn).await)
                        .map_err(|e| cluster.map(node, &e, name)),
                    Err(e) => Err(cluster.map(node, &e, name)),
                }
            } else {
                match cluster.on_node(node, cmd, name).await {
                    Ok(value) => Ok(raw(value)),
                    Err(BackendError::Server { reason, .. }) => Ok(RawReply::Error(reason)),
                    Err(e) => Err(e),
                }
            };
            // One node that cannot be reached is its answer, not the end of the others'.
            let reply = result.unwrap_or_else(|e| RawReply::Error(e.to_string()));
            NodeReply {
                node: Some(node.to_string()),
                reply,
            }
        });
        Ok(futures_util::future::join_all(runs).await)
    }

    /// The first key of a command whose keys are not at a fixed place (`EVAL`, `XREAD`), as
    /// the server finds it (`COMMAND GETKEYS`); `None` for a command without keys.
    async fn key_by_server(&self, args: &[Bytes]) -> Option<Bytes> {
        let mut cmd = redis::cmd("COMMAND");
        cmd.arg("GETKEYS");
        for arg in args {
            cmd.arg(arg.as_ref());
        }
        match self.query_any(&cmd, "COMMAND GETKEYS").await {
            Ok(Value::Array(keys)) => keys.into_iter().find_map(|k| match k {
                Value::BulkString(b) => Some(Bytes::from(b)),
                _ => None,
            }),
            _ => None,
        }
    }

    /// The commands the server documents (`COMMAND DOCS`), or the bundled table when it has
    /// no such command (before Redis 7) or answers with nothing.
    pub(super) async fn docs(&self) -> BackendResult<Vec<CommandDoc>> {
        let asked = self
            .query_any(redis::cmd("COMMAND").arg("DOCS"), "COMMAND DOCS")
            .await;
        let docs = match asked {
            Ok(reply) => super::docs::parse(&reply),
            Err(BackendError::Server { .. }) => Vec::new(),
            Err(e) => return Err(e),
        };
        Ok(if docs.is_empty() {
            super::docs::bundled()
        } else {
            docs
        })
    }

    /// A command for any node (a cluster: the first primary's answer).
    async fn query_any(&self, cmd: &redis::Cmd, name: &str) -> BackendResult<Value> {
        match &self.nodes {
            Nodes::Cluster(cluster, _) => {
                let first = cluster.first_primary()?;
                cluster.on_node(&first, cmd, name).await
            }
            _ => self.query(cmd, name).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_info_entries_read_as_facts() {
        let entry = Value::Array(vec![
            Value::BulkString(b"set".to_vec()),
            Value::Int(-3),
            Value::Array(vec![
                Value::SimpleString("write".into()),
                Value::SimpleString("denyoom".into()),
            ]),
            Value::Int(1),
            Value::Int(1),
            Value::Int(1),
            Value::Array(vec![
                Value::SimpleString("@write".into()),
                Value::SimpleString("@string".into()),
            ]),
        ]);
        let facts = facts_of(&entry).expect("known");
        assert!(facts.write && !facts.dangerous && !facts.blocking);
        assert_eq!(facts.first_key, 1);
        assert!(facts_of(&Value::Nil).is_none());
        // A server before ACLs: `admin` marks the dangerous ones.
        let old = Value::Array(vec![
            Value::BulkString(b"flushall".to_vec()),
            Value::Int(-1),
            Value::Array(vec![
                Value::SimpleString("write".into()),
                Value::SimpleString("admin".into()),
            ]),
            Value::Int(0),
        ]);
        assert!(facts_of(&old).is_some_and(|f| f.dangerous && f.write));
        assert!(refusal("MONITOR").is_some() && refusal("GET").is_none());
    }
}
