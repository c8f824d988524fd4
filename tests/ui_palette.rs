//! The command palette and the tabs, driven as a user does: Ctrl+K, a few letters, Enter;
//! the shortcuts the palette shows; tabs with their colour, dragged into another order that
//! the next start keeps.

mod common;

use cache_console::config::profiles::{ColorTag, Profile, ProfileStore};
use cache_console::config::uistate::UiState;
use cache_console::state::{AppState, SessionStatus};
use cache_console::ui::App;
use common::RedisServer;
use common::ui::{harness, run_until, wait_listed};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

type H = Harness<'static, App>;

fn app(cfg: &std::path::Path, saved: &UiState) -> H {
    let mut h = harness(AppState::new(ProfileStore::load_from(cfg).store, None));
    h.state_mut().state.restore_ui(saved);
    h.run_steps(2);
    h
}

fn profiles(cfg: &std::path::Path, server: &RedisServer) {
    let mut store = ProfileStore::empty_in(cfg);
    for (name, db, color) in [
        ("orders-cache", 0, Some(ColorTag::Green)),
        ("sessions-prod", 1, Some(ColorTag::Red)),
    ] {
        let (spec, _) =
            cache_console::config::connection::parse_url(&server.url_db(db)).expect("url");
        let mut p = Profile::new(name, spec);
        p.color = color;
        store.add(p).expect("add");
    }
    store.save().expect("save");
}

fn palette(h: &mut H, typed: &str) {
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::K);
    h.run_steps(2);
    assert!(
        h.state().state.palette.is_some(),
        "Ctrl+K opens the palette"
    );
    h.get_by_label("Command palette").type_text(typed);
    h.run_steps(2);
}

fn tab_names(h: &H) -> Vec<String> {
    h.state()
        .state
        .sessions
        .iter()
        .map(|s| s.profile.name.clone())
        .collect()
}

#[test]
fn the_palette_connects_opens_keys_and_runs_actions_by_fuzzy_search() {
    let server = RedisServer::start();
    redis::cmd("SET")
        .arg("user:1")
        .arg("Ada")
        .query::<()>(&mut server.conn())
        .expect("set");
    let cfg = tempfile::tempdir().expect("cfg");
    profiles(cfg.path(), &server);
    let mut h = app(cfg.path(), &UiState::default());

    // A profile by a few of its letters.
    palette(&mut h, "ordcach");
    assert!(h.query_by_label("Connect: orders-cache").is_some());
    h.key_press(egui::Key::Enter);
    h.run_steps(2);
    assert!(h.state().state.palette.is_none(), "Enter runs and closes");
    wait_listed(&mut h);
    assert_eq!(tab_names(&h), ["orders-cache"]);

    // A key by its name.
    palette(&mut h, "user:1");
    assert!(h.query_by_label("Open key: user:1").is_some());
    // The arrows choose; the key is the last entry offered.
    let offered = cache_console::state::palette::entries(&h.state().state, "user:1").len();
    for _ in 1..offered {
        h.key_press(egui::Key::ArrowDown);
    }
    h.key_press(egui::Key::Enter);
    run_until(&mut h, "the key open", |app| {
        app.state
            .active_session()
            .and_then(|s| s.viewer.as_ref())
            .is_some_and(|v| v.key.as_ref() == b"user:1")
    });

    // An action, shown with its shortcut.
    palette(&mut h, "pubsub");
    let keys = h.query_all_by_label_contains("Ctrl+Shift+U").count();
    assert!(keys > 0, "the palette shows the shortcut");
    h.key_press(egui::Key::Enter);
    h.run_steps(2);
    assert!(
        h.state()
            .state
            .active_session()
            .is_some_and(|s| s.pubsub.is_some()),
        "the Pub/Sub viewer opened"
    );
    // Escape closes it without running anything.
    palette(&mut h, "monitor");
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
    assert!(h.state().state.palette.is_none());
    assert!(
        h.state()
            .state
            .active_session()
            .is_some_and(|s| s.monitor.is_none())
    );
    // The shortcut itself does what the palette does.
    h.key_press_modifiers(
        egui::Modifiers::COMMAND | egui::Modifiers::SHIFT,
        egui::Key::M,
    );
    h.run_steps(2);
    assert!(
        h.state()
            .state
            .active_session()
            .is_some_and(|s| s.monitor.is_some()),
        "Ctrl+Shift+M opened MONITOR"
    );
    h.state_mut().shutdown();
}

#[test]
fn tabs_show_their_colour_move_when_dragged_and_come_back_in_that_order() {
    let server = RedisServer::start();
    let cfg = tempfile::tempdir().expect("cfg");
    profiles(cfg.path(), &server);
    let mut h = app(cfg.path(), &UiState::default());
    h.state_mut().state.connect_profile("orders-cache");
    h.state_mut().state.connect_profile("sessions-prod");
    run_until(&mut h, "both connected", |app| {
        app.state.sessions.len() == 2
            && app
                .state
                .sessions
                .iter()
                .all(|s| s.status == SessionStatus::Connected)
    });
    assert!(
        h.query_by_label("tab colour: green").is_some(),
        "each tab shows its colour"
    );
    assert!(h.query_by_label("tab colour: red").is_some());
    assert_eq!(tab_names(&h), ["orders-cache", "sessions-prod"]);

    // Drag the second tab onto the first, as a mouse does.
    let from = h.get_by_label("sessions-prod · db1").rect().center();
    let to = h.get_by_label("orders-cache · db0").rect().center();
    h.hover_at(from);
    h.run_steps(1);
    h.event(egui::Event::PointerButton {
        pos: from,
        button: egui::PointerButton::Primary,
        pressed: true,
        modifiers: egui::Modifiers::NONE,
    });
    h.run_steps(1);
    for step in 1..=10 {
        let t = step as f32 / 10.0;
        h.hover_at(from + (to - from) * t);
        h.run_steps(1);
    }
    h.event(egui::Event::PointerButton {
        pos: to,
        button: egui::PointerButton::Primary,
        pressed: false,
        modifiers: egui::Modifiers::NONE,
    });
    h.run_steps(3);
    assert_eq!(
        tab_names(&h),
        ["sessions-prod", "orders-cache"],
        "moved by the drag"
    );

    // A click shows a tab (the drag does not take its clicks).
    h.get_by_label("sessions-prod · db1").click();
    h.run_steps(2);
    assert_eq!(h.state().state.active, 0);
    h.get_by_label("orders-cache · db0").click();
    h.run_steps(2);
    assert_eq!(h.state().state.active, 1, "clicked: shown");
    // Ctrl+PageDown shows the next tab, as the palette says.
    let shown = h.state().state.active;
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::PageDown);
    h.run_steps(2);
    assert_ne!(h.state().state.active, shown);

    run_until(&mut h, "the window settings", |_| {
        let tabs = UiState::load_from(cfg.path()).0.tabs;
        tabs.first().is_some_and(|t| t.profile == "sessions-prod")
    });
    h.state_mut().shutdown();
    drop(h);
    let (saved, _) = UiState::load_from(cfg.path());
    let mut h = app(cfg.path(), &saved);
    assert_eq!(
        tab_names(&h),
        ["sessions-prod", "orders-cache"],
        "the next start keeps the order"
    );
    h.state_mut().shutdown();
}
