//! The requests that broke the contract, as one value a test asserts on.

use std::fmt;

use crate::app::App;
use crate::journal::Filter;

use super::request::ReceivedRequest;

/// The requests that broke the contract since the mock started (or the
/// journal was cleared), each with its violations. Its `Display` lists them
/// with their JSON pointers, so
/// `assert!(violations.is_empty(), "{violations}")` says what was wrong.
///
/// The journal keeps the latest requests only (10,000 by default); the mock
/// counts every violating request, but one it no longer holds has lost its
/// session with it. So a session's `Violations` cannot tell whether such a
/// request was its own: while any violating request has rolled off the
/// journal, it is not empty, and its `Display` says how many may be its own.
#[derive(Debug, Clone)]
pub struct Violations {
    /// Those the journal still holds, oldest first.
    listed: Vec<ReceivedRequest>,
    /// Those counted but no longer held (more requests than the journal keeps).
    unlisted: u64,
    /// Of one session: `unlisted` may or may not be its own.
    of_one_session: bool,
}

impl Violations {
    /// Of every session, or of `session` only.
    pub(super) fn of(app: &App, session: Option<&str>) -> Self {
        let violating = Filter {
            violating: true,
            ..Filter::default()
        };
        let held = app.journal().entries(&violating);
        // The counts never lose a request, but they are kept for all sessions
        // together: what is not held is set against every session's held ones.
        let unlisted = app.journal().summary().violating.saturating_sub(held.len() as u64);
        let listed = held
            .into_iter()
            .filter(|entry| session.is_none_or(|session| session == &*entry.record.session))
            .map(ReceivedRequest::new)
            .collect();
        Self {
            listed,
            unlisted,
            of_one_session: session.is_some(),
        }
    }

    /// Whether every request kept the contract. For one session, not while
    /// violating requests of unknown session have rolled off the journal.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many requests broke the contract: those listed, and those no
    /// longer in the journal (for one session, those that may have been its
    /// own: at most that many).
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
        let broke = match (self.unlisted, self.of_one_session) {
            (1.., true) => "broke the contract or may have",
            _ => "broke the contract",
        };
        write!(f, "{} {requests} {broke}:", self.len())?;
        for request in &self.listed {
            write!(f, "\n  {request}:")?;
            for violation in request.violations() {
                write!(f, "\n    {violation}")?;
            }
        }
        match (self.unlisted, self.of_one_session) {
            (0, _) => {}
            (unlisted, false) => write!(f, "\n  and {unlisted} no longer in the journal")?,
            (unlisted, true) => write!(
                f,
                "\n  and {unlisted} no longer in the journal, of this session or another: \
                 a request the journal dropped is no longer known by its session"
            )?,
        }
        Ok(())
    }
}
