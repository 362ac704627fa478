//! Bounded Streamable HTTP sessions: rmcp's local session manager behind one that counts
//! sessions, knows when each was last used and who opened it (client address and principal),
//! so that a new session beyond the cap evicts the least recently used idle one, or is refused,
//! and a session answers only the principal that opened it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::Stream;
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::streamable_http_server::SessionManager;
use rmcp::transport::streamable_http_server::session::local::{LocalSessionManager, LocalSessionManagerError};
use rmcp::transport::streamable_http_server::session::{EventStore, RestoreOutcome, ServerSseMessage, SessionId};

/// A session used less recently than this is idle: it may be evicted for a new one.
const MIN_IDLE: Duration = Duration::from_secs(60);

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

/// Who opened a session.
struct Opener {
    address: Option<IpAddr>,
    /// [`crate::auth::Principal::owner`] of the opening request.
    principal: Option<Arc<str>>,
}

#[derive(Default)]
struct Book {
    last_used: HashMap<SessionId, Instant>,
    opener: HashMap<SessionId, Opener>,
    by_address: HashMap<IpAddr, usize>,
}

/// rmcp's [`LocalSessionManager`] with a cap on live sessions and a share per address.
pub(crate) struct BoundedSessions {
    inner: LocalSessionManager,
    book: Mutex<Book>,
    max: usize,
    max_per_address: usize,
}

impl BoundedSessions {
    pub(crate) fn new(inner: LocalSessionManager, max: usize, max_per_address: usize) -> Self {
        Self {
            inner,
            book: Mutex::default(),
            max: max.max(1),
            max_per_address: max_per_address.max(1),
        }
    }

    fn book(&self) -> std::sync::MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn touch(&self, id: &SessionId) {
        if let Some(last) = self.book().last_used.get_mut(id) {
            *last = Instant::now();
        }
    }

    /// Makes room for one more session from `address`: evicts the least recently used idle
    /// session when the cap is reached, or says why not.
    pub(crate) async fn admit(&self, address: Option<IpAddr>) -> Result<(), SessionsFull> {
        if let Some(address) = address
            && self
                .book()
                .by_address
                .get(&address)
                .is_some_and(|n| *n >= self.max_per_address)
        {
            self.forget_ended().await;
            if self
                .book()
                .by_address
                .get(&address)
                .is_some_and(|n| *n >= self.max_per_address)
            {
                crate::telemetry::rejected("sessions_per_address");
                return Err(SessionsFull::Address { retry_after: MIN_IDLE });
            }
        }
        if self.book().last_used.len() < self.max {
            return Ok(());
        }
        self.forget_ended().await;
        let Some((id, last)) = self.least_recently_used() else {
            return Ok(());
        };
        if self.book().last_used.len() < self.max {
            return Ok(());
        }
        match MIN_IDLE.checked_sub(last.elapsed()) {
            Some(left) if !left.is_zero() => {
                crate::telemetry::rejected("sessions");
                Err(SessionsFull::Server { retry_after: left })
            }
            _ => {
                tracing::debug!(session = %id, "evicted the least recently used idle session");
                let _ = self.close_session(&id).await;
                Ok(())
            }
        }
    }

    /// Records who opened session `id`: the client's `address` and `principal`.
    pub(crate) fn opened_by(&self, id: &str, address: Option<IpAddr>, principal: Option<&str>) {
        let mut book = self.book();
        let Some((id, _)) = book.last_used.get_key_value(id) else {
            return;
        };
        let id = id.clone();
        let opener = Opener {
            address,
            principal: principal.map(Arc::from),
        };
        if book.opener.insert(id, opener).is_none()
            && let Some(address) = address
        {
            *book.by_address.entry(address).or_default() += 1;
        }
    }

    /// Whether session `id` was opened by someone other than `principal` (an unknown session
    /// is not: it is answered 404 anyway).
    pub(crate) fn foreign(&self, id: &str, principal: Option<&str>) -> bool {
        self.book()
            .opener
            .get(id)
            .is_some_and(|opener| opener.principal.as_deref() != principal)
    }

    fn least_recently_used(&self) -> Option<(SessionId, Instant)> {
        let book = self.book();
        let oldest = book.last_used.iter().min_by_key(|(_, last)| **last);
        oldest.map(|(id, last)| (id.clone(), *last))
    }

    /// Drops from the book the sessions rmcp ended on its own (expired, worker gone).
    async fn forget_ended(&self) {
        let ids: Vec<SessionId> = self.book().last_used.keys().cloned().collect();
        for id in ids {
            if !self.inner.has_session(&id).await.unwrap_or(false) {
                self.forget(&id);
            }
        }
    }

    fn forget(&self, id: &SessionId) {
        let mut book = self.book();
        if book.last_used.remove(id).is_some() {
            crate::telemetry::session_closed();
        }
        if let Some(Opener {
            address: Some(address), ..
        }) = book.opener.remove(id)
            && let Some(count) = book.by_address.get_mut(&address)
        {
            *count -= 1;
            if *count == 0 {
                book.by_address.remove(&address);
            }
        }
    }
}

impl SessionManager for BoundedSessions {
    type Error = LocalSessionManagerError;
    type Transport = <LocalSessionManager as SessionManager>::Transport;

    async fn create_session(&self) -> Result<(SessionId, Self::Transport), Self::Error> {
        let (id, transport) = self.inner.create_session().await?;
        self.book().last_used.insert(id.clone(), Instant::now());
        crate::telemetry::session_opened();
        Ok((id, transport))
    }

    async fn initialize_session(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<ServerJsonRpcMessage, Self::Error> {
        self.inner.initialize_session(id, message).await
    }

    async fn has_session(&self, id: &SessionId) -> Result<bool, Self::Error> {
        let live = self.inner.has_session(id).await?;
        if live {
            self.touch(id);
        }
        Ok(live)
    }

    async fn close_session(&self, id: &SessionId) -> Result<(), Self::Error> {
        self.forget(id);
        self.inner.close_session(id).await
    }

    async fn create_stream(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.touch(id);
        self.inner.create_stream(id, message).await
    }

    async fn accept_message(&self, id: &SessionId, message: ClientJsonRpcMessage) -> Result<(), Self::Error> {
        self.touch(id);
        self.inner.accept_message(id, message).await
    }

    async fn create_standalone_stream(
        &self,
        id: &SessionId,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.touch(id);
        self.inner.create_standalone_stream(id).await
    }

    async fn resume(
        &self,
        id: &SessionId,
        last_event_id: String,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.touch(id);
        self.inner.resume(id, last_event_id).await
    }

    async fn restore_session(&self, id: SessionId) -> Result<RestoreOutcome<Self::Transport>, Self::Error> {
        self.inner.restore_session(id).await
    }

    fn event_store(&self) -> Option<Arc<dyn EventStore>> {
        self.inner.event_store()
    }
}
