//! Exports, imports and copies run for the app: the file work on the blocking pool (an
//! export streams into a temp file renamed at the end; an import reads line by line), the
//! cache work through the connection's guard, progress after each batch, a summary at the end.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use super::tasks::Job;
use super::{EventKind, TransferSummary};
use crate::backend::transfer::{KeySource, export_file, import_from};
use crate::backend::{BackendError, BackendResult, CacheBackend};
use crate::core::keyfile::Format;
use crate::core::model::OnConflict;

impl Job {
    /// A progress callback for synchronous code: each count is sent by a task of its own (the
    /// caller never waits on the UI).
    fn transfer_progress(&self) -> impl Fn(u64) + Send + Sync + use<> {
        let handle = tokio::runtime::Handle::current();
        let (events, conn, req) = (self.events.clone(), self.conn, self.req);
        move |n| {
            let events = events.clone();
            handle
                .spawn(async move { events.conn(conn, req, EventKind::TransferProgress(n)).await });
        }
    }

    async fn finish(self, result: BackendResult<TransferSummary>) {
        let kind = match result {
            Ok(summary) => EventKind::TransferDone(summary),
            Err(e) => EventKind::Failed(e),
        };
        self.events.conn(self.conn, self.req, kind).await;
    }

    /// Writes `keys` to `path` (nothing is left there when it fails or is cancelled).
    pub async fn export(
        self,
        keys: KeySource,
        format: Format,
        base64: bool,
        path: PathBuf,
        cancel: Arc<AtomicBool>,
    ) {
        let handle = tokio::runtime::Handle::current();
        let backend = self.backend.clone();
        let progress = self.transfer_progress();
        let work = tokio::task::spawn_blocking(move || {
            let summary = export_file(
                &handle,
                backend.as_ref(),
                &keys,
                format,
                base64,
                &path,
                &progress,
                &cancel,
            )?;
            Ok(TransferSummary {
                done: summary.exported,
                gone: summary.gone,
                failed: summary.failed,
                cancelled: summary.cancelled,
                ..TransferSummary::default()
            })
        })
        .await
        .unwrap_or_else(|e| Err(BackendError::Internal(format!("the export stopped: {e}"))));
        self.finish(work).await;
    }

    /// Imports the export in `path`.
    pub async fn import(self, path: PathBuf, on_conflict: OnConflict, cancel: Arc<AtomicBool>) {
        let handle = tokio::runtime::Handle::current();
        let backend = self.backend.clone();
        let progress = self.transfer_progress();
        let work = tokio::task::spawn_blocking(move || {
            let file = std::fs::File::open(&path)
                .map_err(|e| BackendError::File(format!("{}: {e}", path.display())))?;
            let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
            let summary = handle.block_on(import_from(
                backend.as_ref(),
                &mut reader,
                on_conflict,
                &progress,
                &cancel,
            ))?;
            let w = summary.written;
            Ok(TransferSummary {
                done: w.written,
                skipped: w.skipped,
                failed: w.failed,
                stopped_at: w.stopped_at,
                cancelled: summary.cancelled,
                ..TransferSummary::default()
            })
        })
        .await
        .unwrap_or_else(|e| Err(BackendError::Internal(format!("the import stopped: {e}"))));
        self.finish(work).await;
    }

    /// Copies `keys` into `destination` (another open connection, through its guard).
    pub async fn copy(
        self,
        destination: Arc<dyn CacheBackend>,
        keys: KeySource,
        on_conflict: OnConflict,
        cancel: Arc<AtomicBool>,
    ) {
        let progress = self.transfer_progress();
        let result = crate::backend::transfer::copy_keys(
            self.backend.as_ref(),
            destination.as_ref(),
            &keys,
            on_conflict,
            &progress,
            &cancel,
        )
        .await
        .map(|summary| {
            let w = summary.written;
            let mut failed = summary.unreadable;
            failed.extend(w.failed);
            TransferSummary {
                done: w.written,
                skipped: w.skipped,
                gone: summary.gone,
                failed,
                stopped_at: w.stopped_at,
                cancelled: summary.cancelled,
            }
        });
        self.finish(result).await;
    }
}

/// The answer to a [`super::CommandKind::PreviewImport`].
///
/// # Errors
/// The file cannot be read, or is not an export of this app.
pub async fn previewed(path: PathBuf) -> BackendResult<EventKind> {
    let (header, records) = tokio::task::spawn_blocking(move || preview_import(&path))
        .await
        .map_err(|e| BackendError::Internal(format!("the preview stopped: {e}")))?
        .map_err(BackendError::File)?;
    Ok(EventKind::ImportPreviewed { header, records })
}

/// What an import file holds: its header, and how many records follow.
///
/// # Errors
/// It cannot be read, or is not an export of this app.
pub fn preview_import(
    path: &std::path::Path,
) -> Result<(crate::core::keyfile::Header, u64), String> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    let first = crate::backend::transfer::next_line(&mut reader, 1)?
        .ok_or_else(|| format!("{} is empty", path.display()))?;
    let header = crate::core::keyfile::Header::parse(&first)?;
    // Records are lines: count them without reading them into memory.
    let mut lines = 0u64;
    let mut last = b'\n';
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = reader.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        lines += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
        last = buf[n - 1];
    }
    if last != b'\n' {
        lines += 1;
    }
    Ok((header, lines))
}
