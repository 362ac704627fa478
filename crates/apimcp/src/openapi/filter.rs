//! Which operations become tools: FastAPI-MCP's four filters.
//!
//! Includes select (operations named or tagged, their union, as in FastAPI-MCP); excludes then
//! remove. An include list that is given but empty selects nothing. Unlike FastAPI-MCP, an
//! exclude never re-admits what an include left out, and the filtered set is the only set: an
//! operation outside it is not callable under any name.

/// Operation and tag filters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OperationFilter {
    /// Only these operations (by operationId or tool name).
    pub include_operations: Option<Vec<String>>,
    /// Never these operations (by operationId or tool name).
    pub exclude_operations: Option<Vec<String>>,
    /// Only operations with one of these tags.
    pub include_tags: Option<Vec<String>>,
    /// Never operations with one of these tags.
    pub exclude_tags: Option<Vec<String>>,
}

/// A filter configuration that contradicts itself.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FilterError {
    /// `include_X` and `exclude_X` were both given.
    #[error("include_{kind} and exclude_{kind} cannot be used together: give one of them")]
    IncludeAndExclude {
        /// `operations` or `tags`.
        kind: &'static str,
    },
}

impl OperationFilter {
    /// Rejects include and exclude of the same kind together.
    pub fn validate(&self) -> Result<(), FilterError> {
        if self.include_operations.is_some() && self.exclude_operations.is_some() {
            return Err(FilterError::IncludeAndExclude { kind: "operations" });
        }
        if self.include_tags.is_some() && self.exclude_tags.is_some() {
            return Err(FilterError::IncludeAndExclude { kind: "tags" });
        }
        Ok(())
    }

    /// Whether no filter is set.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    /// Whether an operation with these names and tags becomes a tool.
    pub(crate) fn selects(&self, names: &[&str], tags: &[&str]) -> bool {
        let named = |list: &Option<Vec<String>>| {
            list.as_ref()
                .is_some_and(|l| l.iter().any(|n| names.contains(&n.as_str())))
        };
        let tagged = |list: &Option<Vec<String>>| {
            list.as_ref()
                .is_some_and(|l| l.iter().any(|t| tags.contains(&t.as_str())))
        };
        let has_include = self.include_operations.is_some() || self.include_tags.is_some();
        let included = !has_include || named(&self.include_operations) || tagged(&self.include_tags);
        included && !named(&self.exclude_operations) && !tagged(&self.exclude_tags)
    }

    /// Filter entries that match nothing, as `(option, entry)` pairs, so a typo is reported
    /// instead of silently selecting nothing.
    pub(crate) fn unmatched<'f>(&'f self, names: &[&str], tags: &[&str]) -> Vec<(&'static str, &'f str)> {
        let mut out = Vec::new();
        let lists = [
            ("include_operations", &self.include_operations, names),
            ("exclude_operations", &self.exclude_operations, names),
            ("include_tags", &self.include_tags, tags),
            ("exclude_tags", &self.exclude_tags, tags),
        ];
        for (option, list, known) in lists {
            for entry in list.iter().flatten() {
                if !known.contains(&entry.as_str()) {
                    out.push((option, entry.as_str()));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Option<Vec<String>> {
        Some(items.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn include_and_exclude_of_one_kind_is_an_error() {
        let f = OperationFilter {
            include_operations: list(&["a"]),
            exclude_operations: list(&["b"]),
            ..OperationFilter::default()
        };
        assert_eq!(f.validate(), Err(FilterError::IncludeAndExclude { kind: "operations" }));
        let f = OperationFilter {
            include_tags: list(&["a"]),
            exclude_tags: list(&["b"]),
            ..OperationFilter::default()
        };
        assert!(f.validate().is_err());
    }

    #[test]
    fn includes_unite_and_excludes_remove() {
        let f = OperationFilter {
            include_operations: list(&["a"]),
            include_tags: list(&["t"]),
            ..OperationFilter::default()
        };
        assert!(f.selects(&["a"], &[]));
        assert!(f.selects(&["b"], &["t"]));
        assert!(!f.selects(&["c"], &["u"]));
        let f = OperationFilter {
            include_operations: list(&["a"]),
            exclude_tags: list(&["t"]),
            ..OperationFilter::default()
        };
        assert!(!f.selects(&["a"], &["t"]), "exclude wins over include");
        assert!(!f.selects(&["b"], &[]), "include still limits");
        let f = OperationFilter {
            exclude_operations: list(&["a"]),
            exclude_tags: list(&["t"]),
            ..OperationFilter::default()
        };
        assert!(!f.selects(&["a"], &[]) && !f.selects(&["b"], &["t"]));
        assert!(f.selects(&["c"], &[]));
    }

    #[test]
    fn an_empty_include_selects_nothing() {
        let f = OperationFilter {
            include_operations: list(&[]),
            ..OperationFilter::default()
        };
        assert!(!f.selects(&["a"], &["t"]));
        assert!(OperationFilter::default().selects(&["a"], &[]));
    }

    #[test]
    fn unmatched_entries_are_reported() {
        let f = OperationFilter {
            include_operations: list(&["a", "typo"]),
            exclude_tags: list(&["nope"]),
            ..OperationFilter::default()
        };
        assert_eq!(
            f.unmatched(&["a"], &["t"]),
            [("include_operations", "typo"), ("exclude_tags", "nope")]
        );
    }
}
