//! Search mode, for APIs too large to list: `tools/list` offers `search_tools`,
//! `describe_tools` and `call_tool` (and any pinned tools) instead of every operation. The
//! model finds operations by what they do, reads the definitions of the few it picks, and calls
//! one through `call_tool`, which runs the very pipeline a direct call runs.

use std::str::FromStr;

use serde_json::{Map, Value, json};

use crate::call::{ArgumentValidator, Content, ToolOutput};
use crate::search::{Entry, Hit, SearchIndex};
use crate::tool::{JsonObject, Tool, ToolAnnotations, ToolName};

/// Above this many tools, [`Catalog::auto`] switches to search mode.
pub const DEFAULT_AUTO_ABOVE: usize = 64;
/// Hits `search_tools` returns unless asked for another number.
const DEFAULT_LIMIT: usize = 5;
/// The most hits one search returns.
const MAX_LIMIT: u64 = 50;
/// The most definitions one `describe_tools` call returns.
const MAX_DESCRIBE: u64 = 20;

/// How the tools are offered in `tools/list`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Catalog {
    /// Every tool, as converted (the default).
    #[default]
    Full,
    /// `search_tools`, `describe_tools` and `call_tool`, plus the pinned tools.
    Search,
    /// Search mode when there are more than `above` tools (derived and custom), full otherwise.
    Auto {
        /// The number of tools search mode starts above.
        above: usize,
    },
}

impl Catalog {
    /// Search mode above [`DEFAULT_AUTO_ABOVE`] tools.
    pub fn auto() -> Self {
        Self::Auto {
            above: DEFAULT_AUTO_ABOVE,
        }
    }

    /// Whether a server with `tools` tools runs in search mode.
    pub(crate) fn searches(self, tools: usize) -> bool {
        match self {
            Self::Full => false,
            Self::Search => true,
            Self::Auto { above } => tools > above,
        }
    }
}

/// A catalog setting that is not `full`, `search` or `auto`.
#[derive(Debug, thiserror::Error)]
#[error("catalog must be \"full\", \"search\" or \"auto\", not {given:?}")]
#[non_exhaustive]
pub struct UnknownCatalog {
    /// What was given.
    pub given: String,
}

impl FromStr for Catalog {
    type Err = UnknownCatalog;

    /// `full`, `search` or `auto` (with the default threshold).
    fn from_str(text: &str) -> Result<Self, UnknownCatalog> {
        match text.trim().to_ascii_lowercase().as_str() {
            "full" => Ok(Self::Full),
            "search" => Ok(Self::Search),
            "auto" => Ok(Self::auto()),
            _ => Err(UnknownCatalog { given: text.to_owned() }),
        }
    }
}

/// The three tools of search mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Meta {
    Search,
    Describe,
    Call,
}

impl Meta {
    const ALL: [Meta; 3] = [Meta::Search, Meta::Describe, Meta::Call];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Meta::Search => "search_tools",
            Meta::Describe => "describe_tools",
            Meta::Call => "call_tool",
        }
    }

    pub(crate) fn named(name: &str) -> Option<Meta> {
        Meta::ALL.into_iter().find(|m| m.name() == name)
    }
}

/// The three tools' definitions and their compiled argument checks, made once per server.
pub(crate) struct MetaTools {
    tools: Vec<Tool>,
    validators: Vec<Option<ArgumentValidator>>,
}

impl MetaTools {
    pub(crate) fn new() -> Self {
        let tools: Vec<Tool> = Meta::ALL.into_iter().map(definition).collect();
        let validators = tools
            .iter()
            .map(|t| ArgumentValidator::new(&t.input_schema).ok())
            .collect();
        Self { tools, validators }
    }

    /// The definitions, in the order `tools/list` shows them.
    pub(crate) fn definitions(&self) -> &[Tool] {
        &self.tools
    }

    /// The arguments of a call of `meta`, checked against its inputSchema as any tool's are.
    pub(crate) fn arguments(
        &self,
        meta: Meta,
        arguments: Option<Map<String, Value>>,
    ) -> Result<Map<String, Value>, ToolOutput> {
        let arguments = Value::Object(arguments.unwrap_or_default());
        let index = Meta::ALL.iter().position(|&m| m == meta).unwrap_or(0);
        if let Some(Some(validator)) = self.validators.get(index)
            && let Err(why) = validator.check(&arguments)
        {
            return Err(ToolOutput::error(format!(
                "Invalid arguments for {}: {why}",
                meta.name()
            )));
        }
        match arguments {
            Value::Object(map) => Ok(map),
            _ => Ok(Map::new()),
        }
    }
}

fn definition(meta: Meta) -> Tool {
    let (title, description, input, output, read_only) = match meta {
        Meta::Search => (
            "Search the API's tools",
            "Finds the API operations that do what you describe. Give `query` in plain words (\"close an issue\", \"refund a payment\") or keywords; `tags` narrows to operations with one of these tags; `limit` is the number of results (default 5, at most 50). Returns tool names ranked best first, each with its title, a one-line summary and a score. Then read the chosen tools' definitions with describe_tools and run one with call_tool.",
            json!({"type": "object", "properties": {
                "query": {"type": "string", "minLength": 1, "description": "What you want to do, in plain words or keywords"},
                "tags": {"type": "array", "items": {"type": "string"}, "description": "Only operations with one of these tags"},
                "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT, "description": "How many results"}},
                "required": ["query"], "additionalProperties": false}),
            Some(
                json!({"type": "object", "properties": {"tools": {"type": "array", "items": {"type": "object", "properties": {
                "name": {"type": "string"}, "title": {"type": "string"}, "summary": {"type": "string"}, "score": {"type": "number"}},
                "required": ["name", "score"]}}}, "required": ["tools"]}),
            ),
            true,
        ),
        Meta::Describe => (
            "Describe tools",
            "Returns the full MCP definitions (description, inputSchema, outputSchema, annotations) of the tools named in `names`, as search_tools found them, so you can build their arguments for call_tool.",
            json!({"type": "object", "properties": {
                "names": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": MAX_DESCRIBE, "description": "Tool names from search_tools"}},
                "required": ["names"], "additionalProperties": false}),
            Some(
                json!({"type": "object", "properties": {"tools": {"type": "array", "items": {"type": "object"}},
                "unknown": {"type": "array", "items": {"type": "string"}}}, "required": ["tools"]}),
            ),
            true,
        ),
        Meta::Call => (
            "Call a tool",
            "Calls the tool `name` with `arguments` (an object matching its inputSchema from describe_tools) and returns its result, exactly as if it had been called directly.",
            json!({"type": "object", "properties": {
                "name": {"type": "string", "minLength": 1, "description": "The tool's name, from search_tools"},
                "arguments": {"type": "object", "description": "The tool's arguments"}},
                "required": ["name"], "additionalProperties": false}),
            None,
            false,
        ),
    };
    Tool {
        name: ToolName::new(meta.name()).unwrap_or_else(|_| unreachable!("the three names are valid")),
        title: Some(title.to_owned()),
        description: description.to_owned(),
        input_schema: object(input),
        output_schema: output.map(object),
        annotations: ToolAnnotations {
            read_only_hint: Some(read_only),
            open_world_hint: Some(!read_only),
            ..ToolAnnotations::default()
        },
    }
}

fn object(value: Value) -> JsonObject {
    match value {
        Value::Object(map) => map,
        _ => JsonObject::new(),
    }
}

/// What the server's instructions say in search mode, before any of the operator's own.
pub(crate) fn instructions(tools: usize) -> String {
    format!(
        "This server offers an API of {tools} operations through three tools. \
         1. search_tools: describe what you want to do in plain words (\"close an issue\"); it returns the best matching tool names. \
         2. describe_tools: pass the names you picked to get their full definitions, with the inputSchema of their arguments. \
         3. call_tool: run one with {{\"name\": ..., \"arguments\": {{...}}}}; its result, and any error about the arguments, is the tool's own."
    )
}

/// The `limit` argument, or the default.
pub(crate) fn limit(arguments: &Map<String, Value>) -> usize {
    arguments
        .get("limit")
        .and_then(Value::as_u64)
        .map_or(DEFAULT_LIMIT, |n| n.min(MAX_LIMIT) as usize)
}

/// A string-array argument (already checked against the schema).
pub(crate) fn strings(arguments: &Map<String, Value>, key: &str) -> Vec<String> {
    let items = arguments.get(key).and_then(Value::as_array);
    items
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

/// The index over a tool set's derived tools and the custom ones, in that order.
pub(crate) fn index<'a>(derived: impl Iterator<Item = Entry>, custom: impl Iterator<Item = &'a Tool>) -> SearchIndex {
    SearchIndex::new(derived.chain(custom.map(Entry::from_tool)).collect())
}

/// A search's result: one line per hit as text, the hits as `structuredContent`.
pub(crate) fn search_output(query: &str, hits: Vec<Hit>) -> ToolOutput {
    let text = if hits.is_empty() {
        format!("No tool matches {query:?}. Try other words: what the operation does, or the thing it acts on.")
    } else {
        hits.iter().map(hit_line).collect::<Vec<_>>().join("\n")
    };
    ToolOutput {
        content: vec![Content::text(text)],
        structured_content: Some(json!({ "tools": hits })),
        is_error: false,
    }
}

/// `name | title`, or `name | summary` for a tool without a title: the summary stays in
/// `structuredContent`, so five hits fit in well under 2 KB.
fn hit_line(hit: &Hit) -> String {
    let about = hit.title.as_deref().unwrap_or(&hit.summary);
    if about.is_empty() {
        return hit.name.clone();
    }
    format!("{} | {about}", hit.name)
}

/// The definitions found, and the names that name no tool this caller may see.
pub(crate) fn describe_output(found: Vec<Value>, unknown: Vec<String>) -> ToolOutput {
    let mut structured = json!({ "tools": found });
    if !unknown.is_empty() {
        structured["unknown"] = json!(unknown);
    }
    ToolOutput {
        content: vec![Content::text(structured.to_string())],
        structured_content: Some(structured),
        is_error: false,
    }
}

/// The error for a `call_tool` of a name no tool has (for this caller).
pub(crate) fn unknown_tool(name: &str) -> ToolOutput {
    ToolOutput::error(format!(
        "Unknown tool: {name}. search_tools finds the tools this server has."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_settings_parse_and_auto_switches_above_its_threshold() {
        assert_eq!("search".parse::<Catalog>().ok(), Some(Catalog::Search));
        assert_eq!(" Full ".parse::<Catalog>().ok(), Some(Catalog::Full));
        assert_eq!("auto".parse::<Catalog>().ok(), Some(Catalog::Auto { above: 64 }));
        let error = "all".parse::<Catalog>().err().map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some("catalog must be \"full\", \"search\" or \"auto\", not \"all\"")
        );
        assert!(!Catalog::auto().searches(64) && Catalog::auto().searches(65));
        assert!(Catalog::Search.searches(1) && !Catalog::Full.searches(10_000));
    }

    #[test]
    fn the_three_tools_check_their_arguments() {
        let meta = MetaTools::new();
        assert_eq!(meta.definitions().len(), 3);
        let bad = meta.arguments(Meta::Search, Some(object(json!({"query": "x", "limit": 51}))));
        let text = bad.err().map(|e| e.to_json()["content"][0]["text"].clone());
        assert!(text.is_some_and(|t| t.as_str().unwrap_or("").contains("limit")));
        assert!(meta.arguments(Meta::Describe, None).is_err(), "names is required");
        assert!(
            meta.arguments(Meta::Call, Some(object(json!({"name": "a", "arguments": {}}))))
                .is_ok()
        );
    }
}
