//! The viewer's write controls: key actions (TTL, rename, copy, delete), the string editor,
//! element edits of collections, and the conflict bar. Shown only when the backend says the
//! connection may write.

use super::theme;
use crate::core::escape::escape_bytes;
use crate::core::model::{KeyType, ValueItems};
use crate::state::{AppState, ConflictChoice, EDIT_MODES, Level, Viewer};

/// What the user asked for in this frame.
#[derive(Debug, Default)]
pub struct EditActions {
    ttl: bool,
    persist: bool,
    rename: bool,
    copy: bool,
    delete: bool,
    open_editor: bool,
    save_editor: bool,
    close_editor: bool,
    conflict: Option<ConflictChoice>,
    save_element: bool,
    remove_element: bool,
    add_element: Option<bool>,
    open_decoded: bool,
    save_decoded: bool,
    close_decoded: bool,
}

impl EditActions {
    /// Carries the actions out on the state.
    pub fn apply(self, state: &mut AppState) {
        if self.ttl {
            state.apply_ttl();
        }
        if self.persist {
            state.persist();
        }
        if self.rename {
            state.rename_open_key(false);
        }
        if self.copy {
            state.rename_open_key(true);
        }
        if self.delete {
            state.delete_open_key();
        }
        if self.open_editor {
            state.open_editor();
        }
        if self.save_editor {
            state.save_editor();
        }
        if self.close_editor
            && let Some(v) = state.active_session_mut().and_then(|s| s.viewer.as_mut())
        {
            v.editor = None;
        }
        if let Some(choice) = self.conflict {
            state.resolve_conflict(choice);
        }
        if self.save_element {
            state.save_element();
        }
        if self.remove_element {
            state.remove_element();
        }
        if let Some(head) = self.add_element {
            state.add_element(head);
        }
        if self.open_decoded {
            state.open_decoded_editor();
        }
        if self.save_decoded {
            state.save_decoded_editor();
        }
        if self.close_decoded
            && let Some(v) = state.active_session_mut().and_then(|s| s.viewer.as_mut())
        {
            v.decoded_editor = None;
        }
    }
}

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
pub fn key_actions_ui(ui: &mut egui::Ui, v: &mut Viewer, rename: bool, actions: &mut EditActions) {
    ui.horizontal_wrapped(|ui| {
        let r = input(ui, "New TTL", &mut v.inputs.ttl, 90.0)
            .on_hover_text("seconds (90), a duration (90s, 15m, 2h, 1d) or a date-time (UTC)");
        actions.ttl |= r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        actions.ttl |= ui.button("Set TTL").clicked();
        actions.persist |= ui
            .button("Persist")
            .on_hover_text("Remove the TTL")
            .clicked();
    });
    ui.horizontal_wrapped(|ui| {
        if rename {
            input(ui, "New name", &mut v.inputs.new_name, 160.0);
            actions.rename |= ui.button("Rename").clicked();
            actions.copy |= ui.button("Copy").clicked();
        }
        ui.separator();
        actions.delete |= ui.button("Delete key").clicked();
    });
    error_line(ui, v.inputs.ttl_error.as_ref());
}

/// The conflict bar, when a save was refused because the key changed meanwhile.
pub fn conflict_ui(ui: &mut egui::Ui, v: &Viewer, actions: &mut EditActions) {
    if v.conflict.is_none() {
        return;
    }
    ui.horizontal_wrapped(|ui| {
        ui.colored_label(
            theme::level_color(Level::Warning),
            "The value changed on the server since you loaded it. Nothing was saved.",
        );
        if ui.button("Reload").clicked() {
            actions.conflict = Some(ConflictChoice::Reload);
        }
        if ui.button("Overwrite").clicked() {
            actions.conflict = Some(ConflictChoice::Overwrite);
        }
        if ui.button("Keep editing").clicked() {
            actions.conflict = Some(ConflictChoice::Cancel);
        }
    });
}

/// The string editor, or its "Edit" button. Returns true when the editor is open.
pub fn string_editor_ui(ui: &mut egui::Ui, v: &mut Viewer, actions: &mut EditActions) -> bool {
    let Some(editor) = &mut v.editor else {
        let complete = matches!(&v.items, Some(ValueItems::String { bytes, total_len })
            if bytes.len() as u64 == *total_len);
        if complete {
            actions.open_editor |= ui.button("Edit").clicked();
        } else {
            ui.label(
                egui::RichText::new("Values over 1 MiB are edited by saving to a file")
                    .color(theme::MUTED),
            );
        }
        return false;
    };
    ui.horizontal(|ui| {
        ui.label("Edit as");
        for (mode, name) in EDIT_MODES {
            if ui.selectable_label(editor.mode == mode, name).clicked() {
                editor.switch(mode);
            }
        }
        actions.save_editor |= ui.button("Save").clicked();
        actions.close_editor |= ui.button("Cancel").clicked();
    });
    error_line(ui, editor.error.as_ref());
    egui::ScrollArea::both()
        .id_salt("string_editor")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            ui.add(
                egui::TextEdit::multiline(&mut editor.text)
                    .code_editor()
                    .desired_width(f32::INFINITY)
                    .desired_rows(12)
                    .id_salt("value_editor"),
            );
        });
    true
}

/// The editor of a decoded value's scalars, or its button. Returns true when it is open.
pub fn decoded_editor_ui(ui: &mut egui::Ui, v: &mut Viewer, actions: &mut EditActions) -> bool {
    let Some(ed) = &mut v.decoded_editor else {
        if matches!(v.mode, crate::state::ValueMode::Decoded(_)) {
            actions.open_decoded |= ui
                .button("Edit values")
                .on_hover_text("Edit the decoded scalars; the value is re-serialized exactly")
                .clicked();
            error_line(ui, v.inputs.error.as_ref());
        }
        return false;
    };
    ui.horizontal(|ui| {
        ui.label(format!(
            "Editing {} values ({})",
            ed.texts.len(),
            ed.steps.join(" → ")
        ));
        actions.save_decoded |= ui.button("Save values").clicked();
        actions.close_decoded |= ui.button("Cancel").clicked();
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

/// Fills the element inputs from a newly selected element.
pub fn prefill_element(v: &mut Viewer, index: usize) {
    let Some(items) = &v.items else { return };
    match items {
        ValueItems::Hash(pairs) => {
            if let Some((_, value)) = pairs.get(index) {
                v.inputs.value = escape_bytes(value);
            }
        }
        ValueItems::List(elems) => {
            if let Some(e) = elems.get(index) {
                v.inputs.value = escape_bytes(e);
            }
        }
        ValueItems::ZSet(members) => {
            if let Some((_, score)) = members.get(index) {
                v.inputs.score = score.to_string();
            }
        }
        _ => {}
    }
    v.inputs.error = None;
}

/// Edits of the selected element and additions, by collection type.
pub fn element_actions_ui(ui: &mut egui::Ui, v: &mut Viewer, actions: &mut EditActions) {
    let Some(key_type) = v.details.as_ref().map(|d| d.meta.key_type.clone()) else {
        return;
    };
    if let Some(i) = v.selected_item {
        ui.horizontal_wrapped(|ui| {
            ui.label(format!("Element {i}:"));
            match key_type {
                KeyType::Hash | KeyType::List => {
                    input(ui, "Element value", &mut v.inputs.value, 220.0);
                    actions.save_element |= ui.button("Save element").clicked();
                }
                KeyType::ZSet => {
                    input(ui, "Element score", &mut v.inputs.score, 80.0);
                    actions.save_element |= ui.button("Save score").clicked();
                }
                _ => {}
            }
            actions.remove_element |= ui.button("Remove element").clicked();
        });
    }
    ui.horizontal_wrapped(|ui| match key_type {
        KeyType::Hash => {
            input(ui, "New field", &mut v.inputs.field, 120.0);
            input(ui, "New value", &mut v.inputs.value, 160.0);
            if ui.button("Add field").clicked() {
                actions.add_element = Some(false);
            }
        }
        KeyType::List => {
            input(ui, "New element", &mut v.inputs.value, 180.0);
            if ui.button("Push head").clicked() {
                actions.add_element = Some(true);
            }
            if ui.button("Push tail").clicked() {
                actions.add_element = Some(false);
            }
        }
        KeyType::Set => {
            input(ui, "New member", &mut v.inputs.value, 180.0);
            if ui.button("Add member").clicked() {
                actions.add_element = Some(false);
            }
        }
        KeyType::ZSet => {
            input(ui, "New member", &mut v.inputs.value, 140.0);
            input(ui, "New score", &mut v.inputs.score, 80.0);
            if ui.button("Add member").clicked() {
                actions.add_element = Some(false);
            }
        }
        KeyType::Stream => {
            let l = ui.label("New entry (field=value per line)");
            ui.add(
                egui::TextEdit::multiline(&mut v.inputs.field)
                    .desired_rows(2)
                    .desired_width(220.0),
            )
            .labelled_by(l.id);
            if ui.button("Add entry").clicked() {
                actions.add_element = Some(false);
            }
        }
        _ => {}
    });
    error_line(ui, v.inputs.error.as_ref());
}
