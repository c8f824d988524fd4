//! The console panel: results as typed trees, the input with completion and help, and where
//! a keyless command runs on a cluster or pool.
//!
//! The keys: Enter runs (Shift+Enter starts a new line, for several commands at once);
//! Up/Down browse the history, except while the completion list is shown for the name being
//! typed, where they choose in it (the list never shows while browsing, so the two never
//! fight over the arrows); Tab takes the completion; Escape closes the list.

use egui::{Key, Modifiers};

use super::{Actions, theme};
use crate::core::cmdline::reply_text;
use crate::core::escape::escape_bytes;
use crate::core::model::{ExecOn, NodeReply, RawReply};
use crate::state::{ConsoleEntry, ConsoleOutcome, DocsState, Session, SessionAction};

/// Elements drawn at most per reply (the rest are counted; Copy gives them all).
const MAX_DRAWN: usize = 500;
/// Characters of a string drawn at most.
const MAX_STRING_CHARS: usize = 2_000;
/// Lines of the input shown at once (a longer paste scrolls inside it).
const INPUT_ROWS: usize = 6;
/// Characters of a completion's argument hint shown (`GEORADIUS` has 150).
const HINT_CHARS: usize = 70;

fn input_id(conn: crate::service::ConnId) -> egui::Id {
    egui::Id::unique(("console_input", conn))
}

/// Draws the console of `s` in the space given.
pub fn console_ui(ui: &mut egui::Ui, s: &mut Session, actions: &mut Actions) {
    // A bottom panel takes the height of what it holds: the space is taken whole here and
    // drawn into, so the panel stays as tall as the user dragged it, whatever it shows.
    let rect = ui.available_rect_before_wrap();
    ui.allocate_rect(rect, egui::Sense::hover());
    let mut inner = ui.new_child(
        egui::UiBuilder::new()
            .max_rect(rect)
            .layout(egui::Layout::top_down(egui::Align::Min)),
    );
    inner.set_clip_rect(rect.intersect(ui.clip_rect()));
    contents_ui(&mut inner, s, actions);
}

fn contents_ui(ui: &mut egui::Ui, s: &mut Session, actions: &mut Actions) {
    let conn = s.conn;
    toolbar_ui(ui, s, actions);
    ui.separator();
    // The results in the height the help line and the input (as tall as its lines) left in
    // the last frame.
    let below_id = egui::Id::unique(("console_below", conn));
    let below = ui.data(|d| d.get_temp::<f32>(below_id)).unwrap_or(90.0);
    let results = (ui.available_height() - below).max(40.0);
    egui::ScrollArea::vertical()
        .id_salt(("console_scroll", conn))
        .auto_shrink([false, false])
        .max_height(results)
        .min_scrolled_height(results)
        .stick_to_bottom(true)
        .show(ui, |ui| {
            if s.console.entries.is_empty() {
                ui.label(
                    egui::RichText::new(
                        "Type a command and press Enter. Several lines run one after another.",
                    )
                    .color(theme::MUTED),
                );
            }
            for entry in &s.console.entries {
                entry_ui(ui, entry, &s.console.nodes, conn, actions);
            }
        });
    let top = ui.cursor().top();
    ui.separator();
    help_ui(ui, s);
    input_ui(ui, s, actions);
    let used = ui.cursor().top() - top;
    if (used - below).abs() > 0.5 {
        ui.data_mut(|d| d.insert_temp(below_id, used));
        ui.ctx().request_repaint();
    }
}

fn toolbar_ui(ui: &mut egui::Ui, s: &mut Session, actions: &mut Actions) {
    let conn = s.conn;
    ui.horizontal(|ui| {
        ui.strong("Console");
        if s.profile.read_only {
            ui.label(
                egui::RichText::new("read-only: commands that write are refused")
                    .color(theme::level_color(crate::state::Level::Warning)),
            );
        }
        if let DocsState::Failed(e) = &s.console.docs_state {
            ui.label(egui::RichText::new(format!("no completion: {e}")).color(theme::MUTED));
        }
        if !s.console.nodes.is_empty() || s.capabilities.as_ref().is_some_and(|c| c.nodes) {
            route_ui(ui, s);
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if theme::icon_only(ui, theme::ICON_CLOSE, "Close the console (Ctrl+`)").clicked() {
                actions.session(conn, SessionAction::ToggleConsole);
            }
            if theme::icon_button(ui, theme::ICON_CLEANING_SERVICES, "Clear", Some("Ctrl+L"))
                .clicked()
            {
                actions.session(conn, SessionAction::ClearConsole);
            }
        });
    });
}

/// Where commands without a key run: ask each time, every primary, or one node.
fn route_ui(ui: &mut egui::Ui, s: &mut Session) {
    let shown = |on: &ExecOn| match on {
        ExecOn::ByKey => "Keyless commands: ask".to_owned(),
        ExecOn::AllPrimaries => "Keyless commands: all primaries".to_owned(),
        ExecOn::Node(n) => format!("Keyless commands: {n}"),
    };
    let mut route = s.console.route.clone();
    egui::ComboBox::from_id_salt(("console_route", s.conn))
        .selected_text(shown(&route))
        .show_ui(ui, |ui| {
            ui.selectable_value(&mut route, ExecOn::ByKey, "Ask each time");
            ui.selectable_value(&mut route, ExecOn::AllPrimaries, "All primaries");
            for (node, primary) in &s.console.nodes {
                let label = if *primary {
                    node.clone()
                } else {
                    format!("{node} (replica)")
                };
                ui.selectable_value(&mut route, ExecOn::Node(node.clone()), label);
            }
        })
        .response
        .on_hover_text("Commands with a key always go to the node serving it");
    s.console.route = route;
}

fn entry_ui(
    ui: &mut egui::Ui,
    entry: &ConsoleEntry,
    nodes: &[(String, bool)],
    conn: crate::service::ConnId,
    actions: &mut Actions,
) {
    ui.horizontal(|ui| {
        ui.label(
            egui::RichText::new("›")
                .color(theme::accent(ui))
                .monospace(),
        );
        ui.label(egui::RichText::new(&entry.line).monospace().strong());
        if let Some(took) = entry.took {
            ui.label(
                egui::RichText::new(format!("{:.1} ms", took.as_secs_f64() * 1000.0))
                    .color(theme::MUTED)
                    .small(),
            );
        }
        if let ConsoleOutcome::Replies(replies) = &entry.outcome
            && theme::icon_only(ui, theme::ICON_CONTENT_COPY, "Copy the reply").clicked()
        {
            let text: String = replies
                .iter()
                .map(|r| match &r.node {
                    Some(node) => format!("{node}:\n{}", reply_text(&r.reply)),
                    None => reply_text(&r.reply),
                })
                .collect();
            ui.ctx().copy_text(text);
        }
    });
    let error = theme::level_color(crate::state::Level::Error);
    ui.indent(("entry", entry.id), |ui| match &entry.outcome {
        ConsoleOutcome::Queued => {
            ui.label(egui::RichText::new("waiting…").color(theme::MUTED));
        }
        ConsoleOutcome::Running => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("running… (Cancel, or Ctrl+C, stops it)");
            });
        }
        ConsoleOutcome::Asking => {
            ui.label(egui::RichText::new("waiting for your answer…").color(theme::MUTED));
        }
        ConsoleOutcome::Cancelled => {
            ui.label(egui::RichText::new("cancelled").color(theme::MUTED));
        }
        ConsoleOutcome::Failed(reason) => {
            ui.colored_label(error, reason.as_str());
        }
        ConsoleOutcome::NeedsNode => {
            ui.label("This command has no key to choose a node by. Run it on:");
            ui.horizontal_wrapped(|ui| {
                if ui.button("All primaries").clicked() {
                    actions.session(
                        conn,
                        SessionAction::ConsoleRunOn(entry.id, ExecOn::AllPrimaries),
                    );
                }
                for (node, _) in nodes {
                    if ui.button(node.as_str()).clicked() {
                        actions.session(
                            conn,
                            SessionAction::ConsoleRunOn(entry.id, ExecOn::Node(node.clone())),
                        );
                    }
                }
            });
        }
        ConsoleOutcome::Replies(replies) => replies_ui(ui, replies, entry.id),
    });
}

fn replies_ui(ui: &mut egui::Ui, replies: &[NodeReply], id: u64) {
    for (n, NodeReply { node, reply }) in replies.iter().enumerate() {
        if let Some(node) = node {
            ui.label(egui::RichText::new(format!("{node}:")).color(theme::MUTED));
        }
        let mut budget = MAX_DRAWN;
        reply_ui(ui, reply, egui::Id::unique(("reply", id, n)), &mut budget);
    }
}

/// One reply as a tree: strings escaped as everywhere else, errors in red, arrays and maps
/// foldable.
fn reply_ui(ui: &mut egui::Ui, reply: &RawReply, id: egui::Id, budget: &mut usize) {
    match reply {
        RawReply::Array(items) | RawReply::Set(items) => {
            let kind = if matches!(reply, RawReply::Set(_)) {
                "set"
            } else {
                "array"
            };
            if items.is_empty() {
                ui.label(egui::RichText::new(format!("(empty {kind})")).monospace());
                return;
            }
            collection_ui(ui, id, items.len(), kind, budget, |ui, i, budget| {
                ui.horizontal(|ui| {
                    ui.label(
                        egui::RichText::new(format!("{})", i + 1))
                            .color(theme::MUTED)
                            .monospace(),
                    );
                    reply_ui(ui, &items[i], id.with(i), budget);
                });
            });
        }
        RawReply::Map(pairs) => {
            if pairs.is_empty() {
                ui.label(egui::RichText::new("(empty map)").monospace());
                return;
            }
            collection_ui(ui, id, pairs.len(), "map", budget, |ui, i, budget| {
                ui.horizontal(|ui| {
                    reply_ui(ui, &pairs[i].0, id.with((i, 0)), budget);
                    ui.label(egui::RichText::new("=>").color(theme::MUTED));
                    reply_ui(ui, &pairs[i].1, id.with((i, 1)), budget);
                });
            });
        }
        leaf => {
            let (text, color) = leaf_text(leaf);
            let mut rich = egui::RichText::new(text).monospace();
            if let Some(color) = color {
                rich = rich.color(color);
            }
            ui.add(egui::Label::new(rich).wrap());
        }
    }
}

/// A foldable collection of `len` elements, open at first when small.
fn collection_ui(
    ui: &mut egui::Ui,
    id: egui::Id,
    len: usize,
    kind: &str,
    budget: &mut usize,
    mut element: impl FnMut(&mut egui::Ui, usize, &mut usize),
) {
    let noun = if len == 1 { "element" } else { "elements" };
    egui::CollapsingHeader::new(
        egui::RichText::new(format!("{kind}, {len} {noun}")).color(theme::MUTED),
    )
    .id_salt(id)
    .default_open(len <= 50)
    .show(ui, |ui| {
        for i in 0..len {
            if *budget == 0 {
                ui.label(
                    egui::RichText::new(format!(
                        "… {} more not drawn (Copy the reply for all of it)",
                        len - i
                    ))
                    .color(theme::MUTED),
                );
                break;
            }
            *budget -= 1;
            element(ui, i, budget);
        }
    });
}

/// A simple reply's text and colour, as `redis-cli` words it.
fn leaf_text(reply: &RawReply) -> (String, Option<egui::Color32>) {
    match reply {
        RawReply::Nil => ("(nil)".to_owned(), Some(theme::MUTED)),
        RawReply::Int(i) => (format!("(integer) {i}"), None),
        RawReply::Double(d) => (format!("(double) {d}"), None),
        RawReply::Bool(b) => (format!("({b})"), None),
        RawReply::Bulk(bytes) => {
            let escaped = escape_bytes(bytes).replace('"', "\\\"");
            if escaped.chars().count() > MAX_STRING_CHARS {
                let cut: String = escaped.chars().take(MAX_STRING_CHARS).collect();
                (format!("\"{cut}\" … ({} bytes in all)", bytes.len()), None)
            } else {
                (format!("\"{escaped}\""), None)
            }
        }
        RawReply::Status(text) | RawReply::Text(text) => (text.clone(), None),
        RawReply::Error(text) => (
            format!("(error) {text}"),
            Some(theme::level_color(crate::state::Level::Error)),
        ),
        RawReply::Array(_) | RawReply::Set(_) | RawReply::Map(_) => (String::new(), None),
    }
}

/// The completions for the name being typed, floating above the input (`above`), over the
/// results rather than pushing them away.
fn completions_ui(ui: &egui::Ui, s: &Session, above: egui::Rect) {
    let found = s.console.completions();
    if found.is_empty() {
        return;
    }
    egui::Area::new(egui::Id::unique(("console_completions", s.conn)))
        .order(egui::Order::Foreground)
        .pivot(egui::Align2::LEFT_BOTTOM)
        .fixed_pos(above.left_top())
        .show(ui.ctx(), |ui| {
            egui::Frame::popup(ui.style()).show(ui, |ui| {
                for (i, doc) in found.iter().enumerate() {
                    let args = crate::core::format::middle_ellipsis(&doc.args, HINT_CHARS);
                    let text = egui::RichText::new(format!("{} {args}", doc.name)).monospace();
                    let text = if i == s.console.selected {
                        text.color(theme::accent(ui)).strong()
                    } else {
                        text
                    };
                    ui.horizontal(|ui| {
                        ui.label(text);
                        ui.label(
                            egui::RichText::new(&doc.summary)
                                .color(theme::MUTED)
                                .small(),
                        );
                    });
                }
                ui.label(
                    egui::RichText::new("Tab takes it · Up/Down choose · Esc closes")
                        .color(theme::MUTED)
                        .small(),
                );
            });
        });
}

/// What the command being typed takes and does.
fn help_ui(ui: &mut egui::Ui, s: &Session) {
    let help = s.console.help().map(|doc| {
        let since = if doc.since.is_empty() {
            String::new()
        } else {
            format!(" · since {}", doc.since)
        };
        format!("{} {} — {}{since}", doc.name, doc.args, doc.summary)
    });
    ui.label(
        egui::RichText::new(help.unwrap_or_default())
            .color(theme::MUTED)
            .small(),
    );
}

/// The keys the input handles itself, taken before the text field sees them.
fn keys_ui(ui: &egui::Ui, s: &mut Session, actions: &mut Actions, focused: bool) {
    let conn = s.conn;
    let pressed = |key| ui.input_mut(|i| i.consume_key(Modifiers::NONE, key));
    if ui.input_mut(|i| i.consume_key(Modifiers::COMMAND, Key::L)) {
        actions.session(conn, SessionAction::ClearConsole);
    }
    if !focused {
        return;
    }
    let listed = s.console.completions().len();
    if listed > 0 {
        if pressed(Key::ArrowDown) {
            s.console.selected = (s.console.selected + 1) % listed;
        }
        if pressed(Key::ArrowUp) {
            s.console.selected = (s.console.selected + listed - 1) % listed;
        }
        if pressed(Key::Tab) {
            s.console.complete();
        }
        if pressed(Key::Escape) {
            s.console.dismissed = true;
        }
    } else if !s.console.input.contains('\n') {
        // A one-line input: the arrows browse the history.
        if pressed(Key::ArrowUp) {
            s.console.browse(true);
        }
        if pressed(Key::ArrowDown) {
            s.console.browse(false);
        }
    }
    if pressed(Key::Enter) && !s.console.input.trim().is_empty() {
        actions.session(conn, SessionAction::SubmitConsole);
    }
    if s.console.busy() && ui.input_mut(|i| i.consume_key(Modifiers::COMMAND, Key::C)) {
        actions.session(conn, SessionAction::CancelConsole);
    }
}

fn input_ui(ui: &mut egui::Ui, s: &mut Session, actions: &mut Actions) {
    let conn = s.conn;
    let id = input_id(conn);
    let focused = ui.memory(|m| m.has_focus(id));
    keys_ui(ui, s, actions, focused);
    ui.horizontal(|ui| {
        let busy = s.console.busy();
        let width = ui.available_width() - if busy { 170.0 } else { 80.0 };
        let before = s.console.input.clone();
        let rows = s.console.input.lines().count().clamp(1, INPUT_ROWS);
        let edit = egui::TextEdit::multiline(&mut s.console.input)
            .id(id)
            .desired_rows(rows)
            .desired_width(width.max(120.0))
            .font(egui::TextStyle::Monospace)
            .hint_text(if s.profile.read_only {
                "a command (read-only profile)"
            } else {
                "a command, e.g. GET key"
            })
            .lock_focus(true);
        let row = ui.text_style_height(&egui::TextStyle::Monospace);
        #[expect(clippy::cast_precision_loss, reason = "at most six rows")]
        let response = egui::ScrollArea::vertical()
            .id_salt(("console_input_scroll", conn))
            .max_height(row * rows as f32 + 8.0)
            .show(ui, |ui| ui.add(edit))
            .inner;
        response.widget_info(|| {
            egui::WidgetInfo::labeled(egui::Role::TextInput, true, "Console command")
        });
        if s.console.input != before {
            s.console.typed();
        }
        completions_ui(ui, s, response.rect);
        let free = ui.memory(|m| m.focused().is_none_or(|f| f == id));
        let soft = std::mem::take(&mut s.console.focus) && free;
        if std::mem::take(&mut s.console.grab) || soft {
            response.request_focus();
        }
        if theme::icon_button(ui, theme::ICON_PLAY_ARROW, "Run", Some("Enter")).clicked()
            && !s.console.input.trim().is_empty()
        {
            actions.session(conn, SessionAction::SubmitConsole);
        }
        if busy && theme::icon_button(ui, theme::ICON_STOP, "Cancel", Some("Ctrl+C")).clicked() {
            actions.session(conn, SessionAction::CancelConsole);
        }
    });
}
