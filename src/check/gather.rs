//! One check, in the order the mock loads: the spec (a fatal problem there
//! stops everything), its lint, the fixtures, the default bodies, the
//! scenarios, then unused fixtures and coverage.

use std::path::Path;

use super::coverage::coverage;
use super::positions::SpecPositions;
use super::report::{CheckReport, Finding, Input, InputKind, Subject};
use super::{fixtures, scenarios, spec_lint};
use crate::diagnostic::Diagnostic;
use crate::render::Responder;
use crate::scenario::{follow_values, STEPS};
use crate::sources::{Source, Sources, EMBEDDED_SPEC_LABEL};
use crate::spec::StatusKey;

/// `serve`'s default `--seed`: generated bodies are checked as served by default.
const SEED: u64 = 0;

/// Checks what `sources` names. `Err`: an input cannot be read at all (a
/// usage or I/O error, not a contract problem).
pub(super) fn gather(sources: &Sources) -> Result<CheckReport, Diagnostic> {
    let mut positions = SpecPositions::default();
    let mut report = CheckReport::empty();
    for source in sources.specs() {
        let text = source.spec_text()?;
        let (label, base_dir) = match &source {
            Source::File(path) => (
                path.display().to_string(),
                Some(path.parent().unwrap_or(Path::new("")).to_path_buf()),
            ),
            Source::Embedded => (EMBEDDED_SPEC_LABEL.to_string(), None),
        };
        positions.add(&label, &text, base_dir);
        report.inputs.push(Input {
            kind: InputKind::Spec,
            label,
        });
    }
    let spec_label = report.inputs[0].label.clone();
    let mut fixture_files = sources.fixture_files()?;
    fixture_files.sort();
    let scenario_sources = sources.load_scenarios()?;
    let mut spec = match sources.load_spec() {
        Ok(spec) => spec,
        Err(diagnostic) => {
            report.problem(diagnostic);
            return Ok(report);
        }
    };
    let inputs = fixture_files
        .iter()
        .map(|(_, label, _)| (InputKind::Fixture, label.clone()))
        .chain(scenario_sources.iter().map(|s| (InputKind::Scenario, s.label.clone())));
    report.inputs.extend(inputs.map(|(kind, label)| Input { kind, label }));

    report.webhooks = spec.webhooks.clone();
    spec.warnings.iter().cloned().for_each(|d| report.warning(d));
    let spec_subject = Subject::Input(spec_label);
    let lint = spec_lint::lint(&mut spec, &mut positions);
    report.problems.extend(lint.problems);
    report.warnings.extend(lint.warnings);

    let fixtures = fixtures::check(fixture_files, &spec);
    fixtures.problems.into_iter().for_each(|d| report.problem(d));
    fixtures.warnings.into_iter().for_each(|d| report.warning(d));

    let mut render_warnings = Vec::new();
    let responder = match Responder::build(&spec, &fixtures.served, SEED, &mut render_warnings) {
        Ok(responder) => responder,
        Err(diagnostic) => {
            report.problem(diagnostic);
            return Ok(report);
        }
    };
    // Default bodies are the spec's: a body that cannot be generated is its warning.
    for message in render_warnings {
        report.warnings.push(Finding::unlocated(spec_subject.clone(), message));
    }

    let scenarios = scenarios::check(scenario_sources.clone(), &spec, &responder, &fixtures.parsed, SEED);
    scenarios.problems.into_iter().for_each(|d| report.problem(d));
    let followed = follow_values(&scenarios.catalog, &spec, &fixtures.parsed, &scenario_sources, STEPS);
    followed.problems.into_iter().for_each(|d| report.problem(d));
    followed.warnings.into_iter().for_each(|d| report.warning(d));
    scenarios.set_aside.into_iter().for_each(|d| report.warning(d));
    scenarios.warnings.into_iter().for_each(|d| report.warning(d));

    for (name, label) in fixtures.unnamed {
        if !scenarios.fixtures.contains(&name) {
            let message = format!(
                "unused: no scenario names `{name}`, and it is named after no response (`OPERATION_ID.json`, `OPERATION_ID.STATUS.json`)"
            );
            report.warning(Diagnostic::in_file(label, message));
        }
    }

    report.coverage = coverage(&spec, &scenarios.catalog);
    for pair in &report.coverage {
        if pair.reached_by.is_empty() {
            let Some(operation) = spec.operation(&pair.operation) else {
                continue;
            };
            let target = positions.response(operation, StatusKey::Code(pair.status));
            let message = format!(
                "`{}` {}: no scenario rule answers it and it is not the default answer; only `Prefer: code={}` reaches it",
                pair.operation, pair.status, pair.status
            );
            report.warnings.push(positions.finding(pair.subject(), target, message));
        }
    }
    report.sort();
    Ok(report)
}
