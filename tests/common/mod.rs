//! Shared helpers for the integration tests: start the real server (in-process
//! or as the real binary), talk to it over TCP, read problem documents, check
//! bodies against compiled schemas, and make throw-away directories.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use specmock::internal::fixtures::Fixtures;
use specmock::internal::sources::Sources;
use specmock::internal::spec::{CompiledSchema, Operation, Spec};
use specmock::internal::{App, Behaviour, Limits};
use specmock::MockServer;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Upper bound for any single network exchange in a test: a hang is a failure, not a stuck suite.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn specs_dir() -> PathBuf {
    repo_root().join("tests").join("specs")
}

/// The shipped spec, resolved exactly as the binary does from the repository root.
pub fn shipped_sources() -> Sources {
    Sources::resolve(None, None, None, &repo_root())
}

pub fn shipped_spec() -> Spec {
    shipped_sources().load_spec().expect("the shipped openapi.yaml loads")
}

/// The shipped spec and fixtures as an `App`, asserting that rendering raised no warning.
pub fn shipped_app(behaviour: Behaviour) -> App {
    let sources = shipped_sources();
    let spec = sources.load_spec().expect("the shipped openapi.yaml loads");
    let fixtures = sources.load_fixtures().expect("the shipped fixtures load");
    let (app, warnings) = App::new(spec, &fixtures, 0, behaviour).expect("the shipped spec renders");
    assert!(warnings.is_empty(), "unexpected render warnings: {warnings:#?}");
    app
}

/// Loads a spec file and builds an `App` with the given fixtures directory and seed.
pub fn app_from_file(spec: &Path, fixtures: Option<&Path>, seed: u64, behaviour: Behaviour) -> (App, Vec<String>) {
    let spec =
        specmock::internal::spec::load_file(spec).unwrap_or_else(|e| panic!("spec {} loads: {e}", spec.display()));
    let fixtures = match fixtures {
        Some(dir) => Fixtures::load_dir(dir).expect("fixtures load"),
        None => Fixtures::default(),
    };
    App::new(spec, &fixtures, seed, behaviour).unwrap_or_else(|e| panic!("app builds: {e}"))
}

/// Starts `app` on an ephemeral loopback port with default limits.
pub async fn start(app: App) -> MockServer {
    start_with_limits(app, Limits::default()).await
}

pub async fn start_with_limits(app: App, limits: Limits) -> MockServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind an ephemeral port");
    specmock::internal::serve(listener, app, limits).expect("the server starts")
}

pub async fn start_shipped() -> MockServer {
    start(shipped_app(Behaviour::default())).await
}

/// The shipped spec served once per test binary (loading it costs most of a
/// test's time in a debug build), on its own runtime thread so that any test
/// runtime can talk to it.
pub struct Shared {
    pub addr: SocketAddr,
    /// The operations of the `App` being served, as `app.spec.operations`.
    pub operations: Vec<Operation>,
}

pub fn shared_shipped() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let app = shipped_app(Behaviour::default());
        let operations = app.configuration().spec.operations.clone();
        serve_forever(app, operations, Limits::default())
    })
}

/// Serves `app` on a background runtime for the rest of the process.
pub fn serve_forever(app: App, operations: Vec<Operation>, limits: Limits) -> Shared {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async move {
            let server = start_with_limits(app, limits).await;
            tx.send(server.address()).expect("report the address");
            std::future::pending::<()>().await;
        });
    });
    Shared {
        addr: rx.recv_timeout(IO_TIMEOUT).expect("the shared server starts"),
        operations,
    }
}

/// A response as the client saw it.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().expect("header is ASCII"))
    }

    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("body is UTF-8")
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }

    /// `(pointer, rule)` of every violation in a problem document.
    pub fn violations(&self) -> Vec<(String, String)> {
        self.json()["violations"]
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|v| {
                        (
                            v["pointer"].as_str().expect("pointer is a string").to_string(),
                            v["rule"].as_str().expect("rule is a string").to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Asserts an RFC 9457 problem made by the mock: status, media type,
    /// `X-Mock-Origin`, the `type` URN and the `status` member.
    pub fn assert_problem(&self, status: u16, class: &str, origin: &str) -> Value {
        assert_eq!(
            self.status,
            status,
            "status (body: {})",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(self.header("content-type"), Some("application/problem+json"));
        assert_eq!(self.header("x-mock-origin"), Some(origin));
        let body = self.json();
        assert_eq!(body["type"], format!("urn:specmock:problem:{class}"), "{body:#}");
        assert_eq!(body["status"], status, "{body:#}");
        assert!(body["title"].is_string(), "{body:#}");
        assert!(body["detail"].is_string(), "{body:#}");
        body
    }
}

fn request(
    builder: http::request::Builder,
    method: Method,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Request<Full<Bytes>> {
    let builder = headers.iter().fold(builder.method(method), |builder, (name, value)| {
        builder.header(*name, *value)
    });
    builder
        .body(Full::new(Bytes::copy_from_slice(body)))
        .expect("a valid request")
}

/// One request through hyper's client over a fresh TCP connection.
pub async fn send(addr: SocketAddr, method: Method, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let request = request(
        Request::builder().uri(format!("http://{addr}{path}")),
        method,
        headers,
        body,
    );
    let exchange = async {
        let response = client.request(request).await.expect("the request is answered");
        let (parts, body) = response.into_parts();
        let body = body.collect().await.expect("the body is read").to_bytes();
        Reply {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        }
    };
    tokio::time::timeout(IO_TIMEOUT, exchange).await.expect("no timeout")
}

/// A keep-alive HTTP/1.1 connection (hyper's client): requests go one after
/// another over the same TCP connection, as a pooled client's would.
pub struct KeepAlive {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    host: String,
}

impl KeepAlive {
    pub async fn open(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.expect("connect");
        let (sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .expect("an HTTP/1.1 connection");
        tokio::spawn(connection);
        Self {
            sender,
            host: addr.to_string(),
        }
    }

    /// One request on this connection; `Err` when the connection is gone
    /// (closed by the server, or closing while the request was sent). A
    /// request left unanswered for `IO_TIMEOUT` fails the test.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Reply, hyper::Error> {
        let request = request(
            Request::builder().uri(path).header("host", &self.host),
            method,
            headers,
            body,
        );
        let exchange = async {
            self.sender.ready().await?;
            let (parts, body) = self.sender.send_request(request).await?.into_parts();
            Ok(Reply {
                status: parts.status.as_u16(),
                headers: parts.headers,
                body: body.collect().await?.to_bytes(),
            })
        };
        tokio::time::timeout(IO_TIMEOUT, exchange)
            .await
            .unwrap_or_else(|_| panic!("{path}: no answer within {IO_TIMEOUT:?}"))
    }
}

pub async fn get(addr: SocketAddr, path: &str) -> Reply {
    send(addr, Method::GET, path, &[], b"").await
}

pub async fn post_json(addr: SocketAddr, path: &str, body: &str) -> Reply {
    send(
        addr,
        Method::POST,
        path,
        &[("content-type", "application/json")],
        body.as_bytes(),
    )
    .await
}

/// Writes `request` verbatim on a fresh connection and reads the answer until
/// the server closes it (send `Connection: close`). For inputs hyper's client
/// would not produce.
pub async fn raw(addr: SocketAddr, request: &[u8]) -> Reply {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(request).await.expect("write the request");
        read_reply(&mut stream).await
    };
    tokio::time::timeout(IO_TIMEOUT, exchange).await.expect("no timeout")
}

/// Reads one HTTP/1.1 response (Content-Length framed, or until EOF). A read
/// error (a reset after the server refused a request it did not read to the
/// end) ends the input like EOF does.
pub async fn read_reply<R: AsyncRead + Unpin>(stream: &mut R) -> Reply {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let mut open = true;
    loop {
        if let Some(reply) = parse_reply(&buffer, !open) {
            return reply;
        }
        assert!(
            open,
            "the connection ended before a complete response: {:?}",
            String::from_utf8_lossy(&buffer)
        );
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => open = false,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
}

/// A complete response in `buffer`, if there is one; without Content-Length
/// the body runs to the end of the input (`ended`).
fn parse_reply(buffer: &[u8], ended: bool) -> Option<Reply> {
    let head_end = find(buffer, b"\r\n\r\n")?;
    let head = std::str::from_utf8(&buffer[..head_end]).expect("the head is UTF-8");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("a status line");
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let mut headers = HeaderMap::new();
    for line in lines {
        let (name, value) = line.split_once(':').expect("header line has a colon");
        headers.append(
            http::header::HeaderName::from_bytes(name.trim().as_bytes()).expect("header name"),
            http::header::HeaderValue::from_str(value.trim()).expect("header value"),
        );
    }
    let rest = &buffer[head_end + 4..];
    let length = headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let body = match length {
        Some(length) => rest.get(..length)?,
        None if ended => rest,
        None => return None,
    };
    Some(Reply {
        status,
        headers,
        body: Bytes::copy_from_slice(body),
    })
}

/// A complete response at the start of `buffer`, parsed as [`read_reply`]
/// does; `ended` says the connection is over. For readers that keep a
/// connection open across requests, or expect it to close unanswered.
pub fn complete_reply(buffer: &[u8], ended: bool) -> Option<Reply> {
    parse_reply(buffer, ended)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Every error `schema` reports for `value`, as `pointer: message` lines (empty when valid).
pub fn schema_errors(schema: &CompiledSchema, value: &Value) -> Vec<String> {
    schema
        .validator
        .iter_errors(value)
        .map(|e| format!("{}: {e}", e.instance_path().as_str()))
        .collect()
}

pub fn assert_valid(schema: &CompiledSchema, value: &Value, context: &str) {
    let errors = schema_errors(schema, value);
    assert!(
        errors.is_empty(),
        "{context}: body breaks its schema: {errors:#?}\n{value:#}"
    );
}

/// Every way `reply` departs from what `operation` declares for it: a status
/// it does not declare, a Content-Type that status does not declare, or a
/// body that breaks the schema of its media type (text bodies are checked as
/// JSON strings). Empty when the answer conforms.
pub fn response_problems(operation: &Operation, reply: &Reply) -> Vec<String> {
    let context = format!("{} {}", operation.id, reply.status);
    let Some(declared) = operation.response_for(reply.status) else {
        return vec![format!("{context}: status not declared for the operation")];
    };
    let content_type = reply.header("content-type");
    if declared.content.is_empty() {
        return match (content_type, reply.body.is_empty()) {
            (None, true) => Vec::new(),
            _ => vec![format!(
                "{context}: declares no content, got {content_type:?} and {} bytes",
                reply.body.len()
            )],
        };
    }
    let Some(content_type) = content_type else {
        return vec![format!("{context}: no Content-Type")];
    };
    let essence = specmock::internal::spec::essence(content_type);
    let Some(media) = declared.content.iter().find(|m| m.media_type == essence) else {
        return vec![format!("{context}: Content-Type {content_type} is not declared")];
    };
    let Some(schema) = &media.schema else {
        return Vec::new();
    };
    let value = if specmock::internal::validate::is_json(&essence) {
        match serde_json::from_slice(&reply.body) {
            Ok(value) => value,
            Err(error) => return vec![format!("{context}: the {essence} body is not JSON: {error}")],
        }
    } else {
        match std::str::from_utf8(&reply.body) {
            Ok(text) => Value::String(text.to_string()),
            Err(_) => return vec![format!("{context}: the {essence} body is not UTF-8")],
        }
    };
    schema_errors(schema, &value)
        .into_iter()
        .map(|error| format!("{context}: {error}"))
        .collect()
}

/// A directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(label: &str) -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let path = std::env::temp_dir().join(format!(
            "specmock-test-{label}-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("create a temp dir");
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).expect("write a temp file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The real `specmock` binary, running.
pub struct Binary {
    pub child: Child,
    pub addr: SocketAddr,
    stderr: Arc<Mutex<String>>,
}

impl Binary {
    /// Starts the binary with `args` in `cwd` and waits for `listening on http://HOST:PORT`.
    pub fn start(args: &[&str], cwd: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_specmock"))
            .args(args)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn specmock");
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().expect("stderr is piped");
        let sink = stderr.clone();
        // Drain stderr (request logs) so the child never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        });
        let stdout = child.stdout.take().expect("stdout is piped");
        let (lines_tx, lines_rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let line = match lines_rx.recv_timeout(IO_TIMEOUT) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                let status = child.wait();
                panic!(
                    "specmock printed no listening line (exit: {status:?}); stderr:\n{}",
                    stderr.lock().unwrap()
                );
            }
        };
        let addr = line
            .strip_prefix("listening on http://")
            .and_then(|a| a.trim_end_matches('/').parse::<SocketAddr>().ok())
            .unwrap_or_else(|| panic!("unexpected first stdout line {line:?}"));
        Self { child, addr, stderr }
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Sends SIGTERM through the `kill` command.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits (bounded) for the process to exit and returns its exit code.
    pub fn wait_exit(&mut self) -> Option<i32> {
        let deadline = std::time::Instant::now() + IO_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status.code();
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("specmock did not exit in time; stderr:\n{}", self.stderr());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs the binary to completion (for start-up failures) and returns `(exit code, stdout, stderr)`.
pub fn run_to_exit(args: &[&str], cwd: &Path) -> (Option<i32>, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_specmock"))
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn specmock");
    let deadline = std::time::Instant::now() + IO_TIMEOUT;
    while child.try_wait().expect("try_wait").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let output = child.wait_with_output().expect("collect output");
            panic!(
                "specmock kept running (expected it to fail at start-up); stdout: {}\nstderr: {}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let output = child.wait_with_output().expect("collect output");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

// ---------------------------------------------------------------- scenarios

/// `tests/scenario_files`: small scenario files (and specs) for the scenario tests.
pub fn scenario_files_dir() -> PathBuf {
    repo_root().join("tests").join("scenario_files")
}

/// One scenario file, labelled by its path relative to the repository root
/// (so diagnostics read `tests/scenario_files/bad/x.yaml:3:5: ...`).
pub fn scenario_source(path: &Path) -> specmock::internal::scenario::ScenarioSource {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let label = path.strip_prefix(repo_root()).unwrap_or(path).display().to_string();
    let file_name = path.file_name().expect("a file name").to_string_lossy().into_owned();
    specmock::internal::scenario::ScenarioSource { file_name, label, text }
}

/// Every `*.yaml` directly in `dir`, sorted by file name, as [`scenario_source`] labels them.
pub fn scenario_sources(dir: &Path) -> Vec<specmock::internal::scenario::ScenarioSource> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.is_file() && path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    paths.iter().map(|path| scenario_source(path)).collect()
}

/// The shipped spec and fixtures with `scenarios`, every session starting in `start`.
pub fn build_shipped_with_scenarios(
    scenarios: Vec<specmock::internal::scenario::ScenarioSource>,
    start: Option<&str>,
) -> Result<(App, Vec<String>), specmock::internal::diagnostic::Diagnostics> {
    let sources = shipped_sources();
    let inputs = specmock::internal::Inputs {
        spec: sources.load_spec().expect("the shipped openapi.yaml loads"),
        fixtures: sources.load_fixtures().expect("the shipped fixtures load"),
        scenarios,
        start_scenario: start.map(str::to_string),
        seed: 0,
    };
    App::build(inputs, Behaviour::default())
}

/// A request header list with `X-Mock-Session: session` first.
pub fn in_session<'a>(session: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut headers = vec![("x-mock-session", session)];
    headers.extend_from_slice(extra);
    headers
}

/// Writes `request` on a fresh connection and returns every byte the server
/// sends until it closes the connection (a reset ends it too). For responses
/// that are broken on purpose (scripted faults).
pub async fn raw_bytes(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(request).await.expect("write the request");
        let mut received = Vec::new();
        let mut chunk = [0u8; 8192];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return received,
                Ok(n) => received.extend_from_slice(&chunk[..n]),
            }
        }
    };
    tokio::time::timeout(IO_TIMEOUT, exchange).await.expect("no timeout")
}

// ---------------------------------------------------------------- WebSocket

/// A WebSocket client connection (tokio-tungstenite) over plain TCP.
pub type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;
pub type WsError = tokio_tungstenite::tungstenite::Error;
pub type WsMessage = tokio_tungstenite::tungstenite::Message;
/// What a handshake gives: the open socket and the 101, or why not.
pub type WsHandshake = Result<(Ws, http::Response<Option<Vec<u8>>>), WsError>;

/// A WebSocket handshake to `path` (query included) with extra handshake
/// headers and an optional client configuration. `Err(WsError::Http(..))`
/// carries the HTTP answer of a refused handshake, body included.
pub async fn ws_connect_with_config(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    config: Option<tokio_tungstenite::tungstenite::protocol::WebSocketConfig>,
) -> WsHandshake {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = format!("ws://{addr}{path}")
        .into_client_request()
        .expect("a valid WebSocket request");
    for (name, value) in headers {
        request.headers_mut().append(
            http::header::HeaderName::from_bytes(name.as_bytes()).expect("header name"),
            http::header::HeaderValue::from_str(value).expect("header value"),
        );
    }
    tokio::time::timeout(
        IO_TIMEOUT,
        tokio_tungstenite::connect_async_with_config(request, config, true),
    )
    .await
    .expect("the handshake is answered in time")
}

pub async fn ws_connect(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> WsHandshake {
    ws_connect_with_config(addr, path, headers, None).await
}

/// A WebSocket the server accepted (101), ready to read.
pub async fn ws_open(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Ws {
    match ws_connect(addr, path, headers).await {
        Ok((ws, response)) => {
            assert_eq!(response.status(), 101, "{response:?}");
            ws
        }
        Err(WsError::Http(response)) => panic!(
            "the handshake to {path} was refused: {} {}",
            response.status(),
            String::from_utf8_lossy(response.body().as_deref().unwrap_or_default())
        ),
        Err(error) => panic!("the handshake to {path} failed: {error}"),
    }
}

/// The next message that is not a ping or pong (reading also answers the
/// server's pings), `None` if none comes `within`. A close frame counts as a
/// message; the end of the connection or a protocol error is an `Err`.
pub async fn ws_next(ws: &mut Ws, within: Duration) -> Option<Result<WsMessage, WsError>> {
    use futures_util::StreamExt;
    let next = async {
        loop {
            match ws.next().await {
                Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => continue,
                Some(other) => return other,
                None => return Err(WsError::ConnectionClosed),
            }
        }
    };
    tokio::time::timeout(within, next).await.ok()
}

impl Binary {
    /// Stderr once it contains `needle` (or as it is after `IO_TIMEOUT`): the
    /// thread draining the pipe may lag the process's exit a little.
    pub fn stderr_once(&self, needle: &str) -> String {
        let deadline = std::time::Instant::now() + IO_TIMEOUT;
        loop {
            let stderr = self.stderr();
            if stderr.contains(needle) || std::time::Instant::now() > deadline {
                return stderr;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// An address of this machine that is not loopback: the source address of
/// its default route, if it has one. Connecting a UDP socket sends nothing.
pub fn non_loopback_address() -> Option<std::net::IpAddr> {
    let probe = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    probe.connect("198.51.100.1:9").ok()?;
    Some(probe.local_addr().ok()?.ip()).filter(|ip| !ip.is_loopback() && !ip.is_unspecified())
}

/// The shipped spec, fixtures and scenarios, resolved as the binary does:
/// sessions start in `default`, so journal entries name the rule that answered.
pub fn shipped_scenario_app(behaviour: Behaviour) -> App {
    let inputs = shipped_sources().inputs(None, 0).expect("the shipped files load");
    let (app, warnings) = App::build(inputs, behaviour).unwrap_or_else(|e| panic!("the shipped scenarios load: {e}"));
    assert!(warnings.is_empty(), "{warnings:#?}");
    app
}

/// A valid `POST /user/update/vanity` body asking for `name`.
pub fn vanity_body(name: &str) -> String {
    serde_json::json!({
        "id": "user-1",
        "aesthetics": { "theme": { "dark": true }, "font": { "size": 12 } },
        "vanityname": name
    })
    .to_string()
}
