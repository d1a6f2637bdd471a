//! `GET /__mock/sessions`: every live session, most recently used first,
//! as `GET /__mock/sessions/{id}` describes each, with when it was last
//! used and how many streams follow it.

use std::time::{Instant, SystemTime};

use serde_json::{json, Value};

use crate::app::App;
use crate::journal::rfc3339_millis;
use crate::problem::Problem;

/// Sessions listed at most: a load test may hold 100,000.
pub const MAX_LISTED: usize = 1000;

impl App {
    /// Each session as the configuration in force sees it (mapped to it
    /// first, as `GET /__mock/sessions/{id}` does).
    pub(super) fn list_sessions(&self) -> Result<Value, Problem> {
        let mut sessions = self.sessions().all();
        let total = sessions.len();
        sessions.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
        sessions.truncate(MAX_LISTED);
        let (now, clock) = (Instant::now(), SystemTime::now());
        let listed: Vec<Value> = sessions
            .iter()
            .map(|(id, session, seen)| {
                let mut described = self.describe_current(id, session)?;
                let last_activity = clock - now.saturating_duration_since(*seen);
                described["last_activity"] = json!(rfc3339_millis(last_activity));
                described["streams"] = json!(session.streams());
                Ok(described)
            })
            .collect::<Result<_, Problem>>()?;
        Ok(json!({ "sessions": listed, "total": total }))
    }
}
