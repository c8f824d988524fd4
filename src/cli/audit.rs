//! `audit`: the audit log's entries, filtered, for people (a table) or programs (JSON lines,
//! CSV) — the same filter the app's audit window uses.

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::SystemTime;

use super::{AuditArgs, AuditFormat, Failure};
use crate::config::audit::{AuditFilter, AuditLog, ExportFormat, export, parse_when};

pub fn run(args: &AuditArgs) -> Result<(), Failure> {
    let log = AuditLog::default_log()
        .ok_or_else(|| Failure::error("no data directory is known, so no audit log is kept"))?;
    let now = SystemTime::now();
    let when = |t: &Option<String>| {
        t.as_deref()
            .map(|t| parse_when(t, now))
            .transpose()
            .map_err(Failure::usage)
    };
    let filter = AuditFilter {
        profile: args.profile.clone(),
        action: args.action.clone(),
        key: args.key.clone(),
        since: when(&args.since)?,
        until: when(&args.until)?,
    };
    let read = log
        .read(&filter, args.limit)
        .map_err(|e| Failure::error(format!("cannot read {}: {e}", log.path().display())))?;
    // Oldest first, as a log reads.
    let entries: Vec<_> = read.entries.into_iter().rev().collect();
    let bytes = match args.format {
        AuditFormat::Json => export(&entries, ExportFormat::JsonLines).map_err(Failure::error)?,
        AuditFormat::Csv => export(&entries, ExportFormat::Csv).map_err(Failure::error)?,
        AuditFormat::Table => table(&entries).into_bytes(),
    };
    let mut out = std::io::stdout().lock();
    out.write_all(&bytes)
        .and_then(|()| out.flush())
        .map_err(|e| Failure::error(format!("cannot write the output: {e}")))?;
    if (entries.len() as u64) < read.matching {
        eprintln!(
            "({} of {} matching entries shown; raise --limit for more)",
            entries.len(),
            read.matching
        );
    }
    Ok(())
}

/// Entries as aligned columns.
fn table(entries: &[crate::config::audit::AuditEntry]) -> String {
    let rows: Vec<[String; 7]> = entries
        .iter()
        .map(|e| {
            let place = match (e.db, &e.server) {
                (_, Some(s)) => s.clone(),
                (Some(db), None) => format!("db{db}"),
                (None, None) => String::new(),
            };
            let what = e.pattern.clone().unwrap_or_else(|| e.keys.join(","));
            let change = match (&e.ttl_before, &e.ttl_after) {
                (Some(b), Some(a)) => format!("ttl {b} -> {a}"),
                _ => e
                    .affected
                    .map(|n| format!("{n} changed"))
                    .unwrap_or_default(),
            };
            [
                e.time.clone(),
                e.profile.clone(),
                place,
                e.action.clone(),
                what,
                change,
                e.outcome.clone(),
            ]
        })
        .collect();
    let header = [
        "TIME", "PROFILE", "WHERE", "ACTION", "KEYS", "CHANGE", "OUTCOME",
    ];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count()).min(60);
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[&str]| {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            let cell: String = cell.chars().take(w).collect();
            let _ = write!(text, "{cell:<w$}");
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&header);
    for row in &rows {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        line(&cells);
    }
    out
}
