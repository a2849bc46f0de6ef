//! Data never reaches the terminal as control codes (issue 17): a model id, a project
//! folder, a transcript's file name, a `cwd`, a session id, an imported host name and
//! Claude Code's stdin, laden with ESC sequences (a window title, a screen clear, an OSC 52
//! clipboard write), a C1 code and a bidi override, are shown as `\u{…}` in every table,
//! CSV, warning, `status`, `doctor`, `hosts`, `prices`, status line and `live`, while
//! `--json` keeps each string exactly. And `status` tells a `watch` that has exited from
//! one that runs.

mod common;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use cco_stats::command::live::{Source, report_options};
use cco_stats::ledger::Store;
use cco_stats::render;
use cco_stats::report::pricing::PriceTable;
use common::{Scratch, json};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// OSC 52: writes "pwned" to the clipboard of the terminal that prints it.
const MODEL: &str = "claude-\x1b]52;c;cHduZWQ=\x07x";
/// Retitles the window, then clears the screen.
const PROJECT: &str = "-home-u-\x1b]0;pwned\x07\x1b[2Japp";
/// A bidi override: what follows is drawn right to left.
const BIDI_MODEL: &str = "claude-\u{202e}5-tennos";
/// The session is named by its transcript's file: an 8-bit CSI (C1), ESC, DEL.
const SESSION: &str = "s\u{9b}31m\x1b[2J\u{7f}1";
/// The damaged line of the laden transcript, as `status` and `doctor` name it.
const FILE_SHOWN: &str = "s\\u{9b}31m\\u{1b}[2J\\u{7f}1.jsonl:2:";
const CWD: &str = "/home/u/\x1b]0;cwd\x07";
const HOST: &str = "lap\x1b]0;host\x07\u{2066}top";

/// What no terminal should be handed from data: controls other than the line ends our
/// own output uses, and the bidi embeddings, overrides and isolates.
fn obeyed(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\r')
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn assert_shown(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let raw: Vec<char> = text.chars().filter(|&c| obeyed(c)).collect();
    assert!(
        raw.is_empty(),
        "{what}: {raw:?} reached the terminal in {text:?}"
    );
}

/// Both streams carry nothing a terminal obeys, and stdout shows `shown`.
fn assert_output(what: &str, out: &Output, shown: &str) {
    assert_shown(&format!("{what} (stdout)"), &out.stdout);
    assert_shown(&format!("{what} (stderr)"), &out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(shown), "{what}: no {shown:?} in {stdout}");
}

fn now_iso(ago_s: i64) -> String {
    let at = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(ago_s);
    at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// A response as Claude Code writes it, as a JSON line (serde escapes the codes, as
/// Claude Code does).
fn response(id: &str, model: &str, ago_s: i64) -> String {
    let line = serde_json::json!({
        "type": "assistant",
        "sessionId": SESSION,
        "cwd": CWD,
        "version": "2.1.30",
        "timestamp": now_iso(ago_s),
        "requestId": format!("req_{id}"),
        "message": {
            "id": format!("msg_{id}"),
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": "ok"}],
            "usage": {"input_tokens": 10, "cache_creation_input_tokens": 0,
                      "cache_read_input_tokens": 0, "output_tokens": 20}
        }
    });
    format!("{line}\n")
}

/// A ledger of two responses by the laden models, in a laden project folder and file, with
/// one damaged line (a skipped line names its file) and a broken link named with ESC
/// (a walk warning names it); the transcript's path.
fn laden(s: &Scratch) -> PathBuf {
    let folder = s.root.join("projects").join(PROJECT);
    fs::create_dir_all(&folder).unwrap();
    let path = folder.join(format!("{SESSION}.jsonl"));
    let damaged = "{\"message\":{\"usage\":{\n";
    let text = response("1", MODEL, 120) + damaged + &response("2", BIDI_MODEL, 60);
    fs::write(&path, text).unwrap();
    std::os::unix::fs::symlink("/nowhere", folder.join("gone\x1b[2J.jsonl")).unwrap();
    // A broken link is a transcript that could not be read: exit 1, the rest committed.
    s.cmd().arg("once").assert().code(1);
    path
}

#[test]
fn ingest_warnings_show_file_names() {
    let s = Scratch::new();
    laden(&s);
    // The link is new to the ledger, not the warning: every walk names it again.
    let out = s.cmd().arg("once").output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "the broken link could not be read"
    );
    assert_shown("once", &out.stderr);
    let err = common::stderr(&out);
    assert!(err.contains("gone\\u{1b}[2J.jsonl: broken link"), "{err}");
}

fn run(s: &Scratch, args: &[&str]) -> Output {
    s.cmd()
        .args(args)
        .args(["--no-ingest", "--timezone", "UTC"])
        .output()
        .unwrap()
}

#[test]
fn reports_and_csv_show_the_codes_and_json_keeps_them() {
    let s = Scratch::new();
    laden(&s);
    for view in [
        "daily", "monthly", "session", "projects", "models", "blocks",
    ] {
        for format in [
            &[][..],
            &["--csv"],
            &["--breakdown"],
            &["--csv", "--breakdown"],
        ] {
            let args: Vec<&str> = [view].iter().chain(format).copied().collect();
            let out = run(&s, &args);
            assert!(out.status.success(), "{args:?}: {}", common::stderr(&out));
            assert_output(&format!("{args:?}"), &out, "\\u{");
            // Every report names the model without a price, on stderr.
            let err = common::stderr(&out);
            assert!(err.contains("]52;c;cHduZWQ="), "{args:?}: {err}");
        }
    }
    let models = run(&s, &["models", "--csv"]);
    let text = String::from_utf8_lossy(&models.stdout);
    assert!(
        text.contains("claude-\\u{1b}]52;c;cHduZWQ=\\u{7}x"),
        "{text}"
    );
    assert!(text.contains("claude-\\u{202e}5-tennos"), "{text}");
    // A narrow table measures and cuts the text it shows.
    let narrow = s
        .cmd()
        .args(["projects", "--no-ingest"])
        .env("COLUMNS", "60")
        .output()
        .unwrap();
    assert_shown("narrow projects", &narrow.stdout);
    let lines = String::from_utf8_lossy(&narrow.stdout).into_owned();
    assert!(lines.lines().all(|l| l.chars().count() <= 60), "{lines}");

    let models = json(&run(&s, &["models", "--json"]).stdout);
    let names: Vec<&str> = models["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["model"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&MODEL) && names.contains(&BIDI_MODEL),
        "{names:?}"
    );
    let sessions = json(&run(&s, &["session", "--json"]).stdout);
    let session = &sessions["sessions"][0];
    assert_eq!(session["projectPath"], PROJECT, "{session}");
    assert_eq!(session["sessionId"], SESSION, "{session}");
    let projects = json(&run(&s, &["projects", "--json"]).stdout);
    assert_eq!(projects["projects"][0]["project"], PROJECT);
}

#[test]
fn status_and_doctor_show_paths_hosts_and_models() {
    let s = Scratch::new();
    s.cmd()
        .args(["--host-name", HOST, "status"])
        .assert()
        .success();
    laden(&s);
    let status = s.cmd().arg("status").output().unwrap();
    assert_output("status", &status, FILE_SHOWN);
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(
        text.contains("lap\\u{1b}]0;host\\u{7}\\u{2066}top"),
        "{text}"
    );

    let exact = s.status();
    assert_eq!(exact["host"]["name"], HOST);
    let skipped = exact["first_skipped"][0]["file"].as_str().unwrap();
    assert!(
        skipped.ends_with(&format!("{PROJECT}/{SESSION}.jsonl")),
        "{skipped}"
    );

    let doctor = s.cmd().arg("doctor").output().unwrap();
    assert_output("doctor", &doctor, "claude-\\u{1b}]52;c;cHduZWQ=\\u{7}x");
    let text = String::from_utf8_lossy(&doctor.stdout);
    assert!(text.contains(FILE_SHOWN), "{text}");
    assert!(text.contains("gone\\u{1b}[2J.jsonl"), "{text}");
}

#[test]
fn imported_host_names_are_shown_in_hosts_and_in_errors() {
    let a = Scratch::new();
    a.cmd()
        .args(["--host-name", HOST, "status"])
        .assert()
        .success();
    laden(&a);
    let export = a.dir.path().join("a.ndjson");
    a.cmd()
        .args(["export", "-o"])
        .arg(&export)
        .assert()
        .success();
    let b = Scratch::new();
    let imported = b.cmd().arg("import").arg(&export).output().unwrap();
    assert!(imported.status.success(), "{}", common::stderr(&imported));
    assert_shown("import", &imported.stderr);

    let shown = "lap\\u{1b}]0;host\\u{7}\\u{2066}top";
    for format in [&[][..], &["--csv"]] {
        let args: Vec<&str> = ["hosts"].iter().chain(format).copied().collect();
        assert_output(&format!("{args:?}"), &run(&b, &args), shown);
    }
    let hosts = json(&run(&b, &["hosts", "--json"]).stdout);
    let names: Vec<&str> = hosts["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["host"].as_str().unwrap())
        .collect();
    assert!(names.contains(&HOST), "{names:?}");

    // A host that is not there: the error lists the known ones.
    let missing = run(&b, &["daily", "--host", "nosuch"]);
    assert_eq!(missing.status.code(), Some(2));
    assert_shown("--host nosuch", &missing.stderr);
    assert!(
        common::stderr(&missing).contains(shown),
        "{}",
        common::stderr(&missing)
    );

    // A damaged export row is named with its file's name.
    let damaged = b.dir.path().join("bad\x1b]0;t\x07.ndjson");
    fs::write(&damaged, "{not json\n").unwrap();
    let out = b.cmd().arg("import").arg(&damaged).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_shown("import of a damaged file", &out.stderr);
    assert!(common::stderr(&out).contains("bad\\u{1b}]0;t\\u{7}.ndjson:1:"));
}

#[test]
fn the_status_line_shows_what_claude_code_sends() {
    let s = Scratch::new();
    let transcript = laden(&s);
    let input = serde_json::json!({
        "session_id": SESSION,
        "transcript_path": transcript,
        "model": {"id": MODEL, "display_name": "Opus\x1b]52;c;cHduZWQ=\x07 \u{202e}5"},
        "cost": {"total_cost_usd": 0.5}
    });
    let mut child = s
        .std_cmd()
        .args(["statusline", "--no-color"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_output(
        "statusline",
        &out,
        "Opus\\u{1b}]52;c;cHduZWQ=\\u{7} \\u{202e}5",
    );
}

#[test]
fn the_price_table_shows_family_names_from_the_price_file() {
    let s = Scratch::new();
    let file = s.dir.path().join("prices.toml");
    fs::write(
        &file,
        "[models.\"claude-\\u001b]0;evil\\u0007-1\"]\ninput = 1\noutput = 2\ncache_write_5m = 1.25\ncache_write_1h = 2\ncache_read = 0.1\n",
    )
    .unwrap();
    let out = s
        .cmd()
        .arg("--prices")
        .arg(&file)
        .arg("prices")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert_output("prices", &out, "claude-\\u{1b}]0;evil\\u{7}-1");
    let exact = json(
        &s.cmd()
            .arg("--prices")
            .arg(&file)
            .args(["prices", "--json"])
            .output()
            .unwrap()
            .stdout,
    );
    common::price_family(&exact, "claude-\x1b]0;evil\x07-1");
}

#[test]
fn live_shows_the_codes_through_the_same_rule() {
    let s = Scratch::new();
    laden(&s);
    let store = Store::open_read_only(&s.db).unwrap();
    let options = report_options(Some("UTC".to_string()));
    let mut source =
        Source::new(store, PriceTable::builtin(), options, None, "UTC".into()).unwrap();
    let now_ms = jiff::Timestamp::now().as_millisecond();
    let live = source.live(now_ms, Some("pass \x1b[2J".into())).unwrap();
    let mut terminal = Terminal::new(TestBackend::new(200, 40)).unwrap();
    terminal
        .draw(|frame| render::live::draw(frame, &live, false))
        .unwrap();
    let screen = terminal.backend().to_string();
    assert_shown("live", screen.as_bytes());
    for shown in [
        "\\u{1b}]52;c;",
        "\\u{202e}5-tennos",
        "s\\u{9b}",
        "pass \\u{1b}[2J",
    ] {
        assert!(screen.contains(shown), "no {shown:?} in\n{screen}");
    }
}

/// `status`'s watch line, read until `done` says it is the one wanted.
fn watch_line(s: &Scratch, done: impl Fn(&str) -> bool) -> String {
    let started = Instant::now();
    loop {
        let out = s.cmd().arg("status").output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if let Some(line) = text.lines().find(|l| l.starts_with("watch "))
            && done(line)
        {
            return line.to_string();
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no such watch line in\n{text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn status_says_a_killed_watch_has_exited() {
    let s = Scratch::new();
    let path: &Path = &s.root.join("projects/-home-u-app/s1.jsonl");
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, response("1", "claude-sonnet-4-5", 60)).unwrap();
    let mut watch = s
        .std_cmd()
        .args(["watch", "--interval", "1h", "--rescan", "1h"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = watch.id();
    let running = watch_line(&s, |_| true);
    assert!(
        running.contains(&format!("(pid {pid}, started ")) && !running.contains("exited"),
        "{running}"
    );
    watch.kill().unwrap();
    // Not yet reaped: a zombie has exited too.
    let exited = watch_line(&s, |line| line.contains("exited"));
    assert!(exited.contains(", last ran "), "{exited}");
    assert!(exited.contains(", exited (pid "), "{exited}");
    watch.wait().unwrap();
    let reaped = watch_line(&s, |_| true);
    assert!(reaped.contains(", exited (pid "), "{reaped}");
    assert_eq!(s.status()["watch_running"], false);
}
