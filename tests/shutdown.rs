//! SIGTERM under load, on the real binary serving the shipped files: with
//! WebSocket streams open, requests in flight (late by a scenario's delay, or
//! held by a client still sending its body) and keep-alive connections calling
//! without pause, every request in flight is answered in full, every stream
//! gets close code 1001, new connections are refused, the process exits 0 in
//! time, and its summary line counts exactly the requests clients had answered.
//! (`tests/cli.rs` covers one request in flight and an idle server.)

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use http::Method;
use serde_json::{json, Value};
use specmock::internal::spec::Operation;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const STREAMS: usize = 3;
/// Requests the shipped `slow-and-flaky` scenario answers a second late.
const LATE: usize = 4;
const BUSY_CONNECTIONS: usize = 4;
/// The latest request in flight is answered a second after it came; the rest is slack.
const EXIT_BOUND: Duration = Duration::from_secs(5);

fn signed_in_user() -> Value {
    serde_json::from_str(include_str!("../fixtures/user-signed-in.json")).expect("the fixture is JSON")
}

fn profile(label: &str) -> Value {
    json!({ "id": label, "aesthetics": { "theme": { "dark": false }, "font": { "size": 13 } } })
}

fn assert_conforms(operations: &[Operation], id: &str, reply: &Reply) {
    let operation = operations.iter().find(|op| op.id == id).expect("a shipped operation");
    let problems = response_problems(operation, reply);
    assert!(problems.is_empty(), "{problems:#?}");
}

/// One session's keep-alive connection calling `update-user` and `user-snapshot`
/// in turn until the server closes it. Each answer is checked in full: the
/// `default` scenario stores the profile posted last, and the snapshot shows
/// exactly that one. Returns how many calls were answered and when the
/// connection ended.
async fn keep_calling(
    addr: SocketAddr,
    connection: usize,
    operations: Arc<Vec<Operation>>,
    answered: Arc<Vec<AtomicU64>>,
) -> (u64, Instant) {
    let session = format!("busy-{connection}");
    let headers = [
        ("x-mock-session", session.as_str()),
        ("content-type", "application/json"),
    ];
    let mut client = KeepAlive::open(addr).await;
    let mut stored = signed_in_user();
    let mut calls = 0u64;
    loop {
        let result = if calls.is_multiple_of(2) {
            let posted = profile(&format!("{session}-{calls}"));
            let sent = client
                .send(Method::POST, "/user/update", &headers, posted.to_string().as_bytes())
                .await;
            sent.map(|reply| {
                assert_conforms(&operations, "update-user", &reply);
                assert_eq!(reply.json(), posted, "update-user answers the profile it stored");
                stored = posted;
            })
        } else {
            let sent = client.send(Method::GET, "/user", &headers[..1], b"").await;
            sent.map(|reply| {
                assert_conforms(&operations, "user-snapshot", &reply);
                assert_eq!(
                    reply.json(),
                    json!({ "user": stored }),
                    "the snapshot is the stored profile"
                );
            })
        };
        if result.is_err() {
            return (calls, Instant::now());
        }
        calls += 1;
        answered[connection].store(calls, Ordering::Relaxed);
    }
}

/// A `POST /user/update` whose body the server has asked for (`100 Continue`)
/// but not received: the request is in the server's hands and cannot finish
/// until the client sends the body.
async fn held_request(addr: SocketAddr, body: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST /user/update HTTP/1.1\r\nHost: test\r\nX-Mock-Session: held\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("write the head");
    let mut interim = Vec::new();
    while !interim.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        let read = tokio::time::timeout(IO_TIMEOUT, stream.read(&mut byte))
            .await
            .expect("the server asks for the body in time")
            .expect("read");
        assert_eq!(read, 1, "the connection ended before 100 Continue");
        interim.push(byte[0]);
    }
    assert!(
        interim.starts_with(b"HTTP/1.1 100"),
        "{:?}",
        String::from_utf8_lossy(&interim)
    );
    stream
}

/// Polls until the session's scenario has decided its one call: the request
/// is then inside the scenario's delay.
async fn wait_until_decided(addr: SocketAddr, session: &str) {
    let deadline = Instant::now() + IO_TIMEOUT;
    loop {
        let reply = get(addr, &format!("/__mock/sessions/{session}")).await;
        if reply.status == 200
            && reply.json()["counters"]
                .as_array()
                .is_some_and(|counters| counters.iter().any(|c| c["calls"] == 1))
        {
            return;
        }
        assert!(Instant::now() < deadline, "{session}: no decision in time");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The close code of the stream's next message, which must be a close frame;
/// then reads on, which sends tungstenite's answer to the close, until the
/// server ends the connection.
async fn close_code(ws: &mut Ws) -> u16 {
    let code = match ws_next(ws, IO_TIMEOUT).await {
        Some(Ok(WsMessage::Close(Some(frame)))) => u16::from(frame.code),
        other => panic!("expected a close frame, got {other:?}"),
    };
    let end = ws_next(ws, IO_TIMEOUT).await;
    assert!(
        matches!(end, Some(Err(_))),
        "the connection ends after the close handshake: {end:?}"
    );
    code
}

fn summary_line(requests: u64) -> String {
    format!("specmock: {requests} requests, 0 broke the contract")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_answers_everything_in_flight_and_exits_0() {
    let mut binary = Binary::start(&["--port", "0"], &repo_root());
    let addr = binary.addr;
    let operations = Arc::new(shipped_spec().operations);

    let mut streams = Vec::new();
    for stream in 0..STREAMS {
        let mut ws = ws_open(addr, &format!("/user/stream?__session=stream-{stream}"), &[]).await;
        match ws_next(&mut ws, IO_TIMEOUT).await {
            Some(Ok(WsMessage::Text(text))) => {
                let user: Value = serde_json::from_str(text.as_str()).expect("a JSON frame");
                assert_eq!(user, signed_in_user(), "the stream's first frame is the session's user");
            }
            other => panic!("expected the user, got {other:?}"),
        }
        streams.push(ws);
    }
    let answered: Arc<Vec<AtomicU64>> = Arc::new((0..BUSY_CONNECTIONS).map(|_| AtomicU64::new(0)).collect());
    let busy: Vec<_> = (0..BUSY_CONNECTIONS)
        .map(|connection| tokio::spawn(keep_calling(addr, connection, operations.clone(), answered.clone())))
        .collect();
    let late: Vec<_> = (0..LATE)
        .map(|n| {
            let session = format!("late-{n}");
            tokio::spawn(async move {
                let headers = [
                    ("x-mock-session", session.as_str()),
                    ("x-mock-scenario", "slow-and-flaky"),
                ];
                send(addr, Method::GET, "/user/refresh", &headers, b"").await
            })
        })
        .collect();
    let held_body = profile("held").to_string();
    let mut held = held_request(addr, held_body.as_bytes()).await;
    for n in 0..LATE {
        wait_until_decided(addr, &format!("late-{n}")).await;
    }
    let deadline = Instant::now() + IO_TIMEOUT;
    while answered.iter().any(|calls| calls.load(Ordering::Relaxed) < 4) {
        assert!(Instant::now() < deadline, "a busy connection is not answered");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let signalled = Instant::now();
    binary.terminate();

    for ws in &mut streams {
        assert_eq!(close_code(ws).await, 1001, "streams are told the server is going away");
    }
    let refused_by = Instant::now() + Duration::from_secs(3);
    while TcpStream::connect(addr).await.is_ok() {
        assert!(Instant::now() < refused_by, "new connections are still accepted");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        binary.child.try_wait().expect("try_wait").is_none(),
        "the process exited with a request in flight"
    );

    held.write_all(held_body.as_bytes()).await.expect("send the held body");
    let reply = read_reply(&mut held).await;
    assert_conforms(&operations, "update-user", &reply);
    assert_eq!(reply.text(), held_body, "the held request is answered in full");

    for task in late {
        let reply = task.await.expect("a late request");
        assert_conforms(&operations, "refresh-user", &reply);
        assert_eq!(reply.json(), signed_in_user(), "the late request is answered in full");
    }
    let mut busy_answered = 0;
    for task in busy {
        let (calls, ended) = task.await.expect("a busy connection");
        assert!(ended > signalled, "a busy connection ended before SIGTERM");
        busy_answered += calls;
    }

    assert_eq!(binary.wait_exit(), Some(0), "stderr:\n{}", binary.stderr());
    let took = signalled.elapsed();
    assert!(took < EXIT_BOUND, "exited {took:?} after SIGTERM");
    // Handshakes count as requests.
    let requests = STREAMS as u64 + LATE as u64 + 1 + busy_answered;
    let stderr = binary.stderr();
    assert!(
        stderr.lines().any(|line| line == summary_line(requests)),
        "no summary of {requests} requests on stderr:\n{stderr}"
    );
}

#[tokio::test]
async fn the_summary_is_the_last_line_of_stderr() {
    // The race is lost about one time in three: ten runs show it.
    for _ in 0..10 {
        let mut binary = Binary::start(&["--port", "0"], &repo_root());
        assert_eq!(get(binary.addr, "/user").await.status, 200);
        binary.terminate();
        assert_eq!(binary.wait_exit(), Some(0));
        let stderr = binary.stderr();
        assert_eq!(stderr.lines().last(), Some(summary_line(1).as_str()), "{stderr}");
    }
}
