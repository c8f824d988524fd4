//! What crosses the service's two channels: [`Command`]s in, [`Event`]s out, and the ids that
//! tie each answer to its question.

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;

use crate::backend::{BackendError, BulkResult, Capabilities, ConnectOptions, ServerInfo};
use crate::config::audit::AuditLog;
use crate::config::connection::{ConnectionSpec, Secret};
use crate::config::envimport::Imported;
use crate::config::profiles::SaveJob;
use crate::core::model::{
    BulkProgress, ClientInfo, DbInfo, DumpedKey, KeyDetails, KeyMeta, KeyType, PageCursor,
    ScanRequest, SlowLogEntry, ValuePage, WriteOp, WriteOutcome,
};

/// Identifies one open connection (a tab in the UI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// Identifies one request; every event it causes carries the same id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReqId(pub u64);

/// Hands out connection and request ids, never the same one twice.
#[derive(Debug, Default)]
pub struct Ids {
    last: u64,
}

impl Ids {
    /// A new connection id.
    pub fn conn(&mut self) -> ConnId {
        self.last += 1;
        ConnId(self.last)
    }

    /// A new request id.
    pub fn req(&mut self) -> ReqId {
        self.last += 1;
        ReqId(self.last)
    }
}

/// A request to the service.
#[derive(Debug)]
pub enum Command {
    /// Work on one connection.
    Conn {
        /// The connection it concerns.
        conn: ConnId,
        /// The request id its events will carry.
        req: ReqId,
        /// What to do.
        kind: CommandKind,
    },
    /// Work for the app as a whole: testing a connection, the files it keeps.
    App {
        /// The request id its event will carry.
        req: ReqId,
        /// What to do.
        kind: AppCommand,
    },
    /// The fleet view's sampler (one at a time: a new start replaces the running one).
    Fleet {
        /// The id its readings carry.
        req: ReqId,
        /// What to do.
        kind: FleetCommand,
    },
    /// Stop the service (sent by [`super::ServiceHandle::shutdown`]).
    Shutdown,
}

/// What a [`Command::Fleet`] asks.
#[derive(Debug)]
pub enum FleetCommand {
    /// Read these profiles now and again every `interval` (from one round's start to the
    /// next; a round that takes longer is followed at once), until stopped or replaced.
    Start {
        /// The profiles, with what was entered for them this session.
        targets: Vec<crate::backend::fleet::FleetTarget>,
        /// From one round's start to the next.
        interval: Duration,
        /// Each profile's time limit, and how many are read at once.
        limits: crate::backend::fleet::Limits,
        /// Where remembered secrets are kept.
        places: crate::config::secrets::SecretPlaces,
    },
    /// Stop reading (the connections are closed).
    Stop,
}

/// What the fleet's sampler reports.
#[derive(Debug)]
pub enum FleetEvent {
    /// A round began.
    RoundStarted,
    /// One profile's reading.
    Reading {
        /// The profile.
        profile: String,
        /// What it gave.
        reading: crate::core::fleet::Reading,
    },
    /// Every profile of the round has its reading.
    RoundDone {
        /// How long the round took.
        took: Duration,
    },
}

/// What a [`Command::Conn`] asks of its connection. A command that stops work (`StopScan`,
/// `CancelDelete`, …) carries the id of the request it stops.
#[derive(Debug, Clone)]
pub enum CommandKind {
    /// Put loaded keys in order (no server involved; off the UI thread because a big sort
    /// takes longer than a frame).
    SortKeys(crate::core::keyindex::SortJob),
    /// Open the connection (replacing any connection with that id).
    Connect {
        /// Where to connect.
        spec: Box<ConnectionSpec>,
        /// The resolved password, if any.
        password: Option<Secret>,
        /// Read-only, profile name and audit log.
        options: ConnectOptions,
    },
    /// Close the connection and cancel all its work.
    Disconnect,
    /// Reconnect to another database index of the same server.
    SelectDb {
        /// The database index.
        db: u32,
    },
    /// Read the databases and their key counts.
    ListDatabases,
    /// List keys, cancelling any listing already running on this connection.
    Scan {
        /// Pattern, type filter and batch size.
        request: ScanRequest,
        /// Cursor to start from (0 for a new listing, or where a paused one stopped).
        from_cursor: u64,
        /// Pause after this many matching keys; `None` lists everything.
        limit: Option<u64>,
    },
    /// Stop the running listing.
    StopScan,
    /// Read type, TTL and size of these keys (pipelined).
    FetchMeta {
        /// The keys, usually the rows on screen.
        keys: Vec<Bytes>,
    },
    /// Read a key's details and the first page of its value.
    OpenKey {
        /// The key.
        key: Bytes,
        /// Items per page.
        page_size: u32,
    },
    /// Read another page of a value.
    ReadPage {
        /// The key.
        key: Bytes,
        /// Its type.
        key_type: KeyType,
        /// Where the page starts.
        cursor: PageCursor,
        /// Items per page.
        page_size: u32,
    },
    /// Search inside a collection: its elements whose field, member or element matches
    /// `pattern` (a Redis glob), from `cursor` on.
    FindInValue {
        /// The key.
        key: Bytes,
        /// Its type.
        key_type: KeyType,
        /// The glob.
        pattern: Bytes,
        /// Where the search goes on.
        cursor: PageCursor,
        /// Matches wanted per page.
        page_size: u32,
    },
    /// Write a string value, in full, to a local file.
    SaveValue {
        /// The key.
        key: Bytes,
        /// The file to create or replace.
        path: PathBuf,
    },
    /// Make one change.
    Write {
        /// The change.
        op: WriteOp,
    },
    /// Save a key (for undo), then change its TTL.
    ChangeTtl {
        /// The key.
        key: Bytes,
        /// The new TTL.
        ttl: crate::core::model::TtlChange,
    },
    /// Undo a TTL change: the key gets back the TTL it had, or, if the change made it expire,
    /// comes back whole.
    UndoTtl {
        /// What was saved before the change.
        saved: DumpedKey,
    },
    /// Save keys (for undo), then delete them.
    DeleteWithUndo {
        /// The keys.
        keys: Vec<Bytes>,
    },
    /// The Laravel cache tags a tagged entry belongs to.
    LaravelTags {
        /// The entry.
        key: Bytes,
    },
    /// What flushing a Laravel tag deletes (its entries, reference sets and id key).
    TagKeys {
        /// The tag.
        tag: crate::backend::laravel::Tag,
    },
    /// Count the keys a pattern matches and return a sample of them (before a bulk delete).
    Preview {
        /// Pattern and type filter.
        request: ScanRequest,
        /// How many matching keys to return.
        sample: usize,
    },
    /// Delete every key a pattern matches, in batches, until done or cancelled.
    DeleteMatching {
        /// Pattern and type filter.
        request: ScanRequest,
    },
    /// Stop the running delete by pattern after its current batch.
    CancelDelete,
    /// Read every server's statistics.
    ServerInfo,
    /// Read the newest slow log entries.
    SlowLog {
        /// At most this many.
        count: u32,
    },
    /// List the server's clients.
    Clients,
    /// List a cluster's nodes.
    Nodes,
    /// Analyse where the memory goes, cancelling any analysis already running.
    AnalyzeMemory {
        /// Pattern, sample size, namespace delimiter and depth.
        request: crate::backend::analysis::AnalysisRequest,
    },
    /// Stop the running memory analysis after its current page (its report still comes).
    CancelAnalysis,
    /// Count the keys `request` matches into their namespaces without keeping them (the
    /// namespace census), cancelling any census already running.
    Census {
        /// Pattern, type and scan budget.
        request: ScanRequest,
        /// The namespace delimiter.
        delimiter: String,
    },
    /// Stop the running census after its current page (what it counted still comes).
    CancelCensus,
    /// Start (or retune) this connection's metrics sampler; its samples carry this request id.
    StartMetrics {
        /// Time between samples.
        interval: Duration,
    },
    /// Stop the metrics sampler (nothing shows its figures).
    StopMetrics,
    /// Run a command as typed in the console (one at a time per connection; a newer one
    /// stops the one running). Through the guard: a write is refused on a read-only profile
    /// and audited.
    Exec {
        /// The command and its arguments.
        args: Vec<Bytes>,
        /// Where it runs on a cluster or a pool.
        on: crate::core::model::ExecOn,
        /// Ask first ([`EventKind::ExecAsk`]) when the server calls it `@dangerous` (a
        /// production profile, not yet asked).
        ask_dangerous: bool,
    },
    /// Stop the running console command (a blocking one: its own connection is closed).
    CancelExec,
    /// The commands the server knows, for the console's completion and help.
    CommandDocs,
    /// Listen to channels and patterns (replacing the running subscription); batches of
    /// messages come back until it is stopped or fails.
    Subscribe {
        /// What to listen to.
        subscription: crate::core::model::Subscription,
    },
    /// Stop the subscription (its connection is closed).
    StopSubscribe,
    /// Run `MONITOR` on these nodes (empty: the server, or every primary of a cluster),
    /// replacing the running one; batches of commands come back until it is stopped.
    Monitor {
        /// The nodes.
        nodes: Vec<String>,
    },
    /// Stop `MONITOR` (its connections are closed).
    StopMonitor,
    /// Export keys to a file (progress until the summary).
    ExportKeys {
        /// Which keys.
        keys: crate::backend::transfer::KeySource,
        /// The format.
        format: crate::core::keyfile::Format,
        /// Bytes as base64 (jsonl).
        base64: bool,
        /// The file (written whole or not at all).
        path: PathBuf,
    },
    /// Read an export file's header and count its records (before an import).
    PreviewImport {
        /// The file.
        path: PathBuf,
    },
    /// Import an export file (progress until the summary).
    ImportFile {
        /// The file.
        path: PathBuf,
        /// What to do with a key that exists.
        on_conflict: crate::core::model::OnConflict,
    },
    /// Copy keys into another open connection (progress until the summary).
    CopyKeys {
        /// The destination connection.
        to: ConnId,
        /// Which keys.
        keys: crate::backend::transfer::KeySource,
        /// What to do with a key that exists.
        on_conflict: crate::core::model::OnConflict,
    },
    /// Stop the running export, import or copy after its current batch (its summary still
    /// comes).
    CancelTransfer,
    /// Write text to a file, whole or not at all (a viewer's rows).
    SaveText {
        /// The file.
        path: PathBuf,
        /// The text.
        text: String,
    },
}

/// What a [`Command::App`] asks for. Each is file or network work the UI thread must not wait
/// on; each is answered by one [`AppEvent`].
#[derive(Debug)]
pub enum AppCommand {
    /// List a DreamFactory instance's cache services (the profile form's *Discover*).
    Discover {
        /// The instance (its service name is not used).
        spec: crate::config::connection::DreamFactorySpec,
        /// The API key, if one is given.
        api_key: Option<Secret>,
        /// An admin's session token typed for this (never kept).
        session_token: Option<Secret>,
    },
    /// Connect, describe the server, and disconnect again ("Test connection").
    Test {
        /// Where to connect.
        spec: ConnectionSpec,
        /// The resolved password, if any.
        password: Option<Secret>,
        /// The SSH tunnel to test through, with this session's secrets for it.
        ssh: Option<Box<crate::backend::ssh::SshTarget>>,
    },
    /// Write the profiles file (a newer save always wins over an older one).
    SaveProfiles(SaveJob),
    /// Read a `.env` file and make profiles of the cache stores it configures.
    ReadEnv {
        /// The file.
        path: PathBuf,
    },
    /// Read the newest entries of the audit log that a filter matches.
    ReadAudit {
        /// The log.
        log: AuditLog,
        /// Which entries.
        filter: crate::config::audit::AuditFilter,
        /// At most this many, newest first.
        limit: usize,
    },
    /// Write the entries a filter matches to a file (CSV for `.csv`, else JSON lines).
    ExportAudit {
        /// The log.
        log: AuditLog,
        /// Which entries.
        filter: crate::config::audit::AuditFilter,
        /// The file.
        path: PathBuf,
    },
    /// Seed the demo database again.
    ResetDemo {
        /// The SQLite file.
        path: PathBuf,
    },
    /// Write the window settings (pane shares, theme, open tabs).
    SaveUi(crate::config::uistate::UiSaveJob),
    /// Write chart points to a CSV file, whole or not at all.
    WriteCsv {
        /// The file.
        path: PathBuf,
        /// The points.
        points: Vec<crate::core::metrics::Point>,
    },
    /// Write an export of `profiles` to `path`; with a passphrase, their remembered secrets
    /// sealed with it.
    ExportProfiles {
        /// The file.
        path: PathBuf,
        /// The profiles.
        profiles: Vec<crate::config::profiles::Profile>,
        /// Seal their secrets with this (`None`: no secrets).
        passphrase: Option<Secret>,
        /// Where their secrets are.
        places: crate::config::secrets::SecretPlaces,
    },
    /// Read a file to import (its format detected).
    ReadImport {
        /// The file.
        path: PathBuf,
    },
    /// Open the sealed secrets of an import file.
    UnsealImport {
        /// The sealed block.
        sealed: String,
        /// The passphrase typed.
        passphrase: Secret,
    },
    /// Read, keep or remove remembered secrets, or unlock the vault.
    Secret {
        /// Which keyring and vault.
        places: crate::config::secrets::SecretPlaces,
        /// What to do.
        op: SecretOp,
    },
}

/// What an [`AppCommand::Secret`] does.
#[derive(Debug, Clone)]
pub enum SecretOp {
    /// Is there a vault file, and is it unlocked?
    VaultStatus,
    /// Unlock the vault (a new one when there is no file).
    UnlockVault(Secret),
    /// Read a remembered secret.
    Load(
        crate::config::secrets::SecretName,
        crate::config::secrets::StoreKind,
    ),
    /// Remember a secret.
    Keep(
        crate::config::secrets::SecretName,
        crate::config::secrets::StoreKind,
        Secret,
    ),
    /// Remove every secret of a profile from these stores.
    Forget(String, Vec<crate::config::secrets::StoreKind>),
    /// Move a profile's secrets to its new name in these stores.
    Rename {
        /// The old name.
        from: String,
        /// The new name.
        to: String,
        /// Where its secrets are.
        stores: Vec<crate::config::secrets::StoreKind>,
    },
    /// Remove from the vault the secrets of profiles not in this list.
    PruneVault(Vec<String>),
}

/// The answer to a [`SecretOp`], naming what it was about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretAnswer {
    /// The vault's status.
    VaultStatus(crate::config::secrets::VaultStatus),
    /// The vault was unlocked, or why not.
    VaultUnlocked(Result<(), crate::config::secrets::SecretError>),
    /// A secret read (`None`: nothing is remembered under that name).
    Loaded {
        /// Its name.
        name: crate::config::secrets::SecretName,
        /// Its store.
        store: crate::config::secrets::StoreKind,
        /// The secret, or why it could not be read.
        result: Result<Option<Secret>, crate::config::secrets::SecretError>,
    },
    /// A secret kept, or why not.
    Kept {
        /// Its name.
        name: crate::config::secrets::SecretName,
        /// Its store.
        store: crate::config::secrets::StoreKind,
        /// Whether it was kept.
        result: Result<(), crate::config::secrets::SecretError>,
    },
    /// A profile's secrets removed (or moved), or the first store that failed.
    Changed {
        /// The profile.
        profile: String,
        /// Whether it worked.
        result: Result<(), crate::config::secrets::SecretError>,
    },
    /// Secrets of profiles that are gone were removed from the vault: how many.
    Pruned(Result<usize, crate::config::secrets::SecretError>),
}

/// A message from the service to the UI.
#[derive(Debug)]
// Connection news is nearly every event and the big variant: boxing it would allocate once per
// event and save nothing.
#[allow(clippy::large_enum_variant)]
pub enum Event {
    /// News of one connection.
    Conn {
        /// The connection it concerns.
        conn: ConnId,
        /// The request it answers.
        req: ReqId,
        /// What happened.
        kind: EventKind,
    },
    /// News of the fleet's sampler.
    Fleet {
        /// The [`Command::Fleet`] start it belongs to.
        req: ReqId,
        /// What happened.
        kind: FleetEvent,
    },
    /// The answer to an [`AppCommand`].
    App {
        /// The request it answers.
        req: ReqId,
        /// What happened.
        kind: AppEvent,
    },
}

/// State of a key listing after a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanState {
    /// More batches follow.
    Running,
    /// The limit was reached; continue from the batch's cursor.
    Paused,
    /// The whole keyspace was visited.
    Done,
}

/// What an [`Event::Conn`] reports.
#[derive(Debug)]
pub enum EventKind {
    /// The connection is open.
    Connected {
        /// What it is connected to.
        description: String,
        /// What it can do.
        capabilities: Capabilities,
    },
    /// The databases and their key counts.
    Databases(Vec<DbInfo>),
    /// A listing started; `total_keys` is the size of the database (DBSIZE).
    ScanStarted {
        /// Keys in the database.
        total_keys: u64,
    },
    /// A batch of matching keys.
    ScanBatch {
        /// The keys found.
        keys: Vec<Bytes>,
        /// Cursor to continue from (0 when done).
        cursor: u64,
        /// Share of the keyspace visited, 0.0‥=1.0.
        progress: f64,
        /// How far each node is (a cluster's), empty for one server.
        parts: Vec<crate::core::model::ScanPart>,
        /// Something the user must know about the listing (a node listed again).
        note: Option<String>,
        /// The `COUNT` a scan budget chose for the page's last `SCAN`.
        count: Option<u32>,
        /// Whether more will follow.
        state: ScanState,
    },
    /// The keys of a [`CommandKind::SortKeys`], in order.
    KeysSorted(crate::core::keyindex::Sorted),
    /// Type, TTL and size for keys asked for with `FetchMeta`.
    Meta {
        /// The keys, in request order.
        keys: Vec<Bytes>,
        /// Their facts; `None` for keys that no longer exist.
        meta: Vec<Option<KeyMeta>>,
    },
    /// A key was opened.
    KeyOpened {
        /// The key.
        key: Bytes,
        /// Its details.
        details: KeyDetails,
        /// The first page of its value.
        page: ValuePage,
    },
    /// Another page of a value.
    Page {
        /// The key.
        key: Bytes,
        /// The page.
        page: ValuePage,
    },
    /// Matches of a [`CommandKind::FindInValue`].
    Found {
        /// The key.
        key: Bytes,
        /// The glob searched for.
        pattern: Bytes,
        /// The matches and where the search goes on.
        page: crate::core::model::FoundPage,
    },
    /// A value was saved to a file.
    Saved {
        /// The file written.
        path: PathBuf,
        /// Bytes written.
        bytes: u64,
    },
    /// A write finished.
    Written {
        /// The write.
        op: WriteOp,
        /// What it did.
        outcome: WriteOutcome,
    },
    /// A key was saved, then its TTL changed; `saved` undoes it.
    TtlChanged {
        /// The change (a `WriteOp::SetTtl`).
        op: WriteOp,
        /// What it did.
        outcome: WriteOutcome,
        /// The key as it was before (`None` when it did not exist).
        saved: Option<DumpedKey>,
    },
    /// Keys were saved and deleted; `saved` puts them back with `WriteOp::Restore`.
    Deleted {
        /// What was saved.
        saved: Vec<DumpedKey>,
        /// How many keys were deleted.
        deleted: u64,
    },
    /// The Laravel cache tags of an entry.
    LaravelTags {
        /// The entry.
        key: Bytes,
        /// Its tags (none when it is not a tagged entry).
        tags: Vec<crate::backend::laravel::Tag>,
    },
    /// What flushing a Laravel tag deletes.
    TagKeys {
        /// The tag.
        tag: crate::backend::laravel::Tag,
        /// Every key the flush deletes.
        keys: Vec<Bytes>,
    },
    /// How many keys a pattern matches, and some of them.
    Previewed {
        /// Matching keys.
        matched: u64,
        /// The first matching keys found.
        sample: Vec<Bytes>,
    },
    /// Statistics of every server.
    ServerInfo(Vec<ServerInfo>),
    /// The slow log, newest first.
    SlowLog(Vec<SlowLogEntry>),
    /// The connected clients.
    Clients(Vec<ClientInfo>),
    /// A cluster's nodes.
    Nodes(Vec<crate::core::model::NodeRow>),
    /// A metrics sample and the figures derived from it and the one before.
    Metrics {
        /// What the servers reported.
        sample: crate::core::metrics::Sample,
        /// Rates and sums for the dashboard.
        derived: crate::core::metrics::Derived,
        /// How long the sample took.
        took: Duration,
        /// When the next sample starts, from this one's start (the interval, or longer when
        /// samples are slow).
        next_in: Duration,
    },
    /// A metrics sample failed; the sampler goes on.
    MetricsFailed(BackendError),
    /// Progress of a memory analysis.
    AnalysisProgress {
        /// Keys seen so far.
        keys: u64,
        /// Share of the keyspace visited, 0.0‥=1.0.
        progress: f64,
    },
    /// A memory analysis ended (done, sampled or cancelled).
    AnalysisDone(crate::backend::analysis::MemoryReport),
    /// Progress of a namespace census.
    CensusProgress {
        /// Keys counted so far.
        keys: u64,
        /// Share of the keyspace visited, 0.0‥=1.0.
        progress: f64,
    },
    /// A namespace census ended: the tree, and whether it was cancelled before the end.
    CensusDone(Box<crate::core::census::Census>, bool),
    /// Progress of a delete by pattern.
    DeleteProgress(BulkProgress),
    /// A delete by pattern ended.
    DeleteDone(BulkResult),
    /// A console command's replies (one a node where it ran on several).
    ExecDone {
        /// The replies.
        replies: Vec<crate::core::model::NodeReply>,
        /// How long the server took, from sending to the last reply.
        took: Duration,
    },
    /// A console command was not sent: the server calls it dangerous, and the profile is
    /// production. Sent again with `ask_dangerous: false` once the user says yes.
    ExecAsk {
        /// The command's name.
        name: String,
    },
    /// The commands the server knows.
    CommandDocs(Vec<crate::core::model::CommandDoc>),
    /// Keys an export, import or copy has done so far.
    TransferProgress(u64),
    /// An export, import or copy ended (done, stopped or cancelled).
    TransferDone(TransferSummary),
    /// What an import file holds.
    ImportPreviewed {
        /// Its header (format, source).
        header: crate::core::keyfile::Header,
        /// Records in it.
        records: u64,
    },
    /// What a subscription or `MONITOR` received since the last batch.
    StreamBatch {
        /// The items, oldest first.
        items: Vec<crate::core::model::StreamItem>,
        /// Items dropped since the last batch because the app fell behind.
        dropped: u64,
        /// Items received in all.
        received: u64,
    },
    /// The request failed.
    Failed(BackendError),
}

/// What an [`Event::App`] reports.
#[derive(Debug)]
pub enum AppEvent {
    /// A connection test: a description of the server, or the error.
    Tested(Result<String, BackendError>),
    /// A DreamFactory instance's cache services, or why they could not be listed.
    Discovered(Result<Vec<crate::backend::dreamfactory::FoundService>, BackendError>),
    /// The profiles file was written, or why not.
    ProfilesSaved(Result<(), String>),
    /// The profiles a `.env` file configures, or why it could not be read.
    EnvRead(Result<Vec<Imported>, String>),
    /// The newest audit entries, newest first, or why they could not be read.
    Audit(Result<crate::config::audit::AuditRead, String>),
    /// An export was written: the file, the entries written and how many matched.
    AuditExported(Result<(PathBuf, u64, u64), String>),
    /// The demo database was seeded again, or why not.
    DemoReset(Result<(), String>),
    /// The window settings were written, or why not.
    UiSaved(Result<(), String>),
    /// The CSV file written, or why it could not be.
    CsvWritten(Result<PathBuf, String>),
    /// A secret read, kept or removed, or the vault unlocked.
    Secret(SecretAnswer),
    /// An export was written: how many profiles and secrets, and what was left out.
    ProfilesExported(Result<(usize, usize, Vec<String>), String>),
    /// An import file was read.
    ImportRead(PathBuf, Result<crate::config::transfer::Incoming, String>),
    /// An import file's sealed secrets were opened.
    ImportUnsealed(Result<Vec<(crate::config::secrets::SecretName, Secret)>, String>),
}

/// How an export, import or copy ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransferSummary {
    /// Keys exported, or written to the destination.
    pub done: u64,
    /// Keys that existed and were left.
    pub skipped: u64,
    /// Keys that went away while listed.
    pub gone: u64,
    /// Keys that could not be moved, and why.
    pub failed: Vec<(Bytes, String)>,
    /// The key that existed under "stop": nothing from it on was written.
    pub stopped_at: Option<Bytes>,
    /// Cancelled before the end.
    pub cancelled: bool,
}
