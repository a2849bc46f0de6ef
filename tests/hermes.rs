//! Hermes Agent through the real binary: a state database made with Hermes' own sessions
//! table (`fixtures/hermes/schema.sql`): the hand-made fixture's totals, a session whose
//! counts grow in place between passes, `HERMES_HOME`, runs killed while Hermes goes on
//! counting, and ccusage 20.0.24's daily tokens.

mod common;

use std::path::{Path, PathBuf};

use common::{Scratch, agent_days, day, json};
use rusqlite::Connection;
use serde_json::Value;

const SCHEMA: &str = include_str!("../fixtures/hermes/schema.sql");

fn hermes_home(s: &Scratch) -> PathBuf {
    s.dir.path().join(".hermes")
}

/// Hermes' state database in `home`, in WAL mode as Hermes keeps it, with the fixture.
fn with_fixture_in(s: Scratch, home: &Path) -> Scratch {
    std::fs::create_dir_all(home).unwrap();
    let db = Connection::open(home.join("state.db")).unwrap();
    db.pragma_update(None, "journal_mode", "WAL").unwrap();
    db.execute_batch(SCHEMA).unwrap();
    db.execute_batch(include_str!("../fixtures/hermes/sessions.sql"))
        .unwrap();
    s
}

fn with_fixture() -> Scratch {
    let s = Scratch::new();
    let home = hermes_home(&s);
    with_fixture_in(s, &home)
}

/// The hand-worked totals of `fixtures/README.md` (reasoning inside output).
fn fixture_days() -> Vec<(String, [u64; 4])> {
    vec![
        day("2026-04-10", [14_000, 3_900, 6_000, 80_000]),
        day("2026-04-11", [5_000, 1_000, 0, 1_000]),
    ]
}

fn requests(s: &Scratch) -> Value {
    s.report(&["agents", "--agent", "hermes"])["agents"][0]["requests"].clone()
}

#[test]
fn the_hermes_fixture_gives_the_totals_worked_out_by_hand() {
    let s = with_fixture();
    let pass = s.once();
    assert_eq!(pass["rows_added"], 3, "{pass}");
    assert_eq!(agent_days(&s, "hermes"), fixture_days());
    // Hermes' own costs in `auto` mode: the estimate (0.21), the actual one over the
    // estimate (0.05).
    let daily = s.daily(&["--agent", "hermes", "--timezone", "UTC"]);
    let first = daily["daily"][0]["totalCost"].as_f64().unwrap();
    assert!((first - 0.26).abs() < 1e-9, "{daily}");
    let sessions = s.report(&["session", "--agent", "hermes"]);
    assert_eq!(
        sessions["sessions"].as_array().unwrap().len(),
        3,
        "{sessions}"
    );
    assert_eq!(s.once()["rows_added"], 0);
}

/// Hermes adds each call's counts to its session's row: read again, the session's one
/// row follows (never the sum of the reads).
#[test]
fn a_session_whose_counts_grow_in_place_counts_once_at_its_latest() {
    let s = with_fixture();
    s.once();
    let db = Connection::open(hermes_home(&s).join("state.db")).unwrap();
    db.execute(
        "UPDATE sessions SET input_tokens = input_tokens + 1000, output_tokens = output_tokens + 50,
             api_call_count = api_call_count + 1 WHERE id = '20260411_080000_a7b8c9'",
        [],
    )
    .unwrap();
    let pass = s.once();
    assert_eq!(
        (&pass["rows_added"], &pass["rows_upgraded"]),
        (&0.into(), &1.into()),
        "{pass}"
    );
    let mut expected = fixture_days();
    expected[1].1[0] += 1_000;
    expected[1].1[1] += 50;
    assert_eq!(agent_days(&s, "hermes"), expected);
    assert_eq!(requests(&s), 3);
}

/// `HERMES_HOME` (a comma list, as ccusage reads it) names the homes.
#[test]
fn hermes_home_names_where_the_database_is() {
    let s = Scratch::new();
    let elsewhere = s.dir.path().join("elsewhere");
    let s = with_fixture_in(s, &elsewhere);
    let out = s
        .cmd()
        .env("HERMES_HOME", format!("{},", elsewhere.display()))
        .args(["once", "--json"])
        .assert()
        .success();
    assert_eq!(json(&out.get_output().stdout)["rows_added"], 3);
    assert_eq!(agent_days(&s, "hermes"), fixture_days());
}

/// Daily tokens equal ccusage 20.0.24's on the fixture (`CCUSAGE_BIN`; skipped without
/// it) but for the reasoning tokens, which ccusage counts only in its `totalTokens`:
/// 500 on 2026-04-10, 200 on 2026-04-11.
#[test]
fn daily_tokens_equal_ccusages_but_for_the_reasoning_it_leaves_out_of_output() {
    let s = with_fixture();
    s.once();
    let Some(theirs) = common::ccusage_days(&s, "hermes", &[]) else {
        eprintln!("CCUSAGE_BIN not set: not compared");
        return;
    };
    let reasoning = [500, 200];
    let ours: Vec<(String, [u64; 4])> = agent_days(&s, "hermes")
        .into_iter()
        .zip(reasoning)
        .map(|((d, [i, o, w, r]), t)| (d, [i, o - t, w, r]))
        .collect();
    assert_eq!(theirs, ours);
}

/// A generated Hermes database read by `once` killed at any moment, Hermes finishing its
/// sessions' counts in place halfway through: exactly the generator's final totals, and
/// ccusage's oracle where ccusage is at hand.
#[test]
fn a_generated_database_gives_exactly_the_generators_totals_even_when_killed() {
    let s = Scratch::new();
    let spec = common::corpus::Spec {
        files: 300,
        seed: 43,
        ..Default::default()
    };
    let tree = common::corpus::hermes(&hermes_home(&s), &spec, 0).unwrap();
    for round in 0..10u64 {
        if round == 5 {
            assert_eq!(
                common::corpus::hermes(&hermes_home(&s), &spec, 1).unwrap(),
                tree
            );
        }
        let mut child = s
            .std_cmd()
            .args(["once", "--batch-size", "20"])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(round * 11 % 70));
        child.kill().unwrap();
        child.wait().unwrap();
    }
    s.once();
    let oracle = |days: &std::collections::BTreeMap<String, [u64; 4]>| {
        days.iter()
            .map(|(d, sums)| (d.clone(), *sums))
            .collect::<Vec<_>>()
    };
    assert_eq!(agent_days(&s, "hermes"), oracle(&tree.expected.days));
    assert_eq!(requests(&s), tree.expected.rows);
    if let Some(theirs) = common::ccusage_days(&s, "hermes", &[]) {
        assert_eq!(theirs, oracle(&tree.ccusage));
    }
}
