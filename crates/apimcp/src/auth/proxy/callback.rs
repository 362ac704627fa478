//! `/oauth/callback`: the provider's answer. apimcp exchanges the provider's code with its
//! client secret, keeps the tokens under a code of its own, and sends that code to the client.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::Response;
use http::StatusCode;
use serde_json::{Map, Value};

use super::error::{Denied, Refusal};
use super::params::Params;
use super::provider::ProviderError;
use super::{AuthRequest, CODE_TTL, IssuedCode, Pending, Proxy, RecordKind, random_token};

/// The provider's errors a client is told as they are; any other becomes `access_denied`.
const PASSED_ON: [&str; 7] = [
    "access_denied",
    "invalid_scope",
    "temporarily_unavailable",
    "server_error",
    "login_required",
    "consent_required",
    "interaction_required",
];

pub(super) async fn callback(State(proxy): State<Arc<Proxy>>, RawQuery(query): RawQuery) -> Result<Response, Refusal> {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    let Pending { request, verifier } = proxy.pending(&params).await?;
    let back = proxy.back(&request, StatusCode::FOUND);
    let tokens = match proxy.provider_tokens(&params, &request, &verifier).await {
        Ok(tokens) => tokens,
        Err(denied) => return Err(back.refuse(denied)),
    };
    let code = proxy.issue_code(&request, tokens).await?;
    Ok(back.with(&[("code", &code)]))
}

impl Proxy {
    /// The authorization the provider's `state` names (taken: a state is used once).
    async fn pending(&self, params: &Params) -> Result<Pending, Refusal> {
        let page = |detail: &str| Refusal::page(StatusCode::BAD_REQUEST, "Authorization failed", detail);
        let Ok(Some(state)) = params.one("state") else {
            return Err(page("the provider's answer has no state"));
        };
        self.take_locked(RecordKind::Pending, state)
            .await?
            .ok_or_else(|| page("this state is unknown, expired or already used; start again from the application"))
    }

    /// The provider's tokens for its code, or the error to tell the client.
    async fn provider_tokens(
        &self,
        params: &Params,
        request: &AuthRequest,
        verifier: &str,
    ) -> Result<Map<String, Value>, Denied> {
        if let Ok(Some(error)) = params.one("error") {
            return Err(passed_on(error, params));
        }
        let Ok(Some(code)) = params.one("code") else {
            return Err(Denied::new("server_error", "the provider's answer has no code"));
        };
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", self.callback.as_str()),
            ("code_verifier", verifier),
        ];
        form.extend(request.resources.iter().map(|r| ("resource", r.as_str())));
        self.provider.token(&form).await.map_err(|error| {
            tracing::warn!(%error, "the provider's code could not be exchanged");
            let kind = if matches!(error, ProviderError::Unavailable { .. }) {
                "temporarily_unavailable"
            } else {
                "server_error"
            };
            Denied::new(kind, error.to_string())
        })
    }

    /// A code of apimcp's for the client, exchangeable for `tokens`.
    async fn issue_code(&self, request: &AuthRequest, tokens: Map<String, Value>) -> Result<String, Refusal> {
        let code = random_token();
        let issued = IssuedCode {
            client_id: request.client_id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            code_challenge: request.code_challenge.clone(),
            tokens,
        };
        self.put_locked(RecordKind::Code, &code, &issued, CODE_TTL).await?;
        Ok(code)
    }
}

/// The provider's error, for the client.
fn passed_on(error: &str, params: &Params) -> Denied {
    let error = PASSED_ON.into_iter().find(|e| *e == error).unwrap_or("access_denied");
    let description = params
        .one("error_description")
        .ok()
        .flatten()
        .unwrap_or("the provider refused");
    Denied::new(error, description)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_provider_errors_are_passed_on() {
        let params = Params::parse(b"error=login_required&error_description=sign+in");
        let denied = passed_on("login_required", &params);
        assert_eq!(
            (denied.error, denied.description.as_str()),
            ("login_required", "sign in")
        );
        let denied = passed_on("made_up", &Params::parse(b""));
        assert_eq!(
            (denied.error, denied.description.as_str()),
            ("access_denied", "the provider refused")
        );
    }
}
