//! Work for the app as a whole, off the UI thread: connection tests and the files the app
//! reads and writes (profiles, `.env` imports, the audit log, the demo database, CSV exports).
//! Blocking file calls run on tokio's blocking pool, never on a runtime worker.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::{AppCommand, AppEvent, EventSender, ReqId};
use crate::backend::{self, ConnectOptions};
use crate::config::profiles::SaveJob;

/// The app-level work in progress.
#[derive(Default)]
pub(super) struct Files {
    /// The newest profiles save written so far: an older one that finishes later is skipped,
    /// so the file always ends as the newest save left it.
    profiles_written: Arc<Mutex<u64>>,
}

impl Files {
    /// Starts `kind`; its answer comes as one event for `req`.
    pub fn spawn(&self, events: &EventSender, req: ReqId, kind: AppCommand) {
        let events = events.clone();
        let written = self.profiles_written.clone();
        tokio::spawn(async move {
            let answer = run(kind, written).await;
            events.app(req, answer).await;
        });
    }
}

async fn run(kind: AppCommand, written: Arc<Mutex<u64>>) -> AppEvent {
    match kind {
        AppCommand::Test { spec, password } => AppEvent::Tested(
            backend::connect(&spec, password.as_ref(), &ConnectOptions::default())
                .await
                .map(|b| b.describe()),
        ),
        AppCommand::SaveProfiles(job) => {
            AppEvent::ProfilesSaved(blocking(move || save_profiles(&job, &written)).await)
        }
        AppCommand::ReadEnv { path } => AppEvent::EnvRead(
            blocking(move || crate::config::envimport::profiles_from_env(&path)).await,
        ),
        AppCommand::ReadAudit { log, limit } => AppEvent::Audit(
            blocking(move || {
                log.recent(limit)
                    .map_err(|e| format!("cannot read {}: {e}", log.path().display()))
            })
            .await,
        ),
        AppCommand::ResetDemo { path } => AppEvent::DemoReset(
            crate::config::demo::seed(&path)
                .await
                .map_err(|e| format!("demo reset failed: {e}")),
        ),
        AppCommand::SaveUi(job) => AppEvent::UiSaved(blocking(move || job.run()).await),
        AppCommand::WriteCsv { path, points } => AppEvent::CsvWritten(
            blocking(move || {
                let csv = crate::core::metrics::to_csv(&points);
                write_whole(&path, csv.as_bytes()).map(|()| path)
            })
            .await,
        ),
    }
}

/// Runs blocking file work on tokio's blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| Err(format!("the file work stopped unexpectedly: {e}")))
}

fn save_profiles(job: &SaveJob, written: &Mutex<u64>) -> Result<(), String> {
    // A poisoned lock only means another save panicked; the counter it guards is still right.
    let mut newest = written
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if job.generation() <= *newest {
        return Ok(());
    }
    job.run().map_err(|e| e.to_string())?;
    *newest = job.generation();
    Ok(())
}

/// Writes `bytes` to `path` whole or not at all (a temp file beside it, then a rename).
///
/// # Errors
/// The file cannot be written; the message names it.
pub fn write_whole(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let tmp: PathBuf = path.with_extension("partial");
    let fail = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
    std::fs::write(&tmp, bytes).map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        fail(e)
    })
}

#[cfg(test)]
mod tests {
    use super::write_whole;

    #[test]
    fn a_file_is_written_whole_and_a_bad_path_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("m.csv");
        write_whole(&path, b"time\n").expect("write");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "time\n");
        assert!(!dir.path().join("m.partial").exists());
        let err = write_whole(&dir.path().join("no/such/dir/m.csv"), b"x").expect_err("bad");
        assert!(err.contains("no/such/dir/m.csv"), "{err}");
    }
}
