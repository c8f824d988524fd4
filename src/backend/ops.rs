//! Work over any backend made of its primitives: walking every page of a listing, counting
//! what a pattern matches, deleting by pattern. The service, the command line, the analysis and
//! the backends' own pattern deletes all walk listings through [`Pages`].

use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;

use super::{BackendError, BackendResult, BulkResult, CacheBackend};
use crate::core::model::{BulkProgress, ScanPage, ScanRequest, WriteOp};

/// The pages of one listing, walked from a cursor until the backend says it is complete.
/// Where the backend reads ahead ([`CacheBackend::scan_feed`]: Redis, pipelined and within
/// the request's scan budget) the pages come from its feed; otherwise one
/// [`CacheBackend::scan`] a page.
pub struct Pages<'a, B: ?Sized> {
    backend: &'a B,
    request: &'a ScanRequest,
    /// Where the next page starts; `None` once the listing is complete.
    cursor: Option<u64>,
    /// The backend's read-ahead, once asked for.
    feed: Feed,
}

/// Where a walk's pages come from.
enum Feed {
    /// Not asked yet (or to be asked again after a failure).
    Unasked,
    /// The backend reads ahead into this.
    Ahead(tokio::sync::mpsc::Receiver<BackendResult<ScanPage>>),
    /// The backend has no read-ahead: one `scan` a page.
    PageByPage,
}

impl<'a, B: CacheBackend + ?Sized> Pages<'a, B> {
    /// The listing `request` asks for, from `from_cursor` (0: the beginning).
    pub fn new(backend: &'a B, request: &'a ScanRequest, from_cursor: u64) -> Self {
        Self {
            backend,
            request,
            cursor: Some(from_cursor),
            feed: Feed::Unasked,
        }
    }

    /// The next page, or `None` when the listing is complete.
    ///
    /// # Errors
    /// The scan failed; the walk can be retried from [`Self::cursor`].
    pub async fn next(&mut self) -> BackendResult<Option<ScanPage>> {
        let Some(cursor) = self.cursor else {
            return Ok(None);
        };
        if matches!(self.feed, Feed::Unasked) {
            self.feed = match self.backend.scan_feed(self.request, cursor).await? {
                Some(feed) => Feed::Ahead(feed),
                None => Feed::PageByPage,
            };
        }
        let page = match &mut self.feed {
            Feed::Ahead(feed) => match feed.recv().await {
                Some(Ok(page)) => page,
                failed => {
                    // A retry opens a new feed from the cursor reached.
                    self.feed = Feed::Unasked;
                    return Err(failed.map_or(BackendError::ListingStopped, |e| {
                        e.err().unwrap_or(BackendError::ListingStopped)
                    }));
                }
            },
            Feed::Unasked | Feed::PageByPage => self.backend.scan(self.request, cursor).await?,
        };
        self.cursor = (page.next_cursor != 0).then_some(page.next_cursor);
        Ok(Some(page))
    }

    /// Where a later walk continues from; 0 when the listing is complete.
    #[must_use]
    pub fn cursor(&self) -> u64 {
        self.cursor.unwrap_or(0)
    }
}

/// How many distinct keys `request` matches, and the first `sample_size` of them (the preview
/// before a bulk delete). SCAN may return a key twice while the server rehashes: each counts
/// once.
///
/// # Errors
/// A scan failed.
pub async fn preview<B: CacheBackend + ?Sized>(
    backend: &B,
    request: &ScanRequest,
    sample_size: usize,
) -> BackendResult<(u64, Vec<Bytes>)> {
    let mut seen = crate::core::keyindex::KeyIndex::new("");
    let mut sample = Vec::with_capacity(sample_size);
    let mut pages = Pages::new(backend, request, 0);
    while let Some(page) = pages.next().await? {
        for key in page.keys {
            let before = seen.len();
            seen.insert(&key)
                .map_err(|e| BackendError::Internal(e.to_string()))?;
            if seen.len() > before && sample.len() < sample_size {
                sample.push(key);
            }
        }
    }
    Ok((seen.len() as u64, sample))
}

/// The delete-by-pattern loop: one SCAN page, then UNLINK of what it found, so the server is
/// never busy for long. Shared by every backend that can scan and delete.
///
/// # Errors
/// A scan or delete failed; the keys deleted before that stay deleted.
pub async fn delete_matching_with<B: CacheBackend + ?Sized>(
    backend: &B,
    request: &ScanRequest,
    cancel: &AtomicBool,
    progress: &(dyn Fn(BulkProgress) + Send + Sync),
) -> BackendResult<BulkResult> {
    let mut deleted = 0;
    let mut pages = Pages::new(backend, request, 0);
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Ok(BulkResult {
                deleted,
                cancelled: true,
            });
        }
        let Some(page) = pages.next().await? else {
            return Ok(BulkResult {
                deleted,
                cancelled: false,
            });
        };
        if !page.keys.is_empty() {
            deleted += backend
                .write(&WriteOp::Delete { keys: page.keys })
                .await?
                .changed();
        }
        progress(BulkProgress {
            deleted,
            progress: page.progress,
        });
    }
}

/// Bytes a string value is read in: no caller holds more than this of a big value at once.
pub const CHUNK_BYTES: u64 = 1 << 20;

/// A string value of `total` bytes, read from its start a [`CHUNK_BYTES`] chunk at a time.
pub struct Chunks<'a, B: ?Sized> {
    backend: &'a B,
    key: &'a [u8],
    offset: u64,
    total: u64,
}

impl<'a, B: CacheBackend + ?Sized> Chunks<'a, B> {
    /// The chunks of `key`, whose length is `total`.
    pub fn new(backend: &'a B, key: &'a [u8], total: u64) -> Self {
        Self {
            backend,
            key,
            offset: 0,
            total,
        }
    }

    /// The next chunk, or `None` at the end (or when the value shrank meanwhile).
    ///
    /// # Errors
    /// The read failed.
    pub async fn next(&mut self) -> BackendResult<Option<Bytes>> {
        if self.offset >= self.total {
            return Ok(None);
        }
        let len = CHUNK_BYTES.min(self.total - self.offset);
        let chunk = self
            .backend
            .read_string_range(self.key, self.offset, len)
            .await?;
        if chunk.is_empty() {
            self.offset = self.total;
            return Ok(None);
        }
        self.offset += chunk.len() as u64;
        Ok(Some(chunk))
    }

    /// Bytes read so far.
    #[must_use]
    pub fn read(&self) -> u64 {
        self.offset
    }
}
