//! SSH tunnels against real OpenSSH servers: host-key checks (unknown, trusted and recorded,
//! changed, jump hosts), every way of logging in, and the caches reached through the tunnel.

mod common;

use cache_console::backend::ssh::{SshError, SshSecrets, SshTarget};
use cache_console::backend::{BackendError, CacheBackend, ConnectOptions};
use cache_console::config::connection::{PasswordSource, SshAuth, SshHop, SshSpec, parse_url};
use cache_console::core::model::{Expect, TtlChange, WriteOp, WriteOutcome};
use common::sshd::{Agent, Bastion, ClientKeys, PASSPHRASE, PasswordUser, Sshd, me, tunnel_spec};
use common::{RedisServer, b};

async fn connect(
    url: &str,
    spec: &SshSpec,
    secrets: SshSecrets,
) -> Result<Box<dyn CacheBackend>, BackendError> {
    let (conn, _) = parse_url(url).expect("url");
    let options = ConnectOptions {
        ssh: Some(Box::new(SshTarget {
            spec: spec.clone(),
            secrets,
        })),
        ..ConnectOptions::default()
    };
    cache_console::backend::connect(&conn, None, &options).await
}

/// The SSH error connecting fails with (the test expects it to fail, for `why`).
async fn refused(url: &str, spec: &SshSpec, secrets: SshSecrets, why: &str) -> SshError {
    match connect(url, spec, secrets).await {
        Err(BackendError::Ssh(e)) => e,
        Err(other) => panic!("{why}: expected an SSH error, got {other}"),
        Ok(_) => panic!("{why}: it connected"),
    }
}

async fn set_and_read(be: &dyn CacheBackend, key: &str, value: &str) {
    let op = WriteOp::SetString {
        key: b(key),
        value: b(value),
        ttl: TtlChange::Keep,
        expect: Expect::Any,
    };
    assert_eq!(be.write(&op).await.expect("set"), WriteOutcome::Done(1));
    let got = be
        .read_string_range(key.as_bytes(), 0, 100)
        .await
        .expect("read back");
    assert_eq!(&got[..], value.as_bytes());
}

fn trusted(sshd: &Sshd) -> SshSecrets {
    SshSecrets {
        trusted: vec![(format!("[127.0.0.1]:{}", sshd.port), sshd.fingerprint())],
        ..SshSecrets::default()
    }
}

#[tokio::test]
async fn an_unknown_host_key_is_asked_about_then_recorded_and_the_cache_is_reached_through_it() {
    let keys = ClientKeys::new();
    let sshd = Sshd::start(&keys.authorized());
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().expect("dir");
    let known_hosts = dir.path().join("known_hosts");
    let spec = tunnel_spec(&sshd, SshAuth::Key(keys.ed25519.clone()), &known_hosts);

    let e = connect(&redis.url(), &spec, SshSecrets::default())
        .await
        .err()
        .expect("an unknown host key must not connect");
    let BackendError::Ssh(SshError::UnknownHostKey {
        fingerprint, host, ..
    }) = &e
    else {
        panic!("expected an unknown host key, got {e}");
    };
    assert_eq!(
        *fingerprint,
        sshd.fingerprint(),
        "as ssh-keygen -l prints it"
    );
    assert_eq!(*host, format!("[127.0.0.1]:{}", sshd.port));
    assert!(e.to_string().contains(&sshd.fingerprint()), "{e}");
    assert!(
        !known_hosts.exists(),
        "nothing recorded before the user says so"
    );

    // Trusting another fingerprint is not trusting this one.
    let wrong = SshSecrets {
        trusted: vec![(host.clone(), "SHA256:not-this-one".to_owned())],
        ..SshSecrets::default()
    };
    assert!(matches!(
        connect(&redis.url(), &spec, wrong).await.err(),
        Some(BackendError::Ssh(SshError::UnknownHostKey { .. }))
    ));

    let be = connect(&redis.url(), &spec, trusted(&sshd))
        .await
        .expect("trusted, it connects");
    set_and_read(be.as_ref(), "through:tunnel", "yes").await;
    assert!(
        sshd.forwarded_to(redis.port),
        "sshd opened no channel to the Redis port:\n{}",
        sshd.log()
    );
    let recorded = std::fs::read_to_string(&known_hosts).expect("recorded");
    assert!(recorded.starts_with("|1|"), "hashed: {recorded}");
    drop(be);

    // Known now: it connects with no trust given.
    let be = connect(&redis.url(), &spec, SshSecrets::default())
        .await
        .expect("a recorded key connects");
    set_and_read(be.as_ref(), "again", "ok").await;
}

#[tokio::test]
async fn a_changed_host_key_is_refused_even_with_accept_new() {
    let keys = ClientKeys::new();
    let sshd = Sshd::start(&keys.authorized());
    let other = Sshd::start(&keys.authorized());
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().expect("dir");
    let known_hosts = dir.path().join("known_hosts");
    // The line says this host has the other server's key.
    std::fs::write(
        &known_hosts,
        format!("# mine\n[127.0.0.1]:{} {}\n", sshd.port, other.host_key),
    )
    .expect("write");
    let mut spec = tunnel_spec(&sshd, SshAuth::Key(keys.ed25519.clone()), &known_hosts);
    spec.accept_new = true;
    let e = connect(&redis.url(), &spec, trusted(&sshd))
        .await
        .err()
        .expect("a changed key must not connect");
    assert!(
        matches!(
            &e,
            BackendError::Ssh(SshError::ChangedHostKey { line: 2, .. })
        ),
        "{e}"
    );
    assert!(e.to_string().contains("CHANGED"), "{e}");
    assert!(e.to_string().contains(&sshd.fingerprint()), "{e}");
    let after = std::fs::read_to_string(&known_hosts).expect("read");
    assert_eq!(after.lines().count(), 2, "the file is left as it was");
}

#[tokio::test]
async fn a_known_hosts_file_hashed_by_ssh_keygen_is_read() {
    let keys = ClientKeys::new();
    let sshd = Sshd::start(&keys.authorized());
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().expect("dir");
    let known_hosts = dir.path().join("known_hosts");
    std::fs::write(
        &known_hosts,
        format!(
            "other.example.com {}\n{}\n",
            keys_line(&keys),
            sshd.known_hosts_line()
        ),
    )
    .expect("write");
    common::sshd::keygen(&["-q", "-H", "-f", known_hosts.to_str().expect("utf-8")]);
    let hashed = std::fs::read_to_string(&known_hosts).expect("read");
    assert!(
        !hashed.contains("127.0.0.1"),
        "ssh-keygen hashed it: {hashed}"
    );
    let spec = tunnel_spec(&sshd, SshAuth::Key(keys.ed25519.clone()), &known_hosts);
    let be = connect(&redis.url(), &spec, SshSecrets::default())
        .await
        .expect("the hashed entry is found");
    set_and_read(be.as_ref(), "hashed", "1").await;
}

/// Some public key line (any key will do as another host's).
fn keys_line(keys: &ClientKeys) -> String {
    keys.authorized()[0].clone()
}

#[tokio::test]
async fn encrypted_and_pem_keys_log_in_and_a_passphrase_is_asked_for() {
    let keys = ClientKeys::new();
    let sshd = Sshd::start(&keys.authorized());
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().expect("dir");
    let known_hosts = dir.path().join("known_hosts");
    std::fs::write(&known_hosts, sshd.known_hosts_line() + "\n").expect("write");

    let spec = tunnel_spec(
        &sshd,
        SshAuth::Key(keys.ecdsa_encrypted.clone()),
        &known_hosts,
    );
    let e = refused(
        &redis.url(),
        &spec,
        SshSecrets::default(),
        "needs a passphrase",
    )
    .await;
    assert!(matches!(&e, SshError::PassphraseNeeded { .. }), "{e}");
    let wrong = SshSecrets {
        passphrase: Some(cache_console::config::connection::Secret::new("nope")),
        ..SshSecrets::default()
    };
    let e = refused(&redis.url(), &spec, wrong, "a wrong passphrase").await;
    assert!(matches!(&e, SshError::WrongPassphrase { .. }), "{e}");
    assert!(
        !e.to_string().contains("nope"),
        "no secret in a message: {e}"
    );
    let right = SshSecrets {
        passphrase: Some(cache_console::config::connection::Secret::new(PASSPHRASE)),
        ..SshSecrets::default()
    };
    let be = connect(&redis.url(), &spec, right)
        .await
        .expect("the passphrase opens the key");
    set_and_read(be.as_ref(), "ecdsa", "1").await;

    let spec = tunnel_spec(&sshd, SshAuth::Key(keys.rsa_pem.clone()), &known_hosts);
    let be = connect(&redis.url(), &spec, SshSecrets::default())
        .await
        .expect("an RSA PEM key");
    set_and_read(be.as_ref(), "rsa", "1").await;

    // A key the server does not know is refused by name.
    let stranger = common::sshd::new_key(&dir.path().join("stranger"), "ed25519", "", &[]);
    let spec = tunnel_spec(&sshd, SshAuth::Key(stranger), &known_hosts);
    let e = refused(
        &redis.url(),
        &spec,
        SshSecrets::default(),
        "an unknown client key",
    )
    .await;
    assert!(matches!(&e, SshError::AuthFailed { .. }), "{e}");
    assert!(e.to_string().contains("stranger"), "{e}");
}

#[tokio::test]
async fn password_login_asks_then_connects() {
    let user = PasswordUser::create();
    let sshd = Sshd::start(&[]);
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().expect("dir");
    let known_hosts = dir.path().join("known_hosts");
    std::fs::write(&known_hosts, sshd.known_hosts_line() + "\n").expect("write");
    let mut spec = tunnel_spec(
        &sshd,
        SshAuth::Password(PasswordSource::Prompt),
        &known_hosts,
    );
    spec.hop.user = Some(user.name.clone());
    let e = refused(
        &redis.url(),
        &spec,
        SshSecrets::default(),
        "a password is needed",
    )
    .await;
    assert!(matches!(&e, SshError::PasswordNeeded { .. }), "{e}");
    let wrong = SshSecrets {
        password: Some(cache_console::config::connection::Secret::new("wrong-pw")),
        ..SshSecrets::default()
    };
    let e = refused(&redis.url(), &spec, wrong, "a wrong password").await;
    assert!(matches!(&e, SshError::AuthFailed { .. }), "{e}");
    assert!(!e.to_string().contains("wrong-pw"), "{e}");
    let right = SshSecrets {
        password: Some(cache_console::config::connection::Secret::new(
            user.password.clone(),
        )),
        ..SshSecrets::default()
    };
    let be = connect(&redis.url(), &spec, right.clone())
        .await
        .expect("the password logs in");
    set_and_read(be.as_ref(), "pw", "1").await;

    // A server that checks passwords through PAM and offers keyboard-interactive only.
    let pam = Sshd::start_with(
        &[],
        "UsePAM yes\nPasswordAuthentication no\nKbdInteractiveAuthentication yes",
    );
    std::fs::write(&known_hosts, pam.known_hosts_line() + "\n").expect("write");
    let mut spec = tunnel_spec(
        &pam,
        SshAuth::Password(PasswordSource::Prompt),
        &known_hosts,
    );
    spec.hop.user = Some(user.name.clone());
    let be = connect(&redis.url(), &spec, right)
        .await
        .expect("keyboard-interactive answered with the password");
    set_and_read(be.as_ref(), "kbd", "1").await;
}

#[tokio::test]
async fn a_jump_host_leads_to_the_bastion_and_both_keys_are_checked() {
    let keys = ClientKeys::new();
    let jump = Sshd::start(&keys.authorized());
    let bastion = Sshd::start(&keys.authorized());
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().expect("dir");
    let known_hosts = dir.path().join("known_hosts");
    std::fs::write(&known_hosts, jump.known_hosts_line() + "\n").expect("write");
    let mut spec = tunnel_spec(&bastion, SshAuth::Key(keys.ed25519.clone()), &known_hosts);
    spec.jumps = vec![SshHop {
        host: "127.0.0.1".to_owned(),
        port: Some(jump.port),
        user: Some(me()),
    }];
    // The bastion's key is unknown: asked about, though the jump host's is known.
    let e = connect(&redis.url(), &spec, SshSecrets::default())
        .await
        .err()
        .expect("the bastion is unknown");
    match &e {
        BackendError::Ssh(SshError::UnknownHostKey { host, .. }) => {
            assert_eq!(*host, format!("[127.0.0.1]:{}", bastion.port));
        }
        other => panic!("expected the bastion's key to be asked about, got {other}"),
    }
    let be = connect(&redis.url(), &spec, trusted(&bastion))
        .await
        .expect("through the jump host");
    set_and_read(be.as_ref(), "jumped", "1").await;
    assert!(
        jump.forwarded_to(bastion.port),
        "the jump host opened no channel to the bastion:\n{}",
        jump.log()
    );
    assert!(
        bastion.forwarded_to(redis.port),
        "the bastion opened no channel to Redis:\n{}",
        bastion.log()
    );
}

#[tokio::test]
async fn a_cluster_is_listed_and_written_through_the_tunnel() {
    let bastion = Bastion::start();
    let sshd = &bastion.sshd;
    let cluster = common::cluster::RedisCluster::start();
    {
        use redis::Commands as _;
        let mut client = cluster.client();
        for i in 0..300 {
            let _: () = client.set(format!("k:{i}"), i).expect("seed");
        }
    }
    let spec = bastion.spec();
    let be = connect(&cluster.url(), &spec, SshSecrets::default())
        .await
        .expect("a cluster through the tunnel");
    let mut listed = common::list_keys(be.as_ref(), "k:*").await;
    listed.sort();
    assert_eq!(listed.len(), 300);
    // Keys in different slots, on different primaries.
    for key in ["{a}x", "{b}y", "{c}z"] {
        set_and_read(be.as_ref(), key, key).await;
    }
    let reached = cluster
        .nodes
        .iter()
        .filter(|n| sshd.forwarded_to(n.port))
        .count();
    assert!(
        reached >= 3,
        "channels to {reached} nodes only, not every primary:\n{}",
        sshd.log()
    );
}

#[tokio::test]
async fn memcached_postgres_and_mariadb_are_reached_through_the_tunnel() {
    let bastion = Bastion::start();
    let (sshd, spec) = (&bastion.sshd, bastion.spec());

    let memcached = common::MemcachedServer::start();
    let be = connect(
        &format!("memcached://127.0.0.1:{}", memcached.port),
        &spec,
        SshSecrets::default(),
    )
    .await
    .expect("memcached through the tunnel");
    set_and_read(be.as_ref(), "mc", "1").await;
    assert!(sshd.forwarded_to(memcached.port), "{}", sshd.log());

    let db = common::OwnDatabase::create(
        "CC_TEST_PG_URL",
        "postgres://postgres@127.0.0.1:5432/postgres",
    )
    .await;
    let pool = db.pool().await;
    sqlx::query("CREATE TABLE cache (key VARCHAR(255) PRIMARY KEY, value TEXT NOT NULL, expiration INTEGER NOT NULL)")
        .execute(&pool)
        .await
        .expect("create table");
    let url = format!("{}/{}?table=cache", db.base, db.name);
    let be = connect(&url, &spec, SshSecrets::default())
        .await
        .expect("PostgreSQL through the tunnel");
    set_and_read(be.as_ref(), "pg", "1").await;
    assert!(sshd.forwarded_to(5432), "{}", sshd.log());
    drop(be);
    pool.close().await;

    let db =
        common::OwnDatabase::create("CC_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/mysql").await;
    let pool = db.pool().await;
    sqlx::query("CREATE TABLE `cache` (`key` VARCHAR(255) PRIMARY KEY, `value` MEDIUMTEXT NOT NULL, `expiration` INTEGER NOT NULL)")
        .execute(&pool)
        .await
        .expect("create table");
    let url = format!("{}/{}?table=cache", db.base, db.name);
    let be = connect(&url, &spec, SshSecrets::default())
        .await
        .expect("MariaDB through the tunnel");
    set_and_read(be.as_ref(), "mysql", "1").await;
    assert!(sshd.forwarded_to(3306), "{}", sshd.log());
    drop(be);
    pool.close().await;
}

#[tokio::test]
async fn dreamfactory_api_is_reached_through_the_tunnel() {
    let bastion = Bastion::start();
    let redis = RedisServer::start();
    let store = common::laravel::Store::RedisBare { port: redis.port };
    let df = common::dreamfactory::DreamFactory::start(
        &store,
        "cache",
        "tunnel-k3y",
        &common::dreamfactory::Options::default(),
    );
    let (conn, key) = parse_url(&df.url()).expect("url");
    let options = ConnectOptions {
        ssh: Some(Box::new(SshTarget {
            spec: bastion.spec(),
            secrets: SshSecrets::default(),
        })),
        ..ConnectOptions::default()
    };
    let be = cache_console::backend::connect(&conn, key.as_ref(), &options)
        .await
        .expect("the API through the tunnel");
    set_and_read(be.as_ref(), "via-ssh", "through the bastion").await;
    assert!(bastion.sshd.forwarded_to(df.port), "{}", bastion.sshd.log());
}

#[tokio::test]
async fn a_dropped_tunnel_is_opened_again_on_the_next_command() {
    let keys = ClientKeys::new();
    let mut sshd = Sshd::start(&keys.authorized());
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().expect("dir");
    let known_hosts = dir.path().join("known_hosts");
    std::fs::write(&known_hosts, sshd.known_hosts_line() + "\n").expect("write");
    let spec = tunnel_spec(&sshd, SshAuth::Key(keys.ed25519.clone()), &known_hosts);
    let be = connect(&redis.url(), &spec, SshSecrets::default())
        .await
        .expect("connect");
    set_and_read(be.as_ref(), "before", "1").await;
    sshd.restart();
    // The first command may see the dropped connection; within a few the link and the
    // tunnel are open again, without reconnecting the backend.
    let mut ok = false;
    for _ in 0..5 {
        if be.key_count().await.is_ok() {
            ok = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(ok, "the tunnel was not re-opened:\n{}", sshd.log());
    set_and_read(be.as_ref(), "after", "2").await;
}

#[tokio::test]
async fn the_agent_logs_in_when_asked_to() {
    // The agent is found through SSH_AUTH_SOCK, which only the CLI's own process gets here
    // (tests share one environment): see tests/cli_ssh.rs. This checks the refusal without one.
    let keys = ClientKeys::new();
    let sshd = Sshd::start(&keys.authorized());
    let redis = RedisServer::start();
    let agent = Agent::start(&[keys.ed25519.as_path()]);
    let dir = tempfile::tempdir().expect("dir");
    let known_hosts = dir.path().join("known_hosts");
    std::fs::write(&known_hosts, sshd.known_hosts_line() + "\n").expect("write");
    let out = common::cli(dir.path())
        .args(["keys", &redis.url(), "--ssh"])
        .arg(format!("{}@127.0.0.1:{}", me(), sshd.port))
        .arg("--ssh-agent")
        .arg("--ssh-known-hosts")
        .arg(&known_hosts)
        .arg("--ssh-config")
        .arg("/nonexistent")
        .env("SSH_AUTH_SOCK", &agent.socket)
        .output()
        .expect("run");
    common::ok(&out);
    assert!(sshd.log().contains("Accepted publickey"), "{}", sshd.log());
    let out = common::cli(dir.path())
        .args(["keys", &redis.url(), "--ssh"])
        .arg(format!("{}@127.0.0.1:{}", me(), sshd.port))
        .arg("--ssh-agent")
        .arg("--ssh-known-hosts")
        .arg(&known_hosts)
        .arg("--ssh-config")
        .arg("/nonexistent")
        .env_remove("SSH_AUTH_SOCK")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no SSH agent"), "{err}");
}

#[tokio::test]
async fn sentinels_and_the_primary_are_reached_through_the_tunnel() {
    let bastion = Bastion::start();
    let sshd = &bastion.sshd;
    let group = common::sentinel::SentinelGroup::start();
    group.wait_settled();
    let spec = bastion.spec();
    let be = connect(&group.url(), &spec, SshSecrets::default())
        .await
        .expect("a Sentinel group through the tunnel");
    set_and_read(be.as_ref(), "sentinel:key", "1").await;
    let sentinel_reached = group.sentinels.iter().any(|s| sshd.forwarded_to(s.port));
    assert!(
        sentinel_reached,
        "no channel to a sentinel:\n{}",
        sshd.log()
    );
    assert!(
        sshd.forwarded_to(group.current_primary().port),
        "no channel to the primary:\n{}",
        sshd.log()
    );
}
