//! Copilot CLI's session store (`~/.copilot/session-store.db`, its schema as Copilot CLI
//! 1.0.102 makes it: `fixtures/copilot/session-store.sql`) through the real binary: one row
//! per model call, read by row id; a session with an event log is counted from its log,
//! once; runs killed mid-ingest lose and double nothing; `watch` learns of the store's
//! writes from its WAL.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{Scratch, agent_days, json};
use rusqlite::{Connection, params};

const SCHEMA: &str = include_str!("../fixtures/copilot/session-store.sql");

/// A session of the event-log fixtures (`fixtures/copilot/session-state/`).
const LOGGED: &str = "3f2a1b0c-9d8e-4f7a-b6c5-d4e3f2a1b0c9";
/// A session with no log: the store alone has it.
const STORED: &str = "0b1c2d3e-4f50-4617-8a9b-0c1d2e3f4a5b";

fn home(s: &Scratch) -> PathBuf {
    s.dir.path().join(".copilot")
}

/// The fixture's event logs in the scratch's `~/.copilot/session-state`.
fn with_logs() -> Scratch {
    let s = Scratch::new();
    let state = home(&s).join("session-state");
    std::fs::create_dir_all(&state).unwrap();
    common::copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/copilot/session-state"),
        &state,
    );
    s
}

/// Copilot's store in WAL mode, as Copilot keeps it, with the two sessions.
fn store(s: &Scratch) -> Connection {
    std::fs::create_dir_all(home(s)).unwrap();
    let db = Connection::open(home(s).join("session-store.db")).unwrap();
    db.pragma_update(None, "journal_mode", "WAL").unwrap();
    db.execute_batch(SCHEMA).unwrap();
    for (id, cwd) in [(LOGGED, "/home/u/app"), (STORED, "/home/u/api")] {
        db.execute(
            "INSERT INTO sessions (id, cwd) VALUES (?1, ?2)",
            params![id, cwd],
        )
        .unwrap();
    }
    db
}

/// One model call as Copilot records it: `[input (cache included), output, cache read,
/// cache write, reasoning]`.
fn call(db: &Connection, session: &str, at: &str, counts: [u64; 5], multiplier: f64) {
    let [input, output, read, write, reasoning] = counts;
    db.execute(
        "INSERT INTO assistant_usage_events (session_id, turn_index, model, input_tokens,
            output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens,
            request_multiplier, duration_ms, api_endpoint, finish_reason, created_at)
         VALUES (?1, 0, 'claude-sonnet-4.5', ?2, ?3, ?4, ?5, ?6, ?7, 2000, '/chat/completions', 'stop', ?8)",
        params![session, input, output, read, write, reasoning, multiplier, at],
    )
    .unwrap();
}

/// The event-log fixtures' days (`tests/amp_copilot.rs`).
fn logged_days() -> Vec<(String, [u64; 4])> {
    vec![
        ("2026-02-02".into(), [9_000, 580, 6_000, 64_000]),
        ("2026-02-03".into(), [0, 400, 0, 0]),
    ]
}

fn plus(mut days: Vec<(String, [u64; 4])>, day: &str, sums: [u64; 4]) -> Vec<(String, [u64; 4])> {
    match days.iter_mut().find(|(d, _)| d == day) {
        Some((_, have)) => (0..4).for_each(|i| have[i] += sums[i]),
        None => days.push((day.into(), sums)),
    }
    days.sort();
    days
}

#[test]
fn the_store_counts_each_call_of_a_session_without_a_log_once() {
    let s = with_logs();
    let db = store(&s);
    // The logged session's calls are in its log already.
    call(
        &db,
        LOGGED,
        "2026-02-02 10:00:05",
        [5_000, 300, 4_000, 500, 0],
        1.0,
    );
    call(
        &db,
        STORED,
        "2026-02-02 23:59:59",
        [1_000, 200, 600, 100, 50],
        1.0,
    );
    call(&db, STORED, "2026-02-04 08:00:00", [70, 7, 0, 0, 0], 0.33);
    s.once();
    let want = plus(
        plus(logged_days(), "2026-02-02", [300, 200, 100, 600]),
        "2026-02-04",
        [70, 7, 0, 0],
    );
    assert_eq!(agent_days(&s, "copilot"), want);
    let agents = s.report(&["agents", "--agent", "copilot"]);
    assert_eq!(agents["agents"][0]["requests"], 8 + 2, "{agents}");
    assert_eq!(
        agents["agents"][0]["premiumRequests"],
        4.0 + 1.33,
        "{agents}"
    );

    // One more call: read once, the earlier ones not again.
    call(&db, STORED, "2026-02-04 09:00:00", [10, 1, 0, 0, 0], 0.0);
    s.once();
    s.once();
    assert_eq!(
        agent_days(&s, "copilot"),
        plus(want, "2026-02-04", [10, 1, 0, 0])
    );
    let sessions = s.report(&["session", "--agent", "copilot"]);
    let stored = sessions["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["sessionId"] == STORED)
        .unwrap_or_else(|| panic!("no {STORED} session: {sessions}"));
    assert_eq!(common::sums(stored), [380, 208, 100, 600]);
    let projects = s.report(&["projects", "--agent", "copilot"]);
    assert!(projects.to_string().contains("-home-u-api"), "{projects}");
}

/// `once` killed at any moment while Copilot goes on writing calls, then run to the end:
/// every call once.
#[test]
fn runs_killed_mid_ingest_of_the_store_lose_and_double_nothing() {
    let s = Scratch::with_fixtures();
    let db = store(&s);
    let calls_per_round = 400u64;
    let write = |round: u64| {
        db.execute_batch("BEGIN").unwrap();
        for c in 0..calls_per_round {
            call(
                &db,
                STORED,
                "2026-02-05 12:00:00",
                [100 + c, round + 1, 100, 0, 0],
                1.0,
            );
        }
        db.execute_batch("COMMIT").unwrap();
    };
    for round in 0..10u64 {
        write(round);
        let mut child = s
            .std_cmd()
            .args(["once", "--batch-size", "50"])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(round * 17 % 120));
        child.kill().unwrap();
        child.wait().unwrap();
    }
    s.once();
    let input = (0..calls_per_round).sum::<u64>() * 10;
    let output = (1..=10u64).sum::<u64>() * calls_per_round;
    assert_eq!(
        agent_days(&s, "copilot"),
        [(
            "2026-02-05".to_string(),
            [input, output, 0, 100 * calls_per_round * 10]
        )]
    );
}

/// Waits until the ledger holds `want` Copilot requests; fails after ten seconds.
fn requests_within(s: &Scratch, want: u64) {
    let started = Instant::now();
    loop {
        let out = s
            .cmd()
            .args(["agents", "--json", "--no-ingest", "--agent", "copilot"])
            .output()
            .unwrap();
        let have = match out.status.success() {
            true => json(&out.stdout)["agents"][0]["requests"]
                .as_u64()
                .unwrap_or(0),
            false => 0,
        };
        if have == want {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{have} requests, want {want}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A spawned `watch`, stopped when the test ends, failed or not.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `watch` learns of the store's writes from its WAL, by notification and by polling.
#[test]
fn watch_reads_what_copilot_writes_into_its_store() {
    for poll in [false, true] {
        let s = Scratch::new();
        let db = store(&s);
        call(&db, STORED, "2026-02-04 08:00:00", [70, 7, 0, 0, 0], 1.0);
        let args = match poll {
            true => ["watch", "--poll", "--interval", "200ms", "--rescan", "1h"].as_slice(),
            false => ["watch", "--interval", "1h", "--rescan", "1h"].as_slice(),
        };
        let _watch = Running(
            s.std_cmd()
                .args(args)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap(),
        );
        requests_within(&s, 1);
        std::thread::sleep(Duration::from_millis(300));
        call(&db, STORED, "2026-02-04 08:00:01", [70, 7, 0, 0, 0], 1.0);
        requests_within(&s, 2);
        // Copilot's first session log appears beside the store: both go on being watched.
        std::fs::create_dir_all(home(&s).join("session-state").join(LOGGED)).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        call(&db, STORED, "2026-02-04 08:00:02", [70, 7, 0, 0, 0], 1.0);
        requests_within(&s, 3);
    }
}

/// ccusage 20.0.24 (`CCUSAGE_BIN`; skipped without it) reads the event logs alone: its
/// `copilot daily` is the same with the store beside them as without, where the ledger's
/// gains the sessions only the store has, and nothing of those the logs have.
#[test]
fn ccusage_reads_no_store_and_the_ledger_adds_only_the_sessions_without_a_log() {
    let Some(ccusage) = std::env::var_os("CCUSAGE_BIN").filter(|p| !p.is_empty()) else {
        eprintln!("CCUSAGE_BIN not set: not compared");
        return;
    };
    let theirs = |s: &Scratch| {
        let out = std::process::Command::new(&ccusage)
            .args([
                "copilot",
                "daily",
                "--json",
                "--offline",
                "--timezone",
                "UTC",
            ])
            .env("HOME", s.dir.path())
            .env_remove("COPILOT_HOME")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", common::stderr(&out));
        json(&out.stdout)["daily"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| (d["date"].as_str().unwrap().to_string(), common::sums(d)))
            .collect::<Vec<_>>()
    };
    let logs = with_logs();
    logs.once();
    let both = with_logs();
    let db = store(&both);
    call(
        &db,
        LOGGED,
        "2026-02-02 10:00:05",
        [5_000, 300, 4_000, 500, 0],
        1.0,
    );
    call(&db, STORED, "2026-02-04 08:00:00", [70, 7, 0, 0, 0], 1.0);
    both.once();
    assert_eq!(theirs(&both), theirs(&logs));
    assert_eq!(
        agent_days(&both, "copilot"),
        plus(agent_days(&logs, "copilot"), "2026-02-04", [70, 7, 0, 0])
    );
}
