//! Real OpenSSH servers for the tunnel tests: `/usr/sbin/sshd` on a free loopback port with
//! a temporary host key, the test's own authorized keys, and a debug log that shows every
//! channel it opened (so a test can prove its traffic went through the tunnel).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cache_console::config::connection::{SshAuth, SshHop, SshSpec};

use super::free_port;

const SSHD: &str = "/usr/sbin/sshd";

/// Runs `ssh-keygen` with these arguments, failing the test loudly when it cannot.
pub fn keygen(args: &[&str]) -> String {
    let out = Command::new("ssh-keygen")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "ssh-keygen cannot run ({e}): these tests need OpenSSH. Install openssh-client \
                 and openssh-server, or run `bash scripts/test.sh`, which installs them"
            )
        });
    assert!(
        out.status.success(),
        "ssh-keygen {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A new key pair at `path` (`path.pub` beside it).
pub fn new_key(path: &Path, kind: &str, passphrase: &str, extra: &[&str]) -> PathBuf {
    let file = path.to_str().expect("utf-8 temp path");
    let mut args = vec![
        "-q", "-t", kind, "-N", passphrase, "-C", "cc-test", "-f", file,
    ];
    args.extend_from_slice(extra);
    keygen(&args);
    path.to_path_buf()
}

/// The user the tests run as (sshd logs in only that user when it is not root).
pub fn me() -> String {
    let out = Command::new("id").arg("-un").output().expect("id -un");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// One sshd.
pub struct Sshd {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
    /// The host key's public half (`ssh-ed25519 AAAA… cc-test`).
    pub host_key: String,
    host_key_file: PathBuf,
    authorized: PathBuf,
    extra: String,
}

impl Sshd {
    /// Starts one that lets in the holders of `authorized` (public key lines).
    pub fn start(authorized: &[String]) -> Self {
        Self::start_with(authorized, "")
    }

    /// The same with extra `sshd_config` lines (they come first, so they win: sshd takes
    /// the first value it reads of each setting).
    pub fn start_with(authorized: &[String], extra: &str) -> Self {
        assert!(
            Path::new(SSHD).exists(),
            "{SSHD} is missing: these tests need a real OpenSSH server. Install openssh-server \
             (Debian: `apt-get install openssh-server`) or run `bash scripts/test.sh`"
        );
        // sshd wants its privilege-separation directory even when it is not used.
        let _ = std::fs::create_dir_all("/run/sshd");
        let dir = tempfile::tempdir().expect("temp dir");
        let host_key_file = new_key(&dir.path().join("host_ed25519"), "ed25519", "", &[]);
        let host_key = std::fs::read_to_string(dir.path().join("host_ed25519.pub"))
            .expect("host key")
            .trim()
            .to_owned();
        let authorized_file = dir.path().join("authorized_keys");
        std::fs::write(&authorized_file, authorized.join("\n") + "\n").expect("authorized");
        let mut sshd = Self {
            child: Command::new("true").spawn().expect("placeholder"),
            port: 0,
            dir,
            host_key,
            host_key_file,
            authorized: authorized_file,
            extra: extra.to_owned(),
        };
        sshd.launch(free_port());
        sshd
    }

    fn launch(&mut self, port: u16) {
        let config = self.dir.path().join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "{extra}\nPort {port}\nListenAddress 127.0.0.1\nHostKey {host}\nPidFile {dir}/sshd.pid\n\
                 AuthorizedKeysFile {auth}\nUsePAM no\nStrictModes no\nAllowTcpForwarding yes\n\
                 AllowStreamLocalForwarding yes\nPermitRootLogin yes\nPasswordAuthentication yes\n\
                 KbdInteractiveAuthentication no\nLogLevel DEBUG1\nMaxStartups 100\n\
                 MaxSessions 100\n",
                host = self.host_key_file.display(),
                dir = self.dir.path().display(),
                auth = self.authorized.display(),
                extra = self.extra,
            ),
        )
        .expect("sshd_config");
        let log = self.dir.path().join("sshd.log");
        self.child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(&config)
            .arg("-E")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {SSHD}: {e}"));
        self.port = port;
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "sshd did not listen on {port}: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops it (connections through it drop).
    pub fn stop(&mut self) {
        // The processes serving open sessions first (they outlive the listener otherwise):
        // the tunnel must really drop.
        let _ = Command::new("pkill")
            .args(["-KILL", "-P", &self.child.id().to_string()])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts it again on the same port with the same host key.
    pub fn restart(&mut self) {
        self.stop();
        self.launch(self.port);
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    /// Whether it opened a `direct-tcpip` channel to `127.0.0.1:port` (its debug log names
    /// each: `server_request_direct_tcpip: originator … target 127.0.0.1 port N`).
    pub fn forwarded_to(&self, port: u16) -> bool {
        let wanted = format!("target 127.0.0.1 port {port}");
        self.log()
            .lines()
            .any(|l| l.contains("direct_tcpip") && l.trim_end().ends_with(&wanted))
    }

    /// A `known_hosts` line for it.
    pub fn known_hosts_line(&self) -> String {
        format!("[127.0.0.1]:{} {}", self.port, self.host_key)
    }

    /// Its host key's fingerprint as `ssh-keygen -l` prints it.
    pub fn fingerprint(&self) -> String {
        let out = keygen(&["-l", "-f", &format!("{}.pub", self.host_key_file.display())]);
        out.split_whitespace()
            .nth(1)
            .expect("a fingerprint field")
            .to_owned()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A client key pair of each kind the tests use, and their `authorized_keys` lines.
pub struct ClientKeys {
    pub dir: tempfile::TempDir,
    /// Ed25519, OpenSSH format, no passphrase.
    pub ed25519: PathBuf,
    /// ECDSA P-256, OpenSSH format, encrypted with [`PASSPHRASE`].
    pub ecdsa_encrypted: PathBuf,
    /// RSA 3072 in PEM (PKCS#1) format.
    pub rsa_pem: PathBuf,
}

/// The passphrase of the encrypted test key.
pub const PASSPHRASE: &str = "correct horse battery";

impl ClientKeys {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let ed25519 = new_key(&dir.path().join("id_ed25519"), "ed25519", "", &[]);
        let ecdsa_encrypted = new_key(
            &dir.path().join("id_ecdsa"),
            "ecdsa",
            PASSPHRASE,
            &["-b", "256"],
        );
        let rsa_pem = new_key(
            &dir.path().join("id_rsa"),
            "rsa",
            "",
            &["-b", "3072", "-m", "PEM"],
        );
        Self {
            dir,
            ed25519,
            ecdsa_encrypted,
            rsa_pem,
        }
    }

    /// Every public key, for `authorized_keys`.
    pub fn authorized(&self) -> Vec<String> {
        [&self.ed25519, &self.ecdsa_encrypted, &self.rsa_pem]
            .iter()
            .map(|k| {
                std::fs::read_to_string(k.with_extension("pub"))
                    .expect("public key")
                    .trim()
                    .to_owned()
            })
            .collect()
    }
}

/// An ssh-agent of the test's own, holding `keys`; killed on drop.
pub struct Agent {
    child: Child,
    pub socket: PathBuf,
    _dir: tempfile::TempDir,
}

impl Agent {
    pub fn start(keys: &[&Path]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let socket = dir.path().join("agent.sock");
        let child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start ssh-agent ({e}): install openssh-client"));
        let deadline = Instant::now() + Duration::from_secs(5);
        while !socket.exists() {
            assert!(Instant::now() < deadline, "ssh-agent made no socket");
            std::thread::sleep(Duration::from_millis(20));
        }
        for key in keys {
            let status = Command::new("ssh-add")
                .arg("-q")
                .arg(key)
                .env("SSH_AUTH_SOCK", &socket)
                .stdin(Stdio::null())
                .status()
                .expect("ssh-add");
            assert!(status.success(), "ssh-add {}", key.display());
        }
        Self {
            child,
            socket,
            _dir: dir,
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A local account with a fresh random password for password logins (root only: sshd checks
/// passwords against the system's accounts). The password is locked again on drop.
pub struct PasswordUser {
    pub name: String,
    pub password: String,
}

impl PasswordUser {
    pub fn create() -> Self {
        assert_eq!(
            me(),
            "root",
            "the SSH password test needs root: sshd checks passwords against system accounts"
        );
        let name = "cc_ssh_test".to_owned();
        let exists = Command::new("id")
            .arg(&name)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !exists {
            let status = Command::new("useradd")
                .args(["-M", "-s", "/bin/sh", &name])
                .status()
                .expect("useradd");
            assert!(status.success(), "useradd {name}");
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let password = format!("pw-{nanos:x}-{}", std::process::id());
        let mut child = Command::new("chpasswd")
            .stdin(Stdio::piped())
            .spawn()
            .expect("chpasswd");
        {
            use std::io::Write as _;
            let stdin = child.stdin.as_mut().expect("stdin");
            writeln!(stdin, "{name}:{password}").expect("write");
        }
        assert!(child.wait().expect("chpasswd").success(), "chpasswd");
        let _ = Command::new("usermod").args(["-U", &name]).status();
        Self { name, password }
    }
}

impl Drop for PasswordUser {
    fn drop(&mut self) {
        let _ = Command::new("usermod").args(["-L", &self.name]).status();
    }
}

/// A tunnel spec to `sshd` as the test's user, checked against `known_hosts`, with no ssh
/// config read (never the user's own).
pub fn tunnel_spec(sshd: &Sshd, auth: SshAuth, known_hosts: &Path) -> SshSpec {
    SshSpec {
        hop: SshHop {
            host: "127.0.0.1".to_owned(),
            port: Some(sshd.port),
            user: Some(me()),
        },
        auth,
        known_hosts: Some(known_hosts.to_path_buf()),
        config_file: Some(PathBuf::from("/nonexistent/ssh_config")),
        ..SshSpec::default()
    }
}

/// An sshd that lets the test's client keys in, and a known-hosts file that records its key.
pub struct Bastion {
    pub keys: ClientKeys,
    pub sshd: Sshd,
    pub known_hosts: PathBuf,
    _dir: tempfile::TempDir,
}

impl Bastion {
    pub fn start() -> Self {
        let keys = ClientKeys::new();
        let sshd = Sshd::start(&keys.authorized());
        let dir = tempfile::tempdir().expect("temp dir");
        let known_hosts = dir.path().join("known_hosts");
        std::fs::write(&known_hosts, sshd.known_hosts_line() + "\n").expect("known_hosts");
        Self {
            keys,
            sshd,
            known_hosts,
            _dir: dir,
        }
    }

    /// A spec logging in with the Ed25519 key.
    pub fn spec(&self) -> SshSpec {
        tunnel_spec(
            &self.sshd,
            SshAuth::Key(self.keys.ed25519.clone()),
            &self.known_hosts,
        )
    }
}
