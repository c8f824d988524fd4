//! Keys moved as whole values, over any backend (export, import, copy): a key read into a
//! [`Record`] — every page of a collection, a long string in chunks, or its `DUMP` — and a
//! batch of records written with a conflict policy.

use bytes::Bytes;

use super::ops::Chunks;
use super::{BackendError, BackendResult, CacheBackend};
use crate::core::model::{
    BatchOutcome, Expect, FullValue, KeyType, NewValue, OnConflict, PageCursor, Record,
    RecordValue, Ttl, TtlChange, ValueItems, WriteOp, WriteOutcome,
};

/// Items read per page of a collection.
const PAGE_ITEMS: u32 = 1_000;
/// Keys read, or written, at once (the multiplexed connection pipelines them).
const KEYS_IN_FLIGHT: usize = 64;
/// Writes sent at once.
const WRITES_IN_FLIGHT: usize = 64;

/// The keys a transfer takes: those a listing finds, or a list (the keys marked in the app).
#[derive(Debug, Clone, PartialEq)]
pub enum KeySource {
    /// Every key a pattern (and type) matches.
    Pattern(crate::core::model::ScanRequest),
    /// These keys.
    Keys(Vec<Bytes>),
}

/// Keys of a [`KeySource`] a page at a time.
enum KeyPages<'a, B: ?Sized> {
    Listing(super::ops::Pages<'a, B>),
    Listed(std::slice::Chunks<'a, Bytes>),
}

impl<'a, B: CacheBackend + ?Sized> KeyPages<'a, B> {
    fn new(backend: &'a B, source: &'a KeySource) -> Self {
        match source {
            KeySource::Pattern(request) => {
                Self::Listing(super::ops::Pages::new(backend, request, 0))
            }
            KeySource::Keys(keys) => Self::Listed(keys.chunks(1_000)),
        }
    }

    async fn next(&mut self) -> BackendResult<Option<Vec<Bytes>>> {
        match self {
            Self::Listing(pages) => Ok(pages.next().await?.map(|p| p.keys)),
            Self::Listed(chunks) => Ok(chunks.next().map(<[Bytes]>::to_vec)),
        }
    }
}

fn now_ms() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0)
}

/// Reads `key` whole (or its `DUMP` payload when `dump`); `None` when it is gone.
///
/// # Errors
/// The read failed, or the key is of a type only `DUMP` can move (a module's).
pub async fn read_record<B: CacheBackend + ?Sized>(
    backend: &B,
    key: &Bytes,
    dump: bool,
) -> BackendResult<Option<Record>> {
    if dump {
        let dumped = backend.dump(std::slice::from_ref(key)).await?;
        return Ok(dumped.into_iter().flatten().next().map(|d| Record {
            key: key.clone(),
            ttl_ms: d
                .expire_at_unix_ms
                .map(|at| at.saturating_sub(now_ms()).max(1)),
            value: RecordValue::Dump(d.payload),
        }));
    }
    let details = match backend.key_details(key).await {
        Ok(details) => details,
        Err(BackendError::KeyNotFound(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let ttl_ms = match details.meta.ttl {
        Ttl::ExpiresInMs(ms) => Some(ms.max(1)),
        Ttl::Persistent | Ttl::Unknown => None,
    };
    let key_type = details.meta.key_type;
    let value = match read_value(backend, key, &key_type).await {
        Ok(value) => value,
        Err(BackendError::KeyNotFound(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(Some(Record {
        key: key.clone(),
        ttl_ms,
        value: RecordValue::Value(value),
    }))
}

/// Every page of a value, as one.
async fn read_value<B: CacheBackend + ?Sized>(
    backend: &B,
    key: &Bytes,
    key_type: &KeyType,
) -> BackendResult<FullValue> {
    if let KeyType::Other(name) = key_type {
        return Err(BackendError::Unsupported(format!(
            "`{}` is a {name}: only a DUMP export moves it",
            crate::core::escape::escape_bytes(key)
        )));
    }
    let mut value = match key_type {
        KeyType::Hash => FullValue::Hash(Vec::new()),
        KeyType::List => FullValue::List(Vec::new()),
        KeyType::Set => FullValue::Set(Vec::new()),
        KeyType::ZSet => FullValue::ZSet(Vec::new()),
        KeyType::Stream => FullValue::Stream(Vec::new()),
        KeyType::Json => FullValue::Json(String::new()),
        KeyType::String | KeyType::Other(_) => FullValue::String(Bytes::new()),
    };
    let mut cursor = PageCursor::Start;
    loop {
        let page = backend
            .read_page(key, key_type, &cursor, PAGE_ITEMS)
            .await?;
        match (&mut value, page.items) {
            (FullValue::String(out), ValueItems::String { bytes, total_len }) => {
                *out = if total_len > bytes.len() as u64 {
                    whole_string(backend, key, total_len).await?
                } else {
                    bytes
                };
            }
            (FullValue::Hash(out), ValueItems::Hash(items)) => out.extend(items),
            (FullValue::List(out), ValueItems::List(items))
            | (FullValue::Set(out), ValueItems::Set(items)) => out.extend(items),
            (FullValue::ZSet(out), ValueItems::ZSet(items)) => out.extend(items),
            (FullValue::Stream(out), ValueItems::Stream(items)) => out.extend(items),
            (FullValue::Json(out), ValueItems::Json(text)) => *out = text,
            _ => {
                return Err(BackendError::Server {
                    command: "read".into(),
                    reason: format!(
                        "`{}` changed type while it was read",
                        crate::core::escape::escape_bytes(key)
                    ),
                });
            }
        }
        match page.next {
            Some(next) => cursor = next,
            None => return Ok(value),
        }
    }
}

/// A string longer than a preview, read in chunks.
async fn whole_string<B: CacheBackend + ?Sized>(
    backend: &B,
    key: &[u8],
    total: u64,
) -> BackendResult<Bytes> {
    let mut out = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    let mut chunks = Chunks::new(backend, key, total);
    while let Some(chunk) = chunks.next().await? {
        out.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(out))
}

/// The write of one record: a whole value, a `DUMP`, or, for a store of strings only, the
/// string writes it knows.
fn write_of(record: &Record, replace: bool, strings_only: bool) -> Result<WriteOp, String> {
    let key = record.key.clone();
    let ttl_ms = record.ttl_ms;
    match &record.value {
        RecordValue::Value(FullValue::String(bytes)) if strings_only => {
            let ttl = ttl_ms.map_or(TtlChange::Persist, TtlChange::InMs);
            Ok(if replace {
                WriteOp::SetString {
                    key,
                    value: bytes.clone(),
                    ttl,
                    expect: Expect::Any,
                }
            } else {
                WriteOp::Create {
                    key,
                    value: NewValue::String(bytes.clone()),
                    ttl,
                }
            })
        }
        RecordValue::Value(value) if strings_only => Err(format!(
            "a {} cannot be stored here: this cache holds strings only",
            value.key_type().label()
        )),
        RecordValue::Value(value) => Ok(WriteOp::Put {
            key,
            value: value.clone(),
            ttl_ms,
            replace,
        }),
        RecordValue::Dump(_) if strings_only => {
            Err("a DUMP payload restores only into Redis".to_owned())
        }
        RecordValue::Dump(payload) => Ok(WriteOp::RestoreDump {
            key,
            payload: payload.clone(),
            ttl_ms,
            replace,
        }),
    }
}

/// Writes `records` through `backend` (the body of [`CacheBackend::import_batch`]).
///
/// # Errors
/// The backend failed as a whole (unreachable, refused); a key it could not take is counted
/// in [`BatchOutcome::failed`] instead.
pub async fn import_batch_with<B: CacheBackend + ?Sized>(
    backend: &B,
    records: &[Record],
    on_conflict: OnConflict,
) -> BackendResult<BatchOutcome> {
    use futures_util::StreamExt as _;
    let mut outcome = BatchOutcome::default();
    let keys: Vec<Bytes> = records.iter().map(|r| r.key.clone()).collect();
    let existing = backend.key_meta(&keys).await?;
    let strings_only = backend.capabilities().value_types == [KeyType::String];
    // What to write, decided in the file's order (a stop cuts the batch there) ...
    let mut writes = Vec::with_capacity(records.len());
    for (record, there) in records.iter().zip(existing) {
        let replace = match (there.is_some(), on_conflict) {
            (false, _) => false,
            (true, OnConflict::Replace) => true,
            (true, OnConflict::Skip) => {
                outcome.skipped += 1;
                continue;
            }
            (true, OnConflict::Stop) => {
                outcome.stopped_at = Some(record.key.clone());
                break;
            }
        };
        match write_of(record, replace, strings_only) {
            Ok(op) => writes.push((record.key.clone(), op)),
            Err(why) => outcome.failed.push((record.key.clone(), why)),
        }
    }
    // ... then written several at a time (the connection pipelines them).
    let mut results = futures_util::stream::iter(writes)
        .map(|(key, op)| async move { (key, backend.write(&op).await) })
        .buffered(WRITES_IN_FLIGHT);
    while let Some((key, result)) = results.next().await {
        match result {
            Ok(WriteOutcome::Done(_)) => outcome.written += 1,
            // It appeared since it was looked for.
            Ok(WriteOutcome::TargetExists) if on_conflict == OnConflict::Stop => {
                outcome.stopped_at.get_or_insert(key);
            }
            Ok(WriteOutcome::TargetExists | WriteOutcome::Conflict) => outcome.skipped += 1,
            Err(
                e @ (BackendError::Invalid(_)
                | BackendError::Unsupported(_)
                | BackendError::Server { .. }
                | BackendError::KeyExists { .. }),
            ) => outcome.failed.push((key, e.to_string())),
            Err(e) => return Err(e),
        }
    }
    Ok(outcome)
}

/// What an export did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportSummary {
    /// Keys written to the file.
    pub exported: u64,
    /// Keys that went away between the listing and their read.
    pub gone: u64,
    /// Keys that could not be exported in this format, and why (a module type outside DUMP).
    pub failed: Vec<(Bytes, String)>,
    /// Stopped before the end.
    pub cancelled: bool,
}

/// Writes every key `request` matches to `out` in `format`, a page at a time (nothing but
/// the page in hand is held, whatever the keyspace's size); `progress` hears the count after
/// each page. A key listed twice by `SCAN` (a rehash meanwhile) may appear twice.
///
/// `out` is written synchronously: call this where blocking is allowed (the command line,
/// or a blocking task).
///
/// # Errors
/// The server failed, or `out` could not be written.
pub async fn export_to<B: CacheBackend + ?Sized>(
    backend: &B,
    source: &KeySource,
    format: crate::core::keyfile::Format,
    base64: bool,
    out: &mut dyn std::io::Write,
    progress: &(dyn Fn(u64) + Send + Sync),
    cancel: &std::sync::atomic::AtomicBool,
) -> BackendResult<ExportSummary> {
    use crate::core::keyfile::{Format, Header, command_lines, record_line};
    let io = |e: std::io::Error| BackendError::File(e.to_string());
    let caps = backend.capabilities();
    if format == Format::Dump && backend.server_version().is_none() {
        return Err(BackendError::Unsupported(format!(
            "{} has no DUMP: export as jsonl",
            caps.kind_label
        )));
    }
    if format != Format::Commands {
        let header = Header {
            format,
            base64,
            source: backend.describe(),
            redis_version: backend.server_version(),
            hashed_names: caps.hashed_names,
        };
        writeln!(out, "{}", header.line()).map_err(io)?;
    }
    let mut summary = ExportSummary::default();
    let mut pages = KeyPages::new(backend, source);
    while let Some(keys) = pages.next().await? {
        if cancel.load(std::sync::atomic::Ordering::Relaxed) {
            summary.cancelled = true;
            return Ok(summary);
        }
        // A page's keys read several at a time, written in the listing's order.
        let read: Vec<_> = {
            use futures_util::StreamExt as _;
            futures_util::stream::iter(keys)
                .map(|key| async move {
                    let record = read_record(backend, &key, format == Format::Dump).await;
                    (key, record)
                })
                .buffered(KEYS_IN_FLIGHT)
                .collect()
                .await
        };
        for (key, result) in read {
            let record = match result {
                Ok(Some(record)) => record,
                Ok(None) => {
                    summary.gone += 1;
                    continue;
                }
                Err(e @ BackendError::Unsupported(_)) => {
                    summary.failed.push((key.clone(), e.to_string()));
                    continue;
                }
                Err(e) => return Err(e),
            };
            if format == Format::Commands {
                for line in command_lines(&record) {
                    writeln!(out, "{line}").map_err(io)?;
                }
            } else {
                writeln!(out, "{}", record_line(&record, base64)).map_err(io)?;
            }
            summary.exported += 1;
        }
        progress(summary.exported);
    }
    out.flush().map_err(io)?;
    Ok(summary)
}

/// What a copy did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopySummary {
    /// What the destination did with the keys read.
    pub written: BatchOutcome,
    /// Keys that went away between the listing and their read.
    pub gone: u64,
    /// Keys the source could not give as values (a module type).
    pub unreadable: Vec<(Bytes, String)>,
    /// Stopped before the end.
    pub cancelled: bool,
}

/// Copies every key `request` matches from `source` to `destination`, a listing page at a
/// time (read several keys at once, written as one batch through the destination's guard).
/// A name goes to a cache that stores names hashed (Laravel's file store) as its hash; from
/// one, the hashes are what there is to copy.
///
/// # Errors
/// Either side failed as a whole.
pub async fn copy_keys<S: CacheBackend + ?Sized, D: CacheBackend + ?Sized>(
    source: &S,
    destination: &D,
    keys: &KeySource,
    on_conflict: OnConflict,
    progress: &(dyn Fn(u64) + Send + Sync),
    cancel: &std::sync::atomic::AtomicBool,
) -> BackendResult<CopySummary> {
    use futures_util::StreamExt as _;
    let hash_names = destination.capabilities().hashed_names && !source.capabilities().hashed_names;
    let mut summary = CopySummary::default();
    let mut pages = KeyPages::new(source, keys);
    while let Some(page) = pages.next().await? {
        if cancel.load(std::sync::atomic::Ordering::Relaxed) {
            summary.cancelled = true;
            return Ok(summary);
        }
        let read: Vec<_> = futures_util::stream::iter(page)
            .map(|key| async move {
                let record = read_record(source, &key, false).await;
                (key, record)
            })
            .buffered(KEYS_IN_FLIGHT)
            .collect()
            .await;
        let mut records = Vec::with_capacity(read.len());
        for (key, result) in read {
            match result {
                Ok(Some(mut record)) => {
                    if hash_names {
                        record.key = destination.capabilities().key_for_name(&record.key);
                    }
                    records.push(record);
                }
                Ok(None) => summary.gone += 1,
                Err(e @ BackendError::Unsupported(_)) => {
                    summary.unreadable.push((key.clone(), e.to_string()));
                }
                Err(e) => return Err(e),
            }
        }
        if records.is_empty() {
            continue;
        }
        let outcome = destination.import_batch(&records, on_conflict).await?;
        let stopped = summary.written.absorb(outcome);
        progress(summary.written.written);
        if stopped {
            return Ok(summary);
        }
    }
    Ok(summary)
}

/// Records written per batch of an import (one audit entry each).
pub const IMPORT_BATCH: usize = 500;
/// The longest line read from an import file (one key's record).
pub const MAX_LINE_BYTES: u64 = 512 << 20;

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// What the destination did.
    pub written: BatchOutcome,
    /// Stopped before the end (cancelled).
    pub cancelled: bool,
}

/// Reads one line of at most [`MAX_LINE_BYTES`]; `None` at the end.
///
/// # Errors
/// It cannot be read, is too long, or is not UTF-8.
pub fn next_line(
    reader: &mut dyn std::io::BufRead,
    number: usize,
) -> Result<Option<String>, String> {
    use std::io::BufRead as _;
    let mut buf = Vec::new();
    let n = std::io::Read::take(&mut *reader, MAX_LINE_BYTES + 1)
        .read_until(b'\n', &mut buf)
        .map_err(|e| format!("line {number}: {e}"))?;
    if n == 0 {
        return Ok(None);
    }
    if buf.len() as u64 > MAX_LINE_BYTES {
        return Err(format!(
            "line {number} is longer than {} MiB: not an export of this app",
            MAX_LINE_BYTES >> 20
        ));
    }
    String::from_utf8(buf)
        .map(|s| Some(s.trim_end_matches(['\n', '\r']).to_owned()))
        .map_err(|_| format!("line {number} is not UTF-8 text"))
}

/// Whether a file with `header` can be imported into `backend`: a DUMP export only into Redis
/// of the major version that made it.
///
/// # Errors
/// Why not.
pub fn check_header<B: CacheBackend + ?Sized>(
    backend: &B,
    header: &crate::core::keyfile::Header,
) -> Result<(), String> {
    use crate::core::keyfile::{Format, major};
    if header.format != Format::Dump {
        return Ok(());
    }
    let Some(destination) = backend.server_version() else {
        return Err("a DUMP export restores only into Redis: import a jsonl export here".into());
    };
    let made = header.redis_version.as_deref().unwrap_or("?");
    if major(made).is_none() || major(made) != major(&destination) {
        return Err(format!(
            "this DUMP export was made by Redis {made}; the destination runs Redis \
             {destination}: a DUMP payload restores only on the same major version. Export as \
             jsonl to move these keys"
        ));
    }
    Ok(())
}

/// Imports an export read from `reader` (its first line the header) into `backend`, in
/// batches of [`IMPORT_BATCH`]; `progress` hears the keys written after each batch.
/// `reader` is read synchronously: call this where blocking is allowed.
///
/// # Errors
/// The file is not an export (or one this destination cannot take), or the destination
/// failed as a whole.
pub async fn import_from<B: CacheBackend + ?Sized>(
    backend: &B,
    reader: &mut dyn std::io::BufRead,
    on_conflict: OnConflict,
    progress: &(dyn Fn(u64) + Send + Sync),
    cancel: &std::sync::atomic::AtomicBool,
) -> BackendResult<ImportSummary> {
    use crate::core::keyfile::{Header, parse_record};
    let file = |e: String| BackendError::File(e);
    let first = next_line(reader, 1)
        .map_err(file)?
        .ok_or_else(|| file("the file is empty".into()))?;
    let header = Header::parse(&first).map_err(file)?;
    check_header(backend, &header).map_err(BackendError::Invalid)?;
    // Names of a cache that stores them hashed are hashed on the way in; a file of such a
    // cache carries the hashes already.
    let hash_names = backend.capabilities().hashed_names && !header.hashed_names;
    let mut summary = ImportSummary::default();
    let mut number = 1;
    let mut batch: Vec<Record> = Vec::with_capacity(IMPORT_BATCH);
    loop {
        if cancel.load(std::sync::atomic::Ordering::Relaxed) {
            summary.cancelled = true;
            return Ok(summary);
        }
        let line = next_line(reader, number + 1).map_err(file)?;
        if let Some(line) = &line {
            number += 1;
            if !line.trim().is_empty() {
                let mut record =
                    parse_record(line, &header).map_err(|e| file(format!("line {number}: {e}")))?;
                if hash_names {
                    record.key = backend.capabilities().key_for_name(&record.key);
                }
                batch.push(record);
            }
        }
        if batch.len() >= IMPORT_BATCH || (line.is_none() && !batch.is_empty()) {
            let outcome = backend.import_batch(&batch, on_conflict).await?;
            batch.clear();
            let stopped = summary.written.absorb(outcome);
            progress(summary.written.written);
            if stopped {
                return Ok(summary);
            }
        }
        if line.is_none() {
            return Ok(summary);
        }
    }
}

/// [`export_to`] into the file at `path`, through a temp file renamed once the export is
/// done (never through a symlink): the file is whole, or — failed or cancelled — not there.
/// Blocks: call it where blocking is allowed, with `handle` the runtime the backend runs on.
///
/// # Errors
/// The server failed, or the file could not be written.
#[expect(clippy::too_many_arguments, reason = "export_to's, and where to")]
pub fn export_file<B: CacheBackend + ?Sized>(
    handle: &tokio::runtime::Handle,
    backend: &B,
    keys: &KeySource,
    format: crate::core::keyfile::Format,
    base64: bool,
    path: &std::path::Path,
    progress: &(dyn Fn(u64) + Send + Sync),
    cancel: &std::sync::atomic::AtomicBool,
) -> BackendResult<ExportSummary> {
    let mut outcome = None;
    let written = crate::core::safefs::write_file_atomic_with(path, Some(0o600), |file| {
        let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
        let summary = handle.block_on(export_to(
            backend, keys, format, base64, &mut out, progress, cancel,
        ));
        let keep = matches!(&summary, Ok(s) if !s.cancelled);
        outcome = Some(summary);
        if keep {
            std::io::Write::flush(&mut out)
        } else {
            Err(std::io::Error::other("not finished: nothing is kept"))
        }
    });
    let file = |e: std::io::Error| BackendError::File(format!("{}: {e}", path.display()));
    let summary = match outcome {
        None => {
            return Err(file(written.err().unwrap_or_else(|| {
                std::io::Error::other("the file was not written")
            })));
        }
        Some(summary) => summary?,
    };
    if !summary.cancelled {
        written.map_err(file)?;
    }
    Ok(summary)
}
