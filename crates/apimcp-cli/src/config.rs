//! The TOML configuration file as written: `settings.rs` merges it with the flags and the
//! environment.

use std::collections::BTreeMap;
use std::fmt;

use anyhow::Context;
use serde::Deserialize;

/// The file, as written. Unknown keys are errors that name the key.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfigFile {
    #[serde(default)]
    pub(crate) server: ServerSection,
    #[serde(default)]
    pub(crate) api: ApiSection,
    #[serde(default)]
    pub(crate) auth: AuthSection,
}

/// `[auth]`: the MCP endpoint as an OAuth resource server. Secrets, and the provider's URLs,
/// may be `env:NAME`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuthSection {
    pub(crate) required: Option<bool>,
    pub(crate) issuer: Option<String>,
    pub(crate) jwks_uri: Option<String>,
    /// Accept only JWTs typed `at+jwt` (RFC 9068), not plain `JWT`.
    pub(crate) require_at_jwt: Option<bool>,
    pub(crate) audience: Option<String>,
    pub(crate) introspection_url: Option<String>,
    pub(crate) introspection_client_id: Option<String>,
    pub(crate) introspection_client_secret: Option<Secret>,
    pub(crate) static_tokens: Option<Vec<Secret>>,
    pub(crate) scopes_supported: Option<Vec<String>>,
    pub(crate) required_scopes: Option<Vec<String>>,
    pub(crate) scope_implies: Option<BTreeMap<String, Vec<String>>>,
    pub(crate) tool_scopes: Option<BTreeMap<String, Vec<String>>>,
    pub(crate) filter_tools: Option<bool>,
    pub(crate) trust_forwarded_headers: Option<bool>,
    // The OAuth flow (FastAPI-MCP's names).
    pub(crate) authorize_url: Option<String>,
    pub(crate) oauth_metadata_url: Option<String>,
    pub(crate) client_id: Option<String>,
    pub(crate) client_secret: Option<Secret>,
    pub(crate) default_scope: Option<String>,
    pub(crate) setup_proxies: Option<bool>,
    pub(crate) setup_fake_dynamic_registration: Option<bool>,
    /// A table (the document itself) or a string (a JSON file's path).
    pub(crate) custom_oauth_metadata: Option<toml::Value>,
    pub(crate) metadata_path: Option<String>,
    pub(crate) consent_signing_key: Option<Secret>,
    /// The keys that seal and sign: the first seals, all verify.
    pub(crate) signing_keys: Option<Vec<Secret>>,
    pub(crate) refresh_grace_secs: Option<u64>,
    pub(crate) registrations_per_minute: Option<u32>,
    pub(crate) authorizations_per_minute: Option<u32>,
    /// The proxy's shared store, `redis://HOST:PORT[/DB]` (a secret: it may hold a password).
    pub(crate) store: Option<Secret>,
    pub(crate) client_metadata_documents: Option<bool>,
    /// Tests only: client metadata documents over http from loopback.
    pub(crate) client_metadata_loopback_for_tests: Option<bool>,
    pub(crate) allowed_redirect_uris: Option<Vec<String>>,
}

/// A secret as written (`env:NAME` or the value itself), or as read: its `Debug` never shows it.
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub(crate) struct Secret(String);

impl Secret {
    /// The secret with `env:NAME` read from the environment.
    pub(crate) fn resolve(&self) -> anyhow::Result<Self> {
        env_value(&self.0).map(Self)
    }

    /// The text, for the one place that hands it on.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A value as written: `env:NAME` reads the variable (and fails if it is unset).
pub(crate) fn env_value(value: &str) -> anyhow::Result<String> {
    match value.strip_prefix("env:") {
        Some(name) => std::env::var(name).with_context(|| format!("the environment variable {name} is not set")),
        None => Ok(value.to_owned()),
    }
}

/// `[server]`: how the MCP endpoint is served.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ServerSection {
    pub(crate) listen: Option<String>,
    pub(crate) path: Option<String>,
    pub(crate) sse_path: Option<String>,
    pub(crate) public_url: Option<String>,
    pub(crate) stateless: Option<bool>,
    pub(crate) allowed_hosts: Option<Vec<String>>,
    pub(crate) name: Option<String>,
    pub(crate) instructions: Option<String>,
    pub(crate) session_idle_secs: Option<u64>,
    pub(crate) max_sessions: Option<usize>,
    pub(crate) max_sessions_per_address: Option<usize>,
    pub(crate) header_timeout_secs: Option<u64>,
    pub(crate) max_connections: Option<usize>,
    pub(crate) max_connections_per_address: Option<usize>,
    pub(crate) state_dir: Option<String>,
    pub(crate) metrics_listen: Option<String>,
}

/// `[api]`: which API is served and how its operations become tools.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ApiSection {
    pub(crate) spec: Option<String>,
    pub(crate) upstream: Option<String>,
    /// Values for the variables of the document's server URLs.
    pub(crate) server_variables: Option<BTreeMap<String, String>>,
    pub(crate) timeout_secs: Option<u64>,
    pub(crate) forward_headers: Option<Vec<String>>,
    pub(crate) catalog: Option<String>,
    pub(crate) catalog_auto_above: Option<usize>,
    /// Tools listed beside the three in search mode.
    pub(crate) pin_tools: Option<Vec<String>>,
    /// strict | advisory | off.
    pub(crate) output_schema: Option<String>,
    pub(crate) include_operations: Option<Vec<String>>,
    pub(crate) exclude_operations: Option<Vec<String>>,
    pub(crate) include_tags: Option<Vec<String>>,
    pub(crate) exclude_tags: Option<Vec<String>>,
    pub(crate) describe_all_responses: Option<bool>,
    pub(crate) describe_full_response_schema: Option<bool>,
    /// Headers sent to the API on every call; values may be `env:NAME`.
    pub(crate) headers: Option<BTreeMap<String, Secret>>,
    /// Credentials by the document's security scheme name.
    pub(crate) credentials: Option<BTreeMap<String, CredentialSection>>,
}

/// `[api.credentials.<scheme>]`: which keys are set says which kind of credential it is.
/// Every value may be `env:NAME`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CredentialSection {
    /// An `apiKey` scheme's value.
    pub(crate) value: Option<Secret>,
    /// An HTTP bearer (or OAuth) token.
    pub(crate) token: Option<Secret>,
    pub(crate) username: Option<String>,
    pub(crate) password: Option<Secret>,
    pub(crate) client_id: Option<String>,
    pub(crate) client_secret: Option<Secret>,
    pub(crate) scopes: Option<Vec<String>>,
    pub(crate) token_url: Option<String>,
    /// client_secret_basic (the default) | client_secret_post.
    pub(crate) auth_method: Option<String>,
}

impl ConfigFile {
    /// The file at `path`, or an empty one when no file is given.
    pub(crate) fn load(path: Option<&str>) -> anyhow::Result<Self> {
        let Some(path) = path else {
            return Ok(Self::default());
        };
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?;
        toml::from_str(&text).with_context(|| format!("{path}: invalid configuration"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_named() {
        let err = toml::from_str::<ConfigFile>("[server]\nlisten = \"127.0.0.1:1\"\nlisen = 1\n").expect_err("unknown");
        assert!(err.to_string().contains("lisen"), "{err}");
        let err = toml::from_str::<ConfigFile>("[srv]\n").expect_err("unknown table");
        assert!(err.to_string().contains("srv"), "{err}");
    }

    #[test]
    fn every_documented_key_is_read() {
        let file: ConfigFile = toml::from_str(
            r#"
            [server]
            listen = "0.0.0.0:9000"
            path = "/m"
            sse_path = "/s"
            public_url = "https://mcp.example.com"
            stateless = true
            allowed_hosts = ["a.example"]
            name = "n"
            instructions = "i"
            session_idle_secs = 60
            [auth]
            required = true
            issuer = "https://as.example"
            jwks_uri = "https://as.example/jwks"
            audience = "https://mcp.example.com/m"
            introspection_url = "https://as.example/introspect"
            introspection_client_id = "rs"
            introspection_client_secret = "env:SECRET"
            static_tokens = ["env:TOKEN"]
            scopes_supported = ["a"]
            required_scopes = ["a"]
            filter_tools = true
            trust_forwarded_headers = false
            [auth.scope_implies]
            admin = ["a"]
            [auth.tool_scopes]
            delete_item = ["admin"]
            [api]
            spec = "spec.json"
            upstream = "http://127.0.0.1:9"
            timeout_secs = 3
            forward_headers = ["authorization", "x-tenant"]
            include_tags = ["t"]
            describe_all_responses = true
            describe_full_response_schema = true
            [api.server_variables]
            region = "eu"
            [api.headers]
            X-Tenant = "acme"
            [api.credentials.api_key]
            value = "env:API_KEY"
            [api.credentials.basicAuth]
            username = "env:USER"
            password = "env:PASS"
            [api.credentials.oauth]
            client_id = "env:CID"
            client_secret = "env:CSECRET"
            scopes = ["read"]
            token_url = "https://as.example/token"
            auth_method = "client_secret_post"
            "#,
        )
        .expect("parses");
        assert_eq!(file.server.session_idle_secs, Some(60));
        assert_eq!(file.api.forward_headers.as_ref().map(Vec::len), Some(2));
        assert_eq!(
            file.api.server_variables.as_ref().map(|v| v["region"].as_str()),
            Some("eu")
        );
        assert_eq!(file.api.headers.as_ref().map(|h| h["X-Tenant"].expose()), Some("acme"));
        let credentials = file.api.credentials.as_ref().expect("credentials");
        assert_eq!(credentials["oauth"].scopes.as_deref(), Some(&["read".to_owned()][..]));
        assert!(credentials["basicAuth"].password.is_some());
        assert_eq!(credentials["oauth"].auth_method.as_deref(), Some("client_secret_post"));
        assert_eq!(
            file.auth.tool_scopes.as_ref().map(|t| t["delete_item"].clone()),
            Some(vec!["admin".to_owned()])
        );
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let file: ConfigFile = toml::from_str(
            r#"
            [auth]
            client_id = "visible-id"
            client_secret = "s3cret-client"
            introspection_client_secret = "s3cret-introspection"
            static_tokens = ["s3cret-token-1", "s3cret-token-2"]
            consent_signing_key = "s3cret-key"
            [api.headers]
            X-Api-Secret = "s3cret-header"
            [api.credentials.bearer]
            token = "s3cret-bearer"
            [api.credentials.oauth]
            client_id = "visible-id"
            client_secret = "s3cret-oauth"
            "#,
        )
        .expect("parses");
        let shown = format!("{file:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("[redacted]") && shown.contains("visible-id"), "{shown}");
        let token = file.auth.static_tokens.as_ref().map(|t| t[1].expose());
        assert_eq!(token, Some("s3cret-token-2"), "the value itself is kept");
    }
}
