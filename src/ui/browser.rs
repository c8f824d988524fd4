//! The session view: connection header, search bar, and the flat and tree key lists.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use egui_extras::{Column, TableBuilder};

use super::{Actions, split, theme, viewer};
use crate::core::escape::escape_bytes;
use crate::core::format::{group_digits, human_bytes, middle_ellipsis, ttl_text};
use crate::core::keyindex::{KeyId, TreeRow};
use crate::core::model::Ttl;
use crate::state::palette::Command;
use crate::state::{
    Action, AppState, BrowserView, MetaSlot, ScanPhase, Session, SessionAction, SessionStatus,
    Sort, SortKey,
};

/// Most keys whose facts are fetched per frame.
const META_PER_FRAME: usize = 200;
/// The narrowest the key list and the value viewer get.
const MIN_LIST: f32 = 340.0;
const MIN_VIEWER: f32 = 280.0;
/// Fixed columns of the key table, and the least the key and size columns get.
const TYPE_WIDTH: f32 = 58.0;
const TTL_WIDTH: f32 = 74.0;
const SIZE_MIN: f32 = 60.0;
const KEY_MIN: f32 = 110.0;

/// Draws the shown session.
pub fn session_ui(ui: &mut egui::Ui, state: &mut AppState, actions: &mut Actions) {
    let mut layout = state.ui.layout;
    let Some(s) = state.active_session_mut() else {
        return;
    };
    header_ui(ui, s, actions);
    match s.status.clone() {
        SessionStatus::Connecting => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Connecting…");
            });
        }
        SessionStatus::Failed(reason) => {
            ui.colored_label(
                theme::level_color(crate::state::Level::Error),
                format!("Could not connect: {reason}"),
            );
            if ui.button("Retry").clicked() {
                actions.push(Action::Reconnect(s.conn));
            }
        }
        SessionStatus::Connected => {
            shortcuts(ui, s, actions);
            if s.console.open {
                // Below the browser, as tall as the user drags it.
                egui::Panel::bottom(egui::Id::unique(("console", s.conn)))
                    .resizable(true)
                    .default_size(300.0)
                    .size_range(160.0..=ui.available_height() * 0.8)
                    .show(ui, |ui| super::console::console_ui(ui, s, actions));
            }
            search_bar_ui(ui, s, actions);
            actions_bar_ui(ui, s, actions);
            ui.separator();
            // Shares, not pixels: the split holds its proportions when the window is resized.
            let (left, right, _) = split::columns(
                ui,
                egui::Id::unique("browser_split"),
                &mut layout.list_share,
                [MIN_LIST, MIN_VIEWER],
            );
            ui.scope_builder(egui::UiBuilder::new().max_rect(left), |ui| {
                ui.set_clip_rect(left.intersect(ui.clip_rect()));
                keys_ui(ui, s, actions, &mut layout.key_share);
            });
            let right = right.shrink2(egui::vec2(6.0, 0.0));
            ui.scope_builder(egui::UiBuilder::new().max_rect(right), |ui| {
                ui.set_clip_rect(right.intersect(ui.clip_rect()));
                viewer::viewer_ui(ui, s, actions);
            });
        }
    }
    state.ui.layout = layout;
}

/// The browser's keyboard shortcuts (each named in its button's tooltip): F5 searches again,
/// Ctrl+F goes to the filter, Ctrl+N makes a key, Ctrl+Z undoes the last delete or TTL
/// change (unless a text field has the keyboard: there it undoes typing). None while a
/// question is open.
fn shortcuts(ui: &egui::Ui, s: &Session, actions: &mut Actions) {
    use egui::{Key, KeyboardShortcut, Modifiers};
    if ui.ctx().memory(|m| m.top_modal_layer().is_some()) {
        return;
    }
    let typing = ui
        .ctx()
        .memory(|m| m.focused().is_some_and(|id| id != filter_id()));
    let pressed = |m, k| ui.input_mut(|i| i.consume_shortcut(&KeyboardShortcut::new(m, k)));
    if pressed(Modifiers::NONE, Key::F5) {
        actions.session(s.conn, SessionAction::Search);
    }
    if pressed(Modifiers::COMMAND, Key::F) {
        ui.ctx().memory_mut(|m| m.request_focus(filter_id()));
    }
    if s.writable() && pressed(Modifiers::COMMAND, Key::N) {
        actions.session(s.conn, SessionAction::OpenCreate);
    }
    if s.writable() && s.undo.is_some() && !typing && pressed(Modifiers::COMMAND, Key::Z) {
        actions.session(s.conn, SessionAction::Undo);
    }
}

/// The connection's tools, each shown when the backend can do it; their keys in the tooltips.
fn tools_ui(ui: &mut egui::Ui, s: &Session, ask: &mut impl FnMut(SessionAction)) {
    let Some(c) = s
        .capabilities
        .as_ref()
        .filter(|_| s.status == SessionStatus::Connected)
    else {
        return;
    };
    let tools = [
        (
            c.server_stats,
            theme::ICON_DNS,
            "Server info",
            Command::ServerInfo,
            SessionAction::OpenServerInfo,
            "INFO, the slow log, the clients",
        ),
        (
            c.server_stats,
            theme::ICON_MONITORING,
            "Metrics",
            Command::Metrics,
            SessionAction::OpenDashboard,
            "Live hit rate, memory, ops and clients, charted",
        ),
        (
            c.commands,
            theme::ICON_TERMINAL,
            "Console",
            Command::Console,
            SessionAction::ToggleConsole,
            "Commands as in redis-cli, guarded",
        ),
        (
            c.pubsub,
            theme::ICON_PODCASTS,
            "Pub/Sub",
            Command::PubSub,
            SessionAction::OpenPubSub,
            "Subscribe to channels and patterns, publish",
        ),
        (
            c.monitor,
            theme::ICON_VISIBILITY,
            "MONITOR",
            Command::Monitor,
            SessionAction::OpenMonitor,
            "Every command the server runs, live (costly: run it briefly)",
        ),
        (
            c.list_keys,
            theme::ICON_ANALYTICS,
            "Memory analysis",
            Command::MemoryAnalysis,
            SessionAction::OpenAnalysis,
            "Biggest keys, bytes by namespace and type, TTL distribution",
        ),
        (
            c.list_keys,
            theme::ICON_FOLDER_OPEN,
            "Namespaces",
            Command::Namespaces,
            SessionAction::OpenCensus,
            "Every key the pattern matches counted into its namespaces, none kept: the tree \
             of a keyspace of any size",
        ),
    ];
    for (shown, icon, text, command, action, hint) in tools {
        if shown
            && super::palette::command_button(ui, icon, text, command)
                .on_hover_text(hint)
                .clicked()
        {
            ask(action);
        }
    }
}

fn header_ui(ui: &mut egui::Ui, s: &Session, actions: &mut Actions) {
    let databases_capable = s.capabilities.as_ref().is_some_and(|c| c.databases);
    let mut ask = |a| actions.session(s.conn, a);
    if let Some(tag) = s.profile.color {
        // The profile's colour as a band across the top of the connection.
        let (rect, _) =
            ui.allocate_exact_size(egui::vec2(ui.available_width(), 4.0), egui::Sense::hover());
        ui.painter().rect_filled(rect, 1.0, theme::tag_color(tag));
    }
    // Wraps on a narrow window rather than cutting its last buttons off.
    ui.horizontal_wrapped(|ui| {
        ui.strong(&s.profile.name);
        if s.profile.read_only {
            ui.label(
                egui::RichText::new("READ-ONLY")
                    .strong()
                    .color(theme::level_color(crate::state::Level::Warning)),
            );
        }
        if s.profile.production {
            ui.label(
                egui::RichText::new("PRODUCTION")
                    .strong()
                    .color(theme::level_color(crate::state::Level::Error)),
            );
        }
        ui.label(egui::RichText::new(&s.description).color(theme::MUTED));
        tools_ui(ui, s, &mut ask);
        if databases_capable && s.status == SessionStatus::Connected {
            ui.separator();
            let current = s.databases.iter().find(|d| d.index == s.db).map_or_else(
                || format!("db{}", s.db),
                |d| format!("db{} ({} keys)", d.index, group_digits(d.keys)),
            );
            let l = ui.label("Database");
            let combo = egui::ComboBox::from_id_salt("db_select")
                .selected_text(current)
                .show_ui(ui, |ui| {
                    for d in &s.databases {
                        let text = format!("db{} ({} keys)", d.index, group_digits(d.keys));
                        if ui.selectable_label(d.index == s.db, text).clicked() {
                            ask(SessionAction::SelectDb(d.index));
                        }
                    }
                })
                .response
                .labelled_by(l.id);
            if combo.clicked() {
                // The counts it lists are read afresh each time it opens.
                ask(SessionAction::RefreshDatabases);
            }
            // What a user means by Refresh: the keys listed again and the counts read again
            // (a count that moved beside a list that did not reads as a bug).
            if super::palette::command_button(ui, theme::ICON_REFRESH, "Refresh", Command::Refresh)
                .on_hover_text("List the keys again and read the key counts")
                .clicked()
            {
                ask(SessionAction::RefreshDatabases);
                ask(SessionAction::Search);
            }
        }
    });
}

/// Write actions of the connection (hidden on read-only profiles) and the undo bar.
/// Export, Import and Copy to: the keys of this connection to a file or another one.
fn move_buttons_ui(ui: &mut egui::Ui, s: &Session) -> Vec<Action> {
    let Some(c) = s.capabilities.as_ref() else {
        return Vec::new();
    };
    let mut asked = Vec::new();
    let conn = s.conn;
    if c.list_keys
        && theme::icon_button(ui, theme::ICON_FILE_SAVE, "Export...", None)
            .on_hover_text("The marked keys, or a pattern's, to a file: JSON lines, redis-cli commands or DUMP")
            .clicked()
    {
        asked.push(Action::Session(conn, SessionAction::OpenExport));
    }
    if c.write
        && theme::icon_button(ui, theme::ICON_FILE_OPEN, "Import...", None)
            .on_hover_text("The keys of an export file, into this connection")
            .clicked()
    {
        asked.push(Action::Session(conn, SessionAction::OpenImport));
    }
    if c.list_keys
        && theme::icon_button(ui, theme::ICON_CONTENT_COPY, "Copy to...", None)
            .on_hover_text("The marked keys, or a pattern's, into another open connection")
            .clicked()
    {
        asked.push(Action::OpenCopy(conn));
    }
    asked
}

fn actions_bar_ui(ui: &mut egui::Ui, s: &Session, actions: &mut Actions) {
    if !s.capabilities.as_ref().is_some_and(|c| c.write) {
        // A read-only connection can still give its keys away.
        let asked = ui.horizontal_wrapped(|ui| move_buttons_ui(ui, s)).inner;
        for action in asked {
            actions.push(action);
        }
        return;
    }
    let marked = s.browser.marked.len();
    let undo_text = s.undo.as_ref().map(|u| match u.kind {
        crate::state::UndoKind::Delete => format!("Deleted {}.", u.label),
        crate::state::UndoKind::Ttl => format!("Changed {}.", u.label),
    });
    let pooled_flush = s.capabilities.as_ref().is_some_and(|c| c.flush_delay);
    let databases = s.capabilities.as_ref().is_some_and(|c| c.databases);
    let purge = s.capabilities.as_ref().is_some_and(|c| c.purge_expired);
    let listable = s.capabilities.as_ref().is_some_and(|c| c.list_keys);
    let mut moved = Vec::new();
    let mut ask = |a| actions.session(s.conn, a);
    ui.horizontal_wrapped(|ui| {
        moved = move_buttons_ui(ui, s);
        ui.separator();
        if super::palette::command_button(ui, theme::ICON_ADD, "New key", Command::NewKey).clicked()
        {
            ask(SessionAction::OpenCreate);
        }
        // A pattern is matched against a listing: nothing to match where keys cannot be listed.
        if listable
            && super::palette::command_button(
                ui,
                theme::ICON_DELETE_SWEEP,
                "Delete by pattern...",
                Command::DeleteByPattern,
            )
            .clicked()
        {
            ask(SessionAction::OpenBulkDelete);
        }
        if purge
            && theme::icon_button(ui, theme::ICON_CLEANING_SERVICES, "Purge expired", None)
                .on_hover_text("Delete every entry whose TTL has run out")
                .clicked()
        {
            ask(SessionAction::PurgeExpired);
        }
        if pooled_flush || !databases {
            // One store (a pool, a table, a directory): one flush, whose dialog names it.
            if theme::icon_button(ui, theme::ICON_DELETE_FOREVER, "Flush...", None).clicked() {
                ask(SessionAction::AskFlush(pooled_flush));
            }
        } else {
            if super::palette::command_button(
                ui,
                theme::ICON_DELETE_FOREVER,
                "Flush database...",
                Command::FlushDatabase,
            )
            .clicked()
            {
                ask(SessionAction::AskFlush(false));
            }
            if theme::icon_button(
                ui,
                theme::ICON_DELETE_FOREVER,
                "Flush all databases...",
                None,
            )
            .clicked()
            {
                ask(SessionAction::AskFlush(true));
            }
        }
        if marked > 0 {
            ui.separator();
            if ui.button(format!("Delete {marked} marked")).clicked() {
                ask(SessionAction::DeleteMarked);
            }
            if ui.button("Unmark").clicked() {
                ask(SessionAction::Unmark);
            }
        } else {
            ui.label(egui::RichText::new("Ctrl+click keys to mark several").color(theme::MUTED));
        }
        if let Some(text) = &undo_text {
            ui.separator();
            ui.label(text);
            if super::palette::command_button(ui, theme::ICON_UNDO, "Undo", Command::Undo).clicked()
            {
                ask(SessionAction::Undo);
            }
        }
    });
    for action in moved {
        actions.push(action);
    }
}

#[expect(
    clippy::too_many_lines,
    reason = "an egui layout reads top to bottom as the screen does"
)]
fn search_bar_ui(ui: &mut egui::Ui, s: &mut Session, actions: &mut Actions) {
    if s.capabilities.as_ref().is_some_and(|c| !c.list_keys) {
        open_by_name_ui(ui, s, actions);
        return;
    }
    let caps = s.capabilities.clone();
    let conn = s.conn;
    let b = &mut s.browser;
    let mut search = false;
    let mut stop = false;
    let mut cont = None;
    let mut open_name = None;
    let mut search_server = false;
    let mut use_prefix = false;
    ui.horizontal_wrapped(|ui| {
        let l = ui.label("Pattern");
        let r = ui
            .add(
                egui::TextEdit::singleline(&mut b.pattern)
                    .hint_text("user:* (Redis glob; \\xNN for bytes)")
                    .desired_width(240.0)
                    .font(egui::TextStyle::Monospace),
            )
            .labelled_by(l.id);
        if r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
            search = true;
        }
        if caps.as_ref().is_some_and(|c| c.type_filter) {
            let l = ui.label("Type");
            let selected = b
                .type_filter
                .as_ref()
                .map_or("any type".to_owned(), |t| t.label().to_owned());
            egui::ComboBox::from_id_salt("type_filter")
                .selected_text(selected)
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut b.type_filter, None, "any type");
                    for t in caps.iter().flat_map(|c| c.value_types.iter()) {
                        ui.selectable_value(&mut b.type_filter, Some(t.clone()), t.label());
                    }
                })
                .response
                .labelled_by(l.id);
        }
        let servers = caps.as_ref().map(|c| c.servers.clone()).unwrap_or_default();
        if !servers.is_empty() {
            let l = ui.label("Server");
            egui::ComboBox::from_id_salt("server_filter")
                .selected_text(b.server_filter.as_deref().unwrap_or("all servers"))
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut b.server_filter, None, "all servers");
                    for s in &servers {
                        ui.selectable_value(&mut b.server_filter, Some(s.clone()), s);
                    }
                })
                .response
                .labelled_by(l.id);
        }
        if caps.as_ref().is_some_and(|c| c.scan_budget) {
            scan_budget_ui(ui, &mut b.scan_budget_ms);
        }
        search |= theme::icon_button(ui, theme::ICON_SEARCH, "Search", Some("F5")).clicked();
    });
    // The listing's status has a line of its own, one line high whatever it says, so a pause
    // or a long message never moves the rows below it (or the buttons in them).
    let line = egui::vec2(ui.available_width(), theme::ROW_HEIGHT + 4.0);
    ui.allocate_ui_with_layout(
        line,
        egui::Layout::left_to_right(egui::Align::Center),
        |ui| {
            ui.set_min_size(line);
            match b.scan.phase {
                ScanPhase::Running => {
                    stop = theme::icon_button(ui, theme::ICON_STOP, "Stop", None).clicked();
                    ui.spinner();
                }
                ScanPhase::Paused | ScanPhase::Stopped if b.scan.cursor != 0 => {
                    if theme::icon_button(ui, theme::ICON_PLAY_ARROW, "Continue", None).clicked() {
                        cont = Some(false);
                    }
                    if theme::icon_button(ui, theme::ICON_FAST_FORWARD, "Load all", None).clicked()
                    {
                        cont = Some(true);
                    }
                }
                _ => {}
            }
            // The filter looks only at loaded keys: offer the server-side search when the
            // server may hold keys it cannot see.
            if b.filter_active() && may_hold_more(b) {
                let r = ui.button("Search the server").on_hover_text(format!(
                    "List the server's keys matching {} instead (case-sensitive, as Redis \
                     patterns are)",
                    b.filter_pattern().unwrap_or_default()
                ));
                search_server |= r.clicked();
            }
            if let Some(prefix) = &b.prefix_hint {
                let r = ui
                    .button(format!("Browse without `{prefix}`"))
                    .on_hover_text(
                        "These keys look like a Laravel cache's: list, open and write them by \
                         the names the app uses (the profile keeps the prefix)",
                    );
                use_prefix |= r.clicked();
            }
            let (text, color) = scan_status_text(b);
            ui.add(egui::Label::new(egui::RichText::new(&text).color(color)).truncate())
                .on_hover_text(text);
        },
    );
    if let Some(note) = caps.as_ref().and_then(|c| c.listing_note.as_ref()) {
        ui.label(egui::RichText::new(format!("Note: {note}.")).color(theme::MUTED));
    }
    scan_parts_ui(ui, &b.scan);
    ui.horizontal_wrapped(|ui| {
        ui.label("View");
        ui.selectable_value(&mut b.view, BrowserView::Flat, "List");
        ui.selectable_value(&mut b.view, BrowserView::Tree, "Tree");
        // Always there (used by the tree), so switching views moves nothing in this row.
        let l = ui.label("Delimiter");
        let mut delimiter = b.delimiter.clone();
        let r = ui
            .add_enabled(
                b.view == BrowserView::Tree,
                egui::TextEdit::singleline(&mut delimiter).desired_width(30.0),
            )
            .labelled_by(l.id);
        if r.changed() {
            b.set_delimiter(&delimiter);
        }
        ui.separator();
        let l = ui.label("Open key");
        let r = ui
            .add(
                egui::TextEdit::singleline(&mut b.open_name)
                    .hint_text("exact name")
                    .desired_width(160.0)
                    .font(egui::TextStyle::Monospace),
            )
            .labelled_by(l.id);
        if (r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)))
            || theme::icon_button(ui, theme::ICON_KEY, "Open", None).clicked()
        {
            open_name = Some(b.open_name.clone());
        }
        ui.separator();
        let l = ui.label("Filter");
        let mut text = b.filter_text.clone();
        let r = ui
            .add(
                egui::TextEdit::singleline(&mut text)
                    .hint_text("filter the loaded keys (Ctrl+F)")
                    .desired_width(200.0)
                    .id(filter_id()),
            )
            .labelled_by(l.id);
        if r.changed() {
            b.set_filter(&text);
        }
    });
    if let Some(name) = open_name {
        actions.session(conn, SessionAction::OpenKeyByName(name));
    }
    if use_prefix {
        actions.push(Action::UseKeyPrefix(conn));
    }
    if search {
        actions.session(conn, SessionAction::Search);
    } else if search_server {
        actions.session(conn, SessionAction::SearchServerForFilter);
    } else if stop {
        actions.session(conn, SessionAction::StopScan);
    } else if let Some(all) = cont {
        actions.session(conn, SessionAction::ContinueScan(all));
    }
}

/// The browser of a cache that cannot list keys (DreamFactory's API): a key is opened by its
/// name, and the keys opened this session are the list below, newest last.
fn open_by_name_ui(ui: &mut egui::Ui, s: &mut Session, actions: &mut Actions) {
    let conn = s.conn;
    let b = &mut s.browser;
    let mut open = None;
    ui.horizontal_wrapped(|ui| {
        let l = ui.label("Open key");
        let r = ui
            .add(
                egui::TextEdit::singleline(&mut b.open_name)
                    .hint_text("exact name: user:1, app/users/7 (\\xNN for bytes)")
                    .desired_width(320.0)
                    .font(egui::TextStyle::Monospace),
            )
            .labelled_by(l.id);
        if (r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)))
            || theme::icon_button(ui, theme::ICON_KEY, "Open", None).clicked()
        {
            open = Some(b.open_name.clone());
        }
        if !b.index.is_empty()
            && theme::icon_button(ui, theme::ICON_REFRESH, "Refresh", None)
                .on_hover_text("Read the keys below again")
                .clicked()
        {
            actions.session(conn, SessionAction::Search);
        }
    });
    let note = s
        .capabilities
        .as_ref()
        .and_then(|c| c.listing_note.clone())
        .unwrap_or_default();
    ui.label(egui::RichText::new(note).color(theme::MUTED));
    if let Some(name) = open {
        actions.session(conn, SessionAction::OpenKeyByName(name));
    }
}

/// Where each node of a listing over several is (a cluster's primaries), one bar each, and
/// what the listing said the user must know (a node listed again after a failover).
fn scan_parts_ui(ui: &mut egui::Ui, scan: &crate::state::ScanStatus) {
    if !scan.parts.is_empty() {
        ui.horizontal_wrapped(|ui| {
            let count = scan.parts.len();
            for (i, part) in scan.parts.iter().enumerate() {
                #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
                let share = if part.done {
                    1.0
                } else if part.total == 0 {
                    0.0
                } else {
                    (part.visited as f64 / part.total as f64).min(1.0) as f32
                };
                let line = crate::core::format::scan_part_line(i, count, part);
                ui.add(
                    egui::ProgressBar::new(share)
                        .desired_width(230.0)
                        .text(egui::RichText::new(&line).small()),
                )
                .on_hover_text(format!(
                    "{line}; {} matching keys found there",
                    group_digits(part.matched)
                ));
            }
        });
    }
    if let Some(note) = &scan.note {
        ui.colored_label(theme::level_color(crate::state::Level::Warning), note);
    }
}

/// Whether the server may hold keys the filter over loaded keys cannot see: the listing is
/// unfinished, or its pattern lists only some keys.
fn may_hold_more(b: &crate::state::Browser) -> bool {
    let all_keys = b
        .scan
        .request
        .as_ref()
        .is_none_or(|r| r.pattern.as_slice() == b"*" && r.type_filter.is_none());
    !b.listing_complete() || !all_keys
}

/// The budgets offered, server-milliseconds a second.
const SCAN_BUDGETS: [u32; 4] = [50, 100, 250, 500];

/// How much of the server's time the next listing may take.
fn scan_budget_ui(ui: &mut egui::Ui, budget: &mut Option<u32>) {
    let l = ui.label("Scan");
    let text =
        |b: Option<u32>| b.map_or_else(|| "unthrottled".to_owned(), |ms| format!("{ms} ms/s"));
    egui::ComboBox::from_id_salt("scan_budget")
        .selected_text(text(*budget))
        .show_ui(ui, |ui| {
            for ms in SCAN_BUDGETS {
                ui.selectable_value(budget, Some(ms), text(Some(ms)));
            }
            ui.selectable_value(budget, None, text(None));
        })
        .response
        .labelled_by(l.id)
        .on_hover_text(
            "The most of the server's time a listing takes each second: each SCAN's COUNT \
             follows how long the last ones took, so none is slow (none reaches the slow log), \
             and a listing waits once its second's share is spent. Unthrottled: as fast as the \
             server answers, 1,000 keys a call",
        );
}

/// The listing's status in words (and the filter's and the sort's), and its colour.
fn scan_status_text(b: &crate::state::Browser) -> (String, egui::Color32) {
    let summary = b.scan.summary(b.index.len());
    let mut text = match &b.scan.phase {
        ScanPhase::Idle => String::new(),
        ScanPhase::Running => match (b.scan.count, b.scan.pace()) {
            (Some(_), Some(pace)) => format!("{summary} · {pace}"),
            _ => summary,
        },
        ScanPhase::Paused => format!(
            "{summary} · paused after {} keys{}",
            group_digits(b.batch_limit),
            // A keyspace too big to hold: its namespaces can be counted without loading it.
            if b.scan.total_keys > 1_000_000 {
                " · Namespaces counts them all without loading them"
            } else {
                ""
            }
        ),
        ScanPhase::Done => {
            if b.index.is_empty() {
                format!("{summary} · no key matches this pattern")
            } else {
                summary
            }
        }
        ScanPhase::Stopped => format!("{summary} · stopped"),
        ScanPhase::Failed(e) => format!("{summary} · failed: {e}"),
    };
    if b.view == BrowserView::Tree && !b.index.tree_complete() {
        // Keys listed while the list was shown are still joining the tree.
        let _ = write!(
            text,
            " · grouping keys: {} of {}",
            group_digits(b.index.attached() as u64),
            group_digits(b.index.len() as u64)
        );
    }
    if b.filter_active() {
        let running = if b.filter_running() {
            ", filtering…"
        } else {
            ""
        };
        let _ = write!(
            text,
            " · filter: {} of {} loaded{running}",
            group_digits(b.flat_len() as u64),
            group_digits(b.index.len() as u64)
        );
        if let Some(rest) = b.not_loaded().filter(|&n| n > 0) {
            let _ = write!(text, ", about {} not loaded", group_digits(rest));
        }
    }
    if let Some(sort) = b.order.sort()
        && b.view == BrowserView::Flat
    {
        let shown = b.flat_len();
        let read = b.order.facts_progress(b.generation()).min(shown);
        if sort.key.needs_facts() && shown > crate::state::MAX_FACT_SORT {
            let _ = write!(
                text,
                " · too many keys to sort by {}; narrow the pattern",
                sort.key.word()
            );
        } else if sort.key.needs_facts() && read < shown {
            let _ = write!(
                text,
                " · sorting by {}: read {} of {}",
                sort.key.word(),
                group_digits(read as u64),
                group_digits(shown as u64)
            );
        } else if b.order_stale() {
            let _ = write!(text, " · sorting by {}…", sort.key.word());
        }
    }
    let color = if matches!(b.scan.phase, ScanPhase::Failed(_)) {
        theme::level_color(crate::state::Level::Error)
    } else {
        theme::MUTED
    };
    (text, color)
}

/// Is keyboard input for the list? Not while the user types in a field other than the filter.
///
/// A field that had the keyboard when the frame began counts too: Enter in "Open key" ends
/// that field's focus in the very frame the list would see the Enter, and must not also open
/// or fold the list's selected row.
fn list_has_keyboard(ui: &egui::Ui) -> bool {
    let free = |focus: Option<egui::Id>| focus.is_none_or(|id| id == filter_id());
    free(ui.ctx().memory(egui::Memory::focused)) && free(super::focus_at_frame_start(ui.ctx()))
}

/// The id of the filter field, whose focus still lets the arrow keys move in the list.
fn filter_id() -> egui::Id {
    egui::Id::unique("filter_loaded")
}

fn keys_ui(ui: &mut egui::Ui, s: &mut Session, actions: &mut Actions, key_share: &mut f32) {
    if let Some(message) = empty_list_ui(ui, s) {
        actions.session(s.conn, message);
        return;
    }
    let mut sort_by = None;
    let (visible, open) = match s.browser.view {
        BrowserView::Flat => flat_ui(ui, s, key_share, &mut sort_by),
        BrowserView::Tree => tree_ui(ui, s, key_share),
    };
    let mut ask = |a| actions.session(s.conn, a);
    if let Some(key) = sort_by {
        ask(SessionAction::SortBy(key));
    }
    if let Some(id) = open {
        // Ctrl+click (Cmd+click) marks keys for a multi-key delete instead of opening them.
        if s.writable() && ui.input(|i| i.modifiers.command) {
            ask(SessionAction::ToggleMark(id));
        } else {
            ask(SessionAction::OpenKey(id));
        }
    }
    // The Delete key deletes the marked keys, or else the open one (undoable; production asks).
    if list_has_keyboard(ui) && ui.input(|i| i.key_pressed(egui::Key::Delete)) {
        if s.browser.marked.is_empty() {
            ask(SessionAction::DeleteOpenKey);
        } else {
            ask(SessionAction::DeleteMarked);
        }
    }
    if !visible.is_empty() {
        let mut wanted = visible;
        wanted.truncate(META_PER_FRAME);
        ask(SessionAction::RequestMeta(wanted));
    }
}

/// When the list is empty for a reason the user may not see, says so where the rows would
/// be, with the step that helps: a filter that finds nothing among the loaded keys while the
/// server may hold more, or a pattern that matches nothing. Returns what a click asks.
fn empty_list_ui(ui: &mut egui::Ui, s: &mut Session) -> Option<SessionAction> {
    let b = &mut s.browser;
    let filtered_out = b.filter_active() && !b.filter_running() && b.flat_len() == 0;
    let nothing_listed = b.scan.phase == ScanPhase::Done && b.index.is_empty();
    if !filtered_out && !nothing_listed {
        return None;
    }
    let mut asked = None;
    ui.add_space(24.0);
    ui.vertical_centered(|ui| {
        if filtered_out {
            ui.label(format!("No loaded key contains `{}`.", b.filter_text));
            if may_hold_more(b) {
                let loaded = group_digits(b.index.len() as u64);
                let detail = match b.not_loaded().filter(|&n| n > 0) {
                    Some(rest) => format!(
                        "The filter looks only at the {loaded} loaded keys; about {} more are \
                         on the server.",
                        group_digits(rest)
                    ),
                    None => format!(
                        "The filter looks only at the {loaded} loaded keys; the server may \
                         hold others."
                    ),
                };
                ui.label(egui::RichText::new(detail).color(theme::MUTED));
                ui.add_space(6.0);
                let pattern = b.filter_pattern().unwrap_or_default();
                if ui
                    .button(format!("Search the server for {pattern}"))
                    .on_hover_text("Case-sensitive, as Redis patterns are")
                    .clicked()
                {
                    asked = Some(SessionAction::SearchServerForFilter);
                }
            }
        } else {
            let pattern = if b.pattern.is_empty() {
                "*"
            } else {
                &b.pattern
            };
            ui.label(format!("No key matches `{pattern}`."));
            if pattern != "*" && ui.button("List every key").clicked() {
                "*".clone_into(&mut b.pattern);
                asked = Some(SessionAction::Search);
            }
        }
    });
    asked
}

/// Moves a selection with the arrow keys; returns the new row and whether Enter was pressed.
fn keyboard_nav(ui: &egui::Ui, current: Option<usize>, rows: usize) -> (Option<usize>, bool) {
    if rows == 0 || !list_has_keyboard(ui) {
        return (None, false);
    }
    let (down, up, enter, page_down, page_up) = ui.input(|i| {
        (
            i.key_pressed(egui::Key::ArrowDown),
            i.key_pressed(egui::Key::ArrowUp),
            i.key_pressed(egui::Key::Enter),
            i.key_pressed(egui::Key::PageDown),
            i.key_pressed(egui::Key::PageUp),
        )
    });
    let moved = match current {
        _ if !(down || up || page_down || page_up) => None,
        None => Some(0),
        Some(row) if down => Some((row + 1).min(rows - 1)),
        Some(row) if up => Some(row.saturating_sub(1)),
        Some(row) if page_down => Some((row + 20).min(rows - 1)),
        Some(row) => Some(row.saturating_sub(20)),
    };
    (moved, enter)
}

fn meta_cells(
    row: &mut egui_extras::TableRow<'_, '_>,
    slot: Option<&MetaSlot>,
    now: Instant,
) -> bool {
    let mut ticking = false;
    match slot {
        Some(MetaSlot::Ready(meta, at)) => {
            row.col(|ui| theme::type_badge(ui, &meta.key_type));
            row.col(|ui| {
                ticking = matches!(meta.ttl, Ttl::ExpiresInMs(_));
                ui.label(ttl_text(meta.ttl, *at, now));
            });
            row.col(|ui| {
                let r = ui.label(meta.size_bytes.map_or_else(|| "–".to_owned(), human_bytes));
                let mut facts = Vec::new();
                if let Some(server) = &meta.server {
                    facts.push(format!("on {server}"));
                }
                if let Some(idle) = meta.idle_secs {
                    facts.push(format!("last access {idle} s ago"));
                }
                if !facts.is_empty() {
                    r.on_hover_text(facts.join(", "));
                }
            });
        }
        Some(MetaSlot::Gone) => {
            row.col(|ui| {
                ui.label(egui::RichText::new("gone").color(theme::MUTED))
                    .on_hover_text("This key no longer exists (expired or deleted)");
            });
            row.col(|_| {});
            row.col(|_| {});
        }
        Some(MetaSlot::Failed(_)) => {
            ticking = true; // repaint so the row is asked for again after its pause
            row.col(|ui| {
                ui.label(egui::RichText::new("?").color(theme::MUTED))
                    .on_hover_text("Its type, TTL and size could not be read; retried shortly");
            });
            row.col(|_| {});
            row.col(|_| {});
        }
        _ => {
            row.col(|ui| {
                ui.label(egui::RichText::new("…").color(theme::MUTED));
            });
            row.col(|_| {});
            row.col(|_| {});
        }
    }
    ticking
}

/// Widths of the key table's columns for a table `total` wide: the key column takes its share
/// (dragged in its header, remembered), Type and TTL keep theirs, Size takes the rest. Nothing
/// is pushed out of sight as the list narrows; the key column gives way first.
fn column_widths(total: f32, spacing: f32, key_share: f32) -> [f32; 4] {
    let fixed = TYPE_WIDTH + TTL_WIDTH + 3.0 * spacing;
    let key_most = (total - fixed - SIZE_MIN).max(KEY_MIN);
    let key = (total * key_share).clamp(KEY_MIN, key_most);
    let size = (total - fixed - key).max(SIZE_MIN);
    [key, TYPE_WIDTH, TTL_WIDTH, size]
}

fn table(ui: &mut egui::Ui, widths: [f32; 4], scroll_to: Option<usize>) -> TableBuilder<'_> {
    let mut t = TableBuilder::new(ui)
        .striped(true)
        .sense(egui::Sense::click())
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center));
    for w in widths {
        t = t.column(Column::exact(w).clip(true));
    }
    if let Some(row) = scroll_to {
        t = t.scroll_to_row(row, None);
    }
    t
}

/// The table's width and its column widths, from what the list has.
fn table_widths(ui: &egui::Ui, key_share: f32) -> (f32, [f32; 4]) {
    let total = ui.available_width() - ui.spacing().scroll.bar_width - 4.0;
    (
        total,
        column_widths(total, ui.spacing().item_spacing.x, key_share),
    )
}

/// The header: titles that sort the list when clicked (in the flat view), and a grip on the
/// key column's edge that resizes it.
fn key_table_header(
    mut header: egui_extras::TableRow<'_, '_>,
    sort: Option<Sort>,
    sortable: bool,
    total: f32,
    key_share: &mut f32,
    clicked: &mut Option<SortKey>,
) {
    let titles = [
        ("Key", SortKey::Name),
        ("Type", SortKey::Type),
        ("TTL", SortKey::Ttl),
        ("Size", SortKey::Size),
    ];
    for (i, (title, key)) in titles.into_iter().enumerate() {
        header.col(|ui| {
            let cell = ui.max_rect();
            let active = sort.filter(|s| s.key == key);
            if sortable {
                let hint = match active {
                    Some(Sort {
                        descending: false, ..
                    }) => format!("Sorted by {}; click for the other way", key.word()),
                    Some(_) => format!("Sorted by {}; click to show as listed", key.word()),
                    None => format!("Sort by {}", key.word()),
                };
                let r = ui.selectable_label(active.is_some(), egui::RichText::new(title).strong());
                if r.on_hover_text(hint).clicked() {
                    *clicked = Some(key);
                }
                if let Some(active) = active {
                    let arrow = if active.descending {
                        theme::ICON_DOWN
                    } else {
                        theme::ICON_UP
                    };
                    ui.label(arrow.rich_text().color(theme::accent(ui)));
                }
            } else {
                ui.strong(title)
                    .on_hover_text("The tree is in name order; the list view sorts");
            }
            if i == 0 {
                key_column_grip(ui, cell, total, key_share);
            }
        });
    }
}

/// The grip on the key column's right edge: dragging it changes the column's share.
fn key_column_grip(ui: &mut egui::Ui, cell: egui::Rect, total: f32, key_share: &mut f32) {
    let grip = egui::Rect::from_x_y_ranges(cell.right() - 6.0..=cell.right(), cell.y_range());
    let r = ui
        .interact(
            grip,
            ui.scope_id().with("key_column_grip"),
            egui::Sense::drag(),
        )
        .on_hover_text("Drag to resize the key column");
    if r.hovered() || r.dragged() {
        ui.ctx().set_cursor_icon(egui::CursorIcon::ResizeColumn);
        ui.painter().vline(
            cell.right() - 1.0,
            cell.y_range(),
            ui.visuals().widgets.hovered.fg_stroke,
        );
    }
    if r.dragged()
        && let Some(p) = r.interact_pointer_pos()
        && total > 0.0
    {
        *key_share = ((p.x - cell.left()) / total).clamp(0.15, 0.85);
    }
}

fn flat_ui(
    ui: &mut egui::Ui,
    s: &Session,
    key_share: &mut f32,
    sort_by: &mut Option<SortKey>,
) -> (Vec<KeyId>, Option<KeyId>) {
    let b = &s.browser;
    let rows = b.flat_len();
    let current = b.selected.and_then(|id| b.flat_row_of(id));
    let (moved, enter) = keyboard_nav(ui, current, rows);
    let mut open = None;
    if enter {
        open = b.selected;
    }
    if let Some(row) = moved {
        open = b.flat_key(row);
    }
    let mut visible = Vec::new();
    let mut ticking = false;
    let now = Instant::now();
    let mut line = String::new();
    let (total, widths) = table_widths(ui, *key_share);
    let fit = theme::chars_fitting(ui, widths[0]);
    let sort = b.order.sort();
    table(ui, widths, moved)
        .header(20.0, |h| {
            key_table_header(h, sort, true, total, key_share, sort_by);
        })
        .body(|body| {
            body.rows(theme::ROW_HEIGHT, rows, |mut row| {
                let Some(id) = b.flat_key(row.index()) else {
                    return;
                };
                visible.push(id);
                row.col(|ui| {
                    line.clear();
                    crate::core::escape::escape_into(b.index.key(id), &mut line);
                    let preview = match b.meta(id) {
                        Some(MetaSlot::Ready(meta, _)) => meta.preview.as_deref(),
                        _ => None,
                    };
                    // A preview beside the name leaves the name about half the room.
                    let room = if preview.is_some() { fit / 2 } else { fit };
                    let shown = middle_ellipsis(&line, room);
                    let selected = b.selected == Some(id) || b.marked.contains(&id);
                    let r = ui.selectable_label(
                        selected,
                        egui::RichText::new(shown.as_ref()).monospace(),
                    );
                    let r = if shown.len() == line.len() {
                        r
                    } else {
                        r.on_hover_text(line.as_str())
                    };
                    if r.clicked() {
                        open = Some(id);
                    }
                    if let Some(preview) = preview {
                        ui.label(egui::RichText::new(preview).color(theme::MUTED));
                    }
                });
                ticking |= meta_cells(&mut row, b.meta(id), now);
                if row.response().clicked() {
                    open = Some(id);
                }
            });
        });
    if ticking || b.order_stale() {
        ui.ctx().request_repaint_after(Duration::from_millis(500));
    }
    (visible, open)
}

#[expect(
    clippy::too_many_lines,
    reason = "an egui layout reads top to bottom as the screen does"
)]
fn tree_ui(ui: &mut egui::Ui, s: &mut Session, key_share: &mut f32) -> (Vec<KeyId>, Option<KeyId>) {
    s.browser.refresh_tree();
    let b = &s.browser;
    let rows = b.tree_rows();
    if !b.index.tree_complete() {
        // Keys joining the tree (the status line says how far): the next frame goes on.
        ui.ctx().request_repaint();
    } else if b.tree_pending() {
        ui.ctx().request_repaint_after(Duration::from_millis(250));
    }
    let current = rows.iter().position(|r| match *r {
        TreeRow::Leaf { id, .. } => b.selected == Some(id) && b.selected_node.is_none(),
        TreeRow::Node { id, .. } => b.selected_node == Some(id),
    });
    let (moved, enter) = keyboard_nav(ui, current, rows.len());
    let (left, right) = if list_has_keyboard(ui) {
        ui.input(|i| {
            (
                i.key_pressed(egui::Key::ArrowLeft),
                i.key_pressed(egui::Key::ArrowRight),
            )
        })
    } else {
        (false, false)
    };
    let mut open = None;
    let mut toggle = None;
    let mut select_node = None;
    if let Some(row) = current {
        match rows[row] {
            TreeRow::Node { id, .. } => {
                let expanded = b.expanded.contains(&id);
                if enter || (right && !expanded) || (left && expanded) {
                    toggle = Some(id);
                }
            }
            TreeRow::Leaf { id, .. } => {
                if enter {
                    open = Some(id);
                }
            }
        }
    }
    if let Some(row) = moved {
        match rows[row] {
            TreeRow::Node { id, .. } => select_node = Some(id),
            TreeRow::Leaf { id, .. } => open = Some(id),
        }
    }
    let mut visible = Vec::new();
    let mut ticking = false;
    let now = Instant::now();
    let delimiter_len = b.index.delimiter().len();
    let (total, widths) = table_widths(ui, *key_share);
    let fit = theme::chars_fitting(ui, widths[0]);
    // Counts are of the loaded keys: until the listing ends the server may hold more.
    let partial = !b.listing_complete();
    let mut no_sort = None;
    {
        table(ui, widths, moved)
            .header(20.0, |h| {
                key_table_header(h, None, false, total, key_share, &mut no_sort);
            })
            .body(|body| {
                body.rows(theme::ROW_HEIGHT, rows.len(), |mut row| {
                    match rows[row.index()] {
                        TreeRow::Node { id, depth } => {
                            row.col(|ui| {
                                ui.add_space(f32::from(depth) * theme::TREE_INDENT);
                                let open_mark = if b.expanded.contains(&id) { "-" } else { "+" };
                                let count = group_digits(u64::from(b.node_count(id)));
                                let plus = if partial { "+" } else { "" };
                                let text = format!(
                                    "{open_mark} {} ({count}{plus})",
                                    escape_bytes(b.index.node_name(id)),
                                );
                                let selected = b.selected_node == Some(id);
                                let r = ui.selectable_label(selected, text);
                                let r = if partial {
                                    r.on_hover_text(format!(
                                        "{count} among the loaded keys; the listing has not \
                                         finished, so the server may hold more"
                                    ))
                                } else {
                                    r
                                };
                                if r.clicked() {
                                    toggle = Some(id);
                                }
                            });
                            row.col(|_| {});
                            row.col(|_| {});
                            row.col(|_| {});
                            if row.response().clicked() {
                                toggle = Some(id);
                            }
                        }
                        TreeRow::Leaf { id, depth } => {
                            visible.push(id);
                            row.col(|ui| {
                                ui.add_space(f32::from(depth) * theme::TREE_INDENT);
                                let key = b.index.key(id);
                                let parent = b.index.leaf_parent(id);
                                let skip = if parent == crate::core::keyindex::ROOT {
                                    0
                                } else {
                                    b.index.node_path(parent).len() + delimiter_len
                                };
                                let name = escape_bytes(key.get(skip..).unwrap_or(key));
                                let room = fit.saturating_sub(usize::from(depth) * 2).max(8);
                                let selected = (b.selected == Some(id)
                                    && b.selected_node.is_none())
                                    || b.marked.contains(&id);
                                if ui
                                    .selectable_label(
                                        selected,
                                        egui::RichText::new(middle_ellipsis(&name, room))
                                            .monospace(),
                                    )
                                    .on_hover_text(escape_bytes(key))
                                    .clicked()
                                {
                                    open = Some(id);
                                }
                            });
                            ticking |= meta_cells(&mut row, b.meta(id), now);
                            if row.response().clicked() {
                                open = Some(id);
                            }
                        }
                    }
                });
            });
    }
    let b = &mut s.browser;
    if let Some(id) = select_node {
        b.selected_node = Some(id);
    }
    if let Some(id) = toggle {
        b.toggle(id);
        b.selected_node = Some(id);
    }
    if open.is_some() {
        b.selected_node = None;
    }
    if ticking {
        ui.ctx().request_repaint_after(Duration::from_millis(500));
    }
    (visible, open)
}

#[cfg(test)]
mod tests {
    use super::column_widths;

    #[test]
    fn narrow_lists_keep_every_column_and_the_key_column_gives_way_first() {
        for total in [300.0, 400.0, 700.0, 1400.0] {
            let w = column_widths(total, 8.0, 0.6);
            assert!(
                w[0] >= super::KEY_MIN && w[3] >= super::SIZE_MIN,
                "{total}: {w:?}"
            );
            if total >= 400.0 {
                let used: f32 = w.iter().sum::<f32>() + 24.0;
                assert!(used <= total + 0.5, "{total}: {w:?} fits");
            }
        }
        let wide = column_widths(1400.0, 8.0, 0.6);
        assert!(
            (wide[0] - 840.0).abs() < 0.5,
            "the key column has its share"
        );
    }
}
