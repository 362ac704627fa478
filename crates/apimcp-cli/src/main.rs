//! The `apimcp` command: a thin layer over the `apimcp` library.

mod args;
mod auth;
mod config;
mod observe;
mod serve;
mod settings;
mod telemetry;
mod tools;
mod upstream;

use std::process::ExitCode;

use clap::Parser;

use crate::settings::{Mode, Settings};

// mimalloc gives freed memory back to the system: with glibc's allocator, what parsing and
// converting a big document allocated stayed resident after it was freed (GitHub's document:
// 152 MB idle, of which 63 MB were freed pages glibc kept below live memory). Built without
// transparent huge pages (`no_thp`): with them, a 2 MiB page stays resident for a few live
// blocks (GitHub's document served: 70 MB with them, 54 MB without; the demo idle: 9.4 MB of
// heap, 3.1 MB), for no throughput measured.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    // The gRPC exporter is made within the runtime's context; logs go to stderr, always
    // (stdout carries `tools --json` output and the stdio transport).
    let _context = runtime.enter();
    let mut telemetry = telemetry::init(cli.log_format)?;
    apimcp::telemetry::record_arguments(cli.trace_path_arguments);
    let settings = Settings::new(cli)?;
    let probes = settings.server.metrics_listen.map(|_| observe::Probes::new());
    telemetry::init_metrics(&mut telemetry, probes.as_ref().map(observe::Probes::registry))?;
    let result = runtime.block_on(async {
        let serves = matches!(settings.mode, Mode::Serve { .. } | Mode::Stdio { .. } | Mode::Demo);
        if let (true, Some(addr), Some(probes)) = (serves, settings.server.metrics_listen, &probes) {
            observe::listen(addr, probes.clone()).await?;
        }
        let probes = probes.as_ref();
        match &settings.mode {
            Mode::Tools { document, json } => tools::run(&settings, document, *json).await,
            Mode::Serve { api } => serve::serve(&settings, api, probes).await,
            Mode::Stdio { api } => serve::stdio(&settings, api, probes).await,
            Mode::Demo => serve::demo(&settings, probes).await,
            Mode::Check { config, api } => serve::check(&settings, config, api).await,
        }
    });
    telemetry.shutdown();
    result
}

/// Whether `error` comes from writing to a pipe whose reader is gone.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}
