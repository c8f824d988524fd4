//! Where a command connects: a URL or a saved profile, the arguments after it, and the
//! backend opened there (wrapped in the same guard as the app's).

use bytes::Bytes;

use super::{Failure, PASSWORD_ENV};
use crate::backend::{self, CacheBackend, ConnectOptions};
use crate::config::connection::{ConnectionSpec, PasswordSource, Secret, parse_url};
use crate::config::profiles::ProfileStore;
use crate::core::escape::unescape;
use crate::core::model::WriteOutcome;

/// Where to connect, resolved from a URL or a profile name.
pub(super) struct Target {
    pub spec: ConnectionSpec,
    pub password: Option<Secret>,
    pub options: ConnectOptions,
    /// A production profile: bulk deletes ask on the terminal even with `--yes`.
    pub production: bool,
    /// The profile whose password is remembered in a store, read when connecting.
    pub remembered: Option<(String, crate::config::secrets::StoreKind)>,
}

/// The backend key for a key typed on the command line: hashed where the backend stores
/// entries by the hash of their name, unless the user gave a listed hash (`--hashed`).
pub(super) fn backend_key(backend: &dyn CacheBackend, key: Bytes, hashed: bool) -> Bytes {
    if hashed {
        key
    } else {
        backend.capabilities().key_for_name(&key)
    }
}

pub(super) fn parse_key(text: &str) -> Result<Bytes, Failure> {
    unescape(text)
        .map(Bytes::from)
        .map_err(|e| Failure::usage(format!("key `{text}`: {e}")))
}

#[allow(clippy::needless_pass_by_value)] // takes the outcome the write returned, as is
pub(super) fn written(outcome: WriteOutcome) -> Result<(), Failure> {
    match outcome {
        WriteOutcome::Done(_) => Ok(()),
        WriteOutcome::Conflict => Err(Failure::error(
            "the value changed on the server meanwhile; nothing was written",
        )),
        WriteOutcome::TargetExists => Err(Failure::error("the target key exists already")),
    }
}

/// The target (a URL or `--profile`) and the arguments after it, whose number must be in
/// `rest_len`.
pub(super) fn split_target(
    ssh: &super::SshArgs,
    profile: Option<&str>,
    args: &[String],
    rest_len: std::ops::RangeInclusive<usize>,
) -> Result<(Target, Vec<String>), Failure> {
    let (mut target, rest) = if let Some(name) = profile {
        (target_from_profile(name)?, args.to_vec())
    } else {
        let Some((url, rest)) = args.split_first() else {
            return Err(Failure::usage("give a URL or --profile NAME"));
        };
        let (spec, password) = parse_url(url).map_err(Failure::usage)?;
        let options = ConnectOptions {
            read_only: false,
            profile: String::new(),
            audit: crate::config::audit::AuditLog::default_log(),
            ssh: None,
        };
        (
            Target {
                spec,
                password,
                options,
                production: false,
                remembered: None,
            },
            rest.to_vec(),
        )
    };
    let base = target.options.ssh.take().map(|t| t.spec);
    target.options.ssh = ssh.spec(base)?.map(|s| Box::new(super::ssh::target(s)));
    if !rest_len.contains(&rest.len()) {
        return Err(Failure::usage(format!(
            "expected {} argument(s) after the URL or profile, got {}",
            if rest_len.start() == rest_len.end() {
                rest_len.start().to_string()
            } else if *rest_len.end() == usize::MAX {
                format!("at least {}", rest_len.start())
            } else {
                format!("{} to {}", rest_len.start(), rest_len.end())
            },
            rest.len()
        )));
    }
    Ok((target, rest))
}

fn target_from_profile(name: &str) -> Result<Target, Failure> {
    let loaded = ProfileStore::load_default().map_err(Failure::error)?;
    if let Some(warning) = loaded.warning {
        return Err(Failure::error(warning));
    }
    let profile = loaded
        .store
        .get(name)
        .ok_or_else(|| Failure::error(format!("no profile named `{name}`")))?;
    let password = match profile.connection.password_source() {
        PasswordSource::Prompt => {
            Some(std::env::var(PASSWORD_ENV).map(Secret::new).map_err(|_| {
                Failure::error(format!(
                    "profile `{name}` asks for a password: set {PASSWORD_ENV}"
                ))
            })?)
        }
        _ => None,
    };
    Ok(Target {
        spec: profile.connection.clone(),
        password,
        options: crate::backend::ConnectOptions::for_profile(
            profile,
            crate::config::audit::AuditLog::default_log(),
        ),
        production: profile.production,
        remembered: profile
            .connection
            .password_source()
            .store()
            .map(|store| (name.to_owned(), store)),
    })
}

/// Opens the backend of `target`.
pub(super) async fn open(target: &Target) -> Result<Box<dyn CacheBackend>, Failure> {
    let remembered = match &target.remembered {
        Some((profile, store)) if target.password.is_none() => {
            Some(super::secrets::stored_password(profile, *store).await?)
        }
        _ => None,
    };
    let password = target
        .spec
        .resolve_password(remembered.as_ref().or(target.password.as_ref()))
        .map_err(Failure::error)?;
    let mut options = target.options.clone();
    loop {
        match backend::connect(&target.spec, password.as_ref(), &options).await {
            Ok(backend) => return Ok(backend),
            Err(crate::backend::BackendError::Ssh(e)) => {
                let asked = options
                    .ssh
                    .as_mut()
                    .is_some_and(|t| super::ssh::ask_again(&e, t));
                if !asked {
                    return Err(Failure::error(super::ssh::explain(&e)));
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Runs a command's async work to its end.
pub(super) fn block_on(future: impl Future<Output = Result<(), Failure>>) -> Result<(), Failure> {
    block_on_value(future)
}

/// Runs async work to its end and hands back what it made.
pub(super) fn block_on_value<T>(
    future: impl Future<Output = Result<T, Failure>>,
) -> Result<T, Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::error(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(future)
}
