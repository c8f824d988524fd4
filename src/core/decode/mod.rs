//! Reading the value formats PHP applications store in caches: `serialize()` (also inside
//! base64, as some Laravel versions write to SQL), MessagePack, gzip and zlib, and the flags
//! PHP's memcached extension sets. Formats are detected where that is safe and can always be
//! chosen by hand; malformed data gives an error and the caller falls back to text or hex.

pub mod php;

use std::io::Read as _;

use base64::Engine as _;

use crate::core::escape::escape_bytes;

/// Largest decompressed size accepted (a "zip bomb" must not exhaust memory).
const MAX_INFLATED_BYTES: u64 = 256 * 1024 * 1024;

/// A map key of a decoded value.
#[derive(Debug, Clone, PartialEq)]
pub enum Key {
    /// An integer key.
    Int(i64),
    /// A string key (bytes).
    Str(Vec<u8>),
}

/// A decoded value.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// `null` / `nil`.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float, with the text it was written as (kept for exact re-serialization).
    Float(f64, String),
    /// A string (bytes).
    Str(Vec<u8>),
    /// A PHP array: ordered key/value pairs.
    List(Vec<(Key, Node)>),
    /// A PHP object: class name and members.
    Object {
        /// The class.
        class: String,
        /// Members; private/protected names keep PHP's `\0` markers.
        members: Vec<(Key, Node)>,
    },
    /// A PHP object with its own serialization (`C:`): class and raw payload.
    Custom {
        /// The class.
        class: String,
        /// Its serialized payload.
        data: Vec<u8>,
    },
    /// A PHP 8.1 enum case (`Class:Case`).
    Enum(String),
    /// A PHP reference (`R:`, true) or object reference (`r:`) to the n-th value.
    Ref(bool, u64),
    /// A MessagePack map with arbitrary keys.
    Map(Vec<(Node, Node)>),
    /// MessagePack binary data.
    Bytes(Vec<u8>),
}

/// A way to decode a value, as the user can choose it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// PHP `serialize()`.
    Php,
    /// base64 around PHP `serialize()`.
    Base64Php,
    /// MessagePack.
    MessagePack,
    /// gzip, then whatever is inside.
    Gzip,
    /// zlib, then whatever is inside.
    Zlib,
}

impl Format {
    /// Every format, in menu order.
    pub const ALL: [Self; 5] = [
        Self::Php,
        Self::Base64Php,
        Self::MessagePack,
        Self::Gzip,
        Self::Zlib,
    ];

    /// A short name.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Php => "PHP serialize",
            Self::Base64Php => "base64 + PHP",
            Self::MessagePack => "MessagePack",
            Self::Gzip => "gzip",
            Self::Zlib => "zlib",
        }
    }
}

/// One step of decoding a stored value, outermost first in [`Decoded::steps`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// PHP `serialize()` output.
    PhpSerialize,
    /// base64 text.
    Base64,
    /// MessagePack.
    MessagePack,
    /// gzip compression.
    Gzip,
    /// zlib compression.
    Zlib,
    /// FastLZ compression (PHP's memcached extension).
    FastLz,
    /// The flags PHP's memcached extension stores beside a value.
    PhpMemcachedFlags,
    /// A PHP integer stored as text.
    PhpInt,
    /// A PHP float stored as text.
    PhpFloat,
    /// A PHP boolean stored as text.
    PhpBool,
    /// JSON text.
    Json,
    /// A plain string.
    PlainString,
}

impl Step {
    /// How the step is named to people.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::PhpSerialize => "PHP serialize",
            Self::Base64 => "base64",
            Self::MessagePack => "MessagePack",
            Self::Gzip => "gzip",
            Self::Zlib => "zlib",
            Self::FastLz => "FastLZ",
            Self::PhpMemcachedFlags => "PHP memcached flags",
            Self::PhpInt => "PHP int",
            Self::PhpFloat => "PHP float",
            Self::PhpBool => "PHP bool",
            Self::Json => "JSON",
            Self::PlainString => "string",
        }
    }
}

/// A decoded value and the steps that got there (zlib, then PHP serialize).
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The steps, outermost first.
    pub steps: Vec<Step>,
    /// The value.
    pub node: Node,
}

impl Decoded {
    /// The steps as people read them, outermost first.
    #[must_use]
    pub fn labels(&self) -> Vec<&'static str> {
        self.steps.iter().map(|s| s.label()).collect()
    }
}

/// The steps joined for display: "zlib → PHP serialize".
#[must_use]
pub fn steps_text(steps: &[Step]) -> String {
    steps
        .iter()
        .map(|s| s.label())
        .collect::<Vec<_>>()
        .join(" → ")
}

fn inflate(reader: impl std::io::Read) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    reader
        .take(MAX_INFLATED_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("cannot decompress: {e}"))?;
    if out.len() as u64 > MAX_INFLATED_BYTES {
        return Err("the decompressed value is larger than 256 MiB".to_owned());
    }
    Ok(out)
}

fn from_msgpack(value: rmpv::Value) -> Node {
    use rmpv::Value as V;
    match value {
        V::Nil => Node::Null,
        V::Boolean(b) => Node::Bool(b),
        V::Integer(i) => i.as_i64().map_or_else(
            || {
                let text = i.to_string();
                Node::Float(text.parse().unwrap_or(f64::NAN), text)
            },
            Node::Int,
        ),
        V::F32(f) => Node::Float(f64::from(f), f.to_string()),
        V::F64(f) => Node::Float(f, f.to_string()),
        V::String(s) => Node::Str(s.into_bytes()),
        V::Binary(b) => Node::Bytes(b),
        V::Array(items) => Node::List(
            items
                .into_iter()
                .enumerate()
                .map(|(i, v)| {
                    (
                        Key::Int(i64::try_from(i).unwrap_or(i64::MAX)),
                        from_msgpack(v),
                    )
                })
                .collect(),
        ),
        V::Map(pairs) => Node::Map(
            pairs
                .into_iter()
                .map(|(k, v)| (from_msgpack(k), from_msgpack(v)))
                .collect(),
        ),
        V::Ext(tag, data) => Node::Custom {
            class: format!("msgpack ext {tag}"),
            data,
        },
    }
}

fn msgpack(bytes: &[u8]) -> Result<Node, String> {
    let mut cursor = std::io::Cursor::new(bytes);
    let value =
        rmpv::decode::read_value(&mut cursor).map_err(|e| format!("not MessagePack: {e}"))?;
    if usize::try_from(cursor.position()).unwrap_or(0) != bytes.len() {
        return Err("not MessagePack: bytes left over after the value".to_owned());
    }
    Ok(from_msgpack(value))
}

/// Decodes `bytes` as `format` (compression is followed by automatic detection of the inside).
///
/// # Errors
/// The bytes are not in that format; the message says why.
pub fn decode_as(bytes: &[u8], format: Format) -> Result<Decoded, String> {
    match format {
        Format::Php => {
            let node = php::unserialize(bytes).map_err(|e| e.to_string())?;
            // A serialized string that is itself a serialized array or object: what Laravel's
            // Redis store keeps for a session (the session serializes its attributes, the
            // cache serializes that string again). Shown as the attributes, saved as both.
            if let Node::Str(inner) = &node
                && php::looks_serialized(inner)
                && let Ok(nested @ (Node::List(_) | Node::Object { .. })) = php::unserialize(inner)
            {
                return Ok(Decoded {
                    steps: vec![Step::PhpSerialize, Step::PhpSerialize],
                    node: nested,
                });
            }
            Ok(Decoded {
                steps: vec![Step::PhpSerialize],
                node,
            })
        }
        Format::Base64Php => {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(bytes.trim_ascii())
                .map_err(|e| format!("not base64: {e}"))?;
            let mut inner = decode_as(&raw, Format::Php)?;
            inner.steps.insert(0, Step::Base64);
            Ok(inner)
        }
        Format::MessagePack => msgpack(bytes).map(|node| Decoded {
            steps: vec![Step::MessagePack],
            node,
        }),
        Format::Gzip | Format::Zlib => {
            let inflated = if format == Format::Gzip {
                inflate(flate2::read::GzDecoder::new(bytes))?
            } else {
                inflate(flate2::read::ZlibDecoder::new(bytes))?
            };
            let mut inner = match detect(&inflated, None) {
                Some(result) => result?,
                None => Decoded {
                    steps: Vec::new(),
                    node: Node::Str(inflated),
                },
            };
            inner.steps.insert(
                0,
                if format == Format::Gzip {
                    Step::Gzip
                } else {
                    Step::Zlib
                },
            );
            Ok(inner)
        }
    }
}

/// Decompresses FastLZ (levels 1 and 2), the default compression of PHP's memcached
/// extension. No maintained crate implements it; the format is small: literal runs and
/// back-references whose length and distance are packed in one control byte plus extensions.
///
/// # Errors
/// Malformed data (a reference before the start, a run past the end, an output over `limit`).
pub fn fastlz_decompress(input: &[u8], limit: usize) -> Result<Vec<u8>, String> {
    let bad = || "malformed FastLZ data".to_owned();
    let Some(&first) = input.first() else {
        return Ok(Vec::new());
    };
    let level2 = (first >> 5) == 1;
    let mut out: Vec<u8> = Vec::new();
    let mut ip = 1;
    let mut ctrl = usize::from(first & 31);
    loop {
        if ctrl >= 32 {
            let mut len = (ctrl >> 5) - 1;
            let ofs = (ctrl & 31) << 8;
            if len == 6 {
                if level2 {
                    loop {
                        let code = *input.get(ip).ok_or_else(bad)?;
                        ip += 1;
                        len += usize::from(code);
                        if code != 255 {
                            break;
                        }
                    }
                } else {
                    len += usize::from(*input.get(ip).ok_or_else(bad)?);
                    ip += 1;
                }
            }
            let code = usize::from(*input.get(ip).ok_or_else(bad)?);
            ip += 1;
            let mut distance = ofs + code;
            if level2 && code == 255 && ofs == (31 << 8) {
                let far = (usize::from(*input.get(ip).ok_or_else(bad)?) << 8)
                    + usize::from(*input.get(ip + 1).ok_or_else(bad)?);
                ip += 2;
                distance = far + 8191;
            }
            len += 3;
            let start = out.len().checked_sub(distance + 1).ok_or_else(bad)?;
            if out.len() + len > limit {
                return Err("the decompressed value is too large".to_owned());
            }
            // Byte by byte: a reference may overlap what it produces (runs of one byte).
            for i in 0..len {
                out.push(out[start + i]);
            }
        } else {
            let run = ctrl + 1;
            let literal = input.get(ip..ip + run).ok_or_else(bad)?;
            if out.len() + run > limit {
                return Err("the decompressed value is too large".to_owned());
            }
            out.extend_from_slice(literal);
            ip += run;
        }
        if ip >= input.len() {
            return Ok(out);
        }
        ctrl = usize::from(input[ip]);
        ip += 1;
    }
}

fn zlib_header(bytes: &[u8]) -> bool {
    matches!(bytes, [0x78, second, ..] if (0x7800u16 | u16::from(*second)).is_multiple_of(31))
}

/// Decodes by the flags PHP's memcached extension sets (type in the low nibble, compression
/// above it; a compressed value starts with its 4-byte uncompressed length).
fn by_php_memcached_flags(bytes: &[u8], flags: u32) -> Option<Result<Decoded, String>> {
    const COMPRESSED: u32 = 1 << 4;
    const ZLIB: u32 = 1 << 5;
    const FASTLZ: u32 = 1 << 6;
    let kind = flags & 0xf;
    if flags & !0x7f != 0 || (kind == 0 && flags & COMPRESSED == 0) {
        return None; // not flags this extension writes
    }
    let payload = if flags & COMPRESSED != 0 {
        if bytes.len() < 4 {
            return Some(Err(
                "compressed, but shorter than its length header".to_owned()
            ));
        }
        // The extension writes the uncompressed length (4 bytes) before the compressed data.
        let result = if flags & FASTLZ != 0 {
            let limit = usize::try_from(MAX_INFLATED_BYTES).unwrap_or(usize::MAX);
            fastlz_decompress(&bytes[4..], limit)
        } else if flags & ZLIB != 0 {
            inflate(flate2::read::ZlibDecoder::new(&bytes[4..]))
        } else {
            Err("compressed, but not in a way this console knows".to_owned())
        };
        match result {
            Ok(v) => v,
            Err(e) => return Some(Err(e)),
        }
    } else {
        bytes.to_vec()
    };
    let compressed = flags & COMPRESSED != 0;
    let mut decoded = match kind {
        4 => decode_as(&payload, Format::Php),
        7 => decode_as(&payload, Format::MessagePack),
        5 => Err("igbinary values cannot be read yet".to_owned()),
        1..=3 | 6 | 0 => Ok(Decoded {
            steps: vec![match kind {
                1 => Step::PhpInt,
                2 => Step::PhpFloat,
                3 => Step::PhpBool,
                6 => Step::Json,
                _ => Step::PlainString,
            }],
            node: Node::Str(payload),
        }),
        _ => return None,
    };
    if let Ok(d) = &mut decoded {
        d.steps.insert(0, Step::PhpMemcachedFlags);
        if compressed {
            d.steps.insert(
                1,
                if flags & FASTLZ != 0 {
                    Step::FastLz
                } else {
                    Step::Zlib
                },
            );
        }
    }
    Some(decoded)
}

/// php-memcached's compressed form: the uncompressed length (4 bytes, little-endian), then the
/// data compressed as `how` says.
fn memcached_compressed(plain: &[u8], how: Step) -> Result<Vec<u8>, String> {
    use std::io::Write as _;
    let len = u32::try_from(plain.len()).map_err(|_| "the value is too large".to_owned())?;
    let mut out = len.to_le_bytes().to_vec();
    if how == Step::Zlib {
        let mut z = flate2::write::ZlibEncoder::new(out, flate2::Compression::default());
        z.write_all(plain).map_err(|e| format!("zlib: {e}"))?;
        out = z.finish().map_err(|e| format!("zlib: {e}"))?;
    } else {
        fastlz_literals(plain, &mut out);
    }
    Ok(out)
}

/// A FastLZ level-1 stream of literal runs only (at most 32 bytes each, no back-references):
/// every FastLZ decompressor reads it, php-memcached's included. Written here because no
/// maintained crate writes FastLZ; a value saved this way is a few percent larger than the
/// plain text, and php-memcached compresses it again the next time the app writes it.
fn fastlz_literals(plain: &[u8], out: &mut Vec<u8>) {
    for run in plain.chunks(32) {
        // A run is 1 to 32 bytes: its length less one fits the control byte's five bits.
        out.push(u8::try_from(run.len() - 1).unwrap_or(31));
        out.extend_from_slice(run);
    }
}

/// Detects a format where that is safe (magic bytes, the shape of `serialize()` output, or
/// memcached flags) and decodes. `None` when nothing was recognised: show text or hex.
#[must_use]
pub fn detect(bytes: &[u8], flags: Option<u32>) -> Option<Result<Decoded, String>> {
    if let Some(flags) = flags.filter(|f| *f != 0)
        && let Some(result) = by_php_memcached_flags(bytes, flags)
    {
        return Some(result);
    }
    if bytes.starts_with(&[0x1f, 0x8b]) {
        return Some(decode_as(bytes, Format::Gzip));
    }
    if zlib_header(bytes) {
        // Two bytes could be chance: only claim zlib when it really inflates.
        return decode_as(bytes, Format::Zlib).ok().map(Ok);
    }
    if php::looks_serialized(bytes) {
        return Some(decode_as(bytes, Format::Php));
    }
    // base64 of serialized PHP starts with "YT" (a:), "Tz" (O:), "cz" (s:), "aT" (i:), "Tj" (N;).
    let trimmed = bytes.trim_ascii();
    if trimmed.len() >= 8
        && [b"YT".as_slice(), b"Tz", b"cz", b"aT", b"Tjs", b"Yj", b"ZD"]
            .iter()
            .any(|p| trimmed.starts_with(p))
        && let Ok(d) = decode_as(trimmed, Format::Base64Php)
    {
        return Some(Ok(d));
    }
    None
}

fn key_text(key: &Key) -> String {
    match key {
        Key::Int(i) => i.to_string(),
        Key::Str(s) => {
            // PHP marks private members "\0Class\0name" and protected ones "\0*\0name".
            if s.first() == Some(&0)
                && let Some(end) = s[1..].iter().position(|b| *b == 0)
            {
                let scope = &s[1..=end];
                let name = escape_bytes(&s[end + 2..]);
                return if scope == b"*" {
                    format!("{name} (protected)")
                } else {
                    format!("{name} (private {})", String::from_utf8_lossy(scope))
                };
            }
            escape_bytes(s)
        }
    }
}

/// The value as JSON for display and `get --decode`: strings escaped (`\xNN`), objects as
/// `{"__class": …, members…}`.
#[must_use]
pub fn to_json(node: &Node) -> serde_json::Value {
    use serde_json::{Map, Value};
    match node {
        Node::Null => Value::Null,
        Node::Bool(b) => Value::Bool(*b),
        Node::Int(i) => Value::from(*i),
        Node::Float(f, text) => serde_json::Number::from_f64(*f)
            .map_or_else(|| Value::String(text.clone()), Value::Number),
        Node::Str(s) | Node::Bytes(s) => Value::String(escape_bytes(s)),
        Node::List(members) => {
            let sequential = members
                .iter()
                .enumerate()
                .all(|(i, (k, _))| *k == Key::Int(i64::try_from(i).unwrap_or(-1)));
            if sequential {
                Value::Array(members.iter().map(|(_, v)| to_json(v)).collect())
            } else {
                Value::Object(
                    members
                        .iter()
                        .map(|(k, v)| (key_text(k), to_json(v)))
                        .collect::<Map<_, _>>(),
                )
            }
        }
        Node::Object { class, members } => {
            let mut map = Map::new();
            map.insert("__class".to_owned(), Value::String(class.clone()));
            for (k, v) in members {
                map.insert(key_text(k), to_json(v));
            }
            Value::Object(map)
        }
        Node::Custom { class, data } => serde_json::json!({
            "__class": class,
            "__serialized": escape_bytes(data),
        }),
        Node::Enum(name) => serde_json::json!({ "__enum": name }),
        Node::Ref(upper, n) => serde_json::json!({ "__ref": n, "__by_reference": upper }),
        Node::Map(pairs) => Value::Object(
            pairs
                .iter()
                .map(|(k, v)| {
                    let key = match k {
                        Node::Str(s) => escape_bytes(s),
                        other => to_json(other).to_string(),
                    };
                    (key, to_json(v))
                })
                .collect::<Map<_, _>>(),
        ),
    }
}

/// Pretty JSON text of a decoded value, headed by its decoding steps.
#[must_use]
pub fn render(decoded: &Decoded) -> String {
    let body = serde_json::to_string_pretty(&to_json(&decoded.node)).unwrap_or_default();
    format!("// {}\n{body}", steps_text(&decoded.steps))
}

/// The kind of an editable scalar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarKind {
    /// A string (edited in escaped form).
    Str,
    /// An integer.
    Int,
    /// A float.
    Float,
    /// `true` or `false`.
    Bool,
}

/// One editable scalar of a decoded tree: where it is, its kind and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scalar {
    /// A path such as `[user][name]`.
    pub path: String,
    /// Its kind.
    pub kind: ScalarKind,
    /// Its value as text (strings escaped).
    pub text: String,
}

fn member_path(prefix: &str, key: &Key) -> String {
    format!("{prefix}[{}]", key_text(key))
}

/// Every scalar of a tree, in document order (`null`, references and custom payloads are not
/// editable and are skipped).
#[must_use]
pub fn scalars(node: &Node) -> Vec<Scalar> {
    fn walk(node: &Node, path: &str, out: &mut Vec<Scalar>) {
        let mut push = |kind, text| {
            out.push(Scalar {
                path: if path.is_empty() {
                    "(value)".to_owned()
                } else {
                    path.to_owned()
                },
                kind,
                text,
            });
        };
        match node {
            Node::Str(s) => push(ScalarKind::Str, escape_bytes(s)),
            Node::Int(i) => push(ScalarKind::Int, i.to_string()),
            Node::Float(_, text) => push(ScalarKind::Float, text.clone()),
            Node::Bool(b) => push(ScalarKind::Bool, b.to_string()),
            Node::List(members) | Node::Object { members, .. } => {
                for (k, v) in members {
                    walk(v, &member_path(path, k), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(node, "", &mut out);
    out
}

/// The tree with its scalars replaced by `texts` (same order as [`scalars`]).
///
/// # Errors
/// A text does not fit its scalar's kind; the message names the path.
pub fn with_scalars(node: &Node, texts: &[String]) -> Result<Node, String> {
    fn walk(
        node: &Node,
        path: &str,
        texts: &mut std::slice::Iter<'_, String>,
    ) -> Result<Node, String> {
        let shown = if path.is_empty() { "(value)" } else { path };
        let mut next = || {
            texts
                .next()
                .cloned()
                .ok_or_else(|| "internal: fewer values than scalars".to_owned())
        };
        Ok(match node {
            Node::Str(_) => Node::Str(
                crate::core::escape::unescape(&next()?).map_err(|e| format!("{shown}: {e}"))?,
            ),
            Node::Int(_) => {
                let t = next()?;
                Node::Int(
                    t.trim()
                        .parse()
                        .map_err(|_| format!("{shown}: `{t}` is not an integer"))?,
                )
            }
            Node::Float(..) => {
                let t = next()?;
                let v: f64 = t
                    .trim()
                    .parse()
                    .map_err(|_| format!("{shown}: `{t}` is not a number"))?;
                Node::Float(v, t.trim().to_owned())
            }
            Node::Bool(_) => match next()?.trim() {
                "true" | "1" => Node::Bool(true),
                "false" | "0" => Node::Bool(false),
                other => return Err(format!("{shown}: `{other}` is not true or false")),
            },
            Node::List(members) => Node::List(
                members
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), walk(v, &member_path(path, k), texts)?)))
                    .collect::<Result<_, String>>()?,
            ),
            Node::Object { class, members } => Node::Object {
                class: class.clone(),
                members: members
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), walk(v, &member_path(path, k), texts)?)))
                    .collect::<Result<_, String>>()?,
            },
            other => other.clone(),
        })
    }
    walk(node, "", &mut texts.iter())
}

/// The bytes to store for an edited tree, wrapped the way the original was.
///
/// # Errors
/// The original was compressed or not PHP: such values are edited as text or hex.
pub fn reencode(steps: &[Step], node: &Node) -> Result<Vec<u8>, String> {
    match steps {
        // php-memcached's own values (Laravel's memcached store) keep their flags as stored (the
        // write keeps them), so the payload is written in the form they describe.
        [Step::PhpSerialize] | [Step::PhpMemcachedFlags, Step::PhpSerialize] => {
            Ok(php::serialize(node))
        }
        [Step::PhpSerialize, Step::PhpSerialize] => {
            Ok(php::serialize(&Node::Str(php::serialize(node))))
        }
        [Step::Base64, Step::PhpSerialize] => Ok(base64::engine::general_purpose::STANDARD
            .encode(php::serialize(node))
            .into_bytes()),
        [
            Step::PhpMemcachedFlags,
            how @ (Step::Zlib | Step::FastLz),
            Step::PhpSerialize,
        ] => memcached_compressed(&php::serialize(node), *how),
        _ => Err(format!(
            "values read as {} cannot be saved from here: edit them as text or hex",
            steps_text(steps)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn any_value_is_decoded_or_refused_without_panicking(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..96),
            flags in proptest::option::of(proptest::num::u32::ANY),
        ) {
            if let Some(Ok(decoded)) = detect(&bytes, flags) {
                let _ = to_json(&decoded.node);
                let _ = render(&decoded);
            }
            for format in [Format::Php, Format::Base64Php, Format::MessagePack, Format::Gzip, Format::Zlib] {
                let _ = decode_as(&bytes, format);
            }
            let _ = fastlz_decompress(&bytes, 1 << 16);
        }

        #[test]
        fn messagepack_that_rmpv_writes_is_read(
            ints in proptest::collection::vec(proptest::num::i64::ANY, 0..6),
            text in "\\PC{0,12}",
            blob in proptest::collection::vec(proptest::num::u8::ANY, 0..12),
        ) {
            use rmpv::Value as V;
            let value = V::Map(vec![
                (V::from("ints"), V::Array(ints.iter().map(|i| V::from(*i)).collect())),
                (V::from("text"), V::from(text.as_str())),
                (V::from(7), V::Binary(blob)),
                (V::Nil, V::Boolean(true)),
            ]);
            let mut bytes = Vec::new();
            rmpv::encode::write_value(&mut bytes, &value).map_err(|e| proptest::test_runner::TestCaseError::fail(e.to_string()))?;
            let decoded = decode_as(&bytes, Format::MessagePack);
            proptest::prop_assert!(decoded.is_ok(), "{:?}", decoded);
        }
    }
    use std::io::Write as _;

    #[test]
    fn scalars_are_edited_and_reserialized_exactly() {
        let original = b"a:3:{s:4:\"name\";s:3:\"Ada\";s:3:\"qty\";i:3;s:5:\"price\";d:9.5;}";
        let node = php::unserialize(original).expect("parse");
        let leaves = scalars(&node);
        let paths: Vec<_> = leaves.iter().map(|l| l.path.as_str()).collect();
        assert_eq!(paths, ["[name]", "[qty]", "[price]"]);
        let same: Vec<String> = leaves.iter().map(|l| l.text.clone()).collect();
        let unchanged = with_scalars(&node, &same).expect("same");
        assert_eq!(
            reencode(&[Step::PhpSerialize], &unchanged).expect("encode"),
            original
        );
        let edited =
            with_scalars(&node, &["Ada L.".into(), "4".into(), "10.25".into()]).expect("edit");
        assert_eq!(
            reencode(&[Step::PhpSerialize], &edited).expect("encode"),
            b"a:3:{s:4:\"name\";s:6:\"Ada L.\";s:3:\"qty\";i:4;s:5:\"price\";d:10.25;}"
        );
        let bad =
            with_scalars(&node, &["x".into(), "four".into(), "1".into()]).expect_err("bad int");
        assert!(bad.contains("[qty]"), "{bad}");
        assert!(reencode(&[Step::Gzip, Step::PhpSerialize], &node).is_err());
    }

    #[test]
    fn gzip_and_zlib_are_detected_and_their_content_decoded() {
        let php = b"a:1:{s:3:\"qty\";i:3;}";
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(php).expect("gzip");
        let gz = gz.finish().expect("gzip");
        let d = detect(&gz, None).expect("detected").expect("decoded");
        assert_eq!(d.labels(), ["gzip", "PHP serialize"]);
        assert_eq!(to_json(&d.node), serde_json::json!({"qty": 3}));
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(b"plain text inside").expect("zlib");
        let z = z.finish().expect("zlib");
        let d = detect(&z, None).expect("detected").expect("decoded");
        assert_eq!(d.labels(), ["zlib"]);
        assert_eq!(d.node, Node::Str(b"plain text inside".to_vec()));
    }

    #[test]
    fn message_pack_is_decoded_when_chosen() {
        // {"a": [1, true], "b": nil}
        let bytes = [0x82, 0xa1, b'a', 0x92, 0x01, 0xc3, 0xa1, b'b', 0xc0];
        let d = decode_as(&bytes, Format::MessagePack).expect("msgpack");
        assert_eq!(
            to_json(&d.node),
            serde_json::json!({"a": [1, true], "b": null})
        );
        assert!(
            decode_as(&[0x92, 0x01], Format::MessagePack).is_err(),
            "truncated"
        );
        assert!(
            detect(&bytes, None).is_none(),
            "MessagePack is not guessed from arbitrary bytes"
        );
    }

    #[test]
    fn php_memcached_flags_are_honoured() {
        let php = b"a:1:{i:0;s:2:\"ok\";}";
        let d = detect(php, Some(4)).expect("flags").expect("decoded");
        assert_eq!(d.labels(), ["PHP memcached flags", "PHP serialize"]);
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(php).expect("zlib");
        let mut payload = u32::try_from(php.len())
            .expect("len")
            .to_le_bytes()
            .to_vec();
        payload.extend(z.finish().expect("zlib"));
        let d = detect(&payload, Some(4 | 16 | 32))
            .expect("flags")
            .expect("decoded");
        assert_eq!(d.labels(), ["PHP memcached flags", "zlib", "PHP serialize"]);
        assert_eq!(to_json(&d.node), serde_json::json!(["ok"]));
        assert!(
            detect(b"\0\0\0\0\xff", Some(4 | 16 | 64)).is_some_and(|r| r.is_err()),
            "malformed FastLZ is an error"
        );
        // What the console writes back decodes to what was edited, compressed either way.
        for flags in [4, 4 | 16 | 32, 4 | 16 | 64] {
            let node = php::unserialize(php).expect("php");
            let long = Node::Str(vec![b'x'; 100]);
            for node in [node, long] {
                let plain = php::serialize(&node);
                let stored = if flags == 4 {
                    plain.clone()
                } else {
                    let how = if flags & 64 == 0 {
                        Step::Zlib
                    } else {
                        Step::FastLz
                    };
                    memcached_compressed(&plain, how).expect("compressed")
                };
                let d = detect(&stored, Some(flags))
                    .expect("flags")
                    .expect("decoded");
                assert_eq!(d.node, node, "flags {flags}");
                assert_eq!(reencode(&d.steps, &d.node).expect("re-encoded"), stored);
            }
        }
        // Level 1: a literal "abc", then a reference 3 back of length 3+3.
        let abc = fastlz_decompress(&[2, b'a', b'b', b'c', 0x80, 2], 100).expect("lz");
        assert_eq!(abc, b"abcabcabc");
    }

    #[test]
    fn a_serialized_string_holding_a_serialized_array_is_shown_as_the_array() {
        // Laravel's Redis store keeps a session as serialize(serialize($attributes)).
        let inner = b"a:2:{s:7:\"user_id\";i:42;s:6:\"_token\";s:3:\"abc\";}";
        let outer = php::serialize(&Node::Str(inner.to_vec()));
        let d = detect(&outer, None).expect("detected").expect("decoded");
        assert_eq!(d.labels(), ["PHP serialize", "PHP serialize"]);
        assert_eq!(
            to_json(&d.node),
            serde_json::json!({"user_id": 42, "_token": "abc"})
        );
        assert_eq!(reencode(&d.steps, &d.node).expect("re-encoded"), outer);
        // A string that only looks like a scalar's serialization stays a string.
        let plain = php::serialize(&Node::Str(b"i:5;".to_vec()));
        let d = detect(&plain, None).expect("detected").expect("decoded");
        assert_eq!(d.labels(), ["PHP serialize"]);
        assert_eq!(d.node, Node::Str(b"i:5;".to_vec()));
    }

    #[test]
    fn base64_wrapped_php_is_recognised_and_malformed_data_is_an_error() {
        let wrapped = base64::engine::general_purpose::STANDARD.encode(b"a:1:{i:0;i:7;}");
        let d = detect(wrapped.as_bytes(), None)
            .expect("detected")
            .expect("decoded");
        assert_eq!(d.labels(), ["base64", "PHP serialize"]);
        assert!(detect(b"a:1:{i:0;", None).is_some_and(|r| r.is_err()));
        assert!(detect(b"just text", None).is_none());
        assert!(decode_as(b"not gzip", Format::Gzip).is_err());
    }

    #[test]
    fn objects_show_their_class_and_member_visibility() {
        let node = php::unserialize(
            b"O:4:\"User\":2:{s:2:\"id\";i:1;s:10:\"\x00User\x00pass\";s:1:\"x\";}",
        )
        .expect("parse");
        assert_eq!(
            to_json(&node),
            serde_json::json!({"__class": "User", "id": 1, "pass (private User)": "x"})
        );
    }
}
