//! apimcp's keys, and what it does with them: sealing what travels inside what clients carry
//! (an OAuth client id holds its own registration; a 2026-07-28 `requestState` the answers so
//! far), signing the consent cookie, and encrypting each stored record under the secret that
//! names it.
//!
//! Several keys may be configured: the first seals and signs, all open and verify, so a key is
//! rotated by putting a new one first and removing the old one once what it sealed has expired.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit as _, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{KeyInit, Mac};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

type HmacSha256 = hmac::Hmac<Sha256>;

/// The length of an XChaCha20-Poly1305 nonce.
const NONCE: usize = 24;

/// Why a sealed value did not open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unsealed {
    /// Not sealed by these keys for this purpose: altered, forged, for another purpose, or by
    /// a key no longer held.
    Refused,
    /// Sealed here for this purpose, but its time is up.
    Expired,
}

/// One configured key, split into a key per use so that no two uses share one.
struct Key {
    seal: XChaCha20Poly1305,
    sign: [u8; 32],
}

impl Key {
    fn new(master: &[u8]) -> Self {
        Self {
            seal: XChaCha20Poly1305::new(&derive(master, b"apimcp seal").into()),
            sign: derive(master, b"apimcp sign"),
        }
    }

    fn signature(&self, value: &str) -> String {
        let mut mac =
            HmacSha256::new_from_slice(&self.sign).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(value.as_bytes());
        base64url(&mac.finalize().into_bytes())
    }
}

/// HMAC-SHA256 of `label` under `master`: a key of its own for each use of a master key.
fn derive(master: &[u8], label: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(master).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(label);
    mac.finalize().into_bytes().into()
}

/// The configured keys: the first seals and signs, all open and verify.
pub(crate) struct Keys {
    keys: Vec<Key>,
}

/// What a sealed value holds: the value, and until when it is good (seconds since the epoch;
/// none: as long as a key opens it).
#[derive(Serialize, serde::Deserialize)]
struct Envelope<T> {
    #[serde(rename = "e", skip_serializing_if = "Option::is_none", default)]
    expires: Option<u64>,
    #[serde(rename = "v")]
    value: T,
}

impl Keys {
    /// `masters` in order (at least one: a random key is made when none is given).
    pub(crate) fn new(masters: &[Vec<u8>]) -> Self {
        let mut keys: Vec<Key> = masters.iter().map(|m| Key::new(m)).collect();
        if keys.is_empty() {
            keys.push(Key::new(&random_bytes(32)));
        }
        Self { keys }
    }

    /// `value` sealed for `purpose` (which must match when it is opened), good for `ttl`
    /// seconds or, with none, as long as a key opens it; URL-safe text.
    pub(crate) fn seal<T: Serialize>(&self, purpose: impl AsRef<[u8]>, value: &T, ttl: Option<u64>) -> String {
        let envelope = Envelope {
            expires: ttl.map(|ttl| now() + ttl),
            value,
        };
        let plaintext = serde_json::to_vec(&envelope).unwrap_or_default();
        base64url(&encrypt(&self.keys[0].seal, purpose.as_ref(), &plaintext))
    }

    /// What `sealed` holds, if a key opens it for `purpose` and it has not expired.
    pub(crate) fn open<T: DeserializeOwned>(&self, purpose: impl AsRef<[u8]>, sealed: &str) -> Option<T> {
        self.unseal(purpose, sealed).ok()
    }

    /// [`open`](Self::open), saying why not.
    pub(crate) fn unseal<T: DeserializeOwned>(&self, purpose: impl AsRef<[u8]>, sealed: &str) -> Result<T, Unsealed> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(sealed)
            .map_err(|_| Unsealed::Refused)?;
        let plaintext = self
            .keys
            .iter()
            .find_map(|key| decrypt(&key.seal, purpose.as_ref(), &bytes))
            .ok_or(Unsealed::Refused)?;
        let envelope: Envelope<T> = serde_json::from_slice(&plaintext).map_err(|_| Unsealed::Refused)?;
        match envelope.expires {
            Some(expires) if expires <= now() => Err(Unsealed::Expired),
            _ => Ok(envelope.value),
        }
    }

    /// `value` with its signature: `value.signature`.
    pub(crate) fn sign(&self, value: &str) -> String {
        format!("{value}.{}", self.keys[0].signature(value))
    }

    /// The value of a `value.signature` that one of the keys signed.
    pub(crate) fn verify<'a>(&self, signed: &'a str) -> Option<&'a str> {
        let (value, signature) = signed.rsplit_once('.')?;
        self.keys
            .iter()
            .any(|key| same_secret(&key.signature(value), signature))
            .then_some(value)
    }
}

/// `record` encrypted under a key derived from `secret` (a code, a state, a request id): a
/// store, which sees only the secret's hash, cannot read what it keeps, and neither can anyone
/// holding apimcp's keys but not the secret.
pub(crate) fn lock<T: Serialize>(secret: &str, record: &T) -> String {
    let cipher = XChaCha20Poly1305::new(&record_key(secret).into());
    let plaintext = serde_json::to_vec(record).unwrap_or_default();
    base64url(&encrypt(&cipher, b"record", &plaintext))
}

/// The record `locked` holds, with the secret it was locked under.
pub(crate) fn unlock<T: DeserializeOwned>(secret: &str, locked: &str) -> Option<T> {
    let cipher = XChaCha20Poly1305::new(&record_key(secret).into());
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(locked).ok()?;
    serde_json::from_slice(&decrypt(&cipher, b"record", &bytes)?).ok()
}

fn record_key(secret: &str) -> [u8; 32] {
    Sha256::new()
        .chain_update(b"apimcp record key\0")
        .chain_update(secret.as_bytes())
        .finalize()
        .into()
}

/// A random nonce, then the ciphertext.
fn encrypt(cipher: &XChaCha20Poly1305, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let nonce = random_bytes(NONCE);
    let payload = Payload { msg: plaintext, aad };
    let sealed = cipher
        .encrypt(XNonce::from_slice(&nonce), payload)
        .unwrap_or_else(|_| unreachable!("XChaCha20-Poly1305 encrypts any message under 256 GiB"));
    [nonce, sealed].concat()
}

fn decrypt(cipher: &XChaCha20Poly1305, aad: &[u8], bytes: &[u8]) -> Option<Vec<u8>> {
    if bytes.len() < NONCE {
        return None;
    }
    let (nonce, ciphertext) = bytes.split_at(NONCE);
    let payload = Payload { msg: ciphertext, aad };
    cipher.decrypt(XNonce::from_slice(nonce), payload).ok()
}

/// `n` bytes from the system's random source.
pub(crate) fn random_bytes(n: usize) -> Vec<u8> {
    let mut bytes = vec![0; n];
    getrandom::fill(&mut bytes).unwrap_or_else(|e| panic!("the system's random source failed: {e}"));
    bytes
}

/// Equal secrets, compared in constant time.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    bool::from(subtle::ConstantTimeEq::ct_eq(a.as_bytes(), b.as_bytes()))
}

fn base64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_for_their_purpose_with_any_configured_key() {
        let old = Keys::new(&[b"old".to_vec()]);
        let sealed = old.seal("client", &"c1", None);
        assert_eq!(old.open::<String>("client", &sealed).as_deref(), Some("c1"));
        assert_eq!(old.open::<String>("state", &sealed), None, "bound to its purpose");
        let rotated = Keys::new(&[b"new".to_vec(), b"old".to_vec()]);
        assert_eq!(rotated.open::<String>("client", &sealed).as_deref(), Some("c1"));
        let fresh = rotated.seal("client", &"c2", None);
        assert_eq!(old.open::<String>("client", &fresh), None, "the first key seals");
        let removed = Keys::new(&[b"new".to_vec()]);
        assert_eq!(removed.open::<String>("client", &sealed), None);
        let mut tampered = sealed.into_bytes();
        tampered[40] = if tampered[40] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).expect("ascii");
        assert_eq!(old.open::<String>("client", &tampered), None);
        assert_eq!(old.open::<String>("client", "not base64!"), None);
    }

    #[test]
    fn sealed_values_expire() {
        let keys = Keys::new(&[b"k".to_vec()]);
        assert_eq!(keys.open::<u8>("x", &keys.seal("x", &1u8, Some(60))), Some(1));
        assert_eq!(
            keys.unseal::<u8>("x", &keys.seal("x", &1u8, Some(0))),
            Err(Unsealed::Expired)
        );
        assert_eq!(
            keys.unseal::<u8>("y", &keys.seal("x", &1u8, Some(60))),
            Err(Unsealed::Refused)
        );
    }

    #[test]
    fn signatures_verify_with_any_key_and_only_unchanged() {
        let old = Keys::new(&[b"old".to_vec()]);
        let signed = old.sign("b1");
        assert_eq!(old.verify(&signed), Some("b1"));
        assert_eq!(
            Keys::new(&[b"new".to_vec(), b"old".to_vec()]).verify(&signed),
            Some("b1")
        );
        assert_eq!(Keys::new(&[b"new".to_vec()]).verify(&signed), None);
        assert_eq!(old.verify(&signed.replace("b1.", "b2.")), None);
        assert_eq!(old.verify("b1"), None);
    }

    #[test]
    fn locked_records_open_only_with_their_secret() {
        let locked = lock("code-1", &serde_json::json!({"access_token": "at"}));
        assert!(!locked.contains("at\""), "not in plaintext");
        let opened: Option<serde_json::Value> = unlock("code-1", &locked);
        assert_eq!(opened, Some(serde_json::json!({"access_token": "at"})));
        assert_eq!(unlock::<serde_json::Value>("code-2", &locked), None);
    }
}
