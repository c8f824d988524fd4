//! The live metrics dashboard: one window per connection whose dashboard is open, so several
//! connections can be compared side by side. Which charts show is decided by the figures the
//! backend reports, never by its kind.

use std::fmt::Write as _;

use egui_plot::{GridInput, GridMark, HoverPosition, Line, LineStyle, Plot, PlotPoints};

use super::{Actions, DialogPurpose, theme};
use crate::core::metrics::{Metric, Point, Unit, Window, visible};
use crate::state::{AppState, Dashboard, Level, Session, SessionAction};

/// A chart: a title and the metrics drawn in it.
struct Chart {
    title: &'static str,
    series: &'static [Metric],
}

const CHARTS: [Chart; 8] = [
    Chart {
        title: "Hit rate (%)",
        series: &[Metric::HitRate, Metric::LifetimeHitRate],
    },
    Chart {
        title: "Memory (bytes)",
        series: &[Metric::UsedMemory, Metric::RssMemory, Metric::MaxMemory],
    },
    Chart {
        title: "Operations (per second)",
        series: &[
            Metric::OpsPerSec,
            Metric::GetsPerSec,
            Metric::SetsPerSec,
            Metric::MissesPerSec,
        ],
    },
    Chart {
        title: "Clients",
        series: &[Metric::Clients, Metric::BlockedClients],
    },
    Chart {
        title: "Evictions and expirations (per second)",
        series: &[Metric::EvictedPerSec, Metric::ExpiredPerSec],
    },
    Chart {
        title: "Network (bytes per second)",
        series: &[Metric::NetInPerSec, Metric::NetOutPerSec],
    },
    Chart {
        title: "Entries",
        series: &[Metric::Keys, Metric::LiveEntries, Metric::ExpiredEntries],
    },
    Chart {
        title: "Stored size (bytes)",
        series: &[Metric::TotalSize],
    },
];

/// The figures shown as read-outs above the charts, in order.
const READOUTS: [Metric; 11] = [
    Metric::HitRate,
    Metric::OpsPerSec,
    Metric::UsedMemory,
    Metric::Clients,
    Metric::EvictedPerSec,
    Metric::ExpiredPerSec,
    Metric::Keys,
    Metric::LiveEntries,
    Metric::ExpiredEntries,
    Metric::TotalSize,
    Metric::NetInPerSec,
];

const CHART_HEIGHT: f32 = 150.0;

/// Draws every open dashboard.
pub fn dashboards_ui(ctx: &egui::Context, state: &mut AppState, actions: &mut Actions) {
    let mut compare = false;
    for (i, s) in state.sessions.iter_mut().enumerate() {
        if !s.dashboard.open {
            continue;
        }
        let mut open = true;
        let shown = egui::Window::new(format!("Metrics · {}", s.profile.name))
            .id(egui::Id::unique(("dashboard", s.conn)))
            .open(&mut open)
            .default_size([860.0, 660.0])
            // Below the connection header (so its buttons stay reachable), cascaded.
            .default_pos([
                theme::PROFILES_WIDTH + 60.0 + 40.0 * i as f32,
                110.0 + 30.0 * i as f32,
            ])
            .show(ctx, |ui| {
                let action = dashboard_ui(ui, s);
                if action.apply_interval {
                    actions.session(s.conn, SessionAction::ApplyMetricsInterval);
                }
                compare |= action.compare;
                if action.export {
                    let name = format!("{}-metrics.csv", file_safe(&s.profile.name));
                    actions.pick_file(DialogPurpose::CsvExport { conn: s.conn, name });
                }
            });
        // A window collapsed to its title shows nothing: its sampler pauses (next sync).
        s.dashboard.collapsed = shown.is_some_and(|r| r.inner.is_none());
        if !open {
            actions.session(s.conn, SessionAction::CloseDashboard);
        }
    }
    // The comparison window belongs to this panel: it opens and closes it itself.
    if compare && state.compare.is_none() {
        state.compare = Some(crate::state::Compare::default());
    }
    compare_ui(ctx, state);
}

/// One figure of every open dashboard on one chart, a line per connection.
#[expect(
    clippy::too_many_lines,
    reason = "an egui layout reads top to bottom as the screen does"
)]
fn compare_ui(ctx: &egui::Context, state: &mut AppState) {
    let Some(mut compare) = state.compare else {
        return;
    };
    let mut open = true;
    egui::Window::new("Compare connections")
        .id(egui::Id::unique("compare"))
        .open(&mut open)
        .default_size([720.0, 360.0])
        .default_pos([theme::PROFILES_WIDTH + 120.0, 170.0])
        .show(ctx, |ui| {
            let compared = state.compared();
            let present: Vec<[bool; Metric::COUNT]> =
                compared.iter().map(|(_, d)| d.present()).collect();
            ui.horizontal_wrapped(|ui| {
                let l = ui.label("Figure");
                egui::ComboBox::from_id_salt("compare_metric")
                    .selected_text(compare.metric.label())
                    .show_ui(ui, |ui| {
                        for m in Metric::ALL {
                            // Only figures some compared connection has.
                            if present.iter().any(|p| p[m.index()]) {
                                ui.selectable_value(&mut compare.metric, m, m.label());
                            }
                        }
                    })
                    .response
                    .labelled_by(l.id);
                ui.separator();
                for w in Window::ALL {
                    ui.selectable_value(&mut compare.window, w, w.label());
                }
            });
            if compared.len() < 2 {
                ui.label(
                    egui::RichText::new(
                        "Open the Metrics of each connection to compare: every open dashboard \
                         is drawn here.",
                    )
                    .color(theme::MUTED),
                );
            }
            ui.horizontal_wrapped(|ui| {
                for (n, (name, d)) in compared.iter().enumerate() {
                    let latest = d
                        .history
                        .latest()
                        .and_then(|p| p.value(compare.metric))
                        .map_or_else(|| "–".to_owned(), |v| compare.metric.format(v));
                    ui.label(
                        egui::RichText::new(format!("— {name}: {latest}"))
                            .color(theme::series_color(n)),
                    );
                }
            });
            let metric = compare.metric;
            let newest = compared
                .iter()
                .filter_map(|(_, d)| d.history.latest().map(|p| p.t))
                .fold(f64::NEG_INFINITY, f64::max);
            let unit = metric.unit();
            let max_points = points_for(ui.available_width());
            let mut plot = Plot::new("compare_plot")
                .height(ui.available_height().max(160.0))
                .allow_drag(false)
                .allow_zoom(false)
                .allow_scroll(false)
                .allow_boxed_zoom(false)
                .include_y(0.0)
                .x_grid_spacer(time_grid)
                .x_axis_formatter(|mark, _| clock(mark.value))
                .y_axis_formatter(move |mark, _| axis_value(unit, mark.value, mark.step_size))
                .y_axis_min_width(48.0)
                .label_formatter(move |pos| match pos {
                    HoverPosition::NearDataPoint {
                        plot_name,
                        position,
                        ..
                    } => Some(format!(
                        "{plot_name}\n{}  {}",
                        clock(position.x),
                        metric.format(position.y)
                    )),
                    HoverPosition::Elsewhere { .. } => None,
                });
            plot = plot
                .include_y(least_top(unit))
                .y_grid_spacer(move |input| value_grid(input, unit));
            if newest.is_finite() {
                plot = plot
                    .include_x(newest - compare.window.secs())
                    .include_x(newest);
            }
            plot.show(ui, |plot_ui| {
                for (n, (name, d)) in compared.iter().enumerate() {
                    let Some(series) = d.history.series(None) else {
                        continue;
                    };
                    let points: Vec<&Point> = visible(series, compare.window).collect();
                    for (k, segment) in segments(&points, metric).into_iter().enumerate() {
                        let segment = decimate(segment, max_points);
                        plot_ui.line(
                            Line::new(*name, PlotPoints::from(segment))
                                .id(("compare", n, k))
                                .color(theme::series_color(n))
                                .width(1.5),
                        );
                    }
                }
            });
        });
    state.compare = open.then_some(compare);
}

fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[derive(Default)]
struct Action {
    apply_interval: bool,
    export: bool,
    compare: bool,
}

fn dashboard_ui(ui: &mut egui::Ui, s: &mut Session) -> Action {
    let mut action = Action::default();
    let conn = s.conn;
    let d = &mut s.dashboard;
    ui.horizontal_wrapped(|ui| {
        ui.label("Window");
        for w in Window::ALL {
            ui.selectable_value(&mut d.window, w, w.label());
        }
        ui.separator();
        let l = ui.label("Sample every");
        let edit = ui
            .add(egui::TextEdit::singleline(&mut d.interval_text).desired_width(48.0))
            .labelled_by(l.id)
            .on_hover_text("Seconds between samples (0.1 to 3600), or `500ms`, `1m`");
        ui.label("s");
        if edit.lost_focus() {
            action.apply_interval = true;
        }
        if !d.history.servers.is_empty() {
            ui.separator();
            let l = ui.label("Chart");
            let shown = d.server.clone().unwrap_or_else(|| "All servers".to_owned());
            egui::ComboBox::from_id_salt(("dash_server", conn))
                .selected_text(shown)
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut d.server, None, "All servers");
                    for (name, _) in &d.history.servers {
                        ui.selectable_value(&mut d.server, Some(name.clone()), name);
                    }
                })
                .response
                .labelled_by(l.id);
        }
        ui.separator();
        action.export = ui
            .button("Export CSV…")
            .on_hover_text("Save the points in the chosen window as CSV")
            .clicked();
        action.compare = ui
            .button("Compare…")
            .on_hover_text("One figure of every open dashboard on one chart")
            .clicked();
    });
    status_ui(ui, d);
    ui.separator();
    readouts_ui(ui, d);
    ui.separator();
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| charts_ui(ui, d, conn));
    action
}

fn status_ui(ui: &mut egui::Ui, d: &Dashboard) {
    if let Some(e) = &d.interval_error {
        ui.colored_label(theme::level_color(Level::Error), e);
    }
    if let Some(e) = &d.error {
        ui.colored_label(
            theme::level_color(Level::Error),
            format!("Last sample failed: {e}"),
        );
    }
    for (server, stats) in d.latest.iter().flat_map(|l| &l.servers) {
        if let Some(e) = &stats.error {
            ui.colored_label(
                theme::level_color(Level::Error),
                format!("{server} is not answering: {e}"),
            );
        }
    }
    let newest = d.history.latest().map_or(0.0, |p| p.t);
    for (t, server) in &d.history.restarts {
        if *t >= newest - d.window.secs() {
            ui.colored_label(
                theme::level_color(Level::Warning),
                format!(
                    "{server} restarted or reset its counters at {}: no rates for that interval",
                    clock(*t)
                ),
            );
        }
    }
    let points = d.series().map_or(0, std::collections::VecDeque::len);
    let asked = std::time::Duration::from_secs_f64(d.interval_secs);
    let slowed = match (d.effective, d.took) {
        (Some(every), Some(took)) if every > asked => format!(
            " · slowed to every {:.1} s: one sample takes {:.0} ms",
            every.as_secs_f64(),
            took.as_secs_f64() * 1000.0
        ),
        (_, Some(took)) => format!(" · a sample takes {:.1} ms", took.as_secs_f64() * 1000.0),
        _ => String::new(),
    };
    ui.label(
        egui::RichText::new(format!(
            "{} every {} s{slowed} · {points} samples kept (at least the last hour)",
            if d.sampling() { "Sampling" } else { "Paused" },
            d.interval_secs
        ))
        .color(theme::MUTED),
    );
}

fn readouts_ui(ui: &mut egui::Ui, d: &Dashboard) {
    let Some(latest) = d.series().and_then(|s| s.back()) else {
        ui.spinner();
        return;
    };
    ui.horizontal_wrapped(|ui| {
        for m in READOUTS {
            let shown = match latest.value(m) {
                Some(v) => m.format(v),
                // An idle interval has no hit rate; the lifetime one is still worth showing.
                None if m == Metric::HitRate && latest.value(Metric::LifetimeHitRate).is_some() => {
                    "no lookups".to_owned()
                }
                None => continue,
            };
            let card = ui.group(|ui| {
                ui.vertical(|ui| {
                    ui.label(egui::RichText::new(m.label()).small().color(theme::MUTED));
                    ui.label(egui::RichText::new(shown).strong().size(18.0));
                    let detail = match m {
                        Metric::HitRate => latest
                            .value(Metric::LifetimeHitRate)
                            .map(|l| format!("{} since start", Metric::LifetimeHitRate.format(l))),
                        Metric::UsedMemory => Some(match latest.value(Metric::MaxMemory) {
                            Some(max) => format!("of {}", Metric::MaxMemory.format(max)),
                            None => "no memory limit".to_owned(),
                        }),
                        Metric::Clients => latest
                            .value(Metric::BlockedClients)
                            .map(|b| format!("{} blocked", Metric::BlockedClients.format(b))),
                        Metric::NetInPerSec => latest
                            .value(Metric::NetOutPerSec)
                            .map(|o| format!("out {}", Metric::NetOutPerSec.format(o))),
                        _ => None,
                    };
                    if let Some(detail) = detail {
                        ui.label(egui::RichText::new(detail).small().color(theme::MUTED));
                    }
                });
            });
            if m == Metric::HitRate {
                card.response.on_hover_text(
                    "Hits / (hits + misses) over the last interval. Redis counts the TYPE and \
                     TTL reads of key listings (this app's too) as hits.",
                );
            }
        }
    });
    if let Some(sample) = &d.latest {
        let dbs: Vec<String> = sample
            .servers
            .iter()
            .flat_map(|(_, s)| &s.keys_per_db)
            .map(|(db, keys)| format!("db{db}: {keys}"))
            .collect();
        if !dbs.is_empty() {
            ui.label(
                egui::RichText::new(format!("Keys per database · {}", dbs.join(" · ")))
                    .color(theme::MUTED),
            );
        }
    }
}

fn charts_ui(ui: &mut egui::Ui, d: &Dashboard, conn: crate::service::ConnId) {
    let Some(series) = d.series() else { return };
    let present = d.present();
    let has = |m: &Metric| present[m.index()];
    let shown: Vec<&Chart> = CHARTS.iter().filter(|c| c.series.iter().any(has)).collect();
    let points: Vec<&Point> = visible(series, d.window).collect();
    let newest = points.last().map_or(0.0, |p| p.t);
    // The window's span, or less while the history is shorter: charts fill their width.
    let from = points
        .first()
        .map_or(0.0, |p| p.t)
        .max(newest - d.window.secs());
    let width = ((ui.available_width() - 16.0) / 2.0).max(240.0);
    egui::Grid::new(("charts", conn))
        .num_columns(2)
        .spacing([12.0, 10.0])
        .show(ui, |ui| {
            for (i, chart) in shown.iter().enumerate() {
                ui.vertical(|ui| {
                    ui.set_width(width);
                    ui.horizontal_wrapped(|ui| {
                        ui.strong(chart.title);
                        // The legend sits above the chart so it never hides the newest points.
                        for (n, m) in chart.series.iter().enumerate() {
                            if has(m) {
                                ui.label(
                                    egui::RichText::new(format!("— {}", m.label()))
                                        .small()
                                        .color(theme::series_color(n)),
                                );
                            }
                        }
                    });
                    chart_ui(ui, chart, &points, (from, newest), conn, &present);
                });
                if i % 2 == 1 {
                    ui.end_row();
                }
            }
        });
}

fn chart_ui(
    ui: &mut egui::Ui,
    chart: &Chart,
    points: &[&Point],
    (from, to): (f64, f64),
    conn: crate::service::ConnId,
    present: &[bool; Metric::COUNT],
) {
    let unit = chart.series[0].unit();
    let max_points = points_for(ui.available_width());
    let series: Vec<Metric> = chart
        .series
        .iter()
        .copied()
        .filter(|m| present[m.index()])
        .collect();
    let plot = Plot::new(("chart", conn, chart.title))
        .height(CHART_HEIGHT)
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
        .allow_boxed_zoom(false)
        .allow_double_click_reset(false)
        .link_cursor(egui::Id::unique(("dash_cursor", conn)), [true, false])
        .include_x(from)
        .include_x(to)
        .include_y(0.0)
        .include_y(least_top(unit))
        .x_grid_spacer(time_grid)
        .y_grid_spacer(move |input| value_grid(input, unit))
        .x_axis_formatter(|mark, _| clock(mark.value))
        .y_axis_formatter(move |mark, _| axis_value(unit, mark.value, mark.step_size))
        .y_axis_min_width(56.0)
        // Anywhere over the chart: the time under the pointer and every figure then.
        .label_formatter(|pos| {
            let x = match pos {
                HoverPosition::NearDataPoint { position, .. }
                | HoverPosition::Elsewhere { position } => position.x,
            };
            readout_at(points, &series, x)
        });
    plot.show(ui, |plot_ui| {
        for (n, metric) in chart.series.iter().enumerate() {
            if !present[metric.index()] {
                continue;
            }
            let color = theme::series_color(n);
            let dashed = matches!(metric, Metric::MaxMemory | Metric::LifetimeHitRate);
            // Unknown values (a restart, a failed sample) break the line instead of dropping
            // it to zero.
            for (k, segment) in segments(points, *metric).into_iter().enumerate() {
                let segment = decimate(segment, max_points);
                let mut line = Line::new(metric.label(), PlotPoints::from(segment))
                    .id((chart.title, *metric as usize, k))
                    .color(color)
                    .width(1.5);
                if dashed {
                    line = line.style(LineStyle::dashed_loose());
                }
                plot_ui.line(line);
            }
        }
    });
}

/// At most about `max` points with the shape of `points`: each bucket of consecutive points
/// keeps its lowest and highest (in time order), so spikes survive. A chart is a few hundred
/// pixels wide; an hour of one-second samples is 3,600 points a line.
fn decimate(points: Vec<[f64; 2]>, max: usize) -> Vec<[f64; 2]> {
    if points.len() <= max || max < 4 {
        return points;
    }
    let size = points.len().div_ceil(max / 2);
    let mut out = Vec::with_capacity(max + 2);
    for chunk in points.chunks(size) {
        let (mut lo, mut hi) = (0, 0);
        for (i, p) in chunk.iter().enumerate() {
            if p[1] < chunk[lo][1] {
                lo = i;
            }
            if p[1] > chunk[hi][1] {
                hi = i;
            }
        }
        out.push(chunk[lo.min(hi)]);
        if lo != hi {
            out.push(chunk[lo.max(hi)]);
        }
    }
    out
}

/// Points a chart `width` pixels wide needs: two a pixel.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn points_for(width: f32) -> usize {
    (width.max(100.0) * 2.0) as usize
}

/// The runs of known values of `metric`, as plot points.
fn segments(points: &[&Point], metric: Metric) -> Vec<Vec<[f64; 2]>> {
    let mut out: Vec<Vec<[f64; 2]>> = Vec::new();
    let mut run: Vec<[f64; 2]> = Vec::new();
    for p in points {
        match p.value(metric) {
            Some(v) => run.push([p.t, v]),
            None if !run.is_empty() => out.push(std::mem::take(&mut run)),
            None => {}
        }
    }
    if !run.is_empty() {
        out.push(run);
    }
    out
}

/// Axis labels in the chart's unit, with as many decimals as the tick step needs (ticks 0.2
/// apart read 0.2, 0.4, not 0, 0, 0).
fn axis_value(unit: Unit, v: f64, step: f64) -> String {
    // Never "-0": a tick a rounding error below zero reads 0.
    let v = if v.abs() < step.abs() * 1e-9 { 0.0 } else { v };
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let decimals = if step > 0.0 && step < 1.0 {
        (-step.log10()).ceil().clamp(0.0, 3.0) as usize
    } else {
        0
    };
    let plain = |v: f64| {
        if v.abs() >= 10_000.0 {
            Metric::Keys.format(v)
        } else {
            format!("{v:.decimals$}")
        }
    };
    match unit {
        Unit::Percent => format!("{v:.decimals$}%"),
        Unit::Bytes => crate::core::metrics::bytes(v),
        Unit::BytesPerSec => format!("{}/s", crate::core::metrics::bytes(v)),
        Unit::PerSec => format!("{}/s", plain(v)),
        Unit::Count | Unit::Ratio => plain(v),
    }
}

/// The least top of a chart's scale, so an idle chart still has a scale to read.
fn least_top(unit: Unit) -> f64 {
    match unit {
        Unit::Percent => 100.0,
        Unit::Bytes | Unit::BytesPerSec => 1024.0,
        Unit::PerSec | Unit::Count | Unit::Ratio => 1.0,
    }
}

/// The hover read-out at time `x`: the nearest sample's time and every figure of the chart.
fn readout_at(points: &[&Point], series: &[Metric], x: f64) -> Option<String> {
    let nearest = points
        .iter()
        .min_by(|a, b| (a.t - x).abs().total_cmp(&(b.t - x).abs()))?;
    let mut text = clock(nearest.t);
    for m in series {
        let value = nearest
            .value(*m)
            .map_or_else(|| "–".to_owned(), |v| m.format(v));
        let _ = write!(text, "\n{}: {value}", m.label());
    }
    Some(text)
}

/// Local wall-clock time of a Unix-seconds value.
#[allow(clippy::cast_possible_truncation)]
fn clock(t: f64) -> String {
    super::local_time((t * 1000.0).round() as i64, "%H:%M:%S")
}

/// About four labelled lines up the value axis, on round steps (1, 2 or 5 times a power of
/// ten): `egui_plot`'s default labels only lines far enough apart, which on a short chart left
/// just its top and bottom.
#[allow(clippy::needless_pass_by_value)] // egui_plot's spacer signature
fn value_grid(input: GridInput, unit: Unit) -> Vec<GridMark> {
    let (min, max) = input.bounds;
    let span = max - min;
    if !(span.is_finite() && span > 0.0) {
        return Vec::new();
    }
    let raw = span / 4.0;
    // Bytes step in whole KiB, MiB, … (2 MiB, not 1.9 MiB); other units in powers of ten.
    let power = if matches!(unit, Unit::Bytes | Unit::BytesPerSec) && raw >= 1024.0 {
        let scale = 1024f64.powf(raw.log(1024.0).floor());
        scale * 10f64.powf((raw / scale).log10().floor())
    } else {
        10f64.powf(raw.log10().floor())
    };
    // The round step giving closest to four intervals.
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .min_by(|a, b| {
            ((span / a) - 4.0)
                .abs()
                .total_cmp(&((span / b) - 4.0).abs())
        })
        .unwrap_or(power);
    let first = (min / step).ceil();
    (0..50)
        .map(|i| (first + f64::from(i)) * step)
        .take_while(|v| *v <= max)
        // `+ 0.0` turns the -0 of a range starting just below zero into 0 (no "-0 B" label).
        .map(|v| GridMark {
            value: v + 0.0,
            step_size: step,
        })
        .collect()
}

/// Grid lines on round clock times (every 1, 2, 5, 10, 15 or 30 seconds, minutes, hours),
/// instead of the decimal steps that would put lines at 50 or 100 seconds.
#[allow(clippy::needless_pass_by_value)] // egui_plot's spacer signature
fn time_grid(input: GridInput) -> Vec<GridMark> {
    const STEPS: [f64; 15] = [
        1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0,
        21600.0,
    ];
    let (min, max) = input.bounds;
    let Some(first) = STEPS.iter().position(|s| *s >= input.base_step_size * 6.0) else {
        return Vec::new();
    };
    let step = STEPS[first];
    let bigger = |v: f64| {
        STEPS[first..]
            .iter()
            .take(3)
            .rev()
            .find(|s| (v / **s).fract().abs() < 1e-9)
            .copied()
            .unwrap_or(step)
    };
    let mut marks = Vec::new();
    let mut v = (min / step).ceil() * step;
    while v <= max && marks.len() < 1000 {
        marks.push(GridMark {
            value: v,
            step_size: bigger(v),
        });
        v += step;
    }
    marks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_break_where_values_are_unknown() {
        let mut a = Point {
            t: 1.0,
            values: [f64::NAN; Metric::COUNT],
        };
        a.values[Metric::OpsPerSec.index()] = 5.0;
        let mut gap = a;
        gap.t = 2.0;
        gap.values[Metric::OpsPerSec.index()] = f64::NAN;
        let mut b = a;
        b.t = 3.0;
        let runs = segments(&[&a, &gap, &b], Metric::OpsPerSec);
        assert_eq!(runs, vec![vec![[1.0, 5.0]], vec![[3.0, 5.0]]]);
    }

    #[test]
    fn the_read_out_names_every_series_at_the_nearest_sample() {
        let mut a = Point {
            t: 100.0,
            values: [f64::NAN; Metric::COUNT],
        };
        a.values[Metric::OpsPerSec.index()] = 12.0;
        let mut b = a;
        b.t = 101.0;
        b.values[Metric::OpsPerSec.index()] = 40.0;
        let series = [Metric::OpsPerSec, Metric::Clients];
        let text = readout_at(&[&a, &b], &series, 100.8).expect("a read-out");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], clock(101.0), "the time of the nearest sample");
        assert_eq!(
            lines[1],
            format!(
                "{}: {}",
                Metric::OpsPerSec.label(),
                Metric::OpsPerSec.format(40.0)
            )
        );
        assert_eq!(
            lines[2],
            format!("{}: –", Metric::Clients.label()),
            "unknown"
        );
        assert!(readout_at(&[], &series, 1.0).is_none());
    }

    #[test]
    fn decimation_keeps_spikes_and_time_order() {
        let mut points: Vec<[f64; 2]> = (0..3600).map(|i| [f64::from(i), 1.0]).collect();
        points[1234][1] = 99.0;
        points[2000][1] = -5.0;
        let out = decimate(points.clone(), 800);
        assert!(out.len() <= 802, "{}", out.len());
        assert!(out.contains(&[1234.0, 99.0]) && out.contains(&[2000.0, -5.0]));
        assert!(out.windows(2).all(|w| w[0][0] < w[1][0]));
        assert_eq!(decimate(points[..10].to_vec(), 800).len(), 10);
    }

    #[test]
    fn axis_labels_carry_the_unit_and_the_decimals_the_step_needs() {
        assert_eq!(axis_value(Unit::PerSec, 0.4, 0.2), "0.4/s");
        assert_eq!(axis_value(Unit::PerSec, 20.0, 10.0), "20/s");
        assert_eq!(axis_value(Unit::Count, 0.05, 0.05), "0.05");
        assert_eq!(axis_value(Unit::BytesPerSec, 2048.0, 1024.0), "2.0 KiB/s");
        assert_eq!(axis_value(Unit::Percent, 50.0, 25.0), "50%");
        let mut p = Point {
            t: 10.0,
            values: [f64::NAN; Metric::COUNT],
        };
        p.values[Metric::OpsPerSec.index()] = 12.0;
        let text =
            readout_at(&[&p], &[Metric::OpsPerSec, Metric::GetsPerSec], 11.0).expect("a read-out");
        assert!(text.contains("Ops/sec: 12/s"), "{text}");
        assert!(text.ends_with("–"), "an unknown figure says so: {text}");
    }

    #[test]
    fn the_value_axis_has_a_few_round_steps() {
        const MIB: f64 = 1024.0 * 1024.0;
        let grid = |min: f64, max: f64, unit: Unit| {
            value_grid(
                GridInput {
                    bounds: (min, max),
                    base_step_size: 1.0,
                },
                unit,
            )
        };
        let marks = grid(0.0, 9.5 * MIB, Unit::Bytes);
        assert!((3..=6).contains(&marks.len()), "{marks:?}");
        // Bytes step in whole MiB: 0, 2 MiB, 4 MiB, … (not 1.9 MiB, 3.8 MiB).
        assert!((marks[0].step_size - 2.0 * MIB).abs() < 1.0, "{marks:?}");
        assert_eq!(
            axis_value(Unit::Bytes, marks[1].value, marks[1].step_size),
            "2.0 MiB"
        );
        let values: Vec<f64> = grid(0.0, 1.0, Unit::Count)
            .iter()
            .map(|m| m.value)
            .collect();
        assert_eq!(values.len(), 6, "{values:?}");
        assert!((values[1] - 0.2).abs() < 1e-9);
        assert!(grid(1.0, 1.0, Unit::Count).is_empty());
        // A range starting a hair below zero labels its first line 0, never -0.
        let marks = grid(-0.01, 3.0, Unit::PerSec);
        assert!(marks[0].value.is_sign_positive(), "{marks:?}");
        assert_eq!(axis_value(Unit::PerSec, -0.0, 1.0), "0/s");
        assert_eq!(axis_value(Unit::Bytes, -1e-12, 1024.0), "0 B");
    }

    #[test]
    fn grid_lines_fall_on_round_clock_times() {
        let marks = time_grid(GridInput {
            bounds: (1000.0, 1300.0),
            base_step_size: 5.0,
        });
        assert!(marks.iter().all(|m| m.value % 30.0 == 0.0), "{marks:?}");
        assert_eq!(marks.first().map(|m| m.value), Some(1020.0));
        assert!(marks.iter().any(|m| m.step_size > 30.0));
    }
}
