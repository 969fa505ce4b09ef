//! systemd's notification protocol (`Type=notify`): `READY=1` once the store, the configuration
//! and the web side are up, `STATUS=` lines saying what the daemon is doing, `STOPPING=1`, and
//! `WATCHDOG=1` pings at half the `WatchdogSec` interval when the unit sets one. Without
//! `NOTIFY_SOCKET` (not started by systemd) every call does nothing.

use std::time::Duration;

use sd_notify::NotifyState;

fn send(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::debug!("systemd notification not sent: {e}");
    }
}

/// The daemon is ready; `status` says what it does now.
pub fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// What the daemon is doing now, as `systemctl status` shows it.
pub fn status(status: &str) {
    send(&[NotifyState::Status(status)]);
}

/// The daemon is stopping.
pub fn stopping() {
    send(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
}

/// The interval between two watchdog pings: half of `WATCHDOG_USEC` (set by systemd from
/// `WatchdogSec`), or `None` when no watchdog is asked for.
pub fn watchdog_interval() -> Option<Duration> {
    sd_notify::watchdog_enabled().map(|d| d / 2)
}

/// Pings the watchdog every `every`, for as long as the runtime runs the task: a wedged runtime
/// (web side and signal handling) stops the pings and systemd restarts the daemon.
pub async fn watchdog(every: Duration) {
    let mut ticks = tokio::time::interval(every);
    loop {
        ticks.tick().await;
        send(&[NotifyState::Watchdog]);
    }
}
