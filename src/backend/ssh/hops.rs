//! The hosts a tunnel goes through, with `~/.ssh/config` applied: a `Host` alias's
//! `HostName`, `User`, `Port`, `IdentityFile`, `ProxyJump` and `UserKnownHostsFile`, first
//! value wins as in `ssh_config(5)`. Parsed by `ssh2-config` (global options, `Match`/`Host`
//! scopes, `Include`, `Key=value` forms), read here with a size limit.

use std::path::{Path, PathBuf};

use super::SshError;
use crate::config::connection::{SshHop, SshSpec};

/// The largest ssh config file read.
const MAX_CONFIG_BYTES: u64 = 1 << 20;
/// Jump chains longer than this are a loop in the config, not a network.
const MAX_HOPS: usize = 8;

/// One SSH host to log in to, fully resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    /// The host name or address connected to (and looked up in `known_hosts`).
    pub host: String,
    /// Port.
    pub port: u16,
    /// Login name.
    pub user: String,
    /// Key files the config names for this host (tried in `Auto` mode).
    pub identity_files: Vec<PathBuf>,
}

impl Hop {
    /// `user@host:port`, for messages.
    #[must_use]
    pub fn label(&self) -> String {
        if self.port == 22 {
            format!("{}@{}", self.user, self.host)
        } else {
            format!("{}@{}:{}", self.user, self.host, self.port)
        }
    }
}

/// The whole way: jump hosts first, the bastion last, and the known-hosts file to check them
/// all against.
#[derive(Debug, Clone)]
pub struct Route {
    /// Hosts in the order they are logged in to.
    pub hops: Vec<Hop>,
    /// The known-hosts file.
    pub known_hosts: PathBuf,
}

fn home() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf())
}

fn local_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "root".to_owned())
}

fn read_config(path: &Path) -> Result<Option<ssh2_config::SshConfig>, SshError> {
    use std::io::Read as _;
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(SshError::Config(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    };
    let mut text = Vec::new();
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut text)
        .map_err(|e| SshError::Config(format!("cannot read {}: {e}", path.display())))?;
    if text.len() as u64 > MAX_CONFIG_BYTES {
        return Err(SshError::Config(format!(
            "{} is larger than 1 MiB: not read",
            path.display()
        )));
    }
    let rules = ssh2_config::ParseRule::ALLOW_UNKNOWN_FIELDS
        | ssh2_config::ParseRule::ALLOW_UNSUPPORTED_FIELDS;
    let mut config = ssh2_config::SshConfig::default();
    if let Some(home) = home() {
        config = config.home_dir(home);
    }
    config
        .parse(&mut std::io::Cursor::new(text), rules)
        .map(Some)
        .map_err(|e| SshError::Config(format!("{}: {e}", path.display())))
}

/// Resolves the spec's hosts through the ssh config (the spec's own settings win).
///
/// # Errors
/// The config cannot be read or parsed, a `ProxyJump` entry is not `user@host:port`, or the
/// jumps loop.
pub fn resolve(spec: &SshSpec) -> Result<Route, SshError> {
    if spec.hop.host.trim().is_empty() {
        return Err(SshError::Config("the SSH host is empty".to_owned()));
    }
    let config_path = spec
        .config_file
        .clone()
        .or_else(|| home().map(|h| h.join(".ssh").join("config")));
    let config = match &config_path {
        Some(path) => read_config(path)?,
        None => None,
    };
    let params = |host: &str| config.as_ref().map(|c| c.query(host));
    let target_params = params(&spec.hop.host);
    let resolve_one = |hop: &SshHop| -> Hop {
        let p = params(&hop.host);
        Hop {
            host: p
                .as_ref()
                .and_then(|p| p.host_name.clone())
                .unwrap_or_else(|| hop.host.clone()),
            port: hop
                .port
                .or_else(|| p.as_ref().and_then(|p| p.port))
                .unwrap_or(22),
            user: hop
                .user
                .clone()
                .or_else(|| p.as_ref().and_then(|p| p.user.clone()))
                .unwrap_or_else(local_user),
            identity_files: p.and_then(|p| p.identity_file).unwrap_or_default(),
        }
    };
    // The jump hosts: the spec's, or the config's ProxyJump (followed through the jump hosts'
    // own ProxyJump, as ssh does).
    let mut chain: Vec<SshHop> = spec.jumps.clone();
    if chain.is_empty() {
        let mut next = proxy_jumps(target_params.as_ref())?;
        while !next.is_empty() {
            if chain.len() + next.len() > MAX_HOPS {
                return Err(SshError::Config(format!(
                    "more than {MAX_HOPS} jump hosts: the ProxyJump settings in {} loop",
                    config_path.as_deref().unwrap_or(Path::new("")).display()
                )));
            }
            let first = next[0].host.clone();
            chain.splice(0..0, next);
            next = proxy_jumps(params(&first).as_ref())?;
        }
    }
    let mut hops: Vec<Hop> = chain.iter().map(resolve_one).collect();
    hops.push(resolve_one(&spec.hop));
    let known_hosts = spec
        .known_hosts
        .clone()
        .or_else(|| {
            target_params
                .as_ref()
                .and_then(|p| p.unsupported_fields.get("userknownhostsfile"))
                .and_then(|files| files.first())
                .map(|file| super::expand_home(Path::new(file)))
        })
        .or_else(|| home().map(|h| h.join(".ssh").join("known_hosts")))
        .ok_or_else(|| {
            SshError::Config(
                "no home directory to find ~/.ssh/known_hosts in: name the known-hosts file"
                    .to_owned(),
            )
        })?;
    Ok(Route { hops, known_hosts })
}

fn proxy_jumps(params: Option<&ssh2_config::HostParams>) -> Result<Vec<SshHop>, SshError> {
    let Some(list) = params.and_then(|p| p.proxy_jump.clone()) else {
        return Ok(Vec::new());
    };
    if list.iter().any(|j| j.eq_ignore_ascii_case("none")) {
        return Ok(Vec::new());
    }
    list.iter()
        .map(|j| {
            let j = j.strip_prefix("ssh://").unwrap_or(j);
            SshHop::parse(j).map_err(|e| SshError::Config(format!("ProxyJump {e}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::resolve;
    use crate::config::connection::{SshHop, SshSpec};

    fn spec(host: &str, config: &std::path::Path) -> SshSpec {
        SshSpec {
            hop: SshHop::parse(host).expect("hop"),
            config_file: Some(config.to_path_buf()),
            known_hosts: Some("/kh".into()),
            ..SshSpec::default()
        }
    }

    #[test]
    fn aliases_apply_host_name_user_port_keys_and_jumps() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("config");
        std::fs::write(
            &config,
            "ServerAliveInterval 30\n\
             Host prod-cache\n  HostName 10.0.0.5\n  User=ops\n  Port 2222\n  \
             IdentityFile /keys/prod\n  ProxyJump gate\n\
             Host gate\n  HostName gate.example.com\n  User jump\n  ProxyJump outer:2200\n\
             Host *\n  User nobody-else\n",
        )
        .expect("write");
        let route = resolve(&spec("prod-cache", &config)).expect("resolve");
        let labels: Vec<String> = route.hops.iter().map(super::Hop::label).collect();
        assert_eq!(
            labels,
            [
                "nobody-else@outer:2200",
                "jump@gate.example.com",
                "ops@10.0.0.5:2222"
            ]
        );
        assert_eq!(
            route.hops[2].identity_files,
            [std::path::PathBuf::from("/keys/prod")]
        );
        // What the profile says wins over the config.
        let route = resolve(&spec("root@prod-cache:22", &config)).expect("resolve");
        assert_eq!(
            route.hops.last().map(super::Hop::label).as_deref(),
            Some("root@10.0.0.5")
        );
    }

    #[test]
    fn a_missing_config_is_no_config_and_loops_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let route = resolve(&spec("u@plain:2200", &dir.path().join("none"))).expect("resolve");
        assert_eq!(route.hops.len(), 1);
        assert_eq!(route.hops[0].label(), "u@plain:2200");
        let config = dir.path().join("config");
        std::fs::write(&config, "Host a\n ProxyJump b\nHost b\n ProxyJump a\n").expect("write");
        let e = resolve(&spec("a", &config)).expect_err("a loop");
        assert!(e.to_string().contains("loop"), "{e}");
    }
}
