//! The spec, fixtures and scenarios built into the binary (build.rs), and
//! the value of each embedded YAML file, parsed when the binary was built.

use serde_json::Value;

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

/// The value of `text` when it is one of the embedded YAML files: the same
/// value a parse gives (build.rs parses them with the same options, within
/// the smallest budget), without the cost of parsing YAML at start-up.
pub(crate) fn parsed_yaml(text: &str) -> Option<Value> {
    let (_, json) = PARSED.iter().find(|(yaml, _)| *yaml == text)?;
    serde_json::from_str(json).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::parse::{parse_typed, NodeBudget};

    #[test]
    fn values_parsed_at_build_time_are_the_values_parsed_at_start_up() {
        let yaml_files = 1 + SCENARIOS.iter().filter(|(name, _)| name.ends_with(".yaml")).count();
        assert_eq!(PARSED.len(), yaml_files, "every embedded YAML file has its value");
        for (text, _) in PARSED {
            for budget in [NodeBudget::Spec, NodeBudget::Scenario] {
                let parsed: Value = parse_typed("embedded.yaml", text, budget).expect("the embedded file parses");
                let built = parsed_yaml(text).expect("a value built in");
                // As text: the order of keys counts too.
                assert_eq!(built.to_string(), parsed.to_string());
            }
        }
    }

    #[test]
    fn other_texts_have_no_value_built_in() {
        assert_eq!(parsed_yaml("openapi: 3.0.3\n"), None);
        assert_eq!(parsed_yaml(&format!("{SPEC} ")), None);
    }
}
