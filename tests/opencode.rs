//! OpenCode through the real binary: a database made here with OpenCode's own schema
//! (`packages/opencode/src/session/session.sql.ts`), written between passes as OpenCode
//! writes it: messages updated in place while they stream, sessions deleted, a writer
//! holding its lock, runs killed mid-ingest.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{Scratch, days, json, sums};
use rusqlite::{Connection, params};
use serde_json::Value;

/// OpenCode's tables as its drizzle schema makes them.
const SCHEMA: &str = include_str!("../fixtures/opencode/schema.sql");

/// 2026-01-02T00:00:00Z.
const DAY: i64 = 1_767_312_000_000;

fn opencode_dir(s: &Scratch) -> PathBuf {
    s.dir.path().join("data/opencode")
}

/// OpenCode's database in the scratch's `$XDG_DATA_HOME/opencode`, in WAL mode as
/// OpenCode keeps it.
fn agent_db(s: &Scratch) -> Connection {
    std::fs::create_dir_all(opencode_dir(s)).unwrap();
    let db = Connection::open(opencode_dir(s).join("opencode.db")).unwrap();
    db.pragma_update(None, "journal_mode", "WAL").unwrap();
    db.pragma_update(None, "foreign_keys", "ON").unwrap();
    db.execute_batch(SCHEMA).unwrap();
    db
}

fn session(db: &Connection, id: &str, parent: Option<&str>) {
    db.execute(
        "INSERT INTO session (id, project_id, parent_id, slug, directory, title, version, time_created, time_updated)
         VALUES (?1, 'p1', ?2, ?1, '/home/u/app', 't', '1.2.0', 0, 0)",
        params![id, parent],
    )
    .unwrap();
}

/// An assistant message as OpenCode writes it: `tokens` [input, output, reasoning,
/// cache read, cache write].
fn data(created: i64, tokens: [u64; 5], cost: f64) -> String {
    serde_json::json!({
        "role": "assistant", "modelID": "claude-sonnet-4-20250514", "providerID": "anthropic",
        "mode": "build", "path": {"cwd": "/home/u/app", "root": "/home/u/app"},
        "time": {"created": created},
        "cost": cost,
        "tokens": {"input": tokens[0], "output": tokens[1], "reasoning": tokens[2],
                   "cache": {"read": tokens[3], "write": tokens[4]}}
    })
    .to_string()
}

/// Writes message `id` (inserted, or updated in place), stamped `updated`.
fn put(db: &Connection, id: &str, session: &str, updated: i64, data: &str) {
    db.execute(
        "INSERT INTO message (id, session_id, time_created, time_updated, data) VALUES (?1, ?2, ?3, ?3, ?4)
         ON CONFLICT (id) DO UPDATE SET time_updated = excluded.time_updated, data = excluded.data",
        params![id, session, updated, data],
    )
    .unwrap();
}

fn opencode_days(s: &Scratch) -> Vec<(String, [u64; 4])> {
    days(&s.daily(&["--agent", "opencode", "--timezone", "UTC"]))
}

fn once(s: &Scratch) -> Value {
    s.once()
}

#[test]
fn a_message_updated_in_place_while_it_streams_counts_once_with_its_final_counts() {
    let s = Scratch::new();
    let db = agent_db(&s);
    session(&db, "ses_a", None);
    db.execute(
        "INSERT INTO message VALUES ('msg_u', 'ses_a', ?1, ?1, '{\"role\":\"user\",\"time\":{\"created\":1}}')",
        [DAY],
    )
    .unwrap();
    // Streaming: written first with no tokens.
    put(&db, "msg_1", "ses_a", DAY + 1, &data(DAY + 1, [0; 5], 0.0));
    once(&s);
    assert_eq!(opencode_days(&s), []);

    // Step finished: counts, no cost yet.
    put(
        &db,
        "msg_1",
        "ses_a",
        DAY + 2,
        &data(DAY + 1, [100, 40, 10, 7, 3], 0.0),
    );
    once(&s);
    assert_eq!(
        opencode_days(&s),
        [("2026-01-02".into(), [100, 50, 3, 7])],
        "reasoning is billed as output"
    );

    // A second step in the same message: more tokens, and OpenCode's cost.
    put(
        &db,
        "msg_1",
        "ses_a",
        DAY + 3,
        &data(DAY + 1, [100, 60, 10, 7, 3], 0.25),
    );
    let stats = once(&s);
    assert_eq!(stats["rows_upgraded"], 1, "{stats}");
    let daily = s.daily(&["--agent", "opencode", "--timezone", "UTC"]);
    assert_eq!(days(&daily), [("2026-01-02".into(), [100, 70, 3, 7])]);
    assert_eq!(
        daily["totals"]["totalCost"], 0.25,
        "auto mode takes OpenCode's cost"
    );
    assert_eq!(
        daily["daily"][0]["modelsUsed"][0],
        "claude-sonnet-4-20250514"
    );

    // Nothing changed: nothing new. A database written in the last two seconds is
    // queried again (a write in the same clock tick would not move its time); after
    // that, an unchanged one is not opened at all.
    let stats = once(&s);
    assert_eq!(
        (&stats["rows_added"], &stats["rows_upgraded"]),
        (&0.into(), &0.into()),
        "{stats}"
    );
    std::thread::sleep(Duration::from_millis(2100));
    once(&s);
    let stats = once(&s);
    assert_eq!(stats["files_changed"], 0, "{stats}");
    let agents = s.report(&["agents"]);
    assert_eq!(agents["agents"][0]["agent"], "opencode");
    assert_eq!(agents["agents"][0]["requests"], 1);
    // The watermark is the cursor's state: no bytes were tailed.
    let status = s.status();
    assert_eq!(status["bytes_parsed"], 0, "{status}");
    assert_eq!(status["agents"][0]["files"], 1, "{status}");
}

#[test]
fn a_session_deleted_in_opencode_keeps_its_rows_and_a_subtask_rolls_into_its_parent() {
    let s = Scratch::new();
    let db = agent_db(&s);
    session(&db, "ses_a", None);
    session(&db, "ses_sub", Some("ses_a"));
    session(&db, "ses_gone", None);
    put(
        &db,
        "msg_1",
        "ses_a",
        DAY + 10,
        &data(DAY + 10, [10, 1, 0, 0, 0], 0.0),
    );
    put(
        &db,
        "msg_2",
        "ses_sub",
        DAY + 20,
        &data(DAY + 20, [20, 2, 0, 0, 0], 0.0),
    );
    put(
        &db,
        "msg_3",
        "ses_gone",
        DAY + 30,
        &data(DAY + 30, [40, 4, 0, 0, 0], 0.0),
    );
    once(&s);

    // Deleted in OpenCode: its messages go with it (ON DELETE cascade).
    db.execute("DELETE FROM session WHERE id = 'ses_gone'", [])
        .unwrap();
    let left: i64 = db
        .query_row("SELECT count(*) FROM message", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 2);
    put(
        &db,
        "msg_4",
        "ses_a",
        DAY + 40,
        &data(DAY + 40, [80, 8, 0, 0, 0], 0.0),
    );
    once(&s);
    assert_eq!(opencode_days(&s), [("2026-01-02".into(), [150, 15, 0, 0])]);

    let sessions = s.report(&["session", "--agent", "opencode"]);
    let mut rows: Vec<(String, [u64; 4])> = sessions["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["sessionId"].as_str().unwrap().to_string(), sums(r)))
        .collect();
    rows.sort();
    assert_eq!(
        rows,
        [
            ("ses_a".into(), [110, 11, 0, 0]),
            ("ses_gone".into(), [40, 4, 0, 0])
        ],
        "{sessions}"
    );
}

/// A message written with a time before what was read (OpenCode v1.2 copying a legacy
/// session in, `opencode import`, a clock set back) is new all the same.
#[test]
fn a_message_inserted_with_an_old_time_is_read() {
    let s = Scratch::new();
    let db = agent_db(&s);
    session(&db, "ses_a", None);
    put(
        &db,
        "msg_1",
        "ses_a",
        DAY + 3_600_000,
        &data(DAY, [10, 1, 0, 0, 0], 0.0),
    );
    once(&s);
    session(&db, "ses_imported", None);
    put(
        &db,
        "msg_0",
        "ses_imported",
        DAY - 86_400_000,
        &data(DAY - 86_400_000, [20, 2, 0, 0, 0], 0.0),
    );
    once(&s);
    assert_eq!(
        opencode_days(&s),
        [
            ("2026-01-01".into(), [20, 2, 0, 0]),
            ("2026-01-02".into(), [10, 1, 0, 0])
        ]
    );
}

/// While a response streams OpenCode writes its parts far more often than its message: a
/// pass that finds the message's counts and cost as they were hands the ledger nothing.
#[test]
fn a_write_that_leaves_an_open_message_as_it_was_hands_the_ledger_nothing() {
    let s = Scratch::new();
    let db = agent_db(&s);
    session(&db, "ses_a", None);
    put(
        &db,
        "msg_1",
        "ses_a",
        DAY + 1,
        &data(DAY + 1, [10, 1, 0, 0, 0], 0.0),
    );
    once(&s);
    // A write beside it (its session's row, as a part's would be): the database changed.
    db.execute(
        "UPDATE session SET title = 'streaming' WHERE id = 'ses_a'",
        [],
    )
    .unwrap();
    let stats = once(&s);
    assert_eq!(
        (&stats["files_changed"], &stats["lines_read"]),
        (&1.into(), &0.into()),
        "{stats}"
    );
    // Its counts grow: read.
    put(
        &db,
        "msg_1",
        "ses_a",
        DAY + 2,
        &data(DAY + 1, [10, 5, 0, 0, 0], 0.0),
    );
    let stats = once(&s);
    assert_eq!(stats["rows_upgraded"], 1, "{stats}");
    assert_eq!(opencode_days(&s), [("2026-01-02".into(), [10, 5, 0, 0])]);
}

/// The reader finds new rows by rowid: rowids that move (a VACUUM renumbering them after
/// a session's deletion, the last rows deleted and their rowids given again) and a message
/// left open for days (a response waiting on a permission prompt) lose and double nothing.
#[test]
fn rows_renumbered_or_reused_and_messages_open_for_days_count_once() {
    let s = Scratch::new();
    let db = agent_db(&s);
    for id in ["ses_a", "ses_b", "ses_c"] {
        session(&db, id, None);
    }
    let done = |created: i64, tokens: [u64; 5]| {
        let mut v: Value = serde_json::from_str(&data(created, tokens, 0.0)).unwrap();
        v["time"]["completed"] = (created + 1).into();
        v.to_string()
    };
    put(
        &db,
        "msg_a1",
        "ses_a",
        DAY + 1,
        &done(DAY + 1, [1, 1, 0, 0, 0]),
    );
    put(
        &db,
        "msg_b1",
        "ses_b",
        DAY + 2,
        &done(DAY + 2, [2, 2, 0, 0, 0]),
    );
    // Open: no `time.completed` yet.
    put(
        &db,
        "msg_b2",
        "ses_b",
        DAY + 3,
        &data(DAY + 3, [4, 4, 0, 0, 0], 0.0),
    );
    put(
        &db,
        "msg_c1",
        "ses_c",
        DAY + 4,
        &done(DAY + 4, [8, 8, 0, 0, 0]),
    );
    once(&s);

    // ses_a deleted and the database vacuumed: every rowid after it moves down one.
    db.execute("DELETE FROM session WHERE id = 'ses_a'", [])
        .unwrap();
    db.execute_batch("VACUUM").unwrap();
    put(
        &db,
        "msg_c2",
        "ses_c",
        DAY + 5,
        &done(DAY + 5, [16, 16, 0, 0, 0]),
    );
    once(&s);
    assert_eq!(opencode_days(&s), [("2026-01-02".into(), [31, 31, 0, 0])]);

    // The last session deleted, and new rows take its rowids.
    db.execute("DELETE FROM session WHERE id = 'ses_c'", [])
        .unwrap();
    session(&db, "ses_d", None);
    put(
        &db,
        "msg_d1",
        "ses_d",
        DAY + 6,
        &done(DAY + 6, [32, 32, 0, 0, 0]),
    );
    put(
        &db,
        "msg_d2",
        "ses_d",
        DAY + 7,
        &done(DAY + 7, [64, 64, 0, 0, 0]),
    );
    once(&s);
    assert_eq!(opencode_days(&s), [("2026-01-02".into(), [127, 127, 0, 0])]);

    // Three days of other work, then the open message completes, grown.
    put(
        &db,
        "msg_d3",
        "ses_d",
        DAY + 3 * 86_400_000,
        &done(DAY + 3 * 86_400_000, [128, 128, 0, 0, 0]),
    );
    once(&s);
    put(
        &db,
        "msg_b2",
        "ses_b",
        DAY + 3 * 86_400_000 + 1,
        &done(DAY + 3, [4, 400, 0, 0, 0]),
    );
    once(&s);
    assert_eq!(
        opencode_days(&s),
        [
            ("2026-01-02".into(), [127, 523, 0, 0]),
            ("2026-01-05".into(), [128, 128, 0, 0])
        ]
    );
}

/// Claude Code's fixtures beside an OpenCode database, for a pass that has other agents
/// to commit.
fn with_claude() -> Scratch {
    Scratch::with_fixtures()
}

fn claude_rows(s: &Scratch) -> u64 {
    s.report(&["agents", "--agent", "claude"])["agents"][0]["requests"]
        .as_u64()
        .unwrap_or(0)
}

#[test]
fn a_writer_holding_the_database_delays_nothing_and_the_next_pass_catches_up() {
    let s = with_claude();
    let db = agent_db(&s);
    session(&db, "ses_a", None);
    put(
        &db,
        "msg_1",
        "ses_a",
        DAY + 1,
        &data(DAY + 1, [10, 1, 0, 0, 0], 0.0),
    );
    drop(db);
    let path = opencode_dir(&s).join("opencode.db");
    let (held, release) = (std::sync::mpsc::channel(), std::sync::mpsc::channel::<()>());
    let writer = std::thread::spawn(move || {
        let db = Connection::open(path).unwrap();
        db.execute_batch("BEGIN IMMEDIATE").unwrap();
        put(
            &db,
            "msg_2",
            "ses_a",
            DAY + 2,
            &data(DAY + 2, [20, 2, 0, 0, 0], 0.0),
        );
        held.0.send(()).unwrap();
        let _ = release.1.recv_timeout(Duration::from_secs(10));
        db.execute_batch("COMMIT").unwrap();
    });
    held.1.recv().unwrap();
    let started = Instant::now();
    once(&s);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(1), "once took {took:?}");
    assert!(claude_rows(&s) > 0, "the other agents are committed");
    assert_eq!(opencode_days(&s), [("2026-01-02".into(), [10, 1, 0, 0])]);
    release.0.send(()).unwrap();
    writer.join().unwrap();
    once(&s);
    assert_eq!(opencode_days(&s), [("2026-01-02".into(), [30, 3, 0, 0])]);
}

/// A rollback-journal database whose writer holds the exclusive lock cannot be read at
/// all: the pass leaves it for the next one, within a second.
#[test]
fn a_database_locked_exclusively_is_read_at_the_next_pass() {
    let s = with_claude();
    std::fs::create_dir_all(opencode_dir(&s)).unwrap();
    let path = opencode_dir(&s).join("opencode.db");
    let db = Connection::open(&path).unwrap();
    db.execute_batch(SCHEMA).unwrap();
    session(&db, "ses_a", None);
    put(
        &db,
        "msg_1",
        "ses_a",
        DAY + 1,
        &data(DAY + 1, [10, 1, 0, 0, 0], 0.0),
    );
    db.execute_batch("BEGIN EXCLUSIVE").unwrap();
    put(
        &db,
        "msg_2",
        "ses_a",
        DAY + 2,
        &data(DAY + 2, [20, 2, 0, 0, 0], 0.0),
    );
    let started = Instant::now();
    let out = s.cmd().args(["once", "--json"]).output().unwrap();
    let took = started.elapsed();
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(took < Duration::from_secs(1), "once took {took:?}");
    assert!(claude_rows(&s) > 0);
    assert_eq!(opencode_days(&s), []);
    db.execute_batch("COMMIT").unwrap();
    once(&s);
    assert_eq!(opencode_days(&s), [("2026-01-02".into(), [30, 3, 0, 0])]);
}

/// `once` killed at any moment while OpenCode goes on streaming into its messages, then
/// run to the end: every message once, with its last counts.
#[test]
fn runs_killed_mid_ingest_while_messages_stream_lose_and_double_nothing() {
    let s = with_claude();
    let db = agent_db(&s);
    session(&db, "ses_a", None);
    let messages = 3000u64;
    let write = |round: u64| {
        db.execute_batch("BEGIN").unwrap();
        for m in 0..messages {
            // Each round, a tenth of the messages grow.
            if round > 0 && m % 10 != round % 10 {
                continue;
            }
            let created = DAY + m as i64 * 1000;
            let tokens = [m + 1, round + 1, 0, 2 * m, 1];
            let updated = DAY + 10_000_000 + round as i64 * 10_000 + m as i64;
            put(
                &db,
                &format!("msg_{m:05}"),
                "ses_a",
                updated,
                &data(created, tokens, 0.0),
            );
        }
        db.execute_batch("COMMIT").unwrap();
    };
    write(0);
    for round in 1..=12u64 {
        let mut child = s
            .std_cmd()
            .args(["once", "--batch-size", "50"])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(round * 13 % 120));
        child.kill().unwrap();
        child.wait().unwrap();
        write(round);
    }
    once(&s);
    // The last round a message grew in set its output.
    let last_round = |m: u64| (1..=12u64).rev().find(|r| m % 10 == r % 10).unwrap_or(0);
    let expected = [
        (0..messages).map(|m| m + 1).sum::<u64>(),
        (0..messages).map(|m| last_round(m) + 1).sum(),
        messages,
        (0..messages).map(|m| 2 * m).sum(),
    ];
    let total: [u64; 4] = opencode_days(&s).iter().fold([0; 4], |mut acc, (_, d)| {
        for i in 0..4 {
            acc[i] += d[i];
        }
        acc
    });
    assert_eq!(total, expected);
    let agents = s.report(&["agents", "--agent", "opencode"]);
    assert_eq!(agents["agents"][0]["requests"], messages);
}

#[test]
fn opencode_data_dir_names_where_the_database_is() {
    let s = Scratch::new();
    let elsewhere = s.dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let db = Connection::open(elsewhere.join("opencode-beta.db")).unwrap();
    db.execute_batch(SCHEMA).unwrap();
    session(&db, "ses_a", None);
    put(&db, "msg_1", "ses_a", DAY, &data(DAY, [5, 5, 0, 0, 0], 0.0));
    let out = s
        .cmd()
        .env("OPENCODE_DATA_DIR", &elsewhere)
        .args(["once", "--json"])
        .assert()
        .success();
    assert_eq!(json(&out.get_output().stdout)["rows_added"], 1);
    assert_eq!(opencode_days(&s), [("2026-01-02".into(), [5, 5, 0, 0])]);
}

/// Waits until the ledger holds `want` OpenCode requests; fails after ten seconds.
fn requests_within(s: &Scratch, want: u64) {
    let started = Instant::now();
    loop {
        let out = s
            .cmd()
            .args(["agents", "--json", "--no-ingest", "--agent", "opencode"])
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

/// `watch` learns of OpenCode's writes from its WAL, by notification and by polling.
#[test]
fn watch_reads_what_opencode_writes_into_its_wal() {
    for poll in [false, true] {
        let s = Scratch::new();
        let db = agent_db(&s);
        session(&db, "ses_a", None);
        put(&db, "msg_1", "ses_a", DAY, &data(DAY, [5, 5, 0, 0, 0], 0.0));
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
        put(
            &db,
            "msg_2",
            "ses_a",
            DAY + 1,
            &data(DAY + 1, [5, 5, 0, 0, 0], 0.0),
        );
        requests_within(&s, 2);
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

/// The hand-made fixture (`fixtures/opencode/`, worked out in `fixtures/README.md`):
/// a user message, an aborted one with no tokens, a subtask's, a reasoning model's.
fn with_fixture() -> Scratch {
    let s = Scratch::new();
    let db = agent_db(&s);
    db.execute_batch(include_str!("../fixtures/opencode/messages.sql"))
        .unwrap();
    s
}

#[test]
fn the_fixture_gives_the_totals_worked_out_by_hand() {
    let s = with_fixture();
    s.once();
    let daily = s.daily(&["--agent", "opencode", "--timezone", "UTC"]);
    assert_eq!(
        days(&daily),
        [
            ("2026-01-02".into(), [1600, 420, 800, 5000]),
            ("2026-01-03".into(), [2010, 770, 40, 1030]),
        ]
    );
    // OpenCode's costs where it gave one; Copilot's Claude (cost 0: no figure) priced
    // from the table: 10 × $3 + 20 × $15 + 40 × $3.75 + 30 × $0.30 per million.
    let cost = daily["totals"]["totalCost"].as_f64().unwrap();
    assert!(
        (cost - (0.0234 + 0.0011 + 0.01 + 0.000489)).abs() < 1e-9,
        "{cost}"
    );
    // calculate mode prices every message: day one's Sonnet 4 and Haiku 4.5.
    let calculated = s.daily(&[
        "--agent",
        "opencode",
        "--timezone",
        "UTC",
        "--mode",
        "calculate",
    ]);
    let day_one = calculated["daily"][0]["totalCost"].as_f64().unwrap();
    let sonnet = (1200.0 * 3.0 + 300.0 * 15.0 + 800.0 * 3.75 + 5000.0 * 0.3) / 1e6;
    let haiku = (400.0 * 1.0 + 120.0 * 5.0) / 1e6;
    assert!((day_one - (sonnet + haiku)).abs() < 1e-9, "{day_one}");
    let sessions = s.report(&["session", "--agent", "opencode"]);
    let ids: Vec<&str> = sessions["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["sessionId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["ses_main"], "the subtask rolls into its parent");
}

/// Daily tokens equal ccusage's `opencode daily` on the fixture, where ccusage is at hand
/// (`CCUSAGE_BIN`, ccusage 20.0.24's binary); skipped without it. ccusage drops
/// `tokens.reasoning` (its parser never reads it): the one difference, on the day a
/// reasoning model ran, is that day's reasoning tokens in output.
#[test]
fn daily_tokens_equal_ccusages_but_for_the_reasoning_it_drops() {
    let Some(ccusage) = std::env::var_os("CCUSAGE_BIN").filter(|p| !p.is_empty()) else {
        eprintln!("CCUSAGE_BIN not set: not compared");
        return;
    };
    let s = with_fixture();
    s.once();
    let ours = opencode_days(&s);
    let out = std::process::Command::new(ccusage)
        .args([
            "opencode",
            "daily",
            "--json",
            "--offline",
            "--timezone",
            "UTC",
        ])
        .env("HOME", s.dir.path())
        .env("OPENCODE_DATA_DIR", opencode_dir(&s))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    let theirs: Vec<(String, [u64; 4])> = json(&out.stdout)["daily"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["date"].as_str().unwrap().to_string(), sums(d)))
        .collect();
    let reasoning = [0, 250];
    let ours_without: Vec<(String, [u64; 4])> = ours
        .iter()
        .zip(reasoning)
        .map(|((day, [i, o, w, r]), reasoning)| (day.clone(), [*i, o - reasoning, *w, *r]))
        .collect();
    assert_eq!(ours_without, theirs);
}

/// OpenCode before v1.2 wrote each message to `storage/message/<session>/msg_*.json`;
/// v1.2 copies them into its database under the same ids. Both read: each message once.
#[test]
fn legacy_message_files_and_their_database_copies_count_once() {
    let s = Scratch::new();
    let legacy = |id: &str, tokens: [u64; 5]| {
        let mut v: Value = serde_json::from_str(&data(DAY, tokens, 0.5)).unwrap();
        v["id"] = id.into();
        v["sessionID"] = "ses_old".into();
        v.to_string()
    };
    let dir = opencode_dir(&s).join("storage/message/ses_old");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("msg_a.json"), legacy("msg_a", [10, 1, 0, 0, 0])).unwrap();
    std::fs::write(dir.join("msg_b.json"), legacy("msg_b", [20, 2, 0, 0, 0])).unwrap();
    std::fs::write(
        dir.join("msg_u.json"),
        r#"{"id":"msg_u","sessionID":"ses_old","role":"user","time":{"created":1}}"#,
    )
    .unwrap();
    s.once();
    assert_eq!(opencode_days(&s), [("2026-01-02".into(), [30, 3, 0, 0])]);

    // The upgrade: the same messages in the database, and a new one.
    let db = agent_db(&s);
    session(&db, "ses_old", None);
    put(
        &db,
        "msg_a",
        "ses_old",
        DAY + 1,
        &data(DAY, [10, 1, 0, 0, 0], 0.5),
    );
    put(
        &db,
        "msg_b",
        "ses_old",
        DAY + 2,
        &data(DAY, [20, 2, 0, 0, 0], 0.5),
    );
    put(
        &db,
        "msg_c",
        "ses_old",
        DAY + 3,
        &data(DAY, [40, 4, 0, 0, 0], 0.5),
    );
    s.once();
    assert_eq!(opencode_days(&s), [("2026-01-02".into(), [70, 7, 0, 0])]);

    // Read in the other order (database first), in a fresh ledger: the same.
    let fresh = Scratch::new();
    common::copy_tree(&opencode_dir(&s), &{
        let to = opencode_dir(&fresh);
        std::fs::create_dir_all(&to).unwrap();
        to
    });
    fresh.once();
    assert_eq!(
        opencode_days(&fresh),
        [("2026-01-02".into(), [70, 7, 0, 0])]
    );
    let agents = fresh.report(&["agents"]);
    assert_eq!(agents["agents"][0]["requests"], 3);
}
