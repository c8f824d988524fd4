//! SSH tunnel settings a profile keeps: the bastion, how to log in there, the jump hosts on
//! the way, and where host keys are checked. No secret is kept here: a key passphrase or an
//! SSH password is asked for (or read from an environment variable) when connecting.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::PasswordSource;

/// One SSH host on the way: `user@host:port`, or a `Host` alias of `~/.ssh/config` (whose
/// `HostName`, `User`, `Port`, `IdentityFile` and `ProxyJump` then apply).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SshHop {
    /// Host name, address or `~/.ssh/config` alias.
    pub host: String,
    /// Port; the alias's or 22 when `None`.
    pub port: Option<u16>,
    /// Login name; the alias's or the local user's when `None`.
    pub user: Option<String>,
}

impl SshHop {
    /// Reads `[user@]host[:port]` (`[v6]:port` for an IPv6 address).
    ///
    /// # Errors
    /// The text is empty, the port is not a number, or the host holds characters no host
    /// name has.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (user, rest) = match text.rsplit_once('@') {
            Some((user, rest)) if !user.is_empty() => (Some(user.to_owned()), rest),
            Some(_) => return Err(format!("`{text}`: the user name before `@` is empty")),
            None => (None, text),
        };
        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| format!("`{text}`: `[` without `]`"))?;
            let port = match after.strip_prefix(':') {
                Some(p) => Some(parse_port(text, p)?),
                None if after.is_empty() => None,
                None => return Err(format!("`{text}`: expected `:port` after `]`")),
            };
            (host.to_owned(), port)
        } else {
            match rest.rsplit_once(':') {
                Some((host, p)) => (host.to_owned(), Some(parse_port(text, p)?)),
                None => (rest.to_owned(), None),
            }
        };
        let valid = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':'));
        if !valid {
            return Err(format!("`{text}` is not `user@host:port`"));
        }
        if user
            .as_deref()
            .is_some_and(|u| u.bytes().any(|b| b.is_ascii_whitespace() || b == b':'))
        {
            return Err(format!("`{text}`: the user name holds a space or `:`"));
        }
        Ok(Self { host, port, user })
    }
}

fn parse_port(text: &str, port: &str) -> Result<u16, String> {
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(format!("`{text}`: `{port}` is not a port number")),
    }
}

impl fmt::Display for SshHop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(user) = &self.user {
            write!(f, "{user}@")?;
        }
        if self.host.contains(':') {
            write!(f, "[{}]", self.host)?;
        } else {
            f.write_str(&self.host)?;
        }
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

/// How the console logs in to the SSH hosts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SshAuth {
    /// As `ssh` does: the agent's keys, then the alias's `IdentityFile`s, then the usual
    /// `~/.ssh/id_ed25519`, `id_ecdsa`, `id_rsa`.
    #[default]
    Auto,
    /// Only the keys the SSH agent (`SSH_AUTH_SOCK`) holds.
    Agent,
    /// This private key file (OpenSSH or PEM; its passphrase is asked for when it has one).
    Key(PathBuf),
    /// A password, asked for or read from an environment variable.
    Password(PasswordSource),
}

/// An SSH tunnel: every connection of the profile goes through `host` (after the jump hosts),
/// and the cache's addresses are reached from there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SshSpec {
    /// The bastion the cache is reached from.
    pub hop: SshHop,
    /// Hosts to go through first, in order (as `ssh -J`).
    pub jumps: Vec<SshHop>,
    /// How to log in.
    pub auth: SshAuth,
    /// The known-hosts file; `~/.ssh/known_hosts` when `None`.
    pub known_hosts: Option<PathBuf>,
    /// Trust (and record) a host key never seen before without asking.
    pub accept_new: bool,
    /// The ssh config file whose `Host` aliases apply; `~/.ssh/config` when `None`.
    pub config_file: Option<PathBuf>,
    /// Where an encrypted key file's passphrase is remembered (`None`: asked when needed).
    #[serde(skip_serializing_if = "is_none_source")]
    pub passphrase: PasswordSource,
}

fn is_none_source(source: &PasswordSource) -> bool {
    *source == PasswordSource::None
}

impl Default for SshSpec {
    fn default() -> Self {
        Self {
            hop: SshHop {
                host: String::new(),
                port: None,
                user: None,
            },
            jumps: Vec::new(),
            auth: SshAuth::Auto,
            known_hosts: None,
            accept_new: false,
            config_file: None,
            passphrase: PasswordSource::None,
        }
    }
}

impl SshSpec {
    /// `via user@bastion:22 (jump j1)`: how messages and the profile list name the tunnel.
    #[must_use]
    pub fn label(&self) -> String {
        if self.jumps.is_empty() {
            format!("via ssh {}", self.hop)
        } else {
            let jumps: Vec<String> = self.jumps.iter().map(ToString::to_string).collect();
            format!("via ssh {} (jump {})", self.hop, jumps.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SshHop;

    #[test]
    fn hops_parse_and_print_back() {
        for text in [
            "bastion",
            "ops@bastion",
            "ops@bastion.example.com:2222",
            "10.0.0.1:22",
            "u@[::1]:2200",
            "my-alias",
        ] {
            let hop = SshHop::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(hop.to_string(), text);
        }
        let hop = SshHop::parse("a.b@host:22").expect("dots in user names");
        assert_eq!(hop.user.as_deref(), Some("a.b"));
        assert_eq!(hop.port, Some(22));
    }

    #[test]
    fn bad_hops_say_why() {
        for (text, needle) in [
            ("", "is not"),
            ("@host", "user name"),
            ("host:0", "port"),
            ("host:99999", "port"),
            ("host:x", "port"),
            ("ho st", "is not"),
            ("[::1", "without"),
        ] {
            let e = SshHop::parse(text).expect_err(text);
            assert!(e.contains(needle), "{text}: {e}");
        }
    }
}
