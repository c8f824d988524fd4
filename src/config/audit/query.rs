//! Questions asked of the audit log: which entries of one profile, one action, a key pattern or
//! a span of time; and those entries written out as JSON lines or CSV.

use std::time::{Duration, SystemTime};

use super::AuditEntry;
use crate::core::escape::{pattern_to_glob, unescape};
use crate::core::glob;

/// Entries one export writes at most (the newest that match): an export is built in memory.
pub const EXPORT_MAX: usize = 200_000;

/// Which entries to show or export. Every part left empty matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only this profile's entries.
    pub profile: Option<String>,
    /// Only this action (`flushdb`, `ttl`, `delete`, …).
    pub action: Option<String>,
    /// Only entries about keys that match: a Redis glob (`user:*`), or, without glob
    /// characters, text found anywhere in a key name (escaped form). A pattern delete matches
    /// by its pattern.
    pub key: Option<String>,
    /// Only entries at or after this time.
    pub since: Option<SystemTime>,
    /// Only entries before this time.
    pub until: Option<SystemTime>,
}

impl AuditFilter {
    /// Whether `entry` is one of those asked for.
    #[must_use]
    pub fn matches(&self, entry: &AuditEntry) -> bool {
        if self.profile.as_ref().is_some_and(|p| *p != entry.profile)
            || self.action.as_ref().is_some_and(|a| *a != entry.action)
        {
            return false;
        }
        if self.since.is_some() || self.until.is_some() {
            let Ok(at) = humantime::parse_rfc3339_weak(&entry.time) else {
                return false;
            };
            if self.since.is_some_and(|s| at < s) || self.until.is_some_and(|u| at >= u) {
                return false;
            }
        }
        match self.key.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
            None => true,
            Some(wanted) => key_matches(wanted, entry),
        }
    }
}

fn key_matches(wanted: &str, entry: &AuditEntry) -> bool {
    let is_glob = wanted.contains(['*', '?', '[']);
    let names = entry.keys.iter().chain(entry.pattern.iter());
    if is_glob {
        let pattern = pattern_to_glob(wanted);
        names.into_iter().any(|name| {
            glob::matches(&pattern, &unescape(name).unwrap_or_default()) || name == wanted
        })
    } else {
        names.into_iter().any(|name| name.contains(wanted))
    }
}

/// When, from what a person types: a span back from `now` (`90m`, `24h`, `7d`) or a date-time
/// (`2026-12-01T10:00:00Z`, `2026-12-01 10:00:00`, UTC).
///
/// # Errors
/// It is neither.
pub fn parse_when(text: &str, now: SystemTime) -> Result<SystemTime, String> {
    let text = text.trim();
    if let Ok(span) = humantime::parse_duration(text) {
        return now
            .checked_sub(span)
            .ok_or_else(|| format!("`{text}` reaches back before 1970"));
    }
    humantime::parse_rfc3339_weak(text).map_err(|_| {
        format!(
            "`{text}` is neither a span (90m, 24h, 7d) nor a UTC date-time (2026-12-01 10:00:00)"
        )
    })
}

/// A span back from now, as offered in the audit window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Since {
    /// Everything.
    #[default]
    Ever,
    /// The last hour.
    Hour,
    /// The last 24 hours.
    Day,
    /// The last 7 days.
    Week,
    /// The last 30 days.
    Month,
}

impl Since {
    /// Every choice, in order.
    pub const ALL: [Self; 5] = [Self::Ever, Self::Hour, Self::Day, Self::Week, Self::Month];

    /// Its words.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Ever => "any time",
            Self::Hour => "the last hour",
            Self::Day => "the last 24 hours",
            Self::Week => "the last 7 days",
            Self::Month => "the last 30 days",
        }
    }

    /// The time it starts at, seen from `now`.
    #[must_use]
    pub fn start(self, now: SystemTime) -> Option<SystemTime> {
        let hours = match self {
            Self::Ever => return None,
            Self::Hour => 1,
            Self::Day => 24,
            Self::Week => 24 * 7,
            Self::Month => 24 * 30,
        };
        now.checked_sub(Duration::from_secs(hours * 3600))
    }
}

/// How entries are written out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// One JSON object per line, exactly as the log keeps them.
    JsonLines,
    /// A spreadsheet: one row per entry.
    Csv,
}

impl ExportFormat {
    /// The format a file name asks for: `.csv` is CSV, anything else JSON lines.
    #[must_use]
    pub fn for_path(path: &std::path::Path) -> Self {
        let csv = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        if csv { Self::Csv } else { Self::JsonLines }
    }
}

/// The columns of a CSV export.
const CSV_HEADER: [&str; 13] = [
    "time",
    "profile",
    "target",
    "database",
    "server",
    "action",
    "keys",
    "key_count",
    "pattern",
    "ttl_before",
    "ttl_after",
    "affected",
    "outcome",
];

/// Entries written out in `format`.
///
/// # Errors
/// An entry cannot be encoded (it always can; the error is passed on rather than unwrapped).
pub fn export(entries: &[AuditEntry], format: ExportFormat) -> Result<Vec<u8>, String> {
    match format {
        ExportFormat::JsonLines => {
            let mut out = Vec::new();
            for e in entries {
                serde_json::to_writer(&mut out, e).map_err(|e| e.to_string())?;
                out.push(b'\n');
            }
            Ok(out)
        }
        ExportFormat::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(CSV_HEADER).map_err(|e| e.to_string())?;
            for e in entries {
                let row = [
                    e.time.clone(),
                    e.profile.clone(),
                    e.target.clone(),
                    e.db.map(|d| d.to_string()).unwrap_or_default(),
                    e.server.clone().unwrap_or_default(),
                    e.action.clone(),
                    e.keys.join(" "),
                    e.key_count.to_string(),
                    e.pattern.clone().unwrap_or_default(),
                    e.ttl_before.clone().unwrap_or_default(),
                    e.ttl_after.clone().unwrap_or_default(),
                    e.affected.map(|n| n.to_string()).unwrap_or_default(),
                    e.outcome.clone(),
                ];
                w.write_record(row.iter().map(|cell| spreadsheet_safe(cell).into_owned()))
                    .map_err(|e| e.to_string())?;
            }
            w.into_inner().map_err(|e| e.to_string())
        }
    }
}

/// A cell a spreadsheet shows as text: one that starts like a formula (`=`, `+`, `-`, `@`,
/// a tab or a carriage return: a key name can be anything) gets a leading `'`. The JSON
/// export keeps every name exactly.
fn spreadsheet_safe(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(profile: &str, action: &str, keys: &[&str], time: &str) -> AuditEntry {
        AuditEntry {
            time: time.into(),
            profile: profile.into(),
            action: action.into(),
            keys: keys.iter().map(|k| (*k).to_owned()).collect(),
            key_count: keys.len() as u64,
            outcome: "ok".into(),
            ..AuditEntry::default()
        }
    }

    #[test]
    fn a_filter_picks_by_profile_action_key_and_time() {
        let a = entry("prod", "ttl", &["user:1"], "2026-12-01T10:00:00Z");
        let b = entry("dev", "flushdb", &[], "2026-11-01T10:00:00Z");
        let mut c = entry("prod", "delete-pattern", &[], "2026-12-01T11:00:00Z");
        c.pattern = Some("session:*".into());
        let all = AuditFilter::default();
        assert!([&a, &b, &c].iter().all(|e| all.matches(e)));
        let prod = AuditFilter {
            profile: Some("prod".into()),
            ..AuditFilter::default()
        };
        assert!(prod.matches(&a) && !prod.matches(&b) && prod.matches(&c));
        let ttl = AuditFilter {
            action: Some("ttl".into()),
            ..AuditFilter::default()
        };
        assert!(ttl.matches(&a) && !ttl.matches(&c));
        let users = AuditFilter {
            key: Some("user:*".into()),
            ..AuditFilter::default()
        };
        assert!(users.matches(&a) && !users.matches(&b) && !users.matches(&c));
        let text = AuditFilter {
            key: Some("session".into()),
            ..AuditFilter::default()
        };
        assert!(text.matches(&c), "a pattern delete matches by its pattern");
        let now = humantime::parse_rfc3339("2026-12-01T12:00:00Z").expect("time");
        let recent = AuditFilter {
            since: Some(parse_when("24h", now).expect("span")),
            ..AuditFilter::default()
        };
        assert!(recent.matches(&a) && !recent.matches(&b));
        let before = AuditFilter {
            until: Some(parse_when("2026-12-01 10:30:00", now).expect("date")),
            ..AuditFilter::default()
        };
        assert!(before.matches(&a) && before.matches(&b) && !before.matches(&c));
        assert!(parse_when("next tuesday", now).is_err());
    }

    #[test]
    fn exports_keep_every_entry_and_csv_cells_never_start_a_formula() {
        let mut e = entry(
            "p",
            "delete",
            &["=cmd|' /C calc'!A0", "a,b\"c"],
            "2026-12-01T10:00:00Z",
        );
        e.db = Some(3);
        let json = export(std::slice::from_ref(&e), ExportFormat::JsonLines).expect("json");
        let back: AuditEntry = serde_json::from_slice(&json).expect("parse");
        assert_eq!(back, e);
        let csv = String::from_utf8(export(&[e], ExportFormat::Csv).expect("csv")).expect("utf8");
        let mut rows = csv::Reader::from_reader(csv.as_bytes());
        let row = rows.records().next().expect("a row").expect("valid");
        assert_eq!(&row[3], "3");
        assert_eq!(&row[6], "'=cmd|' /C calc'!A0 a,b\"c");
        assert_eq!(
            ExportFormat::for_path(std::path::Path::new("x.CSV")),
            ExportFormat::Csv
        );
    }
}
