//! Questions asked before something is done: a write through a production profile, replacing
//! a key, a typed flush confirmation, a TTL in the past, a server administration step. Each
//! names the connection it acts on (and a flush the database), so an answer given after
//! switching tabs still acts on the connection that asked.

use bytes::Bytes;

use super::{AppState, Level, Session};
use crate::core::model::WriteOp;
use crate::service::{CommandKind, ConnId};

/// A question the user must answer before something is done.
#[derive(Debug, Clone)]
pub enum Confirm {
    /// A write through a production profile.
    Production {
        /// The connection.
        conn: ConnId,
        /// What will be done, in words.
        description: String,
        /// The command to send on "yes".
        kind: CommandKind,
    },
    /// Rename or copy onto a key that exists: replace it?
    Overwrite {
        /// The connection.
        conn: ConnId,
        /// The write, with `overwrite` set.
        op: WriteOp,
    },
    /// Flush: the user types `expected` to confirm.
    Flush(FlushConfirm),
    /// A TTL much shorter than the key had (or a short one on a key that had none).
    ShortTtl {
        /// The connection.
        conn: ConnId,
        /// The key.
        key: Bytes,
        /// The TTL asked for.
        ttl: crate::core::model::TtlChange,
        /// Why it asks, in words.
        reason: String,
    },
    /// A TTL date-time in the past deletes the key.
    PastTtl {
        /// The connection.
        conn: ConnId,
        /// The key.
        key: Bytes,
    },
    /// Flush a Laravel cache tag: delete what `Cache::tags([name])->flush()` would.
    FlushTag {
        /// The connection.
        conn: ConnId,
        /// The tag's name.
        name: String,
        /// Every key the flush deletes (the entries, then the reference sets and the id key).
        keys: Vec<Bytes>,
        /// Of those, the entries stored under the tag.
        entries: usize,
    },
    /// An import or a copy into a production profile's connection.
    Move {
        /// The connection that runs it (a copy's source).
        conn: ConnId,
        /// The production profile written to.
        into: String,
        /// What will be done, in words.
        description: String,
        /// The command to send on "yes".
        kind: CommandKind,
    },
    /// A console command the server calls dangerous, on a production profile.
    Console {
        /// The connection.
        conn: ConnId,
        /// The console entry waiting.
        entry: u64,
        /// The command's name.
        name: String,
        /// The command as shown (secrets redacted).
        line: String,
    },
    /// A server administration step (reset the slow log, kill a client).
    Admin {
        /// The connection.
        conn: ConnId,
        /// The question's title.
        title: String,
        /// What will happen, in words.
        description: String,
        /// The step.
        op: WriteOp,
    },
}

impl Confirm {
    /// The connection the question is about.
    #[must_use]
    pub fn conn(&self) -> ConnId {
        match self {
            Self::Production { conn, .. }
            | Self::Overwrite { conn, .. }
            | Self::PastTtl { conn, .. }
            | Self::ShortTtl { conn, .. }
            | Self::Admin { conn, .. }
            | Self::Console { conn, .. }
            | Self::Move { conn, .. }
            | Self::FlushTag { conn, .. } => *conn,
            Self::Flush(flush) => flush.conn,
        }
    }
}

/// The flush question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlushConfirm {
    /// The connection to flush.
    pub conn: ConnId,
    /// Its database when the question was asked: a flush of "this database" empties that
    /// one, and is refused if the connection has moved to another meanwhile.
    pub db: u32,
    /// What will be emptied, in words ("database db3 of prod", "shop (SQLite table …)").
    pub what: String,
    /// Every database, not just the current one (Redis).
    pub all: bool,
    /// What must be typed.
    pub expected: String,
    /// What was typed.
    pub typed: String,
    /// The servers when the backend flushes per server (a memcached pool, a cluster's
    /// primaries); empty for a single server. `None` for standalone Redis.
    pub servers: Option<Vec<String>>,
    /// The one server to flush; `None` for all of them.
    pub server: Option<String>,
    /// Delay in seconds, as typed (empty: now).
    pub delay: String,
    /// The backend can delay a flush (memcached), so the dialog asks for a delay.
    pub delayable: bool,
    /// Why the answer was refused.
    pub error: Option<String>,
    /// Whether the typed confirmation has taken the keyboard yet (it does once, when the
    /// question opens, so the name can be typed at once).
    pub focused: bool,
}

impl FlushConfirm {
    /// The flush the answer asks for, or why the answer cannot be taken.
    fn op(&self) -> Result<WriteOp, String> {
        if self.servers.is_some() {
            let delay = self.delay.trim();
            let delay_secs = if delay.is_empty() {
                0
            } else {
                delay
                    .parse::<u32>()
                    .map_err(|_| format!("the delay must be whole seconds, not `{delay}`"))?
            };
            return Ok(WriteOp::Flush {
                server: self.server.clone(),
                delay_secs,
            });
        }
        Ok(if self.all {
            WriteOp::FlushAll
        } else {
            WriteOp::FlushDb
        })
    }
}

impl AppState {
    /// The user said yes to the open question: it acts on the connection that asked, or on
    /// nothing when that connection was closed meanwhile.
    pub(super) fn confirm_yes(&mut self) {
        let Some(confirm) = self.confirm.take() else {
            return;
        };
        if let Confirm::Flush(flush) = &confirm
            && flush.typed.trim() != flush.expected
        {
            self.confirm = Some(confirm);
            return;
        }
        let conn = confirm.conn();
        let done = self.with_session(conn, |s, fx| match confirm {
            // Asked already: a production profile is not asked twice.
            Confirm::Production { kind, .. } => s.send_write(kind),
            Confirm::Overwrite { op, .. } => s.write(op, fx),
            Confirm::PastTtl { key, .. } => s.delete_keys(vec![key], fx),
            Confirm::ShortTtl { key, ttl, .. } => s.change_ttl(key, ttl, fx),
            Confirm::Admin { op, .. } => s.send_write(CommandKind::Write { op }),
            Confirm::Console { entry, .. } => s.console_answered(entry, true),
            Confirm::Move { kind, .. } => s.send_move(kind),
            Confirm::FlushTag { keys, .. } => s.delete_keys(keys, fx),
            Confirm::Flush(mut flush) => flush_answered(s, &mut flush, fx),
        });
        if done.is_none() {
            self.notify(
                Level::Warning,
                "that connection was closed meanwhile: nothing was done",
            );
        }
    }
}

impl AppState {
    /// The user said no (or closed the question): a console command waiting for the answer
    /// is marked not sent, and the ones behind it go on.
    pub(super) fn confirm_no(&mut self) {
        if let Some(Confirm::Console { conn, entry, .. }) = self.confirm.take() {
            self.with_session(conn, |s, _| s.console_answered(entry, false));
        }
    }
}

/// The typed flush confirmation was answered: flush what it named, or say why not.
fn flush_answered(s: &mut Session, flush: &mut FlushConfirm, fx: &mut super::Effects) {
    if !flush.all && flush.servers.is_none() && s.db != flush.db {
        fx.notify(
            Level::Warning,
            format!(
                "the connection moved from db{} to db{} since you were asked: nothing was flushed",
                flush.db, s.db
            ),
        );
        return;
    }
    match flush.op() {
        Ok(op) => s.write(op, fx),
        Err(e) => {
            flush.error = Some(e);
            fx.ask(Confirm::Flush(flush.clone()));
        }
    }
}
