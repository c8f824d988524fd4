//! How numbers, sizes, TTLs, keys and JSON are shown to people: one place, so the browser, the
//! viewer, the dialogs and the command line say the same thing the same way.

use std::time::Instant;

use crate::core::escape::escape_bytes;
use crate::core::model::Ttl;

/// `1234567` → `1,234,567`.
#[must_use]
pub fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A count in three figures: `412k`, `1.0M`, `950` (progress lines, where the exact count
/// would only flicker).
#[must_use]
pub fn short_count(n: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let f = n as f64;
    match n {
        0..=9_999 => n.to_string(),
        10_000..=999_499 => format!("{:.0}k", f / 1e3),
        999_500..=9_949_999 => format!("{:.1}M", f / 1e6),
        9_950_000..=999_499_999 => format!("{:.0}M", f / 1e6),
        _ => format!("{:.1}G", f / 1e9),
    }
}

/// One node of a listing over several: `node 2/3 10.0.0.2:7001: 412k of 1.0M` (`done` once
/// it is listed to its end).
#[must_use]
pub fn scan_part_line(index: usize, count: usize, part: &crate::core::model::ScanPart) -> String {
    let state = if part.done {
        format!("done, {} keys", short_count(part.total))
    } else {
        format!(
            "{} of {}",
            short_count(part.visited.min(part.total)),
            short_count(part.total)
        )
    };
    format!("node {}/{count} {}: {state}", index + 1, part.name)
}

/// Bytes as a short human size (`512 B`, `1.5 KiB`).
#[must_use]
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    #[allow(clippy::cast_precision_loss)]
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A TTL as text, counting down from when it was read.
#[must_use]
pub fn ttl_text(ttl: Ttl, read_at: Instant, now: Instant) -> String {
    match ttl {
        Ttl::Persistent => "no TTL".to_owned(),
        Ttl::Unknown => "unknown".to_owned(),
        Ttl::ExpiresInMs(ms) => {
            let elapsed = u64::try_from(now.saturating_duration_since(read_at).as_millis())
                .unwrap_or(u64::MAX);
            let left = ms.saturating_sub(elapsed);
            if left == 0 {
                return "expired".to_owned();
            }
            let secs = left.div_ceil(1000);
            match secs {
                0..=59 => format!("{secs}s"),
                60..=3599 => format!("{}m {}s", secs / 60, secs % 60),
                3600..=86_399 => format!("{}h {}m", secs / 3600, (secs % 3600) / 60),
                _ => format!("{}d {}h", secs / 86_400, (secs % 86_400) / 3600),
            }
        }
    }
}

/// Pretty JSON for bytes that hold a JSON object or array.
#[must_use]
pub fn pretty_json(bytes: &[u8]) -> Option<String> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace())?;
    if !matches!(first, b'{' | b'[') {
        return None;
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    serde_json::to_string_pretty(&value).ok()
}

/// What a TTL typed in a field will do, read out before it is applied: `= 15 minutes ·
/// expires 14:32:10` (local time; the date too when it is not today), or `= never expires`.
#[must_use]
pub fn ttl_readout(change: crate::core::model::TtlChange, now_unix_ms: u64) -> String {
    use crate::core::ttl::{duration_words, expires_in_ms};
    let Some(ms) = expires_in_ms(change, now_unix_ms) else {
        return "= never expires".to_owned();
    };
    let at = i64::try_from(now_unix_ms.saturating_add(ms)).unwrap_or(i64::MAX);
    let local = |unix_ms: i64, format: &str| {
        chrono::DateTime::from_timestamp_millis(unix_ms)
            .map(|d| d.with_timezone(&chrono::Local).format(format).to_string())
            .unwrap_or_default()
    };
    let now = i64::try_from(now_unix_ms).unwrap_or(i64::MAX);
    let when = if local(at, "%Y-%m-%d") == local(now, "%Y-%m-%d") {
        local(at, "%H:%M:%S")
    } else {
        local(at, "%Y-%m-%d %H:%M:%S")
    };
    format!("= {} · expires {when}", duration_words(ms))
}

/// Short display of a key for headers and notices.
#[must_use]
pub fn key_label(key: &[u8]) -> String {
    let text = escape_bytes(key);
    if text.chars().count() > 120 {
        let cut: String = text.chars().take(117).collect();
        format!("{cut}…")
    } else {
        text
    }
}

/// An expiry kept as Unix seconds, for people: `2026-12-01 14:32:10 UTC (in 5 minutes)`, with
/// the raw number after it for whoever compares it with the table or file.
#[must_use]
pub fn expiry_text(unix_secs: i64, now_secs: i64) -> String {
    let Some(at) = chrono::DateTime::from_timestamp(unix_secs, 0) else {
        return format!("{unix_secs} (not a valid time)");
    };
    let when = at.format("%Y-%m-%d %H:%M:%S UTC");
    let delta = unix_secs.saturating_sub(now_secs);
    let words = crate::core::ttl::duration_words(delta.unsigned_abs().saturating_mul(1000));
    if delta >= 0 {
        format!("{when} (in {words}; {unix_secs})")
    } else {
        format!("{when} (expired {words} ago; {unix_secs})")
    }
}

/// Shortens `text` to at most `max` characters by cutting out its middle, keeping the start
/// and more of the end: `laravel_session:0000…a81f` rows stay told apart by their tails.
#[must_use]
pub fn middle_ellipsis(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    let len = text.chars().count();
    if len <= max || max < 5 {
        return std::borrow::Cow::Borrowed(text);
    }
    let keep = max - 1;
    let head = keep * 2 / 5;
    let tail = keep - head;
    let mut out = String::with_capacity(max * 4);
    out.extend(text.chars().take(head));
    out.push('…');
    out.extend(text.chars().skip(len - tail));
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_shorten_to_three_figures_and_node_lines_read_as_progress() {
        let cases = [
            (0, "0"),
            (9_999, "9999"),
            (10_000, "10k"),
            (412_345, "412k"),
            (999_499, "999k"),
            (999_500, "1.0M"),
            (1_000_000, "1.0M"),
            (9_949_999, "9.9M"),
            (12_000_000, "12M"),
            (3_000_000_000, "3.0G"),
        ];
        for (n, text) in cases {
            assert_eq!(super::short_count(n), text, "{n}");
        }
        let mut part = crate::core::model::ScanPart {
            name: "10.0.0.2:7001".into(),
            visited: 412_000,
            total: 1_000_000,
            matched: 5,
            done: false,
        };
        assert_eq!(
            super::scan_part_line(1, 3, &part),
            "node 2/3 10.0.0.2:7001: 412k of 1.0M"
        );
        part.done = true;
        assert_eq!(
            super::scan_part_line(1, 3, &part),
            "node 2/3 10.0.0.2:7001: done, 1.0M keys"
        );
    }

    #[test]
    fn an_expiry_reads_as_a_date_and_how_far_off_it_is() {
        let t = super::expiry_text(1_764_599_530, 1_764_599_230);
        assert!(
            t.starts_with("2025-12-01 14:32:10 UTC (in 5 minutes"),
            "{t}"
        );
        assert!(t.ends_with("; 1764599530)"), "{t}");
        let past = super::expiry_text(1_764_599_230, 1_764_599_530);
        assert!(past.contains("expired 5 minutes ago"), "{past}");
        assert!(super::expiry_text(i64::MAX, 0).contains("not a valid time"));
    }

    #[test]
    fn a_long_name_keeps_its_start_and_its_distinctive_end() {
        let name = "laravel_session:00000000000000000000a81f";
        let short = super::middle_ellipsis(name, 20);
        assert_eq!(short.chars().count(), 20);
        assert!(short.starts_with("laravel"));
        assert!(short.ends_with("a81f"));
        assert!(short.contains('…'));
        assert_eq!(super::middle_ellipsis("short", 20), "short");
        assert_eq!(
            super::middle_ellipsis("ünïcödé-ünïcödé", 9).chars().count(),
            9
        );
    }

    use std::time::Duration;

    use super::*;

    #[test]
    fn ttl_text_counts_down() {
        let t0 = Instant::now();
        let ttl = Ttl::ExpiresInMs(90_500);
        assert_eq!(ttl_text(ttl, t0, t0), "1m 31s");
        assert_eq!(ttl_text(ttl, t0, t0 + Duration::from_mins(1)), "31s");
        assert_eq!(ttl_text(ttl, t0, t0 + Duration::from_secs(91)), "expired");
        assert_eq!(ttl_text(Ttl::Persistent, t0, t0), "no TTL");
        assert_eq!(ttl_text(Ttl::ExpiresInMs(90_000_000), t0, t0), "1d 1h");
    }

    #[test]
    fn a_typed_ttl_reads_out_its_length_and_expiry() {
        use crate::core::model::TtlChange;
        let now = 1_790_000_000_000;
        let out = ttl_readout(TtlChange::InMs(900_000), now);
        assert!(out.starts_with("= 15 minutes · expires "), "{out}");
        assert_eq!(out.matches(':').count(), 2, "a time of day: {out}");
        let far = ttl_readout(TtlChange::InMs(3 * 86_400_000), now);
        assert!(far.contains("3 days"), "{far}");
        assert!(far.contains('-'), "another day shows its date: {far}");
        assert_eq!(ttl_readout(TtlChange::Persist, now), "= never expires");
    }

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(group_digits(0), "0");
        assert_eq!(group_digits(999), "999");
        assert_eq!(group_digits(1000), "1,000");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(12), "12 B");
    }
}
