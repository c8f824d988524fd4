//! Everything the UI shows, as plain Rust with no egui in it, so it can be unit-tested.
//!
//! The UI pushes [`Action`]s; [`AppState::handle`] carries them out. Each open connection is a
//! [`Session`] that owns its requests: it queues commands for the service in its own outbox and
//! keeps, per request id, what the answer is for. [`AppState::apply`] hands each event to the
//! session it names, which looks its request up once; an answer nobody waits for any more (a
//! closed tab, a superseded search) is dropped there. A session reaches the app around it only
//! through [`Effects`]: a notice, a question, a password to forget.

#![warn(clippy::disallowed_methods, clippy::disallowed_types)]

mod action;
mod analysis;
mod audit;
mod browser;
mod bulk;
pub mod census;
mod confirm;
mod console;
mod dashboard;
pub mod fleet;
mod form;
mod keymove;
mod order;
pub mod palette;
mod profile_list;
mod secrets;
mod server;
mod session;
mod streams;
mod tags;
mod transfer;
mod viewer;
mod window;
mod writes;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

pub use action::{Action, SessionAction};
pub use analysis::{AnalysisView, DEFAULT_SAMPLE, TOP_KEYS, namespace_pattern};
pub use audit::{AUDIT_SHOWN, AuditFilterInputs, AuditView};
pub use browser::{
    Browser, BrowserView, DEFAULT_BATCH_LIMIT, META_RETRY, MetaSlot, ScanPhase, ScanStatus,
};
pub use bulk::{BulkDelete, BulkPhase, CreateForm, PREVIEW_SAMPLE};
pub use confirm::{Confirm, FlushConfirm};
pub use console::{Console, DocsState, Entry as ConsoleEntry, Outcome as ConsoleOutcome};
pub use dashboard::{Compare, DEFAULT_INTERVAL_SECS, Dashboard, INTERVAL_RANGE};
pub use form::{
    Discovery, Field, FormKind, PasswordMode, Problems, ProfileForm, SentinelAuthMode, SshAuthMode,
    TestStatus,
};
pub use keymove::{Destination, KeyMove, MoveKind, MovePhase};
pub use order::{Base, FlatOrder, MAX_FACT_SORT, Sort, SortKey};
pub use profile_list::{ListEntry, listing as profile_listing};
pub use secrets::{AfterVault, VaultPrompt};
pub use server::{SLOW_LOG_COUNT, ServerInfoView, ServerTab};
pub use session::{Pending, Session, SessionStatus};
pub use streams::{MAX_ROWS, MonitorView, PubSubView, Rows, Weigh};
pub use transfer::{ExportDialog, ImportPreview};
pub use viewer::{
    DecodedEditor, EditInputs, Found, InlineEdit, RenderKey, VALUE_PAGE_SIZE, ValueMode, Viewer,
    ViewerState,
};
pub use writes::{ConflictChoice, EDIT_MODES, UNDO_LIMIT, UndoEntry, UndoKind};

use crate::backend::BackendError;
use crate::config::audit::AuditLog;
use crate::config::connection::{PasswordSource, Secret};
use crate::config::profiles::{Profile, ProfileStore};
use crate::service::{AppCommand, AppEvent, Command, ConnId, Event, Ids, ReqId};

/// How serious a notice is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// For information.
    Info,
    /// Something the user should know about.
    Warning,
    /// Something failed.
    Error,
}

/// A message shown as a toast: information goes by itself after [`INFO_NOTICE_SECS`], a
/// warning or an error stays until dismissed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Severity.
    pub level: Level,
    /// What to say.
    pub text: String,
    /// When it was shown.
    pub shown_at: std::time::Instant,
}

/// How long an information notice stays.
pub const INFO_NOTICE_SECS: u64 = 10;

/// The password dialog shown when a profile asks for its password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPrompt {
    /// The profile being connected.
    pub profile: String,
    /// What the user typed so far.
    pub text: String,
    /// Keep what is typed in this store (`None`: for this session only).
    pub remember: Option<crate::config::secrets::StoreKind>,
    /// Why the password is asked for (a store that could not give it, a refused one).
    pub note: Option<String>,
    /// The field was given keyboard focus (once, as the dialog opened).
    pub focused: bool,
    /// What the secret is called for this connection ("Password", "API key").
    pub what: &'static str,
}

/// Something a window loads in the background: nothing yet, loading, or the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loadable<T> {
    /// A load was asked for at least once.
    requested: bool,
    /// The answer, or why it failed; `None` while loading or before the first load.
    pub result: Option<Result<T, String>>,
}

impl<T> Default for Loadable<T> {
    fn default() -> Self {
        Self {
            requested: false,
            result: None,
        }
    }
}

impl<T> Loadable<T> {
    /// Whether a load is running.
    #[must_use]
    pub fn loading(&self) -> bool {
        self.requested && self.result.is_none()
    }

    /// Whether it was ever asked for.
    #[must_use]
    pub fn requested(&self) -> bool {
        self.requested
    }

    /// A load starts: the old answer goes.
    fn start(&mut self) {
        self.requested = true;
        self.result = None;
    }

    /// The answer arrived.
    fn answer(&mut self, result: Result<T, String>) {
        self.result = Some(result);
    }
}

/// What a connection's state asks of the app around it while it handles an action or event.
#[derive(Debug, Default)]
pub struct Effects {
    notices: Vec<(Level, String)>,
    confirm: Option<Confirm>,
    forget_password: bool,
    ssh_failure: Option<(ConnId, crate::backend::ssh::SshError)>,
    connected: bool,
    commands: Vec<String>,
}

impl Effects {
    /// Tell the user something.
    pub fn notify(&mut self, level: Level, text: impl Into<String>) {
        self.notices.push((level, text.into()));
    }

    /// Ask the user a question before something is done (it names its connection).
    pub fn ask(&mut self, confirm: Confirm) {
        self.confirm = Some(confirm);
    }

    /// A console command to keep in the profile's history (redacted already).
    pub fn remember_command(&mut self, line: String) {
        self.commands.push(line);
    }

    /// The server refused the password: it must be asked for again, not retried.
    pub fn forget_password(&mut self) {
        self.forget_password = true;
    }

    /// The connection opened: its profile moves to the top of the list (last used first).
    pub fn connected(&mut self) {
        self.connected = true;
    }

    /// The SSH tunnel of `conn` did not open: the user may be asked (a host key to trust, a
    /// passphrase), or a secret that failed forgotten.
    pub fn ssh_failed(&mut self, conn: ConnId, error: &crate::backend::ssh::SshError) {
        self.ssh_failure = Some((conn, error.clone()));
    }
}

/// What "Test connection" or a connection retries with once the SSH question is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SshRetry {
    /// Connect this (failed) connection again.
    Connect(ConnId),
    /// Run the form's connection test again.
    Test,
}

/// The SSH question: trust a new host key, or give a key passphrase or a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshPrompt {
    /// The profile (or the form's name) the tunnel belongs to.
    pub profile: String,
    /// What is retried after the answer.
    pub retry: SshRetry,
    /// What the tunnel needs.
    pub question: crate::backend::ssh::SshError,
    /// The passphrase or password typed so far.
    pub text: String,
    /// Keep the passphrase or password in this store (`None`: this session only).
    pub remember: Option<crate::config::secrets::StoreKind>,
    /// The field was given keyboard focus (once, as the dialog opened).
    pub focused: bool,
}

/// App-level requests awaiting their answer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum AppPending {
    Test,
    Discover,
    SaveProfiles,
    ReadEnv,
    ReadAudit,
    ExportAudit,
    ResetDemo,
    WriteCsv,
    SaveUi,
    Secret(secrets::SecretWait),
    ExportProfiles,
    ReadImport,
    UnsealImport,
}

/// The whole application state.
#[derive(Debug)]
pub struct AppState {
    /// Saved profiles.
    pub profiles: ProfileStore,
    /// Messages for the user.
    pub notices: Vec<Notice>,
    /// The profile form, when open.
    pub form: Option<ProfileForm>,
    /// Open connections.
    pub sessions: Vec<Session>,
    /// Index of the shown session.
    pub active: usize,
    /// Profile highlighted in the list.
    pub selected_profile: Option<String>,
    /// Password dialog, when open.
    pub password_prompt: Option<PasswordPrompt>,
    /// Profile name waiting for delete confirmation.
    pub confirm_delete: Option<String>,
    /// Keys listed before a new session's listings pause.
    pub batch_limit: u64,
    /// A question waiting for the user's answer; it names the connection it acts on.
    pub confirm: Option<Confirm>,
    /// Where writes are recorded (the app's data directory unless a test says otherwise).
    pub audit: Option<AuditLog>,
    /// The audit log window's newest entries, while it is open.
    pub audit_view: Option<AuditView>,
    /// The chart comparing connections, when open.
    pub compare: Option<Compare>,
    session_passwords: HashMap<String, Secret>,
    /// SSH passphrases, passwords and trusted host keys given this session, by profile.
    ssh_secrets: HashMap<String, crate::backend::ssh::SshSecrets>,
    /// The SSH question on screen.
    pub ssh_prompt: Option<SshPrompt>,
    /// Where remembered passwords are kept (the OS keyring, the vault beside the profiles).
    pub secret_places: crate::config::secrets::SecretPlaces,
    /// The vault passphrase dialog, when open.
    pub vault_prompt: Option<VaultPrompt>,
    /// What the profile list's search box holds.
    pub profile_search: String,
    /// The export dialog, when open.
    pub export_dialog: Option<ExportDialog>,
    /// The import preview, when open.
    pub import_preview: Option<ImportPreview>,
    /// The command palette, when open.
    pub palette: Option<palette::Palette>,
    /// The fleet view: every profile's figures.
    pub fleet: fleet::Fleet,
    /// A profile connected from the fleet view: its dashboard opens with its tab.
    dashboard_on_connect: Option<String>,
    /// The vault was unlocked this session.
    vault_unlocked: bool,
    /// Remembered secrets a server refused: asked for again instead of read.
    stale_secrets: HashSet<crate::config::secrets::SecretName>,
    /// Pane shares, theme and tabs as they stand (saved with [`Self::save_ui_if_changed`]).
    pub ui: crate::config::uistate::UiState,
    /// Whether window settings are saved (once they were restored from the file).
    keep_ui: bool,
    ui_saved: Option<crate::config::uistate::UiState>,
    ui_saved_at: Option<std::time::Instant>,
    ids: Ids,
    outbox: Vec<Command>,
    pending: HashMap<ReqId, AppPending>,
}

impl AppState {
    /// A state over loaded profiles; `warning` (a damaged profiles file) becomes a notice.
    #[must_use]
    pub fn new(profiles: ProfileStore, warning: Option<String>) -> Self {
        let notices = warning
            .map(|text| Notice {
                level: Level::Warning,
                text,
                shown_at: std::time::Instant::now(),
            })
            .into_iter()
            .collect();
        // The vault lives beside the profiles file.
        let secret_places = crate::config::secrets::SecretPlaces {
            keyring: crate::config::secrets::Keyring::session(),
            vault_dir: profiles
                .path()
                .parent()
                .map_or_else(PathBuf::new, std::path::Path::to_path_buf),
        };
        Self {
            profiles,
            notices,
            form: None,
            sessions: Vec::new(),
            active: 0,
            selected_profile: None,
            password_prompt: None,
            confirm_delete: None,
            batch_limit: DEFAULT_BATCH_LIMIT,
            confirm: None,
            audit: AuditLog::default_log(),
            audit_view: None,
            compare: None,
            session_passwords: HashMap::new(),
            ssh_secrets: HashMap::new(),
            ssh_prompt: None,
            secret_places,
            vault_prompt: None,
            profile_search: String::new(),
            export_dialog: None,
            import_preview: None,
            palette: None,
            fleet: fleet::Fleet::default(),
            dashboard_on_connect: None,
            vault_unlocked: false,
            stale_secrets: HashSet::new(),
            ui: crate::config::uistate::UiState::default(),
            keep_ui: false,
            ui_saved: None,
            ui_saved_at: None,
            ids: Ids::default(),
            outbox: Vec::new(),
            pending: HashMap::new(),
        }
    }

    /// Commands queued since the last call (the app's own and every session's), for the app
    /// to hand to the service.
    pub fn take_outbox(&mut self) -> Vec<Command> {
        let mut out = std::mem::take(&mut self.outbox);
        for s in &mut self.sessions {
            out.extend(s.take_outbox());
        }
        out
    }

    fn send_app(&mut self, pending: AppPending, kind: AppCommand) -> ReqId {
        let req = self.ids.req();
        self.pending.insert(req, pending);
        self.outbox.push(Command::App { req, kind });
        req
    }

    /// Shows a notice (once: the same text is not shown twice).
    pub fn notify(&mut self, level: Level, text: impl Into<String>) {
        let text = text.into();
        if !self.notices.iter().any(|n| n.text == text) {
            self.notices.push(Notice {
                level,
                text,
                shown_at: std::time::Instant::now(),
            });
        }
    }

    /// The shown session.
    #[must_use]
    pub fn active_session(&self) -> Option<&Session> {
        self.sessions.get(self.active)
    }

    /// The shown session, mutably.
    pub fn active_session_mut(&mut self) -> Option<&mut Session> {
        self.sessions.get_mut(self.active)
    }

    /// The connection of the shown session.
    #[must_use]
    pub fn active_conn(&self) -> Option<ConnId> {
        self.active_session().map(|s| s.conn)
    }

    /// The session of connection `conn`, if it is still open.
    #[must_use]
    pub fn session(&self, conn: ConnId) -> Option<&Session> {
        self.sessions.iter().find(|s| s.conn == conn)
    }

    /// Runs `f` on the session of `conn` (nothing when it was closed), then carries out the
    /// effects it asked for.
    pub fn with_session<T>(
        &mut self,
        conn: ConnId,
        f: impl FnOnce(&mut Session, &mut Effects) -> T,
    ) -> Option<T> {
        let s = self.sessions.iter_mut().find(|s| s.conn == conn)?;
        let mut fx = Effects::default();
        let out = f(s, &mut fx);
        let profile = s.profile.name.clone();
        self.effects(fx, &profile);
        Some(out)
    }

    fn effects(&mut self, fx: Effects, profile: &str) {
        for (level, text) in fx.notices {
            self.notify(level, text);
        }
        if let Some(confirm) = fx.confirm {
            self.confirm = Some(confirm);
        }
        if fx.forget_password {
            self.session_passwords.remove(profile);
            self.remembered_password_refused(profile);
        }
        if let Some((conn, error)) = fx.ssh_failure {
            self.ssh_failed(profile, SshRetry::Connect(conn), error);
        }
        if fx.connected {
            self.mark_used(profile);
        }
        if !fx.commands.is_empty() {
            self.remember_commands(profile, fx.commands);
        }
    }

    /// The profile of `conn` keeps the prefix its keys were found to have, and the
    /// connection opens again without it in the names.
    fn use_key_prefix(&mut self, conn: ConnId) {
        let Some((name, prefix)) = self
            .session(conn)
            .and_then(|s| Some((s.profile.name.clone(), s.browser.prefix_hint.clone()?)))
        else {
            return;
        };
        let Some(mut profile) = self.profiles.get(&name).cloned() else {
            return;
        };
        if let crate::config::connection::ConnectionSpec::Redis(spec) = &mut profile.connection {
            spec.key_prefix = Some(prefix);
        }
        if let Err(e) = self.profiles.update(&name, profile) {
            self.notify(Level::Error, e.to_string());
            return;
        }
        self.save_profiles();
        self.reconnect(conn);
    }

    /// Puts `profile` in `group` and saves.
    fn move_to_group(&mut self, profile: &str, group: Option<String>) {
        let Some(mut updated) = self.profiles.get(profile).cloned() else {
            return;
        };
        updated.group = group;
        match self.profiles.update(profile, updated) {
            Ok(()) => self.save_profiles(),
            Err(e) => self.notify(Level::Error, e.to_string()),
        }
    }

    /// Records that `profile` was just connected (saved with the profiles).
    fn mark_used(&mut self, profile: &str) {
        let Some(mut updated) = self.profiles.get(profile).cloned() else {
            return;
        };
        updated.last_used_ms = Some(crate::core::ttl::now_unix_ms());
        if self.profiles.update(profile, updated).is_ok() {
            self.save_profiles();
        }
    }

    /// An SSH tunnel did not open: a secret that failed is forgotten, and what the user can
    /// answer is asked.
    fn ssh_failed(&mut self, profile: &str, retry: SshRetry, error: crate::backend::ssh::SshError) {
        use crate::backend::ssh::SshError;
        let secrets = self.ssh_secrets.entry(profile.to_owned()).or_default();
        match &error {
            SshError::WrongPassphrase { .. } => secrets.passphrase = None,
            SshError::AuthFailed { .. } => secrets.password = None,
            _ => {}
        }
        if error.can_ask() {
            // A remembered one that failed is offered to be replaced in its store.
            let remember = self.profiles.get(profile).and_then(|p| {
                let slot = ssh_slot(&error)?;
                crate::config::secrets::stored_slots(p)
                    .into_iter()
                    .find_map(|(s, store)| (s == slot).then_some(store))
            });
            self.ssh_prompt = Some(SshPrompt {
                profile: profile.to_owned(),
                retry,
                question: error,
                text: String::new(),
                remember,
                focused: false,
            });
        }
    }

    /// The user answered the SSH question: remember the answer for this session and retry.
    fn submit_ssh(&mut self) {
        use crate::backend::ssh::SshError;
        let Some(prompt) = self.ssh_prompt.take() else {
            return;
        };
        let secrets = self.ssh_secrets.entry(prompt.profile.clone()).or_default();
        match &prompt.question {
            SshError::UnknownHostKey {
                host, fingerprint, ..
            } => secrets.trusted.push((host.clone(), fingerprint.clone())),
            SshError::PassphraseNeeded { .. } | SshError::WrongPassphrase { .. } => {
                secrets.passphrase = Some(Secret::new(prompt.text.clone()));
            }
            SshError::PasswordNeeded { .. } => {
                secrets.password = Some(Secret::new(prompt.text.clone()));
            }
            _ => return,
        }
        if let (Some(store), Some(slot)) = (prompt.remember, ssh_slot(&prompt.question))
            && self.profiles.get(&prompt.profile).is_some()
        {
            let name = crate::config::secrets::SecretName::new(prompt.profile.clone(), slot);
            self.stale_secrets.remove(&name);
            self.remember(name, store, Secret::new(prompt.text));
        }
        match prompt.retry {
            SshRetry::Connect(conn) => self.reconnect(conn),
            SshRetry::Test => self.test_form(),
        }
    }

    /// Carries out one thing the UI asked for.
    pub fn handle(&mut self, action: Action) {
        match action {
            Action::Session(conn, action) => {
                self.with_session(conn, |s, fx| s.handle(action, fx));
            }
            Action::NewProfile => self.form = Some(ProfileForm::default()),
            Action::EditProfile(name) => {
                if let Some(p) = self.profiles.get(&name) {
                    self.form = Some(ProfileForm::from_profile(p));
                }
            }
            Action::SaveForm => self.save_form(false),
            Action::SaveFormAndConnect => self.save_form(true),
            Action::TestForm => self.test_form(),
            Action::DiscoverServices => self.discover_services(),
            Action::AddDiscovered { index, direct } => self.add_discovered(index, direct),
            Action::CloseForm => self.form = None,
            Action::SetCaFile(path) => {
                if let Some(form) = &mut self.form {
                    form.ca_file = path.display().to_string();
                }
            }
            Action::DuplicateProfile(name) => match self.profiles.duplicate(&name) {
                Ok(copy) => {
                    self.selected_profile = Some(copy);
                    self.save_profiles();
                }
                Err(e) => self.notify(Level::Error, e.to_string()),
            },
            Action::AskDeleteProfile(name) => self.confirm_delete = Some(name),
            Action::DeleteProfile(name) => self.delete_profile(&name),
            Action::KeepProfile => self.confirm_delete = None,
            Action::Connect(name) => {
                self.form = None;
                self.fleet.open = false;
                self.connect_profile(&name);
            }
            Action::SubmitPassword => self.submit_password(),
            Action::CancelPassword => self.password_prompt = None,
            Action::MoveToGroup { profile, group } => self.move_to_group(&profile, group),
            Action::UseKeyPrefix(conn) => self.use_key_prefix(conn),
            Action::OpenExport => self.open_export(),
            Action::ExportProfiles(path) => self.export_profiles(path),
            Action::CancelExport => self.export_dialog = None,
            Action::ImportProfiles(path) => self.read_import(path),
            Action::OpenImportSecrets => self.open_import_secrets(),
            Action::ConfirmImport => self.confirm_import(),
            Action::CancelImport => self.import_preview = None,
            Action::SubmitVault => self.submit_vault(),
            Action::CancelVault => self.cancel_vault(),
            Action::SubmitSsh => self.submit_ssh(),
            Action::CancelSsh => self.ssh_prompt = None,
            Action::Activate(conn) => {
                if let Some(i) = self.sessions.iter().position(|s| s.conn == conn) {
                    self.active = i;
                    self.fleet.open = false;
                }
            }
            Action::Close(conn) => self.close_session(conn),
            Action::TogglePalette => self.toggle_palette(),
            Action::OpenCopy(conn) => self.open_copy(conn),
            Action::RunEntry(entry) => self.run_entry(&entry),
            Action::RunCommand(command) => self.run_command(command),
            Action::MoveTab { from, to } => self.move_tab(from, to),
            Action::Reconnect(conn) => self.reconnect(conn),
            Action::ConfirmYes => self.confirm_yes(),
            Action::ConfirmNo => self.confirm_no(),
            Action::DismissNotice(i) => {
                if i < self.notices.len() {
                    self.notices.remove(i);
                }
            }
            fleet @ (Action::ToggleFleet
            | Action::CloseFleet
            | Action::SortFleet(_)
            | Action::FilterFleet(_)
            | Action::ApplyFleetInterval
            | Action::FleetViewChanged
            | Action::OpenFromFleet(_)) => self.handle_fleet(fleet),
            Action::OpenAudit | Action::FilterAudit => self.read_audit(),
            Action::CloseAudit => self.audit_view = None,
            Action::ExportAudit(path) => self.export_audit(path),
            Action::SetTheme(choice) => self.ui.theme = choice,
            Action::ImportEnv(path) => {
                self.send_app(AppPending::ReadEnv, AppCommand::ReadEnv { path });
            }
            Action::ResetDemo => match crate::config::audit::data_dir() {
                Some(dir) => {
                    let path = crate::config::demo::demo_path(&dir);
                    self.send_app(AppPending::ResetDemo, AppCommand::ResetDemo { path });
                }
                None => self.notify(
                    Level::Error,
                    "no data directory is known for the demo database",
                ),
            },
            Action::ExportCsv { conn, path } => self.export_csv(conn, path),
        }
    }

    /// Folds a service event into the state. Late or superseded answers are dropped.
    pub fn apply(&mut self, event: Event) {
        match event {
            Event::Conn { conn, req, kind } => {
                // A closed connection's late answers find no session and are dropped.
                self.with_session(conn, |s, fx| s.apply(req, kind, fx));
            }
            Event::App { req, kind } => self.apply_app(req, kind),
            Event::Fleet { req, kind } => self.apply_fleet(req, kind),
        }
    }

    fn apply_app(&mut self, req: ReqId, kind: AppEvent) {
        let Some(pending) = self.pending.remove(&req) else {
            return;
        };
        match (pending, kind) {
            (AppPending::Test, AppEvent::Tested(result)) => {
                if let Some(form) = &mut self.form
                    && form.test == TestStatus::Running(req)
                {
                    form.test = match &result {
                        Ok(description) => TestStatus::Ok(description.clone()),
                        Err(e) => TestStatus::Failed(e.to_string()),
                    };
                    let name = form.name.trim().to_owned();
                    if let Err(BackendError::Ssh(e)) = result {
                        self.ssh_failed(&name, SshRetry::Test, e);
                    }
                }
            }
            (AppPending::Discover, AppEvent::Discovered(result)) => {
                if let Some(form) = &mut self.form
                    && form.discovery == Discovery::Running(req)
                {
                    form.discovery = match result {
                        Ok(found) => Discovery::Found(found),
                        Err(e) => Discovery::Failed(e.to_string()),
                    };
                }
            }
            (AppPending::SaveProfiles, AppEvent::ProfilesSaved(Err(e))) => {
                self.notify(Level::Error, e);
            }
            (AppPending::ReadEnv, AppEvent::EnvRead(result)) => match result {
                Ok(imported) => self.import_profiles(imported),
                Err(e) => self.notify(Level::Error, format!("import: {e}")),
            },
            (AppPending::ReadAudit, AppEvent::Audit(result)) => self.audit_read(req, result),
            (AppPending::ExportAudit, AppEvent::AuditExported(result)) => match result {
                Ok((path, written, matching)) => {
                    let text = if written < matching {
                        format!(
                            "exported the newest {written} of {matching} matching audit entries \
                             to {}",
                            path.display()
                        )
                    } else {
                        let noun = if written == 1 { "entry" } else { "entries" };
                        format!("exported {written} audit {noun} to {}", path.display())
                    };
                    self.notify(Level::Info, text);
                }
                Err(e) => self.notify(Level::Error, e),
            },
            (AppPending::ResetDemo, AppEvent::DemoReset(result)) => match result {
                Ok(()) => {
                    self.notify(Level::Info, "the demo data was reset");
                    let demo = self
                        .sessions
                        .iter()
                        .find(|s| s.profile.name == crate::config::demo::DEMO_PROFILE)
                        .map(|s| s.conn);
                    if let Some(conn) = demo {
                        self.handle(Action::Session(conn, SessionAction::Search));
                    }
                }
                Err(e) => self.notify(Level::Error, e),
            },
            (AppPending::SaveUi, AppEvent::UiSaved(Err(e))) => self.notify(Level::Warning, e),
            (AppPending::Secret(wait), AppEvent::Secret(answer)) => {
                self.secret_answer(wait, answer);
            }
            (AppPending::ExportProfiles, AppEvent::ProfilesExported(result)) => match result {
                Ok((profiles, secrets, notes)) => {
                    let sealed = if secrets > 0 {
                        format!(", {secrets} password(s) sealed")
                    } else {
                        String::new()
                    };
                    let text = format!("exported {profiles} profile(s){sealed}");
                    self.notify(Level::Info, text);
                    for note in notes {
                        self.notify(Level::Warning, note);
                    }
                }
                Err(e) => self.notify(Level::Error, format!("export: {e}")),
            },
            (AppPending::ReadImport, AppEvent::ImportRead(path, result)) => {
                self.import_read(path, result);
            }
            (AppPending::UnsealImport, AppEvent::ImportUnsealed(result)) => {
                self.import_unsealed(result);
            }
            (AppPending::WriteCsv, AppEvent::CsvWritten(result)) => match result {
                Ok(path) => {
                    self.notify(Level::Info, format!("metrics saved to {}", path.display()));
                }
                Err(e) => self.notify(Level::Error, e),
            },
            _ => {}
        }
    }

    /// Lets information notices older than [`INFO_NOTICE_SECS`] go (call once a frame).
    pub fn expire_notices(&mut self) {
        let limit = std::time::Duration::from_secs(INFO_NOTICE_SECS);
        self.notices
            .retain(|n| n.level != Level::Info || n.shown_at.elapsed() < limit);
    }

    /// Whether a write of the profiles file is still under way.
    #[must_use]
    pub fn saving_profiles(&self) -> bool {
        self.pending
            .values()
            .any(|p| *p == AppPending::SaveProfiles)
    }

    /// Every sampler runs exactly while a dashboard shows its figures (call once a frame).
    pub fn sync_samplers(&mut self) {
        for s in &mut self.sessions {
            s.sync_sampler();
        }
    }

    /// Writes the profiles file through the service (never on the UI thread).
    fn save_profiles(&mut self) {
        match self.profiles.save_job() {
            Ok(job) => {
                self.send_app(AppPending::SaveProfiles, AppCommand::SaveProfiles(job));
            }
            Err(e) => self.notify(Level::Error, e.to_string()),
        }
    }

    fn export_csv(&mut self, conn: ConnId, path: PathBuf) {
        let Some(points) = self.session(conn).map(|s| s.dashboard.visible_points()) else {
            return;
        };
        self.send_app(AppPending::WriteCsv, AppCommand::WriteCsv { path, points });
    }

    /// Adds the profiles a `.env` file configured; passwords stay in memory for this session.
    fn import_profiles(&mut self, imported: Vec<crate::config::envimport::Imported>) {
        let mut names = Vec::new();
        for mut item in imported {
            let base = item.profile.name.clone();
            let mut n = 2;
            while self.profiles.get(&item.profile.name).is_some() {
                item.profile.name = format!("{base} {n}");
                n += 1;
            }
            let name = item.profile.name.clone();
            if let Err(e) = self.profiles.add(item.profile) {
                self.notify(Level::Error, format!("import: {e}"));
                break;
            }
            if let Some(pw) = item.password {
                self.session_passwords.insert(name.clone(), pw);
            }
            names.push(name);
        }
        if names.is_empty() {
            return;
        }
        self.save_profiles();
        self.selected_profile = names.first().cloned();
        self.notify(Level::Info, format!("imported {}", names.join(", ")));
    }

    /// Saves the form (add or update). On success the form closes.
    fn save_form(&mut self, connect: bool) {
        let Some(form) = &mut self.form else { return };
        form.attempted = true;
        let profiles = &self.profiles;
        if !form.problems(&|n| profiles.get(n).is_some()).is_empty() {
            // Each problem shows beside its field; nothing is saved.
            return;
        }
        let mut profile = match form.to_profile() {
            Ok(p) => p,
            Err(e) => {
                form.error = Some(e);
                return;
            }
        };
        let password = form.typed_password();
        let remember = form.password_mode.store();
        let renamed = form.original_name.clone();
        let before = renamed
            .as_deref()
            .and_then(|old| self.profiles.get(old))
            .cloned();
        // What the form does not show stays as it was.
        profile.last_used_ms = before.as_ref().and_then(|b| b.last_used_ms);
        let result = match &form.original_name {
            Some(old) => self.profiles.update(old, profile.clone()),
            None => self.profiles.add(profile.clone()),
        };
        match result {
            Ok(()) => {
                if let (Some(old), Some(before)) = (renamed, before) {
                    self.rename_secrets(&old, &profile.name, &before);
                }
                if let Some(pw) = password {
                    self.session_passwords
                        .insert(profile.name.clone(), pw.clone());
                    if let Some(store) = remember {
                        let name = crate::config::secrets::SecretName::new(
                            profile.name.clone(),
                            crate::config::secrets::Slot::Password,
                        );
                        self.stale_secrets.remove(&name);
                        self.remember(name, store, pw);
                    }
                }
                self.selected_profile = Some(profile.name.clone());
                self.form = None;
                self.save_profiles();
                if connect {
                    self.connect_profile(&profile.name);
                }
            }
            Err(e) => {
                if let Some(form) = &mut self.form {
                    form.error = Some(e.to_string());
                }
            }
        }
    }

    /// Lists the cache services of the DreamFactory instance the form names.
    fn discover_services(&mut self) {
        let Some(form) = &mut self.form else { return };
        let Ok(spec) = form.dreamfactory_spec() else {
            form.discovery = Discovery::Failed("give the instance's URL first".to_owned());
            return;
        };
        // The key typed in the form, else from its variable (a remembered one is not read here).
        let api_key = crate::config::connection::ConnectionSpec::DreamFactory(spec.clone())
            .resolve_password(form.typed_password().as_ref())
            .ok()
            .flatten();
        let token = form.df_token.trim();
        let session_token = (!token.is_empty()).then(|| Secret::new(token));
        let req = self.send_app(
            AppPending::Discover,
            AppCommand::Discover {
                spec,
                api_key,
                session_token,
            },
        );
        if let Some(form) = &mut self.form {
            form.discovery = Discovery::Running(req);
        }
    }

    /// Saves a profile for a discovered service: through the API (its key as the form's),
    /// or straight to its server.
    fn add_discovered(&mut self, index: usize, direct: bool) {
        let Some(form) = &self.form else { return };
        let Discovery::Found(found) = &form.discovery else {
            return;
        };
        let Some(service) = found.get(index) else {
            return;
        };
        let (name, connection) = if direct {
            let Some(direct) = service.direct.clone() else {
                return;
            };
            (format!("{} (direct)", service.name), direct)
        } else {
            let mut api = service.api.clone();
            // The key is the form's: read from its variable, none, or asked for (a key typed or
            // remembered under the form's name is not this profile's).
            api.api_key = match form.password_source() {
                Ok(PasswordSource::Env(var)) => PasswordSource::Env(var),
                Ok(PasswordSource::None) => PasswordSource::None,
                _ => PasswordSource::Prompt,
            };
            // The admin's token was for the listing only.
            api.session_token_env = None;
            (
                service.name.clone(),
                crate::config::connection::ConnectionSpec::DreamFactory(api),
            )
        };
        let group = crate::config::profiles::group_name(&form.group)
            .ok()
            .flatten();
        let mut profile = Profile::new(name.clone(), connection);
        profile.group = group;
        match self.profiles.add(profile) {
            Ok(()) => {
                self.save_profiles();
                self.notify(Level::Info, format!("profile `{name}` added"));
            }
            Err(e) => self.notify(Level::Error, e.to_string()),
        }
    }

    /// Starts "Test connection" for the form's settings.
    fn test_form(&mut self) {
        let Some(form) = &mut self.form else { return };
        form.attempted = true;
        // An input mistake is shown beside its field: it is no failed connection.
        let Ok(profile) = form.to_profile() else {
            form.test = TestStatus::Idle;
            return;
        };
        let password = match profile
            .connection
            .resolve_password(form.typed_password().as_ref())
        {
            Ok(p) => p,
            Err(e) => {
                form.test = TestStatus::Failed(e.to_string());
                return;
            }
        };
        let ssh = profile.ssh.clone().map(|spec| {
            Box::new(crate::backend::ssh::SshTarget {
                secrets: self
                    .ssh_secrets
                    .get(profile.name.as_str())
                    .cloned()
                    .unwrap_or_default(),
                spec,
            })
        });
        let req = self.send_app(
            AppPending::Test,
            AppCommand::Test {
                spec: profile.connection,
                password,
                ssh,
            },
        );
        if let Some(form) = &mut self.form {
            form.test = TestStatus::Running(req);
            form.tested = form.to_profile().ok();
        }
    }

    /// Deletes a profile (after the UI confirmed).
    fn delete_profile(&mut self, name: &str) {
        let before = self.profiles.get(name).cloned();
        match self.profiles.remove(name) {
            Ok(()) => {
                self.save_profiles();
                if let Some(before) = before {
                    self.forget_secrets(name, &before);
                }
            }
            Err(e) => self.notify(Level::Error, e.to_string()),
        }
        self.session_passwords.remove(name);
        if self.selected_profile.as_deref() == Some(name) {
            self.selected_profile = None;
        }
        self.confirm_delete = None;
    }

    /// Connects a saved profile, asking for its password first when needed.
    pub fn connect_profile(&mut self, name: &str) {
        let Some(profile) = self.profiles.get(name).cloned() else {
            self.notify(Level::Error, format!("no profile named `{name}`"));
            return;
        };
        if self.load_stored(&profile) {
            return;
        }
        let entered = self.session_passwords.get(name).cloned();
        if profile.connection.password_source() == &PasswordSource::Prompt && entered.is_none() {
            self.ask_password(name, None, None);
            return;
        }
        let password = match profile.connection.resolve_password(entered.as_ref()) {
            Ok(p) => p,
            Err(e) => {
                self.notify(Level::Error, format!("{name}: {e}"));
                return;
            }
        };
        self.open_session(profile, password);
    }

    /// The user answered the password dialog.
    fn submit_password(&mut self) {
        let Some(prompt) = self.password_prompt.take() else {
            return;
        };
        let secret = Secret::new(prompt.text);
        self.session_passwords
            .insert(prompt.profile.clone(), secret.clone());
        let name = crate::config::secrets::SecretName::new(
            prompt.profile.clone(),
            crate::config::secrets::Slot::Password,
        );
        self.stale_secrets.remove(&name);
        if let Some(store) = prompt.remember {
            self.remember(name, store, secret);
        }
        self.connect_profile(&prompt.profile);
    }

    fn open_session(&mut self, profile: Profile, password: Option<Secret>) {
        let conn = self.ids.conn();
        let mut session = Session::new(conn, profile, self.batch_limit);
        if let Some(secrets) = self.ssh_secrets.get(&session.profile.name) {
            session.ssh_secrets = secrets.clone();
        }
        // The keys opened in earlier runs (kept only where the cache cannot list its keys).
        session
            .browser
            .restore_history(&self.saved_opened_keys(&session.profile.name));
        if let Some(lines) = self.ui.console_history.get(&session.profile.name) {
            session.console.restore_history(lines);
        }
        if self.dashboard_on_connect.as_deref() == Some(session.profile.name.as_str()) {
            self.dashboard_on_connect = None;
            session.dashboard.open = true;
        }
        session.connect(password, self.audit.clone());
        self.sessions.push(session);
        self.active = self.sessions.len() - 1;
    }

    /// Closes a session; its late events will be dropped.
    fn close_session(&mut self, conn: ConnId) {
        let Some(index) = self.sessions.iter().position(|s| s.conn == conn) else {
            return;
        };
        let mut session = self.sessions.remove(index);
        self.outbox.extend(session.disconnect());
        // A question about a closed connection has nothing left to act on.
        if self.confirm.as_ref().is_some_and(|c| c.conn() == conn) {
            self.confirm = None;
        }
        if self.active > index || self.active >= self.sessions.len() {
            self.active = self.active.saturating_sub(1);
        }
    }

    /// Opens the copy dialog of `conn`, offering the other open connections.
    fn open_copy(&mut self, conn: ConnId) {
        let destinations: Vec<Destination> = self
            .sessions
            .iter()
            .filter(|s| s.conn != conn && s.status == SessionStatus::Connected)
            .map(|s| Destination {
                conn: s.conn,
                label: format!("{} · db{}", s.profile.name, s.db),
                production: s.profile.production,
                read_only: s.profile.read_only,
            })
            .collect();
        self.with_session(conn, |s, _| s.open_move(MoveKind::Copy, destinations));
    }

    /// Moves the tab at `from` to `to` (a drag); the tab shown stays shown.
    fn move_tab(&mut self, from: usize, to: usize) {
        if from >= self.sessions.len() || from == to {
            return;
        }
        let shown = self.active_conn();
        let tab = self.sessions.remove(from);
        let to = to.min(self.sessions.len());
        self.sessions.insert(to, tab);
        if let Some(conn) = shown
            && let Some(i) = self.sessions.iter().position(|s| s.conn == conn)
        {
            self.active = i;
        }
    }

    /// Retries a connection with the same settings.
    fn reconnect(&mut self, conn: ConnId) {
        let Some(name) = self.session(conn).map(|s| s.profile.name.clone()) else {
            return;
        };
        self.close_session(conn);
        self.connect_profile(&name);
    }
}

#[cfg(test)]
mod tests;

/// The secret an SSH question asks for, if it asks for one.
fn ssh_slot(error: &crate::backend::ssh::SshError) -> Option<crate::config::secrets::Slot> {
    use crate::backend::ssh::SshError;
    use crate::config::secrets::Slot;
    match error {
        SshError::PassphraseNeeded { .. } | SshError::WrongPassphrase { .. } => {
            Some(Slot::SshPassphrase)
        }
        SshError::PasswordNeeded { .. } | SshError::AuthFailed { .. } => Some(Slot::SshPassword),
        _ => None,
    }
}
