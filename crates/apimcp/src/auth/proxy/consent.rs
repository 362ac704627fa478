//! `/oauth/consent`: the person's answer to the consent page, and the signed `__Host-` cookie
//! that remembers a consent so the page is not shown again for the same client.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::Value;

use super::error::{Denied, Refusal};
use super::params::Params;
use super::{AuthRequest, Proxy, RecordKind, StoreError, key_of, random_token, same_secret};
use crate::auth::types::{ClientId, Scopes};
use crate::keys::Keys;

/// The cookie that names the browser whose consents are stored.
const COOKIE: &str = "__Host-apimcp-consent";

/// How long a consent is remembered.
const CONSENT_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// The title of the pages for a consent that was not recorded.
const NOT_RECORDED: &str = "Consent not recorded";

pub(super) async fn consent(
    State(proxy): State<Arc<Proxy>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refusal> {
    proxy.check_origin(&headers)?;
    let form = ConsentForm::parse(&body)?;
    let request = proxy.answered_request(&form).await?;
    if !form.approved {
        let denied = Denied::new("access_denied", "the person did not approve the client");
        return Err(proxy.back(&request, StatusCode::SEE_OTHER).refuse(denied));
    }
    let browser = browser(&proxy.keys, &headers).unwrap_or_else(random_token);
    proxy.remember_consent(&browser, &request).await?;
    let mut response = proxy.to_provider(request, StatusCode::SEE_OTHER).await.into_response();
    if let Ok(cookie) = HeaderValue::from_str(&set_cookie(&proxy.keys, &browser)) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

/// The consent form as sent.
struct ConsentForm {
    /// The id of the stored authorization request.
    request: String,
    csrf: String,
    approved: bool,
}

impl ConsentForm {
    fn parse(body: &[u8]) -> Result<Self, Refusal> {
        let params = Params::parse(body);
        let (Ok(Some(request)), Ok(Some(csrf)), Ok(decision)) =
            (params.one("request"), params.one("csrf"), params.one("decision"))
        else {
            return Err(refused("the form is incomplete"));
        };
        Ok(Self {
            request: request.to_owned(),
            csrf: csrf.to_owned(),
            approved: decision == Some("approve"),
        })
    }
}

fn refused(detail: &str) -> Refusal {
    Refusal::page(StatusCode::BAD_REQUEST, NOT_RECORDED, detail)
}

impl Proxy {
    /// The form must come from apimcp's own page (or from a browser that does not say).
    fn check_origin(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
        if origin.is_some_and(|origin| origin != self.issuer.url().origin().ascii_serialization()) {
            let detail = "the form was sent from another site";
            return Err(Refusal::page(StatusCode::FORBIDDEN, NOT_RECORDED, detail));
        }
        Ok(())
    }

    /// The request the form answers (taken: a form is answered once), if its CSRF token matches.
    async fn answered_request(&self, form: &ConsentForm) -> Result<AuthRequest, Refusal> {
        let request: AuthRequest = self
            .take_locked(RecordKind::Request, &form.request)
            .await?
            .ok_or_else(|| {
                refused(
                    "this authorization request has expired or was already answered; start again from the application",
                )
            })?;
        if !same_secret(&request.csrf, &form.csrf) {
            return Err(refused("the form's CSRF token does not match"));
        }
        Ok(request)
    }

    /// The scopes the browser in `headers` consented to for `client_id`, if it ever did.
    pub(super) async fn consented(
        &self,
        headers: &HeaderMap,
        client_id: &ClientId,
    ) -> Result<Option<Scopes>, StoreError> {
        let Some(browser) = browser(&self.keys, headers) else {
            return Ok(None);
        };
        self.consented_by(&browser, client_id).await
    }

    async fn consented_by(&self, browser: &str, client_id: &ClientId) -> Result<Option<Scopes>, StoreError> {
        let found = self
            .store
            .get(RecordKind::Consent, &consent_key(browser, client_id))
            .await?;
        // A consent recorded before scopes were (`true`) covers none: the page shows again.
        Ok(found.map(|value| serde_json::from_value(value).unwrap_or_default()))
    }

    /// Remembers the request's scopes, beside those consented to before: a client that later
    /// asks for more sees the page again, one that asks for less does not.
    async fn remember_consent(&self, browser: &str, request: &AuthRequest) -> Result<(), StoreError> {
        let mut scopes = self
            .consented_by(browser, &request.client_id)
            .await?
            .unwrap_or_default();
        scopes.include(&request.scopes);
        let key = consent_key(browser, &request.client_id);
        let value = serde_json::to_value(&scopes).unwrap_or(Value::Null);
        self.store.put(RecordKind::Consent, &key, value, CONSENT_TTL).await
    }
}

fn consent_key(browser: &str, client_id: &ClientId) -> String {
    key_of(&format!("{browser} {client_id}"))
}

/// The `Set-Cookie` value naming `browser`, signed.
fn set_cookie(keys: &Keys, browser: &str) -> String {
    format!(
        "{COOKIE}={}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={}",
        keys.sign(browser),
        CONSENT_TTL.as_secs()
    )
}

/// The browser id of a validly signed consent cookie in `headers`.
fn browser(keys: &Keys, headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='))
        .find_map(|value| keys.verify(value).map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_cookies_signed_with_the_key_name_a_browser() {
        let signer = Keys::new(&[b"k1".to_vec()]);
        let set = set_cookie(&signer, "b1");
        assert!(set.starts_with("__Host-apimcp-consent=b1."));
        assert!(set.contains("Secure") && set.contains("HttpOnly") && set.contains("Path=/"));
        assert!(!set.contains("Domain"), "a __Host- cookie has no Domain");
        let value = set.split(';').next().expect("pair").to_owned();
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("a=1; {value}")).expect("header"),
        );
        assert_eq!(browser(&signer, &headers).as_deref(), Some("b1"));
        assert_eq!(browser(&Keys::new(&[b"k2".to_vec()]), &headers), None);
        let forged = value.replace("b1.", "b2.");
        headers.insert(header::COOKIE, HeaderValue::from_str(&forged).expect("header"));
        assert_eq!(browser(&signer, &headers), None);
    }

    #[test]
    fn an_incomplete_form_records_nothing() {
        assert!(ConsentForm::parse(b"request=r&csrf=t").is_ok_and(|form| !form.approved));
        assert!(ConsentForm::parse(b"request=r&csrf=t&decision=approve").is_ok_and(|form| form.approved));
        assert!(ConsentForm::parse(b"request=r&decision=approve").is_err());
        assert!(ConsentForm::parse(b"request=r&csrf=t&decision=approve&decision=deny").is_err());
    }
}
