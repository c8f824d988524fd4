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

use std::collections::HashMap;
use std::hash::{Hash as _, Hasher as _};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::io::{
    AsyncBufReadExt as _, AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, BufReader,
};
use tokio::sync::{Mutex, mpsc};

use super::{
    BackendError, BackendResult, CacheBackend, Capabilities, clamped_range, key_not_found,
    whole_string_page,
};
use crate::config::connection::{MemcachedAddress, MemcachedSpec};
use crate::core::escape::escape_bytes;
use crate::core::model::{
    DbInfo, DumpedKey, Expect, KeyDetails, KeyMeta, KeyType, NewValue, PageCursor, ScanPage,
    ScanRequest, Ttl, TtlChange, ValuePage, WriteOp, WriteOutcome,
};

/// memcached reads an expiry above 30 days as a Unix time, below it as seconds from now.
const RELATIVE_EXPIRY_LIMIT_SECS: u64 = 60 * 60 * 24 * 30;
/// How long the crawl may wait for a reader before it gives the server's crawler back.
const CRAWL_READER_PATIENCE: Duration = Duration::from_secs(20);
/// The longest reply line read (a metadump line is under 1 KiB, a meta header far less): a
/// server sending an endless line is cut off here, not read into memory.
const MAX_LINE_BYTES: usize = 64 << 10;
/// The longest whole text reply (`stats items` of a big server is a few hundred KiB).
const MAX_REPLY_BYTES: usize = 16 << 20;
/// The largest value read (memcached's own item limit tops out at 1 GiB with `-I`; the
/// default is 1 MiB).
const MAX_VALUE_BYTES: usize = 256 << 20;
/// memcached's key length limit.
const MAX_KEY_BYTES: usize = 250;
/// Crawls a delete by pattern makes at most: a crawl can miss an item memcached's LRU
/// maintainer moves while the crawler walks past, so it crawls again until one finds nothing.
const MAX_DELETE_PASSES: usize = 4;

/// A stream to one server.
trait Wire: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Wire for T {}

/// What `mg` told about one key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct MetaItem {
    ttl_secs: i64,
    idle_secs: Option<u64>,
    size: u64,
    flags: u32,
    cas: u64,
    value: Option<Bytes>,
}

/// One message of a running crawl.
enum CrawlMsg {
    Page(Vec<Bytes>, f64),
    Done,
    Failed(BackendError),
}

/// A connected memcached server or pool.
pub struct MemcachedBackend {
    servers: Vec<MemcachedAddress>,
    labels: Vec<String>,
    connect_timeout: Duration,
    command_timeout: Duration,
    version: String,
    capabilities: Capabilities,
    crawls: Mutex<HashMap<u64, mpsc::Receiver<CrawlMsg>>>,
    next_crawl: AtomicU64,
}

/// A key as written on the wire: as it is when the text protocol can carry it, else base64
/// with the meta protocol's `b` flag (keys with spaces, control or non-ASCII bytes, as binary
/// protocol clients write them).
struct WireKey {
    text: String,
    base64: bool,
}

impl WireKey {
    /// `mg`/`ms`/`md` arguments for this key: the key and, when needed, the `b` flag.
    fn args(&self) -> String {
        if self.base64 {
            format!("{} b", self.text)
        } else {
            self.text.clone()
        }
    }
}

fn wire_key(key: &[u8]) -> BackendResult<WireKey> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        return Err(BackendError::Invalid(format!(
            "`{}` cannot be a memcached key: keys are 1 to {MAX_KEY_BYTES} bytes",
            escape_bytes(key)
        )));
    }
    Ok(match std::str::from_utf8(key) {
        Ok(text) if key.iter().all(u8::is_ascii_graphic) => WireKey {
            text: text.to_owned(),
            base64: false,
        },
        _ => {
            use base64::Engine as _;
            WireKey {
                text: base64::engine::general_purpose::STANDARD.encode(key),
                base64: true,
            }
        }
    })
}

/// Which server of `n` holds `key`: the `memcache` crate's default routing (std's
/// `DefaultHasher` over the key as a `str`, modulo the pool size). For a key that is not
/// UTF-8 the same bytes are fed the way `str::hash` feeds them.
fn route(key: &[u8], n: usize) -> usize {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    if let Ok(text) = std::str::from_utf8(key) {
        text.hash(&mut hasher);
    } else {
        hasher.write(key);
        hasher.write_u8(0xff);
    }
    usize::try_from(hasher.finish() % (n.max(1) as u64)).unwrap_or(0)
}

/// Reads one line (through `\\n`) of at most [`MAX_LINE_BYTES`]; 0 at the end of the stream.
async fn read_line(
    conn: &mut BufReader<Box<dyn Wire>>,
    out: &mut Vec<u8>,
) -> std::io::Result<usize> {
    let start = out.len();
    let limit = MAX_LINE_BYTES as u64;
    let n = (&mut *conn).take(limit).read_until(b'\n', out).await?;
    if n > 0 && out.last() != Some(&b'\n') && (out.len() - start) as u64 >= limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "the server sent a line longer than {} KiB: not a memcached reply",
                limit >> 10
            ),
        ));
    }
    Ok(n)
}

/// A reply line for messages: escaped and cut short.
fn shown(line: &[u8]) -> String {
    let text = escape_bytes(line.trim_ascii_end());
    if text.chars().count() > 120 {
        format!("{}…", text.chars().take(120).collect::<String>())
    } else {
        text
    }
}

/// What a meta command (`mg`, `ms`, `md`) answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MetaStatus {
    /// `VA`: a value follows.
    Value,
    /// `HD`: done / found, no value.
    Done,
    /// `EN`: no such key (`mg`).
    Miss,
    /// `NS`: not stored (`ms` with mode add on an existing key).
    NotStored,
    /// `EX`: the CAS did not match.
    Exists,
    /// `NF`: not found (`md`, `ms` with a CAS).
    NotFound,
}

/// An expiry for memcached from a TTL in milliseconds (0: never).
fn exptime_from_ms(ms: u64) -> u32 {
    let secs = ms.div_ceil(1000);
    if secs > RELATIVE_EXPIRY_LIMIT_SECS {
        u32::try_from(crate::core::ttl::now_unix_ms() / 1000 + secs).unwrap_or(u32::MAX)
    } else {
        u32::try_from(secs).unwrap_or(u32::MAX)
    }
}

fn exptime(ttl: TtlChange, current_ttl_secs: i64) -> u32 {
    match ttl {
        TtlChange::Keep if current_ttl_secs > 0 => {
            exptime_from_ms(u64::try_from(current_ttl_secs).unwrap_or(0) * 1000)
        }
        TtlChange::Keep | TtlChange::Persist => 0,
        TtlChange::InMs(ms) => exptime_from_ms(ms.max(1)),
        TtlChange::AtUnixMs(at) => u32::try_from(at / 1000).unwrap_or(u32::MAX),
    }
}

fn ttl_of(item: &MetaItem) -> Ttl {
    if item.ttl_secs < 0 {
        Ttl::Persistent
    } else {
        Ttl::ExpiresInMs(u64::try_from(item.ttl_secs).unwrap_or(0) * 1000)
    }
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
struct PageBuilder {
    buf: Vec<u8>,
    ends: Vec<usize>,
}

impl PageBuilder {
    fn with_capacity(keys: usize) -> Self {
        Self {
            buf: Vec::with_capacity(keys * 32),
            ends: Vec::with_capacity(keys),
        }
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    /// Decodes a dumped (percent-encoded) key and keeps it if `keep` says so.
    fn push_if(&mut self, encoded: &[u8], keep: impl Fn(&[u8]) -> bool) {
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
    fn take(&mut self, next_capacity: usize) -> Vec<Bytes> {
        let ends = std::mem::replace(&mut self.ends, Vec::with_capacity(next_capacity));
        let buf = Bytes::from(std::mem::replace(
            &mut self.buf,
            Vec::with_capacity(next_capacity * 32),
        ));
        let mut start = 0;
        ends.into_iter()
            .map(|end| {
                let key = buf.slice(start..end);
                start = end;
                key
            })
            .collect()
    }
}

impl MemcachedBackend {
    /// Connects to every server of the spec (each must answer `version`).
    ///
    /// # Errors
    /// A server is unreachable or does not speak memcached.
    pub async fn connect(spec: &MemcachedSpec) -> BackendResult<Self> {
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
            capabilities: Capabilities {
                servers: if pool { labels.clone() } else { Vec::new() },
                listing_note: Some(
                    "a Memcached listing is a crawl of what is cached right now: items may be missed \
                     or gone by the time you open them"
                        .to_owned(),
                ),
                flush_delay: true,
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
        addr: &MemcachedAddress,
        label: &str,
        connect_timeout: Duration,
    ) -> BackendResult<BufReader<Box<dyn Wire>>> {
        let connect = async {
            let stream: Box<dyn Wire> = match addr {
                MemcachedAddress::Tcp { host, port } => {
                    let s = tokio::net::TcpStream::connect((host.as_str(), *port)).await?;
                    s.set_nodelay(true)?;
                    Box::new(s)
                }
                MemcachedAddress::Unix { path } => {
                    Box::new(tokio::net::UnixStream::connect(path).await?)
                }
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
        addr: &MemcachedAddress,
        label: &str,
        connect_timeout: Duration,
        command_timeout: Duration,
        command: &[u8],
        terminator: &[u8],
    ) -> BackendResult<Vec<u8>> {
        let mut conn = Self::open(addr, label, connect_timeout).await?;
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
        let mut conn = Self::open(&self.servers[index], label, self.connect_timeout).await?;
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

    /// `ms`: stores a value with its flags and expiry. `cas` makes it conditional on the item
    /// being unchanged; `add` on the key being absent. True when stored.
    async fn store(
        &self,
        key: &[u8],
        value: &[u8],
        flags: u32,
        exp: u32,
        cas: Option<u64>,
        add: bool,
    ) -> BackendResult<bool> {
        let wire = wire_key(key)?;
        let cas = cas.map(|c| format!(" C{c}")).unwrap_or_default();
        let mode = if add { " ME" } else { "" };
        let command = format!(
            "ms {} {} T{exp} F{flags}{cas}{mode}\r\n",
            wire.args(),
            value.len()
        );
        let mut command = command.into_bytes();
        command.extend_from_slice(value);
        command.extend_from_slice(b"\r\n");
        Ok(self.meta_for(key, command).await? == MetaStatus::Done)
    }

    /// Crawls every server's    /// Crawls every server's `lru_crawler metadump all`, one line at a time, sending pages of
    /// matching keys. Never holds the whole dump; a reader that stops taking pages for too long
    /// makes it hang up so the server's crawler is free again.
    #[allow(clippy::too_many_arguments)]
    async fn crawl(
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
                let mut conn = Self::open(addr, label, connect_timeout).await?;
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

    async fn flush_servers(&self, server: Option<&str>, delay_secs: u32) -> BackendResult<u64> {
        // memcached reads a delay over 30 days as an absolute Unix time, and one in the past
        // flushes at once: refuse what it would misread rather than flush now.
        if u64::from(delay_secs) > RELATIVE_EXPIRY_LIMIT_SECS {
            return Err(BackendError::Invalid(format!(
                "a flush delay of {delay_secs} s is more than 30 days ({RELATIVE_EXPIRY_LIMIT_SECS} s): \
                 memcached would read it as a date and might flush at once; nothing was flushed"
            )));
        }
        let mut flushed = 0;
        for (i, label) in self.labels.iter().enumerate() {
            if server.is_some_and(|s| s != label) {
                continue;
            }
            let command = if delay_secs > 0 {
                format!("flush_all {delay_secs}\r\n")
            } else {
                "flush_all\r\n".to_owned()
            };
            let reply = Self::request_on(
                &self.servers[i],
                label,
                self.connect_timeout,
                self.command_timeout,
                command.as_bytes(),
                b"\r\n",
            )
            .await?;
            if !reply.starts_with(b"OK") {
                return Err(BackendError::Server {
                    command: "flush_all".to_owned(),
                    reason: String::from_utf8_lossy(&reply).trim().to_owned(),
                });
            }
            flushed += 1;
        }
        if flushed == 0 {
            return Err(BackendError::Invalid(format!(
                "no server named `{}` in this pool",
                server.unwrap_or_default()
            )));
        }
        if delay_secs == 0 {
            // memcached's clock has whole seconds, and its key dump still shows items stored in
            // the same second as an immediate flush (reads already miss them). Returning after
            // the next tick makes every listing that follows a flush agree with the server.
            tokio::time::sleep(Duration::from_millis(1_100)).await;
        }
        Ok(flushed)
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
                Ok(ScanPage {
                    keys,
                    next_cursor: token,
                    progress,
                })
            }
            Some(CrawlMsg::Done) | None => Ok(ScanPage {
                keys: Vec::new(),
                next_cursor: 0,
                progress: 1.0,
            }),
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
        match op {
            WriteOp::SetString {
                key,
                value,
                ttl,
                expect,
            } => {
                let current = self.meta_one(key, "t f c v").await?;
                let holds = match current.as_ref().map(|c| c.value.as_deref()) {
                    None => expect.holds(None),
                    Some(Some(v)) => expect.holds(Some(v)),
                    // There, but its value was not read: only a write expecting nothing goes on.
                    Some(None) => *expect == Expect::Any,
                };
                if !holds {
                    return Ok(WriteOutcome::Conflict);
                }
                let flags = current.as_ref().map_or(0, |c| c.flags);
                let exp = exptime(*ttl, current.as_ref().map_or(-1, |c| c.ttl_secs));
                // CAS: refused when anyone wrote the key since we read it.
                let cas = match (expect, &current) {
                    (Expect::Value(_), Some(item)) => Some(item.cas),
                    _ => None,
                };
                let add = *expect == Expect::Absent;
                Ok(if self.store(key, value, flags, exp, cas, add).await? {
                    WriteOutcome::Done(1)
                } else {
                    WriteOutcome::Conflict
                })
            }
            WriteOp::SetTtl { key, ttl } => {
                if *ttl == TtlChange::Keep {
                    return Ok(WriteOutcome::Done(0));
                }
                let wire = wire_key(key)?;
                let exp = exptime(*ttl, -1);
                // `mg … T` is touch: it sets the expiry of an item that is there.
                let command = format!("mg {} T{exp}\r\n", wire.args()).into_bytes();
                match self.meta_for(key, command).await? {
                    MetaStatus::Done | MetaStatus::Value => Ok(WriteOutcome::Done(1)),
                    _ => Err(key_not_found(key)),
                }
            }
            WriteOp::Create { key, value, ttl } => {
                let NewValue::String(value) = value else {
                    return Err(Self::unsupported("a collection"));
                };
                let exp = exptime(*ttl, -1);
                Ok(if self.store(key, value, 0, exp, None, true).await? {
                    WriteOutcome::Done(1)
                } else {
                    WriteOutcome::TargetExists
                })
            }
            WriteOp::Delete { keys } => {
                // One pipelined round trip per server; a key memcached cannot hold at all is
                // refused before anything is sent.
                let mut by_server: HashMap<usize, Vec<Vec<u8>>> = HashMap::new();
                for key in keys {
                    let wire = wire_key(key)?;
                    by_server
                        .entry(self.server_index(key))
                        .or_default()
                        .push(format!("md {}\r\n", wire.args()).into_bytes());
                }
                let mut deleted = 0;
                for (server, commands) in by_server {
                    for (status, _) in self.meta(server, &commands).await? {
                        if status == MetaStatus::Done {
                            deleted += 1;
                        }
                    }
                }
                Ok(WriteOutcome::Done(deleted))
            }
            WriteOp::Restore { keys } => {
                let mut restored = 0;
                for k in keys {
                    let (flag_bytes, value) = k.payload.split_at(k.payload.len().min(4));
                    let flags = u32::from_be_bytes(flag_bytes.try_into().unwrap_or([0; 4]));
                    let exp = k
                        .expire_at_unix_ms
                        .map_or(0, |at| u32::try_from(at / 1000).unwrap_or(u32::MAX));
                    if !self.store(&k.key, value, flags, exp, None, true).await? {
                        return Err(BackendError::Server {
                            command: "add".to_owned(),
                            reason: format!(
                                "`{}` exists again; it was not replaced",
                                escape_bytes(&k.key)
                            ),
                        });
                    }
                    restored += 1;
                }
                Ok(WriteOutcome::Done(restored))
            }
            WriteOp::FlushDb | WriteOp::FlushAll => {
                Ok(WriteOutcome::Done(self.flush_servers(None, 0).await?))
            }
            WriteOp::Flush { server, delay_secs } => Ok(WriteOutcome::Done(
                self.flush_servers(server.as_deref(), *delay_secs).await?,
            )),
            WriteOp::Rename { .. } | WriteOp::Copy { .. } => {
                Err(Self::unsupported("renaming or copying a key"))
            }
            _ => Err(Self::unsupported("this edit")),
        }
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
    use super::*;

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
