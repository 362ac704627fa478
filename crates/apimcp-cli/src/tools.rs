//! `apimcp tools`: the conversion, printed.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use apimcp::openapi::{Conversion, ConvertOptions, OperationFilter, Report, convert};
use apimcp::source::SpecSource;

use crate::args::{ConvertArgs, ToolsArgs};

pub(crate) async fn run(args: ToolsArgs) -> anyhow::Result<ExitCode> {
    let source = SpecSource::parse(&args.spec)?;
    let options = convert_options(&args.convert)?;
    let timeout = Duration::from_secs(args.convert.fetch_timeout_secs);
    let document = source.load(timeout).await?;
    let conversion = convert(&document, &options).with_context(|| format!("{source}"))?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let tools: Vec<_> = conversion.tools.iter().map(|t| &t.tool).collect();
        serde_json::to_writer_pretty(&mut out, &tools)?;
        writeln!(out)?;
    } else {
        print_table(&mut out, &conversion)?;
    }
    print_summary(&conversion.report, conversion.tools.len());
    Ok(ExitCode::SUCCESS)
}

/// Validated conversion settings from the flags.
pub(crate) fn convert_options(args: &ConvertArgs) -> anyhow::Result<ConvertOptions> {
    let filter = OperationFilter {
        include_operations: args.include_operations.clone(),
        exclude_operations: args.exclude_operations.clone(),
        include_tags: args.include_tags.clone(),
        exclude_tags: args.exclude_tags.clone(),
    };
    filter.validate()?;
    let mut tool_names = std::collections::BTreeMap::new();
    for entry in &args.tool_names {
        let Some((operation, name)) = entry.rsplit_once('=') else {
            bail!("--tool-name {entry:?}: expected OPERATION=NAME");
        };
        tool_names.insert(operation.trim().to_owned(), name.trim().to_owned());
    }
    let mut options = ConvertOptions::default()
        .describe_all_responses(args.describe_all_responses)
        .describe_full_response_schema(args.describe_full_response_schema)
        .omit_responses(args.omit_responses)
        .max_description_len(args.max_description_len)
        .filter(filter)
        .strict(args.strict)
        .max_schema_defs_bytes(match args.max_schema_defs_bytes {
            0 => None,
            n => Some(n),
        });
    options.tool_names = tool_names;
    Ok(options)
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
