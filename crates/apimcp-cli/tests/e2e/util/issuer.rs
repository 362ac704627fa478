//! oidc-provider as the real authorization server of the OAuth tests (script:
//! `tests/peers/oidc-server.mjs`): scripted login and consent, RFC 8707 resource indicators.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{free_port, peers};

/// The redirect URI of the issuer's public test client.
pub(crate) const REDIRECT: &str = "http://127.0.0.1:8765/callback";

/// oidc-provider on a fixed port, restartable (same or new signing key).
pub(crate) struct Issuer {
    pub(crate) port: u16,
    key_file: std::path::PathBuf,
    format: &'static str,
    env: Vec<(&'static str, String)>,
    child: Option<Child>,
}

impl Issuer {
    pub(crate) fn start() -> Self {
        Self::start_with("jwt")
    }

    /// `format`: `jwt`, or `opaque` for tokens only introspection can check.
    pub(crate) fn start_with(format: &'static str) -> Self {
        let mut issuer = Self::reserve(format);
        issuer.restart(false);
        issuer
    }

    /// A port and a key for an issuer not started yet (its URL can go into a configuration
    /// first); `env` and `restart` start it.
    pub(crate) fn reserve(format: &'static str) -> Self {
        let port = free_port();
        let key_file = std::env::temp_dir().join(format!("apimcp-oidc-key-{port}.json"));
        let _ = std::fs::remove_file(&key_file);
        Self {
            port,
            key_file,
            format,
            env: Vec::new(),
            child: None,
        }
    }

    /// An environment variable for the script (`OIDC_MODE`, `OIDC_PROXY_REDIRECT`, ...).
    pub(crate) fn env(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.env.push((name, value.into()));
        self
    }

    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub(crate) fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts again; `new_key` makes it sign with a fresh key (a rotation).
    pub(crate) fn restart(&mut self, new_key: bool) {
        self.stop();
        if new_key {
            let _ = std::fs::remove_file(&self.key_file);
        }
        let mut child = std::process::Command::new(peers().var("NODE22"))
            .arg(peers().place("OIDC_DIR", "oidc-server.mjs"))
            .env("OIDC_PORT", self.port.to_string())
            .env("OIDC_KEY_FILE", &self.key_file)
            .env("OIDC_REDIRECT", REDIRECT)
            .env("OIDC_TOKEN_FORMAT", self.format)
            .envs(self.env.iter().map(|(k, v)| (*k, v.as_str())))
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
    pub(crate) fn token(&self, resource: &str, scope: &str) -> String {
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

    /// A token with these claims, signed by the issuer's own key, typed `at+jwt`.
    pub(crate) fn sign(&self, claims: &Value) -> String {
        self.sign_typed(claims, "at+jwt")
    }

    /// A token with these claims, signed by the issuer's own key, with header `typ`.
    pub(crate) fn sign_typed(&self, claims: &Value, typ: &str) -> String {
        reqwest::blocking::Client::new()
            .post(format!("{}/test/sign?typ={typ}", self.url()))
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
