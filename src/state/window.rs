//! What the window keeps between runs (pane shares, theme, the open tabs) and its saving.

use std::time::{Duration, Instant};

use super::{AppPending, AppState, Level};
use crate::config::connection::PasswordSource;
use crate::config::uistate::{MAX_TABS, OpenTab, UiState};
use crate::service::AppCommand;

/// Window settings are written at most this often (a dragged divider changes every frame).
const SAVE_EVERY: Duration = Duration::from_secs(1);

impl AppState {
    /// The window settings as they stand, the open tabs included.
    #[must_use]
    pub fn ui_snapshot(&self) -> UiState {
        let mut ui = self.ui.clone();
        ui.tabs = self
            .sessions
            .iter()
            .take(MAX_TABS)
            .map(|s| OpenTab {
                profile: s.profile.name.clone(),
                db: s.db,
            })
            .collect();
        ui.active_tab = self.active;
        for s in &self.sessions {
            if s.capabilities.as_ref().is_some_and(|c| !c.list_keys) {
                let keys = s.browser.opened_history();
                if keys.is_empty() {
                    ui.opened_keys.remove(&s.profile.name);
                } else if ui.opened_keys.len() < crate::config::uistate::MAX_HISTORIES
                    || ui.opened_keys.contains_key(&s.profile.name)
                {
                    ui.opened_keys.insert(s.profile.name.clone(), keys);
                }
            }
        }
        ui
    }

    /// Keeps console lines in `profile`'s history (saved with the window settings).
    pub(super) fn remember_commands(&mut self, profile: &str, lines: Vec<String>) {
        use crate::config::uistate::{MAX_HISTORIES, MAX_HISTORY_LINES};
        let histories = &mut self.ui.console_history;
        if histories.len() >= MAX_HISTORIES && !histories.contains_key(profile) {
            return;
        }
        let kept = histories.entry(profile.to_owned()).or_default();
        for line in lines {
            let line: String = line
                .chars()
                .take(crate::config::uistate::MAX_HISTORY_LINE_CHARS)
                .collect();
            if kept.last() != Some(&line) {
                kept.push(line);
            }
        }
        let extra = kept.len().saturating_sub(MAX_HISTORY_LINES);
        kept.drain(..extra);
    }

    /// The keys `profile` opened in earlier runs, for a cache that cannot list them.
    #[must_use]
    pub fn saved_opened_keys(&self, profile: &str) -> Vec<Vec<u8>> {
        self.ui
            .opened_keys
            .get(profile)
            .map(|keys| {
                keys.iter()
                    .filter_map(|k| crate::core::escape::unescape(k).ok())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Writes the window settings through the service when they changed since the last
    /// write, one write at a time and at most once a second (call once a frame).
    pub fn save_ui_if_changed(&mut self) {
        if !self.keep_ui || self.pending.values().any(|p| *p == AppPending::SaveUi) {
            return;
        }
        if self.ui_saved_at.is_some_and(|t| t.elapsed() < SAVE_EVERY) {
            return;
        }
        let snapshot = self.ui_snapshot();
        if self.ui_saved.as_ref() == Some(&snapshot) {
            return;
        }
        let Some(dir) = self
            .profiles
            .path()
            .parent()
            .map(std::path::Path::to_path_buf)
        else {
            return;
        };
        match snapshot.save_job(&dir) {
            Ok(job) => {
                self.send_app(AppPending::SaveUi, AppCommand::SaveUi(job));
                self.ui_saved = Some(snapshot);
                self.ui_saved_at = Some(Instant::now());
            }
            Err(e) => self.notify(Level::Error, e),
        }
    }

    /// Starts from saved window settings: their pane shares and theme, and their tabs
    /// reopened (a tab whose profile is gone is skipped; one whose password is asked each
    /// time waits for the user to connect it). From now on changes are saved.
    pub fn restore_ui(&mut self, saved: &UiState) {
        self.ui.layout = saved.layout.clamped();
        self.ui.theme = saved.theme;
        self.ui.opened_keys.clone_from(&saved.opened_keys);
        self.ui.console_history.clone_from(&saved.console_history);
        let mut skipped = Vec::new();
        for tab in saved.tabs.iter().take(MAX_TABS) {
            let Some(profile) = self.profiles.get(&tab.profile).cloned() else {
                continue;
            };
            if profile.connection.password_source().store().is_some() {
                // Read from its store first (the vault asks for its passphrase once).
                self.connect_profile(&tab.profile);
                continue;
            }
            if profile.connection.password_source() == &PasswordSource::Prompt
                && !self.session_passwords.contains_key(&tab.profile)
            {
                skipped.push(tab.profile.clone());
                continue;
            }
            match profile.connection.resolve_password(None) {
                Ok(password) => {
                    let mut profile = profile;
                    profile.connection = profile.connection.with_db(tab.db);
                    self.open_session(profile, password);
                }
                Err(e) => skipped.push(format!("{} ({e})", tab.profile)),
            }
        }
        if !skipped.is_empty() {
            self.notify(
                Level::Info,
                format!(
                    "not reopened, connect them from the list: {}",
                    skipped.join(", ")
                ),
            );
        }
        self.active = saved.active_tab.min(self.sessions.len().saturating_sub(1));
        self.keep_ui = true;
        self.ui_saved = Some(self.ui_snapshot());
    }
}
