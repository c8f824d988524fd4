//! Profiles that travel: an export file of chosen profiles (secrets left out, or sealed with a
//! passphrase given at export), and imports that merge into the saved profiles with a preview.
//!
//! The export file is JSON (`"format": "cache-console-profiles"`), so other tools and people
//! can read what is in it; its secrets, when included, are one age-encrypted (scrypt) block, as
//! in the vault. Imports read that format or a plain list of connection URLs. Whatever cannot
//! be carried over is said in [`Incoming::notes`], never dropped silently.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::config::connection::{PasswordSource, Secret, SshAuth, parse_url};
use crate::config::profiles::{Profile, ProfileStore, check_name};
use crate::config::secrets::vault::{Unsealed, open_sealed, seal};
use crate::config::secrets::{SecretName, Slot};

/// The `format` field of an export file.
pub const FORMAT: &str = "cache-console-profiles";

/// The largest file an import reads.
pub const MAX_IMPORT_BYTES: u64 = 16 << 20;

#[derive(Debug, Serialize, Deserialize)]
struct ExportFile {
    format: String,
    version: u32,
    profiles: Vec<Profile>,
    /// The secrets, by account (`password/prod`), sealed with the export passphrase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    secrets: Option<String>,
}

/// Why an export or import failed. No variant holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransferError {
    /// The file is in no format this version reads.
    #[error("{0}")]
    Unreadable(String),
    /// The passphrase does not open the file's secrets.
    #[error("the passphrase does not open the secrets in this file")]
    WrongPassphrase,
    /// The secrets could not be sealed or opened.
    #[error("the secrets could not be {0}")]
    Secrets(String),
}

/// Which format a file is read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Source {
    /// This console's export file.
    #[default]
    CacheConsole,
    /// One connection URL per line.
    Urls,
    /// Another tool's connections.
    Tool(crate::config::foreign::Tool),
}

impl Source {
    /// How the format is named.
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Self::CacheConsole => "a Cache Console export",
            Self::Urls => "a list of URLs",
            Self::Tool(tool) => tool.describe(),
        }
    }
}

/// What a file holds, ready to be previewed and merged.
#[derive(Debug, Clone, Default)]
pub struct Incoming {
    /// The format the file was read as.
    pub source: Source,
    /// The profiles, each with a valid name.
    pub profiles: Vec<Profile>,
    /// Secrets that came with them, by profile name and slot.
    pub secrets: Vec<(SecretName, Secret)>,
    /// The file holds sealed secrets that were not opened (no passphrase given).
    pub sealed: Option<String>,
    /// What could not be carried over, and why: one sentence each.
    pub notes: Vec<String>,
}

/// The secrets of profiles gathered for an export, with the passphrase that seals them.
pub struct ExportSecrets<'a> {
    /// The passphrase given at export.
    pub passphrase: &'a Secret,
    /// The secrets, by name.
    pub secrets: Vec<(SecretName, Secret)>,
}

/// The export file of `profiles`: without secrets, or with `secrets` sealed.
///
/// # Errors
/// The secrets could not be sealed (an empty passphrase).
pub fn export(
    profiles: &[Profile],
    secrets: Option<ExportSecrets<'_>>,
) -> Result<String, TransferError> {
    let sealed = match secrets {
        Some(s) => {
            let map: BTreeMap<String, String> = s
                .secrets
                .iter()
                .map(|(name, secret)| (name.account(), secret.expose().to_owned()))
                .collect();
            let plain = serde_json::to_vec(&map)
                .map_err(|e| TransferError::Secrets(format!("encoded: {e}")))?;
            let armored = seal(s.passphrase, &plain, true)
                .map_err(|e| TransferError::Secrets(format!("sealed: {e}")))?;
            Some(String::from_utf8_lossy(&armored).into_owned())
        }
        None => None,
    };
    let file = ExportFile {
        format: FORMAT.to_owned(),
        version: 1,
        // When the exporter last connected means nothing to the importer's list.
        profiles: profiles
            .iter()
            .map(|p| Profile {
                last_used_ms: None,
                ..p.clone()
            })
            .collect(),
        secrets: sealed,
    };
    serde_json::to_string_pretty(&file).map_err(|e| TransferError::Unreadable(e.to_string()))
}

/// The bytes of a file to import, at most [`MAX_IMPORT_BYTES`] of them (a larger file is
/// refused, not cut).
///
/// # Errors
/// The file cannot be read, or is too large; the message names it.
pub fn read_file(path: &std::path::Path) -> Result<Vec<u8>, String> {
    use std::io::Read as _;
    let cannot = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(cannot)?
        .take(MAX_IMPORT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_IMPORT_BYTES {
        return Err(format!(
            "{} is larger than {} MiB",
            path.display(),
            MAX_IMPORT_BYTES >> 20
        ));
    }
    Ok(bytes)
}

/// Which format `bytes` are in.
#[must_use]
pub fn detect(bytes: &[u8]) -> Option<Source> {
    if let Some(tool) = crate::config::foreign::detect(bytes) {
        return Some(Source::Tool(tool));
    }
    let text = std::str::from_utf8(bytes).ok()?;
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        let value: serde_json::Value = serde_json::from_str(trimmed).ok()?;
        return (value.get("format").and_then(|f| f.as_str()) == Some(FORMAT))
            .then_some(Source::CacheConsole);
    }
    // Lines that are not URLs are said as notes when read, not a reason to refuse the list.
    let looks_like_urls = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .any(|l| l.contains("://"));
    looks_like_urls.then_some(Source::Urls)
}

/// Reads a file as `from` (detected when `None`); sealed secrets are opened with `passphrase`
/// when one is given, else left sealed ([`Incoming::sealed`]).
///
/// # Errors
/// The file is in no known format, or the passphrase is wrong.
pub fn read(
    bytes: &[u8],
    from: Option<Source>,
    passphrase: Option<&Secret>,
) -> Result<Incoming, TransferError> {
    let Some(source) = from.or_else(|| detect(bytes)) else {
        if let Some(e) = broken_json(bytes) {
            return Err(TransferError::Unreadable(format!(
                "this looks like JSON but does not parse: {e}"
            )));
        }
        return Err(TransferError::Unreadable(
            "this is not a format read here: a Cache Console export, Tiny RDM's \
             connections.yaml (or its export zip), a RedisInsight export, Another Redis Desktop \
             Manager's connections.ano, RESP.app's connections.json, or a list of connection URLs"
                .to_owned(),
        ));
    };
    let mut incoming = match source {
        Source::CacheConsole => read_export(bytes)?,
        Source::Urls => read_urls(bytes)?,
        Source::Tool(tool) => crate::config::foreign::read(bytes, tool)?,
    };
    if let (Some(sealed), Some(passphrase)) = (incoming.sealed.clone(), passphrase) {
        incoming.secrets = unseal(&sealed, passphrase)?;
        incoming.sealed = None;
    }
    incoming.source = source;
    settle_sources(&mut incoming);
    Ok(incoming)
}

/// Why `bytes`, which start as JSON does, do not parse as JSON (`None` when they do, or do not
/// look like JSON at all).
fn broken_json(bytes: &[u8]) -> Option<serde_json::Error> {
    let text = std::str::from_utf8(bytes).ok()?.trim_start();
    if !(text.starts_with('[') || text.starts_with('{')) {
        return None;
    }
    serde_json::from_str::<serde_json::Value>(text).err()
}

/// Opens the sealed secrets of an export.
///
/// # Errors
/// A wrong passphrase, or damaged secrets.
pub fn unseal(
    sealed: &str,
    passphrase: &Secret,
) -> Result<Vec<(SecretName, Secret)>, TransferError> {
    let plain = open_sealed(passphrase, sealed.as_bytes()).map_err(|e| match e {
        Unsealed::WrongPassphrase => TransferError::WrongPassphrase,
        Unsealed::TooCostly(why) | Unsealed::Damaged(why) => {
            TransferError::Secrets(format!("opened: {why}"))
        }
    })?;
    let map: BTreeMap<String, String> =
        serde_json::from_slice(&plain).map_err(|e| TransferError::Secrets(format!("read: {e}")))?;
    Ok(map
        .into_iter()
        .filter_map(|(account, secret)| {
            let (slot, profile) = account.split_once('/')?;
            let slot = Slot::ALL.into_iter().find(|s| s.key() == slot)?;
            Some((SecretName::new(profile, slot), Secret::new(secret)))
        })
        .collect())
}

fn read_export(bytes: &[u8]) -> Result<Incoming, TransferError> {
    let file: ExportFile = serde_json::from_slice(bytes)
        .map_err(|e| TransferError::Unreadable(format!("the export file does not parse: {e}")))?;
    if file.version > 1 {
        return Err(TransferError::Unreadable(format!(
            "the export file is version {}; this version reads version 1",
            file.version
        )));
    }
    let mut incoming = Incoming {
        sealed: file.secrets,
        ..Incoming::default()
    };
    for profile in file.profiles {
        match check_name(&profile.name) {
            Ok(()) => incoming.profiles.push(profile),
            Err(e) => incoming.notes.push(format!("a profile was left out: {e}")),
        }
    }
    Ok(incoming)
}

fn read_urls(bytes: &[u8]) -> Result<Incoming, TransferError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| TransferError::Unreadable("the URL list is not UTF-8 text".to_owned()))?;
    let mut incoming = Incoming::default();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match parse_url(line) {
            Ok((spec, password)) => {
                let base = spec.display_url();
                let base = base
                    .split_once("://")
                    .map_or(base.as_str(), |(_, rest)| rest);
                let name = free_name(base.trim_end_matches('/'), |n| {
                    incoming.profiles.iter().any(|p| p.name == n)
                });
                if let Some(password) = password {
                    incoming
                        .secrets
                        .push((SecretName::new(name.clone(), Slot::Password), password));
                }
                incoming.profiles.push(Profile::new(name, spec));
            }
            // The error never quotes a password (`parse_url` redacts it).
            Err(e) => incoming.notes.push(format!("line {}: {e}", i + 1)),
        }
    }
    Ok(incoming)
}

/// A profile whose secret is in no store here asks for it: a source naming this machine's
/// keyring or vault means nothing on another one, and an imported secret goes to the store the
/// user chooses ([`remember_in`]).
fn settle_sources(incoming: &mut Incoming) {
    let brought: HashSet<(&str, Slot)> = incoming
        .secrets
        .iter()
        .map(|(n, _)| (n.profile.as_str(), n.slot))
        .collect();
    for profile in &mut incoming.profiles {
        let name = profile.name.clone();
        let has = |slot| brought.contains(&(name.as_str(), slot));
        if profile.connection.password_source().store().is_some() {
            profile
                .connection
                .set_password_source(PasswordSource::Prompt);
            // Sealed secrets not opened yet may hold it: nothing to say before they are.
            if !has(Slot::Password) && incoming.sealed.is_none() {
                incoming.notes.push(format!(
                    "`{name}`: its password was not in the file; it will be asked for"
                ));
            }
        }
        // A password that came with the file (in a URL, say) is asked for at connect until a
        // store takes it (keeping it there points the profile at the store).
        if profile.connection.password_source() == &PasswordSource::None && has(Slot::Password) {
            profile
                .connection
                .set_password_source(PasswordSource::Prompt);
        }
        if let Some(ssh) = &mut profile.ssh {
            if let SshAuth::Password(source) = &ssh.auth
                && source.store().is_some()
            {
                ssh.auth = SshAuth::Password(PasswordSource::Prompt);
            }
            ssh.passphrase = PasswordSource::None;
        }
    }
}

/// What to do with an incoming profile whose name is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Conflict {
    /// Keep the saved one; leave the incoming one out.
    #[default]
    Skip,
    /// Add the incoming one under a free name (`name (2)`).
    Rename,
    /// Put the incoming one in the saved one's place.
    Replace,
}

/// What happens to one incoming profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Added under its own name.
    Add,
    /// Left out: the name is taken.
    Skip,
    /// Added under this free name.
    Rename(String),
    /// Replaces the saved profile of that name.
    Replace,
}

/// The preview of a merge: one step per incoming profile, in order; `choice` answers for the
/// incoming profile at an index whose name is taken.
#[must_use]
pub fn plan(
    store: &ProfileStore,
    incoming: &[Profile],
    choice: impl Fn(usize) -> Conflict,
) -> Vec<(String, Step)> {
    // A set: the preview plans again every frame, and a file may hold thousands of profiles.
    let mut taken: HashSet<String> = store.profiles().iter().map(|p| p.name.clone()).collect();
    let mut steps = Vec::with_capacity(incoming.len());
    for (i, profile) in incoming.iter().enumerate() {
        let name = &profile.name;
        let step = if taken.contains(name) {
            match choice(i) {
                Conflict::Skip => Step::Skip,
                Conflict::Replace => Step::Replace,
                Conflict::Rename => {
                    let free = free_name(name, |n| taken.contains(n));
                    taken.insert(free.clone());
                    Step::Rename(free)
                }
            }
        } else {
            taken.insert(name.clone());
            Step::Add
        };
        steps.push((name.clone(), step));
    }
    steps
}

/// What a merge did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Merged {
    /// Added (renamed ones under their new name).
    pub added: Vec<String>,
    /// Replaced.
    pub replaced: Vec<String>,
    /// Left out.
    pub skipped: Vec<String>,
    /// The secrets of the profiles that went in, under their final names.
    pub secrets: Vec<(SecretName, Secret)>,
}

/// Merges `incoming` into `store` as `steps` say (the store is saved by the caller).
///
/// # Errors
/// A profile could not be added (a name taken since the plan was made).
pub fn merge(
    store: &mut ProfileStore,
    incoming: Incoming,
    steps: &[(String, Step)],
) -> Result<Merged, crate::config::profiles::ProfileError> {
    let mut merged = Merged::default();
    for (profile, (name, step)) in incoming.profiles.into_iter().zip(steps) {
        let final_name = match step {
            Step::Skip => {
                merged.skipped.push(name.clone());
                continue;
            }
            Step::Add => {
                store.add(profile)?;
                merged.added.push(name.clone());
                name.clone()
            }
            Step::Rename(free) => {
                let mut profile = profile;
                profile.name.clone_from(free);
                store.add(profile)?;
                merged.added.push(free.clone());
                free.clone()
            }
            Step::Replace => {
                store.update(name, profile)?;
                merged.replaced.push(name.clone());
                name.clone()
            }
        };
        merged.secrets.extend(
            incoming
                .secrets
                .iter()
                .filter(|(n, _)| n.profile == *name)
                .map(|(n, s)| (SecretName::new(final_name.clone(), n.slot), s.clone())),
        );
    }
    Ok(merged)
}

/// Points a profile at `store` for its secret in `slot`; whether that changed it.
pub fn remember_in(
    profile: &mut Profile,
    slot: Slot,
    store: crate::config::secrets::StoreKind,
) -> bool {
    let wanted = PasswordSource::stored_in(store);
    match slot {
        Slot::Password => {
            let changed = profile.connection.password_source() != &wanted;
            profile.connection.set_password_source(wanted);
            changed
        }
        Slot::SshPassword => match profile.ssh.as_mut() {
            Some(ssh) if ssh.auth != SshAuth::Password(wanted.clone()) => {
                ssh.auth = SshAuth::Password(wanted);
                true
            }
            _ => false,
        },
        Slot::SshPassphrase => match profile.ssh.as_mut() {
            Some(ssh) if ssh.passphrase != wanted => {
                ssh.passphrase = wanted;
                true
            }
            _ => false,
        },
    }
}

/// `base`, or `base (2)`, `base (3)`… : the first that `taken` refuses.
pub(crate) fn free_name(base: &str, taken: impl Fn(&str) -> bool) -> String {
    let base: String = base
        .chars()
        .take(crate::config::profiles::MAX_NAME_CHARS - 6)
        .collect();
    if !taken(&base) {
        return base;
    }
    // A free one comes within as many tries as there are names; the bound only says so.
    (2..=u32::MAX)
        .map(|n| format!("{base} ({n})"))
        .find(|n| !taken(n))
        .unwrap_or(base)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::connection::SshSpec;

    fn profile(name: &str, url: &str) -> Profile {
        Profile::new(name, parse_url(url).expect("url").0)
    }

    #[test]
    fn an_export_reads_back_field_by_field() {
        let mut a = profile("prod", "rediss://ops:${REDIS_PW}@cache:6380/2");
        a.read_only = true;
        a.color = Some(crate::config::profiles::ColorTag::Red);
        a.delimiter = "/".into();
        a.group = Some("Production".into());
        a.ssh = Some(SshSpec {
            hop: crate::config::connection::SshHop::parse("me@bastion:2222").expect("hop"),
            ..SshSpec::default()
        });
        let mut b = profile("pool", "memcached://a:11211,b:11212");
        b.last_used_ms = Some(1_700_000_000_000);
        let text = export(&[a.clone(), b.clone()], None).expect("export");
        assert!(!text.contains("\"secrets\""), "{text}");
        let incoming = read(text.as_bytes(), None, None).expect("read");
        // Everything but when the exporter last used it.
        b.last_used_ms = None;
        assert_eq!(incoming.profiles, vec![a, b]);
        assert!(incoming.notes.is_empty(), "{:?}", incoming.notes);
    }

    #[test]
    fn sealed_secrets_open_with_their_passphrase_only_and_never_show_in_the_file() {
        let mut p = profile("prod", "redis://cache:6379");
        p.connection.set_password_source(PasswordSource::Keyring);
        let pw = Secret::new("s3cr3t-in-export");
        let text = export(
            std::slice::from_ref(&p),
            Some(ExportSecrets {
                passphrase: &Secret::new("share me"),
                secrets: vec![(SecretName::new("prod", Slot::Password), pw.clone())],
            }),
        )
        .expect("export");
        assert!(!text.contains("s3cr3t-in-export"));
        let locked = read(text.as_bytes(), None, None).expect("read");
        assert!(locked.sealed.is_some() && locked.secrets.is_empty());
        assert!(
            locked.notes.is_empty(),
            "the sealed block may hold the password: {:?}",
            locked.notes
        );
        assert_eq!(
            read(text.as_bytes(), None, Some(&Secret::new("nope"))).err(),
            Some(TransferError::WrongPassphrase)
        );
        let open = read(text.as_bytes(), None, Some(&Secret::new("share me"))).expect("open");
        assert_eq!(
            open.secrets,
            vec![(SecretName::new("prod", Slot::Password), pw)]
        );
        assert_eq!(
            open.profiles[0].connection.password_source(),
            &PasswordSource::Prompt,
            "this machine's store is chosen at import"
        );
    }

    #[test]
    fn a_url_list_becomes_profiles_and_says_what_it_could_not_read() {
        let text = "# caches\nredis://:pw1@10.0.0.1:6379/0\nredis://10.0.0.1:6379/0\n\nftp://x\nmemcached://m:11211\n";
        assert_eq!(detect(text.as_bytes()), Some(Source::Urls));
        let incoming = read(text.as_bytes(), None, None).expect("read");
        let names: Vec<_> = incoming.profiles.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["10.0.0.1:6379/0", "10.0.0.1:6379/0 (2)", "m:11211"]);
        assert_eq!(incoming.secrets.len(), 1);
        assert_eq!(incoming.secrets[0].0.profile, "10.0.0.1:6379/0");
        assert_eq!(incoming.notes.len(), 1, "{:?}", incoming.notes);
        assert!(
            incoming.notes[0].starts_with("line 5:"),
            "{:?}",
            incoming.notes
        );
        assert!(!incoming.notes[0].contains("pw1"));
    }

    #[test]
    fn clashing_names_are_skipped_renamed_or_replaced_as_chosen() {
        let dir = tempfile::tempdir().expect("dir");
        let mut store = ProfileStore::empty_in(dir.path());
        store.add(profile("prod", "redis://old:6379")).expect("add");
        store
            .add(profile("prod (2)", "redis://old2:6379"))
            .expect("add");
        let incoming = Incoming {
            profiles: vec![
                profile("prod", "redis://new:6379"),
                profile("staging", "redis://s:6379"),
            ],
            secrets: vec![(SecretName::new("prod", Slot::Password), Secret::new("x"))],
            ..Incoming::default()
        };
        let skip = plan(&store, &incoming.profiles, |_| Conflict::Skip);
        assert_eq!(skip[0].1, Step::Skip);
        assert_eq!(skip[1].1, Step::Add);
        let rename = plan(&store, &incoming.profiles, |_| Conflict::Rename);
        assert_eq!(rename[0].1, Step::Rename("prod (3)".into()));
        let merged = merge(&mut store, incoming.clone(), &rename).expect("merge");
        assert_eq!(merged.added, ["prod (3)", "staging"]);
        assert_eq!(
            merged.secrets[0].0,
            SecretName::new("prod (3)", Slot::Password)
        );
        let replace = plan(&store, &incoming.profiles, |_| Conflict::Replace);
        merge(&mut store, incoming, &replace).expect("merge");
        assert_eq!(
            store.get("prod").expect("prod").connection.display_url(),
            "redis://new:6379/0"
        );
    }

    #[test]
    fn unknown_files_are_refused_with_a_reason() {
        assert!(read(b"\x00\xff", None, None).is_err());
        let err = read(br#"{"format": "other"}"#, None, None).expect_err("not ours");
        assert!(err.to_string().contains("not a format read here"), "{err}");
        // A hand-edited file with a mistake says where it is.
        let err = read(b"[{\"name\": \"x\",\n  \"host\" \"h\"}]", None, None).expect_err("broken");
        assert!(
            err.to_string()
                .contains("does not parse: expected `:` at line 2"),
            "{err}"
        );
    }
}
