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

pub use app::{App, Behaviour, Inputs};
pub use server::Limits;
pub use websocket::StreamLimits;
mod embed;
pub use embed::{
    Diagnostic, Expectation, LoadError, MockServer, MockServerBuilder, MockSession, Position, ReceivedRequest,
    SessionError, Side, StartError, VerificationError, Violation, Violations,
};
