//! Load + conversion time and peak memory for real OpenAPI documents.
//!
//! `cargo bench -p apimcp --bench convert -- FILE...` (the test harness downloads the GitHub,
//! Stripe and other documents into `.cache/openapi`; see `scripts/fetch-openapi-docs.sh`).
//! Each document is converted in a fresh process, so peak memory is its own.

use std::process::Command;
use std::time::Instant;

use apimcp::openapi::{ConvertOptions, OpenApiDocument, convert};

fn main() {
    let files: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    if let [file] = files.as_slice()
        && std::env::var_os("APIMCP_BENCH_CHILD").is_some()
    {
        measure(file);
        return;
    }
    println!("| document | operations | tools | read ms | parse ms | convert ms | total ms | peak RSS MB |");
    println!("|---|---|---|---|---|---|---|---|");
    let exe = std::env::current_exe().expect("own path");
    for file in &files {
        let out = Command::new(&exe)
            .arg(file)
            .env("APIMCP_BENCH_CHILD", "1")
            .output()
            .expect("child runs");
        print!("{}", String::from_utf8_lossy(&out.stdout));
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
    }
}

/// `file` as given, or relative to the workspace root (cargo runs benches in the crate's folder).
fn locate(file: &str) -> std::path::PathBuf {
    let given = std::path::PathBuf::from(file);
    if given.exists() {
        return given;
    }
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(file)
}

fn measure(file: &str) {
    let start = Instant::now();
    let text = std::fs::read_to_string(locate(file)).expect("readable document");
    let read = start.elapsed();
    let document = OpenApiDocument::parse(&text, file).expect("valid document");
    drop(text);
    let parsed = start.elapsed();
    let conversion = convert(&document, &ConvertOptions::default()).expect("converts");
    let done = start.elapsed();
    let name = std::path::Path::new(file)
        .file_name()
        .map_or_else(|| file.to_owned(), |n| n.to_string_lossy().into_owned());
    println!(
        "| {name} | {} | {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.1} |",
        conversion.report.operations,
        conversion.tools.len(),
        read.as_secs_f64() * 1e3,
        (parsed - read).as_secs_f64() * 1e3,
        (done - parsed).as_secs_f64() * 1e3,
        done.as_secs_f64() * 1e3,
        peak_rss_mb(),
    );
}

/// The process's peak resident set (VmHWM), in MB.
fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}
