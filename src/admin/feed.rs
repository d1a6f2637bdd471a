//! The journal as a live feed of server-sent events: who may follow it,
//! from which entry, and the text of each event, one at a time.
//! `server.rs` streams it.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderValue, Method, Response};
use tokio::sync::broadcast::{self, error::RecvError};

use super::access;
use crate::app::App;
use crate::journal::{Entry, Subscription};
use crate::problem::Problem;

/// Sent first: a browser's `EventSource` reconnects after this many milliseconds.
const PREAMBLE: &[u8] = b"retry: 1000\n\n";

/// A comment line, sent when nothing else was: it keeps proxies from
/// closing an idle feed, and finds a client that has gone.
pub const KEEP_ALIVE: &[u8] = b": keep-alive\n\n";

/// A request for the feed, decided.
pub enum Feed {
    /// Not admitted: the problem to answer with instead of a stream.
    Refused(Response<Bytes>),
    /// Admitted, to start after this entry (`None`: only new entries);
    /// the journal's `subscribe` opens it.
    Admitted(Option<u64>),
}

/// `GET /__mock/journal/events` (its path read as every admin path is):
/// the feed's start, or the problem that refuses it (the admin API's
/// access rules, and no other site's page: a feed holds one of the few
/// places); `None` for any other request. Reads the behaviour in force,
/// nothing else.
pub fn admit(app: &App, parts: &Parts) -> Option<Feed> {
    let is_feed = super::segments(parts.uri.path()).is_ok_and(|segments| segments == ["journal", "events"]);
    if parts.method != Method::GET || !is_feed {
        return None;
    }
    let behaviour = app.behaviour();
    let admitted = access::admit(parts, behaviour.control_token.as_deref(), &behaviour.control_hosts)
        .and_then(|()| {
            access::same_origin(parts).map_err(|_| {
                Problem::admin_forbidden("the journal feed is for the mock's own page, not a page of another origin")
            })
        })
        .and_then(|()| start_after(parts));
    Some(match admitted {
        Ok(after) => Feed::Admitted(after),
        Err(problem) => Feed::Refused(app.problem(problem, parts)),
    })
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

/// A feed's events: the reconnection delay, how many entries it cannot
/// show, the held entries after its start, then each new entry. Each is
/// written when it is to be sent, one at a time.
pub struct Events {
    /// The delay and the missed count, until sent.
    opening: VecDeque<Bytes>,
    backlog: VecDeque<Arc<Entry>>,
    entries: broadcast::Receiver<Arc<Entry>>,
}

impl Events {
    /// The events of an admitted subscription, starting with the reconnection delay and, when
    /// entries rolled off before it began, how many it missed.
    pub fn new(subscription: Subscription) -> Self {
        let missed = (subscription.missed > 0).then(|| lagged_event(subscription.missed));
        Self {
            opening: [Bytes::from_static(PREAMBLE)].into_iter().chain(missed).collect(),
            backlog: subscription.backlog,
            entries: subscription.entries,
        }
    }

    /// The next event, waiting for a new entry once the held ones are
    /// sent; `None` when the journal is gone. Cancelling the wait loses nothing.
    pub async fn next(&mut self) -> Option<Bytes> {
        if let Some(opening) = self.opening.pop_front() {
            return Some(opening);
        }
        if let Some(entry) = self.backlog.pop_front() {
            return Some(entry_event(&entry));
        }
        match self.entries.recv().await {
            Ok(entry) => Some(entry_event(&entry)),
            Err(RecvError::Lagged(missed)) => Some(lagged_event(missed)),
            Err(RecvError::Closed) => None,
        }
    }
}

/// `event: entry`: a journal entry as `GET /__mock/journal` shows it,
/// each body cut to [`crate::journal::FEED_BODY_BYTES`] (the event says
/// which), with its id as the event's (what a browser sends back as
/// `Last-Event-ID`).
fn entry_event(entry: &Arc<Entry>) -> Bytes {
    let json = serde_json::to_string(&entry.for_feed()).expect("an entry always serializes");
    Bytes::from(format!("id: {}\nevent: entry\ndata: {json}\n\n", entry.id))
}

/// `event: lagged`: entries this feed could not show (it fell behind, or
/// they rolled off before it started).
fn lagged_event(missed: u64) -> Bytes {
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

    #[tokio::test]
    async fn a_feed_opens_with_the_retry_delay_what_it_missed_and_the_backlog() {
        let journal = crate::journal::Journal::new(2);
        let request = || crate::journal::Record {
            kind: crate::journal::EntryKind::Request,
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
            response_content_type: None,
            origin: None,
            note: None,
        };
        for _ in 0..3 {
            journal.record(request());
        }
        let mut events = Events::new(journal.subscribe(Some(0)));
        let mut opening = Vec::new();
        for _ in 0..4 {
            opening.push(events.next().await.expect("an event"));
        }
        let texts: Vec<&str> = opening.iter().map(|e| std::str::from_utf8(e).unwrap()).collect();
        assert_eq!(texts[0], "retry: 1000\n\n");
        assert_eq!(
            texts[1], "event: lagged\ndata: {\"missed\":1}\n\n",
            "entry 1 rolled off"
        );
        assert!(texts[2].starts_with("id: 2\nevent: entry\ndata: {"), "{}", texts[2]);
        assert!(texts[3].starts_with("id: 3\n"), "{}", texts[3]);
        assert!(
            texts[2..].iter().all(|t| t.matches('\n').count() == 4),
            "one data line each"
        );
    }
}
