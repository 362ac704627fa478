//! `/oauth/revoke`: RFC 7009 token revocation. A refresh token revoked here revokes its whole
//! family at apimcp; the provider's copy is of no use to anyone else, since only apimcp holds
//! the client secret it is bound to. Access tokens are the provider's JWTs and expire by
//! themselves. The answer is 200 whatever the token was (RFC 7009 §2.2).

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, StatusCode};

use super::error::{NO_STORE, TokenError};
use super::refresh::Binding;
use super::token::{client_id_of, form, required};
use super::{Proxy, RecordKind};

pub(super) async fn revoke(
    State(proxy): State<Arc<Proxy>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, TokenError> {
    let params = form(&body)?;
    let client_id = client_id_of(&headers, &params)?;
    proxy.check_client(&client_id).await?;
    let token = required(&params, "token", "token is missing")?;
    let binding: Option<Binding> = proxy.get_locked(RecordKind::Refresh, token).await?;
    if let Some(binding) = binding.filter(|b| b.client_id == client_id) {
        proxy.revoke_family(&binding.family).await?;
        tracing::info!(client = %client_id, "revoked a refresh token and its family");
    }
    Ok((StatusCode::OK, NO_STORE).into_response())
}
