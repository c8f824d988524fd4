//! Flows that go all the way: the profile form says what is wrong beside each field and saves
//! and connects in one step; a flush is typed, entered and reported; another database starts
//! with every key shown; the tabs come back after a restart.

mod common;

use cache_console::config::profiles::{Profile, ProfileStore};
use cache_console::state::{AppState, ScanPhase, SessionAction, SessionStatus, TestStatus};
use common::RedisServer;
use common::ui::{act, connect_to, harness, replace_text, run_until, wait_listed};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

type H = Harness<'static, cache_console::ui::App>;

fn new_profile_form(cfg: &std::path::Path) -> H {
    let mut h = harness(AppState::new(ProfileStore::empty_in(cfg), None));
    h.run_steps(2);
    h.get_by_label("New profile").click();
    h.run_steps(2);
    h
}

fn test_settled(h: &mut H) {
    h.run_steps(1);
    run_until(h, "the connection test", |app| {
        app.state
            .form
            .as_ref()
            .is_some_and(|f| !matches!(f.test, TestStatus::Running(_)))
    });
}

#[test]
fn the_profile_form_shows_each_problem_beside_its_field_and_saves_and_connects() {
    let server = RedisServer::start();
    common::fill(&mut server.conn(), "k:", 3);
    let cfg = tempfile::tempdir().expect("config dir");
    let mut h = new_profile_form(cfg.path());
    replace_text(&mut h, "Name", "local");
    // An empty host is a problem, not a grey value that looks filled in.
    replace_text(&mut h, "Host", "x");
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.key_press(egui::Key::Backspace);
    h.run_steps(2);
    assert!(h.query_by_label("give the host name or address").is_some());
    replace_text(&mut h, "Host", "127.0.0.1");
    assert!(
        h.query_by_label("give the host name or address").is_none(),
        "the message goes when the field is right"
    );
    replace_text(&mut h, "Port", "99999");
    assert!(
        h.query_by_label("`99999` is not a port: use 1 to 65535")
            .is_some()
    );
    // A mistake in a field is not a failed connection, and what the click says appears below
    // the buttons: none of them moves under the pointer.
    let buttons = |h: &H| {
        ["Save and connect", "Save", "Test connection", "Cancel"].map(|b| h.get_by_label(b).rect())
    };
    let before = buttons(&h);
    h.get_by_label("Test connection").click();
    h.run_steps(2);
    assert_eq!(buttons(&h), before, "the buttons stay where they were");
    assert!(h.query_by_label_contains("Connection failed").is_none());
    assert!(
        h.query_by_label("Fix the fields marked in red first.")
            .is_some()
    );
    replace_text(&mut h, "Port", &server.port.to_string());
    h.get_by_label("Test connection").click();
    test_settled(&mut h);
    assert!(h.query_by_label_contains("Connection OK").is_some());
    assert!(
        h.query_by_label("Fix the fields marked in red first.")
            .is_none(),
        "no old error beside the new result"
    );
    // Change a field: the result was about other settings and goes.
    replace_text(&mut h, "Database", "1");
    assert!(h.query_by_label_contains("Connection OK").is_none());
    replace_text(&mut h, "Database", "0");
    h.get_by_label("Save and connect").click();
    h.run_steps(2);
    wait_listed(&mut h);
    let s = h.state().state.active_session().expect("connected");
    assert_eq!(s.profile.name, "local");
    assert_eq!(s.browser.index.len(), 3);
    h.state_mut().shutdown();
}

#[test]
fn a_memcached_port_out_of_range_says_so_beside_the_servers() {
    let cfg = tempfile::tempdir().expect("config dir");
    let mut h = new_profile_form(cfg.path());
    replace_text(&mut h, "Name", "mc");
    h.get_by_label("Memcached").click();
    h.run_steps(2);
    replace_text(&mut h, "Servers", "127.0.0.1:11211, 127.0.0.1:99999");
    assert!(
        h.query_by_label("`127.0.0.1:99999`: `99999` is not a port: use 1 to 65535")
            .is_some()
    );
    h.get_by_label("Save").click();
    h.run_steps(2);
    assert!(h.state().state.form.is_some(), "nothing was saved");
    assert!(h.state().state.profiles.get("mc").is_none());
    h.state_mut().shutdown();
}

#[test]
fn a_flush_is_typed_at_once_entered_and_reported_with_its_server_and_count() {
    let server = RedisServer::start();
    common::fill(&mut server.conn(), "f:", 7);
    let (_cfg, mut h) = connect_to(&server.url(), "flushme");
    wait_listed(&mut h);
    h.get_by_label("Flush database...").click();
    h.run_steps(3);
    assert!(h.query_by_label("It holds 7 keys.").is_some());
    let description = h
        .state()
        .state
        .active_session()
        .map(|s| s.description.clone())
        .expect("session");
    assert!(description.contains(&format!("127.0.0.1:{}", server.port)));
    assert!(
        h.query_by_label(&format!("Flushes database db0 of flushme ({description})."))
            .is_some(),
        "the question names the server"
    );
    // No click into the field: the confirmation has the keyboard already.
    h.get_by_label("Confirmation").type_text("db0");
    h.key_press(egui::Key::Enter);
    h.run_steps(2);
    run_until(&mut h, "the flush", |app| {
        app.state.confirm.is_none()
            && app.state.active_session().is_some_and(|s| {
                s.browser.scan.phase == ScanPhase::Done && s.browser.index.is_empty()
            })
    });
    let size: u64 = redis::cmd("DBSIZE")
        .query(&mut server.conn())
        .expect("dbsize");
    assert_eq!(size, 0);
    assert!(
        h.query_by_label("flushed db0 of flushme: 7 keys removed")
            .is_some()
    );
    h.state_mut().shutdown();
}

#[test]
fn another_database_starts_with_every_key_and_fresh_counts() {
    let server = RedisServer::start();
    let mut c = server.conn();
    common::fill(&mut c, "a:", 3);
    redis::cmd("SELECT")
        .arg(1)
        .query::<()>(&mut c)
        .expect("select");
    common::fill(&mut c, "b:", 4);
    let (_cfg, mut h) = connect_to(&server.url(), "dbs");
    wait_listed(&mut h);
    replace_text(&mut h, "Pattern", "a:*");
    act(&mut h, SessionAction::Search);
    wait_listed(&mut h);
    common::fill(&mut c, "new:", 2);
    // Opening the list reads the counts again.
    h.get_by_label("Database").click();
    h.run_steps(2);
    run_until(&mut h, "fresh counts", |app| {
        app.state
            .active_session()
            .is_some_and(|s| s.databases.iter().any(|d| d.index == 1 && d.keys == 6))
    });
    act(&mut h, SessionAction::SelectDb(1));
    h.run_steps(2);
    run_until(&mut h, "db1 listed", |app| {
        app.state.active_session().is_some_and(|s| {
            s.db == 1
                && s.status == SessionStatus::Connected
                && s.browser.scan.phase == ScanPhase::Done
        })
    });
    let s = h.state().state.active_session().expect("session");
    assert_eq!(
        s.browser.pattern, "*",
        "the old pattern does not hide db1's keys"
    );
    assert_eq!(s.browser.index.len(), 6);

    // Refresh lists the keys again as well as the counts: keys deleted elsewhere go, new ones
    // come, and the count beside the list agrees with it.
    redis::cmd("DEL")
        .arg("new:0")
        .arg("new:1")
        .query::<()>(&mut c)
        .expect("del");
    common::fill(&mut c, "later:", 5);
    h.get_by_label("Refresh").click();
    h.run_steps(2);
    wait_listed(&mut h);
    run_until(&mut h, "the count of db1", |app| {
        app.state
            .active_session()
            .is_some_and(|s| s.databases.iter().any(|d| d.index == 1 && d.keys == 9))
    });
    let b = &h.state().state.active_session().expect("session").browser;
    assert_eq!(b.index.len(), 9, "b:0-3 and later:0-4");
    assert!(b.index.find(b"new:0").is_none() && b.index.find(b"later:4").is_some());
    h.state_mut().shutdown();
}

#[test]
fn the_tabs_open_at_exit_come_back_at_the_next_start() {
    let server = RedisServer::start();
    let cfg = tempfile::tempdir().expect("config dir");
    let mut store = ProfileStore::empty_in(cfg.path());
    for (name, db) in [("one", 0), ("two", 3)] {
        let (spec, _) =
            cache_console::config::connection::parse_url(&server.url_db(db)).expect("url");
        store.add(Profile::new(name, spec)).expect("add");
    }
    store.save().expect("save profiles");
    let mut h = harness(AppState::new(
        ProfileStore::load_from(cfg.path()).store,
        None,
    ));
    h.state_mut()
        .state
        .restore_ui(&cache_console::config::uistate::UiState::default());
    h.state_mut().state.connect_profile("one");
    h.state_mut().state.connect_profile("two");
    h.run_steps(2);
    run_until(&mut h, "both connected", |app| {
        app.state
            .sessions
            .iter()
            .all(|s| s.status == SessionStatus::Connected)
    });
    // The second tab moves to db 5, and the first is shown when the app closes.
    act(&mut h, SessionAction::SelectDb(5));
    let first = h.state().state.sessions[0].conn;
    h.state_mut()
        .state
        .handle(cache_console::state::Action::Activate(first));
    h.run_steps(2);
    // The settings are written in the background: wait for the file to say so.
    let file = cfg.path().join(cache_console::config::uistate::FILE_NAME);
    run_until(&mut h, "the window settings", |_| {
        cache_console::config::uistate::UiState::load_from(cfg.path())
            .0
            .tabs
            .iter()
            .any(|t| t.profile == "two" && t.db == 5)
    });
    assert!(file.exists());
    h.state_mut().shutdown();
    drop(h);

    // Next start: the same tabs, on the same databases, the same one shown.
    let (saved, warning) = cache_console::config::uistate::UiState::load_from(cfg.path());
    assert_eq!(warning, None);
    let mut h = harness(AppState::new(
        ProfileStore::load_from(cfg.path()).store,
        None,
    ));
    h.state_mut().state.restore_ui(&saved);
    h.run_steps(2);
    let tabs: Vec<(String, u32)> = h
        .state()
        .state
        .sessions
        .iter()
        .map(|s| (s.profile.name.clone(), s.db))
        .collect();
    assert_eq!(tabs, [("one".to_owned(), 0), ("two".to_owned(), 5)]);
    assert_eq!(h.state().state.active, 0);
    h.state_mut().shutdown();
}
