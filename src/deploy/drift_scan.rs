//! The periodic drift scan: every `drift_scan_interval_secs`, one replica reads every
//! deployed REST API back and records whether it drifted (see `service::drift`).

use std::time::Duration;

use tokio::sync::watch;

use crate::service::AppState;
use crate::service::drift;

/// Starts the scan loop, unless the interval is 0 (off).
pub fn spawn(
    state: AppState,
    mut shutdown: watch::Receiver<bool>,
) -> Option<tokio::task::JoinHandle<()>> {
    let interval = Duration::from_secs(state.config.drift_scan_interval_secs);
    if interval.is_zero() {
        return None;
    }
    Some(tokio::spawn(async move {
        // Replicas look more often than the interval, so one that stopped is stood in for
        // within a fraction of it; the claim lets one of them scan per interval.
        let look = (interval / 4).max(Duration::from_secs(1));
        loop {
            if *shutdown.borrow() {
                return;
            }
            tokio::select! {
                result = drift::scan_if_due(&state, interval) => {
                    if let Err(error) = result {
                        tracing::warn!(%error, "the drift scan failed");
                    }
                }
                _ = shutdown.changed() => return,
            }
            tokio::select! {
                _ = tokio::time::sleep(look) => {}
                _ = shutdown.changed() => return,
            }
        }
    }))
}
