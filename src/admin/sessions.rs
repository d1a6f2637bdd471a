//! `/__mock/sessions`: every live session, most recently used first, with
//! when it was last used and how many streams follow it; one session
//! described; a session moved to a scenario, or reset.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use serde_json::{json, Value};

use crate::app::{App, Configuration};
use crate::problem::Problem;
use crate::rfc3339;
use crate::scenario::engine::SessionState;
use crate::scenario::Scenario;
use crate::session::{Event, Session};

/// Sessions listed at most: a load test may hold 100,000.
pub const MAX_LISTED: usize = 1000;

/// `GET /__mock/sessions`: each session as the configuration in force sees
/// it (mapped to it first, as `GET /__mock/sessions/{id}` does).
pub(super) fn list(app: &App) -> Result<Value, Problem> {
    let recent = app.sessions().recent(MAX_LISTED);
    let (now, clock) = (Instant::now(), SystemTime::now());
    let listed: Vec<Value> = recent
        .sessions
        .iter()
        .map(|listed| {
            let mut described = describe_current(app, &listed.id, &listed.session)?;
            let last_activity = clock - now.saturating_duration_since(listed.last_used);
            described["last_activity"] = json!(rfc3339::format_millis(last_activity));
            described["streams"] = json!(listed.session.streams());
            Ok(described)
        })
        .collect::<Result<_, Problem>>()?;
    Ok(json!({ "sessions": listed, "total": recent.total }))
}

/// `GET /__mock/sessions/{id}`. Looking does not create: a session nothing
/// has named is unknown.
pub(super) fn describe(app: &App, id: &str) -> Result<Value, Problem> {
    let session = app.sessions().find(id).ok_or_else(|| Problem::unknown_session(id))?;
    describe_current(app, id, &session)
}

/// `PUT /__mock/sessions/{id}/scenario`.
pub(super) fn put_scenario(app: &App, id: &str, body: &[u8]) -> Result<Value, Problem> {
    let name = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("name")?.as_str().map(str::to_string))
        .ok_or_else(|| Problem::admin_bad_request("expected a JSON body `{\"name\": \"SCENARIO\"}`"))?;
    restart(app, id, Some(&name))
}

/// `POST /__mock/sessions/{id}/reset`.
pub(super) fn reset(app: &App, id: &str) -> Result<Value, Problem> {
    restart(app, id, None)
}

/// A session as the configuration in force sees it: mapped to it first
/// if a reload came since its last request (its `notice` shows then).
fn describe_current(app: &App, id: &str, session: &Session) -> Result<Value, Problem> {
    app.in_current(|configuration| {
        let mut state = session.lock();
        configuration.adopt(&mut state)?;
        Ok(described(id, &state))
    })
}

/// Starts session `id` afresh in scenario `name` of the configuration
/// in force (`None`: its own, once mapped to that configuration), and
/// tells its streams. An unknown scenario creates no session.
pub(crate) fn restart(app: &App, id: &str, name: Option<&str>) -> Result<Value, Problem> {
    let restarted = app.in_current(|configuration| {
        let chosen = match name.map(|name| named_scenario(configuration, name)).transpose() {
            Ok(chosen) => chosen,
            Err(unknown) => return Ok(Err(unknown)),
        };
        let shared = app.sessions().get(id, || configuration.fresh_session());
        let mut session = shared.lock();
        configuration.adopt(&mut session)?;
        let scenario = chosen.or_else(|| session.scenario.clone());
        session.restart(scenario);
        Ok(Ok((shared.clone(), described(id, &session))))
    });
    let (shared, described) = restarted??;
    shared.publish(Event::restarted());
    crate::record::end(app, id);
    Ok(described)
}

/// A session as the admin API shows it: each counter names its rule as
/// journal entries do, and the operation the rule answers; `notice`,
/// what a reload did to it (its scenario removed), if anything.
fn described(id: &str, session: &SessionState) -> Value {
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

/// The scenario `name` of `configuration`, or the problem naming those it has.
fn named_scenario(configuration: &Configuration, name: &str) -> Result<Arc<Scenario>, Problem> {
    configuration.scenarios.get(name).cloned().ok_or_else(|| {
        let known: Vec<&str> = configuration.scenarios.names().collect();
        Problem::unknown_scenario(name, &known)
    })
}
