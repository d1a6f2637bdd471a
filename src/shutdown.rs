//! Graceful shutdown as one reusable piece: a signal every connection task
//! listens to, and a way to wait until all of them have finished.

use std::time::Duration;

use tokio::sync::{mpsc, watch};

/// Held by the server; fires the signal and waits for the tasks.
pub struct Coordinator {
    signal: watch::Sender<bool>,
    done_tx: mpsc::Sender<()>,
    done_rx: mpsc::Receiver<()>,
}

/// Held by each connection task: tells it when to stop, and (by being
/// dropped) tells the coordinator that it has.
#[derive(Clone)]
pub struct Listener {
    signal: watch::Receiver<bool>,
    _done: mpsc::Sender<()>,
}

impl Default for Coordinator {
    fn default() -> Self {
        Self::new()
    }
}

impl Coordinator {
    pub fn new() -> Self {
        let (signal, _) = watch::channel(false);
        let (done_tx, done_rx) = mpsc::channel(1);
        Self {
            signal,
            done_tx,
            done_rx,
        }
    }

    pub fn listener(&self) -> Listener {
        Listener {
            signal: self.signal.subscribe(),
            _done: self.done_tx.clone(),
        }
    }

    /// Signals every listener, then waits (up to `grace`) until all are dropped.
    /// Returns whether everything finished in time.
    pub async fn shutdown(self, grace: Duration) -> bool {
        let Self {
            signal,
            done_tx,
            mut done_rx,
        } = self;
        let _ = signal.send(true);
        drop(done_tx);
        // `recv` yields `None` once every Listener (and its sender) is gone.
        tokio::time::timeout(grace, done_rx.recv()).await.is_ok()
    }
}

impl Listener {
    /// Completes when shutdown has been signalled.
    pub async fn signalled(&mut self) {
        let _ = self.signal.wait_for(|stop| *stop).await;
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn os_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => {
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
