//! The tool set being served: converted tools by name, each with its schemas compiled on
//! first use (so a 1,223-tool document starts at once), swapped whole on refresh.
//!
//! A tool's definition is kept once, as the JSON text `tools/list` sends: a big API's schemas
//! as `serde_json::Value` maps take several times their size in text (GitHub's 11.5 MB list
//! took about 80 MB that way), and a definition is only ever sent, or read back when a call
//! first needs its schemas.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use bytes::Bytes;
use serde::Deserialize;
use serde_json::Value;

use super::catalog::{self, Catalog};
use super::output::OutputSchemas;
use crate::call::{ArgumentValidator, CheckError, Content, OutputCheck, ToolOutput};
use crate::openapi::{ConvertError, ConvertOptions, ConvertedTool, OpenApiDocument, Report, convert_each};
use crate::search::{Entry, SearchIndex};
use crate::tool::{Binding, JsonObject, Tool, ToolName};

/// One tool, ready to call.
pub(crate) struct ServedTool {
    name: ToolName,
    /// The definition as `tools/list` sends it (outputSchema as the mode advertises it).
    definition: Bytes,
    has_output_schema: bool,
    /// How a call becomes an HTTP request.
    pub(crate) binding: Binding,
    /// The OAuth scopes a call needs (alternatives).
    pub(crate) required_scopes: Vec<Vec<String>>,
    /// The operation's security requirements (alternatives).
    pub(crate) security: Vec<Vec<String>>,
    input: OnceLock<Result<ArgumentValidator, CheckError>>,
    output: OnceLock<Option<Result<OutputCheck, CheckError>>>,
    mode: OutputSchemas,
    /// Whether a response has drifted from the outputSchema yet (logged once).
    drifted: std::sync::atomic::AtomicBool,
}

/// The schemas of a definition, read back from its JSON text (the rest is skipped unread).
#[derive(Deserialize)]
struct Schemas {
    #[serde(rename = "inputSchema")]
    input: JsonObject,
    #[serde(rename = "outputSchema")]
    output: Option<JsonObject>,
}

impl ServedTool {
    fn new(converted: ConvertedTool, mode: OutputSchemas) -> Self {
        let ConvertedTool {
            mut tool,
            binding,
            required_scopes,
            security,
            ..
        } = converted;
        tool.output_schema = mode.advertised(tool.output_schema.take());
        Self {
            has_output_schema: tool.output_schema.is_some(),
            definition: encode(&tool),
            name: tool.name,
            binding,
            required_scopes,
            security,
            input: OnceLock::new(),
            output: OnceLock::new(),
            mode,
            drifted: std::sync::atomic::AtomicBool::new(false),
        }
    }

    pub(crate) fn name(&self) -> &str {
        self.name.as_str()
    }

    pub(crate) fn has_output_schema(&self) -> bool {
        self.has_output_schema
    }

    /// The definition as JSON text, as `tools/list` sends it.
    pub(crate) fn definition(&self) -> &Bytes {
        &self.definition
    }

    /// The definition's schemas, parsed from its text (on a tool's first call only).
    fn schemas(&self) -> Result<Schemas, CheckError> {
        serde_json::from_slice(&self.definition).map_err(|e| CheckError::Unreadable { reason: e.to_string() })
    }

    /// `arguments` is the call's arguments object.
    pub(crate) fn check_arguments(&self, arguments: &Value) -> Result<(), CheckError> {
        let validator = self
            .input
            .get_or_init(|| ArgumentValidator::new(&self.schemas()?.input));
        match validator {
            Ok(v) => v.check(arguments),
            // The conversion tests compile every schema of the real documents, so this is a
            // document that defeats the compiler: let the API judge the arguments.
            Err(_) => Ok(()),
        }
    }

    /// `structuredContent` must match the outputSchema; a response that does not loses it
    /// (the body is kept as text) and is an error the model can read (strict) or a plain
    /// text result, logged once per tool (advisory): never invalid structured data.
    pub(crate) fn check_output(&self, mut output: ToolOutput) -> ToolOutput {
        let Some(structured) = &output.structured_content else {
            return output;
        };
        let check = self.output.get_or_init(|| {
            if !self.has_output_schema {
                return None;
            }
            Some(
                self.schemas()
                    .and_then(|s| OutputCheck::new(&s.output.unwrap_or_default())),
            )
        });
        let Some(Ok(check)) = check else {
            return output;
        };
        let Err(problem) = check.check(structured) else {
            return output;
        };
        output.structured_content = None;
        if self.mode == OutputSchemas::Strict {
            output.is_error = true;
            output.content.insert(
                0,
                Content::text(format!(
                    "The API's response does not match the outputSchema of {}: {problem}. The response follows.",
                    self.name()
                )),
            );
        } else if !self.drifted.swap(true, std::sync::atomic::Ordering::Relaxed) {
            tracing::warn!(tool = self.name(), mismatch = %problem,
                "the API's response does not match the tool's outputSchema: served as text (logged once per tool)");
        }
        output
    }
}

/// `tool` as JSON text, in an allocation of its own size (a `Vec`'s spare capacity would
/// stay with the `Bytes`).
pub(crate) fn encode(tool: &Tool) -> Bytes {
    let mut json = serde_json::to_vec(tool).unwrap_or_else(|_| b"{}".to_vec());
    json.shrink_to_fit();
    Bytes::from(json)
}

/// All tools, by name.
pub(crate) struct ToolSet {
    tools: Vec<Arc<ServedTool>>,
    by_name: HashMap<String, usize>,
    pub(crate) report: Report,
    /// The search index, in search mode (built with the set, so a refresh rebuilds it).
    pub(crate) index: Option<SearchIndex>,
}

impl ToolSet {
    /// The tools of `document`, their outputSchemas as `mode` says; in search mode when
    /// `catalog` says so for them and the `custom` tools beside them, with an index over both.
    /// Each tool is kept in its lean form as soon as it is converted.
    pub(crate) fn convert(
        document: &OpenApiDocument,
        options: &ConvertOptions,
        mode: OutputSchemas,
        catalog: Catalog,
        custom: &[&Tool],
    ) -> Result<Self, ConvertError> {
        let mut entries = Vec::new();
        let (tools, report) = convert_each(document, options, |converted| {
            // Kept only in search mode, which the count of tools decides at the end.
            if catalog != Catalog::Full {
                entries.push(Entry::from_converted(&converted));
            }
            Arc::new(ServedTool::new(converted, mode))
        })?;
        let index = catalog
            .searches(tools.len() + custom.len())
            .then(|| catalog::index(entries.into_iter(), custom.iter().copied()));
        let by_name = tools
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name().to_owned(), i))
            .collect();
        Ok(Self {
            tools,
            by_name,
            report,
            index,
        })
    }

    pub(crate) fn get(&self, name: &str) -> Option<&ServedTool> {
        self.by_name.get(name).map(|&i| self.tools[i].as_ref())
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &ServedTool> {
        self.tools.iter().map(AsRef::as_ref)
    }

    pub(crate) fn len(&self) -> usize {
        self.tools.len()
    }
}

/// A value built from one tool set (the tool list as JSON, say), built again when the set has
/// been swapped. A weak reference names the set it was built from: it keeps the set's
/// allocation, so a new set can never be taken for the old one (as a new allocation at the
/// old address could), but not its tools, which a refresh frees.
pub(crate) struct PerToolSet<T> {
    built: Mutex<Option<(Weak<ToolSet>, T)>>,
}

impl<T> Default for PerToolSet<T> {
    fn default() -> Self {
        Self {
            built: Mutex::new(None),
        }
    }
}

impl<T: Clone> PerToolSet<T> {
    pub(crate) fn get(&self, set: &Arc<ToolSet>, build: impl FnOnce() -> T) -> T {
        let mut built = self.built.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((from, value)) = built.as_ref()
            && std::ptr::eq(from.as_ptr(), Arc::as_ptr(set))
        {
            return value.clone();
        }
        let value = build();
        *built = Some((Arc::downgrade(set), value.clone()));
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openapi::{ConvertOptions, OpenApiDocument};

    fn set() -> Arc<ToolSet> {
        let document = serde_json::json!({"openapi": "3.1.0", "info": {"title": "t", "version": "1"},
            "paths": {"/a": {"get": {"operationId": "a", "responses": {"200": {"description": "ok"}}}}}});
        let document = OpenApiDocument::from_value(document).expect("document");
        let set = ToolSet::convert(
            &document,
            &ConvertOptions::default(),
            OutputSchemas::default(),
            Catalog::Full,
            &[],
        );
        Arc::new(set.expect("converts"))
    }

    #[test]
    fn built_once_per_tool_set() {
        let cache = PerToolSet::default();
        let (first, second) = (set(), set());
        let mut builds = 0;
        for set in [&first, &first, &second, &second, &first] {
            cache.get(set, || {
                builds += 1;
                builds
            });
        }
        assert_eq!(builds, 3, "built for the first set, the second, then the first again");
    }

    #[test]
    fn a_swapped_set_is_freed_and_a_new_one_is_built_for() {
        let cache = PerToolSet::default();
        let old = set();
        cache.get(&old, || 1);
        let weak = Arc::downgrade(&old);
        drop(old);
        assert!(weak.upgrade().is_none(), "the cache does not keep the old set's tools");
        assert_eq!(cache.get(&set(), || 2), 2);
    }
}
