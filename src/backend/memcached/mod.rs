//! The Memcached backend: one server or a pool.
//!
//! Everything speaks memcached's meta protocol (`mg`, `ms`, `md`; memcached 1.6+) and text
//! commands (`stats`, `lru_crawler metadump`, `flush_all`) directly over tokio. The `memcache`
//! crate was used for writes before; it blocks, reads replies without any size limit, logs
//! every protocol error of a non-memcached server through r2d2, and cannot reach keys with
//! spaces or non-ASCII bytes, which the meta protocol's base64 keys (`b`) can. Every line and
//! value read here is bounded, and every exchange has the command timeout.
//!
//! A pool routes a key the way the `memcache` crate did (its default hash, modulo the number
//! of servers), so keys written by earlier versions are still found where they are.

mod console;
mod crawl;
mod wire;
mod write;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::sync::{Mutex, mpsc};

use crawl::CrawlMsg;
pub use crawl::{dump_line_key, parse_dump_line};
use wire::{
    MAX_REPLY_BYTES, MAX_VALUE_BYTES, MetaItem, MetaStatus, Wire, WireKey, read_line, route, shown,
    ttl_of, wire_key,
};

use super::{
    BackendError, BackendResult, CacheBackend, Capabilities, clamped_range, key_not_found,
    whole_string_page,
};
use crate::config::connection::{MemcachedAddress, MemcachedSpec};
use crate::core::model::{
    DbInfo, DumpedKey, KeyDetails, KeyMeta, KeyType, PageCursor, ScanPage, ScanRequest, ValuePage,
    WriteOp, WriteOutcome,
};

/// Crawls a delete by pattern makes at most: a crawl can miss an item memcached's LRU
/// maintainer moves while the crawler walks past, so it crawls again until one finds nothing.
const MAX_DELETE_PASSES: usize = 4;

/// A connected memcached server or pool.
pub struct MemcachedBackend {
    servers: Vec<MemcachedAddress>,
    /// How the servers are reached (straight or through SSH).
    dialer: crate::backend::net::Dialer,
    labels: Vec<String>,
    connect_timeout: Duration,
    command_timeout: Duration,
    version: String,
    capabilities: Capabilities,
    crawls: Mutex<HashMap<u64, mpsc::Receiver<CrawlMsg>>>,
    next_crawl: AtomicU64,
}

impl MemcachedBackend {
    /// Connects to every server of the spec (each must answer `version`).
    ///
    /// # Errors
    /// A server is unreachable or does not speak memcached.
    pub async fn connect(
        spec: &MemcachedSpec,
        dialer: crate::backend::net::Dialer,
    ) -> BackendResult<Self> {
        let labels: Vec<String> = spec.servers.iter().map(MemcachedAddress::label).collect();
        if labels.is_empty() {
            return Err(BackendError::Config(
                "name at least one memcached server".to_owned(),
            ));
        }
        let connect_timeout = Duration::from_millis(spec.connect_timeout_ms);
        let command_timeout = Duration::from_millis(spec.command_timeout_ms);
        let mut version = String::new();
        for (addr, label) in spec.servers.iter().zip(&labels) {
            let reply = Self::request_on(
                &dialer,
                addr,
                label,
                connect_timeout,
                command_timeout,
                b"version\r\n",
                b"\r\n",
            )
            .await?;
            // Anything else answering on the port (a web server, a Redis, garbage) is said so
            // at once, in one line.
            let Some(v) = reply.strip_prefix(b"VERSION ") else {
                return Err(BackendError::Connect {
                    target: label.clone(),
                    reason: format!(
                        "this is not a memcached server: it answered `version` with `{}`",
                        shown(&reply)
                    ),
                });
            };
            String::from_utf8_lossy(v).trim().clone_into(&mut version);
        }
        let pool = labels.len() > 1;
        Ok(Self {
            servers: spec.servers.clone(),
            dialer,
            capabilities: Capabilities {
                servers: if pool { labels.clone() } else { Vec::new() },
                listing_note: Some(
                    "a Memcached listing is a crawl of what is cached right now: items may be missed \
                     or gone by the time you open them"
                        .to_owned(),
                ),
                flush_delay: true,
                commands: true,
                ..Capabilities::string_store("Memcached")
            },
            labels,
            connect_timeout,
            command_timeout,
            version,
            crawls: Mutex::new(HashMap::new()),
            next_crawl: AtomicU64::new(1),
        })
    }

    async fn open(
        dialer: &crate::backend::net::Dialer,
        addr: &MemcachedAddress,
        label: &str,
        connect_timeout: Duration,
    ) -> BackendResult<BufReader<Box<dyn Wire>>> {
        let connect = async {
            let stream: Box<dyn Wire> = match addr {
                MemcachedAddress::Tcp { host, port } => Box::new(dialer.tcp(host, *port).await?),
                MemcachedAddress::Unix { path } => Box::new(dialer.unix(path).await?),
            };
            Ok::<_, std::io::Error>(stream)
        };
        match tokio::time::timeout(connect_timeout, connect).await {
            Ok(Ok(stream)) => Ok(BufReader::with_capacity(256 * 1024, stream)),
            Ok(Err(e)) => Err(BackendError::Connect {
                target: label.to_owned(),
                reason: e.to_string(),
            }),
            Err(_) => Err(BackendError::Timeout {
                target: label.to_owned(),
                timeout_ms: u64::try_from(connect_timeout.as_millis()).unwrap_or(u64::MAX),
            }),
        }
    }

    /// Sends `command` and reads until the reply ends with `terminator`.
    async fn request_on(
        dialer: &crate::backend::net::Dialer,
        addr: &MemcachedAddress,
        label: &str,
        connect_timeout: Duration,
        command_timeout: Duration,
        command: &[u8],
        terminator: &[u8],
    ) -> BackendResult<Vec<u8>> {
        let mut conn = Self::open(dialer, addr, label, connect_timeout).await?;
        let io = async {
            conn.get_mut().write_all(command).await?;
            let mut reply = Vec::new();
            loop {
                let n = read_line(&mut conn, &mut reply).await?;
                if reply.len() > MAX_REPLY_BYTES {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!(
                            "the reply is larger than {} MiB: not read further",
                            MAX_REPLY_BYTES >> 20
                        ),
                    ));
                }
                if n == 0 {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the server closed the connection",
                    ));
                }
                if reply.ends_with(terminator)
                    && (terminator != b"END\r\n"
                        || reply.len() == 5
                        || reply.ends_with(b"\r\nEND\r\n"))
                {
                    return Ok(reply);
                }
                if terminator == b"\r\n"
                    || reply.starts_with(b"ERROR")
                    || reply.starts_with(b"CLIENT_ERROR")
                    || reply.starts_with(b"SERVER_ERROR")
                {
                    return Ok(reply);
                }
            }
        };
        Self::timed(label, command_timeout, io).await
    }

    async fn timed<T>(
        label: &str,
        limit: Duration,
        io: impl Future<Output = std::io::Result<T>>,
    ) -> BackendResult<T> {
        match tokio::time::timeout(limit, io).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(BackendError::Connect {
                target: label.to_owned(),
                reason: e.to_string(),
            }),
            Err(_) => Err(BackendError::Timeout {
                target: label.to_owned(),
                timeout_ms: u64::try_from(limit.as_millis()).unwrap_or(u64::MAX),
            }),
        }
    }

    fn server_index(&self, key: &[u8]) -> usize {
        route(key, self.servers.len())
    }

    /// `stats [sub]` of one server as name/value pairs.
    async fn stats_of(&self, index: usize, sub: &str) -> BackendResult<Vec<(String, String)>> {
        let command = if sub.is_empty() {
            "stats\r\n".to_owned()
        } else {
            format!("stats {sub}\r\n")
        };
        let reply = Self::request_on(
            &self.dialer,
            &self.servers[index],
            &self.labels[index],
            self.connect_timeout,
            self.command_timeout,
            command.as_bytes(),
            b"END\r\n",
        )
        .await?;
        let text = String::from_utf8_lossy(&reply);
        if text.starts_with("ERROR") || text.contains("_ERROR") {
            return Err(BackendError::Server {
                command: format!("stats {sub}"),
                reason: text.trim().to_owned(),
            });
        }
        Ok(text
            .lines()
            .filter_map(|l| {
                let rest = l.strip_prefix("STAT ")?;
                let (name, value) = rest.split_once(' ')?;
                Some((name.to_owned(), value.to_owned()))
            })
            .collect())
    }

    /// Pipelined meta commands to server `index`, each a whole request (with its data block
    /// for `ms`); one reply each, in order.
    async fn meta(
        &self,
        index: usize,
        commands: &[Vec<u8>],
    ) -> BackendResult<Vec<(MetaStatus, MetaItem)>> {
        let label = &self.labels[index];
        let mut conn = Self::open(
            &self.dialer,
            &self.servers[index],
            label,
            self.connect_timeout,
        )
        .await?;
        let io = async {
            conn.get_mut().write_all(&commands.concat()).await?;
            let mut out = Vec::with_capacity(commands.len());
            let mut line = Vec::new();
            for _ in commands {
                line.clear();
                if read_line(&mut conn, &mut line).await? == 0 {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the server closed the connection",
                    ));
                }
                out.push(Self::meta_reply(&mut conn, &line).await?);
            }
            Ok(out)
        };
        Self::timed(label, self.command_timeout, io).await
    }

    /// Parses one meta reply line (and reads the value block after `VA`).
    async fn meta_reply(
        conn: &mut BufReader<Box<dyn Wire>>,
        line: &[u8],
    ) -> std::io::Result<(MetaStatus, MetaItem)> {
        let text = String::from_utf8_lossy(line);
        let mut words = text.trim_end().split(' ');
        let status = match words.next() {
            Some("VA") => MetaStatus::Value,
            Some("HD") => MetaStatus::Done,
            Some("EN") => MetaStatus::Miss,
            Some("NS") => MetaStatus::NotStored,
            Some("EX") => MetaStatus::Exists,
            Some("NF") => MetaStatus::NotFound,
            _ => {
                return Err(std::io::Error::other(format!(
                    "unexpected reply: `{}`",
                    shown(line)
                )));
            }
        };
        let size_of_value = if status == MetaStatus::Value {
            let n = words
                .next()
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or_else(|| std::io::Error::other(format!("bad VA reply: `{}`", shown(line))))?;
            if n > MAX_VALUE_BYTES {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "the value is {n} bytes, more than the {} MiB this console reads",
                        MAX_VALUE_BYTES >> 20
                    ),
                ));
            }
            Some(n)
        } else {
            None
        };
        let mut item = MetaItem {
            ttl_secs: -1,
            ..MetaItem::default()
        };
        for w in words {
            let (flag, value) = w.split_at(w.len().min(1));
            match flag {
                "t" => item.ttl_secs = value.parse().unwrap_or(-1),
                "l" => item.idle_secs = value.parse().ok(),
                "s" => item.size = value.parse().unwrap_or(0),
                "f" => item.flags = value.parse().unwrap_or(0),
                "c" => item.cas = value.parse().unwrap_or(0),
                _ => {}
            }
        }
        if let Some(n) = size_of_value {
            let mut data = vec![0; n + 2];
            conn.read_exact(&mut data).await?;
            if !data.ends_with(b"\r\n") {
                return Err(std::io::Error::other("a value block did not end with CRLF"));
            }
            data.truncate(n);
            item.size = n as u64;
            item.value = Some(Bytes::from(data));
        }
        Ok((status, item))
    }

    /// Pipelined `mg` of keys that all live on server `index`.
    async fn meta_get(
        &self,
        index: usize,
        keys: &[&WireKey],
        flags: &str,
    ) -> BackendResult<Vec<Option<MetaItem>>> {
        let commands: Vec<Vec<u8>> = keys
            .iter()
            .map(|k| format!("mg {} {flags}\r\n", k.args()).into_bytes())
            .collect();
        Ok(self
            .meta(index, &commands)
            .await?
            .into_iter()
            .map(|(status, item)| {
                matches!(status, MetaStatus::Value | MetaStatus::Done).then_some(item)
            })
            .collect())
    }

    async fn meta_one(&self, key: &[u8], flags: &str) -> BackendResult<Option<MetaItem>> {
        let wire = wire_key(key)?;
        let index = self.server_index(key);
        Ok(self.meta_get(index, &[&wire], flags).await?.pop().flatten())
    }

    /// One meta command for `key` on the server that holds it.
    async fn meta_for(&self, key: &[u8], command: Vec<u8>) -> BackendResult<MetaStatus> {
        let index = self.server_index(key);
        let mut replies = self.meta(index, &[command]).await?;
        replies
            .pop()
            .map(|(status, _)| status)
            .ok_or_else(|| BackendError::Server {
                command: "meta".to_owned(),
                reason: "no reply".to_owned(),
            })
    }

    fn unsupported(what: &str) -> BackendError {
        BackendError::Unsupported(format!(
            "Memcached holds plain values only: {what} is not possible here"
        ))
    }
}

/// The figures of one server's `stats` reply the live metrics need.
#[must_use]
pub fn raw_stats(stats: &[(String, String)]) -> crate::core::metrics::RawStats {
    let n = |k: &str| {
        stats
            .iter()
            .find(|(name, _)| name == k)
            .and_then(|(_, v)| v.trim().parse::<u64>().ok())
    };
    let total = |names: &[&str]| crate::core::metrics::sum_present(names.iter().map(|k| n(k)));
    crate::core::metrics::RawStats {
        instance: stats
            .iter()
            .find(|(name, _)| name == "pid")
            .map(|(_, v)| v.clone()),
        uptime_secs: n("uptime"),
        hits: n("get_hits"),
        misses: n("get_misses"),
        // Every command that touches an item, as memcached counts them.
        commands: total(&[
            "cmd_get",
            "cmd_set",
            "cmd_touch",
            "cmd_flush",
            "delete_hits",
            "delete_misses",
            "incr_hits",
            "incr_misses",
            "decr_hits",
            "decr_misses",
        ]),
        gets: n("cmd_get"),
        sets: n("cmd_set"),
        evicted: n("evictions"),
        // memcached frees expired items lazily: `reclaimed` counts the ones whose memory was
        // reused, `crawler_reclaimed` the ones the LRU crawler removed.
        expired: total(&["reclaimed", "crawler_reclaimed"]),
        net_in: n("bytes_read"),
        net_out: n("bytes_written"),
        used_memory: n("bytes"),
        rss_memory: None,
        max_memory: n("limit_maxbytes"),
        fragmentation: None,
        clients: n("curr_connections"),
        blocked_clients: None,
        keys: n("curr_items"),
        expired_entries: None,
        total_size: None,
        keys_per_db: Vec::new(),
        error: None,
        version: stats
            .iter()
            .find(|(name, _)| name == "version")
            .map(|(_, v)| v.trim().to_owned()),
        role: None,
        repl_lag_secs: None,
    }
}

#[async_trait]
impl CacheBackend for MemcachedBackend {
    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    fn describe(&self) -> String {
        match self.labels.as_slice() {
            [one] => format!("Memcached {} at {one}", self.version),
            many => format!("Memcached {} pool of {} servers", self.version, many.len()),
        }
    }

    async fn databases(&self) -> BackendResult<Vec<DbInfo>> {
        Ok(Vec::new())
    }

    async fn delete_matching(
        &self,
        request: &ScanRequest,
        cancel: &std::sync::atomic::AtomicBool,
        progress: &(dyn Fn(crate::core::model::BulkProgress) + Send + Sync),
    ) -> BackendResult<super::BulkResult> {
        // A listing may say "a crawl can miss items"; a delete must not leave one behind, so
        // it crawls again until a crawl finds nothing left to delete.
        let mut deleted = 0;
        for _ in 0..MAX_DELETE_PASSES {
            let before = deleted;
            let report = |p: crate::core::model::BulkProgress| {
                progress(crate::core::model::BulkProgress {
                    deleted: before + p.deleted,
                    progress: p.progress,
                });
            };
            let pass = super::ops::delete_matching_with(self, request, cancel, &report).await?;
            deleted += pass.deleted;
            if pass.cancelled {
                return Ok(super::BulkResult {
                    deleted,
                    cancelled: true,
                });
            }
            if pass.deleted == 0 {
                break;
            }
        }
        Ok(super::BulkResult {
            deleted,
            cancelled: false,
        })
    }

    async fn server_info(&self) -> BackendResult<Vec<super::ServerInfo>> {
        let mut out = Vec::new();
        for (i, label) in self.labels.iter().enumerate() {
            let mut sections = Vec::new();
            for sub in ["", "slabs", "items"] {
                let name = if sub.is_empty() { "stats" } else { sub };
                sections.push((name.to_owned(), self.stats_of(i, sub).await?));
            }
            out.push(super::ServerInfo {
                server: label.clone(),
                sections,
            });
        }
        Ok(out)
    }

    async fn stats(&self) -> BackendResult<Vec<(String, crate::core::metrics::RawStats)>> {
        // A pool stays charted while one of its servers is down: that server reports its
        // error, the others their figures. Only a pool with no server answering fails.
        let mut out = Vec::with_capacity(self.labels.len());
        let mut last_error = None;
        for (i, label) in self.labels.iter().enumerate() {
            let stats = match self.stats_of(i, "").await {
                Ok(stats) => raw_stats(&stats),
                Err(e) => {
                    let stats = crate::core::metrics::RawStats {
                        error: Some(e.to_string()),
                        ..crate::core::metrics::RawStats::default()
                    };
                    last_error = Some(e);
                    stats
                }
            };
            out.push((label.clone(), stats));
        }
        match last_error {
            Some(e) if out.iter().all(|(_, s)| s.error.is_some()) => Err(e),
            _ => Ok(out),
        }
    }

    async fn key_count(&self) -> BackendResult<u64> {
        let mut total = 0;
        for i in 0..self.servers.len() {
            let stats = self.stats_of(i, "").await?;
            total += stats
                .iter()
                .find(|(k, _)| k == "curr_items")
                .and_then(|(_, v)| v.parse::<u64>().ok())
                .unwrap_or(0);
        }
        Ok(total)
    }

    async fn scan(&self, request: &ScanRequest, cursor: u64) -> BackendResult<ScanPage> {
        let mut crawls = self.crawls.lock().await;
        let (token, mut rx) = if cursor == 0 {
            // One listing at a time: a new one ends any crawl still running.
            crawls.clear();
            let total = self.key_count().await?;
            let (tx, rx) = mpsc::channel(4);
            tokio::spawn(Self::crawl(
                self.dialer.clone(),
                self.servers.clone(),
                self.labels.clone(),
                self.connect_timeout,
                request.clone(),
                total,
                tx,
            ));
            (self.next_crawl.fetch_add(1, Ordering::Relaxed), rx)
        } else {
            let rx = crawls.remove(&cursor).ok_or(BackendError::ListingStopped)?;
            (cursor, rx)
        };
        drop(crawls);
        match rx.recv().await {
            Some(CrawlMsg::Page(keys, progress)) => {
                self.crawls.lock().await.insert(token, rx);
                Ok(ScanPage::single(keys, token, progress))
            }
            Some(CrawlMsg::Done) | None => Ok(ScanPage::single(Vec::new(), 0, 1.0)),
            Some(CrawlMsg::Failed(e)) => Err(e),
        }
    }

    async fn key_meta(&self, keys: &[Bytes]) -> BackendResult<Vec<Option<KeyMeta>>> {
        let mut by_server: HashMap<usize, Vec<(usize, WireKey)>> = HashMap::new();
        let mut out = vec![None; keys.len()];
        for (i, key) in keys.iter().enumerate() {
            if let Ok(k) = wire_key(key) {
                by_server
                    .entry(self.server_index(key))
                    .or_default()
                    .push((i, k));
            }
        }
        for (server, entries) in by_server {
            let names: Vec<&WireKey> = entries.iter().map(|(_, k)| k).collect();
            let items = self.meta_get(server, &names, "t s l").await?;
            for ((i, _), item) in entries.iter().zip(items) {
                out[*i] = item.map(|item| KeyMeta {
                    key_type: KeyType::String,
                    ttl: ttl_of(&item),
                    size_bytes: Some(item.size),
                    server: (self.labels.len() > 1).then(|| self.labels[server].clone()),
                    idle_secs: item.idle_secs,
                    preview: None,
                });
            }
        }
        Ok(out)
    }

    async fn key_details(&self, key: &[u8]) -> BackendResult<KeyDetails> {
        let item = self
            .meta_one(key, "t s f c l")
            .await?
            .ok_or_else(|| key_not_found(key))?;
        let server = self.labels[self.server_index(key)].clone();
        Ok(KeyDetails {
            meta: KeyMeta {
                key_type: KeyType::String,
                ttl: ttl_of(&item),
                size_bytes: Some(item.size),
                server: Some(server.clone()),
                idle_secs: item.idle_secs,
                preview: None,
            },
            encoding: None,
            length: item.size,
            extra: vec![
                ("Server".to_owned(), server),
                ("Flags".to_owned(), item.flags.to_string()),
                ("CAS".to_owned(), item.cas.to_string()),
                (
                    "Last access".to_owned(),
                    item.idle_secs
                        .map_or_else(|| "unknown".to_owned(), |s| format!("{s} s ago")),
                ),
            ],
            flags: Some(item.flags),
        })
    }

    async fn read_page(
        &self,
        key: &[u8],
        key_type: &KeyType,
        cursor: &PageCursor,
        _page_size: u32,
    ) -> BackendResult<ValuePage> {
        if *key_type != KeyType::String {
            return Err(Self::unsupported("a collection"));
        }
        let item = self
            .meta_one(key, "v")
            .await?
            .ok_or_else(|| key_not_found(key))?;
        Ok(whole_string_page(cursor, item.value.unwrap_or_default()))
    }

    async fn read_string_range(&self, key: &[u8], offset: u64, len: u64) -> BackendResult<Bytes> {
        let item = self
            .meta_one(key, "v")
            .await?
            .ok_or_else(|| key_not_found(key))?;
        Ok(clamped_range(&item.value.unwrap_or_default(), offset, len))
    }

    async fn write(&self, op: &WriteOp) -> BackendResult<WriteOutcome> {
        self.apply(op).await
    }

    async fn command_facts(
        &self,
        args: &[Bytes],
    ) -> BackendResult<crate::core::model::CommandFacts> {
        Ok(console::facts(args))
    }

    async fn execute(
        &self,
        args: &[Bytes],
        on: &crate::core::model::ExecOn,
    ) -> BackendResult<Vec<crate::core::model::NodeReply>> {
        self.raw_command(args, on).await
    }

    async fn command_docs(&self) -> BackendResult<Vec<crate::core::model::CommandDoc>> {
        Ok(console::docs())
    }

    async fn dump(&self, keys: &[Bytes]) -> BackendResult<Vec<Option<DumpedKey>>> {
        let now = crate::core::ttl::now_unix_ms();
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            let item = self.meta_one(key, "v f t").await?;
            out.push(item.map(|item| {
                let mut payload = item.flags.to_be_bytes().to_vec();
                payload.extend_from_slice(&item.value.clone().unwrap_or_default());
                DumpedKey {
                    key: key.clone(),
                    payload: Bytes::from(payload),
                    expire_at_unix_ms: (item.ttl_secs > 0)
                        .then(|| now + u64::try_from(item.ttl_secs).unwrap_or(0) * 1000),
                }
            }));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::crawl::PageBuilder;
    use super::wire::exptime;
    use std::hash::Hasher as _;

    use super::*;
    use crate::core::model::TtlChange;

    #[test]
    fn keys_go_as_text_or_base64() {
        let plain = wire_key(b"user:1").expect("text");
        assert_eq!((plain.args().as_str(), plain.base64), ("user:1", false));
        let spaced = wire_key(b"has space").expect("base64");
        assert_eq!(spaced.args(), "aGFzIHNwYWNl b");
        assert!(wire_key("café".as_bytes()).expect("base64").base64);
        assert!(wire_key(b"\xff\x00").expect("base64").base64);
        assert!(wire_key(b"").is_err());
        assert!(wire_key(&[b'k'; 251]).is_err());
    }

    #[test]
    fn routing_is_the_memcache_crates() {
        // The crate hashed `&str` with std's DefaultHasher: bytes that are UTF-8 route the
        // same through either branch.
        let mut h = std::collections::hash_map::DefaultHasher::new();
        h.write(b"user:42");
        h.write_u8(0xff);
        assert_eq!(
            usize::try_from(h.finish() % 3).unwrap_or(9),
            route(b"user:42", 3)
        );
        assert!(route(b"\xff", 3) < 3);
        assert_eq!(route(b"anything", 1), 0);
    }

    #[test]
    fn expiry_is_relative_below_thirty_days_and_absolute_above() {
        assert_eq!(exptime(TtlChange::InMs(90_000), -1), 90);
        assert_eq!(exptime(TtlChange::Persist, 50), 0);
        assert_eq!(exptime(TtlChange::Keep, 50), 50);
        assert_eq!(exptime(TtlChange::Keep, -1), 0);
        let far = exptime(TtlChange::InMs(40 * 86_400_000), -1);
        assert!(u64::from(far) > crate::core::ttl::now_unix_ms() / 1000);
        assert_eq!(
            exptime(TtlChange::AtUnixMs(1_900_000_000_000), -1),
            1_900_000_000
        );
    }

    #[test]
    fn dump_lines_give_their_key() {
        assert_eq!(
            parse_dump_line(b"key=user%3A1 exp=-1 la=1 cas=2 fetch=no cls=1 size=64\n").as_deref(),
            Some(&b"user:1"[..])
        );
        assert_eq!(parse_dump_line(b"key=k\r\n").as_deref(), Some(&b"k"[..]));
        assert_eq!(parse_dump_line(b"END\r\n"), None);
        assert_eq!(
            parse_dump_line(b"BUSY currently processing crawler request"),
            None
        );
    }

    proptest::proptest! {
        #[test]
        fn any_dump_line_is_read_without_panicking(line in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = parse_dump_line(&line);
            let mut page = PageBuilder::with_capacity(1);
            if let Some(k) = dump_line_key(&line) {
                page.push_if(k, |_| true);
                proptest::prop_assert_eq!(page.len(), 1);
            }
        }

        #[test]
        fn keys_round_trip_through_the_dump_encoding(key in proptest::collection::vec(proptest::num::u8::ANY, 1..250)) {
            // memcached URL-encodes every byte a dump line cannot carry as is.
            let encoded: String = percent_encoding::percent_encode(&key, percent_encoding::NON_ALPHANUMERIC).to_string();
            let line = format!("key={encoded} exp=-1 la=0 cas=1 fetch=no cls=1 size=10\n");
            proptest::prop_assert_eq!(parse_dump_line(line.as_bytes()), Some(key));
        }
    }

    #[test]
    fn dumped_keys_are_percent_decoded_and_filtered_into_one_page() {
        let mut page = PageBuilder::with_capacity(4);
        page.push_if(b"user%3A1%20x", |_| true);
        page.push_if(b"skip:me", |k| !k.starts_with(b"skip"));
        page.push_if(b"plain", |_| true);
        assert_eq!(page.len(), 2);
        let keys = page.take(4);
        assert_eq!(
            keys,
            [
                Bytes::from_static(b"user:1 x"),
                Bytes::from_static(b"plain")
            ]
        );
        assert_eq!(page.len(), 0);
    }
}
