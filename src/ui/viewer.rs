//! The value viewer: key facts, then the value as text, JSON or hex, paged for collections.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use egui_extras::{Column, TableBuilder};

use super::{Actions, ConnActions, DialogPurpose, edit, theme};
use crate::core::escape::{escape_bytes, hex_dump};
use crate::core::format::{group_digits, human_bytes, key_label, pretty_json, ttl_text};
use crate::core::model::{KeyType, Ttl, ValueItems};
use crate::state::{Pending, Session, SessionAction, ValueMode, Viewer, ViewerState};

/// Most bytes rendered as text (the rest can be saved to a file).
const TEXT_VIEW_BYTES: usize = 256 * 1024;
/// Most bytes rendered as a hex dump.
const HEX_VIEW_BYTES: usize = 64 * 1024;
/// Characters of a collection element shown in a table cell.
const CELL_CHARS: usize = 160;

/// Draws the viewer of a connection.
pub fn viewer_ui(ui: &mut egui::Ui, s: &mut Session, actions: &mut Actions) {
    // Keep the panel at the width the user gave it, whatever the content's width.
    ui.set_min_width(ui.available_width());
    let conn = s.conn;
    let writable = s.writable();
    let rename = s.capabilities.as_ref().is_some_and(|c| c.rename);
    let page_loading = s.is_pending(Pending::Page);
    let can_find = s.capabilities.as_ref().is_some_and(|c| c.find_in_values);
    let Some(v) = &mut s.viewer else {
        ui.add_space(20.0);
        ui.label(egui::RichText::new("Select a key to see its value.").color(theme::MUTED));
        return;
    };
    let mut acts = actions.of(conn);
    {
        ui.add(
            egui::Label::new(egui::RichText::new(key_label(&v.key)).monospace().strong())
                .selectable(true),
        );
        match v.state.clone() {
            ViewerState::Loading => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("Loading…");
                });
            }
            ViewerState::Failed(reason) => {
                ui.colored_label(theme::level_color(crate::state::Level::Error), reason);
                if ui.button("Reload").clicked() {
                    acts.ask(SessionAction::OpenKeyBytes(v.key.clone()));
                }
            }
            ViewerState::Loaded => {
                facts_ui(ui, v);
                tags_ui(ui, v, writable, &mut acts);
                if writable {
                    edit::key_actions_ui(ui, v, rename, &mut acts);
                    edit::conflict_ui(ui, v, &mut acts);
                }
                ui.separator();
                let is_string = matches!(v.items, Some(ValueItems::String { .. }));
                let editing = writable
                    && is_string
                    && (edit::decoded_editor_ui(ui, v, &mut acts)
                        || edit::string_editor_ui(ui, v, &mut acts));
                if writable && is_string && !editing {
                    edit::edit_buttons_ui(ui, v, &mut acts);
                }
                if writable && !is_string {
                    edit::element_actions_ui(ui, v, &mut acts);
                }
                if !editing {
                    let (save, more) = value_ui(ui, v, page_loading, can_find, &mut acts);
                    if more {
                        acts.ask(SessionAction::LoadMore);
                    }
                    if let Some(name) = save {
                        acts.pick_file(DialogPurpose::SaveValue { conn, name });
                    }
                }
            }
        }
    }
}

fn facts_ui(ui: &mut egui::Ui, v: &Viewer) {
    let Some(d) = &v.details else { return };
    ui.horizontal_wrapped(|ui| {
        if theme::icon_button(ui, theme::ICON_CONTENT_COPY, "Copy key", None).clicked() {
            ui.ctx().copy_text(escape_bytes(&v.key));
        }
        theme::type_badge(ui, &d.meta.key_type);
        ui.separator();
        ui.label(format!(
            "TTL: {}",
            ttl_text(d.meta.ttl, v.read_at, Instant::now())
        ));
        if matches!(d.meta.ttl, Ttl::ExpiresInMs(_)) {
            ui.ctx().request_repaint_after(Duration::from_millis(500));
        }
        ui.separator();
        let length_label = match d.meta.key_type {
            crate::core::model::KeyType::String => format!("Length: {}", human_bytes(d.length)),
            _ => format!("Length: {}", group_digits(d.length)),
        };
        ui.label(length_label);
        if let Some(size) = d.meta.size_bytes {
            ui.separator();
            ui.label(format!("Memory: {}", human_bytes(size)));
        }
        if let Some(enc) = &d.encoding {
            ui.separator();
            ui.label(format!("Encoding: {enc}"));
        }
        for (name, value) in &d.extra {
            ui.separator();
            ui.label(format!("{name}: {value}"));
        }
    });
}

/// The Laravel cache tags of the open entry, each with its flush (on a writable profile).
fn tags_ui(ui: &mut egui::Ui, v: &Viewer, writable: bool, acts: &mut crate::ui::ConnActions<'_>) {
    let Some(tags) = v.tags.as_ref().filter(|t| !t.is_empty()) else {
        return;
    };
    ui.horizontal_wrapped(|ui| {
        ui.label("Laravel tags:");
        for tag in tags {
            ui.label(egui::RichText::new(&tag.name).monospace().strong());
            if writable
                && ui
                    .small_button(format!("Flush tag {}...", tag.name))
                    .on_hover_text(format!(
                        "Delete what Cache::tags(['{}'])->flush() deletes: every entry stored \
                         under it, its reference sets and its id (shown first)",
                        tag.name
                    ))
                    .clicked()
            {
                acts.ask(SessionAction::FlushTag(tag.clone()));
            }
        }
    });
}

/// Text for the text view: printable UTF-8 with line breaks and tabs kept, other bytes escaped.
fn text_view(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\n' | '\t' => out.push(c),
                '\\' => out.push_str("\\\\"),
                c if c.is_control() => out.push_str(&escape_bytes(c.to_string().as_bytes())),
                c => out.push(c),
            }
        }
        for &b in chunk.invalid() {
            out.push_str(&escape_bytes(&[b]));
        }
    }
    out
}

fn render(bytes: &[u8], mode: ValueMode, flags: Option<u32>) -> String {
    match mode {
        ValueMode::Decoded(choice) => {
            let decoded = match choice {
                Some(format) => Some(crate::core::decode::decode_as(bytes, format)),
                None => crate::core::decode::detect(bytes, flags),
            };
            match decoded {
                Some(Ok(d)) => crate::core::decode::render(&d),
                Some(Err(e)) => format!(
                    "(cannot decode: {e})\n\n{}",
                    render(bytes, ValueMode::Text, None)
                ),
                None => format!(
                    "(no known format recognised: choose one by hand)\n\n{}",
                    render(bytes, ValueMode::Text, None)
                ),
            }
        }
        ValueMode::Text => {
            let shown = &bytes[..bytes.len().min(TEXT_VIEW_BYTES)];
            let mut text = text_view(shown);
            if shown.len() < bytes.len() {
                let _ = write!(
                    text,
                    "\n… showing the first {} of {}",
                    human_bytes(shown.len() as u64),
                    human_bytes(bytes.len() as u64)
                );
            }
            text
        }
        ValueMode::Json => pretty_json(bytes).unwrap_or_else(|| {
            let reason = serde_json::from_slice::<serde_json::Value>(bytes)
                .err()
                .map_or_else(
                    || "not a JSON object or array".to_owned(),
                    |e| e.to_string(),
                );
            format!(
                "(not JSON: {reason})\n\n{}",
                text_view(&bytes[..bytes.len().min(TEXT_VIEW_BYTES)])
            )
        }),
        ValueMode::Hex => {
            let shown = &bytes[..bytes.len().min(HEX_VIEW_BYTES)];
            let mut text = hex_dump(shown);
            if shown.len() < bytes.len() {
                let _ = write!(text, "… first {} shown", human_bytes(shown.len() as u64));
            }
            text
        }
    }
}

fn mode_buttons(ui: &mut egui::Ui, mode: &mut ValueMode) {
    // Wrapped: in a narrow window the last buttons go to a second line instead of off the edge.
    ui.horizontal_wrapped(|ui| {
        ui.label("View as");
        ui.selectable_value(mode, ValueMode::Text, "Text");
        ui.selectable_value(mode, ValueMode::Json, "JSON");
        ui.selectable_value(mode, ValueMode::Hex, "Hex");
        if ui
            .selectable_label(matches!(mode, ValueMode::Decoded(_)), "Decoded")
            .clicked()
            && !matches!(mode, ValueMode::Decoded(_))
        {
            *mode = ValueMode::Decoded(None);
        }
        if let ValueMode::Decoded(choice) = mode {
            let l = ui.label("Format");
            egui::ComboBox::from_id_salt("decode_format")
                .selected_text(choice.map_or("auto", crate::core::decode::Format::label))
                .show_ui(ui, |ui| {
                    ui.selectable_value(choice, None, "auto");
                    for f in crate::core::decode::Format::ALL {
                        ui.selectable_value(choice, Some(f), f.label());
                    }
                })
                .response
                .labelled_by(l.id);
        }
    });
}

/// A value's text, selectable, read-only; JSON in colour (keys, strings, numbers, literals).
fn text_block(ui: &mut egui::Ui, text: &str, id: &str, json: bool) {
    egui::ScrollArea::both()
        .id_salt(id)
        .auto_shrink([false, false])
        .show(ui, |ui| {
            let mut view = text;
            let mut layouter = super::theme::json_layouter;
            let mut edit = egui::TextEdit::multiline(&mut view)
                .code_editor()
                .desired_width(f32::INFINITY);
            if json {
                edit = edit.layouter(&mut layouter);
            }
            ui.add(edit);
        });
}

/// Bytes of one element, for the detail view below a collection table.
fn element_bytes(items: &ValueItems, index: usize) -> Option<Vec<u8>> {
    Some(match items {
        ValueItems::Hash(v) => v.get(index)?.1.to_vec(),
        ValueItems::List(v) | ValueItems::Set(v) => v.get(index)?.to_vec(),
        ValueItems::ZSet(v) => v.get(index)?.0.to_vec(),
        ValueItems::Stream(v) => {
            let e = v.get(index)?;
            let object: serde_json::Map<String, serde_json::Value> = e
                .fields
                .iter()
                .map(|(f, v)| (escape_bytes(f), serde_json::Value::String(escape_bytes(v))))
                .collect();
            serde_json::to_vec(&object).ok()?
        }
        ValueItems::String { .. } | ValueItems::Json(_) => return None,
    })
}

fn cell(bytes: &[u8]) -> String {
    let text = escape_bytes(&bytes[..bytes.len().min(CELL_CHARS * 4)]);
    if text.chars().count() > CELL_CHARS {
        let cut: String = text.chars().take(CELL_CHARS).collect();
        format!("{cut}…")
    } else {
        text
    }
}

/// Draws the value; returns (save requested with a file name, load more requested).
fn value_ui(
    ui: &mut egui::Ui,
    v: &mut Viewer,
    page_loading: bool,
    can_find: bool,
    acts: &mut ConnActions<'_>,
) -> (Option<String>, bool) {
    let mut save = None;
    let mut load_more = false;
    let Some(items) = &v.items else {
        return (None, false);
    };
    match items {
        ValueItems::String { bytes, total_len } => {
            ui.horizontal_wrapped(|ui| {
                mode_buttons(ui, &mut v.mode);
                if theme::icon_button(ui, theme::ICON_SAVE, "Save to file…", None).clicked() {
                    save = Some(format!("{}.bin", sanitize_file_name(&escape_bytes(&v.key))));
                }
            });
            if (bytes.len() as u64) < *total_len {
                ui.label(
                    egui::RichText::new(format!(
                        "Preview: the first {} of {}. Save to file for the whole value.",
                        human_bytes(bytes.len() as u64),
                        human_bytes(*total_len)
                    ))
                    .color(theme::MUTED),
                );
            }
            if let Some(status) = &v.save_status {
                ui.label(egui::RichText::new(status).color(theme::MUTED));
            }
            let key = (v.mode, None, bytes.len());
            if v.render_cache.as_ref().is_none_or(|(k, _)| *k != key) {
                let flags = v.details.as_ref().and_then(|d| d.flags);
                v.render_cache = Some((key, render(bytes, v.mode, flags)));
            }
            if let Some((_, text)) = &v.render_cache {
                let json = matches!(v.mode, ValueMode::Json | ValueMode::Decoded(_));
                text_block(ui, text, "string_value", json);
            }
        }
        ValueItems::Json(text) => {
            let key = (ValueMode::Json, None, text.len());
            if v.render_cache.as_ref().is_none_or(|(k, _)| *k != key) {
                v.render_cache = Some((key, render(text.as_bytes(), ValueMode::Json, None)));
            }
            if let Some((_, text)) = &v.render_cache {
                text_block(ui, text, "json_value", true);
            }
        }
        _ => {
            load_more = collection_ui(ui, v, page_loading, can_find, acts);
        }
    }
    (save, load_more)
}

/// A collection: the find bar, the table of elements (or of the matches of a find), and the
/// selected element in full below. Returns whether the next page is wanted.
fn collection_ui(
    ui: &mut egui::Ui,
    v: &mut Viewer,
    page_loading: bool,
    can_find: bool,
    acts: &mut ConnActions<'_>,
) -> bool {
    let mut load_more = false;
    find_bar_ui(ui, v, page_loading, can_find, &mut load_more, acts);
    let detail_height = if v.selected_item.is_some() {
        180.0
    } else {
        0.0
    };
    let loaded = v.loaded_len();
    let out = collection_table(ui, v, detail_height);
    if let Some(i) = out.clicked {
        // The selection shows at once; the action fills the edit inputs from it.
        v.selected_item = Some(i);
        acts.ask(SessionAction::SelectElement(i));
    }
    if let Some(i) = out.edit {
        acts.ask(SessionAction::EditInline(i));
    }
    if let Some(inline) = out.inline {
        acts.ask(inline);
    }
    if out.last_visible && v.next.is_some() && !page_loading && v.found.is_none() {
        load_more = true;
    }
    if let Some(i) = v.selected_item {
        ui.separator();
        mode_buttons(ui, &mut v.mode);
        let key = (v.mode, Some(i), loaded);
        if v.render_cache.as_ref().is_none_or(|(k, _)| *k != key)
            && let Some(bytes) = v.items.as_ref().and_then(|it| element_bytes(it, i))
        {
            v.render_cache = Some((key, render(&bytes, v.mode, None)));
        }
        if let Some((_, text)) = &v.render_cache {
            text_block(ui, text, "element_value", v.mode == ValueMode::Json);
        }
    }
    load_more
}

/// "Find" over the collection (a glob, or text found anywhere) and how much is shown: the
/// matches and how far the search got, or the pages loaded.
fn find_bar_ui(
    ui: &mut egui::Ui,
    v: &mut Viewer,
    page_loading: bool,
    can_find: bool,
    load_more: &mut bool,
    acts: &mut ConnActions<'_>,
) {
    let key_type = v.details.as_ref().map(|d| d.meta.key_type.clone());
    let searchable = matches!(
        key_type,
        Some(KeyType::Hash | KeyType::Set | KeyType::ZSet | KeyType::List)
    ) && can_find;
    let total = v.details.as_ref().map_or(0, |d| d.length);
    let what = match key_type {
        Some(KeyType::Hash) => "fields",
        Some(KeyType::List) => "elements",
        _ => "members",
    };
    // Two steady lines: the find controls (Clear always there, enabled while a find is
    // shown, so nothing appears or wraps after a click), then what is loaded or found.
    if searchable {
        ui.horizontal(|ui| {
            let l = ui.label("Find inside");
            let r = ui
                .add(
                    egui::TextEdit::singleline(&mut v.inputs.find)
                        .hint_text(format!("{what}: text, or a glob like user*"))
                        .desired_width((ui.available_width() - 170.0).clamp(100.0, 240.0)),
                )
                .labelled_by(l.id)
                .on_hover_text(format!(
                    "Searches the server's copy of all {} {what}, not only the loaded ones",
                    group_digits(total)
                ));
            let entered = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if ui.button("Find").clicked() || entered {
                acts.ask(SessionAction::FindInValue);
            }
            if ui
                .add_enabled(v.found.is_some(), egui::Button::new("Clear"))
                .clicked()
            {
                acts.ask(SessionAction::ClearFind);
            }
        });
    }
    ui.horizontal_wrapped(|ui| {
        let loaded = v.loaded_len() as u64;
        match &v.found {
            Some(found) => {
                let progress = if v.next.is_some() {
                    format!(
                        "searched about {} of {}",
                        group_digits(found.examined.min(total)),
                        group_digits(total)
                    )
                } else {
                    format!("searched all {}", group_digits(total))
                };
                let noun = if loaded == 1 { "match" } else { "matches" };
                ui.label(format!("{} {noun}, {progress}", group_digits(loaded)));
            }
            None => {
                ui.label(format!(
                    "Loaded {} of {}",
                    group_digits(loaded),
                    group_digits(total)
                ));
            }
        }
        if v.next.is_some() {
            let text = if v.found.is_some() {
                "Find more"
            } else {
                "Load more"
            };
            if page_loading {
                ui.spinner();
            } else if ui.button(text).clicked() {
                *load_more = true;
            }
        } else if page_loading {
            ui.spinner();
        }
    });
}

/// What a click in the collection table asked.
#[derive(Default)]
struct TableClicks {
    last_visible: bool,
    clicked: Option<usize>,
    edit: Option<usize>,
    inline: Option<SessionAction>,
}

/// The column titles of a collection's table.
fn headers(items: &ValueItems, found: bool) -> [&'static str; 3] {
    match items {
        ValueItems::Hash(_) => ["#", "Field", "Value"],
        ValueItems::List(_) => ["Index", "Element", ""],
        ValueItems::Set(_) => ["#", "Member", ""],
        ValueItems::ZSet(_) if found => ["#", "Member", "Score"],
        ValueItems::ZSet(_) => ["Rank", "Member", "Score"],
        ValueItems::Stream(_) => ["#", "Entry ID", "Fields"],
        ValueItems::String { .. } | ValueItems::Json(_) => ["", "", ""],
    }
}

/// The texts of row `i`: its name column and its value column.
fn row_texts(items: &ValueItems, i: usize) -> (String, String) {
    match items {
        ValueItems::Hash(v) => (cell(&v[i].0), cell(&v[i].1)),
        ValueItems::List(v) | ValueItems::Set(v) => (cell(&v[i]), String::new()),
        ValueItems::ZSet(v) => (cell(&v[i].0), v[i].1.to_string()),
        ValueItems::Stream(v) => (
            escape_bytes(&v[i].id),
            v[i].fields
                .iter()
                .map(|(f, x)| format!("{}={}", cell(f), cell(x)))
                .collect::<Vec<_>>()
                .join("  "),
        ),
        ValueItems::String { .. } | ValueItems::Json(_) => (String::new(), String::new()),
    }
}

/// The table of a collection: a click anywhere on a row selects it, a double-click (or F2)
/// edits its value in place (Enter saves, Escape cancels).
fn collection_table(ui: &mut egui::Ui, v: &mut Viewer, reserve_below: f32) -> TableClicks {
    let mut out = TableClicks::default();
    let Some(items) = v.items.as_ref() else {
        return out;
    };
    let rows = match items {
        ValueItems::Hash(x) => x.len(),
        ValueItems::List(x) | ValueItems::Set(x) => x.len(),
        ValueItems::ZSet(x) => x.len(),
        ValueItems::Stream(x) => x.len(),
        ValueItems::String { .. } | ValueItems::Json(_) => return out,
    };
    let titles = headers(items, v.found.is_some());
    // The column an inline edit replaces: the value, the element, the score.
    let edit_col = match items {
        ValueItems::Hash(_) | ValueItems::ZSet(_) => Some(2),
        ValueItems::List(_) => Some(1),
        _ => None,
    };
    let selected = v.selected_item;
    let positions: Option<&[u64]> = v.found.as_ref().map(|f| f.positions.as_slice());
    let inline = &mut v.inline;
    if let (Some(i), None) = (selected, inline.as_ref())
        && edit_col.is_some()
        && ui.input(|inp| inp.key_pressed(egui::Key::F2))
        && ui.memory(|m| m.focused().is_none())
    {
        out.edit = Some(i);
    }
    let height = (ui.available_height() - reserve_below).max(120.0);
    // The name column takes a share of the width, so a narrow viewer still shows values.
    let name_width = ((ui.available_width() - 56.0) * 0.4).clamp(90.0, 240.0);
    TableBuilder::new(ui)
        .id_salt("collection")
        .striped(true)
        .sense(egui::Sense::click())
        .max_scroll_height(height)
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
        .column(Column::exact(56.0))
        .column(Column::initial(name_width).resizable(true).clip(true))
        .column(Column::remainder().clip(true))
        .header(20.0, |mut h| {
            for title in titles {
                h.col(|ui| {
                    ui.strong(title);
                });
            }
        })
        .body(|body| {
            body.rows(theme::ROW_HEIGHT, rows, |mut row| {
                let i = row.index();
                if i + 1 == rows {
                    out.last_visible = true;
                }
                row.set_selected(selected == Some(i));
                let (first, second) = row_texts(items, i);
                let number = match (items, positions) {
                    (ValueItems::List(_), Some(p)) => p.get(i).map_or(i as u64, |&p| p),
                    _ => i as u64,
                };
                let cells = [number.to_string(), first, second];
                for (c, text) in cells.into_iter().enumerate() {
                    row.col(|ui| {
                        if let Some(edit) = inline
                            .as_mut()
                            .filter(|e| e.row == i && Some(c) == edit_col)
                        {
                            if let Some(asked) = inline_cell(ui, edit) {
                                out.inline = Some(asked);
                            }
                        } else {
                            let text = egui::RichText::new(text);
                            let text = if c == 0 { text } else { text.monospace() };
                            ui.add(egui::Label::new(text).selectable(false));
                        }
                    });
                }
                let r = row.response();
                if r.double_clicked() && edit_col.is_some() {
                    out.edit = Some(i);
                } else if r.clicked() {
                    out.clicked = Some(i);
                }
            });
        });
    out
}

/// The field of an element edited in its row; what Enter or Escape asks.
fn inline_cell(ui: &mut egui::Ui, edit: &mut crate::state::InlineEdit) -> Option<SessionAction> {
    let r = ui.add(
        egui::TextEdit::singleline(&mut edit.text)
            .id(egui::Id::unique("inline_edit"))
            .desired_width(f32::INFINITY)
            .font(egui::TextStyle::Monospace),
    );
    if !edit.focused {
        r.request_focus();
        edit.focused = true;
    }
    if ui.input(|i| i.key_pressed(egui::Key::Escape)) {
        return Some(SessionAction::CancelInline);
    }
    if r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
        return Some(SessionAction::SaveInline);
    }
    None
}

fn sanitize_file_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    if cleaned.is_empty() {
        "value".to_owned()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_view_keeps_lines_and_escapes_the_rest() {
        assert_eq!(text_view(b"a\nb\t\x01\xff\\"), "a\nb\t\\x01\\xff\\\\");
    }

    #[test]
    fn json_view_explains_invalid_json() {
        let out = render(b"{\"a\":", ValueMode::Json, None);
        assert!(out.starts_with("(not JSON:"), "{out}");
        let ok = render(br#"{"b":1,"a":[1,2]}"#, ValueMode::Json, None);
        assert!(ok.contains("\"b\": 1"), "{ok}");
        assert!(
            ok.find("\"b\"") < ok.find("\"a\""),
            "key order is kept: {ok}"
        );
    }

    #[test]
    fn file_names_are_safe() {
        assert_eq!(sanitize_file_name("user:1/../x"), "user_1_.._x");
        assert_eq!(sanitize_file_name(""), "value");
    }
}
