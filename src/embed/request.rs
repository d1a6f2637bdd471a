//! A request the mock received, as its journal holds it.

use std::fmt;
use std::sync::Arc;

use crate::app::App;
use crate::journal::{Entry, EntryKind, Filter};
use crate::validate::Violation;

/// One request (or WebSocket handshake) the mock received, with how it was
/// answered and the contract violations found in it.
#[derive(Debug, Clone)]
pub struct ReceivedRequest(Arc<Entry>);

impl ReceivedRequest {
    /// The requests the journal holds, oldest first; of one session only
    /// if `session` names one.
    pub(super) fn all(app: &App, session: Option<&str>) -> Vec<Self> {
        let filter = Filter {
            session: session.map(str::to_string),
            ..Filter::default()
        };
        let entries = app.journal().entries(&filter).into_iter();
        entries
            .filter(|e| e.record.kind == EntryKind::Request)
            .map(Self)
            .collect()
    }

    pub(super) fn new(entry: Arc<Entry>) -> Self {
        Self(entry)
    }

    /// Its number in the journal: 1 for the mock's first request.
    pub fn id(&self) -> u64 {
        self.0.id
    }

    /// `GET`, `POST` ...
    pub fn method(&self) -> &str {
        &self.0.record.method
    }

    /// The path and query, as sent.
    pub fn target(&self) -> &str {
        &self.0.record.target
    }

    /// The session it named (`default` when it named none).
    pub fn session(&self) -> &str {
        &self.0.record.session
    }

    /// The operationId it was routed to, if any.
    pub fn operation(&self) -> Option<&str> {
        self.0.record.operation.as_deref()
    }

    /// The status the mock answered.
    pub fn status(&self) -> u16 {
        self.0.record.status
    }

    /// Whether the mock answered with a problem of its own (the request
    /// broke the contract, named an unknown scenario ...) instead of the
    /// API's answer.
    pub fn refused(&self) -> bool {
        self.0.record.refused
    }

    /// The request body, if it had one the journal keeps (text).
    pub fn body(&self) -> Option<&[u8]> {
        self.0.record.body.as_deref()
    }

    /// The request body as JSON, if it is JSON.
    pub fn body_json(&self) -> Option<serde_json::Value> {
        self.0.json()
    }

    /// Where it broke the contract, each violation with its JSON pointer.
    pub fn violations(&self) -> &[Violation] {
        &self.0.record.violations
    }
}

/// `#3 POST /user/update (session t1) answered 400`.
impl fmt::Display for ReceivedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "#{} {} {} (session {}) answered {}",
            self.id(),
            self.method(),
            self.target(),
            self.session(),
            self.status()
        )
    }
}
