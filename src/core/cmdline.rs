//! Command lines as `redis-cli` reads them: arguments split at spaces, `"…"` with escapes
//! (`\n`, `\r`, `\t`, `\b`, `\a`, `\xHH`, `\"`, `\\`) and `'…'` taken literally but for `\'`;
//! a closing quote must end its argument. Several lines pasted at once are several commands.
//!
//! Written here rather than taken from a shell-words crate: those follow the POSIX shell
//! (no `\xHH`, `\n` left as two characters, `$` and globs special), and a command copied
//! from `redis-cli` must send exactly the bytes it sent there.

use std::fmt::Write as _;

use bytes::Bytes;

use crate::core::escape::escape_bytes;
use crate::core::model::RawReply;

/// Why a line could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    /// A quote was opened and not closed.
    #[error("unbalanced quotes: a quote was opened and not closed")]
    Unbalanced,
    /// A closing quote was followed by something other than a space.
    #[error("a closing quote must be followed by a space or the end of the line")]
    AfterQuote,
}

/// The arguments of one line; an empty line gives none.
///
/// # Errors
/// Quotes that do not balance, or a closing quote run into the next argument.
pub fn split_args(line: &str) -> Result<Vec<Bytes>, LineError> {
    let bytes = line.as_bytes();
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= bytes.len() {
            return Ok(args);
        }
        let (arg, next) = one_arg(bytes, i)?;
        args.push(Bytes::from(arg));
        i = next;
    }
}

/// One argument starting at `start`: its bytes and where the next one may start.
fn one_arg(bytes: &[u8], start: usize) -> Result<(Vec<u8>, usize), LineError> {
    #[derive(PartialEq)]
    enum Quote {
        None,
        Double,
        Single,
    }
    let mut out = Vec::new();
    let mut quote = Quote::None;
    let mut i = start;
    loop {
        let Some(&c) = bytes.get(i) else {
            return match quote {
                Quote::None => Ok((out, i)),
                _ => Err(LineError::Unbalanced),
            };
        };
        match quote {
            Quote::Double => {
                if c == b'\\'
                    && i + 3 < bytes.len()
                    && bytes[i + 1] == b'x'
                    && let (Some(h), Some(l)) = (hex(bytes[i + 2]), hex(bytes[i + 3]))
                {
                    out.push(h * 16 + l);
                    i += 4;
                    continue;
                }
                if c == b'\\' && i + 1 < bytes.len() {
                    out.push(match bytes[i + 1] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                    i += 2;
                    continue;
                }
                if c == b'"' {
                    return closed(out, bytes, i + 1);
                }
                out.push(c);
            }
            Quote::Single => {
                if c == b'\\' && bytes.get(i + 1) == Some(&b'\'') {
                    out.push(b'\'');
                    i += 2;
                    continue;
                }
                if c == b'\'' {
                    return closed(out, bytes, i + 1);
                }
                out.push(c);
            }
            Quote::None => match c {
                c if c.is_ascii_whitespace() => return Ok((out, i)),
                b'"' => quote = Quote::Double,
                b'\'' => quote = Quote::Single,
                c => out.push(c),
            },
        }
        i += 1;
    }
}

/// A closing quote at `after - 1`: the argument ends, and a space or the end must follow.
fn closed(out: Vec<u8>, bytes: &[u8], after: usize) -> Result<(Vec<u8>, usize), LineError> {
    match bytes.get(after) {
        None => Ok((out, after)),
        Some(c) if c.is_ascii_whitespace() => Ok((out, after)),
        Some(_) => Err(LineError::AfterQuote),
    }
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// Each non-empty line of `text` (a paste of several commands) with its arguments, or the
/// line's error; `\r\n` line ends are taken as `\n`.
#[must_use]
pub fn split_lines(text: &str) -> Vec<(String, Result<Vec<Bytes>, LineError>)> {
    text.lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.trim().is_empty())
        .map(|l| (l.trim().to_owned(), split_args(l)))
        .collect()
}

/// An argument written so [`split_args`] reads it back as the same bytes: as it is when it
/// needs no quotes, else in double quotes with escapes.
#[must_use]
pub fn quote_arg(arg: &[u8]) -> String {
    let plain = !arg.is_empty()
        && arg
            .iter()
            .all(|&c| c.is_ascii_graphic() && c != b'"' && c != b'\'' && c != b'\\');
    if plain {
        return String::from_utf8_lossy(arg).into_owned();
    }
    let mut out = String::with_capacity(arg.len() + 2);
    out.push('"');
    for &c in arg {
        match c {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            c if c == b' ' || c.is_ascii_graphic() => out.push(char::from(c)),
            c => {
                let _ = write!(out, "\\x{c:02x}");
            }
        }
    }
    out.push('"');
    out
}

/// A command as it may be kept in a history: each argument quoted as [`quote_arg`] does,
/// and every secret (`AUTH`'s password, `CONFIG SET requirepass`'s value, …) replaced by
/// [`crate::core::redact::REDACTED`].
#[must_use]
pub fn redacted_line(args: &[Bytes]) -> String {
    let secret = crate::core::redact::secret_positions(args);
    args.iter()
        .enumerate()
        .map(|(i, a)| {
            if secret.contains(&i) {
                crate::core::redact::REDACTED.to_owned()
            } else {
                quote_arg(a)
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A reply as `redis-cli` prints it (see [`render`]).
#[must_use]
pub fn reply_text(reply: &RawReply) -> String {
    let mut out = String::new();
    render(reply, 0, &mut out);
    out
}

/// A reply as `redis-cli` prints it: `(integer) 1`, `"text"`, `(nil)`, numbered elements
/// indented under their parent; bytes in a string escaped as everywhere in this console
/// (`\xNN`, so a key copied from here reads back as the same bytes).
fn render(reply: &RawReply, indent: usize, out: &mut String) {
    match reply {
        RawReply::Nil => out.push_str("(nil)\n"),
        RawReply::Int(i) => {
            let _ = writeln!(out, "(integer) {i}");
        }
        RawReply::Double(d) => {
            let _ = writeln!(out, "(double) {d}");
        }
        RawReply::Bool(b) => {
            let _ = writeln!(out, "({b})");
        }
        RawReply::Bulk(bytes) => {
            let _ = writeln!(out, "\"{}\"", escape_bytes(bytes).replace('"', "\\\""));
        }
        RawReply::Status(text) | RawReply::Text(text) => {
            let _ = writeln!(out, "{text}");
        }
        RawReply::Error(text) => {
            let _ = writeln!(out, "(error) {text}");
        }
        RawReply::Array(items) => elements(items.iter().map(|i| (None, i)), ')', indent, out),
        RawReply::Set(items) => elements(items.iter().map(|i| (None, i)), '~', indent, out),
        RawReply::Map(pairs) => elements(pairs.iter().map(|(k, v)| (Some(k), v)), '#', indent, out),
    }
}

fn elements<'a>(
    items: impl ExactSizeIterator<Item = (Option<&'a RawReply>, &'a RawReply)>,
    mark: char,
    indent: usize,
    out: &mut String,
) {
    let count = items.len();
    if count == 0 {
        out.push_str(match mark {
            '#' => "(empty hash)\n",
            '~' => "(empty set)\n",
            _ => "(empty array)\n",
        });
        return;
    }
    let width = count.to_string().len();
    for (i, (key, value)) in items.enumerate() {
        if i > 0 {
            out.push_str(&" ".repeat(indent));
        }
        let prefix = format!("{:>width$}{mark} ", i + 1);
        out.push_str(&prefix);
        let inner = indent + prefix.len();
        if let Some(key) = key {
            let mut k = String::new();
            render(key, inner, &mut k);
            out.push_str(k.trim_end());
            out.push_str(" => ");
        }
        render(value, inner, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<Vec<u8>> {
        split_args(line)
            .expect("reads")
            .into_iter()
            .map(|b| b.to_vec())
            .collect()
    }

    #[test]
    fn lines_split_as_redis_cli_splits_them() {
        assert_eq!(
            args("  set  a   b "),
            vec![b"set".to_vec(), b"a".to_vec(), b"b".to_vec()]
        );
        assert_eq!(
            args(r#"set "a b" 'c d'"#)[1..],
            [b"a b".to_vec(), b"c d".to_vec()]
        );
        assert_eq!(
            args(r#"set k "\x41\xff\n\t\"\\""#)[2],
            b"A\xff\n\t\"\\".to_vec()
        );
        // Single quotes take everything literally but \'.
        assert_eq!(args(r"set k 'a\nb\'c'")[2], b"a\\nb'c".to_vec());
        // A quote may start in the middle of an argument, as in redis-cli.
        assert_eq!(args(r#"set k ab"c d""#)[2], b"abc d".to_vec());
        // An incomplete \x escape is the letter x.
        assert_eq!(args(r#"set k "\xZ1""#)[2], b"xZ1".to_vec());
        assert_eq!(args(r#"set k """#)[2], Vec::<u8>::new());
        assert!(args("   ").is_empty());
        assert_eq!(split_args(r#"set "a"#), Err(LineError::Unbalanced));
        assert_eq!(split_args("set 'a"), Err(LineError::Unbalanced));
        assert_eq!(split_args(r#"set "a"b"#), Err(LineError::AfterQuote));
        // Non-ASCII text goes as its UTF-8 bytes.
        assert_eq!(args("set clé ü")[1], "clé".as_bytes().to_vec());
    }

    #[test]
    fn pasted_lines_are_commands_each() {
        let lines = split_lines("set a 1\r\n\n  get a  \nset \"b\n");
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[1].0, "get a");
        assert!(lines[0].1.is_ok() && lines[2].1.is_err());
    }

    #[test]
    fn quoted_args_read_back_as_the_same_bytes() {
        for arg in [
            &b"plain"[..],
            b"",
            b"a b",
            b"quote\"s",
            b"back\\slash",
            b"\x00\xff\n\r\t",
            b"it's",
            "clé".as_bytes(),
        ] {
            let line = format!("x {}", quote_arg(arg));
            assert_eq!(args(&line)[1], arg.to_vec(), "{line}");
        }
        assert_eq!(quote_arg(b"abc"), "abc");
    }

    #[test]
    fn kept_lines_hold_no_secret() {
        let cmd = |parts: &[&str]| {
            parts
                .iter()
                .map(|p| Bytes::copy_from_slice(p.as_bytes()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            redacted_line(&cmd(&["AUTH", "admin", "s3cret"])),
            "AUTH (redacted) (redacted)"
        );
        assert_eq!(
            redacted_line(&cmd(&["CONFIG", "SET", "requirepass", "p w"])),
            "CONFIG SET requirepass (redacted)"
        );
        assert_eq!(
            redacted_line(&cmd(&["HELLO", "3", "AUTH", "u", "pw", "SETNAME", "n"])),
            "HELLO 3 AUTH (redacted) (redacted) SETNAME n"
        );
        assert_eq!(
            redacted_line(&cmd(&["ACL", "SETUSER", "bob", "on", ">pw", "~*"])),
            "ACL SETUSER bob on (redacted) ~*"
        );
        assert_eq!(redacted_line(&cmd(&["set", "a b", "c"])), "set \"a b\" c");
    }

    fn shown(reply: &RawReply) -> String {
        reply_text(reply)
    }

    #[test]
    fn replies_print_as_redis_cli_prints_them() {
        assert_eq!(shown(&RawReply::Int(3)), "(integer) 3\n");
        assert_eq!(shown(&RawReply::Nil), "(nil)\n");
        assert_eq!(shown(&RawReply::Status("OK".into())), "OK\n");
        assert_eq!(
            shown(&RawReply::Bulk(Bytes::from_static(b"a\"b\n\xff"))),
            "\"a\\\"b\\x0a\\xff\"\n"
        );
        assert_eq!(
            shown(&RawReply::Error("WRONGTYPE bad".into())),
            "(error) WRONGTYPE bad\n"
        );
        assert_eq!(shown(&RawReply::Array(vec![])), "(empty array)\n");
        let nested = RawReply::Array(vec![
            RawReply::Bulk(Bytes::from_static(b"a")),
            RawReply::Array(vec![RawReply::Int(1), RawReply::Int(2)]),
        ]);
        assert_eq!(
            shown(&nested),
            "1) \"a\"\n2) 1) (integer) 1\n   2) (integer) 2\n"
        );
    }
}
