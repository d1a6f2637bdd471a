//! A handle on one session of a running mock: how a client names it, and
//! what the admin API does to it, done directly on the app.

use std::fmt;
use std::sync::Arc;

use serde_json::{json, Value};

use crate::app::App;
use crate::control::{DEFAULT_SESSION, SESSION_HEADER};
use crate::scenario::engine::SessionState;

use super::error::{SessionError, VerificationError};
use super::expectation::Expectation;
use super::request::ReceivedRequest;
use super::violations::Violations;

/// One session of a [`MockServer`](crate::MockServer): its own scenario,
/// state, store and journal, so tests running at once do not see each
/// other's calls. A client selects it with the `X-Mock-Session` header
/// ([`header`](Self::header)) or, where it cannot set headers, with the
/// `__session` query parameter ([`url`](Self::url)). The handle acts on
/// the mock directly, without HTTP, from async and blocking tests alike.
///
/// ```
/// use specmock::{Expectation, MockServer};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mock = MockServer::builder().start_blocking()?;
/// let session = mock.session("t1");
/// assert_eq!(session.header(), ("x-mock-session", "t1"));
/// assert_eq!(session.url("/user"), format!("{}/user?__session=t1", mock.url()));
///
/// session.set_scenario("signed-out")?;
/// assert_eq!(session.state()?, "signed-out");
/// assert!(session.set_scenario("no-such-scenario").is_err());
///
/// let error = session.verify(Expectation::operation("clear-user")).unwrap_err();
/// assert!(error.to_string().starts_with("expected at least 1 call of `clear-user` in session `t1`; 0 matched"));
/// session.reset()?;
/// assert_eq!(session.state()?, "signed-out", "a reset starts the session's scenario again");
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct MockSession {
    app: Arc<App>,
    id: String,
    base_url: String,
}

impl MockSession {
    /// The session `id` names as the server reads it from a header:
    /// trimmed, and `default` when empty. Panics (see
    /// [`MockServer::session`](crate::MockServer::session)) on a character
    /// a header cannot carry: the server would read no session from it.
    pub(super) fn new(app: Arc<App>, id: &str, base_url: String) -> Self {
        let id = match id.trim() {
            "" => DEFAULT_SESSION,
            id => id,
        };
        let sendable = |c: char| c == '\t' || (' '..='~').contains(&c);
        assert!(
            id.chars().all(sendable),
            "session id {id:?}: an X-Mock-Session header carries only visible ASCII, spaces and tabs"
        );
        Self {
            app,
            id: id.to_string(),
            base_url,
        }
    }

    /// The session's name.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The header a request sends to be in this session: its name
    /// (`x-mock-session`) and value.
    pub fn header(&self) -> (&'static str, &str) {
        (SESSION_HEADER, &self.id)
    }

    /// The mock's URL of `path` (which may carry a query and a
    /// `#fragment`; a missing leading `/` is added) in this session, by its
    /// `__session` query parameter: for a client that cannot add a header
    /// (a browser, a WebSocket client).
    pub fn url(&self, path: &str) -> String {
        let (path, fragment) = match path.split_once('#') {
            Some((path, fragment)) => (path, format!("#{fragment}")),
            None => (path, String::new()),
        };
        let slash = if path.starts_with('/') { "" } else { "/" };
        let joiner = if path.contains('?') { '&' } else { '?' };
        let id = crate::provider::wire::encode(&self.id);
        format!("{}{slash}{path}{joiner}__session={id}{fragment}", self.base_url)
    }

    /// Starts the session afresh in scenario `name` (what
    /// `PUT /__mock/sessions/{id}/scenario` does); an unknown name is an
    /// error listing the known ones.
    pub fn set_scenario(&self, name: &str) -> Result<(), SessionError> {
        crate::admin::sessions::restart(&self.app, &self.id, Some(name)).map_err(SessionError::new)?;
        Ok(())
    }

    /// Starts the session afresh in its scenario: initial state, initial
    /// store, the rules' counters at zero (`POST /__mock/sessions/{id}/reset`).
    ///
    /// The journal keeps the session's earlier calls, as the admin reset
    /// does: [`verify`](Self::verify), [`received_requests`](Self::received_requests)
    /// and [`violations`](Self::violations) still count them. A test that
    /// needs a clean slate uses a session id of its own.
    pub fn reset(&self) -> Result<(), SessionError> {
        crate::admin::sessions::restart(&self.app, &self.id, None).map_err(SessionError::new)?;
        Ok(())
    }

    /// The state its scenario is in (empty when it runs no scenario). A
    /// session no request has named yet is created, at the start scenario,
    /// as a request would create it.
    pub fn state(&self) -> Result<String, SessionError> {
        self.read(|session| session.state.clone())
    }

    /// The values its scenario's rules stored, as a JSON object.
    pub fn store(&self) -> Result<Value, SessionError> {
        self.read(|session| json!(session.store))
    }

    /// Checks that the session's calls meet `expectation`; the error
    /// explains as `POST /__mock/verify`'s 417 does.
    /// Only the calls the journal still holds count: once more requests
    /// came than it keeps (10,000 by default), the oldest do not, and an
    /// error says so (a passing check cannot: `never()` may pass on calls
    /// that rolled off).
    pub fn verify(&self, expectation: Expectation) -> Result<(), VerificationError> {
        expectation.check(&self.app, Some(&self.id))
    }

    /// The requests made in this session that the journal holds, oldest first.
    pub fn received_requests(&self) -> Vec<ReceivedRequest> {
        ReceivedRequest::all(&self.app, Some(&self.id))
    }

    /// The requests made in this session that broke the contract.
    pub fn violations(&self) -> Violations {
        Violations::of(&self.app, Some(&self.id))
    }

    /// Reads the session as the configuration in force sees it, as the
    /// request path does (created at its start scenario if no request has
    /// named it yet).
    fn read<T>(&self, read: impl Fn(&SessionState) -> T) -> Result<T, SessionError> {
        let read = self.app.in_current(|configuration| {
            let shared = self.app.sessions().get(&self.id, || configuration.fresh_session());
            let mut session = shared.lock();
            configuration.adopt(&mut session)?;
            Ok(read(&session))
        });
        read.map_err(SessionError::new)
    }
}

impl fmt::Debug for MockSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockSession")
            .field("id", &self.id)
            .field("url", &self.base_url)
            .finish()
    }
}
