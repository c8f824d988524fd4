//! `tags`: Laravel's cache tags on the command line — the tags of an entry, or a tag flushed
//! as `Cache::tags([TAG])->flush()` flushes it (through the guard: read-only profiles refuse,
//! the audit log names every key).

use super::target::{block_on, open, parse_key, split_target};
use super::{Failure, TagsArgs};
use crate::backend::laravel::{delete_keys, find_tag_root, supports_tags, tag_members, tags_of};

/// Runs `tags`.
pub(super) fn run(args: &TagsArgs, ssh: &super::SshArgs) -> Result<(), Failure> {
    let wanted = if args.flush.is_some() { 0..=0 } else { 1..=1 };
    let (target, rest) = split_target(ssh, args.profile.as_deref(), &args.args, wanted)?;
    let key = rest.first().map(|k| parse_key(k)).transpose()?;
    block_on(async move {
        let backend = open(&target).await?;
        if !supports_tags(backend.capabilities()) {
            return Err(Failure::error(format!(
                "{} cannot hold Laravel's tags (they are Redis sets)",
                backend.capabilities().kind_label
            )));
        }
        let Some(name) = &args.flush else {
            let key = key.unwrap_or_default();
            for tag in tags_of(backend.as_ref(), &key).await? {
                println!("{}", tag.name);
            }
            return Ok(());
        };
        let root = match &args.root {
            Some(root) => bytes::Bytes::from(
                crate::core::escape::unescape(root)
                    .map_err(|e| Failure::usage(format!("--root: {e}")))?,
            ),
            None => find_tag_root(backend.as_ref(), name).await?,
        };
        let keys = tag_members(backend.as_ref(), &root, name).await?;
        if args.dry_run {
            println!("{}", keys.len());
            return Ok(());
        }
        if backend.capabilities().write {
            let what = format!("key(s) of Laravel tag `{name}`");
            super::write::confirm_delete(&target, &what, keys.len() as u64, args.yes)?;
        }
        println!("{}", delete_keys(backend.as_ref(), &keys).await?);
        Ok(())
    })
}
