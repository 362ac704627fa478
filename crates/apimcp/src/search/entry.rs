//! What the index reads of one tool: its texts by field, and what a hit shows.

use crate::openapi::ConvertedTool;
use crate::tool::Tool;

use super::{Shown, Weights};

/// Summaries are cut at this many characters, so five hits stay well under 2 KB.
const SUMMARY_LEN: usize = 80;

/// One tool as the index sees it. Build it from a converted operation
/// ([`Entry::from_converted`]), from any tool definition ([`Entry::from_tool`]) or by hand.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Entry {
    /// The tool's name.
    pub name: String,
    /// The operationId, when it differs from the name.
    pub operation_id: Option<String>,
    /// The title.
    pub title: Option<String>,
    /// The description (plain text or HTML; tags are dropped).
    pub description: String,
    /// Tags.
    pub tags: Vec<String>,
    /// The HTTP path template.
    pub path: String,
    /// The HTTP method, upper case.
    pub method: String,
    /// Argument names.
    pub params: Vec<String>,
}

/// The fields terms come from, each with its own weight.
#[derive(Clone, Copy, Debug)]
pub(super) enum Field {
    Name,
    Title,
    Lead,
    Description,
    Tags,
    Path,
    Method,
    Params,
}

impl Field {
    pub(super) const ALL: [Field; 8] = [
        Field::Name,
        Field::Title,
        Field::Lead,
        Field::Description,
        Field::Tags,
        Field::Path,
        Field::Method,
        Field::Params,
    ];

    /// The short fields that say what the tool does.
    pub(super) fn is_headline(self) -> bool {
        matches!(self, Field::Name | Field::Title | Field::Lead)
    }

    /// The fields that name the tool: what it is called, where it lives and what it does.
    pub(super) fn is_identity(self) -> bool {
        matches!(self, Field::Name | Field::Path | Field::Method)
    }

    pub(super) fn weight(self, weights: &Weights) -> f32 {
        match self {
            Field::Name => weights.name,
            Field::Title => weights.title,
            Field::Lead => weights.lead,
            Field::Description => weights.description,
            Field::Tags => weights.tags,
            Field::Path => weights.path,
            Field::Method => weights.method,
            Field::Params => weights.params,
        }
    }
}

impl Entry {
    /// A tool known by its name, title and description only.
    pub fn new(name: impl Into<String>, title: impl Into<String>, description: impl Into<String>) -> Self {
        let title: String = title.into();
        Self {
            name: name.into(),
            title: (!title.is_empty()).then_some(title),
            description: description.into(),
            ..Self::default()
        }
    }

    /// A tool from an OpenAPI operation: its description without the title it opens with and
    /// the responses section it ends with (examples would drown the prose).
    pub fn from_converted(converted: &ConvertedTool) -> Self {
        let tool = &converted.tool;
        let binding = &converted.binding;
        let operation_id = converted.operation_id.clone().filter(|id| id != tool.name.as_str());
        let opening = format!("{} {}", binding.method, binding.path);
        let prose = operation_prose(&tool.description, tool.title.as_deref(), &opening);
        Self {
            operation_id,
            tags: converted.tags.clone(),
            path: binding.path.clone(),
            method: binding.method.as_str().to_owned(),
            description: prose.to_owned(),
            ..Self::from_tool(tool)
        }
    }

    /// Any tool definition (a custom tool, say): name, title, description and arguments.
    pub fn from_tool(tool: &Tool) -> Self {
        let params = tool
            .input_schema
            .get("properties")
            .and_then(serde_json::Value::as_object)
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        Self {
            name: tool.name.as_str().to_owned(),
            title: tool.title.clone(),
            description: tool.description.clone(),
            params,
            ..Self::default()
        }
    }

    /// The text of `field`.
    pub(super) fn text(&self, field: Field) -> String {
        match field {
            Field::Name => format!("{} {}", self.name, self.operation_id.as_deref().unwrap_or("")),
            Field::Title => self.title.clone().unwrap_or_default(),
            Field::Lead => first_sentence(&plain(&self.description)).to_owned(),
            Field::Description => strip_tags(&self.description),
            Field::Tags => self.tags.join(" "),
            // `{owner}` names an argument, not what the operation does.
            Field::Path => self
                .path
                .split('/')
                .filter(|s| !s.starts_with('{'))
                .collect::<Vec<_>>()
                .join(" "),
            Field::Method => method_verbs(&self.method, &self.path).to_owned(),
            Field::Params => self.params.join(" "),
        }
    }

    pub(super) fn into_shown(self) -> Shown {
        let summary = summary_of(&self.description, self.title.as_deref());
        Shown {
            name: self.name,
            title: self.title,
            summary,
            tags: self.tags,
        }
    }
}

/// The words an HTTP method stands for in how people ask for things; on a collection (a path
/// that does not end in a parameter) GET lists and POST creates, on one item they get and
/// update.
fn method_verbs(method: &str, path: &str) -> &'static str {
    let item = path.trim_end_matches('/').ends_with('}');
    match (method, item) {
        ("GET" | "HEAD", false) => "list",
        ("GET" | "HEAD", true) => "get",
        ("POST", false) => "create",
        ("POST", true) | ("PUT" | "PATCH", _) => "update",
        ("DELETE", _) => "delete",
        _ => "",
    }
}

/// The operation's own description inside a tool description made by the conversion: after
/// the opening paragraph (the title, or `METHOD /path`), before `### Responses:`.
fn operation_prose<'a>(description: &'a str, title: Option<&str>, opening: &str) -> &'a str {
    let before_responses = description.split("\n\n### Responses:").next().unwrap_or("");
    match before_responses.split_once("\n\n") {
        Some((first, rest)) if Some(first) == title || first == opening => rest,
        None if Some(before_responses) == title || before_responses == opening => "",
        _ => before_responses,
    }
}

/// The first sentence of `description` as plain text, cut short; empty when it only repeats
/// the title.
fn summary_of(description: &str, title: Option<&str>) -> String {
    let text = plain(description);
    let sentence = first_sentence(&text);
    if title.is_some_and(|t| sentence.trim_end_matches('.').eq_ignore_ascii_case(t)) {
        return String::new();
    }
    shorten(sentence.trim())
}

/// `text` without tags, its whitespace collapsed.
fn plain(text: &str) -> String {
    strip_tags(text).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Up to the first `. `, or all of `text`.
fn first_sentence(text: &str) -> &str {
    match text.find(". ") {
        Some(end) => &text[..=end],
        None => text,
    }
}

fn shorten(text: &str) -> String {
    if text.chars().count() <= SUMMARY_LEN {
        return text.to_owned();
    }
    let cut: String = text.chars().take(SUMMARY_LEN).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{}…", cut.trim_end_matches([',', ';', ':', '.']))
}

/// `text` without HTML tags (Stripe's descriptions are HTML).
fn strip_tags(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prose_is_what_sits_between_title_and_responses() {
        let text = "Get Item\n\nFetch one item.\n\nMore.\n\n### Responses:\n\n**200**";
        assert_eq!(
            operation_prose(text, Some("Get Item"), "GET /items"),
            "Fetch one item.\n\nMore."
        );
        assert_eq!(operation_prose("GET /items", None, "GET /items"), "");
        assert_eq!(
            operation_prose("Other\n\nText", Some("Title"), "GET /x"),
            "Other\n\nText"
        );
    }

    #[test]
    fn summaries_are_one_plain_short_sentence() {
        assert_eq!(
            summary_of("<p>Returns a list of PaymentIntents.</p>", None),
            "Returns a list of PaymentIntents."
        );
        assert_eq!(
            summary_of("Gets an issue. With details.", Some("Get an issue")),
            "Gets an issue."
        );
        assert_eq!(summary_of("Get an issue.", Some("Get an issue")), "");
        let long = "word ".repeat(40);
        let summary = summary_of(&long, None);
        assert!(
            summary.chars().count() <= SUMMARY_LEN + 1 && summary.ends_with('…'),
            "{summary}"
        );
    }

    #[test]
    fn paths_give_their_literal_segments() {
        let entry = Entry {
            path: "/repos/{owner}/{repo}/issues".into(),
            ..Entry::default()
        };
        assert_eq!(entry.text(Field::Path).trim(), "repos issues");
    }
}
