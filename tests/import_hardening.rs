//! `import` against hostile input, through the real binary: a copy of this ledger's rows
//! cannot raise its totals or move them to another host, and a row of another host wins
//! only by the dedup rules.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{Scratch, json, stderr};
use serde_json::Value;

fn export(s: &Scratch) -> PathBuf {
    let path = s.dir.path().join("export.ndjson");
    s.cmd().args(["export", "-o"]).arg(&path).assert().success();
    path
}

fn import(s: &Scratch, files: &[&Path], extra: &[&str]) -> Output {
    s.cmd()
        .arg("import")
        .args(extra)
        .args(files)
        .output()
        .unwrap()
}

fn rows(s: &Scratch) -> u64 {
    s.status()["rows"].as_u64().unwrap()
}

fn lines(path: &Path) -> Vec<Value> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| json(l.as_bytes()))
        .collect()
}

fn write_lines(path: &Path, lines: &[Value]) {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    fs::write(path, text).unwrap();
}

/// A ledger of the fixtures, its export, and its daily totals in UTC.
fn ledger() -> (Scratch, Vec<Value>, Value) {
    let s = Scratch::with_fixtures();
    s.once();
    let exported = lines(&export(&s));
    assert!(exported.len() >= 4, "the fixtures hold a few responses");
    let totals = s.daily(&["--timezone", "UTC"])["totals"].clone();
    (s, exported, totals)
}

fn cost(totals: &Value) -> f64 {
    totals["totalCost"].as_f64().unwrap()
}

#[test]
fn our_own_rows_imported_back_with_a_huge_cost_or_more_tokens_change_nothing() {
    let (s, exported, before) = ledger();
    let forged: Vec<Value> = exported
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let mut line = line.clone();
            if i % 2 == 0 {
                line["costUSD"] = 1_000_000.0.into();
            } else {
                let more = line["outputTokens"].as_u64().unwrap() + 1_000_000;
                line["outputTokens"] = more.into();
            }
            line
        })
        .collect();
    let path = s.dir.path().join("forged.ndjson");
    write_lines(&path, &forged);

    import(&s, &[&path], &[]);
    let after = s.daily(&["--timezone", "UTC"])["totals"].clone();
    assert_eq!(
        after, before,
        "a copy claiming this ledger never replaces its row"
    );
    assert_eq!(rows(&s), exported.len() as u64);
}

#[test]
fn a_copy_under_another_host_keeps_our_row_ours_and_wins_only_by_tokens() {
    let (s, exported, before) = ledger();
    let mine = s.status()["host"]["id"].as_str().unwrap().to_string();
    let mut larger = 0;
    let copies: Vec<Value> = exported
        .iter()
        .filter(|l| l["messageId"].is_string())
        .enumerate()
        .map(|(i, line)| {
            let mut line = line.clone();
            line["hostId"] = "ffffffffffffffffffffffffffffffff".into();
            line["hostName"] = "intruder".into();
            if i % 2 == 0 {
                // A tie on tokens: a higher cost claimed elsewhere is no better copy.
                line["costUSD"] = 1_000_000.0.into();
                line["speed"] = "fast".into();
            } else {
                let more = line["outputTokens"].as_u64().unwrap() + 7;
                line["outputTokens"] = more.into();
                larger += 1;
            }
            line
        })
        .collect();
    assert!(larger > 0);
    let path = s.dir.path().join("copies.ndjson");
    write_lines(&path, &copies);

    let out = import(&s, &[&path], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("{larger} upgraded")),
        "the larger copies are better copies: {}",
        stderr(&out)
    );
    let after = s.daily(&["--timezone", "UTC"])["totals"].clone();
    assert_eq!(
        after["outputTokens"].as_u64().unwrap(),
        before["outputTokens"].as_u64().unwrap() + 7 * larger,
    );
    assert!(
        cost(&after) < cost(&before) + 1.0,
        "{} then {}",
        cost(&before),
        cost(&after)
    );
    // Every row is still this ledger's.
    let hosts = s.report(&["hosts"]);
    let list = hosts["hosts"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{hosts}");
    assert_eq!(list[0]["hostId"], mine.as_str());
    assert_eq!(
        s.report(&["daily", "--host", &mine])["totals"]["totalTokens"],
        after["totalTokens"]
    );
    assert_eq!(rows(&s), exported.len() as u64);
}
