//! Dialogs around writes: confirmations, "new key", delete by pattern, and the audit log.

use super::{Actions, theme};
use crate::core::format::{group_digits, key_label};
use crate::core::model::KeyType;
use crate::state::{
    Action, AppState, BulkPhase, Confirm, Level, PREVIEW_SAMPLE, Session, SessionAction,
};

/// The open question (production write, overwrite, typed flush confirmation, past TTL).
pub fn confirm_ui(ctx: &egui::Context, state: &mut AppState, actions: &mut Actions) {
    // The question names the connection it acts on, whichever tab is shown.
    let name = state
        .confirm
        .as_ref()
        .and_then(|c| state.session(c.conn()))
        .map(|s| s.profile.name.clone())
        .unwrap_or_default();
    let keys = state
        .confirm
        .as_ref()
        .and_then(|c| match c {
            Confirm::Flush(f) => state.session(f.conn).map(|s| (s, f.all)),
            _ => None,
        })
        .and_then(|(s, all)| keys_held(s, all));
    let Some(confirm) = &mut state.confirm else {
        return;
    };
    let mut yes = false;
    let mut no = false;
    let modal = egui::Modal::new(egui::Id::unique("confirm")).show(ctx, |ui| {
        // A fixed width: the question keeps its place as it is answered.
        ui.set_width(460.0);
        match confirm {
            Confirm::Production { description, .. } => {
                (yes, no) = production_ui(ui, &name, description);
            }
            Confirm::Overwrite { op, .. } => {
                let target = op.keys().get(1).map(|k| key_label(k)).unwrap_or_default();
                ui.heading("Replace the existing key?");
                ui.label(format!(
                    "`{target}` exists already in {name}. Its value will be replaced."
                ));
                (yes, no) = answer_ui(ui, "Replace it");
            }
            Confirm::Flush(flush) => (yes, no) = flush_question_ui(ui, flush, keys),
            Confirm::FlushTag {
                name: tag,
                keys: deleted,
                entries,
                ..
            } => {
                ui.heading(format!("Flush Laravel tag `{tag}`?"));
                ui.label(format!(
                    "As Cache::tags(['{tag}'])->flush() does, this deletes {} keys from {name}: \
                     {entries} entries stored under the tag (also those stored under other \
                     tags besides), its reference sets and its id key.",
                    deleted.len()
                ));
                for key in deleted.iter().take(5) {
                    ui.monospace(key_label(key));
                }
                if deleted.len() > 5 {
                    ui.label(format!("… and {} more", deleted.len() - 5));
                }
                (yes, no) = answer_ui(ui, "Flush the tag");
            }
            Confirm::Admin {
                title, description, ..
            } => {
                ui.heading(title.as_str());
                ui.label(description.as_str());
                (yes, no) = answer_ui(ui, "Yes, do it");
            }
            Confirm::Move {
                into, description, ..
            } => (yes, no) = production_ui(ui, into, description),
            Confirm::Console {
                name: command,
                line,
                ..
            } => (yes, no) = console_question_ui(ui, &name, command, line),
            Confirm::ShortTtl { reason, .. } => {
                ui.heading("Such a short TTL?");
                ui.label(format!(
                    "{reason} Undo puts the old TTL (and the value) back."
                ));
                (yes, no) = answer_ui(ui, "Set this TTL");
            }
            Confirm::PastTtl { key, .. } => {
                ui.heading("Delete the key?");
                ui.label(format!(
                    "That date-time has passed: setting it deletes `{}` from {name} now.",
                    key_label(key)
                ));
                (yes, no) = answer_ui(ui, "Delete it");
            }
        }
    });
    // Escape (or a click beside the question) is a No: the safe answer.
    no |= modal.should_close();
    if yes {
        actions.push(Action::ConfirmYes);
    } else if no {
        actions.push(Action::ConfirmNo);
    }
}

/// How many keys a flush of `s` would remove, as far as the session knows: the database's
/// count (or every database's), or what the listing counted.
fn keys_held(s: &Session, all: bool) -> Option<u64> {
    if s.capabilities.as_ref().is_some_and(|c| c.databases) {
        if all {
            return Some(s.databases.iter().map(|d| d.keys).sum());
        }
        return s.databases.iter().find(|d| d.index == s.db).map(|d| d.keys);
    }
    (s.browser.scan.phase != crate::state::ScanPhase::Idle).then_some(s.browser.scan.total_keys)
}

/// The typed flush confirmation: what it empties and on which server, how many keys it holds,
/// the pool's server and delay, the name to type (focused at once; Enter flushes once it
/// matches). Which button was clicked.
fn flush_question_ui(
    ui: &mut egui::Ui,
    flush: &mut crate::state::FlushConfirm,
    keys: Option<u64>,
) -> (bool, bool) {
    ui.heading(match (&flush.servers, flush.all) {
        (Some(_), _) => "Flush the cache?",
        (None, true) => "Flush every database?",
        (None, false) => "Flush this database?",
    });
    ui.label(format!("Flushes {}.", flush.what));
    // Always a line, whether the count is known yet or not: nothing below moves.
    ui.strong(match keys {
        Some(1) => "It holds 1 key.".to_owned(),
        Some(n) => format!("It holds {} keys.", group_digits(n)),
        None => " ".to_owned(),
    });
    if let Some(servers) = &flush.servers {
        if !servers.is_empty() {
            ui.horizontal_wrapped(|ui| {
                ui.label("Servers");
                ui.selectable_value(&mut flush.server, None, "all of them");
                for s in servers {
                    ui.selectable_value(&mut flush.server, Some(s.clone()), s);
                }
            });
        }
        if flush.delayable {
            ui.horizontal(|ui| {
                let l = ui.label("Delay (seconds)");
                ui.add(
                    egui::TextEdit::singleline(&mut flush.delay)
                        .hint_text("now")
                        .desired_width(60.0),
                )
                .labelled_by(l.id);
            });
        }
    }
    ui.label(format!(
        "Every key will be deleted. This cannot be undone. Type `{}` to confirm.",
        flush.expected
    ));
    let l = ui.label("Confirmation");
    let r = ui
        .add(egui::TextEdit::singleline(&mut flush.typed).desired_width(200.0))
        .labelled_by(l.id);
    if !flush.focused {
        r.request_focus();
        flush.focused = true;
    }
    let entered = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
    // The line is there even when empty, so a refused answer moves no button.
    ui.colored_label(
        theme::level_color(Level::Error),
        flush.error.as_deref().unwrap_or(" "),
    );
    let matches = flush.typed.trim() == flush.expected.as_str();
    let (flush_clicked, cancel) = ui
        .horizontal(|ui| {
            (
                ui.add_enabled(matches, egui::Button::new("Flush"))
                    .on_hover_text("Or press Enter in the confirmation")
                    .clicked(),
                ui.button("Cancel").clicked(),
            )
        })
        .inner;
    (flush_clicked || (entered && matches), cancel)
}

/// A question's two buttons: the answer that does it, and Cancel. Which was clicked.
/// A console command the server calls dangerous, on production profile `profile`.
fn console_question_ui(
    ui: &mut egui::Ui,
    profile: &str,
    command: &str,
    line: &str,
) -> (bool, bool) {
    ui.heading(format!("Run {command} on production?"));
    ui.label(format!(
        "{profile} is marked production, and the server calls {command} dangerous."
    ));
    ui.monospace(line);
    answer_ui(ui, &format!("Run {command}"))
}

/// A write to production profile `profile`: what it will do, yes or no.
fn production_ui(ui: &mut egui::Ui, profile: &str, description: &str) -> (bool, bool) {
    ui.heading("Write to production?");
    ui.label(format!(
        "{profile} is marked production. About to: {description}."
    ));
    answer_ui(ui, "Yes, do it")
}

fn answer_ui(ui: &mut egui::Ui, yes: &str) -> (bool, bool) {
    ui.horizontal(|ui| (ui.button(yes).clicked(), ui.button("Cancel").clicked()))
        .inner
}

/// The delete-by-pattern dialog's body height, enough for its tallest phase (the preview).
const BULK_BODY_HEIGHT: f32 = 250.0;

/// The "new key" dialog of the shown connection.
pub fn create_ui(ctx: &egui::Context, s: &mut Session, actions: &mut Actions) {
    let conn = s.conn;
    let Some(form) = s.create.as_mut() else {
        return;
    };
    let mut create = false;
    let mut cancel = false;
    egui::Modal::new(egui::Id::unique("create_key")).show(ctx, |ui| {
        ui.heading("New key");
        egui::Grid::new("create_grid")
            .num_columns(2)
            .show(ui, |ui| {
                let l = ui.label("Key name");
                ui.add(egui::TextEdit::singleline(&mut form.key).desired_width(260.0))
                    .labelled_by(l.id);
                ui.end_row();
                ui.label("Type");
                ui.horizontal_wrapped(|ui| {
                    for t in [
                        KeyType::String,
                        KeyType::Hash,
                        KeyType::List,
                        KeyType::Set,
                        KeyType::ZSet,
                        KeyType::Stream,
                    ] {
                        let label = t.label().to_owned();
                        ui.selectable_value(&mut form.key_type, t, label);
                    }
                });
                ui.end_row();
                match form.key_type {
                    KeyType::Hash => {
                        let l = ui.label("Field");
                        ui.text_edit_singleline(&mut form.field).labelled_by(l.id);
                        ui.end_row();
                    }
                    KeyType::ZSet => {
                        let l = ui.label("Score");
                        ui.text_edit_singleline(&mut form.score).labelled_by(l.id);
                        ui.end_row();
                    }
                    KeyType::Stream => {
                        let l = ui.label("Fields (field=value per line)");
                        ui.text_edit_multiline(&mut form.field).labelled_by(l.id);
                        ui.end_row();
                    }
                    _ => {}
                }
                if form.key_type != KeyType::Stream {
                    let l = ui.label(match form.key_type {
                        KeyType::Set | KeyType::ZSet => "Member",
                        KeyType::List => "Element",
                        _ => "Value",
                    });
                    ui.add(egui::TextEdit::multiline(&mut form.value).desired_rows(3))
                        .labelled_by(l.id);
                    ui.end_row();
                }
                let l = ui.label("TTL (empty: none)");
                ui.text_edit_singleline(&mut form.ttl).labelled_by(l.id);
                ui.end_row();
            });
        ui.horizontal(|ui| {
            create = ui.button("Create").clicked();
            cancel = ui.button("Cancel").clicked();
        });
        // A line kept for the error below the buttons: the dialog is centred, so a line that
        // came and went would move the buttons under the pointer.
        ui.colored_label(
            theme::level_color(Level::Error),
            form.error.as_deref().unwrap_or(" "),
        );
    });
    if create {
        actions.session(conn, SessionAction::CreateKey);
    } else if cancel {
        actions.session(conn, SessionAction::CloseCreate);
    }
}

/// The delete-by-pattern dialog of the shown connection: pattern, preview, progress with
/// cancel, result.
#[expect(
    clippy::too_many_lines,
    reason = "an egui layout reads top to bottom as the screen does"
)]
pub fn bulk_delete_ui(ctx: &egui::Context, s: &mut Session, actions: &mut Actions) {
    let conn = s.conn;
    let Some(bulk) = s.bulk.as_mut() else {
        return;
    };
    let mut preview = false;
    let mut run = false;
    let mut cancel = false;
    let mut close = false;
    egui::Modal::new(egui::Id::unique("bulk_delete")).show(ctx, |ui| {
        // One width for every phase (editing, preview, progress, result): the dialog keeps
        // its place as it goes.
        ui.set_width(520.0);
        ui.heading("Delete keys by pattern");
        let editable = matches!(
            bulk.phase,
            BulkPhase::Editing | BulkPhase::Previewed { .. } | BulkPhase::Failed(_)
        );
        ui.horizontal(|ui| {
            let l = ui.label("Pattern to delete");
            let r = ui
                .add_enabled(
                    editable,
                    egui::TextEdit::singleline(&mut bulk.pattern)
                        .desired_width(260.0)
                        .font(egui::TextStyle::Monospace),
                )
                .labelled_by(l.id);
            if r.changed() {
                bulk.phase = BulkPhase::Editing;
            }
            preview = ui
                .add_enabled(editable, egui::Button::new("Preview"))
                .clicked();
        });
        // Every phase draws in a body of one height, so the buttons below keep their place.
        let body = egui::vec2(ui.available_width(), BULK_BODY_HEIGHT);
        ui.allocate_ui_with_layout(body, egui::Layout::top_down(egui::Align::Min), |ui| {
            ui.set_min_size(body);
            match &bulk.phase {
                BulkPhase::Editing => {
                    ui.label("Preview first: it counts the matching keys and shows some of them.");
                }
                BulkPhase::Previewing => {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label("Counting matching keys…");
                    });
                }
                BulkPhase::Previewed { matched, sample } => {
                    ui.label(format!(
                        "{} keys match. The first {}:",
                        group_digits(*matched),
                        sample.len().min(PREVIEW_SAMPLE)
                    ));
                    egui::ScrollArea::vertical()
                        .max_height(160.0)
                        .min_scrolled_height(160.0)
                        .show(ui, |ui| {
                            for key in sample {
                                ui.monospace(key_label(key));
                            }
                        });
                    if *matched > 0 {
                        run = ui
                            .button(format!("Delete {} keys", group_digits(*matched)))
                            .clicked();
                    }
                }
                BulkPhase::Deleting { deleted, progress } => {
                    #[allow(clippy::cast_possible_truncation)]
                    ui.add(egui::ProgressBar::new(*progress as f32).show_percentage());
                    ui.label(format!("deleted {} keys so far", group_digits(*deleted)));
                    cancel = ui.button("Stop").clicked();
                }
                BulkPhase::Done { deleted, cancelled } => {
                    ui.colored_label(
                        theme::OK,
                        format!(
                            "Deleted {} keys{}.",
                            group_digits(*deleted),
                            if *cancelled {
                                " before you stopped it"
                            } else {
                                ""
                            }
                        ),
                    );
                }
                BulkPhase::Failed(e) => {
                    ui.colored_label(theme::level_color(Level::Error), e);
                }
            }
        });
        let busy = matches!(bulk.phase, BulkPhase::Deleting { .. });
        // Always there; while deleting it waits (Stop ends the run).
        close = ui.add_enabled(!busy, egui::Button::new("Close")).clicked();
    });
    let action = if preview {
        Some(SessionAction::PreviewBulkDelete)
    } else if run {
        Some(SessionAction::RunBulkDelete)
    } else if cancel {
        Some(SessionAction::CancelBulkDelete)
    } else if close {
        Some(SessionAction::CloseBulkDelete)
    } else {
        None
    };
    if let Some(action) = action {
        actions.session(conn, action);
    }
}
