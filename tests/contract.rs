//! Contract checks for CI: the journal of what clients sent (`/__mock/journal`),
//! counts that stay exact past its bound (`/__mock/violations`), verifications
//! (`/__mock/verify`), the admin API's own OpenAPI document (every admin answer
//! here is checked against it by specmock's own engine), and the binary's
//! `--fail-on-violation` and `--report` at shutdown.

mod common;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::*;
use futures_util::SinkExt;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde_json::{json, Value};
use specmock::internal::spec::router::RouteMatch;
use specmock::internal::spec::{Operation, Spec};
use specmock::internal::validate::{ParamSources, RequestView};
use specmock::internal::{Behaviour, ServedApp};
use specmock::MockServer;

// ---------------------------------------------------------------------------
// The server and its clients
// ---------------------------------------------------------------------------

const VANITY: &str = "/user/update/vanity";

/// `id` must be a string: the request breaks the contract at `/body/id`.
const INVALID_VANITY: &str =
    r#"{"id": 5, "aesthetics": {"theme": {"dark": true}, "font": {"size": 12}}, "vanityname": "mark"}"#;

fn with_journal_size(journal_size: usize) -> Behaviour {
    Behaviour {
        journal_size,
        ..Behaviour::default()
    }
}

/// A client request in `session` (a JSON body when `body` is not empty).
async fn call(addr: SocketAddr, session: &str, method: Method, path: &str, body: &str) -> Reply {
    let mut headers = vec![("x-mock-session", session)];
    if !body.is_empty() {
        headers.push(("content-type", "application/json"));
    }
    send(addr, method, path, &headers, body.as_bytes()).await
}

/// Waits until the journal has recorded `total` entries (frames are recorded
/// by the stream's task, after the client's `send` returned).
async fn wait_for_total(server: &MockServer, total: u64) {
    let deadline = Instant::now() + IO_TIMEOUT;
    while server.app().journal().page(&Default::default(), 0, 0).total < total {
        assert!(
            Instant::now() < deadline,
            "the journal has {} entries, not {total}",
            server.app().journal().page(&Default::default(), 0, 0).total
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A server whose journal holds six entries, a few milliseconds apart (so
/// their times differ even at millisecond resolution):
///
/// 1. session `a`: `GET /user` (200, a `default` rule answered)
/// 2. session `a`: `POST /user/update/vanity` asking for `mark` (200)
/// 3. session `b`: the same with `id: 5` (400, a violation at `/body/id`)
/// 4. session `b`: `GET /nope` (404, a `route` violation, no operation)
/// 5. session `ws`: a WebSocket handshake to `/user/stream` (101)
/// 6. session `ws`: the client's text frame `hello from the client`
struct Populated {
    server: MockServer,
    /// Kept open: the stream stays as it was when the journal is read.
    _ws: Ws,
}

impl Populated {
    fn addr(&self) -> SocketAddr {
        self.server.address()
    }
}

async fn populated() -> Populated {
    let server = start(shipped_scenario_app(Behaviour::default())).await;
    let addr = server.address();
    let pause = || tokio::time::sleep(Duration::from_millis(3));
    assert_eq!(call(addr, "a", Method::GET, "/user", "").await.status, 200);
    pause().await;
    let valid = call(addr, "a", Method::POST, VANITY, &vanity_body("mark")).await;
    assert_eq!(valid.status, 200, "{}", valid.text());
    pause().await;
    let invalid = call(addr, "b", Method::POST, VANITY, INVALID_VANITY).await;
    assert_eq!(invalid.status, 400, "{}", invalid.text());
    pause().await;
    assert_eq!(call(addr, "b", Method::GET, "/nope", "").await.status, 404);
    pause().await;
    let mut ws = ws_open(addr, "/user/stream", &[("x-mock-session", "ws")]).await;
    pause().await;
    ws.send(WsMessage::Text("hello from the client".into()))
        .await
        .expect("send a frame");
    wait_for_total(&server, 6).await;
    Populated { server, _ws: ws }
}

/// The ids of a journal page's entries, in the order given.
fn ids(page: &Value) -> Vec<u64> {
    page["entries"]
        .as_array()
        .unwrap_or_else(|| panic!("a page has entries: {page:#}"))
        .iter()
        .map(|e| e["id"].as_u64().expect("an id"))
        .collect()
}

// ---------------------------------------------------------------------------
// The admin API, checked against its own document
// ---------------------------------------------------------------------------

/// `src/admin_openapi.json`, loaded once by specmock's own engine.
fn admin_spec() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(|| {
        specmock::internal::spec::load_text("admin_openapi.json", specmock::internal::admin::ADMIN_OPENAPI, None)
            .unwrap_or_else(|e| panic!("the admin document loads: {e}"))
    })
}

/// The admin operation `method path` routes to, with its path parameters.
fn admin_operation(method: &Method, path: &str) -> (&'static Operation, Vec<(String, String)>) {
    let spec = admin_spec();
    match spec.router.find(method, path) {
        RouteMatch::Found { operation, params } => (&spec.operations[operation], params),
        other => panic!("the admin document has no operation for {method} {path}: {other:?}"),
    }
}

/// Asserts that a request the tests send conforms to the admin document.
fn assert_conforming_request(method: &Method, target: &str, headers: &HeaderMap, body: &[u8]) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let (operation, params) = admin_operation(method, path);
    let query = specmock::internal::uri::parse_query(query).expect("a well-formed query");
    let view = RequestView {
        params: ParamSources {
            path: &params,
            query: &query,
            headers,
        },
        headers,
        body,
    };
    if let Err(rejection) = specmock::internal::validate::request(operation, &view) {
        panic!(
            "{method} {target} breaks the admin document ({}): {:#?}",
            operation.id,
            rejection.violations()
        );
    }
}

/// Asserts that an admin answer is one the admin document declares: its
/// status, its media type, and a body valid against that response's schema.
/// Returns `(operationId, status)`.
fn assert_documented_response(method: &Method, target: &str, reply: &Reply) -> (String, u16) {
    let path = target.split('?').next().unwrap_or(target);
    let (operation, _) = admin_operation(method, path);
    let response = operation.response_for(reply.status).unwrap_or_else(|| {
        panic!(
            "{} answered {}, a status the admin document does not declare: {}",
            operation.id,
            reply.status,
            String::from_utf8_lossy(&reply.body)
        )
    });
    let content_type = reply.header("content-type").expect("admin answers have a Content-Type");
    let media_type = specmock::internal::spec::essence(content_type);
    let media = response
        .content
        .iter()
        .find(|m| m.media_type == media_type)
        .unwrap_or_else(|| panic!("{} {} is documented without {media_type}", operation.id, reply.status));
    let schema = media.schema.as_ref().expect("admin responses have schemas");
    // A YAML answer (a session's recording) is documented as a string.
    let body = match specmock::internal::validate::is_json(&media_type) {
        true => reply.json(),
        false => Value::String(reply.text().to_string()),
    };
    assert_valid(schema, &body, &format!("{} {}", operation.id, reply.status));
    (operation.id.clone(), reply.status)
}

/// An admin request built like the tests' clients would (JSON bodies say so).
async fn admin_exchange(
    addr: SocketAddr,
    method: Method,
    target: &str,
    extra: &[(&str, &str)],
    body: &str,
    conforming: bool,
) -> Reply {
    let mut headers: Vec<(&str, &str)> = extra.to_vec();
    if !body.is_empty() {
        headers.push(("content-type", "application/json"));
    }
    if conforming {
        let mut map = HeaderMap::new();
        for (name, value) in &headers {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).expect("a header name"),
                HeaderValue::from_str(value).expect("a header value"),
            );
        }
        assert_conforming_request(&method, target, &map, body.as_bytes());
    }
    let reply = send(addr, method.clone(), target, &headers, body.as_bytes()).await;
    assert_documented_response(&method, target, &reply);
    reply
}

/// An admin request that conforms to the admin document; the answer is checked against it.
async fn admin(addr: SocketAddr, method: Method, target: &str, body: &str) -> Reply {
    admin_exchange(addr, method, target, &[], body, true).await
}

/// An admin request that is malformed on purpose; only the answer is checked.
async fn admin_malformed(addr: SocketAddr, method: Method, target: &str, body: &str) -> Reply {
    admin_exchange(addr, method, target, &[], body, false).await
}

/// `GET /__mock/journal?query`, which must answer 200.
async fn journal(addr: SocketAddr, query: &str) -> Value {
    let target = match query {
        "" => "/__mock/journal".to_string(),
        query => format!("/__mock/journal?{query}"),
    };
    let reply = admin(addr, Method::GET, &target, "").await;
    assert_eq!(reply.status, 200, "{target}: {}", reply.text());
    reply.json()
}

async fn verify(addr: SocketAddr, check: Value) -> Reply {
    admin(addr, Method::POST, "/__mock/verify", &check.to_string()).await
}

async fn violations(addr: SocketAddr) -> Value {
    let reply = admin(addr, Method::GET, "/__mock/violations", "").await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()
}

// ---------------------------------------------------------------------------
// 1. The journal
// ---------------------------------------------------------------------------

#[tokio::test]
async fn the_journal_lists_every_client_request_and_frame_newest_first() {
    let populated = populated().await;
    let page = journal(populated.addr(), "").await;
    assert_eq!(page["total"], 6, "{page:#}");
    assert_eq!(page["retained"], 6);
    assert_eq!(page["matched"], 6);
    assert_eq!(page["next_offset"], Value::Null, "one page holds them all");
    assert_eq!(ids(&page), vec![6, 5, 4, 3, 2, 1], "newest first");

    let entries = page["entries"].as_array().unwrap();
    let entry = |id: u64| entries.iter().find(|e| e["id"] == id).unwrap().clone();
    // Every entry has a time (RFC 3339, UTC) and a latency; times never go back.
    let mut previous = None;
    for entry in entries.iter().rev() {
        let time = entry["time"].as_str().expect("a time");
        let at = specmock::internal::rfc3339::parse(time).unwrap_or_else(|| panic!("not RFC 3339: {time}"));
        assert!(previous.is_none_or(|p| p <= at), "{page:#}");
        previous = Some(at);
        assert!(entry["latency_us"].is_u64(), "{entry:#}");
    }

    let snapshot = entry(1);
    assert_eq!(snapshot["kind"], "request");
    assert_eq!(snapshot["session"], "a");
    assert_eq!(
        (&snapshot["method"], &snapshot["target"]),
        (&json!("GET"), &json!("/user"))
    );
    assert_eq!(snapshot["operation"], "user-snapshot");
    assert_eq!(snapshot["status"], 200);
    let rule = snapshot["rule"].as_str().expect("the scenario rule that answered");
    assert!(rule.contains("default") && rule.contains("rules["), "{rule}");
    assert_eq!(snapshot["violations"], json!([]));
    assert_eq!(snapshot["body"], Value::Null, "a GET has no body");

    let valid = entry(2);
    assert_eq!(valid["operation"], "user-update-vanity");
    assert_eq!(valid["status"], 200);
    assert_eq!(
        valid["body"]["vanityname"], "mark",
        "JSON bodies are kept as JSON: {valid:#}"
    );

    let invalid = entry(3);
    assert_eq!((&invalid["session"], &invalid["status"]), (&json!("b"), &json!(400)));
    assert_eq!(
        invalid["operation"], "user-update-vanity",
        "a refused request keeps its operation"
    );
    assert_eq!(invalid["rule"], Value::Null, "validation refused it before any rule");
    assert_eq!(invalid["body"]["id"], 5);
    let pointers: Vec<&str> = invalid["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["pointer"].as_str().unwrap())
        .collect();
    assert_eq!(pointers, vec!["/body/id"], "{invalid:#}");

    let unknown = entry(4);
    assert_eq!((&unknown["target"], &unknown["status"]), (&json!("/nope"), &json!(404)));
    assert_eq!(unknown["operation"], Value::Null);
    assert_eq!(unknown["violations"][0]["pointer"], "/path");
    assert_eq!(
        unknown["violations"][0]["rule"], "route",
        "no operation is a contract violation too"
    );

    let handshake = entry(5);
    assert_eq!(handshake["kind"], "request");
    assert_eq!(
        (&handshake["session"], &handshake["status"]),
        (&json!("ws"), &json!(101))
    );
    assert_eq!(handshake["operation"], "stream-user");

    let frame = entry(6);
    assert_eq!(frame["kind"], "frame");
    assert_eq!(frame["session"], "ws");
    assert_eq!(frame["operation"], "stream-user");
    assert_eq!(
        frame["body"], "hello from the client",
        "text that is not JSON stays text"
    );
}

#[tokio::test]
async fn journal_filters_by_session_operation_status_and_violations() {
    let populated = populated().await;
    let addr = populated.addr();
    let cases: [(&str, Vec<u64>); 9] = [
        ("session=b", vec![4, 3]),
        ("session=nobody", vec![]),
        ("operation=user-update-vanity", vec![3, 2]),
        // The operation as the spec writes its method and path.
        ("operation=POST%20%2Fuser%2Fupdate%2Fvanity", vec![3, 2]),
        ("operation=stream-user", vec![6, 5]),
        ("status=404", vec![4]),
        ("status=101", vec![5]),
        ("violating=true", vec![4, 3]),
        ("session=b&status=400", vec![3]),
    ];
    for (query, expected) in cases {
        let page = journal(addr, query).await;
        assert_eq!(ids(&page), expected, "{query}: {page:#}");
        assert_eq!(page["matched"], expected.len(), "{query}");
        assert_eq!(page["total"], 6, "{query}: the total ignores the filter");
    }
}

#[tokio::test]
async fn since_returns_only_entries_after_the_given_time() {
    let populated = populated().await;
    let addr = populated.addr();
    let page = journal(addr, "").await;
    let third = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == 3)
        .unwrap();
    let time = third["time"].as_str().unwrap();
    // Entries are at least 3 ms apart, so only 4, 5 and 6 are after entry 3's time.
    let after = journal(addr, &format!("since={time}")).await;
    assert_eq!(
        ids(&after),
        vec![6, 5, 4],
        "since={time} must not return entry 3 (whose time it is) or anything before it: {after:#}"
    );
    let newest = page["entries"][0]["time"].as_str().unwrap();
    assert_eq!(ids(&journal(addr, &format!("since={newest}")).await), Vec::<u64>::new());
    assert_eq!(
        ids(&journal(addr, "since=2000-01-01T00:00:00Z").await),
        vec![6, 5, 4, 3, 2, 1]
    );
}

#[tokio::test]
async fn journal_pages_with_limit_and_offset() {
    let populated = populated().await;
    let addr = populated.addr();
    let mut seen = Vec::new();
    let mut offset = Some(0);
    let mut pages = 0;
    while let Some(at) = offset {
        let page = journal(addr, &format!("limit=4&offset={at}")).await;
        assert_eq!(page["matched"], 6);
        seen.extend(ids(&page));
        offset = page["next_offset"].as_u64();
        pages += 1;
        assert!(pages <= 2, "6 entries are 2 pages of 4: {page:#}");
    }
    assert_eq!(
        seen,
        vec![6, 5, 4, 3, 2, 1],
        "the pages, in order, are the whole journal"
    );

    let first = journal(addr, "limit=2").await;
    assert_eq!((ids(&first), &first["next_offset"]), (vec![6, 5], &json!(2)));
    let filtered = journal(addr, "violating=true&limit=1&offset=1").await;
    assert_eq!((ids(&filtered), &filtered["next_offset"]), (vec![3], &Value::Null));
    let beyond = journal(addr, "offset=10").await;
    assert_eq!((ids(&beyond), &beyond["next_offset"]), (vec![], &Value::Null));
}

#[tokio::test]
async fn malformed_journal_filters_are_400_problems() {
    let server = start(shipped_scenario_app(Behaviour::default())).await;
    let addr = server.address();
    let cases = [
        ("status=abc", "`status`"),
        ("since=yesterday", "`since`"),
        ("colour=red", "unknown filter `colour`"),
        ("operation=nope", "unknown operation `nope`"),
        ("limit=many", "`limit`"),
        ("offset=-1", "`offset`"),
    ];
    for (query, needle) in cases {
        let reply = admin_malformed(addr, Method::GET, &format!("/__mock/journal?{query}"), "").await;
        let problem = reply.assert_problem(400, "admin-bad-request", "admin");
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains(needle), "{query}: {detail}");
    }
    let unknown = admin_malformed(addr, Method::GET, "/__mock/journal?operation=nope", "").await;
    let detail = unknown.json()["detail"].as_str().unwrap().to_string();
    assert!(
        detail.contains("user-snapshot") && detail.contains("user-update-vanity"),
        "the known operations are listed: {detail}"
    );
}

/// `violating` is a boolean in the admin document: another value is a
/// malformed filter, not a silent `false`.
#[tokio::test]
async fn violating_takes_only_a_boolean() {
    let server = start(shipped_scenario_app(Behaviour::default())).await;
    let reply = admin_malformed(server.address(), Method::GET, "/__mock/journal?violating=yes", "").await;
    reply.assert_problem(400, "admin-bad-request", "admin");
}

#[tokio::test]
async fn clearing_the_journal_forgets_entries_and_counts() {
    let populated = populated().await;
    let addr = populated.addr();
    let cleared = admin(addr, Method::DELETE, "/__mock/journal", "").await;
    assert_eq!(cleared.status, 200, "{}", cleared.text());
    assert_eq!(cleared.json(), json!({ "cleared": 6 }));
    let page = journal(addr, "").await;
    assert_eq!((&page["total"], &page["retained"]), (&json!(0), &json!(0)));
    assert_eq!(ids(&page), Vec::<u64>::new());
    let counts = violations(addr).await;
    assert_eq!(
        (&counts["total_requests"], &counts["violating_requests"]),
        (&json!(0), &json!(0))
    );
    assert_eq!(counts["by_operation"], json!({}));
    // Numbering goes on: the run's tally still names the six by their ids.
    call(addr, "a", Method::GET, "/user", "").await;
    assert_eq!(ids(&journal(addr, "").await), vec![7]);
}

#[tokio::test]
async fn admin_requests_are_not_journaled() {
    let server = start(shipped_scenario_app(Behaviour::default())).await;
    let addr = server.address();
    call(addr, "a", Method::GET, "/user", "").await;
    journal(addr, "").await;
    violations(addr).await;
    admin(addr, Method::GET, "/__mock/scenarios", "").await;
    admin(addr, Method::GET, "/__mock/sessions/a", "").await;
    admin(addr, Method::GET, "/__mock/openapi.json", "").await;
    verify(addr, json!({ "operation": "user-snapshot" })).await;
    admin(addr, Method::POST, "/__mock/sessions/a/reset", "").await;
    send(addr, Method::GET, "/__mock/no-such-route", &[], b"").await;
    let page = journal(addr, "").await;
    assert_eq!(page["total"], 1, "only the client's request: {page:#}");
    assert_eq!(ids(&page), vec![1]);
}

/// A WebSocket handshake aimed at the admin API is the test's own request
/// too: it must not show up as a client call (nor in the report).
#[tokio::test]
async fn a_websocket_handshake_to_the_admin_api_is_not_journaled() {
    let server = start(shipped_scenario_app(Behaviour::default())).await;
    let addr = server.address();
    let refused = ws_connect(addr, "/__mock/scenarios", &[]).await;
    assert!(refused.is_err(), "the admin API does not speak WebSocket");
    let page = journal(addr, "").await;
    assert_eq!(page["total"], 0, "{page:#}");
    assert_eq!(violations(addr).await["by_operation"], json!({}));
}

// ---------------------------------------------------------------------------
// 2. A bounded journal with exact counts
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_bounded_journal_keeps_the_newest_entries_and_exact_counts() {
    let server = start(shipped_scenario_app(with_journal_size(5))).await;
    let addr = server.address();
    // Requests 1, 4, 7 and 10 break the contract; the others are valid snapshots.
    for i in 0..12 {
        let reply = if i % 3 == 0 {
            call(addr, "bounded", Method::POST, VANITY, INVALID_VANITY).await
        } else {
            call(addr, "bounded", Method::GET, "/user", "").await
        };
        assert_eq!(reply.status, if i % 3 == 0 { 400 } else { 200 }, "{}", reply.text());
    }
    let page = journal(addr, "").await;
    assert_eq!(page["total"], 12, "{page:#}");
    assert_eq!(page["retained"], 5);
    assert_eq!(ids(&page), vec![12, 11, 10, 9, 8], "the newest five");

    let counts = violations(addr).await;
    assert_eq!(counts["total_requests"], 12, "{counts:#}");
    assert_eq!(counts["violating_requests"], 4, "rolled-off violations still count");
    assert_eq!(
        counts["by_operation"],
        json!({
            "user-snapshot": { "calls": 8, "violating_calls": 0 },
            "user-update-vanity": { "calls": 4, "violating_calls": 4 },
        })
    );
    let held: Vec<u64> = counts["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_u64().unwrap())
        .collect();
    assert_eq!(held, vec![10], "only violating entries still held are listed");
}

/// The journal's `total` counts entries (frames too), but `total_requests`
/// (and the shutdown line "N requests") says requests: a client's WebSocket
/// frames are not requests, and `by_operation` does not count them.
#[tokio::test]
async fn total_requests_counts_requests_not_websocket_frames() {
    let server = start(shipped_scenario_app(Behaviour::default())).await;
    let addr = server.address();
    call(addr, "frames", Method::GET, "/user", "").await;
    let mut ws = ws_open(addr, "/user/stream", &[("x-mock-session", "frames")]).await;
    for text in ["one", "two", "three"] {
        ws.send(WsMessage::Text(text.into())).await.expect("send a frame");
    }
    wait_for_total(&server, 5).await;
    let counts = violations(addr).await;
    let calls: u64 = counts["by_operation"]
        .as_object()
        .unwrap()
        .values()
        .map(|t| t["calls"].as_u64().unwrap())
        .sum();
    assert_eq!(calls, 2, "a GET and a handshake: {counts:#}");
    assert_eq!(
        counts["total_requests"], calls,
        "total_requests counts the 3 frames as requests: {counts:#}"
    );
}

// ---------------------------------------------------------------------------
// 3. Verifications
// ---------------------------------------------------------------------------

/// Session `v1` asked for `mark`, session `v2` for `ada`; `v1` also read `/user`.
async fn vanity_calls() -> MockServer {
    let server = start(shipped_scenario_app(Behaviour::default())).await;
    let addr = server.address();
    assert_eq!(
        call(addr, "v1", Method::POST, VANITY, &vanity_body("mark"))
            .await
            .status,
        200
    );
    assert_eq!(
        call(addr, "v2", Method::POST, VANITY, &vanity_body("ada")).await.status,
        200
    );
    assert_eq!(call(addr, "v1", Method::GET, "/user", "").await.status, 200);
    server
}

#[tokio::test]
async fn a_verification_that_holds_answers_200_with_the_matches() {
    let server = vanity_calls().await;
    let reply = verify(
        server.address(),
        json!({ "operation": "user-update-vanity", "session": "v1", "body": { "vanityname": "mark" } }),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let verdict = reply.json();
    assert_eq!(verdict["verified"], true, "{verdict:#}");
    assert_eq!(verdict["matched"], 1);
    assert_eq!(verdict["entries"][0]["id"], 1);
    assert_eq!(verdict["entries"][0]["body"]["vanityname"], "mark");
    assert_eq!(verdict["journal_rolled_off"], false);
    assert!(verdict.get("closest").is_none(), "nothing to explain: {verdict:#}");
}

#[tokio::test]
async fn count_at_least_and_at_most_bound_the_matches() {
    let server = vanity_calls().await;
    let addr = server.address();
    // Two vanity calls in all; one of them asks for `mark`.
    let cases = [
        (json!({ "operation": "user-update-vanity", "count": 2 }), true),
        (json!({ "operation": "user-update-vanity", "count": 1 }), false),
        (json!({ "operation": "user-update-vanity", "at_least": 2 }), true),
        (json!({ "operation": "user-update-vanity", "at_least": 3 }), false),
        (json!({ "operation": "user-update-vanity", "at_most": 2 }), true),
        (json!({ "operation": "user-update-vanity", "at_most": 1 }), false),
        (
            json!({ "operation": "user-update-vanity", "at_least": 1, "at_most": 3 }),
            true,
        ),
        (
            json!({ "operation": "user-update-vanity", "at_least": 3, "at_most": 4 }),
            false,
        ),
        (
            json!({ "operation": "user-update-vanity", "at_least": 0, "at_most": 1 }),
            false,
        ),
        (
            json!({ "operation": "user-update-vanity", "body": { "vanityname": "mark" }, "count": 1 }),
            true,
        ),
        (
            json!({ "operation": "user-update-vanity", "session": "v1", "at_most": 0 }),
            false,
        ),
        (
            json!({ "operation": "user-snapshot", "session": "v2", "count": 0 }),
            true,
        ),
        // A call never made, expected never made.
        (json!({ "operation": "clear-user", "count": 0 }), true),
        (json!({ "operation": "clear-user", "at_most": 0 }), true),
        (json!({ "operation": "clear-user" }), false),
    ];
    for (check, holds) in cases {
        let reply = verify(addr, check.clone()).await;
        assert_eq!(reply.status, if holds { 200 } else { 417 }, "{check}: {}", reply.text());
        assert_eq!(reply.json()["verified"], holds, "{check}");
    }
    // Too many matches: the matches themselves are the evidence.
    let too_many = verify(addr, json!({ "operation": "user-update-vanity", "count": 1 })).await;
    let problem = too_many.assert_problem(417, "verification-failed", "admin");
    assert_eq!(problem["matched"], 2);
    assert_eq!(problem["expected"], "exactly 1 call of `user-update-vanity`");
    assert_eq!(ids(&problem), vec![1, 2]);
    let range = verify(
        addr,
        json!({ "operation": "user-update-vanity", "at_least": 3, "at_most": 4 }),
    )
    .await;
    let problem = range.assert_problem(417, "verification-failed", "admin");
    assert_eq!(problem["expected"], "between 3 and 4 calls of `user-update-vanity`");
}

#[tokio::test]
async fn a_failed_verification_is_a_417_naming_the_closest_calls_and_their_differences() {
    let server = vanity_calls().await;
    let reply = verify(
        server.address(),
        json!({ "operation": "user-update-vanity", "session": "v2", "body": { "vanityname": "mark" } }),
    )
    .await;
    let problem = reply.assert_problem(417, "verification-failed", "admin");
    assert!(problem["type"].as_str().unwrap().ends_with("verification-failed"));
    assert_eq!(problem["verified"], false);
    assert_eq!(problem["matched"], 0);
    assert_eq!(
        problem["expected"],
        r#"at least 1 call of `user-update-vanity` in session `v2` with a body containing {"vanityname":"mark"}"#
    );
    assert!(problem["detail"].as_str().unwrap().contains("0 matched"), "{problem:#}");
    let closest = problem["closest"].as_array().expect("the closest calls");
    assert_eq!(closest.len(), 3, "every call, nearest first: {problem:#}");
    // v2's call differs only by its vanity name.
    assert_eq!(closest[0]["entry"]["id"], 2);
    assert_eq!(
        closest[0]["differences"],
        json!([r#"/body/vanityname: expected "mark", received "ada""#])
    );
    // v1's call asked for `mark` but in another session.
    assert_eq!(closest[1]["entry"]["id"], 1);
    assert_eq!(
        closest[1]["differences"],
        json!(["session: expected `v2`, received `v1`"])
    );
    let snapshot = closest[2]["differences"][0].as_str().unwrap();
    assert!(
        snapshot.starts_with("operation: expected `user-update-vanity`, received `user-snapshot`"),
        "{snapshot}"
    );
}

#[tokio::test]
async fn a_verification_may_name_the_operation_by_method_and_path() {
    let server = vanity_calls().await;
    let reply = verify(
        server.address(),
        json!({ "operation": "POST /user/update/vanity", "count": 2 }),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["expected"], "exactly 2 calls of `user-update-vanity`");
}

#[tokio::test]
async fn malformed_verifications_are_400_problems() {
    let server = vanity_calls().await;
    let addr = server.address();
    let both = verify(addr, json!({ "operation": "user-snapshot", "count": 1, "at_least": 1 })).await;
    let detail = both.assert_problem(400, "admin-bad-request", "admin")["detail"].clone();
    assert!(detail.as_str().unwrap().contains("either `count` or"), "{detail}");
    let all = verify(
        addr,
        json!({ "operation": "user-snapshot", "count": 1, "at_least": 1, "at_most": 1 }),
    )
    .await;
    all.assert_problem(400, "admin-bad-request", "admin");
    let empty = verify(
        addr,
        json!({ "operation": "user-snapshot", "at_least": 2, "at_most": 1 }),
    )
    .await;
    let detail = empty.assert_problem(400, "admin-bad-request", "admin")["detail"].clone();
    assert!(
        detail
            .as_str()
            .unwrap()
            .contains("`at_least` (2) is greater than `at_most` (1)"),
        "{detail}"
    );

    let unknown = verify(addr, json!({ "operation": "delete-everything" })).await;
    let detail = unknown.assert_problem(400, "admin-bad-request", "admin")["detail"].clone();
    let detail = detail.as_str().unwrap();
    assert!(detail.contains("unknown operation `delete-everything`"), "{detail}");
    assert!(
        detail.contains("user-snapshot") && detail.contains("user-update-vanity"),
        "the known operations are listed: {detail}"
    );

    for body in [
        "{\"operation\": ",
        "[]",
        "",
        "{\"operation\": \"user-snapshot\", \"times\": 2}",
    ] {
        // An empty body still says it is JSON.
        let declared: &[(&str, &str)] = if body.is_empty() {
            &[("content-type", "application/json")]
        } else {
            &[]
        };
        let reply = admin_exchange(addr, Method::POST, "/__mock/verify", declared, body, false).await;
        reply.assert_problem(400, "admin-bad-request", "admin");
    }
}

#[tokio::test]
async fn a_verdict_says_when_the_journal_has_rolled_off() {
    let server = start(shipped_scenario_app(with_journal_size(2))).await;
    let addr = server.address();
    let check = json!({ "operation": "user-snapshot", "at_least": 1 });
    call(addr, "r", Method::GET, "/user", "").await;
    call(addr, "r", Method::GET, "/user", "").await;
    assert_eq!(verify(addr, check.clone()).await.json()["journal_rolled_off"], false);
    call(addr, "r", Method::GET, "/user", "").await;
    let verdict = verify(addr, check).await.json();
    assert_eq!(verdict["journal_rolled_off"], true, "{verdict:#}");
    assert_eq!(verdict["matched"], 2, "only held entries are verified");
    // A failed verdict says so too: the missing call may have rolled off.
    let failed = verify(addr, json!({ "operation": "user-snapshot", "count": 3 })).await;
    assert_eq!(failed.status, 417);
    assert_eq!(failed.json()["journal_rolled_off"], true);
}

/// `GET /__mock/status`'s `journal`, which must answer 200.
async fn journal_status(addr: SocketAddr) -> Value {
    let reply = admin(addr, Method::GET, "/__mock/status", "").await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()["journal"].clone()
}

#[tokio::test]
async fn the_status_says_what_the_journal_holds_each_body_once() {
    let server = start(shipped_scenario_app(with_journal_size(5))).await;
    let addr = server.address();
    let status = journal_status(addr).await;
    assert_eq!(
        status,
        json!({ "entries_total": 0, "retained": 0, "capacity": 5, "bodies": 0, "body_bytes": 0,
                "body_budget": specmock::internal::journal::DEFAULT_BODY_BUDGET })
    );
    let (mark, ada) = (vanity_body("mark"), vanity_body("ada"));
    // The default scenario renders each answer afresh from the session's
    // store: the answers with the same bytes are held once, as the requests.
    let mut answered = BTreeSet::new();
    for body in [&mark, &mark, &ada, &mark] {
        let reply = call(addr, "s", Method::POST, VANITY, body).await;
        assert_eq!(reply.status, 200);
        answered.insert(reply.body);
    }
    let reply = call(addr, "s", Method::GET, "/user", "").await;
    assert_eq!(reply.status, 200);
    answered.insert(reply.body);
    assert!(answered.len() < 5, "answers repeat: the user with the same vanity name");
    let status = journal_status(addr).await;
    assert_eq!(status["entries_total"], 5);
    assert_eq!(status["retained"], 5);
    assert_eq!(status["bodies"], 2 + answered.len(), "{status:#}");
    assert_eq!(
        status["body_bytes"],
        mark.len() + ada.len() + answered.iter().map(|b| b.len()).sum::<usize>(),
        "each body counted once"
    );
    let mut answered = 0;
    for _ in 0..5 {
        answered = call(addr, "s", Method::GET, "/user", "").await.body.len();
    }
    let status = journal_status(addr).await;
    // The store did not change: the answer rendered once is sent, and held, once.
    assert_eq!(
        (status["retained"].clone(), status["bodies"].clone()),
        (json!(5), json!(1))
    );
    assert_eq!(
        status["body_bytes"], answered,
        "the request bodies rolled off with their entries"
    );
    call(addr, "s", Method::POST, VANITY, &ada).await;
    admin(addr, Method::DELETE, "/__mock/journal", "").await;
    let status = journal_status(addr).await;
    assert_eq!(
        (status["retained"].clone(), status["body_bytes"].clone()),
        (json!(0), json!(0))
    );
}

#[tokio::test]
async fn journal_bytes_bounds_the_bodies_held() {
    let dir = TempDir::new("journal-bytes");
    let (mark, ada) = (vanity_body("mark"), vanity_body("ada"));
    let budget = (mark.len() + ada.len() - 1).to_string();
    let binary = Binary::start(&["--port", "0", "--journal-bytes", &budget], dir.path());
    let addr = binary.addr;
    let mut last_answer = 0;
    for body in [&mark, &mark, &ada] {
        let reply = call(addr, "s", Method::POST, VANITY, body).await;
        assert_eq!(reply.status, 200);
        last_answer = reply.body.len();
    }
    let status = journal_status(addr).await;
    assert_eq!(status["body_budget"], mark.len() + ada.len() - 1);
    assert_eq!(status["retained"], 1, "both bodies would pass the budget: {status:#}");
    assert_eq!(
        status["body_bytes"],
        ada.len() + last_answer,
        "the newest entry and its answer"
    );
    assert_eq!(status["entries_total"], 3);
}

// ---------------------------------------------------------------------------
// 4. The admin API's own document
// ---------------------------------------------------------------------------

#[tokio::test]
async fn the_admin_api_serves_its_own_openapi_document() {
    let server = start(shipped_scenario_app(Behaviour::default())).await;
    let reply = admin(server.address(), Method::GET, "/__mock/openapi.json", "").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let spec = specmock::internal::spec::load_text("admin_openapi.json", reply.text(), None)
        .unwrap_or_else(|e| panic!("the served document loads: {e}"));
    let served: BTreeSet<&str> = spec.operations.iter().map(|op| op.id.as_str()).collect();
    let expected: BTreeSet<&str> = [
        "admin-openapi",
        "list-scenarios",
        "get-session",
        "put-session-scenario",
        "reset-session",
        "export-session",
        "record-session",
        "get-journal",
        "clear-journal",
        "verify",
        "get-violations",
        "get-status",
        "reload",
        "list-sessions",
        "journal-events",
        "ui-page",
        "ui-asset",
    ]
    .into();
    assert_eq!(served, expected);
    for operation in &spec.operations {
        assert!(
            operation.path.starts_with("/__mock/"),
            "{} is under /__mock/: {}",
            operation.id,
            operation.path
        );
    }
}

/// Each admin answer, routed through the admin document by specmock's own
/// engine: the status is declared, and the body is valid against its schema.
#[tokio::test]
async fn every_admin_answer_matches_the_admin_document() {
    let populated = populated().await;
    let addr = populated.addr();
    let exchanges: Vec<(Method, String, String, bool)> = vec![
        (Method::GET, "/__mock/openapi.json".into(), String::new(), true),
        (Method::GET, "/__mock/scenarios".into(), String::new(), true),
        (Method::GET, "/__mock/sessions".into(), String::new(), true),
        (Method::GET, "/__mock/sessions/a".into(), String::new(), true),
        (Method::GET, "/__mock/sessions/never-seen".into(), String::new(), true),
        (
            Method::PUT,
            "/__mock/sessions/a/scenario".into(),
            r#"{"name":"signed-out"}"#.into(),
            true,
        ),
        (
            Method::PUT,
            "/__mock/sessions/a/scenario".into(),
            r#"{"name":"no-such"}"#.into(),
            true,
        ),
        (Method::GET, "/__mock/sessions/a/scenario".into(), String::new(), true),
        (
            Method::GET,
            "/__mock/sessions/never-seen/scenario".into(),
            String::new(),
            true,
        ),
        (Method::POST, "/__mock/sessions/a/record".into(), String::new(), true),
        (Method::POST, "/__mock/sessions/a/reset".into(), String::new(), true),
        (Method::GET, "/__mock/journal".into(), String::new(), true),
        (
            Method::GET,
            "/__mock/journal?violating=true&limit=1".into(),
            String::new(),
            true,
        ),
        (Method::GET, "/__mock/journal?status=abc".into(), String::new(), false),
        (Method::GET, "/__mock/violations".into(), String::new(), true),
        (Method::GET, "/__mock/status".into(), String::new(), true),
        (Method::POST, "/__mock/reload".into(), String::new(), true),
        (
            Method::POST,
            "/__mock/verify".into(),
            json!({ "operation": "user-update-vanity", "session": "a" }).to_string(),
            true,
        ),
        (
            Method::POST,
            "/__mock/verify".into(),
            json!({ "operation": "user-update-vanity", "session": "b", "body": { "vanityname": "x" } }).to_string(),
            true,
        ),
        (Method::POST, "/__mock/verify".into(), "{".into(), false),
        (Method::DELETE, "/__mock/journal".into(), String::new(), true),
    ];
    let mut covered = BTreeSet::new();
    for (method, target, body, conforming) in exchanges {
        let reply = admin_exchange(addr, method.clone(), &target, &[], &body, conforming).await;
        covered.insert(assert_documented_response(&method, &target, &reply));
    }
    // What a web page's form would send.
    let form = [("content-type", "application/x-www-form-urlencoded")];
    for (method, target) in [
        (Method::PUT, "/__mock/sessions/a/scenario"),
        (Method::POST, "/__mock/verify"),
    ] {
        let reply = send(addr, method.clone(), target, &form, b"name=default").await;
        covered.insert(assert_documented_response(&method, target, &reply));
    }
    let expected: BTreeSet<(String, u16)> = [
        ("admin-openapi", 200),
        ("list-scenarios", 200),
        ("list-sessions", 200),
        ("get-session", 200),
        ("get-session", 404),
        ("put-session-scenario", 200),
        ("put-session-scenario", 400),
        ("put-session-scenario", 415),
        ("reset-session", 200),
        ("export-session", 200),
        ("export-session", 404),
        ("record-session", 409),
        ("get-journal", 200),
        ("get-journal", 400),
        ("get-violations", 200),
        ("get-status", 200),
        ("reload", 200),
        ("verify", 200),
        ("verify", 417),
        ("verify", 400),
        ("verify", 415),
        ("clear-journal", 200),
    ]
    .into_iter()
    .map(|(id, status)| (id.to_string(), status))
    .collect();
    assert_eq!(covered, expected);
}

#[tokio::test]
async fn the_journal_and_verify_need_the_admin_token_when_one_is_set() {
    let behaviour = Behaviour {
        control_token: Some("s3cret".into()),
        ..Behaviour::default()
    };
    let server = start(shipped_scenario_app(behaviour)).await;
    let addr = server.address();
    call(addr, "t", Method::GET, "/user", "").await;
    let check = json!({ "operation": "user-snapshot", "count": 1 }).to_string();
    let routes: [(Method, &str, &str); 7] = [
        (Method::GET, "/__mock/journal", ""),
        (Method::GET, "/__mock/sessions/t/scenario", ""),
        (Method::POST, "/__mock/verify", &check),
        (Method::GET, "/__mock/violations", ""),
        (Method::GET, "/__mock/status", ""),
        (Method::GET, "/__mock/openapi.json", ""),
        (Method::DELETE, "/__mock/journal", ""),
    ];
    for (method, target, body) in &routes {
        let without = admin_exchange(addr, method.clone(), target, &[], body, true).await;
        without.assert_problem(403, "admin-forbidden", "admin");
        let wrong = admin_exchange(
            addr,
            method.clone(),
            target,
            &[("authorization", "Bearer nope")],
            body,
            true,
        )
        .await;
        wrong.assert_problem(403, "admin-forbidden", "admin");
    }
    assert_eq!(
        server.app().journal().page(&Default::default(), 0, 0).total,
        1,
        "the refused DELETE cleared nothing"
    );
    for (method, target, body) in &routes {
        let with = admin_exchange(
            addr,
            method.clone(),
            target,
            &[("authorization", "Bearer s3cret")],
            body,
            true,
        )
        .await;
        assert_eq!(with.status, 200, "{method} {target}: {}", with.text());
    }
}

// ---------------------------------------------------------------------------
// 5. The binary: --fail-on-violation and --report at shutdown
// ---------------------------------------------------------------------------

#[tokio::test]
async fn fail_on_violation_exits_0_when_every_request_kept_the_contract() {
    let dir = TempDir::new("fail-on-violation-clean");
    let mut binary = Binary::start(&["--port", "0", "--fail-on-violation"], dir.path());
    assert_eq!(call(binary.addr, "ok", Method::GET, "/user", "").await.status, 200);
    assert_eq!(
        call(binary.addr, "ok", Method::POST, VANITY, &vanity_body("mark"))
            .await
            .status,
        200
    );
    binary.terminate();
    assert_eq!(binary.wait_exit(), Some(0), "stderr:\n{}", binary.stderr());
    let stderr = binary.stderr_once("broke the contract");
    assert!(stderr.contains("2 requests, 0 broke the contract"), "{stderr}");
}

#[tokio::test]
async fn fail_on_violation_exits_1_naming_the_operation() {
    let dir = TempDir::new("fail-on-violation");
    let mut binary = Binary::start(&["--port", "0", "--fail-on-violation"], dir.path());
    assert_eq!(call(binary.addr, "ok", Method::GET, "/user", "").await.status, 200);
    assert_eq!(
        call(binary.addr, "bad", Method::POST, VANITY, INVALID_VANITY)
            .await
            .status,
        400
    );
    binary.terminate();
    assert_eq!(binary.wait_exit(), Some(1), "stderr:\n{}", binary.stderr());
    let stderr = binary.stderr_once("user-update-vanity: 1 of 1 calls");
    assert!(stderr.contains("2 requests, 1 broke the contract"), "{stderr}");
    assert!(stderr.contains("user-update-vanity: 1 of 1 calls"), "{stderr}");
    assert!(
        !stderr.contains("user-snapshot: "),
        "only violating operations are listed:\n{stderr}"
    );
}

#[tokio::test]
async fn report_writes_one_junit_test_case_per_operation_called() {
    let dir = TempDir::new("report");
    let report = dir.path().join("contract.xml");
    let report_arg = report.display().to_string();
    let mut binary = Binary::start(&["--port", "0", "--report", &report_arg], dir.path());
    let addr = binary.addr;
    assert_eq!(call(addr, "r", Method::GET, "/user", "").await.status, 200);
    assert_eq!(call(addr, "r", Method::GET, "/user", "").await.status, 200);
    assert_eq!(
        call(addr, "r", Method::POST, VANITY, &vanity_body("mark")).await.status,
        200
    );
    assert_eq!(call(addr, "r", Method::POST, VANITY, INVALID_VANITY).await.status, 400);
    assert_eq!(call(addr, "r", Method::GET, "/nope", "").await.status, 404);
    binary.terminate();
    assert_eq!(
        binary.wait_exit(),
        Some(0),
        "without --fail-on-violation violations do not fail the run; stderr:\n{}",
        binary.stderr()
    );
    let xml = std::fs::read_to_string(&report).expect("the report is written");
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert_eq!(xml.matches("<testsuite ").count(), 1, "{xml}");
    assert_eq!(
        xml.matches("<testcase ").count(),
        3,
        "user-snapshot, user-update-vanity, unrouted:\n{xml}"
    );
    assert!(xml.contains("<testsuites tests=\"3\" failures=\"2\">"), "{xml}");
    assert_eq!(xml.matches("<failure ").count(), 2, "{xml}");

    let case = |name: &str| -> String {
        let start = xml
            .find(&format!("name=\"{name}\""))
            .unwrap_or_else(|| panic!("no test case {name}:\n{xml}"));
        let rest = &xml[start..];
        let end = rest
            .find("</testcase>")
            .or_else(|| rest.find("/>"))
            .expect("the case ends");
        rest[..end].to_string()
    };
    let snapshot = case("user-snapshot");
    assert!(!snapshot.contains("<failure"), "{snapshot}");
    assert!(snapshot.contains("2 calls, all within the contract"), "{snapshot}");
    let vanity_case = case("user-update-vanity");
    assert!(
        vanity_case.contains("message=\"1 of 2 calls broke the contract\""),
        "{vanity_case}"
    );
    assert!(
        vanity_case.contains("/body/id"),
        "the failure names the pointer: {vanity_case}"
    );
    let unrouted = case("(no operation: path or method not in the spec)");
    assert!(unrouted.contains("/path (route)"), "{unrouted}");
}

#[tokio::test]
async fn a_report_into_a_missing_directory_exits_2_naming_the_path() {
    let dir = TempDir::new("report-missing-dir");
    let report = dir.path().join("no-such-dir").join("contract.xml");
    let report_arg = report.display().to_string();
    // Said at start-up, before any client runs, not after the whole run.
    let (code, stdout, stderr) = run_to_exit(&["--port", "0", "--report", &report_arg], dir.path());
    assert_eq!(code, Some(2), "stderr:\n{stderr}");
    assert!(!stdout.contains("listening on"), "{stdout}");
    assert!(
        stderr.contains(&format!("cannot write the report to {report_arg}")),
        "{stderr}"
    );
    assert!(!report.exists());
}
