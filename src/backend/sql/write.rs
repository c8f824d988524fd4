//! Every change to a cache table, one function per kind of change. Keys compare byte for
//! byte; a checked edit compares the value in the `UPDATE` itself, so it is atomic.

use super::{Arg, FOREVER_SECS, SqlBackend, collation_clash, expiration_for, now_secs, text_key};
use crate::backend::{BackendError, BackendResult, key_not_found};
use crate::core::model::{DumpedKey, Expect, NewValue, TtlChange, WriteOp, WriteOutcome};

impl SqlBackend {
    /// Makes one change.
    pub(super) async fn apply(&self, op: &WriteOp) -> BackendResult<WriteOutcome> {
        match op {
            WriteOp::SetString {
                key,
                value,
                ttl,
                expect,
            } => self.set_string(key, value, *ttl, expect).await,
            WriteOp::SetTtl { key, ttl } => {
                let current = self.row(key).await?.ok_or_else(|| key_not_found(key))?;
                let exp = expiration_for(*ttl, Some(current.expiration), now_secs());
                let mut q = self.stmt();
                let a = q.bind(Arg::Int(self.columns.stored(exp)));
                let cond = self.key_eq(&mut q, key);
                let (t, e) = (self.col(&self.table), self.col(&self.columns.expiration));
                q.sql = format!("UPDATE {t} SET {e} = {a} WHERE {cond}");
                Ok(WriteOutcome::Done(self.execute(&q).await?))
            }
            WriteOp::Create { key, value, ttl } => self.create(key, value, *ttl).await,
            WriteOp::Delete { keys } => {
                let mut n = 0;
                for key in keys {
                    n += self.delete_key(key).await?;
                }
                Ok(WriteOutcome::Done(n))
            }
            WriteOp::Rename {
                from,
                to,
                overwrite,
            } => self.move_or_copy(from, to, *overwrite, true).await,
            WriteOp::Copy {
                from,
                to,
                overwrite,
            } => self.move_or_copy(from, to, *overwrite, false).await,
            WriteOp::Restore { keys } => self.restore(keys).await,
            WriteOp::FlushDb | WriteOp::FlushAll | WriteOp::Flush { .. } => {
                let mut q = self.stmt();
                q.sql = format!("DELETE FROM {}", self.col(&self.table));
                Ok(WriteOutcome::Done(self.execute(&q).await?))
            }
            WriteOp::PurgeExpired => {
                let mut q = self.stmt();
                let a = q.bind(Arg::Int(now_secs()));
                q.sql = format!(
                    "DELETE FROM {} WHERE {} <= {a}",
                    self.col(&self.table),
                    self.expiration_int()
                );
                Ok(WriteOutcome::Done(self.execute(&q).await?))
            }
            _ => Err(BackendError::Unsupported(
                "a cache table holds plain values: this edit is not possible here".to_owned(),
            )),
        }
    }

    async fn set_string(
        &self,
        key: &[u8],
        value: &[u8],
        ttl: TtlChange,
        expect: &Expect,
    ) -> BackendResult<WriteOutcome> {
        text_key(key)?;
        let current = self.row(key).await?;
        // Whether a row is there decides here; its value is compared in the UPDATE itself, so
        // nobody can change it in between.
        if matches!(
            (expect, &current),
            (Expect::Value(_), None) | (Expect::Absent, Some(_))
        ) {
            return Ok(WriteOutcome::Conflict);
        }
        let exp = expiration_for(ttl, current.as_ref().map(|c| c.expiration), now_secs());
        if current.is_none() {
            if self.insert(key, value, exp).await? {
                return Ok(WriteOutcome::Done(1));
            }
            // No row has exactly this key, yet the table refused it: one its collation calls
            // equal is there. That row is never written instead.
            return Err(collation_clash(key));
        }
        let mut q = self.stmt();
        let (a1, a2) = (
            q.bind(self.value_arg(value)?),
            q.bind(Arg::Int(self.columns.stored(exp))),
        );
        let mut cond = self.key_eq(&mut q, key);
        if let Expect::Value(old) = expect {
            // The comparison happens in the UPDATE itself: atomic.
            let a = q.bind(Arg::Bytes(old.to_vec()));
            cond = format!("{cond} AND {} = {a}", self.bytes_of(&self.columns.value));
        }
        let (t, v, e) = (
            self.col(&self.table),
            self.col(&self.columns.value),
            self.col(&self.columns.expiration),
        );
        q.sql = format!("UPDATE {t} SET {v} = {a1}, {e} = {a2} WHERE {cond}");
        let n = self.execute(&q).await?;
        Ok(if n == 0 {
            WriteOutcome::Conflict
        } else {
            WriteOutcome::Done(n)
        })
    }

    async fn create(
        &self,
        key: &[u8],
        value: &NewValue,
        ttl: TtlChange,
    ) -> BackendResult<WriteOutcome> {
        let NewValue::String(value) = value else {
            return Err(BackendError::Unsupported(
                "a cache table holds plain values only".to_owned(),
            ));
        };
        if self.row(key).await?.is_some() {
            return Ok(WriteOutcome::TargetExists);
        }
        let exp = expiration_for(ttl, None, now_secs());
        if self.insert(key, value, exp).await? {
            Ok(WriteOutcome::Done(1))
        } else {
            Err(collation_clash(key))
        }
    }

    /// A rename (`remove_source`) or copy: the row is written under `to`, whose old row is
    /// replaced only with `overwrite`.
    async fn move_or_copy(
        &self,
        from: &[u8],
        to: &[u8],
        overwrite: bool,
        remove_source: bool,
    ) -> BackendResult<WriteOutcome> {
        text_key(to)?;
        let row = self.row(from).await?.ok_or_else(|| key_not_found(from))?;
        if self.row(to).await?.is_some() {
            if !overwrite {
                return Ok(WriteOutcome::TargetExists);
            }
            self.delete_key(to).await?;
        }
        if !self.insert(to, &row.value, row.expiration).await? {
            return Ok(WriteOutcome::TargetExists);
        }
        if remove_source {
            self.delete_key(from).await?;
        }
        Ok(WriteOutcome::Done(1))
    }

    /// Puts back rows saved by `dump`; a key that exists again is not replaced.
    async fn restore(&self, keys: &[DumpedKey]) -> BackendResult<WriteOutcome> {
        let now = now_secs();
        let mut n = 0;
        for d in keys {
            let exp = d.expire_at_unix_ms.map_or(now + FOREVER_SECS, |at| {
                i64::try_from(at / 1000).unwrap_or(i64::MAX)
            });
            if !self.insert(&d.key, &d.payload, exp).await? {
                return Err(BackendError::Server {
                    command: "INSERT".to_owned(),
                    reason: format!(
                        "`{}` exists again; it was not replaced",
                        crate::core::escape::escape_bytes(&d.key)
                    ),
                });
            }
            n += 1;
        }
        Ok(WriteOutcome::Done(n))
    }
}
