//! What the store check found, each once, located at the line and column
//! where the offending part was written.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::partial::{violations, Found, Origin, Partial};
use super::placed::Placed;
use super::ScenarioSource;
use crate::diagnostic::Diagnostic;
use crate::fixtures::Fixtures;
use crate::locate::Locations;
use crate::spec::MediaSpec;

/// The response a value is checked against.
pub(super) struct Context<'p, 'a> {
    pub placed: &'p Placed<'a>,
    pub media: &'p MediaSpec,
    pub status: u16,
}

/// What was found, each once, in the order found.
#[derive(Default)]
pub(super) struct Findings {
    /// The values each response (rule, status, media type) was checked with:
    /// a scenario that extends another follows its values to the same
    /// responses again.
    checked: HashMap<(String, u16, String), Vec<Partial>>,
    seen: HashSet<(Origin, String)>,
    found: Vec<(Origin, String)>,
}

impl Findings {
    pub(super) fn add(&mut self, context: &Context<'_, '_>, value: Partial) {
        let Some(schema) = &context.media.schema else { return };
        let response = (
            context.placed.rule.label.clone(),
            context.status,
            context.media.media_type.clone(),
        );
        let checked = self.checked.entry(response).or_default();
        if checked.contains(&value) {
            return;
        }
        let found = violations(schema, &value);
        checked.push(value);
        for Found { violation, origin } in found {
            let pointer = if violation.pointer.is_empty() {
                "/"
            } else {
                &violation.pointer
            };
            let message = format!(
                "{} -> {} {}: {pointer} {}",
                context.placed.rule.label, context.placed.op.id, context.status, violation.message
            );
            if self.seen.insert((origin.clone(), message.clone())) {
                self.found.push((origin, message));
            }
        }
    }

    /// Each finding at the line and column of its origin.
    pub(super) fn located(self, sources: &[ScenarioSource], fixtures: &Fixtures) -> Vec<Diagnostic> {
        let texts: HashMap<&str, &str> = sources
            .iter()
            .map(|s| (s.label.as_str(), s.text.as_str()))
            .chain(fixtures.names().filter_map(|name| {
                let fixture = fixtures.get(name)?;
                Some((fixture.file.as_str(), fixture.text.as_str()))
            }))
            .collect();
        let mut locations: HashMap<Arc<str>, Locations> = HashMap::new();
        self.found
            .into_iter()
            .map(|(origin, message)| {
                let diagnostic = Diagnostic::at_pointer(origin.file.as_ref(), &origin.pointer, message);
                match texts.get(origin.file.as_ref()) {
                    Some(text) => locations
                        .entry(origin.file.clone())
                        .or_insert_with(|| Locations::of_yaml(text))
                        .locate(diagnostic),
                    None => diagnostic,
                }
            })
            .collect()
    }
}
