//! The control API under `/__mock/`: scenarios and sessions, the journal,
//! verifications and violations, the mock's status, and its own OpenAPI
//! document. Who may use it is `access.rs`'s to say.

mod access;
mod feed;
mod recording;
mod sessions;
mod ui;

pub use access::{parse_admin_host, HostName, Peer};
pub use feed::{head as feed_head, Events as FeedEvents, Feed, KEEP_ALIVE};

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderValue, Method, Response, StatusCode};
use serde_json::{json, Value};

use std::sync::Arc;

use crate::app::{App, Configuration};
use crate::journal::{parse_rfc3339, Filter};
use crate::problem::Problem;
use crate::reload::Reloaded;
use crate::scenario::engine::SessionState;
use crate::scenario::Scenario;
use crate::session::{Event, Session};
use crate::verify::{verify, Expectation, Verification};

/// Where the admin API lives: every path under it is the mock's own, never routed to the spec.
pub const PREFIX: &str = "/__mock/";

/// Whether a request asks for a reload, which reads files, or for what
/// writes or builds a recording (a reset, a scenario put, a flush, an
/// export), however its path is percent-encoded: the server runs it where
/// blocking holds up no other request.
pub fn blocks(method: &Method, path: &str) -> bool {
    let Ok(segments) = route(path) else { return false };
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    matches!(
        (method, segments.as_slice()),
        (&Method::POST, ["reload"])
            | (&Method::POST, ["sessions", _, "reset" | "record"])
            | (&Method::PUT | &Method::GET, ["sessions", _, "scenario"])
    )
}

/// The segments of an admin path after the prefix, decoded: session ids
/// are "any string", they arrive percent-encoded.
fn route(path: &str) -> Result<Vec<String>, crate::uri::DecodeError> {
    let path = path.strip_prefix(PREFIX).unwrap_or("");
    path.split('/').map(crate::uri::decode_component).collect()
}

impl App {
    /// Answers an admin request, or a problem.
    pub(crate) fn admin(&self, parts: &Parts, body: &[u8]) -> Response<Bytes> {
        let behaviour = self.behaviour();
        let path = parts.uri.path().strip_prefix(PREFIX).unwrap_or("");
        let page_file = parts.method == Method::GET && ui::names_asset(path);
        let admit = if page_file { access::admit_page } else { access::admit };
        if let Err(problem) = admit(parts, behaviour.admin_token.as_deref(), &behaviour.admin_hosts) {
            return self.problem(problem, parts);
        }
        let decoded = match route(parts.uri.path()) {
            Ok(decoded) => decoded,
            Err(error) => return self.problem(Problem::admin_bad_request(&format!("the admin path: {error}")), parts),
        };
        let segments: Vec<&str> = decoded.iter().map(String::as_str).collect();
        let answer = match (&parts.method, segments.as_slice()) {
            (&Method::GET, ["openapi.json"]) => return static_json(ADMIN_OPENAPI),
            (&Method::GET, ["ui", asset @ ..]) => match ui::asset(asset) {
                Some(page) => return page,
                None => Err(Problem::admin_not_found("GET", parts.uri.path())),
            },
            (&Method::GET, ["journal"]) => self.journal_page(parts),
            (&Method::DELETE, ["journal"]) => Ok(json!({ "cleared": self.journal().clear() })),
            (&Method::POST, ["verify"]) => json_body(parts).and_then(|()| self.verify(body)),
            (&Method::GET, ["violations"]) => Ok(self.violations()),
            (&Method::GET, ["status"]) => Ok(self.status()),
            (&Method::POST, ["reload"]) => self.reload_answer(),
            (&Method::GET, ["scenarios"]) => Ok(self.list_scenarios()),
            (&Method::GET, ["sessions"]) => self.list_sessions(),
            (&Method::GET, ["sessions", id]) => self.describe_session(id),
            (&Method::PUT, ["sessions", id, "scenario"]) => json_body(parts).and_then(|()| self.put_scenario(id, body)),
            (&Method::POST, ["sessions", id, "reset"]) => self.reset_session(id),
            (&Method::GET, ["sessions", id, "scenario"]) => match self.export_session(id) {
                Ok(recorded) => return recording::yaml_response(recorded.yaml),
                Err(problem) => Err(problem),
            },
            (&Method::POST, ["sessions", id, "record"]) => self.flush_recording(id).map(|written| written.json()),
            _ => Err(Problem::admin_not_found(parts.method.as_str(), parts.uri.path())),
        };
        match answer {
            Ok(value) => json_response(&value),
            Err(problem) => self.problem(problem, parts),
        }
    }

    /// `GET /__mock/journal?session=&operation=&status=&since=&violating=&limit=&offset=`.
    fn journal_page(&self, parts: &Parts) -> Result<Value, Problem> {
        let query = crate::uri::parse_query(parts.uri.query().unwrap_or(""))
            .map_err(|e| Problem::admin_bad_request(&format!("query string: {e}")))?;
        let mut filter = Filter::default();
        let (mut limit, mut offset) = (DEFAULT_PAGE, 0);
        for (name, value) in query {
            let number = |what: &str| {
                value
                    .parse::<usize>()
                    .map_err(|_| Problem::admin_bad_request(&format!("`{what}` is a whole number, not `{value}`")))
            };
            match name.as_str() {
                "session" => filter.session = Some(value),
                "operation" => filter.operation = Some(self.operation_named(&value)?),
                "status" => {
                    filter.status = Some(value.parse().map_err(|_| {
                        Problem::admin_bad_request(&format!("`status` is an HTTP status, not `{value}`"))
                    })?)
                }
                "since" => {
                    filter.since = Some(parse_rfc3339(&value).ok_or_else(|| {
                        Problem::admin_bad_request(&format!(
                            "`since` is an RFC 3339 UTC time such as 2026-11-28T19:40:00Z, not `{value}`"
                        ))
                    })?)
                }
                "violating" => {
                    filter.violating = value.parse().map_err(|_| {
                        Problem::admin_bad_request(&format!("`violating` is `true` or `false`, not `{value}`"))
                    })?
                }
                "limit" => limit = number("limit")?.clamp(1, MAX_PAGE),
                "offset" => offset = number("offset")?,
                other => {
                    return Err(Problem::admin_bad_request(&format!(
                        "unknown filter `{other}`: expected session, operation, status, since, violating, limit, offset"
                    )))
                }
            }
        }
        Ok(json!(self.journal().page(&filter, offset, limit)))
    }

    /// `POST /__mock/verify`: 200 with the matches, or 417 explaining what came instead.
    fn verify(&self, body: &[u8]) -> Result<Value, Problem> {
        let verification: Verification = serde_json::from_slice(body).map_err(|e| {
            Problem::admin_bad_request(&format!(
                "expected {{\"operation\": ID, \"session\"?, \"body\"?, \"status\"?, \"refused\"?, one of \"count\" | \"at_least\" | \"at_most\"}}: {e}"
            ))
        })?;
        let expectation = Expectation::of(&verification).map_err(|e| Problem::admin_bad_request(&e))?;
        let operation = self.operation_named(&verification.operation)?;
        let entries = self.journal().entries(&Filter::default());
        let verdict = verify(&verification, &operation, expectation, &entries);
        let mut value = json!(verdict);
        value["journal_rolled_off"] = json!(self.journal().has_rolled_off());
        if verdict.verified {
            return Ok(value);
        }
        let Value::Object(extra) = value else {
            return Ok(value);
        };
        Err(Problem::verification_failed(&verdict, extra))
    }

    /// `GET /__mock/violations`: exact counts per operation, the client's
    /// and (for answers relayed from upstream) the provider's, and the
    /// entries still held.
    fn violations(&self) -> Value {
        let summary = self.journal().summary();
        let by_operation: serde_json::Map<String, Value> = summary
            .tallies
            .iter()
            .map(|(operation, tally)| {
                let mut counts = json!({ "calls": tally.calls, "violating_calls": tally.violating_calls });
                // The provider's side only where the upstream answered.
                if tally.relayed_answers > 0 {
                    counts["relayed_answers"] = json!(tally.relayed_answers);
                    counts["provider_violating_answers"] = json!(tally.provider_violating_answers);
                }
                (operation.clone(), counts)
            })
            .collect();
        let violating = Filter {
            violating: true,
            ..Filter::default()
        };
        json!({
            "total_requests": summary.requests,
            "violating_requests": summary.violating,
            "relayed_answers": summary.relayed,
            "provider_violating_answers": summary.provider_violating,
            "by_operation": by_operation,
            "entries": self.journal().page(&violating, 0, MAX_PAGE).entries,
        })
    }

    /// `GET /__mock/status`: what the journal holds, and the configuration in force.
    fn status(&self) -> Value {
        json!({ "journal": self.journal().status(), "config": self.configuration_status() })
    }

    /// `POST /__mock/reload`: 200 with what was reloaded (or why nothing
    /// was), 422 with the problems of inputs that do not load.
    fn reload_answer(&self) -> Result<Value, Problem> {
        let mut answer = serde_json::Map::new();
        match self.reload() {
            Reloaded::Swapped { warnings, .. } => {
                answer.insert("reloaded".into(), json!(true));
                answer.insert("warnings".into(), json!(warnings));
            }
            Reloaded::Nothing(reason) => {
                answer.insert("reloaded".into(), json!(false));
                answer.insert("reason".into(), json!(reason));
            }
            Reloaded::Failed(problems) => {
                answer.insert("reloaded".into(), json!(false));
                answer.insert("config".into(), self.configuration_status());
                let first = problems.iter().next().map(ToString::to_string).unwrap_or_default();
                let detail = format!("the last good configuration stays in force: {first}");
                return Err(Problem::reload_failed(detail, answer));
            }
        }
        answer.insert("config".into(), self.configuration_status());
        Ok(Value::Object(answer))
    }

    /// The id of the operation `reference` names, as a scenario rule names one.
    fn operation_named(&self, reference: &str) -> Result<String, Problem> {
        let spec = &self.configuration().spec;
        crate::spec::find_operation(spec, reference)
            .map(|index| spec.operations[index].id.clone())
            .map_err(|message| Problem::admin_bad_request(&message))
    }

    fn list_scenarios(&self) -> Value {
        let configuration = self.configuration();
        let scenarios: Vec<Value> = configuration
            .scenarios
            .scenarios()
            .map(|s| {
                let mut listed = json!({ "name": s.name, "description": s.description, "file": s.file, "initial": s.initial, "rules": s.rules.len(), "reaches": crate::check::coverage::reached_by(&configuration.spec, s) });
                if let Some(by_spec) = crate::check::coverage::reached_by_spec(&configuration.spec, s) {
                    listed["reaches_by_spec"] = json!(by_spec);
                }
                listed
            })
            .collect();
        json!({ "scenarios": scenarios, "sessions_start_in": configuration.start_scenario() })
    }

    /// Looking does not create: a session nothing has named is unknown.
    fn describe_session(&self, id: &str) -> Result<Value, Problem> {
        let session = self.sessions().find(id).ok_or_else(|| Problem::unknown_session(id))?;
        self.describe_current(id, &session)
    }

    /// A session as the configuration in force sees it: mapped to it first
    /// if a reload came since its last request (its `notice` shows then).
    fn describe_current(&self, id: &str, session: &Session) -> Result<Value, Problem> {
        self.in_current(|configuration| {
            let mut state = session.lock();
            configuration.adopt(&mut state)?;
            Ok(self.describe(id, &state))
        })
    }

    fn put_scenario(&self, id: &str, body: &[u8]) -> Result<Value, Problem> {
        let name = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v.get("name")?.as_str().map(str::to_string))
            .ok_or_else(|| Problem::admin_bad_request("expected a JSON body `{\"name\": \"SCENARIO\"}`"))?;
        self.restart_session(id, Some(&name))
    }

    fn reset_session(&self, id: &str) -> Result<Value, Problem> {
        self.restart_session(id, None)
    }

    /// Starts session `id` afresh in scenario `name` of the configuration
    /// in force (`None`: its own, once mapped to that configuration), and
    /// tells its streams. An unknown scenario creates no session.
    fn restart_session(&self, id: &str, name: Option<&str>) -> Result<Value, Problem> {
        let restarted = self.in_current(|configuration| {
            let chosen = match name.map(|name| named_scenario(configuration, name)).transpose() {
                Ok(chosen) => chosen,
                Err(unknown) => return Ok(Err(unknown)),
            };
            let shared = self.sessions().get(id, || configuration.fresh_session());
            let mut session = shared.lock();
            configuration.adopt(&mut session)?;
            let scenario = chosen.or_else(|| session.scenario.clone());
            session.restart(scenario);
            Ok(Ok((shared.clone(), self.describe(id, &session))))
        });
        let (shared, described) = restarted??;
        shared.publish(Event::restarted());
        self.end_recording(id);
        Ok(described)
    }

    /// A session as the admin API shows it: each counter names its rule as
    /// journal entries do, and the operation the rule answers; `notice`,
    /// what a reload did to it (its scenario removed), if anything.
    fn describe(&self, id: &str, session: &SessionState) -> Value {
        let rules = session.scenario.iter().flat_map(|scenario| scenario.rules.iter());
        let counters: Vec<Value> = rules
            .zip(&session.counters)
            .map(|(rule, calls)| json!({ "rule": rule.label, "operation": rule.operation_id, "calls": calls }))
            .collect();
        let mut described = json!({
            "session": id,
            "scenario": session.scenario_name(),
            "state": session.state,
            "counters": counters,
            "store": session.store,
        });
        if let Some(notice) = &session.notice {
            described["notice"] = json!(notice);
        }
        if let Some(position) = crate::scenario::engine::replay_position(session) {
            described["replay"] = json!(position);
        }
        described
    }
}

/// The scenario `name` of `configuration`, or the problem naming those it has.
fn named_scenario(configuration: &Configuration, name: &str) -> Result<Arc<Scenario>, Problem> {
    configuration.scenarios.get(name).cloned().ok_or_else(|| {
        let known: Vec<&str> = configuration.scenarios.names().collect();
        Problem::unknown_scenario(name, &known)
    })
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

/// The admin API described in OpenAPI 3.0: served at `/__mock/openapi.json`.
pub const ADMIN_OPENAPI: &str = include_str!("../admin_openapi.json");

/// Journal entries per page unless `limit` says otherwise, and the most a page holds.
const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: usize = 1000;

fn static_json(text: &'static str) -> Response<Bytes> {
    let mut response = Response::new(Bytes::from_static(text.as_bytes()));
    response
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

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
