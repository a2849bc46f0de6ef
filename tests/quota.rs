//! Quota windows through the real binary (issue 20): what the status line and the
//! transcripts record, and what `limits` reports from it.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};

use common::Scratch;
use serde_json::{Value, json};

const SESSION: &str = "quota-session";
const HOUR_MS: i64 = 3_600_000;

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

fn iso(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .unwrap()
        .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

fn append(path: &Path, lines: &[String]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    for line in lines {
        writeln!(file, "{line}").unwrap();
    }
}

fn transcript(s: &Scratch) -> PathBuf {
    s.root
        .join("projects/-home-dev-app")
        .join(format!("{SESSION}.jsonl"))
}

/// A Claude Code response of `output` tokens (priced: Sonnet 4.5).
fn response(ts_ms: i64, id: &str, output: u64) -> String {
    json!({"type": "assistant", "sessionId": SESSION, "cwd": "/home/dev/app",
           "timestamp": iso(ts_ms), "requestId": format!("req_{id}"),
           "message": {"id": format!("msg_{id}"), "type": "message", "role": "assistant",
                       "model": "claude-sonnet-4-5", "content": [{"type": "text", "text": "ok"}],
                       "usage": {"input_tokens": 0, "cache_creation_input_tokens": 0,
                                 "cache_read_input_tokens": 0, "output_tokens": output}}})
    .to_string()
}

/// One status-line call with these `rate_limits` (windows: name, percent, reset in ms);
/// its line.
fn statusline(s: &Scratch, windows: &[(&str, f64, i64)]) -> String {
    let limits: serde_json::Map<String, Value> = windows
        .iter()
        .map(|(name, used, resets_ms)| {
            let window = json!({"used_percentage": used, "resets_at": resets_ms / 1000});
            (name.to_string(), window)
        })
        .collect();
    let input = json!({"session_id": SESSION, "transcript_path": transcript(s),
                       "rate_limits": limits});
    let out = s
        .cmd()
        .args(["statusline", "--no-color", "--timezone", "UTC"])
        .args(["--format", "limits,weekly"])
        .write_stdin(input.to_string())
        .assert()
        .success();
    let line = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(!line.starts_with("cco-stats:"), "{line}");
    line.trim_end().to_string()
}

/// `HH:MM` (or `%a HH:MM`) of an instant in UTC.
fn clock(ms: i64, format: &str) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .unwrap()
        .strftime(format)
        .to_string()
}

fn limits(s: &Scratch) -> Vec<Value> {
    s.report(&["limits"])["windows"].as_array().unwrap().clone()
}

fn window<'a>(windows: &'a [Value], agent: &str, name: &str) -> &'a Value {
    windows
        .iter()
        .find(|w| w["agent"] == agent && w["window"] == name)
        .unwrap_or_else(|| panic!("no {agent} {name} in {windows:?}"))
}

/// Within half a percent: the resets are whole minutes, and the test's clock and the
/// binary's are a few milliseconds apart.
fn assert_near(value: &Value, want: f64) {
    let got = value
        .as_f64()
        .unwrap_or_else(|| panic!("not a number: {value}"));
    assert!((got - want).abs() < 0.5, "{got} against {want}");
}

fn sample_rows(s: &Scratch) -> i64 {
    let conn = rusqlite::Connection::open(&s.db).unwrap();
    conn.query_row("SELECT count(*) FROM quota_samples", [], |r| r.get(0))
        .unwrap()
}

/// Reset times to the minute, as the ledger identifies windows.
fn at_minute(ms: i64) -> i64 {
    ms / 60_000 * 60_000
}

#[test]
fn status_line_calls_build_the_history_limits_shows() {
    let s = Scratch::new();
    let now = now_ms();
    append(&transcript(&s), &[response(now - 10 * 60_000, "a", 1_000)]);
    // A 5-hour window that reset an hour ago, hit on its way; the one running now.
    let old = at_minute(now - HOUR_MS);
    let current = at_minute(now + 3 * HOUR_MS);
    let week = at_minute(now + 4 * 86_400_000);
    statusline(&s, &[("five_hour", 60.0, old), ("seven_day", 20.0, week)]);
    statusline(&s, &[("five_hour", 100.0, old), ("seven_day", 20.0, week)]);
    statusline(
        &s,
        &[("five_hour", 10.0, current), ("seven_day", 21.0, week)],
    );
    statusline(
        &s,
        &[("five_hour", 10.0, current), ("seven_day", 21.0, week)],
    );
    let line = statusline(
        &s,
        &[("five_hour", 12.0, current), ("seven_day", 21.0, week)],
    );
    // (No forecast: the last fifth of each window did not burn that fast.)
    let want = format!(
        "5h 12%, resets {} · 7d 21%, resets {} · ",
        clock(current, "%H:%M"),
        clock(week, "%a %H:%M")
    );
    assert!(line.starts_with(&want), "{line}");
    // One row per change: the same value again adds none (the weekly one: 20, 21).
    assert_eq!(sample_rows(&s), 2 + 2 + 2);
    // A reset a few seconds off (computed afresh by the agent) names the same window.
    statusline(
        &s,
        &[
            ("five_hour", 12.0, current + 2_000),
            ("seven_day", 21.0, week - 1_000),
        ],
    );
    assert_eq!(sample_rows(&s), 6);

    let windows = limits(&s);
    let five = window(&windows, "claude", "five_hour");
    assert_eq!(five["source"], "official");
    assert_eq!(five["usedPercent"], 12.0);
    assert_eq!(five["resetsAt"], iso(current));
    let history = five["history"].as_array().unwrap();
    assert_eq!(history.len(), 1, "{five}");
    assert_eq!(history[0]["resetsAt"], iso(old));
    assert_eq!(history[0]["peakPercent"], 100.0);
    assert_eq!(history[0]["hit"], true);
    let weekly = window(&windows, "claude", "seven_day");
    assert_eq!(weekly["usedPercent"], 21.0);
    assert_eq!(weekly["resetsAt"], iso(week));
    // 3 of 7 days elapsed: 21 % used is 49 % of an even pace.
    assert_near(&weekly["pacePercent"], 49.0);
    assert!(weekly["history"].as_array().unwrap().is_empty());
    // The pace of the 5-hour window: 2 of 5 hours gone, 12 %: 30 %.
    assert_near(&five["pacePercent"], 30.0);

    // The table, history included, within the terminal's width.
    for columns in [60, 80, 120] {
        let out = s
            .cmd()
            .env("COLUMNS", columns.to_string())
            .args(["limits", "--no-ingest", "--timezone", "UTC"])
            .assert()
            .success();
        let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
        assert!(text.contains("100.0 %  yes"), "{text}");
        let widest = text.lines().map(|l| l.chars().count()).max().unwrap();
        assert!(widest <= columns, "{widest} wide at {columns}:\n{text}");
    }
}

#[test]
fn the_forecast_projects_the_last_hours_burn() {
    let s = Scratch::new();
    let now = now_ms();
    // Two hours into a 5-hour window: 10,000 tokens 90 minutes ago, 10,000 in the last
    // hour, and 50 % used: 400 tokens per 1 %, 25 % an hour, full in 2 hours.
    append(
        &transcript(&s),
        &[
            response(now - 90 * 60_000, "a", 10_000),
            response(now - 30 * 60_000, "b", 10_000),
        ],
    );
    let resets = at_minute(now + 3 * HOUR_MS);
    let line = statusline(&s, &[("five_hour", 50.0, resets)]);
    assert!(line.contains(", full "), "the forecast on the line: {line}");
    let windows = limits(&s);
    let five = window(&windows, "claude", "five_hour");
    assert_eq!(five["tokensPerPercent"], 400.0, "{five}");
    // Sonnet 4.5's output: $15 per million: 20,000 tokens are $0.30, $0.006 per 1 %.
    assert_eq!(five["costPerPercent"], 0.006);
    let forecast = five["forecastFullAt"].as_str().unwrap();
    let forecast_ms = forecast
        .parse::<jiff::Timestamp>()
        .unwrap()
        .as_millisecond();
    let want = now + 2 * HOUR_MS;
    assert!(
        (forecast_ms - want).abs() < 60_000,
        "{forecast} against {}",
        iso(want)
    );
    // The same tokens for fewer percents (a plan with more room): 5 % an hour, 90 % more
    // is not reached before the reset, and there is no forecast.
    let line = statusline(&s, &[("five_hour", 10.0, resets)]);
    assert!(!line.contains("full"), "{line}");
    let five = window(&limits(&s), "claude", "five_hour").clone();
    assert!(five["forecastFullAt"].is_null(), "{five}");
    assert_eq!(five["tokensPerPercent"], 2000.0);
    // A window already full has no forecast to come: the table says it is full.
    statusline(&s, &[("five_hour", 100.0, resets)]);
    let out = s
        .cmd()
        .args(["limits", "--no-ingest", "--timezone", "UTC"])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        text.contains("forecast    full: the window's limit is reached"),
        "{text}"
    );
    assert!(!text.contains("100 % at"), "{text}");
}

#[test]
fn a_limit_hit_line_marks_its_window_hit() {
    let s = Scratch::new();
    let now = now_ms();
    let resets = at_minute(now - HOUR_MS);
    let hit = json!({"type": "assistant", "sessionId": SESSION, "timestamp": iso(now - 3 * HOUR_MS),
        "isApiErrorMessage": true,
        "message": {"id": "m-hit", "model": "<synthetic>", "role": "assistant",
                    "content": [{"type": "text",
                                 "text": format!("Claude AI usage limit reached|{}", resets / 1000)}],
                    "usage": {"input_tokens": 0, "output_tokens": 0}}});
    // A person quoting the text is no hit.
    let quoted = json!({"type": "user", "sessionId": SESSION, "timestamp": iso(now - 2 * HOUR_MS),
        "message": {"role": "user", "content": [{"type": "text",
                    "text": "why Claude AI usage limit reached|1700000000?"}]}});
    append(
        &transcript(&s),
        &[
            response(now - 4 * HOUR_MS, "a", 5_000),
            hit.to_string(),
            quoted.to_string(),
        ],
    );
    s.once();
    let windows = limits(&s);
    let five = window(&windows, "claude", "five_hour");
    let history = five["history"].as_array().unwrap();
    assert_eq!(history.len(), 1, "{five}");
    assert_eq!(history[0]["resetsAt"], iso(resets));
    assert_eq!(history[0]["hit"], true);
    assert_eq!(history[0]["peakPercent"], 100.0);
    assert_eq!(history[0]["tokens"], 5_000);
    // Read again (a second pass, the same line): still one sample.
    s.once();
    assert_eq!(sample_rows(&s), 1);
}

/// A Codex rollout line carrying only its rate limits (no usage yet).
fn codex_limits(ts_ms: i64, used: f64, resets_ms: i64) -> String {
    json!({"timestamp": iso(ts_ms), "type": "event_msg",
           "payload": {"type": "token_count", "info": null,
                       "rate_limits": {"primary": {"used_percent": used, "window_minutes": 300,
                                                   "resets_at": resets_ms / 1000}}}})
    .to_string()
}

#[test]
fn samples_out_of_order_keep_the_peak_and_the_latest() {
    let s = Scratch::new();
    let now = now_ms();
    let resets = at_minute(now + 2 * HOUR_MS);
    let day = jiff::Timestamp::from_millisecond(now)
        .unwrap()
        .strftime("%Y/%m/%d")
        .to_string();
    let sessions = s.dir.path().join(".codex/sessions").join(day);
    let rollout = |name: &str| sessions.join(format!("rollout-{name}.jsonl"));
    append(
        &rollout("2026-01-01T00-00-00-0199ab12-3456-7789-8abc-def012345601"),
        &[codex_limits(now - 10 * 60_000, 40.0, resets)],
    );
    s.once();
    // Read later, seen earlier: a lower use before it, and a higher one between.
    append(
        &rollout("2026-01-01T00-00-00-0199ab12-3456-7789-8abc-def012345602"),
        &[
            codex_limits(now - 60 * 60_000, 20.0, resets),
            codex_limits(now - 30 * 60_000, 55.0, resets),
        ],
    );
    s.once();
    let windows = limits(&s);
    let five = window(&windows, "codex", "five_hour");
    assert_eq!(
        five["usedPercent"], 40.0,
        "the latest stays the one seen last: {five}"
    );
    assert_eq!(five["seenAt"], iso(now - 10 * 60_000));
    // Once reset, its peak is the highest of all.
    let conn = rusqlite::Connection::open(&s.db).unwrap();
    let peak: f64 = conn
        .query_row("SELECT max(used_percent) FROM quota_samples", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(peak, 55.0);
}

#[test]
fn without_official_figures_the_estimate_says_so() {
    let s = Scratch::new();
    let now = now_ms();
    // A finished block of 10,000 tokens yesterday, 2,500 in the active one.
    append(
        &transcript(&s),
        &[
            response(now - 30 * HOUR_MS, "a", 10_000),
            response(now - 30 * 60_000, "b", 2_500),
        ],
    );
    s.once();
    let windows = limits(&s);
    assert_eq!(windows.len(), 1, "{windows:?}");
    assert_eq!(windows[0]["source"], "estimate");
    assert_eq!(windows[0]["window"], "five_hour");
    assert_eq!(windows[0]["usedPercent"], 25.0);
    let table = s.cmd().args(["limits", "--no-ingest"]).assert().success();
    let text = String::from_utf8_lossy(&table.get_output().stdout).to_string();
    assert!(text.contains("no official figure"), "{text}");
    let narrow = s
        .cmd()
        .env("COLUMNS", "60")
        .args(["limits", "--no-ingest"])
        .assert()
        .success();
    let narrow = String::from_utf8_lossy(&narrow.get_output().stdout).to_string();
    assert!(narrow.lines().all(|l| l.chars().count() <= 60), "{narrow}");
    // The status line shows official figures only: no window without a sample.
    let line = statusline(&s, &[]);
    assert!(!line.contains("5h"), "{line}");
}
