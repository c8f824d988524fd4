//! Connection URLs, both ways: `parse_url` reads every scheme the console speaks (passwords
//! taken out, secrets refused, errors that never quote a secret), and `display_url` prints a
//! spec back as a URL that parses to the same spec and never holds a password.

use std::path::{Path, PathBuf};

use super::{
    ConnectionSpec, DreamFactorySpec, FileSpec, MemcachedAddress, MemcachedSpec, NodeAddress,
    PasswordSource, RedisAddress, RedisSpec, Secret, SqlDialect, SqlSpec, TlsSpec,
    default_sql_command_timeout, default_sql_timeout,
};

/// URL query parameters that carry a secret. They are taken out of the URL like the
/// user-info password, so they never reach a profile, a listing or the audit log.
fn is_secret_param(name: &str) -> bool {
    let name = name.to_ascii_lowercase().replace(['-', '_'], "");
    [
        "password",
        "pass",
        "passwd",
        "pwd",
        "secret",
        "token",
        "passphrase",
        "apikey",
        "auth",
    ]
    .iter()
    .any(|s| name == *s)
        || name.ends_with("password")
        || name.ends_with("secret")
        || name.ends_with("token")
        || name.ends_with("passphrase")
}

impl MemcachedSpec {
    /// `memcached://a:1,b:2` or `memcached+unix:///path`.
    #[must_use]
    pub fn display_url(&self) -> String {
        match self.servers.as_slice() {
            [MemcachedAddress::Unix { path }] => {
                format!("memcached+unix://{}", path_for_url(path))
            }
            servers => format!(
                "memcached://{}",
                servers
                    .iter()
                    .map(MemcachedAddress::label)
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        }
    }
}

impl ConnectionSpec {
    /// A URL for display and for `profiles list`; it never contains a password.
    #[must_use]
    pub fn display_url(&self) -> String {
        match self {
            Self::Redis(spec) => spec.display_url(),
            Self::Memcached(spec) => spec.display_url(),
            Self::File(spec) => match spec.session_lifetime_min {
                Some(minutes) => format!(
                    "file://{}?session_lifetime={minutes}",
                    path_for_url(&spec.dir)
                ),
                None => format!("file://{}", path_for_url(&spec.dir)),
            },
            Self::Sql(spec) => {
                // Only what differs from the defaults, as parameters `parse_url` reads back.
                let mut url = url::Url::parse(&spec.url).map_or_else(
                    |_| spec.url.clone(),
                    |mut u| {
                        {
                            let mut q = u.query_pairs_mut();
                            q.append_pair("table", &spec.table);
                            if let Some(minutes) = spec.session_lifetime_min {
                                q.append_pair("session_lifetime", &minutes.to_string());
                            }
                            if spec.connect_timeout_ms != default_sql_timeout() {
                                q.append_pair(
                                    "connect_timeout_ms",
                                    &spec.connect_timeout_ms.to_string(),
                                );
                            }
                            if spec.command_timeout_ms != default_sql_command_timeout() {
                                q.append_pair(
                                    "command_timeout_ms",
                                    &spec.command_timeout_ms.to_string(),
                                );
                            }
                        }
                        u.to_string()
                    },
                );
                if let PasswordSource::Env(var) = &spec.password {
                    url = with_env_password(&url, var);
                }
                url
            }
            Self::DreamFactory(spec) => spec.display_url(),
        }
    }
}

impl DreamFactorySpec {
    /// `dreamfactory+https://[:${VAR}@]host[:port][/mount]/api/v2/{service}[?…]`: what
    /// [`parse_url`] reads back to this spec; never an API key or token itself.
    #[must_use]
    pub fn display_url(&self) -> String {
        let mut url = format!("dreamfactory+{}", self.endpoint());
        if let PasswordSource::Env(var) = &self.api_key {
            url = with_env_password(&url, var);
        }
        let mut options = Vec::new();
        if let Some(var) = &self.session_token_env {
            options.push(format!("session_token=${{{var}}}"));
        }
        if let Some(ca) = &self.ca_file {
            options.push(format!("ca_file={}", path_for_url(ca)));
        }
        let defaults = Self::default();
        if self.connect_timeout_ms != defaults.connect_timeout_ms {
            options.push(format!("connect_timeout_ms={}", self.connect_timeout_ms));
        }
        if self.command_timeout_ms != defaults.command_timeout_ms {
            options.push(format!("command_timeout_ms={}", self.command_timeout_ms));
        }
        if !options.is_empty() {
            url.push('?');
            url.push_str(&options.join("&"));
        }
        url
    }
}

/// Parses `dreamfactory+https://[:API_KEY@]host[:port][/mount]/api/v2/{service}` (and
/// `dreamfactory+http://`); `None` for other schemes. The API key stands where a password
/// goes (`${VAR}` names a variable); an admin session token is `?session_token=${VAR}`.
fn parse_dreamfactory_url(
    text: &str,
) -> Result<Option<(ConnectionSpec, Option<Secret>)>, UrlError> {
    if !is_dreamfactory(text) {
        return Ok(None);
    }
    let lower = text.to_ascii_lowercase();
    let rest_at = if lower.starts_with("df+") { 3 } else { 13 };
    if !(lower[rest_at..].starts_with("https://") || lower[rest_at..].starts_with("http://")) {
        return Err(UrlError::Scheme(
            text.split("://").next().unwrap_or(text).to_owned(),
        ));
    }
    let inner = &text[rest_at..];
    let (inner, env_ref) = extract_env_ref(inner);
    let url = url::Url::parse(&inner).map_err(|e| UrlError::Invalid(e.to_string()))?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err(UrlError::Invalid(format!("`{text}` names no host")));
    }
    let key = match (url.username(), url.password()) {
        (_, Some(_)) if env_ref.is_some() => None,
        (_, Some(password)) => Some(Secret::new(percent_decode(password))),
        ("", None) => None,
        // `KEY@host`: nothing else could be meant by a user name here.
        (user, None) => Some(Secret::new(percent_decode(user))),
    };
    let mut spec = DreamFactorySpec::default();
    let path = url.path().trim_end_matches('/');
    let Some((mount, service)) = path.rsplit_once("/api/v2/") else {
        return Err(UrlError::Invalid(format!(
            "`{}`: give the cache service's path, like \
             dreamfactory+https://:KEY@df.example.com/api/v2/cache",
            url.path()
        )));
    };
    let service = percent_decode(service);
    if service.is_empty() || service.contains('/') {
        return Err(UrlError::Invalid(format!(
            "`{service}` is not a service name: the path ends with /api/v2/ and the cache \
             service's name"
        )));
    }
    spec.service = service;
    let mut base = url.clone();
    base.set_path(mount);
    base.set_query(None);
    base.set_fragment(None);
    let _ = base.set_username("");
    let _ = base.set_password(None);
    base.as_str()
        .trim_end_matches('/')
        .clone_into(&mut spec.base_url);
    spec.api_key = env_ref.map_or(PasswordSource::None, PasswordSource::Env);
    for (name, value) in url.query_pairs() {
        let millis = |what: &str| {
            value.parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                UrlError::Invalid(format!(
                    "{what} must be a number of milliseconds, not `{value}`"
                ))
            })
        };
        match name.as_ref() {
            "session_token" => match env_name(&value) {
                Some(var) => spec.session_token_env = Some(var.to_owned()),
                None => {
                    return Err(UrlError::Invalid(
                        "the session token is a secret, and a profile never stores one: write \
                         session_token=${VARIABLE} and set that variable"
                            .to_owned(),
                    ));
                }
            },
            "ca" | "ca_file" => spec.ca_file = Some(path_from_url(&value)),
            "connect_timeout_ms" => spec.connect_timeout_ms = millis("connect_timeout_ms")?,
            "timeout_ms" | "command_timeout_ms" => {
                spec.command_timeout_ms = millis("command_timeout_ms")?;
            }
            other if is_secret_param(other) => {
                return Err(UrlError::Invalid(format!(
                    "the `{other}` parameter holds a secret, and a profile never stores one: \
                     put the API key where a password goes (:KEY@ or :${{VARIABLE}}@)"
                )));
            }
            other => {
                return Err(UrlError::Invalid(format!(
                    "unknown parameter `{other}` (DreamFactory URLs take session_token, \
                     ca_file, connect_timeout_ms and command_timeout_ms)"
                )));
            }
        }
    }
    if spec.ca_file.is_some() && base.scheme() != "https" {
        return Err(UrlError::Invalid(
            "ca_file is for HTTPS: use dreamfactory+https://".to_owned(),
        ));
    }
    Ok(Some((ConnectionSpec::DreamFactory(spec), key)))
}

/// Why a URL could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Not a URL at all.
    #[error("not a valid URL: {0}")]
    Invalid(String),
    /// A scheme this console does not speak.
    #[error(
        "unsupported URL scheme `{0}`: use redis://, rediss://, redis+unix://, redis+cluster://, redis+sentinel:// (or rediss+…), memcached://, memcached+unix://, file://, sqlite://, postgres://, mysql://, or dreamfactory+https://"
    )]
    Scheme(String),
    /// A memcached server list entry that is not `host:port`.
    #[error("`{0}` is not a server: write host:port, several separated by commas")]
    Server(String),
    /// The database part of the URL is not a number.
    #[error("database index `{0}` is not a number from 0 to 65535")]
    Db(String),
    /// The password is to be asked for and nobody gave it.
    #[error("this connection needs a password: enter it when connecting")]
    PasswordNeeded,
    /// The environment variable that holds the password is not set.
    #[error("environment variable `{0}` (the password reference) is not set")]
    EnvUnset(String),
    /// The password is remembered in a store, and was not read from it.
    #[error("the password is remembered in {0} and was not read from it")]
    NotLoaded(&'static str),
}

impl UrlError {
    /// The same error with every one of `secrets` masked wherever it quotes them.
    fn redacted(self, secrets: &[String]) -> Self {
        let mask = |text: String| {
            secrets
                .iter()
                .fold(text, |text, secret| text.replace(secret.as_str(), "***"))
        };
        match self {
            Self::Invalid(t) => Self::Invalid(mask(t)),
            Self::Scheme(t) => Self::Scheme(mask(t)),
            Self::Server(t) => Self::Server(mask(t)),
            Self::Db(t) => Self::Db(mask(t)),
            Self::EnvUnset(t) => Self::EnvUnset(mask(t)),
            Self::PasswordNeeded => Self::PasswordNeeded,
            Self::NotLoaded(store) => Self::NotLoaded(store),
        }
    }
}

impl RedisSpec {
    /// `user:${VAR}@`, `user@` or nothing: the user-info of a URL, never a password.
    fn userinfo(&self) -> String {
        let enc = |t: &str| {
            percent_encoding::utf8_percent_encode(t, percent_encoding::NON_ALPHANUMERIC).to_string()
        };
        match (&self.username, &self.password) {
            (Some(user), PasswordSource::Env(var)) => format!("{}:${{{var}}}@", enc(user)),
            (None, PasswordSource::Env(var)) => format!(":${{{var}}}@"),
            (Some(user), _) => format!("{}@", enc(user)),
            (None, _) => String::new(),
        }
    }

    /// The URL form without any password (a `${VAR}` reference is kept, it is not secret).
    #[must_use]
    pub fn display_url(&self) -> String {
        let enc = |t: &str| {
            percent_encoding::utf8_percent_encode(t, percent_encoding::NON_ALPHANUMERIC).to_string()
        };
        let mut options = Vec::new();
        let base = match &self.address {
            RedisAddress::Tcp { host, port } => {
                let userinfo = self.userinfo();
                let scheme = if self.tls.is_some() {
                    "rediss"
                } else {
                    "redis"
                };
                let host = if host.contains(':') {
                    format!("[{host}]")
                } else {
                    host.clone()
                };
                format!("{scheme}://{userinfo}{host}:{port}/{}", self.db)
            }
            RedisAddress::Unix { path } => {
                // A socket URL has no host to hang a user name on: options carry them.
                options.push(format!("db={}", self.db));
                if let Some(user) = &self.username {
                    options.push(format!("user={}", enc(user)));
                }
                if let PasswordSource::Env(var) = &self.password {
                    options.push(format!("password=${{{var}}}"));
                }
                format!("redis+unix://{}", path_for_url(path))
            }
            RedisAddress::Sentinel { sentinels, master } => {
                let scheme = if self.tls.is_some() {
                    "rediss+sentinel"
                } else {
                    "redis+sentinel"
                };
                let list = super::node_list(sentinels, ",");
                if let Some(user) = &self.sentinel.username {
                    options.push(format!("sentinel_user={}", enc(user)));
                }
                match &self.sentinel.password {
                    super::SentinelAuth::None => {}
                    super::SentinelAuth::SameAsData => {
                        options.push("sentinel_password=same".to_owned());
                    }
                    super::SentinelAuth::Env(var) => {
                        options.push(format!("sentinel_password=${{{var}}}"));
                    }
                }
                if self.sentinel.replica {
                    options.push("replica=yes".to_owned());
                }
                format!(
                    "{scheme}://{}{list}/{}/{}",
                    self.userinfo(),
                    enc(master),
                    self.db
                )
            }
            RedisAddress::Cluster { seeds } => {
                let userinfo = self.userinfo();
                let scheme = if self.tls.is_some() {
                    "rediss+cluster"
                } else {
                    "redis+cluster"
                };
                let seeds = super::node_list(seeds, ",");
                for (from, to) in &self.cluster.address_map {
                    options.push(format!("map={from}={to}"));
                }
                if self.cluster.scan_replicas {
                    options.push("scan=replicas".to_owned());
                }
                format!("{scheme}://{userinfo}{seeds}/{}", self.db)
            }
        };
        if let Some(ca) = self.tls.as_ref().and_then(|t| t.ca_file.as_ref()) {
            options.push(format!("ca_file={}", path_for_url(ca)));
        }
        if let Some(prefix) = &self.key_prefix {
            options.push(format!("key_prefix={}", enc(prefix)));
        }
        let defaults = Self::default();
        if self.connect_timeout_ms != defaults.connect_timeout_ms {
            options.push(format!("connect_timeout_ms={}", self.connect_timeout_ms));
        }
        if self.command_timeout_ms != defaults.command_timeout_ms {
            options.push(format!("timeout_ms={}", self.command_timeout_ms));
        }
        if options.is_empty() {
            base
        } else {
            format!("{base}?{}", options.join("&"))
        }
    }
}

/// Parses a connection URL into a spec plus the inline password, if the URL carried one.
///
/// `${NAME}` as the password becomes a reference to environment variable `NAME` and is kept
/// in the spec; any other inline password is returned apart so that it is never saved.
///
/// # Errors
/// A malformed URL, an unknown scheme, or a database index that is not a number.
pub fn parse_url(text: &str) -> Result<(ConnectionSpec, Option<Secret>), UrlError> {
    // An error may quote the URL; it never quotes a password or a secret parameter in it.
    parse_url_unredacted(text).map_err(|e| e.redacted(&secrets_in(text)))
}

/// The passwords and secret parameter values written in a URL, as written and decoded.
fn secrets_in(text: &str) -> Vec<String> {
    let mut secrets = Vec::new();
    let mut add = |raw: &str| {
        if !raw.is_empty() && env_name(raw).is_none() {
            secrets.push(raw.to_owned());
            let decoded = percent_decode(raw);
            if decoded != raw {
                secrets.push(decoded);
            }
        }
    };
    if let Some((start, end)) = authority_span(text)
        && let Some(at) = text[start..end].rfind('@')
    {
        let userinfo = &text[start..start + at];
        match userinfo.split_once(':') {
            Some((_, password)) => add(password),
            // DreamFactory's `KEY@host`: the user part is the API key.
            None if is_dreamfactory(text) => add(userinfo),
            None => {}
        }
    }
    if let Some((_, query)) = text.split_once('?') {
        let query = query.split('#').next().unwrap_or_default();
        for pair in query.split('&') {
            if let Some((name, value)) = pair.split_once('=')
                && is_secret_param(&percent_decode(name))
            {
                add(value);
            }
        }
    }
    // Longest first, so a secret that contains another is masked whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets
}

/// Whether `text` is a DreamFactory URL (`dreamfactory+http(s)://`, `df+…`).
fn is_dreamfactory(text: &str) -> bool {
    let lower = text.get(..13).unwrap_or(text).to_ascii_lowercase();
    lower.starts_with("dreamfactory+") || lower.starts_with("df+")
}

fn parse_url_unredacted(text: &str) -> Result<(ConnectionSpec, Option<Secret>), UrlError> {
    let text = text.trim();
    let scheme = text.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    if let Some(scheme) = scheme
        && PLACEHOLDER_SCHEMES.contains(&scheme.as_str())
    {
        return Err(UrlError::Scheme(scheme));
    }
    parse_any(text)
}

fn parse_any(text: &str) -> Result<(ConnectionSpec, Option<Secret>), UrlError> {
    if let Some(parsed) = parse_dreamfactory_url(text)? {
        return Ok(parsed);
    }
    if let Some(spec) = parse_memcached_url(text)? {
        return Ok((ConnectionSpec::Memcached(spec), None));
    }
    if let Some(sql) = parse_sql_url(text)? {
        return Ok(sql);
    }
    if let Some(rest) = text.strip_prefix("file://") {
        // One parameter only: `session_lifetime=N` makes it a sessions directory.
        let (path, session_lifetime_min) = match rest.split_once('?') {
            Some((path, query)) => match query.strip_prefix("session_lifetime=") {
                Some(minutes) if !minutes.contains(['&', '#']) => {
                    (path, Some(lifetime_minutes(minutes)?))
                }
                _ => {
                    return Err(UrlError::Invalid(
                        "a file:// URL takes one parameter, session_lifetime=MINUTES (a \
                         sessions directory); write a `?` or `#` that is part of the \
                         directory's name as %3F or %23"
                            .to_owned(),
                    ));
                }
            },
            None => (rest, None),
        };
        if path.contains('#') {
            return Err(UrlError::Invalid(
                "write a `#` that is part of the directory's name as %23".to_owned(),
            ));
        }
        let dir = absolute_path(
            path,
            text,
            "file:///srv/app/storage/framework/cache/data (a file cache URL)",
        )?;
        return Ok((
            ConnectionSpec::File(FileSpec {
                dir,
                session_lifetime_min,
            }),
            None,
        ));
    }
    if let Some(parsed) = parse_cluster_url(text)? {
        return Ok(parsed);
    }
    parse_redis_url(text)
}

/// Parses `redis://`, `rediss://` and `redis+unix://` (and a cluster URL with its seed list
/// taken out).
fn parse_redis_url(text: &str) -> Result<(ConnectionSpec, Option<Secret>), UrlError> {
    // `url` would percent-encode `${…}` in the password; swap it for a marker first.
    let (text_for_parse, env_ref) = extract_env_ref(text);
    let url = url::Url::parse(&text_for_parse).map_err(|e| UrlError::Invalid(e.to_string()))?;
    let mut spec = RedisSpec::default();
    let scheme = url.scheme().to_owned();
    match scheme.as_str() {
        "redis"
        | "rediss"
        | CLUSTER_PLACEHOLDER_SCHEME
        | CLUSTER_TLS_PLACEHOLDER_SCHEME
        | SENTINEL_PLACEHOLDER_SCHEME
        | SENTINEL_TLS_PLACEHOLDER_SCHEME => {
            let host = url
                .host_str()
                .filter(|h| !h.is_empty())
                .unwrap_or("127.0.0.1")
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned();
            spec.address = RedisAddress::Tcp {
                host,
                port: url.port().unwrap_or(6379),
            };
            if scheme == "rediss"
                || scheme == CLUSTER_TLS_PLACEHOLDER_SCHEME
                || scheme == SENTINEL_TLS_PLACEHOLDER_SCHEME
            {
                spec.tls = Some(TlsSpec::default());
            }
            let path = url.path().trim_matches('/');
            if !path.is_empty() {
                spec.db = path.parse().map_err(|_| UrlError::Db(path.to_owned()))?;
            }
        }
        "redis+unix" | "unix" => {
            spec.address = RedisAddress::Unix {
                path: absolute_path(url.path(), text, "redis+unix:///run/redis/redis.sock")?,
            };
        }
        other => return Err(UrlError::Scheme(other.to_owned())),
    }
    let mut inline_password = None;
    let mut env_ref = env_ref;
    let millis = |what: &str, value: &str| {
        value
            .parse::<u64>()
            .ok()
            .filter(|ms| *ms > 0)
            .ok_or_else(|| {
                UrlError::Invalid(format!(
                    "{what} must be a number of milliseconds, not `{value}`"
                ))
            })
    };
    for (name, value) in url.query_pairs() {
        match name.as_ref() {
            "db" => spec.db = value.parse().map_err(|_| UrlError::Db(value.to_string()))?,
            "user" | "username" => spec.username = Some(value.to_string()),
            "pass" | "password" => match env_name(&value) {
                Some(var) => env_ref = Some(var.to_owned()),
                None => inline_password = Some(Secret::new(value.to_string())),
            },
            "ca" | "ca_file" => {
                spec.tls = Some(TlsSpec {
                    ca_file: Some(path_from_url(&value)),
                });
            }
            "connect_timeout_ms" => spec.connect_timeout_ms = millis("connect_timeout_ms", &value)?,
            "timeout_ms" | "command_timeout_ms" => {
                spec.command_timeout_ms = millis("timeout_ms", &value)?;
            }
            "map" | "scan" => cluster_option(&mut spec.cluster, &name, &value)?,
            "key_prefix" | "prefix" => {
                spec.key_prefix = Some(value.to_string()).filter(|p| !p.is_empty());
            }
            "sentinel_user" | "sentinel_password" | "replica" => {
                sentinel_option(&mut spec.sentinel, &name, &value)?;
            }
            _ => {}
        }
    }
    options_fit_scheme(&spec, &scheme)?;
    if !url.username().is_empty() {
        spec.username = Some(percent_decode(url.username()));
    }
    if let Some(var) = env_ref {
        spec.password = PasswordSource::Env(var);
    } else if let Some(password) = url.password() {
        inline_password = Some(Secret::new(percent_decode(password)));
    }
    Ok((ConnectionSpec::Redis(spec), inline_password))
}

/// A cluster option of a URL: `map=ANNOUNCED=REACHABLE` (repeatable), `scan=replicas`.
fn cluster_option(
    options: &mut super::ClusterOptions,
    name: &str,
    value: &str,
) -> Result<(), UrlError> {
    if name == "map" {
        let mapping = value
            .split_once('=')
            .and_then(|(from, to)| Some((NodeAddress::parse(from)?, NodeAddress::parse(to)?)))
            .ok_or_else(|| {
                UrlError::Invalid(format!(
                    "map={value}: write map=ANNOUNCED_HOST:PORT=REACHABLE_HOST:PORT"
                ))
            })?;
        options.address_map.push(mapping);
        return Ok(());
    }
    match value {
        "replicas" => options.scan_replicas = true,
        "primaries" => options.scan_replicas = false,
        other => {
            return Err(UrlError::Invalid(format!(
                "scan={other}: write scan=replicas or scan=primaries"
            )));
        }
    }
    Ok(())
}

/// Refuses cluster options on a URL that is not a cluster's, Sentinel options on one that is
/// not a Sentinel group's.
fn options_fit_scheme(spec: &RedisSpec, scheme: &str) -> Result<(), UrlError> {
    let cluster = scheme == CLUSTER_PLACEHOLDER_SCHEME || scheme == CLUSTER_TLS_PLACEHOLDER_SCHEME;
    if spec.cluster != super::ClusterOptions::default() && !cluster {
        return Err(UrlError::Invalid(
            "map= and scan= are cluster settings: use a redis+cluster:// or rediss+cluster:// URL"
                .to_owned(),
        ));
    }
    let sentinel =
        scheme == SENTINEL_PLACEHOLDER_SCHEME || scheme == SENTINEL_TLS_PLACEHOLDER_SCHEME;
    if spec.sentinel != super::SentinelOptions::default() && !sentinel {
        return Err(UrlError::Invalid(
            "sentinel_user=, sentinel_password= and replica= are Sentinel settings: use a \
             redis+sentinel:// URL"
                .to_owned(),
        ));
    }
    Ok(())
}

/// A Sentinel option of a URL: `sentinel_user=NAME`, `sentinel_password=${VAR}` (or `same`:
/// the data nodes' password), `replica=yes` (browse a replica).
fn sentinel_option(
    options: &mut super::SentinelOptions,
    name: &str,
    value: &str,
) -> Result<(), UrlError> {
    match name {
        "sentinel_user" => options.username = Some(value.to_owned()),
        "sentinel_password" => {
            options.password = match (value, env_name(value)) {
                ("same", _) => super::SentinelAuth::SameAsData,
                (_, Some(var)) => super::SentinelAuth::Env(var.to_owned()),
                _ => {
                    return Err(UrlError::Invalid(
                        "sentinel_password takes a reference, not the password: \
                         sentinel_password=${VARIABLE} (or `same` for the data nodes' password)"
                            .to_owned(),
                    ));
                }
            };
        }
        _ => {
            options.replica = match value {
                "yes" | "true" | "1" => true,
                "no" | "false" | "0" => false,
                other => {
                    return Err(UrlError::Invalid(format!(
                        "replica={other}: write replica=yes or replica=no"
                    )));
                }
            };
        }
    }
    Ok(())
}

/// The scheme a cluster URL is parsed under once its seed list is taken out (the `url` crate
/// reads one host, not a list): a private name no user types.
const CLUSTER_PLACEHOLDER_SCHEME: &str = "cc-redis-cluster";
const CLUSTER_TLS_PLACEHOLDER_SCHEME: &str = "cc-rediss-cluster";
const SENTINEL_PLACEHOLDER_SCHEME: &str = "cc-redis-sentinel";
const SENTINEL_TLS_PLACEHOLDER_SCHEME: &str = "cc-rediss-sentinel";
/// Every private scheme, refused when a user types one.
const PLACEHOLDER_SCHEMES: [&str; 4] = [
    CLUSTER_PLACEHOLDER_SCHEME,
    CLUSTER_TLS_PLACEHOLDER_SCHEME,
    SENTINEL_PLACEHOLDER_SCHEME,
    SENTINEL_TLS_PLACEHOLDER_SCHEME,
];

/// Parses `redis+cluster://[user[:pass]@]h1:p1,h2:p2[/db][?options]` (and
/// `rediss+cluster://`), and `redis+sentinel://[user[:pass]@]s1:26379,s2:26379/master[/db]`
/// (and `rediss+sentinel://`); `None` for other schemes. The host list (and a Sentinel
/// group's primary name) is read by hand, the rest as a Redis URL.
fn parse_cluster_url(text: &str) -> Result<Option<(ConnectionSpec, Option<Secret>)>, UrlError> {
    let lower = text.to_ascii_lowercase();
    let (scheme, default_port) = if lower.starts_with("redis+cluster://") {
        (CLUSTER_PLACEHOLDER_SCHEME, 6379)
    } else if lower.starts_with("rediss+cluster://") {
        (CLUSTER_TLS_PLACEHOLDER_SCHEME, 6379)
    } else if lower.starts_with("redis+sentinel://") {
        (SENTINEL_PLACEHOLDER_SCHEME, 26379)
    } else if lower.starts_with("rediss+sentinel://") {
        (SENTINEL_TLS_PLACEHOLDER_SCHEME, 26379)
    } else {
        return Ok(None);
    };
    let sentinel = default_port == 26379;
    let Some((start, end)) = authority_span(text) else {
        return Ok(None);
    };
    let authority = &text[start..end];
    let (userinfo, hosts) = match authority.rfind('@') {
        Some(at) => (&authority[..=at], &authority[at + 1..]),
        None => ("", authority),
    };
    let mut seeds = Vec::new();
    for part in hosts.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let seed = NodeAddress::parse(part)
            .or_else(|| {
                (!part.contains(':') || part.ends_with(']'))
                    .then(|| NodeAddress::parse(&format!("{part}:{default_port}")))
                    .flatten()
            })
            .ok_or_else(|| UrlError::Server(part.to_owned()))?;
        seeds.push(seed);
    }
    if seeds.is_empty() {
        return Err(UrlError::Invalid(if sentinel {
            "a Sentinel URL names at least one sentinel: \
             redis+sentinel://s1:26379,s2:26379/mymaster/0"
                .to_owned()
        } else {
            "a cluster URL names at least one node: redis+cluster://host1:7000,host2:7001"
                .to_owned()
        }));
    }
    let mut rest = &text[end..];
    let mut master = None;
    if sentinel {
        // `/master[/db]`: the name the sentinels know the primary by comes first.
        let path = rest.strip_prefix('/').unwrap_or_default();
        let name_end = path.find(['/', '?', '#']).unwrap_or(path.len());
        let name = percent_decode(&path[..name_end]);
        if name.is_empty() {
            return Err(UrlError::Invalid(
                "name the primary the sentinels watch: redis+sentinel://s1:26379/mymaster/0"
                    .to_owned(),
            ));
        }
        master = Some(name);
        rest = &path[name_end..];
    }
    let rewritten = format!("{scheme}://{userinfo}cluster.invalid{rest}");
    let (spec, password) = parse_any(&rewritten)?;
    let ConnectionSpec::Redis(mut spec) = spec else {
        return Err(UrlError::Invalid("not a Redis URL".to_owned()));
    };
    spec.address = match master {
        Some(master) => RedisAddress::Sentinel {
            sentinels: seeds,
            master,
        },
        None => RedisAddress::Cluster { seeds },
    };
    Ok(Some((ConnectionSpec::Redis(spec), password)))
}

/// Parses `sqlite:///abs/path.db?table=cache`, `postgres://user@host:port/db?table=cache` and
/// `mysql://…`; `None` for other schemes. The password is returned apart (or kept as `${VAR}`).
fn parse_sql_url(text: &str) -> Result<Option<(ConnectionSpec, Option<Secret>)>, UrlError> {
    let lower = text.to_ascii_lowercase();
    let dialect = if lower.starts_with("sqlite:") {
        SqlDialect::Sqlite
    } else if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
        SqlDialect::Postgres
    } else if lower.starts_with("mysql://") || lower.starts_with("mariadb://") {
        SqlDialect::MySql
    } else {
        return Ok(None);
    };
    let (text_for_parse, env_ref) = extract_env_ref(text);
    // `mariadb://` is the scheme sqlx calls `mysql://`; only the scheme is renamed.
    let text_for_parse = match text_for_parse.get(..10) {
        Some(scheme) if scheme.eq_ignore_ascii_case("mariadb://") => {
            format!("mysql://{}", &text_for_parse[10..])
        }
        _ => text_for_parse,
    };
    let mut url = url::Url::parse(&text_for_parse).map_err(|e| UrlError::Invalid(e.to_string()))?;
    // A fragment means nothing to a database driver; it would only trail the options.
    url.set_fragment(None);
    let mut table = None;
    let mut session_lifetime_min = None;
    let mut timeout = default_sql_timeout();
    let mut command_timeout = default_sql_command_timeout();
    let mut query_password = None;
    let mut kept: Vec<(String, String)> = Vec::new();
    for (k, v) in url.query_pairs() {
        let number = |what: &str| {
            v.parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                UrlError::Invalid(format!(
                    "{what} must be a number of milliseconds, not `{v}`"
                ))
            })
        };
        match k.as_ref() {
            "table" => table = Some(v.into_owned()),
            "session_lifetime" => session_lifetime_min = Some(lifetime_minutes(&v)?),
            "connect_timeout_ms" => timeout = number("connect_timeout_ms")?,
            "command_timeout_ms" | "timeout_ms" => command_timeout = number("command_timeout_ms")?,
            "password" | "pass" => query_password = Some(Secret::new(v.into_owned())),
            name if is_secret_param(name) => {
                return Err(UrlError::Invalid(format!(
                    "the `{name}` parameter holds a secret, and a profile never stores one: \
                     leave it out of the URL"
                )));
            }
            _ => kept.push((k.into_owned(), v.into_owned())),
        }
    }
    url.set_query(None);
    if !kept.is_empty() {
        url.query_pairs_mut().extend_pairs(kept);
    }
    let password = url
        .password()
        .map(|p| Secret::new(percent_decode(p)))
        .or(query_password);
    let _ = url.set_password(None);
    if dialect == SqlDialect::Sqlite && url.path().len() <= 1 {
        return Err(UrlError::Invalid(format!(
            "`{text}`: give the SQLite file, like sqlite:///srv/app/database.sqlite"
        )));
    }
    // With a `${VAR}` reference the URL's password is only a placeholder.
    let (source, password) = match env_ref {
        Some(var) => (PasswordSource::Env(var), None),
        None => (PasswordSource::None, password),
    };
    let spec = SqlSpec {
        url: url.to_string(),
        dialect,
        // Laravel's tables: `cache`, or `sessions` for the database session driver.
        table: table.unwrap_or_else(|| {
            if session_lifetime_min.is_some() {
                "sessions"
            } else {
                "cache"
            }
            .to_owned()
        }),
        password: source,
        connect_timeout_ms: timeout,
        command_timeout_ms: command_timeout,
        session_lifetime_min,
    };
    Ok(Some((ConnectionSpec::Sql(spec), password)))
}

/// A sessions' lifetime in minutes, as `config/session.php` gives it (at most ten years).
fn lifetime_minutes(text: &str) -> Result<u32, UrlError> {
    text.parse::<u32>()
        .ok()
        .filter(|m| (1..=5_256_000).contains(m))
        .ok_or_else(|| {
            UrlError::Invalid(format!(
                "session_lifetime is the sessions' lifetime in minutes (config/session.php), \
                 not `{text}`"
            ))
        })
}

/// Parses `memcached://host:port[,host:port…][?timeout_ms=…]` and `memcached+unix:///path`;
/// `None` for any other scheme. Written by hand because a server list is not a URL host.
fn parse_memcached_url(text: &str) -> Result<Option<MemcachedSpec>, UrlError> {
    let lower = text.to_ascii_lowercase();
    let mut spec = MemcachedSpec::default();
    let (rest, unix) = if let Some(i) = ["memcached+unix://", "memcache+unix://"]
        .iter()
        .find_map(|p| lower.starts_with(p).then_some(p.len()))
    {
        (&text[i..], true)
    } else if let Some(i) = ["memcached://", "memcache://"]
        .iter()
        .find_map(|p| lower.starts_with(p).then_some(p.len()))
    {
        (&text[i..], false)
    } else {
        return Ok(None);
    };
    let (servers, query) = rest.split_once('?').unwrap_or((rest, ""));
    if !unix && servers.contains('@') {
        return Err(UrlError::Invalid(
            "a memcached:// URL names servers only: memcached has no user name or password to \
             log in with here, so leave `user:password@` out"
                .to_owned(),
        ));
    }
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let ms = value.parse().ok();
        match (name.as_ref(), ms) {
            ("connect_timeout_ms", Some(ms)) => spec.connect_timeout_ms = ms,
            ("timeout_ms" | "command_timeout_ms", Some(ms)) => spec.command_timeout_ms = ms,
            _ => {}
        }
    }
    if unix {
        if servers.is_empty() {
            return Err(UrlError::Server(String::new()));
        }
        spec.servers = vec![MemcachedAddress::Unix {
            path: absolute_path(servers, text, "memcached+unix:///run/memcached.sock")?,
        }];
        return Ok(Some(spec));
    }
    let mut list = Vec::new();
    for part in servers.trim_end_matches('/').split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (host, port) = server_address(part).ok_or_else(|| UrlError::Server(part.to_owned()))?;
        list.push(MemcachedAddress::Tcp {
            host: host.to_owned(),
            port,
        });
    }
    if !list.is_empty() {
        spec.servers = list;
    } else if !servers.trim_end_matches('/').trim().is_empty() {
        // `memcached://,,,` names no server: an error, not a silent 127.0.0.1.
        return Err(UrlError::Server(servers.to_owned()));
    }
    Ok(Some(spec))
}

/// One `host[:port]` of a memcached server list: a host name or IPv4 address, or an IPv6
/// address in brackets (bare when no port follows). Anything else — control characters, an
/// unbalanced bracket, a bad port — is refused rather than guessed at.
fn server_address(part: &str) -> Option<(&str, u16)> {
    const DEFAULT_PORT: u16 = 11211;
    if let Some(rest) = part.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        host.parse::<std::net::Ipv6Addr>().ok()?;
        let port = match after {
            "" => DEFAULT_PORT,
            _ => after.strip_prefix(':')?.parse().ok()?,
        };
        return Some((host, port));
    }
    if part.parse::<std::net::Ipv6Addr>().is_ok() {
        return Some((part, DEFAULT_PORT));
    }
    let (host, port) = match part.rsplit_once(':') {
        Some((host, port)) => (host, port.parse().ok()?),
        None => (part, DEFAULT_PORT),
    };
    let valid = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    valid.then_some((host, port))
}

const ENV_MARKER: &str = "cc-env-password-ref";

/// Finds a `:${NAME}@` password reference and replaces it with a marker `url` can parse.
fn extract_env_ref(text: &str) -> (String, Option<String>) {
    // Only in the user-info part: after `scheme://`, before the path, query or fragment.
    let Some((authority_start, authority_end)) = authority_span(text) else {
        return (text.to_owned(), None);
    };
    let Some(start) = text[authority_start..authority_end]
        .find(":${")
        .map(|i| authority_start + i)
    else {
        return (text.to_owned(), None);
    };
    let rest = &text[start + 3..];
    let Some(end) = rest.find('}') else {
        return (text.to_owned(), None);
    };
    let name = &rest[..end];
    let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid || !rest[end + 1..].starts_with('@') {
        return (text.to_owned(), None);
    }
    let replaced = format!("{}:{ENV_MARKER}{}", &text[..start], &rest[end + 1..]);
    (replaced, Some(name.to_owned()))
}

/// Where the authority (`user:pass@host:port`) of `scheme://authority/…` starts and ends;
/// `None` when the text does not start with a scheme and `://`.
fn authority_span(text: &str) -> Option<(usize, usize)> {
    let (scheme, _) = text.split_once("://")?;
    let is_scheme = !scheme.is_empty()
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !is_scheme {
        return None;
    }
    let start = scheme.len() + 3;
    let end = text[start..]
        .find(['/', '?', '#'])
        .map_or(text.len(), |i| start + i);
    Some((start, end))
}

/// `url` with a `${VAR}` password reference in its user-info.
fn with_env_password(url: &str, var: &str) -> String {
    let Some((start, end)) = authority_span(url) else {
        return url.to_owned();
    };
    let mut out = url.to_owned();
    match url[start..end].rfind('@') {
        Some(at) => out.insert_str(start + at, &format!(":${{{var}}}")),
        None => out.insert_str(start, &format!(":${{{var}}}@")),
    }
    out
}

/// `NAME` of a `${NAME}` password reference.
fn env_name(value: &str) -> Option<&str> {
    let name = value.strip_prefix("${")?.strip_suffix('}')?;
    let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then_some(name)
}

fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// The bytes of a socket or directory path written in a URL (`%XX` escapes decoded).
fn path_from_url(text: &str) -> PathBuf {
    use std::os::unix::ffi::OsStringExt as _;
    PathBuf::from(std::ffi::OsString::from_vec(
        percent_encoding::percent_decode_str(text).collect(),
    ))
}

/// What a path must escape in a URL to read back as the same bytes.
const PATH_ESCAPES: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'?')
    .add(b'&')
    .add(b'=')
    .add(b'+')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// A path as written in a URL: [`path_from_url`] reads it back byte for byte.
fn path_for_url(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt as _;
    percent_encoding::percent_encode(path.as_os_str().as_bytes(), PATH_ESCAPES).to_string()
}

/// A socket or directory path from a URL, which must be absolute.
fn absolute_path(text: &str, url: &str, example: &str) -> Result<PathBuf, UrlError> {
    let path = path_from_url(text);
    if path.is_absolute() {
        Ok(path)
    } else {
        Err(UrlError::Invalid(format!(
            "`{url}`: give an absolute path, like {example}"
        )))
    }
}

#[cfg(test)]
#[path = "urls_tests.rs"]
mod tests;
