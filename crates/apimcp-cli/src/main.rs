//! The `apimcp` command: a thin layer over the `apimcp` library.

mod args;
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
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        args::Command::Tools(args) => runtime.block_on(tools::run(args)),
    }
}
