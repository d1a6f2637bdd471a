//! `GET /__mock/scenarios`: the scenarios of the configuration in force,
//! what each one's rules reach, and the one sessions start in.

use serde_json::{json, Value};

use crate::app::App;

pub(super) fn list(app: &App) -> Value {
    let configuration = app.configuration();
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
