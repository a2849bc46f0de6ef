//! Issue 17, the ledger's total (`src/limits.rs`): a ledger filled to the cap with rows at
//! the per-row limits answers every report with exact totals, and a row (or an upgrade)
//! that would take it past the cap is refused by `file:line: reason`, in a pass and in an
//! import, never failing either.

mod common;

use std::fs;

use common::{Scratch, json, stderr};
use serde_json::Value;

/// The per-row limit of every count.
const T: u64 = 1_000_000_000_000;
/// The ledger's cap, `limits::MAX_LEDGER_WEIGHT`.
const CAP: u64 = 1 << 53;
/// Rows at the per-row limit (six counts of `T`) the test writes: 1,501.
const FILLED: u64 = CAP / (6 * T);
/// The seed line's weight: 10 input, 1 output, 100 cache reads.
const SEED: u64 = 111;

fn line(message: &str, input: u64, output: u64, cache_read: u64) -> String {
    format!(
        r#"{{"type":"assistant","sessionId":"s","timestamp":"2026-03-01T10:00:00Z","requestId":"req_{message}","message":{{"id":"{message}","model":"claude-sonnet-4-5-20250929","usage":{{"input_tokens":{input},"cache_creation_input_tokens":0,"cache_read_input_tokens":{cache_read},"output_tokens":{output}}}}}}}"#
    ) + "\n"
}

fn transcript(s: &Scratch, name: &str, lines: &[String]) {
    let dir = s.root.join("projects/-home-dev-app");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join(name), lines.concat()).unwrap();
}

/// `once`'s exit code and stderr.
fn once(s: &Scratch) -> (i32, String) {
    let out = s.cmd().arg("once").output().unwrap();
    (out.status.code().unwrap(), stderr(&out))
}

/// Fills the ledger with `FILLED` rows at the per-row limit beside the seed row, as a
/// ledger that took them one by one would hold them (written here in SQL, quicker than a
/// transcript of them), then `rebuild`s its aggregates and total.
fn fill(s: &Scratch) {
    let conn = rusqlite::Connection::open(&s.db).unwrap();
    conn.execute_batch(&format!(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < {FILLED})
         INSERT INTO entries (file_id, ts_ms, session_id, project, model, is_sidechain, input,
             output, cache_write_5m, cache_write_1h, cache_read, web_search, cost_usd,
             changed_seq)
         SELECT e.file_id, 1735689600000 + i * 60000, 'fill' || (i % 50), e.project, e.model,
             0, {T}, {T}, {T}, {T}, {T}, {T}, 1000.0, 0
         FROM n, (SELECT * FROM entries LIMIT 1) AS e;"
    ))
    .unwrap();
    drop(conn);
    s.cmd().arg("rebuild").assert().success();
}

/// `status`'s first skipped lines, as `file:line: reason`.
fn skipped(s: &Scratch) -> Vec<String> {
    s.status()["first_skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            let file = k["file"].as_str().unwrap().rsplit('/').next().unwrap();
            format!("{file}:{}: {}", k["line"], k["reason"].as_str().unwrap())
        })
        .collect()
}

/// The four token totals of a report: input, output, cache writes, cache reads.
fn tokens(report: &Value) -> [u64; 4] {
    let t = &report["totals"];
    [
        "inputTokens",
        "outputTokens",
        "cacheCreationTokens",
        "cacheReadTokens",
    ]
    .map(|k| t[k].as_u64().unwrap_or_else(|| panic!("{k} in {t}")))
}

#[test]
fn a_ledger_at_its_cap_reports_exactly_and_refuses_the_row_past_it() {
    let s = Scratch::new();
    transcript(&s, "seed.jsonl", &[line("msg_seed", 10, 1, 100)]);
    assert_eq!(once(&s).0, 0);
    fill(&s);

    // What is left below the cap, taken by one row: the ledger is then exactly at it.
    let rest = CAP - SEED - FILLED * 6 * T;
    let last = line("msg_last", T, rest - T, 0);
    // One token more is past it, as a new row and as the seed's upgrade.
    let one_more = line("msg_one_more", 0, 1, 0);
    let seed_grown = line("msg_seed", 10, 2, 100);
    transcript(&s, "b.jsonl", &[last, one_more, seed_grown]);
    let (code, err) = once(&s);
    assert!(code == 0 || code == 1, "once exited {code}: {err}");
    assert!(err.contains("2 lines skipped"), "{err}");
    let status = s.status();
    assert_eq!(status["lines_skipped"], 2);
    assert_eq!(status["rows"], FILLED + 2);
    let skipped = skipped(&s);
    for at in ["b.jsonl:2: ", "b.jsonl:3: "] {
        assert!(
            skipped
                .iter()
                .any(|k| k.starts_with(at) && k.contains("past 9007199254740992")),
            "{at} not named in {skipped:?}"
        );
    }
    let doctor = s.cmd().arg("doctor").output().unwrap();
    let said = String::from_utf8_lossy(&doctor.stdout).to_string() + &stderr(&doctor);
    assert!(
        said.contains("b.jsonl:2: ") && said.contains("past 9007199254740992"),
        "doctor: {said}"
    );

    let want = [
        FILLED * T + 10 + T,
        FILLED * T + 1 + rest - T,
        2 * FILLED * T,
        FILLED * T + 100,
    ];
    assert_eq!(
        want.iter().sum::<u64>(),
        CAP - FILLED * T,
        "all but web searches"
    );
    for report in [
        "daily", "weekly", "monthly", "session", "projects", "models",
    ] {
        let r = s.report(&[report, "--mode", "display"]);
        assert_eq!(tokens(&r), want, "{report}");
        assert_eq!(r["totals"]["totalCost"], FILLED as f64 * 1000.0, "{report}");
    }
    let blocks = s.report(&["blocks"]);
    let blocks = blocks["blocks"].as_array().unwrap();
    let output: u64 = blocks
        .iter()
        .map(|b| b["tokenCounts"]["outputTokens"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(output, want[1], "blocks");
    let metrics = s.cmd().arg("metrics").output().unwrap();
    assert!(metrics.status.success(), "metrics: {}", stderr(&metrics));
    let host = s.status()["host"]["id"].as_str().unwrap().to_string();
    let export = s
        .cmd()
        .args(["export", "--since", &format!("{host}:0")])
        .output()
        .unwrap();
    assert!(export.status.success(), "export: {}", stderr(&export));
    assert_eq!(export.stdout.split(|&b| b == b'\n').count() - 1, 2);

    // An import past the cap is refused by its file and line; the ledger is unchanged.
    let far = s.dir.path().join("far.ndjson");
    let mut row = json(&export.stdout[..export.stdout.iter().position(|&b| b == b'\n').unwrap()]);
    row["hostId"] = "00112233445566778899aabbccddeeff".into();
    row["messageId"] = "msg_far".into();
    fs::write(&far, row.to_string() + "\n").unwrap();
    let out = s.cmd().arg("import").arg(&far).output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("far.ndjson:1: ") && err.contains("past 9007199254740992"),
        "{err}"
    );
    // With --atomic the refusal costs the file: a row that fits (it weighs nothing) is
    // not imported either.
    let mut empty = row.clone();
    empty["messageId"] = "msg_empty".into();
    for kind in [
        "inputTokens",
        "outputTokens",
        "cacheWrite5mTokens",
        "cacheWrite1hTokens",
        "cacheReadTokens",
        "webSearchRequests",
    ] {
        empty[kind] = 0.into();
    }
    fs::write(&far, format!("{empty}\n{row}\n")).unwrap();
    let out = s
        .cmd()
        .args(["import", "--atomic"])
        .arg(&far)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("far.ndjson:2: "), "{err}");
    assert_eq!(s.status()["rows"], FILLED + 2);

    // `rebuild` counts the total again from the rows: still at the cap, still refusing.
    s.cmd().arg("rebuild").assert().success();
    transcript(&s, "c.jsonl", &[line("msg_after_rebuild", 0, 1, 0)]);
    assert_eq!(once(&s).0, 0);
    assert_eq!(s.status()["lines_skipped"], 3);
    assert_eq!(tokens(&s.report(&["daily"])), want);
}
