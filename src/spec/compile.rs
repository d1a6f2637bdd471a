//! Building validators from converted schemas.

use std::sync::{Arc, Once};

use serde_json::{json, Value};

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

/// jsonschema reads its meta-schemas and builds their validator the first
/// time a schema is compiled (some 2 ms, a tenth of a start): begun on the
/// other core while the spec is read, it is ready (or nearly) by the time
/// the spec's first schema is compiled, which waits for it if it is not.
pub fn prepare_in_background() {
    static STARTED: Once = Once::new();
    STARTED.call_once(|| {
        // Without a thread, the first compile does it as it always did.
        let _ = std::thread::Builder::new()
            .name("jsonschema-prepare".into())
            .spawn(|| compile(json!({"type": "string"})));
    });
}
