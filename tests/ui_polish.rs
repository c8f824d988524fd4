//! The look and the keyboard: shortcuts do what their tooltips say, the theme follows the
//! choice (and is kept), buttons keep their plain names beside their icons.

mod common;

use cache_console::config::uistate::ThemeChoice;
use cache_console::state::{Action, ScanPhase};
use common::RedisServer;
use common::ui::{connect_to, run_until, wait_listed};
use egui_kittest::kittest::Queryable;

#[test]
fn shortcuts_search_filter_create_and_undo_and_their_tooltips_say_so() {
    let server = RedisServer::start();
    let mut c = server.conn();
    common::fill(&mut c, "s:", 3);
    let (_cfg, mut h) = connect_to(&server.url(), "keys");
    wait_listed(&mut h);

    // The tooltip names the shortcut.
    h.get_by_label("Search").hover();
    // Tooltips wait until the pointer rests a moment.
    for _ in 0..60 {
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(h.query_by_label_contains("Search (F5)").is_some());

    // F5 lists again (a key added meanwhile shows up).
    common::fill(&mut c, "t:", 1);
    h.key_press(egui::Key::F5);
    h.run_steps(2);
    run_until(&mut h, "the new listing", |app| {
        app.state
            .active_session()
            .is_some_and(|s| s.browser.scan.phase == ScanPhase::Done && s.browser.index.len() == 4)
    });

    // Ctrl+F goes to the filter.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::F);
    h.run_steps(2);
    assert!(h.get_by_label("Filter").is_focused());
    h.key_press(egui::Key::Escape);
    h.run_steps(2);

    // Ctrl+N opens the new key dialog.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::N);
    h.run_steps(2);
    assert!(h.query_by_label("Create").is_some(), "the new key dialog");
    common::ui::act(&mut h, cache_console::state::SessionAction::CloseCreate);
    h.run_steps(2);

    // Delete a key, then Ctrl+Z puts it back.
    common::ui::act(
        &mut h,
        cache_console::state::SessionAction::OpenKeyByName("s:1".to_owned()),
    );
    common::ui::wait_value(&mut h);
    h.get_by_label("Delete key").click();
    run_until(&mut h, "the delete", |app| {
        app.state.active_session().is_some_and(|s| s.undo.is_some())
    });
    let gone: bool = redis::cmd("EXISTS")
        .arg("s:1")
        .query::<u32>(&mut c)
        .expect("exists")
        == 0;
    assert!(gone);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    h.run_steps(2);
    run_until(&mut h, "the undo", |app| {
        app.state
            .active_session()
            .is_some_and(|s| s.undo.is_none() && !s.writes_pending())
    });
    let back: u32 = redis::cmd("EXISTS")
        .arg("s:1")
        .query(&mut c)
        .expect("exists");
    assert_eq!(back, 1, "Ctrl+Z restored the key");
    h.state_mut().shutdown();
}

#[test]
fn the_theme_follows_the_choice() {
    let server = RedisServer::start();
    let (_cfg, mut h) = connect_to(&server.url(), "theme");
    wait_listed(&mut h);
    for (choice, theme) in [
        (ThemeChoice::Light, egui::Theme::Light),
        (ThemeChoice::Dark, egui::Theme::Dark),
    ] {
        h.state_mut().state.handle(Action::SetTheme(choice));
        h.run_steps(3);
        assert_eq!(h.ctx.theme(), theme);
        assert_eq!(
            h.state().state.ui_snapshot().theme,
            choice,
            "kept with the window"
        );
    }
    h.state_mut().shutdown();
}
