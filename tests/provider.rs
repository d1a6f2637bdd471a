//! `specmock verify`, the provider contract test, run as the real binary:
//! against the shipped mock (everything conforms), against small servers
//! that break the contract on purpose (each break reported precisely), and
//! with the usage and I/O errors that exit 2.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use common::*;
use serde_json::{json, Value};

/// A request as a test server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    target: String,
    /// Lower-case names.
    headers: Vec<(String, String)>,
    body: String,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// A plain HTTP/1.1 server on a loopback port, one thread per connection,
/// answering every request with the bytes `answer` gives; it records what it saw.
fn serve(answer: fn(&Seen) -> Vec<u8>) -> (SocketAddr, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a test server");
    let addr = listener.local_addr().expect("its address");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let record = record.clone();
            std::thread::spawn(move || {
                if let Some(request) = read_request(&stream) {
                    record.lock().unwrap().push(request.clone());
                    let _ = (&stream).write_all(&answer(&request));
                }
            });
        }
    });
    (addr, seen)
}

fn read_request(mut stream: &TcpStream) -> Option<Seen> {
    stream.set_read_timeout(Some(IO_TIMEOUT)).ok()?;
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        let n = stream.read(&mut chunk).ok().filter(|n| *n > 0)?;
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let (method, target) = (request_line.next()?.to_string(), request_line.next()?.to_string());
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buffer[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).ok().filter(|n| *n > 0)?;
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Seen {
        method,
        target,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// A complete answer (the connection closes after it).
fn reply(status: &str, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut text = format!(
        "HTTP/1.1 {status}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    text.push_str(body);
    text.into_bytes()
}

fn json_reply(status: &str, body: &Value) -> Vec<u8> {
    reply(status, &[("content-type", "application/json")], &body.to_string())
}

/// The 101 to a WebSocket handshake, then one unmasked text frame.
fn websocket_reply(request: &Seen, frame: &str) -> Vec<u8> {
    let key = request.header("sec-websocket-key").unwrap_or_default();
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    let mut bytes = format!(
        "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: {accept}\r\n\r\n"
    )
    .into_bytes();
    assert!(frame.len() < 126, "a one-byte length frame");
    bytes.extend_from_slice(&[0x81, frame.len() as u8]);
    bytes.extend_from_slice(frame.as_bytes());
    bytes
}

/// A valid `UserProfile`.
fn profile() -> Value {
    json!({"id": "5e2d8b41-0c97-4a36-8f1e-b7a6c9d03e52", "aesthetics": {"theme": {"dark": false}, "font": {"size": 14}}})
}

/// The shipped Pieces User API, five operations of it broken.
fn broken_pieces(request: &Seen) -> Vec<u8> {
    let mut wrong_id = profile();
    wrong_id["id"] = json!(5);
    match (request.method.as_str(), request.target.as_str()) {
        ("GET", "/.well-known/health") => reply("200 OK", &[("content-type", "text/plain")], "ok"),
        ("HEAD", "/.well-known/health") => {
            b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\n".to_vec()
        }
        ("GET", "/user") => json_reply("200 OK", &json!({ "user": wrong_id })),
        ("GET", "/user/refresh") => json_reply("200 OK", &json!({"id": "u1"})),
        ("GET", "/user/providers") => reply("418 I'm a teapot", &[], ""),
        ("GET", "/user/stream") => websocket_reply(
            request,
            &json!({"id": 7, "aesthetics": profile()["aesthetics"]}).to_string(),
        ),
        ("POST", "/user/update") => reply("200 OK", &[("content-type", "text/html")], "<html></html>"),
        ("POST", "/user/clear") => reply("204 No Content", &[], ""),
        // The placeholder credential of the Auth0 (OAuth2) scheme.
        ("POST", "/user/select") if request.header("authorization") == Some("Bearer specmock-verify") => {
            json_reply("200 OK", &profile())
        }
        ("POST", "/user/beta/status") => json_reply("200 OK", &serde_json::from_str(&request.body).unwrap_or_default()),
        ("POST", "/user/update/vanity") => json_reply("200 OK", &profile()),
        _ => reply("400 Bad Request", &[], "unexpected request"),
    }
}

/// The items API of `tests/provider_files/items.yaml`: reads answer with a
/// malformed and a missing required header; writes conform.
fn items(request: &Seen) -> Vec<u8> {
    if request.header("x-api-key") != Some("real-key") {
        return reply("401 Unauthorized", &[], "");
    }
    match (request.method.as_str(), request.target.as_str()) {
        ("GET", "/items/42?fields=name&fields=size") => reply(
            "200 OK",
            &[("content-type", "application/json"), ("x-request-id", "not-a-uuid")],
            r#"{"id": 42}"#,
        ),
        ("PUT", "/items/42") => reply(
            "200 OK",
            &[("x-request-id", "0b6f3c2e-8d41-4a7e-9c25-3f1e7d9a4b60")],
            "",
        ),
        _ => reply("400 Bad Request", &[], "unexpected request"),
    }
}

fn verify(args: &[&str]) -> (Option<i32>, String, String) {
    let mut all = vec!["verify"];
    all.extend_from_slice(args);
    run_to_exit(&all, &repo_root())
}

fn provider_file(name: &str) -> String {
    repo_root()
        .join("tests/provider_files")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn the_shipped_mock_conforms_to_its_spec() {
    let mock = Binary::start(&["--port", "0"], &repo_root());
    let dir = TempDir::new("verify-junit");
    let junit = dir.path().join("verify.xml");
    let url = format!("http://{}", mock.addr);
    let (code, stdout, stderr) = verify(&["--against", &url, "--junit", &junit.display().to_string()]);
    assert_eq!(code, Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    let spec = shipped_spec();
    for operation in &spec.operations {
        assert!(
            stdout.contains(&format!("PASS {} (", operation.id)),
            "{}:\n{stdout}",
            operation.id
        );
    }
    assert!(
        stdout.contains("PASS stream-user (GET /user/stream -> 101)"),
        "{stdout}"
    );
    assert!(!stdout.contains("FAIL"), "{stdout}");
    let count = spec.operations.len();
    assert!(stdout.contains(&format!(
        "{count} operations, {count} requests to {url}: {count} passed, 0 failed"
    )));
    let xml = std::fs::read_to_string(&junit).expect("the JUnit report is written");
    assert!(
        xml.contains(&format!("<testsuites tests=\"{count}\" failures=\"0\">")),
        "{xml}"
    );
    assert_eq!(xml.matches("<testcase ").count(), count, "{xml}");
    assert!(
        xml.contains("<testcase classname=\"Pieces OS User API\" name=\"stream-user\""),
        "{xml}"
    );
    assert!(!xml.contains("<failure"), "{xml}");
}

#[test]
fn a_server_that_breaks_the_contract_is_reported_precisely() {
    let (addr, _) = serve(broken_pieces);
    let dir = TempDir::new("verify-broken");
    let junit = dir.path().join("verify.xml");
    let url = format!("http://{addr}");
    let (code, stdout, stderr) = verify(&["--against", &url, "--junit", &junit.display().to_string()]);
    assert_eq!(code, Some(1), "stdout:\n{stdout}\nstderr:\n{stderr}");
    let expected = [
        // A wrong type, by pointer.
        "FAIL user-snapshot (GET /user -> 200)\n  GET /user -> 200: /body/user/id: expected string, found integer\n",
        // A required field missing.
        "FAIL refresh-user (GET /user/refresh -> 200)\n  \
         GET /user/refresh -> 200: /body/aesthetics: required property `aesthetics` is missing\n",
        // A status the operation does not declare.
        "FAIL user-providers (GET /user/providers -> 418)\n  \
         GET /user/providers -> 418: status 418 is not declared for `user-providers` (declared: 200, 500, 501)\n",
        // A content type not declared for the status.
        "FAIL update-user (POST /user/update -> 200)\n  \
         POST /user/update -> 200: Content-Type `text/html` is not declared for 200 (declared: application/json)\n",
        // The stream's first frame against the success response's schema.
        "FAIL stream-user (GET /user/stream -> 101)\n  GET /user/stream -> 101: /frame/id: expected string, found integer\n",
    ];
    for block in expected {
        assert!(stdout.contains(block), "missing:\n{block}\nin:\n{stdout}");
    }
    for passed in [
        "health",
        "health-head",
        "clear-user",
        "select-user",
        "user-beta-status",
        "user-update-vanity",
    ] {
        assert!(stdout.contains(&format!("PASS {passed} (")), "{passed}:\n{stdout}");
    }
    assert!(
        stdout.contains(&format!("11 operations, 11 requests to {url}: 6 passed, 5 failed")),
        "{stdout}"
    );
    let xml = std::fs::read_to_string(&junit).expect("the JUnit report is written");
    assert!(xml.contains("<testsuites tests=\"11\" failures=\"5\">"), "{xml}");
    let snapshot = xml
        .split("name=\"user-snapshot\"")
        .nth(1)
        .expect("a user-snapshot case");
    let case = snapshot.split("</testcase>").next().unwrap_or_default();
    assert!(
        case.contains(
            "<failure message=\"1 contract problem\" type=\"contract\">\
             GET /user -&gt; 200: /body/user/id: expected string, found integer</failure>"
        ),
        "{xml}"
    );
    assert!(
        xml.contains("<testcase classname=\"Pieces OS User API\" name=\"health\""),
        "{xml}"
    );
}

#[test]
fn parameters_credentials_headers_and_scenario_matches() {
    let (addr, seen) = serve(items);
    let url = format!("http://{addr}");
    let (code, stdout, stderr) = verify(&[
        "--against",
        &url,
        "--spec",
        &provider_file("items.yaml"),
        "--scenarios",
        &provider_file("scenarios"),
        "--scenario",
        "huge",
        "--header",
        "X-Api-Key: real-key",
    ]);
    assert_eq!(code, Some(1), "stdout:\n{stdout}\nstderr:\n{stderr}");
    // Path and query from the parameters' examples; the user's key replaced the placeholder.
    assert!(
        stdout.contains(
            "FAIL get-item (GET /items/{id} -> 200)\n  \
             GET /items/42?fields=name&fields=size -> 200: /header/X-Request-Id: \"not-a-uuid\" is not a valid `uuid`\n  \
             GET /items/42?fields=name&fields=size -> 200: /header/X-Rate-Remaining: required header is missing\n"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("PASS put-item (PUT /items/{id} -> 200, 200, 200)\n"),
        "{stdout}"
    );
    // The first example, the scenario's match merged over it, the other example.
    let bodies: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.method == "PUT")
        .map(|s| s.body.clone())
        .collect();
    assert_eq!(
        bodies,
        [r#"{"name":"box"}"#, r#"{"name":"huge"}"#, r#"{"name":"big box"}"#]
    );
}

#[test]
fn usage_and_io_errors_exit_2_with_a_clear_message() {
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("its address")
    };
    let unreachable = format!("http://{closed}");
    let cases: [(&[&str], &str); 5] = [
        (&["--against", &unreachable], "is the server running?"),
        (&["--against", "ftp://127.0.0.1:1"], "the scheme `ftp` is not supported"),
        (&["--against", "127.0.0.1:8000"], "expected http://HOST:PORT[/base]"),
        (
            &["--against", &unreachable, "--spec", "no-such-spec.yaml"],
            "cannot read the spec",
        ),
        (
            &["--against", &unreachable, "--header", "no colon"],
            "expected 'Name: value'",
        ),
    ];
    for (args, message) in cases {
        let (code, stdout, stderr) = verify(args);
        assert_eq!(code, Some(2), "{args:?}: stdout:\n{stdout}\nstderr:\n{stderr}");
        assert!(stderr.contains(message), "{args:?}: {message:?} not in:\n{stderr}");
        assert!(
            !stdout.contains("PASS") && !stdout.contains("FAIL"),
            "{args:?}: nothing was sent:\n{stdout}"
        );
    }
    assert!(verify(&["--against", &unreachable])
        .2
        .contains(&format!("cannot connect to {unreachable}")));
}

#[test]
fn an_unwritable_junit_file_exits_2() {
    let (addr, _) = serve(broken_pieces);
    let path: PathBuf = repo_root().join("no-such-directory").join("verify.xml");
    let (code, _, stderr) = verify(&[
        "--against",
        &format!("http://{addr}"),
        "--junit",
        &path.display().to_string(),
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("error: cannot write the JUnit report to {}", path.display())),
        "{stderr}"
    );
}
