//! Deep merge and matching: the helpers templates and rules share.

use proptest::prelude::*;
use serde_json::Value;

use crate::strategies::config::config;
use crate::strategies::json::json_value;

proptest! {
    #![proptest_config(config(256))]

    /// Merging and matching: `contains` is reflexive, a merge keeps the overlay's leaves.
    #[test]
    fn merge_and_contains_behave(base in json_value(), overlay in json_value()) {
        prop_assert!(specmock::internal::json_subset::contains(&base, &base));
        let mut merged = base.clone();
        specmock::internal::scenario::template::merge(&mut merged, overlay.clone());
        if !overlay.is_object() || !base.is_object() {
            prop_assert_eq!(&merged, &overlay);
        } else {
            prop_assert!(specmock::internal::json_subset::contains(&merged, &strip_objects(&overlay)));
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
