//! [`serve`]: the accept loop, with bounds that shed hostile clients without slowing the others.
//! A connection has [`ConnectionLimits::header_timeout`] to send each request's headers (which
//! also closes a keep-alive connection idle that long), at most
//! [`ConnectionLimits::max_connections`] are open, and one client address holds at most
//! [`ConnectionLimits::max_per_address`] of them; a connection over a limit is closed as soon
//! as it is accepted.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// The default [`ConnectionLimits::header_timeout`]: 10 s.
const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// The default [`ConnectionLimits::max_connections`]: 4,096.
const DEFAULT_MAX_CONNECTIONS: usize = 4096;
/// The default [`ConnectionLimits::max_per_address`]: 512.
const DEFAULT_MAX_PER_ADDRESS: usize = 512;
/// How long open connections get to finish after a shutdown signal.
const DRAIN: Duration = Duration::from_secs(10);

/// The bounds [`serve_with`] puts on connections; by default a 10 s header timeout, 4,096
/// connections and 512 per client address.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ConnectionLimits {
    /// The time a client has to send a request's headers, from the moment the connection waits
    /// for them: slow clients (slowloris) are closed after it, and so are keep-alive connections
    /// idle that long.
    pub header_timeout: Duration,
    /// Open connections at most; more are closed on accept.
    pub max_connections: usize,
    /// Open connections from one client address at most (behind a reverse proxy every client
    /// has the proxy's address: set it to `max_connections` there).
    pub max_per_address: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_per_address: DEFAULT_MAX_PER_ADDRESS,
        }
    }
}

impl ConnectionLimits {
    /// Sets [`ConnectionLimits::header_timeout`].
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.header_timeout = timeout;
        self
    }

    /// Sets [`ConnectionLimits::max_connections`] (at least 1).
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// Sets [`ConnectionLimits::max_per_address`] (at least 1).
    pub fn max_per_address(mut self, max: usize) -> Self {
        self.max_per_address = max.max(1);
        self
    }
}

/// Serves `app` on `listener` with the default [`ConnectionLimits`] until Ctrl-C (or SIGTERM),
/// with TCP_NODELAY on every accepted socket: without it, replies written in several pieces
/// (SSE) wait about 40 ms for delayed ACKs.
pub async fn serve(listener: TcpListener, app: Router) -> std::io::Result<()> {
    serve_with(listener, app, ConnectionLimits::default()).await
}

/// [`serve`] with the given limits.
pub async fn serve_with(listener: TcpListener, app: Router, limits: ConnectionLimits) -> std::io::Result<()> {
    let stop = CancellationToken::new();
    let signal = stop.clone();
    tokio::spawn(async move {
        super::http::shutdown_signal().await;
        signal.cancel();
    });
    accept_until(listener, app, limits, stop).await;
    Ok(())
}

/// Accepts connections until `stop`, then gives open ones [`DRAIN`] to finish.
async fn accept_until(listener: TcpListener, app: Router, limits: ConnectionLimits, stop: CancellationToken) {
    let gate = Gate::new(&limits);
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let builder = Arc::new(builder);
    loop {
        let accepted = tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (tcp, peer) = match accepted {
            Ok(pair) => pair,
            Err(error) => {
                // Out of file descriptors and the like: wait rather than spin.
                tracing::debug!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(ticket) = gate.admit(peer.ip()) else {
            continue; // over a limit: the socket closes as it drops
        };
        let (app, builder, stop) = (app.clone(), builder.clone(), stop.clone());
        tokio::spawn(connection(tcp, peer, app, builder, stop, ticket));
    }
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(DRAIN, gate.open.acquire_many(all)).await;
}

/// Serves one connection; on shutdown, lets the request in flight finish.
async fn connection(
    tcp: TcpStream,
    peer: SocketAddr,
    app: Router,
    builder: Arc<http1::Builder>,
    stop: CancellationToken,
    ticket: Ticket,
) {
    let _ = tcp.set_nodelay(true);
    // The client's address, as axum's `ConnectInfo` (per-address session shares read it).
    let app = app.map_request(move |mut request: http::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        request
    });
    let service = TowerToHyperService::new(app);
    let conn = builder.serve_connection(TokioIo::new(tcp), service).with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        () = stop.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
    drop(ticket);
}

/// Counts open connections, in all and per address.
struct Gate {
    open: Arc<Semaphore>,
    by_address: Arc<Mutex<HashMap<IpAddr, usize>>>,
    max_per_address: usize,
}

/// An admitted connection's place, given back when it drops.
struct Ticket {
    _permit: OwnedSemaphorePermit,
    by_address: Arc<Mutex<HashMap<IpAddr, usize>>>,
    address: IpAddr,
}

impl Gate {
    fn new(limits: &ConnectionLimits) -> Self {
        Self {
            open: Arc::new(Semaphore::new(limits.max_connections.min(Semaphore::MAX_PERMITS))),
            by_address: Arc::default(),
            max_per_address: limits.max_per_address,
        }
    }

    /// A place for a connection from `address`, if both limits allow one.
    fn admit(&self, address: IpAddr) -> Option<Ticket> {
        let Ok(permit) = self.open.clone().try_acquire_owned() else {
            shed("max_connections");
            return None;
        };
        let mut counts = lock(&self.by_address);
        let count = counts.entry(address).or_default();
        if *count >= self.max_per_address {
            shed("max_connections_per_address");
            return None;
        }
        *count += 1;
        Some(Ticket {
            _permit: permit,
            by_address: self.by_address.clone(),
            address,
        })
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut counts = lock(&self.by_address);
        if let Some(count) = counts.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.address);
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Logs a shed connection at debug level only: a flood must not flood the log.
fn shed(limit: &'static str) {
    tracing::debug!(limit, "connection closed on accept: over a limit");
    crate::telemetry::rejected(limit);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn the_gate_counts_in_all_and_per_address() {
        let gate = Gate::new(&ConnectionLimits::default().max_connections(3).max_per_address(2));
        let a = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        let b = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
        let first = gate.admit(a).expect("first");
        let _second = gate.admit(a).expect("second");
        assert!(gate.admit(a).is_none(), "a third from one address");
        let _other = gate.admit(b).expect("another address");
        assert!(gate.admit(b).is_none(), "max_connections");
        drop(first);
        assert!(gate.admit(a).is_some(), "a place is given back");
    }
}
