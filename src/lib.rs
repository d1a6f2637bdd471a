//! specmock: a mock and contract-testing server driven by an OpenAPI 3.0
//! document. The binary is a thin CLI over this library; Rust tests can
//! embed the same server with [`MockServer`].

pub mod admin;
pub mod app;
pub mod control;
pub mod diagnostic;
pub mod fixtures;
pub mod locate;
pub mod problem;
pub mod random;
pub mod render;
pub mod scenario;
pub mod server;
pub mod session;
pub mod shutdown;
pub mod sources;
pub mod spec;
pub mod uri;
pub mod validate;
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
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl MockServer {
    /// Serves `app` on an already-bound listener.
    pub fn start(listener: TcpListener, app: App, limits: Limits) -> std::io::Result<Self> {
        let address = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server::serve(listener, Arc::new(app), limits, async move {
            let _ = stopped.await;
        }));
        Ok(Self {
            address,
            stop: Some(stop),
            task: Some(task),
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
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
