//! Plain data that crosses the boundary between backends, the service and the UI.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// The type of a cached value, as the backend reports it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KeyType {
    /// A plain byte string.
    String,
    /// A field → value map.
    Hash,
    /// An ordered list.
    List,
    /// An unordered set of members.
    Set,
    /// A set ordered by score.
    ZSet,
    /// An append-only log of entries.
    Stream,
    /// A RedisJSON document.
    Json,
    /// A type this console does not know how to show (a module type, say).
    Other(String),
}

impl KeyType {
    /// Parses the name Redis' `TYPE` command returns; `none` means the key does not exist.
    #[must_use]
    pub fn from_redis(name: &str) -> Option<Self> {
        Some(match name {
            "none" => return None,
            "string" => Self::String,
            "hash" => Self::Hash,
            "list" => Self::List,
            "set" => Self::Set,
            "zset" => Self::ZSet,
            "stream" => Self::Stream,
            "ReJSON-RL" => Self::Json,
            other => Self::Other(other.to_owned()),
        })
    }

    /// The name `SCAN … TYPE` and `TYPE` use for this type.
    #[must_use]
    pub fn redis_name(&self) -> &str {
        match self {
            Self::String => "string",
            Self::Hash => "hash",
            Self::List => "list",
            Self::Set => "set",
            Self::ZSet => "zset",
            Self::Stream => "stream",
            Self::Json => "ReJSON-RL",
            Self::Other(name) => name,
        }
    }

    /// A short label for tables and badges.
    #[must_use]
    pub fn label(&self) -> &str {
        match self {
            Self::String => "string",
            Self::Hash => "hash",
            Self::List => "list",
            Self::Set => "set",
            Self::ZSet => "zset",
            Self::Stream => "stream",
            Self::Json => "json",
            Self::Other(name) => name,
        }
    }
}

/// Time to live of a key as the server reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ttl {
    /// The key never expires.
    Persistent,
    /// The key expires this many milliseconds after the moment it was read.
    ExpiresInMs(u64),
}

/// The lightweight facts shown in a key list row.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyMeta {
    /// Value type.
    pub key_type: KeyType,
    /// Time to live when read.
    pub ttl: Ttl,
    /// Memory used by the key and value, in bytes, when the backend can tell.
    pub size_bytes: Option<u64>,
}

/// Everything the value viewer shows about one key besides the value itself.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyDetails {
    /// The row facts (type, TTL, memory).
    pub meta: KeyMeta,
    /// Internal encoding (`listpack`, `hashtable`, `embstr`, …) when the backend has one.
    pub encoding: Option<String>,
    /// Length: bytes of a string, fields of a hash, elements of a list/set/zset/stream.
    pub length: u64,
}

/// Where the next page of a collection starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageCursor {
    /// The first page.
    Start,
    /// A server cursor for HSCAN/SSCAN-style iteration.
    Scan(u64),
    /// An element index for LRANGE/ZRANGE-style paging.
    Index(u64),
    /// Stream entries strictly after this id.
    StreamAfter(Bytes),
}

/// One entry of a stream.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamEntry {
    /// The entry id (`1700000000000-0`).
    pub id: Bytes,
    /// Field/value pairs in entry order.
    pub fields: Vec<(Bytes, Bytes)>,
}

/// The items of one page of a value.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueItems {
    /// A string (or its first bytes when it is large).
    String {
        /// The bytes read.
        bytes: Bytes,
        /// The full length on the server; larger than `bytes.len()` for a preview.
        total_len: u64,
    },
    /// Hash fields and values.
    Hash(Vec<(Bytes, Bytes)>),
    /// List elements, starting at the page's index.
    List(Vec<Bytes>),
    /// Set members.
    Set(Vec<Bytes>),
    /// Sorted set members with their scores, in rank order.
    ZSet(Vec<(Bytes, f64)>),
    /// Stream entries in id order.
    Stream(Vec<StreamEntry>),
    /// A JSON document as text.
    Json(String),
}

/// One page of a value, and where the next one starts.
#[derive(Debug, Clone, PartialEq)]
pub struct ValuePage {
    /// The cursor this page was read from.
    pub cursor: PageCursor,
    /// What was read.
    pub items: ValueItems,
    /// Where to continue, or `None` when this was the last page.
    pub next: Option<PageCursor>,
}

/// Facts about one logical database (a Redis db index).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbInfo {
    /// Database index.
    pub index: u32,
    /// Number of keys.
    pub keys: u64,
    /// Number of keys with a TTL.
    pub expires: u64,
}

/// What to search for in a key listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanRequest {
    /// Redis glob pattern, as bytes.
    pub pattern: Vec<u8>,
    /// Only keys of this type, when set.
    pub type_filter: Option<KeyType>,
    /// Hint of how many keys to examine per round trip.
    pub count: u32,
}

/// One page of a key listing.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanPage {
    /// Matching keys found in this page.
    pub keys: Vec<Bytes>,
    /// Cursor to continue from; `0` when the listing is complete.
    pub next_cursor: u64,
    /// Share of the keyspace visited so far, 0.0‥=1.0.
    pub progress: f64,
}
