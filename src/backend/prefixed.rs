//! Keys under an app's prefix (Laravel's `laravel_database_laravel_cache:`): the console lists
//! and opens them without it and writes them with it, so people see `user:1` where the server
//! holds `laravel_database_laravel_cache:user:1`.
//!
//! A wrapper around any backend: listings are narrowed to the prefix (the prefix, escaped,
//! before the user's pattern) and come back without it; every key that goes to the server
//! (reads, writes, dumps, deletes by pattern) gets it put back. Keys outside the prefix are
//! never listed and never touched.

use std::sync::atomic::AtomicBool;

use async_trait::async_trait;
use bytes::Bytes;

use super::{
    BackendResult, BulkProgress, BulkResult, CacheBackend, Capabilities, ClientInfo, DbInfo,
    FoundPage, ServerInfo, SlowLogEntry,
};
use crate::core::model::{
    DumpedKey, KeyDetails, KeyMeta, KeyType, PageCursor, ScanPage, ScanRequest, ValuePage, WriteOp,
    WriteOutcome,
};

/// A backend whose keys are shown without `prefix`.
pub struct Prefixed {
    inner: Box<dyn CacheBackend>,
    prefix: Bytes,
}

impl Prefixed {
    /// Wraps `inner` so that its keys are shown without `prefix`.
    #[must_use]
    pub fn new(inner: Box<dyn CacheBackend>, prefix: &[u8]) -> Self {
        Self {
            inner,
            prefix: Bytes::copy_from_slice(prefix),
        }
    }

    /// The key the server holds for `key`.
    fn full(&self, key: &[u8]) -> Bytes {
        let mut full = Vec::with_capacity(self.prefix.len() + key.len());
        full.extend_from_slice(&self.prefix);
        full.extend_from_slice(key);
        Bytes::from(full)
    }

    /// The key as shown (the server's key without the prefix).
    fn shown(&self, key: &Bytes) -> Bytes {
        if key.starts_with(&self.prefix) {
            key.slice(self.prefix.len()..)
        } else {
            key.clone()
        }
    }

    /// The same request, narrowed to the keys under the prefix.
    fn narrowed(&self, request: &ScanRequest) -> ScanRequest {
        let mut pattern = crate::core::glob::escape(&self.prefix);
        pattern.extend_from_slice(&request.pattern);
        ScanRequest {
            pattern,
            ..request.clone()
        }
    }
}

/// A page of the server's keys as this profile shows them: only those under the prefix (the
/// pattern keeps the others out wherever the server filters; where a backend filters
/// afterwards it has matched the same narrowed pattern), without it.
fn shown_page(prefix: &Bytes, mut page: ScanPage) -> ScanPage {
    page.keys.retain(|k| k.starts_with(prefix));
    for key in &mut page.keys {
        *key = key.slice(prefix.len()..);
    }
    page
}

#[async_trait]
impl CacheBackend for Prefixed {
    fn capabilities(&self) -> &Capabilities {
        self.inner.capabilities()
    }

    fn describe(&self) -> String {
        format!(
            "{}, keys under `{}`",
            self.inner.describe(),
            crate::core::escape::escape_bytes(&self.prefix)
        )
    }

    async fn databases(&self) -> BackendResult<Vec<DbInfo>> {
        self.inner.databases().await
    }

    async fn key_count(&self) -> BackendResult<u64> {
        self.inner.key_count().await
    }

    async fn scan(&self, request: &ScanRequest, cursor: u64) -> BackendResult<ScanPage> {
        let page = self.inner.scan(&self.narrowed(request), cursor).await?;
        Ok(shown_page(&self.prefix, page))
    }

    async fn scan_feed(
        &self,
        request: &ScanRequest,
        from: u64,
    ) -> BackendResult<Option<tokio::sync::mpsc::Receiver<BackendResult<ScanPage>>>> {
        let Some(mut inner) = self.inner.scan_feed(&self.narrowed(request), from).await? else {
            return Ok(None);
        };
        // The same narrowing as `scan`, page by page as they come.
        let (send, pages) = tokio::sync::mpsc::channel(2);
        let prefix = self.prefix.clone();
        tokio::spawn(async move {
            while let Some(page) = inner.recv().await {
                let page = page.map(|page| shown_page(&prefix, page));
                if send.send(page).await.is_err() {
                    return;
                }
            }
        });
        Ok(Some(pages))
    }

    async fn key_meta(&self, keys: &[Bytes]) -> BackendResult<Vec<Option<KeyMeta>>> {
        let full: Vec<Bytes> = keys.iter().map(|k| self.full(k)).collect();
        self.inner.key_meta(&full).await
    }

    async fn key_details(&self, key: &[u8]) -> BackendResult<KeyDetails> {
        self.inner.key_details(&self.full(key)).await
    }

    async fn read_page(
        &self,
        key: &[u8],
        key_type: &KeyType,
        cursor: &PageCursor,
        page_size: u32,
    ) -> BackendResult<ValuePage> {
        self.inner
            .read_page(&self.full(key), key_type, cursor, page_size)
            .await
    }

    async fn find_in_value(
        &self,
        key: &[u8],
        key_type: &KeyType,
        pattern: &[u8],
        cursor: &PageCursor,
        page_size: u32,
    ) -> BackendResult<FoundPage> {
        self.inner
            .find_in_value(&self.full(key), key_type, pattern, cursor, page_size)
            .await
    }

    async fn read_string_range(&self, key: &[u8], offset: u64, len: u64) -> BackendResult<Bytes> {
        self.inner
            .read_string_range(&self.full(key), offset, len)
            .await
    }

    async fn server_info(&self) -> BackendResult<Vec<ServerInfo>> {
        self.inner.server_info().await
    }

    async fn stats(&self) -> BackendResult<Vec<(String, crate::core::metrics::RawStats)>> {
        self.inner.stats().await
    }

    async fn slow_log(&self, count: u32) -> BackendResult<Vec<SlowLogEntry>> {
        self.inner.slow_log(count).await
    }

    async fn clients(&self) -> BackendResult<Vec<ClientInfo>> {
        self.inner.clients().await
    }

    async fn nodes(&self) -> BackendResult<Vec<crate::core::model::NodeRow>> {
        self.inner.nodes().await
    }

    // Commands typed by a person name the server's own keys: sent as they are.
    async fn command_facts(
        &self,
        args: &[Bytes],
    ) -> BackendResult<crate::core::model::CommandFacts> {
        self.inner.command_facts(args).await
    }

    async fn execute(
        &self,
        args: &[Bytes],
        on: &crate::core::model::ExecOn,
    ) -> BackendResult<Vec<crate::core::model::NodeReply>> {
        self.inner.execute(args, on).await
    }

    async fn command_docs(&self) -> BackendResult<Vec<crate::core::model::CommandDoc>> {
        self.inner.command_docs().await
    }

    async fn subscribe(
        &self,
        subscription: &crate::core::model::Subscription,
        feed: std::sync::Arc<crate::backend::feed::Feed>,
    ) -> BackendResult<()> {
        self.inner.subscribe(subscription, feed).await
    }

    async fn monitor(
        &self,
        nodes: &[String],
        feed: std::sync::Arc<crate::backend::feed::Feed>,
    ) -> BackendResult<()> {
        self.inner.monitor(nodes, feed).await
    }

    async fn write(&self, op: &WriteOp) -> BackendResult<WriteOutcome> {
        let mut op = op.clone();
        for key in op.keys_mut() {
            *key = self.full(key);
        }
        self.inner.write(&op).await
    }

    async fn dump(&self, keys: &[Bytes]) -> BackendResult<Vec<Option<DumpedKey>>> {
        let full: Vec<Bytes> = keys.iter().map(|k| self.full(k)).collect();
        let mut dumped = self.inner.dump(&full).await?;
        // Dumps come back as shown: a restore (a write) puts the prefix back.
        for d in dumped.iter_mut().flatten() {
            d.key = self.shown(&d.key);
        }
        Ok(dumped)
    }

    async fn delete_matching(
        &self,
        request: &ScanRequest,
        cancel: &AtomicBool,
        progress: &(dyn Fn(BulkProgress) + Send + Sync),
    ) -> BackendResult<BulkResult> {
        self.inner
            .delete_matching(&self.narrowed(request), cancel, progress)
            .await
    }
}

/// The prefix a Laravel app puts before its cache keys (`{app}_database_{app}_cache:` with
/// phpredis' default connection prefix), when at least 3 of `keys` and half of them share one.
#[must_use]
pub fn laravel_prefix(keys: &[Bytes]) -> Option<String> {
    const MARK: &[u8] = b"_cache:";
    let mut counts: std::collections::HashMap<&[u8], usize> = std::collections::HashMap::new();
    for key in keys {
        if let Some(at) = memchr::memmem::find(key, MARK) {
            let prefix = &key[..at + MARK.len()];
            if memchr::memmem::find(prefix, b"_database_").is_some() {
                *counts.entry(prefix).or_default() += 1;
            }
        }
    }
    let (prefix, n) = counts.into_iter().max_by_key(|(_, n)| *n)?;
    (n >= 3 && n * 2 >= keys.len())
        .then(|| String::from_utf8(prefix.to_vec()).ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::laravel_prefix;
    use crate::core::glob::{escape, matches};

    #[test]
    fn a_laravel_prefix_is_recognised_when_most_keys_have_it() {
        let keys = |names: &[&str]| -> Vec<Bytes> {
            names
                .iter()
                .map(|n| Bytes::copy_from_slice(n.as_bytes()))
                .collect()
        };
        let laravel = keys(&[
            "laravel_database_laravel_cache:user:1",
            "laravel_database_laravel_cache:user:2",
            "laravel_database_laravel_cache:config",
            "laravel_database_queues:default",
        ]);
        assert_eq!(
            laravel_prefix(&laravel).as_deref(),
            Some("laravel_database_laravel_cache:")
        );
        assert_eq!(
            laravel_prefix(&keys(&[
                "shop_database_shop_cache:a",
                "shop_database_shop_cache:b",
                "shop_database_shop_cache:c"
            ]))
            .as_deref(),
            Some("shop_database_shop_cache:")
        );
        // Too few, not most of them, or not Laravel's shape: nothing offered.
        assert_eq!(laravel_prefix(&laravel[..2]), None);
        assert_eq!(
            laravel_prefix(&keys(&[
                "laravel_database_laravel_cache:a",
                "laravel_database_laravel_cache:b",
                "laravel_database_laravel_cache:c",
                "x",
                "y",
                "z",
                "w"
            ])),
            None
        );
        assert_eq!(
            laravel_prefix(&keys(&["my_cache:a", "my_cache:b", "my_cache:c"])),
            None
        );
    }

    #[test]
    fn an_escaped_prefix_matches_itself_only() {
        for prefix in [&b"laravel_database_laravel_cache:"[..], b"a*b?[c]\\d"] {
            let mut pattern = escape(prefix);
            pattern.extend_from_slice(b"user:*");
            let mut key = prefix.to_vec();
            key.extend_from_slice(b"user:1");
            assert!(matches(&pattern, &key));
            assert!(!matches(&pattern, b"user:1"));
            assert!(!matches(&pattern, b"other:user:1"));
        }
        assert!(!matches(&escape(b"a*"), b"abc"));
    }
}
