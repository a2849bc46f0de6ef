//! Codex CLI's rollouts through the real binary: `fixtures/codex` (its README works out
//! the totals by hand), read from `~/.codex` of a scratch home.

mod common;

use std::path::{Path, PathBuf};

use common::{Scratch, copy_tree, days, json};
use serde_json::Value;

fn codex_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/codex")
}

/// A scratch whose `~/.codex` is a copy of `fixtures/codex` (no Claude Code data).
fn with_codex() -> Scratch {
    let s = Scratch::new();
    let home = s.dir.path().join(".codex");
    std::fs::create_dir_all(&home).unwrap();
    copy_tree(&codex_fixtures(), &home);
    s
}

/// The fixtures' days: [input, output, cache creation, cache read].
fn expected_days() -> Vec<(String, [u64; 4])> {
    vec![
        ("2025-10-01".into(), [16_000, 900, 0, 9_000]),
        ("2025-10-02".into(), [6_000, 700, 0, 16_000]),
        ("2025-10-03".into(), [7_000, 300, 0, 1_000]),
    ]
}

fn models(daily: &Value, day: usize) -> Vec<String> {
    daily["daily"][day]["modelsUsed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap().to_string())
        .collect()
}

/// Every rule at once: growth of the cumulative totals (a re-emitted `token_count` adds
/// nothing), cached input apart from input, a model switch, the archived copy of a
/// rollout, a fork's and a subagent's replays of their parent, totals that start again.
#[test]
fn the_fixtures_give_the_totals_worked_out_by_hand() {
    let s = with_codex();
    s.once();
    let daily = s.daily(&["--timezone", "UTC"]);
    assert_eq!(days(&daily), expected_days());
    assert_eq!(models(&daily, 0), ["gpt-5", "gpt-5-codex"]);
    assert_eq!(models(&daily, 1), ["gpt-5", "gpt-5-codex"]);
    // A second run finds nothing new.
    s.once();
    assert_eq!(days(&s.daily(&["--timezone", "UTC"])), expected_days());
}

/// A fork read before its parent (the parent only archived, the fork still in
/// `sessions/`): the replayed events are the parent's, on the parent's day.
#[test]
fn a_fork_read_before_its_parent_leaves_the_parents_events_on_their_day() {
    let s = with_codex();
    let home = s.dir.path().join(".codex");
    std::fs::remove_dir_all(home.join("sessions/2025/10/01")).unwrap();
    s.once();
    let daily = s.daily(&["--timezone", "UTC"]);
    assert_eq!(days(&daily), expected_days());
}

/// A rollout read in two parts (Codex still writing it) counts what it would in one: the
/// last totals and the model are kept with the cursor between the runs.
#[test]
fn a_rollout_read_in_parts_resumes_with_its_totals_and_model() {
    let s = with_codex();
    let home = s.dir.path().join(".codex");
    std::fs::remove_dir_all(home.join("archived_sessions")).unwrap();
    let file = home.join(
        "sessions/2025/10/01/rollout-2025-10-01T09-00-00-0199a1b2-3c4d-7e5f-8a9b-0c1d2e3f4a01.jsonl",
    );
    let whole = std::fs::read_to_string(&file).unwrap();
    // Cut after the re-emitted token_count, before the model switch.
    let cut = whole.find("now run clippy").unwrap();
    let cut = whole[..cut].rfind('\n').unwrap() + 1;
    std::fs::write(&file, &whole[..cut]).unwrap();
    s.once();
    let first = s.daily(&["--timezone", "UTC"]);
    assert_eq!(days(&first)[0].1, [10_000, 500, 0, 0]);
    std::fs::write(&file, &whole).unwrap();
    s.once();
    let daily = s.daily(&["--timezone", "UTC"]);
    assert_eq!(days(&daily), expected_days());
    assert_eq!(models(&daily, 0), ["gpt-5", "gpt-5-codex"]);
}

/// `CODEX_HOME` names the home, as Codex itself reads it (a comma list, as ccusage does).
#[test]
fn codex_home_names_where_the_rollouts_are() {
    let s = Scratch::new();
    let elsewhere = s.dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    copy_tree(&codex_fixtures(), &elsewhere);
    let out = s
        .cmd()
        .env(
            "CODEX_HOME",
            format!("{},/nonexistent", elsewhere.display()),
        )
        .args(["once", "--json"])
        .assert()
        .success();
    let stats = json(&out.get_output().stdout);
    assert_eq!(stats["files_seen"], 5);
    assert_eq!(days(&s.daily(&["--timezone", "UTC"])), expected_days());
}

/// Each event's quota windows are kept, one window per name and reset time, the highest
/// use seen: copies in the archive and the replays add none.
#[test]
fn rate_limit_windows_are_kept_once_each() {
    let s = with_codex();
    s.once();
    let conn = rusqlite::Connection::open(&s.db).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT agent, window_minutes, resets_at_ms, max(used_percent) FROM quota_samples
             GROUP BY agent, window_name, resets_at_ms ORDER BY resets_at_ms, window_minutes",
        )
        .unwrap();
    let rows: Vec<(String, i64, i64, f64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let five_hours = 1_759_323_600_000;
    let week = 1_759_830_000_000;
    assert_eq!(
        rows,
        vec![
            ("codex".into(), 300, five_hours, 4.0),
            ("codex".into(), 300, five_hours + 86_400_000, 2.0),
            // Session B's windows, given as seconds from its events (older Codex):
            // 12:00:05 + 3600 s and 12:30:05 + 1800 s name the same reset, 13:00.
            ("codex".into(), 300, 1_759_496_400_000, 21.0),
            ("codex".into(), 10080, 1_759_579_200_000, 30.0),
            ("codex".into(), 10080, week, 15.0),
        ]
    );
}

/// A generated Codex home (`benches/corpus.rs`): forks, subagent threads, archived
/// copies, re-emitted events and model switches, with the totals the generator knows.
fn generated(s: &Scratch, spec: common::corpus::Spec) -> common::corpus::Expected {
    let expected = common::corpus::generate_codex(&s.dir.path().join(".codex"), &spec).unwrap();
    let lines = expected
        .files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    // The traps are there.
    assert!(lines.contains("forked_from_id"));
    assert!(lines.contains("thread_spawn"));
    assert!(
        expected
            .files
            .iter()
            .any(|f| f.starts_with(s.dir.path().join(".codex/archived_sessions")))
    );
    expected
}

#[test]
fn a_generated_codex_home_gives_exactly_the_generators_totals() {
    let s = Scratch::new();
    let expected = generated(
        &s,
        common::corpus::Spec {
            files: 80,
            seed: 5,
            ..Default::default()
        },
    );
    s.once();
    let daily = s.daily(&["--timezone", "UTC"]);
    assert_eq!(days(&daily), common::expected_days(&expected));
    let agents = s.report(&["agents"]);
    assert_eq!(agents["agents"][0]["requests"], expected.rows);
}

/// `once` killed at any moment over a Codex home, then run to the end: every growth
/// counted once, from the parser state committed with each cursor.
#[test]
fn runs_killed_mid_ingest_of_a_codex_home_lose_and_double_nothing() {
    let s = Scratch::new();
    let expected = generated(
        &s,
        common::corpus::Spec {
            files: 100,
            seed: 17,
            big_prob: 0.2,
            big_kb: 300,
            ..Default::default()
        },
    );
    let mut delays_ms = 2..;
    for _ in 0..15 {
        let mut child = s
            .std_cmd()
            .args(["once", "--batch-size", "5"])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let delay = delays_ms.next().unwrap() * 7 % 90;
        std::thread::sleep(std::time::Duration::from_millis(delay));
        child.kill().unwrap();
        child.wait().unwrap();
    }
    s.once();
    let daily = s.daily(&["--timezone", "UTC"]);
    assert_eq!(days(&daily), common::expected_days(&expected));
}

/// Daily tokens equal ccusage's `codex daily` on a generated home, where ccusage is at
/// hand (`CCUSAGE_BIN`, e.g. ccusage 20.0.24's `node_modules/@ccusage/ccusage-linux-x64/
/// bin/ccusage`); skipped without it. Where the two differ, the test prints both.
#[test]
fn daily_tokens_equal_ccusages_on_a_generated_home() {
    let Some(ccusage) = std::env::var_os("CCUSAGE_BIN").filter(|p| !p.is_empty()) else {
        eprintln!("CCUSAGE_BIN not set: not compared");
        return;
    };
    let s = Scratch::new();
    let spec = common::corpus::Spec {
        files: env_usize("CCO_CODEX_FILES", 300),
        seed: 23,
        ..Default::default()
    };
    let expected = generated(&s, spec);
    s.once();
    let ours = days(&s.daily(&["--timezone", "UTC"]));
    assert_eq!(ours, common::expected_days(&expected));
    let out = std::process::Command::new(ccusage)
        .args(["codex", "daily", "--json", "--offline", "--timezone", "UTC"])
        .env("HOME", s.dir.path())
        .env_remove("CODEX_HOME")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    let theirs: Vec<(String, [u64; 4])> = json(&out.stdout)["daily"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["date"].as_str().unwrap().to_string(), common::sums(d)))
        .collect();
    assert_eq!(ours, theirs);
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Waits until the ledger holds `want` rows; fails after ten seconds.
fn rows_within(s: &Scratch, want: u64, what: &str) {
    let started = std::time::Instant::now();
    loop {
        let out = s.cmd().args(["status", "--json"]).output().unwrap();
        let have = match out.status.success() {
            true => json(&out.stdout)["rows"].as_u64().unwrap(),
            false => 0,
        };
        if have == want {
            return;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{what}: {have} rows, want {want}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// `watch` notices Codex's rollouts as it notices Claude Code's transcripts: a
/// `sessions/` folder that appears in the home, and lines appended to a rollout in it.
#[test]
fn watch_reads_rollouts_as_codex_writes_them() {
    let s = Scratch::new();
    let home = s.dir.path().join(".codex");
    std::fs::create_dir_all(&home).unwrap();
    let mut watch = s
        .std_cmd()
        .args(["watch", "--interval", "1h", "--rescan", "1h"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    rows_within(&s, 0, "first pass");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let fixture = codex_fixtures().join(
        "sessions/2025/10/03/rollout-2025-10-03T12-00-00-0199ab12-3456-7789-8abc-def012345604.jsonl",
    );
    let text = std::fs::read_to_string(&fixture).unwrap();
    // Up to the compaction: the first growth only.
    let compacted = text.find("\"compacted\"").unwrap();
    let first = &text[..text[..compacted].rfind('\n').unwrap() + 1];
    let rollout = home
        .join("sessions/2025/10/03")
        .join(fixture.file_name().unwrap());
    std::fs::create_dir_all(rollout.parent().unwrap()).unwrap();
    std::fs::write(&rollout, first).unwrap();
    rows_within(&s, 1, "a rollout in a new sessions/ folder");
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&rollout)
        .unwrap();
    std::io::Write::write_all(&mut file, &text.as_bytes()[first.len()..]).unwrap();
    rows_within(&s, 2, "lines appended to it");
    watch.kill().unwrap();
    watch.wait().unwrap();
    let daily = s.daily(&["--timezone", "UTC"]);
    assert_eq!(days(&daily), vec![expected_days()[2].clone()]);
}

/// `limits` shows a Codex rollout's windows as official figures: all of them reset long
/// ago, so each window's history holds them, latest first, with its peak and the tokens
/// the ledger has in it.
#[test]
fn limits_show_a_rollouts_windows() {
    let s = with_codex();
    s.once();
    let report = s.report(&["limits", "--agent", "codex"]);
    let windows = report["windows"].as_array().unwrap();
    let names: Vec<(&str, &str, &str)> = windows
        .iter()
        .map(|w| {
            (
                w["agent"].as_str().unwrap(),
                w["window"].as_str().unwrap(),
                w["source"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("codex", "five_hour", "official"),
            ("codex", "seven_day", "official")
        ]
    );
    // Reset long ago: no use now, the windows are history.
    assert!(windows[0]["usedPercent"].is_null());
    let history: Vec<(&str, f64, bool)> = windows[0]["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["resetsAt"].as_str().unwrap(),
                p["peakPercent"].as_f64().unwrap(),
                p["hit"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        history,
        [
            ("2025-10-03T13:00:00.000Z", 21.0, false),
            ("2025-10-02T13:00:00.000Z", 2.0, false),
            ("2025-10-01T13:00:00.000Z", 4.0, false),
        ]
    );
    let tokens: u64 = windows[1]["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["tokens"].as_u64().unwrap())
        .sum();
    assert!(tokens > 0, "{report}");
}
