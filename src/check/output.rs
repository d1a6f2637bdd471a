//! The report on stdout: text for people (findings, an aligned coverage
//! table, a count) or JSON for tools.

use std::fmt::Write as _;

use serde_json::{json, Value};

use super::report::{CheckReport, Finding, Pair};

pub(super) fn text(report: &CheckReport) -> String {
    let mut out = String::new();
    for problem in &report.problems {
        let _ = writeln!(out, "error: {problem}");
    }
    for warning in &report.warnings {
        let _ = writeln!(out, "warning: {warning}");
    }
    if !report.coverage.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&table(&report.coverage));
    }
    if !report.webhooks.is_empty() {
        let _ = writeln!(out, "\nwebhooks (declared, not served): {}", report.webhooks.join(", "));
    }
    let _ = writeln!(
        out,
        "\n{}, {}",
        count(report.problems.len(), "problem"),
        count(report.warnings.len(), "warning")
    );
    out
}

fn table(pairs: &[Pair]) -> String {
    const HEAD: [&str; 3] = ["OPERATION", "STATUS", "REACHED BY"];
    let width = pairs
        .iter()
        .map(|pair| pair.operation.len())
        .chain([HEAD[0].len()])
        .max()
        .unwrap_or_default();
    let head = format!("{:width$}  {}  {}\n", HEAD[0], HEAD[1], HEAD[2]);
    let rows = pairs.iter().map(|pair| {
        let row = format!("{:width$}  {:<6}  {}\n", pair.operation, pair.status, reached_by(pair));
        (pair.spec.as_deref(), row)
    });
    head + &crate::spec::grouped(rows)
}

/// What reaches a pair, or that nothing does.
fn reached_by(pair: &Pair) -> String {
    match pair.reached_by.is_empty() {
        true => format!("UNREACHED: only `Prefer: code={}`", pair.status),
        false => pair.reached_by.join(", "),
    }
}

fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

pub(super) fn json(report: &CheckReport) -> Value {
    let unreached = report.coverage.iter().filter(|pair| pair.reached_by.is_empty()).count();
    let mut document = json!({
        "problems": report.problems.iter().map(finding).collect::<Vec<_>>(),
        "warnings": report.warnings.iter().map(finding).collect::<Vec<_>>(),
        "coverage": report.coverage.iter().map(|pair| {
            let mut entry = json!({
                "operation": pair.operation,
                "status": pair.status,
                "reached_by": pair.reached_by,
            });
            if let Some(spec) = &pair.spec {
                entry["spec"] = json!(spec);
            }
            entry
        }).collect::<Vec<_>>(),
        "summary": {
            "inputs": report.inputs.len(),
            "problems": report.problems.len(),
            "warnings": report.warnings.len(),
            "pairs": report.coverage.len(),
            "unreached": unreached,
            "strict": report.strict,
            "passed": report.passed(),
        },
    });
    // Only 3.1 has webhooks: a 3.0 report keeps the shape it always had.
    if !report.webhooks.is_empty() {
        document["webhooks"] = json!(report.webhooks);
    }
    document
}

fn finding(finding: &Finding) -> Value {
    let (line, column) = finding.line_column.unzip();
    json!({
        "file": finding.file,
        "line": line,
        "column": column,
        "message": finding.message,
    })
}
