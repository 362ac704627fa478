//! A `subscriptions/listen` stream (2026-07-28, SEP-2575) as a [`ClientChannel`] the server
//! tells about changes, like a session's client. rmcp's sink applies the client's filter and
//! tags each notification with the subscription id; the stream carries notifications only, so
//! the channel asks nothing of the client.

use rmcp::service::SubscriptionSink;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::server::{BoxFuture, ClientChannel, ClientError, LogLevel};

/// One open listen stream.
pub(super) struct ListenChannel {
    pub(super) sink: SubscriptionSink,
    /// Cancelled when the stream ends.
    pub(super) closed: CancellationToken,
}

/// A stream is for notifications: requests and per-request messages have no place on it.
fn not_here<T: Send + 'static>() -> BoxFuture<Result<T, ClientError>> {
    Box::pin(async { Err(ClientError::NotConnected) })
}

impl ClientChannel for ListenChannel {
    fn progress(&self, _: Value, _: f64, _: Option<f64>, _: Option<String>) -> BoxFuture<Result<(), ClientError>> {
        not_here()
    }

    fn log(&self, _: LogLevel, _: Option<String>, _: Value) -> BoxFuture<Result<(), ClientError>> {
        not_here()
    }

    fn sample(&self, _: Value) -> BoxFuture<Result<Value, ClientError>> {
        not_here()
    }

    fn elicit(&self, _: Value) -> BoxFuture<Result<Value, ClientError>> {
        not_here()
    }

    fn list_roots(&self) -> BoxFuture<Result<Value, ClientError>> {
        not_here()
    }

    fn client_capabilities(&self) -> Value {
        Value::Null
    }

    /// Sent when the client asked for tool list changes; otherwise nothing.
    fn tools_changed(&self) -> BoxFuture<Result<(), ClientError>> {
        let sink = self.sink.clone();
        Box::pin(async move {
            if sink.accepted().tools_list_changed != Some(true) {
                return Ok(());
            }
            sink.notify_tool_list_changed().await.map_err(|e| ClientError::Failed {
                request: "tools/list_changed",
                source: Box::new(e),
            })
        })
    }

    /// Sent when the client listed `uri` in its resource subscriptions; otherwise nothing.
    fn resource_updated(&self, uri: &str) -> BoxFuture<Result<(), ClientError>> {
        let sink = self.sink.clone();
        let uri = uri.to_owned();
        Box::pin(async move {
            let wanted = sink.accepted().resource_subscriptions.as_ref();
            if !wanted.is_some_and(|uris| uris.contains(&uri)) {
                return Ok(());
            }
            sink.notify_resource_updated(uri)
                .await
                .map_err(|e| ClientError::Failed {
                    request: "resources/updated",
                    source: Box::new(e),
                })
        })
    }

    fn is_closed(&self) -> bool {
        self.closed.is_cancelled()
    }
}
