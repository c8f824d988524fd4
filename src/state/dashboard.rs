//! The metrics dashboard of each connection: its sampler's life, the history it fills, and
//! the visible part as CSV.
//!
//! A sampler runs only while its dashboard shows something (the UI calls
//! [`AppState::sync_samplers`] every frame); closing or collapsing the dashboard stops it, and
//! the history stays for the next time it opens.

use std::time::Duration;

use super::{AppState, Pending, Session, SessionStatus};
use crate::core::metrics::{History, Metric, Point, Sample, Window, visible};
use crate::service::{CommandKind, EventKind};

/// Default time between samples.
pub const DEFAULT_INTERVAL_SECS: f64 = 1.0;
/// The interval range the dashboard accepts, seconds.
pub const INTERVAL_RANGE: std::ops::RangeInclusive<f64> = 0.1..=3600.0;

/// One connection's dashboard.
#[derive(Debug, Clone)]
pub struct Dashboard {
    /// The dashboard window is open (its sampler runs unless it is collapsed).
    pub open: bool,
    /// A sampler runs for it.
    pub(super) sampling: bool,
    /// Seconds between samples.
    pub interval_secs: f64,
    /// The interval as typed.
    pub interval_text: String,
    /// Why the typed interval was refused.
    pub interval_error: Option<String>,
    /// Everything sampled, at least the last hour.
    pub history: History,
    /// How much of it the charts show.
    pub window: Window,
    /// A pool's server to chart alone; `None` for the whole connection.
    pub server: Option<String>,
    /// The newest raw sample (keys per database, per-server figures).
    pub latest: Option<Sample>,
    /// The last sampling error, cleared by the next good sample.
    pub error: Option<String>,
    /// How long the last sample took.
    pub took: Option<Duration>,
    /// The time between samples in effect (longer than asked when samples are slow).
    pub effective: Option<Duration>,
    /// The window is collapsed to its title: nothing shows the figures, so sampling pauses.
    pub collapsed: bool,
}

impl Default for Dashboard {
    fn default() -> Self {
        Self {
            open: false,
            sampling: false,
            interval_secs: DEFAULT_INTERVAL_SECS,
            interval_text: DEFAULT_INTERVAL_SECS.to_string(),
            interval_error: None,
            history: History::new(DEFAULT_INTERVAL_SECS),
            window: Window::default(),
            server: None,
            latest: None,
            error: None,
            took: None,
            effective: None,
            collapsed: false,
        }
    }
}

impl Dashboard {
    /// Whether a sampler is running for it.
    #[must_use]
    pub fn sampling(&self) -> bool {
        self.sampling
    }

    /// The series the charts draw (the chosen server's, or the whole connection's).
    #[must_use]
    pub fn series(&self) -> Option<&std::collections::VecDeque<Point>> {
        self.history.series(self.server.as_deref())
    }

    /// Which metrics have a value somewhere in the charted history, by [`Metric::index`]: one
    /// pass over the ring, made once a frame rather than once a chart and series.
    #[must_use]
    pub fn present(&self) -> [bool; Metric::COUNT] {
        let mut present = [false; Metric::COUNT];
        for p in self.series().into_iter().flatten() {
            for (slot, v) in present.iter_mut().zip(p.values) {
                *slot |= v.is_finite();
            }
        }
        present
    }

    /// The points in the chosen window (for export: the CSV is written off the UI thread).
    #[must_use]
    pub fn visible_points(&self) -> Vec<Point> {
        self.series()
            .map(|series| visible(series, self.window).copied().collect())
            .unwrap_or_default()
    }
}

/// One metric of every open dashboard on one chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compare {
    /// The metric drawn.
    pub metric: Metric,
    /// How much history is drawn.
    pub window: Window,
}

impl Default for Compare {
    fn default() -> Self {
        Self {
            metric: Metric::HitRate,
            window: Window::default(),
        }
    }
}

impl AppState {
    /// The connections whose dashboards are open, for the comparison chart.
    #[must_use]
    pub fn compared(&self) -> Vec<(&str, &Dashboard)> {
        self.sessions
            .iter()
            .filter(|s| s.dashboard.open)
            .map(|s| (s.profile.name.as_str(), &s.dashboard))
            .collect()
    }
}

impl Session {
    /// Closes the dashboard and stops its sampler (the history stays).
    pub(super) fn close_dashboard(&mut self) {
        self.dashboard.open = false;
        self.stop_sampler();
    }

    fn stop_sampler(&mut self) {
        if self.dashboard.sampling {
            self.dashboard.sampling = false;
            self.stop(Pending::Metrics, CommandKind::StopMetrics);
        }
    }

    /// Starts the sampler when the dashboard shows figures and none runs (after opening, a
    /// reconnect or an interval change), and stops it when nothing shows them.
    pub(super) fn sync_sampler(&mut self) {
        let wanted = self.dashboard.open
            && !self.dashboard.collapsed
            && self.status == SessionStatus::Connected;
        match (wanted, self.dashboard.sampling) {
            (true, false) => {
                self.dashboard.sampling = true;
                let interval = Duration::from_secs_f64(self.dashboard.interval_secs);
                self.request(Pending::Metrics, CommandKind::StartMetrics { interval });
            }
            (false, true) => self.stop_sampler(),
            _ => {}
        }
    }

    /// Applies the typed interval: a number of seconds (`0.5`, `2`) or a duration (`500ms`,
    /// `1m`). A refused text keeps the old interval.
    pub(super) fn apply_metrics_interval(&mut self) {
        let d = &mut self.dashboard;
        let text = d.interval_text.trim();
        let secs = text.parse::<f64>().ok().or_else(|| {
            humantime::parse_duration(text)
                .ok()
                .map(|d| d.as_secs_f64())
        });
        match secs {
            Some(secs) if INTERVAL_RANGE.contains(&secs) => {
                d.interval_error = None;
                if (secs - d.interval_secs).abs() < f64::EPSILON {
                    return;
                }
                d.interval_secs = secs;
                d.history.set_interval(secs);
                // Restarted with the new interval.
                self.stop_sampler();
                self.sync_sampler();
            }
            _ => {
                d.interval_error = Some(format!(
                    "`{text}` is not an interval: give seconds between {} and {} (or `500ms`, `1m`)",
                    INTERVAL_RANGE.start(),
                    INTERVAL_RANGE.end()
                ));
            }
        }
    }

    /// A sample (or a failed one) of the running sampler.
    pub(super) fn metrics_event(&mut self, kind: EventKind) {
        let d = &mut self.dashboard;
        match kind {
            EventKind::Metrics {
                sample,
                derived,
                took,
                next_in,
            } => {
                d.history.push(derived);
                d.latest = Some(sample);
                d.error = None;
                d.took = Some(took);
                d.effective = Some(next_in);
            }
            EventKind::MetricsFailed(e) => d.error = Some(e.to_string()),
            _ => {}
        }
    }
}
