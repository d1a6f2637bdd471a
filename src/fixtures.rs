//! Response bodies kept as files. `OPERATION_ID.json` is the default body of
//! that operation's default response; `OPERATION_ID.STATUS.json` the body
//! for that status. Other names are for scenarios to reference.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::error::Category;
use serde_json::Value;

use crate::confine::Confinement;
use crate::diagnostic::{without_position, Diagnostic};
use crate::sources::is_editor_temporary;
use crate::spec::json_budget;
use crate::spec::parse::NodeBudget;

#[derive(Debug, Clone)]
pub struct Fixture {
    /// The label errors use: the path it was read from.
    pub file: String,
    pub content: FixtureContent,
    /// The file as read: a problem found later by JSON pointer is located in it.
    pub text: String,
}

#[derive(Debug, Clone)]
pub enum FixtureContent {
    Json(Value),
    Text(String),
}

impl FixtureContent {
    /// The body as a value: JSON as parsed, anything else as a string.
    pub fn to_value(&self) -> Value {
        match self {
            FixtureContent::Json(value) => value.clone(),
            FixtureContent::Text(text) => Value::String(text.clone()),
        }
    }
}

/// Every fixture file of a directory (or the embedded ones), by name: the response bodies served in
/// place of generated or example data.
#[derive(Debug, Clone, Default)]
pub struct Fixtures {
    by_name: BTreeMap<String, Fixture>,
}

impl Fixtures {
    /// The fixture named `name` (its file name, `user-signed-in.json`), if there is one.
    pub fn get(&self, name: &str) -> Option<&Fixture> {
        self.by_name.get(name)
    }

    /// Every fixture's name, sorted, for load-time checks of which are used.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }

    /// Reads every file directly in `dir` (not below it).
    pub fn load_dir(dir: &Path) -> Result<Self, Diagnostic> {
        Self::from_files(read_dir(dir, |path| path.display().to_string())?)
    }

    /// Builds from `(name, label, text)` triples (the embedded copies).
    pub fn from_files(files: Vec<(String, String, String)>) -> Result<Self, Diagnostic> {
        let mut by_name = BTreeMap::new();
        for (name, file, text) in files {
            let content = if name.ends_with(".json") {
                let value = json_budget::from_str(&text, NodeBudget::Fixture).map_err(|e| {
                    let problem = without_position(&e.to_string()).to_string();
                    let message = match e.classify() {
                        Category::Data => problem,
                        _ => format!("invalid JSON: {problem}"),
                    };
                    Diagnostic::at_json_error(&file, &e, message)
                })?;
                FixtureContent::Json(value)
            } else {
                FixtureContent::Text(text.clone())
            };
            by_name.insert(name, Fixture { file, content, text });
        }
        Ok(Self { by_name })
    }
}

/// The `(name, label, text)` of every file directly in `dir` but editors'
/// temporary files, unparsed (so
/// that `specmock check` can report each broken fixture on its own); `label`
/// names a path in diagnostics.
pub fn read_dir(dir: &Path, label: impl Fn(&Path) -> String) -> Result<Vec<(String, String, String)>, Diagnostic> {
    let dir_label = label(dir);
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Diagnostic::in_file(&dir_label, format!("cannot read the fixtures directory: {e}")))?;
    let confinement = Confinement::of(dir)
        .map_err(|e| Diagnostic::in_file(&dir_label, format!("cannot read the fixtures directory: {e}")))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Diagnostic::in_file(&dir_label, e.to_string()))?;
        let path = entry.path();
        if !path.is_file() || is_editor_temporary(&entry.file_name().to_string_lossy()) {
            continue;
        }
        let file = label(&path);
        let path = confinement.check(&path).map_err(|e| Diagnostic::in_file(&file, e))?;
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Diagnostic::in_file(&file, format!("cannot read the fixture: {e}")))?;
        files.push((entry.file_name().to_string_lossy().into_owned(), file, text));
    }
    Ok(files)
}
