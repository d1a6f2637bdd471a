//! Where the spec, fixtures and scenarios come from: files the operator
//! named, the current directory, or the copies embedded in the binary.

use std::path::{Component, Path, PathBuf};

use crate::app::Inputs;
use crate::confine::Confinement;
use crate::diagnostic::Diagnostic;
use crate::embedded;
use crate::fixtures::{self, Fixtures};
use crate::scenario::ScenarioSource;
use crate::spec::{self, Spec};

/// Label used in diagnostics for the embedded spec.
pub const EMBEDDED_SPEC_LABEL: &str = "openapi.yaml (embedded)";

/// Where one input is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file or directory on disk.
    File(PathBuf),
    /// The copy built into the binary (the Pieces User API and its fixtures and scenarios).
    Embedded,
}

/// Where the spec, fixtures and scenarios are read from, decided once from the flags and the
/// working directory and read again on each reload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sources {
    /// The first (or only) spec.
    pub spec: Source,
    /// Specs served beside the first (`--spec` given again), in order.
    pub more_specs: Vec<PathBuf>,
    /// The fixtures directory (`None`: no fixtures).
    pub fixtures: Option<Source>,
    /// The scenarios directory (`None`: no scenarios).
    pub scenarios: Option<Source>,
}

impl Sources {
    /// With no spec named: `./openapi.yaml` (and `./fixtures`, `./scenarios`
    /// beside it) when present, else the embedded copies as a whole. Named
    /// specs come alone unless fixtures and scenarios are named too.
    pub fn resolve(
        specs: impl IntoIterator<Item = PathBuf>,
        fixtures: Option<PathBuf>,
        scenarios: Option<PathBuf>,
        cwd: &Path,
    ) -> Self {
        let mut specs = specs.into_iter();
        match specs.next() {
            Some(spec) => Self {
                spec: Source::File(spec),
                more_specs: specs.collect(),
                fixtures: fixtures.map(Source::File),
                scenarios: scenarios.map(Source::File),
            },
            None if cwd.join("openapi.yaml").is_file() => {
                let beside = |name: &str| Some(cwd.join(name)).filter(|dir| dir.is_dir()).map(Source::File);
                Self {
                    spec: Source::File(cwd.join("openapi.yaml")),
                    more_specs: Vec::new(),
                    fixtures: fixtures.map(Source::File).or_else(|| beside("fixtures")),
                    scenarios: scenarios.map(Source::File).or_else(|| beside("scenarios")),
                }
            }
            None => Self {
                spec: Source::Embedded,
                more_specs: Vec::new(),
                fixtures: Some(fixtures.map_or(Source::Embedded, Source::File)),
                scenarios: Some(scenarios.map_or(Source::Embedded, Source::File)),
            },
        }
    }

    /// Every spec, loaded and served as one.
    pub fn load_spec(&self) -> Result<Spec, Diagnostic> {
        let specs = self.specs().map(|spec| spec.load()).collect::<Result<Vec<_>, _>>()?;
        spec::combine(specs)
    }

    /// Each spec named, the first first.
    pub fn specs(&self) -> impl Iterator<Item = Source> + '_ {
        std::iter::once(self.spec.clone()).chain(self.more_specs.iter().cloned().map(Source::File))
    }

    /// Reads the fixtures (none when there is no fixtures directory).
    pub fn load_fixtures(&self) -> Result<Fixtures, Diagnostic> {
        Fixtures::from_files(self.fixture_files()?)
    }

    /// The fixture files as `(name, label, text)`, unparsed.
    pub fn fixture_files(&self) -> Result<Vec<(String, String, String)>, Diagnostic> {
        match &self.fixtures {
            None => Ok(Vec::new()),
            Some(Source::File(dir)) => fixtures::read_dir(dir, |path| self.label(dir, path)),
            Some(Source::Embedded) => Ok(embedded::FIXTURES
                .iter()
                .map(|(name, text)| {
                    (
                        name.to_string(),
                        format!("fixtures/{name} (embedded)"),
                        text.to_string(),
                    )
                })
                .collect()),
        }
    }

    /// The scenario files (`*.yaml` directly in the directory).
    pub fn load_scenarios(&self) -> Result<Vec<ScenarioSource>, Diagnostic> {
        match &self.scenarios {
            None => Ok(Vec::new()),
            Some(Source::File(dir)) => {
                let label = self.label(dir, dir);
                let entries = std::fs::read_dir(dir)
                    .map_err(|e| Diagnostic::in_file(&label, format!("cannot read the scenarios directory: {e}")))?;
                let confinement = Confinement::of(dir)
                    .map_err(|e| Diagnostic::in_file(&label, format!("cannot read the scenarios directory: {e}")))?;
                let mut sources = Vec::new();
                for entry in entries {
                    let path = entry.map_err(|e| Diagnostic::in_file(&label, e.to_string()))?.path();
                    let Some(file_name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
                        continue;
                    };
                    let scenario = file_name.ends_with(".yaml") || file_name.ends_with(".yml");
                    if !path.is_file() || !scenario || is_editor_temporary(&file_name) {
                        continue;
                    }
                    let label = self.label(dir, &path);
                    let path = confinement.check(&path).map_err(|e| Diagnostic::in_file(&label, e))?;
                    let text = std::fs::read_to_string(&path)
                        .map_err(|e| Diagnostic::in_file(&label, format!("cannot read the scenario: {e}")))?;
                    sources.push(ScenarioSource { file_name, label, text });
                }
                sources.sort_by(|a, b| a.file_name.cmp(&b.file_name));
                Ok(sources)
            }
            Some(Source::Embedded) => Ok(embedded::SCENARIOS
                .iter()
                .map(|(name, text)| ScenarioSource {
                    file_name: name.to_string(),
                    label: format!("scenarios/{name} (embedded)"),
                    text: text.to_string(),
                })
                .collect()),
        }
    }

    /// How a fixture or scenario file in `dir` (or `dir` itself) is named
    /// in diagnostics, problem details and log lines: as the operator wrote
    /// it when that is a relative path (as `specmock check` shows it); else
    /// relative to the spec's directory (the working directory for the
    /// embedded spec), or when `dir` is outside it, relative to `dir`'s
    /// parent. Clients never see where the mock's files sit on the machine.
    fn label(&self, dir: &Path, path: &Path) -> String {
        if path.is_relative() {
            return path.display().to_string();
        }
        let spec_dir = match &self.spec {
            Source::File(spec) => spec.parent().filter(|dir| !dir.as_os_str().is_empty()),
            Source::Embedded => None,
        };
        let spec_dir = std::path::absolute(spec_dir.unwrap_or(Path::new("."))).map(|dir| lexical(&dir));
        let (dir, path) = (lexical(dir), lexical(path));
        let base = match spec_dir {
            Ok(spec_dir) if dir.starts_with(&spec_dir) => spec_dir,
            _ => dir.parent().map_or_else(|| dir.clone(), Path::to_path_buf),
        };
        match path.strip_prefix(&base) {
            Ok(same) if same.as_os_str().is_empty() => ".".to_string(),
            Ok(inside) => inside.display().to_string(),
            Err(_) => path.file_name().unwrap_or_default().to_string_lossy().into_owned(),
        }
    }

    /// Everything an `App` is built from, loaded from these sources.
    pub fn inputs(&self, start_scenario: Option<String>, seed: u64) -> Result<Inputs, Diagnostic> {
        Ok(Inputs {
            spec: self.load_spec()?,
            fixtures: self.load_fixtures()?,
            scenarios: self.load_scenarios()?,
            start_scenario,
            seed,
        })
    }
}

impl Source {
    /// This spec, loaded on its own.
    pub fn load(&self) -> Result<Spec, Diagnostic> {
        match self {
            Source::File(path) => spec::load_file(path),
            Source::Embedded => spec::load_text(EMBEDDED_SPEC_LABEL, embedded::SPEC, None),
        }
    }

    /// This spec's text, read without loading it (`specmock check` maps
    /// positions in it, and tells an unreadable file from a broken one).
    pub fn spec_text(&self) -> Result<String, Diagnostic> {
        match self {
            Source::File(path) => std::fs::read_to_string(path)
                .map_err(|e| Diagnostic::in_file(path.display().to_string(), format!("cannot read the spec: {e}"))),
            Source::Embedded => Ok(embedded::SPEC.to_string()),
        }
    }
}

/// Whether a file named `name` is an editor's swap, backup, lock or
/// temporary file, or hidden: never read as an input, and no reason to
/// reload.
pub fn is_editor_temporary(name: &str) -> bool {
    name.starts_with('.')
        || name.starts_with('#')
        || name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name.ends_with(".tmp")
        // Vim's probe that a directory is writable.
        || name == "4913"
}

/// `path` with `.` and `..` taken away by the letter (symlinks are not
/// followed: this only names a file, confinement is checked elsewhere).
fn lexical(path: &Path) -> PathBuf {
    let mut normal = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                normal.pop();
            }
            other => normal.push(other),
        }
    }
    normal
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The label of `file` in `dir` with the spec at `spec` (`None`: embedded).
    fn label(spec: Option<&str>, dir: &str, file: &str) -> String {
        let sources = Sources {
            spec: spec.map_or(Source::Embedded, |spec| Source::File(PathBuf::from(spec))),
            more_specs: Vec::new(),
            fixtures: None,
            scenarios: None,
        };
        let dir = Path::new(dir);
        sources.label(dir, &dir.join(file))
    }

    #[test]
    fn files_are_named_relative_to_the_spec_never_by_absolute_path() {
        let spec = Some("/srv/api/openapi.yaml");
        assert_eq!(label(spec, "/srv/api/scenarios", "x.yaml"), "scenarios/x.yaml");
        assert_eq!(
            label(spec, "/srv/api/mocks/./s/../scenarios", "x.yaml"),
            "mocks/scenarios/x.yaml"
        );
        assert_eq!(
            label(Some("/srv/x/../api/openapi.yaml"), "/srv/api", "a.json"),
            "a.json"
        );
        assert_eq!(label(spec, "/srv/api/scenarios", ""), "scenarios");
        assert_eq!(label(spec, "/srv/api", ""), ".");
        // Outside the spec's directory: from the directory's parent.
        assert_eq!(label(spec, "/home/me/packs/scenarios", "x.yaml"), "scenarios/x.yaml");
        // Written relative: as written, whatever the spec.
        assert_eq!(label(spec, "packs/scenarios", "x.yaml"), "packs/scenarios/x.yaml");
        // The embedded spec, or one named relative: from the working directory.
        let cwd = std::env::current_dir().expect("a working directory");
        let inside = cwd.join("mocks").join("scenarios").display().to_string();
        assert_eq!(label(None, &inside, "x.yaml"), "mocks/scenarios/x.yaml");
        assert_eq!(label(Some("openapi.yaml"), &inside, "x.yaml"), "mocks/scenarios/x.yaml");
    }
}
