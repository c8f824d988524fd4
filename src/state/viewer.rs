//! The value viewer of a connection: one key's facts and value, paged for collections, in a
//! chosen display mode, with the inputs its edit controls use.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Instant;

use bytes::Bytes;

use super::{Effects, Level, MetaSlot, Pending, Session};
use crate::core::edit::ValueEditor;
use crate::core::escape::escape_bytes;
use crate::core::format::{human_bytes, pretty_json};
use crate::core::keyindex::KeyId;
use crate::core::model::{KeyDetails, PageCursor, ValueItems, WriteOp};
use crate::service::{CommandKind, EventKind};

/// Items per page in the value viewer.
pub const VALUE_PAGE_SIZE: u32 = 200;

/// How a value is displayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueMode {
    /// Escaped text.
    Text,
    /// Pretty-printed JSON.
    Json,
    /// Hex dump.
    Hex,
    /// Decoded (PHP serialize, MessagePack, gzip, …): detected automatically (`None`) or as
    /// chosen.
    Decoded(Option<crate::core::decode::Format>),
}

/// The editor of a decoded value's scalars.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedEditor {
    /// How the value was decoded (to wrap it the same way when saving).
    pub steps: Vec<crate::core::decode::Step>,
    /// The decoded tree.
    pub node: crate::core::decode::Node,
    /// Paths of the editable scalars.
    pub paths: Vec<String>,
    /// Their values as edited.
    pub texts: Vec<String>,
    /// The stored bytes as loaded (for conflict detection).
    pub original: Bytes,
    /// Why the last save was refused.
    pub error: Option<String>,
}

/// Loading state of the value viewer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ViewerState {
    /// Waiting for the key.
    Loading,
    /// Shown.
    Loaded,
    /// Could not be read; the reason.
    Failed(String),
}

/// What a rendered value text was made from: mode, selected element, bytes/elements loaded.
pub type RenderKey = (ValueMode, Option<usize>, usize);

/// The value viewer of one key.
#[derive(Debug)]
pub struct Viewer {
    /// The key shown.
    pub key: Bytes,
    /// Loading state.
    pub state: ViewerState,
    /// Type, TTL, encoding, memory, length.
    pub details: Option<KeyDetails>,
    /// When the details were read (for the TTL countdown).
    pub read_at: Instant,
    /// Everything loaded so far.
    pub items: Option<ValueItems>,
    /// Hash fields and set members loaded so far, to drop the duplicates SCAN may return.
    pub seen: HashSet<Bytes>,
    /// Where the next page starts, if there is one.
    pub next: Option<PageCursor>,
    /// Pages loaded.
    pub pages: u32,
    /// Display mode.
    pub mode: ValueMode,
    /// Selected element of a collection (shown in full below the table).
    pub selected_item: Option<usize>,
    /// Result of "Save to file…".
    pub save_status: Option<String>,
    /// Rendered text of the shown value: (mode, item, loaded length) it was made for, text.
    pub render_cache: Option<(RenderKey, String)>,
    /// The string editor, when open.
    pub editor: Option<ValueEditor>,
    /// The decoded-value editor, when open.
    pub decoded_editor: Option<DecodedEditor>,
    /// A save refused because the value changed on the server meanwhile.
    pub conflict: Option<WriteOp>,
    /// Inputs of the key and element actions.
    pub inputs: EditInputs,
    /// A search inside the collection, when one is shown.
    pub found: Option<Found>,
    /// The element edited in its row.
    pub inline: Option<InlineEdit>,
    /// The Laravel cache tags of the key, once read (a tagged entry only).
    pub tags: Option<Vec<crate::backend::laravel::Tag>>,
}

/// Text fields of the viewer's actions (TTL, rename, copy, element edits, additions, find).
/// The selected element's edit and the form that adds one have separate fields: typing a new
/// element never changes the one being edited, and the other way round.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EditInputs {
    /// New TTL as typed.
    pub ttl: String,
    /// Why the TTL was refused.
    pub ttl_error: Option<String>,
    /// New name for rename or copy.
    pub new_name: String,
    /// The edited value of the selected element.
    pub value: String,
    /// The edited score of the selected sorted-set member.
    pub score: String,
    /// Field, member or entry fields (`f=v` per line) of an element to add.
    pub add_field: String,
    /// Value (or list element, or member) of an element to add.
    pub add_value: String,
    /// Score of a sorted-set member to add.
    pub add_score: String,
    /// What to look for inside the collection (a glob, or text to find anywhere).
    pub find: String,
    /// Why an element edit was refused.
    pub error: Option<String>,
}

/// A search inside the open collection: the viewer shows its matches instead of the pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The glob searched for.
    pub pattern: Bytes,
    /// The list index of each match (lists only: their elements have no other name).
    pub positions: Vec<u64>,
    /// Elements looked at so far.
    pub examined: u64,
}

/// An element being edited in its row (double-click).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineEdit {
    /// The row.
    pub row: usize,
    /// The text as edited.
    pub text: String,
    /// Whether the field has taken the keyboard yet.
    pub focused: bool,
}

impl Viewer {
    /// Number of elements loaded (bytes for a string).
    #[must_use]
    pub fn loaded_len(&self) -> usize {
        match &self.items {
            None => 0,
            Some(ValueItems::String { bytes, .. }) => bytes.len(),
            Some(ValueItems::Hash(v)) => v.len(),
            Some(ValueItems::List(v) | ValueItems::Set(v)) => v.len(),
            Some(ValueItems::ZSet(v)) => v.len(),
            Some(ValueItems::Stream(v)) => v.len(),
            Some(ValueItems::Json(t)) => t.len(),
        }
    }

    pub(super) fn append(&mut self, mut page: ValueItems) {
        // HSCAN and SSCAN may return an element twice while Redis rehashes the key: the first
        // copy stays, later ones are dropped.
        match &mut page {
            ValueItems::Hash(pairs) => pairs.retain(|(f, _)| self.seen.insert(f.clone())),
            ValueItems::Set(members) => members.retain(|m| self.seen.insert(m.clone())),
            _ => {}
        }
        match (&mut self.items, page) {
            (Some(ValueItems::Hash(a)), ValueItems::Hash(b)) => a.extend(b),
            (Some(ValueItems::List(a)), ValueItems::List(b))
            | (Some(ValueItems::Set(a)), ValueItems::Set(b)) => a.extend(b),
            (Some(ValueItems::ZSet(a)), ValueItems::ZSet(b)) => a.extend(b),
            (Some(ValueItems::Stream(a)), ValueItems::Stream(b)) => a.extend(b),
            (slot, page) => *slot = Some(page),
        }
        self.pages += 1;
    }
}

impl Viewer {
    fn new(key: Bytes, mode: ValueMode) -> Self {
        Self {
            key,
            state: ViewerState::Loading,
            details: None,
            read_at: Instant::now(),
            items: None,
            seen: HashSet::new(),
            next: None,
            pages: 0,
            mode,
            selected_item: None,
            save_status: None,
            render_cache: None,
            editor: None,
            decoded_editor: None,
            conflict: None,
            inputs: EditInputs::default(),
            found: None,
            inline: None,
            tags: None,
        }
    }

    /// The list index of a row: the row itself, or where a match was found.
    #[must_use]
    pub fn list_index(&self, row: usize) -> u64 {
        match &self.found {
            Some(found) => found.positions.get(row).copied().unwrap_or(u64::MAX),
            None => row as u64,
        }
    }

    /// What the row of element `i` is called: its field, member, index or entry id.
    #[must_use]
    pub fn element_name(&self, i: usize) -> Option<String> {
        let name =
            |b: &[u8]| crate::core::format::middle_ellipsis(&escape_bytes(b), 60).into_owned();
        Some(match self.items.as_ref()? {
            ValueItems::Hash(pairs) => format!("Field `{}`", name(&pairs.get(i)?.0)),
            ValueItems::List(elems) => {
                elems.get(i)?;
                format!("Element at index {}", self.list_index(i))
            }
            ValueItems::Set(members) => format!("Member `{}`", name(members.get(i)?)),
            ValueItems::ZSet(members) => {
                let (m, score) = members.get(i)?;
                format!("Member `{}` (score {score})", name(m))
            }
            ValueItems::Stream(entries) => format!("Entry {}", name(&entries.get(i)?.id)),
            ValueItems::String { .. } | ValueItems::Json(_) => return None,
        })
    }

    /// The text an element's inline edit starts from: a value, an element, a score.
    #[must_use]
    pub fn inline_text(&self, i: usize) -> Option<String> {
        Some(match self.items.as_ref()? {
            ValueItems::Hash(pairs) => escape_bytes(&pairs.get(i)?.1),
            ValueItems::List(elems) => escape_bytes(elems.get(i)?),
            ValueItems::ZSet(members) => members.get(i)?.1.to_string(),
            _ => return None,
        })
    }

    /// The first page arrived: the mode follows what the value looks like.
    fn loaded(&mut self, details: KeyDetails, page: crate::core::model::ValuePage) {
        self.state = ViewerState::Loaded;
        self.read_at = Instant::now();
        self.next = page.next;
        let flags = details.flags;
        self.details = Some(details);
        self.mode = match &page.items {
            ValueItems::String { bytes, .. }
                if crate::core::decode::detect(bytes, flags).is_some_and(|r| r.is_ok()) =>
            {
                ValueMode::Decoded(None)
            }
            ValueItems::String { bytes, .. } if pretty_json(bytes).is_some() => ValueMode::Json,
            ValueItems::Json(_) => ValueMode::Json,
            _ if matches!(self.mode, ValueMode::Json | ValueMode::Decoded(_)) => ValueMode::Text,
            _ => self.mode,
        };
        self.append(page.items);
    }

    /// Fills the element inputs from a newly selected element.
    pub(super) fn select(&mut self, index: usize) {
        self.selected_item = Some(index);
        if self.inline.as_ref().is_some_and(|e| e.row != index) {
            self.inline = None;
        }
        let Some(items) = &self.items else { return };
        match items {
            ValueItems::Hash(pairs) => {
                if let Some((_, value)) = pairs.get(index) {
                    self.inputs.value = escape_bytes(value);
                }
            }
            ValueItems::List(elems) => {
                if let Some(e) = elems.get(index) {
                    self.inputs.value = escape_bytes(e);
                }
            }
            ValueItems::ZSet(members) => {
                if let Some((_, score)) = members.get(index) {
                    self.inputs.score = score.to_string();
                }
            }
            _ => {}
        }
        self.inputs.error = None;
    }
}

impl Session {
    /// Opens a listed key in the value viewer.
    pub(super) fn open_key(&mut self, id: KeyId) {
        if (id as usize) >= self.browser.index.len() {
            return;
        }
        self.browser.selected = Some(id);
        let key = Bytes::copy_from_slice(self.browser.index.key(id));
        let mode = self.viewer.as_ref().map_or(ValueMode::Text, |v| v.mode);
        self.viewer = Some(Viewer::new(key.clone(), mode));
        // The old key's pages and saves are of no use to the new one.
        self.forget(Pending::Page);
        self.forget(Pending::SaveValue);
        self.request(
            Pending::OpenKey,
            CommandKind::OpenKey {
                key,
                page_size: VALUE_PAGE_SIZE,
            },
        );
    }

    /// Opens a key typed by name (escaped form), whether or not a listing found it: the way
    /// to reach one key in a huge keyspace without scanning for it.
    pub(super) fn open_key_by_name(&mut self, name: &str, fx: &mut Effects) {
        let key = match crate::core::escape::unescape(name.trim()) {
            Ok(key) if !key.is_empty() => key,
            Ok(_) => return,
            Err(e) => {
                fx.notify(Level::Error, format!("key name: {e}"));
                return;
            }
        };
        // Where entries are stored by hash, the typed name is hashed here; a listed hash is
        // opened from the listing, so the two never alias.
        let key = match &self.capabilities {
            Some(caps) => caps.key_for_name(&key).to_vec(),
            None => key,
        };
        self.open_key_bytes(&key, fx);
    }

    /// Opens (or reopens) exactly this backend key, whether or not the current listing holds
    /// it: after a failed or new search the viewer's *Reload* still reaches its key.
    pub(super) fn open_key_bytes(&mut self, key: &[u8], fx: &mut Effects) {
        match self.browser.index.insert(key) {
            Ok(id) => {
                self.browser.tree_dirty = true;
                self.open_key(id);
            }
            Err(e) => fx.notify(Level::Error, e.to_string()),
        }
    }

    /// Searches inside the open collection for what the find field holds: a glob as typed,
    /// or, without glob characters, text to find anywhere.
    pub(super) fn find_in_value(&mut self) {
        let Some(v) = &mut self.viewer else { return };
        let text = v.inputs.find.trim().to_owned();
        if text.is_empty() {
            self.clear_find();
            return;
        }
        let pattern = if text.contains(['*', '?', '[']) {
            crate::core::escape::pattern_to_glob(&text)
        } else {
            let needle =
                crate::core::escape::unescape(&text).unwrap_or_else(|_| text.as_bytes().to_vec());
            crate::core::escape::pattern_to_glob(&crate::core::escape::contains_pattern(&needle))
        };
        self.start_find(Bytes::from(pattern));
    }

    /// Runs a search from the start (again, after an edit changed what matches).
    pub(super) fn start_find(&mut self, pattern: Bytes) {
        let Some(v) = &mut self.viewer else { return };
        let Some(key_type) = v.details.as_ref().map(|d| d.meta.key_type.clone()) else {
            return;
        };
        v.found = Some(Found {
            pattern: pattern.clone(),
            positions: Vec::new(),
            examined: 0,
        });
        v.items = None;
        v.seen.clear();
        v.next = None;
        v.selected_item = None;
        v.inline = None;
        v.render_cache = None;
        let kind = CommandKind::FindInValue {
            key: v.key.clone(),
            key_type,
            pattern,
            cursor: PageCursor::Start,
            page_size: VALUE_PAGE_SIZE,
        };
        self.request(Pending::Page, kind);
    }

    /// Leaves the search: the value's own pages are read again.
    pub(super) fn clear_find(&mut self) {
        let Some(v) = &mut self.viewer else { return };
        v.inputs.find.clear();
        if v.found.is_some() {
            let key = v.key.clone();
            let inputs = std::mem::take(&mut v.inputs);
            let mut fx = Effects::default();
            self.open_key_bytes(&key, &mut fx);
            if let Some(v) = &mut self.viewer {
                v.inputs = inputs;
            }
        }
    }

    /// Loads the next page of the open value (or of the search inside it).
    pub(super) fn load_more(&mut self) {
        if self.is_pending(Pending::Page) {
            return;
        }
        let Some(v) = &self.viewer else { return };
        let (Some(next), Some(details)) = (v.next.clone(), &v.details) else {
            return;
        };
        if let Some(found) = &v.found {
            let kind = CommandKind::FindInValue {
                key: v.key.clone(),
                key_type: details.meta.key_type.clone(),
                pattern: found.pattern.clone(),
                cursor: next,
                page_size: VALUE_PAGE_SIZE,
            };
            self.request(Pending::Page, kind);
            return;
        }
        let kind = CommandKind::ReadPage {
            key: v.key.clone(),
            key_type: details.meta.key_type.clone(),
            cursor: next,
            page_size: VALUE_PAGE_SIZE,
        };
        self.request(Pending::Page, kind);
    }

    /// Saves the open string value to a file.
    pub(super) fn save_value(&mut self, path: PathBuf) {
        let Some(v) = &mut self.viewer else { return };
        v.save_status = Some(format!("saving to {}…", path.display()));
        let key = v.key.clone();
        self.request(Pending::SaveValue, CommandKind::SaveValue { key, path });
    }

    /// Selects an element of the open collection.
    pub(super) fn select_element(&mut self, index: usize) {
        if let Some(v) = &mut self.viewer {
            v.select(index);
        }
    }

    /// The viewer's key, a page or a save finished.
    pub(super) fn viewer_event(&mut self, kind: EventKind) {
        let Some(v) = &mut self.viewer else { return };
        match kind {
            EventKind::KeyOpened { key, details, page } if v.key == key => {
                if let Some(id) = self.browser.index.find(&key) {
                    self.browser
                        .meta
                        .insert(id, MetaSlot::Ready(details.meta.clone(), Instant::now()));
                }
                v.loaded(details, page);
                self.ask_tags(&key);
            }
            EventKind::Page { key, page } if v.key == key && v.found.is_none() => {
                v.next = page.next;
                v.append(page.items);
            }
            EventKind::Found { key, pattern, page }
                if v.key == key && v.found.as_ref().is_some_and(|f| f.pattern == pattern) =>
            {
                if let Some(found) = &mut v.found {
                    found.positions.extend(page.positions);
                    found.examined += page.examined;
                }
                v.next = page.next;
                // An empty first page still shows as an empty table of the right kind.
                v.append(page.items);
            }
            EventKind::Saved { path, bytes } => {
                v.save_status = Some(format!(
                    "saved {} to {}",
                    human_bytes(bytes),
                    path.display()
                ));
            }
            _ => {}
        }
    }

    /// The viewer's key, a page or a save failed.
    pub(super) fn viewer_failed(&mut self, pending: Pending, text: String) {
        let Some(v) = &mut self.viewer else { return };
        match pending {
            Pending::OpenKey => {
                v.state = ViewerState::Failed(text);
                if let Some(id) = self.browser.selected {
                    self.browser.meta.insert(id, MetaSlot::Gone);
                }
            }
            Pending::Page => v.state = ViewerState::Failed(text),
            _ => v.save_status = Some(format!("save failed: {text}")),
        }
    }
}
