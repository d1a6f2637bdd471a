//! Scripted WebSocket streams: the steps a rule's `stream:` runs, and
//! matching what the client sends. The loader compiles them
//! (`load/script.rs`), checked at load time like responses are.

use bytes::Bytes;
use serde_json::Value;

use super::{Delay, ScriptedBody};
use crate::json_subset::contains;

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

/// The longest close reason a control frame can carry (125 bytes minus the code).
pub const MAX_CLOSE_REASON: usize = 123;

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
}
