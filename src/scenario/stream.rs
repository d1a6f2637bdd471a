//! Scripted WebSocket streams: the steps a rule's `stream:` runs, checked
//! at load time like responses are. Static frames are validated against the
//! operation's success response here; templated ones when they are sent.

use bytes::Bytes;
use serde_json::Value;

use super::engine::contains;
use super::file::{BodyFile, CloseFile, ExpectFile, RepeatFile, StepFile, StreamFaultFile};
use super::load::{binary_bytes, body_template, parse_delay, Context, StoreReads};
use super::{Delay, ScriptedBody};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::render::{encode_for, media_for, mismatch};
use crate::spec::Operation;

/// The steps of one rule's stream, run in order for each connection.
#[derive(Debug)]
pub struct Script {
    /// `file rules[N]`, for logs and close reasons.
    pub label: String,
    pub steps: Vec<Step>,
}

/// One step of a `stream:` script.
#[derive(Debug)]
pub enum Step {
    /// Sends a frame now.
    Send(Frame),
    /// Waits (a fixed or random time) before the next step.
    Wait(Delay),
    /// Waits until the operation is called in the session, then sends
    /// (templates read the call as `event.request` / `event.response`).
    On {
        /// The operation (an index into the spec) whose call the step waits for.
        operation: usize,
        /// The frame sent once the call came (`None`: only wait).
        send: Option<Frame>,
    },
    /// Waits for the client's next message; a different one closes the
    /// stream with 1008 (policy violation).
    Expect {
        /// What the client's message must be.
        expected: Expected,
        /// The frame sent once it came (`None`: only wait).
        send: Option<Frame>,
    },
    /// `None`: forever.
    Repeat {
        /// How many times the steps run.
        times: Option<u64>,
        /// The steps repeated, in order.
        steps: Vec<Step>,
    },
    /// Closes the stream with a close frame.
    Close {
        /// The close code sent.
        code: u16,
        /// The close reason sent (at most 123 bytes, the frame's limit).
        reason: String,
    },
    /// Misbehaves on the wire on purpose.
    Fault(StreamFault),
}

/// A frame a script sends.
#[derive(Debug)]
pub enum Frame {
    /// A binary frame, decoded from base64 at load time.
    Binary(Bytes),
    /// A text frame: JSON, or text for a response that declares a text media type.
    Text(ScriptedBody),
}

#[derive(Debug)]
pub enum Expected {
    Any,
    /// A JSON message containing this (objects by subset).
    Json(Value),
    Text(String),
}

/// A message from the client, as `expect` sees it.
#[derive(Debug, Clone, Copy)]
pub enum Received<'a> {
    Text(&'a str),
    Binary(&'a [u8]),
}

impl Expected {
    pub fn matches(&self, received: Received<'_>) -> bool {
        match (self, received) {
            (Expected::Any, _) => true,
            (Expected::Text(expected), Received::Text(text)) => expected == text,
            (Expected::Json(expected), Received::Text(text)) => {
                serde_json::from_str::<Value>(text).is_ok_and(|actual| contains(&actual, expected))
            }
            (_, Received::Binary(_)) => false,
        }
    }

    /// For the close reason when a different message arrives.
    pub fn describe(&self) -> String {
        match self {
            Expected::Any => "any message".into(),
            Expected::Json(value) => format!("JSON containing {value}"),
            Expected::Text(text) => format!("the text `{text}`"),
        }
    }
}

/// How a stream misbehaves on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamFault {
    /// Close the TCP connection without a close frame.
    Drop,
    /// A text frame that is not valid JSON.
    Malformed,
    /// A frame one byte larger than the largest message the server accepts.
    Oversize,
}

impl StreamFault {
    pub fn as_str(self) -> &'static str {
        match self {
            StreamFault::Drop => "drop",
            StreamFault::Malformed => "malformed",
            StreamFault::Oversize => "oversize",
        }
    }
}

/// What a step may refer to while it is checked.
pub(super) struct StepContext<'a, 'c> {
    pub context: &'a Context<'c>,
    /// The stream's own operation.
    pub op: &'a Operation,
    pub label: &'a str,
}

/// A stream's steps, each checked on its own.
pub(super) fn compile_script(
    steps: Vec<StepFile>,
    at: &str,
    rule_label: String,
    scope: &StepContext<'_, '_>,
    reads: &mut StoreReads,
) -> Result<Script, Diagnostics> {
    let mut problems = Diagnostics::default();
    if scope.op.method != http::Method::GET {
        problems.push(Diagnostic::at_pointer(
            scope.label,
            at,
            format!(
                "`{}` is {} {}: only GET operations take a WebSocket handshake",
                scope.op.id, scope.op.method, scope.op.path
            ),
        ));
    }
    let steps = problems.take(compile_steps(steps, at, scope, reads));
    let Some(steps) = steps.filter(|_| problems.is_empty()) else {
        return Err(problems);
    };
    Ok(Script {
        label: rule_label,
        steps,
    })
}

fn compile_steps(
    steps: Vec<StepFile>,
    at: &str,
    scope: &StepContext<'_, '_>,
    reads: &mut StoreReads,
) -> Result<Vec<Step>, Diagnostics> {
    if steps.is_empty() {
        return Err(Diagnostic::at_pointer(scope.label, at, "expected at least one step").into());
    }
    let mut problems = Diagnostics::default();
    let mut compiled = Vec::with_capacity(steps.len());
    for (index, step) in steps.into_iter().enumerate() {
        compiled.extend(problems.take(compile_step(step, &format!("{at}/{index}"), scope, reads)));
    }
    problems.or(compiled)
}

fn compile_step(
    step: StepFile,
    at: &str,
    scope: &StepContext<'_, '_>,
    reads: &mut StoreReads,
) -> Result<Step, Diagnostics> {
    let fail = |message: &str| Err(Diagnostic::at_pointer(scope.label, at, message.to_string()).into());
    let StepFile {
        send,
        wait,
        on,
        expect,
        repeat,
        steps,
        close,
        fault,
    } = step;
    let kinds = [
        wait.is_some(),
        on.is_some(),
        expect.is_some(),
        repeat.is_some(),
        close.is_some(),
        fault.is_some(),
    ];
    let leading = kinds.iter().filter(|k| **k).count();
    let expected_shape = "a step is one of `send`, `wait`, `on` (with an optional `send`), `expect` (with an optional `send`), `repeat` with `steps`, `close`, `fault`";
    if leading > 1 || (leading == 0 && send.is_none()) {
        return fail(expected_shape);
    }
    if steps.is_some() != repeat.is_some() {
        return fail("`repeat` and `steps` go together");
    }
    if send.is_some() && !(leading == 0 || on.is_some() || expect.is_some()) {
        return fail(expected_shape);
    }
    let frame = |send: Option<BodyFile>, event: Option<&Operation>, reads: &mut StoreReads| {
        send.map(|frame| compile_frame(frame, &format!("{at}/send"), event, scope, reads))
            .transpose()
    };
    if let Some(text) = wait {
        let delay = parse_delay(&text).map_err(|e| Diagnostic::at_pointer(scope.label, format!("{at}/wait"), e))?;
        return Ok(Step::Wait(delay));
    }
    if let Some(reference) = on {
        let spec = scope.context.spec;
        let operation = crate::spec::find_operation(spec, &reference)
            .map_err(|message| Diagnostic::at_pointer(scope.label, format!("{at}/on"), message))?;
        let send = frame(send, Some(&spec.operations[operation]), reads)?;
        return Ok(Step::On { operation, send });
    }
    if let Some(expect) = expect {
        let expected = match expect {
            ExpectFile { json: None, text: None } => Expected::Any,
            ExpectFile {
                json: Some(json),
                text: None,
            } => Expected::Json(json),
            ExpectFile {
                json: None,
                text: Some(text),
            } => Expected::Text(text),
            _ => return fail("`expect` takes `json` or `text`, not both"),
        };
        let send = frame(send, None, reads)?;
        return Ok(Step::Expect { expected, send });
    }
    if let (Some(repeat), Some(steps)) = (repeat, steps) {
        let times = match repeat {
            RepeatFile::Times(0) => return fail("`repeat: 0` runs nothing: remove the step"),
            RepeatFile::Times(times) => Some(times),
            RepeatFile::Forever(_) => None,
        };
        let steps = compile_steps(steps, &format!("{at}/steps"), scope, reads)?;
        if times.is_none() && !steps.iter().any(takes_time) {
            return Err(Diagnostic::at_pointer(
                scope.label,
                format!("{at}/steps"),
                "`repeat: forever` needs a `wait`, `on` or `expect` among its steps, or it floods the client",
            )
            .into());
        }
        return Ok(Step::Repeat { times, steps });
    }
    if let Some(CloseFile { code, reason }) = close {
        if !is_sendable_close_code(code) {
            return Err(Diagnostic::at_pointer(
                scope.label,
                format!("{at}/close/code"),
                format!("{code} cannot be sent in a close frame: expected 1000-1003, 1007-1014 or 3000-4999"),
            )
            .into());
        }
        if reason.len() > MAX_CLOSE_REASON {
            return Err(Diagnostic::at_pointer(
                scope.label,
                format!("{at}/close/reason"),
                format!(
                    "a close reason has at most {MAX_CLOSE_REASON} bytes (this one has {})",
                    reason.len()
                ),
            )
            .into());
        }
        return Ok(Step::Close { code, reason });
    }
    if let Some(fault) = fault {
        return Ok(Step::Fault(match fault {
            StreamFaultFile::Drop => StreamFault::Drop,
            StreamFaultFile::Malformed => StreamFault::Malformed,
            StreamFaultFile::Oversize => StreamFault::Oversize,
        }));
    }
    match frame(send, None, reads)? {
        Some(frame) => Ok(Step::Send(frame)),
        None => fail(expected_shape),
    }
}

/// The longest close reason a control frame can carry (125 bytes minus the code).
pub const MAX_CLOSE_REASON: usize = 123;

fn is_sendable_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

fn takes_time(step: &Step) -> bool {
    match step {
        Step::Wait(delay) => !delay.max.is_zero(),
        Step::On { .. } | Step::Expect { .. } | Step::Close { .. } | Step::Fault(_) => true,
        Step::Repeat { steps, .. } => steps.iter().any(takes_time),
        Step::Send(_) => false,
    }
}

/// A frame, checked against the stream operation's success response.
/// `event` is the operation an `on:` step waits for (what `event.*` reads).
fn compile_frame(
    mut body: BodyFile,
    at: &str,
    event: Option<&Operation>,
    scope: &StepContext<'_, '_>,
    reads: &mut StoreReads,
) -> Result<Frame, Diagnostic> {
    if let Some(base64) = body.binary.take() {
        return binary_bytes(&base64, &body, at, scope.label).map(Frame::Binary);
    }
    let op = scope.op;
    let success = op.default_response().filter(|r| !r.content.is_empty()).ok_or_else(|| {
        Diagnostic::at_pointer(
            scope.label,
            at,
            format!("`{}` declares no response content for its frames to follow", op.id),
        )
    })?;
    let status = success.status.representative();
    let media = media_for(&success.content, body.text.is_some());
    let template = body_template(body, Some(op), media, at, scope.label, scope.context, reads, event)?;
    Ok(Frame::Text(match template.as_static() {
        Some(value) => {
            if let Some(problem) = media.and_then(|m| mismatch(m, &value)) {
                return Err(Diagnostic::at_pointer(
                    scope.label,
                    at,
                    format!(
                        "the frame does not match the schema of `{}` status {status}: {problem}",
                        op.id
                    ),
                ));
            }
            ScriptedBody::Ready(encode_for(status, media, &value))
        }
        None => ScriptedBody::Template {
            body: template,
            media: media.cloned(),
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn expected_json_matches_by_subset_and_text_exactly() {
        let json = Expected::Json(json!({"type": "ping"}));
        assert!(json.matches(Received::Text(r#"{"type":"ping","id":1}"#)));
        assert!(!json.matches(Received::Text(r#"{"type":"pong"}"#)));
        assert!(!json.matches(Received::Text("ping")), "not JSON");
        assert!(!json.matches(Received::Binary(b"{}")));
        let text = Expected::Text("hello".into());
        assert!(text.matches(Received::Text("hello")));
        assert!(!text.matches(Received::Text("hello ")));
        assert!(Expected::Any.matches(Received::Binary(&[1, 2])));
    }

    #[test]
    fn close_codes_are_those_an_endpoint_may_send() {
        for code in [1000, 1003, 1007, 1014, 3000, 4999] {
            assert!(is_sendable_close_code(code), "{code}");
        }
        for code in [999, 1004, 1005, 1006, 1015, 2999, 5000] {
            assert!(!is_sendable_close_code(code), "{code}");
        }
    }
}
