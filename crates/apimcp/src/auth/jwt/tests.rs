//! Tokens signed with test keys (testdata/: throwaway keys made for these tests only),
//! verified against a JWKS served on loopback.

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::{Value, json};

use super::*;

const RSA: &str = include_str!("testdata/rsa.pem");
const RSA_OTHER: &str = include_str!("testdata/rsa-other.pem");
const RSA_PUBLIC: &str = include_str!("testdata/rsa-public.pem");
const EC: &str = include_str!("testdata/ec.pem");
const ED: &str = include_str!("testdata/ed25519.pem");
const JWKS: &str = include_str!("testdata/jwks.json");
const JWKS_ROTATED: &str = include_str!("testdata/jwks-rotated.json");

const AUD: &str = "http://127.0.0.1:8000/mcp";

/// Serves `/.well-known/oauth-authorization-server` and a JWKS that the test can swap.
async fn issuer(jwks: &'static str) -> (String, Arc<Mutex<&'static str>>, Arc<Mutex<usize>>) {
    let current = Arc::new(Mutex::new(jwks));
    let fetches = Arc::new(Mutex::new(0usize));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (jwks_state, count, issuer) = (current.clone(), fetches.clone(), base.clone());
    let app = axum::Router::new()
        .route(
            "/.well-known/oauth-authorization-server",
            axum::routing::get(move || {
                let issuer = issuer.clone();
                async move { axum::Json(json!({"issuer": issuer, "jwks_uri": format!("{issuer}/jwks")})) }
            }),
        )
        .route(
            "/jwks",
            axum::routing::get(move || {
                let text = *jwks_state.lock().expect("lock");
                *count.lock().expect("lock") += 1;
                async move { ([("content-type", "application/json")], text) }
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, current, fetches)
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn claims(iss: &str) -> Value {
    json!({"iss": iss, "aud": AUD, "sub": "user-1", "client_id": "c1", "scope": "items:read items:write", "exp": now() + 300, "iat": now()})
}

fn sign(alg: Algorithm, kid: &str, pem: &str, claims: &Value) -> String {
    let key = match alg {
        Algorithm::ES256 => EncodingKey::from_ec_pem(pem.as_bytes()),
        Algorithm::EdDSA => EncodingKey::from_ed_pem(pem.as_bytes()),
        _ => EncodingKey::from_rsa_pem(pem.as_bytes()),
    }
    .expect("test key");
    let mut header = Header::new(alg);
    header.kid = Some(kid.into());
    encode(&header, claims, &key).expect("signs")
}

async fn verify(verifier: &JwtVerifier, token: &str) -> Result<Principal, VerifyError> {
    verifier.verify(&BearerToken::new(token)).await
}

#[tokio::test]
async fn rsa_ec_and_eddsa_tokens_are_accepted() {
    let (iss, _, _) = issuer(JWKS).await;
    let verifier = JwtVerifier::new(&iss, AUD);
    for (alg, kid, pem) in [
        (Algorithm::RS256, "k-rsa", RSA),
        (Algorithm::PS256, "k-rsa", RSA),
        (Algorithm::ES256, "k-ec", EC),
        (Algorithm::EdDSA, "k-ed", ED),
    ] {
        let principal = verify(&verifier, &sign(alg, kid, pem, &claims(&iss)))
            .await
            .unwrap_or_else(|e| panic!("{alg:?}: {e}"));
        assert_eq!(principal.subject.as_deref(), Some("user-1"));
        assert_eq!(principal.client_id.as_deref(), Some("c1"));
        assert!(principal.scopes.contains("items:write"));
    }
}

#[tokio::test]
async fn bad_tokens_are_refused_with_the_reason() {
    let (iss, _, _) = issuer(JWKS).await;
    let verifier = JwtVerifier::new(&iss, AUD);
    let with = |f: &dyn Fn(&mut Value)| {
        let mut c = claims(&iss);
        f(&mut c);
        sign(Algorithm::RS256, "k-rsa", RSA, &c)
    };
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let none = format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT"})), b64(&claims(&iss)));
    let hmac = {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("k-rsa".into());
        encode(
            &header,
            &claims(&iss),
            &EncodingKey::from_secret(RSA_PUBLIC.as_bytes()).expect("key"),
        )
        .expect("signs")
    };
    let cases = [
        (with(&|c| c["exp"] = json!(now() - 3600)), "expired"),
        (with(&|c| c["nbf"] = json!(now() + 3600)), "not valid yet"),
        (with(&|c| c["aud"] = json!("https://other.example/mcp")), "aud"),
        (with(&|c| c["iss"] = json!("https://evil.example")), "iss"),
        (with(&|c| drop(c.as_object_mut().map(|m| m.remove("aud")))), "aud"),
        (sign(Algorithm::RS256, "k-rsa", RSA_OTHER, &claims(&iss)), "signature"),
        (none, "none is not accepted"),
        (hmac, "HS256"),
        ("garbage".to_owned(), "not a JWT"),
    ];
    for (token, reason) in cases {
        match verify(&verifier, &token).await {
            Err(VerifyError::Invalid(why)) => assert!(why.contains(reason), "{reason}: {why}"),
            other => panic!("{reason}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_rotated_key_is_fetched_and_fetches_are_bounded() {
    let (iss, jwks, fetches) = issuer(JWKS).await;
    let verifier = JwtVerifier::new(&iss, AUD);
    verify(&verifier, &sign(Algorithm::RS256, "k-rsa", RSA, &claims(&iss)))
        .await
        .expect("first key");
    assert_eq!(*fetches.lock().expect("lock"), 1);
    *jwks.lock().expect("lock") = JWKS_ROTATED;
    // The rotation is seen once REFETCH_INTERVAL allows a fetch; unknown keys before that do
    // not reach the issuer again.
    {
        let mut keys = verifier.keys.lock().await;
        keys.attempted = Some(Instant::now());
    }
    let rotated = sign(Algorithm::RS256, "k-rotated", RSA_OTHER, &claims(&iss));
    assert!(verify(&verifier, &rotated).await.is_err());
    assert!(verify(&verifier, &rotated).await.is_err());
    assert_eq!(*fetches.lock().expect("lock"), 1, "no fetch inside the interval");
    verifier.keys.lock().await.attempted = Instant::now().checked_sub(REFETCH_INTERVAL);
    verify(&verifier, &rotated).await.expect("the rotated key is fetched");
    assert_eq!(*fetches.lock().expect("lock"), 2);
}

#[tokio::test]
async fn an_unreachable_issuer_is_unavailable_not_invalid() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let iss = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    let verifier = JwtVerifier::new(&iss, AUD);
    let started = Instant::now();
    let result = verify(&verifier, &sign(Algorithm::RS256, "k-rsa", RSA, &claims(&iss))).await;
    assert!(matches!(result, Err(VerifyError::Unavailable(_))), "{result:?}");
    assert!(started.elapsed() < FETCH_TIMEOUT * 4);
}

#[test]
fn discovery_covers_rfc_8414_and_openid_forms() {
    assert_eq!(
        discovery_urls("https://as.example/tenant1"),
        [
            "https://as.example/.well-known/oauth-authorization-server/tenant1",
            "https://as.example/.well-known/openid-configuration/tenant1",
            "https://as.example/tenant1/.well-known/openid-configuration",
        ]
    );
    assert_eq!(discovery_urls("https://as.example/").len(), 2);
}

fn sign_typed(typ: Option<&str>, iss: &str) -> String {
    let key = EncodingKey::from_rsa_pem(RSA.as_bytes()).expect("test key");
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("k-rsa".into());
    header.typ = typ.map(str::to_owned);
    encode(&header, &claims(iss), &key).expect("signs")
}

#[tokio::test]
async fn token_types_that_name_another_kind_are_refused() {
    let (iss, _, _) = issuer(JWKS).await;
    let verifier = JwtVerifier::new(&iss, AUD);
    for typ in [None, Some("JWT"), Some("at+jwt"), Some("application/at+JWT")] {
        verify(&verifier, &sign_typed(typ, &iss))
            .await
            .unwrap_or_else(|e| panic!("{typ:?}: {e}"));
    }
    for typ in ["dpop+jwt", "id_token+jwt", "logout+jwt\n"] {
        match verify(&verifier, &sign_typed(Some(typ), &iss)).await {
            Err(VerifyError::Invalid(why)) => {
                assert!(why.contains("not an access token") && !why.contains('\n'), "{why}");
            }
            other => panic!("{typ}: {other:?}"),
        }
    }
    let strict = JwtVerifier::new(&iss, AUD).require_at_jwt();
    verify(&strict, &sign_typed(Some("at+jwt"), &iss))
        .await
        .expect("at+jwt");
    for typ in [None, Some("JWT")] {
        assert!(verify(&strict, &sign_typed(typ, &iss)).await.is_err(), "{typ:?}");
    }
}

#[tokio::test]
async fn fetches_are_bounded_from_the_first_request_on() {
    // A JWKS that does not parse: every fetch fails, and a burst makes one.
    let (iss, _, fetches) = issuer("not a key set").await;
    let verifier = JwtVerifier::new(&iss, AUD);
    let token = sign(Algorithm::RS256, "k-rsa", RSA, &claims(&iss));
    let burst = (0..50).map(|_| verify(&verifier, &token));
    for result in futures::future::join_all(burst).await {
        assert!(matches!(result, Err(VerifyError::Unavailable(_))), "{result:?}");
    }
    assert_eq!(*fetches.lock().expect("lock"), 1);
    // A burst of valid tokens on a fresh verifier: one fetch, every token accepted.
    let (iss, _, fetches) = issuer(JWKS).await;
    let verifier = JwtVerifier::new(&iss, AUD);
    let token = sign(Algorithm::RS256, "k-rsa", RSA, &claims(&iss));
    let burst = (0..50).map(|_| verify(&verifier, &token));
    assert!(futures::future::join_all(burst).await.iter().all(Result::is_ok));
    assert_eq!(*fetches.lock().expect("lock"), 1);
}

/// Arbitrary tokens (random bytes, and well-formed JWTs with odd headers, claims and
/// signatures) are all refused, none panics, and the verifier still accepts a good token after.
/// Seeded; `APIMCP_PROPERTY_CASES` for a longer run.
#[tokio::test]
async fn arbitrary_tokens_are_refused_without_a_panic() {
    let (iss, _, _) = issuer(JWKS).await;
    let verifier = JwtVerifier::new(&iss, AUD);
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let mut state: u64 = 0x70CE_2B1D;
    let mut next = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let odd = [
        json!(null),
        json!(-1),
        json!(""),
        json!("\u{1b}[31m\r\n"),
        json!([]),
        json!({}),
        json!(1e300),
        json!("x".repeat(5000)),
    ];
    let cases: usize = std::env::var("APIMCP_PROPERTY_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3000);
    for case in 0..cases {
        let mut pick = |n: usize| (next() % n as u64) as usize;
        let token = match pick(3) {
            0 => {
                let bytes: Vec<u8> = (0..pick(300)).map(|_| (pick(256)) as u8).collect();
                String::from_utf8_lossy(&bytes).into_owned()
            }
            1 => {
                let parts: Vec<String> = (0..pick(6))
                    .map(|_| b64(&(0..pick(80)).map(|_| pick(256) as u8).collect::<Vec<u8>>()))
                    .collect();
                parts.join(".")
            }
            _ => {
                let algs = ["RS256", "ES256", "EdDSA", "none", "HS256", "PS512", "RS1", ""];
                let typs = ["JWT", "at+jwt", "dpop+jwt", "application/at+jwt", ""];
                let kids = ["k-rsa", "k-ec", "nope", ""];
                let (alg, kid, typ) = (algs[pick(algs.len())], kids[pick(kids.len())], typs[pick(typs.len())]);
                let mut header = json!({"alg": alg, "kid": kid, "typ": typ});
                if pick(3) == 0 {
                    header[["alg", "kid", "typ", "crit", "jku", "x5u"][pick(6)]] = odd[pick(odd.len())].clone();
                }
                let mut body = claims(&iss);
                if pick(2) == 0 {
                    body[["exp", "aud", "iss", "scope", "sub", "nbf"][pick(6)]] = odd[pick(odd.len())].clone();
                }
                let signature: Vec<u8> = (0..pick(600)).map(|_| pick(256) as u8).collect();
                format!(
                    "{}.{}.{}",
                    b64(header.to_string().as_bytes()),
                    b64(body.to_string().as_bytes()),
                    b64(&signature)
                )
            }
        };
        let result = verify(&verifier, &token).await;
        assert!(
            matches!(result, Err(VerifyError::Invalid(_))),
            "case {case}: {token:?} gave {result:?}"
        );
    }
    let good = sign(Algorithm::RS256, "k-rsa", RSA, &claims(&iss));
    assert!(verify(&verifier, &good).await.is_ok());
}
