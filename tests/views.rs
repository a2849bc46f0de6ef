//! What a newcomer sees of each view (issue 21): one "nothing found" sentence, sessions by
//! cost and by id, breakdowns everywhere, the models, hosts and blocks tables and CSV,
//! `status`'s times, and every table within the terminal's width. Through the binary.

mod common;

use common::{Scratch, json, stderr};
use serde_json::Value;
use unicode_width::UnicodeWidthStr;

const VIEWS: &[&str] = &[
    "daily", "weekly", "monthly", "session", "blocks", "projects", "models", "agents", "hosts",
];

fn fixtures() -> Scratch {
    let s = Scratch::with_fixtures();
    s.once();
    s
}

/// A view's output: (exit code, stdout, stderr).
fn run(s: &Scratch, args: &[&str], columns: &str) -> (i32, String, String) {
    let mut cmd = s.cmd();
    cmd.env("COLUMNS", columns).args(args);
    if args[0] != "prices" {
        cmd.args(["--no-ingest", "--timezone", "UTC"]);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout.clone()).unwrap(),
        stderr(&out),
    )
}

fn table(s: &Scratch, args: &[&str]) -> String {
    let (code, out, err) = run(s, args, "120");
    assert_eq!(code, 0, "{args:?}: {err}");
    out
}

/// Claude Code lines in `projects/<folder>/<session>.jsonl`: (minutes ago, output tokens).
fn transcript(s: &Scratch, folder: &str, session: &str, lines: &[(i64, u64)]) {
    let dir = s.root.join("projects").join(folder);
    std::fs::create_dir_all(&dir).unwrap();
    let now = jiff::Timestamp::now();
    let text: String = lines
        .iter()
        .enumerate()
        .map(|(i, (minutes_ago, output))| {
            let ts = now - jiff::SignedDuration::from_mins(*minutes_ago);
            format!(
                r#"{{"type":"assistant","timestamp":"{ts}","cwd":"/home/dev/{folder}","requestId":"r{session}{i}","message":{{"id":"m{session}{i}","model":"claude-sonnet-4-5","usage":{{"input_tokens":100,"output_tokens":{output}}}}}}}"#
            ) + "\n"
        })
        .collect();
    std::fs::write(dir.join(format!("{session}.jsonl")), text).unwrap();
}

#[test]
fn nothing_found_is_one_sentence_on_stderr_and_empty_shapes_for_programs() {
    let s = fixtures();
    for view in VIEWS {
        let args = [*view, "--since", "2030-01-01", "--project", "-home-dev-app"];
        let (code, out, err) = run(&s, &args, "120");
        assert_eq!(code, 0, "{view}: {err}");
        assert_eq!(out, "", "{view}: a table without rows prints nothing");
        assert!(
            err.contains("No usage found for --since 2030-01-01, --project -home-dev-app."),
            "{view}: {err}"
        );
        let (code, out, _) = run(&s, &[&args[..], &["--json"]].concat(), "120");
        assert_eq!(code, 0, "{view}");
        let doc = json(out.as_bytes());
        let (list, rows) = doc
            .as_object()
            .unwrap()
            .iter()
            .find(|(_, v)| v.is_array())
            .unwrap_or_else(|| panic!("{view}: no list in {doc}"));
        assert_eq!(rows.as_array().unwrap().len(), 0, "{view}: {list}");
        if let Some(totals) = doc.get("totals") {
            assert_eq!(totals["totalTokens"], 0, "{view}: {doc}");
        }
        let (code, out, _) = run(&s, &[&args[..], &["--csv"]].concat(), "120");
        assert_eq!(code, 0, "{view}");
        assert_eq!(out.lines().count(), 1, "{view}: the header only: {out}");
    }
    // The views' own filters are named too.
    for (args, sentence) in [
        (&["blocks", "--recent"][..], "No usage found for --recent."),
        (&["blocks", "--active"], "No usage found for --active"),
        (
            &["session", "--id", "s1", "--since", "2030-01-01"],
            "No usage found for --since 2030-01-01, --id s1.",
        ),
        (
            &["daily", "--agent", "codex"],
            "No usage found for --agent codex.",
        ),
    ] {
        let (code, out, err) = run(&s, args, "120");
        assert_eq!((code, out.as_str()), (0, ""), "{args:?}");
        assert!(err.contains(sentence), "{args:?}: {err}");
    }
    // An id no session has is a mistake, not an empty range.
    let (code, _, err) = run(&s, &["session", "--id", "nope"], "120");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no session id starts with \"nope\""), "{err}");
    let (code, out, err) = run(&s, &["limits", "--agent", "codex"], "120");
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    assert!(
        err.contains("No quota figures found for --agent codex."),
        "{err}"
    );
}

#[test]
fn sessions_come_costliest_first_and_are_found_by_their_id() {
    let s = fixtures();
    let ids = |doc: &Value| -> Vec<String> {
        doc["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["sessionId"].as_str().unwrap().to_string())
            .collect()
    };
    // s2 costs $0.50, s1 $0.19, s3 $0.15; by last activity they are s1, s2, s3.
    assert_eq!(ids(&s.report(&["session"])), ["s2", "s1", "s3"]);
    assert_eq!(
        ids(&s.report(&["session", "--order", "asc"])),
        ["s1", "s2", "s3"]
    );
    assert_eq!(
        ids(&s.report(&["session", "--order", "desc"])),
        ["s3", "s2", "s1"]
    );
    let first_rows: Vec<String> = table(&s, &["session"])
        .lines()
        .skip(2)
        .take(3)
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    assert_eq!(first_rows, ["s2", "s1", "s3"]);
    assert_eq!(ids(&s.report(&["session", "--id", "s3"])), ["s3"]);
    assert_eq!(ids(&s.report(&["session", "-i", "s1"])), ["s1"]);

    // Whole ids where they fit; a prefix finds them.
    let s = Scratch::new();
    let id = "0f8e1c2a-7b3d-4e5f-9a6b-1c2d3e4f5a6b";
    transcript(&s, "p", id, &[(60, 10)]);
    s.once();
    let (_, wide, _) = run(&s, &["session"], "250");
    assert!(wide.contains(id), "{wide}");
    let (_, narrow, _) = run(&s, &["session"], "60");
    assert!(
        !narrow.contains(id) && narrow.contains("0f8e1c2"),
        "{narrow}"
    );
    assert_eq!(ids(&s.report(&["session", "--id", "0f8e"])), [id]);
    // A whole id is that session, though another id starts with it.
    transcript(&s, "p", "0f8e", &[(30, 10)]);
    s.once();
    assert_eq!(ids(&s.report(&["session", "--id", "0f8e"])), ["0f8e"]);
    assert_eq!(ids(&s.report(&["session", "--id", "0f8"])).len(), 2);
}

#[test]
fn breakdown_is_honoured_by_session_csv_and_by_blocks() {
    let s = fixtures();
    let (_, csv, _) = run(&s, &["session", "--csv", "--breakdown"], "120");
    let header = csv.lines().next().unwrap();
    assert!(header.contains(",model,"), "{csv}");
    // s1 used three models: a record each.
    assert_eq!(
        csv.lines().filter(|l| l.starts_with("s1,")).count(),
        3,
        "{csv}"
    );
    assert!(csv.contains("s1,/home/dev/app,"), "{csv}");

    let blocks = table(&s, &["blocks", "--breakdown"]);
    assert!(blocks.contains("  └ opus-4-6-fast"), "{blocks}");
    assert!(blocks.contains("  └ mystery-1"), "{blocks}");
    let (_, csv, _) = run(&s, &["blocks", "--csv", "--breakdown"], "120");
    let block = csv
        .lines()
        .filter(|l| l.starts_with("2026-01-11T12:00:00.000Z,"))
        .count();
    assert_eq!(block, 2, "a record per model of the block: {csv}");
}

#[test]
fn models_have_requests_and_no_zero_row_and_say_unpriced() {
    let s = fixtures();
    let out = table(&s, &["models"]);
    let header = out.lines().next().unwrap();
    assert!(header.contains("Requests"), "{out}");
    assert!(!header.contains("Models"), "{out}");
    assert!(!out.contains("<synthetic>"), "{out}");
    let mystery = out
        .lines()
        .find(|l| l.contains("claude-mystery-1"))
        .unwrap();
    assert!(mystery.trim_end().ends_with("unpriced"), "{out}");
    assert!(!out.contains("$0.00+?"), "{out}");
    let haiku = out.lines().find(|l| l.contains("haiku-4-5")).unwrap();
    assert_eq!(haiku.split_whitespace().nth(1), Some("3"), "{out}");

    let (_, csv, _) = run(&s, &["models", "--csv"], "120");
    assert!(csv.starts_with("model,requests,"), "{csv}");
    assert!(!csv.contains("<synthetic>"), "{csv}");
    // JSON keeps the placeholder, with its requests.
    let doc = s.report(&["models"]);
    assert!(doc.to_string().contains("<synthetic>"), "{doc}");
}

#[test]
fn hosts_show_requests_and_activity_with_name_and_id_apart() {
    let s = fixtures();
    let out = table(&s, &["hosts"]);
    let header = out.lines().next().unwrap();
    for column in ["Host", "First activity", "Last activity", "Requests"] {
        assert!(header.contains(column), "{out}");
    }
    assert!(out.contains("2026-01-10 09:00"), "{out}");
    let (_, csv, _) = run(&s, &["hosts", "--csv"], "120");
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("host,host_id,first_activity,last_activity,requests,"),
        "{csv}"
    );
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    let id = s.status()["host"]["id"].as_str().unwrap().to_string();
    assert_eq!(row[1], id, "{csv}");
    assert!(!row[0].contains('('), "{csv}");
    assert_eq!(row[2], "2026-01-10T09:00:05.300Z", "{csv}");
    assert_eq!(row[4], "10", "{csv}");
}

#[test]
fn blocks_say_done_show_long_gaps_in_days_and_carry_the_burn_rate() {
    let s = fixtures();
    let out = table(&s, &["blocks"]);
    assert!(out.contains("done, 1h 40m"), "{out}");
    assert!(out.contains("gap 14h 00m"), "{out}");

    // 400 days ago, then an active block: 60,000 output tokens 30 minutes apart.
    let s = Scratch::new();
    transcript(
        &s,
        "p",
        "s",
        &[(400 * 24 * 60, 10), (40, 60_000), (10, 60_000)],
    );
    s.once();
    let out = table(&s, &["blocks"]);
    let gap = out.lines().find(|l| l.contains("gap ")).unwrap();
    assert!(
        gap.contains("gap 399d") || gap.contains("gap 398d"),
        "{out}"
    );
    // (120,200 tokens over 30 minutes)
    assert!(out.contains("4,007 tokens/min"), "{out}");
    let (_, csv, _) = run(&s, &["blocks", "--active", "--csv"], "120");
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    let field = |name: &str| row[header.iter().position(|h| *h == name).unwrap()];
    assert_eq!(field("status"), "active", "{csv}");
    assert_eq!(field("tokens_per_minute"), "4007", "{csv}");
    let projected: u64 = field("projected_total_tokens").parse().unwrap();
    assert!(projected > 120_200, "{csv}");
    assert!(!field("projected_cost_usd").is_empty(), "{csv}");
}

#[test]
fn status_prints_local_times_to_the_second() {
    let s = fixtures();
    let out = s
        .cmd()
        .env("TZ", "Asia/Kolkata")
        .arg("status")
        .assert()
        .success();
    let out = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let history = out.lines().find(|l| l.starts_with("history")).unwrap();
    assert!(
        history.contains("2026-01-10 14:30:05 IST … 2026-01-12 15:30:00 IST"),
        "{out}"
    );
    let ingest = out
        .lines()
        .find(|l| l.starts_with("last new lines"))
        .unwrap();
    assert!(!ingest.contains('Z') && ingest.contains(" IST "), "{out}");
}

#[test]
fn every_table_fits_the_terminal() {
    let s = fixtures();
    let mut views: Vec<Vec<&str>> = VIEWS.iter().map(|v| vec![*v]).collect();
    views.extend([
        vec!["prices"],
        vec!["daily", "--breakdown"],
        vec!["blocks", "--breakdown"],
        vec!["session", "--breakdown"],
    ]);
    for columns in ["60", "80", "120", "250"] {
        let limit: usize = columns.parse().unwrap();
        for args in &views {
            let (code, out, err) = run(&s, args, columns);
            assert_eq!(code, 0, "{args:?}: {err}");
            let widest = out.lines().map(UnicodeWidthStr::width).max().unwrap_or(0);
            assert!(
                widest <= limit,
                "{args:?} is {widest} wide at {limit}:\n{out}"
            );
        }
    }
    let prices = run(&s, &["prices"], "120").1;
    assert!(prices.contains("USD per million tokens"), "{prices}");
}

#[test]
fn projects_are_found_as_people_name_them_and_shown_by_path() {
    let s = fixtures();
    // A project under the home folder (the scratch's HOME), and an alias for it.
    let home = s.dir.path().to_string_lossy().into_owned();
    let site = format!("{home}/code/site");
    let folder: String = site
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let dir = s.root.join("projects").join(&folder);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("s9.jsonl"),
        format!(
            r#"{{"type":"assistant","timestamp":"2026-01-13T10:00:00Z","cwd":"{site}","requestId":"r9","message":{{"id":"m9","model":"claude-sonnet-4-5","usage":{{"input_tokens":7,"output_tokens":9}}}}}}"#
        ) + "\n",
    )
    .unwrap();
    let config = s.dir.path().join("config/cco-stats");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("config.toml"),
        "[projects]\nblog = \"~/code/site\"\n",
    )
    .unwrap();
    s.once();

    let total =
        |project: &str| s.report(&["daily", "--project", project])["totals"]["totalTokens"].clone();
    let app = total("-home-dev-app");
    assert_eq!(app, 10_366);
    for asked in ["/home/dev/app", "/home/dev/app/", "app", "dev/ap"] {
        assert_eq!(total(asked), app, "--project {asked}");
    }
    for asked in ["~/code/site", "~/code/site/", "site", "blog", site.as_str()] {
        assert_eq!(total(asked), 16, "--project {asked}");
    }

    // Unknown and ambiguous names are errors that list the candidates.
    let (code, out, err) = run(&s, &["daily", "--project", "nope"], "120");
    assert_ne!(code, 0, "{out}");
    assert!(err.contains("no project matches \"nope\""), "{err}");
    assert!(
        err.contains("/home/dev/app") && err.contains("blog"),
        "{err}"
    );
    let (code, _, err) = run(&s, &["daily", "--project", "dev"], "120");
    assert_ne!(code, 0);
    assert!(
        err.contains("matches 2 projects: /home/dev/app, -home-dev-other"),
        "{err}"
    );

    // Tables and CSV show the path (home as ~) or the alias; JSON the name and the path.
    let out = table(&s, &["projects"]);
    assert!(
        out.contains("/home/dev/app ") && out.contains("blog "),
        "{out}"
    );
    assert!(!out.contains("-home-dev-app"), "{out}");
    let (_, csv, _) = run(&s, &["session", "--csv"], "120");
    assert!(
        csv.contains("s9,blog,") && csv.contains("s1,/home/dev/app,"),
        "{csv}"
    );
    let doc = s.report(&["projects"]);
    let row = doc["projects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["project"] == "-home-dev-app")
        .unwrap();
    assert_eq!(row["path"], "/home/dev/app");

    // Without the alias, the home folder is `~`.
    std::fs::remove_file(config.join("config.toml")).unwrap();
    let out = table(&s, &["projects"]);
    assert!(out.contains("~/code/site"), "{out}");
}
