//! The request path as one pure function: route, validate, decide, render.
//! It takes the parts of a request and answers a response; the network lives
//! in `server.rs`, so everything here is testable without a socket.

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::request::Parts;
use http::{Method, Response, StatusCode};

use crate::diagnostic::Diagnostic;
use crate::fixtures::Fixtures;
use crate::problem::{self, Problem};
use crate::render::{Rendered, Responder};
use crate::spec::router::RouteMatch;
use crate::spec::Spec;
use crate::validate::{self, ParamSources, RequestView, Violation};

/// How the request path behaves.
#[derive(Debug, Clone)]
pub struct Behaviour {
    /// Serve the normal response even when a request breaks the contract;
    /// the violations are logged and counted in `X-Mock-Violations`.
    pub lenient: bool,
    /// Answer CORS preflights and add `Access-Control-Allow-*` headers.
    pub cors: bool,
}

impl Default for Behaviour {
    fn default() -> Self {
        Self {
            lenient: false,
            cors: true,
        }
    }
}

pub struct App {
    pub spec: Spec,
    responder: Responder,
    behaviour: Behaviour,
}

/// A response plus what the log line needs to know about it.
pub struct Handled {
    pub response: Response<Bytes>,
    pub operation: Option<String>,
    pub violations: Vec<Violation>,
}

const EXPOSED_HEADERS: &str = "x-mock-origin, x-mock-violations";

impl App {
    /// Renders every default body once; returns the warnings an operator should see.
    pub fn new(
        spec: Spec,
        fixtures: &Fixtures,
        seed: u64,
        behaviour: Behaviour,
    ) -> Result<(Self, Vec<String>), Diagnostic> {
        let mut warnings = Vec::new();
        let responder = Responder::build(&spec, fixtures, seed, &mut warnings)?;
        Ok((
            Self {
                spec,
                responder,
                behaviour,
            },
            warnings,
        ))
    }

    pub fn handle(&self, parts: &Parts, body: &[u8]) -> Handled {
        let mut handled = self.route_and_answer(parts, body);
        if self.behaviour.cors {
            add_cors_headers(&mut handled.response, parts);
        }
        handled
    }

    fn route_and_answer(&self, parts: &Parts, body: &[u8]) -> Handled {
        let path = parts.uri.path();
        if self.behaviour.cors && is_preflight(parts) {
            if let Some(methods) = self.spec.router.methods_at(path) {
                return unattributed(preflight(parts, &methods));
            }
        }
        let (operation_index, path_params) = match self.spec.router.find(&parts.method, path) {
            RouteMatch::Found { operation, params } => (operation, params),
            RouteMatch::MethodNotAllowed { allowed } => {
                let allowed: Vec<String> = allowed.iter().map(Method::to_string).collect();
                return unattributed(self.problem(
                    Problem::method_not_allowed(parts.method.as_str(), path, &allowed),
                    parts,
                ));
            }
            RouteMatch::NotFound { closest } => {
                return unattributed(self.problem(Problem::not_found(path, closest), parts))
            }
        };
        let operation = &self.spec.operations[operation_index];
        let attribute = |response, violations| Handled {
            response,
            operation: Some(operation.id.clone()),
            violations,
        };

        let query = match crate::uri::parse_query(parts.uri.query().unwrap_or("")) {
            Ok(query) => query,
            Err(e) => {
                let problem =
                    Problem::bad_request_target(Violation::new("/query", "encoding", format!("query string: {e}")));
                let violations = problem.violations.clone();
                return attribute(self.problem(problem, parts), violations);
            }
        };
        let view = RequestView {
            params: ParamSources {
                path: &path_params,
                query: &query,
                headers: &parts.headers,
            },
            headers: &parts.headers,
            body,
        };
        let violations = match validate::request(operation, &view) {
            Ok(_accepted) => Vec::new(),
            Err(rejection) if self.behaviour.lenient => rejection.violations(),
            Err(rejection) => {
                let violations = rejection.violations();
                return attribute(self.problem(Problem::from_rejection(rejection), parts), violations);
            }
        };
        let Some(rendered) = self.responder.default_for(&self.spec, operation_index) else {
            return attribute(empty(StatusCode::NO_CONTENT), violations);
        };
        if let (Some(mismatch), false) = (&rendered.schema_mismatch, self.behaviour.lenient) {
            return attribute(self.problem(Problem::unrenderable(mismatch.clone()), parts), violations);
        }
        let mut response = to_response(rendered, parts.method == Method::HEAD);
        if self.behaviour.lenient && !violations.is_empty() {
            response
                .headers_mut()
                .insert("x-mock-violations", HeaderValue::from(violations.len()));
        }
        attribute(response, violations)
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
            HeaderValue::from_static(problem.origin.as_str()),
        );
        for (name, value) in &problem.headers {
            if let Ok(value) = HeaderValue::from_str(value) {
                headers.insert(HeaderName::from_static(name), value);
            }
        }
        response
    }

    /// Adds CORS headers to a response built outside `handle` (the 413).
    pub fn finish(&self, response: &mut Response<Bytes>, parts: &Parts) {
        if self.behaviour.cors {
            add_cors_headers(response, parts);
        }
    }
}

fn unattributed(response: Response<Bytes>) -> Handled {
    Handled {
        response,
        operation: None,
        violations: Vec::new(),
    }
}

fn empty(status: StatusCode) -> Response<Bytes> {
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = status;
    response
}

fn to_response(rendered: &Rendered, head: bool) -> Response<Bytes> {
    let body = if head { Bytes::new() } else { rendered.body.clone() };
    let mut response = Response::new(body);
    if head {
        // What a GET would have sent, as RFC 9110 asks of HEAD.
        response
            .headers_mut()
            .insert(http::header::CONTENT_LENGTH, HeaderValue::from(rendered.body.len()));
    }
    *response.status_mut() = StatusCode::from_u16(rendered.status).unwrap_or(StatusCode::OK);
    if let Some(content_type) = rendered
        .content_type
        .as_deref()
        .and_then(|c| HeaderValue::from_str(c).ok())
    {
        response.headers_mut().insert(http::header::CONTENT_TYPE, content_type);
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
