//! The dialogs that change many keys or make one: delete by pattern (preview first), flush
//! (a typed confirmation) and "new key".

use bytes::Bytes;

use super::writes::{bytes_of, parse_fields, parse_score};
use super::{Confirm, Effects, FlushConfirm, Pending, Session};
use crate::core::escape::pattern_to_glob;
use crate::core::model::{KeyType, NewValue, ScanRequest, TtlChange, WriteOp};
use crate::core::ttl::{now_unix_ms, parse_ttl};
use crate::service::CommandKind;

/// Keys shown in a delete-by-pattern preview.
pub const PREVIEW_SAMPLE: usize = 20;

/// Where a delete by pattern stands.
#[derive(Debug, Clone, PartialEq)]
pub enum BulkPhase {
    /// The pattern is being typed.
    Editing,
    /// Counting matches.
    Previewing,
    /// Counted: this many keys, these first ones.
    Previewed {
        /// How many keys match.
        matched: u64,
        /// Some of them.
        sample: Vec<Bytes>,
    },
    /// Deleting.
    Deleting {
        /// Deleted so far.
        deleted: u64,
        /// Share of the keyspace visited.
        progress: f64,
    },
    /// Finished or cancelled.
    Done {
        /// Keys deleted.
        deleted: u64,
        /// Stopped by the user.
        cancelled: bool,
    },
    /// Failed; the reason.
    Failed(String),
}

/// The delete-by-pattern dialog.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkDelete {
    /// The pattern as typed.
    pub pattern: String,
    /// Where it stands.
    pub phase: BulkPhase,
}

/// The "new key" dialog.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateForm {
    /// Key name (escaped form).
    pub key: String,
    /// Type of the new key.
    pub key_type: KeyType,
    /// Field (hash) or member (zset) or `f=v` lines (stream).
    pub field: String,
    /// The value (string, hash value, list element, set member).
    pub value: String,
    /// Score (zset).
    pub score: String,
    /// TTL as typed; empty for none.
    pub ttl: String,
    /// Why it cannot be created.
    pub error: Option<String>,
}

impl Session {
    /// Opens the "new key" dialog.
    pub(super) fn open_create(&mut self) {
        if self.writable() {
            self.create = Some(CreateForm {
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
    pub(super) fn create_key(&mut self, fx: &mut Effects) {
        if !self.writable() {
            return;
        }
        let caps = self.capabilities.clone();
        let Some(form) = &mut self.create else { return };
        let built = (|| -> Result<WriteOp, String> {
            let key = bytes_of(form.key.trim())?;
            if key.is_empty() {
                return Err("type the key name".to_owned());
            }
            let key = match &caps {
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
                self.write(op, fx);
            }
            Err(e) => form.error = Some(e),
        }
    }

    /// Opens the delete-by-pattern dialog with the current search pattern.
    pub(super) fn open_bulk_delete(&mut self) {
        if self.writable() {
            self.bulk = Some(BulkDelete {
                pattern: self.browser.pattern.clone(),
                phase: BulkPhase::Editing,
            });
        }
    }

    fn bulk_request(&self) -> Option<ScanRequest> {
        let b = self.bulk.as_ref()?;
        Some(ScanRequest::matching(pattern_to_glob(&b.pattern)))
    }

    /// Counts what the pattern matches and shows a sample (reads only).
    pub(super) fn preview_bulk_delete(&mut self) {
        if !self.writable() {
            return;
        }
        let Some(request) = self.bulk_request() else {
            return;
        };
        if let Some(b) = &mut self.bulk {
            b.phase = BulkPhase::Previewing;
        }
        self.request(
            Pending::Preview,
            CommandKind::Preview {
                request,
                sample: PREVIEW_SAMPLE,
            },
        );
    }

    /// Deletes every key the previewed pattern matches, in batches.
    pub(super) fn run_bulk_delete(&mut self, fx: &mut Effects) {
        if !self.writable() {
            return;
        }
        let Some(request) = self.bulk_request() else {
            return;
        };
        let Some(b) = &self.bulk else { return };
        if !matches!(b.phase, BulkPhase::Previewed { .. }) {
            return;
        }
        let description = format!("delete every key matching `{}`", b.pattern);
        self.submit(description, CommandKind::DeleteMatching { request }, fx);
    }

    /// Asks for a typed confirmation before flushing this database (or all of them).
    pub(super) fn ask_flush(&mut self, all: bool, fx: &mut Effects) {
        if !self.writable() {
            return;
        }
        let delayable = self.capabilities.as_ref().is_some_and(|c| c.flush_delay);
        let databases = self.capabilities.as_ref().is_some_and(|c| c.databases);
        let expected = if all || delayable || !databases {
            self.profile.name.clone()
        } else {
            format!("db{}", self.db)
        };
        let listed = self
            .capabilities
            .as_ref()
            .map(|c| c.servers.clone())
            .unwrap_or_default();
        let servers = (delayable || !listed.is_empty()).then_some(listed);
        let name = &self.profile.name;
        let server = &self.description;
        let what = match (all, databases && !delayable) {
            (true, _) => format!("every database of {name} ({server})"),
            (false, true) => format!("database db{} of {name} ({server})", self.db),
            (false, false) => format!("{name} ({server})"),
        };
        // The dialog shows how many keys go: read the counts afresh for it.
        if databases {
            self.refresh_databases();
        }
        fx.ask(Confirm::Flush(FlushConfirm {
            conn: self.conn,
            db: self.db,
            what,
            all,
            expected,
            typed: String::new(),
            servers,
            server: None,
            delay: String::new(),
            delayable,
            error: None,
            focused: false,
        }));
    }
}
