//! One WebSocket connection after the 101: reads what the client sends,
//! pings it, and drives the plan (live frames or a script) until the client
//! leaves, the script ends it, a limit is hit, or the server shuts down.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::stream::FuturesUnordered;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{mpsc, Mutex};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

use super::StreamLimits;
use crate::app::{App, LiveFrame, Outgoing, StreamMode, StreamPlan, INTERNAL_ERROR};
use crate::journal::{EntryKind, Record};
use crate::scenario::engine::pick_delay;
use crate::scenario::stream::MAX_CLOSE_REASON;
use crate::scenario::{Received, Step, StreamFault};
use crate::shutdown::ShutdownToken;

/// Client messages an `expect:` step has not taken yet; beyond this they are
/// logged and discarded rather than buffered without end.
const INBOX: usize = 16;

/// Bytes read from the socket at a time.
const READ_BUFFER: usize = 4096;

/// How long a closing server waits for the client's close frame.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// Close code for "going away": the server shuts down.
const GOING_AWAY: u16 = 1001;
/// Close code for "policy violation": the client sent what the script did not expect.
const POLICY_VIOLATION: u16 = 1008;
/// Close codes for a client that broke the protocol, sent text that is not
/// UTF-8, or sent a message larger than allowed.
const PROTOCOL_ERROR: u16 = 1002;
const INVALID_PAYLOAD: u16 = 1007;
const MESSAGE_TOO_BIG: u16 = 1009;

/// Why a stream ended, for the log line.
enum Ending {
    ClientClosed,
    /// The connection failed or ended without a close frame.
    Gone(String),
    /// The server sent a close frame (script, shutdown, a broken frame).
    Closed(u16),
    /// The server cut the connection without a close frame.
    Dropped(&'static str),
    /// The client broke the protocol or a limit: the server closes with this code.
    Refused(u16, String),
}

impl std::fmt::Display for Ending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ending::ClientClosed => f.write_str("the client closed"),
            Ending::Gone(why) => f.write_str(why),
            Ending::Closed(code) => write!(f, "closed with {code}"),
            Ending::Dropped(why) => f.write_str(why),
            Ending::Refused(code, why) => write!(f, "refused with {code}: {why}"),
        }
    }
}

type Sink<S> = SplitSink<WebSocketStream<S>, Message>;

/// One of a stream's concurrent parts: how it ends the stream, or `None`
/// for the server shutting down.
type Part<'a> = Pin<Box<dyn Future<Output = Option<Ending>> + Send + 'a>>;

/// The sending half, shared by the plan's driver and the pinger.
struct Outbox<S> {
    sink: Mutex<Sink<S>>,
    send_timeout: Duration,
    frames: AtomicU64,
    /// Under `--record`, each frame sent goes to the journal too (a
    /// recording replays it); `None` otherwise.
    recorder: Option<FrameRecorder>,
}

/// Journals a stream's frames, named as its journal entries name it.
struct FrameRecorder {
    app: Arc<App>,
    session: String,
    operation: String,
    target: String,
}

impl FrameRecorder {
    /// A frame the client (`EntryKind::Frame`) or the server (`EntryKind::ServerFrame`) sent.
    fn record(&self, kind: EntryKind, body: Bytes) {
        let (session, target, operation) = (self.session.as_str(), self.target.as_str(), self.operation.as_str());
        self.app
            .journal()
            .record(Record::frame(kind, session, target, operation, body));
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Outbox<S> {
    async fn send(&self, message: Message) -> Result<(), Ending> {
        let mut sink = self.sink.lock().await;
        match tokio::time::timeout(self.send_timeout, sink.send(message)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(Ending::Gone(error.to_string())),
            Err(_) => Err(Ending::Dropped(
                "slow reader: a frame was not taken within --ws-send-timeout",
            )),
        }
    }

    async fn frame(&self, frame: Outgoing) -> Result<(), Ending> {
        let sent = self.recorder.as_ref().map(|_| match &frame {
            Outgoing::Text(text) => Bytes::copy_from_slice(text.as_bytes()),
            Outgoing::Binary(bytes) => bytes.clone(),
        });
        self.send(to_message(frame)).await?;
        self.frames.fetch_add(1, Ordering::Relaxed);
        if let (Some(recorder), Some(sent)) = (&self.recorder, sent) {
            recorder.record(EntryKind::ServerFrame, sent);
        }
        Ok(())
    }

    /// Sends a close frame; the caller then waits for the client's.
    async fn close(&self, code: u16, reason: &str) -> Ending {
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: Utf8Bytes::from(clip(reason, MAX_CLOSE_REASON)),
        };
        match self.send(Message::Close(Some(frame))).await {
            Ok(()) => Ending::Closed(code),
            Err(ending) => ending,
        }
    }
}

/// Runs one stream to its end over an upgraded connection.
pub async fn run<S>(io: S, app: Arc<App>, plan: StreamPlan, limits: StreamLimits, mut shutdown: ShutdownToken)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let started = Instant::now();
    // tungstenite's 128 KiB default read buffer is most of an idle stream's
    // memory, and it is zero-filled on every poll: 4 KiB holds any control
    // frame and grows for larger messages.
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .max_message_size(Some(limits.max_message))
        .max_frame_size(Some(limits.max_message));
    let socket = WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await;
    let (sink, mut incoming) = socket.split();
    let recorder = || FrameRecorder {
        app: app.clone(),
        session: plan.session_id.clone(),
        operation: plan.operation_id.clone(),
        target: plan.target.clone(),
    };
    let outbox = Outbox {
        sink: Mutex::new(sink),
        send_timeout: limits.send_timeout,
        frames: AtomicU64::new(0),
        recorder: app.journal().tapes().map(|_| recorder()),
    };
    let client_frames = recorder();
    let answered_ping = AtomicBool::new(true);
    let received = AtomicU64::new(0);
    let scripted = matches!(plan.mode, StreamMode::Script(_));
    let (inbox_tx, inbox_rx) = mpsc::channel(INBOX);
    let operation = plan.operation_id.clone();
    let session = plan.session_id.clone();
    let mut plan = plan;

    let mut ending = {
        // Each part is polled only when its own waker fires (`select!` would
        // poll all four): a frame sent to a live stream of a busy session
        // does not also poll its reader, pinger and shutdown signal. Each is
        // made inside its box, so that no copy of it stays in this future.
        let inbox = scripted.then_some(&inbox_tx);
        let mut parts: FuturesUnordered<Part<'_>> = FuturesUnordered::new();
        parts.push(Box::pin(async {
            Some(read(&mut incoming, inbox, &answered_ping, &received, &client_frames).await)
        }));
        parts.push(Box::pin(async {
            Some(drive(&app, &mut plan, &outbox, inbox_rx, &limits).await)
        }));
        parts.push(Box::pin(async {
            Some(keep_alive(&outbox, &answered_ping, limits.ping_interval).await)
        }));
        parts.push(Box::pin(async {
            shutdown.signalled().await;
            None
        }));
        let first = parts.next().await.flatten();
        // The other parts go first: one may hold the sink a close needs.
        drop(parts);
        match first {
            Some(ending) => ending,
            None => outbox.close(GOING_AWAY, "server shutting down").await,
        }
    };
    if let Ending::Refused(code, reason) = &ending {
        let refused = format!("refused with {code}: {reason}");
        ending = match outbox.close(*code, reason).await {
            Ending::Closed(_) => Ending::Refused(*code, refused),
            other => other,
        };
        let _ = tokio::time::timeout(CLOSE_WAIT, async { while let Some(Ok(_)) = incoming.next().await {} }).await;
    }
    if matches!(ending, Ending::Closed(_)) {
        // The close handshake: wait (briefly) for the client's close frame.
        let _ = tokio::time::timeout(CLOSE_WAIT, async {
            while let Some(Ok(message)) = incoming.next().await {
                if matches!(message, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }
    if matches!(ending, Ending::ClientClosed) {
        // tungstenite queued the reply to the client's close frame: send it.
        let _ = tokio::time::timeout(CLOSE_WAIT, outbox.sink.lock().await.flush()).await;
    }
    tracing::info!(
        target: "specmock::stream",
        session = %session,
        operation = %operation,
        mode = if scripted { "script" } else { "live" },
        frames_sent = outbox.frames.load(Ordering::Relaxed),
        frames_received = received.load(Ordering::Relaxed),
        ending = %ending,
        duration_ms = started.elapsed().as_millis() as u64,
        "stream ended"
    );
}

/// Reads until the client closes or goes: pongs mark it alive, data frames
/// go to the journal, the log and the script's inbox (if a script may
/// expect them).
async fn read<S: AsyncRead + AsyncWrite + Unpin>(
    incoming: &mut SplitStream<WebSocketStream<S>>,
    inbox: Option<&mpsc::Sender<Message>>,
    answered_ping: &AtomicBool,
    received: &AtomicU64,
    client_frames: &FrameRecorder,
) -> Ending {
    let session = client_frames.session.as_str();
    while let Some(message) = incoming.next().await {
        let message = match message {
            Ok(message) => message,
            Err(error) => return refusal(error),
        };
        match &message {
            Message::Pong(_) => answered_ping.store(true, Ordering::Relaxed),
            Message::Close(_) => return Ending::ClientClosed,
            Message::Text(text) => {
                received.fetch_add(1, Ordering::Relaxed);
                tracing::info!(target: "specmock::frame", session, kind = "text", bytes = text.len(), text = %clip(text, 200), "client frame");
                client_frames.record(EntryKind::Frame, Bytes::copy_from_slice(text.as_bytes()));
            }
            Message::Binary(data) => {
                received.fetch_add(1, Ordering::Relaxed);
                tracing::info!(target: "specmock::frame", session, kind = "binary", bytes = data.len(), "client frame");
                client_frames.record(EntryKind::Frame, data.clone());
            }
            Message::Ping(_) | Message::Frame(_) => continue,
        }
        if let (Some(inbox), Message::Text(_) | Message::Binary(_)) = (inbox, &message) {
            if inbox.try_send(message).is_err() {
                tracing::warn!(target: "specmock::frame", session, "client frame discarded: no `expect` step took the previous {INBOX}");
            }
        }
    }
    Ending::Gone("the connection ended without a close frame".into())
}

/// What a read error means for the close: the client broke a limit or the
/// protocol (the server says so with a close frame), or the connection is gone.
fn refusal(error: tokio_tungstenite::tungstenite::Error) -> Ending {
    use tokio_tungstenite::tungstenite::error::ProtocolError;
    use tokio_tungstenite::tungstenite::Error;
    match error {
        Error::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
            Ending::Gone("the client left without a close frame".into())
        }
        Error::Capacity(error) => Ending::Refused(MESSAGE_TOO_BIG, format!("{error} (--ws-max-message)")),
        Error::Protocol(error) => Ending::Refused(PROTOCOL_ERROR, error.to_string()),
        Error::Utf8(error) => Ending::Refused(INVALID_PAYLOAD, format!("a text frame that is not UTF-8: {error}")),
        other => Ending::Gone(other.to_string()),
    }
}

/// Pings every `interval`; a client that has not answered the previous
/// ping by then is dropped.
async fn keep_alive<S: AsyncRead + AsyncWrite + Unpin>(
    outbox: &Outbox<S>,
    answered_ping: &AtomicBool,
    interval: Duration,
) -> Ending {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    loop {
        ticks.tick().await;
        if !answered_ping.swap(false, Ordering::Relaxed) {
            return Ending::Dropped("unresponsive: no pong since the last ping");
        }
        if let Err(ending) = outbox.send(Message::Ping(Bytes::new())).await {
            return ending;
        }
    }
}

/// Runs the plan; returns only when it ends the stream.
async fn drive<S: AsyncRead + AsyncWrite + Unpin + Send>(
    app: &App,
    plan: &mut StreamPlan,
    outbox: &Outbox<S>,
    inbox: mpsc::Receiver<Message>,
    limits: &StreamLimits,
) -> Ending {
    let ending = match &plan.mode {
        StreamMode::Live { first } => {
            let first = first.clone();
            live(app, plan, outbox, first).await
        }
        StreamMode::Script(script) => {
            let script = script.clone();
            let mut runner = Runner {
                app,
                plan,
                outbox,
                inbox,
                limits,
                last_text: None,
            };
            runner.steps(&script.steps).await.err()
        }
    };
    match ending {
        Some(ending) => ending,
        // A script that ends without `close` leaves the stream open: the
        // client decides when to leave.
        None => std::future::pending().await,
    }
}

/// Sends the first frame, then the operation's answer again whenever a call
/// changes the session (and the frame with it).
async fn live<S: AsyncRead + AsyncWrite + Unpin>(
    app: &App,
    plan: &mut StreamPlan,
    outbox: &Outbox<S>,
    first: Option<Outgoing>,
) -> Option<Ending> {
    let mut last = None;
    if let Some(frame) = first {
        if let Err(ending) = outbox.frame(frame.clone()).await {
            return Some(ending);
        }
        last = Some(frame);
    }
    // A reload that came during the handshake may have told the session's
    // streams before this one listened: then the frame is built again once.
    let mut reloaded = app.configuration().generation != plan.generation();
    loop {
        if !std::mem::take(&mut reloaded) {
            match plan.events.recv().await {
                Ok(event) if !event.changed => continue,
                // Behind: the session is read afresh anyway.
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return None,
            }
        }
        match app.live_frame(plan) {
            LiveFrame::Send(frame) if last.as_ref() != Some(&frame) => {
                if let Err(ending) = outbox.frame(frame.clone()).await {
                    return Some(ending);
                }
                last = Some(frame);
            }
            LiveFrame::Send(_) | LiveFrame::Nothing => {}
            LiveFrame::Close { code, reason } => return Some(outbox.close(code, &reason).await),
        }
    }
}

/// Runs a script's steps.
struct Runner<'a, S> {
    app: &'a App,
    plan: &'a mut StreamPlan,
    outbox: &'a Outbox<S>,
    inbox: mpsc::Receiver<Message>,
    limits: &'a StreamLimits,
    /// The last text frame sent: what `fault: malformed` breaks.
    last_text: Option<Utf8Bytes>,
}

type StepResult<'f> = Pin<Box<dyn Future<Output = Result<(), Ending>> + Send + 'f>>;

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Runner<'_, S> {
    /// `Err` ends the stream (a close, a fault, a failed send).
    fn steps<'f>(&'f mut self, steps: &'f [Step]) -> StepResult<'f> {
        Box::pin(async move {
            for step in steps {
                self.step(step).await?;
            }
            Ok(())
        })
    }

    async fn step(&mut self, step: &Step) -> Result<(), Ending> {
        match step {
            Step::Send(frame) => self.send(frame, None).await,
            Step::Wait(delay) => {
                tokio::time::sleep(pick_delay(*delay, self.app.next_entropy())).await;
                Ok(())
            }
            Step::On { operation, send } => loop {
                match self.plan.events.recv().await {
                    Ok(event) if event.operation.as_deref() == Some(self.plan.operation_of_script(*operation)) => {
                        if let Some(frame) = send {
                            self.send(frame, Some(&event)).await?;
                        }
                        return Ok(());
                    }
                    Ok(_) => {}
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(target: "specmock::stream", session = %self.plan.session_id, missed, "stream fell behind the session's calls; an `on:` step may miss one");
                    }
                    Err(RecvError::Closed) => return Err(Ending::Gone("the session is gone".into())),
                }
            },
            Step::Expect { expected, send } => {
                let Some(message) = self.inbox.recv().await else {
                    return Err(Ending::Gone("the client went away".into()));
                };
                let received = match &message {
                    Message::Text(text) => Received::Text(text.as_str()),
                    Message::Binary(data) => Received::Binary(data),
                    _ => Received::Binary(&[]),
                };
                if !expected.matches(received) {
                    let got = match received {
                        Received::Text(text) => format!("`{}`", clip(text, 40)),
                        Received::Binary(data) => format!("{} binary bytes", data.len()),
                    };
                    let reason = format!("expected {}, received {got}", expected.describe());
                    return Err(self.outbox.close(POLICY_VIOLATION, &reason).await);
                }
                match send {
                    Some(frame) => self.send(frame, None).await,
                    None => Ok(()),
                }
            }
            Step::Repeat { times, steps } => {
                let mut done = 0;
                while times.is_none_or(|times| done < times) {
                    self.steps(steps).await?;
                    done += 1;
                }
                Ok(())
            }
            Step::Close { code, reason } => Err(self.outbox.close(*code, reason).await),
            Step::Fault(StreamFault::Drop) => Err(Ending::Dropped("scripted fault: drop")),
            Step::Fault(StreamFault::Malformed) => {
                let frame = Outgoing::Text(malformed(self.last_text.as_ref()));
                self.outbox.frame(frame).await
            }
            Step::Fault(StreamFault::Oversize) => {
                let frame = Outgoing::Text(oversize(self.limits.max_message + 1));
                self.outbox.frame(frame).await
            }
        }
    }

    async fn send(
        &mut self,
        frame: &crate::scenario::Frame,
        event: Option<&crate::session::Event>,
    ) -> Result<(), Ending> {
        match self.app.script_frame(self.plan, frame, event) {
            Ok(frame) => {
                if let Outgoing::Text(text) = &frame {
                    self.last_text = Some(text.clone());
                }
                self.outbox.frame(frame).await
            }
            Err(problem) => Err(self.outbox.close(INTERNAL_ERROR, &problem).await),
        }
    }
}

fn to_message(frame: Outgoing) -> Message {
    match frame {
        Outgoing::Text(text) => Message::Text(text),
        Outgoing::Binary(bytes) => Message::Binary(bytes),
    }
}

/// The first half of the last text frame and a stray `<`: never valid JSON.
fn malformed(last: Option<&Utf8Bytes>) -> Utf8Bytes {
    let text = last.map_or("{\"malformed\": ", Utf8Bytes::as_str);
    let mut cut = text.len() / 2;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    Utf8Bytes::from(format!("{}<", &text[..cut]))
}

/// A JSON string `size` bytes long (at least the two quotes).
fn oversize(size: usize) -> Utf8Bytes {
    Utf8Bytes::from(format!("\"{}\"", "x".repeat(size.saturating_sub(2))))
}

/// At most `max` bytes of `text`, cut at a character boundary.
fn clip(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text[..cut].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_frames_are_never_json() {
        let last = Utf8Bytes::from_static(r#"{"id":"u1","name":"Ada"}"#);
        let broken = malformed(Some(&last));
        assert!(serde_json::from_str::<serde_json::Value>(&broken).is_err());
        assert!(serde_json::from_str::<serde_json::Value>(&malformed(None)).is_err());
        // Cut before the character that straddles the middle.
        let accented = Utf8Bytes::from_static("\"ééééé\"");
        assert_eq!(malformed(Some(&accented)), "\"éé<");
    }

    #[test]
    fn oversize_frames_have_the_requested_size() {
        assert_eq!(oversize(1025).len(), 1025);
    }

    #[test]
    fn clipping_respects_characters() {
        assert_eq!(clip("héllo", 2), "h");
        assert_eq!(clip("short", 10), "short");
    }
}
