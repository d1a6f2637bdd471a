//! `--upstream URL`: operations no scenario rule answers go to a real
//! server, whose answers are relayed unchanged and judged against the spec.
//! The upstreams here are real: a second specmock, and a hand-written hyper
//! server that drifts from the spec (and records what it was sent).

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::*;
use http::{HeaderMap, Method, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use specmock::internal::proxy::Upstream;
use specmock::internal::{App, Behaviour};
use specmock::MockServer;
use tokio::net::TcpListener;
use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

/// A request as the hand-written upstream received it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    target: String,
    headers: HeaderMap,
    body: Bytes,
}

/// The hand-written upstream: where it listens, what it was sent, how
/// many connections it took.
struct Drifting {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    connections: Arc<std::sync::atomic::AtomicUsize>,
}

impl Drifting {
    fn url(&self, scheme: &str) -> String {
        format!("{scheme}://{}", self.addr)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// A snapshot the spec allows, but for the user's `id`: an integer where a string is declared.
const DRIFTED_PROFILE: &str = r#"{"user": {"id": 5, "aesthetics": {"theme": {"dark": true}, "font": {"size": 12}}}}"#;
/// The same snapshot as the spec wants it.
const PROFILE: &str = r#"{"user": {"id": "5", "aesthetics": {"theme": {"dark": true}, "font": {"size": 12}}}}"#;
const HTML_PAGE: &str = "<html><body><h1>502 Bad Gateway</h1></body></html>";
/// How long the slow path takes: beyond the proxy's timeout in these tests.
const SLOW: Duration = Duration::from_secs(3);

/// What the hand-written upstream answers, by path: each a way to drift
/// from the spec, or to fail.
async fn answer(seen: &Seen) -> Result<Response<Full<Bytes>>, std::io::Error> {
    let reply = |status: u16, headers: &[(&str, &str)], body: &str| {
        let mut builder = Response::builder().status(status);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        Ok(builder.body(Full::new(Bytes::from(body.to_string()))).unwrap())
    };
    let path = seen.target.split('?').next().unwrap_or("");
    let gzip = seen
        .headers
        .get("accept-encoding")
        .is_some_and(|accepted| accepted.to_str().unwrap_or("").contains("gzip"));
    match path {
        // Asked for gzip, it answers a profile the spec allows, compressed.
        "/user" if gzip => Ok(Response::builder()
            .header("content-type", "application/json")
            .header("content-encoding", "gzip")
            .body(Full::new(gzipped(PROFILE.as_bytes())))
            .unwrap()),
        "/user" => reply(200, &[("content-type", "application/json")], DRIFTED_PROFILE),
        "/user/refresh" => reply(418, &[("content-type", "text/plain")], "I'm a teapot"),
        "/.well-known/health" => reply(200, &[("content-type", "text/html")], HTML_PAGE),
        "/user/providers" => {
            tokio::time::sleep(SLOW).await;
            reply(200, &[("content-type", "application/json")], "[]")
        }
        // hyper closes the connection on an error: no answer at all.
        "/user/select" => Err(std::io::Error::other("dropped on purpose")),
        "/user/update/vanity" => reply(
            200,
            &[
                ("content-type", "application/json"),
                ("connection", "x-hop"),
                ("x-hop", "per connection"),
                ("keep-alive", "timeout=5"),
                ("x-end", "kept"),
                ("access-control-allow-origin", "https://app.test"),
                ("access-control-expose-headers", "x-end"),
            ],
            &vanity_body("taken"),
        ),
        _ => reply(404, &[("content-type", "text/plain")], "nothing here"),
    }
}

/// Starts the hand-written upstream on 127.0.0.1, over TLS when given an acceptor.
async fn drifting(tls: Option<TlsAcceptor>) -> Drifting {
    drifting_at(SocketAddr::from(([127, 0, 0, 1], 0)), tls).await
}

async fn drifting_at(at: SocketAddr, tls: Option<TlsAcceptor>) -> Drifting {
    let listener = TcpListener::bind(at).await.expect("bind");
    let addr = listener.local_addr().expect("its address");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let connections = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let accepted = connections.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            accepted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let (log, tls) = (log.clone(), tls.clone());
            tokio::spawn(async move {
                let service = service_fn(move |request: http::Request<Incoming>| {
                    let log = log.clone();
                    async move {
                        let (parts, body) = request.into_parts();
                        let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                        let seen = Seen {
                            method: parts.method.to_string(),
                            target: parts.uri.to_string(),
                            headers: parts.headers,
                            body,
                        };
                        log.lock().unwrap().push(seen.clone());
                        answer(&seen).await
                    }
                });
                let http = hyper::server::conn::http1::Builder::new();
                let _ = match tls {
                    None => http.serve_connection(TokioIo::new(stream), service).await,
                    Some(acceptor) => match acceptor.accept(stream).await {
                        Ok(tls) => http.serve_connection(TokioIo::new(tls), service).await,
                        Err(_) => return,
                    },
                };
            });
        }
    });
    Drifting {
        addr,
        seen,
        connections,
    }
}

fn gzipped(data: &[u8]) -> Bytes {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).expect("gzip in memory");
    Bytes::from(encoder.finish().expect("gzip in memory"))
}

fn upstream(url: &str, ca: Option<&Path>, timeout: Duration) -> Option<Arc<Upstream>> {
    Some(Arc::new(
        Upstream::new(url, ca, timeout).expect("the upstream URL is valid"),
    ))
}

/// The shipped spec without scenarios in front of `url`: every operation goes upstream.
async fn proxy(url: &str, lenient: bool) -> MockServer {
    start(shipped_app(Behaviour {
        lenient,
        upstream: upstream(url, None, Duration::from_millis(800)),
        ..Behaviour::default()
    }))
    .await
}

/// The shipped spec, every session in scenario `scenario` of `scenarios`.
fn with_scenario(
    scenarios: Vec<specmock::internal::scenario::ScenarioSource>,
    scenario: &str,
    behaviour: Behaviour,
) -> App {
    let sources = shipped_sources();
    let inputs = specmock::internal::Inputs {
        spec: sources.load_spec().expect("the shipped spec loads"),
        fixtures: sources.load_fixtures().expect("the shipped fixtures load"),
        scenarios,
        start_scenario: Some(scenario.to_string()),
        seed: 0,
    };
    App::build(inputs, behaviour).expect("the scenario loads").0
}

async fn journal_entries(addr: SocketAddr) -> Vec<Value> {
    let page = get(addr, "/__mock/journal").await.json();
    page["entries"].as_array().expect("entries").clone()
}

/// `(pointer, rule, side)` of each violation of a journal entry.
fn sides(entry: &Value) -> Vec<(String, String, String)> {
    entry["violations"]
        .as_array()
        .expect("violations")
        .iter()
        .map(|v| {
            let text = |key: &str| v[key].as_str().unwrap_or("client").to_string();
            (text("pointer"), text("rule"), text("side"))
        })
        .collect()
}

#[tokio::test]
async fn answers_of_a_second_specmock_are_relayed_unchanged_and_journaled_as_upstream() {
    for (scenario, status, text) in [
        ("vanity-taken", 409, "conflict: the vanity name is already taken"),
        ("dns-not-ready", 404, "original DNS record not found"),
        ("signed-out", 511, ""),
    ] {
        let real = start(with_scenario(
            scenario_sources(&repo_root().join("scenarios")),
            scenario,
            Behaviour::default(),
        ))
        .await;
        let mock = proxy(&format!("http://{}", real.address()), false).await;
        let body = vanity_body("taken");
        let vanity = |addr, session| {
            let headers = [("content-type", "application/json"), ("x-mock-session", session)];
            let body = body.clone();
            async move { send(addr, Method::POST, "/user/update/vanity", &headers, body.as_bytes()).await }
        };
        let relayed = vanity(mock.address(), "qa").await;
        // The same first call, in a session of its own on the real one.
        let direct = vanity(real.address(), "direct").await;
        assert_eq!(relayed.status, status, "{scenario}: {}", relayed.text());
        assert_eq!(relayed.body, direct.body, "{scenario}: the answer is relayed unchanged");
        assert!(relayed.text().contains(text), "{scenario}: {}", relayed.text());
        assert_eq!(relayed.header("content-type"), direct.header("content-type"));
        assert_eq!(relayed.header("x-mock-origin"), Some("upstream"));

        let entries = journal_entries(mock.address()).await;
        let entry = &entries[0];
        assert_eq!(entry["origin"], "upstream", "{entry:#}");
        assert_eq!(entry["operation"], "user-update-vanity");
        assert_eq!(entry["rule"], Value::Null);
        assert_eq!(entry["status"], status);
        assert_eq!(entry["refused"], false);
        assert_eq!(entry["session"], "qa");
        assert_eq!(entry["body"]["vanityname"], "taken");
        assert_eq!(entry["response_body"], json!(direct.text()));
        assert!(entry["response_content_type"]
            .as_str()
            .is_some_and(|t| t.starts_with("text/plain")));
        assert_eq!(sides(entry), [], "{scenario}: a conforming answer");
    }
}

#[tokio::test]
async fn each_drift_of_the_upstream_is_a_provider_violation_with_its_pointer() {
    let real = drifting(None).await;
    let mock = proxy(&real.url("http"), false).await;
    let cases = [
        ("/user", 200, DRIFTED_PROFILE, ("/body/user/id", "type")),
        ("/user/refresh", 418, "I'm a teapot", ("/status", "status")),
        (
            "/.well-known/health",
            200,
            HTML_PAGE,
            ("/header/content-type", "content-type"),
        ),
    ];
    for (path, status, body, (pointer, rule)) in cases {
        let reply = get(mock.address(), path).await;
        assert_eq!(
            (reply.status, reply.text()),
            (status, body),
            "{path}: relayed unchanged"
        );
        assert_eq!(reply.header("x-mock-origin"), Some("upstream"));
        let entry = journal_entries(mock.address()).await[0].clone();
        assert_eq!(
            sides(&entry),
            [(pointer.to_string(), rule.to_string(), "provider".to_string())],
            "{path}: {entry:#}"
        );
    }
    let counts = get(mock.address(), "/__mock/violations").await.json();
    assert_eq!(
        counts["violating_requests"], 0,
        "the client did nothing wrong: {counts:#}"
    );
    assert_eq!(counts["provider_violating_answers"], 3, "{counts:#}");
    assert_eq!(counts["relayed_answers"], 3, "{counts:#}");
    assert_eq!(
        counts["by_operation"]["user-snapshot"],
        json!({"calls": 1, "violating_calls": 0, "relayed_answers": 1, "provider_violating_answers": 1})
    );
    // The client's call kept the contract: a verification counts it.
    let expectation = json!({"operation": "user-snapshot", "count": 1}).to_string();
    let json = [("content-type", "application/json")];
    let verdict = send(
        mock.address(),
        Method::POST,
        "/__mock/verify",
        &json,
        expectation.as_bytes(),
    )
    .await;
    assert_eq!(verdict.status, 200, "{}", verdict.text());
}

#[tokio::test]
async fn a_compressed_answer_is_relayed_as_it_came_and_judged_decoded() {
    let real = drifting(None).await;
    let mock = proxy(&real.url("http"), false).await;
    let gzip = [("accept-encoding", "gzip")];
    let reply = send(mock.address(), Method::GET, "/user", &gzip, b"").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-encoding"), Some("gzip"));
    assert_eq!(reply.body, gzipped(PROFILE.as_bytes()), "relayed as it came");
    let entry = journal_entries(mock.address()).await[0].clone();
    assert_eq!(entry["origin"], "upstream");
    assert_eq!(sides(&entry), [], "a conforming answer, once decoded: {entry:#}");
}

#[tokio::test]
async fn no_answer_is_the_mocks_own_502_or_504_never_the_apis() {
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        listener.local_addr().expect("its address")
    };
    let nobody = proxy(&format!("http://{closed}"), false).await;
    let reply = get(nobody.address(), "/user").await;
    let problem = reply.assert_problem(502, "upstream-unreachable", "proxy");
    assert!(
        problem["detail"].as_str().unwrap().contains("cannot connect"),
        "{problem:#}"
    );

    let real = drifting(None).await;
    let mock = proxy(&real.url("http"), false).await;
    let signed = [("authorization", "Bearer t"), ("content-type", "application/json")];
    let dropped = send(mock.address(), Method::POST, "/user/select", &signed, b"{}").await;
    dropped.assert_problem(502, "upstream-unreachable", "proxy");
    let started = std::time::Instant::now();
    let slow = get(mock.address(), "/user/providers").await;
    slow.assert_problem(504, "upstream-timeout", "proxy");
    assert!(
        started.elapsed() < SLOW,
        "answered at the timeout, not when the upstream did"
    );

    for entry in journal_entries(mock.address()).await {
        assert_eq!(entry["refused"], true, "the mock's own answer: {entry:#}");
        assert_eq!(entry.get("origin"), None, "{entry:#}");
        assert_eq!(sides(&entry), [], "no answer judged: {entry:#}");
    }
}

#[tokio::test]
async fn connections_to_the_upstream_are_kept_and_reused_and_a_closed_one_replaced() {
    let real = drifting(None).await;
    let mock = proxy(&real.url("http"), false).await;
    for _ in 0..3 {
        assert_eq!(get(mock.address(), "/user/refresh").await.status, 418);
    }
    let connections = || real.connections.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(connections(), 1, "one connection for three calls in a row");
    // The upstream drops the connection: the next call opens another.
    let signed = [("authorization", "Bearer t"), ("content-type", "application/json")];
    let dropped = send(mock.address(), Method::POST, "/user/select", &signed, b"{}").await;
    dropped.assert_problem(502, "upstream-unreachable", "proxy");
    assert_eq!(get(mock.address(), "/user/refresh").await.status, 418);
    assert_eq!(connections(), 2);
}

#[tokio::test]
async fn a_host_name_upstream_is_reached_at_whichever_of_its_addresses_listens() {
    // The last address `localhost` resolves to (`::1` before `127.0.0.1`
    // on many systems): every address before it refuses.
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host(("localhost", 0))
        .await
        .expect("localhost resolves")
        .collect();
    let last = *addresses.last().expect("an address");
    let real = drifting_at(last, None).await;
    let mock = proxy(&format!("http://localhost:{}", real.addr.port()), false).await;
    for _ in 0..2 {
        let reply = get(mock.address(), "/user/refresh").await;
        assert_eq!(reply.status, 418, "{addresses:?}: {}", reply.text());
    }
    assert_eq!(
        real.seen()[0].headers["host"],
        format!("localhost:{}", real.addr.port())
    );
}

#[tokio::test]
async fn an_upstream_answer_larger_than_max_body_is_not_relayed() {
    let real = drifting(None).await;
    let app = shipped_app(Behaviour {
        upstream: upstream(&real.url("http"), None, Duration::from_secs(5)),
        ..Behaviour::default()
    });
    let limits = specmock::internal::Limits {
        max_body: DRIFTED_PROFILE.len() - 1,
        ..specmock::internal::Limits::default()
    };
    let mock = start_with_limits(app, limits).await;
    let reply = get(mock.address(), "/user").await;
    let problem = reply.assert_problem(502, "upstream-unreachable", "proxy");
    assert!(
        problem["detail"].as_str().unwrap().contains("larger than --max-body"),
        "{problem:#}"
    );
    assert_eq!(
        get(mock.address(), "/user/refresh").await.status,
        418,
        "a smaller one is relayed"
    );
}

#[tokio::test]
async fn hop_by_hop_and_control_headers_stay_behind_and_host_names_the_upstream() {
    let real = drifting(None).await;
    let mock = proxy(&real.url("http"), false).await;
    let body = vanity_body("taken");
    let request = format!(
        "POST /user/update/vanity?__session=s1&trace=1 HTTP/1.1\r\nhost: {}\r\n\
         connection: keep-alive, x-per-hop\r\nx-per-hop: 1\r\nkeep-alive: timeout=9\r\nte: trailers\r\n\
         proxy-authorization: Basic eA==\r\nx-mock-session: s2\r\nx-app: kept\r\n\
         prefer: return=representation, respond-async\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        mock.address(),
        body.len()
    );
    let reply = raw(mock.address(), request.as_bytes()).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let seen = real.seen();
    let [sent] = seen.as_slice() else {
        panic!("one request upstream: {seen:#?}")
    };
    assert_eq!(
        (sent.method.as_str(), sent.target.as_str()),
        ("POST", "/user/update/vanity?trace=1")
    );
    let mut names: Vec<&str> = sent.headers.keys().map(|n| n.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        ["content-length", "content-type", "host", "prefer", "x-app"],
        "{:#?}",
        sent.headers
    );
    assert_eq!(sent.headers["host"], real.addr.to_string());
    assert_eq!(
        sent.headers["prefer"], "return=representation, respond-async",
        "the API's own preferences go on"
    );
    assert_eq!(sent.body, body.as_bytes());
    // And back: the upstream's hop-by-hop headers stay with its connection.
    assert_eq!(reply.header("x-end"), Some("kept"));
    for hop in ["x-hop", "keep-alive"] {
        assert_eq!(reply.header(hop), None, "{hop}: {:#?}", reply.headers);
    }
}

#[tokio::test]
async fn the_upstreams_cors_headers_stand_and_x_mock_origin_is_made_readable() {
    let real = drifting(None).await;
    let mock = proxy(&real.url("http"), false).await;
    let headers = [("content-type", "application/json"), ("origin", "https://other.test")];
    let body = vanity_body("taken");
    let reply = send(
        mock.address(),
        Method::POST,
        "/user/update/vanity",
        &headers,
        body.as_bytes(),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("access-control-allow-origin"), Some("https://app.test"));
    assert_eq!(reply.header("access-control-allow-credentials"), None);
    assert_eq!(
        reply.header("access-control-expose-headers"),
        Some("x-end, x-mock-origin")
    );
    assert_eq!(reply.header("vary"), None);
    // An upstream without CORS headers gets the mock's, as a mocked answer would.
    let origin = [("origin", "https://other.test")];
    let plain = send(mock.address(), Method::GET, "/user/refresh", &origin, b"").await;
    assert_eq!(plain.header("access-control-allow-origin"), Some("https://other.test"));
}

const STUB: &str = "rules:
  - when: { operation: user-update-vanity }
    respond: { status: 409, body: { text: stubbed } }
";

#[tokio::test]
async fn rules_and_prefer_answer_first_and_the_rest_goes_upstream() {
    let real = drifting(None).await;
    let stub = specmock::internal::scenario::ScenarioSource {
        file_name: "stub.yaml".into(),
        label: "stub.yaml".into(),
        text: STUB.into(),
    };
    let behaviour = Behaviour {
        upstream: upstream(&real.url("http"), None, Duration::from_secs(5)),
        ..Behaviour::default()
    };
    let mock = start(with_scenario(vec![stub], "stub", behaviour)).await;
    let json = [("content-type", "application/json")];
    let stubbed = send(
        mock.address(),
        Method::POST,
        "/user/update/vanity",
        &json,
        vanity_body("a").as_bytes(),
    )
    .await;
    assert_eq!((stubbed.status, stubbed.text()), (409, "stubbed"));
    assert_eq!(stubbed.header("x-mock-origin"), None);
    let preferred = send(mock.address(), Method::GET, "/user", &[("prefer", "code=200")], b"").await;
    assert_eq!(preferred.status, 200);
    assert_eq!(
        preferred.header("x-mock-origin"),
        None,
        "Prefer is answered by the mock"
    );
    assert!(real.seen().is_empty(), "nothing went upstream yet: {:#?}", real.seen());

    let relayed = get(mock.address(), "/user").await;
    assert_eq!(relayed.text(), DRIFTED_PROFILE);
    assert_eq!(real.seen().len(), 1);
    let entries = journal_entries(mock.address()).await;
    let origins: Vec<&Value> = entries.iter().map(|e| &e["origin"]).collect();
    assert_eq!(origins, [&json!("upstream"), &Value::Null, &Value::Null]);
    assert_eq!(entries[2]["rule"], "stub.yaml rules[0]");
}

#[tokio::test]
async fn strict_refuses_before_forwarding_and_lenient_forwards_and_counts() {
    let real = drifting(None).await;
    let invalid = br#"{"id": 7, "aesthetics": {"theme": {"dark": true}, "font": {"size": 12}}, "vanityname": "x"}"#;
    let json = [("content-type", "application/json")];
    let strict = proxy(&real.url("http"), false).await;
    let refused = send(strict.address(), Method::POST, "/user/update/vanity", &json, invalid).await;
    refused.assert_problem(400, "invalid-request", "validator");
    assert!(real.seen().is_empty(), "an invalid request is not forwarded");

    let lenient = proxy(&real.url("http"), true).await;
    let relayed = send(lenient.address(), Method::POST, "/user/update/vanity", &json, invalid).await;
    assert_eq!(relayed.status, 200);
    assert_eq!(relayed.header("x-mock-origin"), Some("upstream"));
    assert_eq!(relayed.header("x-mock-violations"), Some("1"));
    assert_eq!(real.seen().len(), 1);
    assert_eq!(real.seen()[0].body, &invalid[..], "forwarded as sent");
    let entry = journal_entries(lenient.address()).await[0].clone();
    assert_eq!(
        sides(&entry),
        [("/body/id".to_string(), "type".to_string(), "client".to_string())],
        "{entry:#}"
    );
}

#[tokio::test]
async fn the_report_has_a_provider_suite_and_fail_on_violation_names_the_side() {
    let real = drifting(None).await;
    let dir = TempDir::new("proxy-report");
    let report = dir.path().join("report.xml");
    let url = real.url("http");
    // The embedded inputs, `default` among the scenarios: with --upstream
    // no session starts in it, so every call goes upstream.
    let args = [
        "--port",
        "0",
        "--no-watch",
        "--upstream",
        &url,
        "--fail-on-violation",
        "--report",
        report.to_str().unwrap(),
    ];
    let mut binary = Binary::start(&args, dir.path());
    let line = binary.stderr_once("go upstream");
    assert!(
        line.contains(&format!(
            "--upstream {url}: all 11 operations go upstream (sessions start in no scenario)"
        )),
        "{line}"
    );
    assert_eq!(get(binary.addr, "/user").await.status, 200);
    assert_eq!(get(binary.addr, "/.well-known/health").await.status, 200);
    binary.terminate();
    assert_eq!(binary.wait_exit(), Some(1), "{}", binary.stderr());
    let stderr = binary.stderr();
    assert!(
        stderr.contains("2 answers relayed from the upstream, 2 broke the contract (provider side)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("user-snapshot: 1 of 1 relayed answers (provider side)"),
        "{stderr}"
    );
    let xml = std::fs::read_to_string(&report).expect("the report is written");
    assert!(xml.contains(r#"<testsuite name="provider""#), "{xml}");
    assert!(
        xml.contains(r#"classname="specmock.provider" name="user-snapshot""#),
        "{xml}"
    );
    assert!(
        xml.contains("/body/user/id (type): expected string, found integer"),
        "{xml}"
    );
    assert!(xml.contains("/header/content-type (content-type)"), "{xml}");
}

#[test]
fn upstream_flags_are_checked_at_start_up() {
    let cases: [(&[&str], &str); 3] = [
        (
            &["--upstream", "ftp://127.0.0.1:1"],
            "--upstream `ftp://127.0.0.1:1`: the scheme `ftp`",
        ),
        (
            &["--upstream", "http://127.0.0.1:1", "--upstream-ca", "ca.pem"],
            "--upstream-ca is for an https upstream",
        ),
        (
            &["--upstream", "https://127.0.0.1:1", "--upstream-ca", "no-such-ca.pem"],
            "cannot read the CA certificates of no-such-ca.pem",
        ),
    ];
    for (args, message) in cases {
        let (code, _, stderr) = run_to_exit(&[args, &["--port", "0"]].concat(), &repo_root());
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {message:?} not in {stderr}");
    }
}

/// A CA, and a certificate for 127.0.0.1 it signed, as the TLS server uses them.
fn certificates(dir: &TempDir) -> (std::path::PathBuf, TlsAcceptor) {
    let ca_key = rcgen::KeyPair::generate().expect("a CA key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).expect("a CA certificate");
    let key = rcgen::KeyPair::generate().expect("a server key");
    let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .expect("server parameters")
        .signed_by(&key, &ca, &ca_key)
        .expect("a server certificate");
    let ca_file = dir.write("ca.pem", &ca.pem());
    let private = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone()], private)
        .expect("a TLS server configuration");
    (ca_file, TlsAcceptor::from(Arc::new(config)))
}

#[tokio::test]
async fn https_upstreams_are_trusted_through_upstream_ca_and_verify_speaks_https_too() {
    let dir = TempDir::new("proxy-tls");
    let (ca_file, acceptor) = certificates(&dir);
    let real = drifting(Some(acceptor)).await;
    let url = real.url("https");
    let trusting = start(shipped_app(Behaviour {
        upstream: upstream(&url, Some(&ca_file), Duration::from_secs(5)),
        ..Behaviour::default()
    }))
    .await;
    let relayed = get(trusting.address(), "/user").await;
    assert_eq!((relayed.status, relayed.text()), (200, DRIFTED_PROFILE));
    assert_eq!(real.seen()[0].headers["host"], real.addr.to_string());

    // Without the CA, the certificate is unknown: no answer, said so.
    let doubting = start(shipped_app(Behaviour {
        upstream: upstream(&url, None, Duration::from_secs(5)),
        ..Behaviour::default()
    }))
    .await;
    let refused = get(doubting.address(), "/user").await;
    let problem = refused.assert_problem(502, "upstream-unreachable", "proxy");
    assert!(
        problem["detail"].as_str().unwrap().contains("TLS handshake"),
        "{problem:#}"
    );

    let ca = ca_file.to_str().unwrap().to_string();
    let (code, stdout, stderr) =
        tokio::task::spawn_blocking(move || run_to_exit(&["verify", "--against", &url, "--ca", &ca], &repo_root()))
            .await
            .expect("verify ran");
    assert_eq!(
        code,
        Some(1),
        "the drifting server fails the contract:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("/body/user/id: expected string, found integer"),
        "verify read the answers over TLS:\n{stdout}"
    );
}

const SOMETIMES: &str = "rules:
  - when: { operation: user-snapshot }
    respond:
      - { status: 200, body: { json: { user: { id: mocked, aesthetics: { theme: { dark: true }, font: { size: 12 } } } } } }
      - proxy: true
";

fn sometimes() -> specmock::internal::scenario::ScenarioSource {
    specmock::internal::scenario::ScenarioSource {
        file_name: "sometimes.yaml".into(),
        label: "sometimes.yaml".into(),
        text: SOMETIMES.into(),
    }
}

#[tokio::test]
async fn a_rules_proxy_true_sends_that_call_upstream() {
    let real = drifting(None).await;
    let behaviour = Behaviour {
        upstream: upstream(&real.url("http"), None, Duration::from_secs(5)),
        ..Behaviour::default()
    };
    let mock = start(with_scenario(vec![sometimes()], "sometimes", behaviour)).await;
    let first = get(mock.address(), "/user").await;
    assert!(first.text().contains("mocked"), "{}", first.text());
    assert!(real.seen().is_empty());
    for _ in 0..2 {
        let proxied = get(mock.address(), "/user").await;
        assert_eq!(
            proxied.text(),
            DRIFTED_PROFILE,
            "the sequence stays on its last response"
        );
        assert_eq!(proxied.header("x-mock-origin"), Some("upstream"));
    }
    assert_eq!(real.seen().len(), 2);
    let entry = journal_entries(mock.address()).await[0].clone();
    assert_eq!((&entry["origin"], &entry["rule"]), (&json!("upstream"), &Value::Null));

    // Without --upstream the call is answered from the spec, and start-up says so.
    let plain = start(with_scenario(vec![sometimes()], "sometimes", Behaviour::default())).await;
    get(plain.address(), "/user").await;
    let spec_answer = get(plain.address(), "/user").await;
    assert_eq!(spec_answer.status, 200);
    assert_eq!(spec_answer.header("x-mock-origin"), None);
    assert!(!spec_answer.text().contains("mocked"), "{}", spec_answer.text());
    let dir = TempDir::new("proxy-true");
    std::fs::create_dir(dir.path().join("scenarios")).expect("a scenario directory");
    dir.write("scenarios/sometimes.yaml", SOMETIMES);
    let binary = Binary::start(
        &[
            "--scenarios",
            "scenarios",
            "--scenario",
            "sometimes",
            "--port",
            "0",
            "--no-watch",
        ],
        dir.path(),
    );
    let line = binary.stderr_once("proxy: true");
    assert!(
        line.contains("scenarios/sometimes.yaml rules[0]: `proxy: true` without --upstream"),
        "{line}"
    );
}

#[test]
fn a_proxy_true_response_stands_alone() {
    let dir = TempDir::new("proxy-true-alone");
    std::fs::create_dir(dir.path().join("scenarios")).expect("a scenario directory");
    dir.write(
        "scenarios/both.yaml",
        "rules:\n  - when: { operation: user-snapshot }\n    respond: { proxy: true, status: 200 }\n",
    );
    dir.write(
        "scenarios/neither.yaml",
        "rules:\n  - when: { operation: user-snapshot }\n    respond: { delay: 1s }\n",
    );
    dir.write(
        "scenarios/stream.yaml",
        "rules:\n  - when: { operation: stream-user }\n    respond: { proxy: true }\n",
    );
    let (code, stdout, stderr) = run_to_exit(&["check", "--scenarios", "scenarios"], dir.path());
    assert_eq!(code, Some(1), "{stderr}");
    let all = format!("{stdout}{stderr}");
    for expected in [
        "scenarios/both.yaml:3:23: `proxy: true` sends the call to --upstream, which answers it: remove `status`",
        "scenarios/neither.yaml:3:14: a response needs `status` (or `proxy: true`, to send the call to --upstream)",
        "scenarios/stream.yaml:3:23: `stream-user` is a WebSocket: its handshake is not proxied",
    ] {
        assert!(all.contains(expected), "{expected:?} not in:\n{all}");
    }
}

const STREAM_PROFILE: &str = r#"{"id": "u1", "aesthetics": {"theme": {"dark": true}, "font": {"size": 12}}}"#;
const DRIFTED_FRAME: &str = r#"{"id": 5, "aesthetics": {"theme": {"dark": true}, "font": {"size": 12}}}"#;

/// A WebSocket upstream: sends a profile, a drifted profile and `signed-out`,
/// then records the frames the client sends and the handshake's headers.
async fn stream_upstream() -> (SocketAddr, Arc<Mutex<Vec<String>>>, Arc<Mutex<HeaderMap>>) {
    use tokio_tungstenite::tungstenite::handshake::server::{Request, Response as Handshake};
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("its address");
    let (frames, headers) = (Arc::new(Mutex::new(Vec::new())), Arc::new(Mutex::new(HeaderMap::new())));
    let (seen_frames, seen_headers) = (frames.clone(), headers.clone());
    tokio::spawn(async move {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        // The callback's type is tungstenite's, large error and all.
        #[allow(clippy::result_large_err)]
        let callback = |request: &Request, response: Handshake| {
            *seen_headers.lock().unwrap() = request.headers().clone();
            Ok(response)
        };
        let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
            return;
        };
        for frame in [STREAM_PROFILE, DRIFTED_FRAME, "signed-out"] {
            use futures_util::SinkExt;
            ws.send(WsMessage::text(frame)).await.expect("send a frame");
        }
        while let Some(Ok(message)) = futures_util::StreamExt::next(&mut ws).await {
            if let WsMessage::Text(text) = message {
                seen_frames.lock().unwrap().push(text.as_str().to_string());
            }
        }
    });
    (addr, frames, headers)
}

#[tokio::test]
async fn a_stream_no_rule_answers_is_relayed_both_ways_and_each_server_frame_judged() {
    use futures_util::SinkExt;
    let (addr, received, handshake) = stream_upstream().await;
    let mock = proxy(&format!("http://{addr}"), false).await;
    let mut ws = ws_open(mock.address(), "/user/stream?__session=s", &[("x-mock-session", "s")]).await;
    for expected in [STREAM_PROFILE, DRIFTED_FRAME, "signed-out"] {
        match ws_next(&mut ws, IO_TIMEOUT).await {
            Some(Ok(WsMessage::Text(text))) => assert_eq!(text.as_str(), expected),
            other => panic!("expected {expected:?}, got {other:?}"),
        }
    }
    ws.send(WsMessage::text("hello")).await.expect("send to the upstream");
    let deadline = std::time::Instant::now() + IO_TIMEOUT;
    while received.lock().unwrap().is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(*received.lock().unwrap(), ["hello"]);
    let headers = handshake.lock().unwrap().clone();
    assert!(!headers.contains_key("x-mock-session"), "{headers:#?}");
    assert_eq!(headers["host"], addr.to_string());
    let _ = ws.close(None).await;

    let mut entries = journal_entries(mock.address()).await;
    entries.reverse();
    // The journal shows a JSON body as JSON, any other as text.
    let shown_body = |frame: &str| serde_json::from_str::<Value>(frame).unwrap_or_else(|_| json!(frame));
    let shown: Vec<(Value, Value, Value, Value)> = entries
        .iter()
        .map(|e| {
            (
                e["kind"].clone(),
                e["status"].clone(),
                e["origin"].clone(),
                e["body"].clone(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            (json!("request"), json!(101), json!("upstream"), Value::Null),
            (
                json!("server-frame"),
                json!(0),
                json!("upstream"),
                shown_body(STREAM_PROFILE)
            ),
            (
                json!("server-frame"),
                json!(0),
                json!("upstream"),
                shown_body(DRIFTED_FRAME)
            ),
            (
                json!("server-frame"),
                json!(0),
                json!("upstream"),
                shown_body("signed-out")
            ),
            (json!("frame"), json!(0), Value::Null, json!("hello")),
        ],
        "{entries:#?}"
    );
    assert_eq!(entries[0]["session"], "s");
    assert_eq!(entries[2]["body"]["id"], 5);
    let judged: Vec<_> = entries.iter().map(sides).collect();
    let counts = get(mock.address(), "/__mock/violations").await.json();
    assert_eq!(
        (
            &counts["violating_requests"],
            &counts["relayed_answers"],
            &counts["provider_violating_answers"]
        ),
        (&json!(0), &json!(4), &json!(1)),
        "the handshake and three frames relayed, one frame drifted: {counts:#}"
    );
    assert_eq!(
        judged[1..4],
        [
            vec![],
            vec![("/frame/id".to_string(), "type".to_string(), "provider".to_string())],
            vec![]
        ]
    );
}

/// A WebSocket upstream for the close handshake: it closes first (4001,
/// `bye`) when `closes_first`, else waits for the client's close; either
/// way it keeps the close frame it reads next (the echo, or the client's).
async fn closing_upstream(closes_first: bool) -> (SocketAddr, Arc<Mutex<Option<(u16, String)>>>) {
    use futures_util::{SinkExt, StreamExt};
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("its address");
    let seen = Arc::new(Mutex::new(None));
    let kept = seen.clone();
    tokio::spawn(async move {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
            return;
        };
        if closes_first {
            let frame = CloseFrame {
                code: CloseCode::from(4001),
                reason: "bye".into(),
            };
            let _ = ws.send(WsMessage::Close(Some(frame))).await;
        }
        while let Some(Ok(message)) = ws.next().await {
            if let WsMessage::Close(frame) = message {
                *kept.lock().unwrap() = frame.map(|f| (u16::from(f.code), f.reason.to_string()));
                // The echo tungstenite queued for a close it did not start.
                let _ = ws.flush().await;
                break;
            }
        }
    });
    (addr, seen)
}

/// The close frame `saw` holds, once the upstream has read one.
async fn close_read(saw: &Mutex<Option<(u16, String)>>) -> Option<(u16, String)> {
    let deadline = std::time::Instant::now() + IO_TIMEOUT;
    while saw.lock().unwrap().is_none() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    saw.lock().unwrap().clone()
}

#[tokio::test]
async fn a_close_from_either_side_of_a_relayed_stream_completes_both_handshakes() {
    use futures_util::SinkExt;
    // The client closes: the upstream reads its code, the client gets the echo.
    let (addr, upstream_read) = closing_upstream(false).await;
    let mock = proxy(&format!("http://{addr}"), false).await;
    let mut ws = ws_open(mock.address(), "/user/stream", &[]).await;
    let done = CloseFrame {
        code: CloseCode::Normal,
        reason: "done".into(),
    };
    ws.send(WsMessage::Close(Some(done))).await.expect("close");
    match ws_next(&mut ws, IO_TIMEOUT).await {
        Some(Ok(WsMessage::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 1000),
        other => panic!("expected the client's close echoed, got {other:?}"),
    }
    assert_eq!(close_read(&upstream_read).await, Some((1000, "done".to_string())));

    // The upstream closes: the client reads its code, the upstream gets the echo.
    let (addr, upstream_read) = closing_upstream(true).await;
    let mock = proxy(&format!("http://{addr}"), false).await;
    let mut ws = ws_open(mock.address(), "/user/stream", &[]).await;
    match ws_next(&mut ws, IO_TIMEOUT).await {
        Some(Ok(WsMessage::Close(Some(frame)))) => {
            assert_eq!((u16::from(frame.code), frame.reason.as_str()), (4001, "bye"))
        }
        other => panic!("expected the upstream's close, got {other:?}"),
    }
    // The client's echo, which its library queued on reading the close.
    let _ = ws.flush().await;
    assert_eq!(close_read(&upstream_read).await, Some((4001, "bye".to_string())));
}

/// An upstream that answers each connection's request with `segments`
/// written apart (so that an answer arrives in pieces), then closes it.
async fn segmented_upstream(answers: Vec<Vec<&'static str>>) -> SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("its address");
    tokio::spawn(async move {
        for segments in answers {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).await.is_ok_and(|n| n == 1) {
                head.push(byte[0]);
            }
            for segment in segments {
                let _ = stream.write_all(segment.as_bytes()).await;
                let _ = stream.flush().await;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });
    addr
}

const HANDSHAKE: [(&str, &str); 4] = [
    ("upgrade", "websocket"),
    ("connection", "upgrade"),
    ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ("sec-websocket-version", "13"),
];

#[tokio::test]
async fn a_handshake_answer_that_is_not_101_is_read_whole_and_relayed_whole() {
    let signed_out = "HTTP/1.1 511 Network Authentication Required\r\ncontent-type: text/plain\r\n";
    let addr = segmented_upstream(vec![
        vec![
            signed_out,
            "transfer-encoding: chunked\r\n\r\n6\r\nsigned\r\n",
            "4\r\n-out\r\n0\r\n\r\n",
        ],
        vec![signed_out, "content-length: 10\r\n\r\nsigned", "-out"],
        vec!["HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok"],
    ])
    .await;
    let mock = proxy(&format!("http://{addr}"), false).await;
    for framing in ["chunked", "in two segments"] {
        let reply = send(mock.address(), Method::GET, "/user/stream", &HANDSHAKE, b"").await;
        assert_eq!((reply.status, reply.text()), (511, "signed-out"), "{framing}");
        assert_eq!(reply.header("x-mock-origin"), Some("upstream"), "{framing}");
        assert_eq!(
            reply.header("transfer-encoding"),
            None,
            "{framing}: hyper frames it anew"
        );
    }
    let ok = send(mock.address(), Method::GET, "/user/stream", &HANDSHAKE, b"").await;
    assert_eq!((ok.status, ok.text()), (200, "ok"), "relayed as it came");
    let entry = journal_entries(mock.address()).await[0].clone();
    let flagged = ("/status".to_string(), "status".to_string(), "provider".to_string());
    assert!(
        sides(&entry).contains(&flagged),
        "a handshake answered 200 is flagged: {entry:#}"
    );
}

#[tokio::test]
async fn the_specs_base_path_is_replaced_by_the_upstreams_not_doubled() {
    let real = drifting(None).await;
    let text = std::fs::read_to_string(repo_root().join("openapi.yaml")).expect("the shipped spec");
    let text = text.replacen("url: http://localhost:1000", "url: http://localhost:1000/v1", 1);
    let spec = specmock::internal::spec::load_text("openapi.yaml", &text, Some(repo_root())).expect("the spec loads");
    let fixtures = shipped_sources().load_fixtures().expect("the shipped fixtures load");
    let behaviour = Behaviour {
        upstream: upstream(&format!("{}/api", real.url("http")), None, Duration::from_secs(5)),
        ..Behaviour::default()
    };
    let (app, _) = App::new(spec, &fixtures, 0, behaviour).expect("the spec renders");
    let mock = start(app).await;
    for path in ["/v1/user/refresh?x=1", "/user/refresh?x=1"] {
        get(mock.address(), path).await;
    }
    let targets: Vec<String> = real.seen().into_iter().map(|seen| seen.target).collect();
    assert_eq!(targets, ["/api/user/refresh?x=1", "/api/user/refresh?x=1"]);
}
