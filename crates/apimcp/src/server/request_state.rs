//! The sealed `requestState` of multi-round-trip requests (SEP-2322): what a handler was told in
//! earlier rounds travels with the client, encrypted and authenticated (XChaCha20-Poly1305),
//! bound to the caller and to the request that started it, and good for a short while.
//!
//! Several keys may be configured: the first seals, all open, so a key is rotated by putting a
//! new one first. Replicas that share the keys accept each other's states.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit as _, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// How long a `requestState` stays good: long enough for a person to answer a form.
pub const REQUEST_STATE_TTL: Duration = Duration::from_secs(10 * 60);

/// The length of an XChaCha20-Poly1305 nonce.
const NONCE: usize = 24;

/// Why an echoed `requestState` was refused. The client is told to start the request again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// Not a state this server sealed for this caller and this request: altered, forged,
    /// sealed for another request or caller, or by a key the server no longer holds.
    #[error("requestState was refused: it was altered, or sealed for another request, caller or key")]
    Refused,
    /// Sealed here for this request, but too long ago.
    #[error("requestState has expired: send the request again without it")]
    Expired,
}

/// The keys `requestState` is sealed with: the first seals, all open.
pub(crate) struct StateKeys {
    ciphers: Vec<XChaCha20Poly1305>,
    ttl: Duration,
}

/// What a sealed state holds: the answers so far, and until when (seconds since the epoch).
#[derive(serde::Serialize, serde::Deserialize)]
struct Sealed {
    #[serde(rename = "e")]
    expires: u64,
    #[serde(rename = "r")]
    responses: BTreeMap<String, Value>,
}

/// What a state is bound to: who asked, and what (method, name or URI, arguments).
pub(crate) struct Binding(pub(crate) [u8; 32]);

impl Binding {
    /// The digest of the caller's subject and client, the method, its target and arguments.
    pub(crate) fn new(
        principal: Option<&crate::auth::Principal>,
        method: &str,
        target: &str,
        arguments: &Value,
    ) -> Self {
        let (subject, client) = principal.map_or((None, None), |p| (p.subject.as_deref(), p.client_id.as_deref()));
        let mut hash = Sha256::new();
        for part in [subject.unwrap_or(""), client.unwrap_or(""), method, target] {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part.as_bytes());
        }
        hash.update(arguments.to_string().as_bytes());
        Self(hash.finalize().into())
    }
}

impl StateKeys {
    /// `masters` in order; with none, a random key of this process (states then do not
    /// survive a restart and are not accepted by other replicas).
    pub(crate) fn new(masters: &[Vec<u8>]) -> Self {
        let mut ciphers: Vec<_> = masters.iter().map(|m| cipher(m)).collect();
        if ciphers.is_empty() {
            ciphers.push(cipher(&random(32)));
        }
        Self {
            ciphers,
            ttl: REQUEST_STATE_TTL,
        }
    }

    #[cfg(test)]
    fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// `responses` sealed for `binding`, URL-safe text.
    pub(crate) fn seal(&self, binding: &Binding, responses: BTreeMap<String, Value>) -> String {
        let sealed = Sealed {
            expires: now() + self.ttl.as_secs(),
            responses,
        };
        let plaintext = serde_json::to_vec(&sealed).unwrap_or_default();
        let nonce = random(NONCE);
        let payload = Payload {
            msg: &plaintext,
            aad: &binding.0,
        };
        let encrypted = self.ciphers[0]
            .encrypt(XNonce::from_slice(&nonce), payload)
            .unwrap_or_else(|_| unreachable!("XChaCha20-Poly1305 encrypts any message under 256 GiB"));
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([nonce, encrypted].concat())
    }

    /// The answers `state` holds, if one of the keys sealed it for `binding` and it is fresh.
    pub(crate) fn open(&self, binding: &Binding, state: &str) -> Result<BTreeMap<String, Value>, StateError> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(state)
            .map_err(|_| StateError::Refused)?;
        if bytes.len() <= NONCE {
            return Err(StateError::Refused);
        }
        let (nonce, encrypted) = bytes.split_at(NONCE);
        let plaintext = self
            .ciphers
            .iter()
            .find_map(|c| {
                let payload = Payload {
                    msg: encrypted,
                    aad: &binding.0,
                };
                c.decrypt(XNonce::from_slice(nonce), payload).ok()
            })
            .ok_or(StateError::Refused)?;
        let sealed: Sealed = serde_json::from_slice(&plaintext).map_err(|_| StateError::Refused)?;
        if sealed.expires <= now() {
            return Err(StateError::Expired);
        }
        Ok(sealed.responses)
    }
}

/// A key of its own for request states, derived from a master key shared with other uses.
fn cipher(master: &[u8]) -> XChaCha20Poly1305 {
    let key: [u8; 32] = Sha256::new()
        .chain_update(b"apimcp request state\0")
        .chain_update(master)
        .finalize()
        .into();
    XChaCha20Poly1305::new(&key.into())
}

fn random(n: usize) -> Vec<u8> {
    let mut bytes = vec![0; n];
    getrandom::fill(&mut bytes).unwrap_or_else(|e| panic!("the system's random source failed: {e}"));
    bytes
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn binding(target: &str) -> Binding {
        Binding::new(None, "tools/call", target, &json!({"a": 1}))
    }

    fn answers() -> BTreeMap<String, Value> {
        BTreeMap::from([(
            "name".to_owned(),
            json!({"action": "accept", "content": {"name": "Ada"}}),
        )])
    }

    #[test]
    fn a_sealed_state_opens_for_its_own_request_only() {
        let keys = StateKeys::new(&[b"k1".to_vec()]);
        let state = keys.seal(&binding("t"), answers());
        assert_eq!(keys.open(&binding("t"), &state), Ok(answers()));
        assert_eq!(keys.open(&binding("other"), &state), Err(StateError::Refused));
        let other_args = Binding::new(None, "tools/call", "t", &json!({"a": 2}));
        assert_eq!(keys.open(&other_args, &state), Err(StateError::Refused));
    }

    #[test]
    fn a_state_is_bound_to_the_caller() {
        let keys = StateKeys::new(&[b"k1".to_vec()]);
        let alice = crate::auth::Principal {
            subject: Some("alice".into()),
            ..Default::default()
        };
        let bob = crate::auth::Principal {
            subject: Some("bob".into()),
            ..Default::default()
        };
        let for_alice = Binding::new(Some(&alice), "tools/call", "t", &json!({}));
        let state = keys.seal(&for_alice, answers());
        let for_bob = Binding::new(Some(&bob), "tools/call", "t", &json!({}));
        assert_eq!(keys.open(&for_bob, &state), Err(StateError::Refused));
        assert!(keys.open(&for_alice, &state).is_ok());
    }

    #[test]
    fn tampered_or_foreign_states_are_refused() {
        let keys = StateKeys::new(&[b"k1".to_vec()]);
        let state = keys.seal(&binding("t"), answers());
        let mut flipped = state.clone().into_bytes();
        let last = flipped.len() - 2;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).expect("ascii");
        for bad in [format!("{state}-TAMPERED"), flipped, String::new(), "AAAA".into()] {
            assert_eq!(keys.open(&binding("t"), &bad), Err(StateError::Refused), "{bad}");
        }
        let stranger = StateKeys::new(&[b"k2".to_vec()]);
        assert_eq!(stranger.open(&binding("t"), &state), Err(StateError::Refused));
    }

    #[test]
    fn rotated_keys_still_open_what_the_old_one_sealed() {
        let old = StateKeys::new(&[b"old".to_vec()]);
        let state = old.seal(&binding("t"), answers());
        let rotated = StateKeys::new(&[b"new".to_vec(), b"old".to_vec()]);
        assert_eq!(rotated.open(&binding("t"), &state), Ok(answers()));
    }

    #[test]
    fn expired_states_say_so() {
        let keys = StateKeys::new(&[b"k1".to_vec()]).with_ttl(Duration::ZERO);
        let state = keys.seal(&binding("t"), answers());
        assert_eq!(keys.open(&binding("t"), &state), Err(StateError::Expired));
    }
}
