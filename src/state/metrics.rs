//! The metrics dashboard of each connection: its sampler's life, the history it fills, and
//! the visible part as CSV.
//!
//! A sampler runs only while its dashboard is open (the UI calls
//! [`AppState::sync_samplers`] every frame); closing the dashboard stops it, and the history
//! stays for the next time it opens.

use std::time::Duration;

use super::{AppState, SessionStatus};
use crate::core::metrics::{History, Metric, Point, Sample, Window, visible};
use crate::service::{CommandKind, EventKind, ReqId};

/// Default time between samples.
pub const DEFAULT_INTERVAL_SECS: f64 = 1.0;
/// The interval range the dashboard accepts, seconds.
pub const INTERVAL_RANGE: std::ops::RangeInclusive<f64> = 0.1..=3600.0;

/// One connection's dashboard.
#[derive(Debug, Clone)]
pub struct Dashboard {
    /// The dashboard window is open (its sampler runs unless it is collapsed).
    pub open: bool,
    /// The request id of the running sampler.
    sampler: Option<ReqId>,
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
            sampler: None,
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
        self.sampler.is_some()
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

    /// Opens the dashboard of session `index`; its sampler starts on the next sync.
    pub fn open_dashboard(&mut self, index: usize) {
        if let Some(s) = self.sessions.get_mut(index) {
            s.dashboard.open = true;
        }
        self.sync_samplers();
    }

    /// Closes the dashboard of session `index` and stops its sampler (the history stays).
    pub fn close_dashboard(&mut self, index: usize) {
        let Some(s) = self.sessions.get_mut(index) else {
            return;
        };
        s.dashboard.open = false;
        if s.dashboard.sampler.take().is_some() {
            let conn = s.conn;
            self.send(conn, 0, CommandKind::StopMetrics);
        }
    }

    /// Starts the sampler of every open dashboard whose connection has none (after opening,
    /// a reconnect or an interval change), and stops those nothing shows.
    pub fn sync_samplers(&mut self) {
        let mut starts = Vec::new();
        let mut stops = Vec::new();
        for (i, s) in self.sessions.iter_mut().enumerate() {
            let wanted =
                s.dashboard.open && !s.dashboard.collapsed && s.status == SessionStatus::Connected;
            match (wanted, s.dashboard.sampler.is_some()) {
                (true, false) => starts.push(i),
                (false, true) => {
                    s.dashboard.sampler = None;
                    stops.push(s.conn);
                }
                _ => {}
            }
        }
        for conn in stops {
            self.send(conn, 0, CommandKind::StopMetrics);
        }
        for i in starts {
            let req = self.next();
            let s = &mut self.sessions[i];
            s.dashboard.sampler = Some(req);
            let interval = Duration::from_secs_f64(s.dashboard.interval_secs);
            let conn = s.conn;
            self.send(conn, req, CommandKind::StartMetrics { interval });
        }
    }

    /// Applies the typed interval of session `index`'s dashboard: a number of seconds
    /// (`0.5`, `2`) or a duration (`500ms`, `1m`). A refused text keeps the old interval.
    pub fn apply_metrics_interval(&mut self, index: usize) {
        let Some(s) = self.sessions.get_mut(index) else {
            return;
        };
        let d = &mut s.dashboard;
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
                // Restarted with the new interval on the next sync.
                if d.sampler.take().is_some() {
                    let conn = s.conn;
                    self.send(conn, 0, CommandKind::StopMetrics);
                }
                self.sync_samplers();
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

    /// Folds a metrics event into its dashboard; gives the event back when it is not one.
    pub(super) fn apply_metrics_event(
        &mut self,
        index: usize,
        req: ReqId,
        kind: EventKind,
    ) -> Option<EventKind> {
        let Some(s) = self.sessions.get_mut(index) else {
            return Some(kind);
        };
        let d = &mut s.dashboard;
        match kind {
            EventKind::Metrics {
                sample,
                derived,
                took,
                next_in,
            } => {
                // Samples of a sampler that was stopped or replaced are late: drop them.
                if d.sampler == Some(req) {
                    d.history.push(derived);
                    d.latest = Some(sample);
                    d.error = None;
                    d.took = Some(took);
                    d.effective = Some(next_in);
                }
                None
            }
            EventKind::MetricsFailed(e) => {
                if d.sampler == Some(req) {
                    d.error = Some(e.to_string());
                }
                None
            }
            EventKind::Connected { .. } => {
                // A reconnect (another database) replaced the connection and its sampler.
                d.sampler = None;
                Some(kind)
            }
            other => Some(other),
        }
    }
}

/// Writes exported CSV to `path` whole or not at all (temp file, then rename).
///
/// # Errors
/// The file cannot be written; the message names it.
pub fn write_csv(path: &std::path::Path, csv: &str) -> Result<(), String> {
    let tmp = path.with_extension("csv-partial");
    let fail = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
    std::fs::write(&tmp, csv).map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        fail(e)
    })
}

#[cfg(test)]
mod tests {
    use super::write_csv;

    #[test]
    fn csv_is_written_whole_and_a_bad_path_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("m.csv");
        write_csv(&path, "time\n").expect("write");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "time\n");
        assert!(!dir.path().join("m.csv-partial").exists());
        let err = write_csv(&dir.path().join("no/such/dir/m.csv"), "x").expect_err("bad");
        assert!(err.contains("no/such/dir/m.csv"), "{err}");
    }
}
