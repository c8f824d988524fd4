//! Work for the app as a whole, off the UI thread: connection tests and the files the app
//! reads and writes (profiles, `.env` imports, the audit log, the demo database, CSV exports).
//! Blocking file calls run on tokio's blocking pool, never on a runtime worker.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::{AppCommand, AppEvent, EventSender, ReqId, SecretAnswer, SecretOp};
use crate::backend::{self, ConnectOptions};
use crate::config::profiles::SaveJob;
use crate::config::secrets::{SecretPlaces, SecretStores};

/// The app-level work in progress.
#[derive(Default)]
pub(super) struct Files {
    /// The newest profiles save written so far: an older one that finishes later is skipped,
    /// so the file always ends as the newest save left it.
    profiles_written: Arc<Mutex<u64>>,
    /// The secret stores, with the vault unlocked (or not) for this session.
    secrets: Arc<Mutex<Option<Arc<SecretStores>>>>,
}

impl Files {
    /// The secret stores at `places` (the same ones, vault unlocked or not, as the app's).
    pub fn secret_stores(&self, places: SecretPlaces) -> Arc<SecretStores> {
        stores(&self.secrets, places)
    }

    /// Starts `kind`; its answer comes as one event for `req`.
    pub fn spawn(&self, events: &EventSender, req: ReqId, kind: AppCommand) {
        let events = events.clone();
        let written = self.profiles_written.clone();
        let secrets = self.secrets.clone();
        tokio::spawn(async move {
            let answer = run(kind, written, &secrets).await;
            events.app(req, answer).await;
        });
    }
}

/// The stores at `places`: the same ones (and their unlocked vault) while the places stay.
fn stores(held: &Mutex<Option<Arc<SecretStores>>>, places: SecretPlaces) -> Arc<SecretStores> {
    // A poisoned lock only means a panic while swapping the handle; the handle is whole.
    let mut held = held
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    match held.as_ref() {
        Some(stores) if *stores.places() == places => stores.clone(),
        _ => {
            let stores = Arc::new(SecretStores::new(places));
            *held = Some(stores.clone());
            stores
        }
    }
}

async fn secret(stores: &SecretStores, op: SecretOp) -> SecretAnswer {
    match op {
        SecretOp::VaultStatus => SecretAnswer::VaultStatus(stores.vault_status().await),
        SecretOp::UnlockVault(passphrase) => {
            SecretAnswer::VaultUnlocked(stores.unlock_vault(passphrase).await)
        }
        SecretOp::Load(name, store) => {
            let result = stores.load(&name, store).await;
            SecretAnswer::Loaded {
                name,
                store,
                result,
            }
        }
        SecretOp::Keep(name, store, value) => {
            let result = stores.keep(&name, store, value).await;
            SecretAnswer::Kept {
                name,
                store,
                result,
            }
        }
        SecretOp::Forget(profile, kinds) => {
            let result = stores.forget(&profile, &kinds).await;
            SecretAnswer::Changed { profile, result }
        }
        SecretOp::Rename {
            from,
            to,
            stores: kinds,
        } => {
            let result = stores.rename(&from, &to, &kinds).await;
            SecretAnswer::Changed {
                profile: to,
                result,
            }
        }
        SecretOp::PruneVault(profiles) => SecretAnswer::Pruned(stores.prune_vault(profiles).await),
    }
}

async fn run(
    kind: AppCommand,
    written: Arc<Mutex<u64>>,
    secrets: &Mutex<Option<Arc<SecretStores>>>,
) -> AppEvent {
    match kind {
        AppCommand::ExportProfiles {
            path,
            profiles,
            passphrase,
            places,
        } => {
            let stores = stores(secrets, places);
            AppEvent::ProfilesExported(export_profiles(&stores, path, profiles, passphrase).await)
        }
        AppCommand::ReadImport { path } => {
            let read = path.clone();
            AppEvent::ImportRead(
                path,
                blocking(move || {
                    let bytes = crate::config::transfer::read_file(&read)?;
                    crate::config::transfer::read(&bytes, None, None).map_err(|e| e.to_string())
                })
                .await,
            )
        }
        AppCommand::UnsealImport { sealed, passphrase } => AppEvent::ImportUnsealed(
            blocking(move || {
                crate::config::transfer::unseal(&sealed, &passphrase).map_err(|e| e.to_string())
            })
            .await,
        ),
        AppCommand::Secret { places, op } => {
            let stores = stores(secrets, places);
            AppEvent::Secret(secret(&stores, op).await)
        }
        AppCommand::Test {
            spec,
            password,
            ssh,
        } => AppEvent::Tested(
            backend::connect(
                &spec,
                password.as_ref(),
                &ConnectOptions {
                    ssh,
                    ..ConnectOptions::default()
                },
            )
            .await
            .map(|b| b.describe()),
        ),
        AppCommand::Discover {
            spec,
            api_key,
            session_token,
        } => AppEvent::Discovered(
            backend::dreamfactory::discover(&spec, api_key.as_ref(), session_token.as_ref()).await,
        ),
        AppCommand::SaveProfiles(job) => {
            AppEvent::ProfilesSaved(blocking(move || save_profiles(&job, &written)).await)
        }
        AppCommand::ReadEnv { path } => AppEvent::EnvRead(
            blocking(move || crate::config::envimport::profiles_from_env(&path)).await,
        ),
        AppCommand::ReadAudit { log, filter, limit } => AppEvent::Audit(
            blocking(move || {
                log.read(&filter, limit)
                    .map_err(|e| format!("cannot read {}: {e}", log.path().display()))
            })
            .await,
        ),
        AppCommand::ExportAudit { log, filter, path } => {
            AppEvent::AuditExported(blocking(move || export_audit(&log, &filter, path)).await)
        }
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
    // An unguessable temp file beside it (never a symlink followed), then a rename: the file
    // is whole or untouched, and a file that was there keeps its owner and mode.
    crate::core::safefs::write_file_atomic_with(path, None, |file| {
        std::io::Write::write_all(file, bytes)
    })
    .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Writes the entries `filter` matches (the newest `EXPORT_MAX`) to `path`; returns
/// the path, how many were written and how many matched.
fn export_audit(
    log: &crate::config::audit::AuditLog,
    filter: &crate::config::audit::AuditFilter,
    path: PathBuf,
) -> Result<(PathBuf, u64, u64), String> {
    use crate::config::audit::{EXPORT_MAX, ExportFormat, export};
    let read = log
        .read(filter, EXPORT_MAX)
        .map_err(|e| format!("cannot read {}: {e}", log.path().display()))?;
    // Oldest first, as the log itself runs.
    let entries: Vec<_> = read.entries.into_iter().rev().collect();
    let bytes = export(&entries, ExportFormat::for_path(&path))?;
    write_whole(&path, &bytes)?;
    Ok((path, entries.len() as u64, read.matching))
}

/// Gathers the secrets (when sealing), seals and writes an export.
async fn export_profiles(
    stores: &SecretStores,
    path: PathBuf,
    profiles: Vec<crate::config::profiles::Profile>,
    passphrase: Option<crate::config::connection::Secret>,
) -> Result<(usize, usize, Vec<String>), String> {
    let (found, mut notes) = match &passphrase {
        Some(_) => stores.gather(&profiles).await,
        None => (Vec::new(), Vec::new()),
    };
    if passphrase.is_some() && found.is_empty() && notes.is_empty() {
        notes.push("none of them has a remembered password: nothing was sealed".to_owned());
    }
    // Nothing to seal: no empty sealed block that an importer would be asked to open.
    let passphrase = passphrase.filter(|_| !found.is_empty());
    let count = (profiles.len(), found.len());
    blocking(move || {
        let sealed = passphrase
            .as_ref()
            .map(|p| crate::config::transfer::ExportSecrets {
                passphrase: p,
                secrets: found,
            });
        let text = crate::config::transfer::export(&profiles, sealed).map_err(|e| e.to_string())?;
        crate::config::write_private(&path, text.as_bytes(), "profiles-export.json")
            .map_err(|e| format!("cannot write {}: {e}", path.display()))
    })
    .await
    .map(|()| (count.0, count.1, notes))
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
        assert_eq!(
            std::fs::read_dir(dir.path()).expect("list").count(),
            1,
            "no temp file is left"
        );
        let err = write_whole(&dir.path().join("no/such/dir/m.csv"), b"x").expect_err("bad");
        assert!(err.contains("no/such/dir/m.csv"), "{err}");
    }
}
