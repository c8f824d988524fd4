//! Commands as they may be kept or shown: the secrets in their arguments replaced, so a
//! command history, an audit entry or an error message never holds a password.
//!
//! Which arguments are secrets is a small table of the commands that take one (`AUTH`,
//! `HELLO … AUTH`, `CONFIG SET requirepass`, `ACL SETUSER … >password`, `MIGRATE … AUTH`), and
//! a rule for the rest: a `CONFIG SET` of any parameter whose name says it holds a secret.

use bytes::Bytes;

/// What stands where a secret was.
pub const REDACTED: &str = "(redacted)";

/// The arguments of a command, escaped for display, with every secret replaced by
/// [`REDACTED`].
#[must_use]
pub fn redacted_args(args: &[Bytes]) -> Vec<String> {
    let mut out: Vec<String> = args
        .iter()
        .map(|a| crate::core::escape::escape_bytes(a))
        .collect();
    for i in secret_positions(args) {
        if let Some(slot) = out.get_mut(i) {
            REDACTED.clone_into(slot);
        }
    }
    out
}

fn upper(arg: &[u8]) -> String {
    String::from_utf8_lossy(arg).to_ascii_uppercase()
}

/// Whether a configuration parameter's name says it holds a secret.
fn secret_parameter(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["pass", "secret", "token", "key"]
        .iter()
        .any(|s| name.contains(s))
        || name == "requirepass"
        || name == "masterauth"
}

/// Whether a command the server calls administrative (`admin`) changes something: it does
/// unless it is one of the readers (`CONFIG GET`, `SLOWLOG GET`, `CLIENT LIST`, `ACL LOG`…).
/// What changes the server is treated as a write: refused on a read-only profile, audited.
#[must_use]
pub fn changes_server(args: &[Bytes]) -> bool {
    let name = args.first().map(|a| upper(a)).unwrap_or_default();
    let sub = args.get(1).map(|a| upper(a)).unwrap_or_default();
    let third = args.get(2).map(|a| upper(a)).unwrap_or_default();
    let reader_commands = ["INFO", "LASTSAVE", "DBSIZE", "TIME", "ROLE", "PING", "ECHO"];
    let reader_subcommands = [
        "GET",
        "LIST",
        "INFO",
        "LEN",
        "USAGE",
        "STATS",
        "LATEST",
        "HISTORY",
        "DOCTOR",
        "WHOAMI",
        "USERS",
        "GETUSER",
        "CAT",
        "NODES",
        "SHARDS",
        "SLOTS",
        "MYID",
        "MYSHARDID",
        "KEYSLOT",
        "COUNTKEYSINSLOT",
        "GETKEYSINSLOT",
        "LINKS",
        "DOCS",
        "COUNT",
        "GETNAME",
        "ID",
        "HELP",
        "GENPASS",
        "DRYRUN",
        "GRAPH",
        "MALLOC-STATS",
    ];
    let reads = reader_commands.contains(&name.as_str())
        || reader_subcommands.contains(&sub.as_str())
        || (sub == "LOG" && third != "RESET");
    !reads
}

/// Where the secrets are among `args` (the command name at 0).
pub(crate) fn secret_positions(args: &[Bytes]) -> Vec<usize> {
    let Some(name) = args.first().map(|a| upper(a)) else {
        return Vec::new();
    };
    let sub = args.get(1).map(|a| upper(a)).unwrap_or_default();
    match name.as_str() {
        // AUTH password | AUTH user password: everything after the name.
        "AUTH" => (1..args.len()).collect(),
        // HELLO 3 AUTH user password [SETNAME name]
        "HELLO" => after_token(args, "AUTH", 2),
        // MIGRATE … AUTH password | AUTH2 user password
        "MIGRATE" => {
            let mut found = after_token(args, "AUTH", 1);
            found.extend(after_token(args, "AUTH2", 2));
            found
        }
        // CONFIG SET name value [name value …]
        "CONFIG" if sub == "SET" => (2..args.len())
            .step_by(2)
            .filter(|&i| secret_parameter(&String::from_utf8_lossy(&args[i])))
            .map(|i| i + 1)
            .collect(),
        // ACL SETUSER name rules…: a rule `>password`, `<password`, `#hash` or `!hash`.
        "ACL" if sub == "SETUSER" => (3..args.len())
            .filter(|&i| matches!(args[i].first(), Some(b'>' | b'<' | b'#' | b'!')))
            .collect(),
        // SENTINEL SET master auth-pass password, SENTINEL CONFIG SET sentinel-pass …
        "SENTINEL" => (2..args.len())
            .filter(|&i| secret_parameter(&String::from_utf8_lossy(&args[i - 1])))
            .collect(),
        _ => Vec::new(),
    }
}

/// The `count` arguments after each `token` (compared case-insensitively).
fn after_token(args: &[Bytes], token: &str, count: usize) -> Vec<usize> {
    args.iter()
        .enumerate()
        .filter(|(_, a)| upper(a) == token)
        .flat_map(|(i, _)| (i + 1..=i + count).filter(|&j| j < args.len()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(line: &str) -> String {
        let args: Vec<Bytes> = line
            .split(' ')
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect();
        redacted_args(&args).join(" ")
    }

    #[test]
    fn secrets_are_replaced_and_the_rest_kept() {
        assert_eq!(shown("AUTH hunter2"), "AUTH (redacted)");
        assert_eq!(shown("auth admin hunter2"), "auth (redacted) (redacted)");
        assert_eq!(
            shown("HELLO 3 AUTH admin hunter2 SETNAME x"),
            "HELLO 3 AUTH (redacted) (redacted) SETNAME x"
        );
        assert_eq!(
            shown("CONFIG SET requirepass hunter2 maxmemory 10mb"),
            "CONFIG SET requirepass (redacted) maxmemory 10mb"
        );
        assert_eq!(
            shown("config set masterauth hunter2"),
            "config set masterauth (redacted)"
        );
        assert_eq!(
            shown("ACL SETUSER ops on >hunter2 ~* +@all #abc"),
            "ACL SETUSER ops on (redacted) ~* +@all (redacted)"
        );
        assert_eq!(
            shown("MIGRATE h 6379 k 0 100 AUTH2 u hunter2"),
            "MIGRATE h 6379 k 0 100 AUTH2 (redacted) (redacted)"
        );
        assert_eq!(
            shown("SENTINEL SET mymaster auth-pass hunter2"),
            "SENTINEL SET mymaster auth-pass (redacted)"
        );
        assert_eq!(
            shown("SET password hunter2"),
            "SET password hunter2",
            "data, not a secret"
        );
        assert_eq!(shown("GET a"), "GET a");
    }

    #[test]
    fn administration_that_only_reads_is_told_apart() {
        let args = |line: &str| -> Vec<Bytes> {
            line.split(' ')
                .map(|a| Bytes::copy_from_slice(a.as_bytes()))
                .collect()
        };
        for reads in [
            "CONFIG GET maxmemory",
            "slowlog get 10",
            "CLIENT LIST",
            "ACL LOG",
            "INFO",
        ] {
            assert!(!changes_server(&args(reads)), "{reads}");
        }
        for changes in [
            "CONFIG SET maxmemory 1mb",
            "ACL LOG RESET",
            "SLOWLOG RESET",
            "SHUTDOWN",
        ] {
            assert!(changes_server(&args(changes)), "{changes}");
        }
    }
}
