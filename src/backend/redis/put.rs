//! Whole values written at once (an import's or a copy's): the commands that rebuild a key,
//! pipelined (a cluster sends them to the key's node), and `RESTORE` of a `DUMP` payload.

use bytes::Bytes;
use redis::Value;

use super::RedisBackend;
use crate::backend::{BackendError, BackendResult};
use crate::core::model::{FullValue, WriteOutcome};

/// Items a command carries at most (a huge hash goes as many `HSET`s).
const ITEMS_PER_COMMAND: usize = 500;
/// Commands a pipeline carries at most.
const COMMANDS_PER_PIPELINE: usize = 200;

/// The commands that build `value` under `key` (after a `DEL` when it replaces).
fn build(key: &[u8], value: &FullValue) -> BackendResult<Vec<redis::Cmd>> {
    let empty = || {
        BackendError::Invalid(format!(
            "`{}` holds an empty {}: Redis keeps no empty collections",
            crate::core::escape::escape_bytes(key),
            value.key_type().label()
        ))
    };
    let mut out = Vec::new();
    let mut chunked = |name: &str, n: usize, add: &mut dyn FnMut(&mut redis::Cmd, usize)| {
        let mut i = 0;
        while i < n {
            let mut cmd = redis::cmd(name);
            cmd.arg(key);
            for j in i..(i + ITEMS_PER_COMMAND).min(n) {
                add(&mut cmd, j);
            }
            out.push(cmd);
            i += ITEMS_PER_COMMAND;
        }
    };
    match value {
        FullValue::String(bytes) => {
            let mut cmd = redis::cmd("SET");
            cmd.arg(key).arg(bytes.as_ref());
            out.push(cmd);
        }
        FullValue::Hash(pairs) if pairs.is_empty() => return Err(empty()),
        FullValue::Hash(pairs) => chunked("HSET", pairs.len(), &mut |c, j| {
            c.arg(pairs[j].0.as_ref()).arg(pairs[j].1.as_ref());
        }),
        FullValue::List(items) | FullValue::Set(items) if items.is_empty() => return Err(empty()),
        FullValue::List(items) => chunked("RPUSH", items.len(), &mut |c, j| {
            c.arg(items[j].as_ref());
        }),
        FullValue::Set(items) => chunked("SADD", items.len(), &mut |c, j| {
            c.arg(items[j].as_ref());
        }),
        FullValue::ZSet(members) if members.is_empty() => return Err(empty()),
        FullValue::ZSet(members) => chunked("ZADD", members.len(), &mut |c, j| {
            c.arg(score_text(members[j].1)).arg(members[j].0.as_ref());
        }),
        FullValue::Stream(entries) if entries.is_empty() => return Err(empty()),
        FullValue::Stream(entries) => {
            for entry in entries {
                let mut cmd = redis::cmd("XADD");
                cmd.arg(key).arg(entry.id.as_ref());
                for (field, value) in &entry.fields {
                    cmd.arg(field.as_ref()).arg(value.as_ref());
                }
                out.push(cmd);
            }
        }
        FullValue::Json(text) => {
            let mut cmd = redis::cmd("JSON.SET");
            cmd.arg(key).arg("$").arg(text);
            out.push(cmd);
        }
    }
    Ok(out)
}

/// A score as Redis reads it back exactly (`inf`, `-inf`, the shortest exact decimal).
fn score_text(score: f64) -> String {
    if score.is_infinite() {
        if score > 0.0 { "inf" } else { "-inf" }.to_owned()
    } else {
        format!("{score:?}")
    }
}

impl RedisBackend {
    /// The writes of transfers and Pub/Sub (the rest of `apply`).
    pub(super) async fn apply_more(
        &self,
        op: &crate::core::model::WriteOp,
    ) -> BackendResult<WriteOutcome> {
        use crate::core::model::WriteOp;
        match op {
            WriteOp::Put {
                key,
                value,
                ttl_ms,
                replace,
            } => self.put(key, value, *ttl_ms, *replace).await,
            WriteOp::RestoreDump {
                key,
                payload,
                ttl_ms,
                replace,
            } => self.restore_dump(key, payload, *ttl_ms, *replace).await,
            WriteOp::Publish {
                channel,
                message,
                sharded,
            } => self.publish(channel, message, *sharded).await,
            other => Err(BackendError::Internal(format!(
                "{} is not written here",
                other.action()
            ))),
        }
    }

    /// Writes a whole value; see [`crate::core::model::WriteOp::Put`].
    pub(super) async fn put(
        &self,
        key: &[u8],
        value: &FullValue,
        ttl_ms: Option<u64>,
        replace: bool,
    ) -> BackendResult<WriteOutcome> {
        if !replace && self.exists(key).await? {
            return Ok(WriteOutcome::TargetExists);
        }
        let mut commands = Vec::new();
        if replace {
            let mut del = redis::cmd("DEL");
            del.arg(key);
            commands.push(del);
        }
        commands.extend(build(key, value)?);
        if let Some(ms) = ttl_ms {
            let mut expire = redis::cmd("PEXPIRE");
            expire.arg(key).arg(ms.max(1));
            commands.push(expire);
        }
        for group in commands.chunks(COMMANDS_PER_PIPELINE) {
            for reply in self.batch(group, "PUT").await? {
                if let Err(e) = reply {
                    return Err(self.map(&e, "PUT"));
                }
            }
        }
        Ok(WriteOutcome::Done(1))
    }

    /// `RESTORE` of a `DUMP` payload; see [`crate::core::model::WriteOp::RestoreDump`].
    pub(super) async fn restore_dump(
        &self,
        key: &[u8],
        payload: &Bytes,
        ttl_ms: Option<u64>,
        replace: bool,
    ) -> BackendResult<WriteOutcome> {
        let mut cmd = redis::cmd("RESTORE");
        cmd.arg(key).arg(ttl_ms.unwrap_or(0)).arg(payload.as_ref());
        if replace {
            cmd.arg("REPLACE");
        }
        match self.query::<Value>(&cmd, "RESTORE").await {
            Ok(_) => Ok(WriteOutcome::Done(1)),
            Err(BackendError::KeyExists { .. }) => Ok(WriteOutcome::TargetExists),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_values_go_as_several_commands_and_scores_read_back_exactly() {
        let pairs: Vec<(Bytes, Bytes)> = (0..1_201)
            .map(|i| (Bytes::from(format!("f{i}")), Bytes::from_static(b"v")))
            .collect();
        let cmds = build(b"h", &FullValue::Hash(pairs)).expect("build");
        assert_eq!(cmds.len(), 3);
        assert_eq!(score_text(f64::INFINITY), "inf");
        assert_eq!(score_text(0.1), "0.1");
        assert_eq!(score_text(1e300).parse::<f64>().ok(), Some(1e300));
        assert!(build(b"l", &FullValue::List(vec![])).is_err());
    }
}
