//! `profiles list|add|group|remove|set-password`: the same profiles file as the app, written at once;
//! remembered passwords in the same keyring and vault.

use std::io::Write as _;

use super::{Failure, PASSWORD_ENV, PasswordStore, ProfilesCommand};
use crate::config::connection::{PasswordSource, parse_url};
use crate::config::profiles::{Profile, ProfileStore};
use crate::config::secrets::StoreKind;

/// Runs a `profiles` action.
pub(super) fn run(action: ProfilesCommand, ssh: &super::SshArgs) -> Result<(), Failure> {
    let loaded = ProfileStore::load_default().map_err(Failure::error)?;
    if let Some(warning) = &loaded.warning {
        eprintln!("cache-console: warning: {warning}");
    }
    let mut store = loaded.store;
    match action {
        ProfilesCommand::List { group } => {
            list(&store, group.as_deref());
            Ok(())
        }
        ProfilesCommand::Add {
            name,
            url,
            read_only,
            color,
            production,
            group,
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
            profile.group = checked_group(group.as_deref())?;
            profile.ssh = ssh.spec(None)?;
            store.add(profile).map_err(Failure::error)?;
            store.save().map_err(Failure::error)
        }
        ProfilesCommand::Discover { url, add, group } => discover(
            &mut store,
            &url,
            add,
            checked_group(group.as_deref())?.as_deref(),
        ),
        ProfilesCommand::Group { name, group } => {
            let mut profile = store
                .get(&name)
                .cloned()
                .ok_or_else(|| Failure::error(format!("no profile named `{name}`")))?;
            profile.group = checked_group(group.as_deref())?;
            store.update(&name, profile).map_err(Failure::error)?;
            store.save().map_err(Failure::error)
        }
        ProfilesCommand::Remove { name } => {
            let kept = store
                .get(&name)
                .and_then(|p| p.connection.password_source().store());
            store.remove(&name).map_err(Failure::error)?;
            store.save().map_err(Failure::error)?;
            if let Some(kind) = kept {
                super::target::block_on(async {
                    super::secrets::forget(&super::secrets::stores()?, &name, kind).await;
                    Ok(())
                })?;
            }
            Ok(())
        }
        ProfilesCommand::Export {
            file,
            names,
            with_secrets,
            yes,
        } => super::transfer::export(&store, &file, &names, with_secrets, yes),
        ProfilesCommand::Import {
            file,
            from,
            on_conflict,
            secrets,
            dry_run,
        } => super::transfer::import(&mut store, &file, from, on_conflict, secrets, dry_run),
        ProfilesCommand::SetPassword {
            name,
            store: wanted,
        } => set_password(&mut store, &name, wanted),
    }
}

/// `profiles discover`: a DreamFactory instance's cache services, and with `add` their
/// profiles saved (the API key kept as the URL gave it: a variable, or asked for).
fn discover(
    store: &mut ProfileStore,
    url: &str,
    add: bool,
    group: Option<&str>,
) -> Result<(), Failure> {
    use crate::config::connection::ConnectionSpec;
    let url = instance_url(url);
    let (spec, inline_key) = parse_url(&url).map_err(Failure::usage)?;
    let ConnectionSpec::DreamFactory(df) = &spec else {
        return Err(Failure::usage(
            "give a DreamFactory URL: dreamfactory+https://df.example.com?session_token=${VAR}",
        ));
    };
    let key = match (&inline_key, &df.api_key) {
        (Some(key), _) => Some(key.clone()),
        (None, PasswordSource::None) => None,
        (None, _) => spec.resolve_password(None).map_err(Failure::error)?,
    };
    let found = super::target::block_on_value(async {
        Ok(crate::backend::dreamfactory::discover(df, key.as_ref(), None).await?)
    })?;
    if found.is_empty() {
        println!("no cache services");
        return Ok(());
    }
    let key_source = if inline_key.is_some() {
        PasswordSource::Prompt
    } else {
        df.api_key.clone()
    };
    let mut out = std::io::stdout().lock();
    let mut added = 0;
    for service in &found {
        let mut api = service.api.clone();
        api.api_key = key_source.clone();
        let api = ConnectionSpec::DreamFactory(api);
        let _ = writeln!(
            out,
            "{}	{}	{}	{}",
            service.name,
            service.kind,
            api.display_url(),
            service
                .direct
                .as_ref()
                .map_or_else(|| "-".to_owned(), ConnectionSpec::display_url)
        );
        if !add {
            continue;
        }
        let mut profiles = vec![(service.name.clone(), api)];
        if let Some(direct) = &service.direct {
            profiles.push((format!("{} (direct)", service.name), direct.clone()));
        }
        for (name, connection) in profiles {
            if store.get(&name).is_some() {
                eprintln!("cache-console: a profile named `{name}` exists already: left as it is");
                continue;
            }
            let mut profile = Profile::new(name, connection);
            profile.group = group.map(str::to_owned);
            store.add(profile).map_err(Failure::error)?;
            added += 1;
        }
    }
    if add {
        store.save().map_err(Failure::error)?;
        eprintln!("cache-console: {added} profile(s) saved");
    }
    Ok(())
}

/// The URL of an instance's `system` service: `/api/v2/system` added to a URL whose path does
/// not name a service.
fn instance_url(url: &str) -> String {
    let (head, query) = url
        .split_once('?')
        .map_or((url, None), |(h, q)| (h, Some(q)));
    let head = if head.contains("/api/v2/") {
        head.to_owned()
    } else {
        format!("{}/api/v2/system", head.trim_end_matches('/'))
    };
    query.map_or_else(|| head.clone(), |q| format!("{head}?{q}"))
}

/// `profiles list`: one line a profile, the last used first (`group` keeps one group's).
fn list(store: &ProfileStore, group: Option<&str>) {
    let mut out = std::io::stdout().lock();
    for p in crate::config::profiles::last_used_first(store.profiles()) {
        if group.is_some() && p.group.as_deref() != group {
            continue;
        }
        let mut flags = Vec::new();
        if let Some(g) = &p.group {
            flags.push(format!("group {g}"));
        }
        if p.read_only {
            flags.push("read-only".to_owned());
        }
        if p.production {
            flags.push("production".to_owned());
        }
        if let Some(c) = p.color {
            flags.push(c.name().to_owned());
        }
        if let Some(store) = p.connection.password_source().store() {
            flags.push(format!("password in {}", store.describe()));
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
}

/// A group name as typed: none when blank, refused when no profile name could be it.
fn checked_group(group: Option<&str>) -> Result<Option<String>, Failure> {
    crate::config::profiles::group_name(group.unwrap_or_default()).map_err(Failure::usage)
}

/// `profiles set-password`: the password kept in the chosen store first, then the profile
/// changed to read it from there (a failed keep leaves the profile as it was).
fn set_password(
    store: &mut ProfileStore,
    name: &str,
    wanted: PasswordStore,
) -> Result<(), Failure> {
    let mut profile = store
        .get(name)
        .cloned()
        .ok_or_else(|| Failure::error(format!("no profile named `{name}`")))?;
    if matches!(
        profile.connection,
        crate::config::connection::ConnectionSpec::Memcached(_)
            | crate::config::connection::ConnectionSpec::File(_)
    ) {
        return Err(Failure::usage(format!(
            "profile `{name}` has no password to keep (memcached and file caches log in without one)"
        )));
    }
    let before = profile.connection.password_source().store();
    let target = match wanted {
        PasswordStore::Keyring => Some(StoreKind::Keyring),
        PasswordStore::Vault => Some(StoreKind::Vault),
        PasswordStore::Ask => None,
    };
    let secret = match target {
        Some(_) => Some(super::secrets::password_to_keep(name)?),
        None => None,
    };
    super::target::block_on(async {
        let stores = super::secrets::stores()?;
        if let (Some(kind), Some(secret)) = (target, secret) {
            super::secrets::keep(&stores, name, kind, secret).await?;
        }
        if let Some(old) = before.filter(|old| Some(*old) != target) {
            super::secrets::forget(&stores, name, old).await;
        }
        Ok(())
    })?;
    profile
        .connection
        .set_password_source(target.map_or(PasswordSource::Prompt, PasswordSource::stored_in));
    store.update(name, profile).map_err(Failure::error)?;
    store.save().map_err(Failure::error)?;
    eprintln!(
        "cache-console: `{name}`: {}",
        target.map_or_else(
            || "the password is asked for at each connect".to_owned(),
            |k| format!("the password is remembered in {}", k.describe())
        )
    );
    Ok(())
}
