//! Remembering a password, clicked through as a user does: in the OS keyring (a real
//! gnome-keyring on a private bus) and in the vault; read back after the app restarts; a
//! keyring that is not there names the profile and asks; a wrong vault passphrase is said and
//! asked again.

mod common;

use cache_console::config::connection::{PasswordSource, parse_url};
use cache_console::config::profiles::{Profile, ProfileStore};
use cache_console::config::secrets::{Keyring, SecretPlaces};
use cache_console::state::{AppState, SessionStatus};
use cache_console::ui::App;
use common::RedisServer;
use common::keyring::{SecretService, dead_bus, files_holding};
use common::ui::{app_with_secrets, harness, run_until, wait_listed};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

const PASSWORD: &str = "ui-remembered-Pw-33";
const NEW_PASSWORD: &str = "ui-rotated-Pw-44";

fn seeded_redis() -> RedisServer {
    let redis = RedisServer::start_with(Some(PASSWORD));
    common::fill(&mut redis.conn(), "kept:", 5);
    redis
}

fn save_profile(cfg: &std::path::Path, port: u16, source: PasswordSource) {
    let mut store = ProfileStore::empty_in(cfg);
    let (mut spec, _) = parse_url(&format!("redis://127.0.0.1:{port}/0")).expect("url");
    spec.set_password_source(source);
    store.add(Profile::new("prod", spec)).expect("add");
    store.save().expect("save");
}

fn connect(h: &mut Harness<'static, App>) {
    h.get_by_label("prod").click();
    h.run_steps(1);
    h.get_by_label("Connect").click();
    h.run_steps(2);
}

fn type_into(h: &mut Harness<'static, App>, label: &str, text: &str) {
    h.get_by_label(label).focus();
    h.run_steps(1);
    h.get_by_label(label).type_text(text);
    h.run_steps(1);
}

fn source_saved(cfg: &std::path::Path) -> PasswordSource {
    ProfileStore::load_from(cfg)
        .store
        .get("prod")
        .expect("prod")
        .connection
        .password_source()
        .clone()
}

fn connected(h: &Harness<'static, App>) -> bool {
    connected_app(h.state())
}

#[test]
fn a_password_remembered_in_the_keyring_connects_after_a_restart_without_asking() {
    let keyring = SecretService::start();
    let redis = seeded_redis();
    let cfg = tempfile::tempdir().expect("cfg");
    save_profile(cfg.path(), redis.port, PasswordSource::Prompt);

    let mut h = app_with_secrets(cfg.path(), &keyring.address);
    connect(&mut h);
    h.get_by_label("Password for prod");
    type_into(&mut h, "Password", PASSWORD);
    h.get_by_label("In the OS keyring").click();
    h.run_steps(1);
    h.get_by_label("Kept by the system's keyring (Secret Service, Keychain, Credential Manager).");
    h.key_press(egui::Key::Enter);
    wait_listed(&mut h);
    run_until(&mut h, "the profile to read from the keyring", |_| {
        source_saved(cfg.path()) == PasswordSource::Keyring
    });
    assert!(
        h.query_by_label_contains("is remembered in the OS keyring")
            .is_some()
    );
    assert_eq!(keyring.password_of("prod").as_deref(), Some(PASSWORD));
    drop(h);

    // Restarted: the password comes from the keyring, no dialog.
    let mut h = app_with_secrets(cfg.path(), &keyring.address);
    connect(&mut h);
    wait_listed(&mut h);
    assert!(connected(&h));
    assert!(
        h.state().state.password_prompt.is_none(),
        "nothing was asked"
    );
    h.get_by_label("kept:0");
    drop(h);
    assert_eq!(
        files_holding(cfg.path(), PASSWORD),
        Vec::<std::path::PathBuf>::new()
    );

    // The server's password changes: the remembered one is refused, asked for again with the
    // reason, and the new one replaces it in the keyring.
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("requirepass")
        .arg(NEW_PASSWORD)
        .query::<()>(
            &mut redis::Client::open(format!("redis://:{PASSWORD}@127.0.0.1:{}/", redis.port))
                .expect("client")
                .get_connection()
                .expect("conn"),
        )
        .expect("new password");
    let mut h = app_with_secrets(cfg.path(), &keyring.address);
    connect(&mut h);
    run_until(&mut h, "the refusal", |app| {
        app.state
            .active_session()
            .is_some_and(|s| matches!(s.status, SessionStatus::Failed(_)))
    });
    h.get_by_label("Retry").click();
    run_until(&mut h, "the password dialog", |app| {
        app.state.password_prompt.is_some()
    });
    h.get_by_label_contains("The server refused the password remembered in the OS keyring");
    type_into(&mut h, "Password", NEW_PASSWORD);
    h.key_press(egui::Key::Enter);
    wait_listed(&mut h);
    run_until(&mut h, "the keyring to hold the new password", |_| {
        keyring.password_of("prod").as_deref() == Some(NEW_PASSWORD)
    });
    drop(h);

    // The entry removed behind the console's back: said, and asked for.
    keyring.remove_password("prod");
    let mut h = app_with_secrets(cfg.path(), &keyring.address);
    connect(&mut h);
    run_until(&mut h, "the password dialog", |app| {
        app.state.password_prompt.is_some()
    });
    h.get_by_label_contains("No password is remembered for `prod` in the OS keyring");
    type_into(&mut h, "Password", NEW_PASSWORD);
    h.key_press(egui::Key::Enter);
    wait_listed(&mut h);
    run_until(&mut h, "the keyring to hold it again", |_| {
        keyring.password_of("prod").as_deref() == Some(NEW_PASSWORD)
    });
    drop(h);

    // Deleted with its profile.
    let mut h = app_with_secrets(cfg.path(), &keyring.address);
    h.get_by_label("prod").click();
    h.run_steps(1);
    h.get_by_label("Delete").click();
    h.run_steps(2);
    h.get_by_label("Delete profile").click();
    run_until(&mut h, "the keyring entry to go", |_| {
        keyring.password_of("prod").is_none()
    });
}

#[test]
fn a_keyring_that_is_not_there_names_the_profile_and_asks_for_the_password() {
    let redis = seeded_redis();
    let cfg = tempfile::tempdir().expect("cfg");
    save_profile(cfg.path(), redis.port, PasswordSource::Keyring);

    let mut h = app_with_secrets(cfg.path(), &dead_bus());
    connect(&mut h);
    run_until(&mut h, "the password dialog", |app| {
        app.state.password_prompt.is_some()
    });
    let note = h
        .state()
        .state
        .password_prompt
        .as_ref()
        .and_then(|p| p.note.clone())
        .expect("a note says why");
    assert!(note.contains("`prod`"), "{note}");
    assert!(note.contains("OS keyring is not available"), "{note}");
    h.get_by_label_contains("OS keyring is not available");
    type_into(&mut h, "Password", PASSWORD);
    h.key_press(egui::Key::Enter);
    wait_listed(&mut h);
    assert!(connected(&h));
    assert_eq!(
        source_saved(cfg.path()),
        PasswordSource::Keyring,
        "the profile is kept"
    );
}

#[test]
fn the_vault_is_created_once_then_unlocked_and_a_wrong_passphrase_is_asked_again() {
    let redis = seeded_redis();
    let cfg = tempfile::tempdir().expect("cfg");
    save_profile(cfg.path(), redis.port, PasswordSource::Prompt);

    let mut h = app_with_secrets(cfg.path(), &dead_bus());
    connect(&mut h);
    type_into(&mut h, "Password", PASSWORD);
    h.get_by_label("In the vault").click();
    h.run_steps(1);
    h.key_press(egui::Key::Enter);
    run_until(&mut h, "the new vault dialog", |app| {
        app.state
            .vault_prompt
            .as_ref()
            .is_some_and(|p| p.status.is_some())
    });
    h.get_by_label("Create the vault");
    type_into(&mut h, "Vault passphrase", "vault master");
    type_into(&mut h, "Passphrase again", "vault masterX");
    h.get_by_label("Create").click();
    h.run_steps(2);
    h.get_by_label("the two passphrases differ");
    h.get_by_label("Passphrase again").focus();
    h.run_steps(1);
    h.key_press(egui::Key::Backspace);
    h.run_steps(1);
    // The passphrase stays as typed; the confirmation is put right.
    h.get_by_label("Create").click();
    run_until(&mut h, "the vault to be made", |app| {
        app.state.vault_prompt.is_none()
    });
    wait_listed(&mut h);
    run_until(&mut h, "the profile to read from the vault", |_| {
        source_saved(cfg.path()) == PasswordSource::Vault
    });
    assert!(cfg.path().join("vault.age").exists());
    drop(h);
    assert_eq!(
        files_holding(cfg.path(), PASSWORD),
        Vec::<std::path::PathBuf>::new()
    );

    // Restarted: the vault is asked for once; a wrong passphrase is said and asked again.
    let sealed = std::fs::read(cfg.path().join("vault.age")).expect("vault");
    let mut h = app_with_secrets(cfg.path(), &dead_bus());
    connect(&mut h);
    run_until(&mut h, "the unlock dialog", |app| {
        app.state
            .vault_prompt
            .as_ref()
            .is_some_and(|p| p.status.is_some())
    });
    h.get_by_label("Unlock the vault");
    type_into(&mut h, "Vault passphrase", "wrong one");
    h.get_by_label("Unlock").click();
    run_until(&mut h, "the refusal", |app| {
        app.state
            .vault_prompt
            .as_ref()
            .is_some_and(|p| p.error.is_some() && !p.busy)
    });
    h.get_by_label("wrong vault passphrase (the vault file was not changed)");
    assert_eq!(
        std::fs::read(cfg.path().join("vault.age")).expect("vault"),
        sealed
    );
    type_into(&mut h, "Vault passphrase", "vault master");
    h.get_by_label("Unlock").click();
    wait_listed(&mut h);
    assert!(connected(&h));
    assert!(
        h.state().state.password_prompt.is_none(),
        "the vault gave the password"
    );
}

#[test]
fn an_ssh_key_passphrase_remembered_in_the_keyring_opens_the_tunnel_after_a_restart() {
    use cache_console::config::connection::SshAuth;
    use common::sshd::{ClientKeys, PASSPHRASE, Sshd, tunnel_spec};
    let keyring = SecretService::start();
    let keys = ClientKeys::new();
    let sshd = Sshd::start(&keys.authorized());
    let redis = RedisServer::start();
    let cfg = tempfile::tempdir().expect("cfg");
    let known_hosts = cfg.path().join("known_hosts");
    std::fs::write(&known_hosts, sshd.known_hosts_line() + "\n").expect("write");
    let mut store = ProfileStore::empty_in(cfg.path());
    let (spec, _) = parse_url(&redis.url()).expect("url");
    let mut profile = Profile::new("prod", spec);
    profile.ssh = Some(tunnel_spec(
        &sshd,
        SshAuth::Key(keys.ecdsa_encrypted.clone()),
        &known_hosts,
    ));
    store.add(profile).expect("add");
    store.save().expect("save");

    let mut h = app_with_secrets(cfg.path(), &keyring.address);
    connect(&mut h);
    run_until(&mut h, "the passphrase question", |app| {
        app.state.ssh_prompt.is_some()
    });
    h.run_steps(2);
    type_into(&mut h, "Passphrase", PASSPHRASE);
    h.get_by_label("In the OS keyring").click();
    h.run_steps(1);
    h.key_press(egui::Key::Enter);
    run_until(&mut h, "the connection", connected_app);
    run_until(
        &mut h,
        "the profile to read the passphrase from the keyring",
        |_| {
            ProfileStore::load_from(cfg.path())
                .store
                .get("prod")
                .and_then(|p| p.ssh.clone())
                .is_some_and(|ssh| ssh.passphrase == PasswordSource::Keyring)
        },
    );
    drop(h);
    assert_eq!(
        keyring
            .secret_of("prod", cache_console::config::secrets::Slot::SshPassphrase)
            .as_deref(),
        Some(PASSPHRASE)
    );
    assert_eq!(
        files_holding(cfg.path(), PASSPHRASE),
        Vec::<std::path::PathBuf>::new()
    );

    // Restarted: the tunnel opens with the remembered passphrase, nothing asked.
    let mut h = app_with_secrets(cfg.path(), &keyring.address);
    connect(&mut h);
    run_until(&mut h, "the connection", connected_app);
    assert!(h.state().state.ssh_prompt.is_none(), "nothing was asked");
}

fn connected_app(app: &App) -> bool {
    app.state
        .active_session()
        .is_some_and(|s| s.status == SessionStatus::Connected)
}

#[test]
fn a_tab_reopened_at_start_asks_for_the_vault_and_takes_typing_at_once() {
    let redis = seeded_redis();
    let cfg = tempfile::tempdir().expect("cfg");
    save_profile(cfg.path(), redis.port, PasswordSource::Vault);
    {
        let mut vault = cache_console::config::secrets::Vault::in_dir(cfg.path());
        vault
            .unlock(&cache_console::config::connection::Secret::new(
                "vault master",
            ))
            .expect("new vault");
        vault
            .set(
                &cache_console::config::secrets::SecretName::new(
                    "prod",
                    cache_console::config::secrets::Slot::Password,
                ),
                &cache_console::config::connection::Secret::new(PASSWORD),
            )
            .expect("kept");
    }
    let loaded = ProfileStore::load_from(cfg.path());
    let mut state = AppState::new(loaded.store, None);
    state.secret_places = SecretPlaces {
        keyring: Keyring::on_bus(dead_bus()),
        vault_dir: cfg.path().to_path_buf(),
    };
    state.restore_ui(&cache_console::config::uistate::UiState {
        tabs: vec![cache_console::config::uistate::OpenTab {
            profile: "prod".into(),
            db: 0,
        }],
        ..Default::default()
    });
    let mut h = harness(state);
    run_until(&mut h, "the unlock dialog", |app| {
        app.state
            .vault_prompt
            .as_ref()
            .is_some_and(|p| p.status.is_some())
    });
    // Settles: nothing repaints for ever while the dialog waits.
    h.run();
    h.get_by_label("Unlock the vault");
    // Typing goes to the passphrase without a click first.
    h.get_by_label("Vault passphrase").type_text("vault master");
    h.run_steps(1);
    h.key_press(egui::Key::Enter);
    wait_listed(&mut h);
    assert!(connected(&h));
}
