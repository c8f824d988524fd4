//! `cargo bench --bench browser`: the key browser's speed and memory with 1,000,000 keys.
//!
//! Fills a redis-server it starts itself, then reports in one run:
//! 1. listing every key through the app's own path (service → channel → state → key index, the
//!    list view shown and a frame drawn at most every 1/60 s meanwhile) against a bare redis-rs
//!    `SCAN COUNT 1000` loop that does nothing with the keys;
//! 2. bytes per key held by the key index beyond the key bytes themselves, and with the
//!    namespace tree once the tree view has grouped the keys;
//! 3. frame times of the key browser, headless (kittest, UI pass plus tessellation): flat list
//!    scrolled, the tree view grouping the listed keys, the tree expanded on a 300,000-key
//!    namespace and scrolled, and a filter typed;
//! 4. a memory analysis of the whole keyspace through the app (SCAN + pipelined TYPE/PTTL/
//!    MEMORY USAGE), with the frame times of the UI while it runs;
//! 5. launch to first drawn frame of the release binary (under Xvfb when no display is set);
//! 6. frame time of a metrics dashboard holding an hour of samples, drawn with the 1 h window.
#![allow(
    clippy::too_many_lines,
    reason = "each test (and the bench run) reads as one story, start to end"
)]

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/frames.rs"]
#[allow(dead_code, reason = "the browser times its frames its own way")]
mod frames;

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use frames::percentile;

use cache_console::state::{BrowserView, SessionAction};
use cache_console::ui::App;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

const KEYS: usize = 1_000_000;

fn fill(server: &common::RedisServer) {
    let mut c = server.conn();
    let mut pipe = redis::pipe();
    for i in 0..KEYS {
        // 30% strings, 30% hashes, 20% lists, 20% sets; `{type}:{id}:{sub}` names.
        let (t, cmd) = match i % 10 {
            0..=2 => ("string", "SET"),
            3..=5 => ("hash", "HSET"),
            6..=7 => ("list", "RPUSH"),
            _ => ("set", "SADD"),
        };
        let key = format!("{t}:{}:{}", i / 3, ["name", "data", "meta"][i % 3]);
        match cmd {
            "SET" => pipe.cmd("SET").arg(&key).arg(i).ignore(),
            "HSET" => pipe.cmd("HSET").arg(&key).arg("f").arg(i).ignore(),
            other => pipe.cmd(other).arg(&key).arg(i).ignore(),
        };
        if i % 2 == 0 {
            pipe.cmd("EXPIRE").arg(&key).arg(3600 + i % 7200).ignore();
        }
        if (i + 1) % 20_000 == 0 {
            pipe.query::<()>(&mut c).expect("fill");
            pipe = redis::pipe();
        }
    }
    if !KEYS.is_multiple_of(20_000) {
        pipe.query::<()>(&mut c).expect("fill");
    }
    let n: usize = redis::cmd("DBSIZE").query(&mut c).expect("dbsize");
    assert_eq!(n, KEYS);
}

fn bare_scan(server: &common::RedisServer) -> (Duration, usize) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mut conn = server
            .client()
            .get_multiplexed_async_connection()
            .await
            .expect("connect");
        let start = Instant::now();
        let n = common::bare_scan(&mut conn).await;
        (start.elapsed(), n)
    })
}

fn timed_frames(
    h: &mut Harness<'static, App>,
    n: usize,
    mut before: impl FnMut(&mut Harness<'static, App>, usize),
) -> Vec<Duration> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        before(h, i);
        let start = Instant::now();
        h.step();
        // Tessellation too, as the real app does before painting (kittest's step stops short
        // of it); only the GPU upload and paint are left out.
        let shapes = h.output().shapes.clone();
        let pixels_per_point = h.output().pixels_per_point;
        let _ = h.ctx.tessellate(shapes, pixels_per_point);
        out.push(start.elapsed());
    }
    out
}

/// Bytes the key index holds, of them key names, and its namespace nodes.
fn index_memory(h: &Harness<'static, App>) -> (usize, usize, usize) {
    h.state()
        .state
        .active_session()
        .map(|s| {
            (
                s.browser.index.heap_bytes(),
                s.browser.index.key_bytes(),
                s.browser.index.node_total(),
            )
        })
        .unwrap_or_default()
}

/// Frame times until `done` holds (at most 5,000 frames).
fn timed_frames_until(
    h: &mut Harness<'static, App>,
    done: impl Fn(&Harness<'static, App>) -> bool,
) -> Vec<Duration> {
    let mut out = Vec::new();
    while !done(h) && out.len() < 5_000 {
        out.extend(timed_frames(h, 1, |_, _| {}));
    }
    out
}

fn report(name: &str, mut frames: Vec<Duration>) -> Duration {
    let p50 = percentile(&mut frames, 0.50);
    let p99 = percentile(&mut frames, 0.99);
    let max = frames.last().copied().unwrap_or_default();
    println!(
        "  {name:<44} p50 {:>6.2} ms   p99 {:>6.2} ms   max {:>6.2} ms   ({} frames)",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3,
        frames.len()
    );
    p99
}

fn scroll(h: &Harness<'static, App>, delta: f32) {
    h.hover_at(egui::pos2(600.0, 500.0));
    h.event(egui::Event::MouseWheel {
        unit: egui::MouseWheelUnit::Point,
        delta: egui::vec2(0.0, delta),
        phase: egui::TouchPhase::Move,
        modifiers: egui::Modifiers::NONE,
        source: egui::MouseWheelSource::Wheel,
    });
}

fn launch_time() -> Option<Duration> {
    let mut xvfb = None;
    let display = match std::env::var("DISPLAY") {
        Ok(d) if !d.is_empty() => d,
        _ => {
            let child = Command::new("Xvfb")
                .args([":97", "-screen", "0", "1400x900x24", "-nolisten", "tcp"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .ok()?;
            xvfb = Some(child);
            std::thread::sleep(Duration::from_millis(800));
            ":97".to_owned()
        }
    };
    let cfg = tempfile::tempdir().ok()?;
    let mut best: Option<Duration> = None;
    for _ in 0..3 {
        let mut app = Command::new(common::binary())
            .env("DISPLAY", &display)
            .env("CACHE_CONSOLE_CONFIG_DIR", cfg.path())
            .env("RUST_LOG", "cache_console=info")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .ok()?;
        let stderr = app.stderr.take()?;
        let mut found = None;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("first frame drawn ").nth(1) {
                found = rest
                    .split(" ms")
                    .next()
                    .and_then(|ms| ms.trim().parse::<u64>().ok())
                    .map(Duration::from_millis);
                break;
            }
        }
        let _ = app.kill();
        let _ = app.wait();
        if let Some(d) = found {
            best = Some(best.map_or(d, |b: Duration| b.max(d)));
        }
    }
    if let Some(mut x) = xvfb {
        let _ = x.kill();
        let _ = x.wait();
    }
    best
}

fn main() {
    // `cargo test --benches` runs this with --bench absent: do nothing there.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let server = common::RedisServer::start();
    let fill_start = Instant::now();
    fill(&server);
    println!(
        "filled {KEYS} keys in {:.1} s",
        fill_start.elapsed().as_secs_f64()
    );

    // 1. Listing: bare SCAN loop vs the app's path, each measured twice, best kept.
    let bare = (0..2)
        .map(|_| {
            let (t, n) = bare_scan(&server);
            assert!(n >= KEYS);
            t
        })
        .min()
        .unwrap_or_default();

    let (mut h, app_best) = common::ui::timed_app_listing(&server.url(), 2, None);
    let listed = h
        .state()
        .state
        .active_session()
        .map_or(0, |s| s.browser.index.len());
    assert_eq!(listed, KEYS, "every key listed exactly once");
    let ratio = app_best.as_secs_f64() / bare.as_secs_f64();
    println!("\n1. full listing of {KEYS} keys");
    println!(
        "  bare redis-rs SCAN COUNT 1000 loop            {:>8.0} ms",
        bare.as_secs_f64() * 1e3
    );
    println!(
        "  app path (service, channel, index, tree, UI)  {:>8.0} ms",
        app_best.as_secs_f64() * 1e3
    );
    println!("  ratio                                         {ratio:>8.2}   (target <= 1.25)");

    // 2. Memory of the index as a listing in the list view leaves it (no tree yet); with the
    // tree, below, once the tree view has grouped the keys.
    let (heap, key_bytes, nodes) = index_memory(&h);
    #[allow(clippy::cast_precision_loss)]
    let per_key = (heap - key_bytes) as f64 / KEYS as f64;
    println!("\n2. key index + tree memory");
    println!(
        "  {:.1} MiB held, {:.1} MiB of it key bytes, {nodes} namespace nodes",
        heap as f64 / 1_048_576.0,
        key_bytes as f64 / 1_048_576.0
    );
    println!("  bytes per key beyond the key bytes            {per_key:>8.1}   (target <= 100)");

    // 3. Frame times.
    println!("\n3. key browser frame time with {KEYS} keys loaded (headless kittest)");
    h.run_steps(5);
    let flat = timed_frames(&mut h, 300, |h, i| {
        scroll(h, if i % 50 < 40 { -400.0 } else { 900.0 });
    });
    let p_flat = report("flat list, scrolled", flat);

    // The tree view of a listing made in the list view: keys join the tree a few ms a frame.
    if let Some(s) = h.state_mut().state.active_session_mut() {
        s.browser.view = BrowserView::Tree;
    }
    let grouping = timed_frames_until(&mut h, |h| {
        h.state()
            .state
            .active_session()
            .is_some_and(|s| s.browser.index.tree_complete())
    });
    let p_grouping = report("tree view grouping the listed keys", grouping);
    let (heap, key_bytes, nodes) = index_memory(&h);
    #[allow(clippy::cast_precision_loss)]
    let tree_per_key = (heap - key_bytes) as f64 / KEYS as f64;
    println!(
        "  with the tree: {:.1} MiB held, {nodes} namespace nodes, {tree_per_key:.1} bytes per key \
         beyond the key bytes (target <= 100)",
        heap as f64 / 1_048_576.0
    );
    h.run_steps(3);
    let string_node = h
        .state()
        .state
        .active_session()
        .and_then(|s| s.browser.index.find_node(&[b"string"]))
        .expect("string namespace");
    let count = h
        .state()
        .state
        .active_session()
        .map_or(0, |s| s.browser.index.node_count(string_node));
    let mut expanded = false;
    let tree = timed_frames(&mut h, 300, |h, i| {
        if expanded {
            scroll(h, if i % 50 < 40 { -400.0 } else { 900.0 });
        } else {
            h.get_by_label(&format!(
                "+ string ({})",
                cache_console::core::format::group_digits(u64::from(count))
            ))
            .click();
            expanded = true;
        }
    });
    let p_tree = report(
        &format!("tree, {count}-key namespace expanded, scrolled"),
        tree,
    );

    if let Some(s) = h.state_mut().state.active_session_mut() {
        s.browser.view = BrowserView::Flat;
    }
    h.run_steps(3);
    h.get_by_label("Filter").focus();
    h.run_steps(1);
    let typed = "hash:12";
    let filter = timed_frames(&mut h, 300, |h, i| {
        if i % 20 == 0 && i / 20 < typed.len() {
            let c = &typed[(i / 20)..=(i / 20)];
            h.get_by_label("Filter").type_text(c);
        }
    });
    let p_filter = report("filter typed (one letter every 20 frames)", filter);
    let shown = h
        .state()
        .state
        .active_session()
        .map_or(0, |s| s.browser.flat_len());
    println!("  filter `{typed}` matched {shown} keys");
    let worst = p_flat.max(p_tree).max(p_filter).max(p_grouping);
    println!(
        "  worst p99                                     {:>8.2} ms (target <= 8 ms)",
        worst.as_secs_f64() * 1e3
    );
    // 4. Memory analysis of every key, the UI drawing frames meanwhile.
    println!("\n4. memory analysis of {KEYS} keys through the app");
    common::ui::act(&mut h, SessionAction::OpenAnalysis);
    common::ui::act(&mut h, SessionAction::StartAnalysis);
    let start = Instant::now();
    let mut frames = Vec::new();
    let analysed = loop {
        let frame = Instant::now();
        h.step();
        frames.push(frame.elapsed());
        let done = h
            .state()
            .state
            .active_session()
            .and_then(|s| s.analysis.as_ref())
            .filter(|v| !v.running)
            .and_then(|v| v.report.clone());
        if let Some(report) = done {
            break report;
        }
        assert!(
            start.elapsed() < Duration::from_mins(10),
            "analysis did not finish"
        );
        std::thread::sleep(Duration::from_millis(2));
    };
    let took = start.elapsed();
    assert!(
        analysed.keys + analysed.vanished >= KEYS as u64,
        "{}",
        analysed.keys
    );
    println!(
        "  {} keys, {:.1} MiB, in {:.1} s ({:.0} keys/s); biggest namespace `{}`",
        analysed.keys,
        analysed.bytes as f64 / 1_048_576.0,
        took.as_secs_f64(),
        analysed.keys as f64 / took.as_secs_f64(),
        analysed.namespaces.first().map_or("", |(n, _)| n.as_str())
    );
    report("UI frames while it ran", frames);
    close_all_windows(&mut h);
    let dashboard = dashboard_frames(&mut h);
    h.state_mut().shutdown();

    // 5. Launch.
    println!("\n5. launch to first drawn frame (release binary, worst of 3)");
    match launch_time() {
        Some(d) => println!("  {:>8.0} ms   (target <= 500 ms)", d.as_secs_f64() * 1e3),
        None => println!("  not measured: no X display and no Xvfb to start one"),
    }

    println!("\n6. metrics dashboard with an hour of samples (3,600 points a series), 1 h window");
    report("dashboard open, repainting", dashboard);
}

fn close_all_windows(h: &mut Harness<'static, App>) {
    if let Some(s) = h.state_mut().state.active_session_mut() {
        s.analysis = None;
    }
    h.run_steps(2);
}

/// Fills the dashboard of the open connection with an hour of one-second samples (every
/// figure moving), shows the 1 h window and times the frames that draw it.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // a positive wave
fn dashboard_frames(h: &mut Harness<'static, App>) -> Vec<Duration> {
    use cache_console::core::metrics::{RawStats, Sample, Window, derive};
    let start_ms = cache_console::core::ttl::now_unix_ms() - 3_600_000;
    let mut prev: Option<Sample> = None;
    let mut points = Vec::with_capacity(3600);
    for i in 0..3600u64 {
        let wave = (i as f64 / 60.0).sin().mul_add(500.0, 1000.0) as u64;
        let stats = RawStats {
            instance: Some("bench".into()),
            uptime_secs: Some(i),
            hits: Some(i * 900 + wave),
            misses: Some(i * 100),
            commands: Some(i * 2000 + wave),
            evicted: Some(i / 3),
            expired: Some(i * 2),
            net_in: Some(i * 50_000),
            net_out: Some(i * 80_000),
            used_memory: Some(100_000_000 + wave * 1000),
            rss_memory: Some(120_000_000 + wave * 1000),
            max_memory: Some(256_000_000),
            fragmentation: Some(1.2),
            clients: Some(10 + wave / 100),
            blocked_clients: Some(wave / 500),
            keys: Some(1_000_000 + i),
            ..RawStats::default()
        };
        let sample = Sample {
            at_ms: start_ms + i * 1000,
            servers: vec![("bench".into(), stats)],
        };
        points.push(derive(prev.as_ref(), &sample));
        prev = Some(sample);
    }
    if let Some(s) = h.state_mut().state.active_session_mut() {
        s.dashboard.history = cache_console::core::metrics::History::new(1.0);
        for p in points {
            s.dashboard.history.push(p);
        }
        s.dashboard.window = Window::OneHour;
    }
    common::ui::act(h, SessionAction::OpenDashboard);
    h.run_steps(3);
    timed_frames(h, 200, |h, i| {
        // Hovering over a chart, as someone reading values does.
        h.hover_at(egui::pos2(500.0 + (i % 40) as f32 * 5.0, 420.0));
    })
}
