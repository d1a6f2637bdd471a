//! A broken rule of the contract, located by a JSON pointer into the request
//! (`/body/aesthetics/theme`, `/query/limit`, `/header/x-app-id`).

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::ValidationError;
use serde::Serialize;
use serde_json::Value;

use crate::diagnostic::escape_pointer_token;
use crate::spec::CompiledSchema;

/// One way a request (or a relayed answer) breaks the spec.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Violation {
    /// Where: `/body/id`, `/query/limit`, `/header/x-api-key` ...
    pub pointer: String,
    /// The JSON Schema keyword or request rule broken: `required`, `type`, `enum`, `format` ...
    pub rule: String,
    /// What is wrong, in words.
    pub message: String,
    /// The values the spec allows there, when it lists them (an `enum`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Value>,
    /// Who broke the contract; shown only for the provider, so every
    /// violation a client caused reads as it always has.
    #[serde(skip_serializing_if = "Side::is_client")]
    pub side: Side,
}

/// The party a violation is charged to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Side {
    /// The client's request broke the spec.
    #[default]
    Client,
    /// The upstream's answer broke the spec (`--upstream`).
    Provider,
}

impl Side {
    /// Whether the client broke the contract.
    pub(crate) fn is_client(&self) -> bool {
        *self == Side::Client
    }
}

impl Violation {
    /// A violation of `rule` at `pointer`, charged to the client.
    pub(crate) fn new(pointer: impl Into<String>, rule: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            pointer: pointer.into(),
            rule: rule.into(),
            message: message.into(),
            allowed: None,
            side: Side::Client,
        }
    }

    /// The same violation, charged to the provider.
    pub(crate) fn by_provider(self) -> Self {
        Self {
            side: Side::Provider,
            ..self
        }
    }
}

/// `/body/id (type): expected string, found integer`, as reports and
/// verifications quote a violation.
impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.pointer, self.rule, self.message)
    }
}

/// Every violation of `schema` by `instance`, pointers prefixed with `prefix`.
pub fn schema_violations(schema: &CompiledSchema, instance: &Value, prefix: &str) -> Vec<Violation> {
    // The fast yes/no first: collecting errors walks the instance with far
    // more bookkeeping, and most instances have none (a 13 KB profile: a
    // sixth of the time of a whole POST /user/update).
    if schema.validator.is_valid(instance) {
        return Vec::new();
    }
    schema
        .validator
        .iter_errors(instance)
        .flat_map(|error| error_violations(&error, prefix))
        .collect()
}

/// The violations one validator error stands for (one per unexpected
/// property), pointers prefixed with `prefix`.
pub fn error_violations(error: &ValidationError<'_>, prefix: &str) -> Vec<Violation> {
    let at = format!("{prefix}{}", error.instance_path().as_str());
    match error.kind() {
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().map_or_else(|| property.to_string(), str::to_string);
            vec![Violation::new(
                format!("{at}/{}", escape_pointer_token(&name)),
                "required",
                format!("required property `{name}` is missing"),
            )]
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => unexpected
            .iter()
            .map(|name| {
                Violation::new(
                    format!("{at}/{}", escape_pointer_token(name)),
                    "additionalProperties",
                    format!("property `{name}` is not allowed here"),
                )
            })
            .collect(),
        ValidationErrorKind::Enum { options } => vec![Violation {
            pointer: at,
            rule: "enum".into(),
            message: format!("{} is not one of the allowed values", short(error.instance())),
            allowed: Some(options.as_ref().clone()),
            side: Side::Client,
        }],
        ValidationErrorKind::Type { kind } => {
            let expected = match kind {
                TypeKind::Single(single) => single.to_string(),
                TypeKind::Multiple(set) => set.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(" or "),
            };
            vec![Violation::new(
                at,
                "type",
                format!("expected {expected}, found {}", json_type(error.instance())),
            )]
        }
        ValidationErrorKind::Format { format } => vec![Violation::new(
            at,
            "format",
            format!("{} is not a valid `{format}`", short(error.instance())),
        )],
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            // `X | None` (`anyOf: [X, {type: "null"}]`): a branch of another
            // type cannot be what was meant, so the one left says what is wrong.
            let mut meant = context.iter().filter(|branch| !is_of_another_type(branch, error));
            match (meant.next(), meant.next()) {
                (Some(branch), None) if !branch.is_empty() => branch
                    .iter()
                    .flat_map(|inner| error_violations(inner, prefix))
                    .collect(),
                _ => vec![Violation::new(at, error.kind().keyword(), error.to_string())],
            }
        }
        kind => vec![Violation::new(at, kind.keyword(), error.to_string())],
    }
}

/// Whether a branch refused the value for its type alone.
fn is_of_another_type(branch: &[ValidationError<'_>], error: &ValidationError<'_>) -> bool {
    matches!(branch, [only] if matches!(only.kind(), ValidationErrorKind::Type { .. })
        && only.instance_path() == error.instance_path())
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if crate::json_number::is_integer_text(n) => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A value quoted for a message, cut short when long.
fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= 80 {
        return text;
    }
    let cut: String = text.chars().take(77).collect();
    format!("{cut}...")
}
