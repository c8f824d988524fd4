//! SSH tunnels (russh, on ring like rustls here): a login to the bastion, through jump hosts
//! when there are any, with every host key checked against `known_hosts`, and a
//! `direct-tcpip` (or `direct-streamlocal`) channel per connection a backend opens.
//!
//! The tunnel is opened once when the backend connects, so a host key or login problem comes
//! back as its own [`SshError`] the app can ask about (trust this key, enter a passphrase). A
//! session that drops later is opened again on the next connection a backend makes, with the
//! same checks: a changed host key still refuses.

mod forward;
pub mod hops;
pub mod known_hosts;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use forward::LocalSocket;
use hops::{Hop, Route};
use known_hosts::Verdict;
use russh::ChannelStream;
use russh::client::{self, Handle, Msg};
use russh::keys::{Algorithm, PrivateKey, PrivateKeyWithHashAlg, PublicKey};

use crate::config::connection::{PasswordSource, Secret, SshAuth, SshSpec};

/// The largest private key file read.
const MAX_KEY_FILE_BYTES: u64 = 256 << 10;

/// Why a tunnel could not be opened. The host-key and secret cases are what the app asks the
/// user about; no message holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SshError {
    /// A host key never seen before, and nobody said to trust it.
    #[error(
        "the SSH host key of {host} is not in {known_hosts}: its {algorithm} key fingerprint is \
         {fingerprint}. Check it with the server's administrator, then trust it (in the app, or \
         with --ssh-accept-new)"
    )]
    UnknownHostKey {
        /// `[host]:port` as `known_hosts` names it.
        host: String,
        /// `ssh-ed25519`, …
        algorithm: String,
        /// `SHA256:…`, as `ssh-keygen -l` prints it.
        fingerprint: String,
        /// The file checked.
        known_hosts: String,
    },
    /// The host shows another key than the one recorded: refused, always.
    #[error(
        "the SSH host key of {host} has CHANGED: {known_hosts} line {line} records another key, \
         and the host now shows {algorithm} {fingerprint}. Someone may be intercepting the \
         connection, so it was refused. If the host was reinstalled, remove that line and \
         connect again"
    )]
    ChangedHostKey {
        /// `[host]:port`.
        host: String,
        /// The key type shown now.
        algorithm: String,
        /// Its fingerprint.
        fingerprint: String,
        /// The file checked.
        known_hosts: String,
        /// The line of the recorded key.
        line: usize,
    },
    /// The key is marked `@revoked`.
    #[error(
        "the SSH host key of {host} ({fingerprint}) is marked @revoked in {known_hosts} line \
         {line}: refused"
    )]
    RevokedHostKey {
        /// `[host]:port`.
        host: String,
        /// Its fingerprint.
        fingerprint: String,
        /// The file checked.
        known_hosts: String,
        /// The line of the mark.
        line: usize,
    },
    /// A key file is encrypted and no passphrase was given.
    #[error("the SSH key {path} is encrypted: enter its passphrase")]
    PassphraseNeeded {
        /// The key file.
        path: String,
    },
    /// The passphrase does not open the key.
    #[error("the passphrase does not open the SSH key {path}")]
    WrongPassphrase {
        /// The key file.
        path: String,
    },
    /// Password login and no password.
    #[error("SSH login to {host} needs a password")]
    PasswordNeeded {
        /// `user@host:port`.
        host: String,
    },
    /// The host refused every way of logging in that was tried.
    #[error(
        "SSH login to {host} failed ({tried} refused). Check the user name and the key or password"
    )]
    AuthFailed {
        /// `user@host:port`.
        host: String,
        /// What was offered.
        tried: String,
    },
    /// The host cannot be reached, or the SSH handshake failed.
    #[error("cannot reach SSH host {host}: {reason}")]
    Connect {
        /// `user@host:port`.
        host: String,
        /// What failed.
        reason: String,
    },
    /// The host did not open the tunnel to the cache's address.
    #[error(
        "SSH host {host} could not open a connection to {target}: {reason}. Check the address as \
         seen from {host}, and that it allows TCP forwarding"
    )]
    Channel {
        /// `user@host:port`.
        host: String,
        /// The address asked for.
        target: String,
        /// What it said.
        reason: String,
    },
    /// Everything took longer than the connect timeout.
    #[error("SSH to {host} did not finish within {timeout_ms} ms")]
    Timeout {
        /// `user@host:port`.
        host: String,
        /// The limit.
        timeout_ms: u64,
    },
    /// The settings cannot be used (an unreadable config or key file, no agent).
    #[error("{0}")]
    Config(String),
}

impl SshError {
    /// Whether asking the user (trust a key, a passphrase, a password) and trying again can
    /// help.
    #[must_use]
    pub fn can_ask(&self) -> bool {
        matches!(
            self,
            Self::UnknownHostKey { .. }
                | Self::PassphraseNeeded { .. }
                | Self::WrongPassphrase { .. }
                | Self::PasswordNeeded { .. }
        )
    }
}

/// What the user gave this session: a key passphrase, an SSH password, and host keys they
/// chose to trust (`[host]:port` and fingerprint). Never saved.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SshSecrets {
    /// The passphrase of an encrypted key file.
    pub passphrase: Option<Secret>,
    /// The password for password login.
    pub password: Option<Secret>,
    /// Host keys to trust and record when they are met.
    pub trusted: Vec<(String, String)>,
}

impl std::fmt::Debug for SshSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshSecrets")
            .field("passphrase", &self.passphrase.as_ref().map(|_| "***"))
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("trusted", &self.trusted)
            .finish()
    }
}

/// A tunnel to open: the profile's settings and this session's secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshTarget {
    /// The settings.
    pub spec: SshSpec,
    /// What the user gave this session.
    pub secrets: SshSecrets,
}

/// The logged-in chain of SSH sessions: jump hosts first, the bastion last.
struct Chain {
    handles: Vec<Handle<Checker>>,
}

impl Chain {
    fn bastion(&self) -> Option<&Handle<Checker>> {
        self.handles.last()
    }

    fn closed(&self) -> bool {
        self.handles.iter().any(Handle::is_closed)
    }
}

/// An open SSH tunnel, shared by every connection of one backend.
pub struct Tunnel {
    target: SshTarget,
    route: Route,
    timeout: Duration,
    chain: tokio::sync::Mutex<Option<Arc<Chain>>>,
}

impl Tunnel {
    /// Resolves the hosts, logs in to each, and keeps the sessions for the backend's
    /// connections.
    ///
    /// # Errors
    /// See [`SshError`].
    pub async fn open(target: &SshTarget, timeout: Duration) -> Result<Arc<Self>, SshError> {
        let spec = target.spec.clone();
        let route = off_thread(move || hops::resolve(&spec)).await?;
        let tunnel = Arc::new(Self {
            target: target.clone(),
            route,
            timeout,
            chain: tokio::sync::Mutex::new(None),
        });
        tunnel.current().await?;
        Ok(tunnel)
    }

    /// `via ssh ops@bastion:2222`, for descriptions and messages.
    #[must_use]
    pub fn label(&self) -> String {
        self.target.spec.label()
    }

    fn bastion_label(&self) -> String {
        self.route.hops.last().map(Hop::label).unwrap_or_default()
    }

    /// The open chain, or a new one after it dropped.
    async fn current(&self) -> Result<Arc<Chain>, SshError> {
        let mut slot = self.chain.lock().await;
        if let Some(chain) = slot.as_ref()
            && !chain.closed()
        {
            return Ok(Arc::clone(chain));
        }
        *slot = None;
        let hops = u32::try_from(self.route.hops.len())
            .unwrap_or(u32::MAX)
            .max(1);
        let limit = self.timeout.saturating_mul(hops);
        let chain = tokio::time::timeout(limit, self.log_in())
            .await
            .map_err(|_| SshError::Timeout {
                host: self.bastion_label(),
                timeout_ms: u64::try_from(limit.as_millis()).unwrap_or(u64::MAX),
            })??;
        let chain = Arc::new(chain);
        *slot = Some(Arc::clone(&chain));
        Ok(chain)
    }

    async fn log_in(&self) -> Result<Chain, SshError> {
        let mut handles: Vec<Handle<Checker>> = Vec::with_capacity(self.route.hops.len());
        for hop in &self.route.hops {
            let handle = match handles.last() {
                None => {
                    let tcp = tokio::net::TcpStream::connect((hop.host.as_str(), hop.port))
                        .await
                        .map_err(|e| lost(hop, &e))?;
                    let _ = tcp.set_nodelay(true);
                    self.log_in_to(hop, tcp).await?
                }
                Some(previous) => {
                    let channel = previous
                        .channel_open_direct_tcpip(
                            hop.host.clone(),
                            u32::from(hop.port),
                            "127.0.0.1",
                            0,
                        )
                        .await
                        .map_err(|e| SshError::Channel {
                            host: self.route.hops[handles.len() - 1].label(),
                            target: format!("{}:{}", hop.host, hop.port),
                            reason: e.to_string(),
                        })?;
                    self.log_in_to(hop, channel.into_stream()).await?
                }
            };
            handles.push(handle);
        }
        Ok(Chain { handles })
    }

    async fn log_in_to<S>(&self, hop: &Hop, stream: S) -> Result<Handle<Checker>, SshError>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let known_hosts = self.route.known_hosts.clone();
        // Ask for the key types already recorded for this host (as OpenSSH does), so a host
        // that has a recorded key must show that key, and a different one reads as changed.
        let (file, host, port) = (known_hosts.clone(), hop.host.clone(), hop.port);
        let recorded = off_thread(move || {
            known_hosts::recorded(&file, &host, port)
                .map_err(|e| SshError::Config(format!("cannot read {}: {e}", file.display())))
        })
        .await?;
        let mut preferred = russh::Preferred::default();
        if !recorded.is_empty() {
            let families: Vec<String> = recorded
                .iter()
                .map(|(_, e)| family(&e.public_key().algorithm()))
                .collect();
            let keys: Vec<Algorithm> = preferred
                .key
                .iter()
                .filter(|a| families.contains(&family(a)))
                .cloned()
                .collect();
            if !keys.is_empty() {
                preferred.key = keys.into();
            }
        }
        let config = Arc::new(client::Config {
            preferred,
            keepalive_interval: Some(Duration::from_secs(30)),
            keepalive_max: 3,
            nodelay: true,
            ..client::Config::default()
        });
        let outcome = Arc::new(Mutex::new(None));
        let checker = Checker {
            host: hop.host.clone(),
            port: hop.port,
            known_hosts,
            recorded,
            accept_new: self.target.spec.accept_new,
            trusted: self.target.secrets.trusted.clone(),
            outcome: Arc::clone(&outcome),
        };
        let mut handle = match client::connect_stream(config, stream, checker).await {
            Ok(handle) => handle,
            Err(e) => {
                let stashed = outcome.lock().ok().and_then(|mut o| o.take());
                return Err(stashed.unwrap_or_else(|| lost(hop, &e)));
            }
        };
        self.authenticate(&mut handle, hop).await?;
        Ok(handle)
    }

    async fn authenticate(&self, handle: &mut Handle<Checker>, hop: &Hop) -> Result<(), SshError> {
        let failed = |tried: &[String]| SshError::AuthFailed {
            host: hop.label(),
            tried: if tried.is_empty() {
                "no key was found to offer".to_owned()
            } else {
                tried.join(", ")
            },
        };
        let mut tried = Vec::new();
        match &self.target.spec.auth {
            SshAuth::Password(source) => {
                let password = match (&self.target.secrets.password, source) {
                    (Some(p), _) => p.clone(),
                    (None, PasswordSource::Env(name)) => {
                        Secret::new(std::env::var(name).map_err(|_| {
                            SshError::Config(format!("the SSH password variable {name} is not set"))
                        })?)
                    }
                    (None, _) => {
                        return Err(SshError::PasswordNeeded { host: hop.label() });
                    }
                };
                let result = handle
                    .authenticate_password(hop.user.clone(), password.expose())
                    .await
                    .map_err(|e| lost(hop, &e))?;
                if result.success() {
                    return Ok(());
                }
                tried.push("the password".to_owned());
                // Servers that check passwords through PAM often offer only
                // keyboard-interactive: answer its password prompts the same way.
                if self.keyboard_interactive(handle, hop, &password).await? {
                    return Ok(());
                }
            }
            SshAuth::Key(path) => {
                let path = expand_home(path);
                if self.try_key_file(handle, hop, &path).await? {
                    return Ok(());
                }
                tried.push(format!("key {}", path.display()));
            }
            SshAuth::Agent => {
                if self.try_agent(handle, hop, &mut tried, true).await? {
                    return Ok(());
                }
            }
            SshAuth::Auto => {
                if self.try_agent(handle, hop, &mut tried, false).await? {
                    return Ok(());
                }
                let mut encrypted = None;
                for path in key_candidates(hop) {
                    match self.try_key_file(handle, hop, &path).await {
                        Ok(true) => return Ok(()),
                        Ok(false) => tried.push(format!("key {}", path.display())),
                        Err(e @ SshError::PassphraseNeeded { .. }) => {
                            encrypted.get_or_insert(e);
                        }
                        Err(e) => return Err(e),
                    }
                }
                if let Some(e) = encrypted {
                    return Err(e);
                }
            }
        }
        Err(failed(&tried))
    }

    /// Keyboard-interactive login answering every hidden prompt with `password` (and any
    /// shown one with nothing), for at most a few rounds.
    async fn keyboard_interactive(
        &self,
        handle: &mut Handle<Checker>,
        hop: &Hop,
        password: &Secret,
    ) -> Result<bool, SshError> {
        use russh::client::KeyboardInteractiveAuthResponse as Reply;
        let mut reply = handle
            .authenticate_keyboard_interactive_start(hop.user.clone(), None)
            .await
            .map_err(|e| lost(hop, &e))?;
        for _ in 0..4 {
            match reply {
                Reply::Success => return Ok(true),
                Reply::Failure { .. } => return Ok(false),
                Reply::InfoRequest { prompts, .. } => {
                    let answers = prompts
                        .iter()
                        .map(|p| {
                            if p.echo {
                                String::new()
                            } else {
                                password.expose().to_owned()
                            }
                        })
                        .collect();
                    reply = handle
                        .authenticate_keyboard_interactive_respond(answers)
                        .await
                        .map_err(|e| lost(hop, &e))?;
                }
            }
        }
        Ok(false)
    }

    /// Offers the key in `path`; `Ok(false)` when the host does not take it.
    async fn try_key_file(
        &self,
        handle: &mut Handle<Checker>,
        hop: &Hop,
        path: &Path,
    ) -> Result<bool, SshError> {
        let (file, passphrase) = (path.to_path_buf(), self.target.secrets.passphrase.clone());
        let key = off_thread(move || load_key(&file, passphrase.as_ref())).await?;
        let hash = rsa_hash(handle).await;
        let result = handle
            .authenticate_publickey(
                hop.user.clone(),
                PrivateKeyWithHashAlg::new(Arc::new(key), hash),
            )
            .await
            .map_err(|e| lost(hop, &e))?;
        Ok(result.success())
    }

    /// Offers the agent's keys; without an agent, an error when it is the only way
    /// (`required`), nothing otherwise.
    async fn try_agent(
        &self,
        handle: &mut Handle<Checker>,
        hop: &Hop,
        tried: &mut Vec<String>,
        required: bool,
    ) -> Result<bool, SshError> {
        use russh::keys::agent::AgentIdentity;
        use russh::keys::agent::client::AgentClient;
        let mut agent = match AgentClient::connect_env().await {
            Ok(agent) => agent,
            Err(e) if required => {
                return Err(SshError::Config(format!(
                    "no SSH agent to ask ({e}): start one and add the key (ssh-add), or choose \
                     a key file"
                )));
            }
            Err(_) => return Ok(false),
        };
        let identities = match agent.request_identities().await {
            Ok(ids) => ids,
            Err(e) if required => {
                return Err(SshError::Config(format!(
                    "the SSH agent did not list its keys: {e}"
                )));
            }
            Err(_) => return Ok(false),
        };
        let hash = rsa_hash(handle).await;
        for identity in identities {
            let AgentIdentity::PublicKey { key, .. } = identity else {
                continue;
            };
            tried.push(format!("agent key {}", known_hosts::fingerprint(&key)));
            let hash = if key.algorithm().is_rsa() { hash } else { None };
            match handle
                .authenticate_publickey_with(hop.user.clone(), key, hash, &mut agent)
                .await
            {
                Ok(result) if result.success() => return Ok(true),
                Ok(_) => {}
                Err(e) => {
                    if handle.is_closed() {
                        return Err(lost(hop, &e));
                    }
                }
            }
        }
        if required && tried.is_empty() {
            return Err(SshError::Config(
                "the SSH agent holds no key: add one with ssh-add".to_owned(),
            ));
        }
        Ok(false)
    }

    async fn open_channel<F, Fut>(&self, target: &str, open: F) -> io::Result<ChannelStream<Msg>>
    where
        F: Fn(Arc<Chain>) -> Fut,
        Fut: std::future::Future<Output = Result<russh::Channel<Msg>, russh::Error>>,
    {
        // One more try on a fresh session when the old one turns out to be gone (the bastion
        // restarted, a NAT forgot the connection): "re-opened on reconnect".
        for attempt in 0..2 {
            let chain = self.current().await.map_err(io::Error::other)?;
            match open(Arc::clone(&chain)).await {
                Ok(channel) => return Ok(channel.into_stream()),
                Err(_) if attempt == 0 && chain.closed() => {
                    let mut slot = self.chain.lock().await;
                    if slot.as_ref().is_some_and(|c| Arc::ptr_eq(c, &chain)) {
                        *slot = None;
                    }
                }
                Err(e) => {
                    let error = SshError::Channel {
                        host: self.bastion_label(),
                        target: target.to_owned(),
                        reason: e.to_string(),
                    };
                    let kind = if chain.closed() {
                        io::ErrorKind::ConnectionAborted
                    } else {
                        io::ErrorKind::ConnectionRefused
                    };
                    return Err(io::Error::new(kind, error.to_string()));
                }
            }
        }
        Err(io::Error::other("the SSH session closed twice in a row"))
    }

    /// A connection to `host:port` as the bastion reaches it.
    ///
    /// # Errors
    /// The session cannot be (re)opened, or the bastion refuses the channel.
    pub async fn dial_tcp(&self, host: &str, port: u16) -> io::Result<ChannelStream<Msg>> {
        let target = crate::config::connection::NodeAddress::new(host, port).to_string();
        self.open_channel(&target, |chain| {
            let host = host.to_owned();
            async move {
                match chain.bastion() {
                    Some(b) => {
                        b.channel_open_direct_tcpip(host, u32::from(port), "127.0.0.1", 0)
                            .await
                    }
                    None => Err(russh::Error::Disconnect),
                }
            }
        })
        .await
    }

    /// A connection to a unix socket on the bastion.
    ///
    /// # Errors
    /// The session cannot be (re)opened, or the bastion refuses the channel.
    pub async fn dial_unix(&self, path: &Path) -> io::Result<ChannelStream<Msg>> {
        let text = path.to_string_lossy().into_owned();
        self.open_channel(&text, |chain| {
            let text = text.clone();
            async move {
                match chain.bastion() {
                    Some(b) => b.channel_open_direct_streamlocal(text).await,
                    None => Err(russh::Error::Disconnect),
                }
            }
        })
        .await
    }
}

/// The hash an RSA key signs with for this host (SHA-2 where it says it takes it).
async fn rsa_hash(handle: &Handle<Checker>) -> Option<russh::keys::HashAlg> {
    handle
        .best_supported_rsa_hash()
        .await
        .ok()
        .flatten()
        .flatten()
}

/// File work (the ssh config, `known_hosts`, a key file) on the blocking pool: a home directory
/// on a slow network share must not hold a runtime thread that other connections need.
async fn off_thread<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, SshError> + Send + 'static,
) -> Result<T, SshError> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| Err(SshError::Config(format!("the file work stopped: {e}"))))
}

/// The host could not be reached, or the session ended while logging in.
fn lost(hop: &Hop, e: &dyn std::fmt::Display) -> SshError {
    SshError::Connect {
        host: hop.label(),
        reason: e.to_string(),
    }
}

/// RSA keys are one family whatever hash signs with them.
fn family(algorithm: &Algorithm) -> String {
    if algorithm.clone().is_rsa() {
        "rsa".to_owned()
    } else {
        algorithm.as_str().to_owned()
    }
}

pub(super) fn expand_home(path: &Path) -> PathBuf {
    match path.strip_prefix("~") {
        Ok(rest) => directories::BaseDirs::new()
            .map_or_else(|| path.to_path_buf(), |d| d.home_dir().join(rest)),
        Err(_) => path.to_path_buf(),
    }
}

/// The key files `Auto` offers: the config's for this host, then OpenSSH's usual ones.
fn key_candidates(hop: &Hop) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = hop.identity_files.iter().map(|p| expand_home(p)).collect();
    if let Some(dirs) = directories::BaseDirs::new() {
        for name in ["id_ed25519", "id_ecdsa", "id_rsa"] {
            files.push(dirs.home_dir().join(".ssh").join(name));
        }
    }
    let mut seen = Vec::new();
    files.retain(|f| {
        let fresh = f.is_file() && !seen.contains(f);
        seen.push(f.clone());
        fresh
    });
    files
}

/// Reads a private key (OpenSSH, PEM PKCS#1/PKCS#8/SEC1, `PuTTY`), opening it with the
/// passphrase when it is encrypted.
fn load_key(path: &Path, passphrase: Option<&Secret>) -> Result<PrivateKey, SshError> {
    use std::io::Read as _;
    let shown = path.display().to_string();
    let unreadable = |e: &dyn std::fmt::Display| {
        SshError::Config(format!("cannot read the SSH key {shown}: {e}"))
    };
    let file = std::fs::File::open(path).map_err(|e| unreadable(&e))?;
    let mut text = String::new();
    file.take(MAX_KEY_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| unreadable(&e))?;
    if text.len() as u64 > MAX_KEY_FILE_BYTES {
        return Err(unreadable(&"it is larger than 256 KiB: not a key file"));
    }
    let encrypted = text.contains("ENCRYPTED")
        || text.contains("Encryption: aes")
        || PrivateKey::from_openssh(text.trim()).is_ok_and(|k| k.is_encrypted());
    if encrypted && passphrase.is_none() {
        return Err(SshError::PassphraseNeeded { path: shown });
    }
    match russh::keys::decode_secret_key(&text, passphrase.map(Secret::expose)) {
        Ok(key) => Ok(key),
        Err(_) if encrypted => Err(SshError::WrongPassphrase { path: shown }),
        Err(e) => Err(unreadable(&e)),
    }
}

/// Checks the host key during the handshake; what it refused, and why, is left in `outcome`
/// for [`Tunnel::log_in_to`] (russh's error says only that the key was rejected).
struct Checker {
    host: String,
    port: u16,
    known_hosts: PathBuf,
    /// What the file held for this host when the login began (read once, for the key types
    /// asked for too).
    recorded: Vec<(usize, known_hosts::Entry)>,
    accept_new: bool,
    trusted: Vec<(String, String)>,
    outcome: Arc<Mutex<Option<SshError>>>,
}

impl Checker {
    fn refuse(&self, error: SshError) -> bool {
        if let Ok(mut slot) = self.outcome.lock() {
            *slot = Some(error);
        }
        false
    }

    /// Accepted or refused; `None` for a new key the user trusts, to be recorded first.
    fn verdict(&self, key: &PublicKey) -> Option<bool> {
        let name = known_hosts::host_name(&self.host, self.port);
        let file = self.known_hosts.display().to_string();
        let fingerprint = known_hosts::fingerprint(key);
        let algorithm = key.algorithm().as_str().to_owned();
        Some(match known_hosts::judge(&self.recorded, key) {
            Verdict::Known => true,
            Verdict::Unknown => {
                let trusted = self.accept_new
                    || self
                        .trusted
                        .iter()
                        .any(|(h, f)| *h == name && *f == fingerprint);
                if trusted {
                    return None;
                }
                self.refuse(SshError::UnknownHostKey {
                    host: name,
                    algorithm,
                    fingerprint,
                    known_hosts: file,
                })
            }
            Verdict::Changed { line } => self.refuse(SshError::ChangedHostKey {
                host: name,
                algorithm,
                fingerprint,
                known_hosts: file,
                line,
            }),
            Verdict::Revoked { line } => self.refuse(SshError::RevokedHostKey {
                host: name,
                fingerprint,
                known_hosts: file,
                line,
            }),
        })
    }

    /// Records a new key the user trusts; accepted once it is written.
    async fn record(&self, key: &PublicKey) -> bool {
        let (file, host, port, owned) = (
            self.known_hosts.clone(),
            self.host.clone(),
            self.port,
            key.clone(),
        );
        let written = off_thread(move || {
            known_hosts::learn(&file, &host, port, &owned).map_err(|e| {
                SshError::Config(format!(
                    "cannot record the host key of {} in {}: {e}",
                    known_hosts::host_name(&host, port),
                    file.display()
                ))
            })
        })
        .await;
        match written {
            Ok(()) => true,
            Err(e) => self.refuse(e),
        }
    }
}

impl client::Handler for Checker {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        Ok(match key {
            russh::keys::PublicKeyOrCertificate::PublicKey { key, .. } => match self.verdict(key) {
                Some(accepted) => accepted,
                None => self.record(key).await,
            },
            russh::keys::PublicKeyOrCertificate::Certificate(_) => self.refuse(SshError::Config(
                "the SSH host showed a certificate; only plain host keys are checked".to_owned(),
            )),
        })
    }
}
