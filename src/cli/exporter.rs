//! `cache-console exporter`: the fleet's figures for Prometheus. `/metrics` reads every chosen
//! profile; `/scrape?target=NAME` reads one saved profile (the multi-target pattern of
//! `redis_exporter`). Each request reads the servers then (bounded in time and in how many at
//! once, as the fleet view does), so `up` is as fresh as the scrape and the hit ratio is over
//! the interval since the profile's previous scrape.
//!
//! The answer is Prometheus' text format 0.0.4, or `OpenMetrics` when the scraper asks for it,
//! encoded by `prometheus-client`. Only GET and HEAD are answered; requests are bounded in
//! size and time, and connections in number.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::sync::Mutex;

use super::Failure;
use crate::backend::fleet::{FleetTarget, Limits, Sampler};
use crate::config::profiles::{Profile, ProfileStore};
use crate::core::fleet::{FleetRow, Health};

/// Arguments of `exporter`.
#[derive(Debug, clap::Args)]
pub struct ExporterArgs {
    /// Where to listen. Loopback unless told otherwise: the figures name your servers.
    #[arg(long, default_value = "127.0.0.1:9150", value_name = "ADDR:PORT")]
    pub listen: String,
    /// Serve this profile on `/metrics` (repeat for more; with no `--profile` or `--group`,
    /// every saved profile).
    #[arg(long = "profile", value_name = "NAME")]
    pub profiles: Vec<String>,
    /// Serve the profiles of this group on `/metrics` (repeat for more).
    #[arg(long = "group", value_name = "NAME")]
    pub groups: Vec<String>,
    /// The most time one profile may take to answer, connecting included.
    #[arg(long, default_value_t = 3000, value_name = "MS")]
    pub timeout_ms: u64,
    /// The most profiles read at once.
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub concurrency: usize,
}

/// The most connections served at once; more wait for one to end.
const MAX_CONNECTIONS: usize = 64;
/// How long a client may take to send its request's head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// The most bytes of a request's head read.
const MAX_HEAD_BYTES: usize = 16 * 1024;

/// Which profiles `/metrics` serves.
struct Selection {
    profiles: Vec<String>,
    groups: Vec<String>,
}

impl Selection {
    fn chosen(&self, profile: &Profile) -> bool {
        (self.profiles.is_empty() && self.groups.is_empty())
            || self.profiles.contains(&profile.name)
            || profile
                .group
                .as_ref()
                .is_some_and(|g| self.groups.contains(g))
    }
}

/// The saved profiles, read again when the file changes.
struct Profiles {
    path: PathBuf,
    modified: Option<SystemTime>,
    list: Vec<Profile>,
}

impl Profiles {
    fn load() -> Result<Self, Failure> {
        let loaded = ProfileStore::load_default().map_err(Failure::error)?;
        if let Some(warning) = loaded.warning {
            return Err(Failure::error(warning));
        }
        let path = loaded.store.path().to_path_buf();
        Ok(Self {
            modified: modified(&path),
            list: loaded.store.profiles().to_vec(),
            path,
        })
    }

    /// Reads the file again if it changed since (its modification time, looked at on each
    /// scrape; the file is read only then); a damaged file keeps the last good list.
    async fn refresh(&mut self) {
        let (path, known) = (self.path.clone(), self.modified);
        let Ok(Some((now, loaded))) = tokio::task::spawn_blocking(move || {
            let now = modified(&path);
            (now != known).then(|| (now, path.parent().map(ProfileStore::load_from)))
        })
        .await
        else {
            return;
        };
        self.modified = now;
        match loaded {
            Some(loaded) if loaded.warning.is_none() => {
                self.list = loaded.store.profiles().to_vec();
            }
            Some(loaded) => tracing::warn!("profiles not reloaded: {:?}", loaded.warning),
            None => {}
        }
    }
}

fn modified(path: &std::path::Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// What the server keeps between requests.
struct Exporter {
    sampler: Sampler,
    selection: Selection,
    /// The saved profiles and each profile's row: one scrape at a time reads and updates
    /// them, so every hit ratio is over the interval since that profile's previous scrape.
    state: Mutex<(Profiles, HashMap<String, FleetRow>)>,
}

/// Runs the exporter until it is stopped.
pub(super) fn run(args: &ExporterArgs) -> Result<(), Failure> {
    let listen: SocketAddr = args.listen.parse().map_err(|_| {
        Failure::usage(format!(
            "--listen `{}`: give an address and port, such as 127.0.0.1:9150",
            args.listen
        ))
    })?;
    if args.concurrency == 0 || args.timeout_ms == 0 {
        return Err(Failure::usage(
            "--concurrency and --timeout-ms must be above 0",
        ));
    }
    let profiles = Profiles::load()?;
    let selection = Selection {
        profiles: args.profiles.clone(),
        groups: args.groups.clone(),
    };
    check_selection(&selection, &profiles.list)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::error(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async move {
        let stores = Arc::new(super::secrets::stores()?);
        let needs_vault = profiles
            .list
            .iter()
            .filter(|p| selection.chosen(p))
            .any(|p| {
                crate::config::secrets::stored_slots(p)
                    .iter()
                    .any(|(_, s)| *s == crate::config::secrets::StoreKind::Vault)
            });
        if needs_vault {
            super::secrets::unlock_vault(&stores).await?;
        }
        let limits = Limits {
            timeout: Duration::from_millis(args.timeout_ms),
            concurrency: args.concurrency,
        };
        let chosen = profiles.list.iter().filter(|p| selection.chosen(p)).count();
        let exporter = Arc::new(Exporter {
            sampler: Sampler::new(Some(stores), limits),
            selection,
            state: Mutex::new((profiles, HashMap::new())),
        });
        serve(listen, exporter, chosen).await
    })
}

fn check_selection(selection: &Selection, profiles: &[Profile]) -> Result<(), Failure> {
    for name in &selection.profiles {
        if !profiles.iter().any(|p| &p.name == name) {
            return Err(Failure::usage(format!("no profile named `{name}`")));
        }
    }
    for group in &selection.groups {
        if !profiles.iter().any(|p| p.group.as_ref() == Some(group)) {
            return Err(Failure::usage(format!("no profile in group `{group}`")));
        }
    }
    Ok(())
}

async fn serve(listen: SocketAddr, exporter: Arc<Exporter>, chosen: usize) -> Result<(), Failure> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| Failure::error(format!("cannot listen on {listen}: {e}")))?;
    let bound = listener.local_addr().unwrap_or(listen);
    if !bound.ip().is_loopback() {
        eprintln!(
            "cache-console: warning: {bound} is not a loopback address: other machines can \
             read these figures, which name your servers, and make this exporter connect to them"
        );
    }
    eprintln!(
        "cache-console: serving {chosen} profile(s) on http://{bound}/metrics \
         (one profile: /scrape?target=NAME)"
    );
    let permits = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait a moment rather than spin.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return Ok(());
        };
        let exporter = exporter.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let exporter = exporter.clone();
                async move { Ok::<_, std::convert::Infallible>(answer(&exporter, &request).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEAD_TIMEOUT)
                .max_buf_size(MAX_HEAD_BYTES)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
            drop(permit);
        });
    }
}

fn reply(status: StatusCode, content_type: &str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    if let Ok(value) = hyper::header::HeaderValue::from_str(content_type) {
        response
            .headers_mut()
            .insert(hyper::header::CONTENT_TYPE, value);
    }
    response
}

fn text(status: StatusCode, body: impl Into<String>) -> Response<Full<Bytes>> {
    reply(status, "text/plain; charset=utf-8", body.into())
}

const INDEX: &str = "<html><head><title>Cache Console exporter</title></head><body>\
<h1>Cache Console exporter</h1><p><a href=\"/metrics\">/metrics</a>: every chosen profile. \
<code>/scrape?target=PROFILE</code>: one saved profile.</p></body></html>\n";

async fn answer(exporter: &Exporter, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "only GET is served\n");
        response.headers_mut().insert(
            hyper::header::ALLOW,
            hyper::header::HeaderValue::from_static("GET, HEAD"),
        );
        return response;
    }
    let openmetrics = request
        .headers()
        .get_all(hyper::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/openmetrics-text"));
    match request.uri().path() {
        "/" => reply(StatusCode::OK, "text/html; charset=utf-8", INDEX.to_owned()),
        "/metrics" => metrics(exporter, None, openmetrics).await,
        "/scrape" => match target(request.uri().query()) {
            Ok(name) => metrics(exporter, Some(name), openmetrics).await,
            Err(why) => text(StatusCode::BAD_REQUEST, why),
        },
        _ => text(StatusCode::NOT_FOUND, "not found: try /metrics\n"),
    }
}

/// The `target` parameter of a query, percent-decoded.
fn target(query: Option<&str>) -> Result<String, String> {
    let value = query
        .unwrap_or_default()
        .split('&')
        .find_map(|pair| pair.strip_prefix("target="))
        .ok_or("give a profile: /scrape?target=NAME\n")?;
    let value = value.replace('+', " ");
    percent_encoding::percent_decode_str(&value)
        .decode_utf8()
        .map(std::borrow::Cow::into_owned)
        .map_err(|_| "the target is not UTF-8\n".to_owned())
}

async fn metrics(
    exporter: &Exporter,
    one: Option<String>,
    openmetrics: bool,
) -> Response<Full<Bytes>> {
    let mut state = exporter.state.lock().await;
    let (profiles, rows) = &mut *state;
    profiles.refresh().await;
    let chosen: Vec<Profile> = match &one {
        Some(name) => match profiles.list.iter().find(|p| &p.name == name) {
            Some(profile) => vec![profile.clone()],
            None => {
                return text(
                    StatusCode::NOT_FOUND,
                    format!("no profile named `{name}`\n"),
                );
            }
        },
        None => profiles
            .list
            .iter()
            .filter(|p| exporter.selection.chosen(p))
            .cloned()
            .collect(),
    };
    for profile in &chosen {
        let kind = profile.connection.kind_label();
        let address = profile.connection.display_url();
        let row = rows.entry(profile.name.clone()).or_insert_with(|| {
            FleetRow::new(&profile.name, profile.group.as_deref(), kind, &address)
        });
        row.group.clone_from(&profile.group);
    }
    if one.is_none() {
        let keep: Vec<&str> = profiles.list.iter().map(|p| p.name.as_str()).collect();
        rows.retain(|name, _| keep.contains(&name.as_str()));
        exporter.sampler.retain(&keep);
    }
    let targets = chosen.iter().cloned().map(FleetTarget::new).collect();
    let mut readings = exporter.sampler.round(targets);
    while let Some((profile, reading)) = readings.recv().await {
        if let Some(row) = rows.get_mut(&profile) {
            if let Err(e) = &reading.result {
                tracing::warn!("profile `{profile}`: {e}");
            }
            row.update(reading);
        }
    }
    let shown: Vec<&FleetRow> = chosen.iter().filter_map(|p| rows.get(&p.name)).collect();
    let (body, content_type) = encode(&shown, openmetrics);
    reply(StatusCode::OK, content_type, body)
}

type Labels = Vec<(String, String)>;
type FloatGauge = Family<Labels, Gauge<f64, AtomicU64>>;
type Total = Family<Labels, Counter<u64>>;

/// The text of every row's figures, and its content type.
fn encode(rows: &[&FleetRow], openmetrics: bool) -> (String, &'static str) {
    let registry = registry(rows);
    let mut body = String::new();
    if openmetrics {
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut body, &registry);
        (
            body,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )
    } else {
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut body, &registry);
        (body, "text/plain; version=0.0.4; charset=utf-8")
    }
}

/// Registers a gauge family and hands it back.
fn gauge(registry: &mut Registry, name: &str, help: &str) -> FloatGauge {
    let family = FloatGauge::default();
    registry.register(name, help, family.clone());
    family
}

fn total(registry: &mut Registry, name: &str, help: &str) -> Total {
    let family = Total::default();
    registry.register(name, help, family.clone());
    family
}

/// The gauges of one server's figures, by name: each is set where the server has a value.
struct Gauges {
    up: FloatGauge,
    info: FloatGauge,
    hit_ratio: FloatGauge,
    memory_used: FloatGauge,
    memory_max: FloatGauge,
    keys: FloatGauge,
    clients: FloatGauge,
    lag: FloatGauge,
    uptime: FloatGauge,
    value_bytes: FloatGauge,
    expired_entries: FloatGauge,
}

struct Totals {
    evicted: Total,
    expired: Total,
    commands: Total,
    hits: Total,
    misses: Total,
    net_in: Total,
    net_out: Total,
}

fn families(registry: &mut Registry) -> (Gauges, Totals) {
    let gauges = Gauges {
        up: gauge(
            registry,
            "cache_console_up",
            "1 when the server answered this scrape, 0 when it did not",
        ),
        info: gauge(
            registry,
            "cache_console_info",
            "Always 1: the server's kind, version and replication role as labels",
        ),
        hit_ratio: gauge(
            registry,
            "cache_console_hit_ratio",
            "Lookups that found their key over all lookups, 0 to 1, since the profile's previous scrape (absent on its first)",
        ),
        memory_used: gauge(
            registry,
            "cache_console_memory_used_bytes",
            "Memory used by data, bytes",
        ),
        memory_max: gauge(
            registry,
            "cache_console_memory_max_bytes",
            "The memory limit, bytes (absent when there is none)",
        ),
        keys: gauge(registry, "cache_console_keys", "Keys or entries held"),
        clients: gauge(
            registry,
            "cache_console_connected_clients",
            "Client connections open",
        ),
        lag: gauge(
            registry,
            "cache_console_replication_lag_seconds",
            "A primary's slowest replica, or a replica's silence from its primary, seconds",
        ),
        uptime: gauge(
            registry,
            "cache_console_uptime_seconds",
            "Seconds since the server started",
        ),
        value_bytes: gauge(
            registry,
            "cache_console_value_bytes",
            "Bytes of stored values (SQL and file caches)",
        ),
        expired_entries: gauge(
            registry,
            "cache_console_expired_entries",
            "Entries past their expiry still stored (SQL and file caches)",
        ),
    };
    let totals = Totals {
        evicted: total(
            registry,
            "cache_console_evicted_keys",
            "Keys evicted for memory since the server started",
        ),
        expired: total(
            registry,
            "cache_console_expired_keys",
            "Keys removed on expiry since the server started",
        ),
        commands: total(
            registry,
            "cache_console_commands",
            "Commands processed since the server started",
        ),
        hits: total(
            registry,
            "cache_console_keyspace_hits",
            "Lookups that found their key since the server started",
        ),
        misses: total(
            registry,
            "cache_console_keyspace_misses",
            "Lookups that missed since the server started",
        ),
        net_in: total(
            registry,
            "cache_console_net_input_bytes",
            "Bytes received since the server started",
        ),
        net_out: total(
            registry,
            "cache_console_net_output_bytes",
            "Bytes sent since the server started",
        ),
    };
    (gauges, totals)
}

#[allow(clippy::cast_precision_loss)] // figures far below 2^52
fn registry(rows: &[&FleetRow]) -> Registry {
    let mut registry = Registry::default();
    let (g, t) = families(&mut registry);
    let profile_up = gauge(
        &mut registry,
        "cache_console_profile_up",
        "1 when every server of the profile answered this scrape",
    );
    let took = gauge(
        &mut registry,
        "cache_console_scrape_duration_seconds",
        "How long reading the profile took",
    );
    for row in rows {
        let profile = vec![("profile".to_owned(), row.profile.clone())];
        profile_up
            .get_or_create(&profile)
            .set(if row.health == Health::Up { 1.0 } else { 0.0 });
        if let Some(ms) = row.took_ms {
            took.get_or_create(&profile).set(ms as f64 / 1000.0);
        }
        if row.servers.is_empty() {
            // Never read, or a cache with no figures of its own (DreamFactory's API answers,
            // and says nothing more): one series under its address.
            let labels = labels(row, &row.address);
            let up = if row.health == Health::Up { 1.0 } else { 0.0 };
            g.up.get_or_create(&labels).set(up);
            continue;
        }
        for server in &row.servers {
            let labels = labels(row, &server.server);
            let raw = &server.raw;
            g.up.get_or_create(&labels)
                .set(if raw.error.is_none() { 1.0 } else { 0.0 });
            if raw.error.is_some() {
                continue;
            }
            let mut info = labels.clone();
            info.push(("kind".to_owned(), row.kind.clone()));
            info.push((
                "version".to_owned(),
                raw.version.clone().unwrap_or_default(),
            ));
            info.push(("role".to_owned(), raw.role.clone().unwrap_or_default()));
            g.info.get_or_create(&info).set(1.0);
            let f = &server.figures;
            let set = |family: &FloatGauge, v: Option<f64>| {
                if let Some(v) = v.filter(|v| v.is_finite()) {
                    family.get_or_create(&labels).set(v);
                }
            };
            set(&g.hit_ratio, f.hit_rate.map(|pct| pct / 100.0));
            set(&g.memory_used, raw.used_memory.map(|v| v as f64));
            set(
                &g.memory_max,
                raw.max_memory.filter(|m| *m > 0).map(|v| v as f64),
            );
            set(&g.keys, raw.keys.map(|v| v as f64));
            set(&g.clients, raw.clients.map(|v| v as f64));
            set(&g.lag, raw.repl_lag_secs);
            set(&g.uptime, raw.uptime_secs.map(|v| v as f64));
            set(&g.value_bytes, raw.total_size.map(|v| v as f64));
            set(&g.expired_entries, raw.expired_entries.map(|v| v as f64));
            for (family, v) in [
                (&t.evicted, raw.evicted),
                (&t.expired, raw.expired),
                (&t.commands, raw.commands),
                (&t.hits, raw.hits),
                (&t.misses, raw.misses),
                (&t.net_in, raw.net_in),
                (&t.net_out, raw.net_out),
            ] {
                if let Some(v) = v {
                    family.get_or_create(&labels).inc_by(v);
                }
            }
        }
    }
    registry
}

fn labels(row: &FleetRow, server: &str) -> Labels {
    vec![
        ("profile".to_owned(), row.profile.clone()),
        ("server".to_owned(), server.to_owned()),
    ]
}

#[cfg(test)]
mod tests {
    use super::target;

    #[test]
    fn the_target_is_read_from_the_query_and_decoded() {
        assert_eq!(target(Some("target=prod%20eu")).as_deref(), Ok("prod eu"));
        assert_eq!(target(Some("a=1&target=x+y")).as_deref(), Ok("x y"));
        assert!(target(Some("nothing=1")).is_err());
        assert!(target(None).is_err());
        assert!(target(Some("target=%FF")).is_err());
    }
}
