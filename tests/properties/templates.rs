//! Deep merge and matching, and RFC 3339 time: the helpers templates and
//! rules share.

use proptest::prelude::*;
use serde_json::Value;
use specmock::scenario::engine;

use crate::strategies::config::config;
use crate::strategies::json::json_value;

proptest! {
    #![proptest_config(config(256))]

    /// Merging and matching: `contains` is reflexive, a merge keeps the overlay's leaves.
    #[test]
    fn merge_and_contains_behave(base in json_value(), overlay in json_value()) {
        prop_assert!(engine::contains(&base, &base));
        let mut merged = base.clone();
        specmock::scenario::template::merge(&mut merged, overlay.clone());
        if !overlay.is_object() || !base.is_object() {
            prop_assert_eq!(&merged, &overlay);
        } else {
            prop_assert!(engine::contains(&merged, &strip_objects(&overlay)));
        }
    }

    /// Dates: any instant since the epoch is written in RFC 3339 without a panic.
    #[test]
    fn any_instant_is_written_in_rfc3339(seconds in any::<u64>()) {
        let text = specmock::scenario::template::rfc3339(std::time::Duration::from_secs(seconds));
        if seconds < 253_402_300_800 {
            // Years 1970..=9999: the fixed-width form.
            prop_assert_eq!(text.len(), 20, "{}", text);
            prop_assert!(text.ends_with('Z') && text.as_bytes()[10] == b'T', "{}", text);
        }
    }
}

/// The parts of `overlay` a merge is sure to keep: leaves replace, objects
/// merge key by key (a leaf under an object key also replaces).
fn strip_objects(overlay: &Value) -> Value {
    match overlay {
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), strip_objects(v))).collect()),
        other => other.clone(),
    }
}
