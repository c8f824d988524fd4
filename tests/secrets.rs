//! Remembered passwords against a real Secret Service (gnome-keyring on a private bus) and
//! the vault file, through the command line as a user runs it: kept, read back by a new
//! process, removed with the profile; a session with no keyring says so and falls back to
//! asking; a wrong vault passphrase or a damaged vault loses nothing.

mod common;

use std::io::Write as _;
use std::process::{Command, Stdio};

use common::keyring::{SecretService, dead_bus, files_holding};
use common::{RedisServer, cli, ok};

const PASSWORD: &str = "Xq7-remembered-pw-91";

/// The command line on `bus` (the keyring's session bus), with `stdin` piped in.
fn run(cmd: &mut Command, stdin: &str) -> std::process::Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run cache-console");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait")
}

/// `profiles set-password prod --store STORE` with the password piped on stdin.
fn set_password(cmd: &mut Command, store: &str) -> std::process::Output {
    run(
        cmd.args(["profiles", "set-password", "prod", "--store", store]),
        &format!("{PASSWORD}\n"),
    )
}

fn on_bus(cfg: &std::path::Path, bus: &str) -> Command {
    let mut cmd = cli(cfg);
    cmd.env("DBUS_SESSION_BUS_ADDRESS", bus)
        .env_remove("CACHE_CONSOLE_VAULT_PASSPHRASE");
    cmd
}

fn protected_redis() -> RedisServer {
    let redis = RedisServer::start_with(Some(PASSWORD));
    let mut c = redis::Client::open(format!("redis://:{PASSWORD}@127.0.0.1:{}/", redis.port))
        .expect("client")
        .get_connection()
        .expect("conn");
    redis::cmd("SET")
        .arg("kept:key")
        .arg("1")
        .query::<()>(&mut c)
        .expect("seed");
    redis
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_password_kept_in_the_keyring_is_read_by_the_next_run_and_goes_with_its_profile() {
    let keyring = SecretService::start();
    let redis = protected_redis();
    let cfg = common::config_dir();
    let url = format!("redis://127.0.0.1:{}/0", redis.port);
    ok(&on_bus(cfg.path(), &keyring.address)
        .args(["profiles", "add", "prod", &url])
        .output()
        .expect("add"));

    let out = set_password(&mut on_bus(cfg.path(), &keyring.address), "keyring");
    ok(&out);
    assert!(
        stderr(&out).contains("remembered in the OS keyring"),
        "{}",
        stderr(&out)
    );
    assert_eq!(keyring.password_of("prod").as_deref(), Some(PASSWORD));
    let listed = ok(&on_bus(cfg.path(), &keyring.address)
        .args(["profiles", "list"])
        .output()
        .expect("list"));
    assert!(listed.contains("password in the OS keyring"), "{listed}");

    // A new process (the app restarted) reads it from the keyring, asking nothing.
    let keys = ok(&on_bus(cfg.path(), &keyring.address)
        .args(["keys", "--profile", "prod", "kept:*"])
        .stdin(Stdio::null())
        .output()
        .expect("keys"));
    assert_eq!(keys.trim(), "kept:key");

    // Nothing the console wrote holds the password; the keyring's own files hold it
    // encrypted, so not as text either.
    assert_eq!(
        files_holding(cfg.path(), PASSWORD),
        Vec::<std::path::PathBuf>::new()
    );
    assert_eq!(
        files_holding(keyring.home(), PASSWORD),
        Vec::<std::path::PathBuf>::new()
    );

    // Back to asking: the keyring entry goes, the profile asks again.
    let out = on_bus(cfg.path(), &keyring.address)
        .args(["profiles", "set-password", "prod", "--store", "ask"])
        .output()
        .expect("ask");
    ok(&out);
    assert_eq!(keyring.password_of("prod"), None);
    let listed = ok(&on_bus(cfg.path(), &keyring.address)
        .args(["profiles", "list"])
        .output()
        .expect("list"));
    assert!(!listed.contains("password in"), "{listed}");
    let out = on_bus(cfg.path(), &keyring.address)
        .args(["keys", "--profile", "prod", "kept:*"])
        .stdin(Stdio::null())
        .output()
        .expect("keys");
    assert_eq!(out.status.code(), Some(1), "it asks now: {}", stderr(&out));
    ok(&set_password(
        &mut on_bus(cfg.path(), &keyring.address),
        "keyring",
    ));

    ok(&on_bus(cfg.path(), &keyring.address)
        .args(["profiles", "remove", "prod"])
        .output()
        .expect("remove"));
    assert_eq!(
        keyring.password_of("prod"),
        None,
        "deleted with the profile"
    );
}

#[test]
fn without_a_secret_service_the_console_says_so_and_asks_instead() {
    let redis = protected_redis();
    let cfg = common::config_dir();
    let url = format!("redis://127.0.0.1:{}/0", redis.port);
    ok(&on_bus(cfg.path(), &dead_bus())
        .args(["profiles", "add", "prod", &url])
        .output()
        .expect("add"));
    let before = std::fs::read(cfg.path().join("profiles.ron")).expect("profiles");

    let out = set_password(&mut on_bus(cfg.path(), &dead_bus()), "keyring");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let message = stderr(&out);
    assert!(message.contains("`prod`"), "{message}");
    assert!(message.contains("OS keyring is not available"), "{message}");
    assert!(!message.contains(PASSWORD), "{message}");
    assert_eq!(
        std::fs::read(cfg.path().join("profiles.ron")).expect("profiles"),
        before,
        "the profile is unchanged: it still asks"
    );

    // A profile that says its password is in the keyring, on a machine without one: the
    // reason is said and the password asked for (here from the variable), never a crash.
    let keyring = SecretService::start();
    ok(&set_password(
        &mut on_bus(cfg.path(), &keyring.address),
        "keyring",
    ));
    drop(keyring);
    let out = on_bus(cfg.path(), &dead_bus())
        .args(["keys", "--profile", "prod", "kept:*"])
        .stdin(Stdio::null())
        .output()
        .expect("keys");
    assert_eq!(out.status.code(), Some(1));
    let message = stderr(&out);
    assert!(message.contains("profile `prod`"), "{message}");
    assert!(message.contains("OS keyring is not available"), "{message}");
    assert!(message.contains("CACHE_CONSOLE_PASSWORD"), "{message}");
    let keys = ok(&on_bus(cfg.path(), &dead_bus())
        .env("CACHE_CONSOLE_PASSWORD", PASSWORD)
        .args(["keys", "--profile", "prod", "kept:*"])
        .stdin(Stdio::null())
        .output()
        .expect("keys"));
    assert_eq!(keys.trim(), "kept:key");
}

#[test]
fn the_vault_keeps_a_password_refuses_a_wrong_passphrase_and_survives_damage() {
    let redis = protected_redis();
    let cfg = common::config_dir();
    let url = format!("redis://127.0.0.1:{}/0", redis.port);
    let vault = cfg.path().join("vault.age");
    let with = |passphrase: &str| {
        let mut cmd = on_bus(cfg.path(), &dead_bus());
        cmd.env("CACHE_CONSOLE_VAULT_PASSPHRASE", passphrase);
        cmd
    };
    ok(&with("m")
        .args(["profiles", "add", "prod", &url])
        .output()
        .expect("add"));
    ok(&set_password(&mut with("master pass"), "vault"));
    let sealed = std::fs::read(&vault).expect("vault written");
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&vault)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_eq!(
        files_holding(cfg.path(), PASSWORD),
        Vec::<std::path::PathBuf>::new()
    );
    let keys = ok(&with("master pass")
        .args(["keys", "--profile", "prod", "kept:*"])
        .stdin(Stdio::null())
        .output()
        .expect("keys"));
    assert_eq!(keys.trim(), "kept:key");

    // A wrong passphrase: said, and the vault file is byte for byte as it was.
    let out = with("not it")
        .args(["keys", "--profile", "prod", "kept:*"])
        .stdin(Stdio::null())
        .output()
        .expect("keys");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("wrong vault passphrase"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(&vault).expect("vault"), sealed);

    // A damaged vault: said, kept aside as it was, the profiles untouched.
    let profiles = std::fs::read(cfg.path().join("profiles.ron")).expect("profiles");
    let mut damaged = sealed.clone();
    let mid = damaged.len() / 2;
    damaged[mid] ^= 0xff;
    std::fs::write(&vault, &damaged).expect("damage");
    let out = with("master pass")
        .args(["keys", "--profile", "prod", "kept:*"])
        .stdin(Stdio::null())
        .output()
        .expect("keys");
    assert_eq!(out.status.code(), Some(1));
    let message = stderr(&out);
    assert!(message.contains("is damaged"), "{message}");
    assert!(message.contains("kept as"), "{message}");
    let backup: Vec<_> = std::fs::read_dir(cfg.path())
        .expect("dir")
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("vault.age.damaged-")
        })
        .collect();
    assert_eq!(backup.len(), 1, "one backup");
    assert_eq!(std::fs::read(backup[0].path()).expect("backup"), damaged);
    assert_eq!(
        std::fs::read(cfg.path().join("profiles.ron")).expect("profiles"),
        profiles
    );
    let listed = ok(&with("x").args(["profiles", "list"]).output().expect("list"));
    assert!(listed.contains("prod"), "{listed}");
}
