//! The viewer's write controls: key actions (TTL, rename, copy, delete), the string editor,
//! element edits of collections, and the conflict bar. Shown only when the backend says the
//! connection may write.

use super::{ConnActions, theme};
use crate::core::model::{KeyType, ValueItems};
use crate::state::{ConflictChoice, EDIT_MODES, Level, SessionAction, Viewer};

fn error_line(ui: &mut egui::Ui, error: Option<&String>) {
    if let Some(e) = error {
        ui.colored_label(theme::level_color(Level::Error), e);
    }
}

fn input(ui: &mut egui::Ui, label: &str, text: &mut String, width: f32) -> egui::Response {
    let l = ui.label(label);
    ui.add(egui::TextEdit::singleline(text).desired_width(width))
        .labelled_by(l.id)
}

/// TTL, rename/copy and delete of the open key.
pub fn key_actions_ui(ui: &mut egui::Ui, v: &mut Viewer, rename: bool, acts: &mut ConnActions<'_>) {
    ui.horizontal_wrapped(|ui| {
        let r = input(ui, "New TTL", &mut v.inputs.ttl, 90.0)
            .on_hover_text("seconds (90), a duration (90s, 15m, 2h, 1d) or a date-time (UTC)");
        if r.changed() {
            // An old refusal goes as soon as the text changes; the read-out takes its place.
            v.inputs.ttl_error = None;
        }
        let entered = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if theme::icon_button(ui, theme::ICON_TIMER, "Set TTL", Some("Enter")).clicked() || entered
        {
            acts.ask(SessionAction::ApplyTtl);
        }
        if theme::icon_button(ui, theme::ICON_TIMER_OFF, "Persist", None)
            .on_hover_text("Remove the TTL")
            .clicked()
        {
            acts.ask(SessionAction::Persist);
        }
    });
    ttl_readout_ui(ui, v);
    ui.horizontal_wrapped(|ui| {
        if rename {
            input(ui, "New name", &mut v.inputs.new_name, 160.0);
            if theme::icon_button(ui, theme::ICON_DRIVE_FILE_RENAME_OUTLINE, "Rename", None)
                .clicked()
            {
                acts.ask(SessionAction::Rename);
            }
            if theme::icon_button(ui, theme::ICON_CONTENT_COPY, "Copy", None).clicked() {
                acts.ask(SessionAction::Copy);
            }
        }
        ui.separator();
        if theme::icon_button(ui, theme::ICON_DELETE, "Delete key", Some("Delete")).clicked() {
            acts.ask(SessionAction::DeleteOpenKey);
        }
    });
}

/// One line under the TTL field, always there so nothing below it moves: why the last TTL was
/// refused, else what the typed one will do (`= 15 minutes · expires 14:32:10`), else how to
/// write one.
fn ttl_readout_ui(ui: &mut egui::Ui, v: &Viewer) {
    let now = crate::core::ttl::now_unix_ms();
    let (text, color) = if let Some(e) = &v.inputs.ttl_error {
        (e.clone(), theme::level_color(Level::Error))
    } else if v.inputs.ttl.trim().is_empty() {
        (
            "seconds (90), a duration (90s, 15m, 2h, 1d) or a date-time (UTC)".to_owned(),
            theme::MUTED,
        )
    } else {
        match crate::core::ttl::parse_ttl(&v.inputs.ttl, now) {
            Ok(ttl) => (crate::core::format::ttl_readout(ttl, now), theme::OK),
            Err(e) => (e.to_string(), theme::level_color(Level::Warning)),
        }
    };
    ui.add(egui::Label::new(egui::RichText::new(text).color(color).small()).truncate());
}

/// The conflict bar, when a save was refused because the key changed meanwhile.
pub fn conflict_ui(ui: &mut egui::Ui, v: &Viewer, acts: &mut ConnActions<'_>) {
    if v.conflict.is_none() {
        return;
    }
    ui.horizontal_wrapped(|ui| {
        ui.colored_label(
            theme::level_color(Level::Warning),
            "The value changed on the server since you loaded it. Nothing was saved.",
        );
        for (label, choice) in [
            ("Reload", ConflictChoice::Reload),
            ("Overwrite", ConflictChoice::Overwrite),
            ("Keep editing", ConflictChoice::Cancel),
        ] {
            if ui.button(label).clicked() {
                acts.ask(SessionAction::ResolveConflict(choice));
            }
        }
    });
}

/// The two ways to edit a string, side by side and said apart: the stored value as text,
/// JSON or hex; or, for a value the viewer decodes (PHP serialize, MessagePack, gzip…), just
/// its decoded scalars, written back in the same encoding.
pub fn edit_buttons_ui(ui: &mut egui::Ui, v: &Viewer, acts: &mut ConnActions<'_>) {
    let complete = matches!(&v.items, Some(ValueItems::String { bytes, total_len })
        if bytes.len() as u64 == *total_len);
    if !complete {
        ui.label(
            egui::RichText::new("Values over 1 MiB are edited by saving to a file")
                .color(theme::MUTED),
        );
        return;
    }
    ui.horizontal(|ui| {
        if matches!(v.mode, crate::state::ValueMode::Decoded(_))
            && theme::icon_button(ui, theme::ICON_EDIT, "Edit decoded", None)
                .on_hover_text(
                    "Change the decoded strings and numbers; the value is written back in the \
                     encoding it was stored in, byte for byte elsewhere",
                )
                .clicked()
        {
            acts.ask(SessionAction::OpenDecodedEditor);
        }
        if theme::icon_button(ui, theme::ICON_EDIT, "Edit raw", None)
            .on_hover_text("Change the stored value itself, as text, JSON or hex")
            .clicked()
        {
            acts.ask(SessionAction::OpenEditor);
        }
    });
    error_line(ui, v.inputs.error.as_ref());
}

/// The string editor, when open. Returns true when it is.
pub fn string_editor_ui(ui: &mut egui::Ui, v: &mut Viewer, acts: &mut ConnActions<'_>) -> bool {
    let Some(editor) = &mut v.editor else {
        return false;
    };
    ui.horizontal_wrapped(|ui| {
        ui.label("Edit as");
        for (mode, name) in EDIT_MODES {
            if ui.selectable_label(editor.mode == mode, name).clicked() {
                editor.switch(mode);
            }
        }
        if ui.button("Save").clicked() {
            acts.ask(SessionAction::SaveEditor);
        }
        if ui.button("Cancel").clicked() {
            acts.ask(SessionAction::CloseEditor);
        }
    });
    error_line(ui, editor.error.as_ref());
    egui::ScrollArea::both()
        .id_salt("string_editor")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            let json = editor.mode == crate::core::edit::EditMode::Json;
            let mut layouter = super::theme::json_layouter;
            let mut field = egui::TextEdit::multiline(&mut editor.text)
                .code_editor()
                .desired_width(f32::INFINITY)
                .desired_rows(12)
                .id_salt("value_editor");
            if json {
                field = field.layouter(&mut layouter);
            }
            ui.add(field);
        });
    true
}

/// The editor of a decoded value's scalars, when open. Returns true when it is.
pub fn decoded_editor_ui(ui: &mut egui::Ui, v: &mut Viewer, acts: &mut ConnActions<'_>) -> bool {
    let Some(ed) = &mut v.decoded_editor else {
        return false;
    };
    ui.horizontal(|ui| {
        // Monospace: the steps' arrows are in the code font, not the text font.
        ui.label(
            egui::RichText::new(format!(
                "Editing {} values ({})",
                ed.texts.len(),
                crate::core::decode::steps_text(&ed.steps)
            ))
            .monospace(),
        );
        if ui.button("Save values").clicked() {
            acts.ask(SessionAction::SaveDecodedEditor);
        }
        if ui.button("Cancel").clicked() {
            acts.ask(SessionAction::CloseDecodedEditor);
        }
    });
    error_line(ui, ed.error.as_ref());
    egui::ScrollArea::vertical()
        .id_salt("decoded_editor")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            egui::Grid::new("decoded_grid")
                .num_columns(2)
                .striped(true)
                .show(ui, |ui| {
                    for (path, text) in ed.paths.iter().zip(ed.texts.iter_mut()) {
                        let l = ui.monospace(path);
                        ui.add(egui::TextEdit::singleline(text).desired_width(260.0))
                            .labelled_by(l.id);
                        ui.end_row();
                    }
                });
        });
    true
}

/// The selected element's edit (named by its field, member or index) and, apart from it, the
/// form that adds an element: each has its own fields.
pub fn element_actions_ui(ui: &mut egui::Ui, v: &mut Viewer, acts: &mut ConnActions<'_>) {
    let Some(key_type) = v.details.as_ref().map(|d| d.meta.key_type.clone()) else {
        return;
    };
    // Two lines whether a row is selected or not, so selecting one moves nothing under the
    // pointer (the table below stays where it was).
    let line = ui.spacing().interact_size.y + 2.0 * ui.spacing().button_padding.y + 2.0;
    let height = 2.0 * line + ui.spacing().item_spacing.y;
    let size = egui::vec2(ui.available_width(), height);
    ui.allocate_ui_with_layout(size, egui::Layout::top_down(egui::Align::Min), |ui| {
        ui.set_min_size(size);
        let Some(name) = v.selected_item.and_then(|i| v.element_name(i)) else {
            ui.label(
                egui::RichText::new(
                    "Click a row to select it; double-click (or F2) edits its value in place.",
                )
                .color(theme::MUTED),
            );
            return;
        };
        ui.horizontal(|ui| {
            ui.add(egui::Label::new(egui::RichText::new(format!("{name}:")).strong()).truncate());
            if ui.button("Remove element").clicked() {
                acts.ask(SessionAction::RemoveElement);
            }
        });
        ui.horizontal(|ui| match key_type {
            KeyType::Hash | KeyType::List => {
                // As wide as the row allows beside its label and button: a fixed width pushed
                // "Save element" past the edge of a narrow viewer (and a wrap would move it).
                let width = (ui.available_width() - 200.0).clamp(60.0, 320.0);
                input(ui, "Edit value", &mut v.inputs.value, width);
                if ui
                    .button("Save element")
                    .on_hover_text("Or double-click the row and press Enter")
                    .clicked()
                {
                    acts.ask(SessionAction::SaveElement);
                }
            }
            KeyType::ZSet => {
                input(ui, "Edit score", &mut v.inputs.score, 80.0);
                if ui.button("Save score").clicked() {
                    acts.ask(SessionAction::SaveElement);
                }
            }
            _ => {}
        });
    });
    egui::CollapsingHeader::new("Add an element")
        .id_salt("add_element")
        .default_open(false)
        .show(ui, |ui| add_form_ui(ui, v, &key_type, acts));
    // Always a line, so an error appearing or going moves nothing below.
    ui.colored_label(
        theme::level_color(Level::Error),
        v.inputs.error.as_deref().unwrap_or(" "),
    );
}

fn add_form_ui(ui: &mut egui::Ui, v: &mut Viewer, key_type: &KeyType, acts: &mut ConnActions<'_>) {
    let inputs = &mut v.inputs;
    ui.horizontal_wrapped(|ui| match key_type {
        KeyType::Hash => {
            input(ui, "New field", &mut inputs.add_field, 120.0);
            input(ui, "New value", &mut inputs.add_value, 160.0);
            if ui.button("Add field").clicked() {
                acts.ask(SessionAction::AddElement(false));
            }
        }
        KeyType::List => {
            input(ui, "New element", &mut inputs.add_value, 180.0);
            if ui.button("Push head").clicked() {
                acts.ask(SessionAction::AddElement(true));
            }
            if ui.button("Push tail").clicked() {
                acts.ask(SessionAction::AddElement(false));
            }
        }
        KeyType::Set => {
            input(ui, "New member", &mut inputs.add_value, 180.0);
            if ui.button("Add member").clicked() {
                acts.ask(SessionAction::AddElement(false));
            }
        }
        KeyType::ZSet => {
            input(ui, "New member", &mut inputs.add_value, 140.0);
            input(ui, "New score", &mut inputs.add_score, 80.0);
            if ui.button("Add member").clicked() {
                acts.ask(SessionAction::AddElement(false));
            }
        }
        KeyType::Stream => {
            let l = ui.label("New entry (field=value per line)");
            ui.add(
                egui::TextEdit::multiline(&mut inputs.add_field)
                    .desired_rows(2)
                    .desired_width(220.0),
            )
            .labelled_by(l.id);
            if ui.button("Add entry").clicked() {
                acts.ask(SessionAction::AddElement(false));
            }
        }
        _ => {}
    });
}
