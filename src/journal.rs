//! The journal: what clients sent and what they got, for contract checks in
//! CI. Entries roll off past a bound, but the counts never lose a request:
//! the total, the violations, and a tally per operation are kept apart from
//! them. Clearing forgets the entries and the counts a test reads; the run's
//! own tally (what `--report`, `--fail-on-violation` and the shutdown
//! summary read) is never cleared.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;

use crate::session::lock;
use crate::validate::Violation;

/// Entries kept by default (`--journal-size`).
pub const DEFAULT_CAPACITY: usize = 10_000;

/// Request bodies held by the journal at most; past it the oldest entries
/// roll off early (the counts still never lose a request).
pub const BODY_BUDGET: usize = 32 * 1024 * 1024;

/// Violations kept per operation for the report, beyond which only the count grows.
const SAMPLES_PER_OPERATION: usize = 20;

/// What one entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// An HTTP request, or a WebSocket handshake.
    Request,
    /// A message a client sent on a WebSocket stream.
    Frame,
}

/// A recorded request or frame: what the server handed in, numbered and timed.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// 1 for the first entry since start-up, then one more each; a clear
    /// does not restart it, so the run's tally names each request once.
    pub id: u64,
    /// Shown as `time`, RFC 3339 with milliseconds (written when asked for,
    /// not on the request path).
    #[serde(rename = "time", serialize_with = "as_rfc3339")]
    pub at: SystemTime,
    #[serde(flatten)]
    pub record: Record,
}

impl Entry {
    /// The body as JSON, if it is JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(self.record.body.as_ref()?).ok()
    }
}

fn as_rfc3339<S: serde::Serializer>(at: &SystemTime, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&rfc3339_millis(*at))
}

/// Bodies appear as JSON when they are JSON, else as text.
fn body_as_json<S: serde::Serializer>(body: &Option<Bytes>, serializer: S) -> Result<S::Ok, S::Error> {
    let Some(bytes) = body.as_ref().filter(|b| !b.is_empty()) else {
        return serializer.serialize_none();
    };
    match serde_json::from_slice::<Value>(bytes) {
        Ok(value) => value.serialize(serializer),
        Err(_) => String::from_utf8_lossy(bytes).serialize(serializer),
    }
}

/// What a new entry carries; the journal numbers and timestamps it.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    pub kind: Kind,
    pub session: String,
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    pub operation: Option<String>,
    /// The scenario rule that answered.
    pub rule: Option<String>,
    /// The status sent (101 for a stream; 0 for a frame).
    pub status: u16,
    /// The mock answered with a problem of its own (unrouted, invalid, an
    /// unknown scenario, a plain GET on a WebSocket …) instead of the API's answer.
    pub refused: bool,
    #[serde(rename = "latency_us", serialize_with = "as_micros")]
    pub latency: Duration,
    pub violations: Vec<Violation>,
    /// The request body (or the frame), when it is text.
    #[serde(serialize_with = "body_as_json")]
    pub body: Option<Bytes>,
}

fn as_micros<S: serde::Serializer>(latency: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(latency.as_micros() as u64)
}

/// Calls of one operation, and the contract violations among them.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Tally {
    pub calls: u64,
    pub violating_calls: u64,
    /// The first violations seen, with the request they belong to.
    pub samples: Vec<(u64, Violation)>,
}

pub struct Journal {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: VecDeque<Arc<Entry>>,
    /// Bytes of the bodies `entries` hold.
    body_bytes: usize,
    /// Entries recorded since start-up or the last clear: requests and client frames.
    total: u64,
    /// The id of the latest entry (0: none yet); never cleared.
    last_id: u64,
    /// Since start-up or the last clear: what the admin API reports.
    since_clear: Summary,
    /// Since start-up, whatever a test clears: the run's contract verdict.
    run: Summary,
}

/// `GET /__mock/journal` filters; all optional.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub session: Option<String>,
    pub operation: Option<String>,
    pub status: Option<u16>,
    /// Entries after this time.
    pub since: Option<SystemTime>,
    /// Entries with violations only.
    pub violating: bool,
}

impl Filter {
    fn admits(&self, entry: &Entry) -> bool {
        let (at, entry) = (entry.at, &entry.record);
        self.session.as_ref().is_none_or(|s| *s == entry.session)
            && self
                .operation
                .as_ref()
                .is_none_or(|o| entry.operation.as_ref() == Some(o))
            && self.status.is_none_or(|s| s == entry.status)
            // Entry times are shown to the millisecond: `since` the time of an
            // entry must not return that entry again.
            && self.since.is_none_or(|t| whole_millis(at) > t)
            && (!self.violating || !entry.violations.is_empty())
    }
}

/// A page of entries, newest first.
#[derive(Debug, Serialize)]
pub struct Page {
    /// Every entry recorded since start-up (or the last clear), rolled off or not.
    pub total: u64,
    /// Entries still held.
    pub retained: usize,
    /// Held entries the filter admits.
    pub matched: usize,
    pub entries: Vec<Arc<Entry>>,
    /// The offset of the next page, if there is one.
    pub next_offset: Option<usize>,
}

/// Requests counted and the contract violations among them.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Requests (and handshakes), not client frames.
    pub requests: u64,
    pub violating: u64,
    /// By operationId; requests no operation matched are under `-`.
    pub tallies: BTreeMap<String, Tally>,
}

impl Summary {
    /// Counts a request, numbered `id` in the journal.
    fn count(&mut self, id: u64, record: &Record) {
        self.requests += 1;
        let violating = !record.violations.is_empty();
        if violating {
            self.violating += 1;
        }
        let key = record.operation.as_deref().unwrap_or("-");
        let tally = self.tallies.entry(key.to_string()).or_default();
        tally.calls += 1;
        if violating {
            tally.violating_calls += 1;
            let room = SAMPLES_PER_OPERATION.saturating_sub(tally.samples.len());
            tally
                .samples
                .extend(record.violations.iter().take(room).map(|v| (id, v.clone())));
        }
    }
}

impl Journal {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::new(Inner::default()),
        }
    }

    pub fn record(&self, record: Record) {
        let at = SystemTime::now();
        let mut inner = lock(&self.inner);
        inner.total += 1;
        inner.last_id += 1;
        let id = inner.last_id;
        if record.kind == Kind::Request {
            inner.since_clear.count(id, &record);
            inner.run.count(id, &record);
        }
        if self.capacity == 0 {
            return;
        }
        inner.body_bytes += record.body.as_ref().map_or(0, Bytes::len);
        inner.entries.push_back(Arc::new(Entry { id, at, record }));
        let mut rolled_off = Vec::new();
        while inner.entries.len() > self.capacity || (inner.body_bytes > BODY_BUDGET && inner.entries.len() > 1) {
            let Some(oldest) = inner.entries.pop_front() else { break };
            inner.body_bytes -= oldest.record.body.as_ref().map_or(0, Bytes::len);
            rolled_off.push(oldest);
        }
        // Freeing what rolled off (a stored profile, say) needs no lock.
        drop(inner);
        drop(rolled_off);
    }

    /// Entries the filter admits, newest first, `limit` from `offset`.
    pub fn page(&self, filter: &Filter, offset: usize, limit: usize) -> Page {
        let inner = lock(&self.inner);
        let admitted: Vec<&Arc<Entry>> = inner.entries.iter().rev().filter(|e| filter.admits(e)).collect();
        let matched = admitted.len();
        let entries: Vec<Arc<Entry>> = admitted.into_iter().skip(offset).take(limit).cloned().collect();
        let next = offset + entries.len();
        Page {
            total: inner.total,
            retained: inner.entries.len(),
            matched,
            entries,
            next_offset: (next < matched).then_some(next),
        }
    }

    /// Every held entry the filter admits, oldest first.
    pub fn entries(&self, filter: &Filter) -> Vec<Arc<Entry>> {
        let inner = lock(&self.inner);
        inner.entries.iter().filter(|e| filter.admits(e)).cloned().collect()
    }

    /// Whether entries have rolled off (verifications may miss requests).
    pub fn has_rolled_off(&self) -> bool {
        let inner = lock(&self.inner);
        inner.total > inner.entries.len() as u64
    }

    /// Forgets the entries and the counts since the last clear, never the
    /// run's tally. Returns how many entries had been recorded.
    pub fn clear(&self) -> u64 {
        let mut inner = lock(&self.inner);
        let run = std::mem::take(&mut inner.run);
        let last_id = inner.last_id;
        let cleared = std::mem::replace(
            &mut *inner,
            Inner {
                run,
                last_id,
                ..Inner::default()
            },
        );
        // Freeing the entries needs no lock.
        drop(inner);
        cleared.total
    }

    /// Requests since start-up or the last clear (`GET /__mock/violations`).
    pub fn summary(&self) -> Summary {
        lock(&self.inner).since_clear.clone()
    }

    /// Requests since start-up, clears or not: the run's contract verdict.
    pub fn run_summary(&self) -> Summary {
        lock(&self.inner).run.clone()
    }
}

fn whole_millis(at: SystemTime) -> SystemTime {
    let since_epoch = at.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    SystemTime::UNIX_EPOCH + Duration::from_millis(since_epoch.as_millis() as u64)
}

/// `2026-11-28T19:40:00.123Z`.
pub fn rfc3339_millis(at: SystemTime) -> String {
    let since_epoch = at.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let seconds = crate::scenario::template::rfc3339(since_epoch);
    format!("{}.{:03}Z", seconds.trim_end_matches('Z'), since_epoch.subsec_millis())
}

/// Reads `2026-11-28T19:40:00Z` or `2026-11-28T19:40:00.123Z` (UTC only).
pub fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let text = text.strip_suffix('Z').or_else(|| text.strip_suffix("+00:00"))?;
    let (date, time) = text.split_once('T')?;
    let mut date = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (date.next()??, date.next()??, date.next()??);
    let (clock, fraction) = time.split_once('.').unwrap_or((time, ""));
    let mut clock = clock.splitn(3, ':').map(|p| p.parse::<u64>().ok());
    let (hour, minute, second) = (clock.next()??, clock.next()??, clock.next()??);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let nanos = match fraction {
        "" => 0,
        digits if digits.len() <= 9 && digits.bytes().all(|b| b.is_ascii_digit()) => {
            digits.parse::<u32>().ok()? * 10u32.pow(9 - digits.len() as u32)
        }
        _ => return None,
    };
    // Days since 1970-01-01 of a civil date (H. Hinnant's algorithm).
    let year = year - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    let seconds = u64::try_from(days * 86_400).ok()? + hour * 3600 + minute * 60 + second;
    Some(SystemTime::UNIX_EPOCH + Duration::new(seconds, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(session: &str, operation: &str, status: u16, violations: usize) -> Record {
        Record {
            kind: Kind::Request,
            session: session.into(),
            method: "GET".into(),
            target: "/user".into(),
            operation: Some(operation.into()),
            rule: None,
            status,
            refused: false,
            latency: Duration::from_micros(5),
            violations: (0..violations)
                .map(|i| Violation::new(format!("/body/{i}"), "type", "wrong"))
                .collect(),
            body: None,
        }
    }

    #[test]
    fn counts_never_lose_a_request_when_entries_roll_off() {
        let journal = Journal::new(3);
        for i in 0..10 {
            journal.record(record("s", "user-snapshot", 200, usize::from(i % 2 == 0)));
        }
        let page = journal.page(&Filter::default(), 0, 100);
        assert_eq!((page.total, page.retained, page.matched), (10, 3, 3));
        assert_eq!(
            page.entries.iter().map(|e| e.id).collect::<Vec<_>>(),
            vec![10, 9, 8],
            "newest first"
        );
        let summary = journal.summary();
        assert_eq!(summary.violating, 5);
        assert_eq!(summary.tallies["user-snapshot"].calls, 10);
        assert_eq!(summary.tallies["user-snapshot"].violating_calls, 5);
        assert!(journal.has_rolled_off());
        assert_eq!(journal.clear(), 10);
        assert_eq!(journal.summary().requests, 0);
    }

    #[test]
    fn clearing_keeps_the_runs_tally() {
        let journal = Journal::new(10);
        journal.record(record("s", "update-user", 400, 1));
        journal.record(record("s", "user-snapshot", 200, 0));
        assert_eq!(journal.clear(), 2);
        journal.record(record("s", "user-snapshot", 200, 0));
        let after = journal.page(&Filter::default(), 0, 10);
        assert_eq!((after.total, after.entries[0].id), (1, 3), "ids go on after a clear");
        let since_clear = journal.summary();
        assert_eq!((since_clear.requests, since_clear.violating), (1, 0));
        assert!(!since_clear.tallies.contains_key("update-user"));
        let run = journal.run_summary();
        assert_eq!((run.requests, run.violating), (3, 1));
        assert_eq!(run.tallies["update-user"].violating_calls, 1);
        assert_eq!(run.tallies["user-snapshot"].calls, 2);
    }

    #[test]
    fn bodies_past_the_budget_roll_off_early() {
        let journal = Journal::new(100);
        let big = Bytes::from(vec![b'x'; BODY_BUDGET / 4 + 1]);
        for _ in 0..5 {
            journal.record(Record {
                body: Some(big.clone()),
                ..record("s", "update-user", 200, 0)
            });
        }
        let page = journal.page(&Filter::default(), 0, 100);
        assert_eq!((page.total, page.retained), (5, 3), "four bodies would pass the budget");
        assert_eq!(journal.summary().tallies["update-user"].calls, 5);
    }

    #[test]
    fn filters_and_pages() {
        let journal = Journal::new(100);
        for i in 0..7 {
            journal.record(record(if i < 4 { "a" } else { "b" }, "op", 200 + i, 0));
        }
        let a = Filter {
            session: Some("a".into()),
            ..Filter::default()
        };
        let first = journal.page(&a, 0, 3);
        assert_eq!((first.matched, first.entries.len(), first.next_offset), (4, 3, Some(3)));
        let second = journal.page(&a, 3, 3);
        assert_eq!((second.entries.len(), second.next_offset), (1, None));
        let status = Filter {
            status: Some(205),
            ..Filter::default()
        };
        assert_eq!(journal.page(&status, 0, 10).entries[0].id, 6);
    }

    #[test]
    fn rfc3339_round_trips() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(1_709_210_096_789);
        let text = rfc3339_millis(at);
        assert_eq!(text, "2024-02-29T12:34:56.789Z");
        assert_eq!(parse_rfc3339(&text), Some(at));
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(SystemTime::UNIX_EPOCH));
        assert_eq!(parse_rfc3339("2024-13-01T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}
