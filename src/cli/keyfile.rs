//! `export` and `import`: keys to a file and back (`core/keyfile.rs` says what the files hold).

use std::io::Write as _;
use std::sync::atomic::AtomicBool;

use bytes::Bytes;

use super::target::{open, split_target};
use super::{CopyArgs, ExportArgs, Failure, ImportArgs};
use crate::backend::transfer::{KeySource, export_file, import_from};
use crate::core::escape::{escape_bytes, pattern_to_glob};
use crate::core::keyfile::Format;
use crate::core::model::{KeyType, OnConflict, ScanRequest};

/// Failures named on stderr at most (the rest are counted).
const FAILURES_SHOWN: usize = 20;

/// A runtime with a worker of its own: an export's file is written on this thread while
/// the worker drives the connection (a current-thread runtime's handle cannot).
fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| Failure::error(format!("cannot start the async runtime: {e}")))
}

/// Progress on a terminal, at most once a second.
fn progress_line(what: &'static str) -> impl Fn(u64) + Send + Sync {
    use std::io::IsTerminal as _;
    let shown = std::sync::Mutex::new(std::time::Instant::now());
    let terminal = std::io::stderr().is_terminal();
    move |n| {
        if let Ok(mut at) = shown.lock()
            && terminal
            && at.elapsed() >= std::time::Duration::from_secs(1)
        {
            *at = std::time::Instant::now();
            eprint!("\r{what} {n} keys…");
        }
    }
}

/// `export`.
pub(super) fn export(args: &ExportArgs, ssh: &super::SshArgs) -> Result<(), Failure> {
    let (target, rest) = split_target(ssh, args.profile.as_deref(), &args.args, 0..=1)?;
    let format = Format::parse(&args.format).map_err(Failure::usage)?;
    let source = KeySource::Pattern(listing(rest.first(), args.key_type.as_deref()));
    let path = &args.output;
    if path.file_name().is_none() {
        return Err(Failure::usage(format!("{} names no file", path.display())));
    }
    let rt = runtime()?;
    let backend = rt.block_on(open(&target))?;
    let cancel = AtomicBool::new(false);
    let progress = progress_line("exported");
    let summary = export_file(
        rt.handle(),
        backend.as_ref(),
        &source,
        format,
        args.base64,
        path,
        &progress,
        &cancel,
    )
    .map_err(|e| match e {
        crate::backend::BackendError::File(why) => Failure::error(format!("cannot write {why}")),
        e => Failure::from(e),
    })?;
    eprintln!(
        "\rexported {} keys to {}{}",
        summary.exported,
        path.display(),
        if summary.gone > 0 {
            format!(" ({} went away while listed)", summary.gone)
        } else {
            String::new()
        }
    );
    report_failures(&summary.failed, "not exported")
}

fn report_failures(failed: &[(Bytes, String)], what: &str) -> Result<(), Failure> {
    if failed.is_empty() {
        return Ok(());
    }
    for (key, why) in failed.iter().take(FAILURES_SHOWN) {
        eprintln!("{what}: {}: {why}", escape_bytes(key));
    }
    if failed.len() > FAILURES_SHOWN {
        eprintln!("… and {} more", failed.len() - FAILURES_SHOWN);
    }
    Err(Failure::error(format!("{} keys {what}", failed.len())))
}

fn policy(text: &str) -> Result<OnConflict, Failure> {
    match text {
        "skip" => Ok(OnConflict::Skip),
        "replace" => Ok(OnConflict::Replace),
        "stop" => Ok(OnConflict::Stop),
        other => Err(Failure::usage(format!(
            "`{other}` is not a policy: skip, replace or stop"
        ))),
    }
}

fn listing(pattern: Option<&String>, key_type: Option<&str>) -> ScanRequest {
    let mut request = super::listing_request(pattern_to_glob(pattern.map_or("*", String::as_str)));
    request.type_filter =
        key_type.map(|t| KeyType::from_redis(t).unwrap_or_else(|| KeyType::Other(t.to_owned())));
    request
}

/// `copy`.
pub(super) fn copy(args: &CopyArgs, ssh: &super::SshArgs) -> Result<(), Failure> {
    let wanted = usize::from(args.from_profile.is_none()) + usize::from(args.to_profile.is_none());
    if args.args.len() < wanted {
        return Err(Failure::usage(
            "give the source and the destination: URLs, or --from-profile / --to-profile",
        ));
    }
    let on_conflict = policy(&args.on_conflict)?;
    let (source, rest) = split_target(ssh, args.from_profile.as_deref(), &args.args, 0..=2)?;
    let (destination, rest) = split_target(ssh, args.to_profile.as_deref(), &rest, 0..=1)?;
    let keys = KeySource::Pattern(listing(rest.first(), args.key_type.as_deref()));
    let rt = runtime()?;
    let (from, to) =
        rt.block_on(async { Ok::<_, Failure>((open(&source).await?, open(&destination).await?)) })?;
    let cancel = AtomicBool::new(false);
    let progress = progress_line("copied");
    let summary = rt.block_on(crate::backend::transfer::copy_keys(
        from.as_ref(),
        to.as_ref(),
        &keys,
        on_conflict,
        &progress,
        &cancel,
    ))?;
    let w = &summary.written;
    if let Some(key) = &w.stopped_at {
        eprintln!(
            "\rcopied {} keys, then stopped: `{}` exists in the destination (--on-conflict stop)",
            w.written,
            escape_bytes(key)
        );
        return Err(Failure::error("stopped at a key that exists"));
    }
    let _ = writeln!(
        std::io::stdout().lock(),
        "copied {} keys, skipped {} that existed, {} failed",
        w.written,
        w.skipped,
        w.failed.len() + summary.unreadable.len()
    );
    let mut failed = summary.unreadable.clone();
    failed.extend(w.failed.iter().cloned());
    report_failures(&failed, "not copied")
}

/// `import`.
pub(super) fn import(args: &ImportArgs, ssh: &super::SshArgs) -> Result<(), Failure> {
    let (target, rest) = split_target(ssh, args.profile.as_deref(), &args.args, 1..=1)?;
    let on_conflict = policy(&args.on_conflict)?;
    let path = std::path::PathBuf::from(&rest[0]);
    let file = std::fs::File::open(&path)
        .map_err(|e| Failure::error(format!("cannot read {}: {e}", path.display())))?;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    let rt = runtime()?;
    let backend = rt.block_on(open(&target))?;
    let progress = progress_line("imported");
    let cancel = AtomicBool::new(false);
    let summary = rt
        .block_on(import_from(
            backend.as_ref(),
            &mut reader,
            on_conflict,
            &progress,
            &cancel,
        ))
        .map_err(|e| match e {
            crate::backend::BackendError::File(why) => {
                Failure::error(format!("{}: {why}", path.display()))
            }
            e => Failure::from(e),
        })?;
    let total = summary.written;
    if let Some(key) = &total.stopped_at {
        eprintln!(
            "\rimported {} keys, then stopped: `{}` exists (--on-conflict stop)",
            total.written,
            escape_bytes(key)
        );
        return Err(Failure::error("stopped at a key that exists"));
    }
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "imported {} keys, skipped {} that existed, {} failed",
        total.written,
        total.skipped,
        total.failed.len()
    );
    report_failures(&total.failed, "not imported")
}
