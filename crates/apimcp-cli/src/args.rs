//! What the user typed: clap definitions, kept apart from the settings the program runs with.

use clap::{Args, Parser, Subcommand};

/// Serve any HTTP API described by OpenAPI as an MCP server.
#[derive(Debug, Parser)]
#[command(name = "apimcp", version, about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Print the MCP tools generated from an OpenAPI document.
    Tools(ToolsArgs),
}

/// Arguments of `apimcp tools`.
#[derive(Debug, Args)]
pub(crate) struct ToolsArgs {
    /// The OpenAPI document: a file (JSON or YAML) or an http(s) URL.
    #[arg(long, env = "APIMCP_SPEC", value_name = "FILE|URL")]
    pub(crate) spec: String,
    /// Print the tools as a JSON array, exactly as `tools/list` sends them.
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) convert: ConvertArgs,
}

/// How operations become tools (shared by every command that converts).
#[derive(Debug, Args)]
pub(crate) struct ConvertArgs {
    /// Fail if any operation would be skipped or any filter entry matches nothing.
    #[arg(long, env = "APIMCP_STRICT")]
    pub(crate) strict: bool,
    /// Only these operations (operationIds or tool names, comma-separated).
    #[arg(long, value_delimiter = ',', num_args = 0.., env = "APIMCP_INCLUDE_OPERATIONS")]
    pub(crate) include_operations: Option<Vec<String>>,
    /// Leave out these operations.
    #[arg(long, value_delimiter = ',', num_args = 0.., env = "APIMCP_EXCLUDE_OPERATIONS")]
    pub(crate) exclude_operations: Option<Vec<String>>,
    /// Only operations with one of these tags.
    #[arg(long, value_delimiter = ',', num_args = 0.., env = "APIMCP_INCLUDE_TAGS")]
    pub(crate) include_tags: Option<Vec<String>>,
    /// Leave out operations with one of these tags.
    #[arg(long, value_delimiter = ',', num_args = 0.., env = "APIMCP_EXCLUDE_TAGS")]
    pub(crate) exclude_tags: Option<Vec<String>>,
    /// Describe every response in tool descriptions, not only the success one.
    #[arg(long, env = "APIMCP_DESCRIBE_ALL_RESPONSES")]
    pub(crate) describe_all_responses: bool,
    /// Add the full response schema to tool descriptions.
    #[arg(long, env = "APIMCP_DESCRIBE_FULL_RESPONSE_SCHEMA")]
    pub(crate) describe_full_response_schema: bool,
    /// Leave the responses section out of tool descriptions.
    #[arg(long, env = "APIMCP_OMIT_RESPONSES")]
    pub(crate) omit_responses: bool,
    /// Cut tool descriptions to this many characters.
    #[arg(long, value_name = "CHARS", env = "APIMCP_MAX_DESCRIPTION_LEN")]
    pub(crate) max_description_len: Option<usize>,
    /// Name a tool yourself: `OPERATION_ID=NAME` or `"METHOD /path=NAME"` (repeatable).
    #[arg(long = "tool-name", value_name = "OPERATION=NAME")]
    pub(crate) tool_names: Vec<String>,
    /// Bytes of `$defs` a tool schema may carry before deeper definitions are left open
    /// (0: no limit).
    #[arg(long, value_name = "BYTES", default_value_t = apimcp::openapi::DEFAULT_MAX_SCHEMA_DEFS_BYTES, env = "APIMCP_MAX_SCHEMA_DEFS_BYTES")]
    pub(crate) max_schema_defs_bytes: usize,
    /// Seconds to wait for a document given as a URL.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub(crate) fetch_timeout_secs: u64,
}
