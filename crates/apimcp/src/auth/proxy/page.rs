//! What the person's browser gets: the consent page shown before a dynamically registered
//! client is sent on to the provider (the MCP security best practices' answer to the confused
//! deputy of a proxy with a static client id), error pages, and redirects.

use axum::response::{Html, IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};

use crate::auth::types::Scopes;

/// What the consent page shows.
pub(super) struct ConsentPage<'a> {
    pub(super) client_name: &'a str,
    pub(super) client_id: &'a str,
    pub(super) redirect_host: &'a str,
    pub(super) scopes: &'a Scopes,
    pub(super) request_id: &'a str,
    pub(super) csrf: &'a str,
    /// The client comes with a metadata document and returns to a loopback address.
    pub(super) loopback_warning: bool,
}

impl ConsentPage<'_> {
    pub(super) fn render(&self) -> Response {
        let scopes: String = self
            .scopes
            .iter()
            .map(|s| format!("<li><code>{}</code></li>", escape(s.as_str())))
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
{warning}<p>It asks for these scopes:</p><ul id="scopes">{scopes}</ul>
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
            warning = if self.loopback_warning { LOOPBACK_WARNING } else { "" },
        );
        let mut response = Html(page).into_response();
        guard_page(response.headers_mut());
        response
    }
}

/// Shown when a client with a metadata document returns to this computer: any program on it
/// could have started the request in that client's name.
const LOOPBACK_WARNING: &str = "<p id=\"loopback-warning\"><strong>Warning:</strong> this application \
returns to a program on your own computer (localhost). Approve only if you started it yourself \
just now: another program could be using its name.</p>";

/// No framing (clickjacking), no caching, no referrer to other sites (`no-referrer` would make
/// the browser send `Origin: null` with the form, which the consent check refuses).
fn guard_page(headers: &mut HeaderMap) {
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("frame-ancestors 'none'; default-src 'none'; style-src 'unsafe-inline'"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
}

/// A short HTML page for an error that cannot go back to the client.
pub(super) fn error_page(status: StatusCode, title: &str, detail: &str) -> Response {
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

/// A redirect the browser follows at once and never caches.
pub(super) fn redirect(status: StatusCode, location: &str) -> Response {
    let mut response = status.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_page_escapes_what_the_client_chose() {
        let page = ConsentPage {
            client_name: "<script>alert(1)</script>",
            client_id: "c\"1",
            redirect_host: "127.0.0.1:8080",
            scopes: &Scopes::parse("a&b"),
            request_id: "r",
            csrf: "t",
            loopback_warning: true,
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
        assert!(html.contains("127.0.0.1:8080") && html.contains("loopback-warning"));
    }
}
