//! FastAPI-MCP's "OAuth Flow" with `setup_proxies`: apimcp is the authorization server MCP
//! clients talk to (its own issuer, dynamic registration, a consent page), in front of any
//! OAuth 2 / OpenID provider that has a confidential client for it. The items API is protected:
//! a tool call needs a token the provider issued for this server.
//!
//! Register `http://127.0.0.1:8000/oauth/callback` as the client's redirect URI at the provider,
//! then run:
//!
//! ```sh
//! OAUTH_ISSUER=https://id.example.com OAUTH_CLIENT_ID=... OAUTH_CLIENT_SECRET=... \
//!   cargo run -p apimcp --example 09_auth_example_oauth_proxy
//! npx mcp-remote http://127.0.0.1:8000/mcp 8080
//! ```
//!
//! `OAUTH_AUDIENCE` names the audience to ask for when the provider wants one (default: tokens
//! for the MCP endpoint's URL, through RFC 8707 `resource`).

use apimcp::McpServer;
use apimcp::auth::AuthConfig;
use axum::Router;

/// The items API with MCP at `/mcp`, behind the OAuth proxy for `issuer`.
pub fn app(issuer: &str, client_id: &str, client_secret: &str, audience: Option<&str>, public_url: &str) -> Router {
    let mut auth = AuthConfig::new()
        .issuer(issuer)
        .client_id(client_id)
        .client_secret(client_secret)
        .setup_proxies(true);
    if let Some(audience) = audience {
        auth = auth.audience(audience);
    }
    let (api, document) = apimcp::demo::app();
    let mcp = McpServer::builder()
        .utoipa(&document)
        .in_process(api.clone())
        .public_url(public_url)
        .auth(auth)
        .build()
        .unwrap_or_else(|e| panic!("the server cannot be built: {e}"));
    mcp.mount_http(api, "/mcp")
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let var = |name: &str| std::env::var(name).map_err(|_| std::io::Error::other(format!("{name} is not set")));
    let listener = tokio::net::TcpListener::bind(listen_addr()).await?;
    let public_url = std::env::var("PUBLIC_URL").unwrap_or(format!("http://{}", listener.local_addr()?));
    let audience = std::env::var("OAUTH_AUDIENCE").ok();
    let app = app(
        &var("OAUTH_ISSUER")?,
        &var("OAUTH_CLIENT_ID")?,
        &var("OAUTH_CLIENT_SECRET")?,
        audience.as_deref(),
        &public_url,
    );
    eprintln!("MCP at {public_url}/mcp; register {public_url}/oauth/callback at the provider");
    apimcp::serve(listener, app).await
}

/// `--listen ADDR`, default 127.0.0.1:8000.
fn listen_addr() -> String {
    std::env::args()
        .skip_while(|a| a != "--listen")
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8000".into())
}
