//! The console, clicked and typed through as a user does against real servers: commands typed
//! and pasted, replies as trees, the history kept across a restart with its secrets
//! redacted, completion and help from the server, a read-only profile refusing a write (the
//! server unchanged), a production profile asking before a dangerous command, a blocking
//! command cancelled, and a keyless command on a cluster run where the user chooses.

mod common;

use cache_console::config::profiles::{Profile, ProfileStore};
use cache_console::config::uistate::UiState;
use cache_console::state::{AppState, ConsoleOutcome, DocsState};
use cache_console::ui::App;
use common::RedisServer;
use common::cluster::RedisCluster;
use common::ui::{connect_with, harness, run_until, wait_listed};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

type H = Harness<'static, App>;

const INPUT: &str = "Console command";

fn open_console(h: &mut H) {
    wait_listed(h);
    h.get_by_label("Console").click();
    run_until(h, "the command list", |app| {
        app.state
            .active_session()
            .is_some_and(|s| s.console.docs_state == DocsState::Loaded)
    });
}

fn outcomes(h: &H) -> Vec<(String, ConsoleOutcome)> {
    h.state()
        .state
        .active_session()
        .map(|s| {
            s.console
                .entries
                .iter()
                .map(|e| (e.line.clone(), e.outcome.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// Waits until the console runs nothing and nothing waits.
fn settled(h: &mut H) {
    // What was just clicked or typed is taken first.
    h.run_steps(1);
    run_until(h, "the console's commands", |app| {
        app.state.active_session().is_some_and(|s| {
            s.console
                .entries
                .iter()
                .all(|e| !matches!(e.outcome, ConsoleOutcome::Queued | ConsoleOutcome::Running))
        })
    });
}

fn run(h: &mut H, line: &str) {
    h.get_by_label(INPUT).focus();
    h.run_steps(1);
    h.get_by_label(INPUT).type_text(line);
    h.run_steps(1);
    h.key_press(egui::Key::Enter);
    h.run_steps(1);
    settled(h);
}

fn get(server: &RedisServer, key: &str) -> Option<String> {
    redis::cmd("GET")
        .arg(key)
        .query(&mut server.conn())
        .expect("get")
}

/// The app over the profiles in `cfg`, started from `saved` window settings (so they are
/// saved from now on), connected to `dev` with its console open.
fn start(cfg: &std::path::Path, saved: &UiState) -> H {
    let mut h = harness(AppState::new(ProfileStore::load_from(cfg).store, None));
    h.state_mut().state.restore_ui(saved);
    h.state_mut().state.connect_profile("dev");
    h.run_steps(2);
    open_console(&mut h);
    h
}

#[test]
fn typed_and_pasted_commands_run_and_the_history_is_kept_redacted_across_a_restart() {
    let server = RedisServer::start();
    let cfg = tempfile::tempdir().expect("cfg");
    let mut store = ProfileStore::empty_in(cfg.path());
    let (spec, _) = cache_console::config::connection::parse_url(&server.url()).expect("url");
    store.add(Profile::new("dev", spec)).expect("add");
    store.save().expect("save");
    let mut h = start(cfg.path(), &UiState::default());

    run(&mut h, r#"SET greeting "hello world""#);
    assert_eq!(get(&server, "greeting").as_deref(), Some("hello world"));
    assert!(h.query_by_label("OK").is_some());

    // Several lines pasted at once: each a command, in order; an error reply in red.
    h.get_by_label(INPUT).focus();
    h.run_steps(1);
    h.input_mut().events.push(egui::Event::Paste(
        "RPUSH jobs a \"b c\"\nLRANGE jobs 0 -1\nINCR jobs".to_owned(),
    ));
    h.run_steps(1);
    h.key_press(egui::Key::Enter);
    h.run_steps(1);
    settled(&mut h);
    let shown = outcomes(&h);
    let lines: Vec<&str> = shown.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(
        lines,
        [
            r#"SET greeting "hello world""#,
            r#"RPUSH jobs a "b c""#,
            "LRANGE jobs 0 -1",
            "INCR jobs"
        ]
    );
    assert!(
        h.query_by_label("\"b c\"").is_some(),
        "the list's elements: {:?}",
        outcomes(&h)
    );
    assert!(
        h.query_by_label_contains("(error) WRONGTYPE").is_some(),
        "the error reply is shown"
    );
    let len: i64 = redis::cmd("LLEN")
        .arg("jobs")
        .query(&mut server.conn())
        .expect("llen");
    assert_eq!(len, 2);

    // Secrets never reach the history (nor the screen).
    run(&mut h, "ACL SETUSER bob on >hunter2 ~* +get");
    run(&mut h, "AUTH bob hunter2");
    assert!(h.query_by_label_contains("hunter2").is_none());
    let users: Vec<String> = redis::cmd("ACL")
        .arg("USERS")
        .query(&mut server.conn())
        .expect("users");
    assert!(users.contains(&"bob".to_owned()), "the ACL command ran");
    // Unbalanced quotes: said so, nothing sent, nothing kept.
    run(&mut h, r#"SET "oops value"#);
    assert!(matches!(
        outcomes(&h).last(),
        Some((_, ConsoleOutcome::Failed(why))) if why.contains("unbalanced quotes")
    ));

    // The arrow keys bring back the history.
    h.get_by_label(INPUT).focus();
    h.run_steps(1);
    h.key_press(egui::Key::ArrowUp);
    h.run_steps(1);
    assert_eq!(
        h.get_by_label(INPUT).value().as_deref(),
        Some("AUTH (redacted) (redacted)")
    );
    h.key_press(egui::Key::ArrowDown);
    h.run_steps(1);
    assert_eq!(h.get_by_label(INPUT).value().as_deref(), Some(""));

    let file = cfg.path().join(cache_console::config::uistate::FILE_NAME);
    run_until(&mut h, "the history saved", |_| {
        UiState::load_from(cfg.path())
            .0
            .console_history
            .get("dev")
            .is_some_and(|l| l.len() == 6)
    });
    let text = std::fs::read_to_string(&file).expect("ui.ron");
    assert!(!text.contains("hunter2"), "no password in {text}");
    assert!(text.contains("ACL SETUSER bob on (redacted) ~* +get"));
    h.state_mut().shutdown();
    drop(h);

    // The next start: the same history, newest last.
    let (saved, _) = UiState::load_from(cfg.path());
    let mut h = start(cfg.path(), &saved);
    h.get_by_label(INPUT).focus();
    h.run_steps(1);
    h.key_press(egui::Key::ArrowUp);
    h.key_press(egui::Key::ArrowUp);
    h.run_steps(1);
    assert_eq!(
        h.get_by_label(INPUT).value().as_deref(),
        Some("ACL SETUSER bob on (redacted) ~* +get")
    );
    h.state_mut().shutdown();
}

#[test]
fn completion_and_help_come_from_the_server_and_a_blocking_command_can_be_cancelled() {
    let server = RedisServer::start();
    let (_cfg, mut h) = connect_with(&server.url(), "dev", |_| {});
    open_console(&mut h);
    h.get_by_label(INPUT).type_text("hgetal");
    h.run_steps(2);
    assert!(h.query_by_label("HGETALL key").is_some(), "offered");
    h.key_press(egui::Key::Tab);
    h.run_steps(2);
    assert_eq!(h.get_by_label(INPUT).value().as_deref(), Some("HGETALL "));
    assert!(
        h.query_by_label_contains("HGETALL key — ").is_some(),
        "the help line names the arguments and says what it does"
    );
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_label(INPUT).type_text("BLPOP queue 0");
    h.key_press(egui::Key::Enter);
    run_until(&mut h, "the BLPOP to start", |app| {
        app.state.active_session().is_some_and(|s| s.console.busy())
    });
    // The browser still answers meanwhile: its refresh lists again.
    h.get_by_label("Cancel").click();
    settled(&mut h);
    assert!(matches!(
        outcomes(&h).last(),
        Some((_, ConsoleOutcome::Cancelled))
    ));
    run(&mut h, "PING");
    assert!(h.query_by_label("PONG").is_some());
    h.state_mut().shutdown();
}

#[test]
fn a_read_only_profile_refuses_writes_and_production_asks_before_a_dangerous_command() {
    let server = RedisServer::start();
    let mut c = server.conn();
    redis::cmd("SET")
        .arg("kept")
        .arg("1")
        .query::<()>(&mut c)
        .expect("set");
    let (_cfg, mut h) = connect_with(&server.url(), "ro", |p| p.read_only = true);
    open_console(&mut h);
    run(&mut h, "SET sneaky 1");
    assert!(matches!(
        outcomes(&h).last(),
        Some((_, ConsoleOutcome::Failed(why))) if why.contains("read-only")
    ));
    assert_eq!(get(&server, "sneaky"), None, "nothing reached the server");
    run(&mut h, "GET kept");
    assert!(h.query_by_label("\"1\"").is_some());
    h.state_mut().shutdown();

    let (_cfg, mut h) = connect_with(&server.url(), "prod", |p| p.production = true);
    open_console(&mut h);
    h.get_by_label(INPUT).type_text("FLUSHDB");
    h.key_press(egui::Key::Enter);
    run_until(&mut h, "the question", |app| app.state.confirm.is_some());
    h.run_steps(2);
    assert!(h.query_by_label("Run FLUSHDB on production?").is_some());
    assert_eq!(
        get(&server, "kept").as_deref(),
        Some("1"),
        "nothing before the answer"
    );
    h.get_by_label("Cancel").click();
    settled(&mut h);
    assert!(matches!(
        outcomes(&h).last(),
        Some((_, ConsoleOutcome::Failed(why))) if why.contains("not confirmed")
    ));
    assert_eq!(get(&server, "kept").as_deref(), Some("1"));
    run(&mut h, "FLUSHDB");
    assert!(
        h.query_by_label("Run FLUSHDB").is_some(),
        "asked again: {:?}",
        outcomes(&h)
    );
    h.get_by_label("Run FLUSHDB").click();
    settled(&mut h);
    assert_eq!(get(&server, "kept"), None, "flushed once asked");
    h.state_mut().shutdown();
}

#[test]
fn a_keyless_command_on_a_cluster_runs_where_the_user_chooses() {
    let cluster = RedisCluster::start();
    let (_cfg, mut h) = connect_with(&cluster.url(), "shop-cluster", |_| {});
    open_console(&mut h);
    run(&mut h, "SET order:1 paid");
    run(&mut h, "DBSIZE");
    assert!(matches!(
        outcomes(&h).last(),
        Some((_, ConsoleOutcome::NeedsNode))
    ));
    h.get_by_label("All primaries").click();
    settled(&mut h);
    let Some((_, ConsoleOutcome::Replies(replies))) = outcomes(&h).last().cloned() else {
        panic!("replies: {:?}", outcomes(&h));
    };
    assert_eq!(replies.len(), 3, "one a primary");
    for node in &cluster.nodes[..3] {
        assert!(
            h.query_by_label(&format!("127.0.0.1:{}:", node.port))
                .is_some(),
            "each answer under its node"
        );
    }
    h.state_mut().shutdown();
}
