//! The request path as one pure function: route, validate, decide, render.
//! It takes the parts of a request and answers a response; the network lives
//! in `server.rs`, so everything here is testable without a socket.

mod configuration;
mod credentials;
pub mod handshake;
mod relay;
mod stream;

pub use configuration::Configuration;
pub use credentials::CredentialNames;
pub use relay::Forward;
pub use stream::{LiveFrame, Outgoing, StreamMode, StreamPlan, Upgrade, INTERNAL_ERROR};

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::request::Parts;
use http::{HeaderMap, Method, Response, StatusCode};

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::control::{self, Prefer, SessionKey};
use crate::diagnostic::Diagnostics;
use crate::fixtures::Fixtures;
use crate::host::HostName;
use crate::journal::{EntryKind, Journal, Record};
use crate::problem::{self, Problem};
use crate::render::{encode, generate, mismatch, preferred_media, Rendered};
use crate::scenario::engine::{self, Decision, Facts, Outcome, SessionState};
use crate::scenario::template::RequestTime;
use crate::scenario::{Fault, Scenario, ScenarioSource};
use crate::session::{Event, Session, Sessions, SharedSession, DEFAULT_IDLE_EXPIRY, MAX_SESSIONS};
use crate::spec::router::RouteMatch;
use crate::spec::Spec;
use crate::validate::{self, Checked, ParamSources, RequestView, Violation};

/// How the request path behaves.
#[derive(Debug, Clone)]
pub struct Behaviour {
    /// Serve the normal response even when a request breaks the contract;
    /// the violations are logged and counted in `X-Mock-Violations`.
    pub lenient: bool,
    /// Answer CORS preflights and add `Access-Control-Allow-*` headers.
    pub cors: bool,
    /// Lets peers beyond loopback use the admin API (the mock's control
    /// API, under `control::PREFIX`) when presented as
    /// `Authorization: Bearer <token>`.
    pub control_token: Option<String>,
    /// Names (or addresses) a request may call the mock by to use the admin
    /// API, besides loopback addresses and `localhost`: the `--host` address
    /// and each `--admin-host`.
    pub control_hosts: Vec<HostName>,
    /// What keys a session when a request names none.
    pub session_key: SessionKey,
    /// Journal entries kept (the counts never lose a request).
    pub journal_size: usize,
    /// `--upstream`: where an operation no scenario rule answers is
    /// forwarded (the shell sends it; the core decides and judges).
    pub upstream: Option<Arc<crate::proxy::Upstream>>,
    /// How sessions are recorded as scenarios (`--record` and its flags).
    pub record: crate::record::Settings,
}

impl Default for Behaviour {
    fn default() -> Self {
        Self {
            lenient: false,
            cors: true,
            control_token: None,
            control_hosts: Vec::new(),
            session_key: SessionKey::Explicit,
            journal_size: crate::journal::DEFAULT_CAPACITY,
            upstream: None,
            record: crate::record::Settings::default(),
        }
    }
}

/// What lasts while the configuration is reloaded under it: sessions,
/// the journal, the flags; and the configuration itself, swapped whole.
pub struct App {
    configuration: ArcSwap<Configuration>,
    behaviour: Behaviour,
    sessions: Sessions,
    journal: Journal,
    /// A fresh number per use: seeds `Prefer: dynamic=true` data, `{{uuid}}`
    /// and delay ranges, so each answer differs yet a run can be replayed.
    entropy: AtomicU64,
    pub(crate) reloading: crate::reload::Reloading,
}

/// A session was already mapped to a newer configuration than the one a
/// request started with: the request starts over with the current one.
#[derive(Debug)]
pub struct Stale;

/// Times a request starts over after a reload (each time, another reload
/// must have swapped in between; the configuration only gets newer).
const ATTEMPTS: usize = 8;

/// Everything an `App` is built from.
pub struct Inputs {
    /// The loaded spec (one document, or several served together).
    pub spec: Spec,
    /// Response bodies by name, for the spec's defaults and scenario responses.
    pub fixtures: Fixtures,
    /// The scenario files, checked against the spec and fixtures when the app is built.
    pub scenarios: Vec<ScenarioSource>,
    /// The scenario every session starts in; `None`: `default` if there is one.
    pub start_scenario: Option<String>,
    /// Seeds generated bodies, so the same seed serves the same bytes.
    pub seed: u64,
}

/// A response plus what the log line needs to know about it.
pub struct Handled {
    /// What the client gets, whole: the shell only writes it (after `delay`, with `fault`).
    pub response: Response<Bytes>,
    /// The session the request named (`None` for the admin API).
    pub session: Option<String>,
    /// The operationId matched, for the log line and the journal (`None`: no operation matched).
    pub operation: Option<String>,
    /// How the request broke the contract, each at its JSON pointer; empty when it kept it.
    pub violations: Vec<Violation>,
    /// The mock answered with a problem of its own instead of the API's
    /// answer: verifications do not count the call (unless asked to).
    pub refused: bool,
    /// The scenario rule that answered (`file rules[N]`), if one did.
    pub rule: Option<String>,
    /// Wait this long before answering.
    pub delay: Option<std::time::Duration>,
    /// Misbehave on the wire this way.
    pub fault: Option<Fault>,
    /// Not answered yet: the shell sends the request upstream and hands the
    /// answer to [`App::relay`].
    pub forward: Option<Forward>,
    /// Who answered, when not the mock (an answer relayed from upstream).
    pub origin: Option<crate::journal::Origin>,
    /// What the journal says about the answer beyond its status.
    pub note: Option<String>,
}

const EXPOSED_HEADERS: &str = "x-mock-origin, x-mock-violations";

impl App {
    /// Spec and fixtures only, no scenarios: every request gets the spec's answer.
    pub fn new(
        spec: Spec,
        fixtures: &Fixtures,
        seed: u64,
        behaviour: Behaviour,
    ) -> Result<(Self, Vec<String>), Diagnostics> {
        let inputs = Inputs {
            spec,
            fixtures: fixtures.clone(),
            scenarios: Vec::new(),
            start_scenario: None,
            seed,
        };
        Self::build(inputs, behaviour)
    }

    /// Renders every default body and checks every scenario once; returns
    /// the warnings an operator should see, or every problem found.
    pub fn build(inputs: Inputs, behaviour: Behaviour) -> Result<(Self, Vec<String>), Diagnostics> {
        let seed = inputs.seed;
        let named = inputs.start_scenario.is_some();
        let (mut configuration, warnings) = Configuration::build(inputs, 1)?;
        behaviour.settle_start(&mut configuration, named);
        let journal = Journal::new(behaviour.journal_size);
        if behaviour.record.dir.is_some() {
            let record = &behaviour.record;
            journal.keep_sessions(crate::record::Tapes::new(record.per_session, record.bytes));
        }
        let app = Self {
            configuration: ArcSwap::from_pointee(configuration),
            behaviour,
            sessions: Sessions::new(DEFAULT_IDLE_EXPIRY, MAX_SESSIONS),
            journal,
            entropy: AtomicU64::new(seed),
            reloading: crate::reload::Reloading::default(),
        };
        Ok((app, warnings))
    }

    /// The configuration in force now. A caller that reads several things
    /// from it reads them from this one value, never from a second call.
    pub fn configuration(&self) -> Arc<Configuration> {
        self.configuration.load_full()
    }

    /// Puts `configuration` in force for every request that starts from now on.
    pub(crate) fn swap(&self, configuration: Configuration) {
        self.configuration.store(Arc::new(configuration));
    }

    /// Runs `answer` with the configuration in force; again with the one in
    /// force then when it meets a session already mapped to a newer one.
    pub(crate) fn in_current<T>(
        &self,
        mut answer: impl FnMut(&Arc<Configuration>) -> Result<T, Stale>,
    ) -> Result<T, Problem> {
        for _ in 0..ATTEMPTS {
            if let Ok(answered) = answer(&self.configuration.load()) {
                return Ok(answered);
            }
        }
        Err(Problem::configuration_changing(ATTEMPTS))
    }

    /// The live sessions, for the admin API, recordings, and tests that look inside one.
    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// The flags the app was built with (leniency, CORS, admin access, journal size, upstream,
    /// recording).
    pub fn behaviour(&self) -> &Behaviour {
        &self.behaviour
    }

    /// What clients sent, for contract checks.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// Answers one request to the API, wholly in memory: the pure path the
    /// HTTP shell drives (routing, validation, scenario decision, rendering).
    /// Every path is routed against the spec: the admin API's are
    /// `dispatch::handle`'s to send elsewhere first.
    pub fn handle(&self, parts: &Parts, body: &[u8]) -> Handled {
        let path = parts.uri.path();
        let answered = self.in_current(|config| {
            if self.behaviour.cors && is_preflight(parts) {
                if let Some(methods) = config.spec.router.methods_at(path) {
                    // The browser's question, not a call of the API: not journaled.
                    let mut response = preflight(parts, &methods);
                    add_cors_headers(&mut response, parts);
                    return Ok(Handled::unattributed(response));
                }
            }
            let mut handled = match self.admit(config, parts, body, Wants::Response) {
                Ok(admitted) => self.answer(config, parts, admitted)?,
                Err(refused) => *refused,
            };
            if self.behaviour.cors {
                add_cors_headers(&mut handled.response, parts);
            }
            self.name_session(config, &mut handled, parts);
            Ok(handled)
        });
        answered.unwrap_or_else(|problem| self.refused(problem, parts))
    }

    /// Files a request refused before its controls were read under the
    /// session it names all the same; the session exists from then on (the
    /// admin API knows it as one the client called).
    fn name_session(&self, config: &Configuration, handled: &mut Handled, parts: &Parts) {
        if handled.session.is_none() {
            let query = parts.uri.query().unwrap_or("");
            let session = control::session_of(&parts.headers, query, &self.behaviour.session_key);
            self.sessions.get(&session, || config.fresh_session());
            handled.session = Some(session);
        }
    }

    /// Routes and validates a request: what every answer (HTTP or stream)
    /// starts from, or the problem that ends it.
    fn admit(
        &self,
        config: &Configuration,
        parts: &Parts,
        body: &[u8],
        wants: Wants,
    ) -> Result<Admitted, Box<Handled>> {
        let path = parts.uri.path();
        let (operation_index, path_params) = match config.spec.router.find(&parts.method, path) {
            RouteMatch::Found { operation, params } => (operation, params),
            RouteMatch::MethodNotAllowed { allowed } => {
                let allowed: Vec<String> = allowed.iter().map(Method::to_string).collect();
                let problem = Problem::method_not_allowed(parts.method.as_str(), path, &allowed);
                return Err(Box::new(self.unrouted(problem, parts)));
            }
            RouteMatch::NotFound { closest } => {
                return Err(Box::new(self.unrouted(Problem::not_found(path, closest), parts)))
            }
        };
        let operation = &config.spec.operations[operation_index];
        let refuse = |problem, violations| Box::new(self.refusal(config, operation_index, problem, parts, violations));
        if operation.websocket && wants == Wants::Response {
            return Err(refuse(
                Problem::upgrade_required(&operation.id, "is a WebSocket"),
                Vec::new(),
            ));
        }
        let query = match crate::uri::parse_query(parts.uri.query().unwrap_or("")) {
            Ok(query) => query,
            Err(e) => {
                let problem =
                    Problem::bad_request_target(Violation::new("/query", "encoding", format!("query string: {e}")));
                let violations = problem.violations.clone();
                return Err(refuse(problem, violations));
            }
        };
        let (controls, query) = control::extract(&parts.headers, query, &self.behaviour.session_key);
        let chosen = controls
            .scenario
            .as_deref()
            .map(|name| scenario_named(config, name))
            .transpose()
            .map_err(|problem| refuse(problem, Vec::new()))?;
        let view = RequestView {
            params: ParamSources {
                path: &path_params,
                query: &query,
                headers: &parts.headers,
            },
            headers: &parts.headers,
            body,
        };
        let (violations, request_body) = match validate::request(operation, &view) {
            Ok(accepted) => (Vec::new(), accepted.body),
            Err(rejection) if self.behaviour.lenient => (rejection.violations(), rejection.into_body()),
            Err(rejection) => {
                let violations = rejection.violations();
                return Err(refuse(Problem::from_rejection(rejection), violations));
            }
        };
        let path = path_params
            .iter()
            .map(|(name, raw)| {
                let decoded = crate::uri::decode_component(raw).unwrap_or_else(|_| raw.clone());
                (name.clone(), decoded)
            })
            .collect();
        Ok(Admitted {
            operation: operation_index,
            path,
            query,
            controls,
            chosen,
            violations,
            request_body,
        })
    }

    /// Enters the session the request names, moves it to the scenario the
    /// request names, and (unless `Prefer:` chose the answer) lets its
    /// scenario decide. The switch and the decision happen under one lock,
    /// so a concurrent request naming another scenario cannot slip in
    /// between; a stream subscribes under it too, so it misses no call made
    /// after its answer.
    fn enter_session(
        &self,
        config: &Configuration,
        admitted: &Admitted,
        headers: &HeaderMap,
        entry: Entry,
    ) -> Result<Entered, Stale> {
        let shared = self.sessions.get(&admitted.controls.session, || config.fresh_session());
        let mut session = shared.lock();
        config.adopt(&mut session)?;
        let changes_before = session.changes();
        let switched = switch_scenario(&mut session, admitted.chosen.clone());
        let events = (entry == Entry::Followed).then(|| shared.subscribe());
        // A replayed recording moves on past a call `Prefer:` answers, as it was recorded.
        let decide = entry != Entry::Preferred || session.scenario.as_ref().is_some_and(|scenario| scenario.replay);
        let decision = if decide {
            let now = request_time();
            let facts = Facts {
                operation: admitted.operation,
                body: admitted.request_body.as_ref(),
                query: &admitted.query,
                headers,
                path: &admitted.path,
                now: &now,
                entropy: self.next_entropy(),
            };
            engine::decide(&mut session, &facts)
        } else {
            None
        };
        // A replayed recording that did not expect this call says where it stands.
        let note = match decision {
            None if decide => engine::replay_position(&session).map(|position| position.note()),
            _ => None,
        };
        let changed = switched || session.changes() != changes_before;
        drop(session);
        Ok(Entered {
            session: shared,
            decision,
            changed,
            events,
            note,
        })
    }

    fn answer(&self, config: &Arc<Configuration>, parts: &Parts, admitted: Admitted) -> Result<Handled, Stale> {
        let operation_index = admitted.operation;
        let attribute = |response, violations| self.attributed(config, operation_index, response, violations);
        let refuse = |problem, violations| self.refusal(config, operation_index, problem, parts, violations);
        let (mut rule, mut extra_headers, mut delay, mut fault) = (None, Vec::new(), None, None);
        let prefer = admitted.controls.prefer.is_set();
        let entry = if prefer { Entry::Preferred } else { Entry::Decided };
        let Entered {
            session: shared,
            decision,
            changed,
            note,
            ..
        } = self.enter_session(config, &admitted, &parts.headers, entry)?;
        let Admitted {
            controls,
            violations,
            request_body,
            ..
        } = admitted;
        let rendered: Cow<'_, Rendered> = if prefer {
            match self.preferred(config, operation_index, &controls.prefer) {
                Ok(rendered) => Cow::Owned(rendered),
                Err(problem) => return Ok(refuse(problem, violations)),
            }
        } else {
            match decision {
                Some(Decision {
                    rule: label,
                    outcome: Outcome::Respond(answer),
                    ..
                }) if !answer.forward => {
                    if let (Some(problem), false) = (&answer.problem, self.behaviour.lenient) {
                        let problem = Problem::invalid_scripted_response(problem.clone());
                        let mut handled = refuse(problem, violations);
                        handled.rule = Some(label);
                        return Ok(handled);
                    }
                    rule = Some(label);
                    extra_headers = answer.headers;
                    delay = answer.delay;
                    fault = answer.fault;
                    Cow::Owned(answer.rendered)
                }
                Some(Decision {
                    rule: label,
                    outcome: Outcome::Stream(_),
                    ..
                }) => {
                    let why = format!("is answered by a WebSocket stream here ({label})");
                    let problem = Problem::upgrade_required(&config.spec.operations[operation_index].id, &why);
                    let mut handled = refuse(problem, violations);
                    handled.rule = Some(label);
                    return Ok(handled);
                }
                // A rule's `proxy: true` answers as no rule would: upstream, if there is one.
                None
                | Some(Decision {
                    outcome: Outcome::Respond(_),
                    ..
                }) if self.behaviour.upstream.is_some() => {
                    announce(config, &shared, operation_index, request_body, None, changed);
                    // A placeholder: the shell sends the request and `App::relay` answers.
                    let mut handled = attribute(empty(StatusCode::BAD_GATEWAY), violations);
                    handled.session = Some(controls.session);
                    handled.forward = self.forward(config, operation_index);
                    return Ok(handled);
                }
                None
                | Some(Decision {
                    outcome: Outcome::Respond(_),
                    ..
                }) => match config.responder.default_for(&config.spec, operation_index) {
                    Some(rendered) => Cow::Borrowed(rendered),
                    None => {
                        announce(config, &shared, operation_index, request_body, None, changed);
                        let mut handled = attribute(empty(StatusCode::NO_CONTENT), violations);
                        handled.note = note;
                        return Ok(handled);
                    }
                },
            }
        };
        announce(config, &shared, operation_index, request_body, Some(&rendered), changed);
        if let (Some(mismatch), false) = (&rendered.schema_mismatch, self.behaviour.lenient) {
            return Ok(refuse(Problem::unrenderable(mismatch.clone()), violations));
        }
        let mut response = to_response(&rendered, &parts.method);
        add_declared_headers(config, &mut response, operation_index);
        for (name, value) in extra_headers {
            response.headers_mut().insert(name, value);
        }
        if self.behaviour.lenient && !violations.is_empty() {
            response
                .headers_mut()
                .insert("x-mock-violations", HeaderValue::from(violations.len()));
        }
        let mut handled = attribute(response, violations);
        handled.session = Some(controls.session);
        handled.rule = rule;
        handled.delay = delay;
        handled.fault = fault;
        handled.note = note;
        Ok(handled)
    }

    /// A request the spec has no operation for: a contract violation too.
    fn unrouted(&self, problem: Problem, parts: &Parts) -> Handled {
        let violation = Violation::new("/path", "route", problem.detail.clone());
        Handled {
            violations: vec![violation],
            refused: true,
            ..Handled::unattributed(self.problem(problem, parts))
        }
    }

    /// The mock's own problem instead of the operation's answer.
    fn refusal(
        &self,
        config: &Configuration,
        operation: usize,
        problem: Problem,
        parts: &Parts,
        violations: Vec<Violation>,
    ) -> Handled {
        Handled {
            refused: true,
            ..self.attributed(config, operation, self.problem(problem, parts), violations)
        }
    }

    fn attributed(
        &self,
        config: &Configuration,
        operation: usize,
        response: Response<Bytes>,
        violations: Vec<Violation>,
    ) -> Handled {
        Handled {
            operation: Some(config.spec.operations[operation].id.clone()),
            violations,
            ..Handled::unattributed(response)
        }
    }

    /// A fresh number per use (see `entropy`).
    pub fn next_entropy(&self) -> u64 {
        self.entropy.fetch_add(1, Ordering::Relaxed)
    }

    /// A `Prefer` override: a declared status, a named example, or fresh data.
    fn preferred(&self, config: &Configuration, operation: usize, prefer: &Prefer) -> Result<Rendered, Problem> {
        let op = &config.spec.operations[operation];
        let declared = || op.responses.iter().map(|r| r.status.to_string()).collect::<Vec<_>>();
        let status = match &prefer.code {
            Some(code) => code
                .parse::<u16>()
                .ok()
                .filter(|status| (100..=599).contains(status) && op.response_for(*status).is_some())
                .ok_or_else(|| Problem::undeclared_status(&op.id, code, &declared()))?,
            None => config
                .responder
                .default_for(&config.spec, operation)
                .map_or(200, |r| r.status),
        };
        let spec_body = config.responder.for_status(&config.spec, operation, status);
        if prefer.example.is_none() && !prefer.dynamic {
            return spec_body.ok_or_else(|| Problem::undeclared_status(&op.id, &status.to_string(), &declared()));
        }
        let media = op.response_for(status).and_then(|r| preferred_media(&r.content));
        let Some(media) = media else {
            return Err(Problem::no_content(&op.id, status));
        };
        if let Some(name) = &prefer.example {
            let known: Vec<&str> = media.examples.iter().map(|(n, _)| n.as_str()).collect();
            let (_, value) = media
                .examples
                .iter()
                .find(|(n, _)| n == name)
                .ok_or_else(|| Problem::unknown_example(&op.id, status, name, &known))?;
            return Ok(encode(status, media, value));
        }
        let Some(schema) = &media.schema else {
            return Err(Problem::no_content(&op.id, status));
        };
        let generated = generate(&schema.document, self.next_entropy());
        // Checked like every default body: the generator cannot always satisfy
        // a schema (a `pattern`), and the mock never sends what its spec forbids.
        Ok(Rendered {
            schema_mismatch: mismatch(media, &generated),
            ..encode(status, media, &generated)
        })
    }

    /// A problem+json response for a mock-made error.
    pub fn problem(&self, problem: Problem, parts: &Parts) -> Response<Bytes> {
        let instance = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let mut response = Response::new(problem.body(instance));
        *response.status_mut() = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::BAD_REQUEST);
        let headers = response.headers_mut();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static(problem::CONTENT_TYPE),
        );
        headers.insert(
            problem::ORIGIN_HEADER,
            HeaderValue::from_static(problem.kind.origin.as_str()),
        );
        for (name, value) in &problem.headers {
            if let Ok(value) = HeaderValue::from_str(value) {
                headers.insert(HeaderName::from_static(name), value);
            }
        }
        response
    }

    /// A request the server refuses before `handle` (a body too large, too
    /// many streams): the problem, with CORS headers and its session named.
    pub fn refused(&self, problem: Problem, parts: &Parts) -> Handled {
        let mut response = self.problem(problem, parts);
        if self.behaviour.cors {
            add_cors_headers(&mut response, parts);
        }
        let mut handled = Handled {
            refused: true,
            ..Handled::unattributed(response)
        };
        self.name_session(&self.configuration(), &mut handled, parts);
        handled
    }
}

/// `X-Mock-Scenario: NAME`: the session moves to that scenario, starting
/// it fresh; naming the scenario it already runs changes nothing.
fn scenario_named(config: &Configuration, name: &str) -> Result<Arc<Scenario>, Problem> {
    config.scenarios.get(name).cloned().ok_or_else(|| {
        let known: Vec<&str> = config.scenarios.names().collect();
        Problem::unknown_scenario(name, &known)
    })
}

/// Tells the session's streams about a call, if any stream follows it.
fn announce(
    config: &Configuration,
    session: &Session,
    operation: usize,
    request: Option<Checked>,
    response: Option<&Rendered>,
    changed: bool,
) {
    if !session.is_followed() {
        return;
    }
    session.publish(Event {
        operation: Some(config.spec.operations[operation].id.clone()),
        request: request.map(|body| body.value),
        response: response.cloned(),
        changed,
    });
}

/// The required headers the spec declares for the response's status
/// (scripted headers, added after, take precedence).
fn add_declared_headers(config: &Configuration, response: &mut Response<Bytes>, operation: usize) {
    let status = response.status().as_u16();
    for (name, value) in config.responder.headers_for(&config.spec, operation, status) {
        response.headers_mut().insert(name.clone(), value.clone());
    }
}

/// A request that passed routing and validation, with what the answer needs.
struct Admitted {
    operation: usize,
    /// Path parameters, percent-decoded.
    path: Vec<(String, String)>,
    /// The query without the mock's own controls.
    query: Vec<(String, String)>,
    controls: control::Controls,
    chosen: Option<Arc<Scenario>>,
    violations: Vec<Violation>,
    request_body: Option<Checked>,
}

/// What a request asks of the operation it is routed to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Wants {
    /// An HTTP answer (a WebSocket operation refuses it with 426).
    Response,
    /// A WebSocket stream: the request is its handshake.
    Stream,
}

/// How a request enters its session.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Entry {
    /// `Prefer:` chose the answer: the scenario does not decide (a
    /// replayed recording still moves on, as it was recorded).
    Preferred,
    /// The scenario decides the answer.
    Decided,
    /// A stream's handshake: the scenario decides, and the stream follows
    /// the session's events from under the same lock.
    Followed,
}

/// A session entered, and what its scenario decided.
struct Entered {
    session: SharedSession,
    decision: Option<Decision>,
    /// Whether the scenario switch or the decision changed the session.
    changed: bool,
    events: Option<tokio::sync::broadcast::Receiver<Arc<Event>>>,
    /// Where a replayed recording stands, when it did not expect the call.
    note: Option<String>,
}

/// `X-Mock-Scenario`: moves the session to the named scenario, afresh;
/// returns whether it moved.
fn switch_scenario(session: &mut SessionState, chosen: Option<Arc<Scenario>>) -> bool {
    match chosen {
        Some(scenario) if session.scenario_name() != Some(scenario.name.as_str()) => {
            session.restart(Some(scenario));
            true
        }
        _ => false,
    }
}

fn request_time() -> RequestTime {
    RequestTime::at(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default(),
    )
}

impl Handled {
    /// A response no operation answered (routing, admin, a refused body).
    pub fn unattributed(response: Response<Bytes>) -> Self {
        Self {
            response,
            session: None,
            operation: None,
            violations: Vec::new(),
            refused: false,
            rule: None,
            delay: None,
            fault: None,
            forward: None,
            origin: None,
            note: None,
        }
    }

    /// The journal entry for this answer to `parts`, with the credentials
    /// it carried redacted from the response body; none for the admin
    /// API's own requests, which are the test's, not the client's.
    pub fn record<'a>(
        &'a self,
        parts: &'a Parts,
        latency: std::time::Duration,
        body: Option<Bytes>,
        credentials: &CredentialNames,
    ) -> Option<Record<&'a str>> {
        Some(Record {
            kind: EntryKind::Request,
            session: self.session.as_deref()?,
            method: parts.method.as_str(),
            target: parts.uri.path_and_query().map_or("/", |p| p.as_str()),
            operation: self.operation.as_deref(),
            rule: self.rule.as_deref(),
            status: self.response.status().as_u16(),
            refused: self.refused,
            latency,
            violations: self.violations.clone(),
            body,
            response: Some(credentials.redact(parts, self.response.body().clone())),
            response_content_type: self
                .response
                .headers()
                .get(http::header::CONTENT_TYPE)
                .and_then(|value| value.to_str().ok()),
            origin: self.origin,
            note: self.note.clone(),
        })
    }
}

fn empty(status: StatusCode) -> Response<Bytes> {
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = status;
    response
}

/// The rendered answer to a request of `method`: without its body for HEAD.
fn to_response(rendered: &Rendered, method: &Method) -> Response<Bytes> {
    let head = method == Method::HEAD;
    let body = if head { Bytes::new() } else { rendered.body.clone() };
    let mut response = Response::new(body);
    if head {
        // What a GET would have sent, as RFC 9110 asks of HEAD.
        response
            .headers_mut()
            .insert(http::header::CONTENT_LENGTH, HeaderValue::from(rendered.body.len()));
    }
    *response.status_mut() = StatusCode::from_u16(rendered.status).unwrap_or(StatusCode::OK);
    if let Some(content_type) = &rendered.content_type {
        response
            .headers_mut()
            .insert(http::header::CONTENT_TYPE, content_type.clone());
    }
    response
}

fn is_preflight(parts: &Parts) -> bool {
    parts.method == Method::OPTIONS && parts.headers.contains_key(http::header::ACCESS_CONTROL_REQUEST_METHOD)
}

fn preflight(parts: &Parts, methods: &[Method]) -> Response<Bytes> {
    let mut response = empty(StatusCode::NO_CONTENT);
    let headers = response.headers_mut();
    let allowed = methods
        .iter()
        .map(Method::as_str)
        .chain(["OPTIONS"])
        .collect::<Vec<_>>()
        .join(", ");
    if let Ok(value) = HeaderValue::from_str(&allowed) {
        headers.insert(http::header::ACCESS_CONTROL_ALLOW_METHODS, value);
    }
    let requested = parts.headers.get(http::header::ACCESS_CONTROL_REQUEST_HEADERS).cloned();
    headers.insert(
        http::header::ACCESS_CONTROL_ALLOW_HEADERS,
        requested.unwrap_or_else(|| HeaderValue::from_static("*")),
    );
    headers.insert(http::header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    response
}

/// Echoes the caller's origin (so credentialed requests work) or allows any.
fn add_cors_headers(response: &mut Response<Bytes>, parts: &Parts) {
    let headers = response.headers_mut();
    match parts.headers.get(http::header::ORIGIN) {
        Some(origin) => {
            headers.insert(http::header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            headers.insert(
                http::header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
            headers.append(http::header::VARY, HeaderValue::from_static("Origin"));
        }
        None => {
            headers.insert(http::header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
        }
    }
    headers.insert(
        http::header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSED_HEADERS),
    );
}
