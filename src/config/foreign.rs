//! Profiles from the tools people come from: Tiny RDM's `connections.yaml` (or the zip its
//! Export makes), RedisInsight's exported databases JSON, Another Redis Desktop Manager's
//! `connections.ano`, and RESP.app's `connections.json`.
//!
//! Each reader follows that tool's own source for the schema (field names, which password is
//! the sentinels' and which the data nodes', what a group looks like). Every file is read into
//! a `serde_json::Value` first and walked through [`Fields`], which records each field it
//! reads: whatever is left with a value is listed in the import's notes, so nothing the other
//! tool knew is dropped without a word.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::{Map, Value};

use crate::config::connection::{
    ConnectionSpec, NodeAddress, PasswordSource, RedisAddress, RedisSpec, Secret, SentinelAuth,
    SshAuth, SshHop, SshSpec, TlsSpec,
};
use crate::config::profiles::{ColorTag, Profile, check_name};
use crate::config::secrets::{SecretName, Slot};
use crate::config::transfer::{Incoming, TransferError, free_name};

/// The deepest group nesting read (Tiny RDM and RESP.app have one level; the bound keeps a
/// hostile file from recursing without end).
const MAX_DEPTH: usize = 4;
/// The most connections one file may bring.
const MAX_CONNECTIONS: usize = 10_000;

/// What a connection whose other tool did not check TLS certificates is told.
const CHECKS_OFF: &str = "TLS certificate checks were off there; here the certificate is checked";
/// What a connection with a TLS client certificate is told.
const CLIENT_CERT: &str = "its TLS client certificate is not supported here";

fn sni_note(name: &str) -> String {
    format!("the TLS server name `{name}` is not kept")
}

/// The other tools' formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    /// Tiny RDM: `connections.yaml`, or the zip its Export writes.
    TinyRdm,
    /// RedisInsight: the JSON its *Export* of databases writes.
    RedisInsight,
    /// Another Redis Desktop Manager: `connections.ano` (base64 of JSON).
    Ardm,
    /// RESP.app (formerly Redis Desktop Manager): `connections.json`.
    Resp,
}

impl Tool {
    /// The tool's name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::TinyRdm => "Tiny RDM",
            Self::RedisInsight => "RedisInsight",
            Self::Ardm => "Another Redis Desktop Manager",
            Self::Resp => "RESP.app",
        }
    }

    /// How the format is named.
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Self::TinyRdm => "Tiny RDM connections",
            Self::RedisInsight => "a RedisInsight export",
            Self::Ardm => "Another Redis Desktop Manager connections",
            Self::Resp => "RESP.app connections",
        }
    }
}

/// Which tool wrote `bytes`, if any of these (decided on the fields, never the file name).
#[must_use]
pub fn detect(bytes: &[u8]) -> Option<Tool> {
    if bytes.starts_with(b"PK\x03\x04") {
        return Some(Tool::TinyRdm);
    }
    let text = std::str::from_utf8(bytes).ok()?.trim();
    if text.starts_with('[') || text.starts_with('{') {
        // JSON (JSON is YAML too, so a broken JSON file is not taken for Tiny RDM's YAML,
        // which yaml.v3 writes in block style): the reader says where it does not parse.
        return serde_json::from_str::<Value>(text)
            .ok()
            .and_then(|value| detect_json(&value));
    }
    if ardm_json(text).is_some() {
        return Some(Tool::Ardm);
    }
    let value = yaml_value(text).ok()?;
    let items = value.as_array()?;
    let tinyrdm = items.iter().any(|item| {
        item.get("name").is_some()
            && [
                "addr",
                "network",
                "ssh",
                "sentinel",
                "cluster",
                "key_separator",
                "type",
            ]
            .iter()
            .any(|k| item.get(k).is_some())
    });
    tinyrdm.then_some(Tool::TinyRdm)
}

fn detect_json(value: &Value) -> Option<Tool> {
    if value.get("connections").is_some() && value.get("groups").is_some() {
        return Some(Tool::Ardm);
    }
    let items = value.as_array()?;
    let has = |key: &str| items.iter().any(|i| i.get(key).is_some());
    if has("connectionType") || has("sentinelMaster") || has("sshOptions") && has("provider") {
        Some(Tool::RedisInsight)
    } else if has("sshOptions") || has("sslOptions") || has("sentinelOptions") || has("separator") {
        Some(Tool::Ardm)
    } else if has("timeout_connect")
        || has("namespace_separator")
        || has("ssh_host")
        || items
            .iter()
            .any(|i| i.get("type").and_then(Value::as_str) == Some("group"))
        || has("auth")
    {
        Some(Tool::Resp)
    } else if has("host") && has("port") && has("name") {
        Some(Tool::RedisInsight)
    } else {
        None
    }
}

/// Reads `bytes` as `tool` wrote them.
///
/// # Errors
/// The file is not in that format.
pub fn read(bytes: &[u8], tool: Tool) -> Result<Incoming, TransferError> {
    let unreadable = |why: String| TransferError::Unreadable(format!("{}: {why}", tool.describe()));
    // Every tool's file parses as several of the others' (JSON is YAML too): a file named as
    // one tool that plainly is another's is refused rather than half read.
    if let Some(other) = detect(bytes).filter(|other| *other != tool) {
        return Err(unreadable(format!(
            "this file looks like {} instead; import it as that, or leave the format out",
            other.describe()
        )));
    }
    let mut reader = Reader::default();
    match tool {
        Tool::TinyRdm => {
            let yaml = if bytes.starts_with(b"PK\x03\x04") {
                zipped_yaml(bytes).map_err(unreadable)?
            } else {
                String::from_utf8(bytes.to_vec()).map_err(|_| unreadable("not UTF-8".into()))?
            };
            let value = yaml_value(&yaml).map_err(unreadable)?;
            let items = value
                .as_array()
                .ok_or_else(|| unreadable("expected a list of connections".into()))?;
            reader.tinyrdm_list(items, None, 0);
        }
        Tool::RedisInsight => {
            let value: Value = serde_json::from_slice(bytes)
                .map_err(|e| unreadable(format!("does not parse: {e}")))?;
            let items = value
                .as_array()
                .ok_or_else(|| unreadable("expected a list of databases".into()))?;
            for item in items {
                reader.one(item, |_, f| Reader::redisinsight(f, None));
            }
        }
        Tool::Ardm => {
            let text = std::str::from_utf8(bytes).map_err(|_| unreadable("not UTF-8".into()))?;
            let value = match serde_json::from_str::<Value>(text.trim()) {
                Ok(value) => value,
                Err(_) => ardm_json(text.trim())
                    .ok_or_else(|| unreadable("neither base64 nor JSON".into()))?,
            };
            reader.ardm(&value).map_err(unreadable)?;
        }
        Tool::Resp => {
            let value: Value = serde_json::from_slice(bytes)
                .map_err(|e| unreadable(format!("does not parse: {e}")))?;
            let items = value
                .as_array()
                .ok_or_else(|| unreadable("expected a list of connections".into()))?;
            reader.resp_list(items, None, 0);
        }
    }
    if reader.incoming.profiles.is_empty() && reader.incoming.notes.is_empty() {
        return Err(unreadable("it holds no connections".into()));
    }
    Ok(reader.finish(tool))
}

/// ARDM's file: base64 of `{"connections": […], "groups": […]}` (or, from older versions, of
/// the list alone).
fn ardm_json(text: &str) -> Option<Value> {
    use base64::Engine as _;
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    (value.is_array() || value.get("connections").is_some()).then_some(value)
}

/// YAML as a JSON value; keys that are not strings (Tiny RDM's database aliases are numbers)
/// become strings.
fn yaml_value(text: &str) -> Result<Value, String> {
    let yaml: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(text).map_err(|e| format!("the YAML does not parse: {e}"))?;
    Ok(yaml_to_json(yaml, 0))
}

fn yaml_to_json(yaml: serde_yaml_ng::Value, depth: usize) -> Value {
    use serde_yaml_ng::Value as Y;
    if depth > 16 {
        return Value::Null;
    }
    match yaml {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => n
            .as_i64()
            .map(Value::from)
            .or_else(|| n.as_u64().map(Value::from))
            .or_else(|| n.as_f64().map(Value::from))
            .unwrap_or(Value::Null),
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(
            items
                .into_iter()
                .map(|v| yaml_to_json(v, depth + 1))
                .collect(),
        ),
        Y::Mapping(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let key = match k {
                        Y::String(s) => s,
                        Y::Number(n) => n.to_string(),
                        Y::Bool(b) => b.to_string(),
                        _ => String::new(),
                    };
                    (key, yaml_to_json(v, depth + 1))
                })
                .collect(),
        ),
        Y::Tagged(tagged) => yaml_to_json(tagged.value, depth + 1),
    }
}

/// `connections.yaml` out of the zip Tiny RDM's Export writes (read with a bound on its
/// unpacked size).
fn zipped_yaml(bytes: &[u8]) -> Result<String, String> {
    use std::io::Read as _;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| format!("the zip archive does not open: {e}"))?;
    let mut file = archive
        .by_name("connections.yaml")
        .map_err(|_| "the zip archive holds no connections.yaml".to_owned())?;
    let limit = crate::config::transfer::MAX_IMPORT_BYTES;
    let mut text = String::new();
    (&mut file)
        .take(limit + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("connections.yaml in the zip does not read: {e}"))?;
    if text.len() as u64 > limit {
        return Err(format!(
            "connections.yaml in the zip is larger than {} MiB",
            limit >> 20
        ));
    }
    Ok(text)
}

/// One object's fields, each read at most once; what was never read is listed afterwards.
struct Fields<'a> {
    map: &'a Map<String, Value>,
    prefix: String,
    used: BTreeSet<String>,
    nested: Vec<String>,
}

impl<'a> Fields<'a> {
    fn new(map: &'a Map<String, Value>, prefix: &str) -> Self {
        Self {
            map,
            prefix: prefix.to_owned(),
            used: BTreeSet::new(),
            nested: Vec::new(),
        }
    }

    fn raw(&mut self, key: &str) -> Option<&'a Value> {
        self.used.insert(key.to_owned());
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// A non-empty string (numbers are taken as their text: ports are strings in some files).
    fn text(&mut self, key: &str) -> Option<String> {
        match self.raw(key)? {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    fn number(&mut self, key: &str) -> Option<u64> {
        match self.raw(key)? {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    fn flag(&mut self, key: &str) -> bool {
        match self.raw(key) {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s == "true",
            Some(Value::Number(n)) => n.as_u64().is_some_and(|n| n != 0),
            _ => false,
        }
    }

    /// A nested object, read through its own `Fields` whose leftovers join these.
    fn object(&mut self, key: &str) -> Option<Fields<'a>> {
        match self.raw(key)? {
            Value::Object(map) => Some(Fields::new(map, &format!("{}{key}.", self.prefix))),
            _ => None,
        }
    }

    /// Marks fields as read on purpose: the other tool's bookkeeping (ids, list order, window
    /// state) that means nothing here.
    fn skip(&mut self, keys: &[&str]) {
        for key in keys {
            self.used.insert((*key).to_owned());
        }
    }

    fn absorb(&mut self, inner: Fields<'_>) {
        self.nested.extend(inner.leftovers());
    }

    /// The fields never read that hold something (not empty, false, zero or null).
    fn leftovers(self) -> Vec<String> {
        let mut out: Vec<String> = self
            .map
            .iter()
            .filter(|(k, v)| !self.used.contains(*k) && meaningful(v))
            .map(|(k, _)| format!("{}{k}", self.prefix))
            .collect();
        out.extend(self.nested);
        out
    }
}

fn meaningful(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
        Value::String(s) => !s.trim().is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => o.values().any(meaningful),
    }
}

/// A connection as the other tools describe one, before it becomes a profile.
#[derive(Default)]
struct Foreign {
    name: String,
    group: Option<String>,
    host: Option<String>,
    port: Option<u16>,
    socket: Option<PathBuf>,
    cluster: bool,
    sentinel_master: Option<String>,
    username: Option<String>,
    password: Option<String>,
    sentinel_username: Option<String>,
    sentinel_password: Option<String>,
    db: u32,
    tls: Option<TlsSpec>,
    ssh: Option<SshSpec>,
    ssh_password: Option<String>,
    ssh_passphrase: Option<String>,
    delimiter: Option<String>,
    pattern: Option<String>,
    read_only: bool,
    color: Option<ColorTag>,
    connect_timeout_ms: Option<u64>,
    command_timeout_ms: Option<u64>,
    /// What this connection had that cannot be carried over, already worded.
    notes: Vec<String>,
}

/// Builds profiles, secrets and notes from the connections read.
#[derive(Default)]
struct Reader {
    incoming: Incoming,
    /// The names given so far (a file may hold thousands of connections of one name).
    taken: std::collections::HashSet<String>,
    /// Connections past [`MAX_CONNECTIONS`] were left out (said once).
    truncated: bool,
    /// The other tool's display settings found (how it draws lists, nothing on the server):
    /// said once for the whole file rather than once per connection.
    display: BTreeSet<String>,
}

impl Reader {
    /// Marks the other tool's display settings as read, noting the ones that are set.
    fn display(&mut self, f: &mut Fields<'_>, keys: &[&str]) {
        for key in keys {
            if let Some(v) = f.raw(key)
                && meaningful(v)
                && v.as_str() != Some("none")
            {
                self.display.insert(format!("{}{key}", f.prefix));
            }
        }
    }

    /// The one note on display settings, once every connection is read.
    fn finish(mut self, tool: Tool) -> Incoming {
        if !self.display.is_empty() {
            let names: Vec<String> = self.display.into_iter().collect();
            self.incoming.notes.push(format!(
                "{}'s display settings are not carried over (they change how it draws, nothing \
                 on the server): {}",
                tool.name(),
                names.join(", ")
            ));
        }
        self.incoming
    }

    /// Reads one connection with `parse`, then lists what it left unread.
    fn one<'v>(
        &mut self,
        item: &'v Value,
        parse: impl FnOnce(&mut Self, &mut Fields<'v>) -> Foreign,
    ) {
        if self.incoming.profiles.len() >= MAX_CONNECTIONS {
            if !self.truncated {
                self.truncated = true;
                self.incoming.notes.push(format!(
                    "only the first {MAX_CONNECTIONS} connections were read"
                ));
            }
            return;
        }
        let Some(map) = item.as_object() else {
            self.incoming
                .notes
                .push("an entry that is not an object was left out".to_owned());
            return;
        };
        let mut fields = Fields::new(map, "");
        let mut foreign = parse(self, &mut fields);
        let left = fields.leftovers();
        if !left.is_empty() {
            foreign
                .notes
                .push(format!("no equivalent here for {}", left.join(", ")));
        }
        self.add(foreign);
    }

    fn add(&mut self, f: Foreign) {
        let label = if f.name.is_empty() {
            match (&f.host, f.port) {
                (Some(h), Some(p)) => format!("{h}:{p}"),
                (Some(h), None) => h.clone(),
                _ => "connection".to_owned(),
            }
        } else {
            f.name.clone()
        };
        // A name no profile may have (a newline in it, say) is cleaned rather than refused.
        let cleaned: String = label
            .chars()
            .filter(|c| !c.is_control() && !crate::core::escape::is_invisible(*c))
            .collect::<String>()
            .trim()
            .to_owned();
        let base = if check_name(&cleaned).is_ok() {
            cleaned
        } else {
            "connection".to_owned()
        };
        let name = free_name(&base, |n| self.taken.contains(n));
        for note in &f.notes {
            self.incoming.notes.push(format!("`{name}`: {note}"));
        }
        let Some(spec) = self.spec(&name, &f) else {
            return;
        };
        self.taken.insert(name.clone());
        let mut profile = Profile::new(name.clone(), ConnectionSpec::Redis(spec));
        if let Some(d) = f.delimiter.filter(|d| !d.is_empty()) {
            profile.delimiter = d;
        }
        if let Some(p) = f.pattern.filter(|p| !p.is_empty()) {
            profile.default_pattern = p;
        }
        profile.read_only = f.read_only;
        profile.color = f.color;
        profile.group =
            match crate::config::profiles::group_name(f.group.as_deref().unwrap_or_default()) {
                Ok(group) => group,
                Err(e) => {
                    self.incoming
                        .notes
                        .push(format!("`{name}`: {e}; it goes to the top level"));
                    None
                }
            };
        profile.ssh = f.ssh;
        let mut secret = |slot, value: Option<String>| {
            if let Some(v) = value.filter(|v| !v.is_empty()) {
                self.incoming
                    .secrets
                    .push((SecretName::new(name.clone(), slot), Secret::new(v)));
            }
        };
        secret(Slot::Password, f.password);
        secret(Slot::SshPassword, f.ssh_password);
        secret(Slot::SshPassphrase, f.ssh_passphrase);
        self.incoming.profiles.push(profile);
    }

    /// The Redis address and login of a connection; `None` (with a note) when it has none.
    fn spec(&mut self, name: &str, f: &Foreign) -> Option<RedisSpec> {
        let node = || {
            NodeAddress::new(
                f.host.clone().unwrap_or_else(|| "127.0.0.1".to_owned()),
                f.port.unwrap_or(6379),
            )
        };
        let address = if let Some(master) = &f.sentinel_master {
            RedisAddress::Sentinel {
                sentinels: vec![NodeAddress::new(
                    f.host.clone().unwrap_or_else(|| "127.0.0.1".to_owned()),
                    f.port.unwrap_or(26379),
                )],
                master: master.clone(),
            }
        } else if f.cluster {
            RedisAddress::Cluster {
                seeds: vec![node()],
            }
        } else if let Some(path) = &f.socket {
            RedisAddress::Unix { path: path.clone() }
        } else if f.host.is_some() || f.port.is_some() {
            let n = node();
            RedisAddress::Tcp {
                host: n.host,
                port: n.port,
            }
        } else {
            self.incoming
                .notes
                .push(format!("`{name}` was left out: it names no host"));
            return None;
        };
        let mut spec = RedisSpec {
            address,
            tls: f.tls.clone(),
            username: f.username.clone(),
            password: if f.password.as_deref().is_some_and(|p| !p.is_empty()) {
                PasswordSource::Prompt
            } else {
                PasswordSource::None
            },
            db: f.db,
            ..RedisSpec::default()
        };
        if let Some(ms) = f.connect_timeout_ms.filter(|ms| *ms > 0) {
            spec.connect_timeout_ms = ms;
        }
        if let Some(ms) = f.command_timeout_ms.filter(|ms| *ms > 0) {
            spec.command_timeout_ms = ms;
        }
        if f.sentinel_master.is_some() {
            spec.sentinel.username.clone_from(&f.sentinel_username);
            spec.sentinel.password = match f.sentinel_password.as_deref() {
                None | Some("") => SentinelAuth::None,
                Some(p) if Some(p) == f.password.as_deref() => SentinelAuth::SameAsData,
                Some(_) => {
                    self.incoming.notes.push(format!(
                        "`{name}`: the sentinels' own password is not kept; give it from an \
                         environment variable in the profile (Sentinel password)"
                    ));
                    SentinelAuth::None
                }
            };
        }
        Some(spec)
    }

    /// Tiny RDM: a list whose items are connections or groups (`type: group` with their own
    /// `connections`). For a Sentinel connection the top-level login is the sentinels' and
    /// `sentinel.username`/`password` the primary's (as its client uses them).
    fn tinyrdm_list(&mut self, items: &[Value], group: Option<&str>, depth: usize) {
        for item in items {
            if item.get("type").and_then(Value::as_str) == Some("group") {
                let name = item.get("name").and_then(Value::as_str).unwrap_or_default();
                match item.get("connections").and_then(Value::as_array) {
                    Some(inner) if depth < MAX_DEPTH => {
                        self.tinyrdm_list(inner, Some(name), depth + 1);
                    }
                    _ => {}
                }
                continue;
            }
            self.one(item, |r, f| r.tinyrdm(f, group));
        }
    }

    fn tinyrdm(&mut self, f: &mut Fields<'_>, group: Option<&str>) -> Foreign {
        let mut c = Foreign {
            name: f.text("name").unwrap_or_default(),
            group: group.filter(|g| !g.is_empty()).map(str::to_owned),
            ..Foreign::default()
        };
        f.skip(&["type", "group"]);
        let unix = f.text("network").as_deref() == Some("unix");
        let sock = f.text("sock");
        if unix {
            c.socket = sock.map(PathBuf::from);
        }
        c.host = f.text("addr");
        c.port = f.number("port").and_then(|p| u16::try_from(p).ok());
        let user = f.text("username");
        let password = f.text("password");
        c.db = f
            .number("last_db")
            .and_then(|d| u32::try_from(d).ok())
            .unwrap_or(0);
        c.pattern = f.text("default_filter");
        c.delimiter = f.text("key_separator");
        c.connect_timeout_ms = f.number("conn_timeout").map(|s| s * 1000);
        c.command_timeout_ms = f.number("exec_timeout").map(|s| s * 1000);
        c.color = f.text("mark_color").and_then(|c| color_tag(&c));
        self.display(
            f,
            &[
                "db_filter_type",
                "db_filter_list",
                "key_view",
                "load_size",
                "refresh_interval",
                "alias",
            ],
        );
        tinyrdm_tls(f, &mut c);
        tinyrdm_ssh(f, &mut c);
        let sentinel = f.object("sentinel");
        if let Some(mut s) = sentinel {
            if s.flag("enable") {
                c.sentinel_master = s.text("master").or_else(|| Some("mymaster".to_owned()));
                c.sentinel_username.clone_from(&user);
                c.sentinel_password.clone_from(&password);
                c.username = s.text("username");
                c.password = s.text("password");
            }
            s.skip(&["master", "username", "password"]);
            f.absorb(s);
        }
        if c.sentinel_master.is_none() {
            c.username = user;
            c.password = password;
        }
        if let Some(mut cluster) = f.object("cluster") {
            c.cluster = cluster.flag("enable");
            f.absorb(cluster);
        }
        if let Some(mut proxy) = f.object("proxy") {
            if proxy.number("type").unwrap_or(0) != 0 {
                c.notes.push(
                    "it went through a proxy; only SSH tunnels are supported here".to_owned(),
                );
            }
            proxy.skip(&["schema", "addr", "port", "username", "password", "type"]);
            f.absorb(proxy);
        }
        c
    }

    /// RedisInsight: a list of databases. For Sentinel, `host`/`port` and `username`/`password`
    /// are the sentinel's, `sentinelMaster` names the primary and holds its login.
    fn redisinsight(f: &mut Fields<'_>, group: Option<&str>) -> Foreign {
        let mut c = Foreign {
            name: f.text("name").unwrap_or_default(),
            group: group.map(str::to_owned),
            host: f.text("host"),
            port: f.number("port").and_then(|p| u16::try_from(p).ok()),
            db: f
                .number("db")
                .and_then(|d| u32::try_from(d).ok())
                .unwrap_or(0),
            ..Foreign::default()
        };
        f.skip(&[
            "id",
            "lastConnection",
            "modules",
            "provider",
            "nameFromProvider",
            "new",
            "createdAt",
            "version",
        ]);
        c.connect_timeout_ms = f.number("timeout");
        let user = f.text("username");
        let password = f.text("password");
        let kind = f.text("connectionType").unwrap_or_default();
        let sentinel = f.object("sentinelMaster");
        if kind == "SENTINEL" || sentinel.is_some() {
            if let Some(mut s) = sentinel {
                c.sentinel_master = s.text("name");
                c.username = s.text("username");
                c.password = s.text("password");
                s.skip(&["host", "port", "status", "numberOfSlaves", "nodes"]);
                f.absorb(s);
            }
            c.sentinel_master
                .get_or_insert_with(|| "mymaster".to_owned());
            c.sentinel_username = user;
            c.sentinel_password = password;
        } else {
            c.cluster = kind == "CLUSTER" && !f.flag("forceStandalone");
            c.username = user;
            c.password = password;
        }
        f.skip(&["forceStandalone"]);
        redisinsight_tls(f, &mut c);
        redisinsight_ssh(f, &mut c);
        if let Some(Value::Array(tags)) = f.raw("tags") {
            let tags: Vec<String> = tags
                .iter()
                .filter_map(|t| {
                    Some(format!(
                        "{}={}",
                        t.get("key")?.as_str()?,
                        t.get("value")?.as_str()?
                    ))
                })
                .collect();
            if c.group.is_none() {
                c.group = tags.first().cloned();
            }
            if tags.len() > 1 {
                c.notes.push(format!(
                    "of its tags {}, the first became its group",
                    tags.join(", ")
                ));
            }
        }
        if f.text("compressor").is_some_and(|x| x != "NONE") {
            c.notes.push(
                "its compressor setting is not kept; values are decoded as they are found"
                    .to_owned(),
            );
        }
        c
    }

    /// ARDM: `{connections, groups}` with a group id on each connection (or a bare list).
    /// `auth` is the password; for Sentinel it is the sentinel's, and
    /// `sentinelOptions.nodePassword` the data nodes'.
    fn ardm(&mut self, value: &Value) -> Result<(), String> {
        let (connections, groups) = match value {
            Value::Array(list) => (list.as_slice(), &[][..]),
            Value::Object(map) => (
                map.get("connections")
                    .and_then(Value::as_array)
                    .map_or(&[][..], Vec::as_slice),
                map.get("groups")
                    .and_then(Value::as_array)
                    .map_or(&[][..], Vec::as_slice),
            ),
            _ => return Err("expected connections".into()),
        };
        let group_name = |id: &Value| {
            groups
                .iter()
                .find(|g| g.get("id") == Some(id))
                .and_then(|g| g.get("name"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        for item in connections {
            let group = item.get("groupId").and_then(group_name);
            self.one(item, |_, f| Self::ardm_one(f, group));
        }
        Ok(())
    }

    fn ardm_one(f: &mut Fields<'_>, group: Option<String>) -> Foreign {
        let mut c = Foreign {
            name: f.text("name").unwrap_or_default(),
            group,
            host: f.text("host"),
            port: f.number("port").and_then(|p| u16::try_from(p).ok()),
            username: f.text("username"),
            delimiter: f.text("separator"),
            read_only: f.flag("connectionReadOnly"),
            cluster: f.flag("cluster"),
            db: f
                .number("db")
                .and_then(|d| u32::try_from(d).ok())
                .unwrap_or(0),
            ..Foreign::default()
        };
        f.skip(&["key", "order", "groupId", "connectionName"]);
        let auth = f.text("auth");
        if let Some(mut s) = f.object("sentinelOptions") {
            c.sentinel_master = s.text("masterName");
            if c.sentinel_master.is_some() {
                c.sentinel_password.clone_from(&auth);
                c.password = s.text("nodePassword");
                c.sentinel_username.clone_from(&c.username);
                c.cluster = false;
            }
            f.absorb(s);
        }
        if c.sentinel_master.is_none() {
            c.password = auth;
        }
        if let Some(mut ssl) = f.object("sslOptions") {
            c.tls = Some(TlsSpec {
                ca_file: ssl.text("ca").map(PathBuf::from),
            });
            c.notes.push(
                "TLS certificate checks were off there; here the certificate is checked".to_owned(),
            );
            if ssl.text("cert").is_some() || ssl.text("key").is_some() {
                c.notes.push(CLIENT_CERT.to_owned());
            }
            if let Some(sni) = ssl.text("servername") {
                c.notes.push(sni_note(&sni));
            }
            ssl.skip(&["cabookmark", "certbookmark", "keybookmark"]);
            f.absorb(ssl);
        }
        if let Some(mut o) = f.object("sshOptions")
            && let Some(host) = o.text("host")
        {
            let auth = match o.text("privatekey") {
                Some(path) => SshAuth::Key(PathBuf::from(path)),
                None => SshAuth::Password(PasswordSource::Prompt),
            };
            c.ssh_password = o
                .text("password")
                .filter(|_| matches!(auth, SshAuth::Password(_)));
            c.ssh_passphrase = o.text("passphrase");
            c.ssh = ssh_spec(Some(host), o.number("port"), o.text("username"), auth);
            o.skip(&["timeout", "privatekeybookmark"]);
            f.absorb(o);
        }
        c
    }

    /// RESP.app: a list whose items are connections or `{"type": "group", "name", "connections"}`.
    fn resp_list(&mut self, items: &[Value], group: Option<&str>, depth: usize) {
        for item in items {
            if item.get("type").and_then(Value::as_str) == Some("group") {
                let name = item.get("name").and_then(Value::as_str).unwrap_or_default();
                if let Some(inner) = item.get("connections").and_then(Value::as_array)
                    && depth < MAX_DEPTH
                {
                    self.resp_list(inner, Some(name), depth + 1);
                }
                continue;
            }
            self.one(item, |r, f| r.resp(f, group));
        }
    }

    fn resp(&mut self, f: &mut Fields<'_>, group: Option<&str>) -> Foreign {
        let mut c = Foreign {
            name: f.text("name").unwrap_or_default(),
            group: group.filter(|g| !g.is_empty()).map(str::to_owned),
            host: f.text("host"),
            port: f.number("port").and_then(|p| u16::try_from(p).ok()),
            username: f.text("username"),
            password: f.text("auth"),
            pattern: f.text("keys_pattern"),
            delimiter: f.text("namespace_separator"),
            connect_timeout_ms: f.number("timeout_connect"),
            command_timeout_ms: f.number("timeout_execute"),
            ..Foreign::default()
        };
        // RESP.app finds out by itself whether a server is a cluster: a standalone profile
        // here connects to one node; the form's kind can be changed to Cluster.
        c.color = f.text("icon_color").and_then(|c| color_tag(&c));
        f.skip(&["id"]);
        self.display(
            f,
            &[
                "db_scan_limit",
                "default_formatter",
                "filter_history",
                "cluster_host_override",
                "lua_keys_loading",
            ],
        );
        if f.flag("ssl") {
            c.tls = Some(TlsSpec {
                ca_file: f.text("ssl_ca_cert_path").map(PathBuf::from),
            });
            if f.flag("ssl_ignore_all_errors") {
                c.notes.push(CHECKS_OFF.to_owned());
            }
            if f.text("ssl_local_cert_path").is_some() || f.text("ssl_private_key_path").is_some() {
                c.notes.push(CLIENT_CERT.to_owned());
            }
        } else {
            f.skip(&[
                "ssl_ca_cert_path",
                "ssl_local_cert_path",
                "ssl_private_key_path",
                "ssl_ignore_all_errors",
            ]);
        }
        if let Some(host) = f.text("ssh_host") {
            let key = f.text("ssh_private_key_path");
            let auth = if f.flag("ssh_agent") {
                SshAuth::Agent
            } else if let Some(key) = key {
                SshAuth::Key(PathBuf::from(key))
            } else {
                SshAuth::Password(PasswordSource::Prompt)
            };
            c.ssh_password = f
                .text("ssh_password")
                .filter(|_| matches!(auth, SshAuth::Password(_)));
            c.ssh = ssh_spec(Some(host), f.number("ssh_port"), f.text("ssh_user"), auth);
            f.skip(&["ssh_agent_path", "ask_ssh_password", "ssh_public_key_path"]);
        } else {
            f.skip(&[
                "ssh_port",
                "ssh_user",
                "ssh_password",
                "ssh_private_key_path",
                "ssh_agent",
                "ssh_agent_path",
                "ask_ssh_password",
                "ssh_public_key_path",
            ]);
        }
        c
    }
}

/// RedisInsight's TLS fields (certificates come as text, not paths).
fn redisinsight_tls(f: &mut Fields<'_>, c: &mut Foreign) {
    if f.flag("tls") {
        if let Some(mut ca) = f.object("caCert") {
            if ca.text("certificate").is_some() {
                c.notes.push(
                    "its CA certificate came as text: save it as a PEM file and choose it \
                     in the profile's TLS row"
                        .to_owned(),
                );
            }
            ca.skip(&["id", "name", "isPreSetup"]);
            f.absorb(ca);
        }
        if f.object("clientCert")
            .is_some_and(|cc| cc.map.values().any(meaningful))
        {
            c.notes.push(CLIENT_CERT.to_owned());
        }
        if f.raw("verifyServerCert") == Some(&Value::Bool(false)) {
            c.notes.push(CHECKS_OFF.to_owned());
        }
        if let Some(name) = f.text("tlsServername") {
            c.notes.push(sni_note(&name));
        }
        c.tls = Some(TlsSpec::default());
    } else {
        f.skip(&["caCert", "clientCert", "verifyServerCert", "tlsServername"]);
    }
}

/// RedisInsight's SSH fields (a private key comes as text, not a path).
fn redisinsight_ssh(f: &mut Fields<'_>, c: &mut Foreign) {
    if f.flag("ssh")
        && let Some(mut o) = f.object("sshOptions")
    {
        let password = o.text("password");
        // Exported without secrets, neither the password nor the key is in the file: the
        // login cannot be told, so it goes as `ssh` would (agent, then the usual keys).
        let auth = if o.text("privateKey").is_some() {
            c.notes.push(
                "its SSH private key came as text: save it as a file and choose it in the \
                 profile's SSH row"
                    .to_owned(),
            );
            SshAuth::Auto
        } else if password.is_some() {
            SshAuth::Password(PasswordSource::Prompt)
        } else {
            c.notes.push(
                "its SSH login (a password or a key) was not in the file: the agent and the \
                 usual keys are tried; choose it in the profile's SSH row"
                    .to_owned(),
            );
            SshAuth::Auto
        };
        c.ssh_password = password;
        c.ssh_passphrase = o.text("passphrase");
        c.ssh = ssh_spec(o.text("host"), o.number("port"), o.text("username"), auth);
        o.skip(&["id"]);
        f.absorb(o);
    } else {
        f.skip(&["ssh", "sshOptions"]);
    }
}

/// Tiny RDM's `ssl` block.
fn tinyrdm_tls(f: &mut Fields<'_>, c: &mut Foreign) {
    if let Some(mut ssl) = f.object("ssl") {
        if ssl.flag("enable") {
            let ca = ssl.text("cafile").map(PathBuf::from);
            c.tls = Some(TlsSpec { ca_file: ca });
            if ssl.flag("allow_insecure") {
                c.notes.push(CHECKS_OFF.to_owned());
            }
            if ssl.text("certfile").is_some() || ssl.text("keyfile").is_some() {
                c.notes.push(CLIENT_CERT.to_owned());
            }
            if let Some(sni) = ssl.text("sni") {
                c.notes.push(sni_note(&sni));
            }
        } else {
            ssl.skip(&["cafile", "certfile", "keyfile", "allow_insecure", "sni"]);
        }
        f.absorb(ssl);
    }
}

/// Tiny RDM's `ssh` block (`login_type`: `pwd`, `pkfile` or `agent`).
fn tinyrdm_ssh(f: &mut Fields<'_>, c: &mut Foreign) {
    if let Some(mut ssh) = f.object("ssh") {
        if ssh.flag("enable") {
            let auth = match ssh.text("login_type").as_deref() {
                Some("pkfile") => ssh
                    .text("pk_file")
                    .map_or(SshAuth::Auto, |p| SshAuth::Key(PathBuf::from(p))),
                Some("agent") => SshAuth::Agent,
                _ => SshAuth::Password(PasswordSource::Prompt),
            };
            c.ssh_password = ssh
                .text("password")
                .filter(|_| matches!(auth, SshAuth::Password(_)));
            c.ssh_passphrase = ssh
                .text("passphrase")
                .filter(|_| matches!(auth, SshAuth::Key(_)));
            c.ssh = ssh_spec(
                ssh.text("addr"),
                ssh.number("port"),
                ssh.text("username"),
                auth,
            );
        }
        ssh.skip(&[
            "addr",
            "port",
            "username",
            "password",
            "pk_file",
            "passphrase",
            "login_type",
        ]);
        f.absorb(ssh);
    }
}

/// The tunnel of an imported connection; `None` without a host.
fn ssh_spec(
    host: Option<String>,
    port: Option<u64>,
    user: Option<String>,
    auth: SshAuth,
) -> Option<SshSpec> {
    let host = host?;
    Some(SshSpec {
        hop: SshHop {
            host,
            port: port
                .and_then(|p| u16::try_from(p).ok())
                .filter(|p| *p != 22),
            user,
        },
        auth,
        ..SshSpec::default()
    })
}

/// The colour tag nearest a `#rrggbb` colour (by hue; greys are grey).
fn color_tag(text: &str) -> Option<ColorTag> {
    let hex = text.trim().strip_prefix('#')?;
    if hex.len() != 6 || !hex.is_ascii() {
        return None;
    }
    let channel = |i: usize| {
        u8::from_str_radix(hex.get(i..i + 2)?, 16)
            .ok()
            .map(|v| f32::from(v) / 255.0)
    };
    let (r, g, b) = (channel(0)?, channel(2)?, channel(4)?);
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    let delta = max - min;
    if max <= 0.0 || delta / max < 0.2 {
        return Some(ColorTag::Gray);
    }
    let hue = if (max - r).abs() < f32::EPSILON {
        60.0 * ((g - b) / delta).rem_euclid(6.0)
    } else if (max - g).abs() < f32::EPSILON {
        60.0 * ((b - r) / delta + 2.0)
    } else {
        60.0 * ((r - g) / delta + 4.0)
    };
    Some(match hue {
        h if !(15.0..330.0).contains(&h) => ColorTag::Red,
        h if h < 45.0 => ColorTag::Orange,
        h if h < 70.0 => ColorTag::Yellow,
        h if h < 170.0 => ColorTag::Green,
        h if h < 260.0 => ColorTag::Blue,
        _ => ColorTag::Purple,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::transfer::{self, Source};

    const TINYRDM: &[u8] = include_bytes!("../../tests/fixtures/import/tinyrdm-connections.yaml");
    const TINYRDM_ZIP: &[u8] = include_bytes!("../../tests/fixtures/import/tinyrdm-export.zip");
    const REDISINSIGHT: &[u8] =
        include_bytes!("../../tests/fixtures/import/redisinsight-export.json");
    const ARDM: &[u8] = include_bytes!("../../tests/fixtures/import/ardm-connections.ano");
    const RESP: &[u8] = include_bytes!("../../tests/fixtures/import/resp-connections.json");

    fn read(bytes: &[u8]) -> Incoming {
        transfer::read(bytes, None, None).expect("reads")
    }

    fn profile<'a>(incoming: &'a Incoming, name: &str) -> &'a Profile {
        incoming
            .profiles
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("no profile {name} in {:?}", incoming.profiles))
    }

    fn redis(p: &Profile) -> &RedisSpec {
        match &p.connection {
            ConnectionSpec::Redis(spec) => spec,
            other => panic!("not redis: {other:?}"),
        }
    }

    fn secret(incoming: &Incoming, name: &str, slot: Slot) -> Option<String> {
        incoming
            .secrets
            .iter()
            .find(|(n, _)| n.profile == name && n.slot == slot)
            .map(|(_, s)| s.expose().to_owned())
    }

    fn noted(incoming: &Incoming, needle: &str) -> bool {
        incoming.notes.iter().any(|n| n.contains(needle))
    }

    #[test]
    fn every_fixture_is_detected_as_its_tool() {
        for (bytes, tool) in [
            (TINYRDM, Tool::TinyRdm),
            (TINYRDM_ZIP, Tool::TinyRdm),
            (REDISINSIGHT, Tool::RedisInsight),
            (ARDM, Tool::Ardm),
            (RESP, Tool::Resp),
        ] {
            assert_eq!(transfer::detect(bytes), Some(Source::Tool(tool)));
        }
        assert_eq!(
            transfer::detect(b"redis://127.0.0.1:6379/0\n"),
            Some(Source::Urls)
        );
    }

    #[test]
    fn tiny_rdm_groups_sentinel_cluster_tls_and_ssh() {
        for bytes in [TINYRDM, TINYRDM_ZIP] {
            let incoming = read(bytes);
            let names: Vec<&str> = incoming.profiles.iter().map(|p| p.name.as_str()).collect();
            assert_eq!(
                names,
                [
                    "prod-cache",
                    "prod-sentinel",
                    "local-cluster",
                    "local-socket",
                    "via-password-bastion"
                ]
            );
            let prod = profile(&incoming, "prod-cache");
            assert_eq!(prod.group.as_deref(), Some("Production"));
            assert_eq!(prod.default_pattern, "laravel_cache:*");
            assert_eq!(prod.color, Some(ColorTag::Red));
            let spec = redis(prod);
            assert_eq!(
                spec.address,
                RedisAddress::Tcp {
                    host: "10.0.0.5".into(),
                    port: 6380
                }
            );
            assert_eq!(spec.db, 2);
            assert_eq!(spec.username.as_deref(), Some("app"));
            assert_eq!(spec.connect_timeout_ms, 10_000);
            assert_eq!(spec.command_timeout_ms, 20_000);
            assert_eq!(
                spec.tls.as_ref().and_then(|t| t.ca_file.clone()),
                Some(PathBuf::from("/etc/ssl/prod-ca.pem"))
            );
            let ssh = prod.ssh.as_ref().expect("ssh");
            assert_eq!(ssh.hop.to_string(), "ops@bastion.example.com:2222");
            assert_eq!(
                ssh.auth,
                SshAuth::Key(PathBuf::from("/home/ops/.ssh/id_ed25519"))
            );
            assert_eq!(
                secret(&incoming, "prod-cache", Slot::Password).as_deref(),
                Some("s3cret-prod")
            );
            assert_eq!(
                secret(&incoming, "prod-cache", Slot::SshPassphrase).as_deref(),
                Some("key-passphrase")
            );

            // The top-level login is the sentinels', `sentinel.*` the primary's.
            let sentinel = profile(&incoming, "prod-sentinel");
            let spec = redis(sentinel);
            assert_eq!(
                spec.address,
                RedisAddress::Sentinel {
                    sentinels: vec![NodeAddress::new("10.0.0.6", 26379)],
                    master: "df-primary".into()
                }
            );
            assert_eq!(spec.username.as_deref(), Some("data-user"));
            assert_eq!(spec.sentinel.username.as_deref(), Some("sentinel-user"));
            assert_eq!(
                secret(&incoming, "prod-sentinel", Slot::Password).as_deref(),
                Some("data-pass")
            );
            assert!(noted(
                &incoming,
                "`prod-sentinel`: the sentinels' own password"
            ));

            let cluster = redis(profile(&incoming, "local-cluster"));
            assert_eq!(
                cluster.address,
                RedisAddress::Cluster {
                    seeds: vec![NodeAddress::new("127.0.0.1", 7000)]
                }
            );
            assert!(noted(&incoming, "`local-cluster`: it went through a proxy"));
            let socket = profile(&incoming, "local-socket");
            assert_eq!(
                redis(socket).address,
                RedisAddress::Unix {
                    path: "/run/redis/redis.sock".into()
                }
            );
            assert_eq!(socket.delimiter, "/");
            assert_eq!(redis(socket).db, 1);
            let bastion = profile(&incoming, "via-password-bastion");
            let ssh = bastion.ssh.as_ref().expect("ssh");
            assert_eq!(ssh.auth, SshAuth::Password(PasswordSource::Prompt));
            assert_eq!(ssh.hop.port, None);
            assert_eq!(
                secret(&incoming, "via-password-bastion", Slot::SshPassword).as_deref(),
                Some("ssh-secret")
            );
            assert!(noted(&incoming, "key_view, load_size, refresh_interval"));
        }
    }

    #[test]
    fn redisinsight_kinds_logins_and_what_it_cannot_bring() {
        let incoming = read(REDISINSIGHT);
        let tls = profile(&incoming, "df-cache (TLS)");
        let spec = redis(tls);
        assert!(spec.tls.is_some());
        assert_eq!(spec.db, 1);
        assert_eq!(tls.group.as_deref(), Some("env=prod"));
        assert_eq!(
            secret(&incoming, "df-cache (TLS)", Slot::Password).as_deref(),
            Some("ri-pass-1")
        );
        assert!(noted(
            &incoming,
            "`df-cache (TLS)`: its CA certificate came as text"
        ));
        assert!(noted(&incoming, "the TLS server name `cache.internal`"));

        let cluster = profile(&incoming, "cluster-seed");
        assert!(redis(cluster).is_cluster());
        assert_eq!(
            cluster.ssh.as_ref().map(|s| s.hop.to_string()).as_deref(),
            Some("ops@bastion.example.com")
        );
        assert_eq!(
            secret(&incoming, "cluster-seed", Slot::SshPassword).as_deref(),
            Some("ri-ssh-pass")
        );
        assert!(noted(&incoming, "`cluster-seed`: its compressor"));

        let sentinel = redis(profile(&incoming, "sentinel-group"));
        assert_eq!(
            sentinel.address,
            RedisAddress::Sentinel {
                sentinels: vec![NodeAddress::new("10.1.0.7", 26379)],
                master: "mymaster".into()
            }
        );
        assert_eq!(sentinel.username.as_deref(), Some("app"));
        assert_eq!(
            sentinel.sentinel.username.as_deref(),
            Some("sentinel-admin")
        );
        assert_eq!(
            secret(&incoming, "sentinel-group", Slot::Password).as_deref(),
            Some("ri-master-pass")
        );

        // Exported without secrets: the SSH login is not in the file, and that is said.
        let stripped = read_tool(
            br#"[{"id": "x", "host": "10.0.0.1", "port": 6379, "name": "no-secrets",
                  "connectionType": "STANDALONE", "ssh": true,
                  "sshOptions": {"host": "bastion", "port": 22, "username": "ops"}}]"#,
            Tool::RedisInsight,
        )
        .expect("reads");
        let ssh = stripped.profiles[0].ssh.as_ref().expect("ssh");
        assert_eq!(ssh.auth, SshAuth::Auto);
        assert!(noted(
            &stripped,
            "its SSH login (a password or a key) was not in the file"
        ));
    }

    #[test]
    fn ardm_groups_read_only_sentinel_and_key_files() {
        let incoming = read(ARDM);
        let main = profile(&incoming, "ardm-main");
        assert!(main.read_only);
        assert_eq!(main.group.as_deref(), Some("ARDM servers"));
        let ssh = main.ssh.as_ref().expect("ssh");
        assert_eq!(ssh.auth, SshAuth::Key("/home/ops/.ssh/id_ecdsa".into()));
        assert_eq!(
            secret(&incoming, "ardm-main", Slot::SshPassphrase).as_deref(),
            Some("ardm-key-pass")
        );
        assert_eq!(
            secret(&incoming, "ardm-main", Slot::Password).as_deref(),
            Some("ardm-pass")
        );
        // `auth` is the sentinel's; the data nodes' password is `nodePassword`.
        let sentinel = profile(&incoming, "ardm-sentinel");
        assert!(matches!(
            redis(sentinel).address,
            RedisAddress::Sentinel { ref master, .. } if master == "mymaster"
        ));
        assert_eq!(sentinel.group, None);
        assert_eq!(
            secret(&incoming, "ardm-sentinel", Slot::Password).as_deref(),
            Some("ardm-node-pass")
        );
        // A connection without a name is named by its address, as ARDM shows it.
        let unnamed = profile(&incoming, "10.2.0.11:7001");
        assert!(redis(unnamed).is_cluster());
        assert_eq!(unnamed.delimiter, "-");
        assert!(noted(
            &incoming,
            "`10.2.0.11:7001`: TLS certificate checks were off"
        ));
    }

    #[test]
    fn resp_groups_tls_and_ssh_keys() {
        let incoming = read(RESP);
        let local = profile(&incoming, "resp-local");
        assert_eq!(local.group, None);
        assert_eq!(local.color, Some(ColorTag::Red));
        assert_eq!(
            secret(&incoming, "resp-local", Slot::Password).as_deref(),
            Some("resp-pass")
        );
        assert_eq!(redis(local).connect_timeout_ms, 60_000);
        let staging = profile(&incoming, "staging");
        assert_eq!(staging.group.as_deref(), Some("Staging"));
        assert_eq!(staging.delimiter, "|");
        assert_eq!(staging.default_pattern, "cache:*");
        let spec = redis(staging);
        assert_eq!(spec.username.as_deref(), Some("ops"));
        assert_eq!(spec.password, PasswordSource::None);
        assert_eq!(spec.command_timeout_ms, 15_000);
        let ssh = staging.ssh.as_ref().expect("ssh");
        assert_eq!(ssh.hop.to_string(), "deploy@bastion.staging:2200");
        assert_eq!(ssh.auth, SshAuth::Key("/home/deploy/.ssh/id_rsa".into()));
        assert!(noted(&incoming, "`staging`: its TLS client certificate"));
        assert!(noted(&incoming, "filter_history"));
    }

    #[test]
    fn hostile_and_broken_files_are_refused_with_a_reason() {
        for (bytes, tool) in [
            (&b"- name: [unclosed"[..], Tool::TinyRdm),
            (b"PK\x03\x04 not really a zip", Tool::TinyRdm),
            (b"{\"not\": \"a list\"}", Tool::RedisInsight),
            (b"%%% not base64 %%%", Tool::Ardm),
            (b"[]", Tool::Resp),
            (RESP, Tool::TinyRdm),
            (TINYRDM, Tool::Ardm),
        ] {
            let err = read_tool(bytes, tool).expect_err("refused");
            assert!(err.to_string().contains(tool.describe()), "{err}");
        }
        // A name no profile may have is cleaned; a connection with no host is said.
        let incoming = read_tool(
            br#"[{"name": "evil\nname\u202e", "host": "h", "auth": "p"}, {"name": "nohost", "auth": ""}]"#,
            Tool::Resp,
        )
        .expect("reads");
        assert_eq!(incoming.profiles[0].name, "evilname");
        assert!(
            incoming
                .notes
                .iter()
                .any(|n| n.contains("`nohost` was left out"))
        );
    }

    #[test]
    fn a_yaml_bomb_and_a_group_no_profile_could_have_are_refused_or_said() {
        use std::fmt::Write as _;
        // Nine levels of nine aliases: hundreds of millions of nodes if expanded.
        let mut bomb =
            String::from("- name: bomb\n  addr: 127.0.0.1\n  l0: &l0 [x,x,x,x,x,x,x,x,x]\n");
        for level in 1..9 {
            let prev = format!("*l{}", level - 1);
            let items = [prev.as_str(); 9].join(",");
            let _ = writeln!(bomb, "  l{level}: &l{level} [{items}]");
        }
        let err = read_tool(bomb.as_bytes(), Tool::TinyRdm).expect_err("refused");
        assert!(err.to_string().contains("limit"), "{err}");

        let incoming = read_tool(
            br#"[{"type": "group", "name": "bad\tgroup", "connections": [{"name": "in-it", "host": "h", "auth": ""}]}]"#,
            Tool::Resp,
        )
        .expect("reads");
        assert_eq!(incoming.profiles[0].group, None);
        assert!(
            noted(&incoming, "`in-it`: the group name"),
            "{:?}",
            incoming.notes
        );
    }

    fn read_tool(bytes: &[u8], tool: Tool) -> Result<Incoming, TransferError> {
        transfer::read(bytes, Some(Source::Tool(tool)), None)
    }

    #[test]
    fn colours_map_to_the_nearest_tag() {
        assert_eq!(color_tag("#F75B52"), Some(ColorTag::Red));
        assert_eq!(color_tag("#4ECF60"), Some(ColorTag::Green));
        assert_eq!(color_tag("#5C7CFA"), Some(ColorTag::Blue));
        assert_eq!(color_tag("#888888"), Some(ColorTag::Gray));
        assert_eq!(color_tag("#FFD43B"), Some(ColorTag::Yellow));
        assert_eq!(color_tag("red"), None);
        assert_eq!(color_tag("#é12345"), None);
    }
}
