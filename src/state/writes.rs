//! Everything a connection can change on the server: edits, TTLs, renames, deletes with undo,
//! element edits of collections, and how each answer is folded back into the browser and the
//! viewer. Every change goes through [`Session::submit`], where a read-only profile refuses it
//! and a production profile asks first.

use bytes::Bytes;

use super::{BulkPhase, Confirm, Effects, Level, Pending, Session, Viewer};
use crate::core::edit::{EditMode, ValueEditor};
use crate::core::escape::unescape;
use crate::core::format::{group_digits, key_label};
use crate::core::model::{
    DumpedKey, Expect, KeyType, TtlChange, ValueItems, WriteOp, WriteOutcome,
};
use crate::core::ttl::{TtlInputError, now_unix_ms, parse_ttl};
use crate::service::{CommandKind, EventKind};

/// Deletes of at most this many keys are saved first so they can be undone.
pub const UNDO_LIMIT: usize = 100;

/// How the user answers a save conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictChoice {
    /// Load the server's value (the edit is dropped).
    Reload,
    /// Save anyway, replacing the other writer's change.
    Overwrite,
    /// Keep editing.
    Cancel,
}

/// The last change of this session that can be taken back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UndoEntry {
    /// What was saved before the change.
    pub saved: Vec<DumpedKey>,
    /// "user:42:profile" or "3 keys", for the undo bar.
    pub label: String,
    /// What the change was.
    pub kind: UndoKind,
}

/// What an undo takes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UndoKind {
    /// A delete: the keys come back, with their TTLs.
    Delete,
    /// A TTL change: the key gets its old TTL back (and its value, if the change expired it).
    Ttl,
}

/// A TTL under this long on a key that had none asks first.
const SHORT_TTL_MS: u64 = 60_000;

/// `field=value` lines (escaped form) of a stream entry.
pub(super) fn parse_fields(text: &str) -> Result<Vec<(Bytes, Bytes)>, String> {
    let mut fields = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let (f, v) = line
            .split_once('=')
            .ok_or_else(|| format!("`{line}`: write each field as field=value"))?;
        let f = unescape(f.trim()).map_err(|e| e.to_string())?;
        let v = unescape(v.trim()).map_err(|e| e.to_string())?;
        fields.push((Bytes::from(f), Bytes::from(v)));
    }
    if fields.is_empty() {
        return Err("give at least one field=value line".to_owned());
    }
    Ok(fields)
}

/// A sorted-set score as typed.
pub(super) fn parse_score(text: &str) -> Result<f64, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite())
        .ok_or_else(|| format!("score `{}` is not a number", text.trim()))
}

/// Bytes from their escaped form.
pub(super) fn bytes_of(text: &str) -> Result<Bytes, String> {
    unescape(text).map(Bytes::from).map_err(|e| e.to_string())
}

/// "user:42:profile" or "3 keys".
fn label_of(keys: &[Bytes]) -> String {
    match keys {
        [one] => key_label(one),
        many => format!("{} keys", many.len()),
    }
}

/// Says how many subscribers a message published on `channel` reached.
fn published(channel: &[u8], n: u64, fx: &mut Effects) {
    let who = if n == 1 { "subscriber" } else { "subscribers" };
    fx.notify(
        Level::Info,
        format!("published on {}: {n} {who} received it", key_label(channel)),
    );
}

impl Session {
    /// Sends a change; a read-only profile refuses it and a production profile asks first.
    pub(super) fn submit(&mut self, description: String, kind: CommandKind, fx: &mut Effects) {
        if !self.writable() {
            fx.notify(
                Level::Error,
                format!(
                    "profile `{}` is read-only: writes are refused",
                    self.profile.name
                ),
            );
            return;
        }
        if self.profile.production {
            fx.ask(Confirm::Production {
                conn: self.conn,
                description,
                kind,
            });
            return;
        }
        self.send_write(kind);
    }

    /// Sends a change without asking (asked already, or no need).
    pub(super) fn send_write(&mut self, kind: CommandKind) {
        let pending = match kind {
            CommandKind::DeleteMatching { .. } => Pending::BulkDelete,
            CommandKind::ImportFile { .. } | CommandKind::CopyKeys { .. } => {
                return self.send_move(kind);
            }
            _ => Pending::Write,
        };
        self.request(pending, kind);
    }

    /// Sends one change, described in words for a production profile's question.
    pub(super) fn write(&mut self, op: WriteOp, fx: &mut Effects) {
        let keys: Vec<String> = op.keys().iter().map(|k| key_label(k)).collect();
        let description = if keys.is_empty() {
            op.action().to_owned()
        } else {
            format!("{} {}", op.action(), keys.join(", "))
        };
        self.submit(description, CommandKind::Write { op }, fx);
    }

    /// The viewer, when the connection may write.
    fn writable_viewer(&mut self) -> Option<&mut Viewer> {
        if self.writable() {
            self.viewer.as_mut()
        } else {
            None
        }
    }

    /// Opens the string editor on the loaded value.
    pub(super) fn open_editor(&mut self) {
        let Some(v) = self.writable_viewer() else {
            return;
        };
        if let Some(ValueItems::String { bytes, total_len }) = &v.items
            && bytes.len() as u64 == *total_len
        {
            v.editor = Some(ValueEditor::new(bytes.clone()));
            v.conflict = None;
        }
    }

    /// Saves the string editor, keeping the TTL and refusing to overwrite another writer.
    pub(super) fn save_editor(&mut self, fx: &mut Effects) {
        let Some(v) = self.writable_viewer() else {
            return;
        };
        let Some(editor) = &mut v.editor else { return };
        let value = match editor.value() {
            Ok(value) => value,
            Err(e) => {
                editor.error = Some(e);
                return;
            }
        };
        editor.error = None;
        let op = WriteOp::SetString {
            key: v.key.clone(),
            value,
            ttl: TtlChange::Keep,
            expect: Expect::Value(editor.original.clone()),
        };
        self.write(op, fx);
    }

    /// Opens the editor of a decoded value's scalars (PHP `serialize()` data, plain or base64).
    pub(super) fn open_decoded_editor(&mut self) {
        let Some(v) = self.writable_viewer() else {
            return;
        };
        let Some(ValueItems::String { bytes, total_len }) = &v.items else {
            return;
        };
        if bytes.len() as u64 != *total_len {
            return;
        }
        let flags = v.details.as_ref().and_then(|d| d.flags);
        let decoded = match v.mode {
            super::ValueMode::Decoded(Some(format)) => {
                crate::core::decode::decode_as(bytes, format)
            }
            _ => crate::core::decode::detect(bytes, flags)
                .unwrap_or_else(|| Err("no known format was recognised".to_owned())),
        };
        let decoded = match decoded {
            Ok(d) => d,
            Err(e) => {
                v.inputs.error = Some(e);
                return;
            }
        };
        if let Err(e) = crate::core::decode::reencode(&decoded.steps, &decoded.node) {
            v.inputs.error = Some(e);
            return;
        }
        let leaves = crate::core::decode::scalars(&decoded.node);
        v.decoded_editor = Some(super::DecodedEditor {
            steps: decoded.steps,
            node: decoded.node,
            paths: leaves.iter().map(|l| l.path.clone()).collect(),
            texts: leaves.into_iter().map(|l| l.text).collect(),
            original: bytes.clone(),
            error: None,
        });
    }

    /// Saves the edited scalars, re-serialized and wrapped as before, keeping the TTL and
    /// refusing to overwrite a concurrent change.
    pub(super) fn save_decoded_editor(&mut self, fx: &mut Effects) {
        let Some(v) = self.writable_viewer() else {
            return;
        };
        let Some(ed) = &mut v.decoded_editor else {
            return;
        };
        let encoded = crate::core::decode::with_scalars(&ed.node, &ed.texts)
            .and_then(|node| crate::core::decode::reencode(&ed.steps, &node));
        let value = match encoded {
            Ok(value) => value,
            Err(e) => {
                ed.error = Some(e);
                return;
            }
        };
        ed.error = None;
        let op = WriteOp::SetString {
            key: v.key.clone(),
            value: Bytes::from(value),
            ttl: TtlChange::Keep,
            expect: Expect::Value(ed.original.clone()),
        };
        self.write(op, fx);
    }

    /// Answers a save conflict.
    pub(super) fn resolve_conflict(&mut self, choice: ConflictChoice, fx: &mut Effects) {
        let Some(v) = &mut self.viewer else { return };
        let Some(op) = v.conflict.take() else { return };
        let key = v.key.clone();
        match choice {
            ConflictChoice::Cancel => {}
            ConflictChoice::Reload => self.reopen(&key),
            ConflictChoice::Overwrite => {
                let op = match op {
                    WriteOp::SetString {
                        key, value, ttl, ..
                    } => WriteOp::SetString {
                        key,
                        value,
                        ttl,
                        expect: Expect::Any,
                    },
                    WriteOp::HashSet {
                        key, field, value, ..
                    } => WriteOp::HashSet {
                        key,
                        field,
                        value,
                        expect: Expect::Any,
                    },
                    WriteOp::ListSet {
                        key, index, value, ..
                    } => WriteOp::ListSet {
                        key,
                        index,
                        value,
                        expect: None,
                    },
                    other => other,
                };
                self.write(op, fx);
            }
        }
    }

    /// Applies the TTL typed in the viewer; refused inline with a reason, nothing sent. A TTL
    /// that would end the key much sooner than it would have ended asks first.
    pub(super) fn apply_ttl(&mut self, fx: &mut Effects) {
        let conn = self.conn;
        let Some(v) = self.writable_viewer() else {
            return;
        };
        let key = v.key.clone();
        let now = now_unix_ms();
        match parse_ttl(&v.inputs.ttl, now) {
            Ok(ttl) => {
                v.inputs.ttl_error = None;
                match short_ttl_reason(v, ttl, now) {
                    Some(reason) => fx.ask(Confirm::ShortTtl {
                        conn,
                        key,
                        ttl,
                        reason,
                    }),
                    None => self.change_ttl(key, ttl, fx),
                }
            }
            Err(TtlInputError::InPast(when)) => {
                v.inputs.ttl_error = Some(format!(
                    "{when} is in the past: confirm to delete the key now"
                ));
                fx.ask(Confirm::PastTtl { conn, key });
            }
            Err(e) => v.inputs.ttl_error = Some(e.to_string()),
        }
    }

    /// Removes the open key's TTL.
    pub(super) fn persist(&mut self, fx: &mut Effects) {
        let Some(v) = self.writable_viewer() else {
            return;
        };
        let key = v.key.clone();
        self.change_ttl(key, TtlChange::Persist, fx);
    }

    /// Changes a key's TTL, saving the key first so the change can be undone.
    pub(super) fn change_ttl(&mut self, key: Bytes, ttl: TtlChange, fx: &mut Effects) {
        let description = format!(
            "set the TTL of {} {}",
            key_label(&key),
            crate::core::format::ttl_readout(ttl, now_unix_ms())
        );
        self.submit(description, CommandKind::ChangeTtl { key, ttl }, fx);
    }

    /// Renames (or copies) the open key to the name typed; an existing target is asked about.
    pub(super) fn rename_open_key(&mut self, copy: bool, fx: &mut Effects) {
        let Some(v) = self.writable_viewer() else {
            return;
        };
        let to = match bytes_of(v.inputs.new_name.trim()) {
            Ok(to) if !to.is_empty() => to,
            Ok(_) => {
                v.inputs.error = Some("type the new key name".to_owned());
                return;
            }
            Err(e) => {
                v.inputs.error = Some(e);
                return;
            }
        };
        v.inputs.error = None;
        let from = v.key.clone();
        let op = if copy {
            WriteOp::Copy {
                from,
                to,
                overwrite: false,
            }
        } else {
            WriteOp::Rename {
                from,
                to,
                overwrite: false,
            }
        };
        self.write(op, fx);
    }

    /// Deletes the open key (saved first, so it can be undone).
    pub(super) fn delete_open_key(&mut self, fx: &mut Effects) {
        if let Some(key) = self.viewer.as_ref().map(|v| v.key.clone()) {
            self.delete_keys(vec![key], fx);
        }
    }

    /// Deletes the keys marked in the list.
    pub(super) fn delete_marked(&mut self, fx: &mut Effects) {
        let b = &self.browser;
        let keys: Vec<Bytes> = b
            .marked
            .iter()
            .map(|&id| Bytes::copy_from_slice(b.index.key(id)))
            .collect();
        if !keys.is_empty() {
            self.delete_keys(keys, fx);
        }
    }

    /// Deletes keys, saving them first (so they can be undone) when there are few enough.
    pub(super) fn delete_keys(&mut self, keys: Vec<Bytes>, fx: &mut Effects) {
        let description = match keys.as_slice() {
            [one] => format!("delete {}", key_label(one)),
            many => format!("delete {} keys", many.len()),
        };
        let kind = if keys.len() <= UNDO_LIMIT {
            CommandKind::DeleteWithUndo { keys }
        } else {
            CommandKind::Write {
                op: WriteOp::Delete { keys },
            }
        };
        self.submit(description, kind, fx);
    }

    /// Takes back the last delete (the keys come back with their TTLs) or TTL change (the
    /// old TTL comes back, and the value too if the change expired the key).
    pub(super) fn undo(&mut self, fx: &mut Effects) {
        if !self.writable() {
            return;
        }
        let Some(entry) = self.undo.take() else {
            return;
        };
        match entry.kind {
            UndoKind::Delete => self.write(WriteOp::Restore { keys: entry.saved }, fx),
            UndoKind::Ttl => {
                for saved in entry.saved {
                    let description = format!("put back the TTL of {}", key_label(&saved.key));
                    self.submit(description, CommandKind::UndoTtl { saved }, fx);
                }
            }
        }
    }

    /// Saves the edited value of the selected element (hash field, list element, zset score).
    pub(super) fn save_element(&mut self, fx: &mut Effects) {
        let Some(v) = self.writable_viewer() else {
            return;
        };
        let (Some(i), Some(items)) = (v.selected_item, &v.items) else {
            return;
        };
        let key = v.key.clone();
        let value = match bytes_of(&v.inputs.value) {
            Ok(value) => value,
            Err(e) => {
                v.inputs.error = Some(e);
                return;
            }
        };
        let op = match items {
            ValueItems::Hash(pairs) => pairs.get(i).map(|(f, old)| WriteOp::HashSet {
                key,
                field: f.clone(),
                value,
                expect: Expect::Value(old.clone()),
            }),
            ValueItems::List(elems) => elems.get(i).map(|old| WriteOp::ListSet {
                key,
                index: i64::try_from(v.list_index(i)).unwrap_or(i64::MAX),
                value,
                expect: Some(old.clone()),
            }),
            ValueItems::ZSet(members) => match parse_score(&v.inputs.score) {
                Ok(score) => members.get(i).map(|(m, _)| WriteOp::ZSetAdd {
                    key,
                    member: m.clone(),
                    score,
                }),
                Err(e) => {
                    v.inputs.error = Some(e);
                    return;
                }
            },
            _ => None,
        };
        v.inputs.error = None;
        if let Some(op) = op {
            self.write(op, fx);
        }
    }

    /// Removes the selected element.
    pub(super) fn remove_element(&mut self, fx: &mut Effects) {
        let Some(v) = self.writable_viewer() else {
            return;
        };
        let (Some(i), Some(items)) = (v.selected_item, &v.items) else {
            return;
        };
        let key = v.key.clone();
        let op = match items {
            ValueItems::Hash(pairs) => pairs.get(i).map(|(f, _)| WriteOp::HashDelete {
                key,
                fields: vec![f.clone()],
            }),
            ValueItems::List(elems) => elems.get(i).map(|old| WriteOp::ListRemoveAt {
                key,
                index: i64::try_from(v.list_index(i)).unwrap_or(i64::MAX),
                expect: old.clone(),
            }),
            ValueItems::Set(members) => members.get(i).map(|m| WriteOp::SetRemove {
                key,
                members: vec![m.clone()],
            }),
            ValueItems::ZSet(members) => members.get(i).map(|(m, _)| WriteOp::ZSetRemove {
                key,
                members: vec![m.clone()],
            }),
            ValueItems::Stream(entries) => entries.get(i).map(|e| WriteOp::StreamDelete {
                key,
                ids: vec![e.id.clone()],
            }),
            _ => None,
        };
        if let Some(op) = op {
            self.write(op, fx);
        }
    }

    /// Adds an element from the viewer's inputs: a hash field, a list element (head or tail),
    /// a set member, a scored member or a stream entry.
    pub(super) fn add_element(&mut self, head: bool, fx: &mut Effects) {
        let Some(v) = self.writable_viewer() else {
            return;
        };
        let Some(details) = &v.details else { return };
        let key = v.key.clone();
        let inputs = &v.inputs;
        let op: Result<WriteOp, String> = match details.meta.key_type {
            KeyType::Hash => bytes_of(&inputs.add_field).and_then(|field| {
                if field.is_empty() {
                    return Err("type the field name".to_owned());
                }
                Ok(WriteOp::HashSet {
                    key,
                    field,
                    value: bytes_of(&inputs.add_value)?,
                    expect: Expect::Absent,
                })
            }),
            KeyType::List => {
                bytes_of(&inputs.add_value).map(|value| WriteOp::ListPush { key, head, value })
            }
            KeyType::Set => bytes_of(&inputs.add_value).map(|m| WriteOp::SetAdd {
                key,
                members: vec![m],
            }),
            KeyType::ZSet => parse_score(&inputs.add_score).and_then(|score| {
                Ok(WriteOp::ZSetAdd {
                    key,
                    member: bytes_of(&inputs.add_value)?,
                    score,
                })
            }),
            KeyType::Stream => {
                parse_fields(&inputs.add_field).map(|fields| WriteOp::StreamAdd { key, fields })
            }
            _ => Err("this type has no elements to add".to_owned()),
        };
        match op {
            Ok(op) => {
                v.inputs.error = None;
                self.write(op, fx);
            }
            Err(e) => v.inputs.error = Some(e),
        }
    }

    /// The answer to a change, a preview or a pattern delete.
    pub(super) fn write_event(&mut self, kind: EventKind, fx: &mut Effects) {
        match kind {
            EventKind::Previewed { matched, sample } => {
                if let Some(b) = &mut self.bulk {
                    b.phase = BulkPhase::Previewed { matched, sample };
                }
            }
            EventKind::DeleteProgress(p) => {
                if let Some(b) = &mut self.bulk {
                    b.phase = BulkPhase::Deleting {
                        deleted: p.deleted,
                        progress: p.progress,
                    };
                }
            }
            EventKind::DeleteDone(result) => {
                if let Some(b) = &mut self.bulk {
                    b.phase = BulkPhase::Done {
                        deleted: result.deleted,
                        cancelled: result.cancelled,
                    };
                }
                fx.notify(
                    Level::Info,
                    format!(
                        "deleted {} keys{}",
                        group_digits(result.deleted),
                        if result.cancelled { " (stopped)" } else { "" }
                    ),
                );
                self.refresh_listing();
            }
            EventKind::Deleted { saved, deleted } => self.deleted(saved, deleted, fx),
            EventKind::TtlChanged { op, outcome, saved } => {
                if outcome != WriteOutcome::Conflict {
                    self.undo = saved.map(|saved| UndoEntry {
                        label: format!("the TTL of {}", key_label(&saved.key)),
                        saved: vec![saved],
                        kind: UndoKind::Ttl,
                    });
                }
                self.written(op, &outcome, fx);
            }
            EventKind::Written { op, outcome } => self.written(op, &outcome, fx),
            _ => {}
        }
    }

    /// A change, preview or pattern delete failed.
    pub(super) fn write_failed(&mut self, pending: Pending, text: String, fx: &mut Effects) {
        let bulk_open = self.bulk.as_ref().is_some_and(|b| {
            matches!(
                b.phase,
                BulkPhase::Previewed { .. } | BulkPhase::Deleting { .. }
            )
        });
        match (pending, &mut self.bulk) {
            (Pending::Preview | Pending::BulkDelete, Some(b)) => b.phase = BulkPhase::Failed(text),
            (Pending::Write, Some(b)) if bulk_open => b.phase = BulkPhase::Failed(text),
            _ => fx.notify(Level::Error, text),
        }
    }

    fn deleted(&mut self, saved: Vec<DumpedKey>, deleted: u64, fx: &mut Effects) {
        self.refresh_databases();
        let keys: Vec<Bytes> = saved.iter().map(|k| k.key.clone()).collect();
        self.browser.mark_gone(&keys);
        if self.viewer.as_ref().is_some_and(|v| keys.contains(&v.key)) {
            self.viewer = None;
        }
        self.undo = (!saved.is_empty()).then(|| UndoEntry {
            label: label_of(&keys),
            saved,
            kind: UndoKind::Delete,
        });
        if deleted == 0 {
            fx.notify(
                Level::Info,
                "nothing was deleted: the keys were gone already",
            );
        }
    }

    /// After a flush or a pattern delete: the counts and the listing are read again.
    pub(super) fn refresh_listing(&mut self) {
        self.refresh_databases();
        self.search();
    }

    /// Opens a key again (it may be new to the listing).
    fn reopen(&mut self, key: &Bytes) {
        if let Ok(id) = self.browser.index.insert(key) {
            self.browser.tree_dirty = true;
            self.open_key(id);
        }
    }

    fn written(&mut self, op: WriteOp, outcome: &WriteOutcome, fx: &mut Effects) {
        match outcome {
            WriteOutcome::Conflict => {
                match &mut self.viewer {
                    Some(v) if op.keys().first().is_some_and(|k| **k == v.key) => {
                        v.conflict = Some(op);
                    }
                    _ => fx.notify(
                        Level::Warning,
                        "the value changed on the server meanwhile; nothing was written",
                    ),
                }
                return;
            }
            WriteOutcome::TargetExists => {
                let conn = self.conn;
                match op {
                    WriteOp::Rename { from, to, .. } => fx.ask(Confirm::Overwrite {
                        conn,
                        op: WriteOp::Rename {
                            from,
                            to,
                            overwrite: true,
                        },
                    }),
                    WriteOp::Copy { from, to, .. } => fx.ask(Confirm::Overwrite {
                        conn,
                        op: WriteOp::Copy {
                            from,
                            to,
                            overwrite: true,
                        },
                    }),
                    _ => {
                        if let Some(form) = &mut self.create {
                            form.error = Some("a key with this name exists already".to_owned());
                        }
                    }
                }
                return;
            }
            WriteOutcome::Done(_) => {}
        }
        if matches!(
            op,
            WriteOp::Create { .. }
                | WriteOp::Delete { .. }
                | WriteOp::Restore { .. }
                | WriteOp::Copy { .. }
                | WriteOp::Rename { .. }
        ) {
            // Key counts in the database list changed.
            self.refresh_databases();
        }
        let b = &mut self.browser;
        match op {
            WriteOp::Rename { from, to, .. } => {
                b.mark_gone(std::slice::from_ref(&from));
                b.mark_present(std::slice::from_ref(&to));
                self.reopen(&to);
            }
            WriteOp::Copy { to, .. } => {
                b.mark_present(std::slice::from_ref(&to));
                self.reopen(&to);
            }
            WriteOp::Create { key, .. } => {
                self.create = None;
                b.mark_present(std::slice::from_ref(&key));
                self.reopen(&key);
            }
            WriteOp::Delete { keys } => {
                b.mark_gone(&keys);
                if self.viewer.as_ref().is_some_and(|v| keys.contains(&v.key)) {
                    self.viewer = None;
                }
            }
            WriteOp::Restore { keys } => {
                let names: Vec<Bytes> = keys.iter().map(|k| k.key.clone()).collect();
                b.mark_present(&names);
                fx.notify(Level::Info, format!("restored {}", label_of(&names)));
            }
            WriteOp::FlushDb
            | WriteOp::FlushAll
            | WriteOp::Flush { .. }
            | WriteOp::PurgeExpired => {
                fx.notify(Level::Info, self.flush_note(&op, outcome.changed()));
                self.viewer = None;
                self.undo = None;
                self.refresh_listing();
            }
            WriteOp::ResetSlowLog => {
                fx.notify(Level::Info, "the slow log was reset");
                self.load_slow_log();
            }
            WriteOp::KillClient { id, .. } => {
                fx.notify(Level::Info, format!("client {id} was disconnected"));
                self.load_clients();
            }
            WriteOp::Publish { channel, .. } => published(&channel, outcome.changed(), fx),
            other => self.value_written(&other, outcome.changed()),
        }
    }

    /// What a flush (or a purge) did, in words, for the note after it.
    fn flush_note(&self, op: &WriteOp, changed: u64) -> String {
        let name = &self.profile.name;
        let removed = group_digits(changed);
        match op {
            WriteOp::FlushDb => format!("flushed db{} of {name}: {removed} keys removed", self.db),
            WriteOp::FlushAll => {
                format!("flushed every database of {name}: {removed} keys removed")
            }
            WriteOp::Flush { server, delay_secs } => {
                let what = server
                    .as_ref()
                    .map_or_else(|| name.clone(), |s| format!("{s} of {name}"));
                if *delay_secs > 0 {
                    format!("{what} will be flushed in {delay_secs} s")
                } else {
                    format!("flushed {what}: {removed} keys removed")
                }
            }
            _ => format!("purged {removed} expired entries of {name}"),
        }
    }

    /// A value or TTL edit. An element edit is applied to the loaded pages in place, so the
    /// user keeps their place in a big collection; anything else reloads.
    fn value_written(&mut self, op: &WriteOp, changed: u64) {
        let Some(key) = op.keys().first().map(|k| (*k).clone()) else {
            return;
        };
        if let Some(id) = self.browser.index.find(&key) {
            self.browser.meta.remove(&id);
        }
        if let Some(v) = self.viewer.as_mut().filter(|v| v.key == key)
            && !patch_loaded(v, op, changed)
        {
            // What a search shows may have changed: search again rather than leave it.
            match v.found.as_ref().map(|f| f.pattern.clone()) {
                Some(pattern) => self.start_find(pattern),
                None => self.reopen(&key),
            }
        }
    }

    /// Saves the element edited in its row (Enter there): it becomes the selected element's
    /// edit, saved as the form below would save it.
    pub(super) fn save_inline(&mut self, fx: &mut Effects) {
        let Some(v) = self.writable_viewer() else {
            return;
        };
        let Some(edit) = v.inline.take() else { return };
        v.selected_item = Some(edit.row);
        if matches!(v.items, Some(ValueItems::ZSet(_))) {
            v.inputs.score = edit.text;
        } else {
            v.inputs.value = edit.text;
        }
        self.save_element(fx);
    }

    /// Starts editing element `row` in its row.
    pub(super) fn edit_inline(&mut self, row: usize) {
        let Some(v) = self.writable_viewer() else {
            return;
        };
        if let Some(text) = v.inline_text(row) {
            v.select(row);
            v.inline = Some(super::viewer::InlineEdit {
                row,
                text,
                focused: false,
            });
        }
    }
}

/// Applies an element edit that succeeded to the pages already loaded. Returns false when the
/// edit cannot be mirrored locally (the key must be reloaded then). `changed` is how many
/// fields or members the server reported changed.
fn patch_loaded(v: &mut Viewer, op: &WriteOp, changed: u64) -> bool {
    if v.found.is_some()
        && let Some(done) = patch_found(v, op)
    {
        return done;
    }
    let (Some(items), Some(details)) = (v.items.as_mut(), v.details.as_mut()) else {
        return false;
    };
    let all_loaded = v.next.is_none();
    let mut removed = Vec::new();
    match (items, op) {
        (ValueItems::Hash(pairs), WriteOp::HashSet { field, value, .. }) => {
            if let Some(pair) = pairs.iter_mut().find(|(f, _)| f == field) {
                pair.1 = value.clone();
            } else {
                pairs.push((field.clone(), value.clone()));
                details.length += 1;
            }
        }
        (ValueItems::Hash(pairs), WriteOp::HashDelete { fields, .. }) => {
            retain_indexed(pairs, |(f, _)| !fields.contains(f), &mut removed);
            details.length = details.length.saturating_sub(changed);
        }
        (ValueItems::List(elems), WriteOp::ListSet { index, value, .. }) => {
            match usize::try_from(*index).ok().and_then(|i| elems.get_mut(i)) {
                Some(slot) => *slot = value.clone(),
                None => return false,
            }
        }
        (ValueItems::List(elems), WriteOp::ListRemoveAt { index, .. }) => {
            let Some(i) = usize::try_from(*index).ok().filter(|i| *i < elems.len()) else {
                return false;
            };
            elems.remove(i);
            removed.push(i);
            details.length = details.length.saturating_sub(1);
        }
        (ValueItems::List(elems), WriteOp::ListPush { head, value, .. }) => {
            if *head {
                elems.insert(0, value.clone());
            } else if all_loaded {
                elems.push(value.clone());
            }
            details.length += 1;
        }
        (ValueItems::Set(members), WriteOp::SetAdd { members: added, .. }) => {
            for m in added {
                if !members.contains(m) {
                    members.push(m.clone());
                }
            }
            details.length += changed;
        }
        (ValueItems::Set(members), WriteOp::SetRemove { members: gone, .. }) => {
            retain_indexed(members, |m| !gone.contains(m), &mut removed);
            details.length = details.length.saturating_sub(changed);
        }
        (ValueItems::ZSet(members), WriteOp::ZSetAdd { member, score, .. }) => {
            if let Some(entry) = members.iter_mut().find(|(m, _)| m == member) {
                entry.1 = *score;
            } else {
                members.push((member.clone(), *score));
                details.length += 1;
            }
        }
        (ValueItems::ZSet(members), WriteOp::ZSetRemove { members: gone, .. }) => {
            retain_indexed(members, |(m, _)| !gone.contains(m), &mut removed);
            details.length = details.length.saturating_sub(changed);
        }
        (ValueItems::Stream(entries), WriteOp::StreamDelete { ids, .. }) => {
            retain_indexed(entries, |e| !ids.contains(&e.id), &mut removed);
            details.length = details.length.saturating_sub(changed);
        }
        _ => return false,
    }
    if !removed.is_empty() {
        // Indices after a removal shift: drop the selection rather than point at a neighbour.
        v.selected_item = None;
    }
    // Keep the duplicate filter of later pages in step with what is loaded now.
    match op {
        WriteOp::HashSet { field, .. } => {
            v.seen.insert(field.clone());
        }
        WriteOp::SetAdd { members, .. } => v.seen.extend(members.iter().cloned()),
        WriteOp::HashDelete { fields: gone, .. } | WriteOp::SetRemove { members: gone, .. } => {
            for g in gone {
                v.seen.remove(g);
            }
        }
        _ => {}
    }
    v.render_cache = None;
    true
}

/// How an edit shows in the matches of a search: `Some(true)` when it was mirrored here (a
/// list element edited at its index), `Some(false)` when the search must run again (an
/// addition may match; a list removal or push moves indices), `None` when the general patch
/// applies (an edit of a match in place, a removal).
fn patch_found(v: &mut Viewer, op: &WriteOp) -> Option<bool> {
    let positions = v
        .found
        .as_ref()
        .map(|f| f.positions.clone())
        .unwrap_or_default();
    match (v.items.as_mut(), op) {
        (Some(ValueItems::List(elems)), WriteOp::ListSet { index, value, .. }) => {
            let row = positions
                .iter()
                .position(|&p| i64::try_from(p).ok() == Some(*index));
            let slot = row.and_then(|r| elems.get_mut(r))?;
            *slot = value.clone();
            v.render_cache = None;
            Some(true)
        }
        (_, WriteOp::ListRemoveAt { .. } | WriteOp::ListPush { .. } | WriteOp::SetAdd { .. }) => {
            Some(false)
        }
        (Some(ValueItems::Hash(pairs)), WriteOp::HashSet { field, .. })
            if !pairs.iter().any(|(f, _)| f == field) =>
        {
            Some(false)
        }
        (Some(ValueItems::ZSet(members)), WriteOp::ZSetAdd { member, .. })
            if !members.iter().any(|(m, _)| m == member) =>
        {
            Some(false)
        }
        _ => None,
    }
}

/// `Vec::retain` that also reports the indices it removed.
fn retain_indexed<T>(items: &mut Vec<T>, keep: impl Fn(&T) -> bool, removed: &mut Vec<usize>) {
    let mut i = 0;
    items.retain(|item| {
        let kept = keep(item);
        if !kept {
            removed.push(i);
        }
        i += 1;
        kept
    });
}

/// The edit mode buttons offer these.
pub const EDIT_MODES: [(EditMode, &str); 3] = [
    (EditMode::Text, "Text"),
    (EditMode::Json, "JSON"),
    (EditMode::Hex, "Hex"),
];

/// Why a TTL asks first, if it does: under a minute on a key that had none, or under a tenth of
/// what the key had left.
fn short_ttl_reason(v: &Viewer, ttl: TtlChange, now_ms: u64) -> Option<String> {
    use crate::core::model::Ttl;
    use crate::core::ttl::duration_words as words;
    let new_ms = crate::core::ttl::expires_in_ms(ttl, now_ms)?;
    let key = key_label(&v.key);
    match v.details.as_ref()?.meta.ttl {
        Ttl::Persistent => (new_ms < SHORT_TTL_MS).then(|| {
            format!(
                "`{key}` has no TTL now: with this one it is deleted in {}.",
                words(new_ms)
            )
        }),
        Ttl::ExpiresInMs(ms) => {
            let elapsed = u64::try_from(v.read_at.elapsed().as_millis()).unwrap_or(u64::MAX);
            let left = ms.saturating_sub(elapsed);
            (new_ms < left / 10).then(|| {
                format!(
                    "`{key}` has {} left: with this TTL it is deleted in {}.",
                    words(left),
                    words(new_ms)
                )
            })
        }
        Ttl::Unknown => None,
    }
}
