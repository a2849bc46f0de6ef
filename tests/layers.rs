//! The house's floors (see the drawing in `src/lib.rs`): a module names only the modules
//! below it, so no arrow between them points back up. A `use` that climbs (the ledger
//! naming the ingest that feeds it, a source naming the ingest that calls it) builds and
//! passes every other test; this one reads the sources and names the file and line.

use std::fs;
use std::path::{Path, PathBuf};

/// Each layer, as a folder or file under `src/`, and the crate modules it must never
/// name: every module drawn above it, and its sibling.
const FORBIDDEN: &[(&str, &[&str])] = &[
    (
        "model",
        &[
            "cli", "command", "config", "http", "ingest", "ledger", "limits", "paths", "render",
            "report", "sources", "visible",
        ],
    ),
    (
        "limits.rs",
        &[
            "cli", "command", "ingest", "ledger", "render", "report", "sources",
        ],
    ),
    (
        "sources",
        &["cli", "command", "ingest", "ledger", "render", "report"],
    ),
    (
        "ledger",
        &["cli", "command", "ingest", "render", "report", "sources"],
    ),
    ("report", &["cli", "command", "ingest", "render", "sources"]),
    ("render", &["cli", "command", "ingest", "sources"]),
];

/// The arrows that still climb, by file and the module named: each one listed, so none
/// spreads unseen, and each an error once it is gone, so the list only shrinks.
const KNOWN: &[(&str, &str)] = &[
    // Unit tests hold a source's records to the ledger's dedup rule.
    ("src/sources/database.rs", "ledger"),
    ("src/sources/rewritten.rs", "ledger"),
];

fn rust_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = fs::read_dir(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for entry in entries {
            rust_files(&entry, out);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_path_buf());
    }
}

/// The crate modules a line names: `crate::x` and each item of `crate::{x, y::z}`.
fn named_modules(line: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut start = 0;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        names.push(leading_ident(&group[start..i]));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        names.push(leading_ident(&group[start..i]));
                        start = i + 1;
                    }
                    _ => {}
                }
            }
        } else {
            names.push(leading_ident(rest));
        }
    }
    names.retain(|n| !n.is_empty());
    names
}

fn leading_ident(text: &str) -> String {
    text.trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// Every upward reference under `src`, as (file, module named, message).
fn upward(src: &Path) -> Vec<(String, String, String)> {
    let root = src.parent().expect("src has a parent");
    let mut found = Vec::new();
    for (layer, forbidden) in FORBIDDEN {
        let mut files = Vec::new();
        rust_files(&src.join(layer), &mut files);
        assert!(!files.is_empty(), "layer src/{layer} has no Rust files");
        for file in files {
            let text =
                fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let name = file
                .strip_prefix(root)
                .unwrap_or(&file)
                .display()
                .to_string();
            for (n, line) in text.lines().enumerate() {
                for module in named_modules(line) {
                    if forbidden.contains(&module.as_str()) {
                        let message = format!(
                            "{name}:{}: src/{layer} names crate::{module}, a floor above it: {}",
                            n + 1,
                            line.trim()
                        );
                        found.push((name.clone(), module, message));
                    }
                }
            }
        }
    }
    found
}

#[test]
fn arrows_only_point_down() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = upward(&src);
    let new: Vec<&str> = found
        .iter()
        .filter(|(file, module, _)| !KNOWN.contains(&(file.as_str(), module.as_str())))
        .map(|(_, _, message)| message.as_str())
        .collect();
    assert!(new.is_empty(), "upward references:\n{}", new.join("\n"));
    let stale: Vec<String> = KNOWN
        .iter()
        .filter(|(file, module)| !found.iter().any(|(f, m, _)| f == file && m == module))
        .map(|(file, module)| format!("{file} no longer names crate::{module}"))
        .collect();
    assert!(
        stale.is_empty(),
        "remove from KNOWN in tests/layers.rs:\n{}",
        stale.join("\n")
    );
}

#[test]
fn grouped_and_nested_paths_are_seen() {
    assert_eq!(
        named_modules("use crate::{ingest::batch::{Batch, Cursor}, model::Record};"),
        ["ingest", "model"]
    );
    assert_eq!(
        named_modules("    agent: crate::sources::Agent, x: crate::ledger::Store"),
        ["sources", "ledger"]
    );
    assert!(named_modules("let crate_name = 1;").is_empty());
}
