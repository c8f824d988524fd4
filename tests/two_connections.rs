//! Two connections open at once, against two real redis-servers holding the same key names: a
//! question raised on one connection and answered after the other tab was shown acts on the
//! connection that asked, and the other server is left exactly as it was.

mod common;

use cache_console::config::connection::parse_url;
use cache_console::config::profiles::{Profile, ProfileStore};
use cache_console::service::ConnId;
use cache_console::state::{Action, AppState, BulkPhase, ScanPhase, ViewerState};
use cache_console::ui::App;
use common::RedisServer;
use common::ui::{filter_to, harness, replace_text, run_until};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use redis::Commands as _;

type H = Harness<'static, App>;

/// An app with profiles `a` and `b` (adjusted by `adjust`) connected to two servers; both
/// listed, `a` shown. Returns the connections of `a` and `b`.
fn two(
    a: &RedisServer,
    b: &RedisServer,
    adjust: impl Fn(&mut Profile),
) -> (tempfile::TempDir, H, ConnId, ConnId) {
    let cfg = tempfile::tempdir().expect("config dir");
    let mut store = ProfileStore::empty_in(cfg.path());
    for (name, server) in [("a", a), ("b", b)] {
        let (spec, _) = parse_url(&server.url()).expect("url");
        let mut profile = Profile::new(name, spec);
        adjust(&mut profile);
        store.add(profile).expect("profile");
    }
    let mut h = harness(AppState::new(store, None));
    h.run_steps(1);
    h.state_mut().state.connect_profile("a");
    h.state_mut().state.connect_profile("b");
    let conns: Vec<ConnId> = h.state().state.sessions.iter().map(|s| s.conn).collect();
    let [conn_a, conn_b] = conns[..] else {
        panic!("two sessions: {conns:?}");
    };
    for conn in [conn_a, conn_b] {
        run_until(&mut h, "both listings", |app| {
            app.state
                .session(conn)
                .is_some_and(|s| s.browser.scan.phase == ScanPhase::Done)
        });
    }
    show(&mut h, conn_a);
    (cfg, h, conn_a, conn_b)
}

/// Shows a connection's tab, as clicking it would.
fn show(h: &mut H, conn: ConnId) {
    h.state_mut().state.handle(Action::Activate(conn));
    h.run_steps(2);
}

/// Opens `key` in the shown connection by filtering the list to it and clicking it.
fn open(h: &mut H, key: &str) {
    filter_to(h, key);
    h.get_by_label(key).click();
    run_until(h, "the key to open", |app| {
        app.state
            .active_session()
            .and_then(|s| s.viewer.as_ref())
            .is_some_and(|v| v.key == key.as_bytes() && v.state == ViewerState::Loaded)
    });
}

/// Waits until a connection has no write in flight and no listing running.
fn settled(h: &mut H, conn: ConnId, what: &str) {
    h.run_steps(2);
    run_until(h, what, |app| {
        app.state
            .session(conn)
            .is_some_and(|s| !s.writes_pending() && s.browser.scan.phase != ScanPhase::Running)
    });
}

fn get(c: &mut redis::Connection, key: &str) -> Option<String> {
    c.get(key).expect("get")
}

#[test]
fn an_overwrite_answered_on_the_other_tab_renames_on_the_connection_that_asked() {
    let (a, b) = (RedisServer::start(), RedisServer::start());
    let (mut ca, mut cb) = (a.conn(), b.conn());
    for (c, tag) in [(&mut ca, "A"), (&mut cb, "B")] {
        let _: () = c.set("src", format!("from-{tag}")).expect("set");
        let _: () = c.set("dst", format!("old-{tag}")).expect("set");
    }
    let (_cfg, mut h, conn_a, conn_b) = two(&a, &b, |_| {});
    open(&mut h, "src");
    replace_text(&mut h, "New name", "dst");
    h.get_by_label("Rename").click();
    run_until(&mut h, "the overwrite question", |app| {
        app.state.confirm.is_some()
    });
    show(&mut h, conn_b);
    assert_eq!(h.state().state.active_conn(), Some(conn_b));
    h.get_by_label("Replace it").click();
    settled(&mut h, conn_a, "the rename on a");
    assert_eq!(get(&mut ca, "dst").as_deref(), Some("from-A"));
    assert_eq!(get(&mut ca, "src"), None);
    assert_eq!(
        get(&mut cb, "src").as_deref(),
        Some("from-B"),
        "b untouched"
    );
    assert_eq!(get(&mut cb, "dst").as_deref(), Some("old-B"), "b untouched");
    h.state_mut().shutdown();
}

#[test]
fn a_flush_answered_on_the_other_tab_flushes_the_database_that_asked() {
    let (a, b) = (RedisServer::start(), RedisServer::start());
    let (mut ca, mut cb) = (a.conn(), b.conn());
    common::fill(&mut ca, "f:", 10);
    common::fill(&mut cb, "f:", 10);
    let (_cfg, mut h, conn_a, conn_b) = two(&a, &b, |_| {});
    h.get_by_label("Flush database...").click();
    h.run_steps(2);
    assert!(h.query_by_label("Flush this database?").is_some());
    assert!(
        h.query_by_label_contains("Flushes database db0 of a (Redis")
            .is_some()
    );
    show(&mut h, conn_b);
    replace_text(&mut h, "Confirmation", "db0");
    h.get_by_label("Flush").click();
    settled(&mut h, conn_a, "the flush of a");
    run_until(&mut h, "a listed again, empty", |app| {
        app.state
            .session(conn_a)
            .is_some_and(|s| s.browser.scan.phase == ScanPhase::Done && s.browser.index.is_empty())
    });
    let n: u64 = redis::cmd("DBSIZE").query(&mut ca).expect("dbsize");
    assert_eq!(n, 0, "a was flushed");
    let n: u64 = redis::cmd("DBSIZE").query(&mut cb).expect("dbsize");
    assert_eq!(n, 10, "b untouched");
    h.state_mut().shutdown();
}

#[test]
fn a_production_pattern_delete_confirmed_on_the_other_tab_deletes_on_the_connection_that_asked() {
    let (a, b) = (RedisServer::start(), RedisServer::start());
    let (mut ca, mut cb) = (a.conn(), b.conn());
    for c in [&mut ca, &mut cb] {
        common::fill(c, "tmp:", 300);
        common::fill(c, "keep:", 20);
    }
    let (_cfg, mut h, conn_a, conn_b) = two(&a, &b, |p| p.production = true);
    h.get_by_label("Delete by pattern...").click();
    h.run_steps(2);
    replace_text(&mut h, "Pattern to delete", "tmp:*");
    h.get_by_label("Preview").click();
    run_until(&mut h, "the preview", |app| {
        app.state
            .session(conn_a)
            .and_then(|s| s.bulk.as_ref())
            .is_some_and(|b| matches!(b.phase, BulkPhase::Previewed { .. }))
    });
    h.get_by_label("Delete 300 keys").click();
    run_until(&mut h, "the production question", |app| {
        app.state.confirm.is_some()
    });
    show(&mut h, conn_b);
    assert!(h.query_by_label("Write to production?").is_some());
    h.get_by_label("Yes, do it").click();
    run_until(&mut h, "the pattern delete on a", |app| {
        app.state
            .session(conn_a)
            .and_then(|s| s.bulk.as_ref())
            .is_some_and(|b| matches!(b.phase, BulkPhase::Done { .. }))
    });
    let left: Vec<String> = ca.keys("tmp:*").expect("keys");
    assert!(left.is_empty(), "a's matches are gone");
    let kept: Vec<String> = ca.keys("keep:*").expect("keys");
    assert_eq!(kept.len(), 20);
    let n: u64 = redis::cmd("DBSIZE").query(&mut cb).expect("dbsize");
    assert_eq!(n, 320, "b untouched");
    h.state_mut().shutdown();
}

#[test]
fn a_past_ttl_confirmed_on_the_other_tab_deletes_the_key_of_the_connection_that_asked() {
    let (a, b) = (RedisServer::start(), RedisServer::start());
    let (mut ca, mut cb) = (a.conn(), b.conn());
    for c in [&mut ca, &mut cb] {
        let _: () = c.set("old:1", "v").expect("set");
    }
    let (_cfg, mut h, conn_a, conn_b) = two(&a, &b, |_| {});
    open(&mut h, "old:1");
    replace_text(&mut h, "New TTL", "2001-01-01 00:00:00");
    h.get_by_label("Set TTL").click();
    h.run_steps(2);
    assert!(h.query_by_label("Delete the key?").is_some());
    show(&mut h, conn_b);
    h.get_by_label("Delete it").click();
    run_until(&mut h, "the delete on a", |app| {
        app.state.session(conn_a).is_some_and(|s| s.undo.is_some())
    });
    assert_eq!(get(&mut ca, "old:1"), None, "a's key is deleted");
    assert_eq!(get(&mut cb, "old:1").as_deref(), Some("v"), "b untouched");
    let ttl: i64 = redis::cmd("PTTL")
        .arg("old:1")
        .query(&mut cb)
        .expect("pttl");
    assert_eq!(ttl, -1, "b's key keeps having no TTL");
    h.state_mut().shutdown();
}

#[test]
fn a_question_whose_connection_was_closed_does_nothing() {
    let (a, b) = (RedisServer::start(), RedisServer::start());
    let (mut ca, mut cb) = (a.conn(), b.conn());
    common::fill(&mut ca, "f:", 5);
    common::fill(&mut cb, "f:", 5);
    let (_cfg, mut h, conn_a, conn_b) = two(&a, &b, |_| {});
    h.get_by_label("Flush database...").click();
    h.run_steps(2);
    assert!(h.state().state.confirm.is_some());
    h.state_mut().state.handle(Action::Close(conn_a));
    h.run_steps(3);
    assert!(
        h.state().state.confirm.is_none(),
        "the question went with its connection"
    );
    assert_eq!(h.state().state.active_conn(), Some(conn_b));
    for c in [&mut ca, &mut cb] {
        let n: u64 = redis::cmd("DBSIZE").query(c).expect("dbsize");
        assert_eq!(n, 5);
    }
    h.state_mut().shutdown();
}
