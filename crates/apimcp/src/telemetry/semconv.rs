//! The attribute and metric names apimcp emits, each written once. They follow the
//! OpenTelemetry semantic conventions for MCP (development status, in the GenAI conventions)
//! and for HTTP clients; the Rust semconv crate marks the MCP ones experimental, so they are
//! spelled here rather than taken from it.

/// The JSON-RPC method of an MCP request (`tools/call`).
pub const MCP_METHOD_NAME: &str = "mcp.method.name";
/// The `Mcp-Session-Id` of a stateful session.
pub const MCP_SESSION_ID: &str = "mcp.session.id";
/// The MCP revision the request was made under (`MCP-Protocol-Version`).
pub const MCP_PROTOCOL_VERSION: &str = "mcp.protocol.version";
/// The JSON-RPC `id` of a request, as text (`7`, `req-7`).
pub const JSONRPC_REQUEST_ID: &str = "jsonrpc.request.id";
/// The tool a `tools/call` names.
pub const GEN_AI_TOOL_NAME: &str = "gen_ai.tool.name";
/// The prompt a `prompts/get` names.
pub const GEN_AI_PROMPT_NAME: &str = "gen_ai.prompt.name";
/// The resource a `resources/read`, `resources/subscribe` or `resources/unsubscribe` names.
pub const MCP_RESOURCE_URI: &str = "mcp.resource.uri";
/// What the model asked for: [`EXECUTE_TOOL`] for a tool call, unset otherwise.
pub const GEN_AI_OPERATION_NAME: &str = "gen_ai.operation.name";
/// The `gen_ai.operation.name` of a tool call.
pub const EXECUTE_TOOL: &str = "execute_tool";
/// `tcp` for HTTP (Streamable HTTP, legacy SSE), `pipe` for stdio.
pub const NETWORK_TRANSPORT: &str = "network.transport";
/// Why a request or call failed: `tool_error`, a JSON-RPC error code, a dispatch failure.
pub const ERROR_TYPE: &str = "error.type";
/// The JSON-RPC error code of a failed request, as text (`-32602`).
pub const RPC_RESPONSE_STATUS_CODE: &str = "rpc.response.status_code";
/// The `error.type` of a tool result with `isError: true`.
pub const TOOL_ERROR: &str = "tool_error";
/// The HTTP method of the API request.
pub const HTTP_REQUEST_METHOD: &str = "http.request.method";
/// The API request's URL: the path template unless arguments may be recorded, and never a
/// query value (an API key may ride there).
pub const URL_FULL: &str = "url.full";
/// The operation's path template (`/items/{item_id}`).
pub const URL_TEMPLATE: &str = "url.template";
/// The API's answer.
pub const HTTP_RESPONSE_STATUS_CODE: &str = "http.response.status_code";

/// Histogram of MCP request durations, in seconds.
pub const MCP_SERVER_OPERATION_DURATION: &str = "mcp.server.operation.duration";
/// Histogram of API request durations, in seconds (the HTTP client convention).
pub const HTTP_CLIENT_REQUEST_DURATION: &str = "http.client.request.duration";
/// The live MCP sessions (stateful Streamable HTTP and legacy SSE).
pub const MCP_SERVER_SESSIONS: &str = "mcp.server.sessions";
/// Requests the bearer check refused, by status and reason.
pub const AUTH_REFUSALS: &str = "apimcp.auth.refusals";
/// What the OAuth proxy's endpoints answered, by endpoint and outcome.
pub const OAUTH_PROXY_OUTCOMES: &str = "apimcp.oauth_proxy.outcomes";
/// Requests refused by the hostile-traffic limits, by cause.
pub const REQUESTS_REJECTED: &str = "apimcp.requests.rejected";

/// A refusal's HTTP status (`401`, `403`).
pub const STATUS: &str = "status";
/// Why: an auth refusal's reason, a rejection's cause.
pub const REASON: &str = "reason";
/// The OAuth proxy endpoint (`authorize`, `token`, `register`, `callback`).
pub const ENDPOINT: &str = "endpoint";
/// The outcome of an OAuth proxy request (`ok` or an OAuth error code).
pub const OUTCOME: &str = "outcome";
