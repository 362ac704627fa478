//! `tools/list` in pages: a large API's list (GitHub's is 11.5 MB) in one message is more than
//! clients read (the Python SDK and FastMCP cap an SSE event at 1 MiB), so the list is cut into
//! pages of at most [`PAGE_BUDGET`] bytes of tool definitions, each pointing to the next with an
//! opaque cursor. Pages are cut the same way on every path (the fast path, rmcp's, a filtered
//! list) and on every replica: a cursor names where its page starts in the full list and a
//! fingerprint of that list, so a cursor from another list is refused, not misread.

use std::ops::Range;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use sha2::Digest as _;

/// The most bytes of tool definitions one page carries (a single larger tool gets a page of
/// its own): well under the 1 MiB clients read in one message.
pub(crate) const PAGE_BUDGET: usize = 256 * 1024;

/// What the cursor format starts with, so a later format can tell old cursors apart.
const CURSOR_TAG: &str = "t1";

/// The schema keyword of SEP-2243 that maps an argument to an `Mcp-Param-*` header.
const PARAM_HEADER: &[u8] = b"x-mcp-header";

/// Why a cursor was refused (an invalid-params error for the client).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum CursorError {
    /// Not a cursor this server hands out.
    #[error("invalid cursor: not one this server issued; list again without a cursor")]
    Malformed,
    /// A cursor of a tool list that has changed since.
    #[error("invalid cursor: the tool list changed since it was issued; list again without a cursor")]
    Stale,
}

/// One page of the full list: which tools, their definitions as a JSON array, and the cursor
/// of the next page.
#[derive(Debug, Clone)]
pub(crate) struct Page {
    pub(crate) tools: Range<usize>,
    pub(crate) json: Bytes,
    pub(crate) next: Option<String>,
}

/// One listed tool: its name and its definition as JSON text.
#[derive(Debug, Clone)]
pub(crate) struct Listed {
    pub(crate) name: String,
    pub(crate) json: Bytes,
}

/// The full tool list and where its pages start, built once per tool set. A page's JSON is
/// put together when it is asked for (a copy of at most [`PAGE_BUDGET`] bytes): the
/// definitions are the tool set's own, never held twice.
#[derive(Debug)]
pub(crate) struct ToolPages {
    fingerprint: String,
    param_headers: bool,
    tools: Vec<Listed>,
    /// Each page's tools and the cursor of the next, in order.
    pages: Vec<(Range<usize>, Option<String>)>,
}

impl ToolPages {
    /// The pages of `tools`, in order.
    pub(crate) fn new(tools: Vec<Listed>) -> Self {
        let mut digest = sha2::Sha256::new();
        for tool in &tools {
            digest.update(&tool.json);
            digest.update(b"\n");
        }
        let fingerprint = digest.finalize()[..8].iter().map(|b| format!("{b:02x}")).collect();
        let param_headers = tools
            .iter()
            .any(|t| t.json.windows(PARAM_HEADER.len()).any(|w| w == PARAM_HEADER));
        let mut pages = Self {
            fingerprint,
            param_headers,
            tools,
            pages: Vec::new(),
        };
        pages.pages = pages.cut();
        pages
    }

    /// The pages of the full list: each one's tools and next cursor.
    fn cut(&self) -> Vec<(Range<usize>, Option<String>)> {
        let mut pages = Vec::new();
        let mut start = 0;
        while start < self.tools.len() || pages.is_empty() {
            let (indices, next) = self.page_from(start, |_| true);
            let end = indices.last().map_or(start, |last| last + 1);
            pages.push((start..end, next.map(|n| self.cursor(n))));
            start = end;
        }
        pages
    }

    /// Whether a tool's schema mentions `x-mcp-header`, which asks 2026-07-28 clients to
    /// repeat an argument in an `Mcp-Param-*` header (rmcp's path checks those).
    pub(crate) fn names_param_headers(&self) -> bool {
        self.param_headers
    }

    /// The listed tool at `index` of the full list.
    pub(crate) fn tool(&self, index: usize) -> Option<&Listed> {
        self.tools.get(index)
    }

    /// The listed tool named `name`.
    pub(crate) fn named(&self, name: &str) -> Option<&Listed> {
        self.tools.iter().find(|t| t.name == name)
    }

    /// The page the request's cursor names (the first without one) when every tool is shown.
    pub(crate) fn page(&self, cursor: Option<&str>) -> Result<Page, CursorError> {
        let start = self.start(cursor)?;
        let (tools, next) = self
            .pages
            .iter()
            .find(|(tools, _)| tools.start == start)
            .ok_or(CursorError::Malformed)?;
        Ok(Page {
            tools: tools.clone(),
            json: json_array(&self.tools[tools.clone()]),
            next: next.clone(),
        })
    }

    /// The page the cursor names of the tools `visible` keeps: their indices in the full list
    /// and the cursor of the next page.
    pub(crate) fn filtered(
        &self,
        cursor: Option<&str>,
        visible: impl Fn(usize) -> bool,
    ) -> Result<(Vec<usize>, Option<String>), CursorError> {
        let start = self.start(cursor)?;
        let (indices, next) = self.page_from(start, visible);
        Ok((indices, next.map(|n| self.cursor(n))))
    }

    /// From `start`, the visible tools that fit the budget (at least one), and where the next
    /// page starts.
    fn page_from(&self, start: usize, visible: impl Fn(usize) -> bool) -> (Vec<usize>, Option<usize>) {
        let mut indices = Vec::new();
        let mut bytes = 0;
        for index in (start..self.tools.len()).filter(|&i| visible(i)) {
            let size = self.tools[index].json.len() + 1;
            if !indices.is_empty() && bytes + size > PAGE_BUDGET {
                return (indices, Some(index));
            }
            bytes += size;
            indices.push(index);
        }
        (indices, None)
    }

    fn cursor(&self, start: usize) -> String {
        URL_SAFE_NO_PAD.encode(format!("{CURSOR_TAG}:{}:{start}", self.fingerprint))
    }

    /// Where the cursor's page starts: 0 without one.
    fn start(&self, cursor: Option<&str>) -> Result<usize, CursorError> {
        let Some(cursor) = cursor else { return Ok(0) };
        let decoded = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| CursorError::Malformed)?;
        let decoded = String::from_utf8(decoded).map_err(|_| CursorError::Malformed)?;
        let mut fields = decoded.split(':');
        let (Some(CURSOR_TAG), Some(fingerprint), Some(start), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(CursorError::Malformed);
        };
        let start: usize = start.parse().map_err(|_| CursorError::Malformed)?;
        if fingerprint != self.fingerprint {
            return Err(CursorError::Stale);
        }
        if start == 0 || start >= self.tools.len() {
            return Err(CursorError::Malformed);
        }
        Ok(start)
    }
}

/// `[a,b,...]` from the tools' definitions.
fn json_array(tools: &[Listed]) -> Bytes {
    let mut json = Vec::with_capacity(tools.iter().map(|t| t.json.len() + 1).sum::<usize>() + 2);
    json.push(b'[');
    for (i, tool) in tools.iter().enumerate() {
        if i > 0 {
            json.push(b',');
        }
        json.extend_from_slice(&tool.json);
    }
    json.push(b']');
    json.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tool::{Tool, ToolAnnotations, ToolName};
    use serde_json::{Value, json};

    fn tool(name: &str, description_bytes: usize) -> Tool {
        Tool {
            name: ToolName::new(name).expect("valid"),
            title: None,
            description: "x".repeat(description_bytes),
            input_schema: serde_json::from_value(json!({"type": "object"})).expect("object"),
            output_schema: None,
            annotations: ToolAnnotations::default(),
        }
    }

    fn tools(count: usize, bytes: usize) -> Vec<Tool> {
        (0..count).map(|i| tool(&format!("t{i}"), bytes)).collect()
    }

    fn pages_of(tools: &[Tool]) -> ToolPages {
        ToolPages::new(tools.iter().map(listed).collect())
    }

    fn listed(tool: &Tool) -> Listed {
        Listed {
            name: tool.name.to_string(),
            json: crate::server::registry::encode(tool),
        }
    }

    fn names(page: &Page) -> Vec<String> {
        let tools: Vec<Value> = serde_json::from_slice(&page.json).expect("a JSON array");
        tools
            .iter()
            .map(|t| t["name"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    #[test]
    fn a_large_list_is_cut_into_pages_under_the_budget_that_chain_to_the_end() {
        let list = tools(100, 20_000);
        let pages = pages_of(&list);
        let mut cursor = None;
        let mut seen = Vec::new();
        loop {
            let page = pages.page(cursor.as_deref()).expect("a page");
            assert!(page.json.len() <= PAGE_BUDGET + 2, "{}", page.json.len());
            seen.extend(names(&page));
            match &page.next {
                Some(next) => cursor = Some(next.clone()),
                None => break,
            }
        }
        let all: Vec<String> = (0..100).map(|i| format!("t{i}")).collect();
        assert_eq!(seen, all);
        assert!(pages.pages.len() >= 8, "{}", pages.pages.len());
    }

    #[test]
    fn a_small_list_is_one_page_without_a_cursor_and_an_empty_list_one_empty_page() {
        let pages = pages_of(&tools(6, 100));
        let page = pages.page(None).expect("a page");
        assert_eq!(names(&page).len(), 6);
        assert_eq!(page.next, None);
        let empty = pages_of(&[]);
        assert_eq!(&empty.page(None).expect("a page").json[..], b"[]");
    }

    #[test]
    fn a_tool_over_the_budget_gets_a_page_of_its_own() {
        let list = vec![tool("small", 10), tool("huge", PAGE_BUDGET * 2), tool("after", 10)];
        let pages = pages_of(&list);
        let first = pages.page(None).expect("first");
        assert_eq!(names(&first), ["small"]);
        let second = pages.page(first.next.as_deref()).expect("second");
        assert_eq!(names(&second), ["huge"]);
        let third = pages.page(second.next.as_deref()).expect("third");
        assert_eq!(names(&third), ["after"]);
    }

    #[test]
    fn cursors_that_were_not_issued_or_are_stale_are_refused() {
        let pages = pages_of(&tools(100, 20_000));
        let next = pages.page(None).expect("first").next.expect("a next page");
        let other = pages_of(&tools(101, 20_000));
        assert_eq!(other.page(Some(&next)).err(), Some(CursorError::Stale));
        let forged = |text: &str| URL_SAFE_NO_PAD.encode(text);
        for bad in [
            "not base64!".to_owned(),
            String::new(),
            forged("t1:abc"),
            forged(&format!("t1:{}:0", pages.fingerprint)),
            forged(&format!("t1:{}:100", pages.fingerprint)),
            forged(&format!("t1:{}:-1", pages.fingerprint)),
            forged(&format!("t1:{}:1:2", pages.fingerprint)),
            forged(&format!("t2:{}:1", pages.fingerprint)),
        ] {
            assert_eq!(pages.page(Some(&bad)).err(), Some(CursorError::Malformed), "{bad}");
        }
    }

    #[test]
    fn a_filtered_list_is_paged_over_the_visible_tools_only() {
        let list = tools(100, 20_000);
        let pages = pages_of(&list);
        let even = |i: usize| i.is_multiple_of(2);
        let (first, next) = pages.filtered(None, even).expect("a page");
        assert!(first.iter().all(|&i| even(i)) && !first.is_empty());
        let (second, _) = pages.filtered(next.as_deref(), even).expect("a page");
        assert!(second[0] > *first.last().expect("one") && second.iter().all(|&i| even(i)));
    }
}
