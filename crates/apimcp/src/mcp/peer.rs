//! The client side of one rmcp session as a [`ClientChannel`]: what handlers use to talk back
//! (progress, logging, sampling, elicitation), and what list-changed notifications go through.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use rmcp::RoleServer;
use rmcp::model::{
    ClientResult, CreateMessageRequestParams, ElicitRequest, ElicitRequestParams, LoggingMessageNotificationParam,
    ProgressNotificationParam, ResourceUpdatedNotificationParam, ServerRequest,
};
use rmcp::service::Peer;
use serde_json::{Value, json};

use crate::server::{BoxFuture, ClientChannel, ClientError, LogLevel};

/// The client of one session, for handlers (progress, logging, sampling, elicitation) and for
/// list-changed notifications.
pub(super) struct PeerChannel {
    pub(super) peer: Peer<RoleServer>,
    pub(super) capabilities: Value,
    pub(super) level: Arc<Mutex<Option<LogLevel>>>,
    /// The resources the session subscribed to (`resources/subscribe`).
    pub(super) subscriptions: Subscriptions,
}

/// A session's resource subscriptions, shared by its handler (which changes them) and its
/// channel (which reads them).
pub(super) type Subscriptions = Arc<Mutex<HashSet<String>>>;

/// The parameters of a `request` that do not make its MCP type.
fn invalid(request: &'static str) -> impl FnOnce(serde_json::Error) -> ClientError {
    move |source| ClientError::InvalidParams { request, source }
}

/// A `request` the client (or the connection to it) failed.
fn failed<E: std::error::Error + Send + Sync + 'static>(request: &'static str) -> impl FnOnce(E) -> ClientError {
    move |e| ClientError::Failed {
        request,
        source: Box::new(e),
    }
}

impl ClientChannel for PeerChannel {
    fn progress(
        &self,
        token: Value,
        progress: f64,
        total: Option<f64>,
        message: Option<String>,
    ) -> BoxFuture<Result<(), ClientError>> {
        let peer = self.peer.clone();
        Box::pin(async move {
            let params: ProgressNotificationParam = serde_json::from_value(
                json!({"progressToken": token, "progress": progress, "total": total, "message": message}),
            )
            .map_err(invalid("progress"))?;
            peer.notify_progress(params).await.map_err(failed("progress"))
        })
    }

    fn log(&self, level: LogLevel, logger: Option<String>, data: Value) -> BoxFuture<Result<(), ClientError>> {
        let peer = self.peer.clone();
        let wanted = *self.level.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        Box::pin(async move {
            if wanted.is_none_or(|wanted| level < wanted) {
                return Ok(());
            }
            let params: LoggingMessageNotificationParam =
                serde_json::from_value(json!({"level": level, "logger": logger, "data": data}))
                    .map_err(invalid("logging"))?;
            peer.notify_logging_message(params).await.map_err(failed("logging"))
        })
    }

    fn sample(&self, params: Value) -> BoxFuture<Result<Value, ClientError>> {
        let peer = self.peer.clone();
        Box::pin(async move {
            let params: CreateMessageRequestParams = serde_json::from_value(params).map_err(invalid("sampling"))?;
            let result = peer.create_message(params).await.map_err(failed("sampling"))?;
            serde_json::to_value(result).map_err(failed("sampling"))
        })
    }

    fn elicit(&self, mut params: Value) -> BoxFuture<Result<Value, ClientError>> {
        let peer = self.peer.clone();
        Box::pin(async move {
            if let Value::Object(map) = &mut params {
                map.entry("mode").or_insert_with(|| json!("form"));
            }
            let params: ElicitRequestParams = serde_json::from_value(params).map_err(invalid("elicitation"))?;
            match peer
                .send_request(ServerRequest::ElicitRequest(ElicitRequest::new(params)))
                .await
            {
                Ok(ClientResult::ElicitResult(result)) => serde_json::to_value(result).map_err(failed("elicitation")),
                Ok(_) => Err(ClientError::UnexpectedAnswer { request: "elicitation" }),
                Err(e) => Err(failed("elicitation")(e)),
            }
        })
    }

    fn list_roots(&self) -> BoxFuture<Result<Value, ClientError>> {
        let peer = self.peer.clone();
        Box::pin(async move {
            let result = peer.list_roots().await.map_err(failed("roots"))?;
            serde_json::to_value(result).map_err(failed("roots"))
        })
    }

    fn client_capabilities(&self) -> Value {
        if self.capabilities.is_null() {
            return self
                .peer
                .peer_info()
                .and_then(|info| serde_json::to_value(&info.capabilities).ok())
                .unwrap_or(Value::Null);
        }
        self.capabilities.clone()
    }

    fn tools_changed(&self) -> BoxFuture<Result<(), ClientError>> {
        let peer = self.peer.clone();
        Box::pin(async move {
            peer.notify_tool_list_changed()
                .await
                .map_err(failed("tools/list_changed"))
        })
    }

    fn resource_updated(&self, uri: &str) -> BoxFuture<Result<(), ClientError>> {
        let subscribed = self
            .subscriptions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(uri);
        let peer = self.peer.clone();
        let uri = uri.to_owned();
        Box::pin(async move {
            if !subscribed {
                return Ok(());
            }
            peer.notify_resource_updated(ResourceUpdatedNotificationParam::new(uri))
                .await
                .map_err(failed("resources/updated"))
        })
    }

    fn is_closed(&self) -> bool {
        self.peer.is_transport_closed()
    }
}
