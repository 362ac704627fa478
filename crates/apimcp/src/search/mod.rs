//! Finding tools by what they do: a BM25F index over a catalog of tools (name and
//! operationId, title, description, tags, path, method and argument names), built once per tool
//! set, answering a query in microseconds. Pure: no I/O, no async.
//!
//! Terms are split at case changes and punctuation and stemmed, so "list for
//! repo" meets `listForRepo` and `/repos/{owner}/{repo}`; a query word also finds the longer
//! words it starts (`react`: `reactions`) and two query words the one word the catalog makes of
//! them (`pay out`: `payout`). Each field counts with its own weight (tuned on the evaluation
//! set in `crates/apimcp/tests/search/`). A small table of general API vocabulary maps everyday
//! words to the ones APIs use: the query's first verb to the operation verbs
//! (`close` → `update`, `remove` → `delete`, `turn off` → `disable`), other words wherever they
//! stand (`me` → authenticated, `quota` → rate limit). A tool scores higher the more of the
//! query its headline holds and the more of what names it (name, path, action) the query
//! says, so the plain `teams_list` beats `teams_list-child-in-org` for "teams in an
//! organization". The same query always gives the same order: ties go to the tool that comes
//! first in the catalog.
//!
//! ```
//! use apimcp::search::{Entry, SearchIndex};
//!
//! let index = SearchIndex::new(vec![
//!     Entry::new("issues_list_for_repo", "List repository issues", "List issues in a repository."),
//!     Entry::new("issues_update", "Update an issue", "Issue owners can edit an issue."),
//! ]);
//! let hits = index.search("edit an issue", &[], 5, |_| true);
//! assert_eq!(hits[0].name, "issues_update");
//! ```

mod entry;
mod tokens;

use std::collections::{HashMap, HashSet};

use serde::Serialize;

pub use entry::Entry;
use entry::Field;
use tokens::Tokenizer;

/// How much each field counts, and BM25's saturation (`k1`) and length normalisation (`b`).
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct Weights {
    /// The tool name and the operationId.
    pub name: f32,
    /// The title (the operation's summary).
    pub title: f32,
    /// The description's first sentence.
    pub lead: f32,
    /// The description, without the responses section.
    pub description: f32,
    /// The operation's tags.
    pub tags: f32,
    /// The literal segments of the path.
    pub path: f32,
    /// The HTTP method, as the verbs it stands for (`POST`: create).
    pub method: f32,
    /// Argument names.
    pub params: f32,
    /// Term-frequency saturation.
    pub k1: f32,
    /// Length normalisation, 0 (none) to 1 (full).
    pub b: f32,
    /// How much a verb found through a synonym counts, against the verb itself.
    pub synonym: f32,
    /// How much more a tool scores when its name, title and first sentence hold every query
    /// term (in proportion for some): short fields that say it all beat long ones that
    /// mention it.
    pub coverage: f32,
    /// How much more a tool scores when the query covers what names it (its name, path and
    /// action, each word by its rarity): `teams_list` beats `teams_list-child-in-org` for
    /// "teams in an organization".
    pub precision: f32,
    /// How much a longer word that starts with a query word counts (`react` finds
    /// `reactions`, `assign` finds `assignees`), against the word itself.
    pub prefix: f32,
}

impl Default for Weights {
    /// The weights that scored best on the evaluation set (see the README's figures).
    fn default() -> Self {
        Self {
            name: 3.0,
            title: 3.0,
            lead: 1.0,
            description: 0.1,
            tags: 1.0,
            path: 1.5,
            method: 2.0,
            params: 0.3,
            k1: 1.2,
            b: 0.75,
            synonym: 1.0,
            coverage: 3.0,
            precision: 8.0,
            prefix: 0.6,
        }
    }
}

/// One search result.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Hit {
    /// The tool's name, as `tools/call` takes it.
    pub name: String,
    /// Its title, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The first sentence of its description, short.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub summary: String,
    /// How well it matches, rounded to two decimals (higher is better).
    pub score: f32,
}

/// What the index keeps of a tool to answer with.
struct Shown {
    name: String,
    title: Option<String>,
    summary: String,
    tags: Vec<String>,
}

/// A BM25F index over a catalog of tools.
pub struct SearchIndex {
    shown: Vec<Shown>,
    /// Term → (tool, its whole BM25F contribution). Both factors of BM25 (the term's rarity
    /// and its saturated, weighted frequency in the tool) are known at build time, so a
    /// search only adds up precomputed numbers.
    postings: HashMap<String, Vec<Posting>>,
    /// Every term, sorted, to find the longer terms a query word starts.
    sorted_terms: Vec<String>,
    /// Per tool, the summed rarity of the terms that name it (name, path, action).
    identity: Vec<f32>,
    tokenizer: Tokenizer,
    weights: Weights,
}

/// One tool a term occurs in.
#[derive(Clone, Copy)]
struct Posting {
    tool: u32,
    /// The term's BM25F contribution.
    score: f32,
    /// Whether the term is in the tool's name, title or first sentence.
    headline: bool,
    /// The term's rarity when it names the tool (is in its name, path or action), else 0.
    identity: f32,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("tools", &self.shown.len())
            .field("terms", &self.postings.len())
            .finish()
    }
}

/// The most query terms looked at; a longer query is cut, not refused.
const MAX_QUERY_TERMS: usize = 64;

/// The shortest query word looked up as the start of longer terms.
const MIN_PREFIX: usize = 4;

/// The most longer terms one query word stands for, so "stat" does not pull in every word.
const MAX_PREFIX_TERMS: usize = 8;

/// Everyday verbs and the verbs APIs name their operations with (stems on both sides). Only
/// the query's first verb says what to do: in "show the open issues" "open" describes the
/// issues, in "open a pull request" it is the action.
const ACTIONS: &[(&str, &[&str])] = &[
    ("close", &["updat"]),
    ("reopen", &["updat"]),
    ("edit", &["updat"]),
    ("modifi", &["updat"]),
    ("chang", &["updat"]),
    ("renam", &["updat"]),
    ("set", &["updat"]),
    ("upgrad", &["updat"]),
    ("downgrad", &["updat"]),
    ("switch", &["updat"]),
    ("enabl", &["updat"]),
    ("disabl", &["updat"]),
    ("make", &["creat", "updat"]),
    ("turn off", &["disabl"]),
    ("switch off", &["disabl"]),
    ("shut down", &["disabl"]),
    ("turn on", &["enabl"]),
    ("switch on", &["enabl"]),
    ("look up", &["get"]),
    ("stop", &["cancel"]),
    ("abort", &["cancel"]),
    ("halt", &["cancel"]),
    ("email", &["send"]),
    ("mail", &["send"]),
    ("attach", &["add", "upload"]),
    ("remov", &["delet"]),
    ("eras", &["delet"]),
    ("destroy", &["delet"]),
    ("drop", &["delet"]),
    ("show", &["get"]),
    ("fetch", &["get"]),
    ("retriev", &["get"]),
    ("read", &["get"]),
    ("view", &["get"]),
    ("see", &["get"]),
    ("look", &["get", "search"]),
    ("inspect", &["get"]),
    ("check", &["get"]),
    ("find", &["search", "list"]),
    ("add", &["creat"]),
    ("new", &["creat"]),
    ("open", &["creat"]),
    ("leav", &["creat"]),
    ("post", &["creat"]),
    ("write", &["creat"]),
    ("start", &["creat"]),
    ("begin", &["creat"]),
    ("initi", &["creat"]),
    ("launch", &["creat"]),
    ("trigger", &["creat"]),
    ("submit", &["creat"]),
    ("store", &["creat"]),
    ("save", &["creat"]),
    ("regist", &["creat"]),
    ("give", &["add", "creat"]),
    ("grant", &["add", "creat"]),
    ("subscrib", &["subscript", "creat"]),
];

/// Everyday words and the words APIs use for the same things, wherever they stand in the query.
const VOCABULARY: &[(&str, &[&str])] = &[
    ("bug", &["issu"]),
    ("ticket", &["issu"]),
    ("detail", &["get"]),
    ("status", &["get"]),
    ("all", &["list"]),
    ("histori", &["list"]),
    ("newest", &["latest"]),
    ("diff", &["compar"]),
    ("recent", &["latest", "list"]),
    // The caller, in the words of APIs with user accounts.
    ("i", &["authent"]),
    ("me", &["authent"]),
    ("my", &["authent"]),
    ("myself", &["authent"]),
    ("mine", &["authent"]),
    ("logged", &["authent"]),
    ("login", &["authent", "user"]),
    ("signed", &["authent"]),
    ("whoami", &["authent", "user"]),
    ("peopl", &["user"]),
    ("person", &["user"]),
    ("teammat", &["user"]),
    ("colleagu", &["user"]),
    ("account", &["user"]),
    ("profil", &["user"]),
    ("quota", &["rate", "limit"]),
    ("throttl", &["rate", "limit"]),
    ("visit", &["view", "traffic"]),
    ("visitor", &["view", "traffic"]),
    ("permiss", &["access"]),
    ("access", &["permiss"]),
];

/// The verbs operations are named with: a query without one asks for the verb its nouns say
/// (a plural noun: `list`).
const VERBS: &[&str] = &["list", "get", "creat", "updat", "delet", "search"];

/// The verbs that change things: with one of them, a plural noun does not ask for a list.
const WRITES: &[&str] = &["creat", "updat", "delet"];

impl SearchIndex {
    /// An index over `entries`, with the default weights.
    pub fn new(entries: Vec<Entry>) -> Self {
        Self::with_weights(entries, Weights::default())
    }

    /// An index over `entries`, weighing fields as `weights` says.
    pub fn with_weights(entries: Vec<Entry>, weights: Weights) -> Self {
        let tokenizer = Tokenizer::default();
        let fields: Vec<Vec<Vec<String>>> = entries
            .iter()
            .map(|e| Field::ALL.iter().map(|&f| tokenizer.terms(&e.text(f))).collect())
            .collect();
        let postings = postings(&fields, &weights);
        let mut identity = vec![0.0_f32; entries.len()];
        for posting in postings.values().flatten() {
            identity[posting.tool as usize] += posting.identity;
        }
        let mut sorted_terms: Vec<String> = postings.keys().cloned().collect();
        sorted_terms.sort();
        let shown = entries.into_iter().map(Entry::into_shown).collect();
        Self {
            shown,
            postings,
            sorted_terms,
            identity,
            tokenizer,
            weights,
        }
    }

    /// The number of tools indexed.
    pub fn len(&self) -> usize {
        self.shown.len()
    }

    /// Whether no tool is indexed.
    pub fn is_empty(&self) -> bool {
        self.shown.is_empty()
    }

    /// The best `limit` tools for `query` among those `allowed` by name (and, when `tags` is
    /// not empty, carrying one of them), best first; tools that match no term are left out.
    pub fn search(&self, query: &str, tags: &[String], limit: usize, allowed: impl Fn(&str) -> bool) -> Vec<Hit> {
        let scores = self.scores(query);
        let mut ranked: Vec<(usize, f32)> = scores
            .into_iter()
            .enumerate()
            .filter(|&(i, score)| score > 0.0 && self.admits(i, tags, &allowed))
            .collect();
        // Higher first; equal scores in catalog order, so the order never varies.
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.truncate(limit);
        ranked.into_iter().map(|(i, score)| self.hit(i, score)).collect()
    }

    /// Every tool's score for `query`: BM25F, raised by how much of the query the tool's
    /// headline covers and by how much of what names the tool the query covers.
    fn scores(&self, query: &str) -> Vec<f32> {
        let mut scores = vec![0.0_f32; self.shown.len()];
        let mut covered = vec![0.0_f32; self.shown.len()];
        let mut named = vec![0.0_f32; self.shown.len()];
        let terms = self.query_terms(query);
        let whole: f32 = terms.iter().filter(|(_, w)| *w >= 1.0).count().max(1) as f32;
        for (term, weight) in &terms {
            for posting in self.postings.get(term).map_or(&[][..], Vec::as_slice) {
                let tool = posting.tool as usize;
                scores[tool] += weight * posting.score;
                if posting.headline {
                    covered[tool] += weight;
                }
                named[tool] += weight.min(1.0) * posting.identity;
            }
        }
        let Weights {
            coverage, precision, ..
        } = self.weights;
        for (tool, score) in scores.iter_mut().enumerate() {
            let precise = named[tool] / self.identity[tool].max(f32::EPSILON);
            *score *= 1.0 + coverage * (covered[tool] / whole).min(1.0);
            *score *= 1.0 + precision * precise.min(1.0);
        }
        scores
    }

    /// The query's distinct terms with their weights (1, or less for the terms it implies), in
    /// a fixed order so that the sums, and so the scores, are always the same.
    fn query_terms(&self, query: &str) -> Vec<(String, f32)> {
        let mut terms = QueryTerms::default();
        let words = self.tokenizer.words(query);
        let words = &words[..words.len().min(MAX_QUERY_TERMS)];
        for (_, stem) in words {
            terms.add(stem, 1.0);
        }
        self.add_compounds(words, &mut terms);
        let said = self.tokenizer.all_words(query);
        let said = &said[..said.len().min(MAX_QUERY_TERMS)];
        let action = first_action(said);
        let synonym = self.weights.synonym;
        for &verb in action.unwrap_or_default() {
            terms.add(verb, synonym);
        }
        for (word, stem) in said {
            for &implied in implied(VOCABULARY, word, stem).unwrap_or_default() {
                terms.add(implied, synonym);
            }
        }
        let plural = words.iter().any(|(word, stem)| word.ends_with('s') && word != stem);
        let writes = WRITES.iter().any(|v| terms.has(v));
        let reads = VERBS.iter().any(|v| terms.has(v));
        if plural && !writes && !(reads && action.is_none()) {
            terms.add("list", synonym);
        }
        self.add_prefixes(&mut terms);
        terms.list
    }

    /// Two neighbouring words that the catalog writes as one (`pay out`: `payout`, `web hook`:
    /// `webhook`).
    fn add_compounds(&self, words: &[(String, String)], terms: &mut QueryTerms) {
        for pair in words.windows(2) {
            let joined = self.tokenizer.term(&format!("{}{}", pair[0].0, pair[1].0));
            if self.postings.contains_key(&joined) {
                terms.add(&joined, 1.0);
            }
        }
    }

    /// The longer terms each query term starts (`react`: `reaction`), weighed down.
    fn add_prefixes(&self, terms: &mut QueryTerms) {
        let weight = self.weights.prefix;
        if weight <= 0.0 {
            return;
        }
        let stems: Vec<(String, f32)> = terms.list.clone();
        for (stem, w) in stems.iter().filter(|(s, _)| s.len() >= MIN_PREFIX) {
            let start = self.sorted_terms.partition_point(|t| t.as_str() <= stem.as_str());
            let longer = self.sorted_terms[start..]
                .iter()
                .take_while(|t| t.starts_with(stem.as_str()));
            for term in longer.take(MAX_PREFIX_TERMS) {
                terms.add(term, w * weight);
            }
        }
    }

    fn admits(&self, tool: usize, tags: &[String], allowed: &impl Fn(&str) -> bool) -> bool {
        let shown = &self.shown[tool];
        let tagged = tags.is_empty()
            || tags
                .iter()
                .any(|t| shown.tags.iter().any(|s| s.eq_ignore_ascii_case(t)));
        tagged && allowed(&shown.name)
    }

    fn hit(&self, tool: usize, score: f32) -> Hit {
        let shown = &self.shown[tool];
        Hit {
            name: shown.name.clone(),
            title: shown.title.clone(),
            summary: shown.summary.clone(),
            score: (score * 100.0).round() / 100.0,
        }
    }
}

/// The terms a query asks for, each once, in the order first found.
#[derive(Default)]
struct QueryTerms {
    list: Vec<(String, f32)>,
    seen: HashSet<String>,
}

impl QueryTerms {
    fn add(&mut self, term: &str, weight: f32) {
        if self.seen.insert(term.to_owned()) {
            self.list.push((term.to_owned(), weight));
        }
    }

    fn has(&self, term: &str) -> bool {
        self.seen.contains(term)
    }
}

/// What the query's first verb asks for; a verb of two words ("turn off") before one.
fn first_action(said: &[(String, String)]) -> Option<&'static [&'static str]> {
    (0..said.len()).find_map(|i| {
        let phrase = said.get(i + 1).map(|(next, _)| format!("{} {next}", said[i].0));
        let phrasal = phrase.and_then(|p| implied(ACTIONS, &p, &p));
        phrasal.or_else(|| implied(ACTIONS, &said[i].0, &said[i].1))
    })
}

/// What `table` says a word (or its stem) implies.
fn implied(
    table: &'static [(&'static str, &'static [&'static str])],
    word: &str,
    stem: &str,
) -> Option<&'static [&'static str]> {
    table
        .iter()
        .find(|(key, _)| *key == word || *key == stem)
        .map(|(_, implied)| *implied)
}

/// BM25F: per field, the term frequency normalised by the field's length against its average
/// and weighted; summed over fields, saturated with `k1`, times the term's rarity (idf).
fn postings(fields: &[Vec<Vec<String>>], weights: &Weights) -> HashMap<String, Vec<Posting>> {
    let averages = average_lengths(fields);
    let field_weights: Vec<f32> = Field::ALL.iter().map(|&f| f.weight(weights)).collect();
    let mut frequencies: HashMap<&str, Vec<Posting>> = HashMap::new();
    for (tool, tool_fields) in fields.iter().enumerate() {
        let mut weighted: HashMap<&str, (f32, bool, bool)> = HashMap::new();
        for (field, terms) in tool_fields.iter().enumerate() {
            let norm = 1.0 - weights.b + weights.b * terms.len() as f32 / averages[field].max(1.0);
            for term in terms {
                let entry = weighted.entry(term.as_str()).or_default();
                entry.0 += field_weights[field] / norm;
                entry.1 |= Field::ALL[field].is_headline();
                entry.2 |= Field::ALL[field].is_identity();
            }
        }
        let mut weighted: Vec<(&str, (f32, bool, bool))> = weighted.into_iter().collect();
        weighted.sort_by(|a, b| a.0.cmp(b.0));
        for (term, (score, headline, identity)) in weighted {
            let tool = tool as u32;
            // `identity` holds a flag until the term's rarity is known.
            let identity = f32::from(u8::from(identity));
            frequencies.entry(term).or_default().push(Posting {
                tool,
                score,
                headline,
                identity,
            });
        }
    }
    let count = fields.len() as f32;
    frequencies
        .into_iter()
        .map(|(term, mut list)| {
            let idf = (1.0 + (count - list.len() as f32 + 0.5) / (list.len() as f32 + 0.5)).ln();
            for posting in &mut list {
                posting.score = idf * posting.score / (weights.k1 + posting.score);
                posting.identity *= idf;
            }
            (term.to_owned(), list)
        })
        .collect()
}

/// The average number of terms of each field over all tools.
fn average_lengths(fields: &[Vec<Vec<String>>]) -> Vec<f32> {
    let mut sums = vec![0.0_f32; Field::ALL.len()];
    for tool_fields in fields {
        for (field, terms) in tool_fields.iter().enumerate() {
            sums[field] += terms.len() as f32;
        }
    }
    let count = fields.len().max(1) as f32;
    sums.into_iter().map(|s| s / count).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> SearchIndex {
        SearchIndex::new(vec![
            Entry::new(
                "issues_list_for_repo",
                "List repository issues",
                "List issues in a repository.",
            ),
            Entry::new("issues_update", "Update an issue", "Issue owners can edit an issue."),
            Entry::new("issues_get", "Get an issue", "Gets an issue."),
            Entry::new("repos_get", "Get a repository", "Gets a repository."),
            Entry::new("pulls_list", "List pull requests", "Lists pull requests."),
        ])
    }

    fn names(hits: &[Hit]) -> Vec<&str> {
        hits.iter().map(|h| h.name.as_str()).collect()
    }

    #[test]
    fn sub_words_stems_and_synonyms_find_the_operation() {
        let index = index();
        assert_eq!(
            index.search("listForRepo issues", &[], 1, |_| true)[0].name,
            "issues_list_for_repo"
        );
        assert_eq!(
            index.search("close an issue", &[], 1, |_| true)[0].name,
            "issues_update"
        );
        assert_eq!(
            index.search("show me the repository", &[], 1, |_| true)[0].name,
            "repos_get"
        );
    }

    #[test]
    fn the_first_verb_sets_the_action_and_plurals_ask_for_a_list() {
        let index = index();
        assert_eq!(
            index.search("show the open issues of a repo", &[], 1, |_| true)[0].name,
            "issues_list_for_repo"
        );
        let mut entries = vec![
            Entry::new("workflows_enable", "Enable a workflow", ""),
            Entry::new("workflows_disable", "Disable a workflow", ""),
            Entry::new("users_get_authenticated", "Get the authenticated user", ""),
            Entry::new("users_get", "Get a user", ""),
        ];
        entries.push(Entry::new("reactions_create", "Create reaction", ""));
        let index = SearchIndex::new(entries);
        let first = |q: &str| index.search(q, &[], 1, |_| true)[0].name.clone();
        assert_eq!(first("turn off a workflow"), "workflows_disable");
        assert_eq!(first("who am I"), "users_get_authenticated");
        assert_eq!(first("react to it"), "reactions_create");
    }

    #[test]
    fn the_tool_the_query_names_wholly_beats_a_more_specific_one() {
        let mut teams = Entry::new("teams_list", "List teams", "Lists all teams in an organization.");
        teams.path = "/orgs/{org}/teams".into();
        teams.method = "GET".into();
        let mut child = Entry::new(
            "teams_list_child_in_org",
            "List child teams",
            "Lists the child teams of the team in an organization.",
        );
        child.path = "/orgs/{org}/teams/{team_slug}/teams".into();
        child.method = "GET".into();
        let index = SearchIndex::new(vec![child, teams]);
        assert_eq!(
            index.search("teams in an organization", &[], 1, |_| true)[0].name,
            "teams_list"
        );
    }

    #[test]
    fn the_same_query_gives_the_same_order_and_ties_keep_catalog_order() {
        let index = index();
        let first = index.search("issue", &[], 5, |_| true);
        for _ in 0..10 {
            assert_eq!(index.search("issue", &[], 5, |_| true), first);
        }
        let tied = SearchIndex::new(vec![Entry::new("b", "same", ""), Entry::new("a", "same", "")]);
        assert_eq!(names(&tied.search("same", &[], 5, |_| true)), ["b", "a"]);
    }

    #[test]
    fn limit_filter_and_no_match() {
        let index = index();
        assert_eq!(index.search("issue", &[], 2, |_| true).len(), 2);
        let hits = index.search("issue", &[], 5, |name| name != "issues_update");
        assert!(!names(&hits).contains(&"issues_update"));
        assert!(index.search("zebra quantum", &[], 5, |_| true).is_empty());
        assert!(index.search("", &[], 5, |_| true).is_empty());
    }

    #[test]
    fn tags_narrow_the_search() {
        let mut pulls = Entry::new("pulls_get", "Get a pull request", "");
        pulls.tags = vec!["pulls".into()];
        let mut issues = Entry::new("issues_get", "Get an issue", "");
        issues.tags = vec!["issues".into()];
        let index = SearchIndex::new(vec![pulls, issues]);
        assert_eq!(
            names(&index.search("get", &["Issues".into()], 5, |_| true)),
            ["issues_get"]
        );
    }
}
