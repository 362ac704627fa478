//! The search evaluation, shared by the test (`tests/search.rs`) and the benchmark
//! (`benches/search.rs`): the tasks of `tasks.tsv` run against indexes over GitHub's and
//! Stripe's real documents (`scripts/fetch-openapi-docs.sh` puts them in `.cache/openapi`).

#![allow(dead_code)] // each user reads part of it

use std::collections::BTreeMap;
use std::path::PathBuf;

use apimcp::openapi::{Conversion, ConvertOptions, OpenApiDocument, convert};
use apimcp::search::{Entry, SearchIndex, Weights};

/// One task: what a user asks for, in a document, and the tools that do it.
pub(crate) struct Task {
    pub(crate) document: String,
    pub(crate) expected: Vec<String>,
    pub(crate) text: String,
}

/// The tasks of `tasks.tsv`, the set the ranking is tuned on.
pub(crate) fn tasks() -> Vec<Task> {
    parse_tasks(include_str!("tasks.tsv"))
}

/// The tasks of `heldout.tsv`: written before tuning and never tuned on, so their rates show
/// whether the ranking generalises.
pub(crate) fn heldout() -> Vec<Task> {
    parse_tasks(include_str!("heldout.tsv"))
}

/// Task lines `document<TAB>tool|tool<TAB>task`; `#` starts a comment.
fn parse_tasks(text: &str) -> Vec<Task> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|line| {
            let mut fields = line.split('\t');
            let (Some(document), Some(expected), Some(text)) = (fields.next(), fields.next(), fields.next()) else {
                panic!("malformed task line {line:?}");
            };
            Task {
                document: document.to_owned(),
                expected: expected.split('|').map(str::to_owned).collect(),
                text: text.to_owned(),
            }
        })
        .collect()
}

/// `.cache/openapi/<name>.json` under the workspace.
pub(crate) fn document_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../../.cache/openapi/{name}.json"))
}

/// The real document `name`, converted as the server converts it.
pub(crate) fn conversion(name: &str) -> Conversion {
    let path = document_path(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (scripts/fetch-openapi-docs.sh fetches it)", path.display()));
    let document = OpenApiDocument::parse(&text, &path.display().to_string()).expect("a valid document");
    convert(&document, &ConvertOptions::default()).expect("converts")
}

/// The documents the tasks use, converted once.
pub(crate) fn conversions() -> BTreeMap<String, Conversion> {
    ["github", "stripe"]
        .into_iter()
        .map(|name| (name.to_owned(), conversion(name)))
        .collect()
}

/// An index over a conversion, as the server builds it.
pub(crate) fn index(conversion: &Conversion, weights: Weights) -> SearchIndex {
    SearchIndex::with_weights(conversion.tools.iter().map(Entry::from_converted).collect(), weights)
}

/// How the tasks fared.
#[derive(Default)]
pub(crate) struct Score {
    pub(crate) tasks: usize,
    pub(crate) top1: usize,
    pub(crate) top5: usize,
    /// Tasks whose expected tool was not in the top 5: (document, task, expected, what came first).
    pub(crate) misses: Vec<(String, String, String, String)>,
}

impl Score {
    pub(crate) fn top1_rate(&self) -> f64 {
        self.top1 as f64 / self.tasks.max(1) as f64
    }

    pub(crate) fn top5_rate(&self) -> f64 {
        self.top5 as f64 / self.tasks.max(1) as f64
    }
}

/// Runs every task against the index of its document.
pub(crate) fn evaluate(indexes: &BTreeMap<String, SearchIndex>, tasks: &[Task]) -> Score {
    let mut score = Score::default();
    for task in tasks {
        let index = &indexes[&task.document];
        let hits = index.search(&task.text, &[], 5, |_| true);
        let rank = hits.iter().position(|h| task.expected.contains(&h.name));
        score.tasks += 1;
        score.top1 += usize::from(rank == Some(0));
        score.top5 += usize::from(rank.is_some());
        if rank.is_none() {
            let first = hits.first().map_or_else(String::new, |h| h.name.clone());
            score
                .misses
                .push((task.document.clone(), task.text.clone(), task.expected.join("|"), first));
        }
    }
    score
}

/// Expected tools that the documents do not have (a typo in the tasks, or a document change).
pub(crate) fn unknown_expectations(conversions: &BTreeMap<String, Conversion>, tasks: &[Task]) -> Vec<String> {
    tasks
        .iter()
        .flat_map(|t| t.expected.iter().map(move |e| (t, e)))
        .filter(|(t, e)| {
            let tools = &conversions[&t.document].tools;
            !tools.iter().any(|tool| tool.tool.name.as_str() == e.as_str())
        })
        .map(|(t, e)| format!("{}: {e}", t.document))
        .collect()
}
