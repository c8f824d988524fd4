//! Export, import and copy in the app (one dialog a connection): which keys (the marked ones
//! or a pattern, counted first), the file or the destination, what to do with a key that
//! exists; then a progress bar with Cancel, and a summary. The writes go through the
//! destination's guard: refused on a read-only profile, asked about on a production one,
//! audited.

use std::path::PathBuf;

use bytes::Bytes;

use super::session::{Pending, Session};
use super::{Confirm, Effects, Level};
use crate::backend::transfer::KeySource;
use crate::core::escape::pattern_to_glob;
use crate::core::keyfile::{Format, Header};
use crate::core::model::{OnConflict, ScanRequest};
use crate::service::{CommandKind, ConnId, EventKind, TransferSummary};

/// What the dialog does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoveKind {
    /// Keys to a file.
    Export,
    /// A file's keys into this connection.
    Import,
    /// Keys into another open connection.
    Copy,
}

impl MoveKind {
    /// What it did, in a word (`exported`).
    #[must_use]
    pub fn done_word(self) -> &'static str {
        match self {
            Self::Export => "exported",
            Self::Import => "imported",
            Self::Copy => "copied",
        }
    }
}

/// Where the dialog is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MovePhase {
    /// Being set up.
    Setup,
    /// Running: keys done so far.
    Running(u64),
    /// Ended.
    Done(TransferSummary),
    /// Failed before its end.
    Failed(String),
}

/// An open connection keys can be copied into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// Its connection.
    pub conn: ConnId,
    /// Its name in the list (`staging · db0`).
    pub label: String,
    /// Its profile is production (a copy asks first).
    pub production: bool,
    /// Its profile is read-only (a copy is refused).
    pub read_only: bool,
}

/// The export, import or copy dialog.
#[derive(Debug, Clone)]
pub struct KeyMove {
    /// What it does.
    pub kind: MoveKind,
    /// The keys marked in the browser when it opened.
    pub marked: Vec<Bytes>,
    /// Move the marked keys (else the pattern's).
    pub use_marked: bool,
    /// The pattern, as typed.
    pub pattern: String,
    /// Keys the pattern matched when counted.
    pub matched: Option<u64>,
    /// The export's format.
    pub format: Format,
    /// Bytes as base64 (jsonl).
    pub base64: bool,
    /// The file to import, and what its header says and how many records follow.
    pub import: Option<(PathBuf, Option<(Header, u64)>)>,
    /// Where a copy can go.
    pub destinations: Vec<Destination>,
    /// Where it goes.
    pub destination: Option<ConnId>,
    /// What to do with a key that exists.
    pub on_conflict: OnConflict,
    /// Where it is.
    pub phase: MovePhase,
    /// What is wrong with the setup.
    pub error: Option<String>,
}

impl KeyMove {
    /// The keys it takes (the marked ones, or the pattern's).
    #[must_use]
    pub fn keys(&self) -> KeySource {
        if self.use_marked && !self.marked.is_empty() {
            KeySource::Keys(self.marked.clone())
        } else {
            KeySource::Pattern(ScanRequest::matching(pattern_to_glob(self.pattern.trim())))
        }
    }

    /// How many keys it will take, as far as known.
    #[must_use]
    pub fn count(&self) -> Option<u64> {
        if self.use_marked && !self.marked.is_empty() {
            Some(self.marked.len() as u64)
        } else {
            self.matched
        }
    }
}

impl Session {
    /// One of the dialog's actions.
    pub(super) fn move_action(&mut self, action: super::SessionAction, fx: &mut Effects) {
        use super::SessionAction as A;
        match action {
            A::OpenExport => self.open_move(MoveKind::Export, Vec::new()),
            A::OpenImport => self.open_move(MoveKind::Import, Vec::new()),
            A::CountMove => self.count_move(),
            A::ExportTo(path) => self.export_to(path),
            A::ImportFileChosen(path) => self.import_file_chosen(path),
            A::StartMove => self.start_move(fx),
            A::CancelMove => self.cancel_move(),
            A::CloseMove => {
                self.cancel_move();
                self.key_move = None;
            }
            _ => {}
        }
    }

    /// Opens the dialog (`destinations`: the other open connections, for a copy).
    pub(super) fn open_move(&mut self, kind: MoveKind, destinations: Vec<Destination>) {
        let marked: Vec<Bytes> = self
            .browser
            .marked
            .iter()
            .map(|id| Bytes::copy_from_slice(self.browser.index.key(*id)))
            .collect();
        let destination = destinations.first().map(|d| d.conn);
        self.key_move = Some(KeyMove {
            kind,
            use_marked: !marked.is_empty(),
            marked,
            pattern: self.browser.pattern.clone(),
            matched: None,
            format: Format::Jsonl,
            base64: false,
            import: None,
            destinations,
            destination,
            on_conflict: OnConflict::Skip,
            phase: MovePhase::Setup,
            error: None,
        });
        if kind != MoveKind::Import {
            self.count_move();
        }
    }

    /// Counts the keys the pattern matches.
    pub(super) fn count_move(&mut self) {
        let Some(m) = &mut self.key_move else { return };
        m.matched = None;
        let request = ScanRequest::matching(pattern_to_glob(m.pattern.trim()));
        self.request(
            Pending::MovePreview,
            CommandKind::Preview { request, sample: 0 },
        );
    }

    /// The file to import was chosen: its header is read and its records counted.
    pub(super) fn import_file_chosen(&mut self, path: PathBuf) {
        let Some(m) = &mut self.key_move else { return };
        m.import = Some((path.clone(), None));
        m.error = None;
        self.request(Pending::MovePreview, CommandKind::PreviewImport { path });
    }

    /// Starts the export into `path`.
    pub(super) fn export_to(&mut self, path: PathBuf) {
        let Some(m) = &mut self.key_move else { return };
        m.phase = MovePhase::Running(0);
        let kind = CommandKind::ExportKeys {
            keys: m.keys(),
            format: m.format,
            base64: m.base64,
            path,
        };
        self.request(Pending::Move, kind);
    }

    /// Starts the import or the copy (asking first where the destination is production).
    pub(super) fn start_move(&mut self, fx: &mut Effects) {
        let Some(m) = &mut self.key_move else { return };
        let (kind, production, into, what) = match m.kind {
            MoveKind::Export => return,
            MoveKind::Import => {
                let Some((path, Some(_))) = &m.import else {
                    m.error = Some("choose an export file first".to_owned());
                    return;
                };
                if !self.capabilities.as_ref().is_some_and(|c| c.write) {
                    m.error = Some(format!(
                        "profile `{}` is read-only: an import is refused",
                        self.profile.name
                    ));
                    return;
                }
                (
                    CommandKind::ImportFile {
                        path: path.clone(),
                        on_conflict: m.on_conflict,
                    },
                    self.profile.production,
                    self.profile.name.clone(),
                    format!("import {} into {}", path.display(), self.profile.name),
                )
            }
            MoveKind::Copy => {
                let Some(to) = m
                    .destinations
                    .iter()
                    .find(|d| Some(d.conn) == m.destination)
                else {
                    m.error = Some("choose where to copy to (another open connection)".to_owned());
                    return;
                };
                if to.read_only {
                    m.error = Some(format!("{} is read-only: a copy is refused", to.label));
                    return;
                }
                (
                    CommandKind::CopyKeys {
                        to: to.conn,
                        keys: m.keys(),
                        on_conflict: m.on_conflict,
                    },
                    to.production,
                    to.label.clone(),
                    format!(
                        "copy {} keys into {}",
                        m.count()
                            .map_or_else(|| "the".to_owned(), |n| n.to_string()),
                        to.label
                    ),
                )
            }
        };
        m.error = None;
        if production {
            fx.ask(Confirm::Move {
                conn: self.conn,
                into,
                description: what,
                kind,
            });
            return;
        }
        self.send_move(kind);
    }

    /// Sends a started import or copy (asked already, or no need).
    pub(super) fn send_move(&mut self, kind: CommandKind) {
        if let Some(m) = &mut self.key_move {
            m.phase = MovePhase::Running(0);
        }
        self.request(Pending::Move, kind);
    }

    /// Stops the running export, import or copy after its batch (its summary still comes).
    pub(super) fn cancel_move(&mut self) {
        self.interrupt(Pending::Move, CommandKind::CancelTransfer);
    }

    /// An answer to the dialog's requests.
    pub(super) fn move_event(&mut self, kind: EventKind, fx: &mut Effects) {
        let Some(m) = &mut self.key_move else { return };
        match kind {
            EventKind::Previewed { matched, .. } => m.matched = Some(matched),
            EventKind::ImportPreviewed { header, records } => {
                if let Some((_, preview)) = &mut m.import {
                    *preview = Some((header, records));
                }
            }
            EventKind::TransferProgress(n) => {
                if let MovePhase::Running(done) = &mut m.phase {
                    *done = (*done).max(n);
                }
            }
            EventKind::TransferDone(summary) => {
                let note = format!("{} {} keys", m.kind.done_word(), summary.done);
                fx.notify(Level::Info, note);
                let wrote_here = m.kind == MoveKind::Import;
                m.phase = MovePhase::Done(summary);
                if wrote_here {
                    self.refresh_listing();
                }
            }
            EventKind::Failed(e) => match m.phase {
                MovePhase::Running(_) => m.phase = MovePhase::Failed(e.to_string()),
                _ => m.error = Some(e.to_string()),
            },
            _ => {}
        }
    }
}
