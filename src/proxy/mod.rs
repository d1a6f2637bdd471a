//! `--upstream URL`: the network half of the validating proxy. The core
//! (`app/relay.rs`) decides that a request goes upstream and judges what
//! comes back; this module sends it and brings the answer back as plain
//! data. It owns the only HTTP client code, which `verify` uses too.

mod connect;
mod encoding;
mod headers;
mod stream;

pub use connect::{Connector, ExchangeError, Pool};
pub use encoding::{decoded, Decoded};
pub use headers::{end_to_end, upstream_query, upstream_request};
pub use stream::{relay, Handshake, Relayed};

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use http::request::Parts;
use http::Request;
use http_body_util::Full;

use crate::provider::client::Answer;
use crate::provider::target::Target;

/// The real server behind the mock.
#[derive(Debug)]
pub struct Upstream {
    target: Target,
    pool: Pool,
    /// The whole exchange (connect, send, the answer read) within this.
    timeout: Duration,
}

/// Why a forwarded request brought back no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// No connection, a failed handshake, a dropped connection, an answer
    /// too large: what went wrong.
    Unreachable(String),
    /// No complete answer within `--upstream-timeout`.
    Timeout(Duration),
}

impl Upstream {
    /// `--upstream URL`, `--upstream-ca FILE`, `--upstream-timeout`: checked
    /// at start-up (the URL, the CA file), not at the first request.
    pub fn new(url: &str, ca: Option<&Path>, timeout: Duration) -> Result<Self, String> {
        let target = Target::parse_flag(url, "--upstream")?;
        if ca.is_some() && !target.https {
            return Err(format!("--upstream-ca is for an https upstream; --upstream is {url}"));
        }
        let pool = Pool::new(target.connector(ca)?, target.clone());
        Ok(Self { target, pool, timeout })
    }

    /// The upstream's base URL, as given: named in problems and logs when it fails.
    pub fn url(&self) -> &str {
        &self.target.url
    }

    /// Sends the request (its head as the client sent it, filtered, its
    /// path `path`) and reads the answer, each body within `max_body` bytes.
    pub async fn forward(&self, parts: &Parts, path: &str, body: Bytes, max_body: usize) -> Result<Answer, Failure> {
        self.within(async {
            let request = self.request(parts, path, body)?;
            let (parts, body) = self.pool.exchange(request, max_body).await.map_err(failure)?;
            Ok(relayed(&parts, body))
        })
        .await
    }

    /// `exchange`'s outcome, or a timeout once `--upstream-timeout` passes.
    async fn within<T>(&self, exchange: impl std::future::Future<Output = Result<T, Failure>>) -> Result<T, Failure> {
        tokio::time::timeout(self.timeout, exchange)
            .await
            .unwrap_or(Err(Failure::Timeout(self.timeout)))
    }

    /// The request as it goes upstream: the URL's base path and the path,
    /// the query and headers filtered, `Host` naming the upstream.
    fn request(&self, parts: &Parts, path: &str, body: Bytes) -> Result<Request<Full<Bytes>>, Failure> {
        let query = upstream_query(parts.uri.query().unwrap_or(""));
        let target = match query.is_empty() {
            true => format!("{}{path}", self.target.base),
            false => format!("{}{path}?{query}", self.target.base),
        };
        let mut request = Request::builder()
            .method(parts.method.clone())
            .uri(target)
            .body(Full::new(body))
            .map_err(|e| Failure::Unreachable(format!("cannot build the upstream request: {e}")))?;
        *request.headers_mut() = upstream_request(&parts.headers, &self.target.authority);
        Ok(request)
    }
}

/// The upstream's answer as the client gets it: hop-by-hop headers left behind.
fn relayed(parts: &http::response::Parts, body: Bytes) -> Answer {
    Answer {
        status: parts.status.as_u16(),
        headers: end_to_end(&parts.headers),
        body,
    }
}

/// An exchange that brought back no answer, as the client is told.
fn failure(error: ExchangeError) -> Failure {
    match error {
        ExchangeError::TooLarge { status, limit } => Failure::Unreachable(format!(
            "the upstream's {status} answer is larger than --max-body ({limit} bytes)"
        )),
        ExchangeError::Failed(why) => Failure::Unreachable(why),
    }
}
