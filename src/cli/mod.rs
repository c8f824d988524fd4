//! The headless command-line twin of the console, on the same backend code as the GUI.
//!
//! Exit codes: 0 success, 1 an error (one line on stderr), 2 a usage error.

mod audit;
mod exec;
mod exporter;
mod keyfile;
mod profiles;
mod read;
mod report;
mod secrets;
mod ssh;
mod tags;
mod target;
mod transfer;
mod write;

use std::io::Write as _;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::backend::BackendError;
use crate::config::profiles::ColorTag;

/// Environment variable the CLI reads for profiles that ask for a password.
pub const PASSWORD_ENV: &str = "CACHE_CONSOLE_PASSWORD";

/// Cache Console: look inside caches and fix what is wrong there.
#[derive(Debug, Parser)]
#[command(name = "cache-console", version, about)]
pub struct Cli {
    /// What to do; without a subcommand the desktop app opens.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The SSH tunnel, for every command that connects.
    #[command(flatten)]
    pub ssh: SshArgs,
    /// How much of each server's time a listing may take.
    #[command(flatten)]
    pub scan: ScanArgs,
}

/// The scan budget of every command that lists keys (`keys`, `del --pattern`, `analyze`,
/// `export`, `copy`, `tags --flush`).
#[derive(Debug, Clone, Args)]
pub struct ScanArgs {
    /// At most MS milliseconds of each Redis server's time a second spent on `SCAN`, each
    /// call kept near 0.5 ms by its `COUNT` (so none reaches the slow log); `off` lists as
    /// fast as the server answers, 1,000 keys a call.
    #[arg(long, global = true, value_name = "MS|off", default_value = "250", value_parser = parse_scan_budget)]
    pub scan_budget: ScanBudget,
}

/// A parsed `--scan-budget`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanBudget(pub Option<u32>);

fn parse_scan_budget(text: &str) -> Result<ScanBudget, String> {
    if text.eq_ignore_ascii_case("off") {
        return Ok(ScanBudget(None));
    }
    match text.parse::<u32>() {
        Ok(ms @ 1..=1000) => Ok(ScanBudget(Some(ms))),
        _ => Err(format!(
            "`{text}`: give milliseconds a second, 1 to 1000, or off"
        )),
    }
}

/// The budget the command line was given (the default until `run` sets it).
static SCAN_BUDGET: std::sync::OnceLock<Option<u32>> = std::sync::OnceLock::new();

/// The command line's scan budget.
pub(crate) fn scan_budget() -> Option<u32> {
    SCAN_BUDGET
        .get()
        .copied()
        .unwrap_or(Some(crate::core::model::DEFAULT_SCAN_BUDGET_MS))
}

/// A listing of the keys `pattern` matches, within the command line's scan budget.
pub(crate) fn listing_request(pattern: Vec<u8>) -> crate::core::model::ScanRequest {
    let mut request = crate::core::model::ScanRequest::matching(pattern);
    if let Some(budget) = SCAN_BUDGET.get() {
        request.budget_ms = *budget;
    }
    request
}

pub use exporter::ExporterArgs;
pub use ssh::SshArgs;

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
    /// Empty the current database (a cluster: every primary, or one with `--node`). Refuses
    /// without `--yes`.
    Flush(FlushArgs),
    /// Run one command as typed (`exec URL -- SET k v`) and print its reply as redis-cli does:
    /// refused on a read-only profile when the server says it may write, audited when it does
    /// (secrets redacted); a `@dangerous` command on a production profile asks (or `--yes`).
    /// Exit 1 on an error reply.
    Exec(ExecArgs),
    /// Laravel's cache tags: the tags an entry belongs to (`URL KEY`), or with `--flush TAG`
    /// delete what `Cache::tags([TAG])->flush()` deletes (asking first, or `--yes`).
    Tags(TagsArgs),
    /// Print live figures: hit rate over the sampling interval, ops/sec, memory, clients,
    /// evictions and expirations (per server of a pool, and summed).
    Stats(StatsArgs),
    /// Where the memory goes: the biggest keys, bytes by namespace and by type, and the TTL
    /// distribution of the keys a pattern matches (the whole keyspace or a sample).
    Analyze(AnalyzeArgs),
    /// Write the keys a pattern matches, with their TTLs, to a file: JSON lines (one typed
    /// record a key, portable), `redis-cli` commands (`redis-cli < FILE` loads them) or DUMP
    /// payloads (fast; the same Redis major version only). Streamed: memory stays flat.
    Export(ExportArgs),
    /// Load a `jsonl` or `dump` export (its format read from the file); a key that exists is
    /// skipped, replaced or stops the import (`--on-conflict`). Through the same guard as every
    /// write: refused on a read-only profile, audited.
    Import(ImportArgs),
    /// Copy the keys a pattern matches from one cache to another (`SOURCE DESTINATION
    /// [PATTERN]`, or `--from-profile` / `--to-profile`): every type between Redis servers of
    /// any topology, strings between Redis, memcached, SQL and file caches. TTLs are kept; a
    /// key that exists is skipped, replaced or stops the copy.
    Copy(CopyArgs),
    /// Serve the figures of saved profiles to Prometheus: `/metrics` for every profile (or
    /// the ones `--profile` and `--group` choose), `/scrape?target=PROFILE` for one. Each
    /// scrape reads the servers, at most `--concurrency` at once and each within
    /// `--timeout-ms`. Listens on 127.0.0.1:9150 unless `--listen` says otherwise.
    Exporter(ExporterArgs),
    /// Show what was done: the audit log's entries, newest last, filtered by profile,
    /// action, key and time; as a table, JSON lines or CSV.
    Audit(AuditArgs),
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
    /// Only the keys one server holds: a server of a memcached pool, a node of a Redis
    /// Cluster (`host:port`, as the cluster announces it; a replica too).
    #[arg(long, visible_alias = "node", value_name = "HOST:PORT")]
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
    /// The value is JSON: checked, and stored as the structure it is where the cache tells
    /// structures from strings (DreamFactory's API); otherwise the value is a string.
    #[arg(long)]
    pub json: bool,
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

/// Arguments of `exec`.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Use a saved profile instead of a URL.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// The URL (none with `--profile`).
    #[arg(value_name = "URL", num_args = 0..=1)]
    pub target: Vec<String>,
    /// The command and its arguments, after `--`, each as one argument.
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
    /// Run a `@dangerous` command on a production profile without asking (needed when there
    /// is no terminal to ask on).
    #[arg(long)]
    pub yes: bool,
    /// On a cluster (or a memcached pool): run it on this node (`host:port`).
    #[arg(long, value_name = "HOST:PORT", conflicts_with = "all_primaries")]
    pub node: Option<String>,
    /// On a cluster (or a memcached pool): run it on every primary, each answer printed.
    #[arg(long)]
    pub all_primaries: bool,
}

/// Arguments of `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Use a saved profile instead of a URL.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// `URL [PATTERN]`, or just `[PATTERN]` with `--profile` (every key without one).
    #[arg(value_name = "URL|PATTERN", num_args = 0..=2)]
    pub args: Vec<String>,
    /// `jsonl`, `commands` or `dump`.
    #[arg(long, default_value = "jsonl", value_name = "FORMAT")]
    pub format: String,
    /// The file to write (made whole or not at all; never through a symlink).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: std::path::PathBuf,
    /// Only keys of this type.
    #[arg(long = "type", value_name = "TYPE")]
    pub key_type: Option<String>,
    /// Bytes as base64 rather than escaped text (jsonl).
    #[arg(long)]
    pub base64: bool,
}

/// Arguments of `import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Use a saved profile instead of a URL.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// `URL FILE`, or just `FILE` with `--profile`.
    #[arg(value_name = "URL|FILE", num_args = 1..=2)]
    pub args: Vec<String>,
    /// What to do with a key that exists: `skip`, `replace` or `stop`.
    #[arg(long, default_value = "skip", value_name = "POLICY")]
    pub on_conflict: String,
}

/// Arguments of `copy`.
#[derive(Debug, Args)]
pub struct CopyArgs {
    /// Read from this saved profile instead of a URL.
    #[arg(long, value_name = "NAME")]
    pub from_profile: Option<String>,
    /// Write to this saved profile instead of a URL.
    #[arg(long, value_name = "NAME")]
    pub to_profile: Option<String>,
    /// `SOURCE DESTINATION [PATTERN]` (a URL for each side without its profile).
    #[arg(value_name = "URL|PATTERN", num_args = 0..=3)]
    pub args: Vec<String>,
    /// Only keys of this type.
    #[arg(long = "type", value_name = "TYPE")]
    pub key_type: Option<String>,
    /// What to do with a key that exists: `skip`, `replace` or `stop`.
    #[arg(long, default_value = "skip", value_name = "POLICY")]
    pub on_conflict: String,
}

/// Arguments of `tags`.
#[derive(Debug, Args)]
pub struct TagsArgs {
    /// Use a saved profile instead of a URL.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// `URL KEY` (the tags of an entry), `URL` with `--flush`; without the URL with `--profile`.
    #[arg(value_name = "URL|KEY", num_args = 0..=2)]
    pub args: Vec<String>,
    /// Flush this tag as Laravel does: its entries, its reference sets and its id.
    #[arg(long, value_name = "TAG")]
    pub flush: Option<String>,
    /// With `--flush`: the prefix the tag's keys are under (found when left out).
    #[arg(long, value_name = "PREFIX", requires = "flush")]
    pub root: Option<String>,
    /// With `--flush`: only count what would be deleted.
    #[arg(long, requires = "flush")]
    pub dry_run: bool,
    /// With `--flush`: delete without asking (needed when there is no terminal to ask on).
    #[arg(long, requires = "flush")]
    pub yes: bool,
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
    /// Flush only this server of a memcached pool, or this primary of a Redis Cluster
    /// (`host:port`); without it a cluster's every primary is flushed.
    #[arg(long, visible_alias = "node", value_name = "HOST:PORT")]
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
    /// Only the keys of one server: a memcached pool's server or a Redis Cluster node
    /// (`host:port`).
    #[arg(long, visible_alias = "node", value_name = "HOST:PORT")]
    pub server: Option<String>,
}

/// Arguments of `audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only this profile's entries.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Only this action (`ttl`, `delete`, `delete-pattern`, `flushdb`, `set`, …).
    #[arg(long, value_name = "ACTION")]
    pub action: Option<String>,
    /// Only entries about keys like this: a glob (`user:*`) or text found in a key name.
    #[arg(long, value_name = "PATTERN")]
    pub key: Option<String>,
    /// Only entries since: a span back from now (`90m`, `24h`, `7d`) or a UTC date-time.
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Only entries before: a span back from now or a UTC date-time.
    #[arg(long, value_name = "WHEN")]
    pub until: Option<String>,
    /// At most this many (the newest).
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub limit: usize,
    /// How to print them.
    #[arg(long, value_enum, default_value_t = AuditFormat::Table)]
    pub format: AuditFormat,
}

/// How `audit` prints entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuditFormat {
    /// Aligned columns for people.
    Table,
    /// One JSON object per line, as the log keeps them.
    Json,
    /// CSV with a header row.
    Csv,
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
    /// List saved profiles (name, URL and group, never a password), last used first.
    List {
        /// Only the profiles of this group.
        #[arg(long, value_name = "GROUP")]
        group: Option<String>,
    },
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
        /// The group (folder) the profile is listed under.
        #[arg(long, value_name = "GROUP")]
        group: Option<String>,
    },
    /// List the cache services of a DreamFactory instance (an admin's session token:
    /// `dreamfactory+https://df.example.com?session_token=${VAR}`) and the profiles that reach
    /// them: through the API, and straight to the Redis or memcached where its config says.
    Discover {
        /// The instance's URL (`/api/v2/system` is added when the path has no `/api/v2/`).
        url: String,
        /// Save the profiles (a name that is taken is left as it is).
        #[arg(long)]
        add: bool,
        /// The group the saved profiles go in.
        #[arg(long, value_name = "GROUP")]
        group: Option<String>,
    },
    /// Put a profile in a group (folder), or back at the top level when GROUP is left out.
    Group {
        /// Profile name.
        name: String,
        /// The group.
        group: Option<String>,
    },
    /// Delete a profile (and the password remembered for it).
    Remove {
        /// Profile name.
        name: String,
    },
    /// Write profiles (all, or the ones named) to FILE, to hand to someone or another machine.
    /// Secrets are left out unless `--with-secrets`: then they are sealed with a passphrase
    /// (`CACHE_CONSOLE_EXPORT_PASSPHRASE`, or asked twice on a terminal).
    Export {
        /// The file to write (refused when it exists, unless `--yes`).
        file: std::path::PathBuf,
        /// The profiles; all when none is named.
        names: Vec<String>,
        /// Include the remembered passwords, sealed with a passphrase.
        #[arg(long)]
        with_secrets: bool,
        /// Replace FILE when it exists.
        #[arg(long)]
        yes: bool,
    },
    /// Merge the profiles of FILE into the saved ones, after printing what will happen.
    Import {
        /// The file.
        file: std::path::PathBuf,
        /// Its format; detected when left out.
        #[arg(long, value_name = "FORMAT")]
        from: Option<ImportFormat>,
        /// What to do when a name is taken.
        #[arg(long, value_name = "CHOICE", default_value = "skip")]
        on_conflict: OnConflict,
        /// Where the passwords the file brings go (sealed ones are opened with
        /// `CACHE_CONSOLE_IMPORT_PASSPHRASE` or a passphrase asked on a terminal).
        #[arg(long, value_name = "STORE", default_value = "drop")]
        secrets: ImportSecrets,
        /// Print what would happen, change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Remember a profile's password in the OS keyring or the vault, or go back to asking.
    /// The password comes from `CACHE_CONSOLE_PASSWORD`, the terminal, or one line of stdin;
    /// the vault's passphrase from `CACHE_CONSOLE_VAULT_PASSPHRASE` or the terminal.
    SetPassword {
        /// Profile name.
        name: String,
        /// Where to keep it: keyring, vault, or ask (forget it, ask each time).
        #[arg(long, value_name = "STORE")]
        store: PasswordStore,
    },
}

/// How `profiles import` reads its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportFormat {
    /// A Cache Console export (`profiles export`).
    CacheConsole,
    /// One connection URL per line (`redis://…`, `memcached://…`, …; `#` comments).
    Urls,
    /// Tiny RDM's `connections.yaml`, or the zip its Export writes.
    Tinyrdm,
    /// RedisInsight's exported databases (JSON).
    Redisinsight,
    /// Another Redis Desktop Manager's exported `connections.ano`.
    Ardm,
    /// RESP.app's `connections.json`.
    Resp,
}

/// What `profiles import` does with a profile whose name is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnConflict {
    /// Keep the saved one.
    Skip,
    /// Add the incoming one as `name (2)`.
    Rename,
    /// Replace the saved one.
    Replace,
}

/// Where `profiles import` keeps the passwords a file brings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportSecrets {
    /// The OS keyring.
    Keyring,
    /// The vault.
    Vault,
    /// Nowhere: the profiles ask for them.
    Drop,
}

/// Where `profiles set-password` keeps a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PasswordStore {
    /// The OS keyring (Secret Service, Keychain, Credential Manager).
    Keyring,
    /// The vault file, encrypted with a passphrase.
    Vault,
    /// Nowhere: asked for at each connect (CLI: `CACHE_CONSOLE_PASSWORD`).
    Ask,
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
    pub(crate) fn error(message: impl std::fmt::Display) -> Self {
        Self {
            code: 1,
            message: message.to_string(),
        }
    }

    pub(crate) fn usage(message: impl std::fmt::Display) -> Self {
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
pub fn run(command: Command, ssh: &SshArgs, scan: &ScanArgs) -> ExitCode {
    let _ = SCAN_BUDGET.set(scan.scan_budget.0);
    match execute(command, ssh) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            // One line: newlines from server messages would break scripts that read stderr.
            let line = failure.message.replace(['\n', '\r'], " ");
            let _ = writeln!(std::io::stderr(), "cache-console: {line}");
            ExitCode::from(failure.code)
        }
    }
}

fn execute(command: Command, ssh: &SshArgs) -> Result<(), Failure> {
    match command {
        Command::Audit(args) => audit::run(&args),
        Command::Profiles { action } => profiles::run(action, ssh),
        Command::Keys(args) => read::keys(&args, ssh),
        Command::Get(args) => read::get(&args, ssh),
        Command::Set(args) => write::set(&args, ssh),
        Command::Ttl(args) => write::ttl(&args, ssh),
        Command::Del(args) => write::del(&args, ssh),
        Command::Flush(args) => write::flush(&args, ssh),
        Command::Tags(args) => tags::run(&args, ssh),
        Command::Exec(args) => exec::run(&args, ssh),
        Command::Export(args) => keyfile::export(&args, ssh),
        Command::Import(args) => keyfile::import(&args, ssh),
        Command::Copy(args) => keyfile::copy(&args, ssh),
        Command::Stats(args) => report::stats(&args, ssh),
        Command::Analyze(args) => report::analyze(&args, ssh),
        Command::Exporter(args) => exporter::run(&args),
    }
}
