//! The network shell around the request path: request-head timeout, broken
//! transfer encodings, the connection limit, and graceful stop of the
//! embedded `MockServer`.

mod common;

use std::time::{Duration, Instant};

use common::*;
use specmock::internal::{Behaviour, Limits};
use specmock::MockServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn petstore_with(limits: Limits) -> MockServer {
    let (app, warnings) = app_from_file(&specs_dir().join("petstore.yaml"), None, 0, Behaviour::default());
    assert!(warnings.is_empty());
    start_with_limits(app, limits).await
}

/// Sends the head and the first part of a POST /v1/pets body, leaving the request in flight.
async fn half_sent_request(server: &MockServer) -> (TcpStream, &'static [u8]) {
    let body: &'static [u8] = br#"{"name":"Tom","petType":"Cat"}"#;
    let mut stream = TcpStream::connect(server.address()).await.expect("connect");
    let head = format!(
        "POST /v1/pets HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body[..10]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    (stream, &body[10..])
}

#[tokio::test]
async fn a_slow_request_head_is_cut_off() {
    let server = petstore_with(Limits {
        header_read_timeout: Duration::from_millis(200),
        ..Limits::default()
    })
    .await;
    let started = Instant::now();
    let mut stream = TcpStream::connect(server.address()).await.unwrap();
    stream
        .write_all(b"GET /v1/pets/1 HTTP/1.1\r\nHost: test\r\n")
        .await
        .unwrap();
    let mut buffer = [0u8; 256];
    let read = tokio::time::timeout(IO_TIMEOUT, stream.read(&mut buffer))
        .await
        .expect("the server acts before the test timeout");
    assert!(
        matches!(read, Ok(0) | Err(_)),
        "the connection is closed without an answer: {read:?}"
    );
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(150), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");

    // A prompt client on the same server is unaffected.
    assert_eq!(get(server.address(), "/v1/pets/1").await.status, 200);
}

#[tokio::test]
async fn a_broken_chunked_body_is_400() {
    let server = petstore_with(Limits::default()).await;
    let reply = raw(
        server.address(),
        b"POST /v1/pets HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
    )
    .await;
    reply.assert_problem(400, "invalid-request", "validator");
    assert_eq!(reply.violations(), [("/body".into(), "transfer".into())]);
}

#[tokio::test]
async fn a_chunked_body_within_the_limit_is_read_whole() {
    let server = petstore_with(Limits::default()).await;
    let reply = raw(
        server.address(),
        b"POST /v1/pets HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n8\r\n{\"name\":\r\n16\r\n\"Tom\",\"petType\":\"Cat\"}\r\n0\r\n\r\n",
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
}

#[tokio::test]
async fn stop_lets_a_request_in_flight_finish() {
    let server = petstore_with(Limits::default()).await;
    let addr = server.address();
    let (mut stream, rest) = half_sent_request(&server).await;
    let stopping = tokio::spawn(server.stop());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!stopping.is_finished(), "stop returned with a request in flight");
    stream.write_all(rest).await.unwrap();
    let reply = tokio::time::timeout(IO_TIMEOUT, read_reply(&mut stream)).await.unwrap();
    assert_eq!(reply.status, 201, "{}", reply.text());
    tokio::time::timeout(IO_TIMEOUT, stopping)
        .await
        .expect("stop returns once the request is done")
        .unwrap();
    assert!(TcpStream::connect(addr).await.is_err(), "nothing listens after stop");
}

#[tokio::test]
async fn stop_gives_up_on_a_stuck_request_after_the_grace_period() {
    let server = petstore_with(Limits {
        shutdown_grace: Duration::from_millis(300),
        ..Limits::default()
    })
    .await;
    let (_stream, _rest) = half_sent_request(&server).await;
    let started = Instant::now();
    tokio::time::timeout(IO_TIMEOUT, server.stop())
        .await
        .expect("stop returns");
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(250),
        "waited for the grace period: {elapsed:?}"
    );
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}

#[tokio::test]
async fn dropping_the_server_stops_it() {
    let server = petstore_with(Limits::default()).await;
    let addr = server.address();
    assert_eq!(get(addr, "/v1/pets/1").await.status, 200);
    drop(server);
    let deadline = Instant::now() + Duration::from_secs(3);
    while TcpStream::connect(addr).await.is_ok() {
        assert!(Instant::now() < deadline, "still accepting after drop");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn keep_alive_connections_serve_several_requests() {
    let server = petstore_with(Limits::default()).await;
    let mut stream = TcpStream::connect(server.address()).await.unwrap();
    for id in 1..=3 {
        stream
            .write_all(format!("GET /v1/pets/{id} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let reply = tokio::time::timeout(IO_TIMEOUT, read_reply(&mut stream)).await.unwrap();
        assert_eq!(reply.status, 200);
        assert_eq!(reply.json()["name"], "Rex");
    }
}

#[tokio::test]
async fn a_connection_past_the_limit_gets_503_not_a_hang() {
    let server = petstore_with(Limits {
        max_connections: 2,
        ..Limits::default()
    })
    .await;
    let addr = server.address();
    // Two idle keep-alive connections hold both places.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET /v1/pets/1 HTTP/1.1\r\nHost: test\r\n\r\n")
            .await
            .unwrap();
        assert_eq!(read_reply(&mut stream).await.status, 200);
        held.push(stream);
    }
    let turned_away = tokio::time::timeout(IO_TIMEOUT, get(addr, "/v1/pets/1"))
        .await
        .expect("answered, not left hanging");
    let body = turned_away.assert_problem(503, "too-many-connections", "server");
    assert_eq!(body["max_connections"], 2);
    assert_eq!(turned_away.header("retry-after"), Some("1"));

    // A place frees up when a connection closes.
    drop(held.pop());
    let deadline = Instant::now() + IO_TIMEOUT;
    loop {
        if get(addr, "/v1/pets/1").await.status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the freed place was never reused");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn headers_past_the_limit_get_431() {
    let server = petstore_with(Limits {
        max_header_bytes: 16 * 1024,
        ..Limits::default()
    })
    .await;
    let huge = "x".repeat(20 * 1024);
    let request = format!("GET /v1/pets/1 HTTP/1.1\r\nHost: test\r\nX-Big: {huge}\r\n\r\n");
    assert_eq!(raw(server.address(), request.as_bytes()).await.status, 431);
    // Within the limit, the same request is answered.
    let fine = format!(
        "GET /v1/pets/1 HTTP/1.1\r\nHost: test\r\nX-Big: {}\r\n\r\n",
        &huge[..1024]
    );
    assert_eq!(raw(server.address(), fine.as_bytes()).await.status, 200);
}
