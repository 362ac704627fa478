//! The `apimcp` command: a thin layer over the `apimcp` library.

mod args;
mod auth;
mod config;
mod serve;
mod tools;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    match run(args::Cli::parse()) {
        Ok(code) => code,
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
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        match cli.command {
            args::Command::Tools(args) => tools::run(args).await,
            args::Command::Serve(args) => serve::serve(args).await,
            args::Command::Demo(args) => serve::demo(args).await,
            args::Command::Check(args) => serve::check(args).await,
        }
    })
}
