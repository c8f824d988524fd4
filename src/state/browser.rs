//! The key browser of a connection: the listing (streamed, paused, continued, stopped), the
//! loaded keys in a flat list and a tree, the filter over them, and the row facts fetched for
//! the rows on screen.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::order::{Base, FlatOrder, MAX_FACT_SORT, Sort, SortKey};
use super::{Effects, Level, Pending, Session, SessionStatus};
use crate::core::escape::{contains_pattern, pattern_to_glob};
use crate::core::format::group_digits;
use crate::core::keyindex::{Filter, KeyId, KeyIndex, NodeId, TreeRow};
use crate::core::model::{KeyMeta, KeyType, ScanRequest};
use crate::service::{CommandKind, EventKind, ScanState};

/// Keys listed before a listing pauses and waits for "Continue" or "Load all".
pub const DEFAULT_BATCH_LIMIT: u64 = 10_000;
/// How often the tree is rebuilt while keys are still streaming in.
const TREE_REFRESH: Duration = Duration::from_millis(250);
/// How long a frame of the tree view spends putting keys into the tree that a listing shown
/// as a list left out.
const TREE_CATCH_UP: Duration = Duration::from_millis(3);
/// The most keys room is made for before a listing starts.
const RESERVE_LIMIT: u64 = 20_000_000;
/// The most bytes of key names room is made for before they arrive.
const RESERVE_BYTES_LIMIT: usize = 1 << 30;

/// Where a key listing stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanPhase {
    /// Nothing listed yet.
    Idle,
    /// Batches are arriving.
    Running,
    /// Reached the batch limit; can continue.
    Paused,
    /// The whole keyspace was visited.
    Done,
    /// The user stopped it.
    Stopped,
    /// It failed; the reason.
    Failed(String),
}

/// A key listing's progress.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanStatus {
    /// Phase.
    pub phase: ScanPhase,
    /// DBSIZE when the listing started.
    pub total_keys: u64,
    /// Share of the keyspace visited.
    pub progress: f64,
    /// Cursor to continue from.
    pub cursor: u64,
    /// The request it was started with (to continue it).
    pub request: Option<ScanRequest>,
    /// How far each node is, where several are listed at once (a cluster).
    pub parts: Vec<crate::core::model::ScanPart>,
    /// What the listing said the user must know (a node listed again after a failover).
    pub note: Option<String>,
    /// The `COUNT` the scan budget chose last.
    pub count: Option<u32>,
}

impl ScanStatus {
    /// "scanned N of DBSIZE keys, M matched".
    #[must_use]
    pub fn summary(&self, matched: usize) -> String {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let scanned = if self.phase == ScanPhase::Done {
            self.total_keys
        } else {
            ((self.total_keys as f64) * self.progress).round() as u64
        };
        format!(
            "scanned {} of {} keys, {} matched",
            group_digits(scanned.min(self.total_keys)),
            group_digits(self.total_keys),
            group_digits(matched as u64)
        )
    }

    /// The pace of the listing: its scan budget and the `COUNT` the budget chose last.
    #[must_use]
    pub fn pace(&self) -> Option<String> {
        let request = self.request.as_ref()?;
        Some(match (request.budget_ms, self.count) {
            (Some(ms), Some(count)) => format!("budget {ms} ms/s, COUNT {count}"),
            (Some(ms), None) => format!("budget {ms} ms/s"),
            (None, _) => "no scan budget".to_owned(),
        })
    }
}

/// Which view of the loaded keys is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrowserView {
    /// One row per key.
    Flat,
    /// Grouped by delimiter.
    Tree,
}

/// Row facts of a key, as fetched.
#[derive(Debug, Clone, PartialEq)]
pub enum MetaSlot {
    /// Asked for.
    Pending,
    /// Known, read at this instant.
    Ready(KeyMeta, Instant),
    /// The key no longer exists.
    Gone,
    /// Reading them failed at this instant; asked again after [`META_RETRY`], not at once
    /// (a row that always fails must not turn into a request every frame).
    Failed(Instant),
}

/// How long rows whose facts could not be read wait before they are asked for again.
pub const META_RETRY: Duration = Duration::from_secs(5);

/// The key browser of one connection.
#[derive(Debug)]
pub struct Browser {
    /// A Laravel key prefix the first listed keys have, offered to browse without it.
    pub prefix_hint: Option<String>,
    /// Pattern as typed (Redis glob, plus `\xNN` bytes).
    pub pattern: String,
    /// Type restriction.
    pub type_filter: Option<KeyType>,
    /// The loaded keys.
    pub index: KeyIndex,
    /// Listing progress.
    pub scan: ScanStatus,
    /// Flat or tree.
    pub view: BrowserView,
    /// Filter text over loaded keys.
    pub filter_text: String,
    filter: Option<Filter>,
    /// Expanded namespaces.
    pub expanded: HashSet<NodeId>,
    tree_rows: Vec<TreeRow>,
    pub(super) tree_dirty: bool,
    /// Keys a listing of everything expects (from DBSIZE), until its first batch makes room
    /// for their names.
    expected_keys: usize,
    tree_built_at: Option<Instant>,
    /// Selected key.
    pub selected: Option<KeyId>,
    /// Selected namespace in the tree.
    pub selected_node: Option<NodeId>,
    pub(super) meta: HashMap<KeyId, MetaSlot>,
    /// Tree delimiter as typed.
    pub delimiter: String,
    /// Keys per listing batch before pausing.
    pub batch_limit: u64,
    /// Keys marked for a multi-key delete (Ctrl+click).
    pub marked: std::collections::BTreeSet<KeyId>,
    /// A key name typed to open directly.
    pub open_name: String,
    /// List only the keys of this server of a pool.
    pub server_filter: Option<String>,
    /// The listings' scan budget, server-milliseconds a second (`None`: unthrottled).
    pub scan_budget_ms: Option<u32>,
    /// The order of the flat list.
    pub order: FlatOrder,
    /// Changes whenever the shown keys change other than by growing (a new filter, a new
    /// listing): sorted orders and fact reads of the old ones no longer apply.
    generation: u64,
    /// Changes whenever row facts arrive or go.
    facts_version: u64,
    /// The instant TTL deadlines are measured from.
    epoch: Instant,
}

impl Browser {
    pub(super) fn new(pattern: &str, delimiter: &str) -> Self {
        Self {
            pattern: pattern.to_owned(),
            type_filter: None,
            index: KeyIndex::new(delimiter),
            scan: ScanStatus {
                phase: ScanPhase::Idle,
                total_keys: 0,
                progress: 0.0,
                cursor: 0,
                request: None,
                parts: Vec::new(),
                note: None,
                count: None,
            },
            view: BrowserView::Flat,
            filter_text: String::new(),
            prefix_hint: None,
            filter: None,
            expanded: HashSet::new(),
            tree_rows: Vec::new(),
            tree_dirty: true,
            expected_keys: 0,
            tree_built_at: None,
            selected: None,
            selected_node: None,
            meta: HashMap::new(),
            delimiter: delimiter.to_owned(),
            batch_limit: DEFAULT_BATCH_LIMIT,
            marked: std::collections::BTreeSet::new(),
            open_name: String::new(),
            server_filter: None,
            scan_budget_ms: Some(crate::core::model::DEFAULT_SCAN_BUDGET_MS),
            order: FlatOrder::default(),
            generation: 0,
            facts_version: 0,
            epoch: Instant::now(),
        }
    }

    /// The keys the flat list shows, in listing order.
    #[must_use]
    pub fn base(&self) -> Base<'_> {
        match &self.filter {
            Some(f) => Base::Only(f.matches()),
            None => Base::All(self.index.len()),
        }
    }

    /// Whether the keys loaded are all the listing will find (it ran to its end).
    #[must_use]
    pub fn listing_complete(&self) -> bool {
        matches!(self.scan.phase, ScanPhase::Done | ScanPhase::Idle)
    }

    /// About how many keys the server holds beyond those loaded, when that is known: the
    /// listing is unfinished and lists every key (no pattern, type or server restriction).
    #[must_use]
    pub fn not_loaded(&self) -> Option<u64> {
        let every_key = self.scan.request.as_ref().is_some_and(|r| {
            r.pattern.as_slice() == b"*" && r.type_filter.is_none() && r.server.is_none()
        });
        (!self.listing_complete() && every_key)
            .then(|| self.scan.total_keys.saturating_sub(self.index.len() as u64))
    }

    /// The server-side pattern for what the filter looks for, when there is a filter.
    #[must_use]
    pub fn filter_pattern(&self) -> Option<String> {
        self.filter
            .as_ref()
            .map(|_| {
                crate::core::escape::unescape(&self.filter_text)
                    .unwrap_or_else(|_| self.filter_text.as_bytes().to_vec())
            })
            .filter(|needle| !needle.is_empty())
            .map(|needle| contains_pattern(&needle))
    }

    /// Sorts the flat list by `key`: ascending, then descending, then back to listing order.
    pub fn cycle_sort(&mut self, key: SortKey) {
        let next = match self.order.sort() {
            Some(Sort {
                key: k,
                descending: false,
            }) if k == key => Some(Sort {
                key,
                descending: true,
            }),
            Some(Sort { key: k, .. }) if k == key => None,
            _ => Some(Sort {
                key,
                descending: false,
            }),
        };
        self.order.set(next);
    }

    /// The flat-list generation (see the field).
    #[must_use]
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// True while the sort in effect is older than the keys or facts it sorts.
    #[must_use]
    pub fn order_stale(&self) -> bool {
        self.order
            .stale(self.base(), self.generation, self.facts_version)
    }

    /// Marks deleted keys as gone (the list is append-only; a new search drops them).
    pub(super) fn mark_gone(&mut self, keys: &[Bytes]) {
        for key in keys {
            if let Some(id) = self.index.find(key) {
                self.meta.insert(id, MetaSlot::Gone);
                self.marked.remove(&id);
            }
        }
        self.facts_version += 1;
    }

    /// Adds keys that now exist (created, copied, restored) and has their facts fetched anew.
    pub(super) fn mark_present(&mut self, keys: &[Bytes]) {
        for key in keys {
            if let Ok(id) = self.index.insert(key) {
                self.meta.remove(&id);
            }
        }
        self.facts_version += 1;
        self.tree_dirty = true;
    }

    /// Marks a key for a multi-key delete, or unmarks it.
    pub fn toggle_mark(&mut self, id: KeyId) {
        if !self.marked.remove(&id) {
            self.marked.insert(id);
        }
    }

    /// Rows in the flat view.
    #[must_use]
    pub fn flat_len(&self) -> usize {
        self.base().len()
    }

    /// The key at a flat-view row.
    #[must_use]
    pub fn flat_key(&self, row: usize) -> Option<KeyId> {
        self.order.row(self.base(), self.generation, row)
    }

    /// The row of a key in the flat view, if shown.
    #[must_use]
    pub fn flat_row_of(&self, id: KeyId) -> Option<usize> {
        if self.order.sort().is_some() {
            return (0..self.flat_len()).find(|&r| self.flat_key(r) == Some(id));
        }
        match &self.filter {
            Some(f) => f.matches().iter().position(|&k| k == id),
            None => ((id as usize) < self.index.len()).then_some(id as usize),
        }
    }

    /// Sets the filter text; an empty text removes the filter.
    pub fn set_filter(&mut self, text: &str) {
        text.clone_into(&mut self.filter_text);
        let needle =
            crate::core::escape::unescape(text).unwrap_or_else(|_| text.as_bytes().to_vec());
        self.filter = if needle.is_empty() {
            None
        } else {
            Some(Filter::new(&needle, self.filter.take()))
        };
        self.generation += 1;
        self.tree_dirty = true;
    }

    /// True while the filter is still testing keys.
    #[must_use]
    pub fn filter_running(&self) -> bool {
        self.filter
            .as_ref()
            .is_some_and(|f| !f.is_done(&self.index))
    }

    /// Whether a filter is active.
    #[must_use]
    pub fn filter_active(&self) -> bool {
        self.filter.is_some()
    }

    /// Advances the filter by at most `budget`. Call once per frame.
    pub fn step_filter(&mut self, budget: Duration) {
        if let Some(f) = &mut self.filter
            && !f.is_done(&self.index)
            && f.step(&self.index, budget)
        {
            self.tree_dirty = true;
        }
    }

    /// Matching keys below a namespace (all keys without a filter).
    #[must_use]
    pub fn node_count(&self, node: NodeId) -> u32 {
        match &self.filter {
            Some(f) => f.node_matches(node),
            None => self.index.node_count(node),
        }
    }

    /// Rebuilds the tree rows when something changed (at most every 250 ms while a listing
    /// streams in, so a big namespace is not re-sorted for every batch).
    pub fn refresh_tree(&mut self) {
        // Keys a listing shown as a list left out of the tree join it now, a few
        // milliseconds a frame.
        self.index.set_tree_wanted(true);
        if !self.index.tree_complete() {
            let joined = self.index.attach_pending(TREE_CATCH_UP);
            if let Some(f) = &mut self.filter {
                f.count_attached(&self.index, joined);
            }
            self.tree_dirty = true;
        }
        // While keys stream in, or join the tree, the rows are rebuilt every 250 ms only.
        let throttled = (self.scan.phase == ScanPhase::Running || !self.index.tree_complete())
            && self
                .tree_built_at
                .is_some_and(|t| t.elapsed() < TREE_REFRESH);
        if self.tree_dirty && !throttled {
            let expanded = &self.expanded;
            self.tree_rows = self
                .index
                .tree_rows(&|n| expanded.contains(&n), self.filter.as_ref());
            self.tree_dirty = false;
            self.tree_built_at = Some(Instant::now());
        }
    }

    /// The tree rows as of the last [`Self::refresh_tree`].
    #[must_use]
    pub fn tree_rows(&self) -> &[TreeRow] {
        &self.tree_rows
    }

    /// True when the tree will change on the next rebuild.
    #[must_use]
    pub fn tree_pending(&self) -> bool {
        self.tree_dirty
    }

    /// Expands or collapses a namespace.
    pub fn toggle(&mut self, node: NodeId) {
        if !self.expanded.remove(&node) {
            self.expanded.insert(node);
        }
        self.tree_dirty = true;
    }

    /// Regroups the tree by a new delimiter.
    pub fn set_delimiter(&mut self, delimiter: &str) {
        delimiter.clone_into(&mut self.delimiter);
        // Regrouped by the frames that show it (`refresh_tree`), never all in one.
        self.index.set_tree_wanted(false);
        self.index.set_delimiter(delimiter);
        self.expanded.clear();
        self.selected_node = None;
        // Node ids changed: the filter's per-node counts must be recomputed.
        let text = self.filter_text.clone();
        self.filter = None;
        self.set_filter(&text);
        self.tree_dirty = true;
    }

    /// The row facts of a key, if fetched.
    #[must_use]
    pub fn meta(&self, id: KeyId) -> Option<&MetaSlot> {
        self.meta.get(&id)
    }

    /// Marks keys whose facts are unknown as pending and returns their names to fetch.
    pub fn take_meta_requests(&mut self, ids: &[KeyId]) -> Vec<Bytes> {
        let mut keys = Vec::new();
        for &id in ids {
            let due = match self.meta.get(&id) {
                None => true,
                Some(MetaSlot::Failed(at)) => at.elapsed() >= META_RETRY,
                Some(_) => false,
            };
            if (id as usize) < self.index.len() && due {
                self.meta.insert(id, MetaSlot::Pending);
                keys.push(Bytes::copy_from_slice(self.index.key(id)));
            }
        }
        keys
    }

    /// The keys opened so far, escaped, the newest last, at most
    /// [`crate::config::uistate::MAX_OPENED`] (the history of a cache that cannot list keys).
    #[must_use]
    pub fn opened_history(&self) -> Vec<String> {
        let n = self.index.len();
        let first = n.saturating_sub(crate::config::uistate::MAX_OPENED);
        (first..n)
            .filter_map(|i| crate::core::keyindex::KeyId::try_from(i).ok())
            .map(|id| crate::core::escape::escape_bytes(self.index.key(id)))
            .collect()
    }

    /// Lists the keys opened in earlier runs (their rows are read as they are shown).
    pub(super) fn restore_history(&mut self, keys: &[Vec<u8>]) {
        for key in keys {
            if self.index.insert(key).is_ok() {
                self.tree_dirty = true;
            }
        }
    }

    pub(super) fn reset_keys(&mut self) {
        self.index = KeyIndex::new(&self.delimiter);
        self.expected_keys = 0;
        self.meta.clear();
        self.marked.clear();
        self.expanded.clear();
        self.selected = None;
        self.selected_node = None;
        // The sort stays chosen; its order and fact reads start over.
        self.order.set(self.order.sort());
        let text = self.filter_text.clone();
        self.filter = None;
        self.set_filter(&text);
        self.tree_dirty = true;
    }

    pub(super) fn add_keys(&mut self, keys: &[Bytes]) -> Result<(), String> {
        // The first batch tells how long the names are: room for all the names expected.
        if self.index.is_empty() && self.expected_keys > 0 && !keys.is_empty() {
            let average = keys.iter().map(Bytes::len).sum::<usize>() / keys.len();
            let bytes = average.saturating_add(1).saturating_mul(self.expected_keys);
            self.index.reserve_bytes(bytes.min(RESERVE_BYTES_LIMIT));
            self.expected_keys = 0;
        }
        // The tree is built as keys come only while it is shown.
        self.index.set_tree_wanted(self.view == BrowserView::Tree);
        self.index
            .extend(keys.iter().map(AsRef::as_ref))
            .map_err(|e| e.to_string())?;
        self.tree_dirty = true;
        Ok(())
    }
}

impl Session {
    /// Starts a new listing with the browser's pattern and type filter (the old one's batches
    /// are dropped from now on).
    pub(super) fn search(&mut self) {
        if self.status != SessionStatus::Connected {
            return;
        }
        if self.capabilities.as_ref().is_some_and(|c| !c.list_keys) {
            // Nothing to list (DreamFactory's API): the keys opened by name stay listed, and
            // their rows are read again.
            self.browser.meta.clear();
            return;
        }
        let b = &mut self.browser;
        let mut request = ScanRequest::matching(pattern_to_glob(if b.pattern.is_empty() {
            "*"
        } else {
            &b.pattern
        }));
        request.type_filter.clone_from(&b.type_filter);
        request.server.clone_from(&b.server_filter);
        request.budget_ms = b.scan_budget_ms;
        b.reset_keys();
        b.scan = ScanStatus {
            phase: ScanPhase::Running,
            total_keys: 0,
            progress: 0.0,
            cursor: 0,
            request: Some(request.clone()),
            parts: Vec::new(),
            note: None,
            count: None,
        };
        // A backend that cannot pause a listing (a memcached crawl) lists everything at once.
        let pausable = self.capabilities.as_ref().is_none_or(|c| c.scan_pause);
        let limit = pausable.then_some(b.batch_limit);
        self.request(
            Pending::Scan,
            CommandKind::Scan {
                request,
                from_cursor: 0,
                limit,
            },
        );
    }

    /// Continues a paused or stopped listing; `all` lists the rest without pausing.
    pub(super) fn continue_scan(&mut self, all: bool) {
        let b = &mut self.browser;
        let Some(mut request) = b.scan.request.clone() else {
            return;
        };
        // A budget changed since the listing began counts from here on.
        request.budget_ms = b.scan_budget_ms;
        b.scan.request = Some(request.clone());
        if !matches!(b.scan.phase, ScanPhase::Paused | ScanPhase::Stopped) || b.scan.cursor == 0 {
            return;
        }
        b.scan.phase = ScanPhase::Running;
        let limit = (!all).then_some(b.batch_limit);
        let from_cursor = b.scan.cursor;
        self.request(
            Pending::Scan,
            CommandKind::Scan {
                request,
                from_cursor,
                limit,
            },
        );
    }

    /// Stops the running listing; what was found stays.
    pub(super) fn stop_scan(&mut self) {
        if self.browser.scan.phase != ScanPhase::Running {
            return;
        }
        self.browser.scan.phase = ScanPhase::Stopped;
        // Batches already on their way for it are dropped from now on.
        self.stop(Pending::Scan, CommandKind::StopScan);
    }

    /// Switches to another database: the connection is opened again there.
    pub(super) fn select_db(&mut self, db: u32) {
        if self.db == db {
            return;
        }
        self.db = db;
        self.status = SessionStatus::Connecting;
        self.viewer = None;
        // Another database starts with every key shown: a pattern or filter left from the
        // old one would make the new one look empty.
        self.browser
            .pattern
            .clone_from(&self.profile.default_pattern);
        self.browser.type_filter = None;
        self.browser.set_filter("");
        self.browser.reset_keys();
        self.browser.scan.phase = ScanPhase::Idle;
        // Nothing asked of the old database is wanted any more; changes still report back.
        for pending in [
            Pending::Scan,
            Pending::Meta,
            Pending::OpenKey,
            Pending::Page,
            Pending::Databases,
            Pending::Sort,
            Pending::SortMeta,
        ] {
            self.forget(pending);
        }
        self.request(Pending::Connect, CommandKind::SelectDb { db });
    }

    /// Lists the keys on the server that contain what the filter looks for (the filter
    /// searches only the loaded keys), and clears the filter.
    pub(super) fn search_server_for_filter(&mut self) {
        let Some(pattern) = self.browser.filter_pattern() else {
            return;
        };
        self.browser.pattern = pattern;
        self.browser.set_filter("");
        self.search();
    }

    /// Sorts the flat list by `key` (see [`Browser::cycle_sort`]).
    pub(super) fn sort_by(&mut self, key: SortKey, fx: &mut Effects) {
        let loaded = self.browser.flat_len();
        if key.needs_facts() && loaded > MAX_FACT_SORT {
            fx.notify(
                Level::Warning,
                format!(
                    "Sorting by {} reads the facts of every shown key: at most {}, and {} are \
                     shown. Narrow the pattern or the filter, or use Memory analysis.",
                    key.word(),
                    group_digits(MAX_FACT_SORT as u64),
                    group_digits(loaded as u64)
                ),
            );
            return;
        }
        self.forget(Pending::Sort);
        self.forget(Pending::SortMeta);
        self.browser.cycle_sort(key);
        self.keep_order(Instant::now());
    }

    /// Keeps a sorted flat list sorted: reads the facts it needs, a chunk at a time, and
    /// asks for a sort when the order is stale. Call once per frame.
    pub fn keep_order(&mut self, now: Instant) {
        if self.status != SessionStatus::Connected {
            return;
        }
        let facts_busy = self.is_pending(Pending::SortMeta);
        let b = &mut self.browser;
        let base = match &b.filter {
            Some(f) => Base::Only(f.matches()),
            None => Base::All(b.index.len()),
        };
        let job = b.order.job_due(
            &b.index,
            base,
            b.generation,
            (&b.meta, b.facts_version, b.epoch),
            now,
        );
        let wanted = if facts_busy {
            Vec::new()
        } else {
            b.order.facts_wanted(base, b.generation, &b.meta)
        };
        if let Some(job) = job {
            self.request(Pending::Sort, CommandKind::SortKeys(job));
        }
        let keys = self.browser.take_meta_requests(&wanted);
        if !keys.is_empty() {
            self.request(Pending::SortMeta, CommandKind::FetchMeta { keys });
        }
    }

    /// A sort's answer.
    pub(super) fn sorted(&mut self, sorted: crate::core::keyindex::Sorted) {
        let generation = self.browser.generation;
        self.browser.order.finished(generation, sorted);
    }

    /// Asks for the database list again (key counts change), where there is one.
    pub(super) fn refresh_databases(&mut self) {
        if self.status == SessionStatus::Connected
            && self.capabilities.as_ref().is_none_or(|c| c.databases)
        {
            self.request(Pending::Databases, CommandKind::ListDatabases);
        }
    }

    /// Fetches row facts for keys on screen that are not known yet.
    pub(super) fn request_meta(&mut self, ids: &[KeyId]) {
        if self.status != SessionStatus::Connected {
            return;
        }
        let keys = self.browser.take_meta_requests(ids);
        if !keys.is_empty() {
            self.request(Pending::Meta, CommandKind::FetchMeta { keys });
        }
    }

    /// A listing's news: its size, or a batch of keys.
    pub(super) fn scan_event(&mut self, kind: EventKind) {
        let b = &mut self.browser;
        match kind {
            EventKind::ScanStarted { total_keys } => {
                b.scan.total_keys = total_keys;
                // A listing of everything will hold about that many keys (up to where it
                // pauses): room for them at once, bounded so a wrong count cannot reserve
                // gigabytes.
                let everything = b.scan.request.as_ref().is_some_and(|r| {
                    r.pattern == b"*" && r.type_filter.is_none() && r.server.is_none()
                });
                if everything {
                    let expected = total_keys.min(b.batch_limit).min(RESERVE_LIMIT);
                    b.expected_keys = usize::try_from(expected).unwrap_or(0);
                    b.index.reserve(b.expected_keys);
                }
            }
            EventKind::ScanBatch {
                keys,
                cursor,
                progress,
                parts,
                note,
                count,
                state,
            } => {
                b.scan.parts = parts;
                if count.is_some() {
                    b.scan.count = count;
                }
                if note.is_some() {
                    b.scan.note = note;
                }
                // Looked for once, on the first keys of a Redis listing with no prefix set.
                if b.index.is_empty()
                    && let crate::config::connection::ConnectionSpec::Redis(spec) =
                        &self.profile.connection
                    && spec.key_prefix.is_none()
                {
                    b.prefix_hint = crate::backend::prefixed::laravel_prefix(&keys);
                }
                if let Err(e) = b.add_keys(&keys) {
                    b.scan.phase = ScanPhase::Failed(e);
                    self.forget(Pending::Scan);
                    return;
                }
                b.scan.cursor = cursor;
                b.scan.progress = progress;
                b.scan.phase = match state {
                    ScanState::Running => ScanPhase::Running,
                    ScanState::Paused => ScanPhase::Paused,
                    ScanState::Done => ScanPhase::Done,
                };
                if state == ScanState::Done {
                    // The database list's counts follow what the listing just saw.
                    self.refresh_databases();
                }
            }
            _ => {}
        }
    }

    /// Row facts arrived.
    pub(super) fn meta_arrived(&mut self, keys: &[Bytes], meta: Vec<Option<KeyMeta>>) {
        self.meta_error = None;
        self.browser.facts_version += 1;
        let now = Instant::now();
        for (key, m) in keys.iter().zip(meta) {
            if let Some(id) = self.browser.index.find(key) {
                self.browser
                    .meta
                    .insert(id, m.map_or(MetaSlot::Gone, |m| MetaSlot::Ready(m, now)));
            }
        }
    }

    /// Row facts are best effort: the rows are asked for again after a pause, and the same
    /// failure is reported once, not once per retry.
    pub(super) fn meta_failed(&mut self, text: String, fx: &mut Effects) {
        let now = Instant::now();
        for slot in self.browser.meta.values_mut() {
            if *slot == MetaSlot::Pending {
                *slot = MetaSlot::Failed(now);
            }
        }
        if self.meta_error.as_deref() != Some(text.as_str()) {
            fx.notify(Level::Error, text.clone());
            self.meta_error = Some(text);
        }
    }
}
