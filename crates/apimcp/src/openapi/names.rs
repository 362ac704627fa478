//! Tool and argument names that every MCP client accepts, unique and stable for a document.

use std::collections::HashSet;

use sha2::{Digest, Sha256};

use crate::tool::{MAX_TOOL_NAME_LEN, is_name_char};

/// `raw` with every character outside `[A-Za-z0-9_.-]` replaced by `_`, runs of `_` collapsed
/// and `_` trimmed from the ends: `repos/get` → `repos_get`, `page[size]` → `page_size`.
pub(crate) fn sanitize(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        let c = if is_name_char(c) { c } else { '_' };
        if !(c == '_' && out.ends_with('_')) {
            out.push(c);
        }
    }
    out.trim_matches('_').to_owned()
}

/// The name of an operation without an `operationId`: `GET /items/{id}` → `get_items_id`.
pub(crate) fn from_method_and_path(method: &str, path: &str) -> String {
    sanitize(&format!("{}_{}", method.to_ascii_lowercase(), path))
}

/// `name` cut to 64 characters; a cut name ends in a hash of the whole name, so two long names
/// that share a prefix stay apart.
pub(crate) fn fit(name: &str) -> String {
    if name.len() <= MAX_TOOL_NAME_LEN {
        return name.to_owned();
    }
    let hash = short_hash(name);
    let keep = MAX_TOOL_NAME_LEN - hash.len() - 1;
    let mut cut = keep;
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}_{hash}", name[..cut].trim_end_matches('_'))
}

fn short_hash(name: &str) -> String {
    let digest = Sha256::digest(name.as_bytes());
    digest[..4].iter().map(|b| format!("{b:02x}")).collect()
}

/// Hands out unique names: the first claimant of a name keeps it, later ones get `_2`, `_3`, ...
#[derive(Default)]
pub(crate) struct Names {
    taken: HashSet<String>,
}

impl Names {
    /// Reserves `name` as it is; false if it was already taken.
    pub(crate) fn reserve(&mut self, name: &str) -> bool {
        self.taken.insert(name.to_owned())
    }

    pub(crate) fn is_taken(&self, name: &str) -> bool {
        self.taken.contains(name)
    }

    /// A unique valid name built from `base` (which may be any text).
    pub(crate) fn unique(&mut self, base: &str, fallback: &str) -> String {
        let clean = sanitize(base);
        let clean = if clean.is_empty() { fallback.to_owned() } else { clean };
        let first = fit(&clean);
        if self.reserve(&first) {
            return first;
        }
        (2..)
            .map(|n| {
                let suffix = format!("_{n}");
                let room = MAX_TOOL_NAME_LEN - suffix.len();
                let stem = if clean.len() > room {
                    fit(&clean)[..room].to_owned()
                } else {
                    clean.clone()
                };
                format!("{stem}{suffix}")
            })
            .find(|candidate| self.reserve(candidate))
            .unwrap_or(first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitizes_to_the_client_charset() {
        assert_eq!(sanitize("repos/get"), "repos_get");
        assert_eq!(sanitize("actions/list-artifacts"), "actions_list-artifacts");
        assert_eq!(sanitize("page[size]"), "page_size");
        assert_eq!(sanitize("  a  b "), "a_b");
        assert_eq!(from_method_and_path("GET", "/items/{item_id}"), "get_items_item_id");
        assert_eq!(from_method_and_path("DELETE", "/"), "delete");
    }

    #[test]
    fn long_names_are_cut_with_a_stable_hash() {
        let long = "a".repeat(100);
        let other = format!("{}b", "a".repeat(99));
        let (x, y) = (fit(&long), fit(&other));
        assert_eq!(x.len(), 64);
        assert_ne!(x, y);
        assert_eq!(x, fit(&long));
        assert!(x.chars().all(is_name_char));
    }

    #[test]
    fn collisions_get_numbered_suffixes() {
        let mut names = Names::default();
        assert_eq!(names.unique("a/b", "t"), "a_b");
        assert_eq!(names.unique("a_b", "t"), "a_b_2");
        assert_eq!(names.unique("a b", "t"), "a_b_3");
        assert_eq!(names.unique("///", "tool"), "tool");
        let long = "x".repeat(80);
        let first = names.unique(&long, "t");
        let second = names.unique(&long, "t");
        assert_ne!(first, second);
        assert!(first.len() <= 64 && second.len() <= 64);
    }
}
