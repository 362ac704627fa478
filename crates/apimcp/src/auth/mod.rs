//! MCP authorization as an OAuth resource server (MCP 2025-06-18 and later).
//!
//! - Bearer tokens are checked by a [`TokenVerifier`]: a [`JwtVerifier`] (the issuer's JWKS,
//!   RFC 9068), an [`IntrospectionVerifier`] (RFC 7662) or [`StaticTokens`], and by the user's
//!   own checks ([`AuthConfig::dependency`]).
//! - Clients find the authorization server through RFC 9728 protected resource metadata, and a
//!   refused request carries the `WWW-Authenticate` challenge (RFC 6750) they follow
//!   ([`AuthRejection`]).
//! - Scopes are checked per request and per tool ([`ScopeRules`]), from the OpenAPI document's
//!   `security` or the operator's rules.
//! - With [`AuthConfig::setup_proxies`], apimcp is also the authorization server MCP clients
//!   talk to, in front of a provider that cannot serve them ([`proxy`]).
//!
//! The module depends on http, tower and axum, not on the MCP server: [`RequireBearer`] is a
//! tower layer that protects a plain REST router as well as an MCP endpoint.
//!
//! ```no_run
//! use apimcp::McpServer;
//! use apimcp::auth::AuthConfig;
//!
//! # fn run(document: apimcp::OpenApiDocument, api: axum::Router) -> Result<(), apimcp::server::BuildError> {
//! let mcp = McpServer::builder()
//!     .openapi(document)
//!     .in_process(api)
//!     .public_url("https://mcp.example.com")
//!     // JWTs of this issuer, for the audience https://mcp.example.com/mcp.
//!     .auth(AuthConfig::new().issuer("https://tenant.example.com/"))
//!     .build()?;
//! # Ok(()) }
//! ```

mod challenge;
mod config;
mod introspection;
mod jwt;
mod layer;
mod logline;
mod metadata;
pub mod proxy;
mod runtime;
mod scopes;
mod static_tokens;
mod types;
mod verifier;

pub use challenge::AuthRejection;
pub use config::{
    AuthConfig, AuthConfigError, DEFAULT_AUTHORIZATIONS_PER_MINUTE, DEFAULT_METADATA_PATH,
    DEFAULT_REGISTRATIONS_PER_MINUTE, DEFAULT_SCOPE,
};
pub use introspection::{CACHE_TTL as INTROSPECTION_CACHE_TTL, IntrospectionVerifier};
pub use jwt::{FIRST_FETCH_RETRY, JwtVerifier, REFETCH_INTERVAL};
pub(crate) use layer::AuthState;
pub use layer::{RequireBearer, RequireBearerService};
pub use metadata::{ProtectedResourceMetadata, canonical_resource, metadata_urls};
pub(crate) use runtime::Auth;
pub use runtime::NotReady;
pub use scopes::ScopeRules;
pub use static_tokens::StaticTokens;
pub use types::{ClientId, ClientSecret, InvalidUrl, IssuerUrl, ResourceUrl, Scope, Scopes};
pub(crate) use verifier::request_owner;
pub use verifier::{BearerToken, Dependency, Principal, TokenVerifier, VerifyError};
