//! The consent page a person sees before a dynamically registered client is sent on to the
//! provider (the MCP security best practices' answer to the confused deputy of a proxy with a
//! static client id), and the signed `__Host-` cookie that remembers the consent.

use axum::response::{Html, IntoResponse, Response};
use base64::Engine as _;
use hmac::{KeyInit, Mac};
use http::{HeaderMap, HeaderValue, header};

/// The cookie that names the browser whose consents are stored.
pub(crate) const COOKIE: &str = "__Host-apimcp-consent";

/// How long a consent is remembered.
pub const CONSENT_TTL: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 3600);

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// What the page shows.
pub(crate) struct ConsentPage<'a> {
    pub(crate) client_name: &'a str,
    pub(crate) client_id: &'a str,
    pub(crate) redirect_host: &'a str,
    pub(crate) scopes: &'a [String],
    pub(crate) request_id: &'a str,
    pub(crate) csrf: &'a str,
}

impl ConsentPage<'_> {
    pub(crate) fn render(&self) -> Response {
        let scopes: String = self
            .scopes
            .iter()
            .map(|s| format!("<li><code>{}</code></li>", escape(s)))
            .collect();
        let page = format!(
            r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Allow {name}?</title>
<style>body{{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#222}}
.box{{border:1px solid #ccc;border-radius:8px;padding:1.5rem}}button{{font-size:1rem;padding:.5rem 1.25rem;margin-right:.5rem}}
.approve{{background:#1a6;color:#fff;border:0;border-radius:4px}}.muted{{color:#666;font-size:.9rem}}</style></head>
<body><div class="box">
<h1>Allow <span id="client-name">{name}</span>?</h1>
<p>The application <strong>{name}</strong> (client <code>{id}</code>) asks to use this MCP server on your behalf.</p>
<p>After you sign in, you will be sent back to <strong id="redirect-host">{host}</strong>.</p>
<p>It asks for these scopes:</p><ul id="scopes">{scopes}</ul>
<form method="post" action="/oauth/consent">
<input type="hidden" name="request" value="{request}">
<input type="hidden" name="csrf" value="{csrf}">
<button class="approve" type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>
<p class="muted">Only approve applications you started yourself.</p>
</div></body></html>"#,
            name = escape(self.client_name),
            id = escape(self.client_id),
            host = escape(self.redirect_host),
            request = escape(self.request_id),
            csrf = escape(self.csrf),
        );
        let mut response = Html(page).into_response();
        guard_page(response.headers_mut());
        response
    }
}

/// No framing (clickjacking), no caching, no referrer to other sites (`no-referrer` would make
/// the browser send `Origin: null` with the form, which the consent check refuses).
pub(crate) fn guard_page(headers: &mut HeaderMap) {
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("frame-ancestors 'none'; default-src 'none'; style-src 'unsafe-inline'"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
}

/// A short HTML page for an error that cannot go back to the client.
pub(crate) fn error_page(status: http::StatusCode, title: &str, detail: &str) -> Response {
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title></head>\
         <body><h1>{t}</h1><p>{d}</p></body></html>",
        t = escape(title),
        d = escape(detail)
    );
    let mut response = (status, Html(page)).into_response();
    guard_page(response.headers_mut());
    response
}

/// HTML-escapes text for element content and quoted attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Signs browser ids for the consent cookie.
pub(crate) struct CookieSigner {
    key: Vec<u8>,
}

impl CookieSigner {
    pub(crate) fn new(key: Vec<u8>) -> Self {
        Self { key }
    }

    fn signature(&self, value: &str) -> String {
        let mut mac =
            HmacSha256::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(value.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// The `Set-Cookie` value naming `browser`.
    pub(crate) fn set_cookie(&self, browser: &str) -> String {
        format!(
            "{COOKIE}={browser}.{}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={}",
            self.signature(browser),
            CONSENT_TTL.as_secs()
        )
    }

    /// The browser id of a validly signed consent cookie in `headers`.
    pub(crate) fn browser(&self, headers: &HeaderMap) -> Option<String> {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='))
            .find_map(|value| {
                let (browser, signature) = value.split_once('.')?;
                let expected = self.signature(browser);
                bool::from(subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), signature.as_bytes()))
                    .then(|| browser.to_owned())
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_cookies_signed_with_the_key_name_a_browser() {
        let signer = CookieSigner::new(b"k1".to_vec());
        let set = signer.set_cookie("b1");
        assert!(set.starts_with("__Host-apimcp-consent=b1."));
        assert!(set.contains("Secure") && set.contains("HttpOnly") && set.contains("Path=/"));
        assert!(!set.contains("Domain"), "a __Host- cookie has no Domain");
        let value = set.split(';').next().expect("pair").to_owned();
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("a=1; {value}")).expect("header"),
        );
        assert_eq!(signer.browser(&headers).as_deref(), Some("b1"));
        assert_eq!(CookieSigner::new(b"k2".to_vec()).browser(&headers), None);
        let forged = value.replace("b1.", "b2.");
        headers.insert(header::COOKIE, HeaderValue::from_str(&forged).expect("header"));
        assert_eq!(signer.browser(&headers), None);
    }

    #[tokio::test]
    async fn the_page_escapes_what_the_client_chose() {
        let page = ConsentPage {
            client_name: "<script>alert(1)</script>",
            client_id: "c\"1",
            redirect_host: "127.0.0.1:8080",
            scopes: &["a&b".into()],
            request_id: "r",
            csrf: "t",
        }
        .render();
        assert_eq!(page.headers()[header::X_FRAME_OPTIONS], "DENY");
        assert!(
            page.headers()[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .is_ok_and(|v| v.contains("frame-ancestors 'none'"))
        );
        let body = axum::body::to_bytes(page.into_body(), usize::MAX).await.expect("body");
        let html = String::from_utf8(body.to_vec()).expect("utf-8");
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("<code>c&quot;1</code>") && html.contains("<code>a&amp;b</code>"));
        assert!(html.contains("127.0.0.1:8080"));
    }
}
