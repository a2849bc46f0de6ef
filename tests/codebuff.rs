//! Codebuff through the real binary: the hand-made fixtures give the totals and credits
//! `fixtures/README.md` works out by hand; chats rewritten with more replies and with a
//! reply grown count each reply once; runs killed at any moment lose and double nothing;
//! and the daily tokens equal ccusage 20.0.24's.

mod common;

use std::path::{Path, PathBuf};

use common::{Scratch, agent_days, agent_row, day, json};
use serde_json::Value;

const CHAT: &str = "manicode/projects/shop/chats/2026-03-05T10-00-00.000Z/chat-messages.json";

fn config(s: &Scratch) -> PathBuf {
    s.dir.path().join(".config")
}

fn with_fixture() -> Scratch {
    let s = Scratch::new();
    std::fs::create_dir_all(config(&s)).unwrap();
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/codebuff");
    common::copy_tree(&from, &config(&s));
    s
}

/// The hand-worked totals of `fixtures/README.md`.
fn fixture_days() -> Vec<(String, [u64; 4])> {
    vec![
        day("2026-03-05", [10_000, 1_600, 2_000, 32_500]),
        day("2026-03-06", [1_300, 700, 0, 0]),
    ]
}

#[test]
fn the_codebuff_fixtures_give_the_hand_worked_totals_and_credits() {
    let s = with_fixture();
    let pass = s.once();
    assert_eq!(pass["lines_skipped"], 0, "{pass}");
    assert_eq!(agent_days(&s, "codebuff"), fixture_days());
    let row = agent_row(&s, "codebuff");
    // Three replies in the shop chat (one of credits alone), two in the api chat.
    assert_eq!(row["requests"], 5, "{row}");
    assert_eq!(row["credits"], 17.5, "{row}");
    let sessions = s.report(&["session", "--agent", "codebuff"]);
    let ids: Vec<&str> = sessions["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["sessionId"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"2026-03-05T10-00-00.000Z"), "{sessions}");
    assert_eq!(s.once()["files_changed"], 0);
}

/// The CLI rewrites a chat whole after each turn: a reply whose usage grew replaces its
/// row, a new reply adds one, and replies read again add nothing.
#[test]
fn a_chat_rewritten_with_a_reply_grown_and_one_more_counts_each_once() {
    let s = with_fixture();
    s.once();
    let path = config(&s).join(CHAT);
    let mut chat: Value = json(&std::fs::read(&path).unwrap());
    chat[1]["metadata"]["usage"]["outputTokens"] = 1_000.into();
    let mut more = chat[1].clone();
    more["id"] = "ai-new".into();
    more["timestamp"] = "2026-03-06T12:00:00.000Z".into();
    more["credits"] = 2.into();
    chat.as_array_mut().unwrap().push(more);
    let temp = path.with_extension("tmp");
    std::fs::write(&temp, serde_json::to_vec_pretty(&chat).unwrap()).unwrap();
    std::fs::rename(&temp, &path).unwrap();
    let pass = s.once();
    assert_eq!(
        (&pass["rows_added"], &pass["rows_upgraded"]),
        (&1.into(), &1.into()),
        "{pass}"
    );
    let mut expected = fixture_days();
    expected[0].1[1] += 100;
    expected[1].1 = [1_300 + 4_000, 700 + 1_000, 2_000, 30_000];
    assert_eq!(agent_days(&s, "codebuff"), expected);
    assert_eq!(agent_row(&s, "codebuff")["credits"], 19.5);
}

/// `CODEBUFF_DATA_DIR` (a comma list of channel folders or their `projects/`) replaces
/// the default channels.
#[test]
fn the_data_variable_names_the_channel_folders() {
    let s = with_fixture();
    let dev = config(&s).join("manicode-dev/projects");
    let out = s
        .cmd()
        .env("CODEBUFF_DATA_DIR", format!("{}", dev.display()))
        .args(["once", "--json"])
        .assert()
        .success();
    assert_eq!(json(&out.get_output().stdout)["rows_added"], 2);
    assert_eq!(
        agent_days(&s, "codebuff"),
        vec![day("2026-03-06", [1_300, 700, 0, 0])]
    );
}

/// Daily tokens equal ccusage 20.0.24's on the fixtures (`CCUSAGE_BIN`; skipped
/// without it).
#[test]
fn daily_tokens_equal_ccusages() {
    let s = with_fixture();
    s.once();
    let Some(theirs) = common::ccusage_days(&s, "codebuff", &[]) else {
        eprintln!("CCUSAGE_BIN not set: not compared");
        return;
    };
    assert_eq!(theirs, agent_days(&s, "codebuff"));
}

/// A generated config folder read by `once` killed at any moment, then run to the end:
/// exactly the generator's totals, and ccusage's where it is at hand.
#[test]
fn a_generated_folder_gives_exactly_the_generators_totals_even_when_killed() {
    let s = Scratch::new();
    let spec = common::corpus::Spec {
        files: 80,
        seed: 41,
        ..Default::default()
    };
    let tree = common::corpus::codebuff(&config(&s), &spec).unwrap();
    for round in 0..12u64 {
        let mut child = s
            .std_cmd()
            .args(["once", "--batch-size", "3"])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(round * 7 % 80));
        child.kill().unwrap();
        child.wait().unwrap();
    }
    s.once();
    let oracle = |days: &std::collections::BTreeMap<String, [u64; 4]>| {
        days.iter()
            .map(|(d, sums)| (d.clone(), *sums))
            .collect::<Vec<_>>()
    };
    assert_eq!(agent_days(&s, "codebuff"), oracle(&tree.expected.days));
    assert_eq!(agent_row(&s, "codebuff")["requests"], tree.expected.rows);
    if let Some(theirs) = common::ccusage_days(&s, "codebuff", &[]) {
        assert_eq!(theirs, oracle(&tree.ccusage));
    }
}
