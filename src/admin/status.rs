//! `GET /__mock/status`: what the journal holds, and the configuration in force.

use serde_json::{json, Value};

use crate::app::App;

pub(super) fn answer(app: &App) -> Value {
    json!({ "journal": app.journal().status(), "config": app.configuration_status() })
}
