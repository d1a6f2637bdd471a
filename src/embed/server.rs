//! A running mock: served on a caller's runtime or on a thread of its own,
//! stopped gracefully by `stop`, at once when dropped.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::runtime::Runtime;
use tokio::sync::oneshot;

use crate::app::App;
use crate::server::{self, Limits};

use super::builder::MockServerBuilder;
use super::error::VerificationError;
use super::expectation::Expectation;
use super::request::ReceivedRequest;
use super::session::MockSession;
use super::violations::Violations;

/// A mock serving an OpenAPI document on a loopback port, built with
/// [`MockServer::builder`].
///
/// [`stop`](Self::stop)`.await` stops it gracefully: it accepts no more
/// connections and waits for in-flight requests to finish (up to 10 s).
/// Dropping it stops it at once. Started with
/// [`start_blocking`](MockServerBuilder::start_blocking), the drop cuts
/// in-flight requests (a request waiting on a scripted `delay` gets its
/// connection closed, no answer) and returns once the port is closed.
/// Started with [`start`](MockServerBuilder::start), the drop cannot wait
/// on the runtime it would run on: it tells the server to stop, which
/// closes the port when that runtime next runs it and lets in-flight
/// requests finish in the background; `stop().await` is the way to know
/// it has stopped.
pub struct MockServer {
    address: SocketAddr,
    app: Arc<App>,
    stop: Option<oneshot::Sender<()>>,
    running: Running,
}

/// Where the server runs, to be waited for when it stops.
enum Running {
    /// A task on the runtime that started it.
    Task(Option<tokio::task::JoinHandle<()>>),
    /// Its own runtime on its own thread ([`MockServerBuilder::start_blocking`]);
    /// `finished` says when serving is over, for an async [`MockServer::stop`];
    /// `abort` ends serving without the grace, for the drop.
    Thread {
        thread: Option<std::thread::JoinHandle<()>>,
        finished: Option<oneshot::Receiver<()>>,
        abort: Option<oneshot::Sender<()>>,
    },
}

impl MockServer {
    /// What to serve: the embedded Pieces User API unless told otherwise.
    pub fn builder() -> MockServerBuilder {
        MockServerBuilder::new()
    }

    /// Serves `app` on an already-bound listener, on the current runtime.
    pub(crate) fn serve(listener: TcpListener, app: App, limits: Limits) -> std::io::Result<Self> {
        let address = listener.local_addr()?;
        let app = Arc::new(app);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server::serve(listener, app.clone(), limits, async move {
            let _ = stopped.await;
        }));
        Ok(Self {
            address,
            app,
            stop: Some(stop),
            running: Running::Task(Some(task)),
        })
    }

    /// Serves `app` on `listener` (registered with `runtime`), running
    /// `runtime` on a thread of its own.
    pub(super) fn serve_on_thread(
        runtime: Runtime,
        listener: TcpListener,
        app: App,
        limits: Limits,
    ) -> std::io::Result<Self> {
        let address = listener.local_addr()?;
        let app = Arc::new(app);
        let (stop, stopped) = oneshot::channel::<()>();
        let (done, finished) = oneshot::channel::<()>();
        let (abort, aborted) = oneshot::channel::<()>();
        let served = app.clone();
        let thread = std::thread::Builder::new()
            .name(format!("specmock {address}"))
            .spawn(move || {
                runtime.block_on(async move {
                    let serving = server::serve(listener, served, limits, async move {
                        let _ = stopped.await;
                    });
                    // Dropping `serving` closes the listener.
                    tokio::select! {
                        biased;
                        _ = aborted => {}
                        () = serving => {}
                    }
                });
                // The connections still open are tasks of this runtime: they
                // are dropped with it, closing their sockets, without waiting.
                runtime.shutdown_background();
                let _ = done.send(());
            })?;
        Ok(Self {
            address,
            app,
            stop: Some(stop),
            running: Running::Thread {
                thread: Some(thread),
                finished: Some(finished),
                abort: Some(abort),
            },
        })
    }

    /// The address it listens on (127.0.0.1 and a free port).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Its base URL, `http://127.0.0.1:PORT`: what the client under test calls.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// A handle on session `id`: how a client selects it, its scenario,
    /// state and store, and checks on its calls. The id is read as the
    /// server reads the `X-Mock-Session` header: surrounding whitespace
    /// trimmed, empty naming the `default` session.
    ///
    /// # Panics
    /// If `id` has a character a header cannot carry as text (anything but
    /// visible ASCII, spaces and tabs): a request sending it would land in
    /// another session than the handle's.
    pub fn session(&self, id: &str) -> MockSession {
        MockSession::new(self.app.clone(), id, self.url())
    }

    /// Checks that the calls of every session together meet `expectation`.
    /// The error explains as `POST /__mock/verify`'s 417 does.
    /// Only the calls the journal still holds count: once more requests
    /// came than it keeps (10,000 by default), the oldest do not, and an
    /// error says so (a passing check cannot: `never()` may pass on calls
    /// that rolled off).
    pub fn verify(&self, expectation: Expectation) -> Result<(), VerificationError> {
        expectation.check(&self.app, None)
    }

    /// The requests of every session that broke the contract.
    pub fn violations(&self) -> Violations {
        Violations::of(&self.app, None)
    }

    /// Every request the journal holds, oldest first.
    pub fn received_requests(&self) -> Vec<ReceivedRequest> {
        ReceivedRequest::all(&self.app, None)
    }

    /// The app being served: its journal, sessions and spec.
    pub(crate) fn app(&self) -> &Arc<App> {
        &self.app
    }

    /// Stops accepting, lets in-flight requests finish (up to 10 s), then
    /// returns; the port is closed.
    pub async fn stop(mut self) {
        self.signal_stop();
        match &mut self.running {
            Running::Task(task) => {
                if let Some(task) = task.take() {
                    let _ = task.await;
                }
            }
            Running::Thread { finished, .. } => {
                if let Some(finished) = finished.take() {
                    let _ = finished.await;
                }
            }
        }
    }

    fn signal_stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        // Its own thread stops at once and is waited for: once dropped, its
        // port is closed. A task cannot be waited for here without blocking
        // the runtime it needs; it stops gracefully on its own.
        if let Running::Thread { thread, abort, .. } = &mut self.running {
            if let Some(abort) = abort.take() {
                let _ = abort.send(());
            }
            if let Some(thread) = thread.take() {
                let _ = thread.join();
            }
        }
        self.signal_stop();
    }
}

impl fmt::Debug for MockServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockServer").field("address", &self.address).finish()
    }
}
