//! specmock: a mock and contract-testing server driven by an OpenAPI 3.0 or 3.1
//! document. The binary is a thin CLI over this library; Rust tests can
//! embed the same server with [`MockServer`].

#![warn(missing_docs)]

mod admin;
mod app;
mod check;
mod confine;
mod control;
mod diagnostic;
mod embedded;
mod fixtures;
#[doc(hidden)]
pub mod internal;
mod journal;
mod json_number;
mod junit;
mod locate;
mod logging;
mod problem;
mod provider;
mod proxy;
mod random;
mod record;
mod reload;
mod render;
mod report;
mod scenario;
mod server;
mod session;
mod shutdown;
mod sources;
mod spec;
mod uri;
mod validate;
mod verify;
mod watch;
mod websocket;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use app::App;
use server::Limits;

/// A running server on a bound address; stopped (gracefully) by [`MockServer::stop`] or on drop.
pub struct MockServer {
    address: SocketAddr,
    app: Arc<App>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl MockServer {
    /// Serves `app` on an already-bound listener.
    #[doc(hidden)]
    pub fn serve(listener: TcpListener, app: App, limits: Limits) -> std::io::Result<Self> {
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

    /// The address the server is bound to (with the port picked when it was 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The app being served: its journal, sessions and spec.
    #[doc(hidden)]
    pub fn app(&self) -> &Arc<App> {
        &self.app
    }

    /// The base URL a client under test calls: `http://` and [`address`](Self::address).
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
