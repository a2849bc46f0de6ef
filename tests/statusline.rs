//! `cco-stats statusline` through the real binary: its figures against the reports on the
//! same ledger, freshness after an append, and every kind of bad input (it must print one
//! non-empty line on stdout, nothing on stderr, and exit 0 whatever happens).

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::Scratch;
use serde_json::Value;

const SESSION: &str = "live-session";
const PROJECT: &str = "-home-dev-app";

/// An assistant response as Claude Code writes it.
fn response(ts_ms: i64, id: &str, model: &str, input: u64, output: u64, cache_read: u64) -> String {
    let ts = jiff::Timestamp::from_millisecond(ts_ms).unwrap();
    let ts = ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ");
    format!(
        r#"{{"type":"assistant","sessionId":"{SESSION}","cwd":"/home/dev/app","version":"2.1.30","timestamp":"{ts}","requestId":"req_{id}","message":{{"id":"msg_{id}","type":"message","role":"assistant","model":"{model}","content":[{{"type":"text","text":"ok"}}],"usage":{{"input_tokens":{input},"cache_creation_input_tokens":0,"cache_read_input_tokens":{cache_read},"output_tokens":{output}}}}}}}"#
    ) + "\n"
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

fn append(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

/// The fixtures plus a session active in the last minutes (with a subagent), ingested.
fn live_scratch() -> (Scratch, PathBuf) {
    let s = Scratch::with_fixtures();
    let transcript = s
        .root
        .join("projects")
        .join(PROJECT)
        .join(format!("{SESSION}.jsonl"));
    let now = now_ms();
    append(
        &transcript,
        &response(
            now - 40 * 60_000,
            "a1",
            "claude-sonnet-4-5",
            300,
            2_000,
            40_000,
        ),
    );
    append(
        &transcript,
        &response(
            now - 20 * 60_000,
            "a2",
            "claude-opus-4-5",
            100,
            1_000,
            60_000,
        ),
    );
    let subagent = s
        .root
        .join("projects")
        .join(PROJECT)
        .join(SESSION)
        .join("subagents/agent-x.jsonl");
    append(
        &subagent,
        &response(now - 10 * 60_000, "b1", "claude-haiku-4-5", 50, 500, 1_000),
    );
    s.once();
    (s, transcript)
}

fn stdin_json(transcript: &Path) -> String {
    serde_json::json!({
        "session_id": SESSION,
        "transcript_path": transcript,
        "model": {"id": "claude-opus-4-5", "display_name": "Opus 4.5"},
        "cost": {"total_cost_usd": 1.23},
    })
    .to_string()
}

/// Runs the status line; checks the contract every call must keep; returns its line.
fn statusline(s: &Scratch, stdin: &str, args: &[&str]) -> String {
    let out = s
        .cmd()
        .arg("statusline")
        .args(args)
        .write_stdin(stdin.to_string())
        .timeout(Duration::from_secs(20))
        .assert()
        .success();
    let out = out.get_output();
    assert!(out.stderr.is_empty(), "stderr: {}", common::stderr(out));
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(text.ends_with('\n'), "{text:?}");
    let line = text.trim_end_matches('\n');
    assert!(
        !line.trim().is_empty(),
        "an empty line blanks Claude Code's status line"
    );
    assert!(!line.contains('\n'), "one line: {text:?}");
    line.to_string()
}

fn dollars(v: &Value) -> String {
    format!("${:.2}", v.as_f64().unwrap())
}

/// The `$x.xx` before `label` in the line.
fn figure<'a>(line: &'a str, label: &str) -> &'a str {
    line.split(" · ")
        .find_map(|part| part.strip_suffix(label))
        .or_else(|| {
            line.split(" · ")
                .find(|p| p.contains(label))
                .and_then(|p| p.split(' ').next())
        })
        .unwrap_or_else(|| panic!("no {label:?} in {line:?}"))
}

/// What `session`, `daily` and `blocks --active` say of the session, today and the block.
fn reported(s: &Scratch, session: &str) -> (String, String, Option<String>) {
    let sessions = s.report(&["session"]);
    let session = sessions["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["sessionId"] == session)
        .map_or("$0.00".to_string(), |r| dollars(&r["totalCost"]));
    let today = jiff::Timestamp::now().strftime("%Y-%m-%d").to_string();
    let daily = s.report(&["daily", "--since", &today, "--until", &today]);
    let today = dollars(&daily["totals"]["totalCost"]);
    let blocks = s.report(&["blocks", "--active"]);
    let block = blocks["blocks"]
        .as_array()
        .unwrap()
        .first()
        .map(|b| dollars(&b["costUSD"]));
    (session, today, block)
}

fn assert_same_figures(s: &Scratch, line: &str, session: &str) {
    let (session, today, block) = reported(s, session);
    assert_eq!(figure(line, " session"), session, "{line}");
    assert_eq!(figure(line, " today"), today, "{line}");
    match block {
        Some(block) => assert_eq!(figure(line, " block"), block, "{line}"),
        None => assert!(line.contains("no active block"), "{line}"),
    }
}

const FIGURES: &[&str] = &[
    "--no-color",
    "--timezone",
    "UTC",
    "--format",
    "session,today,block,burn",
];

#[test]
fn figures_equal_the_reports_and_follow_an_append() {
    let (s, transcript) = live_scratch();
    let before = statusline(&s, &stdin_json(&transcript), FIGURES);
    assert_same_figures(&s, &before, SESSION);
    assert!(!before.contains("no active block"), "{before}");
    assert!(before.contains("/h"), "a burn rate: {before}");

    // A new response in the session's own transcript shows at the next call, without a
    // full pass: the status line read it itself.
    append(
        &transcript,
        &response(now_ms() - 60_000, "a3", "claude-opus-4-5", 5_000, 20_000, 0),
    );
    let after = statusline(&s, &stdin_json(&transcript), FIGURES);
    assert_ne!(figure(&after, " session"), figure(&before, " session"));
    assert_same_figures(&s, &after, SESSION);
}

#[test]
fn subagent_files_beside_the_transcript_are_read_too() {
    let (s, transcript) = live_scratch();
    let subagent = transcript
        .with_extension("")
        .join("subagents/agent-y.jsonl");
    append(
        &subagent,
        &response(now_ms() - 30_000, "c1", "claude-opus-4-5", 1_000, 30_000, 0),
    );
    let line = statusline(&s, &stdin_json(&transcript), FIGURES);
    assert_same_figures(&s, &line, SESSION);
    let sessions = s.report(&["session"]);
    let row = sessions["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["sessionId"] == SESSION)
        .unwrap()
        .clone();
    assert!(row["outputTokens"].as_u64().unwrap() >= 33_500, "{row}");
}

#[test]
fn other_sessions_wait_for_a_full_pass_and_the_line_says_how_old_they_are() {
    let (s, transcript) = live_scratch();
    let other = s.root.join("projects/-home-dev-other/elsewhere.jsonl");
    append(
        &other,
        &response(now_ms() - 60_000, "o1", "claude-opus-4-5", 1_000, 9_000, 0),
    );
    let line = statusline(&s, &stdin_json(&transcript), FIGURES);
    assert!(!line.contains("others"), "a pass just ran: {line}");
    let today_before = figure(&line, " today").to_string();

    // No full pass for an hour: the line says so.
    let conn = rusqlite::Connection::open(&s.db).unwrap();
    let hour_ago = now_ms() - 3_600_000;
    conn.execute(
        "UPDATE meta SET value = ?1 WHERE key = 'last_full_pass_ms'",
        [hour_ago.to_string()],
    )
    .unwrap();
    let stale = statusline(&s, &stdin_json(&transcript), FIGURES);
    assert!(stale.contains("others as of 1h 0m ago"), "{stale}");
    assert_eq!(
        figure(&stale, " today"),
        today_before,
        "the other file is not read"
    );

    s.once();
    let fresh = statusline(&s, &stdin_json(&transcript), FIGURES);
    assert!(!fresh.contains("others"), "{fresh}");
    assert_ne!(figure(&fresh, " today"), today_before);
    assert_same_figures(&s, &fresh, SESSION);

    // A ledger no full pass ever read says that too.
    let new = Scratch::with_fixtures();
    let transcript = new.root.join("projects").join(PROJECT).join("s1.jsonl");
    let line = statusline(&new, &stdin_json(&transcript), FIGURES);
    assert!(
        line.contains("others unread: run cco-stats watch"),
        "{line}"
    );
}

#[test]
fn a_writer_holding_the_lock_does_not_make_it_wait() {
    let (s, transcript) = live_scratch();
    let before = statusline(&s, &stdin_json(&transcript), FIGURES);
    append(
        &transcript,
        &response(now_ms() - 30_000, "a9", "claude-opus-4-5", 9_000, 90_000, 0),
    );
    // Another process in the middle of a long write: the call answers from what is
    // committed instead of waiting out SQLite's busy timeout (the harness would kill it).
    let mut conn = rusqlite::Connection::open(&s.db).unwrap();
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .unwrap();
    let during = statusline(&s, &stdin_json(&transcript), FIGURES);
    assert_eq!(figure(&during, " session"), figure(&before, " session"));
    tx.rollback().unwrap();
    let after = statusline(&s, &stdin_json(&transcript), FIGURES);
    assert_ne!(figure(&after, " session"), figure(&before, " session"));
    assert_same_figures(&s, &after, SESSION);
}

#[test]
fn one_call_ingests_at_a_time() {
    let (s, transcript) = live_scratch();
    let before = statusline(&s, &stdin_json(&transcript), FIGURES);
    append(
        &transcript,
        &response(now_ms() - 30_000, "a8", "claude-opus-4-5", 9_000, 90_000, 0),
    );
    // Another status line call is ingesting (it holds the lock file): this one answers
    // from the ledger as committed.
    let mut lock = s.db.as_os_str().to_os_string();
    lock.push("-statusline.lock");
    let held = std::fs::File::create(PathBuf::from(lock)).unwrap();
    rustix::fs::flock(&held, rustix::fs::FlockOperation::NonBlockingLockExclusive).unwrap();
    let during = statusline(&s, &stdin_json(&transcript), FIGURES);
    assert_eq!(figure(&during, " session"), figure(&before, " session"));
    drop(held);
    let after = statusline(&s, &stdin_json(&transcript), FIGURES);
    assert_ne!(figure(&after, " session"), figure(&before, " session"));
}

#[test]
fn context_rate_limits_and_cost_sources() {
    let (s, transcript) = live_scratch();
    let input = serde_json::json!({
        "session_id": SESSION,
        "transcript_path": transcript,
        "model": {"display_name": "Opus 4.5"},
        "cost": {"total_cost_usd": 1.23},
        "context_window": {"context_window_size": 200000, "used_percentage": 41.4},
        "rate_limits": {"five_hour": {"used_percentage": 37.2, "resets_at": 1767225600}},
    })
    .to_string();
    let line = statusline(&s, &input, &["--no-color", "--timezone", "UTC"]);
    assert!(line.starts_with("Opus 4.5 · "), "{line}");
    assert!(line.contains("ctx 41%"), "{line}");
    assert!(line.contains("5h 37%, resets 00:00"), "{line}");
    let claude = statusline(
        &s,
        &input,
        &[
            "--no-color",
            "--cost-source",
            "claude",
            "--format",
            "session",
        ],
    );
    assert_eq!(claude, "$1.23 session");
    let both = statusline(
        &s,
        &input,
        &["--no-color", "--cost-source", "both", "--format", "session"],
    );
    assert!(both.ends_with(" session ($1.23 Claude Code)"), "{both}");

    // No context_window (before the first response, after /compact): from the
    // transcript's last response, 60,100 tokens of 200,000.
    let line = statusline(
        &s,
        &stdin_json(&transcript),
        &["--no-color", "--format", "context"],
    );
    assert_eq!(line, "ctx 30%");
}

#[test]
fn colour_unless_no_color() {
    let (s, transcript) = live_scratch();
    let mut cmd = s.cmd();
    cmd.env_remove("NO_COLOR");
    let out = cmd
        .args(["statusline", "--format", "model"])
        .write_stdin(stdin_json(&transcript))
        .assert()
        .success();
    assert_eq!(
        String::from_utf8_lossy(&out.get_output().stdout),
        "\x1b[1mOpus 4.5\x1b[0m\n"
    );
    assert_eq!(
        statusline(&s, &stdin_json(&transcript), &["--format", "model"]),
        "Opus 4.5"
    );
}

#[test]
fn bad_input_gives_a_degraded_line() {
    let (s, transcript) = live_scratch();
    let today_only = ["--no-color", "--format", "today,block"];
    let full = statusline(&s, &stdin_json(&transcript), &today_only);

    for (stdin, says) in [
        ("", "cco-stats: no input on stdin"),
        ("{{{ not json", "cco-stats: stdin is not JSON"),
        ("[1, 2]", "cco-stats: stdin is not a JSON object"),
    ] {
        let line = statusline(&s, stdin, &today_only);
        assert!(line.starts_with(says), "{stdin:?}: {line}");
        assert!(
            line.ends_with(&full),
            "the ledger's figures still show: {line}"
        );
    }

    // Nulls and wrong types everywhere: the fields are missing, the rest shows.
    let nulls = r#"{"session_id":null,"transcript_path":null,"model":null,"cost":{"total_cost_usd":"x"},
                    "context_window":null,"rate_limits":{"five_hour":null}}"#;
    let line = statusline(&s, nulls, &["--no-color"]);
    assert!(line.contains("$0.00 session"), "{line}");
    assert!(line.contains(&full), "{line}");

    // A transcript that is not there (yet).
    let missing = serde_json::json!({"session_id": "gone", "transcript_path": s.root.join("projects/x/gone.jsonl")});
    let line = statusline(&s, &missing.to_string(), &["--no-color"]);
    assert!(line.contains("⚠ transcript not found"), "{line}");
    assert!(line.contains(&full), "{line}");

    // A transcript outside the data roots is not read (a full pass never would).
    let outside = s.dir.path().join("elsewhere/projects/p/x.jsonl");
    append(
        &outside,
        &response(now_ms(), "z1", "claude-opus-4-5", 1, 1, 0),
    );
    let input = serde_json::json!({"session_id": "x", "transcript_path": outside});
    let line = statusline(&s, &input.to_string(), &["--no-color"]);
    assert!(line.contains("transcript outside the data roots"), "{line}");

    // A flag Claude Code's settings got wrong: still one line, exit 0.
    let line = statusline(&s, &stdin_json(&transcript), &["--format", "model,bogus"]);
    assert!(
        line.starts_with("cco-stats: invalid value 'model,bogus'")
            || line.starts_with("cco-stats: invalid value 'bogus'"),
        "{line}"
    );
    let line = statusline(
        &s,
        &stdin_json(&transcript),
        &["--timezone", "Mars/Olympus"],
    );
    assert!(line.starts_with("cco-stats: "), "{line}");
}

#[test]
fn a_ledger_that_cannot_be_opened_is_a_line_too() {
    let s = Scratch::with_fixtures();
    std::fs::write(&s.db, b"this is not a database, and long enough to have a header....................................................").unwrap();
    let line = statusline(&s, "{}", &["--no-color"]);
    assert!(line.starts_with("cco-stats: "), "{line}");
}

/// `../shared/real`: real transcripts (see its README), wherever this checkout sits.
fn real_tree() -> Option<PathBuf> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let found = ["../shared/real/spotter", "../../shared/real/spotter"]
        .iter()
        .map(|p| here.join(p))
        .find(|p| p.join("projects").is_dir());
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "../shared/real is missing: CI must have it beside the checkout"
        );
        eprintln!("skipped: no ../shared/real beside this checkout");
    }
    found
}

#[test]
fn real_sessions_match_the_session_report() {
    let Some(real) = real_tree() else { return };
    let s = Scratch::new();
    common::copy_tree(&real, &s.root);
    s.once();
    let projects = s.root.join("projects/-home-marco-projects-spotter");
    let mut checked = 0;
    for entry in std::fs::read_dir(&projects).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "jsonl") {
            continue;
        }
        let id = path.file_stem().unwrap().to_string_lossy().into_owned();
        let input = serde_json::json!({"session_id": id, "transcript_path": path});
        let line = statusline(&s, &input.to_string(), FIGURES);
        assert_same_figures(&s, &line, &id);
        checked += 1;
    }
    assert!(
        checked >= 6,
        "the six long sessions of the real tree, and more: {checked}"
    );
}

/// Runs the status line with `stdin` written to a pipe that stays open (as Claude Code
/// may leave it) unless `close`; returns how long it took and its line, or fails the
/// test after `limit` (the process is killed).
fn statusline_within(
    s: &Scratch,
    stdin: &str,
    close: bool,
    args: &[&str],
    limit: Duration,
) -> (Duration, String) {
    use std::process::Stdio;
    let started = std::time::Instant::now();
    let mut child = s
        .std_cmd()
        .arg("statusline")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    pipe.write_all(stdin.as_bytes()).unwrap();
    let _open = (!close).then_some(pipe);
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("statusline still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let took = started.elapsed();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(out.stderr.is_empty(), "stderr: {}", common::stderr(&out));
    let line = String::from_utf8(out.stdout).unwrap();
    assert!(!line.trim().is_empty());
    (took, line.trim_end().to_string())
}

/// Claude Code may keep stdin open after its JSON: the line is printed at the JSON's end,
/// and a stdin that never sends one is given up on quickly.
#[test]
fn stdin_held_open_does_not_hold_the_line() {
    let (s, transcript) = live_scratch();
    let limit = Duration::from_secs(3);
    let (took, line) = statusline_within(
        &s,
        &stdin_json(&transcript),
        false,
        &["--format", "model"],
        limit,
    );
    assert_eq!(line, "Opus 4.5");
    assert!(took < Duration::from_secs(1), "{took:?}");

    let (took, line) = statusline_within(&s, "", false, &["--no-color"], limit);
    assert!(line.starts_with("cco-stats: "), "{line}");
    assert!(took < Duration::from_secs(2), "{took:?}");
}

/// A transcript path that is a FIFO (inside the roots or out) is never opened: opening
/// one waits for a writer forever.
#[test]
fn a_fifo_transcript_is_not_opened() {
    let (s, _) = live_scratch();
    let inside = s.root.join("projects").join(PROJECT).join("fifo.jsonl");
    let outside = s.dir.path().join("fifo.jsonl");
    for fifo in [&inside, &outside] {
        let made = std::process::Command::new("mkfifo")
            .arg(fifo)
            .status()
            .unwrap();
        assert!(made.success());
        // No model and no context: the transcript is where they would be looked up.
        let input = serde_json::json!({"session_id": "fifo", "transcript_path": fifo});
        let (took, line) = statusline_within(
            &s,
            &input.to_string(),
            true,
            &["--no-color"],
            Duration::from_secs(3),
        );
        assert!(line.contains("today"), "{}: {line}", fifo.display());
        assert!(took < Duration::from_secs(1), "{took:?}");
    }
}
