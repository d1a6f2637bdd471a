//! `GET /__mock/journal`: a page of entries, filtered; `DELETE`: cleared.

use http::request::Parts;
use serde_json::{json, Value};

use super::{operation_named, DEFAULT_PAGE, MAX_PAGE};
use crate::app::App;
use crate::journal::Filter;
use crate::problem::Problem;
use crate::rfc3339;

/// `GET /__mock/journal?session=&operation=&status=&since=&violating=&limit=&offset=`.
pub(super) fn page(app: &App, parts: &Parts) -> Result<Value, Problem> {
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
            "operation" => filter.operation = Some(operation_named(app, &value)?),
            "status" => {
                filter.status =
                    Some(value.parse().map_err(|_| {
                        Problem::admin_bad_request(&format!("`status` is an HTTP status, not `{value}`"))
                    })?)
            }
            "since" => {
                filter.since = Some(rfc3339::parse(&value).ok_or_else(|| {
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
    Ok(json!(app.journal().page(&filter, offset, limit)))
}

/// `DELETE /__mock/journal`: how many entries were cleared.
pub(super) fn clear(app: &App) -> Value {
    json!({ "cleared": app.journal().clear() })
}
