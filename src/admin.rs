//! The control API under `/__mock/`: list scenarios, put a session in a
//! scenario, reset it, look at it. Refused (403) to peers beyond loopback
//! unless an admin token is configured and presented as a bearer token.

use std::net::SocketAddr;

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderValue, Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::app::App;
use crate::problem::Problem;
use crate::scenario::engine::SessionState;
use crate::session::Event;

pub const PREFIX: &str = "/__mock/";

/// The peer address, put on each request by the server.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

impl App {
    /// Answers an admin request, or a problem.
    pub(crate) fn admin(&self, parts: &Parts, body: &[u8]) -> Response<Bytes> {
        if let Err(problem) = self.admin_allowed(parts) {
            return self.problem(problem, parts);
        }
        let path = parts.uri.path().strip_prefix(PREFIX).unwrap_or("");
        // Session ids are "any string": they arrive percent-encoded in the path.
        let decoded: Result<Vec<String>, _> = path.split('/').map(crate::uri::decode_component).collect();
        let Ok(decoded) = decoded else {
            return self.problem(
                Problem::admin_bad_body("the admin path has a malformed percent-escape"),
                parts,
            );
        };
        let segments: Vec<&str> = decoded.iter().map(String::as_str).collect();
        let answer = match (&parts.method, segments.as_slice()) {
            (&Method::GET, ["scenarios"]) => Ok(self.list_scenarios()),
            (&Method::GET, ["sessions", id]) => Ok(self.describe_session(id)),
            (&Method::PUT, ["sessions", id, "scenario"]) => self.put_scenario(id, body),
            (&Method::POST, ["sessions", id, "reset"]) => Ok(self.reset_session(id)),
            _ => Err(Problem::admin_not_found(parts.method.as_str(), parts.uri.path())),
        };
        match answer {
            Ok(value) => json_response(&value),
            Err(problem) => self.problem(problem, parts),
        }
    }

    fn admin_allowed(&self, parts: &Parts) -> Result<(), Problem> {
        let presented = parts
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        match &self.behaviour().admin_token {
            Some(token) if presented == Some(token.as_str()) => Ok(()),
            Some(_) => Err(Problem::admin_forbidden(
                "the admin API needs `Authorization: Bearer <admin token>`",
            )),
            // Requests built in-process (no peer recorded) are trusted like loopback.
            None if parts
                .extensions
                .get::<Peer>()
                .is_none_or(|peer| peer.0.ip().is_loopback()) =>
            {
                Ok(())
            }
            None => Err(Problem::admin_forbidden(
                "the admin API answers loopback peers only; start with --admin-token to allow others",
            )),
        }
    }

    fn list_scenarios(&self) -> Value {
        let scenarios: Vec<Value> = self
            .scenarios()
            .scenarios()
            .map(|s| json!({ "name": s.name, "description": s.description, "file": s.file, "initial": s.initial, "rules": s.rules.len() }))
            .collect();
        json!({ "scenarios": scenarios, "sessions_start_in": self.sessions().start_scenario() })
    }

    /// Looking does not create: an unknown session is described as it would start.
    fn describe_session(&self, id: &str) -> Value {
        match self.sessions().find(id) {
            Some(session) => describe(id, &session.lock()),
            None => describe(id, &SessionState::start(self.sessions().start_with())),
        }
    }

    fn put_scenario(&self, id: &str, body: &[u8]) -> Result<Value, Problem> {
        let name = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v.get("name")?.as_str().map(str::to_string))
            .ok_or_else(|| Problem::admin_bad_body("expected a JSON body `{\"name\": \"SCENARIO\"}`"))?;
        let scenario = self.scenarios().get(&name).cloned().ok_or_else(|| {
            let known: Vec<&str> = self.scenarios().names().collect();
            Problem::unknown_scenario(&name, &known)
        })?;
        let shared = self.sessions().get(id);
        let described = {
            let mut session = shared.lock();
            *session = SessionState::start(Some(scenario));
            describe(id, &session)
        };
        shared.publish(Event::restarted());
        Ok(described)
    }

    fn reset_session(&self, id: &str) -> Value {
        let shared = self.sessions().get(id);
        let described = {
            let mut session = shared.lock();
            *session = SessionState::start(session.scenario.clone());
            describe(id, &session)
        };
        shared.publish(Event::restarted());
        described
    }
}

fn describe(id: &str, session: &SessionState) -> Value {
    json!({
        "session": id,
        "scenario": session.scenario_name(),
        "state": session.state,
        "counters": session.counters,
        "store": session.store,
    })
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
