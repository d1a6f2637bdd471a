//! WebSocket streams over real TCP with a real client (tokio-tungstenite):
//! live streams that follow their session, the handshake's refusals,
//! scripted frames and faults, the load-time checks of `stream:` scripts,
//! pings, stream limits and graceful shutdown.
//!
//! The scenario files these tests load live in `tests/stream_files/`:
//! `scripts/` (loaded next to the shipped scenarios, picked per connection
//! with `__scenario`) and `bad/` (each refused at load time).

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::*;
use futures_util::{SinkExt, StreamExt};
use http::Method;
use serde_json::{json, Value};
use specmock::internal::scenario::ScenarioSource;
use specmock::internal::spec::{CompiledSchema, Operation};
use specmock::internal::{App, Limits, ServedApp, StreamLimits};
use specmock::MockServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// How long a test waits to be sure that no frame comes.
const QUIET: Duration = Duration::from_millis(200);
/// How long a test waits for a frame that should come.
const FRAME_WAIT: Duration = Duration::from_secs(3);
/// A valid `Auth0User` for select-user.
const AUTH0_USER: &str = r#"{"user_id":"github|1234567","email":"sam.okafor@example.org","name":"Sam Okafor"}"#;
const BEARER: (&str, &str) = ("authorization", "Bearer x");

// ---------------------------------------------------------------- servers

fn stream_files() -> PathBuf {
    repo_root().join("tests").join("stream_files")
}

/// The shipped spec, fixtures and scenarios plus `tests/stream_files/scripts`
/// (sessions start in `default`).
fn stream_app() -> App {
    let mut scenarios = scenario_sources(&repo_root().join("scenarios"));
    scenarios.extend(scenario_sources(&stream_files().join("scripts")));
    let (app, warnings) = build_shipped_with_scenarios(scenarios, None).unwrap_or_else(|e| panic!("{e}"));
    assert!(warnings.is_empty(), "{warnings:#?}");
    app
}

/// One server with default limits for every test that does not need its own.
fn shared() -> &'static Shared {
    static SERVER: OnceLock<Shared> = OnceLock::new();
    SERVER.get_or_init(|| {
        let app = stream_app();
        let operations = app.configuration().spec.operations.clone();
        serve_forever(app, operations, Limits::default())
    })
}

/// A server of its own, for tests that change the stream limits or stop it.
async fn server_with(streams: StreamLimits) -> MockServer {
    start_with_limits(
        stream_app(),
        Limits {
            streams,
            ..Limits::default()
        },
    )
    .await
}

/// `/user/stream` in `session` (and `scenario`), named in the query as a browser would.
fn stream_path(session: &str, scenario: Option<&str>) -> String {
    match scenario {
        Some(scenario) => format!("/user/stream?__session={session}&__scenario={scenario}"),
        None => format!("/user/stream?__session={session}"),
    }
}

async fn open_stream(addr: SocketAddr, session: &str, scenario: Option<&str>) -> Ws {
    ws_open(addr, &stream_path(session, scenario), &[]).await
}

// ---------------------------------------------------------------- reading

/// The next data frame (text or binary); a close, an error or silence fails the test.
async fn next_data(ws: &mut Ws) -> WsMessage {
    match ws_next(ws, FRAME_WAIT).await {
        Some(Ok(message @ (WsMessage::Text(_) | WsMessage::Binary(_)))) => message,
        Some(other) => panic!("expected a data frame, got {other:?}"),
        None => panic!("no frame within {FRAME_WAIT:?}"),
    }
}

async fn next_text(ws: &mut Ws) -> String {
    match next_data(ws).await {
        WsMessage::Text(text) => text.as_str().to_string(),
        other => panic!("expected a text frame, got {other:?}"),
    }
}

async fn next_json(ws: &mut Ws) -> Value {
    let text = next_text(ws).await;
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("the frame is not JSON ({e}): {text}"))
}

/// The close frame the server sends next, as `(code, reason)`.
async fn next_close(ws: &mut Ws) -> (u16, String) {
    match ws_next(ws, FRAME_WAIT).await {
        Some(Ok(WsMessage::Close(Some(frame)))) => (u16::from(frame.code), frame.reason.as_str().to_string()),
        other => panic!("expected a close frame with a code, got {other:?}"),
    }
}

/// Nothing but pings arrives for `within`.
async fn assert_quiet(ws: &mut Ws, within: Duration) {
    if let Some(message) = ws_next(ws, within).await {
        panic!("expected no frame for {within:?}, got {message:?}");
    }
}

/// The schema `stream-user`'s JSON messages follow (its 200 `application/json`).
fn stream_user_schema(operations: &[Operation]) -> CompiledSchema {
    operations
        .iter()
        .find(|op| op.id == "stream-user")
        .and_then(|op| op.response_for(200))
        .and_then(|r| r.content.iter().find(|m| m.media_type == "application/json"))
        .and_then(|m| m.schema.clone())
        .expect("stream-user declares a JSON schema for its 200")
}

fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(repo_root().join("fixtures").join(name)).expect("read a shipped fixture");
    serde_json::from_str(&text).expect("a JSON fixture")
}

/// A refused handshake's HTTP answer, as the HTTP helpers see responses.
fn refused(result: WsHandshake) -> Reply {
    match result {
        Err(WsError::Http(response)) => {
            let (parts, body) = response.into_parts();
            Reply {
                status: parts.status.as_u16(),
                headers: parts.headers,
                body: body.unwrap_or_default().into(),
            }
        }
        Ok((_, response)) => panic!("the handshake was accepted: {response:?}"),
        Err(error) => panic!("the handshake failed without an HTTP answer: {error}"),
    }
}

async fn post_in(addr: SocketAddr, session: &str, path: &str, body: &str, extra: &[(&str, &str)]) -> Reply {
    let mut headers = in_session(session, &[("content-type", "application/json")]);
    headers.extend_from_slice(extra);
    send(addr, Method::POST, path, &headers, body.as_bytes()).await
}

// ---------------------------------------------------------------- live streams

#[tokio::test]
async fn the_first_frame_is_the_session_user_by_query_or_header() {
    let shared = shared();
    let schema = stream_user_schema(&shared.operations);
    let by_query = next_json(&mut open_stream(shared.addr, "first-by-query", None).await).await;
    assert_valid(&schema, &by_query, "the first frame");
    assert_eq!(by_query, fixture("user-signed-in.json"));

    // A native client can name the session in a header on the handshake
    // instead; the stream then follows that session.
    let mut by_header = ws_open(shared.addr, "/user/stream", &[("x-mock-session", "first-by-header")]).await;
    let mut profile = next_json(&mut by_header).await;
    assert_eq!(profile, by_query);
    profile["vanityname"] = json!("by-header");
    let vanity = post_in(
        shared.addr,
        "first-by-header",
        "/user/update/vanity",
        &profile.to_string(),
        &[],
    )
    .await;
    assert_eq!(vanity.status, 200, "{}", vanity.text());
    assert_eq!(next_json(&mut by_header).await, profile);
}

#[tokio::test]
async fn an_update_reaches_its_session_stream_within_50ms_and_no_other() {
    let addr = shared().addr;
    let mut a = open_stream(addr, "update-a", None).await;
    let mut b = open_stream(addr, "update-b", None).await;
    let mut profile = next_json(&mut a).await;
    assert_eq!(next_json(&mut b).await, profile);

    profile["vanityname"] = json!("changed");
    let body = profile.to_string();
    let sent = Instant::now();
    let (reply, arrived) = tokio::join!(post_in(addr, "update-a", "/user/update", &body, &[]), async {
        let frame = next_json(&mut a).await;
        (frame, Instant::now())
    });
    assert_eq!(reply.status, 200, "{}", reply.text());
    let (frame, at) = arrived;
    assert_eq!(frame, profile);
    let latency = at - sent;
    assert!(latency <= Duration::from_millis(50), "the frame took {latency:?}");

    // Session B's user did not change: its stream stays silent.
    assert_quiet(&mut b, QUIET).await;
}

#[tokio::test]
async fn vanity_clear_and_select_each_send_a_frame() {
    let shared = shared();
    let schema = stream_user_schema(&shared.operations);
    let (addr, session) = (shared.addr, "vanity-clear-select");
    let mut ws = open_stream(addr, session, None).await;
    let mut profile = next_json(&mut ws).await;

    profile["vanityname"] = json!("mark");
    let vanity = post_in(addr, session, "/user/update/vanity", &profile.to_string(), &[]).await;
    assert_eq!(vanity.status, 200, "{}", vanity.text());
    let frame = next_json(&mut ws).await;
    assert_valid(&schema, &frame, "after a vanity update");
    assert_eq!(frame, profile);

    // Signed out: the text `signed-out`, which is not JSON.
    assert_eq!(post_in(addr, session, "/user/clear", "", &[]).await.status, 204);
    let text = next_text(&mut ws).await;
    assert_eq!(text, "signed-out");
    assert!(serde_json::from_str::<Value>(&text).is_err());

    // select-user signs the Auth0 user in: a profile again.
    let select = post_in(addr, session, "/user/select", AUTH0_USER, &[BEARER]).await;
    assert_eq!(select.status, 200, "{}", select.text());
    let frame = next_json(&mut ws).await;
    assert_valid(&schema, &frame, "after select-user");
    assert_eq!(frame, select.json());
    assert_eq!(frame["id"], "github|1234567");
}

#[tokio::test]
async fn an_update_that_changes_nothing_sends_no_duplicate_frame() {
    let addr = shared().addr;
    let mut ws = open_stream(addr, "no-duplicate", None).await;
    let profile = next_json(&mut ws).await;
    let reply = post_in(addr, "no-duplicate", "/user/update", &profile.to_string(), &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_quiet(&mut ws, QUIET).await;
}

#[tokio::test]
async fn the_signed_out_scenario_starts_with_signed_out_then_the_selected_user() {
    let addr = shared().addr;
    let mut ws = open_stream(addr, "starts-signed-out", Some("signed-out")).await;
    assert_eq!(next_text(&mut ws).await, "signed-out");
    let select = post_in(addr, "starts-signed-out", "/user/select", AUTH0_USER, &[BEARER]).await;
    assert_eq!(select.status, 200, "{}", select.text());
    assert_eq!(next_json(&mut ws).await, select.json());
}

#[tokio::test]
async fn an_upgrade_on_another_get_operation_streams_its_answer_and_follows_changes() {
    let addr = shared().addr;
    let mut ws = ws_open(addr, "/user?__session=snapshot-stream", &[]).await;
    let mut user = fixture("user-signed-in.json");
    assert_eq!(next_json(&mut ws).await, json!({ "user": user }));

    user["vanityname"] = json!("snap");
    let vanity = post_in(addr, "snapshot-stream", "/user/update/vanity", &user.to_string(), &[]).await;
    assert_eq!(vanity.status, 200, "{}", vanity.text());
    assert_eq!(next_json(&mut ws).await, json!({ "user": user }));
}

/// Streams of one session that see the same frame share it: each change is
/// built into a frame once, not once per stream.
#[tokio::test]
async fn a_change_is_built_into_one_frame_for_every_stream_of_its_session() {
    let server = server_with(StreamLimits::default()).await;
    let (addr, session) = (server.address(), "one-frame-per-change");
    let mut streams = Vec::new();
    for _ in 0..8 {
        streams.push(open_stream(addr, session, None).await);
    }
    let mut profile = fixture("user-signed-in.json");
    for ws in &mut streams {
        assert_eq!(next_json(ws).await, profile);
    }
    for (changes, vanity) in [(1, "first"), (2, "second")] {
        profile["vanityname"] = json!(vanity);
        let reply = post_in(addr, session, "/user/update", &profile.to_string(), &[]).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        for ws in &mut streams {
            assert_eq!(next_json(ws).await, profile);
        }
        let built = server.app().sessions().find(session).expect("the session exists");
        assert_eq!(
            built.live_frames_built(),
            changes,
            "frames built after {changes} change(s)"
        );
    }
}

/// A frame that reads the stream's own handshake is built for each stream.
#[tokio::test]
async fn a_frame_that_reads_the_handshake_is_built_for_each_stream() {
    let server = server_with(StreamLimits::default()).await;
    let (addr, session) = (server.address(), "frame-per-stream");
    // Moved to the scenario before the streams open, so that no handshake changes the session.
    let switch = in_session(session, &[("x-mock-scenario", "live-by-header")]);
    assert_eq!(send(addr, Method::GET, "/user", &switch, b"").await.status, 200);
    let path = stream_path(session, None);
    let mut ada = ws_open(addr, &path, &[("x-vanity", "ada")]).await;
    let mut bob = ws_open(addr, &path, &[("x-vanity", "bob")]).await;
    let mut profile = fixture("user-signed-in.json");
    let with_vanity = |profile: &Value, vanity: &str| {
        let mut profile = profile.clone();
        profile["vanityname"] = json!(vanity);
        profile
    };
    assert_eq!(next_json(&mut ada).await, with_vanity(&profile, "ada"));
    assert_eq!(next_json(&mut bob).await, with_vanity(&profile, "bob"));

    profile["name"] = json!("Renamed");
    let reply = post_in(addr, session, "/user/update", &profile.to_string(), &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(next_json(&mut ada).await, with_vanity(&profile, "ada"));
    assert_eq!(next_json(&mut bob).await, with_vanity(&profile, "bob"));
    let built = server.app().sessions().find(session).expect("the session exists");
    assert_eq!(built.live_frames_built(), 2, "one frame per stream");
}

// ---------------------------------------------------------------- handshake refusals

#[tokio::test]
async fn a_plain_get_on_the_stream_is_426_upgrade_required() {
    let reply = get(shared().addr, "/user/stream").await;
    let body = reply.assert_problem(426, "upgrade-required", "router");
    assert!(body["type"].as_str().unwrap().ends_with("upgrade-required"), "{body:#}");
    assert_eq!(reply.header("upgrade"), Some("websocket"));
}

/// A hand-written handshake for `/user/stream` with this version and key.
fn handshake(version: &str, key: &str) -> Vec<u8> {
    format!(
        "GET /user/stream HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Version: {version}\r\nSec-WebSocket-Key: {key}\r\n\r\n"
    )
    .into_bytes()
}

#[tokio::test]
async fn a_bad_websocket_version_or_key_is_400_naming_version_13() {
    let addr = shared().addr;
    let cases = [
        ("8", "dGhlIHNhbXBsZSBub25jZQ==", "speaks 13"),
        ("13", "not base64!", "not base64"),
        ("13", "c2hvcnQ=", "decodes to 5 bytes"),
    ];
    for (version, key, why) in cases {
        let reply = raw(addr, &handshake(version, key)).await;
        let body = reply.assert_problem(400, "invalid-websocket-handshake", "validator");
        assert_eq!(
            reply.header("sec-websocket-version"),
            Some("13"),
            "version {version}, key {key}"
        );
        assert!(body["detail"].as_str().unwrap().contains(why), "{body:#}");
    }
    // The same request with a valid version and key is switched (RFC 6455's example accept key).
    let (_, head) = raw_stream(addr, "/user/stream").await;
    let accept = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("sec-websocket-accept").then(|| value.trim())
    });
    assert_eq!(accept, Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "{head}");
}

#[tokio::test]
async fn an_upgrade_to_an_unknown_path_is_404() {
    let reply = refused(ws_connect(shared().addr, "/user/nowhere", &[]).await);
    reply.assert_problem(404, "route-not-found", "router");
}

// ---------------------------------------------------------------- scripts

#[tokio::test]
async fn scripted_frames_of_every_kind_arrive_in_order() {
    let shared = shared();
    let schema = stream_user_schema(&shared.operations);
    let mut ws = open_stream(shared.addr, "script-frames", Some("script-frames")).await;
    let user = fixture("user-signed-in.json");

    assert_eq!(next_json(&mut ws).await, fixture("user-minimal.json"));
    let inline = next_json(&mut ws).await;
    assert_eq!(inline["id"], "inline");
    assert_valid(&schema, &inline, "the inline frame");
    assert_eq!(next_text(&mut ws).await, "signed-out");
    assert_eq!(next_json(&mut ws).await, user);
    let templated = next_json(&mut ws).await;
    assert_eq!(
        templated,
        json!({ "id": user["id"], "aesthetics": user["aesthetics"], "vanityname": "templated" })
    );
    match next_data(&mut ws).await {
        WsMessage::Binary(bytes) => assert_eq!(&bytes[..], &[0x00, 0x01, 0x02, 0xff]),
        other => panic!("expected a binary frame, got {other:?}"),
    }
    // The script ended without `close`: the stream stays open and quiet.
    assert_quiet(&mut ws, QUIET).await;
}

#[tokio::test]
async fn a_wait_step_holds_the_next_frame_back() {
    // Timed from before the handshake: the first frame cannot leave before
    // the 101, so the second one cannot arrive before the wait is over,
    // however late the client reads the first.
    let opened = Instant::now();
    let mut ws = open_stream(shared().addr, "script-wait", Some("script-wait")).await;
    assert_eq!(next_text(&mut ws).await, "signed-out");
    let first = Instant::now();
    next_json(&mut ws).await;
    let (since_open, gap) = (opened.elapsed(), first.elapsed());
    assert!(since_open >= Duration::from_millis(190), "{since_open:?}");
    assert!(gap <= Duration::from_millis(400), "{gap:?}");
}

#[tokio::test]
async fn an_on_step_sends_after_the_call_in_its_own_session_only() {
    let addr = shared().addr;
    let mut ws = open_stream(addr, "script-on", Some("script-on")).await;
    let mut profile = fixture("user-signed-in.json");
    profile["vanityname"] = json!("on-step");

    // The same call in another session does not wake this stream.
    let elsewhere = post_in(addr, "script-on-elsewhere", "/user/update", &profile.to_string(), &[]).await;
    assert_eq!(elsewhere.status, 200, "{}", elsewhere.text());
    assert_quiet(&mut ws, QUIET).await;

    let reply = post_in(addr, "script-on", "/user/update", &profile.to_string(), &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(next_json(&mut ws).await, profile, "the frame is the call's response");
    assert_quiet(&mut ws, QUIET).await;
}

#[tokio::test]
async fn repeat_runs_its_block_the_given_number_of_times() {
    let mut ws = open_stream(shared().addr, "script-repeat", Some("script-repeat")).await;
    let user = fixture("user-signed-in.json");
    for round in 0..3 {
        assert_eq!(next_text(&mut ws).await, "signed-out", "round {round}");
        assert_eq!(next_json(&mut ws).await, user, "round {round}");
    }
    assert_eq!(next_close(&mut ws).await, (1000, "done".to_string()));
}

#[tokio::test]
async fn a_close_step_sends_its_code_and_reason() {
    let mut ws = open_stream(shared().addr, "script-close", Some("script-close")).await;
    assert_eq!(next_text(&mut ws).await, "signed-out");
    assert_eq!(next_close(&mut ws).await, (4000, "bye".to_string()));
    // tungstenite answered the close: the connection then ends cleanly.
    assert!(matches!(
        ws_next(&mut ws, FRAME_WAIT).await,
        Some(Err(WsError::ConnectionClosed))
    ));
}

#[tokio::test]
async fn expect_answers_the_messages_it_waits_for() {
    let mut ws = open_stream(shared().addr, "script-expect", Some("script-expect")).await;
    // Nothing is sent before the client speaks.
    assert_quiet(&mut ws, QUIET).await;
    ws.send(WsMessage::text(r#"{"type":"ping","n":1}"#)).await.unwrap();
    assert_eq!(next_json(&mut ws).await["id"], "pong");
    ws.send(WsMessage::text("hello")).await.unwrap();
    assert_eq!(next_text(&mut ws).await, "signed-out");
}

#[tokio::test]
async fn expect_closes_with_1008_on_a_different_message() {
    let mut ws = open_stream(shared().addr, "script-expect-wrong", Some("script-expect")).await;
    ws.send(WsMessage::text(r#"{"type":"pong"}"#)).await.unwrap();
    let (code, reason) = next_close(&mut ws).await;
    assert_eq!(code, 1008, "{reason}");
    assert!(reason.contains("ping"), "the reason says what was expected: {reason}");
}

/// Reads until the connection ends; true if it ended without a close frame.
async fn ends_without_close_frame(ws: &mut Ws) -> bool {
    loop {
        match ws_next(ws, FRAME_WAIT).await {
            Some(Ok(WsMessage::Close(frame))) => panic!("a close frame was sent: {frame:?}"),
            Some(Ok(_)) => continue,
            Some(Err(WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake)))
            | Some(Err(WsError::ConnectionClosed)) => return true,
            Some(Err(WsError::Io(_))) => return true,
            Some(Err(other)) => panic!("unexpected error: {other}"),
            None => panic!("the connection stayed open"),
        }
    }
}

#[tokio::test]
async fn fault_drop_cuts_the_connection_without_a_close_frame() {
    let mut ws = open_stream(shared().addr, "fault-drop", Some("fault-drop")).await;
    assert_eq!(next_json(&mut ws).await, fixture("user-signed-in.json"));
    assert!(ends_without_close_frame(&mut ws).await);
}

#[tokio::test]
async fn fault_malformed_sends_a_text_frame_that_is_not_json() {
    let mut ws = open_stream(shared().addr, "fault-malformed", Some("fault-malformed")).await;
    let user = next_text(&mut ws).await;
    let broken = next_text(&mut ws).await;
    assert!(serde_json::from_str::<Value>(&broken).is_err(), "{broken}");
    // Half of the previous frame and a stray `<`.
    assert!(broken.ends_with('<'), "{broken}");
    assert!(user.starts_with(&broken[..broken.len() - 1]), "{broken}");
}

#[tokio::test]
async fn fault_oversize_sends_one_byte_more_than_max_message() {
    let server = server_with(StreamLimits {
        max_message: 1024,
        ..StreamLimits::default()
    })
    .await;
    let path = stream_path("fault-oversize", Some("fault-oversize"));
    let mut ws = ws_open(server.address(), &path, &[]).await;
    assert_eq!(next_text(&mut ws).await.len(), 1025);

    // A client holding the server's own limit refuses that frame.
    let strict = WebSocketConfig::default()
        .max_message_size(Some(1024))
        .max_frame_size(Some(1024));
    let (mut ws, _) = ws_connect_with_config(server.address(), &path, &[], Some(strict))
        .await
        .expect("the handshake succeeds");
    match ws_next(&mut ws, FRAME_WAIT).await {
        Some(Err(WsError::Capacity(_))) => {}
        other => panic!("expected a capacity error, got {other:?}"),
    }
    server.stop().await;
}

#[tokio::test]
async fn shipped_stream_drops_sends_two_frames_drops_and_a_reconnect_is_live() {
    let addr = shared().addr;
    let user = fixture("user-signed-in.json");
    let opened = Instant::now();
    let mut ws = open_stream(addr, "shipped-drops", Some("stream-drops")).await;
    assert_eq!(next_json(&mut ws).await, user);
    assert_eq!(next_json(&mut ws).await, user);
    let since_open = opened.elapsed();
    assert!(
        since_open >= Duration::from_millis(90),
        "the second frame comes 100 ms after the first: {since_open:?}"
    );
    assert!(ends_without_close_frame(&mut ws).await);

    // The same session again: live now, with the user and then every change.
    let mut again = open_stream(addr, "shipped-drops", None).await;
    let mut profile = next_json(&mut again).await;
    assert_eq!(profile, user);
    profile["vanityname"] = json!("resumed");
    let vanity = post_in(addr, "shipped-drops", "/user/update/vanity", &profile.to_string(), &[]).await;
    assert_eq!(vanity.status, 200, "{}", vanity.text());
    assert_eq!(next_json(&mut again).await, profile);
}

#[tokio::test]
async fn shipped_stream_malformed_sends_the_user_a_broken_frame_and_the_user() {
    let mut ws = open_stream(shared().addr, "shipped-malformed", Some("stream-malformed")).await;
    let user = fixture("user-signed-in.json");
    assert_eq!(next_json(&mut ws).await, user);
    let broken = next_text(&mut ws).await;
    assert!(serde_json::from_str::<Value>(&broken).is_err(), "{broken}");
    assert_eq!(next_json(&mut ws).await, user);
    assert_quiet(&mut ws, QUIET).await;
}

#[tokio::test]
async fn a_templated_frame_that_breaks_the_schema_closes_with_1011() {
    let mut ws = open_stream(shared().addr, "template-breaks", Some("template-breaks")).await;
    assert_eq!(next_text(&mut ws).await, "signed-out");
    let (code, reason) = next_close(&mut ws).await;
    assert_eq!(code, 1011, "{reason}");
    assert!(
        reason.contains("template-breaks.yaml"),
        "the reason names the rule: {reason}"
    );
}

// ---------------------------------------------------------------- load-time checks

fn bad(name: &str) -> ScenarioSource {
    scenario_source(&stream_files().join("bad").join(name))
}

/// The diagnostic the shipped spec with `tests/stream_files/bad/NAME` gives.
fn load_error(name: &str) -> String {
    match build_shipped_with_scenarios(vec![bad(name)], None) {
        Ok((_, warnings)) => panic!("{name} loaded; warnings: {warnings:#?}"),
        Err(diagnostic) => diagnostic.to_string(),
    }
}

/// `file:line:column: message (at #pointer)` for a file in `tests/stream_files/bad`.
fn located(file: &str, line: u32, column: u32, message: &str, pointer: &str) -> String {
    format!("tests/stream_files/bad/{file}:{line}:{column}: {message} (at #{pointer})")
}

const STEP_SHAPE: &str = "a step is one of `send`, `wait`, `on` (with an optional `send`), `expect` (with an optional `send`), `repeat` with `steps`, `close`, `fault`";

#[test]
fn a_static_frame_that_breaks_the_schema_is_refused_at_its_line() {
    assert_eq!(
        load_error("frame-breaks-schema.yaml"),
        located(
            "frame-breaks-schema.yaml",
            5,
            15,
            "the frame does not match the schema of `stream-user` status 200: /aesthetics required property `aesthetics` is missing; /id expected string, found integer",
            "/rules/0/stream/1/send"
        )
    );
}

#[test]
fn a_step_with_two_kinds_is_refused() {
    assert_eq!(
        load_error("two-kinds.yaml"),
        located("two-kinds.yaml", 4, 9, STEP_SHAPE, "/rules/0/stream/0")
    );
}

#[test]
fn a_close_code_an_endpoint_may_not_send_is_refused() {
    assert_eq!(
        load_error("close-code.yaml"),
        located(
            "close-code.yaml",
            5,
            24,
            "999 cannot be sent in a close frame: expected 1000-1003, 1007-1014 or 3000-4999",
            "/rules/0/stream/1/close/code"
        )
    );
}

#[test]
fn repeat_forever_without_a_wait_is_refused() {
    assert_eq!(
        load_error("forever-without-wait.yaml"),
        located(
            "forever-without-wait.yaml",
            6,
            11,
            "`repeat: forever` needs a `wait`, `on` or `expect` among its steps, or it floods the client",
            "/rules/0/stream/0/steps"
        )
    );
}

#[test]
fn event_outside_an_on_step_is_refused() {
    assert_eq!(
        load_error("event-outside-on.yaml"),
        located(
            "event-outside-on.yaml",
            4,
            15,
            "`event.*` reads the call a stream's `on:` step waited for: use it in the `send` of an `on:` step",
            "/rules/0/stream/0/send"
        )
    );
}

#[test]
fn an_unknown_on_operation_is_refused() {
    let error = load_error("unknown-on.yaml");
    let expected = located(
        "unknown-on.yaml",
        4,
        13,
        "unknown operation `update-usr`",
        "/rules/0/stream/0/on",
    );
    let (head, _) = expected.split_once(" (at #").unwrap();
    assert!(error.starts_with(head), "{error}");
    assert!(error.ends_with("(at #/rules/0/stream/0/on)"), "{error}");
}

#[test]
fn a_stream_on_a_post_operation_is_refused() {
    assert_eq!(
        load_error("stream-on-post.yaml"),
        located(
            "stream-on-post.yaml",
            4,
            7,
            "`update-user` is POST /user/update: only GET operations take a WebSocket handshake",
            "/rules/0/stream"
        )
    );
}

#[test]
fn a_rule_with_both_respond_and_stream_is_refused() {
    assert_eq!(
        load_error("respond-and-stream.yaml"),
        located(
            "respond-and-stream.yaml",
            2,
            5,
            "a rule needs exactly one of `respond` (HTTP responses) and `stream` (WebSocket frames)",
            "/rules/0"
        )
    );
}

// ---------------------------------------------------------------- pings

const PING_INTERVAL: Duration = Duration::from_millis(150);

#[tokio::test]
async fn a_client_that_answers_pings_stays_connected() {
    let server = server_with(StreamLimits {
        ping_interval: PING_INTERVAL,
        ..StreamLimits::default()
    })
    .await;
    let addr = server.address();
    let mut ws = open_stream(addr, "pinged", None).await;
    let mut profile = next_json(&mut ws).await;

    // Keep polling (tungstenite answers each ping on the next read) for four intervals.
    let deadline = tokio::time::Instant::now() + PING_INTERVAL * 4;
    let mut pings = 0;
    while let Ok(message) = tokio::time::timeout_at(deadline, ws.next()).await {
        match message {
            Some(Ok(WsMessage::Ping(_))) => pings += 1,
            other => panic!("only pings were expected, got {other:?}"),
        }
    }
    assert!(pings >= 2, "{pings} pings");

    // Still connected: a change arrives.
    profile["vanityname"] = json!("still-here");
    let reply = post_in(addr, "pinged", "/user/update", &profile.to_string(), &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(next_json(&mut ws).await, profile);
    drop(ws);
    server.stop().await;
}

/// Splits what a server sent after its 101 into `(opcode, payload)` frames
/// (server frames are never masked); a trailing partial frame is ignored.
fn server_frames(mut bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut frames = Vec::new();
    while bytes.len() >= 2 {
        let opcode = bytes[0] & 0x0f;
        let (length, header) = match bytes[1] & 0x7f {
            126 if bytes.len() >= 4 => (u16::from_be_bytes([bytes[2], bytes[3]]) as usize, 4),
            127 if bytes.len() >= 10 => (u64::from_be_bytes(bytes[2..10].try_into().unwrap()) as usize, 10),
            126 | 127 => break,
            short => (short as usize, 2),
        };
        if bytes.len() < header + length {
            break;
        }
        frames.push((opcode, bytes[header..header + length].to_vec()));
        bytes = &bytes[header + length..];
    }
    frames
}

/// A raw TCP connection that did the WebSocket handshake by hand (so it
/// never answers anything), and the 101's head.
async fn raw_stream(addr: SocketAddr, path: &str) -> (TcpStream, String) {
    // A small receive buffer, so that a client that stops reading is stuck soon.
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket.set_recv_buffer_size(4096).expect("set the receive buffer");
    let mut stream = socket.connect(addr).await.expect("connect");
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.expect("write the handshake");
    let mut received = Vec::new();
    // One byte at a time, so that nothing after the head is consumed.
    let mut chunk = [0u8; 1];
    let head_end = loop {
        if received.ends_with(b"\r\n\r\n") {
            break received.len();
        }
        let n = tokio::time::timeout(IO_TIMEOUT, stream.read(&mut chunk))
            .await
            .expect("the 101 comes in time")
            .expect("read the 101");
        assert!(n > 0, "the connection ended before the 101");
        received.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&received[..head_end]).into_owned();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert_eq!(received.len(), head_end, "nothing is read past the 101's head");
    (stream, head)
}

/// Reads until the server closes the connection (or resets it).
async fn read_to_end(stream: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let mut chunk = [0u8; 65536];
    loop {
        match tokio::time::timeout(IO_TIMEOUT, stream.read(&mut chunk))
            .await
            .expect("the server closes the connection in time")
        {
            Ok(0) | Err(_) => return received,
            Ok(n) => received.extend_from_slice(&chunk[..n]),
        }
    }
}

#[tokio::test]
async fn a_client_that_never_answers_pings_is_dropped() {
    let server = server_with(StreamLimits {
        ping_interval: PING_INTERVAL,
        ..StreamLimits::default()
    })
    .await;
    let started = Instant::now();
    let (mut stream, _) = raw_stream(server.address(), &stream_path("deaf", None)).await;
    let received = read_to_end(&mut stream).await;
    let elapsed = started.elapsed();
    // Reading the bytes is not answering: the server pinged, got no pong, and cut the connection.
    assert!(elapsed >= PING_INTERVAL, "dropped too early: {elapsed:?}");
    assert!(elapsed <= PING_INTERVAL * 3 + Duration::from_millis(150), "{elapsed:?}");
    let opcodes: Vec<u8> = server_frames(&received).iter().map(|(opcode, _)| *opcode).collect();
    assert_eq!(opcodes.first(), Some(&0x1), "the user first: {opcodes:?}");
    assert!(opcodes.contains(&0x9), "a ping: {opcodes:?}");
    assert!(!opcodes.contains(&0x8), "dropped, not closed: {opcodes:?}");
    server.stop().await;
}

// ---------------------------------------------------------------- limits

#[tokio::test]
async fn one_stream_over_max_streams_is_503_until_one_closes() {
    let server = server_with(StreamLimits {
        max_streams: 2,
        ..StreamLimits::default()
    })
    .await;
    let addr = server.address();
    let mut first = open_stream(addr, "limit-1", None).await;
    let mut second = open_stream(addr, "limit-2", None).await;
    next_json(&mut first).await;
    next_json(&mut second).await;

    let reply = refused(ws_connect(addr, &stream_path("limit-3", None), &[]).await);
    let body = reply.assert_problem(503, "too-many-streams", "server");
    assert_eq!(body["max_streams"], 2, "{body:#}");

    // The first client leaves; its place is free again.
    first.close(None).await.unwrap();
    while ws_next(&mut first, FRAME_WAIT).await.is_some_and(|m| m.is_ok()) {}
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut admitted = loop {
        match ws_connect(addr, &stream_path("limit-3", None), &[]).await {
            Ok((ws, _)) => break ws,
            Err(WsError::Http(response)) if response.status() == 503 && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(error) => panic!("a stream is admitted after one closed: {error}"),
        }
    };
    next_json(&mut admitted).await;
    drop((second, admitted));
    server.stop().await;
}

#[tokio::test]
async fn a_client_message_over_max_message_ends_the_stream() {
    let server = server_with(StreamLimits {
        max_message: 1024,
        ..StreamLimits::default()
    })
    .await;
    let mut ws = open_stream(server.address(), "too-big", None).await;
    next_json(&mut ws).await;
    ws.send(WsMessage::text("x".repeat(2000))).await.unwrap();
    // 1009 "message too big", saying which limit it broke.
    let (code, reason) = next_close(&mut ws).await;
    assert_eq!(code, u16::from(CloseCode::Size), "{reason}");
    assert!(reason.contains("1024"), "{reason}");
    server.stop().await;
}

#[tokio::test]
async fn a_client_that_stops_reading_is_dropped_after_the_send_timeout() {
    let server = server_with(StreamLimits {
        max_streams: 1,
        max_message: 64 * 1024,
        send_timeout: Duration::from_millis(300),
        ..StreamLimits::default()
    })
    .await;
    let addr = server.address();
    let started = Instant::now();
    // A script floods this connection with 64 KiB frames; the client reads nothing more.
    let (mut stream, _) = raw_stream(addr, &stream_path("slow-reader", Some("flood"))).await;

    // While it is stuck the only stream place is taken ...
    let reply = refused(ws_connect(addr, &stream_path("slow-waiting", None), &[]).await);
    reply.assert_problem(503, "too-many-streams", "server");
    // ... until the server gives up on it instead of buffering without end.
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut admitted = loop {
        match ws_connect(addr, &stream_path("slow-waiting", None), &[]).await {
            Ok((ws, _)) => break ws,
            Err(WsError::Http(response)) if response.status() == 503 && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(error) => panic!("the slow reader was never dropped: {error}"),
        }
    };
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(300),
        "dropped before the send timeout: {waited:?}"
    );
    next_json(&mut admitted).await;

    // The slow reader's connection was closed: what it buffered runs out and then EOF.
    let received = read_to_end(&mut stream).await;
    assert!(received.len() > 64 * 1024, "{} bytes", received.len());
    drop(admitted);
    server.stop().await;
}

// ---------------------------------------------------------------- shutdown

/// Reads until the close frame and then until the connection ends (which
/// lets tungstenite answer the close), returning the close code.
async fn close_code_at_shutdown(mut ws: Ws) -> u16 {
    let (code, _) = next_close(&mut ws).await;
    while ws_next(&mut ws, FRAME_WAIT).await.is_some_and(|m| m.is_ok()) {}
    code
}

#[tokio::test]
async fn stop_sends_1001_to_open_streams_and_returns_promptly() {
    let server = server_with(StreamLimits::default()).await;
    let addr = server.address();
    let mut live = open_stream(addr, "shutdown-live", None).await;
    let scripted = open_stream(addr, "shutdown-script", Some("script-on")).await;
    next_json(&mut live).await;

    let started = Instant::now();
    let (_, live_code, scripted_code) = tokio::join!(
        async {
            tokio::time::timeout(Duration::from_secs(5), server.stop())
                .await
                .expect("stop returns");
        },
        close_code_at_shutdown(live),
        close_code_at_shutdown(scripted),
    );
    let took = started.elapsed();
    assert_eq!((live_code, scripted_code), (1001, 1001));
    assert!(took < Duration::from_secs(1), "stop took {took:?}");
}
