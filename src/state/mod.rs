//! Everything the UI shows, as plain Rust with no egui in it, so it can be unit-tested.
//!
//! State methods never talk to the service directly: they queue commands in an outbox that
//! the app flushes each frame, and [`AppState::apply`] folds service events back in. An event
//! for a closed connection, or for a request that has been superseded, is dropped there.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::backend::{BackendError, Capabilities};
use crate::config::connection::{
    ConnectionSpec, PasswordSource, RedisAddress, RedisSpec, Secret, TlsSpec, parse_url,
};
use crate::core::edit::ValueEditor;
use crate::core::escape::{escape_bytes, pattern_to_glob};
use crate::core::keyindex::{Filter, KeyId, KeyIndex, NodeId, TreeRow};
use crate::core::model::{
    DbInfo, DumpedKey, KeyDetails, KeyMeta, KeyType, PageCursor, ScanRequest, Ttl, ValueItems,
    WriteOp,
};
use crate::config::profiles::{Profile, ProfileStore};
use crate::service::{CommandKind, ConnId, Event, EventKind, ReqId, ScanState};

mod analysis;
mod metrics;
mod server;
mod writes;

pub use analysis::{AnalysisView, DEFAULT_SAMPLE, TOP_KEYS};
pub use metrics::{Compare, DEFAULT_INTERVAL_SECS, Dashboard, INTERVAL_RANGE, write_csv};
pub use server::{Loadable, SLOW_LOG_COUNT, ServerInfoView, ServerTab};
pub use writes::{ConflictChoice, EDIT_MODES, PREVIEW_SAMPLE, UNDO_LIMIT};

/// Keys listed before a listing pauses and waits for "Continue" or "Load all".
pub const DEFAULT_BATCH_LIMIT: u64 = 10_000;
/// Items per page in the value viewer.
pub const VALUE_PAGE_SIZE: u32 = 200;
/// Keys examined per SCAN round trip.
pub const SCAN_COUNT: u32 = 1000;
/// How often the tree is rebuilt while keys are still streaming in.
const TREE_REFRESH: Duration = Duration::from_millis(250);

/// How serious a notice is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// For information.
    Info,
    /// Something the user should know about.
    Warning,
    /// Something failed.
    Error,
}

/// A message shown in the notice bar until dismissed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Severity.
    pub level: Level,
    /// What to say.
    pub text: String,
}

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
        let (connect_timeout_ms, command_timeout_ms) = match &profile.connection {
            ConnectionSpec::Redis(r) => (r.connect_timeout_ms, r.command_timeout_ms),
            ConnectionSpec::Memcached(m) => (m.connect_timeout_ms, m.command_timeout_ms),
            ConnectionSpec::File(_) => (5_000, 10_000),
            ConnectionSpec::Sql(q) => (q.connect_timeout_ms, q.command_timeout_ms),
        };
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

/// The password dialog shown when a profile asks for its password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPrompt {
    /// The profile being connected.
    pub profile: String,
    /// What the user typed so far.
    pub text: String,
}

/// Connection state of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionStatus {
    /// Waiting for the server.
    Connecting,
    /// Open.
    Connected,
    /// Could not connect; the reason.
    Failed(String),
}

/// Where a key listing stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanPhase {
    /// Nothing listed yet.
    Idle,
    /// Batches are arriving.
    Running,
    /// Reached the batch limit; can continue.
    Paused,
    /// The whole keyspace was visited.
    Done,
    /// The user stopped it.
    Stopped,
    /// It failed; the reason.
    Failed(String),
}

/// A key listing's progress.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanStatus {
    /// The request whose batches are accepted.
    pub req: ReqId,
    /// Phase.
    pub phase: ScanPhase,
    /// DBSIZE when the listing started.
    pub total_keys: u64,
    /// Share of the keyspace visited.
    pub progress: f64,
    /// Cursor to continue from.
    pub cursor: u64,
    /// The request it was started with (to continue it).
    pub request: Option<ScanRequest>,
}

impl ScanStatus {
    /// "scanned N of DBSIZE keys, M matched".
    #[must_use]
    pub fn summary(&self, matched: usize) -> String {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let scanned = if self.phase == ScanPhase::Done {
            self.total_keys
        } else {
            ((self.total_keys as f64) * self.progress).round() as u64
        };
        format!(
            "scanned {} of {} keys, {} matched",
            group_digits(scanned.min(self.total_keys)),
            group_digits(self.total_keys),
            group_digits(matched as u64)
        )
    }
}

/// `1234567` → `1,234,567`.
#[must_use]
pub fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Bytes as a short human size (`512 B`, `1.5 KiB`).
#[must_use]
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    #[allow(clippy::cast_precision_loss)]
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A TTL as text, counting down from when it was read.
#[must_use]
pub fn ttl_text(ttl: Ttl, read_at: Instant, now: Instant) -> String {
    match ttl {
        Ttl::Persistent => "no TTL".to_owned(),
        Ttl::ExpiresInMs(ms) => {
            let elapsed = u64::try_from(now.saturating_duration_since(read_at).as_millis())
                .unwrap_or(u64::MAX);
            let left = ms.saturating_sub(elapsed);
            if left == 0 {
                return "expired".to_owned();
            }
            let secs = left.div_ceil(1000);
            match secs {
                0..=59 => format!("{secs}s"),
                60..=3599 => format!("{}m {}s", secs / 60, secs % 60),
                3600..=86_399 => format!("{}h {}m", secs / 3600, (secs % 3600) / 60),
                _ => format!("{}d {}h", secs / 86_400, (secs % 86_400) / 3600),
            }
        }
    }
}

/// Which view of the loaded keys is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrowserView {
    /// One row per key.
    Flat,
    /// Grouped by delimiter.
    Tree,
}

/// Row facts of a key, as fetched.
#[derive(Debug, Clone, PartialEq)]
pub enum MetaSlot {
    /// Asked for.
    Pending,
    /// Known, read at this instant.
    Ready(KeyMeta, Instant),
    /// The key no longer exists.
    Gone,
    /// Reading them failed at this instant; asked again after [`META_RETRY`], not at once
    /// (a row that always fails must not turn into a request every frame).
    Failed(Instant),
}

/// How long rows whose facts could not be read wait before they are asked for again.
pub const META_RETRY: Duration = Duration::from_secs(5);

/// The key browser of one connection.
#[derive(Debug)]
pub struct Browser {
    /// Pattern as typed (Redis glob, plus `\xNN` bytes).
    pub pattern: String,
    /// Type restriction.
    pub type_filter: Option<KeyType>,
    /// The loaded keys.
    pub index: KeyIndex,
    /// Listing progress.
    pub scan: ScanStatus,
    /// Flat or tree.
    pub view: BrowserView,
    /// Filter text over loaded keys.
    pub filter_text: String,
    filter: Option<Filter>,
    /// Expanded namespaces.
    pub expanded: HashSet<NodeId>,
    tree_rows: Vec<TreeRow>,
    tree_dirty: bool,
    tree_built_at: Option<Instant>,
    /// Selected key.
    pub selected: Option<KeyId>,
    /// Selected namespace in the tree.
    pub selected_node: Option<NodeId>,
    meta: HashMap<KeyId, MetaSlot>,
    /// Tree delimiter as typed.
    pub delimiter: String,
    /// Keys per listing batch before pausing.
    pub batch_limit: u64,
    /// Keys marked for a multi-key delete (Ctrl+click).
    pub marked: std::collections::BTreeSet<KeyId>,
    /// A key name typed to open directly.
    pub open_name: String,
    /// List only the keys of this server of a pool.
    pub server_filter: Option<String>,
}

impl Browser {
    fn new(pattern: &str, delimiter: &str) -> Self {
        Self {
            pattern: pattern.to_owned(),
            type_filter: None,
            index: KeyIndex::new(delimiter),
            scan: ScanStatus {
                req: 0,
                phase: ScanPhase::Idle,
                total_keys: 0,
                progress: 0.0,
                cursor: 0,
                request: None,
            },
            view: BrowserView::Flat,
            filter_text: String::new(),
            filter: None,
            expanded: HashSet::new(),
            tree_rows: Vec::new(),
            tree_dirty: true,
            tree_built_at: None,
            selected: None,
            selected_node: None,
            meta: HashMap::new(),
            delimiter: delimiter.to_owned(),
            batch_limit: DEFAULT_BATCH_LIMIT,
            marked: std::collections::BTreeSet::new(),
            open_name: String::new(),
            server_filter: None,
        }
    }

    /// Marks deleted keys as gone (the list is append-only; a new search drops them).
    fn mark_gone(&mut self, keys: &[Bytes]) {
        for key in keys {
            if let Some(id) = self.index.find(key) {
                self.meta.insert(id, MetaSlot::Gone);
                self.marked.remove(&id);
            }
        }
    }

    /// Adds keys that now exist (created, copied, restored) and has their facts fetched anew.
    fn mark_present(&mut self, keys: &[Bytes]) {
        for key in keys {
            if let Ok(id) = self.index.insert(key) {
                self.meta.remove(&id);
            }
        }
        self.tree_dirty = true;
    }

    /// Rows in the flat view.
    #[must_use]
    pub fn flat_len(&self) -> usize {
        match &self.filter {
            Some(f) => f.matches().len(),
            None => self.index.len(),
        }
    }

    /// The key at a flat-view row.
    #[must_use]
    pub fn flat_key(&self, row: usize) -> Option<KeyId> {
        match &self.filter {
            Some(f) => f.matches().get(row).copied(),
            None => KeyId::try_from(row)
                .ok()
                .filter(|&id| (id as usize) < self.index.len()),
        }
    }

    /// The row of a key in the flat view, if shown.
    #[must_use]
    pub fn flat_row_of(&self, id: KeyId) -> Option<usize> {
        match &self.filter {
            Some(f) => f.matches().iter().position(|&k| k == id),
            None => ((id as usize) < self.index.len()).then_some(id as usize),
        }
    }

    /// Sets the filter text; an empty text removes the filter.
    pub fn set_filter(&mut self, text: &str) {
        text.clone_into(&mut self.filter_text);
        let needle = crate::core::escape::unescape(text).unwrap_or_else(|_| text.as_bytes().to_vec());
        self.filter = if needle.is_empty() {
            None
        } else {
            Some(Filter::new(&needle, self.filter.take()))
        };
        self.tree_dirty = true;
    }

    /// True while the filter is still testing keys.
    #[must_use]
    pub fn filter_running(&self) -> bool {
        self.filter
            .as_ref()
            .is_some_and(|f| !f.is_done(&self.index))
    }

    /// Whether a filter is active.
    #[must_use]
    pub fn filter_active(&self) -> bool {
        self.filter.is_some()
    }

    /// Advances the filter by at most `budget`. Call once per frame.
    pub fn step_filter(&mut self, budget: Duration) {
        if let Some(f) = &mut self.filter
            && !f.is_done(&self.index)
            && f.step(&self.index, budget)
        {
            self.tree_dirty = true;
        }
    }

    /// Matching keys below a namespace (all keys without a filter).
    #[must_use]
    pub fn node_count(&self, node: NodeId) -> u32 {
        match &self.filter {
            Some(f) => f.node_matches(node),
            None => self.index.node_count(node),
        }
    }

    /// Rebuilds the tree rows when something changed (at most every 250 ms while a listing
    /// streams in, so a big namespace is not re-sorted for every batch).
    pub fn refresh_tree(&mut self) {
        let throttled = self.scan.phase == ScanPhase::Running
            && self
                .tree_built_at
                .is_some_and(|t| t.elapsed() < TREE_REFRESH);
        if self.tree_dirty && !throttled {
            let expanded = &self.expanded;
            self.tree_rows = self
                .index
                .tree_rows(&|n| expanded.contains(&n), self.filter.as_ref());
            self.tree_dirty = false;
            self.tree_built_at = Some(Instant::now());
        }
    }

    /// The tree rows as of the last [`Self::refresh_tree`].
    #[must_use]
    pub fn tree_rows(&self) -> &[TreeRow] {
        &self.tree_rows
    }

    /// True when the tree will change on the next rebuild.
    #[must_use]
    pub fn tree_pending(&self) -> bool {
        self.tree_dirty
    }

    /// Expands or collapses a namespace.
    pub fn toggle(&mut self, node: NodeId) {
        if !self.expanded.remove(&node) {
            self.expanded.insert(node);
        }
        self.tree_dirty = true;
    }

    /// Regroups the tree by a new delimiter.
    pub fn set_delimiter(&mut self, delimiter: &str) {
        delimiter.clone_into(&mut self.delimiter);
        self.index.set_delimiter(delimiter);
        self.expanded.clear();
        self.selected_node = None;
        // Node ids changed: the filter's per-node counts must be recomputed.
        let text = self.filter_text.clone();
        self.filter = None;
        self.set_filter(&text);
        self.tree_dirty = true;
    }

    /// The row facts of a key, if fetched.
    #[must_use]
    pub fn meta(&self, id: KeyId) -> Option<&MetaSlot> {
        self.meta.get(&id)
    }

    /// Marks keys whose facts are unknown as pending and returns their names to fetch.
    pub fn take_meta_requests(&mut self, ids: &[KeyId]) -> Vec<Bytes> {
        let mut keys = Vec::new();
        for &id in ids {
            let due = match self.meta.get(&id) {
                None => true,
                Some(MetaSlot::Failed(at)) => at.elapsed() >= META_RETRY,
                Some(_) => false,
            };
            if (id as usize) < self.index.len() && due {
                self.meta.insert(id, MetaSlot::Pending);
                keys.push(Bytes::copy_from_slice(self.index.key(id)));
            }
        }
        keys
    }

    fn reset_keys(&mut self) {
        self.index = KeyIndex::new(&self.delimiter);
        self.meta.clear();
        self.marked.clear();
        self.expanded.clear();
        self.selected = None;
        self.selected_node = None;
        let text = self.filter_text.clone();
        self.filter = None;
        self.set_filter(&text);
        self.tree_dirty = true;
    }

    fn add_keys(&mut self, keys: &[Bytes]) -> Result<(), String> {
        self.index
            .extend(keys.iter().map(AsRef::as_ref))
            .map_err(|e| e.to_string())?;
        self.tree_dirty = true;
        Ok(())
    }
}

/// How a value is displayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueMode {
    /// Escaped text.
    Text,
    /// Pretty-printed JSON.
    Json,
    /// Hex dump.
    Hex,
    /// Decoded (PHP serialize, MessagePack, gzip, …): detected automatically (`None`) or as
    /// chosen.
    Decoded(Option<crate::core::decode::Format>),
}

/// The editor of a decoded value's scalars.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedEditor {
    /// How the value was decoded (to wrap it the same way when saving).
    pub steps: Vec<&'static str>,
    /// The decoded tree.
    pub node: crate::core::decode::Node,
    /// Paths of the editable scalars.
    pub paths: Vec<String>,
    /// Their values as edited.
    pub texts: Vec<String>,
    /// The stored bytes as loaded (for conflict detection).
    pub original: Bytes,
    /// Why the last save was refused.
    pub error: Option<String>,
}

/// Loading state of the value viewer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ViewerState {
    /// Waiting for the key.
    Loading,
    /// Shown.
    Loaded,
    /// Could not be read; the reason.
    Failed(String),
}

/// What a rendered value text was made from: mode, selected element, bytes/elements loaded.
pub type RenderKey = (ValueMode, Option<usize>, usize);

/// The value viewer of one key.
#[derive(Debug)]
pub struct Viewer {
    /// The key shown.
    pub key: Bytes,
    /// The request that opened it.
    pub req: ReqId,
    /// Loading state.
    pub state: ViewerState,
    /// Type, TTL, encoding, memory, length.
    pub details: Option<KeyDetails>,
    /// When the details were read (for the TTL countdown).
    pub read_at: Instant,
    /// Everything loaded so far.
    pub items: Option<ValueItems>,
    /// Hash fields and set members loaded so far, to drop the duplicates SCAN may return.
    pub seen: HashSet<Bytes>,
    /// Where the next page starts, if there is one.
    pub next: Option<PageCursor>,
    /// The page request in flight.
    pub page_req: Option<ReqId>,
    /// Pages loaded.
    pub pages: u32,
    /// Display mode.
    pub mode: ValueMode,
    /// Selected element of a collection (shown in full below the table).
    pub selected_item: Option<usize>,
    /// Result of "Save to file…".
    pub save_status: Option<String>,
    /// The save request in flight.
    pub save_req: Option<ReqId>,
    /// Rendered text of the shown value: (mode, item, loaded length) it was made for, text.
    pub render_cache: Option<(RenderKey, String)>,
    /// The string editor, when open.
    pub editor: Option<ValueEditor>,
    /// The decoded-value editor, when open.
    pub decoded_editor: Option<DecodedEditor>,
    /// A save refused because the value changed on the server meanwhile.
    pub conflict: Option<WriteOp>,
    /// Inputs of the key and element actions.
    pub inputs: EditInputs,
}

/// Text fields of the viewer's actions (TTL, rename, copy, element edits).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EditInputs {
    /// New TTL as typed.
    pub ttl: String,
    /// Why the TTL was refused.
    pub ttl_error: Option<String>,
    /// New name for rename or copy.
    pub new_name: String,
    /// Field, member or entry fields (`f=v` per line) of an element to add.
    pub field: String,
    /// Value of an element to add, or the edited value of the selected element.
    pub value: String,
    /// Score of a sorted-set member.
    pub score: String,
    /// Why an element edit was refused.
    pub error: Option<String>,
}

/// A key deleted this session that can be put back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UndoEntry {
    /// What was saved before the delete.
    pub saved: Vec<DumpedKey>,
    /// "user:42:profile" or "3 keys", for the undo bar.
    pub label: String,
}

/// A question the user must answer before something is done.
#[derive(Debug, Clone)]
pub enum Confirm {
    /// A write through a production profile.
    Production {
        /// The connection.
        conn: ConnId,
        /// What will be done, in words.
        description: String,
        /// The command to send on "yes".
        kind: CommandKind,
    },
    /// Rename or copy onto a key that exists: replace it?
    Overwrite {
        /// The write, with `overwrite` set.
        op: WriteOp,
    },
    /// Flush: the user types `expected` to confirm.
    Flush(FlushConfirm),
    /// A TTL date-time in the past deletes the key.
    PastTtl {
        /// The key.
        key: Bytes,
    },
    /// A server administration step (reset the slow log, kill a client).
    Admin {
        /// The connection.
        conn: ConnId,
        /// The question's title.
        title: String,
        /// What will happen, in words.
        description: String,
        /// The step.
        op: WriteOp,
    },
}

/// The flush question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlushConfirm {
    /// Every database, not just the current one (Redis).
    pub all: bool,
    /// What must be typed.
    pub expected: String,
    /// What was typed.
    pub typed: String,
    /// The pool's servers when the backend flushes per server with a delay (memcached);
    /// empty for a single server. `None` for Redis.
    pub servers: Option<Vec<String>>,
    /// The one server to flush; `None` for all of them.
    pub server: Option<String>,
    /// Delay in seconds, as typed (empty: now).
    pub delay: String,
    /// Why the answer was refused.
    pub error: Option<String>,
}

/// Where a delete by pattern stands.
#[derive(Debug, Clone, PartialEq)]
pub enum BulkPhase {
    /// The pattern is being typed.
    Editing,
    /// Counting matches.
    Previewing,
    /// Counted: this many keys, these first ones.
    Previewed {
        /// How many keys match.
        matched: u64,
        /// Some of them.
        sample: Vec<Bytes>,
    },
    /// Deleting.
    Deleting {
        /// Deleted so far.
        deleted: u64,
        /// Share of the keyspace visited.
        progress: f64,
    },
    /// Finished or cancelled.
    Done {
        /// Keys deleted.
        deleted: u64,
        /// Stopped by the user.
        cancelled: bool,
    },
    /// Failed; the reason.
    Failed(String),
}

/// The delete-by-pattern dialog.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkDelete {
    /// The pattern as typed.
    pub pattern: String,
    /// Where it stands.
    pub phase: BulkPhase,
    /// The request whose events are accepted.
    pub req: ReqId,
}

/// The "new key" dialog.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateForm {
    /// Key name (escaped form).
    pub key: String,
    /// Type of the new key.
    pub key_type: KeyType,
    /// Field (hash) or member (zset) or `f=v` lines (stream).
    pub field: String,
    /// The value (string, hash value, list element, set member).
    pub value: String,
    /// Score (zset).
    pub score: String,
    /// TTL as typed; empty for none.
    pub ttl: String,
    /// Why it cannot be created.
    pub error: Option<String>,
}

impl Viewer {
    /// Number of elements loaded (bytes for a string).
    #[must_use]
    pub fn loaded_len(&self) -> usize {
        match &self.items {
            None => 0,
            Some(ValueItems::String { bytes, .. }) => bytes.len(),
            Some(ValueItems::Hash(v)) => v.len(),
            Some(ValueItems::List(v) | ValueItems::Set(v)) => v.len(),
            Some(ValueItems::ZSet(v)) => v.len(),
            Some(ValueItems::Stream(v)) => v.len(),
            Some(ValueItems::Json(t)) => t.len(),
        }
    }

    fn append(&mut self, mut page: ValueItems) {
        // HSCAN and SSCAN may return an element twice while Redis rehashes the key: the first
        // copy stays, later ones are dropped.
        match &mut page {
            ValueItems::Hash(pairs) => pairs.retain(|(f, _)| self.seen.insert(f.clone())),
            ValueItems::Set(members) => members.retain(|m| self.seen.insert(m.clone())),
            _ => {}
        }
        match (&mut self.items, page) {
            (Some(ValueItems::Hash(a)), ValueItems::Hash(b)) => a.extend(b),
            (Some(ValueItems::List(a)), ValueItems::List(b))
            | (Some(ValueItems::Set(a)), ValueItems::Set(b)) => a.extend(b),
            (Some(ValueItems::ZSet(a)), ValueItems::ZSet(b)) => a.extend(b),
            (Some(ValueItems::Stream(a)), ValueItems::Stream(b)) => a.extend(b),
            (slot, page) => *slot = Some(page),
        }
        self.pages += 1;
    }
}

/// Pretty JSON for bytes that hold a JSON object or array.
#[must_use]
pub fn pretty_json(bytes: &[u8]) -> Option<String> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace())?;
    if !matches!(first, b'{' | b'[') {
        return None;
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    serde_json::to_string_pretty(&value).ok()
}

/// One open connection: its browser and viewer.
#[derive(Debug)]
pub struct Session {
    /// Connection id in the service.
    pub conn: ConnId,
    /// The profile it was opened from.
    pub profile: Profile,
    /// Connection state.
    pub status: SessionStatus,
    connect_req: ReqId,
    /// What the server said it is.
    pub description: String,
    /// What the backend supports (known once connected).
    pub capabilities: Option<Capabilities>,
    /// Databases and key counts.
    pub databases: Vec<DbInfo>,
    /// Current database.
    pub db: u32,
    db_req: ReqId,
    /// The key browser.
    pub browser: Browser,
    /// The value viewer, when a key is open.
    pub viewer: Option<Viewer>,
    meta_reqs: HashSet<ReqId>,
    /// The last failure reading row facts, reported once until a read succeeds again.
    meta_error: Option<String>,
    write_reqs: HashSet<ReqId>,
    /// The last delete, which can be undone.
    pub undo: Option<UndoEntry>,
    /// The delete-by-pattern dialog, when open.
    pub bulk: Option<BulkDelete>,
    /// The "new key" dialog, when open.
    pub create: Option<CreateForm>,
    /// The server panel, when open.
    pub server_info: Option<ServerInfoView>,
    /// Live metrics.
    pub dashboard: Dashboard,
    /// The memory analysis window, when open.
    pub analysis: Option<AnalysisView>,
}

impl Session {
    /// True while a write sent from this connection has not been answered.
    #[must_use]
    pub fn writes_pending(&self) -> bool {
        !self.write_reqs.is_empty()
    }
}

/// The whole application state.
#[derive(Debug)]
pub struct AppState {
    /// Saved profiles.
    pub profiles: ProfileStore,
    /// Messages for the user.
    pub notices: Vec<Notice>,
    /// The profile form, when open.
    pub form: Option<ProfileForm>,
    /// Open connections.
    pub sessions: Vec<Session>,
    /// Index of the shown session.
    pub active: usize,
    /// Profile highlighted in the list.
    pub selected_profile: Option<String>,
    /// Password dialog, when open.
    pub password_prompt: Option<PasswordPrompt>,
    /// Profile name waiting for delete confirmation.
    pub confirm_delete: Option<String>,
    /// Keys listed before a new session's listings pause.
    pub batch_limit: u64,
    /// A question waiting for the user's answer.
    pub confirm: Option<Confirm>,
    /// Where writes are recorded (the app's data directory unless a test says otherwise).
    pub audit: Option<crate::config::audit::AuditLog>,
    /// The audit log window's entries (or why they could not be read), while it is open.
    pub audit_view: Option<Result<Vec<crate::config::audit::AuditEntry>, String>>,
    /// The chart comparing connections, when open.
    pub compare: Option<Compare>,
    session_passwords: HashMap<String, Secret>,
    next_id: u64,
    outbox: Vec<(ConnId, ReqId, CommandKind)>,
}

impl AppState {
    /// A state over loaded profiles; `warning` (a damaged profiles file) becomes a notice.
    #[must_use]
    pub fn new(profiles: ProfileStore, warning: Option<String>) -> Self {
        let notices = warning
            .map(|text| Notice {
                level: Level::Warning,
                text,
            })
            .into_iter()
            .collect();
        Self {
            profiles,
            notices,
            form: None,
            sessions: Vec::new(),
            active: 0,
            selected_profile: None,
            password_prompt: None,
            confirm_delete: None,
            batch_limit: DEFAULT_BATCH_LIMIT,
            confirm: None,
            audit: crate::config::audit::AuditLog::default_log(),
            audit_view: None,
            compare: None,
            session_passwords: HashMap::new(),
            next_id: 1,
            outbox: Vec::new(),
        }
    }

    fn next(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn send(&mut self, conn: ConnId, req: ReqId, kind: CommandKind) {
        self.outbox.push((conn, req, kind));
    }

    /// Commands queued since the last call, for the app to hand to the service.
    pub fn take_outbox(&mut self) -> Vec<(ConnId, ReqId, CommandKind)> {
        std::mem::take(&mut self.outbox)
    }

    /// Shows a notice.
    pub fn notify(&mut self, level: Level, text: impl Into<String>) {
        let text = text.into();
        if !self.notices.iter().any(|n| n.text == text) {
            self.notices.push(Notice { level, text });
        }
    }

    /// The shown session.
    #[must_use]
    pub fn active_session(&self) -> Option<&Session> {
        self.sessions.get(self.active)
    }

    /// The shown session, mutably.
    pub fn active_session_mut(&mut self) -> Option<&mut Session> {
        self.sessions.get_mut(self.active)
    }

    /// Adds the profiles a `.env` file configures; passwords stay in memory for this session.
    pub fn import_env(&mut self, path: &std::path::Path) {
        let imported = match crate::config::envimport::profiles_from_env(path) {
            Ok(imported) => imported,
            Err(e) => {
                self.notify(Level::Error, format!("import: {e}"));
                return;
            }
        };
        let mut names = Vec::new();
        for mut item in imported {
            let base = item.profile.name.clone();
            let mut n = 2;
            while self.profiles.get(&item.profile.name).is_some() {
                item.profile.name = format!("{base} {n}");
                n += 1;
            }
            let name = item.profile.name.clone();
            if let Err(e) = self.profiles.add(item.profile) {
                self.notify(Level::Error, format!("import: {e}"));
                return;
            }
            if let Some(pw) = item.password {
                self.session_passwords.insert(name.clone(), pw);
            }
            names.push(name);
        }
        self.selected_profile = names.first().cloned();
        self.notify(Level::Info, format!("imported {}", names.join(", ")));
    }

    /// Opens the audit log window, reading the newest entries once.
    pub fn open_audit(&mut self) {
        self.audit_view = Some(match &self.audit {
            Some(log) => log
                .recent(500)
                .map_err(|e| format!("cannot read {}: {e}", log.path().display())),
            None => Err("no data directory is known, so nothing is recorded".to_owned()),
        });
    }

    /// Opens the form for a new profile.
    pub fn new_profile(&mut self) {
        self.form = Some(ProfileForm::default());
    }

    /// Opens the form on an existing profile.
    pub fn edit_profile(&mut self, name: &str) {
        if let Some(p) = self.profiles.get(name) {
            self.form = Some(ProfileForm::from_profile(p));
        }
    }

    /// Saves the form (add or update). On success the form closes.
    pub fn save_form(&mut self) {
        let Some(form) = &mut self.form else { return };
        let profile = match form.to_profile() {
            Ok(p) => p,
            Err(e) => {
                form.error = Some(e);
                return;
            }
        };
        let password = form.typed_password();
        let result = match &form.original_name {
            Some(old) => self.profiles.update(old, profile.clone()),
            None => self.profiles.add(profile.clone()),
        };
        match result {
            Ok(()) => {
                if let Some(pw) = password {
                    self.session_passwords.insert(profile.name.clone(), pw);
                }
                self.selected_profile = Some(profile.name);
                self.form = None;
            }
            Err(e) => {
                if let Some(form) = &mut self.form {
                    form.error = Some(e.to_string());
                }
            }
        }
    }

    /// Starts "Test connection" for the form's settings.
    pub fn test_form(&mut self) {
        let req = self.next();
        let conn = self.next();
        let Some(form) = &mut self.form else { return };
        let profile = match form.to_profile() {
            Ok(p) => p,
            Err(e) => {
                form.test = TestStatus::Failed(e);
                return;
            }
        };
        let password = match profile
            .connection
            .resolve_password(form.typed_password().as_ref())
        {
            Ok(p) => p,
            Err(e) => {
                form.test = TestStatus::Failed(e.to_string());
                return;
            }
        };
        form.test = TestStatus::Running(req);
        self.send(
            conn,
            req,
            CommandKind::Test {
                spec: profile.connection,
                password,
            },
        );
    }

    /// Copies a profile under a new name.
    pub fn duplicate_profile(&mut self, name: &str) {
        match self.profiles.duplicate(name) {
            Ok(copy) => self.selected_profile = Some(copy),
            Err(e) => self.notify(Level::Error, e.to_string()),
        }
    }

    /// Deletes a profile (after the UI confirmed).
    pub fn delete_profile(&mut self, name: &str) {
        if let Err(e) = self.profiles.remove(name) {
            self.notify(Level::Error, e.to_string());
        }
        self.session_passwords.remove(name);
        if self.selected_profile.as_deref() == Some(name) {
            self.selected_profile = None;
        }
        self.confirm_delete = None;
    }

    /// Connects a saved profile, asking for its password first when needed.
    pub fn connect_profile(&mut self, name: &str) {
        let Some(profile) = self.profiles.get(name).cloned() else {
            self.notify(Level::Error, format!("no profile named `{name}`"));
            return;
        };
        let entered = self.session_passwords.get(name).cloned();
        if profile.connection.password_source() == &PasswordSource::Prompt && entered.is_none() {
            self.password_prompt = Some(PasswordPrompt {
                profile: name.to_owned(),
                text: String::new(),
            });
            return;
        }
        let password = match profile.connection.resolve_password(entered.as_ref()) {
            Ok(p) => p,
            Err(e) => {
                self.notify(Level::Error, format!("{name}: {e}"));
                return;
            }
        };
        self.open_session(profile, password);
    }

    /// The user answered the password dialog.
    pub fn submit_password(&mut self) {
        let Some(prompt) = self.password_prompt.take() else {
            return;
        };
        self.session_passwords
            .insert(prompt.profile.clone(), Secret::new(prompt.text));
        self.connect_profile(&prompt.profile);
    }

    fn open_session(&mut self, profile: Profile, password: Option<Secret>) {
        let conn = self.next();
        let req = self.next();
        let spec = profile.connection.clone();
        let options = profile.connect_options(self.audit.clone());
        let db = match &spec {
            ConnectionSpec::Redis(redis) => redis.db,
            ConnectionSpec::Memcached(_) | ConnectionSpec::File(_) | ConnectionSpec::Sql(_) => 0,
        };
        let mut browser = Browser::new(&profile.default_pattern, &profile.delimiter);
        browser.batch_limit = self.batch_limit;
        self.sessions.push(Session {
            conn,
            browser,
            profile,
            status: SessionStatus::Connecting,
            connect_req: req,
            description: String::new(),
            capabilities: None,
            databases: Vec::new(),
            db,
            db_req: 0,
            viewer: None,
            meta_reqs: HashSet::new(),
            meta_error: None,
            write_reqs: HashSet::new(),
            undo: None,
            bulk: None,
            create: None,
            server_info: None,
            dashboard: Dashboard::default(),
            analysis: None,
        });
        self.active = self.sessions.len() - 1;
        self.send(
            conn,
            req,
            CommandKind::Connect {
                spec,
                password,
                options,
            },
        );
    }

    /// Closes a session; its late events will be dropped.
    pub fn close_session(&mut self, index: usize) {
        if index >= self.sessions.len() {
            return;
        }
        let session = self.sessions.remove(index);
        self.send(session.conn, 0, CommandKind::Disconnect);
        if self.active >= self.sessions.len() {
            self.active = self.sessions.len().saturating_sub(1);
        }
    }

    /// Retries a failed connection with the same settings.
    pub fn reconnect(&mut self) {
        let Some(session) = self.sessions.get(self.active) else {
            return;
        };
        let name = session.profile.name.clone();
        self.close_session(self.active);
        self.connect_profile(&name);
    }

    /// Starts a new listing with the browser's pattern and type filter (cancels the old one).
    pub fn search(&mut self) {
        let req = self.next();
        let Some(s) = self.sessions.get_mut(self.active) else {
            return;
        };
        if s.status != SessionStatus::Connected {
            return;
        }
        let b = &mut s.browser;
        let request = ScanRequest {
            pattern: pattern_to_glob(if b.pattern.is_empty() {
                "*"
            } else {
                &b.pattern
            }),
            type_filter: b.type_filter.clone(),
            count: SCAN_COUNT,
            server: b.server_filter.clone(),
        };
        b.reset_keys();
        b.scan = ScanStatus {
            req,
            phase: ScanPhase::Running,
            total_keys: 0,
            progress: 0.0,
            cursor: 0,
            request: Some(request.clone()),
        };
        // A backend that cannot pause a listing (a memcached crawl) lists everything at once.
        let pausable = s.capabilities.as_ref().is_none_or(|c| c.scan_pause);
        let limit = pausable.then_some(b.batch_limit);
        let conn = s.conn;
        self.send(
            conn,
            req,
            CommandKind::Scan {
                request,
                from_cursor: 0,
                limit,
            },
        );
    }

    /// Continues a paused or stopped listing; `all` lists the rest without pausing.
    pub fn continue_scan(&mut self, all: bool) {
        let req = self.next();
        let Some(s) = self.sessions.get_mut(self.active) else {
            return;
        };
        let b = &mut s.browser;
        let Some(request) = b.scan.request.clone() else {
            return;
        };
        if !matches!(b.scan.phase, ScanPhase::Paused | ScanPhase::Stopped) || b.scan.cursor == 0 {
            return;
        }
        b.scan.req = req;
        b.scan.phase = ScanPhase::Running;
        let limit = (!all).then_some(b.batch_limit);
        let from_cursor = b.scan.cursor;
        let conn = s.conn;
        self.send(
            conn,
            req,
            CommandKind::Scan {
                request,
                from_cursor,
                limit,
            },
        );
    }

    /// Stops the running listing; what was found stays.
    pub fn stop_scan(&mut self) {
        let Some(s) = self.sessions.get_mut(self.active) else {
            return;
        };
        if s.browser.scan.phase != ScanPhase::Running {
            return;
        }
        s.browser.scan.phase = ScanPhase::Stopped;
        let conn = s.conn;
        let req = s.browser.scan.req;
        // Batches already on their way for this request are ignored from now on.
        s.browser.scan.req = 0;
        self.send(conn, req, CommandKind::StopScan);
    }

    /// Switches the active session to another database.
    pub fn select_db(&mut self, db: u32) {
        let req = self.next();
        let Some(s) = self.sessions.get_mut(self.active) else {
            return;
        };
        if s.db == db {
            return;
        }
        s.db = db;
        s.status = SessionStatus::Connecting;
        s.connect_req = req;
        s.viewer = None;
        s.browser.reset_keys();
        s.browser.scan.phase = ScanPhase::Idle;
        s.browser.scan.req = 0;
        let conn = s.conn;
        self.send(conn, req, CommandKind::SelectDb { db });
    }

    /// Asks for the database list again (key counts change).
    pub fn refresh_databases(&mut self) {
        let req = self.next();
        let Some(s) = self.sessions.get_mut(self.active) else {
            return;
        };
        s.db_req = req;
        let conn = s.conn;
        self.send(conn, req, CommandKind::ListDatabases);
    }

    /// Fetches row facts for keys on screen that are not known yet.
    pub fn request_meta(&mut self, ids: &[KeyId]) {
        let req = self.next();
        let Some(s) = self.sessions.get_mut(self.active) else {
            return;
        };
        if s.status != SessionStatus::Connected {
            return;
        }
        let keys = s.browser.take_meta_requests(ids);
        if keys.is_empty() {
            return;
        }
        s.meta_reqs.insert(req);
        let conn = s.conn;
        self.send(conn, req, CommandKind::FetchMeta { keys });
    }

    /// Opens a key in the value viewer.
    pub fn open_key(&mut self, id: KeyId) {
        let req = self.next();
        let Some(s) = self.sessions.get_mut(self.active) else {
            return;
        };
        if (id as usize) >= s.browser.index.len() {
            return;
        }
        s.browser.selected = Some(id);
        let key = Bytes::copy_from_slice(s.browser.index.key(id));
        let mode = s.viewer.as_ref().map_or(ValueMode::Text, |v| v.mode);
        s.viewer = Some(Viewer {
            key: key.clone(),
            req,
            state: ViewerState::Loading,
            details: None,
            read_at: Instant::now(),
            items: None,
            seen: HashSet::new(),
            next: None,
            page_req: None,
            pages: 0,
            mode,
            selected_item: None,
            save_status: None,
            save_req: None,
            render_cache: None,
            editor: None,
            decoded_editor: None,
            conflict: None,
            inputs: EditInputs::default(),
        });
        let conn = s.conn;
        self.send(
            conn,
            req,
            CommandKind::OpenKey {
                key,
                page_size: VALUE_PAGE_SIZE,
            },
        );
    }

    /// Opens a key typed by name (escaped form), whether or not a listing found it: the way to
    /// reach one key in a huge keyspace without scanning for it.
    pub fn open_key_by_name(&mut self, name: &str) {
        let key = match crate::core::escape::unescape(name.trim()) {
            Ok(key) if !key.is_empty() => key,
            Ok(_) => return,
            Err(e) => {
                self.notify(Level::Error, format!("key name: {e}"));
                return;
            }
        };
        let Some(s) = self.sessions.get(self.active) else {
            return;
        };
        // Where entries are stored by hash, the typed name is hashed here; a listed hash is
        // opened from the listing, so the two never alias.
        let key = match &s.capabilities {
            Some(caps) => caps.key_for_name(&key).to_vec(),
            None => key,
        };
        self.open_key_bytes(&key);
    }

    /// Opens (or reopens) exactly this backend key, whether or not the current listing holds
    /// it: after a failed or new search the viewer's *Reload* still reaches its key.
    pub fn open_key_bytes(&mut self, key: &[u8]) {
        let Some(s) = self.sessions.get_mut(self.active) else {
            return;
        };
        match s.browser.index.insert(key) {
            Ok(id) => {
                s.browser.tree_dirty = true;
                self.open_key(id);
            }
            Err(e) => self.notify(Level::Error, e.to_string()),
        }
    }

    /// Loads the next page of the open value.
    pub fn load_more(&mut self) {
        let req = self.next();
        let Some(s) = self.sessions.get_mut(self.active) else {
            return;
        };
        let Some(v) = &mut s.viewer else { return };
        let (Some(next), Some(details), None) = (v.next.clone(), &v.details, v.page_req) else {
            return;
        };
        v.page_req = Some(req);
        let kind = CommandKind::ReadPage {
            key: v.key.clone(),
            key_type: details.meta.key_type.clone(),
            cursor: next,
            page_size: VALUE_PAGE_SIZE,
        };
        let conn = s.conn;
        self.send(conn, req, kind);
    }

    /// Saves the open string value to a file.
    pub fn save_value(&mut self, path: std::path::PathBuf) {
        let req = self.next();
        let Some(s) = self.sessions.get_mut(self.active) else {
            return;
        };
        let Some(v) = &mut s.viewer else { return };
        v.save_req = Some(req);
        v.save_status = Some(format!("saving to {}…", path.display()));
        let key = v.key.clone();
        let conn = s.conn;
        self.send(conn, req, CommandKind::SaveValue { key, path });
    }

    /// Folds a service event into the state. Late or superseded answers are dropped.
    pub fn apply(&mut self, event: Event) {
        let Event { conn, req, kind } = event;
        if let EventKind::TestResult(result) = kind {
            if let Some(form) = &mut self.form
                && form.test == TestStatus::Running(req)
            {
                form.test = match result {
                    Ok(description) => TestStatus::Ok(description),
                    Err(e) => TestStatus::Failed(e.to_string()),
                };
            }
            return;
        }
        let Some(index) = self.sessions.iter().position(|s| s.conn == conn) else {
            return; // the connection was closed: a late answer
        };
        if self.apply_write_event(index, req, &kind) {
            return;
        }
        let Some(kind) = self.apply_metrics_event(index, req, kind) else {
            return;
        };
        let Some(kind) = self.apply_server_event(index, req, kind) else {
            return;
        };
        let Some(kind) = self.apply_analysis_event(index, req, kind) else {
            return;
        };
        let mut follow_up = None;
        let mut notice = None;
        let mut forget_password = None;
        {
            let s = &mut self.sessions[index];
            match kind {
                EventKind::Connected {
                    description,
                    capabilities,
                } if req == s.connect_req => {
                    s.status = SessionStatus::Connected;
                    s.description = description;
                    s.capabilities = Some(capabilities);
                    follow_up = Some(index);
                }
                EventKind::Databases(dbs) if req == s.db_req => s.databases = dbs,
                EventKind::ScanStarted { total_keys } if req == s.browser.scan.req => {
                    s.browser.scan.total_keys = total_keys;
                }
                EventKind::ScanBatch {
                    keys,
                    cursor,
                    progress,
                    state,
                } if req == s.browser.scan.req => {
                    let b = &mut s.browser;
                    if let Err(e) = b.add_keys(&keys) {
                        b.scan.phase = ScanPhase::Failed(e);
                        return;
                    }
                    b.scan.cursor = cursor;
                    b.scan.progress = progress;
                    b.scan.phase = match state {
                        ScanState::Running => ScanPhase::Running,
                        ScanState::Paused => ScanPhase::Paused,
                        ScanState::Done => ScanPhase::Done,
                    };
                }
                EventKind::Meta { keys, meta } if s.meta_reqs.remove(&req) => {
                    s.meta_error = None;
                    let now = Instant::now();
                    for (key, m) in keys.iter().zip(meta) {
                        if let Some(id) = s.browser.index.find(key) {
                            s.browser
                                .meta
                                .insert(id, m.map_or(MetaSlot::Gone, |m| MetaSlot::Ready(m, now)));
                        }
                    }
                }
                EventKind::KeyOpened { key, details, page } => {
                    if let Some(v) = &mut s.viewer
                        && v.req == req
                        && v.key == key
                    {
                        v.state = ViewerState::Loaded;
                        v.read_at = Instant::now();
                        if let Some(id) = s.browser.index.find(&key) {
                            s.browser
                                .meta
                                .insert(id, MetaSlot::Ready(details.meta.clone(), v.read_at));
                        }
                        v.details = Some(details);
                        v.next = page.next;
                        let flags = v.details.as_ref().and_then(|d| d.flags);
                        v.mode = match &page.items {
                            ValueItems::String { bytes, .. }
                                if crate::core::decode::detect(bytes, flags)
                                    .is_some_and(|r| r.is_ok()) =>
                            {
                                ValueMode::Decoded(None)
                            }
                            ValueItems::String { bytes, .. } if pretty_json(bytes).is_some() => {
                                ValueMode::Json
                            }
                            ValueItems::Json(_) => ValueMode::Json,
                            _ if matches!(v.mode, ValueMode::Json | ValueMode::Decoded(_)) => {
                                ValueMode::Text
                            }
                            _ => v.mode,
                        };
                        v.append(page.items);
                    }
                }
                EventKind::Page { key, page } => {
                    if let Some(v) = &mut s.viewer
                        && v.page_req == Some(req)
                        && v.key == key
                    {
                        v.page_req = None;
                        v.next = page.next;
                        v.append(page.items);
                    }
                }
                EventKind::Saved { path, bytes } => {
                    if let Some(v) = &mut s.viewer
                        && v.save_req == Some(req)
                    {
                        v.save_req = None;
                        v.save_status = Some(format!(
                            "saved {} to {}",
                            human_bytes(bytes),
                            path.display()
                        ));
                    }
                }
                EventKind::Failed(error) => {
                    if req == s.connect_req && matches!(error, BackendError::Auth { .. }) {
                        // A rejected password must be asked for again, not retried.
                        forget_password = Some(s.profile.name.clone());
                    }
                    notice = match AppState::write_failed(s, req, &error.to_string()) {
                        Some(text) => text,
                        None => route_failure(s, req, &error),
                    };
                }
                _ => {} // superseded: an older search, a replaced connection, …
            }
        }
        if let Some(text) = notice {
            self.notify(Level::Error, text);
        }
        if let Some(name) = forget_password {
            self.session_passwords.remove(&name);
        }
        if let Some(index) = follow_up {
            let previous = self.active;
            self.active = index;
            self.refresh_databases();
            self.search();
            self.active = previous;
        }
    }
}

/// Puts a failure where the user will look for it; returns text for a general notice.
fn route_failure(s: &mut Session, req: ReqId, error: &BackendError) -> Option<String> {
    let text = error.to_string();
    if req == s.connect_req {
        s.status = SessionStatus::Failed(text);
        return None;
    }
    if req == s.browser.scan.req {
        s.browser.scan.phase = ScanPhase::Failed(text);
        return None;
    }
    if let Some(v) = &mut s.viewer {
        if v.req == req {
            v.state = ViewerState::Failed(text);
            if let Some(id) = s.browser.selected {
                s.browser.meta.insert(id, MetaSlot::Gone);
            }
            return None;
        }
        if v.page_req == Some(req) {
            v.page_req = None;
            v.state = ViewerState::Failed(text);
            return None;
        }
        if v.save_req == Some(req) {
            v.save_req = None;
            v.save_status = Some(format!("save failed: {text}"));
            return None;
        }
    }
    if s.meta_reqs.remove(&req) {
        // Row facts are best effort: the rows are asked for again after a pause, and the same
        // failure is reported once, not once per retry.
        let now = Instant::now();
        for slot in s.browser.meta.values_mut() {
            if *slot == MetaSlot::Pending {
                *slot = MetaSlot::Failed(now);
            }
        }
        if s.meta_error.as_deref() == Some(text.as_str()) {
            return None;
        }
        s.meta_error = Some(text.clone());
        return Some(text);
    }
    if req == s.db_req {
        return Some(text);
    }
    None
}

/// Short display of a key for headers and notices.
#[must_use]
pub fn key_label(key: &[u8]) -> String {
    let text = escape_bytes(key);
    if text.chars().count() > 120 {
        let cut: String = text.chars().take(117).collect();
        format!("{cut}…")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::connection::parse_url;

    fn state_with_session() -> (AppState, ConnId, ReqId) {
        let dir = tempfile::tempdir().expect("dir");
        let mut store = ProfileStore::empty_in(dir.path());
        let (spec, _) = parse_url("redis://127.0.0.1:1/0").expect("url");
        store.add(Profile::new("p", spec)).expect("add");
        let mut state = AppState::new(store, None);
        state.connect_profile("p");
        let (conn, req, _) = state.take_outbox().pop().expect("connect command");
        state.apply(Event {
            conn,
            req,
            kind: EventKind::Connected {
                description: "test".into(),
                capabilities: Capabilities {
                    server_side_pattern: true,
                    type_filter: true,
                    databases: true,
                    memory_usage: true,
                    scan_pause: true,
                    rename: true,
                    ..Capabilities::string_store("Redis")
                },
            },
        });
        let scan_req = state
            .take_outbox()
            .into_iter()
            .find_map(|(_, req, kind)| matches!(kind, CommandKind::Scan { .. }).then_some(req))
            .expect("a listing starts on connect");
        (state, conn, scan_req)
    }

    #[test]
    fn rows_whose_facts_fail_wait_before_asking_again_and_say_so_once() {
        let (mut state, conn, scan) = state_with_session();
        state.apply(batch(conn, scan, &["a", "b"], ScanState::Done));
        state.take_outbox();
        let fetches = |state: &mut AppState| -> Vec<ReqId> {
            state
                .take_outbox()
                .into_iter()
                .filter_map(|(_, req, kind)| {
                    matches!(kind, CommandKind::FetchMeta { .. }).then_some(req)
                })
                .collect()
        };
        let fail = |state: &mut AppState, req| {
            state.apply(Event {
                conn,
                req,
                kind: EventKind::Failed(BackendError::Server {
                    command: "SQL".into(),
                    reason: "a row cannot be read".into(),
                }),
            });
        };
        state.request_meta(&[0, 1]);
        let first = fetches(&mut state);
        assert_eq!(first.len(), 1);
        fail(&mut state, first[0]);
        assert_eq!(state.notices.len(), 1, "the failure is reported");
        let s = state.active_session().expect("session");
        assert!(matches!(s.browser.meta(0), Some(MetaSlot::Failed(_))));
        // The next frames ask for nothing: no request loop while the rows keep failing.
        for _ in 0..100 {
            state.request_meta(&[0, 1]);
        }
        assert!(fetches(&mut state).is_empty());
        // After the pause they are asked again; the same failure is not reported twice.
        if let Some(s) = state.active_session_mut() {
            for id in [0, 1] {
                let due = Instant::now().checked_sub(META_RETRY).expect("uptime");
                s.browser.meta.insert(id, MetaSlot::Failed(due));
            }
        }
        state.notices.clear();
        state.request_meta(&[0, 1]);
        let again = fetches(&mut state);
        assert_eq!(again.len(), 1);
        fail(&mut state, again[0]);
        assert!(state.notices.is_empty(), "reported once");
    }

    #[test]
    fn hash_fields_scan_returns_twice_are_shown_once() {
        let (mut state, conn, scan) = state_with_session();
        state.apply(batch(conn, scan, &["h"], ScanState::Done));
        state.take_outbox();
        state.open_key(0);
        let open = state
            .take_outbox()
            .into_iter()
            .find_map(|(_, req, kind)| matches!(kind, CommandKind::OpenKey { .. }).then_some(req))
            .expect("open");
        let pair = |f: &str, v: &str| {
            (
                Bytes::copy_from_slice(f.as_bytes()),
                Bytes::copy_from_slice(v.as_bytes()),
            )
        };
        state.apply(Event {
            conn,
            req: open,
            kind: EventKind::KeyOpened {
                key: Bytes::from_static(b"h"),
                details: KeyDetails {
                    meta: KeyMeta {
                        key_type: KeyType::Hash,
                        ttl: Ttl::Persistent,
                        size_bytes: None,
                        server: None,
                        idle_secs: None,
                        preview: None,
                    },
                    encoding: None,
                    length: 3,
                    extra: Vec::new(),
                    flags: None,
                },
                page: crate::core::model::ValuePage {
                    cursor: PageCursor::Start,
                    items: ValueItems::Hash(vec![pair("a", "1"), pair("b", "2"), pair("a", "1")]),
                    next: Some(PageCursor::Scan(9)),
                },
            },
        });
        state.load_more();
        let more = state
            .take_outbox()
            .into_iter()
            .find_map(|(_, req, kind)| matches!(kind, CommandKind::ReadPage { .. }).then_some(req))
            .expect("next page");
        state.apply(Event {
            conn,
            req: more,
            kind: EventKind::Page {
                key: Bytes::from_static(b"h"),
                page: crate::core::model::ValuePage {
                    cursor: PageCursor::Scan(9),
                    items: ValueItems::Hash(vec![pair("b", "2"), pair("c", "3")]),
                    next: None,
                },
            },
        });
        let items = state.sessions[0]
            .viewer
            .as_ref()
            .and_then(|v| v.items.clone());
        assert_eq!(
            items,
            Some(ValueItems::Hash(vec![
                pair("a", "1"),
                pair("b", "2"),
                pair("c", "3")
            ]))
        );
    }

    /// The metrics commands in the outbox: `Some(req)` for a start, `None` for a stop.
    fn sampler_commands(state: &mut AppState) -> Vec<Option<ReqId>> {
        state
            .take_outbox()
            .into_iter()
            .filter_map(|(_, req, kind)| match kind {
                CommandKind::StartMetrics { .. } => Some(Some(req)),
                CommandKind::StopMetrics => Some(None),
                _ => None,
            })
            .collect()
    }

    fn metrics_event(conn: ConnId, req: ReqId, at_ms: u64) -> Event {
        let sample = crate::core::metrics::Sample {
            at_ms,
            servers: Vec::new(),
        };
        Event {
            conn,
            req,
            kind: EventKind::Metrics {
                derived: crate::core::metrics::derive(None, &sample),
                sample,
                took: Duration::from_millis(3),
                next_in: Duration::from_secs(1),
            },
        }
    }

    #[test]
    fn a_sampler_runs_only_while_its_dashboard_shows_something() {
        let (mut state, conn, _) = state_with_session();
        state.sync_samplers();
        assert!(
            sampler_commands(&mut state).is_empty(),
            "closed: no sampler"
        );
        state.open_dashboard(0);
        let started = sampler_commands(&mut state);
        let [Some(first)] = started[..] else {
            panic!("one start: {started:?}");
        };
        state.apply(metrics_event(conn, first, 1_000));
        assert_eq!(state.sessions[0].dashboard.history.total.len(), 1);

        // Collapsed to its title: paused; expanded: a new sampler.
        state.sessions[0].dashboard.collapsed = true;
        state.sync_samplers();
        assert_eq!(sampler_commands(&mut state), vec![None]);
        state.apply(metrics_event(conn, first, 2_000));
        assert_eq!(
            state.sessions[0].dashboard.history.total.len(),
            1,
            "a late sample of a stopped sampler is dropped"
        );
        state.sessions[0].dashboard.collapsed = false;
        state.sync_samplers();
        let [Some(second)] = sampler_commands(&mut state)[..] else {
            panic!("restarted");
        };

        // A new interval restarts it; a refused one changes nothing.
        state.sessions[0].dashboard.interval_text = "-3".into();
        state.apply_metrics_interval(0);
        assert!(sampler_commands(&mut state).is_empty());
        assert!(state.sessions[0].dashboard.interval_error.is_some());
        state.sessions[0].dashboard.interval_text = "250ms".into();
        state.apply_metrics_interval(0);
        let restarted = sampler_commands(&mut state);
        assert_eq!(restarted.len(), 2, "{restarted:?}");
        assert_eq!(restarted[0], None);
        assert!(restarted[1].is_some_and(|r| r != second));
        assert!((state.sessions[0].dashboard.interval_secs - 0.25).abs() < 1e-9);

        state.close_dashboard(0);
        assert_eq!(sampler_commands(&mut state), vec![None]);
        assert_eq!(
            state.sessions[0].dashboard.history.total.len(),
            1,
            "the history stays for the next time"
        );
    }

    fn batch(conn: ConnId, req: ReqId, keys: &[&str], state: ScanState) -> Event {
        Event {
            conn,
            req,
            kind: EventKind::ScanBatch {
                keys: keys
                    .iter()
                    .map(|k| Bytes::copy_from_slice(k.as_bytes()))
                    .collect(),
                cursor: if state == ScanState::Done { 0 } else { 7 },
                progress: 0.5,
                state,
            },
        }
    }

    #[test]
    fn batches_of_a_superseded_search_are_dropped() {
        let (mut state, conn, first) = state_with_session();
        state.apply(batch(conn, first, &["a", "b"], ScanState::Running));
        assert_eq!(
            state.active_session().map(|s| s.browser.index.len()),
            Some(2)
        );
        state.search();
        let second = state
            .take_outbox()
            .into_iter()
            .find_map(|(_, req, kind)| matches!(kind, CommandKind::Scan { .. }).then_some(req))
            .expect("second listing");
        state.apply(batch(conn, first, &["late"], ScanState::Running));
        state.apply(batch(conn, second, &["x"], ScanState::Done));
        let s = state.active_session().expect("session");
        assert_eq!(s.browser.index.len(), 1);
        assert_eq!(s.browser.index.key(0), b"x");
        assert_eq!(s.browser.scan.phase, ScanPhase::Done);
    }

    #[test]
    fn events_for_a_closed_connection_are_dropped() {
        let (mut state, conn, scan) = state_with_session();
        state.close_session(0);
        assert!(matches!(
            state.take_outbox().as_slice(),
            [(c, _, CommandKind::Disconnect)] if *c == conn
        ));
        state.apply(batch(conn, scan, &["a"], ScanState::Done));
        assert!(state.sessions.is_empty());
        assert!(state.notices.is_empty());
    }

    #[test]
    fn stop_keeps_keys_and_continue_resumes_from_the_cursor() {
        let (mut state, conn, scan) = state_with_session();
        state.apply(batch(conn, scan, &["a"], ScanState::Running));
        state.stop_scan();
        let _ = state.take_outbox();
        state.apply(batch(conn, scan, &["late"], ScanState::Running));
        assert_eq!(
            state.active_session().map(|s| s.browser.index.len()),
            Some(1)
        );
        state.continue_scan(true);
        match state.take_outbox().pop() {
            Some((
                _,
                _,
                CommandKind::Scan {
                    from_cursor, limit, ..
                },
            )) => {
                assert_eq!(from_cursor, 7);
                assert_eq!(limit, None);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn progress_reads_scanned_of_total_and_matched() {
        let status = ScanStatus {
            req: 1,
            phase: ScanPhase::Running,
            total_keys: 1_000_000,
            progress: 0.25,
            cursor: 5,
            request: None,
        };
        assert_eq!(
            status.summary(1234),
            "scanned 250,000 of 1,000,000 keys, 1,234 matched"
        );
    }

    #[test]
    fn ttl_text_counts_down() {
        let t0 = Instant::now();
        let ttl = Ttl::ExpiresInMs(90_500);
        assert_eq!(ttl_text(ttl, t0, t0), "1m 31s");
        assert_eq!(ttl_text(ttl, t0, t0 + Duration::from_mins(1)), "31s");
        assert_eq!(ttl_text(ttl, t0, t0 + Duration::from_secs(91)), "expired");
        assert_eq!(ttl_text(Ttl::Persistent, t0, t0), "no TTL");
        assert_eq!(ttl_text(Ttl::ExpiresInMs(90_000_000), t0, t0), "1d 1h");
    }

    #[test]
    fn the_form_refuses_bad_fields_with_a_reason() {
        let mut form = ProfileForm::default();
        assert_eq!(
            form.to_profile().err().as_deref(),
            Some("give the profile a name")
        );
        form.name = "x".into();
        form.port = "70000".into();
        assert_eq!(
            form.to_profile().err().as_deref(),
            Some("the port must be from 1 to 65535")
        );
        form.port = "6379".into();
        form.db = "two".into();
        assert!(
            form.to_profile()
                .err()
                .is_some_and(|e| e.contains("whole number"))
        );
        form.db = "2".into();
        form.url = "redis://u:pw@h:1/3".into();
        form.apply_url().expect("url applies");
        assert_eq!(form.name, "x", "the name survives a pasted URL");
        assert_eq!(form.password_mode, PasswordMode::Ask);
        let profile = form.to_profile().expect("valid");
        assert_eq!(
            profile.connection.password_source(),
            &PasswordSource::Prompt
        );
        assert_eq!(profile.connection.display_url(), "redis://u@h:1/3");
        form.url = "ftp://nope".into();
        assert!(form.apply_url().is_err());
    }

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(group_digits(0), "0");
        assert_eq!(group_digits(999), "999");
        assert_eq!(group_digits(1000), "1,000");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(12), "12 B");
    }
}
