//! The browser's scan budget chosen as a user does (the *Scan* choice beside *Search*), and
//! the listing it starts keeping to it: the `COUNT` the budget picked comes back with the
//! pages, none when unthrottled; every key listed either way.

mod common;

use common::RedisServer;
use common::ui::{connect_to, run_until, wait_listed};
use egui_kittest::kittest::Queryable;

#[test]
fn the_scan_choice_sets_the_budget_of_the_next_listing() {
    let server = RedisServer::start();
    common::fill(&mut server.conn(), "k:", 5_000);
    let (_cfg, mut h) = connect_to(&server.url(), "budget");
    wait_listed(&mut h);
    let listing = |h: &egui_kittest::Harness<'static, cache_console::ui::App>| {
        let s = h.state().state.active_session().expect("a tab");
        (
            s.browser.scan.request.as_ref().and_then(|r| r.budget_ms),
            s.browser.scan.count,
            s.browser.index.len(),
        )
    };
    let (budget, count, keys) = listing(&h);
    assert_eq!(budget, Some(250), "the default budget");
    assert!(count.is_some(), "the COUNT the budget chose came back");
    assert_eq!(keys, 5_000);

    h.get_by_label("Scan").click();
    h.run_steps(2);
    h.get_by_label("unthrottled").click();
    h.run_steps(2);
    h.get_by_label("Search").click();
    h.run_steps(2);
    wait_listed(&mut h);
    let (budget, count, keys) = listing(&h);
    assert_eq!(budget, None);
    assert_eq!(count, None, "no budget: the count asked is the fixed one");
    assert_eq!(keys, 5_000);

    h.get_by_label("Scan").click();
    h.run_steps(2);
    h.get_by_label("50 ms/s").click();
    h.run_steps(2);
    h.get_by_label("Search").click();
    run_until(&mut h, "the listing at 50 ms/s", |app| {
        app.state.active_session().is_some_and(|s| {
            s.browser.scan.request.as_ref().and_then(|r| r.budget_ms) == Some(50)
                && s.browser.scan.phase == cache_console::state::ScanPhase::Done
        })
    });
    assert_eq!(listing(&h).2, 5_000);
}
