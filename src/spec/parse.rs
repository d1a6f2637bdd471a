//! A document's text (YAML or JSON) parsed into a value within its budgets:
//! nodes, scalar bytes and depth, and for YAML alias expansion (YAML bombs).
//! Pure: `source.rs` reads the files.

use serde_json::Value;

use super::budget::yaml_options;
use super::json_budget;
use crate::diagnostic::{without_position, Diagnostic};

pub use super::budget::NodeBudget;

/// Parses YAML or JSON text into a JSON value within its budgets: nodes,
/// scalar bytes and depth, and for YAML alias expansion (YAML bombs).
pub fn parse_document(file: &str, text: &str, nodes: NodeBudget) -> Result<Value, Diagnostic> {
    if let Some(value) = Some(text)
        .filter(|_| !is_json(file))
        .and_then(crate::embedded::parsed_yaml)
    {
        return Ok(value);
    }
    parse_typed(file, text, nodes)
}

/// Whether a document is read as JSON (else as YAML).
fn is_json(file: &str) -> bool {
    file.ends_with(".json")
}

/// Deserializes YAML or JSON text straight into a typed model, so that type
/// errors carry the line and column of the offending node.
pub fn parse_typed<T: serde::de::DeserializeOwned>(file: &str, text: &str, nodes: NodeBudget) -> Result<T, Diagnostic> {
    if is_json(file) {
        return json_budget::from_str(text, nodes)
            .map_err(|e| Diagnostic::at_json_error(file, &e, without_position(&e.to_string())));
    }
    let options = yaml_options(nodes);
    serde_saphyr::from_str_with_options(text, options).map_err(|e| yaml_diagnostic(file, &e))
}

fn yaml_diagnostic(file: &str, error: &serde_saphyr::Error) -> Diagnostic {
    let message = without_position(&error.to_string()).to_string();
    match error.location() {
        Some(at) => Diagnostic::at_line(file, at.line(), at.column(), message),
        None => Diagnostic::in_file(file, message),
    }
}
