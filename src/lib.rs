//! specmock: a mock and contract-testing server driven by an OpenAPI 3.0 or 3.1
//! document. The binary is a thin CLI over this library; Rust tests can
//! embed the same server with [`MockServer`].

pub mod admin;
pub mod app;
pub mod check;
pub mod confine;
pub mod control;
pub mod diagnostic;
mod embedded;
pub mod expected_calls;
pub mod fixtures;
pub mod journal;
pub mod json_number;
pub mod json_subset;
pub mod junit;
pub mod locate;
pub mod logging;
mod poison_tolerant;
pub mod problem;
pub mod provider;
pub mod proxy;
pub mod random;
pub mod record;
pub mod reload;
pub mod render;
pub mod report;
pub mod rfc3339;
pub mod scenario;
pub mod server;
pub mod session;
pub mod shutdown;
pub mod sources;
pub mod spec;
pub mod uri;
pub mod validate;
pub mod watch;
pub mod websocket;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use app::{App, Behaviour, Inputs};
pub use server::Limits;
pub use websocket::StreamLimits;

/// A running server on a bound address; stopped (gracefully) by [`MockServer::stop`] or on drop.
pub struct MockServer {
    address: SocketAddr,
    app: Arc<App>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl MockServer {
    /// Serves `app` on an already-bound listener.
    pub fn start(listener: TcpListener, app: App, limits: Limits) -> std::io::Result<Self> {
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
            task: Some(task),
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The app being served: its journal, sessions and spec.
    pub fn app(&self) -> &Arc<App> {
        &self.app
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Stops accepting, lets in-flight requests finish, then returns.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
