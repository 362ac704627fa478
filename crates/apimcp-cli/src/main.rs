//! The `apimcp` command: a thin layer over the `apimcp` library.

mod args;
mod auth;
mod config;
mod serve;
mod settings;
mod tools;
mod upstream;

use std::process::ExitCode;

use clap::Parser;

use crate::settings::{Mode, Settings};

fn main() -> ExitCode {
    match run(args::Cli::parse()) {
        Ok(code) => code,
        // A reader that stops early (`apimcp tools --json | head`) is not a failure.
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("apimcp: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: args::Cli) -> anyhow::Result<ExitCode> {
    // Logs go to stderr, always: stdout carries `tools --json` output and the stdio transport.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,rmcp=warn".into()),
        )
        .init();
    let settings = Settings::new(cli)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        match &settings.mode {
            Mode::Tools { document, json } => tools::run(&settings, document, *json).await,
            Mode::Serve { api } => serve::serve(&settings, api).await,
            Mode::Stdio { api } => serve::stdio(&settings, api).await,
            Mode::Demo => serve::demo(&settings).await,
            Mode::Check { config, api } => serve::check(&settings, config, api).await,
        }
    })
}

/// Whether `error` comes from writing to a pipe whose reader is gone.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}
