//! DNS-rebinding protection: requests whose `Host` (or `Origin`) names a host this server was
//! not told about are refused with 403, and the log says exactly what to configure.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode, header};

/// The hosts a browser-reachable server answers for. Entries without a port match any port.
#[derive(Clone, Debug)]
pub struct HostGuard {
    hosts: Option<Arc<Vec<String>>>,
    logged: Arc<Mutex<HashSet<String>>>,
}

const LOOPBACK: [&str; 3] = ["localhost", "127.0.0.1", "::1"];
/// Distinct refused hosts logged, so a scan cannot flood the log.
const MAX_LOGGED: usize = 32;

impl Default for HostGuard {
    /// Loopback names only: the safe default for a server on a developer's machine.
    fn default() -> Self {
        Self::allow(std::iter::empty::<String>())
    }
}

impl HostGuard {
    /// Loopback plus `hosts` (`example.com`, `example.com:8443`, `[2001:db8::1]`).
    pub fn allow<I, S>(hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut all: Vec<String> = LOOPBACK.iter().map(|h| (*h).to_owned()).collect();
        all.extend(hosts.into_iter().map(|h| normalize(h.as_ref())));
        Self {
            hosts: Some(Arc::new(all)),
            logged: Arc::default(),
        }
    }

    /// Also allow `host` (no change for a guard that allows any host).
    pub fn with_host(mut self, host: &str) -> Self {
        if let Some(hosts) = &mut self.hosts {
            Arc::make_mut(hosts).push(normalize(host));
        }
        self
    }

    /// No check at all (for servers behind a proxy that checks `Host` itself).
    pub fn any() -> Self {
        Self {
            hosts: None,
            logged: Arc::default(),
        }
    }

    /// Whether the request's `Host` and `Origin` are allowed; the error names the refused
    /// value.
    pub fn check(&self, headers: &HeaderMap) -> Result<(), String> {
        let Some(hosts) = &self.hosts else {
            return Ok(());
        };
        if let Some(host) = headers.get(header::HOST) {
            let host = host.to_str().unwrap_or("");
            if !allowed(hosts, host) {
                return Err(format!("Host {host:?}"));
            }
        }
        if let Some(origin) = headers.get(header::ORIGIN) {
            let origin = origin.to_str().unwrap_or("");
            let authority = origin.split_once("://").map_or("", |(_, rest)| rest);
            if authority.is_empty() || !allowed(hosts, authority) {
                return Err(format!("Origin {origin:?}"));
            }
        }
        Ok(())
    }

    fn log_once(&self, refused: &str) {
        let mut logged = self.logged.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if logged.len() < MAX_LOGGED && logged.insert(refused.to_owned()) {
            tracing::warn!(
                "refused a request with {refused}: this server only answers for {}. If clients reach it under that name, set `public_url` (config [server] public_url, APIMCP_PUBLIC_URL) or add the host to `allowed_hosts` ([server] allowed_hosts, APIMCP_ALLOWED_HOSTS)",
                self.hosts.as_ref().map(|h| h.join(", ")).unwrap_or_default()
            );
        }
    }
}

/// `Example.COM` → `example.com`; `[::1]` → `::1`.
fn normalize(host: &str) -> String {
    host.trim()
        .trim_start_matches('[')
        .replace(']', "")
        .to_ascii_lowercase()
}

/// Splits `host:port`, `[v6]:port` and `host` into (host, port).
fn split_authority(authority: &str) -> (String, Option<&str>) {
    let authority = authority.trim().trim_end_matches('/');
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']').unwrap_or((rest, ""));
        return (host.to_ascii_lowercase(), after.strip_prefix(':'));
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => (host.to_ascii_lowercase(), Some(port)),
        _ => (authority.to_ascii_lowercase(), None),
    }
}

fn allowed(hosts: &[String], authority: &str) -> bool {
    let (host, port) = split_authority(authority);
    hosts.iter().any(|entry| {
        let (h, p) = split_authority(entry);
        h == host && (p.is_none() || p == port)
    })
}

/// The axum middleware.
pub(crate) async fn enforce(State(guard): State<HostGuard>, request: Request, next: Next) -> Response {
    match guard.check(request.headers()) {
        Ok(()) => next.run(request).await,
        Err(refused) => {
            guard.log_once(&refused);
            (
                StatusCode::FORBIDDEN,
                format!("Forbidden: {refused} is not allowed by this server\n"),
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (k.parse().expect("name"), v.parse().expect("value")))
            .collect()
    }

    #[test]
    fn loopback_by_default_and_foreign_hosts_refused() {
        let guard = HostGuard::default();
        assert!(guard.check(&headers(&[("host", "127.0.0.1:8000")])).is_ok());
        assert!(guard.check(&headers(&[("host", "localhost")])).is_ok());
        assert!(guard.check(&headers(&[("host", "[::1]:9")])).is_ok());
        assert!(guard.check(&headers(&[("host", "evil.example:8000")])).is_err());
        assert!(
            guard
                .check(&headers(&[
                    ("host", "localhost:8000"),
                    ("origin", "http://evil.example")
                ]))
                .is_err()
        );
        assert!(
            guard
                .check(&headers(&[
                    ("host", "localhost:8000"),
                    ("origin", "http://localhost:3000")
                ]))
                .is_ok()
        );
        assert!(guard.check(&headers(&[("origin", "null")])).is_err());
    }

    #[test]
    fn configured_hosts_with_and_without_ports() {
        let guard = HostGuard::allow(["api.example.com", "Other.Example:8443"]);
        assert!(guard.check(&headers(&[("host", "api.example.com:443")])).is_ok());
        assert!(guard.check(&headers(&[("host", "other.example:8443")])).is_ok());
        assert!(guard.check(&headers(&[("host", "other.example:80")])).is_err());
        assert!(HostGuard::any().check(&headers(&[("host", "x")])).is_ok());
        let public = HostGuard::default().with_host("mcp.example.com");
        assert!(public.check(&headers(&[("host", "mcp.example.com")])).is_ok());
    }
}
