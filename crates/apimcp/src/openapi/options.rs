//! How operations become tools: descriptions, filters, names and limits.

use std::collections::BTreeMap;

use super::describe::DescribeOptions;
use super::filter::OperationFilter;

/// How operations become tools.
///
/// Start from the default and change what you need; the fields can also be set directly.
///
/// ```
/// use apimcp::openapi::{ConvertOptions, OperationFilter};
///
/// let filter = OperationFilter {
///     include_tags: Some(vec!["items".into()]),
///     ..OperationFilter::default()
/// };
/// let options = ConvertOptions::default()
///     .describe_all_responses(true)
///     .max_description_len(1_000)
///     .tool_name("GET /items/{item_id}", "get_item")
///     .filter(filter)
///     .strict(true);
/// assert_eq!(options.max_description_len, Some(1_000));
/// assert_eq!(options.tool_names["GET /items/{item_id}"], "get_item");
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ConvertOptions {
    /// Describe every response in the description, not only the success one.
    pub describe_all_responses: bool,
    /// Add the full response schema to the description.
    pub describe_full_response_schema: bool,
    /// Leave the `### Responses` section out of descriptions.
    pub omit_responses: bool,
    /// Cut descriptions to this many characters (ending in `…`).
    pub max_description_len: Option<usize>,
    /// Which operations become tools.
    pub filter: OperationFilter,
    /// Tool names chosen by the user, keyed by operationId or by `METHOD /path`.
    pub tool_names: BTreeMap<String, String>,
    /// Fail instead of skipping an operation, and on filter or name-map entries that match
    /// nothing.
    pub strict: bool,
    /// Bytes of `$defs` one schema may carry before further definitions are left as empty
    /// schemas that say so (`None`: no limit). The default, 64 KiB, keeps every GitHub tool
    /// whole and Stripe's tools usable.
    pub max_schema_defs_bytes: Option<usize>,
    /// Values for the variables of the document's server URLs (name → value), in place of
    /// their defaults: for the operations' and path items' own `servers` here, and for the
    /// API's base URL through
    /// [`OpenApiDocument::server_url_with`](super::OpenApiDocument::server_url_with). A name
    /// no server declares, or a value outside its `enum`, fails the conversion.
    pub server_variables: BTreeMap<String, String>,
}

/// The default for [`ConvertOptions::max_schema_defs_bytes()`].
pub const DEFAULT_MAX_SCHEMA_DEFS_BYTES: usize = 64 * 1024;

impl Default for ConvertOptions {
    fn default() -> Self {
        Self {
            describe_all_responses: false,
            describe_full_response_schema: false,
            omit_responses: false,
            max_description_len: None,
            filter: OperationFilter::default(),
            tool_names: BTreeMap::new(),
            strict: false,
            max_schema_defs_bytes: Some(DEFAULT_MAX_SCHEMA_DEFS_BYTES),
            server_variables: BTreeMap::new(),
        }
    }
}

impl ConvertOptions {
    /// Describe every response, not only the success one.
    pub fn describe_all_responses(mut self, on: bool) -> Self {
        self.describe_all_responses = on;
        self
    }

    /// Add the full response schema to each description.
    pub fn describe_full_response_schema(mut self, on: bool) -> Self {
        self.describe_full_response_schema = on;
        self
    }

    /// Leave the `### Responses` section out of descriptions.
    pub fn omit_responses(mut self, on: bool) -> Self {
        self.omit_responses = on;
        self
    }

    /// Cut descriptions to this many characters (`None`: no limit, the default).
    pub fn max_description_len(mut self, max: impl Into<Option<usize>>) -> Self {
        self.max_description_len = max.into();
        self
    }

    /// Which operations become tools.
    pub fn filter(mut self, filter: OperationFilter) -> Self {
        self.filter = filter;
        self
    }

    /// Names the tool of one operation, given by operationId or as `METHOD /path`.
    pub fn tool_name(mut self, operation: impl Into<String>, name: impl Into<String>) -> Self {
        self.tool_names.insert(operation.into(), name.into());
        self
    }

    /// Fail instead of skipping an operation, and on entries that match nothing.
    pub fn strict(mut self, on: bool) -> Self {
        self.strict = on;
        self
    }

    /// The `$defs` budget of one schema, in bytes (`None`: no limit).
    pub fn max_schema_defs_bytes(mut self, max: impl Into<Option<usize>>) -> Self {
        self.max_schema_defs_bytes = max.into();
        self
    }

    /// Sets a variable of the document's server URLs (`{region}` in
    /// `https://{region}.api.example.com`).
    pub fn server_variable(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.server_variables.insert(name.into(), value.into());
        self
    }

    pub(super) fn describe(&self) -> DescribeOptions {
        DescribeOptions {
            all_responses: self.describe_all_responses,
            full_response_schema: self.describe_full_response_schema,
            omit_responses: self.omit_responses,
            max_len: self.max_description_len,
        }
    }
}
