//! The control API under `/__mock/`: scenarios and sessions, the journal,
//! verifications and violations, the mock's status, and its own OpenAPI
//! document. Who may use it is `access.rs`'s to say.
//!
//! One way in, [`handle`]: a request is admitted, read as a `Route`, and
//! answered by the module of that route, each with the [`App`] it reads.

mod access;
mod feed;
mod journal;
mod openapi;
mod recording;
mod reload;
mod scenarios;
pub(crate) mod sessions;
mod status;
mod ui;
pub(crate) mod verify;
mod violations;

pub use access::Peer;
pub use feed::{admit as journal_feed, head as feed_head, Events as FeedEvents, Feed, KEEP_ALIVE};
pub use openapi::ADMIN_OPENAPI;

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderValue, Method, Response, StatusCode};
use serde_json::Value;

use crate::app::App;
use crate::control::PREFIX;
use crate::problem::Problem;

/// Answers an admin request, or a problem.
pub fn handle(app: &App, parts: &Parts, body: &[u8]) -> Response<Bytes> {
    let behaviour = app.behaviour();
    let path = parts.uri.path().strip_prefix(PREFIX).unwrap_or("");
    let page_file = parts.method == Method::GET && ui::names_asset(path);
    let admit = if page_file { access::admit_page } else { access::admit };
    if let Err(problem) = admit(parts, behaviour.control_token.as_deref(), &behaviour.control_hosts) {
        return app.problem(problem, parts);
    }
    let decoded = match segments(parts.uri.path()) {
        Ok(decoded) => decoded,
        Err(error) => return app.problem(Problem::admin_bad_request(&format!("the admin path: {error}")), parts),
    };
    let segments: Vec<&str> = decoded.iter().map(String::as_str).collect();
    let answer = match Route::of(&parts.method, &segments) {
        Some(route) => route.apply(app, parts, body),
        None => Err(Problem::admin_not_found(parts.method.as_str(), parts.uri.path())),
    };
    answer.unwrap_or_else(|problem| app.problem(problem, parts))
}

/// Whether a request asks for a reload, which reads files, or for what
/// writes or builds a recording (a reset, a scenario put, a flush, an
/// export), however its path is percent-encoded: the server runs it where
/// blocking holds up no other request.
pub fn blocks(method: &Method, path: &str) -> bool {
    let Ok(segments) = segments(path) else { return false };
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    Route::of(method, &segments).is_some_and(|route| route.blocks())
}

/// An admin request, by its method and decoded path segments.
enum Route<'a> {
    OpenApi,
    /// The page, by the segments after `ui`.
    Ui(&'a [&'a str]),
    Journal,
    ClearJournal,
    Verify,
    Violations,
    Status,
    Reload,
    Scenarios,
    Sessions,
    Session(&'a str),
    PutScenario(&'a str),
    Reset(&'a str),
    Export(&'a str),
    Record(&'a str),
}

impl<'a> Route<'a> {
    fn of(method: &Method, segments: &'a [&'a str]) -> Option<Self> {
        Some(match (method, segments) {
            (&Method::GET, ["openapi.json"]) => Self::OpenApi,
            (&Method::GET, ["ui", asset @ ..]) => Self::Ui(asset),
            (&Method::GET, ["journal"]) => Self::Journal,
            (&Method::DELETE, ["journal"]) => Self::ClearJournal,
            (&Method::POST, ["verify"]) => Self::Verify,
            (&Method::GET, ["violations"]) => Self::Violations,
            (&Method::GET, ["status"]) => Self::Status,
            (&Method::POST, ["reload"]) => Self::Reload,
            (&Method::GET, ["scenarios"]) => Self::Scenarios,
            (&Method::GET, ["sessions"]) => Self::Sessions,
            (&Method::GET, ["sessions", id]) => Self::Session(id),
            (&Method::PUT, ["sessions", id, "scenario"]) => Self::PutScenario(id),
            (&Method::POST, ["sessions", id, "reset"]) => Self::Reset(id),
            (&Method::GET, ["sessions", id, "scenario"]) => Self::Export(id),
            (&Method::POST, ["sessions", id, "record"]) => Self::Record(id),
            _ => return None,
        })
    }

    /// See [`blocks`].
    fn blocks(&self) -> bool {
        matches!(
            self,
            Self::Reload | Self::Reset(_) | Self::Record(_) | Self::PutScenario(_) | Self::Export(_)
        )
    }

    /// The answer, from the route's own module.
    fn apply(self, app: &App, parts: &Parts, body: &[u8]) -> Result<Response<Bytes>, Problem> {
        let value = match self {
            Self::OpenApi => return Ok(openapi::document()),
            Self::Ui(asset) => {
                return ui::asset(asset).ok_or_else(|| Problem::admin_not_found("GET", parts.uri.path()))
            }
            Self::Export(id) => return recording::export(app, id),
            Self::Journal => journal::page(app, parts)?,
            Self::ClearJournal => journal::clear(app),
            Self::Verify => json_body(parts).and_then(|()| verify::answer(app, body))?,
            Self::Violations => violations::answer(app),
            Self::Status => status::answer(app),
            Self::Reload => reload::answer(app)?,
            Self::Scenarios => scenarios::list(app),
            Self::Sessions => sessions::list(app)?,
            Self::Session(id) => sessions::describe(app, id)?,
            Self::PutScenario(id) => json_body(parts).and_then(|()| sessions::put_scenario(app, id, body))?,
            Self::Reset(id) => sessions::reset(app, id)?,
            Self::Record(id) => recording::flush(app, id)?,
        };
        Ok(json_response(&value))
    }
}

/// The segments of an admin path after the prefix, decoded: session ids
/// are "any string", they arrive percent-encoded.
fn segments(path: &str) -> Result<Vec<String>, crate::uri::DecodeError> {
    let path = path.strip_prefix(PREFIX).unwrap_or("");
    path.split('/').map(crate::uri::decode_component).collect()
}

/// The id of the operation `reference` names, as a scenario rule names one.
fn operation_named(app: &App, reference: &str) -> Result<String, Problem> {
    let spec = &app.configuration().spec;
    crate::spec::find_operation(spec, reference)
        .map(|index| spec.operations[index].id.clone())
        .map_err(|message| Problem::admin_bad_request(&message))
}

/// Routes that take a body take JSON, and say so: a web page's form cannot
/// send `application/json` to another origin without a CORS preflight,
/// which the admin API never answers.
fn json_body(parts: &Parts) -> Result<(), Problem> {
    let content_type = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .map(|value| value.to_str().unwrap_or("(not ASCII)"));
    match content_type {
        Some(media) if crate::spec::essence(media) == "application/json" => Ok(()),
        other => Err(Problem::admin_not_json(other)),
    }
}

/// Journal entries per page unless `limit` says otherwise, and the most a page holds.
const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: usize = 1000;

fn json_response(value: &Value) -> Response<Bytes> {
    let mut response = Response::new(Bytes::from(
        serde_json::to_vec(value).expect("a JSON value always serializes"),
    ));
    *response.status_mut() = StatusCode::OK;
    response
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_reloads_or_writes_a_recording_runs_where_it_may_block() {
        for (method, path) in [
            (Method::POST, "/__mock/reload"),
            (Method::POST, "/__mock/sessions/a%2Fb/reset"),
            (Method::POST, "/__mock/sessions/qa/record"),
            (Method::PUT, "/__mock/sessions/qa/scenario"),
            (Method::GET, "/__mock/sessions/qa/scenario"),
        ] {
            assert!(blocks(&method, path), "{method} {path}");
        }
        for (method, path) in [
            (Method::GET, "/__mock/sessions/qa"),
            (Method::GET, "/__mock/journal"),
            (Method::POST, "/__mock/sessions/a/b/reset"),
            (Method::GET, "/user"),
        ] {
            assert!(!blocks(&method, path), "{method} {path}");
        }
    }
}
