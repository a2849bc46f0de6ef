//! `watch` through the real binary: it reads what the OS says changed without waiting for
//! its interval (an append, a new project, a new subagent file, a truncated or replaced
//! transcript), falls back to polling with one warning when the watch limit or the
//! backend fails (a real limit, set low in a user namespace of its own with `unshare`),
//! polls when told to, and says in `status` which mode ran.

mod common;

use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::Scratch;

/// Far beyond any test: what is read before it is read because the OS said so.
const LONG: &str = "1h";
/// How soon a change must be in the ledger in notify mode (debounce 200 ms, plus a
/// loaded machine).
const SOON: Duration = Duration::from_secs(2);

/// A response as Claude Code writes it, with a message id of its own.
fn response(session: &str, id: &str, output: u64) -> String {
    format!(
        r#"{{"type":"assistant","sessionId":"{session}","cwd":"/home/dev/app","version":"2.1.30","timestamp":"2026-01-10T10:00:00.000Z","requestId":"req_{id}","message":{{"id":"msg_{id}","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{{"type":"text","text":"ok"}}],"usage":{{"input_tokens":10,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":{output}}}}}}}"#
    ) + "\n"
}

fn append(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
}

/// A `watch` of our own, stopped with SIGINT (or killed, if a test failed) when dropped.
struct Watch {
    child: Option<Child>,
}

impl Watch {
    fn spawn(mut cmd: Command) -> Watch {
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Watch { child: Some(child) }
    }

    /// Stops it as Ctrl-C does; its stderr.
    fn stop(mut self) -> String {
        let mut child = self.child.take().unwrap();
        // Its ledger may hold the rows waited for before it reads anything (a second
        // watch on it): a SIGINT before its handler ends it as a signal, not as Ctrl-C.
        common::wait_until_catching_sigint(&child);
        let ok = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        let status = child.wait().unwrap();
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        assert!(status.success(), "watch exited with {status}: {err}");
        err
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `watch` with `extra` flags; `--interval` and `--rescan` are long unless given there.
fn watch(s: &Scratch, extra: &[&str]) -> Command {
    let mut cmd = s.std_cmd();
    cmd.arg("watch").args(extra);
    for flag in ["--interval", "--rescan"] {
        if !extra.contains(&flag) {
            cmd.args([flag, LONG]);
        }
    }
    cmd
}

fn rows(s: &Scratch) -> u64 {
    s.status()["rows"].as_u64().unwrap()
}

/// Waits until the ledger holds `want` rows; how long that took. Fails after `limit`.
fn rows_within(s: &Scratch, want: u64, limit: Duration, what: &str) -> Duration {
    let started = Instant::now();
    loop {
        // The ledger may be half made while the first pass creates it.
        let out = s.cmd().args(["status", "--json"]).output().unwrap();
        let have = match out.status.success() {
            true => common::json(&out.stdout)["rows"].as_u64().unwrap(),
            false => 0,
        };
        if have == want {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "{what}: {have} rows after {:?}, want {want}",
            started.elapsed()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A tree with one session of `n` responses; its transcript's path.
fn one_session(s: &Scratch, n: usize) -> PathBuf {
    let path = s.root.join("projects/-home-dev-app/s1.jsonl");
    for i in 0..n {
        append(&path, &response("s1", &format!("s1_{i}"), 100));
    }
    path
}

#[test]
fn an_append_is_read_without_waiting_for_the_interval() {
    let s = Scratch::new();
    let transcript = one_session(&s, 2);
    let w = Watch::spawn(watch(&s, &[]));
    rows_within(&s, 2, Duration::from_secs(10), "first pass");
    for i in 0..3 {
        append(&transcript, &response("s1", &format!("more_{i}"), 7));
        rows_within(&s, 3 + i, SOON, "append");
    }
    let err = w.stop();
    assert!(!err.contains("warn"), "{err}");
    let status = s.status();
    assert_eq!(status["watch"]["mode"], "notify", "{status}");
    assert!(status["watch"]["events"].as_u64().unwrap() >= 3, "{status}");
    assert!(status["last_full_pass"].is_string(), "{status}");
    let text = s.cmd().arg("status").assert().success();
    let text = String::from_utf8_lossy(&text.get_output().stdout).into_owned();
    assert!(text.contains("watch           notify"), "{text}");
    assert!(text.contains("last pass       20"), "{text}");
}

#[test]
fn a_new_project_and_a_new_subagent_file_are_picked_up() {
    let s = Scratch::new();
    one_session(&s, 1);
    let w = Watch::spawn(watch(&s, &[]));
    rows_within(&s, 1, Duration::from_secs(10), "first pass");

    // A new project folder, its session written at once (before any watch on it).
    let other = s.root.join("projects/-home-dev-other/s2.jsonl");
    append(&other, &response("s2", "s2_0", 5));
    rows_within(&s, 2, SOON, "new project");
    append(&other, &response("s2", "s2_1", 5));
    rows_within(&s, 3, SOON, "append in the new project");

    // A subagent of the first session: two new folders and a file.
    let agent = s
        .root
        .join("projects/-home-dev-app/s1/subagents/agent-a1.jsonl");
    append(&agent, &response("s1", "agent_0", 9));
    rows_within(&s, 4, SOON, "new subagent file");
    append(&agent, &response("s1", "agent_1", 9));
    rows_within(&s, 5, SOON, "append to the subagent file");
    w.stop();
    let sessions = s
        .cmd()
        .args(["session", "--json", "--no-ingest"])
        .assert()
        .success();
    let sessions = common::json(&sessions.get_output().stdout);
    let s1 = sessions["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["sessionId"] == "s1")
        .unwrap_or_else(|| panic!("{sessions}"));
    // 100 of the session itself, 18 of its subagent.
    assert_eq!(s1["outputTokens"], 118, "{sessions}");
}

/// Events name files by absolute paths; the ledger's cursors by the root as given: a
/// relative `--source` reads each file under one spelling, once.
#[test]
fn a_relative_root_is_watched_under_its_own_spelling() {
    let s = Scratch::new();
    let transcript = one_session(&s, 1);
    let mut cmd = Command::new(common::BIN);
    cmd.current_dir(s.dir.path())
        .env_remove("CLAUDE_CONFIG_DIR")
        .env_remove("CCO_STATS_DB")
        .env_remove("RUST_LOG")
        .env("HOME", s.dir.path())
        .args(["--db", "stats.db", "--source", "claude"])
        .args(["watch", "--interval", LONG, "--rescan", LONG]);
    let w = Watch::spawn(cmd);
    rows_within(&s, 1, Duration::from_secs(10), "first pass");
    append(&transcript, &response("s1", "rel_0", 1));
    rows_within(&s, 2, SOON, "append");
    w.stop();
    let files = rusqlite::Connection::open(&s.db)
        .unwrap()
        .query_row("SELECT count(*) FROM files", [], |r| r.get::<_, i64>(0))
        .unwrap();
    assert_eq!(files, 1, "one cursor for the one transcript");
}

/// A data root with no `projects/` yet (Claude Code not run): watched until it appears.
#[test]
fn a_projects_folder_that_appears_later_is_watched() {
    let s = Scratch::new();
    fs::remove_dir(s.root.join("projects")).unwrap();
    let w = Watch::spawn(watch(&s, &[]));
    rows_within(&s, 0, Duration::from_secs(10), "first pass");
    std::thread::sleep(Duration::from_millis(300));
    let first = s.root.join("projects/-home-dev-app/s1.jsonl");
    append(&first, &response("s1", "late_0", 1));
    rows_within(&s, 1, SOON, "the first transcript");
    append(&first, &response("s1", "late_1", 1));
    rows_within(&s, 2, SOON, "an append to it");
    let err = w.stop();
    assert_eq!(s.status()["watch"]["mode"], "notify", "{err}");
}

#[test]
fn a_truncated_and_a_replaced_file_are_read_again() {
    let s = Scratch::new();
    let truncated = one_session(&s, 3);
    let replaced = s.root.join("projects/-home-dev-app/s2.jsonl");
    append(&replaced, &response("s2", "r_0", 1));
    append(&replaced, &response("s2", "r_1", 1));
    let w = Watch::spawn(watch(&s, &[]));
    rows_within(&s, 5, Duration::from_secs(10), "first pass");

    // Cut to nothing and written anew: read from 0; the ledger keeps what it had.
    fs::write(&truncated, response("s1", "t_0", 3)).unwrap();
    rows_within(&s, 6, SOON, "truncated");
    assert_eq!(s.status()["last_ingest"]["files_reset"], 1);

    // Replaced by a rename (a new inode) holding its old lines and one more: the old
    // ones are not counted twice.
    let copy = s.dir.path().join("copy.jsonl");
    fs::copy(&replaced, &copy).unwrap();
    append(&copy, &response("s2", "r_2", 1));
    fs::rename(&copy, &replaced).unwrap();
    rows_within(&s, 7, SOON, "replaced");
    let last = &s.status()["last_ingest"];
    assert_eq!(last["files_reset"], 1, "{last}");
    assert_eq!(last["duplicates"], 2, "{last}");
    w.stop();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(rows(&s), 7, "nothing more came later");
}

#[test]
fn poll_forces_polling_and_still_sees_appends() {
    let s = Scratch::new();
    let transcript = one_session(&s, 1);
    let w = Watch::spawn(watch(&s, &["--poll", "--interval", "100ms"]));
    rows_within(&s, 1, Duration::from_secs(10), "first pass");
    append(&transcript, &response("s1", "p_0", 1));
    rows_within(&s, 2, SOON, "append, polled");
    // A new session in a project folder: the folder is polled, and a full pass finds it.
    let new = s.root.join("projects/-home-dev-app/s3.jsonl");
    append(&new, &response("s3", "p_1", 1));
    rows_within(&s, 3, SOON, "new session, polled");
    let err = w.stop();
    assert!(
        !err.contains("warn"),
        "asked for, polling is no fallback: {err}"
    );
    let status = s.status();
    assert_eq!(status["watch"]["mode"], "poll", "{status}");
    assert!(status["watch"]["fallback"].is_null(), "{status}");
    assert_eq!(status["watch"]["events"], 0, "{status}");
}

/// Polling spends where the change is: a transcript last changed hours ago is left to the
/// full pass (`--rescan`), one changed recently is `stat`ed every interval.
#[test]
fn polling_looks_at_old_transcripts_only_in_the_full_pass() {
    let s = Scratch::new();
    let recent = one_session(&s, 1);
    let old = s.root.join("projects/-home-dev-app/s0.jsonl");
    append(&old, &response("s0", "o_0", 1));
    let touched = Command::new("touch")
        .args(["-m", "-d", "3 hours ago"])
        .arg(&old)
        .status()
        .unwrap();
    assert!(touched.success());
    let w = Watch::spawn(watch(
        &s,
        &["--poll", "--interval", "100ms", "--rescan", "3s"],
    ));
    let started = Instant::now();
    rows_within(&s, 2, Duration::from_secs(10), "first pass");
    append(&old, &response("s0", "o_1", 1));
    append(&recent, &response("s1", "n_1", 1));
    // The recent one comes at once, the old one with the next full pass.
    rows_within(&s, 3, SOON, "recent transcript");
    std::thread::sleep(Duration::from_millis(500));
    if started.elapsed() < Duration::from_millis(2_500) {
        assert_eq!(rows(&s), 3, "the old transcript waits for the full pass");
    }
    rows_within(&s, 4, Duration::from_secs(6), "old transcript, full pass");
    // Read once, it is recent now: polled every interval.
    append(&old, &response("s0", "o_2", 1));
    rows_within(&s, 5, SOON, "old transcript, now recent");
    w.stop();
}

/// `cco-stats watch` under `unshare` in a user namespace of its own, whose inotify limits
/// are set first (`/proc/sys/user/max_inotify_*` belong to the namespace: the machine's
/// own limits are left alone).
fn watch_limited(s: &Scratch, limit: &str, value: u32, extra: &[&str]) -> Command {
    let inner = watch(s, extra);
    let script = format!("echo {value} > /proc/sys/user/{limit} && exec \"$@\"");
    let mut cmd = Command::new("unshare");
    cmd.args(["--user", "--map-root-user", "sh", "-c", &script, "sh"])
        .arg(inner.get_program())
        .args(inner.get_args());
    for (key, value) in inner.get_envs() {
        match value {
            Some(value) => cmd.env(key, value),
            None => cmd.env_remove(key),
        };
    }
    // The namespace must work here: a test that silently skipped would prove nothing.
    let probe = Command::new("unshare")
        .args(["--user", "--map-root-user", "sh", "-c"])
        .arg(format!("echo 1 > /proc/sys/user/{limit}"))
        .output()
        .expect("unshare (util-linux) must be installed");
    assert!(
        probe.status.success(),
        "cannot set {limit} in a user namespace: {}",
        String::from_utf8_lossy(&probe.stderr)
    );
    cmd
}

fn warnings(err: &str) -> Vec<&str> {
    err.lines().filter(|l| l.contains("warn")).collect()
}

#[test]
fn an_exhausted_watch_limit_falls_back_to_polling_with_one_warning() {
    let s = Scratch::new();
    let transcript = one_session(&s, 1);
    // projects/ and -home-dev-app/: two folders, one watch.
    let w = Watch::spawn(watch_limited(
        &s,
        "max_inotify_watches",
        1,
        &["--interval", "100ms"],
    ));
    rows_within(&s, 1, Duration::from_secs(10), "first pass");
    append(&transcript, &response("s1", "l_0", 1));
    rows_within(&s, 2, SOON, "append, polled after the fallback");
    let err = w.stop();
    let warned = warnings(&err);
    assert_eq!(warned.len(), 1, "{err}");
    assert!(warned[0].contains("fs.inotify.max_user_watches"), "{err}");
    assert!(warned[0].contains("polling"), "{err}");
    let status = s.status();
    assert_eq!(status["watch"]["mode"], "poll", "{status}");
    assert!(
        status["watch"]["fallback"]
            .as_str()
            .unwrap()
            .contains("watch limit"),
        "{status}"
    );
}

/// The limit is reached later, by a folder that appears while watching: polling from
/// then on, and the folder's file is read.
#[test]
fn a_watch_limit_reached_by_a_new_folder_falls_back_and_reads_it() {
    let s = Scratch::new();
    one_session(&s, 1);
    let w = Watch::spawn(watch_limited(
        &s,
        "max_inotify_watches",
        2,
        &["--interval", "100ms"],
    ));
    rows_within(&s, 1, Duration::from_secs(10), "first pass");
    let other = s.root.join("projects/-home-dev-other/s2.jsonl");
    append(&other, &response("s2", "x_0", 1));
    rows_within(&s, 2, SOON, "the new folder's file");
    append(&other, &response("s2", "x_1", 1));
    rows_within(&s, 3, SOON, "an append there, polled");
    let err = w.stop();
    assert_eq!(warnings(&err).len(), 1, "{err}");
    assert_eq!(s.status()["watch"]["mode"], "poll");
}

#[test]
fn a_failing_backend_falls_back_to_polling() {
    let s = Scratch::new();
    let transcript = one_session(&s, 1);
    // No inotify instance at all: the watcher cannot even start.
    let w = Watch::spawn(watch_limited(
        &s,
        "max_inotify_instances",
        0,
        &["--interval", "100ms"],
    ));
    rows_within(&s, 1, Duration::from_secs(10), "first pass");
    append(&transcript, &response("s1", "b_0", 1));
    rows_within(&s, 2, SOON, "append, polled");
    let err = w.stop();
    let warned = warnings(&err);
    assert_eq!(warned.len(), 1, "{err}");
    assert!(warned[0].contains("cannot watch for changes"), "{err}");
    assert_eq!(s.status()["watch"]["mode"], "poll");
}

#[test]
fn a_watch_stopped_by_sigterm_flushes_and_records_itself() {
    let s = Scratch::new();
    let transcript = one_session(&s, 1);
    let mut child = watch(&s, &[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    rows_within(&s, 1, Duration::from_secs(10), "first pass");
    append(&transcript, &response("s1", "term_0", 1));
    rows_within(&s, 2, SOON, "append");
    let stopped = Instant::now();
    assert!(
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    assert!(child.wait().unwrap().success());
    assert!(
        stopped.elapsed() < Duration::from_secs(1),
        "{:?}",
        stopped.elapsed()
    );
    assert!(s.status()["watch"]["events"].as_u64().unwrap() >= 1);
}

/// The start of a line written to a log: the local time to the second and the zone's
/// offset; the rest of the line.
fn stamped(line: &str) -> (jiff::Timestamp, &str) {
    let (time, rest) = line
        .split_once(' ')
        .unwrap_or_else(|| panic!("no time stamp: {line:?}"));
    let at = jiff::Timestamp::strptime("%Y-%m-%dT%H:%M:%S%:z", time)
        .unwrap_or_else(|e| panic!("{time:?} is not a local time to the second: {e}"));
    (at, rest)
}

/// Started where its stderr is kept (a service's log, a pipe), `watch` says what it reads,
/// how it learns of changes and where it writes, each line stamped with the local time.
#[test]
fn watch_says_what_it_watches_in_which_mode_its_lines_stamped() {
    let s = Scratch::new();
    one_session(&s, 1);
    let codex = s.dir.path().join(".codex/sessions");
    fs::create_dir_all(&codex).unwrap();
    for (extra, mode) in [
        (&[][..], "notify mode"),
        (
            &["--poll", "--interval", "250ms"][..],
            "poll mode (every 250ms)",
        ),
    ] {
        let mut cmd = watch(&s, extra);
        cmd.env("TZ", "Asia/Kolkata");
        let w = Watch::spawn(cmd);
        rows_within(&s, 1, Duration::from_secs(10), "first pass");
        let err = w.stop();
        let lines: Vec<(jiff::Timestamp, &str)> = err.lines().map(stamped).collect();
        assert_eq!(lines.len(), 2, "{err}");
        assert!(
            err.starts_with("20") && err.contains("+05:30 cco-stats: "),
            "{err}"
        );
        let age = jiff::Timestamp::now().duration_since(lines[0].0);
        assert!(age.as_secs() < 60, "{err}");
        let (what, how) = (lines[0].1, lines[1].1);
        let claude = format!("claude {}", s.root.join("projects").display());
        assert!(what.starts_with("cco-stats: watching "), "{err}");
        assert!(what.contains(&claude), "{err}");
        assert!(
            what.contains(&format!("codex {}", codex.display())),
            "{err}"
        );
        assert!(how.contains(mode), "{err}");
        assert!(how.contains("a full pass every 1h"), "{err}");
        assert!(
            how.ends_with(&format!("ledger {}", s.db.display())),
            "{err}"
        );
    }
}

/// `once 2>> log` from cron: the log says when each run happened. The journal stamps its
/// own lines, and a terminal's reader knows the time: neither gets a stamp.
#[test]
fn once_stamps_its_lines_in_a_log_but_not_in_the_journal() {
    let s = Scratch::new();
    one_session(&s, 1);
    let log = s.dir.path().join("cron.log");
    for _ in 0..2 {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let out = s.std_cmd().arg("once").stderr(file).output().unwrap();
        assert!(out.status.success());
    }
    let text = fs::read_to_string(&log).unwrap();
    let lines: Vec<(jiff::Timestamp, &str)> = text.lines().map(stamped).collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].1.starts_with("cco-stats: 1 files seen, 1 changed"),
        "{text}"
    );
    assert!(
        lines[1].1.starts_with("cco-stats: 1 files seen, 0 changed"),
        "{text}"
    );

    use std::os::unix::fs::MetadataExt;
    let journal = s.dir.path().join("journal");
    let file = fs::File::create(&journal).unwrap();
    let meta = file.metadata().unwrap();
    let out = s
        .std_cmd()
        .arg("once")
        .env("JOURNAL_STREAM", format!("{}:{}", meta.dev(), meta.ino()))
        .stderr(file)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = fs::read_to_string(&journal).unwrap();
    assert!(
        text.starts_with("cco-stats: 1 files seen, 0 changed"),
        "{text}"
    );
}
