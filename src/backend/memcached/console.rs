//! memcached's text protocol typed in the console: a line sent as it is (a storage command's
//! byte count worked out from its value), the reply read as far as that kind of command's
//! reply goes, every read bounded in size and time.

use bytes::Bytes;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::MemcachedBackend;
use super::wire::{MAX_REPLY_BYTES, MAX_VALUE_BYTES, read_line};
use crate::backend::{BackendError, BackendResult};
use crate::core::model::{CommandDoc, CommandFacts, ExecOn, NodeReply, RawReply};

/// The commands, what they take and do: `(name, arguments, summary, changes, dangerous)`.
const COMMANDS: &[(&str, &str, &str, bool, bool)] = &[
    ("GET", "key [key ...]", "Read values", false, false),
    (
        "GETS",
        "key [key ...]",
        "Read values with their CAS tokens",
        false,
        false,
    ),
    (
        "GAT",
        "exptime key [key ...]",
        "Read values and set their expiry",
        true,
        false,
    ),
    (
        "GATS",
        "exptime key [key ...]",
        "Read values with CAS tokens and set their expiry",
        true,
        false,
    ),
    (
        "SET",
        "key flags exptime value",
        "Store a value (the byte count is worked out)",
        true,
        false,
    ),
    (
        "ADD",
        "key flags exptime value",
        "Store a value unless the key exists",
        true,
        false,
    ),
    (
        "REPLACE",
        "key flags exptime value",
        "Store a value only if the key exists",
        true,
        false,
    ),
    (
        "APPEND",
        "key flags exptime value",
        "Add bytes after a value",
        true,
        false,
    ),
    (
        "PREPEND",
        "key flags exptime value",
        "Add bytes before a value",
        true,
        false,
    ),
    (
        "CAS",
        "key flags exptime cas value",
        "Store a value unless it changed since read",
        true,
        false,
    ),
    ("DELETE", "key", "Delete a key", true, false),
    ("INCR", "key amount", "Add to a number", true, false),
    ("DECR", "key amount", "Subtract from a number", true, false),
    ("TOUCH", "key exptime", "Set a key's expiry", true, false),
    (
        "MG",
        "key [flags ...]",
        "Meta get: read what the flags ask (v value, t TTL, s size, f flags, c CAS)",
        false,
        false,
    ),
    (
        "MS",
        "key value [flags ...]",
        "Meta set (the byte count is worked out; T ttl, F flags, I invalidate)",
        true,
        false,
    ),
    ("MD", "key [flags ...]", "Meta delete", true, false),
    (
        "MA",
        "key [flags ...]",
        "Meta arithmetic (N autovivify, D delta, MI/MD mode)",
        true,
        false,
    ),
    ("MN", "", "Meta no-op", false, false),
    (
        "ME",
        "key",
        "Meta debug: what the server holds about a key",
        false,
        false,
    ),
    (
        "STATS",
        "[items | slabs | sizes | settings | conns]",
        "Server statistics",
        false,
        false,
    ),
    ("STATS RESET", "", "Reset the statistics", true, false),
    ("VERSION", "", "The server's version", false, false),
    (
        "VERBOSITY",
        "level",
        "Set the server's log level",
        true,
        false,
    ),
    (
        "FLUSH_ALL",
        "[delay]",
        "Invalidate every item, now or after a delay",
        true,
        true,
    ),
    (
        "CACHE_MEMLIMIT",
        "megabytes",
        "Change the memory limit",
        true,
        true,
    ),
    (
        "LRU_CRAWLER METADUMP",
        "<all | hash | classid>",
        "List the cached keys",
        false,
        false,
    ),
    (
        "SHUTDOWN",
        "",
        "Stop the server (when it was started with -A)",
        true,
        true,
    ),
];

/// What the console's completion and help show for memcached.
#[must_use]
pub fn docs() -> Vec<CommandDoc> {
    COMMANDS
        .iter()
        .map(|(name, args, summary, _, _)| CommandDoc {
            name: (*name).to_owned(),
            args: (*args).to_owned(),
            summary: (*summary).to_owned(),
            group: "memcached".to_owned(),
            since: String::new(),
        })
        .collect()
}

fn upper(arg: &[u8]) -> String {
    String::from_utf8_lossy(arg).to_ascii_uppercase()
}

/// What a memcached command is: whether it changes anything (unknown ones are taken as
/// changes by the guard), whether it is dangerous, and where its key is.
#[must_use]
pub fn facts(args: &[Bytes]) -> CommandFacts {
    let name = args.first().map(|a| upper(a)).unwrap_or_default();
    let sub = args.get(1).map(|a| upper(a)).unwrap_or_default();
    let full = format!("{name} {sub}");
    let found = COMMANDS
        .iter()
        .find(|c| c.0 == full)
        .or_else(|| COMMANDS.iter().find(|c| c.0 == name));
    let Some(&(_, hint, _, mut write, dangerous)) = found else {
        return CommandFacts::default();
    };
    // `mg` with T (touch), N (autovivify) or E (set the CAS) changes the item.
    if name == "MG" {
        write = args
            .iter()
            .skip(2)
            .any(|f| matches!(f.first(), Some(b'T' | b'N' | b'E')));
    }
    let first_key = match name.as_str() {
        "GAT" | "GATS" => 2,
        _ if hint.starts_with("key") => 1,
        _ => 0,
    };
    CommandFacts {
        known: true,
        write,
        dangerous,
        admin: false,
        blocking: false,
        first_key,
    }
}

/// Whether the reply runs over several lines until `END` (else one line, and a value block
/// after `mg`'s `VA`).
fn many_lines(name: &str) -> bool {
    matches!(
        name,
        "GET" | "GETS" | "GAT" | "GATS" | "STATS" | "LRU_CRAWLER"
    )
}

/// The bytes to send for a typed command.
fn request(args: &[Bytes]) -> BackendResult<Vec<u8>> {
    let name = args.first().map(|a| upper(a)).unwrap_or_default();
    let word = |a: &Bytes| -> BackendResult<String> {
        match std::str::from_utf8(a) {
            Ok(text) if !text.is_empty() && a.iter().all(u8::is_ascii_graphic) => {
                Ok(text.to_owned())
            }
            _ => Err(BackendError::Invalid(format!(
                "`{}` cannot go on a memcached command line: no spaces, control or non-ASCII \
                 bytes (only a value may hold them)",
                crate::core::escape::escape_bytes(a)
            ))),
        }
    };
    let lower_words = |a: &[Bytes]| -> BackendResult<Vec<String>> { a.iter().map(word).collect() };
    if args.iter().any(|a| a.eq_ignore_ascii_case(b"noreply"))
        || (name.starts_with('M') && name.len() == 2 && args.iter().skip(2).any(|a| a == "q"))
    {
        return Err(BackendError::Invalid(
            "`noreply` and the quiet flag `q` are not sent from the console: it would wait for \
             an answer that never comes"
                .to_owned(),
        ));
    }
    let stored_words = match name.as_str() {
        "SET" | "ADD" | "REPLACE" | "APPEND" | "PREPEND" => Some(5),
        "CAS" => Some(6),
        _ => None,
    };
    if let Some(count) = stored_words {
        if args.len() != count {
            return Err(BackendError::Invalid(format!(
                "{} takes {}: the value last (quoted if it has spaces), its byte count is \
                 worked out",
                name.to_ascii_lowercase(),
                COMMANDS.iter().find(|c| c.0 == name).map_or("", |c| c.1)
            )));
        }
        let (head, value) = args.split_at(count - 1);
        let mut out = lower_words(head)?.join(" ").into_bytes();
        out.extend_from_slice(format!(" {}\r\n", value[0].len()).as_bytes());
        out.extend_from_slice(&value[0]);
        out.extend_from_slice(b"\r\n");
        return Ok(out);
    }
    if name == "MS" {
        if args.len() < 3 {
            return Err(BackendError::Invalid(
                "ms takes key value [flags ...]".to_owned(),
            ));
        }
        let mut out = format!("{} {} {}", word(&args[0])?, word(&args[1])?, args[2].len());
        for flag in &args[3..] {
            out.push(' ');
            out.push_str(&word(flag)?);
        }
        let mut out = out.into_bytes();
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&args[2]);
        out.extend_from_slice(b"\r\n");
        return Ok(out);
    }
    let mut out = lower_words(args)?.join(" ").into_bytes();
    out.extend_from_slice(b"\r\n");
    Ok(out)
}

/// One reply line as the console shows it (an error line is an error reply).
fn line_reply(line: &[u8]) -> RawReply {
    let text = String::from_utf8_lossy(line).trim_end().to_owned();
    if text == "ERROR" || text.starts_with("CLIENT_ERROR") || text.starts_with("SERVER_ERROR") {
        RawReply::Error(text)
    } else {
        RawReply::Status(text)
    }
}

/// The size of the value block a reply line announces (`VALUE key flags bytes`, `VA bytes`).
fn block_size(line: &[u8]) -> std::io::Result<Option<usize>> {
    let text = String::from_utf8_lossy(line);
    let mut words = text.split_ascii_whitespace();
    let size = match words.next() {
        Some("VALUE") => words.nth(2),
        Some("VA") => words.next(),
        _ => return Ok(None),
    };
    let n = size.and_then(|n| n.parse::<usize>().ok()).ok_or_else(|| {
        std::io::Error::other(format!(
            "a value header without its size: `{}`",
            text.trim()
        ))
    })?;
    if n > MAX_VALUE_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("a value of {n} bytes: more than this console reads"),
        ));
    }
    Ok(Some(n))
}

impl MemcachedBackend {
    /// A typed command on the server its key lives on (a pool), or where `on` says.
    pub(super) async fn raw_command(
        &self,
        args: &[Bytes],
        on: &ExecOn,
    ) -> BackendResult<Vec<NodeReply>> {
        let name = args
            .first()
            .map(|a| upper(a))
            .ok_or_else(|| BackendError::Invalid("give a command".to_owned()))?;
        if matches!(name.as_str(), "WATCH" | "QUIT") {
            return Err(BackendError::Unsupported(format!(
                "`{}` is not run from the console: it streams without end or closes the \
                 connection",
                name.to_ascii_lowercase()
            )));
        }
        let bytes = request(args)?;
        let facts = facts(args);
        let pool = self.servers.len() > 1;
        let servers: Vec<usize> = match on {
            ExecOn::AllPrimaries => (0..self.servers.len()).collect(),
            ExecOn::Node(label) => {
                vec![self.labels.iter().position(|l| l == label).ok_or_else(|| {
                    BackendError::Invalid(format!("the pool has no server `{label}`"))
                })?]
            }
            ExecOn::ByKey if !pool => vec![0],
            ExecOn::ByKey => match usize::try_from(facts.first_key).ok().filter(|&i| i > 0) {
                Some(at) => vec![self.server_index(args.get(at).map_or(&[][..], |k| k))],
                None => return Err(BackendError::NeedsNode(name.to_ascii_lowercase())),
            },
        };
        let runs = servers.into_iter().map(|index| {
            let bytes = &bytes;
            let name = &name;
            async move {
                let reply = self
                    .send_raw(index, bytes, many_lines(name))
                    .await
                    .unwrap_or_else(|e| RawReply::Error(e.to_string()));
                NodeReply {
                    node: pool.then(|| self.labels[index].clone()),
                    reply,
                }
            }
        });
        Ok(futures_util::future::join_all(runs).await)
    }

    /// Sends `request` to server `index` and reads one reply: one line (and `mg`'s value), or
    /// lines until `END` when `many`.
    async fn send_raw(&self, index: usize, request: &[u8], many: bool) -> BackendResult<RawReply> {
        let label = &self.labels[index];
        let mut conn = Self::open(
            &self.dialer,
            &self.servers[index],
            label,
            self.connect_timeout,
        )
        .await?;
        let io = async {
            conn.get_mut().write_all(request).await?;
            let mut items = Vec::new();
            let mut read = 0usize;
            loop {
                let mut line = Vec::new();
                if read_line(&mut conn, &mut line).await? == 0 {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the server closed the connection",
                    ));
                }
                read += line.len();
                let block = block_size(&line)?;
                let reply = line_reply(&line);
                let done = !many
                    || matches!(&reply, RawReply::Error(_))
                    || matches!(&reply, RawReply::Status(s) if s == "END" || s == "RESET"
                        || s == "OK" || s.starts_with("BUSY"));
                items.push(reply);
                if let Some(n) = block {
                    let mut data = vec![0; n + 2];
                    conn.read_exact(&mut data).await?;
                    data.truncate(n);
                    read += n;
                    items.push(RawReply::Bulk(Bytes::from(data)));
                }
                if read > MAX_REPLY_BYTES {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!(
                            "the reply is larger than {} MiB: not read further",
                            MAX_REPLY_BYTES >> 20
                        ),
                    ));
                }
                if done {
                    break;
                }
            }
            Ok(if items.len() == 1 {
                items.remove(0)
            } else {
                RawReply::Array(items)
            })
        };
        Self::timed(label, self.command_timeout, io).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<Bytes> {
        crate::core::cmdline::split_args(line).expect("reads")
    }

    #[test]
    fn storage_commands_get_their_byte_count() {
        assert_eq!(
            request(&args("set k 0 60 \"a b\"")).expect("ok"),
            b"set k 0 60 3\r\na b\r\n"
        );
        assert_eq!(
            request(&args("ms k hello T60")).expect("ok"),
            b"ms k 5 T60\r\nhello\r\n"
        );
        assert_eq!(request(&args("get a b")).expect("ok"), b"get a b\r\n");
        assert!(request(&args("set k 0 60")).is_err());
        assert!(request(&args("set k 0 60 v noreply")).is_err());
        assert!(request(&args("mg k v q")).is_err());
        assert!(request(&args("get \"a b\"")).is_err());
    }

    #[test]
    fn facts_say_what_changes_and_where_the_key_is() {
        assert!(!facts(&args("get a")).write);
        assert_eq!(facts(&args("get a")).first_key, 1);
        assert!(facts(&args("set a 0 0 v")).write);
        assert!(facts(&args("flush_all")).dangerous);
        assert!(facts(&args("stats reset")).write && !facts(&args("stats")).write);
        assert!(facts(&args("mg k T30 v")).write && !facts(&args("mg k v t")).write);
        assert_eq!(facts(&args("gat 10 k")).first_key, 2);
        assert!(!facts(&args("bogus")).known);
    }
}
