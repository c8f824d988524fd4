//! The desktop UI: draws [`AppState`] and turns clicks into state changes.
//!
//! Functions named `*_ui` only draw and call state methods; all I/O goes through the service.

mod analysis;
mod browser;
mod dashboard;
mod dialogs;
mod edit;
mod profiles;
mod server;
pub mod theme;
mod viewer;

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::config::profiles::ProfileStore;
use crate::service::ServiceHandle;
use crate::state::{AppState, Level, SessionStatus};

/// How long one frame may spend applying service events.
const EVENT_BUDGET: Duration = Duration::from_millis(8);
/// How long one frame may spend on the filter-as-you-type job.
const FILTER_BUDGET: Duration = Duration::from_millis(3);

/// What a file dialog was opened for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DialogPurpose {
    SaveValue,
    CaFile,
    EnvFile,
}

/// A native file dialog running on its own thread (it blocks until the user answers, and the
/// UI thread must never block).
struct PendingDialog {
    purpose: DialogPurpose,
    result: mpsc::Receiver<Option<PathBuf>>,
}

/// Local date and time of a Unix-milliseconds value in a `chrono` format ("" when out of range).
fn local_time(unix_ms: i64, format: &str) -> String {
    chrono::DateTime::from_timestamp_millis(unix_ms)
        .map(|d| d.with_timezone(&chrono::Local).format(format).to_string())
        .unwrap_or_default()
}

/// What a background job (file work kept off the UI thread) was started for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JobKind {
    DemoReset,
    CsvExport,
}

/// A job on a thread of its own; it answers once with a message for the user.
struct Job {
    kind: JobKind,
    result: mpsc::Receiver<Result<Option<String>, String>>,
}

/// The application: state, the I/O service, and open dialogs.
pub struct App {
    /// Everything shown.
    pub state: AppState,
    service: ServiceHandle,
    dialog: Option<PendingDialog>,
    jobs: Vec<Job>,
    launched_at: Instant,
    first_frame_logged: bool,
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
            service: ServiceHandle::start(repaint)?,
            dialog: None,
            jobs: Vec::new(),
            launched_at,
            first_frame_logged: false,
        })
    }

    /// Applies waiting events (time-boxed), advances background UI jobs, then draws.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        let state = &mut self.state;
        self.service.drain(EVENT_BUDGET, |event| state.apply(event));
        if let Some(s) = self.state.active_session_mut() {
            s.browser.step_filter(FILTER_BUDGET);
            if s.browser.filter_running() {
                ui.ctx().request_repaint();
            }
        }
        self.poll_dialog();
        self.poll_jobs();
        self.draw(ui);
        // Samplers run exactly while a dashboard shows their figures.
        self.state.sync_samplers();
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
        for (conn, req, kind) in self.state.take_outbox() {
            if let Err(e) = self.service.send(conn, req, kind) {
                self.state.notify(Level::Error, e.to_string());
            }
        }
    }

    /// Runs `work` on a thread of its own (file I/O and native dialogs stay off the UI
    /// thread); its message, or error, becomes a notice when it ends.
    fn spawn_job(
        &mut self,
        kind: JobKind,
        work: impl FnOnce() -> Result<Option<String>, String> + Send + 'static,
    ) {
        let (tx, rx) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name(format!("{kind:?}"))
            .spawn(move || {
                let _ = tx.send(work());
            });
        match spawned {
            Ok(_) => self.jobs.push(Job { kind, result: rx }),
            Err(e) => self
                .state
                .notify(Level::Error, format!("cannot start a background job: {e}")),
        }
    }

    fn poll_jobs(&mut self) {
        let mut finished = Vec::new();
        self.jobs.retain(|job| match job.result.try_recv() {
            Ok(result) => {
                finished.push((job.kind, result));
                false
            }
            Err(mpsc::TryRecvError::Empty) => true,
            Err(mpsc::TryRecvError::Disconnected) => {
                finished.push((job.kind, Err("the job stopped unexpectedly".to_owned())));
                false
            }
        });
        for (kind, result) in finished {
            let ok = result.is_ok();
            match result {
                Ok(Some(message)) => self.state.notify(Level::Info, message),
                Ok(None) => {}
                Err(e) => self.state.notify(Level::Error, e),
            }
            if kind == JobKind::DemoReset
                && ok
                && let Some(i) = self
                    .state
                    .sessions
                    .iter()
                    .position(|s| s.profile.name == crate::config::demo::DEMO_PROFILE)
            {
                let previous = self.state.active;
                self.state.active = i;
                self.state.search();
                self.state.active = previous;
            }
        }
    }

    /// Re-seeds the demo database.
    fn reset_demo(&mut self) {
        let Some(dir) = crate::config::audit::data_dir() else {
            self.state.notify(
                Level::Error,
                "no data directory is known for the demo database",
            );
            return;
        };
        self.spawn_job(JobKind::DemoReset, move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
                .and_then(|rt| rt.block_on(crate::config::demo::seed(&crate::config::demo::demo_path(&dir))))
                .map(|()| Some("the demo data was reset".to_owned()))
                .map_err(|e| format!("demo reset failed: {e}"))
        });
    }

    /// Asks where to save a dashboard's points as CSV, then writes them.
    fn export_csv(&mut self, points: Vec<crate::core::metrics::Point>, name: String) {
        self.spawn_job(JobKind::CsvExport, move || {
            let Some(path) = rfd::FileDialog::new()
                .set_title("Export metrics as CSV")
                .set_file_name(name)
                .add_filter("CSV", &["csv"])
                .save_file()
            else {
                return Ok(None);
            };
            let csv = crate::core::metrics::to_csv(&points);
            crate::state::write_csv(&path, &csv)
                .map(|()| Some(format!("metrics saved to {}", path.display())))
        });
    }

    /// Stops the service, waiting at most a second.
    pub fn shutdown(&mut self) {
        self.service.shutdown();
    }

    fn open_dialog(&mut self, purpose: DialogPurpose, suggested_name: Option<String>) {
        if self.dialog.is_some() {
            return;
        }
        let (tx, rx) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("file-dialog".to_owned())
            .spawn(move || {
                let dialog = rfd::FileDialog::new();
                let path = match purpose {
                    DialogPurpose::SaveValue => dialog
                        .set_file_name(suggested_name.unwrap_or_else(|| "value.bin".to_owned()))
                        .save_file(),
                    DialogPurpose::CaFile => dialog
                        .add_filter("PEM certificates", &["pem", "crt", "cer"])
                        .pick_file(),
                    DialogPurpose::EnvFile => dialog.set_title("Import a .env file").pick_file(),
                };
                let _ = tx.send(path);
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

    fn poll_dialog(&mut self) {
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
        let purpose = dialog.purpose;
        self.dialog = None;
        let Some(path) = answer else { return };
        match purpose {
            DialogPurpose::SaveValue => self.state.save_value(path),
            DialogPurpose::CaFile => {
                if let Some(form) = &mut self.state.form {
                    form.ca_file = path.display().to_string();
                }
            }
            DialogPurpose::EnvFile => self.state.import_env(&path),
        }
    }

    fn draw(&mut self, ui: &mut egui::Ui) {
        egui::Panel::top("top_bar").show(ui, |ui| {
            self.top_bar_ui(ui);
        });
        let mut dialog_request = None;
        let mut reset_demo = false;
        egui::Panel::left("profiles")
            .resizable(true)
            .default_size(theme::PROFILES_WIDTH)
            .show(ui, |ui| match profiles::profiles_ui(ui, &mut self.state) {
                profiles::PanelRequest::ImportEnv => {
                    dialog_request = Some((DialogPurpose::EnvFile, None));
                }
                profiles::PanelRequest::ResetDemo => reset_demo = true,
                profiles::PanelRequest::None => {}
            });
        if reset_demo {
            self.reset_demo();
        }
        egui::CentralPanel::default().show(ui, |ui| {
            if self.state.form.is_some() {
                if profiles::form_ui(ui, &mut self.state) {
                    dialog_request = Some((DialogPurpose::CaFile, None));
                }
            } else if self.state.active_session().is_some() {
                if let Some(name) = browser::session_ui(ui, &mut self.state) {
                    dialog_request = Some((DialogPurpose::SaveValue, Some(name)));
                }
            } else {
                welcome_ui(ui, &self.state);
            }
        });
        profiles::password_prompt_ui(ui.ctx(), &mut self.state);
        profiles::confirm_delete_ui(ui.ctx(), &mut self.state);
        dialogs::confirm_ui(ui.ctx(), &mut self.state);
        dialogs::create_ui(ui.ctx(), &mut self.state);
        dialogs::bulk_delete_ui(ui.ctx(), &mut self.state);
        dialogs::audit_ui(ui.ctx(), &mut self.state);
        server::server_info_ui(ui.ctx(), &mut self.state);
        analysis::analysis_ui(ui.ctx(), &mut self.state);
        let dashboards = dashboard::dashboards_ui(ui.ctx(), &mut self.state);
        if let Some((points, name)) = dashboards.export {
            self.export_csv(points, name);
        }
        if let Some((purpose, name)) = dialog_request {
            self.open_dialog(purpose, name);
        }
    }

    fn top_bar_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal_wrapped(|ui| {
            ui.heading("Cache Console");
            if ui.button("Audit log").clicked() {
                self.state.open_audit();
            }
            ui.separator();
            let mut close = None;
            let mut activate = None;
            for (i, s) in self.state.sessions.iter().enumerate() {
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
                if ui.selectable_label(i == self.state.active, text).clicked() {
                    activate = Some(i);
                }
                if ui
                    .small_button("x")
                    .on_hover_text("Close this connection")
                    .clicked()
                {
                    close = Some(i);
                }
            }
            if let Some(i) = activate {
                self.state.active = i;
            }
            if let Some(i) = close {
                self.state.close_session(i);
            }
        });
        let mut dismiss = None;
        for (i, notice) in self.state.notices.iter().enumerate() {
            ui.horizontal(|ui| {
                let tag = match notice.level {
                    Level::Info => "Note:",
                    Level::Warning => "Warning:",
                    Level::Error => "Error:",
                };
                ui.colored_label(theme::level_color(notice.level), tag);
                ui.label(&notice.text);
                if ui.small_button("Dismiss").clicked() {
                    dismiss = Some(i);
                }
            });
        }
        if let Some(i) = dismiss {
            self.state.notices.remove(i);
        }
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

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        self.shutdown();
    }
}

/// Opens the desktop window and runs until it is closed.
///
/// # Errors
/// The window or the service could not be created.
pub fn run_gui(launched_at: Instant) -> anyhow::Result<()> {
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
    if first_run {
        state.connect_profile(crate::config::demo::DEMO_PROFILE);
    }
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Cache Console")
            .with_inner_size([1280.0, 800.0])
            .with_min_inner_size([720.0, 420.0]),
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
    .map_err(|e| anyhow::anyhow!("the window could not be opened: {e}"))
}
