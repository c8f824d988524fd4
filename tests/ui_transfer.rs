//! Profiles exported and imported in the app, clicked through as a user does: the import
//! preview of another tool's file with a name clash (renamed), the passwords it brings kept in
//! a real OS keyring and used to connect; the export dialog refusing passphrases that differ,
//! then a sealed export opened in the preview on "another machine"; groups, search and last
//! used first in the profile list.

mod common;

use std::time::Duration;

use cache_console::config::connection::{PasswordSource, parse_url};
use cache_console::config::profiles::{Profile, ProfileStore};
use cache_console::state::{Action, SessionStatus};
use cache_console::ui::App;
use common::RedisServer;
use common::keyring::{SecretService, files_holding};
use common::ui::{app_with_secrets, run_until, wait_listed};
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

const PASSWORD: &str = "imported-ui-Pw-71";

fn seeded_redis() -> RedisServer {
    let redis = RedisServer::start_with(Some(PASSWORD));
    common::fill(&mut redis.conn(), "moved:", 3);
    redis
}

fn saved(cfg: &std::path::Path) -> Vec<Profile> {
    ProfileStore::load_from(cfg).store.profiles().to_vec()
}

fn type_into(h: &mut Harness<'static, App>, label: &str, text: &str) {
    h.get_by_label(label).focus();
    h.run_steps(1);
    h.get_by_label(label).type_text(text);
    h.run_steps(1);
}

/// Connects `name` from the list and waits until its keys are listed.
fn connect_listed(h: &mut Harness<'static, App>, name: &str) {
    h.get_by_label(name).click();
    h.run_steps(1);
    h.get_by_label("Connect").click();
    h.run_steps(2);
    run_until(h, "the connection", |app| {
        app.state
            .active_session()
            .is_some_and(|s| s.status != SessionStatus::Connecting)
    });
    let status = h.state().state.active_session().map(|s| s.status.clone());
    assert_eq!(status, Some(SessionStatus::Connected), "{name}");
    wait_listed(h);
}

/// RESP.app's connections.json: one name taken here, one in a group, fields we lack.
fn resp_file(dir: &std::path::Path, port: u16) -> std::path::PathBuf {
    let file = dir.join("connections.json");
    std::fs::write(
        &file,
        format!(
            r#"[{{"name": "cache", "host": "127.0.0.1", "port": {port}, "auth": "{PASSWORD}",
                 "ssl_local_cert_path": "", "timeout_connect": 4000}},
               {{"type": "group", "name": "Team", "connections": [
                 {{"name": "team-cache", "host": "127.0.0.1", "port": {port},
                   "auth": "{PASSWORD}", "default_formatter": "json", "lua_keys_loading": true}}]}}]"#
        ),
    )
    .expect("write");
    file
}

#[test]
fn another_tools_file_is_previewed_a_clash_renamed_and_its_password_kept_in_the_keyring() {
    let keyring = SecretService::start();
    let redis = seeded_redis();
    let cfg = common::config_dir();
    let mut store = ProfileStore::empty_in(cfg.path());
    let (spec, _) = parse_url("redis://127.0.0.1:1/0").expect("url");
    store.add(Profile::new("cache", spec.clone())).expect("add");
    store.save().expect("save");

    let downloads = tempfile::tempdir().expect("dir");
    let file = resp_file(downloads.path(), redis.port);

    let mut h = app_with_secrets(cfg.path(), &keyring.address);
    h.state_mut()
        .state
        .handle(Action::ImportProfiles(file.clone()));
    run_until(&mut h, "the preview", |app| {
        app.state.import_preview.is_some()
    });
    assert!(
        h.query_all_by_label_contains("RESP.app connections, 2 profile(s)")
            .next()
            .is_some()
    );
    assert!(h.query_by_label("name taken:").is_some());
    assert!(h.query_by_label("added").is_some());
    assert!(
        h.query_all_by_label_contains("lua_keys_loading")
            .next()
            .is_some()
    );
    // Skipped by default: one profile goes in.
    assert!(h.query_by_label("Import 1").is_some());

    h.get_by_role_and_label(Role::ComboBox, "name taken:")
        .click();
    h.run_steps(2);
    h.get_by_role_and_label(Role::Button, "Rename").click();
    h.run_steps(2);
    assert!(h.query_by_label("as `cache (2)`").is_some());
    h.get_by_label("In the OS keyring").click();
    h.run_steps(1);
    h.get_by_label("Import 2").click();
    h.run_steps(2);
    run_until(&mut h, "the passwords kept", |_| {
        keyring.password_of("cache (2)").is_some() && keyring.password_of("team-cache").is_some()
    });
    // Each profile points at the keyring once its password is kept there (a second save).
    run_until(&mut h, "the profiles saved", |_| {
        let profiles = saved(cfg.path());
        profiles.len() == 3
            && profiles
                .iter()
                .filter(|p| p.connection.password_source() == &PasswordSource::Keyring)
                .count()
                == 2
    });

    let profiles = saved(cfg.path());
    let renamed = profiles
        .iter()
        .find(|p| p.name == "cache (2)")
        .expect("renamed");
    assert_eq!(
        renamed.connection.password_source(),
        &PasswordSource::Keyring
    );
    assert_eq!(
        profiles
            .iter()
            .find(|p| p.name == "cache")
            .map(|p| &p.connection),
        Some(&spec),
        "the saved one is untouched"
    );
    assert_eq!(
        profiles
            .iter()
            .find(|p| p.name == "team-cache")
            .and_then(|p| p.group.as_deref()),
        Some("Team")
    );
    assert_eq!(keyring.password_of("cache (2)").as_deref(), Some(PASSWORD));
    assert_eq!(
        files_holding(cfg.path(), PASSWORD),
        Vec::<std::path::PathBuf>::new()
    );

    // The group shows as a folder, and the imported password connects without a question.
    assert!(h.query_by_label("Team (1)").is_some());
    connect_listed(&mut h, "cache (2)");
    assert!(h.state().state.password_prompt.is_none());
    let keys = h
        .state()
        .state
        .active_session()
        .map(|s| s.browser.index.len());
    assert_eq!(keys, Some(3));
}

#[test]
fn a_sealed_export_from_the_dialog_opens_in_the_preview_elsewhere() {
    let keyring = SecretService::start();
    let redis = seeded_redis();
    let from = common::config_dir();
    let mut store = ProfileStore::empty_in(from.path());
    for name in ["prod", "left-out"] {
        let (mut spec, _) = parse_url(&format!("redis://127.0.0.1:{}/0", redis.port)).expect("url");
        spec.set_password_source(PasswordSource::Prompt);
        store.add(Profile::new(name, spec)).expect("add");
    }
    store.save().expect("save");
    let mut h = app_with_secrets(from.path(), &keyring.address);
    // The password remembered in the keyring first, as the password dialog does.
    h.state_mut().state.connect_profile("prod");
    run_until(&mut h, "the password dialog", |app| {
        app.state.password_prompt.is_some()
    });
    type_into(&mut h, "Password", PASSWORD);
    h.get_by_label("In the OS keyring").click();
    h.run_steps(1);
    h.get_by_label("Connect").click();
    h.run_steps(2);
    run_until(&mut h, "the password kept", |_| {
        keyring.password_of("prod").is_some()
    });

    // Escape closes the dialog, as every dialog here; it opens again with every profile ticked.
    h.get_by_label("Export profiles...").click();
    h.run_steps(2);
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
    assert!(h.state().state.export_dialog.is_none());
    h.get_by_label("Export profiles...").click();
    h.run_steps(2);
    h.get_by_role_and_label(Role::CheckBox, "left-out").click();
    h.run_steps(1);
    h.get_by_label("Include remembered passwords, sealed with a passphrase")
        .click();
    h.run_steps(2);
    type_into(&mut h, "Passphrase (the importer types it)", "team secret");
    type_into(&mut h, "Passphrase again", "team secreT");
    h.get_by_label("Export…").click();
    h.run_steps(2);
    assert!(h.query_by_label("the two passphrases differ").is_some());
    assert!(h.state().state.export_dialog.is_some(), "nothing written");

    h.get_by_label("Passphrase again").focus();
    h.run_steps(1);
    h.key_press(egui::Key::Backspace);
    h.get_by_label("Passphrase again").type_text("t");
    h.run_steps(1);
    // Where the file dialog would answer.
    let file = from.path().join("export.json");
    assert!(h.state_mut().state.export_ready());
    h.state_mut()
        .state
        .handle(Action::ExportProfiles(file.clone()));
    run_until(&mut h, "the export", |_| file.exists());
    let text = std::fs::read_to_string(&file).expect("export");
    assert!(
        text.contains("\"prod\"") && !text.contains("left-out"),
        "{text}"
    );
    assert!(!text.contains(PASSWORD));

    // "Another machine": no profiles, its own keyring.
    let other_keyring = SecretService::start();
    let to = common::config_dir();
    let mut h = app_with_secrets(to.path(), &other_keyring.address);
    h.state_mut().state.handle(Action::ImportProfiles(file));
    run_until(&mut h, "the preview", |app| {
        app.state.import_preview.is_some()
    });
    type_into(&mut h, "Passphrase", "wrong one");
    h.get_by_label("Open passwords").click();
    h.run_steps(2);
    run_until(&mut h, "the refusal", |app| {
        app.state
            .import_preview
            .as_ref()
            .is_some_and(|p| p.error.is_some())
    });
    assert!(
        h.query_by_label_contains("passphrase does not open")
            .is_some()
    );
    type_into(&mut h, "Passphrase", "team secret");
    h.get_by_label("Open passwords").click();
    h.run_steps(2);
    run_until(&mut h, "the passwords opened", |app| {
        app.state
            .import_preview
            .as_ref()
            .is_some_and(|p| !p.incoming.secrets.is_empty())
    });
    assert!(
        h.query_by_label_contains("1 password(s) come with it")
            .is_some()
    );
    h.get_by_label("Import 1").click();
    h.run_steps(2);
    run_until(&mut h, "the password kept", |_| {
        other_keyring.password_of("prod").is_some()
    });
    std::thread::sleep(Duration::from_millis(50));
    connect_listed(&mut h, "prod");
    assert!(h.state().state.password_prompt.is_none());
}

#[test]
fn groups_search_and_the_last_used_first() {
    let redis = RedisServer::start();
    let cfg = common::config_dir();
    let mut store = ProfileStore::empty_in(cfg.path());
    for (name, group) in [
        ("alpha", None),
        ("orders", Some("Production")),
        ("sessions", Some("Production")),
        ("zeta", None),
    ] {
        let (spec, _) = parse_url(&format!("redis://127.0.0.1:{}/0", redis.port)).expect("url");
        let mut p = Profile::new(name, spec);
        p.group = group.map(str::to_owned);
        store.add(p).expect("add");
    }
    store.save().expect("save");
    let mut h = app_with_secrets(cfg.path(), &common::keyring::dead_bus());
    assert!(h.query_by_label("Production (2)").is_some());
    // The profile list is the left panel (a connection's header may name its profile too).
    let row_top = |h: &Harness<'static, App>, name: &str| {
        h.get_all_by_label(name)
            .map(|n| n.rect())
            .find(|r| r.left() < 300.0)
            .map_or_else(|| panic!("{name} is not in the list"), |r| r.top())
    };
    let top = |h: &Harness<'static, App>, a: &str, b: &str| row_top(h, a) < row_top(h, b);
    assert!(top(&h, "alpha", "zeta"), "never used: by name");

    connect_listed(&mut h, "zeta");
    h.run_steps(2);
    assert!(top(&h, "zeta", "alpha"), "the last used comes first");
    run_until(&mut h, "the use saved", |_| {
        saved(cfg.path())
            .iter()
            .any(|p| p.name == "zeta" && p.last_used_ms.is_some())
    });

    type_into(&mut h, "Search profiles", "prod sess");
    h.run_steps(2);
    assert!(h.query_by_label("sessions").is_some());
    assert!(h.query_by_label("orders").is_none());
    assert!(h.query_by_label("alpha").is_none());
    assert!(h.query_by_label("Production (1)").is_some());
    type_into(&mut h, "Search profiles", "x-nothing");
    h.run_steps(1);
    assert!(h.query_by_label_contains("No profile matches").is_some());
}

#[test]
fn many_clashes_are_answered_at_once_and_escape_leaves_the_saved_profiles_alone() {
    let cfg = common::config_dir();
    let mut store = ProfileStore::empty_in(cfg.path());
    for name in ["a", "b"] {
        let (spec, _) = parse_url("redis://127.0.0.1:1/0").expect("url");
        store.add(Profile::new(name, spec)).expect("add");
    }
    store.save().expect("save");
    let downloads = tempfile::tempdir().expect("dir");
    let file = downloads.path().join("connections.json");
    std::fs::write(
        &file,
        r#"[{"name": "a", "host": "10.0.0.1", "port": 6379},
            {"name": "b", "host": "10.0.0.2", "port": 6379},
            {"name": "c", "host": "10.0.0.3", "port": 6379}]"#,
    )
    .expect("write");
    let mut h = app_with_secrets(cfg.path(), &common::keyring::dead_bus());
    let open_preview = |h: &mut Harness<'static, App>| {
        h.state_mut()
            .state
            .handle(Action::ImportProfiles(file.clone()));
        run_until(h, "the preview", |app| app.state.import_preview.is_some());
    };

    // Escape: nothing merged.
    open_preview(&mut h);
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
    assert!(h.state().state.import_preview.is_none());
    assert_eq!(saved(cfg.path()).len(), 2);

    open_preview(&mut h);
    assert!(
        h.query_by_label("2 names are taken. For all of them:")
            .is_some()
    );
    h.get_by_label("Rename all").click();
    h.run_steps(2);
    assert!(h.query_by_label("as `a (2)`").is_some());
    assert!(h.query_by_label("as `b (2)`").is_some());
    h.get_by_label("Import 3").click();
    h.run_steps(2);
    run_until(&mut h, "the profiles saved", |_| {
        saved(cfg.path()).len() == 5
    });
    let mut names: Vec<String> = saved(cfg.path()).into_iter().map(|p| p.name).collect();
    names.sort();
    assert_eq!(names, ["a", "a (2)", "b", "b (2)", "c"]);
}
