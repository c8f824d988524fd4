//! One open connection and the requests it waits for.
//!
//! A session queues its commands in its own outbox and remembers, per request id, what the
//! answer is for ([`Pending`]). An event is looked up once in that map: an id that is not there
//! (a superseded search, a closed viewer) is a late answer and is dropped.

use std::collections::HashMap;

use super::{
    Action, AnalysisView, Browser, BulkDelete, CreateForm, Dashboard, Effects, Level,
    ServerInfoView, SessionAction, UndoEntry, Viewer,
};
use crate::backend::{BackendError, Capabilities, ConnectOptions};
use crate::config::audit::AuditLog;
use crate::config::connection::Secret;
use crate::config::profiles::Profile;
use crate::core::model::DbInfo;
use crate::service::{Command, CommandKind, ConnId, EventKind, Ids, ReqId};

/// Connection state of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionStatus {
    /// Waiting for the server.
    Connecting,
    /// Open.
    Connected,
    /// Could not connect; the reason.
    Failed(String),
}

/// What a request's answer is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pending {
    /// Opening the connection (or reopening it on another database).
    Connect,
    /// The database list.
    Databases,
    /// The key listing (batches until the last).
    Scan,
    /// Row facts of keys on screen.
    Meta,
    /// The viewer's key and its first page.
    OpenKey,
    /// Another page of the open value.
    Page,
    /// The open value saved to a file.
    SaveValue,
    /// A change (an edit, a delete with undo, a flush, …).
    Write,
    /// The count and sample before a delete by pattern.
    Preview,
    /// A delete by pattern (progress until done).
    BulkDelete,
    /// The server panel's statistics.
    ServerInfo,
    /// The server panel's slow log.
    SlowLog,
    /// A cluster's nodes, for the server panel.
    Nodes,
    /// The server panel's client list.
    Clients,
    /// A memory analysis (progress until its report).
    Analysis,
    /// A namespace census (progress until its tree).
    Census,
    /// The metrics sampler (samples until stopped).
    Metrics,
    /// A sort of the flat list.
    Sort,
    /// Row facts a sort by facts needs.
    SortMeta,
    /// The Laravel tags of the open key.
    Tags,
    /// What flushing a Laravel tag deletes.
    TagKeys,
    /// The console's running command.
    Exec,
    /// The commands the server knows (the console's completion).
    CommandDocs,
    /// A cluster's nodes, for the console's choice of where a keyless command runs.
    ConsoleNodes,
    /// The Pub/Sub viewer's subscription (batches until stopped).
    Subscribe,
    /// The MONITOR viewer's stream (batches until stopped).
    Monitor,
    /// A viewer's rows saved to a file.
    SaveStream,
    /// The count of keys an export or copy takes, or an import file's header.
    MovePreview,
    /// An export, import or copy (progress until its summary).
    Move,
}

impl Pending {
    /// A newer request of this kind makes the older one's answer moot; writes and row facts
    /// run side by side.
    fn exclusive(self) -> bool {
        !matches!(self, Self::Meta | Self::Write)
    }
}

/// One open connection: its browser, viewer, dialogs and the requests it waits for.
#[derive(Debug)]
pub struct Session {
    /// Connection id in the service.
    pub conn: ConnId,
    /// What the user gave for the SSH tunnel this session (passphrase, password, trusted
    /// host keys); never saved.
    pub ssh_secrets: crate::backend::ssh::SshSecrets,
    /// The profile it was opened from.
    pub profile: Profile,
    /// Connection state.
    pub status: SessionStatus,
    /// What the server said it is.
    pub description: String,
    /// What the backend supports (known once connected).
    pub capabilities: Option<Capabilities>,
    /// Databases and key counts.
    pub databases: Vec<DbInfo>,
    /// Current database.
    pub db: u32,
    /// The key browser.
    pub browser: Browser,
    /// The value viewer, when a key is open.
    pub viewer: Option<Viewer>,
    /// The last delete, which can be undone.
    pub undo: Option<UndoEntry>,
    /// The delete-by-pattern dialog, when open.
    pub bulk: Option<BulkDelete>,
    /// The "new key" dialog, when open.
    pub create: Option<CreateForm>,
    /// The server panel, when open.
    pub server_info: Option<ServerInfoView>,
    /// Live metrics.
    pub dashboard: Dashboard,
    /// The memory analysis window, when open.
    pub analysis: Option<AnalysisView>,
    /// The namespace census window, when open.
    pub census: Option<super::census::CensusView>,
    /// The command console.
    pub console: super::Console,
    /// The Pub/Sub viewer, when open.
    pub pubsub: Option<super::PubSubView>,
    /// The MONITOR viewer, when open.
    pub monitor: Option<super::MonitorView>,
    /// The export, import or copy dialog, when open.
    pub key_move: Option<super::KeyMove>,
    /// The last failure reading row facts, reported once until a read succeeds again.
    pub(super) meta_error: Option<String>,
    pending: HashMap<ReqId, Pending>,
    ids: Ids,
    outbox: Vec<(ReqId, CommandKind)>,
}

impl Session {
    /// A session for `profile` on connection `conn`, not connected yet.
    #[must_use]
    pub fn new(conn: ConnId, profile: Profile, batch_limit: u64) -> Self {
        let mut browser = Browser::new(&profile.default_pattern, &profile.delimiter);
        browser.batch_limit = batch_limit;
        Self {
            conn,
            ssh_secrets: crate::backend::ssh::SshSecrets::default(),
            db: profile.connection.db(),
            browser,
            profile,
            status: SessionStatus::Connecting,
            description: String::new(),
            capabilities: None,
            databases: Vec::new(),
            viewer: None,
            undo: None,
            bulk: None,
            create: None,
            server_info: None,
            dashboard: Dashboard::default(),
            analysis: None,
            census: None,
            console: super::Console::default(),
            pubsub: None,
            monitor: None,
            key_move: None,
            meta_error: None,
            pending: HashMap::new(),
            ids: Ids::default(),
            outbox: Vec::new(),
        }
    }

    /// Opens the connection.
    pub fn connect(&mut self, password: Option<Secret>, audit: Option<AuditLog>) {
        let mut options = ConnectOptions::for_profile(&self.profile, audit);
        if let Some(target) = options.ssh.as_mut() {
            target.secrets = self.ssh_secrets.clone();
        }
        let spec = self.profile.connection.with_db(self.db);
        self.request(
            Pending::Connect,
            CommandKind::Connect {
                spec: Box::new(spec),
                password,
                options,
            },
        );
    }

    /// The commands that close the connection; nothing it waits for will be taken any more.
    pub fn disconnect(&mut self) -> Vec<Command> {
        self.pending.clear();
        let req = self.ids.req();
        self.outbox.push((req, CommandKind::Disconnect));
        self.take_outbox()
    }

    /// Commands queued since the last call.
    pub fn take_outbox(&mut self) -> Vec<Command> {
        let conn = self.conn;
        self.outbox
            .drain(..)
            .map(|(req, kind)| Command::Conn { conn, req, kind })
            .collect()
    }

    /// Sends `kind`, whose answer is for `pending`; an older request of an exclusive kind is
    /// forgotten, so its late answer is dropped.
    pub(super) fn request(&mut self, pending: Pending, kind: CommandKind) -> ReqId {
        if pending.exclusive() {
            self.forget(pending);
        }
        let req = self.ids.req();
        self.pending.insert(req, pending);
        self.outbox.push((req, kind));
        req
    }

    /// Stops the request waiting for `pending`, if any: `kind` names it, and its late answers
    /// are dropped.
    pub(super) fn stop(&mut self, pending: Pending, kind: CommandKind) {
        if let Some(req) = self.pending_req(pending) {
            self.pending.remove(&req);
            self.outbox.push((req, kind));
        }
    }

    /// Asks the service to stop work whose answers are still wanted (a pattern delete's or an
    /// analysis's final report still comes).
    pub(super) fn interrupt(&mut self, pending: Pending, kind: CommandKind) {
        if let Some(req) = self.pending_req(pending) {
            self.outbox.push((req, kind));
        }
    }

    /// Forgets every request waiting for `pending`.
    pub(super) fn forget(&mut self, pending: Pending) {
        self.pending.retain(|_, p| *p != pending);
    }

    /// The request waiting for `pending`, if one is.
    fn pending_req(&self, pending: Pending) -> Option<ReqId> {
        self.pending
            .iter()
            .find_map(|(req, p)| (*p == pending).then_some(*req))
    }

    /// Whether a request for `pending` is waiting for its answer.
    #[must_use]
    pub fn is_pending(&self, pending: Pending) -> bool {
        self.pending.values().any(|p| *p == pending)
    }

    /// True while a change sent from this connection has not been answered.
    #[must_use]
    pub fn writes_pending(&self) -> bool {
        self.is_pending(Pending::Write) || self.is_pending(Pending::BulkDelete)
    }

    /// Whether the connection may write.
    #[must_use]
    pub fn writable(&self) -> bool {
        self.capabilities.as_ref().is_some_and(|c| c.write)
    }

    /// Carries out one thing the UI asked of this connection.
    #[expect(
        clippy::too_many_lines,
        reason = "a dispatch table: one arm a session action, each a call"
    )]
    pub fn handle(&mut self, action: SessionAction, fx: &mut Effects) {
        use SessionAction as A;
        match action {
            A::Search => self.search(),
            A::ContinueScan(all) => self.continue_scan(all),
            A::StopScan => self.stop_scan(),
            A::SelectDb(db) => self.select_db(db),
            A::RefreshDatabases => self.refresh_databases(),
            A::RequestMeta(ids) => self.request_meta(&ids),
            A::OpenKey(id) => self.open_key(id),
            A::OpenKeyByName(name) => self.open_key_by_name(&name, fx),
            A::FlushTag(tag) => self.ask_flush_tag(tag),
            A::OpenKeyBytes(key) => self.open_key_bytes(&key, fx),
            A::ToggleMark(id) => self.browser.toggle_mark(id),
            A::Unmark => self.browser.marked.clear(),
            A::LoadMore => self.load_more(),
            A::SaveValue(path) => self.save_value(path),
            A::SelectElement(i) => self.select_element(i),
            A::ApplyTtl => self.apply_ttl(fx),
            A::Persist => self.persist(fx),
            A::Rename => self.rename_open_key(false, fx),
            A::Copy => self.rename_open_key(true, fx),
            A::DeleteOpenKey => self.delete_open_key(fx),
            A::DeleteMarked => self.delete_marked(fx),
            A::Undo => self.undo(fx),
            A::OpenEditor => self.open_editor(),
            A::SaveEditor => self.save_editor(fx),
            A::CloseEditor => {
                if let Some(v) = &mut self.viewer {
                    v.editor = None;
                }
            }
            A::OpenDecodedEditor => self.open_decoded_editor(),
            A::SaveDecodedEditor => self.save_decoded_editor(fx),
            A::CloseDecodedEditor => {
                if let Some(v) = &mut self.viewer {
                    v.decoded_editor = None;
                }
            }
            A::ResolveConflict(choice) => self.resolve_conflict(choice, fx),
            A::SaveElement => self.save_element(fx),
            A::RemoveElement => self.remove_element(fx),
            A::AddElement(head) => self.add_element(head, fx),
            A::OpenCreate => self.open_create(),
            A::CreateKey => self.create_key(fx),
            A::CloseCreate => self.create = None,
            A::OpenBulkDelete => self.open_bulk_delete(),
            A::PreviewBulkDelete => self.preview_bulk_delete(),
            A::RunBulkDelete => self.run_bulk_delete(fx),
            A::CancelBulkDelete => self.interrupt(Pending::BulkDelete, CommandKind::CancelDelete),
            A::CloseBulkDelete => self.bulk = None,
            A::PurgeExpired => self.write(crate::core::model::WriteOp::PurgeExpired, fx),
            A::AskFlush(all) => self.ask_flush(all, fx),
            A::OpenServerInfo | A::RefreshServerInfo => self.open_server_info(),
            A::ServerTab(tab) => self.server_tab(tab),
            A::CloseServerInfo => self.server_info = None,
            A::AskResetSlowLog => self.ask_reset_slow_log(fx),
            A::AskKillClient(client) => self.ask_kill_client(&client, fx),
            A::OpenDashboard => {
                self.dashboard.open = true;
                self.sync_sampler();
            }
            A::CloseDashboard => self.close_dashboard(),
            A::ApplyMetricsInterval => self.apply_metrics_interval(),
            A::OpenAnalysis => self.open_analysis(),
            A::StartAnalysis => self.start_analysis(),
            A::CancelAnalysis => self.cancel_analysis(),
            A::CloseAnalysis => {
                self.cancel_analysis();
                self.analysis = None;
            }
            A::BrowseNamespace(label) => self.browse_namespace(&label),
            A::OpenCensus => self.open_census(),
            A::StartCensus => self.start_census(),
            A::CancelCensus => self.cancel_census(),
            A::CloseCensus => {
                self.cancel_census();
                self.census = None;
            }
            A::ToggleNamespace(id) => {
                if let Some(view) = &mut self.census {
                    view.toggle(id);
                }
            }
            A::SearchServerForFilter => self.search_server_for_filter(),
            A::FindInValue => self.find_in_value(),
            A::ClearFind => self.clear_find(),
            A::EditInline(row) => self.edit_inline(row),
            A::SaveInline => self.save_inline(fx),
            A::CancelInline => {
                if let Some(v) = &mut self.viewer {
                    v.inline = None;
                }
            }
            A::SortBy(key) => self.sort_by(key, fx),
            A::ToggleConsole => self.toggle_console(),
            A::SubmitConsole => self.submit_console(fx),
            A::CancelConsole => self.cancel_console(),
            A::ClearConsole => self.clear_console(),
            A::ConsoleRunOn(id, on) => self.run_on(id, on),
            a @ (A::OpenExport
            | A::OpenImport
            | A::CountMove
            | A::ExportTo(_)
            | A::ImportFileChosen(_)
            | A::StartMove
            | A::CancelMove
            | A::CloseMove) => self.move_action(a, fx),
            a @ (A::OpenPubSub
            | A::ClosePubSub
            | A::Subscribe
            | A::Unsubscribe
            | A::Publish
            | A::OpenMonitor
            | A::CloseMonitor
            | A::StartMonitor
            | A::StopMonitor
            | A::PauseStream { .. }
            | A::ClearStream { .. }
            | A::SaveStream { .. }) => self.stream_action(a, fx),
        }
    }

    /// Folds the answer to one of this connection's requests in; an answer to a request it
    /// no longer waits for is dropped.
    pub fn apply(&mut self, req: ReqId, kind: EventKind, fx: &mut Effects) {
        let Some(&pending) = self.pending.get(&req) else {
            return;
        };
        // Streams keep their request until their last event; everything else has one answer.
        let last = match &kind {
            EventKind::ScanBatch { state, .. } => *state != crate::service::ScanState::Running,
            EventKind::ScanStarted { .. }
            | EventKind::DeleteProgress(_)
            | EventKind::AnalysisProgress { .. }
            | EventKind::CensusProgress { .. }
            | EventKind::Metrics { .. }
            | EventKind::StreamBatch { .. }
            | EventKind::TransferProgress(_)
            | EventKind::MetricsFailed(_) => false,
            _ => pending != Pending::Metrics,
        };
        if last {
            self.pending.remove(&req);
        }
        match (pending, kind) {
            (Pending::Exec, kind) => self.console_event(kind, fx),
            (Pending::CommandDocs, kind) => self.docs_event(kind),
            (Pending::ConsoleNodes, EventKind::Nodes(rows)) => self.console_nodes(rows),
            (Pending::ConsoleNodes, _) => {}
            (Pending::Subscribe, kind) => self.pubsub_event(kind),
            (Pending::MovePreview | Pending::Move, kind) => self.move_event(kind, fx),
            (Pending::Monitor, kind) => self.monitor_event(kind),
            (Pending::SaveStream, EventKind::Failed(e)) => {
                fx.notify(Level::Error, format!("not saved: {e}"));
            }
            (Pending::SaveStream, EventKind::Saved { path, .. }) => {
                fx.notify(Level::Info, format!("saved to {}", path.display()));
            }
            (pending, EventKind::Failed(error)) => self.failed(pending, &error, fx),
            (
                Pending::Connect,
                EventKind::Connected {
                    description,
                    capabilities,
                },
            ) => {
                self.connected(description, capabilities);
                fx.connected();
            }
            (Pending::Databases, EventKind::Databases(dbs)) => self.databases = dbs,
            (Pending::Scan, kind) => self.scan_event(kind),
            (Pending::Meta | Pending::SortMeta, EventKind::Meta { keys, meta }) => {
                self.meta_arrived(&keys, meta);
            }
            (Pending::Sort, EventKind::KeysSorted(sorted)) => self.sorted(sorted),
            (Pending::OpenKey | Pending::Page | Pending::SaveValue, kind) => {
                self.viewer_event(kind);
            }
            (Pending::Write | Pending::Preview | Pending::BulkDelete, kind) => {
                self.write_event(kind, fx);
            }
            (Pending::ServerInfo | Pending::SlowLog | Pending::Clients | Pending::Nodes, kind) => {
                self.server_event(kind);
            }
            (Pending::Analysis, kind) => self.analysis_event(kind),
            (Pending::Census, kind) => self.census_event(kind),
            (Pending::Metrics, kind) => self.metrics_event(kind),
            (Pending::Tags | Pending::TagKeys, kind) => self.tags_event(kind, fx),
            _ => {}
        }
    }

    fn connected(&mut self, description: String, capabilities: Capabilities) {
        self.status = SessionStatus::Connected;
        self.description = description;
        self.capabilities = Some(capabilities);
        // A reconnect (another database) replaced the connection and its sampler.
        self.dashboard.sampling = false;
        self.forget(Pending::Metrics);
        // A reconnect (another database) closed the streams too: they start again.
        if self.pubsub.as_ref().is_some_and(|v| v.listening.is_some()) {
            self.subscribe();
        }
        if self.monitor.as_ref().is_some_and(|v| v.running) {
            self.start_monitor();
        }
        self.refresh_databases();
        self.search();
    }

    /// Puts a failure where the user will look for it.
    fn failed(&mut self, pending: Pending, error: &BackendError, fx: &mut Effects) {
        let text = error.to_string();
        match pending {
            Pending::Connect => {
                if matches!(error, BackendError::Auth { .. }) {
                    fx.forget_password();
                }
                if let BackendError::Ssh(ssh) = error {
                    fx.ssh_failed(self.conn, ssh);
                }
                self.status = SessionStatus::Failed(text);
            }
            Pending::Scan => self.browser.scan.phase = super::ScanPhase::Failed(text),
            Pending::Meta | Pending::SortMeta => self.meta_failed(text, fx),
            Pending::Sort => self.browser.order.failed(),
            Pending::OpenKey | Pending::Page | Pending::SaveValue => {
                self.viewer_failed(pending, text);
            }
            Pending::Write | Pending::Preview | Pending::BulkDelete => {
                self.write_failed(pending, text, fx);
            }
            Pending::ServerInfo | Pending::SlowLog | Pending::Clients | Pending::Nodes => {
                self.server_failed(pending, text);
            }
            Pending::Analysis => self.analysis_failed(text),
            Pending::Census => self.census_failed(text),
            Pending::Metrics => self.dashboard.error = Some(text),
            Pending::Tags | Pending::TagKeys => {
                fx.notify(Level::Warning, format!("Laravel tags: {text}"));
            }
            Pending::Databases => fx.notify(Level::Error, text),
            // Their answers, failures included, go to the console (see `apply`).
            Pending::Exec
            | Pending::CommandDocs
            | Pending::ConsoleNodes
            | Pending::Subscribe
            | Pending::Monitor
            | Pending::SaveStream
            | Pending::MovePreview
            | Pending::Move => {}
        }
    }

    /// An action on this connection as the app handles it (for the UI's queue).
    #[must_use]
    pub fn action(&self, action: SessionAction) -> Action {
        Action::Session(self.conn, action)
    }
}
