//! Where the spec, fixtures and scenarios come from: files the operator
//! named, the current directory, or the copies embedded in the binary.

use std::path::{Path, PathBuf};

use crate::diagnostic::Diagnostic;
use crate::fixtures::Fixtures;
use crate::spec::{self, Spec};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

/// Label used in diagnostics for the embedded spec.
pub const EMBEDDED_SPEC_LABEL: &str = "openapi.yaml (embedded)";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    File(PathBuf),
    Embedded,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sources {
    pub spec: Source,
    pub fixtures: Option<Source>,
    pub scenarios: Option<Source>,
}

impl Sources {
    /// With no spec named: `./openapi.yaml` (and `./fixtures`, `./scenarios`
    /// beside it) when present, else the embedded copies as a whole. A named
    /// spec comes alone unless fixtures and scenarios are named too.
    pub fn resolve(spec: Option<PathBuf>, fixtures: Option<PathBuf>, scenarios: Option<PathBuf>, cwd: &Path) -> Self {
        match spec {
            Some(spec) => Self {
                spec: Source::File(spec),
                fixtures: fixtures.map(Source::File),
                scenarios: scenarios.map(Source::File),
            },
            None if cwd.join("openapi.yaml").is_file() => {
                let beside = |name: &str| Some(cwd.join(name)).filter(|dir| dir.is_dir()).map(Source::File);
                Self {
                    spec: Source::File(cwd.join("openapi.yaml")),
                    fixtures: fixtures.map(Source::File).or_else(|| beside("fixtures")),
                    scenarios: scenarios.map(Source::File).or_else(|| beside("scenarios")),
                }
            }
            None => Self {
                spec: Source::Embedded,
                fixtures: Some(fixtures.map_or(Source::Embedded, Source::File)),
                scenarios: Some(scenarios.map_or(Source::Embedded, Source::File)),
            },
        }
    }

    pub fn load_spec(&self) -> Result<Spec, Diagnostic> {
        match &self.spec {
            Source::File(path) => spec::load_file(path),
            Source::Embedded => spec::load_text(EMBEDDED_SPEC_LABEL, embedded::SPEC, None),
        }
    }

    pub fn load_fixtures(&self) -> Result<Fixtures, Diagnostic> {
        match &self.fixtures {
            None => Ok(Fixtures::default()),
            Some(Source::File(dir)) => Fixtures::load_dir(dir),
            Some(Source::Embedded) => Fixtures::from_files(
                embedded::FIXTURES
                    .iter()
                    .map(|(name, text)| {
                        (
                            name.to_string(),
                            format!("fixtures/{name} (embedded)"),
                            text.to_string(),
                        )
                    })
                    .collect(),
            ),
        }
    }

    /// The scenario directory must exist when named; its files are read by
    /// the scenario engine.
    pub fn check_scenarios(&self) -> Result<(), Diagnostic> {
        match &self.scenarios {
            Some(Source::File(dir)) if !dir.is_dir() => Err(Diagnostic::in_file(
                dir.display().to_string(),
                "the scenarios directory does not exist",
            )),
            _ => Ok(()),
        }
    }
}
