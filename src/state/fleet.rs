//! The fleet view: every saved profile's figures on one screen, read by the service's
//! sampler while the view is shown (stopped when it is not), sorted, filtered, coloured by
//! thresholds and summed by group. Read-only by nature: it only reads figures.

use std::time::{Duration, Instant};

use super::{AppState, Level};
use crate::backend::fleet::{FleetTarget, Limits};
use crate::core::fleet::{
    Column, Filter, FleetRow, GroupRow, Reading, Severity, Thresholds, alerts, by_group, compare,
};
use crate::service::{Command, FleetCommand, FleetEvent, ReqId};

/// Default time between rounds.
pub const DEFAULT_INTERVAL_SECS: f64 = 5.0;
/// The intervals accepted, seconds.
pub const INTERVAL_RANGE: std::ops::RangeInclusive<f64> = 1.0..=3600.0;

/// What the running sampler was started for: a change restarts it.
type Fingerprint = Vec<(
    String,
    crate::config::connection::ConnectionSpec,
    Option<crate::config::connection::SshSpec>,
)>;

/// The fleet view.
#[derive(Debug)]
pub struct Fleet {
    /// The view is shown (in place of the connection's).
    pub open: bool,
    /// One row per saved profile, in the profile list's order.
    pub rows: Vec<FleetRow>,
    /// The column sorted by, and whether descending.
    pub sort: (Column, bool),
    /// The filter as typed.
    pub filter_text: String,
    filter: Filter,
    /// Show only rows with an alert.
    pub only_alerts: bool,
    /// One line per group instead of per profile.
    pub by_group: bool,
    /// What colours a row.
    pub thresholds: Thresholds,
    /// Seconds between rounds.
    pub interval_secs: f64,
    /// The interval as typed, and why it was refused.
    pub interval_text: String,
    /// Why the typed interval was refused.
    pub interval_error: Option<String>,
    /// Each profile's time limit and how many are read at once.
    pub limits: Limits,
    /// The running sampler's id, and what it reads.
    running: Option<(ReqId, Fingerprint)>,
    /// When the current round started (`None` between rounds).
    pub round_started: Option<Instant>,
    /// Readings of the current round so far.
    pub round_done: usize,
    /// How long the last whole round took.
    pub last_round: Option<Duration>,
    /// Rows in the order shown (indexes into `rows`), made again when something changes.
    order: Vec<usize>,
    order_stale: bool,
}

impl Default for Fleet {
    fn default() -> Self {
        Self {
            open: false,
            rows: Vec::new(),
            sort: (Column::Status, false),
            filter_text: String::new(),
            filter: Filter::default(),
            only_alerts: false,
            by_group: false,
            thresholds: Thresholds::default(),
            interval_secs: DEFAULT_INTERVAL_SECS,
            interval_text: DEFAULT_INTERVAL_SECS.to_string(),
            interval_error: None,
            limits: Limits::default(),
            running: None,
            round_started: None,
            round_done: 0,
            last_round: None,
            order: Vec::new(),
            order_stale: true,
        }
    }
}

impl Fleet {
    /// Whether the sampler runs.
    #[must_use]
    pub fn sampling(&self) -> bool {
        self.running.is_some()
    }

    /// The rows shown, in order.
    pub fn shown(&mut self) -> impl Iterator<Item = &FleetRow> {
        self.refresh_order();
        self.order.iter().filter_map(|&i| self.rows.get(i))
    }

    /// The indexes into [`Self::rows`] of the rows shown, in order.
    pub fn order(&mut self) -> &[usize] {
        self.refresh_order();
        &self.order
    }

    fn refresh_order(&mut self) {
        if self.order_stale {
            self.order_stale = false;
            let mut order: Vec<usize> = (0..self.rows.len())
                .filter(|&i| {
                    let row = &self.rows[i];
                    self.filter.matches(row)
                        && (!self.only_alerts || !alerts(row, &self.thresholds).is_empty())
                })
                .collect();
            let (column, descending) = self.sort;
            order.sort_by(|&a, &b| compare(column, &self.rows[a], &self.rows[b], descending));
            self.order = order;
        }
    }

    /// The rows shown, summed by group.
    pub fn groups(&mut self) -> Vec<GroupRow> {
        by_group(self.shown())
    }

    /// The worst alert of a row, if any.
    #[must_use]
    pub fn severity(&self, row: &FleetRow) -> Option<Severity> {
        alerts(row, &self.thresholds)
            .iter()
            .map(crate::core::fleet::Alert::severity)
            .max()
    }

    /// Sorts by `column`; the same column again turns the order round.
    pub fn sort_by(&mut self, column: Column) {
        self.sort = if self.sort.0 == column {
            (column, !self.sort.1)
        } else {
            (column, false)
        };
        self.order_stale = true;
    }

    /// The filter was typed.
    pub fn set_filter(&mut self, text: String) {
        self.filter = Filter::parse(&text);
        self.filter_text = text;
        self.order_stale = true;
    }

    /// Thresholds or the alerts-only switch changed.
    pub fn changed(&mut self) {
        self.order_stale = true;
    }

    fn reading(&mut self, profile: &str, reading: Reading) {
        if let Some(row) = self.rows.iter_mut().find(|r| r.profile == profile) {
            row.update(reading);
            self.round_done += 1;
            self.order_stale = true;
        }
    }
}

impl AppState {
    /// Carries out one of the fleet view's actions (others are ignored).
    pub(super) fn handle_fleet(&mut self, action: super::Action) {
        use super::Action;
        match action {
            Action::ToggleFleet => {
                if self.fleet.open {
                    self.close_fleet();
                } else {
                    self.open_fleet();
                }
            }
            Action::CloseFleet => self.close_fleet(),
            Action::SortFleet(column) => self.fleet.sort_by(column),
            Action::FilterFleet(text) => self.fleet.set_filter(text),
            Action::ApplyFleetInterval => self.apply_fleet_interval(),
            Action::FleetViewChanged => self.fleet.changed(),
            Action::OpenFromFleet(profile) => self.open_from_fleet(&profile),
            _ => {}
        }
    }

    /// Shows the fleet view (its sampler starts with the next [`Self::sync_fleet`]).
    pub fn open_fleet(&mut self) {
        self.fleet.open = true;
    }

    /// Hides it; the sampler stops, the rows stay for the next time.
    pub fn close_fleet(&mut self) {
        self.fleet.open = false;
    }

    /// Takes the typed interval (and the time limit and concurrency set beside it); a refused
    /// interval keeps the old. The sampler starts again at the new pace.
    pub fn apply_fleet_interval(&mut self) {
        let text = self.fleet.interval_text.trim().to_owned();
        match text.parse::<f64>() {
            Ok(secs) if INTERVAL_RANGE.contains(&secs) => {
                self.fleet.interval_secs = secs;
                self.fleet.interval_error = None;
            }
            _ => {
                self.fleet.interval_error = Some(format!(
                    "give seconds from {} to {}",
                    INTERVAL_RANGE.start(),
                    INTERVAL_RANGE.end()
                ));
            }
        }
        // Started again, at the new pace and limits, by the next sync.
        self.stop_fleet();
    }

    /// A row was clicked: its connection's tab is shown (connected first if need be) with
    /// its dashboard open.
    pub fn open_from_fleet(&mut self, profile: &str) {
        self.fleet.open = false;
        if let Some(i) = self.sessions.iter().position(|s| s.profile.name == profile) {
            self.active = i;
            self.sessions[i].dashboard.open = true;
            return;
        }
        self.dashboard_on_connect = Some(profile.to_owned());
        self.connect_profile(profile);
    }

    fn stop_fleet(&mut self) {
        if self.fleet.running.take().is_some() {
            let req = self.ids.req();
            self.outbox.push(Command::Fleet {
                req,
                kind: FleetCommand::Stop,
            });
        }
        self.fleet.round_started = None;
    }

    /// Runs the sampler exactly while the view is shown, for the profiles saved now: called
    /// every frame, it starts, restarts (the profiles changed) or stops it.
    pub fn sync_fleet(&mut self) {
        if !self.fleet.open {
            self.stop_fleet();
            return;
        }
        // Compared in place each frame; cloned only when the sampler starts again.
        let profiles = self.profiles.profiles();
        let same = self.fleet.running.as_ref().is_some_and(|(_, f)| {
            f.len() == profiles.len()
                && f.iter().zip(profiles).all(|((name, spec, ssh), p)| {
                    *name == p.name && *spec == p.connection && *ssh == p.ssh
                })
        });
        if same {
            self.sync_fleet_rows();
            return;
        }
        self.sync_fleet_rows();
        let targets = self
            .profiles
            .profiles()
            .iter()
            .map(|p| FleetTarget {
                profile: p.clone(),
                password: self.session_passwords.get(&p.name).cloned(),
                ssh: self.ssh_secrets.get(&p.name).cloned().unwrap_or_default(),
            })
            .collect();
        let req = self.ids.req();
        self.outbox.push(Command::Fleet {
            req,
            kind: FleetCommand::Start {
                targets,
                interval: Duration::from_secs_f64(self.fleet.interval_secs),
                limits: self.fleet.limits,
                places: self.secret_places.clone(),
            },
        });
        let fingerprint = self
            .profiles
            .profiles()
            .iter()
            .map(|p| (p.name.clone(), p.connection.clone(), p.ssh.clone()))
            .collect();
        self.fleet.running = Some((req, fingerprint));
    }

    /// One row per saved profile, in the list's order: new ones added, gone ones dropped,
    /// each row's group and kind as the profile says now.
    fn sync_fleet_rows(&mut self) {
        let profiles = self.profiles.profiles();
        let same = profiles.len() == self.fleet.rows.len()
            && profiles.iter().zip(&self.fleet.rows).all(|(p, r)| {
                p.name == r.profile && p.group == r.group && p.connection.kind_label() == r.kind
            });
        if same {
            return;
        }
        let mut old = std::mem::take(&mut self.fleet.rows);
        self.fleet.rows = profiles
            .iter()
            .map(|p| {
                let kind = p.connection.kind_label();
                match old.iter().position(|r| r.profile == p.name) {
                    Some(i) if old[i].kind == kind => {
                        let mut row = old.swap_remove(i);
                        row.group.clone_from(&p.group);
                        row
                    }
                    _ => FleetRow::new(
                        &p.name,
                        p.group.as_deref(),
                        kind,
                        &p.connection.display_url(),
                    ),
                }
            })
            .collect();
        self.fleet.order_stale = true;
    }

    /// News of the sampler; a stopped or replaced sampler's late news is dropped.
    pub(super) fn apply_fleet(&mut self, req: ReqId, kind: FleetEvent) {
        if self.fleet.running.as_ref().map(|(r, _)| *r) != Some(req) {
            return;
        }
        match kind {
            FleetEvent::RoundStarted => {
                self.fleet.round_started = Some(Instant::now());
                self.fleet.round_done = 0;
            }
            FleetEvent::Reading { profile, reading } => self.fleet.reading(&profile, reading),
            FleetEvent::RoundDone { took } => {
                self.fleet.round_started = None;
                self.fleet.last_round = Some(took);
                if took > Duration::from_secs_f64(self.fleet.interval_secs) {
                    self.notify(
                        Level::Info,
                        format!(
                            "The fleet's last round took {:.1} s, longer than its interval",
                            took.as_secs_f64()
                        ),
                    );
                }
            }
        }
    }
}
