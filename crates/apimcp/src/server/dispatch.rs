//! Where tool calls go: the user's own tower service in-process (`oneshot`, no socket), or a
//! remote base URL through reqwest (redirects never followed). Both bounded by a timeout.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Body;
use axum::response::IntoResponse;
use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use tower::util::BoxCloneSyncService;
use tower::{Service, ServiceExt};

/// The most a response body may hold before the call fails.
pub const RESPONSE_LIMIT: usize = 32 * 1024 * 1024;

/// The operation's own server (its `servers` entry), put on a request for the remote
/// dispatcher; in-process calls ignore it.
#[derive(Clone, Debug)]
pub(crate) struct OperationServer(pub(crate) String);

/// A response, fully read.
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

/// Why a request got no response.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DispatchError {
    #[error("the API did not answer within {} s", .0.as_secs_f64())]
    Timeout(Duration),
    #[error("the API could not be reached: {0}")]
    Unreachable(String),
    #[error("the API's response was larger than {RESPONSE_LIMIT} bytes")]
    TooLarge,
}

impl DispatchError {
    /// The failure's `error.type`.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Self::Timeout(_) => "timeout",
            Self::Unreachable(_) => "unreachable",
            Self::TooLarge => "response_too_large",
        }
    }
}

type InProcessService = BoxCloneSyncService<Request<Body>, http::Response<Body>, Infallible>;

/// The HTTP side of the server.
#[derive(Clone)]
pub(crate) enum Dispatcher {
    InProcess(InProcessService),
    Remote {
        client: reqwest::Client,
        base: reqwest::Url,
    },
}

impl Dispatcher {
    /// Any tower service that answers HTTP requests, such as an axum `Router`.
    pub(crate) fn in_process<S>(service: S) -> Self
    where
        S: Service<Request<Body>, Error = Infallible> + Clone + Send + Sync + 'static,
        S::Response: IntoResponse,
        S::Future: Send + 'static,
    {
        let service = service.map_response(IntoResponse::into_response);
        Self::InProcess(BoxCloneSyncService::new(service))
    }

    /// `send` bounds every call; the client itself has no timeout, so there is one clock.
    pub(crate) fn remote(base: reqwest::Url) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self::Remote { client, base })
    }

    /// The base URL a remote request goes to (the operation's own server, else the API's), as
    /// telemetry shows it; none in-process.
    pub(crate) fn base(&self, request: &Request<Bytes>) -> Option<String> {
        let Self::Remote { base, .. } = self else {
            return None;
        };
        match request.extensions().get::<OperationServer>() {
            Some(server) => crate::upstream::operation_base(base, &server.0)
                .ok()
                .map(|u| u.to_string()),
            None => Some(base.to_string()),
        }
    }

    pub(crate) async fn send(&self, request: Request<Bytes>, timeout: Duration) -> Result<Reply, DispatchError> {
        match tokio::time::timeout(timeout, self.send_unbounded(request)).await {
            Ok(result) => result,
            Err(_) => Err(DispatchError::Timeout(timeout)),
        }
    }

    async fn send_unbounded(&self, request: Request<Bytes>) -> Result<Reply, DispatchError> {
        match self {
            Self::InProcess(service) => {
                let (parts, body) = request.into_parts();
                let request = Request::from_parts(parts, Body::from(body));
                let Ok(response) = service.clone().oneshot(request).await;
                let (parts, body) = response.into_parts();
                let body = axum::body::to_bytes(body, RESPONSE_LIMIT)
                    .await
                    .map_err(|_| DispatchError::TooLarge)?;
                Ok(Reply {
                    status: parts.status,
                    headers: parts.headers,
                    body,
                })
            }
            Self::Remote { client, base } => send_remote(client, base, request).await,
        }
    }
}

/// `base` + the request's path and query: a base of `http://h/api/` and `/items/1?x=2` give
/// `http://h/api/items/1?x=2`.
pub(crate) fn remote_url(base: &reqwest::Url, path_and_query: &str) -> Result<reqwest::Url, DispatchError> {
    let joined = format!("{}{}", base.as_str().trim_end_matches('/'), path_and_query);
    // The query is left out of the message: it may carry an API key.
    let shown = joined.split('?').next().unwrap_or_default().to_owned();
    reqwest::Url::parse(&joined).map_err(|e| DispatchError::Unreachable(format!("bad URL {shown}: {e}")))
}

async fn send_remote(
    client: &reqwest::Client,
    base: &reqwest::Url,
    request: Request<Bytes>,
) -> Result<Reply, DispatchError> {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let url = match parts.extensions.get::<OperationServer>() {
        Some(server) => {
            let own = crate::upstream::operation_base(base, &server.0)
                .map_err(|e| DispatchError::Unreachable(e.to_string()))?;
            remote_url(&own, path)?
        }
        None => remote_url(base, path)?,
    };
    let response = client
        .request(parts.method, url)
        .headers(parts.headers)
        .body(body)
        .send()
        .await
        .map_err(|e| unreachable_error(&e.without_url()))?;
    let status = response.status();
    let headers = response.headers().clone();
    if response.content_length().is_some_and(|n| n > RESPONSE_LIMIT as u64) {
        return Err(DispatchError::TooLarge);
    }
    let body = read_limited(response).await?;
    Ok(Reply { status, headers, body })
}

async fn read_limited(mut response: reqwest::Response) -> Result<Bytes, DispatchError> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| unreachable_error(&e.without_url()))?
    {
        if body.len() + chunk.len() > RESPONSE_LIMIT {
            return Err(DispatchError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(body))
}

/// The error with its causes, which is where reqwest says "connection refused". Callers drop
/// the URL first: its query may carry an API key.
fn unreachable_error(error: &reqwest::Error) -> DispatchError {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    DispatchError::Unreachable(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_urls_keep_the_base_path() {
        let base = reqwest::Url::parse("http://h.test/api/v1/").expect("url");
        let url = remote_url(&base, "/items/a%2Fb?q=1").expect("joins");
        assert_eq!(url.as_str(), "http://h.test/api/v1/items/a%2Fb?q=1");
    }

    #[tokio::test]
    async fn in_process_calls_reach_the_service() {
        let service = tower::service_fn(|req: Request<Body>| async move {
            let text = format!("{} {}", req.method(), req.uri());
            Ok::<_, Infallible>(http::Response::new(Body::from(text)))
        });
        let dispatcher = Dispatcher::in_process(service);
        let request = Request::get("/items/1?x=2").body(Bytes::new()).expect("request");
        let reply = dispatcher.send(request, Duration::from_secs(1)).await.expect("reply");
        assert_eq!(reply.body.as_ref(), b"GET /items/1?x=2");
    }

    #[tokio::test]
    async fn a_slow_service_times_out() {
        let service = tower::service_fn(|_req: Request<Body>| async move {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok::<_, Infallible>(http::Response::new(Body::empty()))
        });
        let dispatcher = Dispatcher::in_process(service);
        let request = Request::get("/").body(Bytes::new()).expect("request");
        let err = dispatcher.send(request, Duration::from_millis(50)).await.err();
        assert!(matches!(err, Some(DispatchError::Timeout(_))));
    }
}
