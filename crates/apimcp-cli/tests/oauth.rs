//! `apimcp serve` as an OAuth resource server, against oidc-provider as the real
//! authorization server (scripted login and consent, RFC 8707 resource indicators, RS256 JWT
//! access tokens with `aud` = the requested resource).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use common::{Apimcp, Http, peers};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const REDIRECT: &str = "http://127.0.0.1:8765/callback";

/// The AS script, placed next to oidc-provider so that its import resolves. Written once, under a
/// name made of its content, and renamed into place: tests that start issuers in parallel (in this
/// process or another) never see a half-written file.
fn issuer_script() -> &'static std::path::Path {
    static SCRIPT: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    SCRIPT.get_or_init(|| {
        let source =
            std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/oidc-server.mjs"))
                .expect("the AS script");
        let digest = Sha256::digest(&source);
        let dir = std::path::Path::new(peers().var("OIDC_DIR"));
        let target = dir.join(format!(
            "oidc-server-{:x}.mjs",
            u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
        ));
        if !target.exists() {
            let partial = dir.join(format!(".oidc-server-{}.partial", std::process::id()));
            std::fs::write(&partial, &source).expect("write the AS script");
            std::fs::rename(&partial, &target).expect("place the AS script");
        }
        target
    })
}

/// oidc-provider on a fixed port, restartable (same or new signing key).
struct Issuer {
    port: u16,
    key_file: std::path::PathBuf,
    format: &'static str,
    child: Option<Child>,
}

impl Issuer {
    fn start() -> Self {
        Self::start_with("jwt")
    }

    /// `format`: `jwt`, or `opaque` for tokens only introspection can check.
    fn start_with(format: &'static str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("port");
        let key_file = std::env::temp_dir().join(format!("apimcp-oidc-key-{port}.json"));
        let _ = std::fs::remove_file(&key_file);
        let mut issuer = Self {
            port,
            key_file,
            format,
            child: None,
        };
        issuer.restart(false);
        issuer
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts again; `new_key` makes it sign with a fresh key (a rotation).
    fn restart(&mut self, new_key: bool) {
        self.stop();
        if new_key {
            let _ = std::fs::remove_file(&self.key_file);
        }
        let mut child = std::process::Command::new(peers().var("NODE22"))
            .arg(issuer_script())
            .env("OIDC_PORT", self.port.to_string())
            .env("OIDC_KEY_FILE", &self.key_file)
            .env("OIDC_REDIRECT", REDIRECT)
            .env("OIDC_TOKEN_FORMAT", self.format)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("node starts");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut said = Vec::new();
        loop {
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) if line.contains("ready") => break,
                Ok(line) => said.push(line),
                Err(e) => panic!("the issuer did not start ({e}); it said:\n{}", said.join("\n")),
            }
        }
        self.child = Some(child);
    }

    /// The authorization-code flow with PKCE, as a browser and a person would run it.
    fn token(&self, resource: &str, scope: &str) -> String {
        let client = reqwest::blocking::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let verifier = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let mut url = reqwest::Url::parse_with_params(
            &format!("{}/auth", self.url()),
            [
                ("response_type", "code"),
                ("client_id", "test-client"),
                ("redirect_uri", REDIRECT),
                ("scope", scope),
                ("state", "st"),
                ("code_challenge", challenge.as_str()),
                ("code_challenge_method", "S256"),
                ("resource", resource),
            ],
        )
        .expect("url");
        let code = (0..12)
            .find_map(|_| {
                let response = client.get(url.clone()).send().expect("the issuer answers");
                let location = response.headers().get("location")?.to_str().ok()?.to_owned();
                if location.starts_with(REDIRECT) {
                    let found = reqwest::Url::parse(&location).ok()?;
                    return found
                        .query_pairs()
                        .find(|(k, _)| k == "code")
                        .map(|(_, v)| v.into_owned());
                }
                url = url.join(&location).expect("location");
                None
            })
            .expect("the flow ends at the redirect URI with a code");
        let tokens: Value = client
            .post(format!("{}/token", self.url()))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", REDIRECT),
                ("client_id", "test-client"),
                ("code_verifier", verifier.as_str()),
                ("resource", resource),
            ])
            .send()
            .expect("token request")
            .json()
            .expect("token JSON");
        tokens["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no access token: {tokens}"))
            .to_owned()
    }

    /// A token with these claims, signed by the issuer's own key.
    fn sign(&self, claims: &Value) -> String {
        reqwest::blocking::Client::new()
            .post(format!("{}/test/sign", self.url()))
            .body(claims.to_string())
            .send()
            .and_then(|r| r.text())
            .expect("signed")
    }
}

impl Drop for Issuer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The demo as the API, and `apimcp serve` in front of it with `[auth]` for `issuer`.
fn protected(issuer: &Issuer, extra_toml: &str) -> (Apimcp, Apimcp) {
    let demo = Apimcp::start(&["demo"]);
    let config = std::env::temp_dir().join(format!(
        "apimcp-oauth-{}-{}.toml",
        issuer.port,
        uuid::Uuid::new_v4().simple()
    ));
    let toml = format!(
        "[server]\nstateless = true\n[api]\nspec = \"{}\"\nupstream = \"{}\"\n[auth]\nissuer = \"{}\"\nscopes_supported = [\"mcp:read\", \"mcp:write\"]\n{extra_toml}",
        demo.url("/openapi.json"),
        demo.base,
        issuer.url()
    );
    std::fs::write(&config, toml).expect("config");
    let server = Apimcp::start(&["serve", "--config", &config.display().to_string()]);
    (demo, server)
}

fn with_token(http: &Http, url: &str, token: &str, body: Value) -> common::Reply {
    let bearer = format!("Bearer {token}");
    http.post(
        url,
        &[
            ("authorization", bearer.as_str()),
            ("mcp-protocol-version", "2025-06-18"),
        ],
        &body,
    )
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[test]
fn no_token_is_challenged_and_the_metadata_leads_to_the_issuer() {
    let issuer = Issuer::start();
    let (_demo, server) = protected(&issuer, "");
    let http = Http::new();
    let reply = http.post(
        &server.url("/mcp"),
        &[],
        &json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}),
    );
    assert_eq!(reply.status, 401);
    let challenge = reply.headers["www-authenticate"].to_str().expect("ascii").to_owned();
    let metadata_url = challenge
        .split("resource_metadata=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("resource_metadata");
    assert_eq!(metadata_url, server.url("/.well-known/oauth-protected-resource/mcp"));
    let metadata: Value = serde_json::from_str(&http.get(metadata_url).body).expect("metadata JSON");
    assert_eq!(metadata["resource"], server.url("/mcp"));
    assert_eq!(metadata["authorization_servers"], json!([issuer.url()]));
    let as_metadata = http.get(&format!("{}/.well-known/oauth-authorization-server", issuer.url()));
    assert_eq!(as_metadata.status, 200);
    let as_metadata: Value = serde_json::from_str(&as_metadata.body).expect("AS metadata");
    assert_eq!(as_metadata["issuer"], issuer.url());
}

#[test]
fn a_token_from_the_code_flow_calls_tools_and_mcp_remote_works_with_it() {
    let issuer = Issuer::start();
    let (_demo, server) = protected(&issuer, "");
    let token = issuer.token(&server.url("/mcp"), "openid mcp:read");
    let http = Http::new();
    let listed = with_token(
        &http,
        &server.url("/mcp"),
        &token,
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
    );
    assert_eq!(listed.status, 200, "{}", listed.body);
    let called = with_token(
        &http,
        &server.url("/mcp"),
        &token,
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "get_item", "arguments": {"item_id": 1}}}),
    );
    assert_eq!(called.status, 200, "{}", called.body);
    assert_eq!(called.json()["result"]["structuredContent"]["name"], "Hammer");

    let config = std::env::temp_dir().join(format!("apimcp-mcp-remote-oauth-{}", issuer.port));
    let mut cmd = peers().node("MCP_REMOTE");
    cmd.args([
        server.url("/mcp").as_str(),
        "--transport",
        "http-only",
        "--host",
        "127.0.0.1",
        "--header",
        &format!("Authorization:Bearer {token}"),
    ])
    .env("MCP_REMOTE_CONFIG_DIR", &config);
    let answer = common::mcp_remote_call(cmd, "get_item", json!({"item_id": 2}));
    assert_eq!(answer["result"]["structuredContent"]["name"], "Screwdriver", "{answer}");
}

#[test]
fn bad_tokens_get_invalid_token() {
    let issuer = Issuer::start();
    let (_demo, server) = protected(&issuer, "");
    let resource = server.url("/mcp");
    let claims = |f: &dyn Fn(&mut Value)| {
        let mut c = json!({"iss": issuer.url(), "aud": resource, "sub": "u", "scope": "mcp:read", "exp": now() + 300, "iat": now()});
        f(&mut c);
        c
    };
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let tampered = {
        let good = issuer.sign(&claims(&|_| {}));
        let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
        parts[1] = b64(&claims(&|c| c["scope"] = json!("mcp:read mcp:write mcp:admin")));
        parts.join(".")
    };
    let hmac_with_public_key = {
        // The classic confusion attack: HS256 keyed with the issuer's public key material.
        let jwks = Http::new().get(&format!("{}/jwks", issuer.url())).body;
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = serde_json::from_str::<Value>(&jwks)
            .ok()
            .and_then(|j| j["keys"][0]["kid"].as_str().map(str::to_owned));
        let key = jsonwebtoken::EncodingKey::from_secret(jwks.as_bytes()).expect("key");
        jsonwebtoken::encode(&header, &claims(&|_| {}), &key).expect("signs")
    };
    let cases = [
        ("HMAC signed with the public key", hmac_with_public_key),
        ("expired", issuer.sign(&claims(&|c| c["exp"] = json!(now() - 3600)))),
        (
            "not yet valid",
            issuer.sign(&claims(&|c| c["nbf"] = json!(now() + 3600))),
        ),
        (
            "wrong audience",
            issuer.sign(&claims(&|c| c["aud"] = json!("http://127.0.0.1:1/mcp"))),
        ),
        (
            "wrong issuer",
            issuer.sign(&claims(&|c| c["iss"] = json!("https://evil.example"))),
        ),
        (
            "issued for another resource",
            issuer.token("http://127.0.0.1:1/mcp", "openid mcp:read"),
        ),
        ("bad signature", tampered),
        (
            "alg none",
            format!("{}.{}.", b64(&json!({"alg": "none"})), b64(&claims(&|_| {}))),
        ),
        ("garbage", "not-a-token".to_owned()),
    ];
    let http = Http::new();
    for (case, token) in cases {
        let reply = with_token(
            &http,
            &resource,
            &token,
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
        );
        assert_eq!(reply.status, 401, "{case}");
        let challenge = reply.headers["www-authenticate"].to_str().expect("ascii");
        assert!(challenge.contains("error=\"invalid_token\""), "{case}: {challenge}");
    }
    let good = issuer.token(&resource, "openid mcp:read");
    let in_query = http.post(
        &format!("{resource}?access_token={good}"),
        &[],
        &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
    );
    assert_eq!(in_query.status, 401, "a token in the query string alone is not read");
}

#[test]
fn a_missing_scope_gets_403_with_the_scopes_to_ask_for() {
    let issuer = Issuer::start();
    let (_demo, server) = protected(&issuer, "[auth.tool_scopes]\ndelete_item = [\"mcp:admin\"]\n");
    let token = issuer.token(&server.url("/mcp"), "openid mcp:read");
    let http = Http::new();
    let reply = with_token(
        &http,
        &server.url("/mcp"),
        &token,
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "delete_item", "arguments": {"item_id": 1}}}),
    );
    assert_eq!(reply.status, 403);
    let challenge = reply.headers["www-authenticate"].to_str().expect("ascii");
    assert!(
        challenge.contains("error=\"insufficient_scope\"") && challenge.contains("scope=\"mcp:admin\""),
        "{challenge}"
    );
    assert!(
        challenge.contains(&server.url("/.well-known/oauth-protected-resource/mcp")),
        "{challenge}"
    );
}

#[test]
fn key_rotation_and_an_outage_of_the_issuer() {
    let mut issuer = Issuer::start();
    let (_demo, server) = protected(&issuer, "");
    let resource = server.url("/mcp");
    let http = Http::new();
    let list = |token: &str| {
        with_token(
            &http,
            &resource,
            token,
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
        )
        .status
    };
    assert_eq!(list(&issuer.token(&resource, "openid mcp:read")), 200);

    issuer.restart(true);
    let rotated = issuer.token(&resource, "openid mcp:read");
    // An unknown key is looked up again at most every REFETCH_INTERVAL (10 s).
    std::thread::sleep(apimcp::auth::REFETCH_INTERVAL);
    assert_eq!(list(&rotated), 200, "the rotated key is fetched without a restart");

    // A fresh server that has no keys yet, while the issuer is down: 503, quickly.
    let (_demo2, fresh) = protected(&issuer, "");
    let fresh_resource = fresh.url("/mcp");
    let token = issuer.token(&fresh_resource, "openid mcp:read");
    issuer.stop();
    let started = Instant::now();
    let down = with_token(
        &http,
        &fresh_resource,
        &token,
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
    );
    assert_eq!(down.status, 503, "{}", down.body);
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "took {:?}",
        started.elapsed()
    );
    issuer.restart(false);
    let back = with_token(
        &http,
        &fresh_resource,
        &token,
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
    );
    assert_eq!(
        back.status, 200,
        "service resumes when the issuer is back: {}",
        back.body
    );
}

#[test]
fn opaque_tokens_are_checked_by_introspection() {
    let mut issuer = Issuer::start_with("opaque");
    let auth = format!(
        "introspection_url = \"{}/token/introspection\"\nintrospection_client_id = \"rs-client\"\nintrospection_client_secret = \"env:APIMCP_TEST_RS_SECRET\"\n",
        issuer.url()
    );
    let (_demo, server) = {
        let demo = Apimcp::start(&["demo"]);
        let config = std::env::temp_dir().join(format!("apimcp-introspect-{}.toml", issuer.port));
        let toml = format!(
            "[server]\nstateless = true\n[api]\nspec = \"{}\"\nupstream = \"{}\"\n[auth]\nissuer = \"{}\"\n{auth}",
            demo.url("/openapi.json"),
            demo.base,
            issuer.url()
        );
        std::fs::write(&config, toml).expect("config");
        let server = Apimcp::start_with_env(
            &["serve", "--config", &config.display().to_string()],
            &[("APIMCP_TEST_RS_SECRET", "rs-secret")],
        );
        (demo, server)
    };
    let resource = server.url("/mcp");
    let token = issuer.token(&resource, "openid mcp:read");
    assert_eq!(token.split('.').count(), 1, "an opaque token, not a JWT");
    let http = Http::new();
    let list = |token: &str| {
        with_token(
            &http,
            &resource,
            token,
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
        )
    };
    let first = list(&token);
    assert_eq!(first.status, 200, "{}\n{}", first.body, server.log());
    let other = issuer.token("http://127.0.0.1:1/mcp", "openid mcp:read");
    let refused = list(&other);
    assert_eq!(refused.status, 401, "a token for another resource");
    assert!(
        refused.headers["www-authenticate"]
            .to_str()
            .expect("ascii")
            .contains("invalid_token")
    );
    assert_eq!(list("made-up").status, 401);
    issuer.stop();
    let fresh = issuer_down_token(&token);
    assert_eq!(list(&fresh).status, 503, "introspection unavailable");
    issuer.restart(false);
}

/// A token never seen before (so not cached), for the outage check.
fn issuer_down_token(seen: &str) -> String {
    format!("{seen}x")
}
