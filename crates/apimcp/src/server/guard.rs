//! DNS-rebinding protection: requests whose `Host` (or `Origin`) names a host this server was
//! not told about are refused with 403, and the log says exactly what to configure.

use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use futures::future::{Either, Ready, ready};
use http::{HeaderMap, StatusCode, header};

/// The hosts a browser-reachable server answers for. Entries without a port match any port.
/// As a tower layer, it refuses the requests it does not allow with 403.
#[derive(Clone, Debug)]
pub struct HostGuard {
    hosts: Option<Arc<Vec<Allowed>>>,
    /// Whether `Origin` is checked too (not for pages browsers navigate to from other sites).
    origin: bool,
    logged: Arc<Mutex<HashSet<String>>>,
}

/// One allowed host, lower-cased, split once so that a request costs no allocation.
#[derive(Clone, Debug)]
struct Allowed {
    host: String,
    port: Option<String>,
}

impl Allowed {
    fn new(entry: &str) -> Self {
        let (host, port) = split_authority(entry);
        Self {
            host: host.to_ascii_lowercase(),
            port: port.map(str::to_owned),
        }
    }

    fn matches(&self, host: &str, port: Option<&str>) -> bool {
        self.host.eq_ignore_ascii_case(host) && (self.port.is_none() || self.port.as_deref() == port)
    }
}

impl std::fmt::Display for Allowed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.port {
            Some(port) => write!(f, "{}:{port}", self.host),
            None => f.write_str(&self.host),
        }
    }
}

const LOOPBACK: [&str; 3] = ["localhost", "127.0.0.1", "::1"];
/// Why [`HostGuard::check`] refused a request: the header and the value it did not allow.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refused {
    /// The `Host` header names a host this server does not answer for.
    #[error("Host {host:?}")]
    Host {
        /// The header's value (empty when it is not visible ASCII).
        host: String,
    },
    /// The `Origin` header names another site (or `null`).
    #[error("Origin {origin:?}")]
    Origin {
        /// The header's value (empty when it is not visible ASCII).
        origin: String,
    },
}

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
        let mut all: Vec<Allowed> = LOOPBACK.iter().map(|h| Allowed::new(h)).collect();
        all.extend(hosts.into_iter().map(|h| Allowed::new(h.as_ref())));
        Self {
            hosts: Some(Arc::new(all)),
            origin: true,
            logged: Arc::default(),
        }
    }

    /// Also allow `host` (no change for a guard that allows any host).
    pub fn with_host(mut self, host: &str) -> Self {
        if let Some(hosts) = &mut self.hosts {
            Arc::make_mut(hosts).push(Allowed::new(host));
        }
        self
    }

    /// No check at all (for servers behind a proxy that checks `Host` itself).
    pub fn any() -> Self {
        Self {
            hosts: None,
            origin: true,
            logged: Arc::default(),
        }
    }

    /// The same guard on `Host` alone: for the OAuth and metadata endpoints, which browsers
    /// reach from other sites (a client's page links to `/oauth/authorize`), but which a DNS
    /// rebinding attack must not reach under a name of its own.
    pub(crate) fn host_only(&self) -> Self {
        Self {
            origin: false,
            ..self.clone()
        }
    }

    /// Whether the request's `Host` and `Origin` are allowed; the error names the refused
    /// value.
    pub fn check(&self, headers: &HeaderMap) -> Result<(), Refused> {
        let Some(hosts) = &self.hosts else {
            return Ok(());
        };
        if let Some(host) = headers.get(header::HOST) {
            let host = host.to_str().unwrap_or("");
            if !allowed(hosts, host) {
                return Err(Refused::Host { host: host.to_owned() });
            }
        }
        if let Some(origin) = headers.get(header::ORIGIN).filter(|_| self.origin) {
            let origin = origin.to_str().unwrap_or("");
            let authority = origin.split_once("://").map_or("", |(_, rest)| rest);
            if authority.is_empty() || !allowed(hosts, authority) {
                return Err(Refused::Origin {
                    origin: origin.to_owned(),
                });
            }
        }
        Ok(())
    }

    /// The 403 for a refused request, logged once per refused value.
    fn refuse(&self, refused: &Refused) -> Response {
        let refused = refused.to_string();
        let mut logged = self.logged.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if logged.len() < MAX_LOGGED && logged.insert(refused.clone()) {
            let hosts: Vec<String> = self
                .hosts
                .iter()
                .flat_map(|h| h.iter())
                .map(ToString::to_string)
                .collect();
            tracing::warn!(
                "refused a request with {refused}: this server only answers for {}. If clients reach it under that name, set `public_url` (config [server] public_url, APIMCP_PUBLIC_URL) or add the host to `allowed_hosts` ([server] allowed_hosts, APIMCP_ALLOWED_HOSTS)",
                hosts.join(", ")
            );
        }
        (
            StatusCode::FORBIDDEN,
            format!("Forbidden: {refused} is not allowed by this server\n"),
        )
            .into_response()
    }
}

/// Splits `host:port`, `[v6]:port` and `host` into (host, port).
fn split_authority(authority: &str) -> (&str, Option<&str>) {
    let authority = authority.trim().trim_end_matches('/');
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']').unwrap_or((rest, ""));
        return (host, after.strip_prefix(':'));
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => (host, Some(port)),
        _ => (authority, None),
    }
}

fn allowed(hosts: &[Allowed], authority: &str) -> bool {
    let (host, port) = split_authority(authority);
    hosts.iter().any(|entry| entry.matches(host, port))
}

impl<S> tower::Layer<S> for HostGuard {
    type Service = Guarded<S>;

    fn layer(&self, inner: S) -> Guarded<S> {
        Guarded {
            guard: self.clone(),
            inner,
        }
    }
}

/// A service behind the [`HostGuard`].
#[derive(Clone, Debug)]
pub struct Guarded<S> {
    guard: HostGuard,
    inner: S,
}

impl<S> tower::Service<Request> for Guarded<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Ready<Result<Response, Infallible>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        match self.guard.check(request.headers()) {
            Ok(()) => Either::Right(self.inner.call(request)),
            Err(refused) => Either::Left(ready(Ok(self.guard.refuse(&refused)))),
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
    fn host_only_checks_the_host_and_not_the_origin() {
        let guard = HostGuard::default().host_only();
        let foreign_origin = headers(&[("host", "localhost:8000"), ("origin", "https://client.example")]);
        assert!(guard.check(&foreign_origin).is_ok());
        assert!(guard.check(&headers(&[("host", "rebound.example:8000")])).is_err());
        assert!(HostGuard::any().host_only().check(&headers(&[("host", "x")])).is_ok());
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
        let v6 = HostGuard::allow(["[2001:DB8::1]:8443"]);
        assert!(v6.check(&headers(&[("host", "[2001:db8::1]:8443")])).is_ok());
        assert!(v6.check(&headers(&[("host", "[2001:db8::1]:80")])).is_err());
        let public = HostGuard::default().with_host("mcp.example.com");
        assert!(public.check(&headers(&[("host", "mcp.example.com")])).is_ok());
    }
}
