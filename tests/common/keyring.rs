//! A real Secret Service for keyring tests: a private D-Bus session bus and a gnome-keyring
//! daemon on it, its login keyring unlocked, in a temp home. Nothing touches the user's own
//! session bus or keyring. Both processes stop on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The keyring's own login password (the daemon is started unlocked with it).
const LOGIN_PASSWORD: &str = "cc-test-login";

/// A bus address where nothing listens: a session with no Secret Service.
pub fn dead_bus() -> String {
    "unix:path=/nonexistent/cache-console-test-bus".to_owned()
}

pub struct SecretService {
    _home: tempfile::TempDir,
    home: PathBuf,
    bus: Child,
    daemon: Child,
    /// The bus address (`DBUS_SESSION_BUS_ADDRESS` for a child, `Keyring::on_bus` in-process).
    pub address: String,
}

impl SecretService {
    /// Starts the bus and the daemon and waits until the Secret Service answers; fails the test
    /// loudly when `dbus-daemon` or `gnome-keyring-daemon` is missing (scripts/test.sh installs
    /// them).
    pub fn start() -> Self {
        let home = tempfile::tempdir().expect("keyring home");
        let path = home.path().to_path_buf();
        let run = path.join("run");
        std::fs::create_dir(&run).expect("runtime dir");
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        }
        let address = format!("unix:path={}", path.join("bus").display());
        let bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--nopidfile"])
            .arg(format!("--address={address}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon must be installed (scripts/test.sh installs dbus)");
        wait_for(&path.join("bus"), "the test's D-Bus socket");
        let mut daemon = Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", &path)
            .env("XDG_RUNTIME_DIR", &run)
            .env("XDG_DATA_HOME", path.join("data"))
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "gnome-keyring-daemon must be installed (scripts/test.sh installs gnome-keyring)",
            );
        {
            use std::io::Write as _;
            let mut stdin = daemon.stdin.take().expect("stdin");
            stdin
                .write_all(LOGIN_PASSWORD.as_bytes())
                .expect("unlock password");
        }
        let me = Self {
            _home: home,
            home: path,
            bus,
            daemon,
            address,
        };
        me.wait_owned();
        me
    }

    /// Waits until `org.freedesktop.secrets` has an owner on the bus.
    fn wait_owned(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let out = Command::new("dbus-send")
                .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
                .args([
                    "--session",
                    "--print-reply",
                    "--dest=org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus.NameHasOwner",
                    "string:org.freedesktop.secrets",
                ])
                .output()
                .expect("dbus-send (package dbus) must be installed");
            if String::from_utf8_lossy(&out.stdout).contains("boolean true") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "gnome-keyring did not take org.freedesktop.secrets on {}",
                self.address
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The daemon's home: its keyring files are under it.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// The in-process handle on this keyring.
    pub fn keyring(&self) -> cache_console::config::secrets::Keyring {
        cache_console::config::secrets::Keyring::on_bus(self.address.clone())
    }

    /// What the keyring holds for `profile`'s password.
    pub fn password_of(&self, profile: &str) -> Option<String> {
        self.secret_of(profile, cache_console::config::secrets::Slot::Password)
    }

    /// What the keyring holds for one of `profile`'s secrets (read through the console's own
    /// code, on a runtime of its own).
    pub fn secret_of(
        &self,
        profile: &str,
        slot: cache_console::config::secrets::Slot,
    ) -> Option<String> {
        let name = cache_console::config::secrets::SecretName::new(profile, slot);
        block_on(self.keyring().get(&name))
            .expect("the test keyring answers")
            .map(|s| s.expose().to_owned())
    }

    /// Removes `profile`'s password behind the console's back.
    pub fn remove_password(&self, profile: &str) {
        let name = cache_console::config::secrets::SecretName::new(
            profile,
            cache_console::config::secrets::Slot::Password,
        );
        block_on(self.keyring().delete(&name)).expect("removed");
    }
}

fn block_on<T>(work: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(work)
}

fn wait_for(path: &Path, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{what} did not appear at {}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for SecretService {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}

/// Every file under `dir` (not following symlinks) holding `needle`: none may hold a secret.
pub fn files_holding(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            let Ok(kind) = e.file_type() else { continue };
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file()
                && std::fs::read(&path)
                    .is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
            {
                found.push(path);
            }
        }
    }
    found
}
