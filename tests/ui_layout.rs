//! A layout that holds still: nothing under the pointer moves when a notice appears or goes,
//! when a listing pauses or ends, or while a dialog goes through its phases.

mod common;

use cache_console::state::{BulkPhase, ScanPhase};
use common::RedisServer;
use common::ui::{connect_to, replace_text, run_until, wait_listed};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

type H = Harness<'static, cache_console::ui::App>;

/// Where these controls are drawn now.
fn rects(h: &H, labels: &[&str]) -> Vec<egui::Rect> {
    labels.iter().map(|l| h.get_by_label(l).rect()).collect()
}

const TOOLBAR: [&str; 6] = [
    "Search",
    "Tree",
    "New key",
    "Delete by pattern...",
    "Flush database...",
    "Open",
];

#[test]
fn a_notice_appearing_or_going_moves_nothing() {
    let server = RedisServer::start();
    common::fill(&mut server.conn(), "n:", 20);
    let (_cfg, mut h) = connect_to(&server.url(), "notices");
    wait_listed(&mut h);
    let before = rects(&h, &TOOLBAR);
    // A real notice: a key name that is not valid escaped text.
    replace_text(&mut h, "Open key", "bad\\xZZ");
    h.get_by_label("Open").click();
    h.run_steps(2);
    assert!(
        h.query_by_label_contains("key name:").is_some(),
        "a notice shows"
    );
    assert_eq!(
        rects(&h, &TOOLBAR),
        before,
        "nothing moved when it appeared"
    );
    h.get_by_label("Dismiss").click();
    h.run_steps(2);
    assert!(h.query_by_label_contains("key name:").is_none());
    assert_eq!(rects(&h, &TOOLBAR), before, "nothing moved when it went");
    h.state_mut().shutdown();
}

#[test]
fn a_listing_that_pauses_or_ends_moves_nothing() {
    let server = RedisServer::start();
    common::fill(&mut server.conn(), "p:", 3_000);
    let (_cfg, mut h) = connect_to(&server.url(), "pause");
    // A laptop-sized window, where a long status line used to wrap.
    h.set_size(egui::vec2(1024.0, 700.0));
    wait_listed(&mut h);
    h.run_steps(3);
    let done = rects(&h, &TOOLBAR);
    if let Some(s) = h.state_mut().state.active_session_mut() {
        s.browser.batch_limit = 1_000;
    }
    common::ui::act(&mut h, cache_console::state::SessionAction::Search);
    run_until(&mut h, "the pause", |app| {
        app.state
            .active_session()
            .is_some_and(|s| s.browser.scan.phase == ScanPhase::Paused)
    });
    assert!(h.query_by_label("Load all").is_some());
    assert!(
        h.query_by_label_contains("paused after 1,000 keys")
            .is_some()
    );
    assert_eq!(rects(&h, &TOOLBAR), done, "the pause moved nothing");
    h.get_by_label("Load all").click();
    wait_listed(&mut h);
    assert_eq!(rects(&h, &TOOLBAR), done, "the end moved nothing");
    h.state_mut().shutdown();
}

#[test]
fn the_delete_by_pattern_dialog_keeps_its_place_through_its_phases() {
    let server = RedisServer::start();
    common::fill(&mut server.conn(), "tmp:", 500);
    let (_cfg, mut h) = connect_to(&server.url(), "dialog");
    wait_listed(&mut h);
    h.get_by_label("Delete by pattern...").click();
    h.run_steps(3);
    replace_text(&mut h, "Pattern to delete", "tmp:*");
    let editing = rects(&h, &["Preview", "Close"]);
    h.get_by_label("Preview").click();
    run_until(&mut h, "the preview", |app| {
        app.state
            .active_session()
            .and_then(|s| s.bulk.as_ref())
            .is_some_and(|b| matches!(b.phase, BulkPhase::Previewed { .. }))
    });
    h.run_steps(2);
    assert!(h.query_by_label("Delete 500 keys").is_some());
    assert_eq!(
        rects(&h, &["Preview", "Close"]),
        editing,
        "the preview did not move the dialog"
    );
    h.state_mut().shutdown();
}
