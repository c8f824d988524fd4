//! TTL changes that cannot go wrong: what is typed is what is applied, even with a fast click;
//! the field reads out what it will do; a much shorter TTL asks first; every TTL change can be
//! undone (value and old TTL); the audit log records the TTL before and after.

mod common;

use common::RedisServer;
use common::ui::{
    connect_to, filter_to, open_audit_log, replace_text, run_until, type_and_click_at_once,
    wait_listed,
};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use redis::Commands as _;

type H = Harness<'static, cache_console::ui::App>;

fn open(h: &mut H, key: &str) {
    filter_to(h, key);
    h.get_by_label(key).click();
    run_until(h, "the key to open", |app| {
        app.state
            .active_session()
            .and_then(|s| s.viewer.as_ref())
            .is_some_and(|v| {
                v.key == key.as_bytes() && v.state == cache_console::state::ViewerState::Loaded
            })
    });
}

/// Waits until the shown connection has no change in flight and the viewer has reloaded.
fn settled(h: &mut H) {
    h.run_steps(2);
    run_until(h, "the change", |app| {
        app.state.active_session().is_some_and(|s| {
            !s.writes_pending()
                && s.viewer
                    .as_ref()
                    .is_none_or(|v| v.state != cache_console::state::ViewerState::Loading)
        })
    });
}

fn pttl(c: &mut redis::Connection, key: &str) -> i64 {
    redis::cmd("PTTL").arg(key).query(c).expect("pttl")
}

#[test]
fn a_fast_click_after_typing_applies_exactly_the_typed_ttl() {
    let server = RedisServer::start();
    let mut c = server.conn();
    let _: () = c.set("k:1", "v").expect("set");
    let (_cfg, mut h) = connect_to(&server.url(), "fast");
    wait_listed(&mut h);
    open(&mut h, "k:1");
    h.get_by_label("New TTL").focus();
    h.run_steps(2);
    h.get_by_label("New TTL").type_text("1");
    h.run_steps(2);
    // "5m" and the click land in one frame: the field must take the keys before the click acts.
    type_and_click_at_once(&mut h, "5m", "Set TTL");
    settled(&mut h);
    let ms = pttl(&mut c, "k:1");
    assert!(
        ms > 890_000 && ms <= 900_000,
        "15 minutes, not 1 second: {ms}"
    );
    h.state_mut().shutdown();
}

#[test]
fn the_field_reads_out_what_a_ttl_will_do_before_it_is_applied() {
    let server = RedisServer::start();
    let mut c = server.conn();
    let _: () = c.set("k:1", "v").expect("set");
    let (_cfg, mut h) = connect_to(&server.url(), "readout");
    wait_listed(&mut h);
    open(&mut h, "k:1");
    assert!(h.query_by_label_contains("a duration (90s, 15m").is_some());
    replace_text(&mut h, "New TTL", "15m");
    assert!(
        h.query_by_label_contains("= 15 minutes · expires ")
            .is_some(),
        "the read-out names the length and the time"
    );
    replace_text(&mut h, "New TTL", "soon");
    assert!(h.query_by_label_contains("`soon` is not a TTL").is_some());
    assert_eq!(pttl(&mut c, "k:1"), -1, "reading out sends nothing");
    h.state_mut().shutdown();
}

#[test]
fn a_short_ttl_on_a_key_without_one_asks_first_and_can_be_undone_value_and_all() {
    let server = RedisServer::start();
    let mut c = server.conn();
    let _: () = c.set("k:1", "precious").expect("set");
    let _: () = c.set("k:2", "v").expect("set");
    let _: () = c.expire("k:2", 5_000).expect("expire");
    let (_cfg, mut h) = connect_to(&server.url(), "short");
    wait_listed(&mut h);
    open(&mut h, "k:1");
    // A bare `2` and Enter: two seconds on a key that had no TTL asks first.
    replace_text(&mut h, "New TTL", "2");
    h.key_press(egui::Key::Enter);
    h.run_steps(3);
    assert!(h.query_by_label("Such a short TTL?").is_some());
    assert!(h.query_by_label_contains("deleted in 2 seconds").is_some());
    h.get_by_label("Cancel").click();
    h.run_steps(3);
    assert_eq!(pttl(&mut c, "k:1"), -1, "cancelled: untouched");
    // Confirmed, it expires; Undo brings the value back, with the TTL it had (none).
    replace_text(&mut h, "New TTL", "1");
    h.get_by_label("Set TTL").click();
    h.run_steps(3);
    h.get_by_label("Set this TTL").click();
    settled(&mut h);
    assert!(h.query_by_label("Changed the TTL of k:1.").is_some());
    run_until(&mut h, "the key to expire", |_| {
        let mut c = server.conn();
        !c.exists::<_, bool>("k:1").expect("exists")
    });
    h.get_by_label("Undo").click();
    run_until(&mut h, "the undo", |app| {
        app.state
            .active_session()
            .is_some_and(|s| s.undo.is_none() && !s.writes_pending())
    });
    let v: String = c.get("k:1").expect("restored");
    assert_eq!(v, "precious");
    assert_eq!(pttl(&mut c, "k:1"), -1, "and its old TTL: none");
    // A tenth of what a key has left also asks; a longer one does not.
    open(&mut h, "k:2");
    replace_text(&mut h, "New TTL", "5m");
    h.get_by_label("Set TTL").click();
    h.run_steps(3);
    assert!(h.query_by_label("Such a short TTL?").is_some());
    h.get_by_label("Cancel").click();
    h.run_steps(2);
    replace_text(&mut h, "New TTL", "2h");
    h.get_by_label("Set TTL").click();
    settled(&mut h);
    assert!(h.state().state.confirm.is_none());
    let ms = pttl(&mut c, "k:2");
    assert!(ms > 7_190_000, "{ms}");
    // Undo of a TTL change on a key that still exists puts the old TTL back.
    h.get_by_label("Undo").click();
    settled(&mut h);
    let ms = pttl(&mut c, "k:2");
    assert!(
        ms > 4_990_000 && ms <= 5_000_000,
        "the old TTL is back: {ms}"
    );
    h.state_mut().shutdown();
}

#[test]
fn the_audit_log_records_the_ttl_before_and_after() {
    let server = RedisServer::start();
    let mut c = server.conn();
    let _: () = c.set("k:1", "v").expect("set");
    let (_cfg, mut h) = connect_to(&server.url(), "audited");
    wait_listed(&mut h);
    open(&mut h, "k:1");
    replace_text(&mut h, "New TTL", "15m");
    h.get_by_label("Set TTL").click();
    settled(&mut h);
    h.get_by_label("Persist").click();
    settled(&mut h);
    open_audit_log(&mut h);
    let entries = common::ui::audit_entries(&h);
    let ttl: Vec<(Option<String>, Option<String>)> = entries
        .iter()
        .filter(|e| e.action == "ttl")
        .map(|e| (e.ttl_before.clone(), e.ttl_after.clone()))
        .collect();
    assert_eq!(
        ttl,
        vec![
            (Some("15 minutes".into()), Some("none".into())),
            (Some("none".into()), Some("15 minutes".into())),
        ],
        "newest first"
    );
    assert!(entries.iter().all(|e| e.db == Some(0)));
    assert!(
        h.query_by_label_contains("TTL from none to 15 minutes")
            .is_some()
    );
    h.state_mut().shutdown();
}
