//! Errors the mock makes itself, as RFC 9457 problem details. Each class has
//! its own `type`, and `X-Mock-Origin` says which stage spoke, so a client
//! test can always tell a mock error from a scripted 500.

use bytes::Bytes;
use serde_json::{json, Map, Value};

use crate::validate::{Rejection, Violation};

/// The media type of every problem the mock answers with itself (RFC 9457).
pub const CONTENT_TYPE: &str = "application/problem+json";
/// Names the stage of the mock that answered with a problem, so a client can tell a mock error from
/// the API's own.
pub const ORIGIN_HEADER: &str = "x-mock-origin";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Router,
    Validator,
    Renderer,
    Scenario,
    Admin,
    /// The server's own limits (too many streams).
    Server,
    /// The proxy could not get the upstream's answer (`--upstream`).
    Proxy,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Router => "router",
            Origin::Validator => "validator",
            Origin::Renderer => "renderer",
            Origin::Scenario => "scenario",
            Origin::Admin => "admin",
            Origin::Server => "server",
            Origin::Proxy => "proxy",
        }
    }
}

/// A class of problem: its `type`, title, and the stage that reports it.
#[derive(Debug)]
pub struct ProblemType {
    /// The last part of the `type` URN: `route-not-found`, `invalid-request` ...
    pub class: &'static str,
    pub title: &'static str,
    pub origin: Origin,
}

#[derive(Debug, Clone)]
pub struct Problem {
    pub status: u16,
    pub kind: &'static ProblemType,
    pub detail: String,
    pub violations: Vec<Violation>,
    /// Class-specific members (`closest_paths`, `allowed_methods` ...), boxed
    /// because an order-keeping map would make every `Result<_, Problem>` large.
    pub extra: Box<Map<String, Value>>,
    /// Extra response headers (`Allow`, `WWW-Authenticate`).
    pub headers: Vec<(&'static str, String)>,
}

impl Problem {
    fn new(status: u16, kind: &'static ProblemType, detail: String) -> Self {
        Self {
            status,
            kind,
            detail,
            violations: Vec::new(),
            extra: Box::default(),
            headers: Vec::new(),
        }
    }

    pub fn not_found(path: &str, closest: Vec<String>) -> Self {
        let hint = match closest.first() {
            Some(best) => format!("; closest known path: {best}"),
            None => String::new(),
        };
        let mut problem = Self::new(
            404,
            &ProblemType {
                class: "route-not-found",
                title: "No such path in the spec",
                origin: Origin::Router,
            },
            format!("no path in the spec matches `{path}`{hint}"),
        );
        problem.extra.insert("closest_paths".into(), json!(closest));
        problem
    }

    pub fn method_not_allowed(method: &str, path: &str, allowed: &[String]) -> Self {
        let list = allowed.join(", ");
        let mut problem = Self::new(
            405,
            &ProblemType {
                class: "method-not-allowed",
                title: "Method not allowed",
                origin: Origin::Router,
            },
            format!("`{path}` does not accept {method}; it accepts {list}"),
        );
        problem.extra.insert("allowed_methods".into(), json!(allowed));
        problem.headers.push(("allow", list));
        problem
    }

    pub fn payload_too_large(limit: usize) -> Self {
        let mut problem = Self::new(
            413,
            &ProblemType {
                class: "payload-too-large",
                title: "Request body too large",
                origin: Origin::Validator,
            },
            format!("the request body exceeds the limit of {limit} bytes (--max-body)"),
        );
        problem.extra.insert("max_body_bytes".into(), json!(limit));
        problem
    }

    /// A plain request to an operation that only speaks WebSocket.
    pub fn upgrade_required(operation: &str, why: &str) -> Self {
        let mut problem = Self::new(
            426,
            &ProblemType {
                class: "upgrade-required",
                title: "WebSocket upgrade required",
                origin: Origin::Router,
            },
            format!("`{operation}` {why}: connect with a WebSocket client (ws://, with the upgrade headers)"),
        );
        problem.headers.push(("upgrade", "websocket".into()));
        problem.headers.push(("connection", "upgrade".into()));
        problem
    }

    /// `--upstream` could not be reached, or broke off its answer.
    pub fn upstream_unreachable(upstream: &str, why: &str) -> Self {
        let mut problem = Self::new(
            502,
            &ProblemType {
                class: "upstream-unreachable",
                title: "The upstream gave no answer",
                origin: Origin::Proxy,
            },
            format!("no answer from the upstream {upstream}: {why}"),
        );
        problem.extra.insert("upstream".into(), json!(upstream));
        problem
    }

    /// `--upstream` did not answer within `--upstream-timeout`.
    pub fn upstream_timeout(upstream: &str, timeout: std::time::Duration) -> Self {
        let mut problem = Self::new(
            504,
            &ProblemType {
                class: "upstream-timeout",
                title: "The upstream did not answer in time",
                origin: Origin::Proxy,
            },
            format!(
                "no complete answer from the upstream {upstream} within {} ms (--upstream-timeout)",
                timeout.as_millis()
            ),
        );
        problem.extra.insert("upstream".into(), json!(upstream));
        problem
    }

    /// A WebSocket handshake RFC 6455 does not allow.
    pub fn bad_handshake(detail: String) -> Self {
        let mut problem = Self::new(
            400,
            &ProblemType {
                class: "invalid-websocket-handshake",
                title: "Invalid WebSocket handshake",
                origin: Origin::Validator,
            },
            detail,
        );
        problem.headers.push(("sec-websocket-version", "13".into()));
        problem
    }

    pub fn too_many_connections(limit: usize) -> Self {
        let mut problem = Self::new(
            503,
            &ProblemType {
                class: "too-many-connections",
                title: "Too many connections",
                origin: Origin::Server,
            },
            format!("{limit} connections are open, the most allowed (--max-connections); retry after one closes"),
        );
        problem.extra.insert("max_connections".into(), json!(limit));
        problem
    }

    pub fn too_many_feeds(limit: usize) -> Self {
        let mut problem = Self::new(
            503,
            &ProblemType {
                class: "too-many-feeds",
                title: "Too many journal feeds",
                origin: Origin::Admin,
            },
            format!("{limit} journal feeds are open, the most allowed; retry after one closes"),
        );
        problem.headers.push(("retry-after", "1".into()));
        problem
    }

    pub fn too_many_streams(limit: usize) -> Self {
        let mut problem = Self::new(
            503,
            &ProblemType {
                class: "too-many-streams",
                title: "Too many WebSocket streams",
                origin: Origin::Server,
            },
            format!("{limit} WebSocket streams are open, the most allowed (--max-streams); retry after one closes"),
        );
        problem.headers.push(("retry-after", "1".into()));
        problem.extra.insert("max_streams".into(), json!(limit));
        problem
    }

    /// A request that met a session mapped to a newer configuration each
    /// time it started over: reloads kept swapping in while it was answered.
    pub fn configuration_changing(attempts: usize) -> Self {
        let mut problem = Self::new(
            503,
            &ProblemType {
                class: "configuration-changing",
                title: "The configuration kept changing",
                origin: Origin::Server,
            },
            format!("the configuration was reloaded under this request {attempts} times in a row; send it again"),
        );
        problem.headers.push(("retry-after", "1".into()));
        problem
    }

    /// `POST /__mock/reload` with inputs that do not load: the last good
    /// configuration stays in force.
    pub fn reload_failed(detail: String, extra: Map<String, Value>) -> Self {
        let mut problem = Self::new(
            422,
            &ProblemType {
                class: "reload-failed",
                title: "The changed files do not load",
                origin: Origin::Admin,
            },
            detail,
        );
        problem.extra = Box::new(extra);
        problem
    }

    pub fn bad_request_target(violation: Violation) -> Self {
        let mut problem = Self::new(
            400,
            &ProblemType {
                class: "invalid-request",
                title: "The request breaks the contract",
                origin: Origin::Validator,
            },
            violation.message.clone(),
        );
        problem.violations.push(violation);
        problem
    }

    /// The mock cannot produce a body its own spec allows: say so rather
    /// than send one that contradicts the contract.
    pub fn unrenderable(detail: String) -> Self {
        Self::new(
            500,
            &ProblemType {
                class: "unrenderable-response",
                title: "No valid response body",
                origin: Origin::Renderer,
            },
            detail,
        )
    }

    /// A templated scenario body that breaks the response schema: in strict
    /// mode the mock says so rather than send it.
    pub fn invalid_scripted_response(detail: String) -> Self {
        Self::new(
            500,
            &ProblemType {
                class: "invalid-scripted-response",
                title: "A scenario rendered an invalid response",
                origin: Origin::Scenario,
            },
            detail,
        )
    }

    pub fn admin_forbidden(detail: &str) -> Self {
        Self::new(
            403,
            &ProblemType {
                class: "admin-forbidden",
                title: "Admin API not allowed",
                origin: Origin::Admin,
            },
            detail.to_string(),
        )
    }

    pub fn admin_not_found(method: &str, path: &str) -> Self {
        Self::new(404, &ProblemType { class: "admin-route-not-found", title: "No such admin route", origin: Origin::Admin },
            format!(
                "no admin route {method} {path}; there are GET /__mock/scenarios, GET /__mock/sessions, GET /__mock/sessions/ID, PUT /__mock/sessions/ID/scenario, POST /__mock/sessions/ID/reset, GET /__mock/sessions/ID/scenario, POST /__mock/sessions/ID/record, GET|DELETE /__mock/journal, GET /__mock/journal/events, POST /__mock/verify, GET /__mock/violations, GET /__mock/status, GET /__mock/openapi.json, GET /__mock/ui"
            ),
        )
    }

    /// A verification that does not hold: the verdict's fields ride along.
    pub fn verification_failed(verdict: &crate::expected_calls::Verdict, extra: Map<String, Value>) -> Self {
        let mut problem = Self::new(
            417,
            &ProblemType {
                class: "verification-failed",
                title: "The expected calls were not made",
                origin: Origin::Admin,
            },
            verdict.explanation(),
        );
        problem.extra = Box::new(extra);
        problem
    }

    /// `GET /__mock/sessions/{id}` for a session no request or admin call has named.
    pub fn unknown_session(id: &str) -> Self {
        let mut problem = Self::new(
            404,
            &ProblemType {
                class: "unknown-session",
                title: "No such session",
                origin: Origin::Admin,
            },
            format!(
                "no request, handshake or admin call has named session `{id}`, or it expired (unused for an hour) and was forgotten; check the client's X-Mock-Session"
            ),
        );
        problem.extra.insert("session".into(), json!(id));
        problem
    }

    /// An admin request whose body is not declared JSON: a web page's form
    /// cannot send `application/json` without a CORS preflight.
    pub fn admin_not_json(content_type: Option<&str>) -> Self {
        let sent = content_type.map_or_else(|| "no Content-Type".to_string(), |t| format!("`{t}`"));
        Self::new(
            415,
            &ProblemType {
                class: "admin-unsupported-media-type",
                title: "Admin request body is not declared JSON",
                origin: Origin::Admin,
            },
            format!("this admin route takes `Content-Type: application/json`; the request sent {sent}"),
        )
    }

    /// `POST /__mock/sessions/{id}/record` on a mock started without `--record DIR`.
    pub fn not_recording() -> Self {
        Self::new(
            409,
            &ProblemType {
                class: "not-recording",
                title: "Not recording",
                origin: Origin::Admin,
            },
            "the mock was started without --record DIR: there is nowhere to write; GET /__mock/sessions/ID/scenario answers the recording instead".to_string(),
        )
    }

    /// A recording's file could not be written.
    pub fn recording_not_written(detail: String) -> Self {
        Self::new(
            500,
            &ProblemType {
                class: "recording-not-written",
                title: "The recording could not be written",
                origin: Origin::Admin,
            },
            detail,
        )
    }

    pub fn admin_bad_request(detail: &str) -> Self {
        Self::new(
            400,
            &ProblemType {
                class: "admin-bad-request",
                title: "Bad admin request",
                origin: Origin::Admin,
            },
            detail.to_string(),
        )
    }

    pub fn unknown_scenario(name: &str, known: &[&str]) -> Self {
        let mut problem = Self::new(
            400,
            &ProblemType {
                class: "unknown-scenario",
                title: "No such scenario",
                origin: Origin::Scenario,
            },
            format!("there is no scenario `{name}`; known: {}", known.join(", ")),
        );
        problem.extra.insert("known_scenarios".into(), json!(known));
        problem
    }

    /// `Prefer: code=N` for a status the operation does not declare.
    pub fn undeclared_status(operation: &str, code: &str, declared: &[String]) -> Self {
        let mut problem = Self::new(
            400,
            &ProblemType {
                class: "undeclared-status",
                title: "Status not declared for this operation",
                origin: Origin::Scenario,
            },
            format!(
                "`{operation}` does not declare status `{code}`; it declares {}",
                declared.join(", ")
            ),
        );
        problem.extra.insert("declared_statuses".into(), json!(declared));
        problem
    }

    pub fn unknown_example(operation: &str, status: u16, name: &str, known: &[&str]) -> Self {
        let mut problem = Self::new(
            400,
            &ProblemType {
                class: "unknown-example",
                title: "No such example",
                origin: Origin::Scenario,
            },
            format!(
                "`{operation}` status {status} has no example `{name}`; it has: {}",
                known.join(", ")
            ),
        );
        problem.extra.insert("known_examples".into(), json!(known));
        problem
    }

    pub fn no_content(operation: &str, status: u16) -> Self {
        Self::new(
            400,
            &ProblemType {
                class: "no-content",
                title: "Nothing to choose from",
                origin: Origin::Scenario,
            },
            format!("`{operation}` status {status} declares no content, so there is no example or data to choose"),
        )
    }

    pub fn from_rejection(rejection: Rejection) -> Self {
        match rejection {
            Rejection::Unauthorized { challenge, detail } => {
                let mut problem = Self::new(
                    401,
                    &ProblemType {
                        class: "unauthorized",
                        title: "Credentials required",
                        origin: Origin::Validator,
                    },
                    detail,
                );
                problem.headers.push(("www-authenticate", challenge));
                problem
            }
            Rejection::UnsupportedMediaType { detail, supported } => {
                let mut problem = Self::new(
                    415,
                    &ProblemType {
                        class: "unsupported-media-type",
                        title: "Unsupported media type",
                        origin: Origin::Validator,
                    },
                    detail,
                );
                problem.extra.insert("supported_media_types".into(), json!(supported));
                problem
            }
            Rejection::MalformedBody { detail, violations } => {
                let mut problem = Self::new(
                    400,
                    &ProblemType {
                        class: "malformed-body",
                        title: "The request body is not well-formed",
                        origin: Origin::Validator,
                    },
                    detail,
                );
                problem.violations = violations;
                problem
            }
            Rejection::Invalid { violations, .. } => {
                let detail = match violations.as_slice() {
                    [only] => format!("{}: {}", only.pointer, only.message),
                    many => format!("{} violations of the spec; see `violations`", many.len()),
                };
                let mut problem = Self::new(
                    400,
                    &ProblemType {
                        class: "invalid-request",
                        title: "The request breaks the contract",
                        origin: Origin::Validator,
                    },
                    detail,
                );
                problem.violations = violations;
                problem
            }
        }
    }

    pub fn type_uri(&self) -> String {
        format!("urn:specmock:problem:{}", self.kind.class)
    }

    /// The problem+json body; `instance` is the request target.
    pub fn body(&self, instance: &str) -> Bytes {
        let mut body = Map::new();
        body.insert("type".into(), json!(self.type_uri()));
        body.insert("title".into(), json!(self.kind.title));
        body.insert("status".into(), json!(self.status));
        body.insert("detail".into(), json!(self.detail));
        body.insert("instance".into(), json!(instance));
        if !self.violations.is_empty() {
            body.insert("violations".into(), json!(self.violations));
        }
        body.extend(self.extra.as_ref().clone());
        crate::render::json_body(&Value::Object(body))
    }
}
