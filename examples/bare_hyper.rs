//! Bare hyper 1 baseline for `scripts/load.sh`: answers every request with
//! status 200 and the exact bytes of `--body-file`, with `--content-type`.
//!
//! `cargo run --release --example bare_hyper -- --port 0 --body-file F --content-type CT`
use std::{convert::Infallible, net::SocketAddr};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{body::Incoming, header, server::conn::http1, service::service_fn, Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

fn arg(args: &[String], name: &str) -> Option<String> {
    let i = args.iter().position(|a| a == name)?;
    args.get(i + 1).cloned()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = arg(&args, "--port").unwrap_or_else(|| "0".into()).parse()?;
    let body_file = arg(&args, "--body-file").ok_or("--body-file PATH is required")?;
    let content_type = arg(&args, "--content-type").unwrap_or_else(|| "application/json".into());
    let body = Bytes::from(std::fs::read(&body_file)?);
    let content_type = header::HeaderValue::from_str(&content_type)?;

    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    println!("listening on http://{}", listener.local_addr()?);

    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let (body, content_type) = (body.clone(), content_type.clone());
        tokio::spawn(async move {
            let service = service_fn(move |req: Request<Incoming>| {
                let (body, content_type) = (body.clone(), content_type.clone());
                async move {
                    // Read and discard the request body so keep-alive works.
                    let _ = req.into_body().collect().await;
                    let mut resp = Response::new(Full::new(body));
                    resp.headers_mut().insert(header::CONTENT_TYPE, content_type);
                    Ok::<_, Infallible>(resp)
                }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
