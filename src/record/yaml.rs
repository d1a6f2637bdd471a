//! A recorded session's scenario as YAML a person reads: a header saying
//! what it is and how to replay it, then one commented step per call.
//! Values are written as JSON (which YAML reads as it is), so no string
//! can be mistaken for another type or break the layout.

use std::fmt::Write as _;

use super::document::{Body, Document, Item, Step};
use crate::rfc3339;

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
            rfc3339::format_millis(first.at),
            rfc3339::format_millis(last.at)
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
                .map(|(at, count)| format!("{} ({count})", comment(at)))
                .collect();
            let _ = writeln!(out, "# Redacted (replaced by \"[redacted]\"): {}.", listed.join(", "));
        }
    }
    if document.cut > 0 {
        let _ = writeln!(
            out,
            "# Cut: the recording kept the session's first {} entries; {} more were not recorded.",
            document.kept, document.cut
        );
    }
    if document.journal_rolled {
        out.push_str("# The journal no longer holds its oldest entries (--journal-size, or a clear): this session's first calls may be missing; --record keeps a session whole.\n");
    }
    let _ = writeln!(
        out,
        "description: {}",
        quote(&format!("Session {} as recorded", document.session))
    );
    out.push_str("replay: true\n");
    let first = if steps == 0 { FINISHED.to_string() } else { state(1) };
    let _ = writeln!(out, "initial: {first}");
    // Comments alone make no list: a session with no step says so, and its calls follow.
    out.push_str(if steps == 0 { "rules: []\n" } else { "rules:\n" });
    let mut number = 0;
    for item in &document.items {
        match item {
            Item::Step(step) => {
                number += 1;
                write_step(&mut out, step, number, steps);
            }
            Item::Skipped { at, request, why } => {
                let (request, why) = (comment(request), comment(why));
                let _ = writeln!(
                    out,
                    "  # {}: {request}: not replayed, {why}.",
                    rfc3339::format_millis(*at)
                );
            }
        }
    }
    out
}

fn write_step(out: &mut String, step: &Step, number: usize, steps: usize) {
    let _ = writeln!(
        out,
        "  # Step {number} of {steps}, {}: {}",
        rfc3339::format_millis(step.at),
        comment(&step.request)
    );
    if !step.violations.is_empty() {
        let _ = writeln!(
            out,
            "  # This call broke the spec; the answer is replayed as it was recorded."
        );
    }
    if step.dropped {
        let _ = writeln!(
            out,
            "  # The journal let this answer's body go (--journal-bytes): the replay answers the spec's for the status."
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
    printable(&serde_json::to_string(text).expect("a string always serializes"))
}

/// Text for a comment: one line, whatever it holds.
fn comment(text: &str) -> String {
    printable(&text.replace('\n', "\\n").replace('\r', "\\r"))
}

/// JSON text with each character YAML does not take raw (controls, U+007F,
/// C1 controls, U+2028 and U+2029, a BOM, U+FFFE and U+FFFF) written as
/// `\uXXXX`: such a character is only ever inside a JSON string, where that
/// escape means it to JSON and YAML alike. Line feeds are kept: between
/// values they are layout, and JSON writes those inside strings as `\n`.
fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\t' | ' '..='~' | '\u{a0}'..='\u{2027}' | '\u{202a}'..='\u{d7ff}' | '\u{10000}'.. => out.push(c),
            '\u{e000}'..='\u{fffd}' if c != '\u{feff}' => out.push(c),
            other => {
                let _ = write!(out, "\\u{:04X}", u32::from(other));
            }
        }
    }
    out
}

/// A value as JSON: on one line when short, else indented under `indent`.
fn json(value: &serde_json::Value, indent: &str) -> String {
    let compact = printable(&serde_json::to_string(value).expect("a JSON value always serializes"));
    if compact.len() <= ONE_LINE {
        return compact;
    }
    let pretty = printable(&serde_json::to_string_pretty(value).expect("a JSON value always serializes"));
    // Lines of a flow collection sit deeper than the key that holds it.
    pretty.replace('\n', &format!("\n{indent}  "))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, SystemTime};

    use bytes::Bytes;

    use super::*;
    use crate::journal::{Cut, Entry, EntryKind, Record};
    use crate::record::{document, Options};
    use crate::validate::Violation;

    const SPEC: &str = "openapi: 3.0.3
info: { title: t, version: '1' }
paths:
  /user:
    get:
      operationId: snapshot
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: { type: object, properties: { name: { type: string } } }
        '404':
          description: gone
          content: { text/plain: { schema: { type: string } } }
  /user/clear:
    post:
      operationId: clear
      responses: { '204': { description: ok } }
  /blob:
    get:
      operationId: blob
      responses:
        '200': { description: ok, content: { application/octet-stream: {} } }
";

    fn entry(method: &str, target: &str, operation: Option<&str>, status: u16) -> Record<crate::journal::Name> {
        Record {
            kind: EntryKind::Request,
            session: "qa".into(),
            method: method.into(),
            target: target.into(),
            operation: operation.map(Into::into),
            rule: None,
            status,
            refused: operation.is_none(),
            latency: Duration::from_millis(7),
            violations: Vec::new(),
            body: None,
            response: None,
            response_content_type: None,
            origin: None,
            note: None,
        }
    }

    fn at(second: u64, record: Record<crate::journal::Name>) -> Arc<Entry> {
        Arc::new(Entry {
            id: second,
            at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + second),
            record,
            response_dropped: false,
            cut: Cut::default(),
        })
    }

    fn answered(record: Record<crate::journal::Name>, content_type: &str, body: &[u8]) -> Record<crate::journal::Name> {
        Record {
            response: Some(Bytes::copy_from_slice(body)),
            response_content_type: Some(content_type.into()),
            ..record
        }
    }

    #[test]
    fn a_session_becomes_one_commented_step_per_call_that_the_loader_accepts() {
        let spec = crate::spec::load_text("spec.yaml", SPEC, None).expect("the spec loads");
        let broken = Record {
            violations: vec![Violation::new("/body/name", "type", "1 is not of type \"string\"")],
            ..entry("GET", "/user", Some("snapshot"), 200)
        };
        let entries = vec![
            at(
                1,
                answered(
                    entry("GET", "/user?token=abcd&page=2", Some("snapshot"), 200),
                    "application/json",
                    br#"{"name":"Ann","password":"hunter2"}"#,
                ),
            ),
            at(2, entry("POST", "/user/clear", Some("clear"), 204)),
            at(
                3,
                answered(
                    entry("GET", "/user", Some("snapshot"), 404),
                    "text/plain",
                    b"gone {{soon}}",
                ),
            ),
            at(
                4,
                answered(
                    entry("GET", "/blob", Some("blob"), 200),
                    "application/octet-stream",
                    &[0, 159, 146, 150],
                ),
            ),
            at(5, answered(broken, "application/json", br#"{"name":1}"#)),
            at(6, entry("GET", "/nowhere", None, 404)),
        ];
        let query = vec!["token".to_string()];
        let options = Options {
            spec: &spec,
            credential_query: &query,
            redact: &[],
            latency: true,
            frames: false,
            journal_rolled: false,
        };
        let document = document("qa", &entries, 0, &options);
        let text = write(&document, "qa");
        assert_eq!(
            text,
            r#"# Session "qa", recorded by specmock: 5 steps, one per call answered.
# From 2027-01-15T08:00:01.000Z to 2027-01-15T08:00:05.000Z.
# Replay: specmock --scenarios DIR --scenario qa
# A call the recording does not expect at that point is answered from the spec, and journaled with where the replay stands.
# Redacted (replaced by "[redacted]"): /body/password (1), /query/token (1).
description: "Session qa as recorded"
replay: true
initial: step-1
rules:
  # Step 1 of 5, 2027-01-15T08:00:01.000Z: GET /user?token=[redacted]&page=2
  - when: { operation: "snapshot", state: step-1 }
    respond:
      status: 200
      delay: 7ms
      body: { json: {"name":"Ann","password":"[redacted]"} }
    then: { state: step-2 }
  # Step 2 of 5, 2027-01-15T08:00:02.000Z: POST /user/clear
  - when: { operation: "clear", state: step-2 }
    respond:
      status: 204
      delay: 7ms
    then: { state: step-3 }
  # Step 3 of 5, 2027-01-15T08:00:03.000Z: GET /user
  - when: { operation: "snapshot", state: step-3 }
    respond:
      status: 404
      headers: { content-type: "text/plain" }
      delay: 7ms
      body: { binary: "Z29uZSB7e3Nvb259fQ==" }
    then: { state: step-4 }
  # Step 4 of 5, 2027-01-15T08:00:04.000Z: GET /blob
  - when: { operation: "blob", state: step-4 }
    respond:
      status: 200
      headers: { content-type: "application/octet-stream" }
      delay: 7ms
      body: { binary: "AJ+Slg==" }
    then: { state: step-5 }
  # Step 5 of 5, 2027-01-15T08:00:05.000Z: GET /user
  # This call broke the spec; the answer is replayed as it was recorded.
  - when: { operation: "snapshot", state: step-5 }
    respond:
      status: 200
      delay: 7ms
      violations:
        - "/body/name expected string, found integer"
      body: { json: {"name":1} }
    then: { state: finished }
  # 2027-01-15T08:00:06.000Z: GET /nowhere: not replayed, no operation of the spec: a replay refuses it again.
"#
        );

        let source = crate::scenario::ScenarioSource {
            file_name: "qa.yaml".into(),
            label: "qa.yaml".into(),
            text,
        };
        let inputs = crate::app::Inputs {
            spec,
            fixtures: Default::default(),
            scenarios: vec![source],
            start_scenario: Some("qa".into()),
            seed: 0,
        };
        let (configuration, _) = crate::app::Configuration::build(inputs, 1).expect("the recording loads");
        let scenario = configuration.scenarios.get("qa").expect("named after its file");
        assert!(scenario.replay);
        assert_eq!(scenario.rules.len(), 5);
    }
}
