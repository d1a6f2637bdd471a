//! A JSON value that travels from a request into a session's store and back
//! out in answers, shared rather than copied, together with the compiled
//! schema it is already known to satisfy. A stored profile answered under
//! the schema its request was validated against is then neither copied nor
//! validated again.

use std::sync::Arc;

use serde_json::Value;

use crate::spec::CompiledSchema;

/// A JSON value shared between a request, a store and answers, with the schema it is known to pass.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The value, shared.
    pub value: Arc<Value>,
    /// The schema `value` passed, compared by identity: the same compiled
    /// validator gives the same verdict, so a second check is redundant.
    passed: Option<Arc<jsonschema::Validator>>,
}

impl Checked {
    /// A value no schema has vouched for yet.
    pub fn unchecked(value: impl Into<Arc<Value>>) -> Self {
        Self {
            value: value.into(),
            passed: None,
        }
    }

    /// A value `schema` accepted.
    pub fn passed(value: impl Into<Arc<Value>>, schema: &CompiledSchema) -> Self {
        Self {
            value: value.into(),
            passed: Some(schema.validator.clone()),
        }
    }

    /// Whether `schema` is known to accept the value without running it.
    pub fn is_known_to_satisfy(&self, schema: &CompiledSchema) -> bool {
        self.passed
            .as_ref()
            .is_some_and(|passed| Arc::ptr_eq(passed, &schema.validator))
    }
}

/// Equal values are equal whatever was proved about them.
impl PartialEq for Checked {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl serde::Serialize for Checked {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(serializer)
    }
}
