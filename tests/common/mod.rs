//! Test harness: real `redis-server` processes on free loopback ports, stopped on drop.
#![allow(dead_code)] // each test binary uses a different part of the harness

pub mod cluster;
pub mod dreamfactory;
pub mod fault;
pub mod keyring;
pub mod laravel;
pub mod sentinel;
pub mod sshd;
pub mod tls;
pub mod ui;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cache_console::service::{
    CommandKind, ConnId, Event, EventKind, ReqId, SendError, ServiceHandle,
};

/// The service as these tests drive it: connections and requests by number, and the news of
/// connections (the tests ask nothing of the app as a whole).
pub struct Service(pub ServiceHandle);

/// News of one connection.
#[derive(Debug)]
pub struct ConnEvent {
    pub conn: u64,
    pub req: u64,
    pub kind: EventKind,
}

impl Service {
    pub fn send(&self, conn: u64, req: u64, kind: CommandKind) -> Result<(), SendError> {
        self.0.send(ConnId(conn), ReqId(req), kind)
    }

    pub fn blocking_recv(&mut self, timeout: Duration) -> Option<ConnEvent> {
        match self.0.blocking_recv(timeout)? {
            Event::Conn { conn, req, kind } => Some(ConnEvent {
                conn: conn.0,
                req: req.0,
                kind,
            }),
            Event::App { .. } | Event::Fleet { .. } => None,
        }
    }

    pub fn shutdown(&mut self) {
        self.0.shutdown();
    }
}

/// A name no other test (or run) uses: `prefix_<pid>_<nanos>`.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{prefix}_{}_{nanos}", std::process::id())
}

/// A database of the test's own on a local PostgreSQL or MariaDB, dropped when the guard goes
/// out of scope — also when the test fails — so no test leaves one behind, and none touches
/// data it did not create.
pub struct OwnDatabase {
    admin_url: String,
    /// The server's URL without a database (`postgres://postgres@127.0.0.1:5432`).
    pub base: String,
    /// The database's name.
    pub name: String,
}

impl OwnDatabase {
    /// Creates one on the server `env_var` names (or `default_url`); fails loudly when there
    /// is no server.
    pub async fn create(env_var: &str, default_url: &str) -> Self {
        sqlx::any::install_default_drivers();
        let admin_url = std::env::var(env_var).unwrap_or_else(|_| default_url.to_owned());
        let admin = sqlx::AnyPool::connect(&admin_url)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "a server is needed at {admin_url} (set {env_var}, or run scripts/test.sh): {e}"
                )
            });
        let name = unique("cc_test");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        admin.close().await;
        let base = admin_url
            .rsplit_once('/')
            .map(|(b, _)| b.to_owned())
            .expect("a URL ending in /database");
        Self {
            admin_url,
            base,
            name,
        }
    }

    /// A pool on the database.
    pub async fn pool(&self) -> sqlx::AnyPool {
        sqlx::AnyPool::connect(&format!("{}/{}", self.base, self.name))
            .await
            .expect("the test database")
    }
}

impl std::fmt::Display for OwnDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

impl Drop for OwnDatabase {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime (or while it unwinds): the DROP runs on a
        // thread of its own with its own runtime, and reports rather than panics.
        let (url, name) = (self.admin_url.clone(), self.name.clone());
        let sql = if url.starts_with("postgres") {
            // Connections the test left open (it may have failed) must not keep it alive.
            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        } else {
            format!("DROP DATABASE IF EXISTS {name}")
        };
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let admin = sqlx::AnyPool::connect(&url)
                    .await
                    .map_err(|e| e.to_string())?;
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(&admin)
                    .await
                    .map_err(|e| e.to_string())?;
                admin.close().await;
                Ok::<(), String>(())
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("could not drop the test database {}: {e}", self.name),
            Err(_) => eprintln!("dropping the test database {} panicked", self.name),
        }
    }
}

/// A redis-server owned by one test.
pub struct RedisServer {
    child: Child,
    pub port: u16,
    /// The TLS port, for servers started with [`RedisServer::start_tls`].
    pub tls_port: Option<u16>,
    pub dir: tempfile::TempDir,
    pub password: Option<String>,
    /// The command line it was started with (for [`RedisServer::restart`]).
    args: Vec<std::ffi::OsString>,
}

impl RedisServer {
    /// Raises the server's scheduling priority where this process may (root), so that on a
    /// small machine the app under test, sharing its cores, does not pause it mid-command:
    /// a server runs on a host of its own in production. Whether it could.
    pub fn prioritise(&self) -> bool {
        Command::new("renice")
            .args(["-n", "-10", "-p", &self.child.id().to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }
}

pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local addr").port()
}

fn redis_server_binary() -> PathBuf {
    let found = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match found {
        Ok(status) if status.success() => PathBuf::from("redis-server"),
        _ => panic!(
            "redis-server is not installed, and these tests need a real one. \
             Install it (Debian/Ubuntu: `apt-get install redis-server`) or run the README's \
             test command, `bash scripts/test.sh`, which installs it."
        ),
    }
}

impl RedisServer {
    /// Starts a server with no password.
    pub fn start() -> Self {
        Self::start_with(None)
    }

    /// Starts a server; with `password`, clients must authenticate.
    pub fn start_with(password: Option<&str>) -> Self {
        Self::start_custom(password, None, &[])
    }

    /// Starts a server with extra command-line arguments (`--maxmemory 64mb`).
    pub fn start_args(extra: &[&str]) -> Self {
        Self::start_custom(None, None, extra)
    }

    /// Stops the server and starts a new process on the same port with the same settings:
    /// a restart, with every counter back at zero and the keys gone (no persistence).
    pub fn restart(&mut self) {
        self.kill();
        self.child = Command::new(redis_server_binary())
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        assert!(
            self.wait_ready(Duration::from_secs(10)),
            "redis-server did not come back on port {}",
            self.port
        );
    }

    /// Starts a server that also speaks TLS with this certificate, key and CA (PEM files).
    pub fn start_tls(cert: &Path, key: &Path, ca: &Path) -> Self {
        Self::start_custom(None, Some((cert, key, ca)), &[])
    }

    /// A TLS server (as [`RedisServer::start_tls`]) with extra command-line arguments.
    pub fn start_tls_args(cert: &Path, key: &Path, ca: &Path, extra: &[&str]) -> Self {
        Self::start_custom(None, Some((cert, key, ca)), extra)
    }

    fn start_custom(
        password: Option<&str>,
        tls: Option<(&Path, &Path, &Path)>,
        extra: &[&str],
    ) -> Self {
        let binary = redis_server_binary();
        for _attempt in 0..5 {
            let dir = tempfile::tempdir().expect("temp dir");
            let port = free_port();
            let socket = dir.path().join("redis.sock");
            let mut cmd = Command::new(&binary);
            cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no"])
                .arg("--dir")
                .arg(dir.path())
                .arg("--unixsocket")
                .arg(&socket)
                .args(["--unixsocketperm", "700"])
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            if let Some(pw) = password {
                cmd.args(["--requirepass", pw]);
            }
            let tls_port = tls.map(|(cert, key, ca)| {
                let tls_port = free_port();
                cmd.args(["--tls-port", &tls_port.to_string()])
                    .arg("--tls-cert-file")
                    .arg(cert)
                    .arg("--tls-key-file")
                    .arg(key)
                    .arg("--tls-ca-cert-file")
                    .arg(ca)
                    .args(["--tls-auth-clients", "no"]);
                tls_port
            });
            cmd.args(extra);
            let args = cmd.get_args().map(std::ffi::OsStr::to_owned).collect();
            let child = cmd.spawn().expect("spawn redis-server");
            let mut server = Self {
                child,
                port,
                tls_port,
                dir,
                password: password.map(str::to_owned),
                args,
            };
            if server.wait_ready(Duration::from_secs(10)) {
                return server;
            }
            // The port was probably taken between probe and bind: try another.
            server.kill();
        }
        panic!("redis-server did not start on a free port after 5 attempts");
    }

    fn wait_ready(&mut self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            // The server answering must be ours: when two tests were handed the same free
            // port, the second process fails to bind while the first answers for it.
            if let Ok(mut conn) = self.client().get_connection()
                && let Ok(info) = redis::cmd("INFO").arg("server").query::<String>(&mut conn)
            {
                let pid = info
                    .lines()
                    .find_map(|l| l.trim().strip_prefix("process_id:"))
                    .and_then(|p| p.parse::<u32>().ok());
                return pid == Some(self.child.id());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// A URL for the app, without the password.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// A URL with database index `db`.
    pub fn url_db(&self, db: u32) -> String {
        format!("redis://127.0.0.1:{}/{db}", self.port)
    }

    /// The unix socket path.
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("redis.sock")
    }

    /// A redis-rs client for seeding and checking data (the test's "other client").
    pub fn client(&self) -> redis::Client {
        let url = match &self.password {
            Some(pw) => format!("redis://:{pw}@127.0.0.1:{}/0", self.port),
            None => format!("redis://127.0.0.1:{}/0", self.port),
        };
        redis::Client::open(url).expect("client")
    }

    /// A blocking connection to db 0, answering a PING. A failover (Sentinel's `CLIENT KILL`
    /// on a node whose role changed) can reset a connection as it opens: tried again for up
    /// to two seconds before the test fails.
    pub fn conn(&self) -> redis::Connection {
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let attempt = self.client().get_connection().and_then(|mut c| {
                redis::cmd("PING").query::<String>(&mut c)?;
                Ok(c)
            });
            match attempt {
                Ok(conn) => return conn,
                Err(e) if Instant::now() < deadline && e.is_io_error() => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => panic!("connect to test server: {e}"),
            }
        }
    }

    /// Stops the server now (to test a server that dies).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// A connection that names itself `name` (`CLIENT SETNAME`).
    pub fn named_conn(&self, name: &str) -> redis::Connection {
        let mut c = self.conn();
        redis::cmd("CLIENT")
            .arg("SETNAME")
            .arg(name)
            .query::<()>(&mut c)
            .expect("setname");
        c
    }

    /// Makes the slow log record every command.
    pub fn log_every_command(&self) {
        redis::cmd("CONFIG")
            .arg("SET")
            .arg("slowlog-log-slower-than")
            .arg(0)
            .query::<()>(&mut self.conn())
            .expect("config");
    }
}

/// Stores `k` and reads it `hits` times, then reads `misses` keys that do not exist: known
/// numbers for `keyspace_hits` and `keyspace_misses`.
pub fn hits_and_misses(c: &mut redis::Connection, hits: usize, misses: usize) {
    redis::cmd("SET")
        .arg("k")
        .arg("v")
        .query::<()>(c)
        .expect("set");
    for _ in 0..hits {
        redis::cmd("GET").arg("k").query::<String>(c).expect("hit");
    }
    for i in 0..misses {
        let _: Option<String> = redis::cmd("GET")
            .arg(format!("missing:{i}"))
            .query(c)
            .expect("miss");
    }
}

/// Bytes of a string (keys and values in tests).
pub fn b(s: &str) -> bytes::Bytes {
    bytes::Bytes::copy_from_slice(s.as_bytes())
}

/// A backend connected to `url` with default options (writable, no audit log).
pub async fn open_url(url: &str) -> Box<dyn cache_console::backend::CacheBackend> {
    let (spec, _) = cache_console::config::connection::parse_url(url).expect("url");
    cache_console::backend::connect(
        &spec,
        None,
        &cache_console::backend::ConnectOptions::default(),
    )
    .await
    .expect("connect")
}

/// Benchmarks' baseline: every key of one server by a bare `SCAN COUNT 1000` loop that does
/// nothing with the keys; how many it saw.
pub async fn bare_scan(conn: &mut redis::aio::MultiplexedConnection) -> usize {
    let mut cursor = 0u64;
    let mut n = 0;
    loop {
        let (next, keys): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg("*")
            .arg("COUNT")
            .arg(1000)
            .query_async(conn)
            .await
            .expect("scan");
        n += keys.len();
        cursor = next;
        if cursor == 0 {
            return n;
        }
    }
}

/// Why connecting to `url` fails (the test expects it to); fails the test when it connects.
pub async fn connect_err(url: &str) -> cache_console::backend::BackendError {
    let (spec, _) = cache_console::config::connection::parse_url(url).expect("url");
    match cache_console::backend::connect(
        &spec,
        None,
        &cache_console::backend::ConnectOptions::default(),
    )
    .await
    {
        Ok(_) => panic!("{url} connected, and it was expected not to"),
        Err(e) => e,
    }
}

/// Every key `pattern` matches, page by page, in the order the backend lists them.
pub async fn list_keys(
    be: &dyn cache_console::backend::CacheBackend,
    pattern: &str,
) -> Vec<Vec<u8>> {
    list_keys_result(be, pattern).await.expect("scan")
}

/// [`list_keys`], or the error a page of the listing ended with.
pub async fn list_keys_result(
    be: &dyn cache_console::backend::CacheBackend,
    pattern: &str,
) -> Result<Vec<Vec<u8>>, cache_console::backend::BackendError> {
    let request = cache_console::core::model::ScanRequest {
        pattern: pattern.as_bytes().to_vec(),
        type_filter: None,
        count: 1000,
        server: None,
        budget_ms: None,
    };
    let mut cursor = 0;
    let mut out = Vec::new();
    loop {
        let page = be.scan(&request, cursor).await?;
        out.extend(page.keys.iter().map(|k| k.to_vec()));
        cursor = page.next_cursor;
        if cursor == 0 {
            return Ok(out);
        }
    }
}

/// Saves `keys` for undo and deletes them, as the app's delete does: what was saved, and what
/// the delete did.
pub async fn delete_saved(
    be: &dyn cache_console::backend::CacheBackend,
    keys: &[bytes::Bytes],
) -> (
    Vec<cache_console::core::model::DumpedKey>,
    cache_console::core::model::WriteOutcome,
) {
    let saved = be
        .dump(keys)
        .await
        .expect("dump")
        .into_iter()
        .flatten()
        .collect();
    let outcome = be
        .write(&cache_console::core::model::WriteOp::Delete {
            keys: keys.to_vec(),
        })
        .await
        .expect("delete");
    (saved, outcome)
}

/// Runs the command line with `args` and reads its standard output as JSON; fails the test
/// (with its standard error) when it does not succeed.
pub fn cli_json(cfg: &Path, args: &[&str]) -> serde_json::Value {
    let out = cli(cfg).args(args).output().expect("run cache-console");
    serde_json::from_str(&ok(&out)).expect("JSON on standard output")
}

/// The standard output of a command line that must have succeeded (its standard error is the
/// failure's message otherwise).
pub fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The command-line binary with its config and data in `cfg` (never the user's).
pub fn cli(cfg: &Path) -> Command {
    let mut cmd = Command::new(binary());
    cmd.env("CACHE_CONSOLE_CONFIG_DIR", cfg)
        .env("CACHE_CONSOLE_DATA_DIR", cfg)
        .env_remove("CACHE_CONSOLE_PASSWORD");
    cmd
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Fills db 0 with `n` string keys `prefix{i}` in pipelined batches.
pub fn fill(conn: &mut redis::Connection, prefix: &str, n: usize) {
    let mut start = 0;
    while start < n {
        let end = (start + 10_000).min(n);
        let mut pipe = redis::pipe();
        for i in start..end {
            pipe.cmd("SET").arg(format!("{prefix}{i}")).arg(i).ignore();
        }
        pipe.query::<()>(conn).expect("fill");
        start = end;
    }
}

/// A temp dir for profiles, set as the config dir for child processes.
pub fn config_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp config dir")
}

/// Path of the built binary.
pub fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_cache-console"))
}

/// The pid a memcached on `port` reports, once it answers.
fn memcached_pid(port: u16) -> Option<u32> {
    use std::io::{Read as _, Write as _};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(b"stats\r\n").ok()?;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while !out.ends_with(b"END\r\n") {
        let n = s.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        out.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&out)
        .lines()
        .find_map(|l| l.strip_prefix("STAT pid "))
        .and_then(|p| p.trim().parse().ok())
}

/// A memcached owned by one test.
pub struct MemcachedServer {
    child: Child,
    /// Its TCP port.
    pub port: u16,
}

fn memcached_binary() -> PathBuf {
    match Command::new("memcached")
        .arg("-h")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(status) if status.success() => PathBuf::from("memcached"),
        _ => panic!(
            "memcached is not installed, and these tests need a real one. Install it \
             (Debian/Ubuntu: `apt-get install memcached`) or run `bash scripts/test.sh`, \
             which installs it."
        ),
    }
}

impl MemcachedServer {
    /// Starts memcached with 256 MiB; `extra` adds flags (`-X` refuses key dumps).
    pub fn start_with(extra: &[&str]) -> Self {
        let binary = memcached_binary();
        for _attempt in 0..5 {
            let port = free_port();
            let child = Command::new(&binary)
                .args([
                    "-p",
                    &port.to_string(),
                    "-l",
                    "127.0.0.1",
                    "-U",
                    "0",
                    "-m",
                    "256",
                    "-u",
                    "root",
                ])
                .args(extra)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn memcached");
            let mut server = Self { child, port };
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = server.child.try_wait() {
                    break;
                }
                // Ours, not another test's server on a port both were handed.
                if let Some(pid) = memcached_pid(port) {
                    if pid == server.child.id() {
                        return server;
                    }
                    break;
                }
                std::thread::sleep(Duration::from_millis(30));
            }
            server.kill();
        }
        panic!("memcached did not start on a free port after 5 attempts");
    }

    /// Starts a plain memcached.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// `127.0.0.1:port`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Sends raw text-protocol commands and returns everything read until `until` appears.
    pub fn raw(&self, command: &str, until: &str) -> String {
        use std::io::{Read as _, Write as _};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        s.write_all(command.as_bytes()).expect("write");
        let mut out = Vec::new();
        let mut buf = vec![0u8; 65536];
        while !String::from_utf8_lossy(&out).contains(until) {
            let n = s.read(&mut buf).expect("read");
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Stores `n` keys `prefix{i}` (value `v{i}`) with pipelined quiet sets.
    pub fn fill(&self, prefix: &str, n: usize) {
        use std::fmt::Write as _;
        use std::io::{Read as _, Write as _};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let mut batch = String::new();
        for i in 0..n {
            let v = format!("v{i}");
            let _ = write!(batch, "ms {prefix}{i} {} q\r\n{v}\r\n", v.len());
            if batch.len() > 256 * 1024 || i + 1 == n {
                batch.push_str("mn\r\n");
                s.write_all(batch.as_bytes()).expect("write");
                batch.clear();
                let mut out = Vec::new();
                let mut buf = [0u8; 4096];
                while !out.ends_with(b"MN\r\n") {
                    let k = s.read(&mut buf).expect("read");
                    assert!(k > 0, "memcached closed the connection");
                    out.extend_from_slice(&buf[..k]);
                }
            }
        }
    }

    /// Stops the server now (to test a server that dies).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for MemcachedServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs PHP code with the real `php` binary and returns what it printed: the fixtures of the
/// decoder tests come from PHP itself, not from our idea of its formats.
pub fn php(code: &str) -> Vec<u8> {
    let out = Command::new("php")
        .args(["-r", code])
        .output()
        .unwrap_or_else(|_| {
            panic!(
                "php is not installed, and these tests need it to make fixtures. Install it \
                 (Debian/Ubuntu: `apt-get install php-cli`) or run `bash scripts/test.sh`."
            )
        });
    assert!(
        out.status.success(),
        "php failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}
