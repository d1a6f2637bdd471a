//! The real `specmock` binary: start-up from various directories and specs,
//! start-up failures with exit code 2 and a located message, flags, and a
//! graceful exit on SIGTERM.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const MINIMAL_HEAD: &str = "openapi: 3.0.3\ninfo:\n  title: t\n  version: '1'\n";

fn petstore_arg() -> String {
    specs_dir().join("petstore.yaml").display().to_string()
}

/// Asserts a start-up failure: exit code 2, nothing on stdout, and every
/// `needle` in stderr.
fn assert_fails(args: &[&str], cwd: &Path, needles: &[&str]) -> String {
    let (code, stdout, stderr) = run_to_exit(args, cwd);
    assert_eq!(code, Some(2), "exit code; stderr:\n{stderr}");
    assert!(!stdout.contains("listening on"), "{stdout}");
    for needle in needles {
        assert!(stderr.contains(needle), "stderr lacks {needle:?}:\n{stderr}");
    }
    stderr
}

#[tokio::test]
async fn runs_from_an_empty_directory_with_the_embedded_spec() {
    let dir = TempDir::new("empty-cwd");
    let mut binary = Binary::start(&["--port", "0"], dir.path());
    assert!(
        binary.addr.ip().is_loopback(),
        "binds loopback by default: {}",
        binary.addr
    );
    let reply = get(binary.addr, "/user").await;
    assert_eq!(reply.status, 200);
    // The embedded `default` scenario answers with the embedded signed-in fixture.
    let fixture: serde_json::Value =
        serde_json::from_str(include_str!("../fixtures/user-signed-in.json")).expect("the fixture is JSON");
    assert_eq!(reply.json()["user"]["id"], fixture["id"]);
    let health = get(binary.addr, "/.well-known/health").await;
    assert_eq!(health.text(), "ok");
    binary.terminate();
    assert_eq!(binary.wait_exit(), Some(0), "stderr:\n{}", binary.stderr());
    assert!(
        binary.stderr().contains("user-snapshot"),
        "requests are logged to stderr with their operation:\n{}",
        binary.stderr()
    );
}

#[tokio::test]
async fn the_serve_subcommand_does_the_same() {
    let dir = TempDir::new("serve-subcommand");
    let petstore = petstore_arg();
    let mut binary = Binary::start(&["serve", "--port", "0", "--spec", &petstore], dir.path());
    assert_eq!(get(binary.addr, "/v1/pets/5").await.status, 200);
    binary.terminate();
    assert_eq!(binary.wait_exit(), Some(0));
}

#[tokio::test]
async fn openapi_yaml_and_fixtures_in_the_working_directory_are_picked_up() {
    let dir = TempDir::new("cwd-spec");
    let specs = specs_dir();
    std::fs::copy(specs.join("petstore.yaml"), dir.path().join("openapi.yaml")).unwrap();
    std::fs::copy(specs.join("pet-schemas.yaml"), dir.path().join("pet-schemas.yaml")).unwrap();
    std::fs::create_dir(dir.path().join("fixtures")).unwrap();
    dir.write(
        "fixtures/getPet.json",
        r#"{"id":"9b2e6a4c-1d3f-4e5a-8b7c-0d1e2f3a4b5c","name":"From cwd","petType":"Dog"}"#,
    );
    let mut binary = Binary::start(&["--port", "0"], dir.path());
    let reply = get(binary.addr, "/v1/pets/1").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["name"], "From cwd");
    assert_eq!(get(binary.addr, "/user").await.status, 404, "not the embedded spec");
    binary.terminate();
    assert_eq!(binary.wait_exit(), Some(0));
}

#[test]
fn a_yaml_syntax_error_exits_2_with_file_line_and_column() {
    let dir = TempDir::new("broken-yaml");
    let spec = dir.write(
        "broken.yaml",
        &format!("{MINIMAL_HEAD}paths:\n  /a:\n    get: [unclosed\n"),
    );
    let spec = spec.display().to_string();
    let stderr = assert_fails(&["--spec", &spec, "--port", "0"], dir.path(), &[]);
    // `get: [unclosed` is line 7; the bracket is column 10.
    assert!(stderr.contains(&format!("{spec}:7:10:")), "{stderr}");
}

#[test]
fn an_unresolved_ref_exits_2_naming_the_json_pointer() {
    let dir = TempDir::new("unresolved-ref");
    let spec = dir.write(
        "unresolved.yaml",
        &format!(
            "{MINIMAL_HEAD}paths:\n  /a:\n    get:\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema:\n                $ref: '#/components/schemas/Nope'\n"
        ),
    );
    let spec = spec.display().to_string();
    assert_fails(
        &["--spec", &spec, "--port", "0"],
        dir.path(),
        &[
            // Line and column of the schema holding the $ref, and its JSON pointer.
            &format!("{spec}:14:17:"),
            "(at #/paths/~1a/get/responses/200/content/application~1json/schema)",
            "#/components/schemas/Nope",
            "does not resolve",
        ],
    );
}

#[test]
fn an_unresolved_ref_into_another_file_exits_2() {
    let dir = TempDir::new("missing-ref-file");
    let spec = dir.write(
        "spec.yaml",
        &format!(
            "{MINIMAL_HEAD}paths:\n  /a:\n    get:\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema:\n                $ref: 'missing.yaml#/Thing'\n"
        ),
    );
    let spec = spec.display().to_string();
    assert_fails(
        &["--spec", &spec, "--port", "0"],
        dir.path(),
        &["missing.yaml", "cannot read"],
    );
}

#[test]
fn a_swagger_2_document_exits_2_with_a_clear_message() {
    let dir = TempDir::new("swagger");
    let spec = dir.write(
        "swagger.yaml",
        "swagger: '2.0'\ninfo:\n  title: t\n  version: '1'\npaths: {}\n",
    );
    let spec = spec.display().to_string();
    assert_fails(
        &["--spec", &spec, "--port", "0"],
        dir.path(),
        &["Swagger 2.0 is not supported", "OpenAPI 3.0"],
    );

    let v32 = dir.write(
        "v32.yaml",
        "openapi: 3.2.0\ninfo:\n  title: t\n  version: '1'\npaths: {}\n",
    );
    assert_fails(
        &["--spec", &v32.display().to_string(), "--port", "0"],
        dir.path(),
        &["3.2.0", "3.0.x or 3.1.x"],
    );
}

#[test]
fn a_missing_spec_file_exits_2() {
    let dir = TempDir::new("missing-spec");
    assert_fails(
        &["--spec", "does-not-exist.yaml", "--port", "0"],
        dir.path(),
        &["does-not-exist.yaml", "cannot read the spec"],
    );
}

#[test]
fn a_port_already_in_use_exits_2_and_suggests_another() {
    let dir = TempDir::new("port-in-use");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().unwrap().port().to_string();
    let petstore = petstore_arg();
    let stderr = assert_fails(
        &["--spec", &petstore, "--port", &port],
        dir.path(),
        &["already in use", "--port", &port],
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    drop(taken);
}

#[test]
fn a_start_up_error_is_the_last_line_after_the_warnings_before_it() {
    let dir = TempDir::new("error-after-warnings");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().unwrap().port().to_string();
    // Its one example breaks its schema: skipped, with a warning.
    let spec = dir.path().join("warned.yaml");
    std::fs::write(
        &spec,
        r#"
openapi: 3.0.3
info: { title: t, version: "1" }
paths:
  /item:
    get:
      operationId: get-item
      responses:
        '200':
          description: an item
          content:
            application/json:
              schema: { type: object, required: [id], properties: { id: { type: string } } }
              example: { id: 5 }
"#,
    )
    .unwrap();
    for _ in 0..5 {
        let stderr = assert_fails(
            &["--spec", &spec.display().to_string(), "--port", &port],
            dir.path(),
            &["is skipped", "already in use"],
        );
        let last = stderr.lines().last().unwrap_or_default();
        assert!(last.starts_with("error: cannot listen"), "{stderr}");
    }
    drop(taken);
}

#[tokio::test]
async fn lenient_no_cors_and_max_body_flags() {
    let dir = TempDir::new("flags");
    let petstore = petstore_arg();
    let mut binary = Binary::start(
        &[
            "--spec",
            &petstore,
            "--port",
            "0",
            "--lenient",
            "--no-cors",
            "--max-body",
            "64",
        ],
        dir.path(),
    );
    let addr = binary.addr;

    let reply = post_json(addr, "/v1/pets", r#"{"name":5,"weight":0}"#).await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    // name: type, weight: exclusiveMinimum, petType: required.
    assert_eq!(reply.header("x-mock-violations"), Some("3"));
    assert!(reply.header("access-control-allow-origin").is_none());

    let big = format!(r#"{{"name":"{}","petType":"Cat"}}"#, "x".repeat(100));
    let reply = post_json(addr, "/v1/pets", &big).await;
    let body = reply.assert_problem(413, "payload-too-large", "validator");
    assert_eq!(body["max_body_bytes"], 64);

    binary.terminate();
    assert_eq!(binary.wait_exit(), Some(0));
}

#[tokio::test]
async fn sigterm_lets_a_request_in_flight_finish_then_exits_0() {
    let dir = TempDir::new("sigterm");
    let petstore = petstore_arg();
    let mut binary = Binary::start(&["--spec", &petstore, "--port", "0"], dir.path());
    let addr = binary.addr;

    assert_eq!(get(addr, "/v1/pets/1").await.status, 200);

    // A slow client: the head and half the body now, the rest after SIGTERM.
    let body = br#"{"name":"Tom","petType":"Cat"}"#;
    let (first, rest) = body.split_at(10);
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST /v1/pets HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(first).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let signalled = Instant::now();
    binary.terminate();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        binary.child.try_wait().unwrap().is_none(),
        "exited with a request in flight"
    );
    // New connections are no longer accepted once shutdown began.
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "the listener is closed during shutdown"
    );

    stream.write_all(rest).await.unwrap();
    let reply = read_reply(&mut stream).await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    assert_eq!(reply.json()["name"].as_str().map(|s| !s.is_empty()), Some(true));

    assert_eq!(binary.wait_exit(), Some(0), "stderr:\n{}", binary.stderr());
    assert!(
        signalled.elapsed() < Duration::from_secs(5),
        "shutdown took {:?}",
        signalled.elapsed()
    );
}

#[tokio::test]
async fn sigterm_on_an_idle_server_exits_0_promptly() {
    let dir = TempDir::new("sigterm-idle");
    let petstore = petstore_arg();
    let mut binary = Binary::start(&["--spec", &petstore, "--port", "0"], dir.path());
    // A keep-alive connection left open and idle must not hold shutdown up.
    let mut idle = TcpStream::connect(binary.addr).await.unwrap();
    idle.write_all(b"GET /v1/pets/1 HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(read_reply(&mut idle).await.status, 200);
    let signalled = Instant::now();
    binary.terminate();
    assert_eq!(binary.wait_exit(), Some(0));
    assert!(
        signalled.elapsed() < Duration::from_secs(3),
        "{:?}",
        signalled.elapsed()
    );
}
