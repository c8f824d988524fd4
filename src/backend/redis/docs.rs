//! What the console shows while a command is typed: `COMMAND DOCS` read into
//! [`CommandDoc`]s (Redis 7 and later), or, for an older server, the table bundled from a
//! Redis 7 (`assets/redis-commands.tsv`, checked against a live server by the tests).

use redis::Value;

use crate::core::model::CommandDoc;

/// The bundled table: `name \t group \t since \t summary \t arguments` a line.
const BUNDLED: &str = include_str!("../../../assets/redis-commands.tsv");

/// Entries read at most from a server's answer (Redis 7.2 has about 400 with subcommands).
const MAX_DOCS: usize = 5_000;

/// The bundled table, for a server without `COMMAND DOCS`.
#[must_use]
pub fn bundled() -> Vec<CommandDoc> {
    BUNDLED
        .lines()
        .filter_map(|line| {
            let mut f = line.split('\t');
            Some(CommandDoc {
                name: f.next()?.to_owned(),
                group: f.next()?.to_owned(),
                since: f.next()?.to_owned(),
                summary: f.next()?.to_owned(),
                args: f.next().unwrap_or_default().to_owned(),
            })
        })
        .collect()
}

/// A table line of `doc` (what [`bundled`] reads back).
#[must_use]
pub fn table_line(doc: &CommandDoc) -> String {
    let clean = |s: &str| s.replace(['\t', '\n', '\r'], " ");
    format!(
        "{}\t{}\t{}\t{}\t{}",
        clean(&doc.name),
        clean(&doc.group),
        clean(&doc.since),
        clean(&doc.summary),
        clean(&doc.args)
    )
}

/// Text of a simple reply value.
fn text(value: &Value) -> Option<String> {
    match value {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) | Value::VerbatimString { text: s, .. } => Some(s.clone()),
        Value::Okay => Some("OK".to_owned()),
        Value::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

/// Name/value pairs of a map, whether RESP3 sent a map or RESP2 a flat array.
fn pairs(value: &Value) -> Vec<(String, &Value)> {
    match value {
        Value::Map(entries) => entries
            .iter()
            .filter_map(|(k, v)| Some((text(k)?, v)))
            .collect(),
        Value::Array(items) => items
            .chunks_exact(2)
            .filter_map(|kv| Some((text(&kv[0])?, &kv[1])))
            .collect(),
        _ => Vec::new(),
    }
}

fn field<'a>(fields: &'a [(String, &'a Value)], name: &str) -> Option<&'a Value> {
    fields.iter().find(|(k, _)| k == name).map(|(_, v)| *v)
}

fn items(value: Option<&Value>) -> &[Value] {
    match value {
        Some(Value::Array(items) | Value::Set(items)) => items,
        _ => &[],
    }
}

/// `COMMAND DOCS`'s answer as docs, subcommands as their own entries (`CONFIG SET`).
#[must_use]
pub fn parse(reply: &Value) -> Vec<CommandDoc> {
    let mut out = Vec::new();
    collect(reply, &mut out);
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

fn collect(reply: &Value, out: &mut Vec<CommandDoc>) {
    for (name, doc) in pairs(reply) {
        if out.len() >= MAX_DOCS {
            return;
        }
        let fields = pairs(doc);
        let get = |n: &str| field(&fields, n).and_then(text).unwrap_or_default();
        let args = items(field(&fields, "arguments"))
            .iter()
            .map(arg_hint)
            .collect::<Vec<_>>()
            .join(" ");
        out.push(CommandDoc {
            name: name.replace('|', " ").to_ascii_uppercase(),
            args,
            summary: get("summary"),
            group: get("group"),
            since: get("since"),
        });
        if let Some(subs) = field(&fields, "subcommands") {
            collect(subs, out);
        }
    }
}

/// One argument as a hint: `key`, `[NX | XX]`, `EX seconds`, `key [key ...]`.
fn arg_hint(arg: &Value) -> String {
    let fields = pairs(arg);
    let get = |n: &str| field(&fields, n).and_then(text);
    let kind = get("type").unwrap_or_default();
    let flags: Vec<String> = items(field(&fields, "flags"))
        .iter()
        .filter_map(text)
        .collect();
    let children: Vec<String> = items(field(&fields, "arguments"))
        .iter()
        .map(arg_hint)
        .collect();
    let optional = flags.iter().any(|f| f == "optional");
    let token = get("token");
    let mut core = match kind.as_str() {
        "pure-token" => token.clone().unwrap_or_default(),
        "oneof" if optional => children.join(" | "),
        "oneof" => format!("<{}>", children.join(" | ")),
        "block" => children.join(" "),
        _ => get("display_text")
            .or_else(|| get("name"))
            .unwrap_or_default(),
    };
    if kind != "pure-token"
        && let Some(token) = token
    {
        core = format!("{token} {core}");
    }
    if flags.iter().any(|f| f == "multiple") {
        core = format!("{core} [{core} ...]");
    }
    if optional { format!("[{core}]") } else { core }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(t: &str) -> Value {
        Value::BulkString(t.as_bytes().to_vec())
    }

    #[test]
    fn docs_read_with_their_arguments_and_subcommands() {
        let arg = |name: &str, kind: &str, extra: Vec<Value>| {
            let mut v = vec![s("name"), s(name), s("type"), s(kind)];
            v.extend(extra);
            Value::Array(v)
        };
        let set = Value::Array(vec![
            s("summary"),
            s("Set the string value of a key"),
            s("since"),
            s("1.0.0"),
            s("group"),
            s("string"),
            s("arguments"),
            Value::Array(vec![
                arg("key", "key", vec![]),
                arg("value", "string", vec![]),
                arg(
                    "condition",
                    "oneof",
                    vec![
                        s("flags"),
                        Value::Array(vec![Value::SimpleString("optional".into())]),
                        s("arguments"),
                        Value::Array(vec![
                            arg("nx", "pure-token", vec![s("token"), s("NX")]),
                            arg("xx", "pure-token", vec![s("token"), s("XX")]),
                        ]),
                    ],
                ),
                arg(
                    "seconds",
                    "integer",
                    vec![
                        s("token"),
                        s("EX"),
                        s("flags"),
                        Value::Array(vec![Value::SimpleString("optional".into())]),
                    ],
                ),
            ]),
        ]);
        let config = Value::Array(vec![
            s("summary"),
            s("A container"),
            s("subcommands"),
            Value::Map(vec![(
                s("config|get"),
                Value::Array(vec![
                    s("summary"),
                    s("Get parameters"),
                    s("arguments"),
                    Value::Array(vec![arg(
                        "parameter",
                        "string",
                        vec![
                            s("flags"),
                            Value::Array(vec![Value::SimpleString("multiple".into())]),
                        ],
                    )]),
                ]),
            )]),
        ]);
        let docs = parse(&Value::Array(vec![s("set"), set, s("config"), config]));
        let names: Vec<&str> = docs.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["CONFIG", "CONFIG GET", "SET"]);
        assert_eq!(docs[2].args, "key value [NX | XX] [EX seconds]");
        assert_eq!(docs[2].since, "1.0.0");
        assert_eq!(docs[1].args, "parameter [parameter ...]");
        assert_eq!(bundled_line_round_trip(&docs[2]), docs[2]);
    }

    fn bundled_line_round_trip(doc: &CommandDoc) -> CommandDoc {
        let line = table_line(doc);
        let mut f = line.split('\t');
        CommandDoc {
            name: f.next().unwrap_or_default().to_owned(),
            group: f.next().unwrap_or_default().to_owned(),
            since: f.next().unwrap_or_default().to_owned(),
            summary: f.next().unwrap_or_default().to_owned(),
            args: f.next().unwrap_or_default().to_owned(),
        }
    }

    #[test]
    fn the_bundled_table_has_the_common_commands() {
        let docs = bundled();
        for name in ["GET", "SET", "HSET", "CONFIG GET", "CLUSTER INFO", "XADD"] {
            assert!(docs.iter().any(|d| d.name == name), "{name}");
        }
        assert!(docs.iter().all(|d| !d.summary.is_empty()));
    }
}
