//! The page at `/__mock/ui` and what it reads: its files and their
//! headers, the journal's live feed (server-sent events), the sessions list
//! and each scenario's coverage; and the control API's protections for the
//! page's own requests.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use http::Method;
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use serde_json::{json, Value};
use specmock::internal::admin::FeedEvents;
use specmock::internal::dispatch;
use specmock::internal::journal::FEED_BACKLOG;
use specmock::internal::{Behaviour, Limits, ServedApp};
use tokio::net::TcpStream;

const PAGE_FILES: [&str; 4] = ["/__mock/ui", "/__mock/ui/", "/__mock/ui/app.js", "/__mock/ui/style.css"];

#[tokio::test]
async fn the_page_and_its_files_are_served_with_defensive_headers() {
    let server = start(shipped_scenario_app(Behaviour::default())).await;
    for (path, media) in PAGE_FILES
        .iter()
        .zip(["text/html", "text/html", "text/javascript", "text/css"])
    {
        let reply = get(server.address(), path).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text());
        assert!(reply.header("content-type").unwrap().starts_with(media), "{path}");
        let policy = reply.header("content-security-policy").expect("a CSP");
        for directive in ["default-src 'none'", "script-src 'self'", "frame-ancestors 'none'"] {
            assert!(policy.contains(directive), "{path}: {policy}");
        }
        assert!(!policy.contains("unsafe-inline"), "{policy}");
        assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(reply.header("referrer-policy"), Some("no-referrer"));
        assert_eq!(reply.header("cache-control"), Some("no-store"));
        assert_eq!(reply.header("access-control-allow-origin"), None, "no CORS on the page");
    }
    let page = get(server.address(), "/__mock/ui").await;
    assert!(page
        .text()
        .contains(r#"<script src="/__mock/ui/app.js" defer></script>"#));
    assert!(!page.text().contains("<script>"), "no inline script");
    assert!(!page.text().contains("https://"), "nothing fetched from elsewhere");
    let missing = get(server.address(), "/__mock/ui/secret.txt").await;
    missing.assert_problem(404, "admin-route-not-found", "admin");
    assert_eq!(
        server.app().journal().status().entries_total,
        0,
        "the page's requests are not journaled"
    );
}

#[tokio::test]
async fn the_page_and_the_feed_are_refused_to_another_host_like_the_rest_of_the_admin_api() {
    let server = start(shipped_scenario_app(Behaviour::default())).await;
    for path in PAGE_FILES.iter().chain(&["/__mock/journal/events", "/__mock/sessions"]) {
        let reply = send(
            server.address(),
            Method::GET,
            path,
            &[("host", "attacker.example")],
            b"",
        )
        .await;
        reply.assert_problem(403, "admin-forbidden", "admin");
    }
}

#[tokio::test]
async fn the_page_and_the_feed_are_refused_to_a_remote_peer_without_the_token() {
    // Built in-process with the peer the server would record, so the test
    // needs no address beyond loopback.
    let app = shipped_scenario_app(Behaviour::default());
    let from = |peer: [u8; 4], path: &str| {
        let mut request = http::Request::get(path).header("host", "localhost");
        let peer = SocketAddr::new(peer.into(), 50_000);
        request = request.extension(specmock::internal::admin::Peer(peer));
        request.body(()).expect("a request").into_parts().0
    };
    for path in PAGE_FILES.iter().chain(&["/__mock/journal/events"]) {
        let remote = from([192, 0, 2, 7], path);
        let response = match specmock::internal::admin::journal_feed(&app, &remote) {
            Some(specmock::internal::admin::Feed::Refused(response)) => response,
            Some(_) => panic!("{path}: a feed for a remote peer"),
            None => dispatch::handle(&app, &remote, b"").response,
        };
        assert_eq!(response.status(), 403, "{path}");
        let problem: Value = serde_json::from_slice(response.body()).expect("a problem");
        assert!(
            problem["detail"].as_str().unwrap().contains("loopback peers only"),
            "{path}: {problem:#}"
        );
    }
    let local = from([127, 0, 0, 1], "/__mock/ui");
    assert_eq!(dispatch::handle(&app, &local, b"").response.status(), 200);
}

/// A journal feed as a client reads it: the events so far, and the body.
struct Feed {
    body: Incoming,
    text: String,
    _connection: tokio::task::JoinHandle<()>,
}

/// One server-sent event: its `event:` name, `data:` and `id:`, or a comment.
#[derive(Debug, Clone, PartialEq)]
struct Event {
    name: String,
    data: String,
    id: Option<String>,
}

impl Event {
    fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap_or_else(|e| panic!("{e}: {}", self.data))
    }
}

impl Feed {
    /// Opens `GET target` with `headers` on a connection of its own.
    async fn open(addr: SocketAddr, target: &str, headers: &[(&str, &str)]) -> (u16, http::HeaderMap, Feed) {
        let stream = TcpStream::connect(addr).await.expect("connect");
        let (mut sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .expect("an HTTP/1.1 connection");
        let connection = tokio::spawn(async move {
            let _ = connection.await;
        });
        let mut request = http::Request::get(target).header("host", addr.to_string());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Empty::<Bytes>::new()).expect("a request");
        let response = tokio::time::timeout(IO_TIMEOUT, sender.send_request(request))
            .await
            .expect("an answer in time")
            .expect("an answer");
        let (parts, body) = response.into_parts();
        let feed = Feed {
            body,
            text: String::new(),
            _connection: connection,
        };
        (parts.status.as_u16(), parts.headers, feed)
    }

    /// The next event or comment (`name` `:` for a comment); `None` when
    /// the feed ended. Waits at most `IO_TIMEOUT`.
    async fn next(&mut self) -> Option<Event> {
        let deadline = tokio::time::Instant::now() + IO_TIMEOUT;
        loop {
            if let Some(end) = self.text.find("\n\n") {
                let block: String = self.text.drain(..end + 2).collect();
                return Some(parse_event(&block));
            }
            let frame = tokio::time::timeout_at(deadline, self.body.frame())
                .await
                .expect("an event within IO_TIMEOUT");
            match frame {
                None => return None,
                Some(frame) => {
                    let frame = frame.expect("the feed reads cleanly");
                    if let Ok(data) = frame.into_data() {
                        self.text
                            .push_str(std::str::from_utf8(&data).expect("events are UTF-8"));
                    }
                }
            }
        }
    }

    /// The next event named `name`, skipping the others.
    async fn next_named(&mut self, name: &str) -> Event {
        loop {
            let event = self.next().await.expect("the feed goes on");
            if event.name == name {
                return event;
            }
        }
    }
}

fn parse_event(block: &str) -> Event {
    let mut event = Event {
        name: "message".into(),
        data: String::new(),
        id: None,
    };
    for line in block.lines() {
        if let Some(comment) = line.strip_prefix(':') {
            event.name = ":".into();
            event.data = comment.trim().to_string();
        } else if let Some(name) = line.strip_prefix("event: ") {
            event.name = name.into();
        } else if let Some(data) = line.strip_prefix("data: ") {
            event.data.push_str(data);
        } else if let Some(id) = line.strip_prefix("id: ") {
            event.id = Some(id.into());
        } else if let Some(retry) = line.strip_prefix("retry: ") {
            event.name = "retry".into();
            event.data = retry.into();
        }
    }
    event
}

#[tokio::test]
async fn the_feed_sends_each_new_entry_as_the_journal_shows_it() {
    let server = start(shipped_scenario_app(Behaviour::default())).await;
    let addr = server.address();
    get(addr, "/user").await;
    let (status, headers, mut feed) = Feed::open(addr, "/__mock/journal/events", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/event-stream");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(feed.next().await.expect("the preamble").name, "retry");
    let reply = send(addr, Method::GET, "/user", &in_session("fed", &[]), b"").await;
    let event = feed.next().await.expect("an event");
    assert_eq!(
        event.name, "entry",
        "the entry made before the feed opened is not sent: {event:?}"
    );
    let page = send(addr, Method::GET, "/__mock/journal?session=fed", &[], b"")
        .await
        .json();
    assert_eq!(event.json(), page["entries"][0], "the same JSON as the journal's");
    assert_eq!(event.id.as_deref(), Some(event.json()["id"].to_string().as_str()));
    let response_body: Value = serde_json::from_slice(&reply.body).expect("the answer is JSON");
    assert_eq!(
        event.json()["response_body"],
        response_body,
        "with the body the client got"
    );
}

#[tokio::test]
async fn a_feed_from_an_entry_sends_the_entries_after_it_first() {
    let server = start(shipped_scenario_app(Behaviour::default())).await;
    let addr = server.address();
    for session in ["a", "b", "c"] {
        send(addr, Method::GET, "/user", &in_session(session, &[]), b"").await;
    }
    let (_, _, mut feed) = Feed::open(addr, "/__mock/journal/events?after=1", &[]).await;
    feed.next_named("retry").await;
    let sessions = [feed.next().await.unwrap(), feed.next().await.unwrap()].map(|e| e.json()["session"].clone());
    assert_eq!(sessions, [json!("b"), json!("c")]);
    let refused = get(addr, "/__mock/journal/events?after=yesterday").await;
    refused.assert_problem(400, "admin-bad-request", "admin");
}

#[tokio::test]
async fn a_feed_reconnecting_with_an_id_from_an_earlier_run_gets_every_held_entry() {
    let server = start(shipped_scenario_app(Behaviour::default())).await;
    let addr = server.address();
    for session in ["a", "b"] {
        send(addr, Method::GET, "/user", &in_session(session, &[]), b"").await;
    }
    // The page saw entry 90 before the mock restarted.
    let (_, _, mut feed) = Feed::open(addr, "/__mock/journal/events", &[("last-event-id", "90")]).await;
    feed.next_named("retry").await;
    let sessions = [feed.next().await.unwrap(), feed.next().await.unwrap()].map(|e| e.json()["session"].clone());
    assert_eq!(sessions, [json!("a"), json!("b")]);
}

#[tokio::test]
async fn an_idle_feed_sends_a_keep_alive_comment() {
    let limits = Limits {
        feed_keep_alive: Duration::from_millis(100),
        ..Limits::default()
    };
    let server = start_with_limits(shipped_scenario_app(Behaviour::default()), limits).await;
    let (_, _, mut feed) = Feed::open(server.address(), "/__mock/journal/events", &[]).await;
    feed.next_named("retry").await;
    let comment = feed.next().await.expect("a comment");
    assert_eq!((comment.name.as_str(), comment.data.as_str()), (":", "keep-alive"));
}

/// A body no operation accepts, journaled whole.
fn large_invalid_body() -> Vec<u8> {
    vec![b'x'; 100 * 1024]
}

#[tokio::test]
async fn a_feed_that_falls_behind_is_told_how_many_entries_it_missed() {
    let server = start(shipped_scenario_app(Behaviour::default())).await;
    let addr = server.address();
    // The feed the server streams, read in-process: it reads nothing while
    // the requests come, whatever the sockets would buffer.
    let mut feed = FeedEvents::new(server.app().journal().subscribe(None));
    let mut client = KeepAlive::open(addr).await;
    let sent = FEED_BACKLOG as u64 + 44;
    for _ in 0..sent {
        let reply = client
            .send(Method::GET, "/user", &in_session("flood", &[]), b"")
            .await
            .expect("answered");
        assert_eq!(reply.status, 200);
    }
    let mut events = Vec::new();
    while events.len() < FEED_BACKLOG + 2 {
        let event = feed.next().await.expect("the feed goes on");
        events.push(parse_event(std::str::from_utf8(&event).expect("UTF-8")));
    }
    assert_eq!(events[0].name, "retry");
    assert_eq!(
        (events[1].name.as_str(), events[1].json()["missed"].clone()),
        ("lagged", json!(44))
    );
    let ids: Vec<u64> = events[2..]
        .iter()
        .map(|e| e.json()["id"].as_u64().expect("an id"))
        .collect();
    assert_eq!(ids, (45..=sent).collect::<Vec<_>>(), "the newest, in order");
}

#[tokio::test]
async fn feeds_past_the_limit_are_refused_until_one_closes() {
    let limits = Limits {
        max_feeds: 1,
        ..Limits::default()
    };
    let server = start_with_limits(shipped_scenario_app(Behaviour::default()), limits).await;
    let addr = server.address();
    let (status, _, first) = Feed::open(addr, "/__mock/journal/events", &[]).await;
    assert_eq!(status, 200);
    let second = get(addr, "/__mock/journal/events").await;
    second.assert_problem(503, "too-many-feeds", "admin");
    assert_eq!(second.header("retry-after"), Some("1"));
    drop(first);
    let deadline = Instant::now() + IO_TIMEOUT;
    loop {
        let (status, _, _feed) = Feed::open(addr, "/__mock/journal/events", &[]).await;
        if status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the first feed's place was never freed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_feed_ends_cleanly_when_the_server_shuts_down() {
    let server = start(shipped_scenario_app(Behaviour::default())).await;
    let (_, _, mut feed) = Feed::open(server.address(), "/__mock/journal/events", &[]).await;
    feed.next_named("retry").await;
    let stopping = Instant::now();
    let stopped = tokio::spawn(server.stop());
    assert_eq!(feed.next().await, None, "the feed ends, without an error");
    stopped.await.expect("the server stops");
    assert!(
        stopping.elapsed() < Duration::from_secs(5),
        "no wait for the grace period"
    );
}

#[tokio::test]
async fn the_sessions_list_shows_every_session_most_recent_first() {
    let server = start(shipped_scenario_app(Behaviour::default())).await;
    let addr = server.address();
    send(addr, Method::GET, "/user", &in_session("older", &[]), b"").await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let _stream = ws_open(addr, "/user/stream", &in_session("newer", &[])).await;
    let listed = get(addr, "/__mock/sessions").await;
    assert_eq!(listed.status, 200, "{}", listed.text());
    let listed = listed.json();
    assert_eq!(listed["total"], 2);
    let ids: Vec<&str> = listed["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["session"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["newer", "older"]);
    let newer = &listed["sessions"][0];
    assert_eq!(newer["streams"], 1);
    assert_eq!(listed["sessions"][1]["streams"], 0);
    let described = get(addr, "/__mock/sessions/newer").await.json();
    for field in ["scenario", "state", "store", "counters"] {
        assert_eq!(
            newer[field], described[field],
            "{field} as the session's own description"
        );
    }
    let at = newer["last_activity"].as_str().expect("a time");
    let at = specmock::internal::rfc3339::parse(at).unwrap_or_else(|| panic!("RFC 3339: {at}"));
    let age = std::time::SystemTime::now().duration_since(at).expect("in the past");
    assert!(age < Duration::from_secs(10), "{age:?}");
}

#[tokio::test]
async fn the_sessions_list_holds_the_thousand_most_recent() {
    let server = start(shipped_scenario_app(Behaviour::default())).await;
    let configuration = server.app().configuration();
    for i in 0..1001 {
        server
            .app()
            .sessions()
            .get(&format!("load-{i}"), || configuration.fresh_session());
    }
    send(server.address(), Method::GET, "/user", &in_session("latest", &[]), b"").await;
    let listed = get(server.address(), "/__mock/sessions").await.json();
    assert_eq!(listed["total"], 1002);
    let sessions = listed["sessions"].as_array().expect("a list");
    assert_eq!(sessions.len(), 1000);
    assert_eq!(sessions[0]["session"], "latest");
}

#[tokio::test]
async fn each_scenario_lists_the_operations_and_statuses_its_rules_reach() {
    let server = start(shipped_scenario_app(Behaviour::default())).await;
    let scenarios = get(server.address(), "/__mock/scenarios").await.json();
    let named = |name: &str| {
        scenarios["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("{name} is listed"))
            .clone()
    };
    let providers = named("providers-local");
    assert_eq!(providers["file"], "scenarios/providers-local.yaml");
    let statuses = providers["reaches"]["user-providers"]
        .as_array()
        .expect("user-providers is reached");
    assert!(statuses.contains(&json!(501)), "{providers:#}");
    let dns = named("dns-not-ready");
    assert!(dns["reaches"]["user-update-vanity"]
        .as_array()
        .unwrap()
        .contains(&json!(404)));
    assert!(
        dns["reaches"]["clear-user"].as_array().unwrap().contains(&json!(204)),
        "inherited from default"
    );
    assert_eq!(
        named("default")["reaches"]["user-providers"]
            .as_array()
            .map(|s| s.contains(&json!(501))),
        Some(false)
    );
}

#[tokio::test]
async fn another_sites_page_cannot_open_a_feed() {
    let limits = Limits {
        max_feeds: 1,
        ..Limits::default()
    };
    let server = start_with_limits(shipped_scenario_app(Behaviour::default()), limits).await;
    let addr = server.address();
    let foreign: [&[(&str, &str)]; 2] = [
        &[("sec-fetch-site", "cross-site")],
        &[("origin", "http://attacker.example")],
    ];
    for headers in foreign {
        let (status, _, _held) = Feed::open(addr, "/__mock/journal/events", headers).await;
        assert_eq!(status, 403, "{headers:?}");
    }
    let own = format!("http://{addr}");
    let page = [("sec-fetch-site", "same-origin"), ("origin", own.as_str())];
    let (status, _, _feed) = Feed::open(addr, "/__mock/journal/events", &page).await;
    assert_eq!(status, 200, "the page's own feed takes the one place");
}

#[tokio::test]
async fn the_feed_path_is_read_like_every_admin_path() {
    let server = start(shipped_scenario_app(Behaviour::default())).await;
    let (status, headers, _feed) = Feed::open(server.address(), "/__mock/journal/%65vents", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/event-stream");
}

#[tokio::test]
async fn a_feed_sends_the_start_of_a_large_body_and_says_it_is_cut() {
    let server = start(shipped_scenario_app(Behaviour::default())).await;
    let addr = server.address();
    let (_, _, mut feed) = Feed::open(addr, "/__mock/journal/events", &[]).await;
    feed.next_named("retry").await;
    let headers = in_session("large", &[("content-type", "application/json")]);
    send(addr, Method::POST, "/user/update", &headers, &large_invalid_body()).await;
    let event = feed.next_named("entry").await.json();
    assert_eq!(event["body_truncated"], true, "{}", &event.to_string()[..200]);
    let sent = event["body"].as_str().expect("the start, as text");
    assert_eq!(sent.len(), specmock::internal::journal::FEED_BODY_BYTES);
    assert!(event.get("response_body_truncated").is_none(), "the answer is small");
    let page = get(addr, "/__mock/journal?session=large").await.json();
    let held = page["entries"][0]["body"].as_str().expect("the body, as text");
    assert_eq!(held.len(), large_invalid_body().len(), "the journal keeps it whole");
}

/// The status line of `GET target` with `headers`, read without waiting
/// for a body that may never end (the journal's feed).
async fn status_of(addr: SocketAddr, target: &str, headers: &[(&str, &str)]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let mut request = format!("GET {target} HTTP/1.1\r\nhost: {addr}\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    stream
        .write_all(format!("{request}\r\n").as_bytes())
        .await
        .expect("sent");
    let mut head = Vec::new();
    while !head.windows(2).any(|w| w == b"\r\n") {
        let mut byte = [0u8; 256];
        let read = tokio::time::timeout(IO_TIMEOUT, stream.read(&mut byte))
            .await
            .expect("an answer in time")
            .expect("read");
        assert!(read > 0, "{target}: the connection closed before a status line");
        head.extend_from_slice(&byte[..read]);
    }
    let text = String::from_utf8_lossy(&head);
    text.lines().next().unwrap_or_default().to_string()
}

#[tokio::test]
async fn with_a_token_the_pages_files_are_served_without_it_and_its_data_only_with_it() {
    let open = start(shipped_scenario_app(Behaviour::default())).await;
    let behaviour = Behaviour {
        control_token: Some("s3cret".into()),
        ..Behaviour::default()
    };
    let server = start(shipped_scenario_app(behaviour)).await;
    let addr = server.address();
    for path in PAGE_FILES {
        let reply = get(addr, path).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text());
        assert_eq!(
            reply.body,
            get(open.address(), path).await.body,
            "{path}: the same bytes"
        );
        assert!(reply.header("content-security-policy").is_some(), "{path}");
        let foreign = send(addr, Method::GET, path, &[("host", "attacker.example")], b"").await;
        foreign.assert_problem(403, "admin-forbidden", "admin");
    }
    for (method, path) in [(Method::POST, "/__mock/ui"), (Method::GET, "/__mock/ui/secret.txt")] {
        let reply = send(addr, method, path, &[], b"").await;
        reply.assert_problem(403, "admin-forbidden", "admin");
    }
    let bearer = [("authorization", "Bearer s3cret")];
    for path in [
        "/__mock/sessions",
        "/__mock/scenarios",
        "/__mock/status",
        "/__mock/journal",
    ] {
        let refused = get(addr, path).await;
        refused.assert_problem(403, "admin-forbidden", "admin");
        assert_eq!(
            refused.header("www-authenticate"),
            Some(r#"Bearer realm="specmock admin""#),
            "{path}: the page learns that the token is missing"
        );
        let accepted = send(addr, Method::GET, path, &bearer, b"").await;
        assert_eq!(accepted.status, 200, "{path}: {}", accepted.text());
    }
    let feed = "/__mock/journal/events";
    assert!(
        status_of(addr, feed, &[]).await.contains(" 403 "),
        "the feed needs the token"
    );
    assert!(
        status_of(addr, feed, &bearer).await.contains(" 200 "),
        "the feed with the token"
    );
}
