//! The OAuth proxy with the clients people use today: a client identified by its client ID
//! metadata document (served by the harness on loopback, with the test-only setting that lets
//! apimcp fetch it there), documents that break each rule, loopback redirect URIs on any port,
//! redirects browsers and clients follow (302 or 303, never 307), consent per scope set, and
//! the conformance suite's `authorization` command against the proxy.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use axum::routing::get;
use serde_json::{Value, json};

use crate::oauth_proxy::{
    CLIENT_REDIRECT, Mode, Person, Stop, authorize_url, call_get_item, pkce, query, register, setup,
};
use crate::util::{Apimcp, free_port, peers, serve_app};

/// The test-only relaxation: documents over http from loopback.
const LOOPBACK_DOCUMENTS: &str = "client_metadata_loopback_for_tests = true\n";

/// The harness's document server: a good document and one for each rule broken.
fn document_server() -> SocketAddr {
    let app = axum::Router::new()
        .route("/good.json", get(|headers: axum::http::HeaderMap| async move { document(&host_of(&headers), "good.json", json!({})) }))
        .route(
            "/mismatch.json",
            get(|| async { axum::Json(json!({"client_id": "https://elsewhere.test/c.json", "client_name": "Liar", "redirect_uris": [CLIENT_REDIRECT]})) }),
        )
        .route(
            "/large.json",
            get(|headers: axum::http::HeaderMap| async move { document(&host_of(&headers), "large.json", json!({"padding": "x".repeat(6000)})) }),
        )
        .route(
            "/moved.json",
            get(|| async { (axum::http::StatusCode::FOUND, [(axum::http::header::LOCATION, "/good.json")]) }),
        )
        .route(
            "/secret.json",
            get(|headers: axum::http::HeaderMap| async move { document(&host_of(&headers), "secret.json", json!({"token_endpoint_auth_method": "client_secret_basic"})) }),
        )
        .route(
            "/evil-redirect.json",
            get(|headers: axum::http::HeaderMap| async move { document(&host_of(&headers), "evil-redirect.json", json!({"redirect_uris": ["http://evil.test/cb"]})) }),
        )
        .route("/missing.json", get(|| async { axum::http::StatusCode::NOT_FOUND }))
        .route("/not-json.json", get(|| async { "<html>hello</html>" }));
    serve_app(app)
}

fn host_of(headers: &axum::http::HeaderMap) -> String {
    headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The document at `http://{host}/{name}`, with `extra` members over the good ones.
fn document(host: &str, name: &str, extra: Value) -> axum::Json<Value> {
    let mut document = json!({
        "client_id": format!("http://{host}/{name}"),
        "client_name": "Document Client",
        "redirect_uris": [CLIENT_REDIRECT],
        "token_endpoint_auth_method": "none",
    });
    if let (Some(members), Some(extra)) = (document.as_object_mut(), extra.as_object()) {
        members.extend(extra.clone());
    }
    axum::Json(document)
}

fn exchange_as(server: &Apimcp, client_id: &str, code: &str, verifier: &str, redirect: &str) -> (u16, Value) {
    let response = reqwest::blocking::Client::new()
        .post(server.url("/oauth/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", client_id),
            ("code", code),
            ("redirect_uri", redirect),
            ("code_verifier", verifier),
        ])
        .send()
        .expect("token request");
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

/// Approves the consent page at `url` and follows to the client's redirect URI: the code.
fn approve(server: &Apimcp, person: &Person, url: &str, redirect: &str) -> String {
    let Stop::Page(200, page, _) = person.follow(url, redirect) else {
        panic!("a consent page first");
    };
    let Stop::Arrived(back) = person.answer(&server.base, &page, "approve", redirect) else {
        panic!("back at the client after approval");
    };
    query(&back, "code").unwrap_or_else(|| panic!("a code: {back}"))
}

#[test]
fn a_client_with_a_metadata_document_completes_the_flow_and_broken_documents_are_invalid_client() {
    let documents = document_server();
    let setup = setup(Mode::Standard, LOOPBACK_DOCUMENTS);
    let server = &setup.server;
    let metadata = crate::util::Http::new()
        .get(&server.url("/.well-known/oauth-authorization-server"))
        .json();
    assert_eq!(metadata["client_id_metadata_document_supported"], true, "{metadata}");

    let client_id = format!("http://{documents}/good.json");
    let person = Person::new();
    let (verifier, challenge) = pkce();
    let url = authorize_url(server, &client_id, CLIENT_REDIRECT, &challenge, "c1");
    let Stop::Page(200, page, _) = person.follow(&url, CLIENT_REDIRECT) else {
        panic!("a client with a document gets the consent page");
    };
    assert!(
        page.contains("Document Client") && page.contains("127.0.0.1:8799"),
        "{page}"
    );
    assert!(
        page.contains("loopback-warning"),
        "a loopback redirect is warned about: {page}"
    );
    let code = approve(server, &person, &url, CLIENT_REDIRECT);
    let (status, tokens) = exchange_as(server, &client_id, &code, &verifier, CLIENT_REDIRECT);
    assert_eq!(status, 200, "{tokens}");
    let token = tokens["access_token"].as_str().expect("access token");
    assert_eq!(call_get_item(server, token, 1).status, 200);

    // A redirect URI the document does not list: a page, never a redirect.
    let stray = authorize_url(server, &client_id, "http://127.0.0.1:8799/other", &challenge, "c2");
    assert!(matches!(
        person.follow(&stray, "http://127.0.0.1:8799/other"),
        Stop::Page(400, ..)
    ));

    let broken = [
        ("mismatch.json", "not its own URL"),
        ("large.json", "larger than 5120 bytes"),
        ("moved.json", "redirect"),
        ("secret.json", "client_secret_basic"),
        ("evil-redirect.json", "http://evil.test/cb"),
        ("missing.json", "status 404"),
        ("not-json.json", "not a JSON object"),
    ];
    for (name, why) in broken {
        let client_id = format!("http://{documents}/{name}");
        let url = authorize_url(server, &client_id, CLIENT_REDIRECT, &challenge, "c3");
        match person.follow(&url, CLIENT_REDIRECT) {
            Stop::Page(400, body, _) => {
                assert!(body.contains("invalid_client") && body.contains(why), "{name}: {body}");
            }
            other => panic!("{name}: {other:?}"),
        }
        let (status, refused) = exchange_as(server, &client_id, "x", &verifier, CLIENT_REDIRECT);
        assert_eq!(
            (status, refused["error"].as_str()),
            (401, Some("invalid_client")),
            "{name}: {refused}"
        );
        let description = refused["error_description"].as_str().unwrap_or_default();
        assert!(description.contains(why), "{name}: {refused}");
    }
    // Addresses: a private one is refused whatever the setting; an https URL to loopback too
    // is only allowed because of the test setting, so a link-local one stands for the rest.
    let (status, refused) = exchange_as(
        server,
        "https://169.254.169.254/latest/meta-data",
        "x",
        &verifier,
        CLIENT_REDIRECT,
    );
    assert_eq!(status, 401, "{refused}");
    assert!(
        refused["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("link-local")),
        "{refused}"
    );
    let (status, refused) = exchange_as(server, "https://10.0.0.1/c.json", "x", &verifier, CLIENT_REDIRECT);
    assert_eq!(status, 401, "{refused}");
}

#[test]
fn without_the_test_setting_loopback_documents_are_refused() {
    let documents = document_server();
    let setup = setup(Mode::Standard, "");
    let client_id = format!("http://{documents}/good.json");
    let (status, refused) = exchange_as(&setup.server, &client_id, "x", "v", CLIENT_REDIRECT);
    assert_eq!(
        (status, refused["error"].as_str()),
        (401, Some("invalid_client")),
        "{refused}"
    );
    assert!(
        refused["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("https")),
        "{refused}"
    );
    let https_loopback = format!("https://localhost:{}/good.json", documents.port());
    let (status, refused) = exchange_as(&setup.server, &https_loopback, "x", "v", CLIENT_REDIRECT);
    assert_eq!(status, 401, "{refused}");
    assert!(
        refused["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("loopback")),
        "{refused}"
    );
}

#[test]
fn loopback_redirects_match_on_any_port_redirects_are_302_and_consent_is_per_scope_set() {
    let setup = setup(Mode::Standard, "");
    let server = &setup.server;
    let (status, client) = register(
        server,
        &json!({"client_name": "Native", "redirect_uris": ["http://127.0.0.1/callback"], "application_type": "native"}),
    );
    assert_eq!(status, 201, "{client}");
    assert_eq!(client["application_type"], "native");
    let client_id = client["client_id"].as_str().expect("client id");
    let (status, refused) = register(
        server,
        &json!({"redirect_uris": ["http://127.0.0.1/callback"], "application_type": "web"}),
    );
    assert_eq!(
        (status, refused["error"].as_str()),
        (400, Some("invalid_redirect_uri")),
        "{refused}"
    );

    // RFC 8252 §7.3: the port of a loopback redirect URI is the client's choice.
    let redirect = "http://127.0.0.1:48123/callback";
    let person = Person::new();
    let (verifier, challenge) = pkce();
    let url = authorize_url(server, client_id, redirect, &challenge, "p1");
    let code = approve(server, &person, &url, redirect);
    let (status, tokens) = exchange_as(server, client_id, &code, &verifier, redirect);
    assert_eq!(status, 200, "{tokens}");

    // Every redirect of a remembered consent is a 302 (never 307: a 307 keeps the method).
    let (_, challenge) = pkce();
    let url = authorize_url(server, client_id, "http://127.0.0.1:48124/callback", &challenge, "p2");
    let statuses = redirect_statuses(&url, "http://127.0.0.1:48124/", &person);
    assert!(
        !statuses.is_empty() && statuses.iter().all(|s| *s == 302 || *s == 303),
        "{statuses:?}"
    );

    // More scopes than consented to: the page again.
    let more = url.replace("scope=mcp%3Aread", "scope=mcp%3Aread+mcp%3Awrite");
    assert!(more.contains("mcp%3Awrite"), "{more}");
    match person.follow(&more, "http://127.0.0.1:48124/") {
        Stop::Page(200, page, _) => assert!(page.contains("mcp:write"), "{page}"),
        other => panic!("new scopes need consent: {other:?}"),
    }
}

/// The statuses of the redirects from `url` until one points under `until` (the person's
/// browser, with its consent cookie).
fn redirect_statuses(url: &str, until: &str, person: &Person) -> Vec<u16> {
    let mut statuses = Vec::new();
    let mut url = reqwest::Url::parse(url).expect("url");
    while !url.as_str().starts_with(until) && statuses.len() < 20 {
        let response = person.client.get(url.clone()).send().expect("answers");
        statuses.push(response.status().as_u16());
        let Some(location) = response.headers().get("location").and_then(|l| l.to_str().ok()) else {
            panic!("{url} answered {} without a redirect", response.status());
        };
        url = url.join(location).expect("location");
    }
    statuses
}

#[test]
fn the_conformance_suites_authorization_command_passes_against_the_proxy() {
    let setup = setup(Mode::Standard, "");
    let server = &setup.server;
    let port = free_port();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let (status, client) = register(
        server,
        &json!({"client_name": "Conformance", "redirect_uris": [redirect]}),
    );
    assert_eq!(status, 201, "{client}");
    let client_id = client["client_id"].as_str().expect("client id");
    let mut suite = peers().node("CONFORMANCE_020");
    suite
        .args(["authorization", "--url", &server.base, "--client-id", client_id])
        .args(["--port", &port.to_string(), "--resource", &server.url("/mcp")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = suite.spawn().expect("the suite starts");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut said = Vec::new();
    let authorize = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("no authorization URL; the suite said:\n{}", said.join("\n")));
        if line.starts_with(&server.url("/oauth/authorize")) {
            break line;
        }
        said.push(line);
    };
    let person = Person::new();
    let Stop::Page(200, page, _) = person.follow(&authorize, &redirect) else {
        panic!("the consent page");
    };
    let Stop::Arrived(back) = person.answer(&server.base, &page, "approve", &redirect) else {
        panic!("back at the suite's callback");
    };
    person.client.get(back).send().expect("the suite's callback answers");
    let output = crate::util::run_bounded(child, Duration::from_secs(60));
    said.extend(rx.try_iter());
    let text = format!("{}\n{}", said.join("\n"), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{text}");
    assert!(!text.contains("FAILURE") && !text.contains("WARNING"), "{text}");
}
