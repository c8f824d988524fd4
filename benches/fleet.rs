//! `cargo bench --bench fleet`: the fleet view over 100 profiles.
//!
//! Starts four redis-servers and two memcached servers and saves 100 profiles: 60 live ones
//! (the servers under several database indexes and names), 20 that take connections and never
//! answer, and 20 whose ports refuse. Opens the app headless (kittest) on the fleet view with
//! a 2 s interval, a 1 s per-profile time limit and 16 profiles read at once, and draws frames
//! one after another at most every 1/60 s for five rounds. Reports how long each full round
//! took (the target: within two intervals) and the frame times (UI pass plus tessellation;
//! the target: p99 ≤ 8 ms).

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/frames.rs"]
mod frames;

use std::time::{Duration, Instant};

use frames::{frame, percentile};

use cache_console::config::profiles::{Profile, ProfileStore};
use cache_console::state::AppState;
use cache_console::ui::App;
use egui_kittest::Harness;

const INTERVAL_SECS: f64 = 2.0;
const ROUNDS: usize = 5;

fn add(store: &mut ProfileStore, name: &str, url: &str, group: &str) {
    let (spec, _) = cache_console::config::connection::parse_url(url).expect("url");
    let mut p = Profile::new(name, spec);
    p.group = Some(group.to_owned());
    store.add(p).expect("add");
}

#[expect(
    clippy::too_many_lines,
    reason = "a benchmark's setup, run and report in order"
)]
fn main() {
    let redis: Vec<common::RedisServer> = (0..4).map(|_| common::RedisServer::start()).collect();
    let memcached: Vec<common::MemcachedServer> =
        (0..2).map(|_| common::MemcachedServer::start()).collect();
    for (i, r) in redis.iter().enumerate() {
        common::fill(&mut r.conn(), "k:", 1_000 * (i + 1));
    }
    // Silent: listeners never accepting (the kernel's backlog takes the connection).
    let silent: Vec<std::net::TcpListener> = (0..20)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("bind"))
        .collect();
    let refused: Vec<u16> = (0..20)
        .map(|_| {
            std::net::TcpListener::bind("127.0.0.1:0")
                .expect("bind")
                .local_addr()
                .expect("addr")
                .port()
        })
        .collect();
    let cfg = tempfile::tempdir().expect("cfg");
    let mut store = ProfileStore::empty_in(cfg.path());
    for i in 0..50 {
        let r = &redis[i % redis.len()];
        add(
            &mut store,
            &format!("redis-{i:02}"),
            &r.url_db(u32::try_from(i / 4 % 16).unwrap_or(0)),
            &format!("env-{}", i % 5),
        );
    }
    for i in 0..10 {
        let m = &memcached[i % memcached.len()];
        add(
            &mut store,
            &format!("memcached-{i:02}"),
            &format!("memcached://{}", m.addr()),
            "memcached",
        );
    }
    for (i, l) in silent.iter().enumerate() {
        let port = l.local_addr().expect("addr").port();
        add(
            &mut store,
            &format!("silent-{i:02}"),
            &format!("redis://127.0.0.1:{port}/0"),
            "down",
        );
    }
    for (i, port) in refused.iter().enumerate() {
        add(
            &mut store,
            &format!("refused-{i:02}"),
            &format!("redis://127.0.0.1:{port}/0"),
            "down",
        );
    }
    store.save().expect("save");
    let mut state = AppState::new(ProfileStore::load_from(cfg.path()).store, None);
    state.audit = None;
    state.fleet.interval_secs = INTERVAL_SECS;
    state.fleet.interval_text = INTERVAL_SECS.to_string();
    state.fleet.limits.timeout = Duration::from_secs(1);
    state.fleet.limits.concurrency = 16;
    state.open_fleet();
    let app = App::new(state, None, Instant::now()).expect("app");
    let mut h = Harness::builder()
        .with_size([1600.0, 1000.0])
        .build_ui_state(|ui, app: &mut App| app.ui(ui), app);

    let mut frames = Vec::new();
    let mut rounds: Vec<Duration> = Vec::new();
    let mut last_round = None;
    let started = Instant::now();
    let mut first_full = None;
    let deadline = started + Duration::from_mins(1);
    while rounds.len() < ROUNDS && Instant::now() < deadline {
        let t = frame(&mut h);
        frames.push(t);
        let fleet = &h.state().state.fleet;
        if first_full.is_none()
            && fleet
                .rows
                .iter()
                .all(|r| r.health != cache_console::core::fleet::Health::Waiting)
        {
            first_full = Some(started.elapsed());
        }
        if fleet.last_round != last_round {
            last_round = fleet.last_round;
            if let Some(took) = last_round {
                rounds.push(took);
            }
        }
        if let Some(rest) = Duration::from_millis(16).checked_sub(t) {
            std::thread::sleep(rest);
        }
    }
    let fleet = &h.state().state.fleet;
    let up = fleet
        .rows
        .iter()
        .filter(|r| r.health == cache_console::core::fleet::Health::Up)
        .count();
    let down = fleet
        .rows
        .iter()
        .filter(|r| r.health == cache_console::core::fleet::Health::Down)
        .count();
    let n = frames.len();
    let p50 = percentile(&mut frames, 0.50);
    let p99 = percentile(&mut frames, 0.99);
    let max = frames.last().copied().unwrap_or_default();
    let over = frames
        .iter()
        .filter(|f| **f > Duration::from_millis(8))
        .count();
    println!(
        "fleet: 100 profiles (60 live, 20 silent, 20 refused), interval {INTERVAL_SECS} s, time limit 1 s, 16 at once"
    );
    println!("  rows up {up}, down {down}");
    println!(
        "  first full view after {:.2} s",
        first_full.map_or(f64::NAN, |d| d.as_secs_f64())
    );
    let secs: Vec<String> = rounds
        .iter()
        .map(|r| format!("{:.2}", r.as_secs_f64()))
        .collect();
    println!("  rounds took (s): {}", secs.join(", "));
    let worst = rounds.iter().max().copied().unwrap_or_default();
    println!(
        "  worst round {:.2} s = {:.2} intervals (target ≤ 2)",
        worst.as_secs_f64(),
        worst.as_secs_f64() / INTERVAL_SECS
    );
    println!(
        "  frames: {n}, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, over 8 ms: {over}",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3
    );
}
