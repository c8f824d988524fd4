//! Remembered secrets: connection passwords and SSH passphrases kept in the OS keyring or in an
//! encrypted vault file, by profile. `profiles.ron` only says *where* a secret is kept
//! ([`PasswordSource::Keyring`](crate::config::connection::PasswordSource::Keyring) or
//! `Vault`), never the secret.
//!
//! A store that cannot answer (no Secret Service on a headless Linux, a locked keychain, a
//! vault whose passphrase is not known yet, an entry that is gone) is an error naming the
//! profile and the store; the callers then ask for the secret again. Nothing ever falls back to
//! writing a secret in plain text.

pub mod keyring;
pub mod vault;

use serde::{Deserialize, Serialize};

pub use keyring::Keyring;
pub use vault::{Vault, VaultStatus};

use crate::config::connection::Secret;

/// Which secret of a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Slot {
    /// The cache server's (or database's) password.
    Password,
    /// The SSH bastion's password.
    SshPassword,
    /// The passphrase of the SSH key file.
    SshPassphrase,
}

impl Slot {
    /// Every slot.
    pub const ALL: [Self; 3] = [Self::Password, Self::SshPassword, Self::SshPassphrase];

    /// The name used in a store's entry (`password/prod`).
    #[must_use]
    pub fn key(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::SshPassword => "ssh-password",
            Self::SshPassphrase => "ssh-passphrase",
        }
    }

    /// What it is, for messages.
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::SshPassword => "SSH password",
            Self::SshPassphrase => "SSH key passphrase",
        }
    }
}

/// One remembered secret's name: the profile it belongs to and which of its secrets it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SecretName {
    /// The profile's name.
    pub profile: String,
    /// Which secret.
    pub slot: Slot,
}

impl SecretName {
    /// A profile's secret.
    #[must_use]
    pub fn new(profile: impl Into<String>, slot: Slot) -> Self {
        Self {
            profile: profile.into(),
            slot,
        }
    }

    /// The account name in a store: `password/prod`.
    #[must_use]
    pub fn account(&self) -> String {
        format!("{}/{}", self.slot.key(), self.profile)
    }
}

/// Where a remembered secret is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StoreKind {
    /// The OS keyring (Secret Service, Keychain, Credential Manager).
    Keyring,
    /// The vault file, encrypted with a master passphrase.
    Vault,
}

impl StoreKind {
    /// How the store is named in messages.
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Self::Keyring => "the OS keyring",
            Self::Vault => "the vault",
        }
    }
}

/// The longest secret a store may hand back (a password, not a file).
pub const MAX_SECRET_BYTES: usize = 64 * 1024;

/// Why a secret could not be read, kept or removed. No variant ever holds the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// There is no keyring to talk to (no Secret Service on this session bus, say).
    #[error("the OS keyring is not available: {0}")]
    KeyringUnavailable(String),
    /// The keyring is locked and was not unlocked.
    #[error("the OS keyring is locked and was not unlocked ({0})")]
    KeyringLocked(String),
    /// The keyring answered with an error.
    #[error("the OS keyring failed: {0}")]
    Keyring(String),
    /// The keyring did not answer in time (a prompt nobody answers, a hung daemon).
    #[error("the OS keyring did not answer within {0} s")]
    KeyringTimeout(u64),
    /// What a store holds for this name is not a usable secret.
    #[error("the {what} held in {store} is not usable: {why}")]
    Unusable {
        /// The slot's description.
        what: &'static str,
        /// The store's description.
        store: &'static str,
        /// Why (too long, not text).
        why: &'static str,
    },
    /// The vault's passphrase has not been given this session.
    #[error("the vault is locked")]
    VaultLocked,
    /// The vault passphrase given is not the vault's.
    #[error("wrong vault passphrase (the vault file was not changed)")]
    WrongPassphrase,
    /// The vault file cannot be decrypted or read; it was moved aside.
    #[error("the vault file {path} is damaged ({reason}); {kept}")]
    VaultCorrupt {
        /// The vault file.
        path: String,
        /// What was wrong.
        reason: String,
        /// Where the damaged file is now.
        kept: String,
    },
    /// The vault file could not be read or written.
    #[error("could not use the vault file {path}: {reason}")]
    VaultIo {
        /// The vault file.
        path: String,
        /// The I/O error.
        reason: String,
    },
    /// A passphrase to encrypt with is empty.
    #[error("a passphrase cannot be empty")]
    EmptyPassphrase,
}

impl SecretError {
    /// Whether asking the user for the secret again is the way on (the store is unavailable,
    /// locked, or holds nothing usable), rather than a failure to report.
    #[must_use]
    pub fn ask_instead(&self) -> bool {
        !matches!(self, Self::EmptyPassphrase)
    }
}

/// Checks what a store handed back: text, and no longer than a password can be.
pub(crate) fn usable(
    bytes: Vec<u8>,
    slot: Slot,
    store: StoreKind,
) -> Result<crate::config::connection::Secret, SecretError> {
    let unusable = |why| SecretError::Unusable {
        what: slot.describe(),
        store: store.describe(),
        why,
    };
    if bytes.len() > MAX_SECRET_BYTES {
        return Err(unusable("it is longer than 64 KiB"));
    }
    String::from_utf8(bytes)
        .map(crate::config::connection::Secret::new)
        .map_err(|_| unusable("it is not text"))
}

/// The secrets of `profile` remembered in a store: its password, and its SSH password or key
/// passphrase.
#[must_use]
pub fn stored_slots(profile: &crate::config::profiles::Profile) -> Vec<(Slot, StoreKind)> {
    use crate::config::connection::SshAuth;
    let mut slots = Vec::new();
    if let Some(store) = profile.connection.password_source().store() {
        slots.push((Slot::Password, store));
    }
    if let Some(ssh) = &profile.ssh {
        let source = match &ssh.auth {
            SshAuth::Password(source) => source.store().map(|s| (Slot::SshPassword, s)),
            SshAuth::Auto | SshAuth::Agent | SshAuth::Key(_) => {
                ssh.passphrase.store().map(|s| (Slot::SshPassphrase, s))
            }
        };
        slots.extend(source);
    }
    slots
}

/// Where remembered secrets are kept: which keyring, and the directory of the vault file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretPlaces {
    /// The OS keyring (or a test's own Secret Service).
    pub keyring: Keyring,
    /// The directory of `vault.age` (the config directory).
    pub vault_dir: std::path::PathBuf,
}

/// The stores behind [`SecretPlaces`], with the vault's unlocked state for this session. The
/// app's service keeps one; the command line makes one per command.
#[derive(Debug)]
pub struct SecretStores {
    places: SecretPlaces,
    vault: std::sync::Arc<std::sync::Mutex<Vault>>,
}

impl SecretStores {
    /// The stores at `places`, the vault locked.
    #[must_use]
    pub fn new(places: SecretPlaces) -> Self {
        let vault = Vault::in_dir(&places.vault_dir);
        Self {
            places,
            vault: std::sync::Arc::new(std::sync::Mutex::new(vault)),
        }
    }

    /// Where they are.
    #[must_use]
    pub fn places(&self) -> &SecretPlaces {
        &self.places
    }

    /// Runs `work` on the vault, on the blocking pool (scrypt takes a second; files block).
    async fn with_vault<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Vault) -> Result<T, SecretError> + Send + 'static,
    ) -> Result<T, SecretError> {
        let vault = self.vault.clone();
        tokio::task::spawn_blocking(move || {
            // A poisoned lock means a panic mid-call; the vault it guards is still whole (every
            // change is written before it is kept in memory, or undone).
            let mut vault = vault
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            work(&mut vault)
        })
        .await
        .map_err(|e| SecretError::VaultIo {
            path: self
                .places
                .vault_dir
                .join(vault::FILE_NAME)
                .display()
                .to_string(),
            reason: format!("the vault work stopped: {e}"),
        })?
    }

    /// Whether the vault file exists and is unlocked.
    pub async fn vault_status(&self) -> vault::VaultStatus {
        self.with_vault(|v| Ok(v.status()))
            .await
            .unwrap_or(vault::VaultStatus::Locked)
    }

    /// Unlocks the vault (or starts a new one where there is none).
    ///
    /// # Errors
    /// See [`Vault::unlock`].
    pub async fn unlock_vault(&self, passphrase: Secret) -> Result<(), SecretError> {
        self.with_vault(move |v| v.unlock(&passphrase)).await
    }

    /// The secret `name` kept in `store`, `None` when there is none.
    ///
    /// # Errors
    /// The store is unavailable or locked, or holds something unusable.
    pub async fn load(
        &self,
        name: &SecretName,
        store: StoreKind,
    ) -> Result<Option<Secret>, SecretError> {
        match store {
            StoreKind::Keyring => self.places.keyring.get(name).await,
            StoreKind::Vault => {
                let name = name.clone();
                self.with_vault(move |v| v.get(&name)).await
            }
        }
    }

    /// Keeps `secret` as `name` in `store`.
    ///
    /// # Errors
    /// The store is unavailable or locked, or could not be written.
    pub async fn keep(
        &self,
        name: &SecretName,
        store: StoreKind,
        secret: Secret,
    ) -> Result<(), SecretError> {
        match store {
            StoreKind::Keyring => self.places.keyring.set(name, &secret).await,
            StoreKind::Vault => {
                let name = name.clone();
                self.with_vault(move |v| v.set(&name, &secret)).await
            }
        }
    }

    /// Removes every secret of `profile` from `stores`.
    ///
    /// # Errors
    /// The first store that could not be changed (the others are still tried).
    pub async fn forget(&self, profile: &str, stores: &[StoreKind]) -> Result<(), SecretError> {
        let mut first = None;
        for store in stores {
            let result = match store {
                StoreKind::Keyring => {
                    let mut result = Ok(());
                    for slot in Slot::ALL {
                        if let Err(e) = self
                            .places
                            .keyring
                            .delete(&SecretName::new(profile, slot))
                            .await
                        {
                            result = Err(e);
                            break;
                        }
                    }
                    result
                }
                StoreKind::Vault => {
                    let profile = profile.to_owned();
                    self.with_vault(move |v| {
                        for slot in Slot::ALL {
                            v.remove(&SecretName::new(profile.clone(), slot))?;
                        }
                        Ok(())
                    })
                    .await
                }
            };
            if let Err(e) = result {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// Moves the secrets of profile `from` to profile `to` in `stores` (a rename).
    ///
    /// # Errors
    /// The first store that could not be changed (the others are still tried).
    pub async fn rename(
        &self,
        from: &str,
        to: &str,
        stores: &[StoreKind],
    ) -> Result<(), SecretError> {
        let mut first = None;
        for store in stores {
            let result = match store {
                StoreKind::Keyring => self.rename_in_keyring(from, to).await,
                StoreKind::Vault => {
                    let (from, to) = (from.to_owned(), to.to_owned());
                    self.with_vault(move |v| v.rename_profile(&from, &to)).await
                }
            };
            if let Err(e) = result {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }

    async fn rename_in_keyring(&self, from: &str, to: &str) -> Result<(), SecretError> {
        for slot in Slot::ALL {
            let old = SecretName::new(from, slot);
            if let Some(secret) = self.places.keyring.get(&old).await? {
                self.places
                    .keyring
                    .set(&SecretName::new(to, slot), &secret)
                    .await?;
                self.places.keyring.delete(&old).await?;
            }
        }
        Ok(())
    }

    /// The remembered secrets of `profiles`, for an export; what could not be read is said
    /// in the notes and left out.
    pub async fn gather(
        &self,
        profiles: &[crate::config::profiles::Profile],
    ) -> (Vec<(SecretName, Secret)>, Vec<String>) {
        let mut found = Vec::new();
        let mut notes = Vec::new();
        for profile in profiles {
            for (slot, store) in stored_slots(profile) {
                let name = SecretName::new(profile.name.clone(), slot);
                match self.load(&name, store).await {
                    Ok(Some(secret)) => found.push((name, secret)),
                    Ok(None) => notes.push(format!(
                        "`{}`: no {} is remembered in {}; left out",
                        profile.name,
                        slot.describe(),
                        store.describe()
                    )),
                    Err(e) => notes.push(format!(
                        "`{}`: the {} could not be read ({e}); left out",
                        profile.name,
                        slot.describe()
                    )),
                }
            }
        }
        (found, notes)
    }

    /// Removes from the (unlocked) vault every secret whose profile is not in `profiles`: the
    /// ones deleted or renamed while it was locked. The count removed.
    ///
    /// # Errors
    /// The vault is locked or could not be written.
    pub async fn prune_vault(&self, profiles: Vec<String>) -> Result<usize, SecretError> {
        self.with_vault(move |v| v.retain_profiles(&profiles)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_messages_never_hold_the_secret() {
        let name = SecretName::new("prod eu", Slot::SshPassphrase);
        assert_eq!(name.account(), "ssh-passphrase/prod eu");
        assert!(
            usable(
                vec![b'x'; MAX_SECRET_BYTES + 1],
                Slot::Password,
                StoreKind::Vault
            )
            .is_err()
        );
        let err =
            usable(vec![0xff, 0xfe], Slot::Password, StoreKind::Keyring).expect_err("not text");
        assert_eq!(
            err.to_string(),
            "the password held in the OS keyring is not usable: it is not text"
        );
        let ok = usable(b"s3cret".to_vec(), Slot::Password, StoreKind::Keyring).expect("text");
        assert_eq!(ok.expose(), "s3cret");
        assert_eq!(format!("{ok:?}"), "Secret(***)");
    }
}
