//! The upstream settings checked against the document once, then applied to every request.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::header::{AUTHORIZATION, COOKIE, USER_AGENT};
use http::{HeaderName, HeaderValue, Request, Uri};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

use super::oauth::TokenSource;
use super::schemes::{KeyLocation, SchemeKind, document_schemes};
use super::{
    ClientCredentials, Credential, CredentialError, DEFAULT_USER_AGENT, Secret, UpstreamConfig, UpstreamError,
};

/// RFC 3986 unreserved characters stay; everything else is percent-encoded.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// How one scheme's credential goes into a request.
enum Applied {
    Header(HeaderName, HeaderValue),
    /// `name=value`, percent-encoded, for the query string.
    Query(String),
    /// `name=value`, percent-encoded, for the `Cookie` header.
    Cookie(String),
    OAuth(Arc<TokenSource>),
}

/// Fixed headers and credentials by scheme name, ready to apply.
pub(crate) struct Upstream {
    headers: Vec<(HeaderName, HeaderValue)>,
    schemes: HashMap<String, Applied>,
}

/// What a call was given: the tokens to forget if the API answers 401.
#[derive(Default)]
pub(crate) struct Used(Vec<Arc<TokenSource>>);

impl Used {
    /// The API refused the call's token: the next call fetches a new one.
    pub(crate) fn rejected(&self) {
        self.0.iter().for_each(|t| t.forget());
    }
}

impl Upstream {
    /// Checks `config` against the document `doc`. `base` is the remote API's URL (relative
    /// token URLs are resolved against it); `timeout` bounds each token request.
    pub(crate) fn new(
        doc: &Value,
        config: &UpstreamConfig,
        base: Option<&url::Url>,
        timeout: Duration,
    ) -> Result<Self, UpstreamError> {
        let kinds = document_schemes(doc);
        let client = token_client(timeout)?;
        let mut schemes = HashMap::new();
        for (name, credential) in &config.credentials {
            let Some(kind) = kinds.get(name) else {
                return Err(unknown(name, &kinds));
            };
            let context = SchemeContext {
                name,
                base,
                client: &client,
            };
            schemes.insert(name.clone(), applied(&context, kind, credential)?);
        }
        Ok(Self {
            headers: fixed_headers(config)?,
            schemes,
        })
    }

    /// The forwarded header names that configuration also sets (for the start-up warning).
    pub(crate) fn overlaps<'a>(&self, forwarded: &'a [HeaderName]) -> Vec<&'a HeaderName> {
        forwarded.iter().filter(|name| self.sets(name)).collect()
    }

    fn sets(&self, name: &HeaderName) -> bool {
        let fixed = self.headers.iter().any(|(h, _)| h == name);
        fixed
            || self.schemes.values().any(|a| match a {
                Applied::Header(h, _) => h == name,
                Applied::OAuth(_) => name == AUTHORIZATION,
                Applied::Query(_) | Applied::Cookie(_) => name == COOKIE,
            })
    }

    /// Puts the fixed headers and the credentials of the first alternative of `security`
    /// that configuration can meet into `request`.
    pub(crate) async fn apply(
        &self,
        security: &[Vec<String>],
        request: &mut Request<Bytes>,
    ) -> Result<Used, CredentialError> {
        for (name, value) in &self.headers {
            request.headers_mut().insert(name.clone(), value.clone());
        }
        let mut used = Used::default();
        for scheme in self.alternative(security) {
            match &self.schemes[scheme.as_str()] {
                Applied::Header(name, value) => {
                    request.headers_mut().insert(name.clone(), value.clone());
                }
                Applied::Query(pair) => add_query(request, pair),
                Applied::Cookie(pair) => add_cookie(request, pair),
                Applied::OAuth(source) => {
                    request
                        .headers_mut()
                        .insert(AUTHORIZATION, source.authorization().await?);
                    used.0.push(source.clone());
                }
            }
        }
        Ok(used)
    }

    /// The first alternative that names at least one scheme and whose every scheme has a
    /// credential; none when there is no such alternative.
    fn alternative<'s>(&self, security: &'s [Vec<String>]) -> &'s [String] {
        security
            .iter()
            .find(|alt| !alt.is_empty() && alt.iter().all(|s| self.schemes.contains_key(s)))
            .map_or(&[], Vec::as_slice)
    }
}

/// The default `User-Agent`, then the configured headers (a later one replaces an earlier one
/// of the same name).
fn fixed_headers(config: &UpstreamConfig) -> Result<Vec<(HeaderName, HeaderValue)>, UpstreamError> {
    let mut headers = vec![(USER_AGENT, HeaderValue::from_static(DEFAULT_USER_AGENT))];
    for (name, value) in &config.headers {
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| UpstreamError::InvalidHeaderName { name: name.clone() })?;
        let value = sensitive(value.expose(), || format!("header {name}"))?;
        headers.retain(|(h, _)| *h != name);
        headers.push((name, value));
    }
    Ok(headers)
}

/// A header value marked sensitive (HTTP/2 never indexes it, and `Debug` hides it).
fn sensitive(text: &str, what: impl FnOnce() -> String) -> Result<HeaderValue, UpstreamError> {
    let mut value = HeaderValue::from_str(text).map_err(|_| UpstreamError::InvalidHeaderValue { what: what() })?;
    value.set_sensitive(true);
    Ok(value)
}

fn unknown(name: &str, kinds: &BTreeMap<String, SchemeKind>) -> UpstreamError {
    UpstreamError::UnknownScheme {
        scheme: name.to_owned(),
        known: kinds.keys().cloned().collect(),
    }
}

fn token_client(timeout: Duration) -> Result<reqwest::Client, UpstreamError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(DEFAULT_USER_AGENT)
        .build()
        .map_err(UpstreamError::Client)
}

/// What checking one credential needs besides the scheme.
struct SchemeContext<'a> {
    name: &'a str,
    base: Option<&'a url::Url>,
    client: &'a reqwest::Client,
}

impl SchemeContext<'_> {
    fn wrong(&self, kind: &SchemeKind, expected: &'static str) -> UpstreamError {
        UpstreamError::WrongCredential {
            scheme: self.name.to_owned(),
            scheme_type: kind.describe(),
            expected,
        }
    }

    fn authorization(&self, text: &str) -> Result<Applied, UpstreamError> {
        let value = sensitive(text, || format!("credential for {:?}", self.name))?;
        Ok(Applied::Header(AUTHORIZATION, value))
    }
}

fn applied(cx: &SchemeContext<'_>, kind: &SchemeKind, credential: &Credential) -> Result<Applied, UpstreamError> {
    match (kind, credential) {
        (SchemeKind::ApiKey { location, name }, Credential::Value(value)) => api_key(cx, location, name, value),
        (SchemeKind::ApiKey { .. }, _) => Err(cx.wrong(kind, "a single value (value = ...)")),
        (SchemeKind::Http { scheme }, credential) if scheme == "basic" => basic(cx, kind, credential),
        (SchemeKind::Http { scheme }, Credential::Value(token)) => {
            cx.authorization(&format!("{} {}", http_scheme_name(scheme), token.expose()))
        }
        (SchemeKind::Http { .. }, _) => Err(cx.wrong(kind, "a token (token = ...)")),
        (SchemeKind::OAuth2 { .. } | SchemeKind::OpenIdConnect, Credential::Value(token)) => {
            cx.authorization(&format!("Bearer {}", token.expose()))
        }
        (SchemeKind::OAuth2 { token_url }, Credential::ClientCredentials(cc)) => {
            client_credentials(cx, token_url.as_deref(), cc)
        }
        (SchemeKind::OpenIdConnect, Credential::ClientCredentials(cc)) => client_credentials(cx, None, cc),
        (SchemeKind::OAuth2 { .. } | SchemeKind::OpenIdConnect, Credential::Basic { .. }) => Err(cx.wrong(
            kind,
            "a token (token = ...) or client credentials (client_id, client_secret)",
        )),
        (SchemeKind::Other { scheme_type }, _) => Err(UpstreamError::UnsupportedScheme {
            scheme: cx.name.to_owned(),
            scheme_type: scheme_type.clone(),
        }),
    }
}

/// `Bearer` and `Basic` as RFC 6750 and 7617 write them; other schemes as the document does.
fn http_scheme_name(scheme: &str) -> &str {
    match scheme {
        "bearer" => "Bearer",
        other => other,
    }
}

fn api_key(
    cx: &SchemeContext<'_>,
    location: &KeyLocation,
    name: &str,
    value: &Secret,
) -> Result<Applied, UpstreamError> {
    let pair = || {
        let enc = |s: &str| utf8_percent_encode(s, COMPONENT).to_string();
        format!("{}={}", enc(name), enc(value.expose()))
    };
    match location {
        KeyLocation::Header => {
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| UpstreamError::InvalidHeaderName { name: name.to_owned() })?;
            Ok(Applied::Header(
                header,
                sensitive(value.expose(), || format!("credential for {:?}", cx.name))?,
            ))
        }
        KeyLocation::Query => Ok(Applied::Query(pair())),
        KeyLocation::Cookie => Ok(Applied::Cookie(pair())),
    }
}

fn basic(cx: &SchemeContext<'_>, kind: &SchemeKind, credential: &Credential) -> Result<Applied, UpstreamError> {
    let joined = match credential {
        Credential::Basic { username, password } => format!("{username}:{}", password.expose()),
        Credential::Value(pair) if pair.expose().contains(':') => pair.expose().to_owned(),
        _ => return Err(cx.wrong(kind, "a username and password (or one value `username:password`)")),
    };
    let encoded = base64::engine::general_purpose::STANDARD.encode(joined);
    cx.authorization(&format!("Basic {encoded}"))
}

fn client_credentials(
    cx: &SchemeContext<'_>,
    document_url: Option<&str>,
    cc: &ClientCredentials,
) -> Result<Applied, UpstreamError> {
    let url = match (&cc.token_url, document_url) {
        (Some(url), _) => url.clone(),
        (None, Some(text)) => resolve_token_url(cx, text)?,
        (None, None) => {
            return Err(UpstreamError::NoTokenUrl {
                scheme: cx.name.to_owned(),
            });
        }
    };
    if !matches!(url.scheme(), "http" | "https") {
        return Err(UpstreamError::InvalidTokenUrl {
            scheme: cx.name.to_owned(),
            url: url.to_string(),
        });
    }
    let source = TokenSource::new(cx.name, cx.client.clone(), url, cc.clone());
    Ok(Applied::OAuth(Arc::new(source)))
}

/// The document's token URL, absolute or relative to the remote API's base URL.
fn resolve_token_url(cx: &SchemeContext<'_>, text: &str) -> Result<url::Url, UpstreamError> {
    let parsed = match cx.base {
        Some(base) => base.join(text),
        None => url::Url::parse(text),
    };
    parsed.map_err(|_| UpstreamError::InvalidTokenUrl {
        scheme: cx.name.to_owned(),
        url: text.to_owned(),
    })
}

/// Appends `pair` to the request's query string.
fn add_query(request: &mut Request<Bytes>, pair: &str) {
    let uri = request.uri();
    let path_and_query = match uri.query() {
        Some(query) if !query.is_empty() => format!("{}?{query}&{pair}", uri.path()),
        _ => format!("{}?{pair}", uri.path()),
    };
    // The pair is percent-encoded and the rest came from a valid URI, so this parses.
    if let Ok(new) = Uri::try_from(path_and_query) {
        *request.uri_mut() = new;
    }
}

/// Adds `pair` to the request's `Cookie` header.
fn add_cookie(request: &mut Request<Bytes>, pair: &str) {
    let joined = match request.headers().get(COOKIE).and_then(|v| v.to_str().ok()) {
        Some(existing) => format!("{existing}; {pair}"),
        None => pair.to_owned(),
    };
    if let Ok(mut value) = HeaderValue::from_str(&joined) {
        value.set_sensitive(true);
        request.headers_mut().insert(COOKIE, value);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn doc() -> Value {
        json!({"components": {"securitySchemes": {
            "header_key": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            "query_key": {"type": "apiKey", "in": "query", "name": "api_key"},
            "cookie_key": {"type": "apiKey", "in": "cookie", "name": "sid"},
            "bearer": {"type": "http", "scheme": "bearer"},
            "basic": {"type": "http", "scheme": "basic"},
            "tls": {"type": "mutualTLS"}
        }}})
    }

    fn upstream(config: &UpstreamConfig) -> Result<Upstream, UpstreamError> {
        Upstream::new(&doc(), config, None, Duration::from_secs(1))
    }

    fn value(s: &str) -> Credential {
        Credential::Value(Secret::new(s))
    }

    fn request(uri: &str) -> Request<Bytes> {
        Request::get(uri).body(Bytes::new()).expect("request")
    }

    fn security(alternatives: &[&[&str]]) -> Vec<Vec<String>> {
        alternatives
            .iter()
            .map(|alt| alt.iter().map(|s| (*s).to_owned()).collect())
            .collect()
    }

    #[tokio::test]
    async fn each_scheme_type_lands_where_the_document_says() {
        let config = UpstreamConfig::default()
            .credential("header_key", value("k1"))
            .credential("query_key", value("k 2&x"))
            .credential("cookie_key", value("k3"));
        let upstream = upstream(&config).expect("valid");
        let mut req = request("/items?q=1");
        req.headers_mut().insert(COOKIE, HeaderValue::from_static("a=b"));
        let all = security(&[&["header_key", "query_key", "cookie_key"]]);
        upstream.apply(&all, &mut req).await.expect("applied");
        assert_eq!(req.uri(), "/items?q=1&api_key=k%202%26x");
        assert_eq!(req.headers()["x-api-key"], "k1");
        assert!(req.headers()["x-api-key"].is_sensitive());
        assert_eq!(req.headers()[COOKIE], "a=b; sid=k3");
        assert_eq!(req.headers()[USER_AGENT], DEFAULT_USER_AGENT);
    }

    #[tokio::test]
    async fn bearer_and_basic_fill_authorization() {
        let config = UpstreamConfig::default()
            .credential("bearer", value("tok"))
            .credential("basic", value("user:pa:ss"));
        let upstream = upstream(&config).expect("valid");
        let mut req = request("/");
        upstream
            .apply(&security(&[&["bearer"]]), &mut req)
            .await
            .expect("applied");
        assert_eq!(req.headers()[AUTHORIZATION], "Bearer tok");
        let mut req = request("/");
        upstream
            .apply(&security(&[&["basic"]]), &mut req)
            .await
            .expect("applied");
        assert_eq!(req.headers()[AUTHORIZATION], "Basic dXNlcjpwYTpzcw==");
    }

    #[tokio::test]
    async fn the_first_alternative_configuration_meets_is_used() {
        let config = UpstreamConfig::default().credential("bearer", value("tok"));
        let upstream = upstream(&config).expect("valid");
        let mut req = request("/");
        let alternatives = security(&[&[], &["header_key"], &["bearer"]]);
        upstream.apply(&alternatives, &mut req).await.expect("applied");
        assert_eq!(req.headers()[AUTHORIZATION], "Bearer tok");
        assert!(req.headers().get("x-api-key").is_none());
        let mut anonymous = request("/");
        upstream
            .apply(&security(&[&["header_key"]]), &mut anonymous)
            .await
            .expect("applied");
        assert!(
            anonymous.headers().get(AUTHORIZATION).is_none(),
            "unmet: nothing is sent"
        );
    }

    #[tokio::test]
    async fn fixed_headers_replace_the_user_agent_and_parameters() {
        let config = UpstreamConfig::default()
            .header("User-Agent", "mine/1")
            .header("X-Tenant", "acme");
        let upstream = upstream(&config).expect("valid");
        let mut req = request("/");
        req.headers_mut()
            .insert("x-tenant", HeaderValue::from_static("from-the-model"));
        upstream.apply(&[], &mut req).await.expect("applied");
        assert_eq!(req.headers()[USER_AGENT], "mine/1");
        assert_eq!(req.headers()["x-tenant"], "acme");
    }

    #[test]
    fn mistakes_are_named_without_the_secret() {
        let err = |config: UpstreamConfig| upstream(&config).err().map(|e| e.to_string()).unwrap_or_default();
        let unknown = err(UpstreamConfig::default().credential("nope", value("s3cret")));
        assert!(
            unknown.contains("\"nope\"") && unknown.contains("header_key"),
            "{unknown}"
        );
        let basic = Credential::Basic {
            username: "u".into(),
            password: Secret::new("s3cret"),
        };
        let wrong = err(UpstreamConfig::default().credential("header_key", basic));
        assert!(wrong.contains("apiKey"), "{wrong}");
        let no_colon = err(UpstreamConfig::default().credential("basic", value("s3cret")));
        assert!(no_colon.contains("username:password"), "{no_colon}");
        let tls = err(UpstreamConfig::default().credential("tls", value("s3cret")));
        assert!(tls.contains("mutualTLS"), "{tls}");
        let cr = err(UpstreamConfig::default().credential("bearer", value("s3cret\r\nX: y")));
        assert!(cr.contains("not a valid header value"), "{cr}");
        let oauth = err(UpstreamConfig::default().credential(
            "bearer",
            Credential::ClientCredentials(ClientCredentials::new("id", "s3cret")),
        ));
        assert!(oauth.contains("token"), "{oauth}");
        for text in [unknown, wrong, no_colon, tls, cr, oauth] {
            assert!(!text.contains("s3cret"), "{text}");
        }
    }
}
