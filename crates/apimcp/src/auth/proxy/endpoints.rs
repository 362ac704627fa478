//! The proxy's HTTP endpoints: metadata, authorize, consent, callback, token, register.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::{Map, Value, json};

use super::consent::{ConsentPage, error_page};
use super::provider::ProviderError;
use super::{
    AUTHORIZATION_TTL, AuthRequest, CLIENT_TTL, CODE_TTL, CONSENT_TTL, Client, IssuedCode, Pending, Proxy, RecordKind,
    StoreError, key_of, random_token, s256,
};

/// The OpenID discovery path, served with the same document as `metadata_path`.
const OPENID_CONFIGURATION: &str = "/.well-known/openid-configuration";
/// The largest token or registration request read.
const MAX_FORM: usize = 64 * 1024;

/// The proxy's routes, each ready for the user's router whatever its state type.
/// `/authorize`, `/token` and `/register` are the 2025-03-26 fallbacks for clients that find no
/// metadata.
pub(crate) fn routes<S>(proxy: &Arc<Proxy>, metadata_path: &str) -> Vec<(String, MethodRouter<S>)>
where
    S: Clone + Send + Sync + 'static,
{
    let mut metadata_paths = vec![metadata_path.to_owned(), OPENID_CONFIGURATION.to_owned()];
    // RFC 8414 §3: an issuer with a path has its metadata at the path-inserted URL.
    if let Ok(url) = reqwest::Url::parse(proxy.issuer()) {
        let path = url.path().trim_end_matches('/');
        if !path.is_empty() {
            metadata_paths.push(format!("{metadata_path}{path}"));
            metadata_paths.push(format!("{OPENID_CONFIGURATION}{path}"));
        }
    }
    let mut routes: Vec<(String, MethodRouter<S>)> = metadata_paths
        .into_iter()
        .map(|path| (path, get(metadata).with_state(proxy.clone())))
        .collect();
    for path in ["/oauth/authorize", "/authorize"] {
        routes.push((path.into(), get(authorize).with_state(proxy.clone())));
    }
    routes.push(("/oauth/consent".into(), post(consent).with_state(proxy.clone())));
    routes.push(("/oauth/callback".into(), get(callback).with_state(proxy.clone())));
    for path in ["/oauth/token", "/token"] {
        routes.push((path.into(), post(token).with_state(proxy.clone())));
    }
    for path in ["/oauth/register", "/register"] {
        routes.push((path.into(), post(register).with_state(proxy.clone())));
    }
    routes
}

async fn metadata(State(proxy): State<Arc<Proxy>>) -> Response {
    match proxy.metadata().await {
        Ok(metadata) => axum::Json(metadata).into_response(),
        Err(error) => unavailable_json(&error.to_string()),
    }
}

fn unavailable_json(why: &str) -> Response {
    let body = json!({"error": "temporarily_unavailable", "error_description": why});
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    response
}

/// Query or form parameters; a parameter given twice is an error (RFC 6749 §3.1).
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(raw: &[u8]) -> Self {
        Self(form_urlencoded::parse(raw).into_owned().collect())
    }

    fn one(&self, name: &str) -> Result<Option<&str>, String> {
        let mut found = self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str());
        match (found.next(), found.next()) {
            (first, None) => Ok(first.filter(|v| !v.is_empty())),
            _ => Err(format!("{name} is given more than once")),
        }
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

/// Why an authorization request stops: before the redirect URI is trusted, a page; after, a
/// redirect back to the client with an OAuth error.
enum Refusal {
    Page(StatusCode, &'static str, String),
    Redirect(AuthRequest, &'static str, String),
}

impl From<StoreError> for Refusal {
    fn from(error: StoreError) -> Self {
        Self::Page(StatusCode::SERVICE_UNAVAILABLE, "Try again later", error.to_string())
    }
}

impl Proxy {
    fn refuse(&self, refusal: Refusal, status: StatusCode) -> Response {
        match refusal {
            Refusal::Page(status, title, detail) => error_page(status, title, &detail),
            Refusal::Redirect(request, error, description) => self.back_to_client(
                status,
                &request.redirect_uri,
                request.state.as_deref(),
                &[("error", error), ("error_description", &description)],
            ),
        }
    }

    /// Redirects to the client's redirect URI with `pairs`, its `state` and apimcp's `iss`
    /// (RFC 9207).
    fn back_to_client(
        &self,
        status: StatusCode,
        redirect_uri: &str,
        state: Option<&str>,
        pairs: &[(&str, &str)],
    ) -> Response {
        let Ok(mut url) = reqwest::Url::parse(redirect_uri) else {
            return error_page(StatusCode::BAD_REQUEST, "Invalid redirect URI", redirect_uri);
        };
        {
            let mut query = url.query_pairs_mut();
            query.extend_pairs(pairs);
            if let Some(state) = state {
                query.append_pair("state", state);
            }
            query.append_pair("iss", &self.issuer);
        }
        redirect(status, url.as_str())
    }

    /// The request, checked: a registered client, its exact redirect URI, PKCE S256.
    async fn check_request(&self, params: &Params) -> Result<(AuthRequest, Client), Refusal> {
        let page = |detail: String| Refusal::Page(StatusCode::BAD_REQUEST, "Invalid authorization request", detail);
        let client_id = params
            .one("client_id")
            .map_err(page)?
            .ok_or_else(|| page("client_id is missing".into()))?;
        let client = self
            .client(client_id)
            .await?
            .ok_or_else(|| page(format!("the client {client_id:?} is not registered here")))?;
        let redirect_uri = match params.one("redirect_uri").map_err(page)? {
            Some(uri) if client.redirect_uris.iter().any(|r| r == uri) => uri.to_owned(),
            Some(uri) => {
                return Err(page(format!(
                    "{uri:?} is not a redirect URI registered for this client"
                )));
            }
            None if client.redirect_uris.len() == 1 => client.redirect_uris[0].clone(),
            None => return Err(page("redirect_uri is missing".into())),
        };
        let mut request = AuthRequest {
            client_id: client.client_id.clone(),
            client_name: client.client_name.clone().unwrap_or_else(|| client.client_id.clone()),
            redirect_uri,
            state: None,
            code_challenge: String::new(),
            scopes: Vec::new(),
            resources: params.all("resource"),
            csrf: random_token(),
        };
        let one = |name: &str| params.one(name);
        match one("state") {
            Ok(state) => request.state = state.map(str::to_owned),
            Err(why) => return Err(Refusal::Redirect(request, "invalid_request", why)),
        }
        let invalid = |why: String| ("invalid_request", why);
        let checked = (|| {
            match one("response_type").map_err(invalid)? {
                Some("code") => {}
                other => {
                    let why = format!("response_type must be code, not {other:?}");
                    return Err(("unsupported_response_type", why));
                }
            }
            let challenge = one("code_challenge")
                .map_err(invalid)?
                .ok_or_else(|| invalid("PKCE is required: code_challenge is missing".into()))?;
            if one("code_challenge_method").map_err(invalid)? != Some("S256") {
                return Err(invalid("PKCE must use code_challenge_method=S256".into()));
            }
            if challenge.len() != 43
                || !challenge
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(invalid("code_challenge is not an S256 challenge".into()));
            }
            let scope = one("scope").map_err(invalid)?.unwrap_or_default();
            Ok((challenge.to_owned(), scope.to_owned()))
        })();
        let (challenge, scope) = match checked {
            Ok(found) => found,
            Err((error, why)) => return Err(Refusal::Redirect(request, error, why)),
        };
        // Tokens got through apimcp's client are for this server only (RFC 8707 invalid_target):
        // the static client must not be lent out for other resources.
        if let Some(ours) = self.resource.get()
            && let Some(other) = request.resources.iter().find(|r| r.trim_end_matches('/') != ours)
        {
            let why = format!("this server issues tokens for {ours} only, not {other}");
            return Err(Refusal::Redirect(request, "invalid_target", why));
        }
        request.code_challenge = challenge;
        request.scopes = scope.split_whitespace().map(str::to_owned).collect();
        for scope in &self.default_scope {
            if !request.scopes.contains(scope) {
                request.scopes.push(scope.clone());
            }
        }
        if request.resources.is_empty()
            && self.audience.is_none()
            && let Some(resource) = self.resource.get()
        {
            // The token must be for this server; a client that names no resource gets this one.
            request.resources.push(resource.clone());
        }
        Ok((request, client))
    }

    async fn consented(&self, headers: &HeaderMap, client_id: &str) -> Result<bool, StoreError> {
        let Some(browser) = self.signer.browser(headers) else {
            return Ok(false);
        };
        let found = self
            .store
            .get(RecordKind::Consent, &consent_key(&browser, client_id))
            .await?;
        Ok(found.is_some())
    }

    /// Sends the person on to the provider with apimcp's client id, callback, state and PKCE.
    async fn to_provider(&self, request: AuthRequest, status: StatusCode) -> Response {
        let endpoints = match self.provider.endpoints().await {
            Ok(endpoints) => endpoints,
            Err(error) => {
                let why = error.to_string();
                return self.refuse(Refusal::Redirect(request, "temporarily_unavailable", why), status);
            }
        };
        let Ok(mut url) = reqwest::Url::parse(&endpoints.authorization) else {
            let why = format!(
                "the provider's authorization endpoint {:?} is not a URL",
                endpoints.authorization
            );
            return self.refuse(Refusal::Redirect(request, "server_error", why), status);
        };
        let state = random_token();
        let verifier = random_token();
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", self.provider.client_id())
                .append_pair("redirect_uri", &self.callback)
                .append_pair("scope", &request.scopes.join(" "))
                .append_pair("state", &state)
                .append_pair("code_challenge", &s256(&verifier))
                .append_pair("code_challenge_method", "S256");
            if let Some(audience) = &self.audience {
                query.append_pair("audience", audience);
            }
            for resource in &request.resources {
                query.append_pair("resource", resource);
            }
        }
        let pending = Pending { request, verifier };
        let value = serde_json::to_value(&pending).unwrap_or_default();
        if let Err(error) = self
            .store
            .put(RecordKind::Pending, &key_of(&state), value, AUTHORIZATION_TTL)
            .await
        {
            return self.refuse(error.into(), status);
        }
        redirect(status, url.as_str())
    }
}

fn consent_key(browser: &str, client_id: &str) -> String {
    key_of(&format!("{browser} {client_id}"))
}

fn redirect(status: StatusCode, location: &str) -> Response {
    let mut response = status.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn authorize(State(proxy): State<Arc<Proxy>>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    let (request, client) = match proxy.check_request(&params).await {
        Ok(found) => found,
        Err(refusal) => return proxy.refuse(refusal, StatusCode::FOUND),
    };
    let consented = match proxy.consented(&headers, &client.client_id).await {
        Ok(consented) => consented,
        Err(error) => return proxy.refuse(error.into(), StatusCode::FOUND),
    };
    if !client.dynamic || consented {
        return proxy.to_provider(request, StatusCode::FOUND).await;
    }
    let id = random_token();
    let value = serde_json::to_value(&request).unwrap_or_default();
    if let Err(error) = proxy
        .store
        .put(RecordKind::Request, &key_of(&id), value, AUTHORIZATION_TTL)
        .await
    {
        return proxy.refuse(error.into(), StatusCode::FOUND);
    }
    let host = reqwest::Url::parse(&request.redirect_uri)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(|h| u.port().map_or_else(|| h.to_owned(), |p| format!("{h}:{p}")))
        })
        .unwrap_or_default();
    ConsentPage {
        client_name: &request.client_name,
        client_id: &request.client_id,
        redirect_host: &host,
        scopes: &request.scopes,
        request_id: &id,
        csrf: &request.csrf,
    }
    .render()
}

async fn consent(State(proxy): State<Arc<Proxy>>, headers: HeaderMap, body: Bytes) -> Response {
    let refused = |detail: &str| error_page(StatusCode::BAD_REQUEST, "Consent not recorded", detail);
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())
        && reqwest::Url::parse(proxy.issuer()).is_ok_and(|u| u.origin().ascii_serialization() != origin)
    {
        return error_page(
            StatusCode::FORBIDDEN,
            "Consent not recorded",
            "the form was sent from another site",
        );
    }
    let params = Params::parse(&body);
    let (Ok(Some(id)), Ok(Some(csrf)), Ok(decision)) =
        (params.one("request"), params.one("csrf"), params.one("decision"))
    else {
        return refused("the form is incomplete");
    };
    let request = match proxy.store.take(RecordKind::Request, &key_of(id)).await {
        Ok(Some(value)) => serde_json::from_value::<AuthRequest>(value).ok(),
        Ok(None) => None,
        Err(error) => return proxy.refuse(error.into(), StatusCode::SEE_OTHER),
    };
    let Some(request) = request else {
        return refused(
            "this authorization request has expired or was already answered; start again from the application",
        );
    };
    if !bool::from(subtle::ConstantTimeEq::ct_eq(request.csrf.as_bytes(), csrf.as_bytes())) {
        return refused("the form's CSRF token does not match");
    }
    if decision != Some("approve") {
        let description = "the person did not approve the client".to_owned();
        return proxy.refuse(
            Refusal::Redirect(request, "access_denied", description),
            StatusCode::SEE_OTHER,
        );
    }
    let browser = proxy.signer.browser(&headers).unwrap_or_else(random_token);
    let key = consent_key(&browser, &request.client_id);
    if let Err(error) = proxy
        .store
        .put(RecordKind::Consent, &key, Value::Bool(true), CONSENT_TTL)
        .await
    {
        return proxy.refuse(error.into(), StatusCode::SEE_OTHER);
    }
    let mut response = proxy.to_provider(request, StatusCode::SEE_OTHER).await;
    if let Ok(cookie) = HeaderValue::from_str(&proxy.signer.set_cookie(&browser)) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

async fn callback(State(proxy): State<Arc<Proxy>>, RawQuery(query): RawQuery) -> Response {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    let page = |detail: &str| error_page(StatusCode::BAD_REQUEST, "Authorization failed", detail);
    let Ok(Some(state)) = params.one("state") else {
        return page("the provider's answer has no state");
    };
    let pending = match proxy.store.take(RecordKind::Pending, &key_of(state)).await {
        Ok(found) => found.and_then(|v| serde_json::from_value::<Pending>(v).ok()),
        Err(error) => return proxy.refuse(error.into(), StatusCode::FOUND),
    };
    let Some(Pending { request, verifier }) = pending else {
        return page("this state is unknown, expired or already used; start again from the application");
    };
    if let Ok(Some(error)) = params.one("error") {
        const PASSED_ON: [&str; 7] = [
            "access_denied",
            "invalid_scope",
            "temporarily_unavailable",
            "server_error",
            "login_required",
            "consent_required",
            "interaction_required",
        ];
        let error = PASSED_ON.into_iter().find(|e| *e == error).unwrap_or("access_denied");
        let description = params
            .one("error_description")
            .ok()
            .flatten()
            .unwrap_or("the provider refused");
        return proxy.refuse(
            Refusal::Redirect(request, error, description.to_owned()),
            StatusCode::FOUND,
        );
    }
    let Ok(Some(code)) = params.one("code") else {
        let why = "the provider's answer has no code".to_owned();
        return proxy.refuse(Refusal::Redirect(request, "server_error", why), StatusCode::FOUND);
    };
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", proxy.callback.as_str()),
        ("code_verifier", verifier.as_str()),
    ];
    form.extend(request.resources.iter().map(|r| ("resource", r.as_str())));
    let tokens = match proxy.provider.token(&form).await {
        Ok(tokens) => tokens,
        Err(error) => {
            tracing::warn!(%error, "the provider's code could not be exchanged");
            let kind = if matches!(error, ProviderError::Unavailable(_)) {
                "temporarily_unavailable"
            } else {
                "server_error"
            };
            return proxy.refuse(Refusal::Redirect(request, kind, error.to_string()), StatusCode::FOUND);
        }
    };
    let ours = random_token();
    let issued = IssuedCode {
        client_id: request.client_id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        code_challenge: request.code_challenge.clone(),
        tokens,
    };
    let value = serde_json::to_value(&issued).unwrap_or_default();
    if let Err(error) = proxy.store.put(RecordKind::Code, &key_of(&ours), value, CODE_TTL).await {
        return proxy.refuse(error.into(), StatusCode::FOUND);
    }
    proxy.back_to_client(
        StatusCode::FOUND,
        &request.redirect_uri,
        request.state.as_deref(),
        &[("code", &ours)],
    )
}

/// An RFC 6749 §5.2 error.
fn token_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut response = (
        status,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response();
    no_store(response.headers_mut());
    response
}

fn no_store(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// The client id of a token request: HTTP Basic (with an empty secret: the clients are public)
/// or the form's `client_id`.
fn client_id_of(headers: &HeaderMap, params: &Params) -> Result<String, String> {
    let from_form = params.one("client_id")?.map(str::to_owned);
    let from_basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic ").or_else(|| v.strip_prefix("basic ")))
        .map(|b64| {
            use base64::Engine as _;
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|_| "the Basic credentials are not base64")?;
            let text = String::from_utf8(decoded).map_err(|_| "the Basic credentials are not UTF-8")?;
            let id = text.split_once(':').map_or(text.as_str(), |(id, _)| id);
            Ok::<_, String>(
                form_urlencoded::parse(format!("x={id}").as_bytes())
                    .map(|(_, v)| v.into_owned())
                    .collect(),
            )
        })
        .transpose()?;
    match (from_form, from_basic) {
        (Some(a), Some(b)) if a != b => Err("client_id and the Basic credentials name different clients".into()),
        (Some(id), _) | (None, Some(id)) => Ok(id),
        (None, None) => Err("client_id is missing".into()),
    }
}

async fn token(State(proxy): State<Arc<Proxy>>, headers: HeaderMap, body: Bytes) -> Response {
    if body.len() > MAX_FORM {
        return token_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            "the request is too large",
        );
    }
    let params = Params::parse(&body);
    let client_id = match client_id_of(&headers, &params) {
        Ok(id) => id,
        Err(why) => return token_error(StatusCode::UNAUTHORIZED, "invalid_client", &why),
    };
    match proxy.client(&client_id).await {
        Ok(Some(_)) => {}
        Ok(None) => {
            return token_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "this client is not registered here",
            );
        }
        Err(error) => return unavailable_json(&error.to_string()),
    }
    let tokens = match params.one("grant_type") {
        Ok(Some("authorization_code")) => proxy.exchange_code(&client_id, &params).await,
        Ok(Some("refresh_token")) => proxy.refresh(&client_id, &params).await,
        Ok(Some(other)) => {
            let why = format!("grant_type {other:?} is not supported (authorization_code, refresh_token)");
            return token_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", &why);
        }
        Ok(None) => return token_error(StatusCode::BAD_REQUEST, "invalid_request", "grant_type is missing"),
        Err(why) => return token_error(StatusCode::BAD_REQUEST, "invalid_request", &why),
    };
    match tokens {
        Ok(mut tokens) => {
            // The ID token's issuer and audience are the provider's and apimcp's static client:
            // it is not for this client.
            tokens.remove("id_token");
            if let Some(refresh) = tokens.get("refresh_token").and_then(Value::as_str)
                && let Err(error) = proxy
                    .store
                    .put(
                        RecordKind::Refresh,
                        &key_of(refresh),
                        Value::String(client_id),
                        CLIENT_TTL,
                    )
                    .await
            {
                return unavailable_json(&error.to_string());
            }
            let mut response = axum::Json(tokens).into_response();
            no_store(response.headers_mut());
            response
        }
        Err(response) => response,
    }
}

type TokenResult = Result<Map<String, Value>, Response>;

impl Proxy {
    async fn exchange_code(&self, client_id: &str, params: &Params) -> TokenResult {
        let invalid = |why: String| token_error(StatusCode::BAD_REQUEST, "invalid_request", &why);
        let grant = |why: &str| token_error(StatusCode::BAD_REQUEST, "invalid_grant", why);
        let code = params
            .one("code")
            .map_err(invalid)?
            .ok_or_else(|| invalid("code is missing".into()))?;
        let verifier = params
            .one("code_verifier")
            .map_err(invalid)?
            .ok_or_else(|| invalid("code_verifier is missing: PKCE is required".into()))?;
        let redirect_uri = params.one("redirect_uri").map_err(invalid)?;
        let issued = match self.store.take(RecordKind::Code, &key_of(code)).await {
            Ok(found) => found.and_then(|v| serde_json::from_value::<IssuedCode>(v).ok()),
            Err(error) => return Err(unavailable_json(&error.to_string())),
        };
        let Some(issued) = issued else {
            return Err(grant("the code is unknown, expired or already used"));
        };
        if issued.client_id != client_id {
            return Err(grant("the code was issued to another client"));
        }
        if redirect_uri.is_some_and(|uri| uri != issued.redirect_uri) {
            return Err(grant("redirect_uri differs from the authorization request's"));
        }
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            s256(verifier).as_bytes(),
            issued.code_challenge.as_bytes(),
        )) {
            return Err(grant("the PKCE code_verifier does not match the code_challenge"));
        }
        Ok(issued.tokens)
    }

    async fn refresh(&self, client_id: &str, params: &Params) -> TokenResult {
        let invalid = |why: String| token_error(StatusCode::BAD_REQUEST, "invalid_request", &why);
        let refresh = params
            .one("refresh_token")
            .map_err(invalid)?
            .ok_or_else(|| invalid("refresh_token is missing".into()))?;
        match self.store.get(RecordKind::Refresh, &key_of(refresh)).await {
            Ok(Some(Value::String(owner))) if owner == client_id => {}
            Ok(_) => {
                let why = "the refresh token is unknown here or was issued to another client";
                return Err(token_error(StatusCode::BAD_REQUEST, "invalid_grant", why));
            }
            Err(error) => return Err(unavailable_json(&error.to_string())),
        }
        let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", refresh)];
        if let Ok(Some(scope)) = params.one("scope") {
            form.push(("scope", scope));
        }
        match self.provider.token(&form).await {
            Ok(tokens) => Ok(tokens),
            Err(ProviderError::Unavailable(why)) => Err(unavailable_json(&why)),
            Err(ProviderError::Refused { error, description }) => {
                let error = if error == "invalid_scope" {
                    "invalid_scope"
                } else {
                    "invalid_grant"
                };
                let why = description.unwrap_or_else(|| "the provider refused the refresh token".into());
                Err(token_error(StatusCode::BAD_REQUEST, error, &why))
            }
        }
    }
}

/// RFC 7591 dynamic registration: a public client (no secret: apimcp's secret for the provider
/// is never handed out) with checked redirect URIs.
async fn register(State(proxy): State<Arc<Proxy>>, body: Bytes) -> Response {
    let bad = |error: &str, why: &str| token_error(StatusCode::BAD_REQUEST, error, why);
    if !proxy.registration {
        return token_error(StatusCode::NOT_FOUND, "invalid_request", "dynamic registration is off");
    }
    if let Err(wait) = proxy
        .registrations
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take()
    {
        let mut response = token_error(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            "too many registrations; try again later",
        );
        if let Ok(value) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }
    if body.len() > MAX_FORM {
        return bad("invalid_client_metadata", "the registration request is too large");
    }
    let Ok(Value::Object(metadata)) = serde_json::from_slice::<Value>(&body) else {
        return bad("invalid_client_metadata", "the body must be a JSON object");
    };
    let redirect_uris = match redirect_uris(&metadata) {
        Ok(uris) => uris,
        Err(why) => return bad("invalid_redirect_uri", &why),
    };
    let list = |name: &str, allowed: &[&str], default: &[&str]| -> Result<Vec<String>, String> {
        let Some(value) = metadata.get(name) else {
            return Ok(default.iter().map(|s| (*s).to_owned()).collect());
        };
        let items: Option<Vec<String>> = value
            .as_array()
            .map(|a| a.iter().map(|v| v.as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        let items = items.ok_or(format!("{name} must be an array of strings"))?;
        match items.iter().find(|i| !allowed.contains(&i.as_str())) {
            Some(other) => Err(format!("{name}: {other:?} is not supported ({})", allowed.join(", "))),
            None => Ok(items),
        }
    };
    let grants = match list(
        "grant_types",
        &["authorization_code", "refresh_token"],
        &["authorization_code", "refresh_token"],
    ) {
        Ok(grants) => grants,
        Err(why) => return bad("invalid_client_metadata", &why),
    };
    let responses = match list("response_types", &["code"], &["code"]) {
        Ok(responses) => responses,
        Err(why) => return bad("invalid_client_metadata", &why),
    };
    let client_name = metadata
        .get("client_name")
        .and_then(Value::as_str)
        .map(|n| n.chars().filter(|c| !c.is_control()).take(100).collect::<String>());
    let client = Client {
        client_id: random_token(),
        client_name: client_name.clone(),
        redirect_uris: redirect_uris.clone(),
        dynamic: true,
    };
    let value = serde_json::to_value(&client).unwrap_or_default();
    if let Err(error) = proxy
        .store
        .put(RecordKind::Client, &client.client_id, value, CLIENT_TTL)
        .await
    {
        return unavailable_json(&error.to_string());
    }
    let issued_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut reply = json!({
        "client_id": client.client_id,
        "client_id_issued_at": issued_at,
        "redirect_uris": redirect_uris,
        "grant_types": grants,
        "response_types": responses,
        "token_endpoint_auth_method": "none",
    });
    if let Some(name) = client_name {
        reply["client_name"] = Value::String(name);
    }
    for field in ["scope", "client_uri", "logo_uri", "software_id", "software_version"] {
        if let Some(value) = metadata.get(field).filter(|v| v.is_string()) {
            reply[field] = value.clone();
        }
    }
    tracing::info!(client = %client.client_id, "registered a client");
    let mut response = (StatusCode::CREATED, axum::Json(reply)).into_response();
    no_store(response.headers_mut());
    response
}

/// Redirect URIs a client may register: https, or http on a loopback host (RFC 8252 §7.3);
/// never with a fragment.
fn redirect_uris(metadata: &Map<String, Value>) -> Result<Vec<String>, String> {
    let uris = metadata
        .get("redirect_uris")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or("redirect_uris must be a non-empty array")?;
    uris.iter()
        .map(|uri| {
            let uri = uri.as_str().ok_or("redirect_uris must be strings")?;
            let url = reqwest::Url::parse(uri).map_err(|e| format!("{uri:?} is not a URL: {e}"))?;
            if url.fragment().is_some() {
                return Err(format!("{uri:?} has a fragment"));
            }
            let loopback = matches!(url.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"));
            match url.scheme() {
                "https" => Ok(uri.to_owned()),
                "http" if loopback => Ok(uri.to_owned()),
                "http" => Err(format!(
                    "{uri:?}: http redirect URIs must be on a loopback host (127.0.0.1, [::1], localhost)"
                )),
                other => Err(format!(
                    "{uri:?}: the scheme {other:?} is not allowed (https, or http on loopback)"
                )),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_and_loopback_redirects_register() {
        let check = |uris: Value| redirect_uris(json!({"redirect_uris": uris}).as_object().expect("object"));
        assert!(check(json!(["http://127.0.0.1:8080/oauth/callback", "https://app.test/cb"])).is_ok());
        assert!(check(json!(["http://localhost:3000/cb", "http://[::1]:9/cb"])).is_ok());
        let error = check(json!(["http://evil.test/cb"])).expect_err("plain http elsewhere");
        assert!(error.contains("loopback"), "{error}");
        assert!(check(json!(["https://app.test/cb#x"])).is_err());
        assert!(check(json!(["javascript:alert(1)"])).is_err());
        assert!(check(json!([])).is_err());
        assert!(check(json!("https://app.test/cb")).is_err());
    }

    #[test]
    fn parameters_given_twice_are_refused() {
        let params = Params::parse(b"a=1&b=2&b=3&c=");
        assert_eq!(params.one("a"), Ok(Some("1")));
        assert!(params.one("b").is_err());
        assert_eq!(params.one("c"), Ok(None));
        assert_eq!(params.one("d"), Ok(None));
    }
}
