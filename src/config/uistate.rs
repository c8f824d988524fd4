//! How the window looked when it closed, so the next start looks the same: the split between
//! the key list and the value, the key column's share, the theme, and the open tabs. Kept in
//! `ui.ron` beside the profiles; a damaged or missing file only means the defaults.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::core::safefs::SafeDir;

/// The file's name in the config directory.
pub const FILE_NAME: &str = "ui.ron";
/// The largest file read (a few hundred tabs fit in far less).
const MAX_FILE_BYTES: u64 = 8 << 20;
/// Tabs restored at most.
pub const MAX_TABS: usize = 32;

/// Shares of the browser's width, as fractions (so they hold when the window is resized).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Layout {
    /// The key list's share of the browser (the value viewer has the rest).
    pub list_share: f32,
    /// The key column's share of the key list.
    pub key_share: f32,
}

impl Default for Layout {
    fn default() -> Self {
        Self {
            list_share: 0.55,
            key_share: 0.6,
        }
    }
}

impl Layout {
    /// Shares within sane bounds (a hand-edited or damaged file cannot hide a pane).
    #[must_use]
    pub fn clamped(self) -> Self {
        let fix = |v: f32, default: f32| {
            if v.is_finite() {
                v.clamp(0.15, 0.85)
            } else {
                default
            }
        };
        let d = Self::default();
        Self {
            list_share: fix(self.list_share, d.list_share),
            key_share: fix(self.key_share, d.key_share),
        }
    }
}

/// Light, dark, or whatever the system uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ThemeChoice {
    /// Follow the system.
    #[default]
    System,
    /// Always dark.
    Dark,
    /// Always light.
    Light,
}

/// A connection tab open when the app closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenTab {
    /// The profile's name.
    pub profile: String,
    /// The database it showed.
    pub db: u32,
}

/// Everything kept about the window.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct UiState {
    /// Pane shares.
    pub layout: Layout,
    /// Theme.
    pub theme: ThemeChoice,
    /// Open tabs, in order.
    pub tabs: Vec<OpenTab>,
    /// The tab shown.
    pub active_tab: usize,
    /// Keys opened by name, by profile, where the cache cannot list them (DreamFactory's
    /// API): the browser's history, newest last (escaped names, at most [`MAX_OPENED`] a
    /// profile, [`MAX_HISTORIES`] profiles).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub opened_keys: std::collections::BTreeMap<String, Vec<String>>,
    /// Console commands by profile, oldest first, their secrets redacted before they were
    /// kept (at most [`MAX_HISTORY_LINES`] a profile, [`MAX_HISTORIES`] profiles).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub console_history: std::collections::BTreeMap<String, Vec<String>>,
}

/// Console lines kept in one profile's history.
pub const MAX_HISTORY_LINES: usize = 300;

/// The longest console line kept (a longer one is kept cut, which only costs its re-run).
pub const MAX_HISTORY_LINE_CHARS: usize = 4_000;

/// Keys kept in one profile's history of keys opened.
pub const MAX_OPENED: usize = 100;

/// Profiles whose history of keys opened is kept.
pub const MAX_HISTORIES: usize = 200;

impl UiState {
    /// Reads `ui.ron` from `dir`. A missing file gives the defaults; a damaged one the
    /// defaults and a sentence saying so.
    #[must_use]
    pub fn load_from(dir: &Path) -> (Self, Option<String>) {
        let read = SafeDir::open(dir).and_then(|d| d.read(FILE_NAME, MAX_FILE_BYTES));
        let bytes = match read {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return (Self::default(), None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (Self::default(), None),
            Err(e) => {
                return (
                    Self::default(),
                    Some(format!(
                        "the window settings ({}) could not be read ({e}); using the defaults",
                        dir.join(FILE_NAME).display()
                    )),
                );
            }
        };
        let parsed = std::str::from_utf8(&bytes)
            .map_err(|e| e.to_string())
            .and_then(|text| ron::from_str::<Self>(text).map_err(|e| e.to_string()));
        match parsed {
            Ok(mut state) => {
                state.layout = state.layout.clamped();
                state.tabs.truncate(MAX_TABS);
                while state.opened_keys.len() > MAX_HISTORIES {
                    state.opened_keys.pop_last();
                }
                for keys in state.opened_keys.values_mut() {
                    let extra = keys.len().saturating_sub(MAX_OPENED);
                    keys.drain(..extra);
                }
                while state.console_history.len() > MAX_HISTORIES {
                    state.console_history.pop_last();
                }
                for lines in state.console_history.values_mut() {
                    let extra = lines.len().saturating_sub(MAX_HISTORY_LINES);
                    lines.drain(..extra);
                    for line in lines.iter_mut() {
                        if line.chars().count() > MAX_HISTORY_LINE_CHARS {
                            *line = line.chars().take(MAX_HISTORY_LINE_CHARS).collect();
                        }
                    }
                }
                (state, None)
            }
            Err(e) => (
                Self::default(),
                Some(format!(
                    "the window settings ({}) are damaged ({e}); using the defaults",
                    dir.join(FILE_NAME).display()
                )),
            ),
        }
    }

    /// A write of this state to `dir`, to run off the UI thread.
    ///
    /// # Errors
    /// It cannot be encoded (it always can; the error is kept rather than unwrapped).
    pub fn save_job(&self, dir: &Path) -> Result<UiSaveJob, String> {
        let text = ron::ser::to_string_pretty(self, ron::ser::PrettyConfig::default())
            .map_err(|e| e.to_string())?;
        Ok(UiSaveJob {
            dir: dir.to_path_buf(),
            text,
        })
    }
}

/// One write of `ui.ron`.
#[derive(Debug, Clone)]
pub struct UiSaveJob {
    dir: PathBuf,
    text: String,
}

impl UiSaveJob {
    /// Writes the file atomically (never through a symlink planted at its name).
    ///
    /// # Errors
    /// The directory or file cannot be written.
    pub fn run(&self) -> Result<(), String> {
        SafeDir::open_or_create(&self.dir)
            .and_then(|d| d.write_atomic(FILE_NAME, self.text.as_bytes(), Some(0o600)))
            .map_err(|e| {
                format!(
                    "cannot save the window settings to {}: {e}",
                    self.dir.join(FILE_NAME).display()
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_state_loads_back_and_a_damaged_one_gives_defaults_and_a_warning() {
        let dir = tempfile::tempdir().expect("dir");
        assert_eq!(UiState::load_from(dir.path()), (UiState::default(), None));
        let state = UiState {
            layout: Layout {
                list_share: 0.4,
                key_share: 0.7,
            },
            theme: ThemeChoice::Light,
            tabs: vec![OpenTab {
                profile: "prod".into(),
                db: 3,
            }],
            active_tab: 0,
            opened_keys: [(
                "df".to_owned(),
                vec!["user:1".to_owned(), "a\\x1Fb".to_owned()],
            )]
            .into_iter()
            .collect(),
            console_history: [(
                "prod".to_owned(),
                vec!["GET \"a b\"".to_owned(), "AUTH (redacted)".to_owned()],
            )]
            .into_iter()
            .collect(),
        };
        state
            .save_job(dir.path())
            .expect("encode")
            .run()
            .expect("write");
        assert_eq!(UiState::load_from(dir.path()), (state, None));
        crate::core::safefs::SafeDir::open(dir.path())
            .and_then(|d| d.write_atomic(FILE_NAME, b"(layout: (list_share: 0.9", None))
            .expect("write");
        let (loaded, warning) = UiState::load_from(dir.path());
        assert_eq!(loaded, UiState::default());
        assert!(warning.is_some_and(|w| w.contains("damaged")));
    }

    #[test]
    fn shares_out_of_bounds_are_brought_back() {
        let l = Layout {
            list_share: f32::NAN,
            key_share: 4.0,
        }
        .clamped();
        assert!((l.list_share - Layout::default().list_share).abs() < f32::EPSILON);
        assert!((l.key_share - 0.85).abs() < f32::EPSILON);
    }
}
