//! The headless command-line twin of the console, on the same backend code as the GUI.
//!
//! Exit codes: 0 success, 1 an error (one line on stderr), 2 a usage error.

use std::io::Write as _;
use std::process::ExitCode;

use bytes::Bytes;
use clap::{Args, Parser, Subcommand};

use crate::backend::{self, BackendError, CacheBackend, ConnectOptions};
use crate::config::connection::{ConnectionSpec, PasswordSource, Secret, parse_url};
use crate::config::profiles::{ColorTag, Profile, ProfileStore};
use crate::core::escape::{escape_bytes, pattern_to_glob, unescape};
use crate::core::model::{
    Expect, KeyType, PageCursor, ScanRequest, Ttl, TtlChange, ValueItems, WriteOp, WriteOutcome,
};

/// Environment variable the CLI reads for profiles that ask for a password.
pub const PASSWORD_ENV: &str = "CACHE_CONSOLE_PASSWORD";

/// Cache Console: look inside caches and fix what is wrong there.
#[derive(Debug, Parser)]
#[command(name = "cache-console", version, about)]
pub struct Cli {
    /// What to do; without a subcommand the desktop app opens.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List matching keys, one per line in escaped form (`\xNN`, `\\`).
    Keys(KeysArgs),
    /// Print a value: a string's raw bytes, a collection as JSON.
    Get(GetArgs),
    /// Set a string value. Without `--ttl` an existing TTL is kept.
    Set(SetArgs),
    /// Change a key's TTL (or remove it), then print the remaining TTL in seconds
    /// (-1: no TTL, -2: no such key).
    Ttl(TtlArgs),
    /// Delete keys, or every key matching `--pattern`; prints how many were deleted.
    Del(DelArgs),
    /// Empty the current database. Refuses without `--yes`.
    Flush(FlushArgs),
    /// Print live figures: hit rate over the sampling interval, ops/sec, memory, clients,
    /// evictions and expirations (per server of a pool, and summed).
    Stats(StatsArgs),
    /// Where the memory goes: the biggest keys, bytes by namespace and by type, and the TTL
    /// distribution of the keys a pattern matches (the whole keyspace or a sample).
    Analyze(AnalyzeArgs),
    /// Manage saved connection profiles.
    Profiles {
        /// The profile action.
        #[command(subcommand)]
        action: ProfilesCommand,
    },
}

/// Arguments of `keys`.
#[derive(Debug, Args)]
pub struct KeysArgs {
    /// Use a saved profile instead of a URL.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// `URL [PATTERN]`, or just `[PATTERN]` with `--profile`.
    #[arg(value_name = "URL|PATTERN", num_args = 0..=2)]
    pub args: Vec<String>,
    /// Only keys of this type (string, hash, list, set, zset, stream, ReJSON-RL).
    #[arg(long = "type", value_name = "TYPE")]
    pub key_type: Option<String>,
    /// Print only how many keys match.
    #[arg(long)]
    pub count: bool,
    /// Memcached pools: only keys held by this server (`host:port`).
    #[arg(long, value_name = "HOST:PORT")]
    pub server: Option<String>,
}

/// Arguments of `get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// Use a saved profile instead of a URL.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// `URL KEY`, or just `KEY` with `--profile`. The key may use `\xNN` escapes.
    #[arg(value_name = "URL|KEY", num_args = 1..=2)]
    pub args: Vec<String>,
    /// Print type, TTL and size instead of the value.
    #[arg(long)]
    pub meta: bool,
    /// Print the value decoded (PHP serialize, MessagePack, gzip/zlib, PHP memcached flags)
    /// as JSON.
    #[arg(long, conflicts_with = "meta")]
    pub decode: bool,
    /// File caches: the keys are entry hashes as `keys` lists them, not names to hash.
    #[arg(long)]
    pub hashed: bool,
}

/// Arguments of `set`.
#[derive(Debug, Args)]
pub struct SetArgs {
    /// Use a saved profile instead of a URL.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// `URL KEY VALUE`, or `KEY VALUE` with `--profile`. The key may use `\xNN` escapes; the
    /// value is taken as typed.
    #[arg(value_name = "URL|KEY|VALUE", num_args = 2..=3)]
    pub args: Vec<String>,
    /// Expire after this long (`90`, `90s`, `15m`, `2h`, `1d`) or at a date-time (UTC).
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub ttl: Option<String>,
    /// File caches: the keys are entry hashes as `keys` lists them, not names to hash.
    #[arg(long)]
    pub hashed: bool,
}

/// Arguments of `ttl`.
#[derive(Debug, Args)]
pub struct TtlArgs {
    /// Use a saved profile instead of a URL.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// `URL KEY [DURATION]`, or `KEY [DURATION]` with `--profile`.
    #[arg(value_name = "URL|KEY|DURATION", num_args = 1..=3, allow_negative_numbers = true)]
    pub args: Vec<String>,
    /// Remove the TTL: the key never expires.
    #[arg(long)]
    pub persist: bool,
    /// File caches: the keys are entry hashes as `keys` lists them, not names to hash.
    #[arg(long)]
    pub hashed: bool,
}

/// Arguments of `del`.
#[derive(Debug, Args)]
pub struct DelArgs {
    /// Use a saved profile instead of a URL.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// `URL KEY...`, or `KEY...` with `--profile` (none with `--pattern`).
    #[arg(value_name = "URL|KEY")]
    pub args: Vec<String>,
    /// Delete every key matching this Redis glob pattern, in batches.
    #[arg(long, value_name = "PATTERN")]
    pub pattern: Option<String>,
    /// With `--pattern`: only count what would be deleted.
    #[arg(long, requires = "pattern")]
    pub dry_run: bool,
    /// With `--pattern`: delete without asking (needed when there is no terminal to ask on).
    #[arg(long, requires = "pattern")]
    pub yes: bool,
    /// File caches: the keys are entry hashes as `keys` lists them, not names to hash.
    #[arg(long)]
    pub hashed: bool,
}

/// Arguments of `flush`.
#[derive(Debug, Args)]
pub struct FlushArgs {
    /// Use a saved profile instead of a URL.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// `URL`, or nothing with `--profile`.
    #[arg(value_name = "URL", num_args = 0..=1)]
    pub args: Vec<String>,
    /// Confirm that every key of the database is to be deleted.
    #[arg(long)]
    pub yes: bool,
    /// Memcached: flush after this many seconds.
    #[arg(long, value_name = "SECS")]
    pub delay: Option<u32>,
    /// Memcached: flush only this server of the pool (`host:port`).
    #[arg(long, value_name = "HOST:PORT")]
    pub server: Option<String>,
}

/// Arguments of `analyze`.
#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Use a saved profile instead of a URL.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// `URL [PATTERN]`, or just `[PATTERN]` with `--profile`.
    #[arg(value_name = "URL|PATTERN", num_args = 0..=2)]
    pub args: Vec<String>,
    /// Stop after this many keys (a sample) instead of the whole keyspace.
    #[arg(long, value_name = "N")]
    pub sample: Option<u64>,
    /// Namespace delimiter.
    #[arg(long, value_name = "TEXT", default_value = ":")]
    pub delimiter: String,
    /// How many delimiter-separated segments name a namespace (1 to 3).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=3))]
    pub depth: u8,
    /// How many of the biggest keys to list.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub top: usize,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `stats`.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Use a saved profile instead of a URL.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// `URL`, or nothing with `--profile`.
    #[arg(value_name = "URL", num_args = 0..=1)]
    pub args: Vec<String>,
    /// One JSON object per report (JSON lines), every figure by name, `null` when unknown.
    #[arg(long)]
    pub json: bool,
    /// Report every SECS seconds until interrupted (or `--count` reports).
    #[arg(long, value_name = "SECS")]
    pub watch: Option<f64>,
    /// Sampling interval of a single report, in seconds: rates are measured over it.
    #[arg(long, value_name = "SECS", default_value_t = 1.0)]
    pub interval: f64,
    /// With `--watch`: stop after this many reports.
    #[arg(long, value_name = "N", requires = "watch")]
    pub count: Option<u64>,
}

/// `profiles` actions.
#[derive(Debug, Subcommand)]
pub enum ProfilesCommand {
    /// List saved profiles (name and URL, never a password).
    List,
    /// Save a profile. A password in the URL is not saved: use `${VAR}` to name an
    /// environment variable instead, or the profile will ask for the password.
    Add {
        /// Profile name.
        name: String,
        /// Connection URL.
        url: String,
        /// Refuse every write through this profile.
        #[arg(long)]
        read_only: bool,
        /// Colour tag: red, orange, yellow, green, blue, purple or gray.
        #[arg(long, value_name = "COLOR")]
        color: Option<ColorTag>,
        /// Ask for confirmation before any write in the app.
        #[arg(long)]
        production: bool,
    },
    /// Delete a profile.
    Remove {
        /// Profile name.
        name: String,
    },
}

/// A CLI failure: exit code and one-line message.
#[derive(Debug)]
pub struct Failure {
    /// 1 for errors, 2 for usage.
    pub code: u8,
    /// What went wrong.
    pub message: String,
}

impl Failure {
    fn error(message: impl std::fmt::Display) -> Self {
        Self {
            code: 1,
            message: message.to_string(),
        }
    }

    fn usage(message: impl std::fmt::Display) -> Self {
        Self {
            code: 2,
            message: message.to_string(),
        }
    }
}

impl From<BackendError> for Failure {
    fn from(e: BackendError) -> Self {
        Self::error(e)
    }
}

/// Runs a subcommand and turns the outcome into an exit code.
#[must_use]
pub fn run(command: Command) -> ExitCode {
    match execute(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            // One line: newlines from server messages would break scripts that read stderr.
            let line = failure.message.replace(['\n', '\r'], " ");
            let _ = writeln!(std::io::stderr(), "cache-console: {line}");
            ExitCode::from(failure.code)
        }
    }
}

fn execute(command: Command) -> Result<(), Failure> {
    match command {
        Command::Profiles { action } => profiles(action),
        Command::Keys(args) => {
            let (target, rest) = split_target(args.profile.as_deref(), &args.args, 0..=1)?;
            let pattern = rest.first().map_or("*", String::as_str);
            let type_filter = args
                .key_type
                .as_deref()
                .map(|t| KeyType::from_redis(t).unwrap_or_else(|| KeyType::Other(t.to_owned())));
            let request = ScanRequest {
                pattern: pattern_to_glob(pattern),
                type_filter,
                count: 1000,
                server: args.server.clone(),
            };
            block_on(async move {
                let backend = open(&target).await?;
                keys(backend.as_ref(), &request, args.count).await
            })
        }
        Command::Set(args) => {
            let (target, rest) = split_target(args.profile.as_deref(), &args.args, 2..=2)?;
            let key = parse_key(&rest[0])?;
            let value = Bytes::from(rest[1].clone().into_bytes());
            let ttl = match &args.ttl {
                Some(text) => crate::core::ttl::parse_ttl(text, crate::core::ttl::now_unix_ms())
                    .map_err(|e| Failure::usage(format!("--ttl: {e}")))?,
                None => TtlChange::Keep,
            };
            block_on(async move {
                let backend = open(&target).await?;
                let key = backend_key(backend.as_ref(), key, args.hashed);
                let op = WriteOp::SetString {
                    key,
                    value,
                    ttl,
                    expect: Expect::Any,
                };
                written(backend.write(&op).await?)
            })
        }
        Command::Ttl(args) => {
            let (target, rest) = split_target(args.profile.as_deref(), &args.args, 1..=2)?;
            let key = parse_key(&rest[0])?;
            let change = match (rest.get(1), args.persist) {
                (Some(_), true) => {
                    return Err(Failure::usage("give a duration or --persist, not both"));
                }
                (Some(text), false) => Some(
                    crate::core::ttl::parse_ttl(text, crate::core::ttl::now_unix_ms())
                        .map_err(|e| Failure::usage(format!("TTL: {e}")))?,
                ),
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
                    Some(Ttl::ExpiresInMs(ms)) => {
                        i64::try_from(ms.div_ceil(1000)).unwrap_or(i64::MAX)
                    }
                };
                println!("{secs}");
                Ok(())
            })
        }
        Command::Del(args) => {
            let min = usize::from(args.pattern.is_none());
            let (target, rest) =
                split_target(args.profile.as_deref(), &args.args, min..=usize::MAX)?;
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
                    let request = ScanRequest {
                        pattern: pattern_to_glob(pattern),
                        type_filter: None,
                        count: 1000,
                        server: None,
                    };
                    if args.dry_run {
                        count_matching(backend.as_ref(), &request).await?
                    } else {
                        // A read-only profile refuses below (with its own message); asking
                        // first would only hide that.
                        if backend.capabilities().write {
                            let n = count_matching(backend.as_ref(), &request).await?;
                            confirm_pattern_delete(&target, pattern, n, args.yes)?;
                        }
                        let cancel = std::sync::atomic::AtomicBool::new(false);
                        backend
                            .delete_matching(&request, &cancel, &|_| {})
                            .await?
                            .deleted
                    }
                } else {
                    let keys = keys
                        .into_iter()
                        .map(|k| backend_key(backend.as_ref(), k, args.hashed))
                        .collect();
                    match backend.write(&WriteOp::Delete { keys }).await? {
                        WriteOutcome::Done(n) => n,
                        _ => 0,
                    }
                };
                println!("{deleted}");
                Ok(())
            })
        }
        Command::Flush(args) => {
            let (target, _) = split_target(args.profile.as_deref(), &args.args, 0..=0)?;
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
        Command::Stats(args) => {
            let (target, _) = split_target(args.profile.as_deref(), &args.args, 0..=0)?;
            let secs = args.watch.unwrap_or(args.interval);
            if !(0.1..=86_400.0).contains(&secs) {
                return Err(Failure::usage(
                    "the interval must be between 0.1 and 86400 seconds",
                ));
            }
            let reports = if args.watch.is_some() {
                args.count
            } else {
                Some(1)
            };
            block_on(async move {
                let backend = open(&target).await?;
                stats(
                    backend.as_ref(),
                    std::time::Duration::from_secs_f64(secs),
                    reports,
                    args.json,
                )
                .await
            })
        }
        Command::Analyze(args) => {
            let (target, rest) = split_target(args.profile.as_deref(), &args.args, 0..=1)?;
            if args.sample == Some(0) {
                return Err(Failure::usage("--sample must be at least 1 key"));
            }
            let request = crate::backend::analysis::AnalysisRequest {
                pattern: pattern_to_glob(rest.first().map_or("*", String::as_str)),
                sample: args.sample,
                delimiter: args.delimiter.clone(),
                depth: usize::from(args.depth),
                top: args.top.max(1),
            };
            block_on(async move {
                let backend = open(&target).await?;
                let cancel = std::sync::atomic::AtomicBool::new(false);
                let report = crate::backend::analysis::analyze(
                    backend.as_ref(),
                    &request,
                    &cancel,
                    &|_, _| {},
                )
                .await?;
                let text = if args.json {
                    analysis_json(&report).to_string()
                } else {
                    analysis_text(&report)
                };
                println!("{text}");
                Ok(())
            })
        }
        Command::Get(args) => {
            let (target, rest) = split_target(args.profile.as_deref(), &args.args, 1..=1)?;
            let key = parse_key(&rest[0])?;
            block_on(async move {
                let backend = open(&target).await?;
                let key = backend_key(backend.as_ref(), key, args.hashed);
                if args.decode {
                    return get_decoded(backend.as_ref(), &key).await;
                }
                get(backend.as_ref(), &key, args.meta).await
            })
        }
    }
}

/// Where to connect, resolved from a URL or a profile name.
struct Target {
    spec: ConnectionSpec,
    password: Option<Secret>,
    options: ConnectOptions,
    /// A production profile: bulk deletes ask on the terminal even with `--yes`.
    production: bool,
}

/// The backend key for a key typed on the command line: hashed where the backend stores
/// entries by the hash of their name, unless the user gave a listed hash (`--hashed`).
fn backend_key(backend: &dyn CacheBackend, key: Bytes, hashed: bool) -> Bytes {
    if hashed {
        key
    } else {
        backend.capabilities().key_for_name(&key)
    }
}

/// A pattern delete asks like a flush: on a terminal the user types the number of keys; with
/// no terminal `--yes` is required. A production profile asks on a terminal even with `--yes`.
fn confirm_pattern_delete(
    target: &Target,
    pattern: &str,
    count: u64,
    yes: bool,
) -> Result<(), Failure> {
    use std::io::{BufRead as _, IsTerminal as _};
    if count == 0 || (yes && !target.production) {
        return Ok(());
    }
    let what = format!(
        "{count} key(s) matching `{}` in {}",
        escape_bytes(pattern.as_bytes()),
        target.spec.display_url()
    );
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

fn parse_key(text: &str) -> Result<Bytes, Failure> {
    unescape(text)
        .map(Bytes::from)
        .map_err(|e| Failure::usage(format!("key `{text}`: {e}")))
}

#[allow(clippy::needless_pass_by_value)] // takes the outcome the write returned, as is
fn written(outcome: WriteOutcome) -> Result<(), Failure> {
    match outcome {
        WriteOutcome::Done(_) => Ok(()),
        WriteOutcome::Conflict => Err(Failure::error(
            "the value changed on the server meanwhile; nothing was written",
        )),
        WriteOutcome::TargetExists => Err(Failure::error("the target key exists already")),
    }
}

async fn count_matching(backend: &dyn CacheBackend, request: &ScanRequest) -> Result<u64, Failure> {
    let mut seen = crate::core::keyindex::KeyIndex::new("");
    let mut cursor = 0;
    loop {
        let page = backend.scan(request, cursor).await?;
        seen.extend(page.keys.iter().map(AsRef::as_ref))
            .map_err(Failure::error)?;
        cursor = page.next_cursor;
        if cursor == 0 {
            return Ok(seen.len() as u64);
        }
    }
}

fn split_target(
    profile: Option<&str>,
    args: &[String],
    rest_len: std::ops::RangeInclusive<usize>,
) -> Result<(Target, Vec<String>), Failure> {
    let (target, rest) = if let Some(name) = profile {
        (target_from_profile(name)?, args.to_vec())
    } else {
        let Some((url, rest)) = args.split_first() else {
            return Err(Failure::usage("give a URL or --profile NAME"));
        };
        let (spec, password) = parse_url(url).map_err(Failure::usage)?;
        let options = ConnectOptions {
            read_only: false,
            profile: String::new(),
            audit: crate::config::audit::AuditLog::default_log(),
        };
        (
            Target {
                spec,
                password,
                options,
                production: false,
            },
            rest.to_vec(),
        )
    };
    if !rest_len.contains(&rest.len()) {
        return Err(Failure::usage(format!(
            "expected {} argument(s) after the URL or profile, got {}",
            if rest_len.start() == rest_len.end() {
                rest_len.start().to_string()
            } else if *rest_len.end() == usize::MAX {
                format!("at least {}", rest_len.start())
            } else {
                format!("{} to {}", rest_len.start(), rest_len.end())
            },
            rest.len()
        )));
    }
    Ok((target, rest))
}

fn target_from_profile(name: &str) -> Result<Target, Failure> {
    let loaded = ProfileStore::load_default().map_err(Failure::error)?;
    if let Some(warning) = loaded.warning {
        return Err(Failure::error(warning));
    }
    let profile = loaded
        .store
        .get(name)
        .ok_or_else(|| Failure::error(format!("no profile named `{name}`")))?;
    let password = match profile.connection.password_source() {
        PasswordSource::Prompt => {
            Some(std::env::var(PASSWORD_ENV).map(Secret::new).map_err(|_| {
                Failure::error(format!(
                    "profile `{name}` asks for a password: set {PASSWORD_ENV}"
                ))
            })?)
        }
        _ => None,
    };
    Ok(Target {
        spec: profile.connection.clone(),
        password,
        options: crate::backend::ConnectOptions::for_profile(
            profile,
            crate::config::audit::AuditLog::default_log(),
        ),
        production: profile.production,
    })
}

async fn open(target: &Target) -> Result<Box<dyn CacheBackend>, Failure> {
    let password = target
        .spec
        .resolve_password(target.password.as_ref())
        .map_err(Failure::error)?;
    Ok(backend::connect(&target.spec, password.as_ref(), &target.options).await?)
}

fn block_on(future: impl Future<Output = Result<(), Failure>>) -> Result<(), Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::error(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(future)
}

/// Samples every `interval` and prints a report per interval, `reports` times (or forever).
async fn stats(
    backend: &dyn CacheBackend,
    interval: std::time::Duration,
    reports: Option<u64>,
    json: bool,
) -> Result<(), Failure> {
    use crate::core::metrics::{Sample, derive};
    let sample = async || -> Result<Sample, Failure> {
        let servers = backend.stats().await?;
        Ok(Sample {
            at_ms: crate::core::ttl::now_unix_ms(),
            servers,
        })
    };
    let mut prev = sample().await?;
    let mut printed = 0;
    while reports.is_none_or(|n| printed < n) {
        tokio::time::sleep(interval).await;
        let cur = sample().await?;
        let derived = derive(Some(&prev), &cur);
        let text = if json {
            stats_json(&cur, &derived).to_string()
        } else {
            stats_text(&cur, &derived)
        };
        let mut out = std::io::stdout().lock();
        // A closed pipe (`| head`) ends the watch quietly.
        if writeln!(out, "{text}").and_then(|()| out.flush()).is_err() {
            return Ok(());
        }
        prev = cur;
        printed += 1;
    }
    Ok(())
}

fn ttl_json(ttl: crate::core::model::Ttl) -> serde_json::Value {
    match ttl {
        Ttl::Persistent => serde_json::Value::Null,
        Ttl::ExpiresInMs(ms) => ms.div_ceil(1000).into(),
    }
}

fn analysis_json(r: &crate::backend::analysis::MemoryReport) -> serde_json::Value {
    use crate::backend::analysis::TTL_BUCKETS;
    let totals = |t: &crate::backend::analysis::Totals| serde_json::json!({"keys": t.keys, "bytes": t.bytes});
    serde_json::json!({
        "keys": r.keys,
        "bytes": r.bytes,
        "sampled": r.sampled,
        "vanished": r.vanished,
        "without_size": r.without_size,
        "elapsed_ms": r.elapsed_ms,
        "top": r.top.iter().map(|f| serde_json::json!({
            "key": escape_bytes(&f.key),
            "type": f.key_type.label(),
            "bytes": f.bytes,
            "ttl_secs": ttl_json(f.ttl),
        })).collect::<Vec<_>>(),
        "namespaces": r.namespaces.iter().map(|(n, t)| {
            let mut v = totals(t);
            v["namespace"] = n.as_str().into();
            v
        }).collect::<Vec<_>>(),
        "types": r.types.iter().map(|(k, t)| {
            let mut v = totals(t);
            v["type"] = k.label().into();
            v
        }).collect::<Vec<_>>(),
        "ttl": TTL_BUCKETS.iter().zip(&r.ttl).map(|(name, t)| {
            let mut v = totals(t);
            v["range"] = (*name).into();
            v
        }).collect::<Vec<_>>(),
    })
}

fn analysis_text(r: &crate::backend::analysis::MemoryReport) -> String {
    use std::fmt::Write as _;
    let bytes = |n: u64| crate::core::metrics::bytes(n as f64);
    let mut out = format!(
        "{} keys, {}{}\n\nbiggest keys\n",
        r.keys,
        bytes(r.bytes),
        if r.sampled { " (a sample)" } else { "" }
    );
    for f in &r.top {
        let _ = writeln!(
            out,
            "  {:>10}  {:<8} {}",
            bytes(f.bytes),
            f.key_type.label(),
            escape_bytes(&f.key)
        );
    }
    out.push_str("\nnamespaces\n");
    for (n, t) in &r.namespaces {
        let _ = writeln!(out, "  {:>10}  {:>9} keys  {n}", bytes(t.bytes), t.keys);
    }
    out.push_str("\ntypes\n");
    for (k, t) in &r.types {
        let _ = writeln!(
            out,
            "  {:>10}  {:>9} keys  {}",
            bytes(t.bytes),
            t.keys,
            k.label()
        );
    }
    out.push_str("\nTTLs\n");
    for (name, t) in crate::backend::analysis::TTL_BUCKETS.iter().zip(&r.ttl) {
        let _ = writeln!(out, "  {:>10}  {:>9} keys  {name}", bytes(t.bytes), t.keys);
    }
    out.trim_end().to_owned()
}

fn point_json(point: &crate::core::metrics::Point) -> serde_json::Value {
    crate::core::metrics::Metric::ALL
        .iter()
        .map(|m| (m.name().to_owned(), point.value(*m).into()))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

fn stats_json(
    sample: &crate::core::metrics::Sample,
    derived: &crate::core::metrics::Derived,
) -> serde_json::Value {
    let mut total = point_json(&derived.total);
    if let Some(obj) = total.as_object_mut() {
        obj.insert(
            "time".into(),
            crate::core::metrics::rfc3339(derived.total.t).into(),
        );
        let per_db: serde_json::Map<String, serde_json::Value> = sample
            .servers
            .iter()
            .flat_map(|(_, s)| &s.keys_per_db)
            .map(|(db, keys)| (format!("db{db}"), (*keys).into()))
            .collect();
        if !per_db.is_empty() {
            obj.insert("keys_per_db".into(), per_db.into());
        }
        if !derived.servers.is_empty() {
            let servers: serde_json::Map<String, serde_json::Value> = derived
                .servers
                .iter()
                .map(|(name, p)| (name.clone(), point_json(p)))
                .collect();
            obj.insert("servers".into(), servers.into());
        }
        obj.insert("restarted".into(), derived.restarted.clone().into());
        let errors: serde_json::Map<String, serde_json::Value> = sample
            .servers
            .iter()
            .filter_map(|(name, s)| Some((name.clone(), s.error.clone()?.into())))
            .collect();
        if !errors.is_empty() {
            obj.insert("errors".into(), errors.into());
        }
    }
    total
}

fn stats_text(
    sample: &crate::core::metrics::Sample,
    derived: &crate::core::metrics::Derived,
) -> String {
    use std::fmt::Write as _;
    let mut out = format!("{}\n", crate::core::metrics::rfc3339(derived.total.t));
    let mut block = |name: &str, p: &crate::core::metrics::Point| {
        if !name.is_empty() {
            let _ = writeln!(out, "[{name}]");
        }
        for m in crate::core::metrics::Metric::ALL {
            if let Some(v) = p.value(m) {
                let _ = writeln!(out, "{:<22}{}", m.label(), m.format(v));
            }
        }
    };
    block("", &derived.total);
    for (name, p) in &derived.servers {
        block(name, p);
    }
    for (_, s) in &sample.servers {
        for (db, keys) in &s.keys_per_db {
            let _ = writeln!(out, "{:<22}{keys}", format!("Keys in db{db}"));
        }
    }
    for (name, s) in &sample.servers {
        if let Some(e) = &s.error {
            let _ = writeln!(out, "{name} is not answering: {e}");
        }
    }
    for name in &derived.restarted {
        let _ = writeln!(
            out,
            "{name} restarted or reset its counters: no rates for this interval"
        );
    }
    out.trim_end().to_owned()
}

async fn keys(
    backend: &dyn CacheBackend,
    request: &ScanRequest,
    count_only: bool,
) -> Result<(), Failure> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    // SCAN may return a key twice while the server rehashes; print each once.
    let mut seen = crate::core::keyindex::KeyIndex::new("");
    let mut cursor = 0;
    let mut line = String::new();
    loop {
        let page = backend.scan(request, cursor).await?;
        for key in &page.keys {
            let before = seen.len();
            seen.insert(key).map_err(Failure::error)?;
            if seen.len() > before && !count_only {
                line.clear();
                crate::core::escape::escape_into(key, &mut line);
                line.push('\n');
                if out.write_all(line.as_bytes()).is_err() {
                    return Ok(()); // the reader went away (`| head`): not an error
                }
            }
        }
        cursor = page.next_cursor;
        if cursor == 0 {
            break;
        }
    }
    if count_only {
        let _ = writeln!(out, "{}", seen.len());
    }
    let _ = out.flush();
    Ok(())
}

async fn get(backend: &dyn CacheBackend, key: &[u8], meta_only: bool) -> Result<(), Failure> {
    let details = backend.key_details(key).await?;
    let mut out = std::io::stdout().lock();
    if meta_only {
        let ttl = match details.meta.ttl {
            Ttl::Persistent => -1,
            Ttl::ExpiresInMs(ms) => i64::try_from(ms.div_ceil(1000)).unwrap_or(i64::MAX),
        };
        let size = details
            .meta
            .size_bytes
            .map_or_else(|| "unknown".to_owned(), |s| s.to_string());
        let text = format!(
            "type: {}\nttl: {ttl}\nsize: {size}\nlength: {}\nencoding: {}\n",
            details.meta.key_type.label(),
            details.length,
            details.encoding.as_deref().unwrap_or("unknown"),
        );
        out.write_all(text.as_bytes()).map_err(Failure::error)?;
        return Ok(());
    }
    let key_type = details.meta.key_type.clone();
    if key_type == KeyType::String {
        let mut offset = 0;
        while offset < details.length {
            let chunk = backend
                .read_string_range(key, offset, (1 << 20).min(details.length - offset))
                .await?;
            if chunk.is_empty() {
                break;
            }
            out.write_all(&chunk).map_err(Failure::error)?;
            offset += chunk.len() as u64;
        }
        return Ok(());
    }
    // Collections stream to stdout a page at a time: a million-field hash never sits in
    // memory as one JSON document. Elements are written compact, one per line.
    let object = key_type == KeyType::Hash;
    let mut cursor = PageCursor::Start;
    let mut first = true;
    let mut seen = SeenSet::default();
    let mut element = |out: &mut std::io::StdoutLock<'_>, text: String| -> Result<(), Failure> {
        let open = match (first, object) {
            (true, true) => "{\n  ",
            (true, false) => "[\n  ",
            (false, _) => ",\n  ",
        };
        first = false;
        out.write_all(open.as_bytes())
            .and_then(|()| out.write_all(text.as_bytes()))
            .map_err(Failure::error)
    };
    let json = |v: &serde_json::Value| v.to_string();
    loop {
        let page = backend.read_page(key, &key_type, &cursor, 1000).await?;
        match page.items {
            ValueItems::String { bytes, .. } => {
                element(&mut out, json(&escape_bytes(&bytes).into()))?;
            }
            ValueItems::Hash(pairs) => {
                // HSCAN may return a field twice while Redis rehashes: printed once.
                for (f, v) in pairs.iter().filter(|(f, _)| seen.first_time(f)) {
                    let k = json(&escape_bytes(f).into());
                    element(&mut out, format!("{k}: {}", json(&escape_bytes(v).into())))?;
                }
            }
            ValueItems::List(items) => {
                for v in &items {
                    element(&mut out, json(&escape_bytes(v).into()))?;
                }
            }
            ValueItems::Set(items) => {
                for v in items.iter().filter(|v| seen.first_time(v)) {
                    element(&mut out, json(&escape_bytes(v).into()))?;
                }
            }
            ValueItems::ZSet(members) => {
                for (m, score) in &members {
                    element(&mut out, json(&serde_json::json!([escape_bytes(m), score])))?;
                }
            }
            ValueItems::Stream(entries) => {
                for e in &entries {
                    let fields: serde_json::Map<String, serde_json::Value> = e
                        .fields
                        .iter()
                        .map(|(f, v)| (escape_bytes(f), serde_json::Value::String(escape_bytes(v))))
                        .collect();
                    element(
                        &mut out,
                        json(&serde_json::json!({"id": escape_bytes(&e.id), "fields": fields})),
                    )?;
                }
            }
            ValueItems::Json(text) => {
                writeln!(out, "{text}").map_err(Failure::error)?;
                return Ok(());
            }
        }
        match page.next {
            Some(next) => cursor = next,
            None => break,
        }
    }
    let close = match (first, object) {
        (true, true) => "{}\n",
        (true, false) => "[]\n",
        (false, true) => "\n}\n",
        (false, false) => "\n]\n",
    };
    out.write_all(close.as_bytes()).map_err(Failure::error)?;
    Ok(())
}

/// Which members were printed already, as 128-bit fingerprints (16 bytes a member, not the
/// member itself): two members colliding is less likely than a disk error.
#[derive(Default)]
struct SeenSet {
    seen: std::collections::HashSet<u128>,
    keys: (std::hash::RandomState, std::hash::RandomState),
}

impl SeenSet {
    fn first_time(&mut self, member: &[u8]) -> bool {
        use std::hash::BuildHasher as _;
        let a = self.keys.0.hash_one(member);
        let b = self.keys.1.hash_one(member);
        self.seen.insert(u128::from(a) << 64 | u128::from(b))
    }
}

async fn get_decoded(backend: &dyn CacheBackend, key: &[u8]) -> Result<(), Failure> {
    let details = backend.key_details(key).await?;
    if details.meta.key_type != KeyType::String {
        return Err(Failure::error(
            "--decode reads string values; collections print as JSON without it",
        ));
    }
    let mut bytes = Vec::new();
    let mut offset = 0;
    while offset < details.length {
        let chunk = backend
            .read_string_range(key, offset, (1 << 20).min(details.length - offset))
            .await?;
        if chunk.is_empty() {
            break;
        }
        offset += chunk.len() as u64;
        bytes.extend_from_slice(&chunk);
    }
    let decoded = crate::core::decode::detect(&bytes, details.flags)
        .ok_or_else(|| {
            Failure::error(
                "no known encoding recognised (not PHP serialize, gzip, zlib or flagged)",
            )
        })?
        .map_err(Failure::error)?;
    let text = serde_json::to_string_pretty(&crate::core::decode::to_json(&decoded.node))
        .map_err(Failure::error)?;
    println!("{text}");
    Ok(())
}

fn profiles(action: ProfilesCommand) -> Result<(), Failure> {
    let loaded = ProfileStore::load_default().map_err(Failure::error)?;
    if let Some(warning) = &loaded.warning {
        eprintln!("cache-console: warning: {warning}");
    }
    let mut store = loaded.store;
    match action {
        ProfilesCommand::List => {
            let mut out = std::io::stdout().lock();
            for p in store.profiles() {
                let mut flags = Vec::new();
                if p.read_only {
                    flags.push("read-only".to_owned());
                }
                if p.production {
                    flags.push("production".to_owned());
                }
                if let Some(c) = p.color {
                    flags.push(c.name().to_owned());
                }
                let flags = if flags.is_empty() {
                    String::new()
                } else {
                    format!("\t[{}]", flags.join(", "))
                };
                let _ = writeln!(out, "{}\t{}{flags}", p.name, p.connection.display_url());
            }
            Ok(())
        }
        ProfilesCommand::Add {
            name,
            url,
            read_only,
            color,
            production,
        } => {
            let (mut spec, inline) = parse_url(&url).map_err(Failure::usage)?;
            if inline.is_some() {
                // Never store it: the profile will ask for it (or read CACHE_CONSOLE_PASSWORD).
                spec.set_password_source(PasswordSource::Prompt);
                eprintln!(
                    "cache-console: the password in the URL was not saved; the profile will ask \
                     for it (CLI: set {PASSWORD_ENV}), or use ${{VAR}} to read it from a variable"
                );
            }
            let mut profile = Profile::new(name, spec);
            profile.read_only = read_only;
            profile.color = color;
            profile.production = production;
            store.add(profile).map_err(Failure::error)?;
            store.save().map_err(Failure::error)
        }
        ProfilesCommand::Remove { name } => {
            store.remove(&name).map_err(Failure::error)?;
            store.save().map_err(Failure::error)
        }
    }
}
