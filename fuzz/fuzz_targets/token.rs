//! The JWT verifier: arbitrary tokens are all refused as invalid, none panics, none reaches the
//! network; and every 10,000 tokens a good one is still accepted (as
//! `arbitrary_tokens_are_refused_without_a_panic` asserts for its seeded cases). The first input
//! byte picks raw text, or three parts (split at 0xFF) base64url-encoded and joined with dots,
//! which reaches the header and claims parsing.
#![no_main]

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use apimcp::auth::{BearerToken, JwtVerifier, TokenVerifier as _, VerifyError};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use libfuzzer_sys::fuzz_target;
use serde_json::json;

const ISSUER: &str = "http://127.0.0.1:9";
const AUDIENCE: &str = "http://127.0.0.1:8000/mcp";
const JWKS: &str = include_str!("../../crates/apimcp/src/auth/jwt/testdata/jwks.json");
const RSA: &str = include_str!("../../crates/apimcp/src/auth/jwt/testdata/rsa.pem");

struct Fixture {
    runtime: tokio::runtime::Runtime,
    verifier: JwtVerifier,
    good: String,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let verifier = apimcp::test_helpers::jwt_verifier_holding(ISSUER, AUDIENCE, JWKS).expect("the test JWKS");
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let claims = json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "user-1", "exp": now + 3600, "iat": now});
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some("k-rsa".into());
        let key = EncodingKey::from_rsa_pem(RSA.as_bytes()).expect("the test key");
        let good = jsonwebtoken::encode(&header, &claims, &key).expect("signed");
        Fixture {
            runtime,
            verifier,
            good,
        }
    })
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

fn token(data: &[u8]) -> String {
    match data.split_first() {
        Some((kind, rest)) if kind % 2 == 1 => {
            let parts: Vec<String> = rest.split(|&b| b == 0xFF).map(base64url).collect();
            parts.join(".")
        }
        Some((_, rest)) => String::from_utf8_lossy(rest).into_owned(),
        None => String::new(),
    }
}

fuzz_target!(|data: &[u8]| {
    static RUNS: AtomicU64 = AtomicU64::new(0);
    let fixture = fixture();
    let token = token(data);
    let result = fixture
        .runtime
        .block_on(fixture.verifier.verify(&BearerToken::new(token.clone())));
    assert!(
        matches!(result, Err(VerifyError::Invalid(_))),
        "{token:?} gave {result:?}"
    );
    if RUNS.fetch_add(1, Ordering::Relaxed) % 10_000 == 0 {
        let good = fixture
            .runtime
            .block_on(fixture.verifier.verify(&BearerToken::new(fixture.good.clone())));
        assert!(good.is_ok(), "a good token is refused: {good:?}");
    }
});
