//! The `cache-console` binary: the desktop app, or its command-line twin with a subcommand.

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser as _;

fn main() -> ExitCode {
    let launched_at = Instant::now();
    let cli = cache_console::cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,cache_console=info")),
        )
        .init();
    match cli.command {
        Some(command) => cache_console::cli::run(command, &cli.ssh, &cli.scan),
        None => match cache_console::ui::run_gui(launched_at) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("cache-console: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}
