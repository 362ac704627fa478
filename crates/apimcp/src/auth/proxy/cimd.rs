//! Client ID metadata documents (draft-ietf-oauth-client-id-metadata-document, MCP 2025-11-25
//! and later): a client whose `client_id` is an https URL is described by the JSON document at
//! that URL. apimcp fetches it as an outsider's URL must be fetched: https only, never to a
//! private, loopback or link-local address (checked on the addresses the connection uses, so a
//! DNS answer cannot change between the check and the connection), no redirects, at most
//! [`MAX_DOCUMENT`] bytes within [`FETCH_TIMEOUT`], and cached as its `Cache-Control` says, up
//! to [`MAX_CACHE_AGE`] and [`MAX_CACHED`] documents.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use url::{Host, Url};

use super::registration::check_redirect_uri;

/// The largest document read (the draft's recommended limit).
pub(super) const MAX_DOCUMENT: usize = 5 * 1024;
/// How long fetching a document may take, connection included.
pub(super) const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest a document is cached, whatever its `Cache-Control` says.
pub(super) const MAX_CACHE_AGE: Duration = Duration::from_secs(3600);
/// How long a document without `Cache-Control` is cached.
const DEFAULT_CACHE_AGE: Duration = Duration::from_secs(300);
/// The most documents cached at once.
pub(super) const MAX_CACHED: usize = 1024;
/// The longest `client_id` URL taken.
const MAX_URL: usize = 2048;

/// Why a client id metadata document cannot describe a client: each is `invalid_client`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum CimdError {
    /// The client id is a URL, but not one a metadata document may have.
    #[error("the client id {url:?} is not a valid client metadata document URL: {why}")]
    BadUrl { url: String, why: &'static str },
    /// The host is, or resolves to, an address apimcp does not fetch from.
    #[error(
        "the client id {url:?} points at {address}, a private, loopback or link-local address, which is not fetched"
    )]
    ForbiddenAddress { url: String, address: IpAddr },
    /// The document could not be fetched.
    #[error("the client metadata document at {url} could not be fetched: {reason}")]
    Unreachable { url: String, reason: String },
    /// The server answered with a redirect, which is not followed.
    #[error("the client metadata document at {url} answered with a redirect (status {status}), which is not followed")]
    Redirected { url: String, status: u16 },
    /// The server answered with another status than 200.
    #[error("the client metadata document at {url} answered with status {status}, not 200")]
    Status { url: String, status: u16 },
    /// The document is larger than [`MAX_DOCUMENT`].
    #[error("the client metadata document at {url} is larger than {MAX_DOCUMENT} bytes")]
    TooLarge { url: String },
    /// The document is not a JSON object.
    #[error("the client metadata document at {url} is not a JSON object")]
    NotJson { url: String },
    /// The document's `client_id` is not its URL.
    #[error("the client metadata document at {url} names the client_id {found:?}, not its own URL")]
    ClientIdMismatch { url: String, found: String },
    /// A required member is missing or mistyped.
    #[error("the client metadata document at {url} has no valid {member}")]
    Missing { url: String, member: &'static str },
    /// A redirect URI it lists cannot be used.
    #[error("the client metadata document at {url} lists a redirect URI that cannot be used: {why}")]
    RedirectUri { url: String, why: String },
    /// It asks for client authentication with a secret, which a document cannot hold.
    #[error(
        "the client metadata document at {url} asks for token_endpoint_auth_method {method:?}; only \"none\" is supported"
    )]
    AuthMethod { url: String, method: String },
    /// Client metadata documents are turned off.
    #[error("client ids that are URLs (client metadata documents) are not accepted by this server")]
    Off,
}

/// A client described by its metadata document.
#[derive(Clone, Debug)]
pub(super) struct DocumentClient {
    pub(super) client_name: String,
    pub(super) redirect_uris: Vec<String>,
}

/// Fetches and caches client metadata documents.
pub(crate) struct Documents {
    client: reqwest::Client,
    /// The test-only relaxation: http and loopback addresses are allowed for loopback hosts.
    allow_loopback: bool,
    cache: Mutex<HashMap<String, Cached>>,
}

struct Cached {
    client: DocumentClient,
    expires: Instant,
}

impl Documents {
    /// `allow_loopback`: serve documents from loopback over plain http too (tests only).
    pub(crate) fn new(allow_loopback: bool) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .connect_timeout(FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would resolve the name itself, past the address check.
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver { allow_loopback }))
            .user_agent(concat!("apimcp/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            client,
            allow_loopback,
            cache: Mutex::default(),
        })
    }

    /// The client `url` describes: cached, or fetched and checked.
    pub(super) async fn client(&self, url: &str) -> Result<DocumentClient, CimdError> {
        if let Some(client) = self.cached(url, Instant::now()) {
            return Ok(client);
        }
        let checked = self.check_url(url)?;
        let (body, max_age) = self.fetch(&checked).await?;
        let client = parse_document(url, &body)?;
        if let Some(age) = max_age {
            self.keep(url, &client, Instant::now() + age);
        }
        Ok(client)
    }

    fn cached(&self, url: &str, now: Instant) -> Option<DocumentClient> {
        let cache = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        cache
            .get(url)
            .filter(|cached| cached.expires > now)
            .map(|cached| cached.client.clone())
    }

    /// Caches `client` until `expires`; when full, drops the expired, then the soonest to expire.
    fn keep(&self, url: &str, client: &DocumentClient, expires: Instant) {
        let mut cache = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if cache.len() >= MAX_CACHED && !cache.contains_key(url) {
            let now = Instant::now();
            cache.retain(|_, cached| cached.expires > now);
            if cache.len() >= MAX_CACHED
                && let Some(soonest) = cache.iter().min_by_key(|(_, c)| c.expires).map(|(k, _)| k.clone())
            {
                cache.remove(&soonest);
            }
        }
        let client = client.clone();
        cache.insert(url.to_owned(), Cached { client, expires });
    }

    /// The URL rules of the draft (§3): https, a path, no fragment, no credentials, no dot
    /// segments; and, for an address written in the URL, one apimcp may fetch from.
    fn check_url(&self, raw: &str) -> Result<Url, CimdError> {
        let bad = |why| CimdError::BadUrl {
            url: raw.to_owned(),
            why,
        };
        if raw.len() > MAX_URL {
            return Err(bad("it is longer than 2048 characters"));
        }
        let url = Url::parse(raw).map_err(|_| bad("it is not a URL"))?;
        let loopback_http = self.allow_loopback && url.scheme() == "http" && is_loopback_host(&url);
        if url.scheme() != "https" && !loopback_http {
            return Err(bad("it must be an https URL"));
        }
        if url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
            return Err(bad("it must have no fragment and no user name or password"));
        }
        if url.path() == "/" || url.path().is_empty() {
            return Err(bad("it must have a path"));
        }
        let written_path = raw.split(['?', '#']).next().unwrap_or_default();
        if written_path.split('/').any(|s| s == "." || s == "..") {
            return Err(bad("its path must have no . or .. segments"));
        }
        let literal = match url.host() {
            Some(Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        match literal {
            Some(address) if !allowed(address, self.allow_loopback) => Err(CimdError::ForbiddenAddress {
                url: raw.to_owned(),
                address,
            }),
            _ => Ok(url),
        }
    }

    /// The document's bytes (at most [`MAX_DOCUMENT`]) and how long it may be cached.
    async fn fetch(&self, url: &Url) -> Result<(Vec<u8>, Option<Duration>), CimdError> {
        let raw = url.as_str().to_owned();
        let mut response = self
            .client
            .get(url.clone())
            .header(http::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|error| unreachable(&raw, error))?;
        let status = response.status();
        if status.is_redirection() {
            return Err(CimdError::Redirected {
                url: raw,
                status: status.as_u16(),
            });
        }
        if status != reqwest::StatusCode::OK {
            return Err(CimdError::Status {
                url: raw,
                status: status.as_u16(),
            });
        }
        let max_age = cache_age(response.headers());
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|error| unreachable(&raw, error))? {
            if body.len() + chunk.len() > MAX_DOCUMENT {
                return Err(CimdError::TooLarge { url: raw });
            }
            body.extend_from_slice(&chunk);
        }
        Ok((body, max_age))
    }
}

/// The fetch failure, named by its cause (a refused address shows as what it is).
fn unreachable(url: &str, error: reqwest::Error) -> CimdError {
    let mut source: Option<&dyn std::error::Error> = Some(&error);
    while let Some(cause) = source {
        if let Some(forbidden) = cause.downcast_ref::<ForbiddenLookup>() {
            return CimdError::ForbiddenAddress {
                url: url.to_owned(),
                address: forbidden.0,
            };
        }
        source = cause.source();
    }
    let reason = if error.is_timeout() {
        format!("no answer within {} s", FETCH_TIMEOUT.as_secs())
    } else {
        error.without_url().to_string()
    };
    CimdError::Unreachable {
        url: url.to_owned(),
        reason,
    }
}

/// How long `Cache-Control` lets the document be cached, at most [`MAX_CACHE_AGE`]; `None`
/// when it must not be (`no-store`, `no-cache`, `private` is fine: apimcp is its one user).
fn cache_age(headers: &http::HeaderMap) -> Option<Duration> {
    let Some(value) = headers.get(http::header::CACHE_CONTROL).and_then(|v| v.to_str().ok()) else {
        return Some(DEFAULT_CACHE_AGE);
    };
    let mut age = DEFAULT_CACHE_AGE;
    for directive in value.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return None;
        }
        if let Some(seconds) = lower.strip_prefix("max-age=") {
            let seconds = seconds.trim_matches('"').parse::<u64>().ok()?;
            if seconds == 0 {
                return None;
            }
            age = Duration::from_secs(seconds);
        }
    }
    Some(age.min(MAX_CACHE_AGE))
}

/// The client the document at `url` describes, checked (draft §4, MCP's required members).
fn parse_document(url: &str, body: &[u8]) -> Result<DocumentClient, CimdError> {
    let Ok(Value::Object(document)) = serde_json::from_slice::<Value>(body) else {
        return Err(CimdError::NotJson { url: url.to_owned() });
    };
    let missing = |member| CimdError::Missing {
        url: url.to_owned(),
        member,
    };
    match document.get("client_id") {
        Some(Value::String(id)) if id == url => {}
        Some(Value::String(found)) => {
            return Err(CimdError::ClientIdMismatch {
                url: url.to_owned(),
                found: found.clone(),
            });
        }
        _ => return Err(missing("client_id")),
    }
    check_auth_method(url, &document)?;
    let client_name = document
        .get("client_name")
        .and_then(Value::as_str)
        .filter(|name| !name.trim().is_empty())
        .ok_or_else(|| missing("client_name"))?;
    Ok(DocumentClient {
        client_name: super::registration::shown_name(client_name),
        redirect_uris: redirect_uris(url, &document)?,
    })
}

/// A public client: no secret in the document, no authentication method apimcp cannot check.
fn check_auth_method(url: &str, document: &Map<String, Value>) -> Result<(), CimdError> {
    if document.contains_key("client_secret") {
        let method = "client_secret".to_owned();
        return Err(CimdError::AuthMethod {
            url: url.to_owned(),
            method,
        });
    }
    match document.get("token_endpoint_auth_method") {
        None => Ok(()),
        Some(Value::String(method)) if method == "none" => Ok(()),
        Some(other) => Err(CimdError::AuthMethod {
            url: url.to_owned(),
            method: other.as_str().map_or_else(|| other.to_string(), str::to_owned),
        }),
    }
}

fn redirect_uris(url: &str, document: &Map<String, Value>) -> Result<Vec<String>, CimdError> {
    let missing = || CimdError::Missing {
        url: url.to_owned(),
        member: "redirect_uris",
    };
    let uris = document
        .get("redirect_uris")
        .and_then(Value::as_array)
        .filter(|uris| !uris.is_empty())
        .ok_or_else(missing)?;
    uris.iter()
        .map(|uri| {
            let uri = uri.as_str().ok_or_else(missing)?;
            check_redirect_uri(uri).map_err(|error| CimdError::RedirectUri {
                url: url.to_owned(),
                why: error.to_string(),
            })
        })
        .collect()
}

fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(domain)) => domain == "localhost",
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Whether apimcp may connect to `address` for a document: a public unicast address, or a
/// loopback one when the test-only relaxation is on.
fn allowed(address: IpAddr, allow_loopback: bool) -> bool {
    if address.is_loopback() || mapped_v4(address).is_some_and(|v4| v4.is_loopback()) {
        return allow_loopback;
    }
    match address {
        IpAddr::V4(v4) => public_v4(v4),
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or_else(|| public_v6(v6), public_v4),
    }
}

fn mapped_v4(address: IpAddr) -> Option<Ipv4Addr> {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped(),
        IpAddr::V4(_) => None,
    }
}

/// Not private (RFC 1918), shared (100.64/10), link-local, loopback, unspecified, broadcast,
/// multicast, documentation or reserved (240/4).
fn public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    let shared = a == 100 && (64..128).contains(&b);
    let reserved = a >= 240 || a == 0;
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || ip.is_unspecified()
        || shared
        || reserved)
}

/// Not unique-local (fc00::/7), link-local (fe80::/10), loopback, unspecified, multicast or
/// documentation (2001:db8::/32).
fn public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    let unique_local = first & 0xfe00 == 0xfc00;
    let link_local = first & 0xffc0 == 0xfe80;
    let documentation = first == 0x2001 && ip.segments()[1] == 0x0db8;
    !(ip.is_loopback() || ip.is_unspecified() || ip.is_multicast() || unique_local || link_local || documentation)
}

/// A name that resolved to an address apimcp does not fetch from.
#[derive(Debug, thiserror::Error)]
#[error("the name resolves to {0}, a private, loopback or link-local address")]
struct ForbiddenLookup(IpAddr);

/// The resolver of the document fetcher: the system's, refusing any name with a forbidden
/// address among its answers (one bad answer is enough: a client could pick it).
struct GuardedResolver {
    allow_loopback: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_loopback = self.allow_loopback;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if let Some(bad) = found.iter().find(|a| !allowed(a.ip(), allow_loopback)) {
                return Err(Box::new(ForbiddenLookup(bad.ip())) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(found.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn documents(allow_loopback: bool) -> Documents {
        Documents::new(allow_loopback).expect("client")
    }

    #[test]
    fn only_public_addresses_are_fetched_from() {
        for public in ["93.184.216.34", "2606:4700::1111", "1.1.1.1"] {
            assert!(allowed(public.parse().expect("ip"), false), "{public}");
        }
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "224.0.0.1",
        ] {
            assert!(!allowed(private.parse().expect("ip"), false), "{private}");
        }
        assert!(allowed("127.0.0.1".parse().expect("ip"), true));
        assert!(
            !allowed("10.0.0.1".parse().expect("ip"), true),
            "only loopback is relaxed"
        );
    }

    #[test]
    fn document_urls_follow_the_drafts_rules() {
        let strict = documents(false);
        assert!(strict.check_url("https://app.test/client.json").is_ok());
        let why = |url: &str| strict.check_url(url).map_err(|e| e.to_string()).err();
        assert!(why("http://app.test/client.json").is_some_and(|w| w.contains("https")));
        assert!(why("https://app.test/").is_some_and(|w| w.contains("path")));
        assert!(why("https://app.test/a#f").is_some_and(|w| w.contains("fragment")));
        assert!(why("https://u:p@app.test/a").is_some_and(|w| w.contains("password")));
        assert!(why("https://app.test/a/../b").is_some_and(|w| w.contains("segments")));
        assert!(why("https://127.0.0.1/client.json").is_some_and(|w| w.contains("loopback")));
        assert!(why("https://[::1]/client.json").is_some());
        assert!(
            why("http://127.0.0.1:9/client.json").is_some(),
            "http only when relaxed"
        );
        let relaxed = documents(true);
        assert!(relaxed.check_url("http://127.0.0.1:9/client.json").is_ok());
        assert!(relaxed.check_url("http://app.test/client.json").is_err());
    }

    #[test]
    fn documents_must_describe_themselves() {
        let url = "https://app.test/c.json";
        let parse = |doc: Value| parse_document(url, doc.to_string().as_bytes());
        let good =
            serde_json::json!({"client_id": url, "client_name": "App", "redirect_uris": ["http://127.0.0.1/cb"]});
        let client = parse(good.clone()).expect("valid");
        assert_eq!((client.client_name.as_str(), client.redirect_uris.len()), ("App", 1));
        let mut other = good.clone();
        other["client_id"] = "https://evil.test/c.json".into();
        assert!(matches!(parse(other), Err(CimdError::ClientIdMismatch { .. })));
        let mut secret = good.clone();
        secret["token_endpoint_auth_method"] = "client_secret_basic".into();
        assert!(matches!(parse(secret), Err(CimdError::AuthMethod { .. })));
        let mut bad_uri = good.clone();
        bad_uri["redirect_uris"] = serde_json::json!(["http://evil.test/cb"]);
        assert!(matches!(parse(bad_uri), Err(CimdError::RedirectUri { .. })));
        let mut no_name = good;
        no_name.as_object_mut().expect("object").remove("client_name");
        assert!(matches!(
            parse(no_name),
            Err(CimdError::Missing {
                member: "client_name",
                ..
            })
        ));
        assert!(matches!(parse_document(url, b"[1]"), Err(CimdError::NotJson { .. })));
    }

    #[test]
    fn cache_control_is_honoured_up_to_a_bound() {
        let age = |value: &str| {
            let mut headers = http::HeaderMap::new();
            headers.insert(http::header::CACHE_CONTROL, value.parse().expect("header"));
            cache_age(&headers)
        };
        assert_eq!(age("max-age=60"), Some(Duration::from_secs(60)));
        assert_eq!(age("public, max-age=999999"), Some(MAX_CACHE_AGE));
        assert_eq!(age("no-store"), None);
        assert_eq!(age("max-age=0"), None);
        assert_eq!(cache_age(&http::HeaderMap::new()), Some(DEFAULT_CACHE_AGE));
    }

    #[test]
    fn the_cache_is_bounded() {
        let docs = documents(false);
        let client = DocumentClient {
            client_name: "A".into(),
            redirect_uris: vec![],
        };
        let later = Instant::now() + Duration::from_secs(60);
        for i in 0..MAX_CACHED + 10 {
            docs.keep(
                &format!("https://a.test/{i}"),
                &client,
                later + Duration::from_millis(i as u64),
            );
        }
        assert_eq!(docs.cache.lock().expect("lock").len(), MAX_CACHED);
        assert!(
            docs.cached("https://a.test/0", Instant::now()).is_none(),
            "the soonest to expire went"
        );
        assert!(
            docs.cached(&format!("https://a.test/{}", MAX_CACHED + 9), Instant::now())
                .is_some()
        );
    }
}
