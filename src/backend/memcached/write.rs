//! Every change to memcached keys: stores checked by CAS, touch for TTLs, pipelined deletes,
//! restores, and flushes (per server or the pool, at once or after a delay).

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;

use super::MemcachedBackend;
use super::wire::{MetaStatus, RELATIVE_EXPIRY_LIMIT_SECS, exptime, wire_key};
use crate::backend::{BackendError, BackendResult, key_not_found};
use crate::core::escape::escape_bytes;
use crate::core::model::{DumpedKey, Expect, NewValue, TtlChange, WriteOp, WriteOutcome};

impl MemcachedBackend {
    /// Makes one change.
    pub(super) async fn apply(&self, op: &WriteOp) -> BackendResult<WriteOutcome> {
        match op {
            WriteOp::SetString {
                key,
                value,
                ttl,
                expect,
            } => self.set_string(key, value, *ttl, expect).await,
            WriteOp::SetTtl { key, ttl } => self.touch(key, *ttl).await,
            WriteOp::Create { key, value, ttl } => {
                let NewValue::String(value) = value else {
                    return Err(Self::unsupported("a collection"));
                };
                let exp = exptime(*ttl, -1);
                Ok(if self.store(key, value, 0, exp, None, true).await? {
                    WriteOutcome::Done(1)
                } else {
                    WriteOutcome::TargetExists
                })
            }
            WriteOp::Delete { keys } => self.delete(keys).await,
            WriteOp::Restore { keys } => self.restore(keys).await,
            WriteOp::FlushDb | WriteOp::FlushAll => {
                Ok(WriteOutcome::Done(self.flush_servers(None, 0).await?))
            }
            WriteOp::Flush { server, delay_secs } => Ok(WriteOutcome::Done(
                self.flush_servers(server.as_deref(), *delay_secs).await?,
            )),
            WriteOp::Rename { .. } | WriteOp::Copy { .. } => {
                Err(Self::unsupported("renaming or copying a key"))
            }
            _ => Err(Self::unsupported("this edit")),
        }
    }

    /// A string replaced, unless it no longer holds what `expect` says (then a conflict).
    async fn set_string(
        &self,
        key: &[u8],
        value: &[u8],
        ttl: TtlChange,
        expect: &Expect,
    ) -> BackendResult<WriteOutcome> {
        let current = self.meta_one(key, "t f c v").await?;
        let holds = match current.as_ref().map(|c| c.value.as_deref()) {
            None => expect.holds(None),
            Some(Some(v)) => expect.holds(Some(v)),
            // There, but its value was not read: only a write expecting nothing goes on.
            Some(None) => *expect == Expect::Any,
        };
        if !holds {
            return Ok(WriteOutcome::Conflict);
        }
        let flags = current.as_ref().map_or(0, |c| c.flags);
        let exp = exptime(ttl, current.as_ref().map_or(-1, |c| c.ttl_secs));
        // CAS: refused when anyone wrote the key since we read it.
        let cas = match (expect, &current) {
            (Expect::Value(_), Some(item)) => Some(item.cas),
            _ => None,
        };
        let add = *expect == Expect::Absent;
        Ok(if self.store(key, value, flags, exp, cas, add).await? {
            WriteOutcome::Done(1)
        } else {
            WriteOutcome::Conflict
        })
    }

    /// `mg … T` is touch: it sets the expiry of an item that is there.
    async fn touch(&self, key: &[u8], ttl: TtlChange) -> BackendResult<WriteOutcome> {
        if ttl == TtlChange::Keep {
            return Ok(WriteOutcome::Done(0));
        }
        let wire = wire_key(key)?;
        let exp = exptime(ttl, -1);
        let command = format!("mg {} T{exp}\r\n", wire.args()).into_bytes();
        match self.meta_for(key, command).await? {
            MetaStatus::Done | MetaStatus::Value => Ok(WriteOutcome::Done(1)),
            _ => Err(key_not_found(key)),
        }
    }

    /// One pipelined round trip per server; a key memcached cannot hold at all is refused
    /// before anything is sent.
    async fn delete(&self, keys: &[Bytes]) -> BackendResult<WriteOutcome> {
        let mut by_server: HashMap<usize, Vec<Vec<u8>>> = HashMap::new();
        for key in keys {
            let wire = wire_key(key)?;
            by_server
                .entry(self.server_index(key))
                .or_default()
                .push(format!("md {}\r\n", wire.args()).into_bytes());
        }
        let mut deleted = 0;
        for (server, commands) in by_server {
            for (status, _) in self.meta(server, &commands).await? {
                if status == MetaStatus::Done {
                    deleted += 1;
                }
            }
        }
        Ok(WriteOutcome::Done(deleted))
    }

    /// Puts back keys saved by `dump` (flags first, then the value), with their expiry; a key
    /// that exists again is not replaced.
    async fn restore(&self, keys: &[DumpedKey]) -> BackendResult<WriteOutcome> {
        let mut restored = 0;
        for k in keys {
            let (flag_bytes, value) = k.payload.split_at(k.payload.len().min(4));
            let flags = u32::from_be_bytes(flag_bytes.try_into().unwrap_or([0; 4]));
            let exp = k
                .expire_at_unix_ms
                .map_or(0, |at| u32::try_from(at / 1000).unwrap_or(u32::MAX));
            if !self.store(&k.key, value, flags, exp, None, true).await? {
                return Err(BackendError::Server {
                    command: "add".to_owned(),
                    reason: format!(
                        "`{}` exists again; it was not replaced",
                        escape_bytes(&k.key)
                    ),
                });
            }
            restored += 1;
        }
        Ok(WriteOutcome::Done(restored))
    }

    /// `ms`: stores a value with its flags and expiry. `cas` makes it conditional on the item
    /// being unchanged; `add` on the key being absent. True when stored.
    pub(super) async fn store(
        &self,
        key: &[u8],
        value: &[u8],
        flags: u32,
        exp: u32,
        cas: Option<u64>,
        add: bool,
    ) -> BackendResult<bool> {
        let wire = wire_key(key)?;
        let cas = cas.map(|c| format!(" C{c}")).unwrap_or_default();
        let mode = if add { " ME" } else { "" };
        // `ms <key> <datalen> <flags>*`: the base64 flag comes after the length (before it,
        // memcached reads `b` as the length and refuses the line).
        let base64 = if wire.base64 { " b" } else { "" };
        let command = format!(
            "ms {} {}{base64} T{exp} F{flags}{cas}{mode}\r\n",
            wire.text,
            value.len()
        );
        let mut command = command.into_bytes();
        command.extend_from_slice(value);
        command.extend_from_slice(b"\r\n");
        Ok(self.meta_for(key, command).await? == MetaStatus::Done)
    }

    async fn flush_servers(&self, server: Option<&str>, delay_secs: u32) -> BackendResult<u64> {
        // memcached reads a delay over 30 days as an absolute Unix time, and one in the past
        // flushes at once: refuse what it would misread rather than flush now.
        if u64::from(delay_secs) > RELATIVE_EXPIRY_LIMIT_SECS {
            return Err(BackendError::Invalid(format!(
                "a flush delay of {delay_secs} s is more than 30 days ({RELATIVE_EXPIRY_LIMIT_SECS} s): \
                 memcached would read it as a date and might flush at once; nothing was flushed"
            )));
        }
        let mut flushed = 0;
        for (i, label) in self.labels.iter().enumerate() {
            if server.is_some_and(|s| s != label) {
                continue;
            }
            let command = if delay_secs > 0 {
                format!("flush_all {delay_secs}\r\n")
            } else {
                "flush_all\r\n".to_owned()
            };
            let reply = Self::request_on(
                &self.dialer,
                &self.servers[i],
                label,
                self.connect_timeout,
                self.command_timeout,
                command.as_bytes(),
                b"\r\n",
            )
            .await?;
            if !reply.starts_with(b"OK") {
                return Err(BackendError::Server {
                    command: "flush_all".to_owned(),
                    reason: String::from_utf8_lossy(&reply).trim().to_owned(),
                });
            }
            flushed += 1;
        }
        if flushed == 0 {
            return Err(BackendError::Invalid(format!(
                "no server named `{}` in this pool",
                server.unwrap_or_default()
            )));
        }
        if delay_secs == 0 {
            // memcached's clock has whole seconds, and its key dump still shows items stored in
            // the same second as an immediate flush (reads already miss them). Returning after
            // the next tick makes every listing that follows a flush agree with the server.
            tokio::time::sleep(Duration::from_millis(1_100)).await;
        }
        Ok(flushed)
    }
}
