//! WebSocket fan-out load generator for `scripts/fanout.sh`: opens live
//! `/user/stream` subscribers on a running specmock and times how long a
//! `POST /user/update` takes to reach them.
//!
//! - A: N subscribers, each in its own session. Updates in sampled sessions, one
//!   at a time, each timed from the POST to that session's frame.
//! - B: N subscribers in one session. One update per round, timed from the POST
//!   to each subscriber's frame; a round's p50/p99/max are over subscribers.
//!
//! With `--pid`, the server's RSS is read before and after the streams open.
//!
//! `cargo run --release --example ws_fanout -- --addr 127.0.0.1:PORT [--subscribers 1000]
//!  [--rounds 5] [--samples 100] [--concurrency 100] [--pid PID]`
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{stream, StreamExt, TryStreamExt};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{header, Request};
use hyper_util::rt::TokioIo;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// A frame that may never come (a dropped stream) must not hang the run.
const FRAME_TIMEOUT: Duration = Duration::from_secs(10);

/// Lets the last handshakes' transient buffers go before the streams count as idle.
const SETTLE: Duration = Duration::from_secs(1);

fn arg(args: &[String], name: &str) -> Option<String> {
    let i = args.iter().position(|a| a == name)?;
    args.get(i + 1).cloned()
}

fn parsed<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> Result<T, Error> {
    match arg(args, name) {
        Some(text) => text
            .parse()
            .map_err(|_| format!("{name}: cannot parse `{text}`").into()),
        None => Ok(default),
    }
}

/// A frame as a subscriber saw it; stamped in the subscriber's own task so
/// the collector's scheduling does not count.
struct Arrival {
    subscriber: usize,
    at: Instant,
    text: Utf8Bytes,
}

/// tungstenite zero-fills its whole read buffer (128 KiB by default) on every
/// poll of the stream: with 1,000 readers on two shared cores that memset was
/// a quarter of this client's CPU, delaying the very frames being timed. A
/// frame here is ~13 KiB; bigger ones still fit (the buffer grows per frame).
fn client_config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(16 * 1024)
}

/// Opens one live stream and keeps reading it in its own task. Returns the
/// first frame (the session's current user).
async fn subscribe(
    addr: &str,
    session: String,
    subscriber: usize,
    to: mpsc::UnboundedSender<Arrival>,
) -> Result<String, Error> {
    let url = format!("ws://{addr}/user/stream?__session={session}");
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(client_config()), true).await?;
    let first = match ws.next().await {
        Some(Ok(Message::Text(text))) => text.to_string(),
        other => return Err(format!("{session}: expected the user as a first text frame, got {other:?}").into()),
    };
    tokio::spawn(async move {
        // Reading also answers the server's pings, which keeps idle streams open.
        while let Some(Ok(message)) = ws.next().await {
            if let Message::Text(text) = message {
                let at = Instant::now();
                if to.send(Arrival { subscriber, at, text }).is_err() {
                    break;
                }
            }
        }
    });
    Ok(first)
}

/// Opens `n` streams, `concurrency` handshakes at a time (an unbounded burst
/// would overflow the listen backlog and measure SYN retries instead).
async fn open(
    addr: &str,
    n: usize,
    concurrency: usize,
    session: impl Fn(usize) -> String,
    to: &mpsc::UnboundedSender<Arrival>,
) -> Result<String, Error> {
    let first = stream::iter(0..n)
        .map(|i| subscribe(addr, session(i), i, to.clone()))
        .buffer_unordered(concurrency)
        .try_fold(
            None,
            |kept: Option<String>, first| async move { Ok(kept.or(Some(first))) },
        )
        .await?;
    first.ok_or_else(|| "no subscriber".into())
}

/// One keep-alive HTTP/1.1 connection for the updates.
struct Poster {
    addr: String,
    sender: SendRequest<Full<Bytes>>,
}

impl Poster {
    async fn connect(addr: &str) -> Result<Self, Error> {
        let tcp = tokio::net::TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(tcp)).await?;
        tokio::spawn(connection);
        let mut poster = Self {
            addr: addr.to_string(),
            sender,
        };
        poster.sender.ready().await?;
        Ok(poster)
    }

    async fn update(&mut self, session: &str, body: Bytes) -> Result<(), Error> {
        let request = Request::post("/user/update")
            .header(header::HOST, &self.addr)
            .header(header::CONTENT_TYPE, "application/json")
            .header("x-mock-session", session)
            .body(Full::new(body))?;
        let response = self.sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        if !status.is_success() {
            let body = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
            return Err(format!("POST /user/update in {session}: {status}: {body}").into());
        }
        // The connection task sees the exchange end only later; a request sent
        // before then is refused ("connection was not ready"). Waiting here
        // keeps that wait out of the next update's timing.
        self.sender.ready().await?;
        Ok(())
    }
}

/// The user of `template` with `vanityname` set to `marker`: a change, so the
/// stream sends it, and a frame we can tell apart from any earlier one.
fn update_body(template: &serde_json::Value, marker: &str) -> Bytes {
    let mut user = template.clone();
    user["vanityname"] = serde_json::Value::from(marker);
    Bytes::from(serde_json::to_vec(&user).expect("a JSON value serializes"))
}

/// Waits until each of `expected` subscribers has seen the frame carrying
/// `marker`; returns each one's delay after `sent`.
async fn collect(
    from: &mut mpsc::UnboundedReceiver<Arrival>,
    expected: &[usize],
    marker: &str,
    sent: Instant,
    total: usize,
) -> Result<Vec<Duration>, Error> {
    let needle = format!("\"{marker}\"");
    let mut awaited = vec![false; total];
    for &subscriber in expected {
        awaited[subscriber] = true;
    }
    let mut delays = Vec::with_capacity(expected.len());
    let deadline = tokio::time::Instant::now() + FRAME_TIMEOUT;
    while delays.len() < expected.len() {
        let arrival = match tokio::time::timeout_at(deadline, from.recv()).await {
            Ok(Some(arrival)) => arrival,
            Ok(None) => return Err("every subscriber has gone".into()),
            Err(_) => {
                let (got, want) = (delays.len(), expected.len());
                return Err(
                    format!("{marker}: {got} of {want} subscribers got the frame within {FRAME_TIMEOUT:?}").into(),
                );
            }
        };
        // Taking the flag down also catches a second frame to one subscriber.
        let wanted = std::mem::take(&mut awaited[arrival.subscriber]);
        if !wanted || !arrival.text.contains(&needle) {
            let text: String = arrival.text.chars().take(80).collect();
            return Err(format!(
                "{marker}: unexpected frame at subscriber {}: {text}…",
                arrival.subscriber
            )
            .into());
        }
        delays.push(arrival.at - sent);
    }
    Ok(delays)
}

#[derive(Clone, Copy)]
struct Summary {
    p50: f64,
    p99: f64,
    max: f64,
}

/// Nearest-rank percentiles, in milliseconds.
fn summarize(mut delays: Vec<Duration>) -> Summary {
    delays.sort();
    let at = |p: f64| delays[((p * delays.len() as f64).ceil() as usize).clamp(1, delays.len()) - 1];
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    Summary {
        p50: ms(at(0.50)),
        p99: ms(at(0.99)),
        max: ms(at(1.0)),
    }
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.collect();
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// A line of `/proc/PID/FILE`, e.g. `VmRSS:` of `status` or `Max open files` of `limits`.
fn proc_field(pid: &str, file: &str, field: &str) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/{file}")).ok()?;
    let line = text.lines().find(|line| line.starts_with(field))?;
    Some(line[field.len()..].trim().to_string())
}

fn rss_kb(pid: Option<&str>) -> Option<u64> {
    proc_field(pid?, "status", "VmRSS:")?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Both ends hold one descriptor per stream; without a raised `ulimit -n` the
/// run fails halfway through connecting with EMFILE, which reads like a server bug.
fn check_fd_limit(pid: &str, who: &str, needed: u64) -> Result<(), Error> {
    let Some(soft) = proc_field(pid, "limits", "Max open files") else {
        return Ok(());
    };
    match soft.split_whitespace().next() {
        Some("unlimited") => Ok(()),
        Some(soft) if soft.parse::<u64>().is_ok_and(|soft| soft >= needed) => Ok(()),
        Some(soft) => {
            Err(format!("{who}: open-file limit {soft} < {needed} needed; run `ulimit -n 65536` first").into())
        }
        None => Ok(()),
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    let addr = arg(&args, "--addr").ok_or("--addr HOST:PORT is required")?;
    let n: usize = parsed(&args, "--subscribers", 1000)?;
    let rounds: usize = parsed(&args, "--rounds", 5)?;
    let samples: usize = parsed(&args, "--samples", 100)?.min(n);
    let concurrency: usize = parsed(&args, "--concurrency", 100)?;
    let pid = arg(&args, "--pid");
    if n == 0 || rounds == 0 || samples == 0 || concurrency == 0 {
        return Err("--subscribers, --rounds, --samples and --concurrency must be at least 1".into());
    }
    let needed = 2 * n as u64 + 64;
    check_fd_limit("self", "ws_fanout", needed)?;
    if let Some(pid) = &pid {
        check_fd_limit(pid, "the server", needed)?;
    }

    let rss_before = rss_kb(pid.as_deref());
    let (to_a, mut from_a) = mpsc::unbounded_channel();
    let (to_b, mut from_b) = mpsc::unbounded_channel();
    let started = Instant::now();
    let first = open(&addr, n, concurrency, |i| format!("fan-a-{i}"), &to_a).await?;
    let open_a = started.elapsed();
    tokio::time::sleep(SETTLE).await;
    let rss_a = rss_kb(pid.as_deref());
    let started = Instant::now();
    open(&addr, n, concurrency, |_| "fan-b".to_string(), &to_b).await?;
    let open_b = started.elapsed();
    tokio::time::sleep(SETTLE).await;
    let rss_idle = rss_kb(pid.as_deref());

    let template: serde_json::Value = serde_json::from_str(&first)?;
    let mut poster = Poster::connect(&addr).await?;
    let everyone: Vec<usize> = (0..n).collect();
    let (mut a_rounds, mut b_rounds) = (Vec::new(), Vec::new());
    // Round 0 is a warm-up (first allocations, cold caches): run, printed, not counted.
    for round in 0..=rounds {
        let mut a_delays = Vec::with_capacity(samples);
        for k in 0..samples {
            // Spread over all sessions; the shift makes each round update other sessions than the last.
            let i = (k * n / samples + round) % n;
            let (session, marker) = (format!("fan-a-{i}"), format!("fan-a-{round}-{k}"));
            let body = update_body(&template, &marker);
            let sent = Instant::now();
            let (posted, delays) = tokio::join!(
                poster.update(&session, body),
                collect(&mut from_a, std::slice::from_ref(&i), &marker, sent, n)
            );
            posted?;
            a_delays.extend(delays?);
        }
        let marker = format!("fan-b-{round}");
        let body = update_body(&template, &marker);
        let sent = Instant::now();
        let (posted, delays) = tokio::join!(
            poster.update("fan-b", body),
            collect(&mut from_b, &everyone, &marker, sent, n)
        );
        posted?;
        let (a, b) = (summarize(a_delays), summarize(delays?));
        let label = if round == 0 {
            "warm-up".to_string()
        } else {
            format!("round {round}/{rounds}")
        };
        eprintln!(
            "[ws_fanout] {label:>11}: A p50 {:6.2} p99 {:6.2} max {:6.2} ms | B p50 {:6.2} p99 {:6.2} max {:6.2} ms",
            a.p50, a.p99, a.max, b.p50, b.p99, b.max
        );
        if round > 0 {
            a_rounds.push(a);
            b_rounds.push(b);
        }
    }

    let row = |name: &str, rounds: &[Summary]| {
        println!(
            "{name:<44} | {:>7.2} | {:>7.2} | {:>7.2}",
            median(rounds.iter().map(|s| s.p50)),
            median(rounds.iter().map(|s| s.p99)),
            median(rounds.iter().map(|s| s.max)),
        );
    };
    println!();
    println!("WebSocket fan-out, {n} subscribers per case, {rounds} round(s) after a warm-up, medians of rounds");
    println!(
        "{:<44} | {:>7} | {:>7} | {:>7}",
        "case (delay from POST sent to frame read)", "p50 ms", "p99 ms", "max ms"
    );
    println!("{}", "-".repeat(44 + 3 * 10));
    row(&format!("A: {samples} updates, 1 subscriber per session"), &a_rounds);
    row(&format!("B: 1 update, {n} subscribers of one session"), &b_rounds);
    println!();
    let per_second = |d: Duration| n as f64 / d.as_secs_f64();
    println!(
        "streams opened ({concurrency} handshakes at a time): A {:.0}/s, B {:.0}/s",
        per_second(open_a),
        per_second(open_b)
    );
    match (rss_before, rss_a, rss_idle) {
        (Some(before), Some(a), Some(idle)) => {
            let per_stream = |from: u64, to: u64, streams: usize| to.saturating_sub(from) as f64 / streams as f64;
            println!(
                "server RSS: {:.1} MB before, {:.1} MB with {} idle streams: {:.1} KB per idle stream",
                before as f64 / 1024.0,
                idle as f64 / 1024.0,
                2 * n,
                per_stream(before, idle, 2 * n),
            );
            // A's streams each bring a session (its store holds a copy of the user); B's share one.
            println!(
                "  of which A (own sessions) {:.1} KB per stream, B (one session) {:.1} KB per stream",
                per_stream(before, a, n),
                per_stream(a, idle, n),
            );
        }
        _ => println!("server RSS: not measured (pass --pid of a local server)"),
    }
    Ok(())
}
