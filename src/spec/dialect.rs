//! OpenAPI 3.0 Schema Objects -> JSON Schema 2020-12.
//!
//! OAS 3.0 is a dialect of JSON Schema draft 5 with its own keywords; a
//! validator that read it literally would get `nullable`, boolean
//! `exclusiveMinimum`, `readOnly`/`writeOnly` and `discriminator` wrong. Each
//! direction (request, response) gets its own converted set, because
//! `required` means something different in each for read-only and write-only
//! properties. Every reachable schema lands in `$defs`, under its component
//! name where it has one, so that recursive models stay references.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::source::{unresolved, Documents, RefTarget};
use crate::diagnostic::{escape_pointer_token, Diagnostic};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Request,
    Response,
}

/// What a document's Schema Objects are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// OAS 3.0's own: converted keyword by keyword.
    Oas30,
    /// OAS 3.1's, JSON Schema 2020-12: kept as written, references and
    /// `required` (per direction) rewritten.
    JsonSchema,
}

/// All schemas converted for one direction.
pub struct SchemaSet {
    direction: Direction,
    dialect: Dialect,
    defs: Map<String, Value>,
    names: HashMap<RefTarget, String>,
    pending: Vec<(RefTarget, String)>,
    /// Each def's text and the defs it names, written once: a def does not
    /// change once converted, and the large ones are reached from many schemas.
    written: HashMap<String, Written>,
    /// Keywords a 3.1 schema carries that mean nothing there, each once.
    warnings: Vec<Diagnostic>,
}

/// A converted def as JSON text, and the names of the defs it references.
struct Written {
    text: String,
    refs: Vec<String>,
}

/// How many `$ref`/`allOf` hops a `required` name is looked up through (a
/// cycle of references ends here, not in a stack overflow).
const MAX_DECLARATION_DEPTH: usize = 16;

const COPIED_KEYWORDS: &[&str] = &[
    "type",
    "enum",
    "format",
    "pattern",
    "minLength",
    "maxLength",
    "multipleOf",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "title",
    "description",
    "default",
    "example",
    "deprecated",
    // Annotations in JSON Schema; kept so the generator can leave write-only
    // properties out of responses.
    "readOnly",
    "writeOnly",
];

impl SchemaSet {
    pub fn new(direction: Direction) -> Self {
        Self {
            direction,
            dialect: Dialect::Oas30,
            defs: Map::new(),
            names: HashMap::new(),
            pending: Vec::new(),
            written: HashMap::new(),
            warnings: Vec::new(),
        }
    }

    pub fn in_dialect(self, dialect: Dialect) -> Self {
        Self { dialect, ..self }
    }

    /// The warnings found so far, handed over once.
    pub fn take_warnings(&mut self) -> Vec<Diagnostic> {
        std::mem::take(&mut self.warnings)
    }

    /// Converts the schema at `pointer` in `file`, plus everything it references.
    pub fn convert(
        &mut self,
        docs: &mut Documents,
        file: &Arc<str>,
        pointer: &str,
        schema: &Value,
    ) -> Result<Value, Diagnostic> {
        let converted = self.convert_node(docs, file, pointer, schema)?;
        while let Some((target, name)) = self.pending.pop() {
            let Some(raw) = docs.value(&target).cloned() else {
                return Err(unresolved(&target, &target.pointer));
            };
            let def = self.convert_node(docs, &target.file, &target.pointer, &raw)?;
            self.defs.insert(name, def);
        }
        Ok(converted)
    }

    /// The converted schema as a standalone document: the schema itself plus
    /// the `$defs` it reaches (and only those, to keep compilation small).
    pub fn standalone(&mut self, converted: &Value) -> Value {
        let reachable: Map<String, Value> = self
            .reachable(converted)
            .into_iter()
            .filter_map(|name| Some((name.clone(), self.defs.get(&name)?.clone())))
            .collect();
        let mut document = match converted {
            Value::Object(map) => map.clone(),
            other => Map::from_iter([("allOf".to_string(), json!([other]))]),
        };
        if !reachable.is_empty() {
            document.insert("$defs".into(), Value::Object(reachable));
        }
        Value::Object(document)
    }

    /// What `standalone(converted)` would be, as text, without building it:
    /// equal texts, the same document (the key under which a compiled schema
    /// is shared, in either direction).
    pub fn identity(&mut self, converted: &Value) -> String {
        let reachable = self.reachable(converted);
        // `[schema, {name: def, ...}]`, the defs by name.
        let mut identity = format!("[{converted},{{");
        for (index, name) in reachable.iter().enumerate() {
            if index > 0 {
                identity.push(',');
            }
            let text = &self.written[name].text;
            write!(identity, "{}:{text}", Value::String(name.clone())).expect("writing to a String succeeds");
        }
        identity.push_str("}]");
        identity
    }

    /// The names of the defs `converted` reaches.
    fn reachable(&mut self, converted: &Value) -> BTreeSet<String> {
        let mut reachable = BTreeSet::new();
        let mut queue = Vec::new();
        collect_refs(converted, &mut queue);
        while let Some(name) = queue.pop() {
            if reachable.contains(&name) {
                continue;
            }
            if let Some(written) = self.written(&name) {
                queue.extend(written.refs.iter().cloned());
                reachable.insert(name);
            }
        }
        reachable
    }

    /// The def `name` written, if there is one.
    fn written(&mut self, name: &str) -> Option<&Written> {
        if !self.written.contains_key(name) {
            let def = self.defs.get(name)?;
            let mut refs = Vec::new();
            collect_refs(def, &mut refs);
            let text = def.to_string();
            self.written.insert(name.to_string(), Written { text, refs });
        }
        self.written.get(name)
    }

    fn name_for(&mut self, docs: &Documents, target: RefTarget) -> String {
        if let Some(name) = self.names.get(&target) {
            return name.clone();
        }
        let component = (target.file == *docs.root_file())
            .then(|| target.pointer.strip_prefix("/components/schemas/"))
            .flatten()
            .filter(|name| !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)));
        let name = match component {
            Some(name) if !self.defs.contains_key(name) => name.to_string(),
            _ => format!("ref{}", self.names.len()),
        };
        self.names.insert(target.clone(), name.clone());
        // Placeholder so a name is never handed out twice before its schema is converted.
        self.defs.insert(name.clone(), Value::Bool(true));
        self.pending.push((target, name.clone()));
        name
    }

    fn convert_node(
        &mut self,
        docs: &mut Documents,
        file: &Arc<str>,
        pointer: &str,
        schema: &Value,
    ) -> Result<Value, Diagnostic> {
        if self.dialect == Dialect::JsonSchema {
            return self.convert_json_schema(docs, file, pointer, schema);
        }
        let Value::Object(map) = schema else {
            return Err(Diagnostic::at_pointer(
                file.as_ref(),
                pointer,
                format!("expected a Schema Object, found {}", kind_of(schema)),
            ));
        };
        if let Some(reference) = map.get("$ref") {
            // OAS 3.0: siblings of $ref are ignored.
            return Ok(json!({ "$ref": self.reference(docs, file, pointer, reference)? }));
        }

        let mut out = Map::new();
        for keyword in COPIED_KEYWORDS {
            if let Some(value) = map.get(*keyword) {
                out.insert(keyword.to_string(), value.clone());
            }
        }
        convert_bounds(map, &mut out);
        add_integer_format_bounds(&mut out);

        if let Some(properties) = map.get("properties") {
            let properties = properties
                .as_object()
                .ok_or_else(|| Diagnostic::at_pointer(file.as_ref(), pointer, "`properties` must be a map"))?;
            let mut converted = Map::new();
            for (name, property) in properties {
                let at = format!("{pointer}/properties/{}", escape_pointer_token(name));
                converted.insert(name.clone(), self.convert_node(docs, file, &at, property)?);
            }
            out.insert("properties".into(), Value::Object(converted));
        }
        if let Some(required) = map.get("required") {
            let kept = self.required(docs, file, pointer, map, required)?;
            if !kept.is_empty() {
                out.insert("required".into(), Value::Array(kept));
            }
        }
        if let Some(items) = map.get("items") {
            out.insert(
                "items".into(),
                self.convert_node(docs, file, &format!("{pointer}/items"), items)?,
            );
        }
        match map.get("additionalProperties") {
            Some(Value::Bool(allowed)) => {
                out.insert("additionalProperties".into(), Value::Bool(*allowed));
            }
            Some(schema) => {
                let at = format!("{pointer}/additionalProperties");
                out.insert(
                    "additionalProperties".into(),
                    self.convert_node(docs, file, &at, schema)?,
                );
            }
            None => {}
        }
        if let Some(not) = map.get("not") {
            out.insert(
                "not".into(),
                self.convert_node(docs, file, &format!("{pointer}/not"), not)?,
            );
        }
        for combinator in ["allOf", "oneOf", "anyOf"] {
            if let Some(list) = map.get(combinator) {
                let items = list.as_array().ok_or_else(|| {
                    Diagnostic::at_pointer(
                        file.as_ref(),
                        pointer,
                        format!("`{combinator}` must be a list of schemas"),
                    )
                })?;
                let mut converted = Vec::with_capacity(items.len());
                for (index, item) in items.iter().enumerate() {
                    converted.push(self.convert_node(docs, file, &format!("{pointer}/{combinator}/{index}"), item)?);
                }
                out.insert(combinator.into(), Value::Array(converted));
            }
        }
        if let Some(discriminator) = map.get("discriminator") {
            self.apply_discriminator(docs, file, pointer, map, discriminator, &mut out)?;
        }
        if map.get("nullable") == Some(&Value::Bool(true)) {
            out = make_nullable(out);
        }
        Ok(Value::Object(out))
    }

    /// A `$ref` to a schema anywhere (this file or another) as a reference
    /// into the standalone document's `$defs`, the target converted too.
    fn reference(
        &mut self,
        docs: &mut Documents,
        file: &Arc<str>,
        pointer: &str,
        reference: &Value,
    ) -> Result<String, Diagnostic> {
        let reference = reference
            .as_str()
            .ok_or_else(|| Diagnostic::at_pointer(file.as_ref(), pointer, "$ref must be a string"))?;
        let target = docs.target(file, pointer, reference)?;
        if docs.value(&target).is_none() {
            return Err(unresolved(
                &RefTarget {
                    file: file.clone(),
                    pointer: pointer.to_string(),
                },
                reference,
            ));
        }
        let name = self.name_for(docs, target);
        Ok(format!("#/$defs/{}", escape_pointer_token(&name)))
    }

    /// The names of `required` that hold in this direction.
    fn required(
        &mut self,
        docs: &mut Documents,
        file: &Arc<str>,
        pointer: &str,
        map: &Map<String, Value>,
        required: &Value,
    ) -> Result<Vec<Value>, Diagnostic> {
        let names = required.as_array().ok_or_else(|| {
            Diagnostic::at_pointer(file.as_ref(), pointer, "`required` must be a list of property names")
        })?;
        let mut kept = Vec::new();
        for name in names {
            let declared = match name.as_str() {
                Some(name) => self.declared_property(docs, file, pointer, map, name, 0)?,
                None => None,
            };
            let excluded = match declared {
                Some((file, at, property)) => self.excluded_in_direction(docs, &file, &at, &property)?,
                None => false,
            };
            if !excluded {
                kept.push(name.clone());
            }
        }
        Ok(kept)
    }

    /// Where the property `name` a `required` lists is declared, and its
    /// schema: in the schema's own `properties`, or (2020-12, where `$ref`
    /// has siblings) in those of its `$ref` target or of an `allOf` member.
    fn declared_property(
        &mut self,
        docs: &mut Documents,
        file: &Arc<str>,
        pointer: &str,
        map: &Map<String, Value>,
        name: &str,
        depth: usize,
    ) -> Result<Option<(Arc<str>, String, Value)>, Diagnostic> {
        if let Some(property) = map.get("properties").and_then(|p| p.get(name)) {
            let at = format!("{pointer}/properties/{}", escape_pointer_token(name));
            return Ok(Some((file.clone(), at, property.clone())));
        }
        if self.dialect != Dialect::JsonSchema || depth >= MAX_DECLARATION_DEPTH {
            return Ok(None);
        }
        let mut places = Vec::new();
        if map.contains_key("$ref") {
            let (target, resolved) = docs.follow(file, pointer, &Value::Object(map.clone()))?;
            places.push((target.file, target.pointer, resolved));
        }
        for (index, member) in map
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            places.push((file.clone(), format!("{pointer}/allOf/{index}"), member.clone()));
        }
        for (file, at, schema) in places {
            let Value::Object(member) = schema else { continue };
            if let Some(found) = self.declared_property(docs, &file, &at, &member, name, depth + 1)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// A 2020-12 schema (OAS 3.1): every keyword kept, the subschemas in it
    /// converted in turn (their references, their `required`).
    fn convert_json_schema(
        &mut self,
        docs: &mut Documents,
        file: &Arc<str>,
        pointer: &str,
        schema: &Value,
    ) -> Result<Value, Diagnostic> {
        let map = match schema {
            Value::Bool(_) => return Ok(schema.clone()),
            Value::Object(map) => map,
            other => {
                return Err(Diagnostic::at_pointer(
                    file.as_ref(),
                    pointer,
                    format!("expected a Schema Object or a boolean, found {}", kind_of(other)),
                ))
            }
        };
        let mut out = Map::new();
        for (keyword, value) in map {
            let at = format!("{pointer}/{}", escape_pointer_token(keyword));
            let converted = match keyword.as_str() {
                "$ref" => Value::String(self.reference(docs, file, pointer, value)?),
                // Reached by the pointers that name them, each converted as its own def.
                "$defs" | "definitions" | "discriminator" => continue,
                "$schema" if super::oas31::accepts_schema_dialect(value) => continue,
                "$schema" => {
                    return Err(Diagnostic::at_pointer(
                        file.as_ref(),
                        at,
                        format!(
                            "unsupported `$schema` {value}: expected JSON Schema 2020-12 or `{}`",
                            super::oas31::DEFAULT_DIALECT
                        ),
                    ))
                }
                "$id" | "$anchor" | "$dynamicRef" | "$dynamicAnchor" | "$recursiveRef" => {
                    return Err(Diagnostic::at_pointer(
                        file.as_ref(),
                        at,
                        format!("`{keyword}` is not supported: reference schemas by JSON pointer (`#/components/schemas/Name`)"),
                    ))
                }
                // Draft 7's keyword, split in two by 2020-12: refused rather
                // than guessed at (its `$ref`s would otherwise go unconverted).
                // A migration mistake that changes nothing in 2020-12: the
                // schema keeps refusing null, so say so where it is written.
                "nullable" => {
                    self.warnings.push(Diagnostic::at_pointer(
                        file.as_ref(),
                        at,
                        "`nullable` is OpenAPI 3.0's: a 3.1 schema ignores it (write `type: [T, \"null\"]`)",
                    ));
                    value.clone()
                }
                "dependencies" => {
                    return Err(Diagnostic::at_pointer(
                        file.as_ref(),
                        at,
                        "`dependencies` is from an older JSON Schema draft: use dependentRequired/dependentSchemas (JSON Schema 2020-12)",
                    ))
                }
                "items" | "additionalProperties" | "unevaluatedItems" | "unevaluatedProperties" | "contains"
                | "propertyNames" | "not" | "if" | "then" | "else" | "contentSchema" => {
                    self.convert_json_schema(docs, file, &at, value)?
                }
                "properties" | "patternProperties" | "dependentSchemas" => {
                    let entries = value.as_object().ok_or_else(|| {
                        Diagnostic::at_pointer(file.as_ref(), &at, format!("`{keyword}` must be a map of schemas"))
                    })?;
                    let mut converted = Map::new();
                    for (name, entry) in entries {
                        let entry_at = format!("{at}/{}", escape_pointer_token(name));
                        converted.insert(name.clone(), self.convert_json_schema(docs, file, &entry_at, entry)?);
                    }
                    Value::Object(converted)
                }
                "allOf" | "anyOf" | "oneOf" | "prefixItems" => {
                    let entries = value.as_array().ok_or_else(|| {
                        Diagnostic::at_pointer(file.as_ref(), &at, format!("`{keyword}` must be a list of schemas"))
                    })?;
                    let mut converted = Vec::with_capacity(entries.len());
                    for (index, entry) in entries.iter().enumerate() {
                        converted.push(self.convert_json_schema(docs, file, &format!("{at}/{index}"), entry)?);
                    }
                    Value::Array(converted)
                }
                "required" => Value::Array(self.required(docs, file, pointer, map, value)?),
                _ => value.clone(),
            };
            out.insert(keyword.clone(), converted);
        }
        if let Some(discriminator) = map.get("discriminator") {
            self.apply_discriminator(docs, file, pointer, map, discriminator, &mut out)?;
        }
        // An annotation in 2020-12; a mock asserts it, as it asserts `format`.
        if let Some(pattern) = map
            .get("contentEncoding")
            .and_then(Value::as_str)
            .and_then(content_encoding)
            .map(|encoding| encoding.pattern)
        {
            if !out.contains_key("pattern") {
                out.insert("pattern".into(), json!(pattern));
            } else if let Value::Array(all_of) = out.entry("allOf").or_insert_with(|| json!([])) {
                all_of.push(json!({ "pattern": pattern }));
            }
        }
        add_integer_format_bounds(&mut out);
        Ok(Value::Object(out))
    }

    /// Whether a property listed in `required` is exempt in this direction:
    /// read-only ones are only required in responses, write-only ones only in
    /// requests.
    fn excluded_in_direction(
        &mut self,
        docs: &mut Documents,
        file: &Arc<str>,
        pointer: &str,
        property: &Value,
    ) -> Result<bool, Diagnostic> {
        let (_, resolved) = docs.follow(file, pointer, property)?;
        let flag = match self.direction {
            Direction::Request => "readOnly",
            Direction::Response => "writeOnly",
        };
        Ok(property.get(flag) == Some(&Value::Bool(true)) || resolved.get(flag) == Some(&Value::Bool(true)))
    }

    /// A discriminator turns "valid against exactly one of these" into "the
    /// property names the variant, validate against that one", which gives a
    /// client one precise error instead of one per variant.
    fn apply_discriminator(
        &mut self,
        docs: &mut Documents,
        file: &Arc<str>,
        pointer: &str,
        map: &Map<String, Value>,
        discriminator: &Value,
        out: &mut Map<String, Value>,
    ) -> Result<(), Diagnostic> {
        let at = format!("{pointer}/discriminator");
        let property = discriminator
            .get("propertyName")
            .and_then(Value::as_str)
            .ok_or_else(|| Diagnostic::at_pointer(file.as_ref(), &at, "discriminator needs a string `propertyName`"))?;
        let Some(combinator) = ["oneOf", "anyOf"].into_iter().find(|c| map.contains_key(*c)) else {
            // A discriminator on a base schema used through allOf: the variants
            // validate themselves; nothing to dispatch here.
            return Ok(());
        };
        let mut variants: Vec<(String, String)> = Vec::new();
        if let Some(mapping) = discriminator.get("mapping").and_then(Value::as_object) {
            for (value, reference) in mapping {
                let reference = reference.as_str().ok_or_else(|| {
                    Diagnostic::at_pointer(file.as_ref(), &at, "discriminator mapping values must be strings")
                })?;
                let reference = if reference.contains('/') || reference.contains('#') {
                    reference.to_string()
                } else {
                    format!("#/components/schemas/{reference}")
                };
                variants.push((value.clone(), reference));
            }
        }
        for item in map[combinator].as_array().into_iter().flatten() {
            let Some(reference) = item.get("$ref").and_then(Value::as_str) else {
                // Inline variants cannot be named by a discriminator value: keep plain oneOf/anyOf.
                return Ok(());
            };
            if !variants.iter().any(|(_, r)| r == reference) {
                let name = reference.rsplit('/').next().unwrap_or(reference).to_string();
                variants.push((name, reference.to_string()));
            }
        }
        let values: Vec<Value> = variants.iter().map(|(value, _)| Value::String(value.clone())).collect();
        let mut all_of = match out.shift_remove("allOf") {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        };
        all_of.push(json!({ "required": [property], "properties": { property: { "enum": values } } }));
        for (value, reference) in &variants {
            let then = self.convert_node(docs, file, &at, &json!({ "$ref": reference }))?;
            all_of.push(json!({
                "if": { "required": [property], "properties": { property: { "const": value } } },
                "then": then,
            }));
        }
        out.shift_remove(combinator);
        out.insert("allOf".into(), Value::Array(all_of));
        Ok(())
    }
}

/// OAS 3.0 `exclusiveMinimum: true` qualifies `minimum`; JSON Schema makes
/// the bound itself exclusive.
fn convert_bounds(map: &Map<String, Value>, out: &mut Map<String, Value>) {
    for (bound, exclusive) in [("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")] {
        match (map.get(bound), map.get(exclusive)) {
            (Some(limit), Some(Value::Bool(true))) => {
                out.insert(exclusive.into(), limit.clone());
            }
            (Some(limit), _) => {
                out.insert(bound.into(), limit.clone());
            }
            (None, Some(limit @ Value::Number(_))) => {
                out.insert(exclusive.into(), limit.clone());
            }
            _ => {}
        }
    }
}

/// `format: int32` / `int64` are ranges in practice: a client sending 2^40
/// for an int32 field has a bug the mock should report.
fn add_integer_format_bounds(out: &mut Map<String, Value>) {
    let integer = json!("integer");
    let allows_integer = match out.get("type") {
        Some(Value::Array(kinds)) => kinds.contains(&integer),
        kind => kind == Some(&integer),
    };
    if !allows_integer {
        return;
    }
    let (low, high) = match out.get("format").and_then(Value::as_str) {
        Some("int32") => (json!(i32::MIN), json!(i32::MAX)),
        Some("int64") => (json!(i64::MIN), json!(i64::MAX)),
        _ => return,
    };
    if !out.contains_key("minimum") && !out.contains_key("exclusiveMinimum") {
        out.insert("minimum".into(), low);
    }
    if !out.contains_key("maximum") && !out.contains_key("exclusiveMaximum") {
        out.insert("maximum".into(), high);
    }
}

/// A `contentEncoding` a mock can check without decoding (RFC 4648).
pub struct ContentEncoding {
    /// The text it allows.
    pub pattern: &'static str,
    /// The bytes `specmock`, encoded: what generated answers carry.
    pub sample: &'static str,
}

/// The encoding a `contentEncoding` names, if it is one a mock can check.
pub fn content_encoding(name: &str) -> Option<&'static ContentEncoding> {
    const BASE64: ContentEncoding = ContentEncoding {
        pattern: "^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$",
        sample: "c3BlY21vY2s=",
    };
    const BASE64URL: ContentEncoding = ContentEncoding {
        pattern: "^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2}(?:==)?|[A-Za-z0-9_-]{3}=?)?$",
        sample: "c3BlY21vY2s",
    };
    const BASE16: ContentEncoding = ContentEncoding {
        pattern: "^(?:[0-9A-Fa-f]{2})*$",
        sample: "737065636d6f636b",
    };
    match name.to_ascii_lowercase().as_str() {
        "base64" => Some(&BASE64),
        "base64url" => Some(&BASE64URL),
        "base16" => Some(&BASE16),
        _ => None,
    }
}

fn make_nullable(mut out: Map<String, Value>) -> Map<String, Value> {
    if let Some(Value::Array(options)) = out.get_mut("enum") {
        if !options.contains(&Value::Null) {
            options.push(Value::Null);
        }
    }
    match out.get("type").cloned() {
        Some(Value::String(kind)) => {
            out.insert("type".into(), json!([kind, "null"]));
            out
        }
        _ if out.contains_key("enum") => out,
        _ => Map::from_iter([("anyOf".to_string(), json!([Value::Object(out), { "type": "null" }]))]),
    }
}

fn collect_refs(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                if let Some(name) = reference.strip_prefix("#/$defs/") {
                    into.push(name.replace("~1", "/").replace("~0", "~"));
                }
            }
            map.values().for_each(|v| collect_refs(v, into));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, into)),
        _ => {}
    }
}

pub fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert(direction: Direction, document: Value, pointer: &str) -> (Value, Map<String, Value>) {
        let mut docs = Documents::new("spec.yaml", None, document.clone());
        let mut set = SchemaSet::new(direction);
        let file = docs.root_file().clone();
        let schema = document.pointer(pointer).unwrap().clone();
        let converted = set.convert(&mut docs, &file, pointer, &schema).unwrap();
        (converted, set.defs.clone())
    }

    #[test]
    fn nullable_becomes_a_type_list_and_enum_gains_null() {
        let doc = json!({"s": {"type": "string", "enum": ["a"], "nullable": true}});
        let (converted, _) = convert(Direction::Request, doc, "/s");
        assert_eq!(converted, json!({"type": ["string", "null"], "enum": ["a", null]}));
    }

    #[test]
    fn boolean_exclusive_bounds_become_numeric() {
        let doc = json!({"s": {"type": "number", "minimum": 1, "exclusiveMinimum": true, "maximum": 5}});
        let (converted, _) = convert(Direction::Request, doc, "/s");
        assert_eq!(
            converted,
            json!({"type": "number", "exclusiveMinimum": 1, "maximum": 5})
        );
    }

    #[test]
    fn read_only_required_only_in_responses() {
        let doc = json!({"s": {"type": "object", "required": ["id", "secret"], "properties": {
            "id": {"type": "string", "readOnly": true}, "secret": {"type": "string", "writeOnly": true}}}});
        let (request, _) = convert(Direction::Request, doc.clone(), "/s");
        assert_eq!(request["required"], json!(["secret"]));
        let (response, _) = convert(Direction::Response, doc, "/s");
        assert_eq!(response["required"], json!(["id"]));
    }

    #[test]
    fn recursive_components_stay_references() {
        let doc = json!({"components": {"schemas": {"Node": {"type": "object", "properties": {"next": {"$ref": "#/components/schemas/Node"}}}}}});
        let (converted, defs) = convert(Direction::Response, doc, "/components/schemas/Node");
        assert_eq!(converted["properties"]["next"], json!({"$ref": "#/$defs/Node"}));
        assert_eq!(defs["Node"]["properties"]["next"], json!({"$ref": "#/$defs/Node"}));
    }

    #[test]
    fn discriminator_dispatches_on_the_property() {
        let doc = json!({"components": {"schemas": {
            "Pet": {"oneOf": [{"$ref": "#/components/schemas/Cat"}, {"$ref": "#/components/schemas/Dog"}], "discriminator": {"propertyName": "kind"}},
            "Cat": {"type": "object", "required": ["kind"], "properties": {"kind": {"type": "string"}}},
            "Dog": {"type": "object", "required": ["kind"], "properties": {"kind": {"type": "string"}}}}}});
        let (converted, _) = convert(Direction::Request, doc, "/components/schemas/Pet");
        assert!(converted.get("oneOf").is_none());
        assert_eq!(
            converted["allOf"][0]["properties"]["kind"]["enum"],
            json!(["Cat", "Dog"])
        );
        assert_eq!(converted["allOf"][1]["then"], json!({"$ref": "#/$defs/Cat"}));
    }

    fn convert_31(direction: Direction, document: Value, pointer: &str) -> Value {
        let mut docs = Documents::new("spec.yaml", None, document.clone());
        let mut set = SchemaSet::new(direction).in_dialect(Dialect::JsonSchema);
        let file = docs.root_file().clone();
        let schema = document.pointer(pointer).unwrap().clone();
        set.convert(&mut docs, &file, pointer, &schema).unwrap()
    }

    #[test]
    fn an_int32_in_a_type_list_is_bounded_too() {
        let schema = json!({"type": ["integer", "null"], "format": "int32"});
        let converted = convert_31(Direction::Request, json!({ "s": schema }), "/s");
        assert_eq!(converted["minimum"], json!(i32::MIN));
        assert_eq!(converted["maximum"], json!(i32::MAX));
    }

    #[test]
    fn json_schema_keywords_are_kept_as_written() {
        let schema = json!({"type": ["string", "null"], "exclusiveMinimum": 1, "nullable": false, "const": "a",
            "prefixItems": [true, {"type": "integer"}], "items": false, "unevaluatedProperties": false,
            "dependentRequired": {"a": ["b"]}, "if": {"required": ["a"]}, "then": {"required": ["c"]}});
        let converted = convert_31(Direction::Request, json!({ "s": schema.clone() }), "/s");
        assert_eq!(converted, schema);
    }

    #[test]
    fn a_ref_keeps_its_siblings_and_read_only_is_still_per_direction() {
        let document = json!({"components": {"schemas": {"N": {"type": "object"}}}, "s": {"type": "object",
            "required": ["id", "n"], "properties": {"id": {"type": "integer", "readOnly": true},
            "n": {"$ref": "#/components/schemas/N", "minProperties": 1}}}});
        let request = convert_31(Direction::Request, document.clone(), "/s");
        assert_eq!(request["required"], json!(["n"]));
        assert_eq!(
            request["properties"]["n"],
            json!({"$ref": "#/$defs/N", "minProperties": 1})
        );
        assert_eq!(
            convert_31(Direction::Response, document, "/s")["required"],
            json!(["id", "n"])
        );
    }

    #[test]
    fn a_content_encoding_is_asserted() {
        let converted = convert_31(
            Direction::Request,
            json!({"s": {"type": "string", "contentEncoding": "base64"}}),
            "/s",
        );
        let validator = jsonschema::validator_for(&converted).unwrap();
        assert!(validator.is_valid(&json!("c3BlY21vY2s=")));
        assert!(!validator.is_valid(&json!("not base64!")));
    }

    #[test]
    fn unresolved_ref_names_the_pointer() {
        let doc = json!({"s": {"$ref": "#/components/schemas/Missing"}});
        let mut docs = Documents::new("spec.yaml", None, doc.clone());
        let file = docs.root_file().clone();
        let error = SchemaSet::new(Direction::Request)
            .convert(&mut docs, &file, "/s", &doc["s"])
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "spec.yaml#/s: $ref `#/components/schemas/Missing` does not resolve to anything"
        );
    }
}
