//! The requests that broke the contract, as one value a test asserts on.

use std::fmt;

use crate::app::App;
use crate::journal::Filter;

use super::request::ReceivedRequest;

/// The requests that broke the contract since the mock started (or the
/// journal was cleared), each with its violations. Its `Display` lists them
/// with their JSON pointers, so
/// `assert!(violations.is_empty(), "{violations}")` says what was wrong.
#[derive(Debug, Clone)]
pub struct Violations {
    /// Those the journal still holds, oldest first.
    listed: Vec<ReceivedRequest>,
    /// Those counted but no longer held (more requests than the journal keeps).
    unlisted: u64,
}

impl Violations {
    /// Of every session, or of `session` only.
    pub(super) fn of(app: &App, session: Option<&str>) -> Self {
        let filter = Filter {
            session: session.map(str::to_string),
            violating: true,
            ..Filter::default()
        };
        let listed: Vec<ReceivedRequest> = app
            .journal()
            .entries(&filter)
            .into_iter()
            .map(ReceivedRequest::new)
            .collect();
        // The counts never lose a request; they are kept for all sessions together.
        let unlisted = match session {
            Some(_) => 0,
            None => app.journal().summary().violating.saturating_sub(listed.len() as u64),
        };
        Self { listed, unlisted }
    }

    /// Whether every request kept the contract.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many requests broke the contract.
    pub fn len(&self) -> usize {
        self.listed.len() + usize::try_from(self.unlisted).unwrap_or(usize::MAX)
    }

    /// The requests that broke the contract, oldest first (those the
    /// journal still holds: all of them unless more requests came than it
    /// keeps).
    pub fn iter(&self) -> std::slice::Iter<'_, ReceivedRequest> {
        self.listed.iter()
    }
}

impl<'a> IntoIterator for &'a Violations {
    type Item = &'a ReceivedRequest;
    type IntoIter = std::slice::Iter<'a, ReceivedRequest>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// `1 request broke the contract:` then each request, and under it each
/// violation as `/body/id (type): expected string, found integer`.
impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("no request broke the contract");
        }
        let requests = if self.len() == 1 { "request" } else { "requests" };
        write!(f, "{} {requests} broke the contract:", self.len())?;
        for request in &self.listed {
            write!(f, "\n  {request}:")?;
            for violation in request.violations() {
                write!(f, "\n    {violation}")?;
            }
        }
        if self.unlisted > 0 {
            write!(f, "\n  and {} no longer in the journal", self.unlisted)?;
        }
        Ok(())
    }
}
