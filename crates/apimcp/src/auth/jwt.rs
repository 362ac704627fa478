//! JWT access tokens checked against the issuer's JWKS: keys discovered from the issuer's
//! RFC 8414 or OpenID metadata, cached, and refetched on an unknown `kid` at most once per
//! [`REFETCH_INTERVAL`]. Asymmetric algorithms only: `none` and HMAC are refused before any
//! key is looked at, so a public key can never be used as an HMAC secret.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde_json::Value;
use tokio::sync::Mutex;

use super::logline::shown;
use super::verifier::{BearerToken, Principal, TokenVerifier, VerifyError};

/// The least time between two JWKS fetches caused by unknown keys.
pub const REFETCH_INTERVAL: Duration = Duration::from_secs(10);
/// How long fetched keys are trusted before a routine refresh.
const KEYS_TTL: Duration = Duration::from_secs(600);
/// Clock skew allowed on `exp` and `nbf`.
const LEEWAY_SECS: u64 = 30;
/// The least time between two JWKS fetches while no keys are held (the issuer was down).
pub const FIRST_FETCH_RETRY: Duration = Duration::from_millis(500);
/// The bound on one metadata or JWKS request.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

const ACCEPTED: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Verifies JWTs from one issuer for this server's audience.
pub struct JwtVerifier {
    issuer: String,
    audiences: Vec<String>,
    jwks_uri: Option<String>,
    client: reqwest::Client,
    keys: Mutex<Keys>,
    /// Held by the one request that refreshes the keys.
    fetching: Mutex<()>,
    /// Whether only `typ: at+jwt` (RFC 9068) is accepted.
    require_at_jwt: bool,
}

#[derive(Default)]
struct Keys {
    set: Option<JwkSet>,
    fetched: Option<Instant>,
    attempted: Option<Instant>,
}

impl JwtVerifier {
    /// Tokens from `issuer` whose `aud` contains `audience` (this server's canonical URL, or
    /// the configured audience).
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audiences: vec![audience.into()],
            jwks_uri: None,
            client: reqwest::Client::builder()
                .timeout(FETCH_TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
            keys: Mutex::default(),
            fetching: Mutex::default(),
            require_at_jwt: false,
        }
    }

    /// Also accept this audience.
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Accept only tokens whose header says `typ: at+jwt` (RFC 9068 access tokens). By default
    /// `JWT`, `at+jwt` and no `typ` are accepted (Auth0 and others send `JWT`); any other type
    /// (an ID token's or a DPoP proof's, `dpop+jwt`) is always refused.
    pub fn require_at_jwt(mut self) -> Self {
        self.require_at_jwt = true;
        self
    }

    /// The JWKS URL, instead of discovering it from the issuer's metadata.
    pub fn with_jwks_uri(mut self, uri: impl Into<String>) -> Self {
        self.jwks_uri = Some(uri.into());
        self
    }

    /// The verifier holding `set` as if it had just fetched it, so no token waits for the
    /// network (the fuzz targets', through `test_helpers`).
    #[cfg(feature = "__private")]
    pub(crate) fn holding(mut self, set: JwkSet) -> Self {
        let keys = self.keys.get_mut();
        keys.set = Some(set);
        keys.fetched = Some(Instant::now());
        keys.attempted = keys.fetched;
        self
    }

    async fn check(&self, token: &str) -> Result<Principal, VerifyError> {
        if let Some(alg) = declared_algorithm(token)
            && !ACCEPTED.iter().any(|a| format!("{a:?}") == alg)
        {
            return Err(VerifyError::Invalid(format!(
                "the algorithm {} is not accepted",
                shown(&alg)
            )));
        }
        let header = decode_header(token).map_err(|_| VerifyError::Invalid("the token is not a JWT".into()))?;
        self.check_type(header.typ.as_deref())?;
        if !ACCEPTED.contains(&header.alg) {
            return Err(VerifyError::Invalid(format!(
                "the algorithm {:?} is not accepted",
                header.alg
            )));
        }
        let key = self.key(header.kid.as_deref(), header.alg).await?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&self.audiences);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let data = decode::<Value>(token, &key, &validation).map_err(|e| VerifyError::Invalid(describe(&e)))?;
        Ok(principal(data.claims))
    }

    /// The key for `kid`. Fresh cached keys are read without waiting for anything; otherwise
    /// one request at a time refreshes the set (the others wait for its result, a stale key
    /// is used while a refresh is in flight), and the network call holds no lock on the keys.
    async fn key(&self, kid: Option<&str>, alg: Algorithm) -> Result<DecodingKey, VerifyError> {
        let (cached, fresh) = self.lookup(kid, alg).await;
        let _gate = match (cached, self.fetching.try_lock()) {
            (Some(jwk), _) if fresh => return decoding_key(&jwk),
            (Some(jwk), Err(_)) => return decoding_key(&jwk),
            (_, Ok(gate)) => gate,
            (None, Err(_)) => self.fetching.lock().await,
        };
        if let (Some(jwk), true) = self.lookup(kid, alg).await {
            return decoding_key(&jwk); // fetched while this request waited
        }
        self.refresh().await?;
        let (found, _) = self.lookup(kid, alg).await;
        let jwk =
            found.ok_or_else(|| VerifyError::Invalid("the token's signing key is not one of the issuer's".into()))?;
        decoding_key(&jwk)
    }

    /// The cached key for `kid`, and whether the set is fresh.
    async fn lookup(&self, kid: Option<&str>, alg: Algorithm) -> (Option<jsonwebtoken::jwk::Jwk>, bool) {
        let keys = self.keys.lock().await;
        let fresh = keys.fetched.is_some_and(|t| t.elapsed() <= KEYS_TTL);
        (find(keys.set.as_ref(), kid, alg), fresh)
    }

    /// Fetches the JWKS if the rate allows: once per [`REFETCH_INTERVAL`] once keys are held,
    /// once per [`FIRST_FETCH_RETRY`] before, so a flood of tokens is never a flood of fetches.
    async fn refresh(&self) -> Result<(), VerifyError> {
        let has_keys = {
            let mut keys = self.keys.lock().await;
            let interval = if keys.set.is_some() {
                REFETCH_INTERVAL
            } else {
                FIRST_FETCH_RETRY
            };
            if keys.attempted.is_some_and(|t| t.elapsed() < interval) {
                return match keys.set {
                    Some(_) => Ok(()),
                    None => Err(VerifyError::Unavailable(
                        "no keys yet: the last JWKS fetch failed".into(),
                    )),
                };
            }
            keys.attempted = Some(Instant::now());
            keys.set.is_some()
        };
        match self.fetch().await {
            Ok(set) => {
                let mut keys = self.keys.lock().await;
                keys.set = Some(set);
                keys.fetched = Some(Instant::now());
                Ok(())
            }
            Err(e) if !has_keys => Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "JWKS refresh failed; keeping the keys fetched before");
                Ok(())
            }
        }
    }

    /// RFC 9068: an access token says `at+jwt` (or, commonly, `JWT` or nothing); a token
    /// that names another kind is not an access token.
    fn check_type(&self, typ: Option<&str>) -> Result<(), VerifyError> {
        let typ = typ.map(|t| t.strip_prefix("application/").unwrap_or(t));
        let at_jwt = typ.is_some_and(|t| t.eq_ignore_ascii_case("at+jwt"));
        let plain = typ.is_none_or(|t| t.eq_ignore_ascii_case("jwt"));
        match (at_jwt, plain, self.require_at_jwt) {
            (true, _, _) | (false, true, false) => Ok(()),
            (false, true, true) => Err(VerifyError::Invalid(
                "this server accepts only `typ: at+jwt` access tokens".into(),
            )),
            (false, false, _) => Err(VerifyError::Invalid(format!(
                "a `{}` token is not an access token",
                shown(typ.unwrap_or_default())
            ))),
        }
    }

    async fn fetch(&self) -> Result<JwkSet, VerifyError> {
        let uri = match &self.jwks_uri {
            Some(uri) => uri.clone(),
            None => self.discover_jwks_uri().await?,
        };
        let set: JwkSet = self.get_json(&uri).await?;
        Ok(set)
    }

    /// RFC 8414 metadata first, then OpenID discovery (path-inserted for issuers with a path,
    /// then appended).
    async fn discover_jwks_uri(&self) -> Result<String, VerifyError> {
        let mut last = VerifyError::Unavailable(format!("no metadata found for {}", self.issuer));
        for url in discovery_urls(&self.issuer) {
            match self.get_json::<Value>(&url).await {
                Ok(meta) => {
                    if let Some(uri) = meta.get("jwks_uri").and_then(Value::as_str) {
                        return Ok(uri.to_owned());
                    }
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, VerifyError> {
        let response = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| VerifyError::Unavailable(format!("{url}: {e}")))?;
        if !response.status().is_success() {
            return Err(VerifyError::Unavailable(format!(
                "{url}: HTTP {}",
                response.status().as_u16()
            )));
        }
        response
            .json()
            .await
            .map_err(|e| VerifyError::Unavailable(format!("{url}: {e}")))
    }
}

/// The `alg` the token's header names, read before any parsing that only knows some names
/// (so `none` is refused by name).
fn declared_algorithm(token: &str) -> Option<String> {
    use base64::Engine as _;
    let header = token.split('.').next()?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header.trim_end_matches('='))
        .ok()?;
    let json: Value = serde_json::from_slice(&bytes).ok()?;
    json.get("alg")?.as_str().map(str::to_owned)
}

pub(crate) fn discovery_urls(issuer: &str) -> Vec<String> {
    let issuer = issuer.trim_end_matches('/');
    let Ok(url) = reqwest::Url::parse(issuer) else {
        return Vec::new();
    };
    let origin = url.origin().ascii_serialization();
    let path = url.path().trim_end_matches('/');
    let mut urls = vec![
        format!("{origin}/.well-known/oauth-authorization-server{path}"),
        format!("{origin}/.well-known/openid-configuration{path}"),
    ];
    if !path.is_empty() {
        urls.push(format!("{issuer}/.well-known/openid-configuration"));
    }
    urls
}

fn decoding_key(jwk: &jsonwebtoken::jwk::Jwk) -> Result<DecodingKey, VerifyError> {
    DecodingKey::from_jwk(jwk).map_err(|e| VerifyError::Invalid(format!("unusable signing key: {e}")))
}

/// The JWK for `kid` (or the only one usable for `alg` when the token names none).
fn find(set: Option<&JwkSet>, kid: Option<&str>, alg: Algorithm) -> Option<jsonwebtoken::jwk::Jwk> {
    let set = set?;
    match kid {
        Some(kid) => set.find(kid).cloned(),
        None => {
            let usable: Vec<_> = set
                .keys
                .iter()
                .filter(|k| DecodingKey::from_jwk(k).is_ok() && key_fits(k, alg))
                .collect();
            (usable.len() == 1).then(|| usable[0].clone())
        }
    }
}

fn key_fits(jwk: &jsonwebtoken::jwk::Jwk, alg: Algorithm) -> bool {
    use jsonwebtoken::jwk::AlgorithmParameters as P;
    matches!(
        (&jwk.algorithm, alg),
        (
            P::RSA(_),
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512
        ) | (P::EllipticCurve(_), Algorithm::ES256 | Algorithm::ES384)
            | (P::OctetKeyPair(_), Algorithm::EdDSA)
    )
}

fn describe(error: &jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind as K;
    match error.kind() {
        K::ExpiredSignature => "the token has expired".into(),
        K::ImmatureSignature => "the token is not valid yet".into(),
        K::InvalidAudience => "the token was not issued for this server (aud)".into(),
        K::InvalidIssuer => "the token is from another issuer (iss)".into(),
        K::InvalidSignature => "the token's signature does not verify".into(),
        K::MissingRequiredClaim(claim) => format!("the token has no `{claim}` claim"),
        K::InvalidAlgorithm => "the token's algorithm does not match its key".into(),
        _ => format!("the token is not valid: {error}"),
    }
}

/// `sub`, `client_id` (or `azp`), and scopes from `scope` (space-separated) or `scp`.
pub(crate) fn principal(claims: Value) -> Principal {
    let text = |key: &str| claims.get(key).and_then(Value::as_str).map(str::to_owned);
    let mut scopes: BTreeSet<String> = text("scope")
        .map(|s| s.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    if let Some(Value::Array(list)) = claims.get("scp") {
        scopes.extend(list.iter().filter_map(Value::as_str).map(str::to_owned));
    }
    Principal {
        subject: text("sub"),
        client_id: text("client_id").or_else(|| text("azp")),
        scopes,
        claims,
    }
}

impl TokenVerifier for JwtVerifier {
    fn verify<'a>(&'a self, token: &'a BearerToken) -> BoxFuture<'a, Result<Principal, VerifyError>> {
        Box::pin(self.check(token.secret()))
    }

    /// Keys held, or fetched now (at the rate [`REFETCH_INTERVAL`] and [`FIRST_FETCH_RETRY`]
    /// allow, so a probe is never a flood of fetches).
    fn ready(&self) -> BoxFuture<'_, Result<(), VerifyError>> {
        Box::pin(self.refresh())
    }
}

#[cfg(test)]
mod tests;
