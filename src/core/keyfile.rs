//! The files keys are exported to and imported from.
//!
//! - **JSON Lines** (`jsonl`): a header line, then one typed record a key — portable across
//!   Redis, Valkey and their versions, and into memcached, SQL and file caches for strings.
//!   Bytes are escaped text (`\xNN`, `\\`; printable UTF-8 as it is) or, with `base64`,
//!   base64; the header says which.
//! - **DUMP** (`dump`): the same lines holding `DUMP` payloads, base64; fast, but a payload
//!   restores only on the Redis major version that made it, which the header records.
//! - **Commands** (`commands`): `redis-cli` input, one command a line, quoted as `redis-cli`
//!   reads it (`redis-cli < FILE`, RedisInsight's bulk import); written, not read back.

use std::fmt::Write as _;

use base64::Engine as _;
use bytes::Bytes;
use serde_json::{Value, json};

use crate::core::cmdline::quote_arg;
use crate::core::escape::{escape_bytes, unescape};
use crate::core::model::{FullValue, Record, RecordValue, StreamEntry};

/// The header's marker and version.
pub const MARKER: &str = "cache_console_export";
/// Items a command line of a `commands` export carries at most.
const ITEMS_PER_LINE: usize = 100;

/// A file's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JSON Lines of typed records.
    Jsonl,
    /// `redis-cli` commands.
    Commands,
    /// JSON Lines of `DUMP` payloads.
    Dump,
}

impl Format {
    /// Reads `jsonl`, `commands` or `dump`.
    ///
    /// # Errors
    /// Another word.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "jsonl" => Ok(Self::Jsonl),
            "commands" => Ok(Self::Commands),
            "dump" => Ok(Self::Dump),
            other => Err(format!(
                "`{other}` is not a format: jsonl, commands or dump"
            )),
        }
    }

    fn word(self) -> &'static str {
        match self {
            Self::Jsonl => "jsonl",
            Self::Commands => "commands",
            Self::Dump => "dump",
        }
    }
}

/// What the first line of a `jsonl` or `dump` file says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// `jsonl` or `dump`.
    pub format: Format,
    /// Bytes as base64 (else escaped text).
    pub base64: bool,
    /// Where the keys came from (the server, never a password).
    pub source: String,
    /// The Redis version that made the file, when it came from Redis.
    pub redis_version: Option<String>,
    /// The keys are stored names of a cache that hashes names (Laravel's file store).
    pub hashed_names: bool,
}

impl Header {
    /// The header line.
    #[must_use]
    pub fn line(&self) -> String {
        json!({
            MARKER: 1,
            "format": self.format.word(),
            "encoding": if self.base64 { "base64" } else { "escaped" },
            "source": self.source,
            "redis_version": self.redis_version,
            "hashed_names": self.hashed_names,
            "exported_at": chrono::Utc::now().to_rfc3339(),
        })
        .to_string()
    }

    /// Reads a first line.
    ///
    /// # Errors
    /// It is not a header of this app's exports (a `commands` file says how to load it).
    pub fn parse(line: &str) -> Result<Self, String> {
        let value: Value = serde_json::from_str(line).map_err(|_| {
            if line
                .trim_start()
                .starts_with(|c: char| c.is_ascii_alphabetic())
            {
                "this looks like a commands export: load it with `redis-cli < FILE`, or export \
                 as jsonl to import it here"
                    .to_owned()
            } else {
                "the first line is not an export header: not a file this app exported".to_owned()
            }
        })?;
        if value.get(MARKER).and_then(Value::as_u64) != Some(1) {
            return Err("the first line is not an export header of this app (version 1)".into());
        }
        let text = |name: &str| value.get(name).and_then(Value::as_str).map(str::to_owned);
        let format = match text("format").as_deref() {
            Some("jsonl") => Format::Jsonl,
            Some("dump") => Format::Dump,
            other => {
                return Err(format!(
                    "the header names no format this app reads: {other:?}"
                ));
            }
        };
        Ok(Self {
            format,
            // The keys' encoding; a DUMP payload is base64 whatever it says.
            base64: text("encoding").as_deref() == Some("base64"),
            source: text("source").unwrap_or_default(),
            redis_version: text("redis_version"),
            hashed_names: value
                .get("hashed_names")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        })
    }
}

fn encode(bytes: &[u8], base64: bool) -> Value {
    Value::String(if base64 {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    } else {
        escape_bytes(bytes)
    })
}

fn decode(value: &Value, base64: bool, what: &str) -> Result<Bytes, String> {
    let text = value
        .as_str()
        .ok_or_else(|| format!("{what} is not a string"))?;
    let bytes = if base64 {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|e| format!("{what} is not base64: {e}"))?
    } else {
        unescape(text).map_err(|e| format!("{what}: {e}"))?
    };
    Ok(Bytes::from(bytes))
}

fn score_json(score: f64) -> Value {
    if score.is_finite() {
        json!(score)
    } else if score > 0.0 {
        json!("inf")
    } else {
        json!("-inf")
    }
}

fn score_of(value: &Value) -> Result<f64, String> {
    match value {
        Value::Number(n) => n
            .as_f64()
            .ok_or_else(|| "a score is not a number".to_owned()),
        Value::String(s) if s == "inf" || s == "+inf" => Ok(f64::INFINITY),
        Value::String(s) if s == "-inf" => Ok(f64::NEG_INFINITY),
        _ => Err("a score is not a number".to_owned()),
    }
}

/// A record's line.
#[must_use]
pub fn record_line(record: &Record, base64: bool) -> String {
    let e = |b: &[u8]| encode(b, base64);
    let pairs = |items: &[(Bytes, Bytes)]| -> Value {
        Value::Array(items.iter().map(|(a, b)| json!([e(a), e(b)])).collect())
    };
    let mut line = json!({ "key": e(&record.key), "ttl_ms": record.ttl_ms });
    match &record.value {
        RecordValue::Dump(payload) => {
            line["dump"] = encode(payload, true);
        }
        RecordValue::Value(value) => {
            let (kind, body) = match value {
                FullValue::String(b) => ("string", e(b)),
                FullValue::Hash(items) => ("hash", pairs(items)),
                FullValue::List(items) => ("list", items.iter().map(|i| e(i)).collect()),
                FullValue::Set(items) => ("set", items.iter().map(|i| e(i)).collect()),
                FullValue::ZSet(items) => (
                    "zset",
                    items
                        .iter()
                        .map(|(m, s)| json!([e(m), score_json(*s)]))
                        .collect(),
                ),
                FullValue::Stream(entries) => (
                    "stream",
                    entries
                        .iter()
                        .map(|entry| json!({"id": e(&entry.id), "fields": pairs(&entry.fields)}))
                        .collect(),
                ),
                FullValue::Json(text) => ("json", Value::String(text.clone())),
            };
            line["type"] = json!(kind);
            line["value"] = body;
        }
    }
    line.to_string()
}

fn array<'a>(value: &'a Value, what: &str) -> Result<&'a Vec<Value>, String> {
    value
        .as_array()
        .ok_or_else(|| format!("{what} is not a list"))
}

fn pairs_of(value: &Value, base64: bool, what: &str) -> Result<Vec<(Bytes, Bytes)>, String> {
    array(value, what)?
        .iter()
        .map(|pair| match pair.as_array().map(Vec::as_slice) {
            Some([a, b]) => Ok((decode(a, base64, what)?, decode(b, base64, what)?)),
            _ => Err(format!("{what} holds something that is not a pair")),
        })
        .collect()
}

/// Reads a record line of a file whose header is `header`.
///
/// # Errors
/// The line is not a record, or a field is not what its type needs.
pub fn parse_record(line: &str, header: &Header) -> Result<Record, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let b64 = header.base64;
    let key = decode(value.get("key").unwrap_or(&Value::Null), b64, "the key")?;
    let ttl_ms = match value.get("ttl_ms") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .ok_or_else(|| "ttl_ms is not a whole number of milliseconds".to_owned())?,
        ),
    };
    if let Some(payload) = value.get("dump") {
        return Ok(Record {
            key,
            ttl_ms,
            value: RecordValue::Dump(decode(payload, true, "the dump")?),
        });
    }
    let body = value.get("value").unwrap_or(&Value::Null);
    let items = |what: &str| -> Result<Vec<Bytes>, String> {
        array(body, what)?
            .iter()
            .map(|i| decode(i, b64, what))
            .collect()
    };
    let full = match value.get("type").and_then(Value::as_str) {
        Some("string") => FullValue::String(decode(body, b64, "the value")?),
        Some("hash") => FullValue::Hash(pairs_of(body, b64, "the hash")?),
        Some("list") => FullValue::List(items("the list")?),
        Some("set") => FullValue::Set(items("the set")?),
        Some("zset") => FullValue::ZSet(
            array(body, "the sorted set")?
                .iter()
                .map(|pair| match pair.as_array().map(Vec::as_slice) {
                    Some([m, s]) => Ok((decode(m, b64, "a member")?, score_of(s)?)),
                    _ => Err("the sorted set holds something that is not a pair".to_owned()),
                })
                .collect::<Result<_, String>>()?,
        ),
        Some("stream") => FullValue::Stream(
            array(body, "the stream")?
                .iter()
                .map(|entry| {
                    Ok(StreamEntry {
                        id: decode(entry.get("id").unwrap_or(&Value::Null), b64, "an entry id")?,
                        fields: pairs_of(
                            entry.get("fields").unwrap_or(&Value::Null),
                            b64,
                            "an entry",
                        )?,
                    })
                })
                .collect::<Result<_, String>>()?,
        ),
        Some("json") => FullValue::Json(
            body.as_str()
                .ok_or_else(|| "a JSON document is not text".to_owned())?
                .to_owned(),
        ),
        other => return Err(format!("no type this app reads: {other:?}")),
    };
    Ok(Record {
        key,
        ttl_ms,
        value: RecordValue::Value(full),
    })
}

/// The `redis-cli` lines that rebuild a record: `DEL`, the value (long collections over
/// several lines), then `PEXPIRE`. A `DUMP` record has none (it is not text).
#[must_use]
pub fn command_lines(record: &Record) -> Vec<String> {
    let RecordValue::Value(value) = &record.value else {
        return Vec::new();
    };
    let key = quote_arg(&record.key);
    let mut out = vec![format!("DEL {key}")];
    let mut chunked = |name: &str, words: Vec<String>, per_item: usize| {
        for chunk in words.chunks(ITEMS_PER_LINE * per_item) {
            out.push(format!("{name} {key} {}", chunk.join(" ")));
        }
    };
    match value {
        FullValue::String(b) => chunked("SET", vec![quote_arg(b)], 1),
        FullValue::Hash(pairs) => chunked(
            "HSET",
            pairs
                .iter()
                .flat_map(|(f, v)| [quote_arg(f), quote_arg(v)])
                .collect(),
            2,
        ),
        FullValue::List(items) => chunked("RPUSH", items.iter().map(|i| quote_arg(i)).collect(), 1),
        FullValue::Set(items) => chunked("SADD", items.iter().map(|i| quote_arg(i)).collect(), 1),
        FullValue::ZSet(items) => chunked(
            "ZADD",
            items
                .iter()
                .flat_map(|(m, s)| {
                    let score = if s.is_infinite() {
                        if *s > 0.0 {
                            "inf".to_owned()
                        } else {
                            "-inf".to_owned()
                        }
                    } else {
                        format!("{s:?}")
                    };
                    [score, quote_arg(m)]
                })
                .collect(),
            2,
        ),
        FullValue::Stream(entries) => {
            for entry in entries {
                let mut line = format!("XADD {key} {}", quote_arg(&entry.id));
                for (f, v) in &entry.fields {
                    let _ = write!(line, " {} {}", quote_arg(f), quote_arg(v));
                }
                out.push(line);
            }
        }
        FullValue::Json(text) => {
            out.push(format!("JSON.SET {key} $ {}", quote_arg(text.as_bytes())));
        }
    }
    if let Some(ms) = record.ttl_ms {
        out.push(format!("PEXPIRE {key} {ms}"));
    }
    out
}

/// The major version of a Redis version (`7` of `7.0.15`).
#[must_use]
pub fn major(version: &str) -> Option<u32> {
    version.split('.').next()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &[u8]) -> Bytes {
        Bytes::copy_from_slice(s)
    }

    fn records() -> Vec<Record> {
        vec![
            Record {
                key: b(b"s:\xff"),
                ttl_ms: Some(5_000),
                value: RecordValue::Value(FullValue::String(b(b"a \"b\"\n\x00"))),
            },
            Record {
                key: b(b"h"),
                ttl_ms: None,
                value: RecordValue::Value(FullValue::Hash(vec![(b(b"f"), b(b"v\\x"))])),
            },
            Record {
                key: b(b"z"),
                ttl_ms: None,
                value: RecordValue::Value(FullValue::ZSet(vec![
                    (b(b"a"), 1.5),
                    (b(b"b"), f64::NEG_INFINITY),
                ])),
            },
            Record {
                key: b(b"x"),
                ttl_ms: None,
                value: RecordValue::Value(FullValue::Stream(vec![StreamEntry {
                    id: b(b"1-1"),
                    fields: vec![(b(b"k"), b(b"v"))],
                }])),
            },
            Record {
                key: b(b"d"),
                ttl_ms: Some(1),
                value: RecordValue::Dump(b(b"\x00\x01payload")),
            },
        ]
    }

    #[test]
    fn records_read_back_exactly_in_both_encodings() {
        for base64 in [false, true] {
            let header = Header {
                format: Format::Jsonl,
                base64,
                source: "Redis 7.0.15".into(),
                redis_version: Some("7.0.15".into()),
                hashed_names: false,
            };
            let read = Header::parse(&header.line()).expect("header");
            assert_eq!(read, header);
            for record in records() {
                let line = record_line(&record, base64);
                assert!(!line.contains('\n'));
                assert_eq!(parse_record(&line, &read).expect("record"), record);
            }
        }
    }

    #[test]
    fn command_lines_load_with_redis_cli_quoting() {
        let lines = command_lines(&records()[0]);
        assert_eq!(lines[0], "DEL \"s:\\xff\"");
        let set = crate::core::cmdline::split_args(&lines[1]).expect("splits");
        assert_eq!(set[2].as_ref(), b"a \"b\"\n\x00");
        assert_eq!(lines[2], "PEXPIRE \"s:\\xff\" 5000");
        let z = command_lines(&records()[2]);
        assert_eq!(z[1], "ZADD z 1.5 a -inf b");
        assert!(command_lines(&records()[4]).is_empty());
        let big = Record {
            key: b(b"l"),
            ttl_ms: None,
            value: RecordValue::Value(FullValue::List(
                (0..250).map(|i| Bytes::from(i.to_string())).collect(),
            )),
        };
        assert_eq!(command_lines(&big).len(), 1 + 3);
    }

    #[test]
    fn other_files_are_refused_saying_what_they_are() {
        assert!(
            Header::parse("SET a b")
                .expect_err("a commands file")
                .contains("redis-cli")
        );
        assert!(Header::parse("{\"x\":1}").is_err());
        assert_eq!(major("7.0.15"), Some(7));
        assert_eq!(major("6.2"), Some(6));
    }
}
