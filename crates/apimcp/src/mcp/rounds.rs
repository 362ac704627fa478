//! Multi-round-trip requests (SEP-2322) in rmcp's types: a 2026-07-28 `tools/call`,
//! `prompts/get` or `resources/read` opens its round (the sealed state and the client's
//! answers), runs the handler through the round's driver, and ends complete, with an
//! `InputRequiredResult`, or with `-32021` for a capability the client did not declare.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use rmcp::RoleServer;
use rmcp::model::{ClientCapabilities, ErrorData, InputRequiredResult, InputResponses};
use rmcp::service::RequestContext;
use serde_json::{Value, json};

use crate::server::{Binding, Context, McpServer, Round, Rounds};

/// The first revision without server-to-client requests.
const MRTR_REVISION: &str = "2026-07-28";

/// How a request ended.
pub(super) enum Outcome<T> {
    Done(T),
    InputRequired(InputRequiredResult),
}

/// What a request brought for its round.
pub(super) struct Echoed {
    pub(super) method: &'static str,
    pub(super) target: String,
    pub(super) arguments: Value,
    pub(super) responses: Option<InputResponses>,
    pub(super) state: Option<String>,
}

/// Whether the request speaks 2026-07-28 or later (its `_meta`, or its session's).
pub(super) fn is_stateless_era(context: &RequestContext<RoleServer>) -> bool {
    context.protocol_version().is_some_and(|v| v.as_str() >= MRTR_REVISION)
}

/// Runs `handler` (given `cx`) as one round: directly for a session's request, else with the
/// round opened from what the request echoed.
pub(super) async fn run<T, F, Fut>(
    server: &McpServer,
    context: &RequestContext<RoleServer>,
    mut cx: Context,
    echoed: Echoed,
    handler: F,
) -> Result<Outcome<T>, ErrorData>
where
    F: FnOnce(Context) -> Fut,
    Fut: Future<Output = T>,
{
    if !is_stateless_era(context) {
        return Ok(Outcome::Done(handler(cx).await));
    }
    let binding = Binding::new(cx.principal(), echoed.method, &echoed.target, &echoed.arguments);
    let earlier = match &echoed.state {
        Some(state) => server
            .open_request_state(&binding, state)
            .map_err(|e| ErrorData::invalid_params(e.to_string(), None))?,
        None => BTreeMap::new(),
    };
    let capabilities = context
        .client_capabilities()
        .and_then(|c| serde_json::to_value(c).ok())
        .unwrap_or_else(|| json!({}));
    let responses = echoed.responses.unwrap_or_default();
    let rounds = Rounds::new(capabilities, earlier, responses.into_iter().collect())
        .map_err(|e| ErrorData::invalid_params(e.to_string(), None))?;
    let rounds = Arc::new(rounds);
    cx.rounds = Some(rounds.clone());
    match rounds.drive(handler(cx)).await {
        Round::Done(done) => Ok(Outcome::Done(done)),
        Round::MissingCapability(capability) => Err(missing_capability(capability)),
        Round::InputRequired { requests, answers } => {
            let state = server.seal_request_state(&binding, answers);
            input_required(&requests, state).map(Outcome::InputRequired)
        }
    }
}

fn input_required(
    requests: &BTreeMap<String, crate::server::InputRequest>,
    state: String,
) -> Result<InputRequiredResult, ErrorData> {
    let requests: serde_json::Map<String, Value> = requests
        .iter()
        .map(|(key, request)| (key.clone(), wire_request(request)))
        .collect();
    let json = json!({"resultType": "input_required", "inputRequests": requests, "requestState": state});
    serde_json::from_value(json)
        .map_err(|e| ErrorData::internal_error(format!("the handler asked an invalid question: {e}"), None))
}

/// An `inputRequests` entry; a form elicitation says so, as sessions' requests do.
fn wire_request(request: &crate::server::InputRequest) -> Value {
    let mut json = request.to_json();
    if request.method() == "elicitation/create"
        && let Some(params) = json.get_mut("params").and_then(Value::as_object_mut)
    {
        params.entry("mode").or_insert_with(|| json!("form"));
    }
    json
}

/// `-32021` naming the capability as a `ClientCapabilities` object (`{"sampling": {}}`).
fn missing_capability(capability: &str) -> ErrorData {
    let required: ClientCapabilities = serde_json::from_value(json!({ capability: {} })).unwrap_or_default();
    ErrorData::missing_required_client_capability(required)
}
