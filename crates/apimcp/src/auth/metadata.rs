//! RFC 9728 protected resource metadata, and the canonical URL of the MCP endpoint (RFC 8707:
//! the audience tokens must carry).

use serde::{Deserialize, Serialize};

use super::types::InvalidUrl;
use serde_json::{Map, Value};

/// The document at `/.well-known/oauth-protected-resource[<path>]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProtectedResourceMetadata {
    /// The canonical URL of the MCP endpoint.
    pub resource: String,
    /// Issuers whose tokens are accepted.
    pub authorization_servers: Vec<String>,
    /// Scopes a client may ask for (never `offline_access`).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub scopes_supported: Vec<String>,
    /// Always `["header"]`: tokens are never taken from the query or body.
    pub bearer_methods_supported: Vec<String>,
    /// Other members, kept as given.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ProtectedResourceMetadata {
    /// The metadata for `resource`.
    pub fn new(resource: &str, authorization_servers: &[String], scopes_supported: &[String]) -> Self {
        Self {
            resource: resource.to_owned(),
            authorization_servers: authorization_servers.to_vec(),
            scopes_supported: scopes_supported
                .iter()
                .filter(|s| s.as_str() != "offline_access")
                .cloned()
                .collect(),
            bearer_methods_supported: vec!["header".into()],
            extra: Map::new(),
        }
    }
}

/// `public_url` + `path`, normalised: lower-case scheme and host, no default port, no query,
/// fragment or trailing slash.
///
/// ```
/// use apimcp::auth::canonical_resource;
///
/// let resource = canonical_resource("HTTPS://MCP.Example.com/", "/mcp/")?;
/// assert_eq!(resource, "https://mcp.example.com/mcp");
/// assert!(canonical_resource("ftp://files.example.com", "/mcp").is_err());
/// # Ok::<(), apimcp::auth::InvalidUrl>(())
/// ```
pub fn canonical_resource(public_url: &str, path: &str) -> Result<String, InvalidUrl> {
    let value = public_url.to_owned();
    let setting = "public_url";
    let mut url = url::Url::parse(public_url).map_err(|source| InvalidUrl::Unparsable {
        setting,
        value: value.clone(),
        source,
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(InvalidUrl::NotHttp { setting, value });
    }
    let base = url.path().trim_end_matches('/').to_owned();
    let path = path.trim_end_matches('/');
    url.set_path(&format!("{base}{path}"));
    url.set_query(None);
    url.set_fragment(None);
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// The metadata URLs for a resource: the root one and the path-inserted one (RFC 9728 §3.1),
/// the same when the resource has no path.
pub fn metadata_urls(resource: &str) -> (String, String) {
    let (origin, path) = match url::Url::parse(resource) {
        Ok(url) => (
            url.origin().ascii_serialization(),
            url.path().trim_end_matches('/').to_owned(),
        ),
        Err(_) => (resource.to_owned(), String::new()),
    };
    let root = format!("{origin}/.well-known/oauth-protected-resource");
    let inserted = format!("{root}{path}");
    (root, inserted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resource_url_is_normalised() {
        assert_eq!(
            canonical_resource("HTTPS://MCP.Example.com/", "/mcp/").as_deref(),
            Ok("https://mcp.example.com/mcp")
        );
        assert_eq!(
            canonical_resource("https://h.test:443/base/", "/mcp").as_deref(),
            Ok("https://h.test/base/mcp")
        );
        assert_eq!(
            canonical_resource("http://127.0.0.1:8000", "/mcp").as_deref(),
            Ok("http://127.0.0.1:8000/mcp")
        );
        assert!(canonical_resource("ftp://x", "/mcp").is_err());
        assert_eq!(
            metadata_urls("https://h.test/mcp"),
            (
                "https://h.test/.well-known/oauth-protected-resource".into(),
                "https://h.test/.well-known/oauth-protected-resource/mcp".into()
            )
        );
    }

    #[test]
    fn offline_access_is_never_advertised() {
        let prm = ProtectedResourceMetadata::new(
            "https://h/mcp",
            &["https://as".into()],
            &["a".into(), "offline_access".into()],
        );
        let json = serde_json::to_value(&prm).expect("json");
        assert_eq!(json["scopes_supported"], serde_json::json!(["a"]));
        assert_eq!(json["bearer_methods_supported"], serde_json::json!(["header"]));
    }
}
