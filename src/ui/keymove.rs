//! The export, import and copy window: which keys and where, then progress with Cancel, then
//! what was done.

use super::{Actions, DialogPurpose, theme};
use crate::core::format::group_digits;
use crate::core::keyfile::Format;
use crate::core::model::OnConflict;
use crate::state::{KeyMove, MoveKind, MovePhase, Session, SessionAction};

/// The dialog of the shown connection, when open.
pub fn key_move_ui(ctx: &egui::Context, s: &mut Session, actions: &mut Actions) {
    let conn = s.conn;
    let profile = s.profile.name.clone();
    let Some(m) = s.key_move.as_mut() else {
        return;
    };
    let title = match m.kind {
        MoveKind::Export => "Export keys",
        MoveKind::Import => "Import keys",
        MoveKind::Copy => "Copy keys",
    };
    let mut open = true;
    egui::Window::new(title)
        .id(egui::Id::unique(("key_move", conn)))
        .open(&mut open)
        .default_width(520.0)
        .default_pos([theme::PROFILES_WIDTH + 120.0, 150.0])
        .show(ctx, |ui| match m.phase.clone() {
            MovePhase::Setup => setup_ui(ui, m, conn, &profile, actions),
            MovePhase::Running(done) => {
                let total = match m.kind {
                    MoveKind::Import => {
                        m.import.as_ref().and_then(|(_, p)| p.as_ref()).map(|p| p.1)
                    }
                    _ => m.count(),
                };
                #[expect(clippy::cast_precision_loss, reason = "a share for a bar")]
                let share = total
                    .filter(|t| *t > 0)
                    .map_or(0.0, |t| done as f32 / t as f32);
                ui.add(
                    egui::ProgressBar::new(share.min(1.0))
                        .show_percentage()
                        .text(format!(
                            "{} of {} keys",
                            group_digits(done),
                            total.map_or_else(|| "?".to_owned(), group_digits)
                        )),
                );
                if ui.button("Cancel").clicked() {
                    actions.session(conn, SessionAction::CancelMove);
                }
            }
            MovePhase::Done(summary) => done_ui(ui, m.kind, &summary, conn, actions),
            MovePhase::Failed(why) => {
                ui.colored_label(theme::level_color(crate::state::Level::Error), why);
                if ui.button("Close").clicked() {
                    actions.session(conn, SessionAction::CloseMove);
                }
            }
        });
    if !open {
        actions.session(conn, SessionAction::CloseMove);
    }
}

fn setup_ui(
    ui: &mut egui::Ui,
    m: &mut KeyMove,
    conn: crate::service::ConnId,
    profile: &str,
    actions: &mut Actions,
) {
    if m.kind == MoveKind::Import {
        import_setup_ui(ui, m, conn, actions);
    } else {
        keys_ui(ui, m, conn, actions);
    }
    match m.kind {
        MoveKind::Export => {
            ui.horizontal(|ui| {
                ui.label("Format");
                ui.radio_value(&mut m.format, Format::Jsonl, "JSON lines")
                    .on_hover_text("Typed records, portable across Redis versions and caches");
                ui.radio_value(&mut m.format, Format::Commands, "redis-cli commands")
                    .on_hover_text("Loads with redis-cli < FILE, or RedisInsight's bulk import");
                ui.radio_value(&mut m.format, Format::Dump, "DUMP")
                    .on_hover_text("Fast; restores only on the same Redis major version");
            });
            if m.format == Format::Jsonl {
                ui.checkbox(&mut m.base64, "Bytes as base64 (else escaped text)");
            }
        }
        MoveKind::Copy => {
            if m.destinations.is_empty() {
                ui.label("Open the destination's connection in a tab first.");
            } else {
                let shown = m
                    .destinations
                    .iter()
                    .find(|d| Some(d.conn) == m.destination)
                    .map_or_else(|| "choose…".to_owned(), |d| d.label.clone());
                egui::ComboBox::from_label("Into")
                    .selected_text(shown)
                    .show_ui(ui, |ui| {
                        for d in &m.destinations {
                            let mut label = d.label.clone();
                            if d.production {
                                label.push_str(" (production)");
                            }
                            if d.read_only {
                                label.push_str(" (read-only)");
                            }
                            ui.selectable_value(&mut m.destination, Some(d.conn), label);
                        }
                    });
            }
            conflict_ui(ui, m);
        }
        MoveKind::Import => conflict_ui(ui, m),
    }
    if let Some(e) = &m.error {
        ui.colored_label(theme::level_color(crate::state::Level::Error), e.as_str());
    }
    ui.separator();
    ui.horizontal(|ui| match m.kind {
        MoveKind::Export => {
            if ui.button("Export to a file...").clicked() {
                let kind = if m.format == Format::Commands {
                    "redis"
                } else {
                    "jsonl"
                };
                actions.of(conn).pick_file(DialogPurpose::ExportKeys {
                    conn,
                    name: format!("{profile}.{kind}"),
                });
            }
        }
        MoveKind::Import => {
            let ready = m.import.as_ref().is_some_and(|(_, p)| p.is_some());
            if ui.add_enabled(ready, egui::Button::new("Import")).clicked() {
                actions.session(conn, SessionAction::StartMove);
            }
        }
        MoveKind::Copy => {
            if ui
                .add_enabled(m.destination.is_some(), egui::Button::new("Copy"))
                .clicked()
            {
                actions.session(conn, SessionAction::StartMove);
            }
        }
    });
}

/// Which keys: the marked ones, or a pattern's (counted).
fn keys_ui(
    ui: &mut egui::Ui,
    m: &mut KeyMove,
    conn: crate::service::ConnId,
    actions: &mut Actions,
) {
    if !m.marked.is_empty() {
        ui.radio_value(
            &mut m.use_marked,
            true,
            format!("The {} marked keys", m.marked.len()),
        );
        ui.radio_value(&mut m.use_marked, false, "The keys a pattern matches");
    }
    if m.marked.is_empty() || !m.use_marked {
        ui.horizontal(|ui| {
            ui.label("Pattern");
            let r = ui.add(egui::TextEdit::singleline(&mut m.pattern).desired_width(220.0));
            r.widget_info(|| {
                egui::WidgetInfo::labeled(egui::Role::TextInput, true, "Keys pattern")
            });
            if ui.button("Count").clicked()
                || (r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)))
            {
                actions.session(conn, SessionAction::CountMove);
            }
            match m.matched {
                Some(n) => ui.label(format!("{} keys match", group_digits(n))),
                None => ui.label("counting…"),
            };
        });
    }
}

fn import_setup_ui(
    ui: &mut egui::Ui,
    m: &mut KeyMove,
    conn: crate::service::ConnId,
    actions: &mut Actions,
) {
    ui.horizontal(|ui| {
        if ui.button("Choose an export file...").clicked() {
            actions
                .of(conn)
                .pick_file(DialogPurpose::ImportKeys { conn });
        }
        if let Some((path, _)) = &m.import {
            ui.label(path.display().to_string());
        }
    });
    if let Some((_, Some((header, records)))) = &m.import {
        let format = match header.format {
            Format::Dump => "DUMP payloads",
            _ => "JSON lines",
        };
        ui.label(format!(
            "{} records ({format}) from {}",
            group_digits(*records),
            header.source
        ));
    }
}

fn conflict_ui(ui: &mut egui::Ui, m: &mut KeyMove) {
    ui.horizontal(|ui| {
        ui.label("A key that exists");
        ui.radio_value(&mut m.on_conflict, OnConflict::Skip, "is skipped");
        ui.radio_value(&mut m.on_conflict, OnConflict::Replace, "is replaced");
        ui.radio_value(&mut m.on_conflict, OnConflict::Stop, "stops it");
    });
}

/// What was done, and Close.
fn done_ui(
    ui: &mut egui::Ui,
    kind: MoveKind,
    summary: &crate::service::TransferSummary,
    conn: crate::service::ConnId,
    actions: &mut Actions,
) {
    use std::fmt::Write as _;
    let verb = kind.done_word();
    let mut line = format!("{} keys {verb}", group_digits(summary.done));
    if summary.skipped > 0 {
        let _ = write!(
            line,
            ", {} skipped (they existed)",
            group_digits(summary.skipped)
        );
    }
    if summary.gone > 0 {
        let _ = write!(
            line,
            ", {} went away while listed",
            group_digits(summary.gone)
        );
    }
    ui.label(line);
    let warn = theme::level_color(crate::state::Level::Warning);
    if summary.cancelled {
        ui.colored_label(
            warn,
            if kind == MoveKind::Export {
                "Cancelled: no file was written."
            } else {
                "Cancelled: what was written before stays."
            },
        );
    }
    if let Some(key) = &summary.stopped_at {
        ui.colored_label(
            warn,
            format!(
                "Stopped at `{}`, which exists: nothing from it on was written.",
                crate::core::escape::escape_bytes(key)
            ),
        );
    }
    for (key, why) in summary.failed.iter().take(10) {
        ui.colored_label(
            theme::level_color(crate::state::Level::Error),
            format!("{}: {why}", crate::core::escape::escape_bytes(key)),
        );
    }
    if summary.failed.len() > 10 {
        ui.label(format!(
            "… and {} more not moved",
            summary.failed.len() - 10
        ));
    }
    if ui.button("Close").clicked() {
        actions.session(conn, SessionAction::CloseMove);
    }
}
