//! How many WebSocket sessions the node runs, so that shutdown can wait for their goodbyes:
//! upgraded connections are not HTTP connections any more, and axum's graceful shutdown does not
//! wait for them.

use tokio::sync::watch;

/// Counts the node's running sessions, so shutdown can wait for their goodbyes.
#[derive(Debug, Default)]
pub struct LiveSessions(watch::Sender<usize>);

impl LiveSessions {
    /// One more session; it counts until the returned guard is dropped.
    pub fn enter(&self) -> LiveSession {
        self.0.send_modify(|n| *n += 1);
        LiveSession(self.0.clone())
    }

    pub fn count(&self) -> usize {
        *self.0.borrow()
    }

    /// True once no session runs; false if some still do after `within`.
    pub async fn all_ended_within(&self, within: std::time::Duration) -> bool {
        let mut count = self.0.subscribe();
        let none_left = async { drop(count.wait_for(|n| *n == 0).await) };
        tokio::time::timeout(within, none_left).await.is_ok()
    }
}

/// One running session, counted in [`LiveSessions`] while it lives.
#[derive(Debug)]
pub struct LiveSession(watch::Sender<usize>);

impl Drop for LiveSession {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n -= 1);
    }
}
