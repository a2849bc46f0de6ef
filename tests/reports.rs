//! Every report and flag through the binary, on the hand-made fixtures (see tests/cli.rs
//! for the tree's per-day totals: 2026-01-10 Sat, 01-11 Sun, 01-12 Mon, UTC).

mod common;

use common::{Scratch, json, sums};
use predicates::prelude::*;
use serde_json::Value;

fn rows<'a>(v: &'a Value, list: &str) -> &'a Vec<Value> {
    v[list].as_array().unwrap()
}

fn keyed(v: &Value, list: &str, key: &str) -> Vec<(String, [u64; 4])> {
    rows(v, list)
        .iter()
        .map(|r| (r[key].as_str().unwrap().to_string(), sums(r)))
        .collect()
}

fn fixtures() -> Scratch {
    let s = Scratch::with_fixtures();
    s.once();
    s
}

#[test]
fn weeks_start_on_sunday_or_monday() {
    let s = fixtures();
    assert_eq!(
        keyed(&s.report(&["weekly"]), "weekly", "week"),
        vec![
            ("2026-01-04".into(), [120, 80, 1_000, 7_000]),
            ("2026-01-11".into(), [1_038, 1_138, 0, 250_100]),
        ]
    );
    assert_eq!(
        keyed(
            &s.report(&["weekly", "--start-of-week", "monday"]),
            "weekly",
            "week"
        ),
        vec![
            ("2026-01-05".into(), [1_137, 1_107, 1_000, 7_100]),
            ("2026-01-12".into(), [21, 111, 0, 250_000]),
        ]
    );
}

#[test]
fn months_and_totals_agree_with_days() {
    let s = fixtures();
    let monthly = s.report(&["monthly"]);
    assert_eq!(
        keyed(&monthly, "monthly", "month"),
        vec![("2026-01".into(), [1_158, 1_218, 1_000, 257_100])]
    );
    assert_eq!(
        sums(&monthly["totals"]),
        sums(&s.report(&["daily"])["totals"])
    );
}

#[test]
fn sessions_hold_their_subagents_and_add_up_to_the_daily_totals() {
    let s = fixtures();
    let sessions = s.report(&["session"]);
    let by_id: Vec<(String, [u64; 4])> = keyed(&sessions, "sessions", "sessionId");
    // s1 holds its subagent's responses (from subagents/agent-a1.jsonl and the echoes).
    let s1 = by_id.iter().find(|(id, _)| id == "s1").unwrap();
    assert_eq!(s1.1, [1_137, 1_107, 1_000, 7_100]);
    assert_eq!(by_id.len(), 3);
    let summed = by_id.iter().fold([0; 4], |mut acc, (_, s)| {
        for i in 0..4 {
            acc[i] += s[i];
        }
        acc
    });
    assert_eq!(summed, sums(&s.report(&["daily"])["totals"]));
    // (By last activity: the default lists the costliest first.)
    let by_time = s.report(&["session", "--order", "asc"]);
    let first = &rows(&by_time, "sessions")[0];
    assert_eq!(first["sessionId"], "s1");
    assert_eq!(first["projectPath"], "-home-dev-app");
    assert_eq!(first["firstActivity"], "2026-01-10T09:00:05.300Z");
    assert_eq!(first["lastActivity"], "2026-01-11T13:00:00.000Z");
}

#[test]
fn projects_and_the_project_filter() {
    let s = fixtures();
    assert_eq!(
        keyed(&s.report(&["projects"]), "projects", "project"),
        vec![
            ("-home-dev-app".into(), [1_148, 1_118, 1_000, 7_100]),
            ("-home-dev-other".into(), [10, 100, 0, 250_000]),
        ]
    );
    // By folder name or by working directory.
    for project in ["-home-dev-other", "/home/dev/other"] {
        let daily = s.report(&["daily", "--project", project]);
        assert_eq!(sums(&daily["totals"]), [10, 100, 0, 250_000], "{project}");
    }
}

#[test]
fn models_report_splits_fast_mode_and_names_placeholders() {
    let s = fixtures();
    let models = s.report(&["models"]);
    let names: Vec<&str> = rows(&models, "models")
        .iter()
        .map(|m| m["model"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"claude-opus-4-6-fast"), "{names:?}");
    assert!(names.contains(&"<synthetic>"), "{names:?}");
    let fast = rows(&models, "models")
        .iter()
        .find(|m| m["model"] == "claude-opus-4-6-fast")
        .unwrap();
    assert_eq!(fast["inputTokens"], 1_000);
    // (1000 * $5 + 1000 * $25) / 1M, six times over in fast mode.
    assert!(
        (fast["cost"].as_f64().unwrap() - 0.18).abs() < 1e-9,
        "{fast}"
    );
}

#[test]
fn cost_modes_no_cost_and_order() {
    let s = fixtures();
    let cost_of_12th = |mode: &str| {
        let daily = s.report(&["daily", "--mode", mode]);
        rows(&daily, "daily")[2]["modelBreakdowns"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["modelName"] == "claude-sonnet-4-20250514")
            .unwrap()["cost"]
            .as_f64()
            .unwrap()
    };
    // msg_H carries costUSD 0.5; msg_L (long context, whole request at $6/$22.5/$0.6):
    // 10*6 + 100*22.5 + 250000*0.6 = 152,310 micro-dollars.
    let long_context = 0.152_31;
    let h_computed = (3.0 + 15.0) / 1e6;
    assert!((cost_of_12th("auto") - (0.5 + long_context)).abs() < 1e-9);
    assert!((cost_of_12th("calculate") - (h_computed + long_context)).abs() < 1e-9);
    assert!((cost_of_12th("display") - 0.5).abs() < 1e-9);

    let no_cost = s.report(&["daily", "--no-cost"]);
    assert!(no_cost["totals"].get("totalCost").is_none());
    assert!(rows(&no_cost, "daily")[0].get("totalCost").is_none());

    let desc = s.report(&["daily", "--order", "desc"]);
    assert_eq!(rows(&desc, "daily")[0]["date"], "2026-01-12");
}

#[test]
fn strict_fails_on_unpriced_models_and_a_price_file_fixes_it() {
    let s = fixtures();
    s.cmd()
        .args(["daily", "--no-ingest", "--strict"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("claude-mystery-1"));
    let prices = s.dir.path().join("prices.toml");
    std::fs::write(
        &prices,
        "[models.claude-mystery-1]\ninput = 1\noutput = 1\ncache_write_5m = 1\ncache_write_1h = 1\ncache_read = 1\n",
    )
    .unwrap();
    let out = s
        .cmd()
        .arg("--prices")
        .arg(&prices)
        .args([
            "daily",
            "--no-ingest",
            "--strict",
            "--json",
            "--timezone",
            "UTC",
        ])
        .assert()
        .success();
    let daily = json(&out.get_output().stdout);
    assert!(daily["totals"].get("unpricedModels").is_none());
    // The user's file also shows in `prices`.
    let listed = s
        .cmd()
        .arg("--prices")
        .arg(&prices)
        .args(["prices", "--json"])
        .assert()
        .success();
    let listed = json(&listed.get_output().stdout);
    let family = |name: &str| common::price_family(&listed, name);
    assert_eq!(
        family("claude-mystery-1")["periods"][0]["source"],
        prices.display().to_string()
    );
    let sonnet = family("claude-sonnet-4-5");
    assert_eq!(sonnet["periods"][0]["tiers"][0]["above"], 200_000);
    assert_eq!(sonnet["periods"][0]["tiers"][0]["input"], 6.0);
    assert_eq!(sonnet["periods"][0]["source"], "built-in");
}

#[test]
fn csv_has_a_header_and_a_row_per_period_or_per_model() {
    let s = fixtures();
    let csv = |extra: &[&str]| {
        let out = s
            .cmd()
            .args(["daily", "--csv", "--no-ingest", "--timezone", "UTC"])
            .args(extra)
            .assert()
            .success();
        String::from_utf8(out.get_output().stdout.clone()).unwrap()
    };
    let plain = csv(&[]);
    let lines: Vec<&str> = plain.trim_end().split("\r\n").collect();
    assert_eq!(lines.len(), 4, "{plain}");
    assert!(lines[0].starts_with("date,models,input_tokens"));
    assert!(lines[1].starts_with(
        "2026-01-10,claude-haiku-4-5-20251001 claude-sonnet-4-5-20250929,120,80,1000,7000,8200,"
    ));
    let breakdown = csv(&["--breakdown"]);
    // 2 models on the 10th, 4 on the 11th (haiku, opus fast, sonnet, <none> excluded), 2 on the 12th.
    let rows = breakdown.trim_end().split("\r\n").count() - 1;
    assert_eq!(rows, 2 + 3 + 2, "{breakdown}");
    assert!(breakdown.contains("2026-01-11,claude-opus-4-6-fast,1000,1000,0,0,2000,0.180000"));
}

#[test]
fn tables_fit_the_terminal_and_show_breakdowns() {
    let s = fixtures();
    for width in ["80", "60"] {
        let out = s
            .cmd()
            .env("COLUMNS", width)
            .args(["daily", "--no-ingest", "--timezone", "UTC", "--breakdown"])
            .assert()
            .success();
        let table = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
        let widest = table.lines().map(|l| l.chars().count()).max().unwrap();
        assert!(widest <= width.parse().unwrap(), "{table}");
        assert!(table.contains("└ opus-4-6-fast"), "{table}");
        assert!(!table.contains('\x1b'), "no colour into a pipe");
    }
}

#[test]
fn blocks_and_gaps_follow_the_five_hour_rule() {
    let s = fixtures();
    let blocks = s.report(&["blocks"]);
    let list = rows(&blocks, "blocks");
    let gaps = list.iter().filter(|b| b["isGap"] == true).count();
    assert_eq!((list.len(), gaps), (7, 3));
    assert_eq!(list[0]["startTime"], "2026-01-10T09:00:00.000Z");
    assert_eq!(list[0]["endTime"], "2026-01-10T14:00:00.000Z");
    assert_eq!(list[2]["startTime"], "2026-01-10T23:00:00.000Z");
    assert_eq!(
        list[2]["entries"], 4,
        "B, C, D and the API-error placeholder"
    );
    let total: u64 = list
        .iter()
        .map(|b| b["totalTokens"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 1_158 + 1_218 + 1_000 + 257_100);
    assert!(list.iter().all(|b| b["isActive"] == false));
}

#[test]
fn the_active_block_has_a_burn_rate_projection_and_limit() {
    let s = Scratch::new();
    let project = s.root.join("projects/-p");
    std::fs::create_dir_all(&project).unwrap();
    let now = jiff::Timestamp::now();
    let line = |minutes_ago: i64, id: &str| {
        let ts = now - jiff::SignedDuration::from_mins(minutes_ago);
        format!(
            r#"{{"type":"assistant","timestamp":"{ts}","requestId":"r{id}","message":{{"id":"m{id}","model":"claude-sonnet-4-5","usage":{{"input_tokens":100,"output_tokens":1000,"cache_read_input_tokens":10000}}}}}}"#
        )
    };
    std::fs::write(
        project.join("s.jsonl"),
        format!("{}\n{}\n{}\n", line(600, "0"), line(40, "1"), line(10, "2")),
    )
    .unwrap();
    s.once();
    let out = s
        .cmd()
        .args([
            "blocks",
            "--active",
            "--json",
            "--no-ingest",
            "--token-limit",
            "30000",
        ])
        .assert()
        .success()
        .stderr(predicate::str::contains("past the limit"));
    let blocks = json(&out.get_output().stdout);
    let list = rows(&blocks, "blocks");
    assert_eq!(list.len(), 1);
    let active = &list[0];
    assert_eq!(active["isActive"], true);
    assert_eq!(active["entries"], 2);
    // 22,200 tokens over the 30 minutes between the two responses.
    assert_eq!(
        active["burnRate"]["tokensPerMinute"].as_f64().unwrap(),
        740.0
    );
    assert!(active["projection"]["totalTokens"].as_u64().unwrap() > 22_200);
    assert_eq!(active["tokenLimitStatus"]["status"], "exceeds");

    // `max` takes the largest finished block: the one from 10 hours ago.
    let out = s
        .cmd()
        .args([
            "blocks",
            "--json",
            "--no-ingest",
            "--token-limit",
            "max",
            "--recent",
        ])
        .assert()
        .success();
    let blocks = json(&out.get_output().stdout);
    let active = rows(&blocks, "blocks")
        .iter()
        .find(|b| b["isActive"] == true)
        .unwrap();
    assert_eq!(active["tokenLimitStatus"]["limit"], 11_100);
}

#[test]
fn bad_report_flags_are_clear_errors() {
    let s = fixtures();
    s.cmd()
        .args(["daily", "--no-ingest", "--timezone", "Mars/Olympus"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "unknown time zone \"Mars/Olympus\"",
        ));
    s.cmd()
        .args(["blocks", "--token-limit", "lots"])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "neither a number of tokens nor \"max\"",
        ));
    s.cmd()
        .args(["daily", "--json", "--csv"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("cannot be used with"));
}
