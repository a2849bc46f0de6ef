//! Runs the real binary against a private database and data root, and reads its output.

#![allow(dead_code)]

#[path = "../../benches/corpus.rs"]
pub mod corpus;

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;
use tempfile::TempDir;

pub const BIN: &str = env!("CARGO_BIN_EXE_cco-stats");

/// Every variable an agent's folders are read from (ours and ccusage's): unset in
/// the commands the tests run, so a developer's own agents never mix in.
pub const AGENT_VARS: [&str; 22] = [
    "CLAUDE_CONFIG_DIR",
    "CODEX_HOME",
    "GEMINI_CLI_HOME",
    "GEMINI_DATA_DIR",
    "QWEN_RUNTIME_DIR",
    "QWEN_HOME",
    "QWEN_DATA_DIR",
    "AMP_DATA_DIR",
    "COPILOT_HOME",
    "OPENCODE_DATA_DIR",
    "DROID_SESSIONS_DIR",
    "KILO_DATA_DIR",
    "CODEBUFF_DATA_DIR",
    "HERMES_HOME",
    "KIMI_SHARE_DIR",
    "KIMI_DATA_DIR",
    "PI_CODING_AGENT_DIR",
    "PI_AGENT_DIR",
    "OPENCLAW_STATE_DIR",
    "CLAWDBOT_STATE_DIR",
    "OPENCLAW_DIR",
    "GOOSE_PATH_ROOT",
];

/// A scratch place: a database path and a data root, isolated from the user's own.
pub struct Scratch {
    pub dir: TempDir,
    pub db: PathBuf,
    pub root: PathBuf,
}

impl Scratch {
    pub fn new() -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("stats.db");
        let root = dir.path().join("claude");
        std::fs::create_dir_all(root.join("projects")).unwrap();
        Scratch { dir, db, root }
    }

    /// A scratch whose data root is a copy of `fixtures/claude`.
    pub fn with_fixtures() -> Scratch {
        let scratch = Scratch::new();
        copy_tree(&fixtures(), &scratch.root);
        scratch
    }

    /// The binary, with `--db` and `--source` set and the environment cleared of the
    /// user's settings.
    pub fn cmd(&self) -> assert_cmd::Command {
        assert_cmd::Command::from_std(self.std_cmd())
    }

    /// The same, as a plain process (for runs that are spawned and signalled).
    pub fn std_cmd(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(BIN);
        for var in AGENT_VARS {
            cmd.env_remove(var);
        }
        cmd.env_remove("CCO_STATS_DB")
            .env_remove("RUST_LOG")
            .env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.dir.path().join("config"))
            .env("XDG_DATA_HOME", self.dir.path().join("data"))
            .env("NO_COLOR", "1")
            .arg("--db")
            .arg(&self.db)
            .arg("--source")
            .arg(&self.root);
        cmd
    }

    pub fn once(&self) -> Value {
        let out = self.cmd().args(["once", "--json"]).assert().success();
        json(&out.get_output().stdout)
    }

    /// Any report (`args`: the command and its flags) as JSON in UTC, from the ledger only.
    pub fn report(&self, args: &[&str]) -> Value {
        let out = self
            .cmd()
            .args(args)
            .args(["--json", "--no-ingest", "--timezone", "UTC"])
            .assert()
            .success();
        json(&out.get_output().stdout)
    }

    /// `daily --json` in UTC from the ledger only.
    pub fn daily(&self, extra: &[&str]) -> Value {
        let out = self
            .cmd()
            .args(["daily", "--json", "--no-ingest"])
            .args(extra)
            .assert()
            .success();
        json(&out.get_output().stdout)
    }

    pub fn status(&self) -> Value {
        let out = self.cmd().args(["status", "--json"]).assert().success();
        json(&out.get_output().stdout)
    }
}

pub fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(bytes)))
}

/// One family of `prices --json`, by name.
pub fn price_family<'a>(prices: &'a Value, name: &str) -> &'a Value {
    prices["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["family"] == name)
        .unwrap_or_else(|| panic!("no family {name} in `prices --json`"))
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/claude")
}

pub fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Every file below `dir`, sorted.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// Per-day token sums `[input, output, cache creation, cache read]` of a daily report.
pub fn days(daily: &Value) -> Vec<(String, [u64; 4])> {
    daily["daily"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["date"].as_str().unwrap().to_string(), sums(d)))
        .collect()
}

pub fn sums(v: &Value) -> [u64; 4] {
    [
        v["inputTokens"].as_u64().unwrap(),
        v["outputTokens"].as_u64().unwrap(),
        v["cacheCreationTokens"].as_u64().unwrap(),
        v["cacheReadTokens"].as_u64().unwrap(),
    ]
}

/// The generator's expected days, in the same shape as `days`.
pub fn expected_days(expected: &corpus::Expected) -> Vec<(String, [u64; 4])> {
    expected
        .days
        .iter()
        .map(|(day, sums)| (day.clone(), *sums))
        .collect()
}

/// A day's row of `agent_days` (`day("2026-05-01", [1_700, 1_300, 3_000, 46_000])`).
pub fn day(date: &str, sums: [u64; 4]) -> (String, [u64; 4]) {
    (date.to_string(), sums)
}

/// One agent's daily report per day (UTC): `[input, output, cache creation, cache read]`.
pub fn agent_days(s: &Scratch, agent: &str) -> Vec<(String, [u64; 4])> {
    days(&s.daily(&["--timezone", "UTC", "--agent", agent]))
}

/// The `agents` view's row of `agent`.
pub fn agent_row(s: &Scratch, agent: &str) -> Value {
    let view = s.report(&["agents"]);
    view["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["agent"] == agent)
        .unwrap_or_else(|| panic!("no {agent} row: {view}"))
        .clone()
}

/// `once` started `runs` times with `--batch-size batch`, each killed (SIGKILL) after a
/// few milliseconds more than the last, up to `max_ms`; then the caller's own pass.
pub fn killed_passes(s: &Scratch, runs: u64, batch: &str, max_ms: u64) {
    for run in 0..runs {
        let mut child = s
            .std_cmd()
            .args(["once", "--batch-size", batch])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let delay = (run + 2) * 7 % max_ms;
        std::thread::sleep(std::time::Duration::from_millis(delay));
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

/// `ccusage <agent> daily` per day (UTC) with `HOME` the scratch's and `vars` set, where
/// ccusage is at hand (`CCUSAGE_BIN`); `None` without it.
pub fn ccusage_days(
    s: &Scratch,
    agent: &str,
    vars: &[(&str, &Path)],
) -> Option<Vec<(String, [u64; 4])>> {
    let ccusage = std::env::var_os("CCUSAGE_BIN").filter(|p| !p.is_empty())?;
    let mut cmd = std::process::Command::new(ccusage);
    for var in AGENT_VARS {
        cmd.env_remove(var);
    }
    cmd.args([agent, "daily", "--json", "--offline", "--timezone", "UTC"])
        .env("HOME", s.dir.path());
    for (var, path) in vars {
        cmd.env(var, path);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    Some(days(&json(&out.stdout)))
}

/// Waits (up to 10 s) until the process has a SIGINT handler: bit 2 of `SigCgt` in
/// /proc/PID/status.
pub fn wait_until_catching_sigint(child: &std::process::Child) {
    let status = format!("/proc/{}/status", child.id());
    let started = std::time::Instant::now();
    while started.elapsed() < std::time::Duration::from_secs(10) {
        let text = std::fs::read_to_string(&status).unwrap_or_default();
        let caught = text
            .lines()
            .find_map(|l| l.strip_prefix("SigCgt:"))
            .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
            .is_some_and(|mask| mask & (1 << (libc::SIGINT - 1)) != 0);
        if caught {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    panic!("the process never installed its SIGINT handler");
}
