//! The audit log window: what it shows (read in the background with its filter) and exports.

use std::path::PathBuf;
use std::time::SystemTime;

use super::{AppPending, AppState, Level, Loadable};
use crate::config::audit::{AuditFilter, AuditRead, Since};
use crate::service::{AppCommand, ReqId};

/// Audit entries the window shows at most (the newest that match).
pub const AUDIT_SHOWN: usize = 500;

/// The filter as the window's controls hold it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilterInputs {
    /// Only this profile.
    pub profile: Option<String>,
    /// Only this action.
    pub action: Option<String>,
    /// Only keys like this (a glob, or text found anywhere).
    pub key: String,
    /// Only this recent.
    pub since: Since,
}

impl AuditFilterInputs {
    /// The filter these inputs mean, seen from `now`.
    #[must_use]
    pub fn to_filter(&self, now: SystemTime) -> AuditFilter {
        AuditFilter {
            profile: self.profile.clone(),
            action: self.action.clone(),
            key: Some(self.key.trim().to_owned()).filter(|k| !k.is_empty()),
            since: self.since.start(now),
            until: None,
        }
    }
}

/// The audit log window.
#[derive(Debug, Clone, Default)]
pub struct AuditView {
    /// What the last read found.
    pub read: Loadable<AuditRead>,
    /// The filter.
    pub filter: AuditFilterInputs,
    /// The read whose answer is awaited (older answers are dropped).
    req: Option<ReqId>,
}

impl AppState {
    /// Opens the audit window (or reads it again with its filter).
    pub(super) fn read_audit(&mut self) {
        let mut view = self.audit_view.take().unwrap_or_default();
        match self.audit.clone() {
            Some(log) => {
                view.read.start();
                let filter = view.filter.to_filter(SystemTime::now());
                view.req = Some(self.send_app(
                    AppPending::ReadAudit,
                    AppCommand::ReadAudit {
                        log,
                        filter,
                        limit: AUDIT_SHOWN,
                    },
                ));
            }
            None => view.read.answer(Err(
                "no data directory is known, so nothing is recorded".to_owned()
            )),
        }
        self.audit_view = Some(view);
    }

    /// An audit read finished.
    pub(super) fn audit_read(&mut self, req: ReqId, result: Result<AuditRead, String>) {
        if let Some(view) = &mut self.audit_view
            && view.req == Some(req)
        {
            view.read.answer(result);
        }
    }

    /// Writes every entry the window's filter matches (not only those shown) to `path`: CSV
    /// for a `.csv` name, JSON lines otherwise.
    pub(super) fn export_audit(&mut self, path: PathBuf) {
        let Some(log) = self.audit.clone() else {
            self.notify(
                Level::Error,
                "no audit log is kept, so there is nothing to export",
            );
            return;
        };
        let filter = self
            .audit_view
            .as_ref()
            .map(|v| v.filter.to_filter(SystemTime::now()))
            .unwrap_or_default();
        self.send_app(
            AppPending::ExportAudit,
            AppCommand::ExportAudit { log, filter, path },
        );
    }
}
