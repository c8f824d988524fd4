//! The guard every connection is wrapped in: it refuses writes on read-only profiles and
//! records every write in the audit log. Doing this here, below the UI and the CLI, means no
//! code path can write around it.

use std::sync::atomic::AtomicBool;

use async_trait::async_trait;
use bytes::Bytes;

use super::{BackendError, BackendResult, BulkResult, CacheBackend, Capabilities, ConnectOptions};
use crate::config::audit::{AuditEntry, AuditLog, KEYS_PER_ENTRY, now_rfc3339};
use crate::core::escape::escape_bytes;
use crate::core::model::{
    BulkProgress, ClientInfo, DbInfo, DumpedKey, FoundPage, KeyDetails, KeyMeta, KeyType,
    PageCursor, ScanPage, ScanRequest, SlowLogEntry, Ttl, TtlChange, ValuePage, WriteOp,
    WriteOutcome,
};
use crate::core::ttl::duration_words;

/// A backend behind the read-only check and the audit log.
pub struct Guarded {
    inner: Box<dyn CacheBackend>,
    read_only: bool,
    profile: String,
    target: String,
    audit: Option<AuditLog>,
    /// The database it is on, where there are numbered databases.
    db: Option<u32>,
    capabilities: Capabilities,
    /// ` (via ssh ops@bastion)` when the connection goes through a tunnel.
    via: String,
}

impl Guarded {
    /// Wraps `inner`; `target` is the URL (without password) the audit log names, `db` the
    /// database it is on (where there are numbered ones).
    #[must_use]
    pub fn new(
        inner: Box<dyn CacheBackend>,
        options: &ConnectOptions,
        target: String,
        db: Option<u32>,
    ) -> Self {
        let mut capabilities = inner.capabilities().clone();
        if options.read_only {
            capabilities.write = false;
            capabilities.flush = false;
            capabilities.undo_delete = false;
        }
        Self {
            inner,
            read_only: options.read_only,
            profile: if options.profile.is_empty() {
                "(url)".to_owned()
            } else {
                options.profile.clone()
            },
            target,
            audit: options.audit.clone(),
            db,
            capabilities,
            via: options
                .ssh
                .as_ref()
                .map(|t| format!(" ({})", t.spec.label()))
                .unwrap_or_default(),
        }
    }

    fn refuse_if_read_only(&self) -> BackendResult<()> {
        if self.read_only {
            return Err(BackendError::ReadOnly(self.profile.clone()));
        }
        Ok(())
    }

    /// Every change is recorded, so a change that could not be is not made: when the audit
    /// log cannot be opened for writing, the write is refused before anything is sent.
    async fn refuse_if_unauditable(&self) -> BackendResult<()> {
        let Some(log) = self.audit.clone() else {
            return Ok(());
        };
        // File work goes to the blocking pool, never onto a runtime worker.
        let checked = tokio::task::spawn_blocking(move || {
            let result = log.check_writable();
            (log, result)
        })
        .await
        .map_err(|e| BackendError::Internal(format!("the audit check stopped: {e}")))?;
        let (log, result) = checked;
        result.map_err(|e| {
            BackendError::File(format!(
                "the audit log {} cannot be written ({e}), and every change is recorded there: \
                 nothing was changed. Make it writable, or set {} to another directory",
                log.path().display(),
                crate::config::audit::DATA_DIR_ENV
            ))
        })
    }

    /// An entry for `action` on `keys`, by this connection, now.
    fn entry(&self, action: &str, keys: &[&Bytes]) -> AuditEntry {
        AuditEntry {
            time: now_rfc3339(),
            profile: self.profile.clone(),
            target: self.target.clone(),
            action: action.to_owned(),
            keys: keys
                .iter()
                .take(KEYS_PER_ENTRY)
                .map(|k| escape_bytes(k))
                .collect(),
            key_count: keys.len() as u64,
            db: self.db,
            ..AuditEntry::default()
        }
    }

    /// The entry a write makes: what it is aimed at besides keys, and a TTL change's before
    /// and after (the TTL before is read first, so the log shows what was changed).
    async fn write_entry(&self, op: &WriteOp) -> AuditEntry {
        let mut entry = self.entry(op.action(), &op.keys());
        entry.detail = op.detail();
        match op {
            WriteOp::Flush { server, .. } => entry.server.clone_from(server),
            WriteOp::SetTtl { key, ttl } => {
                let before = self
                    .inner
                    .key_meta(std::slice::from_ref(key))
                    .await
                    .ok()
                    .and_then(|m| m.into_iter().next().flatten());
                entry.ttl_before = Some(before.map_or_else(
                    || "unknown".to_owned(),
                    |m| match m.ttl {
                        Ttl::Persistent => "none".to_owned(),
                        Ttl::ExpiresInMs(ms) => duration_words(ms),
                        Ttl::Unknown => "unknown".to_owned(),
                    },
                ));
                entry.ttl_after = Some(match ttl {
                    TtlChange::Keep => "unchanged".to_owned(),
                    TtlChange::Persist => "none".to_owned(),
                    TtlChange::InMs(ms) => duration_words(*ms),
                    TtlChange::AtUnixMs(at) => {
                        chrono::DateTime::from_timestamp_millis(i64::try_from(*at).unwrap_or(0))
                            .map_or_else(|| at.to_string(), |d| d.to_rfc3339())
                    }
                });
            }
            _ => {}
        }
        entry
    }

    /// A write through a read-only profile is refused, and the attempt is recorded.
    async fn refuse_if_read_only_recorded(&self, entry: AuditEntry) -> BackendResult<()> {
        if let Err(e) = self.refuse_if_read_only() {
            let mut entry = entry;
            "refused: the profile is read-only".clone_into(&mut entry.outcome);
            self.append(entry).await;
            return Err(e);
        }
        Ok(())
    }

    async fn append(&self, entry: AuditEntry) {
        let Some(log) = self.audit.clone() else {
            return;
        };
        let appended = tokio::task::spawn_blocking(move || {
            let result = log.append(&entry);
            (log, result)
        })
        .await;
        match appended {
            Ok((_, Ok(()))) => {}
            Ok((log, Err(e))) => {
                tracing::warn!(
                    "could not write the audit log {}: {e}",
                    log.path().display()
                );
            }
            Err(e) => tracing::warn!("the audit write stopped: {e}"),
        }
    }
}

fn outcome_text<T>(result: &BackendResult<T>, describe: impl Fn(&T) -> String) -> String {
    match result {
        Ok(v) => describe(v),
        Err(e) => format!("error: {e}"),
    }
}

#[async_trait]
impl CacheBackend for Guarded {
    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    fn describe(&self) -> String {
        if self.read_only {
            format!("{}{} (read-only)", self.inner.describe(), self.via)
        } else {
            format!("{}{}", self.inner.describe(), self.via)
        }
    }

    async fn databases(&self) -> BackendResult<Vec<DbInfo>> {
        self.inner.databases().await
    }

    async fn key_count(&self) -> BackendResult<u64> {
        self.inner.key_count().await
    }

    async fn scan(&self, request: &ScanRequest, cursor: u64) -> BackendResult<ScanPage> {
        self.inner.scan(request, cursor).await
    }

    async fn scan_feed(
        &self,
        request: &ScanRequest,
        from: u64,
    ) -> BackendResult<Option<tokio::sync::mpsc::Receiver<BackendResult<ScanPage>>>> {
        self.inner.scan_feed(request, from).await
    }

    async fn key_meta(&self, keys: &[Bytes]) -> BackendResult<Vec<Option<KeyMeta>>> {
        self.inner.key_meta(keys).await
    }

    async fn key_details(&self, key: &[u8]) -> BackendResult<KeyDetails> {
        self.inner.key_details(key).await
    }

    async fn read_page(
        &self,
        key: &[u8],
        key_type: &KeyType,
        cursor: &PageCursor,
        page_size: u32,
    ) -> BackendResult<ValuePage> {
        self.inner.read_page(key, key_type, cursor, page_size).await
    }

    async fn find_in_value(
        &self,
        key: &[u8],
        key_type: &KeyType,
        pattern: &[u8],
        cursor: &PageCursor,
        page_size: u32,
    ) -> BackendResult<FoundPage> {
        self.inner
            .find_in_value(key, key_type, pattern, cursor, page_size)
            .await
    }

    async fn read_string_range(&self, key: &[u8], offset: u64, len: u64) -> BackendResult<Bytes> {
        self.inner.read_string_range(key, offset, len).await
    }

    async fn write(&self, op: &WriteOp) -> BackendResult<WriteOutcome> {
        self.refuse_if_read_only_recorded(self.entry(op.action(), &op.keys()))
            .await?;
        self.refuse_if_unauditable().await?;
        let mut entry = self.write_entry(op).await;
        let result = self.inner.write(op).await;
        entry.affected = match &result {
            Ok(WriteOutcome::Done(n)) => Some(*n),
            _ => None,
        };
        entry.outcome = outcome_text(&result, |o| match o {
            WriteOutcome::Done(_) => "ok".to_owned(),
            WriteOutcome::Conflict => "conflict".to_owned(),
            WriteOutcome::TargetExists => "target exists".to_owned(),
        });
        self.append(entry).await;
        result
    }

    async fn dump(&self, keys: &[Bytes]) -> BackendResult<Vec<Option<DumpedKey>>> {
        self.inner.dump(keys).await
    }

    async fn command_facts(
        &self,
        args: &[Bytes],
    ) -> BackendResult<crate::core::model::CommandFacts> {
        self.inner.command_facts(args).await
    }

    /// A command the server says may write is refused on a read-only profile before it is
    /// sent, and recorded (its secrets redacted) like every other change. One the server
    /// does not know is treated as a write.
    async fn execute(
        &self,
        args: &[Bytes],
        on: &crate::core::model::ExecOn,
    ) -> BackendResult<Vec<crate::core::model::NodeReply>> {
        let facts = self.inner.command_facts(args).await?;
        let changes = !facts.known
            || facts.write
            || (facts.admin && crate::core::redact::changes_server(args));
        if !changes {
            return self.inner.execute(args, on).await;
        }
        let mut entry = self.entry("exec", &[]);
        let line = crate::core::redact::redacted_args(args).join(" ");
        entry.detail = Some(line.chars().take(300).collect());
        self.refuse_if_read_only_recorded(entry.clone()).await?;
        self.refuse_if_unauditable().await?;
        if let crate::core::model::ExecOn::Node(node) = on {
            entry.detail = entry.detail.map(|d| format!("{d} (on {node})"));
        } else if *on == crate::core::model::ExecOn::AllPrimaries {
            entry.detail = entry.detail.map(|d| format!("{d} (on all primaries)"));
        }
        let result = self.inner.execute(args, on).await;
        entry.outcome = outcome_text(&result, |replies| {
            let errors: Vec<&str> = replies
                .iter()
                .filter_map(|r| match &r.reply {
                    crate::core::model::RawReply::Error(e) => Some(e.as_str()),
                    _ => None,
                })
                .collect();
            match errors.first() {
                None => "ok".to_owned(),
                Some(e) if replies.len() == 1 => format!("error: {e}"),
                Some(e) => format!("error on {} of {} nodes: {e}", errors.len(), replies.len()),
            }
        });
        self.append(entry).await;
        result
    }

    async fn command_docs(&self) -> BackendResult<Vec<crate::core::model::CommandDoc>> {
        self.inner.command_docs().await
    }

    fn server_version(&self) -> Option<String> {
        self.inner.server_version()
    }

    /// A batch is refused whole on a read-only profile, and recorded as one entry (an import
    /// of a million keys is a thousand entries, not a million).
    async fn import_batch(
        &self,
        records: &[crate::core::model::Record],
        on_conflict: crate::core::model::OnConflict,
    ) -> BackendResult<crate::core::model::BatchOutcome> {
        let keys: Vec<&Bytes> = records
            .iter()
            .take(KEYS_PER_ENTRY)
            .map(|r| &r.key)
            .collect();
        let mut entry = self.entry("import", &keys);
        entry.detail = Some(format!(
            "{} keys in this batch; a key that exists: {}",
            records.len(),
            match on_conflict {
                crate::core::model::OnConflict::Skip => "skipped",
                crate::core::model::OnConflict::Replace => "replaced",
                crate::core::model::OnConflict::Stop => "stops",
            }
        ));
        self.refuse_if_read_only_recorded(entry.clone()).await?;
        self.refuse_if_unauditable().await?;
        let result = self.inner.import_batch(records, on_conflict).await;
        entry.affected = result.as_ref().ok().map(|o| o.written);
        entry.outcome = outcome_text(&result, |o| {
            format!(
                "{} written, {} skipped, {} failed{}",
                o.written,
                o.skipped,
                o.failed.len(),
                if o.stopped_at.is_some() {
                    ", stopped at a key that exists"
                } else {
                    ""
                }
            )
        });
        self.append(entry).await;
        result
    }

    async fn subscribe(
        &self,
        subscription: &crate::core::model::Subscription,
        feed: std::sync::Arc<crate::backend::feed::Feed>,
    ) -> BackendResult<()> {
        self.inner.subscribe(subscription, feed).await
    }

    async fn monitor(
        &self,
        nodes: &[String],
        feed: std::sync::Arc<crate::backend::feed::Feed>,
    ) -> BackendResult<()> {
        self.inner.monitor(nodes, feed).await
    }

    async fn server_info(&self) -> BackendResult<Vec<super::ServerInfo>> {
        self.inner.server_info().await
    }

    async fn stats(&self) -> BackendResult<Vec<(String, crate::core::metrics::RawStats)>> {
        self.inner.stats().await
    }

    async fn slow_log(&self, count: u32) -> BackendResult<Vec<SlowLogEntry>> {
        self.inner.slow_log(count).await
    }

    async fn nodes(&self) -> BackendResult<Vec<crate::core::model::NodeRow>> {
        self.inner.nodes().await
    }

    async fn clients(&self) -> BackendResult<Vec<ClientInfo>> {
        self.inner.clients().await
    }

    async fn delete_matching(
        &self,
        request: &ScanRequest,
        cancel: &AtomicBool,
        progress: &(dyn Fn(BulkProgress) + Send + Sync),
    ) -> BackendResult<BulkResult> {
        let mut entry = self.entry("delete-pattern", &[]);
        entry.pattern = Some(escape_bytes(&request.pattern));
        self.refuse_if_read_only_recorded(entry.clone()).await?;
        self.refuse_if_unauditable().await?;
        // The batches go to the inner backend: one audit entry for the whole action.
        let result = self.inner.delete_matching(request, cancel, progress).await;
        entry.affected = result.as_ref().ok().map(|r| r.deleted);
        entry.outcome = outcome_text(&result, |r| {
            if r.cancelled {
                "cancelled".to_owned()
            } else {
                "ok".to_owned()
            }
        });
        self.append(entry).await;
        result
    }
}
