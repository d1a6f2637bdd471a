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
pub struct ShutdownToken {
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

    pub fn token(&self) -> ShutdownToken {
        ShutdownToken {
            signal: self.signal.subscribe(),
            _done: self.done_tx.clone(),
        }
    }

    /// Signals every token, then waits (up to `grace`) until all are dropped.
    /// Returns whether everything finished in time.
    pub async fn shutdown(self, grace: Duration) -> bool {
        let Self {
            signal,
            done_tx,
            mut done_rx,
        } = self;
        let _ = signal.send(true);
        drop(done_tx);
        // `recv` yields `None` once every token (and its sender) is gone.
        tokio::time::timeout(grace, done_rx.recv()).await.is_ok()
    }
}

impl ShutdownToken {
    /// Completes when shutdown has been signalled.
    pub async fn signalled(&mut self) {
        let _ = self.signal.wait_for(|stop| *stop).await;
    }
}

/// SIGINT (Ctrl-C) and SIGTERM, registered up front: a signal that arrives
/// between start-up and the first wait is still caught, not fatal.
pub struct StopSignals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    /// Registers both handlers now, so that a signal is caught from here on.
    pub fn install() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Self {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    /// Completes when either signal arrives.
    pub async fn received(mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}
