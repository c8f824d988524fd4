//! The one trait every cache backend implements, and what a backend can do.
//!
//! The UI and the CLI only ever hold a `dyn CacheBackend`. They ask [`Capabilities`] what a
//! backend supports instead of matching on its kind, so a new backend is one new file here plus
//! one arm in [`connect`].

pub mod analysis;
pub mod dreamfactory;
pub mod feed;
pub mod file;
pub mod fleet;
pub mod guard;
pub mod laravel;
pub mod memcached;
pub mod net;
pub mod ops;
pub mod prefixed;
pub mod redis;
pub mod session_files;
pub mod sql;
pub mod ssh;
pub mod transfer;

use std::sync::atomic::AtomicBool;

use async_trait::async_trait;
use bytes::Bytes;

use crate::config::audit::AuditLog;
use crate::config::connection::{ConnectionSpec, Secret};
use crate::core::escape::escape_bytes;
use crate::core::model::{
    BulkProgress, ClientInfo, DbInfo, DumpedKey, FoundPage, KeyDetails, KeyMeta, KeyType,
    PageCursor, ScanPage, ScanRequest, SlowLogEntry, ValuePage, WriteOp, WriteOutcome,
};

/// What a backend supports. The UI shows or hides controls from this alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// Human name of the backend kind ("Redis").
    pub kind_label: &'static str,
    /// Value types the backend can hold (and the type filter offers).
    pub value_types: Vec<KeyType>,
    /// Keys can be listed at all.
    pub list_keys: bool,
    /// The server filters keys by a glob pattern itself.
    pub server_side_pattern: bool,
    /// Listing can be restricted to one value type.
    pub type_filter: bool,
    /// Keys have TTLs.
    pub ttl: bool,
    /// There are numbered databases to choose from.
    pub databases: bool,
    /// The backend can report memory used per key.
    pub memory_usage: bool,
    /// Values can be flushed.
    pub flush: bool,
    /// Writes are allowed (false on a read-only profile).
    pub write: bool,
    /// A deleted key can be saved first and put back (undo).
    pub undo_delete: bool,
    /// A listing can pause and continue later from its cursor.
    pub scan_pause: bool,
    /// A listing keeps within a scan budget of the server's time (`ScanRequest::budget_ms`).
    pub scan_budget: bool,
    /// Keys can be renamed and copied.
    pub rename: bool,
    /// The servers of a pool, by name (empty for a single server that needs no naming).
    pub servers: Vec<String>,
    /// Something the user must know about listings here (shown beside the progress).
    pub listing_note: Option<String>,
    /// A flush can be delayed and aimed at one server.
    pub flush_delay: bool,
    /// Expired entries stay until purged (SQL and file caches).
    pub purge_expired: bool,
    /// The server keeps a slow log ([`CacheBackend::slow_log`], [`WriteOp::ResetSlowLog`]).
    pub slow_log: bool,
    /// The server lists its clients ([`CacheBackend::clients`], [`WriteOp::KillClient`]).
    pub clients: bool,
    /// Entries are stored under the sha1 of their name (Laravel's file store): listings show
    /// the hashes, and a name a person types is hashed with [`Capabilities::key_for_name`].
    /// Keeping the two apart is what stops a key named like another key's hash from reaching
    /// that other entry.
    pub hashed_names: bool,
    /// Hashes, sets, sorted sets and lists can be searched inside
    /// ([`CacheBackend::find_in_value`]).
    pub find_in_values: bool,
    /// The backend is a cluster whose nodes can be listed ([`CacheBackend::nodes`]).
    pub nodes: bool,
    /// Commands can be sent as typed ([`CacheBackend::execute`], [`CacheBackend::command_facts`]).
    pub commands: bool,
    /// The server reports statistics ([`CacheBackend::server_info`], [`CacheBackend::stats`]):
    /// the server panel and the live metrics have something to show.
    pub server_stats: bool,
    /// A value can be stored as a structure given as JSON ([`WriteOp::SetJson`]), kept apart
    /// from a string that holds the same text (DreamFactory's API).
    pub structured_values: bool,
    /// Channels can be subscribed to and published on ([`CacheBackend::subscribe`],
    /// [`WriteOp::Publish`]); on a cluster sharded channels too.
    pub pubsub: bool,
    /// The server can report every command it runs ([`CacheBackend::monitor`]).
    pub monitor: bool,
}

impl Capabilities {
    /// The backend key for a name a person typed: the name itself, or its sha1 (lower-case
    /// hex) where entries are stored by hash.
    #[must_use]
    pub fn key_for_name(&self, name: &[u8]) -> Bytes {
        if self.hashed_names {
            Bytes::from(
                sha1_smol::Sha1::from(name)
                    .digest()
                    .to_string()
                    .into_bytes(),
            )
        } else {
            Bytes::copy_from_slice(name)
        }
    }

    /// What a store of plain string values under string keys can do — Memcached, an SQL cache
    /// table, a file cache directory. Each of them overrides where it differs, so a new
    /// capability needs one default here rather than one line in every table.
    #[must_use]
    pub fn string_store(kind_label: &'static str) -> Self {
        Self {
            kind_label,
            value_types: vec![KeyType::String],
            list_keys: true,
            server_side_pattern: false,
            type_filter: false,
            ttl: true,
            databases: false,
            memory_usage: false,
            flush: true,
            write: true,
            undo_delete: true,
            scan_pause: false,
            scan_budget: false,
            rename: false,
            servers: Vec::new(),
            listing_note: None,
            flush_delay: false,
            purge_expired: false,
            slow_log: false,
            clients: false,
            hashed_names: false,
            find_in_values: false,
            nodes: false,
            commands: false,
            server_stats: true,
            structured_values: false,
            pubsub: false,
            monitor: false,
        }
    }
}

/// Why a backend operation failed. Messages say what failed and what to do, never a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// The server could not be reached.
    #[error(
        "cannot connect to {target}: {reason}. Check the host and port, and that the server is running"
    )]
    Connect {
        /// The address tried.
        target: String,
        /// What the network layer said.
        reason: String,
    },
    /// The server refused the credentials.
    #[error(
        "authentication failed for {target}: {reason}. Check the user name and password (or API key)"
    )]
    Auth {
        /// The address tried.
        target: String,
        /// What the server said.
        reason: String,
    },
    /// The server did not answer in time.
    #[error(
        "{target} did not answer within {timeout_ms} ms. The server may be overloaded or unreachable"
    )]
    Timeout {
        /// The address tried.
        target: String,
        /// The limit that was exceeded.
        timeout_ms: u64,
    },
    /// The key is not (or no longer) there.
    #[error("key `{0}` does not exist (it may have expired or been deleted)")]
    KeyNotFound(String),
    /// The server answered with an error.
    #[error("the server refused `{command}`: {reason}")]
    Server {
        /// The command that failed.
        command: String,
        /// The server's message.
        reason: String,
    },
    /// The connection settings cannot be used.
    #[error("{0}")]
    Config(String),
    /// A local file could not be read or written.
    #[error("file error: {0}")]
    File(String),
    /// A write through a read-only profile.
    #[error("profile `{0}` is read-only: writes are refused (edit the profile to allow them)")]
    ReadOnly(String),
    /// This kind of cache cannot do that (a flush delay on Redis, a hash in memcached).
    #[error("{0}")]
    Unsupported(String),
    /// The request cannot be carried out as given: a key the backend cannot hold, a score that
    /// is not a number, a server the pool does not have. Nothing was sent.
    #[error("{0}")]
    Invalid(String),
    /// A command without a key on a cluster, sent to no node yet: the user chooses one node
    /// or all primaries ([`crate::core::model::ExecOn`]).
    #[error("`{0}` has no key to choose a node by: run it on one node or on all primaries")]
    NeedsNode(String),
    /// The key exists already, and the command would not replace it (Redis `BUSYKEY`).
    #[error("the key exists already; `{command}` did not replace it")]
    KeyExists {
        /// The command that refused.
        command: String,
    },
    /// The listing a page was asked of was stopped or replaced by a newer one.
    #[error("this listing was stopped; search again")]
    ListingStopped,
    /// No connection is open under the id a request named.
    #[error("not connected: connect first")]
    NotConnected,
    /// A fault of this program, not of the server, the network or the input.
    #[error("internal error: {0}")]
    Internal(String),
    /// The SSH tunnel could not be opened (a host key to trust, a passphrase to enter, …).
    #[error(transparent)]
    Ssh(#[from] ssh::SshError),
}

/// Result type of backend operations.
pub type BackendResult<T> = Result<T, BackendError>;

/// Keys packed end to end in `buf` (each ending at its entry of `ends`), as slices of that one
/// buffer: a listing page costs one allocation, not one a key.
#[must_use]
pub fn split_packed(buf: Vec<u8>, ends: Vec<usize>) -> Vec<Bytes> {
    let buf = Bytes::from(buf);
    let mut start = 0;
    ends.into_iter()
        .map(|end| {
            let key = buf.slice(start..end);
            start = end;
            key
        })
        .collect()
}

/// Helper for the error of a key that is gone.
#[must_use]
pub fn key_not_found(key: &[u8]) -> BackendError {
    BackendError::KeyNotFound(escape_bytes(key))
}

/// The error for something a backend kind does not have.
#[must_use]
pub fn unsupported(capabilities: &Capabilities, what: &str) -> BackendError {
    BackendError::Unsupported(format!("{} has no {what}", capabilities.kind_label))
}

/// A value read whole (Memcached, SQL and file caches have no partial reads), as one page.
#[must_use]
pub fn whole_string_page(cursor: &PageCursor, bytes: Bytes) -> ValuePage {
    ValuePage {
        cursor: cursor.clone(),
        items: crate::core::model::ValueItems::String {
            total_len: bytes.len() as u64,
            bytes,
        },
        next: None,
    }
}

/// `len` bytes of `value` from `offset`, clamped to the value (a range past the end is empty).
/// Copied, so a preview does not keep a large value alive.
#[must_use]
pub fn clamped_range(value: &[u8], offset: u64, len: u64) -> Bytes {
    let clamp = |n: u64| usize::try_from(n).unwrap_or(usize::MAX).min(value.len());
    Bytes::copy_from_slice(&value[clamp(offset)..clamp(offset.saturating_add(len))])
}

/// A connected cache. All methods are cancel-safe: dropping a future abandons the request.
#[async_trait]
pub trait CacheBackend: Send + Sync {
    /// What this backend supports.
    fn capabilities(&self) -> &Capabilities;

    /// One line saying what this is connected to (server version, address, database).
    fn describe(&self) -> String;

    /// The logical databases and their key counts; empty when the backend has none.
    async fn databases(&self) -> BackendResult<Vec<DbInfo>>;

    /// Number of keys in the current database.
    async fn key_count(&self) -> BackendResult<u64>;

    /// One page of a key listing, starting at `cursor` (0 to begin).
    async fn scan(&self, request: &ScanRequest, cursor: u64) -> BackendResult<ScanPage>;

    /// Type, TTL and size of many keys at once, pipelined; `None` for keys that are gone.
    async fn key_meta(&self, keys: &[Bytes]) -> BackendResult<Vec<Option<KeyMeta>>>;

    /// All the facts the value viewer shows about one key.
    async fn key_details(&self, key: &[u8]) -> BackendResult<KeyDetails>;

    /// One page of a key's value.
    async fn read_page(
        &self,
        key: &[u8],
        key_type: &KeyType,
        cursor: &PageCursor,
        page_size: u32,
    ) -> BackendResult<ValuePage>;

    /// One page of the elements of a collection whose field, member or element matches the
    /// Redis glob `pattern`, from `cursor` on. A page holds about `page_size` matches, or
    /// fewer when a bounded amount of the value was looked at without finding more.
    async fn find_in_value(
        &self,
        _key: &[u8],
        key_type: &KeyType,
        _pattern: &[u8],
        _cursor: &PageCursor,
        _page_size: u32,
    ) -> BackendResult<FoundPage> {
        Err(BackendError::Unsupported(format!(
            "this cache cannot search inside {} values",
            key_type.label()
        )))
    }

    /// `len` bytes of a string value starting at `offset` (for saving large values in chunks).
    async fn read_string_range(&self, key: &[u8], offset: u64, len: u64) -> BackendResult<Bytes>;

    /// Server statistics by server and section (`INFO` sections; memcached `stats`, `stats
    /// slabs`, `stats items`), for the server panel.
    async fn server_info(&self) -> BackendResult<Vec<ServerInfo>> {
        Ok(Vec::new())
    }

    /// The figures the live metrics are computed from, per server. Never changes anything.
    async fn stats(&self) -> BackendResult<Vec<(String, crate::core::metrics::RawStats)>>;

    /// The slowest recent commands, newest first, at most `count`.
    async fn slow_log(&self, _count: u32) -> BackendResult<Vec<SlowLogEntry>> {
        Err(unsupported(self.capabilities(), "a slow log"))
    }

    /// The connected clients.
    async fn clients(&self) -> BackendResult<Vec<ClientInfo>> {
        Err(unsupported(self.capabilities(), "a client list"))
    }

    /// The nodes of a cluster: primaries and replicas, their slots, keys, memory and link.
    async fn nodes(&self) -> BackendResult<Vec<crate::core::model::NodeRow>> {
        Err(unsupported(self.capabilities(), "cluster nodes"))
    }

    /// Makes one change. Read-only connections refuse every call.
    async fn write(&self, op: &WriteOp) -> BackendResult<WriteOutcome>;

    /// What the server says a command is (`name`, and its subcommand where it has one).
    async fn command_facts(
        &self,
        _args: &[Bytes],
    ) -> BackendResult<crate::core::model::CommandFacts> {
        Err(unsupported(self.capabilities(), "a command line"))
    }

    /// Sends one command as typed (its name first) and returns the reply (one a node where
    /// it ran on several); an error reply is a reply, not an error. The guard refuses a write
    /// on a read-only profile and records it. A command that may block (`BLPOP` with a
    /// timeout) runs on a connection of its own, so cancelling it (dropping the future)
    /// closes only that connection.
    async fn execute(
        &self,
        _args: &[Bytes],
        _on: &crate::core::model::ExecOn,
    ) -> BackendResult<Vec<crate::core::model::NodeReply>> {
        Err(unsupported(self.capabilities(), "a command line"))
    }

    /// Listens to `subscription` on connections of its own (a cluster's sharded channels on
    /// their slots' nodes), pushing each message into `feed`, until the future is dropped or
    /// a connection fails.
    async fn subscribe(
        &self,
        _subscription: &crate::core::model::Subscription,
        _feed: std::sync::Arc<feed::Feed>,
    ) -> BackendResult<()> {
        Err(unsupported(self.capabilities(), "Pub/Sub"))
    }

    /// Runs `MONITOR` on `nodes` (a cluster's `host:port`s; empty: the one server, or every
    /// primary of a cluster), pushing each command into `feed`, until the future is dropped
    /// or a connection fails.
    async fn monitor(
        &self,
        _nodes: &[String],
        _feed: std::sync::Arc<feed::Feed>,
    ) -> BackendResult<()> {
        Err(unsupported(self.capabilities(), "MONITOR"))
    }

    /// The server's version (`7.0.15`), where it has one that matters to a transfer (a
    /// `DUMP` payload restores only on the same major version).
    fn server_version(&self) -> Option<String> {
        None
    }

    /// Writes a batch of records (an import's, a copy's): a key that exists is skipped,
    /// replaced, or stops the batch, as `on_conflict` says. The guard refuses the whole batch on
    /// a read-only profile and records it as one entry.
    async fn import_batch(
        &self,
        records: &[crate::core::model::Record],
        on_conflict: crate::core::model::OnConflict,
    ) -> BackendResult<crate::core::model::BatchOutcome> {
        transfer::import_batch_with(self, records, on_conflict).await
    }

    /// The listing `request` asks for from `from`, read ahead by a task of its own into the
    /// receiver (a page at a time, in order; the last item is an error if one stopped it;
    /// dropping the receiver stops the task). `None` where the backend reads page by page
    /// through [`Self::scan`] instead; [`ops::Pages`] takes either.
    async fn scan_feed(
        &self,
        _request: &ScanRequest,
        _from: u64,
    ) -> BackendResult<Option<tokio::sync::mpsc::Receiver<BackendResult<ScanPage>>>> {
        Ok(None)
    }

    /// The commands the server knows, with their arguments and what they do (completion and
    /// help while a command is typed).
    async fn command_docs(&self) -> BackendResult<Vec<crate::core::model::CommandDoc>> {
        Err(unsupported(self.capabilities(), "a command line"))
    }

    /// Saves keys so that a delete can be undone with [`WriteOp::Restore`]; `None` for keys
    /// that do not exist.
    async fn dump(&self, keys: &[Bytes]) -> BackendResult<Vec<Option<DumpedKey>>>;

    /// Deletes every key `request` matches, a batch at a time, until done or `cancel` is set.
    /// Keys that do not match are never touched.
    async fn delete_matching(
        &self,
        request: &ScanRequest,
        cancel: &AtomicBool,
        progress: &(dyn Fn(BulkProgress) + Send + Sync),
    ) -> BackendResult<BulkResult> {
        ops::delete_matching_with(self, request, cancel, progress).await
    }
}

/// Statistics of one server, by section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerInfo {
    /// Which server.
    pub server: String,
    /// Section name and its name/value pairs.
    pub sections: Vec<(String, Vec<(String, String)>)>,
}

/// The end of a delete by pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkResult {
    /// Keys deleted.
    pub deleted: u64,
    /// The user stopped it before the end.
    pub cancelled: bool,
}

/// How a connection is opened besides where to.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// Refuse every write.
    pub read_only: bool,
    /// The profile's name, for messages and the audit log (`(url)` when none).
    pub profile: String,
    /// Where writes are recorded; `None` records nothing.
    pub audit: Option<AuditLog>,
    /// The SSH tunnel every connection goes through, with this session's secrets for it.
    pub ssh: Option<Box<ssh::SshTarget>>,
}

impl ConnectOptions {
    /// How connections of `profile` are opened: read-only or not, audited under its name in
    /// `audit`.
    #[must_use]
    pub fn for_profile(
        profile: &crate::config::profiles::Profile,
        audit: Option<AuditLog>,
    ) -> Self {
        Self {
            read_only: profile.read_only,
            profile: profile.name.clone(),
            audit,
            ssh: profile.ssh.clone().map(|spec| {
                Box::new(ssh::SshTarget {
                    spec,
                    secrets: ssh::SshSecrets::default(),
                })
            }),
        }
    }
}

/// Opens a backend for a spec, with the password resolved by the caller. The backend comes
/// wrapped in the guard that enforces read-only profiles and writes the audit log.
///
/// # Errors
/// The server cannot be reached, refuses the credentials, or the spec is unusable.
pub async fn connect(
    spec: &ConnectionSpec,
    password: Option<&Secret>,
    options: &ConnectOptions,
) -> BackendResult<Box<dyn CacheBackend>> {
    let dialer = match &options.ssh {
        Some(target) => {
            if let ConnectionSpec::File(_) = spec {
                return Err(BackendError::Config(
                    "a file cache is read from this machine's disk: it has no SSH tunnel".into(),
                ));
            }
            let (connect_ms, _) = spec.timeouts_ms();
            let timeout = std::time::Duration::from_millis(connect_ms.max(1));
            net::Dialer::Ssh(ssh::Tunnel::open(target, timeout).await?)
        }
        None => net::Dialer::Direct,
    };
    let inner: Box<dyn CacheBackend> = match spec {
        ConnectionSpec::Redis(redis_spec) => {
            Box::new(redis::RedisBackend::connect(redis_spec, password, dialer).await?)
        }
        ConnectionSpec::Memcached(memcached_spec) => {
            Box::new(memcached::MemcachedBackend::connect(memcached_spec, dialer).await?)
        }
        ConnectionSpec::File(file_spec) => match file_spec.session_lifetime_min {
            Some(minutes) => Box::new(session_files::SessionFiles::open(file_spec, minutes).await?),
            None => Box::new(file::FileBackend::open(file_spec).await?),
        },
        ConnectionSpec::Sql(sql_spec) => {
            Box::new(sql::SqlBackend::connect(sql_spec, password, dialer).await?)
        }
        ConnectionSpec::DreamFactory(df_spec) => {
            Box::new(dreamfactory::DreamFactoryBackend::connect(df_spec, password, dialer).await?)
        }
    };
    // Under the guard, so the audit log and the read-only refusal see the server's own keys.
    let inner: Box<dyn CacheBackend> = match spec {
        ConnectionSpec::Redis(redis_spec) => match redis_spec.key_prefix.as_deref() {
            Some(prefix) if !prefix.is_empty() => {
                Box::new(prefixed::Prefixed::new(inner, prefix.as_bytes()))
            }
            _ => inner,
        },
        _ => inner,
    };
    let db = inner.capabilities().databases.then(|| spec.db());
    Ok(Box::new(guard::Guarded::new(
        inner,
        options,
        spec.display_url(),
        db,
    )))
}

#[cfg(test)]
mod tests {
    use super::clamped_range;

    #[test]
    fn ranges_are_clamped_to_the_value() {
        assert_eq!(&clamped_range(b"abcdef", 2, 3)[..], b"cde");
        assert_eq!(&clamped_range(b"abcdef", 4, 100)[..], b"ef");
        assert!(clamped_range(b"abcdef", 10, 2).is_empty());
        assert_eq!(&clamped_range(b"abcdef", 1, u64::MAX)[..], b"bcdef");
    }
}
