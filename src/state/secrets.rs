//! Remembered passwords: read from the OS keyring or the vault before a connection opens, kept
//! there when the user asks, moved or removed with their profile; the vault's passphrase asked
//! once per session.
//!
//! Every store call goes to the service; nothing here waits. A store that cannot answer is
//! never the end: the password dialog opens, naming the profile and the reason, and the
//! connection goes on with what is typed.

use super::{AppPending, AppState, Level, PasswordPrompt};
use crate::config::connection::Secret;
use crate::config::profiles::Profile;
use crate::config::secrets::{SecretError, SecretName, Slot, StoreKind, VaultStatus, stored_slots};
use crate::service::{AppCommand, SecretAnswer, SecretOp};

/// What waits for the vault to be unlocked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterVault {
    /// Connect this profile.
    Connect(String),
    /// Keep this secret in the vault.
    Keep(SecretName, Secret),
    /// Write this export (its profiles' passwords are in the vault) to this file.
    Export(std::path::PathBuf, super::ExportDialog),
}

/// The vault passphrase dialog.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VaultPrompt {
    /// Whether a vault file exists (a new vault asks for the passphrase twice); `None` while
    /// the service looks.
    pub status: Option<VaultStatus>,
    /// The passphrase typed.
    pub passphrase: String,
    /// The passphrase typed again (a new vault only).
    pub confirm: String,
    /// Why the last try failed.
    pub error: Option<String>,
    /// The service is unlocking (scrypt takes about a second).
    pub busy: bool,
    /// What goes on once it is unlocked.
    pub then: Vec<AfterVault>,
    /// The passphrase field was given keyboard focus (again after each refusal).
    pub focused: bool,
}

/// What an answer from the secret stores is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum SecretWait {
    /// The profile's password was read so that it can connect.
    Connect(String),
    /// A password was kept; the profile's source becomes that store once it is.
    Keep,
    /// A profile's secrets were removed or moved.
    Change,
    /// The vault's status, for its dialog.
    Status,
    /// The vault's passphrase was tried.
    Unlock,
    /// Secrets of profiles that are gone were removed.
    Prune,
}

impl AppState {
    fn send_secret(&mut self, wait: SecretWait, op: SecretOp) {
        let places = self.secret_places.clone();
        self.send_app(AppPending::Secret(wait), AppCommand::Secret { places, op });
    }

    /// Opens the password dialog for `profile`, saying why and offering to remember what is
    /// typed in `remember`.
    pub(super) fn ask_password(
        &mut self,
        profile: &str,
        remember: Option<StoreKind>,
        note: Option<String>,
    ) {
        let what = self
            .profiles
            .get(profile)
            .map_or("Password", |p| p.connection.secret_name());
        self.password_prompt = Some(PasswordPrompt {
            profile: profile.to_owned(),
            text: String::new(),
            remember,
            note,
            focused: false,
            what,
        });
    }

    /// Before connecting: a remembered secret not yet read this session is read first (the
    /// password asked for instead when its store refused it last time). `true` when the
    /// connect must wait.
    pub(super) fn load_stored(&mut self, profile: &Profile) -> bool {
        let name = profile.name.as_str();
        for (slot, store) in stored_slots(profile) {
            if self.has_secret(name, slot) {
                continue;
            }
            let secret = SecretName::new(name, slot);
            if self.stale_secrets.contains(&secret) {
                if slot != Slot::Password {
                    // The tunnel asks for it itself when it needs it.
                    continue;
                }
                self.ask_password(
                    name,
                    Some(store),
                    Some(format!(
                        "The server refused the password remembered in {} for `{name}`. Enter \
                         it again; it replaces the remembered one.",
                        store.describe()
                    )),
                );
                return true;
            }
            if store == StoreKind::Vault && !self.vault_unlocked {
                self.ask_vault(AfterVault::Connect(name.to_owned()));
                return true;
            }
            self.send_secret(
                SecretWait::Connect(name.to_owned()),
                SecretOp::Load(secret, store),
            );
            return true;
        }
        false
    }

    /// Whether this session holds the profile's secret in `slot`.
    fn has_secret(&self, profile: &str, slot: Slot) -> bool {
        let ssh = self.ssh_secrets.get(profile);
        match slot {
            Slot::Password => self.session_passwords.contains_key(profile),
            Slot::SshPassword => ssh.is_some_and(|s| s.password.is_some()),
            Slot::SshPassphrase => ssh.is_some_and(|s| s.passphrase.is_some()),
        }
    }

    /// Holds a secret read from a store for this session.
    pub(super) fn put_secret(&mut self, profile: &str, slot: Slot, secret: Secret) {
        match slot {
            Slot::Password => {
                self.session_passwords.insert(profile.to_owned(), secret);
            }
            Slot::SshPassword => {
                self.ssh_secrets
                    .entry(profile.to_owned())
                    .or_default()
                    .password = Some(secret);
            }
            Slot::SshPassphrase => {
                self.ssh_secrets
                    .entry(profile.to_owned())
                    .or_default()
                    .passphrase = Some(secret);
            }
        }
    }

    /// Keeps `secret` in `store` for the profile (the vault asked for first when locked); the
    /// profile's password source becomes that store once it is kept.
    pub(super) fn remember(&mut self, name: SecretName, store: StoreKind, secret: Secret) {
        if store == StoreKind::Vault && !self.vault_unlocked {
            self.ask_vault(AfterVault::Keep(name, secret));
            return;
        }
        self.send_secret(SecretWait::Keep, SecretOp::Keep(name, store, secret));
    }

    /// A profile was renamed: its remembered secrets follow it.
    pub(super) fn rename_secrets(&mut self, from: &str, to: &str, before: &Profile) {
        if from == to {
            return;
        }
        if let Some(pw) = self.session_passwords.remove(from) {
            self.session_passwords.insert(to.to_owned(), pw);
        }
        if let Some(ssh) = self.ssh_secrets.remove(from) {
            self.ssh_secrets.insert(to.to_owned(), ssh);
        }
        let stores = self.reachable_stores(before);
        if !stores.is_empty() {
            self.send_secret(
                SecretWait::Change,
                SecretOp::Rename {
                    from: from.to_owned(),
                    to: to.to_owned(),
                    stores,
                },
            );
        }
    }

    /// A profile was deleted: its remembered secrets go too (a locked vault drops them when
    /// it is next unlocked).
    pub(super) fn forget_secrets(&mut self, name: &str, profile: &Profile) {
        self.stale_secrets.retain(|s| s.profile != name);
        self.ssh_secrets.remove(name);
        let stores = self.reachable_stores(profile);
        if !stores.is_empty() {
            self.send_secret(
                SecretWait::Change,
                SecretOp::Forget(name.to_owned(), stores),
            );
        }
    }

    /// The stores a profile's secrets can be changed in now (a locked vault cannot).
    fn reachable_stores(&self, profile: &Profile) -> Vec<StoreKind> {
        let mut stores: Vec<StoreKind> = stored_slots(profile)
            .into_iter()
            .map(|(_, store)| store)
            .filter(|s| *s == StoreKind::Keyring || self.vault_unlocked)
            .collect();
        stores.dedup();
        stores
    }

    /// The server refused a remembered password: the next connect asks for it again.
    pub(super) fn remembered_password_refused(&mut self, profile: &str) {
        let stored = self
            .profiles
            .get(profile)
            .and_then(|p| p.connection.password_source().store())
            .is_some();
        if stored {
            self.stale_secrets
                .insert(SecretName::new(profile, Slot::Password));
        }
    }

    /// Opens the vault dialog (or adds to what waits on it).
    pub(super) fn ask_vault(&mut self, then: AfterVault) {
        if let Some(prompt) = &mut self.vault_prompt {
            prompt.then.push(then);
            return;
        }
        self.vault_prompt = Some(VaultPrompt {
            then: vec![then],
            ..VaultPrompt::default()
        });
        self.send_secret(SecretWait::Status, SecretOp::VaultStatus);
    }

    /// The user gave the vault passphrase.
    pub(super) fn submit_vault(&mut self) {
        let Some(prompt) = &mut self.vault_prompt else {
            return;
        };
        if prompt.busy {
            return;
        }
        if prompt.passphrase.is_empty() {
            prompt.error = Some("enter the vault passphrase".to_owned());
            return;
        }
        if prompt.status == Some(VaultStatus::Missing) && prompt.confirm != prompt.passphrase {
            prompt.error = Some("the two passphrases differ".to_owned());
            return;
        }
        prompt.busy = true;
        prompt.error = None;
        let passphrase = Secret::new(std::mem::take(&mut prompt.passphrase));
        prompt.confirm.clear();
        self.send_secret(SecretWait::Unlock, SecretOp::UnlockVault(passphrase));
    }

    /// The user closed the vault dialog: what waited on it asks for the password instead.
    pub(super) fn cancel_vault(&mut self) {
        let Some(prompt) = self.vault_prompt.take() else {
            return;
        };
        for then in prompt.then {
            match then {
                AfterVault::Connect(profile) => self.ask_password(
                    &profile,
                    None,
                    Some(format!(
                        "The vault is locked, so the password remembered for `{profile}` cannot \
                         be read. Enter it for this session."
                    )),
                ),
                AfterVault::Keep(name, _) => self.notify(
                    Level::Warning,
                    format!(
                        "the {} of `{}` was not remembered: the vault stayed locked; it is kept \
                         for this session only",
                        name.slot.describe(),
                        name.profile
                    ),
                ),
                AfterVault::Export(_, mut dialog) => {
                    dialog.error = Some(
                        "nothing was written: the passwords in the vault need it unlocked (or \
                         untick Include remembered passwords)"
                            .to_owned(),
                    );
                    self.export_dialog = Some(dialog);
                }
            }
        }
    }

    /// An answer from the secret stores.
    pub(super) fn secret_answer(&mut self, wait: SecretWait, answer: SecretAnswer) {
        match (wait, answer) {
            (SecretWait::Status, SecretAnswer::VaultStatus(status)) => {
                if status == VaultStatus::Unlocked {
                    self.vault_opened();
                } else if let Some(prompt) = &mut self.vault_prompt {
                    prompt.status = Some(status);
                }
            }
            (SecretWait::Unlock, SecretAnswer::VaultUnlocked(result)) => self.vault_tried(result),
            (
                SecretWait::Connect(profile),
                SecretAnswer::Loaded {
                    name,
                    store,
                    result,
                },
            ) => self.secret_loaded(&profile, &name, store, result),
            (
                SecretWait::Keep,
                SecretAnswer::Kept {
                    name,
                    store,
                    result,
                },
            ) => self.kept(&name, store, result),
            (
                SecretWait::Change,
                SecretAnswer::Changed {
                    profile,
                    result: Err(e),
                },
            ) => {
                self.notify(
                    Level::Warning,
                    format!("the remembered secrets of `{profile}` could not be changed: {e}"),
                );
            }
            (SecretWait::Prune, SecretAnswer::Pruned(Err(e))) => {
                self.notify(Level::Warning, format!("the vault was not tidied: {e}"));
            }
            _ => {}
        }
    }

    fn vault_tried(&mut self, result: Result<(), SecretError>) {
        match result {
            Ok(()) => self.vault_opened(),
            Err(e) => {
                let Some(prompt) = &mut self.vault_prompt else {
                    return;
                };
                prompt.busy = false;
                prompt.focused = false;
                if matches!(e, SecretError::VaultCorrupt { .. }) {
                    // The damaged file was moved aside: what is typed next makes a new vault.
                    prompt.status = Some(VaultStatus::Missing);
                    prompt.error = Some(format!(
                        "{e}. Choose a passphrase for the new vault; passwords it held are asked \
                         for again."
                    ));
                    self.notify(Level::Error, e.to_string());
                } else {
                    prompt.error = Some(e.to_string());
                }
            }
        }
    }

    /// The vault is open: what waited on it goes on, and secrets of profiles deleted while it
    /// was locked go.
    fn vault_opened(&mut self) {
        self.vault_unlocked = true;
        let then = self.vault_prompt.take().map(|p| p.then).unwrap_or_default();
        for then in then {
            match then {
                AfterVault::Connect(profile) => self.connect_profile(&profile),
                AfterVault::Keep(name, secret) => self.remember(name, StoreKind::Vault, secret),
                AfterVault::Export(path, dialog) => {
                    self.export_dialog = Some(dialog);
                    self.export_profiles(path);
                }
            }
        }
        let names = self
            .profiles
            .profiles()
            .iter()
            .map(|p| p.name.clone())
            .collect();
        self.send_secret(SecretWait::Prune, SecretOp::PruneVault(names));
    }

    fn secret_loaded(
        &mut self,
        profile: &str,
        name: &SecretName,
        store: StoreKind,
        result: Result<Option<Secret>, SecretError>,
    ) {
        if name.slot != Slot::Password {
            // An SSH secret the store cannot give: the tunnel asks for it when it needs it.
            match result {
                Ok(Some(secret)) => self.put_secret(profile, name.slot, secret),
                Ok(None) => {
                    self.stale_secrets.insert(name.clone());
                }
                Err(SecretError::VaultLocked) => {
                    self.vault_unlocked = false;
                    self.ask_vault(AfterVault::Connect(profile.to_owned()));
                    return;
                }
                Err(e) => {
                    self.stale_secrets.insert(name.clone());
                    self.notify(
                        Level::Warning,
                        format!(
                            "the {} of `{profile}` could not be read from {}: {e}; it is asked for \
                             instead",
                            name.slot.describe(),
                            store.describe()
                        ),
                    );
                }
            }
            self.connect_profile(profile);
            return;
        }
        match result {
            Ok(Some(secret)) => {
                self.put_secret(profile, Slot::Password, secret);
                self.connect_profile(profile);
            }
            Ok(None) => self.ask_password(
                profile,
                Some(store),
                Some(format!(
                    "No password is remembered for `{profile}` in {}. Enter it; it is \
                     remembered there.",
                    store.describe()
                )),
            ),
            Err(SecretError::VaultLocked) => {
                self.vault_unlocked = false;
                self.ask_vault(AfterVault::Connect(profile.to_owned()));
            }
            Err(e) => {
                // The store cannot be used now: ask, and do not offer to keep it there.
                let remember = (!matches!(
                    e,
                    SecretError::KeyringUnavailable(_)
                        | SecretError::KeyringTimeout(_)
                        | SecretError::KeyringLocked(_)
                ))
                .then_some(store);
                self.ask_password(
                    profile,
                    remember,
                    Some(format!(
                        "The password of `{profile}` could not be read: {e}. Enter it to connect."
                    )),
                );
            }
        }
    }

    fn kept(&mut self, name: &SecretName, store: StoreKind, result: Result<(), SecretError>) {
        match result {
            Ok(()) => {
                self.stale_secrets.remove(name);
                let Some(mut profile) = self.profiles.get(&name.profile).cloned() else {
                    return;
                };
                if crate::config::transfer::remember_in(&mut profile, name.slot, store) {
                    let old = profile.name.clone();
                    match self.profiles.update(&old, profile) {
                        Ok(()) => self.save_profiles(),
                        Err(e) => self.notify(Level::Error, e.to_string()),
                    }
                }
                self.notify(
                    Level::Info,
                    format!(
                        "the {} of `{}` is remembered in {}",
                        name.slot.describe(),
                        name.profile,
                        store.describe()
                    ),
                );
            }
            Err(e) => self.notify(
                Level::Error,
                format!(
                    "the {} of `{}` could not be remembered in {}: {e}. It is kept for this \
                     session only",
                    name.slot.describe(),
                    name.profile,
                    store.describe()
                ),
            ),
        }
    }
}
