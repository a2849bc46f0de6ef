//! Gemini CLI and Qwen Code through the real binary: the hand-made fixtures give the totals
//! `fixtures/README.md` works out by hand, generated trees give exactly the generator's
//! totals (runs killed at any moment included), and ccusage 20.0.24, where it is at hand
//! (`CCUSAGE_BIN`), gives exactly the figures its known miscounts predict.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use common::corpus::{self, AgentTree, Spec};
use common::{Scratch, days, expected_days, json};

/// The agents' homes inside a scratch's `HOME`.
fn gemini_home(s: &Scratch) -> PathBuf {
    s.dir.path().join(".gemini")
}

fn qwen_home(s: &Scratch) -> PathBuf {
    s.dir.path().join(".qwen")
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

fn with_fixture(name: &str, home: fn(&Scratch) -> PathBuf) -> Scratch {
    let s = Scratch::new();
    std::fs::create_dir_all(home(&s)).unwrap();
    common::copy_tree(&fixture(name), &home(&s));
    s
}

/// Per-day `[input, output, cache creation, cache read]` and total, in UTC.
fn daily(s: &Scratch) -> Vec<(String, [u64; 4], u64)> {
    let report = s.daily(&["--timezone", "UTC"]);
    report["daily"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let [a, b, c, e] = common::sums(d);
            let total = d["totalTokens"].as_u64().unwrap();
            (d["date"].as_str().unwrap().to_string(), [a, b, c, e], total)
        })
        .collect()
}

fn day(date: &str, sums: [u64; 4]) -> (String, [u64; 4], u64) {
    (date.to_string(), sums, sums.iter().sum())
}

#[test]
fn the_gemini_fixtures_give_the_hand_worked_totals() {
    let s = with_fixture("gemini", gemini_home);
    let pass = s.once();
    // The prompt log and the saved chat beside the sessions are not read.
    assert_eq!(pass["lines_skipped"], 0, "{pass}");
    // fixtures/README.md, "Totals": each reply once (re-appended ids, the $set dump, the
    // rewind, the legacy .json and the .jsonl it was resumed into), thoughts as output.
    assert_eq!(
        daily(&s),
        vec![
            day("2026-01-09", [4_000, 400, 0, 5_000]),
            day("2026-01-10", [8_030, 720, 0, 24_000]),
            day("2026-01-11", [4_000, 570, 0, 5_000]),
        ]
    );
    // The subagent belongs to its parent's session.
    let sessions = s.report(&["session"]);
    let ids: Vec<_> = sessions["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["sessionId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 2, "{sessions}");
    assert!(ids.contains(&"a1b2c3d4".to_string()), "{ids:?}");
    assert!(ids.contains(&"0f0e0d0c".to_string()), "{ids:?}");
}

#[test]
fn the_qwen_fixtures_give_the_hand_worked_totals() {
    let s = with_fixture("qwen", qwen_home);
    s.once();
    // Cached input apart from input, a /branch copy counted once, telemetry never.
    assert_eq!(
        daily(&s),
        vec![
            day("2026-01-10", [6_000, 350, 0, 35_000]),
            day("2026-01-11", [9_000, 360, 0, 21_000]),
            day("2026-01-12", [1_000, 20, 0, 0]),
        ]
    );
    // The copies of the branch count in the session they happened in.
    let sessions = s.report(&["session"]);
    let parent = sessions["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["sessionId"] == "4c6e8a0c-2e4a-4c6e-8a0c-2e4a6c8e0a21")
        .unwrap_or_else(|| panic!("{sessions}"));
    assert_eq!(parent["inputTokens"], 6_000 + 8_000);
}

/// Beside Claude Code's and Codex's files, each agent's rows are its own: `--agent`
/// gives each one's hand-worked totals, and the agents view lists them.
#[test]
fn every_agent_in_one_ledger_keeps_its_own_totals() {
    let s = Scratch::with_fixtures();
    for (name, home) in [
        ("gemini", gemini_home as fn(&Scratch) -> PathBuf),
        ("qwen", qwen_home),
    ] {
        std::fs::create_dir_all(home(&s)).unwrap();
        common::copy_tree(&fixture(name), &home(&s));
    }
    let codex = s.dir.path().join(".codex");
    std::fs::create_dir_all(&codex).unwrap();
    common::copy_tree(&fixture("codex"), &codex);
    s.once();
    let total = |agent: &str| {
        s.daily(&["--timezone", "UTC", "--agent", agent])["totals"]["totalTokens"].clone()
    };
    assert_eq!(total("gemini"), 9_400 + 32_750 + 9_570);
    assert_eq!(total("qwen"), 41_350 + 30_360 + 1_020);
    let view = s.report(&["agents"]);
    let row = |agent: &str| {
        view["agents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["agent"] == agent)
            .cloned()
            .unwrap_or_else(|| panic!("no {agent} in {view}"))
    };
    let gemini = row("gemini");
    assert_eq!(gemini["requests"], 9, "{gemini}");
    assert_eq!(gemini["inputTokens"], 4_000 + 8_030 + 4_000);
    assert_eq!(gemini["outputTokens"], 400 + 720 + 570);
    assert_eq!(gemini["cacheReadTokens"], 5_000 + 24_000 + 5_000);
    assert_eq!(
        gemini["modelsUsed"],
        serde_json::json!(["gemini-2.5-flash", "gemini-2.5-pro"])
    );
    assert_eq!(gemini["firstActivity"], "2026-01-09T14:00:10.000Z");
    let qwen = row("qwen");
    assert_eq!(qwen["requests"], 5, "{qwen}");
    assert_eq!(qwen["lastActivity"], "2026-01-12T23:59:59.900Z");
    assert_eq!(view["agents"].as_array().unwrap().len(), 4, "{view}");
}

/// A branch read before the session it was branched from (a ledger that started between
/// the two): once the parent is read, the copies count in the parent's session.
#[test]
fn a_branch_read_first_gives_its_copies_back_to_the_parent() {
    let s = Scratch::new();
    let chats = qwen_home(&s).join("projects/-home-dev-app/chats");
    std::fs::create_dir_all(&chats).unwrap();
    let from = fixture("qwen").join("projects/-home-dev-app/chats");
    let branch = "5d7f9b1d-3f5b-4d7f-9b1d-3f5b7d9f1b22.jsonl";
    let parent = "4c6e8a0c-2e4a-4c6e-8a0c-2e4a6c8e0a21.jsonl";
    std::fs::copy(from.join(branch), chats.join(branch)).unwrap();
    s.once();
    std::fs::copy(from.join(parent), chats.join(parent)).unwrap();
    s.once();
    let sessions = s.report(&["session"]);
    let input = |id: &str| {
        sessions["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["sessionId"] == id)
            .map(|row| row["inputTokens"].as_u64().unwrap())
    };
    assert_eq!(input(&parent[..36]), Some(6_000 + 8_000), "{sessions}");
    assert_eq!(input(&branch[..36]), Some(1_000), "{sessions}");
    // fixtures/README.md: 41,350 + 30,360 (the other project is not here).
    assert_eq!(
        s.daily(&["--timezone", "UTC"])["totals"]["totalTokens"],
        71_710
    );
}

/// The agents' own variables move their homes; a variable naming a missing folder is
/// reported.
#[test]
fn the_agents_own_variables_name_their_folders() {
    let s = Scratch::new();
    let elsewhere = s.dir.path().join("elsewhere");
    std::fs::create_dir_all(elsewhere.join(".gemini")).unwrap();
    common::copy_tree(&fixture("gemini"), &elsewhere.join(".gemini"));
    let runtime = s.dir.path().join("runtime");
    std::fs::create_dir_all(&runtime).unwrap();
    common::copy_tree(&fixture("qwen"), &runtime);
    s.cmd()
        .env("GEMINI_CLI_HOME", &elsewhere)
        .env("QWEN_RUNTIME_DIR", &runtime)
        .env("QWEN_HOME", s.dir.path().join("not-used"))
        .args(["once"])
        .assert()
        .success();
    let totals = s.daily(&["--timezone", "UTC"])["totals"].clone();
    // Both fixtures' totals: Gemini's 9,400 + 32,750 + 9,570 and Qwen's 41,350 + 30,360
    // + 1,020.
    assert_eq!(totals["totalTokens"], 51_720 + 72_730);
}

fn generate(s: &Scratch, spec: &Spec) -> (AgentTree, AgentTree) {
    let gemini = corpus::gemini(&gemini_home(s), spec).unwrap();
    let qwen = corpus::qwen(&qwen_home(s), spec).unwrap();
    (gemini, qwen)
}

/// The two trees' expected days, summed.
fn both_days(gemini: &AgentTree, qwen: &AgentTree) -> Vec<(String, [u64; 4])> {
    let mut expected = gemini.expected.clone();
    corpus::merge(&mut expected, qwen.expected.clone());
    expected_days(&expected)
}

#[test]
fn generated_trees_give_exactly_the_generators_totals() {
    let s = Scratch::new();
    let (gemini, qwen) = generate(&s, &Spec::default());
    let pass = s.once();
    assert_eq!(
        pass["rows_added"],
        gemini.expected.rows + qwen.expected.rows,
        "{pass}"
    );
    assert!(
        pass["lines_skipped"].as_u64().unwrap() > 0,
        "the trees have damaged lines"
    );
    assert_eq!(
        days(&s.daily(&["--timezone", "UTC"])),
        both_days(&gemini, &qwen)
    );
    // A pass that finds nothing new adds nothing.
    assert_eq!(s.once()["rows_added"], 0);
}

#[test]
fn runs_killed_at_any_moment_lose_and_double_nothing() {
    let s = Scratch::new();
    let (gemini, qwen) = generate(
        &s,
        &Spec {
            files: 150,
            seed: 5,
            ..Spec::default()
        },
    );
    let mut kills = 0;
    for delay in (3..).map(|n| n * 7 % 80) {
        let mut child = s
            .std_cmd()
            .args(["once", "--batch-size", "10"])
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        child.kill().unwrap();
        child.wait().unwrap();
        kills += 1;
        if kills == 15 {
            break;
        }
    }
    s.once();
    assert_eq!(
        days(&s.daily(&["--timezone", "UTC"])),
        both_days(&gemini, &qwen)
    );
    assert_eq!(
        s.status()["rows"],
        gemini.expected.rows + qwen.expected.rows
    );
}

/// A legacy `.json` is rewritten whole by the Gemini CLI versions that wrote it: read
/// again, its replies still count once.
#[test]
fn a_legacy_document_rewritten_with_more_replies_counts_each_once() {
    let s = with_fixture("gemini", gemini_home);
    s.once();
    let path = gemini_home(&s).join(
        "tmp/04382e3e2136986122415aa03b903f429a5c2f7ea590135bac4ab947b97dc809/chats/\
         session-2026-01-09T14-00-0f0e0d0c.json",
    );
    let mut document: serde_json::Value = json(&std::fs::read(&path).unwrap());
    document["lastUpdated"] = "2026-01-09T15:00:00.000Z".into();
    document["messages"].as_array_mut().unwrap().push(serde_json::json!({
        "id": "d3e4f5a6-b7c8-4d9e-8f0a-2b3c4d5e6f15",
        "timestamp": "2026-01-09T15:00:00.000Z",
        "type": "gemini",
        "content": "One more thing.",
        "thoughts": [],
        "tokens": {"input": 1000, "output": 10, "cached": 0, "thoughts": 0, "tool": 0, "total": 1010},
        "model": "gemini-2.5-pro"
    }));
    std::fs::write(&path, serde_json::to_string_pretty(&document).unwrap()).unwrap();
    s.once();
    assert_eq!(
        daily(&s)[0],
        day("2026-01-09", [4_000 + 1_000, 400 + 10, 0, 5_000])
    );
}

/// `corpus::gemini` or `corpus::qwen`.
type Generator = fn(&Path, &Spec) -> std::io::Result<AgentTree>;

/// ccusage 20.0.24 on the same generated trees as the ledger: the ledger gives the
/// generator's totals, ccusage exactly the figures its known miscounts predict
/// (`AgentTree::ccusage`, each miscount shown in `fixtures/README.md`), so those are all
/// the differences. Needs `CCUSAGE_BIN` (`make ccusage` fetches it) for the second half.
#[test]
fn ccusage_differs_from_the_ledger_only_by_its_known_miscounts() {
    let generators: [(&str, Generator, &str); 2] = [
        ("gemini", corpus::gemini, ".gemini"),
        ("qwen", corpus::qwen, ".qwen"),
    ];
    for (agent, generate, home) in generators {
        let s = Scratch::new();
        let tree = generate(&s.dir.path().join(home), &Spec::default()).unwrap();
        s.once();
        let ours = days(&s.daily(&["--timezone", "UTC"]));
        assert_eq!(ours, expected_days(&tree.expected), "{agent}");
        let Some(ccusage) = std::env::var_os("CCUSAGE_BIN") else {
            eprintln!("CCUSAGE_BIN is not set: not compared with ccusage");
            continue;
        };
        let out = std::process::Command::new(&ccusage)
            .args([agent, "daily", "--json", "--offline", "--timezone", "UTC"])
            .env("HOME", s.dir.path())
            .env_remove("GEMINI_DATA_DIR")
            .env_remove("QWEN_DATA_DIR")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", common::stderr(&out));
        let theirs = days(&json(&out.stdout));
        let predicted: Vec<_> = tree.ccusage.clone().into_iter().collect();
        assert_eq!(theirs, predicted, "{agent}");
    }
}

/// Waits until the ledger holds `want` rows; fails after ten seconds.
fn rows_within(s: &Scratch, want: u64, what: &str) {
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
            started.elapsed() < Duration::from_secs(10),
            "{what}: {have} rows, want {want}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `watch` notices Gemini CLI's and Qwen Code's files as they are written: folders that
/// appear in their homes, lines appended to a session, a legacy document, a new session.
#[test]
fn watch_reads_gemini_and_qwen_files_as_they_are_written() {
    let s = Scratch::new();
    std::fs::create_dir_all(gemini_home(&s)).unwrap();
    std::fs::create_dir_all(qwen_home(&s)).unwrap();
    let mut watch = s
        .std_cmd()
        .args(["watch", "--interval", "1h", "--rescan", "1h"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    rows_within(&s, 0, "first pass");
    std::thread::sleep(Duration::from_millis(300));

    let main = "tmp/my-app/chats/session-2026-01-10T09-00-a1b2c3d4.jsonl";
    let text = std::fs::read_to_string(fixture("gemini").join(main)).unwrap();
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let session = gemini_home(&s).join(main);
    std::fs::create_dir_all(session.parent().unwrap()).unwrap();
    // Lines 1–8: the reply appended three times, and the next one.
    std::fs::write(&session, lines[..8].concat()).unwrap();
    rows_within(&s, 2, "a Gemini session in a new tmp/ folder");
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&session)
        .unwrap();
    std::io::Write::write_all(&mut file, lines[8..].concat().as_bytes()).unwrap();
    rows_within(&s, 4, "lines appended to it");

    let legacy = "tmp/04382e3e2136986122415aa03b903f429a5c2f7ea590135bac4ab947b97dc809/chats/\
                  session-2026-01-09T14-00-0f0e0d0c.json";
    std::fs::create_dir_all(gemini_home(&s).join(legacy).parent().unwrap()).unwrap();
    std::fs::copy(fixture("gemini").join(legacy), gemini_home(&s).join(legacy)).unwrap();
    rows_within(&s, 6, "a legacy document");

    let parent = "projects/-home-dev-app/chats/4c6e8a0c-2e4a-4c6e-8a0c-2e4a6c8e0a21.jsonl";
    std::fs::create_dir_all(qwen_home(&s).join(parent).parent().unwrap()).unwrap();
    std::fs::copy(fixture("qwen").join(parent), qwen_home(&s).join(parent)).unwrap();
    rows_within(&s, 9, "a Qwen session in a new projects/ folder");
    watch.kill().unwrap();
    watch.wait().unwrap();
}
