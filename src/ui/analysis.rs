//! The memory analysis window: the form, a progress bar while it runs, then charts and tables
//! of where the bytes are.

use egui_extras::{Column, TableBuilder};
use egui_plot::{Bar, BarChart, Plot};

use super::{Actions, theme};
use crate::backend::analysis::{MemoryReport, NO_NAMESPACE, OTHER_NAMESPACES, TTL_BUCKETS};
use crate::core::escape::escape_bytes;
use crate::core::format::group_digits;
use crate::core::metrics::bytes;
use crate::core::model::Ttl;
use crate::state::{AnalysisView, Level, Session, SessionAction};

/// Namespaces drawn in the chart (the table lists them all).
const CHART_NAMESPACES: usize = 12;
const CHART_HEIGHT: f32 = 190.0;

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
    egui::Window::new(title)
        .id(egui::Id::unique("memory_analysis"))
        .open(&mut open)
        .default_size([900.0, 680.0])
        .default_pos([theme::PROFILES_WIDTH + 80.0, 130.0])
        .show(ctx, |ui| {
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
        let width = ((ui.available_width() - 24.0) / 3.0).max(200.0);
        let names: Vec<String> = r
            .namespaces
            .iter()
            .take(CHART_NAMESPACES)
            .map(|(n, _)| n.clone())
            .collect();
        let ns_bars: Vec<Bar> = r
            .namespaces
            .iter()
            .take(CHART_NAMESPACES)
            .enumerate()
            .map(|(i, (name, t))| Bar::new(i as f64, t.bytes as f64).name(name))
            .collect();
        bar_chart(ui, width, "Bytes by namespace", "ns", ns_bars, &names, true);
        let type_names: Vec<String> = r.types.iter().map(|(t, _)| t.label().to_owned()).collect();
        let type_bars: Vec<Bar> = r
            .types
            .iter()
            .enumerate()
            .map(|(i, (t, totals))| {
                Bar::new(i as f64, totals.bytes as f64)
                    .name(t.label())
                    .fill(theme::type_color(t))
            })
            .collect();
        bar_chart(
            ui,
            width,
            "Bytes by type",
            "types",
            type_bars,
            &type_names,
            true,
        );
        let ttl_bars: Vec<Bar> = r
            .ttl
            .iter()
            .enumerate()
            .map(|(i, t)| Bar::new(i as f64, t.keys as f64).name(TTL_BUCKETS[i]))
            .collect();
        let ttl_names: Vec<String> = TTL_BUCKETS.iter().map(|s| (*s).to_owned()).collect();
        bar_chart(ui, width, "Keys by TTL", "ttl", ttl_bars, &ttl_names, false);
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

/// A bar chart with one named bar per category (hover shows name and value).
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss
)]
fn bar_chart(
    ui: &mut egui::Ui,
    width: f32,
    title: &str,
    id: &str,
    bars: Vec<Bar>,
    names: &[String],
    in_bytes: bool,
) {
    ui.vertical(|ui| {
        ui.set_width(width);
        ui.strong(title);
        // Names sit on top of their bars: axis labels would be thinned out at this width.
        let tallest = bars.iter().map(|b| b.value).fold(0.0, f64::max);
        let labels: Vec<(f64, f64, String)> = bars
            .iter()
            .zip(names)
            .map(|(b, n)| (b.argument, b.value, n.chars().take(10).collect()))
            .collect();
        let chart = BarChart::new(title, bars)
            .color(theme::series_color(0))
            .element_formatter(Box::new(move |bar, _| {
                let value = if in_bytes {
                    bytes(bar.value)
                } else {
                    group_digits(bar.value as u64)
                };
                format!("{}\n{value}", bar.name)
            }));
        Plot::new(("analysis", id))
            .height(CHART_HEIGHT)
            .allow_drag(false)
            .allow_zoom(false)
            .allow_scroll(false)
            .allow_boxed_zoom(false)
            .include_y(0.0)
            .include_y(tallest * 1.15)
            .show_grid([false, true])
            .show_axes([false, true])
            .y_axis_formatter(move |mark, _| {
                if in_bytes {
                    bytes(mark.value)
                } else {
                    group_digits(mark.value.max(0.0) as u64)
                }
            })
            .show(ui, |plot_ui| {
                plot_ui.bar_chart(chart);
                for (x, y, name) in labels {
                    let text = egui::RichText::new(name).small().color(theme::MUTED);
                    plot_ui.text(
                        egui_plot::Text::new("", egui_plot::PlotPoint::new(x, y), text)
                            .anchor(egui::Align2::CENTER_BOTTOM)
                            .allow_hover(false),
                    );
                }
            });
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
                    if ui
                        .link(egui::RichText::new(&name).monospace())
                        .on_hover_text("Open this key")
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
