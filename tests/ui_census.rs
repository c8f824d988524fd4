//! The namespace census driven as a user does: *Namespaces*, *Count*, a namespace opened, one
//! listed in the browser with *Browse*; the counts checked against what the server holds.

mod common;

use cache_console::state::ScanPhase;
use cache_console::ui::App;
use common::RedisServer;
use common::ui::{connect_to, run_until, wait_listed};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

type H = Harness<'static, App>;

/// The `Browse` button on the row that names `prefix`.
fn browse_of(h: &H, prefix: &str) {
    let row = h.get_by_label(prefix).rect().center().y;
    h.query_all_by_label("Browse")
        .min_by(|a, b| {
            (a.rect().center().y - row)
                .abs()
                .total_cmp(&(b.rect().center().y - row).abs())
        })
        .expect("a Browse button")
        .click();
}

#[test]
fn every_key_is_counted_into_its_namespaces_and_a_namespace_is_browsed() {
    let server = RedisServer::start();
    let mut c = server.conn();
    let mut pipe = redis::pipe();
    for i in 0..300 {
        pipe.cmd("SET")
            .arg(format!("user:{i}:profile"))
            .arg(i)
            .ignore();
        pipe.cmd("SET")
            .arg(format!("user:{i}:cart"))
            .arg(i)
            .ignore();
    }
    for i in 0..50 {
        pipe.cmd("SET").arg(format!("order:{i}")).arg(i).ignore();
    }
    for i in 0..5 {
        pipe.cmd("SET").arg(format!("plain{i}")).arg(i).ignore();
    }
    pipe.cmd("SET")
        .arg(b"bin:\xff\x00:k".as_slice())
        .arg(1)
        .ignore();
    pipe.query::<()>(&mut c).expect("fill");
    let (_cfg, mut h) = connect_to(&server.url(), "census");
    wait_listed(&mut h);

    h.get_by_label("Namespaces").click();
    h.run_steps(2);
    assert!(
        h.state()
            .state
            .active_session()
            .is_some_and(|s| s.census.is_some()),
        "the window opens"
    );
    h.get_by_label("Count").click();
    run_until(&mut h, "the census", |app| {
        app.state
            .active_session()
            .and_then(|s| s.census.as_ref())
            .is_some_and(|v| !v.running && v.census.is_some())
    });
    let session = h.state().state.active_session().expect("a tab");
    let view = session.census.as_ref().expect("the census");
    let census = view.census.as_ref().expect("its tree");
    assert_eq!(census.keys(), 656, "every key the server holds");
    assert!(!view.cancelled);
    let top: Vec<(String, u64)> = view
        .top
        .iter()
        .map(|n| (cache_console::core::escape::escape_bytes(&n.prefix), n.keys))
        .collect();
    assert_eq!(
        top,
        [
            ("user:".to_owned(), 600),
            ("order:".to_owned(), 50),
            ("bin:".to_owned(), 1)
        ]
    );
    assert!(h.query_by_label("user:").is_some());
    assert!(h.query_by_label("5 keys directly here (0.8 %)").is_some());

    // A namespace opened: its own namespaces, bytes shown escaped.
    h.get_by_label("Open bin:").click();
    h.run_steps(2);
    assert!(
        h.query_by_label("bin:\\xff\\x00:").is_some(),
        "bytes shown escaped"
    );
    h.get_by_label("Close bin:").click();
    h.run_steps(2);
    assert!(
        h.query_by_label("bin:\\xff\\x00:").is_none(),
        "closed again"
    );
    h.get_by_label("Open user:").click();
    h.run_steps(2);
    assert!(h.query_by_label("user:0:").is_some());
    assert!(h.query_by_label("Close user:").is_some());
    h.get_by_label("Close user:").click();
    h.run_steps(2);

    // Browse: the browser lists that namespace's keys.
    browse_of(&h, "order:");
    run_until(&mut h, "the namespace listed", |app| {
        app.state.active_session().is_some_and(|s| {
            s.browser.pattern == "order:*" && s.browser.scan.phase == ScanPhase::Done
        })
    });
    let session = h.state().state.active_session().expect("a tab");
    assert_eq!(session.browser.index.len(), 50);
}
