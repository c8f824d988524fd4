//! Finding keys as people do: a filter that finds nothing among loaded keys says so and offers
//! the server-side search, tree counts say when they are partial, the list sorts by any column,
//! long names keep their distinctive tail, and narrow windows keep every column in sight.

mod common;

use cache_console::state::{ScanPhase, SessionAction};
use common::RedisServer;
use common::ui::{act, connect_to, filter_to, replace_text, run_until, wait_listed};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable};

type H = Harness<'static, cache_console::ui::App>;

/// Lists with a small batch limit and waits for the pause.
fn pause_after(h: &mut H, limit: u64) {
    if let Some(s) = h.state_mut().state.active_session_mut() {
        s.browser.batch_limit = limit;
    }
    act(h, SessionAction::Search);
    run_until(h, "the pause", |app| {
        app.state
            .active_session()
            .is_some_and(|s| s.browser.scan.phase == ScanPhase::Paused)
    });
}

/// The keys the flat list shows, top to bottom.
fn rows(h: &H) -> Vec<String> {
    let b = &h.state().state.active_session().expect("session").browser;
    (0..b.flat_len())
        .filter_map(|r| b.flat_key(r))
        .map(|id| String::from_utf8_lossy(b.index.key(id)).into_owned())
        .collect()
}

/// Each labelled widget ends inside a 1024-pixel-wide window.
fn inside_the_window(h: &H, labels: &[&str]) {
    for label in labels {
        let r = h.get_by_label(label).rect();
        assert!(
            r.right() <= 1024.0,
            "{label} is cut off at the right: {r:?}"
        );
    }
}

#[test]
fn a_filter_that_finds_nothing_loaded_offers_the_server_search_which_finds_the_key() {
    let server = RedisServer::start();
    common::fill(&mut server.conn(), "session:", 3_000);
    let (_cfg, mut h) = connect_to(&server.url(), "filter");
    wait_listed(&mut h);
    pause_after(&mut h, 500);
    // A key the server holds that the paused listing has not loaded, and that no loaded key
    // contains either (`session:12` is inside a loaded `session:123`, and then the filter
    // rightly shows that one).
    let loaded: Vec<String> = {
        let b = &h.state().state.active_session().expect("session").browser;
        (0..u32::try_from(b.index.len()).expect("a small index"))
            .map(|id| String::from_utf8_lossy(b.index.key(id)).into_owned())
            .collect()
    };
    let missing = (0..3_000)
        .map(|i| format!("session:{i}"))
        .find(|k| !loaded.iter().any(|l| l.contains(k.as_str())))
        .expect("an unloaded key");
    filter_to(&mut h, &missing);
    assert!(
        h.query_by_label_contains("No loaded key contains")
            .is_some(),
        "the empty list says why it is empty"
    );
    assert!(
        h.query_by_label_contains("more are on the server")
            .is_some(),
        "and that the server holds more"
    );
    assert!(
        h.query_by_label_contains("not loaded").is_some(),
        "the status line counts what is not loaded"
    );
    h.get_by_label_contains("Search the server for").click();
    wait_listed(&mut h);
    let found = rows(&h);
    assert!(found.contains(&missing), "{missing} found in {found:?}");
    assert!(
        found.iter().all(|k| k.contains(&missing)),
        "only keys containing it"
    );
    let b = &h.state().state.active_session().expect("session").browser;
    assert!(!b.filter_active(), "the filter was cleared");
    assert!(
        b.pattern.contains('*'),
        "the pattern searched: {}",
        b.pattern
    );
    h.state_mut().shutdown();
}

#[test]
fn tree_counts_are_marked_partial_until_the_listing_ends() {
    let server = RedisServer::start();
    common::fill(&mut server.conn(), "ns:", 2_000);
    let (_cfg, mut h) = connect_to(&server.url(), "tree");
    wait_listed(&mut h);
    pause_after(&mut h, 500);
    h.get_by_label("Tree").click();
    h.run_steps(3);
    let partial = h
        .query_by_label_contains("ns (")
        .expect("the namespace row");
    let text = partial.accesskit_node().label().unwrap_or_default();
    assert!(text.ends_with("+)"), "partial count: {text}");
    h.get_by_label("Load all").click();
    wait_listed(&mut h);
    h.run_steps(3);
    assert!(h.query_by_label("+ ns (2,000)").is_some(), "the full count");
    h.state_mut().shutdown();
}

#[test]
fn clicking_a_column_title_sorts_by_it_and_again_the_other_way() {
    let server = RedisServer::start();
    let mut c = server.conn();
    for (key, len) in [("b:mid", 500), ("a:big", 5_000), ("c:small", 5)] {
        redis::cmd("SET")
            .arg(key)
            .arg("x".repeat(len))
            .query::<()>(&mut c)
            .expect("set");
    }
    redis::cmd("EXPIRE")
        .arg("c:small")
        .arg(100)
        .query::<()>(&mut c)
        .expect("expire");
    redis::cmd("EXPIRE")
        .arg("a:big")
        .arg(5_000)
        .query::<()>(&mut c)
        .expect("expire");
    for i in [10, 2, 1] {
        redis::cmd("SET")
            .arg(format!("k:{i}"))
            .arg(1)
            .query::<()>(&mut c)
            .expect("set");
    }
    let (_cfg, mut h) = connect_to(&server.url(), "sort");
    wait_listed(&mut h);
    let sorted_by = |h: &mut H, title: &str| {
        let before = h
            .state()
            .state
            .active_session()
            .and_then(|s| s.browser.order.sort());
        h.get_by_label(title).click();
        run_until(h, "the sort", |app| {
            app.state
                .active_session()
                .is_some_and(|s| s.browser.order.sort() != before && !s.browser.order_stale())
        });
    };
    sorted_by(&mut h, "Key");
    assert_eq!(
        rows(&h),
        ["a:big", "b:mid", "c:small", "k:1", "k:2", "k:10"],
        "natural name order"
    );
    sorted_by(&mut h, "Size");
    let by_size = rows(&h);
    assert_eq!(by_size.last().map(String::as_str), Some("a:big"));
    assert_eq!(
        by_size.iter().position(|k| k == "b:mid"),
        Some(by_size.len() - 2)
    );
    sorted_by(&mut h, "Size");
    assert_eq!(
        rows(&h).first().map(String::as_str),
        Some("a:big"),
        "descending"
    );
    // What the screen shows follows: the biggest key is drawn above the others.
    let top = h.get_by_label("a:big").rect().top();
    assert!(top < h.get_by_label("b:mid").rect().top());
    sorted_by(&mut h, "TTL");
    let by_ttl = rows(&h);
    assert_eq!(
        &by_ttl[..2],
        ["c:small", "a:big"],
        "soonest first, no TTL last"
    );
    h.state_mut().shutdown();
}

#[test]
fn long_names_keep_their_tail_and_every_column_stays_in_sight_in_a_narrow_window() {
    let server = RedisServer::start();
    let mut c = server.conn();
    let long = |tail: &str| format!("laravel_session:{}{tail}", "0".repeat(60));
    for tail in ["a81f", "b92e"] {
        redis::cmd("SET")
            .arg(long(tail))
            .arg(1)
            .query::<()>(&mut c)
            .expect("set");
    }
    let (_cfg, mut h) = connect_to(&server.url(), "narrow");
    h.set_size(egui::vec2(1024.0, 700.0));
    wait_listed(&mut h);
    h.run_steps(3);
    // Open a key so the value viewer takes its share, as in the report.
    act(&mut h, SessionAction::OpenKeyByName(long("a81f")));
    common::ui::wait_value(&mut h);
    for tail in ["a81f", "b92e"] {
        let texts: Vec<String> = h
            .query_all_by_label_contains(tail)
            .filter_map(|n| n.accesskit_node().label())
            .collect();
        assert!(
            texts
                .iter()
                .any(|t| t.starts_with("laravel_") && t.ends_with(tail) && t.contains('…')),
            "a row shortened in the middle, ending in {tail}: {texts:?}"
        );
    }
    let size = h.get_by_label("Size").rect();
    let ttl = h.get_by_label("TTL").rect();
    let viewer = h.get_by_label("Copy key").rect();
    assert!(
        size.right() < viewer.left() && ttl.right() < size.left(),
        "every column is left of the viewer: size {size:?}, viewer {viewer:?}"
    );
    // Every button of the value viewer is inside the window (a row that does not fit wraps).
    inside_the_window(
        &h,
        &[
            "Copy key",
            "Set TTL",
            "Delete key",
            "Save to file…",
            "Decoded",
        ],
    );
    // A hash's element actions too, once a row is selected.
    redis::cmd("HSET")
        .arg("h")
        .arg("field")
        .arg("value")
        .query::<()>(&mut c)
        .expect("hset");
    act(&mut h, SessionAction::OpenKeyByName("h".into()));
    common::ui::wait_value(&mut h);
    act(&mut h, SessionAction::SelectElement(0));
    h.run_steps(3);
    inside_the_window(&h, &["Save element", "Remove element", "Find"]);
    // The split keeps its share when the window grows again.
    let share = |h: &H| h.state().state.ui.layout.list_share;
    let before = share(&h);
    h.set_size(egui::vec2(1600.0, 1000.0));
    h.run_steps(3);
    assert!((share(&h) - before).abs() < 1e-3);
    let viewer_wide = h.get_by_label("Copy key").rect();
    assert!(
        viewer_wide.left() > viewer.left() + 200.0,
        "the list grew with the window"
    );
    h.state_mut().shutdown();
}

#[test]
fn enter_in_the_open_key_field_opens_that_key_and_leaves_the_tree_as_it_was() {
    let server = RedisServer::start();
    let mut c = server.conn();
    common::fill(&mut c, "ns:", 5);
    common::fill(&mut c, "other:", 1);
    let (_cfg, mut h) = connect_to(&server.url(), "enter");
    wait_listed(&mut h);
    h.get_by_label("Tree").click();
    h.run_steps(3);
    h.get_by_label("+ ns (5)").click();
    h.run_steps(3);
    assert!(h.query_by_label("- ns (5)").is_some(), "expanded");
    replace_text(&mut h, "Open key", "other:0");
    h.key_press(egui::Key::Enter);
    common::ui::wait_value(&mut h);
    h.run_steps(3);
    assert!(
        h.query_by_label("- ns (5)").is_some(),
        "the Enter that opened the key did not fold the namespace"
    );
    let open = h
        .state()
        .state
        .active_session()
        .and_then(|s| s.viewer.as_ref())
        .map(|v| v.key.clone());
    assert_eq!(open.as_deref(), Some(b"other:0".as_slice()));
    h.state_mut().shutdown();
}

#[test]
fn keys_listed_in_the_list_view_join_the_tree_over_frames_with_filter_counts_right() {
    let server = RedisServer::start();
    common::fill(&mut server.conn(), "order:", 30_000);
    common::fill(&mut server.conn(), "user:", 12_000);
    let (_cfg, mut h) = connect_to(&server.url(), "grouping");
    run_until(&mut h, "the first 10,000 keys", |app| {
        app.state
            .active_session()
            .is_some_and(|s| s.browser.scan.phase == ScanPhase::Paused)
    });
    h.run_steps(2);
    h.get_by_label("Load all").click();
    wait_listed(&mut h);
    // Listed in the list view: nothing is in the tree yet.
    let attached = |h: &H| {
        h.state()
            .state
            .active_session()
            .map(|s| (s.browser.index.attached(), s.browser.index.len()))
            .unwrap_or_default()
    };
    assert_eq!(attached(&h), (0, 42_000));
    filter_to(&mut h, "user:1");
    h.get_by_label("Tree").click();
    h.run_steps(2);
    // A frame does a few milliseconds of it, and says how far it is.
    let (some, all) = attached(&h);
    assert!(some < all, "not all in one frame: {some} of {all}");
    assert!(
        h.query_by_label_contains("grouping keys:").is_some(),
        "the status line says the tree is being grouped"
    );
    run_until(&mut h, "the tree", |app| {
        app.state
            .active_session()
            .is_some_and(|s| s.browser.index.tree_complete())
    });
    h.run_steps(3);
    assert!(h.query_by_label_contains("grouping keys:").is_none());
    // Counts of the filter's matches, counted as keys joined: user:1, user:1x, user:1xx, user:1xxxx.
    let expected = 1 + 10 + 100 + 1_000 + 2_000;
    assert!(
        h.query_by_label(&format!(
            "+ user ({})",
            cache_console::core::format::group_digits(expected)
        ))
        .is_some(),
        "the filtered count of user"
    );
    h.state_mut().shutdown();
}
