//! The network shell: hyper connections in, `dispatch::handle` in the middle,
//! limits and graceful shutdown around it. Nothing else serves with hyper
//! (`proxy` holds the client half).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::admin::{Feed, FeedEvents};
use crate::app::{handshake, App, Handled, Upgrade};
use crate::dispatch;
use crate::logging::RequestLine;
use crate::problem::Problem;
use crate::proxy::{self, Handshake, Relayed};
use crate::scenario::Fault;
use crate::shutdown::{Coordinator, ShutdownToken};
use crate::validate::Violation;
use crate::websocket::{self, StreamLimits};

/// Limits of the HTTP layer.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body accepted; larger gets 413.
    pub max_body: usize,
    /// A client must send its complete request head within this time
    /// (slow-loris protection).
    pub header_read_timeout: Duration,
    /// How long in-flight requests get to finish on shutdown.
    pub shutdown_grace: Duration,
    /// HTTP connections open at once; one more is answered 503 and closed.
    pub max_connections: usize,
    /// The request line and headers together; more gets 431 (hyper's answer).
    pub max_header_bytes: usize,
    /// The limits of each WebSocket stream (message size, pending frames).
    pub streams: StreamLimits,
    /// Live journal feeds (`/__mock/journal/events`) open at once; one
    /// more gets 503.
    pub max_feeds: usize,
    /// A feed with nothing to send sends a comment this often.
    pub feed_keep_alive: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body: 1024 * 1024,
            header_read_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(10),
            max_connections: 10_000,
            max_header_bytes: 64 * 1024,
            streams: StreamLimits::default(),
            max_feeds: 16,
            feed_keep_alive: Duration::from_secs(15),
        }
    }
}

/// Accepts connections until `stop` completes, then lets in-flight requests
/// finish (up to the grace period).
pub async fn serve(listener: TcpListener, app: Arc<App>, limits: Limits, stop: impl Future<Output = ()>) {
    let coordinator = Coordinator::new();
    // Semaphores hold at most MAX_PERMITS: a larger limit is no limit.
    let permits = |limit: usize| Arc::new(Semaphore::new(limit.min(Semaphore::MAX_PERMITS)));
    let connections = permits(limits.max_connections);
    let shared = Arc::new(Shared {
        streams: permits(limits.streams.max_streams),
        feeds: permits(limits.max_feeds),
        app,
        limits,
    });
    tokio::pin!(stop);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    match connections.clone().try_acquire_owned() {
                        Ok(permit) => {
                            let (shared, token) = (shared.clone(), coordinator.token());
                            tokio::spawn(async move {
                                connection(stream, peer, shared, token).await;
                                drop(permit);
                            });
                        }
                        Err(_) => {
                            tokio::spawn(turn_away(stream, shared.limits.max_connections));
                        }
                    }
                }
                // Running out of file descriptors is transient: back off, keep serving.
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = &mut stop => break,
        }
    }
    drop(listener);
    if !coordinator.shutdown(shared.limits.shutdown_grace).await {
        tracing::warn!("shutdown grace period over; closing the remaining connections");
    }
}

/// One connection past `--max-connections`: a 503 problem instead of a
/// hang. The request head is read first (briefly), so the client is not
/// reset mid-send and reads the answer.
async fn turn_away(mut stream: tokio::net::TcpStream, limit: usize) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut head = [0u8; 8192];
    let _ = tokio::time::timeout(Duration::from_millis(200), stream.read(&mut head)).await;
    let body = Problem::too_many_connections(limit).body("/");
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: {}\r\n{}: server\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
        crate::problem::CONTENT_TYPE,
        crate::problem::ORIGIN_HEADER,
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.write_all(&body).await;
    let _ = stream.shutdown().await;
    tracing::warn!(limit, "connection turned away: --max-connections reached");
}

/// What every connection shares.
struct Shared {
    app: Arc<App>,
    limits: Limits,
    /// One permit per open WebSocket stream.
    streams: Arc<Semaphore>,
    /// One permit per open journal feed.
    feeds: Arc<Semaphore>,
}

async fn connection(stream: tokio::net::TcpStream, peer: SocketAddr, shared: Arc<Shared>, mut shutdown: ShutdownToken) {
    let (header_read_timeout, max_header_bytes) = (shared.limits.header_read_timeout, shared.limits.max_header_bytes);
    let stream_shutdown = shutdown.clone();
    let service = service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(crate::admin::Peer(peer));
        let shared = shared.clone();
        let shutdown = stream_shutdown.clone();
        async move {
            // A reload asked for with upgrade headers is still a reload, run where it may block.
            let blocks = crate::admin::blocks(request.method(), request.uri().path());
            if handshake::is_upgrade_request(request.headers()) && !blocks {
                Ok(upgrade(shared, request, shutdown).await)
            } else {
                respond(&shared, request, shutdown).await
            }
        }
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .max_header_size(max_header_bytes)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        _ = shutdown.signalled() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        tracing::debug!(%peer, %error, "connection ended with an error");
    }
}

/// A WebSocket handshake: the 101 and a task that runs the stream once hyper
/// hands the connection over, or an HTTP answer instead. A stream the core
/// marked `forward` is the upstream's: its handshake is sent on first, and
/// the task relays frames.
async fn upgrade(shared: Arc<Shared>, mut request: Request<Incoming>, shutdown: ShutdownToken) -> Response<WireBody> {
    let started = Instant::now();
    let on_upgrade = hyper::upgrade::on(&mut request);
    let (parts, _) = request.into_parts();
    let app = &shared.app;
    let admission = match host_problem(&parts) {
        Some(problem) => Upgrade::Refused(Box::new(app.refused(problem, &parts))),
        None => dispatch::upgrade(app, &parts),
    };
    let (mut handled, mut plan) = match admission {
        Upgrade::Refused(handled) => (*handled, None),
        Upgrade::Accepted(accepted) => match shared.streams.clone().try_acquire_owned() {
            Ok(permit) => (accepted.handled, Some((accepted.plan, permit))),
            Err(_) => {
                let problem = Problem::too_many_streams(shared.limits.streams.max_streams);
                (app.refused(problem, &parts), None)
            }
        },
    };
    let mut relayed = None;
    if let (Some(forward), Some(_)) = (handled.forward.take(), &plan) {
        match forward
            .upstream
            .open_stream(
                &parts,
                forward.path(parts.uri.path()),
                shared.limits.streams.max_message,
                shared.limits.max_body,
            )
            .await
        {
            Ok(Handshake::Accepted(socket, headers)) => {
                handled = app.relay_stream(handled, headers);
                relayed = Some((socket, forward));
            }
            Ok(Handshake::Answered(answer)) => {
                handled = app.relay(&parts, handled, forward, Ok(answer), shared.limits.max_body);
                plan = None;
            }
            Err(failure) => {
                handled = app.relay(&parts, handled, forward, Err(failure), shared.limits.max_body);
                plan = None;
            }
        }
    }
    account(app, &parts, &handled, started, None);
    if let Some((plan, permit)) = plan {
        let (app, limits) = (shared.app.clone(), shared.limits.streams.clone());
        tokio::spawn(async move {
            match (on_upgrade.await, relayed) {
                (Ok(upgraded), Some((socket, forward))) => {
                    let whose = Relayed {
                        app,
                        forward,
                        session: plan.session_id,
                        operation: plan.operation_id,
                        target: plan.target,
                    };
                    proxy::relay(TokioIo::new(upgraded), *socket, whose, limits, shutdown).await
                }
                (Ok(upgraded), None) => websocket::run(TokioIo::new(upgraded), app, plan, limits, shutdown).await,
                (Err(error), _) => tracing::debug!(%error, "the WebSocket upgrade did not complete"),
            }
            drop(permit);
        });
    }
    let (head, body) = handled.response.into_parts();
    Response::from_parts(head, WireBody::Whole(Full::new(body)))
}

async fn respond(
    shared: &Shared,
    request: Request<Incoming>,
    shutdown: ShutdownToken,
) -> Result<Response<WireBody>, FaultError> {
    let started = Instant::now();
    let app = &shared.app;
    let (parts, body) = request.into_parts();
    let host = host_problem(&parts);
    if host.is_none() {
        if let Some(feed) = crate::admin::journal_feed(app, &parts) {
            return Ok(journal_feed(shared, &parts, feed, shutdown, started));
        }
    }
    let read = match host {
        Some(problem) => Err(problem),
        None => read_body(body, &parts.headers, shared.limits.max_body).await,
    };
    let (mut handled, parts, body) = match read {
        // A reload reads files, a recording is built and written: on a thread that may block, not a request's.
        Ok(bytes) if crate::admin::blocks(&parts.method, parts.uri.path()) => {
            let app = app.clone();
            let reloaded =
                tokio::task::spawn_blocking(move || (dispatch::handle(&app, &parts, &bytes), parts, bytes)).await;
            match reloaded {
                Ok((handled, parts, bytes)) => (handled, parts, Some(bytes)),
                Err(error) => std::panic::resume_unwind(error.into_panic()),
            }
        }
        Ok(bytes) => (dispatch::handle(app, &parts, &bytes), parts, Some(bytes)),
        Err(problem) => (app.refused(problem, &parts), parts, None),
    };
    if let Some(forward) = handled.forward.take() {
        let sent = body.clone().unwrap_or_default();
        let path = forward.path(parts.uri.path());
        let outcome = forward
            .upstream
            .forward(&parts, path, sent, shared.limits.max_body)
            .await;
        handled = app.relay(&parts, handled, forward, outcome, shared.limits.max_body);
    }
    if let Some(delay) = handled.delay {
        tokio::time::sleep(delay).await;
    }
    let wire = on_the_wire(handled.fault, std::mem::take(handled.response.body_mut()));
    // The journal shows the body the client gets.
    *handled.response.body_mut() = wire.as_ref().map_or_else(Bytes::new, |(_, sent)| sent.clone());
    account(app, &parts, &handled, started, body);
    // hyper closes the connection when the service fails: no response at all.
    let Some((wire, _)) = wire else { return Err(FaultError) };
    let (head, _) = handled.response.into_parts();
    Ok(Response::from_parts(head, wire))
}

/// What a scripted fault makes of a response body: the body to send, and
/// the bytes of it the client gets; `None` for a reset (nothing is sent).
fn on_the_wire(fault: Option<Fault>, body: Bytes) -> Option<(WireBody, Bytes)> {
    let whole = |body: Bytes| (WireBody::Whole(Full::new(body.clone())), body);
    match fault {
        Some(Fault::Reset) => None,
        Some(Fault::Close) => Some((WireBody::broken(body, 0), Bytes::new())),
        Some(Fault::Truncate) => {
            let half = body.slice(..body.len() / 2);
            Some((WireBody::broken(body, half.len()), half))
        }
        Some(Fault::Malformed) => Some(whole(malformed(&body))),
        Some(Fault::UndeclaredStatus) | None => Some(whole(body)),
    }
}

/// The journal's live feed: its events as they come, a keep-alive comment
/// when none has, until the client leaves or the server shuts down. A
/// reader that falls behind is told how many entries it missed.
fn journal_feed(
    shared: &Shared,
    parts: &http::request::Parts,
    feed: Feed,
    shutdown: ShutdownToken,
    started: Instant,
) -> Response<WireBody> {
    let app = &shared.app;
    // The place first: a feed refused for want of one copies no backlog.
    let opened = match feed {
        Feed::Admitted(after) => shared
            .feeds
            .clone()
            .try_acquire_owned()
            .map(|permit| (app.journal().subscribe(after), permit))
            .map_err(|_| app.problem(Problem::too_many_feeds(shared.limits.max_feeds), parts)),
        Feed::Refused(response) => Err(response),
    };
    let (subscription, permit) = match opened {
        Ok(opened) => opened,
        Err(response) => {
            let refused = Handled::unattributed(response);
            account(app, parts, &refused, started, None);
            let (head, body) = refused.response.into_parts();
            return Response::from_parts(head, WireBody::Whole(Full::new(body)));
        }
    };
    let (head, ()) = crate::admin::feed_head().into_parts();
    let opened = Handled::unattributed(Response::from_parts(head.clone(), Bytes::new()));
    account(app, parts, &opened, started, None);
    let period = shared.limits.feed_keep_alive;
    let following = Following {
        events: FeedEvents::new(subscription),
        keep_alive: tokio::time::interval_at(tokio::time::Instant::now() + period, period),
        shutdown,
        _permit: permit,
    };
    let events = futures_util::stream::unfold(following, |mut following| async move {
        following.next().await.map(|event| (event, following))
    });
    Response::from_parts(head, WireBody::Feed(Box::pin(events)))
}

/// A journal feed being followed.
struct Following {
    events: FeedEvents,
    keep_alive: tokio::time::Interval,
    shutdown: ShutdownToken,
    _permit: OwnedSemaphorePermit,
}

impl Following {
    /// The next event's text; `None` ends the feed (the server shuts down).
    async fn next(&mut self) -> Option<Bytes> {
        let event = tokio::select! {
            _ = self.shutdown.signalled() => return None,
            event = self.events.next() => event?,
            _ = self.keep_alive.tick() => return Some(Bytes::from_static(crate::admin::KEEP_ALIVE)),
        };
        self.keep_alive.reset();
        Some(event)
    }
}

/// One log line per request (and per handshake), and its journal entry.
fn account(app: &App, parts: &http::request::Parts, handled: &Handled, started: Instant, body: Option<Bytes>) {
    let latency = started.elapsed();
    RequestLine {
        method: &parts.method,
        path: parts.uri.path(),
        operation: handled.operation.as_deref().unwrap_or("-"),
        status: handled.response.status().as_u16(),
        rule: handled.rule.as_deref().unwrap_or("-"),
        fault: handled.fault.map_or("-", Fault::as_str),
        violations: handled.violations.len(),
        latency_us: latency.as_micros() as u64,
    }
    .log();
    for violation in &handled.violations {
        tracing::debug!(target: "specmock::violation", pointer = %violation.pointer, rule = %violation.rule, "{}", violation.message);
    }
    if let Some(record) = handled.record(parts, latency, body, &app.configuration().credentials) {
        app.journal().record(record);
    }
}

/// Half of the body and then a stray character: never valid JSON.
fn malformed(body: &Bytes) -> Bytes {
    let half = &body[..body.len() / 2];
    let mut broken = Vec::with_capacity(half.len() + 1);
    broken.extend_from_slice(half);
    broken.push(b'<');
    Bytes::from(broken)
}

/// The error a scripted `fault: reset` makes the service return.
#[derive(Debug)]
struct FaultError;

impl std::fmt::Display for FaultError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("scripted fault: connection reset")
    }
}

impl std::error::Error for FaultError {}

/// A response body as sent: whole, or cut short on purpose (`close`,
/// `truncate`) after announcing its full length, so the client sees the
/// connection end mid-response.
enum WireBody {
    Whole(Full<Bytes>),
    /// Events for as long as the stream yields them.
    Feed(Pin<Box<dyn futures_util::Stream<Item = Bytes> + Send>>),
    Broken {
        announced: u64,
        prefix: Option<Bytes>,
        pause: Pin<Box<tokio::time::Sleep>>,
    },
}

impl WireBody {
    fn broken(body: Bytes, keep: usize) -> Self {
        let announced = body.len() as u64;
        let prefix = (keep > 0).then(|| body.slice(..keep));
        // The pause lets hyper flush the head (and prefix) before the cut.
        WireBody::Broken {
            announced,
            prefix,
            pause: Box::pin(tokio::time::sleep(Duration::from_millis(20))),
        }
    }
}

impl hyper::body::Body for WireBody {
    type Data = Bytes;
    type Error = FaultError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, FaultError>>> {
        match self.get_mut() {
            WireBody::Whole(full) => Pin::new(full).poll_frame(cx).map_err(|never| match never {}),
            WireBody::Feed(events) => {
                futures_util::Stream::poll_next(events.as_mut(), cx).map(|event| event.map(|e| Ok(Frame::data(e))))
            }
            WireBody::Broken { prefix, pause, .. } => {
                if let Some(prefix) = prefix.take() {
                    return Poll::Ready(Some(Ok(Frame::data(prefix))));
                }
                pause.as_mut().poll(cx).map(|()| Some(Err(FaultError)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            WireBody::Whole(full) => full.is_end_stream(),
            WireBody::Feed(_) | WireBody::Broken { .. } => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            WireBody::Whole(full) => full.size_hint(),
            WireBody::Broken { announced, .. } => SizeHint::with_exact(*announced),
            WireBody::Feed(_) => SizeHint::default(),
        }
    }
}

/// RFC 9112 3.2: an HTTP/1.1 request carries exactly one Host. hyper leaves
/// that to the service, and a request without one (or with two) is a
/// client or proxy bug its test should hear about.
fn host_problem(parts: &http::request::Parts) -> Option<Problem> {
    if parts.version != http::Version::HTTP_11 {
        return None;
    }
    let message = match parts.headers.get_all(http::header::HOST).iter().count() {
        1 => return None,
        0 => "an HTTP/1.1 request carries a Host header (RFC 9112 3.2); none was sent".to_string(),
        count => format!("Host is sent {count} times; RFC 9112 3.2 allows one"),
    };
    Some(Problem::bad_request_target(Violation::new(
        "/header/host",
        "required",
        message,
    )))
}

/// Reads the whole body, refusing early (from Content-Length) or midway
/// (chunked) once it passes the limit.
async fn read_body(body: Incoming, headers: &http::HeaderMap, max_body: usize) -> Result<Bytes, Problem> {
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > max_body as u64) {
        return Err(Problem::payload_too_large(max_body));
    }
    match Limited::new(body, max_body).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => Err(Problem::payload_too_large(max_body)),
        Err(error) => Err(Problem::bad_request_target(crate::validate::Violation::new(
            "/body",
            "transfer",
            format!("the request body could not be read: {error}"),
        ))),
    }
}
