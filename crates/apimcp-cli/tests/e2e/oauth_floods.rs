//! The proxy attacked as an outsider would, inside `a_standard_provider_behind_the_proxy`'s
//! setup (which trusts `X-Forwarded-For`, so one test machine plays many source addresses):
//! floods of registrations and authorizations leave everyone else's clients and logins in
//! progress working, garbage costs nobody's budget, outsized requests are refused and keep no
//! memory, and a rebound host name reaches neither the OAuth nor the metadata endpoints.
//!
//! CI runs small floods; `APIMCP_TEST_FLOOD=100` multiplies them (20,000 registrations,
//! thousands of authorizations), e.g.
//! `APIMCP_TEST_FLOOD=100 cargo test -p apimcp-cli --release --test e2e a_standard_provider_behind_the_proxy`.

use serde_json::{Value, json};

use crate::oauth_proxy::{CLIENT_REDIRECT, Person, Stop, authorize_url, exchange, pkce, query};
use crate::util::Apimcp;

/// What the setup allows one address per minute.
pub(crate) const LIMITS_TOML: &str =
    "trust_forwarded_headers = true\nregistrations_per_minute = 50\nauthorizations_per_minute = 40\n";
const REGISTRATIONS_PER_MINUTE: usize = 50;
const AUTHORIZATIONS_PER_MINUTE: usize = 40;

fn scale() -> usize {
    std::env::var("APIMCP_TEST_FLOOD")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

/// A client that keeps its connections: floods are fast.
fn flooder() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

fn register_from(http: &reqwest::blocking::Client, server: &Apimcp, from: &str, body: String) -> (u16, Value) {
    let response = http
        .post(server.url("/oauth/register"))
        .header("x-forwarded-for", from)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .expect("register");
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

fn valid_registration() -> String {
    json!({"client_name": "Flood", "redirect_uris": [CLIENT_REDIRECT]}).to_string()
}

pub(crate) fn floods_leave_others_working(server: &Apimcp) {
    let http = flooder();
    // A person's login in progress: a client registered before the floods, at its consent page.
    let (_, client) = register_from(&http, server, "192.0.2.10", valid_registration());
    let client_id = client["client_id"].as_str().expect("client_id").to_owned();
    let person = Person::new();
    let (verifier, challenge) = pkce();
    let url = authorize_url(server, &client_id, CLIENT_REDIRECT, &challenge, "in-progress");
    let Stop::Page(200, consent, _) = person.follow(&url, CLIENT_REDIRECT) else {
        panic!("the consent page");
    };

    registration_floods(&http, server);
    authorization_flood(&http, server);
    outsized_requests_keep_no_memory(&http, server, &client_id);

    // The login started before the floods completes, with the client registered before them.
    let callback = server.url("/oauth/callback");
    let Stop::Arrived(at_callback) = person.answer(&server.base, &consent, "approve", &callback) else {
        panic!("approved after the floods: on to the provider and back");
    };
    let Stop::Arrived(back) = person.follow(at_callback.as_str(), CLIENT_REDIRECT) else {
        panic!("back at the client");
    };
    assert_eq!(query(&back, "state").as_deref(), Some("in-progress"));
    let (status, tokens) = exchange(server, &client_id, &query(&back, "code").expect("code"), &verifier);
    assert_eq!(status, 200, "{tokens}");
}

/// Valid registrations from many addresses (the limit per address kept), garbage from one,
/// and one address over its limit: nobody else is locked out.
fn registration_floods(http: &reqwest::blocking::Client, server: &Apimcp) {
    let per_address = REGISTRATIONS_PER_MINUTE - 10;
    for n in 0..200 * scale() {
        let from = format!("198.51.{}.{}", n / per_address / 250, n / per_address % 250);
        let (status, body) = register_from(http, server, &from, valid_registration());
        assert_eq!(status, 201, "registration {n} from {from}: {body}");
    }
    // Thirty garbage registrations cost nothing, not even their sender's budget.
    for n in 0..30 {
        let body = if n % 2 == 0 {
            "not json".to_owned()
        } else {
            json!({"redirect_uris": ["http://evil.test/cb"]}).to_string()
        };
        assert_eq!(register_from(http, server, "203.0.113.66", body).0, 400);
    }
    assert_eq!(register_from(http, server, "203.0.113.66", valid_registration()).0, 201);
    // One address over its limit: 429 with Retry-After, for it alone.
    let statuses: Vec<u16> = (0..=REGISTRATIONS_PER_MINUTE)
        .map(|_| register_from(http, server, "203.0.113.99", valid_registration()).0)
        .collect();
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    let limited = http
        .post(server.url("/oauth/register"))
        .header("x-forwarded-for", "203.0.113.99")
        .json(&json!({"redirect_uris": [CLIENT_REDIRECT]}))
        .send()
        .expect("register");
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    assert_eq!(limited.json::<Value>().expect("json")["error"], "too_many_requests");
    assert_eq!(register_from(http, server, "203.0.113.66", valid_registration()).0, 201);
}

/// A burst of valid authorization requests from one address: refused past its limit, while
/// another address still gets its consent page.
fn authorization_flood(http: &reqwest::blocking::Client, server: &Apimcp) {
    let from = "203.0.113.7";
    let (_, client) = register_from(http, server, from, valid_registration());
    let client_id = client["client_id"].as_str().expect("client_id");
    let (_, challenge) = pkce();
    let url = authorize_url(server, client_id, CLIENT_REDIRECT, &challenge, "flood");
    let get = |from: &str| {
        let response = http
            .get(&url)
            .header("x-forwarded-for", from)
            .send()
            .expect("authorize");
        response.status().as_u16()
    };
    let mut shown = 0;
    for _ in 0..(AUTHORIZATIONS_PER_MINUTE + 60) * scale() {
        match get(from) {
            200 => shown += 1,
            429 => {}
            other => panic!("a flooded authorization answered {other}"),
        }
    }
    // At most two windows' worth, should the minute turn during the burst.
    assert!(
        (1..=2 * AUTHORIZATIONS_PER_MINUTE).contains(&shown),
        "{shown} consent pages"
    );
    assert_eq!(get("192.0.2.200"), 200, "another address is not limited");
}

/// An authorization request with 30,000 scopes is refused before anything is kept, again and
/// again, and the server's memory stays flat; 51 scopes are `invalid_scope`.
fn outsized_requests_keep_no_memory(http: &reqwest::blocking::Client, server: &Apimcp, client_id: &str) {
    let (_, challenge) = pkce();
    let url = authorize_url(server, client_id, CLIENT_REDIRECT, &challenge, "big");
    let scopes = format!("{}s", "s+".repeat(29_999));
    let huge = url.replace("scope=mcp%3Aread", &format!("scope={scopes}"));
    let before = server.rss_kib();
    for _ in 0..50 * scale() {
        let response = http.get(&huge).send().expect("authorize");
        assert_eq!(response.status(), 414);
    }
    let grown = server.rss_kib().saturating_sub(before);
    assert!(grown < 20 * 1024, "memory grew by {grown} KiB");
    let many = url.replace("scope=mcp%3Aread", &format!("scope={}s", "s+".repeat(50)));
    let response = http.get(&many).send().expect("authorize");
    assert_eq!(response.status(), 400);
    assert!(response.text().unwrap_or_default().contains("invalid_scope"));
}

/// DNS rebinding: a page on another site whose name now points here cannot reach the OAuth or
/// metadata endpoints (its requests carry its own name as `Host`); a foreign `Origin` with
/// our own `Host` can (browsers navigate here from clients' pages).
pub(crate) fn a_rebound_host_reaches_no_oauth_endpoint(server: &Apimcp) {
    let http = flooder();
    for (post, path) in [
        (false, "/.well-known/oauth-authorization-server"),
        (false, "/.well-known/oauth-protected-resource/mcp"),
        (false, "/oauth/authorize?client_id=x"),
        (true, "/oauth/register"),
        (true, "/oauth/token"),
    ] {
        let request = if post {
            http.post(server.url(path))
        } else {
            http.get(server.url(path))
        };
        let refused = request.header("host", "rebound.example:80").send().expect("request");
        assert_eq!(refused.status(), 403, "{path}");
    }
    let metadata = http
        .get(server.url("/.well-known/oauth-authorization-server"))
        .header("origin", "https://client.example")
        .send()
        .expect("request");
    assert_eq!(metadata.status(), 200);
}
