//! OpenAPI → MCP tools. Pure: no I/O, no async, no web framework.
//!
//! [`convert`] turns an [`OpenApiDocument`] into one [`ConvertedTool`] per selected operation
//! (the MCP [`Tool`] and the [`Binding`] that turns a call into an HTTP request) and a
//! [`Report`] of what was skipped and why. One bad operation never stops the others; with
//! [`ConvertOptions::strict`] any skip is an error.

mod describe;
mod document;
mod filter;
mod inputs;
mod names;
mod operation;
mod schema;
mod swagger2;

use std::collections::{BTreeMap, HashMap};
use std::fmt;

pub use document::{DocumentError, OpenApiDocument, SpecVersion};
pub use filter::{FilterError, OperationFilter};
pub use schema::SchemaError;

use crate::tool::{Binding, InvalidToolName, Tool, ToolName};
use describe::DescribeOptions;
use operation::Operation;
use schema::Schemas;

/// How operations become tools.
#[derive(Clone, Debug)]
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
}

/// The default for [`ConvertOptions::max_schema_defs_bytes`].
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
        }
    }
}

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
    /// Strict mode, and something would have been skipped or ignored.
    #[error("strict mode: {}", problems.join("; "))]
    Strict {
        /// Each skip or unmatched entry, as text.
        problems: Vec<String>,
    },
}

/// Converts the document's operations into tools.
pub fn convert(document: &OpenApiDocument, options: &ConvertOptions) -> Result<Conversion, ConvertError> {
    options.filter.validate()?;
    let doc = document.value();
    let (ops, bad_items) = operation::operations(doc);
    let names = tool_names(&ops, &options.tool_names)?;
    let mut report = Report {
        operations: ops.len(),
        ..Report::default()
    };
    report.skipped.extend(bad_items.into_iter().map(|b| Skipped {
        operation: b.path,
        reason: b.error,
    }));
    let describe = DescribeOptions {
        all_responses: options.describe_all_responses,
        full_response_schema: options.describe_full_response_schema,
        omit_responses: options.omit_responses,
        max_len: options.max_description_len,
    };
    let mut schemas = Schemas::new(doc, options.max_schema_defs_bytes);
    let mut tools = Vec::new();
    for (op, name) in ops.iter().zip(&names) {
        let id = op.operation_id();
        let known: Vec<&str> = id.into_iter().chain([name.as_str()]).collect();
        if !options.filter.selects(&known, &op.tags()) {
            report.filtered_out += 1;
            continue;
        }
        match convert_operation(&mut schemas, op, name.clone(), describe) {
            Ok(tool) => tools.push(tool),
            Err(reason) => report.skipped.push(Skipped {
                operation: describe_operation(op),
                reason,
            }),
        }
    }
    let unmatched = unmatched_entries(&ops, &names, options);
    if options.strict && (!report.skipped.is_empty() || !unmatched.is_empty()) {
        let problems = report.skipped.iter().map(Skipped::to_string);
        return Err(ConvertError::Strict {
            problems: problems.chain(unmatched).collect(),
        });
    }
    report.warnings = unmatched;
    report.warnings.extend(schemas.take_warnings());
    Ok(Conversion { tools, report })
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
) -> Result<ConvertedTool, OperationError> {
    let inputs = inputs::build(schemas, op.item, op.op)?;
    let output = operation::output_schema(schemas, op.op)?;
    let description = describe::describe(schemas.doc(), &op.method, op.path, op.op, describe);
    let title = op.summary();
    let (output_schema, output_wrapped) = match output {
        Some((schema, wrapped)) => (Some(schema), wrapped),
        None => (None, false),
    };
    Ok(ConvertedTool {
        tool: Tool {
            name,
            title: title.map(str::to_owned),
            description,
            input_schema: inputs.schema,
            output_schema,
            annotations: operation::annotations(&op.method, title),
        },
        binding: Binding {
            method: op.method.clone(),
            path: op.path.to_owned(),
            params: inputs.params,
            body: inputs.body,
            output_wrapped,
        },
        operation_id: op.operation_id().map(str::to_owned),
        tags: op.tags().into_iter().map(str::to_owned).collect(),
        required_scopes: operation::required_scopes(schemas.doc(), op.op),
    })
}

/// A name for every operation, filtered or not, so a name never depends on the filters:
/// user-chosen names first, then operationIds (or method and path) made valid and unique in
/// document order.
fn tool_names(ops: &[Operation<'_>], chosen: &BTreeMap<String, String>) -> Result<Vec<ToolName>, ConvertError> {
    let mut names = names::Names::default();
    let mut claimed: HashMap<&str, Vec<String>> = HashMap::new();
    let mut fixed: Vec<Option<ToolName>> = Vec::with_capacity(ops.len());
    for op in ops {
        let label = op.label();
        let key = op.operation_id().filter(|id| chosen.contains_key(*id));
        let entry = key.map(str::to_owned).or(chosen.contains_key(&label).then_some(label));
        let Some(entry) = entry else {
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
    if let Some((name, operations)) = claimed.into_iter().find(|(_, ops)| ops.len() > 1) {
        return Err(ConvertError::DuplicateToolName {
            name: name.to_owned(),
            operations,
        });
    }
    Ok(ops
        .iter()
        .zip(fixed)
        .map(|(op, fixed)| {
            fixed.unwrap_or_else(|| {
                let base = match op.operation_id() {
                    Some(id) => id.to_owned(),
                    None => names::from_method_and_path(&op.method, op.path),
                };
                ToolName::generated(names.unique(&base, "operation"))
            })
        })
        .collect())
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
    for key in options.tool_names.keys() {
        if !known.contains(&key.as_str()) && !labels.contains(key) {
            warnings.push(format!("tool name map: {key:?} matches no operation"));
        }
    }
    warnings
}

#[cfg(test)]
mod tests;
