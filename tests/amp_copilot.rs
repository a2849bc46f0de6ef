//! Amp and GitHub Copilot CLI through the real binary: the hand-made fixtures give the
//! totals `fixtures/README.md` works out by hand; Amp threads rewritten with more and with
//! fewer messages; runs killed at any moment lose and double nothing.

mod common;

use std::path::{Path, PathBuf};

use common::{Scratch, agent_days, agent_row, day, json};
use serde_json::Value;

const THREAD: &str = "T-7f3e2a10-5c4b-4d8e-9a21-0c6f1e2d3b4a";
const SESSION: &str = "3f2a1b0c-9d8e-4f7a-b6c5-d4e3f2a1b0c9";

fn amp_threads(s: &Scratch) -> PathBuf {
    s.dir.path().join(".local/share/amp/threads")
}

fn copilot_state(s: &Scratch) -> PathBuf {
    s.dir.path().join(".copilot/session-state")
}

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(path)
}

fn with_fixture(from: &str, to: fn(&Scratch) -> PathBuf) -> Scratch {
    let s = Scratch::new();
    std::fs::create_dir_all(to(&s)).unwrap();
    common::copy_tree(&fixture(from), &to(&s));
    s
}

const AMP_DAYS: [(&str, [u64; 4]); 2] = [
    ("2026-01-19", [15, 220, 986, 23_372]),
    ("2026-01-20", [1_000, 1_045, 0, 3_000]),
];

fn amp_days() -> Vec<(String, [u64; 4])> {
    AMP_DAYS.iter().map(|(d, s)| day(d, *s)).collect()
}

#[test]
fn the_amp_fixtures_give_the_hand_worked_totals_and_credits() {
    let s = with_fixture("amp/threads", amp_threads);
    let pass = s.once();
    assert_eq!(pass["lines_skipped"], 0, "{pass}");
    assert_eq!(agent_days(&s, "amp"), amp_days());
    let amp = agent_row(&s, "amp");
    assert_eq!(amp["requests"], 5, "{amp}");
    assert_eq!(amp["credits"], 4.0, "{amp}");
    assert!(amp.get("premiumRequests").is_none(), "{amp}");
    // The session is the thread; the project the working tree the thread names.
    let sessions = s.report(&["session", "--agent", "amp"]);
    let ids: Vec<&str> = sessions["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["sessionId"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&THREAD), "{sessions}");
    // Unchanged files: nothing read again.
    assert_eq!(s.once()["files_changed"], 0);
}

/// Amp rewrites a thread whole. Written again with one message grown and one new, the
/// thread's rows follow; written again without three of its messages (a thread edited
/// back), the vanished messages keep their rows; touched with the same bytes, nothing.
#[test]
fn amp_threads_rewritten_with_more_and_with_fewer_messages() {
    let s = with_fixture("amp/threads", amp_threads);
    s.once();
    let path = amp_threads(&s).join(format!("{THREAD}.json"));
    let original: Value = json(&std::fs::read(&path).unwrap());

    // Message 3 grew (its stream went on: 42 → 60 output), message 7 is new.
    let mut grown = original.clone();
    grown["messages"][3]["usage"]["outputTokens"] = 60.into();
    let mut new = grown["messages"][3].clone();
    new["messageId"] = 7.into();
    new["usage"]["timestamp"] = "2026-01-19T11:50:00.000Z".into();
    new["usage"]["credits"] = 0.5.into();
    grown["messages"].as_array_mut().unwrap().push(new);
    rewrite(&path, &grown);
    let pass = s.once();
    assert_eq!(
        (&pass["rows_added"], &pass["rows_upgraded"]),
        (&1.into(), &1.into())
    );
    let mut more = amp_days();
    more[0].1 = [15 + 5, 220 + 18 + 60, 986, 23_372 + 12_000];
    assert_eq!(agent_days(&s, "amp"), more);
    assert_eq!(agent_row(&s, "amp")["credits"], 4.5);

    // Fewer: only the first two messages are left.
    let mut fewer = grown.clone();
    fewer["messages"].as_array_mut().unwrap().truncate(2);
    rewrite(&path, &fewer);
    let pass = s.once();
    assert_eq!(pass["files_changed"], 1, "{pass}");
    assert_eq!(pass["rows_added"], 0, "{pass}");
    assert_eq!(
        agent_days(&s, "amp"),
        more,
        "the vanished messages keep their rows"
    );

    // The same bytes again under a new mtime: read, and nothing added.
    rewrite(&path, &fewer);
    assert_eq!(s.once()["rows_added"], 0);
    assert_eq!(agent_days(&s, "amp"), more);
}

/// Replaces the file whole, as Amp does (a new file renamed over the old one).
fn rewrite(path: &Path, doc: &Value) {
    let temp = path.with_extension("tmp");
    std::fs::write(&temp, serde_json::to_vec_pretty(doc).unwrap()).unwrap();
    std::fs::rename(&temp, path).unwrap();
}

const COPILOT_DAYS: [(&str, [u64; 4]); 2] = [
    ("2026-02-02", [9_000, 580, 6_000, 64_000]),
    ("2026-02-03", [0, 400, 0, 0]),
];

fn copilot_days() -> Vec<(String, [u64; 4])> {
    COPILOT_DAYS.iter().map(|(d, s)| day(d, *s)).collect()
}

#[test]
fn the_copilot_fixtures_count_messages_and_rollups_once_with_premium_requests() {
    let s = with_fixture("copilot/session-state", copilot_state);
    let pass = s.once();
    assert_eq!(pass["lines_skipped"], 0, "{pass}");
    assert_eq!(agent_days(&s, "copilot"), copilot_days());
    let copilot = agent_row(&s, "copilot");
    assert_eq!(copilot["requests"], 8, "{copilot}");
    assert_eq!(copilot["premiumRequests"], 4.0, "{copilot}");
    assert!(copilot.get("credits").is_none(), "{copilot}");
    // The session is the folder; the project the working directory of session.start.
    let sessions = s.report(&["session", "--agent", "copilot"]);
    let ids: Vec<&str> = sessions["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["sessionId"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&SESSION), "{sessions}");
    let projects = s.report(&["projects", "--agent", "copilot"]);
    assert!(projects.to_string().contains("-home-u-app"), "{projects}");
}

/// A session still running: its messages count as they are written, and the rollup its
/// clean exit appends adds only what they did not say.
#[test]
fn a_copilot_session_read_while_it_runs_counts_its_rollup_once() {
    let s = Scratch::new();
    let events = fixture(&format!("copilot/session-state/{SESSION}/events.jsonl"));
    let text = std::fs::read_to_string(events).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let dir = copilot_state(&s).join(SESSION);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("events.jsonl");
    // Up to the first rollup, then a pass; the rest, then another.
    let cut = lines
        .iter()
        .position(|l| l.contains("\"type\":\"session.shutdown\""))
        .unwrap();
    std::fs::write(&path, lines[..cut].join("\n") + "\n").unwrap();
    s.once();
    assert_eq!(
        agent_days(&s, "copilot"),
        vec![day("2026-02-02", [0, 500, 0, 0])],
        "the messages' output, live"
    );
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    s.once();
    assert_eq!(
        agent_days(&s, "copilot"),
        vec![day("2026-02-02", [9_000, 580, 6_000, 64_000])]
    );
}

/// Many copies of each fixture, each with its own ids, read by `once` killed at any
/// moment and then run to the end: each agent's totals are the copies' exactly.
#[test]
fn runs_killed_mid_ingest_of_amp_and_copilot_lose_and_double_nothing() {
    const COPIES: u64 = 60;
    let s = Scratch::new();
    std::fs::create_dir_all(amp_threads(&s)).unwrap();
    for name in std::fs::read_dir(fixture("amp/threads")).unwrap() {
        let name = name.unwrap().file_name().into_string().unwrap();
        let Some(id) = name
            .strip_prefix("T-")
            .and_then(|n| n.strip_suffix(".json"))
        else {
            continue;
        };
        let text = std::fs::read_to_string(fixture("amp/threads").join(&name)).unwrap();
        for copy in 0..COPIES {
            let copied = format!("{id}-{copy}");
            std::fs::write(
                amp_threads(&s).join(format!("T-{copied}.json")),
                text.replace(id, &copied),
            )
            .unwrap();
        }
    }
    for session in std::fs::read_dir(fixture("copilot/session-state")).unwrap() {
        let session = session.unwrap().file_name().into_string().unwrap();
        let events = fixture(&format!("copilot/session-state/{session}/events.jsonl"));
        let text = std::fs::read_to_string(events).unwrap();
        for copy in 0..COPIES {
            let copied = format!("{session}-{copy}");
            let dir = copilot_state(&s).join(&copied);
            std::fs::create_dir_all(&dir).unwrap();
            // Event and call ids are the session's own in a copy, as in a real session.
            let text = text
                .replace("\"id\":\"", &format!("\"id\":\"{copy}-"))
                .replace("call-", &format!("call-{copy}-"));
            std::fs::write(dir.join("events.jsonl"), text).unwrap();
        }
    }
    let mut delays_ms = 2..;
    for _ in 0..15 {
        let mut child = s
            .std_cmd()
            .args(["once", "--batch-size", "1"])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let delay = delays_ms.next().unwrap() * 7 % 60;
        std::thread::sleep(std::time::Duration::from_millis(delay));
        child.kill().unwrap();
        child.wait().unwrap();
    }
    s.once();
    let times = |days: Vec<(String, [u64; 4])>| -> Vec<(String, [u64; 4])> {
        days.into_iter()
            .map(|(d, sums)| (d, sums.map(|n| n * COPIES)))
            .collect()
    };
    assert_eq!(agent_days(&s, "amp"), times(amp_days()));
    assert_eq!(agent_days(&s, "copilot"), times(copilot_days()));
    assert_eq!(agent_row(&s, "amp")["credits"], 4.0 * COPIES as f64);
    assert_eq!(
        agent_row(&s, "copilot")["premiumRequests"],
        4.0 * COPIES as f64
    );
}

/// Export writes each agent's own figure, and an import of it into another ledger gives
/// the same `agents` view.
#[test]
fn export_and_import_carry_credits_and_premium_requests() {
    let s = with_fixture("amp/threads", amp_threads);
    std::fs::create_dir_all(copilot_state(&s)).unwrap();
    common::copy_tree(&fixture("copilot/session-state"), &copilot_state(&s));
    s.once();
    let out = s.cmd().args(["export"]).assert().success();
    let export = out.get_output().stdout.clone();
    let text = String::from_utf8(export.clone()).unwrap();
    assert!(text.contains("\"credits\":0.75"), "{text}");
    assert!(text.contains("\"premiumRequests\":2.0"), "{text}");
    let file = s.dir.path().join("export.ndjson");
    std::fs::write(&file, &export).unwrap();
    let other = Scratch::new();
    other.cmd().args(["import"]).arg(&file).assert().success();
    for agent in ["amp", "copilot"] {
        assert_eq!(agent_row(&other, agent), agent_row(&s, agent), "{agent}");
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
            started.elapsed() < std::time::Duration::from_secs(10),
            "{what}: {have} rows, want {want}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// `watch` learns of Amp's threads from their folder (a thread is a new file renamed over
/// the old one, a new thread a file renamed into it), and of Copilot's events as they are
/// appended.
#[test]
fn watch_reads_amp_threads_as_they_are_replaced_and_copilot_events_as_appended() {
    let s = Scratch::new();
    std::fs::create_dir_all(amp_threads(&s)).unwrap();
    let session = copilot_state(&s).join(SESSION);
    std::fs::create_dir_all(&session).unwrap();
    let mut watch = s
        .std_cmd()
        .args(["watch", "--interval", "1h", "--rescan", "1h"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    rows_within(&s, 0, "first pass");
    std::thread::sleep(std::time::Duration::from_millis(300));

    let path = amp_threads(&s).join(format!("{THREAD}.json"));
    let mut doc: Value =
        json(&std::fs::read(fixture(&format!("amp/threads/{THREAD}.json"))).unwrap());
    let all = doc["messages"].as_array().unwrap().clone();
    doc["messages"] = all[..2].to_vec().into();
    rewrite(&path, &doc);
    rows_within(&s, 1, "a new thread");
    doc["messages"] = all.into();
    rewrite(&path, &doc);
    rows_within(&s, 3, "the thread replaced with more messages");

    let text = std::fs::read_to_string(fixture(&format!(
        "copilot/session-state/{SESSION}/events.jsonl"
    )))
    .unwrap();
    let events = session.join("events.jsonl");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&events)
        .unwrap();
    for (at, line) in text.lines().enumerate() {
        std::io::Write::write_all(&mut file, format!("{line}\n").as_bytes()).unwrap();
        if at == 3 {
            rows_within(&s, 4, "the first response");
        }
    }
    rows_within(&s, 3 + 7, "the whole session");
    watch.kill().unwrap();
    watch.wait().unwrap();
    // The first thread alone: its 2026-01-20 is message 5's 345 output.
    let mut thread = amp_days();
    thread[1].1 = [0, 345, 0, 0];
    assert_eq!(agent_days(&s, "amp"), thread);
    assert_eq!(agent_days(&s, "copilot"), copilot_days()[..1].to_vec());
}

/// The sum of a metrics series' values over the lines that carry `labels`.
fn metric_sum(text: &str, series: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(series) && labels.iter().all(|label| l.contains(label)))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum()
}

/// Metrics label Amp's and Copilot's series with their agent, the agents table gives their
/// own figures, and `doctor` names the folders it looked in for each.
#[test]
fn metrics_the_agents_table_and_doctor_cover_amp_and_copilot() {
    let s = with_fixture("amp/threads", amp_threads);
    std::fs::create_dir_all(copilot_state(&s)).unwrap();
    common::copy_tree(&fixture("copilot/session-state"), &copilot_state(&s));
    s.once();
    let out = s.cmd().args(["metrics"]).assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let output = |agent: &str| {
        let label = format!("agent=\"{agent}\"");
        metric_sum(
            &text,
            "cco_stats_tokens_total{",
            &[&label, "type=\"output\""],
        )
    };
    assert_eq!(output("amp"), 1_265.0, "{text}");
    assert_eq!(output("copilot"), 980.0, "{text}");

    // The agents table says each agent's own figure under its rows.
    let out = s.cmd().args(["agents", "--no-ingest"]).assert().success();
    let table = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(table.contains("amp: 4 credits\n"), "{table}");
    assert!(table.contains("copilot: 4 premium requests\n"), "{table}");

    let out = s.cmd().args(["doctor"]).assert().success();
    let doctor = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    for folder in [".local/share/amp/threads", ".copilot/session-state"] {
        assert!(doctor.contains(folder), "{doctor}");
    }
}

/// Daily tokens equal ccusage 20.0.24's on the fixtures (`CCUSAGE_BIN`, e.g.
/// `node_modules/@ccusage/ccusage-linux-x64/bin/ccusage`; skipped without it): Amp's
/// exactly; Copilot's except where fixtures/README.md shows ccusage counts wrong (the
/// session killed before its rollup, and the resumed process's rollup).
#[test]
fn daily_tokens_equal_ccusages_but_for_its_known_copilot_miscounts() {
    let s = with_fixture("amp/threads", amp_threads);
    std::fs::create_dir_all(copilot_state(&s)).unwrap();
    common::copy_tree(&fixture("copilot/session-state"), &copilot_state(&s));
    s.once();
    let Some(amp) = common::ccusage_days(&s, "amp", &[]) else {
        eprintln!("CCUSAGE_BIN not set: not compared");
        return;
    };
    assert_eq!(amp, agent_days(&s, "amp"));
    let copilot = common::ccusage_days(&s, "copilot", &[]).unwrap();
    let ours = agent_days(&s, "copilot");
    // Ours less the killed session (2026-02-03) and the resumed process's rollup and
    // message (line 12: 50 output; line 13: 1,000 in, 1,000 write, 18,000 read).
    let lost = [1_000, 50, 1_000, 18_000];
    let predicted = vec![day(
        "2026-02-02",
        std::array::from_fn(|i| ours[0].1[i] - lost[i]),
    )];
    assert_eq!(copilot, predicted);
}

/// A thread's bytes are not trusted: one larger than the line limit is not read (nor
/// buffered whole), one that is not a thread document costs itself; either is a skipped
/// line, and the other threads are read.
#[test]
fn an_oversized_or_broken_amp_thread_costs_only_itself() {
    let s = with_fixture("amp/threads", amp_threads);
    let big = serde_json::json!({
        "id": "T-big",
        "messages": [{"role": "user", "content": "x".repeat(3 << 20)}],
    });
    std::fs::write(amp_threads(&s).join("T-big.json"), big.to_string()).unwrap();
    std::fs::write(
        amp_threads(&s).join("T-broken.json"),
        b"{\"id\": \"T-broken\", \"mess",
    )
    .unwrap();
    let out = s
        .cmd()
        .args(["once", "--json", "--max-line-mib", "2"])
        .assert()
        .success();
    let pass = json(&out.get_output().stdout);
    assert_eq!(pass["lines_skipped"], 2, "{pass}");
    assert!(pass["bytes_read"].as_u64().unwrap() < 3 << 20, "{pass}");
    assert_eq!(agent_days(&s, "amp"), amp_days());
}

/// Amp and Copilot homes from the generator (`benches/corpus.rs`), with its two oracles.
fn generated(s: &Scratch, spec: &common::corpus::Spec) -> (AgentTree, AgentTree) {
    let amp = common::corpus::amp(&s.dir.path().join(".local/share/amp"), spec).unwrap();
    let copilot = common::corpus::copilot(&s.dir.path().join(".copilot"), spec).unwrap();
    (amp, copilot)
}

use common::corpus::AgentTree;

fn oracle(days: &std::collections::BTreeMap<String, [u64; 4]>) -> Vec<(String, [u64; 4])> {
    days.iter().map(|(d, sums)| (d.clone(), *sums)).collect()
}

/// Generated homes read by `once` killed at any moment, then run to the end: exactly the
/// generator's totals; and, where ccusage is at hand (`CCUSAGE_BIN`), exactly the figures
/// its known miscounts predict.
#[test]
fn generated_homes_give_exactly_the_generators_totals_even_when_killed() {
    let s = Scratch::new();
    let spec = common::corpus::Spec {
        files: 80,
        seed: 29,
        ..Default::default()
    };
    let (amp, copilot) = generated(&s, &spec);
    let mut delays_ms = 2..;
    for _ in 0..12 {
        let mut child = s
            .std_cmd()
            .args(["once", "--batch-size", "3"])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let delay = delays_ms.next().unwrap() * 7 % 80;
        std::thread::sleep(std::time::Duration::from_millis(delay));
        child.kill().unwrap();
        child.wait().unwrap();
    }
    s.once();
    assert_eq!(agent_days(&s, "amp"), oracle(&amp.expected.days));
    assert_eq!(agent_days(&s, "copilot"), oracle(&copilot.expected.days));
    assert_eq!(agent_row(&s, "amp")["requests"], amp.expected.rows);
    assert_eq!(agent_row(&s, "copilot")["requests"], copilot.expected.rows);
    let Some(theirs) = common::ccusage_days(&s, "amp", &[]) else {
        eprintln!("CCUSAGE_BIN not set: not compared");
        return;
    };
    assert_eq!(theirs, oracle(&amp.ccusage));
    assert_eq!(
        common::ccusage_days(&s, "copilot", &[]).unwrap(),
        oracle(&copilot.ccusage)
    );
}
