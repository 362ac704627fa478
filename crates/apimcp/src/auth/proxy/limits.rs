//! What one source address may ask of the proxy: registrations and authorizations per minute,
//! each counted per address in a fixed one-minute window, and only once the request has passed
//! every check (a malformed request costs nobody's budget, its sender's included). With a store
//! that keeps shared counters (Redis), the count is shared by every replica; otherwise each
//! replica counts in its own memory, bounded.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::ConnectInfo;
use http::{Extensions, HeaderMap};

use super::store::{OAuthStore, StoreError};

/// The window every count is kept for.
const WINDOW: Duration = Duration::from_secs(60);
/// Addresses counted in memory in one window; beyond them, the rest share one count, so a
/// flood from many addresses cannot grow memory without bound.
const MAX_ADDRESSES: usize = 65_536;
/// The key of the count the addresses beyond [`MAX_ADDRESSES`] share.
const OVERFLOW: &str = "overflow";

/// What is counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Action {
    /// A dynamic registration.
    Register,
    /// An authorization request that is stored (a consent page, or one sent to the provider).
    Authorize,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::Authorize => "authorize",
        }
    }
}

/// Over the limit: how long until the window ends.
#[derive(Debug)]
pub(super) struct Limited {
    pub(super) retry_after: Duration,
}

/// Why a request cannot be counted.
#[derive(Debug)]
pub(super) enum SpendError {
    Limited(Limited),
    Store(StoreError),
}

impl From<StoreError> for SpendError {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

/// The limits, and the counts kept in this process when the store keeps none.
pub(super) struct RateLimits {
    registrations: u32,
    authorizations: u32,
    local: Mutex<LocalCounts>,
}

/// One window's counts, by key.
#[derive(Default)]
struct LocalCounts {
    window: u64,
    counts: HashMap<String, u64>,
}

impl RateLimits {
    pub(super) fn new(registrations_per_minute: u32, authorizations_per_minute: u32) -> Self {
        Self {
            registrations: registrations_per_minute.max(1),
            authorizations: authorizations_per_minute.max(1),
            local: Mutex::default(),
        }
    }

    /// Counts one `action` by `source` against its limit.
    pub(super) async fn spend(
        &self,
        store: &dyn OAuthStore,
        action: Action,
        source: Option<IpAddr>,
    ) -> Result<(), SpendError> {
        let limit = match action {
            Action::Register => self.registrations,
            Action::Authorize => self.authorizations,
        };
        let (window, left) = window_now();
        let who = source.map_or_else(|| "unknown".to_owned(), address_key);
        let key = format!("{}:{who}:{window}", action.name());
        let count = match store.count(&key, WINDOW).await? {
            Some(count) => count,
            None => self.count_here(&key, window),
        };
        if count > u64::from(limit) {
            return Err(SpendError::Limited(Limited { retry_after: left }));
        }
        Ok(())
    }

    fn count_here(&self, key: &str, window: u64) -> u64 {
        let mut local = self.local.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if local.window != window {
            local.window = window;
            local.counts.clear();
        }
        let key = if local.counts.len() >= MAX_ADDRESSES && !local.counts.contains_key(key) {
            OVERFLOW
        } else {
            key
        };
        let count = local.counts.entry(key.to_owned()).or_default();
        *count += 1;
        *count
    }
}

/// The current window's number, and how long until it ends.
fn window_now() -> (u64, Duration) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let window = now.as_secs() / WINDOW.as_secs();
    let ends = Duration::from_secs((window + 1) * WINDOW.as_secs());
    (window, ends.saturating_sub(now))
}

/// What an address is counted as: an IPv4 address, or an IPv6 address's /64 (one subscriber's
/// network, which hands out as many addresses as it likes).
fn address_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// The address a request comes from: the connection's peer, or, behind a proxy whose
/// forwarded headers are trusted, the last address that proxy appended to `X-Forwarded-For`.
pub(super) fn source_address(headers: &HeaderMap, extensions: &Extensions, trust_forwarded: bool) -> Option<IpAddr> {
    let peer = extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    if trust_forwarded && let Some(forwarded) = forwarded_for(headers) {
        return Some(forwarded);
    }
    peer
}

fn forwarded_for(headers: &HeaderMap) -> Option<IpAddr> {
    let last = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .next_back()?;
    last.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::proxy::MemoryStore;

    fn ip(text: &str) -> Option<IpAddr> {
        text.parse().ok()
    }

    #[tokio::test]
    async fn each_address_has_its_own_budget() {
        let limits = RateLimits::new(2, 100);
        let store = MemoryStore::default();
        let spend = |who| limits.spend(&store, Action::Register, ip(who));
        assert!(spend("10.0.0.1").await.is_ok());
        assert!(spend("10.0.0.1").await.is_ok());
        let Err(SpendError::Limited(limited)) = spend("10.0.0.1").await else {
            panic!("the third registration in a minute from one address is refused");
        };
        assert!(limited.retry_after <= WINDOW);
        assert!(spend("10.0.0.2").await.is_ok(), "another address is not affected");
        assert!(
            limits.spend(&store, Action::Authorize, ip("10.0.0.1")).await.is_ok(),
            "nor another action"
        );
    }

    #[test]
    fn ipv6_addresses_count_by_their_64() {
        assert_eq!(
            address_key("2001:db8:1:2:aa::1".parse().expect("ip")),
            "2001:db8:1:2::/64"
        );
        assert_eq!(address_key("::ffff:10.1.2.3".parse().expect("ip")), "10.1.2.3");
    }

    #[test]
    fn forwarded_addresses_count_only_when_trusted() {
        let request = http::Request::builder()
            .header("x-forwarded-for", "203.0.113.9, 198.51.100.7")
            .extension(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 9))))
            .body(())
            .expect("request");
        let (parts, ()) = request.into_parts();
        assert_eq!(
            source_address(&parts.headers, &parts.extensions, true),
            ip("198.51.100.7")
        );
        assert_eq!(
            source_address(&parts.headers, &parts.extensions, false),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn memory_stays_bounded_under_many_addresses() {
        let limits = RateLimits::new(1, 1);
        for n in 0..(MAX_ADDRESSES + 10) {
            limits.count_here(&format!("k{n}"), 1);
        }
        let local = limits.local.lock().expect("lock");
        assert_eq!(local.counts.len(), MAX_ADDRESSES + 1);
        assert_eq!(local.counts.get(OVERFLOW), Some(&10));
    }
}
