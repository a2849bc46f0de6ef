//! The report rules, through the real binary: sessions, projects and models over a range
//! count only the activity inside it and add up to daily's totals; copies of one response
//! with equal tokens keep the higher costUSD whatever the reading order, and the copy
//! with a `stop_reason` wins over a larger one without; `once` says in
//! its exit code that a transcript could not be read, after committing the rest.

mod common;

use common::{Scratch, json};
use serde_json::Value;

fn line(message: &str, session: &str, at: &str, output: u64, cost_usd: Option<f64>) -> String {
    let mut line = serde_json::json!({
        "type": "assistant", "timestamp": at, "requestId": format!("req_{message}"),
        "sessionId": session, "cwd": "/w",
        "message": {"id": message, "model": "claude-sonnet-4-5", "usage": {
            "input_tokens": 100, "output_tokens": output,
            "cache_creation_input_tokens": 0, "cache_read_input_tokens": 1000}},
    });
    if let Some(cost) = cost_usd {
        line["costUSD"] = cost.into();
    }
    line.to_string()
}

fn write(s: &Scratch, project: &str, name: &str, lines: &[String]) {
    let dir = s.root.join("projects").join(project);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.jsonl")), lines.join("\n") + "\n").unwrap();
}

fn report(s: &Scratch, args: &[&str]) -> Value {
    let out = s
        .cmd()
        .args(args)
        .args(["--json", "--no-ingest", "--mode", "calculate"])
        .assert()
        .success();
    json(&out.get_output().stdout)
}

fn totals(v: &Value) -> ([u64; 4], f64) {
    (
        common::sums(&v["totals"]),
        v["totals"]["totalCost"].as_f64().unwrap(),
    )
}

/// Four sessions in two projects, each active every few days (at hours that fall on
/// both sides of midnight in Kolkata) from January to May.
fn months_long_sessions(s: &Scratch) {
    let start = jiff::Timestamp::from_second(1_767_225_600).unwrap(); // 2026-01-01T00:00Z
    for (n, session) in ["s1", "s2", "s3", "s4"].iter().enumerate() {
        let lines: Vec<String> = (0..40)
            .map(|i| {
                let hours = (i * (61 + 7 * n as i64)) + 13 * n as i64;
                let at = start + jiff::SignedDuration::from_hours(hours);
                line(
                    &format!("{session}-{i}"),
                    session,
                    &at.to_string(),
                    10 + i as u64,
                    None,
                )
            })
            .collect();
        let project = if n % 2 == 0 { "-w-a" } else { "-w-b" };
        write(s, project, session, &lines);
    }
}

#[test]
fn sessions_projects_and_models_over_a_range_add_up_to_daily() {
    let s = Scratch::new();
    months_long_sessions(&s);
    s.once();
    let ranges = [
        ("20260101", "20260131", "UTC"),
        ("20260105", "20260106", "UTC"),
        ("20260201", "20260228", "Asia/Kolkata"),
        ("20260110", "20260320", "America/New_York"),
        ("20260301", "20260301", "Asia/Kolkata"),
        ("20260315", "20260415", "UTC"),
        ("20260401", "20260531", "Europe/Berlin"),
        ("20260102", "20260102", "Asia/Kathmandu"),
        ("20251201", "20260115", "UTC"),
        ("20260520", "20260630", "UTC"),
    ];
    let mut some_range_cut_a_session = false;
    for (since, until, zone) in ranges {
        let range = ["--since", since, "--until", until, "--timezone", zone];
        let daily = report(&s, &[&["daily"][..], &range].concat());
        let sessions = report(&s, &[&["session"][..], &range].concat());
        let (tokens, cost) = totals(&daily);
        let (session_tokens, session_cost) = totals(&sessions);
        assert_eq!(session_tokens, tokens, "{since}..{until} {zone}");
        assert!(
            (session_cost - cost).abs() < 1e-9,
            "{since}..{until} {zone}"
        );
        for view in ["projects", "models"] {
            let (view_tokens, view_cost) = totals(&report(&s, &[&[view][..], &range].concat()));
            assert_eq!(view_tokens, tokens, "{view} {since}..{until} {zone}");
            assert!(
                (view_cost - cost).abs() < 1e-9,
                "{view} {since}..{until} {zone}"
            );
        }
        // Sessions are listed only with activity in range, and the row sums to it.
        let rows = sessions["sessions"].as_array().unwrap();
        let row_sum: u64 = rows
            .iter()
            .map(|r| r["outputTokens"].as_u64().unwrap())
            .sum();
        assert_eq!(row_sum, tokens[1]);
        assert!(rows.iter().all(|r| r["outputTokens"].as_u64().unwrap() > 0));
        let whole = report(&s, &["session"]);
        for row in rows {
            let id = &row["sessionId"];
            let all = whole["sessions"]
                .as_array()
                .unwrap()
                .iter()
                .find(|w| &w["sessionId"] == id)
                .unwrap();
            if all["outputTokens"] != row["outputTokens"] {
                some_range_cut_a_session = true;
            }
        }
        if tokens == [0; 4] {
            assert!(rows.is_empty(), "{since}..{until}: {rows:?}");
        }
    }
    assert!(some_range_cut_a_session, "the ranges must cut sessions");
}

/// Two copies of one response with equal tokens, one with the higher costUSD: the
/// ledger keeps that one whichever file is read first, and `rebuild` agrees.
#[test]
fn equal_copies_keep_the_higher_cost_usd_in_either_order() {
    let mut costs = Vec::new();
    for (first, second) in [(0.25, 0.75), (0.75, 0.25)] {
        let s = Scratch::new();
        let at = "2026-02-01T10:00:00.000Z";
        write(&s, "-w", "a", &[line("m", "a", at, 50, Some(first))]);
        write(&s, "-w", "b", &[line("m", "b", at, 50, Some(second))]);
        s.once();
        let auto = |s: &Scratch| {
            let out = s
                .cmd()
                .args(["daily", "--json", "--no-ingest"])
                .assert()
                .success();
            json(&out.get_output().stdout)["totals"]["totalCost"]
                .as_f64()
                .unwrap()
        };
        costs.push(auto(&s));
        s.cmd().arg("rebuild").assert().success();
        costs.push(auto(&s));
        // And a copy without costUSD never replaces one with it.
        write(&s, "-w", "c", &[line("m", "c", at, 50, None)]);
        s.once();
        costs.push(auto(&s));
    }
    assert!(costs.iter().all(|&c| (c - 0.75).abs() < 1e-12), "{costs:?}");
}

/// `once` exits 1 when a transcript cannot be read, having committed every other one.
/// Run as an unprivileged user when the tests run as root, so a mode of 000 holds.
#[test]
fn once_exits_1_when_a_transcript_cannot_be_read() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;

    let s = Scratch::new();
    let at = "2026-02-01T10:00:00.000Z";
    write(&s, "-w", "good", &[line("g", "good", at, 5, None)]);
    write(&s, "-w", "locked", &[line("l", "locked", at, 7, None)]);
    let locked = s.root.join("projects/-w/locked.jsonl");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    let mut cmd = s.std_cmd();
    cmd.arg("once");
    // A folder this process just made is owned by its effective user.
    if std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(s.dir.path()).unwrap()) == 0 {
        const NOBODY: u32 = 65_534;
        for path in common::walk(s.dir.path()) {
            std::os::unix::fs::chown(path, Some(NOBODY), Some(NOBODY)).unwrap();
        }
        for dir in [
            s.dir.path().to_path_buf(),
            s.root.clone(),
            s.root.join("projects"),
            s.root.join("projects/-w"),
        ] {
            std::os::unix::fs::chown(&dir, Some(NOBODY), Some(NOBODY)).unwrap();
        }
        cmd.uid(NOBODY).gid(NOBODY);
    }
    let out = cmd.output().unwrap();
    let stderr = common::stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("locked.jsonl"), "{stderr}");
    assert!(stderr.contains("1 could not be read"), "{stderr}");
    // The readable transcript is in the ledger.
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o644)).unwrap();
    let daily = s.daily(&["--timezone", "UTC"]);
    assert_eq!(daily["totals"]["outputTokens"], 5);
}

/// A response's copies as a third-party relay writes them: a preliminary line larger in
/// total (18,988 in, 1 out) than the final one (18,579 in, 118 out, `stop_reason:
/// tool_use`). The final copy is kept in either order, in one file (collapsed in the
/// batch) and across two files read in two passes (decided by the ledger).
#[test]
fn the_copy_with_a_stop_reason_wins_over_a_larger_one() {
    let copy = |input: u64, output: u64, stop: Option<&str>| {
        let mut line: Value =
            serde_json::from_str(&line("m", "a", "2026-02-01T10:00:00.000Z", output, None))
                .unwrap();
        line["message"]["usage"]["input_tokens"] = input.into();
        line["message"]["usage"]["cache_read_input_tokens"] = 0.into();
        line["message"]["stop_reason"] = stop.into();
        line.to_string()
    };
    let preliminary = copy(18_988, 1, None);
    let last = copy(18_579, 118, Some("tool_use"));
    let kept = |s: &Scratch| {
        let t = report(s, &["daily"])["totals"].clone();
        (
            t["inputTokens"].as_u64().unwrap(),
            t["outputTokens"].as_u64().unwrap(),
        )
    };
    for (first, second) in [(&preliminary, &last), (&last, &preliminary)] {
        let one_file = Scratch::new();
        write(&one_file, "-w", "a", &[first.clone(), second.clone()]);
        one_file.once();
        assert_eq!(kept(&one_file), (18_579, 118));

        let two_passes = Scratch::new();
        write(&two_passes, "-w", "a", std::slice::from_ref(first));
        two_passes.once();
        write(&two_passes, "-w", "b", std::slice::from_ref(second));
        two_passes.once();
        assert_eq!(kept(&two_passes), (18_579, 118));
        two_passes.cmd().arg("rebuild").assert().success();
        assert_eq!(kept(&two_passes), (18_579, 118));
    }
}
