//! The journal as a live feed of server-sent events: who may follow it,
//! from which entry, and the text of each event. `server.rs` streams it.

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderValue, Method, Response};

use super::access;
use crate::app::App;
use crate::journal::{Entry, Subscription};
use crate::problem::Problem;

pub const FEED_PATH: &str = "/__mock/journal/events";

/// Sent first: a browser's `EventSource` reconnects after this many milliseconds.
const PREAMBLE: &[u8] = b"retry: 1000\n\n";

/// A comment line, sent when nothing else was: it keeps proxies from
/// closing an idle feed, and finds a client that has gone.
pub const KEEP_ALIVE: &[u8] = b": keep-alive\n\n";

/// A request for the feed, decided.
pub enum Feed {
    Refused(Response<Bytes>),
    Open(Subscription),
}

impl App {
    /// `GET /__mock/journal/events`: the feed, or the problem that refuses
    /// it (the admin API's access rules); `None` for any other request.
    pub fn journal_feed(&self, parts: &Parts) -> Option<Feed> {
        if parts.method != Method::GET || parts.uri.path() != FEED_PATH {
            return None;
        }
        let behaviour = self.behaviour();
        let admitted = access::admit(parts, behaviour.admin_token.as_deref(), &behaviour.admin_hosts)
            .and_then(|()| start_after(parts));
        Some(match admitted {
            Ok(after) => Feed::Open(self.journal().subscribe(after)),
            Err(problem) => Feed::Refused(self.problem(problem, parts)),
        })
    }
}

/// The entry a feed starts after: the `Last-Event-ID` a reconnecting
/// browser sends, else `?after=ID` (`0`: every held entry), else `None`
/// (only new entries).
fn start_after(parts: &Parts) -> Result<Option<u64>, Problem> {
    let query = crate::uri::parse_query(parts.uri.query().unwrap_or(""))
        .map_err(|e| Problem::admin_bad_request(&format!("query string: {e}")))?;
    let mut after = None;
    for (name, value) in query {
        match name.as_str() {
            "after" => after = Some(value),
            other => {
                return Err(Problem::admin_bad_request(&format!(
                    "unknown parameter `{other}`: expected after"
                )))
            }
        }
    }
    let reconnected = parts
        .headers
        .get("last-event-id")
        .map(|v| v.to_str().unwrap_or("(not ASCII)").to_string());
    match reconnected.or(after) {
        None => Ok(None),
        Some(id) => id.trim().parse().map(Some).map_err(|_| {
            Problem::admin_bad_request(&format!(
                "`after` (or Last-Event-ID) is an entry id, a whole number, not `{id}`"
            ))
        }),
    }
}

/// The head of a feed's answer.
pub fn head() -> Response<()> {
    let mut response = Response::new(());
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(http::header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        http::header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// What a feed sends before the new entries: the reconnection delay, how
/// many entries it cannot show, and the held entries after its start.
pub fn opening_events(subscription: &Subscription) -> Vec<Bytes> {
    let missed = (subscription.missed > 0).then(|| lagged_event(subscription.missed));
    let backlog = subscription.backlog.iter().map(|entry| entry_event(entry));
    [Bytes::from_static(PREAMBLE)]
        .into_iter()
        .chain(missed)
        .chain(backlog)
        .collect()
}

/// `event: entry`: a journal entry as `GET /__mock/journal` shows it,
/// with its id as the event's (what a browser sends back as `Last-Event-ID`).
pub fn entry_event(entry: &Entry) -> Bytes {
    let json = serde_json::to_string(entry).expect("an entry always serializes");
    Bytes::from(format!("id: {}\nevent: entry\ndata: {json}\n\n", entry.id))
}

/// `event: lagged`: entries this feed could not show (it fell behind, or
/// they rolled off before it started).
pub fn lagged_event(missed: u64) -> Bytes {
    Bytes::from(format!("event: lagged\ndata: {{\"missed\":{missed}}}\n\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(target: &str, last_event_id: Option<&str>) -> Parts {
        let mut request = http::Request::builder().uri(target);
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        request.body(()).expect("a request").into_parts().0
    }

    #[test]
    fn a_feed_starts_after_the_last_event_id_then_after_then_now() {
        assert_eq!(start_after(&parts("/x?after=3", Some("7"))).ok(), Some(Some(7)));
        assert_eq!(start_after(&parts("/x?after=3", None)).ok(), Some(Some(3)));
        assert_eq!(start_after(&parts("/x", None)).ok(), Some(None));
        assert!(start_after(&parts("/x?after=soon", None)).is_err());
        assert!(start_after(&parts("/x?since=3", None)).is_err());
    }

    #[test]
    fn a_feed_opens_with_the_retry_delay_what_it_missed_and_the_backlog() {
        let journal = crate::journal::Journal::new(2);
        let request = || crate::journal::Record {
            kind: crate::journal::Kind::Request,
            session: "s",
            method: "GET",
            target: "/x",
            operation: None,
            rule: None,
            status: 200,
            refused: false,
            latency: std::time::Duration::ZERO,
            violations: Vec::new(),
            body: None,
            response: None,
        };
        for _ in 0..3 {
            journal.record(request());
        }
        let opening = opening_events(&journal.subscribe(Some(0)));
        let texts: Vec<&str> = opening.iter().map(|e| std::str::from_utf8(e).unwrap()).collect();
        assert_eq!(texts[0], "retry: 1000\n\n");
        assert_eq!(
            texts[1], "event: lagged\ndata: {\"missed\":1}\n\n",
            "entry 1 rolled off"
        );
        assert!(texts[2].starts_with("id: 2\nevent: entry\ndata: {"), "{}", texts[2]);
        assert!(texts[3].starts_with("id: 3\n"), "{}", texts[3]);
        assert_eq!(texts.len(), 4);
        assert!(
            texts[2..].iter().all(|t| t.matches('\n').count() == 4),
            "one data line each"
        );
    }
}
