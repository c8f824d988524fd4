//! The console of one connection: commands typed or pasted (several lines are several
//! commands), run one at a time through the guard, their replies kept as typed trees; the
//! history of each profile kept across restarts with its secrets redacted; completion and
//! help from the server's own `COMMAND DOCS`.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;

use super::session::{Pending, Session};
use super::{Confirm, Effects, Level};
use crate::core::cmdline::{LineError, redacted_line, split_lines};
use crate::core::model::{CommandDoc, ExecOn, NodeReply};
use crate::service::{CommandKind, EventKind};

/// Results kept on screen (the oldest go first).
pub const MAX_ENTRIES: usize = 500;
/// Lines kept in one profile's history.
pub const MAX_HISTORY: usize = 300;
/// Commands waiting behind the running one at most (a paste of more is cut, and said so).
pub const MAX_QUEUE: usize = 1_000;
/// Completions offered at most.
pub const MAX_COMPLETIONS: usize = 8;

/// What became of one command.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Waiting behind the command before it.
    Queued,
    /// Sent; no answer yet.
    Running,
    /// The replies (one a node where it ran on several).
    Replies(Vec<NodeReply>),
    /// Not sent, or no answer: refused (read-only), not understood, unreachable.
    Failed(String),
    /// A command without a key on a cluster or pool: where should it run?
    NeedsNode,
    /// Waiting for the production question to be answered.
    Asking,
    /// Stopped before an answer came.
    Cancelled,
}

/// One command and its result.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its number in this console.
    pub id: u64,
    /// The command as shown (secrets redacted).
    pub line: String,
    /// Its arguments, kept while it may be sent again (asked about, routed); dropped once
    /// it is done.
    args: Vec<Bytes>,
    /// What became of it.
    pub outcome: Outcome,
    /// Where it ran, on a cluster.
    pub on: ExecOn,
    /// How long its answer took (the server's round trip, measured by the service).
    pub took: Option<Duration>,
}

/// Whether the server's command list has come.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DocsState {
    /// Not asked for yet.
    #[default]
    NotAsked,
    /// Asked for.
    Loading,
    /// Here.
    Loaded,
    /// Could not be read; completion is off.
    Failed(String),
}

/// The console of a connection.
#[derive(Debug, Default)]
pub struct Console {
    /// Shown (a panel under the browser).
    pub open: bool,
    /// What is typed.
    pub input: String,
    /// The commands run, oldest first.
    pub entries: VecDeque<Entry>,
    /// This profile's history, oldest first (redacted lines).
    pub history: Vec<String>,
    /// The history line shown while browsing with the arrow keys.
    pub browsing: Option<usize>,
    /// What was typed before browsing started (brought back past the newest line).
    draft: String,
    /// The commands known (completion and help).
    pub docs: Vec<CommandDoc>,
    /// Whether they have come.
    pub docs_state: DocsState,
    /// Where keyless commands run on a cluster or pool (`ByKey`: ask each time).
    pub route: ExecOn,
    /// The completion chosen with the arrow keys.
    pub selected: usize,
    /// The completion list was closed (Escape) for what is typed now.
    pub dismissed: bool,
    /// The input should take the keyboard when nothing else has it (a command finished, a
    /// question was answered).
    pub focus: bool,
    /// The input takes the keyboard (the console just opened).
    pub grab: bool,
    /// A cluster's nodes (`host:port`, primary or not) or a pool's servers: where a
    /// command without a key may run.
    pub nodes: Vec<(String, bool)>,
    next_id: u64,
    /// The entry sent and not answered.
    running: Option<u64>,
}

impl Console {
    /// The entry `id`, if still kept.
    fn entry_mut(&mut self, id: u64) -> Option<&mut Entry> {
        self.entries.iter_mut().find(|e| e.id == id)
    }

    /// Whether a command is being run.
    #[must_use]
    pub fn busy(&self) -> bool {
        self.running.is_some()
    }

    /// How many commands wait behind the running one.
    #[must_use]
    pub fn queued(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| e.outcome == Outcome::Queued)
            .count()
    }

    /// The history as it was kept for the profile.
    pub fn restore_history(&mut self, lines: &[String]) {
        self.history = lines
            .iter()
            .rev()
            .take(MAX_HISTORY)
            .rev()
            .cloned()
            .collect();
    }

    fn remember(&mut self, line: &str) {
        if self.history.last().map(String::as_str) != Some(line) {
            self.history.push(line.to_owned());
        }
        let extra = self.history.len().saturating_sub(MAX_HISTORY);
        self.history.drain(..extra);
    }

    /// The arrow keys: an older (`back`) or newer history line into the input.
    pub fn browse(&mut self, back: bool) {
        if self.history.is_empty() {
            return;
        }
        let next = match (self.browsing, back) {
            (None, true) => {
                self.draft = std::mem::take(&mut self.input);
                Some(self.history.len() - 1)
            }
            (None, false) => return,
            (Some(i), true) => Some(i.saturating_sub(1)),
            (Some(i), false) if i + 1 < self.history.len() => Some(i + 1),
            (Some(_), false) => None,
        };
        self.browsing = next;
        self.input = match next {
            Some(i) => self.history[i].clone(),
            None => std::mem::take(&mut self.draft),
        };
    }

    /// The user typed: browsing and a dismissed completion list end.
    pub fn typed(&mut self) {
        self.browsing = None;
        self.dismissed = false;
        self.selected = 0;
    }

    /// The commands whose names start with what is typed as the command's name (then those
    /// that contain it); none once an argument is being typed, while browsing the history,
    /// or after Escape.
    #[must_use]
    pub fn completions(&self) -> Vec<&CommandDoc> {
        let typed = self.input.trim_start();
        if typed.is_empty() || typed.contains(' ') || self.browsing.is_some() || self.dismissed {
            return Vec::new();
        }
        let typed = typed.to_ascii_uppercase();
        let first_word = |d: &&CommandDoc| !d.name.contains(' ');
        let mut found: Vec<&CommandDoc> = self
            .docs
            .iter()
            .filter(first_word)
            .filter(|d| d.name.starts_with(&typed) && d.name != typed)
            .collect();
        found.extend(
            self.docs
                .iter()
                .filter(first_word)
                .filter(|d| !d.name.starts_with(&typed) && d.name.contains(&typed)),
        );
        found.truncate(MAX_COMPLETIONS);
        found
    }

    /// Takes the chosen completion into the input.
    pub fn complete(&mut self) {
        let chosen = self
            .completions()
            .get(self.selected)
            .map(|d| d.name.clone());
        if let Some(name) = chosen {
            self.input = format!("{name} ");
            self.selected = 0;
        }
    }

    /// The doc of the command being typed: the longest name its first words make
    /// (`CONFIG SET` before `CONFIG`).
    #[must_use]
    pub fn help(&self) -> Option<&CommandDoc> {
        let words: Vec<String> = self
            .input
            .split_ascii_whitespace()
            .take(2)
            .map(str::to_ascii_uppercase)
            .collect();
        let two = words.join(" ");
        let one = words.first()?;
        self.docs
            .iter()
            .find(|d| words.len() == 2 && d.name == two)
            .or_else(|| self.docs.iter().find(|d| &d.name == one))
    }
}

impl Session {
    /// Shows or hides the console; its command list is asked for the first time it opens.
    pub(super) fn toggle_console(&mut self) {
        self.console.open = !self.console.open;
        self.console.grab = self.console.open;
        let commands = self.capabilities.as_ref().is_some_and(|c| c.commands);
        if self.console.open && commands && self.console.docs_state == DocsState::NotAsked {
            self.console.docs_state = DocsState::Loading;
            self.request(Pending::CommandDocs, CommandKind::CommandDocs);
            let servers = self
                .capabilities
                .as_ref()
                .map(|c| c.servers.clone())
                .unwrap_or_default();
            if self.capabilities.as_ref().is_some_and(|c| c.nodes) {
                self.request(Pending::ConsoleNodes, CommandKind::Nodes);
            } else {
                self.console.nodes = servers.into_iter().map(|s| (s, true)).collect();
            }
        }
    }

    /// Runs what is typed: each line a command, in order.
    pub(super) fn submit_console(&mut self, fx: &mut Effects) {
        let text = std::mem::take(&mut self.console.input);
        self.console.typed();
        let lines = split_lines(&text);
        let room = MAX_QUEUE.saturating_sub(self.console.queued());
        if lines.len() > room {
            fx.notify(
                Level::Warning,
                format!(
                    "{} commands pasted: the first {room} are run, the rest are not",
                    lines.len()
                ),
            );
        }
        for (raw, parsed) in lines.into_iter().take(room) {
            self.queue_line(&raw, parsed, fx);
        }
        self.run_next();
    }

    fn queue_line(&mut self, raw: &str, parsed: Result<Vec<Bytes>, LineError>, fx: &mut Effects) {
        // A stream is not a reply: it opens its viewer.
        let viewer = parsed
            .as_ref()
            .ok()
            .and_then(|args| self.open_viewer_for(args));
        let c = &mut self.console;
        c.next_id += 1;
        let (line, args, outcome) = match parsed {
            Ok(args) => {
                let line = redacted_line(&args);
                c.remember(&line);
                fx.remember_command(line.clone());
                match viewer {
                    Some(note) => (
                        line,
                        Vec::new(),
                        Outcome::Replies(vec![NodeReply {
                            node: None,
                            reply: crate::core::model::RawReply::Status(note),
                        }]),
                    ),
                    None => (line, args, Outcome::Queued),
                }
            }
            // Not kept in the history: an unbalanced line may hold a password the redaction
            // cannot find. Shown by its first word only, for the same reason.
            Err(e) => {
                let first = raw.split_ascii_whitespace().next().unwrap_or_default();
                (
                    format!("{first} …"),
                    Vec::new(),
                    Outcome::Failed(e.to_string()),
                )
            }
        };
        c.entries.push_back(Entry {
            id: c.next_id,
            line,
            args,
            outcome,
            on: c.route.clone(),
            took: None,
        });
        while c.entries.len() > MAX_ENTRIES {
            c.entries.pop_front();
        }
    }

    /// `SUBSCRIBE`, `PSUBSCRIBE`, `SSUBSCRIBE` and `MONITOR` open their viewer (subscribed
    /// at once; MONITOR waits for its Start, as it costs the server): what to say instead of
    /// a reply. `None` for any other command.
    fn open_viewer_for(&mut self, args: &[Bytes]) -> Option<String> {
        let name = String::from_utf8_lossy(args.first()?).to_ascii_uppercase();
        let can = |f: fn(&crate::backend::Capabilities) -> bool| {
            self.capabilities.as_ref().is_some_and(f)
        };
        let rest = args[1..].to_vec();
        let subscription = match name.as_str() {
            "SUBSCRIBE" => crate::core::model::Subscription {
                channels: rest,
                ..Default::default()
            },
            "PSUBSCRIBE" => crate::core::model::Subscription {
                patterns: rest,
                ..Default::default()
            },
            "SSUBSCRIBE" => crate::core::model::Subscription {
                sharded: rest,
                ..Default::default()
            },
            "MONITOR" if can(|c| c.monitor) => {
                self.open_monitor(false);
                return Some(
                    "opened the MONITOR viewer: press Start there (it costs the server while \
                     it runs)"
                        .to_owned(),
                );
            }
            _ => return None,
        };
        if !can(|c| c.pubsub) || subscription.is_empty() {
            return None;
        }
        self.open_pubsub(Some(subscription));
        Some("listening in the Pub/Sub viewer".to_owned())
    }

    /// Sends the oldest queued command, unless one is running.
    fn run_next(&mut self) {
        if self.console.running.is_some() {
            return;
        }
        let Some(entry) = self
            .console
            .entries
            .iter_mut()
            .find(|e| e.outcome == Outcome::Queued)
        else {
            return;
        };
        let id = entry.id;
        let ask_dangerous = self.profile.production;
        self.resend(id, None, ask_dangerous);
    }

    /// Sends an entry: the next queued, or again where the user chose (a keyless command on
    /// a cluster), or after the production question was answered yes.
    fn resend(&mut self, id: u64, on: Option<ExecOn>, ask_dangerous: bool) {
        if self.console.running.is_some() {
            return;
        }
        let Some(entry) = self.console.entry_mut(id) else {
            return;
        };
        if let Some(on) = on {
            entry.on = on;
        }
        entry.outcome = Outcome::Running;
        let (args, on) = (entry.args.clone(), entry.on.clone());
        self.console.running = Some(id);
        self.request(
            Pending::Exec,
            CommandKind::Exec {
                args,
                on,
                ask_dangerous,
            },
        );
    }

    /// Runs a keyless command where the user chose.
    pub(super) fn run_on(&mut self, id: u64, on: ExecOn) {
        let ask = self.profile.production;
        self.resend(id, Some(on), ask);
    }

    /// The production question about entry `id` was answered.
    pub(super) fn console_answered(&mut self, id: u64, yes: bool) {
        self.console.focus = true;
        if yes {
            self.resend(id, None, false);
            return;
        }
        if let Some(entry) = self.console.entry_mut(id) {
            entry.outcome = Outcome::Failed("not confirmed: nothing was sent".to_owned());
            entry.args = Vec::new();
        }
        self.run_next();
    }

    /// Stops the running command, and drops the ones queued behind it.
    pub(super) fn cancel_console(&mut self) {
        self.console.focus = true;
        self.stop(Pending::Exec, CommandKind::CancelExec);
        if let Some(id) = self.console.running.take()
            && let Some(entry) = self.console.entry_mut(id)
        {
            entry.outcome = Outcome::Cancelled;
            entry.args = Vec::new();
        }
        for entry in &mut self.console.entries {
            if entry.outcome == Outcome::Queued {
                entry.outcome = Outcome::Failed("not sent: the console was cancelled".to_owned());
                entry.args = Vec::new();
            }
        }
    }

    /// Empties the screen (the history stays).
    pub(super) fn clear_console(&mut self) {
        let running = self.console.running;
        self.console
            .entries
            .retain(|e| Some(e.id) == running || e.outcome == Outcome::Queued);
    }

    /// An answer to the console's request.
    pub(super) fn console_event(&mut self, kind: EventKind, fx: &mut Effects) {
        let Some(id) = self.console.running.take() else {
            return;
        };
        let conn = self.conn;
        let Some(entry) = self.console.entry_mut(id) else {
            self.run_next();
            return;
        };
        match kind {
            EventKind::ExecDone { replies, took } => {
                entry.took = Some(took);
                entry.outcome = Outcome::Replies(replies);
                entry.args = Vec::new();
            }
            EventKind::ExecAsk { name } => {
                entry.outcome = Outcome::Asking;
                fx.ask(Confirm::Console {
                    conn,
                    entry: id,
                    name,
                    line: entry.line.clone(),
                });
                // The rest waits for the answer.
                return;
            }
            EventKind::Failed(crate::backend::BackendError::NeedsNode(_)) => {
                entry.outcome = Outcome::NeedsNode;
            }
            EventKind::Failed(e) => {
                entry.outcome = Outcome::Failed(e.to_string());
                entry.args = Vec::new();
            }
            _ => return,
        }
        self.console.focus = true;
        self.run_next();
    }

    /// A cluster's nodes arrived (without them only "all primaries" is offered).
    pub(super) fn console_nodes(&mut self, rows: Vec<crate::core::model::NodeRow>) {
        self.console.nodes = rows.into_iter().map(|r| (r.address, r.primary)).collect();
    }

    /// The command list arrived, or could not be read.
    pub(super) fn docs_event(&mut self, kind: EventKind) {
        match kind {
            EventKind::CommandDocs(docs) => {
                self.console.docs = docs;
                self.console.docs_state = DocsState::Loaded;
            }
            EventKind::Failed(e) => self.console.docs_state = DocsState::Failed(e.to_string()),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(name: &str) -> CommandDoc {
        CommandDoc {
            name: name.to_owned(),
            args: "key".to_owned(),
            summary: format!("{name} does it"),
            group: "string".to_owned(),
            since: "1.0.0".to_owned(),
        }
    }

    #[test]
    fn arrows_browse_the_history_and_bring_back_the_draft() {
        let mut c = Console::default();
        c.restore_history(&["get a".into(), "get b".into()]);
        c.input = "half typed".into();
        c.browse(true);
        assert_eq!(c.input, "get b");
        c.browse(true);
        c.browse(true);
        assert_eq!(c.input, "get a");
        c.browse(false);
        c.browse(false);
        assert_eq!(c.input, "half typed");
        assert_eq!(c.browsing, None);
    }

    #[test]
    fn completions_show_only_while_the_name_is_typed_and_not_while_browsing() {
        let mut c = Console {
            docs: vec![
                doc("GET"),
                doc("GETDEL"),
                doc("GETEX"),
                doc("HGET"),
                doc("CONFIG GET"),
            ],
            ..Console::default()
        };
        c.input = "get".into();
        let names: Vec<&str> = c.completions().iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["GETDEL", "GETEX", "HGET"]);
        c.input = "get k".into();
        assert!(c.completions().is_empty());
        assert_eq!(c.help().map(|d| d.name.as_str()), Some("GET"));
        c.input = "config get maxmemory".into();
        assert_eq!(c.help().map(|d| d.name.as_str()), Some("CONFIG GET"));
        c.restore_history(&["getex".into()]);
        c.input.clear();
        c.browse(true);
        assert!(c.completions().is_empty(), "browsing owns the arrow keys");
        c.typed();
        c.input = "getd".into();
        c.complete();
        assert_eq!(c.input, "GETDEL ");
    }

    #[test]
    fn the_history_is_bounded_and_keeps_no_repeat() {
        let mut c = Console::default();
        for i in 0..MAX_HISTORY + 10 {
            c.remember(&format!("get {i}"));
            c.remember(&format!("get {i}"));
        }
        assert_eq!(c.history.len(), MAX_HISTORY);
        assert_eq!(c.history.last().map(String::as_str), Some("get 309"));
    }
}
