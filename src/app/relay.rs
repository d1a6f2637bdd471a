//! The proxy's decisions, pure like the rest of the core: which request
//! goes upstream (one no scenario rule answers, with `--upstream`), and
//! what the client gets back: the upstream's answer unchanged, judged
//! against the spec as `verify` judges one, its violations charged to the
//! provider; or the mock's own 502/504 when there was no answer.

use std::sync::Arc;

use bytes::Bytes;
use http::header::HeaderValue;
use http::request::Parts;
use http::{Response, StatusCode};

use super::{add_cors_headers, App, Behaviour, Configuration, Handled};
use crate::journal::Origin;
use crate::problem::{Problem, ORIGIN_HEADER};
use crate::provider::client::Answer;
use crate::provider::conformance::{answer_violations, data_frame_violations, DataFrame};
use crate::proxy::{decoded, Decoded, Failure, Upstream};
use crate::spec::Operation;
use crate::validate::Violation;

/// A request that passed validation and goes upstream.
#[derive(Clone)]
pub struct Forward {
    pub upstream: Arc<Upstream>,
    /// The configuration the request was admitted under, and its operation:
    /// what the answer is judged against.
    config: Arc<Configuration>,
    operation: usize,
}

/// What breaks the spec in `answer`, its body judged as decoded from its
/// `Content-Encoding` (and left as it came); and why the body was not
/// judged, when it was not.
fn provider_violations(
    operation: &Operation,
    parts: &Parts,
    answer: &mut Answer,
    max_body: usize,
) -> (Vec<Violation>, Option<String>) {
    let sent = std::mem::take(&mut answer.body);
    let (mut unjudged, mut broken) = (None, None);
    answer.body = match decoded(&answer.headers, &sent, max_body) {
        Decoded::Body(body) => body,
        Decoded::Unjudged(why) => {
            unjudged = Some(why);
            Bytes::new()
        }
        Decoded::Broken(why) => {
            broken = Some(Violation::new("/body", "content-encoding", why));
            Bytes::new()
        }
    };
    // A handshake the upstream answered 2xx broke the stream's contract, as `verify` says too.
    let websocket = super::handshake::is_upgrade_request(&parts.headers);
    let mut violations = answer_violations(operation, &parts.method, websocket, answer);
    if unjudged.is_some() || broken.is_some() {
        violations.retain(|violation| !violation.pointer.starts_with("/body"));
    }
    violations.extend(broken);
    answer.body = sent;
    let violations = violations.into_iter().map(Violation::by_provider).collect();
    (violations, unjudged)
}

/// Lets a browser read `X-Mock-Origin` where the upstream already lists
/// the headers it may read.
fn expose_origin_header(headers: &mut http::HeaderMap) {
    let listed = headers
        .get(http::header::ACCESS_CONTROL_EXPOSE_HEADERS)
        .and_then(|value| value.to_str().ok());
    let Some(listed) = listed else {
        return;
    };
    let named = listed
        .split(',')
        .any(|name| name.trim() == "*" || name.trim().eq_ignore_ascii_case(ORIGIN_HEADER));
    if !named {
        if let Ok(value) = HeaderValue::from_str(&format!("{listed}, {ORIGIN_HEADER}")) {
            headers.insert(http::header::ACCESS_CONTROL_EXPOSE_HEADERS, value);
        }
    }
}

/// `X-Mock-Origin` on a relayed answer: the upstream spoke, not the mock.
const RELAYED: &str = "upstream";

impl Forward {
    /// The request's path as the upstream takes it: without the base path
    /// of the operation's spec (the router takes a path with or without
    /// it), for `--upstream`'s own base to go before.
    pub fn path<'a>(&self, path: &'a str) -> &'a str {
        let spec = &self.config.spec;
        spec.document_of(&spec.operations[self.operation])
            .base_paths
            .iter()
            .filter(|base| !base.is_empty())
            .filter_map(|base| path.strip_prefix(base.as_str()))
            .filter(|rest| rest.is_empty() || rest.starts_with('/'))
            .min_by_key(|rest| rest.len())
            .unwrap_or(path)
    }

    /// A data frame the upstream sent on a relayed stream, against the
    /// stream's message schema; its violations are the provider's.
    pub fn frame_violations(&self, frame: DataFrame<'_>) -> Vec<Violation> {
        let operation = &self.config.spec.operations[self.operation];
        let Some(declared) = operation.default_response() else {
            return Vec::new();
        };
        data_frame_violations(declared, frame)
            .into_iter()
            .map(Violation::by_provider)
            .collect()
    }
}

impl Behaviour {
    /// With `--upstream` and no `--scenario`, sessions start in no
    /// scenario: `default` stands in for the real server, which is there
    /// to answer for itself.
    pub(crate) fn settle_start(&self, configuration: &mut Configuration, named: bool) {
        if self.upstream.is_some() && !named {
            configuration.start_with = None;
        }
    }
}

impl App {
    /// The start-up line of `--upstream`: how many operations go upstream,
    /// and which ones the start scenario answers instead.
    pub fn upstream_summary(&self) -> Option<String> {
        let upstream = self.behaviour.upstream.as_ref()?;
        let config = self.configuration();
        let total = config.spec.operations.len();
        let Some(start) = config.start_with.as_deref() else {
            return Some(format!(
                "--upstream {}: all {total} operations go upstream (sessions start in no scenario)",
                upstream.url()
            ));
        };
        let answered: std::collections::BTreeSet<usize> = start.rules.iter().map(|rule| rule.operation).collect();
        let names: Vec<&str> = answered
            .iter()
            .map(|&operation| config.spec.operations[operation].id.as_str())
            .collect();
        Some(format!(
            "--upstream {}: {} of {total} operations go upstream; scenario `{}` answers {}",
            upstream.url(),
            total - answered.len(),
            start.name,
            match names.is_empty() {
                true => "none".to_string(),
                false => names.join(", "),
            }
        ))
    }

    pub(crate) fn forward(&self, config: &Arc<Configuration>, operation: usize) -> Option<Forward> {
        let upstream = self.behaviour.upstream.clone()?;
        Some(Forward {
            upstream,
            config: config.clone(),
            operation,
        })
    }

    /// What the client gets for a forwarded request, given what came back;
    /// a compressed body is judged decoded, within `max_body` bytes.
    pub fn relay(
        &self,
        parts: &Parts,
        mut handled: Handled,
        forward: Forward,
        outcome: Result<Answer, Failure>,
        max_body: usize,
    ) -> Handled {
        let mut answer = match outcome {
            Ok(answer) => answer,
            Err(failure) => {
                let url = forward.upstream.url();
                let problem = match failure {
                    Failure::Unreachable(why) => Problem::upstream_unreachable(url, &why),
                    Failure::Timeout(after) => Problem::upstream_timeout(url, after),
                };
                handled.response = self.problem(problem, parts);
                handled.refused = true;
                return self.finish(parts, handled);
            }
        };
        let operation = &forward.config.spec.operations[forward.operation];
        let (judged, unjudged) = provider_violations(operation, parts, &mut answer, max_body);
        handled.violations.extend(judged);
        handled.note = handled.note.or(unjudged);
        let mut response = Response::new(answer.body);
        *response.status_mut() = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_GATEWAY);
        *response.headers_mut() = answer.headers;
        response
            .headers_mut()
            .insert(ORIGIN_HEADER, HeaderValue::from_static(RELAYED));
        handled.response = response;
        handled.origin = Some(Origin::Upstream);
        self.finish(parts, handled)
    }

    /// The upstream accepted a WebSocket handshake: the client gets the
    /// mock's 101 with the upstream's `headers` (its subprotocol, its
    /// cookies), said to be the upstream's, and the frames are relayed.
    pub fn relay_stream(&self, mut handled: Handled, headers: http::HeaderMap) -> Handled {
        let response = handled.response.headers_mut();
        response.extend(headers);
        response.insert(ORIGIN_HEADER, HeaderValue::from_static(RELAYED));
        handled.origin = Some(Origin::Upstream);
        handled
    }

    /// The headers every answer of the mock carries: CORS, and the count
    /// of the client's violations under `--lenient`.
    fn finish(&self, parts: &Parts, mut handled: Handled) -> Handled {
        let client = handled.violations.iter().filter(|v| v.side.is_client()).count();
        if self.behaviour.lenient && client > 0 {
            handled
                .response
                .headers_mut()
                .insert("x-mock-violations", HeaderValue::from(client));
        }
        let headers = handled.response.headers_mut();
        match headers.get(http::header::ACCESS_CONTROL_ALLOW_ORIGIN) {
            // The upstream's own CORS answer stands; the mock's header is only made readable.
            Some(_) => expose_origin_header(headers),
            None if self.behaviour.cors => add_cors_headers(&mut handled.response, parts),
            None => {}
        }
        handled
    }
}
