//! DreamFactory's cache API (`/api/v2/{service}`) as a backend: one cache service of an
//! instance, reached over HTTP(S) with an API key, when the Redis or memcached behind it is
//! out of reach.
//!
//! What the API allows is all this backend claims: a key is read, created, replaced or
//! deleted by name, the service flushed; nothing lists keys or tells a key's TTL. Both request
//! forms are spoken: DreamFactory's own (`df-cache`: the key in the path, `PUT` to replace,
//! `?ttl=` and `?forever=`), and the documented body form (`POST {"key", "value", "ttl"}`)
//! for an instance that answers 405 to the first. Nothing that could store twice is sent
//! twice: a request is repeated in the other form only after a 405 or 404, which stored
//! nothing.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use reqwest::{Method, StatusCode};

use super::net::Dialer;
use super::{
    BackendError, BackendResult, CacheBackend, Capabilities, clamped_range, key_not_found,
    whole_string_page,
};
use crate::config::connection::{DreamFactorySpec, Secret};
use crate::core::escape::escape_bytes;
use crate::core::model::{
    DbInfo, DumpedKey, Expect, KeyDetails, KeyMeta, KeyType, NewValue, PageCursor, ScanPage,
    ScanRequest, Ttl, TtlChange, ValuePage, WriteOp, WriteOutcome,
};

/// The largest answer read (a value, or an error page): a cache value beyond this is refused
/// rather than held in memory whole.
const MAX_BODY: usize = 64 * 1024 * 1024;

/// The most value kinds remembered (what each key read held: text or a structure).
const MAX_KINDS: usize = 10_000;

/// How a value travels: a string as `text/plain`, a structure (array, object) as JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Json,
}

/// What the server answered.
struct Reply {
    status: StatusCode,
    json: bool,
    body: Vec<u8>,
}

/// One cache service of a DreamFactory instance.
pub struct DreamFactoryBackend {
    http: reqwest::Client,
    /// `…/api/v2/{service}`.
    service_url: url::Url,
    endpoint: String,
    headers: reqwest::header::HeaderMap,
    capabilities: Capabilities,
    command_timeout_ms: u64,
    /// What each key read last held, so a save sends it back as the same kind.
    kinds: Mutex<HashMap<Bytes, Kind>>,
    /// The instance answered 405 to a key in the path: it speaks the documented body form.
    body_form: AtomicBool,
    /// The local end of the SSH tunnel the client connects to, while it is in use.
    _tunnel_socket: Option<super::ssh::LocalSocket>,
}

impl DreamFactoryBackend {
    /// Opens the service: builds the client (TLS with the CA file or the system's roots),
    /// then asks the service's root once, which stores nothing, to check the service exists
    /// and the API key is taken.
    ///
    /// # Errors
    /// The instance cannot be reached, refuses the key, or has no such service.
    pub async fn connect(
        spec: &DreamFactorySpec,
        api_key: Option<&Secret>,
        dialer: Dialer,
    ) -> BackendResult<Self> {
        let token = session_token(spec)?;
        let backend = Self::unprobed(spec, api_key, token.as_ref(), dialer).await?;
        backend.probe().await?;
        Ok(backend)
    }

    /// The service's client and headers, nothing sent yet.
    async fn unprobed(
        spec: &DreamFactorySpec,
        api_key: Option<&Secret>,
        session_token: Option<&Secret>,
        dialer: Dialer,
    ) -> BackendResult<Self> {
        let base = base_url(spec)?;
        let mut service_url = base.clone();
        service_url
            .path_segments_mut()
            .map_err(|()| BackendError::Config(format!("`{}` cannot hold a path", spec.base_url)))?
            .push(&spec.service);
        let (http, tunnel_socket) = client(spec, &base, dialer).await?;
        Ok(Self {
            http,
            service_url,
            endpoint: spec.endpoint(),
            headers: headers(api_key, session_token)?,
            capabilities: capabilities(),
            command_timeout_ms: spec.command_timeout_ms,
            kinds: Mutex::new(HashMap::new()),
            body_form: AtomicBool::new(false),
            _tunnel_socket: tunnel_socket,
        })
    }

    /// Asks the service's root: df-cache answers 400 (no key given), others 200 or 405. A 404
    /// means there is no such service; 401 and 403 a key that is not taken.
    async fn probe(&self) -> BackendResult<()> {
        let reply = self.send(Method::GET, None, &[], None).await?;
        // A gateway's error page: the address is right, DreamFactory behind it is not answering.
        if matches!(reply.status.as_u16(), 502 | 504) {
            return Err(self.status_error(&Method::GET, None, &reply));
        }
        // DreamFactory answers JSON (its error body included) to a client that accepts it; a
        // web page is something else at that address.
        if !reply.json {
            return Err(BackendError::Config(format!(
                "{} did not answer as DreamFactory does (HTTP {}, {}). Check the URL: it is \
                 the instance's address, then /api/v2/ and the cache service's name",
                self.endpoint,
                reply.status.as_u16(),
                server_message(&reply.body)
            )));
        }
        match reply.status.as_u16() {
            200..=299 | 400 | 405 => Ok(()),
            404 => Err(BackendError::Config(format!(
                "{} has no service of that name (404: {}). Check the service name: it is the \
                 name in DreamFactory's Services list",
                self.endpoint,
                server_message(&reply.body)
            ))),
            _ => Err(self.status_error(&Method::GET, None, &reply)),
        }
    }

    /// The URL of one key: its `/`-separated parts as path segments, each escaped.
    fn key_url(&self, key: &[u8]) -> BackendResult<url::Url> {
        let text = std::str::from_utf8(key).map_err(|_| {
            BackendError::Invalid(format!(
                "`{}` is not UTF-8 text: a key reached through the HTTP API must be",
                escape_bytes(key)
            ))
        })?;
        let parts: Vec<&str> = text.split('/').collect();
        if text.is_empty()
            || parts
                .iter()
                .any(|p| p.is_empty() || *p == "." || *p == "..")
        {
            return Err(BackendError::Invalid(format!(
                "`{}` cannot be sent as a path: through the API a key may not be empty, start \
                 or end with `/`, hold `//`, or have a `.` or `..` part",
                escape_bytes(key)
            )));
        }
        let mut url = self.service_url.clone();
        url.path_segments_mut()
            .map_err(|()| BackendError::Internal("the service URL has no path".to_owned()))?
            .extend(parts);
        Ok(url)
    }

    /// Sends one request and reads its answer (bounded). Network failures and timeouts become
    /// errors here; a status is the caller's to read.
    async fn send(
        &self,
        method: Method,
        key: Option<&[u8]>,
        query: &[(&str, String)],
        body: Option<(Kind, Bytes)>,
    ) -> BackendResult<Reply> {
        let mut url = match key {
            Some(key) => self.key_url(key)?,
            None => self.service_url.clone(),
        };
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        let mut request = self
            .http
            .request(method, url)
            .headers(self.headers.clone())
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some((kind, bytes)) = body {
            let content_type = match kind {
                Kind::Text => "text/plain; charset=utf-8",
                Kind::Json => "application/json",
            };
            request = request
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(bytes);
        }
        let response = request.send().await.map_err(|e| self.network_error(&e))?;
        let status = response.status();
        let json = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().contains("json"));
        let body = read_bounded(response)
            .await
            .map_err(|e| e.unwrap_or_else(|e| self.network_error(&e)))?;
        Ok(Reply { status, json, body })
    }

    fn network_error(&self, e: &reqwest::Error) -> BackendError {
        network_error(e, &self.endpoint, self.command_timeout_ms)
    }

    /// One message per status, saying what to do.
    fn status_error(&self, method: &Method, key: Option<&[u8]>, reply: &Reply) -> BackendError {
        let said = server_message(&reply.body);
        let code = reply.status.as_u16();
        match code {
            401 => BackendError::Auth {
                target: self.endpoint.clone(),
                reason: format!("HTTP 401, the API key is missing or not valid here ({said})"),
            },
            403 => BackendError::Auth {
                target: self.endpoint.clone(),
                reason: format!(
                    "HTTP 403, the API key's role may not {method} this service ({said}); give \
                     the role access to it in DreamFactory's admin (Roles)"
                ),
            },
            404 if key.is_some() => key_not_found(key.unwrap_or_default()),
            405 => BackendError::Unsupported(format!(
                "this DreamFactory does not accept {method} here (405: {said})"
            )),
            429 => BackendError::Server {
                command: method.to_string(),
                reason: format!(
                    "HTTP 429, too many requests: the API key's rate limit was reached; wait and \
                     try again ({said})"
                ),
            },
            503 => BackendError::Server {
                command: method.to_string(),
                reason: format!(
                    "HTTP 503, the cache behind the API is unreachable: check the Redis or \
                     memcached server of this service in DreamFactory ({said})"
                ),
            },
            400 => BackendError::Invalid(format!(
                "the API refused the request (400): {said}. Check the key and the value"
            )),
            502 | 504 => BackendError::Server {
                command: method.to_string(),
                reason: format!(
                    "HTTP {code}, the web server in front of DreamFactory got no answer from \
                     it: check that DreamFactory (PHP-FPM) is running ({said})"
                ),
            },
            500..=599 => BackendError::Server {
                command: method.to_string(),
                reason: format!(
                    "HTTP {code}, DreamFactory failed: its log (storage/logs) says why ({said})"
                ),
            },
            _ => BackendError::Server {
                command: method.to_string(),
                reason: format!("HTTP {code}: {said}"),
            },
        }
    }

    /// Reads one key: its value as bytes (a string as it is, a structure as JSON text), and
    /// which it was; `None` when it is not there.
    async fn get(&self, key: &[u8]) -> BackendResult<Option<(Bytes, Kind)>> {
        let reply = self.send(Method::GET, Some(key), &[], None).await?;
        if reply.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !reply.status.is_success() {
            return Err(self.status_error(&Method::GET, Some(key), &reply));
        }
        let (value, kind) = value_of(reply);
        self.remember(key, kind);
        Ok(Some((value, kind)))
    }

    fn remember(&self, key: &[u8], kind: Kind) {
        if let Ok(mut kinds) = self.kinds.lock() {
            if kinds.len() >= MAX_KINDS && !kinds.contains_key(key) {
                kinds.clear();
            }
            kinds.insert(Bytes::copy_from_slice(key), kind);
        }
    }

    fn kind_of(&self, key: &[u8]) -> Kind {
        self.kinds
            .lock()
            .ok()
            .and_then(|k| k.get(key).copied())
            .unwrap_or(Kind::Text)
    }

    /// Stores a value: `create` refuses a key that exists (POST), otherwise it is replaced
    /// (PUT). `Ok(false)` when a create found the key there.
    async fn store(
        &self,
        key: &[u8],
        value: Bytes,
        kind: Kind,
        ttl: TtlChange,
        create: bool,
    ) -> BackendResult<bool> {
        storable(key, &value, kind)?;
        let ttl = ttl_secs(ttl)?;
        if !self.body_form.load(Ordering::Relaxed) {
            let method = if create { Method::POST } else { Method::PUT };
            let query: Vec<(&str, String)> = match ttl {
                StoreTtl::Default => Vec::new(),
                StoreTtl::Forever => vec![("forever", "true".to_owned())],
                StoreTtl::Secs(s) => vec![("ttl", s.to_string())],
            };
            let reply = self
                .send(
                    method.clone(),
                    Some(key),
                    &query,
                    Some((kind, value.clone())),
                )
                .await?;
            // df-cache answers these forms with 2xx or 400, never 404 or 405 (the probe found
            // the service): either means this instance has no such route.
            if !matches!(
                reply.status,
                StatusCode::METHOD_NOT_ALLOWED | StatusCode::NOT_FOUND
            ) {
                return self.stored(&method, key, kind, &reply);
            }
            // Nothing was stored; this instance takes the documented body form.
            self.body_form.store(true, Ordering::Relaxed);
        }
        if !create && self.get(key).await?.is_some() {
            // The body form only creates: a replace is a delete, then a create.
            self.delete(key).await?;
        }
        let mut body = serde_json::Map::new();
        body.insert(
            "key".to_owned(),
            serde_json::Value::String(String::from_utf8_lossy(key).into_owned()),
        );
        body.insert("value".to_owned(), json_value(&value, kind)?);
        match ttl {
            StoreTtl::Default => {}
            StoreTtl::Forever => {
                body.insert("forever".to_owned(), serde_json::Value::Bool(true));
            }
            StoreTtl::Secs(s) => {
                body.insert("ttl".to_owned(), serde_json::Value::from(s));
            }
        }
        let body = serde_json::to_vec(&serde_json::Value::Object(body))
            .map_err(|e| BackendError::Internal(e.to_string()))?;
        let reply = self
            .send(
                Method::POST,
                None,
                &[],
                Some((Kind::Json, Bytes::from(body))),
            )
            .await?;
        self.stored(&Method::POST, key, kind, &reply)
    }

    fn stored(
        &self,
        method: &Method,
        key: &[u8],
        kind: Kind,
        reply: &Reply,
    ) -> BackendResult<bool> {
        if reply.status.is_success() {
            self.remember(key, kind);
            return Ok(true);
        }
        if *method == Method::POST
            && reply.status == StatusCode::BAD_REQUEST
            && server_message(&reply.body).contains("already exists")
        {
            return Ok(false);
        }
        Err(self.status_error(method, Some(key), reply))
    }

    /// Deletes one key; whether it was there.
    async fn delete(&self, key: &[u8]) -> BackendResult<bool> {
        let reply = self.send(Method::DELETE, Some(key), &[], None).await?;
        match reply.status {
            StatusCode::NOT_FOUND => Ok(false),
            s if s.is_success() => Ok(serde_json::from_slice::<serde_json::Value>(&reply.body)
                .ok()
                .and_then(|v| v.get("success").and_then(serde_json::Value::as_bool))
                .unwrap_or(true)),
            _ => Err(self.status_error(&Method::DELETE, Some(key), &reply)),
        }
    }

    async fn flush(&self) -> BackendResult<WriteOutcome> {
        let reply = self.send(Method::DELETE, None, &[], None).await?;
        if reply.status.is_success() {
            if let Ok(mut kinds) = self.kinds.lock() {
                kinds.clear();
            }
            return Ok(WriteOutcome::Done(0));
        }
        if reply.status == StatusCode::BAD_REQUEST {
            return Err(BackendError::Unsupported(format!(
                "this DreamFactory cannot flush through its API (DELETE {} answered 400: {}); \
                 flush the Redis or memcached server behind it instead",
                self.endpoint,
                server_message(&reply.body)
            )));
        }
        Err(self.status_error(&Method::DELETE, None, &reply))
    }

    fn meta(value: &[u8], kind: Kind) -> KeyMeta {
        KeyMeta {
            key_type: KeyType::String,
            ttl: Ttl::Unknown,
            size_bytes: Some(value.len() as u64),
            server: None,
            idle_secs: None,
            preview: Some(preview(value, kind)),
        }
    }
}

/// `{base}/api/v2`.
fn base_url(spec: &DreamFactorySpec) -> BackendResult<url::Url> {
    let mut url = url::Url::parse(&spec.base_url)
        .map_err(|e| BackendError::Config(format!("base URL `{}`: {e}", spec.base_url)))?;
    url.path_segments_mut()
        .map_err(|()| BackendError::Config(format!("`{}` cannot hold a path", spec.base_url)))?
        .pop_if_empty()
        .extend(["api", "v2"]);
    Ok(url)
}

/// The admin session token, read from the variable the spec names.
fn session_token(spec: &DreamFactorySpec) -> BackendResult<Option<Secret>> {
    spec.session_token_env
        .as_ref()
        .map(|var| {
            std::env::var(var).map(Secret::new).map_err(|_| {
                BackendError::Config(format!(
                    "environment variable `{var}` (the session token) is not set"
                ))
            })
        })
        .transpose()
}

/// The HTTP client: timeouts, no redirects (one could carry the API key to another host), no
/// proxy from the environment, TLS on ring with the CA file or the system's roots; through the
/// SSH tunnel's private local socket when there is one.
async fn client(
    spec: &DreamFactorySpec,
    base: &url::Url,
    dialer: Dialer,
) -> BackendResult<(reqwest::Client, Option<super::ssh::LocalSocket>)> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(Duration::from_millis(spec.connect_timeout_ms.max(1)))
        .timeout(Duration::from_millis(spec.command_timeout_ms.max(1)))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(concat!("cache-console/", env!("CARGO_PKG_VERSION")));
    // Our TLS settings (ring, as everywhere here) even for plain HTTP: without them the client
    // would look for a process-wide crypto provider, and there is none.
    let ca = match &spec.ca_file {
        Some(path) if base.scheme() == "https" => Some(
            super::redis::link::read_ca_file(path)
                .await
                .map_err(|e| BackendError::Config(format!("CA file {}: {e}", path.display())))?,
        ),
        _ => None,
    };
    let tls = super::redis::link::tls_config(ca.as_deref()).map_err(BackendError::Config)?;
    builder = builder.use_preconfigured_tls(tls);
    let tunnel_socket = match dialer {
        Dialer::Direct => None,
        Dialer::Ssh(tunnel) => {
            let host = base.host_str().unwrap_or("localhost").to_owned();
            let port = base.port_or_known_default().unwrap_or(443);
            let socket =
                super::ssh::LocalSocket::start(tunnel, "http.sock", host, port).map_err(|e| {
                    BackendError::Config(format!("cannot make the tunnel's local socket: {e}"))
                })?;
            builder = builder.unix_socket(socket.socket().to_path_buf());
            Some(socket)
        }
    };
    let http = builder
        .build()
        .map_err(|e| BackendError::Config(format!("HTTP client: {}", error_chain(&e))))?;
    Ok((http, tunnel_socket))
}

/// A cache service an instance lists, and the profiles it can be reached by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundService {
    /// Its name (`/api/v2/{name}`).
    pub name: String,
    /// Its label in DreamFactory's admin.
    pub label: String,
    /// Its type: `cache_redis`, `cache_memcached`, `cache_local`.
    pub kind: String,
    /// Through the API, with the same instance, key and token.
    pub api: DreamFactorySpec,
    /// Straight to its Redis or memcached, where the service's config says where that is
    /// (and a password is asked for when the config says there is one).
    pub direct: Option<crate::config::connection::ConnectionSpec>,
}

/// The cache services of an instance (`GET /api/v2/system/service`, an admin's session token
/// or an API key whose role may read it): an API profile for each, and a direct one where the
/// service's config says where its Redis or memcached is.
///
/// # Errors
/// The instance cannot be reached, or refuses (an admin session is needed).
pub async fn discover(
    spec: &DreamFactorySpec,
    api_key: Option<&Secret>,
    session_token: Option<&Secret>,
) -> BackendResult<Vec<FoundService>> {
    let token = match session_token {
        Some(token) => Some(token.clone()),
        None => self::session_token(spec)?,
    };
    // The instance's `system` service, asked through the same client as any service.
    let system_spec = DreamFactorySpec {
        service: "system".to_owned(),
        ..spec.clone()
    };
    let system =
        DreamFactoryBackend::unprobed(&system_spec, api_key, token.as_ref(), Dialer::Direct)
            .await?;
    let reply = system
        .send(Method::GET, Some(b"service"), &[], None)
        .await?;
    match reply.status.as_u16() {
        200..=299 => {}
        401 | 403 => {
            return Err(BackendError::Auth {
                target: system.endpoint.clone(),
                reason: format!(
                    "HTTP {}: listing services needs an admin's session token \
                     (?session_token=${{VARIABLE}}) ({})",
                    reply.status.as_u16(),
                    server_message(&reply.body)
                ),
            });
        }
        _ => return Err(system.status_error(&Method::GET, None, &reply)),
    }
    let body = reply.body;
    let listed: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| BackendError::Server {
            command: "GET system/service".to_owned(),
            reason: format!("the answer is not JSON: {e}"),
        })?;
    let records = listed
        .get("resource")
        .or_else(|| listed.get("service"))
        .and_then(serde_json::Value::as_array)
        .cloned()
        .unwrap_or_default();
    Ok(records
        .iter()
        .filter_map(|record| found_service(spec, record))
        .collect())
}

/// One listed service, when it is a cache service.
fn found_service(spec: &DreamFactorySpec, record: &serde_json::Value) -> Option<FoundService> {
    use crate::config::connection::{
        ConnectionSpec, MemcachedAddress, MemcachedSpec, PasswordSource, RedisAddress, RedisSpec,
    };
    let text = |v: &serde_json::Value, name: &str| {
        v.get(name).and_then(|x| match x {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    };
    let kind = text(record, "type")?;
    if !kind.starts_with("cache") {
        return None;
    }
    let name = text(record, "name")?;
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !valid {
        return None;
    }
    let config = record.get("config").cloned().unwrap_or_default();
    let host = text(&config, "host").filter(|h| !h.is_empty());
    let port = text(&config, "port").and_then(|p| p.parse::<u16>().ok());
    let direct = match (kind.as_str(), host) {
        ("cache_redis", Some(host)) => {
            // The config's password is masked in the answer: asked for, never copied.
            let has_password = text(&config, "password").is_some_and(|p| !p.is_empty());
            Some(ConnectionSpec::Redis(RedisSpec {
                address: RedisAddress::Tcp {
                    host,
                    port: port.unwrap_or(6379),
                },
                db: text(&config, "database_index")
                    .and_then(|d| d.parse().ok())
                    .unwrap_or(0),
                password: if has_password {
                    PasswordSource::Prompt
                } else {
                    PasswordSource::None
                },
                ..RedisSpec::default()
            }))
        }
        ("cache_memcached", Some(host)) => Some(ConnectionSpec::Memcached(MemcachedSpec {
            servers: vec![MemcachedAddress::Tcp {
                host,
                port: port.unwrap_or(11211),
            }],
            ..MemcachedSpec::default()
        })),
        _ => None,
    };
    Some(FoundService {
        label: text(record, "label").unwrap_or_else(|| name.clone()),
        api: DreamFactorySpec {
            service: name.clone(),
            ..spec.clone()
        },
        name,
        kind,
        direct,
    })
}

/// A network failure or timeout, naming where: the root cause, not the client's wrapping of
/// it (which repeats the URL); a refused certificate says what to do about it.
fn network_error(e: &reqwest::Error, target: &str, timeout_ms: u64) -> BackendError {
    if e.is_timeout() {
        return BackendError::Timeout {
            target: target.to_owned(),
            timeout_ms,
        };
    }
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let reason = cause.to_string();
    if reason.contains("certificate") {
        return BackendError::Config(format!(
            "cannot connect to {target}: its TLS certificate is refused ({reason}). Give the \
             CA that signed it (ca_file=/path/ca.pem in the URL, the profile's CA file) and \
             connect by a host name the certificate names"
        ));
    }
    BackendError::Connect {
        target: target.to_owned(),
        reason,
    }
}

/// An answer's body, at most [`MAX_BODY`] bytes: a larger one is refused as it arrives
/// (`Err(Ok(_))`), a failure while reading is the client's (`Err(Err(_))`).
async fn read_bounded(
    mut response: reqwest::Response,
) -> Result<Vec<u8>, Result<BackendError, reqwest::Error>> {
    if response
        .content_length()
        .is_some_and(|n| n > MAX_BODY as u64)
    {
        return Err(Ok(too_large()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(Err)? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(Ok(too_large()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// What the API allows, and nothing more.
fn capabilities() -> Capabilities {
    Capabilities {
        list_keys: false,
        rename: false,
        structured_values: true,
        server_stats: false,
        listing_note: Some(
            "DreamFactory's cache API cannot list keys: open a key by its name; the keys \
             opened are listed here"
                .to_owned(),
        ),
        ..Capabilities::string_store("DreamFactory cache API")
    }
}

/// The API key and session token headers, marked sensitive (never printed by the client).
fn headers(
    api_key: Option<&Secret>,
    session_token: Option<&Secret>,
) -> BackendResult<reqwest::header::HeaderMap> {
    let mut map = reqwest::header::HeaderMap::new();
    for (name, secret, what) in [
        ("x-dreamfactory-api-key", api_key, "API key"),
        (
            "x-dreamfactory-session-token",
            session_token,
            "session token",
        ),
    ] {
        if let Some(secret) = secret {
            let mut value = reqwest::header::HeaderValue::from_str(secret.expose().trim())
                .map_err(|_| {
                    BackendError::Config(format!(
                        "the {what} holds characters a header cannot carry (a line break?)"
                    ))
                })?;
            value.set_sensitive(true);
            map.insert(reqwest::header::HeaderName::from_static(name), value);
        }
    }
    Ok(map)
}

/// An error and its causes, as one line (the client's top error says little alone).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = cause.source();
    }
    text
}

fn too_large() -> BackendError {
    BackendError::Unsupported(format!(
        "the answer is larger than {} MiB: too large to read through the API here",
        MAX_BODY / (1024 * 1024)
    ))
}

/// The message of a DreamFactory error (`{"error": {"message": …}}`), or the start of the body,
/// on one line.
fn server_message(body: &[u8]) -> String {
    let from_json = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message")
                .or_else(|| v.get("message"))
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        });
    if from_json.is_none() && body.trim_ascii_start().starts_with(b"<") {
        return "a web page, not DreamFactory's answer".to_owned();
    }
    let text = from_json.unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    let line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(300)
        .collect();
    if line.trim().is_empty() {
        "no message".to_owned()
    } else {
        line.trim().to_owned()
    }
}

/// A value as the console holds it: a JSON string's text, any other JSON as its text (a
/// structure); an answer that is not JSON as its bytes.
fn value_of(reply: Reply) -> (Bytes, Kind) {
    if reply.json
        && let Ok(value) = serde_json::from_slice::<serde_json::Value>(&reply.body)
    {
        return match value {
            serde_json::Value::String(text) => (Bytes::from(text.into_bytes()), Kind::Text),
            other => (Bytes::from(other.to_string().into_bytes()), Kind::Json),
        };
    }
    (Bytes::from(reply.body), Kind::Text)
}

/// The value as a JSON value for the body form: a string, or the structure it holds.
fn json_value(value: &[u8], kind: Kind) -> BackendResult<serde_json::Value> {
    match kind {
        Kind::Text => std::str::from_utf8(value)
            .map(|t| serde_json::Value::String(t.to_owned()))
            .map_err(|_| {
                BackendError::Invalid(
                    "this DreamFactory takes values in a JSON body, which holds text only: the \
                     value is not UTF-8"
                        .to_owned(),
                )
            }),
        Kind::Json => serde_json::from_slice(value)
            .map_err(|e| BackendError::Invalid(format!("the value is not valid JSON: {e}"))),
    }
}

/// Refuses what DreamFactory would refuse or mangle, before anything is sent.
fn storable(key: &[u8], value: &[u8], kind: Kind) -> BackendResult<()> {
    // df-cache tests the payload with PHP's `empty()`: "" and "0" are refused with a 400.
    if value.is_empty() || value == b"0" {
        return Err(BackendError::Invalid(format!(
            "DreamFactory's cache API cannot store `{}` as the value of `{}` (it takes an empty \
             value and \"0\" for none)",
            escape_bytes(value),
            escape_bytes(key)
        )));
    }
    if kind == Kind::Json {
        serde_json::from_slice::<serde_json::Value>(value)
            .map_err(|e| BackendError::Invalid(format!("the value is not valid JSON: {e}")))?;
    }
    Ok(())
}

/// How long a stored value lives.
enum StoreTtl {
    /// The service's default TTL (no parameter sent).
    Default,
    Forever,
    Secs(u64),
}

fn ttl_secs(ttl: TtlChange) -> BackendResult<StoreTtl> {
    Ok(match ttl {
        TtlChange::Keep => StoreTtl::Default,
        TtlChange::Persist => StoreTtl::Forever,
        TtlChange::InMs(ms) => StoreTtl::Secs(ms.div_ceil(1000).max(1)),
        TtlChange::AtUnixMs(at) => {
            let now = crate::core::ttl::now_unix_ms();
            if at <= now {
                return Err(BackendError::Invalid(
                    "that moment has passed: give a TTL in the future".to_owned(),
                ));
            }
            StoreTtl::Secs((at - now).div_ceil(1000).max(1))
        }
    })
}

fn preview(value: &[u8], kind: Kind) -> String {
    let text = match kind {
        Kind::Json => String::from_utf8_lossy(value).into_owned(),
        Kind::Text => return super::file::preview(value),
    };
    text.chars().take(60).collect()
}

fn kind_for_new(value: &NewValue) -> BackendResult<(Bytes, Kind)> {
    match value {
        NewValue::String(bytes) => Ok((bytes.clone(), Kind::Text)),
        _ => Err(BackendError::Unsupported(
            "DreamFactory's cache API holds plain values: create a string".to_owned(),
        )),
    }
}

#[async_trait]
impl CacheBackend for DreamFactoryBackend {
    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    fn describe(&self) -> String {
        format!("DreamFactory cache API at {}", self.endpoint)
    }

    async fn databases(&self) -> BackendResult<Vec<DbInfo>> {
        Ok(Vec::new())
    }

    async fn key_count(&self) -> BackendResult<u64> {
        Err(no_listing())
    }

    async fn stats(&self) -> BackendResult<Vec<(String, crate::core::metrics::RawStats)>> {
        Ok(Vec::new())
    }

    async fn scan(&self, _request: &ScanRequest, _cursor: u64) -> BackendResult<ScanPage> {
        Err(no_listing())
    }

    async fn key_meta(&self, keys: &[Bytes]) -> BackendResult<Vec<Option<KeyMeta>>> {
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            out.push(match self.get(key).await {
                Ok(found) => found.map(|(value, kind)| Self::meta(&value, kind)),
                // A name the API cannot carry is simply not there.
                Err(BackendError::Invalid(_)) => None,
                Err(e) => return Err(e),
            });
        }
        Ok(out)
    }

    async fn key_details(&self, key: &[u8]) -> BackendResult<KeyDetails> {
        let (value, kind) = self.get(key).await?.ok_or_else(|| key_not_found(key))?;
        Ok(KeyDetails {
            meta: Self::meta(&value, kind),
            encoding: Some(
                match kind {
                    Kind::Text => "string",
                    Kind::Json => "json (a structure)",
                }
                .to_owned(),
            ),
            length: value.len() as u64,
            extra: vec![
                ("URL".to_owned(), self.key_url(key)?.to_string()),
                (
                    "TTL".to_owned(),
                    "not told by the API; a save without a TTL gets the service's default"
                        .to_owned(),
                ),
            ],
            flags: None,
        })
    }

    async fn read_page(
        &self,
        key: &[u8],
        _key_type: &KeyType,
        cursor: &PageCursor,
        _page_size: u32,
    ) -> BackendResult<ValuePage> {
        let (value, _) = self.get(key).await?.ok_or_else(|| key_not_found(key))?;
        Ok(whole_string_page(cursor, value))
    }

    async fn read_string_range(&self, key: &[u8], offset: u64, len: u64) -> BackendResult<Bytes> {
        let (value, _) = self.get(key).await?.ok_or_else(|| key_not_found(key))?;
        Ok(clamped_range(&value, offset, len))
    }

    async fn write(&self, op: &WriteOp) -> BackendResult<WriteOutcome> {
        match op {
            WriteOp::SetString {
                key,
                value,
                ttl,
                expect,
            } => {
                if *expect != Expect::Any {
                    let current = self.get(key).await?;
                    if !expect.holds(current.as_ref().map(|(v, _)| v.as_ref())) {
                        return Ok(WriteOutcome::Conflict);
                    }
                }
                let kind = self.kind_of(key);
                self.store(key, value.clone(), kind, *ttl, false).await?;
                Ok(WriteOutcome::Done(1))
            }
            WriteOp::SetJson { key, value, ttl } => {
                self.store(key, value.clone(), Kind::Json, *ttl, false)
                    .await?;
                Ok(WriteOutcome::Done(1))
            }
            WriteOp::SetTtl { key, ttl } => {
                let (value, kind) = self.get(key).await?.ok_or_else(|| key_not_found(key))?;
                self.store(key, value, kind, *ttl, false).await?;
                Ok(WriteOutcome::Done(1))
            }
            WriteOp::Create { key, value, ttl } => {
                let (bytes, kind) = kind_for_new(value)?;
                Ok(if self.store(key, bytes, kind, *ttl, true).await? {
                    WriteOutcome::Done(1)
                } else {
                    WriteOutcome::TargetExists
                })
            }
            WriteOp::Delete { keys } => {
                let mut n = 0;
                for key in keys {
                    if self.delete(key).await? {
                        n += 1;
                    }
                }
                Ok(WriteOutcome::Done(n))
            }
            WriteOp::Restore { keys } => {
                let mut restored = 0;
                for k in keys {
                    let kind = self.kind_of(&k.key);
                    let ttl = k
                        .expire_at_unix_ms
                        .map_or(TtlChange::Keep, TtlChange::AtUnixMs);
                    if !self
                        .store(&k.key, k.payload.clone(), kind, ttl, true)
                        .await?
                    {
                        return Err(BackendError::KeyExists {
                            command: format!("restore {}", escape_bytes(&k.key)),
                        });
                    }
                    restored += 1;
                }
                Ok(WriteOutcome::Done(restored))
            }
            WriteOp::FlushDb | WriteOp::FlushAll | WriteOp::Flush { .. } => self.flush().await,
            _ => Err(BackendError::Unsupported(
                "DreamFactory's cache API holds plain values: this edit is not possible here"
                    .to_owned(),
            )),
        }
    }

    async fn dump(&self, keys: &[Bytes]) -> BackendResult<Vec<Option<DumpedKey>>> {
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            out.push(self.get(key).await?.map(|(payload, _)| DumpedKey {
                key: key.clone(),
                payload,
                // The API does not tell: put back, it gets the service's default TTL.
                expire_at_unix_ms: None,
            }));
        }
        Ok(out)
    }
}

fn no_listing() -> BackendError {
    BackendError::Unsupported(
        "DreamFactory's cache API cannot list keys: open a key by its name (a direct Redis or \
         memcached profile of the same cache can list them)"
            .to_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dreamfactory_errors_read_as_their_message() {
        let body =
            br#"{"error":{"code":404,"context":null,"message":"No value found for key [a]"}}"#;
        assert_eq!(server_message(body), "No value found for key [a]");
        assert_eq!(server_message(b"plain\ntext"), "plain text");
        assert_eq!(server_message(b""), "no message");
        assert_eq!(
            server_message("é".repeat(500).as_bytes()).chars().count(),
            300
        );
        assert_eq!(
            server_message(b"  <html><body>404 Not Found</body></html>"),
            "a web page, not DreamFactory's answer"
        );
    }

    #[test]
    fn values_keep_their_kind() {
        let reply = |json: bool, body: &[u8]| Reply {
            status: StatusCode::OK,
            json,
            body: body.to_vec(),
        };
        assert_eq!(
            value_of(reply(true, br#""{\"a\":1}""#)),
            (Bytes::from_static(br#"{"a":1}"#), Kind::Text),
            "a string that looks like JSON stays a string"
        );
        assert_eq!(
            value_of(reply(true, br#"{"a": [1, 2]}"#)),
            (Bytes::from_static(br#"{"a":[1,2]}"#), Kind::Json)
        );
        assert_eq!(value_of(reply(true, b"42")).1, Kind::Json);
        assert_eq!(
            value_of(reply(false, b"raw\xff")),
            (Bytes::from_static(b"raw\xff"), Kind::Text)
        );
    }

    #[test]
    fn what_dreamfactory_would_refuse_is_refused_first() {
        assert!(storable(b"k", b"", Kind::Text).is_err());
        assert!(storable(b"k", b"0", Kind::Text).is_err());
        assert!(storable(b"k", b"00", Kind::Text).is_ok());
        assert!(storable(b"k", b"{broken", Kind::Json).is_err());
        assert!(matches!(
            ttl_secs(TtlChange::InMs(1500)),
            Ok(StoreTtl::Secs(2))
        ));
        assert!(matches!(
            ttl_secs(TtlChange::InMs(1)),
            Ok(StoreTtl::Secs(1))
        ));
        assert!(ttl_secs(TtlChange::AtUnixMs(1)).is_err());
    }
}
