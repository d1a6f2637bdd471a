//! Property tests (proptest) for the entry points that take outside input:
//! requests (`App::handle`, `App::upgrade`), scenario files, spec documents
//! and `{{...}}` templates, one file per subject. A panic anywhere is a bug:
//! a malformed request gets a 4xx problem, a malformed file a `Diagnostic`.

#[path = "../common/mod.rs"]
mod common;

mod checks;
mod documents;
mod edits;
mod regressions;
mod requests;
mod scenarios;
mod specs;
mod strategies;
mod templates;
mod world;
