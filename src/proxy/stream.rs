//! A WebSocket stream relayed to `--upstream`: the handshake sent on (the
//! client's headers less hop-by-hop and controls, tungstenite's own key),
//! then every frame passed both ways, each side's data frames journaled and
//! the upstream's judged against the stream's message schema.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use http::header::{
    HeaderMap, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_EXTENSIONS, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION,
};
use http::request::Parts;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

use super::connect::{websocket, Upgrade};
use super::{end_to_end, failure, relayed, Failure, Upstream};
use crate::app::{App, Forward};
use crate::journal::{EntryKind, Origin, Record};
use crate::provider::client::Answer;
use crate::provider::conformance::DataFrame;
use crate::shutdown::ShutdownToken;
use crate::validate::Violation;
use crate::websocket::StreamLimits;

/// What the upstream made of a handshake.
pub enum Handshake {
    /// 101: the stream, ready to relay, and the 101's headers the client's
    /// 101 carries too (`Sec-WebSocket-Protocol`, `Set-Cookie` ...).
    Accepted(Box<WebSocketStream<TokioIo<Upgraded>>>, HeaderMap),
    /// Any other answer, relayed as it is.
    Answered(Answer),
}

impl Upstream {
    /// Sends the client's handshake on (its headers as any request's, its
    /// subprotocols but not its extensions, which the relay does not
    /// speak), within `--upstream-timeout`.
    pub async fn open_stream(
        &self,
        parts: &Parts,
        path: &str,
        max_message: usize,
        max_body: usize,
    ) -> Result<Handshake, Failure> {
        let handshake = async {
            let mut request = self.request(parts, path, Bytes::new())?;
            for name in [
                SEC_WEBSOCKET_KEY,
                SEC_WEBSOCKET_VERSION,
                SEC_WEBSOCKET_EXTENSIONS,
                SEC_WEBSOCKET_ACCEPT,
            ] {
                request.headers_mut().remove(name);
            }
            let stream = self.pool.dial().await.map_err(Failure::Unreachable)?;
            let config = WebSocketConfig::default()
                .max_message_size(Some(max_message))
                .max_frame_size(Some(max_message));
            match websocket(stream, request, config, max_body).await.map_err(failure)? {
                Upgrade::Accepted(socket, headers) => {
                    let mut passed = end_to_end(&headers);
                    passed.remove(SEC_WEBSOCKET_ACCEPT);
                    Ok(Handshake::Accepted(socket, passed))
                }
                Upgrade::Answered(parts, body) => Ok(Handshake::Answered(relayed(&parts, body))),
            }
        };
        self.within(handshake).await
    }
}

/// Whose stream it is, for the journal.
pub struct Relayed {
    pub app: Arc<App>,
    pub forward: Forward,
    pub session: String,
    pub operation: String,
    pub target: String,
}

/// How long a closing side waits for the other's close frame.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// Passes frames both ways until either side closes or goes, or takes no
/// frame within `--ws-send-timeout`, or the server shuts down (both are
/// then closed with 1001).
pub async fn relay<C, U>(
    client: C,
    upstream: WebSocketStream<U>,
    relayed: Relayed,
    limits: StreamLimits,
    mut shutdown: ShutdownToken,
) where
    C: AsyncRead + AsyncWrite + Unpin,
    U: AsyncRead + AsyncWrite + Unpin,
{
    let config = WebSocketConfig::default()
        .max_message_size(Some(limits.max_message))
        .max_frame_size(Some(limits.max_message));
    let client = WebSocketStream::from_raw_socket(client, Role::Server, Some(config)).await;
    let (mut to_client, mut from_client) = client.split();
    let (mut to_upstream, mut from_upstream) = upstream.split();
    loop {
        tokio::select! {
            message = from_client.next() => match message {
                Some(Ok(message)) if is_data(&message) => {
                    relayed.record(&message, Vec::new(), None);
                    if !sent(limits.send_timeout, to_upstream.send(message)).await {
                        break;
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    pass_close(frame, &mut to_client, &mut to_upstream, &mut from_upstream).await;
                    break;
                }
                // Each side answers its own pings.
                Some(Ok(_)) => {}
                Some(Err(_)) | None => {
                    let _ = tokio::time::timeout(CLOSE_WAIT, to_upstream.close()).await;
                    break;
                }
            },
            message = from_upstream.next() => match message {
                Some(Ok(message)) if is_data(&message) => {
                    let violations = match &message {
                        Message::Text(text) => relayed.forward.frame_violations(DataFrame::Text(text.as_str())),
                        other => relayed.forward.frame_violations(DataFrame::Binary(other.len())),
                    };
                    relayed.record(&message, violations, Some(Origin::Upstream));
                    if !sent(limits.send_timeout, to_client.send(message)).await {
                        break;
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    pass_close(frame, &mut to_upstream, &mut to_client, &mut from_client).await;
                    break;
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => {
                    let _ = tokio::time::timeout(CLOSE_WAIT, to_client.close()).await;
                    break;
                }
            },
            _ = shutdown.signalled() => {
                let going_away = || Message::Close(Some(CloseFrame { code: CloseCode::Away, reason: "specmock is shutting down".into() }));
                let _ = tokio::time::timeout(CLOSE_WAIT, to_client.send(going_away())).await;
                let _ = tokio::time::timeout(CLOSE_WAIT, to_upstream.send(going_away())).await;
                break;
            }
        }
    }
}

/// One side's close goes on to the other, and both handshakes complete
/// (within [`CLOSE_WAIT`]): the closer gets the echo tungstenite queued on
/// reading its close (sent by a flush), and the other side's own close is
/// read, so neither side sees the connection drop without one (1006).
async fn pass_close<A, B, R>(frame: Option<CloseFrame>, closer: &mut A, other: &mut B, from_other: &mut R)
where
    A: Sink<Message, Error = WsError> + Unpin,
    B: Sink<Message, Error = WsError> + Unpin,
    R: Stream<Item = Result<Message, WsError>> + Unpin,
{
    let handshakes = async {
        let _ = other.send(Message::Close(frame)).await;
        let _ = closer.flush().await;
        while let Some(Ok(message)) = from_other.next().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(CLOSE_WAIT, handshakes).await;
}

/// Whether a frame was taken within `timeout`: a side that does not take
/// one in time is given up on, like a slow reader of the mock's own streams.
async fn sent(timeout: Duration, sending: impl std::future::Future<Output = Result<(), WsError>>) -> bool {
    matches!(tokio::time::timeout(timeout, sending).await, Ok(Ok(())))
}

fn is_data(message: &Message) -> bool {
    matches!(message, Message::Text(_) | Message::Binary(_))
}

impl Relayed {
    /// A data frame in the journal, as the mock's own streams journal
    /// theirs (so that a recording replays it): the client's as kind
    /// `frame`, the upstream's as `server-frame` with `origin: upstream`
    /// and the provider's violations.
    fn record(&self, message: &Message, violations: Vec<Violation>, origin: Option<Origin>) {
        let kind = match origin {
            None => EntryKind::Frame,
            Some(_) => EntryKind::ServerFrame,
        };
        let body = Bytes::copy_from_slice(&message.clone().into_data());
        let (session, target, operation) = (self.session.as_str(), self.target.as_str(), self.operation.as_str());
        self.app.journal().record(Record {
            violations,
            origin,
            ..Record::frame(kind, session, target, operation, body)
        });
    }
}
