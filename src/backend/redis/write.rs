//! Every change to a Redis key, one function per kind of change. Edits that must not
//! overwrite another client's change run as one Lua script that compares and writes
//! atomically; writes with nothing to compare are plain commands (they need no scripting
//! permission).

use bytes::Bytes;
use redis::Value;

use super::RedisBackend;
use super::reply::{escape_key, refs};
use crate::backend::{BackendError, BackendResult, key_not_found};
use crate::core::model::{DumpedKey, Expect, NewValue, TtlChange, WriteOp, WriteOutcome};

/// Replaces a string only if it still holds what the user loaded, keeping or changing the TTL
/// in the same atomic step. ARGV: expect mode (`any`, `absent`, `value`), expected value, new
/// value, TTL mode (`keep`, `persist`, `px`, `pxat`), TTL argument.
const SET_STRING_SCRIPT: &str = r"
if ARGV[1] ~= 'any' then
  local cur = redis.call('GET', KEYS[1])
  if ARGV[1] == 'absent' then
    if cur then return -1 end
  elseif cur ~= ARGV[2] then
    return -1
  end
end
if ARGV[4] == 'keep' then
  redis.call('SET', KEYS[1], ARGV[3], 'KEEPTTL')
elseif ARGV[4] == 'persist' then
  redis.call('SET', KEYS[1], ARGV[3])
elseif ARGV[4] == 'px' then
  redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[5])
else
  redis.call('SET', KEYS[1], ARGV[3], 'PXAT', ARGV[5])
end
return 1
";

/// Sets a hash field only if it still holds the loaded value. ARGV: field, expect mode
/// (`any`, `absent`, `value`), expected value, new value.
const HSET_SCRIPT: &str = r"
if ARGV[2] ~= 'any' then
  local cur = redis.call('HGET', KEYS[1], ARGV[1])
  if ARGV[2] == 'absent' then
    if cur then return -1 end
  elseif cur ~= ARGV[3] then
    return -1
  end
end
return redis.call('HSET', KEYS[1], ARGV[1], ARGV[4]) + 1
";

/// Sets (`set`) or removes (`remove`) the list element at an index only if it still holds the
/// value the user saw. Redis has no remove-by-index, so removal overwrites the element with a
/// unique marker and removes that. ARGV: mode, index, expected value, new value or marker.
const LIST_AT_SCRIPT: &str = r"
local cur = redis.call('LINDEX', KEYS[1], ARGV[2])
if cur ~= ARGV[3] then return -1 end
redis.call('LSET', KEYS[1], ARGV[2], ARGV[4])
if ARGV[1] == 'remove' then
  redis.call('LREM', KEYS[1], 1, ARGV[4])
end
return 1
";

/// Creates a key only if it does not exist, then applies the TTL. ARGV: TTL mode (`persist`,
/// `px`, `pxat`), TTL argument, command, its arguments after the key.
const CREATE_SCRIPT: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
redis.call(ARGV[3], KEYS[1], unpack(ARGV, 4))
if ARGV[1] == 'px' then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
elseif ARGV[1] == 'pxat' then
  redis.call('PEXPIREAT', KEYS[1], ARGV[2])
end
return 1
";

fn ttl_args(ttl: TtlChange) -> (&'static str, u64) {
    match ttl {
        TtlChange::Keep => ("keep", 0),
        TtlChange::Persist => ("persist", 0),
        TtlChange::InMs(ms) => ("px", ms),
        TtlChange::AtUnixMs(ms) => ("pxat", ms),
    }
}

/// The scripts' ARGV for an [`Expect`]: a mode word the Lua code branches on, and the value.
fn expect_args(expect: &Expect) -> (&'static str, &[u8]) {
    match expect {
        Expect::Any => ("any", b""),
        Expect::Absent => ("absent", b""),
        Expect::Value(v) => ("value", v.as_ref()),
    }
}

fn script_outcome(code: i64) -> WriteOutcome {
    if code < 0 {
        WriteOutcome::Conflict
    } else {
        WriteOutcome::Done(u64::try_from(code).unwrap_or(0))
    }
}

impl RedisBackend {
    /// Makes one change.
    pub(super) async fn apply(&self, op: &WriteOp) -> BackendResult<WriteOutcome> {
        if let Some(outcome) = self.apply_to_nodes(op).await {
            return outcome;
        }
        match op {
            WriteOp::SetString {
                key,
                value,
                ttl,
                expect,
            } => self.set_string(key, value, *ttl, expect).await,
            // Redis keeps bytes: a structure given as JSON is stored as its text.
            WriteOp::SetJson { key, value, ttl } => {
                self.set_string(key, value, *ttl, &crate::core::model::Expect::Any)
                    .await
            }
            WriteOp::SetTtl { key, ttl } => self.set_ttl(key, *ttl).await,
            WriteOp::Create { key, value, ttl } => self.create(key, value, *ttl).await,
            WriteOp::HashSet {
                key,
                field,
                value,
                expect,
            } => self.hash_set(key, field, value, expect).await,
            WriteOp::HashDelete { key, fields } => self.counted("HDEL", key, fields).await,
            WriteOp::ListSet {
                key,
                index,
                value,
                expect,
            } => self.list_set(key, *index, value, expect.as_ref()).await,
            WriteOp::ListPush { key, head, value } => {
                let name = if *head { "LPUSH" } else { "RPUSH" };
                let _: u64 = self
                    .query(redis::cmd(name).arg(key.as_ref()).arg(value.as_ref()), name)
                    .await?;
                Ok(WriteOutcome::Done(1))
            }
            WriteOp::ListRemoveAt { key, index, expect } => {
                self.list_remove_at(key, *index, expect).await
            }
            WriteOp::SetAdd { key, members } => self.counted("SADD", key, members).await,
            WriteOp::SetRemove { key, members } => self.counted("SREM", key, members).await,
            WriteOp::ZSetAdd { key, member, score } => self.zset_add(key, member, *score).await,
            WriteOp::ZSetRemove { key, members } => self.counted("ZREM", key, members).await,
            WriteOp::StreamAdd { key, fields } => self.stream_add(key, fields).await,
            WriteOp::StreamDelete { key, ids } => self.counted("XDEL", key, ids).await,
            WriteOp::Rename {
                from,
                to,
                overwrite,
            } => self.rename(from, to, *overwrite).await,
            WriteOp::Copy {
                from,
                to,
                overwrite,
            } => self.copy(from, to, *overwrite).await,
            WriteOp::Delete { keys } => {
                if keys.is_empty() {
                    return Ok(WriteOutcome::Done(0));
                }
                self.count(redis::cmd("UNLINK").arg(refs(keys)), "UNLINK")
                    .await
            }
            WriteOp::Restore { keys } => self.restore(keys).await,
            // The count reported (and audited) is what the flush removed: the keys there just
            // before it.
            WriteOp::FlushDb => {
                let keys: u64 = self.query(&redis::cmd("DBSIZE"), "DBSIZE").await?;
                self.done(redis::cmd("FLUSHDB").arg("ASYNC"), "FLUSHDB")
                    .await?;
                Ok(WriteOutcome::Done(keys))
            }
            WriteOp::FlushAll => {
                let info: String = self
                    .query(redis::cmd("INFO").arg("keyspace"), "INFO keyspace")
                    .await?;
                let keys = super::reply::parse_keyspace(&info)
                    .iter()
                    .map(|d| d.keys)
                    .sum();
                self.done(redis::cmd("FLUSHALL").arg("ASYNC"), "FLUSHALL")
                    .await?;
                Ok(WriteOutcome::Done(keys))
            }
            WriteOp::Flush { .. } => Err(BackendError::Unsupported(
                "Redis flushes a database or all of them, at once".to_owned(),
            )),
            WriteOp::PurgeExpired => Err(BackendError::Unsupported(
                "Redis removes expired keys itself".to_owned(),
            )),
            WriteOp::ResetSlowLog => {
                self.done(redis::cmd("SLOWLOG").arg("RESET"), "SLOWLOG RESET")
                    .await
            }
            WriteOp::KillClient { id, .. } => self.kill_client(*id).await,
            op @ (WriteOp::Publish { .. } | WriteOp::Put { .. } | WriteOp::RestoreDump { .. }) => {
                self.apply_more(op).await
            }
        }
    }

    async fn hash_set(
        &self,
        key: &[u8],
        field: &[u8],
        value: &[u8],
        expect: &Expect,
    ) -> BackendResult<WriteOutcome> {
        let (mode, expected) = expect_args(expect);
        let code = self
            .script(
                HSET_SCRIPT,
                key,
                &[field, mode.as_bytes(), expected, value],
                "HSET",
            )
            .await?;
        Ok(script_outcome(code.min(1)))
    }

    /// A command answering how many things it changed.
    async fn counted(
        &self,
        name: &str,
        key: &[u8],
        items: &[Bytes],
    ) -> BackendResult<WriteOutcome> {
        self.count(redis::cmd(name).arg(key).arg(refs(items)), name)
            .await
    }

    /// A command that changes one thing and answers nothing worth keeping.
    /// `PUBLISH` (`SPUBLISH`: on a cluster, the node of the channel's slot); how many
    /// subscribers received it.
    pub(super) async fn publish(
        &self,
        channel: &[u8],
        message: &[u8],
        sharded: bool,
    ) -> BackendResult<WriteOutcome> {
        let name = if sharded { "SPUBLISH" } else { "PUBLISH" };
        let mut cmd = redis::cmd(name);
        cmd.arg(channel).arg(message);
        let received: i64 = self.query(&cmd, name).await?;
        Ok(WriteOutcome::Done(u64::try_from(received).unwrap_or(0)))
    }

    async fn done(&self, cmd: &redis::Cmd, name: &str) -> BackendResult<WriteOutcome> {
        let _: Value = self.query(cmd, name).await?;
        Ok(WriteOutcome::Done(1))
    }

    async fn set_string(
        &self,
        key: &[u8],
        value: &[u8],
        ttl: TtlChange,
        expect: &Expect,
    ) -> BackendResult<WriteOutcome> {
        if *expect == Expect::Any {
            // Nothing to compare: one plain SET does it atomically and needs only the `set`
            // permission (an ACL user without scripting can still set).
            let mut cmd = redis::cmd("SET");
            cmd.arg(key).arg(value);
            match ttl {
                TtlChange::Keep => cmd.arg("KEEPTTL"),
                TtlChange::Persist => &mut cmd,
                TtlChange::InMs(ms) => cmd.arg("PX").arg(ms),
                TtlChange::AtUnixMs(ms) => cmd.arg("PXAT").arg(ms),
            };
            return self.done(&cmd, "SET").await;
        }
        let (expect_mode, expected) = expect_args(expect);
        let (ttl_mode, ttl_arg) = ttl_args(ttl);
        let ttl_arg = ttl_arg.to_string();
        let code = self
            .script(
                SET_STRING_SCRIPT,
                key,
                &[
                    expect_mode.as_bytes(),
                    expected,
                    value,
                    ttl_mode.as_bytes(),
                    ttl_arg.as_bytes(),
                ],
                "SET",
            )
            .await?;
        Ok(script_outcome(code))
    }

    async fn set_ttl(&self, key: &[u8], ttl: TtlChange) -> BackendResult<WriteOutcome> {
        let cmd = match ttl {
            TtlChange::Keep => return Ok(WriteOutcome::Done(0)),
            TtlChange::Persist => {
                let mut c = redis::cmd("PERSIST");
                c.arg(key);
                c
            }
            TtlChange::InMs(ms) => {
                let mut c = redis::cmd("PEXPIRE");
                c.arg(key).arg(ms);
                c
            }
            TtlChange::AtUnixMs(ms) => {
                let mut c = redis::cmd("PEXPIREAT");
                c.arg(key).arg(ms);
                c
            }
        };
        let changed: u64 = self.query(&cmd, "EXPIRE").await?;
        // PERSIST answers 0 for a key without TTL too: tell that from a missing key.
        if changed == 0 && !self.exists(key).await? {
            return Err(key_not_found(key));
        }
        Ok(WriteOutcome::Done(changed))
    }

    async fn create(
        &self,
        key: &[u8],
        value: &NewValue,
        ttl: TtlChange,
    ) -> BackendResult<WriteOutcome> {
        let (ttl_mode, ttl_arg) = ttl_args(ttl);
        let ttl_arg = ttl_arg.to_string();
        let score;
        let mut args: Vec<&[u8]> = vec![ttl_mode.as_bytes(), ttl_arg.as_bytes()];
        match value {
            NewValue::String(v) => args.extend([b"SET".as_slice(), v]),
            NewValue::Hash(f, v) => args.extend([b"HSET".as_slice(), f, v]),
            NewValue::List(v) => args.extend([b"RPUSH".as_slice(), v]),
            NewValue::Set(v) => args.extend([b"SADD".as_slice(), v]),
            NewValue::ZSet(m, s) => {
                score = s.to_string();
                args.extend([b"ZADD".as_slice(), score.as_bytes(), m]);
            }
            NewValue::Stream(fields) => {
                args.extend([b"XADD".as_slice(), b"*".as_slice()]);
                for (f, v) in fields {
                    args.extend([f.as_ref(), v.as_ref()]);
                }
            }
        }
        let code = self.script(CREATE_SCRIPT, key, &args, "create").await?;
        Ok(if code < 0 {
            WriteOutcome::TargetExists
        } else {
            WriteOutcome::Done(1)
        })
    }

    async fn list_set(
        &self,
        key: &[u8],
        index: i64,
        value: &[u8],
        expect: Option<&Bytes>,
    ) -> BackendResult<WriteOutcome> {
        let Some(old) = expect else {
            return self
                .done(redis::cmd("LSET").arg(key).arg(index).arg(value), "LSET")
                .await;
        };
        let index_arg = index.to_string();
        let code = self
            .script(
                LIST_AT_SCRIPT,
                key,
                &[b"set", index_arg.as_bytes(), old, value],
                "LSET",
            )
            .await?;
        Ok(script_outcome(code))
    }

    async fn list_remove_at(
        &self,
        key: &[u8],
        index: i64,
        expect: &[u8],
    ) -> BackendResult<WriteOutcome> {
        let index_arg = index.to_string();
        let marker = format!(
            "__cache_console_removed_{}__",
            crate::core::ttl::now_unix_ms()
        );
        let code = self
            .script(
                LIST_AT_SCRIPT,
                key,
                &[b"remove", index_arg.as_bytes(), expect, marker.as_bytes()],
                "LREM",
            )
            .await?;
        Ok(script_outcome(code))
    }

    async fn zset_add(&self, key: &[u8], member: &[u8], score: f64) -> BackendResult<WriteOutcome> {
        if !score.is_finite() {
            return Err(BackendError::Invalid(format!(
                "`{score}` is not a usable score: give a finite number"
            )));
        }
        let _: u64 = self
            .query(redis::cmd("ZADD").arg(key).arg(score).arg(member), "ZADD")
            .await?;
        Ok(WriteOutcome::Done(1))
    }

    async fn stream_add(
        &self,
        key: &[u8],
        fields: &[(Bytes, Bytes)],
    ) -> BackendResult<WriteOutcome> {
        if fields.is_empty() {
            return Err(BackendError::Invalid(
                "a stream entry needs at least one field".to_owned(),
            ));
        }
        let mut cmd = redis::cmd("XADD");
        cmd.arg(key).arg("*");
        for (f, v) in fields {
            cmd.arg(f.as_ref()).arg(v.as_ref());
        }
        self.done(&cmd, "XADD").await
    }

    async fn rename(&self, from: &[u8], to: &[u8], overwrite: bool) -> BackendResult<WriteOutcome> {
        self.same_slot(from, to, "rename")?;
        if !self.exists(from).await? {
            return Err(key_not_found(from));
        }
        if overwrite {
            return self
                .done(redis::cmd("RENAME").arg(from).arg(to), "RENAME")
                .await;
        }
        let n: u64 = self
            .query(redis::cmd("RENAMENX").arg(from).arg(to), "RENAMENX")
            .await?;
        Ok(if n == 1 {
            WriteOutcome::Done(1)
        } else {
            WriteOutcome::TargetExists
        })
    }

    async fn copy(&self, from: &[u8], to: &[u8], overwrite: bool) -> BackendResult<WriteOutcome> {
        self.same_slot(from, to, "copy")?;
        if !self.exists(from).await? {
            return Err(key_not_found(from));
        }
        let mut cmd = redis::cmd("COPY");
        cmd.arg(from).arg(to);
        if overwrite {
            cmd.arg("REPLACE");
        }
        let n: u64 = self.query(&cmd, "COPY").await?;
        Ok(if n == 1 {
            WriteOutcome::Done(1)
        } else {
            WriteOutcome::TargetExists
        })
    }

    /// Puts back keys saved by `dump`, with their TTLs; a key that exists again is not
    /// replaced.
    async fn restore(&self, keys: &[DumpedKey]) -> BackendResult<WriteOutcome> {
        let mut restored = 0;
        for k in keys {
            let mut cmd = redis::cmd("RESTORE");
            cmd.arg(k.key.as_ref());
            match k.expire_at_unix_ms {
                Some(at) => cmd.arg(at).arg(k.payload.as_ref()).arg("ABSTTL"),
                None => cmd.arg(0).arg(k.payload.as_ref()),
            };
            match self.query::<Value>(&cmd, "RESTORE").await {
                Ok(_) => restored += 1,
                Err(BackendError::KeyExists { .. }) => {
                    return Err(BackendError::Server {
                        command: "RESTORE".to_owned(),
                        reason: format!(
                            "`{}` exists again; it was not replaced",
                            escape_key(&k.key)
                        ),
                    });
                }
                Err(e) => return Err(e),
            }
        }
        Ok(WriteOutcome::Done(restored))
    }

    async fn kill_client(&self, id: u64) -> BackendResult<WriteOutcome> {
        let killed: u64 = self
            .query(
                redis::cmd("CLIENT").arg("KILL").arg("ID").arg(id),
                "CLIENT KILL",
            )
            .await?;
        if killed == 0 {
            return Err(BackendError::Invalid(format!(
                "client {id} is no longer connected"
            )));
        }
        Ok(WriteOutcome::Done(killed))
    }
}
