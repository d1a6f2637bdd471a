//! `specmock verify --against URL`: does a real server honour the spec? A
//! provider contract test: every operation gets requests built from the
//! spec (and a scenario), and every answer is checked against what the spec
//! declares. The decisions are pure (`plan`, `check`, `report`); `client`
//! does the network, this module the flags, files and exit code.

pub(crate) mod check;
pub(crate) mod client;
mod plan;
mod report;
pub(crate) mod target;
pub(crate) mod wire;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{HeaderName, HeaderValue};

use crate::app::Configuration;
use crate::diagnostic::Diagnostics;
use crate::scenario::Scenario;
use crate::sources::Sources;
use crate::spec::{grouped, Spec};
use plan::Probe;
use report::{OperationResult, RequestResult};
use target::Target;

/// Flags of `specmock verify`.
#[derive(Debug, Clone, clap::Args)]
#[command(
    after_help = "Every operation of the spec is called, those that change state (POST, PUT, PATCH, DELETE) \
included: point it at a test instance, never at one whose data matters. Operations that only read are called \
first. Each operation gets at most 5 requests: the request body's examples (else one generated from its schema) \
and, with --scenario, the scenario's request matches; WebSocket operations (x-websocket) get a handshake and \
their first frame is checked.\n\nExit codes: 0 every operation conforms, 1 contract problems, 2 usage or I/O \
errors (bad URL, server unreachable, unreadable spec or CA file)."
)]
pub struct VerifyArgs {
    /// Base URL of the server under test: http://HOST:PORT[/base] or https://...; the spec's paths are appended.
    #[arg(long, value_name = "URL")]
    pub against: String,
    /// A PEM file of CA certificates trusted for an https server besides the system's roots (a self-signed test server).
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// The OpenAPI 3.0 or 3.1 document (repeatable: several specs served together). Default: ./openapi.yaml if present, else the embedded Pieces OS User API.
    #[arg(long, value_name = "FILE")]
    pub spec: Vec<PathBuf>,
    /// Directory of fixture files (read with --scenario). Default: as for `serve`.
    #[arg(long, value_name = "DIR")]
    pub fixtures: Option<PathBuf>,
    /// Directory of scenario files. Default: as for `serve`.
    #[arg(long, value_name = "DIR")]
    pub scenarios: Option<PathBuf>,
    /// Also send the requests this scenario's rules match on (body, query, header and path values).
    #[arg(long, value_name = "NAME")]
    pub scenario: Option<String>,
    /// A header sent with every request, e.g. real credentials (repeatable); replaces the placeholder
    /// credentials (`Authorization: Bearer specmock-verify`, API keys `specmock-verify`).
    #[arg(long = "header", value_name = "'NAME: VALUE'", value_parser = target::parse_header)]
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Seconds to wait for each answer (and for a stream's first frame).
    #[arg(long, value_name = "SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
    /// Also write the results as JUnit XML to this file.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
}

/// Runs the provider contract test; the exit code is 0 clean, 1 contract problems, 2 usage or I/O errors.
pub async fn run(args: VerifyArgs) -> ExitCode {
    match verify(args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

/// Whether every operation conforms; `Err` for usage and I/O errors.
async fn verify(args: VerifyArgs) -> Result<bool, String> {
    let target = Target::parse(&args.against)?;
    let (spec, scenario) = load(&args).map_err(|problems| problems.to_string())?;
    let timeout = Duration::from_secs(args.timeout);
    let connector = target.connector(args.ca.as_deref())?;
    let address = target.resolve(timeout).await?;
    let several = spec.documents.len() > 1;
    // Sent in the plan's order (every read before any write), whatever spec
    // each operation is written in.
    let mut results = Vec::new();
    for planned in plan::plan(&spec, scenario.as_deref(), &args.headers) {
        let operation = &spec.operations[planned.operation];
        let target = under_base_path(&target, &spec, operation);
        let started = Instant::now();
        let mut requests = Vec::with_capacity(planned.probes.len());
        for probe in &planned.probes {
            let received = client::send(&target, &connector, address, probe, timeout).await;
            requests.push(RequestResult {
                request: describe(probe, &target, planned.probes.len() > 1),
                checked: check::check(operation, probe, &received),
            });
        }
        let result = OperationResult {
            spec: spec.group_of(operation).map(str::to_string),
            id: operation.id.clone(),
            route: format!("{} {}", operation.method, operation.path),
            requests,
            notes: planned.notes,
            seconds: started.elapsed().as_secs_f64(),
        };
        // With one spec, each operation as it is done: a slow server shows where it is.
        if !several {
            print!("{}", result.text());
            let _ = std::io::stdout().flush();
        }
        results.push((operation.origin.document, result));
    }
    // With several, the results grouped by spec, each spec's in the order sent.
    results.sort_by_key(|(document, _)| *document);
    let results: Vec<OperationResult> = results.into_iter().map(|(_, result)| result).collect();
    if several {
        print!(
            "{}",
            grouped(results.iter().map(|result| (result.spec.as_deref(), result.text())))
        );
    }
    println!();
    print!("{}", report::summary(&results, &target.url));
    if let Some(path) = &args.junit {
        let title_of = |stem: Option<&str>| {
            let document = spec
                .documents
                .iter()
                .find(|document| Some(document.stem.as_str()) == stem);
            document.map_or(spec.title.as_str(), |document| document.title.as_str())
        };
        let suite = report::junit(&results, &target.url, title_of);
        std::fs::write(path, crate::junit::render(&[suite]))
            .map_err(|e| format!("cannot write the JUnit report to {}: {e}", path.display()))?;
    }
    Ok(results.iter().all(OperationResult::passed))
}

/// The spec, and the scenario when one is named. A scenario is compiled as
/// `serve` compiles it (operations, fixtures and templates checked, an
/// unknown name refused); only its request matches are used.
fn load(args: &VerifyArgs) -> Result<(Spec, Option<Arc<Scenario>>), Diagnostics> {
    // Found in the working directory, the inputs are named relative to it:
    // clients see their names, never where they sit.
    let sources = Sources::resolve(
        args.spec.clone(),
        args.fixtures.clone(),
        args.scenarios.clone(),
        Path::new(""),
    );
    let Some(name) = &args.scenario else {
        return Ok((sources.load_spec()?, None));
    };
    // The warnings are about the mock's own response bodies, not this test.
    let (configuration, _warnings) = Configuration::build(sources.inputs(Some(name.clone()), 0)?, 1)?;
    let scenario = configuration.start_with.clone();
    Ok((configuration.spec, scenario))
}

/// Where `operation` is sent: with one spec, under `--against` as given;
/// with several, under each spec's own base path (its first server URL's).
fn under_base_path(target: &Target, spec: &Spec, operation: &crate::spec::Operation) -> Target {
    let mut target = target.clone();
    if spec.group_of(operation).is_some() {
        let base = spec.document_of(operation).base_paths.first();
        target.base.push_str(base.map_or("", String::as_str));
    }
    target
}

/// `POST /v1/user/update`, and `[example `x`]` when the operation got several requests.
fn describe(probe: &Probe, target: &Target, several: bool) -> String {
    let request = format!("{} {}{}", probe.method, target.base, probe.target);
    match several {
        true => format!("{request} [{}]", probe.source),
        false => request,
    }
}
