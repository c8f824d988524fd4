//! A stand-in for DreamFactory's cache API: `tests/fixtures/dreamfactory/router.php` under
//! PHP's built-in server on a free port. It is not DreamFactory (which cannot be installed
//! here): it answers DreamFactory's cache-service contract with real Laravel parts (the cache
//! Repository over a real store, as df-cache does), with DreamFactory's API-key check, error
//! body and status codes.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::laravel::Store;

/// How the stand-in behaves, beyond the store it fronts.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Speaks only the documented forms (`POST {"key","value","ttl"}`); 405 to PUT.
    pub documented_only: bool,
    /// Stores `a/b` as `a.b` (df-cache before its key-collision fix) rather than `a\x1Fb`.
    pub dot_separator: bool,
    /// Answers 400 to a flush, as older df-cache does.
    pub no_flush: bool,
    /// An admin session token it takes, and the services `/api/v2/system/service` lists.
    pub admin: Option<(String, serde_json::Value)>,
}

/// A running stand-in; stopped when dropped.
pub struct DreamFactory {
    child: Child,
    /// Its port.
    pub port: u16,
    /// The service name it answers under.
    pub service: String,
    /// The API key it takes.
    pub api_key: String,
    /// The prelude and the services file, kept while the server runs.
    files: Option<tempfile::TempDir>,
}

impl DreamFactory {
    /// Starts the stand-in for `service` over `store`, taking `api_key`.
    ///
    /// # Panics
    /// PHP is missing, or the server did not start.
    pub fn start(store: &Store, service: &str, api_key: &str, options: &Options) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let prelude = dir.path().join("prelude.php");
        std::fs::write(&prelude, format!("<?php\n{}\n", store.prelude())).expect("prelude");
        let services = dir.path().join("services.json");
        let router =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dreamfactory/router.php");
        for _attempt in 0..5 {
            let port = super::free_port();
            let mut command = Command::new("php");
            // A group of its own: `php -S` forks its workers, and they are stopped with it.
            std::os::unix::process::CommandExt::process_group(&mut command, 0);
            command
                .args(["-S", &format!("127.0.0.1:{port}")])
                .arg(&router)
                .env("DF_PRELUDE", &prelude)
                .env("DF_SERVICE", service)
                .env("DF_API_KEY", api_key)
                .env("PHP_CLI_SERVER_WORKERS", "2")
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            if options.documented_only {
                command.env("DF_FORM", "documented");
            }
            if options.dot_separator {
                command.env("DF_KEY_SEPARATOR", "dot");
            }
            if options.no_flush {
                command.env("DF_NO_FLUSH", "1");
            }
            if let Some((token, list)) = &options.admin {
                std::fs::write(&services, list.to_string()).expect("services");
                command
                    .env("DF_SESSION_TOKEN", token)
                    .env("DF_SERVICES", &services);
            }
            let child = command.spawn().unwrap_or_else(|_| {
                panic!("php is not installed: run `bash scripts/test.sh`, which installs it")
            });
            let mut server = Self {
                child,
                port,
                service: service.to_owned(),
                api_key: api_key.to_owned(),
                files: None,
            };
            if server.wait_ready() {
                server.files = Some(dir);
                return server;
            }
            server.stop();
        }
        panic!("the DreamFactory stand-in (php -S) did not start after 5 attempts");
    }

    /// Waits until this server (not another on the same port) answers its service's root as
    /// df-cache does: 400, no key given.
    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if self.raw("GET", "", true).0 == 400 {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// `http://127.0.0.1:port`.
    #[must_use]
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The console's URL of the service, with the API key inline.
    #[must_use]
    pub fn url(&self) -> String {
        format!(
            "dreamfactory+http://:{}@127.0.0.1:{}/api/v2/{}",
            self.api_key, self.port, self.service
        )
    }

    /// One plain HTTP/1.0 request to `/api/v2/{service}/{path}`: the status and body.
    #[must_use]
    pub fn raw(&self, method: &str, path: &str, with_key: bool) -> (u16, String) {
        use std::io::{Read as _, Write as _};
        let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return (0, String::new());
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        let key = if with_key {
            format!("X-DreamFactory-API-Key: {}\r\n", self.api_key)
        } else {
            String::new()
        };
        let request = format!(
            "{method} /api/v2/{}/{path} HTTP/1.0\r\nHost: 127.0.0.1\r\n{key}Content-Length: 0\r\n\r\n",
            self.service
        );
        if stream.write_all(request.as_bytes()).is_err() {
            return (0, String::new());
        }
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        let status = answer
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = answer
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        (status, body)
    }
}

impl DreamFactory {
    /// Stops the server and the workers it forked (its whole process group: killing `php -S`
    /// alone left its workers listening after the tests).
    fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for DreamFactory {
    fn drop(&mut self) {
        self.stop();
    }
}
