//! `POST /__mock/reload`: the inputs read again, as a file change would.

use serde_json::{json, Value};

use crate::app::App;
use crate::problem::Problem;
use crate::reload::Reloaded;

/// 200 with what was reloaded (or why nothing was), 422 with the problems
/// of inputs that do not load.
pub(super) fn answer(app: &App) -> Result<Value, Problem> {
    let mut answer = serde_json::Map::new();
    match app.reload() {
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
            answer.insert("config".into(), app.configuration_status());
            let first = problems.iter().next().map(ToString::to_string).unwrap_or_default();
            let detail = format!("the last good configuration stays in force: {first}");
            return Err(Problem::reload_failed(detail, answer));
        }
    }
    answer.insert("config".into(), app.configuration_status());
    Ok(Value::Object(answer))
}
