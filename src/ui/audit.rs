//! The audit log window: the newest entries a filter matches (by profile, action, key and time),
//! read in the background, and their export to CSV or JSON lines.

use std::fmt::Write as _;

use egui_extras::{Column, TableBuilder};

use super::{Actions, DialogPurpose, theme};
use crate::config::audit::{AuditEntry, Since};
use crate::core::format::group_digits;
use crate::state::{AUDIT_SHOWN, Action, AppState, AuditView, Level};

/// Draws the audit window when it is open.
pub fn audit_ui(ctx: &egui::Context, state: &mut AppState, actions: &mut Actions) {
    let path = state.audit.as_ref().map(|l| l.path().display().to_string());
    let Some(view) = &mut state.audit_view else {
        return;
    };
    let mut open = true;
    let mut refilter = false;
    egui::Window::new("Audit log")
        .open(&mut open)
        // Wide enough for every column, outcome included, where the screen allows.
        .default_size([
            (ctx.content_rect().width() - 40.0).clamp(600.0, 1280.0),
            460.0,
        ])
        .show(ctx, |ui| {
            ui.horizontal(|ui| {
                if let Some(path) = &path {
                    ui.label(egui::RichText::new(path).color(theme::MUTED));
                }
                refilter |= ui.button("Refresh").clicked();
                if ui
                    .button("Export...")
                    .on_hover_text(
                        "Every entry the filter matches (not only those shown): CSV for a .csv \
                         name, JSON lines otherwise",
                    )
                    .clicked()
                {
                    actions.pick_file(DialogPurpose::AuditExport);
                }
            });
            refilter |= filter_ui(ui, view);
            ui.separator();
            entries_ui(ui, view);
        });
    if !open {
        actions.push(Action::CloseAudit);
    } else if refilter {
        actions.push(Action::FilterAudit);
    }
}

/// The filter's controls; true when one changed.
fn filter_ui(ui: &mut egui::Ui, view: &mut AuditView) -> bool {
    let mut changed = false;
    let (profiles, actions) = match &view.read.result {
        Some(Ok(read)) => (
            read.profiles.iter().cloned().collect::<Vec<_>>(),
            read.actions.iter().cloned().collect::<Vec<_>>(),
        ),
        _ => (Vec::new(), Vec::new()),
    };
    let f = &mut view.filter;
    ui.horizontal_wrapped(|ui| {
        for (label, value, choices, any) in [
            ("Profile", &mut f.profile, profiles, "any profile"),
            ("Action", &mut f.action, actions, "any action"),
        ] {
            let l = ui.label(label);
            let before = value.clone();
            egui::ComboBox::from_id_salt(("audit_filter", label))
                .selected_text(value.as_deref().unwrap_or(any))
                .show_ui(ui, |ui| {
                    ui.selectable_value(value, None, any);
                    for c in choices {
                        let text = c.clone();
                        ui.selectable_value(value, Some(c), text);
                    }
                })
                .response
                .labelled_by(l.id);
            changed |= *value != before;
        }
        let l = ui.label("Keys");
        changed |= ui
            .add(
                egui::TextEdit::singleline(&mut f.key)
                    .hint_text("user:* or text in a name")
                    .desired_width(160.0),
            )
            .labelled_by(l.id)
            .changed();
        let l = ui.label("When");
        let before = f.since;
        egui::ComboBox::from_id_salt("audit_since")
            .selected_text(f.since.label())
            .show_ui(ui, |ui| {
                for s in Since::ALL {
                    ui.selectable_value(&mut f.since, s, s.label());
                }
            })
            .response
            .labelled_by(l.id);
        changed |= f.since != before;
    });
    changed
}

fn entries_ui(ui: &mut egui::Ui, view: &AuditView) {
    match &view.read.result {
        None => {
            ui.spinner();
        }
        Some(Err(e)) => {
            ui.colored_label(theme::level_color(Level::Error), e);
        }
        Some(Ok(read)) if read.matching == 0 => {
            let text = if read.profiles.is_empty() {
                "Nothing was written yet."
            } else {
                "No entry matches this filter."
            };
            ui.label(text);
        }
        Some(Ok(read)) => {
            let shown = read.entries.len() as u64;
            let summary = if shown < read.matching {
                format!(
                    "The newest {} of {} matching entries (Export writes them all).",
                    group_digits(shown),
                    group_digits(read.matching)
                )
            } else {
                format!("{} matching entries.", group_digits(read.matching))
            };
            ui.label(egui::RichText::new(summary).color(theme::MUTED));
            debug_assert!(read.entries.len() <= AUDIT_SHOWN);
            entries_table(ui, &read.entries);
        }
    }
}

const TITLES: [&str; 8] = [
    "Time",
    "Profile",
    "Where",
    "Action",
    "Keys / pattern",
    "Change",
    "Count",
    "Outcome",
];

fn entries_table(ui: &mut egui::Ui, entries: &[AuditEntry]) {
    // The columns share what the window has, so the outcome stays in sight on a narrow screen.
    const WIDTHS: [f32; 7] = [150.0, 90.0, 70.0, 100.0, 220.0, 210.0, 50.0];
    let wanted: f32 = WIDTHS.iter().sum::<f32>() + 180.0 + 8.0 * 10.0;
    let scale = (ui.available_width() / wanted).clamp(0.5, 1.0);
    let mut table = TableBuilder::new(ui)
        .id_salt("audit_table")
        .striped(true)
        .resizable(true)
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center));
    for width in WIDTHS {
        table = table.column(Column::initial(width * scale).at_least(40.0).clip(true));
    }
    table
        .column(Column::remainder().at_least(180.0 * scale).clip(true))
        .header(20.0, |mut h| {
            for t in TITLES {
                h.col(|ui| {
                    ui.strong(t);
                });
            }
        })
        .body(|body| {
            body.rows(theme::ROW_HEIGHT, entries.len(), |mut row| {
                let e = &entries[row.index()];
                let cells = [
                    e.time.clone(),
                    e.profile.clone(),
                    place(e),
                    e.action.clone(),
                    what(e),
                    change(e),
                    e.affected.map_or_else(String::new, group_digits),
                    e.outcome.clone(),
                ];
                for (i, text) in cells.into_iter().enumerate() {
                    row.col(|ui| {
                        let rich = egui::RichText::new(&text);
                        let rich = if i == 4 { rich.monospace() } else { rich };
                        let r = ui.add(egui::Label::new(rich).truncate());
                        if matches!(i, 4 | 5 | 7) {
                            r.on_hover_text(text);
                        }
                    });
                }
            });
        });
}

/// Where an entry acted: a server of a pool, or a database.
fn place(e: &AuditEntry) -> String {
    match (e.db, &e.server) {
        (_, Some(server)) => server.clone(),
        (Some(db), None) => format!("db{db}"),
        (None, None) => String::new(),
    }
}

/// The keys or pattern an entry names (and what a keyless action was aimed at).
fn what(e: &AuditEntry) -> String {
    e.pattern.clone().unwrap_or_else(|| {
        let mut keys = e.keys.join(", ");
        if e.key_count > e.keys.len() as u64 {
            let _ = write!(keys, " … ({} in all)", e.key_count);
        }
        if let Some(detail) = &e.detail {
            if !keys.is_empty() {
                keys.push_str(" · ");
            }
            keys.push_str(detail);
        }
        keys
    })
}

/// A TTL change in words.
fn change(e: &AuditEntry) -> String {
    match (&e.ttl_before, &e.ttl_after) {
        (Some(before), Some(after)) => format!("TTL from {before} to {after}"),
        _ => String::new(),
    }
}
