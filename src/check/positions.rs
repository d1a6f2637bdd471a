//! Where things sit in the spec. The loaded model keeps no positions, so a
//! finding about an operation, a response or an example walks the parsed
//! document to its JSON pointer (following `$ref`s across files, as the
//! loader did) and maps that to a line and column.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;

use super::report::{Finding, Subject};
use crate::diagnostic::{escape_pointer_token, Diagnostic};
use crate::locate::Locations;
use crate::spec::parse::{parse_document, NodeBudget};
use crate::spec::source::{Documents, RefTarget};
use crate::spec::{essence, Operation, StatusKey};

#[derive(Default)]
pub(super) struct SpecPositions {
    /// Per spec served, in the order of `Spec::documents`.
    specs: Vec<Documents>,
    /// Per file, indexed on first use (only files a finding sits in).
    locations: HashMap<Arc<str>, Locations>,
}

impl SpecPositions {
    /// The next spec's text.
    pub fn add(&mut self, label: &str, text: &str, base_dir: Option<PathBuf>) {
        // The spec has loaded, so its text parses; were it not to, positions
        // would merely be unknown.
        let raw = parse_document(label, text, NodeBudget::Spec).unwrap_or(Value::Null);
        let docs = Documents::new(label, base_dir, raw);
        self.locations
            .insert(docs.root_file().clone(), Locations::of_yaml(text));
        self.specs.push(docs);
    }

    pub fn operation(&mut self, operation: &Operation) -> Option<RefTarget> {
        let root = RefTarget {
            file: self.specs.get(operation.origin.document)?.root_file().clone(),
            pointer: String::new(),
        };
        let paths = self.member(&root, |key| key == "paths")?;
        let item = self.member(&paths, |key| key == operation.path)?;
        let method = operation.method.as_str().to_ascii_lowercase();
        self.member(&item, |key| key == method)
    }

    pub fn response(&mut self, operation: &Operation, status: StatusKey) -> Option<RefTarget> {
        let operation = self.operation(operation)?;
        let responses = self.member(&operation, |key| key == "responses")?;
        let status = status.to_string();
        self.member(&responses, |key| key.eq_ignore_ascii_case(&status))
    }

    pub fn request_body(&mut self, operation: &Operation) -> Option<RefTarget> {
        let operation = self.operation(operation)?;
        self.member(&operation, |key| key == "requestBody")
    }

    /// An example of `media_type` under `holder` (a response or a request
    /// body), named as the model names it (`example` for the single one).
    pub fn example(&mut self, holder: &RefTarget, media_type: &str, name: &str) -> Option<RefTarget> {
        let content = self.member(holder, |key| key == "content")?;
        let media = self.member(&content, |key| essence(key) == media_type)?;
        let single = child(&media, "example");
        if name == "example" && self.value(&single).is_some() {
            return Some(single);
        }
        let examples = self.member(&media, |key| key == "examples")?;
        let example = self.member(&examples, |key| key == name)?;
        Some(child(&example, "value"))
    }

    /// A finding at `target`, or in the spec as a whole when it was not found.
    pub fn finding(&mut self, subject: Subject, target: Option<RefTarget>, message: String) -> Finding {
        let Some(target) = target else {
            let file = match &subject {
                Subject::Input(file) => file.clone(),
                Subject::Pair { .. } => self
                    .specs
                    .first()
                    .map_or_else(String::new, |d| d.root_file().to_string()),
            };
            return Finding::located(subject, Diagnostic::in_file(file, message));
        };
        let diagnostic = Diagnostic::at_pointer(target.file.as_ref(), &target.pointer, message);
        let locations = self.locations.entry(target.file.clone()).or_insert_with(|| {
            // A file reached through a `$ref`: the loader has read it already.
            Locations::of_yaml(&std::fs::read_to_string(target.file.as_ref()).unwrap_or_default())
        });
        Finding::located(subject, locations.locate(diagnostic))
    }

    /// The member of the object at `at` whose key is `wanted`, with its
    /// `$ref`s followed.
    fn member(&mut self, at: &RefTarget, wanted: impl Fn(&str) -> bool) -> Option<RefTarget> {
        let docs = self.specs.iter_mut().find(|docs| docs.value(at).is_some())?;
        let (key, value) = docs.value(at)?.as_object()?.iter().find(|(key, _)| wanted(key))?;
        let pointer = format!("{}/{}", at.pointer, escape_pointer_token(key));
        let value = value.clone();
        docs.follow(&at.file, &pointer, &value).ok().map(|(target, _)| target)
    }

    fn value(&self, at: &RefTarget) -> Option<&Value> {
        self.specs.iter().find_map(|docs| docs.value(at))
    }
}

/// A member taken literally (an example's value is never a reference).
fn child(at: &RefTarget, key: &str) -> RefTarget {
    RefTarget {
        file: at.file.clone(),
        pointer: format!("{}/{}", at.pointer, escape_pointer_token(key)),
    }
}
