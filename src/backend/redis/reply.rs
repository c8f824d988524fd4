//! What Redis answers, read into the console's model: `INFO` sections and figures, the
//! keyspace, scan cursors, slow log entries, client lists, and reply values of any shape.

use std::collections::HashMap;

use bytes::Bytes;
use redis::Value;

use crate::core::model::{ClientInfo, DbInfo, SlowLogEntry, Ttl};

/// A field of an INFO reply (`name:value` lines).
#[must_use]
pub fn info_field<'a>(info: &'a str, name: &str) -> Option<&'a str> {
    info.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        (k == name).then(|| v.trim())
    })
}

/// Splits an INFO reply into its `# Section`s of `name:value` lines.
#[must_use]
pub fn parse_info_sections(info: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut sections: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for line in info.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(name) = line.strip_prefix("# ") {
            sections.push((name.to_owned(), Vec::new()));
        } else if let Some((k, v)) = line.split_once(':') {
            if sections.is_empty() {
                sections.push(("Info".to_owned(), Vec::new()));
            }
            if let Some((_, fields)) = sections.last_mut() {
                fields.push((k.to_owned(), v.to_owned()));
            }
        }
    }
    sections
}

/// The figures of an `INFO` reply the live metrics need.
#[must_use]
pub fn raw_stats(info: &str) -> crate::core::metrics::RawStats {
    let fields: HashMap<&str, &str> = info
        .lines()
        .filter_map(|l| l.trim().split_once(':'))
        .collect();
    let n = |k: &str| fields.get(k).and_then(|v| v.trim().parse::<u64>().ok());
    let keyspace = parse_keyspace(info);
    crate::core::metrics::RawStats {
        instance: fields.get("run_id").map(|v| (*v).to_owned()),
        uptime_secs: n("uptime_in_seconds"),
        hits: n("keyspace_hits"),
        misses: n("keyspace_misses"),
        commands: n("total_commands_processed"),
        gets: None,
        sets: None,
        evicted: n("evicted_keys"),
        expired: n("expired_keys"),
        net_in: n("total_net_input_bytes"),
        net_out: n("total_net_output_bytes"),
        used_memory: n("used_memory"),
        rss_memory: n("used_memory_rss"),
        max_memory: n("maxmemory"),
        fragmentation: fields
            .get("mem_fragmentation_ratio")
            .and_then(|v| v.trim().parse().ok()),
        clients: n("connected_clients"),
        blocked_clients: n("blocked_clients"),
        keys: Some(keyspace.iter().map(|d| d.keys).sum()),
        expired_entries: None,
        total_size: None,
        keys_per_db: keyspace.into_iter().map(|d| (d.index, d.keys)).collect(),
        error: None,
        version: fields.get("redis_version").map(|v| v.trim().to_owned()),
        role: fields.get("role").map(|v| v.trim().to_owned()),
        repl_lag_secs: replication_lag(&fields),
    }
}

/// How far replication lags, from `INFO replication`: a primary's slowest online replica
/// (`slaveN:…,lag=S`), or a replica's silence from its primary (`master_last_io_seconds_ago`
/// while the link is up, `master_link_down_since_seconds` once it is down).
fn replication_lag(fields: &HashMap<&str, &str>) -> Option<f64> {
    let seconds = |k: &str| fields.get(k).and_then(|v| v.trim().parse::<f64>().ok());
    match fields.get("role").map(|r| r.trim()) {
        Some("slave") => {
            if fields.get("master_link_status").map(|s| s.trim()) == Some("up") {
                seconds("master_last_io_seconds_ago").filter(|s| *s >= 0.0)
            } else {
                seconds("master_link_down_since_seconds").filter(|s| *s >= 0.0)
            }
        }
        Some("master") => fields
            .iter()
            .filter(|(k, _)| {
                k.strip_prefix("slave")
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            })
            .filter_map(|(_, v)| {
                v.split(',')
                    .find_map(|part| part.strip_prefix("lag="))
                    .and_then(|lag| lag.trim().parse::<f64>().ok())
            })
            .reduce(f64::max),
        _ => None,
    }
}

/// Parses `INFO keyspace` lines such as `db0:keys=12,expires=3,avg_ttl=0`.
#[must_use]
pub fn parse_keyspace(info: &str) -> Vec<DbInfo> {
    info.lines()
        .filter_map(|line| {
            let (db, rest) = line.split_once(':')?;
            let index = db.strip_prefix("db")?.parse().ok()?;
            let mut keys = 0;
            let mut expires = 0;
            for part in rest.trim().split(',') {
                match part.split_once('=') {
                    Some(("keys", v)) => keys = v.parse().unwrap_or(0),
                    Some(("expires", v)) => expires = v.parse().unwrap_or(0),
                    _ => {}
                }
            }
            Some(DbInfo {
                index,
                keys,
                expires,
            })
        })
        .collect()
}

/// Share of the keyspace a SCAN has visited when it returns `cursor`.
///
/// Redis walks its hash table in reverse-binary order: it reverses the cursor's bits, adds one
/// and reverses back. So the reversed cursor, read as a fraction of 2^64, is how far the
/// iteration has come, whatever the table size.
#[must_use]
pub fn scan_progress(cursor: u64) -> f64 {
    if cursor == 0 {
        return 1.0;
    }
    #[allow(clippy::cast_precision_loss)]
    let visited = cursor.reverse_bits() as f64;
    visited / 18_446_744_073_709_551_616.0
}

/// The keys of a `SCAN` reply as slices of one buffer: one allocation a page rather than one
/// a key, and the reply's own allocations freed here, on the thread that made them (freeing
/// millions of small buffers made elsewhere on the UI thread cost it more than indexing them).
pub(super) fn packed_keys(items: Vec<Value>) -> Vec<Bytes> {
    let total: usize = items
        .iter()
        .map(|v| match v {
            Value::BulkString(b) => b.len(),
            _ => 0,
        })
        .sum();
    let mut buf = Vec::with_capacity(total);
    let mut ends = Vec::with_capacity(items.len());
    for item in &items {
        match item {
            Value::BulkString(b) => buf.extend_from_slice(b),
            other => buf.extend_from_slice(&to_bytes(other.clone())),
        }
        ends.push(buf.len());
    }
    drop(items);
    crate::backend::split_packed(buf, ends)
}

pub(super) fn to_bytes(value: Value) -> Bytes {
    match value {
        Value::BulkString(b) => Bytes::from(b),
        Value::SimpleString(s) | Value::VerbatimString { text: s, .. } => Bytes::from(s),
        Value::Int(i) => Bytes::from(i.to_string()),
        Value::Double(d) => Bytes::from(d.to_string()),
        _ => Bytes::new(),
    }
}

/// A reply as text (a bulk or simple string; lossy for bytes that are not UTF-8, which the
/// replies read this way — node ids, addresses, roles, INFO — never hold).
pub(super) fn text(value: &Value) -> String {
    String::from_utf8_lossy(&to_bytes(value.clone())).into_owned()
}

/// A duration in whole milliseconds, for messages that name a limit.
pub(super) fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

pub(super) fn to_u64(value: &Value) -> Option<u64> {
    match value {
        Value::Int(i) => u64::try_from(*i).ok(),
        Value::BulkString(b) => std::str::from_utf8(b).ok()?.parse().ok(),
        _ => None,
    }
}

pub(super) fn to_f64(value: &Value) -> f64 {
    match value {
        Value::Double(d) => *d,
        Value::Int(i) => {
            #[allow(clippy::cast_precision_loss)]
            let d = *i as f64;
            d
        }
        Value::BulkString(b) => std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(f64::NAN),
        _ => f64::NAN,
    }
}

pub(super) fn array(value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) | Value::Set(items) => items,
        Value::Map(pairs) => pairs.into_iter().flat_map(|(k, v)| [k, v]).collect(),
        _ => Vec::new(),
    }
}

pub(super) fn pairs(items: Vec<Value>) -> Vec<(Bytes, Bytes)> {
    let mut out = Vec::with_capacity(items.len() / 2);
    let mut it = items.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((to_bytes(k), to_bytes(v)));
    }
    out
}

pub(super) fn ttl_from_pttl(pttl: i64) -> Option<Ttl> {
    match pttl {
        -2 => None,
        ms if ms < 0 => Some(Ttl::Persistent),
        ms => Some(Ttl::ExpiresInMs(u64::try_from(ms).unwrap_or(0))),
    }
}

/// Splits `(cursor, [items])`, the reply shape of SCAN, HSCAN, SSCAN and ZSCAN.
/// One `SLOWLOG GET` entry: id, time, microseconds, arguments, client address, client name.
pub(super) fn slow_log_entry(value: Value) -> Option<SlowLogEntry> {
    let mut parts = array(value).into_iter();
    let id = to_u64(&parts.next()?)?;
    let at_unix = to_u64(&parts.next()?)?;
    let duration_us = to_u64(&parts.next()?)?;
    let args = parts.next().map(array).unwrap_or_default();
    let text = |v: Option<Value>| {
        v.map(|v| String::from_utf8_lossy(&to_bytes(v)).into_owned())
            .unwrap_or_default()
    };
    Some(SlowLogEntry {
        id,
        at_unix,
        duration_us,
        args: args.into_iter().map(to_bytes).collect(),
        client: text(parts.next()),
        client_name: text(parts.next()),
        node: None,
    })
}

/// `CLIENT LIST`: one client per line, `name=value` fields separated by spaces (values never
/// hold spaces: Redis refuses them in client names).
#[must_use]
pub fn parse_client_list(text: &str, own_id: u64) -> Vec<ClientInfo> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<(String, String)> = line
                .split_whitespace()
                .filter_map(|f| f.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            let id = fields
                .iter()
                .find(|(k, _)| k == "id")
                .and_then(|(_, v)| v.parse().ok())?;
            Some(ClientInfo {
                id,
                own: id == own_id,
                fields,
                node: None,
            })
        })
        .collect()
}

pub(super) fn scan_reply(value: Value) -> (u64, Vec<Value>) {
    let mut parts = array(value).into_iter();
    let cursor = parts.next().as_ref().and_then(to_u64).unwrap_or(0);
    let items = parts.next().map(array).unwrap_or_default();
    (cursor, items)
}

pub(super) fn refs(items: &[Bytes]) -> Vec<&[u8]> {
    items.iter().map(AsRef::as_ref).collect()
}

pub(super) fn escape_key(key: &[u8]) -> String {
    crate::core::escape::escape_bytes(key)
}

pub(super) fn flatten_pairs(values: Vec<Value>) -> Vec<(Value, Value)> {
    // RESP3 may answer WITHSCORES as an array of [member, score] pairs; RESP2 flat.
    if values.iter().all(|v| matches!(v, Value::Array(_))) && !values.is_empty() {
        return values
            .into_iter()
            .filter_map(|v| {
                let mut it = array(v).into_iter();
                Some((it.next()?, it.next()?))
            })
            .collect();
    }
    let mut out = Vec::with_capacity(values.len() / 2);
    let mut it = values.into_iter();
    while let (Some(m), Some(s)) = (it.next(), it.next()) {
        out.push((m, s));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_keys_are_packed_into_one_buffer_byte_for_byte() {
        let items = vec![
            Value::BulkString(b"a:1".to_vec()),
            Value::BulkString(Vec::new()),
            Value::BulkString(b"\x00\xff\r\n".to_vec()),
            Value::SimpleString("plain".to_owned()),
        ];
        let keys = super::packed_keys(items);
        let got: Vec<&[u8]> = keys.iter().map(AsRef::as_ref).collect();
        assert_eq!(got, [b"a:1".as_slice(), b"", b"\x00\xff\r\n", b"plain"]);
        assert!(super::packed_keys(Vec::new()).is_empty());
    }

    #[test]
    fn keyspace_lines_are_parsed() {
        let info =
            "# Keyspace\r\ndb0:keys=12,expires=3,avg_ttl=0\r\ndb5:keys=1,expires=0,avg_ttl=0\r\n";
        let dbs = parse_keyspace(info);
        assert_eq!(
            dbs,
            vec![
                DbInfo {
                    index: 0,
                    keys: 12,
                    expires: 3
                },
                DbInfo {
                    index: 5,
                    keys: 1,
                    expires: 0
                }
            ]
        );
    }

    #[test]
    fn scan_progress_follows_reverse_binary_order() {
        assert!((scan_progress(0) - 1.0).abs() < f64::EPSILON);
        // In a table of 8 buckets the cursor after bucket 0 is 4 (binary 100 reversed = 001).
        let after_first = scan_progress(4);
        assert!((after_first - 0.125).abs() < 1e-9, "{after_first}");
        let half = scan_progress(1);
        assert!((half - 0.5).abs() < 1e-9, "{half}");
    }

    #[test]
    fn info_fields_are_found() {
        assert_eq!(
            info_field("# Server\r\nredis_version:7.0.15\r\n", "redis_version"),
            Some("7.0.15")
        );
        assert_eq!(info_field("a:b", "c"), None);
    }

    #[test]
    fn version_role_and_replication_lag_are_read() {
        let primary = "# Server\r\nredis_version:7.2.4\r\n# Replication\r\nrole:master\r\n\
            connected_slaves:2\r\nslave0:ip=10.0.0.2,port=6379,state=online,offset=10,lag=1\r\n\
            slave1:ip=10.0.0.3,port=6379,state=online,offset=9,lag=4\r\nslave_read_only:1\r\n";
        let stats = raw_stats(primary);
        assert_eq!(stats.version.as_deref(), Some("7.2.4"));
        assert_eq!(stats.role.as_deref(), Some("master"));
        assert_eq!(stats.repl_lag_secs, Some(4.0));
        let alone = raw_stats("role:master\r\nconnected_slaves:0\r\n");
        assert_eq!(alone.repl_lag_secs, None);
        let replica =
            raw_stats("role:slave\r\nmaster_link_status:up\r\nmaster_last_io_seconds_ago:2\r\n");
        assert_eq!(replica.role.as_deref(), Some("slave"));
        assert_eq!(replica.repl_lag_secs, Some(2.0));
        let cut_off = raw_stats(
            "role:slave\r\nmaster_link_status:down\r\nmaster_last_io_seconds_ago:-1\r\n\
             master_link_down_since_seconds:35\r\n",
        );
        assert_eq!(cut_off.repl_lag_secs, Some(35.0));
    }
}
