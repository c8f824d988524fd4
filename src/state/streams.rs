//! The Pub/Sub and MONITOR viewers of a connection: what they listen to, and the rows they
//! received — a bounded ring (rows and bytes; the oldest go, counted), filtered as rows
//! arrive (only the new ones are checked) and again when the filter changes, frozen while
//! paused, saved to a file as JSON lines.

use std::collections::VecDeque;
use std::path::PathBuf;

use bytes::Bytes;

use super::session::{Pending, Session};
use super::{Effects, Level};
use crate::core::cmdline::{redacted_line, split_args};
use crate::core::escape::escape_bytes;
pub use crate::core::model::Weigh;
use crate::core::model::{MonitorLine, PubSubMessage, StreamItem, Subscription};
use crate::service::{CommandKind, EventKind};

/// Rows kept at most (the oldest go first).
pub const MAX_ROWS: usize = 50_000;
/// Bytes of rows kept at most.
pub const MAX_ROW_BYTES: usize = 64 << 20;

/// The rows of a viewer.
#[derive(Debug)]
pub struct Rows<T> {
    items: VecDeque<T>,
    /// The number of `items[0]` since the viewer started.
    first: u64,
    /// Numbers of the rows the filter lets through, oldest first.
    matches: VecDeque<u64>,
    bytes: usize,
    /// Rows lost before they reached the app: it fell behind the server, and the queue
    /// between them let its oldest go.
    pub lost: u64,
    /// Rows let go from this ring to make room for newer ones.
    pub evicted: u64,
    /// What the server sent in all.
    pub received: u64,
    /// While paused: rows from this number on are not shown.
    pub paused_at: Option<u64>,
}

impl<T> Default for Rows<T> {
    fn default() -> Self {
        Self {
            items: VecDeque::new(),
            first: 0,
            matches: VecDeque::new(),
            bytes: 0,
            lost: 0,
            evicted: 0,
            received: 0,
            paused_at: None,
        }
    }
}

impl<T: Weigh> Rows<T> {
    fn push(&mut self, item: T, shown: bool) {
        let number = self.first + self.items.len() as u64;
        self.bytes += item.weight();
        self.items.push_back(item);
        if shown {
            self.matches.push_back(number);
        }
        while self.items.len() > MAX_ROWS || self.bytes > MAX_ROW_BYTES {
            let Some(old) = self.items.pop_front() else {
                break;
            };
            self.bytes = self.bytes.saturating_sub(old.weight());
            self.first += 1;
            self.evicted += 1;
            while self.matches.front().is_some_and(|&n| n < self.first) {
                self.matches.pop_front();
            }
        }
    }

    fn refilter(&mut self, keep: impl Fn(&T) -> bool) {
        let first = self.first;
        self.matches = self
            .items
            .iter()
            .enumerate()
            .filter(|(_, item)| keep(item))
            .map(|(i, _)| first + i as u64)
            .collect();
    }

    fn clear(&mut self) {
        self.first += self.items.len() as u64;
        self.items.clear();
        self.matches.clear();
        self.bytes = 0;
        if self.paused_at.is_some() {
            self.paused_at = Some(self.first);
        }
    }

    /// Rows shown: those the filter lets through, up to the pause.
    #[must_use]
    pub fn shown(&self) -> usize {
        match self.paused_at {
            Some(at) => self.matches.partition_point(|&n| n < at),
            None => self.matches.len(),
        }
    }

    /// The `i`th row shown.
    #[must_use]
    pub fn get(&self, i: usize) -> Option<&T> {
        let n = *self.matches.get(i)?;
        self.items.get(usize::try_from(n - self.first).ok()?)
    }

    /// Rows held (filtered out or not).
    #[must_use]
    pub fn held(&self) -> usize {
        self.items.len()
    }
}

/// The Pub/Sub viewer.
#[derive(Debug, Default)]
pub struct PubSubView {
    /// Channels to subscribe to, as typed (separated by spaces; quotes as in the console).
    pub channels: String,
    /// Patterns, as typed.
    pub patterns: String,
    /// Sharded channels, as typed (a cluster).
    pub sharded: String,
    /// What is subscribed now (`None`: nothing).
    pub listening: Option<Subscription>,
    /// The channel to publish on.
    pub publish_channel: String,
    /// The message to publish.
    pub publish_message: String,
    /// Publish on a sharded channel (`SPUBLISH`).
    pub publish_sharded: bool,
    /// Rows whose channel, pattern or payload hold this (any case) are shown.
    pub filter: String,
    applied: String,
    /// The messages.
    pub rows: Rows<PubSubMessage>,
    /// Why the subscription ended or was refused.
    pub error: Option<String>,
}

/// The MONITOR viewer.
#[derive(Debug, Default)]
pub struct MonitorView {
    /// The nodes to monitor (a cluster; empty: every primary).
    pub nodes: Vec<String>,
    /// Running.
    pub running: bool,
    /// Only commands whose name starts with this (any case).
    pub command_filter: String,
    /// Only commands whose first argument holds this.
    pub key_filter: String,
    /// Only commands from clients whose address holds this.
    pub client_filter: String,
    applied: (String, String, String),
    /// The commands seen.
    pub rows: Rows<MonitorLine>,
    /// Why it ended or was refused.
    pub error: Option<String>,
}

fn message_matches(m: &PubSubMessage, filter: &str) -> bool {
    if filter.is_empty() {
        return true;
    }
    let has = |text: &str| text.to_lowercase().contains(filter);
    has(&escape_bytes(&m.channel))
        || m.pattern.as_ref().is_some_and(|p| has(&escape_bytes(p)))
        || has(&m.preview)
}

fn line_matches(l: &MonitorLine, (command, key, client): &(String, String, String)) -> bool {
    let name = l.args.first().map(|a| escape_bytes(a).to_lowercase());
    let first = l.args.get(1).map(|a| escape_bytes(a).to_lowercase());
    (command.is_empty() || name.is_some_and(|n| n.starts_with(command.as_str())))
        && (key.is_empty() || first.is_some_and(|k| k.contains(key.as_str())))
        && (client.is_empty() || l.client.to_lowercase().contains(client.as_str()))
}

impl PubSubView {
    /// Filters again when the filter text changed since the last call (call once a frame).
    pub fn refilter_if_changed(&mut self) {
        let filter = self.filter.trim().to_lowercase();
        if filter != self.applied {
            self.rows.refilter(|m| message_matches(m, &filter));
            self.applied = filter;
        }
    }

    /// What the inputs ask to subscribe to.
    ///
    /// # Errors
    /// Unbalanced quotes, or nothing to listen to.
    pub fn subscription(&self) -> Result<Subscription, String> {
        let read = |text: &str, what: &str| split_args(text).map_err(|e| format!("{what}: {e}"));
        let subscription = Subscription {
            channels: read(&self.channels, "channels")?,
            patterns: read(&self.patterns, "patterns")?,
            sharded: read(&self.sharded, "sharded channels")?,
        };
        if subscription.is_empty() {
            return Err("name a channel or a pattern to subscribe to".to_owned());
        }
        Ok(subscription)
    }
}

impl MonitorView {
    /// Filters again when a filter changed since the last call (call once a frame).
    pub fn refilter_if_changed(&mut self) {
        let filters = (
            self.command_filter.trim().to_lowercase(),
            self.key_filter.trim().to_lowercase(),
            self.client_filter.trim().to_lowercase(),
        );
        if filters != self.applied {
            self.rows.refilter(|l| line_matches(l, &filters));
            self.applied = filters;
        }
    }
}

/// A row of a save: one JSON object a line.
fn message_json(m: &PubSubMessage) -> String {
    serde_json::json!({
        "time_ms": m.at_ms,
        "channel": escape_bytes(&m.channel),
        "pattern": m.pattern.as_ref().map(|p| escape_bytes(p)),
        "sharded": m.sharded,
        "payload": escape_bytes(&m.payload),
    })
    .to_string()
}

fn line_json(l: &MonitorLine) -> String {
    serde_json::json!({
        "time": l.at,
        "node": l.node,
        "db": l.db,
        "client": l.client,
        "command": redacted_line(&l.args),
    })
    .to_string()
}

/// Every shown row as JSON lines.
fn lines_of<T: Weigh>(rows: &Rows<T>, each: impl Fn(&T) -> String) -> String {
    let mut out = String::new();
    for i in 0..rows.shown() {
        if let Some(row) = rows.get(i) {
            out.push_str(&each(row));
            out.push('\n');
        }
    }
    out
}

impl Session {
    /// One of the viewers' actions.
    pub(super) fn stream_action(&mut self, action: super::SessionAction, fx: &mut Effects) {
        use super::SessionAction as A;
        match action {
            A::OpenPubSub => self.open_pubsub(None),
            A::ClosePubSub => self.close_pubsub(),
            A::Subscribe => self.subscribe(),
            A::Unsubscribe => self.unsubscribe(),
            A::Publish => self.publish(fx),
            A::OpenMonitor => self.open_monitor(false),
            A::CloseMonitor => self.close_monitor(),
            A::StartMonitor => self.start_monitor(),
            A::StopMonitor => self.stop_monitor(),
            A::PauseStream { monitor } => self.toggle_pause(monitor),
            A::ClearStream { monitor } => self.clear_stream(monitor),
            A::SaveStream { monitor, path } => self.save_stream(monitor, path),
            _ => {}
        }
    }

    /// Opens the Pub/Sub viewer (subscribed to `subscription` at once when one is given).
    pub(super) fn open_pubsub(&mut self, subscription: Option<Subscription>) {
        let view = self.pubsub.get_or_insert_with(PubSubView::default);
        if let Some(subscription) = subscription {
            let join = |list: &[Bytes]| {
                list.iter()
                    .map(|b| crate::core::cmdline::quote_arg(b))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            view.channels = join(&subscription.channels);
            view.patterns = join(&subscription.patterns);
            view.sharded = join(&subscription.sharded);
            self.subscribe();
        }
    }

    /// Subscribes to what the inputs name (replacing the subscription running).
    pub(super) fn subscribe(&mut self) {
        let Some(view) = &mut self.pubsub else { return };
        match view.subscription() {
            Ok(subscription) => {
                view.error = None;
                view.listening = Some(subscription.clone());
                self.request(Pending::Subscribe, CommandKind::Subscribe { subscription });
            }
            Err(e) => view.error = Some(e),
        }
    }

    /// Stops the subscription.
    pub(super) fn unsubscribe(&mut self) {
        self.stop(Pending::Subscribe, CommandKind::StopSubscribe);
        if let Some(view) = &mut self.pubsub {
            view.listening = None;
        }
    }

    /// Closes the Pub/Sub viewer; its subscription ends.
    pub(super) fn close_pubsub(&mut self) {
        self.unsubscribe();
        self.pubsub = None;
    }

    /// Publishes the viewer's message (a write: refused on a read-only profile, asked about
    /// on a production one, audited).
    pub(super) fn publish(&mut self, fx: &mut Effects) {
        let Some(view) = &self.pubsub else { return };
        if view.publish_channel.trim().is_empty() {
            fx.notify(Level::Warning, "name the channel to publish on");
            return;
        }
        let op = crate::core::model::WriteOp::Publish {
            channel: Bytes::copy_from_slice(view.publish_channel.trim().as_bytes()),
            message: Bytes::copy_from_slice(view.publish_message.as_bytes()),
            sharded: view.publish_sharded,
        };
        self.write(op, fx);
    }

    /// Opens the MONITOR viewer; it starts only when asked (`start`), as MONITOR costs the
    /// server.
    pub(super) fn open_monitor(&mut self, start: bool) {
        self.monitor.get_or_insert_with(MonitorView::default);
        // A cluster's nodes, to choose from.
        let cluster = self.capabilities.as_ref().is_some_and(|c| c.nodes);
        if cluster && self.console.nodes.is_empty() && !self.is_pending(Pending::ConsoleNodes) {
            self.request(Pending::ConsoleNodes, CommandKind::Nodes);
        }
        if start {
            self.start_monitor();
        }
    }

    /// Starts MONITOR on the chosen nodes.
    pub(super) fn start_monitor(&mut self) {
        let Some(view) = &mut self.monitor else {
            return;
        };
        view.error = None;
        view.running = true;
        let nodes = view.nodes.clone();
        self.request(Pending::Monitor, CommandKind::Monitor { nodes });
    }

    /// Stops MONITOR.
    pub(super) fn stop_monitor(&mut self) {
        self.stop(Pending::Monitor, CommandKind::StopMonitor);
        if let Some(view) = &mut self.monitor {
            view.running = false;
        }
    }

    /// Closes the MONITOR viewer; MONITOR stops.
    pub(super) fn close_monitor(&mut self) {
        self.stop_monitor();
        self.monitor = None;
    }

    /// Pauses or resumes a viewer's rows.
    pub(super) fn toggle_pause(&mut self, monitor: bool) {
        let toggle = |rows_first: u64, len: usize, paused: &mut Option<u64>| {
            *paused = match paused {
                Some(_) => None,
                None => Some(rows_first + len as u64),
            };
        };
        if monitor {
            if let Some(v) = &mut self.monitor {
                toggle(v.rows.first, v.rows.items.len(), &mut v.rows.paused_at);
            }
        } else if let Some(v) = &mut self.pubsub {
            toggle(v.rows.first, v.rows.items.len(), &mut v.rows.paused_at);
        }
    }

    /// Empties a viewer's rows.
    pub(super) fn clear_stream(&mut self, monitor: bool) {
        if monitor {
            if let Some(v) = &mut self.monitor {
                v.rows.clear();
            }
        } else if let Some(v) = &mut self.pubsub {
            v.rows.clear();
        }
    }

    /// Writes a viewer's shown rows to `path` as JSON lines (MONITOR's secrets redacted).
    pub(super) fn save_stream(&mut self, monitor: bool, path: PathBuf) {
        let text = if monitor {
            self.monitor.as_ref().map(|v| lines_of(&v.rows, line_json))
        } else {
            self.pubsub
                .as_ref()
                .map(|v| lines_of(&v.rows, message_json))
        };
        if let Some(text) = text {
            self.request(Pending::SaveStream, CommandKind::SaveText { path, text });
        }
    }

    /// A batch (or the end) of the subscription.
    pub(super) fn pubsub_event(&mut self, kind: EventKind) {
        let Some(view) = &mut self.pubsub else { return };
        let filter = view.applied.clone();
        let ended = take_batch(&mut view.rows, kind, |item| match item {
            StreamItem::Message(m) => {
                let shown = message_matches(&m, &filter);
                Some((m, shown))
            }
            StreamItem::Command(_) => None,
        });
        if let Some(e) = ended {
            view.error = Some(e);
            view.listening = None;
        }
    }

    /// A batch (or the end) of MONITOR.
    pub(super) fn monitor_event(&mut self, kind: EventKind) {
        let Some(view) = &mut self.monitor else {
            return;
        };
        let filters = view.applied.clone();
        let ended = take_batch(&mut view.rows, kind, |item| match item {
            StreamItem::Command(l) => {
                let shown = line_matches(&l, &filters);
                Some((l, shown))
            }
            StreamItem::Message(_) => None,
        });
        if let Some(e) = ended {
            view.error = Some(e);
            view.running = false;
        }
    }
}

/// Folds a stream's batch into `rows` (`row` picks a viewer's rows out of the items and says
/// whether each passes the filter); the error, when the stream ended instead.
fn take_batch<T: Weigh>(
    rows: &mut Rows<T>,
    kind: EventKind,
    row: impl Fn(StreamItem) -> Option<(T, bool)>,
) -> Option<String> {
    match kind {
        EventKind::StreamBatch {
            items,
            dropped,
            received,
        } => {
            rows.lost += dropped;
            rows.received = received;
            for (item, shown) in items.into_iter().filter_map(row) {
                rows.push(item, shown);
            }
            None
        }
        EventKind::Failed(e) => Some(e.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(channel: &str, payload: &str) -> PubSubMessage {
        PubSubMessage {
            at_ms: 0,
            channel: Bytes::copy_from_slice(channel.as_bytes()),
            pattern: None,
            sharded: false,
            payload: Bytes::copy_from_slice(payload.as_bytes()),
            preview: payload.to_owned(),
        }
    }

    #[test]
    fn the_ring_is_bounded_filtered_as_rows_come_and_frozen_while_paused() {
        let mut rows = Rows::default();
        for i in 0..MAX_ROWS + 10 {
            let m = message(if i % 2 == 0 { "even" } else { "odd" }, &i.to_string());
            let shown = message_matches(&m, "even");
            rows.push(m, shown);
        }
        assert_eq!(rows.held(), MAX_ROWS);
        assert_eq!(rows.evicted, 10);
        assert_eq!(rows.lost, 0);
        assert_eq!(rows.shown(), MAX_ROWS / 2);
        assert_eq!(rows.get(0).map(|m| m.preview.as_str()), Some("10"));
        rows.paused_at = Some(rows.first + rows.items.len() as u64);
        rows.push(message("even", "new"), true);
        let last =
            |rows: &Rows<PubSubMessage>| rows.get(rows.shown() - 1).map(|m| m.preview.clone());
        assert_ne!(
            last(&rows).as_deref(),
            Some("new"),
            "nothing new while paused"
        );
        rows.paused_at = None;
        assert_eq!(last(&rows).as_deref(), Some("new"));
        // The ring was full: the oldest row went to make room.
        assert_eq!(rows.shown(), MAX_ROWS / 2);
        rows.refilter(|m| m.preview == "new");
        assert_eq!(rows.shown(), 1);
        rows.clear();
        assert_eq!(rows.shown(), 0);
    }

    #[test]
    fn monitor_filters_by_command_key_and_client() {
        let line = MonitorLine {
            at: "1".into(),
            node: None,
            db: "0".into(),
            client: "10.0.0.9:5000".into(),
            args: vec![Bytes::from_static(b"SET"), Bytes::from_static(b"user:1")],
        };
        let f = |c: &str, k: &str, cl: &str| (c.to_owned(), k.to_owned(), cl.to_owned());
        assert!(line_matches(&line, &f("set", "", "")));
        assert!(line_matches(&line, &f("", "user", "10.0.0.9")));
        assert!(!line_matches(&line, &f("get", "", "")));
        assert!(!line_matches(&line, &f("", "order", "")));
        let auth = MonitorLine {
            args: vec![Bytes::from_static(b"AUTH"), Bytes::from_static(b"s3cret")],
            ..line
        };
        assert!(!line_json(&auth).contains("s3cret"));
    }
}
