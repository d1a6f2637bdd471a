//! A recorded session's scenario as YAML a person reads: a header saying
//! what it is and how to replay it, then one commented step per call.
//! Values are written as JSON (which YAML reads as it is), so no string
//! can be mistaken for another type or break the layout.

use std::fmt::Write as _;

use super::document::{Body, Document, Item, Step};
use crate::journal::rfc3339_millis;

/// Bodies whose JSON is longer than this are written over several lines.
const ONE_LINE: usize = 100;

/// The state a replay is in before step `number` (1-based).
pub fn state(number: usize) -> String {
    format!("step-{number}")
}

/// The state after the last step.
pub const FINISHED: &str = "finished";

pub fn write(document: &Document, name: &str) -> String {
    let steps = document.steps().count();
    let mut out = String::new();
    let quoted_session = quote(&document.session);
    let _ = writeln!(
        out,
        "# Session {quoted_session}, recorded by specmock: {steps} steps, one per call answered."
    );
    if let (Some(first), Some(last)) = (document.steps().next(), document.steps().last()) {
        let _ = writeln!(
            out,
            "# From {} to {}.",
            rfc3339_millis(first.at),
            rfc3339_millis(last.at)
        );
    }
    let _ = writeln!(out, "# Replay: specmock --scenarios DIR --scenario {name}");
    let _ = writeln!(
        out,
        "# A call the recording does not expect at that point is answered from the spec, and journaled with where the replay stands."
    );
    match document.redacted.is_empty() {
        true => out.push_str("# Redacted: nothing.\n"),
        false => {
            let listed: Vec<String> = document
                .redacted
                .iter()
                .map(|(at, count)| format!("{at} ({count})"))
                .collect();
            let _ = writeln!(out, "# Redacted (replaced by \"[redacted]\"): {}.", listed.join(", "));
        }
    }
    if document.cut > 0 {
        let _ = writeln!(
            out,
            "# Cut: the recording kept the session's first {} entries; {} more were not recorded.",
            document.items.len(),
            document.cut
        );
    }
    let _ = writeln!(
        out,
        "description: {}",
        quote(&format!("Session {} as recorded", document.session))
    );
    out.push_str("replay: true\n");
    let first = if steps == 0 { FINISHED.to_string() } else { state(1) };
    let _ = writeln!(out, "initial: {first}");
    if steps == 0 {
        out.push_str("rules: []\n");
        return out;
    }
    out.push_str("rules:\n");
    let mut number = 0;
    for item in &document.items {
        match item {
            Item::Step(step) => {
                number += 1;
                write_step(&mut out, step, number, steps);
            }
            Item::Skipped { at, request, why } => {
                let _ = writeln!(out, "  # {}: {request}: not replayed, {why}.", rfc3339_millis(*at));
            }
        }
    }
    out
}

fn write_step(out: &mut String, step: &Step, number: usize, steps: usize) {
    let _ = writeln!(
        out,
        "  # Step {number} of {steps}, {}: {}",
        rfc3339_millis(step.at),
        step.request
    );
    if !step.violations.is_empty() {
        let _ = writeln!(
            out,
            "  # This call broke the spec; the answer is replayed as it was recorded."
        );
    }
    let _ = writeln!(
        out,
        "  - when: {{ operation: {}, state: {} }}",
        quote(&step.operation),
        state(number)
    );
    if let Some(frames) = &step.stream {
        write_stream(out, frames);
    } else {
        write_response(out, step);
    }
    let next = if number == steps {
        FINISHED.to_string()
    } else {
        state(number + 1)
    };
    let _ = writeln!(out, "    then: {{ state: {next} }}");
}

/// A stream's frames at the pace they came.
fn write_stream(out: &mut String, frames: &[(std::time::Duration, Body)]) {
    out.push_str("    stream:\n");
    if frames.is_empty() {
        out.push_str("      # No frame was sent.\n      - wait: 0ms\n");
    }
    for (gap, frame) in frames {
        let _ = writeln!(out, "      - wait: {}ms", gap.as_millis().min(600_000));
        let _ = writeln!(out, "      - send: {}", body(frame, "        "));
    }
}

fn write_response(out: &mut String, step: &Step) {
    out.push_str("    respond:\n");
    let _ = writeln!(out, "      status: {}", step.status);
    if let Some(content_type) = &step.content_type {
        let _ = writeln!(out, "      headers: {{ content-type: {} }}", quote(content_type));
    }
    if let Some(delay) = step.delay {
        let _ = writeln!(out, "      delay: {}ms", delay.as_millis().min(600_000));
    }
    if step.undeclared {
        out.push_str("      fault: undeclared-status\n");
    }
    if !step.violations.is_empty() {
        out.push_str("      violations:\n");
        for violation in &step.violations {
            let _ = writeln!(out, "        - {}", quote(violation));
        }
    }
    if step.body != Body::None {
        let _ = writeln!(out, "      body: {}", body(&step.body, "      "));
    }
}

/// A body (or a frame) as a flow mapping: `{ json: ... }`, `{ text: ... }`, `{ binary: ... }`.
fn body(body: &Body, indent: &str) -> String {
    match body {
        Body::None => "{}".to_string(),
        Body::Json(value) => format!("{{ json: {} }}", json(value, indent)),
        Body::Text(text) => format!("{{ text: {} }}", quote(text)),
        Body::Binary(base64) => format!("{{ binary: {} }}", quote(base64)),
    }
}

/// A string as a double-quoted scalar (JSON's escapes are YAML's).
fn quote(text: &str) -> String {
    serde_json::to_string(text).expect("a string always serializes")
}

/// A value as JSON: on one line when short, else indented under `indent`.
fn json(value: &serde_json::Value, indent: &str) -> String {
    let compact = serde_json::to_string(value).expect("a JSON value always serializes");
    if compact.len() <= ONE_LINE {
        return compact;
    }
    let pretty = serde_json::to_string_pretty(value).expect("a JSON value always serializes");
    // Lines of a flow collection sit deeper than the key that holds it.
    pretty.replace('\n', &format!("\n{indent}  "))
}
