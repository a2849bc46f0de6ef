//! Codex CLI figures (`cargo bench --bench codex`, part of `make bench`): a generated
//! Codex home of about 500 MB (`CCO_BENCH_CODEX_FILES` rollouts), read cold by `once`
//! into a fresh ledger, the no-change `once` beside a `find` walk of the same folders,
//! and, where ccusage is found (`CCUSAGE_BIN`), `ccusage codex daily --json --offline`
//! over the same home: its time, and its daily tokens against the ledger's.

#[path = "corpus.rs"]
mod corpus;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

fn main() {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_cco-stats"));
    let scratch = tempfile::tempdir().expect("a scratch folder");
    let work = scratch.path();
    let home = work.join("home");
    let codex = home.join(".codex");
    let claude = work.join("claude");
    std::fs::create_dir_all(claude.join("projects")).expect("an empty Claude root");
    let spec = corpus::Spec {
        files: env_usize("CCO_BENCH_CODEX_FILES", 450),
        days: 60,
        seed: 42,
        turns: 12,
        big_prob: 0.1,
        big_kb: 400,
    };
    let started = Instant::now();
    let expected = corpus::generate_codex(&codex, &spec).expect("generate the Codex home");
    println!(
        "codex home: {} files, {:.0} MiB, {} lines, {} growths (generated in {:.1} s)",
        expected.files.len(),
        mib(expected.bytes),
        expected.lines,
        expected.rows,
        started.elapsed().as_secs_f64()
    );
    for file in &expected.files {
        // Warm the page cache so every contender reads from memory.
        if let Ok(mut f) = std::fs::File::open(file) {
            std::io::copy(&mut f, &mut std::io::sink()).ok();
        }
    }
    let db = work.join("codex.db");
    let cco = |args: &[&str]| {
        let mut cmd = Command::new(&bin);
        cmd.arg("--db")
            .arg(&db)
            .arg("--source")
            .arg(&claude)
            .args(args)
            .env("HOME", &home)
            .env_remove("CODEX_HOME")
            .env_remove("CLAUDE_CONFIG_DIR");
        // No other agent's files either: the days must be the generated home's alone.
        for var in [
            "GEMINI_CLI_HOME",
            "GEMINI_DATA_DIR",
            "QWEN_RUNTIME_DIR",
            "QWEN_HOME",
            "QWEN_DATA_DIR",
            "AMP_DATA_DIR",
            "COPILOT_HOME",
        ] {
            cmd.env_remove(var);
        }
        cmd
    };
    let mut cold = Vec::new();
    for _ in 0..5 {
        for suffix in ["", "-wal", "-shm"] {
            std::fs::remove_file(format!("{}{suffix}", db.display())).ok();
        }
        cold.push(time(&mut cco(&["once"])).0);
    }
    let ours = days(
        &time(&mut cco(&[
            "daily",
            "--json",
            "--no-ingest",
            "--timezone",
            "UTC",
        ]))
        .1,
    );
    let wanted: Vec<(String, [u64; 4])> = expected
        .days
        .iter()
        .map(|(day, sums)| (day.clone(), *sums))
        .collect();
    assert_eq!(
        ours, wanted,
        "the ledger's days differ from the generator's"
    );
    let mut unchanged = Vec::new();
    let mut walk = Vec::new();
    for _ in 0..21 {
        unchanged.push(time(&mut cco(&["once"])).0);
        let mut find = Command::new("find");
        find.arg(codex.join("sessions"))
            .arg(codex.join("archived_sessions"))
            .args(["-name", "*.jsonl"]);
        walk.push(time(&mut find).0);
    }
    let (cold_s, unchanged_s, walk_s) =
        (median(&mut cold), median(&mut unchanged), median(&mut walk));
    println!("totals: exact ({} growths)", expected.rows);
    println!(
        "  cold ingest (once, fresh db)   median {:>9.1} ms   ({:.0} MiB/s)",
        cold_s * 1e3,
        mib(expected.bytes) / cold_s
    );
    println!(
        "  no-change once                 median {:>9.2} ms   ({:.2}x a find walk of the same folders, {:.2} ms)",
        unchanged_s * 1e3,
        unchanged_s / walk_s,
        walk_s * 1e3
    );
    let Some(ccusage) = std::env::var_os("CCUSAGE_BIN").filter(|p| !p.is_empty()) else {
        println!("ccusage: not found (set CCUSAGE_BIN); no comparison");
        return;
    };
    let ccusage_daily = || {
        let mut cmd = Command::new(&ccusage);
        cmd.args(["codex", "daily", "--json", "--offline", "--timezone", "UTC"])
            .env("HOME", &home)
            .env_remove("CODEX_HOME");
        cmd
    };
    let mut times = Vec::new();
    let mut theirs = Vec::new();
    for _ in 0..5 {
        let (elapsed, stdout) = time(&mut ccusage_daily());
        times.push(elapsed);
        theirs = days(&stdout);
    }
    let ccusage_s = median(&mut times);
    println!(
        "ccusage codex daily --json --offline median {:>9.1} ms; its daily tokens {} the ledger's",
        ccusage_s * 1e3,
        if theirs == ours {
            "equal"
        } else {
            "DIFFER from"
        }
    );
    println!(
        "  cold ingest: {:.2}x ccusage's time (goal: <= 1x)",
        cold_s / ccusage_s
    );
}

/// Runs `cmd` to completion: its wall time and stdout.
fn time(cmd: &mut Command) -> (f64, String) {
    let started = Instant::now();
    let out = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("spawn");
    let elapsed = started.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (elapsed, String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Per-day [input, output, cache creation, cache read] of a `daily --json`.
fn days(json: &str) -> Vec<(String, [u64; 4])> {
    let daily: serde_json::Value = serde_json::from_str(json).expect("daily JSON");
    let n = |d: &serde_json::Value, k: &str| d[k].as_u64().unwrap_or(0);
    daily["daily"]
        .as_array()
        .map(|days| {
            days.iter()
                .map(|d| {
                    let date = d["date"].as_str().unwrap_or_default().to_string();
                    let sums = [
                        n(d, "inputTokens"),
                        n(d, "outputTokens"),
                        n(d, "cacheCreationTokens"),
                        n(d, "cacheReadTokens"),
                    ];
                    (date, sums)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1 << 20) as f64
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
