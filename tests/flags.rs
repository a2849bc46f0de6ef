//! The flags ccusage users type, through the real binary: its short flags, `--last`,
//! `--start-of-week` with any day, `--compact`, `--color`/`--no-color` and FORCE_COLOR,
//! mean here what they mean there; `export` filters by date like every `--since`, and
//! `import -` takes an export through a pipe.

mod common;

use std::process::Stdio;

use common::{Scratch, days, json, stderr};
use serde_json::Value;

/// A scratch with the fixtures read into its ledger.
fn ingested() -> Scratch {
    let s = Scratch::with_fixtures();
    s.once();
    s
}

fn stdout(s: &Scratch, args: &[&str]) -> String {
    let out = s.cmd().args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    String::from_utf8(out.stdout).unwrap()
}

fn json_of(s: &Scratch, args: &[&str]) -> Value {
    json(stdout(s, args).as_bytes())
}

#[test]
fn short_flags_mean_their_long_ones() {
    let s = ingested();
    let pairs: [(&[&str], &[&str]); 4] = [
        (
            &[
                "daily",
                "-j",
                "-s",
                "20260111",
                "-u",
                "2026-01-12",
                "-z",
                "UTC",
            ],
            &[
                "daily",
                "--json",
                "--since",
                "20260111",
                "--until",
                "2026-01-12",
                "--timezone",
                "UTC",
            ],
        ),
        (
            &[
                "monthly",
                "-j",
                "-b",
                "-o",
                "desc",
                "-m",
                "calculate",
                "-O",
                "-z",
                "UTC",
            ],
            &[
                "monthly",
                "--json",
                "--breakdown",
                "--order",
                "desc",
                "--mode",
                "calculate",
                "-z",
                "UTC",
            ],
        ),
        (
            &["session", "-j", "-p", "/home/dev/app", "-z", "UTC"],
            &[
                "session",
                "--json",
                "--project",
                "/home/dev/app",
                "-z",
                "UTC",
            ],
        ),
        (
            &[
                "blocks", "-j", "-r", "-a", "-t", "max", "-n", "3", "-z", "UTC",
            ],
            &[
                "blocks",
                "--json",
                "--recent",
                "--active",
                "--token-limit",
                "max",
                "--session-length",
                "3",
                "-z",
                "UTC",
            ],
        ),
    ];
    for (short, long) in pairs {
        let mut short = short.to_vec();
        short.push("--no-ingest");
        let mut long = long.to_vec();
        long.push("--no-ingest");
        assert_eq!(json_of(&s, &short), json_of(&s, &long), "{short:?}");
    }
    // The project filter did filter: one project's sessions only.
    let sessions = json_of(&s, &["session", "-j", "-p", "/home/dev/app", "--no-ingest"]);
    assert!(
        sessions["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|row| row["projectPath"] == "-home-dev-app"),
        "{sessions}"
    );
    let out = s.cmd().arg("-v").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("cco-stats "));
}

#[test]
fn weeks_start_on_any_day() {
    let s = ingested();
    // The fixtures' days are Saturday 10, Sunday 11 and Monday 12 January 2026.
    let weeks = |day: &str| -> Vec<String> {
        let report = json_of(&s, &["weekly", "-j", "-z", "UTC", "--no-ingest", "-w", day]);
        report["weekly"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["week"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(weeks("friday"), ["2026-01-09"]);
    assert_eq!(weeks("monday"), ["2026-01-05", "2026-01-12"]);
    assert_eq!(weeks("sunday"), ["2026-01-04", "2026-01-11"]);
    assert_eq!(weeks("tuesday"), ["2026-01-06"]);
    assert_eq!(weeks("Monday"), weeks("monday"), "a day's name in any case");
    let out = s.cmd().args(["weekly", "-w", "someday"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// A transcript with one response `days_ago` days before now, for each of `days_ago`.
fn recent_transcript(s: &Scratch, days_ago: &[i64]) {
    let now = jiff::Timestamp::now();
    let lines: String = days_ago
        .iter()
        .map(|&d| {
            let at = now - jiff::SignedDuration::from_hours(24 * d);
            format!(
                r#"{{"type":"assistant","isSidechain":false,"cwd":"/home/dev/p","sessionId":"s","version":"2.1.18","timestamp":"{at}","requestId":"r{d}","message":{{"id":"m{d}","model":"claude-sonnet-4-5-20250929","usage":{{"input_tokens":10,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":{d}}}}}}}"#
            ) + "\n"
        })
        .collect();
    let dir = s.root.join("projects/-home-dev-p");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("s.jsonl"), lines).unwrap();
}

fn row_count(report: &Value, key: &str) -> usize {
    report[key].as_array().unwrap().len()
}

#[test]
fn last_n_counts_periods_back_from_today() {
    let s = Scratch::new();
    recent_transcript(&s, &[0, 1, 5, 70, 800]);
    s.once();
    let report = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["-j", "-z", "UTC", "--no-ingest"]);
        json_of(&s, &all)
    };
    assert_eq!(row_count(&report(&["daily", "--last", "1"]), "daily"), 1);
    assert_eq!(row_count(&report(&["daily", "--last", "2"]), "daily"), 2);
    // Empty days count: the last 5 days hold today and yesterday only.
    assert_eq!(row_count(&report(&["daily", "--last", "5"]), "daily"), 2);
    assert_eq!(row_count(&report(&["daily", "--last", "6"]), "daily"), 3);
    let monthly = report(&["monthly", "--last", "5"]);
    assert!(
        (2..=3).contains(&row_count(&monthly, "monthly")),
        "the 70-day-old response is in the last 5 months, the 800-day-old one not: {monthly}"
    );
    assert_eq!(
        row_count(&report(&["monthly", "--last", "40"]), "monthly"),
        row_count(&report(&["monthly"]), "monthly")
    );
    let weekly = report(&["weekly", "--last", "1", "-w", "wednesday"]);
    assert!((1..=2).contains(&row_count(&weekly, "weekly")), "{weekly}");
    // As in ccusage: at least one period, and not with --since or --until.
    for bad in [
        &["daily", "--last", "0"][..],
        &["daily", "--last", "2", "--since", "20260101"],
        &["monthly", "--last", "2", "-u", "20260101"],
    ] {
        let out = s.cmd().args(bad).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
    }
}

#[test]
fn compact_keeps_the_narrow_layout_at_any_width() {
    let s = ingested();
    let table = |args: &[&str]| {
        let out = s
            .cmd()
            .args(args)
            .args(["-z", "UTC", "--no-ingest"])
            .env("COLUMNS", "200")
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let wide = table(&["daily"]);
    assert!(wide.contains("Cache"), "{wide}");
    let compact = table(&["daily", "--compact"]);
    let header = compact.lines().next().unwrap();
    assert!(
        !header.contains("Cache") && header.contains("Input"),
        "{compact}"
    );
    assert!(
        compact.contains("260,476"),
        "the totals are all there: {compact}"
    );
    let blocks = table(&["blocks", "--compact"]);
    assert!(
        !blocks.lines().next().unwrap().contains("Models"),
        "{blocks}"
    );
}

/// Whether `daily`'s table on a pipe carries ANSI colour, with `env` set (NO_COLOR is
/// cleared first) and `flags` given.
fn colored(s: &Scratch, env: &[(&str, &str)], flags: &[&str]) -> bool {
    let mut cmd = s.cmd();
    cmd.env_remove("NO_COLOR").env_remove("FORCE_COLOR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
        .args(["daily", "--no-ingest", "-z", "UTC"])
        .args(flags)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    String::from_utf8_lossy(&out.stdout).contains("\x1b[")
}

#[test]
fn color_follows_the_flags_then_no_color_then_force_color() {
    let s = ingested();
    // A pipe: no colour unless asked.
    assert!(!colored(&s, &[], &[]));
    assert!(colored(&s, &[], &["--color"]));
    assert!(colored(&s, &[("FORCE_COLOR", "1")], &[]));
    assert!(!colored(&s, &[("FORCE_COLOR", "0")], &[]));
    assert!(!colored(
        &s,
        &[("FORCE_COLOR", "1"), ("NO_COLOR", "1")],
        &[]
    ));
    assert!(!colored(&s, &[("FORCE_COLOR", "1")], &["--no-color"]));
    // The command line over the environment, and its last word over its first.
    assert!(colored(&s, &[("NO_COLOR", "1")], &["--color"]));
    assert!(!colored(&s, &[], &["--color", "--no-color"]));
    // The status line colours on a pipe (Claude Code shows it) unless told not to.
    let line = |flags: &[&str]| {
        let out = s
            .cmd()
            .env_remove("NO_COLOR")
            .args(["statusline", "--format", "model"])
            .args(flags)
            .write_stdin(r#"{"model":{"id":"claude-opus-4-5","display_name":"Opus 4.5"}}"#)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).contains("\x1b[")
    };
    assert!(line(&[]));
    assert!(!line(&["--no-color"]));
}

#[test]
fn an_export_piped_into_import_dash_gives_the_same_report() {
    let a = ingested();
    let b = Scratch::new();
    let mut export = a
        .std_cmd()
        .arg("export")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let import = b
        .std_cmd()
        .args(["import", "-"])
        .stdin(export.stdout.take().unwrap())
        .output()
        .unwrap();
    assert!(export.wait().unwrap().success());
    assert!(import.status.success(), "{}", stderr(&import));
    let said = stderr(&import);
    assert!(said.contains("stdin: 10 rows: 10 added"), "{said}");
    let daily = |s: &Scratch| days(&s.daily(&["--timezone", "UTC"]));
    assert_eq!(daily(&b), daily(&a));
}

/// The `tsMs` of each row `export` writes with `args`.
fn exported(s: &Scratch, args: &[&str]) -> (Vec<i64>, String) {
    let out = s.cmd().arg("export").args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    let times = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| json(l.as_bytes())["tsMs"].as_i64().unwrap())
        .collect();
    (times, stderr(&out))
}

#[test]
fn export_since_and_until_are_days_and_the_cursor_moved_to_after() {
    let s = ingested();
    let (all, said) = exported(&s, &[]);
    assert_eq!(all.len(), 10);
    let cursor = said.rsplit("cursor ").next().unwrap().trim().to_string();
    // 2026-01-11 in UTC.
    let day = 1_768_089_600_000..1_768_176_000_000;
    let (one_day, _) = exported(
        &s,
        &["--since", "2026-01-11", "-u", "20260111", "-z", "UTC"],
    );
    assert!(
        !one_day.is_empty() && one_day.len() < all.len(),
        "{one_day:?}"
    );
    assert!(one_day.iter().all(|t| day.contains(t)), "{one_day:?}");
    assert_eq!(
        one_day.len(),
        all.iter().filter(|t| day.contains(t)).count()
    );
    let (from_day, _) = exported(&s, &["-s", "2026-01-11", "-z", "UTC"]);
    assert_eq!(
        from_day.len(),
        all.iter().filter(|&&t| t >= day.start).count()
    );
    // The cursor: nothing changed since it, and its old spelling still works, with a note.
    let (after, _) = exported(&s, &["--after", &cursor]);
    assert!(after.is_empty(), "{after:?}");
    let (old, note) = exported(&s, &["--since", &cursor]);
    assert!(old.is_empty(), "{old:?}");
    assert!(note.contains("--after"), "{note}");
    for bad in [
        &["--since", "yesterday"][..],
        &["--since", "2026-01-12", "--until", "2026-01-11"],
        &["--since", &cursor, "--after", &cursor],
    ] {
        let out = s.cmd().arg("export").args(bad).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", stderr(&out));
    }
}

/// Writes the default config file of `s` (under its XDG_CONFIG_HOME).
fn config(s: &Scratch, text: &str) -> std::path::PathBuf {
    let path = s.dir.path().join("config/cco-stats/config.toml");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_config_files_defaults_lie_under_the_command_line() {
    let s = ingested();
    let empty = s.dir.path().join("empty.toml");
    std::fs::write(&empty, "").unwrap();
    let without = |args: &[&str]| {
        let mut all = vec!["--config", empty.to_str().unwrap()];
        all.extend(args);
        all.push("--no-ingest");
        stdout(&s, &all)
    };
    let with = |args: &[&str]| {
        let mut all = args.to_vec();
        all.push("--no-ingest");
        stdout(&s, &all)
    };
    config(
        &s,
        r#"
# ccusage's shape: [defaults] for every command, [commands.NAME] over it.
[defaults]
timezone = "UTC"
json = true
start_of_week = "monday"   # only the commands that have it

[commands.daily]
breakdown = true
since = 2026-01-11         # a TOML date, or "20260111"

[commands.blocks]
session_length = 3
agent = ["claude"]
"#,
    );
    assert_eq!(
        with(&["daily"]),
        without(&["daily", "--json", "-z", "UTC", "-b", "--since", "20260111"])
    );
    assert_eq!(
        with(&["weekly"]),
        without(&["weekly", "--json", "-z", "UTC", "-w", "monday"])
    );
    assert_eq!(
        with(&["blocks"]),
        without(&[
            "blocks", "--json", "-z", "UTC", "-n", "3", "--agent", "claude"
        ])
    );
    // The command line wins: its own value, and an option that conflicts with the file's.
    assert_eq!(
        with(&[
            "daily",
            "--csv",
            "-z",
            "Asia/Kolkata",
            "--since",
            "20260110"
        ]),
        without(&[
            "daily",
            "--csv",
            "-z",
            "Asia/Kolkata",
            "-b",
            "--since",
            "20260110"
        ])
    );
    assert_eq!(
        with(&["daily", "--last", "3"]),
        without(&["daily", "--json", "-z", "UTC", "-b", "--last", "3"])
    );
    // --config names another file, which then is the one read.
    let other = s.dir.path().join("other.toml");
    std::fs::write(&other, "[commands.monthly]\nno_cost = true\n").unwrap();
    assert_eq!(
        with(&["--config", other.to_str().unwrap(), "monthly"]),
        without(&["monthly", "--no-cost"])
    );
    // An option and its `no-` twin are one setting: the command line's wins.
    std::fs::write(&other, "[defaults]\ncolor = true\n").unwrap();
    let colored = |args: &[&str]| {
        let mut all = vec!["--config", other.to_str().unwrap()];
        all.extend(args);
        with(&all).contains("\x1b[")
    };
    assert!(colored(&["daily"]));
    assert!(!colored(&["daily", "--no-color"]));
    // A default flag has no `no-` twin: --no-defaults sets the file's defaults aside.
    assert_eq!(with(&["daily", "--no-defaults"]), without(&["daily"]));
    assert_ne!(with(&["daily"]), without(&["daily"]));
    // ... and the file cannot set it.
    std::fs::write(&other, "[defaults]\nno_defaults = true\n").unwrap();
    let refused = s
        .cmd()
        .args(["--config", other.to_str().unwrap(), "daily", "--no-ingest"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains("\"no_defaults\" is not an option"),
        "{}",
        stderr(&refused)
    );
}

#[test]
fn a_bad_default_is_an_error_naming_the_file_and_line() {
    let s = ingested();
    for (text, says) in [
        (
            "[defaults]\ntimezone = \"UTC\"\ntimezon = \"UTC\"\n",
            "line 3: \"timezon\" is not an option",
        ),
        (
            "[commands.daily]\n\nactive = true\n",
            "line 3: \"active\" is not an option of `daily`",
        ),
        (
            "[commands.dayly]\njson = true\n",
            "[commands.dayly]: no such command",
        ),
        (
            "[commands.weekly]\nstart_of_week = \"someday\"\n",
            "line 2: [commands.weekly] start_of_week: invalid value 'someday'",
        ),
        ("[defaults]\nsince = \"last week\"\n", "line 2: since: "),
        (
            "[defaults]\nbreakdown = \"yes\"\n",
            "line 2: breakdown: --breakdown is a flag: true or false",
        ),
        (
            "[commands.watch]\nmetrics_allow_remote = true\n",
            "--metrics-listen",
        ),
    ] {
        let path = config(&s, text);
        // Whichever command runs: the file is wrong for all.
        let out = s.cmd().args(["monthly", "--no-ingest"]).output().unwrap();
        let said = stderr(&out);
        if says == "--metrics-listen" {
            // Each value is right alone; together on `watch`'s command line they are not.
            assert!(out.status.success(), "{said}");
            let out = s.cmd().arg("watch").output().unwrap();
            let said = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{said}");
            assert!(
                said.contains(&path.display().to_string()) && said.contains(says),
                "{said}"
            );
            continue;
        }
        assert_eq!(out.status.code(), Some(2), "{text}: {said}");
        assert!(
            said.contains(&format!("config file {}", path.display())),
            "{said}"
        );
        assert!(said.contains(says), "{text}: {said}");
    }
    // The status line says so in its line, and exits 0.
    config(&s, "[defaults]\ntimezone = true\n");
    let out = s
        .cmd()
        .arg("statusline")
        .write_stdin("{}")
        .output()
        .unwrap();
    assert!(out.status.success());
    let line = String::from_utf8_lossy(&out.stdout);
    assert!(
        line.starts_with("cco-stats: config file ") && line.contains("line 2"),
        "{line}"
    );
}

#[test]
fn instances_splits_the_days_by_project() {
    let s = ingested();
    let report = |args: &[&str]| {
        let mut all = vec!["daily", "-z", "UTC", "--no-ingest"];
        all.extend(args);
        stdout(&s, &all)
    };
    let whole = json(report(&["-j"]).as_bytes());
    let split = json(report(&["-j", "-i"]).as_bytes());
    let projects = split["projects"].as_object().unwrap();
    assert_eq!(
        projects.keys().collect::<Vec<_>>(),
        ["-home-dev-app", "-home-dev-other"]
    );
    assert_eq!(split["totals"], whole["totals"]);
    // Each day's tokens, summed over the projects, are the day's.
    let mut by_day = std::collections::BTreeMap::<String, u64>::new();
    for days in projects.values() {
        for day in days.as_array().unwrap() {
            *by_day
                .entry(day["date"].as_str().unwrap().into())
                .or_default() += day["totalTokens"].as_u64().unwrap();
        }
    }
    let days: std::collections::BTreeMap<String, u64> = whole["daily"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["date"].as_str().unwrap().into(),
                d["totalTokens"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(by_day, days);
    let one = json(report(&["-j", "-i", "-p", "-home-dev-other"]).as_bytes());
    assert_eq!(one["projects"].as_object().unwrap().len(), 1);
    let csv = report(&["-i", "--csv"]);
    assert!(csv.starts_with("project,date,models,"), "{csv}");
    assert!(csv.contains("\n-home-dev-other,2026-01-12,"), "{csv}");
    let table = report(&["-i"]);
    // Tables show a project by its path where the ledger knows it (JSON keeps the key).
    assert!(table.starts_with("/home/dev/app\n"), "{table}");
    assert!(table.contains("\n-home-dev-other\nDate "), "{table}");
    assert!(
        table.contains("260,476"),
        "the projects' totals close it: {table}"
    );
}
