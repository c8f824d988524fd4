//! Remembered passwords on the command line: read from the OS keyring or the vault when a
//! profile connects, kept or removed by `profiles set-password`, removed with `profiles
//! remove`.
//!
//! The vault's passphrase comes from `CACHE_CONSOLE_VAULT_PASSPHRASE`, or is asked on a
//! terminal (without echo). A store that cannot give a password falls back to
//! `CACHE_CONSOLE_PASSWORD` or the terminal, and says which profile and why.

use std::io::{BufRead as _, IsTerminal as _, Read as _, Write as _};

use super::{Failure, PASSWORD_ENV};
use crate::config::connection::Secret;
use crate::config::secrets::{
    Keyring, MAX_SECRET_BYTES, SecretError, SecretName, SecretPlaces, SecretStores, Slot,
    StoreKind, VaultStatus,
};

/// Where the command line reads the vault's passphrase.
pub const VAULT_PASSPHRASE_ENV: &str = "CACHE_CONSOLE_VAULT_PASSPHRASE";

/// The stores of this user: the session's keyring, the vault in the config directory.
pub(super) fn stores() -> Result<SecretStores, Failure> {
    let dir = crate::config::profiles::config_dir().map_err(Failure::error)?;
    Ok(SecretStores::new(SecretPlaces {
        keyring: Keyring::session(),
        vault_dir: dir,
    }))
}

/// Asks on the terminal without echo; `None` without a terminal.
fn ask_hidden(prompt: &str) -> Option<String> {
    if !std::io::stdin().is_terminal() {
        return None;
    }
    rpassword::prompt_password(prompt).ok()
}

/// Unlocks the vault with the passphrase from the variable or the terminal (twice for a new
/// vault).
pub(super) async fn unlock_vault(stores: &SecretStores) -> Result<(), Failure> {
    let status = stores.vault_status().await;
    if status == VaultStatus::Unlocked {
        return Ok(());
    }
    let passphrase = match std::env::var(VAULT_PASSPHRASE_ENV) {
        Ok(p) if !p.is_empty() => p,
        _ => {
            let asked = ask_hidden("Vault passphrase: ").ok_or_else(|| {
                Failure::error(format!(
                    "the vault's passphrase is needed: set {VAULT_PASSPHRASE_ENV} or run on a \
                     terminal"
                ))
            })?;
            if status == VaultStatus::Missing {
                let again =
                    ask_hidden("The same passphrase again (a new vault): ").unwrap_or_default();
                if again != asked {
                    return Err(Failure::error(
                        "the two passphrases differ; no vault was made",
                    ));
                }
            }
            asked
        }
    };
    stores
        .unlock_vault(Secret::new(passphrase))
        .await
        .map_err(|e| Failure::error(format!("vault: {e}")))
}

/// The remembered password of `profile` in `store`; when the store cannot give it, the
/// password from `CACHE_CONSOLE_PASSWORD` or the terminal, after saying why.
pub(super) async fn stored_password(profile: &str, store: StoreKind) -> Result<Secret, Failure> {
    let stores = stores()?;
    let name = SecretName::new(profile, Slot::Password);
    let unlocked = match store {
        StoreKind::Vault => unlock_vault(&stores).await.map_err(|f| f.message),
        StoreKind::Keyring => Ok(()),
    };
    let why = match unlocked {
        Ok(()) => match stores.load(&name, store).await {
            Ok(Some(secret)) => return Ok(secret),
            Ok(None) => format!("no password is remembered in {}", store.describe()),
            Err(e) => e.to_string(),
        },
        Err(why) => why,
    };
    if let Ok(pw) = std::env::var(PASSWORD_ENV) {
        return Ok(Secret::new(pw));
    }
    eprintln!("cache-console: profile `{profile}`: {why}");
    ask_hidden(&format!("Password for {profile}: "))
        .map(Secret::new)
        .ok_or_else(|| {
            Failure::error(format!(
                "profile `{profile}`: {why}; set {PASSWORD_ENV} or run on a terminal"
            ))
        })
}

/// The password to remember: `CACHE_CONSOLE_PASSWORD`, the terminal (twice), or one line of
/// standard input.
pub(super) fn password_to_keep(profile: &str) -> Result<Secret, Failure> {
    if let Ok(pw) = std::env::var(PASSWORD_ENV) {
        return Ok(Secret::new(pw));
    }
    if std::io::stdin().is_terminal() {
        let first = ask_hidden(&format!("Password for {profile}: ")).unwrap_or_default();
        let again = ask_hidden("The same password again: ").unwrap_or_default();
        if first != again {
            return Err(Failure::error("the two passwords differ; nothing was kept"));
        }
        return Ok(Secret::new(first));
    }
    // Piped: the first line, bounded (a password, not a file).
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .take(MAX_SECRET_BYTES as u64 + 2)
        .read_line(&mut line)
        .map_err(|e| Failure::error(format!("cannot read the password from stdin: {e}")))?;
    let line = line.strip_suffix('\n').unwrap_or(&line);
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.len() > MAX_SECRET_BYTES {
        return Err(Failure::error("the password is longer than 64 KiB"));
    }
    if line.is_empty() {
        return Err(Failure::usage(format!(
            "no password given: set {PASSWORD_ENV}, type it on a terminal, or pipe it on stdin"
        )));
    }
    Ok(Secret::new(line))
}

/// Keeps `secret` as `profile`'s password in `store`.
pub(super) async fn keep(
    stores: &SecretStores,
    profile: &str,
    store: StoreKind,
    secret: Secret,
) -> Result<(), Failure> {
    if store == StoreKind::Vault {
        unlock_vault(stores).await?;
    }
    stores
        .keep(&SecretName::new(profile, Slot::Password), store, secret)
        .await
        .map_err(|e| {
            Failure::error(format!(
                "the password of `{profile}` could not be kept in {}: {e}; the profile was not \
                 changed",
                store.describe()
            ))
        })
}

/// Removes what `store` holds for `profile`; a locked vault without its passphrase at hand is
/// left for the app to tidy when it next unlocks the vault (said on stderr).
pub(super) async fn forget(stores: &SecretStores, profile: &str, store: StoreKind) {
    if store == StoreKind::Vault
        && std::env::var_os(VAULT_PASSPHRASE_ENV).is_none()
        && !std::io::stdin().is_terminal()
    {
        eprintln!(
            "cache-console: the vault still holds the password of `{profile}`; it goes the next \
             time the vault is unlocked"
        );
        return;
    }
    let result = match store {
        StoreKind::Vault => match unlock_vault(stores).await {
            Ok(()) => stores.forget(profile, &[store]).await,
            Err(f) => Err(SecretError::VaultIo {
                path: "vault".into(),
                reason: f.message,
            }),
        },
        StoreKind::Keyring => stores.forget(profile, &[store]).await,
    };
    if let Err(e) = result {
        eprintln!(
            "cache-console: warning: the password of `{profile}` is still in {}: {e}",
            store.describe()
        );
    }
    let _ = std::io::stderr().flush();
}
