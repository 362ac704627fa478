//! Search mode on real documents: top-1 and top-5 hit rates of the evaluation set
//! (`tests/search/tasks.tsv`), CPU time per search over GitHub's 1,223 operations, and the
//! sizes a client sees (search mode's `tools/list`, a 5-hit `search_tools` answer).
//!
//! `cargo bench -p apimcp --bench search` (the documents come from
//! `scripts/fetch-openapi-docs.sh`). `-- --tune` also tries other field weights and prints the
//! best combinations.

#[path = "../tests/search/eval.rs"]
mod eval;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::time::Instant;

use apimcp::McpServer;
use apimcp::search::{SearchIndex, Weights};
use apimcp::server::{Catalog, Context};
use serde_json::{Map, Value, json};

fn main() {
    let conversions = eval::conversions();
    let tasks = eval::tasks();
    let indexes = indexes(&conversions, Weights::default());
    if let Some(path) = std::env::args().skip_while(|a| a != "--dump").nth(1) {
        dump(&conversions, &path);
    }
    let score = eval::evaluate(&indexes, &tasks);
    println!(
        "tasks: {} (github {}, stripe {})",
        tasks.len(),
        count(&tasks, "github"),
        count(&tasks, "stripe")
    );
    println!(
        "top-1: {:.1}% ({}/{})",
        100.0 * score.top1_rate(),
        score.top1,
        score.tasks
    );
    println!(
        "top-5: {:.1}% ({}/{})",
        100.0 * score.top5_rate(),
        score.top5,
        score.tasks
    );
    for (document, task, expected, first) in &score.misses {
        println!("  not in top 5: [{document}] {task:?}: expected {expected}, first {first}");
    }
    let heldout = eval::heldout();
    let held = eval::evaluate(&indexes, &heldout);
    println!(
        "held out: {} tasks, top-1 {:.1}% ({}), top-5 {:.1}% ({})",
        held.tasks,
        100.0 * held.top1_rate(),
        held.top1,
        100.0 * held.top5_rate(),
        held.top5
    );
    for (document, task, expected, first) in &held.misses {
        println!("  held out, not in top 5: [{document}] {task:?}: expected {expected}, first {first}");
    }
    cpu_per_search(&conversions, &tasks);
    sizes(&tasks);
    if std::env::args().any(|a| a == "--tune") {
        tune(&conversions, &tasks);
    }
}

fn count(tasks: &[eval::Task], document: &str) -> usize {
    tasks.iter().filter(|t| t.document == document).count()
}

fn indexes(conversions: &BTreeMap<String, apimcp::Conversion>, weights: Weights) -> BTreeMap<String, SearchIndex> {
    conversions
        .iter()
        .map(|(name, c)| (name.clone(), eval::index(c, weights)))
        .collect()
}

/// This thread's CPU time in nanoseconds (Linux's schedstat), or wall time elsewhere.
fn cpu_nanos(wall: Instant) -> u128 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| wall.elapsed().as_nanos())
}

fn cpu_per_search(conversions: &BTreeMap<String, apimcp::Conversion>, tasks: &[eval::Task]) {
    let github = &conversions["github"];
    let start = Instant::now();
    let before = cpu_nanos(start);
    let index = eval::index(github, Weights::default());
    let build = cpu_nanos(start) - before;
    println!(
        "index build, GitHub ({} tools): {:.1} ms CPU",
        index.len(),
        build as f64 / 1e6
    );
    let queries: Vec<&str> = tasks.iter().map(|t| t.text.as_str()).collect();
    let rounds = 200;
    let mut worst = 0_u128;
    let before = cpu_nanos(start);
    for query in &queries {
        let one = cpu_nanos(start);
        for _ in 0..rounds {
            std::hint::black_box(index.search(query, &[], 5, |_| true));
        }
        worst = worst.max((cpu_nanos(start) - one) / rounds);
    }
    let total = cpu_nanos(start) - before;
    let searches = (queries.len() as u128) * rounds;
    println!(
        "search over GitHub: {:.1} µs CPU per search on average, {:.1} µs for the slowest query ({} queries x {rounds})",
        total as f64 / searches as f64 / 1e3,
        worst as f64 / 1e3,
        queries.len()
    );
}

/// Search mode's tools/list for GitHub, and the largest 5-hit search_tools answer of the tasks.
fn sizes(tasks: &[eval::Task]) {
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    for document in ["github", "stripe"] {
        let server = server(document, Catalog::Search);
        let list = json!({ "tools": server.tool_definitions() }).to_string();
        let full = json!({ "tools": server_full(document).tool_definitions() }).to_string();
        let mut largest = 0;
        for task in tasks.iter().filter(|t| t.document == document) {
            let arguments = json!({"query": task.text, "limit": 5});
            let output = runtime.block_on(server.call_tool("search_tools", object(arguments), Context::default()));
            let size = output.map_or(0, |o| o.to_json().to_string().len());
            largest = largest.max(size);
        }
        println!(
            "{document}: tools/list {} bytes in search mode ({} bytes in full mode); largest 5-hit search_tools result {largest} bytes",
            list.len(),
            full.len()
        );
    }
}

fn server_full(document: &str) -> McpServer {
    server(document, Catalog::Full)
}

fn server(document: &str, catalog: Catalog) -> McpServer {
    let api = tower::service_fn(|_request: http::Request<axum::body::Body>| async {
        Ok::<_, Infallible>(http::Response::new(axum::body::Body::empty()))
    });
    McpServer::builder()
        .openapi_file(eval::document_path(document))
        .in_process(api)
        .catalog(catalog)
        .build()
        .expect("builds")
}

fn object(value: Value) -> Option<Map<String, Value>> {
    match value {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// A coarse search over the field weights; prints the best few by top-5 then top-1.
fn tune(conversions: &BTreeMap<String, apimcp::Conversion>, tasks: &[eval::Task]) {
    let mut results = Vec::new();
    for name in [1.0, 3.0, 6.0] {
        for title in [3.0, 6.0] {
            for precision in [4.0, 8.0] {
                for prefix in [0.3, 0.6] {
                    for path in [0.5, 1.5] {
                        for coverage in [1.0, 3.0] {
                            for method in [0.5, 2.0] {
                                let mut w = Weights::default();
                                (w.name, w.title, w.precision, w.prefix) = (name, title, precision, prefix);
                                (w.path, w.coverage, w.method) = (path, coverage, method);
                                let score = eval::evaluate(&indexes(conversions, w), tasks);
                                results.push((score.top5, score.top1, format!("{w:?}")));
                            }
                        }
                    }
                }
            }
        }
    }
    results.sort_by_key(|r| std::cmp::Reverse((r.0, r.1)));
    for (top5, top1, weights) in results.iter().take(10) {
        println!("tune: top-5 {top5}, top-1 {top1}: {weights}");
    }
}

/// Writes each document's index entries as JSON lines (`--dump PATH`), to study the ranking
/// outside the crate.
fn dump(conversions: &BTreeMap<String, apimcp::Conversion>, path: &str) {
    let mut out = String::new();
    for (document, conversion) in conversions {
        for tool in &conversion.tools {
            let e = apimcp::search::Entry::from_converted(tool);
            let line = json!({"document": document, "name": e.name, "operation_id": e.operation_id,
                "title": e.title, "description": e.description, "tags": e.tags, "path": e.path,
                "method": e.method, "params": e.params});
            out.push_str(&line.to_string());
            out.push('\n');
        }
    }
    std::fs::write(path, out).expect("writes the dump");
}
