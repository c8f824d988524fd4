//! The vault: remembered secrets in one file, `vault.age` beside `profiles.ron`, encrypted with
//! a master passphrase given once per session.
//!
//! The encryption is age's passphrase mode (scrypt, then ChaCha20-Poly1305), through the `age`
//! crate: a reviewed format other tools can open (`age -d vault.age` shows the JSON inside), not
//! a scheme of our own. The file is written atomically, private (0600), never through a
//! symlink. A wrong passphrase leaves the file as it is; a file that cannot be decrypted or
//! read is moved aside (kept, never deleted) and the vault starts empty.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use age::secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::{SecretError, SecretName, StoreKind};
use crate::config::connection::Secret;
use crate::core::safefs::SafeDir;

/// The vault's file name in the config directory.
pub const FILE_NAME: &str = "vault.age";

/// The largest vault file read.
const MAX_FILE_BYTES: u64 = 16 << 20;

/// The highest scrypt work factor accepted when decrypting (2^22: about 4 GiB·s of work on a
/// file made elsewhere; age's own default is its calibration plus 4). Bounds what a crafted
/// file can cost.
const MAX_WORK_FACTOR: u8 = 22;

/// What the encrypted file holds.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Contents {
    version: u32,
    /// By account (`password/prod`).
    secrets: BTreeMap<String, String>,
}

/// The vault file and, once unlocked, its secrets.
pub struct Vault {
    path: PathBuf,
    open: Option<Open>,
}

struct Open {
    passphrase: Secret,
    secrets: BTreeMap<String, String>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("path", &self.path)
            .field("unlocked", &self.open.is_some())
            .finish_non_exhaustive()
    }
}

/// Whether the vault file exists, and whether this session unlocked it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VaultStatus {
    /// No vault file yet: the first passphrase given makes one.
    Missing,
    /// A vault file, not unlocked this session.
    Locked,
    /// Unlocked: its secrets can be read and kept.
    Unlocked,
}

impl Vault {
    /// The vault in the config directory `dir` (nothing is read yet).
    #[must_use]
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            path: dir.join(FILE_NAME),
            open: None,
        }
    }

    /// The vault file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether it exists and is unlocked.
    #[must_use]
    pub fn status(&self) -> VaultStatus {
        if self.open.is_some() {
            VaultStatus::Unlocked
        } else if std::fs::symlink_metadata(&self.path).is_ok() {
            VaultStatus::Locked
        } else {
            VaultStatus::Missing
        }
    }

    /// Unlocks the vault with `passphrase`; with no vault file, makes an empty vault that this
    /// passphrase will encrypt (the file is written at the first [`Self::set`]).
    ///
    /// # Errors
    /// A wrong passphrase (the file untouched), a damaged file (moved aside, its new place in
    /// the error; the vault is then missing), or an unreadable one.
    pub fn unlock(&mut self, passphrase: &Secret) -> Result<(), SecretError> {
        if passphrase.expose().is_empty() {
            return Err(SecretError::EmptyPassphrase);
        }
        let Some(bytes) = self.read_file()? else {
            self.open = Some(Open {
                passphrase: passphrase.clone(),
                secrets: BTreeMap::new(),
            });
            return Ok(());
        };
        match open_sealed(passphrase, &bytes) {
            Ok(plain) => match serde_json::from_slice::<Contents>(&plain) {
                Ok(contents) => {
                    self.open = Some(Open {
                        passphrase: passphrase.clone(),
                        secrets: contents.secrets,
                    });
                    Ok(())
                }
                Err(e) => Err(self.set_aside(&format!("its contents do not parse: {e}"))),
            },
            Err(Unsealed::WrongPassphrase) => Err(SecretError::WrongPassphrase),
            Err(Unsealed::TooCostly(why) | Unsealed::Damaged(why)) => Err(self.set_aside(&why)),
        }
    }

    /// Forgets the passphrase and the secrets (the file stays).
    pub fn lock(&mut self) {
        self.open = None;
    }

    /// The secret kept for `name`, `None` when there is none.
    ///
    /// # Errors
    /// The vault is locked.
    pub fn get(&self, name: &SecretName) -> Result<Option<Secret>, SecretError> {
        let open = self.open.as_ref().ok_or(SecretError::VaultLocked)?;
        open.secrets
            .get(&name.account())
            .map(|s| super::usable(s.clone().into_bytes(), name.slot, StoreKind::Vault))
            .transpose()
    }

    /// Keeps `secret` for `name` and writes the file.
    ///
    /// # Errors
    /// The vault is locked, or the file cannot be written (the vault in memory is then as it
    /// was).
    pub fn set(&mut self, name: &SecretName, secret: &Secret) -> Result<(), SecretError> {
        let open = self.open.as_mut().ok_or(SecretError::VaultLocked)?;
        let account = name.account();
        let before = open
            .secrets
            .insert(account.clone(), secret.expose().to_owned());
        self.write().inspect_err(|_| {
            if let Some(open) = self.open.as_mut() {
                match before {
                    Some(old) => open.secrets.insert(account, old),
                    None => open.secrets.remove(&account),
                };
            }
        })
    }

    /// Removes what is kept for `name` and writes the file; whether there was anything.
    ///
    /// # Errors
    /// The vault is locked, or the file cannot be written.
    pub fn remove(&mut self, name: &SecretName) -> Result<bool, SecretError> {
        let open = self.open.as_mut().ok_or(SecretError::VaultLocked)?;
        let account = name.account();
        let Some(old) = open.secrets.remove(&account) else {
            return Ok(false);
        };
        self.write()
            .inspect_err(|_| {
                if let Some(open) = self.open.as_mut() {
                    open.secrets.insert(account, old);
                }
            })
            .map(|()| true)
    }

    /// Moves every secret of profile `from` to profile `to` (a rename) and writes the file.
    ///
    /// # Errors
    /// The vault is locked, or the file cannot be written.
    pub fn rename_profile(&mut self, from: &str, to: &str) -> Result<(), SecretError> {
        let open = self.open.as_mut().ok_or(SecretError::VaultLocked)?;
        let mut moved = false;
        for slot in super::Slot::ALL {
            let old = SecretName::new(from, slot).account();
            if let Some(secret) = open.secrets.remove(&old) {
                open.secrets
                    .insert(SecretName::new(to, slot).account(), secret);
                moved = true;
            }
        }
        if moved { self.write() } else { Ok(()) }
    }

    /// Removes every secret whose profile is not in `profiles`, and writes the file when any
    /// went; the count removed.
    ///
    /// # Errors
    /// The vault is locked, or the file cannot be written (nothing is removed then).
    pub fn retain_profiles(&mut self, profiles: &[String]) -> Result<usize, SecretError> {
        let open = self.open.as_mut().ok_or(SecretError::VaultLocked)?;
        let keep: std::collections::BTreeSet<String> = profiles
            .iter()
            .flat_map(|p| super::Slot::ALL.map(|slot| SecretName::new(p.clone(), slot).account()))
            .collect();
        let before = open.secrets.clone();
        open.secrets.retain(|account, _| keep.contains(account));
        let removed = before.len() - open.secrets.len();
        if removed == 0 {
            return Ok(0);
        }
        self.write()
            .inspect_err(|_| {
                if let Some(open) = self.open.as_mut() {
                    open.secrets = before;
                }
            })
            .map(|()| removed)
    }

    fn io_error(&self, e: &std::io::Error) -> SecretError {
        SecretError::VaultIo {
            path: self.path.display().to_string(),
            reason: e.to_string(),
        }
    }

    fn read_file(&mut self) -> Result<Option<Vec<u8>>, SecretError> {
        let dir = self.path.parent().unwrap_or_else(|| Path::new("."));
        let dir = match SafeDir::open(dir) {
            Ok(dir) => dir,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io_error(&e)),
        };
        match dir.read(FILE_NAME, MAX_FILE_BYTES + 1) {
            Ok(Some(bytes)) if bytes.len() as u64 > MAX_FILE_BYTES => {
                Err(self.set_aside(&format!("it is larger than {} MiB", MAX_FILE_BYTES >> 20)))
            }
            Ok(found) => Ok(found),
            Err(e) => Err(self.io_error(&e)),
        }
    }

    fn write(&self) -> Result<(), SecretError> {
        let Some(open) = &self.open else {
            return Err(SecretError::VaultLocked);
        };
        let contents = Contents {
            version: 1,
            secrets: open.secrets.clone(),
        };
        let plain = serde_json::to_vec(&contents).map_err(|e| SecretError::VaultIo {
            path: self.path.display().to_string(),
            reason: e.to_string(),
        })?;
        let sealed = seal(&open.passphrase, &plain, false)?;
        crate::config::write_private(&self.path, &sealed, FILE_NAME).map_err(|e| self.io_error(&e))
    }

    /// Moves a damaged vault file aside and says so; the vault is then missing.
    fn set_aside(&mut self, reason: &str) -> SecretError {
        self.open = None;
        let backup = crate::config::backup_path(&self.path, "damaged");
        let kept = match std::fs::rename(&self.path, &backup) {
            Ok(()) => format!(
                "it was kept as {}, and a new vault starts empty",
                backup.display()
            ),
            Err(e) => format!("it could not be moved aside ({e}) and was left as it is"),
        };
        SecretError::VaultCorrupt {
            path: self.path.display().to_string(),
            reason: reason.to_owned(),
            kept,
        }
    }
}

/// Why sealed bytes could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unsealed {
    /// The passphrase is not the one they were sealed with.
    WrongPassphrase,
    /// They ask for more scrypt work than is accepted here.
    TooCostly(String),
    /// They are not an age file, or were changed after sealing.
    Damaged(String),
}

/// Encrypts `plain` with `passphrase` (age, scrypt); ASCII-armoured when `armor` (for a file
/// people mail around).
///
/// # Errors
/// An empty passphrase, or the encryption failed.
pub fn seal(passphrase: &Secret, plain: &[u8], armor: bool) -> Result<Vec<u8>, SecretError> {
    if passphrase.expose().is_empty() {
        return Err(SecretError::EmptyPassphrase);
    }
    let failed = |e: &dyn std::fmt::Display| SecretError::VaultIo {
        path: "(encryption)".into(),
        reason: e.to_string(),
    };
    let encryptor =
        age::Encryptor::with_user_passphrase(SecretString::from(passphrase.expose().to_owned()));
    let mut out = Vec::with_capacity(plain.len() + 512);
    let format = if armor {
        age::armor::Format::AsciiArmor
    } else {
        age::armor::Format::Binary
    };
    let armored =
        age::armor::ArmoredWriter::wrap_output(&mut out, format).map_err(|e| failed(&e))?;
    let mut writer = encryptor.wrap_output(armored).map_err(|e| failed(&e))?;
    writer.write_all(plain).map_err(|e| failed(&e))?;
    writer
        .finish()
        .and_then(age::armor::ArmoredWriter::finish)
        .map_err(|e| failed(&e))?;
    Ok(out)
}

/// Decrypts what [`seal`] made (armoured or not), reading at most [`MAX_FILE_BYTES`] of
/// plaintext.
///
/// # Errors
/// See [`Unsealed`].
pub fn open_sealed(passphrase: &Secret, sealed: &[u8]) -> Result<Vec<u8>, Unsealed> {
    let decryptor = age::Decryptor::new_buffered(age::armor::ArmoredReader::new(sealed))
        .map_err(|e| Unsealed::Damaged(e.to_string()))?;
    let mut identity =
        age::scrypt::Identity::new(SecretString::from(passphrase.expose().to_owned()));
    identity.set_max_work_factor(MAX_WORK_FACTOR);
    let reader = decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::DecryptionFailed | age::DecryptError::NoMatchingKeys => {
                Unsealed::WrongPassphrase
            }
            age::DecryptError::ExcessiveWork { required, .. } => Unsealed::TooCostly(format!(
                "it asks for scrypt work 2^{required}, more than the 2^{MAX_WORK_FACTOR} accepted"
            )),
            other => Unsealed::Damaged(other.to_string()),
        })?;
    let mut plain = Vec::new();
    reader
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut plain)
        .map_err(|e| Unsealed::Damaged(e.to_string()))?;
    if plain.len() as u64 > MAX_FILE_BYTES {
        return Err(Unsealed::Damaged("its contents are too large".into()));
    }
    Ok(plain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::secrets::Slot;

    fn pw(s: &str) -> Secret {
        Secret::new(s)
    }

    #[test]
    fn sealed_bytes_open_with_their_passphrase_only() {
        let sealed = seal(&pw("correct horse"), b"{\"a\":1}", true).expect("seal");
        assert!(sealed.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----"));
        assert_eq!(
            open_sealed(&pw("correct horse"), &sealed).expect("open"),
            b"{\"a\":1}"
        );
        assert_eq!(
            open_sealed(&pw("wrong"), &sealed),
            Err(Unsealed::WrongPassphrase)
        );
        assert!(matches!(
            open_sealed(&pw("x"), b"not age at all"),
            Err(Unsealed::Damaged(_))
        ));
        assert_eq!(
            seal(&pw(""), b"x", false),
            Err(SecretError::EmptyPassphrase)
        );
    }

    #[test]
    fn the_vault_keeps_secrets_across_unlocks_and_refuses_a_wrong_passphrase() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut vault = Vault::in_dir(dir.path());
        assert_eq!(vault.status(), VaultStatus::Missing);
        let name = SecretName::new("prod", Slot::Password);
        assert_eq!(vault.get(&name), Err(SecretError::VaultLocked));
        vault.unlock(&pw("master")).expect("new vault");
        vault.set(&name, &pw("hunter2")).expect("set");
        let bytes = std::fs::read(vault.path()).expect("written");
        assert!(!bytes.windows(7).any(|w| w == b"hunter2"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(vault.path())
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        let mut again = Vault::in_dir(dir.path());
        assert_eq!(again.status(), VaultStatus::Locked);
        assert_eq!(again.unlock(&pw("nope")), Err(SecretError::WrongPassphrase));
        assert_eq!(std::fs::read(again.path()).expect("untouched"), bytes);
        again.unlock(&pw("master")).expect("unlock");
        assert_eq!(
            again
                .get(&name)
                .expect("get")
                .map(|s| s.expose().to_owned()),
            Some("hunter2".to_owned())
        );
        again.rename_profile("prod", "prod-eu").expect("rename");
        assert_eq!(again.get(&name), Ok(None));
        let moved = SecretName::new("prod-eu", Slot::Password);
        assert!(again.remove(&moved).expect("remove"));
        assert!(!again.remove(&moved).expect("gone"));
    }

    #[test]
    fn a_damaged_vault_is_kept_aside_and_a_new_one_starts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut vault = Vault::in_dir(dir.path());
        vault.unlock(&pw("master")).expect("new");
        vault
            .set(&SecretName::new("a", Slot::Password), &pw("s"))
            .expect("set");
        let mut bytes = std::fs::read(vault.path()).expect("read");
        let last = bytes.len() - 1;
        bytes[last] ^= 0x55;
        std::fs::write(vault.path(), &bytes).expect("damage");

        let mut again = Vault::in_dir(dir.path());
        let err = again.unlock(&pw("master")).expect_err("damaged");
        let SecretError::VaultCorrupt { kept, .. } = &err else {
            panic!("{err:?}");
        };
        assert!(kept.contains("damaged"), "{kept}");
        let backups: Vec<_> = std::fs::read_dir(dir.path())
            .expect("dir")
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().contains("damaged"))
            .collect();
        assert_eq!(backups.len(), 1);
        assert_eq!(std::fs::read(backups[0].path()).expect("kept"), bytes);
        assert_eq!(again.status(), VaultStatus::Missing);
        again.unlock(&pw("new master")).expect("a new vault");
    }

    #[cfg(unix)]
    #[test]
    fn the_vault_is_never_written_through_a_symlink() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, b"keep me").expect("target");
        std::os::unix::fs::symlink(&target, dir.path().join(FILE_NAME)).expect("link");
        let mut vault = Vault::in_dir(dir.path());
        assert!(
            vault.unlock(&pw("m")).is_err(),
            "a symlinked vault is not read"
        );
        assert_eq!(std::fs::read(&target).expect("target"), b"keep me");
    }
}
