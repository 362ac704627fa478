//! The bearer check as a tower layer, in the shape of tower-http's `AsyncRequireAuthorization`:
//! it runs the user's checks and the token verifier, then either puts the [`Principal`] into
//! the request extensions or answers with a ready-made 401/403 carrying `WWW-Authenticate`.
//! It knows nothing of MCP, so it protects a plain REST router as well as an MCP endpoint;
//! per-call scopes are the MCP endpoint's own check ([`AuthState::refuse_call`]).

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::response::{IntoResponse, Response};
use futures::future::BoxFuture;
use http::{HeaderMap, Request, header};

use super::challenge::AuthRejection;
use super::metadata::{canonical_resource, metadata_urls};
use super::runtime::Auth;
use super::verifier::{BearerToken, Dependency, Principal, TokenVerifier, VerifyError};

/// Requires a valid bearer token on every request of the service it wraps.
///
/// The verifier's [`Principal`] goes into the request extensions for handlers to read (axum's
/// `Extension<Principal>`); a missing or refused token is answered 401 with an RFC 6750 / RFC
/// 9728 challenge, a token without the required scopes 403 `insufficient_scope`. Tokens are
/// taken from the `Authorization` header only, never from the query.
///
/// ```
/// use apimcp::auth::{RequireBearer, StaticTokens};
/// use axum::{Router, routing::get};
///
/// let api: Router = Router::new()
///     .route("/items", get(|| async { "[]" }))
///     .layer(
///         RequireBearer::new(StaticTokens::new(["s3cr3t"]).with_scopes(["items:read"]))
///             .scopes(["items:read"])
///             .resource_metadata("https://api.example.com/.well-known/oauth-protected-resource"),
///     );
/// ```
#[derive(Clone)]
#[must_use]
pub struct RequireBearer {
    gate: Arc<Gate>,
}

/// What the layer checks, and how it words a refusal.
#[derive(Clone)]
struct Gate {
    verifier: Option<Arc<dyn TokenVerifier>>,
    dependencies: Vec<Dependency>,
    optional: bool,
    required: Vec<String>,
    challenge: Challenge,
}

/// The scopes and metadata URL a refusal names: fixed, or the MCP endpoint's own, which can
/// depend on the request's host.
#[derive(Clone)]
enum Challenge {
    Fixed { metadata: Option<String> },
    Endpoint(AuthState),
}

impl RequireBearer {
    /// Tokens are checked by `verifier`.
    pub fn new(verifier: impl TokenVerifier + 'static) -> Self {
        Self::from_gate(Gate {
            verifier: Some(Arc::new(verifier)),
            dependencies: Vec::new(),
            optional: false,
            required: Vec::new(),
            challenge: Challenge::Fixed { metadata: None },
        })
    }

    fn from_gate(gate: Gate) -> Self {
        Self { gate: Arc::new(gate) }
    }

    /// Scopes every request needs (any request without them is refused with 403).
    pub fn scopes<I: IntoIterator<Item = S>, S: Into<String>>(self, scopes: I) -> Self {
        self.with_gate(|gate| gate.required = scopes.into_iter().map(Into::into).collect())
    }

    /// The RFC 9728 metadata URL that challenges point clients at.
    pub fn resource_metadata(self, url: impl Into<String>) -> Self {
        let metadata = Some(url.into());
        self.with_gate(|gate| gate.challenge = Challenge::Fixed { metadata })
    }

    /// Let requests without a token through, with no principal; sent tokens are still checked.
    pub fn optional(self, optional: bool) -> Self {
        self.with_gate(|gate| gate.optional = optional)
    }

    fn with_gate(mut self, change: impl FnOnce(&mut Gate)) -> Self {
        change(Arc::make_mut(&mut self.gate));
        self
    }
}

impl Gate {
    /// The request's principal (or none, when allowed), or the refusal.
    async fn check(&self, parts: &http::request::Parts) -> Result<Option<Principal>, Response> {
        let reject = |rejection| self.reject(rejection, &parts.headers);
        let mut principal = None;
        for check in &self.dependencies {
            if let Some(found) = check(parts.clone()).await.map_err(reject)? {
                principal = Some(found);
            }
        }
        if let Some(verifier) = &self.verifier {
            match bearer(&parts.headers) {
                Some(token) => principal = Some(verify(verifier.as_ref(), &token).await.map_err(reject)?),
                None if self.optional => {}
                None => {
                    return Err(reject(AuthRejection::unauthorized(
                        "this MCP server requires a bearer token",
                    )));
                }
            }
        }
        self.check_required(principal.as_ref()).map_err(reject)?;
        Ok(principal)
    }

    /// The scopes every request needs (the plain-router use; MCP endpoints check per call).
    fn check_required(&self, principal: Option<&Principal>) -> Result<(), AuthRejection> {
        let granted = principal.map(|p| &p.scopes);
        let missing: Vec<String> = self
            .required
            .iter()
            .filter(|s| !granted.is_some_and(|g| g.contains(*s)))
            .cloned()
            .collect();
        match (missing.is_empty(), principal) {
            (true, _) => Ok(()),
            (false, Some(_)) => Err(AuthRejection::insufficient_scope(self.required.clone())),
            (false, None) => Err(AuthRejection::unauthorized("this request requires a bearer token")),
        }
    }

    fn reject(&self, rejection: AuthRejection, headers: &HeaderMap) -> Response {
        match &self.challenge {
            Challenge::Endpoint(state) => state.reject(rejection, headers),
            Challenge::Fixed { metadata } => {
                let rejection = rejection.with_scopes(self.required.clone());
                match metadata {
                    Some(url) => rejection.with_metadata(url.clone()).into_response(),
                    None => rejection.into_response(),
                }
            }
        }
    }
}

impl<S> tower::Layer<S> for RequireBearer {
    type Service = RequireBearerService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireBearerService {
            inner,
            gate: self.gate.clone(),
        }
    }
}

/// The service [`RequireBearer`] wraps around another.
#[derive(Clone)]
pub struct RequireBearerService<S> {
    inner: S,
    gate: Arc<Gate>,
}

impl<S, B> tower::Service<Request<B>> for RequireBearerService<S>
where
    S: tower::Service<Request<B>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The clone that was driven to readiness serves this request (tower's usual swap).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let gate = self.gate.clone();
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            match gate.check(&parts).await {
                Ok(principal) => {
                    if let Some(principal) = principal {
                        tracing::debug!(subject = ?principal.subject, client = ?principal.client_id, "authorized");
                        parts.extensions.insert(principal);
                    }
                    inner.call(Request::from_parts(parts, body)).await
                }
                Err(refusal) => Ok(refusal),
            }
        })
    }
}

/// The bearer token of the `Authorization` header. Tokens are never taken from the query.
fn bearer(headers: &HeaderMap) -> Option<BearerToken> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| BearerToken::new(token.trim()))
}

async fn verify(verifier: &dyn TokenVerifier, token: &BearerToken) -> Result<Principal, AuthRejection> {
    match verifier.verify(token).await {
        Ok(found) => Ok(found),
        Err(VerifyError::Invalid(why)) => {
            super::logline::refused_token(&why);
            Err(AuthRejection::invalid_token(why))
        }
        // What went wrong upstream (a URL, a secret refused, a body) is for the log only.
        Err(VerifyError::Unavailable(why)) => {
            tracing::warn!(reason = %super::logline::shown(&why), "cannot check a bearer token");
            Err(AuthRejection::unavailable(
                "the authorization server cannot be reached to check the token; retry later",
            ))
        }
    }
}

/// The scopes a tool needs according to the OpenAPI document, by tool name.
pub(crate) type DocumentScopes = Arc<dyn Fn(&str) -> Vec<Vec<String>> + Send + Sync>;

/// Where an MCP endpoint is, for its canonical URL.
#[derive(Clone)]
pub(crate) struct Site {
    pub(super) resource: Option<String>,
    pub(super) path: String,
    pub(super) public_url: Option<String>,
    pub(super) trust_forwarded: bool,
}

impl Site {
    /// The canonical URL of the endpoint, for this request: the configured resource, else
    /// `public_url` + path, else the request's own host (trusting `X-Forwarded-*` only when
    /// told to).
    pub(super) fn resource(&self, headers: &HeaderMap) -> String {
        if let Some(resource) = &self.resource {
            return resource.clone();
        }
        let base = self.public_url.clone().unwrap_or_else(|| self.request_base(headers));
        canonical_resource(&base, &self.path).unwrap_or(base)
    }

    fn request_base(&self, headers: &HeaderMap) -> String {
        let get = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.split(',').next().unwrap_or("").trim().to_owned())
        };
        let forwarded = |name: &str| if self.trust_forwarded { get(name) } else { None };
        let scheme = forwarded("x-forwarded-proto").unwrap_or_else(|| "http".into());
        let host = forwarded("x-forwarded-host")
            .or_else(|| get("host"))
            .unwrap_or_else(|| "localhost".into());
        format!("{scheme}://{host}")
    }
}

/// One MCP endpoint's auth: the runtime, the endpoint's verifier and site, and the tools'
/// scopes from the document.
#[derive(Clone)]
pub(crate) struct AuthState(Arc<EndpointAuth>);

struct EndpointAuth {
    auth: Arc<Auth>,
    verifier: Option<Arc<dyn TokenVerifier>>,
    site: Site,
    document_scopes: DocumentScopes,
}

impl AuthState {
    pub(super) fn new(
        auth: Arc<Auth>,
        verifier: Option<Arc<dyn TokenVerifier>>,
        site: Site,
        document_scopes: DocumentScopes,
    ) -> Self {
        Self(Arc::new(EndpointAuth {
            auth,
            verifier,
            site,
            document_scopes,
        }))
    }

    pub(super) fn auth(&self) -> &Auth {
        &self.0.auth
    }

    pub(super) fn site(&self) -> &Site {
        &self.0.site
    }

    /// The bearer layer in front of the endpoint.
    pub(crate) fn layer(&self) -> RequireBearer {
        let config = &self.0.auth.config;
        RequireBearer::from_gate(Gate {
            verifier: self.0.verifier.clone(),
            dependencies: config.dependencies.clone(),
            optional: config.optional,
            required: Vec::new(),
            challenge: Challenge::Endpoint(self.clone()),
        })
    }

    /// The refusal of a call of `tool` (or of any request, for `None`): 403 when the principal
    /// lacks a scope it needs, 401 when there is no principal at all (optional auth).
    pub(crate) fn refuse_call(
        &self,
        tool: Option<&str>,
        extensions: &http::Extensions,
        headers: &HeaderMap,
    ) -> Option<Response> {
        let rejection = self.scope_rejection(tool, extensions.get::<Principal>())?;
        Some(self.reject(rejection, headers))
    }

    fn scope_rejection(&self, tool: Option<&str>, principal: Option<&Principal>) -> Option<AuthRejection> {
        let rules = &self.0.auth.config.rules;
        let needed = match tool {
            Some(name) => rules.for_tool(name, &(self.0.document_scopes)(name)),
            None => rules.for_tool("", &[]),
        };
        let granted = principal.map(|p| p.scopes.clone()).unwrap_or_default();
        let missing = rules.missing(&granted, &needed)?;
        Some(match principal {
            Some(_) => AuthRejection::insufficient_scope(missing),
            None => AuthRejection::unauthorized("this call requires a bearer token").with_scopes(missing),
        })
    }

    /// The refusal as a response: the scopes to ask for, and the path-inserted metadata URL.
    fn reject(&self, rejection: AuthRejection, headers: &HeaderMap) -> Response {
        let config = &self.0.auth.config;
        let scopes = if config.rules.required.is_empty() {
            let supported = config.scopes_supported.iter();
            supported.filter(|s| s.as_str() != "offline_access").cloned().collect()
        } else {
            config.rules.required.clone()
        };
        let metadata_url = metadata_urls(&self.0.site.resource(headers)).1;
        rejection
            .with_scopes(scopes)
            .with_metadata(metadata_url)
            .into_response()
    }
}
