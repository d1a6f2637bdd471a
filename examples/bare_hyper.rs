//! Bare hyper 1 baselines for `scripts/load.sh`, in one of two modes:
//!
//! - fixed bytes (`--body-file F --content-type CT`): every request gets status
//!   200 and the exact bytes of F; the limit of a server that does nothing.
//! - `--echo-json`: the request body is parsed into a `serde_json::Value` and
//!   written back (`serde_json::to_vec`), 200 `application/json`, or 400 if it
//!   is not JSON; the limit of a server that must at least read the JSON it
//!   is sent. This example is built against the crate's own `serde_json`,
//!   features `arbitrary_precision` and `preserve_order` included, so it
//!   parses and writes exactly the way specmock does.
//!
//! `cargo run --release --example bare_hyper -- --port 0 --body-file F --content-type CT`
//! `cargo run --release --example bare_hyper -- --port 0 --echo-json`
use std::{convert::Infallible, net::SocketAddr, sync::Arc};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{body::Incoming, header, server::conn::http1, service::service_fn, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

type Error = Box<dyn std::error::Error + Send + Sync>;

fn arg(args: &[String], name: &str) -> Option<String> {
    let i = args.iter().position(|a| a == name)?;
    args.get(i + 1).cloned()
}

/// What the server answers.
enum Mode {
    Fixed {
        body: Bytes,
        content_type: header::HeaderValue,
    },
    EchoJson,
}

impl Mode {
    fn from_args(args: &[String]) -> Result<Self, Error> {
        if args.iter().any(|a| a == "--echo-json") {
            return Ok(Mode::EchoJson);
        }
        let body_file = arg(args, "--body-file").ok_or("--body-file PATH (or --echo-json) is required")?;
        let content_type = arg(args, "--content-type").unwrap_or_else(|| "application/json".into());
        Ok(Mode::Fixed {
            body: Bytes::from(std::fs::read(&body_file).map_err(|e| format!("{body_file}: {e}"))?),
            content_type: header::HeaderValue::from_str(&content_type)?,
        })
    }

    async fn answer(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        // Both modes read the whole request body: keep-alive needs it consumed.
        let received = req.into_body().collect().await.map(|b| b.to_bytes());
        let (status, body, content_type) = match (self, received) {
            (Mode::Fixed { body, content_type }, _) => (StatusCode::OK, body.clone(), content_type.clone()),
            (Mode::EchoJson, Ok(received)) => echo_json(&received),
            (Mode::EchoJson, Err(e)) => plain(StatusCode::BAD_REQUEST, format!("reading the body: {e}")),
        };
        let mut resp = Response::new(Full::new(body));
        *resp.status_mut() = status;
        resp.headers_mut().insert(header::CONTENT_TYPE, content_type);
        resp
    }
}

fn echo_json(received: &[u8]) -> (StatusCode, Bytes, header::HeaderValue) {
    let written = serde_json::from_slice::<serde_json::Value>(received).and_then(|v| serde_json::to_vec(&v));
    match written {
        Ok(json) => (
            StatusCode::OK,
            Bytes::from(json),
            header::HeaderValue::from_static("application/json"),
        ),
        Err(e) => plain(StatusCode::BAD_REQUEST, format!("not JSON: {e}")),
    }
}

fn plain(status: StatusCode, text: String) -> (StatusCode, Bytes, header::HeaderValue) {
    (
        status,
        Bytes::from(text),
        header::HeaderValue::from_static("text/plain"),
    )
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = arg(&args, "--port").unwrap_or_else(|| "0".into()).parse()?;
    let mode = Arc::new(Mode::from_args(&args)?);

    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    println!("listening on http://{}", listener.local_addr()?);

    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let mode = mode.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req: Request<Incoming>| {
                let mode = mode.clone();
                async move { Ok::<_, Infallible>(mode.answer(req).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
