//! The stream side of the request path, still pure: a WebSocket handshake is
//! admitted like any request (routing, parameters, security), decided by the
//! session's scenario, and turned into the plan a connection runs. The
//! frames a plan sends are rendered here too; the socket lives in
//! `websocket/`.

use std::cell::Cell;
use std::sync::Arc;

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderMap, Method};
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::handshake;
use super::{
    add_declared_headers, announce, request_time, Admitted, App, Configuration, Entered, Entry, Handled, Stale, Wants,
};
use crate::problem::Problem;
use crate::render::Rendered;
use crate::scenario::engine::{self, Decision, Facts, Outcome, SessionState};
use crate::scenario::template::{EventView, RequestTime};
use crate::scenario::{Frame, Reaction, Scenario, Script, ScriptedBody};
use crate::session::{Event, FrameFor, SharedSession};

/// What to do with a WebSocket handshake.
pub enum Upgrade {
    /// Answer over HTTP instead (a problem, or the operation's own non-2xx answer).
    Refused(Box<Handled>),
    /// The 101 answer and everything the stream connection needs after it.
    Accepted(Box<Accepted>),
}

pub struct Accepted {
    /// The 101 response, attributed for the log line.
    pub handled: Handled,
    pub plan: StreamPlan,
}

/// Everything a stream connection needs after the handshake.
pub struct StreamPlan {
    pub session_id: String,
    pub operation_id: String,
    /// The configuration of the handshake: a script runs to its end as it
    /// was loaded, whatever reloads happen meanwhile.
    configuration: Arc<Configuration>,
    /// The operation's index in `configuration`.
    operation: usize,
    /// The handshake's path and query, for the journal.
    pub target: String,
    pub mode: StreamMode,
    /// Subscribed before the first frame was decided, so no call is missed.
    pub events: broadcast::Receiver<Arc<Event>>,
    session: SharedSession,
    query: Vec<(String, String)>,
    path: Vec<(String, String)>,
    headers: HeaderMap,
}

impl StreamPlan {
    /// The generation of the configuration the handshake read.
    pub fn generation(&self) -> u64 {
        self.configuration.generation
    }
}

/// Where a stream's frames come from: the operation's own answer kept current, or a scenario's
/// script.
pub enum StreamMode {
    /// Send the operation's answer now, then again whenever the session changes it.
    Live {
        /// The answer the operation gives at the handshake, sent first (`None`: nothing until the
        /// session changes it).
        first: Option<Outgoing>,
    },
    /// Run the scenario rule's `stream:` steps in order.
    Script(Arc<Script>),
}

/// A data frame, ready for the wire. Text is checked to be UTF-8 once, when
/// the frame is made, not again by each stream that sends it.
#[derive(Debug, Clone, Eq)]
pub enum Outgoing {
    Text(Utf8Bytes),
    Binary(Bytes),
}

impl Outgoing {
    fn of(body: &Bytes) -> Option<Self> {
        if body.is_empty() {
            return None;
        }
        Some(match Utf8Bytes::try_from(body.clone()) {
            Ok(text) => Outgoing::Text(text),
            Err(_) => Outgoing::Binary(body.clone()),
        })
    }

    fn payload(&self) -> &[u8] {
        match self {
            Outgoing::Text(text) => text.as_bytes(),
            Outgoing::Binary(bytes) => bytes,
        }
    }
}

impl PartialEq for Outgoing {
    /// A frame shared by the streams of a session is one buffer: equal
    /// without reading it.
    fn eq(&self, other: &Self) -> bool {
        let same_kind = matches!(
            (self, other),
            (Outgoing::Text(_), Outgoing::Text(_)) | (Outgoing::Binary(_), Outgoing::Binary(_))
        );
        let (mine, theirs) = (self.payload(), other.payload());
        same_kind && (std::ptr::eq(mine, theirs) || mine == theirs)
    }
}

/// A live stream's view of its session right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveFrame {
    Send(Outgoing),
    /// The answer has no body (or a script owns the stream in this state).
    Nothing,
    /// The operation no longer answers with a success: end the stream.
    Close {
        code: u16,
        reason: String,
    },
}

/// Close code for "the server met a condition it cannot handle" (RFC 6455).
pub const INTERNAL_ERROR: u16 = 1011;

impl App {
    /// Admits a WebSocket handshake to a GET operation: the same checks as an
    /// HTTP request plus RFC 6455's, then the session's scenario decides
    /// between a live stream, a script, or an HTTP answer instead.
    pub fn upgrade(&self, parts: &Parts) -> Upgrade {
        let admitted = self.in_current(|config| self.admit_upgrade(config, parts));
        let admitted = admitted.unwrap_or_else(|problem| Upgrade::Refused(Box::new(self.refused(problem, parts))));
        match admitted {
            // `handle` already named the session of another method's
            // request, and left a preflight's answer unjournaled.
            Upgrade::Refused(mut handled) if parts.method == Method::GET => {
                self.name_session(&self.configuration(), &mut handled, parts);
                Upgrade::Refused(handled)
            }
            decided => decided,
        }
    }

    fn admit_upgrade(&self, config: &Arc<Configuration>, parts: &Parts) -> Result<Upgrade, Stale> {
        if parts.method != Method::GET {
            return Ok(Upgrade::Refused(Box::new(self.handle(parts, &[]))));
        }
        let admitted = match self.admit(config, parts, &[], Wants::Stream) {
            Ok(admitted) => admitted,
            Err(refused) => return Ok(Upgrade::Refused(refused)),
        };
        let refuse = |problem: Problem, rule: Option<String>| {
            let mut handled = self.refusal(config, admitted.operation, problem, parts, Vec::new());
            handled.rule = rule;
            Ok(Upgrade::Refused(Box::new(handled)))
        };
        let accept_key = match handshake::accept_key(&parts.headers) {
            Ok(key) => key,
            Err(detail) => return refuse(Problem::bad_handshake(detail), None),
        };
        let Entered {
            session: shared,
            decision,
            changed,
            events,
            ..
        } = self.enter_session(config, &admitted, &parts.headers, Entry::Followed)?;
        let events = events.unwrap_or_else(|| shared.subscribe());
        let Admitted {
            operation,
            path,
            query,
            controls,
            violations,
            ..
        } = admitted;

        let (mode, rule, answered) = match decision {
            Some(Decision {
                rule,
                outcome: Outcome::Stream(script),
                ..
            }) => (StreamMode::Script(script), Some(rule), None),
            Some(Decision {
                rule,
                outcome: Outcome::Respond(answer),
                ..
            }) if !answer.forward => {
                if let (Some(problem), false) = (&answer.problem, self.behaviour.lenient) {
                    return refuse(Problem::invalid_scripted_response(problem.clone()), Some(rule));
                }
                if !is_success(answer.rendered.status) {
                    announce(config, &shared, operation, None, Some(&answer.rendered), changed);
                    let mut response = super::to_response(&answer.rendered, &parts.method);
                    add_declared_headers(config, &mut response, operation);
                    for (name, value) in answer.headers {
                        response.headers_mut().insert(name, value);
                    }
                    let mut handled = self.attributed(config, operation, response, violations);
                    handled.rule = Some(rule);
                    return Ok(Upgrade::Refused(Box::new(handled)));
                }
                let first = Outgoing::of(&answer.rendered.body);
                (StreamMode::Live { first }, Some(rule), Some(answer.rendered))
            }
            // `proxy: true` (which the loader keeps off WebSocket operations) scripts nothing.
            None
            | Some(Decision {
                outcome: Outcome::Respond(_),
                ..
            }) => match config.responder.default_for(&config.spec, operation) {
                Some(rendered) => {
                    if let (Some(mismatch), false) = (&rendered.schema_mismatch, self.behaviour.lenient) {
                        return refuse(Problem::unrenderable(mismatch.clone()), None);
                    }
                    let first = Outgoing::of(&rendered.body);
                    (StreamMode::Live { first }, None, Some(rendered.clone()))
                }
                None => (StreamMode::Live { first: None }, None, None),
            },
        };
        announce(config, &shared, operation, None, answered.as_ref(), changed);
        let mut handled = self.attributed(
            config,
            operation,
            handshake::switching_protocols(&accept_key),
            violations,
        );
        // No rule answered: with --upstream the stream is the upstream's.
        if rule.is_none() {
            handled.forward = self.forward(config, operation);
        }
        handled.rule = rule;
        handled.session = Some(controls.session.clone());
        let plan = StreamPlan {
            session_id: controls.session,
            operation_id: config.spec.operations[operation].id.clone(),
            configuration: config.clone(),
            operation,
            target: parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_string(),
            mode,
            events,
            session: shared,
            query,
            path,
            headers: parts.headers.clone(),
        };
        Ok(Upgrade::Accepted(Box::new(Accepted { handled, plan })))
    }

    /// What a live stream shows now: the operation's answer in its session,
    /// read without counting it as a call, from the configuration in force
    /// (the operation found by its operationId after a reload; gone: the
    /// stream closes). Built once per change and shared by the session's
    /// streams, unless it reads the stream's handshake.
    pub fn live_frame(&self, plan: &StreamPlan) -> LiveFrame {
        let framed = self.in_current(|config| {
            let operation = if config.generation == plan.configuration.generation {
                Some(plan.operation)
            } else {
                config.operation_index(&plan.operation_id)
            };
            let Some(operation) = operation else {
                return Ok(close_for(format!(
                    "operation `{}` was removed by a reload",
                    plan.operation_id
                )));
            };
            let built = plan.session.live_frame(config.generation, operation, |session| {
                config.adopt(session).ok()?;
                let made_for = if same_for_every_stream(session.scenario.as_deref(), operation) {
                    FrameFor::EveryStream
                } else {
                    FrameFor::ThisStream
                };
                Some((self.read_live_frame(config, plan, operation, session), made_for))
            });
            built.ok_or(Stale)
        });
        framed.unwrap_or_else(|problem| close_for(problem.detail))
    }

    fn read_live_frame(
        &self,
        config: &Configuration,
        plan: &StreamPlan,
        operation: usize,
        session: &mut SessionState,
    ) -> LiveFrame {
        let now = request_time();
        let facts = plan.facts(operation, &now, self.next_entropy());
        let decision = engine::peek(session, &facts);
        let rendered = match decision {
            Some(Decision {
                outcome: Outcome::Respond(answer),
                rule,
                ..
            }) if !answer.forward => match (answer.problem, self.behaviour.lenient) {
                (Some(problem), false) => return close_for(format!("{rule}: {problem}")),
                _ => answer.rendered,
            },
            Some(Decision {
                outcome: Outcome::Stream(_),
                ..
            }) => return LiveFrame::Nothing,
            // `proxy: true` scripts nothing.
            None
            | Some(Decision {
                outcome: Outcome::Respond(_),
                ..
            }) => match config.responder.default_for(&config.spec, operation) {
                Some(rendered) => rendered.clone(),
                None => return LiveFrame::Nothing,
            },
        };
        if !is_success(rendered.status) {
            return close_for(format!("the operation now answers {}", rendered.status));
        }
        match Outgoing::of(&rendered.body) {
            Some(frame) => LiveFrame::Send(frame),
            None => LiveFrame::Nothing,
        }
    }

    /// A scripted frame, rendered from the session's store (and the call an
    /// `on:` step waited for); `Err` says why a templated frame breaks the
    /// operation's schema (sent anyway with `--lenient`).
    pub fn script_frame(&self, plan: &StreamPlan, frame: &Frame, event: Option<&Event>) -> Result<Outgoing, String> {
        let body = match frame {
            Frame::Binary(bytes) => return Ok(Outgoing::Binary(bytes.clone())),
            Frame::Text(ScriptedBody::Ready(rendered)) => return Ok(text_of(rendered)),
            Frame::Text(ScriptedBody::Template { body, media }) => (body, media),
        };
        let (template, media) = body;
        let status = media_status(&plan.configuration, plan.operation);
        let now = request_time();
        let facts = plan.facts(plan.operation, &now, self.next_entropy());
        let response = event
            .and_then(|event| event.response.as_ref())
            .and_then(Rendered::value);
        let view = event.map(|event| EventView {
            request: event.request.as_deref(),
            response: response.as_ref(),
        });
        let uuid_state = Cell::new(facts.entropy);
        let label = match &plan.mode {
            StreamMode::Script(script) => script.label.as_str(),
            StreamMode::Live { .. } => "the stream",
        };
        let session = plan.session.lock();
        let (rendered, problem) = engine::render_frame(
            engine::TemplateToRender {
                body: template,
                media: media.as_ref(),
                status,
                label,
            },
            &facts,
            &session.store,
            view.as_ref(),
            &uuid_state,
        );
        drop(session);
        match (problem, self.behaviour.lenient) {
            (Some(problem), false) => Err(problem),
            _ => Ok(text_of(&rendered)),
        }
    }
}

impl StreamPlan {
    /// The operationId a script's `on:` step waits for, as loaded with it.
    pub fn operation_of_script(&self, operation: usize) -> &str {
        &self.configuration.spec.operations[operation].id
    }

    fn facts<'a>(&'a self, operation: usize, now: &'a RequestTime, entropy: u64) -> Facts<'a> {
        Facts {
            operation,
            body: None,
            query: &self.query,
            headers: &self.headers,
            path: &self.path,
            now,
            entropy,
        }
    }
}

/// Whether every live stream of `operation` sees the same frame: no rule
/// answering it matches on the handshake (query, headers, path), and each
/// of its bodies and headers reads nothing but the store (not the
/// handshake, the clock or a fresh UUID, which differ per stream).
fn same_for_every_stream(scenario: Option<&Scenario>, operation: usize) -> bool {
    let rules = scenario.iter().flat_map(|scenario| &scenario.rules);
    rules.filter(|rule| rule.operation == operation).all(|rule| {
        let responses = match &rule.reaction {
            Reaction::Respond { responses, .. } => responses.as_slice(),
            // A script owns the stream here: a live stream shows nothing.
            Reaction::Stream(_) => &[],
        };
        rule.query.is_empty()
            && rule.headers.is_empty()
            && rule.path.is_empty()
            && responses.iter().all(|response| {
                let body = match &response.body {
                    ScriptedBody::Ready(_) => true,
                    ScriptedBody::Template { body, .. } => body.reads_only_store(),
                };
                body && response.headers.iter().all(|(_, value)| value.reads_only_store())
            })
    })
}

fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}

fn close_for(reason: String) -> LiveFrame {
    LiveFrame::Close {
        code: INTERNAL_ERROR,
        reason,
    }
}

/// A scripted text frame; an empty one is still a frame.
fn text_of(rendered: &Rendered) -> Outgoing {
    Outgoing::of(&rendered.body).unwrap_or(Outgoing::Text(Utf8Bytes::default()))
}

/// The status whose schema frames follow: the operation's success response.
fn media_status(config: &Configuration, operation: usize) -> u16 {
    config.spec.operations[operation]
        .default_response()
        .map_or(200, |r| r.status.representative())
}
