//! The Prometheus alerting rules shipped in `contrib/prometheus/`: `promtool check rules`
//! lints them, `promtool test rules` runs their unit tests, and every series they name
//! is one `cco-stats metrics` prints, so a renamed metric cannot leave a rule that never
//! fires.
//!
//! promtool is a test dependency (.ci/run installs Debian's `prometheus`): the tests fail,
//! saying so, where it is missing.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Scratch;

fn promtool() -> PathBuf {
    let path = PathBuf::from("/usr/bin/promtool");
    let found = Command::new(&path)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "promtool is not installed: `apt-get install --no-install-recommends prometheus` (.ci/run does)"
    );
    path
}

fn contrib() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/prometheus")
}

fn promtool_says(args: &[&str]) -> String {
    let out = Command::new(promtool())
        .args(args)
        .current_dir(contrib())
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool {args:?}:\n{said}");
    said
}

#[test]
fn the_rules_pass_promtool_check_and_their_unit_tests() {
    let said = promtool_says(&["check", "rules", "cco-stats.rules.yml"]);
    assert!(said.contains("SUCCESS"), "{said}");
    assert!(!said.contains("WARNING"), "{said}");
    let said = promtool_says(&["test", "rules", "cco-stats.rules.test.yml"]);
    assert!(said.contains("SUCCESS"), "{said}");
}

#[test]
fn every_series_the_rules_name_is_one_the_binary_prints() {
    let rules = std::fs::read_to_string(contrib().join("cco-stats.rules.yml")).unwrap();
    let named: std::collections::BTreeSet<&str> = rules
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(|l| l.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')))
        .filter(|w| w.starts_with("cco_stats_"))
        .collect();
    assert!(named.len() >= 6, "{named:?}");
    let s = Scratch::with_fixtures();
    s.once();
    let out = s.cmd().arg("metrics").assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    for name in named {
        assert!(
            text.contains(&format!("\n# TYPE {name} ")),
            "the rules name {name}, which `cco-stats metrics` does not print:\n{text}"
        );
    }
}
