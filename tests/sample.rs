//! The sample `make run` shows a newcomer (`fixtures/sample`), run as `make run` runs it
//! (`fixtures/sample/run.sh`): a clean first run, whose stderr is the pass summary alone
//! (no skipped line, no unpriced model, no warning), and whose totals are those
//! `fixtures/README.md` quotes for it.

mod common;

use std::path::Path;
use std::process::Command;

use common::{BIN, json};

/// The sample's table in `fixtures/README.md`: per agent (and `all`), input, output,
/// cache create, cache read, requests.
fn readme_totals() -> Vec<(String, [u64; 5])> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/README.md"))
            .unwrap();
    let (_, section) = readme
        .split_once("## `sample/`")
        .expect("fixtures/README.md has the sample's section");
    // The section ends where the next one begins.
    let section = section.split("\n## ").next().unwrap_or_default();
    section
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| agent"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let n = |i: usize| cells[i].replace(',', "").parse::<u64>().unwrap();
            (cells[1].to_string(), [n(2), n(3), n(4), n(5), n(6)])
        })
        .collect()
}

#[test]
fn make_runs_sample_is_clean_and_gives_the_readmes_totals() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sample.db");
    // `make run`'s own command; a ledger left from another tree is replaced, not added to.
    std::fs::write(&db, "left from before").unwrap();
    let run = || {
        Command::new("sh")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sample/run.sh"))
            .arg(BIN)
            .arg(&db)
            .env("HOME", dir.path())
            .output()
            .unwrap()
    };
    let out = run();
    let err = String::from_utf8_lossy(&out.stderr);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{err}{shown}");
    assert_eq!(err.lines().count(), 1, "the summary alone: {err}");
    assert!(err.contains("; 0 lines skipped;"), "{err}");
    assert!(err.contains("45 files seen, 45 changed"), "{err}");
    assert!(!shown.contains('?'), "every model priced: {shown}");
    assert!(
        shown.contains("2026-11-02") && shown.contains("2026-11-30"),
        "{shown}"
    );

    let want = readme_totals();
    assert_eq!(want.len(), 3, "{want:?}");
    let agents = json(
        &Command::new(BIN)
            .arg("--db")
            .arg(&db)
            .args(["agents", "--json", "--no-ingest", "--timezone", "UTC"])
            .env("HOME", dir.path())
            .output()
            .unwrap()
            .stdout,
    );
    let mut all = [0u64; 5];
    for agent in agents["agents"].as_array().unwrap() {
        let have = [
            "inputTokens",
            "outputTokens",
            "cacheCreationTokens",
            "cacheReadTokens",
            "requests",
        ]
        .map(|k| agent[k].as_u64().unwrap());
        let name = agent["agent"].as_str().unwrap();
        let (_, quoted) = want
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("{name} not in the README: {want:?}"));
        assert_eq!(&have, quoted, "{name}");
        all = std::array::from_fn(|i| all[i] + have[i]);
    }
    assert_eq!(want[2], ("all".to_string(), all));
    // The table's total row says the same.
    let total = shown.lines().find(|l| l.starts_with("Total")).unwrap();
    for n in &all[..4] {
        let n = n.to_string();
        assert!(total.contains(&grouped(&n)), "{n} in {total}");
    }

    // Run again: the same, from a fresh ledger.
    let again = run();
    assert_eq!(String::from_utf8_lossy(&again.stdout), shown);

    // The commands it suggests next work as printed, and read nothing new in.
    let (_, next) = shown
        .split_once("More of the sample")
        .expect("the sample says what to try next");
    let suggested: Vec<&str> = next
        .lines()
        .filter_map(|l| l.strip_prefix("  "))
        .map(|l| l.split(" #").next().unwrap().trim())
        .collect();
    assert_eq!(suggested.len(), 2, "{next}");
    for command in suggested {
        let out = Command::new("sh")
            .args(["-c", command])
            .current_dir(dir.path())
            .env("HOME", dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{command}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.lines().all(|l| l.starts_with("cco-stats: wrote ")),
            "{command}: {err}"
        );
    }
    assert!(dir.path().join("sample.html").is_file());
}

/// `n` with thousands separators, as the tables write it.
fn grouped(n: &str) -> String {
    let mut out = String::new();
    for (i, c) in n.chars().enumerate() {
        if i > 0 && (n.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
