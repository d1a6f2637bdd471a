//! A `stream:` script compiled: each step checked on its own, static
//! frames against the operation's success response (templated ones are
//! checked when they are sent).

use super::{binary_bytes, parse_delay, FileCompiler, Readable};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::render::{encode_for, media_for, mismatch};
use crate::scenario::file::{BodyFile, CloseFile, ExpectFile, RepeatFile, StepFile, StreamFaultFile};
use crate::scenario::stream::{Expected, Frame, Script, Step, StreamFault, MAX_CLOSE_REASON};
use crate::scenario::ScriptedBody;
use crate::spec::Operation;

/// One rule's stream being compiled, in its file.
pub(super) struct ScriptCompiler<'f, 'a> {
    pub file: &'f mut FileCompiler<'a>,
    /// The stream's own operation.
    pub op: &'a Operation,
}

impl ScriptCompiler<'_, '_> {
    /// A stream's steps, each checked on its own.
    pub(super) fn compile(mut self, steps: Vec<StepFile>, at: &str, rule_label: String) -> Result<Script, Diagnostics> {
        let mut problems = Diagnostics::default();
        let op = self.op;
        if op.method != http::Method::GET {
            problems.push(Diagnostic::at_pointer(
                self.file.label,
                at,
                format!(
                    "`{}` is {} {}: only GET operations take a WebSocket handshake",
                    op.id, op.method, op.path
                ),
            ));
        }
        let steps = problems.take(self.steps(steps, at));
        let Some(steps) = steps.filter(|_| problems.is_empty()) else {
            return Err(problems);
        };
        Ok(Script {
            label: rule_label,
            steps,
        })
    }

    fn steps(&mut self, steps: Vec<StepFile>, at: &str) -> Result<Vec<Step>, Diagnostics> {
        if steps.is_empty() {
            return Err(Diagnostic::at_pointer(self.file.label, at, "expected at least one step").into());
        }
        let mut problems = Diagnostics::default();
        let mut compiled = Vec::with_capacity(steps.len());
        for (index, step) in steps.into_iter().enumerate() {
            compiled.extend(problems.take(self.step(step, &format!("{at}/{index}"))));
        }
        problems.or(compiled)
    }

    fn step(&mut self, step: StepFile, at: &str) -> Result<Step, Diagnostics> {
        let label = self.file.label;
        let fail = |message: &str| Err(Diagnostic::at_pointer(label, at, message.to_string()).into());
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
        if let Some(text) = wait {
            let delay = parse_delay(&text).map_err(|e| Diagnostic::at_pointer(label, format!("{at}/wait"), e))?;
            return Ok(Step::Wait(delay));
        }
        if let Some(reference) = on {
            let spec = self.file.context.spec;
            let operation = crate::spec::find_operation(spec, &reference)
                .map_err(|message| Diagnostic::at_pointer(label, format!("{at}/on"), message))?;
            let send = self.send(send, at, Some(&spec.operations[operation]))?;
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
            let send = self.send(send, at, None)?;
            return Ok(Step::Expect { expected, send });
        }
        if let (Some(repeat), Some(steps)) = (repeat, steps) {
            let times = match repeat {
                RepeatFile::Times(0) => return fail("`repeat: 0` runs nothing: remove the step"),
                RepeatFile::Times(times) => Some(times),
                RepeatFile::Forever(_) => None,
            };
            let steps = self.steps(steps, &format!("{at}/steps"))?;
            if times.is_none() && !steps.iter().any(takes_time) {
                return Err(Diagnostic::at_pointer(
                    label,
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
                    label,
                    format!("{at}/close/code"),
                    format!("{code} cannot be sent in a close frame: expected 1000-1003, 1007-1014 or 3000-4999"),
                )
                .into());
            }
            if reason.len() > MAX_CLOSE_REASON {
                return Err(Diagnostic::at_pointer(
                    label,
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
        match self.send(send, at, None)? {
            Some(frame) => Ok(Step::Send(frame)),
            None => fail(expected_shape),
        }
    }

    /// A step's `send:`, if any.
    fn send(
        &mut self,
        send: Option<BodyFile>,
        at: &str,
        event: Option<&Operation>,
    ) -> Result<Option<Frame>, Diagnostic> {
        send.map(|frame| self.frame(frame, &format!("{at}/send"), event))
            .transpose()
    }

    /// A frame, checked against the stream operation's success response.
    /// `event` is the operation an `on:` step waits for (what `event.*` reads).
    fn frame(&mut self, mut body: BodyFile, at: &str, event: Option<&Operation>) -> Result<Frame, Diagnostic> {
        let (label, op) = (self.file.label, self.op);
        if let Some(base64) = body.binary.take() {
            return binary_bytes(&base64, &body, at, label).map(Frame::Binary);
        }
        let success = op.default_response().filter(|r| !r.content.is_empty()).ok_or_else(|| {
            Diagnostic::at_pointer(
                label,
                at,
                format!("`{}` declares no response content for its frames to follow", op.id),
            )
        })?;
        let status = success.status.representative();
        let media = media_for(&success.content, body.form());
        let readable = Readable {
            request: Some(op),
            event,
        };
        let template = self.file.body_template(body, media, readable, at)?;
        Ok(Frame::Text(match template.as_static() {
            Some(value) => {
                if let Some(problem) = media.and_then(|m| mismatch(m, &value)) {
                    return Err(Diagnostic::at_pointer(
                        label,
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
}

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

#[cfg(test)]
mod tests {
    use super::*;

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
