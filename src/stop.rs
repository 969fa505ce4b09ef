//! A request to stop, shared by whoever asks (a signal handler, the daemon's shutdown, a test) and
//! the work that honours it (a send finishes its in-flight messages and records them, then
//! returns). Cloning gives another handle to the same request; asking twice is harmless.

use tokio_util::sync::CancellationToken;

/// A shutdown request. Synchronous code checks [`Stop::requested`]; async code awaits
/// [`Stop::requested_now`] in a `select!`, so nothing polls.
#[derive(Debug, Clone, Default)]
pub struct Stop(CancellationToken);

impl Stop {
    /// A stop nobody has asked for yet.
    pub fn new() -> Stop {
        Stop::default()
    }

    /// Asks the work to stop: no new work starts, and work in progress stops after what is in
    /// flight.
    pub fn request(&self) {
        self.0.cancel();
    }

    /// Whether a stop was asked for.
    pub fn requested(&self) -> bool {
        self.0.is_cancelled()
    }

    /// Completes when a stop is asked for (at once if it already was).
    pub async fn requested_now(&self) {
        self.0.cancelled().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_requested_on_one_handle_is_seen_on_every_clone() {
        let stop = Stop::new();
        let other = stop.clone();
        assert!(!other.requested());
        stop.request();
        assert!(other.requested());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(other.requested_now());
    }
}
