//! The console behind an SSH bastion (a real sshd), clicked through as a user does: a host
//! key never seen is shown with its fingerprint and trusted with a click, an encrypted key's
//! passphrase is asked for, and the profile form's SSH rows test the connection.

mod common;

use cache_console::config::connection::SshAuth;
use cache_console::config::profiles::{Profile, ProfileStore};
use cache_console::state::{AppState, SessionStatus};
use common::RedisServer;
use common::sshd::{ClientKeys, PASSPHRASE, Sshd, me, tunnel_spec};
use common::ui::{harness, replace_text, run_until, wait_listed, wait_tested};
use egui_kittest::kittest::Queryable;

fn app_with(
    profile: Profile,
    cfg: &std::path::Path,
) -> egui_kittest::Harness<'static, cache_console::ui::App> {
    let mut store = ProfileStore::empty_in(cfg);
    let name = profile.name.clone();
    store.add(profile).expect("add");
    let mut h = harness(AppState::new(store, None));
    h.run_steps(1);
    h.state_mut().state.connect_profile(&name);
    h
}

#[test]
fn an_unknown_host_key_shows_its_fingerprint_and_is_trusted_with_a_click() {
    let keys = ClientKeys::new();
    let sshd = Sshd::start(&keys.authorized());
    let redis = RedisServer::start();
    redis::cmd("SET")
        .arg("behind:bastion")
        .arg("1")
        .query::<()>(&mut redis.conn())
        .expect("seed");
    let cfg = tempfile::tempdir().expect("cfg");
    let known_hosts = cfg.path().join("known_hosts");
    let (spec, _) = cache_console::config::connection::parse_url(&redis.url()).expect("url");
    let mut profile = Profile::new("prod-behind-bastion", spec);
    profile.ssh = Some(tunnel_spec(
        &sshd,
        SshAuth::Key(keys.ed25519.clone()),
        &known_hosts,
    ));
    let mut h = app_with(profile, cfg.path());

    run_until(&mut h, "the host-key question", |app| {
        app.state.ssh_prompt.is_some()
    });
    h.run_steps(2);
    h.get_by_label(&format!("Unknown SSH host [127.0.0.1]:{}", sshd.port));
    h.get_by_label(&sshd.fingerprint());
    assert!(!known_hosts.exists(), "nothing recorded before the click");
    h.get_by_label("Trust and connect").click();
    wait_listed(&mut h);
    h.run_steps(2);
    assert!(h.state().state.ssh_prompt.is_none());
    h.get_by_label("behind:bastion");
    let session = h.state().state.active_session().expect("session");
    assert_eq!(session.status, SessionStatus::Connected);
    assert!(
        session.description.contains("via ssh"),
        "{}",
        session.description
    );
    assert!(sshd.forwarded_to(redis.port), "{}", sshd.log());
    let recorded = std::fs::read_to_string(&known_hosts).expect("recorded");
    assert_eq!(recorded.lines().count(), 1, "{recorded}");
}

#[test]
fn an_encrypted_key_asks_for_its_passphrase_again_when_it_is_wrong() {
    let keys = ClientKeys::new();
    let sshd = Sshd::start(&keys.authorized());
    let redis = RedisServer::start();
    let cfg = tempfile::tempdir().expect("cfg");
    let known_hosts = cfg.path().join("known_hosts");
    std::fs::write(&known_hosts, sshd.known_hosts_line() + "\n").expect("write");
    let (spec, _) = cache_console::config::connection::parse_url(&redis.url()).expect("url");
    let mut profile = Profile::new("encrypted-key", spec);
    profile.ssh = Some(tunnel_spec(
        &sshd,
        SshAuth::Key(keys.ecdsa_encrypted.clone()),
        &known_hosts,
    ));
    let mut h = app_with(profile, cfg.path());
    run_until(&mut h, "the passphrase question", |app| {
        app.state.ssh_prompt.is_some()
    });
    h.run_steps(2);
    h.get_by_label("SSH key passphrase");
    h.get_by_label("Passphrase").type_text("not it");
    h.run_steps(1);
    h.get_by_label("Connect").click();
    run_until(&mut h, "the question again", |app| {
        app.state
            .ssh_prompt
            .as_ref()
            .is_some_and(|p| p.text.is_empty())
    });
    h.run_steps(2);
    h.get_by_label_contains("That passphrase does not open");
    h.get_by_label("Passphrase").type_text(PASSPHRASE);
    h.run_steps(1);
    h.get_by_label("Connect").click();
    run_until(&mut h, "the connection", |app| {
        app.state
            .active_session()
            .is_some_and(|s| s.status == SessionStatus::Connected)
    });
    assert!(h.state().state.ssh_prompt.is_none());
}

#[test]
fn the_profile_form_tests_through_the_tunnel_and_saves_it() {
    let keys = ClientKeys::new();
    let sshd = Sshd::start(&keys.authorized());
    let redis = RedisServer::start();
    let cfg = tempfile::tempdir().expect("cfg");
    let known_hosts = cfg.path().join("known_hosts");
    let mut h = harness(AppState::new(ProfileStore::empty_in(cfg.path()), None));
    h.run_steps(1);
    h.get_by_label("New profile").click();
    h.run_steps(2);
    replace_text(&mut h, "Name", "tunnelled");
    replace_text(&mut h, "Port", &redis.port.to_string());
    h.get_by_label("Connect through an SSH host (bastion)")
        .click();
    h.run_steps(2);
    replace_text(
        &mut h,
        "SSH host",
        &format!("{}@127.0.0.1:{}", me(), sshd.port),
    );
    h.get_by_label("Key file").click();
    h.run_steps(2);
    replace_text(&mut h, "SSH key file", &keys.ed25519.display().to_string());
    replace_text(
        &mut h,
        "Known hosts file",
        &known_hosts.display().to_string(),
    );
    // A bad jump host is shown beside its field, and nothing is tested.
    replace_text(&mut h, "Jump hosts", "bad host");
    h.run_steps(2);
    h.get_by_label_contains("is not `user@host:port`");
    h.get_by_label("Jump hosts").focus();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.key_press(egui::Key::Backspace);
    h.run_steps(2);
    assert_eq!(h.get_by_label("Jump hosts").value().as_deref(), Some(""));
    h.get_by_label("Test connection").click();
    run_until(&mut h, "the host-key question", |app| {
        app.state.ssh_prompt.is_some()
    });
    h.run_steps(2);
    h.get_by_label(&sshd.fingerprint());
    h.get_by_label("Trust and connect").click();
    h.run_steps(2);
    assert!(h.state().state.ssh_prompt.is_none());
    wait_tested(&mut h);
    let form = h.state().state.form.as_ref().expect("form");
    assert!(
        matches!(&form.test, cache_console::state::TestStatus::Ok(d) if d.contains("via ssh")),
        "{:?}",
        form.test
    );
    h.get_by_label("Save").click();
    h.run_steps(3);
    let saved = h
        .state()
        .state
        .profiles
        .get("tunnelled")
        .expect("saved")
        .clone();
    let ssh = saved.ssh.expect("the tunnel is kept");
    assert_eq!(ssh.hop.port, Some(sshd.port));
    assert_eq!(ssh.auth, SshAuth::Key(keys.ed25519.clone()));
    assert!(sshd.forwarded_to(redis.port), "{}", sshd.log());
}
