//! Pub/Sub and `MONITOR`, each on connections of their own ([`Link::listen`]): a cluster's
//! classic channels and patterns on one node (the cluster relays every `PUBLISH` to all of
//! its nodes), its sharded channels on the node serving each one's slot, `MONITOR` on each
//! node asked. What arrives goes into a [`Feed`] without waiting.

use std::sync::Arc;

use bytes::Bytes;
use redis::Value;

use super::link::Link;
use super::{Nodes, RedisBackend};
use crate::backend::feed::Feed;
use crate::backend::{BackendError, BackendResult};
use crate::core::model::{MonitorLine, PubSubMessage, StreamItem, Subscription};

/// Characters of a payload's preview.
const PREVIEW_CHARS: usize = 300;

/// A link borrowed from the backend (a standalone server's) or shared (a node's).
enum Held<'a> {
    Borrowed(&'a Link),
    Shared(Arc<Link>),
}

impl std::ops::Deref for Held<'_> {
    type Target = Link;

    fn deref(&self) -> &Link {
        match self {
            Self::Borrowed(link) => link,
            Self::Shared(link) => link,
        }
    }
}

/// A payload as a row shows it: decoded where a format is recognised, else escaped; cut.
#[must_use]
pub fn preview(payload: &[u8]) -> String {
    use crate::core::decode::{detect, steps_text, to_json};
    let text = match detect(payload, None) {
        Some(Ok(decoded)) => format!(
            "({}) {}",
            steps_text(&decoded.steps),
            to_json(&decoded.node)
        ),
        _ => crate::core::escape::escape_bytes(payload),
    };
    if text.chars().count() > PREVIEW_CHARS {
        let cut: String = text.chars().take(PREVIEW_CHARS).collect();
        format!("{cut}…")
    } else {
        text
    }
}

fn bytes_of(value: &Value) -> Option<Bytes> {
    match value {
        Value::BulkString(b) => Some(Bytes::copy_from_slice(b)),
        Value::SimpleString(s) => Some(Bytes::copy_from_slice(s.as_bytes())),
        _ => None,
    }
}

/// A subscriber's reply as a message (`None` for confirmations and anything else).
#[must_use]
pub fn message_of(value: &Value, at_ms: i64) -> Option<PubSubMessage> {
    let Value::Array(parts) = value else {
        return None;
    };
    let kind = bytes_of(parts.first()?)?;
    let (pattern, channel, payload, sharded) = match kind.as_ref() {
        b"message" => (None, parts.get(1)?, parts.get(2)?, false),
        b"smessage" => (None, parts.get(1)?, parts.get(2)?, true),
        b"pmessage" => (
            Some(bytes_of(parts.get(1)?)?),
            parts.get(2)?,
            parts.get(3)?,
            false,
        ),
        _ => return None,
    };
    let payload = bytes_of(payload)?;
    Some(PubSubMessage {
        at_ms,
        channel: bytes_of(channel)?,
        pattern,
        sharded,
        preview: preview(&payload),
        payload,
    })
}

/// One `MONITOR` line: `1700000000.123456 [0 127.0.0.1:5555] "SET" "k" "v"`.
#[must_use]
pub fn monitor_line(text: &str, node: Option<&str>) -> Option<MonitorLine> {
    let (at, rest) = text.split_once(' ')?;
    let rest = rest.strip_prefix('[')?;
    let (who, command) = rest.split_once("] ")?;
    let (db, client) = who.split_once(' ')?;
    Some(MonitorLine {
        at: at.to_owned(),
        node: node.map(str::to_owned),
        db: db.to_owned(),
        client: client.to_owned(),
        args: crate::core::cmdline::split_args(command).ok()?,
    })
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl RedisBackend {
    /// The server's link (a sentinel group's current primary; a cluster's first primary).
    async fn one_link(&self) -> BackendResult<Held<'_>> {
        Ok(match &self.nodes {
            Nodes::Single(link) => Held::Borrowed(link),
            Nodes::Sentinel(group) => Held::Shared(group.node().await?.1),
            Nodes::Cluster(cluster, _) => {
                let first = cluster.first_primary()?;
                Held::Shared(cluster.link(&first))
            }
        })
    }

    fn listen_error(&self, e: &redis::RedisError, what: &str) -> BackendError {
        super::command_error(e, &self.target, self.command_timeout_ms, what)
    }

    /// Listens to `subscription` until a connection fails (or the future is dropped).
    pub(super) async fn subscribe_to(
        &self,
        subscription: &Subscription,
        feed: Arc<Feed>,
    ) -> BackendResult<()> {
        let mut groups: Vec<(Held<'_>, Vec<redis::Cmd>)> = Vec::new();
        let mut classic = Vec::new();
        for (name, list) in [
            ("SUBSCRIBE", &subscription.channels),
            ("PSUBSCRIBE", &subscription.patterns),
        ] {
            if !list.is_empty() {
                let mut cmd = redis::cmd(name);
                for item in list {
                    cmd.arg(item.as_ref());
                }
                classic.push(cmd);
            }
        }
        if let Nodes::Cluster(cluster, _) = &self.nodes {
            // Each sharded channel on the node serving its slot.
            let topology = cluster.topology();
            let mut by_node = std::collections::BTreeMap::<_, Vec<&Bytes>>::new();
            for channel in &subscription.sharded {
                let owner = topology
                    .owner_of(super::cluster::slot(channel))
                    .map(|n| n.address.clone())
                    .ok_or_else(|| BackendError::Server {
                        command: "SSUBSCRIBE".into(),
                        reason: "no node serves that channel's slot".into(),
                    })?;
                by_node.entry(owner).or_default().push(channel);
            }
            for (node, channels) in by_node {
                let mut cmd = redis::cmd("SSUBSCRIBE");
                for channel in channels {
                    cmd.arg(channel.as_ref());
                }
                groups.push((Held::Shared(cluster.link(&node)), vec![cmd]));
            }
        } else if !subscription.sharded.is_empty() {
            let mut cmd = redis::cmd("SSUBSCRIBE");
            for channel in &subscription.sharded {
                cmd.arg(channel.as_ref());
            }
            classic.push(cmd);
        }
        if !classic.is_empty() {
            groups.push((self.one_link().await?, classic));
        }
        let runs = groups.iter().map(|(link, commands)| {
            let feed = feed.clone();
            async move {
                link.listen(commands, |value| {
                    if let Some(message) = message_of(&value, now_ms()) {
                        feed.push(StreamItem::Message(message));
                    }
                })
                .await
                .map_err(|e| self.listen_error(&e, "SUBSCRIBE"))
            }
        });
        futures_util::future::try_join_all(runs).await?;
        Ok(())
    }

    /// Runs `MONITOR` on `nodes` (empty: the server, or every primary of a cluster) until a
    /// connection fails (or the future is dropped).
    pub(super) async fn monitor_on(&self, nodes: &[String], feed: Arc<Feed>) -> BackendResult<()> {
        let links: Vec<(Option<String>, Held<'_>)> = match &self.nodes {
            Nodes::Cluster(cluster, _) => {
                let topology = cluster.topology();
                let chosen: Vec<_> = topology
                    .nodes
                    .iter()
                    .filter(|n| {
                        if nodes.is_empty() {
                            n.primary
                        } else {
                            nodes.contains(&n.address.to_string())
                        }
                    })
                    .map(|n| n.address.clone())
                    .collect();
                if chosen.is_empty() {
                    return Err(BackendError::Invalid(format!(
                        "the cluster has no node {}",
                        nodes.join(", ")
                    )));
                }
                chosen
                    .into_iter()
                    .map(|a| (Some(a.to_string()), Held::Shared(cluster.link(&a))))
                    .collect()
            }
            _ => vec![(None, self.one_link().await?)],
        };
        let monitor = [redis::cmd("MONITOR")];
        let runs = links.iter().map(|(node, link)| {
            let feed = feed.clone();
            let monitor = &monitor;
            async move {
                link.listen(monitor, |value| {
                    let text = match &value {
                        Value::SimpleString(s) => s.as_str(),
                        _ => return,
                    };
                    if let Some(line) = monitor_line(text, node.as_deref()) {
                        feed.push(StreamItem::Command(line));
                    }
                })
                .await
                .map_err(|e| self.listen_error(&e, "MONITOR"))
            }
        });
        futures_util::future::try_join_all(runs).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &[u8]) -> Value {
        Value::BulkString(s.to_vec())
    }

    #[test]
    fn subscriber_replies_read_as_messages() {
        let m = message_of(
            &Value::Array(vec![bulk(b"message"), bulk(b"news"), bulk(b"hi\xff")]),
            7,
        )
        .expect("a message");
        assert_eq!(m.channel.as_ref(), b"news");
        assert_eq!(m.preview, "hi\\xff");
        let p = message_of(
            &Value::Array(vec![
                bulk(b"pmessage"),
                bulk(b"n*"),
                bulk(b"news"),
                bulk(b"a:1:{i:0;s:1:\"x\";}"),
            ]),
            7,
        )
        .expect("a pattern message");
        assert_eq!(p.pattern.as_deref(), Some(&b"n*"[..]));
        assert!(p.preview.starts_with("(PHP serialize)"), "{}", p.preview);
        let confirm = Value::Array(vec![bulk(b"subscribe"), bulk(b"news"), Value::Int(1)]);
        assert!(message_of(&confirm, 7).is_none());
    }

    #[test]
    fn monitor_lines_read_with_their_client_and_arguments() {
        let line = monitor_line(
            r#"1700000000.123456 [0 127.0.0.1:5555] "SET" "user:1" "a \"b\"\x00""#,
            Some("10.0.0.1:7000"),
        )
        .expect("a line");
        assert_eq!(line.db, "0");
        assert_eq!(line.client, "127.0.0.1:5555");
        assert_eq!(line.args[2].as_ref(), b"a \"b\"\x00");
        assert_eq!(line.node.as_deref(), Some("10.0.0.1:7000"));
        let lua = monitor_line(r#"1.0 [3 lua] "get" "k""#, None).expect("lua");
        assert_eq!(lua.client, "lua");
        assert!(monitor_line("OK", None).is_none());
    }
}
