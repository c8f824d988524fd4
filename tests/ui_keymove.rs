//! Export, import and copy in the app, clicked through against real servers: the count before,
//! the progress, Cancel (what was written stays, and the summary says how much), the copy into
//! another open connection asking first when it is production, and a read-only profile that
//! can export but not import.

mod common;

use std::path::Path;

use cache_console::config::profiles::{Profile, ProfileStore};
use cache_console::state::{AppState, MovePhase, SessionAction, SessionStatus};
use cache_console::ui::App;
use common::RedisServer;
use common::ui::{act, harness, run_until, wait_listed};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

type H = Harness<'static, App>;

fn fill(server: &RedisServer, n: usize) {
    let mut c = server.conn();
    let mut pipe = redis::pipe();
    for i in 0..n {
        pipe.cmd("SET").arg(format!("item:{i}")).arg(i).ignore();
        if (i + 1) % 10_000 == 0 {
            pipe.query::<()>(&mut c).expect("fill");
            pipe = redis::pipe();
        }
    }
    if !n.is_multiple_of(10_000) {
        pipe.query::<()>(&mut c).expect("fill");
    }
}

fn dbsize(server: &RedisServer) -> u64 {
    redis::cmd("DBSIZE")
        .query(&mut server.conn())
        .expect("dbsize")
}

fn app(cfg: &Path, profiles: &[(&str, &RedisServer, bool, bool)]) -> H {
    let mut store = ProfileStore::empty_in(cfg);
    for (name, server, read_only, production) in profiles {
        let (spec, _) = cache_console::config::connection::parse_url(&server.url()).expect("url");
        let mut p = Profile::new(*name, spec);
        p.read_only = *read_only;
        p.production = *production;
        store.add(p).expect("add");
    }
    let mut h = harness(AppState::new(store, None));
    for (name, ..) in profiles {
        h.state_mut().state.connect_profile(name);
    }
    run_until(&mut h, "connected", |app| {
        app.state
            .sessions
            .iter()
            .all(|s| s.status == SessionStatus::Connected)
    });
    h
}

fn phase(h: &H) -> Option<MovePhase> {
    h.state()
        .state
        .active_session()
        .and_then(|s| s.key_move.as_ref())
        .map(|m| m.phase.clone())
}

fn wait_done(h: &mut H) {
    run_until(h, "the transfer", |app| {
        matches!(
            app.state
                .active_session()
                .and_then(|s| s.key_move.as_ref())
                .map(|m| &m.phase),
            Some(MovePhase::Done(_) | MovePhase::Failed(_))
        )
    });
}

#[test]
fn an_export_counts_then_writes_and_an_import_can_be_cancelled_keeping_what_it_wrote() {
    let server = RedisServer::start();
    fill(&server, 60_000);
    let cfg = tempfile::tempdir().expect("cfg");
    let mut h = app(cfg.path(), &[("shop", &server, false, false)]);
    h.run_steps(3);
    h.get_by_label("Export...").click();
    run_until(&mut h, "the count", |app| {
        app.state
            .active_session()
            .and_then(|s| s.key_move.as_ref())
            .is_some_and(|m| m.matched.is_some())
    });
    assert!(h.query_by_label("60,000 keys match").is_some());
    // The save dialog's answer.
    let file = cfg.path().join("shop.jsonl");
    act(&mut h, SessionAction::ExportTo(file.clone()));
    wait_done(&mut h);
    assert!(h.query_by_label_contains("60,000 keys exported").is_some());
    let lines = std::fs::read_to_string(&file)
        .expect("file")
        .lines()
        .count();
    assert_eq!(lines, 60_001, "a header and a record a key");
    h.get_by_label("Close").click();
    h.run_steps(2);

    // Import into an empty database, cancelled after it started.
    redis::cmd("FLUSHDB")
        .query::<()>(&mut server.conn())
        .expect("flush");
    h.get_by_label("Import...").click();
    h.run_steps(2);
    act(&mut h, SessionAction::ImportFileChosen(file.clone()));
    run_until(&mut h, "the file read", |app| {
        app.state
            .active_session()
            .and_then(|s| s.key_move.as_ref())
            .is_some_and(|m| m.import.as_ref().is_some_and(|(_, p)| p.is_some()))
    });
    assert!(
        h.query_by_label_contains("60,000 records (JSON lines)")
            .is_some()
    );
    h.get_by_label("Import").click();
    h.run_steps(1);
    run_until(&mut h, "some progress", |app| {
        matches!(
            app.state
                .active_session()
                .and_then(|s| s.key_move.as_ref())
                .map(|m| &m.phase),
            Some(MovePhase::Running(n)) if *n > 0
        ) || already_done(app)
    });
    h.get_by_label("Cancel").click();
    wait_done(&mut h);
    let Some(MovePhase::Done(summary)) = phase(&h) else {
        panic!("a summary: {:?}", phase(&h));
    };
    assert!(summary.cancelled, "{summary:?}");
    assert!(summary.done > 0 && summary.done < 60_000, "{summary:?}");
    assert_eq!(
        dbsize(&server),
        summary.done,
        "what was written stays, and is counted"
    );
    assert!(
        h.query_by_label("Cancelled: what was written before stays.")
            .is_some()
    );
    h.state_mut().shutdown();
}

/// Whether the transfer ended already (a fast machine may finish before a progress frame).
fn already_done(app: &App) -> bool {
    app.state
        .active_session()
        .and_then(|s| s.key_move.as_ref())
        .is_some_and(|m| matches!(m.phase, MovePhase::Done(_)))
}

#[test]
fn keys_are_copied_into_another_open_connection_asking_first_when_it_is_production() {
    let source = RedisServer::start();
    let destination = RedisServer::start();
    fill(&source, 1_000);
    let cfg = tempfile::tempdir().expect("cfg");
    let mut h = app(
        cfg.path(),
        &[
            ("old", &source, true, false),
            ("new", &destination, false, true),
        ],
    );
    let first = h.state().state.sessions[0].conn;
    h.state_mut()
        .state
        .handle(cache_console::state::Action::Activate(first));
    wait_listed(&mut h);
    // Read-only: it can give its keys away, not take any.
    assert!(h.query_by_label("Import...").is_none());
    h.get_by_label("Copy to...").click();
    run_until(&mut h, "the count", |app| {
        app.state
            .active_session()
            .and_then(|s| s.key_move.as_ref())
            .is_some_and(|m| m.matched == Some(1_000))
    });
    h.get_by_label("Copy").click();
    run_until(&mut h, "the question", |app| app.state.confirm.is_some());
    h.run_steps(3);
    assert!(
        h.query_by_label("Write to production?").is_some(),
        "{:?} {:?}",
        h.state()
            .state
            .active_session()
            .and_then(|s| s.key_move.as_ref()),
        h.state().state.confirm
    );
    assert!(
        h.query_by_label_contains("new · db0 is marked production. About to: copy 1000 keys")
            .is_some(),
        "the question names the destination"
    );
    assert_eq!(dbsize(&destination), 0, "nothing before the answer");
    h.get_by_label("Yes, do it").click();
    wait_done(&mut h);
    assert_eq!(dbsize(&destination), 1_000);
    assert!(h.query_by_label_contains("1,000 keys copied").is_some());
    // The destination's audit: one entry a batch, through its own guard.
    let audit = h
        .state()
        .state
        .audit
        .as_ref()
        .map(|a| std::fs::read_to_string(a.path()).unwrap_or_default())
        .unwrap_or_default();
    assert!(
        audit.contains("\"import\"") && audit.contains("\"profile\":\"new\""),
        "{audit}"
    );
    h.state_mut().shutdown();
}
