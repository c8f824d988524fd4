//! The add/edit profile form: text fields for every kind of cache, turned into a profile (or
//! the reason why not) when saved or tested.

use crate::config::connection::{
    ConnectionSpec, NodeAddress, PasswordSource, RedisAddress, RedisSpec, Secret, SentinelAuth,
    SshAuth, SshHop, SshSpec, TlsSpec, parse_url,
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
    /// Remembered in the OS keyring.
    Keyring,
    /// Remembered in the vault file.
    Vault,
}

impl PasswordMode {
    /// The store a remembered password is kept in.
    #[must_use]
    pub fn store(self) -> Option<crate::config::secrets::StoreKind> {
        match self {
            Self::Keyring => Some(crate::config::secrets::StoreKind::Keyring),
            Self::Vault => Some(crate::config::secrets::StoreKind::Vault),
            Self::None | Self::Ask | Self::Env => None,
        }
    }
}

/// How the sentinels are logged in to, as the form offers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SentinelAuthMode {
    /// No password.
    None,
    /// The data nodes' user and password.
    Same,
    /// A password of their own, from an environment variable.
    Env,
}

/// How the form logs in to the SSH host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SshAuthMode {
    /// As ssh does: the agent, then the usual key files.
    Auto,
    /// Only the agent's keys.
    Agent,
    /// A key file.
    Key,
    /// A password (asked, or from a variable).
    Password,
}

/// The kind of cache a profile form describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormKind {
    /// A Redis server.
    Redis,
    /// A Redis Cluster (its seed nodes go in `servers`).
    RedisCluster,
    /// A Sentinel group (its sentinels go in `servers`, the primary's name in `master`).
    RedisSentinel,
    /// A memcached server or pool.
    Memcached,
    /// A file cache directory.
    File,
    /// A cache table (the URL goes in `servers`).
    Sql,
    /// A DreamFactory cache service through its API (the URL goes in `servers`, the API key
    /// is the password).
    DreamFactory,
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

/// A field of the form that can be wrong (its message is shown beside it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// The profile name.
    Name,
    /// The database URL, the directory, or the memcached servers.
    Target,
    /// The Redis host.
    Host,
    /// The Redis port.
    Port,
    /// The unix socket path.
    Socket,
    /// The password's environment variable.
    EnvVar,
    /// The database index.
    Db,
    /// The connect timeout.
    ConnectTimeout,
    /// The command timeout.
    CommandTimeout,
    /// A cluster's address map.
    AddressMap,
    /// A Sentinel group's primary name.
    Master,
    /// The variable of the sentinels' password.
    SentinelEnv,
    /// The SSH host.
    SshHost,
    /// The SSH jump hosts.
    SshJumps,
    /// The SSH key file.
    SshKey,
    /// The variable of the SSH password.
    SshPasswordEnv,
    /// The group name.
    Group,
}

/// What is wrong with the form's fields, field by field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems(Vec<(Field, String)>);

impl Problems {
    /// The problem of one field.
    #[must_use]
    pub fn get(&self, field: Field) -> Option<&str> {
        self.0
            .iter()
            .find_map(|(f, m)| (*f == field).then_some(m.as_str()))
    }

    /// True when every field is fine.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The first problem, in the order of the form.
    #[must_use]
    pub fn first(&self) -> Option<&str> {
        self.0.first().map(|(_, m)| m.as_str())
    }

    fn add(&mut self, field: Field, message: impl Into<String>) {
        if self.get(field).is_none() {
            self.0.push((field, message.into()));
        }
    }
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
    /// Cluster nodes that announce unreachable addresses and where to reach them instead, one
    /// `announced=reachable` (`host:port=host:port`) per line or comma.
    pub address_map: String,
    /// List a cluster's keys from replicas.
    pub scan_replicas: bool,
    /// The name the sentinels know the primary by.
    pub master: String,
    /// The sentinels' own user name (empty: none).
    pub sentinel_user: String,
    /// How the sentinels are logged in to.
    pub sentinel_auth: SentinelAuthMode,
    /// The variable holding the sentinels' password.
    pub sentinel_env: String,
    /// Browse a replica of the Sentinel group's primary.
    pub sentinel_replica: bool,
    /// Reach the cache through an SSH tunnel.
    pub ssh: bool,
    /// `user@host:port` or a `~/.ssh/config` alias.
    pub ssh_host: String,
    /// How to log in there.
    pub ssh_auth: SshAuthMode,
    /// The key file (for [`SshAuthMode::Key`]).
    pub ssh_key: String,
    /// The variable holding the SSH password (empty: ask when connecting).
    pub ssh_password_env: String,
    /// Jump hosts, comma-separated, in order.
    pub ssh_jumps: String,
    /// The known-hosts file (empty: `~/.ssh/known_hosts`).
    pub ssh_known_hosts: String,
    /// Where the SSH key passphrase and the SSH password are remembered (kept as they are:
    /// the form has no fields for them; the SSH dialog's Remember sets them).
    pub ssh_stored: (PasswordSource, PasswordSource),
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
    /// The group (folder) the profile is listed under; empty for the top level.
    pub group: String,
    /// A Redis key prefix the app puts before every key (empty: none).
    pub key_prefix: String,
    /// Why the form could not be saved, for reasons no field shows (the file could not be
    /// written).
    pub error: Option<String>,
    /// Connection test progress.
    pub test: TestStatus,
    /// The profile the last test ran with: its result is shown only while the fields still
    /// describe it.
    pub tested: Option<Profile>,
    /// Fields the user has changed: their problems show at once; the others only after a
    /// save or a test was tried.
    pub touched: std::collections::HashSet<Field>,
    /// A save or a test was tried.
    pub attempted: bool,
    /// Why the pasted URL could not fill the form (shown beside it until it is edited).
    pub url_error: Option<String>,
    /// An admin session token typed for *Discover* (DreamFactory); never saved.
    pub df_token: String,
    /// What *Discover* found.
    pub discovery: Discovery,
}

/// A DreamFactory instance's services, as *Discover* found them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Discovery {
    /// Not asked.
    #[default]
    Idle,
    /// Waiting for this request.
    Running(ReqId),
    /// The cache services.
    Found(Vec<crate::backend::dreamfactory::FoundService>),
    /// Why they could not be listed.
    Failed(String),
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
        let (kind, spec, servers) = kind_of(profile, &default_redis);
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
            RedisAddress::Cluster { .. } | RedisAddress::Sentinel { .. } => (
                false,
                "127.0.0.1".to_owned(),
                "6379".to_owned(),
                String::new(),
            ),
        };
        // The connection's own (a DreamFactory API key's, too), not the Redis defaults'.
        let (password_mode, env_var) = match profile.connection.password_source() {
            PasswordSource::None => (PasswordMode::None, String::new()),
            PasswordSource::Prompt => (PasswordMode::Ask, String::new()),
            PasswordSource::Env(v) => (PasswordMode::Env, v.clone()),
            PasswordSource::Keyring => (PasswordMode::Keyring, String::new()),
            PasswordSource::Vault => (PasswordMode::Vault, String::new()),
        };
        let mut form = Self {
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
            address_map: String::new(),
            scan_replicas: false,
            master: "mymaster".to_owned(),
            sentinel_user: String::new(),
            sentinel_auth: SentinelAuthMode::None,
            sentinel_env: String::new(),
            sentinel_replica: false,
            ssh: false,
            ssh_host: String::new(),
            ssh_auth: SshAuthMode::Auto,
            ssh_key: String::new(),
            ssh_password_env: String::new(),
            ssh_jumps: String::new(),
            ssh_known_hosts: String::new(),
            ssh_stored: (PasswordSource::None, PasswordSource::None),
            default_pattern: profile.default_pattern.clone(),
            delimiter: profile.delimiter.clone(),
            read_only: profile.read_only,
            production: profile.production,
            color: profile.color,
            group: profile.group.clone().unwrap_or_default(),
            key_prefix: spec.key_prefix.clone().unwrap_or_default(),
            error: None,
            test: TestStatus::Idle,
            tested: None,
            touched: std::collections::HashSet::new(),
            attempted: false,
            url_error: None,
            df_token: String::new(),
            discovery: Discovery::Idle,
        };
        form.set_topology(spec);
        if let Some(ssh) = &profile.ssh {
            form.set_ssh(ssh);
        }
        form
    }

    /// The SSH fields of a tunnel spec.
    fn set_ssh(&mut self, ssh: &SshSpec) {
        self.ssh = true;
        self.ssh_host = ssh.hop.to_string();
        (self.ssh_auth, self.ssh_key, self.ssh_password_env) = match &ssh.auth {
            SshAuth::Auto => (SshAuthMode::Auto, String::new(), String::new()),
            SshAuth::Agent => (SshAuthMode::Agent, String::new(), String::new()),
            SshAuth::Key(path) => (SshAuthMode::Key, path.display().to_string(), String::new()),
            SshAuth::Password(PasswordSource::Env(var)) => {
                (SshAuthMode::Password, String::new(), var.clone())
            }
            SshAuth::Password(_) => (SshAuthMode::Password, String::new(), String::new()),
        };
        let password = match &ssh.auth {
            SshAuth::Password(source) if source.store().is_some() => source.clone(),
            _ => PasswordSource::None,
        };
        self.ssh_stored = (ssh.passphrase.clone(), password);
        self.ssh_jumps = ssh
            .jumps
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        self.ssh_known_hosts = ssh
            .known_hosts
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
    }

    /// The tunnel the SSH fields describe (`None` when it is off).
    ///
    /// # Errors
    /// A host is not `user@host:port`, or the key mode has no file.
    pub fn ssh_spec(&self) -> Result<Option<SshSpec>, (Field, String)> {
        if !self.ssh {
            return Ok(None);
        }
        if self.kind == FormKind::File {
            return Err((
                Field::SshHost,
                "a file cache is on this machine's disk: it has no SSH tunnel".to_owned(),
            ));
        }
        if self.ssh_host.trim().is_empty() {
            return Err((
                Field::SshHost,
                "give the SSH host (user@host:port or a ~/.ssh/config alias)".to_owned(),
            ));
        }
        let hop = SshHop::parse(&self.ssh_host).map_err(|e| (Field::SshHost, e))?;
        let jumps = self
            .ssh_jumps
            .split(',')
            .filter(|j| !j.trim().is_empty())
            .map(SshHop::parse)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| (Field::SshJumps, e))?;
        let auth = match self.ssh_auth {
            SshAuthMode::Auto => SshAuth::Auto,
            SshAuthMode::Agent => SshAuth::Agent,
            SshAuthMode::Key => match self.ssh_key.trim() {
                "" => return Err((Field::SshKey, "give the private key file".to_owned())),
                path => SshAuth::Key(path.into()),
            },
            SshAuthMode::Password => match variable_name(&self.ssh_password_env) {
                "" if self.ssh_stored.1.store().is_some() => {
                    SshAuth::Password(self.ssh_stored.1.clone())
                }
                "" => SshAuth::Password(PasswordSource::Prompt),
                var if var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
                    SshAuth::Password(PasswordSource::Env(var.to_owned()))
                }
                _ => {
                    return Err((
                        Field::SshPasswordEnv,
                        "a variable name has only letters, digits and _".to_owned(),
                    ));
                }
            },
        };
        Ok(Some(SshSpec {
            hop,
            jumps,
            auth,
            known_hosts: Some(self.ssh_known_hosts.trim())
                .filter(|p| !p.is_empty())
                .map(Into::into),
            passphrase: self.ssh_stored.0.clone(),
            ..SshSpec::default()
        }))
    }

    /// The cluster and Sentinel fields of a spec.
    fn set_topology(&mut self, spec: &RedisSpec) {
        self.address_map = spec
            .cluster
            .address_map
            .iter()
            .map(|(from, to)| format!("{from}={to}"))
            .collect::<Vec<_>>()
            .join("\n");
        self.scan_replicas = spec.cluster.scan_replicas;
        if let RedisAddress::Sentinel { master, .. } = &spec.address {
            self.master.clone_from(master);
        }
        self.sentinel_user = spec.sentinel.username.clone().unwrap_or_default();
        (self.sentinel_auth, self.sentinel_env) = match &spec.sentinel.password {
            SentinelAuth::None => (SentinelAuthMode::None, String::new()),
            SentinelAuth::SameAsData => (SentinelAuthMode::Same, String::new()),
            SentinelAuth::Env(var) => (SentinelAuthMode::Env, var.clone()),
        };
        self.sentinel_replica = spec.sentinel.replica;
    }

    /// Whether the problem of `field` is shown now.
    #[must_use]
    pub fn shows(&self, field: Field) -> bool {
        self.attempted || self.touched.contains(&field)
    }

    /// The last test's result, while the fields still describe what was tested.
    #[must_use]
    pub fn test_result(&self) -> &TestStatus {
        match (&self.test, &self.tested) {
            (TestStatus::Running(_), _) => &self.test,
            (_, Some(tested)) if self.to_profile().ok().as_ref() == Some(tested) => &self.test,
            _ => &TestStatus::Idle,
        }
    }

    /// A group name follows the rules of profile names (it is listed the same way).
    fn group_problem(&self, p: &mut Problems) {
        if let Err(e) = crate::config::profiles::group_name(&self.group) {
            p.add(Field::Group, e);
        }
    }

    /// What is wrong with the fields, each beside its field. `taken` says whether another
    /// profile has a name already.
    #[must_use]
    pub fn problems(&self, taken: &dyn Fn(&str) -> bool) -> Problems {
        let mut p = Problems::default();
        match crate::config::profiles::check_name(&self.name) {
            Err(e) => p.add(Field::Name, e.to_string()),
            Ok(())
                if self.original_name.as_deref() != Some(self.name.as_str())
                    && taken(&self.name) =>
            {
                p.add(
                    Field::Name,
                    format!("a profile named `{}` exists already", self.name),
                );
            }
            Ok(()) => {}
        }
        self.group_problem(&mut p);
        let whole = |text: &str| text.trim().parse::<u64>().ok();
        match self.kind {
            FormKind::Sql => match self.servers.trim() {
                "" => p.add(
                    Field::Target,
                    "give a sqlite://, postgres:// or mysql:// URL",
                ),
                url => match parse_url(url) {
                    Ok((ConnectionSpec::Sql(_), _)) => {}
                    Ok(_) => p.add(
                        Field::Target,
                        "give a sqlite://, postgres:// or mysql:// URL",
                    ),
                    Err(e) => p.add(Field::Target, e.to_string()),
                },
            },
            FormKind::DreamFactory => self.dreamfactory_problems(&mut p),
            FormKind::File => {
                let dir = self.servers.trim();
                if dir.is_empty() {
                    p.add(Field::Target, "give the cache directory");
                } else if let Err(e) = parse_url(&format!("file://{dir}")) {
                    p.add(Field::Target, e.to_string());
                }
            }
            FormKind::Memcached => {
                if let Some(problem) = memcached_servers_problem(&self.servers) {
                    p.add(Field::Target, problem);
                }
            }
            FormKind::Redis => self.redis_problems(&mut p),
            FormKind::RedisSentinel => {
                if let Err(e) = node_addresses(&self.servers) {
                    p.add(Field::Target, e);
                }
                if self.master.trim().is_empty() {
                    p.add(
                        Field::Master,
                        "name the primary the sentinels watch (mymaster)",
                    );
                }
                if self.sentinel_auth == SentinelAuthMode::Env
                    && variable_name(&self.sentinel_env).is_empty()
                {
                    p.add(
                        Field::SentinelEnv,
                        "name the variable that holds the sentinels' password",
                    );
                }
                self.redis_problems(&mut p);
            }
            FormKind::RedisCluster => {
                if let Err(e) = node_addresses(&self.servers) {
                    p.add(Field::Target, e);
                }
                if let Err(e) = address_map(&self.address_map) {
                    p.add(Field::AddressMap, e);
                }
                self.redis_problems(&mut p);
            }
        }
        if let Err((field, problem)) = self.ssh_spec() {
            p.add(field, problem);
        }
        for (field, text, what) in [
            (
                Field::ConnectTimeout,
                &self.connect_timeout_ms,
                "the connect timeout",
            ),
            (
                Field::CommandTimeout,
                &self.command_timeout_ms,
                "the command timeout",
            ),
        ] {
            if whole(text).is_none_or(|ms| ms == 0) {
                p.add(
                    field,
                    format!("{what} is a whole number of milliseconds, 1 or more"),
                );
            }
        }
        p
    }

    fn redis_problems(&self, p: &mut Problems) {
        if matches!(self.kind, FormKind::RedisCluster | FormKind::RedisSentinel) {
            // The seeds (or sentinels) stand for host and port.
        } else if self.use_unix {
            if self.unix_path.trim().is_empty() {
                p.add(Field::Socket, "give the socket path");
            }
        } else {
            if self.host.trim().is_empty() {
                p.add(Field::Host, "give the host name or address");
            }
            match self.port.trim() {
                "" => p.add(
                    Field::Port,
                    "give the port (Redis listens on 6379 by default)",
                ),
                port => {
                    if port.parse::<u16>().ok().is_none_or(|n| n == 0) {
                        p.add(
                            Field::Port,
                            format!("`{port}` is not a port: use 1 to 65535"),
                        );
                    }
                }
            }
        }
        self.env_var_problem(p);
        if self.db.trim().parse::<u32>().is_err() {
            p.add(
                Field::Db,
                format!("`{}` is not a database index: use 0, 1, 2…", self.db.trim()),
            );
        }
    }

    /// What is wrong with a DreamFactory service's URL (the API key belongs in its own field).
    fn dreamfactory_problems(&self, p: &mut Problems) {
        const EXAMPLE: &str =
            "give the service's URL, like dreamfactory+https://df.example.com/api/v2/cache";
        match parse_url(self.servers.trim()) {
            _ if self.servers.trim().is_empty() => p.add(Field::Target, EXAMPLE),
            Ok((ConnectionSpec::DreamFactory(df), key)) => {
                if key.is_some() || df.api_key != PasswordSource::None {
                    p.add(
                        Field::Target,
                        "leave the API key out of the URL: it goes in the API key field below",
                    );
                }
            }
            Ok(_) => p.add(Field::Target, EXAMPLE),
            Err(e) => p.add(Field::Target, e.to_string()),
        }
        self.env_var_problem(p);
    }

    /// The variable the password (or API key) is read from, when that is its source.
    fn env_var_problem(&self, p: &mut Problems) {
        if self.password_mode == PasswordMode::Env {
            let var = variable_name(&self.env_var);
            if var.is_empty() {
                p.add(Field::EnvVar, "name the variable that holds the password");
            } else if !var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                p.add(
                    Field::EnvVar,
                    "a variable name has only letters, digits and _",
                );
            }
        }
    }

    /// Fills the fields from the pasted URL. An inline password goes to the session-only
    /// password field and the mode becomes "ask".
    ///
    /// # Errors
    /// The URL cannot be parsed; the fields are left as they were.
    pub fn apply_url(&mut self) -> Result<(), String> {
        let (spec, password) = parse_url(&self.url).map_err(|e| e.to_string())?;
        let shown = spec.display_url();
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
            // The secret moved to its masked field: the pasted URL no longer shows it.
            self.url = shown;
        }
        Ok(())
    }

    /// The profile these fields describe.
    ///
    /// # Errors
    /// A field is empty or not a number where one is needed.
    pub fn to_profile(&self) -> Result<Profile, String> {
        if let Some(problem) = self.problems(&|_| false).first() {
            return Err(problem.to_owned());
        }
        let name = self.name.trim();
        let number = whole_number;
        if self.kind == FormKind::Sql {
            let (mut spec, _) = parse_url(self.servers.trim()).map_err(|e| e.to_string())?;
            let ConnectionSpec::Sql(q) = &mut spec else {
                return Err("give a sqlite://, postgres:// or mysql:// URL".to_owned());
            };
            q.connect_timeout_ms = number(&self.connect_timeout_ms, "the connect timeout")?.max(1);
            q.command_timeout_ms = number(&self.command_timeout_ms, "the command timeout")?.max(1);
            return Ok(self.finish_profile(name, spec));
        }
        if self.kind == FormKind::DreamFactory {
            let spec = ConnectionSpec::DreamFactory(self.dreamfactory_spec()?);
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
        let address = if self.kind == FormKind::RedisSentinel {
            if self.master.trim().is_empty() {
                return Err("name the primary the sentinels watch".to_owned());
            }
            RedisAddress::Sentinel {
                sentinels: node_addresses(&self.servers)?,
                master: self.master.trim().to_owned(),
            }
        } else if self.kind == FormKind::RedisCluster {
            RedisAddress::Cluster {
                seeds: node_addresses(&self.servers)?,
            }
        } else if self.use_unix {
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
        let password = self.password_source()?;
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
            cluster: self.cluster_options()?,
            sentinel: self.sentinel_options(),
            key_prefix: Some(self.key_prefix.clone()).filter(|p| !p.is_empty()),
        };
        Ok(self.finish_profile(name, ConnectionSpec::Redis(spec)))
    }

    /// The DreamFactory service the fields describe: the URL's, with the timeouts and the API
    /// key's source from their own fields.
    pub(super) fn dreamfactory_spec(
        &self,
    ) -> Result<crate::config::connection::DreamFactorySpec, String> {
        let (spec, _) = parse_url(self.servers.trim()).map_err(|e| e.to_string())?;
        let ConnectionSpec::DreamFactory(mut df) = spec else {
            return Err("give a dreamfactory+https:// URL".to_owned());
        };
        df.connect_timeout_ms =
            whole_number(&self.connect_timeout_ms, "the connect timeout")?.max(1);
        df.command_timeout_ms =
            whole_number(&self.command_timeout_ms, "the command timeout")?.max(1);
        df.api_key = self.password_source()?;
        Ok(df)
    }

    pub(super) fn password_source(&self) -> Result<PasswordSource, String> {
        Ok(match self.password_mode {
            PasswordMode::None => PasswordSource::None,
            PasswordMode::Ask => PasswordSource::Prompt,
            PasswordMode::Keyring => PasswordSource::Keyring,
            PasswordMode::Vault => PasswordSource::Vault,
            PasswordMode::Env => {
                let var = variable_name(&self.env_var);
                if var.is_empty() {
                    return Err("name the environment variable that holds the password".to_owned());
                }
                PasswordSource::Env(var.to_owned())
            }
        })
    }

    fn sentinel_options(&self) -> crate::config::connection::SentinelOptions {
        if self.kind != FormKind::RedisSentinel {
            return crate::config::connection::SentinelOptions::default();
        }
        crate::config::connection::SentinelOptions {
            username: (!self.sentinel_user.trim().is_empty())
                .then(|| self.sentinel_user.trim().to_owned()),
            password: match self.sentinel_auth {
                SentinelAuthMode::None => SentinelAuth::None,
                SentinelAuthMode::Same => SentinelAuth::SameAsData,
                SentinelAuthMode::Env => {
                    SentinelAuth::Env(variable_name(&self.sentinel_env).to_owned())
                }
            },
            replica: self.sentinel_replica,
        }
    }

    fn cluster_options(&self) -> Result<crate::config::connection::ClusterOptions, String> {
        Ok(if self.kind == FormKind::RedisCluster {
            crate::config::connection::ClusterOptions {
                address_map: address_map(&self.address_map)?,
                scan_replicas: self.scan_replicas,
            }
        } else {
            crate::config::connection::ClusterOptions::default()
        })
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
        // Checked by `problems` (a name refused there never gets here).
        profile.group = crate::config::profiles::group_name(&self.group)
            .ok()
            .flatten();
        // Checked by `problems` before any profile is made.
        profile.ssh = self.ssh_spec().ok().flatten();
        profile
    }

    /// The password typed in the form, if the mode takes one (for this session, or to be
    /// remembered).
    #[must_use]
    pub fn typed_password(&self) -> Option<Secret> {
        let takes = matches!(
            self.password_mode,
            PasswordMode::Ask | PasswordMode::Keyring | PasswordMode::Vault
        );
        (takes && !self.password.is_empty()).then(|| Secret::new(self.password.clone()))
    }
}

/// The form kind of a profile, its Redis settings (the defaults for other kinds) and what
/// its `servers` field shows.
fn kind_of<'a>(
    profile: &'a Profile,
    default_redis: &'a RedisSpec,
) -> (FormKind, &'a RedisSpec, String) {
    match &profile.connection {
        ConnectionSpec::Redis(spec) => match &spec.address {
            RedisAddress::Cluster { seeds } => (
                FormKind::RedisCluster,
                spec,
                crate::config::connection::node_list(seeds, ", "),
            ),
            RedisAddress::Sentinel { sentinels, .. } => (
                FormKind::RedisSentinel,
                spec,
                crate::config::connection::node_list(sentinels, ", "),
            ),
            _ => (FormKind::Redis, spec, String::new()),
        },
        ConnectionSpec::Memcached(m) => (
            FormKind::Memcached,
            default_redis,
            m.servers
                .iter()
                .map(crate::config::connection::MemcachedAddress::label)
                .collect::<Vec<_>>()
                .join(", "),
        ),
        ConnectionSpec::File(f) => {
            // A sessions directory keeps its lifetime as the URL writes it.
            let lifetime = f
                .session_lifetime_min
                .map(|m| format!("?session_lifetime={m}"))
                .unwrap_or_default();
            (
                FormKind::File,
                default_redis,
                format!("{}{lifetime}", f.dir.display()),
            )
        }
        ConnectionSpec::Sql(_) => (
            FormKind::Sql,
            default_redis,
            profile.connection.display_url(),
        ),
        ConnectionSpec::DreamFactory(df) => {
            // The URL without the key variable: the key is the password rows' to show.
            let bare = crate::config::connection::DreamFactorySpec {
                api_key: PasswordSource::None,
                ..df.clone()
            };
            (FormKind::DreamFactory, default_redis, bare.display_url())
        }
    }
}

/// A whole number typed in a field named `what`.
fn whole_number(text: &str, what: &str) -> Result<u64, String> {
    text.trim()
        .parse::<u64>()
        .map_err(|_| format!("{what} must be a whole number, not `{}`", text.trim()))
}

/// The name of an environment variable as typed, `NAME` or `${NAME}`.
fn variable_name(text: &str) -> &str {
    text.trim().trim_start_matches("${").trim_end_matches('}')
}

/// Node addresses (a cluster's seeds, a Sentinel group's sentinels), `host:port` separated
/// by commas.
fn node_addresses(list: &str) -> Result<Vec<NodeAddress>, String> {
    let mut seeds = Vec::new();
    for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        seeds.push(NodeAddress::parse(entry).ok_or_else(|| {
            format!("`{entry}` is not a node: write host:port, several separated by commas")
        })?);
    }
    if seeds.is_empty() {
        return Err("give at least one node of the cluster (host:port)".to_owned());
    }
    Ok(seeds)
}

/// A cluster's address map: `announced=reachable` pairs, one per line or comma.
fn address_map(text: &str) -> Result<Vec<(NodeAddress, NodeAddress)>, String> {
    text.split(['\n', ','])
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|entry| {
            entry
                .split_once('=')
                .and_then(|(from, to)| Some((NodeAddress::parse(from)?, NodeAddress::parse(to)?)))
                .ok_or_else(|| {
                    format!(
                        "`{entry}`: write the address a node announces, `=`, and where to reach \
                         it (10.0.0.5:6379=127.0.0.1:7001)"
                    )
                })
        })
        .collect()
}

/// What is wrong with a memcached server list, if anything: each entry `host:port` (or one
/// socket path), the port from 1 to 65535.
fn memcached_servers_problem(list: &str) -> Option<String> {
    let list = list.trim();
    if list.is_empty() {
        return Some("give at least one server (host:port)".to_owned());
    }
    if list.starts_with('/') {
        return None;
    }
    for entry in list.split(',').map(str::trim) {
        if entry.is_empty() {
            return Some("an empty entry between commas: remove the extra comma".to_owned());
        }
        let Some((host, port)) = entry.rsplit_once(':') else {
            return Some(format!("`{entry}` needs a port: {entry}:11211"));
        };
        if host.trim_matches(['[', ']']).is_empty() {
            return Some(format!("`{entry}` needs a host before the port"));
        }
        if port.parse::<u16>().ok().is_none_or(|n| n == 0) {
            return Some(format!("`{entry}`: `{port}` is not a port: use 1 to 65535"));
        }
    }
    let url = format!("memcached://{}", list.replace(' ', ""));
    parse_url(&url).err().map(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redis_form() -> ProfileForm {
        ProfileForm {
            name: "local".into(),
            ..ProfileForm::default()
        }
    }

    #[test]
    fn each_field_says_what_is_wrong_with_it_and_only_it() {
        let f = redis_form();
        assert!(
            f.problems(&|_| false).is_empty(),
            "{:?}",
            f.problems(&|_| false)
        );
        let mut bad = redis_form();
        bad.host = " ".into();
        bad.port = "99999".into();
        bad.db = "x".into();
        let p = bad.problems(&|_| false);
        assert_eq!(p.get(Field::Host), Some("give the host name or address"));
        assert!(p.get(Field::Port).is_some_and(|m| m.contains("1 to 65535")));
        assert!(p.get(Field::Db).is_some());
        assert!(p.get(Field::Name).is_none());
        let mut edited = redis_form();
        edited.original_name = Some("local".into());
        let p = edited.problems(&|n| n == "local");
        assert!(p.get(Field::Name).is_none(), "its own name is no clash");
        assert!(
            redis_form()
                .problems(&|n| n == "local")
                .get(Field::Name)
                .is_some()
        );
    }

    #[test]
    fn a_cluster_form_makes_a_cluster_profile_and_reads_back_the_same() {
        let mut f = redis_form();
        f.kind = FormKind::RedisCluster;
        f.servers = "10.0.0.1:7000, node-b:7001".into();
        f.address_map = "10.0.0.1:7000=127.0.0.1:17000\nnode-b:7001=127.0.0.1:17001".into();
        f.scan_replicas = true;
        let profile = f.to_profile().expect("a cluster profile");
        let ConnectionSpec::Redis(spec) = &profile.connection else {
            panic!("not redis");
        };
        assert_eq!(
            spec.address,
            RedisAddress::Cluster {
                seeds: vec![
                    NodeAddress::new("10.0.0.1", 7000),
                    NodeAddress::new("node-b", 7001)
                ]
            }
        );
        assert_eq!(spec.cluster.address_map.len(), 2);
        assert!(spec.cluster.scan_replicas);
        let again = ProfileForm::from_profile(&profile);
        assert_eq!(again.kind, FormKind::RedisCluster);
        assert_eq!(again.to_profile().expect("again"), profile);

        f.address_map = "10.0.0.1:7000 -> 127.0.0.1".into();
        f.servers = "nohost".into();
        let p = f.problems(&|_| false);
        assert!(
            p.get(Field::AddressMap)
                .is_some_and(|m| m.contains("10.0.0.5:6379"))
        );
        assert!(
            p.get(Field::Target)
                .is_some_and(|m| m.contains("host:port"))
        );
    }

    #[test]
    fn a_sentinel_form_makes_a_sentinel_profile_and_reads_back_the_same() {
        let mut f = redis_form();
        f.kind = FormKind::RedisSentinel;
        f.servers = "s1:26379, s2:26380".into();
        f.master = "cache-primary".into();
        f.sentinel_auth = SentinelAuthMode::Env;
        f.sentinel_env = "${SENTINEL_PW}".into();
        f.sentinel_replica = true;
        f.key_prefix = "laravel_database_laravel_cache:".into();
        f.group = " Production ".into();
        let profile = f.to_profile().expect("a sentinel profile");
        assert_eq!(
            profile.connection.display_url(),
            "redis+sentinel://s1:26379,s2:26380/cache%2Dprimary/0?sentinel_password=${SENTINEL_PW}&replica=yes&key_prefix=laravel%5Fdatabase%5Flaravel%5Fcache%3A"
        );
        assert_eq!(profile.group.as_deref(), Some("Production"));
        let again = ProfileForm::from_profile(&profile);
        assert_eq!(again.kind, FormKind::RedisSentinel);
        assert_eq!(again.to_profile().expect("again"), profile);
        f.master = " ".into();
        f.sentinel_env = String::new();
        let p = f.problems(&|_| false);
        assert!(p.get(Field::Master).is_some());
        assert!(p.get(Field::SentinelEnv).is_some());
    }

    #[test]
    fn memcached_servers_are_checked_entry_by_entry() {
        assert_eq!(memcached_servers_problem("a:11211, b:11211"), None);
        assert_eq!(memcached_servers_problem("/run/memcached.sock"), None);
        let p = memcached_servers_problem("a:11211, b:99999").expect("a problem");
        assert!(p.contains("b:99999") && p.contains("1 to 65535"), "{p}");
        assert!(memcached_servers_problem("a").is_some_and(|p| p.contains("needs a port")));
        assert!(memcached_servers_problem("a:1,,b:2").is_some_and(|p| p.contains("comma")));
        assert!(memcached_servers_problem(":11211").is_some_and(|p| p.contains("host")));
    }

    #[test]
    fn a_test_result_shows_only_while_the_fields_describe_what_was_tested() {
        let mut f = redis_form();
        f.tested = f.to_profile().ok();
        f.test = TestStatus::Ok("Redis 7".into());
        assert_eq!(f.test_result(), &TestStatus::Ok("Redis 7".into()));
        f.port = "6380".into();
        assert_eq!(
            f.test_result(),
            &TestStatus::Idle,
            "a changed field hides it"
        );
    }
}
