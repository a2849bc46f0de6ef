//! `export` and `import` through the real binary: a ledger exported and imported into
//! another gives the same reports; imports are idempotent, count a response synced to
//! two machines once, and are exact after a kill; `--since` sees upgrades; damaged and
//! future files are named and handled; and a real DuckDB loads the export as it is.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use common::corpus::{self, Spec};
use common::{Scratch, copy_tree, days, expected_days, json, stderr};
use serde_json::Value;

fn export(s: &Scratch, extra: &[&str]) -> PathBuf {
    let path = s.dir.path().join(format!("export-{}.ndjson", extra.len()));
    s.cmd()
        .args(["export", "-o"])
        .arg(&path)
        .args(extra)
        .assert()
        .success();
    path
}

fn import(s: &Scratch, files: &[&Path], extra: &[&str]) -> Output {
    s.cmd()
        .arg("import")
        .args(files)
        .args(extra)
        .output()
        .unwrap()
}

fn import_ok(s: &Scratch, files: &[&Path]) -> String {
    let out = import(s, files, &[]);
    assert!(out.status.success(), "import failed: {}", stderr(&out));
    stderr(&out)
}

fn rows(s: &Scratch) -> u64 {
    s.status()["rows"].as_u64().unwrap()
}

/// Days, token sums and request count of `daily --json` in UTC, and its total cost.
fn totals(s: &Scratch) -> (Vec<(String, [u64; 4])>, u64, f64) {
    let daily = s.daily(&["--timezone", "UTC"]);
    (
        days(&daily),
        rows(s),
        daily["totals"]["totalCost"].as_f64().unwrap(),
    )
}

fn assert_same_totals(a: &Scratch, b: &Scratch) {
    let (a_days, a_rows, a_cost) = totals(a);
    let (b_days, b_rows, b_cost) = totals(b);
    assert_eq!(a_days, b_days);
    assert_eq!(a_rows, b_rows);
    assert!((a_cost - b_cost).abs() < 1e-6, "{a_cost} vs {b_cost}");
}

#[test]
fn an_imported_export_reports_like_its_ledger_and_twice_is_once() {
    let a = Scratch::with_fixtures();
    a.cmd()
        .args(["--host-name", "origin", "once"])
        .assert()
        .success();
    let file = export(&a, &[]);
    let b = Scratch::new();
    let first = import_ok(&b, &[&file]);
    assert!(first.contains("10 added"), "{first}");
    // The import split the aggregates at the price table's tiers, as an ingest does: a
    // report that reads nothing new has nothing to learn or warn of.
    let out = b.cmd().args(["daily", "--no-ingest"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !stderr(&out).contains("tier thresholds"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        b.status()["tracked_files"],
        0,
        "imported rows are no transcript"
    );
    for report in ["daily", "session", "monthly", "projects", "models"] {
        assert_eq!(b.report(&[report]), a.report(&[report]), "{report}");
    }
    let again = import_ok(&b, &[&file]);
    assert!(
        again.contains("0 added, 0 upgraded, 10 already here"),
        "{again}"
    );
    assert_eq!(b.report(&["daily"]), a.report(&["daily"]));
    assert_eq!(rows(&b), rows(&a));

    // The rows keep their origin: `hosts` and `--host` tell the two ledgers apart.
    let hosts = b.report(&["hosts"]);
    let list = hosts["hosts"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{hosts}");
    assert_eq!(list[0]["hostId"], a.status()["host"]["id"]);
    assert_eq!(list[0]["requests"], 10);
    let theirs = a.status()["host"]["name"].as_str().unwrap().to_string();
    assert_eq!(
        b.report(&["daily", "--host", &theirs])["totals"],
        a.report(&["daily"])["totals"]
    );
    let mine = b.status()["host"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        b.report(&["daily", "--host", &mine])["totals"]["totalTokens"],
        0
    );
}

/// Copies the sessions of `whole` (a session's transcript with its subagents' folder)
/// into two roots: every third into both (the responses synced to both machines), the
/// others alternately into one.
fn split(whole: &Path, a: &Path, b: &Path) {
    let mut i = 0;
    for project in fs::read_dir(whole.join("projects")).unwrap() {
        let project = project.unwrap().path();
        let mut sessions: Vec<PathBuf> = fs::read_dir(&project)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
            .collect();
        sessions.sort();
        for session in sessions {
            let into: &[&Path] = match i % 3 {
                0 => &[a, b],
                1 => &[a],
                _ => &[b],
            };
            i += 1;
            let folder = session.with_extension("");
            for root in into {
                let target = root.join(session.strip_prefix(whole).unwrap());
                fs::create_dir_all(target.parent().unwrap()).unwrap();
                fs::copy(&session, &target).unwrap();
                if folder.is_dir() {
                    let target = target.with_extension("");
                    fs::create_dir_all(&target).unwrap();
                    copy_tree(&folder, &target);
                }
            }
        }
    }
    assert!(i >= 3, "the generator made {i} sessions");
}

#[test]
fn two_machines_merge_into_exactly_the_whole_tree() {
    let whole = Scratch::new();
    let expected = corpus::generate(
        &whole.root,
        &Spec {
            files: 40,
            seed: 5,
            ..Spec::default()
        },
    )
    .unwrap();
    whole.once();
    let (laptop, desk) = (Scratch::new(), Scratch::new());
    split(&whole.root, &laptop.root, &desk.root);
    laptop
        .cmd()
        .args(["--host-name", "laptop", "once"])
        .assert()
        .success();
    desk.cmd()
        .args(["--host-name", "desk", "once"])
        .assert()
        .success();
    let (from_laptop, from_desk) = (export(&laptop, &[]), export(&desk, &[]));

    let merged = Scratch::new();
    import_ok(&merged, &[&from_laptop, &from_desk]);
    assert_eq!(
        days(&merged.daily(&["--timezone", "UTC"])),
        expected_days(&expected)
    );
    assert_eq!(rows(&merged), expected.rows);
    assert_same_totals(&merged, &whole);
    let overlap = rows(&laptop) + rows(&desk) - expected.rows;
    assert!(overlap > 0, "some responses are on both machines");

    // The other order, and each file twice: the same.
    let other = Scratch::new();
    import_ok(&other, &[&from_desk, &from_laptop, &from_desk]);
    import_ok(&other, &[&from_laptop]);
    assert_same_totals(&other, &whole);

    // Per host: every row is one host's, and the hosts add up to the whole.
    let hosts = merged.report(&["hosts"]);
    let list = hosts["hosts"].as_array().unwrap();
    let names: Vec<&str> = list.iter().map(|h| h["host"].as_str().unwrap()).collect();
    assert_eq!(names, ["desk", "laptop"], "{hosts}");
    let requests: u64 = list.iter().map(|h| h["requests"].as_u64().unwrap()).sum();
    assert_eq!(requests, expected.rows);
    let by_host: u64 = ["laptop", "desk"]
        .iter()
        .map(|h| {
            merged.report(&["daily", "--host", h])["totals"]["totalTokens"]
                .as_u64()
                .unwrap()
        })
        .sum();
    assert_eq!(
        by_host,
        merged.report(&["daily"])["totals"]["totalTokens"]
            .as_u64()
            .unwrap()
    );

    // Killed mid-way (after the first file's rows were committed, before the second's),
    // then run again: the same. A run that finished before the kill is tried again.
    let killed_mid_way = (0..10).any(|_| {
        let again = Scratch::new();
        let mut child = again
            .std_cmd()
            .arg("import")
            .args([&from_laptop, &from_desk])
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while committed_rows(&again.db).unwrap_or(0) == 0 {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "import never committed"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let left = committed_rows(&again.db).unwrap();
        eprintln!("killed with {left} of {} rows committed", expected.rows);
        import_ok(&again, &[&from_laptop, &from_desk]);
        assert_same_totals(&again, &whole);
        left < expected.rows
    });
    assert!(killed_mid_way, "every import finished before its kill");
}

/// One assistant line of a transcript: response `message` of `request`, with `output`
/// tokens, at `ts` (ISO).
fn assistant(message: &str, request: &str, output: u64, ts: &str) -> String {
    format!(
        r#"{{"type":"assistant","isSidechain":false,"cwd":"/home/dev/p","sessionId":"s","version":"2.1.18","timestamp":"{ts}","requestId":"{request}","message":{{"id":"{message}","model":"claude-sonnet-4-5-20250929","usage":{{"input_tokens":10,"cache_creation_input_tokens":0,"cache_read_input_tokens":100,"output_tokens":{output}}}}}}}"#
    ) + "\n"
}

fn lines(path: &Path) -> Vec<Value> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| json(l.as_bytes()))
        .collect()
}

#[test]
fn since_a_cursor_brings_the_rows_added_and_upgraded_after_it() {
    let a = Scratch::new();
    let transcript = a.root.join("projects/-home-dev-p/s.jsonl");
    fs::create_dir_all(transcript.parent().unwrap()).unwrap();
    let mut text = assistant("msg_1", "req_1", 5, "2026-02-01T10:00:00.000Z")
        + &assistant("msg_0", "req_0", 7, "2026-02-01T09:00:00.000Z");
    fs::write(&transcript, &text).unwrap();
    a.once();
    let cursor_file = a.dir.path().join("cursor");
    let out = a
        .cmd()
        .args(["export", "-o"])
        .arg(a.dir.path().join("full.ndjson"))
        .arg("--cursor-file")
        .arg(&cursor_file)
        .output()
        .unwrap();
    assert!(out.status.success());
    let cursor = fs::read_to_string(&cursor_file).unwrap().trim().to_string();
    assert!(
        stderr(&out).contains(&format!("exported 2 rows; cursor {cursor}")),
        "{}",
        stderr(&out)
    );

    // The streaming partial's final copy arrives, and a new response.
    text += &assistant("msg_1", "req_1", 50, "2026-02-01T10:00:00.000Z");
    text += &assistant("msg_2", "req_2", 3, "2026-02-02T10:00:00.000Z");
    fs::write(&transcript, &text).unwrap();
    a.once();
    let delta = export(
        &a,
        &[
            "--since",
            &cursor,
            "--cursor-file",
            cursor_file.to_str().unwrap(),
        ],
    );
    let changed = lines(&delta);
    let got: Vec<(&str, u64)> = changed
        .iter()
        .map(|l| {
            (
                l["messageId"].as_str().unwrap(),
                l["outputTokens"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, [("msg_1", 50), ("msg_2", 3)]);
    assert_eq!(changed[0]["v"], 1);
    assert_eq!(changed[0]["timestamp"], "2026-02-01T10:00:00.000Z");
    let next = fs::read_to_string(&cursor_file).unwrap().trim().to_string();
    assert_ne!(next, cursor);
    assert!(lines(&export(&a, &["--since", &next])).is_empty());

    // The full export and then the delta give another ledger the same figures.
    let b = Scratch::new();
    import_ok(&b, &[&a.dir.path().join("full.ndjson")]);
    import_ok(&b, &[&delta]);
    assert_eq!(b.report(&["daily"]), a.report(&["daily"]));

    // A cursor of another ledger is refused.
    let out = b
        .cmd()
        .args(["export", "--since", &cursor])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("another ledger"), "{}", stderr(&out));
}

#[test]
fn a_malformed_line_is_named_and_skipped_or_with_atomic_stops_the_file() {
    let a = Scratch::with_fixtures();
    a.once();
    let good = fs::read_to_string(export(&a, &[])).unwrap();
    let mut damaged: Vec<&str> = good.lines().collect();
    damaged.insert(2, r#"{"v":1,"hostId":"ab","sessionId":"s","tsMs":"#);
    let path = a.dir.path().join("damaged.ndjson");
    fs::write(&path, damaged.join("\n") + "\n").unwrap();

    let b = Scratch::new();
    let out = import(&b, &[&path], &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("{}:3: not an export row", path.display())),
        "{err}"
    );
    assert_eq!(rows(&b), 10, "every other line imported");

    let c = Scratch::new();
    let out = import(&c, &[&path], &["--atomic"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains(&format!("{}:3:", path.display())), "{err}");
    assert!(err.contains("nothing imported from it"), "{err}");
    assert_eq!(rows(&c), 0);
}

#[test]
fn an_export_of_a_newer_version_is_refused() {
    let a = Scratch::with_fixtures();
    a.once();
    let good = fs::read_to_string(export(&a, &[])).unwrap();
    let future = good.replace(r#"{"v":1,"#, r#"{"v":3,"#);
    let path = a.dir.path().join("future.ndjson");
    fs::write(&path, future).unwrap();
    let b = Scratch::new();
    let out = import(&b, &[&path], &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "{}:1: written by a newer cco-stats (row version 3",
            path.display()
        )),
        "{err}"
    );
    assert_eq!(rows(&b), 0);
}

/// An export of `n` made-up responses over ten days, every tenth without a message id
/// (which import must recognise by its content), and the output tokens they hold.
fn synthetic_export(path: &Path, n: u64) -> u64 {
    let mut text = String::new();
    let mut output = 0;
    for i in 0..n {
        let message = if i % 10 == 0 {
            "null".to_string()
        } else {
            format!("\"msg_{i}\"")
        };
        let ts = 1_767_225_600_000 + (i as i64) * 28_800; // 2026-01-01, ten days
        output += i % 97;
        text += &format!(
            r#"{{"v":1,"hostId":"00112233445566778899aabbccddeeff","hostName":"far","sessionId":"s{}","project":"-p","cwd":"/p","timestamp":"","tsMs":{ts},"model":"claude-sonnet-4-5","messageId":{message},"requestId":"req_{i}","inputTokens":3,"outputTokens":{},"cacheWrite5mTokens":0,"cacheWrite1hTokens":0,"cacheReadTokens":1000,"webSearchRequests":0,"costUSD":null,"speed":null,"inferenceGeo":null,"version":"2.1.0","isSidechain":false}}"#,
            i % 50,
            i % 97
        );
        text.push('\n');
    }
    fs::write(path, text).unwrap();
    output
}

fn committed_rows(db: &Path) -> Option<u64> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .ok()?;
    conn.query_row("SELECT count(*) FROM entries", [], |r| r.get(0))
        .ok()
}

#[test]
fn an_import_killed_mid_way_and_run_again_is_exact() {
    let s = Scratch::new();
    let file = s.dir.path().join("big.ndjson");
    let n = 40_000;
    let output = synthetic_export(&file, n);
    let mut child = s
        .std_cmd()
        .arg("import")
        .arg(&file)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let at_kill = loop {
        match committed_rows(&s.db) {
            Some(rows) if rows > 0 => break rows,
            _ if started.elapsed() > Duration::from_secs(60) => panic!("import never committed"),
            _ => std::thread::sleep(Duration::from_millis(1)),
        }
    };
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let left = committed_rows(&s.db).unwrap();
    assert!(
        at_kill < n && left < n,
        "the import finished before the kill ({left} rows)"
    );

    let out = import_ok(&s, &[&file]);
    assert!(out.contains(&format!("{left} already here")), "{out}");
    assert_eq!(rows(&s), n);
    let totals = &s.daily(&["--timezone", "UTC"])["totals"];
    assert_eq!(totals["outputTokens"], output);
    assert_eq!(totals["cacheReadTokens"], n * 1000);
    let again = import_ok(&s, &[&file]);
    assert!(
        again.contains(&format!("0 added, 0 upgraded, {n} already here")),
        "{again}"
    );
    assert_eq!(rows(&s), n);
}

/// The venv `.ci/run` makes (`python3 -m venv target/venv`, then `pip install duckdb chdb`),
/// if it can import `module`. Under CI it must; elsewhere the test says it skipped.
fn venv_python(module: &str) -> Option<PathBuf> {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/venv/bin/python");
    let ok = python.exists()
        && std::process::Command::new(&python)
            .args(["-c", &format!("import {module}")])
            .output()
            .is_ok_and(|o| o.status.success());
    if ok {
        return Some(python);
    }
    let why = format!(
        "{module} is not installed in {} (python3 -m venv target/venv && target/venv/bin/pip install {module}; .ci/run does it)",
        python.display()
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{why}");
    }
    eprintln!("skipped: {why}");
    None
}

#[test]
fn duckdb_reads_an_export_with_the_ledgers_totals() {
    let Some(python) = venv_python("duckdb") else {
        return;
    };
    let s = Scratch::new();
    corpus::generate(
        &s.root,
        &Spec {
            files: 20,
            seed: 9,
            ..Spec::default()
        },
    )
    .unwrap();
    s.once();
    let file = export(&s, &[]);
    let query = format!(
        "import duckdb, json
t = duckdb.connect().execute(\"\"\"SELECT count(*), sum(inputTokens), sum(outputTokens),
    sum(cacheWrite5mTokens + cacheWrite1hTokens), sum(cacheReadTokens),
    count(DISTINCT hostId), min(timestamp)::VARCHAR, any_value(typeof(timestamp))
    FROM read_json('{}')\"\"\").fetchone()
print(json.dumps([int(x) if isinstance(x, (int, float)) else x for x in t]))",
        file.display()
    );
    let out = std::process::Command::new(python)
        .args(["-c", &query])
        .output()
        .unwrap();
    assert!(out.status.success(), "duckdb: {}", stderr(&out));
    let got = json(&out.stdout);
    let daily = s.daily(&["--timezone", "UTC"]);
    let t = &daily["totals"];
    assert_eq!(got[0], rows(&s));
    assert_eq!(got[1], t["inputTokens"]);
    assert_eq!(got[2], t["outputTokens"]);
    assert_eq!(got[3], t["cacheCreationTokens"]);
    assert_eq!(got[4], t["cacheReadTokens"]);
    assert_eq!(got[5], 1);
    assert!(got[6].as_str().unwrap().starts_with("2025-09-"), "{got}");
    assert!(got[7].as_str().unwrap().starts_with("TIMESTAMP"), "{got}");
}

/// The README's ClickHouse table, as it stands there, loads an export in a real ClickHouse
/// engine (chdb, ClickHouse in a Python module) with the ledger's totals.
#[test]
fn clickhouse_loads_an_export_into_the_readmes_table() {
    let Some(python) = venv_python("chdb") else {
        return;
    };
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme
        .find("```sql\nCREATE TABLE claude_usage")
        .expect("the README shows the ClickHouse table")
        + "```sql\n".len();
    let create = &readme[start..start + readme[start..].find("```").unwrap()];
    let s = Scratch::new();
    corpus::generate(
        &s.root,
        &Spec {
            files: 20,
            seed: 10,
            ..Spec::default()
        },
    )
    .unwrap();
    s.once();
    let file = export(&s, &[]);
    let sql = s.dir.path().join("create.sql");
    std::fs::write(&sql, create).unwrap();
    let script = format!(
        "import json
from chdb import session
s = session.Session()
s.query('CREATE DATABASE IF NOT EXISTS usage; USE usage')
s.query(open('{}').read())
s.query(\"INSERT INTO claude_usage SELECT * FROM file('{}', 'JSONEachRow') SETTINGS date_time_input_format='best_effort'\")
r = s.query('SELECT count(), sum(inputTokens), sum(outputTokens), sum(cacheWrite5mTokens + cacheWrite1hTokens), sum(cacheReadTokens) FROM claude_usage FINAL', 'JSONCompact')
print(json.dumps(json.loads(str(r))['data'][0]))",
        sql.display(),
        file.display()
    );
    let out = std::process::Command::new(python)
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(out.status.success(), "chdb: {}", stderr(&out));
    let got = json(&out.stdout);
    let daily = s.daily(&["--timezone", "UTC"]);
    let t = &daily["totals"];
    let n = |v: &Value| {
        v.as_str()
            .map_or_else(|| v.as_u64().unwrap(), |s| s.parse().unwrap())
    };
    assert_eq!(n(&got[0]), rows(&s));
    assert_eq!(n(&got[1]), t["inputTokens"].as_u64().unwrap());
    assert_eq!(n(&got[2]), t["outputTokens"].as_u64().unwrap());
    assert_eq!(n(&got[3]), t["cacheCreationTokens"].as_u64().unwrap());
    assert_eq!(n(&got[4]), t["cacheReadTokens"].as_u64().unwrap());
}
