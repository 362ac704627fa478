//! `apimcp serve` as the OAuth authorization server MCP clients talk to (`setup_proxies`), in
//! front of oidc-provider in two shapes: a standard provider, and an Auth0-like one (no
//! registration, OpenID discovery only, JWTs only for an `audience`, a confidential client).
//! Driven by mcp-remote (headless), the TypeScript SDK's strict OAuth client, headless Chromium
//! on the consent page, and a scripted person for every way the flow must fail.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::util::issuer::Issuer;
use crate::util::peers::mcp_remote_converse;
use crate::util::{Apimcp, Http, Reply, Start, eventually, free_port, peers, workspace};

/// The redirect URI of the clients this test registers (nothing listens there: the person
/// stops at it).
pub(crate) const CLIENT_REDIRECT: &str = "http://127.0.0.1:8799/cb";
/// What the Auth0-like provider is asked for, as Auth0's API identifier.
const AUDIENCE: &str = "https://items.api.test/";

#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Mode {
    Standard,
    Auth0,
}

/// The demo API, apimcp in front of it as the proxy, and the provider behind.
pub(crate) struct Setup {
    pub(crate) issuer: Issuer,
    _demo: Apimcp,
    pub(crate) server: Apimcp,
    /// apimcp's configuration file, to start it again.
    config: PathBuf,
    /// Its `/readyz`, on the metrics listener.
    readyz: String,
    metrics_port: u16,
}

impl Setup {
    /// `kill -9` apimcp, then starts it again on the same port with `from` replaced by `to` in
    /// its configuration.
    fn restart_with(&mut self, from: &str, to: &str) {
        let toml = std::fs::read_to_string(&self.config).expect("config");
        assert!(toml.contains(from), "{from} in {toml}");
        std::fs::write(&self.config, toml.replace(from, to)).expect("config");
        self.restart_apimcp();
    }

    /// `kill -9` apimcp, then starts it again on the same port with the same configuration.
    fn restart_apimcp(&mut self) {
        let port = reqwest::Url::parse(&self.server.base)
            .ok()
            .and_then(|u| u.port())
            .expect("port");
        self.server.kill();
        self.server = proxy_server(&self.config, self.metrics_port).start_on(port);
    }
}

fn proxy_server(config: &Path, metrics_port: u16) -> Start {
    Apimcp::cmd(["serve", "--config", &config.display().to_string()])
        .arg("--metrics-listen")
        .arg(&format!("127.0.0.1:{metrics_port}"))
        .env("TEST_PROXY_SECRET", "proxy-secret")
        .env("TEST_KEY_OLD", "the key clients were sealed with first")
        .env("TEST_KEY_NEW", "the key that replaces it, put first")
}

pub(crate) fn setup(mode: Mode, extra_toml: &str) -> Setup {
    let issuer = Issuer::reserve("jwt");
    let demo = Apimcp::cmd(["demo"]).start();
    let provider = match mode {
        Mode::Standard => format!("issuer = \"{}\"\n", issuer.url()),
        Mode::Auth0 => format!(
            "issuer = \"{0}\"\noauth_metadata_url = \"{0}/.well-known/openid-configuration\"\nauthorize_url = \"{0}/auth\"\naudience = \"{AUDIENCE}\"\n",
            issuer.url()
        ),
    };
    let state_dir = std::env::temp_dir().join(format!("apimcp-proxy-state-{}", uuid::Uuid::new_v4().simple()));
    let toml = format!(
        "[server]\nstateless = true\nstate_dir = \"{}\"\n[api]\nspec = \"{}\"\nupstream = \"{}\"\n[auth]\n{provider}setup_proxies = true\nclient_id = \"proxy-client\"\nclient_secret = \"env:TEST_PROXY_SECRET\"\ndefault_scope = \"openid mcp:read\"\nscopes_supported = [\"mcp:read\", \"mcp:write\"]\n{extra_toml}",
        state_dir.display(),
        demo.url("/openapi.json"),
        demo.base,
    );
    let config = std::env::temp_dir().join(format!("apimcp-proxy-{}.toml", issuer.port));
    std::fs::write(&config, toml).expect("config");
    let metrics_port = free_port();
    let server = proxy_server(&config, metrics_port).start();
    let mode_name = if mode == Mode::Auth0 { "auth0" } else { "standard" };
    let mut issuer = issuer
        .env("OIDC_MODE", mode_name)
        .env("OIDC_PROXY_REDIRECT", server.url("/oauth/callback"));
    issuer.restart(false);
    Setup {
        issuer,
        _demo: demo,
        server,
        config,
        readyz: format!("http://127.0.0.1:{metrics_port}/readyz"),
        metrics_port,
    }
}

/// A browser with a person at it: follows redirects, shows pages, answers consent forms.
pub(crate) struct Person {
    pub(crate) client: reqwest::blocking::Client,
}

/// Where following a URL ended.
#[derive(Debug)]
pub(crate) enum Stop {
    /// At a URL starting with the prefix looked for.
    Arrived(reqwest::Url),
    /// At a page that is not a redirect: its status and body (a consent page, an error).
    Page(u16, String, reqwest::header::HeaderMap),
}

impl Person {
    pub(crate) fn new() -> Self {
        // No kept-alive connections: each request is a new one, so behind the replicas'
        // round-robin front (oauth_replicas.rs) successive requests land on alternate replicas.
        let client = reqwest::blocking::Client::builder()
            .pool_max_idle_per_host(0)
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(20))
            .build()
            .expect("client");
        Self { client }
    }

    /// GETs `url` and follows redirects until one points under `until`, or a page shows.
    pub(crate) fn follow(&self, url: &str, until: &str) -> Stop {
        let mut url = reqwest::Url::parse(url).expect("url");
        for _ in 0..20 {
            if url.as_str().starts_with(until) {
                return Stop::Arrived(url);
            }
            let response = self.client.get(url.clone()).send().expect("the server answers");
            match self.next(&url, response) {
                Ok(next) => url = next,
                Err(stop) => return stop,
            }
        }
        panic!("more than 20 redirects from {url}");
    }

    fn next(&self, from: &reqwest::Url, response: reqwest::blocking::Response) -> Result<reqwest::Url, Stop> {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        if let Some(location) = headers.get("location").and_then(|l| l.to_str().ok()) {
            return Ok(from.join(location).expect("location"));
        }
        Err(Stop::Page(status, response.text().unwrap_or_default(), headers))
    }

    /// Follows `url` like [`follow`](Self::follow), approving the consent page of the proxy at
    /// `base` if it shows one.
    pub(crate) fn approving(&self, base: &str, url: &str, until: &str) -> Stop {
        match self.follow(url, until) {
            Stop::Page(200, page, _) if page.contains("/oauth/consent") => self.answer(base, &page, "approve", until),
            other => other,
        }
    }

    /// Answers the consent page `page` (found at `base`) and follows on.
    pub(crate) fn answer(&self, base: &str, page: &str, decision: &str, until: &str) -> Stop {
        let field = |name: &str| {
            let marker = format!("name=\"{name}\" value=\"");
            let start = page
                .find(&marker)
                .map(|i| i + marker.len())
                .expect("the form has the field");
            page[start..].split('"').next().expect("value").to_owned()
        };
        let url = reqwest::Url::parse(base)
            .expect("base")
            .join("/oauth/consent")
            .expect("action");
        let response = self
            .client
            .post(url.clone())
            .form(&[
                ("request", field("request").as_str()),
                ("csrf", field("csrf").as_str()),
                ("decision", decision),
            ])
            .send()
            .expect("the consent is sent");
        match self.next(&url, response) {
            Ok(next) => self.follow(next.as_str(), until),
            Err(stop) => stop,
        }
    }
}

/// A PKCE pair.
pub(crate) fn pkce() -> (String, String) {
    let verifier = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

pub(crate) fn register(server: &Apimcp, metadata: &Value) -> (u16, Value) {
    let response = reqwest::blocking::Client::new()
        .post(server.url("/oauth/register"))
        .json(metadata)
        .send()
        .expect("register");
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

pub(crate) fn authorize_url(server: &Apimcp, client_id: &str, redirect: &str, challenge: &str, state: &str) -> String {
    authorize_url_for(server, client_id, redirect, challenge, state, &server.url("/mcp"))
}

fn authorize_url_for(
    server: &Apimcp,
    client_id: &str,
    redirect: &str,
    challenge: &str,
    state: &str,
    resource: &str,
) -> String {
    reqwest::Url::parse_with_params(
        &server.url("/oauth/authorize"),
        [
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", redirect),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
            ("state", state),
            ("scope", "mcp:read"),
            ("resource", resource),
        ],
    )
    .expect("url")
    .to_string()
}

pub(crate) fn query(url: &reqwest::Url, name: &str) -> Option<String> {
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

pub(crate) fn exchange(server: &Apimcp, client_id: &str, code: &str, verifier: &str) -> (u16, Value) {
    let response = reqwest::blocking::Client::new()
        .post(server.url("/oauth/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", client_id),
            ("code", code),
            ("redirect_uri", CLIENT_REDIRECT),
            ("code_verifier", verifier),
        ])
        .send()
        .expect("token request");
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

pub(crate) fn call_get_item(server: &Apimcp, token: &str, id: u64) -> Reply {
    let bearer = format!("Bearer {token}");
    Http::new().post(
        &server.url("/mcp"),
        &[
            ("authorization", bearer.as_str()),
            ("mcp-protocol-version", "2025-06-18"),
        ],
        &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "get_item", "arguments": {"item_id": id}}}),
    )
}

/// The metadata both client generations find: 2025-06-18+ through the protected resource
/// metadata, 2025-03-26 at the origin's root. Both name apimcp as the issuer.
fn check_metadata(setup: &Setup, mode: Mode) {
    let http = Http::new();
    let server = &setup.server;
    let prm: Value = serde_json::from_str(&http.get(&server.url("/.well-known/oauth-protected-resource/mcp")).body)
        .expect("protected resource metadata");
    assert_eq!(prm["authorization_servers"], json!([server.base]), "{prm}");
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let reply = http.get(&server.url(path));
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        let metadata = reply.json();
        assert_eq!(metadata["issuer"], server.base);
        assert_eq!(metadata["authorization_endpoint"], server.url("/oauth/authorize"));
        assert_eq!(metadata["token_endpoint"], server.url("/oauth/token"));
        assert_eq!(metadata["registration_endpoint"], server.url("/oauth/register"));
        assert_eq!(metadata["revocation_endpoint"], server.url("/oauth/revoke"));
        assert_eq!(metadata["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(metadata["authorization_response_iss_parameter_supported"], true);
        assert_eq!(metadata["client_id_metadata_document_supported"], true);
        for not_ours in [
            "jwks_uri",
            "dpop_signing_alg_values_supported",
            "id_token_signing_alg_values_supported",
            "userinfo_endpoint",
        ] {
            assert!(metadata.get(not_ours).is_none(), "only what apimcp does: {not_ours}");
        }
        let text = metadata.to_string();
        assert!(
            !text.contains("None") && !text.contains("null"),
            "no literal None: {text}"
        );
        if mode == Mode::Auth0 {
            assert!(metadata.get("introspection_endpoint").is_none());
        }
    }
    // The 2025-03-26 fallbacks, for clients that find no metadata.
    let fallback = reqwest::blocking::Client::new()
        .post(server.url("/register"))
        .json(&json!({"redirect_uris": [CLIENT_REDIRECT]}))
        .send()
        .expect("register");
    assert_eq!(fallback.status(), 201);
    let token = reqwest::blocking::Client::new()
        .post(server.url("/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", "nobody"),
            ("code", "x"),
        ])
        .send()
        .expect("token");
    assert_eq!(token.status(), 401, "an unknown client is invalid_client");
    let authorize = http.get(&server.url("/authorize?client_id=nobody"));
    assert_eq!(authorize.status, 400);
}

/// Registration: a public client of its own, never the secret; bad redirect URIs refused.
fn registered_client(server: &Apimcp) -> String {
    let (status, client) = register(
        server,
        &json!({"client_name": "Scripted <b>client</b>", "redirect_uris": [CLIENT_REDIRECT], "token_endpoint_auth_method": "client_secret_post"}),
    );
    assert_eq!(status, 201, "{client}");
    assert!(client.get("client_secret").is_none(), "{client}");
    assert!(!client.to_string().contains("proxy-secret"), "{client}");
    assert_eq!(client["token_endpoint_auth_method"], "none");
    assert_ne!(client["client_id"], "proxy-client");
    for bad in ["http://evil.test/cb", "https://app.test/cb#frag", "ftp://127.0.0.1/cb"] {
        let (status, refused) = register(server, &json!({"redirect_uris": [bad]}));
        assert_eq!(status, 400, "{bad}: {refused}");
        assert_eq!(refused["error"], "invalid_redirect_uri", "{refused}");
    }
    client["client_id"].as_str().expect("client_id").to_owned()
}

/// The whole code flow through the consent page, and every way it must fail.
fn code_flow_and_its_failures(setup: &Setup) {
    let server = &setup.server;
    let client_id = registered_client(server);
    let person = Person::new();
    let (verifier, challenge) = pkce();

    // An unregistered redirect URI: an error page, never a redirect to it.
    let stray = authorize_url(server, &client_id, "http://127.0.0.1:9/elsewhere", &challenge, "s0");
    match person.follow(&stray, "http://127.0.0.1:9/") {
        Stop::Page(400, body, _) => assert!(body.contains("not a redirect URI registered"), "{body}"),
        other => panic!("an unregistered redirect URI: {other:?}"),
    }
    // Before consent the redirect URI is not trusted (RFC 9700 §4.11.2): errors are pages.
    let no_pkce = authorize_url(server, &client_id, CLIENT_REDIRECT, &challenge, "s1")
        .replace("code_challenge_method=S256", "code_challenge_method=plain");
    match person.follow(&no_pkce, CLIENT_REDIRECT) {
        Stop::Page(400, body, _) => assert!(body.contains("invalid_request"), "{body}"),
        other => panic!("no PKCE before consent: {other:?}"),
    }
    let elsewhere = authorize_url_for(
        server,
        &client_id,
        CLIENT_REDIRECT,
        &challenge,
        "s1b",
        "https://other.test/mcp",
    );
    match person.follow(&elsewhere, CLIENT_REDIRECT) {
        Stop::Page(400, body, _) => assert!(body.contains("invalid_target"), "{body}"),
        other => panic!("another resource before consent: {other:?}"),
    }

    // The consent page: names the client, its redirect host and the scopes; no framing.
    let url = authorize_url(server, &client_id, CLIENT_REDIRECT, &challenge, "s2");
    let Stop::Page(200, page, headers) = person.follow(&url, CLIENT_REDIRECT) else {
        panic!("a dynamically registered client gets a consent page first");
    };
    assert!(page.contains("Scripted &lt;b&gt;client&lt;/b&gt;"), "{page}");
    assert!(
        page.contains("127.0.0.1:8799") && page.contains("mcp:read") && page.contains("openid"),
        "{page}"
    );
    assert_eq!(headers["x-frame-options"], "DENY");
    // Denied: access_denied, no code.
    match person.answer(&server.base, &page, "deny", CLIENT_REDIRECT) {
        Stop::Arrived(url) => {
            assert_eq!(query(&url, "error").as_deref(), Some("access_denied"));
            assert_eq!(query(&url, "code"), None);
            assert_eq!(query(&url, "iss").as_deref(), Some(server.base.as_str()));
        }
        other => panic!("denied: {other:?}"),
    }
    // A forged CSRF token records nothing.
    let Stop::Page(200, page, _) = person.follow(&url, CLIENT_REDIRECT) else {
        panic!("consent again after a denial");
    };
    let forged = page.replace("name=\"csrf\" value=\"", "name=\"csrf\" value=\"x");
    match person.answer(&server.base, &forged, "approve", CLIENT_REDIRECT) {
        Stop::Page(400, body, _) => assert!(body.contains("CSRF"), "{body}"),
        other => panic!("forged CSRF: {other:?}"),
    }

    // Approved: through the provider and apimcp's callback, back with a code, state and iss.
    let Stop::Page(200, page, _) = person.follow(&url, CLIENT_REDIRECT) else {
        panic!("consent page");
    };
    let callback = server.url("/oauth/callback");
    let Stop::Arrived(at_callback) = person.answer(&server.base, &page, "approve", &callback) else {
        panic!("the provider sends the person to apimcp's callback");
    };
    let Stop::Arrived(back) = person.follow(at_callback.as_str(), CLIENT_REDIRECT) else {
        panic!("the callback sends the person back to the client");
    };
    assert_eq!(query(&back, "state").as_deref(), Some("s2"));
    assert_eq!(query(&back, "iss").as_deref(), Some(server.base.as_str()));
    let code = query(&back, "code").expect("code");
    // The provider's state is single use.
    match person.follow(at_callback.as_str(), CLIENT_REDIRECT) {
        Stop::Page(400, body, _) => assert!(body.contains("unknown, expired or already used"), "{body}"),
        other => panic!("a replayed state: {other:?}"),
    }
    // A wrong verifier: invalid_grant, no token, and the code is spent.
    let (status, refused) = exchange(server, &client_id, &code, &pkce().0);
    assert_eq!(
        (status, refused["error"].as_str()),
        (400, Some("invalid_grant")),
        "{refused}"
    );
    assert!(refused.get("access_token").is_none());
    let (status, _) = exchange(server, &client_id, &code, &verifier);
    assert_eq!(status, 400, "a code that met a wrong verifier is spent");

    // Once consented, errors go back to the client: no PKCE is invalid_request, another
    // resource invalid_target (the static client is not lent out).
    match person.follow(&no_pkce, CLIENT_REDIRECT) {
        Stop::Arrived(url) => {
            assert_eq!(query(&url, "error").as_deref(), Some("invalid_request"));
            assert_eq!(query(&url, "state").as_deref(), Some("s1"));
            assert_eq!(query(&url, "code"), None);
        }
        other => panic!("no PKCE: {other:?}"),
    }
    match person.follow(&elsewhere, CLIENT_REDIRECT) {
        Stop::Arrived(url) => assert_eq!(query(&url, "error").as_deref(), Some("invalid_target"), "{url}"),
        other => panic!("another resource: {other:?}"),
    }

    // Consent is remembered (signed __Host- cookie): straight to the provider this time.
    let (verifier, challenge) = pkce();
    let url = authorize_url(server, &client_id, CLIENT_REDIRECT, &challenge, "s3");
    let Stop::Arrived(back) = person.follow(&url, CLIENT_REDIRECT) else {
        panic!("a remembered consent skips the page");
    };
    let code = query(&back, "code").expect("code");
    let (status, tokens) = exchange(server, &client_id, &code, &verifier);
    assert_eq!(status, 200, "{tokens}");
    assert!(
        tokens.get("id_token").is_none(),
        "the provider's ID token is not for this client"
    );
    let token = tokens["access_token"].as_str().expect("access token");
    let called = call_get_item(server, token, 1);
    assert_eq!(called.status, 200, "{}", called.body);
    assert_eq!(called.json()["result"]["structuredContent"]["name"], "Hammer");
    // Refresh, where the provider issued a refresh token; bound to the client it was issued to.
    let refresh_token = tokens["refresh_token"].as_str();
    if let Some(refresh_token) = refresh_token {
        let other = registered_client(server);
        assert_eq!(
            refresh(server, &other, refresh_token).0,
            400,
            "another client cannot use it"
        );
        let (status, fresh) = refresh(server, &client_id, refresh_token);
        assert_eq!(status, 200, "{fresh}");
        let fresh = fresh["access_token"].as_str().expect("refreshed access token");
        assert_eq!(call_get_item(server, fresh, 2).status, 200);
    }
    // The code is single use, and a replayed code revokes what it issued (RFC 6749 §4.1.2).
    let (status, reused) = exchange(server, &client_id, &code, &verifier);
    assert_eq!(
        (status, reused["error"].as_str()),
        (400, Some("invalid_grant")),
        "{reused}"
    );
    if let Some(refresh_token) = refresh_token {
        let (status, refused) = refresh(server, &client_id, refresh_token);
        assert_eq!(status, 400, "revoked by the replayed code: {refused}");
    }
}

/// mcp-remote, headless, against the server at `base`: it registers, prints the URL, the
/// person approves, it calls a tool. Where it keeps its registration and tokens, to start it
/// again.
pub(crate) fn mcp_remote_completes_the_flow(base: &str) -> McpRemote {
    let remote = McpRemote {
        port: free_port(),
        config: std::env::temp_dir().join(format!("apimcp-proxy-remote-{}", uuid::Uuid::new_v4().simple())),
    };
    let mut bridge = remote.start(base);
    let url = authorization_url_printed(&mut bridge);
    let person = Person::new();
    let callback = format!("http://127.0.0.1:{}/", remote.port);
    let arrived = person.approving(base, &url, &callback);
    let Stop::Arrived(at) = arrived else {
        panic!("mcp-remote's authorization did not reach its callback: {arrived:?}");
    };
    let reached = person.client.get(at).send().expect("mcp-remote's callback answers");
    assert!(reached.status().is_success(), "{}", reached.status());
    let answer = mcp_remote_converse(bridge, "get_item", json!({"item_id": 3})).1;
    assert_eq!(answer["result"]["structuredContent"]["name"], "Wrench", "{answer}");
    remote
}

/// An mcp-remote bridge's callback port and configuration directory.
pub(crate) struct McpRemote {
    port: u16,
    config: PathBuf,
}

impl McpRemote {
    fn start(&self, base: &str) -> Child {
        let mut cmd = peers().node("MCP_REMOTE");
        cmd.args([
            format!("{base}/mcp").as_str(),
            &self.port.to_string(),
            "--transport",
            "http-only",
            "--host",
            "127.0.0.1",
        ])
        .env("MCP_REMOTE_CONFIG_DIR", &self.config);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("mcp-remote starts")
    }

    /// The tokens mcp-remote keeps (`<hash>_tokens.json` in its directory).
    fn tokens(&self) -> Value {
        let found = walk(&self.config)
            .into_iter()
            .find(|p| p.to_string_lossy().ends_with("_tokens.json"))
            .unwrap_or_else(|| panic!("mcp-remote keeps no tokens under {}", self.config.display()));
        serde_json::from_slice(&std::fs::read(found).expect("tokens")).expect("tokens JSON")
    }
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .flat_map(|e| {
            if e.path().is_dir() {
                walk(&e.path())
            } else {
                vec![e.path()]
            }
        })
        .collect()
}

/// The authorization URL mcp-remote prints on stderr (the rest of stderr keeps draining).
fn authorization_url_printed(bridge: &mut Child) -> String {
    let stderr = bridge.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut said = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let found = line
                .split_whitespace()
                .find(|w| w.starts_with("http") && w.contains("/oauth/authorize"));
            if let Some(url) = found {
                let _ = tx.send(Ok(url.to_owned()));
            }
            said.push(line);
            if said.len() > 200 {
                said.remove(0);
            }
        }
        let _ = tx.send(Err(said.join("\n")));
    });
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(Ok(url)) => url,
        Ok(Err(said)) => panic!("mcp-remote printed no authorization URL:\n{said}"),
        Err(_) => panic!("mcp-remote printed no authorization URL within 30 s"),
    }
}

/// The TypeScript SDK's own OAuth client, strict about issuer, resource, state and iss.
fn strict_sdk_client_completes_the_flow(server: &Apimcp, expect_refresh: bool) {
    let out = peers().sdk_script(
        "sdk-oauth-client.mjs",
        &[&server.url("/mcp"), "get_item", r#"{"item_id":2}"#],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let result: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|_| panic!("sdk-oauth-client: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(result["ok"], true, "{result}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(result["tool"]["structuredContent"]["name"], "Screwdriver", "{result}");
    assert_eq!(result["registration"]["client_secret_present"], false, "{result}");
    if expect_refresh {
        assert_eq!(result["refreshed"], true, "{result}");
        assert_eq!(result["refreshed_token_works"], true, "{result}");
    }
}

/// A Python OAuth client completes the flow on its own machinery and calls a tool: `sdk` (the
/// official SDK's `OAuthClientProvider`, 2026-07-28) or `fastmcp` (FastMCP 4's `OAuth`, with its
/// own callback server). The person's browser is [`Person`]: the script prints the
/// authorization URL and is given back where the browser arrived. With `expect_refresh`, the
/// client's own refresh (forced by expiring its token) gives a new access token that works.
fn python_client_completes_the_flow(server: &Apimcp, kind: &str, expect_refresh: bool) {
    use std::io::Write as _;
    let mut child = peers()
        .python_command(
            "py-oauth-client.py",
            &[kind, &server.url("/mcp"), "get_item", r#"{"item_id":2}"#],
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python starts");
    let lines = json_lines(child.stdout.take().expect("stdout"));
    let said = drained(child.stderr.take().expect("stderr"));
    let said = move || said.lock().map(|s| s.join("\n")).unwrap_or_default();
    let next = || {
        let line = lines.recv_timeout(Duration::from_secs(45));
        line.unwrap_or_else(|_| panic!("{kind}: no line within 45 s\n{}", said()))
    };
    let authorize = next();
    let url = authorize["url"]
        .as_str()
        .unwrap_or_else(|| panic!("{kind}: {authorize}\n{}", said()));
    let redirect = query(&reqwest::Url::parse(url).expect("url"), "redirect_uri").expect("redirect_uri");
    let Stop::Arrived(at) = Person::new().approving(&server.base, url, &redirect) else {
        panic!("{kind}: the authorization did not come back to {redirect}");
    };
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "{at}").expect("the client reads where the browser arrived");
    let call = next();
    assert_eq!(call["step"], "call", "{kind}: {call}\n{}", said());
    assert_eq!(call["structured"]["name"], "Screwdriver", "{kind}: {call}");
    let refresh = next();
    assert_eq!(refresh["step"], "refresh", "{kind}: {refresh}\n{}", said());
    if expect_refresh {
        assert_eq!(refresh["refreshed"], true, "{kind}: {refresh}\n{}", said());
    }
    let status = child.wait().expect("exit");
    assert!(status.success(), "{kind}: {status}\n{}", said());
}

/// The JSON lines a child prints, as they come.
fn json_lines(out: std::process::ChildStdout) -> std::sync::mpsc::Receiver<Value> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if let Ok(value) = serde_json::from_str(&line) {
                let _ = tx.send(value);
            }
        }
    });
    rx
}

/// What a child writes on stderr, kept (the last 200 lines) for a failure message.
fn drained(err: std::process::ChildStderr) -> std::sync::Arc<std::sync::Mutex<Vec<String>>> {
    let kept = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let writer = kept.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if let Ok(mut kept) = writer.lock() {
                kept.push(line);
                if kept.len() > 200 {
                    kept.remove(0);
                }
            }
        }
    });
    kept
}

/// Headless Chromium on the consent page: a screenshot, a click on Approve, a code.
fn chromium_approves_the_consent_page(server: &Apimcp, mode: &str) {
    let client_id = registered_client(server);
    let (verifier, challenge) = pkce();
    let url = authorize_url(server, &client_id, CLIENT_REDIRECT, &challenge, "chromium");
    let shot = workspace().join(format!("target/consent-{mode}.png"));
    let out = peers().script(
        "PLAYWRIGHT_DIR",
        "consent-chromium.mjs",
        &[&url, CLIENT_REDIRECT, &shot.display().to_string()],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let result: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|_| panic!("consent-chromium: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(result["ok"], true, "{result}\n{}", String::from_utf8_lossy(&out.stderr));
    let text = result["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("Scripted <b>client</b>") && text.contains("mcp:read"),
        "{text}"
    );
    assert!(
        std::fs::metadata(&shot).is_ok_and(|m| m.len() > 1000),
        "a screenshot at {}",
        shot.display()
    );
    let back = reqwest::Url::parse(result["final_url"].as_str().expect("final_url")).expect("url");
    assert_eq!(query(&back, "state").as_deref(), Some("chromium"));
    let (status, tokens) = exchange(server, &client_id, &query(&back, "code").expect("code"), &verifier);
    assert_eq!(status, 200, "{tokens}");
    let token = tokens["access_token"].as_str().expect("token");
    assert_eq!(call_get_item(server, token, 1).status, 200);
}

#[test]
fn a_standard_provider_behind_the_proxy() {
    let setup = setup(Mode::Standard, crate::oauth_floods::LIMITS_TOML);
    check_metadata(&setup, Mode::Standard);
    crate::oauth_floods::a_rebound_host_reaches_no_oauth_endpoint(&setup.server);
    code_flow_and_its_failures(&setup);
    let started = Instant::now();
    crate::oauth_floods::floods_leave_others_working(&setup.server);
    eprintln!("floods: {:?}", started.elapsed());
    mcp_remote_completes_the_flow(&setup.server.base);
    strict_sdk_client_completes_the_flow(&setup.server, false);
    python_client_completes_the_flow(&setup.server, "sdk", false);
    chromium_approves_the_consent_page(&setup.server, "standard");
}

#[test]
fn an_auth0_like_provider_behind_the_proxy() {
    let setup = setup(Mode::Auth0, "");
    check_metadata(&setup, Mode::Auth0);
    code_flow_and_its_failures(&setup);
    mcp_remote_completes_the_flow(&setup.server.base);
    strict_sdk_client_completes_the_flow(&setup.server, true);
    python_client_completes_the_flow(&setup.server, "sdk", true);
    python_client_completes_the_flow(&setup.server, "fastmcp", true);
    chromium_approves_the_consent_page(&setup.server, "auth0");
}

/// The code flow for `client_id` by a person who consented before: the tokens.
fn authorized_again(server: &Apimcp, person: &Person, client_id: &str, state: &str) -> Value {
    let (verifier, challenge) = pkce();
    let url = authorize_url(server, client_id, CLIENT_REDIRECT, &challenge, state);
    let Stop::Arrived(back) = person.follow(&url, CLIENT_REDIRECT) else {
        panic!("a remembered consent goes straight to the provider and back");
    };
    let (status, tokens) = exchange(server, client_id, &query(&back, "code").expect("code"), &verifier);
    assert_eq!(status, 200, "{tokens}");
    tokens
}

fn refresh(server: &Apimcp, client_id: &str, refresh_token: &str) -> (u16, Value) {
    let response = reqwest::blocking::Client::new()
        .post(server.url("/oauth/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", client_id),
            ("refresh_token", refresh_token),
        ])
        .send()
        .expect("refresh");
    (
        response.status().as_u16(),
        response.json::<Value>().unwrap_or(Value::Null),
    )
}

/// `kill -9` loses nothing: the client id, the consent, a refresh token, and an authorization
/// that was at the provider when apimcp died.
fn a_restart_loses_nothing(mode: Mode) {
    let mut setup = setup(mode, "");
    // The provider rotates refresh tokens, as Auth0 does with rotation on.
    let issuer = setup.issuer;
    setup.issuer = issuer.env("OIDC_ROTATE", "1");
    setup.issuer.restart(false);
    let client_id = registered_client(&setup.server);
    let person = Person::new();
    let (verifier, challenge) = pkce();
    // offline_access with prompt=consent, which apimcp passes on: OpenID providers issue a
    // refresh token only then.
    let url = authorize_url(&setup.server, &client_id, CLIENT_REDIRECT, &challenge, "before")
        .replace("scope=mcp%3Aread", "scope=mcp%3Aread+offline_access&prompt=consent");
    let Stop::Page(200, page, _) = person.follow(&url, CLIENT_REDIRECT) else {
        panic!("consent page");
    };
    let Stop::Arrived(back) = person.answer(&setup.server.base, &page, "approve", CLIENT_REDIRECT) else {
        panic!("approved: back at the client");
    };
    let code = query(&back, "code").expect("code");
    let (status, tokens) = exchange(&setup.server, &client_id, &code, &verifier);
    assert_eq!(status, 200, "{tokens}");
    // An authorization left at the provider when apimcp dies.
    let (verifier, challenge) = pkce();
    let url = authorize_url(&setup.server, &client_id, CLIENT_REDIRECT, &challenge, "across");
    let Stop::Arrived(at_provider) = person.follow(&url, &format!("{}/", setup.issuer.url())) else {
        panic!("a remembered consent goes to the provider");
    };

    setup.restart_apimcp();
    let server = &setup.server;
    let Stop::Arrived(back) = person.follow(at_provider.as_str(), CLIENT_REDIRECT) else {
        panic!("the provider's answer reaches the restarted apimcp and goes back to the client");
    };
    assert_eq!(query(&back, "state").as_deref(), Some("across"));
    let (status, resumed) = exchange(server, &client_id, &query(&back, "code").expect("code"), &verifier);
    assert_eq!(status, 200, "the authorization in flight completes: {resumed}");
    // The same client id, without registering again; the consent is remembered.
    let again = authorized_again(server, &person, &client_id, "after");
    let token = again["access_token"].as_str().expect("access token");
    assert_eq!(call_get_item(server, token, 1).status, 200);
    let refresh_token = tokens["refresh_token"].as_str().expect("a refresh token");
    rotation_with_a_grace_window(server, &client_id, refresh_token);
    // RFC 7009 revocation: every refresh token of the grant is refused afterwards.
    let tokens = authorized_offline(server, &person, &client_id);
    let refresh_token = tokens["refresh_token"].as_str().expect("a refresh token");
    let (status, fresh) = refresh(server, &client_id, refresh_token);
    assert_eq!(status, 200, "{fresh}");
    let latest = fresh["refresh_token"].as_str().unwrap_or(refresh_token);
    let revoked = reqwest::blocking::Client::new()
        .post(server.url("/oauth/revoke"))
        .form(&[("client_id", client_id.as_str()), ("token", refresh_token)])
        .send()
        .expect("revoke");
    assert_eq!(revoked.status().as_u16(), 200);
    let (status, refused) = refresh(server, &client_id, latest);
    assert_eq!(
        (status, refused["error"].as_str()),
        (400, Some("invalid_grant")),
        "{refused}"
    );
}

/// The provider rotates refresh tokens (`OIDC_ROTATE`): the token from before the restart is
/// replaced; presented again before its replacement is used, it gets the same answer; once the
/// replacement is used, it is refused and revokes its whole family.
fn rotation_with_a_grace_window(server: &Apimcp, client_id: &str, first: &str) {
    let (status, fresh) = refresh(server, client_id, first);
    assert_eq!(status, 200, "a refresh token from before the restart: {fresh}");
    let second = fresh["refresh_token"].as_str().expect("a rotated refresh token");
    assert_ne!(second, first, "the provider rotates");
    let (status, again) = refresh(server, client_id, first);
    assert_eq!(status, 200, "within the grace window: {again}");
    assert_eq!(
        again["access_token"], fresh["access_token"],
        "the same answer, not a second trip"
    );
    let (status, third) = refresh(server, client_id, second);
    assert_eq!(status, 200, "the replacement works: {third}");
    let third = third["refresh_token"].as_str().expect("rotated again");
    let (status, refused) = refresh(server, client_id, first);
    assert_eq!(
        (status, refused["error"].as_str()),
        (400, Some("invalid_grant")),
        "rotated out and its replacement used: {refused}"
    );
    let (status, revoked) = refresh(server, client_id, third);
    assert_eq!(status, 400, "the family is revoked: {revoked}");
}

/// The code flow again, asking for a refresh token (`offline_access`, `prompt=consent`).
fn authorized_offline(server: &Apimcp, person: &Person, client_id: &str) -> Value {
    let (verifier, challenge) = pkce();
    let url = authorize_url(server, client_id, CLIENT_REDIRECT, &challenge, "offline")
        .replace("scope=mcp%3Aread", "scope=mcp%3Aread+offline_access&prompt=consent");
    let Stop::Arrived(back) = person.follow(&url, CLIENT_REDIRECT) else {
        panic!("a remembered consent goes straight to the provider and back");
    };
    let (status, tokens) = exchange(server, client_id, &query(&back, "code").expect("code"), &verifier);
    assert_eq!(status, 200, "{tokens}");
    tokens
}

/// The first code flow of `client_id`: consent, then tokens with a refresh token
/// (`offline_access` with `prompt=consent`).
fn consented_offline(server: &Apimcp, person: &Person, client_id: &str) -> Value {
    let (verifier, challenge) = pkce();
    let url = authorize_url(server, client_id, CLIENT_REDIRECT, &challenge, "first")
        .replace("scope=mcp%3Aread", "scope=mcp%3Aread+offline_access&prompt=consent");
    let Stop::Page(200, page, _) = person.follow(&url, CLIENT_REDIRECT) else {
        panic!("consent page");
    };
    let Stop::Arrived(back) = person.answer(&server.base, &page, "approve", CLIENT_REDIRECT) else {
        panic!("approved: back at the client");
    };
    let (status, tokens) = exchange(server, client_id, &query(&back, "code").expect("code"), &verifier);
    assert_eq!(status, 200, "{tokens}");
    assert!(tokens["refresh_token"].is_string(), "{tokens}");
    tokens
}

/// `signing_keys` rotate: a new key put first keeps every client id, consent and refresh
/// token the old one sealed working; once the old key is removed, what it sealed is refused
/// cleanly (`invalid_client`, an error page; never a 500) and what the new one sealed works.
#[test]
fn signing_keys_rotate_without_logging_anyone_out() {
    let old = "signing_keys = [\"env:TEST_KEY_OLD\"]";
    let both = "signing_keys = [\"env:TEST_KEY_NEW\", \"env:TEST_KEY_OLD\"]";
    let new = "signing_keys = [\"env:TEST_KEY_NEW\"]";
    let mut setup = setup(Mode::Standard, &format!("{old}\n"));
    let person = Person::new();
    let first = registered_client(&setup.server);
    let first_tokens = consented_offline(&setup.server, &person, &first);

    setup.restart_with(old, both);
    let server = &setup.server;
    let again = authorized_again(server, &person, &first, "rotated");
    assert_eq!(
        call_get_item(server, again["access_token"].as_str().expect("token"), 1).status,
        200
    );
    let (status, refreshed) = refresh(server, &first, first_tokens["refresh_token"].as_str().expect("refresh"));
    assert_eq!(status, 200, "a refresh token from before the new key: {refreshed}");
    let second = registered_client(server);
    let second_tokens = consented_offline(server, &person, &second);

    setup.restart_with(both, new);
    let server = &setup.server;
    let latest = refreshed["refresh_token"]
        .as_str()
        .or(first_tokens["refresh_token"].as_str())
        .expect("refresh");
    let (status, refused) = refresh(server, &first, latest);
    assert_eq!(
        (status, refused["error"].as_str()),
        (401, Some("invalid_client")),
        "a client id sealed by a removed key: {refused}"
    );
    let (_, challenge) = pkce();
    match person.follow(
        &authorize_url(server, &first, CLIENT_REDIRECT, &challenge, "gone"),
        CLIENT_REDIRECT,
    ) {
        Stop::Page(400, body, _) => assert!(body.contains("invalid_client"), "{body}"),
        other => panic!("a client id sealed by a removed key at /oauth/authorize: {other:?}"),
    }
    let (status, fresh) = refresh(
        server,
        &second,
        second_tokens["refresh_token"].as_str().expect("refresh"),
    );
    assert_eq!(status, 200, "a client sealed by the remaining key: {fresh}");
    assert_eq!(
        call_get_item(server, fresh["access_token"].as_str().expect("token"), 2).status,
        200
    );
}

/// mcp-remote gets a refresh token through the proxy and uses it: the provider's access
/// tokens live 30 s, under mcp-remote's 60 s renewal margin, so started again on its saved
/// tokens it refreshes through the proxy (no authorization URL, no person) before it calls.
#[test]
fn mcp_remote_refreshes_its_token_through_the_proxy() {
    let mut setup = setup(Mode::Auth0, "");
    let issuer = setup.issuer;
    setup.issuer = issuer.env("OIDC_AT_TTL", "30");
    setup.issuer.restart(false);
    let remote = mcp_remote_completes_the_flow(&setup.server.base);
    let before = remote.tokens();
    assert!(
        before["refresh_token"].is_string(),
        "a refresh token through the proxy: {before}"
    );
    let bridge = remote.start(&setup.server.base);
    let answer = mcp_remote_converse(bridge, "get_item", json!({"item_id": 2})).1;
    assert_eq!(answer["result"]["structuredContent"]["name"], "Screwdriver", "{answer}");
    let after = remote.tokens();
    assert_ne!(
        after["access_token"], before["access_token"],
        "mcp-remote refreshed its access token through the proxy"
    );
}

#[test]
fn a_restart_of_the_proxy_in_front_of_a_standard_provider_loses_nothing() {
    a_restart_loses_nothing(Mode::Standard);
}

#[test]
fn a_restart_of_the_proxy_in_front_of_an_auth0_like_provider_loses_nothing() {
    a_restart_loses_nothing(Mode::Auth0);
}

#[test]
fn a_provider_that_is_down_gives_clear_errors_and_no_token() {
    // The issuer's port is reserved but nothing listens there.
    let mut setup = setup(Mode::Standard, "registrations_per_minute = 4\n");
    setup.issuer.stop();
    // /readyz says what is missing: the issuer's keys and the provider behind the proxy.
    let ready = || Http::new().get(&setup.readyz);
    let reply = ready();
    assert_eq!(reply.status, 503, "{}", reply.body);
    assert!(
        reply.body.contains("tokens cannot be checked") || reply.body.contains("provider"),
        "{}",
        reply.body
    );
    let server = &setup.server;
    let started = Instant::now();
    let reply = Http::new().get(&server.url("/.well-known/oauth-authorization-server"));
    assert_eq!(reply.status, 503, "{}", reply.body);
    assert_eq!(reply.json()["error"], "temporarily_unavailable");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "no hang: {:?}",
        started.elapsed()
    );

    let client_id = registered_client(server);
    let person = Person::new();
    let (_, challenge) = pkce();
    let url = authorize_url(server, &client_id, CLIENT_REDIRECT, &challenge, "down");
    let Stop::Page(200, page, _) = person.follow(&url, CLIENT_REDIRECT) else {
        panic!("consent page");
    };
    match person.answer(&server.base, &page, "approve", CLIENT_REDIRECT) {
        Stop::Arrived(url) => {
            assert_eq!(
                query(&url, "error").as_deref(),
                Some("temporarily_unavailable"),
                "{url}"
            );
            assert_eq!(query(&url, "code"), None);
        }
        other => panic!("provider down: {other:?}"),
    }
    // Registration is rate limited per address: four a minute here, of which registered_client
    // spent one (its three invalid registrations cost nothing).
    for _ in 0..3 {
        assert_eq!(register(server, &json!({"redirect_uris": [CLIENT_REDIRECT]})).0, 201);
    }
    let (status, refused) = register(server, &json!({"redirect_uris": [CLIENT_REDIRECT]}));
    assert_eq!(status, 429, "{refused}");

    // The provider back: ready again, by itself.
    setup.issuer.restart(false);
    assert!(
        eventually(Duration::from_secs(30), || ready().status == 200),
        "ready once the provider is back: {}",
        ready().body
    );
}

/// An example program with `env`, then its provider, which needs the example's callback URL.
fn example_with_issuer(name: &str, mode: &str, env: &[(&str, &str)]) -> (Issuer, Apimcp) {
    let issuer = Issuer::reserve("jwt");
    let url = issuer.url();
    let mut env: Vec<(&str, &str)> = env.to_vec();
    for value in env.iter_mut().map(|(_, v)| v) {
        if *value == "ISSUER" {
            *value = &url;
        }
    }
    let example = env
        .iter()
        .fold(Apimcp::example(name), |example, (k, v)| example.env(k, v))
        .start();
    let mut issuer = issuer
        .env("OIDC_MODE", mode)
        .env("OIDC_PROXY_REDIRECT", example.url("/oauth/callback"));
    issuer.restart(false);
    (issuer, example)
}

#[test]
fn the_auth0_example_reads_its_env_file_and_serves_the_strict_sdk_client() {
    let issuer = Issuer::reserve("jwt");
    let dir = std::env::temp_dir().join(format!("apimcp-auth0-{}", issuer.port));
    std::fs::create_dir_all(&dir).expect("dir");
    let dotenv = format!(
        "AUTH0_DOMAIN={}\nAUTH0_AUDIENCE={AUDIENCE}\nAUTH0_CLIENT_ID=proxy-client\nAUTH0_CLIENT_SECRET=proxy-secret\n",
        issuer.url()
    );
    std::fs::write(dir.join(".env"), dotenv).expect(".env");
    let example = Apimcp::example("11_auth_example_auth0").dir(&dir).start();
    let mut issuer = issuer
        .env("OIDC_MODE", "auth0")
        .env("OIDC_PROXY_REDIRECT", example.url("/oauth/callback"));
    issuer.restart(false);
    strict_sdk_client_completes_the_flow(&example, true);
}

#[test]
fn the_oauth_proxy_example_serves_mcp_remote() {
    let env = [
        ("OAUTH_ISSUER", "ISSUER"),
        ("OAUTH_CLIENT_ID", "proxy-client"),
        ("OAUTH_CLIENT_SECRET", "proxy-secret"),
    ];
    let (_issuer, example) = example_with_issuer("09_auth_example_oauth_proxy", "standard", &env);
    mcp_remote_completes_the_flow(&example.base);
}

#[test]
fn the_custom_metadata_example_serves_it_and_takes_the_issuers_tokens() {
    let (issuer, example) = example_with_issuer(
        "10_auth_example_custom_oauth_metadata",
        "standard",
        &[("OAUTH_ISSUER", "ISSUER")],
    );
    let http = Http::new();
    let metadata = http.get(&example.url("/.well-known/oauth-authorization-server"));
    assert_eq!(metadata.status, 200);
    assert_eq!(metadata.json()["issuer"], issuer.url());
    assert_eq!(
        metadata.json()["authorization_endpoint"],
        format!("{}/auth", issuer.url())
    );
    let prm = http
        .get(&example.url("/.well-known/oauth-protected-resource/mcp"))
        .json();
    assert_eq!(prm["authorization_servers"], json!([issuer.url()]));
    assert_eq!(call_get_item(&example, "not-a-token", 1).status, 401);
    let token = issuer.token(&example.url("/mcp"), "openid mcp:read");
    let bearer = format!("Bearer {token}");
    let session = http.session_with(&example.url("/mcp"), &[("authorization", &bearer)]);
    let called = http.post(
        &example.url("/mcp"),
        &[("authorization", &bearer), ("mcp-session-id", &session)],
        &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "get_item", "arguments": {"item_id": 1}}}),
    );
    assert_eq!(called.status, 200, "{}", called.body);
    assert_eq!(called.json()["result"]["structuredContent"]["name"], "Hammer");
}

#[test]
fn registration_can_be_turned_off() {
    let setup = setup(Mode::Standard, "setup_fake_dynamic_registration = false\n");
    let server = &setup.server;
    let metadata = Http::new().get(&server.url("/.well-known/oauth-authorization-server"));
    assert_eq!(metadata.status, 200, "{}", metadata.body);
    assert!(
        metadata.json().get("registration_endpoint").is_none(),
        "{}",
        metadata.body
    );
    assert!(
        !metadata.body.contains(&format!("{}/reg", setup.issuer.url())),
        "nor the provider's own"
    );
    let (status, _) = register(server, &json!({"redirect_uris": [CLIENT_REDIRECT]}));
    assert_eq!(status, 404);
}
