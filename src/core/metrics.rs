//! Live metrics: the raw figures a backend reports, the rates derived from two samples, and the
//! history ring the dashboard draws and exports.
//!
//! Backends only report what their server says ([`RawStats`], counters since start and
//! gauges). Everything computed — per-second rates, the hit rate over the interval, pool sums —
//! happens here once, for the dashboard and the `stats` command alike. A counter that went
//! down (a restart, `CONFIG RESETSTAT`) gives no rate for that interval, never a negative one.

use std::collections::VecDeque;
use std::fmt::Write as _;

use serde::Serialize;

/// What one server reported at one moment; `None` where the backend has no such figure.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RawStats {
    /// Changes when the server restarts (Redis `run_id`, memcached `pid`).
    pub instance: Option<String>,
    /// Seconds since the server started.
    pub uptime_secs: Option<u64>,
    /// Lookups that found their key (counter).
    pub hits: Option<u64>,
    /// Lookups that missed (counter).
    pub misses: Option<u64>,
    /// Commands processed (counter).
    pub commands: Option<u64>,
    /// Read commands (counter; memcached `cmd_get`).
    pub gets: Option<u64>,
    /// Write commands (counter; memcached `cmd_set`).
    pub sets: Option<u64>,
    /// Keys evicted for memory (counter).
    pub evicted: Option<u64>,
    /// Keys removed because they expired (counter).
    pub expired: Option<u64>,
    /// Bytes received (counter).
    pub net_in: Option<u64>,
    /// Bytes sent (counter).
    pub net_out: Option<u64>,
    /// Memory used by data, bytes.
    pub used_memory: Option<u64>,
    /// Resident memory of the server process, bytes.
    pub rss_memory: Option<u64>,
    /// The memory limit, bytes (`None` or 0: no limit).
    pub max_memory: Option<u64>,
    /// Memory fragmentation ratio as the server reports it.
    pub fragmentation: Option<f64>,
    /// Connected clients.
    pub clients: Option<u64>,
    /// Clients blocked in a blocking command.
    pub blocked_clients: Option<u64>,
    /// Keys or entries held.
    pub keys: Option<u64>,
    /// Entries past their expiry that are still stored (SQL and file caches).
    pub expired_entries: Option<u64>,
    /// Bytes of stored values (SQL and file caches).
    pub total_size: Option<u64>,
    /// Keys per logical database (Redis).
    pub keys_per_db: Vec<(u32, u64)>,
    /// Why this server of a pool could not be read (its figures are missing then).
    pub error: Option<String>,
    /// The server's version as it reports it (`7.2.4`, memcached's `1.6.21`).
    pub version: Option<String>,
    /// Its replication role (`master`, `slave`) where it has one.
    pub role: Option<String>,
    /// How far replication lags, seconds: on a primary the slowest replica's time since its
    /// last acknowledgement, on a replica the time since it last heard from its primary (or
    /// since the link went down).
    pub repl_lag_secs: Option<f64>,
}

/// Every server's figures at one moment.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Sample {
    /// Wall-clock time of the sample, Unix milliseconds.
    pub at_ms: u64,
    /// Per server (one entry for a single server).
    pub servers: Vec<(String, RawStats)>,
}

/// One figure the dashboard can draw; the index into [`Point::values`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// Hits / (hits + misses) over the interval, percent.
    HitRate,
    /// Hits / (hits + misses) since the server started, percent.
    LifetimeHitRate,
    /// Commands per second.
    OpsPerSec,
    /// Hits per second.
    HitsPerSec,
    /// Misses per second.
    MissesPerSec,
    /// Read commands per second.
    GetsPerSec,
    /// Write commands per second.
    SetsPerSec,
    /// Memory used by data.
    UsedMemory,
    /// Resident memory.
    RssMemory,
    /// Memory limit.
    MaxMemory,
    /// Fragmentation ratio.
    Fragmentation,
    /// Connected clients.
    Clients,
    /// Blocked clients.
    BlockedClients,
    /// Evictions per second.
    EvictedPerSec,
    /// Expirations per second.
    ExpiredPerSec,
    /// Bytes in per second.
    NetInPerSec,
    /// Bytes out per second.
    NetOutPerSec,
    /// Keys or entries held.
    Keys,
    /// Entries not yet expired.
    LiveEntries,
    /// Entries expired but still stored.
    ExpiredEntries,
    /// Bytes of stored values.
    TotalSize,
}

/// How a metric's values read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// 0‥100.
    Percent,
    /// Per second.
    PerSec,
    /// Bytes.
    Bytes,
    /// Bytes per second.
    BytesPerSec,
    /// A plain count.
    Count,
    /// A ratio.
    Ratio,
}

impl Metric {
    /// Number of metrics.
    pub const COUNT: usize = 21;
    /// Every metric, in index order.
    pub const ALL: [Self; Self::COUNT] = [
        Self::HitRate,
        Self::LifetimeHitRate,
        Self::OpsPerSec,
        Self::HitsPerSec,
        Self::MissesPerSec,
        Self::GetsPerSec,
        Self::SetsPerSec,
        Self::UsedMemory,
        Self::RssMemory,
        Self::MaxMemory,
        Self::Fragmentation,
        Self::Clients,
        Self::BlockedClients,
        Self::EvictedPerSec,
        Self::ExpiredPerSec,
        Self::NetInPerSec,
        Self::NetOutPerSec,
        Self::Keys,
        Self::LiveEntries,
        Self::ExpiredEntries,
        Self::TotalSize,
    ];

    /// Position in [`Point::values`].
    #[must_use]
    pub fn index(self) -> usize {
        self as usize
    }

    /// Machine name (CSV header, JSON field).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::HitRate => "hit_rate_pct",
            Self::LifetimeHitRate => "lifetime_hit_rate_pct",
            Self::OpsPerSec => "ops_per_sec",
            Self::HitsPerSec => "hits_per_sec",
            Self::MissesPerSec => "misses_per_sec",
            Self::GetsPerSec => "gets_per_sec",
            Self::SetsPerSec => "sets_per_sec",
            Self::UsedMemory => "used_memory_bytes",
            Self::RssMemory => "rss_memory_bytes",
            Self::MaxMemory => "max_memory_bytes",
            Self::Fragmentation => "fragmentation_ratio",
            Self::Clients => "clients",
            Self::BlockedClients => "blocked_clients",
            Self::EvictedPerSec => "evicted_per_sec",
            Self::ExpiredPerSec => "expired_per_sec",
            Self::NetInPerSec => "net_in_bytes_per_sec",
            Self::NetOutPerSec => "net_out_bytes_per_sec",
            Self::Keys => "keys",
            Self::LiveEntries => "live_entries",
            Self::ExpiredEntries => "expired_entries",
            Self::TotalSize => "total_size_bytes",
        }
    }

    /// Human label.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::HitRate => "Hit rate",
            Self::LifetimeHitRate => "Hit rate since start",
            Self::OpsPerSec => "Ops/sec",
            Self::HitsPerSec => "Hits/sec",
            Self::MissesPerSec => "Misses/sec",
            Self::GetsPerSec => "Gets/sec",
            Self::SetsPerSec => "Sets/sec",
            Self::UsedMemory => "Used memory",
            Self::RssMemory => "RSS",
            Self::MaxMemory => "Max memory",
            Self::Fragmentation => "Fragmentation",
            Self::Clients => "Clients",
            Self::BlockedClients => "Blocked clients",
            Self::EvictedPerSec => "Evicted/sec",
            Self::ExpiredPerSec => "Expired/sec",
            Self::NetInPerSec => "Network in",
            Self::NetOutPerSec => "Network out",
            Self::Keys => "Keys",
            Self::LiveEntries => "Live entries",
            Self::ExpiredEntries => "Expired entries",
            Self::TotalSize => "Total size",
        }
    }

    /// How the values read.
    #[must_use]
    pub fn unit(self) -> Unit {
        match self {
            Self::HitRate | Self::LifetimeHitRate => Unit::Percent,
            Self::OpsPerSec
            | Self::HitsPerSec
            | Self::MissesPerSec
            | Self::GetsPerSec
            | Self::SetsPerSec
            | Self::EvictedPerSec
            | Self::ExpiredPerSec => Unit::PerSec,
            Self::UsedMemory | Self::RssMemory | Self::MaxMemory | Self::TotalSize => Unit::Bytes,
            Self::NetInPerSec | Self::NetOutPerSec => Unit::BytesPerSec,
            Self::Fragmentation => Unit::Ratio,
            Self::Clients
            | Self::BlockedClients
            | Self::Keys
            | Self::LiveEntries
            | Self::ExpiredEntries => Unit::Count,
        }
    }

    /// A value of this metric for people: `93.1 %`, `1.2 MiB`, `350/s`.
    #[must_use]
    pub fn format(self, value: f64) -> String {
        if !value.is_finite() {
            return "–".to_owned();
        }
        match self.unit() {
            Unit::Percent => format!("{value:.1} %"),
            Unit::PerSec => format!("{}/s", compact(value)),
            Unit::Bytes => bytes(value),
            Unit::BytesPerSec => format!("{}/s", bytes(value)),
            Unit::Count => compact(value),
            Unit::Ratio => format!("{value:.2}"),
        }
    }
}

/// `1234` → `1234`, `12345.6` → `12.3k`, fractions kept for small rates.
fn compact(v: f64) -> String {
    let a = v.abs();
    if a >= 1e9 {
        format!("{:.2}G", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else if a >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// Bytes in binary units.
#[must_use]
pub fn bytes(v: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = v;
    let mut unit = 0;
    while v.abs() >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{v:.0} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// Every metric at one moment; NaN where there is no value (no such figure, first sample, or
/// a counter reset in the interval).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Unix time in seconds.
    pub t: f64,
    /// Indexed by [`Metric::index`].
    pub values: [f64; Metric::COUNT],
}

impl Point {
    /// The value of one metric (NaN when unknown).
    #[must_use]
    pub fn get(&self, metric: Metric) -> f64 {
        self.values[metric.index()]
    }

    /// The value, or `None` when unknown.
    #[must_use]
    pub fn value(&self, metric: Metric) -> Option<f64> {
        Some(self.get(metric)).filter(|v| v.is_finite())
    }
}

/// The derived figures of one sample: the whole connection and each server of a pool.
#[derive(Debug, Clone, PartialEq)]
pub struct Derived {
    /// Summed over every server.
    pub total: Point,
    /// Per server, in the sample's order (empty for a single server).
    pub servers: Vec<(String, Point)>,
    /// Servers whose counters went back since the previous sample (restarted or reset).
    pub restarted: Vec<String>,
}

/// Counter increases of one server between two samples; `None` where the counter was reset.
#[derive(Debug, Default, Clone, Copy)]
struct Deltas {
    hits: Option<u64>,
    misses: Option<u64>,
    commands: Option<u64>,
    gets: Option<u64>,
    sets: Option<u64>,
    evicted: Option<u64>,
    expired: Option<u64>,
    net_in: Option<u64>,
    net_out: Option<u64>,
}

/// Whether the server behind `cur` is not the one behind `prev` any more.
fn restarted(prev: &RawStats, cur: &RawStats) -> bool {
    let new_instance = matches!((&prev.instance, &cur.instance), (Some(a), Some(b)) if a != b);
    let uptime_back = matches!((prev.uptime_secs, cur.uptime_secs), (Some(a), Some(b)) if b < a);
    new_instance || uptime_back
}

fn deltas(prev: &RawStats, cur: &RawStats) -> (Deltas, bool) {
    if restarted(prev, cur) {
        return (Deltas::default(), true);
    }
    // A counter that went down was reset (`CONFIG RESETSTAT`): no delta, not a negative one.
    let d = |a: Option<u64>, b: Option<u64>| b?.checked_sub(a?);
    let out = Deltas {
        hits: d(prev.hits, cur.hits),
        misses: d(prev.misses, cur.misses),
        commands: d(prev.commands, cur.commands),
        gets: d(prev.gets, cur.gets),
        sets: d(prev.sets, cur.sets),
        evicted: d(prev.evicted, cur.evicted),
        expired: d(prev.expired, cur.expired),
        net_in: d(prev.net_in, cur.net_in),
        net_out: d(prev.net_out, cur.net_out),
    };
    let went_back = [
        (prev.hits, cur.hits),
        (prev.misses, cur.misses),
        (prev.commands, cur.commands),
    ]
    .iter()
    .any(|(a, b)| matches!((a, b), (Some(a), Some(b)) if b < a));
    (out, went_back)
}

/// Sums the values that are there; `None` when none is.
pub fn sum_present<I: IntoIterator<Item = Option<u64>>>(values: I) -> Option<u64> {
    values
        .into_iter()
        .flatten()
        .fold(None, |acc, v| Some(acc.unwrap_or(0) + v))
}

#[allow(clippy::cast_precision_loss)]
fn f(v: Option<u64>) -> f64 {
    v.map_or(f64::NAN, |v| v as f64)
}

fn ratio(hits: Option<u64>, misses: Option<u64>) -> f64 {
    match (hits, misses) {
        (Some(h), Some(m)) if h + m > 0 => f(Some(h)) * 100.0 / f(Some(h + m)),
        _ => f64::NAN,
    }
}

/// One point from the servers' figures and their counter increases over `secs` seconds.
fn point(t: f64, stats: &[&RawStats], deltas: Option<&[Deltas]>, secs: f64) -> Point {
    let mut values = [f64::NAN; Metric::COUNT];
    let mut set = |m: Metric, v: f64| values[m.index()] = v;
    let g = |pick: fn(&RawStats) -> Option<u64>| sum_present(stats.iter().map(|s| pick(s)));
    set(
        Metric::LifetimeHitRate,
        ratio(g(|s| s.hits), g(|s| s.misses)),
    );
    set(Metric::UsedMemory, f(g(|s| s.used_memory)));
    set(Metric::RssMemory, f(g(|s| s.rss_memory)));
    set(Metric::MaxMemory, f(g(|s| s.max_memory).filter(|&m| m > 0)));
    let fragmentation = match stats {
        [one] => one.fragmentation.unwrap_or(f64::NAN),
        _ => f(g(|s| s.rss_memory)) / f(g(|s| s.used_memory)),
    };
    set(Metric::Fragmentation, fragmentation);
    set(Metric::Clients, f(g(|s| s.clients)));
    set(Metric::BlockedClients, f(g(|s| s.blocked_clients)));
    let keys = g(|s| s.keys);
    let expired_entries = g(|s| s.expired_entries);
    set(Metric::Keys, f(keys));
    set(Metric::ExpiredEntries, f(expired_entries));
    set(
        Metric::LiveEntries,
        f(expired_entries.and_then(|e| keys.map(|k| k.saturating_sub(e)))),
    );
    set(Metric::TotalSize, f(g(|s| s.total_size)));
    if let Some(deltas) = deltas.filter(|_| secs > 0.0) {
        let dsum = |pick: fn(&Deltas) -> Option<u64>| sum_present(deltas.iter().map(pick));
        let rate = |v: Option<u64>| f(v) / secs;
        let (hits, misses) = (dsum(|d| d.hits), dsum(|d| d.misses));
        set(Metric::HitRate, ratio(hits, misses));
        set(Metric::HitsPerSec, rate(hits));
        set(Metric::MissesPerSec, rate(misses));
        set(Metric::OpsPerSec, rate(dsum(|d| d.commands)));
        set(Metric::GetsPerSec, rate(dsum(|d| d.gets)));
        set(Metric::SetsPerSec, rate(dsum(|d| d.sets)));
        set(Metric::EvictedPerSec, rate(dsum(|d| d.evicted)));
        set(Metric::ExpiredPerSec, rate(dsum(|d| d.expired)));
        set(Metric::NetInPerSec, rate(dsum(|d| d.net_in)));
        set(Metric::NetOutPerSec, rate(dsum(|d| d.net_out)));
    }
    Point { t, values }
}

/// The figures of `cur`, with rates over the interval since `prev` (none without `prev`).
#[must_use]
#[allow(clippy::cast_precision_loss)]
pub fn derive(prev: Option<&Sample>, cur: &Sample) -> Derived {
    let t = cur.at_ms as f64 / 1000.0;
    let secs = prev.map_or(0.0, |p| (cur.at_ms.saturating_sub(p.at_ms)) as f64 / 1000.0);
    let mut restarted = Vec::new();
    // Deltas per server of `cur`; a server new in this sample has none yet.
    let per_server: Vec<Option<Deltas>> = cur
        .servers
        .iter()
        .map(|(name, stats)| {
            let before = prev?.servers.iter().find(|(n, _)| n == name)?;
            let (d, reset) = deltas(&before.1, stats);
            if reset {
                restarted.push(name.clone());
            }
            Some(d)
        })
        .collect();
    let known: Vec<Deltas> = per_server.iter().flatten().copied().collect();
    let all: Vec<&RawStats> = cur.servers.iter().map(|(_, s)| s).collect();
    let total = point(t, &all, prev.map(|_| known.as_slice()), secs);
    let servers = if cur.servers.len() > 1 {
        cur.servers
            .iter()
            .zip(&per_server)
            .map(|((name, stats), d)| {
                let d = d.as_ref().map(std::slice::from_ref);
                (name.clone(), point(t, &[stats], d, secs))
            })
            .collect()
    } else {
        Vec::new()
    };
    Derived {
        total,
        servers,
        restarted,
    }
}

/// A chart window: how much history is drawn (and exported).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Window {
    /// The last minute.
    OneMinute,
    /// The last five minutes.
    #[default]
    FiveMinutes,
    /// The last fifteen minutes.
    FifteenMinutes,
    /// The last hour.
    OneHour,
}

impl Window {
    /// Every window, shortest first.
    pub const ALL: [Self; 4] = [
        Self::OneMinute,
        Self::FiveMinutes,
        Self::FifteenMinutes,
        Self::OneHour,
    ];

    /// Length in seconds.
    #[must_use]
    pub fn secs(self) -> f64 {
        match self {
            Self::OneMinute => 60.0,
            Self::FiveMinutes => 300.0,
            Self::FifteenMinutes => 900.0,
            Self::OneHour => 3600.0,
        }
    }

    /// Button label.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::OneMinute => "1 m",
            Self::FiveMinutes => "5 m",
            Self::FifteenMinutes => "15 m",
            Self::OneHour => "1 h",
        }
    }
}

/// A sampler spends at most one part in this many of its time taking samples.
pub const SAMPLING_SHARE: u32 = 10;

/// The time from one sample's start to the next: the interval, stretched when a sample is so
/// slow (a `COUNT` over a big SQL table, a walk of a big cache directory) that sampling would
/// take more than a tenth of the time — a dashboard must not load the server it watches.
#[must_use]
pub fn sampling_wait(
    interval: std::time::Duration,
    took: std::time::Duration,
) -> std::time::Duration {
    interval.max(took * SAMPLING_SHARE)
}

/// How long the history reaches back, at least.
pub const HISTORY_SECS: f64 = 3600.0;

/// The history ring of one connection: the newest points, at least an hour of them.
#[derive(Debug, Clone)]
pub struct History {
    capacity: usize,
    /// The whole connection.
    pub total: VecDeque<Point>,
    /// Each server of a pool.
    pub servers: Vec<(String, VecDeque<Point>)>,
    /// When a server restarted (Unix seconds, server name).
    pub restarts: Vec<(f64, String)>,
}

impl History {
    /// A ring holding an hour of samples taken every `interval_secs`.
    #[must_use]
    pub fn new(interval_secs: f64) -> Self {
        Self {
            capacity: Self::capacity_for(interval_secs),
            total: VecDeque::new(),
            servers: Vec::new(),
            restarts: Vec::new(),
        }
    }

    /// Points needed for an hour at this interval (at least 3,600).
    #[must_use]
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    pub fn capacity_for(interval_secs: f64) -> usize {
        let n = (HISTORY_SECS / interval_secs.max(0.05)).ceil();
        (n as usize).max(3600)
    }

    /// How many points the ring keeps.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Grows the ring when sampling gets faster; never drops what is there.
    pub fn set_interval(&mut self, interval_secs: f64) {
        self.capacity = self.capacity.max(Self::capacity_for(interval_secs));
    }

    /// Adds a sample's figures, dropping the oldest beyond the capacity.
    pub fn push(&mut self, derived: Derived) {
        let cap = self.capacity;
        let push = |ring: &mut VecDeque<Point>, p: Point| {
            if ring.len() >= cap {
                ring.pop_front();
            }
            ring.push_back(p);
        };
        for name in derived.restarted {
            self.restarts.push((derived.total.t, name));
        }
        push(&mut self.total, derived.total);
        for (name, p) in derived.servers {
            if let Some((_, ring)) = self.servers.iter_mut().find(|(n, _)| *n == name) {
                push(ring, p);
            } else {
                let mut ring = VecDeque::new();
                ring.push_back(p);
                self.servers.push((name, ring));
            }
        }
        let oldest = self.total.front().map_or(0.0, |p| p.t);
        self.restarts.retain(|(t, _)| *t >= oldest);
    }

    /// The newest point.
    #[must_use]
    pub fn latest(&self) -> Option<&Point> {
        self.total.back()
    }

    /// The ring of one server, or of the whole connection for `None`.
    #[must_use]
    pub fn series(&self, server: Option<&str>) -> Option<&VecDeque<Point>> {
        match server {
            None => Some(&self.total),
            Some(name) => self.servers.iter().find(|(n, _)| n == name).map(|(_, r)| r),
        }
    }
}

/// The points of `ring` in the last `window` seconds before its newest point.
pub fn visible(ring: &VecDeque<Point>, window: Window) -> impl Iterator<Item = &Point> {
    let newest = ring.back().map_or(0.0, |p| p.t);
    let from = newest - window.secs();
    // The ring is in time order: skip the old part without looking at every point.
    let start = ring.partition_point(|p| p.t < from);
    ring.range(start..)
}

/// Wall-clock time of a Unix-seconds value, RFC 3339 in UTC with milliseconds.
#[must_use]
#[allow(clippy::cast_possible_truncation)]
pub fn rfc3339(t: f64) -> String {
    chrono::DateTime::from_timestamp_millis((t * 1000.0).round() as i64)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// The points as CSV: a `time` column (RFC 3339, UTC) and one column per metric, empty where
/// there is no value.
#[must_use]
pub fn to_csv<'a>(points: impl IntoIterator<Item = &'a Point>) -> String {
    let mut out = String::from("time");
    for m in Metric::ALL {
        out.push(',');
        out.push_str(m.name());
    }
    out.push('\n');
    for p in points {
        out.push_str(&rfc3339(p.t));
        for v in p.values {
            out.push(',');
            if v.is_finite() {
                let _ = write!(out, "{v}");
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(hits: u64, misses: u64, commands: u64) -> RawStats {
        RawStats {
            instance: Some("a".into()),
            uptime_secs: Some(100),
            hits: Some(hits),
            misses: Some(misses),
            commands: Some(commands),
            used_memory: Some(1000),
            max_memory: Some(0),
            ..RawStats::default()
        }
    }

    fn sample(at_ms: u64, servers: Vec<RawStats>) -> Sample {
        Sample {
            at_ms,
            servers: servers
                .into_iter()
                .enumerate()
                .map(|(i, s)| (format!("s{i}"), s))
                .collect(),
        }
    }

    #[test]
    fn hit_rate_and_ops_come_from_the_deltas() {
        let a = sample(10_000, vec![stats(100, 100, 1000)]);
        let b = sample(12_000, vec![stats(190, 110, 1400)]);
        let d = derive(Some(&a), &b);
        assert!((d.total.get(Metric::HitRate) - 90.0).abs() < 1e-9);
        assert!((d.total.get(Metric::LifetimeHitRate) - 190.0 / 3.0).abs() < 1e-9);
        assert!((d.total.get(Metric::OpsPerSec) - 200.0).abs() < 1e-9);
        assert!((d.total.get(Metric::HitsPerSec) - 45.0).abs() < 1e-9);
        assert!(
            d.total.value(Metric::MaxMemory).is_none(),
            "0 means no limit"
        );
        assert!(d.restarted.is_empty());
        let first = derive(None, &a);
        assert!(first.total.value(Metric::HitRate).is_none());
        assert!((first.total.get(Metric::LifetimeHitRate) - 50.0).abs() < 1e-9);
    }

    #[test]
    fn a_restart_gives_no_rate_and_never_a_negative_one() {
        let a = sample(10_000, vec![stats(1000, 10, 5000)]);
        let mut restarted = stats(5, 1, 20);
        restarted.uptime_secs = Some(1);
        let b = sample(11_000, vec![restarted.clone()]);
        let d = derive(Some(&a), &b);
        assert_eq!(d.restarted, vec!["s0".to_owned()]);
        for m in [Metric::HitRate, Metric::OpsPerSec, Metric::HitsPerSec] {
            assert!(d.total.value(m).is_none(), "{m:?}");
        }
        // A counter reset without a restart (CONFIG RESETSTAT) is caught too.
        let reset = sample(11_000, vec![stats(3, 0, 6000)]);
        let d = derive(Some(&a), &reset);
        assert!(d.total.value(Metric::HitsPerSec).is_none());
        assert!((d.total.get(Metric::OpsPerSec) - 1000.0).abs() < 1e-9);
        assert_eq!(d.restarted, vec!["s0".to_owned()]);
        // The next interval is measured normally again.
        let mut later = stats(15, 1, 40);
        later.uptime_secs = Some(2);
        let d = derive(Some(&b), &sample(12_000, vec![later]));
        assert!((d.total.get(Metric::HitRate) - 100.0).abs() < 1e-9);
        assert!(d.restarted.is_empty());
    }

    #[test]
    fn a_pool_sums_its_servers_and_skips_one_that_restarted() {
        let a = sample(0, vec![stats(10, 10, 100), stats(0, 0, 0)]);
        let mut second = stats(1, 0, 1);
        second.instance = Some("b".into());
        let b = sample(1000, vec![stats(40, 20, 200), second]);
        let d = derive(Some(&a), &b);
        assert!((d.total.get(Metric::HitRate) - 75.0).abs() < 1e-9);
        assert_eq!(d.servers.len(), 2);
        assert!(d.servers[1].1.value(Metric::HitRate).is_none());
        assert!((d.total.get(Metric::UsedMemory) - 2000.0).abs() < 1e-9);
        assert_eq!(d.restarted, vec!["s1".to_owned()]);
    }

    #[test]
    fn the_ring_keeps_an_hour_and_windows_cut_by_time() {
        let mut h = History::new(1.0);
        assert_eq!(h.capacity(), 3600);
        assert_eq!(History::capacity_for(0.5), 7200);
        let mut prev: Option<Sample> = None;
        for i in 0..4000u64 {
            let s = sample(i * 1000, vec![stats(i, i, i)]);
            h.push(derive(prev.as_ref(), &s));
            prev = Some(s);
        }
        assert_eq!(h.total.len(), 3600);
        assert_eq!(visible(&h.total, Window::OneMinute).count(), 61);
        assert_eq!(visible(&h.total, Window::OneHour).count(), 3600);
        let csv = to_csv(visible(&h.total, Window::OneMinute));
        let mut lines = csv.lines();
        assert!(
            lines
                .next()
                .is_some_and(|l| l.starts_with("time,hit_rate_pct,"))
        );
        let last = csv.lines().last().unwrap_or_default();
        assert!(
            last.starts_with("1970-01-01T01:06:39.000Z,50,50,"),
            "{last}"
        );
    }

    #[test]
    fn every_metric_has_its_own_slot_and_name() {
        for (i, m) in Metric::ALL.iter().enumerate() {
            assert_eq!(m.index(), i, "{m:?}");
        }
        let names: std::collections::HashSet<&str> = Metric::ALL.iter().map(|m| m.name()).collect();
        assert_eq!(names.len(), Metric::COUNT);
    }

    #[test]
    fn slow_samples_stretch_the_interval() {
        use std::time::Duration;
        let second = Duration::from_secs(1);
        assert_eq!(sampling_wait(second, Duration::from_millis(20)), second);
        assert_eq!(
            sampling_wait(second, Duration::from_millis(300)),
            Duration::from_secs(3)
        );
    }

    #[test]
    fn values_read_like_people_write_them() {
        assert_eq!(Metric::UsedMemory.format(1536.0), "1.5 KiB");
        assert_eq!(Metric::OpsPerSec.format(12_345.0), "12.3k/s");
        assert_eq!(Metric::HitRate.format(93.14), "93.1 %");
        assert_eq!(Metric::Clients.format(f64::NAN), "–");
    }
}
