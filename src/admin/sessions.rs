//! `GET /__mock/sessions`: every live session, most recently used first,
//! as `GET /__mock/sessions/{id}` describes each, with when it was last
//! used and how many streams follow it.

use std::time::{Instant, SystemTime};

use serde_json::{json, Value};

use crate::app::App;
use crate::problem::Problem;
use crate::rfc3339;

/// Sessions listed at most: a load test may hold 100,000.
pub const MAX_LISTED: usize = 1000;

impl App {
    /// Each session as the configuration in force sees it (mapped to it
    /// first, as `GET /__mock/sessions/{id}` does).
    pub(super) fn list_sessions(&self) -> Result<Value, Problem> {
        let recent = self.sessions().recent(MAX_LISTED);
        let (now, clock) = (Instant::now(), SystemTime::now());
        let listed: Vec<Value> = recent
            .sessions
            .iter()
            .map(|listed| {
                let mut described = self.describe_current(&listed.id, &listed.session)?;
                let last_activity = clock - now.saturating_duration_since(listed.last_used);
                described["last_activity"] = json!(rfc3339::format_millis(last_activity));
                described["streams"] = json!(listed.session.streams());
                Ok(described)
            })
            .collect::<Result<_, Problem>>()?;
        Ok(json!({ "sessions": listed, "total": recent.total }))
    }
}
