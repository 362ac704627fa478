//! Text into search terms: words split at punctuation and at case changes (`listForRepo`,
//! `list_for_repo` and `/list/for/repo` all give `list`, `for`, `repo`), lower-cased, common
//! English words dropped, and the rest reduced to their Snowball stems (`issues` and `issue`
//! are one term), so a query in plain words meets names, paths and prose alike.

use heck::ToSnakeCase;
use rust_stemmers::{Algorithm, Stemmer};

/// Words too common in queries and API prose to say which operation is meant.
const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "any", "are", "as", "at", "be", "by", "can", "do", "does", "for", "from", "how", "i", "if", "in",
    "into", "is", "it", "its", "me", "my", "of", "on", "or", "our", "should", "so", "that", "the", "their", "them",
    "then", "there", "these", "this", "those", "to", "use", "using", "want", "was", "we", "what", "when", "where",
    "which", "who", "will", "with", "you", "your",
];

/// Stems that abbreviations and their long forms share, so `repo` meets `repository`.
const SAME_STEM: &[(&str, &str)] = &[("repositori", "repo"), ("organ", "org"), ("configur", "config")];

/// Splits and stems text. One per index; cheap to make.
pub(crate) struct Tokenizer {
    stemmer: Stemmer,
}

impl Default for Tokenizer {
    fn default() -> Self {
        Self {
            stemmer: Stemmer::create(Algorithm::English),
        }
    }
}

impl Tokenizer {
    /// The terms of `text`, in order, with repeats.
    pub(crate) fn terms(&self, text: &str) -> Vec<String> {
        self.words(text).into_iter().map(|(_, term)| term).collect()
    }

    /// The words of `text` that say something, lower-cased, each with its term: without
    /// common words and single letters (the `s` of "customer's").
    pub(crate) fn words(&self, text: &str) -> Vec<(String, String)> {
        let mut words = self.all_words(text);
        words.retain(|(word, _)| {
            !STOP_WORDS.contains(&word.as_str()) && (word.len() > 1 || word.as_bytes()[0].is_ascii_digit())
        });
        words
    }

    /// Every word of `text`, lower-cased, each with its term ("me" and "my" say whose).
    pub(crate) fn all_words(&self, text: &str) -> Vec<(String, String)> {
        let mut words = Vec::new();
        for piece in text.split(|c: char| !c.is_alphanumeric()).filter(|p| !p.is_empty()) {
            // heck splits `listForRepo` and `HTTPServer` where a reader would.
            for word in piece.to_snake_case().split('_').filter(|w| !w.is_empty()) {
                words.push((word.to_owned(), self.term(word)));
            }
        }
        words
    }

    /// The stem of a lower-case word, the same for an abbreviation and its long form.
    pub(crate) fn term(&self, word: &str) -> String {
        let stem = self.stemmer.stem(word);
        let same = SAME_STEM.iter().find(|(long, _)| *long == stem.as_ref());
        same.map_or_else(|| stem.into_owned(), |(_, short)| (*short).to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(text: &str) -> Vec<String> {
        Tokenizer::default().terms(text)
    }

    #[test]
    fn names_paths_and_prose_give_the_same_terms() {
        let expected = ["list", "repo", "issu"];
        assert_eq!(terms("list repository issues"), expected);
        assert_eq!(terms("listForRepoIssues"), expected);
        assert_eq!(terms("list_for_repo_issues"), expected);
        assert_eq!(terms("/list/for/{repo}/issues"), expected);
        assert_eq!(terms("List the issues of a repo"), ["list", "issu", "repo"]);
    }

    #[test]
    fn stems_join_inflections_and_stop_words_go() {
        assert_eq!(terms("Creating payments"), terms("create payment"));
        assert_eq!(terms("PaymentIntents"), ["payment", "intent"]);
        assert!(terms("the of and to").is_empty());
        assert!(terms("").is_empty());
    }
}
