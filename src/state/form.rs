//! The add/edit profile form: text fields for every kind of cache, turned into a profile (or
//! the reason why not) when saved or tested.

use crate::config::connection::{
    ConnectionSpec, PasswordSource, RedisAddress, RedisSpec, Secret, TlsSpec, parse_url,
};
use crate::config::profiles::Profile;
use crate::service::ReqId;

/// Where the password of a profile comes from, as the form offers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordMode {
    /// No password.
    None,
    /// Ask when connecting.
    Ask,
    /// Read an environment variable.
    Env,
}

/// The kind of cache a profile form describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormKind {
    /// A Redis server.
    Redis,
    /// A memcached server or pool.
    Memcached,
    /// A file cache directory.
    File,
    /// A cache table (the URL goes in `servers`).
    Sql,
}

/// Progress of a "Test connection".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestStatus {
    /// Not run.
    Idle,
    /// Waiting for the answer to this request.
    Running(ReqId),
    /// Connected; the server's description.
    Ok(String),
    /// Failed, with the reason.
    Failed(String),
}

/// The add/edit profile form, as text fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileForm {
    /// Name of the profile being edited; `None` for a new one.
    pub original_name: Option<String>,
    /// Profile name.
    pub name: String,
    /// A URL the user pastes to fill the fields.
    pub url: String,
    /// Which kind of cache.
    pub kind: FormKind,
    /// Memcached servers, `host:port` separated by commas (or one socket path).
    pub servers: String,
    /// Connect over a unix socket instead of TCP.
    pub use_unix: bool,
    /// TCP host.
    pub host: String,
    /// TCP port.
    pub port: String,
    /// Unix socket path.
    pub unix_path: String,
    /// Use TLS.
    pub tls: bool,
    /// CA file for TLS (empty: system roots).
    pub ca_file: String,
    /// ACL user name.
    pub username: String,
    /// Where the password comes from.
    pub password_mode: PasswordMode,
    /// Environment variable holding the password.
    pub env_var: String,
    /// Password typed for this session (never saved).
    pub password: String,
    /// Database index.
    pub db: String,
    /// Connect timeout in ms.
    pub connect_timeout_ms: String,
    /// Command timeout in ms.
    pub command_timeout_ms: String,
    /// Pattern the browser starts with.
    pub default_pattern: String,
    /// Tree delimiter.
    pub delimiter: String,
    /// Refuse writes.
    pub read_only: bool,
    /// Confirm every write.
    pub production: bool,
    /// Colour tag.
    pub color: Option<crate::config::profiles::ColorTag>,
    /// Why the form cannot be saved.
    pub error: Option<String>,
    /// Connection test progress.
    pub test: TestStatus,
}

impl Default for ProfileForm {
    fn default() -> Self {
        let mut form = Self::from_profile(&Profile::new(
            "",
            ConnectionSpec::Redis(RedisSpec::default()),
        ));
        form.original_name = None;
        form
    }
}

impl ProfileForm {
    /// A form showing an existing profile.
    #[must_use]
    pub fn from_profile(profile: &Profile) -> Self {
        let default_redis = RedisSpec::default();
        let (kind, spec, servers) = match &profile.connection {
            ConnectionSpec::Redis(spec) => (FormKind::Redis, spec, String::new()),
            ConnectionSpec::Memcached(m) => (
                FormKind::Memcached,
                &default_redis,
                m.servers
                    .iter()
                    .map(crate::config::connection::MemcachedAddress::label)
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            ConnectionSpec::File(f) => {
                (FormKind::File, &default_redis, f.dir.display().to_string())
            }
            ConnectionSpec::Sql(_) => (
                FormKind::Sql,
                &default_redis,
                profile.connection.display_url(),
            ),
        };
        let (connect_timeout_ms, command_timeout_ms) = profile.connection.timeouts_ms();
        let (use_unix, host, port, unix_path) = match &spec.address {
            RedisAddress::Tcp { host, port } => {
                (false, host.clone(), port.to_string(), String::new())
            }
            RedisAddress::Unix { path } => (
                true,
                "127.0.0.1".to_owned(),
                "6379".to_owned(),
                path.display().to_string(),
            ),
        };
        let (password_mode, env_var) = match &spec.password {
            PasswordSource::None => (PasswordMode::None, String::new()),
            PasswordSource::Prompt => (PasswordMode::Ask, String::new()),
            PasswordSource::Env(v) => (PasswordMode::Env, v.clone()),
        };
        Self {
            original_name: Some(profile.name.clone()),
            name: profile.name.clone(),
            url: String::new(),
            kind,
            servers,
            use_unix,
            host,
            port,
            unix_path,
            tls: spec.tls.is_some(),
            ca_file: spec
                .tls
                .as_ref()
                .and_then(|t| t.ca_file.as_ref())
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            username: spec.username.clone().unwrap_or_default(),
            password_mode,
            env_var,
            password: String::new(),
            db: spec.db.to_string(),
            connect_timeout_ms: connect_timeout_ms.to_string(),
            command_timeout_ms: command_timeout_ms.to_string(),
            default_pattern: profile.default_pattern.clone(),
            delimiter: profile.delimiter.clone(),
            read_only: profile.read_only,
            production: profile.production,
            color: profile.color,
            error: None,
            test: TestStatus::Idle,
        }
    }

    /// Fills the fields from the pasted URL. An inline password goes to the session-only
    /// password field and the mode becomes "ask".
    ///
    /// # Errors
    /// The URL cannot be parsed; the fields are left as they were.
    pub fn apply_url(&mut self) -> Result<(), String> {
        let (spec, password) = parse_url(&self.url).map_err(|e| e.to_string())?;
        let before = self.clone();
        let url = std::mem::take(&mut self.url);
        *self = Self::from_profile(&Profile::new(before.name.clone(), spec));
        self.original_name = before.original_name;
        self.default_pattern = before.default_pattern;
        self.delimiter = before.delimiter;
        self.read_only = before.read_only;
        self.production = before.production;
        self.color = before.color;
        self.url = url;
        if let Some(password) = password {
            self.password_mode = PasswordMode::Ask;
            password.expose().clone_into(&mut self.password);
        }
        Ok(())
    }

    /// The profile these fields describe.
    ///
    /// # Errors
    /// A field is empty or not a number where one is needed.
    pub fn to_profile(&self) -> Result<Profile, String> {
        let name = self.name.trim();
        if name.is_empty() {
            return Err("give the profile a name".to_owned());
        }
        let number = |text: &str, what: &str| -> Result<u64, String> {
            text.trim()
                .parse::<u64>()
                .map_err(|_| format!("{what} must be a whole number, not `{}`", text.trim()))
        };
        if self.kind == FormKind::Sql {
            let (mut spec, _) = parse_url(self.servers.trim()).map_err(|e| e.to_string())?;
            let ConnectionSpec::Sql(q) = &mut spec else {
                return Err("give a sqlite://, postgres:// or mysql:// URL".to_owned());
            };
            q.connect_timeout_ms = number(&self.connect_timeout_ms, "the connect timeout")?.max(1);
            q.command_timeout_ms = number(&self.command_timeout_ms, "the command timeout")?.max(1);
            return Ok(self.finish_profile(name, spec));
        }
        if self.kind == FormKind::File {
            let dir = self.servers.trim();
            if dir.is_empty() {
                return Err("give the cache directory".to_owned());
            }
            let (spec, _) = parse_url(&format!("file://{dir}")).map_err(|e| e.to_string())?;
            return Ok(self.finish_profile(name, spec));
        }
        if self.kind == FormKind::Memcached {
            let list = self.servers.trim();
            if list.is_empty() {
                return Err("give at least one server (host:port)".to_owned());
            }
            let url = if list.starts_with('/') {
                format!("memcached+unix://{list}")
            } else {
                format!("memcached://{}", list.replace(' ', ""))
            };
            let (mut spec, _) = parse_url(&url).map_err(|e| e.to_string())?;
            if let ConnectionSpec::Memcached(m) = &mut spec {
                m.connect_timeout_ms =
                    number(&self.connect_timeout_ms, "the connect timeout")?.max(1);
                m.command_timeout_ms =
                    number(&self.command_timeout_ms, "the command timeout")?.max(1);
            }
            return Ok(self.finish_profile(name, spec));
        }
        let address = if self.use_unix {
            if self.unix_path.trim().is_empty() {
                return Err("give the unix socket path".to_owned());
            }
            RedisAddress::Unix {
                path: self.unix_path.trim().into(),
            }
        } else {
            if self.host.trim().is_empty() {
                return Err("give the host".to_owned());
            }
            let port = u16::try_from(number(&self.port, "the port")?)
                .ok()
                .filter(|p| *p > 0)
                .ok_or("the port must be from 1 to 65535")?;
            RedisAddress::Tcp {
                host: self.host.trim().to_owned(),
                port,
            }
        };
        let password = match self.password_mode {
            PasswordMode::None => PasswordSource::None,
            PasswordMode::Ask => PasswordSource::Prompt,
            PasswordMode::Env => {
                let var = self
                    .env_var
                    .trim()
                    .trim_start_matches("${")
                    .trim_end_matches('}');
                if var.is_empty() {
                    return Err("name the environment variable that holds the password".to_owned());
                }
                PasswordSource::Env(var.to_owned())
            }
        };
        let db = u32::try_from(number(&self.db, "the database index")?)
            .map_err(|_| "the database index is too large".to_owned())?;
        let spec = RedisSpec {
            address,
            tls: self.tls.then(|| TlsSpec {
                ca_file: (!self.ca_file.trim().is_empty()).then(|| self.ca_file.trim().into()),
            }),
            username: (!self.username.trim().is_empty()).then(|| self.username.trim().to_owned()),
            password,
            db,
            connect_timeout_ms: number(&self.connect_timeout_ms, "the connect timeout")?.max(1),
            command_timeout_ms: number(&self.command_timeout_ms, "the command timeout")?.max(1),
        };
        Ok(self.finish_profile(name, ConnectionSpec::Redis(spec)))
    }

    /// A profile for `spec` with the fields every kind shares (pattern, delimiter, safety).
    fn finish_profile(&self, name: &str, spec: ConnectionSpec) -> Profile {
        let mut profile = Profile::new(name, spec);
        if !self.default_pattern.trim().is_empty() {
            profile.default_pattern.clone_from(&self.default_pattern);
        }
        profile.delimiter.clone_from(&self.delimiter);
        profile.read_only = self.read_only;
        profile.production = self.production;
        profile.color = self.color;
        profile
    }

    /// The password typed in the form, if the mode asks for one.
    #[must_use]
    pub fn typed_password(&self) -> Option<Secret> {
        (self.password_mode == PasswordMode::Ask && !self.password.is_empty())
            .then(|| Secret::new(self.password.clone()))
    }
}
