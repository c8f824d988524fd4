//! Listing memcached's keys: `lru_crawler metadump all` on every server, read line by line
//! as it streams (never the whole dump in memory), filtered by the pattern and handed out in
//! pages.

use std::time::Duration;

use bytes::Bytes;
use tokio::io::AsyncWriteExt as _;
use tokio::sync::mpsc;

use super::MemcachedBackend;
use super::wire::read_line;
use crate::backend::{BackendError, BackendResult};
use crate::config::connection::MemcachedAddress;
use crate::core::model::{KeyType, ScanRequest};

/// How long the crawl may wait for a reader before it gives the server's crawler back.
const CRAWL_READER_PATIENCE: Duration = Duration::from_secs(20);

/// One message of a running crawl.
pub(super) enum CrawlMsg {
    Page(Vec<Bytes>, f64),
    Done,
    Failed(BackendError),
}

/// The key field of one `lru_crawler metadump` line (`key=<url-encoded> exp=… la=…`), still
/// percent-encoded; `None` for any other line (`END`, `BUSY`, an error).
#[must_use]
pub fn dump_line_key(line: &[u8]) -> Option<&[u8]> {
    let rest = line.strip_prefix(b"key=")?;
    let end = memchr::memchr2(b' ', b'\r', rest).unwrap_or(rest.len());
    Some(rest[..end].strip_suffix(b"\n").unwrap_or(&rest[..end]))
}

/// The key of one metadump line as bytes (percent-decoded), as listings show it.
#[must_use]
pub fn parse_dump_line(line: &[u8]) -> Option<Vec<u8>> {
    dump_line_key(line).map(|k| percent_encoding::percent_decode(k).collect())
}

/// Collects a page of keys into one buffer.
pub(super) struct PageBuilder {
    buf: Vec<u8>,
    ends: Vec<usize>,
}

impl PageBuilder {
    pub(super) fn with_capacity(keys: usize) -> Self {
        Self {
            buf: Vec::with_capacity(keys * 32),
            ends: Vec::with_capacity(keys),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Decodes a dumped (percent-encoded) key and keeps it if `keep` says so.
    pub(super) fn push_if(&mut self, encoded: &[u8], keep: impl Fn(&[u8]) -> bool) {
        let start = self.buf.len();
        if memchr::memchr(b'%', encoded).is_some() {
            self.buf.extend(percent_encoding::percent_decode(encoded));
        } else {
            self.buf.extend_from_slice(encoded);
        }
        if keep(&self.buf[start..]) {
            self.ends.push(self.buf.len());
        } else {
            self.buf.truncate(start);
        }
    }

    /// The keys so far, as slices of one shared buffer; starts a new page.
    pub(super) fn take(&mut self, next_capacity: usize) -> Vec<Bytes> {
        let ends = std::mem::replace(&mut self.ends, Vec::with_capacity(next_capacity));
        let buf = std::mem::replace(&mut self.buf, Vec::with_capacity(next_capacity * 32));
        crate::backend::split_packed(buf, ends)
    }
}

impl MemcachedBackend {
    /// Crawls every server's `lru_crawler metadump all`, one line at a time, sending pages of
    /// matching keys. Never holds the whole dump; a reader that stops taking pages for too long
    /// makes it hang up so the server's crawler is free again.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn crawl(
        dialer: crate::backend::net::Dialer,
        servers: Vec<MemcachedAddress>,
        labels: Vec<String>,
        connect_timeout: Duration,
        request: ScanRequest,
        total: u64,
        tx: mpsc::Sender<CrawlMsg>,
    ) {
        let wanted_type = request
            .type_filter
            .as_ref()
            .is_none_or(|t| *t == KeyType::String);
        let page_size = usize::try_from(request.count.max(100)).unwrap_or(1000);
        let mut seen: u64 = 0;
        // A page's keys live in one buffer and are handed out as slices of it: one allocation
        // per page instead of one per key, on this thread and when the UI drops them.
        let mut page = PageBuilder::with_capacity(page_size);
        for (addr, label) in servers.iter().zip(&labels) {
            if request
                .server
                .as_ref()
                .is_some_and(|wanted| wanted != label)
            {
                continue;
            }
            let result: BackendResult<bool> = async {
                let mut conn = Self::open(&dialer, addr, label, connect_timeout).await?;
                let io_err = |e: std::io::Error| BackendError::Connect {
                    target: label.clone(),
                    reason: e.to_string(),
                };
                conn.get_mut().write_all(b"lru_crawler metadump all\r\n").await.map_err(io_err)?;
                let mut line = Vec::with_capacity(512);
                loop {
                    line.clear();
                    if read_line(&mut conn, &mut line).await.map_err(io_err)? == 0 {
                        return Err(BackendError::Connect {
                            target: label.clone(),
                            reason: "the server closed the connection in the middle of the key listing".to_owned(),
                        });
                    }
                    if line.starts_with(b"END") {
                        return Ok(true);
                    }
                    let Some(encoded) = dump_line_key(&line) else {
                        let text = String::from_utf8_lossy(&line).trim().to_owned();
                        let reason = if text.starts_with("BUSY") {
                            format!("{label} is already dumping keys for another client; try again in a moment")
                        } else {
                            format!(
                                "{label} refuses to list its keys ({text}): it may run with -X or be too old. \
                                 You can still open keys by their exact name"
                            )
                        };
                        return Err(BackendError::Server {
                            command: "lru_crawler metadump".to_owned(),
                            reason,
                        });
                    };
                    seen += 1;
                    if wanted_type {
                        page.push_if(encoded, |key| crate::core::glob::matches(&request.pattern, key));
                    }
                    if page.len() >= page_size {
                        #[allow(clippy::cast_precision_loss)]
                        let progress = (seen as f64 / total.max(seen).max(1) as f64).min(0.999);
                        let msg = CrawlMsg::Page(page.take(page_size), progress);
                        match tokio::time::timeout(CRAWL_READER_PATIENCE, tx.send(msg)).await {
                            Ok(Ok(())) => {}
                            // Nobody reads any more: hang up, the crawler is released.
                            _ => return Ok(false),
                        }
                    }
                }
            }
            .await;
            match result {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => {
                    let _ = tx.send(CrawlMsg::Failed(e)).await;
                    return;
                }
            }
        }
        if page.len() > 0 {
            let _ = tx.send(CrawlMsg::Page(page.take(0), 1.0)).await;
        }
        let _ = tx.send(CrawlMsg::Done).await;
    }
}
