//! FastAPI-MCP's "Custom OAuth Metadata": apimcp serves the authorization server metadata you
//! give it at `/.well-known/oauth-authorization-server` (checked first: issuer, endpoints,
//! `S256`), the protected resource metadata names that issuer, and tokens are JWTs of that
//! issuer for this server.
//!
//! ```sh
//! OAUTH_ISSUER=https://id.example.com cargo run -p apimcp --example 10_auth_example_custom_oauth_metadata
//! ```

use apimcp::McpServer;
use apimcp::auth::AuthConfig;
use axum::Router;
use serde_json::json;

/// The metadata served: the provider's endpoints, as the operator describes them.
pub fn metadata(issuer: &str) -> serde_json::Value {
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/auth"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "registration_endpoint": format!("{issuer}/reg"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_basic"],
        "scopes_supported": ["openid", "mcp:read", "mcp:write"],
    })
}

/// The items API with MCP at `/mcp`: tokens of `issuer` checked, `metadata(issuer)` served.
pub fn app(issuer: &str, public_url: &str) -> Router {
    let auth = AuthConfig::new()
        .issuer(issuer)
        .custom_oauth_metadata(metadata(issuer))
        .scopes_supported(["mcp:read", "mcp:write"]);
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
    let issuer = std::env::var("OAUTH_ISSUER").map_err(|_| std::io::Error::other("OAUTH_ISSUER is not set"))?;
    let listener = tokio::net::TcpListener::bind(listen_addr()).await?;
    let public_url = std::env::var("PUBLIC_URL").unwrap_or(format!("http://{}", listener.local_addr()?));
    eprintln!("MCP at {public_url}/mcp; metadata at {public_url}/.well-known/oauth-authorization-server");
    apimcp::serve(listener, app(issuer.trim_end_matches('/'), &public_url)).await
}

/// `--listen ADDR`, default 127.0.0.1:8000.
fn listen_addr() -> String {
    std::env::args()
        .skip_while(|a| a != "--listen")
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8000".into())
}
