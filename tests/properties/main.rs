//! Property tests (proptest) for the entry points that take outside input,
//! through the whole server's pure path: requests (`dispatch::handle`,
//! `dispatch::upgrade`), scenario files and spec documents. A panic anywhere is a
//! bug: a malformed request gets a 4xx problem, a malformed file a
//! `Diagnostic`. Properties of one module's functions (templates, data
//! generation) sit beside that module, under `#[cfg(test)] mod properties`.
//!
//! The case counts are small so that `cargo test` stays fast (a few seconds
//! for this binary in a debug build); `PROPTEST_CASES=N` raises every
//! property to N cases for a crash hunt, e.g.
//! `PROPTEST_CASES=20000 cargo test --release --test properties`.
//! Failures are not persisted to files: every crash found is kept as an
//! explicit regression test instead (`regressions.rs`).
//!
//! A failing request property prints the request that met it.

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
