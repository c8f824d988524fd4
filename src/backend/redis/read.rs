//! One page of a Redis value, by type: a string (or its preview), a hash or set by HSCAN or
//! SSCAN, a list by index range, a sorted set by rank (score order), a stream by id, a JSON
//! document whole.

use bytes::Bytes;
use redis::Value;

use super::reply::{array, flatten_pairs, pairs, scan_reply, to_bytes, to_f64};
use super::{RedisBackend, STRING_PREVIEW_BYTES};
use crate::backend::{BackendError, BackendResult, CacheBackend as _, key_not_found};
use crate::core::model::{KeyType, PageCursor, StreamEntry, ValueItems, ValuePage};

/// A page's items and where the next one starts, if there is one.
type Page = (ValueItems, Option<PageCursor>);

impl RedisBackend {
    /// The page of `key` that starts at `cursor`.
    pub(super) async fn page(
        &self,
        key: &[u8],
        key_type: &KeyType,
        cursor: &PageCursor,
        page_size: u32,
    ) -> BackendResult<ValuePage> {
        let scan_cursor = match cursor {
            PageCursor::Scan(c) => *c,
            _ => 0,
        };
        let index = match cursor {
            PageCursor::Index(i) => *i,
            _ => 0,
        };
        let (items, next) = match key_type {
            KeyType::String => self.string_page(key).await?,
            KeyType::Hash => {
                self.scanned_page(key, "HSCAN", scan_cursor, page_size)
                    .await?
            }
            KeyType::Set => {
                self.scanned_page(key, "SSCAN", scan_cursor, page_size)
                    .await?
            }
            KeyType::List => self.list_page(key, index, page_size).await?,
            KeyType::ZSet => self.zset_page(key, index, page_size).await?,
            KeyType::Stream => self.stream_page(key, cursor, page_size).await?,
            KeyType::Json => {
                let text: Option<String> = self
                    .query(redis::cmd("JSON.GET").arg(key), "JSON.GET")
                    .await?;
                (
                    ValueItems::Json(text.ok_or_else(|| key_not_found(key))?),
                    None,
                )
            }
            KeyType::Other(name) => {
                return Err(BackendError::Server {
                    command: "read".to_owned(),
                    reason: format!("values of type `{name}` cannot be shown yet"),
                });
            }
        };
        Ok(ValuePage {
            cursor: cursor.clone(),
            items,
            next,
        })
    }

    /// The whole string, or its first [`STRING_PREVIEW_BYTES`] when it is longer.
    async fn string_page(&self, key: &[u8]) -> BackendResult<Page> {
        let total_len: u64 = self.query(redis::cmd("STRLEN").arg(key), "STRLEN").await?;
        let bytes = if total_len > STRING_PREVIEW_BYTES {
            self.read_string_range(key, 0, STRING_PREVIEW_BYTES).await?
        } else {
            let value: Option<Vec<u8>> = self.query(redis::cmd("GET").arg(key), "GET").await?;
            Bytes::from(value.ok_or_else(|| key_not_found(key))?)
        };
        Ok((ValueItems::String { bytes, total_len }, None))
    }

    /// A hash (`HSCAN`) or set (`SSCAN`) page.
    async fn scanned_page(
        &self,
        key: &[u8],
        command: &str,
        cursor: u64,
        page_size: u32,
    ) -> BackendResult<Page> {
        let reply: Value = self
            .query(
                redis::cmd(command)
                    .arg(key)
                    .arg(cursor)
                    .arg("COUNT")
                    .arg(page_size),
                command,
            )
            .await?;
        let (next_cursor, values) = scan_reply(reply);
        let items = if command == "HSCAN" {
            ValueItems::Hash(pairs(values))
        } else {
            ValueItems::Set(values.into_iter().map(to_bytes).collect())
        };
        Ok((
            items,
            (next_cursor != 0).then_some(PageCursor::Scan(next_cursor)),
        ))
    }

    async fn list_page(&self, key: &[u8], index: u64, page_size: u32) -> BackendResult<Page> {
        let stop = index + u64::from(page_size) - 1;
        let values: Vec<Value> = self
            .query(redis::cmd("LRANGE").arg(key).arg(index).arg(stop), "LRANGE")
            .await?;
        let full = values.len() == page_size as usize;
        Ok((
            ValueItems::List(values.into_iter().map(to_bytes).collect()),
            full.then_some(PageCursor::Index(stop + 1)),
        ))
    }

    /// ZRANGE by rank rather than ZSCAN: it pages in score order, which is what a sorted set
    /// is for, and costs O(log n + page) like a scan.
    async fn zset_page(&self, key: &[u8], index: u64, page_size: u32) -> BackendResult<Page> {
        let stop = index + u64::from(page_size) - 1;
        let values: Vec<Value> = self
            .query(
                redis::cmd("ZRANGE")
                    .arg(key)
                    .arg(index)
                    .arg(stop)
                    .arg("WITHSCORES"),
                "ZRANGE",
            )
            .await?;
        let members: Vec<(Bytes, f64)> = flatten_pairs(values)
            .into_iter()
            .map(|(m, s)| (to_bytes(m), to_f64(&s)))
            .collect();
        let full = members.len() == page_size as usize;
        Ok((
            ValueItems::ZSet(members),
            full.then_some(PageCursor::Index(stop + 1)),
        ))
    }

    async fn stream_page(
        &self,
        key: &[u8],
        cursor: &PageCursor,
        page_size: u32,
    ) -> BackendResult<Page> {
        let start = match cursor {
            PageCursor::StreamAfter(id) => {
                let mut s = b"(".to_vec();
                s.extend_from_slice(id);
                s
            }
            _ => b"-".to_vec(),
        };
        let reply: Value = self
            .query(
                redis::cmd("XRANGE")
                    .arg(key)
                    .arg(start)
                    .arg("+")
                    .arg("COUNT")
                    .arg(page_size),
                "XRANGE",
            )
            .await?;
        let entries: Vec<StreamEntry> = array(reply)
            .into_iter()
            .map(|entry| {
                let mut parts = array(entry).into_iter();
                let id = parts.next().map(to_bytes).unwrap_or_default();
                let fields = parts.next().map(array).map(pairs).unwrap_or_default();
                StreamEntry { id, fields }
            })
            .collect();
        let next = if entries.len() == page_size as usize {
            entries
                .last()
                .map(|e| PageCursor::StreamAfter(e.id.clone()))
        } else {
            None
        };
        Ok((ValueItems::Stream(entries), next))
    }
}
