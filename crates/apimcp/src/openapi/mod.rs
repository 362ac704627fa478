//! OpenAPI → MCP tools. Pure: no I/O, no async, no web framework.
//!
//! [`convert`] turns an [`OpenApiDocument`] into one [`ConvertedTool`] per selected operation
//! (the MCP [`Tool`] and the [`Binding`] that turns a call into an HTTP request) and a
//! [`Report`] of what was skipped and why. One bad operation never stops the others; with
//! [`ConvertOptions::strict()`] any skip is an error.

mod describe;
mod document;
mod filter;
mod inputs;
mod names;
mod operation;
mod options;
mod schema;
mod servers;
mod swagger2;
mod valid;

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use http::Method;

pub use document::{DocumentError, OpenApiDocument, SpecVersion};
pub use filter::{FilterError, OperationFilter};
pub use options::{ConvertOptions, DEFAULT_MAX_SCHEMA_DEFS_BYTES};
pub use schema::SchemaError;
pub use servers::ServerVariableError;
pub use valid::InvalidSchema;

use crate::tool::{Binding, InvalidToolName, Tool, ToolName};
use describe::DescribeOptions;
use operation::{BadPathItem, Operation};
use schema::Schemas;

/// One tool and how to call it.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvertedTool {
    /// The MCP tool definition.
    pub tool: Tool,
    /// How a call becomes an HTTP request.
    pub binding: Binding,
    /// The operation's `operationId`, if it has one.
    pub operation_id: Option<String>,
    /// The operation's tags.
    pub tags: Vec<String>,
    /// The OAuth scopes a call needs, from the operation's `security`: alternatives, any one
    /// of which suffices (empty: none needed).
    pub required_scopes: Vec<Vec<String>>,
    /// The operation's security requirements (its own or the document's): alternatives, each
    /// the names of the schemes it needs together; an empty one allows anonymous calls.
    pub security: Vec<Vec<String>>,
}

/// The result of a conversion.
#[derive(Clone, Debug)]
pub struct Conversion {
    /// The tools, in document order.
    pub tools: Vec<ConvertedTool>,
    /// What happened along the way.
    pub report: Report,
}

/// What a conversion saw, made, left out and skipped.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Report {
    /// Operations in the document.
    pub operations: usize,
    /// Operations the filters left out.
    pub filtered_out: usize,
    /// Operations that could not be converted, with the reason.
    pub skipped: Vec<Skipped>,
    /// Things worth a look that did not stop anything.
    pub warnings: Vec<String>,
}

/// An operation that was not converted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// `METHOD /path (operationId)`, or the path for a broken path item.
    pub operation: String,
    /// Why.
    pub reason: OperationError,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.operation, self.reason)
    }
}

/// Why one operation could not be converted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OperationError {
    /// A schema or reference in the named part of the operation.
    #[error("{at}: {source}")]
    Schema {
        /// Which part: `parameter `id``, `request body`, `response 200`, ...
        at: String,
        /// What is wrong.
        source: SchemaError,
    },
    /// A malformed parameter.
    #[error("parameter `{name}`: {reason}")]
    InvalidParameter {
        /// The parameter name (`?` when it has none).
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A header parameter whose name HTTP cannot carry (a space, `:`, a non-ASCII letter...).
    /// The operation is skipped, as for any malformed parameter: leaving the header out could
    /// change what the call means (a precondition or idempotency key the API documents).
    // `http`'s `InvalidHeaderName` says nothing more than this, and is neither `Clone` nor `Eq`.
    #[error("parameter `{name}`: not a valid HTTP header name")]
    InvalidHeaderName {
        /// The name as the document writes it.
        name: String,
    },
    /// A schema that stays invalid JSON Schema after its refused keywords are dropped.
    #[error("{which}: {source}")]
    InvalidSchema {
        /// `inputSchema` or `outputSchema`.
        which: &'static str,
        /// What is wrong.
        source: InvalidSchema,
    },
    /// An operation under a key that is not an HTTP method (3.2 `additionalOperations`).
    #[error("`{method}` is not an HTTP method")]
    InvalidMethod {
        /// The key, upper case.
        method: String,
    },
}

/// Why a conversion failed as a whole.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConvertError {
    /// The filters contradict each other.
    #[error(transparent)]
    Filter(#[from] FilterError),
    /// A name in the tool-name map is not a valid tool name.
    #[error("tool name for {operation}: {source}")]
    InvalidToolName {
        /// The map key.
        operation: String,
        /// The rejected name.
        source: InvalidToolName,
    },
    /// Two entries of the tool-name map give the same name.
    #[error("tool name {name} is given to more than one operation: {}", operations.join(", "))]
    DuplicateToolName {
        /// The name.
        name: String,
        /// The operations that claim it.
        operations: Vec<String>,
    },
    /// A server variable set that the document does not declare or allow.
    #[error(transparent)]
    ServerVariable(#[from] ServerVariableError),
    /// Strict mode, and something would have been skipped or ignored.
    #[error("strict mode: {}", problems.join("; "))]
    Strict {
        /// Each skip or unmatched entry, as text.
        problems: Vec<String>,
    },
}

/// Converts the document's operations into tools.
///
/// ```
/// use apimcp::openapi::{ConvertOptions, OpenApiDocument, convert};
///
/// let document = OpenApiDocument::parse(r#"
/// openapi: 3.1.0
/// info: {title: Items, version: "1"}
/// paths:
///   /items:
///     get: {operationId: list_items, responses: {"200": {description: OK}}}
///   /items/{id}:
///     trace: {responses: {"200": {description: OK}}}
/// "#, "items.yaml")?;
/// let conversion = convert(&document, &ConvertOptions::default())?;
/// let names: Vec<&str> = conversion.tools.iter().map(|t| t.tool.name.as_str()).collect();
/// assert_eq!(names, ["list_items", "trace_items_id"]);
/// assert_eq!(conversion.report.operations, 2);
/// assert!(conversion.report.skipped.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn convert(document: &OpenApiDocument, options: &ConvertOptions) -> Result<Conversion, ConvertError> {
    let (tools, report) = convert_each(document, options, |tool| tool)?;
    Ok(Conversion { tools, report })
}

/// [`convert`], each tool handed to `each` as soon as it is made: a server that keeps a lean
/// form of each tool never holds all of a big API's schemas as `Value`s at once.
pub(crate) fn convert_each<T>(
    document: &OpenApiDocument,
    options: &ConvertOptions,
    each: impl FnMut(ConvertedTool) -> T,
) -> Result<(Vec<T>, Report), ConvertError> {
    options.filter.validate()?;
    let doc = document.value();
    servers::check_values(doc, &options.server_variables)?;
    let (ops, bad_items) = operation::operations(doc);
    let names = tool_names(&ops, &options.tool_names)?;
    let mut report = Report::with_bad_path_items(ops.len(), bad_items);
    let mut schemas = Schemas::new(doc, options.max_schema_defs_bytes);
    let tools = convert_selected(&mut schemas, &ops, &names, options, &mut report, each);
    let unmatched = unmatched_entries(&ops, &names, options);
    if options.strict {
        check_strict(&report, &unmatched)?;
    }
    report.warnings = unmatched;
    report.warnings.extend(schemas.take_warnings());
    Ok((tools, report))
}

impl Report {
    /// A report on `operations` operations that starts with the path items that could not be
    /// read.
    fn with_bad_path_items(operations: usize, bad_items: Vec<BadPathItem>) -> Self {
        let skipped = bad_items.into_iter().map(|b| Skipped {
            operation: b.path,
            reason: b.error,
        });
        Self {
            operations,
            skipped: skipped.collect(),
            ..Self::default()
        }
    }
}

/// The tools of the operations the filters select; the others are counted or reported.
fn convert_selected<'d, T>(
    schemas: &mut Schemas<'d>,
    ops: &[Operation<'d>],
    names: &[ToolName],
    options: &ConvertOptions,
    report: &mut Report,
    mut each: impl FnMut(ConvertedTool) -> T,
) -> Vec<T> {
    let describe = options.describe();
    let mut tools = Vec::new();
    for (op, name) in ops.iter().zip(names) {
        if !selected(op, name, &options.filter) {
            report.filtered_out += 1;
            continue;
        }
        match convert_operation(schemas, op, name.clone(), describe, &options.server_variables) {
            Ok(tool) => tools.push(each(tool)),
            Err(reason) => report.skipped.push(Skipped {
                operation: describe_operation(op),
                reason,
            }),
        }
    }
    tools
}

/// Filters match an operation by operationId or tool name, and by tag.
fn selected(op: &Operation<'_>, name: &ToolName, filter: &OperationFilter) -> bool {
    let known: Vec<&str> = op.operation_id().into_iter().chain([name.as_str()]).collect();
    filter.selects(&known, &op.tags())
}

/// Strict mode: a skip or an entry that matches nothing fails the conversion.
fn check_strict(report: &Report, unmatched: &[String]) -> Result<(), ConvertError> {
    if report.skipped.is_empty() && unmatched.is_empty() {
        return Ok(());
    }
    let problems = report.skipped.iter().map(Skipped::to_string);
    Err(ConvertError::Strict {
        problems: problems.chain(unmatched.iter().cloned()).collect(),
    })
}

fn describe_operation(op: &Operation<'_>) -> String {
    match op.operation_id() {
        Some(id) => format!("{} ({id})", op.label()),
        None => op.label(),
    }
}

fn convert_operation<'d>(
    schemas: &mut Schemas<'d>,
    op: &Operation<'d>,
    name: ToolName,
    describe: DescribeOptions,
    server_variables: &BTreeMap<String, String>,
) -> Result<ConvertedTool, OperationError> {
    let method = http_method(&op.method)?;
    let mut inputs = inputs::build(schemas, op.item, op.op)?;
    let output = operation::output_schema(schemas, op.op)?;
    let (mut output_schema, output_wrapped) = output.map_or((None, false), |(schema, wrapped)| (Some(schema), wrapped));
    made_valid(schemas, &name, "inputSchema", &mut inputs.schema)?;
    if let Some(output) = &mut output_schema {
        made_valid(schemas, &name, "outputSchema", output)?;
    }
    let title = op.summary();
    Ok(ConvertedTool {
        tool: Tool {
            name,
            title: title.map(str::to_owned),
            description: describe::describe(schemas.doc(), &op.method, op.path, op.op, describe),
            input_schema: inputs.schema,
            output_schema,
            annotations: operation::annotations(&op.method, title),
        },
        binding: Binding {
            method,
            path: op.path.to_owned(),
            params: inputs.params,
            body: inputs.body,
            output_wrapped,
            server: servers::first_server(op.op.get("servers"), server_variables)
                .or_else(|| servers::first_server(op.item.get("servers"), server_variables)),
        },
        operation_id: op.operation_id().map(str::to_owned),
        tags: op.tags().into_iter().map(str::to_owned).collect(),
        required_scopes: operation::required_scopes(schemas.doc(), op.op),
        security: operation::security_requirements(schemas.doc(), op.op),
    })
}

/// `schema` made valid 2020-12 ([`valid::make_valid`]), what was dropped told in a warning.
/// Its `$defs` were made valid once each, when normalised ([`Schemas`]), so they are left out
/// of the check: the meta-schema does not follow `$ref`s, so the result is the same.
fn made_valid(
    schemas: &mut Schemas<'_>,
    tool: &ToolName,
    which: &'static str,
    schema: &mut serde_json::Map<String, serde_json::Value>,
) -> Result<(), OperationError> {
    let defs = schema.shift_remove("$defs");
    let mut value = serde_json::Value::Object(std::mem::take(schema));
    let result = valid::make_valid(&mut value);
    if let serde_json::Value::Object(map) = value {
        *schema = map;
    }
    if let Some(defs) = defs {
        schema.insert("$defs".to_owned(), defs);
    }
    let dropped = result.map_err(|source| OperationError::InvalidSchema { which, source })?;
    if !dropped.is_empty() {
        schemas.warn(format!(
            "{tool}: {which}: the document's values at {} are not valid JSON Schema and were left out",
            dropped.join(", ")
        ));
    }
    Ok(())
}

/// The operation's method, checked once here so that no call meets a method HTTP cannot send.
fn http_method(method: &str) -> Result<Method, OperationError> {
    Method::from_bytes(method.as_bytes()).map_err(|_| OperationError::InvalidMethod {
        method: method.to_owned(),
    })
}

/// A name for every operation, filtered or not, so a name never depends on the filters:
/// user-chosen names first, then operationIds (or method and path) made valid and unique in
/// document order.
fn tool_names(ops: &[Operation<'_>], chosen: &BTreeMap<String, String>) -> Result<Vec<ToolName>, ConvertError> {
    let mut names = names::Names::default();
    let fixed = chosen_names(ops, chosen, &mut names)?;
    let names = ops
        .iter()
        .zip(fixed)
        .map(|(op, fixed)| fixed.unwrap_or_else(|| generated_name(op, &mut names)))
        .collect();
    Ok(names)
}

/// The user's name for each operation the name map names, reserved so that no generated name
/// takes it.
fn chosen_names(
    ops: &[Operation<'_>],
    chosen: &BTreeMap<String, String>,
    names: &mut names::Names,
) -> Result<Vec<Option<ToolName>>, ConvertError> {
    let mut claimed: HashMap<&str, Vec<String>> = HashMap::new();
    let mut fixed = Vec::with_capacity(ops.len());
    for op in ops {
        let Some(entry) = name_map_entry(op, chosen) else {
            fixed.push(None);
            continue;
        };
        let wanted = &chosen[&entry];
        let name = ToolName::new(wanted.clone()).map_err(|source| ConvertError::InvalidToolName {
            operation: entry.clone(),
            source,
        })?;
        names.reserve(wanted);
        claimed.entry(wanted).or_default().push(entry);
        fixed.push(Some(name));
    }
    no_name_twice(claimed)?;
    Ok(fixed)
}

/// An error when two name-map entries give the same name.
fn no_name_twice(claimed: HashMap<&str, Vec<String>>) -> Result<(), ConvertError> {
    match claimed.into_iter().find(|(_, ops)| ops.len() > 1) {
        Some((name, operations)) => Err(ConvertError::DuplicateToolName {
            name: name.to_owned(),
            operations,
        }),
        None => Ok(()),
    }
}

/// The name-map key that names `op`: its operationId, else `METHOD /path`.
fn name_map_entry(op: &Operation<'_>, chosen: &BTreeMap<String, String>) -> Option<String> {
    let label = op.label();
    let key = op.operation_id().filter(|id| chosen.contains_key(*id));
    key.map(str::to_owned).or(chosen.contains_key(&label).then_some(label))
}

/// The operationId, or method and path, made a valid name no other tool has.
fn generated_name(op: &Operation<'_>, names: &mut names::Names) -> ToolName {
    let base = match op.operation_id() {
        Some(id) => id.to_owned(),
        None => names::from_method_and_path(&op.method, op.path),
    };
    ToolName::generated(names.unique(&base, "operation"))
}

/// Filter and name-map entries that match no operation.
fn unmatched_entries(ops: &[Operation<'_>], names: &[ToolName], options: &ConvertOptions) -> Vec<String> {
    let mut known: Vec<&str> = names.iter().map(ToolName::as_str).collect();
    known.extend(ops.iter().filter_map(Operation::operation_id));
    let tags: Vec<&str> = ops.iter().flat_map(Operation::tags).collect();
    let mut warnings: Vec<String> = options
        .filter
        .unmatched(&known, &tags)
        .into_iter()
        .map(|(option, entry)| format!("{option}: {entry:?} matches no operation"))
        .collect();
    let labels: Vec<String> = ops.iter().map(Operation::label).collect();
    let unknown_keys = options
        .tool_names
        .keys()
        .filter(|key| !known.contains(&key.as_str()) && !labels.contains(key));
    warnings.extend(unknown_keys.map(|key| format!("tool name map: {key:?} matches no operation")));
    warnings
}

#[cfg(test)]
mod tests;
