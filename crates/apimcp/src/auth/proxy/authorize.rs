//! `/oauth/authorize`: checks the client's request, asks the person for consent when the client
//! registered itself, and sends them on to the provider with apimcp's own client id, callback,
//! state and PKCE pair.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::Response;
use http::{Extensions, HeaderMap, StatusCode};
use url::Url;

use super::error::{Denied, Refusal};
use super::limits::Action;
use super::page::{ConsentPage, redirect};
use super::params::Params;
use super::redirects;
use super::registration::is_loopback_uri;
use super::{AUTHORIZATION_TTL, AuthRequest, Client, Pending, Proxy, RecordKind, random_token, s256};
use crate::auth::types::{ClientId, Scopes};

/// The title of the page for a request that cannot go back to the client.
const INVALID: &str = "Invalid authorization request";

/// The standard authorization parameters passed on to the provider as the client sent them
/// (OpenID Connect Core §3.1.2.1): without the client's `prompt=consent`, a provider such as
/// oidc-provider grants no `offline_access` and issues no refresh token.
const PASSED_ON: [&str; 4] = ["prompt", "max_age", "login_hint", "ui_locales"];
/// The longest value of a parameter passed on.
const MAX_PASSED: usize = 256;
/// The longest query read: room for a client id carrying ten long redirect URIs, sealed.
pub(super) const MAX_QUERY: usize = 48 * 1024;
/// The most scopes one request may ask for, and the longest scope.
const MAX_SCOPES: usize = 50;
const MAX_SCOPE: usize = 200;
/// The longest `state`, and the most `resource` parameters.
const MAX_STATE: usize = 1024;
const MAX_RESOURCES: usize = 4;

pub(super) async fn authorize(
    State(proxy): State<Arc<Proxy>>,
    headers: HeaderMap,
    extensions: Extensions,
    RawQuery(query): RawQuery,
) -> Result<Response, Refusal> {
    let query = query.unwrap_or_default();
    if query.len() > MAX_QUERY {
        let detail = format!("invalid_request: the request is over {MAX_QUERY} bytes");
        return Err(Refusal::page(StatusCode::URI_TOO_LONG, INVALID, detail));
    }
    let params = Params::parse(query.as_bytes());
    let client = proxy.requesting_client(&params).await?;
    let redirect_uri = registered_redirect_uri(&client, &params)?;
    let consented = proxy.consented(&headers, &client.client_id).await?;
    // RFC 9700 §4.11.2: no automatic redirect to a URI nobody has trusted yet. A client the
    // operator registered, or one this person approved before, is trusted; until then errors
    // are shown on a page.
    let trusted = !client.dynamic || consented.is_some();
    let request = proxy.check_request(&params, &client, redirect_uri, trusted)?;
    // Only a request that passed every check is counted against its sender's budget, and
    // only its sender's: nobody else's login is slowed or pushed out by it.
    proxy.spend(Action::Authorize, &headers, &extensions).await?;
    let covered = consented.is_some_and(|scopes| covers(&scopes, &request.scopes));
    if !client.dynamic || covered {
        return proxy.to_provider(request, StatusCode::FOUND).await;
    }
    proxy.ask_consent(request, &client).await
}

/// Whether the scopes consented to include every one of `asked`.
fn covers(consented: &Scopes, asked: &Scopes) -> bool {
    asked.iter().all(|scope| consented.iter().any(|c| c == scope))
}

impl Proxy {
    /// The request of `client` to come back to `redirect_uri`, checked: PKCE S256, a response
    /// type of `code`, this server as the resource. A failure goes back to the client when its
    /// redirect URI is `trusted`, else it is a page.
    fn check_request(
        &self,
        params: &Params,
        client: &Client,
        redirect_uri: String,
        trusted: bool,
    ) -> Result<AuthRequest, Refusal> {
        let mut request = AuthRequest {
            client_id: client.client_id.clone(),
            client_name: client
                .client_name
                .clone()
                .unwrap_or_else(|| client.client_id.to_string()),
            redirect_uri,
            state: None,
            code_challenge: String::new(),
            scopes: Scopes::default(),
            resources: params.all("resource"),
            passed: Vec::new(),
            csrf: random_token(),
        };
        match self.complete(&mut request, params) {
            Ok(()) => Ok(request),
            Err(denied) if trusted => Err(self.back(&request, StatusCode::FOUND).refuse(denied)),
            Err(denied) => Err(Refusal::page(
                StatusCode::BAD_REQUEST,
                INVALID,
                format!("{}: {}", denied.error, denied.description),
            )),
        }
    }

    async fn requesting_client(&self, params: &Params) -> Result<Client, Refusal> {
        let page = |detail: String| Refusal::page(StatusCode::BAD_REQUEST, INVALID, detail);
        let client_id = params
            .one("client_id")
            .map_err(|e| page(e.to_string()))?
            .ok_or_else(|| page("client_id is missing".into()))?;
        let client_id = ClientId::new(client_id);
        self.client(&client_id).await?.ok_or_else(|| {
            page(format!(
                "invalid_client: the client {:?} is not registered here",
                client_id.as_str()
            ))
        })
    }

    /// The checks once the redirect URI is known; `request` is filled in as they pass.
    fn complete(&self, request: &mut AuthRequest, params: &Params) -> Result<(), Denied> {
        let state = params.one("state")?;
        if state.is_some_and(|state| state.len() > MAX_STATE) {
            return Err(Denied::new(
                "invalid_request",
                format!("state is longer than {MAX_STATE} bytes"),
            ));
        }
        request.state = state.map(str::to_owned);
        check_response_type(params)?;
        request.code_challenge = pkce_challenge(params)?.to_owned();
        let scope = params.one("scope")?.unwrap_or_default();
        check_scope(scope)?;
        if request.resources.len() > MAX_RESOURCES {
            let why = format!("at most {MAX_RESOURCES} resource parameters");
            return Err(Denied::new("invalid_target", why));
        }
        self.check_target(&request.resources)?;
        request.passed = passed_on(params)?;
        request.scopes = Scopes::parse(scope);
        request.scopes.include(&self.default_scope);
        if request.resources.is_empty()
            && self.audience.is_none()
            && let Some(resource) = self.resource.get()
        {
            // The token must be for this server; a client that names no resource gets this one.
            request.resources.push(resource.as_str().to_owned());
        }
        Ok(())
    }

    /// Tokens got through apimcp's client are for this server only (RFC 8707 `invalid_target`):
    /// the static client must not be lent out for other resources.
    fn check_target(&self, resources: &[String]) -> Result<(), Denied> {
        let Some(ours) = self.resource.get() else {
            return Ok(());
        };
        match resources.iter().find(|r| r.trim_end_matches('/') != ours.as_str()) {
            Some(other) => {
                log_other_resource(other, ours.as_str());
                Err(Denied::new(
                    "invalid_target",
                    format!("this server issues tokens for {ours} only, not {other}"),
                ))
            }
            None => Ok(()),
        }
    }

    /// Stores the request and shows the consent page for it.
    async fn ask_consent(&self, request: AuthRequest, client: &Client) -> Result<Response, Refusal> {
        let id = random_token();
        self.put_locked(RecordKind::Request, &id, &request, AUTHORIZATION_TTL)
            .await?;
        let page = ConsentPage {
            client_name: &request.client_name,
            client_id: request.client_id.as_str(),
            redirect_host: &host_of(&request.redirect_uri),
            scopes: &request.scopes,
            request_id: &id,
            csrf: &request.csrf,
            // Anyone can name a document whose redirect URIs are on loopback: the program
            // listening there on this person's machine gets the code (the CIMD draft's §6.3).
            loopback_warning: client.document && is_loopback_uri(&request.redirect_uri),
        };
        Ok(page.render())
    }

    /// Sends the person on to the provider with apimcp's client id, callback, state and PKCE.
    pub(super) async fn to_provider(&self, request: AuthRequest, status: StatusCode) -> Result<Response, Refusal> {
        let back = self.back(&request, status);
        let mut url = self
            .authorization_endpoint()
            .await
            .map_err(|denied| back.refuse(denied))?;
        let state = random_token();
        let verifier = random_token();
        self.provider_query(&mut url, &request, &state, &verifier);
        let pending = Pending { request, verifier };
        self.put_locked(RecordKind::Pending, &state, &pending, AUTHORIZATION_TTL)
            .await?;
        Ok(redirect(status, url.as_str()))
    }

    async fn authorization_endpoint(&self) -> Result<Url, Denied> {
        let endpoints = self
            .provider
            .endpoints()
            .await
            .map_err(|error| Denied::new("temporarily_unavailable", error.to_string()))?;
        Url::parse(&endpoints.authorization).map_err(|_| {
            let why = format!(
                "the provider's authorization endpoint {:?} is not a URL",
                endpoints.authorization
            );
            Denied::new("server_error", why)
        })
    }

    fn provider_query(&self, url: &mut Url, request: &AuthRequest, state: &str, verifier: &str) {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("response_type", "code")
            .append_pair("client_id", self.provider.client_id().as_str())
            .append_pair("redirect_uri", &self.callback)
            .append_pair("scope", &request.scopes.to_string())
            .append_pair("state", state)
            .append_pair("code_challenge", &s256(verifier))
            .append_pair("code_challenge_method", "S256");
        if let Some(audience) = &self.audience {
            query.append_pair("audience", audience);
        }
        for resource in &request.resources {
            query.append_pair("resource", resource);
        }
        for (name, value) in &request.passed {
            query.append_pair(name, value);
        }
    }
}

/// Says what went wrong when a client names another URL for this server: most often the
/// server is reached under another name (`localhost` for `127.0.0.1`) than its `public_url`.
fn log_other_resource(other: &str, ours: &str) {
    let origin = Url::parse(other).ok().map(|url| url.origin().ascii_serialization());
    let same_path = Url::parse(other)
        .ok()
        .zip(Url::parse(ours).ok())
        .is_some_and(|(a, b)| a.path().trim_end_matches('/') == b.path().trim_end_matches('/'));
    match origin.filter(|_| same_path) {
        Some(origin) => tracing::warn!(
            client_used = other,
            resource = ours,
            "a client asked for a token for {other}, but this server's resource is {ours}: \
             if clients reach the server at {origin}, set [server] public_url = \"{origin}\", \
             else have them use {ours}"
        ),
        None => tracing::warn!(
            client_used = other,
            resource = ours,
            "a client asked for a token for another server"
        ),
    }
}

/// The redirect URI the request names, which must be one the client registered; a client
/// with only one may leave it out.
fn registered_redirect_uri(client: &Client, params: &Params) -> Result<String, Refusal> {
    let page = |detail: String| Refusal::page(StatusCode::BAD_REQUEST, INVALID, detail);
    match params.one("redirect_uri").map_err(|e| page(e.to_string()))? {
        Some(uri) if client.redirect_uris.iter().any(|r| redirects::matches(r, uri)) => Ok(uri.to_owned()),
        Some(uri) => Err(page(format!(
            "{uri:?} is not a redirect URI registered for this client"
        ))),
        None if client.redirect_uris.len() == 1 => Ok(client.redirect_uris[0].clone()),
        None => Err(page("redirect_uri is missing".into())),
    }
}

/// The parameters of [`PASSED_ON`] the client sent, each at most [`MAX_PASSED`] bytes.
fn passed_on(params: &Params) -> Result<Vec<(String, String)>, Denied> {
    let mut passed = Vec::new();
    for name in PASSED_ON {
        let Some(value) = params.one(name)? else { continue };
        if value.len() > MAX_PASSED {
            let why = format!("{name} is longer than {MAX_PASSED} bytes");
            return Err(Denied::new("invalid_request", why));
        }
        passed.push((name.to_owned(), value.to_owned()));
    }
    Ok(passed)
}

/// At most [`MAX_SCOPES`] scopes of at most [`MAX_SCOPE`] bytes each: what is stored for a
/// login in progress stays small.
fn check_scope(scope: &str) -> Result<(), Denied> {
    let mut words = scope.split_ascii_whitespace();
    if words.clone().nth(MAX_SCOPES).is_some() {
        let why = format!("at most {MAX_SCOPES} scopes may be asked for at once");
        return Err(Denied::new("invalid_scope", why));
    }
    if words.any(|word| word.len() > MAX_SCOPE) {
        let why = format!("a scope is longer than {MAX_SCOPE} bytes");
        return Err(Denied::new("invalid_scope", why));
    }
    Ok(())
}

fn check_response_type(params: &Params) -> Result<(), Denied> {
    match params.one("response_type")? {
        Some("code") => Ok(()),
        other => Err(Denied::new(
            "unsupported_response_type",
            format!("response_type must be code, not {other:?}"),
        )),
    }
}

/// The client's PKCE challenge: required, and S256 (RFC 7636 §4.2: 43 base64url characters).
fn pkce_challenge(params: &Params) -> Result<&str, Denied> {
    let invalid = |why: &str| Denied::new("invalid_request", why);
    let challenge = params
        .one("code_challenge")?
        .ok_or_else(|| invalid("PKCE is required: code_challenge is missing"))?;
    if params.one("code_challenge_method")? != Some("S256") {
        return Err(invalid("PKCE must use code_challenge_method=S256"));
    }
    let base64url = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    if challenge.len() != 43 || !challenge.bytes().all(base64url) {
        return Err(invalid("code_challenge is not an S256 challenge"));
    }
    Ok(challenge)
}

/// `host[:port]` of a redirect URI, shown on the consent page.
fn host_of(uri: &str) -> String {
    let Ok(url) = Url::parse(uri) else {
        return String::new();
    };
    let host = url.host_str().unwrap_or_default();
    url.port()
        .map_or_else(|| host.to_owned(), |port| format!("{host}:{port}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(query: &str) -> Params {
        Params::parse(query.as_bytes())
    }

    #[test]
    fn only_s256_challenges_pass() {
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        let good = params(&format!("code_challenge={challenge}&code_challenge_method=S256"));
        assert_eq!(pkce_challenge(&good).ok(), Some(challenge));
        let error = |query: &str| {
            pkce_challenge(&params(query))
                .map(str::to_owned)
                .map_err(|d| (d.error, d.description))
        };
        assert_eq!(
            error(&format!("code_challenge={challenge}&code_challenge_method=plain")),
            Err(("invalid_request", "PKCE must use code_challenge_method=S256".to_owned()))
        );
        assert_eq!(
            error("code_challenge_method=S256"),
            Err((
                "invalid_request",
                "PKCE is required: code_challenge is missing".to_owned()
            ))
        );
        assert!(error("code_challenge=short&code_challenge_method=S256").is_err());
        assert_eq!(
            error(&format!("code_challenge={challenge}&code_challenge={challenge}")),
            Err(("invalid_request", "code_challenge is given more than once".to_owned()))
        );
    }

    #[test]
    fn standard_parameters_are_passed_on_within_bounds() {
        let passed = passed_on(&params("prompt=consent&max_age=0&login_hint=a%40b.test&display=page"));
        let expected = [("prompt", "consent"), ("max_age", "0"), ("login_hint", "a@b.test")];
        let expected: Vec<(String, String)> = expected.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        assert_eq!(passed.ok(), Some(expected));
        let long = format!("login_hint={}", "x".repeat(MAX_PASSED + 1));
        assert!(passed_on(&params(&long)).is_err());
        assert!(passed_on(&params("prompt=login&prompt=none")).is_err());
    }

    #[test]
    fn scopes_are_bounded() {
        let many = "s ".repeat(MAX_SCOPES + 1);
        assert_eq!(check_scope(&many).map_err(|d| d.error), Err("invalid_scope"));
        assert!(check_scope(&"s ".repeat(MAX_SCOPES)).is_ok());
        assert!(check_scope(&"s".repeat(MAX_SCOPE + 1)).is_err());
        assert!(check_scope("").is_ok());
    }

    #[test]
    fn the_consent_page_names_the_redirect_host() {
        assert_eq!(host_of("http://127.0.0.1:8799/cb"), "127.0.0.1:8799");
        assert_eq!(host_of("https://app.test/cb"), "app.test");
        assert_eq!(host_of("not a url"), "");
    }
}
