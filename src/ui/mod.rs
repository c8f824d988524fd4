//! The desktop UI: draws [`AppState`] and turns clicks into [`Action`]s.
//!
//! Functions named `*_ui` only draw: they edit the plain fields they show in place and push
//! everything else to one [`Actions`] queue, which the app carries out after the frame. No
//! panel calls another, and nothing here touches a file or the network.

#![warn(clippy::disallowed_methods, clippy::disallowed_types)]

mod analysis;
mod audit;
mod browser;
mod census;
mod console;
mod dashboard;
mod dialogs;
mod edit;
mod fleet;
mod input;
mod keymove;
mod palette;
mod profiles;
mod server;
mod split;
mod streams;
pub mod theme;
mod transfer;
mod viewer;

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::config::profiles::ProfileStore;
use crate::config::uistate::ThemeChoice;
use crate::service::{Command, ConnId, ServiceHandle};
use crate::state::{Action, AppState, Level, SessionAction, SessionStatus};

/// How long one frame may spend applying service events.
const EVENT_BUDGET: Duration = Duration::from_millis(8);
/// How long one frame may spend on the filter-as-you-type job.
const FILTER_BUDGET: Duration = Duration::from_millis(3);

/// What a file dialog is opened for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum DialogPurpose {
    /// Where to save a connection's open value.
    SaveValue { conn: ConnId, name: String },
    /// A CA file for the profile form.
    CaFile,
    /// A `.env` file to import.
    EnvFile,
    /// Where to export a connection's dashboard as CSV.
    CsvExport { conn: ConnId, name: String },
    /// Where to export the audit entries the filter matches.
    AuditExport,
    /// Where to write the export dialog's profiles.
    ProfilesExport,
    /// A file of profiles to import (an export, another tool's, a list of URLs).
    ProfilesImport,
    /// Where to export a connection's keys.
    ExportKeys { conn: ConnId, name: String },
    /// An export file to import into a connection.
    ImportKeys { conn: ConnId },
    /// Where to save a Pub/Sub or MONITOR viewer's rows.
    StreamSave {
        conn: ConnId,
        monitor: bool,
        name: String,
    },
}

impl DialogPurpose {
    /// What the picked path means.
    fn action(self, path: PathBuf) -> Action {
        match self {
            Self::SaveValue { conn, .. } => Action::Session(conn, SessionAction::SaveValue(path)),
            Self::CaFile => Action::SetCaFile(path),
            Self::EnvFile => Action::ImportEnv(path),
            Self::CsvExport { conn, .. } => Action::ExportCsv { conn, path },
            Self::AuditExport => Action::ExportAudit(path),
            Self::ProfilesExport => Action::ExportProfiles(path),
            Self::ProfilesImport => Action::ImportProfiles(path),
            Self::ExportKeys { conn, .. } => Action::Session(conn, SessionAction::ExportTo(path)),
            Self::ImportKeys { conn } => {
                Action::Session(conn, SessionAction::ImportFileChosen(path))
            }
            Self::StreamSave { conn, monitor, .. } => {
                Action::Session(conn, SessionAction::SaveStream { monitor, path })
            }
        }
    }
}

/// What the panels ask for in one frame, in the order they asked.
#[derive(Debug, Default)]
pub struct Actions {
    queue: Vec<Queued>,
}

#[derive(Debug)]
enum Queued {
    State(Action),
    PickFile(DialogPurpose),
}

impl Actions {
    /// Asks the app for something.
    pub fn push(&mut self, action: Action) {
        self.queue.push(Queued::State(action));
    }

    /// Asks something of connection `conn`.
    pub fn session(&mut self, conn: ConnId, action: SessionAction) {
        self.push(Action::Session(conn, action));
    }

    fn pick_file(&mut self, purpose: DialogPurpose) {
        self.queue.push(Queued::PickFile(purpose));
    }

    /// The queue, for panels that act on one connection.
    pub fn of(&mut self, conn: ConnId) -> ConnActions<'_> {
        ConnActions {
            conn,
            actions: self,
        }
    }
}

/// The action queue, aimed at one connection.
pub struct ConnActions<'a> {
    conn: ConnId,
    actions: &'a mut Actions,
}

impl ConnActions<'_> {
    /// Asks something of the connection.
    pub fn ask(&mut self, action: SessionAction) {
        self.actions.session(self.conn, action);
    }

    /// Asks the app for something.
    pub fn push(&mut self, action: Action) {
        self.actions.push(action);
    }

    /// The connection acted on.
    #[must_use]
    pub fn conn(&self) -> ConnId {
        self.conn
    }

    fn pick_file(&mut self, purpose: DialogPurpose) {
        self.actions.pick_file(purpose);
    }
}

/// A native file dialog running on its own thread (it blocks until the user answers, and the
/// UI thread must never block).
struct PendingDialog {
    purpose: DialogPurpose,
    result: mpsc::Receiver<Option<PathBuf>>,
}

fn focus_at_start_id() -> egui::Id {
    egui::Id::unique("focus_at_frame_start")
}

/// The widget that had the keyboard when this frame began (a field that gives it up on Enter
/// has lost it by the time the widgets after it are drawn).
fn focus_at_frame_start(ctx: &egui::Context) -> Option<egui::Id> {
    ctx.data(|d| d.get_temp::<Option<egui::Id>>(focus_at_start_id()))
        .flatten()
}

/// Local date and time of a Unix-milliseconds value in a `chrono` format ("" when out of range).
fn local_time(unix_ms: i64, format: &str) -> String {
    chrono::DateTime::from_timestamp_millis(unix_ms)
        .map(|d| d.with_timezone(&chrono::Local).format(format).to_string())
        .unwrap_or_default()
}

/// The application: state, the I/O service, and an open file dialog.
pub struct App {
    /// Everything shown.
    pub state: AppState,
    service: ServiceHandle,
    dialog: Option<PendingDialog>,
    /// Woken by a file dialog's thread when it answers (no input comes to the window
    /// meanwhile, so nothing else would draw the frame that acts on the answer).
    repaint: Option<egui::Context>,
    pacer: input::InputPacer,
    launched_at: Instant,
    first_frame_logged: bool,
    fonts_installed: bool,
    theme_applied: Option<crate::config::uistate::ThemeChoice>,
}

impl App {
    /// Starts the service and wraps `state`. `repaint` is woken by every service event.
    ///
    /// # Errors
    /// The service thread could not be started.
    pub fn new(
        state: AppState,
        repaint: Option<egui::Context>,
        launched_at: Instant,
    ) -> std::io::Result<Self> {
        Ok(Self {
            state,
            service: ServiceHandle::start(repaint.clone())?,
            dialog: None,
            repaint,
            pacer: input::InputPacer::default(),
            launched_at,
            first_frame_logged: false,
            fonts_installed: false,
            theme_applied: None,
        })
    }

    /// Applies waiting events (time-boxed), draws, then carries out what the user asked for.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        let focused = ui.ctx().memory(egui::Memory::focused);
        ui.ctx()
            .data_mut(|d| d.insert_temp(focus_at_start_id(), focused));
        let state = &mut self.state;
        self.service.drain(EVENT_BUDGET, |event| state.apply(event));
        if !self.fonts_installed {
            // The icon font takes effect from the next pass: run this one again at once.
            self.fonts_installed = true;
            theme::install_fonts(ui.ctx());
            ui.ctx().request_discard("the icon font was added");
        }
        if self.theme_applied != Some(self.state.ui.theme) {
            self.theme_applied = Some(self.state.ui.theme);
            theme::apply(ui.ctx(), self.state.ui.theme);
        }
        if let Some(s) = self.state.active_session_mut() {
            s.browser.step_filter(FILTER_BUDGET);
            if s.browser.filter_running() {
                ui.ctx().request_repaint();
            }
            s.keep_order(Instant::now());
        }
        let mut actions = Actions::default();
        self.poll_dialog(&mut actions);
        palette::shortcuts_ui(ui.ctx(), &self.state, &mut actions);
        // Panels first; what they ask is carried out before the floating windows are drawn,
        // so a dialog a click opens appears in the same frame.
        self.panels_ui(ui, &mut actions);
        self.carry_out(actions);
        let mut actions = Actions::default();
        self.windows_ui(ui.ctx(), &mut actions);
        self.carry_out(actions);
        // Samplers run exactly while a dashboard (or the fleet view) shows their figures.
        self.state.sync_samplers();
        self.state.sync_fleet();
        self.state.expire_notices();
        self.state.save_ui_if_changed();
        self.flush();
        if !self.first_frame_logged {
            self.first_frame_logged = true;
            tracing::info!(
                "first frame drawn {} ms after launch",
                self.launched_at.elapsed().as_millis()
            );
        }
    }

    /// Hands queued commands to the service; a full or closed queue becomes a notice.
    fn flush(&mut self) {
        for command in self.state.take_outbox() {
            if let Err(e) = self.service.queue(command) {
                self.state.notify(Level::Error, e.to_string());
            }
        }
    }

    /// Hands one command to the service (tests drive the service directly with it).
    ///
    /// # Errors
    /// The queue is full or the service stopped.
    pub fn send(&self, command: Command) -> Result<(), crate::service::SendError> {
        self.service.queue(command)
    }

    /// Splits a frame's input where a click follows typing (see [`input`]): call with the
    /// frame's events before it runs. True when events wait for the next frame.
    pub fn pace_input(&mut self, events: &mut Vec<egui::Event>) -> bool {
        self.pacer.pace(events)
    }

    /// Stops the service, waiting at most a second.
    pub fn shutdown(&mut self) {
        self.service.shutdown();
    }

    fn open_dialog(&mut self, purpose: DialogPurpose) {
        if self.dialog.is_some() {
            return;
        }
        let (tx, rx) = mpsc::channel();
        let asked = purpose.clone();
        let repaint = self.repaint.clone();
        let spawned = std::thread::Builder::new()
            .name("file-dialog".to_owned())
            .spawn(move || {
                let dialog = rfd::FileDialog::new();
                let path = match asked {
                    DialogPurpose::SaveValue { name, .. } => dialog.set_file_name(name).save_file(),
                    DialogPurpose::CaFile => dialog
                        .add_filter("PEM certificates", &["pem", "crt", "cer"])
                        .pick_file(),
                    DialogPurpose::EnvFile => dialog.set_title("Import a .env file").pick_file(),
                    DialogPurpose::AuditExport => dialog
                        .set_title("Export the audit entries shown")
                        .set_file_name("audit.csv")
                        .add_filter("CSV", &["csv"])
                        .add_filter("JSON lines", &["jsonl"])
                        .save_file(),
                    DialogPurpose::ProfilesExport => dialog
                        .set_title("Export profiles")
                        .set_file_name("cache-console-profiles.json")
                        .add_filter("JSON", &["json"])
                        .save_file(),
                    DialogPurpose::ProfilesImport => dialog
                        .set_title("Import profiles (an export, Tiny RDM, RedisInsight, ARDM, RESP.app or a URL list)")
                        .pick_file(),
                    DialogPurpose::CsvExport { name, .. } => dialog
                        .set_title("Export metrics as CSV")
                        .set_file_name(name)
                        .add_filter("CSV", &["csv"])
                        .save_file(),
                    DialogPurpose::ExportKeys { name, .. } => dialog
                        .set_title("Export the keys to")
                        .set_file_name(name)
                        .save_file(),
                    DialogPurpose::ImportKeys { .. } => dialog
                        .set_title("Import an export file (jsonl or DUMP)")
                        .pick_file(),
                    DialogPurpose::StreamSave { name, .. } => dialog
                        .set_title("Save the rows shown as JSON lines")
                        .set_file_name(name)
                        .add_filter("JSON lines", &["jsonl"])
                        .save_file(),
                };
                let _ = tx.send(path);
                if let Some(ctx) = repaint {
                    ctx.request_repaint();
                }
            });
        match spawned {
            Ok(_) => {
                self.dialog = Some(PendingDialog {
                    purpose,
                    result: rx,
                });
            }
            Err(e) => self
                .state
                .notify(Level::Error, format!("cannot open a file dialog: {e}")),
        }
    }

    fn poll_dialog(&mut self, actions: &mut Actions) {
        let Some(dialog) = &self.dialog else { return };
        let answer = match dialog.result.try_recv() {
            Ok(answer) => answer,
            Err(mpsc::TryRecvError::Empty) => return,
            Err(mpsc::TryRecvError::Disconnected) => {
                self.state.notify(
                    Level::Error,
                    "the file dialog failed; is a desktop portal or zenity installed?",
                );
                None
            }
        };
        let Some(dialog) = self.dialog.take() else {
            return;
        };
        if let Some(path) = answer {
            actions.push(dialog.purpose.action(path));
        }
    }

    fn carry_out(&mut self, actions: Actions) {
        for queued in actions.queue {
            match queued {
                Queued::State(action) => self.state.handle(action),
                Queued::PickFile(purpose) => self.open_dialog(purpose),
            }
        }
    }

    fn panels_ui(&mut self, ui: &mut egui::Ui, actions: &mut Actions) {
        let state = &mut self.state;
        egui::Panel::top("top_bar").show(ui, |ui| top_bar_ui(ui, state, actions));
        egui::Panel::left("profiles")
            .resizable(true)
            .default_size(theme::PROFILES_WIDTH)
            .size_range(150.0..=360.0)
            .show(ui, |ui| profiles::profiles_ui(ui, state, actions));
        egui::CentralPanel::default().show(ui, |ui| {
            if state.form.is_some() {
                profiles::form_ui(ui, state, actions);
            } else if state.fleet.open {
                fleet::fleet_ui(ui, state, actions);
            } else if state.active_session().is_some() {
                browser::session_ui(ui, state, actions);
            } else {
                welcome_ui(ui, state);
            }
        });
    }

    fn windows_ui(&mut self, ctx: &egui::Context, actions: &mut Actions) {
        let state = &mut self.state;
        profiles::password_prompt_ui(ctx, state, actions);
        profiles::vault_prompt_ui(ctx, state, actions);
        profiles::ssh_prompt_ui(ctx, state, actions);
        profiles::confirm_delete_ui(ctx, state, actions);
        transfer::export_ui(ctx, state, actions);
        transfer::import_ui(ctx, state, actions);
        dialogs::confirm_ui(ctx, state, actions);
        audit::audit_ui(ctx, state, actions);
        if let Some(s) = state.active_session_mut() {
            dialogs::create_ui(ctx, s, actions);
            dialogs::bulk_delete_ui(ctx, s, actions);
            server::server_info_ui(ctx, s, actions);
            analysis::analysis_ui(ctx, s, actions);
            census::census_ui(ctx, s, actions);
            streams::pubsub_ui(ctx, s, actions);
            streams::monitor_ui(ctx, s, actions);
            keymove::key_move_ui(ctx, s, actions);
        }
        dashboard::dashboards_ui(ctx, state, actions);
        palette::palette_ui(ctx, state, actions);
        toasts_ui(ctx, state, actions);
    }
}

fn top_bar_ui(ui: &mut egui::Ui, state: &AppState, actions: &mut Actions) {
    ui.horizontal_wrapped(|ui| {
        ui.heading("Cache Console");
        if palette::command_button(
            ui,
            theme::ICON_HISTORY,
            "Audit log",
            crate::state::palette::Command::AuditLog,
        )
        .clicked()
        {
            actions.push(Action::OpenAudit);
        }
        let fleet = palette::command_button(
            ui,
            theme::ICON_DNS,
            "Fleet",
            crate::state::palette::Command::Fleet,
        );
        if fleet
            .on_hover_text("Every profile's figures on one screen")
            .clicked()
        {
            actions.push(Action::ToggleFleet);
        }
        // The theme, at the far end of the bar.
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            let mut choice = state.ui.theme;
            egui::ComboBox::from_id_salt("theme")
                .selected_text(match choice {
                    ThemeChoice::System => "Theme: system",
                    ThemeChoice::Dark => "Theme: dark",
                    ThemeChoice::Light => "Theme: light",
                })
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut choice, ThemeChoice::System, "As the system is set");
                    ui.selectable_value(&mut choice, ThemeChoice::Dark, "Dark");
                    ui.selectable_value(&mut choice, ThemeChoice::Light, "Light");
                })
                .response
                .on_hover_text("Light, dark, or as the system is set");
            if choice != state.ui.theme {
                actions.push(Action::SetTheme(choice));
            }
            ui.with_layout(egui::Layout::left_to_right(egui::Align::Center), |ui| {
                tabs_ui(ui, state, actions);
            });
        });
    });
}

/// The tabs: one a connection, its profile's colour before its name; a tab is dragged to
/// another place, clicked to be shown, closed with its cross (or Ctrl+W).
fn tabs_ui(ui: &mut egui::Ui, state: &AppState, actions: &mut Actions) {
    ui.horizontal_wrapped(|ui| {
        ui.separator();
        let close_keys = palette::keys_text(ui.ctx(), crate::state::palette::Command::CloseTab);
        for (i, s) in state.sessions.iter().enumerate() {
            let marker = match s.status {
                SessionStatus::Connecting => "… ",
                SessionStatus::Connected => "",
                SessionStatus::Failed(_) => "(failed) ",
            };
            let has_dbs = s.capabilities.as_ref().is_none_or(|c| c.databases);
            let text = if has_dbs {
                format!("{marker}{} · db{}", s.profile.name, s.db)
            } else {
                format!("{marker}{}", s.profile.name)
            };
            ui.horizontal(|ui| {
                if let Some(tag) = s.profile.color {
                    let (rect, dot) =
                        ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
                    ui.painter()
                        .circle_filled(rect.center(), 4.5, theme::tag_color(tag));
                    let name = format!("tab colour: {tag:?}").to_lowercase();
                    dot.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, &name));
                }
                // Clicked to be shown, dragged onto another tab to move there.
                let tab = ui
                    .selectable_label(i == state.active, text)
                    .interact(egui::Sense::click_and_drag())
                    .on_hover_text("Drag to move the tab");
                tab.dnd_set_drag_payload(i);
                if tab.clicked() {
                    actions.push(Action::Activate(s.conn));
                }
                if let Some(from) = tab.dnd_release_payload::<usize>() {
                    actions.push(Action::MoveTab { from: *from, to: i });
                }
                let close = format!("Close this connection ({close_keys})");
                if theme::icon_only(ui, theme::ICON_CLOSE, &close).clicked() {
                    actions.push(Action::Close(s.conn));
                }
            });
        }
    });
}

/// Notices as toasts in the bottom-right corner, over the content: they never push anything
/// down, so nothing moves under the pointer when one appears or goes.
fn toasts_ui(ctx: &egui::Context, state: &AppState, actions: &mut Actions) {
    if state.notices.is_empty() {
        return;
    }
    egui::Area::new(egui::Id::unique("toasts"))
        .order(egui::Order::Foreground)
        .anchor(egui::Align2::RIGHT_BOTTOM, egui::vec2(-12.0, -12.0))
        .show(ctx, |ui| {
            ui.set_max_width(460.0);
            for (i, notice) in state.notices.iter().enumerate() {
                egui::Frame::popup(ui.style()).show(ui, |ui| {
                    ui.horizontal(|ui| {
                        let tag = match notice.level {
                            Level::Info => "Note:",
                            Level::Warning => "Warning:",
                            Level::Error => "Error:",
                        };
                        ui.colored_label(theme::level_color(notice.level), tag);
                        ui.add(egui::Label::new(&notice.text).wrap());
                        if ui.small_button("Dismiss").clicked() {
                            actions.push(Action::DismissNotice(i));
                        }
                    });
                });
            }
        });
    if state.notices.iter().any(|n| n.level == Level::Info) {
        ctx.request_repaint_after(Duration::from_secs(1));
    }
}

fn welcome_ui(ui: &mut egui::Ui, state: &AppState) {
    ui.add_space(40.0);
    ui.vertical_centered(|ui| {
        ui.heading("Welcome to Cache Console");
        ui.add_space(8.0);
        if state.profiles.profiles().is_empty() {
            ui.label("Create a connection profile to get started: “+ New profile” on the left.");
        } else {
            ui.label("Pick a profile on the left and press Connect (or double-click it).");
        }
        ui.add_space(4.0);
        ui.label(
            egui::RichText::new(format!(
                "Profiles are kept in {}",
                state.profiles.path().display()
            ))
            .color(theme::MUTED),
        );
    });
}

impl eframe::App for App {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        App::ui(self, ui);
    }

    fn raw_input_hook(&mut self, ctx: &egui::Context, raw_input: &mut egui::RawInput) {
        if self.pace_input(&mut raw_input.events) {
            ctx.request_repaint();
        }
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        self.shutdown();
    }
}

/// Opens the desktop window and runs until it is closed.
///
/// # Errors
/// The window or the service could not be created.
pub fn run_gui(launched_at: Instant) -> anyhow::Result<()> {
    // The profiles and the first-run demo are read and written here, before the window
    // opens: no frame waits for them.
    let mut loaded = ProfileStore::load_default()?;
    // First run: a ready "Local demo" on an SQLite cache in the data directory, opened at
    // once so a newcomer sees keys, not an empty window.
    let mut first_run = false;
    if loaded.warning.is_none()
        && let Some(dir) = crate::config::audit::data_dir()
    {
        match crate::config::demo::ensure_first_run(&mut loaded.store, &dir) {
            Ok(created) => first_run = created,
            Err(e) => loaded.warning = Some(format!("the demo profile could not be created: {e}")),
        }
    }
    let mut state = AppState::new(loaded.store, loaded.warning);
    // The window as it was left: pane shares, theme, and the tabs that were open.
    if let Some(dir) = state.profiles.path().parent() {
        let (saved, warning) = crate::config::uistate::UiState::load_from(dir);
        if let Some(warning) = warning {
            state.notify(Level::Warning, warning);
        }
        state.restore_ui(&saved);
    }
    if first_run {
        state.connect_profile(crate::config::demo::DEMO_PROFILE);
    }
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Cache Console")
            .with_inner_size([1280.0, 800.0])
            // Below this the key list and the value viewer cannot both keep their minimums.
            .with_min_inner_size([860.0, 560.0]),
        renderer: eframe::Renderer::Glow,
        ..Default::default()
    };
    eframe::run_native(
        "Cache Console",
        options,
        Box::new(move |cc| {
            let app = App::new(state, Some(cc.egui_ctx.clone()), launched_at)?;
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| anyhow::anyhow!(window_error(&e.to_string())))
}

/// The libraries a window needs on a minimal Debian or Ubuntu (winit loads them at run time).
const WINDOW_LIBRARIES: &str =
    "libx11-6 libxcursor1 libxrandr2 libxi6 libxkbcommon-x11-0 libgl1 libegl1";

/// What to tell a person whose window could not open, in place of winit's text: which
/// libraries to install, or that there is no display (and that the command line needs none).
#[must_use]
pub fn window_error(reason: &str) -> String {
    let cli = "the command line works without a window: `cache-console --help`";
    if reason.contains("WAYLAND_DISPLAY") && reason.contains("DISPLAY is set") {
        return format!(
            "the window could not be opened: there is no display (neither DISPLAY nor \
             WAYLAND_DISPLAY is set). Run it inside a desktop session, or over `ssh -X`; {cli}"
        );
    }
    let missing = [
        "shared librar",
        "libX11",
        "libxkbcommon",
        "libGL",
        "libEGL",
        "dlopen",
    ]
    .iter()
    .any(|marker| reason.contains(marker));
    if missing {
        return format!(
            "the window could not be opened: the libraries it needs are not installed. On \
             Debian or Ubuntu: `sudo apt-get install {WINDOW_LIBRARIES}` (on Wayland also \
             libwayland-client0 libxkbcommon0); {cli}. ({reason})"
        );
    }
    if reason.contains("X server") {
        return format!(
            "the window could not be opened: no X server answers on DISPLAY={}. Check that the \
             display is running and reachable; {cli}",
            std::env::var("DISPLAY").unwrap_or_default()
        );
    }
    format!("the window could not be opened: {reason}")
}

#[cfg(test)]
mod tests {
    use super::window_error;

    #[test]
    fn a_window_that_cannot_open_says_what_to_install_or_do() {
        let missing = window_error(
            "winit EventLoopError: os error at …/linux/mod.rs:788: Failed to load one of \
             xlib's shared libraries -> libX11.so.6: cannot open shared object file",
        );
        assert!(missing.contains("apt-get install libx11-6"), "{missing}");
        assert!(missing.contains("libegl1"), "{missing}");
        assert!(missing.contains("Wayland"), "{missing}");
        let no_display = window_error(
            "winit EventLoopError: os error at …: neither WAYLAND_DISPLAY nor WAYLAND_SOCKET \
             nor DISPLAY is set.",
        );
        assert!(no_display.contains("there is no display"), "{no_display}");
        assert!(no_display.contains("--help"), "{no_display}");
        assert!(window_error("Failed to open connection to X server").contains("no X server"));
        assert_eq!(
            window_error("something else"),
            "the window could not be opened: something else"
        );
    }
}
