//! The TOML configuration file, and the settings the program runs with: flags and `APIMCP_*`
//! variables override the file, the file overrides the defaults.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, bail};
use apimcp::openapi::ConvertOptions;
use serde::Deserialize;

use crate::args::{ConvertArgs, ServeArgs, ServerArgs};

/// The file, as written. Unknown keys are errors that name the key.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfigFile {
    #[serde(default)]
    server: ServerSection,
    #[serde(default)]
    api: ApiSection,
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
    pub(crate) audience: Option<String>,
    pub(crate) introspection_url: Option<String>,
    pub(crate) introspection_client_id: Option<String>,
    pub(crate) introspection_client_secret: Option<String>,
    pub(crate) static_tokens: Option<Vec<String>>,
    pub(crate) scopes_supported: Option<Vec<String>>,
    pub(crate) required_scopes: Option<Vec<String>>,
    pub(crate) scope_implies: Option<std::collections::BTreeMap<String, Vec<String>>>,
    pub(crate) tool_scopes: Option<std::collections::BTreeMap<String, Vec<String>>>,
    pub(crate) filter_tools: Option<bool>,
    pub(crate) trust_forwarded_headers: Option<bool>,
    // The OAuth flow (FastAPI-MCP's names).
    pub(crate) authorize_url: Option<String>,
    pub(crate) oauth_metadata_url: Option<String>,
    pub(crate) client_id: Option<String>,
    pub(crate) client_secret: Option<String>,
    pub(crate) default_scope: Option<String>,
    pub(crate) setup_proxies: Option<bool>,
    pub(crate) setup_fake_dynamic_registration: Option<bool>,
    /// A table (the document itself) or a string (a JSON file's path).
    pub(crate) custom_oauth_metadata: Option<toml::Value>,
    pub(crate) metadata_path: Option<String>,
    pub(crate) consent_signing_key: Option<String>,
    pub(crate) registrations_per_minute: Option<u32>,
}

impl AuthSection {
    /// The section with `env:NAME` values of the URL settings read from the environment.
    pub(crate) fn resolved(&self) -> anyhow::Result<Self> {
        let mut section = self.clone();
        for field in [
            &mut section.issuer,
            &mut section.audience,
            &mut section.jwks_uri,
            &mut section.introspection_url,
            &mut section.authorize_url,
            &mut section.oauth_metadata_url,
        ] {
            if let Some(value) = field.as_mut() {
                *value = secret(value)?;
            }
        }
        Ok(section)
    }
}

/// A secret as written: `env:NAME` reads the variable (and fails if it is unset).
pub(crate) fn secret(value: &str) -> anyhow::Result<String> {
    match value.strip_prefix("env:") {
        Some(name) => std::env::var(name).with_context(|| format!("the environment variable {name} is not set")),
        None => Ok(value.to_owned()),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerSection {
    listen: Option<String>,
    path: Option<String>,
    sse_path: Option<String>,
    public_url: Option<String>,
    stateless: Option<bool>,
    allowed_hosts: Option<Vec<String>>,
    name: Option<String>,
    instructions: Option<String>,
    session_idle_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApiSection {
    spec: Option<String>,
    upstream: Option<String>,
    timeout_secs: Option<u64>,
    forward_headers: Option<Vec<String>>,
    include_operations: Option<Vec<String>>,
    exclude_operations: Option<Vec<String>>,
    include_tags: Option<Vec<String>>,
    exclude_tags: Option<Vec<String>>,
    describe_all_responses: Option<bool>,
    describe_full_response_schema: Option<bool>,
}

impl ConfigFile {
    pub(crate) fn load(path: Option<&str>) -> anyhow::Result<Self> {
        let Some(path) = path else {
            return Ok(Self::default());
        };
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?;
        toml::from_str(&text).with_context(|| format!("{path}: invalid configuration"))
    }
}

/// How the MCP endpoint is served.
#[derive(Debug)]
pub(crate) struct ServerSettings {
    pub(crate) listen: SocketAddr,
    pub(crate) path: String,
    pub(crate) sse_path: String,
    pub(crate) stateless: bool,
    pub(crate) public_url: Option<reqwest::Url>,
    pub(crate) allowed_hosts: Vec<String>,
    pub(crate) name: Option<String>,
    pub(crate) instructions: Option<String>,
    pub(crate) session_idle: Duration,
    pub(crate) fast_path: bool,
}

/// Which API is served and how its operations become tools.
#[derive(Debug)]
pub(crate) struct ApiSettings {
    pub(crate) spec: apimcp::source::SpecSource,
    pub(crate) upstream: reqwest::Url,
    pub(crate) timeout: Duration,
    /// `None`: the library's default (authorization, unless auth is on and the API remote).
    pub(crate) forward_headers: Option<Vec<String>>,
    pub(crate) convert: ConvertOptions,
}

pub(crate) fn server_settings(args: &ServerArgs, file: &ConfigFile) -> anyhow::Result<ServerSettings> {
    let s = &file.server;
    let listen = pick(&args.listen, &s.listen).unwrap_or_else(|| "127.0.0.1:8000".into());
    let listen = listen
        .parse()
        .with_context(|| format!("listen: {listen:?} is not an address like 127.0.0.1:8000"))?;
    let public_url = match pick(&args.public_url, &s.public_url) {
        Some(url) => Some(reqwest::Url::parse(&url).with_context(|| format!("public_url: {url:?} is not a URL"))?),
        None => None,
    };
    Ok(ServerSettings {
        listen,
        path: endpoint_path("path", pick(&args.path, &s.path).unwrap_or_else(|| "/mcp".into()))?,
        sse_path: endpoint_path(
            "sse_path",
            pick(&args.sse_path, &s.sse_path).unwrap_or_else(|| "/sse".into()),
        )?,
        stateless: args.stateless || s.stateless.unwrap_or(false),
        public_url,
        allowed_hosts: pick(&args.allowed_hosts, &s.allowed_hosts).unwrap_or_default(),
        name: pick(&args.name, &s.name),
        instructions: pick(&args.instructions, &s.instructions),
        fast_path: !args.no_fast_path,
        session_idle: Duration::from_secs(
            pick(&args.session_idle_secs, &s.session_idle_secs)
                .unwrap_or(apimcp::server::DEFAULT_SESSION_IDLE.as_secs()),
        ),
    })
}

pub(crate) fn api_settings(args: &ServeArgs, file: &ConfigFile) -> anyhow::Result<ApiSettings> {
    let a = &file.api;
    let Some(spec) = pick(&args.spec, &a.spec) else {
        bail!("no OpenAPI document: give --spec FILE|URL (or [api] spec in the configuration)");
    };
    let Some(upstream) = pick(&args.upstream, &a.upstream) else {
        bail!("no API to call: give --upstream URL (or [api] upstream in the configuration)");
    };
    let upstream = reqwest::Url::parse(&upstream).with_context(|| format!("upstream: {upstream:?} is not a URL"))?;
    if !matches!(upstream.scheme(), "http" | "https") {
        bail!("upstream: {upstream} is not an http(s) URL");
    }
    let mut convert = crate::tools::convert_options(&args.convert)?;
    merge_convert(&mut convert, &args.convert, a)?;
    Ok(ApiSettings {
        spec: apimcp::source::SpecSource::parse(&spec)?,
        upstream,
        timeout: Duration::from_secs(
            pick(&args.timeout_secs, &a.timeout_secs).unwrap_or(apimcp::server::DEFAULT_TIMEOUT.as_secs()),
        ),
        forward_headers: pick(&args.forward_headers, &a.forward_headers),
        convert,
    })
}

/// The file's conversion keys, where no flag gave one.
fn merge_convert(options: &mut ConvertOptions, args: &ConvertArgs, a: &ApiSection) -> anyhow::Result<()> {
    let filter = &mut options.filter;
    filter.include_operations = pick(&args.include_operations, &a.include_operations);
    filter.exclude_operations = pick(&args.exclude_operations, &a.exclude_operations);
    filter.include_tags = pick(&args.include_tags, &a.include_tags);
    filter.exclude_tags = pick(&args.exclude_tags, &a.exclude_tags);
    filter.validate()?;
    options.describe_all_responses |= a.describe_all_responses.unwrap_or(false);
    options.describe_full_response_schema |= a.describe_full_response_schema.unwrap_or(false);
    Ok(())
}

fn pick<T: Clone>(flag: &Option<T>, file: &Option<T>) -> Option<T> {
    flag.clone().or_else(|| file.clone())
}

fn endpoint_path(key: &str, path: String) -> anyhow::Result<String> {
    if !path.starts_with('/') || path.contains(['?', '#', ' ']) {
        bail!("{key}: {path:?} must be a path starting with '/'");
    }
    Ok(path)
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
            "#,
        )
        .expect("parses");
        assert_eq!(file.server.session_idle_secs, Some(60));
        assert_eq!(file.api.forward_headers.as_ref().map(Vec::len), Some(2));
        assert_eq!(
            file.auth.tool_scopes.as_ref().map(|t| t["delete_item"].clone()),
            Some(vec!["admin".to_owned()])
        );
    }
}
