//! The fleet view: a row per saved profile (or per group) with its figures, sorted by any
//! column, filtered, coloured by the thresholds; a click opens the profile's dashboard.

use egui_extras::{Column as Width, TableBuilder};

use super::{Actions, theme};
use crate::core::fleet::{Column, GroupRow, Health, Severity, alerts};
use crate::core::metrics::Metric;
use crate::state::fleet::Fleet;
use crate::state::{Action, AppState, Level};

/// Draws the fleet view in the central panel.
pub fn fleet_ui(ui: &mut egui::Ui, state: &mut AppState, actions: &mut Actions) {
    let fleet = &mut state.fleet;
    header_ui(ui, fleet, actions);
    controls_ui(ui, fleet, actions);
    ui.separator();
    if fleet.rows.is_empty() {
        ui.label("No saved profiles yet: make one, and it shows here.");
        return;
    }
    if fleet.by_group {
        groups_ui(ui, fleet, actions);
    } else {
        rows_ui(ui, fleet, actions);
    }
}

fn header_ui(ui: &mut egui::Ui, fleet: &Fleet, actions: &mut Actions) {
    ui.horizontal(|ui| {
        ui.heading("Fleet");
        let total = fleet.rows.len();
        let up = fleet.rows.iter().filter(|r| r.health == Health::Up).count();
        let down = fleet
            .rows
            .iter()
            .filter(|r| matches!(r.health, Health::Down | Health::Partial))
            .count();
        ui.label(format!("{total} profiles: {up} up, {down} down"));
        let status = match (fleet.round_started, fleet.last_round) {
            (Some(_), _) => format!("reading… {}/{total}", fleet.round_done),
            (None, Some(took)) if took.as_secs_f64() < 1.0 => {
                format!("last round {} ms", took.as_millis())
            }
            (None, Some(took)) => format!("last round {:.1} s", took.as_secs_f64()),
            (None, None) => String::new(),
        };
        ui.label(egui::RichText::new(status).color(theme::MUTED));
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if theme::icon_button(ui, theme::ICON_CLOSE, "Close", None)
                .on_hover_text("Back to the connection shown before")
                .clicked()
            {
                actions.push(Action::CloseFleet);
            }
        });
    });
}

fn controls_ui(ui: &mut egui::Ui, fleet: &mut Fleet, actions: &mut Actions) {
    ui.horizontal_wrapped(|ui| {
        let mut text = fleet.filter_text.clone();
        let l = ui.label("Filter");
        let filter = ui
            .add(
                egui::TextEdit::singleline(&mut text)
                    .hint_text("text, status:down, group:prod, mem>80, hit<90")
                    .desired_width(280.0),
            )
            .labelled_by(l.id)
            .on_hover_text(
                "Words found in any column; column:text in one column; column>N or column<N \
                 compares its figure (mem compares the percent of the limit). Columns: profile, \
                 group, kind, status, version, role, hit, mem, evictions, ops, clients, keys, \
                 lag, error",
            );
        if filter.changed() {
            actions.push(Action::FilterFleet(text));
        }
        let mut changed = ui.checkbox(&mut fleet.only_alerts, "Only alerts").changed();
        ui.checkbox(&mut fleet.by_group, "By group")
            .on_hover_text("One line per profile group, its members' figures summed");
        ui.separator();
        ui.label("Every");
        let interval = ui
            .add(
                egui::TextEdit::singleline(&mut fleet.interval_text)
                    .desired_width(40.0)
                    .id_salt("fleet_interval"),
            )
            .on_hover_text("Seconds between readings of every profile");
        ui.label("s");
        if interval.lost_focus() {
            actions.push(Action::ApplyFleetInterval);
        }
        if let Some(error) = &fleet.interval_error {
            ui.colored_label(theme::level_color(Level::Error), error);
        }
        let mut secs = fleet.limits.timeout.as_secs_f64();
        let mut limits_changed = ui
            .add(
                egui::DragValue::new(&mut secs)
                    .range(0.2..=60.0)
                    .speed(0.1)
                    .prefix("limit ")
                    .suffix(" s"),
            )
            .on_hover_text("The most time one profile may take, connecting included")
            .changed();
        limits_changed |= ui
            .add(
                egui::DragValue::new(&mut fleet.limits.concurrency)
                    .range(1..=64)
                    .suffix(" at once"),
            )
            .on_hover_text("The most profiles read at the same time")
            .changed();
        if limits_changed {
            fleet.limits.timeout = std::time::Duration::from_secs_f64(secs);
            actions.push(Action::ApplyFleetInterval);
        }
        ui.separator();
        ui.label("Alert on: memory over");
        changed |= ui
            .add(
                egui::DragValue::new(&mut fleet.thresholds.memory_pct)
                    .range(1.0..=100.0)
                    .suffix(" %"),
            )
            .changed();
        let mut hit_check = fleet.thresholds.min_hit_rate.is_some();
        if ui.checkbox(&mut hit_check, "hit rate under").changed() {
            fleet.thresholds.min_hit_rate = hit_check.then_some(80.0);
            changed = true;
        }
        if let Some(min) = &mut fleet.thresholds.min_hit_rate {
            changed |= ui
                .add(egui::DragValue::new(min).range(0.0..=100.0).suffix(" %"))
                .changed();
        }
        changed |= ui
            .checkbox(&mut fleet.thresholds.evictions, "evictions")
            .changed();
        changed |= ui
            .checkbox(&mut fleet.thresholds.unreachable, "unreachable")
            .changed();
        if changed {
            actions.push(Action::FleetViewChanged);
        }
    });
}

/// A row's tint: red for what is wrong now, amber for what is worth a look.
fn tint(severity: Option<Severity>) -> Option<egui::Color32> {
    severity.map(|s| {
        let level = match s {
            Severity::Critical => Level::Error,
            Severity::Warning => Level::Warning,
        };
        theme::level_color(level).gamma_multiply(0.25)
    })
}

/// The widths columns start at, in table order (every column but the last error fits a
/// 1280-pixel window beside the profile list).
fn width(column: Column) -> f32 {
    match column {
        Column::Profile => 130.0,
        Column::Kind => 100.0,
        Column::Group | Column::Role => 90.0,
        Column::Status | Column::Version | Column::Clients | Column::ReplLag => 60.0,
        Column::HitRate | Column::Evictions | Column::Ops | Column::Keys => 70.0,
        Column::Memory => 150.0,
        Column::LastError => 200.0,
    }
}

fn header_cell(ui: &mut egui::Ui, fleet: &Fleet, column: Column, actions: &mut Actions) {
    let title = egui::RichText::new(column.title()).strong();
    let (button, name) = match fleet.sort {
        (c, descending) if c == column => {
            let (icon, way) = if descending {
                (theme::ICON_DOWN, "descending")
            } else {
                (theme::ICON_UP, "ascending")
            };
            (
                egui::Button::new((title, icon.rich_text())),
                format!("{} ({way})", column.title()),
            )
        }
        _ => (egui::Button::new(title), column.title().to_owned()),
    };
    let response = ui.add(button.frame(false));
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &name));
    if response
        .on_hover_text("Sort by this column (again: the other way)")
        .clicked()
    {
        actions.push(Action::SortFleet(column));
    }
}

fn rows_ui(ui: &mut egui::Ui, fleet: &mut Fleet, actions: &mut Actions) {
    // Indexes, not copies: a frame draws only the rows in view.
    let order = fleet.order().to_vec();
    let fleet = &*fleet;
    if order.is_empty() {
        ui.label("No profile matches the filter.");
        return;
    }
    let mut table = TableBuilder::new(ui)
        .id_salt("fleet_table")
        .striped(true)
        .resizable(true)
        .sense(egui::Sense::click())
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center));
    for column in &Column::ALL[..Column::ALL.len() - 1] {
        table = table.column(Width::initial(width(*column)).at_least(40.0).clip(true));
    }
    table
        .column(Width::remainder().at_least(120.0).clip(true))
        .header(22.0, |mut header| {
            for column in Column::ALL {
                header.col(|ui| header_cell(ui, fleet, column, actions));
            }
        })
        .body(|body| {
            body.rows(theme::ROW_HEIGHT, order.len(), |mut table_row| {
                let Some(row) = order
                    .get(table_row.index())
                    .and_then(|&i| fleet.rows.get(i))
                else {
                    return;
                };
                let found = alerts(row, &fleet.thresholds);
                let severity = found.iter().map(crate::core::fleet::Alert::severity).max();
                let tint = tint(severity);
                for column in Column::ALL {
                    table_row.col(|ui| {
                        if let Some(tint) = tint {
                            // Across the gaps between cells too: the row reads as one band.
                            let gap = ui.spacing().item_spacing * 0.5;
                            let band = ui.max_rect().expand2(gap);
                            ui.painter().rect_filled(band, 0.0, tint);
                        }
                        let text = column.text(row);
                        let label = match column {
                            Column::Status => egui::RichText::new(text).color(match row.health {
                                Health::Up => theme::OK,
                                Health::Down => theme::level_color(Level::Error),
                                Health::Partial => theme::level_color(Level::Warning),
                                Health::Waiting => theme::MUTED,
                            }),
                            Column::LastError => egui::RichText::new(text).color(theme::MUTED),
                            _ => egui::RichText::new(text),
                        };
                        ui.add(egui::Label::new(label).truncate().selectable(false));
                    });
                }
                let response = table_row.response();
                let mut tip = format!("{} — {}", row.profile, row.address);
                for alert in &found {
                    tip.push_str("\n• ");
                    tip.push_str(&alert.describe());
                }
                if let Some((error, _)) = &row.last_error {
                    tip.push_str("\nLast error: ");
                    tip.push_str(error);
                }
                tip.push_str("\nClick: open its dashboard");
                let response = response.on_hover_text(tip);
                if response.clicked() {
                    actions.push(Action::OpenFromFleet(row.profile.clone()));
                }
            });
        });
}

const GROUP_TITLES: [&str; 10] = [
    "Group",
    "Profiles",
    "Up",
    "Down",
    "Hit rate",
    "Memory",
    "Evictions/s",
    "Ops/s",
    "Clients",
    "Keys",
];

fn group_cells(g: &GroupRow) -> [String; 10] {
    let f = &g.figures;
    let figure = |m: Metric, v: Option<f64>| v.map_or_else(String::new, |v| m.format(v));
    [
        g.group.clone().unwrap_or_else(|| "(no group)".to_owned()),
        g.profiles.to_string(),
        g.up.to_string(),
        g.down.to_string(),
        figure(Metric::HitRate, f.hit_rate),
        f.memory_text(),
        figure(Metric::EvictedPerSec, f.evictions_per_sec),
        figure(Metric::OpsPerSec, f.ops_per_sec),
        figure(Metric::Clients, f.clients),
        figure(Metric::Keys, f.keys),
    ]
}

fn groups_ui(ui: &mut egui::Ui, fleet: &mut Fleet, actions: &mut Actions) {
    let groups = fleet.groups();
    let mut table = TableBuilder::new(ui)
        .id_salt("fleet_groups")
        .striped(true)
        .resizable(true)
        .sense(egui::Sense::click())
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center));
    for (i, _) in GROUP_TITLES.iter().enumerate() {
        let w = if i == 0 || i == 5 { 170.0 } else { 80.0 };
        table = table.column(Width::initial(w).at_least(40.0).clip(true));
    }
    table
        .header(22.0, |mut header| {
            for title in GROUP_TITLES {
                header.col(|ui| {
                    ui.strong(title);
                });
            }
        })
        .body(|body| {
            body.rows(theme::ROW_HEIGHT, groups.len(), |mut table_row| {
                let g = &groups[table_row.index()];
                let tint = tint((g.down > 0).then_some(Severity::Critical));
                for cell in group_cells(g) {
                    table_row.col(|ui| {
                        if let Some(tint) = tint {
                            ui.painter().rect_filled(ui.max_rect(), 0.0, tint);
                        }
                        ui.add(egui::Label::new(cell).truncate().selectable(false));
                    });
                }
                let response = table_row
                    .response()
                    .on_hover_text("Click: this group's profiles");
                if response.clicked() {
                    let filter = g
                        .group
                        .as_deref()
                        .map_or_else(String::new, crate::core::fleet::group_term);
                    fleet.by_group = false;
                    actions.push(Action::FilterFleet(filter));
                }
            });
        });
}
