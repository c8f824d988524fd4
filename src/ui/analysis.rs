//! The memory analysis window: the form, a progress bar while it runs, then charts and tables
//! of where the bytes are.

use egui_extras::{Column, TableBuilder};

use super::{Actions, theme};
use crate::backend::analysis::{MemoryReport, NO_NAMESPACE, OTHER_NAMESPACES, TTL_BUCKETS};
use crate::core::escape::escape_bytes;
use crate::core::format::{group_digits, middle_ellipsis};
use crate::core::metrics::bytes;
use crate::core::model::Ttl;
use crate::state::{AnalysisView, Level, Session, SessionAction};

/// Namespaces drawn in the chart (the table lists them all).
const CHART_NAMESPACES: usize = 12;

#[derive(Default)]
struct Request {
    start: bool,
    cancel: bool,
    open_key: Option<String>,
    browse: Option<String>,
}

/// The memory analysis window of the shown connection, when open.
pub fn analysis_ui(ctx: &egui::Context, s: &mut Session, actions: &mut Actions) {
    let mut acts = actions.of(s.conn);
    let title = format!("Memory analysis · {}", s.profile.name);
    let Some(view) = s.analysis.as_mut() else {
        return;
    };
    let mut open = true;
    let mut request = Request::default();
    let id = egui::Id::unique("memory_analysis");
    let mut window = egui::Window::new(title)
        .id(id)
        .open(&mut open)
        .default_size([900.0, 680.0])
        .default_pos([theme::PROFILES_WIDTH + 80.0, 130.0]);
    if std::mem::take(&mut view.tuck_away) {
        // A namespace was just listed in the browser: the window folds to its title bar in
        // the bottom-right corner, off the keys it filtered; its title bar unfolds it.
        let mut folded = egui::collapsing_header::CollapsingState::load_with_default_open(
            ctx,
            id.with("collapsing"),
            true,
        );
        folded.set_open(false);
        folded.store(ctx);
        let screen = ctx.content_rect();
        window = window.current_pos([screen.right() - 380.0, screen.bottom() - 110.0]);
    }
    window.show(ctx, |ui| {
        form_ui(ui, view, &mut request);
        if let Some(e) = &view.error {
            ui.colored_label(theme::level_color(Level::Error), e);
        }
        if let Some((keys, progress)) = view.progress {
            #[allow(clippy::cast_possible_truncation)]
            let bar = egui::ProgressBar::new(progress as f32)
                .text(format!(
                    "{} keys analysed · {:.0} % of the keyspace visited",
                    group_digits(keys),
                    progress * 100.0
                ))
                .animate(true);
            ui.add(bar);
        }
        if let Some(report) = &view.report {
            ui.separator();
            egui::ScrollArea::vertical()
                .auto_shrink([false, false])
                .show(ui, |ui| report_ui(ui, report, &mut request));
        }
    });
    if !open {
        acts.ask(SessionAction::CloseAnalysis);
        return;
    }
    if request.start {
        acts.ask(SessionAction::StartAnalysis);
    }
    if request.cancel {
        acts.ask(SessionAction::CancelAnalysis);
    }
    if let Some(key) = request.open_key {
        acts.ask(SessionAction::OpenKeyByName(key));
    }
    if let Some(namespace) = request.browse {
        acts.ask(SessionAction::BrowseNamespace(namespace));
    }
}

fn form_ui(ui: &mut egui::Ui, view: &mut AnalysisView, request: &mut Request) {
    ui.horizontal_wrapped(|ui| {
        let l = ui.label("Keys");
        ui.add(
            egui::TextEdit::singleline(&mut view.pattern)
                .desired_width(160.0)
                .font(egui::TextStyle::Monospace),
        )
        .labelled_by(l.id);
        ui.separator();
        ui.label("Namespace depth");
        for depth in 1..=3 {
            ui.selectable_value(&mut view.depth, depth, depth.to_string());
        }
        ui.separator();
        ui.radio_value(&mut view.whole, true, "Whole keyspace");
        ui.radio_value(&mut view.whole, false, "Sample of");
        let field = ui.add_enabled(
            !view.whole,
            egui::TextEdit::singleline(&mut view.sample_text).desired_width(70.0),
        );
        let l = ui.label("keys");
        field.labelled_by(l.id);
        ui.separator();
        if view.running {
            request.cancel = ui.button("Cancel analysis").clicked();
        } else {
            request.start = ui
                .button("Analyze")
                .on_hover_text("SCAN the keys, reading type, TTL and size in pipelines")
                .clicked();
        }
    });
}

#[allow(clippy::cast_precision_loss)]
fn report_ui(ui: &mut egui::Ui, r: &MemoryReport, request: &mut Request) {
    let how = if r.cancelled {
        "stopped before the end: a partial result"
    } else if r.sampled {
        "a sample: the first keys the scan found"
    } else {
        "the whole keyspace"
    };
    ui.label(
        egui::RichText::new(format!(
            "{} keys · {} · {} s · {how}",
            group_digits(r.keys),
            bytes(r.bytes as f64),
            r.elapsed_ms as f64 / 1000.0
        ))
        .strong(),
    );
    if r.vanished > 0 || r.without_size > 0 {
        ui.label(
            egui::RichText::new(format!(
                "{} keys expired or were deleted during the analysis; {} had no size",
                group_digits(r.vanished),
                group_digits(r.without_size)
            ))
            .color(theme::MUTED),
        );
    }
    ui.horizontal_top(|ui| {
        let width = ((ui.available_width() - 24.0) / 3.0).max(220.0);
        let ns: Vec<BarRow> = r
            .namespaces
            .iter()
            .take(CHART_NAMESPACES)
            .map(|(name, t)| BarRow {
                name: name.clone(),
                value: t.bytes,
                detail: format!("{} keys", group_digits(t.keys)),
                color: theme::series_color(0),
                browse: name != NO_NAMESPACE && name != OTHER_NAMESPACES,
            })
            .collect();
        bar_list(ui, width, "Bytes by namespace", &ns, true, request);
        let types: Vec<BarRow> = r
            .types
            .iter()
            .map(|(t, totals)| BarRow {
                name: t.label().to_owned(),
                value: totals.bytes,
                detail: format!("{} keys", group_digits(totals.keys)),
                color: theme::type_color(t),
                browse: false,
            })
            .collect();
        bar_list(ui, width, "Bytes by type", &types, true, request);
        let ttls: Vec<BarRow> = r
            .ttl
            .iter()
            .enumerate()
            .map(|(i, t)| BarRow {
                name: TTL_BUCKETS[i].to_owned(),
                value: t.keys,
                detail: bytes(t.bytes as f64),
                color: theme::series_color(2),
                browse: false,
            })
            .collect();
        bar_list(ui, width, "Keys by TTL", &ttls, false, request);
    });
    ui.add_space(8.0);
    ui.columns(2, |cols| {
        cols[0].strong("Biggest keys");
        top_keys_ui(&mut cols[0], r, request);
        cols[1].strong("Namespaces");
        namespaces_ui(&mut cols[1], r, request);
    });
    ui.add_space(8.0);
    ui.strong("Types and TTLs");
    egui::Grid::new("analysis_totals")
        .striped(true)
        .show(ui, |ui| {
            for (t, totals) in &r.types {
                ui.colored_label(theme::type_color(t), t.label());
                ui.monospace(format!("{} keys", group_digits(totals.keys)));
                ui.monospace(bytes(totals.bytes as f64));
                ui.end_row();
            }
            for (i, totals) in r.ttl.iter().enumerate() {
                ui.label(TTL_BUCKETS[i]);
                ui.monospace(format!("{} keys", group_digits(totals.keys)));
                ui.monospace(bytes(totals.bytes as f64));
                ui.end_row();
            }
        });
}

/// One bar of a [`bar_list`].
struct BarRow {
    name: String,
    value: u64,
    detail: String,
    color: egui::Color32,
    /// A click lists the namespace's keys in the browser.
    browse: bool,
}

/// Horizontal bars, one row per category: its name (shortened in the middle when long, whole
/// on hover), a bar to scale and its value. Names never overlap however many there are or
/// however narrow the window, as names under vertical bars do.
#[allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]
fn bar_list(
    ui: &mut egui::Ui,
    width: f32,
    title: &str,
    rows: &[BarRow],
    in_bytes: bool,
    request: &mut Request,
) {
    ui.vertical(|ui| {
        ui.set_width(width);
        ui.strong(title);
        let largest = rows.iter().map(|r| r.value).max().unwrap_or(0).max(1);
        let name_width = (width * 0.45).clamp(100.0, 200.0);
        let value_width = 72.0;
        for row in rows {
            let value = if in_bytes {
                bytes(row.value as f64)
            } else {
                group_digits(row.value)
            };
            let hover = format!("{}\n{value} · {}", row.name, row.detail);
            ui.horizontal(|ui| {
                let chars = theme::chars_fitting(ui, name_width);
                let label = egui::Label::new(
                    egui::RichText::new(middle_ellipsis(&row.name, chars)).monospace(),
                )
                .truncate();
                let (rect, _) = ui.allocate_exact_size(
                    egui::vec2(name_width, theme::ROW_HEIGHT),
                    egui::Sense::hover(),
                );
                let name = ui
                    .put(rect, label.sense(egui::Sense::click()))
                    .on_hover_text(&hover);
                if row.browse {
                    let name = name.on_hover_cursor(egui::CursorIcon::PointingHand);
                    if name.clicked() {
                        request.browse = Some(row.name.clone());
                    }
                }
                let room = (ui.available_width() - value_width).max(20.0);
                let share = row.value as f32 / largest as f32;
                let (bar, response) = ui.allocate_exact_size(
                    egui::vec2(room, theme::ROW_HEIGHT - 6.0),
                    egui::Sense::hover(),
                );
                let filled = egui::Rect::from_min_size(
                    bar.min,
                    egui::vec2((bar.width() * share).max(2.0), bar.height()),
                );
                ui.painter().rect_filled(filled, 2.0, row.color);
                response.on_hover_text(&hover);
                ui.label(egui::RichText::new(value).monospace().small());
            });
        }
    });
}

#[allow(clippy::cast_precision_loss)]
fn top_keys_ui(ui: &mut egui::Ui, r: &MemoryReport, request: &mut Request) {
    TableBuilder::new(ui)
        .id_salt("analysis_top")
        .striped(true)
        .max_scroll_height(260.0)
        .column(Column::remainder().at_least(160.0).clip(true))
        .column(Column::auto().at_least(50.0))
        .column(Column::auto().at_least(70.0))
        .column(Column::auto().at_least(60.0))
        .header(theme::ROW_HEIGHT, |mut h| {
            for title in ["Key", "Type", "Size", "TTL"] {
                h.col(|ui| {
                    ui.strong(title);
                });
            }
        })
        .body(|body| {
            body.rows(theme::ROW_HEIGHT, r.top.len(), |mut row| {
                let fact = &r.top[row.index()];
                let name = escape_bytes(&fact.key);
                row.col(|ui| {
                    // The distinctive end of a long name stays in sight.
                    let room = theme::chars_fitting(ui, ui.available_width());
                    if ui
                        .link(egui::RichText::new(middle_ellipsis(&name, room)).monospace())
                        .on_hover_text(format!("{name}\nOpen this key"))
                        .clicked()
                    {
                        request.open_key = Some(name.clone());
                    }
                });
                row.col(|ui| {
                    ui.colored_label(theme::type_color(&fact.key_type), fact.key_type.label());
                });
                row.col(|ui| {
                    ui.monospace(bytes(fact.bytes as f64));
                });
                row.col(|ui| {
                    ui.monospace(match fact.ttl {
                        Ttl::Persistent => "no TTL".to_owned(),
                        Ttl::Unknown => "unknown".to_owned(),
                        Ttl::ExpiresInMs(ms) => humantime::format_duration(
                            std::time::Duration::from_secs(ms.div_ceil(1000)),
                        )
                        .to_string(),
                    });
                });
            });
        });
}

#[allow(clippy::cast_precision_loss)]
fn namespaces_ui(ui: &mut egui::Ui, r: &MemoryReport, request: &mut Request) {
    TableBuilder::new(ui)
        .id_salt("analysis_namespaces")
        .striped(true)
        .max_scroll_height(260.0)
        .column(Column::remainder().at_least(140.0).clip(true))
        .column(Column::auto().at_least(70.0))
        .column(Column::auto().at_least(70.0))
        .column(Column::auto().at_least(50.0))
        .header(theme::ROW_HEIGHT, |mut h| {
            for title in ["Namespace", "Keys", "Bytes", "Share"] {
                h.col(|ui| {
                    ui.strong(title);
                });
            }
        })
        .body(|body| {
            body.rows(theme::ROW_HEIGHT, r.namespaces.len(), |mut row| {
                let (name, t) = &r.namespaces[row.index()];
                row.col(|ui| {
                    if name == NO_NAMESPACE || name == OTHER_NAMESPACES {
                        ui.monospace(name);
                    } else if ui
                        .link(egui::RichText::new(name).monospace())
                        .on_hover_text("List these keys in the browser")
                        .clicked()
                    {
                        request.browse = Some(name.clone());
                    }
                });
                row.col(|ui| {
                    ui.monospace(group_digits(t.keys));
                });
                row.col(|ui| {
                    ui.monospace(bytes(t.bytes as f64));
                });
                row.col(|ui| {
                    let share = if r.bytes == 0 {
                        0.0
                    } else {
                        t.bytes as f64 * 100.0 / r.bytes as f64
                    };
                    ui.monospace(format!("{share:.1} %"));
                });
            });
        });
}
