//! Profiles exported and imported through the command line as a user runs it: a round trip
//! equal field by field, secrets left out (and absent from the file) or sealed with a
//! passphrase and kept in the importer's chosen store, name clashes skipped, renamed or
//! replaced after a printed preview, and a plain list of URLs.

mod common;

use std::process::Stdio;

use cache_console::config::profiles::ProfileStore;
use common::keyring::{SecretService, dead_bus, files_holding};
use common::{RedisServer, cli, ok};

const PASSWORD: &str = "exported-Pw-5150";

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn run(cfg: &std::path::Path, bus: &str, args: &[&str]) -> std::process::Output {
    cli(cfg)
        .env("DBUS_SESSION_BUS_ADDRESS", bus)
        .env_remove("CACHE_CONSOLE_VAULT_PASSPHRASE")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run cache-console")
}

/// `profiles import FILE --secrets vault` on a machine with no keyring, the file's secrets
/// opened with `passphrase`.
fn import_sealed(
    cfg: &std::path::Path,
    file: &std::path::Path,
    passphrase: &str,
) -> std::process::Output {
    cli(cfg)
        .env("DBUS_SESSION_BUS_ADDRESS", dead_bus())
        .env("CACHE_CONSOLE_IMPORT_PASSPHRASE", passphrase)
        .env("CACHE_CONSOLE_VAULT_PASSPHRASE", "my vault")
        .args(["profiles", "import"])
        .arg(file)
        .args(["--secrets", "vault"])
        .stdin(Stdio::null())
        .output()
        .expect("import")
}

fn profiles(cfg: &std::path::Path) -> Vec<cache_console::config::profiles::Profile> {
    ProfileStore::load_from(cfg).store.profiles().to_vec()
}

#[test]
fn an_export_imported_elsewhere_gives_the_same_profiles_field_by_field() {
    let from = common::config_dir();
    let bus = dead_bus();
    for args in [
        &[
            "profiles",
            "add",
            "prod",
            "rediss://ops:${REDIS_PW}@cache.internal:6380/3",
            "--read-only",
            "--color",
            "red",
            "--production",
        ][..],
        &[
            "profiles",
            "add",
            "orders",
            "redis+cluster://10.0.0.1:7000,10.0.0.2:7000?scan_replicas=yes",
        ],
        &[
            "profiles",
            "add",
            "ha",
            "redis+sentinel://10.0.0.1:26379,10.0.0.2:26379/mymaster/2",
        ],
        &[
            "profiles",
            "add",
            "sessions",
            "memcached://10.0.0.5:11211,10.0.0.6:11211",
        ],
        &[
            "--ssh",
            "deploy@bastion.example.com:2222",
            "--ssh-jump",
            "me@gate",
            "profiles",
            "add",
            "behind",
            "redis://10.1.0.7:6379/0",
        ],
    ] {
        ok(&run(from.path(), &bus, args));
    }
    let file = from.path().join("team.json");
    let out = run(
        from.path(),
        &bus,
        &["profiles", "export", file.to_str().expect("path")],
    );
    ok(&out);
    assert!(
        stderr(&out).contains("5 profile(s) written"),
        "{}",
        stderr(&out)
    );
    // Written again only with --yes.
    let again = run(
        from.path(),
        &bus,
        &["profiles", "export", file.to_str().expect("path")],
    );
    assert_eq!(again.status.code(), Some(1));
    assert!(stderr(&again).contains("--yes"), "{}", stderr(&again));

    let to = common::config_dir();
    let preview = ok(&run(
        to.path(),
        &bus,
        &["profiles", "import", file.to_str().expect("path")],
    ));
    assert_eq!(
        preview.lines().filter(|l| l.starts_with("add\t")).count(),
        5,
        "{preview}"
    );
    assert_eq!(profiles(to.path()), profiles(from.path()));
}

#[test]
fn secrets_are_left_out_or_sealed_and_kept_in_the_importers_store() {
    let keyring = SecretService::start();
    let redis = RedisServer::start_with(Some(PASSWORD));
    let from = common::config_dir();
    let url = format!("redis://127.0.0.1:{}/0", redis.port);
    ok(&run(
        from.path(),
        &keyring.address,
        &["profiles", "add", "prod", &url],
    ));
    let mut set = cli(from.path());
    set.env("DBUS_SESSION_BUS_ADDRESS", &keyring.address)
        .env("CACHE_CONSOLE_PASSWORD", PASSWORD)
        .args(["profiles", "set-password", "prod", "--store", "keyring"]);
    ok(&set.output().expect("set-password"));

    // Without secrets: none in the file.
    let plain = from.path().join("plain.json");
    ok(&run(
        from.path(),
        &keyring.address,
        &["profiles", "export", plain.to_str().expect("p")],
    ));
    assert!(
        !std::fs::read_to_string(&plain)
            .expect("file")
            .contains(PASSWORD)
    );
    assert!(
        !std::fs::read_to_string(&plain)
            .expect("file")
            .contains("\"secrets\"")
    );

    // With secrets: sealed, not readable as text.
    let sealed = from.path().join("sealed.json");
    let mut export = cli(from.path());
    export
        .env("DBUS_SESSION_BUS_ADDRESS", &keyring.address)
        .env("CACHE_CONSOLE_EXPORT_PASSPHRASE", "team passphrase")
        .args([
            "profiles",
            "export",
            sealed.to_str().expect("p"),
            "prod",
            "--with-secrets",
        ])
        .stdin(Stdio::null());
    let out = export.output().expect("export");
    ok(&out);
    assert!(
        stderr(&out).contains("1 secret(s) sealed"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        files_holding(from.path(), PASSWORD),
        Vec::<std::path::PathBuf>::new()
    );

    // Imported on "another machine" (no keyring there): into the vault, asked nothing else.
    let to = common::config_dir();
    let wrong = import_sealed(to.path(), &sealed, "not it");
    assert_eq!(wrong.status.code(), Some(1));
    assert!(
        stderr(&wrong).contains("passphrase does not open"),
        "{}",
        stderr(&wrong)
    );
    assert!(
        profiles(to.path()).is_empty(),
        "nothing merged on a wrong passphrase"
    );
    let imported = import_sealed(to.path(), &sealed, "team passphrase");
    ok(&imported);
    assert!(
        stderr(&imported).contains("1 secret(s) kept"),
        "{}",
        stderr(&imported)
    );
    let keys = ok(&cli(to.path())
        .env("DBUS_SESSION_BUS_ADDRESS", dead_bus())
        .env("CACHE_CONSOLE_VAULT_PASSPHRASE", "my vault")
        .args(["keys", "--profile", "prod", "--count"])
        .stdin(Stdio::null())
        .output()
        .expect("keys"));
    assert_eq!(keys.trim(), "0");
    assert_eq!(
        files_holding(to.path(), PASSWORD),
        Vec::<std::path::PathBuf>::new()
    );
}

#[test]
fn clashing_names_follow_the_choice_and_a_url_list_imports_with_notes() {
    let keyring = SecretService::start();
    let cfg = common::config_dir();
    let bus = keyring.address.clone();
    ok(&run(
        cfg.path(),
        &bus,
        &["profiles", "add", "10.0.0.1:6379/0", "redis://old:6379/0"],
    ));
    // The list is the user's own file, outside what the console writes.
    let elsewhere = tempfile::tempdir().expect("dir");
    let list = elsewhere.path().join("caches.txt");
    std::fs::write(
        &list,
        format!("# from the wiki\nredis://:{PASSWORD}@10.0.0.1:6379/0\nmemcached://10.0.0.5:11211\nnot a url at all\n"),
    )
    .expect("list");
    let path = list.to_str().expect("p");

    let dry = ok(&run(
        cfg.path(),
        &bus,
        &["profiles", "import", path, "--dry-run"],
    ));
    assert!(dry.contains("skip\t10.0.0.1:6379/0"), "{dry}");
    assert!(dry.contains("add\t10.0.0.5:11211"), "{dry}");
    assert!(dry.contains("note\tline 4:"), "{dry}");
    assert!(!dry.contains(PASSWORD), "{dry}");
    assert_eq!(profiles(cfg.path()).len(), 1, "a dry run changes nothing");

    let renamed = ok(&run(
        cfg.path(),
        &bus,
        &[
            "profiles",
            "import",
            path,
            "--on-conflict",
            "rename",
            "--secrets",
            "keyring",
        ],
    ));
    assert!(
        renamed.contains("rename\t10.0.0.1:6379/0\t-> 10.0.0.1:6379/0 (2)"),
        "{renamed}"
    );
    assert_eq!(
        keyring.password_of("10.0.0.1:6379/0 (2)").as_deref(),
        Some(PASSWORD)
    );
    let listed = ok(&run(cfg.path(), &bus, &["profiles", "list"]));
    assert!(
        listed
            .contains("10.0.0.1:6379/0 (2)\tredis://10.0.0.1:6379/0\t[password in the OS keyring]"),
        "{listed}"
    );
    assert_eq!(
        files_holding(cfg.path(), PASSWORD),
        Vec::<std::path::PathBuf>::new()
    );

    let replaced = run(
        cfg.path(),
        &bus,
        &["profiles", "import", path, "--on-conflict", "replace"],
    );
    ok(&replaced);
    // The default keeps no secret, and says so.
    assert!(
        stderr(&replaced).contains("1 secret(s) in the file not kept"),
        "{}",
        stderr(&replaced)
    );
    let after = profiles(cfg.path());
    let replaced = after
        .iter()
        .find(|p| p.name == "10.0.0.1:6379/0")
        .expect("replaced");
    assert_eq!(replaced.connection.display_url(), "redis://10.0.0.1:6379/0");
    assert_eq!(
        replaced.connection.password_source(),
        &cache_console::config::connection::PasswordSource::Prompt,
        "a dropped password is asked for"
    );
}

/// The fixtures of the other tools' files, as their own code writes them.
fn fixture(name: &str) -> String {
    format!(
        "{}/tests/fixtures/import/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn other_tools_files_are_detected_previewed_and_say_what_they_cannot_bring() {
    let cfg = common::config_dir();
    let bus = dead_bus();
    for (file, names) in [
        (
            "tinyrdm-connections.yaml",
            &[
                "prod-cache",
                "prod-sentinel",
                "local-cluster",
                "local-socket",
            ][..],
        ),
        (
            "tinyrdm-export.zip",
            &["prod-cache", "via-password-bastion"],
        ),
        (
            "redisinsight-export.json",
            &["df-cache (TLS)", "cluster-seed", "sentinel-group"],
        ),
        (
            "ardm-connections.ano",
            &["ardm-main", "ardm-sentinel", "10.2.0.11:7001"],
        ),
        ("resp-connections.json", &["resp-local", "staging"]),
    ] {
        let path = fixture(file);
        let plan = ok(&run(
            cfg.path(),
            &bus,
            &["profiles", "import", &path, "--dry-run"],
        ));
        for name in names {
            assert!(plan.contains(&format!("add\t{name}\n")), "{file}: {plan}");
        }
        assert!(plan.contains("note\t"), "{file}: {plan}");
        for secret in ["s3cret-prod", "ri-pass-1", "ardm-pass", "resp-pass"] {
            assert!(!plan.contains(secret), "{file}: {plan}");
        }
    }
    assert!(profiles(cfg.path()).is_empty(), "dry runs change nothing");

    // Named as the wrong tool: refused with that tool's name, nothing merged.
    let wrong = run(
        cfg.path(),
        &bus,
        &[
            "profiles",
            "import",
            &fixture("resp-connections.json"),
            "--from",
            "tinyrdm",
        ],
    );
    assert_eq!(wrong.status.code(), Some(1));
    assert!(stderr(&wrong).contains("Tiny RDM"), "{}", stderr(&wrong));
    assert!(profiles(cfg.path()).is_empty());
}

#[test]
fn a_tiny_rdm_connection_imports_into_its_group_with_its_password_in_the_vault() {
    let redis = RedisServer::start_with(Some(PASSWORD));
    common::fill(&mut redis.conn(), "tiny:", 4);
    let cfg = common::config_dir();
    let downloads = tempfile::tempdir().expect("dir");
    let file = downloads.path().join("connections.yaml");
    std::fs::write(
        &file,
        format!(
            "- name: Team\n  type: group\n  connections:\n    - name: shared-cache\n      \
             network: tcp\n      addr: 127.0.0.1\n      port: {}\n      password: {PASSWORD}\n      \
             key_separator: '/'\n      mark_color: '#4ECF60'\n",
            redis.port
        ),
    )
    .expect("write");
    let out = cli(cfg.path())
        .env("DBUS_SESSION_BUS_ADDRESS", dead_bus())
        .env("CACHE_CONSOLE_VAULT_PASSPHRASE", "my vault")
        .args(["profiles", "import"])
        .arg(&file)
        .args(["--secrets", "vault"])
        .stdin(Stdio::null())
        .output()
        .expect("import");
    ok(&out);
    assert!(
        stderr(&out).contains("1 secret(s) kept"),
        "{}",
        stderr(&out)
    );
    let listed = ok(&run(
        cfg.path(),
        &dead_bus(),
        &["profiles", "list", "--group", "Team"],
    ));
    assert!(
        listed.contains("shared-cache\t")
            && listed.contains("group Team")
            && listed.contains("green")
            && listed.contains("password in the vault"),
        "{listed}"
    );
    let saved = profiles(cfg.path());
    assert_eq!(saved[0].delimiter, "/");
    let keys = ok(&cli(cfg.path())
        .env("DBUS_SESSION_BUS_ADDRESS", dead_bus())
        .env("CACHE_CONSOLE_VAULT_PASSPHRASE", "my vault")
        .args(["keys", "--profile", "shared-cache", "--count"])
        .stdin(Stdio::null())
        .output()
        .expect("keys"));
    assert_eq!(keys.trim(), "4");
    assert_eq!(
        files_holding(cfg.path(), PASSWORD),
        Vec::<std::path::PathBuf>::new()
    );

    // Moved out of its group, and into another, from the command line.
    ok(&run(
        cfg.path(),
        &dead_bus(),
        &["profiles", "group", "shared-cache"],
    ));
    assert_eq!(profiles(cfg.path())[0].group, None);
    ok(&run(
        cfg.path(),
        &dead_bus(),
        &["profiles", "group", "shared-cache", "Ops"],
    ));
    assert_eq!(profiles(cfg.path())[0].group.as_deref(), Some("Ops"));
    let bad = run(
        cfg.path(),
        &dead_bus(),
        &["profiles", "group", "shared-cache", "bad\nname"],
    );
    assert_eq!(bad.status.code(), Some(2));
}
