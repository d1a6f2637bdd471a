//! The library a Rust test embeds: `MockServer::builder()`, its session
//! handles, expectations, violations and load errors, through a real
//! server on an ephemeral loopback port.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::{post_json, send, vanity_body, TempDir, IO_TIMEOUT};
use http::Method;
use specmock::internal::Behaviour;
use specmock::{Expectation, MockServer, Position, StartError};

/// One request over a plain blocking socket, as a test without a runtime
/// sends it: the status and the body.
fn blocking_request(address: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut stream = TcpStream::connect(address).expect("the mock accepts");
    stream.set_read_timeout(Some(IO_TIMEOUT)).expect("a read timeout");
    let headers: String = headers
        .iter()
        .map(|(name, value)| format!("{name}: {value}\r\n"))
        .collect();
    let head =
        format!("{method} {path} HTTP/1.1\r\nhost: mock\r\n{headers}content-length: 0\r\nconnection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).expect("the request is sent");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("the answer is read");
    let status = answer[9..12].parse().expect("a status line");
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, body)| body).to_string();
    (status, body)
}

fn load_error(started: Result<MockServer, StartError>) -> specmock::LoadError {
    match started {
        Err(StartError::Load(error)) => error,
        Err(other) => panic!("a load error, not {other}"),
        Ok(_) => panic!("the inputs should not load"),
    }
}

#[test]
fn a_plain_test_starts_the_embedded_api_on_a_thread_and_dropping_it_closes_the_port() {
    let mock = MockServer::builder().start_blocking().expect("the embedded API loads");
    let address = mock.address();
    assert!(address.ip().is_loopback());
    assert_eq!(mock.url(), format!("http://{address}"));
    let session = mock.session("plain");
    let (status, body) = blocking_request(address, "POST", "/user/update/vanity", &[session.header()]);
    assert_eq!(status, 200, "{body}");
    session
        .verify(Expectation::operation("user-update-vanity").times(1))
        .expect("the call is journaled in the session");
    drop(mock);
    let refused = TcpStream::connect(address).expect_err("nothing listens after the drop");
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
}

#[tokio::test]
async fn an_async_server_stops_on_the_callers_runtime() {
    let mock = MockServer::builder().start().await.expect("the embedded API loads");
    let address = mock.address();
    assert_eq!(
        send(address, Method::GET, "/.well-known/health", &[], b"").await.status,
        200
    );
    mock.stop().await;
    assert!(
        tokio::net::TcpStream::connect(address).await.is_err(),
        "nothing listens after stop"
    );
}

#[tokio::test]
async fn a_spec_given_as_text_is_served_alone() {
    let spec = r#"
openapi: 3.0.3
info: { title: ping, version: "1" }
paths:
  /ping:
    get:
      operationId: ping
      responses:
        "200":
          description: pong
          content:
            application/json:
              example: { pong: true }
"#;
    let mock = MockServer::builder()
        .spec_str(spec)
        .start()
        .await
        .expect("the spec loads");
    let reply = send(mock.address(), Method::GET, "/ping", &[], b"").await;
    assert_eq!((reply.status, reply.json()), (200, serde_json::json!({"pong": true})));
    assert_eq!(send(mock.address(), Method::GET, "/user", &[], b"").await.status, 404);
}

#[test]
fn a_broken_spec_is_a_load_error_naming_line_and_column() {
    let broken = "openapi: 3.0.3\ninfo: { title: x, version: '1' }\npaths:\n  /a: [unclosed\n";
    let error = load_error(MockServer::builder().spec_str(broken).start_blocking());
    let first = error.diagnostics().next().expect("one problem at least");
    assert_eq!(first.file, "spec_str");
    assert_eq!(first.position, Position::LineColumn { line: 4, column: 7 }, "{first}");
    assert!(error.to_string().starts_with("spec_str:"), "{error}");
    assert_eq!(
        error.to_string(),
        first.to_string(),
        "one problem, one line, as the CLI prints it"
    );

    let dir = TempDir::new("embed-broken");
    let file = dir.write("openapi.yaml", broken);
    let error = load_error(MockServer::builder().spec_file(&file).start_blocking());
    assert!(
        error.to_string().starts_with(&format!("{}:", file.display())),
        "{error}"
    );
}

#[test]
fn an_unknown_start_scenario_is_a_load_error_listing_the_known_ones() {
    let error = load_error(MockServer::builder().scenario("vanity-taken-typo").start_blocking());
    assert_eq!(error.diagnostics().len(), 1);
    let message = error.to_string();
    assert!(message.contains("unknown scenario `vanity-taken-typo`"), "{message}");
    assert!(message.contains("vanity-taken"), "{message}");
}

#[test]
fn a_broken_scenario_file_is_a_load_error_naming_its_line() {
    let dir = TempDir::new("embed-scenario");
    dir.write(
        "bad.yaml",
        "rules:\n  - when: { operation: no-such-operation }\n    respond: { status: 200 }\n",
    );
    let error = load_error(MockServer::builder().scenarios_dir(dir.path()).start_blocking());
    let message = error.to_string();
    assert!(message.contains("bad.yaml:2:"), "{message}");
    assert!(message.contains("no-such-operation"), "{message}");
}

#[tokio::test]
async fn a_failed_verification_explains_as_the_417_does() {
    let mock = MockServer::builder().start().await.expect("the embedded API loads");
    let session = mock.session("t1");
    let headers = [session.header(), ("content-type", "application/json")];
    let reply = send(
        mock.address(),
        Method::POST,
        "/user/update/vanity",
        &headers,
        vanity_body("ada").as_bytes(),
    )
    .await;
    assert_eq!(reply.status, 200);
    let expectation = Expectation::operation("user-update-vanity")
        .with_body(serde_json::json!({"vanityname": "mark"}))
        .times(1);
    let error = session
        .verify(expectation.clone())
        .expect_err("no call asked for `mark`");

    let verify = serde_json::json!({"operation": "user-update-vanity", "session": "t1", "body": {"vanityname": "mark"}, "count": 1});
    let answer = post_json(mock.address(), "/__mock/verify", &verify.to_string()).await;
    assert_eq!(answer.status, 417);
    let detail = answer.json()["detail"].as_str().expect("a detail").to_string();
    let text = error.to_string();
    assert_eq!(text.lines().next(), Some(detail.as_str()), "{text}");
    assert!(
        text.contains("closest calls:\n  #1 POST /user/update/vanity (session t1) answered 200: /body/vanityname: expected \"mark\", received \"ada\""),
        "{text}"
    );
    assert_eq!(format!("{error:?}"), text, "an unwrapped error prints the explanation");
    mock.verify(Expectation::operation("user-update-vanity").at_least(1))
        .expect("any session");
    mock.session("t2")
        .verify(Expectation::operation("user-update-vanity").never())
        .expect("none in t2");
    let unknown = session
        .verify(Expectation::operation("no-such-operation"))
        .expect_err("unknown operation");
    assert!(unknown.to_string().contains("no-such-operation"), "{unknown}");
}

#[tokio::test]
async fn violations_list_each_request_with_the_pointers_it_broke() {
    let mock = MockServer::builder().start().await.expect("the embedded API loads");
    assert!(mock.violations().is_empty());
    assert_eq!(mock.violations().to_string(), "no request broke the contract");
    let session = mock.session("bad");
    let headers = [session.header(), ("content-type", "application/json")];
    let reply = send(mock.address(), Method::POST, "/user/update", &headers, br#"{"id": 5}"#).await;
    assert_eq!(reply.status, 400);

    let violations = mock.violations();
    assert_eq!(violations.len(), 1);
    let request = violations.iter().next().expect("the request");
    assert_eq!(
        (request.method(), request.target(), request.session()),
        ("POST", "/user/update", "bad")
    );
    let text = violations.to_string();
    assert!(
        text.starts_with("1 request broke the contract:\n  #1 POST /user/update (session bad) answered 400:\n    "),
        "{text}"
    );
    assert!(
        text.contains("\n    /body/id (type): expected string, found integer"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 2 + request.violations().len(), "{text}");
    assert_eq!(session.violations().len(), 1);
    assert!(mock.session("other").violations().is_empty());
}

#[tokio::test]
async fn a_session_handle_moves_reads_and_resets_its_session() {
    let mock = MockServer::builder()
        .scenario("vanity-taken")
        .start()
        .await
        .expect("the embedded API loads");
    let session = mock.session("t 1&x");
    assert_eq!(session.state().expect("a fresh session"), "signed-in");
    assert_eq!(session.store().expect("its store")["user"]["vanityname"], "sam");
    // By the query twin: the id is encoded, the path's own query kept.
    let url = session.url("/user/update/vanity?x=1");
    let path = url.strip_prefix(&mock.url()).expect("the mock's URL");
    assert_eq!(path, "/user/update/vanity?x=1&__session=t%201%26x");
    assert_eq!(send(mock.address(), Method::POST, path, &[], b"").await.status, 409);
    assert_eq!(session.received_requests().len(), 1);

    session.set_scenario("signed-out").expect("a shipped scenario");
    assert_eq!(session.state().expect("moved"), "signed-out");
    assert_eq!(send(mock.address(), Method::POST, path, &[], b"").await.status, 511);
    let unknown = session.set_scenario("nope").expect_err("no such scenario");
    assert!(unknown.to_string().contains("known: "), "{unknown}");
    assert_eq!(
        format!("{unknown:?}"),
        unknown.to_string(),
        "an unwrapped error prints the message"
    );

    session.set_scenario("vanity-taken").expect("back");
    assert_eq!(send(mock.address(), Method::POST, path, &[], b"").await.status, 409);
    assert_eq!(send(mock.address(), Method::POST, path, &[], b"").await.status, 200);
    session.reset().expect("a reset");
    assert_eq!(session.received_requests().len(), 4, "the journal keeps the calls");
    assert_eq!(
        send(mock.address(), Method::POST, path, &[], b"").await.status,
        409,
        "the scenario starts again"
    );
}

#[test]
fn a_lower_and_an_upper_bound_make_a_range_and_a_count_with_a_bound_is_an_error() {
    let mock = MockServer::builder().start_blocking().expect("the embedded API loads");
    let session = mock.session("range");
    let vanity = || Expectation::operation("user-update-vanity");
    let error = session
        .verify(vanity().at_least(1).at_most(3))
        .expect_err("no call was made");
    assert!(
        error
            .to_string()
            .starts_with("expected between 1 and 3 calls of `user-update-vanity` in session `range`; 0 matched"),
        "{error}"
    );
    for _ in 0..2 {
        let (status, body) = blocking_request(mock.address(), "POST", "/user/update/vanity", &[session.header()]);
        assert_eq!(status, 200, "{body}");
    }
    session
        .verify(vanity().at_least(1).at_most(3))
        .expect("2 is between 1 and 3");
    session
        .verify(vanity().at_most(3).at_least(2))
        .expect("in either order");
    session
        .verify(vanity().at_least(3).at_most(5))
        .expect_err("2 is below the range");
    let reversed = session
        .verify(vanity().at_least(3).at_most(1))
        .expect_err("an empty range");
    assert!(
        reversed
            .to_string()
            .contains("`at_least` (3) is greater than `at_most` (1)"),
        "{reversed}"
    );
    for both in [
        vanity().times(2).at_most(5),
        vanity().at_least(1).times(2),
        vanity().never().at_least(0),
    ] {
        let error = session.verify(both.clone()).expect_err("a count and a bound together");
        assert!(error.to_string().contains("either `count` or"), "{both:?}: {error}");
    }
}

#[tokio::test]
async fn a_session_does_not_claim_no_violations_once_violating_requests_rolled_off_the_journal() {
    let mock = common::start(common::shipped_app(Behaviour {
        journal_size: 2,
        ..Behaviour::default()
    }))
    .await;
    let bad = mock.session("bad");
    let headers = [bad.header(), ("content-type", "application/json")];
    let reply = send(mock.address(), Method::POST, "/user/update", &headers, br#"{"id": 5}"#).await;
    assert_eq!(reply.status, 400);
    bad.verify(Expectation::operation("POST /user/update").refused().times(1))
        .expect("held in the journal");
    let filler = mock.session("filler");
    for _ in 0..2 {
        let reply = send(mock.address(), Method::GET, "/user", &[filler.header()], b"").await;
        assert_eq!(reply.status, 200);
    }

    let violations = bad.violations();
    assert!(!violations.is_empty(), "{violations}");
    assert_eq!(violations.iter().count(), 0, "the journal no longer holds it");
    let text = violations.to_string();
    assert!(text.starts_with("1 request broke the contract or may have:"), "{text}");
    assert!(
        text.contains("and 1 no longer in the journal, of this session or another"),
        "{text}"
    );
    assert!(
        !filler.violations().is_empty(),
        "its session is unknown, so it may be filler's too"
    );
    assert_eq!(
        mock.violations().to_string(),
        "1 request broke the contract:\n  and 1 no longer in the journal"
    );

    let error = bad
        .verify(Expectation::operation("POST /user/update").refused().times(1))
        .expect_err("the call rolled off");
    assert!(
        error
            .to_string()
            .ends_with("\nthe journal no longer holds the oldest requests (more came than it keeps): calls among them were not counted"),
        "{error}"
    );
}

#[test]
fn dropping_a_blocking_server_cuts_a_waiting_request_and_closes_the_port_at_once() {
    let dir = TempDir::new("embed-slow");
    dir.write(
        "slow.yaml",
        "rules:\n  - when: { operation: refresh-user }\n    respond: { status: 200, delay: 30s }\n",
    );
    let mock = MockServer::builder()
        .scenarios_dir(dir.path())
        .scenario("slow")
        .start_blocking()
        .expect("the scenario loads");
    let address = mock.address();
    let client = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(address).expect("the mock accepts");
        stream.set_read_timeout(Some(IO_TIMEOUT)).expect("a read timeout");
        let request = "GET /user/refresh HTTP/1.1\r\nhost: mock\r\nconnection: close\r\n\r\n";
        stream.write_all(request.as_bytes()).expect("the request is sent");
        let mut answer = Vec::new();
        let read = stream.read_to_end(&mut answer);
        (read.map_err(|e| e.kind()), answer)
    });
    // Time for the request to reach its scripted delay.
    std::thread::sleep(Duration::from_millis(500));

    let dropping = Instant::now();
    drop(mock);
    let took = dropping.elapsed();
    assert!(took < Duration::from_secs(3), "the drop took {took:?}");
    let refused = TcpStream::connect(address).expect_err("nothing listens after the drop");
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    let (read, answer) = client.join().expect("the client thread");
    assert!(
        answer.is_empty(),
        "the waiting request is cut, not answered: {read:?} {}",
        String::from_utf8_lossy(&answer)
    );
    assert_ne!(
        read,
        Err(std::io::ErrorKind::WouldBlock),
        "the connection is closed, not left hanging"
    );
}

#[test]
fn a_session_id_is_read_as_the_server_reads_its_header() {
    let mock = MockServer::builder().start_blocking().expect("the embedded API loads");
    let padded = mock.session(" t1 ");
    assert_eq!(padded.id(), "t1");
    assert_eq!(padded.header(), ("x-mock-session", "t1"));
    let (status, body) = blocking_request(mock.address(), "GET", "/user", &[padded.header()]);
    assert_eq!(status, 200, "{body}");
    let (status, body) = blocking_request(mock.address(), "GET", "/user", &[("x-mock-session", " t1 ")]);
    assert_eq!(status, 200, "{body}");
    assert_eq!(padded.received_requests().len(), 2, "both name t1");
    assert_eq!(mock.session("").id(), "default", "no session named is the default one");

    let unsendable = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| mock.session("t\n1")))
        .expect_err("a line break cannot go in a header");
    let message = unsendable.downcast_ref::<String>().expect("a message");
    assert!(message.contains("\"t\\n1\""), "{message}");
    assert!(message.contains("visible ASCII"), "{message}");
}

#[test]
fn a_session_url_joins_any_path_before_its_fragment() {
    let mock = MockServer::builder().start_blocking().expect("the embedded API loads");
    let session = mock.session("t1");
    let base = mock.url();
    assert_eq!(session.url("user"), format!("{base}/user?__session=t1"));
    assert_eq!(session.url(""), format!("{base}/?__session=t1"));
    assert_eq!(session.url("/user#top"), format!("{base}/user?__session=t1#top"));
    assert_eq!(
        session.url("/user?x=1#a?b"),
        format!("{base}/user?x=1&__session=t1#a?b")
    );
    let (status, body) = blocking_request(mock.address(), "GET", &session.url("user")[base.len()..], &[]);
    assert_eq!(status, 200, "{body}");
    assert_eq!(session.received_requests().len(), 1);
}

#[tokio::test]
async fn a_received_request_gives_its_body_as_bytes_and_as_json() {
    let mock = MockServer::builder().start().await.expect("the embedded API loads");
    let session = mock.session("bodies");
    let json = [session.header(), ("content-type", "application/json")];
    let sent = send(
        mock.address(),
        Method::POST,
        "/user/update/vanity",
        &json,
        vanity_body("ada").as_bytes(),
    )
    .await;
    assert_eq!(sent.status, 200, "{}", sent.text());
    let text = [session.header(), ("content-type", "text/plain")];
    send(mock.address(), Method::POST, "/user/update/vanity", &text, b"not json").await;
    send(mock.address(), Method::GET, "/user", &[session.header()], b"").await;

    let received = session.received_requests();
    assert_eq!(received.len(), 3);
    assert_eq!(received[0].body(), Some(vanity_body("ada").as_bytes()));
    assert_eq!(
        received[0].body_json(),
        Some(serde_json::from_str::<serde_json::Value>(&vanity_body("ada")).expect("JSON"))
    );
    assert_eq!(received[1].body(), Some(&b"not json"[..]));
    assert_eq!(received[1].body_json(), None, "bytes that are not JSON");
    assert_eq!((received[2].body(), received[2].body_json()), (None, None), "no body");
}
