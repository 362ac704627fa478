//! The clients of live sessions, remembered to tell them when the tool list changes.

use std::sync::Arc;

use super::{ClientChannel, McpServer};

impl McpServer {
    /// Remembers a session's client, to tell it when the tools change.
    pub(crate) fn register_peer(&self, peer: Arc<dyn ClientChannel>) {
        let mut peers = self
            .inner
            .peers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        peers.retain(|p| !p.is_closed());
        peers.push(peer);
    }

    pub(super) fn notify_tools_changed(&self) {
        let mut peers = self
            .inner
            .peers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        peers.retain(|p| !p.is_closed());
        for peer in peers.iter() {
            let sent = peer.tools_changed();
            tokio::spawn(async move {
                let _ = sent.await;
            });
        }
    }
}
