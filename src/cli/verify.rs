//! `specmock verify --against URL`: the flags, the report printed (stdout)
//! as it becomes final, the JUnit file, and the exit code: 0 every
//! operation conforms, 1 contract problems, 2 usage or I/O errors.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use http::{HeaderName, HeaderValue};
use specmock::internal::provider::{verify, VerifyOptions};

use super::usage_error;

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
    against: String,
    /// A PEM file of CA certificates trusted for an https server besides the system's roots (a self-signed test server).
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// The OpenAPI 3.0 or 3.1 document (repeatable: several specs served together). Default: ./openapi.yaml if present, else the embedded Pieces OS User API.
    #[arg(long, value_name = "FILE")]
    spec: Vec<PathBuf>,
    /// Directory of fixture files (read with --scenario). Default: as for `serve`.
    #[arg(long, value_name = "DIR")]
    fixtures: Option<PathBuf>,
    /// Directory of scenario files. Default: as for `serve`.
    #[arg(long, value_name = "DIR")]
    scenarios: Option<PathBuf>,
    /// Also send the requests this scenario's rules match on (body, query, header and path values).
    #[arg(long, value_name = "NAME")]
    scenario: Option<String>,
    /// A header sent with every request, e.g. real credentials (repeatable); replaces the placeholder
    /// credentials (`Authorization: Bearer specmock-verify`, API keys `specmock-verify`).
    #[arg(long = "header", value_name = "'NAME: VALUE'", value_parser = parse_header)]
    headers: Vec<(HeaderName, HeaderValue)>,
    /// Seconds to wait for each answer (and for a stream's first frame).
    #[arg(long, value_name = "SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
    /// Also write the results as JUnit XML to this file.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
}

pub fn run(args: VerifyArgs) -> ExitCode {
    let options = VerifyOptions {
        against: args.against,
        ca: args.ca,
        spec: args.spec,
        fixtures: args.fixtures,
        scenarios: args.scenarios,
        scenario: args.scenario,
        headers: args.headers,
        timeout: Duration::from_secs(args.timeout),
    };
    let runtime = match super::runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let shown = |text: &str| {
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(text.as_bytes());
        let _ = stdout.flush();
    };
    let report = match runtime.block_on(verify(&options, shown)) {
        Ok(report) => report,
        Err(message) => return usage_error(message),
    };
    super::verdict(args.junit.as_deref(), || report.to_junit_xml(), report.passed())
}

/// A `--header 'Name: value'` flag.
pub fn parse_header(text: &str) -> Result<(HeaderName, HeaderValue), String> {
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| format!("`{text}`: expected 'Name: value'"))?;
    let name = HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| format!("`{}` is not a header name", name.trim()))?;
    let value = HeaderValue::from_str(value.trim())
        .map_err(|_| format!("the value of `{name}` is not a valid header value"))?;
    Ok((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_name_colon_value() {
        let (name, value) = parse_header("Authorization:  Bearer abc ").unwrap();
        assert_eq!(
            (name.as_str(), value.to_str().unwrap()),
            ("authorization", "Bearer abc")
        );
        assert!(parse_header("no colon").is_err());
        assert!(parse_header("bad name: x").is_err());
    }
}
