//! The scenario file format as written by people (YAML). `load.rs` turns it
//! into the checked, compiled form the engine runs.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use crate::render::BodyForm;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Defaults to the file name without `.yaml`.
    pub name: Option<String>,
    #[serde(default)]
    pub description: String,
    /// The state a session starts in.
    pub initial: Option<String>,
    /// Another scenario whose rules apply after this file's own (and whose
    /// `initial` and `store` apply unless this file sets them).
    pub extends: Option<String>,
    /// What a session's store holds when it starts.
    pub store: Option<BTreeMap<String, BodyFile>>,
    #[serde(default)]
    pub rules: Vec<RuleFile>,
    /// A recorded session (`specmock --record`): each state is a step, and a
    /// call no rule expects is journaled with where the replay stands.
    #[serde(default)]
    pub replay: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    pub when: WhenFile,
    /// Either `respond` or `stream`.
    pub respond: Option<OneOrMany<ResponseFile>>,
    /// A WebSocket frame script, run when the request is a handshake.
    pub stream: Option<Vec<StepFile>>,
    /// After the last response of a sequence, start again from the first
    /// (otherwise the last one repeats).
    #[serde(default)]
    pub cycle: bool,
    /// The rule matches this many times, then steps aside (later rules,
    /// or those of the extended scenario, answer).
    pub times: Option<u64>,
    /// Values written to the session's store when the rule matches, before
    /// its response is rendered (so the response can show them).
    pub store: Option<BTreeMap<String, BodyFile>>,
    /// Store keys removed when the rule matches.
    #[serde(default)]
    pub forget: Vec<String>,
    pub then: Option<ThenFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhenFile {
    /// An operationId, or `METHOD /path/template`.
    pub operation: String,
    pub state: Option<OneOrMany<String>>,
    /// Matches when the request body contains this JSON (objects by subset).
    pub body: Option<Value>,
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub path: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseFile {
    /// Required, unless `proxy: true`.
    pub status: Option<u16>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Omitted: the spec's body for that status (fixture, example or generated).
    pub body: Option<BodyFile>,
    /// `300ms`, `2s`, or a range `100ms..500ms`.
    pub delay: Option<String>,
    pub fault: Option<FaultFile>,
    /// `proxy: true`: this call goes to `--upstream` instead (alone: no
    /// status, headers, body, delay or fault).
    #[serde(default)]
    pub proxy: bool,
    /// How the recorded answer broke the spec: it is replayed as it was
    /// (status, content and body unchecked), and `check` warns about it.
    #[serde(default)]
    pub violations: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultFile {
    Reset,
    Close,
    Truncate,
    Malformed,
    UndeclaredStatus,
}

/// Exactly one source, optionally with fields merged over it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BodyFile {
    pub fixture: Option<String>,
    /// `json: null` is a body too (hence not a plain `Option`).
    #[serde(default, deserialize_with = "present")]
    pub json: Option<Value>,
    pub text: Option<String>,
    pub example: Option<String>,
    #[serde(default)]
    pub generate: bool,
    /// `store.KEY[.FIELD...]` or `request.body[.FIELD...]`: the same as
    /// `json: "{{...}}"`.
    pub from: Option<String>,
    /// Deep-merged over the source (templates allowed).
    pub merge: Option<Value>,
    /// Base64: a binary stream frame, or a response body sent byte for
    /// byte (never a template, never checked against a schema).
    pub binary: Option<String>,
}

impl BodyFile {
    /// How the body is written on the wire: `text:` as its text, every
    /// other source as a JSON value.
    pub fn form(&self) -> BodyForm {
        match self.text {
            Some(_) => BodyForm::Text,
            None => BodyForm::Json,
        }
    }

    /// How many sources (not counting `merge` and `binary`) are given.
    pub fn sources(&self) -> usize {
        [
            self.fixture.is_some(),
            self.json.is_some(),
            self.text.is_some(),
            self.example.is_some(),
            self.generate,
            self.from.is_some(),
        ]
        .into_iter()
        .filter(|given| *given)
        .count()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThenFile {
    pub state: String,
}

/// One step of a stream script: exactly one of `send`, `wait`, `on`,
/// `expect`, `repeat`, `close`, `fault` (`on` and `expect` may carry a
/// `send`, `repeat` carries `steps`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepFile {
    pub send: Option<BodyFile>,
    pub wait: Option<String>,
    pub on: Option<String>,
    pub expect: Option<ExpectFile>,
    pub repeat: Option<RepeatFile>,
    pub steps: Option<Vec<StepFile>>,
    pub close: Option<CloseFile>,
    pub fault: Option<StreamFaultFile>,
}

/// What the client is expected to send next; nothing given: any message.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectFile {
    /// A JSON message containing this (objects by subset).
    #[serde(default, deserialize_with = "present")]
    pub json: Option<Value>,
    /// A text message equal to this.
    pub text: Option<String>,
}

/// `repeat: 3` or `repeat: forever`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RepeatFile {
    Times(u64),
    Forever(Forever),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Forever {
    Forever,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseFile {
    pub code: u16,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StreamFaultFile {
    Drop,
    Malformed,
    Oversize,
}

/// A field that is present, whatever its value (`null` included).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// `x` or `[x, y]`. Deserialized by hand (not `untagged`) so that errors
/// inside keep their line and column.
#[derive(Debug)]
pub struct OneOrMany<T>(pub Vec<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OneOrManyVisitor<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for OneOrManyVisitor<T> {
            type Value = OneOrMany<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("one item or a list of items")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                Vec::deserialize(SeqAccessDeserializer::new(seq)).map(OneOrMany)
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(|one| OneOrMany(vec![one]))
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
                T::deserialize(de::value::StrDeserializer::<E>::new(text)).map(|one| OneOrMany(vec![one]))
            }
        }

        deserializer.deserialize_any(OneOrManyVisitor(PhantomData))
    }
}
