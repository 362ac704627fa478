//! `apimcp serve` as an OAuth resource server, against oidc-provider as the real
//! authorization server (scripted login and consent, RFC 8707 resource indicators, RS256 JWT
//! access tokens with `aud` = the requested resource).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::util::issuer::Issuer;
use crate::util::peers::mcp_remote_call;
use crate::util::{Apimcp, Http, Reply, peers};

/// The demo as the API, and `apimcp serve` in front of it with `[auth]` for `issuer`.
fn protected(issuer: &Issuer, extra_toml: &str) -> (Apimcp, Apimcp) {
    let demo = Apimcp::cmd(["demo"]).start();
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
    let server = Apimcp::cmd(["serve", "--config", &config.display().to_string()]).start();
    (demo, server)
}

fn with_token(http: &Http, url: &str, token: &str, body: Value) -> Reply {
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
    let answer = mcp_remote_call(cmd, "get_item", json!({"item_id": 2}));
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

/// `require_at_jwt = true`: the provider's own access tokens (typed `at+jwt`) pass, a plain
/// `JWT` from the same issuer is refused; without the setting both pass.
#[test]
fn require_at_jwt_refuses_plain_jwts_from_the_config() {
    let issuer = Issuer::start();
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    let http = Http::new();
    for (setting, plain_status) in [("", 200), ("require_at_jwt = true", 401)] {
        let (_demo, server) = protected(&issuer, setting);
        let resource = server.url("/mcp");
        let claims = json!({"iss": issuer.url(), "aud": resource, "sub": "u", "scope": "mcp:read", "exp": now() + 300, "iat": now()});
        let plain = issuer.sign_typed(&claims, "JWT");
        assert_eq!(
            with_token(&http, &resource, &plain, list.clone()).status,
            plain_status,
            "{setting:?}"
        );
        let typed = issuer.token(&resource, "openid mcp:read");
        let reply = with_token(&http, &resource, &typed, list.clone());
        assert_eq!(reply.status, 200, "{setting:?}: {}", reply.body);
    }
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
    // While no keys are held, a failed fetch is tried again at most every FIRST_FETCH_RETRY.
    std::thread::sleep(apimcp::auth::FIRST_FETCH_RETRY);
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
        let demo = Apimcp::cmd(["demo"]).start();
        let config = std::env::temp_dir().join(format!("apimcp-introspect-{}.toml", issuer.port));
        let toml = format!(
            "[server]\nstateless = true\n[api]\nspec = \"{}\"\nupstream = \"{}\"\n[auth]\nissuer = \"{}\"\n{auth}",
            demo.url("/openapi.json"),
            demo.base,
            issuer.url()
        );
        std::fs::write(&config, toml).expect("config");
        let server = Apimcp::cmd(["serve", "--config", &config.display().to_string()])
            .env("APIMCP_TEST_RS_SECRET", "rs-secret")
            .start();
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
