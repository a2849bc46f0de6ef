//! Codex CLI figures (`cargo bench --bench codex`, part of `make bench`): a generated
//! Codex home of about 500 MB (`CCO_BENCH_CODEX_FILES` rollouts), read cold by `once`
//! into a fresh ledger (where its time goes, its peak RSS), the no-change `once` beside a
//! `find` walk of the same folders, and, where ccusage is found (`CCUSAGE_BIN`),
//! `ccusage codex daily --json --offline` over the same home: its time, and its daily
//! tokens against the ledger's. Then a home with every agent a user may run (Claude Code,
//! Codex, Gemini CLI, Qwen Code, Copilot, Amp, OpenCode; `CCO_BENCH_HOME_FILES` files or
//! more): the no-change `once` over it beside a `find` walk of the same folders.
//! `CCO_BENCH_DIR` keeps the Codex home, in its `codex` folder, for timing by hand.

#[path = "corpus.rs"]
mod corpus;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

fn main() {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_cco-stats"));
    let scratch = tempfile::tempdir().expect("a scratch folder");
    // CCO_BENCH_DIR keeps the generated home (in its `codex` folder) for timing by hand.
    let work = match std::env::var_os("CCO_BENCH_DIR") {
        Some(dir) => PathBuf::from(dir).join("codex"),
        None => scratch.path().to_path_buf(),
    };
    std::fs::remove_dir_all(&work).ok();
    std::fs::create_dir_all(&work).expect("the bench's folder");
    let work = work.as_path();
    let home = work.join("home");
    let codex = home.join(".codex");
    let claude = work.join("claude");
    std::fs::create_dir_all(claude.join("projects")).expect("an empty Claude root");
    let spec = corpus::Spec {
        files: corpus::env_usize("CCO_BENCH_CODEX_FILES", 450),
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
    // A first ingest reads history: files Codex wrote earlier, not being written now.
    corpus::backdate(&expected.files).expect("backdate the Codex home");
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
    let mut peak_rss = Vec::new();
    let mut spent = None;
    for run in 0..5 {
        for suffix in ["", "-wal", "-shm"] {
            std::fs::remove_file(format!("{}{suffix}", db.display())).ok();
        }
        let mut cmd = cco(&["once", "--json"]);
        if run == 0 {
            cmd.env("RUST_LOG", "debug");
        }
        let (elapsed, stdout, stderr) = run_timed(&mut cmd);
        let summary: serde_json::Value = serde_json::from_str(&stdout).expect("once --json");
        cold.push(elapsed);
        peak_rss.push(summary["peak_rss_bytes"].as_u64().unwrap_or(0));
        if run == 0 {
            spent = corpus::time_spent(&stderr).map(str::to_string);
        }
    }
    let ours = corpus::daily_days(
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
    let (cold_s, unchanged_s, walk_s) = (
        corpus::median(&mut cold),
        corpus::median(&mut unchanged),
        corpus::median(&mut walk),
    );
    println!("totals: exact ({} growths)", expected.rows);
    println!(
        "  cold ingest (once, fresh db)   median {:>9.1} ms   ({:.0} MiB/s)",
        cold_s * 1e3,
        mib(expected.bytes) / cold_s
    );
    if let Some(spent) = spent {
        println!("  cold ingest, where time goes   {spent}");
    }
    peak_rss.sort_unstable();
    println!(
        "  peak RSS, cold ingest          median {:>9.1} MiB  (goal <= 64 MiB)",
        mib(peak_rss[peak_rss.len() / 2])
    );
    println!(
        "  no-change once                 median {:>9.2} ms   ({:.2}x a find walk of the same folders, {:.2} ms)",
        unchanged_s * 1e3,
        unchanged_s / walk_s,
        walk_s * 1e3
    );
    every_agent_no_change(&bin, work);
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
        theirs = corpus::daily_days(&stdout);
    }
    let ccusage_s = corpus::median(&mut times);
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
        "  cold ingest: ccusage / cco-stats {:.2}x (goal: >= 1.5x)",
        ccusage_s / cold_s
    );
}

/// A home with every agent's files, as a user running them all has (goal of issue 18: a
/// no-change `once` over it costs at most 0.6x a `find` walk of the same folders).
fn every_agent_no_change(bin: &std::path::Path, work: &std::path::Path) {
    let home = work.join("every-agent");
    let files = corpus::env_usize("CCO_BENCH_HOME_FILES", 2_000);
    let spec = |share: usize, seed: u64| corpus::Spec {
        files: files * share / 100,
        days: 60,
        seed,
        turns: 6,
        big_prob: 0.0,
        big_kb: 0,
    };
    let started = Instant::now();
    let mut made = corpus::generate(&home.join(".claude"), &spec(40, 1)).expect("Claude Code");
    let agents = [
        corpus::generate_codex(&home.join(".codex"), &spec(20, 2)).expect("Codex"),
        corpus::gemini(&home.join(".gemini"), &spec(12, 3))
            .expect("Gemini CLI")
            .expected,
        corpus::qwen(&home.join(".qwen"), &spec(12, 4))
            .expect("Qwen Code")
            .expected,
        corpus::copilot(&home.join(".copilot"), &spec(10, 5))
            .expect("Copilot")
            .expected,
        corpus::amp(&home.join(".local/share/amp"), &spec(6, 6))
            .expect("Amp")
            .expected,
    ];
    for tree in agents {
        corpus::merge(&mut made, tree);
    }
    let opencode = home.join(".local/share/opencode");
    std::fs::create_dir_all(&opencode).expect("OpenCode's folder");
    let conn = rusqlite::Connection::open(opencode.join("opencode.db")).expect("OpenCode's db");
    conn.execute_batch(include_str!("../fixtures/opencode/schema.sql"))
        .and_then(|()| conn.execute_batch(include_str!("../fixtures/opencode/messages.sql")))
        .expect("OpenCode's sessions");
    drop(conn);
    let folders = [
        ".claude/projects",
        ".codex/sessions",
        ".codex/archived_sessions",
        ".gemini/tmp",
        ".qwen/projects",
        ".copilot/session-state",
        ".local/share/amp/threads",
        ".local/share/opencode",
    ]
    .map(|f| home.join(f));
    let once = || {
        let mut cmd = Command::new(bin);
        cmd.arg("--db")
            .arg(work.join("every-agent.db"))
            .arg("--source")
            .arg(home.join(".claude"))
            .arg("once")
            .env("HOME", &home);
        for var in [
            "CODEX_HOME",
            "CLAUDE_CONFIG_DIR",
            "GEMINI_CLI_HOME",
            "GEMINI_DATA_DIR",
            "QWEN_RUNTIME_DIR",
            "QWEN_HOME",
            "QWEN_DATA_DIR",
            "AMP_DATA_DIR",
            "COPILOT_HOME",
            "OPENCODE_DATA_DIR",
            "XDG_DATA_HOME",
            "XDG_CONFIG_HOME",
        ] {
            cmd.env_remove(var);
        }
        cmd
    };
    time(&mut once());
    let mut unchanged = Vec::new();
    let mut walk = Vec::new();
    for _ in 0..21 {
        unchanged.push(time(&mut once()).0);
        walk.push(time(Command::new("find").args(&folders)).0);
    }
    let (unchanged_s, walk_s) = (corpus::median(&mut unchanged), corpus::median(&mut walk));
    println!(
        "every agent's home: {} files, {:.0} MiB (generated in {:.1} s)",
        made.files.len(),
        mib(made.bytes),
        started.elapsed().as_secs_f64()
    );
    println!(
        "  no-change once                 median {:>9.2} ms   ({:.2}x a find walk of the same folders, {:.2} ms; goal <= 0.6x)",
        unchanged_s * 1e3,
        unchanged_s / walk_s,
        walk_s * 1e3
    );
}

/// Runs `cmd` to completion: its wall time and stdout.
fn time(cmd: &mut Command) -> (f64, String) {
    let (elapsed, stdout, _) = run_timed(cmd);
    (elapsed, stdout)
}

/// Runs `cmd` to completion: its wall time, stdout and stderr.
fn run_timed(cmd: &mut Command) -> (f64, String, String) {
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
    (
        elapsed,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1 << 20) as f64
}
