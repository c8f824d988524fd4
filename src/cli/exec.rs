//! `exec`: one command as typed, through the same guard as everything else (a read-only
//! profile refuses a command the server says may write, every write is audited with its
//! secrets redacted), its reply printed as `redis-cli` prints it.

use std::fmt::Write as _;
use std::io::Write as _;

use bytes::Bytes;

use super::target::{Target, block_on, open, split_target};
use super::{ExecArgs, Failure};
use crate::core::escape::escape_bytes;
use crate::core::model::RawReply;

/// Runs `exec`.
pub(super) fn run(args: &ExecArgs, ssh: &super::SshArgs) -> Result<(), Failure> {
    let (target, _) = split_target(ssh, args.profile.as_deref(), &args.target, 0..=0)?;
    let command: Vec<Bytes> = args
        .command
        .iter()
        .map(|a| Bytes::copy_from_slice(a.as_bytes()))
        .collect();
    if command.is_empty() {
        return Err(Failure::usage("give the command after `--`"));
    }
    block_on(async move {
        let backend = open(&target).await?;
        if !backend.capabilities().commands {
            return Err(Failure::error(format!(
                "{} has no command line",
                backend.capabilities().kind_label
            )));
        }
        let facts = backend.command_facts(&command).await?;
        if facts.dangerous && backend.capabilities().write {
            confirm_dangerous(&target, &command, args.yes)?;
        }
        let reply = backend.execute(&command).await?;
        let mut text = String::new();
        render(&reply, 0, &mut text);
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        if reply.is_error() {
            return Err(Failure::error("the server answered with an error"));
        }
        Ok(())
    })
}

/// A `@dangerous` command on a production profile: asked on a terminal (the command's name
/// typed back), or `--yes`.
fn confirm_dangerous(target: &Target, command: &[Bytes], yes: bool) -> Result<(), Failure> {
    use std::io::{BufRead as _, IsTerminal as _};
    if !target.production {
        return Ok(());
    }
    let name = String::from_utf8_lossy(&command[0]).to_ascii_uppercase();
    let shown = crate::core::redact::redacted_args(command).join(" ");
    if !std::io::stdin().is_terminal() {
        if yes {
            return Ok(());
        }
        return Err(Failure::error(format!(
            "refusing `{shown}` on production profile without --yes: the server calls `{name}` \
             dangerous"
        )));
    }
    eprint!(
        "`{name}` is dangerous, and this is a production profile ({}). Type {name} to run it: ",
        target.spec.display_url()
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::Read::take(std::io::stdin().lock(), 256)
        .read_line(&mut answer)
        .map_err(|e| Failure::error(format!("cannot read the confirmation: {e}")))?;
    if answer.trim().eq_ignore_ascii_case(&name) {
        Ok(())
    } else {
        Err(Failure::error("not confirmed: nothing was sent"))
    }
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

    fn shown(reply: &RawReply) -> String {
        let mut out = String::new();
        render(reply, 0, &mut out);
        out
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
