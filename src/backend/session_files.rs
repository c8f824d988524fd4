//! Laravel's file session driver: a directory (`storage/framework/sessions`) holding one file
//! per session, named by the session id and holding the serialized attributes. A session
//! ends its lifetime (`config/session.php`, minutes) after the file was last written: Laravel
//! reads only younger files and its garbage collection removes older ones, so the file's
//! modification time is the session's clock here too (a TTL change moves it).
//!
//! As in the file cache, nothing below the directory is followed through a symlink (every
//! step is relative to the open directory, `O_NOFOLLOW`), and a rewritten file keeps its
//! owner, group and mode.

use std::path::PathBuf;

use async_trait::async_trait;
use bytes::Bytes;

use super::file::{io_err, preview};
use super::{
    BackendError, BackendResult, CacheBackend, Capabilities, clamped_range, key_not_found,
    whole_string_page,
};
use crate::config::connection::FileSpec;
use crate::core::model::{
    DbInfo, DumpedKey, KeyDetails, KeyMeta, KeyType, NewValue, PageCursor, ScanPage, ScanRequest,
    Ttl, TtlChange, ValuePage, WriteOp, WriteOutcome,
};
use crate::core::safefs::{EntryKind, SafeDir};

/// The largest session read whole.
const MAX_SESSION_BYTES: u64 = 64 << 20;

/// A session made to last "forever" is written this far ahead (ten years), as Laravel's own
/// forever is; one this far ahead or more reads as having no TTL.
const FOREVER_SECS: i64 = 10 * 365 * 86_400;

/// A sessions directory.
pub struct SessionFiles {
    dir: PathBuf,
    /// A session's lifetime after its last write, in seconds.
    lifetime: i64,
    capabilities: Capabilities,
}

/// One session as read from disk.
struct Session {
    value: Vec<u8>,
    /// When its file was last written, Unix seconds.
    modified: i64,
}

/// Whether `name` can be a session id: what Laravel makes (40 letters and digits) and, more
/// loosely, any name of letters and digits; never a path, a dot file (`.gitignore`) or
/// anything to escape.
fn is_session_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 255 && name.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The session id a key names.
fn session_name(key: &[u8]) -> BackendResult<&str> {
    match std::str::from_utf8(key) {
        Ok(name) if is_session_name(name) => Ok(name),
        _ => Err(BackendError::Invalid(format!(
            "`{}` is not a session id: a session file is named by letters and digits",
            crate::core::escape::escape_bytes(key)
        ))),
    }
}

fn now_secs() -> i64 {
    i64::try_from(crate::core::ttl::now_unix_ms() / 1000).unwrap_or(i64::MAX)
}

impl SessionFiles {
    /// Opens a sessions directory (it must exist).
    ///
    /// # Errors
    /// The directory is missing or not a directory.
    pub async fn open(spec: &FileSpec, lifetime_min: u32) -> BackendResult<Self> {
        super::file::existing_dir(&spec.dir).await?;
        Ok(Self {
            dir: spec.dir.clone(),
            lifetime: i64::from(lifetime_min) * 60,
            capabilities: Capabilities {
                purge_expired: true,
                ..Capabilities::string_store("Session files")
            },
        })
    }

    /// Runs file work on the blocking pool with the directory held open.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&SafeDir) -> BackendResult<T> + Send + 'static,
    ) -> BackendResult<T> {
        super::file::blocking_in(&self.dir, work).await
    }

    async fn read(&self, key: &[u8]) -> BackendResult<Option<Session>> {
        let name = session_name(key)?.to_owned();
        self.blocking(move |root| read_at(root, &name)).await
    }

    /// Writes a session whole, its file last modified at `modified`.
    async fn write_at(&self, key: &[u8], value: &[u8], modified: i64) -> BackendResult<()> {
        let name = session_name(key)?.to_owned();
        let value = value.to_vec();
        self.blocking(move |root| {
            let path = root.path().join(&name);
            // A new session file is private, as PHP's session files are.
            root.write_atomic(&name, &value, Some(0o600))
                .and_then(|()| root.set_modified(&name, modified))
                .map_err(io_err(&path))
        })
        .await
    }

    fn expiry(&self, modified: i64) -> i64 {
        modified.saturating_add(self.lifetime)
    }

    fn ttl(&self, modified: i64, now: i64) -> Ttl {
        let left = self.expiry(modified) - now;
        if left >= FOREVER_SECS - 86_400 {
            Ttl::Persistent
        } else {
            Ttl::ExpiresInMs(u64::try_from(left.max(0)).unwrap_or(0) * 1000)
        }
    }

    /// When the file must say it was last written for the session to end as `ttl` says.
    fn modified_for(&self, ttl: TtlChange, current: Option<i64>, now: i64) -> i64 {
        match ttl {
            TtlChange::Keep => current.unwrap_or(now),
            TtlChange::Persist => now.saturating_add(FOREVER_SECS),
            TtlChange::InMs(ms) => now
                .saturating_add(i64::try_from(ms.div_ceil(1000)).unwrap_or(i64::MAX))
                .saturating_sub(self.lifetime),
            TtlChange::AtUnixMs(at) => i64::try_from(at / 1000)
                .unwrap_or(i64::MAX)
                .saturating_sub(self.lifetime),
        }
    }

    fn meta(&self, session: &Session, now: i64) -> KeyMeta {
        KeyMeta {
            key_type: KeyType::String,
            ttl: self.ttl(session.modified, now),
            size_bytes: Some(session.value.len() as u64),
            server: None,
            idle_secs: u64::try_from(now - session.modified).ok(),
            preview: Some(preview(&session.value)),
        }
    }

    /// Removes every session `doomed` says goes (it gets the file's modification time).
    async fn remove_where(
        &self,
        doomed: impl Fn(i64) -> bool + Send + 'static,
    ) -> BackendResult<u64> {
        self.blocking(move |root| {
            let mut removed = 0;
            for name in names(root)? {
                if let Ok(Some((modified, _))) = root.modified(&name)
                    && doomed(modified)
                    && root.remove_file(&name).map_err(io_err(root.path()))?
                {
                    removed += 1;
                }
            }
            Ok(removed)
        })
        .await
    }
}

/// The session files of the directory: regular files named like a session id (a symlink, a
/// directory or a dot file is none).
fn names(root: &SafeDir) -> BackendResult<Vec<String>> {
    Ok(root
        .entries()
        .map_err(io_err(root.path()))?
        .into_iter()
        .filter(|(name, kind)| *kind == EntryKind::File && is_session_name(name))
        .map(|(name, _)| name)
        .collect())
}

fn read_at(root: &SafeDir, name: &str) -> BackendResult<Option<Session>> {
    let path = root.path().join(name);
    let Some((modified, _)) = root.modified(name).map_err(io_err(&path))? else {
        return Ok(None);
    };
    Ok(root
        .read(name, MAX_SESSION_BYTES)
        .map_err(io_err(&path))?
        .map(|value| Session { value, modified }))
}

#[async_trait]
impl CacheBackend for SessionFiles {
    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    fn describe(&self) -> String {
        format!(
            "Laravel session files at {} (lifetime {} min)",
            self.dir.display(),
            self.lifetime / 60
        )
    }

    async fn databases(&self) -> BackendResult<Vec<DbInfo>> {
        Ok(Vec::new())
    }

    async fn key_count(&self) -> BackendResult<u64> {
        self.blocking(|root| Ok(names(root)?.len() as u64)).await
    }

    async fn stats(&self) -> BackendResult<Vec<(String, crate::core::metrics::RawStats)>> {
        let lifetime = self.lifetime;
        let label = self.dir.display().to_string();
        let stats = self
            .blocking(move |root| {
                let now = now_secs();
                let (mut entries, mut expired, mut size) = (0u64, 0u64, 0u64);
                for name in names(root)? {
                    if let Ok(Some((modified, len))) = root.modified(&name) {
                        entries += 1;
                        size += len;
                        if modified.saturating_add(lifetime) < now {
                            expired += 1;
                        }
                    }
                }
                Ok(crate::core::metrics::RawStats {
                    keys: Some(entries),
                    expired_entries: Some(expired),
                    total_size: Some(size),
                    ..crate::core::metrics::RawStats::default()
                })
            })
            .await?;
        Ok(vec![(label, stats)])
    }

    async fn scan(&self, request: &ScanRequest, _cursor: u64) -> BackendResult<ScanPage> {
        let pattern = request.pattern.clone();
        let wanted = request
            .type_filter
            .as_ref()
            .is_none_or(|t| *t == KeyType::String);
        let keys = self
            .blocking(move |root| {
                let mut names: Vec<String> = names(root)?
                    .into_iter()
                    .filter(|n| wanted && crate::core::glob::matches(&pattern, n.as_bytes()))
                    .collect();
                names.sort();
                Ok(names)
            })
            .await?;
        Ok(ScanPage::single(
            keys.into_iter().map(Bytes::from).collect(),
            0,
            1.0,
        ))
    }

    async fn key_meta(&self, keys: &[Bytes]) -> BackendResult<Vec<Option<KeyMeta>>> {
        let now = now_secs();
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            out.push(match self.read(key).await {
                Ok(found) => found.map(|s| self.meta(&s, now)),
                Err(BackendError::Invalid(_)) => None,
                Err(e) => return Err(e),
            });
        }
        Ok(out)
    }

    async fn key_details(&self, key: &[u8]) -> BackendResult<KeyDetails> {
        let session = self.read(key).await?.ok_or_else(|| key_not_found(key))?;
        let now = now_secs();
        let path = self.dir.join(session_name(key)?);
        Ok(KeyDetails {
            meta: self.meta(&session, now),
            encoding: None,
            length: session.value.len() as u64,
            extra: vec![
                ("File".to_owned(), path.display().to_string()),
                (
                    "Last written".to_owned(),
                    chrono::DateTime::from_timestamp(session.modified, 0).map_or_else(
                        || session.modified.to_string(),
                        |at| at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                    ),
                ),
                (
                    "Ends".to_owned(),
                    crate::core::format::expiry_text(self.expiry(session.modified), now),
                ),
            ],
            flags: None,
        })
    }

    async fn read_page(
        &self,
        key: &[u8],
        _key_type: &KeyType,
        cursor: &PageCursor,
        _page_size: u32,
    ) -> BackendResult<ValuePage> {
        let session = self.read(key).await?.ok_or_else(|| key_not_found(key))?;
        Ok(whole_string_page(cursor, Bytes::from(session.value)))
    }

    async fn read_string_range(&self, key: &[u8], offset: u64, len: u64) -> BackendResult<Bytes> {
        let session = self.read(key).await?.ok_or_else(|| key_not_found(key))?;
        Ok(clamped_range(&session.value, offset, len))
    }

    async fn write(&self, op: &WriteOp) -> BackendResult<WriteOutcome> {
        let now = now_secs();
        match op {
            WriteOp::SetString {
                key,
                value,
                ttl,
                expect,
            } => {
                let current = self.read(key).await?;
                if !expect.holds(current.as_ref().map(|s| s.value.as_slice())) {
                    return Ok(WriteOutcome::Conflict);
                }
                let modified = self.modified_for(*ttl, current.map(|s| s.modified), now);
                self.write_at(key, value, modified).await?;
                Ok(WriteOutcome::Done(1))
            }
            WriteOp::SetTtl { key, ttl } => {
                let session = self.read(key).await?.ok_or_else(|| key_not_found(key))?;
                let modified = self.modified_for(*ttl, Some(session.modified), now);
                self.write_at(key, &session.value, modified).await?;
                Ok(WriteOutcome::Done(1))
            }
            WriteOp::Create { key, value, ttl } => {
                let NewValue::String(value) = value else {
                    return Err(BackendError::Unsupported(
                        "a session file holds the session's serialized attributes".to_owned(),
                    ));
                };
                if self.read(key).await?.is_some() {
                    return Ok(WriteOutcome::TargetExists);
                }
                self.write_at(key, value, self.modified_for(*ttl, None, now))
                    .await?;
                Ok(WriteOutcome::Done(1))
            }
            WriteOp::Delete { keys } => {
                let names = keys
                    .iter()
                    .map(|k| session_name(k).map(str::to_owned))
                    .collect::<BackendResult<Vec<_>>>()?;
                self.blocking(move |root| {
                    let mut n = 0;
                    for name in &names {
                        if root.remove_file(name).map_err(io_err(root.path()))? {
                            n += 1;
                        }
                    }
                    Ok(WriteOutcome::Done(n))
                })
                .await
            }
            WriteOp::Restore { keys } => {
                let mut restored = 0;
                for k in keys {
                    if self.read(&k.key).await?.is_some() {
                        return Err(BackendError::KeyExists {
                            command: format!(
                                "restore {}",
                                crate::core::escape::escape_bytes(&k.key)
                            ),
                        });
                    }
                    let ttl = k
                        .expire_at_unix_ms
                        .map_or(TtlChange::Persist, TtlChange::AtUnixMs);
                    self.write_at(&k.key, &k.payload, self.modified_for(ttl, None, now))
                        .await?;
                    restored += 1;
                }
                Ok(WriteOutcome::Done(restored))
            }
            WriteOp::FlushDb | WriteOp::FlushAll | WriteOp::Flush { .. } => {
                Ok(WriteOutcome::Done(self.remove_where(|_| true).await?))
            }
            WriteOp::PurgeExpired => {
                let lifetime = self.lifetime;
                let n = self
                    .remove_where(move |modified| modified.saturating_add(lifetime) < now)
                    .await?;
                Ok(WriteOutcome::Done(n))
            }
            _ => Err(BackendError::Unsupported(
                "a session file holds the session's serialized attributes: this edit is not \
                 possible here"
                    .to_owned(),
            )),
        }
    }

    async fn dump(&self, keys: &[Bytes]) -> BackendResult<Vec<Option<DumpedKey>>> {
        let now = now_secs();
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            out.push(self.read(key).await?.map(|s| {
                let expire_at_unix_ms = match self.ttl(s.modified, now) {
                    Ttl::Persistent => None,
                    _ => u64::try_from(self.expiry(s.modified))
                        .ok()
                        .map(|secs| secs * 1000),
                };
                DumpedKey {
                    key: key.clone(),
                    payload: Bytes::from(s.value),
                    expire_at_unix_ms,
                }
            }));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_names_are_letters_and_digits_only() {
        assert!(is_session_name("Xq3tT0sFQ5bM1p2kYkFJ8z7nNrO4eW6vUaLcHdGi"));
        for bad in ["", ".gitignore", "a/b", "..", "a b", "ü", &"a".repeat(256)] {
            assert!(!is_session_name(bad), "{bad}");
        }
    }
}
