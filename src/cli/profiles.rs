//! `profiles list|add|remove`: the same profiles file as the app, written at once.

use std::io::Write as _;

use super::{Failure, PASSWORD_ENV, ProfilesCommand};
use crate::config::connection::{PasswordSource, parse_url};
use crate::config::profiles::{Profile, ProfileStore};

/// Runs a `profiles` action.
pub(super) fn run(action: ProfilesCommand, ssh: &super::SshArgs) -> Result<(), Failure> {
    let loaded = ProfileStore::load_default().map_err(Failure::error)?;
    if let Some(warning) = &loaded.warning {
        eprintln!("cache-console: warning: {warning}");
    }
    let mut store = loaded.store;
    match action {
        ProfilesCommand::List => {
            let mut out = std::io::stdout().lock();
            for p in store.profiles() {
                let mut flags = Vec::new();
                if p.read_only {
                    flags.push("read-only".to_owned());
                }
                if p.production {
                    flags.push("production".to_owned());
                }
                if let Some(c) = p.color {
                    flags.push(c.name().to_owned());
                }
                let flags = if flags.is_empty() {
                    String::new()
                } else {
                    format!("\t[{}]", flags.join(", "))
                };
                let via = p
                    .ssh
                    .as_ref()
                    .map(|s| format!(" ({})", s.label()))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "{}\t{}{via}{flags}",
                    p.name,
                    p.connection.display_url()
                );
            }
            Ok(())
        }
        ProfilesCommand::Add {
            name,
            url,
            read_only,
            color,
            production,
        } => {
            let (mut spec, inline) = parse_url(&url).map_err(Failure::usage)?;
            if inline.is_some() {
                // Never store it: the profile will ask for it (or read CACHE_CONSOLE_PASSWORD).
                spec.set_password_source(PasswordSource::Prompt);
                eprintln!(
                    "cache-console: the password in the URL was not saved; the profile will ask \
                     for it (CLI: set {PASSWORD_ENV}), or use ${{VAR}} to read it from a variable"
                );
            }
            let mut profile = Profile::new(name, spec);
            profile.read_only = read_only;
            profile.color = color;
            profile.production = production;
            profile.ssh = ssh.spec(None)?;
            store.add(profile).map_err(Failure::error)?;
            store.save().map_err(Failure::error)
        }
        ProfilesCommand::Remove { name } => {
            store.remove(&name).map_err(Failure::error)?;
            store.save().map_err(Failure::error)
        }
    }
}
