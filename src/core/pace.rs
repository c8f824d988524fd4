//! How fast a listing may scan a server: a budget of server-milliseconds per second, and a
//! `COUNT` adapted so that each call stays short.
//!
//! Redis runs one command at a time: a `SCAN` that examines thousands of keys holds every
//! other client for its whole length, and lands in the slow log (RedisInsight #6202: a
//! TYPE-filtered scan of 2M keys at 11–15 ms a call). The pacer measures each call (from its
//! sending to its reply's first bytes: the server's time plus one round trip) less the round
//! trip of a `PING` (the least of the last few: a `PING` costs the server nothing, so what it
//! takes is the network and this side), keeps that near [`TARGET_CALL`] by changing `COUNT`,
//! and lets the calls of one second add up to at most the budget, waiting before the next
//! call once the budget is spent. A far server (1 ms away) is thus scanned as fast as a near
//! one: its round trips are not counted as its time. Written here rather than taken from a rate-limiting crate: those
//! count requests, and this counts the time each request took, which is only known after.

use std::time::{Duration, Instant};

/// How long one call should take at most (the slow log's usual threshold is 10 ms, and the
/// strict one the tests use 1 ms).
pub const TARGET_CALL: Duration = Duration::from_micros(300);
/// The smallest `COUNT` the pacer asks for.
pub const MIN_COUNT: u32 = 10;
/// The largest.
pub const MAX_COUNT: u32 = 2_000;
/// The `COUNT` a budgeted listing starts with, before any call was measured.
pub const START_COUNT: u32 = 100;

/// One listing's pace.
#[derive(Debug, Clone)]
pub struct Pacer {
    /// Server-milliseconds a second; `None`: no budget, the fixed count.
    budget_ms: Option<u32>,
    count: u32,
    /// Milliseconds of budget left (negative: owed).
    tokens: f64,
    refilled: Instant,
    /// The last few round trips of a `PING`.
    round_trips: [Option<Duration>; 4],
    next_trip: usize,
    /// The quickest call so far, whole: the network's share can be no more than that (a
    /// slow `PING`, the first on a fresh connection say, must not make every call look free).
    quickest: Option<Duration>,
}

impl Pacer {
    /// A pacer for `budget_ms` a second; without a budget every call asks for `count`.
    #[must_use]
    pub fn new(budget_ms: Option<u32>, count: u32, now: Instant) -> Self {
        let budget_ms = budget_ms.filter(|b| *b > 0);
        Self {
            budget_ms,
            count: if budget_ms.is_some() {
                START_COUNT.min(count.max(MIN_COUNT))
            } else {
                count.max(1)
            },
            tokens: budget_ms.map_or(0.0, |b| f64::from(b) / 4.0),
            refilled: now,
            round_trips: [None; 4],
            next_trip: 0,
            quickest: None,
        }
    }

    /// A `PING` took `rtt` there and back.
    pub fn round_trip(&mut self, rtt: Duration) {
        self.round_trips[self.next_trip] = Some(rtt);
        self.next_trip = (self.next_trip + 1) % self.round_trips.len();
    }

    /// The network's share of a call: the least recent `PING`, and never more than the
    /// quickest call (zero before any `PING`).
    #[must_use]
    pub fn network(&self) -> Duration {
        let ping = self
            .round_trips
            .iter()
            .flatten()
            .min()
            .copied()
            .unwrap_or_default();
        self.quickest.map_or(ping, |q| ping.min(q))
    }

    /// The `COUNT` the next call asks for.
    #[must_use]
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The budget, milliseconds a second.
    #[must_use]
    pub fn budget_ms(&self) -> Option<u32> {
        self.budget_ms
    }

    fn refill(&mut self, now: Instant) {
        let Some(budget) = self.budget_ms else {
            return;
        };
        let budget = f64::from(budget);
        let secs = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.refilled = now;
        // A quarter second's worth at most: the budget is spread over each second.
        self.tokens = (self.tokens + secs * budget).min(budget / 4.0);
    }

    /// How long to wait before the next call (zero while the budget lasts).
    pub fn wait(&mut self, now: Instant) -> Duration {
        self.refill(now);
        match self.budget_ms {
            Some(budget) if self.tokens < 0.0 => {
                Duration::from_secs_f64(-self.tokens / f64::from(budget))
            }
            _ => Duration::ZERO,
        }
    }

    /// A call took `took` from its sending to its reply: the budget is charged the server's
    /// share (less the network's) and the next `COUNT` set.
    pub fn took(&mut self, took: Duration, now: Instant) {
        if self.budget_ms.is_none() {
            return;
        }
        self.quickest = Some(self.quickest.map_or(took, |q| q.min(took)));
        // Never less than a twentieth of the whole: a lucky PING must not make calls look free.
        let took = took.saturating_sub(self.network()).max(took / 20);
        self.refill(now);
        self.tokens -= took.as_secs_f64() * 1000.0;
        let target = TARGET_CALL.as_secs_f64();
        let took = took.as_secs_f64().max(1e-6);
        let count = f64::from(self.count);
        let next = if took > target {
            // Down in proportion, with a margin: the next call lands under the target.
            count * target / took * 0.8
        } else if took < target / 2.0 {
            count * 1.25 + 1.0
        } else {
            count
        };
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "clamped to MIN_COUNT..=MAX_COUNT first"
        )]
        let next = next.clamp(f64::from(MIN_COUNT), f64::from(MAX_COUNT)) as u32;
        self.count = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_budget_the_count_is_fixed_and_nothing_waits() {
        let t = Instant::now();
        let mut p = Pacer::new(None, 1000, t);
        p.took(Duration::from_millis(50), t);
        assert_eq!(p.count(), 1000);
        assert_eq!(p.wait(t), Duration::ZERO);
    }

    #[test]
    fn slow_calls_shrink_the_count_and_fast_ones_grow_it() {
        let t = Instant::now();
        let mut p = Pacer::new(Some(250), 1000, t);
        assert_eq!(p.count(), START_COUNT);
        p.took(Duration::from_micros(50), t);
        assert!(p.count() > START_COUNT);
        for _ in 0..100 {
            p.took(Duration::from_micros(50), t);
        }
        assert_eq!(p.count(), MAX_COUNT, "fast calls grow it to the most");
        p.took(Duration::from_millis(5), t);
        assert!(p.count() <= MAX_COUNT / 10, "a 5 ms call: {}", p.count());
        for _ in 0..20 {
            p.took(Duration::from_millis(20), t);
        }
        assert_eq!(p.count(), MIN_COUNT);
    }

    #[test]
    fn the_network_round_trip_is_not_counted_as_the_servers_time() {
        let t = Instant::now();
        let mut far = Pacer::new(Some(250), 1000, t);
        far.round_trip(Duration::from_millis(2));
        far.round_trip(Duration::from_micros(1900));
        assert_eq!(far.network(), Duration::from_micros(1900));
        // 2 ms calls to a server 1.9 ms away: 0.1 ms of server time, so the count grows.
        for _ in 0..50 {
            far.took(Duration::from_millis(2), t);
        }
        assert_eq!(far.count(), MAX_COUNT);
        // Without the PING the same calls look slow.
        let mut blind = Pacer::new(Some(250), 1000, t);
        for _ in 0..50 {
            blind.took(Duration::from_millis(2), t);
        }
        assert_eq!(blind.count(), MIN_COUNT);
    }

    #[test]
    fn a_slow_ping_cannot_make_calls_look_free() {
        let t = Instant::now();
        let mut p = Pacer::new(Some(100), 1000, t);
        p.round_trip(Duration::from_millis(5));
        p.took(Duration::from_micros(300), t);
        assert_eq!(p.network(), Duration::from_micros(300));
        // A 2 ms call is 1.7 ms of the server's, not nothing: the count shrinks.
        p.took(Duration::from_millis(2), t);
        assert!(p.count() < START_COUNT, "{}", p.count());
    }

    #[test]
    fn the_budget_spent_makes_the_next_call_wait_its_share_of_a_second() {
        let t = Instant::now();
        let mut p = Pacer::new(Some(100), 1000, t);
        // 25 ms of burst, then 75 ms owed at 100 ms/s: three quarters of a second.
        p.took(Duration::from_millis(100), t);
        let wait = p.wait(t);
        assert!((wait.as_secs_f64() - 0.75).abs() < 1e-6, "{wait:?}");
        // Later, the budget came back.
        assert_eq!(p.wait(t + Duration::from_secs(1)), Duration::ZERO);
    }
}
