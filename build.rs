//! Embeds the shipped spec, fixtures and scenarios, so the binary serves the
//! Pieces OS User API from any directory; and the value of each YAML file as
//! parsed here, so that starting does not parse them again.

use std::fmt::Write as _;
use std::path::Path;

// Read with the options start-up reads YAML with, so a value parsed here is
// the one a parse at start-up gives (a unit test in `embedded.rs` compares
// them). Only some of the budgets' items are used here.
#[allow(dead_code)]
#[path = "src/spec/budget.rs"]
mod budget;

fn main() {
    let root = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&root);
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let out = Path::new(&out);
    let mut code = String::new();
    let mut parsed = Vec::new();
    println!("cargo:rerun-if-changed=openapi.yaml");
    println!("cargo:rerun-if-changed=src/spec/budget.rs");
    let spec = root.join("openapi.yaml");
    writeln!(
        code,
        "pub const SPEC: &str = include_str!({:?});",
        spec.display().to_string()
    )
    .unwrap();
    parsed.extend(parse_yaml(&spec, &out.join("spec.json")).map(|json| ("SPEC".to_string(), json)));
    for (constant, dir) in [("FIXTURES", "fixtures"), ("SCENARIOS", "scenarios")] {
        println!("cargo:rerun-if-changed={dir}");
        let mut files: Vec<_> = std::fs::read_dir(root.join(dir))
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.is_file())
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        writeln!(code, "pub const {constant}: &[(&str, &str)] = &[").unwrap();
        for (index, path) in files.iter().enumerate() {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            println!("cargo:rerun-if-changed={}", path.display());
            writeln!(code, "    ({name:?}, include_str!({:?})),", path.display().to_string()).unwrap();
            if constant == "SCENARIOS" {
                let json = out.join(format!("{dir}-{name}.json"));
                parsed.extend(parse_yaml(path, &json).map(|json| (format!("{constant}[{index}].1"), json)));
            }
        }
        writeln!(code, "];").unwrap();
    }
    writeln!(code, "pub const PARSED: &[(&str, &str)] = &[").unwrap();
    for (text, json) in parsed {
        writeln!(code, "    ({text}, include_str!({:?})),", json.display().to_string()).unwrap();
    }
    writeln!(code, "];").unwrap();
    std::fs::write(out.join("embedded.rs"), code).expect("OUT_DIR is writable");
}

/// The value of a YAML file as JSON, written to `target`; `None` for a file that does not parse within the smallest budget (the
/// budgets only refuse, so a value within it is the value under any), which
/// start-up then parses and reports on itself.
fn parse_yaml(path: &Path, target: &Path) -> Option<std::path::PathBuf> {
    let text = std::fs::read_to_string(path).ok()?;
    let options = budget::yaml_options(budget::NodeBudget::Scenario);
    let value: serde_json::Value = serde_saphyr::from_str_with_options(&text, options).ok()?;
    std::fs::write(target, value.to_string()).expect("OUT_DIR is writable");
    Some(target.to_path_buf())
}
