//! `apimcp tools`: the conversion, printed.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use apimcp::openapi::{Conversion, Report, convert};

use crate::settings::{DocumentSettings, Settings};

/// `apimcp tools`: converts `document` and prints the tools, as `tools/list` sends them
/// (`json`) or as a table.
pub(crate) async fn run(settings: &Settings, document: &DocumentSettings, json: bool) -> anyhow::Result<ExitCode> {
    let source = &document.spec;
    let loaded = source.load(settings.fetch_timeout).await?;
    let conversion = convert(&loaded, &document.convert).with_context(|| format!("{source}"))?;
    let mut out = std::io::stdout().lock();
    if json {
        let tools: Vec<_> = conversion.tools.iter().map(|t| &t.tool).collect();
        // As an `io::Error`, so that a closed stdout is recognised as one (see `main`).
        serde_json::to_writer_pretty(&mut out, &tools).map_err(std::io::Error::from)?;
        writeln!(out)?;
    } else {
        print_table(&mut out, &conversion)?;
    }
    print_summary(&conversion.report, conversion.tools.len());
    Ok(ExitCode::SUCCESS)
}

fn print_table(out: &mut impl Write, conversion: &Conversion) -> std::io::Result<()> {
    let width = conversion
        .tools
        .iter()
        .map(|t| t.tool.name.as_str().len())
        .max()
        .unwrap_or(0);
    for t in &conversion.tools {
        let title = t.tool.title.as_deref().unwrap_or("");
        let route = format!("{} {}", t.binding.method, t.binding.path);
        writeln!(out, "{:width$}  {route}  {title}", t.tool.name)?;
    }
    Ok(())
}

fn print_summary(report: &Report, tools: usize) {
    eprintln!(
        "operations: {}, tools: {tools}, filtered out: {}, skipped: {}",
        report.operations,
        report.filtered_out,
        report.skipped.len()
    );
    for skipped in &report.skipped {
        eprintln!("skipped {skipped}");
    }
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
}
