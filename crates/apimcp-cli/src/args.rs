//! What the user typed: clap definitions, kept apart from the settings the program runs with.

use clap::{Args, Parser, Subcommand};

/// Serve any HTTP API described by OpenAPI as an MCP server.
#[derive(Debug, Parser)]
#[command(name = "apimcp", version, about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
    /// How logs are written to stderr: human-readable text, or one JSON object a line with the
    /// trace and span ids.
    #[arg(long, global = true, env = "APIMCP_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub(crate) log_format: LogFormat,
    /// Show the API request's real path (with the call's path arguments) in its span's
    /// `url.full`, rather than the path template. Query values stay hidden.
    #[arg(long, global = true, env = "APIMCP_TRACE_PATH_ARGUMENTS")]
    pub(crate) trace_path_arguments: bool,
}

/// The format of the logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object a line.
    Json,
}

// Parsed once per run: the size difference between variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Print the MCP tools generated from an OpenAPI document.
    Tools(ToolsArgs),
    /// Serve an HTTP API as an MCP server.
    Serve(ServeArgs),
    /// Serve the bundled items API, its REST endpoints and MCP on one listener.
    Demo(DemoArgs),
    /// Validate a configuration file without serving.
    Check(CheckArgs),
}

/// Arguments of `apimcp serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The OpenAPI document: a file (JSON or YAML) or an http(s) URL.
    #[arg(long, env = "APIMCP_SPEC", value_name = "FILE|URL")]
    pub(crate) spec: Option<String>,
    /// The API's base URL; tool calls go there. Default: the document's first server. A URL
    /// without a path keeps the document's base path (`servers[0]`, or `basePath`).
    #[arg(long, env = "APIMCP_UPSTREAM", value_name = "URL")]
    pub(crate) upstream: Option<String>,
    /// A value for a variable of the document's server URLs, in place of its default:
    /// `NAME=VALUE` (repeatable; a variable with an `enum` takes one of its values).
    #[arg(long = "server-variable", value_name = "NAME=VALUE")]
    pub(crate) server_variables: Vec<String>,
    /// Seconds one tool call may take.
    #[arg(long, env = "APIMCP_TIMEOUT_SECS", value_name = "SECS")]
    pub(crate) timeout_secs: Option<u64>,
    /// Incoming headers passed on to the API (comma-separated; default: authorization).
    #[arg(long, value_delimiter = ',', env = "APIMCP_FORWARD_HEADERS")]
    pub(crate) forward_headers: Option<Vec<String>>,
    /// A header sent to the API on every call: `NAME=VALUE`, the value `env:VAR` to read it
    /// from the environment (repeatable; `User-Agent` replaces apimcp's own).
    #[arg(long = "header", value_name = "NAME=VALUE")]
    pub(crate) headers: Vec<String>,
    /// The credential for one of the document's security schemes: `SCHEME=env:VAR` (an API
    /// key, a bearer token, or `user:password` for basic; repeatable).
    #[arg(long = "credential", value_name = "SCHEME=VALUE")]
    pub(crate) credentials: Vec<String>,
    /// How tools/list offers the tools: full (every tool), search (search_tools,
    /// describe_tools and call_tool) or auto (search above --catalog-auto-above tools).
    #[arg(long, env = "APIMCP_CATALOG", value_name = "full|search|auto")]
    pub(crate) catalog: Option<String>,
    /// With --catalog auto: search mode above this many tools (default 64).
    #[arg(long, env = "APIMCP_CATALOG_AUTO_ABOVE", value_name = "N")]
    pub(crate) catalog_auto_above: Option<usize>,
    /// In search mode, a tool that stays listed beside search_tools, describe_tools and
    /// call_tool (repeatable, or comma-separated).
    #[arg(
        long = "pin-tool",
        value_name = "NAME",
        value_delimiter = ',',
        env = "APIMCP_PIN_TOOLS"
    )]
    pub(crate) pin_tools: Option<Vec<String>>,
    /// How tools use the response's outputSchema: advisory (default: relaxed where documents
    /// drift, a drifting response served as text), strict (a drifting response is a tool
    /// error) or off (no outputSchema).
    #[arg(long, env = "APIMCP_OUTPUT_SCHEMA", value_name = "strict|advisory|off")]
    pub(crate) output_schema: Option<String>,
    /// Serve MCP on stdin and stdout instead of HTTP.
    #[arg(long)]
    pub(crate) stdio: bool,
    #[command(flatten)]
    pub(crate) server: ServerArgs,
    #[command(flatten)]
    pub(crate) convert: ConvertArgs,
}

/// Arguments of `apimcp demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    #[command(flatten)]
    pub(crate) server: ServerArgs,
}

/// Arguments of `apimcp check`.
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// The TOML configuration file.
    #[arg(long, env = "APIMCP_CONFIG", value_name = "FILE")]
    pub(crate) config: String,
}

/// How the MCP endpoint is served (shared by `serve` and `demo`).
#[derive(Debug, Args)]
pub(crate) struct ServerArgs {
    /// The TOML configuration file (flags and environment override it).
    #[arg(long, env = "APIMCP_CONFIG", value_name = "FILE")]
    pub(crate) config: Option<String>,
    /// Address to listen on.
    #[arg(long, env = "APIMCP_LISTEN", value_name = "ADDR")]
    pub(crate) listen: Option<String>,
    /// Path of the Streamable HTTP endpoint.
    #[arg(long, env = "APIMCP_PATH", value_name = "PATH")]
    pub(crate) path: Option<String>,
    /// Path of the legacy HTTP+SSE endpoint (messages go to PATH/messages/).
    #[arg(long, env = "APIMCP_SSE_PATH", value_name = "PATH")]
    pub(crate) sse_path: Option<String>,
    /// No sessions: any replica answers any request.
    #[arg(long, env = "APIMCP_STATELESS")]
    pub(crate) stateless: bool,
    /// The URL clients use to reach this server (its host is allowed by the host check).
    #[arg(long, env = "APIMCP_PUBLIC_URL", value_name = "URL")]
    pub(crate) public_url: Option<String>,
    /// More host names clients may use (comma-separated).
    #[arg(long, value_delimiter = ',', env = "APIMCP_ALLOWED_HOSTS")]
    pub(crate) allowed_hosts: Option<Vec<String>>,
    /// The server name clients show.
    #[arg(long, env = "APIMCP_NAME")]
    pub(crate) name: Option<String>,
    /// Instructions for the model.
    #[arg(long, env = "APIMCP_INSTRUCTIONS")]
    pub(crate) instructions: Option<String>,
    /// Send every request through rmcp's service (for comparison; the fast path answers
    /// plain tool calls with the same logic and checks).
    #[arg(long, env = "APIMCP_NO_FAST_PATH")]
    pub(crate) no_fast_path: bool,
    /// Seconds an idle session lives.
    #[arg(long, env = "APIMCP_SESSION_IDLE_SECS", value_name = "SECS")]
    pub(crate) session_idle_secs: Option<u64>,
    /// Seconds a client has to send a request's headers (and a keep-alive connection may idle).
    #[arg(long, env = "APIMCP_HEADER_TIMEOUT_SECS", value_name = "SECS")]
    pub(crate) header_timeout_secs: Option<u64>,
    /// Live sessions at most (idle ones are evicted for new ones; beyond, 503).
    #[arg(long, env = "APIMCP_MAX_SESSIONS", value_name = "N")]
    pub(crate) max_sessions: Option<usize>,
    /// Live sessions one client address may hold (default: half of max_sessions).
    #[arg(long, env = "APIMCP_MAX_SESSIONS_PER_ADDRESS", value_name = "N")]
    pub(crate) max_sessions_per_address: Option<usize>,
    /// Open connections at most.
    #[arg(long, env = "APIMCP_MAX_CONNECTIONS", value_name = "N")]
    pub(crate) max_connections: Option<usize>,
    /// Open connections from one client address at most.
    #[arg(long, env = "APIMCP_MAX_CONNECTIONS_PER_ADDRESS", value_name = "N")]
    pub(crate) max_connections_per_address: Option<usize>,
    /// Address of a separate listener for /metrics (Prometheus text), /healthz and /readyz
    /// (off by default).
    #[arg(long, env = "APIMCP_METRICS_LISTEN", value_name = "ADDR")]
    pub(crate) metrics_listen: Option<String>,
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
    #[arg(long, default_value_t = DEFAULT_FETCH_TIMEOUT_SECS, value_name = "SECS")]
    pub(crate) fetch_timeout_secs: u64,
}

/// How long a document given as a URL may take, unless `--fetch-timeout-secs` says otherwise.
pub(crate) const DEFAULT_FETCH_TIMEOUT_SECS: u64 = 30;

/// `apimcp serve` with no flags: how `check` reads the `APIMCP_*` variables, with the parser
/// that reads them for `serve`.
#[derive(Parser)]
struct EnvironmentOnly {
    #[command(flatten)]
    args: ServeArgs,
}

impl ServeArgs {
    /// What the environment says, as `apimcp serve` would read it with no flags given.
    pub(crate) fn from_environment() -> Self {
        EnvironmentOnly::parse_from(["apimcp"]).args
    }
}
