//! What users add next to the derived tools: custom tools, resources, resource templates,
//! prompts and completions, with a [`Context`] for talking back to the client during a
//! request (progress, logging, sampling, elicitation). All in apimcp's own types; the MCP
//! adapter translates.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use http::HeaderMap;
use serde::Serialize;
use serde_json::{Map, Value};

use super::rounds::{InputRequest, Rounds};
use crate::call::{ArgumentValidator, Content, ResourceContents, ToolOutput};
use crate::tool::{JsonObject, Tool, ToolAnnotations, ToolName};

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Why the client could not do what a handler asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The request has no client to talk back to (a call outside any session).
    #[error("no client connection")]
    NotConnected,
    /// The client did not declare the capability the request needs.
    #[error("the client does not support {capability}")]
    Unsupported {
        /// The MCP capability, such as `sampling` or `elicitation`.
        capability: &'static str,
    },
    /// The parameters do not make a valid MCP request.
    #[error("invalid {request} parameters: {source}")]
    InvalidParams {
        /// What was being sent (`sampling`, `elicitation`, ...).
        request: &'static str,
        /// Why the parameters were refused.
        source: serde_json::Error,
    },
    /// The client answered with an error, or the connection failed.
    #[error("the client could not answer the {request} request: {source}")]
    Failed {
        /// What was being sent.
        request: &'static str,
        /// What the protocol layer reported.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The client answered with a result of another kind than the request asks for.
    #[error("the client answered the {request} request with another kind of result")]
    UnexpectedAnswer {
        /// What was being sent.
        request: &'static str,
    },
}

/// Why a resource or prompt handler could not answer. The message reaches the client as the
/// JSON-RPC error's message, so it should say what the client can act on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HandlerError {
    /// No such resource (JSON-RPC `-32002`).
    #[error("Resource not found: {uri}")]
    NotFound {
        /// The URI that was asked for.
        uri: String,
    },
    /// The arguments or the URI are not acceptable (JSON-RPC `-32602`).
    #[error("{message}")]
    InvalidParams {
        /// What is wrong with them.
        message: String,
    },
    /// The handler failed (JSON-RPC `-32603`).
    #[error("{message}")]
    Failed {
        /// What went wrong.
        message: String,
    },
}

impl HandlerError {
    /// A failure with this message.
    pub fn failed(message: impl Into<String>) -> Self {
        Self::Failed {
            message: message.into(),
        }
    }

    /// Refused arguments, with this message.
    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self::InvalidParams {
            message: message.into(),
        }
    }
}

/// The client side of one request, as the MCP adapter provides it.
pub(crate) trait ClientChannel: Send + Sync {
    fn progress(
        &self,
        token: Value,
        progress: f64,
        total: Option<f64>,
        message: Option<String>,
    ) -> BoxFuture<Result<(), ClientError>>;
    fn log(&self, level: LogLevel, logger: Option<String>, data: Value) -> BoxFuture<Result<(), ClientError>>;
    fn sample(&self, params: Value) -> BoxFuture<Result<Value, ClientError>>;
    fn elicit(&self, params: Value) -> BoxFuture<Result<Value, ClientError>>;
    fn list_roots(&self) -> BoxFuture<Result<Value, ClientError>>;
    fn client_capabilities(&self) -> Value;
    fn tools_changed(&self) -> BoxFuture<Result<(), ClientError>>;
    /// Tells the client the resource `uri` changed, if it subscribed to it.
    fn resource_updated(&self, uri: &str) -> BoxFuture<Result<(), ClientError>>;
    fn is_closed(&self) -> bool;
}

/// MCP log levels (RFC 5424), lowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum LogLevel {
    Debug,
    Info,
    Notice,
    Warning,
    Error,
    Critical,
    Alert,
    Emergency,
}

/// One request's view of the client: its HTTP headers and a way to talk back.
#[derive(Clone, Default)]
pub struct Context {
    pub(crate) channel: Option<Arc<dyn ClientChannel>>,
    pub(crate) headers: Option<HeaderMap>,
    pub(crate) progress_token: Option<Value>,
    pub(crate) principal: Option<crate::auth::Principal>,
    /// A 2026-07-28 request: questions end the round instead of going to the client.
    pub(crate) rounds: Option<Arc<Rounds>>,
    /// What the request's span records: its id, revision and `_meta` trace context.
    pub(crate) trace: crate::telemetry::RequestTrace,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("progress_token", &self.progress_token)
            .finish_non_exhaustive()
    }
}

impl Context {
    /// The HTTP headers of the MCP request (none on stdio).
    pub fn headers(&self) -> Option<&HeaderMap> {
        self.headers.as_ref()
    }

    /// Who is calling, when auth is on (subject, client id, scopes; never the token).
    pub fn principal(&self) -> Option<&crate::auth::Principal> {
        self.principal.as_ref()
    }

    /// The client's declared capabilities, as JSON (`{"sampling": {}, ...}`).
    pub fn client_capabilities(&self) -> Value {
        self.channel.as_ref().map_or(Value::Null, |c| c.client_capabilities())
    }

    /// Sends `notifications/progress` if the client asked for progress; otherwise nothing.
    pub async fn progress(&self, progress: f64, total: Option<f64>, message: Option<&str>) -> Result<(), ClientError> {
        match (&self.channel, &self.progress_token) {
            (Some(channel), Some(token)) => {
                channel
                    .progress(token.clone(), progress, total, message.map(str::to_owned))
                    .await
            }
            _ => Ok(()),
        }
    }

    /// Sends a `notifications/message` log entry.
    pub async fn log(&self, level: LogLevel, logger: Option<&str>, data: Value) -> Result<(), ClientError> {
        match &self.channel {
            Some(channel) => channel.log(level, logger.map(str::to_owned), data).await,
            None => Ok(()),
        }
    }

    /// Asks the client's model (`sampling/createMessage`); `params` and the result are the
    /// MCP JSON (`{"messages": [...], "maxTokens": 100}`). See [`input`](Self::input) for how
    /// this works with 2026-07-28 clients.
    pub async fn sample(&self, params: Value) -> Result<Value, ClientError> {
        self.ask(None, InputRequest::sample(params)).await
    }

    /// Asks the user (`elicitation/create`); `params` and the result are the MCP JSON
    /// (`{"message": "...", "requestedSchema": {...}}` → `{"action": "accept", "content": {...}}`).
    /// See [`input`](Self::input) for how this works with 2026-07-28 clients.
    pub async fn elicit(&self, params: Value) -> Result<Value, ClientError> {
        self.ask(None, InputRequest::elicit(params)).await
    }

    /// Asks for the client's roots (`roots/list`): `{"roots": [{"uri": ..., "name": ...}]}`.
    pub async fn list_roots(&self) -> Result<Value, ClientError> {
        self.ask(None, InputRequest::list_roots()).await
    }

    /// Asks the client `request`, under `key`, and returns its answer (the MCP result JSON).
    ///
    /// In a session (2024-11-05 to 2025-11-25) the request goes to the client now. A
    /// 2026-07-28 request has no channel back (SEP-2322): the first time, the question is
    /// recorded and this never returns; the round ends with an `InputRequiredResult` (every
    /// question asked at that point, so `tokio::join!` asks several at once) and a sealed
    /// `requestState`; when the client sends the request again with the answers, the handler
    /// runs again from the start and this returns the answer. Keep what happens before a
    /// question free of side effects, or idempotent: it runs once per round. Keys name the
    /// questions on the wire; `elicit`, `sample` and `list_roots` number theirs in the order
    /// they are asked. A client that did not declare the capability gets JSON-RPC `-32021`.
    pub async fn input(&self, key: &str, request: InputRequest) -> Result<Value, ClientError> {
        self.ask(Some(key), request).await
    }

    async fn ask(&self, key: Option<&str>, request: InputRequest) -> Result<Value, ClientError> {
        if let Some(rounds) = &self.rounds {
            let key = key.map_or_else(|| rounds.next_key(&request), str::to_owned);
            return rounds.ask(&key, request).await;
        }
        let channel = self.require(request.capability())?;
        match request.method() {
            "elicitation/create" => channel.elicit(request.params().clone()).await,
            "sampling/createMessage" => channel.sample(request.params().clone()).await,
            _ => channel.list_roots().await,
        }
    }

    fn require(&self, capability: &'static str) -> Result<&Arc<dyn ClientChannel>, ClientError> {
        let channel = self.channel.as_ref().ok_or(ClientError::NotConnected)?;
        if channel.client_capabilities().get(capability).is_none() {
            return Err(ClientError::Unsupported { capability });
        }
        Ok(channel)
    }
}

type ToolHandler = Arc<dyn Fn(Map<String, Value>, Context) -> BoxFuture<ToolOutput> + Send + Sync>;
type ResourceHandler =
    Arc<dyn Fn(String, Context) -> BoxFuture<Result<Vec<ResourceContents>, HandlerError>> + Send + Sync>;
type PromptHandler =
    Arc<dyn Fn(Map<String, Value>, Context) -> BoxFuture<Result<PromptResult, HandlerError>> + Send + Sync>;
type Completer = Arc<dyn Fn(CompletionRequest) -> BoxFuture<Vec<String>> + Send + Sync>;

/// A tool written by hand, served next to the derived ones.
#[derive(Clone)]
pub(crate) struct CustomTool {
    pub(crate) tool: Tool,
    pub(crate) validator: Option<Arc<ArgumentValidator>>,
    pub(crate) handler: ToolHandler,
}

/// A resource the server lists and reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    /// Its URI.
    pub uri: String,
    /// Its name.
    pub name: String,
    /// What it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Its media type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
}

/// A family of resources named by an RFC 6570 level-1 template (`test://items/{id}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceTemplate {
    /// The template.
    pub uri_template: String,
    /// Its name.
    pub name: String,
    /// What it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The media type of its resources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
}

/// A prompt the server offers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Prompt {
    /// Its name.
    pub name: String,
    /// What it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Its arguments.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub arguments: Vec<PromptArgument>,
}

/// One prompt argument.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PromptArgument {
    /// Its name.
    pub name: String,
    /// What it means.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether it must be given.
    pub required: bool,
}

/// Who speaks a prompt message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum Role {
    User,
    Assistant,
}

/// One message of a prompt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PromptMessage {
    /// Who speaks.
    pub role: Role,
    /// What is said.
    pub content: Content,
}

/// What `prompts/get` returns.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PromptResult {
    /// A description of the filled-in prompt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The messages.
    pub messages: Vec<PromptMessage>,
}

/// What a `completion/complete` request asks about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompletionRequest {
    /// The prompt name or resource template URI.
    pub reference: String,
    /// The argument being completed.
    pub argument: String,
    /// What the user typed so far.
    pub value: String,
}

/// Everything added by hand.
#[derive(Clone, Default)]
pub(crate) struct Extensions {
    pub(crate) tools: Vec<CustomTool>,
    pub(crate) resources: Vec<(Resource, ResourceHandler)>,
    pub(crate) templates: Vec<(ResourceTemplate, ResourceHandler)>,
    pub(crate) prompts: Vec<(Prompt, PromptHandler)>,
    pub(crate) completer: Option<Completer>,
}

impl Extensions {
    pub(crate) fn tool(&self, name: &str) -> Option<&CustomTool> {
        self.tools.iter().find(|t| t.tool.name.as_str() == name)
    }

    pub(crate) fn has_resources(&self) -> bool {
        !self.resources.is_empty() || !self.templates.is_empty()
    }

    /// The handler for `uri`: an exact resource first, then the first matching template.
    pub(crate) fn resource_handler(&self, uri: &str) -> Option<&ResourceHandler> {
        let exact = self.resources.iter().find(|(r, _)| r.uri == uri).map(|(_, h)| h);
        exact.or_else(|| {
            self.templates
                .iter()
                .find(|(t, _)| template_matches(&t.uri_template, uri))
                .map(|(_, h)| h)
        })
    }

    pub(crate) fn prompt(&self, name: &str) -> Option<&(Prompt, PromptHandler)> {
        self.prompts.iter().find(|(p, _)| p.name == name)
    }
}

/// Whether `uri` fits `template`, each `{var}` matching one or more characters other than `/`.
pub(crate) fn template_matches(template: &str, uri: &str) -> bool {
    let mut rest = uri;
    let mut parts = template.split('{');
    let Some(first) = parts.next() else {
        return false;
    };
    let Some(after) = rest.strip_prefix(first) else {
        return false;
    };
    rest = after;
    for part in parts {
        let Some((_, literal)) = part.split_once('}') else {
            return false;
        };
        let end = if literal.is_empty() {
            rest.find('/').unwrap_or(rest.len())
        } else {
            match rest.find(literal) {
                Some(i) => i,
                None => return false,
            }
        };
        if end == 0 || rest[..end].contains('/') {
            return false;
        }
        rest = &rest[end + literal.len()..];
    }
    rest.is_empty()
}

/// The builder side: adding extensions.
impl super::McpServerBuilder {
    /// A custom tool. `input_schema` is its JSON Schema (an object schema); arguments are
    /// checked against it before `handler` runs.
    pub fn tool<F, Fut>(mut self, name: &str, description: &str, input_schema: Value, handler: F) -> Self
    where
        F: Fn(Map<String, Value>, Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ToolOutput> + Send + 'static,
    {
        let schema: JsonObject = match input_schema {
            Value::Object(map) => map,
            _ => serde_json::from_value(serde_json::json!({"type": "object"})).unwrap_or_default(),
        };
        match ToolName::new(name) {
            Ok(tool_name) => {
                let validator = ArgumentValidator::new(&schema).ok().map(Arc::new);
                let tool = Tool {
                    name: tool_name,
                    title: None,
                    description: description.to_owned(),
                    input_schema: schema,
                    output_schema: None,
                    annotations: ToolAnnotations::default(),
                };
                let handler: ToolHandler = Arc::new(move |args, cx| Box::pin(handler(args, cx)));
                self.extensions.tools.push(CustomTool {
                    tool,
                    validator,
                    handler,
                });
            }
            Err(e) => self.errors.push(e.into()),
        }
        self
    }

    /// A resource, read by `handler` (given the URI).
    pub fn resource<F, Fut>(mut self, resource: Resource, handler: F) -> Self
    where
        F: Fn(String, Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<ResourceContents>, HandlerError>> + Send + 'static,
    {
        self.extensions
            .resources
            .push((resource, Arc::new(move |uri, cx| Box::pin(handler(uri, cx)))));
        self
    }

    /// A resource template; `handler` reads any URI that matches it.
    pub fn resource_template<F, Fut>(mut self, template: ResourceTemplate, handler: F) -> Self
    where
        F: Fn(String, Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<ResourceContents>, HandlerError>> + Send + 'static,
    {
        self.extensions
            .templates
            .push((template, Arc::new(move |uri, cx| Box::pin(handler(uri, cx)))));
        self
    }

    /// A prompt, filled in by `handler` from its arguments.
    pub fn prompt<F, Fut>(mut self, prompt: Prompt, handler: F) -> Self
    where
        F: Fn(Map<String, Value>, Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<PromptResult, HandlerError>> + Send + 'static,
    {
        self.extensions
            .prompts
            .push((prompt, Arc::new(move |args, cx| Box::pin(handler(args, cx)))));
        self
    }

    /// Argument completion for prompts and resource templates.
    pub fn completion<F, Fut>(mut self, completer: F) -> Self
    where
        F: Fn(CompletionRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<String>> + Send + 'static,
    {
        self.extensions.completer = Some(Arc::new(move |request| Box::pin(completer(request))));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_one_segment_per_variable() {
        let t = "test://template/{id}/data";
        assert!(template_matches(t, "test://template/123/data"));
        assert!(!template_matches(t, "test://template/1/2/data"));
        assert!(!template_matches(t, "test://template//data"));
        assert!(!template_matches(t, "test://template/123/other"));
        assert!(template_matches("x://{a}", "x://b"));
        assert!(!template_matches("x://{a}", "x://b/c"));
        assert!(template_matches("x://static", "x://static"));
    }
}
