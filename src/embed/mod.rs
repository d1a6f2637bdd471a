//! The library a Rust test embeds: a builder that loads a spec, fixtures
//! and scenarios as the command line does and serves them on a loopback
//! port, a handle per session, expectations checked against the journal,
//! and the contract violations seen, each an ordinary value whose
//! `Display` is what a failing test should print.

mod builder;
mod error;
mod expectation;
mod request;
mod server;
mod session;
mod violations;

pub use builder::MockServerBuilder;
pub use error::{LoadError, SessionError, StartError, VerificationError};
pub use expectation::Expectation;
pub use request::ReceivedRequest;
pub use server::MockServer;
pub use session::MockSession;
pub use violations::Violations;

pub use crate::diagnostic::{Diagnostic, Position};
pub use crate::validate::{Side, Violation};
