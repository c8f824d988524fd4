//! The namespace census of a connection: every key the browser's pattern matches counted into
//! its namespaces by the service, no key kept (`core/census.rs`), then shown as a tree whose
//! namespaces open one level at a time and can be listed in the browser.

use std::collections::HashMap;

use super::{Pending, Session};
use crate::core::census::{Census, Namespace, NsId};
use crate::core::escape::pattern_to_glob;
use crate::core::model::ScanRequest;
use crate::service::{CommandKind, EventKind};

/// Namespaces shown below one namespace at most (the most keys first); the rest are counted.
pub const SHOWN_CHILDREN: usize = 500;

/// The census window of a connection.
#[derive(Debug, Clone, Default)]
pub struct CensusView {
    /// A census is running.
    pub running: bool,
    /// The pattern it counts (as typed in the browser).
    pub pattern: String,
    /// Keys counted and share of the keyspace visited, while running.
    pub progress: Option<(u64, f64)>,
    /// The tree of the last census.
    pub census: Option<Box<Census>>,
    /// It was cancelled before the end of the keyspace.
    pub cancelled: bool,
    /// Why it failed.
    pub error: Option<String>,
    /// The namespaces open, with their children (the most keys first), read once on opening.
    pub open: HashMap<NsId, Vec<Namespace>>,
    /// The root's children.
    pub top: Vec<Namespace>,
}

impl CensusView {
    /// Opens or closes a namespace.
    pub fn toggle(&mut self, id: NsId) {
        if self.open.remove(&id).is_some() {
            return;
        }
        if let Some(census) = &self.census {
            let mut children = census.children(id);
            children.truncate(SHOWN_CHILDREN);
            self.open.insert(id, children);
        }
    }
}

impl Session {
    /// Opens the census window (nothing runs until *Count*).
    pub(super) fn open_census(&mut self) {
        if self.census.is_none() {
            self.census = Some(CensusView::default());
        }
    }

    /// Counts the keys the browser's pattern (and type) matches, within its scan budget.
    pub(super) fn start_census(&mut self) {
        let pattern = if self.browser.pattern.trim().is_empty() {
            "*".to_owned()
        } else {
            self.browser.pattern.trim().to_owned()
        };
        let mut request = ScanRequest::matching(pattern_to_glob(&pattern));
        request.type_filter.clone_from(&self.browser.type_filter);
        request.server.clone_from(&self.browser.server_filter);
        request.budget_ms = self.browser.scan_budget_ms;
        let delimiter = self.profile.delimiter.clone();
        let view = self.census.get_or_insert_with(CensusView::default);
        *view = CensusView {
            running: true,
            pattern,
            progress: Some((0, 0.0)),
            ..CensusView::default()
        };
        self.request(Pending::Census, CommandKind::Census { request, delimiter });
    }

    /// Stops the running census; what it counted is shown.
    pub(super) fn cancel_census(&mut self) {
        if self.census.as_ref().is_some_and(|v| v.running) {
            self.interrupt(Pending::Census, CommandKind::CancelCensus);
        }
    }

    /// News of the running census.
    pub(super) fn census_event(&mut self, kind: EventKind) {
        let Some(view) = self.census.as_mut().filter(|v| v.running) else {
            return;
        };
        match kind {
            EventKind::CensusProgress { keys, progress } => view.progress = Some((keys, progress)),
            EventKind::CensusDone(census, cancelled) => {
                view.running = false;
                view.progress = None;
                view.cancelled = cancelled;
                let mut top = census.children(0);
                top.truncate(SHOWN_CHILDREN);
                view.top = top;
                view.census = Some(census);
            }
            _ => {}
        }
    }

    /// The running census failed.
    pub(super) fn census_failed(&mut self, text: String) {
        if let Some(view) = self.census.as_mut() {
            view.running = false;
            view.progress = None;
            view.error = Some(text);
        }
    }
}
