//! docs/ARCHITECTURE.md's two lists, core and shell, held to the code: every
//! file under `src/` is in exactly one, and no core file names an I/O API or
//! a function of a shell module (it may hold the shell's data types: the
//! `Fixtures` once read, the reload state `App` keeps). A new file, or an I/O
//! call added to the core, fails here until the document says where it
//! belongs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What only the shell may name (outside a file's `#[cfg(test)]` module).
const IO_APIS: &[&str] = &[
    "std::fs",
    "fs::read",
    "fs::write",
    "fs::File",
    "File::open",
    "File::create",
    "tokio::net",
    "TcpStream",
    "TcpListener",
    "UdpSocket",
    "tokio::spawn",
    "spawn_blocking",
    "thread::spawn",
    "std::thread",
    "tokio::time",
    "thread::sleep",
    "std::process",
    "println!",
    "eprintln!",
    "std::io::stdout",
    "std::io::stderr",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Side {
    Core,
    Shell,
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every Rust file under `src/`, as a path relative to it (`app/mod.rs`).
fn rust_files(dir: &Path, found: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path.strip_prefix(src()).expect("under src/");
            found.push(relative.to_string_lossy().replace('\\', "/"));
        }
    }
}

/// The backticked `.rs` paths and `dir/*` globs of each list in the
/// "Core and shell" section.
fn lists() -> Vec<(Side, String)> {
    let document = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/ARCHITECTURE.md"))
        .expect("docs/ARCHITECTURE.md is readable");
    let section = document
        .split_once("## Core and shell")
        .expect("the section exists")
        .1
        .split("\n## ")
        .next()
        .unwrap_or_default();
    let (core, shell) = section
        .split_once("\nShell:\n")
        .expect("a Shell: list follows the Core: list");
    let core = core.split_once("\nCore:\n").expect("a Core: list").1;
    let shell = shell.split("\n\n").next().unwrap_or_default();
    let mut named = Vec::new();
    for (side, text) in [(Side::Core, core), (Side::Shell, shell)] {
        for token in text.split('`').skip(1).step_by(2) {
            if token.ends_with(".rs") || token.ends_with("/*") {
                named.push((side, token.to_string()));
            }
        }
    }
    named
}

/// The lists that name `file` (each list once, however often it names it).
fn side_of(file: &str, named: &[(Side, String)]) -> Vec<Side> {
    let mut sides: Vec<Side> = named
        .iter()
        .filter(|(_, token)| match token.strip_suffix('*') {
            Some(dir) => file.starts_with(dir),
            None => token == file,
        })
        .map(|(side, _)| *side)
        .collect();
    sides.sort();
    sides.dedup();
    sides
}

/// The file without its trailing `#[cfg(test)] mod ...` (unit tests may
/// write files and spawn threads).
fn without_tests(text: &str) -> &str {
    text.find("\n#[cfg(test)]\nmod ").map_or(text, |at| &text[..at])
}

/// `crate::a::b` for `a/b.rs`; `None` for a `mod.rs`, whose path is the
/// parent of its children's (naming it would name every child).
fn module_path(file: &str) -> Option<String> {
    if file.ends_with("mod.rs") || file == "lib.rs" || file == "main.rs" {
        return None;
    }
    Some(format!("crate::{}", file.trim_end_matches(".rs").replace('/', "::")))
}

/// The lower-case names (functions, modules) `code` takes from `module`:
/// `module::name`, `module::{a, b}`. Types (capitalised) are data.
fn functions_named(code: &str, module: &str) -> Vec<String> {
    let mut names = Vec::new();
    for (at, _) in code.match_indices(module) {
        let Some(rest) = code[at + module.len()..].strip_prefix("::") else {
            continue;
        };
        let listed = match rest.strip_prefix('{') {
            Some(list) => list.split('}').next().unwrap_or_default(),
            None => rest
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .next()
                .unwrap_or_default(),
        };
        names.extend(
            listed
                .split(',')
                .map(|name| name.trim().split("::").next().unwrap_or_default().to_string())
                .filter(|name| name.starts_with(|c: char| c.is_ascii_lowercase())),
        );
    }
    names
}

#[test]
fn every_source_file_is_core_or_shell_exactly_once() {
    let named = lists();
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut wrong = BTreeMap::new();
    for file in &files {
        let sides = side_of(file, &named);
        if sides.len() != 1 {
            wrong.insert(file.clone(), sides);
        }
    }
    assert!(
        wrong.is_empty(),
        "each file under src/ belongs in exactly one of docs/ARCHITECTURE.md's lists: {wrong:?}"
    );
    for (_, token) in &named {
        let matched = files.iter().any(|file| match token.strip_suffix('*') {
            Some(dir) => file.starts_with(dir),
            None => token == file,
        });
        assert!(matched, "docs/ARCHITECTURE.md names `{token}`, which is not under src/");
    }
}

#[test]
fn core_files_do_no_io_and_import_no_shell_module() {
    let named = lists();
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let shell_modules: Vec<String> = files
        .iter()
        .filter(|file| side_of(file, &named) == [Side::Shell])
        .filter_map(|file| module_path(file))
        .collect();
    let mut found = Vec::new();
    for file in files.iter().filter(|file| side_of(file, &named) == [Side::Core]) {
        let text = std::fs::read_to_string(src().join(file)).expect("a source file is readable");
        let code = without_tests(&text);
        for api in IO_APIS.iter().filter(|api| code.contains(*api)) {
            found.push(format!("{file} names {api}"));
        }
        for module in &shell_modules {
            for function in functions_named(code, module) {
                found.push(format!("{file} names {module}::{function}"));
            }
        }
    }
    assert!(found.is_empty(), "core files reaching the shell:\n{}", found.join("\n"));
}
