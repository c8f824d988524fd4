//! memcached's wire: a stream to one server, keys as the meta protocol carries them, bounded
//! reply lines, and what meta commands answer. Every read here is bounded in size.

use std::hash::{Hash as _, Hasher as _};

use bytes::Bytes;
use tokio::io::{AsyncBufReadExt as _, AsyncRead, AsyncReadExt as _, AsyncWrite, BufReader};

use crate::backend::{BackendError, BackendResult};
use crate::core::escape::escape_bytes;
use crate::core::model::{Ttl, TtlChange};

/// memcached reads an expiry above 30 days as a Unix time, below it as seconds from now.
pub(super) const RELATIVE_EXPIRY_LIMIT_SECS: u64 = 60 * 60 * 24 * 30;
/// The longest reply line read (a metadump line is under 1 KiB, a meta header far less): a
/// server sending an endless line is cut off here, not read into memory.
pub(super) const MAX_LINE_BYTES: usize = 64 << 10;
/// The longest whole text reply (`stats items` of a big server is a few hundred KiB).
pub(super) const MAX_REPLY_BYTES: usize = 16 << 20;
/// The largest value read (memcached's own item limit tops out at 1 GiB with `-I`; the
/// default is 1 MiB).
pub(super) const MAX_VALUE_BYTES: usize = 256 << 20;
/// memcached's key length limit.
pub(super) const MAX_KEY_BYTES: usize = 250;

/// A stream to one server.
pub(super) trait Wire: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Wire for T {}

/// What `mg` told about one key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct MetaItem {
    pub ttl_secs: i64,
    pub idle_secs: Option<u64>,
    pub size: u64,
    pub flags: u32,
    pub cas: u64,
    pub value: Option<Bytes>,
}

/// A key as written on the wire: as it is when the text protocol can carry it, else base64
/// with the meta protocol's `b` flag (keys with spaces, control or non-ASCII bytes, as binary
/// protocol clients write them).
pub(super) struct WireKey {
    pub text: String,
    pub base64: bool,
}

impl WireKey {
    /// `mg`/`ms`/`md` arguments for this key: the key and, when needed, the `b` flag.
    pub(super) fn args(&self) -> String {
        if self.base64 {
            format!("{} b", self.text)
        } else {
            self.text.clone()
        }
    }
}

pub(super) fn wire_key(key: &[u8]) -> BackendResult<WireKey> {
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
pub(super) fn route(key: &[u8], n: usize) -> usize {
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
pub(super) async fn read_line(
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
pub(super) fn shown(line: &[u8]) -> String {
    let text = escape_bytes(line.trim_ascii_end());
    if text.chars().count() > 120 {
        format!("{}…", text.chars().take(120).collect::<String>())
    } else {
        text
    }
}

/// What a meta command (`mg`, `ms`, `md`) answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MetaStatus {
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
pub(super) fn exptime_from_ms(ms: u64) -> u32 {
    let secs = ms.div_ceil(1000);
    if secs > RELATIVE_EXPIRY_LIMIT_SECS {
        u32::try_from(crate::core::ttl::now_unix_ms() / 1000 + secs).unwrap_or(u32::MAX)
    } else {
        u32::try_from(secs).unwrap_or(u32::MAX)
    }
}

pub(super) fn exptime(ttl: TtlChange, current_ttl_secs: i64) -> u32 {
    match ttl {
        TtlChange::Keep if current_ttl_secs > 0 => {
            exptime_from_ms(u64::try_from(current_ttl_secs).unwrap_or(0) * 1000)
        }
        TtlChange::Keep | TtlChange::Persist => 0,
        TtlChange::InMs(ms) => exptime_from_ms(ms.max(1)),
        TtlChange::AtUnixMs(at) => u32::try_from(at / 1000).unwrap_or(u32::MAX),
    }
}

pub(super) fn ttl_of(item: &MetaItem) -> Ttl {
    if item.ttl_secs < 0 {
        Ttl::Persistent
    } else {
        Ttl::ExpiresInMs(u64::try_from(item.ttl_secs).unwrap_or(0) * 1000)
    }
}
