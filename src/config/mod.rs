//! What the app keeps about where to connect and what it did: connection specs and their
//! URLs, saved profiles, remembered secrets (OS keyring, vault), `.env` import, other tools'
//! connection files, the audit log
//! file and the first-run demo cache.

use std::path::{Path, PathBuf};

pub mod audit;
pub mod connection;
pub mod demo;
pub mod envimport;
pub mod foreign;
pub mod profiles;
pub mod secrets;
pub mod transfer;
pub mod uistate;

/// A free backup name beside `path`: `profiles.ron.<why>-<unix time>.bak`.
pub(crate) fn backup_path(path: &Path, why: &str) -> PathBuf {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    let mut candidate = path.with_file_name(format!("{name}.{why}-{stamp}.bak"));
    let mut n = 1;
    while std::fs::symlink_metadata(&candidate).is_ok() {
        candidate = path.with_file_name(format!("{name}.{why}-{stamp}-{n}.bak"));
        n += 1;
    }
    candidate
}

/// Writes `bytes` to `path` atomically and privately (0600 when new): an unguessable temp file
/// made with `O_EXCL|O_NOFOLLOW` in the same directory, then renamed, so nothing planted there is
/// ever written through. `fallback` names the file when `path` has no usable name.
pub(crate) fn write_private(path: &Path, bytes: &[u8], fallback: &str) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(fallback);
    crate::core::safefs::SafeDir::open_or_create(dir)
        .and_then(|d| d.write_atomic(name, bytes, Some(0o600)))
}
