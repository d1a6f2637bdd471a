//! `specmock` and `specmock serve`: the flags, then load, bind, serve until
//! SIGINT/SIGTERM, and the verdict at shutdown.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};
use specmock::internal::control::SessionKey;
use specmock::internal::diagnostic::PRINTED_PROBLEMS;
use specmock::internal::logging;
use specmock::internal::sources::Sources;
use specmock::internal::{App, Behaviour, Limits, ServedApp, StreamLimits};

use super::usage_error;

#[derive(Args, Clone)]
pub struct ServeArgs {
    /// The OpenAPI 3.0 or 3.1 document (YAML or JSON); repeat it to serve several specs, each under its own base path. Default: ./openapi.yaml if present, else the embedded Pieces OS User API.
    #[arg(long, value_name = "FILE")]
    spec: Vec<PathBuf>,
    /// Directory of fixture files (response bodies). Default: ./fixtures beside ./openapi.yaml, or the embedded ones.
    #[arg(long, value_name = "DIR")]
    fixtures: Option<PathBuf>,
    /// Directory of scenario files. Default: ./scenarios beside ./openapi.yaml, or the embedded ones.
    #[arg(long, value_name = "DIR")]
    scenarios: Option<PathBuf>,
    /// Scenario every session starts in (a header `X-Mock-Scenario` can switch one session). Default: `default` if present.
    #[arg(long, value_name = "NAME")]
    scenario: Option<String>,
    /// Address to bind. Binding beyond loopback exposes the mock to the network.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on; 0 picks a free one. Default: the port of the spec's first server URL, else 4010.
    #[arg(long)]
    port: Option<u16>,
    /// Serve the normal response even for requests that break the contract (violations are logged and counted in X-Mock-Violations).
    #[arg(long)]
    lenient: bool,
    /// Seed for generated response data: same seed, same bytes.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Log line format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Key sessions of requests that name none on `header:NAME`, `cookie:NAME` or `bearer-sub` (a JWT's `sub`), so an unmodified client is isolated.
    #[arg(long, value_name = "KEY", default_value = "explicit", value_parser = parse_session_key)]
    session_key: SessionKey,
    /// Token that lets peers beyond loopback use the admin API (`Authorization: Bearer TOKEN`).
    #[arg(long, value_name = "TOKEN")]
    admin_token: Option<String>,
    /// A name the admin API answers to besides loopback addresses, `localhost` and --host (repeatable): the name remote clients reach the mock by.
    #[arg(long, value_name = "NAME", value_parser = specmock::internal::host::parse)]
    admin_host: Vec<specmock::internal::host::HostName>,
    /// Do not answer CORS preflights or add Access-Control-* headers.
    #[arg(long)]
    no_cors: bool,
    /// Largest request body accepted, in bytes (larger: 413).
    #[arg(long, value_name = "BYTES", default_value_t = 1024 * 1024)]
    max_body: usize,
    /// Seconds a client has to send a complete request head.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    header_timeout: u64,
    /// Largest request line and headers together, in bytes (larger: 431).
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024)]
    max_header_bytes: usize,
    /// HTTP connections open at once (one more: 503 problem+json, then closed).
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    max_connections: u64,
    /// WebSocket streams open at once (one more: 503 at the handshake).
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    max_streams: usize,
    /// Largest WebSocket frame or message a client may send, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 1024 * 1024)]
    ws_max_message: usize,
    /// Seconds between server pings; a client that misses a pong by the next ping is dropped.
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    ws_ping_interval: u64,
    /// Seconds a client has to take a frame before it is dropped as a slow reader.
    #[arg(long, value_name = "SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    ws_send_timeout: u64,
    /// Journal entries kept for /__mock/journal and /__mock/verify (the counts never lose a request).
    #[arg(long, value_name = "N", default_value_t = specmock::internal::journal::DEFAULT_CAPACITY)]
    journal_size: usize,
    /// Bytes of request and response bodies the journal holds, each distinct body counted once; past them the oldest response bodies go first, then the oldest entries roll off.
    #[arg(long, value_name = "BYTES", default_value_t = specmock::internal::journal::DEFAULT_BODY_BUDGET)]
    journal_bytes: usize,
    /// Exit with code 1 at shutdown if any request broke the contract.
    #[arg(long)]
    fail_on_violation: bool,
    /// Write a JUnit XML report at shutdown: one test case per operation called, failures = violations.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Do not watch the spec, fixtures and scenarios for changes (POST /__mock/reload still reloads them).
    #[arg(long)]
    no_watch: bool,
    /// Forward each operation no scenario rule answers to this server (http:// or https://), check its answer against the spec, and relay it.
    #[arg(long, value_name = "URL")]
    upstream: Option<String>,
    /// A PEM file of CA certificates trusted for an https --upstream besides the system's roots.
    #[arg(long, value_name = "FILE", requires = "upstream")]
    upstream_ca: Option<PathBuf>,
    /// Seconds the upstream has to answer a forwarded request completely (decimals allowed); then 504.
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = parse_seconds, requires = "upstream")]
    upstream_timeout: Duration,
    /// Write each session's traffic as a scenario file DIR/SESSION.yaml when the session ends (reset, idle an hour), on POST /__mock/sessions/ID/record, and at shutdown.
    #[arg(long, value_name = "DIR")]
    record: Option<PathBuf>,
    /// Recordings give each answer its observed latency as its `delay`.
    #[arg(long)]
    record_latency: bool,
    /// Entries (calls, and frames servers sent) a recording keeps per session; past them the file says how many more were not recorded.
    #[arg(long, value_name = "N", default_value_t = specmock::internal::record::DEFAULT_PER_SESSION)]
    record_limit: usize,
    /// Bytes all recordings in progress hold together (targets and bodies); past them a session's later entries are counted, not kept.
    #[arg(long, value_name = "N", default_value_t = specmock::internal::record::DEFAULT_BYTES)]
    record_bytes: usize,
    /// A JSON pointer into response bodies whose value recordings replace by `[redacted]`, besides credentials (repeatable).
    #[arg(long, value_name = "POINTER", value_parser = parse_pointer)]
    redact: Vec<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// Port used when the spec names none: Prism's default, so tooling built for it finds us.
const FALLBACK_PORT: u16 = 4010;

/// Serves until SIGINT or SIGTERM; the exit code is 0, 1 when violations
/// fail the run (`--fail-on-violation`), 2 when start-up fails.
pub fn run(args: ServeArgs) -> ExitCode {
    let flush_logs = init_logging(args.log_format);
    match super::runtime() {
        Ok(runtime) => runtime.block_on(serve(args, flush_logs)),
        Err(code) => code,
    }
}

/// Start-up failed after log lines (warnings) may have been gathered: they
/// go out first, so the error is the last line, as it is for every other.
fn failed(flush_logs: logging::Flusher, message: &str) -> ExitCode {
    drop(flush_logs);
    usage_error(message)
}

async fn serve(args: ServeArgs, flush_logs: logging::Flusher) -> ExitCode {
    // A report that cannot be written is said now, not after the whole run.
    if let Some(report) = &args.report {
        if let Err(why) = report_directory(report) {
            return usage_error(format!("cannot write the report to {}: {why}", report.display()));
        }
    }
    if let Some(dir) = &args.record {
        if !dir.is_dir() {
            return usage_error(format!("--record {}: not a directory", dir.display()));
        }
    }
    // Found in the working directory, the inputs are named relative to it:
    // clients see their names, never where they sit.
    let sources = Sources::resolve(
        args.spec.clone(),
        args.fixtures.clone(),
        args.scenarios.clone(),
        Path::new(""),
    );
    let upstream = match &args.upstream {
        Some(url) => {
            match specmock::internal::proxy::Upstream::new(url, args.upstream_ca.as_deref(), args.upstream_timeout) {
                Ok(upstream) => Some(std::sync::Arc::new(upstream)),
                Err(message) => return failed(flush_logs, &message),
            }
        }
        None => None,
    };
    let behaviour = Behaviour {
        lenient: args.lenient,
        cors: !args.no_cors,
        control_token: args.admin_token.clone(),
        // A --host that is no host name cannot be bound either.
        control_hosts: specmock::internal::host::parse(&args.host)
            .into_iter()
            .chain(args.admin_host.clone())
            .collect(),
        session_key: args.session_key.clone(),
        journal_size: args.journal_size,
        upstream,
        record: specmock::internal::record::Settings {
            dir: args.record.clone(),
            redact: args.redact.clone(),
            latency: args.record_latency,
            per_session: args.record_limit,
            bytes: args.record_bytes,
        },
    };
    let loaded = App::load(sources, args.scenario.clone(), args.seed, behaviour);
    let (app, warnings) = match loaded {
        Ok(loaded) => loaded,
        Err(problems) => {
            eprint!("{}", problems.error_lines(PRINTED_PROBLEMS));
            return ExitCode::from(2);
        }
    };
    app.journal().set_body_budget(args.journal_bytes);
    for warning in &warnings {
        tracing::warn!("{warning}");
    }
    if let Some(summary) = app.upstream_summary() {
        tracing::info!("{summary}");
    }
    if args.upstream.is_none() {
        for rule in app.configuration().scenarios.proxied_rules() {
            tracing::warn!("{rule}: `proxy: true` without --upstream: the call is answered from the spec");
        }
    }
    let port = args
        .port
        .or(app.configuration().spec.default_port)
        .unwrap_or(FALLBACK_PORT);
    let listener = match bind(&args.host, port).await {
        Ok(listener) => listener,
        Err(message) => return failed(flush_logs, &message),
    };
    let limits = Limits {
        max_body: args.max_body,
        header_read_timeout: Duration::from_secs(args.header_timeout),
        max_connections: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
        max_header_bytes: args.max_header_bytes,
        streams: StreamLimits {
            max_streams: args.max_streams,
            max_message: args.ws_max_message,
            ping_interval: Duration::from_secs(args.ws_ping_interval),
            send_timeout: Duration::from_secs(args.ws_send_timeout),
        },
        ..Limits::default()
    };
    let signals = match specmock::internal::shutdown::StopSignals::install() {
        Ok(signals) => signals,
        Err(error) => {
            return failed(
                flush_logs,
                &format!("cannot install the SIGINT/SIGTERM handlers: {error}"),
            )
        }
    };
    let server = match specmock::internal::serve(listener, app, limits) {
        Ok(server) => server,
        Err(error) => return failed(flush_logs, &error.to_string()),
    };
    if !server.address().ip().is_loopback() && args.admin_token.is_none() {
        tracing::warn!(
            address = %server.address(),
            "bound beyond loopback without --admin-token: anyone who can reach this address can use the mock (the admin API stays loopback-only)"
        );
    }
    // Kept until shutdown: dropping it stops the watching.
    let _watch = if args.no_watch {
        None
    } else {
        specmock::internal::watch::start(server.app())
    };
    if args.record.is_some() {
        tokio::spawn(write_idle_recordings(server.app().clone()));
    }
    // Scripts wait for this exact line; it goes to stdout, logs go to stderr.
    println!("listening on {}", server.url());
    let _ = std::io::stdout().flush();
    signals.received().await;
    tracing::info!("shutting down: letting in-flight requests finish");
    let app = server.app().clone();
    server.stop().await;
    let recorded = specmock::internal::record::end_idle(&app, None);
    // The verdict comes after every log line, where scripts look for it: what
    // the log writer still holds goes out first.
    drop(flush_logs);
    for line in recorded {
        eprintln!("specmock: recorded {line}");
    }
    let configuration = app.configuration();
    let spec_of = |id: &str| {
        configuration
            .spec
            .operation(id)
            .and_then(|op| configuration.spec.group_of(op))
    };
    conclude(&app.journal().run_summary(), &args, spec_of)
}

fn report_directory(report: &std::path::Path) -> Result<(), String> {
    let directory = report
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    match std::fs::metadata(directory) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(format!("{} is not a directory", directory.display())),
        Err(error) => Err(format!("{}: {error}", directory.display())),
    }
}

/// The verdict at shutdown: the report, and whether violations fail the run.
fn conclude<'s>(
    summary: &specmock::internal::journal::Summary,
    args: &ServeArgs,
    spec_of: impl Fn(&str) -> Option<&'s str>,
) -> ExitCode {
    eprintln!(
        "specmock: {} requests, {} broke the contract",
        summary.requests, summary.violating
    );
    if args.upstream.is_some() {
        eprintln!(
            "specmock: {} answers relayed from the upstream, {} broke the contract (provider side)",
            summary.relayed, summary.provider_violating
        );
    }
    let failed = args.fail_on_violation && summary.violating + summary.provider_violating > 0;
    if failed {
        for (operation, tally) in &summary.tallies {
            if tally.violating_calls > 0 {
                eprintln!(
                    "  {operation}: {} of {} calls (client side)",
                    tally.violating_calls, tally.calls
                );
            }
            if tally.provider_violating_answers > 0 {
                eprintln!(
                    "  {operation}: {} of {} relayed answers (provider side)",
                    tally.provider_violating_answers, tally.relayed_answers
                );
            }
        }
    }
    if let Some(path) = &args.report {
        if let Err(error) = std::fs::write(path, specmock::internal::report::contract_report(summary, spec_of)) {
            return usage_error(format!("cannot write the report to {}: {error}", path.display()));
        }
    }
    match failed {
        true => ExitCode::from(1),
        false => ExitCode::SUCCESS,
    }
}

async fn bind(host: &str, port: u16) -> Result<tokio::net::TcpListener, String> {
    let address = match tokio::net::lookup_host((host, port))
        .await
        .map(|mut found| found.next())
    {
        Ok(Some(address)) => address,
        Ok(None) | Err(_) => return Err(format!("cannot resolve --host `{host}`")),
    };
    tokio::net::TcpListener::bind(address)
        .await
        .map_err(|error| explain_bind_error(address, &error))
}

fn explain_bind_error(address: SocketAddr, error: &std::io::Error) -> String {
    let port = address.port();
    let hint = "choose another with --port (--port 0 picks any free port)";
    match error.kind() {
        std::io::ErrorKind::PermissionDenied => {
            format!("cannot listen on {address}: port {port} is privileged (below 1024) and needs root or CAP_NET_BIND_SERVICE; {hint}")
        }
        std::io::ErrorKind::AddrInUse => {
            format!("cannot listen on {address}: port {port} is already in use by another process; {hint}")
        }
        std::io::ErrorKind::AddrNotAvailable => {
            format!("cannot listen on {address}: no local interface has that address; check --host")
        }
        _ => format!("cannot listen on {address}: {error}; {hint}"),
    }
}

/// `--upstream-timeout`: positive seconds, decimals allowed.
fn parse_seconds(text: &str) -> Result<Duration, String> {
    match text.parse::<f64>() {
        Ok(seconds) if seconds > 0.0 && seconds.is_finite() && seconds <= 86_400.0 => {
            Ok(Duration::from_secs_f64(seconds))
        }
        _ => Err(format!("`{text}` is not a number of seconds above 0 (at most 86400)")),
    }
}

/// Sessions idle as long as the registry forgets them after end their
/// recordings: looked for once a minute.
async fn write_idle_recordings(app: std::sync::Arc<App>) {
    let mut ticks = tokio::time::interval(Duration::from_secs(60));
    loop {
        ticks.tick().await;
        let app = app.clone();
        let written = tokio::task::spawn_blocking(move || {
            specmock::internal::record::end_idle(&app, Some(specmock::internal::session::DEFAULT_IDLE_EXPIRY))
        });
        for line in written.await.unwrap_or_default() {
            tracing::info!("recorded: {line}");
        }
    }
}

fn parse_pointer(text: &str) -> Result<String, String> {
    match text.is_empty() || text.starts_with('/') {
        true => Ok(text.to_string()),
        false => Err(format!(
            "`{text}` is no JSON pointer: it starts with `/`, as `/user/email`"
        )),
    }
}

fn parse_session_key(text: &str) -> Result<SessionKey, String> {
    if text == "explicit" {
        return Ok(SessionKey::Explicit);
    }
    text.parse()
}

/// Log lines go to stderr through `logging`'s writer, which keeps the
/// serving threads off the write; the returned guard writes what is left
/// when dropped at exit.
fn init_logging(format: LogFormat) -> logging::Flusher {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SPECMOCK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let format = match format {
        LogFormat::Text => logging::Format::Text,
        LogFormat::Json => logging::Format::Json,
    };
    let (writer, flusher) = logging::writer(std::io::stderr());
    let _ = tracing_subscriber::util::SubscriberInitExt::try_init(logging::dispatch(format, filter, colour, writer));
    flusher
}
