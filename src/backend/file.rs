//! The file cache backend: a Laravel-style cache directory (DreamFactory's "Local" and "File").
//!
//! Each entry is a file at `<sha1[0..2]>/<sha1[2..4]>/<sha1(key)>` holding a 10-digit expiry
//! (Unix seconds; `9999999999` for never) followed by the serialized value. Key names are
//! hashed, so entries are listed by hash; a key typed by name is hashed to find its file.
//! All file work runs on tokio's blocking pool.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use bytes::Bytes;

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

/// The expiry Laravel writes for entries that never expire.
const FOREVER: u64 = 9_999_999_999;
const HEADER: usize = 10;

/// A cache directory.
pub struct FileBackend {
    dir: PathBuf,
    capabilities: Capabilities,
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// The largest entry read whole (a viewer page or an edit); bigger files are refused with a
/// clear error instead of filling memory.
const MAX_ENTRY_BYTES: u64 = 512 << 20;
/// How much of an entry a listing row reads for its preview.
const PREVIEW_BYTES: usize = 64 << 10;

/// The entry hash a backend key names. Keys here *are* hashes (listings show them; a typed
/// name is hashed by [`Capabilities::key_for_name`] first), so a key that is not one is an
/// error rather than something to hash: hashing here would let the name `sha1("a")` reach
/// the entry of `a`.
fn entry_hash(key: &[u8]) -> BackendResult<&str> {
    match std::str::from_utf8(key) {
        Ok(k) if is_hex(k, 40) => Ok(k),
        _ => Err(BackendError::Invalid(format!(
            "`{}` is not a file cache entry: entries are named by the sha1 of their key \
             (Open key hashes a name; on the command line give the name, or --hashed with a \
             listed hash)",
            crate::core::escape::escape_bytes(key)
        ))),
    }
}

pub(super) fn io_err(path: &Path) -> impl Fn(std::io::Error) -> BackendError + '_ {
    move |e| BackendError::File(format!("{}: {e}", path.display()))
}

/// One entry as read from disk.
struct Entry {
    expiry: u64,
    value: Vec<u8>,
}

fn parse(path: &Path, mut content: Vec<u8>) -> BackendResult<Entry> {
    let Some(expiry) = parse_expiry(&content) else {
        return Err(BackendError::File(format!(
            "{} is not a cache entry (no 10-digit expiry at its start)",
            path.display()
        )));
    };
    Ok(Entry {
        expiry,
        value: content.split_off(HEADER),
    })
}

fn parse_expiry(content: &[u8]) -> Option<u64> {
    let header = content.get(..HEADER)?;
    if !header.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(header).ok()?.parse().ok()
}

fn ttl_of(expiry: u64, now_secs: u64) -> Ttl {
    if expiry >= FOREVER {
        Ttl::Persistent
    } else {
        Ttl::ExpiresInMs(expiry.saturating_sub(now_secs).saturating_mul(1000))
    }
}

fn expiry_for(ttl: TtlChange, current: Option<u64>, now_secs: u64) -> u64 {
    match ttl {
        TtlChange::Keep => current.unwrap_or(FOREVER),
        TtlChange::Persist => FOREVER,
        TtlChange::InMs(ms) => now_secs.saturating_add(ms.div_ceil(1000)),
        TtlChange::AtUnixMs(at) => at / 1000,
    }
    .min(FOREVER)
}

/// Where an entry lives: `<root>/<h[0..2]>/<h[2..4]>/<h>` (for messages and details).
fn entry_path(root: &Path, hash: &str) -> PathBuf {
    root.join(&hash[..2]).join(&hash[2..4]).join(hash)
}

/// The directory holding an entry, reached without following a symlink; `None` when it does
/// not exist.
fn leaf(root: &SafeDir, hash: &str) -> std::io::Result<Option<SafeDir>> {
    let Some(a) = root.subdir(&hash[..2])? else {
        return Ok(None);
    };
    a.subdir(&hash[2..4])
}

/// Writes a whole entry atomically (see [`SafeDir::write_atomic`]): never through a planted
/// symlink, keeping the owner, group and mode of the file it replaces.
fn write_entry(root: &SafeDir, hash: &str, expiry: u64, value: &[u8]) -> BackendResult<()> {
    let path = entry_path(root.path(), hash);
    let dir = root
        .subdir_create(&hash[..2])
        .and_then(|a| a.subdir_create(&hash[2..4]))
        .map_err(io_err(&path))?;
    let mut content = format!("{:010}", expiry.min(FOREVER)).into_bytes();
    content.extend_from_slice(value);
    dir.write_atomic(hash, &content, None)
        .map_err(io_err(&path))
}

/// Reads an entry; `None` when there is none.
fn read_entry_at(root: &SafeDir, hash: &str) -> BackendResult<Option<Entry>> {
    let path = entry_path(root.path(), hash);
    match leaf(root, hash).map_err(io_err(&path))? {
        Some(dir) => read_in(&dir, &path, hash),
        None => Ok(None),
    }
}

/// Reads the entry `hash` in its own directory `dir` (a symlink there is refused).
fn read_in(dir: &SafeDir, path: &Path, hash: &str) -> BackendResult<Option<Entry>> {
    match dir.read(hash, MAX_ENTRY_BYTES).map_err(io_err(path))? {
        Some(content) => parse(path, content).map(Some),
        None => Ok(None),
    }
}

/// Removes an entry file and then its two hash directories once empty (Laravel leaves them;
/// nothing else is removed). False when there was no such entry.
fn remove_entry(root: &SafeDir, hash: &str) -> BackendResult<bool> {
    let path = entry_path(root.path(), hash);
    let Some(a) = root.subdir(&hash[..2]).map_err(io_err(&path))? else {
        return Ok(false);
    };
    let Some(b) = a.subdir(&hash[2..4]).map_err(io_err(&path))? else {
        return Ok(false);
    };
    let removed = b.remove_file(hash).map_err(io_err(&path))?;
    if removed && a.remove_empty_dir(&hash[2..4]) {
        let _ = root.remove_empty_dir(&hash[..2]);
    }
    Ok(removed)
}

/// Calls `visit` with every entry: `<2 hex>/<2 hex>/<40 hex>` regular files, reached without
/// following any symlink (a symlinked hash directory or entry is skipped), nothing else.
fn walk(root: &SafeDir, mut visit: impl FnMut(&SafeDir, &str)) -> BackendResult<()> {
    for (a_name, kind) in root.entries().map_err(io_err(root.path()))? {
        if kind != EntryKind::Dir || !is_hex(&a_name, 2) {
            continue;
        }
        let Ok(Some(a)) = root.subdir(&a_name) else {
            continue; // replaced by a symlink meanwhile, or gone
        };
        for (b_name, kind) in a.entries().map_err(io_err(a.path()))? {
            if kind != EntryKind::Dir || !is_hex(&b_name, 2) {
                continue;
            }
            let Ok(Some(b)) = a.subdir(&b_name) else {
                continue;
            };
            for (name, kind) in b.entries().map_err(io_err(b.path()))? {
                if kind == EntryKind::File
                    && is_hex(&name, 40)
                    && name.starts_with(&a_name)
                    && name[2..].starts_with(&b_name)
                {
                    visit(&b, &name);
                }
            }
        }
    }
    Ok(())
}

impl FileBackend {
    /// Opens a cache directory (it must exist).
    ///
    /// # Errors
    /// The directory is missing or not a directory.
    pub async fn open(spec: &FileSpec) -> BackendResult<Self> {
        existing_dir(&spec.dir).await?;
        Ok(Self {
            dir: spec.dir.clone(),
            capabilities: Capabilities {
                listing_note: Some(
                    "a file cache stores hashed key names: entries are listed by their sha1, and \
                     \"Open key\" finds one by its name"
                        .to_owned(),
                ),
                purge_expired: true,
                hashed_names: true,
                ..Capabilities::string_store("File cache")
            },
        })
    }

    /// Runs file work on the blocking pool with the cache directory held open.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&SafeDir) -> BackendResult<T> + Send + 'static,
    ) -> BackendResult<T> {
        blocking_in(&self.dir, work).await
    }

    async fn read_entry(&self, key: &[u8]) -> BackendResult<Option<Entry>> {
        let hash = entry_hash(key)?.to_owned();
        self.blocking(move |root| read_entry_at(root, &hash)).await
    }

    /// The entry a write replaces. A symlink (or anything but a file) planted at the entry's
    /// name is not an entry: it is never read through, and the write's rename replaces the
    /// link itself.
    async fn current_entry(&self, key: &[u8]) -> BackendResult<Option<Entry>> {
        let hash = entry_hash(key)?.to_owned();
        self.blocking(move |root| {
            let path = entry_path(root.path(), &hash);
            let Some(dir) = leaf(root, &hash).map_err(io_err(&path))? else {
                return Ok(None);
            };
            match dir.kind(&hash).map_err(io_err(&path))? {
                Some(EntryKind::File) => read_in(&dir, &path, &hash),
                Some(EntryKind::Dir) => Err(BackendError::File(format!(
                    "{} is a directory, not a cache entry",
                    path.display()
                ))),
                Some(EntryKind::Other) | None => Ok(None),
            }
        })
        .await
    }

    async fn write_at(&self, key: &[u8], expiry: u64, value: &[u8]) -> BackendResult<()> {
        let hash = entry_hash(key)?.to_owned();
        let value = value.to_vec();
        self.blocking(move |root| write_entry(root, &hash, expiry, &value))
            .await
    }

    /// Removes every entry `keep` does not keep (it gets the entry's first bytes).
    fn remove_where(root: &SafeDir, keep: impl Fn(&[u8]) -> bool) -> BackendResult<u64> {
        let mut doomed = Vec::new();
        walk(root, |dir, name| {
            let head = dir
                .read_head(name, HEADER)
                .ok()
                .flatten()
                .map(|(h, _)| h)
                .unwrap_or_default();
            if !keep(&head) {
                doomed.push(name.to_owned());
            }
        })?;
        let mut removed = 0;
        for hash in doomed {
            if remove_entry(root, &hash)? {
                removed += 1;
            }
        }
        Ok(removed)
    }
}

/// Checks that `dir` is there and is a directory (a backend over it opens).
pub(super) async fn existing_dir(dir: &Path) -> BackendResult<()> {
    let meta = tokio::fs::metadata(dir)
        .await
        .map_err(|e| BackendError::Connect {
            target: dir.display().to_string(),
            reason: e.to_string(),
        })?;
    if meta.is_dir() {
        Ok(())
    } else {
        Err(BackendError::Config(format!(
            "{} is not a directory",
            dir.display()
        )))
    }
}

/// Runs file work on the blocking pool with `dir` held open (as a [`SafeDir`]).
pub(super) async fn blocking_in<T: Send + 'static>(
    dir: &Path,
    work: impl FnOnce(&SafeDir) -> BackendResult<T> + Send + 'static,
) -> BackendResult<T> {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let root = SafeDir::open(&dir).map_err(io_err(&dir))?;
        work(&root)
    })
    .await
    .map_err(|e| BackendError::File(e.to_string()))?
}

fn now_secs() -> u64 {
    crate::core::ttl::now_unix_ms() / 1000
}

/// A row's preview of a value: decoded where a decoder claims it, else its first bytes.
pub(super) fn preview(value: &[u8]) -> String {
    let text = match crate::core::decode::detect(value, None) {
        Some(Ok(d)) => crate::core::decode::to_json(&d.node).to_string(),
        _ => crate::core::escape::escape_bytes(&value[..value.len().min(200)]),
    };
    text.chars().take(60).collect()
}

#[async_trait]
impl CacheBackend for FileBackend {
    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    fn describe(&self) -> String {
        format!("File cache at {}", self.dir.display())
    }

    async fn databases(&self) -> BackendResult<Vec<DbInfo>> {
        Ok(Vec::new())
    }

    async fn key_count(&self) -> BackendResult<u64> {
        self.blocking(|root| {
            let mut n = 0;
            walk(root, |_, _| n += 1)?;
            Ok(n)
        })
        .await
    }

    async fn stats(&self) -> BackendResult<Vec<(String, crate::core::metrics::RawStats)>> {
        let label = self.dir.display().to_string();
        let stats = self
            .blocking(|root| {
                let now = now_secs();
                let (mut entries, mut expired, mut size) = (0u64, 0u64, 0u64);
                walk(root, |dir, name| {
                    // Only the 10-byte expiry header is read; the size comes from metadata.
                    let Ok(Some((header, len))) = dir.read_head(name, HEADER) else {
                        return; // removed while counting
                    };
                    entries += 1;
                    size += len.saturating_sub(HEADER as u64);
                    // Laravel treats an entry as gone from its expiry second on.
                    if parse_expiry(&header).is_some_and(|e| e < FOREVER && e <= now) {
                        expired += 1;
                    }
                })?;
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
        // A local directory listing is fast: one page holds every matching entry.
        let pattern = request.pattern.clone();
        let wanted = request
            .type_filter
            .as_ref()
            .is_none_or(|t| *t == KeyType::String);
        let keys = self
            .blocking(move |root| {
                let mut names = Vec::new();
                walk(root, |_, name| {
                    if wanted && crate::core::glob::matches(&pattern, name.as_bytes()) {
                        names.push(name.to_owned());
                    }
                })?;
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
        let hashes: Vec<Option<String>> = keys
            .iter()
            .map(|k| entry_hash(k).ok().map(str::to_owned))
            .collect();
        self.blocking(move |root| {
            let now = now_secs();
            Ok(hashes
                .iter()
                .map(|hash| {
                    let hash = hash.as_deref()?;
                    // A row needs the expiry, the size and a preview: the file's head only.
                    let dir = leaf(root, hash).ok()??;
                    let (head, len) = dir.read_head(hash, HEADER + PREVIEW_BYTES).ok()??;
                    let expiry = parse_expiry(&head)?;
                    Some(KeyMeta {
                        key_type: KeyType::String,
                        ttl: ttl_of(expiry, now),
                        size_bytes: Some(len.saturating_sub(HEADER as u64)),
                        server: None,
                        idle_secs: None,
                        preview: Some(preview(&head[HEADER..])),
                    })
                })
                .collect())
        })
        .await
    }

    async fn key_details(&self, key: &[u8]) -> BackendResult<KeyDetails> {
        let entry = self
            .read_entry(key)
            .await?
            .ok_or_else(|| key_not_found(key))?;
        let path = entry_path(&self.dir, entry_hash(key)?);
        Ok(KeyDetails {
            meta: KeyMeta {
                key_type: KeyType::String,
                ttl: ttl_of(entry.expiry, now_secs()),
                size_bytes: Some(entry.value.len() as u64),
                server: None,
                idle_secs: None,
                preview: Some(preview(&entry.value)),
            },
            encoding: None,
            length: entry.value.len() as u64,
            extra: vec![
                ("File".to_owned(), path.display().to_string()),
                (
                    "Expires at".to_owned(),
                    if entry.expiry >= FOREVER {
                        "never".to_owned()
                    } else {
                        crate::core::format::expiry_text(
                            i64::try_from(entry.expiry).unwrap_or(i64::MAX),
                            i64::try_from(now_secs()).unwrap_or(i64::MAX),
                        )
                    },
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
        let entry = self
            .read_entry(key)
            .await?
            .ok_or_else(|| key_not_found(key))?;
        Ok(whole_string_page(cursor, Bytes::from(entry.value)))
    }

    async fn read_string_range(&self, key: &[u8], offset: u64, len: u64) -> BackendResult<Bytes> {
        let entry = self
            .read_entry(key)
            .await?
            .ok_or_else(|| key_not_found(key))?;
        Ok(clamped_range(&entry.value, offset, len))
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
                let current = self.current_entry(key).await?;
                if !expect.holds(current.as_ref().map(|e| e.value.as_ref())) {
                    return Ok(WriteOutcome::Conflict);
                }
                let expiry = expiry_for(*ttl, current.map(|e| e.expiry), now);
                self.write_at(key, expiry, value).await?;
                Ok(WriteOutcome::Done(1))
            }
            WriteOp::SetTtl { key, ttl } => {
                let entry = self
                    .read_entry(key)
                    .await?
                    .ok_or_else(|| key_not_found(key))?;
                let expiry = expiry_for(*ttl, Some(entry.expiry), now);
                self.write_at(key, expiry, &entry.value).await?;
                Ok(WriteOutcome::Done(1))
            }
            WriteOp::Create { key, value, ttl } => {
                let NewValue::String(value) = value else {
                    return Err(BackendError::Unsupported(
                        "a file cache holds plain values only".to_owned(),
                    ));
                };
                if self.current_entry(key).await?.is_some() {
                    return Ok(WriteOutcome::TargetExists);
                }
                let expiry = expiry_for(*ttl, None, now);
                self.write_at(key, expiry, value).await?;
                Ok(WriteOutcome::Done(1))
            }
            WriteOp::Delete { keys } => {
                let hashes = keys
                    .iter()
                    .map(|k| entry_hash(k).map(str::to_owned))
                    .collect::<BackendResult<Vec<_>>>()?;
                self.blocking(move |root| {
                    let mut n = 0;
                    for hash in &hashes {
                        if remove_entry(root, hash)? {
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
                    if self.read_entry(&k.key).await?.is_some() {
                        return Err(BackendError::File(format!(
                            "`{}` exists again; it was not replaced",
                            crate::core::escape::escape_bytes(&k.key)
                        )));
                    }
                    let expiry = k.expire_at_unix_ms.map_or(FOREVER, |at| at / 1000);
                    self.write_at(&k.key, expiry, &k.payload).await?;
                    restored += 1;
                }
                Ok(WriteOutcome::Done(restored))
            }
            WriteOp::FlushDb | WriteOp::FlushAll | WriteOp::Flush { .. } => {
                let n = self
                    .blocking(|root| Self::remove_where(root, |_| false))
                    .await?;
                Ok(WriteOutcome::Done(n))
            }
            WriteOp::PurgeExpired => {
                let n = self
                    .blocking(move |root| {
                        Self::remove_where(root, |head| parse_expiry(head).is_some_and(|e| e > now))
                    })
                    .await?;
                Ok(WriteOutcome::Done(n))
            }
            _ => Err(BackendError::Unsupported(
                "a file cache holds plain values: this edit is not possible here".to_owned(),
            )),
        }
    }

    async fn dump(&self, keys: &[Bytes]) -> BackendResult<Vec<Option<DumpedKey>>> {
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            let entry = self.read_entry(key).await?;
            out.push(entry.map(|e| DumpedKey {
                key: key.clone(),
                payload: Bytes::from(e.value),
                expire_at_unix_ms: (e.expiry < FOREVER).then_some(e.expiry * 1000),
            }));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_entry_hashes_and_names_are_hashed_like_laravel() {
        let caps = Capabilities {
            hashed_names: true,
            ..Capabilities::string_store("File cache")
        };
        let h = sha1_smol::Sha1::from("user:1").digest().to_string();
        assert_eq!(caps.key_for_name(b"user:1"), h.as_bytes());
        assert_eq!(entry_hash(h.as_bytes()).ok(), Some(h.as_str()));
        assert_eq!(
            caps.key_for_name(h.as_bytes()),
            sha1_smol::Sha1::from(h.as_str())
                .digest()
                .to_string()
                .as_bytes(),
            "a name that looks like a hash is a name: it is hashed too"
        );
        assert!(entry_hash(b"user:1").is_err(), "a name is not an entry");
        assert!(entry_hash(h.to_uppercase().as_bytes()).is_err());
    }

    #[test]
    fn ttls_follow_the_expiry_header() {
        assert_eq!(ttl_of(FOREVER, 100), Ttl::Persistent);
        assert_eq!(ttl_of(160, 100), Ttl::ExpiresInMs(60_000));
        assert_eq!(ttl_of(50, 100), Ttl::ExpiresInMs(0), "expired");
        assert_eq!(expiry_for(TtlChange::InMs(90_000), None, 100), 190);
        assert_eq!(expiry_for(TtlChange::Keep, Some(150), 100), 150);
        assert_eq!(expiry_for(TtlChange::Persist, Some(150), 100), FOREVER);
    }
}
