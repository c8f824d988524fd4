//! Searching inside one collection: hash fields, set and sorted-set members by the server's own
//! `HSCAN`/`SSCAN`/`ZSCAN … MATCH`, list elements by reading the list in ranges and matching
//! here (Redis has no pattern search for lists; `LPOS` finds only exact elements). Every call
//! looks at a bounded part of the value and says where to go on.

use bytes::Bytes;
use redis::Value;

use super::RedisBackend;
use super::reply::{flatten_pairs, pairs, scan_reply, to_bytes, to_f64};
use crate::backend::{BackendError, BackendResult};
use crate::core::model::{FoundPage, KeyType, PageCursor, ValueItems};

/// Elements asked of the server per `*SCAN` call or list range.
const STEP: u32 = 1_000;
/// Calls made for one page at most, matches or not: a search for something rare in a huge
/// value comes back with progress instead of holding the connection.
const MAX_STEPS: u32 = 20;

impl RedisBackend {
    /// One page of the matches of `pattern` in `key`, from `cursor` on.
    pub(super) async fn find(
        &self,
        key: &[u8],
        key_type: &KeyType,
        pattern: &[u8],
        cursor: &PageCursor,
        page_size: u32,
    ) -> BackendResult<FoundPage> {
        match key_type {
            KeyType::Hash => {
                self.find_scanned(key, "HSCAN", pattern, cursor, page_size)
                    .await
            }
            KeyType::Set => {
                self.find_scanned(key, "SSCAN", pattern, cursor, page_size)
                    .await
            }
            KeyType::ZSet => {
                self.find_scanned(key, "ZSCAN", pattern, cursor, page_size)
                    .await
            }
            KeyType::List => self.find_in_list(key, pattern, cursor, page_size).await,
            other => Err(BackendError::Unsupported(format!(
                "values of type {} cannot be searched inside",
                other.label()
            ))),
        }
    }

    async fn find_scanned(
        &self,
        key: &[u8],
        command: &str,
        pattern: &[u8],
        cursor: &PageCursor,
        page_size: u32,
    ) -> BackendResult<FoundPage> {
        let mut next = match cursor {
            PageCursor::Scan(c) => *c,
            _ => 0,
        };
        let mut fields = Vec::new();
        let mut members = Vec::new();
        let mut scored = Vec::new();
        let mut examined = 0u64;
        for _ in 0..MAX_STEPS {
            let reply: Value = self
                .query(
                    redis::cmd(command)
                        .arg(key)
                        .arg(next)
                        .arg("MATCH")
                        .arg(pattern)
                        .arg("COUNT")
                        .arg(STEP),
                    command,
                )
                .await?;
            let (cursor, values) = scan_reply(reply);
            // COUNT is a hint of how much the server looks at per call.
            examined += u64::from(STEP);
            next = cursor;
            match command {
                "HSCAN" => fields.extend(pairs(values)),
                "ZSCAN" => scored.extend(
                    flatten_pairs(values)
                        .into_iter()
                        .map(|(m, s)| (to_bytes(m), to_f64(&s))),
                ),
                _ => members.extend(values.into_iter().map(to_bytes)),
            }
            let found = fields.len() + members.len() + scored.len();
            if next == 0 || found >= page_size as usize {
                break;
            }
        }
        let items = match command {
            "HSCAN" => ValueItems::Hash(fields),
            "ZSCAN" => ValueItems::ZSet(scored),
            _ => ValueItems::Set(members),
        };
        Ok(FoundPage {
            items,
            positions: Vec::new(),
            examined,
            next: (next != 0).then_some(PageCursor::Scan(next)),
        })
    }

    async fn find_in_list(
        &self,
        key: &[u8],
        pattern: &[u8],
        cursor: &PageCursor,
        page_size: u32,
    ) -> BackendResult<FoundPage> {
        let mut index = match cursor {
            PageCursor::Index(i) => *i,
            _ => 0,
        };
        let mut found: Vec<Bytes> = Vec::new();
        let mut positions = Vec::new();
        let mut examined = 0u64;
        let mut end = false;
        for _ in 0..MAX_STEPS {
            let stop = index + u64::from(STEP) - 1;
            let values: Vec<Value> = self
                .query(redis::cmd("LRANGE").arg(key).arg(index).arg(stop), "LRANGE")
                .await?;
            let read = values.len() as u64;
            examined += read;
            for (offset, value) in (0u64..).zip(values) {
                let element = to_bytes(value);
                if crate::core::glob::matches(pattern, &element) {
                    positions.push(index + offset);
                    found.push(element);
                }
            }
            index += read;
            if read < u64::from(STEP) {
                end = true;
                break;
            }
            if found.len() >= page_size as usize {
                break;
            }
        }
        Ok(FoundPage {
            items: ValueItems::List(found),
            positions,
            examined,
            next: (!end).then_some(PageCursor::Index(index)),
        })
    }
}
