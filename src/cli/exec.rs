//! `exec`: one command as typed, through the same guard as everything else (a read-only
//! profile refuses a command the server says may write, every write is audited with its
//! secrets redacted), its reply printed as `redis-cli` prints it.

use std::fmt::Write as _;
use std::io::Write as _;

use bytes::Bytes;

use super::target::{Target, block_on, open, split_target};
use super::{ExecArgs, Failure};
use crate::core::cmdline::reply_text;
use crate::core::model::{ExecOn, NodeReply};

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
        let on = match (&args.node, args.all_primaries) {
            (Some(node), _) => ExecOn::Node(node.clone()),
            (None, true) => ExecOn::AllPrimaries,
            (None, false) => ExecOn::ByKey,
        };
        let replies = backend.execute(&command, &on).await.map_err(|e| match e {
            crate::backend::BackendError::NeedsNode(_) => {
                Failure::error(format!("{e} (--node HOST:PORT or --all-primaries)"))
            }
            e => Failure::from(e),
        })?;
        let mut text = String::new();
        for NodeReply { node, reply } in &replies {
            if let Some(node) = node {
                let _ = writeln!(text, "{node}:");
            }
            text.push_str(&reply_text(reply));
        }
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        if replies.iter().any(|r| r.reply.is_error()) {
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
