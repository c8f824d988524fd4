//! Many caches at once against real servers: the fleet sampler (bounded in time and in how
//! many at once, a silent server and a refused port among live ones) and the Prometheus
//! exporter, its answers checked by Prometheus' own `promtool check metrics`.

mod common;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use cache_console::backend::fleet::{FleetTarget, Limits, Sampler};
use cache_console::config::connection::parse_url;
use cache_console::config::profiles::Profile;
use cache_console::core::fleet::{FleetRow, Health};
use common::{MemcachedServer, RedisServer, cli, config_dir, hits_and_misses, ok};

fn profile(name: &str, url: &str, group: Option<&str>) -> Profile {
    let (connection, _) = parse_url(url).expect("url");
    let mut p = Profile::new(name, connection);
    p.group = group.map(str::to_owned);
    p
}

/// A port that takes connections (the kernel's backlog) and never answers.
fn silent_port() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    (listener, port)
}

/// A port nothing listens on.
fn refused_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_round_reads_every_profile_within_its_time_limit_and_keeps_connections() {
    let redis = RedisServer::start();
    let memcached = MemcachedServer::start();
    let files = tempfile::tempdir().expect("dir");
    let (_silent, silent) = silent_port();
    let refused = refused_port();
    let mut c = redis.conn();
    common::fill(&mut c, "k:", 10);
    let profiles = [
        profile("live", &redis.url(), Some("prod")),
        profile(
            "mc",
            &format!("memcached://{}", memcached.addr()),
            Some("prod"),
        ),
        profile("files", &format!("file://{}", files.path().display()), None),
        profile("silent", &format!("redis://127.0.0.1:{silent}/0"), None),
        profile("refused", &format!("redis://127.0.0.1:{refused}/0"), None),
    ];
    let limits = Limits {
        timeout: Duration::from_millis(700),
        concurrency: 2,
    };
    let sampler = Sampler::new(None, limits);
    let mut rows: Vec<FleetRow> = profiles
        .iter()
        .map(|p| {
            FleetRow::new(
                &p.name,
                p.group.as_deref(),
                p.connection.kind_label(),
                &p.connection.display_url(),
            )
        })
        .collect();
    let targets: Vec<FleetTarget> = profiles.iter().cloned().map(FleetTarget::new).collect();
    let round = |targets: Vec<FleetTarget>| {
        let mut readings = sampler.round(targets);
        async move {
            let mut got = Vec::new();
            while let Some(reading) = readings.recv().await {
                got.push(reading);
            }
            got
        }
    };
    let first = round(targets.clone()).await;
    assert_eq!(first.len(), profiles.len(), "every profile has its reading");
    for (name, reading) in first {
        rows.iter_mut()
            .find(|r| r.profile == name)
            .expect("row")
            .update(reading);
    }
    let row = |rows: &[FleetRow], name: &str| {
        rows.iter()
            .find(|r| r.profile == name)
            .cloned()
            .expect(name)
    };
    let live = row(&rows, "live");
    assert_eq!(live.health, Health::Up, "{:?}", live.last_error);
    assert_eq!(live.role.as_deref(), Some("primary"));
    assert!(
        live.version
            .as_deref()
            .is_some_and(|v| v.starts_with(char::is_numeric))
    );
    assert_eq!(live.figures.keys, Some(10.0));
    assert_eq!(row(&rows, "mc").health, Health::Up);
    assert!(row(&rows, "mc").version.is_some());
    assert_eq!(row(&rows, "files").health, Health::Up);
    let silent_row = row(&rows, "silent");
    assert_eq!(silent_row.health, Health::Down);
    assert!(
        silent_row
            .error_text()
            .is_some_and(|e| e.contains("no answer within 0.7 s")),
        "{:?}",
        silent_row.last_error
    );
    assert!(
        silent_row.took_ms.is_some_and(|ms| ms < 2_000),
        "bounded by the time limit"
    );
    assert_eq!(row(&rows, "refused").health, Health::Down);

    // The interval's hit rate: 3 hits and 1 miss between two rounds.
    hits_and_misses(&mut c, 3, 1);
    let clients_before: u64 = client_count(&mut c);
    for (name, reading) in round(targets.clone()).await {
        rows.iter_mut()
            .find(|r| r.profile == name)
            .expect("row")
            .update(reading);
    }
    let live = row(&rows, "live");
    assert_eq!(live.figures.hit_rate, Some(75.0));
    // The connection was kept: the second round opened none.
    assert_eq!(client_count(&mut c), clients_before);
    // Read-only by nature: the rounds changed nothing (the ten keys and hits_and_misses' `k`).
    assert_eq!(
        redis::cmd("DBSIZE").query::<u64>(&mut c).expect("dbsize"),
        11
    );
}

fn client_count(c: &mut redis::Connection) -> u64 {
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query(c)
        .expect("client list");
    list.lines().count() as u64
}

/// The exporter running on a free port with the profiles of `cfg`; stderr is kept.
struct Exporter {
    child: Child,
    port: u16,
    stderr: String,
}

impl Exporter {
    fn start(cfg: &std::path::Path, args: &[&str], envs: &[(&str, &str)]) -> Self {
        let mut cmd = cli(cfg);
        cmd.env_remove("CACHE_CONSOLE_VAULT_PASSPHRASE");
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd
            .args(["exporter", "--timeout-ms", "800"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the exporter");
        // It says where it listens once it does.
        let mut lines = BufReader::new(child.stderr.take().expect("stderr"));
        let mut stderr = String::new();
        let mut port = None;
        for _ in 0..5 {
            let mut line = String::new();
            if lines.read_line(&mut line).expect("read stderr") == 0 {
                break;
            }
            stderr.push_str(&line);
            if let Some(rest) = line.split("http://").nth(1) {
                let addr = rest.split('/').next().expect("addr");
                port = addr.rsplit(':').next().and_then(|p| p.parse().ok());
                break;
            }
        }
        let port = port.unwrap_or_else(|| panic!("the exporter did not start: {stderr}"));
        std::thread::spawn(move || {
            let mut rest = String::new();
            let _ = lines.read_to_string(&mut rest);
        });
        Self {
            child,
            port,
            stderr,
        }
    }

    /// GET `path` with an Accept header; the status line, headers and body.
    fn get(&self, path: &str, accept: &str) -> (String, String) {
        request(
            self.port,
            &format!(
                "GET {path} HTTP/1.1\r\nHost: x\r\nAccept: {accept}\r\nConnection: close\r\n\r\n"
            ),
        )
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn request(port: u16, raw: &str) -> (String, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    stream.write_all(raw.as_bytes()).expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    let (head, body) = answer.split_once("\r\n\r\n").expect("head and body");
    (head.to_owned(), body.to_owned())
}

/// `promtool check metrics` on `body`: Prometheus' own parser and linter.
fn promtool(body: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian's prometheus package; scripts/test.sh installs it)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(body.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("promtool");
    assert!(
        out.status.success(),
        "promtool: {}{}\n{body}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The value of the sample whose name and labels are `series` exactly.
fn value(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

const PASSWORD: &str = "fleet-S3cret!";

/// Four profiles in group `prod` and `other`: a Redis, a memcached, a silent port and a
/// Redis whose password is in the vault (passphrase `vault-pass`).
fn saved_profiles(
    redis: &RedisServer,
    protected: &RedisServer,
    memcached: &MemcachedServer,
    silent: u16,
) -> tempfile::TempDir {
    let cfg = config_dir();
    let add = |name: &str, url: &str, group: &str| {
        ok(&cli(cfg.path())
            .args(["profiles", "add", name, url, "--group", group])
            .output()
            .expect("add"));
    };
    add("live", &redis.url(), "prod");
    add("mc", &format!("memcached://{}", memcached.addr()), "prod");
    add("silent", &format!("redis://127.0.0.1:{silent}/0"), "prod");
    add(
        "vaulted",
        &format!("redis://127.0.0.1:{}/0", protected.port),
        "other",
    );
    // Its password in the vault, as the app keeps it.
    let mut set = cli(cfg.path())
        .args(["profiles", "set-password", "vaulted", "--store", "vault"])
        .env("CACHE_CONSOLE_VAULT_PASSPHRASE", "vault-pass")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("set-password");
    set.stdin
        .take()
        .expect("stdin")
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .expect("password");
    ok(&set.wait_with_output().expect("set-password"));

    cfg
}

/// `/scrape` for one profile, in `OpenMetrics` when asked; the answers to wrong requests.
fn routes(exporter: &Exporter) {
    // One profile: /scrape?target=NAME, OpenMetrics when asked for.
    let (head, one) = exporter.get(
        "/scrape?target=mc",
        "application/openmetrics-text;version=1.0.0",
    );
    assert!(head.contains("application/openmetrics-text"), "{head}");
    assert!(one.ends_with("# EOF\n"), "{one}");
    assert!(one.contains("profile=\"mc\""));
    assert!(!one.contains("profile=\"live\""));
    let (head, _) = exporter.get("/scrape?target=nosuch", "text/plain");
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
    let (head, _) = exporter.get("/scrape", "text/plain");
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
    let (head, _) = request(
        exporter.port,
        "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    assert!(head.starts_with("HTTP/1.1 405"), "{head}");
}

/// The silent profile down, the vaulted one up with the vault's password, memcached up.
fn others(
    first: &str,
    silent: u16,
    protected: &RedisServer,
    memcached: &MemcachedServer,
    stderr: &str,
) {
    assert_eq!(
        value(
            first,
            &format!(
                "cache_console_up{{profile=\"silent\",server=\"redis://127.0.0.1:{silent}/0\"}}"
            )
        ),
        Some(0.0),
        "{first}"
    );
    assert_eq!(
        value(first, "cache_console_profile_up{profile=\"silent\"}"),
        Some(0.0)
    );
    let vaulted = format!(
        "cache_console_up{{profile=\"vaulted\",server=\"127.0.0.1:{}\"}}",
        protected.port
    );
    assert_eq!(value(first, &vaulted), Some(1.0), "{first}\n{stderr}");
    let mc = format!(
        "cache_console_up{{profile=\"mc\",server=\"{}\"}}",
        memcached.addr()
    );
    assert_eq!(value(first, &mc), Some(1.0), "{first}");
}

#[test]
fn the_exporter_serves_every_profile_for_prometheus() {
    let redis = RedisServer::start();
    let protected = RedisServer::start_with(Some(PASSWORD));
    let memcached = MemcachedServer::start();
    let (_silent, silent) = silent_port();
    let cfg = saved_profiles(&redis, &protected, &memcached, silent);
    let exporter = Exporter::start(
        cfg.path(),
        &["--listen", "127.0.0.1:0"],
        &[("CACHE_CONSOLE_VAULT_PASSPHRASE", "vault-pass")],
    );
    assert!(!exporter.stderr.contains("warning"), "{}", exporter.stderr);

    let mut c = redis.conn();
    common::fill(&mut c, "k:", 5);
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg("64mb")
        .query::<()>(&mut c)
        .expect("a memory limit");
    let (head, first) = exporter.get("/metrics", "text/plain");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    promtool(&first);
    let server = format!("127.0.0.1:{}", redis.port);
    let live = |name: &str| format!("{name}{{profile=\"live\",server=\"{server}\"}}");
    assert_eq!(
        value(&first, &live("cache_console_up")),
        Some(1.0),
        "{first}"
    );
    assert_eq!(
        value(&first, &live("cache_console_keys")),
        Some(5.0),
        "{first}"
    );
    assert!(value(&first, &live("cache_console_memory_used_bytes")).is_some_and(|v| v > 0.0));
    assert!(value(&first, &live("cache_console_commands_total")).is_some());
    assert!(value(&first, &live("cache_console_evicted_keys_total")).is_some());
    assert!(value(&first, &live("cache_console_connected_clients")).is_some());
    assert_eq!(
        value(&first, &live("cache_console_hit_ratio")),
        None,
        "no interval yet"
    );
    others(&first, silent, &protected, &memcached, &exporter.stderr);
    assert!(!first.contains(PASSWORD));

    // 3 hits and 1 miss between two scrapes: the hit ratio is theirs.
    hits_and_misses(&mut c, 3, 1);
    let (_, second) = exporter.get("/metrics", "text/plain");
    promtool(&second);
    assert_eq!(
        value(&second, &live("cache_console_hit_ratio")),
        Some(0.75),
        "{second}"
    );
    assert_eq!(
        value(&second, &live("cache_console_memory_max_bytes")),
        Some(64.0 * 1024.0 * 1024.0)
    );
    for name in [
        "cache_console_up",
        "cache_console_hit_ratio",
        "cache_console_memory_used_bytes",
        "cache_console_memory_max_bytes",
        "cache_console_keys",
        "cache_console_evicted_keys_total",
        "cache_console_commands_total",
        "cache_console_connected_clients",
    ] {
        assert!(
            second.contains(&format!("# HELP {name} ")),
            "HELP of {name}"
        );
        assert!(
            second.contains(&format!("# TYPE {name} ")),
            "TYPE of {name}"
        );
    }

    routes(&exporter);
    // The servers were only read (five keys and hits_and_misses' `k`).
    assert_eq!(
        redis::cmd("DBSIZE").query::<u64>(&mut c).expect("dbsize"),
        6
    );
}

#[test]
fn the_exporter_chooses_profiles_by_name_or_group_and_says_when_it_listens_beyond_loopback() {
    let redis = RedisServer::start();
    let cfg = config_dir();
    for (name, group) in [("a", "one"), ("b", "two"), ("c", "two")] {
        ok(&cli(cfg.path())
            .args(["profiles", "add", name, &redis.url(), "--group", group])
            .output()
            .expect("add"));
    }
    let exporter = Exporter::start(
        cfg.path(),
        &["--listen", "0.0.0.0:0", "--group", "two"],
        &[],
    );
    assert!(exporter.stderr.contains("warning"), "{}", exporter.stderr);
    assert!(
        exporter.stderr.contains("not a loopback address"),
        "{}",
        exporter.stderr
    );
    let (_, body) = exporter.get("/metrics", "text/plain");
    promtool(&body);
    assert!(!body.contains("profile=\"a\""));
    assert!(body.contains("profile=\"b\"") && body.contains("profile=\"c\""));
    // /scrape still reads any saved profile.
    let (_, one) = exporter.get("/scrape?target=a", "text/plain");
    assert!(one.contains("profile=\"a\""));

    let by_name = Exporter::start(
        cfg.path(),
        &["--listen", "127.0.0.1:0", "--profile", "a"],
        &[],
    );
    let (_, body) = by_name.get("/metrics", "text/plain");
    assert!(body.contains("profile=\"a\"") && !body.contains("profile=\"b\""));

    // Unknown names are refused before listening.
    let out = cli(cfg.path())
        .args(["exporter", "--profile", "nosuch"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no profile named `nosuch`"));
    let out = cli(cfg.path())
        .args(["exporter", "--listen", "localhost"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_exporter_gives_each_primary_of_a_cluster_and_the_primary_a_sentinel_names() {
    let cluster = common::cluster::RedisCluster::start();
    let group = common::sentinel::SentinelGroup::start();
    let mut c = cluster.client();
    for i in 0..30 {
        redis::cmd("SET")
            .arg(format!("k:{i}"))
            .arg(i)
            .query::<()>(&mut c)
            .expect("set");
    }
    let cfg = config_dir();
    for (name, url) in [("cluster", cluster.url()), ("sentinel", group.url())] {
        ok(&cli(cfg.path())
            .args(["profiles", "add", name, &url])
            .output()
            .expect("add"));
    }
    let exporter = Exporter::start(cfg.path(), &["--listen", "127.0.0.1:0"], &[]);
    let (_, body) = exporter.get("/scrape?target=cluster", "text/plain");
    promtool(&body);
    let up: Vec<&str> = body
        .lines()
        .filter(|l| l.starts_with("cache_console_up{profile=\"cluster\""))
        .collect();
    assert_eq!(up.len(), 3, "one series a primary: {body}");
    assert!(up.iter().all(|l| l.ends_with(" 1.0")), "{body}");
    let keys: f64 = body
        .lines()
        .filter(|l| l.starts_with("cache_console_keys{profile=\"cluster\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert!(
        (keys - 30.0).abs() < 0.5,
        "the primaries' keys add up to 30: {body}"
    );
    assert_eq!(
        value(&body, "cache_console_profile_up{profile=\"cluster\"}"),
        Some(1.0)
    );

    let (_, body) = exporter.get("/scrape?target=sentinel", "text/plain");
    promtool(&body);
    // One series under the group's name: it stays the same across a failover.
    let up: Vec<&str> = body
        .lines()
        .filter(|l| l.starts_with("cache_console_up{profile=\"sentinel\""))
        .collect();
    assert_eq!(up.len(), 1, "{body}");
    assert!(
        up[0].contains("mymaster") && up[0].ends_with(" 1.0"),
        "{body}"
    );
    assert!(
        body.lines()
            .any(|l| l.starts_with("cache_console_info{profile=\"sentinel\"")
                && l.contains("role=\"master\"")),
        "{body}"
    );
}
