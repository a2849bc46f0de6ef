//! The binary on the hand-made fixtures (`fixtures/claude`), whose totals were worked out
//! by hand: every duplicate rule and every kind of bad line is in there once.

mod common;

use common::{Scratch, days, stderr, sums};
use predicates::prelude::*;

/// UTC days of the fixture tree. 2026-01-11 has one line with invalid UTF-8 (skipped) and
/// a subagent response whose echo in the parent was smaller than its final copy (upgraded).
const FIXTURE_DAYS: [(&str, [u64; 4]); 3] = [
    ("2026-01-10", [120, 80, 1_000, 7_000]),
    ("2026-01-11", [1_017, 1_027, 0, 100]),
    ("2026-01-12", [21, 111, 0, 250_000]),
];

fn expect_days(actual: Vec<(String, [u64; 4])>, expected: &[(&str, [u64; 4])]) {
    let expected: Vec<(String, [u64; 4])> =
        expected.iter().map(|(d, s)| (d.to_string(), *s)).collect();
    assert_eq!(actual, expected);
}

#[test]
fn once_then_daily_gives_the_fixture_totals() {
    let s = Scratch::with_fixtures();
    let pass = s.once();
    assert_eq!(pass["files_seen"], 4);
    assert_eq!(pass["rows_added"], 10);
    assert_eq!(pass["lines_skipped"], 3);

    let daily = s.daily(&["--timezone", "UTC"]);
    expect_days(days(&daily), &FIXTURE_DAYS);
    assert_eq!(sums(&daily["totals"]), [1_158, 1_218, 1_000, 257_100]);
    assert_eq!(
        daily["totals"]["totalTokens"],
        1_158 + 1_218 + 1_000 + 257_100
    );
}

#[test]
fn status_reports_rows_and_where_lines_were_skipped() {
    let s = Scratch::with_fixtures();
    s.once();
    let status = s.status();
    assert_eq!(status["rows"], 10);
    assert_eq!(status["tracked_files"], 4);
    assert_eq!(status["lines_skipped"], 3);
    let first = &status["first_skipped"][0];
    assert!(first["file"].as_str().unwrap().ends_with("s1.jsonl"));
    assert_eq!(first["line"], 13);

    let text = s.cmd().arg("status").assert().success();
    let out = String::from_utf8_lossy(&text.get_output().stdout).into_owned();
    assert!(out.contains("ledger rows     10"), "{out}");
    assert!(
        out.contains("s1.jsonl:14: timestamp \"not-a-time\" does not parse"),
        "{out}"
    );
}

#[test]
fn a_second_pass_over_unchanged_files_reads_nothing() {
    let s = Scratch::with_fixtures();
    s.once();
    let again = s.once();
    assert_eq!(again["files_seen"], 4);
    assert_eq!(again["files_changed"], 0);
    assert_eq!(again["bytes_read"], 0);
    assert_eq!(again["rows_added"], 0);
    expect_days(days(&s.daily(&["--timezone", "UTC"])), &FIXTURE_DAYS);
}

#[test]
fn days_follow_the_time_zone() {
    let s = Scratch::with_fixtures();
    s.once();
    // Kolkata is UTC+5:30: the 23:59:59.9Z response of the 10th falls on the 11th.
    let kolkata = days(&s.daily(&["--timezone", "Asia/Kolkata"]));
    assert_eq!(
        kolkata[0],
        ("2026-01-10".to_string(), [100, 50, 1_000, 5_000])
    );
    // New York is UTC-5: the subagent's responses after midnight UTC fall on the 10th.
    let new_york = days(&s.daily(&["--timezone", "America/New_York"]));
    assert_eq!(
        new_york[0],
        ("2026-01-10".to_string(), [126, 95, 1_000, 7_100])
    );
    // Whatever the zone, nothing is lost.
    for report in [&kolkata, &new_york] {
        let input: u64 = report.iter().map(|(_, s)| s[0]).sum();
        assert_eq!(input, 1_158);
    }
}

#[test]
fn since_and_until_are_inclusive_in_both_spellings() {
    let s = Scratch::with_fixtures();
    s.once();
    let one = days(&s.daily(&[
        "--timezone",
        "UTC",
        "--since",
        "2026-01-11",
        "--until",
        "20260111",
    ]));
    expect_days(one, &FIXTURE_DAYS[1..2]);
    let from = days(&s.daily(&["--timezone", "UTC", "--since", "20260111"]));
    expect_days(from, &FIXTURE_DAYS[1..]);
    s.cmd()
        .args(["daily", "--since", "2026-13-01"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("is not a date"));
    s.cmd()
        .args(["daily", "--since", "2026-01-12", "--until", "2026-01-10"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("after --until"));
}

#[test]
fn a_report_ingests_first_unless_told_not_to() {
    let s = Scratch::with_fixtures();
    s.cmd()
        .args(["daily", "--no-ingest"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no database at"));
    let out = s
        .cmd()
        .args(["daily", "--json", "--timezone", "UTC"])
        .assert()
        .success();
    let daily = common::json(&out.get_output().stdout);
    expect_days(days(&daily), &FIXTURE_DAYS);
}

#[test]
fn a_replaced_file_is_read_again_without_double_counting() {
    let s = Scratch::with_fixtures();
    s.once();
    // Renamed over with the same bytes: a new inode, read again from 0. Its one response
    // without message.id cannot be deduplicated; it must not be counted twice either.
    let file = s.root.join("projects/-home-dev-app/s1.jsonl");
    let copy = s.dir.path().join("copy.jsonl");
    std::fs::copy(&file, &copy).unwrap();
    std::fs::rename(&copy, &file).unwrap();
    let pass = s.once();
    assert_eq!(pass["files_reset"], 1);
    assert_eq!(
        pass["rows_added"], 1,
        "the response without message.id, once more"
    );
    assert_eq!(s.status()["rows"], 10);
    expect_days(days(&s.daily(&["--timezone", "UTC"])), &FIXTURE_DAYS);
}

#[test]
fn deleted_transcripts_keep_their_history() {
    let s = Scratch::with_fixtures();
    s.once();
    std::fs::remove_dir_all(s.root.join("projects")).unwrap();
    let out = s
        .cmd()
        .args(["daily", "--json", "--timezone", "UTC"])
        .assert()
        .success();
    expect_days(days(&common::json(&out.get_output().stdout)), &FIXTURE_DAYS);
}

#[test]
fn the_table_has_a_totals_row_and_thousands_separators() {
    let s = Scratch::with_fixtures();
    s.once();
    let out = s
        .cmd()
        .args(["daily", "--no-ingest", "--timezone", "UTC"])
        .assert()
        .success();
    let table = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(table.contains("2026-01-12"), "{table}");
    let total = table.lines().last().unwrap();
    assert!(total.starts_with("Total"), "{table}");
    assert!(total.contains("257,100"), "{table}");
}

#[test]
fn an_unknown_model_keeps_its_tokens_and_is_named() {
    let s = Scratch::with_fixtures();
    s.once();
    let out = s
        .cmd()
        .args(["daily", "--json", "--no-ingest", "--timezone", "UTC"])
        .assert()
        .success();
    assert!(stderr(out.get_output()).contains("no price for claude-mystery-1"));
    let daily = common::json(&out.get_output().stdout);
    let last = &daily["daily"][2];
    let mystery = last["modelBreakdowns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["modelName"] == "claude-mystery-1")
        .unwrap();
    assert_eq!(mystery["inputTokens"], 10);
    assert!(mystery["cost"].is_null(), "never priced at zero: {mystery}");
    assert_eq!(daily["totals"]["unpricedModels"][0], "claude-mystery-1");
}

#[test]
fn a_database_that_cannot_be_opened_is_a_clear_failure() {
    let s = Scratch::with_fixtures();
    // A directory where the database file should be.
    std::fs::create_dir_all(&s.db).unwrap();
    s.cmd()
        .arg("once")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("stats.db"));
}

#[test]
fn another_programs_database_is_refused_and_left_untouched() {
    let s = Scratch::with_fixtures();
    let conn = rusqlite::Connection::open(&s.db).unwrap();
    conn.execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('mine');")
        .unwrap();
    drop(conn);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&s.db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let before = std::fs::read(&s.db).unwrap();
    s.cmd()
        .arg("once")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a cco-stats database"));
    assert_eq!(std::fs::read(&s.db).unwrap(), before);
    let mode = std::fs::metadata(&s.db).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644, "not even its permissions change");
}

#[test]
fn bad_transcripts_never_fail_the_run() {
    let s = Scratch::new();
    let project = s.root.join("projects/-p");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("junk.jsonl"),
        b"\xff\xfe\x00 not json \"usage\"\n{]\n",
    )
    .unwrap();
    std::fs::create_dir_all(project.join("folder.jsonl")).unwrap();
    let pass = s.once();
    assert_eq!(pass["lines_skipped"], 1);
    assert_eq!(pass["rows_added"], 0);
}

#[test]
fn the_database_is_private_to_the_user() {
    use std::os::unix::fs::PermissionsExt;
    let s = Scratch::with_fixtures();
    // The default place, under XDG_DATA_HOME.
    let mut cmd = assert_cmd::Command::new(common::BIN);
    cmd.env_remove("CCO_STATS_DB")
        .env_remove("CLAUDE_CONFIG_DIR")
        .env("HOME", s.dir.path())
        .env("XDG_DATA_HOME", s.dir.path().join("data"))
        .arg("--source")
        .arg(&s.root)
        .arg("once")
        .assert()
        .success();
    let db = s.dir.path().join("data/cco-stats/stats.db");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&db), 0o600);
    assert_eq!(mode(db.parent().unwrap()), 0o700);
}

#[test]
fn claude_config_dir_is_a_comma_list_and_projects_means_its_parent() {
    let s = Scratch::with_fixtures();
    let empty = s.dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let list = format!("{},{}/projects", empty.display(), s.root.display());
    let out = assert_cmd::Command::new(common::BIN)
        .env("CLAUDE_CONFIG_DIR", list)
        .env("CCO_STATS_DB", &s.db)
        .env("HOME", s.dir.path())
        .args(["once", "--json"])
        .assert()
        .success();
    let pass = common::json(&out.get_output().stdout);
    assert_eq!(pass["rows_added"], 10);
}

#[test]
fn completions_for_each_shell_name_the_commands() {
    let s = Scratch::new();
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef cco-stats"),
        ("fish", "complete -c cco-stats"),
    ] {
        let out = s.cmd().args(["completions", shell]).assert().success();
        let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
        assert!(text.contains(marker), "{shell}: {text}");
        assert!(
            text.contains("statusline") && text.contains("live"),
            "{shell}"
        );
    }
    s.cmd().args(["completions", "tcsh"]).assert().failure();
}

#[test]
fn man_pages_for_the_tool_and_each_command() {
    let s = Scratch::new();
    let dir = s.dir.path().join("man");
    s.cmd().arg("man").arg(&dir).assert().success();
    let main = std::fs::read_to_string(dir.join("cco-stats.1")).unwrap();
    assert!(
        main.starts_with(".ie") || main.contains(".TH cco-stats"),
        "{main}"
    );
    assert!(
        main.contains("statusline"),
        "the main page lists the commands"
    );
    let statusline = std::fs::read_to_string(dir.join("cco-stats-statusline.1")).unwrap();
    assert!(
        statusline.contains("cost\\-source") || statusline.contains("cost-source"),
        "{statusline}"
    );
    assert!(
        !dir.join("cco-stats-man.1").exists(),
        "the hidden command has no page"
    );
}

#[test]
fn no_progress_bar_on_a_pipe_and_nothing_at_all_with_quiet() {
    let s = Scratch::with_fixtures();
    let out = s.cmd().arg("once").assert().success();
    let err = stderr(out.get_output());
    assert_eq!(err.lines().count(), 1, "only the summary: {err}");
    // On a pipe the line is stamped with the time (`tests/watch.rs` checks the stamp).
    assert!(err.contains(" cco-stats: ") && !err.contains('\r'), "{err}");
    s.cmd()
        .args(["--quiet", "once"])
        .assert()
        .success()
        .stderr("");
}

/// A data root that is not there (a mistyped `--source`) is a folder of transcripts that
/// could not be read: cron must see it in the exit code, not only in a warning.
#[test]
fn once_on_a_missing_source_exits_1() {
    let s = Scratch::new();
    let missing = s.dir.path().join("nonexistent");
    let out = assert_cmd::Command::new(common::BIN)
        .env("HOME", s.dir.path())
        .arg("--db")
        .arg(&s.db)
        .arg("--source")
        .arg(&missing)
        .arg("once")
        .assert()
        .code(1);
    let err = stderr(out.get_output());
    assert!(err.contains("nonexistent/projects"), "{err}");
}

/// A transcript that is a broken link cannot be read: a warning names it, everything
/// else is committed, and the exit code is 1.
#[test]
fn a_broken_transcript_link_exits_1_after_committing_the_rest() {
    let s = Scratch::with_fixtures();
    let link = s.root.join("projects/-home-dev-app/gone.jsonl");
    std::os::unix::fs::symlink(s.dir.path().join("moved-away.jsonl"), &link).unwrap();
    let out = s.cmd().arg("once").assert().code(1);
    let err = stderr(out.get_output());
    assert!(
        err.contains("gone.jsonl") && err.contains("broken link"),
        "{err}"
    );
    let daily = s.daily(&["--timezone", "UTC"]);
    expect_days(days(&daily), &FIXTURE_DAYS);
}

/// `watch --poll --interval 0s` spun a core: an interval below the minimum is refused
/// by the parser, before anything runs.
#[test]
fn an_interval_below_the_minimum_is_refused() {
    let s = Scratch::new();
    for args in [
        &["watch", "--poll", "--interval", "0s"][..],
        &["watch", "--interval", "1ms"],
        &["watch", "--rescan", "0s"],
        &["live", "--interval", "0s"],
    ] {
        let out = s
            .cmd()
            .args(args)
            .timeout(std::time::Duration::from_secs(5))
            .assert()
            .code(2);
        let err = stderr(out.get_output());
        assert!(err.contains("below the minimum"), "{args:?}: {err}");
    }
}

/// Only the `statusline` subcommand answers on stdout with exit 0 whatever happens; the
/// word elsewhere on the command line (a project named so) changes nothing.
#[test]
fn statusline_as_an_argument_is_not_the_status_line() {
    let s = Scratch::with_fixtures();
    let out = s
        .cmd()
        .args(["daily", "--project", "statusline", "--no-such-flag"])
        .assert()
        .code(2);
    let out = out.get_output();
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(stderr(out).contains("--no-such-flag"), "{}", stderr(out));

    // Its warnings are shown, as any report's are.
    let nowhere = s.dir.path().join("nowhere");
    let out = s
        .cmd()
        .arg("--source")
        .arg(&nowhere)
        .args(["daily", "--project", "statusline"])
        .assert()
        .code(2);
    let err = stderr(out.get_output());
    assert!(err.contains("nowhere/projects"), "{err}");
    // (A project the ledger does not hold is named as such, not an empty report.)
    assert!(err.contains("no project matches \"statusline\""), "{err}");

    // The status line itself, with a flag it does not know: a line, exit 0.
    let out = s
        .cmd()
        .args(["statusline", "--no-such-flag"])
        .write_stdin("{}")
        .assert()
        .success();
    let line = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(line.starts_with("cco-stats: "), "{line}");
    assert!(out.get_output().stderr.is_empty());
}

/// The mistakes of a first hour, each said once and for what it is: a `--db` that names a
/// text file or a folder, a time zone that does not exist, an import file that is not an
/// export.
#[test]
fn a_wrong_db_zone_or_import_file_is_said_once_for_what_it_is() {
    let mut s = Scratch::with_fixtures();
    let (ledger, text) = (s.db.clone(), s.dir.path().join("notdb.txt"));
    std::fs::write(&text, "my notes\n").unwrap();
    s.db = text.clone();
    let out = s.cmd().arg("daily").assert().code(2);
    let err = stderr(out.get_output());
    assert!(err.contains("notdb.txt"), "{err}");
    assert!(err.contains("not a cco-stats ledger"), "{err}");
    assert!(err.contains("not a SQLite database"), "{err}");
    assert!(
        !err.contains("damaged"),
        "a wrong path is no lost data: {err}"
    );
    assert!(!err.contains("Error code"), "SQLite's text once: {err}");
    assert_eq!(std::fs::read_to_string(&text).unwrap(), "my notes\n");

    let out = s.cmd().arg("doctor").assert().code(1);
    let said = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        said.contains("PROBLEM") && said.contains("not a cco-stats ledger"),
        "{said}"
    );
    assert!(
        !said.contains("narrows"),
        "another file's mode is not ours: {said}"
    );
    assert!(
        !said.contains("damaged") && !said.contains("Error code"),
        "{said}"
    );

    let folder = s.dir.path().join("ledgers");
    std::fs::create_dir_all(&folder).unwrap();
    s.db = folder.clone();
    for command in ["once", "daily"] {
        let out = s.cmd().arg(command).assert().code(2);
        let err = stderr(out.get_output());
        assert!(
            err.contains(&format!("{} is a folder", folder.display())),
            "{err}"
        );
        assert!(!err.contains("check that its folder exists"), "{err}");
    }

    // A mistyped folder is not a new, empty ledger (which would look like history lost).
    s.db = s.dir.path().join("ledgrs/stats.db");
    for command in [&["once"][..], &["daily"], &["import", "-"]] {
        let out = s.cmd().args(command).assert().code(2);
        let err = stderr(out.get_output());
        assert!(err.contains("a typo?"), "{command:?}: {err}");
    }
    assert!(!s.dir.path().join("ledgrs").exists());

    s.db = ledger;
    let out = s
        .cmd()
        .args(["daily", "--timezone", "Mars/Olympus"])
        .assert()
        .code(2);
    let err = stderr(out.get_output());
    assert_eq!(err.matches("Mars/Olympus").count(), 1, "{err}");
    assert!(err.contains("timedatectl list-timezones"), "{err}");

    let bad = s.dir.path().join("rows.ndjson");
    std::fs::write(&bad, "\n{\"v\":1}\nnot json\n").unwrap();
    let out = s.cmd().arg("import").arg(&bad).assert().code(1);
    let err = stderr(out.get_output());
    assert!(
        err.contains("rows.ndjson:2: not an export row: missing field"),
        "{err}"
    );
    assert!(err.contains("rows.ndjson:3: not an export row"), "{err}");
    assert!(
        !err.contains("line 1"),
        "the file's line, not serde's: {err}"
    );
}
