//! The desktop UI driven as a user would (`egui_kittest`), against a real redis-server.
#![allow(
    clippy::too_many_lines,
    reason = "each test reads as one user story, start to end"
)]

mod common;

use std::time::{Duration, Instant};

use cache_console::config::profiles::ProfileStore;
use cache_console::state::{
    AppState, Pending, ScanPhase, SessionAction, SessionStatus, ViewerState,
};
use common::RedisServer;
use common::ui::{
    connect_to, filter_to, harness, replace_text, run_until, viewer_mode, wait_listed, wait_value,
};
use egui_kittest::kittest::Queryable;

fn seed(server: &RedisServer) {
    let mut c = server.conn();
    for i in 0..40 {
        redis::cmd("SET")
            .arg(format!("user:{i}:profile"))
            .arg(format!(r#"{{"id":{i},"name":"User {i}"}}"#))
            .query::<()>(&mut c)
            .expect("set");
    }
    for i in 0..10 {
        redis::cmd("SET")
            .arg(format!("order:{i}"))
            .arg(i)
            .query::<()>(&mut c)
            .expect("set");
    }
    let mut h = redis::cmd("HSET");
    h.arg("user:big:fields");
    for i in 0..2000 {
        h.arg(format!("field{i:04}")).arg(format!("value {i}"));
    }
    h.query::<()>(&mut c).expect("hset");
    redis::cmd("EXPIRE")
        .arg("user:big:fields")
        .arg(3600)
        .query::<()>(&mut c)
        .expect("expire");
}

#[test]
fn create_a_profile_connect_search_browse_the_tree_and_page_a_hash() {
    let server = RedisServer::start();
    seed(&server);
    let cfg = tempfile::tempdir().expect("config dir");
    let state = AppState::new(ProfileStore::empty_in(cfg.path()), None);
    let mut h = harness(state);
    h.run_steps(2);

    // Create a profile from a pasted URL.
    h.get_by_label("New profile").click();
    h.run_steps(2);
    replace_text(&mut h, "Name", "test server");
    replace_text(&mut h, "Paste URL", &server.url());
    h.get_by_label("Fill from URL").click();
    h.run_steps(2);
    h.get_by_label("Test connection").click();
    common::ui::wait_tested(&mut h);
    assert!(
        h.query_by_label_contains("Connection OK: Redis").is_some(),
        "{:?}",
        h.state().state.form
    );
    h.get_by_label("Save").click();
    // The file is written by the service, off the UI thread.
    let file = cfg.path().join("profiles.ron");
    run_until(&mut h, "the profiles file", |_| {
        std::fs::read_to_string(&file).is_ok_and(|t| t.contains("test server"))
    });
    let saved = std::fs::read_to_string(&file).expect("saved profiles");
    assert!(saved.contains("test server"), "{saved}");
    assert!(saved.contains(&server.port.to_string()), "{saved}");

    // Connect: the default pattern lists everything.
    h.get_by_label("test server").click();
    h.run_steps(1);
    h.get_by_label("Connect").click();
    run_until(&mut h, "connected and listed", |app| {
        app.state.active_session().is_some_and(|s| {
            s.status == SessionStatus::Connected && s.browser.scan.phase == ScanPhase::Done
        })
    });
    assert!(
        h.query_by_label("scanned 51 of 51 keys, 51 matched")
            .is_some()
    );

    // Search for a pattern.
    replace_text(&mut h, "Pattern", "user:1*");
    h.get_by_label("Search").click();
    run_until(&mut h, "the user:1* listing", |app| {
        app.state
            .active_session()
            .is_some_and(|s| s.browser.scan.phase == ScanPhase::Done && s.browser.index.len() == 11)
    });
    assert!(
        h.query_by_label("scanned 51 of 51 keys, 11 matched")
            .is_some()
    );
    assert!(h.query_by_label("user:17:profile").is_some());
    assert!(h.query_by_label("order:1").is_none());

    // Everything under user:, as a tree.
    replace_text(&mut h, "Pattern", "user:*");
    h.get_by_label("Search").click();
    run_until(&mut h, "the user:* listing", |app| {
        app.state
            .active_session()
            .is_some_and(|s| s.browser.scan.phase == ScanPhase::Done && s.browser.index.len() == 41)
    });
    h.get_by_label("Tree").click();
    h.run_steps(2);
    h.get_by_label("+ user (41)").click();
    h.run_steps(2);
    assert!(h.query_by_label("- user (41)").is_some());
    assert!(h.query_by_label("+ 1 (1)").is_some());
    assert!(h.query_by_label("+ 10 (1)").is_some());
    // The filter narrows the tree to the namespaces holding matches.
    filter_to(&mut h, "big");
    assert!(h.query_by_label("- user (1)").is_some());
    assert!(h.query_by_label("+ 1 (1)").is_none());
    h.get_by_label("+ big (1)").click();
    h.run_steps(2);

    // Open the big hash and page it.
    h.get_by_label("fields").click();
    wait_value(&mut h);
    assert!(h.query_by_label_contains("Length: 2,000").is_some());
    assert!(
        h.query_by_label_contains("TTL: 59m").is_some()
            || h.query_by_label_contains("TTL: 1h").is_some()
    );
    let first = h
        .state()
        .state
        .active_session()
        .and_then(|s| s.viewer.as_ref())
        .map(cache_console::state::Viewer::loaded_len);
    let first = first.expect("loaded");
    assert!(
        first > 0 && first < 2000,
        "a first page, not everything: {first}"
    );
    // Page through: "Load more" (and scrolling to the end) fetch the next page.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let done = h.state().state.active_session().is_some_and(|s| {
            s.viewer.as_ref().is_some_and(|v| v.next.is_none()) && !s.is_pending(Pending::Page)
        });
        if done {
            break;
        }
        assert!(Instant::now() < deadline, "paging did not finish");
        if let Some(button) = h.query_by_label("Load more") {
            button.click();
        }
        h.step();
        std::thread::sleep(Duration::from_millis(5));
    }
    h.run_steps(2);
    assert!(h.query_by_label("Loaded 2,000 of 2,000").is_some());

    // Browsing wrote nothing.
    let mut c = server.conn();
    let len: u64 = redis::cmd("HLEN")
        .arg("user:big:fields")
        .query(&mut c)
        .expect("hlen");
    let size: u64 = redis::cmd("DBSIZE").query(&mut c).expect("dbsize");
    assert_eq!((len, size), (2000, 51));
    h.state_mut().shutdown();
}

#[test]
fn filter_and_keyboard_navigation() {
    let server = RedisServer::start();
    seed(&server);
    let (_cfg, mut h) = connect_to(&server.url(), "kb");
    wait_listed(&mut h);
    filter_to(&mut h, "ORDER:");
    assert!(
        h.query_by_label_contains("filter: 10 of 51 loaded")
            .is_some()
    );
    assert!(h.query_by_label_contains("user:").is_none());
    // Arrow down from the filter field selects and opens the first row.
    h.key_press(egui::Key::ArrowDown);
    wait_value(&mut h);
    let opened = h
        .state()
        .state
        .active_session()
        .and_then(|s| s.viewer.as_ref())
        .map(|v| v.key.clone())
        .expect("opened");
    assert!(opened.starts_with(b"order:"));
    h.key_press(egui::Key::ArrowDown);
    run_until(&mut h, "the second key", |app| {
        app.state
            .active_session()
            .and_then(|s| s.viewer.as_ref())
            .is_some_and(|v| v.key != opened && v.state == ViewerState::Loaded)
    });
    h.state_mut().shutdown();
}

#[test]
fn a_key_deleted_after_listing_says_so() {
    let server = RedisServer::start();
    seed(&server);
    let (_cfg, mut h) = connect_to(&server.url(), "gone");
    wait_listed(&mut h);
    filter_to(&mut h, "order:3");
    let mut c = server.conn();
    redis::cmd("DEL")
        .arg("order:3")
        .query::<()>(&mut c)
        .expect("del");
    h.get_by_label("order:3").click();
    run_until(&mut h, "the failure", |app| {
        app.state
            .active_session()
            .and_then(|s| s.viewer.as_ref())
            .is_some_and(|v| matches!(v.state, ViewerState::Failed(_)))
    });
    assert!(
        h.query_by_label_contains("key `order:3` does not exist")
            .is_some(),
        "the user sees why"
    );
    h.state_mut().shutdown();
}

#[test]
fn a_refused_connection_is_shown_and_can_be_retried() {
    let mut server = RedisServer::start();
    let url = server.url();
    server.kill();
    let (_cfg, mut h) = connect_to(&url, "down");
    run_until(&mut h, "the failure", |app| {
        app.state
            .active_session()
            .is_some_and(|s| matches!(s.status, SessionStatus::Failed(_)))
    });
    assert!(
        h.query_by_label_contains("Could not connect: cannot connect to 127.0.0.1")
            .is_some()
    );
    assert!(h.query_by_label("Retry").is_some());
    h.state_mut().shutdown();
}

#[test]
fn a_damaged_profiles_file_shows_a_notice_and_the_app_still_starts() {
    let cfg = tempfile::tempdir().expect("config dir");
    std::fs::write(cfg.path().join("profiles.ron"), "garbage (").expect("write");
    let loaded = ProfileStore::load_from(cfg.path());
    let mut h = harness(AppState::new(loaded.store, loaded.warning));
    h.run_steps(2);
    assert!(h.query_by_label_contains("is damaged").is_some());
    assert!(h.query_by_label("Welcome to Cache Console").is_some());
    h.get_by_label("Dismiss").click();
    h.run_steps(2);
    assert!(h.query_by_label_contains("is damaged").is_none());
    h.state_mut().shutdown();
}

#[test]
fn password_prompt_and_profile_edit_clone_delete() {
    let server = RedisServer::start_with(Some("pw-ui"));
    common::fill(&mut server.conn(), "secure:", 12);
    let cfg = tempfile::tempdir().expect("config dir");
    let mut store = ProfileStore::empty_in(cfg.path());
    let (mut spec, _) = cache_console::config::connection::parse_url(&server.url()).expect("url");
    spec.set_password_source(cache_console::config::connection::PasswordSource::Prompt);
    store
        .add(cache_console::config::profiles::Profile::new(
            "secured", spec,
        ))
        .expect("add profile");
    store.save().expect("save profiles");
    let mut h = harness(AppState::new(store, None));
    h.run_steps(1);

    // A wrong password is refused, and the next attempt asks again.
    h.get_by_label("secured").click();
    h.run_steps(1);
    h.get_by_label("Connect").click();
    h.run_steps(2);
    assert!(h.query_by_label("Password for secured").is_some());
    h.get_by_label("Password").focus();
    h.run_steps(1);
    h.get_by_label("Password").type_text("not-it");
    h.key_press(egui::Key::Enter);
    run_until(&mut h, "the refusal", |app| {
        app.state
            .active_session()
            .is_some_and(|s| matches!(s.status, SessionStatus::Failed(_)))
    });
    assert!(h.query_by_label_contains("authentication failed").is_some());
    assert!(
        h.query_by_label_contains("not-it").is_none(),
        "the password is never shown"
    );
    h.get_by_label("Retry").click();
    h.run_steps(2);
    assert!(h.query_by_label("Password for secured").is_some());
    h.get_by_label("Password").focus();
    h.run_steps(1);
    h.get_by_label("Password").type_text("pw-ui");
    h.key_press(egui::Key::Enter);
    wait_listed(&mut h);
    assert!(
        h.query_by_label("scanned 12 of 12 keys, 12 matched")
            .is_some()
    );
    let file = std::fs::read_to_string(cfg.path().join("profiles.ron")).expect("profiles");
    assert!(!file.contains("pw-ui"), "{file}");

    // Edit: a new delimiter is saved.
    h.get_by_label("Edit").click();
    h.run_steps(2);
    replace_text(&mut h, "Tree delimiter", "/");
    h.get_by_label("Save").click();
    h.run_steps(2);
    assert_eq!(
        h.state()
            .state
            .profiles
            .get("secured")
            .map(|p| p.delimiter.as_str()),
        Some("/")
    );
    // The file is written by the service, off the UI thread.
    let path = cfg.path().join("profiles.ron");
    run_until(&mut h, "the saved delimiter", |_| {
        std::fs::read_to_string(&path).is_ok_and(|f| f.contains("delimiter: \"/\""))
    });

    // Clone, then delete the clone after confirming.
    h.get_by_label("Clone").click();
    h.run_steps(2);
    assert!(h.query_by_label("secured (copy)").is_some());
    h.get_by_label("Delete").click();
    h.run_steps(2);
    assert!(h.query_by_label("Delete profile?").is_some());
    h.get_by_label("Delete profile").click();
    h.run_steps(2);
    assert!(h.query_by_label("secured (copy)").is_none());
    run_until(&mut h, "the profiles file written", |app| {
        !app.state.saving_profiles()
    });
    let names: Vec<String> = ProfileStore::load_from(cfg.path())
        .store
        .profiles()
        .iter()
        .map(|p| p.name.clone())
        .collect();
    assert_eq!(names, ["secured"]);
    h.state_mut().shutdown();
}

#[test]
fn a_key_can_be_opened_by_name_without_listing_it() {
    let server = RedisServer::start();
    let mut c = server.conn();
    common::fill(&mut c, "many:", 5_000);
    redis::cmd("SET")
        .arg(b"raw:\xff".as_slice())
        .arg("found me")
        .query::<()>(&mut c)
        .expect("set");
    let (_cfg, mut h) = connect_to(&server.url(), "by-name");
    common::ui::wait_listed(&mut h);
    // List only a first batch: the key to open is most likely not among them.
    if let Some(s) = h.state_mut().state.active_session_mut() {
        s.browser.batch_limit = 100;
    }
    common::ui::act(&mut h, SessionAction::Search);
    run_until(&mut h, "a paused listing", |app| {
        app.state
            .active_session()
            .is_some_and(|s| matches!(s.browser.scan.phase, ScanPhase::Paused | ScanPhase::Done))
    });
    replace_text(&mut h, "Open key", "raw:\\xff");
    h.get_by_label("Open").click();
    wait_value(&mut h);
    let value = common::ui::viewer_items(&h);
    assert_eq!(
        value,
        Some(cache_console::core::model::ValueItems::String {
            bytes: bytes::Bytes::from_static(b"found me"),
            total_len: 8
        })
    );
    replace_text(&mut h, "Open key", "no:such:key");
    h.get_by_label("Open").click();
    run_until(&mut h, "the failure", |app| {
        app.state
            .active_session()
            .and_then(|s| s.viewer.as_ref())
            .is_some_and(|v| matches!(v.state, ViewerState::Failed(_)))
    });
    assert!(
        h.query_by_label_contains("`no:such:key` does not exist")
            .is_some()
    );
    h.state_mut().shutdown();
}

#[test]
fn the_first_run_demo_works_without_any_server() {
    let dirs = tempfile::tempdir().expect("dirs");
    let mut store = ProfileStore::empty_in(&dirs.path().join("config"));
    assert!(cache_console::config::demo::ensure_first_run(&mut store, dirs.path()).expect("seed"));
    let mut h = common::ui::harness(AppState::new(store, None));
    h.run_steps(2);
    assert!(h.query_by_label("Local demo").is_some());
    h.get_by_label("Local demo").click();
    h.run_steps(1);
    h.get_by_label("Connect").click();
    common::ui::wait_listed(&mut h);
    let listed = h
        .state()
        .state
        .active_session()
        .map_or(0, |s| s.browser.index.len());
    assert!(listed > 100, "{listed}");
    assert!(h.query_by_label("Purge expired").is_some());
    filter_to(&mut h, "config:app");
    h.get_by_label("config:app").click();
    wait_value(&mut h);
    let mode = viewer_mode(&h);
    assert_eq!(
        mode,
        Some(cache_console::state::ValueMode::Decoded(None)),
        "PHP values open decoded"
    );
    h.state_mut().shutdown();
}

#[test]
fn the_dashboard_charts_live_figures_and_compares_two_connections() {
    let server = RedisServer::start();
    let mut c = server.conn();
    common::hits_and_misses(&mut c, 30, 10);
    // The app browses the empty db 5, so its own key lookups add no hits to db 0's 30 and 10.
    let (_cfg, mut h) = connect_to(&server.url_db(5), "redis-live");
    wait_listed(&mut h);
    h.get_by_label("Metrics").click();
    let samples = |app: &cache_console::ui::App, i: usize| {
        app.state
            .sessions
            .get(i)
            .map_or(0, |s| s.dashboard.history.total.len())
    };
    run_until(&mut h, "three samples", |app| samples(app, 0) >= 3);
    assert!(h.query_by_label("Metrics · redis-live").is_some());
    for title in [
        "Hit rate (%)",
        "Memory (bytes)",
        "Operations (per second)",
        "Clients",
        "Network (bytes per second)",
    ] {
        // Chart titles (some also name a read-out).
        assert!(
            h.query_all_by_label(title).next().is_some(),
            "chart {title}"
        );
    }
    assert!(
        h.query_by_label("75.0 % since start").is_some(),
        "the lifetime hit rate of 30 hits and 10 misses"
    );
    assert!(h.query_by_label("no memory limit").is_some());
    assert!(h.query_by_label("Keys per database · db0: 1").is_some());
    let info: String = redis::cmd("INFO").arg("stats").query(&mut c).expect("info");
    assert!(info.contains("keyspace_hits:30\r"), "{info}");

    // A wrong interval is refused and changes nothing; a good one is used.
    replace_text(&mut h, "Sample every", "soon");
    h.key_press(egui::Key::Enter);
    h.run_steps(2);
    assert!(
        h.query_by_label_contains("`soon` is not an interval")
            .is_some()
    );
    replace_text(&mut h, "Sample every", "200ms");
    h.key_press(egui::Key::Enter);
    h.run_steps(2);
    let interval = h.state().state.sessions[0].dashboard.interval_secs;
    assert!((interval - 0.2).abs() < 1e-9, "{interval}");
    assert!(h.query_by_label_contains("is not an interval").is_none());

    // A second connection's dashboard beside the first.
    let mc = common::MemcachedServer::start();
    mc.raw("set a 0 0 1\r\nx\r\n", "STORED");
    let (spec, _) =
        cache_console::config::connection::parse_url(&format!("memcached://{}", mc.addr()))
            .expect("url");
    h.state_mut()
        .state
        .profiles
        .add(cache_console::config::profiles::Profile::new(
            "mc-live", spec,
        ))
        .expect("profile");
    h.state_mut().state.connect_profile("mc-live");
    run_until(&mut h, "the memcached connection", |app| {
        app.state
            .active_session()
            .is_some_and(|s| s.status == SessionStatus::Connected)
    });
    h.get_by_label("Metrics").click();
    run_until(&mut h, "samples of both", |app| {
        samples(app, 1) >= 2 && samples(app, 0) >= 6
    });
    assert!(h.query_by_label("Metrics · redis-live").is_some());
    assert!(h.query_by_label("Metrics · mc-live").is_some());
    assert!(
        h.query_all_by_label("Entries").next().is_some(),
        "memcached's item count"
    );
    let mc_keys = h.state().state.sessions[1]
        .dashboard
        .history
        .latest()
        .and_then(|p| p.value(cache_console::core::metrics::Metric::Keys));
    assert_eq!(mc_keys, Some(1.0));

    // Both on one chart.
    // The newest window is on top: its button is the one a user can click.
    h.get_all_by_label("Compare…")
        .last()
        .expect("a compare button")
        .click();
    h.run_steps(3);
    assert!(h.query_by_label("Compare connections").is_some());
    assert!(h.query_by_label_contains("— redis-live: ").is_some());
    assert!(h.query_by_label_contains("— mc-live: ").is_some());
    h.state_mut().state.compare = None;
    h.run_steps(2);

    // Closing the windows stops both samplers: nothing shows their figures any more.
    for _ in 0..2 {
        h.get_all_by_label("Close window")
            .next()
            .expect("a window")
            .click();
        h.run_steps(2);
    }
    assert!(
        h.state()
            .state
            .sessions
            .iter()
            .all(|s| !s.dashboard.sampling())
    );
    let before = (samples(h.state(), 0), samples(h.state(), 1));
    let until = Instant::now() + Duration::from_millis(700);
    while Instant::now() < until {
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!((samples(h.state(), 0), samples(h.state(), 1)), before);
}

#[test]
fn a_memory_analysis_runs_from_the_app_and_opens_the_biggest_key() {
    let server = RedisServer::start();
    let mut c = server.conn();
    redis::cmd("SET")
        .arg("big:1")
        .arg(vec![b'x'; 200_000])
        .query::<()>(&mut c)
        .expect("set");
    for i in 0..50 {
        redis::cmd("SET")
            .arg(format!("user:{i}"))
            .arg(i)
            .arg("EX")
            .arg(30)
            .query::<()>(&mut c)
            .expect("set");
    }
    let (_cfg, mut h) = connect_to(&server.url(), "analysis");
    wait_listed(&mut h);
    // Browse the users only; the analysis looks at everything.
    replace_text(&mut h, "Pattern", "user:*");
    h.get_by_label("Search").click();
    run_until(&mut h, "the users", |app| {
        app.state
            .active_session()
            .is_some_and(|s| s.browser.scan.phase == ScanPhase::Done && s.browser.index.len() == 50)
    });
    h.get_by_label("Memory analysis").click();
    h.run_steps(2);
    replace_text(&mut h, "Keys", "*");

    // A sample size that is not a number is refused, and nothing runs.
    h.get_by_label("Sample of").click();
    h.run_steps(1);
    replace_text(&mut h, "keys", "lots");
    h.get_by_label("Analyze").click();
    h.run_steps(2);
    assert!(
        h.query_by_label_contains("must be a whole number of keys")
            .is_some()
    );
    h.get_by_label("Whole keyspace").click();
    h.run_steps(1);

    h.get_by_label("Analyze").click();
    run_until(&mut h, "the report", |app| {
        app.state
            .active_session()
            .and_then(|s| s.analysis.as_ref())
            .is_some_and(|v| !v.running && v.report.is_some())
    });
    assert!(h.query_by_label_contains("51 keys · ").is_some());
    for title in [
        "Bytes by namespace",
        "Bytes by type",
        "Keys by TTL",
        "Biggest keys",
    ] {
        assert!(h.query_by_label(title).is_some(), "{title}");
    }
    let report = h
        .state()
        .state
        .active_session()
        .and_then(|s| s.analysis.as_ref())
        .and_then(|v| v.report.clone())
        .expect("report");
    let usage: u64 = redis::cmd("MEMORY")
        .arg("USAGE")
        .arg("big:1")
        .query(&mut c)
        .expect("usage");
    assert_eq!(&report.top[0].key[..], b"big:1");
    assert_eq!(report.top[0].bytes, usage);
    assert_eq!(report.ttl[1].keys, 50, "the users expire within a minute");

    // Bars carry their names beside them, the whole name on hover.
    assert!(
        h.query_all_by_label("user:").count() >= 2,
        "the namespace in the bars and in the table"
    );
    // The names beside the bars never overlap one another.
    let names: Vec<egui::Rect> = h
        .query_all_by_role(egui::accesskit::Role::Link)
        .map(|n| n.rect())
        .collect();
    assert!(names.len() >= 2, "a bar per namespace: {names:?}");
    for (i, a) in names.iter().enumerate() {
        for b in &names[i + 1..] {
            assert!(!a.intersects(*b), "bar names overlap: {a:?} and {b:?}");
        }
    }
    // A namespace lists its keys in the browser, and the window folds out of its way.
    h.get_by_role_and_label(egui::accesskit::Role::Link, "user:")
        .click();
    run_until(&mut h, "the namespace's keys", |app| {
        app.state.active_session().is_some_and(|s| {
            s.browser.pattern == "user:*"
                && s.browser.scan.phase == ScanPhase::Done
                && s.browser.index.len() == 50
        })
    });
    h.run_steps(3);
    assert!(
        h.query_by_label("Biggest keys").is_none(),
        "the analysis is folded to its title bar"
    );
    let title = h.get_by_label_contains("Memory analysis · analysis").rect();
    assert!(
        h.query_all_by_label_contains("user:")
            .all(|row| !title.intersects(row.rect())),
        "it covers none of the listed keys"
    );
    h.get_by_label("Show").click();
    h.run_steps(3);

    h.get_by_label("big:1").click();
    run_until(&mut h, "the biggest key to open", |app| {
        app.state
            .active_session()
            .and_then(|s| s.viewer.as_ref())
            .is_some_and(|v| v.key == b"big:1".as_slice() && v.state == ViewerState::Loaded)
    });
}

#[test]
fn a_binary_row_in_an_sqlite_cache_opens_like_any_other() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("cache.sqlite");
    let gz = common::php("echo gzcompress(serialize(['user' => 7]));");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&format!("sqlite://{}?mode=rwc", path.display()))
            .await
            .expect("sqlite");
        let hex: String = gz.iter().fold(String::new(), |mut h, b| {
            use std::fmt::Write as _;
            let _ = write!(h, "{b:02x}");
            h
        });
        for sql in [
            "CREATE TABLE cache (key varchar NOT NULL PRIMARY KEY, value text NOT NULL, expiration integer NOT NULL)".to_owned(),
            // What PHP's PDO writes for a gzcompress()ed value: TEXT that is not UTF-8.
            format!("INSERT INTO cache VALUES ('session:gz', CAST(X'{hex}' AS TEXT), 1999999999)"),
            "INSERT INTO cache VALUES ('plain', 'text', 1999999999)".to_owned(),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&pool)
                .await
                .expect("sql");
        }
        pool.close().await;
    });
    let (_cfg, mut h) = connect_to(
        &format!("sqlite://{}?table=cache", path.display()),
        "binary",
    );
    wait_listed(&mut h);
    run_until(&mut h, "every row's facts", |app| {
        app.state.active_session().is_some_and(|s| {
            s.browser.index.len() == 2
                && (0..2).all(|id| {
                    matches!(
                        s.browser.meta(id),
                        Some(cache_console::state::MetaSlot::Ready(..))
                    )
                })
        })
    });
    assert!(
        h.state().state.notices.is_empty(),
        "no error banner: {:?}",
        h.state()
            .state
            .notices
            .iter()
            .map(|n| &n.text)
            .collect::<Vec<_>>()
    );
    h.get_by_label("session:gz").click();
    wait_value(&mut h);
    assert_eq!(
        viewer_mode(&h),
        Some(cache_console::state::ValueMode::Decoded(None)),
        "the compressed PHP value opens decoded"
    );
    let value = common::ui::viewer_items(&h);
    assert_eq!(
        value,
        Some(cache_console::core::model::ValueItems::String {
            total_len: gz.len() as u64,
            bytes: bytes::Bytes::from(gz),
        }),
        "the exact bytes"
    );
    h.state_mut().shutdown();
}

#[test]
fn reload_reaches_a_key_the_listing_no_longer_holds() {
    let server = RedisServer::start();
    let (_cfg, mut h) = connect_to(&server.url(), "reload");
    wait_listed(&mut h);
    replace_text(&mut h, "Open key", "later:key");
    h.get_by_label("Open").click();
    run_until(&mut h, "the failure", |app| {
        app.state
            .active_session()
            .and_then(|s| s.viewer.as_ref())
            .is_some_and(|v| matches!(v.state, ViewerState::Failed(_)))
    });
    // A new search that does not list the key, then the key appears on the server.
    common::ui::act(&mut h, SessionAction::Search);
    wait_listed(&mut h);
    let mut c = server.conn();
    redis::cmd("SET")
        .arg("later:key")
        .arg("here now")
        .query::<()>(&mut c)
        .expect("set");
    h.get_by_label("Reload").click();
    wait_value(&mut h);
    let value = common::ui::viewer_items(&h);
    assert_eq!(
        value,
        Some(cache_console::core::model::ValueItems::String {
            bytes: bytes::Bytes::from_static(b"here now"),
            total_len: 8
        })
    );
    h.state_mut().shutdown();
}

#[test]
fn a_dot_env_is_imported_through_the_service_and_connects() {
    let server = RedisServer::start();
    common::fill(&mut server.conn(), "env:", 7);
    let cfg = tempfile::tempdir().expect("config dir");
    let env = cfg.path().join(".env");
    std::fs::write(
        &env,
        format!(
            "APP_NAME=shop\nCACHE_DRIVER=redis\nREDIS_HOST=127.0.0.1\nREDIS_PORT={}\n\
             REDIS_PASSWORD=\nCACHE_PREFIX=env:\n",
            server.port
        ),
    )
    .expect("write .env");
    let mut h = harness(AppState::new(ProfileStore::empty_in(cfg.path()), None));
    h.run_steps(1);
    // What the file dialog hands over once a file is picked.
    h.state_mut()
        .state
        .handle(cache_console::state::Action::ImportEnv(env));
    run_until(&mut h, "the imported profile", |app| {
        app.state.profiles.get("shop (redis)").is_some() && !app.state.saving_profiles()
    });
    assert!(h.query_by_label_contains("imported shop (redis)").is_some());
    let saved = std::fs::read_to_string(cfg.path().join("profiles.ron")).expect("saved");
    assert!(saved.contains("shop (redis)"), "{saved}");
    h.get_by_label("Connect").click();
    wait_listed(&mut h);
    assert!(
        h.query_by_label("scanned 7 of 7 keys, 7 matched").is_some(),
        "the prefix became the default pattern"
    );
    h.state_mut().shutdown();
}
