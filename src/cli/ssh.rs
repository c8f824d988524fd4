//! `--ssh` and its companions: the tunnel settings on the command line (over a profile's own),
//! the secrets from environment variables, and the host-key question asked on a terminal
//! (refused with the fingerprint when there is none, unless `--ssh-accept-new`).

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::PathBuf;

use clap::Args;

use super::Failure;
use crate::backend::ssh::{SshError, SshSecrets, SshTarget};
use crate::config::connection::{PasswordSource, Secret, SshAuth, SshHop, SshSpec};

/// Environment variable the CLI reads an SSH password from (`--ssh-password`).
pub const SSH_PASSWORD_ENV: &str = "CACHE_CONSOLE_SSH_PASSWORD";
/// Environment variable the CLI reads an encrypted key's passphrase from.
pub const SSH_PASSPHRASE_ENV: &str = "CACHE_CONSOLE_SSH_PASSPHRASE";

/// SSH tunnel options, taken by every command that connects.
#[derive(Debug, Clone, Default, Args)]
pub struct SshArgs {
    /// Reach the cache through this SSH host: `user@host[:port]`, or a `Host` alias of
    /// ~/.ssh/config. Addresses in the URL are then as that host sees them.
    #[arg(long, global = true, value_name = "USER@HOST[:PORT]")]
    pub ssh: Option<String>,
    /// Log in with this private key (OpenSSH or PEM; a passphrase is read from
    /// `CACHE_CONSOLE_SSH_PASSPHRASE`). Without it, as ssh does: the agent, then the usual keys.
    #[arg(long = "ssh-key", global = true, value_name = "FILE")]
    pub ssh_key: Option<PathBuf>,
    /// Log in only with the keys of the SSH agent (`SSH_AUTH_SOCK`).
    #[arg(long = "ssh-agent", global = true, conflicts_with_all = ["ssh_key", "ssh_password"])]
    pub ssh_agent: bool,
    /// Log in with a password, read from `CACHE_CONSOLE_SSH_PASSWORD`.
    #[arg(long = "ssh-password", global = true, conflicts_with = "ssh_key")]
    pub ssh_password: bool,
    /// Check host keys against this file (default ~/.`ssh/known_hosts`).
    #[arg(long = "ssh-known-hosts", global = true, value_name = "FILE")]
    pub ssh_known_hosts: Option<PathBuf>,
    /// Go through this host first (repeat for several, in order), as `ssh -J`.
    #[arg(long = "ssh-jump", global = true, value_name = "USER@HOST[:PORT]")]
    pub ssh_jump: Vec<String>,
    /// Trust and record a host key never seen before (a changed key is refused all the same).
    #[arg(long = "ssh-accept-new", global = true)]
    pub ssh_accept_new: bool,
    /// The ssh config file for host aliases (default ~/.ssh/config).
    #[arg(long = "ssh-config", global = true, value_name = "FILE")]
    pub ssh_config: Option<PathBuf>,
}

impl SshArgs {
    fn any_detail(&self) -> bool {
        self.ssh_key.is_some()
            || self.ssh_agent
            || self.ssh_password
            || self.ssh_known_hosts.is_some()
            || !self.ssh_jump.is_empty()
            || self.ssh_accept_new
            || self.ssh_config.is_some()
    }

    /// The tunnel: these options over `base` (a profile's), or `None` when neither has one.
    ///
    /// # Errors
    /// A host is not `user@host:port`, or an `--ssh-*` option comes without a tunnel.
    pub fn spec(&self, base: Option<SshSpec>) -> Result<Option<SshSpec>, Failure> {
        let mut spec = match (&self.ssh, base) {
            (Some(host), _) => SshSpec {
                hop: SshHop::parse(host).map_err(|e| Failure::usage(format!("--ssh {e}")))?,
                ..SshSpec::default()
            },
            (None, Some(base)) => base,
            (None, None) if self.any_detail() => {
                return Err(Failure::usage(
                    "the --ssh-* options need --ssh USER@HOST (or a profile with a tunnel)",
                ));
            }
            (None, None) => return Ok(None),
        };
        if let Some(key) = &self.ssh_key {
            spec.auth = SshAuth::Key(key.clone());
        }
        if self.ssh_agent {
            spec.auth = SshAuth::Agent;
        }
        if self.ssh_password {
            spec.auth = SshAuth::Password(PasswordSource::Prompt);
        }
        if let Some(file) = &self.ssh_known_hosts {
            spec.known_hosts = Some(file.clone());
        }
        if !self.ssh_jump.is_empty() {
            spec.jumps = self
                .ssh_jump
                .iter()
                .map(|j| SshHop::parse(j).map_err(|e| Failure::usage(format!("--ssh-jump {e}"))))
                .collect::<Result<_, _>>()?;
        }
        if self.ssh_accept_new {
            spec.accept_new = true;
        }
        if let Some(file) = &self.ssh_config {
            spec.config_file = Some(file.clone());
        }
        Ok(Some(spec))
    }
}

/// The tunnel with the secrets the environment holds.
#[must_use]
pub fn target(spec: SshSpec) -> SshTarget {
    let env = |name: &str| std::env::var(name).ok().map(Secret::new);
    SshTarget {
        secrets: SshSecrets {
            passphrase: env(SSH_PASSPHRASE_ENV),
            password: match spec.auth {
                SshAuth::Password(PasswordSource::Prompt) => env(SSH_PASSWORD_ENV),
                _ => None,
            },
            trusted: Vec::new(),
        },
        spec,
    }
}

/// Says what an SSH error needs on the command line, and asks on a terminal whether to trust
/// a new host key: `true` when the user said yes (the key is added to `target`'s trusted).
pub fn ask_again(error: &SshError, target: &mut SshTarget) -> bool {
    let SshError::UnknownHostKey {
        host,
        algorithm,
        fingerprint,
        known_hosts,
    } = error
    else {
        return false;
    };
    if !std::io::stdin().is_terminal() {
        return false;
    }
    let mut err = std::io::stderr().lock();
    let _ = write!(
        err,
        "The authenticity of SSH host {host} can't be established.\n{algorithm} key fingerprint \
         is {fingerprint}.\nTrust it and record it in {known_hosts}? Type yes to go on: "
    );
    let _ = err.flush();
    let mut answer = String::new();
    // One line, at most a few bytes kept: it is a yes or no.
    let _ = std::io::stdin().lock().read_line(&mut answer);
    if answer.trim().eq_ignore_ascii_case("yes") {
        target
            .secrets
            .trusted
            .push((host.clone(), fingerprint.clone()));
        true
    } else {
        false
    }
}

/// The CLI's message for an SSH error: the error, and where a secret comes from here.
#[must_use]
pub fn explain(error: &SshError) -> String {
    match error {
        SshError::PassphraseNeeded { .. } | SshError::WrongPassphrase { .. } => {
            format!("{error} (the command line reads it from {SSH_PASSPHRASE_ENV})")
        }
        SshError::PasswordNeeded { .. } => {
            format!("{error} (the command line reads it from {SSH_PASSWORD_ENV})")
        }
        _ => error.to_string(),
    }
}
