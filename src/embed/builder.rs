//! What a mock serves, loaded as the command line loads it, then started
//! on a loopback port.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use crate::app::{App, Behaviour, Inputs};
use crate::diagnostic::Diagnostics;
use crate::server::Limits;
use crate::sources::{Source, Sources};

use super::error::{LoadError, StartError};
use super::server::MockServer;

/// How diagnostics name a spec handed over as text.
const SPEC_TEXT_LABEL: &str = "spec_str";

/// Every mock binds a free port of its own on loopback.
const LOOPBACK: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 0);

/// Generated data is the same from run to run, as the command line's default `--seed`.
const SEED: u64 = 0;

#[derive(Debug, Clone)]
enum Spec {
    Embedded,
    File(PathBuf),
    Text(String),
}

/// What a [`MockServer`] serves, assembled step by step from
/// [`MockServer::builder`]. By default, the Pieces User API the binary
/// embeds, with its fixtures and scenarios (sessions start in `default`).
/// A spec named by [`spec_file`](Self::spec_file) or
/// [`spec_str`](Self::spec_str) comes alone: fixtures and scenarios only
/// from the directories named.
///
/// Loading checks everything the command line checks at start-up; a
/// problem is a [`LoadError`] naming `file:line:column`.
///
/// ```
/// use specmock::{Expectation, MockServer};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mock = MockServer::builder()
///     .spec_file("openapi.yaml") // or .spec_str(..), or the embedded Pieces User API by default
///     .fixtures_dir("fixtures")
///     .scenarios_dir("scenarios")
///     .scenario("vanity-taken") // the scenario sessions start in
///     .start()
///     .await?; // binds 127.0.0.1:0
/// let session = mock.session("t1");
/// session.set_scenario("dns-not-ready")?;
/// // ... the client under test calls mock.url(), sending session.header() ...
/// # call(&mock.url(), session.header()).await?;
/// # call(&mock.url(), session.header()).await?;
/// session.verify(Expectation::operation("user-update-vanity").times(2))?;
/// assert!(mock.violations().is_empty(), "{}", mock.violations());
/// # Ok(())
/// # }
/// # async fn call(url: &str, (name, value): (&str, &str)) -> Result<(), Box<dyn std::error::Error>> {
/// #     use tokio::io::{AsyncReadExt, AsyncWriteExt};
/// #     let mut stream = tokio::net::TcpStream::connect(url.trim_start_matches("http://")).await?;
/// #     let request = format!("POST /user/update/vanity HTTP/1.1\r\nhost: mock\r\n{name}: {value}\r\nconnection: close\r\n\r\n");
/// #     stream.write_all(request.as_bytes()).await?;
/// #     let mut answer = String::new();
/// #     stream.read_to_string(&mut answer).await?;
/// #     assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
/// #     Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct MockServerBuilder {
    spec: Spec,
    fixtures: Option<PathBuf>,
    scenarios: Option<PathBuf>,
    scenario: Option<String>,
}

impl MockServerBuilder {
    pub(super) fn new() -> Self {
        Self {
            spec: Spec::Embedded,
            fixtures: None,
            scenarios: None,
            scenario: None,
        }
    }

    /// Serves this OpenAPI 3.0 or 3.1 document (YAML or JSON); its relative
    /// `$ref`s resolve against its directory.
    pub fn spec_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.spec = Spec::File(path.into());
        self
    }

    /// Serves this OpenAPI document, given as YAML or JSON text (named
    /// `spec_str` in diagnostics); only `$ref`s inside it resolve.
    pub fn spec_str(mut self, text: impl Into<String>) -> Self {
        self.spec = Spec::Text(text.into());
        self
    }

    /// Response bodies from this directory (as `--fixtures`).
    pub fn fixtures_dir(mut self, path: impl Into<PathBuf>) -> Self {
        self.fixtures = Some(path.into());
        self
    }

    /// Scenario files (`*.yaml`) from this directory (as `--scenarios`).
    pub fn scenarios_dir(mut self, path: impl Into<PathBuf>) -> Self {
        self.scenarios = Some(path.into());
        self
    }

    /// The scenario every session starts in (as `--scenario`); without it,
    /// `default` if there is one. An unknown name is a load error.
    pub fn scenario(mut self, name: impl Into<String>) -> Self {
        self.scenario = Some(name.into());
        self
    }

    /// Loads the inputs and serves them on a free loopback port, as a task
    /// of the runtime this is called on (a Tokio runtime).
    ///
    /// The server only runs when the runtime gets the thread back: a client
    /// that blocks its thread while it waits for the answer (a blocking
    /// HTTP client, `std::net::TcpStream`) never gets one on a
    /// `current_thread` runtime (the default of `#[tokio::test]`). Such a
    /// client needs a multi-thread runtime
    /// (`#[tokio::test(flavor = "multi_thread")]`) or
    /// [`start_blocking`](Self::start_blocking).
    pub async fn start(self) -> Result<MockServer, StartError> {
        let app = self.load()?;
        let listener = tokio::net::TcpListener::bind(LOOPBACK).await?;
        Ok(MockServer::serve(listener, app, Limits::default())?)
    }

    /// Loads the inputs and serves them on a free loopback port from a
    /// runtime on a thread of its own: for a test with no runtime, or with a
    /// blocking client. Dropping the server stops it at once: in-flight
    /// requests are cut, and the port is closed when the drop returns (see
    /// [`MockServer`]).
    ///
    /// ```
    /// let mock = specmock::MockServer::builder().start_blocking()?;
    /// assert!(mock.address().ip().is_loopback());
    /// # Ok::<(), specmock::StartError>(())
    /// ```
    pub fn start_blocking(self) -> Result<MockServer, StartError> {
        let app = self.load()?;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        // Registered with the runtime that will serve it, before it moves to its thread.
        let listener = {
            let _entered = runtime.enter();
            let listener = std::net::TcpListener::bind(LOOPBACK)?;
            listener.set_nonblocking(true)?;
            tokio::net::TcpListener::from_std(listener)?
        };
        Ok(MockServer::serve_on_thread(runtime, listener, app, Limits::default())?)
    }

    /// The app, from files as the command line loads them (so
    /// `POST /__mock/reload` reads them again), or from the spec's text.
    fn load(self) -> Result<App, LoadError> {
        let behaviour = Behaviour::default();
        let sources = self.sources();
        let loaded = match self.spec {
            Spec::Text(text) => {
                from_text(&text, &sources, self.scenario).and_then(|inputs| App::build(inputs, behaviour))
            }
            Spec::Embedded | Spec::File(_) => App::load(sources, self.scenario, SEED, behaviour),
        };
        let (app, warnings) = loaded.map_err(LoadError::new)?;
        for warning in &warnings {
            tracing::warn!("{warning}");
        }
        Ok(app)
    }

    fn sources(&self) -> Sources {
        let directory = |named: &Option<PathBuf>| named.clone().map(Source::File);
        let (spec, fixtures, scenarios) = match &self.spec {
            Spec::Embedded => (
                Source::Embedded,
                Some(directory(&self.fixtures).unwrap_or(Source::Embedded)),
                Some(directory(&self.scenarios).unwrap_or(Source::Embedded)),
            ),
            Spec::File(path) => (
                Source::File(path.clone()),
                directory(&self.fixtures),
                directory(&self.scenarios),
            ),
            // A text has no directory, as the embedded spec has none: the
            // files named are labelled from the working directory alike.
            Spec::Text(_) => (Source::Embedded, directory(&self.fixtures), directory(&self.scenarios)),
        };
        Sources {
            spec,
            more_specs: Vec::new(),
            fixtures,
            scenarios,
        }
    }
}

/// The inputs of a spec given as text, with the fixtures and scenarios `sources` name.
fn from_text(text: &str, sources: &Sources, start_scenario: Option<String>) -> Result<Inputs, Diagnostics> {
    Ok(Inputs {
        spec: crate::spec::load_text(SPEC_TEXT_LABEL, text, None)?,
        fixtures: sources.load_fixtures()?,
        scenarios: sources.load_scenarios()?,
        start_scenario,
        seed: SEED,
    })
}
