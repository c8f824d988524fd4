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
    /// The backend cannot tell (DreamFactory's cache API reads values, not TTLs).
    Unknown,
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
    /// The server holding the key, for backends spread over several (a memcached pool).
    pub server: Option<String>,
    /// Seconds since the key was last read or written, when the backend tells (memcached).
    pub idle_secs: Option<u64>,
    /// A short decoded preview of the value, for backends whose key names say little (a file
    /// cache lists hashes).
    pub preview: Option<String>,
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
    /// Backend-specific facts worth showing (server, flags, CAS, …).
    pub extra: Vec<(String, String)>,
    /// Client flags stored beside the value (memcached), which say how it was encoded.
    pub flags: Option<u32>,
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

/// One page of the elements of a collection that match a pattern, and where the search goes
/// on.
#[derive(Debug, Clone, PartialEq)]
pub struct FoundPage {
    /// The matches (fields and values, members, elements).
    pub items: ValueItems,
    /// For a list, the index of each match (elements have no other name).
    pub positions: Vec<u64>,
    /// Elements looked at for this page (matching or not).
    pub examined: u64,
    /// Where to go on, or `None` when the whole value was searched.
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
    /// Only keys held by this server of a pool (as the backend names it); `None` for all.
    pub server: Option<String>,
    /// At most this many milliseconds a second of each server's time spent on the listing's
    /// `SCAN`s, each kept short by a `COUNT` adapted to how long the last ones took; `None`:
    /// as fast as the server answers, `count` keys a call.
    pub budget_ms: Option<u32>,
}

/// Keys examined per SCAN round trip unless a caller has a reason to ask for another number.
pub const SCAN_COUNT: u32 = 1000;

/// The default scan budget: a quarter of a server's time at most, so a listing of a big
/// keyspace leaves three quarters to the applications it serves.
pub const DEFAULT_SCAN_BUDGET_MS: u32 = 250;

impl ScanRequest {
    /// Every key `pattern` (a glob, as bytes) matches, of any type, on every server, in
    /// [`SCAN_COUNT`]-sized round trips.
    #[must_use]
    pub fn matching(pattern: Vec<u8>) -> Self {
        Self {
            pattern,
            type_filter: None,
            count: SCAN_COUNT,
            server: None,
            budget_ms: Some(DEFAULT_SCAN_BUDGET_MS),
        }
    }
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
    /// How far each node is, where a listing reads several at once (a cluster's nodes).
    pub parts: Vec<ScanPart>,
    /// Something the user must know about this listing (a node listed again after a
    /// failover).
    pub note: Option<String>,
    /// The `COUNT` the last `SCAN` of this page asked for, where a scan budget adapts it.
    pub count: Option<u32>,
}

impl ScanPage {
    /// A page of one server's listing.
    #[must_use]
    pub fn single(keys: Vec<Bytes>, next_cursor: u64, progress: f64) -> Self {
        Self {
            keys,
            next_cursor,
            progress,
            parts: Vec::new(),
            note: None,
            count: None,
        }
    }
}

/// One node of a cluster, as the node panel shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRow {
    /// The address it announces (`host:port`).
    pub address: String,
    /// Where it is reached, when the address map sends it elsewhere.
    pub reached_at: Option<String>,
    /// The node id.
    pub id: String,
    /// A primary (else a replica).
    pub primary: bool,
    /// The primary a replica follows (its address).
    pub replica_of: Option<String>,
    /// Its slot ranges (a replica: its primary's), `0-5460,6000`.
    pub slots: String,
    /// How many slots that is.
    pub slot_count: u32,
    /// Keys it holds (`DBSIZE`), when it answered.
    pub keys: Option<u64>,
    /// Memory used in bytes (`used_memory`), when it answered.
    pub memory: Option<u64>,
    /// What the cluster says of it (`online`, `failed`, `loading`, `?`) and whether this app
    /// reaches it (`unreachable: …`).
    pub link: String,
}

/// How far a listing is on one node of several.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanPart {
    /// The node (`host:port`).
    pub name: String,
    /// Keys visited so far (estimated from the cursor).
    pub visited: u64,
    /// Keys the node holds.
    pub total: u64,
    /// Keys found matching so far.
    pub matched: u64,
    /// This node is listed to its end.
    pub done: bool,
}

/// What a write does to a key's time to live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TtlChange {
    /// Leave it as it is (`SET … KEEPTTL`; collection edits never touch it).
    Keep,
    /// Remove it: the key never expires.
    Persist,
    /// Expire this many milliseconds from now.
    InMs(u64),
    /// Expire at this Unix time, in milliseconds.
    AtUnixMs(u64),
}

/// What a checked write expects to find before it changes anything: a save is refused as a
/// conflict when another client changed the value since the user loaded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// Nothing: write over whatever is there.
    Any,
    /// The key (or field) must not exist yet.
    Absent,
    /// It must still hold exactly this: the value the user loaded.
    Value(Bytes),
}

impl Expect {
    /// Whether `current` (`None`: nothing there) is what was expected.
    #[must_use]
    pub fn holds(&self, current: Option<&[u8]>) -> bool {
        match (self, current) {
            (Self::Any, _) | (Self::Absent, None) => true,
            (Self::Value(v), Some(c)) => v.as_ref() == c,
            (Self::Absent, Some(_)) | (Self::Value(_), None) => false,
        }
    }
}

/// A value to create a new key with.
#[derive(Debug, Clone, PartialEq)]
pub enum NewValue {
    /// A string.
    String(Bytes),
    /// A hash with one field.
    Hash(Bytes, Bytes),
    /// A list with one element.
    List(Bytes),
    /// A set with one member.
    Set(Bytes),
    /// A sorted set with one member and score.
    ZSet(Bytes, f64),
    /// A stream with one entry of these fields.
    Stream(Vec<(Bytes, Bytes)>),
}

/// One change to the cache. Every write the console makes is one of these, so a read-only
/// connection can refuse them all in one place and the audit log can name each.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteOp {
    /// Replace a string value, unless the key no longer holds what `expect` says (conflict).
    SetString {
        /// The key.
        key: Bytes,
        /// The new value.
        value: Bytes,
        /// What happens to the TTL.
        ttl: TtlChange,
        /// What the key must hold for the write to go ahead.
        expect: Expect,
    },
    /// Replace a value with a structure given as JSON text, kept as a structure where the
    /// backend tells the two apart ([`crate::backend::Capabilities::structured_values`]).
    SetJson {
        /// The key.
        key: Bytes,
        /// The JSON text.
        value: Bytes,
        /// What happens to the TTL.
        ttl: TtlChange,
    },
    /// Change a key's TTL.
    SetTtl {
        /// The key.
        key: Bytes,
        /// The change.
        ttl: TtlChange,
    },
    /// Create a key that does not exist yet.
    Create {
        /// The key.
        key: Bytes,
        /// Its first value.
        value: NewValue,
        /// Its TTL.
        ttl: TtlChange,
    },
    /// Set a hash field, unless it no longer holds what `expect` says (conflict).
    HashSet {
        /// The key.
        key: Bytes,
        /// The field.
        field: Bytes,
        /// The new value.
        value: Bytes,
        /// What the field must hold for the write to go ahead.
        expect: Expect,
    },
    /// Remove hash fields.
    HashDelete {
        /// The key.
        key: Bytes,
        /// The fields.
        fields: Vec<Bytes>,
    },
    /// Replace the list element at an index; with `expect`, only if it still holds that value.
    ListSet {
        /// The key.
        key: Bytes,
        /// The index.
        index: i64,
        /// The new value.
        value: Bytes,
        /// The value the user loaded.
        expect: Option<Bytes>,
    },
    /// Push an element at the head or the tail.
    ListPush {
        /// The key.
        key: Bytes,
        /// Head (LPUSH) or tail (RPUSH).
        head: bool,
        /// The element.
        value: Bytes,
    },
    /// Remove the element at an index, if it still holds `expect`.
    ListRemoveAt {
        /// The key.
        key: Bytes,
        /// The index.
        index: i64,
        /// The value the user saw there.
        expect: Bytes,
    },
    /// Add set members.
    SetAdd {
        /// The key.
        key: Bytes,
        /// The members.
        members: Vec<Bytes>,
    },
    /// Remove set members.
    SetRemove {
        /// The key.
        key: Bytes,
        /// The members.
        members: Vec<Bytes>,
    },
    /// Add a sorted-set member or change its score.
    ZSetAdd {
        /// The key.
        key: Bytes,
        /// The member.
        member: Bytes,
        /// Its score.
        score: f64,
    },
    /// Remove sorted-set members.
    ZSetRemove {
        /// The key.
        key: Bytes,
        /// The members.
        members: Vec<Bytes>,
    },
    /// Append a stream entry with an automatic id.
    StreamAdd {
        /// The key.
        key: Bytes,
        /// Field/value pairs.
        fields: Vec<(Bytes, Bytes)>,
    },
    /// Delete stream entries.
    StreamDelete {
        /// The key.
        key: Bytes,
        /// Entry ids.
        ids: Vec<Bytes>,
    },
    /// Rename a key; without `overwrite`, refuse when the target exists.
    Rename {
        /// The key.
        from: Bytes,
        /// Its new name.
        to: Bytes,
        /// Replace an existing target.
        overwrite: bool,
    },
    /// Copy a key (value and TTL); without `overwrite`, refuse when the target exists.
    Copy {
        /// The key.
        from: Bytes,
        /// The copy's name.
        to: Bytes,
        /// Replace an existing target.
        overwrite: bool,
    },
    /// Delete keys (UNLINK: the memory is freed in the background).
    Delete {
        /// The keys.
        keys: Vec<Bytes>,
    },
    /// Put back keys saved with `dump` (undo of a delete), with their TTLs.
    Restore {
        /// What `dump` returned.
        keys: Vec<DumpedKey>,
    },
    /// Empty the current database.
    FlushDb,
    /// Empty every database of the server.
    FlushAll,
    /// Delete every entry whose TTL has run out (SQL and file caches keep them until then).
    PurgeExpired,
    /// Empty one server of a pool (or all of them), optionally after a delay (memcached).
    Flush {
        /// The server, as the backend names it; `None` for every server.
        server: Option<String>,
        /// Seconds to wait before the flush takes effect.
        delay_secs: u32,
    },
    /// Empty the server's slow log.
    ResetSlowLog,
    /// Disconnect one client of the server.
    KillClient {
        /// The client's id (`CLIENT LIST`'s `id=`).
        id: u64,
        /// The node it is connected to, in a cluster (ids are per node).
        node: Option<String>,
    },
    /// Write a whole value (an import's or a copy's): with `replace`, whatever the key held
    /// goes first; without, a key that exists is left and the outcome is
    /// [`WriteOutcome::TargetExists`].
    Put {
        /// The key.
        key: Bytes,
        /// The value.
        value: FullValue,
        /// Milliseconds to live; `None` for no TTL.
        ttl_ms: Option<u64>,
        /// Replace a key that exists.
        replace: bool,
    },
    /// Write a `DUMP` payload (`RESTORE`), as [`WriteOp::Put`] does a value.
    RestoreDump {
        /// The key.
        key: Bytes,
        /// The payload.
        payload: Bytes,
        /// Milliseconds to live; `None` for no TTL.
        ttl_ms: Option<u64>,
        /// Replace a key that exists.
        replace: bool,
    },
    /// Publish a message (`PUBLISH`; `SPUBLISH` on a cluster's sharded channel). Its outcome
    /// counts the subscribers that received it.
    Publish {
        /// The channel.
        channel: Bytes,
        /// The message.
        message: Bytes,
        /// A sharded channel.
        sharded: bool,
    },
}

/// The keys of a write, by shared or by mutable reference: one list of the variants for both
/// (`$iter` is `iter` or `iter_mut`; the patterns bind as the reference they are given).
macro_rules! keys_of {
    ($op:expr, $iter:ident) => {
        match $op {
            WriteOp::SetString { key, .. }
            | WriteOp::SetJson { key, .. }
            | WriteOp::SetTtl { key, .. }
            | WriteOp::Create { key, .. }
            | WriteOp::HashSet { key, .. }
            | WriteOp::HashDelete { key, .. }
            | WriteOp::ListSet { key, .. }
            | WriteOp::ListPush { key, .. }
            | WriteOp::ListRemoveAt { key, .. }
            | WriteOp::SetAdd { key, .. }
            | WriteOp::SetRemove { key, .. }
            | WriteOp::ZSetAdd { key, .. }
            | WriteOp::ZSetRemove { key, .. }
            | WriteOp::StreamAdd { key, .. }
            | WriteOp::StreamDelete { key, .. }
            | WriteOp::Put { key, .. }
            | WriteOp::RestoreDump { key, .. } => vec![key],
            WriteOp::Rename { from, to, .. } | WriteOp::Copy { from, to, .. } => vec![from, to],
            WriteOp::Delete { keys } => keys.$iter().collect(),
            WriteOp::Restore { keys } => keys.$iter().map(|DumpedKey { key, .. }| key).collect(),
            WriteOp::FlushDb
            | WriteOp::FlushAll
            | WriteOp::Flush { .. }
            | WriteOp::PurgeExpired
            | WriteOp::ResetSlowLog
            | WriteOp::Publish { .. }
            | WriteOp::KillClient { .. } => Vec::new(),
        }
    };
}

impl WriteOp {
    /// A short name for the audit log and messages (`set`, `delete`, `flushdb`, …).
    #[must_use]
    pub fn action(&self) -> &'static str {
        match self {
            Self::SetString { .. } | Self::SetJson { .. } => "set",
            Self::SetTtl { .. } => "ttl",
            Self::Create { .. } => "create",
            Self::HashSet { .. } => "hset",
            Self::HashDelete { .. } => "hdel",
            Self::ListSet { .. } => "lset",
            Self::ListPush { .. } => "lpush/rpush",
            Self::ListRemoveAt { .. } => "lrem",
            Self::SetAdd { .. } => "sadd",
            Self::SetRemove { .. } => "srem",
            Self::ZSetAdd { .. } => "zadd",
            Self::ZSetRemove { .. } => "zrem",
            Self::StreamAdd { .. } => "xadd",
            Self::StreamDelete { .. } => "xdel",
            Self::Rename { .. } => "rename",
            Self::Copy { .. } => "copy",
            Self::Delete { .. } => "delete",
            Self::Restore { .. } => "restore",
            Self::FlushDb => "flushdb",
            Self::FlushAll => "flushall",
            Self::Flush { .. } => "flush",
            Self::PurgeExpired => "purge-expired",
            Self::ResetSlowLog => "slowlog-reset",
            Self::KillClient { .. } => "client-kill",
            Self::Publish { .. } => "publish",
            Self::Put { .. } => "put",
            Self::RestoreDump { .. } => "restore-dump",
        }
    }

    /// The keys this write touches (for the audit log; never values).
    #[must_use]
    pub fn keys(&self) -> Vec<&Bytes> {
        keys_of!(self, iter)
    }

    /// The keys it touches, to change (a prefix put before each, say): the same keys as
    /// [`WriteOp::keys`], in the same order.
    pub fn keys_mut(&mut self) -> Vec<&mut Bytes> {
        keys_of!(self, iter_mut)
    }

    /// What the write is aimed at besides keys, for the audit log.
    #[must_use]
    pub fn detail(&self) -> Option<String> {
        match self {
            Self::KillClient { id, node: None } => Some(format!("client id {id}")),
            Self::KillClient {
                id,
                node: Some(node),
            } => Some(format!("client id {id} on {node}")),
            Self::Publish {
                channel,
                message,
                sharded,
            } => Some(format!(
                "{} {} ({} bytes)",
                if *sharded {
                    "sharded channel"
                } else {
                    "channel"
                },
                crate::core::escape::escape_bytes(channel),
                message.len()
            )),
            _ => None,
        }
    }
}

/// What a write did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Done; how many keys, fields or members it changed.
    Done(u64),
    /// Not done: the value changed on the server since the user loaded it.
    Conflict,
    /// Not done: the target key exists (rename/copy/create without overwrite).
    TargetExists,
}

impl WriteOutcome {
    /// How many keys, fields or members it changed (none when it was not done).
    #[must_use]
    pub fn changed(&self) -> u64 {
        match self {
            Self::Done(n) => *n,
            Self::Conflict | Self::TargetExists => 0,
        }
    }
}

/// A key saved with DUMP so a delete can be undone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpedKey {
    /// The key.
    pub key: Bytes,
    /// The serialized value (Redis DUMP format).
    pub payload: Bytes,
    /// When it was due to expire, as Unix time in ms; `None` for no TTL.
    pub expire_at_unix_ms: Option<u64>,
}

/// Progress of a delete by pattern.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BulkProgress {
    /// Keys deleted so far.
    pub deleted: u64,
    /// Share of the keyspace visited.
    pub progress: f64,
}

/// One entry of a server's slow log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlowLogEntry {
    /// The entry's id (grows with every slow command).
    pub id: u64,
    /// When the command ran, Unix seconds.
    pub at_unix: u64,
    /// How long it ran, microseconds.
    pub duration_us: u64,
    /// The command and its arguments (the server shortens long ones).
    pub args: Vec<Bytes>,
    /// The client's address.
    pub client: String,
    /// The client's name (`CLIENT SETNAME`), often empty.
    pub client_name: String,
    /// The node whose log it is, in a cluster (`host:port`).
    pub node: Option<String>,
}

/// One connected client of a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientInfo {
    /// The client's id.
    pub id: u64,
    /// This is the app's own connection.
    pub own: bool,
    /// Every `name=value` field the server reports (`addr`, `name`, `age`, `idle`, `db`,
    /// `cmd`, `user`, …), in its order.
    pub fields: Vec<(String, String)>,
    /// The node it is connected to, in a cluster (`host:port`); ids are per node.
    pub node: Option<String>,
}

impl ClientInfo {
    /// The value of one field, or "".
    #[must_use]
    pub fn field(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// A server's reply to a command a person typed (`exec`, the console), as the protocol gave it.
#[derive(Debug, Clone, PartialEq)]
pub enum RawReply {
    /// No value (`(nil)`).
    Nil,
    /// An integer.
    Int(i64),
    /// A double (RESP3).
    Double(f64),
    /// A boolean (RESP3).
    Bool(bool),
    /// A bulk string: bytes.
    Bulk(Bytes),
    /// A status (`OK`, `PONG`).
    Status(String),
    /// An error reply (`ERR …`, `WRONGTYPE …`): an answer, not a failure to reach the server.
    Error(String),
    /// An array (or a RESP3 push).
    Array(Vec<RawReply>),
    /// A map (RESP3).
    Map(Vec<(RawReply, RawReply)>),
    /// A set (RESP3).
    Set(Vec<RawReply>),
    /// A big number or verbatim text (RESP3), as text.
    Text(String),
}

impl RawReply {
    /// Whether this is an error reply.
    #[must_use]
    pub fn is_error(&self) -> bool {
        matches!(self, Self::Error(_))
    }
}

/// What a command is, as the server describes it (`COMMAND INFO`): what the guard and the
/// console go by.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandFacts {
    /// The server knows the command.
    pub known: bool,
    /// It may change data (the `write` flag, the `@write` ACL category).
    pub write: bool,
    /// It is in the `@dangerous` ACL category (or flagged `admin` on a server before ACLs).
    pub dangerous: bool,
    /// It administers the server (the `admin` flag: `CONFIG SET`, `ACL SETUSER`, but also
    /// `CONFIG GET`); see [`crate::core::redact::changes_server`].
    pub admin: bool,
    /// It may block (`@blocking`) or streams without end (`MONITOR`, `SUBSCRIBE`).
    pub blocking: bool,
    /// Where its first key is (1: the first argument); 0 when it has none.
    pub first_key: i64,
}

/// Where a typed command runs on a cluster (elsewhere it runs on the one server).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ExecOn {
    /// On the node serving its key; a command without a key is refused with
    /// [`crate::backend::BackendError::NeedsNode`], so the console can ask where.
    #[default]
    ByKey,
    /// On every primary, each answer shown.
    AllPrimaries,
    /// On this node (`host:port` as the cluster names it).
    Node(String),
}

/// One node's reply to a typed command (`node` is `None` where there is one server).
#[derive(Debug, Clone, PartialEq)]
pub struct NodeReply {
    /// The node that answered, on a cluster.
    pub node: Option<String>,
    /// Its reply.
    pub reply: RawReply,
}

/// What the console shows of a command while it is typed: its name, its arguments and what
/// it does (from the server's `COMMAND DOCS`, or a table bundled for older servers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandDoc {
    /// The name as typed, upper-case; a subcommand with its container (`CONFIG SET`).
    pub name: String,
    /// Its arguments as a hint (`key value [NX | XX] [GET]`).
    pub args: String,
    /// What it does, in a sentence.
    pub summary: String,
    /// Its group (`string`, `server`, …).
    pub group: String,
    /// The server version that brought it (`1.0.0`); empty when not known.
    pub since: String,
}

/// What a Pub/Sub viewer listens to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Subscription {
    /// Channels (`SUBSCRIBE`).
    pub channels: Vec<Bytes>,
    /// Patterns (`PSUBSCRIBE`).
    pub patterns: Vec<Bytes>,
    /// Sharded channels on a cluster (`SSUBSCRIBE`, each on its slot's node).
    pub sharded: Vec<Bytes>,
}

impl Subscription {
    /// Nothing to listen to.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.channels.is_empty() && self.patterns.is_empty() && self.sharded.is_empty()
    }
}

/// One message a subscription received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PubSubMessage {
    /// When it arrived (Unix milliseconds, this machine's clock).
    pub at_ms: i64,
    /// Its channel.
    pub channel: Bytes,
    /// The pattern it matched, for a pattern subscription.
    pub pattern: Option<Bytes>,
    /// Whether it came on a sharded channel.
    pub sharded: bool,
    /// The payload.
    pub payload: Bytes,
    /// The payload as shown in a row: decoded where a format is recognised (PHP serialize,
    /// gzip, …), else escaped; cut to a few hundred characters. Made off the UI thread.
    pub preview: String,
}

/// One command a server reported through `MONITOR`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorLine {
    /// The server's time of the command (Unix seconds with microseconds, as it printed it).
    pub at: String,
    /// The node that reported it (a cluster's `host:port`), else `None`.
    pub node: Option<String>,
    /// The database.
    pub db: String,
    /// The client (`127.0.0.1:53422`, `lua`, `unix:/tmp/redis.sock`).
    pub client: String,
    /// The command and its arguments.
    pub args: Vec<Bytes>,
}

/// What a stream of a viewer delivers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamItem {
    /// A Pub/Sub message.
    Message(PubSubMessage),
    /// A command seen by `MONITOR`.
    Command(MonitorLine),
}

/// What a streamed row costs in memory (what the bounded queues and rings count).
pub trait Weigh {
    /// Bytes held.
    fn weight(&self) -> usize;
}

impl Weigh for PubSubMessage {
    fn weight(&self) -> usize {
        self.channel.len() + self.payload.len() + self.preview.len() + 96
    }
}

impl Weigh for MonitorLine {
    fn weight(&self) -> usize {
        self.args.iter().map(Bytes::len).sum::<usize>() + self.client.len() + 96
    }
}

impl Weigh for StreamItem {
    fn weight(&self) -> usize {
        match self {
            Self::Message(m) => m.weight(),
            Self::Command(c) => c.weight(),
        }
    }
}

/// A whole value, as export, import and copy move it.
#[derive(Debug, Clone, PartialEq)]
pub enum FullValue {
    /// A string.
    String(Bytes),
    /// A hash's fields and values.
    Hash(Vec<(Bytes, Bytes)>),
    /// A list's elements, head first.
    List(Vec<Bytes>),
    /// A set's members.
    Set(Vec<Bytes>),
    /// A sorted set's members and scores.
    ZSet(Vec<(Bytes, f64)>),
    /// A stream's entries, oldest first.
    Stream(Vec<StreamEntry>),
    /// A RedisJSON document, as text.
    Json(String),
}

impl FullValue {
    /// The type it makes.
    #[must_use]
    pub fn key_type(&self) -> KeyType {
        match self {
            Self::String(_) => KeyType::String,
            Self::Hash(_) => KeyType::Hash,
            Self::List(_) => KeyType::List,
            Self::Set(_) => KeyType::Set,
            Self::ZSet(_) => KeyType::ZSet,
            Self::Stream(_) => KeyType::Stream,
            Self::Json(_) => KeyType::Json,
        }
    }
}

/// One key as a transfer carries it: as a value any cache can take, or as a Redis `DUMP`
/// payload (fast, the same Redis major version only).
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The key.
    pub key: Bytes,
    /// Milliseconds it had left when read; `None` for no TTL.
    pub ttl_ms: Option<u64>,
    /// What it holds.
    pub value: RecordValue,
}

/// What a [`Record`] holds.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordValue {
    /// The value itself.
    Value(FullValue),
    /// A `DUMP` payload.
    Dump(Bytes),
}

/// What an import or a copy does with a key the destination has already.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnConflict {
    /// Leave it, and count it skipped.
    #[default]
    Skip,
    /// Replace it.
    Replace,
    /// Stop before it (what came before stays written).
    Stop,
}

/// What writing a batch of records did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BatchOutcome {
    /// Keys written.
    pub written: u64,
    /// Keys that existed and were left.
    pub skipped: u64,
    /// The key that existed under [`OnConflict::Stop`]: nothing from it on was written.
    pub stopped_at: Option<Bytes>,
    /// Keys that could not be written, and why (a type the destination cannot hold, …).
    pub failed: Vec<(Bytes, String)>,
}

impl BatchOutcome {
    /// Adds what a later batch did; true when that batch stopped (nothing more is written).
    pub fn absorb(&mut self, later: Self) -> bool {
        self.written += later.written;
        self.skipped += later.skipped;
        self.failed.extend(later.failed);
        if later.stopped_at.is_some() {
            self.stopped_at = later.stopped_at;
            return true;
        }
        false
    }
}
