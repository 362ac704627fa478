//! Which redirect URIs a client may use: those it registered, exactly, but for the port of a
//! loopback one (RFC 8252 §7.3: a native app listens on whatever port is free), and, when the
//! operator sets an allow-list, only those it lists.

use url::Url;

use super::registration::{RegistrationError, is_loopback_uri};

/// Whether `requested` is the registered redirect URI `registered`: the same string, or both
/// http on the same loopback host with the same path and query, on any port.
pub(super) fn matches(registered: &str, requested: &str) -> bool {
    registered == requested || (is_loopback_uri(registered) && without_port(registered) == without_port(requested))
}

/// `uri` without its port, when it is an http loopback URI.
fn without_port(uri: &str) -> Option<String> {
    let mut url = Url::parse(uri).ok().filter(|_| is_loopback_uri(uri))?;
    url.set_port(None).ok()?;
    Some(url.into())
}

/// The operator's allow-list of redirect URIs for clients that register themselves or come
/// with a metadata document; empty allows every https and loopback URI.
#[derive(Clone, Debug, Default)]
pub(crate) struct AllowList(Vec<String>);

impl AllowList {
    pub(crate) fn new(entries: Vec<String>) -> Self {
        Self(entries)
    }

    /// Whether `uri` may be used: it matches an entry exactly (a loopback entry on any port).
    /// No wildcards: a prefix such as `http://localhost:` would also take
    /// `http://localhost:1@evil.test/`.
    fn allows(&self, uri: &str) -> bool {
        self.0.is_empty() || self.0.iter().any(|entry| matches(entry, uri))
    }

    /// Every URI of `uris` allowed, or the first that is not.
    pub(super) fn check(&self, uris: &[String]) -> Result<(), RegistrationError> {
        match uris.iter().find(|uri| !self.allows(uri)) {
            Some(uri) => Err(RegistrationError::NotAllowed { uri: uri.clone() }),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_redirect_uris_match_on_any_port() {
        assert!(matches("http://127.0.0.1/cb", "http://127.0.0.1:53122/cb"));
        assert!(matches("http://127.0.0.1:8080/cb", "http://127.0.0.1:9090/cb"));
        assert!(matches(
            "http://localhost:3000/callback",
            "http://localhost:41000/callback"
        ));
        assert!(matches("http://[::1]:1/cb", "http://[::1]:2/cb"));
        assert!(!matches("http://127.0.0.1:8080/cb", "http://127.0.0.1:8080/other"));
        assert!(
            !matches("http://127.0.0.1:8080/cb", "http://localhost:8080/cb"),
            "the host stays"
        );
        assert!(!matches("http://127.0.0.1:8080/cb", "http://127.0.0.1:8080/cb?x=1"));
        assert!(
            !matches("https://app.test/cb", "https://app.test:8443/cb"),
            "only loopback"
        );
        assert!(matches("https://app.test/cb", "https://app.test/cb"));
    }

    #[test]
    fn an_allow_list_names_what_clients_may_use() {
        let open = AllowList::default();
        assert!(open.check(&["https://any.test/cb".into()]).is_ok());
        let hosted = AllowList::new(vec![
            "https://claude.ai/api/mcp/auth_callback".into(),
            "http://127.0.0.1/callback".into(),
            "http://localhost:3000/callback".into(),
        ]);
        assert!(
            hosted
                .check(&["https://claude.ai/api/mcp/auth_callback".into()])
                .is_ok()
        );
        assert!(hosted.check(&["http://127.0.0.1:5555/callback".into()]).is_ok());
        assert!(hosted.check(&["http://localhost:7/callback".into()]).is_ok());
        assert!(hosted.check(&["http://localhost:7@evil.test/callback".into()]).is_err());
        let refused = hosted
            .check(&["https://evil.test/cb".into()])
            .map_err(|e| e.to_string());
        assert_eq!(
            refused,
            Err("\"https://evil.test/cb\" is not among the redirect URIs this server allows".to_owned())
        );
    }
}
