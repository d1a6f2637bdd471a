//! Hostile input over real TCP against the real binary: random bytes,
//! invalid HTTP, bad encodings in the target, huge and repeated headers,
//! wrong media types, broken, deep and out-of-range JSON, wrong-type
//! parameters, oversized bodies, bad WebSocket handshakes, and clients that
//! vanish mid-request or mid-stream.
//!
//! Every request must get its precise answer — specmock's own problem, hyper's
//! bare refusal, or a close without a word — never a 5xx and never a hang;
//! the health check answers after every batch, and the server's memory comes
//! back to where it was.
//!
//! Cases come from a seeded PRNG: `HOSTILE_SEED=N cargo test --test hostile
//! -- --nocapture` replays a run, and a failing run prints its seed.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use common::{complete_reply, repo_root, send, ws_connect, Binary, Reply, Ws, WsError, IO_TIMEOUT};
use data_encoding::BASE64;
use futures_util::StreamExt;
use http::Method;
use specmock::internal::random::SplitMix64;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const DEFAULT_SEED: u64 = 0x5eed_4057;
/// Cases in flight at once: enough to overlap hostile requests, few enough
/// for a busy 2-core machine.
const WORKERS: usize = 8;
/// A health check after this many cases.
const BATCH: usize = 500;
const HEALTH: &str = "/.well-known/health";
/// A request the server must answer 200 to after every batch, whatever came before.
struct Probe {
    path: &'static str,
    headers: &'static [(&'static str, &'static str)],
}
const SHIPPED_HEALTH: Probe = Probe {
    path: HEALTH,
    headers: &[],
};
const REQUEST_ID: (&str, &str) = ("x-request-id", "3fa85f64-5717-4562-b3fc-2c963f66afa6");
const PETSTORE_HEALTH: Probe = Probe {
    path: "/v1/pets?limit=5",
    headers: &[REQUEST_ID],
};
/// `--header-timeout` for these servers: short, so a head that never ends
/// costs its case seconds, not the default ten.
const HEADER_TIMEOUT_SECS: u64 = 2;
/// The defaults of `--max-header-bytes` and `--max-body`, and hyper's header count.
const MAX_HEADER_BYTES: usize = 64 * 1024;
const MAX_HEADERS: usize = 100;
const MAX_BODY: usize = 1024 * 1024;
/// A kept connection idle longer than this may meet the server's idle
/// timeout (the header timeout) mid-write: a case then takes a fresh one.
const REUSE_WITHIN: Duration = Duration::from_secs(1);
/// How far above its warmed-up baseline the server's RSS may end. Measured
/// on the debug binary (VmRSS ~37 MiB, a third of it anonymous): over 14
/// seeds the 10,000 requests after the warm-up ended between -0.5 and +3.9
/// MiB from it, and 1,200 vanished clients within +0.8 MiB. That spread is
/// the allocator's high-water mark moving with timing (which arena a 1 MiB
/// body lands in), not growth: a full-size warm-up did not narrow it, and
/// three more passes (40,000 requests in all) stayed within 0.4 MiB of the
/// first. 8 MiB is twice the worst seen; a leak of 800 bytes per request
/// passes it (connections and streams left behind are caught sooner, by the
/// limits).
const RSS_TOLERANCE_KIB: u64 = 8 * 1024;

// ---------------------------------------------------------------- the suite

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_hostile_requests_get_precise_answers_and_leave_no_trace() {
    let seed = seed();
    let _replay = Replay(seed);
    let server = start(&["--journal-size", "16"]);
    let started = Instant::now();
    let mut report = Report::default();
    let mut warm_up = Report::default();
    run_classes(
        &server,
        &SHIPPED_HEALTH,
        &CLASSES,
        &mut Rng::new(!seed),
        10,
        &mut warm_up,
    )
    .await;
    warm_up.assert_clean(seed, &server);
    let baseline = settled_rss(&server).await;
    let mut rng = Rng::new(seed);
    // They wait out the header timeout alongside everything else.
    let never_ending = Arc::new((0..WORKERS).map(|_| head_that_never_ends(&mut rng)).collect::<Vec<_>>());
    let waiting = tokio::spawn(timed(run_batch(server.addr, never_ending.clone())));
    run_classes(&server, &SHIPPED_HEALTH, &CLASSES, &mut rng, 1, &mut report).await;
    let (outcomes, elapsed) = waiting.await.expect("the heads that never end are judged");
    report.record(
        "heads that never end (alongside the rest)",
        &never_ending,
        outcomes,
        elapsed,
    );
    let end = memory_back_to(&server, baseline).await;
    report.print(
        &format!(
            "hostile requests (seed {seed}; the time includes {} warm-up requests)",
            warm_up.total()
        ),
        started.elapsed(),
        baseline,
        end,
    );
    report.assert_clean(seed, &server);
    assert!(report.total() >= 10_000, "the suite sends at least 10,000 requests");
    assert_rss_within_tolerance(baseline, end);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_type_parameters_are_precise_violations() {
    let seed = seed();
    let _replay = Replay(seed);
    let petstore = repo_root().join("tests/specs/petstore.yaml");
    let server = start(&["--spec", petstore.to_str().expect("a UTF-8 path")]);
    let started = Instant::now();
    let mut report = Report::default();
    let classes = [class("wrong-type parameters (petstore)", 600, wrong_type_parameter)];
    run_classes(&server, &PETSTORE_HEALTH, &classes, &mut Rng::new(seed), 1, &mut report).await;
    report.print(&format!("typed parameters (seed {seed})"), started.elapsed(), 0, 0);
    report.assert_clean(seed, &server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_vanish_mid_request_or_mid_stream_leave_nothing_behind() {
    // Well above the vanishing clients in flight (`WORKERS`): the server
    // frees a departed client's permit asynchronously.
    const MAX_CONNECTIONS: usize = 48;
    const MAX_STREAMS: usize = 32;
    const ROUNDS: usize = 5;
    const PER_ROUND: usize = 240;
    let seed = seed();
    let _replay = Replay(seed);
    let server = start(&[
        "--journal-size",
        "16",
        "--max-connections",
        &MAX_CONNECTIONS.to_string(),
        "--max-streams",
        &MAX_STREAMS.to_string(),
    ]);
    let started = Instant::now();
    let mut rng = Rng::new(seed);
    let mut tally: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut baseline = 0;
    for round in 0..ROUNDS {
        let vanishings: Vec<Vanishing> = (0..PER_ROUND).map(|_| Vanishing::draw(&mut rng)).collect();
        for vanishing in &vanishings {
            *tally.entry(vanishing.kind.name()).or_default() += 1;
        }
        vanish_all(server.addr, vanishings).await;
        full_set_admitted(server.addr, MAX_STREAMS, MAX_CONNECTIONS).await;
        assert_healthy(server.addr, &SHIPPED_HEALTH, &format!("after vanishing round {round}")).await;
        if round == 0 {
            baseline = settled_rss(&server).await;
        }
    }
    let end = memory_back_to(&server, baseline).await;
    println!(
        "\nvanishing clients (seed {seed}): {} s",
        started.elapsed().as_secs_f32()
    );
    for (kind, count) in &tally {
        println!("  {kind:<44} {count:>6}");
    }
    println!("  {:<44} {:>6}", "total", ROUNDS * PER_ROUND);
    println!("  RSS: baseline {baseline} KiB, end {end} KiB");
    assert_no_panic(&server);
    assert_rss_within_tolerance(baseline, end);
}

// ------------------------------- regressions: each was a bug this suite found

#[tokio::test]
async fn http_1_1_requests_need_exactly_one_host() {
    let server = start(&[]);
    let no_host = b"GET /.well-known/health HTTP/1.1\r\n\r\n".to_vec();
    let two_hosts = b"GET /.well-known/health HTTP/1.1\r\nhost: a\r\nhost: b\r\n\r\n".to_vec();
    for request in [no_host, two_hosts] {
        let reply = exchange_alone(server.addr, &request).await;
        reply.assert_problem(400, "invalid-request", "validator");
    }
}

#[tokio::test]
async fn conflicting_content_types_are_refused() {
    let server = start(&[]);
    let request = Wire::new("POST", b"/user/update")
        .header("content-type", "application/json")
        .header("content-type", "text/plain")
        .body(b"{}");
    let reply = exchange_alone(server.addr, &request).await;
    reply.assert_problem(415, "unsupported-media-type", "validator");
}

#[tokio::test]
async fn a_handshake_with_two_keys_or_versions_is_refused() {
    let server = start(&[]);
    let rng = &mut Rng::new(1);
    let two_keys = handshake("GET", "/user/stream")
        .header("sec-websocket-key", nonce(rng))
        .header("sec-websocket-key", nonce(rng))
        .end();
    let two_versions = handshake("GET", "/user/stream")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", nonce(rng))
        .end();
    for request in [two_keys, two_versions] {
        let reply = exchange_alone(server.addr, &request).await;
        reply.assert_problem(400, "invalid-websocket-handshake", "validator");
    }
}

#[tokio::test]
async fn a_long_unknown_path_is_answered_promptly() {
    let petstore = repo_root().join("tests/specs/petstore.yaml");
    let server = start(&["--spec", petstore.to_str().expect("a UTF-8 path")]);
    // Same segment count as `/pets/{petId}`, so the suggestion fills the template with the long segment.
    let request = Wire::get(&format!("/v1/pots/{}", "a".repeat(60_000))).end();
    let reply = tokio::time::timeout(Duration::from_secs(2), exchange_alone(server.addr, &request))
        .await
        .expect("a 404 within 2 s");
    reply.assert_problem(404, "route-not-found", "router");
}

#[tokio::test]
async fn json_nesting_is_refused_exactly_past_the_limit_it_names() {
    let server = start(&[]);
    let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let post = |body: String| {
        Wire::new("POST", b"/user/update")
            .header("content-type", "application/json")
            .body(body.as_bytes())
    };
    let refused = exchange_alone(server.addr, &post(nested(1000))).await;
    let detail = refused.assert_problem(400, "malformed-body", "validator")["detail"].to_string();
    let limit: usize = detail
        .split("deeper than ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("the refusal names its limit: {detail}"));
    let at_limit = exchange_alone(server.addr, &post(nested(limit))).await;
    let violations = at_limit.assert_problem(400, "invalid-request", "validator");
    assert_eq!(violations["violations"][0]["rule"], "type", "{violations:#}");
    let past_limit = exchange_alone(server.addr, &post(nested(limit + 1))).await;
    past_limit.assert_problem(400, "malformed-body", "validator");
}

#[tokio::test]
async fn a_repeated_preference_keeps_its_first_value() {
    let server = start(&[]);
    let in_one_line = Wire::get("/user").header("prefer", "code=200, code=999").end();
    let in_two_lines = Wire::get("/user")
        .header("prefer", "code=200")
        .header("prefer", "code=999")
        .end();
    for request in [in_one_line, in_two_lines] {
        let reply = exchange_alone(server.addr, &request).await;
        assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    }
}

// ---------------------------------------------------------------- classes

/// A family of hostile requests: how many, and how to draw one.
struct Class {
    name: &'static str,
    count: usize,
    make: fn(&mut Rng) -> Case,
}

const fn class(name: &'static str, count: usize, make: fn(&mut Rng) -> Case) -> Class {
    Class { name, count, make }
}

#[rustfmt::skip]
const CLASSES: [Class; 12] = [
    class("random bytes", 1500, random_bytes),
    class("invalid HTTP", 1200, invalid_http),
    class("bad UTF-8 / percent-encoding in target", 1500, bad_target),
    class("huge and too many headers", 300, huge_headers),
    class("duplicated headers", 600, duplicated_headers),
    class("wrong or missing Content-Type", 1000, wrong_content_type),
    class("truncated JSON", 1500, truncated_json),
    class("deeply nested JSON", 300, deep_json),
    class("numbers beyond f64", 800, huge_number),
    class("wrong-type controls and admin parameters", 800, wrong_type_control),
    class("bodies over --max-body", 60, oversized_body),
    class("bad WebSocket handshakes", 800, bad_handshake),
];

/// What a hostile request must get.
#[derive(Clone, Copy)]
enum Answer {
    /// specmock's own problem+json (README, "Mock-made errors").
    Problem {
        status: u16,
        class: &'static str,
        origin: &'static str,
    },
    /// What the spec declares: a request just inside a limit still gets it.
    Declared(u16),
    /// hyper's refusal of what it cannot parse: the bare status, no body, `connection: close`.
    Hyper(u16),
    /// No answer at all, then the close: hyper's way with an HTTP/2 preface
    /// and with a head that never ends (after `--header-timeout`).
    Silence,
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Answer::Problem { status, class, .. } => write!(f, "{status} {class}"),
            Answer::Declared(status) => write!(f, "{status} (spec)"),
            Answer::Hyper(status) => write!(f, "{status} (hyper)"),
            Answer::Silence => f.write_str("closed unanswered"),
        }
    }
}

const fn problem(status: u16, class: &'static str, origin: &'static str) -> Answer {
    Answer::Problem { status, class, origin }
}

const ROUTE_NOT_FOUND: Answer = problem(404, "route-not-found", "router");
const METHOD_NOT_ALLOWED: Answer = problem(405, "method-not-allowed", "router");
const UPGRADE_REQUIRED: Answer = problem(426, "upgrade-required", "router");
const INVALID_REQUEST: Answer = problem(400, "invalid-request", "validator");
const MALFORMED_BODY: Answer = problem(400, "malformed-body", "validator");
const UNAUTHORIZED: Answer = problem(401, "unauthorized", "validator");
const UNSUPPORTED_MEDIA_TYPE: Answer = problem(415, "unsupported-media-type", "validator");
const PAYLOAD_TOO_LARGE: Answer = problem(413, "payload-too-large", "validator");
const BAD_HANDSHAKE: Answer = problem(400, "invalid-websocket-handshake", "validator");
const UNKNOWN_SCENARIO: Answer = problem(400, "unknown-scenario", "scenario");
const UNDECLARED_STATUS: Answer = problem(400, "undeclared-status", "scenario");
const UNKNOWN_EXAMPLE: Answer = problem(400, "unknown-example", "scenario");
const ADMIN_BAD_REQUEST: Answer = problem(400, "admin-bad-request", "admin");

/// Whether the connection must stay open for the next request, or close.
#[derive(Clone, Copy, PartialEq, Eq)]
enum After {
    KeepAlive,
    Close,
}

struct Case {
    request: Vec<u8>,
    answer: Answer,
    after: After,
    /// For an invalid request, the violation that must be listed: `(pointer, rule)`.
    violation: Option<(String, &'static str)>,
}

impl Case {
    fn kept(request: Vec<u8>, answer: Answer) -> Self {
        Self {
            request,
            answer,
            after: After::KeepAlive,
            violation: None,
        }
    }

    fn closing(request: Vec<u8>, answer: Answer) -> Self {
        Self {
            after: After::Close,
            ..Self::kept(request, answer)
        }
    }

    fn listing(mut self, pointer: &str, rule: &'static str) -> Self {
        self.violation = Some((pointer.to_string(), rule));
        self
    }
}

/// The shipped spec's GET operations that answer plain HTTP (the stream wants a WebSocket).
const PLAIN_GETS: [&str; 4] = [HEALTH, "/user", "/user/refresh", "/user/providers"];

/// The POST operations taking an optional JSON body, each with what gets it past security.
const JSON_POSTS: [(&str, &[(&str, &str)]); 4] = [
    ("/user/update", &[]),
    ("/user/update/vanity", &[]),
    ("/user/beta/status", &[]),
    ("/user/select", &[("authorization", "Bearer hostile")]),
];

fn json_post(rng: &mut Rng) -> Wire {
    let (path, credentials) = rng.pick(&JSON_POSTS);
    Wire::new("POST", path.as_bytes()).headers(credentials)
}

/// `body` as JSON to one of the operations that take JSON.
fn json_to_any(rng: &mut Rng, body: &[u8]) -> Vec<u8> {
    json_post(rng).header("content-type", "application/json").body(body)
}

fn update_user() -> Wire {
    Wire::new("POST", b"/user/update").header("content-type", "application/json")
}

fn random_bytes(rng: &mut Rng) -> Case {
    // A byte that cannot start a method (CR and LF would be skipped as empty
    // lines) makes hyper refuse at once, whatever follows.
    let mut request = vec![rng.byte_where(|b| !is_token(b) && b != b'\r' && b != b'\n')];
    let tail = rng.below(4096);
    request.extend(rng.bytes(tail));
    Case::closing(request, Answer::Hyper(400))
}

fn invalid_http(rng: &mut Rng) -> Case {
    let path = rng.pick(&PLAIN_GETS);
    match rng.below(9) {
        0 => Case::closing(bad_request_line(rng, path), Answer::Hyper(400)),
        1 => {
            let version = bad_version(rng);
            Case::closing(
                Wire::line(format!("GET {path} {version}").as_bytes()).end(),
                Answer::Hyper(400),
            )
        }
        2 => Case::closing(bad_header_line(rng, path), Answer::Hyper(400)),
        // The body cannot be read, so the connection cannot carry another request.
        3 => Case::closing(bad_chunks(rng), INVALID_REQUEST).listing("/body", "transfer"),
        4 => Case::closing(bad_framing(rng), Answer::Hyper(400)),
        // hyper keeps two lengths for itself: they are "too large" to be one.
        5 => {
            let length = rng.pick(&[u64::MAX - 1, u64::MAX]);
            let request = update_user().header("content-length", length.to_string()).end();
            Case::closing(request, Answer::Hyper(431))
        }
        6 => smuggled_request(rng),
        7 => unknown_method(rng),
        _ => Case::closing(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec(), Answer::Silence),
    }
}

/// A slow client: the head stops short and the server closes once
/// `--header-timeout` passes, without an answer and without holding on.
fn head_that_never_ends(rng: &mut Rng) -> Case {
    let mut head = Wire::get(rng.pick(&PLAIN_GETS)).end();
    head.truncate(rng.between(1, head.len() - 1));
    Case::closing(head, Answer::Silence)
}

fn bad_request_line(rng: &mut Rng, path: &str) -> Vec<u8> {
    let line = match rng.below(6) {
        0 => b"GET".to_vec(),
        1 => format!("GET {path}").into_bytes(),
        2 => format!("GET  {path} HTTP/1.1").into_bytes(),
        3 => format!("GET\t{path} HTTP/1.1").into_bytes(),
        4 => format!("GET {path} HTTP/1.1 {}", rng.text(LETTERS, 1, 12)).into_bytes(),
        _ => {
            let control = rng.byte_where(|b| b == b' ' || b == 0x7f || (b < 0x20 && !b"\t\r\n".contains(&b)));
            [&b"GET "[..], path.as_bytes(), &[control], b"x HTTP/1.1"].concat()
        }
    };
    Wire::line(&line).end()
}

fn bad_version(rng: &mut Rng) -> String {
    match rng.below(3) {
        0 => loop {
            let (major, minor) = (rng.below(10), rng.below(10));
            if major != 1 || minor > 1 {
                break format!("HTTP/{major}.{minor}");
            }
        },
        1 => rng
            .pick(&[
                "http/1.1",
                "HTTP/1",
                "HTTP/1.01",
                "HTTP/11",
                "HTTPS/1.1",
                "HTTP/1.1.1",
                "HTTP /1.1",
                "HTTP/",
            ])
            .to_string(),
        _ => rng.text(LETTERS, 1, 8),
    }
}

fn bad_header_line(rng: &mut Rng, path: &str) -> Vec<u8> {
    let line = match rng.below(6) {
        0 => b"x-no-colon value".to_vec(),
        1 => b"x-space-before-colon : value".to_vec(),
        2 => b": no name".to_vec(),
        3 => [&b"x"[..], &[rng.pick(b"()<>@,;\\\"/[]?={} ")], b"y: value"].concat(),
        4 => {
            let control = rng.byte_where(|b| b == 0x7f || (b < 0x20 && !b"\t\r\n".contains(&b)));
            [&b"x-control: a"[..], &[control], b"b"].concat()
        }
        _ => b"x-folded: a\r\n b".to_vec(),
    };
    Wire::get(path).line_raw(&line).end()
}

fn bad_chunks(rng: &mut Rng) -> Vec<u8> {
    let chunks = match rng.below(3) {
        0 => format!(
            "{}\r\n{{}}\r\n0\r\n\r\n",
            rng.text(b"ghijklmnopqrstuvwxyzGHIJKLMNOPQRSTUVWXYZ", 1, 4)
        ),
        1 => "1\r\n{}\r\n0\r\n\r\n".to_string(),
        _ => format!("{}\r\n{{}}\r\n0\r\n\r\n", rng.text(b"123456789abcdef", 17, 40)),
    };
    update_user()
        .header("transfer-encoding", "chunked")
        .then(chunks.as_bytes())
}

fn bad_framing(rng: &mut Rng) -> Vec<u8> {
    let wire = update_user();
    let wire = match rng.below(4) {
        0 => {
            let coding = rng.pick(&[
                "gzip",
                "deflate",
                "br",
                "compress",
                "identity",
                "chunked, gzip",
                "x-hostile",
            ]);
            wire.header("transfer-encoding", coding)
        }
        1 => {
            let first = rng.below(64);
            let second = first + rng.between(1, 64);
            let (a, b) = if rng.one_in(2) {
                (first, second)
            } else {
                (second, first)
            };
            wire.header("content-length", a.to_string())
                .header("content-length", b.to_string())
        }
        2 => {
            let length = rng.pick(&[
                "-1",
                "+2",
                "0x2",
                "1e3",
                "",
                "2 2",
                "2,2",
                "two",
                "18446744073709551616",
            ]);
            wire.header("content-length", length)
        }
        _ => Wire::line(b"POST /user/update HTTP/1.0").header("transfer-encoding", "chunked"),
    };
    wire.then(b"1\r\n{\r\n0\r\n\r\n")
}

/// Content-Length and Transfer-Encoding together: the chunks win (RFC 9112
/// §6.3), so the body is `{`; the request Content-Length would have framed
/// behind it must never be answered, and the connection closes.
fn smuggled_request(rng: &mut Rng) -> Case {
    let tail = b"1\r\n{\r\n0\r\n\r\nGET /.well-known/health HTTP/1.1\r\nhost: hostile\r\n\r\n";
    let (length, chunked) = (
        ("content-length", tail.len().to_string()),
        ("transfer-encoding", "chunked".to_string()),
    );
    let (first, second) = if rng.one_in(2) {
        (length, chunked)
    } else {
        (chunked, length)
    };
    let request = update_user()
        .header(first.0, first.1)
        .header(second.0, second.1)
        .then(tail);
    Case::closing(request, MALFORMED_BODY)
}

fn unknown_method(rng: &mut Rng) -> Case {
    let method = loop {
        let method = if rng.one_in(2) {
            rng.pick(&["PUT", "DELETE", "PATCH", "TRACE", "OPTIONS", "get", "post", "Get"])
                .to_string()
        } else {
            rng.text(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", 3, 10)
        };
        if !["GET", "HEAD", "POST", "CONNECT"].contains(&method.as_str()) {
            break method;
        }
    };
    if rng.one_in(2) {
        Case::kept(
            Wire::new(&method, rng.pick(&PLAIN_GETS).as_bytes()).end(),
            METHOD_NOT_ALLOWED,
        )
    } else {
        let path = format!("/no-such-{}", rng.text(LETTERS, 1, 12));
        Case::kept(Wire::new(&method, path.as_bytes()).end(), ROUTE_NOT_FOUND)
    }
}

fn bad_target(rng: &mut Rng) -> Case {
    let path = rng.pick(&PLAIN_GETS);
    match rng.below(9) {
        // hyper checks that the target is UTF-8 before anything else sees it.
        0 => {
            let target = [&b"/user/"[..], &invalid_utf8(rng)].concat();
            Case::closing(Wire::new("GET", &target).end(), Answer::Hyper(400))
        }
        1 => {
            let target = [path.as_bytes(), b"?q=", &invalid_utf8(rng)[..]].concat();
            Case::closing(Wire::new("GET", &target).end(), Answer::Hyper(400))
        }
        2 => {
            let target = format!("/user/{}", rng.pick(&NON_ASCII));
            Case::kept(Wire::get(&target).end(), ROUTE_NOT_FOUND)
        }
        3 => Case::kept(
            Wire::get(&format!("{HEALTH}?q={}", rng.pick(&NON_ASCII))).end(),
            Answer::Declared(200),
        ),
        // Paths are matched as sent: no template takes a malformed escape.
        4 => Case::kept(Wire::get(&format!("{path}{}", bad_escape(rng))).end(), ROUTE_NOT_FOUND),
        5 => {
            let (method, path) = if rng.one_in(2) {
                ("GET", path)
            } else {
                ("POST", rng.pick(&JSON_POSTS).0)
            };
            let target = format!("{path}?{}", bad_query(rng));
            Case::kept(Wire::new(method, target.as_bytes()).end(), INVALID_REQUEST).listing("/query", "encoding")
        }
        // The stream asks for its upgrade before its query is read.
        6 => Case::kept(
            Wire::get(&format!("/user/stream?{}", bad_query(rng))).end(),
            UPGRADE_REQUIRED,
        ),
        7 => Case::kept(
            Wire::get(&format!("/__mock/sessions/{}", bad_escape_or_utf8(rng))).end(),
            ADMIN_BAD_REQUEST,
        ),
        _ => Case::kept(
            Wire::get(&format!("/__mock/journal?{}", bad_query(rng))).end(),
            ADMIN_BAD_REQUEST,
        ),
    }
}

const NON_ASCII: [&str; 8] = ["é", "ü", "ß", "中文", "😀", "Ω", "\u{feff}", "\u{10ffff}"];

/// Bytes that are not UTF-8, one way or another.
fn invalid_utf8(rng: &mut Rng) -> Vec<u8> {
    match rng.below(5) {
        0 => vec![rng.between(0x80, 0xbf) as u8],
        1 => vec![rng.pick(&[0xc0, 0xc1, 0xf5, 0xf8, 0xfe, 0xff])],
        2 => vec![rng.between(0xc2, 0xf4) as u8, b'a'],
        3 => vec![0xed, rng.between(0xa0, 0xbf) as u8, 0x80],
        _ => vec![0xe0, rng.between(0x80, 0x9f) as u8, 0x80],
    }
}

/// A `%` escape that is not `%XX` with two hex digits (meant for the end of a component).
fn bad_escape(rng: &mut Rng) -> String {
    const NOT_HEX: &[u8] = b"GHIJKLMNOPQRSTUVWXYZghijklmnopqrstuvwxyz%-_.~";
    match rng.below(4) {
        0 => "%".to_string(),
        1 => format!("%{}", rng.text(b"0123456789abcdefABCDEF", 1, 1)),
        2 => format!("%{}{}", rng.text(NOT_HEX, 1, 1), rng.text(b"0123456789abcdef", 1, 1)),
        _ => format!("%{}{}", rng.text(b"0123456789abcdef", 1, 1), rng.text(NOT_HEX, 1, 1)),
    }
}

fn bad_escape_or_utf8(rng: &mut Rng) -> String {
    if rng.one_in(2) {
        bad_escape(rng)
    } else {
        invalid_utf8(rng).iter().map(|b| format!("%{b:02X}")).collect()
    }
}

fn bad_query(rng: &mut Rng) -> String {
    if rng.one_in(4) {
        format!("{}=1", bad_escape_or_utf8(rng))
    } else {
        format!("q={}", bad_escape_or_utf8(rng))
    }
}

fn huge_headers(rng: &mut Rng) -> Case {
    match rng.below(6) {
        0 | 1 => {
            let size = rng.between(MAX_HEADER_BYTES + 1, 4 * MAX_HEADER_BYTES);
            Case::closing(head_of_size(rng, size), Answer::Hyper(431))
        }
        2 => {
            let size = rng.between(MAX_HEADER_BYTES - 4096, MAX_HEADER_BYTES);
            Case::kept(head_of_size(rng, size), Answer::Declared(200))
        }
        3 => Case::closing(
            head_with_headers(rng.between(MAX_HEADERS + 1, 3 * MAX_HEADERS)),
            Answer::Hyper(431),
        ),
        4 => Case::kept(head_with_headers(MAX_HEADERS), Answer::Declared(200)),
        _ => {
            let bare = Wire::get("/").end().len();
            let target = format!(
                "/{}",
                "a".repeat(rng.between(MAX_HEADER_BYTES + 1, 2 * MAX_HEADER_BYTES) - bare)
            );
            Case::closing(Wire::get(&target).end(), Answer::Hyper(431))
        }
    }
}

/// A health check whose head, final CRLF included, is exactly `size` bytes.
fn head_of_size(rng: &mut Rng, size: usize) -> Vec<u8> {
    let bare = Wire::get(HEALTH).header("x-filler", "").end().len();
    let mut filler = rng.text(VISIBLE_NO_SPACE, 64, 64).repeat((size - bare) / 64 + 1);
    filler.truncate(size - bare);
    Wire::get(HEALTH).header("x-filler", filler).end()
}

/// A health check with `count` header lines, Host included.
fn head_with_headers(count: usize) -> Vec<u8> {
    (1..count)
        .fold(Wire::get(HEALTH), |wire, i| wire.header(&format!("x-header-{i}"), "v"))
        .end()
}

/// Repeated headers the spec or the mock reads once: where both copies say
/// the same, or where the mock's rule (its own controls: the first one
/// counts) decides. Conflicting copies of singleton fields are pinned as bugs above.
fn duplicated_headers(rng: &mut Rng) -> Case {
    let session = ("x-mock-session", "hostile-duplicates");
    let broken = truncated(rng);
    match rng.below(6) {
        0 => {
            let unknown = format!("no-such-{}", rng.text(LETTERS, 1, 12));
            let request = Wire::get("/user")
                .headers(&[session])
                .header("x-mock-scenario", unknown)
                .header("x-mock-scenario", rng.pick(&["default", "signed-out"]))
                .end();
            Case::kept(request, UNKNOWN_SCENARIO)
        }
        1 => {
            let sessions = ["hostile-a", "hostile-b", "hostile-c"];
            let request = Wire::get("/user")
                .header("x-mock-session", rng.pick(&sessions))
                .header("x-mock-session", rng.pick(&sessions))
                .end();
            Case::kept(request, Answer::Declared(200))
        }
        2 => {
            let request = json_post(rng)
                .header("content-type", "application/json")
                .header("content-type", "application/json")
                .body(&broken);
            Case::kept(request, MALFORMED_BODY)
        }
        3 => {
            let length = broken.len().to_string();
            let request = update_user()
                .header("content-length", &length)
                .header("content-length", &length)
                .then(&broken);
            Case::kept(request, MALFORMED_BODY)
        }
        4 => {
            let request = Wire::new("POST", b"/user/select")
                .header("authorization", "Bearer hostile")
                .header("authorization", "Bearer hostile")
                .header("content-type", "application/json")
                .body(&broken);
            Case::kept(request, MALFORMED_BODY)
        }
        _ => {
            let copies = rng.between(2, MAX_HEADERS - 1);
            let request = (0..copies)
                .fold(Wire::get(HEALTH), |wire, _| wire.header("x-same", "again"))
                .end();
            Case::kept(request, Answer::Declared(200))
        }
    }
}

fn wrong_content_type(rng: &mut Rng) -> Case {
    let body = match rng.below(3) {
        0 => b"{}".to_vec(),
        1 => any_document(rng).to_vec(),
        _ => rng.text(VISIBLE, 1, 200).into_bytes(),
    };
    let content_type: Option<Vec<u8>> = match rng.below(4) {
        0 => None,
        1 => Some(format!("x-{}/{}", rng.text(LETTERS, 1, 8), rng.text(LETTERS, 1, 8)).into_bytes()),
        _ => Some(rng.pick(&NOT_JSON).to_vec()),
    };
    let with_type = |wire: Wire| match &content_type {
        Some(value) => wire.header("content-type", value),
        None => wire,
    };
    match rng.below(8) {
        0 => {
            let request = with_type(Wire::new("POST", b"/user/clear")).body(&body);
            Case::kept(request, INVALID_REQUEST).listing("/body", "absent")
        }
        // Security is checked before the body.
        1 => Case::kept(with_type(Wire::new("POST", b"/user/select")).body(&body), UNAUTHORIZED),
        _ => Case::kept(with_type(json_post(rng)).body(&body), UNSUPPORTED_MEDIA_TYPE),
    }
}

const NOT_JSON: [&[u8]; 16] = [
    b"text/plain",
    b"text/json",
    b"application/xml",
    b"application/x-www-form-urlencoded",
    b"multipart/form-data; boundary=hostile",
    b"application/octet-stream",
    b"application/jsonx",
    b"application/json-patch+json",
    b"application/problem+json",
    b"json",
    b"application",
    b"*/*",
    b"",
    b";",
    b"\xff\xfe",
    b"application/json/x",
];

fn truncated_json(rng: &mut Rng) -> Case {
    let body = truncated(rng);
    Case::kept(json_to_any(rng, &body), MALFORMED_BODY)
}

/// A JSON document cut somewhere inside: never valid, never empty.
fn truncated(rng: &mut Rng) -> Vec<u8> {
    let document = any_document(rng);
    document[..rng.between(1, document.len() - 1)].to_vec()
}

fn any_document(rng: &mut Rng) -> &'static [u8] {
    let documents = json_documents();
    &documents[rng.below(documents.len())]
}

/// Well-formed JSON documents to break: the shipped profiles and two small
/// request bodies, without trailing whitespace (a cut there would leave them whole).
fn json_documents() -> &'static [Vec<u8>] {
    static DOCUMENTS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    DOCUMENTS.get_or_init(|| {
        let fixture = |name: &str| {
            let path = repo_root().join("fixtures").join(name);
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
            text.trim_end().as_bytes().to_vec()
        };
        vec![
            fixture("user-signed-in.json"),
            fixture("user-minimal.json"),
            br#"{"vanityname":"hostile"}"#.to_vec(),
            br#"{"user_id":"github|1","email":"hostile@example.org"}"#.to_vec(),
        ]
    })
}

fn deep_json(rng: &mut Rng) -> Case {
    if rng.one_in(5) {
        // Shallow enough to parse: judged by the schema (no request body is an array).
        let depth = rng.between(1, 127);
        let body = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        return Case::kept(json_to_any(rng, body.as_bytes()), INVALID_REQUEST).listing("/body", "type");
    }
    let depth = match rng.below(3) {
        0 => 100_000,
        1 => rng.between(129, 1000),
        _ => rng.between(1000, 100_000),
    };
    let body = match rng.below(4) {
        0 => "[".repeat(depth),
        1 => format!("{}{}", "[".repeat(depth), "]".repeat(depth)),
        2 => format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth)),
        _ => {
            let openers: String = (0..64).map(|_| if rng.one_in(2) { "[" } else { r#"{"k":"# }).collect();
            openers.repeat(depth.div_ceil(64))
        }
    };
    Case::kept(json_to_any(rng, body.as_bytes()), MALFORMED_BODY)
}

fn huge_number(rng: &mut Rng) -> Case {
    match rng.below(5) {
        0..=2 => {
            // Beyond f64 or within it, however long: numbers are kept as written
            // (arbitrary precision), so this is a number where an object belongs.
            let number = if rng.one_in(3) {
                long_number_within_f64(rng)
            } else {
                out_of_f64_range(rng)
            };
            let body = rng.pick(&NUMBER_PLACES).replace('N', &number);
            Case::kept(json_to_any(rng, body.as_bytes()), INVALID_REQUEST).listing("/body", "type")
        }
        3 => {
            let code = if rng.one_in(2) {
                out_of_f64_range(rng)
            } else {
                long_number_within_f64(rng)
            };
            Case::kept(
                user_with_control(rng, "__code", &code, "prefer", format!("code={code}")),
                UNDECLARED_STATUS,
            )
        }
        _ => {
            let number = out_of_f64_range(rng).replace('+', "");
            let request = if rng.one_in(3) {
                let body = format!(
                    r#"{{"operation":"health","{}":{number}}}"#,
                    rng.pick(&["count", "at_least", "at_most"])
                );
                Wire::new("POST", b"/__mock/verify")
                    .header("content-type", "application/json")
                    .body(body.as_bytes())
            } else {
                let filter = rng.pick(&["limit", "offset", "status"]);
                Wire::get(&format!("/__mock/journal?{filter}={number}")).end()
            };
            Case::kept(request, ADMIN_BAD_REQUEST)
        }
    }
}

/// Where a number sits in a request body (`N`) that every JSON operation
/// refuses at `/body` (it wants an object there).
const NUMBER_PLACES: [&str; 4] = [
    "[N]",
    "[1, 2, N]",
    r#"[{"id": N}]"#,
    r#"[{"aesthetics": {"font": {"size": N}}}]"#,
];

fn out_of_f64_range(rng: &mut Rng) -> String {
    let sign = if rng.one_in(2) { "-" } else { "" };
    match rng.below(3) {
        0 => format!("{sign}1e{}", rng.between(309, 1_000_000)),
        1 => {
            let count = rng.between(310, 1000);
            format!("{sign}{}", digits(rng, count))
        }
        _ => format!(
            "{sign}{}.{}e+{}",
            rng.between(1, 9),
            digits(rng, 20),
            rng.between(400, 99_999)
        ),
    }
}

fn long_number_within_f64(rng: &mut Rng) -> String {
    match rng.below(3) {
        0 => {
            let count = rng.between(21, 300);
            digits(rng, count)
        }
        1 => format!("1e-{}", rng.between(400, 100_000)),
        _ => format!("0.{}", digits(rng, 400)),
    }
}

/// `count` decimal digits, the first not zero.
fn digits(rng: &mut Rng, count: usize) -> String {
    let mut text = rng.text(b"123456789", 1, 1);
    text.push_str(&rng.text(b"0123456789", count - 1, count - 1));
    text
}

/// The shipped spec declares no parameters: the typed values it reads are
/// the mock's own controls and the admin API's filters.
fn wrong_type_control(rng: &mut Rng) -> Case {
    let unknown = format!("no-such-{}", rng.text(LETTERS, 1, 12));
    match rng.below(6) {
        0 => {
            let code = not_a_declared_status(rng);
            Case::kept(
                user_with_control(rng, "__code", &code, "prefer", format!("code={code}")),
                UNDECLARED_STATUS,
            )
        }
        1 => {
            let header = format!("example={unknown}");
            Case::kept(
                user_with_control(rng, "__example", &unknown, "prefer", header),
                UNKNOWN_EXAMPLE,
            )
        }
        2 => {
            let header = unknown.clone();
            Case::kept(
                user_with_control(rng, "__scenario", &unknown, "x-mock-scenario", header),
                UNKNOWN_SCENARIO,
            )
        }
        3 | 4 => {
            let (filter, value) = rng.pick(&WRONG_FILTERS);
            let value = value.replace("NAME", &unknown);
            Case::kept(
                Wire::get(&format!("/__mock/journal?{filter}={value}")).end(),
                ADMIN_BAD_REQUEST,
            )
        }
        _ => {
            let body = rng.pick(&[r#"{"name": 5}"#, r#"{"name": null}"#, "[]", r#""default""#, "{}", "{"]);
            let request = Wire::new("PUT", b"/__mock/sessions/hostile/scenario")
                .header("content-type", "application/json")
                .body(body.as_bytes());
            Case::kept(request, ADMIN_BAD_REQUEST)
        }
    }
}

/// `GET /user` with one of the mock's controls: as its query twin or as its header.
fn user_with_control(rng: &mut Rng, twin: &str, value: &str, header: &str, header_value: String) -> Vec<u8> {
    if rng.one_in(2) {
        Wire::get(&format!("/user?{twin}={value}")).end()
    } else {
        Wire::get("/user").header(header, header_value).end()
    }
}

/// Text `/user` (which declares only 200) cannot take as a status.
fn not_a_declared_status(rng: &mut Rng) -> String {
    if rng.one_in(2) {
        loop {
            let status = rng.below(1000);
            if status != 200 {
                break status.to_string();
            }
        }
    } else {
        rng.pick(&[
            "abc",
            "-200",
            "200.0",
            "2e2",
            "0x1F",
            "",
            "4294967496",
            "NaN",
            "true",
            "%00",
        ])
        .to_string()
    }
}

/// Journal filters with values of the wrong type (`NAME`: a name nothing has).
const WRONG_FILTERS: [(&str, &str); 16] = [
    ("limit", "abc"),
    ("limit", "-1"),
    ("limit", "1.5"),
    ("limit", ""),
    ("offset", "1e3"),
    ("offset", "0x10"),
    ("status", "abc"),
    ("status", "99999"),
    ("status", "-1"),
    ("since", "yesterday"),
    ("since", "2026-13-01T00:00:00Z"),
    ("since", "1e400"),
    ("violating", "yes"),
    ("violating", "1"),
    ("operation", "NAME"),
    ("NAME", "1"),
];

fn oversized_body(rng: &mut Rng) -> Case {
    match rng.below(5) {
        // Refused from the declared length alone, without reading a byte of the body.
        0 => {
            let length = rng.between(MAX_BODY + 1, 1 << 40);
            let wire = update_user().header("content-length", length.to_string());
            let wire = if rng.one_in(2) {
                wire.header("expect", "100-continue")
            } else {
                wire
            };
            Case::closing(wire.end(), PAYLOAD_TOO_LARGE)
        }
        1 => {
            let length = u64::MAX - 2;
            Case::closing(
                update_user().header("content-length", length.to_string()).end(),
                PAYLOAD_TOO_LARGE,
            )
        }
        2 => {
            let body = vec![b' '; rng.between(MAX_BODY + 1, MAX_BODY + 4096)];
            Case::closing(update_user().body(&body), PAYLOAD_TOO_LARGE)
        }
        // Chunks past the limit that never end: after the 413 hyper drains
        // what has arrived, and only a body that ends there would leave the
        // connection usable; this one cannot.
        3 => {
            let mut chunks = Vec::new();
            let mut total = 0;
            while total <= MAX_BODY {
                let size = rng.between(1, 64 * 1024);
                chunks.extend(format!("{size:x}\r\n").into_bytes());
                chunks.extend(vec![b' '; size]);
                chunks.extend(b"\r\n");
                total += size;
            }
            Case::closing(
                update_user().header("transfer-encoding", "chunked").then(&chunks),
                PAYLOAD_TOO_LARGE,
            )
        }
        // Exactly at the limit is within it: the schema judges the body.
        _ => {
            let frame = r#"{"id":""}"#.len();
            let body = format!(r#"{{"id":"{}"}}"#, "a".repeat(MAX_BODY - frame));
            Case::kept(update_user().body(body.as_bytes()), INVALID_REQUEST).listing("/body/aesthetics", "required")
        }
    }
}

fn bad_handshake(rng: &mut Rng) -> Case {
    let key = nonce(rng);
    match rng.below(7) {
        0 => Case::kept(handshake("GET", "/user/stream").end(), BAD_HANDSHAKE),
        1 => {
            let request = handshake("GET", "/user/stream")
                .header("sec-websocket-key", bad_key(rng))
                .end();
            Case::kept(request, BAD_HANDSHAKE)
        }
        2 => {
            let wire = Wire::get("/user/stream")
                .header("upgrade", "websocket")
                .header("connection", "Upgrade")
                .header("sec-websocket-key", &key);
            let wire = match rng.below(3) {
                0 => wire,
                1 => wire.header("sec-websocket-version", rng.pick(&BAD_VERSIONS)),
                _ => wire.header("sec-websocket-version", rng.byte_where(|b| b != 13).to_string()),
            };
            Case::kept(wire.end(), BAD_HANDSHAKE)
        }
        3 => {
            let (upgrade, connection) = rng.pick(&NOT_AN_UPGRADE);
            let wire = Wire::get("/user/stream").header("sec-websocket-key", &key);
            let wire = match upgrade {
                Some(value) => wire.header("upgrade", value),
                None => wire,
            };
            let wire = match connection {
                Some(value) => wire.header("connection", value),
                None => wire,
            };
            Case::kept(wire.header("sec-websocket-version", "13").end(), UPGRADE_REQUIRED)
        }
        4 => {
            let request = handshake("POST", "/user/stream")
                .header("sec-websocket-key", &key)
                .end();
            Case::kept(request, METHOD_NOT_ALLOWED)
        }
        5 => {
            let target = format!("/user/stream?{}", bad_query(rng));
            let request = handshake("GET", &target).header("sec-websocket-key", &key).end();
            Case::kept(request, INVALID_REQUEST).listing("/query", "encoding")
        }
        _ => {
            let scenario = format!("no-such-{}", rng.text(LETTERS, 1, 12));
            let request = handshake("GET", &format!("/user/stream?__scenario={scenario}"))
                .header("sec-websocket-key", &key)
                .end();
            Case::kept(request, UNKNOWN_SCENARIO)
        }
    }
}

const BAD_VERSIONS: [&str; 8] = ["8", "12", "14", "0", "13, 8", "13.0", "", "thirteen"];

/// `Upgrade` and `Connection` values that do not ask for a WebSocket.
const NOT_AN_UPGRADE: [(Option<&str>, Option<&str>); 5] = [
    (None, None),
    (Some("websocket"), None),
    (None, Some("Upgrade")),
    (Some("h2c"), Some("Upgrade")),
    (Some("websocket"), Some("keep-alive")),
];

/// A handshake's head with everything but its key.
fn handshake(method: &str, target: &str) -> Wire {
    Wire::new(method, target.as_bytes())
        .header("upgrade", "websocket")
        .header("connection", "keep-alive, Upgrade")
        .header("sec-websocket-version", "13")
}

/// A valid key: 16 random bytes in base64.
fn nonce(rng: &mut Rng) -> String {
    BASE64.encode(&rng.bytes(16))
}

fn bad_key(rng: &mut Rng) -> Vec<u8> {
    match rng.below(4) {
        0 => {
            let length = loop {
                let length = rng.below(64);
                if length != 16 {
                    break length;
                }
            };
            BASE64.encode(&rng.bytes(length)).into_bytes()
        }
        1 => {
            let mut key = nonce(rng).into_bytes();
            let at = rng.below(key.len());
            key[at] = rng.pick(b"!*-_.~@#$");
            key
        }
        2 => nonce(rng).trim_end_matches('=').as_bytes().to_vec(),
        _ => (0..rng.between(1, 24)).map(|_| rng.between(0x80, 0xff) as u8).collect(),
    }
}

fn wrong_type_parameter(rng: &mut Rng) -> Case {
    let mut request_id = REQUEST_ID.1.to_string();
    let (target, pointer, rule) = match rng.below(8) {
        0 => (
            format!("/v1/pets?limit={}", not_an_integer(rng)),
            "/query/limit",
            "type",
        ),
        1 => (
            format!("/v1/pets?limit=-{}", rng.below(1 << 40)),
            "/query/limit",
            "minimum",
        ),
        2 => {
            let limit = if rng.one_in(2) {
                rng.between(101, i64::MAX as usize).to_string()
            } else {
                let count = rng.between(21, 400);
                digits(rng, count)
            };
            (format!("/v1/pets?limit={limit}"), "/query/limit", "maximum")
        }
        3 => (format!("/v1/pets?limit=5&{}", bad_query(rng)), "/query", "encoding"),
        4 => (format!("/v1/pets/{}", not_an_integer(rng)), "/path/petId", "type"),
        // int32 is a range.
        5 => {
            let id = rng.between(1 << 31, 1 << 62);
            (format!("/v1/pets/{id}"), "/path/petId", "maximum")
        }
        6 => {
            let id = rng.between((1 << 31) + 1, 1 << 62);
            (format!("/v1/pets/-{id}"), "/path/petId", "minimum")
        }
        _ => {
            request_id = rng.text(VISIBLE_NO_SPACE, 1, 40);
            ("/v1/pets?limit=5".to_string(), "/header/X-Request-Id", "format")
        }
    };
    let request = Wire::get(&target).header(REQUEST_ID.0, request_id).end();
    Case::kept(request, INVALID_REQUEST).listing(pointer, rule)
}

/// Text in a URL that does not read as an integer (`+` is avoided: in a query it is a space).
/// An integer beyond 64 bits is one (numbers keep their text, of any size).
fn not_an_integer(rng: &mut Rng) -> String {
    match rng.below(3) {
        0 => format!("{}e{}", rng.between(1, 9), rng.between(309, 1_000_000)),
        1 => format!("{}.{}e{}", rng.between(1, 9), digits(rng, 20), rng.between(400, 99_999)),
        _ => rng
            .pick(&[
                "abc", "1.5", "5.0", "1e2", "NaN", "inf", "Infinity", "0x10", "true", "null", "1,2", "%20", "five",
            ])
            .to_string(),
    }
}

// ---------------------------------------------------------------- running

/// One request on the wire and what the server must do with it, in batches,
/// with a health check after each.
async fn run_classes(
    server: &Binary,
    probe: &Probe,
    classes: &[Class],
    rng: &mut Rng,
    share: usize,
    report: &mut Report,
) {
    for class in classes {
        let mut cases: Vec<Case> = (0..class.count.div_ceil(share)).map(|_| (class.make)(rng)).collect();
        let started = Instant::now();
        while !cases.is_empty() {
            let batch = Arc::new(cases.drain(..cases.len().min(BATCH)).collect::<Vec<_>>());
            let outcomes = run_batch(server.addr, batch.clone()).await;
            report.record(class.name, &batch, outcomes, started.elapsed());
            assert_healthy(server.addr, probe, &format!("after a batch of `{}`", class.name)).await;
        }
    }
}

/// `work`'s output and how long it took.
async fn timed<T>(work: impl std::future::Future<Output = T>) -> (T, Duration) {
    let started = Instant::now();
    (work.await, started.elapsed())
}

/// Runs the cases on `WORKERS` tasks; the outcome of each, in order: what
/// was heard (for the table), or why it was wrong.
async fn run_batch(addr: SocketAddr, cases: Arc<Vec<Case>>) -> Vec<Result<String, String>> {
    let next = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| tokio::spawn(worker(addr, cases.clone(), next.clone())))
        .collect();
    let mut outcomes: Vec<(usize, Result<String, String>)> = Vec::new();
    for worker in workers {
        outcomes.extend(worker.await.expect("a worker task does not panic"));
    }
    outcomes.sort_by_key(|(index, _)| *index);
    outcomes.into_iter().map(|(_, outcome)| outcome).collect()
}

/// Takes cases until none is left. A case that keeps its connection alive
/// hands it to the next such case, so hostile requests also follow each
/// other on one connection: the framing must survive them.
async fn worker(
    addr: SocketAddr,
    cases: Arc<Vec<Case>>,
    next: Arc<AtomicUsize>,
) -> Vec<(usize, Result<String, String>)> {
    let mut kept: Option<(TcpStream, Instant)> = None;
    let mut outcomes = Vec::new();
    loop {
        let index = next.fetch_add(1, Ordering::Relaxed);
        let Some(case) = cases.get(index) else { break };
        let reusable =
            case.after == After::KeepAlive && kept.as_ref().is_some_and(|(_, at)| at.elapsed() < REUSE_WITHIN);
        let stream = match (reusable, kept.take()) {
            (true, Some((stream, _))) => Ok(stream),
            (_, idle) => {
                kept = idle;
                TcpStream::connect(addr).await.map_err(|e| format!("connect: {e}"))
            }
        };
        let outcome = match stream {
            Ok(mut stream) => {
                let heard = tokio::time::timeout(IO_TIMEOUT, exchange(&mut stream, &case.request, case.after)).await;
                let outcome = match heard {
                    Ok(Ok(heard)) => judge(case, &heard),
                    Ok(Err(why)) => Err(why),
                    Err(_) => Err(format!("no answer and no close within {IO_TIMEOUT:?}: a hang")),
                };
                if outcome.is_ok() && case.after == After::KeepAlive {
                    kept = Some((stream, Instant::now()));
                }
                outcome
            }
            Err(why) => Err(why),
        };
        outcomes.push((index, outcome));
    }
    outcomes
}

/// What came back for one request.
struct Heard {
    reply: Option<Reply>,
    /// The server closed the connection (after the reply, if any).
    closed: bool,
}

/// Writes the request while listening: the server may answer (and close)
/// before it has read everything, as it does for a head or body past a limit.
async fn exchange(stream: &mut TcpStream, request: &[u8], after: After) -> Result<Heard, String> {
    let (mut reader, mut writer) = stream.split();
    let (written, heard) = tokio::join!(writer.write_all(request), listen(&mut reader, after));
    let heard = heard?;
    if after == After::KeepAlive {
        written.map_err(|e| format!("the request could not be written on a connection that stays open: {e}"))?;
    }
    Ok(heard)
}

/// Reads one response (or the close), then, when the connection should
/// close, reads on to its end: nothing may follow the response.
async fn listen(reader: &mut (impl AsyncRead + Unpin), after: After) -> Result<Heard, String> {
    let mut buffer = Vec::new();
    let mut ended = false;
    let reply = loop {
        if let Some(reply) = complete_reply(&buffer, ended) {
            break Some(reply);
        }
        if ended {
            if buffer.is_empty() {
                break None;
            }
            return Err(format!("the connection ended mid-response: {}", escaped(&buffer)));
        }
        ended = read_some(reader, &mut buffer).await;
    };
    let answered = reply
        .as_ref()
        .map_or(0, |reply| head_end(&buffer).unwrap_or(0) + reply.body.len());
    let mut rest = buffer.split_off(answered.min(buffer.len()));
    if after == After::Close {
        while !ended {
            ended = read_some(reader, &mut rest).await;
        }
    }
    if !rest.is_empty() {
        return Err(format!("bytes after the response: {}", escaped(&rest)));
    }
    Ok(Heard { reply, closed: ended })
}

/// Appends what arrives; `true` once the connection is over (a reset too).
async fn read_some(reader: &mut (impl AsyncRead + Unpin), buffer: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 16 * 1024];
    match reader.read(&mut chunk).await {
        Ok(0) | Err(_) => true,
        Ok(n) => {
            buffer.extend_from_slice(&chunk[..n]);
            false
        }
    }
}

/// Where the head in `buffer` ends, its blank line included.
fn head_end(buffer: &[u8]) -> Option<usize> {
    buffer.windows(4).position(|w| w == b"\r\n\r\n").map(|at| at + 4)
}

/// The answer heard against the answer expected; `Ok` names it for the table.
fn judge(case: &Case, heard: &Heard) -> Result<String, String> {
    let Some(reply) = &heard.reply else {
        return match (case.answer, heard.closed) {
            (Answer::Silence, true) => Ok(case.answer.to_string()),
            _ => Err(format!("expected {}, the connection closed unanswered", case.answer)),
        };
    };
    let status = reply.status;
    let what = format!(
        "{status} {}",
        String::from_utf8_lossy(&reply.body[..reply.body.len().min(300)])
    );
    match case.answer {
        Answer::Silence => return Err(format!("expected a close without an answer, got {what}")),
        Answer::Problem { status, class, origin } => {
            std::panic::catch_unwind(AssertUnwindSafe(|| reply.assert_problem(status, class, origin)))
                .map_err(|panic| format!("expected the {status} {class} problem: {}", panic_text(&*panic)))?;
            if let Some((pointer, rule)) = &case.violation {
                let listed = reply.violations();
                if !listed.contains(&(pointer.clone(), rule.to_string())) {
                    return Err(format!("expected the violation ({pointer}, {rule}), got {listed:?}"));
                }
            }
        }
        Answer::Declared(expected) => {
            if status != expected || reply.header("content-type") == Some("application/problem+json") {
                return Err(format!("expected the spec's {expected}, got {what}"));
            }
        }
        Answer::Hyper(expected) => {
            let bare = reply.body.is_empty() && reply.header("x-mock-origin").is_none();
            if status != expected || !bare || reply.header("connection") != Some("close") {
                return Err(format!("expected hyper's bare {expected} and a close, got {what}"));
            }
        }
    }
    let closing = reply
        .header("connection")
        .is_some_and(|v| v.eq_ignore_ascii_case("close"));
    match case.after {
        After::KeepAlive if heard.closed || closing => Err(format!("the connection closed after {what}")),
        After::Close if !heard.closed => Err(format!("the connection stayed open after {what}")),
        _ => Ok(case.answer.to_string()),
    }
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "(no message)".into())
}

/// A request for a failure message: printable, cut after 300 bytes.
fn escaped(bytes: &[u8]) -> String {
    let shown = bytes[..bytes.len().min(300)].escape_ascii().to_string();
    if bytes.len() > 300 {
        format!("{shown}… ({} bytes)", bytes.len())
    } else {
        shown
    }
}

/// One request on a fresh connection, and its answer.
async fn exchange_alone(addr: SocketAddr, request: &[u8]) -> Reply {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(request).await.expect("write the request");
        read_answer(&mut stream).await
    };
    tokio::time::timeout(IO_TIMEOUT, exchange)
        .await
        .expect("an answer in time")
}

/// The next answer on `stream`; a 101 as soon as its head is in (a stream's
/// frames follow it, not a body).
async fn read_answer(stream: &mut TcpStream) -> Reply {
    let (mut buffer, mut ended) = (Vec::new(), false);
    loop {
        let switched = head_end(&buffer).filter(|_| buffer.starts_with(b"HTTP/1.1 101 "));
        let reply = match switched {
            Some(end) => complete_reply(&buffer[..end], true),
            None => complete_reply(&buffer, ended),
        };
        if let Some(reply) = reply {
            return reply;
        }
        assert!(!ended, "the connection ended before an answer: {}", escaped(&buffer));
        ended = read_some(stream, &mut buffer).await;
    }
}

// ---------------------------------------------------------------- vanishing

/// A client that goes away without finishing what it started.
struct Vanishing {
    kind: VanishingKind,
    /// The part of the request sent before leaving.
    sent: Vec<u8>,
    /// Leave with a reset (SO_LINGER 0) rather than a FIN.
    reset: bool,
}

#[derive(Clone, Copy)]
enum VanishingKind {
    MidHead,
    MidBody,
    MidChunks,
    BeforeReadingTheAnswer,
    MidStream,
    MidStreamFrame,
}

impl VanishingKind {
    fn name(self) -> &'static str {
        match self {
            VanishingKind::MidHead => "mid-head",
            VanishingKind::MidBody => "mid-body (Content-Length)",
            VanishingKind::MidChunks => "mid-body (chunked)",
            VanishingKind::BeforeReadingTheAnswer => "before reading the answer",
            VanishingKind::MidStream => "mid-stream (after the 101)",
            VanishingKind::MidStreamFrame => "mid-stream, half a frame sent",
        }
    }
}

impl Vanishing {
    fn draw(rng: &mut Rng) -> Self {
        let document = any_document(rng);
        let (kind, sent) = match rng.below(6) {
            0 => {
                let mut head = update_user().body(document);
                head.truncate(head_end(&head).expect("a whole head") - rng.between(1, 20));
                (VanishingKind::MidHead, head)
            }
            1 => {
                let mut request = update_user().body(document);
                request.truncate(request.len() - rng.between(1, document.len()));
                (VanishingKind::MidBody, request)
            }
            2 => {
                let cut = rng.between(1, document.len() - 1);
                let chunk = [format!("{cut:x}\r\n").as_bytes(), &document[..cut], b"\r\n"].concat();
                let request = update_user().header("transfer-encoding", "chunked").then(&chunk);
                (VanishingKind::MidChunks, request)
            }
            3 => (VanishingKind::BeforeReadingTheAnswer, Wire::get("/user").end()),
            4 => (VanishingKind::MidStream, stream_handshake(rng)),
            _ => (VanishingKind::MidStreamFrame, stream_handshake(rng)),
        };
        Self {
            kind,
            sent,
            reset: rng.one_in(2),
        }
    }

    async fn play(self, addr: SocketAddr) {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream
            .write_all(&self.sent)
            .await
            .expect("write what is sent before leaving");
        if matches!(self.kind, VanishingKind::MidStream | VanishingKind::MidStreamFrame) {
            stream = upgraded(addr, stream, &self.sent).await;
            if let VanishingKind::MidStreamFrame = self.kind {
                // A masked text frame announcing 126 bytes, cut after its header.
                let _ = stream.write_all(&[0x81, 0xfe, 0x00, 0x7e, 1, 2, 3, 4, b'{']).await;
            }
        }
        if self.reset {
            stream.set_zero_linger().expect("SO_LINGER 0");
        }
        drop(stream);
    }
}

/// Reads the answer to a stream handshake already sent on `stream` until it
/// is a 101. A server still reaping the clients that vanished before may be
/// at its limits: it then answers the documented 503 and closes, and the
/// client comes back, as a real one honouring `Retry-After` would (sooner).
async fn upgraded(addr: SocketAddr, mut stream: TcpStream, handshake: &[u8]) -> TcpStream {
    loop {
        let answer = read_answer(&mut stream).await;
        if answer.status == 101 {
            return stream;
        }
        let streams_full = answer.json()["type"] == "urn:specmock:problem:too-many-streams";
        let class = if streams_full {
            "too-many-streams"
        } else {
            "too-many-connections"
        };
        answer.assert_problem(503, class, "server");
        tokio::time::sleep(Duration::from_millis(20)).await;
        stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(handshake).await.expect("write the handshake again");
    }
}

fn stream_handshake(rng: &mut Rng) -> Vec<u8> {
    handshake("GET", "/user/stream")
        .header("sec-websocket-key", nonce(rng))
        .header("x-mock-session", "hostile-streams")
        .end()
}

async fn vanish_all(addr: SocketAddr, vanishings: Vec<Vanishing>) {
    futures_util::stream::iter(vanishings)
        .for_each_concurrent(WORKERS, |vanishing| async move {
            tokio::time::timeout(IO_TIMEOUT, vanishing.play(addr))
                .await
                .expect("no hang before leaving");
        })
        .await;
}

/// The limits admit exactly a full set again: every vanished client's
/// connection and stream is gone. The server notices a departure
/// asynchronously (and a head cut short only after `--header-timeout`), so
/// this is retried for a while.
async fn full_set_admitted(addr: SocketAddr, max_streams: usize, max_connections: usize) {
    let deadline = Instant::now() + Duration::from_secs(HEADER_TIMEOUT_SECS + 5);
    let mut last = String::new();
    while Instant::now() < deadline {
        match (
            all_streams_admitted(addr, max_streams).await,
            all_connections_admitted(addr, max_connections).await,
        ) {
            (Ok(()), Ok(())) => return,
            (streams, connections) => last = format!("streams: {streams:?}; connections: {connections:?}"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the limits no longer admit a full set: {last}");
}

async fn all_streams_admitted(addr: SocketAddr, max_streams: usize) -> Result<(), String> {
    let mut open = Vec::new();
    for n in 0..max_streams {
        match ws_connect(addr, "/user/stream", &[]).await {
            Ok((ws, _)) => open.push(ws),
            Err(error) => {
                close_cleanly(open).await;
                return Err(format!("stream {} of {max_streams} refused: {error}", n + 1));
            }
        }
    }
    let past_limit = match ws_connect(addr, "/user/stream", &[]).await {
        Err(WsError::Http(response)) if response.status() == 503 => Ok(()),
        other => Err(format!(
            "one stream past the limit was not refused with 503: {:?}",
            other.map(|(_, r)| r)
        )),
    };
    close_cleanly(open).await;
    past_limit
}

/// The close handshake, so the next round finds the stream permits free.
async fn close_cleanly(streams: Vec<Ws>) {
    for mut ws in streams {
        let closing = async {
            let _ = ws.close(None).await;
            while let Some(Ok(_)) = ws.next().await {}
        };
        tokio::time::timeout(IO_TIMEOUT, closing)
            .await
            .expect("the close handshake completes");
    }
}

async fn all_connections_admitted(addr: SocketAddr, max_connections: usize) -> Result<(), String> {
    let mut open = Vec::new();
    for n in 0..=max_connections {
        let mut stream = TcpStream::connect(addr).await.map_err(|e| format!("connect: {e}"))?;
        let heard = exchange(&mut stream, &Wire::get(HEALTH).end(), After::KeepAlive).await?;
        let status = heard.reply.as_ref().map(|reply| reply.status);
        let verdict = match (n < max_connections, status) {
            (true, Some(200)) => {
                open.push(stream);
                continue;
            }
            (false, Some(503)) => {
                heard
                    .reply
                    .expect("a reply")
                    .assert_problem(503, "too-many-connections", "server");
                Ok(())
            }
            _ => Err(format!("connection {} of {max_connections}: {status:?}", n + 1)),
        };
        hang_up(open).await;
        return verdict;
    }
    unreachable!("the loop returns at the connection past the limit")
}

/// Closes each connection and waits for the server to close its side, so
/// its permit is free before the test goes on.
async fn hang_up(connections: Vec<TcpStream>) {
    for mut stream in connections {
        let closing = async {
            let _ = stream.shutdown().await;
            while !read_some(&mut stream, &mut Vec::new()).await {}
        };
        tokio::time::timeout(IO_TIMEOUT, closing)
            .await
            .expect("the server closes its side");
    }
}

// ---------------------------------------------------------------- the server

fn start(extra: &[&str]) -> Binary {
    let timeout = HEADER_TIMEOUT_SECS.to_string();
    let mut args = vec!["--port", "0", "--header-timeout", &timeout];
    args.extend_from_slice(extra);
    Binary::start(&args, &repo_root())
}

async fn assert_healthy(addr: SocketAddr, probe: &Probe, when: &str) {
    let reply = send(addr, Method::GET, probe.path, probe.headers, b"").await;
    assert_eq!(
        reply.status,
        200,
        "GET {} {when}: {}",
        probe.path,
        String::from_utf8_lossy(&reply.body)
    );
}

fn assert_no_panic(server: &Binary) {
    let stderr = server.stderr();
    assert!(!stderr.contains("panicked"), "the server panicked:\n{stderr}");
}

/// The server's resident set, from `/proc` (Linux).
fn rss_kib(server: &Binary) -> u64 {
    let path = format!("/proc/{}/status", server.child.id());
    let status = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmRSS in {path}"))
}

/// RSS once the journal is emptied (it holds request bodies by design) and
/// closed connections have been reaped.
async fn settled_rss(server: &Binary) -> u64 {
    let cleared = send(server.addr, Method::DELETE, "/__mock/journal", &[], b"").await;
    assert_eq!(cleared.status, 200, "the journal is cleared");
    tokio::time::sleep(Duration::from_millis(300)).await;
    rss_kib(server)
}

/// Waits (a little) for RSS to come back within tolerance of `baseline`;
/// the last reading.
async fn memory_back_to(server: &Binary, baseline: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let now = settled_rss(server).await;
        if now <= baseline + RSS_TOLERANCE_KIB || Instant::now() > deadline {
            return now;
        }
    }
}

fn assert_rss_within_tolerance(baseline: u64, end: u64) {
    assert!(
        end <= baseline + RSS_TOLERANCE_KIB,
        "RSS did not come back: {baseline} KiB after the warm-up, {end} KiB at the end (tolerance {RSS_TOLERANCE_KIB} KiB)"
    );
}

// ---------------------------------------------------------------- report

#[derive(Default)]
struct Report {
    rows: Vec<Row>,
    failures: Vec<String>,
}

#[derive(Default)]
struct Row {
    class: &'static str,
    requests: usize,
    /// The answer (`400 malformed-body`, `431 (hyper)` ...) -> how many.
    answers: BTreeMap<String, usize>,
    elapsed: Duration,
}

impl Report {
    /// Adds a batch's outcomes to its class's row (`elapsed`: the class's time so far).
    fn record(
        &mut self,
        class: &'static str,
        cases: &[Case],
        outcomes: Vec<Result<String, String>>,
        elapsed: Duration,
    ) {
        if self.rows.last().is_none_or(|row| row.class != class) {
            self.rows.push(Row {
                class,
                ..Row::default()
            });
        }
        let row = self.rows.last_mut().expect("a row for the class");
        row.elapsed = elapsed;
        for (case, outcome) in cases.iter().zip(outcomes) {
            row.requests += 1;
            match outcome {
                Ok(answer) => *row.answers.entry(answer).or_default() += 1,
                Err(why) => self.failures.push(format!(
                    "[{class}] {why}\n    request ({} bytes): {}",
                    case.request.len(),
                    escaped(&case.request)
                )),
            }
        }
    }

    fn total(&self) -> usize {
        self.rows.iter().map(|row| row.requests).sum()
    }

    fn print(&self, title: &str, elapsed: Duration, baseline: u64, end: u64) {
        println!("\n{title}: {} requests in {:.1} s", self.total(), elapsed.as_secs_f32());
        println!("  {:<44} {:>8} {:>7}  answers", "class", "requests", "seconds");
        for row in &self.rows {
            let mut answers = row.answers.iter().map(|(answer, n)| format!("{answer} ×{n}"));
            let seconds = row.elapsed.as_secs_f32();
            let first = answers.next().unwrap_or_default();
            println!("  {:<44} {:>8} {seconds:>7.1}  {first}", row.class, row.requests);
            for answer in answers {
                println!("  {:<61}  {answer}", "");
            }
        }
        println!("  {:<44} {:>8}", "total", self.total());
        if baseline > 0 {
            println!("  RSS: baseline {baseline} KiB after the warm-up, {end} KiB at the end");
        }
    }

    fn assert_clean(&self, seed: u64, server: &Binary) {
        assert_no_panic(server);
        if self.failures.is_empty() {
            return;
        }
        let shown: Vec<&str> = self.failures.iter().take(30).map(String::as_str).collect();
        panic!(
            "{} of {} hostile requests were mishandled (seed {seed}; HOSTILE_SEED={seed} replays):\n{}",
            self.failures.len(),
            self.total(),
            shown.join("\n")
        );
    }
}

/// Prints the seed when the test fails for any reason, so the run can be replayed.
struct Replay(u64);

impl Drop for Replay {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "hostile suite failed with seed {0}: HOSTILE_SEED={0} replays it",
                self.0
            );
        }
    }
}

fn seed() -> u64 {
    std::env::var("HOSTILE_SEED")
        .ok()
        .map(|text| text.parse().expect("HOSTILE_SEED is a number"))
        .unwrap_or(DEFAULT_SEED)
}

// ---------------------------------------------------------------- bytes

/// A request written byte for byte, so it can be exactly as wrong as a case needs.
struct Wire(Vec<u8>);

impl Wire {
    /// `line` as the request line, then a Host (one the admin API answers to).
    fn line(line: &[u8]) -> Self {
        let mut bytes = line.to_vec();
        bytes.extend_from_slice(b"\r\nhost: localhost\r\n");
        Self(bytes)
    }

    fn new(method: &str, target: &[u8]) -> Self {
        Self::line(&[method.as_bytes(), b" ", target, b" HTTP/1.1"].concat())
    }

    fn get(target: &str) -> Self {
        Self::new("GET", target.as_bytes())
    }

    fn line_raw(mut self, line: &[u8]) -> Self {
        self.0.extend_from_slice(line);
        self.0.extend_from_slice(b"\r\n");
        self
    }

    fn header(self, name: &str, value: impl AsRef<[u8]>) -> Self {
        self.line_raw(&[name.as_bytes(), b": ", value.as_ref()].concat())
    }

    fn headers(self, list: &[(&str, &str)]) -> Self {
        list.iter().fold(self, |wire, (name, value)| wire.header(name, value))
    }

    /// The end of the head, and no body.
    fn end(mut self) -> Vec<u8> {
        self.0.extend_from_slice(b"\r\n");
        self.0
    }

    /// `body`, framed by Content-Length.
    fn body(self, body: &[u8]) -> Vec<u8> {
        self.header("content-length", body.len().to_string()).then(body)
    }

    /// Bytes after the head, framed however its headers say (or do not).
    fn then(self, rest: &[u8]) -> Vec<u8> {
        let mut bytes = self.end();
        bytes.extend_from_slice(rest);
        bytes
    }
}

const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
/// Printable ASCII, space included: what a header value or a text body may hold.
const VISIBLE: &[u8] =
    b" !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";
const VISIBLE_NO_SPACE: &[u8] = VISIBLE.split_at(1).1;

/// RFC 9110's `tchar`: what a method may be made of.
fn is_token(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// The seeded source of every case.
struct Rng(SplitMix64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(SplitMix64(seed))
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.0.next_u64() % bound as u64) as usize
    }

    fn between(&mut self, low: usize, high: usize) -> usize {
        low + self.below(high - low + 1)
    }

    fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())].clone()
    }

    fn bytes(&mut self, count: usize) -> Vec<u8> {
        (0..count).map(|_| self.0.next_u64() as u8).collect()
    }

    fn byte_where(&mut self, keep: impl Fn(u8) -> bool) -> u8 {
        loop {
            let byte = self.0.next_u64() as u8;
            if keep(byte) {
                return byte;
            }
        }
    }

    /// Between `min` and `max` characters drawn from `alphabet` (ASCII).
    fn text(&mut self, alphabet: &[u8], min: usize, max: usize) -> String {
        let length = self.between(min, max);
        (0..length).map(|_| self.pick(alphabet) as char).collect()
    }
}
