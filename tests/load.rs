//! Load held, nothing lost: 64 keep-alive connections across 8 sessions call a
//! mix of operations for a bounded time, every session in a scenario whose
//! answers depend on how many calls of each kind it has had
//! (`tests/load_files/counted.yaml`). Afterwards what the clients saw, the
//! sessions' sequence counters and states, and the journal (its total, per
//! operation, per session and rule) must agree exactly, and every answer must
//! be one the spec declares.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::*;
use http::Method;
use serde_json::{json, Value};
use specmock::internal::journal::Filter;
use specmock::internal::{Behaviour, ServedApp};
use specmock::MockServer;

const CONNECTIONS: usize = 64;
const SESSIONS: usize = 8;
const LOAD_TIME: Duration = Duration::from_millis(2500);
/// Calls every connection makes however slow the machine: a sixth of them are
/// vanity updates, so each session (8 connections) asks for more than its
/// slots and reaches the `closed` state.
const MIN_CALLS: usize = 36;
/// Vanity slots `counted.yaml` hands out per session.
const SLOTS: usize = 24;
/// Holds every request of the run, so that each can be counted by session and rule.
const JOURNAL_SIZE: usize = 1 << 20;

/// `rules[N]` of `counted.yaml`.
const SLOT_RULE: usize = 0;
const LAST_SLOT_RULE: usize = 1;
const TAKEN_RULE: usize = 2;
const PROVIDERS_OPEN_RULE: usize = 3;
const PROVIDERS_CLOSED_RULE: usize = 4;
const REFRESH_RULE: usize = 5;
const UPDATE_RULE: usize = 6;
const SNAPSHOT_RULE: usize = 7;
/// The answers `refresh-user` cycles through, in order: status and, where
/// the status alone does not tell them apart, the text.
const REFRESH_CYCLE: [(u16, Option<&str>); 3] = [
    (200, None),
    (500, Some("busy: first retry")),
    (500, Some("busy: second retry")),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    Vanity,
    Providers,
    Refresh,
    Update,
    Snapshot,
    Health,
}

impl Call {
    const ALL: [Call; 6] = [
        Call::Vanity,
        Call::Providers,
        Call::Refresh,
        Call::Update,
        Call::Snapshot,
        Call::Health,
    ];

    fn operation(self) -> &'static str {
        match self {
            Call::Vanity => "user-update-vanity",
            Call::Providers => "user-providers",
            Call::Refresh => "refresh-user",
            Call::Update => "update-user",
            Call::Snapshot => "user-snapshot",
            Call::Health => "health",
        }
    }

    fn target(self) -> (Method, &'static str) {
        match self {
            Call::Vanity => (Method::POST, "/user/update/vanity"),
            Call::Providers => (Method::GET, "/user/providers"),
            Call::Refresh => (Method::GET, "/user/refresh"),
            Call::Update => (Method::POST, "/user/update"),
            Call::Snapshot => (Method::GET, "/user"),
            Call::Health => (Method::GET, "/.well-known/health"),
        }
    }

    /// The profile a POST sends; `label` makes every one distinct.
    fn body(self, session: &str, label: &str) -> Option<Value> {
        let aesthetics = json!({ "theme": { "dark": true }, "font": { "size": 12 } });
        match self {
            Call::Update => Some(json!({ "id": session, "name": label, "aesthetics": aesthetics })),
            Call::Vanity => Some(json!({ "id": session, "vanityname": label, "aesthetics": aesthetics })),
            _ => None,
        }
    }
}

/// One request as its client saw it.
struct Exchange {
    session: usize,
    call: Call,
    sent: Option<Value>,
    sent_at: Instant,
    received_at: Instant,
    reply: Reply,
}

impl Exchange {
    fn describe(&self) -> String {
        format!(
            "{} {:?} -> {} {}",
            session_name(self.session),
            self.call,
            self.reply.status,
            String::from_utf8_lossy(&self.reply.body)
        )
    }
}

fn session_name(session: usize) -> String {
    format!("load-{session}")
}

/// The shipped spec, fixtures and scenarios plus `counted`.
async fn start_counted() -> MockServer {
    let mut inputs = shipped_sources().inputs(None, 0).expect("the shipped files load");
    inputs
        .scenarios
        .push(scenario_source(&repo_root().join("tests/load_files/counted.yaml")));
    let behaviour = Behaviour {
        journal_size: JOURNAL_SIZE,
        ..Behaviour::default()
    };
    let (app, warnings) = specmock::internal::App::build(inputs, behaviour).expect("counted.yaml loads");
    assert!(warnings.is_empty(), "{warnings:#?}");
    start(app).await
}

/// One client: a keep-alive connection bound to one session, calling the
/// operations in turn until `until` (and at least `MIN_CALLS` times). The
/// connection failing is a failure of the test: the server must hold it.
async fn drive(addr: SocketAddr, connection: usize, until: Instant) -> Vec<Exchange> {
    let session = connection % SESSIONS;
    let name = session_name(session);
    let mut client = KeepAlive::open(addr).await;
    let mut exchanges = Vec::new();
    for number in 0.. {
        if number >= MIN_CALLS && Instant::now() >= until {
            break;
        }
        let call = Call::ALL[(connection + number) % Call::ALL.len()];
        let sent = call.body(&name, &format!("connection-{connection}-call-{number}"));
        let mut headers = vec![("x-mock-session", name.as_str()), ("x-mock-scenario", "counted")];
        if sent.is_some() {
            headers.push(("content-type", "application/json"));
        }
        let body = sent.as_ref().map(Value::to_string).unwrap_or_default();
        let (method, path) = call.target();
        let sent_at = Instant::now();
        let reply = client
            .send(method, path, &headers, body.as_bytes())
            .await
            .unwrap_or_else(|e| panic!("connection {connection}: call {number} ({call:?}) failed: {e}"));
        exchanges.push(Exchange {
            session,
            call,
            sent,
            sent_at,
            received_at: Instant::now(),
            reply,
        });
    }
    exchanges
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sessions_under_load_lose_and_double_count_nothing() {
    let server = start_counted().await;
    let addr = server.address();
    let until = Instant::now() + LOAD_TIME;
    let clients: Vec<_> = (0..CONNECTIONS)
        .map(|connection| tokio::spawn(drive(addr, connection, until)))
        .collect();
    let mut exchanges = Vec::new();
    for client in clients {
        exchanges.extend(client.await.expect("a client runs to its end"));
    }

    assert_every_answer_conforms(&server, &exchanges);
    assert_journal_counts_every_call(addr, &exchanges).await;
    for session in 0..SESSIONS {
        let calls = exchanges.iter().filter(|e| e.session == session).collect();
        assert_session_agrees(&server, session, calls).await;
    }
    server.stop().await;
}

/// Status declared for the operation, Content-Type declared for the status,
/// body valid against its schema; nothing made by the mock itself.
fn assert_every_answer_conforms(server: &MockServer, exchanges: &[Exchange]) {
    let configuration = server.app().configuration();
    let operations = &configuration.spec.operations;
    let problems: Vec<String> = exchanges
        .iter()
        .flat_map(|exchange| {
            let operation = operations
                .iter()
                .find(|op| op.id == exchange.call.operation())
                .expect("the operation is in the spec");
            let mut problems = response_problems(operation, &exchange.reply);
            if let Some(origin) = exchange.reply.header("x-mock-origin") {
                problems.push(format!("a problem made by the {origin}: {}", exchange.describe()));
            }
            problems
        })
        .collect();
    assert!(
        problems.is_empty(),
        "{} of {} answers break the spec, the first ones: {:#?}",
        problems.len(),
        exchanges.len(),
        &problems[..problems.len().min(10)]
    );
}

/// The journal's total and per-operation tallies are the clients' counts, and
/// no request broke the contract.
async fn assert_journal_counts_every_call(addr: SocketAddr, exchanges: &[Exchange]) {
    let calls = exchanges.len() as u64;
    let violations = get(addr, "/__mock/violations").await.json();
    assert_eq!(violations["total_requests"], calls, "{violations:#}");
    assert_eq!(violations["violating_requests"], 0, "{violations:#}");
    let mut by_operation = BTreeMap::new();
    for exchange in exchanges {
        *by_operation
            .entry(exchange.call.operation().to_string())
            .or_insert(0u64) += 1;
    }
    let expected: BTreeMap<String, Value> = by_operation
        .into_iter()
        .map(|(operation, calls)| (operation, json!({ "calls": calls, "violating_calls": 0 })))
        .collect();
    assert_eq!(violations["by_operation"], json!(expected));

    let journal = get(addr, "/__mock/journal?limit=1").await.json();
    assert_eq!(journal["total"], calls, "{journal:#}");
    assert_eq!(journal["retained"], calls, "the journal holds every request of the run");
}

/// One session as the server describes it and as its clients saw it.
struct Session<'a> {
    name: String,
    /// `GET /__mock/sessions/{name}`.
    described: Value,
    counters: Vec<u64>,
    calls: Vec<&'a Exchange>,
}

impl<'a> Session<'a> {
    fn of(&self, call: Call) -> Vec<&'a Exchange> {
        self.calls.iter().copied().filter(|e| e.call == call).collect()
    }

    fn count(&self, call: Call, status: u16) -> u64 {
        self.of(call).iter().filter(|e| e.reply.status == status).count() as u64
    }
}

/// One session: its counters and state (admin API), its journal entries by
/// rule, and the answers its clients saw all tell the same story.
async fn assert_session_agrees(server: &MockServer, session: usize, calls: Vec<&Exchange>) {
    let name = session_name(session);
    let described = get(server.address(), &format!("/__mock/sessions/{name}")).await.json();
    assert_eq!(described["scenario"], "counted", "{described:#}");
    let counters = described["counters"]
        .as_array()
        .expect("counters")
        .iter()
        .map(|counter| counter["calls"].as_u64().expect("a counter's calls"))
        .collect();
    let session = Session {
        name,
        described,
        counters,
        calls,
    };
    assert_journal_credits_the_counted_rules(server, &session);
    let closing = assert_each_slot_handed_out_once(&session);
    assert_providers_follow_the_state(&session, closing);
    assert_refresh_cycles_by_the_counter(&session);
    assert_store_round_trips(&session);
}

/// The journal credits each request to the rule that answered it, exactly as
/// often as the session's counters say; only health has no rule.
fn assert_journal_credits_the_counted_rules(server: &MockServer, session: &Session) {
    let name = &session.name;
    let entries = server.app().journal().entries(&Filter {
        session: Some(name.clone()),
        ..Filter::default()
    });
    assert_eq!(entries.len(), session.calls.len(), "{name}: journal entries");
    let mut by_rule = vec![0u64; session.counters.len()];
    let mut unruled = 0u64;
    for entry in &entries {
        match entry.record.rule.as_deref() {
            Some(label) => by_rule[rule_index(label)] += 1,
            None => unruled += 1,
        }
    }
    assert_eq!(
        by_rule, session.counters,
        "{name}: journal entries per rule vs. counters"
    );
    assert_eq!(
        unruled,
        session.of(Call::Health).len() as u64,
        "{name}: calls without a rule"
    );
}

/// Slots 1 to SLOTS each went to exactly one vanity update, the rest got 409,
/// and the session closed. Returns the call that took the last slot.
fn assert_each_slot_handed_out_once<'a>(session: &Session<'a>) -> &'a Exchange {
    let (name, counters) = (&session.name, &session.counters);
    let vanity = session.of(Call::Vanity);
    let asked = vanity.len() as u64;
    assert!(
        asked > SLOTS as u64,
        "{name}: {asked} vanity updates cannot spend {SLOTS} slots"
    );
    let mut slots: Vec<usize> = vanity
        .iter()
        .filter(|e| e.reply.status == 200)
        .map(|e| slot_number(&e.reply.json()))
        .collect();
    slots.sort_unstable();
    assert_eq!(slots, (1..=SLOTS).collect::<Vec<_>>(), "{name}: slots handed out");
    let taken = session.count(Call::Vanity, 409);
    assert_eq!(taken, asked - SLOTS as u64, "{name}: 409s after the last slot");
    assert_eq!(
        [counters[SLOT_RULE], counters[LAST_SLOT_RULE], counters[TAKEN_RULE]],
        [SLOTS as u64 - 1, 1, taken],
        "{name}: vanity counters"
    );
    assert_eq!(session.described["state"], "closed", "{:#}", session.described);

    let closing = *vanity
        .iter()
        .find(|e| e.reply.status == 200 && slot_number(&e.reply.json()) == SLOTS)
        .expect("the last slot");
    // Causality, not timing: a slot was decided before the last one, so it
    // was sent before the last one came back; a 409 was decided after it, so
    // it came back after the last one was sent.
    for exchange in &vanity {
        let consistent = match exchange.reply.status {
            409 => exchange.received_at > closing.sent_at,
            _ => exchange.sent_at < closing.received_at,
        };
        assert!(consistent, "{name}: {} against the last slot", exchange.describe());
    }
    closing
}

/// Providers answer 200 while the session is open and 501 once closed: the
/// counters of both rules are the clients' counts, and no answer contradicts
/// the order of the calls around the one that closed the session.
fn assert_providers_follow_the_state(session: &Session, closing: &Exchange) {
    let (name, counters) = (&session.name, &session.counters);
    let providers = session.of(Call::Providers);
    let (open, closed) = (session.count(Call::Providers, 200), session.count(Call::Providers, 501));
    assert_eq!(
        open + closed,
        providers.len() as u64,
        "{name}: providers answer 200 or 501"
    );
    assert_eq!(
        [counters[PROVIDERS_OPEN_RULE], counters[PROVIDERS_CLOSED_RULE]],
        [open, closed],
        "{name}: providers counters"
    );
    for exchange in &providers {
        if exchange.sent_at > closing.received_at {
            assert_eq!(exchange.reply.status, 501, "{name}: sent once the session was closed");
        }
        if exchange.received_at < closing.sent_at {
            assert_eq!(exchange.reply.status, 200, "{name}: answered before the session closed");
        }
    }
}

/// The nth refresh got answer n mod 3, so how often each answer was seen is
/// fixed by the counter.
fn assert_refresh_cycles_by_the_counter(session: &Session) {
    let name = &session.name;
    let refreshes = session.of(Call::Refresh);
    let cycled = session.counters[REFRESH_RULE];
    assert_eq!(cycled, refreshes.len() as u64, "{name}: refresh counter");
    let length = REFRESH_CYCLE.len() as u64;
    for (position, (status, text)) in (0u64..).zip(REFRESH_CYCLE) {
        let seen = refreshes
            .iter()
            .filter(|e| e.reply.status == status && text.is_none_or(|text| e.reply.text() == text))
            .count() as u64;
        let expected = (cycled + length - 1 - position) / length;
        assert_eq!(seen, expected, "{name}: refresh answer {position} after {cycled} calls");
    }
}

/// update-user answers the very profile it stored, and every snapshot holds a
/// profile this session stored (or its initial one), never another session's.
fn assert_store_round_trips(session: &Session) {
    let (name, counters) = (&session.name, &session.counters);
    let updates = session.of(Call::Update);
    assert_eq!(counters[UPDATE_RULE], updates.len() as u64, "{name}: update counter");
    for exchange in &updates {
        assert_eq!(
            Some(exchange.reply.json()),
            exchange.sent,
            "{name}: update-user answers what it stored"
        );
    }
    let initial: Value = serde_json::from_str(include_str!("../fixtures/user-minimal.json")).expect("JSON");
    let stored: Vec<&Value> = updates
        .iter()
        .filter_map(|e| e.sent.as_ref())
        .chain([&initial])
        .collect();
    let snapshots = session.of(Call::Snapshot);
    assert_eq!(
        counters[SNAPSHOT_RULE],
        snapshots.len() as u64,
        "{name}: snapshot counter"
    );
    for exchange in &snapshots {
        let user = &exchange.reply.json()["user"];
        assert!(
            stored.contains(&user),
            "{name}: a snapshot of a profile it never stored: {user}"
        );
    }
}

/// `tests/load_files/counted.yaml rules[3]` -> 3.
fn rule_index(label: &str) -> usize {
    label
        .rsplit_once("rules[")
        .and_then(|(_, rest)| rest.strip_suffix(']'))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a rule label ending in rules[N]: {label}"))
}

/// The N of a slot answer's `vanityname: slot-N`.
fn slot_number(profile: &Value) -> usize {
    profile["vanityname"]
        .as_str()
        .and_then(|name| name.strip_prefix("slot-"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a slot answer: {profile}"))
}
