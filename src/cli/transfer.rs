//! `profiles export` and `profiles import`: profiles to a file and back, with a preview of the
//! merge printed before anything changes.

use std::io::{IsTerminal as _, Write as _};

use super::{Failure, ImportFormat, ImportSecrets, OnConflict};
use crate::config::connection::Secret;
use crate::config::foreign::Tool;
use crate::config::profiles::ProfileStore;
use crate::config::secrets::{SecretName, StoreKind};
use crate::config::transfer::{self, Conflict, ExportSecrets, Source, Step};

/// Where the command line reads the passphrase that seals an export's secrets.
pub const EXPORT_PASSPHRASE_ENV: &str = "CACHE_CONSOLE_EXPORT_PASSPHRASE";
/// Where the command line reads the passphrase that opens an import's secrets.
pub const IMPORT_PASSPHRASE_ENV: &str = "CACHE_CONSOLE_IMPORT_PASSPHRASE";

fn passphrase(env: &str, twice: bool) -> Option<Secret> {
    if let Ok(p) = std::env::var(env)
        && !p.is_empty()
    {
        return Some(Secret::new(p));
    }
    if !std::io::stdin().is_terminal() {
        return None;
    }
    let first = rpassword::prompt_password("File passphrase: ").ok()?;
    if twice {
        let again = rpassword::prompt_password("The same passphrase again: ").ok()?;
        if again != first {
            eprintln!("cache-console: the two passphrases differ");
            return None;
        }
    }
    Some(Secret::new(first))
}

/// `profiles export FILE [NAME…] [--with-secrets] [--yes]`.
pub(super) fn export(
    store: &ProfileStore,
    file: &std::path::Path,
    names: &[String],
    with_secrets: bool,
    replace: bool,
) -> Result<(), Failure> {
    let chosen: Vec<_> = if names.is_empty() {
        store.profiles().to_vec()
    } else {
        names
            .iter()
            .map(|n| {
                store
                    .get(n)
                    .cloned()
                    .ok_or_else(|| Failure::error(format!("no profile named `{n}`")))
            })
            .collect::<Result<_, _>>()?
    };
    if std::fs::symlink_metadata(file).is_ok() && !replace {
        return Err(Failure::error(format!(
            "{} exists; pass --yes to replace it",
            file.display()
        )));
    }
    let sealed = if with_secrets {
        let pass = passphrase(EXPORT_PASSPHRASE_ENV, true).ok_or_else(|| {
            Failure::error(format!(
                "--with-secrets needs a passphrase: set {EXPORT_PASSPHRASE_ENV} or run on a \
                 terminal"
            ))
        })?;
        let secrets = super::target::block_on_value(gather(&chosen))?;
        Some((pass, secrets))
    } else {
        None
    };
    let text = transfer::export(
        &chosen,
        sealed.as_ref().map(|(pass, secrets)| ExportSecrets {
            passphrase: pass,
            secrets: secrets.clone(),
        }),
    )
    .map_err(Failure::error)?;
    crate::config::write_private(file, text.as_bytes(), "profiles-export.json")
        .map_err(|e| Failure::error(format!("cannot write {}: {e}", file.display())))?;
    let kept = sealed.map_or(0, |(_, s)| s.len());
    eprintln!(
        "cache-console: {} profile(s) written to {}{}",
        chosen.len(),
        file.display(),
        if with_secrets {
            format!(", {kept} secret(s) sealed with the passphrase")
        } else {
            ", no secrets".to_owned()
        }
    );
    Ok(())
}

/// The remembered secrets of `profiles` (those their stores can give; the others are said).
async fn gather(
    profiles: &[crate::config::profiles::Profile],
) -> Result<Vec<(SecretName, Secret)>, Failure> {
    let stores = super::secrets::stores()?;
    let needs_vault = profiles.iter().any(|p| {
        crate::config::secrets::stored_slots(p)
            .iter()
            .any(|(_, store)| *store == StoreKind::Vault)
    });
    if needs_vault {
        super::secrets::unlock_vault(&stores).await?;
    }
    let (found, notes) = stores.gather(profiles).await;
    for note in notes {
        eprintln!("cache-console: {note}");
    }
    Ok(found)
}

/// `profiles import FILE …`: reads, prints the plan, merges (unless `--dry-run`), keeps the
/// passwords where `--secrets` says.
pub(super) fn import(
    store: &mut ProfileStore,
    file: &std::path::Path,
    from: Option<ImportFormat>,
    on_conflict: OnConflict,
    secrets: ImportSecrets,
    dry_run: bool,
) -> Result<(), Failure> {
    let bytes = transfer::read_file(file).map_err(Failure::error)?;
    let from = from.map(|f| match f {
        ImportFormat::CacheConsole => Source::CacheConsole,
        ImportFormat::Urls => Source::Urls,
        ImportFormat::Tinyrdm => Source::Tool(Tool::TinyRdm),
        ImportFormat::Redisinsight => Source::Tool(Tool::RedisInsight),
        ImportFormat::Ardm => Source::Tool(Tool::Ardm),
        ImportFormat::Resp => Source::Tool(Tool::Resp),
    });
    let mut incoming = transfer::read(&bytes, from, None).map_err(Failure::error)?;
    if let Some(sealed) = incoming.sealed.take() {
        if secrets == ImportSecrets::Drop {
            incoming
                .notes
                .push("the file's secrets were not opened (--secrets drop)".to_owned());
        } else {
            let pass = passphrase(IMPORT_PASSPHRASE_ENV, false).ok_or_else(|| {
                Failure::error(format!(
                    "the file holds sealed secrets: set {IMPORT_PASSPHRASE_ENV}, run on a \
                     terminal, or pass --secrets drop"
                ))
            })?;
            incoming.secrets = transfer::unseal(&sealed, &pass).map_err(Failure::error)?;
        }
    }
    let choice = match on_conflict {
        OnConflict::Skip => Conflict::Skip,
        OnConflict::Rename => Conflict::Rename,
        OnConflict::Replace => Conflict::Replace,
    };
    let steps = transfer::plan(store, &incoming.profiles, |_| choice);
    let mut out = std::io::stdout().lock();
    for (name, step) in &steps {
        let line = match step {
            Step::Add => format!("add\t{name}"),
            Step::Skip => format!("skip\t{name}\t(a profile of that name exists)"),
            Step::Rename(new) => format!("rename\t{name}\t-> {new}"),
            Step::Replace => format!("replace\t{name}"),
        };
        let _ = writeln!(out, "{line}");
    }
    for note in &incoming.notes {
        let _ = writeln!(out, "note\t{note}");
    }
    if dry_run {
        return Ok(());
    }
    let merged = transfer::merge(store, incoming, &steps).map_err(Failure::error)?;
    let kept = keep_secrets(store, &merged, secrets)?;
    store.save().map_err(Failure::error)?;
    eprintln!(
        "cache-console: {} added, {} replaced, {} skipped{}",
        merged.added.len(),
        merged.replaced.len(),
        merged.skipped.len(),
        match secrets {
            ImportSecrets::Drop if !merged.secrets.is_empty() => format!(
                ", {} secret(s) in the file not kept (--secrets keyring or vault keeps them); \
                 they are asked for at connect",
                merged.secrets.len()
            ),
            ImportSecrets::Drop => String::new(),
            _ => format!(", {kept} secret(s) kept"),
        }
    );
    Ok(())
}

/// Keeps the merged profiles' secrets where `secrets` says and points the profiles there; a
/// dropped (or failed) password is asked for instead. Returns how many were kept.
fn keep_secrets(
    store: &mut ProfileStore,
    merged: &transfer::Merged,
    secrets: ImportSecrets,
) -> Result<usize, Failure> {
    let target = match secrets {
        ImportSecrets::Keyring => Some(StoreKind::Keyring),
        ImportSecrets::Vault => Some(StoreKind::Vault),
        ImportSecrets::Drop => None,
    };
    let mut kept = Vec::new();
    if let Some(kind) = target {
        kept = super::target::block_on_value(async {
            let stores = super::secrets::stores()?;
            if kind == StoreKind::Vault && !merged.secrets.is_empty() {
                super::secrets::unlock_vault(&stores).await?;
            }
            let mut kept = Vec::new();
            for (name, secret) in &merged.secrets {
                match stores.keep(name, kind, secret.clone()).await {
                    Ok(()) => kept.push(name.clone()),
                    Err(e) => eprintln!(
                        "cache-console: `{}`: the {} was not kept in {} ({e}); it will be asked \
                         for",
                        name.profile,
                        name.slot.describe(),
                        kind.describe()
                    ),
                }
            }
            Ok(kept)
        })?;
    }
    // The profiles point at the store that took their secret; the others ask for it (as the
    // import left them).
    if let Some(kind) = target {
        for name in &kept {
            let Some(mut profile) = store.get(&name.profile).cloned() else {
                continue;
            };
            transfer::remember_in(&mut profile, name.slot, kind);
            store
                .update(&name.profile, profile)
                .map_err(Failure::error)?;
        }
    }
    Ok(kept.len())
}
