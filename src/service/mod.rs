//! The I/O service: a tokio runtime on its own thread that owns every backend connection.
//!
//! The UI talks to it only through two bounded channels: [`Command`]s in, [`Event`]s out. Each
//! event carries the connection id and request id it answers, so the UI can drop late answers
//! for a closed connection or a superseded search. Every event send wakes the UI.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::io::AsyncWriteExt as _;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use crate::backend::{self, BackendError, BulkResult, CacheBackend, Capabilities, ConnectOptions};
use crate::config::connection::{ConnectionSpec, Secret};
use crate::core::model::{
    BulkProgress, DbInfo, DumpedKey, KeyDetails, KeyMeta, KeyType, PageCursor, ScanRequest,
    ValuePage, WriteOp, WriteOutcome,
};

/// Identifies one open connection (a tab in the UI).
pub type ConnId = u64;
/// Identifies one request; the events it causes carry the same id.
pub type ReqId = u64;

/// How many commands may wait for the service.
pub const COMMAND_CAPACITY: usize = 256;
/// How many events may wait for the UI before producers (a scan, say) are slowed down.
pub const EVENT_CAPACITY: usize = 512;
/// The shortest time between two metrics samples.
pub const MIN_METRICS_INTERVAL: Duration = Duration::from_millis(100);
/// Chunk size used when streaming a large string to a file.
const SAVE_CHUNK_BYTES: u64 = 1024 * 1024;

/// A request from the UI (or another client) to the service.
#[derive(Debug)]
pub struct Command {
    /// The connection it concerns.
    pub conn: ConnId,
    /// The request id its events will carry.
    pub req: ReqId,
    /// What to do.
    pub kind: CommandKind,
}

/// What a [`Command`] asks for.
#[derive(Debug, Clone)]
pub enum CommandKind {
    /// Open connection `conn` (replacing any connection with that id).
    Connect {
        /// Where to connect.
        spec: ConnectionSpec,
        /// The resolved password, if any.
        password: Option<Secret>,
        /// Read-only, profile name and audit log.
        options: ConnectOptions,
    },
    /// Connect, describe the server, and disconnect again ("Test connection").
    Test {
        /// Where to connect.
        spec: ConnectionSpec,
        /// The resolved password, if any.
        password: Option<Secret>,
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
    /// Save keys (for undo), then delete them.
    DeleteWithUndo {
        /// The keys.
        keys: Vec<Bytes>,
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
    /// Analyse where the memory goes, cancelling any analysis already running.
    AnalyzeMemory {
        /// Pattern, sample size, namespace delimiter and depth.
        request: crate::backend::analysis::AnalysisRequest,
    },
    /// Stop the running memory analysis after its current page (its report still comes).
    CancelAnalysis,
    /// Start (or retune) this connection's metrics sampler; its samples carry this request id.
    StartMetrics {
        /// Time between samples.
        interval: Duration,
    },
    /// Stop the metrics sampler (nothing shows its figures).
    StopMetrics,
    /// Stop the service (sent by [`ServiceHandle::shutdown`]).
    Shutdown,
}

/// A message from the service to the UI.
#[derive(Debug)]
pub struct Event {
    /// The connection it concerns.
    pub conn: ConnId,
    /// The request it answers.
    pub req: ReqId,
    /// What happened.
    pub kind: EventKind,
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

/// What an [`Event`] reports.
#[derive(Debug)]
pub enum EventKind {
    /// The connection is open.
    Connected {
        /// What it is connected to.
        description: String,
        /// What it can do.
        capabilities: Capabilities,
    },
    /// Result of a connection test: a description of the server, or the error.
    TestResult(Result<String, BackendError>),
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
        /// Whether more will follow.
        state: ScanState,
    },
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
    /// Keys were saved and deleted; `saved` puts them back with `WriteOp::Restore`.
    Deleted {
        /// What was saved.
        saved: Vec<DumpedKey>,
        /// How many keys were deleted.
        deleted: u64,
    },
    /// How many keys a pattern matches, and some of them.
    Previewed {
        /// Matching keys.
        matched: u64,
        /// The first matching keys found.
        sample: Vec<Bytes>,
    },
    /// Statistics of every server.
    ServerInfo(Vec<crate::backend::ServerInfo>),
    /// The slow log, newest first.
    SlowLog(Vec<crate::core::model::SlowLogEntry>),
    /// The connected clients.
    Clients(Vec<crate::core::model::ClientInfo>),
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
    /// Progress of a delete by pattern.
    DeleteProgress(BulkProgress),
    /// A delete by pattern ended.
    DeleteDone(BulkResult),
    /// The request failed.
    Failed(BackendError),
}

/// Sends events and wakes the UI after each one.
#[derive(Clone)]
struct EventSender {
    tx: mpsc::Sender<Event>,
    repaint: Option<egui::Context>,
}

impl EventSender {
    /// Returns false when the receiver is gone (the UI closed).
    async fn send(&self, conn: ConnId, req: ReqId, kind: EventKind) -> bool {
        let ok = self.tx.send(Event { conn, req, kind }).await.is_ok();
        if ok && let Some(ctx) = &self.repaint {
            ctx.request_repaint();
        }
        ok
    }
}

/// The UI's end of the service: send commands, drain events, shut down.
pub struct ServiceHandle {
    commands: mpsc::Sender<Command>,
    events: mpsc::Receiver<Event>,
    done: std::sync::mpsc::Receiver<()>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Why a command could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The service is busy; the user may retry.
    #[error("the background service is busy; try again in a moment")]
    Full,
    /// The service has stopped.
    #[error("the background service has stopped; restart the app")]
    Closed,
}

impl ServiceHandle {
    /// Starts the runtime on a thread named `cache-io`. `repaint` is woken after every event.
    ///
    /// # Errors
    /// The OS refused to create the thread or the runtime.
    pub fn start(repaint: Option<egui::Context>) -> std::io::Result<Self> {
        let (cmd_tx, cmd_rx) = mpsc::channel(COMMAND_CAPACITY);
        let (evt_tx, evt_rx) = mpsc::channel(EVENT_CAPACITY);
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("cache-io-worker")
            .enable_all()
            .build()?;
        let sender = EventSender {
            tx: evt_tx,
            repaint,
        };
        let thread = std::thread::Builder::new()
            .name("cache-io".to_owned())
            .spawn(move || {
                runtime.block_on(run(cmd_rx, sender));
                runtime.shutdown_timeout(Duration::from_millis(500));
                let _ = done_tx.send(());
            })?;
        Ok(Self {
            commands: cmd_tx,
            events: evt_rx,
            done: done_rx,
            thread: Some(thread),
        })
    }

    /// Queues a command without waiting.
    ///
    /// # Errors
    /// The queue is full or the service stopped.
    pub fn send(&self, conn: ConnId, req: ReqId, kind: CommandKind) -> Result<(), SendError> {
        self.commands
            .try_send(Command { conn, req, kind })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => SendError::Full,
                mpsc::error::TrySendError::Closed(_) => SendError::Closed,
            })
    }

    /// Takes events until none is waiting or `budget` is spent, whichever comes first.
    pub fn drain(&mut self, budget: Duration, mut handle: impl FnMut(Event)) {
        let start = Instant::now();
        while start.elapsed() < budget {
            match self.events.try_recv() {
                Ok(event) => handle(event),
                Err(_) => break,
            }
        }
    }

    /// Waits for the next event (for the CLI and tests, never the UI thread).
    pub fn blocking_recv(&mut self, timeout: Duration) -> Option<Event> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.events.try_recv() {
                Ok(event) => return Some(event),
                Err(mpsc::error::TryRecvError::Disconnected) => return None,
                Err(mpsc::error::TryRecvError::Empty) => {
                    if Instant::now() >= deadline {
                        return None;
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
        }
    }

    /// Asks the service to stop and waits for it at most one second.
    pub fn shutdown(&mut self) {
        let _ = self.commands.try_send(Command {
            conn: 0,
            req: 0,
            kind: CommandKind::Shutdown,
        });
        // Let producers blocked on a full event queue finish their send.
        self.events.close();
        if self.done.recv_timeout(Duration::from_secs(1)).is_ok()
            && let Some(thread) = self.thread.take()
        {
            let _ = thread.join();
        }
    }
}

impl Drop for ServiceHandle {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.shutdown();
        }
    }
}

/// One open connection inside the service.
struct Conn {
    backend: Arc<dyn CacheBackend>,
    spec: ConnectionSpec,
    password: Option<Secret>,
    options: ConnectOptions,
    scan: Option<AbortHandle>,
    metrics: Option<AbortHandle>,
    tasks: Vec<AbortHandle>,
    /// Set to stop the running delete by pattern between two batches.
    cancel_delete: Arc<std::sync::atomic::AtomicBool>,
    /// Set to stop the running memory analysis between two pages.
    cancel_analysis: Arc<std::sync::atomic::AtomicBool>,
}

impl Conn {
    fn stop_metrics(&mut self) {
        if let Some(sampler) = self.metrics.take() {
            sampler.abort();
        }
    }

    fn abort_all(&mut self) {
        if let Some(scan) = self.scan.take() {
            scan.abort();
        }
        self.stop_metrics();
        for task in self.tasks.drain(..) {
            task.abort();
        }
    }
}

/// Messages from spawned tasks back to the service loop.
enum Internal {
    Connected {
        conn: ConnId,
        req: ReqId,
        backend: Arc<dyn CacheBackend>,
        spec: ConnectionSpec,
        password: Option<Secret>,
        options: ConnectOptions,
    },
}

async fn run(mut commands: mpsc::Receiver<Command>, events: EventSender) {
    let (internal_tx, mut internal_rx) = mpsc::channel::<Internal>(16);
    let mut conns: HashMap<ConnId, Conn> = HashMap::new();
    // Latest connect request per connection id: a slower, older attempt must not win.
    let mut pending_connects: HashMap<ConnId, (ReqId, AbortHandle)> = HashMap::new();
    loop {
        tokio::select! {
            command = commands.recv() => {
                let Some(command) = command else { break };
                if matches!(command.kind, CommandKind::Shutdown) {
                    break;
                }
                handle_command(command, &mut conns, &mut pending_connects, &events, &internal_tx);
            }
            Some(internal) = internal_rx.recv() => {
                match internal {
                    Internal::Connected { conn, req, backend, spec, password, options } => {
                        if pending_connects.get(&conn).map(|(r, _)| *r) != Some(req) {
                            continue;
                        }
                        pending_connects.remove(&conn);
                        if let Some(mut old) = conns.remove(&conn) {
                            old.abort_all();
                        }
                        let kind = EventKind::Connected {
                            description: backend.describe(),
                            capabilities: backend.capabilities().clone(),
                        };
                        conns.insert(conn, Conn {
                            backend,
                            spec,
                            password,
                            options,
                            scan: None,
                            metrics: None,
                            tasks: Vec::new(),
                            cancel_delete: Arc::default(),
                            cancel_analysis: Arc::default(),
                        });
                        events.send(conn, req, kind).await;
                    }
                }
            }
        }
    }
    for (_, (_, handle)) in pending_connects.drain() {
        handle.abort();
    }
    for (_, mut conn) in conns.drain() {
        conn.abort_all();
    }
}

fn handle_command(
    command: Command,
    conns: &mut HashMap<ConnId, Conn>,
    pending_connects: &mut HashMap<ConnId, (ReqId, AbortHandle)>,
    events: &EventSender,
    internal: &mpsc::Sender<Internal>,
) {
    let Command { conn, req, kind } = command;
    let ev = events.clone();
    match kind {
        CommandKind::Connect {
            spec,
            password,
            options,
        } => {
            let internal = internal.clone();
            let handle = tokio::spawn(async move {
                match backend::connect(&spec, password.as_ref(), &options).await {
                    Ok(backend) => {
                        let _ = internal
                            .send(Internal::Connected {
                                conn,
                                req,
                                backend: Arc::from(backend),
                                spec,
                                password,
                                options,
                            })
                            .await;
                    }
                    Err(e) => {
                        ev.send(conn, req, EventKind::Failed(e)).await;
                    }
                }
            });
            if let Some((_, old)) = pending_connects.insert(conn, (req, handle.abort_handle())) {
                old.abort();
            }
        }
        CommandKind::Test { spec, password } => {
            tokio::spawn(async move {
                let result = backend::connect(&spec, password.as_ref(), &ConnectOptions::default())
                    .await
                    .map(|b| b.describe());
                ev.send(conn, req, EventKind::TestResult(result)).await;
            });
        }
        CommandKind::Disconnect => {
            if let Some((_, handle)) = pending_connects.remove(&conn) {
                handle.abort();
            }
            if let Some(mut c) = conns.remove(&conn) {
                c.abort_all();
            }
        }
        CommandKind::SelectDb { db } => {
            let Some(c) = conns.get(&conn) else {
                return not_connected(events, conn, req);
            };
            let mut spec = c.spec.clone();
            match &mut spec {
                ConnectionSpec::Redis(s) => s.db = db,
                ConnectionSpec::Memcached(_) | ConnectionSpec::File(_) | ConnectionSpec::Sql(_) => {
                }
            }
            let password = c.password.clone();
            let options = c.options.clone();
            handle_command(
                Command {
                    conn,
                    req,
                    kind: CommandKind::Connect {
                        spec,
                        password,
                        options,
                    },
                },
                conns,
                pending_connects,
                events,
                internal,
            );
        }
        CommandKind::Shutdown => {}
        other => {
            let Some(c) = conns.get_mut(&conn) else {
                return not_connected(events, conn, req);
            };
            let backend = c.backend.clone();
            match other {
                CommandKind::Scan {
                    request,
                    from_cursor,
                    limit,
                } => {
                    if let Some(old) = c.scan.take() {
                        old.abort();
                    }
                    let handle = tokio::spawn(async move {
                        scan_task(backend, ev, conn, req, request, from_cursor, limit).await;
                    });
                    c.scan = Some(handle.abort_handle());
                }
                CommandKind::StartMetrics { interval } => {
                    c.stop_metrics();
                    let handle = tokio::spawn(async move {
                        metrics_task(backend, ev, conn, req, interval).await;
                    });
                    c.metrics = Some(handle.abort_handle());
                }
                CommandKind::StopMetrics => c.stop_metrics(),
                CommandKind::StopScan => {
                    if let Some(old) = c.scan.take() {
                        old.abort();
                    }
                }
                CommandKind::CancelDelete => {
                    c.cancel_delete
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                }
                CommandKind::CancelAnalysis => {
                    c.cancel_analysis
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                }
                CommandKind::AnalyzeMemory { request } => {
                    // The previous analysis, if any, stops: one per connection.
                    c.cancel_analysis
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                    let cancel = Arc::new(std::sync::atomic::AtomicBool::new(false));
                    c.cancel_analysis = cancel.clone();
                    c.tasks.retain(|t| !t.is_finished());
                    let handle = tokio::spawn(async move {
                        analysis_task(backend, ev, conn, req, request, cancel).await;
                    });
                    c.tasks.push(handle.abort_handle());
                }
                CommandKind::DeleteMatching { request } => {
                    // A fresh flag per run; cancelling sets it, the loop checks it per batch.
                    let cancel = Arc::new(std::sync::atomic::AtomicBool::new(false));
                    c.cancel_delete = cancel.clone();
                    c.tasks.retain(|t| !t.is_finished());
                    let handle = tokio::spawn(async move {
                        delete_matching_task(backend, ev, conn, req, request, cancel).await;
                    });
                    c.tasks.push(handle.abort_handle());
                }
                work => {
                    c.tasks.retain(|t| !t.is_finished());
                    let handle = tokio::spawn(async move {
                        let kind = match work_result(backend.as_ref(), work).await {
                            Ok(kind) => kind,
                            Err(e) => EventKind::Failed(e),
                        };
                        ev.send(conn, req, kind).await;
                    });
                    c.tasks.push(handle.abort_handle());
                }
            }
        }
    }
}

fn not_connected(events: &EventSender, conn: ConnId, req: ReqId) {
    let ev = events.clone();
    tokio::spawn(async move {
        ev.send(
            conn,
            req,
            EventKind::Failed(BackendError::Config(
                "not connected: connect first".to_owned(),
            )),
        )
        .await;
    });
}

async fn work_result(
    backend: &dyn CacheBackend,
    work: CommandKind,
) -> Result<EventKind, BackendError> {
    Ok(match work {
        CommandKind::ListDatabases => EventKind::Databases(backend.databases().await?),
        CommandKind::FetchMeta { keys } => {
            let meta = backend.key_meta(&keys).await?;
            EventKind::Meta { keys, meta }
        }
        CommandKind::OpenKey { key, page_size } => {
            let details = backend.key_details(&key).await?;
            let page = backend
                .read_page(&key, &details.meta.key_type, &PageCursor::Start, page_size)
                .await?;
            EventKind::KeyOpened { key, details, page }
        }
        CommandKind::ReadPage {
            key,
            key_type,
            cursor,
            page_size,
        } => {
            let page = backend
                .read_page(&key, &key_type, &cursor, page_size)
                .await?;
            EventKind::Page { key, page }
        }
        CommandKind::SaveValue { key, path } => {
            let bytes = save_value(backend, &key, &path).await?;
            EventKind::Saved { path, bytes }
        }
        CommandKind::Write { op } => {
            let outcome = backend.write(&op).await?;
            EventKind::Written { op, outcome }
        }
        CommandKind::DeleteWithUndo { keys } => {
            let saved: Vec<DumpedKey> = backend.dump(&keys).await?.into_iter().flatten().collect();
            let outcome = backend.write(&WriteOp::Delete { keys }).await?;
            let deleted = match outcome {
                WriteOutcome::Done(n) => n,
                _ => 0,
            };
            EventKind::Deleted { saved, deleted }
        }
        CommandKind::ServerInfo => EventKind::ServerInfo(backend.server_info().await?),
        CommandKind::SlowLog { count } => EventKind::SlowLog(backend.slow_log(count).await?),
        CommandKind::Clients => EventKind::Clients(backend.clients().await?),
        CommandKind::Preview { request, sample } => {
            let (matched, sample) = preview(backend, &request, sample).await?;
            EventKind::Previewed { matched, sample }
        }
        other => {
            return Err(BackendError::Config(format!(
                "internal: {other:?} is not a work command"
            )));
        }
    })
}

async fn save_value(
    backend: &dyn CacheBackend,
    key: &[u8],
    path: &PathBuf,
) -> Result<u64, BackendError> {
    let details = backend.key_details(key).await?;
    if details.meta.key_type != KeyType::String {
        return Err(BackendError::Config(
            "only string values can be saved to a file".to_owned(),
        ));
    }
    let file_err = |e: std::io::Error| BackendError::File(format!("{}: {e}", path.display()));
    // Write next to the target and rename, so a failure never leaves half a file behind.
    let tmp = path.with_extension("cache-console-partial");
    let mut file = tokio::fs::File::create(&tmp).await.map_err(file_err)?;
    let total = details.length;
    let mut offset = 0;
    let result: Result<(), BackendError> = async {
        while offset < total {
            let chunk = backend
                .read_string_range(key, offset, SAVE_CHUNK_BYTES.min(total - offset))
                .await?;
            if chunk.is_empty() {
                break;
            }
            file.write_all(&chunk).await.map_err(file_err)?;
            offset += chunk.len() as u64;
        }
        file.flush().await.map_err(file_err)?;
        file.sync_all().await.map_err(file_err)?;
        Ok(())
    }
    .await;
    if let Err(e) = result {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(e);
    }
    tokio::fs::rename(&tmp, path).await.map_err(file_err)?;
    Ok(offset)
}

async fn preview(
    backend: &dyn CacheBackend,
    request: &ScanRequest,
    sample_size: usize,
) -> Result<(u64, Vec<Bytes>), BackendError> {
    // SCAN may repeat a key while the server rehashes: count each once.
    let mut seen = crate::core::keyindex::KeyIndex::new("");
    let mut sample = Vec::with_capacity(sample_size);
    let mut cursor = 0;
    loop {
        let page = backend.scan(request, cursor).await?;
        for key in page.keys {
            let before = seen.len();
            seen.insert(&key)
                .map_err(|e| BackendError::Config(e.to_string()))?;
            if seen.len() > before && sample.len() < sample_size {
                sample.push(key);
            }
        }
        cursor = page.next_cursor;
        if cursor == 0 {
            return Ok((seen.len() as u64, sample));
        }
    }
}

/// Progress reports of a long job go to the UI through a small channel, so the job never waits
/// on the UI; a report dropped because the UI is behind is followed by a newer one.
fn progress_forwarder<P: Send + 'static>(
    events: &EventSender,
    conn: ConnId,
    req: ReqId,
    to_event: fn(P) -> EventKind,
) -> (
    impl Fn(P) + Send + Sync + use<P>,
    tokio::task::JoinHandle<()>,
) {
    let (tx, mut rx) = mpsc::channel::<P>(4);
    let events = events.clone();
    let forward = tokio::spawn(async move {
        while let Some(p) = rx.recv().await {
            events.send(conn, req, to_event(p)).await;
        }
    });
    let report = move |p: P| {
        let _ = tx.try_send(p);
    };
    (report, forward)
}

async fn delete_matching_task(
    backend: Arc<dyn CacheBackend>,
    events: EventSender,
    conn: ConnId,
    req: ReqId,
    request: ScanRequest,
    cancel: Arc<std::sync::atomic::AtomicBool>,
) {
    let (report, forward) = progress_forwarder(&events, conn, req, EventKind::DeleteProgress);
    let result = backend.delete_matching(&request, &cancel, &report).await;
    drop(report);
    let _ = forward.await;
    let kind = match result {
        Ok(done) => EventKind::DeleteDone(done),
        Err(e) => EventKind::Failed(e),
    };
    events.send(conn, req, kind).await;
}

async fn analysis_task(
    backend: Arc<dyn CacheBackend>,
    events: EventSender,
    conn: ConnId,
    req: ReqId,
    request: crate::backend::analysis::AnalysisRequest,
    cancel: Arc<std::sync::atomic::AtomicBool>,
) {
    let (report, forward) = progress_forwarder(&events, conn, req, |(keys, progress)| {
        EventKind::AnalysisProgress { keys, progress }
    });
    let progress = move |keys: u64, progress: f64| report((keys, progress));
    let result = crate::backend::analysis::analyze(backend.as_ref(), &request, &cancel, &progress).await;
    drop(progress);
    let _ = forward.await;
    let kind = match result {
        Ok(report) => EventKind::AnalysisDone(report),
        Err(e) => EventKind::Failed(e),
    };
    events.send(conn, req, kind).await;
}

/// Samples the backend's figures every `interval` until aborted or the UI is gone.
async fn metrics_task(
    backend: Arc<dyn CacheBackend>,
    events: EventSender,
    conn: ConnId,
    req: ReqId,
    interval: Duration,
) {
    let interval = interval.max(MIN_METRICS_INTERVAL);
    let mut prev: Option<crate::core::metrics::Sample> = None;
    loop {
        let started = Instant::now();
        let result = backend.stats().await;
        let took = started.elapsed();
        let next_in = crate::core::metrics::sampling_wait(interval, took);
        let kind = match result {
            Ok(servers) => {
                let sample = crate::core::metrics::Sample {
                    at_ms: crate::core::ttl::now_unix_ms(),
                    servers,
                };
                let derived = crate::core::metrics::derive(prev.as_ref(), &sample);
                prev = Some(sample.clone());
                EventKind::Metrics {
                    sample,
                    derived,
                    took,
                    next_in,
                }
            }
            Err(e) => EventKind::MetricsFailed(e),
        };
        if !events.send(conn, req, kind).await {
            return;
        }
        tokio::time::sleep(next_in.saturating_sub(started.elapsed())).await;
    }
}

async fn scan_task(
    backend: Arc<dyn CacheBackend>,
    events: EventSender,
    conn: ConnId,
    req: ReqId,
    request: ScanRequest,
    mut cursor: u64,
    limit: Option<u64>,
) {
    match backend.key_count().await {
        Ok(total_keys) => {
            if !events
                .send(conn, req, EventKind::ScanStarted { total_keys })
                .await
            {
                return;
            }
        }
        Err(e) => {
            events.send(conn, req, EventKind::Failed(e)).await;
            return;
        }
    }
    let mut matched: u64 = 0;
    loop {
        let page = match backend.scan(&request, cursor).await {
            Ok(page) => page,
            Err(e) => {
                events.send(conn, req, EventKind::Failed(e)).await;
                return;
            }
        };
        cursor = page.next_cursor;
        matched += page.keys.len() as u64;
        let state = if cursor == 0 {
            ScanState::Done
        } else if limit.is_some_and(|l| matched >= l) {
            ScanState::Paused
        } else {
            ScanState::Running
        };
        let kind = EventKind::ScanBatch {
            keys: page.keys,
            cursor,
            progress: page.progress,
            state,
        };
        if !events.send(conn, req, kind).await || state != ScanState::Running {
            return;
        }
    }
}
