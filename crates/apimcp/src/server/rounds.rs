//! Multi-round-trip requests (SEP-2322, MCP 2026-07-28): a handler that needs the client
//! (elicitation, sampling, roots) does not send it a request; the round ends with an
//! `InputRequiredResult` listing what it needs, and the client sends the original request
//! again with `inputResponses` and the sealed `requestState`.
//!
//! Handlers are written as for a session: each [`Context::input`](super::Context::input) (and
//! `elicit`, `sample`, `list_roots`) either returns the client's answer, when this round or an
//! earlier one (from the state) brought it, or records the question and never returns. The
//! driver then drops the handler and answers with every question recorded in that poll, so
//! `tokio::join!` of several asks them together. The handler runs again from the start on the
//! next round: work before the first question is done once per round.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};
use tokio::sync::Notify;

use super::ClientError;

/// A request the server needs the client to answer before it can finish (an `inputRequests`
/// entry): `elicitation/create`, `sampling/createMessage` or `roots/list`, with its MCP params.
#[derive(Clone, Debug, PartialEq)]
pub struct InputRequest {
    method: &'static str,
    params: Value,
}

impl InputRequest {
    /// Ask the user (`elicitation/create`): `{"message": "...", "requestedSchema": {...}}`.
    pub fn elicit(params: Value) -> Self {
        Self {
            method: "elicitation/create",
            params,
        }
    }

    /// Ask the client's model (`sampling/createMessage`): `{"messages": [...], "maxTokens": n}`.
    pub fn sample(params: Value) -> Self {
        Self {
            method: "sampling/createMessage",
            params,
        }
    }

    /// Ask for the client's roots (`roots/list`).
    pub fn list_roots() -> Self {
        Self {
            method: "roots/list",
            params: json!({}),
        }
    }

    /// The MCP method.
    pub fn method(&self) -> &'static str {
        self.method
    }

    /// The MCP params.
    pub fn params(&self) -> &Value {
        &self.params
    }

    /// The client capability the request needs.
    pub(crate) fn capability(&self) -> &'static str {
        match self.method {
            "elicitation/create" => "elicitation",
            "sampling/createMessage" => "sampling",
            _ => "roots",
        }
    }

    /// The `inputRequests` entry: `{"method": ..., "params": ...}`.
    pub(crate) fn to_json(&self) -> Value {
        json!({"method": self.method, "params": self.params})
    }
}

/// One round of a 2026-07-28 request: the answers it may use, and the questions it asks.
pub(crate) struct Rounds {
    capabilities: Value,
    answers: BTreeMap<String, Value>,
    used: Mutex<BTreeSet<String>>,
    asked: Mutex<BTreeMap<String, InputRequest>>,
    missing: Mutex<Option<&'static str>>,
    next_key: AtomicUsize,
    wake: Notify,
}

/// How a round ended.
pub(crate) enum Round<T> {
    /// The handler finished.
    Done(T),
    /// The handler needs these answers first; `answers` are those it used so far.
    InputRequired {
        requests: BTreeMap<String, InputRequest>,
        answers: BTreeMap<String, Value>,
    },
    /// The handler needs a capability the client did not declare (JSON-RPC `-32021`).
    MissingCapability(&'static str),
}

/// Why `inputResponses` were refused before the handler ran.
#[derive(Debug, thiserror::Error)]
#[error("inputResponses[{key:?}] must be an object (the client's result for that request)")]
pub(crate) struct BadInputResponse {
    key: String,
}

impl Rounds {
    /// A round with `earlier` answers (from the opened state) and this round's `responses`,
    /// for a client that declared `capabilities`.
    pub(crate) fn new(
        capabilities: Value,
        earlier: BTreeMap<String, Value>,
        responses: BTreeMap<String, Value>,
    ) -> Result<Self, BadInputResponse> {
        if let Some((key, _)) = responses.iter().find(|(_, v)| !v.is_object()) {
            return Err(BadInputResponse { key: key.clone() });
        }
        let mut answers = earlier;
        answers.extend(responses);
        Ok(Self {
            capabilities,
            answers,
            used: Mutex::default(),
            asked: Mutex::default(),
            missing: Mutex::default(),
            next_key: AtomicUsize::new(0),
            wake: Notify::new(),
        })
    }

    /// A key for the next unnamed question (`elicit`, `sample`, `list_roots`): the same on
    /// every round as long as the handler asks in the same order.
    pub(crate) fn next_key(&self, request: &InputRequest) -> String {
        let n = self.next_key.fetch_add(1, Ordering::Relaxed);
        format!("{}-{n}", request.capability())
    }

    /// The answer to `key`, or, when there is none yet, the question recorded and a future that
    /// never finishes (the driver ends the round).
    pub(crate) async fn ask(&self, key: &str, request: InputRequest) -> Result<Value, ClientError> {
        let capability = request.capability();
        if self.capabilities.get(capability).is_none() {
            *lock(&self.missing) = Some(capability);
            self.wake.notify_one();
            return std::future::pending().await;
        }
        if let Some(answer) = self.answers.get(key) {
            lock(&self.used).insert(key.to_owned());
            return Ok(answer.clone());
        }
        lock(&self.asked).insert(key.to_owned(), request);
        self.wake.notify_one();
        std::future::pending().await
    }

    /// Runs `handler` until it finishes or stops on a question.
    pub(crate) async fn drive<T>(&self, handler: impl Future<Output = T>) -> Round<T> {
        let mut handler = std::pin::pin!(handler);
        loop {
            tokio::select! {
                biased;
                done = &mut handler => return Round::Done(done),
                () = self.wake.notified() => {
                    if let Some(round) = self.stopped() {
                        return round;
                    }
                }
            }
        }
    }

    fn stopped<T>(&self) -> Option<Round<T>> {
        if let Some(capability) = *lock(&self.missing) {
            return Some(Round::MissingCapability(capability));
        }
        let requests = std::mem::take(&mut *lock(&self.asked));
        if requests.is_empty() {
            return None;
        }
        let used = lock(&self.used);
        let answers = self
            .answers
            .iter()
            .filter(|(k, _)| used.contains(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Some(Round::InputRequired { requests, answers })
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Value {
        json!({"elicitation": {}, "sampling": {}, "roots": {}})
    }

    fn accept(name: &str) -> Value {
        json!({"action": "accept", "content": {"name": name}})
    }

    async fn two_questions(rounds: &Rounds) -> String {
        let first = rounds.ask("a", InputRequest::elicit(json!({}))).await.expect("a");
        let second = rounds.ask("b", InputRequest::elicit(json!({}))).await.expect("b");
        format!("{} {}", first["content"]["name"], second["content"]["name"])
    }

    #[tokio::test]
    async fn each_round_asks_the_next_question_and_keeps_the_answers_used() {
        let rounds = Rounds::new(all(), BTreeMap::new(), BTreeMap::new()).expect("valid");
        let Round::InputRequired { requests, answers } = rounds.drive(two_questions(&rounds)).await else {
            panic!("a question first");
        };
        assert_eq!(requests.keys().collect::<Vec<_>>(), ["a"]);
        assert!(answers.is_empty());

        let responses = BTreeMap::from([("a".to_owned(), accept("x")), ("extra".to_owned(), accept("y"))]);
        let rounds = Rounds::new(all(), answers, responses).expect("valid");
        let Round::InputRequired { requests, answers } = rounds.drive(two_questions(&rounds)).await else {
            panic!("then the second");
        };
        assert_eq!(requests.keys().collect::<Vec<_>>(), ["b"]);
        assert_eq!(
            answers.keys().collect::<Vec<_>>(),
            ["a"],
            "unused answers are not carried"
        );

        let rounds = Rounds::new(all(), answers, BTreeMap::from([("b".to_owned(), accept("z"))])).expect("valid");
        let Round::Done(text) = rounds.drive(two_questions(&rounds)).await else {
            panic!("then done");
        };
        assert_eq!(text, r#""x" "z""#);
    }

    #[tokio::test]
    async fn questions_asked_together_come_in_one_round() {
        let rounds = Rounds::new(all(), BTreeMap::new(), BTreeMap::new()).expect("valid");
        let both = async {
            tokio::join!(
                rounds.ask("e", InputRequest::elicit(json!({}))),
                rounds.ask("r", InputRequest::list_roots())
            )
        };
        let Round::InputRequired { requests, .. } = rounds.drive(both).await else {
            panic!("questions");
        };
        assert_eq!(requests.keys().collect::<Vec<_>>(), ["e", "r"]);
        assert_eq!(requests["r"].to_json(), json!({"method": "roots/list", "params": {}}));
    }

    #[tokio::test]
    async fn an_undeclared_capability_ends_the_request() {
        let rounds = Rounds::new(json!({"sampling": {}}), BTreeMap::new(), BTreeMap::new()).expect("valid");
        let round = rounds.drive(rounds.ask("e", InputRequest::elicit(json!({})))).await;
        assert!(matches!(round, Round::MissingCapability("elicitation")));
    }

    #[test]
    fn responses_must_be_objects() {
        let responses = BTreeMap::from([("a".to_owned(), json!(12345))]);
        assert!(Rounds::new(all(), BTreeMap::new(), responses).is_err());
    }
}
