//! Bounded Streamable HTTP sessions that cost little while idle.
//!
//! rmcp's local session manager runs a worker per session (two tasks, channels and buffers:
//! about 60 KB). Here a session is a small record (who opened it, when it was last used, the
//! client's `initialize` parameters, its log level), and the worker runs only while the session
//! is in use: the one rmcp starts for `initialize` is stopped as soon as it has answered, and
//! a request that needs rmcp's machinery wakes a new one, to which the `initialize` handshake
//! is replayed; it sleeps again after [`QUIET`] with no request and no open stream. Plain tool
//! calls on the fast path never wake it. An idle session has no stream, so a notification
//! (tool list changed) reaches only the sessions that are awake, as it reaches only those with
//! a stream open.
//!
//! The records count sessions, so that a new session beyond the cap evicts the least recently
//! used idle one, or is refused; a session answers only the principal that opened it; and one
//! idle longer than the idle timeout is gone.

use std::collections::HashMap;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::Stream;
use rmcp::ServiceExt;
use rmcp::model::{ClientJsonRpcMessage, ClientRequest, ServerJsonRpcMessage};
use rmcp::transport::streamable_http_server::SessionManager;
use rmcp::transport::streamable_http_server::session::local::{LocalSessionManager, LocalSessionManagerError};
use rmcp::transport::streamable_http_server::session::{EventStore, RestoreOutcome, ServerSseMessage, SessionId};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::Handler;
use crate::server::LogLevel;

/// A session used less recently than this is idle: it may be evicted for a new one (or
/// after half the idle timeout, when that is sooner).
const MIN_IDLE: Duration = Duration::from_secs(60);

/// An awake session's worker is stopped after this long with no request and no open stream.
const QUIET: Duration = Duration::from_secs(30);

/// Why a new session is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum SessionsFull {
    /// Every session is in use.
    #[error("the server holds as many sessions as it may, all in use")]
    Server {
        /// When the least recently used one becomes idle.
        retry_after: Duration,
    },
    /// The client's address holds its whole share.
    #[error("this client address holds as many sessions as it may; close some (DELETE) or reuse them")]
    Address {
        /// When to try again.
        retry_after: Duration,
    },
}

impl SessionsFull {
    /// When to try again.
    pub(crate) fn retry_after(&self) -> Duration {
        match self {
            Self::Server { retry_after } | Self::Address { retry_after } => *retry_after,
        }
    }
}

/// How many sessions, and how long they live.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) max: usize,
    pub(crate) max_per_address: usize,
    /// A session unused for this long is gone.
    pub(crate) idle: Duration,
}

/// Who opened a session.
struct Opener {
    address: Option<IpAddr>,
    /// [`crate::auth::Principal::owner`] of the opening request.
    principal: Option<Arc<str>>,
}

/// What a session keeps across its worker's sleeps.
#[derive(Default)]
struct Kept {
    /// The session's log level (`logging/setLevel`), shared with each worker's handler.
    level: Arc<Mutex<Option<LogLevel>>>,
    /// The resources the session subscribed to, shared with each worker's handler.
    subscriptions: super::peer::Subscriptions,
    /// Held while a worker is woken, so that concurrent requests wake one.
    waking: tokio::sync::Mutex<()>,
}

/// One session.
struct Record {
    last_used: Instant,
    opener: Option<Opener>,
    /// The client's `initialize` parameters (JSON), replayed to each worker; `None` until the
    /// session has answered `initialize`.
    hello: Option<Box<str>>,
    /// Response streams open (requests in flight, a GET stream).
    streams: usize,
    /// rmcp's `initialize` worker will report its end (`close_session`), which is no end of
    /// the session.
    owes_close: bool,
    kept: Arc<Kept>,
}

impl Record {
    fn new() -> Self {
        Self {
            last_used: Instant::now(),
            opener: None,
            hello: None,
            streams: 0,
            owes_close: true,
            kept: Arc::new(Kept {
                level: Arc::new(Mutex::new(Some(LogLevel::Debug))),
                ..Kept::default()
            }),
        }
    }

    fn idle_for(&self) -> Duration {
        if self.streams > 0 {
            return Duration::ZERO;
        }
        self.last_used.elapsed()
    }
}

#[derive(Default)]
struct Book {
    records: HashMap<SessionId, Record>,
    by_address: HashMap<IpAddr, usize>,
}

impl Book {
    /// Drops session `id`'s record; whether there was one.
    fn forget(&mut self, id: &SessionId) -> bool {
        let Some(record) = self.records.remove(id) else {
            return false;
        };
        crate::telemetry::session_closed();
        if let Some(Opener {
            address: Some(address), ..
        }) = record.opener
            && let Some(count) = self.by_address.get_mut(&address)
        {
            *count -= 1;
            if *count == 0 {
                self.by_address.remove(&address);
            }
        }
        true
    }

    fn held_by(&self, address: IpAddr) -> usize {
        self.by_address.get(&address).copied().unwrap_or(0)
    }
}

/// The shared parts: the running workers and the records.
struct Shared {
    workers: LocalSessionManager,
    book: Mutex<Book>,
}

impl Shared {
    fn book(&self) -> MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Sessions as records, with a worker from rmcp's [`LocalSessionManager`] while in use, a cap
/// on live sessions and a share per address.
pub(crate) struct BoundedSessions {
    shared: Arc<Shared>,
    limits: Limits,
    /// Makes the handler of each woken worker.
    handler: Handler,
    cancel: CancellationToken,
}

impl BoundedSessions {
    pub(crate) fn new(
        workers: LocalSessionManager,
        limits: Limits,
        handler: Handler,
        cancel: CancellationToken,
    ) -> Self {
        let limits = Limits {
            max: limits.max.max(1),
            max_per_address: limits.max_per_address.max(1),
            ..limits
        };
        let shared = Shared {
            workers,
            book: Mutex::default(),
        };
        Self {
            shared: Arc::new(shared),
            limits,
            handler,
            cancel,
        }
    }

    fn book(&self) -> MutexGuard<'_, Book> {
        self.shared.book()
    }

    /// How long a session must go unused before it may be evicted.
    fn min_idle(&self) -> Duration {
        MIN_IDLE.min(self.limits.idle / 2)
    }

    /// Whether `id` is a live session (it is then used now); an expired one is dropped.
    fn live(&self, id: &SessionId) -> bool {
        let mut book = self.book();
        let Some(record) = book.records.get_mut(id) else {
            return false;
        };
        if record.hello.is_none() {
            return false;
        }
        if record.idle_for() >= self.limits.idle {
            book.forget(id);
            return false;
        }
        record.last_used = Instant::now();
        true
    }

    /// Makes room for one more session from `address`: evicts the least recently used idle
    /// session when the cap is reached, or says why not.
    pub(crate) async fn admit(&self, address: Option<IpAddr>) -> Result<(), SessionsFull> {
        if let Some(address) = address
            && self.book().held_by(address) >= self.limits.max_per_address
        {
            self.forget_expired();
            if self.book().held_by(address) >= self.limits.max_per_address {
                crate::telemetry::rejected("sessions_per_address");
                return Err(SessionsFull::Address {
                    retry_after: self.min_idle(),
                });
            }
        }
        if self.book().records.len() < self.limits.max {
            return Ok(());
        }
        self.forget_expired();
        let Some((id, idle)) = self.least_recently_used() else {
            return Ok(());
        };
        match self.min_idle().checked_sub(idle) {
            Some(left) if !left.is_zero() => {
                crate::telemetry::rejected("sessions");
                Err(SessionsFull::Server { retry_after: left })
            }
            _ => {
                tracing::debug!(session = %id, "evicted the least recently used idle session");
                self.end(&id).await;
                Ok(())
            }
        }
    }

    /// Records who opened session `id`: the client's `address` and `principal`.
    pub(crate) fn opened_by(&self, id: &str, address: Option<IpAddr>, principal: Option<&str>) {
        let mut book = self.book();
        let Some(record) = book.records.get_mut(id) else {
            return;
        };
        let first = record.opener.is_none();
        record.opener = Some(Opener {
            address,
            principal: principal.map(Arc::from),
        });
        if first && let Some(address) = address {
            *book.by_address.entry(address).or_default() += 1;
        }
    }

    /// Whether session `id` was opened by someone other than `principal` (an unknown session
    /// is not: it is answered 404 anyway).
    pub(crate) fn foreign(&self, id: &str, principal: Option<&str>) -> bool {
        self.book()
            .records
            .get(id)
            .and_then(|r| r.opener.as_ref())
            .is_some_and(|opener| opener.principal.as_deref() != principal)
    }

    /// Ends session `id`: its record and its worker, if awake.
    pub(crate) async fn end(&self, id: &SessionId) {
        self.book().forget(id);
        let _ = self.shared.workers.close_session(id).await;
    }

    /// When the cap is reached, the session unused longest (and its idle time), if it has no
    /// stream open; `None` when there are fewer sessions than the cap by now.
    fn least_recently_used(&self) -> Option<(SessionId, Duration)> {
        let book = self.book();
        if book.records.len() < self.limits.max {
            return None;
        }
        let oldest = book.records.iter().max_by_key(|(_, r)| r.idle_for());
        oldest.map(|(id, r)| (id.clone(), r.idle_for()))
    }

    /// Drops the records of sessions idle past the idle timeout (a sleeping session has no
    /// worker to close).
    fn forget_expired(&self) {
        let mut book = self.book();
        let expired: Vec<SessionId> = book
            .records
            .iter()
            .filter(|(_, r)| r.hello.is_some() && r.idle_for() >= self.limits.idle)
            .map(|(id, _)| id.clone())
            .collect();
        for id in &expired {
            book.forget(id);
        }
    }

    /// Session `id` with a worker running: woken (and `initialize` replayed) if it sleeps.
    async fn awake(&self, id: &SessionId) -> Result<(), LocalSessionManagerError> {
        let workers = &self.shared.workers;
        let not_found = || LocalSessionManagerError::SessionNotFound(id.clone());
        let kept = self
            .book()
            .records
            .get(id)
            .map(|r| r.kept.clone())
            .ok_or_else(not_found)?;
        // Taken even when a worker is there: one being woken is there before its handshake
        // is done, and a request must not reach it before.
        let _waking = kept.waking.lock().await;
        if workers.has_session(id).await? {
            return Ok(());
        }
        let hello = self
            .book()
            .records
            .get(id)
            .and_then(|r| r.hello.clone())
            .ok_or_else(not_found)?;
        let RestoreOutcome::Restored(transport) = workers.restore_session(id.clone()).await? else {
            return Ok(());
        };
        self.run_worker(id.clone(), transport, &kept);
        let (initialize, initialized) = handshake(&hello).ok_or_else(not_found)?;
        workers.initialize_session(id, initialize).await?;
        workers.accept_message(id, initialized).await?;
        tracing::debug!(session = %id, "woke a sleeping session");
        Ok(())
    }

    /// Serves a woken worker of session `id` until it ends, and stops it once the session has
    /// been quiet for [`QUIET`].
    fn run_worker(&self, id: SessionId, transport: <LocalSessionManager as SessionManager>::Transport, kept: &Kept) {
        let handler = self.handler.woken(kept.level.clone(), kept.subscriptions.clone());
        let ct = self.cancel.child_token();
        let shared = self.shared.clone();
        tokio::spawn(async move {
            let running = match handler.serve_with_ct(transport, ct).await {
                Ok(running) => running,
                Err(e) => {
                    tracing::debug!(session = %id, error = %e, "a woken session failed its handshake");
                    let _ = shared.workers.close_session(&id).await;
                    return;
                }
            };
            let waiting = running.waiting();
            tokio::pin!(waiting);
            let mut stopped = false;
            while !stopped {
                tokio::select! {
                    _ = &mut waiting => break,
                    () = tokio::time::sleep(QUIET) => stopped = quiet(&shared, &id),
                }
            }
            // Stopped here, or ended on its own (its keep-alive, the server stopping): either
            // way the session sleeps and a later request wakes a new worker.
            let _ = shared.workers.close_session(&id).await;
        });
    }

    /// `stream`, counted as open on session `id` while it lasts.
    fn counted<S>(&self, id: &SessionId, stream: S) -> Counted<S> {
        if let Some(record) = self.book().records.get_mut(id) {
            record.streams += 1;
        }
        Counted {
            stream,
            shared: self.shared.clone(),
            id: id.clone(),
        }
    }
}

/// Whether session `id` (awake) has been quiet long enough to sleep: its worker is then
/// stopped. A session that is gone is quiet too.
fn quiet(shared: &Shared, id: &SessionId) -> bool {
    let book = shared.book();
    book.records.get(id).is_none_or(|r| r.idle_for() >= QUIET)
}

/// The `initialize` request and `initialized` notification that give a new worker the
/// session's client, from the parameters the client sent.
fn handshake(hello: &str) -> Option<(ClientJsonRpcMessage, ClientJsonRpcMessage)> {
    let params: serde_json::Value = serde_json::from_str(hello).ok()?;
    let initialize = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": params});
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    Some((
        serde_json::from_value(initialize).ok()?,
        serde_json::from_value(initialized).ok()?,
    ))
}

/// The `initialize` parameters of `message`, as JSON.
fn hello_of(message: &ClientJsonRpcMessage) -> Option<Box<str>> {
    let ClientJsonRpcMessage::Request(request) = message else {
        return None;
    };
    let ClientRequest::InitializeRequest(initialize) = &request.request else {
        return None;
    };
    serde_json::to_string(&initialize.params)
        .ok()
        .map(String::into_boxed_str)
}

/// A response stream of a session, counted while open (a session with a stream open is in
/// use); its end counts as the session's last use.
pub(crate) struct Counted<S> {
    stream: S,
    shared: Arc<Shared>,
    id: SessionId,
}

impl<S: Stream + Unpin> Stream for Counted<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        Pin::new(&mut self.stream).poll_next(cx)
    }
}

impl<S> Drop for Counted<S> {
    fn drop(&mut self) {
        if let Some(record) = self.shared.book().records.get_mut(&self.id) {
            record.streams = record.streams.saturating_sub(1);
            record.last_used = Instant::now();
        }
    }
}

impl SessionManager for BoundedSessions {
    type Error = LocalSessionManagerError;
    type Transport = <LocalSessionManager as SessionManager>::Transport;

    async fn create_session(&self) -> Result<(SessionId, Self::Transport), Self::Error> {
        let (id, transport) = self.shared.workers.create_session().await?;
        self.book().records.insert(id.clone(), Record::new());
        crate::telemetry::session_opened();
        Ok((id, transport))
    }

    /// rmcp's worker answers `initialize`, then is stopped: the session sleeps until a request
    /// needs a worker.
    async fn initialize_session(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<ServerJsonRpcMessage, Self::Error> {
        let hello = hello_of(&message);
        let response = self.shared.workers.initialize_session(id, message).await;
        {
            let mut book = self.book();
            match (&response, book.records.get_mut(id)) {
                (Ok(ServerJsonRpcMessage::Response(_)), Some(record)) => record.hello = hello,
                // A refused `initialize` opens no session.
                _ => {
                    book.forget(id);
                }
            }
        }
        self.shared.workers.close_session(id).await?;
        response
    }

    async fn has_session(&self, id: &SessionId) -> Result<bool, Self::Error> {
        Ok(self.live(id))
    }

    /// A `DELETE`, or rmcp's worker for `initialize` reporting its end (which it does after it
    /// was stopped; the session goes on).
    async fn close_session(&self, id: &SessionId) -> Result<(), Self::Error> {
        {
            let mut book = self.book();
            if let Some(record) = book.records.get_mut(id)
                && record.owes_close
            {
                record.owes_close = false;
                return Ok(());
            }
            book.forget(id);
        }
        self.shared.workers.close_session(id).await
    }

    async fn create_stream(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.awake(id).await?;
        let stream = self.shared.workers.create_stream(id, message).await?;
        Ok(self.counted(id, stream))
    }

    /// A notification or an answer: a sleeping session has nothing running that could use it
    /// (no request in flight, `initialized` replayed when it wakes), so it is dropped there.
    async fn accept_message(&self, id: &SessionId, message: ClientJsonRpcMessage) -> Result<(), Self::Error> {
        if !self.shared.workers.has_session(id).await? {
            return Ok(());
        }
        self.shared.workers.accept_message(id, message).await
    }

    async fn create_standalone_stream(
        &self,
        id: &SessionId,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.awake(id).await?;
        let stream = self.shared.workers.create_standalone_stream(id).await?;
        Ok(self.counted(id, stream))
    }

    async fn resume(
        &self,
        id: &SessionId,
        last_event_id: String,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.awake(id).await?;
        let stream = self.shared.workers.resume(id, last_event_id).await?;
        Ok(self.counted(id, stream))
    }

    fn event_store(&self) -> Option<Arc<dyn EventStore>> {
        self.shared.workers.event_store()
    }
}
