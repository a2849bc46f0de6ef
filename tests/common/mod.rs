//! Runs the real binary against a private database and data root, and reads its output.

#![allow(dead_code)]

#[path = "../../benches/corpus.rs"]
pub mod corpus;

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;
use tempfile::TempDir;

pub const BIN: &str = env!("CARGO_BIN_EXE_cco-stats");

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
        cmd.env_remove("CLAUDE_CONFIG_DIR")
            .env_remove("CODEX_HOME")
            .env_remove("GEMINI_CLI_HOME")
            .env_remove("GEMINI_DATA_DIR")
            .env_remove("QWEN_RUNTIME_DIR")
            .env_remove("QWEN_HOME")
            .env_remove("QWEN_DATA_DIR")
            .env_remove("AMP_DATA_DIR")
            .env_remove("COPILOT_HOME")
            .env_remove("OPENCODE_DATA_DIR")
            .env_remove("DROID_SESSIONS_DIR")
            .env_remove("KILO_DATA_DIR")
            .env_remove("CODEBUFF_DATA_DIR")
            .env_remove("HERMES_HOME")
            .env_remove("CCO_STATS_DB")
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
