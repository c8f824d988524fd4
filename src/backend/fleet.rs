//! Reading many profiles at once, for the fleet view and the exporter: each profile's
//! connection kept between rounds, at most so many read at once, each within a time limit,
//! so a round with servers down still ends on time.
//!
//! The connections are opened read-only and without an audit log: the fleet only reads
//! figures (`stats`), and nothing it holds can write. Secrets come from what the caller
//! entered this session, then from the stores the app remembers them in; nothing is asked
//! for, since nobody may be there to answer (a profile that needs a typed password says so
//! in its row).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, Semaphore, mpsc};

use super::{CacheBackend, ConnectOptions, ssh};
use crate::config::connection::{ConnectionSpec, PasswordSource, Secret, SshSpec};
use crate::config::profiles::Profile;
use crate::config::secrets::{SecretName, SecretStores, Slot, StoreKind, stored_slots};
use crate::core::fleet::Reading;
use crate::core::metrics::Sample;

/// A profile to read, with the secrets entered for it this session.
#[derive(Debug, Clone)]
pub struct FleetTarget {
    /// The profile.
    pub profile: Profile,
    /// A password entered this session; the stores are asked when there is none.
    pub password: Option<Secret>,
    /// SSH secrets entered (and host keys trusted) this session.
    pub ssh: ssh::SshSecrets,
}

impl FleetTarget {
    /// A profile with nothing entered for it.
    #[must_use]
    pub fn new(profile: Profile) -> Self {
        Self {
            profile,
            password: None,
            ssh: ssh::SshSecrets::default(),
        }
    }
}

/// How a round reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most time one profile may take, connecting included.
    pub timeout: Duration,
    /// The most profiles read at once.
    pub concurrency: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(3),
            concurrency: 16,
        }
    }
}

/// A profile's open connection, and what it was opened for (a changed profile reconnects).
#[derive(Default)]
struct Held {
    opened_for: Option<(ConnectionSpec, Option<SshSpec>)>,
    backend: Option<Arc<dyn CacheBackend>>,
}

/// Reads profiles' figures, keeping their connections between rounds.
pub struct Sampler {
    stores: Option<Arc<SecretStores>>,
    held: std::sync::Mutex<HashMap<String, Arc<Mutex<Held>>>>,
    limits: Limits,
}

impl Sampler {
    /// A sampler reading remembered secrets from `stores` (none: only what is entered).
    #[must_use]
    pub fn new(stores: Option<Arc<SecretStores>>, limits: Limits) -> Self {
        Self {
            stores,
            held: std::sync::Mutex::new(HashMap::new()),
            limits,
        }
    }

    /// How it reads.
    #[must_use]
    pub fn limits(&self) -> Limits {
        self.limits
    }

    fn held(&self, profile: &str) -> Arc<Mutex<Held>> {
        // A poisoned lock only means a panic while inserting; the map is whole.
        let mut held = self
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        held.entry(profile.to_owned()).or_default().clone()
    }

    /// Closes the connections of profiles not in `keep` (deleted or no longer shown).
    pub fn retain(&self, keep: &[&str]) {
        let mut held = self
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        held.retain(|name, _| keep.contains(&name.as_str()));
    }

    /// Starts reading every target, at most [`Limits::concurrency`] at once and each within
    /// [`Limits::timeout`]; each profile's reading comes out of the receiver as it is made,
    /// and the receiver ends when every one has come.
    pub fn round(&self, targets: Vec<FleetTarget>) -> mpsc::Receiver<(String, Reading)> {
        let permits = Arc::new(Semaphore::new(self.limits.concurrency.max(1)));
        // Room for every reading: a task never waits to hand its reading over.
        let (found, readings) = mpsc::channel(targets.len().max(1));
        for target in targets {
            let held = self.held(&target.profile.name);
            let (permits, stores, timeout, found) = (
                permits.clone(),
                self.stores.clone(),
                self.limits.timeout,
                found.clone(),
            );
            tokio::spawn(async move {
                // The semaphore is never closed: a permit always comes.
                let _permit = permits.acquire_owned().await.ok();
                let reading = read(&held, &target, stores.as_deref(), timeout).await;
                let _ = found.send((target.profile.name, reading)).await;
            });
        }
        readings
    }

    /// Reads one target.
    pub async fn one(&self, target: &FleetTarget) -> Reading {
        let held = self.held(&target.profile.name);
        read(&held, target, self.stores.as_deref(), self.limits.timeout).await
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// One profile's reading: connected (or the connection kept), its figures read, all within
/// `timeout`. A failure closes the connection, so the next round opens a fresh one.
async fn read(
    held: &Mutex<Held>,
    target: &FleetTarget,
    stores: Option<&SecretStores>,
    timeout: Duration,
) -> Reading {
    let at_ms = now_ms();
    let started = Instant::now();
    let result = match tokio::time::timeout(timeout, sample(held, target, stores, at_ms)).await {
        Ok(result) => result,
        Err(_) => Err(format!("no answer within {:.1} s", timeout.as_secs_f64())),
    };
    if result.is_err() {
        held.lock().await.backend = None;
    }
    Reading {
        at_ms,
        took_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        result,
    }
}

async fn sample(
    held: &Mutex<Held>,
    target: &FleetTarget,
    stores: Option<&SecretStores>,
    at_ms: u64,
) -> Result<Sample, String> {
    let profile = &target.profile;
    let wanted = (profile.connection.clone(), profile.ssh.clone());
    let mut held = held.lock().await;
    let backend = match &held.backend {
        Some(backend) if held.opened_for.as_ref() == Some(&wanted) => backend.clone(),
        _ => {
            held.backend = None;
            let backend: Arc<dyn CacheBackend> = Arc::from(open(target, stores).await?);
            held.opened_for = Some(wanted);
            held.backend = Some(backend.clone());
            backend
        }
    };
    drop(held);
    let mut servers = backend.stats().await.map_err(|e| e.to_string())?;
    if let [(_, only)] = servers.as_mut_slice()
        && only.version.is_none()
    {
        only.version = backend.server_version();
    }
    Ok(Sample { at_ms, servers })
}

/// Opens the profile read-only, with its secrets from this session or the stores.
async fn open(
    target: &FleetTarget,
    stores: Option<&SecretStores>,
) -> Result<Box<dyn CacheBackend>, String> {
    let profile = &target.profile;
    let password = password(target, stores).await?;
    let ssh = match &profile.ssh {
        Some(spec) => Some(Box::new(ssh::SshTarget {
            spec: spec.clone(),
            secrets: ssh_secrets(target, stores).await?,
        })),
        None => None,
    };
    let options = ConnectOptions {
        read_only: true,
        profile: profile.name.clone(),
        audit: None,
        ssh,
    };
    super::connect(&profile.connection, password.as_ref(), &options)
        .await
        .map_err(|e| e.to_string())
}

async fn remembered(
    stores: Option<&SecretStores>,
    profile: &str,
    slot: Slot,
    store: StoreKind,
) -> Result<Secret, String> {
    let Some(stores) = stores else {
        return Err(format!(
            "its {} is remembered in {}, which is not open here",
            slot.describe(),
            store.describe()
        ));
    };
    match stores.load(&SecretName::new(profile, slot), store).await {
        Ok(Some(secret)) => Ok(secret),
        Ok(None) => Err(format!(
            "no {} is remembered in {}",
            slot.describe(),
            store.describe()
        )),
        Err(e) => Err(format!("its {} could not be read: {e}", slot.describe())),
    }
}

async fn password(
    target: &FleetTarget,
    stores: Option<&SecretStores>,
) -> Result<Option<Secret>, String> {
    let profile = &target.profile;
    if target.password.is_some() {
        return Ok(target.password.clone());
    }
    match profile.connection.password_source() {
        PasswordSource::Prompt => Err(
            "it asks for its password on each connect: connect to it once, or remember the \
             password"
                .to_owned(),
        ),
        source => match source.store() {
            Some(store) => remembered(stores, &profile.name, Slot::Password, store)
                .await
                .map(Some),
            None => profile
                .connection
                .resolve_password(None)
                .map_err(|e| e.to_string()),
        },
    }
}

async fn ssh_secrets(
    target: &FleetTarget,
    stores: Option<&SecretStores>,
) -> Result<ssh::SshSecrets, String> {
    let mut secrets = target.ssh.clone();
    for (slot, store) in stored_slots(&target.profile) {
        let entered = match slot {
            Slot::SshPassword => &mut secrets.password,
            Slot::SshPassphrase => &mut secrets.passphrase,
            Slot::Password => continue,
        };
        if entered.is_none() {
            *entered = Some(remembered(stores, &target.profile.name, slot, store).await?);
        }
    }
    Ok(secrets)
}
