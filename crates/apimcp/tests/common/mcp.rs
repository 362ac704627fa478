//! A small MCP client that talks to an axum `Router` in-process (`oneshot`: no socket).
#![allow(dead_code, unreachable_pub)]

use apimcp::test_helpers::{self as rpc, Reply};
use axum::Router;
use axum::body::Body;
use http::Request;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

pub struct Client {
    router: Router,
    path: String,
    session: Option<String>,
    headers: Vec<(String, String)>,
}

impl Client {
    pub fn new(router: Router, path: &str) -> Self {
        Self {
            router,
            path: path.to_owned(),
            session: None,
            headers: Vec::new(),
        }
    }

    /// Sends this header on every request.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub async fn post(&self, body: Value) -> Reply {
        let mut request = Request::post(&self.path)
            .header("host", "localhost")
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream");
        if let Some(session) = &self.session {
            request = request.header("mcp-session-id", session);
        }
        for (k, v) in &self.headers {
            request = request.header(k, v);
        }
        let request = request.body(Body::from(body.to_string())).expect("request");
        let response = self.router.clone().oneshot(request).await.expect("infallible");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// initialize + initialized.
    pub async fn initialize(&mut self) -> Value {
        let reply = self.post(rpc::initialize()).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        self.session = reply
            .headers
            .get("mcp-session-id")
            .map(|v| v.to_str().expect("ascii").to_owned());
        let ack = self.post(rpc::initialized()).await;
        assert_eq!(ack.status, 202, "{}", ack.body);
        reply.json()["result"].clone()
    }

    pub fn session(&self) -> Option<&str> {
        self.session.as_deref()
    }

    pub async fn tool_names(&self) -> Vec<String> {
        let reply = self.post(rpc::tools_list(2)).await;
        reply.json()["result"]["tools"]
            .as_array()
            .expect("tools")
            .iter()
            .filter_map(|t| t["name"].as_str().map(str::to_owned))
            .collect()
    }

    pub async fn tools(&self) -> Vec<Value> {
        let reply = self.post(rpc::tools_list(2)).await;
        reply.json()["result"]["tools"].as_array().cloned().unwrap_or_default()
    }

    /// The `result` of a tools/call.
    pub async fn call(&self, tool: &str, arguments: Value) -> Value {
        let reply = self.post(rpc::tools_call(3, tool, arguments)).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let message = reply.json();
        assert!(message.get("error").is_none(), "{message}");
        message["result"].clone()
    }

    /// Opens the session's GET stream and returns the first JSON-RPC message on it.
    pub async fn next_notification(&self, within: std::time::Duration) -> Option<Value> {
        let request = Request::get(&self.path)
            .header("host", "localhost")
            .header("accept", "text/event-stream")
            .header("mcp-session-id", self.session.as_deref().unwrap_or(""))
            .body(Body::empty())
            .expect("request");
        let mut messages = self.stream(request).await;
        tokio::time::timeout(within, messages.recv()).await.ok().flatten()
    }

    /// Sends `request` and reads its answer as an event stream: each JSON-RPC message as it
    /// comes (the channel closes when the stream ends).
    pub async fn stream(&self, request: Request<Body>) -> tokio::sync::mpsc::UnboundedReceiver<Value> {
        let response = self.router.clone().oneshot(request).await.expect("infallible");
        let mut body = response.into_body();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut text = String::new();
            while let Some(Ok(frame)) = body.frame().await {
                let Some(data) = frame.data_ref() else { continue };
                text.push_str(&String::from_utf8_lossy(data));
                while let Some(end) = text.find("\n\n") {
                    let event: String = text.drain(..end + 2).collect();
                    let data = event
                        .lines()
                        .filter_map(|l| l.strip_prefix("data:"))
                        .collect::<String>();
                    if let Ok(message) = serde_json::from_str::<Value>(data.trim())
                        && tx.send(message).is_err()
                    {
                        return;
                    }
                }
            }
        });
        rx
    }
}
