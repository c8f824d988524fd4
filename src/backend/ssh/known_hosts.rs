//! Host keys checked against an OpenSSH `known_hosts` file, and new ones recorded there.
//!
//! Lines are parsed by `ssh-key` (markers, hashed names, every key type). The matching is
//! written here because russh's own `check_known_hosts` reads the file without a size limit,
//! fails the whole check on one line it cannot parse (OpenSSH skips such lines), splits only on
//! single spaces, knows no wildcard patterns, negations or `@revoked`, and counts lines wrongly
//! after a comment (so the line it names for a changed key is off).

use std::io::{Read as _, Write as _};
use std::path::Path;

use hmac::{KeyInit as _, Mac as _};
pub use russh::keys::ssh_key::known_hosts::Entry;
use russh::keys::ssh_key::known_hosts::{HostPatterns, Marker};
use russh::keys::{HashAlg, PublicKey};

/// The largest known-hosts file read (a real one is a few hundred KiB at most).
const MAX_FILE_BYTES: u64 = 16 << 20;

/// What the file says about a host's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The key is recorded for this host.
    Known,
    /// No key of this host is recorded.
    Unknown,
    /// Other keys are recorded for this host, none of them this one: the first one's line.
    Changed {
        /// 1-based line of a recorded key.
        line: usize,
    },
    /// The key is marked `@revoked`.
    Revoked {
        /// 1-based line of the mark.
        line: usize,
    },
}

/// The name a host is recorded under: `host`, or `[host]:port` off port 22.
#[must_use]
pub fn host_name(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_owned()
    } else {
        format!("[{host}]:{port}")
    }
}

/// The key's fingerprint as `ssh-keygen -l` prints it (`SHA256:…`).
#[must_use]
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// The recorded keys of a host with their lines (`@cert-authority` lines left out: this
/// client checks plain host keys).
///
/// # Errors
/// The file exists but cannot be read, or is larger than 16 MiB.
pub fn recorded(path: &Path, host: &str, port: u16) -> std::io::Result<Vec<(usize, Entry)>> {
    let text = match read_bounded(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let name = host_name(host, port);
    let mut found = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // ssh-key splits fields on one space; tabs and runs of spaces are legal here.
        let normalised = line.split_whitespace().collect::<Vec<_>>().join(" ");
        // A line that does not parse is skipped, as OpenSSH does.
        let Ok(entry) = normalised.parse::<Entry>() else {
            continue;
        };
        if entry.marker() == Some(&Marker::CertAuthority) {
            continue;
        }
        if matches_host(entry.host_patterns(), &name) {
            found.push((index + 1, entry));
        }
    }
    Ok(found)
}

/// Checks `key` as the key of `host:port`.
///
/// # Errors
/// The file cannot be read.
pub fn check(path: &Path, host: &str, port: u16, key: &PublicKey) -> std::io::Result<Verdict> {
    Ok(judge(&recorded(path, host, port)?, key))
}

/// What the recorded entries of a host ([`recorded`]) say about `key`.
#[must_use]
pub fn judge(entries: &[(usize, Entry)], key: &PublicKey) -> Verdict {
    if let Some((line, _)) = entries
        .iter()
        .find(|(_, e)| e.marker() == Some(&Marker::Revoked) && same_key(e.public_key(), key))
    {
        return Verdict::Revoked { line: *line };
    }
    let mut first_other = None;
    for (line, entry) in entries.iter().filter(|(_, e)| e.marker().is_none()) {
        if same_key(entry.public_key(), key) {
            return Verdict::Known;
        }
        first_other.get_or_insert(*line);
    }
    first_other.map_or(Verdict::Unknown, |line| Verdict::Changed { line })
}

fn same_key(a: &PublicKey, b: &PublicKey) -> bool {
    a.key_data() == b.key_data()
}

/// Whether a line's hosts field names `name` (`host` or `[host]:port`): hashed names, `*` and
/// `?` wildcards, and `!` negations, as in `sshd(8)`.
fn matches_host(patterns: &HostPatterns, name: &str) -> bool {
    match patterns {
        HostPatterns::HashedName { salt, hash } => {
            let Ok(mac) = hmac::Hmac::<sha1::Sha1>::new_from_slice(salt) else {
                return false;
            };
            mac.chain_update(name.as_bytes()).verify_slice(hash).is_ok()
        }
        HostPatterns::Patterns(list) => {
            let mut matched = false;
            for pattern in list {
                let (negated, pattern) = match pattern.strip_prefix('!') {
                    Some(p) => (true, p),
                    None => (false, pattern.as_str()),
                };
                if wildcard(pattern.as_bytes(), name.as_bytes()) {
                    if negated {
                        return false;
                    }
                    matched = true;
                }
            }
            matched
        }
    }
}

/// OpenSSH's pattern rule: `*` any run of characters, `?` one, everything else (`[`, `]`
/// included: `[host]:port` is literal) itself; host names compare without regard to case.
/// Backtracks to the last `*` only, so time stays proportional to the two lengths' product.
fn wildcard(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(&c) if c == b'?' || c.eq_ignore_ascii_case(&name[n]) => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    p = sp + 1;
                    n = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p.min(pattern.len())..].iter().all(|&c| c == b'*')
}

fn read_bounded(path: &Path) -> std::io::Result<String> {
    let file = std::fs::File::open(path)?;
    let mut text = String::new();
    file.take(MAX_FILE_BYTES + 1).read_to_string(&mut text)?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "it is larger than 16 MiB: not a known-hosts file",
        ));
    }
    Ok(text)
}

/// Records `key` for `host:port` at the end of the file, under a hashed name (as OpenSSH's
/// `HashKnownHosts yes` writes it, so the file does not list where the user goes). A missing
/// file is made private (0600, its directory 0700); an existing one keeps its owner and mode,
/// and a symlink in its place is refused rather than written through.
///
/// # Errors
/// The file cannot be written.
pub fn learn(path: &Path, host: &str, port: u16, key: &PublicKey) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.exists()
    {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let mut salt = [0u8; 20];
    getrandom::fill(&mut salt).map_err(|e| std::io::Error::other(e.to_string()))?;
    let name = host_name(host, port);
    let mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(&salt)
        .map_err(|e| std::io::Error::other(e.to_string()))?
        .chain_update(name.as_bytes())
        .finalize()
        .into_bytes();
    let hash: [u8; 20] = mac
        .as_slice()
        .try_into()
        .map_err(|_| std::io::Error::other("SHA-1 gave no 20 bytes"))?;
    let patterns = HostPatterns::HashedName {
        salt: salt.to_vec(),
        hash,
    };
    let key_text = key
        .to_openssh()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits().cast_signed())
        .open(path)?;
    let ends_in_newline = {
        let mut text = Vec::new();
        let len = file.metadata()?.len();
        if len > 0 {
            use std::io::Seek as _;
            file.seek(std::io::SeekFrom::Start(len - 1))?;
            file.read_to_end(&mut text)?;
        }
        text.is_empty() || text.ends_with(b"\n")
    };
    let line = format!(
        "{}{} {key_text}\n",
        if ends_in_newline { "" } else { "\n" },
        patterns.to_string()
    );
    file.write_all(line.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::{Verdict, check, fingerprint, host_name, learn};
    use russh::keys::PublicKey;

    const KEY_A: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ";
    const KEY_B: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA6rWI3G1sz07DnfFlrouTcysQlj2P+jpNSOEWD9OJ3X";

    fn key(text: &str) -> PublicKey {
        PublicKey::from_openssh(text).expect("a test key")
    }

    #[test]
    fn plain_wildcard_negated_and_broken_lines() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("known_hosts");
        std::fs::write(
            &path,
            format!(
                "# a comment\n\
                 this line is not a key\n\
                 [bastion]:2222\t{KEY_A}\n\
                 *.example.com,!evil.example.com {KEY_A} comment here\n\
                 other {KEY_B}\n"
            ),
        )
        .expect("write");
        assert_eq!(
            check(&path, "bastion", 2222, &key(KEY_A)).ok(),
            Some(Verdict::Known)
        );
        assert_eq!(
            check(&path, "bastion", 2222, &key(KEY_B)).ok(),
            Some(Verdict::Changed { line: 3 })
        );
        assert_eq!(
            check(&path, "bastion", 22, &key(KEY_A)).ok(),
            Some(Verdict::Unknown)
        );
        assert_eq!(
            check(&path, "db.example.com", 22, &key(KEY_A)).ok(),
            Some(Verdict::Known)
        );
        assert_eq!(
            check(&path, "evil.example.com", 22, &key(KEY_A)).ok(),
            Some(Verdict::Unknown)
        );
        assert_eq!(
            check(&dir.path().join("missing"), "x", 22, &key(KEY_A)).ok(),
            Some(Verdict::Unknown)
        );
    }

    #[test]
    fn learned_keys_are_hashed_and_found_again() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ssh").join("known_hosts");
        learn(&path, "10.1.2.3", 2200, &key(KEY_A)).expect("learn");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.starts_with("|1|"), "{text}");
        assert!(!text.contains("10.1.2.3"), "{text}");
        assert_eq!(
            check(&path, "10.1.2.3", 2200, &key(KEY_A)).ok(),
            Some(Verdict::Known)
        );
        assert_eq!(
            check(&path, "10.1.2.3", 2200, &key(KEY_B)).ok(),
            Some(Verdict::Changed { line: 1 })
        );
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // A file without a final newline gets one before the new line.
        std::fs::write(&path, format!("old {KEY_B}")).expect("write");
        learn(&path, "new", 22, &key(KEY_A)).expect("learn");
        assert_eq!(
            check(&path, "old", 22, &key(KEY_B)).ok(),
            Some(Verdict::Known)
        );
        assert_eq!(
            check(&path, "new", 22, &key(KEY_A)).ok(),
            Some(Verdict::Known)
        );
    }

    #[test]
    fn revoked_keys_and_symlinks_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("known_hosts");
        std::fs::write(&path, format!("@revoked * {KEY_A}\nhost {KEY_A}\n")).expect("write");
        assert_eq!(
            check(&path, "host", 22, &key(KEY_A)).ok(),
            Some(Verdict::Revoked { line: 1 })
        );
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&path, &link).expect("symlink");
        assert!(learn(&link, "h", 22, &key(KEY_B)).is_err());
    }

    #[test]
    fn wildcards_follow_openssh() {
        use super::wildcard;
        assert!(wildcard(b"[h]:22", b"[h]:22"));
        assert!(wildcard(b"*.EXAMPLE.com", b"db.example.com"));
        assert!(wildcard(b"10.0.0.?", b"10.0.0.7"));
        assert!(!wildcard(b"10.0.0.?", b"10.0.0.17"));
        assert!(wildcard(b"a*b*c", b"axxbyyc"));
        assert!(!wildcard(b"a*b*c", b"axxbyy"));
    }

    #[test]
    fn names_and_fingerprints_read_as_openssh_prints_them() {
        assert_eq!(host_name("h", 22), "h");
        assert_eq!(host_name("h", 2222), "[h]:2222");
        assert!(fingerprint(&key(KEY_A)).starts_with("SHA256:"));
    }
}
