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
mod dispatch;
mod embed;
mod embedded;
mod expected_calls;
mod fixtures;
mod host;
#[doc(hidden)]
pub mod internal;
mod journal;
mod json_number;
mod json_subset;
mod junit;
mod locate;
mod logging;
mod poison_tolerant;
mod problem;
mod provider;
mod proxy;
mod random;
mod record;
mod reload;
mod render;
mod report;
mod rfc3339;
mod scenario;
mod server;
mod session;
mod shutdown;
mod sources;
mod spec;
mod uri;
mod validate;
mod watch;
mod websocket;

pub use check::{check, CheckOptions, CheckReport};
pub use embed::{
    Diagnostic, Expectation, LoadError, MockServer, MockServerBuilder, MockSession, Position, ReceivedRequest,
    SessionError, Side, StartError, VerificationError, Violation, Violations,
};
