//! What a reload replaces, as one immutable value: the spec, the answers
//! rendered from it, the scenarios, the one sessions start in, and where and
//! when it was loaded. The app holds the current one in a cell that a
//! reload swaps whole; a request reads it once and answers from that.

use std::cmp::Ordering;
use std::sync::Arc;
use std::time::SystemTime;

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::render::Responder;
use crate::rfc3339;
use crate::scenario::engine::SessionState;
use crate::scenario::{check_values, load_catalog, Catalog, Scenario};
use crate::spec::Spec;

use super::{Inputs, Stale};

pub struct Configuration {
    pub spec: Spec,
    pub(crate) responder: Responder,
    pub scenarios: Catalog,
    /// The scenario new sessions start in (`--scenario`, else `default`;
    /// with `--upstream`, none).
    pub start_with: Option<Arc<Scenario>>,
    /// 1 for the configuration loaded at start-up, one more per reload.
    pub generation: u64,
    pub loaded_at: SystemTime,
    /// The spec, the files its `$ref`s reach, each fixture and each
    /// scenario file, as diagnostics name them.
    pub files: Vec<String>,
    /// Where requests carry credentials, to keep them out of the journal.
    pub credentials: super::CredentialNames,
}

impl Configuration {
    /// Renders every default body and checks every scenario once (the
    /// checks of start-up, all of them); returns the warnings an operator
    /// should see, or every problem found.
    pub fn build(inputs: Inputs, generation: u64) -> Result<(Self, Vec<String>), Diagnostics> {
        let Inputs {
            spec,
            fixtures,
            scenarios,
            start_scenario,
            seed,
        } = inputs;
        let files = spec
            .files()
            .cloned()
            .chain(
                fixtures
                    .names()
                    .filter_map(|name| Some(fixtures.get(name)?.file.clone())),
            )
            .chain(scenarios.iter().map(|source| source.label.clone()))
            .collect();
        let mut warnings: Vec<String> = spec.warnings.iter().map(ToString::to_string).collect();
        let responder = Responder::build(&spec, &fixtures, seed, &mut warnings)?;
        let catalog = load_catalog(scenarios.clone(), &spec, &responder, &fixtures, seed)?;
        // Values followed through the store, once every file loads on its own.
        let findings: Diagnostics = check_values(&catalog, &spec, &fixtures, &scenarios)
            .into_iter()
            .collect();
        if !findings.is_empty() {
            return Err(findings);
        }
        let start_with = match start_scenario {
            Some(name) => Some(catalog.get(&name).cloned().ok_or_else(|| {
                let known: Vec<&str> = catalog.names().collect();
                Diagnostic::in_file(
                    "--scenario",
                    format!("unknown scenario `{name}` (known: {})", known.join(", ")),
                )
            })?),
            None => catalog.get("default").cloned(),
        };
        let configuration = Self {
            credentials: super::CredentialNames::of(&spec),
            spec,
            responder,
            scenarios: catalog,
            start_with,
            generation,
            loaded_at: SystemTime::now(),
            files,
        };
        Ok((configuration, warnings))
    }

    /// The scenario new sessions start in.
    pub fn start_scenario(&self) -> Option<&str> {
        self.start_with.as_deref().map(|s| s.name.as_str())
    }

    /// A new session, at the start scenario of this configuration.
    pub fn fresh_session(&self) -> SessionState {
        let mut session = SessionState::start(self.start_with.clone());
        session.generation = self.generation;
        session
    }

    /// Maps a session (held under its lock) to this configuration, if it was
    /// last mapped to an older one; `Stale` if it is mapped to a newer one,
    /// which a request that read this one before a swap must not mix with.
    pub fn adopt(&self, session: &mut SessionState) -> Result<(), Stale> {
        match session.generation.cmp(&self.generation) {
            Ordering::Equal => Ok(()),
            Ordering::Less => {
                let at = rfc3339::format_millis(self.loaded_at);
                session.carry_into(&self.scenarios, self.start_with.as_ref(), self.generation, &at);
                Ok(())
            }
            Ordering::Greater => Err(Stale),
        }
    }

    /// The index of the operation named `id` here.
    pub fn operation_index(&self, id: &str) -> Option<usize> {
        self.spec.operations.iter().position(|op| op.id == id)
    }
}
