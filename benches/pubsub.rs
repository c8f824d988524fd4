//! `cargo bench --bench pubsub`: the Pub/Sub viewer under 50,000 messages a second.
//!
//! Starts a redis-server, opens the app headless (kittest) with the viewer subscribed to a
//! channel, and has a local client publish 50,000 messages a second (pipelined, 1,000 every
//! 20 ms) for ten seconds while frames are drawn one after another at most every 1/60 s.
//! Reports frame times (UI pass plus tessellation), what arrived and was shown, what the
//! bounded ring let go (and what was lost on the way, were the app to fall behind), and the process's resident memory before, at the peak and after,
//! then once more while the rows are filtered as they arrive.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/frames.rs"]
mod frames;
#[path = "support/memory.rs"]
mod memory;

use std::time::{Duration, Instant};

use frames::{frame, percentile};
use memory::rss_mib;

use cache_console::state::SessionAction;
use cache_console::ui::App;
use egui_kittest::Harness;

const RATE: u64 = 50_000;
const SECONDS: u64 = 10;
const BURST: u64 = 1_000;

/// Publishes `RATE` messages a second for `SECONDS` on `channel`, on its own thread.
fn publisher(server: &common::RedisServer, channel: &'static str) -> std::thread::JoinHandle<u64> {
    let mut c = server.conn();
    std::thread::spawn(move || {
        let start = Instant::now();
        let payload = br#"{"order":12345,"status":"paid","items":[1,2,3],"note":"a typical event of about a hundred bytes"}"#;
        let mut sent = 0u64;
        while sent < RATE * SECONDS {
            let due = Duration::from_secs_f64(sent as f64 / RATE as f64);
            if let Some(wait) = due.checked_sub(start.elapsed()) {
                std::thread::sleep(wait);
            }
            let mut pipe = redis::pipe();
            for _ in 0..BURST {
                pipe.cmd("PUBLISH").arg(channel).arg(&payload[..]).ignore();
            }
            pipe.query::<()>(&mut c).expect("publish");
            sent += BURST;
        }
        sent
    })
}

fn run(h: &mut Harness<'static, App>, server: &common::RedisServer, label: &str) {
    let before = rss_mib();
    let sender = publisher(server, "bench");
    let mut frames = Vec::new();
    let mut peak = before;
    let started = Instant::now();
    while !sender.is_finished() || started.elapsed() < Duration::from_secs(SECONDS + 1) {
        let t = frame(h);
        frames.push(t);
        if let Some(rest) = Duration::from_micros(16_667).checked_sub(t) {
            std::thread::sleep(rest);
        }
        if frames.len() % 60 == 0 {
            peak = peak.max(rss_mib());
        }
        if started.elapsed() > Duration::from_secs(SECONDS * 3) {
            break;
        }
    }
    let sent = sender.join().expect("publisher");
    // Let the last batch arrive.
    for _ in 0..30 {
        frames.push(frame(h));
        std::thread::sleep(Duration::from_millis(16));
    }
    let after = rss_mib();
    let (received, held, shown, (evicted, lost)) = h
        .state()
        .state
        .active_session()
        .and_then(|s| s.pubsub.as_ref())
        .map(|v| {
            (
                v.rows.received,
                v.rows.held(),
                v.rows.shown(),
                (v.rows.evicted, v.rows.lost),
            )
        })
        .unwrap_or_default();
    let over = frames
        .iter()
        .filter(|f| **f > Duration::from_millis(16))
        .count();
    let mut sorted = frames.clone();
    let p50 = percentile(&mut sorted, 0.50);
    let p99 = percentile(&mut sorted, 0.99);
    let max = sorted.last().copied().unwrap_or_default();
    println!("\n{label}");
    println!(
        "  published {sent} at {RATE}/s; the app received {received} in all since it subscribed, \
         holds {held} (ring bound {}), shows {shown}; {evicted} older rows let go from the ring, \
         {lost} lost on the way (the app fell behind)",
        cache_console::state::MAX_ROWS
    );
    println!(
        "  frames: {} drawn, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, {over} over 16 ms",
        frames.len(),
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3
    );
    println!(
        "  resident memory: {before:.0} MiB before, {peak:.0} MiB at the peak, {after:.0} MiB after"
    );
}

fn main() {
    let server = common::RedisServer::start();
    let (_cfg, mut h) = common::ui::connect_with(&server.url(), "bench", |_| {});
    common::ui::wait_listed(&mut h);
    common::ui::act(&mut h, SessionAction::OpenPubSub);
    h.run_steps(2);
    if let Some(view) = h
        .state_mut()
        .state
        .active_session_mut()
        .and_then(|s| s.pubsub.as_mut())
    {
        view.channels = "bench".into();
    }
    common::ui::act(&mut h, SessionAction::Subscribe);
    let mut c = server.conn();
    let deadline = Instant::now() + Duration::from_secs(10);
    while redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg("bench")
        .query::<(String, i64)>(&mut c)
        .expect("numsub")
        .1
        == 0
    {
        assert!(Instant::now() < deadline, "the viewer never subscribed");
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    run(
        &mut h,
        &server,
        "1. 50,000 messages/s into the Pub/Sub viewer (10 s)",
    );
    if let Some(view) = h
        .state_mut()
        .state
        .active_session_mut()
        .and_then(|s| s.pubsub.as_mut())
    {
        view.filter = "paid".into();
    }
    run(&mut h, &server, "2. the same, filtered as the rows arrive");
    h.state_mut().shutdown();
}
