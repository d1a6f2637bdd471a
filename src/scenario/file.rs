//! The scenario file format as written by people (YAML). `load.rs` turns it
//! into the checked, compiled form the engine runs.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Defaults to the file name without `.yaml`.
    pub name: Option<String>,
    #[serde(default)]
    pub description: String,
    /// The state a session starts in.
    pub initial: Option<String>,
    #[serde(default)]
    pub rules: Vec<RuleFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    pub when: WhenFile,
    pub respond: OneOrMany<ResponseFile>,
    /// After the last response of a sequence, start again from the first
    /// (otherwise the last one repeats).
    #[serde(default)]
    pub cycle: bool,
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
    pub status: u16,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Omitted: the spec's body for that status (fixture, example or generated).
    pub body: Option<BodyFile>,
}

/// Exactly one source.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BodyFile {
    pub fixture: Option<String>,
    pub json: Option<Value>,
    pub text: Option<String>,
    pub example: Option<String>,
    #[serde(default)]
    pub generate: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThenFile {
    pub state: String,
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
