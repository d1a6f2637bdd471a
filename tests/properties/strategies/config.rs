// Included by src/ too (see mod.rs), so no inner doc comment here.

use proptest::test_runner::Config as ProptestConfig;

/// The configuration of every property: `default_cases` cases unless
/// `PROPTEST_CASES` says otherwise, no failure files in the source tree, and
/// shrinking bounded so that a failing run still ends quickly.
pub fn config(default_cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_cases);
    ProptestConfig {
        cases,
        failure_persistence: None,
        max_shrink_iters: 10_000,
        max_shrink_time: 20_000,
        ..ProptestConfig::default()
    }
}
