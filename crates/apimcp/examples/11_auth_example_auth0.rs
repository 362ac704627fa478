//! FastAPI-MCP's "Working Example with Auth0": the OAuth proxy in front of an Auth0 tenant.
//! Auth0 has no dynamic registration for MCP clients and issues JWT access tokens only for an
//! `audience` (an API you create in its dashboard), which is what the proxy adds.
//!
//! In Auth0: create an API (its identifier is `AUTH0_AUDIENCE`) and a Regular Web Application
//! (`AUTH0_CLIENT_ID`, `AUTH0_CLIENT_SECRET`) whose allowed callback URL is
//! `http://127.0.0.1:8000/oauth/callback`. Put the four values in the environment or in a
//! `.env` file, then:
//!
//! ```sh
//! cargo run -p apimcp --example 11_auth_example_auth0
//! npx mcp-remote http://127.0.0.1:8000/mcp 8080
//! ```
//!
//! `AUTH0_DOMAIN` is the tenant's domain (`tenant.eu.auth0.com`); a full URL is taken as the
//! issuer itself (the tests point it at a local Auth0-like provider).

use apimcp::McpServer;
use apimcp::auth::AuthConfig;
use axum::Router;

/// The four Auth0 settings.
pub struct Auth0 {
    /// `AUTH0_DOMAIN`.
    pub domain: String,
    /// `AUTH0_AUDIENCE`.
    pub audience: String,
    /// `AUTH0_CLIENT_ID`.
    pub client_id: String,
    /// `AUTH0_CLIENT_SECRET`.
    pub client_secret: String,
}

impl Auth0 {
    /// From the environment, after a `.env` file if there is one.
    pub fn from_env() -> Result<Self, String> {
        let _ = dotenvy::dotenv();
        let var = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set (environment or .env)"));
        Ok(Self {
            domain: var("AUTH0_DOMAIN")?,
            audience: var("AUTH0_AUDIENCE")?,
            client_id: var("AUTH0_CLIENT_ID")?,
            client_secret: var("AUTH0_CLIENT_SECRET")?,
        })
    }

    /// Auth0's issuer: `https://DOMAIN/`, with the trailing slash its tokens carry.
    pub fn issuer(&self) -> String {
        if self.domain.starts_with("http://") || self.domain.starts_with("https://") {
            self.domain.clone()
        } else {
            format!("https://{}/", self.domain)
        }
    }
}

/// The items API with MCP at `/mcp`, behind the proxy for the Auth0 tenant.
pub fn app(auth0: &Auth0, public_url: &str) -> Router {
    let issuer = auth0.issuer();
    let auth = AuthConfig::new()
        .issuer(&issuer)
        .oauth_metadata_url(format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        ))
        .audience(&auth0.audience)
        .client_id(&auth0.client_id)
        .client_secret(&auth0.client_secret)
        .setup_proxies(true);
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
    let auth0 = Auth0::from_env().map_err(std::io::Error::other)?;
    let listener = tokio::net::TcpListener::bind(listen_addr()).await?;
    let public_url = std::env::var("PUBLIC_URL").unwrap_or(format!("http://{}", listener.local_addr()?));
    eprintln!("MCP at {public_url}/mcp; Auth0's allowed callback URL: {public_url}/oauth/callback");
    apimcp::serve(listener, app(&auth0, &public_url)).await
}

/// `--listen ADDR`, default 127.0.0.1:8000.
fn listen_addr() -> String {
    std::env::args()
        .skip_while(|a| a != "--listen")
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8000".into())
}
