//! Every agent in one ledger: reports cover all agents unless `--agent` says which, rows
//! say whose they are, the `agents` view, blocks kept Claude Code's, and agents in
//! exports. Claude Code's fixtures beside Codex's, through the real binary.

mod common;

use std::path::Path;

use common::{Scratch, copy_tree, days, json, stderr};
use serde_json::Value;

/// `fixtures/claude` as the Claude root and `fixtures/codex` as `~/.codex`.
fn both() -> Scratch {
    let s = Scratch::with_fixtures();
    let home = s.dir.path().join(".codex");
    std::fs::create_dir_all(&home).unwrap();
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/codex"),
        &home,
    );
    s.once();
    s
}

fn claude_only() -> Scratch {
    let s = Scratch::with_fixtures();
    s.once();
    s
}

const CODEX_DAYS: [(&str, [u64; 4]); 3] = [
    ("2025-10-01", [16_000, 900, 0, 9_000]),
    ("2025-10-02", [6_000, 700, 0, 16_000]),
    ("2025-10-03", [7_000, 300, 0, 1_000]),
];

fn codex_days() -> Vec<(String, [u64; 4])> {
    CODEX_DAYS
        .iter()
        .map(|(d, s)| (d.to_string(), *s))
        .collect()
}

fn text(s: &Scratch, args: &[&str]) -> String {
    let out = s
        .cmd()
        .args(args)
        .args(["--no-ingest", "--timezone", "UTC"])
        .assert()
        .success();
    String::from_utf8(out.get_output().stdout.clone()).unwrap()
}

#[test]
fn reports_cover_every_agent_unless_told_which() {
    let s = both();
    let claude = claude_only().report(&["daily"]);
    let all = s.report(&["daily"]);
    let mut expected = codex_days();
    expected.extend(days(&claude));
    assert_eq!(days(&all), expected);
    assert_eq!(
        days(&s.report(&["daily", "--agent", "codex"])),
        codex_days()
    );
    assert_eq!(
        days(&s.report(&["daily", "--agent", "claude"])),
        days(&claude)
    );
    assert_eq!(
        days(&s.report(&["daily", "--agent", "claude,codex"])),
        expected
    );
    // The same choice in every report.
    for view in ["weekly", "monthly", "session", "projects", "models"] {
        let codex = s.report(&[view, "--agent", "codex"]);
        assert_eq!(codex["totals"]["inputTokens"], 29_000, "{view}");
        assert_eq!(codex["totals"]["cacheReadTokens"], 26_000, "{view}");
    }
    let sessions = s.report(&["session", "--agent", "codex"]);
    assert_eq!(sessions["sessions"].as_array().unwrap().len(), 4);
}

#[test]
fn json_rows_list_their_agents() {
    let s = both();
    let daily = s.report(&["daily"]);
    let agents: Vec<&Value> = daily["daily"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["agents"])
        .collect();
    assert_eq!(agents[0], &serde_json::json!(["codex"]));
    assert_eq!(agents.last().unwrap(), &&serde_json::json!(["claude"]));
    let projects = s.report(&["projects"]);
    let app = projects["projects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["project"] == "-home-u-app")
        .expect("Codex's working directory is its project");
    assert_eq!(app["agents"], serde_json::json!(["codex"]));
}

#[test]
fn the_agents_view_lists_each_agents_usage() {
    let s = both();
    let view = s.report(&["agents"]);
    let rows = view["agents"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["agent"], "claude");
    let codex = &rows[1];
    assert_eq!(codex["agent"], "codex");
    assert_eq!(codex["requests"], 6);
    assert_eq!(codex["inputTokens"], 29_000);
    assert_eq!(codex["outputTokens"], 1_900);
    assert_eq!(codex["cacheCreationTokens"], 0);
    assert_eq!(codex["cacheReadTokens"], 26_000);
    assert_eq!(codex["totalTokens"], 56_900);
    assert_eq!(
        codex["modelsUsed"],
        serde_json::json!(["gpt-5", "gpt-5-codex"])
    );
    assert_eq!(codex["firstActivity"], "2025-10-01T09:00:10.000Z");
    assert_eq!(codex["lastActivity"], "2025-10-03T12:30:05.000Z");
    assert!(codex.get("totalCost").is_some());
    let claude = claude_only().report(&["daily"]);
    assert_eq!(
        view["totals"]["inputTokens"].as_u64().unwrap(),
        29_000 + claude["totals"]["inputTokens"].as_u64().unwrap()
    );
    // Table and CSV: one row per agent, and the totals.
    let table = text(&s, &["agents"]);
    assert!(
        table.contains("codex") && table.contains("claude"),
        "{table}"
    );
    assert!(!table.contains("Agents"), "{table}");
    let csv = text(&s, &["agents", "--csv"]);
    assert!(csv.starts_with("agent,"), "{csv}");
    assert_eq!(csv.lines().filter(|l| l.starts_with("codex,")).count(), 1);
}

#[test]
fn tables_name_the_agents_only_when_there_are_several() {
    let s = both();
    let table = text(&s, &["daily"]);
    assert!(table.contains("Agents"), "{table}");
    assert!(table.contains("codex"), "{table}");
    let one = text(&s, &["daily", "--agent", "codex"]);
    assert!(!one.contains("Agents"), "{one}");
    let claude = text(&claude_only(), &["daily"]);
    assert!(!claude.contains("Agents"), "{claude}");
}

#[test]
fn blocks_stay_claude_codes_unless_asked() {
    let s = both();
    let claude = claude_only().report(&["blocks"]);
    let blocks = s.report(&["blocks"]);
    assert_eq!(blocks["blocks"], claude["blocks"]);
    let codex = s.report(&["blocks", "--agent", "codex"]);
    let tokens: u64 = codex["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["totalTokens"].as_u64())
        .sum();
    assert_eq!(tokens, 56_900);
}

#[test]
fn an_unknown_agent_is_refused_with_the_known_ones() {
    let s = Scratch::new();
    let out = s
        .cmd()
        .args(["daily", "--agent", "cursor", "--no-ingest"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("unknown agent \"cursor\""), "{err}");
    assert!(err.contains("claude, codex"), "{err}");
}

#[test]
fn exports_carry_the_agent_and_imports_keep_it() {
    let s = both();
    let file = s.dir.path().join("all.ndjson");
    s.cmd()
        .args(["export", "--output"])
        .arg(&file)
        .assert()
        .success();
    let lines = std::fs::read_to_string(&file).unwrap();
    let rows: Vec<Value> = lines.lines().map(|l| json(l.as_bytes())).collect();
    let codex: Vec<&Value> = rows.iter().filter(|r| r["agent"] == "codex").collect();
    assert_eq!(codex.len(), 6);
    assert!(codex.iter().all(|r| r["v"] == 2));
    assert_eq!(
        codex
            .iter()
            .map(|r| r["reasoningTokens"].as_u64().unwrap_or(0))
            .sum::<u64>(),
        200 + 100 + 300
    );
    // Claude Code's rows stay version 1, without the field: older readers read them.
    assert!(
        rows.iter()
            .filter(|r| r.get("agent").is_none())
            .all(|r| r["v"] == 1)
    );
    let other = Scratch::new();
    other.cmd().arg("import").arg(&file).assert().success();
    assert_eq!(
        days(&other.report(&["daily", "--agent", "codex"])),
        codex_days()
    );
    assert_eq!(
        days(&other.report(&["daily", "--agent", "claude"])),
        days(&claude_only().report(&["daily"]))
    );
}

#[test]
fn status_counts_files_and_rows_per_agent() {
    let s = both();
    let status = s.status();
    assert_eq!(
        status["agents"],
        serde_json::json!([
            {"agent": "claude", "files": 4, "rows": 10},
            {"agent": "codex", "files": 5, "rows": 6},
        ])
    );
}

#[test]
fn doctor_lists_every_folder_it_probed_per_agent() {
    let s = both();
    std::fs::remove_dir_all(s.dir.path().join(".codex/archived_sessions")).unwrap();
    let out = s.cmd().arg("doctor").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let home = s.dir.path().join(".codex");
    assert!(
        text.contains(&format!(
            "codex folder {}: 4 files",
            home.join("sessions").display()
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "codex folder {}: not there",
            home.join("archived_sessions").display()
        )),
        "{text}"
    );
    // Its last pass in local time to the second, as `status` says it, not raw UTC.
    let last = text
        .lines()
        .find(|l| l.contains("last pass that read new lines: "))
        .unwrap_or_else(|| panic!("{text}"));
    let at = last.split(": ").nth(1).unwrap();
    assert!(at.as_bytes()[10] == b' ' && !at.contains('.'), "{last}");
}

#[test]
fn metrics_label_every_series_with_its_agent() {
    let s = both();
    let out = s.cmd().arg("metrics").assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    let input: f64 = text
        .lines()
        .filter(|l| {
            l.starts_with("cco_stats_tokens_total{")
                && l.contains(r#"agent="codex""#)
                && l.contains(r#"type="input""#)
        })
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum();
    assert_eq!(input, 29_000.0, "{text}");
    assert!(
        text.lines()
            .filter(|l| l.starts_with("cco_stats_requests_total{"))
            .all(|l| l.contains("agent=")),
        "{text}"
    );
}

/// A `once` that finds nothing new writes nothing (issue 18, speed): the pass record of
/// an earlier run less than a minute old stands, so cron runs do not wake the disk.
#[test]
fn a_no_change_once_right_after_another_writes_nothing() {
    let s = both();
    let recorded = s.status()["last_full_pass"].clone();
    assert!(recorded.is_string());
    // The main file: a write would reach it at the close's checkpoint. (Its WAL is made
    // on open and removed on close, written to or not.)
    let stamp = || {
        let meta = std::fs::metadata(&s.db).unwrap();
        (meta.len(), meta.modified().unwrap())
    };
    let before = stamp();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let stats = s.once();
    assert_eq!(stats["files_changed"], 0);
    assert_eq!(s.status()["last_full_pass"], recorded);
    assert_eq!(stamp(), before, "the ledger was written");
}
