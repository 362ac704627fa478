//! The calls of search mode's three tools. Each sees only the tools its caller may call when
//! `filter_tools` is on; `call_tool` hands the call to the same pipeline a direct call takes.

use serde_json::{Map, Value};

use super::McpServer;
use super::call::Caller;
use super::catalog::{self, Meta};
use super::registry::ToolSet;
use crate::auth::Principal;
use crate::call::ToolOutput;

impl McpServer {
    /// One call of `meta`; `None` when the fast path should leave it to rmcp's path.
    pub(super) async fn call_meta(
        &self,
        set: &ToolSet,
        meta: Meta,
        arguments: Option<Map<String, Value>>,
        caller: Caller<'_>,
    ) -> Option<ToolOutput> {
        let arguments = match self.inner.meta.arguments(meta, arguments) {
            Ok(arguments) => arguments,
            Err(refusal) => return Some(refusal),
        };
        match meta {
            Meta::Search => Some(self.search(set, &arguments, caller.principal())),
            Meta::Describe => Some(self.describe(set, &arguments, caller.principal())),
            Meta::Call => self.call_through(set, arguments, caller).await,
        }
    }

    fn search(&self, set: &ToolSet, arguments: &Map<String, Value>, principal: Option<&Principal>) -> ToolOutput {
        let query = arguments.get("query").and_then(Value::as_str).unwrap_or("");
        let tags = catalog::strings(arguments, "tags");
        let Some(index) = &set.index else {
            return ToolOutput::error("search_tools is only offered in search mode");
        };
        let hits = index.search(query, &tags, catalog::limit(arguments), |name| {
            self.visible(set, name, principal)
        });
        catalog::search_output(query, hits)
    }

    fn describe(&self, set: &ToolSet, arguments: &Map<String, Value>, principal: Option<&Principal>) -> ToolOutput {
        let mut found = Vec::new();
        let mut unknown = Vec::new();
        for name in catalog::strings(arguments, "names") {
            match self
                .definition(set, &name)
                .filter(|_| self.visible(set, &name, principal))
            {
                Some(tool) => found.push(tool),
                None => unknown.push(name),
            }
        }
        catalog::describe_output(found, unknown)
    }

    /// `call_tool`: the named tool's own call, or the error for a name this caller cannot see.
    async fn call_through(
        &self,
        set: &ToolSet,
        mut arguments: Map<String, Value>,
        caller: Caller<'_>,
    ) -> Option<ToolOutput> {
        let Some(Value::String(name)) = arguments.remove("name") else {
            return Some(catalog::unknown_tool(""));
        };
        let inner = match arguments.remove("arguments") {
            Some(Value::Object(inner)) => Some(inner),
            _ => None,
        };
        if !self.visible(set, &name, caller.principal()) {
            return Some(catalog::unknown_tool(&name));
        }
        let fast = matches!(caller, Caller::Fast { .. });
        match self.call_named(set, &name, inner, caller).await {
            Some(output) => Some(output),
            // A custom tool: rmcp's path runs it with the client's connection.
            None if fast => None,
            None => Some(catalog::unknown_tool(&name)),
        }
    }

    /// A derived or custom tool's definition.
    fn definition(&self, set: &ToolSet, name: &str) -> Option<Value> {
        match set.get(name) {
            Some(tool) => serde_json::from_slice(tool.definition()).ok(),
            None => self
                .inner
                .extensions
                .tool(name)
                .and_then(|t| serde_json::to_value(&t.tool).ok()),
        }
    }

    /// Whether `principal` may see `name`: always, unless `filter_tools` is on.
    fn visible(&self, set: &ToolSet, name: &str, principal: Option<&Principal>) -> bool {
        let Some(auth) = self.auth().filter(|a| a.filters_tools()) else {
            return true;
        };
        let scopes = set.get(name).map(|t| t.required_scopes.as_slice()).unwrap_or_default();
        auth.allows(name, scopes, principal)
    }
}
