//! The I/O service: a tokio runtime on its own thread that owns every backend connection and
//! does every file read and write the UI asks for.
//!
//! The UI talks to it only through two bounded channels: [`Command`]s in, [`Event`]s out. Each
//! event carries the connection id and request id it answers, so the UI can drop late answers
//! for a closed connection or a superseded search. Every event send wakes the UI.

mod files;
mod fleet;
mod protocol;
mod tasks;
mod transfers;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::AbortHandle;

pub use protocol::{
    AppCommand, AppEvent, Command, CommandKind, ConnId, Event, EventKind, FleetCommand, FleetEvent,
    Ids, ReqId, ScanState, SecretAnswer, SecretOp, TransferSummary,
};

use crate::backend::{self, BackendError, CacheBackend, ConnectOptions};
use crate::config::connection::{ConnectionSpec, Secret};

/// How many commands may wait for the service.
pub const COMMAND_CAPACITY: usize = 256;
/// How many events may wait for the UI before producers (a scan, say) are slowed down.
pub const EVENT_CAPACITY: usize = 512;
/// The shortest time between two metrics samples.
pub const MIN_METRICS_INTERVAL: Duration = Duration::from_millis(100);

/// Sends events and wakes the UI after each one.
#[derive(Clone)]
struct EventSender {
    tx: mpsc::Sender<Event>,
    repaint: Option<egui::Context>,
}

impl EventSender {
    /// Returns false when the receiver is gone (the UI closed).
    async fn send(&self, event: Event) -> bool {
        let ok = self.tx.send(event).await.is_ok();
        if ok && let Some(ctx) = &self.repaint {
            ctx.request_repaint();
        }
        ok
    }

    /// News of connection `conn` for request `req`.
    async fn conn(&self, conn: ConnId, req: ReqId, kind: EventKind) -> bool {
        self.send(Event::Conn { conn, req, kind }).await
    }

    /// The answer to app request `req`.
    async fn app(&self, req: ReqId, kind: AppEvent) -> bool {
        self.send(Event::App { req, kind }).await
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

    /// Queues work on connection `conn` without waiting.
    ///
    /// # Errors
    /// The queue is full or the service stopped.
    pub fn send(&self, conn: ConnId, req: ReqId, kind: CommandKind) -> Result<(), SendError> {
        self.queue(Command::Conn { conn, req, kind })
    }

    /// Queues work for the app as a whole without waiting.
    ///
    /// # Errors
    /// The queue is full or the service stopped.
    pub fn send_app(&self, req: ReqId, kind: AppCommand) -> Result<(), SendError> {
        self.queue(Command::App { req, kind })
    }

    /// Queues any command without waiting.
    ///
    /// # Errors
    /// The queue is full or the service stopped.
    pub fn queue(&self, command: Command) -> Result<(), SendError> {
        self.commands.try_send(command).map_err(|e| match e {
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
                    // Polled, not awaited: this is the caller's own thread, not the runtime.
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
        }
    }

    /// Asks the service to stop and waits for it at most one second.
    pub fn shutdown(&mut self) {
        let _ = self.commands.try_send(Command::Shutdown);
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
    /// The console's running command.
    exec: Option<AbortHandle>,
    /// The Pub/Sub viewer's subscription.
    subscription: Option<AbortHandle>,
    /// The MONITOR viewer's stream.
    monitor: Option<AbortHandle>,
    tasks: Vec<AbortHandle>,
    /// Set to stop the running delete by pattern between two batches.
    cancel_delete: Arc<AtomicBool>,
    /// Set to stop the running memory analysis between two pages.
    cancel_analysis: Arc<AtomicBool>,
    cancel_census: Arc<AtomicBool>,
    /// Set to stop the running export, import or copy between two batches.
    cancel_transfer: Arc<AtomicBool>,
}

impl Conn {
    fn stop_metrics(&mut self) {
        if let Some(sampler) = self.metrics.take() {
            sampler.abort();
        }
    }

    fn stop_scan(&mut self) {
        if let Some(scan) = self.scan.take() {
            scan.abort();
        }
    }

    fn stop_exec(&mut self) {
        if let Some(exec) = self.exec.take() {
            exec.abort();
        }
    }

    fn stop_streams(&mut self, subscription: bool, monitor: bool) {
        if subscription && let Some(task) = self.subscription.take() {
            task.abort();
        }
        if monitor && let Some(task) = self.monitor.take() {
            task.abort();
        }
    }

    fn abort_all(&mut self) {
        self.stop_scan();
        self.stop_metrics();
        self.stop_exec();
        self.stop_streams(true, true);
        for task in self.tasks.drain(..) {
            task.abort();
        }
    }

    /// A flag for a new export, import or copy (the one before, if any, is asked to stop).
    fn fresh_transfer_cancel(&mut self) -> Arc<AtomicBool> {
        self.cancel_transfer.store(true, Ordering::Relaxed);
        let cancel = Arc::new(AtomicBool::new(false));
        self.cancel_transfer = cancel.clone();
        cancel
    }

    fn job(&self, events: &EventSender, conn: ConnId, req: ReqId) -> tasks::Job {
        tasks::Job {
            backend: self.backend.clone(),
            events: events.clone(),
            conn,
            req,
        }
    }

    /// Runs `work` as one of this connection's tasks (aborted when it closes).
    fn spawn(&mut self, work: impl Future<Output = ()> + Send + 'static) {
        self.tasks.retain(|t| !t.is_finished());
        self.tasks.push(tokio::spawn(work).abort_handle());
    }
}

/// A connection that opened, on its way back to the service loop.
struct Opened {
    conn: ConnId,
    req: ReqId,
    backend: Arc<dyn CacheBackend>,
    spec: ConnectionSpec,
    password: Option<Secret>,
    options: ConnectOptions,
}

/// Everything the service loop owns.
struct Service {
    conns: HashMap<ConnId, Conn>,
    /// Latest connect request per connection id: a slower, older attempt must not win.
    pending_connects: HashMap<ConnId, (ReqId, AbortHandle)>,
    events: EventSender,
    opened: mpsc::Sender<Opened>,
    files: files::Files,
    /// The fleet view's sampler, while it runs.
    fleet: Option<AbortHandle>,
}

async fn run(mut commands: mpsc::Receiver<Command>, events: EventSender) {
    let (opened_tx, mut opened_rx) = mpsc::channel::<Opened>(16);
    let mut service = Service {
        conns: HashMap::new(),
        pending_connects: HashMap::new(),
        events: events.clone(),
        opened: opened_tx,
        files: files::Files::default(),
        fleet: None,
    };
    loop {
        tokio::select! {
            command = commands.recv() => {
                match command {
                    None | Some(Command::Shutdown) => break,
                    Some(Command::Conn { conn, req, kind }) => service.conn_command(conn, req, kind),
                    Some(Command::App { req, kind }) => service.files.spawn(&events, req, kind),
                    Some(Command::Fleet { req, kind }) => service.fleet(req, kind),
                }
            }
            Some(opened) = opened_rx.recv() => service.opened(opened).await,
        }
    }
    if let Some(fleet) = service.fleet.take() {
        fleet.abort();
    }
    for (_, (_, handle)) in service.pending_connects.drain() {
        handle.abort();
    }
    for (_, mut conn) in service.conns.drain() {
        conn.abort_all();
    }
}

impl Service {
    /// Starts (replacing) or stops the fleet's sampler.
    fn fleet(&mut self, req: ReqId, kind: FleetCommand) {
        if let Some(running) = self.fleet.take() {
            running.abort();
        }
        if let FleetCommand::Start {
            targets,
            interval,
            limits,
            places,
        } = kind
        {
            let stores = self.files.secret_stores(places);
            let sampler = Arc::new(backend::fleet::Sampler::new(Some(stores), limits));
            let task = fleet::run(req, sampler, targets, interval, self.events.clone());
            self.fleet = Some(tokio::spawn(task).abort_handle());
        }
    }

    /// A connection finished opening: it replaces whatever held its id, unless a newer
    /// connect for that id was asked for meanwhile.
    async fn opened(&mut self, opened: Opened) {
        let Opened {
            conn,
            req,
            backend,
            spec,
            password,
            options,
        } = opened;
        if self.pending_connects.get(&conn).map(|(r, _)| *r) != Some(req) {
            return;
        }
        self.pending_connects.remove(&conn);
        if let Some(mut old) = self.conns.remove(&conn) {
            old.abort_all();
        }
        let kind = EventKind::Connected {
            description: backend.describe(),
            capabilities: backend.capabilities().clone(),
        };
        self.conns.insert(
            conn,
            Conn {
                backend,
                spec,
                password,
                options,
                scan: None,
                metrics: None,
                exec: None,
                subscription: None,
                monitor: None,
                tasks: Vec::new(),
                cancel_delete: Arc::default(),
                cancel_analysis: Arc::default(),
                cancel_census: Arc::default(),
                cancel_transfer: Arc::default(),
            },
        );
        self.events.conn(conn, req, kind).await;
    }

    fn connect(
        &mut self,
        conn: ConnId,
        req: ReqId,
        spec: ConnectionSpec,
        password: Option<Secret>,
        options: ConnectOptions,
    ) {
        let opened = self.opened.clone();
        let events = self.events.clone();
        let handle = tokio::spawn(async move {
            match backend::connect(&spec, password.as_ref(), &options).await {
                Ok(backend) => {
                    let backend = Arc::from(backend);
                    let _ = opened
                        .send(Opened {
                            conn,
                            req,
                            backend,
                            spec,
                            password,
                            options,
                        })
                        .await;
                }
                Err(e) => {
                    events.conn(conn, req, EventKind::Failed(e)).await;
                }
            }
        });
        if let Some((_, old)) = self
            .pending_connects
            .insert(conn, (req, handle.abort_handle()))
        {
            old.abort();
        }
    }

    fn conn_command(&mut self, conn: ConnId, req: ReqId, kind: CommandKind) {
        match kind {
            CommandKind::Connect {
                spec,
                password,
                options,
            } => self.connect(conn, req, *spec, password, options),
            CommandKind::Disconnect => {
                if let Some((_, handle)) = self.pending_connects.remove(&conn) {
                    handle.abort();
                }
                if let Some(mut c) = self.conns.remove(&conn) {
                    c.abort_all();
                }
            }
            CommandKind::SelectDb { db } => {
                let Some(c) = self.conns.get(&conn) else {
                    return self.not_connected(conn, req);
                };
                let spec = c.spec.with_db(db);
                let (password, options) = (c.password.clone(), c.options.clone());
                self.connect(conn, req, spec, password, options);
            }
            CommandKind::CopyKeys {
                to,
                keys,
                on_conflict,
            } => {
                // The destination is another open connection: its backend, through its guard.
                let Some(destination) = self.conns.get(&to).map(|c| c.backend.clone()) else {
                    return self.not_connected(to, req);
                };
                let events = self.events.clone();
                let Some(c) = self.conns.get_mut(&conn) else {
                    return self.not_connected(conn, req);
                };
                let job = c.job(&events, conn, req);
                let cancel = c.fresh_transfer_cancel();
                c.spawn(job.copy(destination, keys, on_conflict, cancel));
            }
            other => {
                let events = self.events.clone();
                let Some(c) = self.conns.get_mut(&conn) else {
                    return self.not_connected(conn, req);
                };
                c.command(&events, conn, req, other);
            }
        }
    }

    fn not_connected(&self, conn: ConnId, req: ReqId) {
        let events = self.events.clone();
        tokio::spawn(async move {
            events
                .conn(conn, req, EventKind::Failed(BackendError::NotConnected))
                .await;
        });
    }
}

impl Conn {
    /// Starts (or stops) the work `kind` asks of this open connection.
    fn command(&mut self, events: &EventSender, conn: ConnId, req: ReqId, kind: CommandKind) {
        let job = tasks::Job {
            backend: self.backend.clone(),
            events: events.clone(),
            conn,
            req,
        };
        match kind {
            CommandKind::Scan {
                request,
                from_cursor,
                limit,
            } => {
                self.stop_scan();
                let handle = tokio::spawn(job.scan(request, from_cursor, limit));
                self.scan = Some(handle.abort_handle());
            }
            CommandKind::StopScan => self.stop_scan(),
            CommandKind::StartMetrics { interval } => {
                self.stop_metrics();
                self.metrics = Some(tokio::spawn(job.sample(interval)).abort_handle());
            }
            CommandKind::StopMetrics => self.stop_metrics(),
            CommandKind::Exec {
                args,
                on,
                ask_dangerous,
            } => {
                self.stop_exec();
                let run = job.exec(args, on, ask_dangerous);
                self.exec = Some(tokio::spawn(run).abort_handle());
            }
            CommandKind::CancelExec => self.stop_exec(),
            CommandKind::CancelTransfer => self.cancel_transfer.store(true, Ordering::Relaxed),
            CommandKind::ExportKeys {
                keys,
                format,
                base64,
                path,
            } => {
                let cancel = self.fresh_transfer_cancel();
                self.spawn(job.export(keys, format, base64, path, cancel));
            }
            CommandKind::ImportFile { path, on_conflict } => {
                let cancel = self.fresh_transfer_cancel();
                self.spawn(job.import(path, on_conflict, cancel));
            }
            CommandKind::Subscribe { subscription } => {
                self.stop_streams(true, false);
                let run = job.stream(tasks::Listen::Subscribe(subscription));
                self.subscription = Some(tokio::spawn(run).abort_handle());
            }
            CommandKind::Monitor { nodes } => {
                self.stop_streams(false, true);
                let run = job.stream(tasks::Listen::Monitor(nodes));
                self.monitor = Some(tokio::spawn(run).abort_handle());
            }
            CommandKind::StopSubscribe => self.stop_streams(true, false),
            CommandKind::StopMonitor => self.stop_streams(false, true),
            CommandKind::SortKeys(sort) => self.spawn(job.sort(sort)),
            CommandKind::CancelDelete => self.cancel_delete.store(true, Ordering::Relaxed),
            CommandKind::CancelAnalysis => self.cancel_analysis.store(true, Ordering::Relaxed),
            CommandKind::AnalyzeMemory { request } => {
                // The previous analysis, if any, stops: one per connection.
                self.cancel_analysis.store(true, Ordering::Relaxed);
                let cancel = Arc::new(AtomicBool::new(false));
                self.cancel_analysis = cancel.clone();
                self.spawn(job.analyze(request, cancel));
            }
            CommandKind::CancelCensus => self.cancel_census.store(true, Ordering::Relaxed),
            CommandKind::Census { request, delimiter } => {
                self.cancel_census.store(true, Ordering::Relaxed);
                let cancel = Arc::new(AtomicBool::new(false));
                self.cancel_census = cancel.clone();
                self.spawn(job.census(request, delimiter, cancel));
            }
            CommandKind::DeleteMatching { request } => {
                // A fresh flag per run; cancelling sets it, the loop checks it per batch.
                let cancel = Arc::new(AtomicBool::new(false));
                self.cancel_delete = cancel.clone();
                self.spawn(job.delete_matching(request, cancel));
            }
            work => {
                self.spawn(job.answer(work));
            }
        }
    }
}
