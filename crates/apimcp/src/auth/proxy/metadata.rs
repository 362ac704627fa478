//! RFC 8414 authorization server metadata: apimcp as the issuer, its endpoints and what they
//! do, and the few fields of the provider's that hold for them too.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde_json::{Map, Value, json};

use super::Proxy;
use super::error::TokenError;
use super::provider::ProviderError;
use crate::auth::types::IssuerUrl;

/// The OpenID discovery path, served with the same document as the metadata path.
const OPENID_CONFIGURATION: &str = "/.well-known/openid-configuration";

/// The provider's fields that describe what apimcp's endpoints do too: the scopes (passed on
/// to it) and its documents for people. Every other field is left out: the provider's other
/// endpoints (introspection, PAR, device, logout, registration) would take tokens apimcp's
/// clients do not have or bypass the consent page, and its DPoP, ID token, request object and
/// client authentication fields describe what apimcp's endpoints do not do.
const KEPT: [&str; 5] = [
    "scopes_supported",
    "service_documentation",
    "ui_locales_supported",
    "op_policy_uri",
    "op_tos_uri",
];

/// Where the metadata is served: `metadata_path` and OpenID's, and for an issuer with a path
/// both again with the path inserted (RFC 8414 §3).
pub(super) fn paths(issuer: &IssuerUrl, metadata_path: &str) -> Vec<String> {
    let mut paths = vec![metadata_path.to_owned(), OPENID_CONFIGURATION.to_owned()];
    let path = issuer.url().path().trim_end_matches('/');
    if !path.is_empty() {
        paths.push(format!("{metadata_path}{path}"));
        paths.push(format!("{OPENID_CONFIGURATION}{path}"));
    }
    paths
}

/// The metadata document, or 503 while the provider's cannot be had.
pub(super) async fn metadata(State(proxy): State<Arc<Proxy>>) -> Result<Json<Map<String, Value>>, TokenError> {
    let metadata = proxy.metadata().await.map_err(|error| TokenError::Unavailable {
        description: error.to_string(),
    })?;
    Ok(Json(metadata))
}

impl Proxy {
    /// The provider's metadata, with apimcp's issuer and endpoints.
    async fn metadata(&self) -> Result<Map<String, Value>, ProviderError> {
        let provider = self.provider.metadata().await?;
        let mut metadata = Map::new();
        self.insert_endpoints(&mut metadata);
        insert_capabilities(&mut metadata);
        for field in KEPT {
            if let Some(value) = provider.get(field) {
                metadata.insert(field.into(), value.clone());
            }
        }
        if self.documents.is_some() {
            metadata.insert("client_id_metadata_document_supported".into(), Value::Bool(true));
        }
        Ok(metadata)
    }

    fn insert_endpoints(&self, metadata: &mut Map<String, Value>) {
        let ours = |path: &str| Value::String(format!("{}{path}", self.issuer));
        metadata.insert("issuer".into(), Value::String(self.issuer.as_str().to_owned()));
        metadata.insert("authorization_endpoint".into(), ours("/oauth/authorize"));
        metadata.insert("token_endpoint".into(), ours("/oauth/token"));
        metadata.insert("revocation_endpoint".into(), ours("/oauth/revoke"));
        metadata.insert("revocation_endpoint_auth_methods_supported".into(), json!(["none"]));
        if self.registration {
            metadata.insert("registration_endpoint".into(), ours("/oauth/register"));
        }
    }
}

/// What apimcp's endpoints do, whatever the provider does.
fn insert_capabilities(metadata: &mut Map<String, Value>) {
    metadata.insert("response_types_supported".into(), json!(["code"]));
    metadata.insert("response_modes_supported".into(), json!(["query"]));
    metadata.insert(
        "grant_types_supported".into(),
        json!(["authorization_code", "refresh_token"]),
    );
    metadata.insert("code_challenge_methods_supported".into(), json!(["S256"]));
    metadata.insert("token_endpoint_auth_methods_supported".into(), json!(["none"]));
    metadata.insert(
        "authorization_response_iss_parameter_supported".into(),
        Value::Bool(true),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issuer_with_a_path_has_its_metadata_at_the_inserted_paths_too() {
        let root = IssuerUrl::new("public_url", "https://h.test").expect("url");
        assert_eq!(
            paths(&root, "/.well-known/oauth-authorization-server"),
            ["/.well-known/oauth-authorization-server", OPENID_CONFIGURATION]
        );
        let based = IssuerUrl::new("public_url", "https://h.test/base").expect("url");
        assert_eq!(
            paths(&based, "/.well-known/oauth-authorization-server"),
            [
                "/.well-known/oauth-authorization-server",
                OPENID_CONFIGURATION,
                "/.well-known/oauth-authorization-server/base",
                "/.well-known/openid-configuration/base"
            ]
        );
    }
}
