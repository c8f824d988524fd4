//! Many caches at once: one row of figures per profile (the fleet view and the exporter read
//! the same rows), what colours a row, how rows are sorted, filtered and summed by group.
//!
//! A row is made from what the sampler read ([`Reading`]): the raw figures of each server,
//! or why none could be read. Rates and the hit rate are over the interval since the row's
//! previous good reading, computed by [`crate::core::metrics::derive`] as the dashboards do.

use std::cmp::Ordering;

use super::metrics::{Metric, Point, Sample, derive};

/// What one sampling of a profile gave.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// When it was taken, Unix milliseconds.
    pub at_ms: u64,
    /// How long connecting and reading took, milliseconds.
    pub took_ms: u64,
    /// Each server's figures, or why the profile could not be read at all.
    pub result: Result<Sample, String>,
}

/// Whether a profile answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Health {
    /// It did not answer (or not every server of it did).
    Down,
    /// Some servers of a pool or cluster answered, not all.
    Partial,
    /// Not read yet.
    Waiting,
    /// It answered.
    Up,
}

impl Health {
    /// For people.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Down => "down",
            Self::Partial => "partly down",
            Self::Waiting => "waiting",
            Self::Up => "up",
        }
    }
}

/// The figures of a row; `None` where the cache has no such figure or it is not known yet.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Figures {
    /// Hits over hits and misses in the last interval, percent.
    pub hit_rate: Option<f64>,
    /// Hits per second (to sum a group's hit rate).
    pub hits_per_sec: Option<f64>,
    /// Misses per second.
    pub misses_per_sec: Option<f64>,
    /// Memory used by data, bytes.
    pub memory_used: Option<f64>,
    /// The memory limit, bytes.
    pub memory_max: Option<f64>,
    /// Keys evicted per second.
    pub evictions_per_sec: Option<f64>,
    /// Commands per second.
    pub ops_per_sec: Option<f64>,
    /// Connected clients.
    pub clients: Option<f64>,
    /// Keys or entries held.
    pub keys: Option<f64>,
    /// The largest replication lag of its servers, seconds.
    pub repl_lag_secs: Option<f64>,
}

impl Figures {
    fn from_point(point: &Point) -> Self {
        Self {
            hit_rate: point.value(Metric::HitRate),
            hits_per_sec: point.value(Metric::HitsPerSec),
            misses_per_sec: point.value(Metric::MissesPerSec),
            memory_used: point.value(Metric::UsedMemory),
            memory_max: point.value(Metric::MaxMemory),
            evictions_per_sec: point.value(Metric::EvictedPerSec),
            ops_per_sec: point.value(Metric::OpsPerSec),
            clients: point.value(Metric::Clients),
            keys: point.value(Metric::Keys),
            repl_lag_secs: None,
        }
    }

    /// Memory used as a percent of the limit, when there is a limit.
    #[must_use]
    pub fn memory_pct(&self) -> Option<f64> {
        match (self.memory_used, self.memory_max) {
            (Some(used), Some(max)) if max > 0.0 => Some(used * 100.0 / max),
            _ => None,
        }
    }
}

/// One server of a profile as last read (the exporter's label set).
#[derive(Debug, Clone, PartialEq)]
pub struct ServerFigures {
    /// `host:port`, a socket path, or the store's address.
    pub server: String,
    /// The server's raw figures (counters as the server counts them).
    pub raw: super::metrics::RawStats,
    /// Its figures over the last interval.
    pub figures: Figures,
}

/// One profile in the fleet.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetRow {
    /// The profile's name.
    pub profile: String,
    /// The group it is listed under.
    pub group: Option<String>,
    /// What kind of cache (`Redis Cluster`, `Memcached pool`).
    pub kind: String,
    /// Where it is, as a URL without secrets.
    pub address: String,
    /// Whether it answered the last time.
    pub health: Health,
    /// The servers' versions (one, or each distinct one).
    pub version: Option<String>,
    /// The replication role, or the topology (`cluster of 3 primaries`).
    pub role: Option<String>,
    /// The figures summed over its servers.
    pub figures: Figures,
    /// Each server as last read.
    pub servers: Vec<ServerFigures>,
    /// The newest error and when it happened (Unix ms); kept after the profile recovers.
    pub last_error: Option<(String, u64)>,
    /// When it was last read (Unix ms).
    pub sampled_at_ms: Option<u64>,
    /// How long the last reading took.
    pub took_ms: Option<u64>,
    /// The last good sample (the next interval's start).
    previous: Option<Sample>,
}

impl FleetRow {
    /// A row not read yet.
    #[must_use]
    pub fn new(profile: &str, group: Option<&str>, kind: &str, address: &str) -> Self {
        Self {
            profile: profile.to_owned(),
            group: group.map(str::to_owned),
            kind: kind.to_owned(),
            address: address.to_owned(),
            health: Health::Waiting,
            version: None,
            role: None,
            figures: Figures::default(),
            servers: Vec::new(),
            last_error: None,
            sampled_at_ms: None,
            took_ms: None,
            previous: None,
        }
    }

    /// Takes a new reading in: figures over the interval since the previous good one.
    pub fn update(&mut self, reading: Reading) {
        self.sampled_at_ms = Some(reading.at_ms);
        self.took_ms = Some(reading.took_ms);
        let sample = match reading.result {
            Ok(sample) => sample,
            Err(error) => {
                self.health = Health::Down;
                // The servers known from before stay listed, each down.
                for server in &mut self.servers {
                    server.raw = super::metrics::RawStats {
                        error: Some(error.clone()),
                        ..super::metrics::RawStats::default()
                    };
                    server.figures = Figures::default();
                }
                self.last_error = Some((error, reading.at_ms));
                self.figures = Figures::default();
                // The interval starts again at the next good reading.
                self.previous = None;
                return;
            }
        };
        let derived = derive(self.previous.as_ref(), &sample);
        let failing = sample
            .servers
            .iter()
            .filter(|(_, s)| s.error.is_some())
            .count();
        self.health = match failing {
            0 => Health::Up,
            n if n == sample.servers.len() => Health::Down,
            _ => Health::Partial,
        };
        if let Some(error) = sample
            .servers
            .iter()
            .find_map(|(name, s)| s.error.as_ref().map(|e| format!("{name}: {e}")))
        {
            self.last_error = Some((error, reading.at_ms));
        }
        let lag = sample
            .servers
            .iter()
            .filter_map(|(_, s)| s.repl_lag_secs)
            .reduce(f64::max);
        self.figures = Figures {
            repl_lag_secs: lag,
            ..Figures::from_point(&derived.total)
        };
        self.servers = sample
            .servers
            .iter()
            .enumerate()
            .map(|(i, (name, raw))| {
                let point = derived.servers.get(i).map_or(&derived.total, |(_, p)| p);
                ServerFigures {
                    server: name.clone(),
                    raw: raw.clone(),
                    figures: Figures {
                        repl_lag_secs: raw.repl_lag_secs,
                        ..Figures::from_point(point)
                    },
                }
            })
            .collect();
        self.version = distinct(sample.servers.iter().map(|(_, s)| s.version.as_deref()));
        self.role = role(&self.kind, &sample);
        self.previous = Some(sample);
    }

    /// The newest error, without its time.
    #[must_use]
    pub fn error_text(&self) -> Option<&str> {
        self.last_error.as_ref().map(|(e, _)| e.as_str())
    }
}

/// Each distinct value, in the order met, joined with `, `.
fn distinct<'a>(values: impl Iterator<Item = Option<&'a str>>) -> Option<String> {
    let mut seen: Vec<&str> = Vec::new();
    for v in values.flatten() {
        if !seen.contains(&v) {
            seen.push(v);
        }
    }
    (!seen.is_empty()).then(|| seen.join(", "))
}

/// A one-server cache's replication role; a cluster or pool says how many servers it has.
fn role(kind: &str, sample: &Sample) -> Option<String> {
    let n = sample.servers.len();
    if kind.contains("Cluster") {
        return Some(format!(
            "cluster of {n} primar{}",
            if n == 1 { "y" } else { "ies" }
        ));
    }
    if n > 1 {
        return Some(format!("pool of {n}"));
    }
    let role = sample.servers.first()?.1.role.as_deref()?;
    Some(
        match role {
            "master" => "primary",
            "slave" => "replica",
            other => other,
        }
        .to_owned(),
    )
}

/// The limits that colour a row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Memory used over this percent of the limit.
    pub memory_pct: f64,
    /// Any eviction in the interval.
    pub evictions: bool,
    /// Hit rate under this percent (`None`: not checked).
    pub min_hit_rate: Option<f64>,
    /// Not answering.
    pub unreachable: bool,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            memory_pct: 90.0,
            evictions: true,
            min_hit_rate: None,
            unreachable: true,
        }
    }
}

/// How bad an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Worth a look.
    Warning,
    /// Something is wrong now.
    Critical,
}

/// Why a row is coloured.
#[derive(Debug, Clone, PartialEq)]
pub enum Alert {
    /// It does not answer (or some of its servers do not).
    Unreachable,
    /// Memory over the threshold: the percent used.
    Memory(f64),
    /// Keys evicted: per second.
    Evicting(f64),
    /// Hit rate under the threshold: the hit rate.
    LowHitRate(f64),
}

impl Alert {
    /// How bad it is.
    #[must_use]
    pub fn severity(&self) -> Severity {
        match self {
            Self::Unreachable | Self::Memory(_) => Severity::Critical,
            Self::Evicting(_) | Self::LowHitRate(_) => Severity::Warning,
        }
    }

    /// For people.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::Unreachable => "unreachable".to_owned(),
            Self::Memory(pct) => format!("memory at {pct:.0} % of the limit"),
            Self::Evicting(rate) => format!("evicting {}", Metric::EvictedPerSec.format(*rate)),
            Self::LowHitRate(rate) => format!("hit rate {rate:.1} %"),
        }
    }
}

/// What a row's figures break.
#[must_use]
pub fn alerts(row: &FleetRow, limits: &Thresholds) -> Vec<Alert> {
    let mut out = Vec::new();
    if limits.unreachable && matches!(row.health, Health::Down | Health::Partial) {
        out.push(Alert::Unreachable);
    }
    let f = &row.figures;
    if let Some(pct) = f.memory_pct().filter(|pct| *pct >= limits.memory_pct) {
        out.push(Alert::Memory(pct));
    }
    if let Some(rate) = f.evictions_per_sec.filter(|r| limits.evictions && *r > 0.0) {
        out.push(Alert::Evicting(rate));
    }
    if let (Some(min), Some(rate)) = (limits.min_hit_rate, f.hit_rate)
        && rate < min
    {
        out.push(Alert::LowHitRate(rate));
    }
    out
}

/// A column of the fleet table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    /// The profile's name.
    Profile,
    /// Its group.
    Group,
    /// Kind of cache.
    Kind,
    /// Up or down.
    Status,
    /// Server version.
    Version,
    /// Replication role or topology.
    Role,
    /// Hit rate over the interval.
    HitRate,
    /// Memory used (and the limit).
    Memory,
    /// Evictions per second.
    Evictions,
    /// Commands per second.
    Ops,
    /// Connected clients.
    Clients,
    /// Keys held.
    Keys,
    /// Replication lag.
    ReplLag,
    /// The newest error.
    LastError,
}

impl Column {
    /// Every column, in table order.
    pub const ALL: [Self; 14] = [
        Self::Profile,
        Self::Group,
        Self::Kind,
        Self::Status,
        Self::Version,
        Self::Role,
        Self::HitRate,
        Self::Memory,
        Self::Evictions,
        Self::Ops,
        Self::Clients,
        Self::Keys,
        Self::ReplLag,
        Self::LastError,
    ];

    /// The header.
    #[must_use]
    pub fn title(self) -> &'static str {
        match self {
            Self::Profile => "Profile",
            Self::Group => "Group",
            Self::Kind => "Kind",
            Self::Status => "Status",
            Self::Version => "Version",
            Self::Role => "Role",
            Self::HitRate => "Hit rate",
            Self::Memory => "Memory",
            Self::Evictions => "Evictions/s",
            Self::Ops => "Ops/s",
            Self::Clients => "Clients",
            Self::Keys => "Keys",
            Self::ReplLag => "Repl. lag",
            Self::LastError => "Last error",
        }
    }

    /// The name a filter term uses (`status:down`, `mem>80`).
    #[must_use]
    pub fn filter_name(self) -> &'static str {
        match self {
            Self::Profile => "profile",
            Self::Group => "group",
            Self::Kind => "kind",
            Self::Status => "status",
            Self::Version => "version",
            Self::Role => "role",
            Self::HitRate => "hit",
            Self::Memory => "mem",
            Self::Evictions => "evictions",
            Self::Ops => "ops",
            Self::Clients => "clients",
            Self::Keys => "keys",
            Self::ReplLag => "lag",
            Self::LastError => "error",
        }
    }

    /// The column's number in a filter's comparison: `None` for text columns and for figures
    /// not known. Memory compares as the percent of its limit (none without a limit).
    #[must_use]
    pub fn number(self, row: &FleetRow) -> Option<f64> {
        match self {
            Self::Memory => row.figures.memory_pct(),
            _ => self.sort_number(row),
        }
    }

    /// The column's number for sorting (memory by the bytes used).
    #[must_use]
    pub fn sort_number(self, row: &FleetRow) -> Option<f64> {
        let f = &row.figures;
        match self {
            Self::HitRate => f.hit_rate,
            Self::Memory => f.memory_used,
            Self::Evictions => f.evictions_per_sec,
            Self::Ops => f.ops_per_sec,
            Self::Clients => f.clients,
            Self::Keys => f.keys,
            Self::ReplLag => f.repl_lag_secs,
            Self::Profile
            | Self::Group
            | Self::Kind
            | Self::Status
            | Self::Version
            | Self::Role
            | Self::LastError => None,
        }
    }

    /// The cell as shown.
    #[must_use]
    pub fn text(self, row: &FleetRow) -> String {
        let f = &row.figures;
        let figure =
            |metric: Metric, v: Option<f64>| v.map_or_else(String::new, |v| metric.format(v));
        match self {
            Self::Profile => row.profile.clone(),
            Self::Group => row.group.clone().unwrap_or_default(),
            Self::Kind => row.kind.clone(),
            Self::Status => row.health.label().to_owned(),
            Self::Version => row.version.clone().unwrap_or_default(),
            Self::Role => row.role.clone().unwrap_or_default(),
            Self::HitRate => figure(Metric::HitRate, f.hit_rate),
            Self::Memory => f.memory_text(),
            Self::Evictions => figure(Metric::EvictedPerSec, f.evictions_per_sec),
            Self::Ops => figure(Metric::OpsPerSec, f.ops_per_sec),
            Self::Clients => figure(Metric::Clients, f.clients),
            Self::Keys => figure(Metric::Keys, f.keys),
            Self::ReplLag => f
                .repl_lag_secs
                .map_or_else(String::new, |s| format!("{s:.0} s")),
            Self::LastError => row.error_text().unwrap_or_default().to_owned(),
        }
    }
}

impl Figures {
    /// `1.2 MiB / 100 MiB (1 %)`, or just what is known.
    #[must_use]
    pub fn memory_text(&self) -> String {
        match (self.memory_used, self.memory_max, self.memory_pct()) {
            (Some(used), Some(max), Some(pct)) => format!(
                "{} / {} ({pct:.0} %)",
                super::metrics::bytes(used),
                super::metrics::bytes(max)
            ),
            (Some(used), _, _) => super::metrics::bytes(used),
            _ => String::new(),
        }
    }
}

/// Orders two rows by a column; unknown figures go last either way.
#[must_use]
pub fn compare(column: Column, a: &FleetRow, b: &FleetRow, descending: bool) -> Ordering {
    let flip = |o: Ordering| if descending { o.reverse() } else { o };
    let by_column = match column {
        Column::Status => flip(a.health.cmp(&b.health)),
        _ => match (column.sort_number(a), column.sort_number(b)) {
            (Some(x), Some(y)) => flip(x.total_cmp(&y)),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => {
                let (x, y) = (column.text(a), column.text(b));
                match (x.is_empty(), y.is_empty()) {
                    (false, true) => Ordering::Less,
                    (true, false) => Ordering::Greater,
                    _ => flip(x.to_lowercase().cmp(&y.to_lowercase())),
                }
            }
        },
    };
    by_column.then_with(|| a.profile.cmp(&b.profile))
}

/// One term of a filter.
#[derive(Debug, Clone, PartialEq)]
enum Term {
    /// Text anywhere in the row.
    Anywhere(String),
    /// Text in one column.
    In(Column, String),
    /// A column's number above (`true`) or below a value.
    Compare(Column, bool, f64),
}

/// A filter as typed: terms separated by spaces, all of which must hold. `redis` finds the
/// text in any column; `status:down` or `group:prod` in one; `mem>80`, `hit<90`, `ops>1000`
/// compare a column's number.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    terms: Vec<Term>,
}

impl Filter {
    /// Reads a typed filter; a term that names no column is looked for anywhere.
    #[must_use]
    pub fn parse(text: &str) -> Self {
        let column = |name: &str| {
            let name = name.to_lowercase();
            Column::ALL.into_iter().find(|c| c.filter_name() == name)
        };
        let terms = words(text)
            .into_iter()
            .map(|term| {
                let term = term.as_str();
                if let Some((name, value)) = term.split_once(':')
                    && let Some(c) = column(name)
                {
                    return Term::In(c, value.to_lowercase());
                }
                for (sign, above) in [('>', true), ('<', false)] {
                    if let Some((name, value)) = term.split_once(sign)
                        && let Some(c) = column(name)
                        && let Ok(v) = value.trim_end_matches('%').parse::<f64>()
                    {
                        return Term::Compare(c, above, v);
                    }
                }
                Term::Anywhere(term.to_lowercase())
            })
            .collect();
        Self { terms }
    }

    /// Whether nothing is filtered out.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether `row` passes.
    #[must_use]
    pub fn matches(&self, row: &FleetRow) -> bool {
        self.terms.iter().all(|term| match term {
            Term::Anywhere(text) => Column::ALL
                .iter()
                .any(|c| c.text(row).to_lowercase().contains(text.as_str())),
            Term::In(c, text) => c.text(row).to_lowercase().contains(text.as_str()),
            Term::Compare(c, above, v) => c
                .number(row)
                .is_some_and(|n| if *above { n > *v } else { n < *v }),
        })
    }
}

/// The words of a filter: split at spaces, except inside double quotes (`group:"eu west"`);
/// the quotes themselves are dropped.
fn words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// The filter term that picks one group (quoted when its name has spaces).
#[must_use]
pub fn group_term(group: &str) -> String {
    if group.chars().any(char::is_whitespace) {
        format!("group:\"{group}\"")
    } else {
        format!("group:{group}")
    }
}

/// A group's rows summed: one line of the grouped view.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRow {
    /// The group (`None`: profiles in no group).
    pub group: Option<String>,
    /// Profiles in it.
    pub profiles: usize,
    /// Of which answered.
    pub up: usize,
    /// Of which did not.
    pub down: usize,
    /// The members' figures summed (the hit rate from their hits and misses).
    pub figures: Figures,
}

/// The rows summed by group, groups in name order (no group last).
#[must_use]
pub fn by_group<'a>(rows: impl IntoIterator<Item = &'a FleetRow>) -> Vec<GroupRow> {
    let mut groups: Vec<GroupRow> = Vec::new();
    for row in rows {
        let index = groups
            .iter()
            .position(|g| g.group == row.group)
            .unwrap_or_else(|| {
                groups.push(GroupRow {
                    group: row.group.clone(),
                    profiles: 0,
                    up: 0,
                    down: 0,
                    figures: Figures::default(),
                });
                groups.len() - 1
            });
        let g = &mut groups[index];
        g.profiles += 1;
        match row.health {
            Health::Up => g.up += 1,
            Health::Down | Health::Partial => g.down += 1,
            Health::Waiting => {}
        }
        let (sum, add) = (&mut g.figures, &row.figures);
        for (total, v) in [
            (&mut sum.hits_per_sec, add.hits_per_sec),
            (&mut sum.misses_per_sec, add.misses_per_sec),
            (&mut sum.memory_used, add.memory_used),
            (&mut sum.memory_max, add.memory_max),
            (&mut sum.evictions_per_sec, add.evictions_per_sec),
            (&mut sum.ops_per_sec, add.ops_per_sec),
            (&mut sum.clients, add.clients),
            (&mut sum.keys, add.keys),
        ] {
            if let Some(v) = v {
                *total = Some(total.unwrap_or(0.0) + v);
            }
        }
        if let Some(lag) = add.repl_lag_secs {
            sum.repl_lag_secs = Some(sum.repl_lag_secs.map_or(lag, |l: f64| l.max(lag)));
        }
    }
    for g in &mut groups {
        let f = &mut g.figures;
        f.hit_rate = match (f.hits_per_sec, f.misses_per_sec) {
            (Some(h), Some(m)) if h + m > 0.0 => Some(h * 100.0 / (h + m)),
            _ => None,
        };
    }
    groups.sort_by(|a, b| match (&a.group, &b.group) {
        (Some(x), Some(y)) => x.to_lowercase().cmp(&y.to_lowercase()),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    });
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::metrics::RawStats;

    fn stats(hits: u64, misses: u64, commands: u64, evicted: u64) -> RawStats {
        RawStats {
            hits: Some(hits),
            misses: Some(misses),
            commands: Some(commands),
            evicted: Some(evicted),
            used_memory: Some(950),
            max_memory: Some(1000),
            clients: Some(3),
            keys: Some(10),
            version: Some("7.2.4".into()),
            role: Some("master".into()),
            ..RawStats::default()
        }
    }

    fn reading(at_ms: u64, servers: Vec<(&str, RawStats)>) -> Reading {
        Reading {
            at_ms,
            took_ms: 3,
            result: Ok(Sample {
                at_ms,
                servers: servers
                    .into_iter()
                    .map(|(n, s)| (n.to_owned(), s))
                    .collect(),
            }),
        }
    }

    #[test]
    fn rates_and_hit_rate_are_over_the_interval_since_the_last_good_reading() {
        let mut row = FleetRow::new("prod", Some("eu"), "Redis", "redis://a:6379");
        assert_eq!(row.health, Health::Waiting);
        row.update(reading(1_000, vec![("a:6379", stats(100, 100, 1000, 5))]));
        assert_eq!(row.health, Health::Up);
        assert_eq!(row.figures.hit_rate, None, "no interval yet");
        assert_eq!(row.version.as_deref(), Some("7.2.4"));
        assert_eq!(row.role.as_deref(), Some("primary"));
        row.update(reading(3_000, vec![("a:6379", stats(190, 110, 1400, 9))]));
        assert_eq!(row.figures.hit_rate, Some(90.0));
        assert_eq!(row.figures.ops_per_sec, Some(200.0));
        assert_eq!(row.figures.evictions_per_sec, Some(2.0));
        assert_eq!(row.figures.memory_pct(), Some(95.0));
        let found = alerts(&row, &Thresholds::default());
        assert_eq!(found, vec![Alert::Memory(95.0), Alert::Evicting(2.0)]);

        // Down: the error is kept, the figures go, and the next interval starts afresh.
        row.update(Reading {
            at_ms: 4_000,
            took_ms: 2_000,
            result: Err("timed out".into()),
        });
        assert_eq!(row.health, Health::Down);
        assert_eq!(row.figures, Figures::default());
        assert_eq!(
            alerts(&row, &Thresholds::default()),
            vec![Alert::Unreachable]
        );
        row.update(reading(5_000, vec![("a:6379", stats(300, 120, 1500, 9))]));
        assert_eq!(row.health, Health::Up);
        assert_eq!(row.figures.hit_rate, None);
        assert_eq!(row.error_text(), Some("timed out"), "the last error stays");
    }

    #[test]
    fn a_pool_with_one_server_down_is_partly_down_and_summed() {
        let mut row = FleetRow::new("pool", None, "Memcached pool", "memcached://a,b");
        let down = RawStats {
            error: Some("connection refused".into()),
            ..RawStats::default()
        };
        row.update(reading(1_000, vec![("a", stats(1, 1, 1, 0)), ("b", down)]));
        assert_eq!(row.health, Health::Partial);
        assert_eq!(row.error_text(), Some("b: connection refused"));
        assert_eq!(row.role.as_deref(), Some("pool of 2"));
        assert_eq!(row.servers.len(), 2);
        assert_eq!(row.figures.keys, Some(10.0));
    }

    #[test]
    fn filters_find_text_anywhere_or_in_a_column_and_compare_figures() {
        let mut a = FleetRow::new("eu-redis", Some("prod"), "Redis", "redis://a");
        a.update(reading(1_000, vec![("a", stats(1, 1, 1, 0))]));
        a.update(reading(2_000, vec![("a", stats(81, 21, 101, 0))]));
        let b = FleetRow::new(
            "us-memcached",
            Some("staging"),
            "Memcached",
            "memcached://b",
        );
        let pass = |text: &str| {
            let f = Filter::parse(text);
            [&a, &b]
                .iter()
                .filter(|r| f.matches(r))
                .map(|r| r.profile.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(pass(""), ["eu-redis", "us-memcached"]);
        assert_eq!(pass("REDIS"), ["eu-redis"]);
        assert_eq!(pass("group:staging"), ["us-memcached"]);
        assert_eq!(pass("status:waiting"), ["us-memcached"]);
        assert_eq!(pass("hit<90"), ["eu-redis"]);
        assert_eq!(pass("hit>90"), Vec::<&str>::new());
        assert_eq!(pass("mem>90%"), ["eu-redis"]);
        assert_eq!(pass("prod mem>99"), Vec::<&str>::new());
        assert_eq!(pass("nosuch:thing"), Vec::<&str>::new());
        assert_eq!(pass("\"eu-redis\""), ["eu-redis"]);
        assert_eq!(words("group:\"eu west\" ops>1"), ["group:eu west", "ops>1"]);
        assert_eq!(group_term("eu west"), "group:\"eu west\"");
        assert_eq!(group_term("prod"), "group:prod");
    }

    #[test]
    fn sorting_puts_unknown_figures_last_both_ways() {
        let mut a = FleetRow::new("a", None, "Redis", "x");
        a.figures.ops_per_sec = Some(5.0);
        let mut b = FleetRow::new("b", None, "Redis", "x");
        b.figures.ops_per_sec = Some(50.0);
        let c = FleetRow::new("c", None, "Redis", "x");
        let mut rows = [&c, &a, &b];
        rows.sort_by(|x, y| compare(Column::Ops, x, y, false));
        assert_eq!(rows.iter().map(|r| &*r.profile).collect::<String>(), "abc");
        rows.sort_by(|x, y| compare(Column::Ops, x, y, true));
        assert_eq!(rows.iter().map(|r| &*r.profile).collect::<String>(), "bac");
        let mut down = FleetRow::new("d", None, "Redis", "x");
        down.health = Health::Down;
        let mut rows = [&a, &down];
        rows.sort_by(|x, y| compare(Column::Status, x, y, false));
        assert_eq!(rows[0].profile, "d", "down first");
    }

    #[test]
    fn groups_sum_their_members_and_weigh_the_hit_rate_by_lookups() {
        let mut a = FleetRow::new("a", Some("prod"), "Redis", "x");
        a.health = Health::Up;
        a.figures = Figures {
            hits_per_sec: Some(90.0),
            misses_per_sec: Some(10.0),
            keys: Some(5.0),
            ..Figures::default()
        };
        let mut b = FleetRow::new("b", Some("prod"), "Redis", "x");
        b.health = Health::Down;
        b.figures = Figures {
            hits_per_sec: Some(0.0),
            misses_per_sec: Some(100.0),
            keys: Some(7.0),
            ..Figures::default()
        };
        let c = FleetRow::new("c", None, "Redis", "x");
        let groups = by_group([&c, &a, &b]);
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].group.as_deref(), Some("prod"));
        assert_eq!(
            (groups[0].profiles, groups[0].up, groups[0].down),
            (2, 1, 1)
        );
        assert_eq!(groups[0].figures.keys, Some(12.0));
        assert_eq!(groups[0].figures.hit_rate, Some(45.0));
        assert_eq!(groups[1].group, None);
    }
}
