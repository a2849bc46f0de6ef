//! `import` against hostile or broken input, through the real binary: a copy of this
//! ledger's rows cannot raise its totals or move them to another host, a row of another
//! host wins only by the dedup rules, an endless or over-long line ends its file (named
//! `file:line`) and the next file is still imported, one bad row costs only itself, and
//! `--atomic` streams its one transaction instead of holding the file.

mod common;

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output};
use std::time::{Duration, Instant};

use common::{Scratch, json, stderr};
use serde_json::Value;

fn export(s: &Scratch) -> PathBuf {
    let path = s.dir.path().join("export.ndjson");
    s.cmd().args(["export", "-o"]).arg(&path).assert().success();
    path
}

fn import(s: &Scratch, files: &[&Path], extra: &[&str]) -> Output {
    s.cmd()
        .arg("import")
        .args(extra)
        .args(files)
        .output()
        .unwrap()
}

fn rows(s: &Scratch) -> u64 {
    s.status()["rows"].as_u64().unwrap()
}

fn lines(path: &Path) -> Vec<Value> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| json(l.as_bytes()))
        .collect()
}

fn write_lines(path: &Path, lines: &[Value]) {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    fs::write(path, text).unwrap();
}

/// A ledger of the fixtures, its export, and its daily totals in UTC.
fn ledger() -> (Scratch, Vec<Value>, Value) {
    let s = Scratch::with_fixtures();
    s.once();
    let exported = lines(&export(&s));
    assert!(exported.len() >= 4, "the fixtures hold a few responses");
    let totals = s.daily(&["--timezone", "UTC"])["totals"].clone();
    (s, exported, totals)
}

fn cost(totals: &Value) -> f64 {
    totals["totalCost"].as_f64().unwrap()
}

#[test]
fn our_own_rows_imported_back_with_a_higher_cost_or_more_tokens_change_nothing() {
    let (s, exported, before) = ledger();
    let forged: Vec<Value> = exported
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let mut line = line.clone();
            // Plausible figures, which no range check refuses: only the rule stops them.
            if i % 2 == 0 {
                line["costUSD"] = 40.0.into();
            } else {
                let more = line["outputTokens"].as_u64().unwrap() + 50_000;
                line["outputTokens"] = more.into();
            }
            line
        })
        .collect();
    let path = s.dir.path().join("forged.ndjson");
    write_lines(&path, &forged);

    import(&s, &[&path], &[]);
    let after = s.daily(&["--timezone", "UTC"])["totals"].clone();
    assert_eq!(
        after, before,
        "a copy claiming this ledger never replaces its row"
    );
    assert_eq!(rows(&s), exported.len() as u64);
}

#[test]
fn a_copy_under_another_host_keeps_our_row_ours_and_wins_only_by_tokens() {
    let (s, exported, before) = ledger();
    let mine = s.status()["host"]["id"].as_str().unwrap().to_string();
    let mut larger = 0;
    let copies: Vec<Value> = exported
        .iter()
        .filter(|l| l["messageId"].is_string())
        .enumerate()
        .map(|(i, line)| {
            let mut line = line.clone();
            line["hostId"] = "ffffffffffffffffffffffffffffffff".into();
            line["hostName"] = "intruder".into();
            if i % 2 == 0 {
                // A tie on tokens: a higher cost claimed elsewhere is no better copy.
                line["costUSD"] = 40.0.into();
                line["speed"] = "fast".into();
            } else {
                let more = line["outputTokens"].as_u64().unwrap() + 7;
                line["outputTokens"] = more.into();
                larger += 1;
            }
            line
        })
        .collect();
    assert!(larger > 0);
    let path = s.dir.path().join("copies.ndjson");
    write_lines(&path, &copies);

    let out = import(&s, &[&path], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("{larger} upgraded")),
        "the larger copies are better copies: {}",
        stderr(&out)
    );
    let after = s.daily(&["--timezone", "UTC"])["totals"].clone();
    assert_eq!(
        after["outputTokens"].as_u64().unwrap(),
        before["outputTokens"].as_u64().unwrap() + 7 * larger,
    );
    assert!(
        cost(&after) < cost(&before) + 1.0,
        "{} then {}",
        cost(&before),
        cost(&after)
    );
    // Every row is still this ledger's.
    let hosts = s.report(&["hosts"]);
    let list = hosts["hosts"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{hosts}");
    assert_eq!(list[0]["hostId"], mine.as_str());
    assert_eq!(
        s.report(&["daily", "--host", &mine])["totals"]["totalTokens"],
        after["totalTokens"]
    );
    assert_eq!(rows(&s), exported.len() as u64);
}

/// A figure of `/proc/<pid>/status` (`VmRSS`, `VmHWM`), in bytes; 0 once it has exited.
fn memory(pid: u32, field: &str) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let line = status.lines().find(|l| l.starts_with(field));
    let kib: Option<u64> = line.and_then(|l| l.split_whitespace().nth(1)?.parse().ok());
    kib.unwrap_or(0) * 1024
}

/// Memory a child may take before it is killed as a runaway (the machine is shared).
const RUNAWAY: u64 = 1 << 30;

/// Waits for `child` (killing it after `limit`, or as soon as it holds `RUNAWAY`) and
/// returns how it ended, the highest peak resident memory (`VmHWM`) seen while it ran,
/// and whether it had to be killed. (`wait4`'s figure would not do: it counts the test
/// process's own memory, which the child shared until its `exec`.)
fn wait_measured(mut child: std::process::Child, limit: Duration) -> (ExitStatus, u64, bool) {
    let started = Instant::now();
    let mut killed = false;
    let mut peak = 0;
    loop {
        peak = peak.max(memory(child.id(), "VmHWM:"));
        if let Some(status) = child.try_wait().unwrap() {
            return (status, peak, killed);
        }
        if !killed && (started.elapsed() > limit || memory(child.id(), "VmRSS:") > RUNAWAY) {
            child.kill().unwrap();
            killed = true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn spawn_import(s: &Scratch, args: &[&str], files: &[&Path]) -> std::process::Child {
    let mut cmd: Command = s.std_cmd();
    cmd.arg("import")
        .args(args)
        .args(files)
        .stdout(std::process::Stdio::null())
        .stderr(File::create(s.dir.path().join("stderr")).unwrap())
        .spawn()
        .unwrap()
}

fn child_stderr(s: &Scratch) -> String {
    fs::read_to_string(s.dir.path().join("stderr")).unwrap()
}

#[test]
fn dev_zero_ends_promptly_named_with_bounded_memory_and_the_next_file_is_imported() {
    let (a, exported, _) = ledger();
    let good = export(&a);
    let s = Scratch::new();
    let zero = Path::new("/dev/zero");
    let child = spawn_import(&s, &[], &[zero, &good]);
    let (status, peak, killed) = wait_measured(child, Duration::from_secs(60));
    let err = child_stderr(&s);
    assert!(
        !killed,
        "import /dev/zero never ended ({} MiB peak)",
        peak >> 20
    );
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(
        err.contains("/dev/zero:1: line longer than 64.0 MiB"),
        "{err}"
    );
    assert!(peak < 192 << 20, "peak {} MiB", peak >> 20);
    assert_eq!(rows(&s), exported.len() as u64, "{err}");
}

/// A FIFO at `path`, fed by a thread with `lines` as they are made: nothing of them is
/// ever on disk or held whole.
fn fifo(path: &Path, lines: impl Iterator<Item = Line> + Send + 'static) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success());
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        let Ok(file) = File::create(&path) else {
            return;
        };
        let mut out = BufWriter::new(file);
        for line in lines {
            let written = match line {
                Line::Row(row) => writeln!(out, "{row}"),
                Line::Long(len) => {
                    let piece = vec![b'x'; 1 << 16];
                    (0..len.div_ceil(piece.len()))
                        .try_for_each(|i| {
                            out.write_all(&piece[..(len - i * piece.len()).min(piece.len())])
                        })
                        .and_then(|()| out.write_all(b"\n"))
                }
            };
            // The reader stopped early and closed its end: nothing more to do.
            if written.is_err() {
                return;
            }
        }
        let _ = out.flush();
    });
}

/// A line `fifo` writes: a row, or that many bytes of no newline.
enum Line {
    Row(Value),
    Long(usize),
}

#[test]
fn an_over_long_line_ends_its_file_keeping_the_rows_before_and_the_next_file_is_imported() {
    let (a, exported, _) = ledger();
    let good = export(&a);
    let n = exported.len();
    for (atomic, kept) in [(false, 2), (true, 0)] {
        let s = Scratch::new();
        let pipe = s.dir.path().join("long.ndjson");
        // Two responses of another host, then a 3 MiB line: more than `--max-line-mib 1`.
        let mut theirs: Vec<Line> = exported
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let mut l = l.clone();
                l["hostId"] = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee".into();
                l["messageId"] = format!("msg_elsewhere_{i}").into();
                Line::Row(l)
            })
            .collect();
        theirs[2] = Line::Long(3 << 20);
        fifo(&pipe, theirs.into_iter());
        let mut args = vec!["--max-line-mib", "1"];
        if atomic {
            args.push("--atomic");
        }
        let child = spawn_import(&s, &args, &[&pipe, &good]);
        let (status, _, killed) = wait_measured(child, Duration::from_secs(60));
        let err = child_stderr(&s);
        assert!(!killed, "{err}");
        assert_eq!(status.code(), Some(1), "{err}");
        assert!(
            err.contains(&format!("{}:3: line longer than 1.0 MiB", pipe.display())),
            "{err}"
        );
        assert_eq!(rows(&s), (kept + n) as u64, "atomic {atomic}: {err}");
    }
}

#[test]
fn a_row_of_a_newer_version_costs_that_row_not_the_rows_before_it() {
    let (a, exported, _) = ledger();
    let mut mixed = exported.clone();
    let at = exported.len() - 2;
    let newer = cco_stats::render::export::ROW_VERSION + 1;
    mixed[at]["v"] = newer.into();
    let path = a.dir.path().join("mixed.ndjson");
    write_lines(&path, &mixed);

    let s = Scratch::new();
    let out = import(&s, &[&path], &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "{}:{}: written by a newer cco-stats (row version {newer}",
            path.display(),
            at + 1
        )),
        "{err}"
    );
    assert_eq!(rows(&s), exported.len() as u64 - 1, "{err}");

    // With --atomic the file is one transaction: it imports nothing.
    let t = Scratch::new();
    let out = import(&t, &[&path], &["--atomic"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(rows(&t), 0);
}

#[test]
fn an_atomic_import_streams_its_transaction_instead_of_holding_the_file() {
    // 1,000 rows of 128 KiB each (a long host name, which no row stores): 128 MiB of
    // export, fed through a FIFO, that an import holding its rows would hold whole.
    let s = Scratch::new();
    let pipe = s.dir.path().join("big.ndjson");
    let name = "n".repeat(128 << 10);
    let n = 1000;
    let rows_in = (0..n).map(move |i| {
        Line::Row(json(format!(
            r#"{{"v":1,"hostId":"00112233445566778899aabbccddeeff","hostName":"{name}","sessionId":"s","project":"-p","cwd":"/p","timestamp":"","tsMs":{},"model":"claude-sonnet-4-5","messageId":"msg_{i}","requestId":"req_{i}","inputTokens":3,"outputTokens":5,"cacheWrite5mTokens":0,"cacheWrite1hTokens":0,"cacheReadTokens":100,"webSearchRequests":0,"costUSD":null,"speed":null,"inferenceGeo":null,"version":"2.1.0","isSidechain":false}}"#,
            1_767_225_600_000_i64 + i * 1000
        ).as_bytes()))
    });
    fifo(&pipe, rows_in);
    let child = spawn_import(&s, &["--atomic"], &[&pipe]);
    let (status, peak, killed) = wait_measured(child, Duration::from_secs(120));
    let err = child_stderr(&s);
    assert!(!killed && status.success(), "{err}");
    assert_eq!(rows(&s), n as u64);
    assert!(peak < 96 << 20, "peak {} MiB", peak >> 20);
}

#[test]
fn a_file_that_cannot_be_opened_is_said_once_and_the_next_file_is_imported() {
    let (a, _, _) = ledger();
    let good = export(&a);
    let b = Scratch::new();
    let missing = b.dir.path().join("missing.ndjson");
    let out = b
        .cmd()
        .arg("import")
        .arg(&missing)
        .arg(&good)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    let about_missing: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("missing.ndjson"))
        .collect();
    assert_eq!(about_missing.len(), 1, "{err}");
    assert!(about_missing[0].contains("No such file"), "{err}");
    assert_eq!(b.status()["rows"], a.status()["rows"]);
}
