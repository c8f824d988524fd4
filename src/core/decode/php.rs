//! PHP's `serialize()` format, read into a tree and written back byte for byte.
//!
//! Laravel and DreamFactory store cache values this way in every store. No maintained crate
//! both parses every construct (objects with private/protected members, custom `C:` payloads,
//! references, enums) and writes it back exactly, so this is a small hand-written parser. Floats
//! keep their original text so an unchanged value re-serializes to the same bytes.

use super::{Key, Node};

/// Deepest nesting accepted (malformed or hostile data must not overflow the stack).
const MAX_DEPTH: usize = 128;

/// A parse failure: what went wrong and at which byte.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not PHP serialize() data: {reason} at byte {offset}")]
pub struct PhpError {
    /// Byte offset of the problem.
    pub offset: usize,
    /// What was expected.
    pub reason: String,
}

struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    fn fail<T>(&self, reason: impl Into<String>) -> Result<T, PhpError> {
        Err(PhpError {
            offset: self.pos,
            reason: reason.into(),
        })
    }

    fn expect(&mut self, byte: u8) -> Result<(), PhpError> {
        if self.input.get(self.pos) == Some(&byte) {
            self.pos += 1;
            Ok(())
        } else {
            self.fail(format!("expected `{}`", char::from(byte)))
        }
    }

    /// Bytes up to (not including) `end`, which is consumed.
    fn until(&mut self, end: u8) -> Result<&'a [u8], PhpError> {
        let rest = &self.input[self.pos..];
        let Some(i) = memchr::memchr(end, rest) else {
            return self.fail(format!("missing `{}`", char::from(end)));
        };
        self.pos += i + 1;
        Ok(&rest[..i])
    }

    fn number<T: std::str::FromStr>(&mut self, end: u8) -> Result<T, PhpError> {
        let start = self.pos;
        let text = self.until(end)?;
        std::str::from_utf8(text)
            .ok()
            .and_then(|t| t.parse().ok())
            .ok_or(PhpError {
                offset: start,
                reason: "expected a number".to_owned(),
            })
    }

    /// `<len>:"<bytes>"` (the length counts bytes).
    fn counted_string(&mut self) -> Result<Vec<u8>, PhpError> {
        let len: usize = self.number(b':')?;
        self.expect(b'"')?;
        let end = self.pos.checked_add(len).filter(|e| *e <= self.input.len());
        let Some(end) = end else {
            return self.fail(format!("a string of {len} bytes runs past the end"));
        };
        let bytes = self.input[self.pos..end].to_vec();
        self.pos = end;
        self.expect(b'"')?;
        Ok(bytes)
    }

    fn members(&mut self, depth: usize) -> Result<Vec<(Key, Node)>, PhpError> {
        let n: usize = self.number(b':')?;
        self.expect(b'{')?;
        let mut out = Vec::with_capacity(n.min(4096));
        for _ in 0..n {
            let key = match self.value(depth + 1)? {
                Node::Int(i) => Key::Int(i),
                Node::Str(s) => Key::Str(s),
                _ => return self.fail("array keys must be integers or strings"),
            };
            out.push((key, self.value(depth + 1)?));
        }
        self.expect(b'}')?;
        Ok(out)
    }

    fn value(&mut self, depth: usize) -> Result<Node, PhpError> {
        if depth > MAX_DEPTH {
            return self.fail("nesting is too deep");
        }
        let Some(&tag) = self.input.get(self.pos) else {
            return self.fail("unexpected end");
        };
        self.pos += 1;
        if tag == b'N' {
            self.expect(b';')?;
            return Ok(Node::Null);
        }
        self.expect(b':')?;
        Ok(match tag {
            b'b' => match self.until(b';')? {
                b"0" => Node::Bool(false),
                b"1" => Node::Bool(true),
                _ => return self.fail("a boolean must be 0 or 1"),
            },
            b'i' => Node::Int(self.number(b';')?),
            b'd' => {
                let start = self.pos;
                let text = std::str::from_utf8(self.until(b';')?).unwrap_or("");
                let value = match text {
                    "INF" => f64::INFINITY,
                    "-INF" => f64::NEG_INFINITY,
                    "NAN" => f64::NAN,
                    t => t.parse().map_err(|_| PhpError {
                        offset: start,
                        reason: "expected a float".to_owned(),
                    })?,
                };
                Node::Float(value, text.to_owned())
            }
            b's' => {
                let s = self.counted_string()?;
                self.expect(b';')?;
                Node::Str(s)
            }
            b'a' => Node::List(self.members(depth)?),
            b'O' => {
                let class = String::from_utf8_lossy(&self.counted_string()?).into_owned();
                self.expect(b':')?;
                Node::Object {
                    class,
                    members: self.members(depth)?,
                }
            }
            b'C' => {
                let class = String::from_utf8_lossy(&self.counted_string()?).into_owned();
                self.expect(b':')?;
                let len: usize = self.number(b':')?;
                self.expect(b'{')?;
                let end = self.pos.checked_add(len).filter(|e| *e <= self.input.len());
                let Some(end) = end else {
                    return self.fail("custom data runs past the end");
                };
                let data = self.input[self.pos..end].to_vec();
                self.pos = end;
                self.expect(b'}')?;
                Node::Custom { class, data }
            }
            b'E' => {
                let name = self.counted_string()?;
                self.expect(b';')?;
                Node::Enum(String::from_utf8_lossy(&name).into_owned())
            }
            b'r' | b'R' => Node::Ref(tag == b'R', self.number(b';')?),
            other => {
                self.pos -= 2;
                return self.fail(format!("unknown type `{}`", char::from(other)));
            }
        })
    }
}

/// Parses a whole `serialize()` string.
///
/// # Errors
/// The bytes are not serialized PHP, or have bytes left over after the value.
pub fn unserialize(input: &[u8]) -> Result<Node, PhpError> {
    let mut p = Parser { input, pos: 0 };
    let node = p.value(0)?;
    if p.pos != input.len() {
        return p.fail("unexpected bytes after the value");
    }
    Ok(node)
}

/// True when the bytes look like the start of serialized PHP (cheap check before parsing).
#[must_use]
pub fn looks_serialized(bytes: &[u8]) -> bool {
    matches!(bytes, [b'N', b';', ..])
        || matches!(
            bytes,
            [
                b'a' | b'O' | b's' | b'i' | b'd' | b'b' | b'C' | b'E',
                b':',
                ..
            ]
        )
}

fn write_counted(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(bytes.len().to_string().as_bytes());
    out.extend_from_slice(b":\"");
    out.extend_from_slice(bytes);
    out.push(b'"');
}

fn write_members(out: &mut Vec<u8>, members: &[(Key, Node)]) {
    out.extend_from_slice(members.len().to_string().as_bytes());
    out.extend_from_slice(b":{");
    for (key, value) in members {
        match key {
            Key::Int(i) => out.extend_from_slice(format!("i:{i};").as_bytes()),
            Key::Str(s) => {
                out.extend_from_slice(b"s:");
                write_counted(out, s);
                out.push(b';');
            }
        }
        write_value(out, value);
    }
    out.push(b'}');
}

fn write_value(out: &mut Vec<u8>, node: &Node) {
    match node {
        Node::Null => out.extend_from_slice(b"N;"),
        Node::Bool(b) => out.extend_from_slice(if *b { b"b:1;" } else { b"b:0;" }),
        Node::Int(i) => out.extend_from_slice(format!("i:{i};").as_bytes()),
        Node::Float(_, text) => out.extend_from_slice(format!("d:{text};").as_bytes()),
        Node::Str(s) => {
            out.extend_from_slice(b"s:");
            write_counted(out, s);
            out.push(b';');
        }
        Node::List(members) => {
            out.extend_from_slice(b"a:");
            write_members(out, members);
        }
        Node::Object { class, members } => {
            out.extend_from_slice(b"O:");
            write_counted(out, class.as_bytes());
            out.push(b':');
            write_members(out, members);
        }
        Node::Custom { class, data } => {
            out.extend_from_slice(b"C:");
            write_counted(out, class.as_bytes());
            out.extend_from_slice(format!(":{}:{{", data.len()).as_bytes());
            out.extend_from_slice(data);
            out.push(b'}');
        }
        Node::Enum(name) => {
            out.extend_from_slice(b"E:");
            write_counted(out, name.as_bytes());
            out.push(b';');
        }
        Node::Ref(upper, n) => {
            out.extend_from_slice(format!("{}:{n};", if *upper { 'R' } else { 'r' }).as_bytes());
        }
        Node::Map(_) | Node::Bytes(_) => {
            // Only PHP-decoded trees are written back; a MessagePack map has no PHP form.
            out.extend_from_slice(b"N;");
        }
    }
}

/// Writes a tree back in `serialize()` form (the inverse of [`unserialize`]).
#[must_use]
pub fn serialize(node: &Node) -> Vec<u8> {
    let mut out = Vec::new();
    write_value(&mut out, node);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_construct_round_trips_exactly() {
        let samples: [&[u8]; 9] = [
            b"N;",
            b"b:1;",
            b"i:-42;",
            b"d:0.1;",
            b"s:5:\"h\xc3\xa9!\x00\";",
            b"a:2:{i:0;s:1:\"a\";s:3:\"key\";a:1:{i:5;d:1.0E+25;}}",
            b"O:8:\"stdClass\":2:{s:4:\"name\";s:3:\"Ada\";s:6:\"\x00*\x00age\";i:36;}",
            b"C:11:\"ArrayObject\":21:{x:i:0;a:0:{};m:a:0:{}}",
            b"a:2:{i:0;O:1:\"A\":0:{}i:1;r:2;}",
        ];
        for s in samples {
            let node =
                unserialize(s).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(s)));
            assert_eq!(serialize(&node), s, "{}", String::from_utf8_lossy(s));
        }
    }

    #[test]
    fn special_floats_round_trip_as_bytes() {
        for s in [&b"d:NAN;"[..], b"d:INF;", b"d:-INF;", b"d:-0;"] {
            let node = unserialize(s).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(serialize(&node), s);
        }
    }

    #[test]
    fn malformed_data_is_an_error_with_a_position() {
        for bad in [
            &b"s:10:\"short\";"[..],
            b"a:1:{i:0;}",
            b"i:abc;",
            b"x:1;",
            b"N;extra",
            b"",
            b"a:99999999999999999999:{}",
        ] {
            assert!(
                unserialize(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let deep = "a:1:{i:0;".repeat(2000);
        assert!(
            unserialize(deep.as_bytes()).is_err(),
            "deep nesting is refused, not a crash"
        );
        let e = unserialize(b"a:1:{i:0;b:2;}").expect_err("bad bool");
        assert!(e.to_string().contains("at byte"), "{e}");
    }

    /// Trees PHP itself can produce: scalars, strings of any bytes, arrays with int or string
    /// keys, objects with members, nested.
    fn php_tree() -> impl proptest::strategy::Strategy<Value = Node> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Node::Null),
            any::<bool>().prop_map(Node::Bool),
            any::<i64>().prop_map(Node::Int),
            proptest::collection::vec(any::<u8>(), 0..12).prop_map(Node::Str),
            (-1_000_000i32..1_000_000).prop_map(|n| {
                let f = f64::from(n) / 8.0;
                Node::Float(f, f.to_string())
            }),
        ];
        let key = prop_oneof![
            any::<i64>().prop_map(Key::Int),
            proptest::collection::vec(any::<u8>(), 0..6).prop_map(Key::Str),
        ];
        leaf.prop_recursive(3, 24, 4, move |inner| {
            prop_oneof![
                proptest::collection::vec((key.clone(), inner.clone()), 0..4).prop_map(Node::List),
                (
                    "[A-Z][a-z]{0,6}",
                    proptest::collection::vec((key.clone(), inner), 0..3)
                )
                    .prop_map(|(class, members)| Node::Object { class, members }),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn what_is_serialized_reads_back_the_same(node in php_tree()) {
            let bytes = serialize(&node);
            let back = unserialize(&bytes).map_err(|e| proptest::test_runner::TestCaseError::fail(e.to_string()))?;
            proptest::prop_assert_eq!(serialize(&back), bytes);
        }

        #[test]
        fn any_bytes_parse_or_fail_without_panicking(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            // Compared as bytes: `d:NAN;` reads as a float that is not equal to itself.
            if let Ok(node) = unserialize(&bytes) {
                let again = serialize(&node);
                proptest::prop_assert_eq!(unserialize(&again).ok().map(|n| serialize(&n)), Some(again));
            }
        }

        #[test]
        fn serialized_looking_prefixes_fail_cleanly(tail in proptest::collection::vec(proptest::num::u8::ANY, 0..40), head in proptest::sample::select(vec!["a:", "O:", "s:", "i:", "d:", "b:", "C:", "E:", "r:", "R:"])) {
            let mut bytes = head.as_bytes().to_vec();
            bytes.extend(tail);
            let _ = unserialize(&bytes);
        }
    }

    #[test]
    fn detection_is_cheap_and_strict() {
        assert!(looks_serialized(b"a:0:{}"));
        assert!(looks_serialized(b"N;"));
        assert!(!looks_serialized(b"{\"json\":1}"));
        assert!(!looks_serialized(b"plain text"));
    }
}
