//! The tool set being served: converted tools by name, each with its schemas compiled on
//! first use (so a 1,223-tool document starts at once), swapped whole on refresh.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use serde_json::Value;

use super::catalog::{self, Catalog};
use super::output::OutputSchemas;
use crate::call::{ArgumentValidator, CheckError, Content, OutputCheck, ToolOutput};
use crate::openapi::{Conversion, ConvertedTool, Report};
use crate::search::{Entry, SearchIndex};
use crate::tool::Tool;

/// One tool, ready to call.
pub(crate) struct ServedTool {
    pub(crate) converted: ConvertedTool,
    input: OnceLock<Result<ArgumentValidator, CheckError>>,
    output: OnceLock<Option<Result<OutputCheck, CheckError>>>,
    mode: OutputSchemas,
    /// Whether a response has drifted from the outputSchema yet (logged once).
    drifted: std::sync::atomic::AtomicBool,
}

impl ServedTool {
    fn new(mut converted: ConvertedTool, mode: OutputSchemas) -> Self {
        converted.tool.output_schema = mode.advertised(converted.tool.output_schema.take());
        Self {
            converted,
            input: OnceLock::new(),
            output: OnceLock::new(),
            mode,
            drifted: std::sync::atomic::AtomicBool::new(false),
        }
    }

    pub(crate) fn name(&self) -> &str {
        self.converted.tool.name.as_str()
    }

    pub(crate) fn has_output_schema(&self) -> bool {
        self.converted.tool.output_schema.is_some()
    }

    /// `arguments` is the call's arguments object.
    pub(crate) fn check_arguments(&self, arguments: &Value) -> Result<(), CheckError> {
        let validator = self
            .input
            .get_or_init(|| ArgumentValidator::new(&self.converted.tool.input_schema));
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
            let schema = self.converted.tool.output_schema.as_ref()?;
            Some(OutputCheck::new(schema))
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

/// All tools, by name.
pub(crate) struct ToolSet {
    tools: Vec<Arc<ServedTool>>,
    by_name: HashMap<String, usize>,
    pub(crate) report: Report,
    /// The search index, in search mode (built with the set, so a refresh rebuilds it).
    pub(crate) index: Option<SearchIndex>,
}

impl ToolSet {
    /// The set of `conversion`'s tools, their outputSchemas as `mode` says.
    pub(crate) fn new(conversion: Conversion, mode: OutputSchemas) -> Self {
        let tools: Vec<Arc<ServedTool>> = conversion
            .tools
            .into_iter()
            .map(|t| Arc::new(ServedTool::new(t, mode)))
            .collect();
        let by_name = tools
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name().to_owned(), i))
            .collect();
        Self {
            tools,
            by_name,
            report: conversion.report,
            index: None,
        }
    }

    /// The set in search mode when `catalog` says so for it and the `custom` tools beside it:
    /// with an index over both.
    pub(crate) fn with_catalog<'a>(mut self, catalog: Catalog, custom: &'a [&'a Tool]) -> Self {
        if catalog.searches(self.len() + custom.len()) {
            let derived = self.tools.iter().map(|t| Entry::from_converted(&t.converted));
            self.index = Some(catalog::index(derived, custom.iter().copied()));
        }
        self
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
    use crate::openapi::{ConvertOptions, OpenApiDocument, convert};

    fn set() -> Arc<ToolSet> {
        let document = serde_json::json!({"openapi": "3.1.0", "info": {"title": "t", "version": "1"},
            "paths": {"/a": {"get": {"operationId": "a", "responses": {"200": {"description": "ok"}}}}}});
        let document = OpenApiDocument::from_value(document).expect("document");
        Arc::new(ToolSet::new(
            convert(&document, &ConvertOptions::default()).expect("converts"),
            OutputSchemas::default(),
        ))
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
