//! `specmock verify --against URL`: does a real server honour the spec? A
//! provider contract test: every operation gets requests built from the
//! spec (and a scenario), and every answer is checked against what the spec
//! declares. The decisions are pure (`plan`, `conformance`, `report`); `client`
//! does the network, this module the run: the report's text as it becomes
//! final and its verdict (the command line prints them).

pub(crate) mod client;
pub(crate) mod conformance;
mod plan;
mod report;
pub(crate) mod target;
pub(crate) mod wire;

use std::path::{Path, PathBuf};
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

/// What to verify and how: the server, the inputs (found as `serve` finds
/// them), and what every request carries.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Base URL of the server under test: `http://HOST:PORT[/base]` or
    /// `https://...`; the spec's paths are appended.
    pub against: String,
    /// A PEM file of CA certificates trusted for an https server besides the system's roots.
    pub ca: Option<PathBuf>,
    /// The OpenAPI documents, served together when several; none:
    /// `./openapi.yaml` if present, else the embedded one.
    pub spec: Vec<PathBuf>,
    /// The directory of fixture files (read with `scenario`).
    pub fixtures: Option<PathBuf>,
    /// The directory of scenario files.
    pub scenarios: Option<PathBuf>,
    /// Also send the requests this scenario's rules match on.
    pub scenario: Option<String>,
    /// Headers sent with every request, in place of the placeholder credentials.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// How long each answer (and a stream's first frame) may take.
    pub timeout: Duration,
}

/// The verdict of a provider contract test, once every operation was sent.
#[derive(Debug)]
pub struct ProviderReport {
    results: Vec<OperationResult>,
    junit: crate::junit::Suite,
}

impl ProviderReport {
    /// Whether every operation conforms.
    pub fn passed(&self) -> bool {
        self.results.iter().all(OperationResult::passed)
    }

    /// The results as JUnit XML: a test case per operation.
    pub fn to_junit_xml(&self) -> String {
        crate::junit::render(std::slice::from_ref(&self.junit))
    }
}

/// Sends every operation of the spec to the server and judges each answer.
/// `shown` gets the report's text in pieces as soon as each is final, which
/// joined are the whole text: with one spec each operation's verdict as it
/// is done (a slow server shows where it is); with several, the verdicts
/// grouped by spec at the end; then a blank line and the summary. `Err`
/// for usage and I/O errors (a bad URL, an unreachable server, an
/// unreadable spec or CA file).
pub async fn verify(options: &VerifyOptions, mut shown: impl FnMut(&str)) -> Result<ProviderReport, String> {
    let target = Target::parse(&options.against)?;
    let (spec, scenario) = load(options).map_err(|problems| problems.to_string())?;
    let timeout = options.timeout;
    let connector = target.connector(options.ca.as_deref())?;
    let address = target.resolve(timeout).await?;
    let several = spec.documents.len() > 1;
    // Sent in the plan's order (every read before any write), whatever spec
    // each operation is written in.
    let mut results = Vec::new();
    for planned in plan::plan(&spec, scenario.as_deref(), &options.headers) {
        let operation = &spec.operations[planned.operation];
        let target = under_base_path(&target, &spec, operation);
        let started = Instant::now();
        let mut requests = Vec::with_capacity(planned.probes.len());
        for probe in &planned.probes {
            let received = client::send(&target, &connector, address, probe, timeout).await;
            requests.push(RequestResult {
                request: describe(probe, &target, planned.probes.len()),
                judgement: conformance::judge(operation, probe, &received),
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
        if !several {
            shown(&result.text());
        }
        results.push((operation.origin.document, result));
    }
    // With several, the results grouped by spec, each spec's in the order sent.
    results.sort_by_key(|(document, _)| *document);
    let results: Vec<OperationResult> = results.into_iter().map(|(_, result)| result).collect();
    if several {
        shown(&grouped(
            results.iter().map(|result| (result.spec.as_deref(), result.text())),
        ));
    }
    shown("\n");
    shown(&report::summary(&results, &target.url));
    let title_of = |stem: Option<&str>| {
        let document = spec
            .documents
            .iter()
            .find(|document| Some(document.stem.as_str()) == stem);
        document.map_or(spec.title.as_str(), |document| document.title.as_str())
    };
    let junit = report::junit(&results, &target.url, title_of);
    Ok(ProviderReport { results, junit })
}

/// The spec, and the scenario when one is named. A scenario is compiled as
/// `serve` compiles it (operations, fixtures and templates checked, an
/// unknown name refused); only its request matches are used.
fn load(options: &VerifyOptions) -> Result<(Spec, Option<Arc<Scenario>>), Diagnostics> {
    // Found in the working directory, the inputs are named relative to it:
    // clients see their names, never where they sit.
    let sources = Sources::resolve(
        options.spec.clone(),
        options.fixtures.clone(),
        options.scenarios.clone(),
        Path::new(""),
    );
    let Some(name) = &options.scenario else {
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

/// `POST /v1/user/update`, and `[example `x`]` when it is one of several
/// requests (`probes`) the operation got.
fn describe(probe: &Probe, target: &Target, probes: usize) -> String {
    let request = format!("{} {}{}", probe.method, target.base, probe.target);
    match probes {
        1 => request,
        _ => format!("{request} [{}]", probe.source),
    }
}
