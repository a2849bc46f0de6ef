//! Kimi CLI, pi-agent, OpenClaw and Goose through the real binary: the hand-made fixtures
//! give the totals `fixtures/README.md` works out by hand; files appended (or databases
//! updated) between passes count once; runs killed at any moment over generated homes
//! lose and double nothing; daily tokens equal ccusage 20.0.24's but for the miscounts
//! the README shows.

mod common;

use std::path::{Path, PathBuf};

use common::corpus::{AgentTree, Spec};
use common::{Scratch, agent_days, agent_row, json};

type Days = Vec<(String, [u64; 4])>;

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(path)
}

fn days_of(table: &[(&str, [u64; 4])]) -> Days {
    table.iter().map(|(d, s)| (d.to_string(), *s)).collect()
}

fn oracle(days: &std::collections::BTreeMap<String, [u64; 4]>) -> Days {
    days.iter().map(|(d, sums)| (d.clone(), *sums)).collect()
}

fn session_ids(s: &Scratch, agent: &str) -> Vec<String> {
    let sessions = s.report(&["session", "--agent", agent]);
    sessions["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["sessionId"].as_str().unwrap().to_string())
        .collect()
}

// ----- Kimi CLI -------------------------------------------------------------------------

fn kimi_home(s: &Scratch) -> PathBuf {
    s.dir.path().join(".kimi")
}

fn with_kimi_fixture() -> Scratch {
    let s = Scratch::new();
    std::fs::create_dir_all(kimi_home(&s)).unwrap();
    common::copy_tree(&fixture("kimi"), &kimi_home(&s));
    s
}

const KIMI_SESSION: &str = "5d41402abc4b2a76b9719d911017c592/1a2b3c4d-0e1f-4a5b-8c6d-7e8f9a0b1c2d";
const KIMI_FORK: &str = "5d41402abc4b2a76b9719d911017c592/2b3c4d5e-1f20-4b6c-9d7e-8f9a0b1c2d3e";

const KIMI_DAYS: [(&str, [u64; 4]); 3] = [
    ("2026-02-13", [5_680, 589, 0, 29_736]),
    ("2026-02-14", [3_700, 440, 612, 2_048]),
    ("2026-02-15", [3_180, 135, 0, 10_752]),
];

#[test]
fn the_kimi_fixtures_give_the_hand_worked_totals() {
    let s = with_kimi_fixture();
    let pass = s.once();
    assert_eq!(pass["lines_skipped"], 0, "{pass}");
    assert_eq!(agent_days(&s, "kimi"), days_of(&KIMI_DAYS));
    let kimi = agent_row(&s, "kimi");
    assert_eq!(kimi["requests"], 9, "{kimi}");
    assert_eq!(kimi["modelsUsed"], serde_json::json!(["kimi-for-coding"]));
    // The Kimi Code plan's model has no per-token price: unpriced, and said so.
    assert_eq!(
        kimi["unpricedModels"],
        serde_json::json!(["kimi-for-coding"])
    );
    // Sessions are the session folders; the subagent's steps are its parent's.
    let mut ids = session_ids(&s, "kimi");
    ids.sort();
    assert_eq!(
        ids,
        [
            "1a2b3c4d-0e1f-4a5b-8c6d-7e8f9a0b1c2d",
            "2b3c4d5e-1f20-4b6c-9d7e-8f9a0b1c2d3e",
            "3c4d5e6f-2031-4c7d-8e9f-9a0b1c2d3e4f"
        ]
    );
    assert_eq!(s.once()["rows_added"], 0);
}

/// A session read while Kimi writes it, a subagent's own wire appearing after its
/// parent's copy of the step, and a fork written last: every step once.
#[test]
fn kimi_wires_appended_between_passes_count_each_step_once() {
    let s = Scratch::new();
    let sessions = kimi_home(&s).join("sessions");
    let source = fixture("kimi/sessions");
    let text = std::fs::read_to_string(source.join(KIMI_SESSION).join("wire.jsonl")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let wire = sessions.join(KIMI_SESSION).join("wire.jsonl");
    std::fs::create_dir_all(wire.parent().unwrap()).unwrap();
    // Up to the subagent's wrapped step (line 11), then a pass.
    std::fs::write(&wire, lines[..11].join("\n") + "\n").unwrap();
    s.once();
    assert_eq!(
        agent_days(&s, "kimi"),
        days_of(&[("2026-02-13", [4_180, 519, 0, 20_736])])
    );
    // The subagent's own wire, then the rest of the session, then the fork.
    let sub = "subagents/a7f3c2e1/wire.jsonl";
    std::fs::create_dir_all(wire.parent().unwrap().join("subagents/a7f3c2e1")).unwrap();
    std::fs::copy(
        source.join(KIMI_SESSION).join(sub),
        sessions.join(KIMI_SESSION).join(sub),
    )
    .unwrap();
    assert_eq!(s.once()["rows_added"], 0, "the subagent's step is known");
    std::fs::write(&wire, text.clone()).unwrap();
    s.once();
    std::fs::create_dir_all(sessions.join(KIMI_FORK)).unwrap();
    std::fs::copy(
        source.join(KIMI_FORK).join("wire.jsonl"),
        sessions.join(KIMI_FORK).join("wire.jsonl"),
    )
    .unwrap();
    let pass = s.once();
    assert_eq!(pass["rows_added"], 1, "the fork's own step alone: {pass}");
    assert_eq!(agent_days(&s, "kimi"), days_of(&KIMI_DAYS[..2]));
}

/// Kimi's ccusage figures on the fixtures (`CCUSAGE_BIN`; skipped without it): equal but
/// where fixtures/README.md shows ccusage counts wrong: the fork's copies of lines 5, 9
/// and 13 again on 2026-02-13, and session C's subagent step that only its
/// `SubagentEvent` holds (line 4) missed on 2026-02-15.
#[test]
fn kimi_daily_tokens_equal_ccusages_but_for_forks_and_wrapped_steps() {
    let s = with_kimi_fixture();
    s.once();
    let Some(theirs) = common::ccusage_days(&s, "kimi", &[]) else {
        eprintln!("CCUSAGE_BIN not set: not compared");
        return;
    };
    let mut predicted = agent_days(&s, "kimi");
    let copies = [1_800 + 380 + 500, 90 + 129 + 50, 0, 7_936 + 11_776];
    let wrapped = [600, 60, 0, 1_536];
    for i in 0..4 {
        predicted[0].1[i] += copies[i];
        predicted[2].1[i] -= wrapped[i];
    }
    assert_eq!(theirs, predicted);
}

/// `KIMI_SHARE_DIR` (Kimi CLI's own variable) wins over `KIMI_DATA_DIR` (ccusage's comma
/// list), which is read when it alone is set; `doctor` names the folder it looked in.
#[test]
fn kimi_is_found_through_its_variables_and_doctor_names_its_folder() {
    let s = Scratch::new();
    let share = s.dir.path().join("share");
    std::fs::create_dir_all(&share).unwrap();
    common::copy_tree(&fixture("kimi"), &share);
    let decoy = s.dir.path().join("decoy");
    std::fs::create_dir_all(decoy.join("sessions")).unwrap();
    let run = |vars: &[(&str, &Path)]| {
        let mut cmd = s.cmd();
        for (var, path) in vars {
            cmd.env(var, path);
        }
        cmd.args(["daily", "--json", "--agent", "kimi", "--timezone", "UTC"]);
        common::days(&json(&cmd.assert().success().get_output().stdout))
    };
    assert_eq!(
        run(&[("KIMI_SHARE_DIR", &decoy), ("KIMI_DATA_DIR", &share)]),
        Days::new()
    );
    assert_eq!(run(&[("KIMI_DATA_DIR", &share)]), days_of(&KIMI_DAYS));
    let out = s
        .cmd()
        .env("KIMI_SHARE_DIR", &share)
        .args(["doctor"])
        .assert()
        .success();
    let doctor = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        doctor.contains(&share.join("sessions").display().to_string()),
        "{doctor}"
    );
}

/// A generated Kimi home read by `once` killed at any moment, then run to the end:
/// exactly the generator's totals, and ccusage's where it is at hand.
#[test]
fn a_generated_kimi_home_gives_exactly_its_totals_even_when_killed() {
    let s = Scratch::new();
    let spec = Spec {
        files: 80,
        seed: 31,
        ..Default::default()
    };
    let tree: AgentTree = common::corpus::kimi(&kimi_home(&s), &spec).unwrap();
    common::killed_passes(&s, 12, "3", 80);
    let pass = s.once();
    assert_eq!(
        agent_days(&s, "kimi"),
        oracle(&tree.expected.days),
        "{pass}"
    );
    assert_eq!(agent_row(&s, "kimi")["requests"], tree.expected.rows);
    let Some(theirs) = common::ccusage_days(&s, "kimi", &[]) else {
        eprintln!("CCUSAGE_BIN not set: not compared");
        return;
    };
    assert_eq!(theirs, oracle(&tree.ccusage));
}

// ----- pi-agent -------------------------------------------------------------------------

fn pi_sessions(s: &Scratch) -> PathBuf {
    s.dir.path().join(".pi/agent/sessions")
}

/// The fixtures name their parents where pi keeps them on the machine they come from
/// (`/home/u/.pi/agent/sessions`): a fork's header names its parent where the scratch
/// holds it, as pi's would.
fn pi_text(s: &Scratch, relative: &str) -> String {
    std::fs::read_to_string(fixture("pi/sessions").join(relative))
        .unwrap()
        .replace(
            "/home/u/.pi/agent/sessions",
            &pi_sessions(s).display().to_string(),
        )
}

fn put_pi(s: &Scratch, relative: &str, text: &str) {
    let path = pi_sessions(s).join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn with_pi_fixture() -> Scratch {
    let s = Scratch::new();
    for relative in [PI_PARENT, PI_FORK, PI_LEGACY, PI_LEGACY_FORK] {
        put_pi(&s, relative, &pi_text(&s, relative));
    }
    s
}

const PI_PARENT: &str =
    "--home-u-app--/2026-03-02T09-00-00-000Z_6a1f0c2e-3b4d-4e5f-8a6b-7c8d9e0f1a2b.jsonl";
const PI_FORK: &str =
    "--home-u-app--/2026-03-03T10-00-00-000Z_7b2a1d3f-4c5e-4f60-9b7c-8d9e0f1a2b3c.jsonl";
const PI_LEGACY: &str =
    "--home-u-other--/2026-03-04T08-00-00-000Z_8c3b2e40-5d6f-4071-8c8d-9e0f1a2b3c4d.jsonl";
const PI_LEGACY_FORK: &str =
    "--home-u-other--/2026-03-05T09-00-00-000Z_9d4c3f51-6e70-4182-9d9e-0f1a2b3c4d5e.jsonl";

const PI_DAYS: [(&str, [u64; 4]); 4] = [
    ("2026-03-02", [5_004, 1_005, 12_400, 32_000]),
    ("2026-03-03", [50, 720, 0, 12_400]),
    ("2026-03-04", [800, 60, 0, 0]),
    ("2026-03-05", [100, 10, 0, 0]),
];

/// The session report's `[input, output, cache creation, cache read]` of `session`.
fn session_sums(s: &Scratch, agent: &str, session: &str) -> [u64; 4] {
    let sessions = s.report(&["session", "--agent", agent]);
    let row = sessions["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["sessionId"] == session)
        .unwrap_or_else(|| panic!("no session {session}: {sessions}"));
    common::sums(row)
}

#[test]
fn the_pi_fixtures_give_the_hand_worked_totals_and_pis_own_costs() {
    let s = with_pi_fixture();
    let pass = s.once();
    assert_eq!(pass["lines_skipped"], 0, "{pass}");
    assert_eq!(agent_days(&s, "pi"), days_of(&PI_DAYS));
    assert_eq!(agent_row(&s, "pi")["requests"], 7);
    // The forks' sessions hold their own replies alone; the copies are their parents'.
    assert_eq!(
        session_sums(&s, "pi", "7b2a1d3f-4c5e-4f60-9b7c-8d9e0f1a2b3c"),
        [50, 80, 0, 12_400]
    );
    assert_eq!(
        session_sums(&s, "pi", "9d4c3f51-6e70-4182-9d9e-0f1a2b3c4d5e"),
        [100, 10, 0, 0]
    );
    // pi's own cost is the cost in `auto` mode.
    let daily = s.daily(&["--timezone", "UTC", "--agent", "pi", "--since", "20260304"]);
    assert_eq!(daily["daily"][0]["totalCost"], 0.0011, "{daily}");
    assert_eq!(s.once()["rows_added"], 0);
}

/// A fork read before its parent, the parent appended in two passes, and an old-format
/// session rewritten whole by pi's migration: every reply once, in its own session.
#[test]
fn pi_sessions_appended_forked_and_migrated_between_passes_count_once() {
    let s = Scratch::new();
    let put = |relative: &str, text: &str| put_pi(&s, relative, text);
    let read = |relative: &str| pi_text(&s, relative);
    put(PI_FORK, &read(PI_FORK));
    put(PI_LEGACY, &read(PI_LEGACY));
    s.once();
    let parent = read(PI_PARENT);
    let lines: Vec<&str> = parent.lines().collect();
    put(PI_PARENT, &(lines[..7].join("\n") + "\n"));
    let pass = s.once();
    assert_eq!(
        (&pass["rows_added"], &pass["rows_upgraded"]),
        (&0.into(), &2.into()),
        "the parent's replies take their copies' rows: {pass}"
    );
    put(PI_PARENT, &parent);
    s.once();
    // pi's migration on resume: the same entries with ids, as version 3.
    let migrated: String = read(PI_LEGACY)
        .lines()
        .enumerate()
        .map(|(at, line)| {
            let mut entry: serde_json::Value = serde_json::from_str(line).unwrap();
            if at == 0 {
                entry["version"] = 3.into();
            } else {
                entry["id"] = format!("c000000{at}").into();
                entry["parentId"] = serde_json::Value::Null;
            }
            entry.to_string() + "\n"
        })
        .collect();
    put(PI_LEGACY, &migrated);
    let pass = s.once();
    assert_eq!(pass["rows_added"], 0, "{pass}");
    assert_eq!(agent_days(&s, "pi"), days_of(&PI_DAYS[..3]));
    assert_eq!(
        session_sums(&s, "pi", "6a1f0c2e-3b4d-4e5f-8a6b-7c8d9e0f1a2b"),
        [5_004, 1_645, 12_400, 32_000]
    );
}

/// pi's ccusage figures on the fixtures (`CCUSAGE_BIN`; skipped without it): equal but
/// on 2026-03-04, where ccusage counts P4's copy of the old-format P3's reply again (it
/// tells a fork's copies by their entry ids, which an old-format entry has none of).
#[test]
fn pi_daily_tokens_equal_ccusages_but_for_a_fork_of_an_old_session() {
    let s = with_pi_fixture();
    s.once();
    let sessions = pi_sessions(&s);
    let Some(theirs) = common::ccusage_days(&s, "pi", &[("PI_AGENT_DIR", &sessions)]) else {
        eprintln!("CCUSAGE_BIN not set: not compared");
        return;
    };
    let mut predicted = agent_days(&s, "pi");
    predicted[2].1[0] += 800;
    predicted[2].1[1] += 60;
    assert_eq!(theirs, predicted);
}

/// A generated pi home read by `once` killed at any moment, then run to the end: exactly
/// the generator's totals, and ccusage's where it is at hand.
#[test]
fn a_generated_pi_home_gives_exactly_its_totals_even_when_killed() {
    let s = Scratch::new();
    let spec = Spec {
        files: 80,
        seed: 37,
        ..Default::default()
    };
    let tree = common::corpus::pi(&pi_sessions(&s), &spec).unwrap();
    common::killed_passes(&s, 12, "3", 80);
    s.once();
    assert_eq!(agent_days(&s, "pi"), oracle(&tree.expected.days));
    assert_eq!(agent_row(&s, "pi")["requests"], tree.expected.rows);
    let sessions = pi_sessions(&s);
    let Some(theirs) = common::ccusage_days(&s, "pi", &[("PI_AGENT_DIR", &sessions)]) else {
        eprintln!("CCUSAGE_BIN not set: not compared");
        return;
    };
    assert_eq!(theirs, oracle(&tree.ccusage));
}

// ----- OpenClaw -------------------------------------------------------------------------

fn openclaw_home(s: &Scratch) -> PathBuf {
    s.dir.path().join(".openclaw")
}

fn with_openclaw_fixture() -> Scratch {
    let s = Scratch::new();
    std::fs::create_dir_all(openclaw_home(&s)).unwrap();
    common::copy_tree(&fixture("openclaw"), &openclaw_home(&s));
    s
}

const OPENCLAW_LIVE: &str = "agents/main/sessions/9a1c7e52-4b3d-4f6a-8e2c-1d0b9f8a7c61.jsonl";

const OPENCLAW_DAYS: [(&str, [u64; 4]); 3] = [
    ("2026-04-10", [2_004, 470, 15_000, 30_000]),
    ("2026-04-11", [1_200, 100, 0, 2_000]),
    ("2026-04-12", [1_500, 115, 0, 800]),
];

#[test]
fn the_openclaw_fixtures_give_the_hand_worked_totals_archives_included() {
    let s = with_openclaw_fixture();
    let pass = s.once();
    assert_eq!(pass["lines_skipped"], 0, "{pass}");
    assert_eq!(agent_days(&s, "openclaw"), days_of(&OPENCLAW_DAYS));
    let row = agent_row(&s, "openclaw");
    assert_eq!(row["requests"], 6, "{row}");
    // Models named by `model_change` and `model-snapshot` where the reply names none.
    assert_eq!(
        row["modelsUsed"],
        serde_json::json!([
            "claude-haiku-4-5",
            "claude-sonnet-4-5",
            "gpt-5.2",
            "minimax-m2.5-free"
        ])
    );
    let mut ids = session_ids(&s, "openclaw");
    ids.sort();
    assert_eq!(
        ids,
        [
            "0b2d8f63-5c4e-4a7b-9f3d-2e1c0a9b8d72",
            "1c3e9a74-6d5f-4b8c-8a4e-3f2d1b0c9e83-topic-7",
            "2d4f0b85-7e60-4c9d-9b5f-402e2c1d0f94",
            "9a1c7e52-4b3d-4f6a-8e2c-1d0b9f8a7c61"
        ]
    );
}

/// A transcript read in two passes (the model named between them carried over in the
/// cursor's state), then reset by OpenClaw (renamed `.jsonl.reset.<time>`): every reply
/// once, with its model.
#[test]
fn an_openclaw_transcript_appended_then_reset_counts_each_reply_once() {
    let s = Scratch::new();
    let text = std::fs::read_to_string(fixture("openclaw").join(OPENCLAW_LIVE)).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let live = openclaw_home(&s).join(OPENCLAW_LIVE);
    std::fs::create_dir_all(live.parent().unwrap()).unwrap();
    // Up to the `model_change` to gpt-5.2 (line 9); the rest, whose line 12 names no model.
    std::fs::write(&live, lines[..9].join("\n") + "\n").unwrap();
    s.once();
    std::fs::write(&live, text.clone()).unwrap();
    s.once();
    let day = s.daily(&[
        "--agent",
        "openclaw",
        "--since",
        "20260411",
        "--timezone",
        "UTC",
    ]);
    assert_eq!(
        day["daily"][0]["modelsUsed"],
        serde_json::json!(["gpt-5.2"])
    );
    let archived = live.with_file_name(format!(
        "{}.reset.2026-04-12T10-00-00.000Z",
        live.file_name().unwrap().to_string_lossy()
    ));
    std::fs::rename(&live, &archived).unwrap();
    let pass = s.once();
    assert_eq!(pass["rows_added"], 0, "{pass}");
    assert_eq!(
        agent_days(&s, "openclaw"),
        days_of(&[
            ("2026-04-10", [2_004, 470, 15_000, 30_000]),
            ("2026-04-11", [500, 40, 0, 0]),
        ])
    );
}

/// OpenClaw's daily tokens equal ccusage's on the fixtures (`CCUSAGE_BIN`; skipped
/// without it).
#[test]
fn openclaw_daily_tokens_equal_ccusages() {
    let s = with_openclaw_fixture();
    s.once();
    let home = openclaw_home(&s);
    let Some(theirs) = common::ccusage_days(&s, "openclaw", &[("OPENCLAW_DIR", &home)]) else {
        eprintln!("CCUSAGE_BIN not set: not compared");
        return;
    };
    assert_eq!(theirs, agent_days(&s, "openclaw"));
}

/// `OPENCLAW_STATE_DIR` (OpenClaw's own variable) is where the transcripts are looked for
/// when it is set; else every state dir OpenClaw has had a name for.
#[test]
fn openclaw_is_found_in_its_state_dir_and_its_older_names() {
    let s = Scratch::new();
    let old = s.dir.path().join(".clawdbot");
    std::fs::create_dir_all(&old).unwrap();
    common::copy_tree(&fixture("openclaw"), &old);
    s.once();
    assert_eq!(agent_days(&s, "openclaw"), days_of(&OPENCLAW_DAYS));
    let other = Scratch::new();
    let state = other.dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    common::copy_tree(&fixture("openclaw"), &state);
    let out = other
        .cmd()
        .env("OPENCLAW_STATE_DIR", &state)
        .args([
            "daily",
            "--json",
            "--agent",
            "openclaw",
            "--timezone",
            "UTC",
        ])
        .assert()
        .success();
    assert_eq!(
        common::days(&json(&out.get_output().stdout)),
        days_of(&OPENCLAW_DAYS)
    );
}

/// A generated OpenClaw state dir read by `once` killed at any moment, then run to the
/// end: exactly the generator's totals, and ccusage's where it is at hand.
#[test]
fn a_generated_openclaw_home_gives_exactly_its_totals_even_when_killed() {
    let s = Scratch::new();
    let spec = Spec {
        files: 80,
        seed: 41,
        ..Default::default()
    };
    let tree = common::corpus::openclaw(&openclaw_home(&s), &spec).unwrap();
    common::killed_passes(&s, 12, "3", 80);
    s.once();
    assert_eq!(agent_days(&s, "openclaw"), oracle(&tree.expected.days));
    assert_eq!(agent_row(&s, "openclaw")["requests"], tree.expected.rows);
    let home = openclaw_home(&s);
    let Some(theirs) = common::ccusage_days(&s, "openclaw", &[("OPENCLAW_DIR", &home)]) else {
        eprintln!("CCUSAGE_BIN not set: not compared");
        return;
    };
    assert_eq!(theirs, oracle(&tree.ccusage));
}

// ----- Goose ----------------------------------------------------------------------------

/// Goose's `sessions.db` where Goose keeps it on Linux (`~/.local/share/goose/sessions`).
fn goose_db_path(s: &Scratch) -> PathBuf {
    s.dir.path().join(".local/share/goose/sessions/sessions.db")
}

/// Goose's database with the fixture's sessions, in WAL mode as Goose keeps it; the
/// connection stays open, as Goose's does.
fn goose_db(s: &Scratch) -> rusqlite::Connection {
    let path = goose_db_path(s);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let db = rusqlite::Connection::open(&path).unwrap();
    db.pragma_update(None, "journal_mode", "WAL").unwrap();
    db.execute_batch(include_str!("../fixtures/goose/schema.sql"))
        .unwrap();
    db.execute_batch(include_str!("../fixtures/goose/sessions.sql"))
        .unwrap();
    db
}

const GOOSE_DAYS: [(&str, [u64; 4]); 3] = [
    ("2026-05-05", [68_000, 6_700, 0, 0]),
    ("2026-05-06", [5_000, 300, 0, 0]),
    ("2026-05-07", [4_000, 250, 0, 0]),
];

#[test]
fn the_goose_fixtures_give_the_hand_worked_totals_and_gooses_own_cost() {
    let s = Scratch::new();
    let _goose = goose_db(&s);
    let pass = s.once();
    assert_eq!(pass["lines_skipped"], 0, "{pass}");
    assert_eq!(agent_days(&s, "goose"), days_of(&GOOSE_DAYS));
    let row = agent_row(&s, "goose");
    assert_eq!(row["requests"], 5, "{row}");
    assert_eq!(
        row["unpricedModels"],
        serde_json::json!(["goose-unknown-model"])
    );
    // Goose's own cost for the session that has one.
    let sessions = s.report(&["session", "--agent", "goose"]);
    let first = sessions["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["sessionId"] == "20260505_1")
        .unwrap_or_else(|| panic!("{sessions}"));
    assert_eq!(first["totalCost"], 0.192, "{first}");
    assert_eq!(s.once()["rows_added"], 0);
}

/// Goose updates a session's running totals in place after each call, deletes sessions,
/// starts new ones, all while it holds the database open: each session is one row with
/// its latest totals, and a deleted one keeps what was read.
#[test]
fn goose_sessions_updated_deleted_and_added_between_passes_count_once() {
    let s = Scratch::new();
    let goose = goose_db(&s);
    s.once();
    goose
        .execute_batch(
            "UPDATE sessions SET accumulated_input_tokens = accumulated_input_tokens + 2000,
                 accumulated_output_tokens = accumulated_output_tokens + 100,
                 accumulated_total_tokens = accumulated_total_tokens + 2100,
                 updated_at = '2026-05-08 09:00:00'
             WHERE id = '20260505_1';
             DELETE FROM sessions WHERE id = '20260506_1';
             INSERT INTO sessions (id, working_dir, created_at, updated_at,
                 accumulated_total_tokens, accumulated_input_tokens, accumulated_output_tokens,
                 provider_name, model_config_json)
             VALUES ('20260508_1', '/home/u/app', '2026-05-08 09:30:00', '2026-05-08 09:31:00',
                 700, 600, 100, 'anthropic', '{\"model_name\":\"claude-sonnet-4-5\"}');",
        )
        .unwrap();
    let pass = s.once();
    assert_eq!(
        (&pass["rows_added"], &pass["rows_upgraded"]),
        (&1.into(), &1.into()),
        "{pass}"
    );
    let mut grown = days_of(&GOOSE_DAYS);
    grown[0].1[0] += 2_000;
    grown[0].1[1] += 100;
    grown.push(("2026-05-08".to_string(), [600, 100, 0, 0]));
    assert_eq!(agent_days(&s, "goose"), grown);
    assert_eq!(s.once()["rows_added"], 0);
}

/// Goose's ccusage figures on the fixtures (`CCUSAGE_BIN`; skipped without it): equal but
/// where fixtures/README.md shows ccusage counts wrong: it leaves the thinking a total
/// holds beyond input and output (session 20260505_2: 2,500) out of its output, and skips
/// the session without a model config (20260507_1: 1,000 in, 100 out).
#[test]
fn goose_daily_tokens_equal_ccusages_but_for_thinking_and_unconfigured_sessions() {
    let s = Scratch::new();
    let _goose = goose_db(&s);
    s.once();
    let Some(theirs) = common::ccusage_days(&s, "goose", &[]) else {
        eprintln!("CCUSAGE_BIN not set: not compared");
        return;
    };
    let mut predicted = agent_days(&s, "goose");
    predicted[0].1[1] -= 2_500;
    predicted[2].1[0] -= 1_000;
    predicted[2].1[1] -= 100;
    assert_eq!(theirs, predicted);
}

/// A generated Goose database read by `once` killed at any moment, its sessions then grown
/// in place and read again by killed runs: exactly the generator's totals, grown; and
/// ccusage's figures where it is at hand.
#[test]
fn a_generated_goose_database_gives_exactly_its_totals_even_when_killed() {
    let s = Scratch::new();
    let spec = Spec {
        files: 400,
        seed: 43,
        ..Default::default()
    };
    let tree = common::corpus::goose(&goose_db_path(&s), &spec).unwrap();
    common::killed_passes(&s, 6, "3", 40);
    s.once();
    assert_eq!(agent_days(&s, "goose"), oracle(&tree.expected.days));
    assert_eq!(agent_row(&s, "goose")["requests"], tree.expected.rows);
    if let Some(theirs) = common::ccusage_days(&s, "goose", &[]) {
        assert_eq!(theirs, oracle(&tree.ccusage));
    }
    // Every session with running totals grows by 1,000 input tokens.
    let goose = rusqlite::Connection::open(goose_db_path(&s)).unwrap();
    let grown = goose
        .execute(
            "UPDATE sessions SET accumulated_input_tokens = accumulated_input_tokens + 1000,
                 accumulated_total_tokens = accumulated_total_tokens + 1000,
                 updated_at = '2026-12-01 00:00:00'
             WHERE accumulated_input_tokens > 0",
            [],
        )
        .unwrap();
    assert!(grown > 100, "{grown}");
    let mut days = tree.expected.days.clone();
    let mut stmt = goose
        .prepare(
            "SELECT substr(created_at, 1, 10) FROM sessions WHERE accumulated_input_tokens > 0",
        )
        .unwrap();
    for day in stmt.query_map([], |r| r.get::<_, String>(0)).unwrap() {
        days.get_mut(&day.unwrap()).unwrap()[0] += 1_000;
    }
    common::killed_passes(&s, 6, "3", 40);
    s.once();
    assert_eq!(agent_days(&s, "goose"), oracle(&days));
    assert_eq!(agent_row(&s, "goose")["requests"], tree.expected.rows);
}

// ----- All four -------------------------------------------------------------------------

/// Every fixture of the four agents in one home.
fn with_every_fixture() -> (Scratch, rusqlite::Connection) {
    let s = with_kimi_fixture();
    for (from, to) in [
        ("pi/sessions", pi_sessions(&s)),
        ("openclaw", openclaw_home(&s)),
    ] {
        std::fs::create_dir_all(&to).unwrap();
        common::copy_tree(&fixture(from), &to);
    }
    let goose = goose_db(&s);
    (s, goose)
}

const FOUR: [&str; 4] = ["kimi", "pi", "openclaw", "goose"];

/// `--agent` takes each agent's name, metrics label each one's series, `doctor` names the
/// folders it looked in for each, and an export imported into another ledger gives the
/// same `agents` view.
#[test]
fn agent_filters_metrics_doctor_and_export_cover_the_four_agents() {
    let (s, _goose) = with_every_fixture();
    s.once();
    let all = common::days(&s.daily(&["--timezone", "UTC", "--agent", &FOUR.join(",")]));
    assert_eq!(all.len(), 13, "three days each, four of pi's: {all:?}");

    let out = s.cmd().args(["metrics"]).assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    for (agent, output) in [
        ("kimi", 1_164.0),
        ("pi", 1_795.0),
        ("openclaw", 685.0),
        ("goose", 7_250.0),
    ] {
        let label = format!("agent=\"{agent}\"");
        let sum: f64 = text
            .lines()
            .filter(|l| {
                l.starts_with("cco_stats_tokens_total{")
                    && l.contains(&label)
                    && l.contains("type=\"output\"")
            })
            .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
            .sum();
        assert_eq!(sum, output, "{agent}: {text}");
    }

    let out = s.cmd().args(["doctor"]).assert().success();
    let doctor = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    for folder in [
        ".kimi/sessions",
        ".pi/agent/sessions",
        ".openclaw/agents",
        ".clawdbot/agents",
        ".local/share/goose/sessions",
    ] {
        assert!(doctor.contains(folder), "{folder}: {doctor}");
    }

    let out = s.cmd().args(["export"]).assert().success();
    let export = out.get_output().stdout.clone();
    let text = String::from_utf8(export.clone()).unwrap();
    for agent in FOUR {
        assert!(text.contains(&format!("\"agent\":\"{agent}\"")), "{agent}");
    }
    let file = s.dir.path().join("export.ndjson");
    std::fs::write(&file, &export).unwrap();
    let other = Scratch::new();
    other.cmd().args(["import"]).arg(&file).assert().success();
    for agent in FOUR {
        assert_eq!(agent_row(&other, agent), agent_row(&s, agent), "{agent}");
    }
}

/// `watch` reads a Kimi wire as it is appended and Goose's sessions as Goose updates them
/// (it learns of those from the database's `-wal`).
#[test]
fn watch_reads_kimi_appends_and_goose_updates() {
    let s = Scratch::new();
    let goose = goose_db(&s);
    let wire = kimi_home(&s)
        .join("sessions")
        .join(KIMI_SESSION)
        .join("wire.jsonl");
    std::fs::create_dir_all(wire.parent().unwrap()).unwrap();
    std::fs::write(&wire, "").unwrap();
    let _watch = Killed(
        s.std_cmd()
            .args(["watch", "--interval", "1h", "--rescan", "1h"])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let rows = |want: u64, what: &str| {
        let started = std::time::Instant::now();
        loop {
            let out = s.cmd().args(["status", "--json"]).output().unwrap();
            let have = match out.status.success() {
                true => json(&out.stdout)["rows"].as_u64().unwrap(),
                false => 0,
            };
            if have == want {
                return;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(10),
                "{what}: {have} rows, want {want}"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    rows(5, "Goose's sessions at start");
    let text = std::fs::read_to_string(
        fixture("kimi/sessions")
            .join(KIMI_SESSION)
            .join("wire.jsonl"),
    )
    .unwrap();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&wire)
        .unwrap();
    std::io::Write::write_all(&mut file, text.as_bytes()).unwrap();
    rows(5 + 6, "the Kimi session appended");
    goose
        .execute(
            "UPDATE sessions SET accumulated_output_tokens = 4200, accumulated_total_tokens = 52200,
                 updated_at = '2026-05-08 09:00:00' WHERE id = '20260505_1'",
            [],
        )
        .unwrap();
    let started = std::time::Instant::now();
    while agent_days(&s, "goose")[0].1[1] != 6_700 + 1_000 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "the Goose session's growth was not read"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A child process killed when the test ends, whether it passes or fails (a `watch` left
/// running would hold the test's output open).
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
