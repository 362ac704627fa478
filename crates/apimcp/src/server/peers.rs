//! The clients of live sessions and listen streams, remembered to tell them when the tool list
//! or a resource they subscribed to changes.

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
        self.tell_peers(|peer| peer.tools_changed());
    }

    /// Tells the sessions and listen streams subscribed to the resource `uri` that it changed
    /// (`notifications/resources/updated`; they then read it again). Call it when what the
    /// resource's handler answers has changed.
    pub fn notify_resource_updated(&self, uri: &str) {
        self.tell_peers(|peer| peer.resource_updated(uri));
    }

    /// Sends what `tell` makes to every live client, without waiting for any of them.
    fn tell_peers(&self, tell: impl Fn(&dyn ClientChannel) -> super::BoxFuture<Result<(), super::ClientError>>) {
        let mut peers = self
            .inner
            .peers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        peers.retain(|p| !p.is_closed());
        for peer in peers.iter() {
            let sent = tell(peer.as_ref());
            tokio::spawn(async move {
                let _ = sent.await;
            });
        }
    }
}
