//! Everything the UI can change on the server: edits, TTLs, renames, deletes with undo, delete
//! by pattern and flush, with the confirmations production profiles and flushes need.

use bytes::Bytes;

use super::{
    AppState, BulkDelete, BulkPhase, Confirm, CreateForm, Level, SCAN_COUNT, Session, UndoEntry,
    key_label,
};
use crate::core::edit::{EditMode, ValueEditor};
use crate::core::escape::{pattern_to_glob, unescape};
use crate::core::model::{KeyType, NewValue, ScanRequest, TtlChange, ValueItems, WriteOp, WriteOutcome};
use crate::service::{CommandKind, ConnId, EventKind, ReqId};
use crate::core::ttl::{TtlInputError, now_unix_ms, parse_ttl};

/// Deletes of at most this many keys are saved first so they can be undone.
pub const UNDO_LIMIT: usize = 100;
/// Keys shown in a delete-by-pattern preview.
pub const PREVIEW_SAMPLE: usize = 20;

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

fn parse_fields(text: &str) -> Result<Vec<(Bytes, Bytes)>, String> {
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

fn parse_score(text: &str) -> Result<f64, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite())
        .ok_or_else(|| format!("score `{}` is not a number", text.trim()))
}

fn bytes_of(text: &str) -> Result<Bytes, String> {
    unescape(text).map(Bytes::from).map_err(|e| e.to_string())
}

impl AppState {
    fn active_writable(&mut self) -> Option<&mut Session> {
        let s = self.sessions.get_mut(self.active)?;
        if s.capabilities.as_ref().is_some_and(|c| c.write) {
            Some(s)
        } else {
            None
        }
    }

    /// Sends a change for the active session; a production profile asks first.
    pub fn submit(&mut self, description: String, kind: CommandKind) {
        let Some(s) = self.sessions.get(self.active) else {
            return;
        };
        if !s.capabilities.as_ref().is_some_and(|c| c.write) {
            let name = s.profile.name.clone();
            self.notify(
                Level::Error,
                format!("profile `{name}` is read-only: writes are refused"),
            );
            return;
        }
        let conn = s.conn;
        if s.profile.production {
            self.confirm = Some(Confirm::Production {
                conn,
                description,
                kind,
            });
            return;
        }
        self.send_write(conn, kind);
    }

    fn send_write(&mut self, conn: ConnId, kind: CommandKind) -> ReqId {
        let req = self.next();
        if let Some(s) = self.sessions.iter_mut().find(|s| s.conn == conn) {
            s.write_reqs.insert(req);
        }
        self.send(conn, req, kind);
        req
    }

    fn write(&mut self, op: WriteOp) {
        let keys: Vec<String> = op.keys().iter().map(|k| key_label(k)).collect();
        let description = if keys.is_empty() {
            op.action().to_owned()
        } else {
            format!("{} {}", op.action(), keys.join(", "))
        };
        self.submit(description, CommandKind::Write { op });
    }

    /// The user said yes to the open question.
    pub fn confirm_yes(&mut self) {
        let Some(confirm) = self.confirm.take() else {
            return;
        };
        match confirm {
            Confirm::Production { conn, kind, .. } => {
                self.send_write(conn, kind);
            }
            Confirm::Overwrite { op } => self.write(op),
            Confirm::Flush(flush) => {
                if flush.typed.trim() != flush.expected {
                    self.confirm = Some(Confirm::Flush(flush));
                    return;
                }
                let op = match &flush.servers {
                    Some(_) => match flush.delay.trim().parse::<u32>() {
                        Ok(delay_secs) => WriteOp::Flush {
                            server: flush.server.clone(),
                            delay_secs,
                        },
                        Err(_) if flush.delay.trim().is_empty() => WriteOp::Flush {
                            server: flush.server.clone(),
                            delay_secs: 0,
                        },
                        Err(_) => {
                            let mut flush = flush;
                            flush.error = Some(format!(
                                "the delay must be whole seconds, not `{}`",
                                flush.delay.trim()
                            ));
                            self.confirm = Some(Confirm::Flush(flush));
                            return;
                        }
                    },
                    None if flush.all => WriteOp::FlushAll,
                    None => WriteOp::FlushDb,
                };
                self.write(op);
            }
            Confirm::PastTtl { key } => self.delete_keys(vec![key]),
            // Asked already: a production profile is not asked twice.
            Confirm::Admin { conn, op, .. } => {
                self.send_write(conn, CommandKind::Write { op });
            }
        }
    }

    /// Opens the string editor on the loaded value.
    pub fn open_editor(&mut self) {
        let Some(s) = self.active_writable() else {
            return;
        };
        let Some(v) = &mut s.viewer else { return };
        if let Some(ValueItems::String { bytes, total_len }) = &v.items
            && bytes.len() as u64 == *total_len
        {
            v.editor = Some(ValueEditor::new(bytes.clone()));
            v.conflict = None;
        }
    }

    /// Saves the string editor, keeping the TTL and refusing to overwrite another writer.
    pub fn save_editor(&mut self) {
        let Some(s) = self.active_writable() else {
            return;
        };
        let Some(v) = &mut s.viewer else { return };
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
            expect: Some(Some(editor.original.clone())),
        };
        self.write(op);
    }

    /// Opens the editor of a decoded value's scalars (PHP `serialize()` data, plain or base64).
    pub fn open_decoded_editor(&mut self) {
        let Some(s) = self.active_writable() else {
            return;
        };
        let Some(v) = &mut s.viewer else { return };
        let Some(ValueItems::String { bytes, total_len }) = &v.items else {
            return;
        };
        if bytes.len() as u64 != *total_len {
            return;
        }
        let flags = v.details.as_ref().and_then(|d| d.flags);
        let decoded = match v.mode {
            super::ValueMode::Decoded(Some(format)) => crate::core::decode::decode_as(bytes, format),
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
    pub fn save_decoded_editor(&mut self) {
        let Some(s) = self.active_writable() else {
            return;
        };
        let Some(v) = &mut s.viewer else { return };
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
            expect: Some(Some(ed.original.clone())),
        };
        self.write(op);
    }

    /// Answers a save conflict.
    pub fn resolve_conflict(&mut self, choice: ConflictChoice) {
        let Some(s) = self.sessions.get_mut(self.active) else {
            return;
        };
        let Some(v) = &mut s.viewer else { return };
        let Some(op) = v.conflict.take() else { return };
        match choice {
            ConflictChoice::Cancel => {}
            ConflictChoice::Reload => {
                if let Some(id) = s.browser.index.find(&v.key) {
                    self.open_key(id);
                }
            }
            ConflictChoice::Overwrite => {
                let op = match op {
                    WriteOp::SetString {
                        key, value, ttl, ..
                    } => WriteOp::SetString {
                        key,
                        value,
                        ttl,
                        expect: None,
                    },
                    WriteOp::HashSet {
                        key, field, value, ..
                    } => WriteOp::HashSet {
                        key,
                        field,
                        value,
                        expect: None,
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
                self.write(op);
            }
        }
    }

    /// Applies the TTL typed in the viewer; refused inline with a reason, nothing sent.
    pub fn apply_ttl(&mut self) {
        let Some(s) = self.active_writable() else {
            return;
        };
        let Some(v) = &mut s.viewer else { return };
        let key = v.key.clone();
        match parse_ttl(&v.inputs.ttl, now_unix_ms()) {
            Ok(ttl) => {
                v.inputs.ttl_error = None;
                self.write(WriteOp::SetTtl { key, ttl });
            }
            Err(TtlInputError::InPast(when)) => {
                v.inputs.ttl_error = Some(format!(
                    "{when} is in the past: confirm to delete the key now"
                ));
                self.confirm = Some(Confirm::PastTtl { key });
            }
            Err(e) => v.inputs.ttl_error = Some(e.to_string()),
        }
    }

    /// Removes the open key's TTL.
    pub fn persist(&mut self) {
        let Some(s) = self.active_writable() else {
            return;
        };
        let Some(v) = &s.viewer else { return };
        let key = v.key.clone();
        self.write(WriteOp::SetTtl {
            key,
            ttl: TtlChange::Persist,
        });
    }

    /// Renames (or copies) the open key to the name typed; an existing target is asked about.
    pub fn rename_open_key(&mut self, copy: bool) {
        let Some(s) = self.active_writable() else {
            return;
        };
        let Some(v) = &mut s.viewer else { return };
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
        self.write(if copy {
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
        });
    }

    /// Deletes the open key (saved first, so it can be undone).
    pub fn delete_open_key(&mut self) {
        let Some(key) = self
            .active_session()
            .and_then(|s| s.viewer.as_ref())
            .map(|v| v.key.clone())
        else {
            return;
        };
        self.delete_keys(vec![key]);
    }

    /// Deletes the keys marked in the list.
    pub fn delete_marked(&mut self) {
        let Some(s) = self.active_session() else {
            return;
        };
        let keys: Vec<Bytes> = s
            .browser
            .marked
            .iter()
            .map(|&id| Bytes::copy_from_slice(s.browser.index.key(id)))
            .collect();
        if !keys.is_empty() {
            self.delete_keys(keys);
        }
    }

    fn delete_keys(&mut self, keys: Vec<Bytes>) {
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
        self.submit(description, kind);
    }

    /// Puts back what the last delete removed, with its TTLs.
    pub fn undo_delete(&mut self) {
        let Some(s) = self.active_writable() else {
            return;
        };
        let Some(entry) = s.undo.take() else { return };
        self.write(WriteOp::Restore { keys: entry.saved });
    }

    /// Saves the edited value of the selected element (hash field, list element, zset score).
    pub fn save_element(&mut self) {
        let Some(s) = self.active_writable() else {
            return;
        };
        let Some(v) = &mut s.viewer else { return };
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
                expect: Some(Some(old.clone())),
            }),
            ValueItems::List(elems) => elems.get(i).map(|old| WriteOp::ListSet {
                key,
                index: i64::try_from(i).unwrap_or(i64::MAX),
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
            self.write(op);
        }
    }

    /// Removes the selected element.
    pub fn remove_element(&mut self) {
        let Some(s) = self.active_writable() else {
            return;
        };
        let Some(v) = &s.viewer else { return };
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
                index: i64::try_from(i).unwrap_or(i64::MAX),
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
            self.write(op);
        }
    }

    /// Adds an element from the viewer's inputs: a hash field, a list element (head or tail),
    /// a set member, a scored member or a stream entry.
    pub fn add_element(&mut self, head: bool) {
        let Some(s) = self.active_writable() else {
            return;
        };
        let Some(v) = &mut s.viewer else { return };
        let Some(details) = &v.details else { return };
        let key = v.key.clone();
        let inputs = &v.inputs;
        let op: Result<WriteOp, String> = match details.meta.key_type {
            KeyType::Hash => bytes_of(&inputs.field).and_then(|field| {
                if field.is_empty() {
                    return Err("type the field name".to_owned());
                }
                Ok(WriteOp::HashSet {
                    key,
                    field,
                    value: bytes_of(&inputs.value)?,
                    expect: Some(None),
                })
            }),
            KeyType::List => {
                bytes_of(&inputs.value).map(|value| WriteOp::ListPush { key, head, value })
            }
            KeyType::Set => bytes_of(&inputs.value).map(|m| WriteOp::SetAdd {
                key,
                members: vec![m],
            }),
            KeyType::ZSet => parse_score(&inputs.score).and_then(|score| {
                Ok(WriteOp::ZSetAdd {
                    key,
                    member: bytes_of(&inputs.value)?,
                    score,
                })
            }),
            KeyType::Stream => {
                parse_fields(&inputs.field).map(|fields| WriteOp::StreamAdd { key, fields })
            }
            _ => Err("this type has no elements to add".to_owned()),
        };
        match op {
            Ok(op) => {
                v.inputs.error = None;
                self.write(op);
            }
            Err(e) => v.inputs.error = Some(e),
        }
    }

    /// Opens the "new key" dialog.
    pub fn open_create(&mut self) {
        if let Some(s) = self.active_writable() {
            s.create = Some(CreateForm {
                key: String::new(),
                key_type: KeyType::String,
                field: String::new(),
                value: String::new(),
                score: "0".to_owned(),
                ttl: String::new(),
                error: None,
            });
        }
    }

    /// Creates the key described by the dialog.
    pub fn create_key(&mut self) {
        let Some(s) = self.active_writable() else {
            return;
        };
        let Some(form) = &mut s.create else { return };
        let built = (|| -> Result<WriteOp, String> {
            let key = bytes_of(form.key.trim())?;
            if key.is_empty() {
                return Err("type the key name".to_owned());
            }
            let key = match &s.capabilities {
                Some(caps) => caps.key_for_name(&key),
                None => key,
            };
            let value = match form.key_type {
                KeyType::String => NewValue::String(bytes_of(&form.value)?),
                KeyType::Hash => NewValue::Hash(bytes_of(&form.field)?, bytes_of(&form.value)?),
                KeyType::List => NewValue::List(bytes_of(&form.value)?),
                KeyType::Set => NewValue::Set(bytes_of(&form.value)?),
                KeyType::ZSet => NewValue::ZSet(bytes_of(&form.value)?, parse_score(&form.score)?),
                KeyType::Stream => NewValue::Stream(parse_fields(&form.field)?),
                _ => return Err("choose a type".to_owned()),
            };
            let ttl = if form.ttl.trim().is_empty() {
                TtlChange::Persist
            } else {
                parse_ttl(&form.ttl, now_unix_ms()).map_err(|e| e.to_string())?
            };
            Ok(WriteOp::Create { key, value, ttl })
        })();
        match built {
            Ok(op) => {
                form.error = None;
                self.write(op);
            }
            Err(e) => form.error = Some(e),
        }
    }

    /// Opens the delete-by-pattern dialog with the current search pattern.
    pub fn open_bulk_delete(&mut self) {
        if let Some(s) = self.active_writable() {
            s.bulk = Some(BulkDelete {
                pattern: s.browser.pattern.clone(),
                phase: BulkPhase::Editing,
                req: 0,
            });
        }
    }

    fn bulk_request(s: &Session) -> Option<ScanRequest> {
        let b = s.bulk.as_ref()?;
        Some(ScanRequest {
            pattern: pattern_to_glob(&b.pattern),
            type_filter: None,
            count: SCAN_COUNT,
            server: None,
        })
    }

    /// Counts what the pattern matches and shows a sample (reads only).
    pub fn preview_bulk_delete(&mut self) {
        let req = self.next();
        let Some(s) = self.active_writable() else {
            return;
        };
        let Some(request) = Self::bulk_request(s) else {
            return;
        };
        if let Some(b) = &mut s.bulk {
            b.phase = BulkPhase::Previewing;
            b.req = req;
        }
        let conn = s.conn;
        self.send(
            conn,
            req,
            CommandKind::Preview {
                request,
                sample: PREVIEW_SAMPLE,
            },
        );
    }

    /// Deletes every key the previewed pattern matches, in batches.
    pub fn run_bulk_delete(&mut self) {
        let Some(s) = self.active_writable() else {
            return;
        };
        let Some(request) = Self::bulk_request(s) else {
            return;
        };
        let Some(b) = &s.bulk else { return };
        if !matches!(b.phase, BulkPhase::Previewed { .. }) {
            return;
        }
        let description = format!("delete every key matching `{}`", b.pattern);
        self.submit(description, CommandKind::DeleteMatching { request });
    }

    /// Stops a running delete by pattern after its current batch.
    pub fn cancel_bulk_delete(&mut self) {
        let Some(s) = self.sessions.get(self.active) else {
            return;
        };
        let conn = s.conn;
        self.send(conn, 0, CommandKind::CancelDelete);
    }

    /// Deletes the entries whose TTL has run out (SQL and file caches).
    pub fn purge_expired(&mut self) {
        self.write(WriteOp::PurgeExpired);
    }

    /// Asks for a typed confirmation before flushing this database (or all of them).
    pub fn ask_flush(&mut self, all: bool) {
        let Some(s) = self.active_writable() else {
            return;
        };
        let delayable = s.capabilities.as_ref().is_some_and(|c| c.flush_delay);
        let databases = s.capabilities.as_ref().is_some_and(|c| c.databases);
        let expected = if all || delayable || !databases {
            s.profile.name.clone()
        } else {
            format!("db{}", s.db)
        };
        let servers = delayable.then(|| {
            s.capabilities
                .as_ref()
                .map(|c| c.servers.clone())
                .unwrap_or_default()
        });
        self.confirm = Some(Confirm::Flush(super::FlushConfirm {
            all,
            expected,
            typed: String::new(),
            servers,
            server: None,
            delay: String::new(),
            error: None,
        }));
    }

    /// Folds the answer to a write into the state. Returns false when the event was not one.
    pub(super) fn apply_write_event(&mut self, index: usize, req: ReqId, kind: &EventKind) -> bool {
        let Some(s) = self.sessions.get_mut(index) else {
            return false;
        };
        // A delete by pattern reports under the request that started it.
        let bulk_req = s.bulk.as_ref().map(|b| b.req);
        match kind {
            EventKind::Previewed { matched, sample } if bulk_req == Some(req) => {
                if let Some(b) = &mut s.bulk {
                    b.phase = BulkPhase::Previewed {
                        matched: *matched,
                        sample: sample.clone(),
                    };
                }
                return true;
            }
            EventKind::DeleteProgress(p) if s.write_reqs.contains(&req) => {
                if let Some(b) = &mut s.bulk {
                    b.req = req;
                    b.phase = BulkPhase::Deleting {
                        deleted: p.deleted,
                        progress: p.progress,
                    };
                }
                return true;
            }
            EventKind::DeleteDone(result) if s.write_reqs.remove(&req) => {
                if let Some(b) = &mut s.bulk {
                    b.phase = BulkPhase::Done {
                        deleted: result.deleted,
                        cancelled: result.cancelled,
                    };
                }
                let text = format!(
                    "deleted {} keys{}",
                    super::group_digits(result.deleted),
                    if result.cancelled { " (stopped)" } else { "" }
                );
                self.notify(Level::Info, text);
                self.refresh_after_bulk(index);
                return true;
            }
            EventKind::Deleted { saved, deleted } if s.write_reqs.remove(&req) => {
                let keys: Vec<Bytes> = saved.iter().map(|k| k.key.clone()).collect();
                s.browser.mark_gone(&keys);
                if s.viewer.as_ref().is_some_and(|v| keys.contains(&v.key)) {
                    s.viewer = None;
                }
                let label = match keys.as_slice() {
                    [one] => key_label(one),
                    many => format!("{} keys", many.len()),
                };
                s.undo = (!saved.is_empty()).then(|| UndoEntry {
                    saved: saved.clone(),
                    label,
                });
                if *deleted == 0 {
                    self.notify(
                        Level::Info,
                        "nothing was deleted: the keys were gone already",
                    );
                }
                return true;
            }
            EventKind::Written { op, outcome } if s.write_reqs.remove(&req) => {
                let op = op.clone();
                let outcome = outcome.clone();
                self.written(index, op, &outcome);
                return true;
            }
            _ => {}
        }
        false
    }

    fn refresh_after_bulk(&mut self, index: usize) {
        let previous = self.active;
        self.active = index;
        self.refresh_databases();
        self.search();
        self.active = previous;
    }

    fn reopen(&mut self, index: usize, key: &Bytes) {
        let previous = self.active;
        self.active = index;
        if let Some(id) = self
            .sessions
            .get_mut(index)
            .and_then(|s| s.browser.index.insert(key).ok())
        {
            self.open_key(id);
        }
        self.active = previous;
    }

    fn written(&mut self, index: usize, op: WriteOp, outcome: &WriteOutcome) {
        let Some(s) = self.sessions.get_mut(index) else {
            return;
        };
        match outcome {
            WriteOutcome::Conflict => {
                match &mut s.viewer {
                    Some(v) if op.keys().first().is_some_and(|k| **k == v.key) => {
                        v.conflict = Some(op);
                    }
                    _ => self.notify(
                        Level::Warning,
                        "the value changed on the server meanwhile; nothing was written",
                    ),
                }
                return;
            }
            WriteOutcome::TargetExists => {
                match op {
                    WriteOp::Rename { from, to, .. } => {
                        self.confirm = Some(Confirm::Overwrite {
                            op: WriteOp::Rename {
                                from,
                                to,
                                overwrite: true,
                            },
                        });
                    }
                    WriteOp::Copy { from, to, .. } => {
                        self.confirm = Some(Confirm::Overwrite {
                            op: WriteOp::Copy {
                                from,
                                to,
                                overwrite: true,
                            },
                        });
                    }
                    _ => {
                        if let Some(form) = &mut s.create {
                            form.error = Some("a key with this name exists already".to_owned());
                        }
                    }
                }
                return;
            }
            WriteOutcome::Done(_) => {}
        }
        match op {
            WriteOp::Rename { from, to, .. } => {
                s.browser.mark_gone(std::slice::from_ref(&from));
                s.browser.mark_present(std::slice::from_ref(&to));
                self.reopen(index, &to);
            }
            WriteOp::Copy { to, .. } => {
                s.browser.mark_present(std::slice::from_ref(&to));
                self.reopen(index, &to);
            }
            WriteOp::Create { key, .. } => {
                s.create = None;
                s.browser.mark_present(std::slice::from_ref(&key));
                self.reopen(index, &key);
            }
            WriteOp::Delete { keys } => {
                s.browser.mark_gone(&keys);
                if s.viewer.as_ref().is_some_and(|v| keys.contains(&v.key)) {
                    s.viewer = None;
                }
            }
            WriteOp::Restore { keys } => {
                let names: Vec<Bytes> = keys.iter().map(|k| k.key.clone()).collect();
                s.browser.mark_present(&names);
                let text = format!("restored {}", key_label_list(&names));
                self.notify(Level::Info, text);
            }
            WriteOp::FlushDb
            | WriteOp::FlushAll
            | WriteOp::Flush { .. }
            | WriteOp::PurgeExpired => {
                s.viewer = None;
                s.undo = None;
                self.refresh_after_bulk(index);
            }
            WriteOp::ResetSlowLog => {
                self.notify(Level::Info, "the slow log was reset");
                self.load_slow_log(index);
            }
            WriteOp::KillClient { id } => {
                self.notify(Level::Info, format!("client {id} was disconnected"));
                self.load_clients(index);
            }
            other => {
                // A value or TTL edit. An element edit is applied to the loaded pages in place,
                // so the user keeps their place in a big collection; anything else reloads.
                if let Some(key) = other.keys().first().map(|k| (*k).clone()) {
                    if let Some(id) = s.browser.index.find(&key) {
                        s.browser.meta.remove(&id);
                    }
                    let changed = match outcome {
                        WriteOutcome::Done(n) => *n,
                        _ => 0,
                    };
                    if let Some(v) = s.viewer.as_mut().filter(|v| v.key == key)
                        && !patch_loaded(v, &other, changed)
                    {
                        self.reopen(index, &key);
                    }
                }
            }
        }
    }

    /// Routes a failed write: `None` when `req` was not a write, else the notice text to show
    /// (if any).
    #[allow(clippy::option_option)] // "not a write" differs from "a write, nothing to say"
    pub(super) fn write_failed(s: &mut Session, req: ReqId, text: &str) -> Option<Option<String>> {
        if s.bulk.as_ref().is_some_and(|b| b.req == req) {
            if let Some(b) = &mut s.bulk {
                b.phase = BulkPhase::Failed(text.to_owned());
            }
            s.write_reqs.remove(&req);
            return Some(None);
        }
        if !s.write_reqs.remove(&req) {
            return None;
        }
        if let Some(b) = &mut s.bulk
            && matches!(
                b.phase,
                BulkPhase::Previewed { .. } | BulkPhase::Deleting { .. }
            )
        {
            b.phase = BulkPhase::Failed(text.to_owned());
            return Some(None);
        }
        Some(Some(text.to_owned()))
    }
}

/// Applies an element edit that succeeded to the pages already loaded. Returns false when the
/// edit cannot be mirrored locally (the key must be reloaded then). `changed` is how many
/// fields or members the server reported changed.
fn patch_loaded(v: &mut super::Viewer, op: &WriteOp, changed: u64) -> bool {
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

fn key_label_list(keys: &[Bytes]) -> String {
    match keys {
        [one] => key_label(one),
        many => format!("{} keys", many.len()),
    }
}

/// The edit mode buttons offer these.
pub const EDIT_MODES: [(EditMode, &str); 3] = [
    (EditMode::Text, "Text"),
    (EditMode::Json, "JSON"),
    (EditMode::Hex, "Hex"),
];
