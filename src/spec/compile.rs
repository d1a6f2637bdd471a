//! Building validators from converted schemas.

use std::sync::Arc;

use serde_json::Value;

use super::model::CompiledSchema;

pub fn compile(document: Value) -> Result<CompiledSchema, String> {
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        // OpenAPI users expect `format: email` to mean it; JSON Schema 2020-12
        // only annotates formats unless told to assert them.
        .should_validate_formats(true)
        .build(&document)
        .map_err(|e| e.to_string())?;
    Ok(CompiledSchema {
        document: Arc::new(document),
        validator: Arc::new(validator),
    })
}
