//! Sending one probe and bringing back what came back, as plain data: the
//! only part of `verify` that touches the network. One TCP connection per
//! request, so a server that misbehaves on one cannot spoil the next.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use http::{HeaderMap, Request};
use http_body_util::Full;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::plan::Probe;
use super::target::Target;
use crate::proxy::{Connector, ExchangeError};

/// Larger response bodies are not read: a contract test needs no more, and
/// a runaway server must not exhaust memory.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// What the server did with one probe.
#[derive(Debug)]
pub enum Received {
    Response(Answer),
    /// A WebSocket handshake answered 101, then this.
    Stream(FirstFrame),
    /// No complete answer: why.
    Failed(String),
}

#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// The first data message of a stream, or what came instead.
#[derive(Debug)]
pub enum FirstFrame {
    Text(String),
    Binary(Bytes),
    /// A close frame (code and reason) or the end of the connection.
    Closed(String),
    /// Nothing within this long.
    Silent(Duration),
}

pub async fn send(
    target: &Target,
    connector: &Connector,
    address: SocketAddr,
    probe: &Probe,
    timeout: Duration,
) -> Received {
    let received = match probe.websocket {
        true => websocket(target, connector, address, probe, timeout).await,
        false => within(timeout, http(target, connector, address, probe))
            .await
            .map(Received::Response),
    };
    received.unwrap_or_else(Received::Failed)
}

async fn within<T>(timeout: Duration, work: impl Future<Output = Result<T, String>>) -> Result<T, String> {
    tokio::time::timeout(timeout, work)
        .await
        .unwrap_or_else(|_| Err(format!("no complete answer within {} s", timeout.as_secs())))
}

async fn http(target: &Target, connector: &Connector, address: SocketAddr, probe: &Probe) -> Result<Answer, String> {
    let mut request = Request::builder()
        .method(probe.method.clone())
        .uri(format!("{}{}", target.base, probe.target))
        .body(Full::new(probe.body.clone()))
        .map_err(|e| format!("cannot build the request: {e}"))?;
    *request.headers_mut() = probe.headers.clone();
    if let Ok(host) = target.authority.parse() {
        request.headers_mut().insert(http::header::HOST, host);
    }
    match connector.exchange(address, request, MAX_BODY).await {
        Ok((parts, body)) => Ok(Answer {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        }),
        Err(ExchangeError::TooLarge { status, limit }) => Err(format!(
            "the body of the {status} answer could not be read: length limit exceeded ({limit} bytes)"
        )),
        Err(ExchangeError::Failed(why)) => Err(why),
    }
}

/// The handshake within `timeout`, then the first data message within
/// `timeout` of the 101. A refused handshake is an ordinary answer, checked
/// like any other.
async fn websocket(
    target: &Target,
    connector: &Connector,
    address: SocketAddr,
    probe: &Probe,
    timeout: Duration,
) -> Result<Received, String> {
    let mut request = format!("ws://{}{}{}", target.authority, target.base, probe.target)
        .into_client_request()
        .map_err(|e| format!("cannot build the WebSocket handshake: {e}"))?;
    request.headers_mut().extend(probe.headers.clone());
    let handshake = async {
        let stream = connector.open(address).await?;
        Ok(tokio_tungstenite::client_async(request, stream).await)
    };
    let mut socket = match within(timeout, handshake).await? {
        Ok((socket, _)) => socket,
        Err(WsError::Http(response)) => {
            let (parts, body) = response.into_parts();
            return Ok(Received::Response(Answer {
                status: parts.status.as_u16(),
                headers: parts.headers,
                body: body.map(Bytes::from).unwrap_or_default(),
            }));
        }
        Err(error) => return Err(format!("the WebSocket handshake failed: {error}")),
    };
    let first = async {
        loop {
            return match socket.next().await {
                Some(Ok(Message::Text(text))) => FirstFrame::Text(text.as_str().to_string()),
                Some(Ok(Message::Binary(bytes))) => FirstFrame::Binary(bytes),
                Some(Ok(Message::Close(Some(close)))) => {
                    FirstFrame::Closed(format!("close frame {}: {}", u16::from(close.code), close.reason))
                }
                Some(Ok(Message::Close(None))) => FirstFrame::Closed("a close frame".into()),
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
                Some(Err(error)) => FirstFrame::Closed(error.to_string()),
                None => FirstFrame::Closed("the connection ended".into()),
            };
        }
    };
    let first = tokio::time::timeout(timeout, first)
        .await
        .unwrap_or(FirstFrame::Silent(timeout));
    // Best effort: a polite close, without waiting long for the server's.
    let _ = tokio::time::timeout(Duration::from_millis(200), socket.close(None)).await;
    Ok(Received::Stream(first))
}
