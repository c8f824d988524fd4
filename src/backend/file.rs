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
use crate::connection::FileSpec;
use crate::model::{
    DbInfo, DumpedKey, KeyDetails, KeyMeta, KeyType, NewValue, PageCursor, ScanPage, ScanRequest,
    Ttl, TtlChange, ValuePage, WriteOp, WriteOutcome,
};

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

/// The hash naming a key's file: the key itself when it already is one, else its sha1.
fn hash_of(key: &[u8]) -> String {
    match std::str::from_utf8(key) {
        Ok(k) if is_hex(k, 40) => k.to_owned(),
        _ => sha1_smol::Sha1::from(key).digest().to_string(),
    }
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> BackendError + '_ {
    move |e| BackendError::File(format!("{}: {e}", path.display()))
}

/// One entry as read from disk.
struct Entry {
    expiry: u64,
    value: Vec<u8>,
}

fn parse(path: &Path, mut content: Vec<u8>) -> BackendResult<Entry> {
    let header = content
        .get(..HEADER)
        .and_then(|h| std::str::from_utf8(h).ok());
    let Some(expiry) = header.and_then(|h| h.parse::<u64>().ok()) else {
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

fn ttl_of(expiry: u64, now_secs: u64) -> Ttl {
    if expiry >= FOREVER {
        Ttl::Persistent
    } else {
        Ttl::ExpiresInMs(expiry.saturating_sub(now_secs) * 1000)
    }
}

fn expiry_for(ttl: TtlChange, current: Option<u64>, now_secs: u64) -> u64 {
    match ttl {
        TtlChange::Keep => current.unwrap_or(FOREVER),
        TtlChange::Persist => FOREVER,
        TtlChange::InMs(ms) => now_secs + ms.div_ceil(1000),
        TtlChange::AtUnixMs(at) => at / 1000,
    }
}

/// Writes a whole entry atomically: a temp file in the same directory, then a rename.
fn write_entry(path: &Path, expiry: u64, value: &[u8]) -> BackendResult<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let tmp = dir.join(format!(".cache-console-{}.tmp", std::process::id()));
    let mut content = format!("{:010}", expiry.min(FOREVER)).into_bytes();
    content.extend_from_slice(value);
    std::fs::write(&tmp, &content)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io_err(path)(e)
        })
}

impl FileBackend {
    /// Opens a cache directory (it must exist).
    ///
    /// # Errors
    /// The directory is missing or not a directory.
    pub async fn open(spec: &FileSpec) -> BackendResult<Self> {
        let meta = tokio::fs::metadata(&spec.dir)
            .await
            .map_err(|e| BackendError::Connect {
                target: spec.dir.display().to_string(),
                reason: e.to_string(),
            })?;
        if !meta.is_dir() {
            return Err(BackendError::Config(format!(
                "{} is not a directory",
                spec.dir.display()
            )));
        }
        Ok(Self {
            dir: spec.dir.clone(),
            capabilities: Capabilities {
                listing_note: Some(
                    "a file cache stores hashed key names: entries are listed by their sha1, and \
                     \"Open key\" finds one by its name"
                        .to_owned(),
                ),
                purge_expired: true,
                ..Capabilities::string_store("File cache")
            },
        })
    }

    fn path_of(&self, key: &[u8]) -> PathBuf {
        let hash = hash_of(key);
        self.dir.join(&hash[..2]).join(&hash[2..4]).join(&hash)
    }

    /// Every entry file: `<2 hex>/<2 hex>/<40 hex>`, nothing else in the directory.
    fn entries(dir: &Path) -> BackendResult<Vec<(String, PathBuf)>> {
        let mut out = Vec::new();
        let read = |p: &Path| std::fs::read_dir(p).map_err(io_err(p));
        for a in read(dir)?.flatten() {
            let a_name = a.file_name().to_string_lossy().into_owned();
            if !is_hex(&a_name, 2) || !a.path().is_dir() {
                continue;
            }
            for b in read(&a.path())?.flatten() {
                let b_name = b.file_name().to_string_lossy().into_owned();
                if !is_hex(&b_name, 2) || !b.path().is_dir() {
                    continue;
                }
                for f in read(&b.path())?.flatten() {
                    let name = f.file_name().to_string_lossy().into_owned();
                    if is_hex(&name, 40)
                        && name.starts_with(&a_name)
                        && name[2..].starts_with(&b_name)
                    {
                        out.push((name, f.path()));
                    }
                }
            }
        }
        Ok(out)
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Path) -> BackendResult<T> + Send + 'static,
    ) -> BackendResult<T> {
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || work(&dir))
            .await
            .map_err(|e| BackendError::File(e.to_string()))?
    }

    async fn read_entry(&self, key: &[u8]) -> BackendResult<Option<Entry>> {
        let path = self.path_of(key);
        self.blocking(move |_| match std::fs::read(&path) {
            Ok(content) => parse(&path, content).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(&path)(e)),
        })
        .await
    }

    fn remove_where(dir: &Path, keep: impl Fn(&Path) -> bool) -> BackendResult<u64> {
        let mut removed = 0;
        for (_, path) in Self::entries(dir)? {
            if keep(&path) {
                continue;
            }
            std::fs::remove_file(&path).map_err(io_err(&path))?;
            removed += 1;
            // Laravel leaves the two hash directories; remove them once empty, nothing else.
            for parent in path.ancestors().skip(1).take(2) {
                if std::fs::remove_dir(parent).is_err() {
                    break;
                }
            }
        }
        Ok(removed)
    }
}

fn now_secs() -> u64 {
    crate::ttl::now_unix_ms() / 1000
}

fn preview(value: &[u8]) -> String {
    let text = match crate::decode::detect(value, None) {
        Some(Ok(d)) => crate::decode::to_json(&d.node).to_string(),
        _ => crate::escape::escape_bytes(&value[..value.len().min(200)]),
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
        self.blocking(|dir| Ok(Self::entries(dir)?.len() as u64))
            .await
    }

    async fn stats(&self) -> BackendResult<Vec<(String, crate::metrics::RawStats)>> {
        let label = self.dir.display().to_string();
        let stats = self
            .blocking(|dir| {
                let now = now_secs();
                let (mut expired, mut size) = (0u64, 0u64);
                let entries = Self::entries(dir)?;
                for (_, path) in &entries {
                    // Only the 10-byte expiry header is read; the size comes from metadata.
                    let mut header = [0u8; 10];
                    let Ok(mut file) = std::fs::File::open(path) else {
                        continue; // removed while counting
                    };
                    let len = file.metadata().map_or(0, |m| m.len());
                    if std::io::Read::read_exact(&mut file, &mut header).is_err() {
                        continue;
                    }
                    size += len.saturating_sub(10);
                    let expiry = std::str::from_utf8(&header)
                        .ok()
                        .and_then(|h| h.parse::<u64>().ok());
                    // Laravel treats an entry as gone from its expiry second on.
                    if expiry.is_some_and(|e| e < FOREVER && e <= now) {
                        expired += 1;
                    }
                }
                Ok(crate::metrics::RawStats {
                    keys: Some(entries.len() as u64),
                    expired_entries: Some(expired),
                    total_size: Some(size),
                    ..crate::metrics::RawStats::default()
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
            .blocking(move |dir| {
                let mut names: Vec<String> = Self::entries(dir)?
                    .into_iter()
                    .map(|(name, _)| name)
                    .filter(|name| wanted && crate::glob::matches(&pattern, name.as_bytes()))
                    .collect();
                names.sort();
                Ok(names)
            })
            .await?;
        Ok(ScanPage {
            keys: keys.into_iter().map(Bytes::from).collect(),
            next_cursor: 0,
            progress: 1.0,
        })
    }

    async fn key_meta(&self, keys: &[Bytes]) -> BackendResult<Vec<Option<KeyMeta>>> {
        let paths: Vec<PathBuf> = keys.iter().map(|k| self.path_of(k)).collect();
        self.blocking(move |_| {
            let now = now_secs();
            Ok(paths
                .iter()
                .map(|path| {
                    let content = std::fs::read(path).ok()?;
                    let entry = parse(path, content).ok()?;
                    Some(KeyMeta {
                        key_type: KeyType::String,
                        ttl: ttl_of(entry.expiry, now),
                        size_bytes: Some(entry.value.len() as u64),
                        server: None,
                        idle_secs: None,
                        preview: Some(preview(&entry.value)),
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
        let path = self.path_of(key);
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
                        entry.expiry.to_string()
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
                let current = self.read_entry(key).await?;
                match (expect, &current) {
                    (Some(Some(_)), None) | (Some(None), Some(_)) => {
                        return Ok(WriteOutcome::Conflict);
                    }
                    (Some(Some(old)), Some(entry)) if entry.value != old.as_ref() => {
                        return Ok(WriteOutcome::Conflict);
                    }
                    _ => {}
                }
                let expiry = expiry_for(*ttl, current.map(|e| e.expiry), now);
                let path = self.path_of(key);
                let value = value.clone();
                self.blocking(move |_| write_entry(&path, expiry, &value))
                    .await?;
                Ok(WriteOutcome::Done(1))
            }
            WriteOp::SetTtl { key, ttl } => {
                let entry = self
                    .read_entry(key)
                    .await?
                    .ok_or_else(|| key_not_found(key))?;
                let expiry = expiry_for(*ttl, Some(entry.expiry), now);
                let path = self.path_of(key);
                self.blocking(move |_| write_entry(&path, expiry, &entry.value))
                    .await?;
                Ok(WriteOutcome::Done(1))
            }
            WriteOp::Create { key, value, ttl } => {
                let NewValue::String(value) = value else {
                    return Err(BackendError::Config(
                        "a file cache holds plain values only".to_owned(),
                    ));
                };
                if self.read_entry(key).await?.is_some() {
                    return Ok(WriteOutcome::TargetExists);
                }
                let expiry = expiry_for(*ttl, None, now);
                let path = self.path_of(key);
                let value = value.clone();
                self.blocking(move |_| write_entry(&path, expiry, &value))
                    .await?;
                Ok(WriteOutcome::Done(1))
            }
            WriteOp::Delete { keys } => {
                let paths: Vec<PathBuf> = keys.iter().map(|k| self.path_of(k)).collect();
                self.blocking(move |_| {
                    let mut n = 0;
                    for path in &paths {
                        match std::fs::remove_file(path) {
                            Ok(()) => n += 1,
                            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                            Err(e) => return Err(io_err(path)(e)),
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
                            crate::escape::escape_bytes(&k.key)
                        )));
                    }
                    let path = self.path_of(&k.key);
                    let expiry = k.expire_at_unix_ms.map_or(FOREVER, |at| at / 1000);
                    let value = k.payload.clone();
                    self.blocking(move |_| write_entry(&path, expiry, &value))
                        .await?;
                    restored += 1;
                }
                Ok(WriteOutcome::Done(restored))
            }
            WriteOp::FlushDb | WriteOp::FlushAll | WriteOp::Flush { .. } => {
                let n = self
                    .blocking(|dir| Self::remove_where(dir, |_| false))
                    .await?;
                Ok(WriteOutcome::Done(n))
            }
            WriteOp::PurgeExpired => {
                let n = self
                    .blocking(move |dir| {
                        Self::remove_where(dir, |path| {
                            let content = std::fs::read(path).unwrap_or_default();
                            parse(path, content).is_ok_and(|e| e.expiry > now)
                        })
                    })
                    .await?;
                Ok(WriteOutcome::Done(n))
            }
            _ => Err(BackendError::Config(
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
    fn keys_are_hashed_like_laravel_and_hashes_are_kept() {
        assert_eq!(
            hash_of(b"user:1"),
            sha1_smol::Sha1::from("user:1").digest().to_string()
        );
        let h = hash_of(b"user:1");
        assert_eq!(
            hash_of(h.as_bytes()),
            h,
            "a listed hash opens its own entry"
        );
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
