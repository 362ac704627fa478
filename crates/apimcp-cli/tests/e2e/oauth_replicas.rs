//! Two `apimcp serve` replicas of the OAuth proxy sharing one Redis (Debian's `redis-server`,
//! started here on a free port) behind a round-robin TCP front (every new connection goes to
//! the other replica; one public URL), in front of oidc-provider: the flow completes with its
//! steps on alternate replicas, what must happen once happens once across them, and a Redis
//! that goes away gives 503s and comes back by itself.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use serde_json::{Value, json};

use crate::oauth_proxy::{CLIENT_REDIRECT, Person, Stop, mcp_remote_completes_the_flow, pkce, query};
use crate::util::issuer::Issuer;
use crate::util::{Apimcp, Http, eventually, free_port, peers};

/// A `redis-server` of the test's own: a free port, a temporary directory, nothing saved.
struct Redis {
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl Redis {
    fn start() -> Self {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("apimcp-redis-{port}"));
        std::fs::create_dir_all(&dir).expect("redis dir");
        let mut redis = Self { port, dir, child: None };
        redis.resume();
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Starts it (again) on its port and waits until it answers.
    fn resume(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts (scripts/test.sh installs Debian's redis-server)");
        self.child = Some(child);
        let answers = || {
            let Ok(mut conn) = TcpStream::connect(("127.0.0.1", self.port)) else {
                return false;
            };
            let mut pong = [0; 7];
            conn.write_all(b"PING\r\n").is_ok() && conn.read_exact(&mut pong).is_ok() && &pong == b"+PONG\r\n"
        };
        assert!(
            eventually(Duration::from_secs(20), answers),
            "redis-server answers PING"
        );
    }

    /// Kills it (SIGKILL): every connection drops, nothing answers on its port.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The round-robin front: connection N goes to backend N mod 2. Counts what each got.
struct Front {
    base: String,
    served: Arc<[AtomicUsize; 2]>,
}

impl Front {
    fn start(backends: [u16; 2]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("front binds");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let served: Arc<[AtomicUsize; 2]> = Arc::default();
        let counts = served.clone();
        std::thread::spawn(move || {
            for (n, client) in listener.incoming().enumerate() {
                let Ok(client) = client else { continue };
                counts[n % 2].fetch_add(1, Ordering::Relaxed);
                let backend = backends[n % 2];
                std::thread::spawn(move || relay(client, backend));
            }
        });
        Self { base, served }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn served(&self) -> [usize; 2] {
        [0, 1].map(|i| self.served[i].load(Ordering::Relaxed))
    }
}

/// Copies bytes both ways between `client` and the backend on `port` until either side closes.
fn relay(mut client: TcpStream, port: u16) {
    let Ok(mut backend) = TcpStream::connect(("127.0.0.1", port)) else {
        return;
    };
    let (Ok(mut client_in), Ok(mut backend_out)) = (client.try_clone(), backend.try_clone()) else {
        return;
    };
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut client_in, &mut backend_out);
        let _ = backend_out.shutdown(Shutdown::Write);
    });
    let _ = std::io::copy(&mut backend, &mut client);
    let _ = client.shutdown(Shutdown::Write);
}

/// Redis, the provider, the demo API, two replicas and their front.
struct Replicas {
    redis: Redis,
    _issuer: Issuer,
    _demo: Apimcp,
    replicas: [Apimcp; 2],
    /// Each replica's `/readyz`.
    probes: [String; 2],
    front: Front,
}

fn replicas() -> Replicas {
    let redis = Redis::start();
    let issuer = Issuer::reserve("jwt");
    let demo = Apimcp::cmd(["demo"]).start();
    let ports = [free_port(), free_port()];
    let front = Front::start(ports);
    let toml = format!(
        "[server]\nstateless = true\npublic_url = \"{front}\"\n[api]\nspec = \"{spec}\"\nupstream = \"{upstream}\"\n[auth]\nissuer = \"{issuer}\"\nsetup_proxies = true\nclient_id = \"proxy-client\"\nclient_secret = \"env:TEST_PROXY_SECRET\"\ndefault_scope = \"openid mcp:read\"\nscopes_supported = [\"mcp:read\", \"mcp:write\"]\nstore = \"{redis}\"\nregistrations_per_minute = {REGISTRATIONS_PER_MINUTE}\n",
        front = front.base,
        spec = demo.url("/openapi.json"),
        upstream = demo.base,
        issuer = issuer.url(),
        redis = redis.url(),
    );
    let config = std::env::temp_dir().join(format!("apimcp-replicas-{}.toml", ports[0]));
    std::fs::write(&config, toml).expect("config");
    let config = config.display().to_string();
    let metrics = [free_port(), free_port()];
    let probes = metrics.map(|port| format!("http://127.0.0.1:{port}/readyz"));
    let replicas = [0, 1].map(|i| {
        Apimcp::cmd(["serve", "--config", &config])
            .arg("--metrics-listen")
            .arg(&format!("127.0.0.1:{}", metrics[i]))
            .env("TEST_PROXY_SECRET", "proxy-secret")
            .start_on(ports[i])
    });
    let mut issuer = issuer
        .env("OIDC_MODE", "standard")
        .env("OIDC_PROXY_REDIRECT", front.url("/oauth/callback"));
    issuer.restart(false);
    Replicas {
        redis,
        _issuer: issuer,
        _demo: demo,
        replicas,
        probes,
        front,
    }
}

/// Registrations from one address a minute, counted in Redis across the replicas.
const REGISTRATIONS_PER_MINUTE: usize = 6;

/// Registers at the replicas in turn until one says 429: how many registered first. With the
/// count shared through Redis, never more than the limit (within one minute's window).
fn registered_until_limited(bases: &[String; 2]) -> usize {
    let http = reqwest::blocking::Client::new();
    let window = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() / 60)
    };
    loop {
        let started = window();
        let mut registered = 0;
        for n in 0..4 * REGISTRATIONS_PER_MINUTE {
            let response = http
                .post(format!("{}/oauth/register", bases[n % 2]))
                .json(&json!({"redirect_uris": [CLIENT_REDIRECT]}))
                .send()
                .expect("register");
            match response.status().as_u16() {
                201 => registered += 1,
                429 => break,
                other => panic!("registration answered {other}"),
            }
        }
        if window() == started {
            return registered;
        }
    }
}

fn register(base: &str) -> String {
    let response = reqwest::blocking::Client::new()
        .post(format!("{base}/oauth/register"))
        .json(&json!({"client_name": "Replicated", "redirect_uris": [CLIENT_REDIRECT]}))
        .send()
        .expect("register");
    assert_eq!(response.status(), 201);
    let client: Value = response.json().expect("json");
    client["client_id"].as_str().expect("client_id").to_owned()
}

/// A token request's status and body.
fn token_request(base: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let response = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
        .post(format!("{base}/oauth/token"))
        .form(form)
        .send()
        .expect("the token endpoint answers");
    (response.status().as_u16(), response.json().unwrap_or(Value::Null))
}

fn exchange(base: &str, client_id: &str, code: &str, verifier: &str) -> (u16, Value) {
    token_request(
        base,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", client_id),
            ("code", code),
            ("redirect_uri", CLIENT_REDIRECT),
            ("code_verifier", verifier),
        ],
    )
}

fn refresh(base: &str, client_id: &str, refresh_token: &str) -> (u16, Value) {
    token_request(
        base,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", client_id),
            ("refresh_token", refresh_token),
        ],
    )
}

/// An authorization request for `client_id` at the front, with offline_access and
/// prompt=consent (so the provider issues a refresh token).
fn authorize_url(front: &Front, client_id: &str, challenge: &str, state: &str) -> String {
    reqwest::Url::parse_with_params(
        &front.url("/oauth/authorize"),
        [
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", CLIENT_REDIRECT),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
            ("state", state),
            ("scope", "mcp:read offline_access"),
            ("prompt", "consent"),
            ("resource", &front.url("/mcp")),
        ],
    )
    .expect("url")
    .to_string()
}

/// The person authorizes `client_id` through the front (consenting when asked): a code and
/// its verifier.
fn authorize(front: &Front, person: &Person, client_id: &str, state: &str) -> (String, String) {
    let (verifier, challenge) = pkce();
    let url = authorize_url(front, client_id, &challenge, state);
    let back = match person.follow(&url, CLIENT_REDIRECT) {
        Stop::Page(200, page, _) if page.contains("/oauth/consent") => {
            person.answer(&front.base, &page, "approve", CLIENT_REDIRECT)
        }
        other => other,
    };
    let Stop::Arrived(back) = back else {
        panic!("the flow through both replicas ends back at the client: {back:?}");
    };
    assert_eq!(query(&back, "state").as_deref(), Some(state), "{back}");
    let code = query(&back, "code").unwrap_or_else(|| panic!("back at the client without a code: {back}"));
    (code, verifier)
}

fn call_get_item(base: &str, token: &str) -> u16 {
    let bearer = format!("Bearer {token}");
    let headers = [
        ("authorization", bearer.as_str()),
        ("mcp-protocol-version", "2025-06-18"),
    ];
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "get_item", "arguments": {"item_id": 1}}});
    Http::new().post(&format!("{base}/mcp"), &headers, &body).status
}

/// `request` sent to both replicas at the same moment: their answers, in replica order.
fn at_both_at_once<F>(bases: [String; 2], request: F) -> Vec<(u16, Value)>
where
    F: Fn(&str) -> (u16, Value) + Send + Sync + 'static,
{
    let request = Arc::new(request);
    let start = Arc::new(Barrier::new(2));
    let sent: Vec<_> = bases
        .into_iter()
        .map(|base| {
            let (request, start) = (request.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                request(&base)
            })
        })
        .collect();
    sent.into_iter().map(|t| t.join().expect("request thread")).collect()
}

#[test]
fn two_replicas_on_redis_share_the_flow_and_do_once_what_must_happen_once() {
    let mut setup = replicas();
    let front = &setup.front;
    let bases = setup.replicas.each_ref().map(|r| r.base.clone());
    // Registered through one replica, the client is known to both (its id is sealed with the
    // key they share through Redis).
    let client_id = register(&front.base);
    let person = Person::new();
    let before = front.served();
    let (code, verifier) = authorize(front, &person, &client_id, "s1");
    let (status, tokens) = exchange(&front.base, &client_id, &code, &verifier);
    assert_eq!(status, 200, "{tokens}");
    let after = front.served();
    assert!(
        after[0] - before[0] >= 2 && after[1] - before[1] >= 2,
        "authorize, consent, callback and token alternate between the replicas: {before:?} → {after:?}"
    );
    let access = tokens["access_token"].as_str().expect("access token");
    for base in &bases {
        assert_eq!(call_get_item(base, access), 200, "the token works at {base}");
    }

    // One refresh token presented at both replicas at once: one trip to the provider, the
    // same fresh tokens for both (never a second use the provider would punish).
    let refresh_token = tokens["refresh_token"].as_str().expect("a refresh token").to_owned();
    let (id, token) = (client_id.clone(), refresh_token.clone());
    let answers = at_both_at_once(bases.clone(), move |base| refresh(base, &id, &token));
    for (status, body) in &answers {
        assert_eq!(*status, 200, "{body}");
    }
    if answers[0].1["refresh_token"] != refresh_token.as_str() {
        assert_eq!(
            answers[0].1["access_token"], answers[1].1["access_token"],
            "a rotating provider saw one refresh, answered twice"
        );
    }
    let rotated = answers[0].1["refresh_token"]
        .as_str()
        .unwrap_or(&refresh_token)
        .to_owned();
    let (status, again) = refresh(&bases[1], &client_id, &rotated);
    assert_eq!(status, 200, "the rotated token works at either replica: {again}");

    // One code redeemed at both replicas at once: one token and one invalid_grant.
    let (code, verifier) = authorize(front, &person, &client_id, "s2");
    let id = client_id.clone();
    let mut answers = at_both_at_once(bases.clone(), move |base| exchange(base, &id, &code, &verifier));
    answers.sort_by_key(|(status, _)| *status);
    assert_eq!(answers[0].0, 200, "{:?}", answers[0].1);
    assert!(answers[0].1["access_token"].is_string());
    assert_eq!(
        (answers[1].0, answers[1].1["error"].as_str()),
        (400, Some("invalid_grant")),
        "{:?}",
        answers[1].1
    );

    // The strict TypeScript SDK client, through the front.
    let out = peers().sdk_script(
        "sdk-oauth-client.mjs",
        &[&front.url("/mcp"), "get_item", r#"{"item_id":2}"#],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let result: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|_| panic!("sdk-oauth-client: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(result["tool"]["structuredContent"]["name"], "Screwdriver", "{result}");
    // mcp-remote, through the front: its registration, the person's steps and its calls
    // land on both replicas.
    let before = front.served();
    mcp_remote_completes_the_flow(&front.base);
    let after = front.served();
    assert!(
        after[0] > before[0] && after[1] > before[1],
        "mcp-remote's flow reaches both replicas: {before:?} → {after:?}"
    );

    // Redis goes away: the endpoints that need it answer 503 temporarily_unavailable; those
    // that do not (metadata, calls with a valid token) keep working; /readyz says the store.
    let ready = |probe: &String| Http::new().get(probe);
    for probe in &setup.probes {
        let reply = ready(probe);
        assert_eq!(reply.status, 200, "{probe}: {}", reply.body);
    }
    setup.redis.stop();
    for probe in &setup.probes {
        let reply = ready(probe);
        assert_eq!(reply.status, 503, "{probe}: {}", reply.body);
        assert!(reply.body.contains("store does not answer"), "{}", reply.body);
    }
    for base in &bases {
        let (status, body) = exchange(base, &client_id, "some-code", "some-verifier");
        assert_eq!(
            (status, body["error"].as_str()),
            (503, Some("temporarily_unavailable")),
            "{body}"
        );
        let metadata = Http::new().get(&format!("{base}/.well-known/oauth-authorization-server"));
        assert_eq!(metadata.status, 200, "{}", metadata.body);
        assert_eq!(call_get_item(base, access), 200);
    }
    let url = authorize_url(front, &client_id, &pkce().1, "down");
    match person.follow(&url, CLIENT_REDIRECT) {
        Stop::Page(503, page, _) => assert!(page.contains("try again shortly"), "{page}"),
        other => panic!("an authorization while Redis is down: {other:?}"),
    }

    // Redis is back: the replicas reconnect by themselves and the flow completes again.
    setup.redis.resume();
    let recovered = || bases.iter().all(|b| exchange(b, &client_id, "some-code", "v").0 == 400);
    assert!(
        eventually(Duration::from_secs(30), recovered),
        "both replicas answer again once Redis is back"
    );
    assert!(
        setup.probes.iter().all(|p| ready(p).status == 200),
        "both replicas are ready again"
    );
    let (code, verifier) = authorize(front, &person, &client_id, "s3");
    let (status, tokens) = exchange(&front.base, &client_id, &code, &verifier);
    assert_eq!(status, 200, "{tokens}");

    // One address's registrations are counted once across the replicas.
    let registered = registered_until_limited(&bases);
    assert!(
        registered <= REGISTRATIONS_PER_MINUTE,
        "{registered} registrations at two replicas under a limit of {REGISTRATIONS_PER_MINUTE}"
    );
}
