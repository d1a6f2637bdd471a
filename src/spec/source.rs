//! Reading spec documents (YAML or JSON) from files and following `$ref`s
//! between them; the text is parsed by `parse.rs`.
//!
//! Only the local file system is ever read: a remote `$ref` is refused, so a
//! mock started in CI never reaches out to the network.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use super::parse::{parse_document, NodeBudget};
use crate::confine::Confinement;
use crate::diagnostic::Diagnostic;

/// A `$ref` target: the file it lives in and the JSON pointer inside it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RefTarget {
    pub file: Arc<str>,
    pub pointer: String,
}

/// The root document plus every file reached through a relative `$ref`.
pub struct Documents {
    root_file: Arc<str>,
    /// Directory relative references resolve against; `None` for an embedded
    /// document, which may only reference itself.
    base_dir: Option<PathBuf>,
    loaded: HashMap<Arc<str>, Arc<Value>>,
}

impl Documents {
    pub fn new(root_file: &str, base_dir: Option<PathBuf>, root: Value) -> Self {
        let root_file: Arc<str> = Arc::from(root_file);
        let mut loaded = HashMap::new();
        loaded.insert(root_file.clone(), Arc::new(root));
        Self {
            root_file,
            base_dir,
            loaded,
        }
    }

    pub fn root_file(&self) -> &Arc<str> {
        &self.root_file
    }

    /// The files read besides the root, in order of their paths.
    pub fn referenced(&self) -> Vec<String> {
        let mut files: Vec<String> = self
            .loaded
            .keys()
            .filter(|file| **file != self.root_file)
            .map(|file| file.to_string())
            .collect();
        files.sort();
        files
    }

    pub fn root(&self) -> Arc<Value> {
        self.loaded[&self.root_file].clone()
    }

    /// Resolves `reference` as written in `from_file` to its target, loading
    /// the target file on first use.
    pub fn target(&mut self, from_file: &Arc<str>, at_pointer: &str, reference: &str) -> Result<RefTarget, Diagnostic> {
        let (file_part, fragment) = match reference.split_once('#') {
            Some((file, fragment)) => (file, fragment),
            None => (reference, ""),
        };
        if file_part.contains("://") {
            return Err(Diagnostic::at_pointer(
                from_file.as_ref(),
                at_pointer,
                format!("remote $ref `{reference}` is not fetched; copy the document next to the spec and reference it by a relative path"),
            ));
        }
        let file = if file_part.is_empty() {
            from_file.clone()
        } else {
            self.load_relative(from_file, at_pointer, file_part)?
        };
        let pointer = percent_decode_fragment(fragment);
        if !pointer.is_empty() && !pointer.starts_with('/') {
            return Err(Diagnostic::at_pointer(
                from_file.as_ref(),
                at_pointer,
                format!("$ref `{reference}`: expected a JSON pointer fragment such as `#/components/schemas/Name`"),
            ));
        }
        Ok(RefTarget { file, pointer })
    }

    /// The value a target points at.
    pub fn value(&self, target: &RefTarget) -> Option<&Value> {
        self.loaded.get(&target.file)?.pointer(&target.pointer)
    }

    /// Follows `$ref` chains until a value that is not a reference.
    pub fn follow(
        &mut self,
        from_file: &Arc<str>,
        at_pointer: &str,
        value: &Value,
    ) -> Result<(RefTarget, Value), Diagnostic> {
        let mut current = RefTarget {
            file: from_file.clone(),
            pointer: at_pointer.to_string(),
        };
        let mut value = value.clone();
        for _ in 0..64 {
            let Some(reference) = value.get("$ref").and_then(Value::as_str) else {
                return Ok((current, value));
            };
            let target = self.target(&current.file, &current.pointer, reference)?;
            value = self
                .value(&target)
                .cloned()
                .ok_or_else(|| unresolved(&current, reference))?;
            current = target;
        }
        Err(Diagnostic::at_pointer(
            current.file.as_ref(),
            &current.pointer,
            "$ref chain longer than 64 hops (a reference cycle?)",
        ))
    }

    fn load_relative(
        &mut self,
        from_file: &Arc<str>,
        at_pointer: &str,
        relative: &str,
    ) -> Result<Arc<str>, Diagnostic> {
        let Some(base_dir) = &self.base_dir else {
            return Err(Diagnostic::at_pointer(
                from_file.as_ref(),
                at_pointer,
                format!("$ref to file `{relative}`: the embedded spec can only reference itself"),
            ));
        };
        if Path::new(relative).is_absolute() {
            return Err(Diagnostic::at_pointer(
                from_file.as_ref(),
                at_pointer,
                format!("$ref to `{relative}`: expected a path relative to the document, not an absolute one"),
            ));
        }
        // The root's label need not be a path (`load_text`), so its references
        // resolve against `base_dir`; other documents were loaded by path.
        let from_dir = match from_file == &self.root_file {
            true => base_dir.clone(),
            false => Path::new(from_file.as_ref())
                .parent()
                .map_or_else(|| base_dir.clone(), Path::to_path_buf),
        };
        let path = from_dir.join(relative);
        let key: Arc<str> = Arc::from(path.to_string_lossy().as_ref());
        if self.loaded.contains_key(&key) {
            return Ok(key);
        }
        let inside = |problem: String| {
            Diagnostic::at_pointer(
                from_file.as_ref(),
                at_pointer,
                format!("$ref to file `{relative}`: {problem}"),
            )
        };
        let confinement =
            Confinement::of(base_dir).map_err(|e| inside(format!("cannot read the spec's directory: {e}")))?;
        let path = confinement.check(&path).map_err(inside)?;
        let text = std::fs::read_to_string(&path).map_err(|e| inside(format!("cannot read it: {e}")))?;
        let value = parse_document(&key, &text, NodeBudget::Spec)?;
        self.loaded.insert(key.clone(), Arc::new(value));
        Ok(key)
    }
}

pub fn unresolved(at: &RefTarget, reference: &str) -> Diagnostic {
    Diagnostic::at_pointer(
        at.file.as_ref(),
        &at.pointer,
        format!("$ref `{reference}` does not resolve to anything"),
    )
}

fn percent_decode_fragment(fragment: &str) -> String {
    crate::uri::percent_decode(fragment)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_else(|| fragment.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_file_refs_are_refused() {
        let mut docs = Documents::new("spec.yaml", Some(std::env::temp_dir()), serde_json::json!({}));
        let root = docs.root_file().clone();
        let error = docs.target(&root, "/paths", "/etc/passwd#/x").unwrap_err();
        assert!(error.message.contains("not an absolute one"), "{error}");
    }

    #[test]
    fn the_root_documents_references_resolve_against_base_dir_not_its_label() {
        let dir = std::env::temp_dir().join(format!("specmock-base-dir-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("schemas.yaml"), "Name: {type: string}\n").unwrap();
        let mut docs = Documents::new("elsewhere/spec.yaml", Some(dir.clone()), serde_json::json!({}));
        let root = docs.root_file().clone();
        let target = docs.target(&root, "/paths", "schemas.yaml#/Name");
        std::fs::remove_dir_all(&dir).unwrap();
        let target = target.expect("schemas.yaml is found in base_dir");
        assert_eq!(docs.value(&target), Some(&serde_json::json!({"type": "string"})));
    }

    #[test]
    fn only_yaml_1_2_spellings_are_booleans() {
        let value = parse_document("x.yaml", "a: n\nb: yes\nc: true\nlist: [n, y, off]\n", NodeBudget::Spec).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"a": "n", "b": "yes", "c": true, "list": ["n", "y", "off"]})
        );
    }
}
