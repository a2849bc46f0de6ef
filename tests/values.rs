//! Issue 17 through the real binary: one bad value costs one line (a count, a cost or a
//! time out of range is skipped or refused with its `file:line: reason`, and every other
//! line and report goes on), a rewritten transcript is read again, and a ledger written
//! before these limits still reports.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{Scratch, json, stderr};
use serde_json::Value;

/// An assistant line of one response: its `usage` gets `usage_extra` (a trailing
/// `,"key":value` list), the line gets `line_extra`.
fn line(message: &str, ts: &str, output: u64, usage_extra: &str, line_extra: &str) -> String {
    format!(
        r#"{{"type":"assistant","sessionId":"s","timestamp":"{ts}","requestId":"req_{message}"{line_extra},"message":{{"id":"{message}","model":"claude-sonnet-4-5-20250929","usage":{{"input_tokens":10,"cache_creation_input_tokens":0,"cache_read_input_tokens":100,"output_tokens":{output}{usage_extra}}}}}}}"#
    ) + "\n"
}

fn good(message: &str, output: u64) -> String {
    line(
        message,
        "2026-03-01T10:00:00Z",
        output,
        "",
        r#","costUSD":0.25"#,
    )
}

fn transcript(s: &Scratch, name: &str, lines: &[String]) -> PathBuf {
    let dir = s.root.join("projects/-home-dev-app");
    fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    fs::write(&path, lines.concat()).unwrap();
    path
}

/// `once`'s exit code and stderr.
fn once(s: &Scratch) -> (i32, String) {
    let out = s.cmd().arg("once").output().unwrap();
    (out.status.code().unwrap(), stderr(&out))
}

/// Output tokens and `costUSD` total (`--mode display`) of `daily` in UTC.
fn output_and_cost(s: &Scratch) -> (u64, f64) {
    let daily = s.daily(&["--timezone", "UTC", "--mode", "display"]);
    (
        daily["totals"]["outputTokens"].as_u64().unwrap(),
        daily["totals"]["totalCost"].as_f64().unwrap(),
    )
}

/// `status`'s skipped lines as `file:line: reason`.
fn skipped(s: &Scratch) -> Vec<String> {
    s.status()["first_skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            let file = Path::new(k["file"].as_str().unwrap()).file_name().unwrap();
            format!(
                "{}:{}: {}",
                file.to_string_lossy(),
                k["line"],
                k["reason"].as_str().unwrap()
            )
        })
        .collect()
}

fn assert_skipped(s: &Scratch, at: &str, reason: &str) {
    let skipped = skipped(s);
    assert!(
        skipped
            .iter()
            .any(|k| k.starts_with(at) && k.contains(reason)),
        "no {at} … {reason} in {skipped:?}"
    );
}

/// Every calendar and grouping report answers, in UTC and in the zones at both ends of
/// the calendar.
fn assert_every_report_works(s: &Scratch) {
    for zone in ["UTC", "Pacific/Kiritimati", "Etc/GMT+12"] {
        for report in [
            "daily", "weekly", "monthly", "session", "blocks", "projects", "models",
        ] {
            let out = s
                .cmd()
                .args([report, "--json", "--no-ingest", "--timezone", zone])
                .output()
                .unwrap();
            assert!(out.status.success(), "{report} in {zone}: {}", stderr(&out));
        }
    }
    let metrics = s.cmd().args(["metrics"]).output().unwrap();
    assert!(metrics.status.success(), "metrics: {}", stderr(&metrics));
}

#[test]
fn a_web_search_count_past_i64_costs_its_line_not_the_pass() {
    let s = Scratch::new();
    let big = line(
        "msg_big",
        "2026-03-01T10:00:00Z",
        7,
        r#","server_tool_use":{"web_search_requests":9223372036854775808}"#,
        "",
    );
    transcript(&s, "a.jsonl", &[good("msg_a1", 1), big, good("msg_a2", 2)]);
    transcript(&s, "b.jsonl", &[good("msg_b1", 4)]);
    let (code, err) = once(&s);
    assert_eq!(code, 0, "{err}");
    assert_eq!(output_and_cost(&s), (7, 0.75));
    assert_skipped(&s, "a.jsonl:2:", "web_search_requests 9223372036854775808");
    assert_eq!(s.status()["lines_skipped"], 1);
}

#[test]
fn a_web_search_count_below_i64_but_past_the_limit_is_skipped_and_reports_agree() {
    let s = Scratch::new();
    let big = line(
        "msg_big",
        "2026-03-01T10:00:00Z",
        7,
        r#","server_tool_use":{"web_search_requests":4611686018427387904}"#,
        "",
    );
    transcript(&s, "a.jsonl", &[good("msg_a1", 1), big]);
    let (code, err) = once(&s);
    assert_eq!(code, 0, "{err}");
    assert_skipped(&s, "a.jsonl:2:", "web_search_requests");
    // A later pass has something to merge, and must not fail on what is stored.
    fs::OpenOptions::new()
        .append(true)
        .open(s.root.join("projects/-home-dev-app/a.jsonl"))
        .and_then(|mut f| std::io::Write::write_all(&mut f, good("msg_a3", 2).as_bytes()))
        .unwrap();
    let (code, err) = once(&s);
    assert_eq!(code, 0, "{err}");
    let models = s.report(&["models", "--mode", "display"]);
    let daily = s.report(&["daily", "--mode", "display"]);
    assert_eq!(models["totals"]["totalCost"], daily["totals"]["totalCost"]);
    assert_eq!(daily["totals"]["totalCost"], 0.5);
    assert_every_report_works(&s);
}

#[test]
fn costs_below_zero_or_past_the_bound_are_skipped() {
    let s = Scratch::new();
    let at = "2026-03-01T10:00:00Z";
    transcript(
        &s,
        "a.jsonl",
        &[
            good("msg_a1", 1),
            line("msg_neg", at, 1, "", r#","costUSD":-1000000"#),
            line("msg_inf", at, 1, "", r#","costUSD":1e308"#),
            line("msg_max", at, 1, "", r#","costUSD":1000"#),
        ],
    );
    let (code, err) = once(&s);
    assert_eq!(code, 0, "{err}");
    assert_eq!(output_and_cost(&s), (2, 1000.25));
    assert_skipped(&s, "a.jsonl:2:", "costUSD -1000000");
    assert_skipped(&s, "a.jsonl:3:", "costUSD 1e308");
    let metrics = s.cmd().arg("metrics").output().unwrap();
    let text = String::from_utf8_lossy(&metrics.stdout);
    for sample in text.lines().filter(|l| !l.starts_with('#')) {
        let value: f64 = sample.rsplit(' ').next().unwrap().parse().unwrap();
        assert!(value.is_finite() && value >= 0.0, "{sample}");
    }
}

#[test]
fn a_line_dated_9999_is_skipped_and_calendar_reports_work() {
    let s = Scratch::new();
    transcript(
        &s,
        "a.jsonl",
        &[
            good("msg_a1", 1),
            line("msg_far", "9999-12-30T12:00:00Z", 5, "", ""),
            line("msg_old", "1999-12-31T23:59:59Z", 5, "", ""),
        ],
    );
    let (code, err) = once(&s);
    assert_eq!(code, 0, "{err}");
    assert_skipped(&s, "a.jsonl:2:", "9999-12-30");
    assert_skipped(&s, "a.jsonl:3:", "1999-12-31");
    assert_eq!(output_and_cost(&s), (1, 0.25));
    assert_every_report_works(&s);
}

/// The limits, exactly: rows holding 10^12 of every count and the largest cost are taken,
/// and every report sums them exactly.
#[test]
fn rows_at_the_bound_are_kept_and_every_total_is_exact() {
    let s = Scratch::new();
    let t = 1_000_000_000_000u64;
    let at_bound = |id: &str| {
        format!(
            r#"{{"type":"assistant","sessionId":"s","timestamp":"2099-12-31T23:59:59.999Z","requestId":"req_{id}","costUSD":1000,"message":{{"id":"{id}","model":"claude-sonnet-4-5-20250929","usage":{{"input_tokens":{t},"cache_creation_input_tokens":{t},"cache_read_input_tokens":{t},"output_tokens":{t},"server_tool_use":{{"web_search_requests":{t}}}}}}}}}"#
        ) + "\n"
    };
    let rows: Vec<String> = (0..5).map(|i| at_bound(&format!("msg_{i}"))).collect();
    transcript(&s, "a.jsonl", &rows);
    let earliest = line("msg_first", "2000-01-01T00:00:00Z", 1, "", "");
    transcript(&s, "b.jsonl", &[earliest]);
    let (code, err) = once(&s);
    assert_eq!(code, 0, "{err}");
    assert_eq!(s.status()["lines_skipped"], 0);
    let daily = s.daily(&["--timezone", "UTC", "--mode", "display"]);
    let totals = &daily["totals"];
    assert_eq!(totals["inputTokens"], 5 * t + 10);
    assert_eq!(totals["outputTokens"], 5 * t + 1);
    assert_eq!(totals["cacheCreationTokens"], 5 * t);
    assert_eq!(totals["cacheReadTokens"], 5 * t + 100);
    assert_eq!(totals["totalCost"], 5000.0);
    for report in ["weekly", "monthly", "models", "projects", "session"] {
        let r = s.report(&[report, "--mode", "display"]);
        assert_eq!(r["totals"]["outputTokens"], 5 * t + 1, "{report}");
        assert_eq!(r["totals"]["totalCost"], 5000.0, "{report}");
    }
    assert_every_report_works(&s);
}

/// An export row as `export` writes it, with `fields` changed.
fn export_row(message: &str, fields: &[(&str, Value)]) -> String {
    let mut row = json(
        format!(
            r#"{{"v":1,"hostId":"00112233445566778899aabbccddeeff","hostName":"far","sessionId":"s1","project":"-p","cwd":"/p","timestamp":"","tsMs":1767225600000,"model":"claude-sonnet-4-5","messageId":"{message}","requestId":"req_{message}","inputTokens":3,"outputTokens":5,"cacheWrite5mTokens":0,"cacheWrite1hTokens":0,"cacheReadTokens":1000,"webSearchRequests":0,"costUSD":0.5,"speed":null,"inferenceGeo":null,"version":"2.1.0","isSidechain":false}}"#
        )
        .as_bytes(),
    );
    for (key, value) in fields {
        row[*key] = value.clone();
    }
    row.to_string() + "\n"
}

#[test]
fn an_import_refuses_rows_out_of_range_by_file_and_line() {
    let s = Scratch::new();
    let path = s.dir.path().join("far.ndjson");
    let rows = [
        export_row("m1", &[]),
        export_row("m2", &[("tsMs", 253_402_300_800_000i64.into())]),
        export_row("m3", &[("costUSD", (-1.0).into())]),
        export_row("m4", &[("tsMs", 4_102_444_800_000i64.into())]),
        export_row("m5", &[("webSearchRequests", 1_000_000_000_001u64.into())]),
    ];
    fs::write(&path, rows.concat()).unwrap();
    let out = s.cmd().arg("import").arg(&path).output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    for (line, reason) in [
        (2, "253402300800000"),
        (3, "costUSD -1.0"),
        (4, "2100-01-01"),
        (5, "web_search_requests"),
    ] {
        assert!(
            err.lines()
                .any(|l| l.contains(&format!("far.ndjson:{line}: ")) && l.contains(reason)),
            "line {line} ({reason}) not named: {err}"
        );
    }
    let daily = s.daily(&["--timezone", "UTC", "--mode", "display"]);
    assert_eq!(daily["totals"]["outputTokens"], 5);
    assert_eq!(daily["daily"][0]["date"], "2026-01-01");
}

/// A first line longer than the head fingerprint (4 KiB), as a long prompt is.
fn long_first_line() -> String {
    format!(
        r#"{{"type":"user","sessionId":"s","message":{{"role":"user","content":"{}"}}}}"#,
        "x".repeat(5000)
    ) + "\n"
}

/// Rewrites `path` in place (same inode): truncated, then written with `lines`.
fn rewrite(path: &Path, lines: &[String]) {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .unwrap();
    std::io::Write::write_all(&mut file, lines.concat().as_bytes()).unwrap();
}

/// 20 responses of 1 output token after a long first line; then, rewritten with the
/// same first line and 30 other responses of 10: longer than before, same head.
fn first_and_rewritten() -> (Vec<String>, Vec<String>) {
    let head = long_first_line();
    let first = std::iter::once(head.clone())
        .chain((0..20).map(|i| good(&format!("msg_a{i}"), 1)))
        .collect();
    let second = std::iter::once(head)
        .chain((0..30).map(|i| good(&format!("msg_b{i}"), 10)))
        .collect();
    (first, second)
}

#[test]
fn a_transcript_truncated_and_written_longer_with_the_same_head_is_read_again() {
    let s = Scratch::new();
    let (first, second) = first_and_rewritten();
    let path = transcript(&s, "a.jsonl", &first);
    assert_eq!(once(&s).0, 0);
    rewrite(&path, &second);
    let (code, err) = once(&s);
    assert_eq!(code, 0, "{err}");
    // The ledger keeps the first 20 (it outlives what the file held) and all 30 new.
    assert_eq!(output_and_cost(&s).0, 20 + 30 * 10);
    assert_eq!(s.status()["rows"], 50);
}

/// Rows without a message id cannot be recognised when their file is read again: those
/// of the rewritten file replace them, and none counts twice.
#[test]
fn a_rewritten_transcript_without_message_ids_does_not_double() {
    let s = Scratch::new();
    let no_id = |output: u64| {
        format!(
            r#"{{"type":"assistant","timestamp":"2026-03-01T10:00:00Z","message":{{"model":"claude-sonnet-4-5-20250929","usage":{{"input_tokens":0,"output_tokens":{output}}}}}}}"#
        ) + "\n"
    };
    let head = long_first_line();
    let path = transcript(&s, "a.jsonl", &[head.clone(), no_id(1), no_id(2)]);
    assert_eq!(once(&s).0, 0);
    rewrite(&path, &[head, no_id(1), no_id(40), no_id(800)]);
    assert_eq!(once(&s).0, 0);
    assert_eq!(output_and_cost(&s).0, 1 + 40 + 800);
    // And a file that only grew is resumed, not read again.
    fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, no_id(5000).as_bytes()))
        .unwrap();
    let pass = json(&s.cmd().args(["once", "--json"]).output().unwrap().stdout);
    assert_eq!(pass["files_reset"], 0, "{pass}");
    assert_eq!(output_and_cost(&s).0, 1 + 40 + 800 + 5000);
}

/// `watch`, in notify mode and polling, reads a file rewritten under it again.
#[test]
fn watch_reads_a_rewritten_transcript_again_in_both_modes() {
    for mode in [
        &["--interval", "1h"][..],
        &["--poll", "--interval", "100ms"],
    ] {
        let s = Scratch::new();
        let (first, second) = first_and_rewritten();
        let path = transcript(&s, "a.jsonl", &first);
        let mut watch = s
            .std_cmd()
            .arg("watch")
            .args(mode)
            .args(["--rescan", "1h"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let rows = |want: u64| {
            let started = std::time::Instant::now();
            loop {
                let out = s.cmd().args(["status", "--json"]).output().unwrap();
                if out.status.success() && json(&out.stdout)["rows"] == want {
                    return;
                }
                assert!(
                    started.elapsed() < std::time::Duration::from_secs(20),
                    "{mode:?}: not {want} rows"
                );
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        };
        rows(20);
        rewrite(&path, &second);
        rows(50);
        watch.kill().unwrap();
        watch.wait().unwrap();
        assert_eq!(output_and_cost(&s).0, 20 + 30 * 10, "{mode:?}");
    }
}

/// Turns the ledger at `db` into one written before the limits (schema 9), holding rows
/// out of their range: one dated 9999-12-30 and one with 2^62 web searches, copies of
/// the transcript's first row under other message ids.
fn ledger_from_before_the_limits(db: &Path) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let has = |table: &str, column: &str| -> bool {
        conn.prepare(&format!(
            "SELECT 1 FROM pragma_table_info('{table}') WHERE name = '{column}'"
        ))
        .unwrap()
        .exists([])
        .unwrap()
    };
    // Undone newest first. Migration 17 (the day aggregates) added two tables, 16
    // (projects) and 15 (alerts fired) one each.
    conn.execute_batch(
        "DROP TABLE IF EXISTS usage_by_project_day; DROP TABLE IF EXISTS usage_by_session_day;
         DROP TABLE IF EXISTS projects; DROP TABLE IF EXISTS alerts_fired",
    )
    .unwrap();
    // Migration 14 (quota samples) replaced migration 12's limits table.
    if has("quota_samples", "agent") {
        conn.execute_batch(
            "DROP TABLE quota_samples;
             CREATE TABLE rate_limits (agent TEXT);",
        )
        .unwrap();
    }
    // Migration 13's figures, with the index that reads them.
    if has("entries", "credits") {
        conn.execute_batch(
            "DROP INDEX entries_figures;
             ALTER TABLE entries DROP COLUMN credits;
             ALTER TABLE entries DROP COLUMN premium_requests;",
        )
        .unwrap();
    }
    // Migration 12 (agents): the view that reads the new columns (a placeholder stays,
    // which migration 12 replaces), the columns, the limits table.
    if has("entries", "agent") {
        conn.execute_batch(
            "DROP VIEW entry_keys;
             CREATE VIEW entry_keys AS SELECT id FROM entries;
             ALTER TABLE files DROP COLUMN agent;
             ALTER TABLE files DROP COLUMN state;
             ALTER TABLE entries DROP COLUMN agent;
             ALTER TABLE entries DROP COLUMN reasoning;
             DROP TABLE rate_limits;",
        )
        .unwrap();
    }
    if has("files", "tail_hash") {
        conn.execute_batch("ALTER TABLE files DROP COLUMN tail_hash")
            .unwrap();
    }
    if has("entries", "stopped") {
        conn.execute_batch("ALTER TABLE entries DROP COLUMN stopped")
            .unwrap();
    }
    // And what migration 11 (the ledger's total) adds.
    if has("files", "rows_refused") {
        conn.execute_batch("ALTER TABLE files DROP COLUMN rows_refused; DROP TABLE ledger_total")
            .unwrap();
    }
    let copy = |message: &str, set: &str| {
        conn.execute_batch(&format!(
            "CREATE TEMP TABLE c AS SELECT * FROM entries ORDER BY id LIMIT 1;
             UPDATE c SET id = NULL, message_id = '{message}', request_id = 'req_{message}', {set};
             INSERT INTO entries SELECT * FROM c;
             DROP TABLE c;"
        ))
        .unwrap();
    };
    copy("msg_far", "ts_ms = 253402171200000");
    copy("msg_searches", "web_search = 4611686018427387904");
    conn.pragma_update(None, "user_version", 9).unwrap();
}

#[test]
fn a_ledger_from_before_the_limits_still_reports_and_moves_its_bad_rows_out() {
    let s = Scratch::new();
    transcript(&s, "a.jsonl", &[good("msg_a1", 1), good("msg_a2", 2)]);
    assert_eq!(once(&s).0, 0);
    ledger_from_before_the_limits(&s.db);
    // The first run after the upgrade (any command that may write) moves them out.
    for report in ["daily", "weekly", "monthly"] {
        let out = s
            .cmd()
            .args([report, "--json", "--timezone", "UTC", "--mode", "display"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{report}: {}", stderr(&out));
        let totals = &json(&out.stdout)["totals"];
        assert_eq!(totals["outputTokens"], 3, "{report}");
        assert_eq!(totals["totalCost"], 0.5, "{report}");
    }
    assert_eq!(s.status()["rows"], 2);
    assert_skipped(&s, "a.jsonl:0:", "2 rows stored before the value limits");
    let models = s.report(&["models", "--mode", "display"]);
    assert_eq!(models["totals"]["totalCost"], 0.5);
    assert_every_report_works(&s);
}
