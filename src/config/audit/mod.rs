//! The audit log: one JSON line per write or destructive action, in the app's data directory.
//!
//! It names the action, the keys or pattern, how many were affected, the profile and the time.
//! It never holds a value or a secret.

use std::io::{BufRead as _, Read as _, Write as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

mod query;

pub use query::{AuditFilter, EXPORT_MAX, ExportFormat, Since, export, parse_when};

/// Environment variable that overrides where the audit log (and other app data) is kept.
pub const DATA_DIR_ENV: &str = "CACHE_CONSOLE_DATA_DIR";
const FILE_NAME: &str = "audit.jsonl";
/// The longest audit line read back.
const MAX_LINE_BYTES: u64 = 64 << 10;
/// Most key names written into one entry; the count says how many there were in all.
pub const KEYS_PER_ENTRY: usize = 20;

/// One audited action.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When, as RFC 3339 UTC.
    pub time: String,
    /// The profile used (or `(url)` for a URL given on the command line).
    pub profile: String,
    /// Where, as a URL without any password.
    pub target: String,
    /// What (`set`, `delete`, `delete-pattern`, `flushdb`, …).
    pub action: String,
    /// Keys involved, in escaped form, at most [`KEYS_PER_ENTRY`].
    pub keys: Vec<String>,
    /// How many keys were involved in all.
    pub key_count: u64,
    /// The pattern of a delete by pattern.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// How many keys, fields or members were changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affected: Option<u64>,
    /// What else the action was aimed at (the client a kill was for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The database it acted on (Redis).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db: Option<u32>,
    /// The one server of a pool it acted on (a memcached flush aimed at one server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// A TTL change: the TTL before (`none`, `15 minutes`; `unknown` when it could not be read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_before: Option<String>,
    /// A TTL change: the TTL asked for (`none`, `15 minutes`, or a UTC date-time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_after: Option<String>,
    /// `ok`, `conflict`, `target exists`, `cancelled` or `error: …`.
    pub outcome: String,
}

/// Where the audit log lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditLog {
    path: PathBuf,
}

/// The app's data directory: `$CACHE_CONSOLE_DATA_DIR` or the platform default.
#[must_use]
pub fn data_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(DATA_DIR_ENV).filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("dev", "cache-console", "cache-console")
        .map(|dirs| dirs.data_dir().to_path_buf())
}

impl AuditLog {
    /// The log in `dir`.
    #[must_use]
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            path: dir.join(FILE_NAME),
        }
    }

    /// The log in the app's data directory, if one is known.
    #[must_use]
    pub fn default_log() -> Option<Self> {
        data_dir().map(|d| Self::in_dir(&d))
    }

    /// The file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Checks that entries can be appended (creating the directory and file when missing),
    /// without writing anything.
    ///
    /// # Errors
    /// The directory or file cannot be written.
    pub fn check_writable(&self) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map(drop)
    }

    /// Appends one entry as a single line.
    ///
    /// # Errors
    /// The directory or file cannot be written.
    pub fn append(&self, entry: &AuditEntry) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut line = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
        line.push(b'\n');
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        // One write per line, so concurrent writers (GUI and CLI) never interleave a line.
        file.write_all(&line)
    }

    /// The newest `limit` entries, newest first. Damaged lines are skipped.
    ///
    /// # Errors
    /// The file exists but cannot be read.
    pub fn recent(&self, limit: usize) -> std::io::Result<Vec<AuditEntry>> {
        Ok(self.read(&AuditFilter::default(), limit)?.entries)
    }

    /// The newest `limit` entries `filter` matches, newest first, how many match in all,
    /// and the profiles and actions the whole log names (for the filter's choices).
    ///
    /// # Errors
    /// The file exists but cannot be read.
    pub fn read(&self, filter: &AuditFilter, limit: usize) -> std::io::Result<AuditRead> {
        let mut read = AuditRead::default();
        let file = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(read),
            Err(e) => return Err(e),
        };
        let mut entries: std::collections::VecDeque<AuditEntry> =
            std::collections::VecDeque::with_capacity(limit.min(4096));
        let mut reader = std::io::BufReader::new(file);
        let mut line = Vec::new();
        loop {
            // An entry is far below 64 KiB: a longer line (a damaged file) is skipped, not read
            // into memory whole.
            line.clear();
            let n = (&mut reader)
                .take(MAX_LINE_BYTES)
                .read_until(b'\n', &mut line)?;
            if n == 0 {
                break;
            }
            if !line.ends_with(b"\n") && n as u64 == MAX_LINE_BYTES {
                reader.skip_until(b'\n')?;
                continue;
            }
            let Ok(entry) = serde_json::from_slice::<AuditEntry>(&line) else {
                continue;
            };
            for (names, name) in [
                (&mut read.profiles, &entry.profile),
                (&mut read.actions, &entry.action),
            ] {
                if names.len() < MAX_CHOICES && !names.contains(name) {
                    names.insert(name.clone());
                }
            }
            if !filter.matches(&entry) {
                continue;
            }
            read.matching += 1;
            if limit == 0 {
                continue;
            }
            if entries.len() == limit {
                entries.pop_front();
            }
            entries.push_back(entry);
        }
        read.entries = entries.into_iter().rev().collect();
        Ok(read)
    }
}

/// Distinct profiles or actions offered as filter choices at most.
const MAX_CHOICES: usize = 200;

/// What a read of the audit log found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditRead {
    /// The newest matching entries, newest first.
    pub entries: Vec<AuditEntry>,
    /// How many entries match in all.
    pub matching: u64,
    /// The profiles the log names.
    pub profiles: std::collections::BTreeSet<String>,
    /// The actions the log names.
    pub actions: std::collections::BTreeSet<String>,
}

/// The current time as RFC 3339 UTC, seconds precision.
#[must_use]
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(action: &str) -> AuditEntry {
        AuditEntry {
            time: now_rfc3339(),
            profile: "p".into(),
            target: "redis://h:1/0".into(),
            action: action.into(),
            keys: vec!["k".into()],
            key_count: 1,
            affected: Some(1),
            outcome: "ok".into(),
            ..AuditEntry::default()
        }
    }

    #[test]
    fn entries_append_as_lines_and_read_back_newest_first() {
        let dir = tempfile::tempdir().expect("dir");
        let log = AuditLog::in_dir(dir.path());
        assert!(log.recent(10).expect("empty").is_empty());
        for a in ["one", "two", "three"] {
            log.append(&entry(a)).expect("append");
        }
        std::fs::OpenOptions::new()
            .append(true)
            .open(log.path())
            .and_then(|mut f| f.write_all(b"not json\n"))
            .expect("damage");
        log.append(&entry("four")).expect("append");
        let recent = log.recent(2).expect("read");
        let actions: Vec<_> = recent.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["four", "three"]);
        let text = std::fs::read_to_string(log.path()).expect("read");
        assert_eq!(text.lines().count(), 5);
        assert!(text.lines().next().is_some_and(|l| l.starts_with('{')));
    }

    #[test]
    fn an_endless_damaged_line_is_skipped_not_read_whole() {
        let dir = tempfile::tempdir().expect("dir");
        let log = AuditLog::in_dir(dir.path());
        log.append(&entry("before")).expect("append");
        let mut junk = vec![b'x'; 300 << 10];
        junk.push(b'\n');
        std::fs::OpenOptions::new()
            .append(true)
            .open(log.path())
            .and_then(|mut f| f.write_all(&junk))
            .expect("damage");
        log.append(&entry("after")).expect("append");
        let actions: Vec<_> = log
            .recent(10)
            .expect("read")
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert_eq!(actions, ["after", "before"]);
    }
}
