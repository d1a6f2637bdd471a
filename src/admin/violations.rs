//! `GET /__mock/violations`: exact counts per operation, the client's and
//! (for answers relayed from upstream) the provider's, and the entries
//! still held.

use serde_json::{json, Value};

use super::MAX_PAGE;
use crate::app::App;
use crate::journal::Filter;

pub(super) fn answer(app: &App) -> Value {
    let summary = app.journal().summary();
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
        "entries": app.journal().page(&violating, 0, MAX_PAGE).entries,
    })
}
