//! `--ssh` on the command line against a real sshd: an unknown host key refused with its
//! fingerprint when there is no terminal, `--ssh-accept-new`, a changed key, `~/.ssh/config`
//! aliases, and profiles that keep their tunnel.

mod common;

use common::sshd::{ClientKeys, Sshd, me};
use common::{RedisServer, cli};

fn ssh_args(sshd: &Sshd, keys: &ClientKeys, known_hosts: &std::path::Path) -> Vec<String> {
    vec![
        "--ssh".to_owned(),
        format!("{}@127.0.0.1:{}", me(), sshd.port),
        "--ssh-key".to_owned(),
        keys.ed25519.display().to_string(),
        "--ssh-known-hosts".to_owned(),
        known_hosts.display().to_string(),
        "--ssh-config".to_owned(),
        "/nonexistent/ssh_config".to_owned(),
    ]
}

#[test]
fn an_unknown_host_is_refused_with_its_fingerprint_then_accepted_when_asked() {
    let keys = ClientKeys::new();
    let sshd = Sshd::start(&keys.authorized());
    let redis = RedisServer::start();
    let cfg = tempfile::tempdir().expect("cfg");
    let known_hosts = cfg.path().join("known_hosts");
    let args = ssh_args(&sshd, &keys, &known_hosts);

    let out = cli(cfg.path())
        .args(["set", &redis.url(), "tunnelled", "v1"])
        .args(&args)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&sshd.fingerprint()), "{err}");
    assert!(err.contains("--ssh-accept-new"), "{err}");
    assert!(!known_hosts.exists());

    let out = cli(cfg.path())
        .args(["set", &redis.url(), "tunnelled", "v1", "--ssh-accept-new"])
        .args(&args)
        .output()
        .expect("run");
    common::ok(&out);
    assert!(sshd.forwarded_to(redis.port), "{}", sshd.log());
    let recorded = std::fs::read_to_string(&known_hosts).expect("recorded");
    assert_eq!(recorded.lines().count(), 1);

    // Recorded: no flag needed now.
    let out = cli(cfg.path())
        .args(["get", &redis.url(), "tunnelled"])
        .args(&args)
        .output()
        .expect("run");
    assert_eq!(common::ok(&out).trim(), "v1");
}

#[test]
fn a_changed_host_key_is_always_refused() {
    let keys = ClientKeys::new();
    let sshd = Sshd::start(&keys.authorized());
    let impostor = Sshd::start(&keys.authorized());
    let redis = RedisServer::start();
    let cfg = tempfile::tempdir().expect("cfg");
    let known_hosts = cfg.path().join("known_hosts");
    std::fs::write(
        &known_hosts,
        format!("[127.0.0.1]:{} {}\n", sshd.port, impostor.host_key),
    )
    .expect("write");
    let out = cli(cfg.path())
        .args(["keys", &redis.url(), "--ssh-accept-new"])
        .args(ssh_args(&sshd, &keys, &known_hosts))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("host key") && err.contains("CHANGED"), "{err}");
    assert!(!sshd.forwarded_to(redis.port));
}

#[test]
fn an_ssh_config_alias_and_a_saved_profile_reach_the_cache() {
    let keys = ClientKeys::new();
    let sshd = Sshd::start(&keys.authorized());
    let redis = RedisServer::start();
    let cfg = tempfile::tempdir().expect("cfg");
    let known_hosts = cfg.path().join("known_hosts");
    std::fs::write(&known_hosts, sshd.known_hosts_line() + "\n").expect("write");
    let config = cfg.path().join("ssh_config");
    std::fs::write(
        &config,
        format!(
            "Host *\n  ServerAliveInterval 30\nHost cache-bastion\n  HostName 127.0.0.1\n  \
             Port {}\n  User {}\n  IdentityFile {}\n",
            sshd.port,
            me(),
            keys.ed25519.display()
        ),
    )
    .expect("config");
    let via_alias = [
        "--ssh",
        "cache-bastion",
        "--ssh-config",
        config.to_str().expect("utf-8"),
        "--ssh-known-hosts",
        known_hosts.to_str().expect("utf-8"),
    ];
    let out = cli(cfg.path())
        .args(["set", &redis.url(), "alias", "yes"])
        .args(via_alias)
        .env("HOME", cfg.path())
        .env_remove("SSH_AUTH_SOCK")
        .output()
        .expect("run");
    common::ok(&out);

    let out = cli(cfg.path())
        .args(["profiles", "add", "behind-bastion", &redis.url()])
        .args(via_alias)
        .output()
        .expect("run");
    common::ok(&out);
    let list = cli(cfg.path())
        .args(["profiles", "list"])
        .output()
        .expect("run");
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(list.contains("via ssh cache-bastion"), "{list}");
    let saved = std::fs::read_to_string(cfg.path().join("profiles.ron")).expect("saved");
    assert!(
        saved.contains("cache-bastion") && saved.contains("known_hosts"),
        "{saved}"
    );

    let out = cli(cfg.path())
        .args(["get", "--profile", "behind-bastion", "alias"])
        .env("HOME", cfg.path())
        .env_remove("SSH_AUTH_SOCK")
        .output()
        .expect("run");
    assert_eq!(common::ok(&out).trim(), "yes");
}

#[test]
fn ssh_options_without_a_tunnel_are_a_usage_error() {
    let cfg = tempfile::tempdir().expect("cfg");
    let out = cli(cfg.path())
        .args(["keys", "redis://127.0.0.1:1", "--ssh-key", "/k"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--ssh"));
    let out = cli(cfg.path())
        .args(["keys", "redis://127.0.0.1:1", "--ssh", "bad host"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}
