//! The fleet view driven as a user does: opened from the top bar (and by its keys), every
//! profile's row filled from real servers (one silent), sorted by a header, filtered by a
//! typed term, coloured by the thresholds, and a row clicked into its dashboard.

mod common;

use cache_console::config::profiles::{Profile, ProfileStore};
use cache_console::core::fleet::{Column, Health};
use cache_console::state::{AppState, SessionStatus};
use cache_console::ui::App;
use common::ui::{harness, run_until};
use common::{MemcachedServer, RedisServer};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

type H = Harness<'static, App>;

fn add(store: &mut ProfileStore, name: &str, url: &str, group: &str) {
    let (spec, _) = cache_console::config::connection::parse_url(url).expect("url");
    let mut p = Profile::new(name, spec);
    p.group = Some(group.to_owned());
    store.add(p).expect("add");
}

fn shown(h: &mut H) -> Vec<String> {
    h.state_mut()
        .state
        .fleet
        .shown()
        .map(|r| r.profile.clone())
        .collect()
}

/// The servers behind the four profiles: a Redis with 20 keys, one filled past 90 % of its
/// 2 MB limit, a memcached, and a port that never answers.
struct Fleet {
    redis: RedisServer,
    _small: RedisServer,
    _memcached: MemcachedServer,
    _silent: std::net::TcpListener,
    cfg: tempfile::TempDir,
}

fn fleet_of_four() -> Fleet {
    let redis = RedisServer::start();
    let small =
        RedisServer::start_args(&["--maxmemory", "2mb", "--maxmemory-policy", "allkeys-lru"]);
    let memcached = MemcachedServer::start();
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let silent_port = silent.local_addr().expect("addr").port();
    let mut c = redis.conn();
    common::fill(&mut c, "k:", 20);
    // Over 90 % of its limit: its row is coloured.
    let mut s = small.conn();
    let big = vec![b'x'; 100_000];
    for i in 0..40 {
        redis::cmd("SET")
            .arg(format!("big:{i}"))
            .arg(&big)
            .query::<()>(&mut s)
            .expect("fill the small one");
    }
    let cfg = tempfile::tempdir().expect("cfg");
    let mut store = ProfileStore::empty_in(cfg.path());
    add(&mut store, "orders", &redis.url(), "prod");
    add(&mut store, "tiny", &small.url(), "prod");
    add(
        &mut store,
        "pool",
        &format!("memcached://{}", memcached.addr()),
        "staging",
    );
    add(
        &mut store,
        "gone",
        &format!("redis://127.0.0.1:{silent_port}/0"),
        "staging",
    );
    store.save().expect("save");
    Fleet {
        redis,
        _small: small,
        _memcached: memcached,
        _silent: silent,
        cfg,
    }
}

/// The app over the profiles in `cfg`, each profile given 0.8 s.
fn app(cfg: &std::path::Path) -> H {
    let mut state = AppState::new(ProfileStore::load_from(cfg).store, None);
    state.fleet.limits.timeout = std::time::Duration::from_millis(800);
    let mut h = harness(state);
    h.run_steps(2);
    h
}

fn every_row_read(h: &mut H) {
    run_until(h, "every row read", |app| {
        app.state
            .fleet
            .rows
            .iter()
            .all(|r| r.health != Health::Waiting)
    });
}

#[test]
fn the_fleet_view_reads_every_profile_sorts_filters_and_opens_a_dashboard() {
    let fleet = fleet_of_four();
    let mut c = fleet.redis.conn();
    let cfg = &fleet.cfg;
    let mut h = app(cfg.path());

    h.get_by_label("Fleet").click();
    h.run_steps(2);
    assert!(h.state().state.fleet.open, "the top bar's Fleet opens it");
    every_row_read(&mut h);
    let row = |h: &H, name: &str| {
        h.state()
            .state
            .fleet
            .rows
            .iter()
            .find(|r| r.profile == name)
            .cloned()
            .expect(name)
    };
    assert_eq!(row(&h, "orders").health, Health::Up);
    assert_eq!(row(&h, "orders").figures.keys, Some(20.0));
    assert_eq!(row(&h, "gone").health, Health::Down);
    // The profile list names each profile once; the fleet's rows a second time.
    assert_eq!(h.query_all_by_label("orders").count(), 2, "rows on screen");
    assert!(
        h.query_by_label("down").is_some(),
        "the silent one shows down"
    );
    // Down first by default (status ascending), the rest by name.
    assert_eq!(shown(&mut h)[0], "gone");
    let tiny = row(&h, "tiny");
    assert!(
        tiny.figures.memory_pct().is_some_and(|p| p > 90.0),
        "{:?}",
        tiny.figures
    );
    let fleet = &h.state().state.fleet;
    assert_eq!(
        fleet.severity(&tiny),
        Some(cache_console::core::fleet::Severity::Critical)
    );
    assert_eq!(fleet.severity(&row(&h, "orders")), None);

    // Sorted by keys, by clicking the header; again for the other way.
    h.get_by_label("Keys").click();
    h.run_steps(2);
    assert_eq!(h.state().state.fleet.sort, (Column::Keys, false));
    let ascending = shown(&mut h);
    h.get_by_label("Keys (ascending)").click();
    h.run_steps(2);
    let descending = shown(&mut h);
    assert_eq!(
        descending[0], "orders",
        "the most keys first: {descending:?}"
    );
    assert_eq!(ascending[2], "orders", "{ascending:?}");
    // Unknown figures stay last both ways.
    assert_eq!(ascending[3], "gone");
    assert_eq!(descending[3], "gone");

    // A typed filter: a column's term and a comparison.
    h.get_by_label("Filter").click();
    h.run_steps(1);
    h.get_by_label("Filter").type_text("group:prod mem>90");
    h.run_steps(3);
    assert_eq!(shown(&mut h), ["tiny"]);
    assert_eq!(h.query_all_by_label("orders").count(), 1, "only the list's");

    // Clicking a row opens its connection with its dashboard (the rightmost `tiny`: the
    // profile list has one too).
    h.query_all_by_label("tiny")
        .max_by(|a, b| a.rect().left().total_cmp(&b.rect().left()))
        .expect("the row")
        .click();
    run_until(&mut h, "the tab connected", |app| {
        app.state
            .sessions
            .iter()
            .any(|s| s.profile.name == "tiny" && s.status == SessionStatus::Connected)
    });
    let state = &h.state().state;
    assert!(!state.fleet.open, "the fleet gives way to the tab");
    let session = state.active_session().expect("a tab");
    assert_eq!(session.profile.name, "tiny");
    assert!(session.dashboard.open, "its dashboard is open");
    assert!(!state.fleet.sampling() || state.fleet.open);
    h.run_steps(2);
    assert!(
        !h.state().state.fleet.sampling(),
        "hidden: the sampler stops"
    );

    // Nothing was written anywhere.
    assert_eq!(
        redis::cmd("DBSIZE").query::<u64>(&mut c).expect("dbsize"),
        20
    );
}

#[test]
fn the_fleet_opens_by_its_keys_and_sums_its_groups() {
    let fleet = fleet_of_four();
    let mut h = app(fleet.cfg.path());
    h.key_press_modifiers(
        egui::Modifiers::COMMAND | egui::Modifiers::SHIFT,
        egui::Key::O,
    );
    h.run_steps(2);
    assert!(h.state().state.fleet.open, "Ctrl+Shift+O opens it");
    every_row_read(&mut h);
    // By group: one line a group, the down profile counted in its group.
    let before = h.query_all_by_label("Profiles").count();
    h.get_by_label("By group").click();
    h.run_steps(2);
    assert!(h.state().state.fleet.by_group);
    assert_eq!(
        h.query_all_by_label("Profiles").count(),
        before + 1,
        "the groups' table, its Profiles column"
    );
    let groups = h.state_mut().state.fleet.groups();
    let staging = groups
        .iter()
        .find(|g| g.group.as_deref() == Some("staging"))
        .expect("staging");
    assert_eq!((staging.profiles, staging.up, staging.down), (2, 1, 1));
    // A group clicked: its profiles, one a row.
    h.query_all_by_label("staging")
        .max_by(|a, b| a.rect().left().total_cmp(&b.rect().left()))
        .expect("the group's row")
        .click();
    h.run_steps(3);
    let fleet_view = &mut h.state_mut().state.fleet;
    assert!(!fleet_view.by_group);
    assert_eq!(fleet_view.filter_text, "group:staging");
    let mut shown: Vec<String> = fleet_view.shown().map(|r| r.profile.clone()).collect();
    shown.sort();
    assert_eq!(shown, ["gone", "pool"]);
}
