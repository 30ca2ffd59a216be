//! The signals that interrupt a run, as messages to the dispatcher (which escalates on the second
//! one). SIGINT (Ctrl-C) and SIGTERM, and also SIGHUP (a closed terminal, a dropped ssh session)
//! and SIGQUIT (Ctrl-\): each cancels the run as SIGTERM does, so that no container, volume or
//! workspace is left behind by any of them.

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::mpsc;

/// The signals handled, in the order they are listened to.
pub const HANDLED: [(SignalKind, &str); 4] = [
    (SignalKind::interrupt(), "SIGINT"),
    (SignalKind::terminate(), "SIGTERM"),
    (SignalKind::hangup(), "SIGHUP"),
    (SignalKind::quit(), "SIGQUIT"),
];

/// Yields once per signal received. Must be called inside a tokio runtime.
pub fn interrupts() -> mpsc::Receiver<()> {
    let (tx, rx) = mpsc::channel(4);
    // Registered now, before the run starts, so that a signal sent right after is not missed.
    let mut streams: Vec<Signal> = HANDLED
        .iter()
        .filter_map(|(kind, _)| signal(*kind).ok())
        .collect();
    tokio::spawn(async move {
        loop {
            let received =
                futures_util::future::select_all(streams.iter_mut().map(|s| Box::pin(s.recv())))
                    .await
                    .0
                    .is_some();
            if !received || tx.send(()).await.is_err() {
                break;
            }
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hangup_and_quit_interrupt_like_terminate() {
        let mut rx = interrupts();
        for sig in [libc::SIGHUP, libc::SIGQUIT, libc::SIGTERM] {
            // SAFETY: raise(3) on this process; the handlers above are installed.
            assert_eq!(unsafe { libc::raise(sig) }, 0);
            assert_eq!(rx.recv().await, Some(()), "signal {sig}");
        }
    }
}
