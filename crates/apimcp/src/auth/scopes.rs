//! Which scopes a request needs, and whether a token's scopes cover them (with hierarchies:
//! a broad scope implies narrower ones).

use std::collections::{BTreeMap, BTreeSet};

/// Scope requirements beyond those the OpenAPI document declares.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScopeRules {
    /// Needed for every MCP request.
    pub required: Vec<String>,
    /// Per tool, replacing what the document says.
    pub tools: BTreeMap<String, Vec<String>>,
    /// `admin` → `["items:read", "items:write"]`: holding the key grants the values
    /// (transitively).
    pub implies: BTreeMap<String, Vec<String>>,
}

impl ScopeRules {
    /// Everything `granted` stands for, hierarchies included.
    pub fn expand(&self, granted: &BTreeSet<String>) -> BTreeSet<String> {
        let mut all = granted.clone();
        let mut queue: Vec<String> = granted.iter().cloned().collect();
        while let Some(scope) = queue.pop() {
            for implied in self.implies.get(&scope).into_iter().flatten() {
                if all.insert(implied.clone()) {
                    queue.push(implied.clone());
                }
            }
        }
        all
    }

    /// The alternatives a call of `tool` needs (any one suffices), each including the
    /// per-request scopes: the configured override, else the document's.
    pub fn for_tool(&self, tool: &str, from_document: &[Vec<String>]) -> Vec<Vec<String>> {
        let base: Vec<Vec<String>> = match self.tools.get(tool) {
            Some(scopes) => vec![scopes.clone()],
            None if from_document.is_empty() => vec![Vec::new()],
            None => from_document.to_vec(),
        };
        base.into_iter()
            .map(|alternative| {
                let mut all = self.required.clone();
                for s in alternative {
                    if !all.contains(&s) {
                        all.push(s);
                    }
                }
                all
            })
            .filter(|a| !a.is_empty())
            .collect()
    }

    /// `None` when `granted` satisfies one alternative; otherwise every scope of the first
    /// alternative, for one challenge that covers the whole call.
    pub fn missing(&self, granted: &BTreeSet<String>, alternatives: &[Vec<String>]) -> Option<Vec<String>> {
        if alternatives.is_empty() {
            return None;
        }
        let held = self.expand(granted);
        let satisfied = alternatives.iter().any(|a| a.iter().all(|s| held.contains(s)));
        (!satisfied).then(|| alternatives[0].clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn hierarchies_grant_narrower_scopes() {
        let rules = ScopeRules {
            implies: [
                ("admin".to_owned(), vec!["write".to_owned()]),
                ("write".to_owned(), vec!["read".to_owned()]),
            ]
            .into(),
            ..ScopeRules::default()
        };
        assert_eq!(rules.expand(&set(&["admin"])), set(&["admin", "read", "write"]));
        let need = vec![vec!["read".to_owned(), "write".to_owned()]];
        assert_eq!(rules.missing(&set(&["admin"]), &need), None);
        assert_eq!(
            rules.missing(&set(&["read"]), &need),
            Some(vec!["read".to_owned(), "write".to_owned()])
        );
    }

    #[test]
    fn overrides_and_per_request_scopes_combine() {
        let rules = ScopeRules {
            required: vec!["mcp".into()],
            tools: [("delete_item".to_owned(), vec!["items:admin".to_owned()])].into(),
            ..ScopeRules::default()
        };
        let doc = vec![vec!["items:write".to_owned()]];
        assert_eq!(
            rules.for_tool("delete_item", &doc),
            vec![vec!["mcp".to_owned(), "items:admin".to_owned()]]
        );
        assert_eq!(
            rules.for_tool("create_item", &doc),
            vec![vec!["mcp".to_owned(), "items:write".to_owned()]]
        );
        assert_eq!(rules.for_tool("list_items", &[]), vec![vec!["mcp".to_owned()]]);
        assert!(ScopeRules::default().for_tool("x", &[]).is_empty());
    }
}
