//! The OS keyring: the Secret Service on Linux (gnome-keyring, `KeePassXC`, `KWallet`'s bridge),
//! the Keychain on macOS, the Credential Manager on Windows.
//!
//! Entries are named as the `keyring` crates name theirs (attributes `service` =
//! `cache-console`, `username` = `password/<profile>`), so other tools that speak that
//! convention find them. Every call is bounded in time: a keyring that shows an unlock prompt
//! nobody answers, or a daemon that hangs, becomes [`SecretError::KeyringTimeout`].

use std::time::Duration;

use super::{SecretError, SecretName, StoreKind};
use crate::config::connection::Secret;

/// The service name entries are filed under.
pub const SERVICE: &str = "cache-console";

/// How long one keyring call may take, an unlock prompt included.
pub const KEYRING_TIMEOUT: Duration = Duration::from_secs(30);

/// A handle on the OS keyring. Cheap to clone; each call opens its own connection, so a
/// keyring daemon started (or unlocked) after the app is found at the next call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keyring {
    /// The D-Bus address of the Secret Service's bus; the session bus of the environment
    /// (`DBUS_SESSION_BUS_ADDRESS`) when `None`. Only Linux uses it.
    bus: Option<String>,
}

impl Keyring {
    /// The keyring of this login session.
    #[must_use]
    pub fn session() -> Self {
        Self::default()
    }

    /// The Secret Service on the bus at `address` (a test's own gnome-keyring, say).
    #[must_use]
    pub fn on_bus(address: impl Into<String>) -> Self {
        Self {
            bus: Some(address.into()),
        }
    }

    /// The secret kept for `name`, `None` when there is none.
    ///
    /// # Errors
    /// The keyring is unavailable, locked, slow, or holds something unusable.
    pub async fn get(&self, name: &SecretName) -> Result<Option<Secret>, SecretError> {
        let found = bounded(imp::get(self.bus.as_deref(), name)).await?;
        found
            .map(|bytes| super::usable(bytes, name.slot, StoreKind::Keyring))
            .transpose()
    }

    /// Keeps `secret` for `name`, replacing what was there.
    ///
    /// # Errors
    /// The keyring is unavailable, locked or slow.
    pub async fn set(&self, name: &SecretName, secret: &Secret) -> Result<(), SecretError> {
        bounded(imp::set(self.bus.as_deref(), name, secret)).await
    }

    /// Removes what is kept for `name`; whether there was anything.
    ///
    /// # Errors
    /// The keyring is unavailable, locked or slow.
    pub async fn delete(&self, name: &SecretName) -> Result<bool, SecretError> {
        bounded(imp::delete(self.bus.as_deref(), name)).await
    }
}

async fn bounded<T>(work: impl Future<Output = Result<T, SecretError>>) -> Result<T, SecretError> {
    tokio::time::timeout(KEYRING_TIMEOUT, work)
        .await
        .map_err(|_| SecretError::KeyringTimeout(KEYRING_TIMEOUT.as_secs()))?
}

fn label(name: &SecretName) -> String {
    format!(
        "Cache Console: {} of profile {}",
        name.slot.describe(),
        name.profile
    )
}

#[cfg(target_os = "linux")]
mod imp {
    use std::collections::HashMap;

    use secret_service::{EncryptionType, SecretService};

    use super::{SERVICE, SecretError, SecretName, label};
    use crate::config::connection::Secret;

    fn unavailable(e: impl std::fmt::Display) -> SecretError {
        SecretError::KeyringUnavailable(e.to_string())
    }

    fn failed(e: secret_service::Error) -> SecretError {
        match e {
            secret_service::Error::Locked
            | secret_service::Error::Prompt
            | secret_service::Error::PromptDisconnected => {
                SecretError::KeyringLocked(e.to_string())
            }
            secret_service::Error::Unavailable => unavailable(e),
            other => SecretError::Keyring(other.to_string()),
        }
    }

    async fn connect(bus: Option<&str>) -> Result<SecretService<'static>, SecretError> {
        let conn = match bus {
            None => zbus::Connection::session().await,
            Some(address) => match zbus::connection::Builder::address(address) {
                Ok(builder) => builder.build().await,
                Err(e) => Err(e),
            },
        }
        .map_err(|e| {
            unavailable(format!(
                "no session bus ({e}); a desktop session, or a Secret Service such as \
                 gnome-keyring, is needed"
            ))
        })?;
        SecretService::connect_with_existing(EncryptionType::Dh, conn)
            .await
            .map_err(|e| match e {
                secret_service::Error::Zbus(_) | secret_service::Error::ZbusFdo(_) => unavailable(
                    format!("no Secret Service answers on the session bus ({e})"),
                ),
                other => failed(other),
            })
    }

    fn attributes(account: &str) -> HashMap<&str, &str> {
        HashMap::from([("service", SERVICE), ("username", account)])
    }

    pub(super) async fn get(
        bus: Option<&str>,
        name: &SecretName,
    ) -> Result<Option<Vec<u8>>, SecretError> {
        let ss = connect(bus).await?;
        let account = name.account();
        // An item found can be deleted before it is read (another process, or this one
        // removing the profile): then it is searched for again, and gone means none.
        let mut last = None;
        for _ in 0..3 {
            let found = ss
                .search_items(attributes(&account))
                .await
                .map_err(failed)?;
            let read = if let Some(item) = found.unlocked.first() {
                item.get_secret().await
            } else if let Some(item) = found.locked.first() {
                // Unlocking shows the keyring's own prompt on a desktop; bounded by the caller.
                item.unlock().await.map_err(failed)?;
                item.get_secret().await
            } else {
                return Ok(None);
            };
            match read {
                Ok(secret) => return Ok(Some(secret)),
                Err(e) => last = Some(failed(e)),
            }
        }
        Err(last.unwrap_or_else(|| SecretError::Keyring("the entry could not be read".into())))
    }

    pub(super) async fn set(
        bus: Option<&str>,
        name: &SecretName,
        secret: &Secret,
    ) -> Result<(), SecretError> {
        let ss = connect(bus).await?;
        let collection = ss.get_default_collection().await.map_err(failed)?;
        if collection.is_locked().await.map_err(failed)? {
            collection.unlock().await.map_err(failed)?;
        }
        let account = name.account();
        collection
            .create_item(
                &label(name),
                attributes(&account),
                secret.expose().as_bytes(),
                true,
                "text/plain",
            )
            .await
            .map(|_| ())
            .map_err(failed)
    }

    pub(super) async fn delete(bus: Option<&str>, name: &SecretName) -> Result<bool, SecretError> {
        let ss = connect(bus).await?;
        let account = name.account();
        let found = ss
            .search_items(attributes(&account))
            .await
            .map_err(failed)?;
        let mut any = false;
        for item in found.unlocked.iter().chain(found.locked.iter()) {
            if item.is_locked().await.map_err(failed)? {
                item.unlock().await.map_err(failed)?;
            }
            item.delete().await.map_err(failed)?;
            any = true;
        }
        Ok(any)
    }
}

#[cfg(any(target_os = "macos", target_os = "windows"))]
mod imp {
    //! The platform's store through keyring-core; its calls block, so they run on the blocking
    //! pool.
    use std::sync::Arc;

    use keyring_core::api::CredentialStoreApi as _;

    use super::{SERVICE, SecretError, SecretName, label};
    use crate::config::connection::Secret;

    fn store() -> keyring_core::Result<Arc<keyring_core::CredentialStore>> {
        #[cfg(target_os = "macos")]
        let store: Arc<keyring_core::CredentialStore> =
            apple_native_keyring_store::keychain::Store::new()?;
        #[cfg(target_os = "windows")]
        let store: Arc<keyring_core::CredentialStore> = windows_native_keyring_store::Store::new()?;
        Ok(store)
    }

    fn failed(e: keyring_core::Error) -> SecretError {
        match e {
            keyring_core::Error::NoStorageAccess(_) => SecretError::KeyringLocked(e.to_string()),
            keyring_core::Error::NoDefaultStore => SecretError::KeyringUnavailable(e.to_string()),
            other => SecretError::Keyring(other.to_string()),
        }
    }

    async fn blocking<T: Send + 'static>(
        work: impl FnOnce() -> Result<T, SecretError> + Send + 'static,
    ) -> Result<T, SecretError> {
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| SecretError::Keyring(e.to_string()))?
    }

    fn entry(name: &SecretName) -> Result<keyring_core::Entry, SecretError> {
        let label = label(name);
        let modifiers = std::collections::HashMap::from([("label", label.as_str())]);
        store()
            .and_then(|s| s.build(SERVICE, &name.account(), Some(&modifiers)))
            .or_else(|_| store().and_then(|s| s.build(SERVICE, &name.account(), None)))
            .map_err(failed)
    }

    pub(super) async fn get(
        _bus: Option<&str>,
        name: &SecretName,
    ) -> Result<Option<Vec<u8>>, SecretError> {
        let name = name.clone();
        blocking(move || match entry(&name)?.get_secret() {
            Ok(bytes) => Ok(Some(bytes)),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(e) => Err(failed(e)),
        })
        .await
    }

    pub(super) async fn set(
        _bus: Option<&str>,
        name: &SecretName,
        secret: &Secret,
    ) -> Result<(), SecretError> {
        let (name, secret) = (name.clone(), secret.clone());
        blocking(move || entry(&name)?.set_password(secret.expose()).map_err(failed)).await
    }

    pub(super) async fn delete(_bus: Option<&str>, name: &SecretName) -> Result<bool, SecretError> {
        let name = name.clone();
        blocking(move || match entry(&name)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring_core::Error::NoEntry) => Ok(false),
            Err(e) => Err(failed(e)),
        })
        .await
    }
}

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
mod imp {
    use super::{SecretError, SecretName};
    use crate::config::connection::Secret;

    fn none() -> SecretError {
        SecretError::KeyringUnavailable("this system has no keyring Cache Console can use".into())
    }

    pub(super) async fn get(
        _bus: Option<&str>,
        _name: &SecretName,
    ) -> Result<Option<Vec<u8>>, SecretError> {
        Err(none())
    }

    pub(super) async fn set(
        _bus: Option<&str>,
        _name: &SecretName,
        _secret: &Secret,
    ) -> Result<(), SecretError> {
        Err(none())
    }

    pub(super) async fn delete(
        _bus: Option<&str>,
        _name: &SecretName,
    ) -> Result<bool, SecretError> {
        Err(none())
    }
}
