//! `set`, `ttl`, `del` and `flush`: every change goes through the backend's guard (read-only
//! profiles refuse, everything is audited); bulk deletes and flushes ask first.

use std::io::Write as _;

use bytes::Bytes;

use super::target::{Target, backend_key, block_on, open, parse_key, split_target, written};
use super::{DelArgs, Failure, FlushArgs, SetArgs, TtlArgs};
use crate::backend::CacheBackend;
use crate::core::escape::{escape_bytes, pattern_to_glob};
use crate::core::model::{Expect, Ttl, TtlChange, WriteOp};
use crate::core::ttl::{now_unix_ms, parse_ttl};

/// `set`: a string value, keeping an existing TTL unless `--ttl` says otherwise.
pub(super) fn set(args: &SetArgs, ssh: &super::SshArgs) -> Result<(), Failure> {
    let (target, rest) = split_target(ssh, args.profile.as_deref(), &args.args, 2..=2)?;
    let key = parse_key(&rest[0])?;
    let value = Bytes::from(rest[1].clone().into_bytes());
    let ttl = match &args.ttl {
        Some(text) => {
            parse_ttl(text, now_unix_ms()).map_err(|e| Failure::usage(format!("--ttl: {e}")))?
        }
        None => TtlChange::Keep,
    };
    if args.json {
        serde_json::from_slice::<serde_json::Value>(&value)
            .map_err(|e| Failure::usage(format!("--json: the value is not valid JSON: {e}")))?;
    }
    block_on(async move {
        let backend = open(&target).await?;
        let key = backend_key(backend.as_ref(), key, args.hashed);
        let op = if args.json && backend.capabilities().structured_values {
            WriteOp::SetJson { key, value, ttl }
        } else {
            WriteOp::SetString {
                key,
                value,
                ttl,
                expect: Expect::Any,
            }
        };
        written(backend.write(&op).await?)
    })
}

/// `ttl`: changes (or removes) a TTL, then prints the remaining one in seconds.
pub(super) fn ttl(args: &TtlArgs, ssh: &super::SshArgs) -> Result<(), Failure> {
    let (target, rest) = split_target(ssh, args.profile.as_deref(), &args.args, 1..=2)?;
    let key = parse_key(&rest[0])?;
    let change = match (rest.get(1), args.persist) {
        (Some(_), true) => {
            return Err(Failure::usage("give a duration or --persist, not both"));
        }
        (Some(text), false) => {
            Some(parse_ttl(text, now_unix_ms()).map_err(|e| Failure::usage(format!("TTL: {e}")))?)
        }
        (None, true) => Some(TtlChange::Persist),
        (None, false) => None,
    };
    block_on(async move {
        let backend = open(&target).await?;
        let key = backend_key(backend.as_ref(), key, args.hashed);
        if let Some(ttl) = change {
            backend
                .write(&WriteOp::SetTtl {
                    key: key.clone(),
                    ttl,
                })
                .await?;
        }
        let meta = backend.key_meta(std::slice::from_ref(&key)).await?;
        let secs = match meta.first().cloned().flatten().map(|m| m.ttl) {
            None => -2,
            Some(Ttl::Persistent) => -1,
            Some(Ttl::ExpiresInMs(ms)) => i64::try_from(ms.div_ceil(1000)).unwrap_or(i64::MAX),
            Some(Ttl::Unknown) => {
                println!("unknown");
                return Ok(());
            }
        };
        println!("{secs}");
        Ok(())
    })
}

/// `del`: keys by name, or every key matching `--pattern` (asking first).
pub(super) fn del(args: &DelArgs, ssh: &super::SshArgs) -> Result<(), Failure> {
    let min = usize::from(args.pattern.is_none());
    let (target, rest) = split_target(ssh, args.profile.as_deref(), &args.args, min..=usize::MAX)?;
    if args.pattern.is_some() && !rest.is_empty() {
        return Err(Failure::usage("give keys or --pattern, not both"));
    }
    let keys = rest
        .iter()
        .map(|k| parse_key(k))
        .collect::<Result<Vec<_>, _>>()?;
    block_on(async move {
        let backend = open(&target).await?;
        let deleted = if let Some(pattern) = &args.pattern {
            delete_pattern(backend.as_ref(), &target, pattern, args).await?
        } else {
            let keys = keys
                .into_iter()
                .map(|k| backend_key(backend.as_ref(), k, args.hashed))
                .collect();
            backend.write(&WriteOp::Delete { keys }).await?.changed()
        };
        println!("{deleted}");
        Ok(())
    })
}

/// Deletes what `pattern` matches (or, with `--dry-run`, counts it); how many.
async fn delete_pattern(
    backend: &dyn CacheBackend,
    target: &Target,
    pattern: &str,
    args: &DelArgs,
) -> Result<u64, Failure> {
    let request = super::listing_request(pattern_to_glob(pattern));
    if args.dry_run {
        return Ok(crate::backend::ops::preview(backend, &request, 0).await?.0);
    }
    // A read-only profile refuses below (with its own message); asking first would only hide
    // that.
    if backend.capabilities().write {
        let (n, _) = crate::backend::ops::preview(backend, &request, 0).await?;
        let what = format!("key(s) matching `{}`", escape_bytes(pattern.as_bytes()));
        confirm_delete(target, &what, n, args.yes)?;
    }
    let cancel = std::sync::atomic::AtomicBool::new(false);
    Ok(backend
        .delete_matching(&request, &cancel, &|_| {})
        .await?
        .deleted)
}

/// `flush`: empties the database (or a memcached server, after a delay); needs `--yes`.
pub(super) fn flush(args: &FlushArgs, ssh: &super::SshArgs) -> Result<(), Failure> {
    let (target, _) = split_target(ssh, args.profile.as_deref(), &args.args, 0..=0)?;
    if !args.yes {
        return Err(Failure::error(format!(
            "refusing to flush {} without --yes: every key of the database would be deleted",
            target.spec.display_url()
        )));
    }
    let op = if args.delay.is_some() || args.server.is_some() {
        WriteOp::Flush {
            server: args.server.clone(),
            delay_secs: args.delay.unwrap_or(0),
        }
    } else {
        WriteOp::FlushDb
    };
    block_on(async move {
        let backend = open(&target).await?;
        written(backend.write(&op).await?)
    })
}

/// A pattern delete asks like a flush: on a terminal the user types the number of keys; with
/// no terminal `--yes` is required. A production profile asks on a terminal even with `--yes`.
/// Asks before `count` keys (described by `what`) are deleted: `--yes`, or the count typed on
/// a terminal (a production profile always asks on one).
pub(super) fn confirm_delete(
    target: &Target,
    what: &str,
    count: u64,
    yes: bool,
) -> Result<(), Failure> {
    use std::io::{BufRead as _, IsTerminal as _};
    if count == 0 || (yes && !target.production) {
        return Ok(());
    }
    let what = format!("{count} {what} in {}", target.spec.display_url());
    if !std::io::stdin().is_terminal() {
        if yes {
            return Ok(());
        }
        return Err(Failure::error(format!(
            "refusing to delete {what} without --yes (or count them first with --dry-run)"
        )));
    }
    eprint!("About to delete {what}. Type {count} to confirm: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    // A line of at most a few bytes is expected: read no more than that.
    std::io::Read::take(std::io::stdin().lock(), 64)
        .read_line(&mut answer)
        .map_err(|e| Failure::error(format!("cannot read the confirmation: {e}")))?;
    if answer.trim() == count.to_string() {
        Ok(())
    } else {
        Err(Failure::error("not confirmed: nothing was deleted"))
    }
}
