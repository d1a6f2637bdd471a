//! One connection to a real server, plain or TLS: what `--upstream` and
//! `verify --against` open, so both speak https the same way. TLS is rustls
//! with the system's roots, plus a CA file for a self-signed test server.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

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
        request: http::Request<http_body_util::Full<bytes::Bytes>>,
        max_body: usize,
    ) -> Result<(http::response::Parts, bytes::Bytes), ExchangeError> {
        use http_body_util::{BodyExt, Limited};
        let stream = self.open(address).await.map_err(ExchangeError::Failed)?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| ExchangeError::Failed(format!("cannot start HTTP/1.1: {}", with_causes(&e))))?;
        // Drives the connection; it ends when the answer is read or dropped.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| ExchangeError::Failed(with_causes(&e)))?;
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
