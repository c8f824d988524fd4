//! Reading a TTL as the user types it: seconds, a duration, or an absolute date-time.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::core::model::TtlChange;

/// Why a TTL was refused. Nothing is sent to the server for any of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TtlInputError {
    /// Nothing was typed.
    #[error(
        "type a TTL: seconds (`90`), a duration (`90s`, `15m`, `2h`, `1d`) or a date-time (`2026-12-01 10:00:00`, UTC)"
    )]
    Empty,
    /// A negative number.
    #[error("a TTL cannot be negative; to remove the TTL, use persist")]
    Negative,
    /// Zero would delete the key at once.
    #[error("a TTL of 0 would delete the key at once; delete it instead, or give a TTL above 0")]
    Zero,
    /// Not a number, duration or date-time.
    #[error(
        "`{0}` is not a TTL: use seconds (`90`), a duration (`90s`, `15m`, `2h`, `1d`) or a date-time (`2026-12-01 10:00:00`, UTC)"
    )]
    Unreadable(String),
    /// A date-time that has passed: setting it deletes the key, so the user must confirm.
    #[error("{0} is in the past: the key would be deleted at once")]
    InPast(String),
    /// Longer than any cache keeps a key (and than servers accept: Redis refuses an expiry
    /// that overflows its clock, memcached reads big numbers as dates).
    #[error("`{0}` is too long a TTL: the most is 100 years; to keep the key forever, use persist")]
    TooLong(String),
}

/// The longest TTL accepted: 100 years, in milliseconds.
pub const MAX_TTL_MS: u64 = 100 * 365 * 24 * 3600 * 1000;

/// Milliseconds since the Unix epoch, now.
#[must_use]
pub fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Parses TTL input. `now_ms` is the current Unix time, to reject date-times in the past.
///
/// # Errors
/// Empty, negative, zero, unreadable, or a date-time in the past.
pub fn parse_ttl(text: &str, now_ms: u64) -> Result<TtlChange, TtlInputError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(TtlInputError::Empty);
    }
    if text.starts_with('-') {
        return Err(TtlInputError::Negative);
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        let secs: u64 = text
            .parse()
            .map_err(|_| TtlInputError::Unreadable(text.to_owned()))?;
        return match secs {
            0 => Err(TtlInputError::Zero),
            s => bounded(text, s.saturating_mul(1000)).map(TtlChange::InMs),
        };
    }
    if let Ok(d) = humantime::parse_duration(text) {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        return if ms == 0 {
            Err(TtlInputError::Zero)
        } else {
            bounded(text, ms).map(TtlChange::InMs)
        };
    }
    if let Ok(at) = humantime::parse_rfc3339_weak(text) {
        let at_ms = at
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        if at_ms <= now_ms {
            return Err(TtlInputError::InPast(text.to_owned()));
        }
        bounded(text, at_ms - now_ms)?;
        return Ok(TtlChange::AtUnixMs(at_ms));
    }
    Err(TtlInputError::Unreadable(text.to_owned()))
}

fn bounded(text: &str, ms: u64) -> Result<u64, TtlInputError> {
    if ms > MAX_TTL_MS {
        Err(TtlInputError::TooLong(text.to_owned()))
    } else {
        Ok(ms)
    }
}

/// How long from `now_ms` until a TTL change makes the key expire; `None` when it never will
/// (persist) or the change leaves the TTL as it is.
#[must_use]
pub fn expires_in_ms(change: TtlChange, now_ms: u64) -> Option<u64> {
    match change {
        TtlChange::Keep | TtlChange::Persist => None,
        TtlChange::InMs(ms) => Some(ms),
        TtlChange::AtUnixMs(at) => Some(at.saturating_sub(now_ms)),
    }
}

/// A duration in words, its two largest units: `15 minutes`, `2 hours 5 minutes`, `1 day`.
#[must_use]
pub fn duration_words(ms: u64) -> String {
    let secs = ms.div_ceil(1000);
    let units = [
        (86_400, "day"),
        (3_600, "hour"),
        (60, "minute"),
        (1, "second"),
    ];
    let mut parts = Vec::new();
    let mut rest = secs;
    for (size, name) in units {
        let n = rest / size;
        if n > 0 || (size == 1 && parts.is_empty()) {
            parts.push(format!("{n} {name}{}", if n == 1 { "" } else { "s" }));
            rest %= size;
        }
        if parts.len() == 2 || (!parts.is_empty() && rest == 0) {
            break;
        }
    }
    parts.join(" ")
}

/// A duration as the short form `parse_ttl` reads (`1h 30m`).
#[must_use]
pub fn format_duration_ms(ms: u64) -> String {
    humantime::format_duration(Duration::from_secs(ms / 1000)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_words_and_changes_as_time_from_now() {
        assert_eq!(duration_words(900_000), "15 minutes");
        assert_eq!(duration_words(1_000), "1 second");
        assert_eq!(duration_words(0), "0 seconds");
        assert_eq!(duration_words(7_500_000), "2 hours 5 minutes");
        assert_eq!(duration_words(86_400_000), "1 day");
        assert_eq!(duration_words(90_061_000), "1 day 1 hour");
        assert_eq!(expires_in_ms(TtlChange::InMs(5), 100), Some(5));
        assert_eq!(expires_in_ms(TtlChange::AtUnixMs(150), 100), Some(50));
        assert_eq!(expires_in_ms(TtlChange::Persist, 100), None);
    }

    const NOW: u64 = 1_790_000_000_000;

    #[test]
    fn seconds_durations_and_dates() {
        assert_eq!(parse_ttl("90", NOW), Ok(TtlChange::InMs(90_000)));
        assert_eq!(parse_ttl(" 90s ", NOW), Ok(TtlChange::InMs(90_000)));
        assert_eq!(parse_ttl("15m", NOW), Ok(TtlChange::InMs(900_000)));
        assert_eq!(parse_ttl("2h", NOW), Ok(TtlChange::InMs(7_200_000)));
        assert_eq!(parse_ttl("1d", NOW), Ok(TtlChange::InMs(86_400_000)));
        assert_eq!(parse_ttl("1h 30m", NOW), Ok(TtlChange::InMs(5_400_000)));
        assert_eq!(
            parse_ttl("2030-01-01 00:00:00", NOW),
            Ok(TtlChange::AtUnixMs(1_893_456_000_000))
        );
        assert_eq!(
            parse_ttl("2030-01-01T00:00:00Z", NOW),
            Ok(TtlChange::AtUnixMs(1_893_456_000_000))
        );
    }

    #[test]
    fn bad_input_is_refused_with_a_reason() {
        assert_eq!(parse_ttl("", NOW), Err(TtlInputError::Empty));
        assert_eq!(parse_ttl("-5", NOW), Err(TtlInputError::Negative));
        assert_eq!(parse_ttl("0", NOW), Err(TtlInputError::Zero));
        assert_eq!(parse_ttl("0s", NOW), Err(TtlInputError::Zero));
        assert!(matches!(
            parse_ttl("soon", NOW),
            Err(TtlInputError::Unreadable(_))
        ));
        assert!(matches!(
            parse_ttl("2001-01-01 00:00:00", NOW),
            Err(TtlInputError::InPast(_))
        ));
        assert!(TtlInputError::Negative.to_string().contains("persist"));
    }

    #[test]
    fn absurdly_long_ttls_are_refused_before_any_server_sees_them() {
        for text in [
            "18446744073709551",
            "18446744073709551615",
            "99999999999d",
            "3200000000",
        ] {
            assert!(
                matches!(parse_ttl(text, NOW), Err(TtlInputError::TooLong(_))),
                "{text}"
            );
        }
        assert!(matches!(
            parse_ttl("9999-01-01 00:00:00", NOW),
            Err(TtlInputError::TooLong(_))
        ));
        assert_eq!(
            parse_ttl("3153600000", NOW),
            Ok(TtlChange::InMs(MAX_TTL_MS))
        );
    }

    proptest::proptest! {
        #[test]
        fn any_input_parses_or_says_why(text in "\\PC{0,40}") {
            match parse_ttl(&text, NOW) {
                Ok(TtlChange::InMs(ms)) => proptest::prop_assert!(ms > 0 && ms <= MAX_TTL_MS),
                Ok(TtlChange::AtUnixMs(at)) => proptest::prop_assert!(at > NOW && at - NOW <= MAX_TTL_MS),
                Ok(other) => proptest::prop_assert!(false, "unexpected {:?}", other),
                Err(e) => proptest::prop_assert!(!e.to_string().is_empty()),
            }
        }
    }

    #[test]
    fn durations_format_back_readably() {
        assert_eq!(format_duration_ms(5_400_000), "1h 30m");
        assert_eq!(
            parse_ttl(&format_duration_ms(5_400_000), NOW),
            Ok(TtlChange::InMs(5_400_000))
        );
    }
}
