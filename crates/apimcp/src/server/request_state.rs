//! The sealed `requestState` of multi-round-trip requests (SEP-2322): what a handler was told in
//! earlier rounds travels with the client, encrypted and authenticated by apimcp's
//! [`Keys`](crate::keys::Keys), bound to the caller and to the request that started it, and good
//! for a short while. Replicas that share the keys accept each other's states.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::keys::{Keys, Unsealed};

/// How long a `requestState` stays good: long enough for a person to answer a form.
pub const REQUEST_STATE_TTL: Duration = Duration::from_secs(10 * 60);

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
    keys: Arc<Keys>,
    ttl: Duration,
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
        Self::shared(Arc::new(Keys::new(masters)))
    }

    /// Keys shared with another use (the OAuth proxy's): states are sealed for their own purpose.
    pub(crate) fn shared(keys: Arc<Keys>) -> Self {
        Self {
            keys,
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
        self.keys.seal(purpose(binding), &responses, Some(self.ttl.as_secs()))
    }

    /// The answers `state` holds, if one of the keys sealed it for `binding` and it is fresh.
    pub(crate) fn open(&self, binding: &Binding, state: &str) -> Result<BTreeMap<String, Value>, StateError> {
        self.keys.unseal(purpose(binding), state).map_err(|why| match why {
            Unsealed::Refused => StateError::Refused,
            Unsealed::Expired => StateError::Expired,
        })
    }
}

/// What a state is sealed for: request states, and this binding.
fn purpose(binding: &Binding) -> Vec<u8> {
    [b"apimcp request state\0".as_slice(), &binding.0].concat()
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
