//! One connection to a real server, plain or TLS: what `--upstream` and
//! `verify --against` open, so both speak https the same way. TLS is rustls
//! with the system's roots, plus a CA file for a self-signed test server.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Full, Limited};

use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::handshake::client::generate_key;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;

use crate::poison_tolerant::lock;
use crate::provider::target::Target;

/// A connection either way: hyper and tungstenite take it as it is.
pub trait Connection: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Connection for T {}

/// How to open a connection to one server.
#[derive(Clone)]
pub struct Connector {
    tls: Option<(TlsConnector, ServerName<'static>)>,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector").field("tls", &self.tls.is_some()).finish()
    }
}

impl Connector {
    pub fn plain() -> Self {
        Self { tls: None }
    }

    /// TLS to `host` (a name or an IP address), trusting the system's
    /// roots and the certificates of `ca` (a PEM file).
    pub fn tls(host: &str, ca: Option<&Path>) -> Result<Self, String> {
        let mut roots = RootCertStore::empty();
        // A system without a readable store still trusts --upstream-ca.
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        if let Some(ca) = ca {
            let certificates: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(ca)
                .and_then(|found| found.collect::<Result<_, _>>())
                .map_err(|e| format!("cannot read the CA certificates of {}: {e}", ca.display()))?;
            if certificates.is_empty() {
                return Err(format!(
                    "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                    ca.display()
                ));
            }
            for certificate in certificates {
                roots
                    .add(certificate)
                    .map_err(|e| format!("{}: a certificate rustls cannot use: {e}", ca.display()))?;
            }
        }
        // ring is the one provider built in, so the builder picks it.
        let mut config = ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();
        // The client half of specmock speaks HTTP/1.1 only.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let name =
            ServerName::try_from(bare.to_string()).map_err(|e| format!("`{host}` is no TLS server name: {e}"))?;
        Ok(Self {
            tls: Some((TlsConnector::from(Arc::new(config)), name)),
        })
    }

    /// A TCP connection to `address`, with the TLS handshake done when https.
    pub async fn open(&self, address: SocketAddr) -> Result<Box<dyn Connection>, String> {
        let stream = TcpStream::connect(address)
            .await
            .map_err(|e| format!("cannot connect to {address}: {e}"))?;
        let _ = stream.set_nodelay(true);
        match &self.tls {
            None => Ok(Box::new(stream)),
            Some((connector, name)) => connector
                .connect(name.clone(), stream)
                .await
                .map(|tls| Box::new(tls) as Box<dyn Connection>)
                .map_err(|e| format!("the TLS handshake with {address} failed: {e}")),
        }
    }
}

/// Why an exchange brought back no answer.
#[derive(Debug)]
pub enum ExchangeError {
    /// The answer's body passed the limit.
    TooLarge { status: u16, limit: usize },
    /// No connection, no handshake, or the connection ended mid-answer.
    Failed(String),
}

impl Connector {
    /// Sends `request` on a connection of its own and reads the whole
    /// answer, its body up to `max_body` bytes.
    pub async fn exchange(
        &self,
        address: SocketAddr,
        request: Request<Full<Bytes>>,
        max_body: usize,
    ) -> Result<(http::response::Parts, Bytes), ExchangeError> {
        let stream = self.open(address).await.map_err(ExchangeError::Failed)?;
        let response = handshake(stream)
            .await?
            .send_request(request)
            .await
            .map_err(|e| ExchangeError::Failed(with_causes(&e)))?;
        collect(response, max_body).await
    }
}

/// Idle connections kept per upstream: as many as the benchmark's nginx keeps.
const MAX_IDLE: usize = 64;
/// An idle connection older than this is closed rather than reused: well
/// under most servers' keep-alive timeouts, so a reused one is rarely one
/// the server is closing.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

/// The connections to one upstream: its addresses, looked up once (again
/// only when none of them answers), the one that last worked tried first;
/// and the HTTP/1.1 connections left idle by earlier exchanges, reused
/// most recent first.
pub struct Pool {
    connector: Connector,
    target: Target,
    addresses: Mutex<Vec<SocketAddr>>,
    idle: Arc<Mutex<Vec<(Sender, Instant)>>>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").field("target", &self.target.url).finish()
    }
}

impl Pool {
    pub fn new(connector: Connector, target: Target) -> Self {
        Self {
            connector,
            target,
            addresses: Mutex::new(Vec::new()),
            idle: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// A new connection: each address in turn until one connects.
    pub async fn dial(&self) -> Result<Box<dyn Connection>, String> {
        let known = lock(&self.addresses).clone();
        let addresses = match known.is_empty() {
            true => self.target.lookup().await?,
            false => known,
        };
        let mut failures = Vec::new();
        for (at, address) in addresses.iter().enumerate() {
            match self.connector.open(*address).await {
                Ok(stream) => {
                    let mut preferred = addresses.clone();
                    preferred[..=at].rotate_right(1);
                    *lock(&self.addresses) = preferred;
                    return Ok(stream);
                }
                Err(why) => failures.push(why),
            }
        }
        // The name may point elsewhere by the next exchange.
        lock(&self.addresses).clear();
        Err(failures.join("; "))
    }

    /// Sends `request` on an idle connection, or a new one when none is
    /// left or the idle one was closed before it took the request, and
    /// reads the whole answer, its body up to `max_body` bytes.
    pub async fn exchange(
        &self,
        mut request: Request<Full<Bytes>>,
        max_body: usize,
    ) -> Result<(http::response::Parts, Bytes), ExchangeError> {
        while let Some(mut sender) = self.checkout() {
            match sender.try_send_request(request).await {
                Ok(response) => return self.read(sender, response, max_body).await,
                Err(mut failed) => match failed.take_message() {
                    Some(unsent) => request = unsent,
                    None => return Err(ExchangeError::Failed(with_causes(failed.error()))),
                },
            }
        }
        let stream = self.dial().await.map_err(ExchangeError::Failed)?;
        let mut sender = handshake(stream).await?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| ExchangeError::Failed(with_causes(&e)))?;
        self.read(sender, response, max_body).await
    }

    fn checkout(&self) -> Option<Sender> {
        let mut idle = lock(&self.idle);
        while let Some((sender, since)) = idle.pop() {
            if since.elapsed() < IDLE_TIMEOUT && sender.is_ready() {
                return Some(sender);
            }
        }
        None
    }

    /// The answer read whole; its connection back among the idle ones once
    /// it can take another request (never, if the server closes it).
    async fn read(
        &self,
        mut sender: Sender,
        response: http::Response<hyper::body::Incoming>,
        max_body: usize,
    ) -> Result<(http::response::Parts, Bytes), ExchangeError> {
        let read = collect(response, max_body).await?;
        let idle = self.idle.clone();
        tokio::spawn(async move {
            if tokio::time::timeout(IDLE_TIMEOUT, sender.ready())
                .await
                .is_ok_and(|ready| ready.is_ok())
            {
                let mut idle = lock(&idle);
                if idle.len() < MAX_IDLE {
                    idle.push((sender, Instant::now()));
                }
            }
        });
        Ok(read)
    }
}

/// HTTP/1.1 on `stream`, the connection driven by a task of its own that
/// ends when its last sender is dropped or the server closes it.
async fn handshake(stream: Box<dyn Connection>) -> Result<Sender, ExchangeError> {
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| ExchangeError::Failed(format!("cannot start HTTP/1.1: {}", with_causes(&e))))?;
    tokio::spawn(async move {
        let _ = connection.with_upgrades().await;
    });
    Ok(sender)
}

/// The whole answer, its body up to `max_body` bytes.
async fn collect(
    response: http::Response<hyper::body::Incoming>,
    max_body: usize,
) -> Result<(http::response::Parts, Bytes), ExchangeError> {
    let (parts, body) = response.into_parts();
    let status = parts.status.as_u16();
    match Limited::new(body, max_body).collect().await {
        Ok(collected) => Ok((parts, collected.to_bytes())),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => Err(ExchangeError::TooLarge {
            status,
            limit: max_body,
        }),
        Err(error) => Err(ExchangeError::Failed(format!(
            "the body of the {status} answer could not be read: {}",
            with_causes(error.as_ref())
        ))),
    }
}

/// What a server made of a WebSocket handshake.
pub enum Upgrade {
    /// 101: the stream, and the 101's headers.
    Accepted(Box<WebSocketStream<TokioIo<Upgraded>>>, http::HeaderMap),
    /// Any other answer, read whole like any answer (its framing undone,
    /// its body up to the limit).
    Answered(http::response::Parts, Bytes),
}

/// Sends the WebSocket handshake `request` (a GET with the caller's
/// headers, `Host` among them; the handshake's own are added here) on
/// `stream`. hyper reads the answer, so one that is not 101 is an ordinary
/// answer; a 101 hands the connection to tungstenite with `config`.
pub async fn websocket(
    stream: Box<dyn Connection>,
    mut request: Request<Full<Bytes>>,
    config: WebSocketConfig,
    max_body: usize,
) -> Result<Upgrade, ExchangeError> {
    let key = generate_key();
    let headers = request.headers_mut();
    headers.insert(http::header::UPGRADE, http::HeaderValue::from_static("websocket"));
    headers.insert(http::header::CONNECTION, http::HeaderValue::from_static("Upgrade"));
    headers.insert(
        http::header::SEC_WEBSOCKET_VERSION,
        http::HeaderValue::from_static("13"),
    );
    headers.insert(
        http::header::SEC_WEBSOCKET_KEY,
        http::HeaderValue::from_str(&key).expect("a base64 key is a header value"),
    );
    let response = handshake(stream)
        .await?
        .send_request(request)
        .await
        .map_err(|e| ExchangeError::Failed(with_causes(&e)))?;
    if response.status() != http::StatusCode::SWITCHING_PROTOCOLS {
        return collect(response, max_body)
            .await
            .map(|(parts, body)| Upgrade::Answered(parts, body));
    }
    let accepted = response.headers().get(http::header::SEC_WEBSOCKET_ACCEPT);
    if accepted.map(|value| value.as_bytes()) != Some(derive_accept_key(key.as_bytes()).as_bytes()) {
        return Err(ExchangeError::Failed(
            "the 101 answer's Sec-WebSocket-Accept does not match the key sent".into(),
        ));
    }
    let headers = response.headers().clone();
    let upgraded = hyper::upgrade::on(response)
        .await
        .map_err(|e| ExchangeError::Failed(format!("the upgrade did not complete: {}", with_causes(&e))))?;
    let socket = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Client, Some(config)).await;
    Ok(Upgrade::Accepted(Box::new(socket), headers))
}

/// `error reading a body from connection: unexpected end of file`: hyper's
/// errors say what failed, their sources why.
pub fn with_causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn each_address_is_tried_in_turn_and_the_one_that_worked_first_next_time() {
        let live = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let dead = {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            listener.local_addr().unwrap()
        };
        let live = live.local_addr().unwrap();
        let target = Target::parse(&format!("http://localhost:{}", live.port())).unwrap();
        let pool = Pool::new(Connector::plain(), target);
        *lock(&pool.addresses) = vec![dead, live];
        assert!(pool.dial().await.is_ok());
        assert_eq!(*lock(&pool.addresses), [live, dead]);
        *lock(&pool.addresses) = vec![dead];
        let failed = pool.dial().await.err().expect("no address listens");
        assert!(failed.contains(&format!("cannot connect to {dead}")), "{failed}");
        assert!(lock(&pool.addresses).is_empty(), "looked up again next time");
    }
}
