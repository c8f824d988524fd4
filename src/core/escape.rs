//! The escaped text form of keys and values, and its inverse.
//!
//! Keys and values are bytes. To show them we print valid, printable UTF-8 as it is, a
//! backslash as `\\`, and every other byte as `\xNN`. Parsing that form gives back exactly the
//! same bytes, so a key copied from the browser and pasted into a search or a command means the
//! same key. Written here because no crate offers this exact, reversible rule (`escape_ascii`
//! escapes all non-ASCII, which would make UTF-8 keys unreadable).

use std::fmt::Write as _;

/// Why an escaped string could not be turned back into bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnescapeError {
    /// A `\x` that is not followed by two hex digits.
    #[error("invalid escape at character {position}: `\\x` must be followed by two hex digits")]
    BadHex {
        /// Byte position of the backslash in the input.
        position: usize,
    },
    /// A backslash followed by something other than `\` or `x`.
    #[error(
        "invalid escape at character {position}: use `\\\\` for a backslash or `\\xNN` for a byte"
    )]
    Unknown {
        /// Byte position of the backslash in the input.
        position: usize,
    },
}

/// Renders bytes in the escaped form: printable UTF-8 verbatim, `\\` for `\`, `\xNN` otherwise.
#[must_use]
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    escape_into(bytes, &mut out);
    out
}

/// Appends the escaped form of `bytes` to `out` (avoids an allocation per row when drawing).
pub fn escape_into(bytes: &[u8], out: &mut String) {
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                out.push_str("\\\\");
            } else if c.is_control() || is_invisible(c) {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    push_hex(out, b);
                }
            } else {
                out.push(c);
            }
        }
        for &b in chunk.invalid() {
            push_hex(out, b);
        }
    }
}

/// Characters that draw nothing or reorder what follows: zero-width spaces and joiners, bidi
/// controls, the BOM, line/paragraph separators, soft hyphen, fillers, tag characters. Shown
/// raw, `user:\u{200b}1` would look exactly like `user:1` (and U+202E would turn a line
/// around), so they are escaped like control bytes. A short list rather than a Unicode table
/// crate: it is the set of format (Cf) and blank-looking characters that matter for names.
#[must_use]
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00ad}'
            | '\u{034f}'
            | '\u{061c}'
            | '\u{115f}'..='\u{1160}'
            | '\u{17b4}'..='\u{17b5}'
            | '\u{180b}'..='\u{180f}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{206f}'
            | '\u{3164}'
            | '\u{fe00}'..='\u{fe0f}'
            | '\u{feff}'
            | '\u{ffa0}'
            | '\u{fff9}'..='\u{fffb}'
            | '\u{1d173}'..='\u{1d17a}'
            | '\u{e0000}'..='\u{e007f}'
            | '\u{e0100}'..='\u{e01ef}'
    )
}

fn push_hex(out: &mut String, b: u8) {
    // Writing to a String cannot fail.
    let _ = write!(out, "\\x{b:02x}");
}

/// True when `escape_bytes(bytes)` would differ from a plain UTF-8 reading of them.
#[must_use]
pub fn needs_escaping(bytes: &[u8]) -> bool {
    match std::str::from_utf8(bytes) {
        Ok(s) => s
            .chars()
            .any(|c| c == '\\' || c.is_control() || is_invisible(c)),
        Err(_) => true,
    }
}

/// Parses the escaped form back into bytes (`\\` → `\`, `\xNN` → byte).
///
/// # Errors
/// A backslash that starts neither `\\` nor `\xNN`.
pub fn unescape(text: &str) -> Result<Vec<u8>, UnescapeError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        match bytes.get(i + 1) {
            Some(b'\\') => {
                out.push(b'\\');
                i += 2;
            }
            Some(b'x') => {
                let byte = hex_pair(bytes, i + 2).ok_or(UnescapeError::BadHex { position: i })?;
                out.push(byte);
                i += 4;
            }
            _ => return Err(UnescapeError::Unknown { position: i }),
        }
    }
    Ok(out)
}

/// Turns a search pattern as typed into the byte pattern Redis' glob matcher expects.
///
/// The pattern is Redis glob syntax. The only addition is `\xNN`, which stands for a raw byte
/// (so binary keys can be searched); a byte that is itself a glob special is escaped so it
/// matches literally. `\\` and every other `\`-escape are passed through unchanged, which keeps
/// the displayed form of a key (where `\` shows as `\\`) a valid pattern for that very key.
#[must_use]
pub fn pattern_to_glob(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'\\' {
            if bytes.get(i + 1) == Some(&b'x')
                && let Some(byte) = hex_pair(bytes, i + 2)
            {
                if matches!(byte, b'*' | b'?' | b'[' | b']' | b'\\') {
                    out.push(b'\\');
                }
                out.push(byte);
                i += 4;
                continue;
            }
            // Keep the escape and the escaped character together.
            out.push(b'\\');
            if let Some(&next) = bytes.get(i + 1) {
                out.push(next);
            }
            i += 2;
            continue;
        }
        out.push(b);
        i += 1;
    }
    out
}

/// Makes escaped text (as [`escape_bytes`] prints it) a pattern that matches it literally: the
/// glob specials become `\xNN` bytes, which [`pattern_to_glob`] turns into escaped literals.
/// Escaped text never uses these characters in its own escapes (`\xNN`, `\\`).
#[must_use]
pub fn glob_literal(escaped: &str) -> String {
    let mut out = String::with_capacity(escaped.len());
    for c in escaped.chars() {
        match c {
            '*' => out.push_str("\\x2a"),
            '?' => out.push_str("\\x3f"),
            '[' => out.push_str("\\x5b"),
            ']' => out.push_str("\\x5d"),
            c => out.push(c),
        }
    }
    out
}

/// The pattern of every key that contains `needle` somewhere (case-sensitive, as Redis
/// patterns are): what the filter over loaded keys looks for, asked of the server instead.
#[must_use]
pub fn contains_pattern(needle: &[u8]) -> String {
    format!("*{}*", glob_literal(&escape_bytes(needle)))
}

fn hex_pair(bytes: &[u8], at: usize) -> Option<u8> {
    let hi = hex_digit(*bytes.get(at)?)?;
    let lo = hex_digit(*bytes.get(at + 1)?)?;
    Some(hi << 4 | lo)
}

/// The value of one hex digit (either case).
pub(crate) fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// A classic hex dump: offset, 16 bytes in hex, and their printable ASCII.
#[must_use]
pub fn hex_dump(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 4 + 16);
    for (row, chunk) in bytes.chunks(16).enumerate() {
        let _ = write!(out, "{:08x}  ", row * 16);
        for i in 0..16 {
            match chunk.get(i) {
                Some(b) => {
                    let _ = write!(out, "{b:02x} ");
                }
                None => out.push_str("   "),
            }
            if i == 7 {
                out.push(' ');
            }
        }
        out.push(' ');
        for &b in chunk {
            out.push(if b.is_ascii_graphic() || b == b' ' {
                char::from(b)
            } else {
                '.'
            });
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_utf8_is_shown_as_is() {
        assert_eq!(
            escape_bytes("user:42:Zoë 東京".as_bytes()),
            "user:42:Zoë 東京"
        );
        assert!(!needs_escaping("user:42".as_bytes()));
    }

    #[test]
    fn backslash_control_and_invalid_bytes_are_escaped() {
        assert_eq!(escape_bytes(b"a\\b"), "a\\\\b");
        assert_eq!(escape_bytes(b"\x00\xff\n"), "\\x00\\xff\\x0a");
        assert_eq!(escape_bytes(b"caf\xc3"), "caf\\xc3");
        assert!(needs_escaping(b"\xff"));
    }

    #[test]
    fn invisible_and_bidi_characters_are_escaped() {
        assert_eq!(
            escape_bytes("user:\u{200b}1".as_bytes()),
            "user:\\xe2\\x80\\x8b1"
        );
        assert_ne!(
            escape_bytes("user:\u{200b}1".as_bytes()),
            escape_bytes(b"user:1")
        );
        assert_eq!(escape_bytes("a\u{202e}b".as_bytes()), "a\\xe2\\x80\\xaeb");
        assert!(needs_escaping("\u{feff}x".as_bytes()));
        let tricky = "\u{200b}\u{202e}\u{2066}\u{feff}\u{e0041}ok";
        assert_eq!(
            unescape(&escape_bytes(tricky.as_bytes())),
            Ok(tricky.as_bytes().to_vec())
        );
    }

    proptest::proptest! {
        #[test]
        fn escape_round_trips_any_bytes(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let shown = escape_bytes(&bytes);
            proptest::prop_assert!(!shown.chars().any(|c| c.is_control() || is_invisible(c)));
            proptest::prop_assert_eq!(unescape(&shown), Ok(bytes));
        }

        #[test]
        fn escape_round_trips_any_text(text in "\\PC*") {
            proptest::prop_assert_eq!(unescape(&escape_bytes(text.as_bytes())), Ok(text.into_bytes()));
        }

        #[test]
        fn unescape_never_panics(text in "\\PC*") {
            let _ = unescape(&text);
            let _ = pattern_to_glob(&text);
        }
    }

    #[test]
    fn escape_round_trips_every_byte() {
        let all: Vec<u8> = (0..=255u8).chain("ü\\x41".bytes()).collect();
        assert_eq!(unescape(&escape_bytes(&all)), Ok(all));
    }

    #[test]
    fn unescape_rejects_bad_escapes() {
        assert_eq!(
            unescape("a\\q"),
            Err(UnescapeError::Unknown { position: 1 })
        );
        assert_eq!(unescape("\\x4"), Err(UnescapeError::BadHex { position: 0 }));
        assert_eq!(
            unescape("ok\\x4G"),
            Err(UnescapeError::BadHex { position: 2 })
        );
        assert_eq!(
            unescape("trailing\\"),
            Err(UnescapeError::Unknown { position: 8 })
        );
    }

    #[test]
    fn pattern_keeps_glob_escapes_and_decodes_bytes() {
        assert_eq!(pattern_to_glob("user:*"), b"user:*");
        assert_eq!(pattern_to_glob("a\\*b"), b"a\\*b");
        assert_eq!(pattern_to_glob("a\\\\b"), b"a\\\\b");
        assert_eq!(pattern_to_glob("bin\\xff*"), b"bin\xff*");
        assert_eq!(pattern_to_glob("\\x2a"), b"\\*");
        assert_eq!(pattern_to_glob("[a-c]?"), b"[a-c]?");
    }

    #[test]
    fn a_contains_pattern_matches_the_needle_literally_anywhere() {
        use crate::core::glob::matches;
        let p = pattern_to_glob(&contains_pattern(b"a*[b]?"));
        assert!(matches(&p, b"xx a*[b]? yy"));
        assert!(!matches(&p, b"xx aZZb]Q yy"));
        let p = pattern_to_glob(&contains_pattern(b"back\\slash \xff"));
        assert!(matches(&p, b"1 back\\slash \xff 2"));
        assert!(!matches(&p, b"backslash"));
        let p = pattern_to_glob(&contains_pattern("ü".as_bytes()));
        assert!(matches(&p, "grüße".as_bytes()));
        // Case matters, as in every Redis pattern.
        let p = pattern_to_glob(&contains_pattern(b"session"));
        assert!(matches(&p, b"x:session:1"));
        assert!(!matches(&p, b"x:SESSION:1"));
        // A raw byte in the needle stays that byte.
        let p = pattern_to_glob(&contains_pattern(b"\xab"));
        assert!(matches(&p, b"1\xab2"));
        assert!(!matches(&p, b"1\\xab2"));
    }

    #[test]
    fn hex_dump_has_offsets_and_ascii() {
        let dump = hex_dump(b"hello\x00world, this is long");
        assert!(dump.starts_with("00000000  68 65 6c 6c 6f 00"));
        assert!(dump.contains("hello.world, thi"));
        assert!(dump.contains("00000010  "));
    }
}
