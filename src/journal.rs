//! The journal: what clients sent and what they got, for contract checks in
//! CI. Entries roll off past a bound, but the counts never lose a request:
//! the total, the violations, and a tally per operation are kept apart from
//! them. Clearing forgets the entries and the counts a test reads; the run's
//! own tally (what `--report`, `--fail-on-violation` and the shutdown
//! summary read) is never cleared.

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::broadcast;

use crate::poison_tolerant::lock;
use crate::record::Tapes;
use crate::rfc3339;
use crate::validate::Violation;

/// Entries kept by default (`--journal-size`).
pub const DEFAULT_CAPACITY: usize = 10_000;

/// Bytes of request and response bodies held by default
/// (`--journal-bytes`); past them the oldest entries' response bodies are
/// let go first (verifications read request bodies, never responses), then
/// the oldest entries roll off early (the counts still never lose a
/// request). Identical bodies, request or response, are held once and
/// counted once, so a test sending (or being sent) the same profile all day
/// holds one copy; the budget is for distinct bodies.
pub const DEFAULT_BODY_BUDGET: usize = 32 * 1024 * 1024;

/// Entries a live feed may fall behind by; past them it misses the oldest
/// and is told how many (memory stays bounded however slow its reader).
pub const FEED_BACKLOG: usize = 256;

/// Bytes of each body a feed event carries; the rest is cut (and the
/// event says so), while `GET /__mock/journal` shows the body whole. With
/// [`FEED_BACKLOG`] it bounds what the feeds hold beyond the journal's own
/// bodies: 256 entries of at most twice this, 32 MiB, however many feeds.
pub const FEED_BODY_BYTES: usize = 64 * 1024;

/// Violations kept per operation for the report, beyond which only the count grows.
const SAMPLES_PER_OPERATION: usize = 20;

/// What one entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntryKind {
    /// An HTTP request, or a WebSocket handshake.
    Request,
    /// A message a client sent on a WebSocket stream.
    Frame,
    /// A message the server sent on a WebSocket stream (journaled under
    /// `--record` only, for the recording to replay).
    ServerFrame,
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
    pub record: Record<Name>,
    /// The response body was let go to keep the journal within its budget
    /// (the request body, which verifications read, is kept longer).
    #[serde(rename = "response_body_dropped", skip_serializing_if = "std::ops::Not::not")]
    pub response_dropped: bool,
    /// Which bodies a feed shows only the start of.
    #[serde(flatten)]
    pub cut: Cut,
}

/// Bodies cut to [`FEED_BODY_BYTES`] for a feed (the journal holds them whole).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Cut {
    #[serde(rename = "body_truncated", skip_serializing_if = "std::ops::Not::not")]
    pub body: bool,
    #[serde(rename = "response_body_truncated", skip_serializing_if = "std::ops::Not::not")]
    pub response: bool,
}

/// A text an entry holds (session, method, target, operation, rule),
/// shared with every other entry that holds the same text.
pub type Name = Arc<str>;

impl Entry {
    fn new(id: u64, at: SystemTime, record: Record<Name>) -> Self {
        Self {
            id,
            at,
            record,
            response_dropped: false,
            cut: Cut::default(),
        }
    }

    /// The body as JSON, if it is JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(self.record.body.as_ref()?).ok()
    }

    /// The entry as a feed shows it: each body cut to [`FEED_BODY_BYTES`]
    /// (a copy of its own, so the whole body is not kept alive), or the
    /// entry itself when no body is longer.
    pub fn for_feed(self: &Arc<Self>) -> Arc<Self> {
        let long = |body: &Option<Bytes>| body.as_ref().is_some_and(|b| b.len() > FEED_BODY_BYTES);
        let cut = Cut {
            body: long(&self.record.body),
            response: long(&self.record.response),
        };
        if cut == Cut::default() {
            return self.clone();
        }
        let start = |body: &Option<Bytes>| {
            body.as_ref()
                .map(|b| Bytes::copy_from_slice(&b[..b.len().min(FEED_BODY_BYTES)]))
        };
        let mut shown = Entry::clone(self);
        shown.record.body = start(&self.record.body);
        shown.record.response = start(&self.record.response);
        shown.cut = cut;
        Arc::new(shown)
    }
}

fn as_rfc3339<S: serde::Serializer>(at: &SystemTime, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&rfc3339::format_millis(*at))
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

/// What an entry carries: its texts borrowed (`&str`) or owned when handed
/// to [`Journal::record`], which numbers and timestamps it and keeps them
/// as shared [`Name`]s.
#[derive(Debug, Clone, Serialize)]
pub struct Record<T> {
    pub kind: EntryKind,
    pub session: T,
    pub method: T,
    /// Path and query, as sent.
    pub target: T,
    pub operation: Option<T>,
    /// The scenario rule that answered.
    pub rule: Option<T>,
    /// The status sent (101 for a stream; 0 for a frame).
    pub status: u16,
    /// The mock answered with a problem of its own (unrouted, invalid, an
    /// unknown scenario, a plain GET on a WebSocket …) instead of the API's answer.
    pub refused: bool,
    #[serde(rename = "latency_us", serialize_with = "as_micros")]
    pub latency: Duration,
    pub violations: Vec<Violation>,
    /// The request body (or the frame), when it is text. The journal holds
    /// a copy of its own, shared by the entries whose bodies are the same.
    #[serde(serialize_with = "body_as_json")]
    pub body: Option<Bytes>,
    /// The response body as sent (none for a frame; under a scripted
    /// fault, only the bytes the client got), with the credentials the
    /// request carried redacted (`app/credentials.rs`). Held as it is, not
    /// copied, or dropped for the held body with the same bytes: a static
    /// body or a templated answer is shared by every entry that sent it.
    #[serde(rename = "response_body", serialize_with = "body_as_json")]
    pub response: Option<Bytes>,
    /// The response's `Content-Type` as sent: what a recording needs to
    /// answer the same bytes the same way. Held once, like the other texts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_content_type: Option<T>,
    /// Who answered, when not the mock itself: `upstream` for an answer
    /// relayed from `--upstream`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    /// What the mock says about the answer beyond its status (where a
    /// replayed recording stands when a call it did not expect came).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Where an answer came from, when the mock did not make it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// Relayed from `--upstream`.
    Upstream,
}

impl<'a> Record<&'a str> {
    /// A data frame of a stream (`WS` at `target`), with no violations:
    /// one the client sent (`EntryKind::Frame`) or one the server sent
    /// (`EntryKind::ServerFrame`), the mock's own streams' and relayed ones alike.
    pub fn frame(kind: EntryKind, session: &'a str, target: &'a str, operation: &'a str, body: Bytes) -> Self {
        Record {
            kind,
            session,
            method: "WS",
            target,
            operation: Some(operation),
            rule: None,
            status: 0,
            refused: false,
            latency: Duration::ZERO,
            violations: Vec::new(),
            body: Some(body),
            response: None,
            response_content_type: None,
            origin: None,
            note: None,
        }
    }
}

impl<T> Record<T> {
    /// The same record with each text made a [`Name`] by `name`.
    fn with_names(self, mut name: impl FnMut(&T) -> Name) -> Record<Name> {
        Record {
            kind: self.kind,
            session: name(&self.session),
            method: name(&self.method),
            target: name(&self.target),
            operation: self.operation.as_ref().map(&mut name),
            rule: self.rule.as_ref().map(&mut name),
            status: self.status,
            refused: self.refused,
            latency: self.latency,
            violations: self.violations,
            body: self.body,
            response: self.response,
            response_content_type: self.response_content_type.as_ref().map(&mut name),
            origin: self.origin,
            note: self.note,
        }
    }
}

fn as_micros<S: serde::Serializer>(latency: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(latency.as_micros() as u64)
}

/// Calls of one operation, and the contract violations among them: the
/// client's (its requests), and the provider's (the answers relayed from
/// `--upstream`), counted apart.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Tally {
    pub calls: u64,
    /// Calls whose request broke the contract.
    pub violating_calls: u64,
    /// The first violations seen, with the request they belong to.
    pub samples: Vec<(u64, Violation)>,
    /// Answers relayed from the upstream: calls, and frames it sent on relayed streams.
    pub relayed_answers: u64,
    /// Relayed answers that broke the contract.
    pub provider_violating_answers: u64,
    /// The first of their violations, with the request they belong to.
    pub provider_samples: Vec<(u64, Violation)>,
}

pub struct Journal {
    capacity: usize,
    /// Bytes of bodies held at most (`--journal-bytes`).
    body_budget: AtomicUsize,
    inner: Mutex<Inner>,
    /// Each new entry, for the live feeds; sent to only while one listens.
    feed: broadcast::Sender<Arc<Entry>>,
    /// With `--record`: each session's entries, kept until its file is written.
    tapes: OnceLock<Tapes>,
}

/// A live feed of the journal: the held entries after the one it started
/// from, then each new entry as it is recorded (none missed in between).
pub struct Subscription {
    /// Entries before `backlog` that the feed cannot show: rolled off, or
    /// past the backlog's bound.
    pub missed: u64,
    /// Held entries after the one asked for, oldest first.
    pub backlog: VecDeque<Arc<Entry>>,
    pub entries: broadcast::Receiver<Arc<Entry>>,
}

#[derive(Default)]
struct Inner {
    entries: VecDeque<Arc<Entry>>,
    /// The bodies `entries` hold, each once.
    bodies: Bodies,
    /// The oldest entries, this many, hold no response body: where the
    /// next one to let go is looked for.
    without_response: usize,
    /// The texts `entries` hold, each once.
    names: Names,
    /// Entries recorded since start-up or the last clear: requests and client frames.
    total: u64,
    /// The id of the latest entry (0: none yet); never cleared.
    last_id: u64,
    /// Since start-up or the last clear: what the admin API reports.
    since_clear: Summary,
    /// Since start-up, whatever a test clears: the run's contract verdict.
    run: Summary,
}

impl Inner {
    /// Lets go of the response body of the oldest entry holding one (never
    /// the newest entry's); the entry as it was, or `None` if none holds one.
    fn drop_oldest_response(&mut self) -> Option<Arc<Entry>> {
        let newest = self.entries.len().checked_sub(1)?;
        while self.without_response < newest {
            let index = self.without_response;
            self.without_response += 1;
            let slot = &mut self.entries[index];
            let Some(response) = &slot.record.response else {
                continue;
            };
            self.bodies.release(response);
            let mut dropped = Entry::clone(slot);
            dropped.record.response = None;
            dropped.response_dropped = true;
            return Some(std::mem::replace(slot, Arc::new(dropped)));
        }
        None
    }
}

/// `GET /__mock/journal` filters; all optional.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    /// Only this session's entries.
    pub session: Option<String>,
    /// Only entries of this operationId.
    pub operation: Option<String>,
    /// Only entries answered with this status.
    pub status: Option<u16>,
    /// Entries after this time.
    pub since: Option<SystemTime>,
    /// Entries with violations only.
    pub violating: bool,
}

impl Filter {
    fn admits(&self, entry: &Entry) -> bool {
        let (at, entry) = (entry.at, &entry.record);
        self.session.as_deref().is_none_or(|s| s == &*entry.session)
            && self
                .operation
                .as_deref()
                .is_none_or(|o| entry.operation.as_deref() == Some(o))
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
    /// Requests that broke the contract.
    pub violating: u64,
    /// Answers relayed from the upstream (calls, and frames of relayed
    /// streams), and those among them that broke the contract.
    pub relayed: u64,
    /// Relayed answers that broke the contract: the provider's violations, counted apart from the
    /// client's.
    pub provider_violating: u64,
    /// By operationId; requests no operation matched are under `-`.
    pub tallies: BTreeMap<String, Tally>,
}

impl Summary {
    /// Counts a request, or a frame the upstream sent on a relayed stream
    /// (an answer of the provider's too), numbered `id` in the journal.
    fn count<T: AsRef<str>>(&mut self, id: u64, record: &Record<T>) {
        let request = record.kind == EntryKind::Request;
        let relayed = record.origin == Some(Origin::Upstream);
        if !request && !relayed {
            return;
        }
        self.requests += u64::from(request);
        let (client, provider): (Vec<&Violation>, Vec<&Violation>) =
            record.violations.iter().partition(|v| v.side.is_client());
        self.violating += u64::from(!client.is_empty());
        self.relayed += u64::from(relayed);
        self.provider_violating += u64::from(!provider.is_empty());
        let key = record.operation.as_ref().map_or("-", AsRef::as_ref);
        // The key is copied once per operation, not per request.
        let tally = match self.tallies.get_mut(key) {
            Some(tally) => tally,
            None => self.tallies.entry(key.to_string()).or_default(),
        };
        tally.calls += u64::from(request);
        tally.relayed_answers += u64::from(relayed);
        sample(&mut tally.violating_calls, &mut tally.samples, id, &client);
        sample(
            &mut tally.provider_violating_answers,
            &mut tally.provider_samples,
            id,
            &provider,
        );
    }
}

/// Counts a call that broke the contract, keeping its violations while there is room.
fn sample(calls: &mut u64, samples: &mut Vec<(u64, Violation)>, id: u64, violations: &[&Violation]) {
    if violations.is_empty() {
        return;
    }
    *calls += 1;
    let room = SAMPLES_PER_OPERATION.saturating_sub(samples.len());
    samples.extend(violations.iter().take(room).map(|v| (id, (*v).clone())));
}

impl Journal {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            body_budget: AtomicUsize::new(DEFAULT_BODY_BUDGET),
            inner: Mutex::new(Inner::default()),
            feed: broadcast::channel(FEED_BACKLOG).0,
            tapes: OnceLock::new(),
        }
    }

    /// From the next entry on, keeps each session's entries on `tapes`,
    /// apart from the ring, for `--record`.
    pub fn keep_sessions(&self, tapes: Tapes) {
        let _ = self.tapes.set(tapes);
    }

    /// Each session's entries, when kept (`--record`).
    pub fn tapes(&self) -> Option<&Tapes> {
        self.tapes.get()
    }

    /// A live feed of the entries after entry `after` (0: from the oldest
    /// held; `None`: only new ones): the held ones at once (at most
    /// [`FEED_BACKLOG`], the newest), then each new one. Taken under the
    /// lock that records, so no entry falls between the two. An `after`
    /// past the latest entry was numbered by an earlier run (the page
    /// reconnecting after a restart): the feed starts from the oldest held.
    pub fn subscribe(&self, after: Option<u64>) -> Subscription {
        let inner = lock(&self.inner);
        let after = match after {
            None => inner.last_id,
            Some(after) if after > inner.last_id => 0,
            Some(after) => after,
        };
        let entries = self.feed.subscribe();
        let newer = inner.entries.iter().rev().take_while(|entry| entry.id > after);
        let mut backlog: VecDeque<Arc<Entry>> = newer.take(FEED_BACKLOG).cloned().collect();
        backlog.make_contiguous().reverse();
        let first_shown = backlog.front().map_or(inner.last_id + 1, |entry| entry.id);
        Subscription {
            missed: first_shown.saturating_sub(after.saturating_add(1)),
            backlog,
            entries,
        }
    }

    /// Holds bodies up to `bytes` from the next entry on.
    pub fn set_body_budget(&self, bytes: usize) {
        self.body_budget.store(bytes, Ordering::Relaxed);
    }

    pub fn record<T: AsRef<str>>(&self, record: Record<T>) {
        let at = SystemTime::now();
        let budget = self.body_budget.load(Ordering::Relaxed);
        let mut inner = lock(&self.inner);
        inner.total += 1;
        inner.last_id += 1;
        let id = inner.last_id;
        inner.since_clear.count(id, &record);
        inner.run.count(id, &record);
        if self.capacity == 0 {
            // Recorded sessions keep their entries however small the journal.
            if let Some(tapes) = self.tapes.get() {
                let record = record.with_names(|text| Name::from(text.as_ref()));
                tapes.keep(&Arc::new(Entry::new(id, at, record)));
            }
            return;
        }
        let Inner { names, bodies, .. } = &mut *inner;
        let mut record = record.with_names(|text| names.get(text.as_ref()));
        let body = record.body.take().filter(|b| !b.is_empty()).map(|b| bodies.hold(&b));
        let response = record.response.take().filter(|b| !b.is_empty());
        record.response = response.map(|b| bodies.keep(b, body.as_ref()));
        record.body = body;
        let entry = Arc::new(Entry::new(id, at, record));
        if let Some(tapes) = self.tapes.get() {
            tapes.keep(&entry);
        }
        // Nothing to build or send while no feed listens.
        if self.feed.receiver_count() > 0 {
            let _ = self.feed.send(entry.for_feed());
        }
        inner.entries.push_back(entry);
        // Usually one entry rolls off; more only when a body passes the budget.
        let (mut rolled_off, mut more) = (None, Vec::new());
        while inner.entries.len() > self.capacity || (inner.bodies.bytes > budget && inner.entries.len() > 1) {
            // Past the budget, the oldest responses go first: verifications
            // read request bodies, never responses.
            if inner.entries.len() <= self.capacity {
                if let Some(older) = inner.drop_oldest_response() {
                    more.push(older);
                    continue;
                }
            }
            let Some(entry) = inner.entries.pop_front() else { break };
            inner.without_response = inner.without_response.saturating_sub(1);
            for body in [&entry.record.body, &entry.record.response].into_iter().flatten() {
                inner.bodies.release(body);
            }
            more.extend(rolled_off.replace(entry));
        }
        // Freeing what rolled off (a stored profile, say) needs no lock.
        drop(inner);
        drop((rolled_off, more));
    }

    /// What the journal holds now (`GET /__mock/status`).
    pub fn status(&self) -> Status {
        let inner = lock(&self.inner);
        Status {
            entries_total: inner.total,
            retained: inner.entries.len(),
            capacity: self.capacity,
            bodies: inner.bodies.held.len(),
            body_bytes: inner.bodies.bytes,
            body_budget: self.body_budget.load(Ordering::Relaxed),
        }
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

/// The journal's size and what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Status {
    /// Entries recorded since start-up or the last clear, rolled off or not.
    pub entries_total: u64,
    /// Entries held.
    pub retained: usize,
    /// Entries held at most (`--journal-size`).
    pub capacity: usize,
    /// Distinct request and response bodies held.
    pub bodies: usize,
    /// Their bytes: each body once, however many entries hold it.
    pub body_bytes: usize,
    /// Bytes of bodies held at most (`--journal-bytes`).
    pub body_budget: usize,
}

/// Bodies held once each, request and response alike: entries whose bodies
/// are the same share one buffer. A request body is held as an exact-size
/// copy (never a slice of the connection's read buffer, which would keep the
/// whole buffer alive); a response buffer as it is, unless the same bytes
/// are held already (a templated answer is a new buffer per request, most
/// often the same bytes).
#[derive(Default)]
struct Bodies {
    /// Each held buffer by its address and length, which no other buffer
    /// can take while it is held, so that the entries holding a static
    /// response find it without reading it: the keyed hash of its bytes,
    /// and how many entry bodies it is.
    held: HashMap<(usize, usize), Holders>,
    /// The held buffers by content.
    by_content: HashSet<Content>,
    /// Keys the content hashes, at random per journal: clients choose the
    /// bodies, and must not be able to choose ones that collide.
    keys: RandomState,
    /// The bytes of the held buffers.
    bytes: usize,
}

struct Holders {
    hash: u64,
    count: usize,
}

/// A held buffer, known by the keyed hash of its bytes (computed once).
struct Content {
    hash: u64,
    bytes: Bytes,
}

impl Hash for Content {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl PartialEq for Content {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.bytes == other.bytes
    }
}

impl Eq for Content {}

fn address(body: &Bytes) -> (usize, usize) {
    (body.as_ptr() as usize, body.len())
}

impl Bodies {
    /// The held copy of request body `body`, made if none is held yet.
    fn hold(&mut self, body: &Bytes) -> Bytes {
        let content = self.content(body);
        self.share(content, |body| Bytes::copy_from_slice(body))
    }

    /// `response`, or the held buffer with the same bytes: the buffer
    /// itself when it is held (a static body), `request` (this entry's held
    /// request body) when it echoes it, else any held body that is the
    /// same, read only then.
    fn keep(&mut self, response: Bytes, request: Option<&Bytes>) -> Bytes {
        if let Some(holders) = self.held.get_mut(&address(&response)) {
            holders.count += 1;
            return response;
        }
        if let Some(request) = request.filter(|request| **request == response) {
            self.count(request);
            return request.clone();
        }
        let content = self.content(&response);
        self.share(content, |_| response)
    }

    fn content(&self, body: &Bytes) -> Content {
        Content {
            hash: self.keys.hash_one(&body[..]),
            bytes: body.clone(),
        }
    }

    /// The held buffer with `content`'s bytes, or the one `buffer` makes of
    /// them, now held; one more entry body is it.
    fn share(&mut self, content: Content, buffer: impl FnOnce(&Bytes) -> Bytes) -> Bytes {
        if let Some(held) = self.by_content.get(&content) {
            let held = held.bytes.clone();
            self.count(&held);
            return held;
        }
        let held = buffer(&content.bytes);
        let holders = Holders {
            hash: content.hash,
            count: 1,
        };
        self.held.insert(address(&held), holders);
        self.by_content.insert(Content {
            hash: content.hash,
            bytes: held.clone(),
        });
        self.bytes += held.len();
        held
    }

    fn count(&mut self, held: &Bytes) {
        if let Some(holders) = self.held.get_mut(&address(held)) {
            holders.count += 1;
        }
    }

    /// An entry holding `body` rolled off (or let its response go); the
    /// last one lets the body go.
    fn release(&mut self, body: &Bytes) {
        let key = address(body);
        let Some(holders) = self.held.get_mut(&key) else { return };
        holders.count -= 1;
        if holders.count == 0 {
            let hash = holders.hash;
            self.held.remove(&key);
            self.by_content.remove(&Content {
                hash,
                bytes: body.clone(),
            });
            self.bytes -= body.len();
        }
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.held.is_empty() && self.by_content.is_empty() && self.bytes == 0
    }
}

/// Texts held once each, shared by the entries that hold them. Texts no
/// entry holds any more are let go when the set has doubled since the last
/// time: a bounded cost per entry, and a set at most about twice what the
/// entries hold.
#[derive(Default)]
struct Names {
    held: HashSet<Name>,
    let_go_at: usize,
}

/// Texts held before the first look for ones no entry holds.
const NAMES_AT_FIRST: usize = 1024;

impl Names {
    fn get(&mut self, text: &str) -> Name {
        if let Some(name) = self.held.get(text) {
            return name.clone();
        }
        if self.held.len() >= self.let_go_at.max(NAMES_AT_FIRST) {
            self.held.retain(|name| Arc::strong_count(name) > 1);
            self.let_go_at = 2 * self.held.len();
        }
        let name: Name = Arc::from(text);
        self.held.insert(name.clone());
        name
    }
}

fn whole_millis(at: SystemTime) -> SystemTime {
    let since_epoch = at.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    SystemTime::UNIX_EPOCH + Duration::from_millis(since_epoch.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_sessions_keep_their_entries_however_small_the_journal() {
        for capacity in [0, 1] {
            let journal = Journal::new(capacity);
            journal.keep_sessions(Tapes::new(10, usize::MAX));
            for status in [200, 201, 202] {
                journal.record(Record {
                    response: Some(Bytes::from_static(b"{}")),
                    response_content_type: Some("application/json"),
                    ..record("s", "update-user", status, 0)
                });
            }
            journal.record(record("other", "update-user", 200, 0));
            assert_eq!(journal.status().retained, capacity);
            let tape = journal.tapes().and_then(|tapes| tapes.copy("s")).expect("kept");
            let kept: Vec<(u16, Option<&str>)> = tape
                .entries
                .iter()
                .map(|e| (e.record.status, e.record.response_content_type.as_deref()))
                .collect();
            let json = Some("application/json");
            assert_eq!(kept, [(200, json), (201, json), (202, json)], "capacity {capacity}");
        }
    }

    fn record<'a>(session: &'a str, operation: &'a str, status: u16, violations: usize) -> Record<&'a str> {
        Record {
            kind: EntryKind::Request,
            session,
            method: "GET",
            target: "/user",
            operation: Some(operation),
            rule: None,
            status,
            refused: false,
            latency: Duration::from_micros(5),
            violations: (0..violations)
                .map(|i| Violation::new(format!("/body/{i}"), "type", "wrong"))
                .collect(),
            body: None,
            response: None,
            response_content_type: None,
            origin: None,
            note: None,
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

    fn with_body<'a>(body: &Bytes) -> Record<&'a str> {
        Record {
            body: Some(body.clone()),
            ..record("s", "update-user", 200, 0)
        }
    }

    #[test]
    fn bodies_past_the_budget_roll_off_early() {
        let journal = Journal::new(100);
        for i in 0..5u8 {
            journal.record(with_body(&Bytes::from(vec![i; DEFAULT_BODY_BUDGET / 4 + 1])));
        }
        let page = journal.page(&Filter::default(), 0, 100);
        assert_eq!((page.total, page.retained), (5, 3), "four bodies would pass the budget");
        assert_eq!(journal.summary().tallies["update-user"].calls, 5);
        assert_eq!(journal.status().body_bytes, 3 * (DEFAULT_BODY_BUDGET / 4 + 1));
    }

    #[test]
    fn identical_bodies_are_held_once_and_counted_once() {
        let journal = Journal::new(100);
        let (profile, other) = (Bytes::from(vec![b'p'; DEFAULT_BODY_BUDGET / 4 + 1]), Bytes::from("{}"));
        for _ in 0..10 {
            // A fresh buffer each time, as each request reads its own.
            journal.record(with_body(&Bytes::copy_from_slice(&profile)));
            journal.record(with_body(&other));
        }
        let page = journal.page(&Filter::default(), 0, 100);
        assert_eq!((page.total, page.retained), (20, 20), "one profile is held, not ten");
        let held: HashSet<*const u8> = page
            .entries
            .iter()
            .filter_map(|e| e.record.body.as_ref())
            .map(|body| body.as_ptr())
            .collect();
        assert_eq!(held.len(), 2, "two distinct bodies, two copies");
        let status = journal.status();
        assert_eq!((status.bodies, status.body_bytes), (2, profile.len() + 2));
    }

    #[test]
    fn a_held_body_is_a_copy_of_its_own() {
        let journal = Journal::new(100);
        let read_buffer = Bytes::from(vec![b'x'; 64 * 1024]);
        journal.record(with_body(&read_buffer.slice(100..200)));
        let page = journal.page(&Filter::default(), 0, 1);
        let held = page.entries[0].record.body.clone().expect("a body");
        assert_eq!(held, read_buffer.slice(100..200));
        let buffer = read_buffer.as_ptr_range();
        assert!(!buffer.contains(&held.as_ptr()), "the body keeps the read buffer alive");
        assert_eq!(journal.status().body_bytes, 100);
    }

    #[test]
    fn bodies_and_names_go_with_the_last_entry_that_holds_them() {
        let journal = Journal::new(4);
        let bodies: Vec<Bytes> = (0..3).map(|i| Bytes::from(format!("{{\"n\":{i}}}"))).collect();
        for body in bodies.iter().cycle().take(9) {
            journal.record(with_body(body));
        }
        // Entries 6..9 hold bodies 2, 0, 1, 2.
        let status = journal.status();
        assert_eq!((status.retained, status.bodies, status.body_bytes), (4, 3, 21));
        for _ in 0..4 {
            journal.record(record("s", "user-snapshot", 200, 0));
        }
        let status = journal.status();
        assert_eq!(
            (status.retained, status.bodies, status.body_bytes),
            (4, 0, 0),
            "every body rolled off"
        );
        for body in &bodies[..1] {
            journal.record(with_body(body));
        }
        assert_eq!(journal.status().bodies, 1);
        journal.clear();
        let status = journal.status();
        assert_eq!(
            (status.retained, status.bodies, status.body_bytes),
            (0, 0, 0),
            "cleared"
        );
    }

    #[test]
    fn the_body_budget_can_be_set() {
        let journal = Journal::new(100);
        journal.set_body_budget(10);
        for i in 0..3 {
            journal.record(with_body(&Bytes::from(format!("{i}12345"))));
        }
        let status = journal.status();
        assert_eq!((status.retained, status.body_bytes, status.body_budget), (1, 6, 10));
    }

    #[test]
    fn texts_no_entry_holds_are_let_go() {
        let journal = Journal::new(10);
        let targets: Vec<String> = (0..10 * NAMES_AT_FIRST).map(|i| format!("/items/{i}")).collect();
        for target in &targets {
            journal.record(Record {
                target: target.as_str(),
                ..record("s", "get-item", 200, 0)
            });
        }
        let held = lock(&journal.inner).names.held.len();
        assert!(held <= 2 * NAMES_AT_FIRST, "{held} texts held for 10 entries");
        let page = journal.page(&Filter::default(), 0, 1);
        assert_eq!(&*page.entries[0].record.target, targets.last().unwrap().as_str());
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
    fn a_static_response_is_held_once_and_counted_against_the_budget() {
        let journal = Journal::new(100);
        let answered = |response: Bytes| Record {
            response: Some(response),
            ..record("s", "user-snapshot", 200, 0)
        };
        let shared = Bytes::from(vec![b'r'; 1000]);
        for _ in 0..10 {
            journal.record(answered(shared.clone()));
        }
        let status = journal.status();
        assert_eq!(
            (status.bodies, status.body_bytes),
            (1, 1000),
            "one buffer, counted once"
        );
        let entry = &journal.page(&Filter::default(), 0, 1).entries[0];
        assert_eq!(
            entry.record.response.as_ref().map(|b| b.as_ptr()),
            Some(shared.as_ptr()),
            "not copied"
        );
        journal.set_body_budget(2500);
        for i in 0..3u8 {
            journal.record(answered(Bytes::from(vec![i; 1000])));
        }
        let status = journal.status();
        assert_eq!(
            (status.retained, status.body_bytes),
            (13, 2000),
            "past the budget the oldest responses are let go, the entries kept"
        );
        let held = journal.entries(&Filter::default());
        assert!(held[..11]
            .iter()
            .all(|e| e.record.response.is_none() && e.response_dropped));
        assert!(held[11..]
            .iter()
            .all(|e| e.record.response.is_some() && !e.response_dropped));
    }

    fn answered<'a>(body: Option<Bytes>, response: Bytes) -> Record<&'a str> {
        Record {
            body,
            response: Some(response),
            ..record("s", "update-user", 200, 0)
        }
    }

    /// Distinct held buffers, and the distinct contents with their bytes.
    fn held_bodies(journal: &Journal) -> (usize, usize, usize) {
        let held = journal.entries(&Filter::default());
        let bodies = || held.iter().flat_map(|e| [&e.record.body, &e.record.response]).flatten();
        let buffers: HashSet<*const u8> = bodies().map(|b| b.as_ptr()).collect();
        let contents: HashSet<&[u8]> = bodies().map(|b| &b[..]).collect();
        (buffers.len(), contents.len(), contents.iter().map(|b| b.len()).sum())
    }

    #[test]
    fn identical_responses_rendered_afresh_are_held_once() {
        let journal = Journal::new(100);
        let profile = Bytes::from(vec![b'p'; 8000]);
        for _ in 0..10 {
            // A templated answer: a new buffer per request, the same bytes.
            journal.record(answered(None, Bytes::copy_from_slice(&profile)));
        }
        let status = journal.status();
        assert_eq!((status.bodies, status.body_bytes), (1, 8000), "one copy, not ten");
        assert_eq!(held_bodies(&journal), (1, 1, 8000), "every entry shares it");
    }

    #[test]
    fn a_response_equal_to_a_request_body_shares_it() {
        let journal = Journal::new(100);
        let profile = Bytes::from(vec![b'p'; 8000]);
        let fresh = || Bytes::copy_from_slice(&profile);
        journal.record(with_body(&fresh()));
        // An echo of an earlier request, then of its own.
        journal.record(answered(None, fresh()));
        journal.record(answered(Some(fresh()), fresh()));
        let status = journal.status();
        assert_eq!((status.bodies, status.body_bytes), (1, 8000));
        assert_eq!(held_bodies(&journal), (1, 1, 8000));
    }

    #[test]
    fn eviction_and_counts_stay_exact_across_mixed_sharing() {
        let journal = Journal::new(6);
        journal.set_body_budget(2500);
        let body = |byte: u8| Bytes::from(vec![byte; 1000]);
        let static_body = body(b's');
        for i in 0..40u8 {
            let request = (i % 3 != 0).then(|| body(b'a' + i % 2));
            let response = match i % 4 {
                0 => static_body.clone(),
                1 => body(b'a'),
                2 => body(b'b' + i % 3),
                _ => body(b's'),
            };
            journal.record(answered(request, response));
            let status = journal.status();
            let (buffers, contents, bytes) = held_bodies(&journal);
            assert_eq!(buffers, contents, "entry {i}: one buffer per distinct body");
            assert_eq!((status.bodies, status.body_bytes), (contents, bytes), "entry {i}");
            assert!(status.body_bytes <= 2500, "entry {i}: {} bytes", status.body_bytes);
        }
        assert!(journal.entries(&Filter::default()).iter().any(|e| e.response_dropped));
        for _ in 0..6 {
            journal.record(record("s", "user-snapshot", 200, 0));
        }
        let status = journal.status();
        assert_eq!((status.retained, status.bodies, status.body_bytes), (6, 0, 0));
        assert!(lock(&journal.inner).bodies.is_empty(), "nothing left behind");
    }

    #[test]
    fn responses_past_the_budget_go_before_the_requests_that_verifications_read() {
        let journal = Journal::new(100);
        journal.set_body_budget(4000);
        for i in 0..50u8 {
            journal.record(Record {
                body: Some(Bytes::from(format!("{{\"n\":{i}}}"))),
                response: Some(Bytes::from(vec![i; 1000])),
                ..record("s", "update-user", 200, 0)
            });
        }
        let held = journal.entries(&Filter::default());
        assert_eq!(held.len(), 50, "every entry is held");
        let requests: Vec<Value> = held.iter().filter_map(|e| e.json()).map(|v| v["n"].clone()).collect();
        assert_eq!(requests.len(), 50, "with its request body");
        let answered = held.iter().filter(|e| e.record.response.is_some()).count();
        assert!((1..=3).contains(&answered), "{answered} response bodies held");
        assert!(held.last().unwrap().record.response.is_some(), "the newest kept");
        assert!(journal.status().body_bytes <= 4000);
    }

    #[test]
    fn a_feed_gets_the_held_entries_after_its_start_then_each_new_one() {
        let journal = Journal::new(3);
        for _ in 0..5 {
            journal.record(record("s", "op", 200, 0));
        }
        let mut feed = journal.subscribe(Some(1));
        let ids: Vec<u64> = feed.backlog.iter().map(|e| e.id).collect();
        assert_eq!((feed.missed, ids), (1, vec![3, 4, 5]), "entry 2 rolled off");
        journal.record(record("s", "op", 201, 0));
        assert_eq!(feed.entries.try_recv().expect("a new entry").id, 6);
        let current = journal.subscribe(Some(6));
        assert_eq!((current.missed, current.backlog.len()), (0, 0));
        let now = journal.subscribe(None);
        assert_eq!((now.missed, now.backlog.len()), (0, 0));
    }

    #[test]
    fn a_feed_from_an_id_an_earlier_run_gave_starts_from_the_oldest_held() {
        let journal = Journal::new(10);
        for _ in 0..3 {
            journal.record(record("s", "op", 200, 0));
        }
        let feed = journal.subscribe(Some(40));
        let ids: Vec<u64> = feed.backlog.iter().map(|e| e.id).collect();
        assert_eq!((feed.missed, ids), (0, vec![1, 2, 3]));
    }

    #[test]
    fn a_feed_that_falls_behind_is_told_how_many_it_missed() {
        let journal = Journal::new(10);
        let mut feed = journal.subscribe(Some(0));
        for _ in 0..FEED_BACKLOG + 7 {
            journal.record(record("s", "op", 200, 0));
        }
        match feed.entries.try_recv() {
            Err(broadcast::error::TryRecvError::Lagged(missed)) => assert_eq!(missed, 7),
            other => panic!("expected a lag, got {other:?}"),
        }
        assert_eq!(feed.entries.try_recv().expect("the oldest kept").id, 8);
    }
}
