//! A synthetic Claude Code data tree for tests and benchmarks, with the totals it must give.
//!
//! The tree has the shapes real transcripts have (see `transcripts.md`): responses split
//! into one line per content block, streaming partials with a smaller `output_tokens`
//! first, progress lines echoing subagent responses (whose own file is sometimes missing),
//! sidechain replays of a parent response under a new `requestId`, sessions resumed with
//! copies of earlier lines, `<synthetic>` error placeholders, Task results with their own
//! `usage`, megabyte tool results, and damaged lines that must be skipped.
//!
//! Because the generator knows which lines are copies of which response, it also returns
//! the exact totals a correct reader must report: the oracle for tests that do not have
//! ccusage at hand. Deterministic for a seed (splitmix64, no dependencies).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct Spec {
    /// Session files (subagent files come on top).
    pub files: usize,
    pub days: u32,
    pub seed: u64,
    /// Mean number of turns per session.
    pub turns: usize,
    /// Chance that a tool result is big, and the mean size of a big one.
    pub big_prob: f64,
    pub big_kb: usize,
}

impl Default for Spec {
    fn default() -> Spec {
        Spec {
            files: 50,
            days: 20,
            seed: 1,
            turns: 12,
            big_prob: 0.05,
            big_kb: 200,
        }
    }
}

/// Token sums of the unique responses: [input, output, cache creation, cache read].
pub type Sums = [u64; 4];

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Expected {
    pub rows: u64,
    pub totals: Sums,
    /// By UTC day (`YYYY-MM-DD`).
    pub days: BTreeMap<String, Sums>,
    pub files: Vec<PathBuf>,
    pub bytes: u64,
    pub lines: u64,
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
    fn hex(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n);
        while s.len() < n {
            s.push_str(&format!("{:016x}", self.next()));
        }
        s.truncate(n);
        s
    }
}

const MODELS: [&str; 5] = [
    "claude-sonnet-4-20250514",
    "claude-sonnet-4-5-20250929",
    "claude-opus-4-1-20250805",
    "claude-haiku-4-5-20251001",
    "claude-opus-4-5-20251101",
];
const FILLER: &str = "fn main() { let total = compute(42); println!(\"{}\", total); } // lorem ipsum dolor sit amet consectetur ";

/// 2025-09-01T00:00:00Z in milliseconds.
pub const START_MS: i64 = 1_756_684_800_000;

/// Points every agent but Claude Code at an empty home below `dir`, made here: a bench
/// then reads the generated tree alone, not this machine's agents, and no agent's missing
/// folder counts as one that could not be read (a named one does: `once` would exit 1).
///
/// # Safety
/// It sets the process's environment: call it before any thread starts.
pub unsafe fn empty_agent_homes(dir: &Path) -> io::Result<()> {
    let homes: [(&str, &str, &str); 14] = [
        ("CODEX_HOME", "no-codex-home", "sessions"),
        ("GEMINI_CLI_HOME", "no-gemini-home", ".gemini/tmp"),
        ("QWEN_RUNTIME_DIR", "no-qwen-home", "projects"),
        ("OPENCODE_DATA_DIR", "no-opencode-home", ""),
        ("AMP_DATA_DIR", "no-amp-home", "threads"),
        ("COPILOT_HOME", "no-copilot-home", "session-state"),
        ("DROID_SESSIONS_DIR", "no-droid-home", ""),
        ("KILO_DATA_DIR", "no-kilo-home", ""),
        ("CODEBUFF_DATA_DIR", "no-codebuff-home", "projects"),
        ("HERMES_HOME", "no-hermes-home", ""),
        ("KIMI_SHARE_DIR", "no-kimi-home", "sessions"),
        ("PI_CODING_AGENT_DIR", "no-pi-home", "sessions"),
        ("OPENCLAW_STATE_DIR", "no-openclaw-home", "agents"),
        ("GOOSE_PATH_ROOT", "no-goose-home", "data/sessions"),
    ];
    for (var, home, folder) in homes {
        let home = dir.join(home);
        fs::create_dir_all(home.join(folder))?;
        // SAFETY: the caller has started no thread yet.
        unsafe { std::env::set_var(var, &home) };
    }
    Ok(())
}

/// Sets `files`' mtimes a day back: a first ingest reads history, files their agent wrote
/// earlier and is not writing now (the tailer maps only such files; see `ingest::tail`).
pub fn backdate(files: &[PathBuf]) -> io::Result<()> {
    let day_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(86_400);
    for file in files {
        fs::File::options()
            .append(true)
            .open(file)?
            .set_modified(day_ago)?;
    }
    Ok(())
}

/// What a pass's debug log says of where its time went (`read …, parse …, write …`).
pub fn time_spent(stderr: &str) -> Option<&str> {
    stderr
        .lines()
        .find_map(|l| l.split_once("Time spent: ").map(|(_, spent)| spent))
}

pub fn iso(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms.rem_euclid(1000)
    )
}

/// Howard Hinnant's days-to-civil: the generator must not depend on the code it tests.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

struct Usage {
    input: u64,
    output: u64,
    cache_5m: u64,
    cache_1h: u64,
    cache_read: u64,
}

impl Usage {
    fn json(&self, output: u64) -> String {
        format!(
            r#"{{"input_tokens":{},"cache_creation_input_tokens":{},"cache_read_input_tokens":{},"cache_creation":{{"ephemeral_5m_input_tokens":{},"ephemeral_1h_input_tokens":{}}},"output_tokens":{},"service_tier":"standard"}}"#,
            self.input,
            self.cache_5m + self.cache_1h,
            self.cache_read,
            self.cache_5m,
            self.cache_1h,
            output
        )
    }
    fn sums(&self) -> Sums {
        [
            self.input,
            self.output,
            self.cache_5m + self.cache_1h,
            self.cache_read,
        ]
    }
}

/// A billable response as written to a file (its final, complete line).
#[derive(Clone)]
struct Written {
    line: String,
    ts_ms: i64,
    message_id: String,
    request_id: String,
    model: String,
    usage_json: String,
}

struct Session<'a> {
    rng: &'a mut Rng,
    cwd: String,
    session_id: String,
    lines: Vec<String>,
    responses: Vec<Written>,
    sidechain: bool,
}

impl Session<'_> {
    fn head(&mut self, kind: &str, ts_ms: i64) -> String {
        format!(
            r#"{{"parentUuid":"{}","isSidechain":{},"userType":"external","cwd":"{}","sessionId":"{}","version":"2.0.37","gitBranch":"main","type":"{kind}","uuid":"{}","timestamp":"{}""#,
            self.rng.hex(32),
            self.sidechain,
            self.cwd,
            self.session_id,
            self.rng.hex(32),
            iso(ts_ms)
        )
    }

    fn prompt(&mut self, ts_ms: i64) {
        let head = self.head("user", ts_ms);
        self.lines.push(format!(
            r#"{head},"message":{{"role":"user","content":"Please refactor the parser and add tests."}}}}"#
        ));
    }

    fn tool_result(&mut self, ts_ms: i64, bytes: usize, task_usage: bool) {
        let head = self.head("user", ts_ms);
        let body: String = FILLER.chars().cycle().take(bytes).collect();
        let extra = if task_usage {
            r#","toolUseResult":{"status":"completed","totalTokens":51234,"usage":{"input_tokens":7,"cache_creation_input_tokens":812,"cache_read_input_tokens":50100,"output_tokens":315}}"#
        } else {
            r#","toolUseResult":{"stdout":"ok","stderr":"","interrupted":false}"#
        };
        let id = self.rng.hex(24);
        self.lines.push(format!(
            r#"{head},"message":{{"role":"user","content":[{{"tool_use_id":"toolu_{id}","type":"tool_result","content":"{body}"}}]}}{extra}}}"#
        ));
    }

    /// One response: 1–3 content-block lines, the earlier ones sometimes streaming partials.
    fn response(&mut self, ts_ms: i64, expected: &mut Expected) -> Written {
        let model = MODELS[self.rng.below(MODELS.len() as u64) as usize].to_string();
        let cache = if self.rng.chance(0.4) {
            0
        } else {
            self.rng.range(200, 25_000)
        };
        let cache_1h = if self.rng.chance(0.15) { cache } else { 0 };
        let usage = Usage {
            input: if self.rng.chance(0.9) {
                self.rng.range(1, 60)
            } else {
                self.rng.range(1_000, 30_000)
            },
            output: self.rng.range(1, 4_000),
            cache_5m: cache - cache_1h,
            cache_1h,
            cache_read: if self.rng.chance(0.02) {
                self.rng.range(190_000, 420_000)
            } else {
                self.rng.range(0, 150_000)
            },
        };
        let message_id = format!("msg_01{}", self.rng.hex(22));
        let request_id = format!("req_011{}", self.rng.hex(21));
        let blocks = self.rng.range(1, 3);
        let partial = self.rng.chance(0.25);
        let mut last = None;
        // All blocks share one timestamp, so the day of a response does not depend on
        // which of its equal copies a reader keeps.
        let line_ms = ts_ms;
        for block in 0..blocks {
            let output = if partial && block + 1 < blocks {
                (usage.output / (blocks - block + 1)).max(1)
            } else {
                usage.output
            };
            let head = self.head("assistant", line_ms);
            let usage_json = usage.json(output);
            let line = format!(
                r#"{head},"requestId":"{request_id}","message":{{"id":"{message_id}","type":"message","role":"assistant","model":"{model}","content":[{{"type":"text","text":"Here is the change."}}],"stop_reason":null,"usage":{usage_json}}}}}"#
            );
            self.lines.push(line.clone());
            last = Some(Written {
                line,
                ts_ms: line_ms,
                message_id: message_id.clone(),
                request_id: request_id.clone(),
                model: model.clone(),
                usage_json,
            });
        }
        let written = last.expect("at least one block");
        count(expected, written.ts_ms, usage.sums());
        self.responses.push(written.clone());
        written
    }

    fn api_error(&mut self, ts_ms: i64, expected: &mut Expected) {
        let head = self.head("assistant", ts_ms);
        let id = self.rng.hex(22);
        self.lines.push(format!(
            r#"{head},"isApiErrorMessage":true,"message":{{"id":"msg_01{id}","type":"message","role":"assistant","model":"<synthetic>","content":[{{"type":"text","text":"API Error: 529 Overloaded"}}],"usage":{{"input_tokens":0,"output_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}}}}}"#
        ));
        count(expected, ts_ms, [0; 4]);
    }

    /// The parent's progress line echoing a subagent response.
    fn echo(&mut self, sub: &Written) {
        let head = self.head("progress", sub.ts_ms);
        self.lines.push(format!(
            r#"{head},"data":{{"message":{{"type":"assistant","timestamp":"{}","requestId":"{}","message":{{"model":"{}","id":"{}","type":"message","role":"assistant","content":[],"usage":{}}}}},"normalizedMessages":[],"type":"agent_progress","agentId":"a1"}}}}"#,
            iso(sub.ts_ms),
            sub.request_id,
            sub.model,
            sub.message_id,
            sub.usage_json
        ));
    }

    /// Lines every reader must skip; none of them is billable.
    fn damage(&mut self, ts_ms: i64) {
        let head = self.head("assistant", ts_ms);
        match self.rng.below(5) {
            0 => self.lines.push(format!(r#"{head},"message":{{"id":"msg_cut","usage":{{"input_tokens":9"#)),
            1 => self.lines.push("\u{0}\u{1} garbage \"usage\" }{".to_string()),
            2 => self.lines.push(format!(
                r#"{{"type":"assistant","timestamp":"not a time","requestId":"req_bad{}","message":{{"id":"msg_bad{}","model":"claude-sonnet-4-20250514","usage":{{"input_tokens":5,"output_tokens":5}}}}}}"#,
                self.rng.hex(8),
                self.rng.hex(8)
            )),
            3 => self.lines.push(format!(
                r#"{{"type":"some-future-kind","timestamp":"{}","usage":{{"input_tokens":77}}}}"#,
                iso(ts_ms)
            )),
            _ => self.lines.push(r#"{"type":"summary","summary":"Refactor parser","leafUuid":"x"}"#.to_string()),
        }
    }
}

fn count(expected: &mut Expected, ts_ms: i64, sums: Sums) {
    expected.rows += 1;
    let day = iso(ts_ms)[..10].to_string();
    let entry = expected.days.entry(day).or_default();
    for i in 0..4 {
        entry[i] += sums[i];
        expected.totals[i] += sums[i];
    }
}

/// Writes the tree under `root/projects/` and returns what a correct reader must report.
pub fn generate(root: &Path, spec: &Spec) -> io::Result<Expected> {
    let mut rng = Rng(spec.seed);
    let mut expected = Expected::default();
    let projects = root.join("projects");
    let project_count = (spec.files / 20).max(1);
    let mut finished: Vec<Vec<Written>> = Vec::new();
    for _ in 0..spec.files {
        let project = rng.below(project_count as u64);
        let cwd = format!("/home/dev/work/project-{project}");
        let encoded = cwd.replace('/', "-");
        let session_id = format!(
            "{}-{}-4{}-a{}-{}",
            rng.hex(8),
            rng.hex(4),
            rng.hex(3),
            rng.hex(3),
            rng.hex(12)
        );
        let mut ts = START_MS
            + rng.below(spec.days as u64) as i64 * 86_400_000
            + rng.below(86_400_000) as i64;
        let mut subagents: Vec<(String, Vec<String>)> = Vec::new();
        let mut session = Session {
            rng: &mut rng,
            cwd: cwd.clone(),
            session_id: session_id.clone(),
            lines: Vec::new(),
            responses: Vec::new(),
            sidechain: false,
        };
        if !finished.is_empty() && session.rng.chance(0.1) {
            // A resumed session starts with copies of an earlier one's lines.
            let from = session.rng.below(finished.len() as u64) as usize;
            let take = session.rng.range(1, 5) as usize;
            let copies: Vec<String> = finished[from]
                .iter()
                .take(take)
                .map(|w| w.line.clone())
                .collect();
            session.lines.extend(copies);
        }
        let turns = session.rng.range(1, spec.turns as u64 * 2);
        for _ in 0..turns {
            ts += session.rng.range(5_000, 400_000) as i64;
            session.prompt(ts);
            for _ in 0..session.rng.range(1, 4) {
                ts += session.rng.range(2_000, 60_000) as i64;
                if session.rng.chance(0.01) {
                    session.api_error(ts, &mut expected);
                    continue;
                }
                session.response(ts, &mut expected);
                ts += session.rng.range(1_000, 30_000) as i64;
                if session.rng.chance(0.03) {
                    ts = subagent(&mut session, ts, &mut expected, &mut subagents);
                }
                let big = session.rng.chance(spec.big_prob);
                let bytes = if big {
                    session
                        .rng
                        .range(spec.big_kb as u64 * 512, spec.big_kb as u64 * 1536)
                        as usize
                } else {
                    session.rng.range(50, 3_000) as usize
                };
                let task = session.rng.chance(0.02);
                session.tool_result(ts, bytes, task);
            }
            if session.rng.chance(0.05) {
                session.damage(ts);
            }
        }
        let dir = projects.join(&encoded);
        let lines = std::mem::take(&mut session.lines);
        let responses = std::mem::take(&mut session.responses);
        write_file(
            &dir.join(format!("{session_id}.jsonl")),
            &lines,
            &mut expected,
        )?;
        for (agent, lines) in &subagents {
            let path = dir
                .join(&session_id)
                .join("subagents")
                .join(format!("agent-{agent}.jsonl"));
            write_file(&path, lines, &mut expected)?;
        }
        finished.push(responses);
        if finished.len() > 50 {
            finished.remove(0);
        }
    }
    Ok(expected)
}

/// A Task subagent: its responses go to its own sidechain file (kept 70% of the time) and
/// are echoed into the parent; sometimes it starts by replaying the parent's last response.
fn subagent(
    parent: &mut Session<'_>,
    mut ts: i64,
    expected: &mut Expected,
    files: &mut Vec<(String, Vec<String>)>,
) -> i64 {
    let agent = parent.rng.hex(7);
    let replay = parent.responses.last().cloned();
    let mut sub = Session {
        rng: &mut *parent.rng,
        cwd: parent.cwd.clone(),
        session_id: parent.session_id.clone(),
        lines: Vec::new(),
        responses: Vec::new(),
        sidechain: true,
    };
    if let Some(replay) = replay.filter(|_| sub.rng.chance(0.3)) {
        let new_request = format!("req_011{}", sub.rng.hex(21));
        sub.lines.push(
            replay
                .line
                .replacen("\"isSidechain\":false", "\"isSidechain\":true", 1)
                .replacen(&replay.request_id, &new_request, 1),
        );
    }
    let mut echoes = Vec::new();
    for _ in 0..sub.rng.range(1, 6) {
        ts += sub.rng.range(2_000, 40_000) as i64;
        let written = sub.response(ts, expected);
        echoes.push(written);
        sub.tool_result(ts, 200, false);
    }
    let keep_file = sub.rng.chance(0.7);
    let lines = std::mem::take(&mut sub.lines);
    for written in &echoes {
        parent.echo(written);
    }
    if keep_file {
        files.push((agent, lines));
    }
    ts
}

fn write_file(path: &Path, lines: &[String], expected: &mut Expected) -> io::Result<()> {
    fs::create_dir_all(path.parent().expect("a file has a folder"))?;
    let mut out = io::BufWriter::new(fs::File::create(path)?);
    for line in lines {
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")?;
        expected.bytes += line.len() as u64 + 1;
    }
    out.flush()?;
    expected.lines += lines.len() as u64;
    expected.files.push(path.to_path_buf());
    Ok(())
}

/// One session transcript under `root/projects/-big/`: `responses` responses, each
/// followed by a tool result of `result_bytes(i)` bytes. For the hardening figures: a
/// 700 MB transcript, a single 200 MB line.
pub fn session_file(
    root: &Path,
    name: &str,
    responses: usize,
    mut result_bytes: impl FnMut(usize) -> usize,
    seed: u64,
) -> io::Result<Expected> {
    let mut rng = Rng(seed);
    let mut expected = Expected::default();
    let path = root
        .join("projects")
        .join("-big")
        .join(format!("{name}.jsonl"));
    fs::create_dir_all(path.parent().expect("a file has a folder"))?;
    let mut out = io::BufWriter::new(fs::File::create(&path)?);
    let mut ts = START_MS + 3_600_000;
    for i in 0..responses {
        let mut session = Session {
            rng: &mut rng,
            cwd: "/home/dev/big".to_string(),
            session_id: name.to_string(),
            lines: Vec::new(),
            responses: Vec::new(),
            sidechain: false,
        };
        ts += 20_000;
        session.prompt(ts);
        session.response(ts, &mut expected);
        session.tool_result(ts, result_bytes(i), false);
        // Written as they come, so a huge file never sits in memory whole.
        for line in &session.lines {
            out.write_all(line.as_bytes())?;
            out.write_all(b"\n")?;
            expected.bytes += line.len() as u64 + 1;
        }
        expected.lines += session.lines.len() as u64;
    }
    out.flush()?;
    expected.files.push(path);
    Ok(expected)
}

/// Adds `other`'s counts to `expected` (two trees under one root).
pub fn merge(expected: &mut Expected, other: Expected) {
    expected.rows += other.rows;
    for i in 0..4 {
        expected.totals[i] += other.totals[i];
    }
    for (day, sums) in other.days {
        let entry = expected.days.entry(day).or_default();
        for i in 0..4 {
            entry[i] += sums[i];
        }
    }
    expected.files.extend(other.files);
    expected.bytes += other.bytes;
    expected.lines += other.lines;
}

/// A generated tree of another agent, with its two oracles: what a correct reader must
/// report, and what ccusage 20.0.24 reports, its known miscounts modelled (each one is
/// shown, with the lines involved, in `fixtures/README.md`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AgentTree {
    pub expected: Expected,
    /// ccusage's daily `[inputTokens, outputTokens, cacheCreationTokens, cacheReadTokens]`
    /// by UTC day.
    pub ccusage: BTreeMap<String, Sums>,
}

impl AgentTree {
    fn ccusage(&mut self, ts_ms: i64, sums: Sums) {
        let entry = self
            .ccusage
            .entry(iso(ts_ms)[..10].to_string())
            .or_default();
        for i in 0..4 {
            entry[i] += sums[i];
        }
    }
}

/// Gemini's `usageMetadata` of one generated reply: `prompt` includes `cached`.
#[derive(Clone, Copy, Debug)]
struct GeminiUsage {
    prompt: u64,
    candidates: u64,
    cached: u64,
    thoughts: u64,
    tool: u64,
    /// Thoughts inside the candidates (an OpenAI-compatible API behind Qwen Code), so
    /// `total` = prompt + candidates; else on top of them, as Gemini's API counts.
    thoughts_inside: bool,
}

impl GeminiUsage {
    fn random(rng: &mut Rng, thoughts_inside: bool) -> GeminiUsage {
        let prompt = rng.range(500, 250_000);
        let cached = if rng.chance(0.3) {
            0
        } else {
            rng.range(0, prompt)
        };
        let thoughts = if rng.chance(0.4) {
            0
        } else {
            rng.range(1, 2_000)
        };
        let candidates = rng.range(1, 3_000) + if thoughts_inside { thoughts } else { 0 };
        GeminiUsage {
            prompt,
            candidates,
            cached,
            thoughts,
            tool: if !thoughts_inside && rng.chance(0.1) {
                rng.range(1, 400)
            } else {
                0
            },
            thoughts_inside,
        }
    }

    fn thoughts_on_top(&self) -> u64 {
        if self.thoughts_inside {
            0
        } else {
            self.thoughts
        }
    }

    fn total(&self) -> u64 {
        self.prompt + self.candidates + self.thoughts_on_top() + self.tool
    }

    /// What the ledger bills: non-cached prompt and tool prompts as input, thoughts as
    /// output, cached as cache reads.
    fn sums(&self) -> Sums {
        [
            self.prompt - self.cached + self.tool,
            self.candidates + self.thoughts_on_top(),
            0,
            self.cached,
        ]
    }

    /// Gemini CLI's `tokens`.
    fn tokens_json(&self) -> String {
        format!(
            r#"{{"input":{},"output":{},"cached":{},"thoughts":{},"tool":{},"total":{}}}"#,
            self.prompt,
            self.candidates,
            self.cached,
            self.thoughts,
            self.tool,
            self.total()
        )
    }

    /// Qwen Code's `usageMetadata`.
    fn metadata_json(&self) -> String {
        format!(
            r#"{{"promptTokenCount":{},"candidatesTokenCount":{},"thoughtsTokenCount":{},"totalTokenCount":{},"cachedContentTokenCount":{}}}"#,
            self.prompt,
            self.candidates,
            self.thoughts,
            self.total(),
            self.cached
        )
    }
}

fn uuid(rng: &mut Rng) -> String {
    format!(
        "{}-{}-4{}-a{}-{}",
        rng.hex(8),
        rng.hex(4),
        rng.hex(3),
        rng.hex(3),
        rng.hex(12)
    )
}

const GEMINI_MODELS: [&str; 3] = ["gemini-2.5-pro", "gemini-2.5-flash", "gemini-3-pro-preview"];

/// A message of a Gemini CLI session as last written, and the usage of a reply.
#[derive(Clone)]
struct GeminiMessage {
    line: String,
    reply: Option<(i64, GeminiUsage)>,
}

/// One Gemini CLI session file being written.
struct GeminiSession<'a> {
    rng: &'a mut Rng,
    lines: Vec<String>,
    /// Every message as last written, in order (what a `$set` dump repeats).
    messages: Vec<GeminiMessage>,
    model: String,
    /// A line of this file named a model (ccusage bills a reply without one under it).
    named_model: bool,
    /// A legacy `.json` document: ccusage drops its replies without a model.
    document: bool,
}

impl GeminiSession<'_> {
    fn new<'a>(rng: &'a mut Rng, model: &str) -> GeminiSession<'a> {
        GeminiSession {
            rng,
            lines: Vec::new(),
            messages: Vec::new(),
            model: model.to_string(),
            named_model: false,
            document: false,
        }
    }

    fn meta(&mut self, session_id: &str, ts_ms: i64, kind: &str) {
        self.lines.push(format!(
            r#"{{"sessionId":"{session_id}","projectHash":"{}","startTime":"{}","lastUpdated":"{}","kind":"{kind}"}}"#,
            self.rng.hex(64),
            iso(ts_ms),
            iso(ts_ms)
        ));
    }

    fn push(&mut self, message: GeminiMessage) {
        self.named_model |= message.line.contains(r#""model":"#);
        self.lines.push(message.line.clone());
        self.messages.push(message);
    }

    fn user(&mut self, ts_ms: i64) {
        let id = uuid(self.rng);
        self.push(GeminiMessage {
            line: format!(
                r#"{{"id":"{id}","timestamp":"{}","type":"user","content":[{{"text":"Please refactor the parser and add tests."}}]}}"#,
                iso(ts_ms)
            ),
            reply: None,
        });
        self.lines
            .push(format!(r#"{{"$set":{{"lastUpdated":"{}"}}}}"#, iso(ts_ms)));
    }

    /// One reply, counted once however often it is appended again: often first without
    /// its tokens, then with them, then with a tool call added; sometimes (a synthetic
    /// message, after one that named a model) without a model, billed under the one
    /// before it.
    fn reply(&mut self, ts_ms: i64, tree: &mut AgentTree) {
        if self.rng.chance(0.3) {
            self.model = GEMINI_MODELS[self.rng.below(GEMINI_MODELS.len() as u64) as usize].into();
        }
        let usage = GeminiUsage::random(self.rng, false);
        let id = uuid(self.rng);
        let model = if self.named_model && self.rng.chance(0.05) {
            String::new()
        } else {
            format!(r#","model":"{}""#, self.model)
        };
        let head = format!(
            r#"{{"id":"{id}","timestamp":"{}","type":"gemini","content":[{{"text":"Here is the change."}}],"thoughts":[]"#,
            iso(ts_ms)
        );
        if self.rng.chance(0.4) {
            self.lines.push(format!(r#"{head},"tokens":null{model}}}"#));
        }
        let with_tokens = format!(r#"{head},"tokens":{}{model}"#, usage.tokens_json());
        let mut last = format!("{with_tokens}}}");
        if self.rng.chance(0.3) {
            self.lines.push(last);
            last = format!(
                r#"{with_tokens},"toolCalls":[{{"id":"read_file-{}","name":"read_file","args":{{"file_path":"src/lib.rs"}},"status":"success","timestamp":"{}"}}]}}"#,
                self.rng.hex(8),
                iso(ts_ms + 500)
            );
        }
        self.push(GeminiMessage {
            line: last,
            reply: Some((ts_ms, usage)),
        });
        count(&mut tree.expected, ts_ms, usage.sums());
        if !(self.document && model.is_empty()) {
            gemini_ccusage(tree, ts_ms, &usage);
        }
    }

    /// What a session does besides messages: a `$set` repeating the whole history, a
    /// rewind to an earlier message (its usage stays billed), an `info` message, a line
    /// cut off.
    fn noise(&mut self, ts_ms: i64) {
        match self.rng.below(8) {
            0 => {
                let history: Vec<&str> = self.messages.iter().map(|m| m.line.as_str()).collect();
                self.lines.push(format!(
                    r#"{{"$set":{{"messages":[{}],"lastUpdated":"{}"}}}}"#,
                    history.join(","),
                    iso(ts_ms)
                ));
            }
            1 if !self.messages.is_empty() => {
                let at = self.rng.below(self.messages.len() as u64) as usize;
                let id = self.messages[at].line[7..43].to_string();
                self.lines.push(format!(r#"{{"$rewindTo":"{id}"}}"#));
                self.messages.truncate(at);
            }
            2 => {
                let id = uuid(self.rng);
                self.push(GeminiMessage {
                    line: format!(
                        r#"{{"id":"{id}","timestamp":"{}","type":"info","content":"Request cancelled."}}"#,
                        iso(ts_ms)
                    ),
                    reply: None,
                });
            }
            3 => self.lines.push(
                r#"{"id":"cut","timestamp":"2025-09-01T00:00:00.000Z","type":"gemini","tokens":{"input":9"#
                    .to_string(),
            ),
            _ => {}
        }
    }

    /// A legacy `.json`: the whole session as one pretty-printed document.
    fn document(&self, session_id: &str, start_ms: i64) -> String {
        let messages: Vec<String> = self
            .messages
            .iter()
            .map(|m| format!("    {}", m.line))
            .collect();
        format!(
            "{{\n  \"sessionId\": \"{session_id}\",\n  \"projectHash\": \"{}\",\n  \"startTime\": \"{}\",\n  \"lastUpdated\": \"{}\",\n  \"messages\": [\n{}\n  ]\n}}",
            "0".repeat(64),
            iso(start_ms),
            iso(start_ms),
            messages.join(",\n")
        )
    }
}

/// ccusage's Gemini figures for a reply: thoughts left out of its output column.
fn gemini_ccusage(tree: &mut AgentTree, ts_ms: i64, usage: &GeminiUsage) {
    let [input, _, _, cache_read] = usage.sums();
    tree.ccusage(ts_ms, [input, usage.candidates, 0, cache_read]);
}

/// A Gemini CLI home under `root` (what `~/.gemini` holds): sessions in
/// `tmp/<project>/chats/session-*.jsonl` with every trap of `fixtures/README.md`
/// (messages appended again, `$set` history dumps, rewinds, replies without a model,
/// damaged lines), subagents in `chats/<parent id>/`, and legacy `session-*.json`
/// documents, half of them resumed into a `.jsonl` beside them that repeats their
/// messages (which ccusage counts twice; and it drops a document's replies without a
/// model, which it bills under the last model in a `.jsonl`).
pub fn gemini(root: &Path, spec: &Spec) -> io::Result<AgentTree> {
    let mut rng = Rng(spec.seed ^ 0x6e6d);
    let mut tree = AgentTree::default();
    let project_count = (spec.files / 20).max(1);
    for _ in 0..spec.files {
        let project = rng.below(project_count as u64);
        let chats = root
            .join("tmp")
            .join(format!("project-{project}"))
            .join("chats");
        let session_id = uuid(&mut rng);
        let start = START_MS
            + rng.below(spec.days as u64) as i64 * 86_400_000
            + rng.below(86_400_000) as i64;
        let stem = format!(
            "session-{}-{}",
            iso(start)[..16].replace(':', "-"),
            &session_id[..8]
        );
        let legacy = rng.chance(0.1);
        let mut session = GeminiSession::new(&mut rng, GEMINI_MODELS[0]);
        let mut subagents = Vec::new();
        let mut ts = start;
        if legacy {
            // Written whole by a version before 0.39: messages only.
            session.document = true;
            for _ in 0..session.rng.range(1, 4) {
                ts += session.rng.range(5_000, 400_000) as i64;
                session.user(ts);
                ts += session.rng.range(2_000, 60_000) as i64;
                session.reply(ts, &mut tree);
            }
            let document = session.document(&session_id, start);
            write_file(
                &chats.join(format!("{stem}.json")),
                &[document],
                &mut tree.expected,
            )?;
            if session.rng.chance(0.5) {
                continue;
            }
            // Resumed by 0.39 on: the metadata, every message again, then new turns.
            let old = std::mem::take(&mut session.messages);
            session.document = false;
            session.lines.clear();
            session.meta(&session_id, start, "main");
            for message in old {
                if let Some((ts_ms, usage)) = message.reply {
                    gemini_ccusage(&mut tree, ts_ms, &usage);
                }
                session.push(message);
            }
            session
                .lines
                .push(format!(r#"{{"$set":{{"sessionId":"{session_id}"}}}}"#));
            ts += 86_400_000;
        } else {
            session.meta(&session_id, start, "main");
        }
        for _ in 0..session.rng.range(1, spec.turns as u64 * 2) {
            ts += session.rng.range(5_000, 400_000) as i64;
            session.user(ts);
            for _ in 0..session.rng.range(1, 4) {
                ts += session.rng.range(2_000, 60_000) as i64;
                session.reply(ts, &mut tree);
                if session.rng.chance(0.03) {
                    subagents.push(gemini_subagent(session.rng, ts, &mut tree));
                }
            }
            session.noise(ts);
        }
        let lines = std::mem::take(&mut session.lines);
        write_file(
            &chats.join(format!("{stem}.jsonl")),
            &lines,
            &mut tree.expected,
        )?;
        for (id, lines) in subagents {
            let path = chats.join(&session_id).join(format!("{id}.jsonl"));
            write_file(&path, &lines, &mut tree.expected)?;
        }
    }
    Ok(tree)
}

/// A Gemini CLI subagent: its own session file, with its own replies.
fn gemini_subagent(rng: &mut Rng, mut ts: i64, tree: &mut AgentTree) -> (String, Vec<String>) {
    let id = uuid(rng);
    let mut sub = GeminiSession::new(rng, GEMINI_MODELS[1]);
    sub.meta(&id, ts, "subagent");
    sub.user(ts);
    for _ in 0..sub.rng.range(1, 4) {
        ts += sub.rng.range(2_000, 40_000) as i64;
        sub.reply(ts, tree);
    }
    (id, sub.lines)
}

const QWEN_MODELS: [&str; 3] = ["qwen3-coder-plus", "qwen3-coder-flash", "gemini-2.5-flash"];

/// A line of a generated Qwen Code session, and the usage of an assistant record.
struct QwenRecord {
    line: String,
    usage: Option<(i64, GeminiUsage)>,
}

/// ccusage's Qwen figures for an assistant record: the whole prompt as input (cached
/// tokens included, and also as cache reads), the candidates as output.
fn qwen_ccusage(tree: &mut AgentTree, ts_ms: i64, usage: &GeminiUsage) {
    tree.ccusage(ts_ms, [usage.prompt, usage.candidates, 0, usage.cached]);
}

/// A Qwen Code dir under `root` (what `~/.qwen` holds): sessions in
/// `projects/<project>/chats/<id>.jsonl` whose assistant records carry `usageMetadata`
/// in both of its shapes (thoughts inside the candidates, or on top), telemetry records
/// repeating the counts, assistant records without usage, damaged lines, `/branch`
/// sessions starting with verbatim copies of an earlier session's records (which ccusage
/// counts again), and sessions archived in `chats/archive/` (which ccusage does not read).
pub fn qwen(root: &Path, spec: &Spec) -> io::Result<AgentTree> {
    let mut rng = Rng(spec.seed ^ 0x7177);
    let mut tree = AgentTree::default();
    let project_count = (spec.files / 20).max(1);
    let mut finished: Vec<(String, Vec<QwenRecord>)> = Vec::new();
    for _ in 0..spec.files {
        let project = rng.below(project_count as u64);
        let cwd = format!("/home/dev/work/project-{project}");
        let session_id = uuid(&mut rng);
        let archived = rng.chance(0.05);
        let mut ts = START_MS
            + rng.below(spec.days as u64) as i64 * 86_400_000
            + rng.below(86_400_000) as i64;
        let mut records: Vec<QwenRecord> = Vec::new();
        if !finished.is_empty() && rng.chance(0.1) {
            // `/branch`: an earlier session's first records, verbatim but for the session
            // id, each marked with where it came from.
            let (from, parent) = &finished[rng.below(finished.len() as u64) as usize];
            for record in parent.iter().take(rng.range(1, 12) as usize) {
                let copied = &record.line[9..45];
                let line = record.line.replacen(
                    &format!(r#""sessionId":"{from}""#),
                    &format!(r#""sessionId":"{session_id}""#),
                    1,
                );
                let line = format!(
                    r#"{},"forkedFrom":{{"sessionId":"{from}","messageUuid":"{copied}"}}}}"#,
                    &line[..line.len() - 1]
                );
                if let Some((ts_ms, usage)) = record.usage.filter(|_| !archived) {
                    qwen_ccusage(&mut tree, ts_ms, &usage);
                }
                records.push(QwenRecord { line, usage: None });
            }
        }
        let own = records.len();
        let mut parent = String::new();
        let mut record = |rng: &mut Rng, kind: &str, ts_ms: i64, rest: &str| {
            let uuid = uuid(rng);
            let line = format!(
                r#"{{"uuid":"{uuid}","parentUuid":"{parent}","sessionId":"{session_id}","timestamp":"{}","type":"{kind}","cwd":"{cwd}","version":"0.15.6","gitBranch":"main"{rest}}}"#,
                iso(ts_ms)
            );
            parent = uuid;
            line
        };
        for _ in 0..rng.range(1, spec.turns as u64 * 2) {
            ts += rng.range(5_000, 400_000) as i64;
            let line = record(
                &mut rng,
                "user",
                ts,
                r#","message":{"role":"user","parts":[{"text":"Please refactor the parser and add tests."}]}"#,
            );
            records.push(QwenRecord { line, usage: None });
            for _ in 0..rng.range(1, 4) {
                ts += rng.range(2_000, 60_000) as i64;
                let model = QWEN_MODELS[rng.below(QWEN_MODELS.len() as u64) as usize];
                // Qwen Code's records have no tool-use prompt count.
                let usage = GeminiUsage {
                    tool: 0,
                    ..GeminiUsage::random(&mut rng, model.starts_with("qwen"))
                };
                let telemetry = format!(
                    r#","subtype":"ui_telemetry","systemPayload":{{"uiEvent":{{"event.name":"qwen-code.api_response","model":"{model}","input_token_count":{},"output_token_count":{},"cached_content_token_count":{},"thoughts_token_count":{},"total_token_count":{}}}}}"#,
                    usage.prompt,
                    usage.candidates,
                    usage.cached,
                    usage.thoughts,
                    usage.total()
                );
                let line = record(&mut rng, "system", ts, &telemetry);
                records.push(QwenRecord { line, usage: None });
                if rng.chance(0.05) {
                    // Cancelled: no usage.
                    let rest =
                        format!(r#","model":"{model}","message":{{"role":"model","parts":[]}}"#);
                    let line = record(&mut rng, "assistant", ts, &rest);
                    records.push(QwenRecord { line, usage: None });
                } else {
                    count(&mut tree.expected, ts, usage.sums());
                    if !archived {
                        qwen_ccusage(&mut tree, ts, &usage);
                    }
                    let rest = format!(
                        r#","model":"{model}","message":{{"role":"model","parts":[{{"text":"Here is the change."}}]}},"usageMetadata":{}"#,
                        usage.metadata_json()
                    );
                    let line = record(&mut rng, "assistant", ts, &rest);
                    records.push(QwenRecord {
                        line,
                        usage: Some((ts, usage)),
                    });
                }
                ts += rng.range(1_000, 30_000) as i64;
                let line = record(
                    &mut rng,
                    "tool_result",
                    ts,
                    r#","message":{"role":"user","parts":[{"functionResponse":{"id":"call_1","name":"read_file","response":{"output":"ok"}}}]}"#,
                );
                records.push(QwenRecord { line, usage: None });
            }
            if rng.chance(0.03) {
                let line =
                    r#"{"uuid":"cut","type":"assistant","usageMetadata":{"promptTokenCount":9"#;
                records.push(QwenRecord {
                    line: line.to_string(),
                    usage: None,
                });
            }
        }
        let mut chats = root
            .join("projects")
            .join(cwd.replace('/', "-"))
            .join("chats");
        if archived {
            chats.push("archive");
        }
        let lines: Vec<String> = records.iter().map(|r| r.line.clone()).collect();
        write_file(
            &chats.join(format!("{session_id}.jsonl")),
            &lines,
            &mut tree.expected,
        )?;
        // A later branch copies a session's own records (the damaged ones left out).
        records.drain(..own);
        records.retain(|r| r.line.len() > 45);
        finished.push((session_id, records));
        if finished.len() > 50 {
            finished.remove(0);
        }
    }
    Ok(tree)
}

/// Codex CLI's cumulative token counts (OpenAI's: input includes cached, output
/// includes reasoning).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct CodexTotals {
    input: u64,
    cached: u64,
    output: u64,
    reasoning: u64,
}

impl CodexTotals {
    fn json(&self) -> String {
        format!(
            r#"{{"input_tokens":{},"cached_input_tokens":{},"output_tokens":{},"reasoning_output_tokens":{},"total_tokens":{}}}"#,
            self.input,
            self.cached,
            self.output,
            self.reasoning,
            self.input + self.output
        )
    }

    /// What a reader counts for growing from `before` to `self`: [input without the
    /// cached part, output, cache creation, cache read].
    fn sums_since(&self, before: &CodexTotals) -> Sums {
        let input = self.input - before.input;
        let cached = self.cached - before.cached;
        [input - cached, self.output - before.output, 0, cached]
    }

    fn minus(&self, before: &CodexTotals) -> CodexTotals {
        CodexTotals {
            input: self.input - before.input,
            cached: self.cached - before.cached,
            output: self.output - before.output,
            reasoning: self.reasoning - before.reasoning,
        }
    }
}

const CODEX_MODELS: [&str; 3] = ["gpt-5-codex", "gpt-5", "gpt-5.1-codex"];

/// One `token_count` line of a rollout, as Codex writes it. Its windows are the
/// account's, shared by every session: their use climbs with the time into the window (a
/// point every 3 minutes of the 5-hour one), so events a second apart repeat it.
fn codex_count(ts_ms: i64, totals: Option<(&CodexTotals, &CodexTotals)>) -> String {
    let info = match totals {
        None => "null".to_string(),
        Some((total, last)) => format!(
            r#"{{"total_token_usage":{},"last_token_usage":{},"model_context_window":272000}}"#,
            total.json(),
            last.json()
        ),
    };
    let resets = (START_MS / 1000) + 18_000 * (ts_ms - START_MS).div_euclid(18_000_000);
    let used = (ts_ms - START_MS).rem_euclid(18_000_000) / 180_000;
    let used_weekly = (ts_ms - START_MS).rem_euclid(604_800_000) / 6_048_000;
    format!(
        r#"{{"timestamp":"{}","type":"event_msg","payload":{{"type":"token_count","info":{info},"rate_limits":{{"primary":{{"used_percent":{used}.0,"window_minutes":300,"resets_at":{}}},"secondary":{{"used_percent":{}.0,"window_minutes":10080,"resets_at":{}}}}}}}}}"#,
        iso(ts_ms),
        resets + 18_000,
        used_weekly,
        (START_MS / 1000) + 604_800 * (1 + (ts_ms - START_MS).div_euclid(604_800_000)),
    )
}

fn codex_line(ts_ms: i64, kind: &str, payload: &str) -> String {
    format!(
        r#"{{"timestamp":"{}","type":"{kind}","payload":{payload}}}"#,
        iso(ts_ms)
    )
}

fn codex_meta(ts_ms: i64, id: &str, cwd: &str, extra: &str) -> String {
    codex_line(
        ts_ms,
        "session_meta",
        &format!(
            r#"{{"id":"{id}","timestamp":"{}","cwd":"{cwd}","originator":"codex_cli_rs","cli_version":"0.46.0","instructions":null,{extra}"model_provider":"openai","git":{{"commit_hash":"4f2a9c1e","branch":"main"}}}}"#,
            iso(ts_ms)
        ),
    )
}

fn codex_context(ts_ms: i64, cwd: &str, model: &str) -> String {
    codex_line(
        ts_ms,
        "turn_context",
        &format!(
            r#"{{"cwd":"{cwd}","approval_policy":"on-request","sandbox_policy":{{"mode":"workspace-write","network_access":false}},"model":"{model}","effort":"medium","summary":"auto"}}"#
        ),
    )
}

/// A rollout's `token_count` events as a child replays them: (totals, last) in order,
/// with the model in force at each.
#[derive(Clone)]
struct CodexEvent {
    totals: CodexTotals,
    last: CodexTotals,
    model: &'static str,
}

/// A Codex home under `home/` (`sessions/YYYY/MM/DD/rollout-*.jsonl`, with archived copies,
/// forks and subagent threads), and what a correct reader must report. The traps: every
/// usage is cumulative (`total_token_usage`), some `token_count` events are emitted again
/// with unchanged totals, some sessions switch model, some rollouts are also in
/// `archived_sessions/`, and forks and subagent threads replay their parent's events
/// (rewritten timestamps) before their own.
pub fn generate_codex(home: &Path, spec: &Spec) -> io::Result<Expected> {
    let mut rng = Rng(spec.seed ^ 0xc0de_c0de);
    let mut expected = Expected::default();
    let mut parents: Vec<(String, String, Vec<CodexEvent>, CodexTotals, i64)> = Vec::new();
    for n in 0..spec.files {
        let project = rng.below((spec.files / 10).max(1) as u64);
        let cwd = format!("/home/dev/work/codex-{project}");
        let id = format!(
            "0199{}-{}-7{}-8{}-{}",
            rng.hex(4),
            rng.hex(4),
            rng.hex(3),
            rng.hex(3),
            rng.hex(12)
        );
        let mut ts = START_MS
            + rng.below(spec.days as u64) as i64 * 86_400_000
            + rng.below(86_400_000) as i64;
        let mut lines = Vec::new();
        let mut totals = CodexTotals::default();
        let mut events: Vec<CodexEvent> = Vec::new();
        // A fork or a subagent thread of an earlier session: its events first.
        let child = match parents.len() {
            0 => None,
            len if rng.chance(0.25) => Some(rng.below(len as u64) as usize),
            _ => None,
        };
        match child.map(|at| parents[at].clone()) {
            Some((parent_id, parent_cwd, replayed, parent_totals, parent_end)) => {
                // Codex names a rollout by when it starts: a child after its parent.
                ts = ts.max(parent_end + 60_000);
                let subagent = rng.chance(0.4);
                let extra = match subagent {
                    true => format!(
                        r#""source":{{"subagent":{{"thread_spawn":{{"parent_thread_id":"{parent_id}","depth":1}}}}}},"#
                    ),
                    false => format!(r#""forked_from_id":"{parent_id}","source":"cli","#),
                };
                lines.push(codex_meta(ts, &id, &parent_cwd, &extra));
                for event in &replayed {
                    // A subagent's replay lands within one second; a fork's is spread.
                    ts += if subagent { 3 } else { 250 };
                    lines.push(codex_context(ts, &parent_cwd, event.model));
                    lines.push(codex_count(ts, Some((&event.totals, &event.last))));
                }
                totals = parent_totals;
                events = replayed;
            }
            None => {
                lines.push(codex_meta(ts, &id, &cwd, r#""source":"cli","#));
                ts += 20;
                lines.push(codex_count(ts, None));
            }
        }
        let start = ts;
        let mut model = CODEX_MODELS[rng.below(CODEX_MODELS.len() as u64) as usize];
        lines.push(codex_context(ts + 10, &cwd, model));
        let turns = rng.range(1, spec.turns as u64 * 2);
        for _ in 0..turns {
            ts += rng.range(5_000, 400_000) as i64;
            if rng.chance(0.15) {
                model = CODEX_MODELS[rng.below(CODEX_MODELS.len() as u64) as usize];
                lines.push(codex_context(ts, &cwd, model));
            }
            lines.push(codex_line(
                ts,
                "response_item",
                r#"{"type":"message","role":"user","content":[{"type":"input_text","text":"make the failing test pass"}]}"#,
            ));
            lines.push(codex_line(
                ts,
                "event_msg",
                r#"{"type":"user_message","message":"make the failing test pass","images":[]}"#,
            ));
            for _ in 0..rng.range(1, 4) {
                ts += rng.range(2_000, 60_000) as i64;
                let big = rng.chance(spec.big_prob);
                let bytes = match big {
                    true => rng.range(spec.big_kb as u64 * 512, spec.big_kb as u64 * 1536),
                    false => rng.range(50, 3_000),
                } as usize;
                let output: String = FILLER.chars().cycle().take(bytes).collect();
                lines.push(codex_line(
                    ts,
                    "response_item",
                    &format!(
                        r#"{{"type":"function_call","name":"shell","arguments":"{{\"command\":[\"cargo\",\"test\"]}}","call_id":"call_{}"}}"#,
                        rng.hex(24)
                    ),
                ));
                lines.push(codex_line(
                    ts + 900,
                    "response_item",
                    &format!(
                        r#"{{"type":"function_call_output","call_id":"call_x","output":"{}"}}"#,
                        output.replace('"', "'")
                    ),
                ));
                let input = rng.range(2_000, 40_000);
                let grown = CodexTotals {
                    input: totals.input + input,
                    cached: totals.cached + rng.below(input + 1),
                    output: totals.output + rng.range(20, 2_000),
                    reasoning: totals.reasoning,
                };
                let grown = CodexTotals {
                    reasoning: grown.reasoning + rng.below(grown.output - totals.output + 1),
                    ..grown
                };
                ts += 1_000;
                let last = grown.minus(&totals);
                lines.push(codex_count(ts, Some((&grown, &last))));
                count(&mut expected, ts, grown.sums_since(&totals));
                events.push(CodexEvent {
                    totals: grown,
                    last,
                    model,
                });
                totals = grown;
                if rng.chance(0.3) {
                    // The same totals again (a rate-limit refresh): nothing new.
                    ts += 1_000;
                    lines.push(codex_count(ts, Some((&totals, &last))));
                }
            }
            lines.push(codex_line(
                ts,
                "event_msg",
                r#"{"type":"agent_message","message":"The test passes now."}"#,
            ));
        }
        let name = format!("rollout-{}-{id}.jsonl", iso(start)[..19].replace(':', "-"));
        let date = &iso(start)[..10];
        let path = home
            .join("sessions")
            .join(&date[..4])
            .join(&date[5..7])
            .join(&date[8..10])
            .join(&name);
        write_file(&path, &lines, &mut expected)?;
        if rng.chance(0.15) {
            // Archived as well: the same bytes twice, counted once.
            write_file(
                &home.join("archived_sessions").join(&name),
                &lines,
                &mut expected,
            )?;
        }
        if n % 3 == 0 || parents.len() < 8 {
            parents.push((id, cwd, events, totals, ts));
            if parents.len() > 30 {
                parents.remove(0);
            }
        }
    }
    Ok(expected)
}

const AMP_MODELS: [&str; 2] = ["claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001"];

/// An Amp data folder under `root` (what `~/.local/share/amp` holds): threads in
/// `threads/T-<uuid>.json`, each as Amp last rewrote it, with the traps of
/// `fixtures/README.md`: responses that give only `totalTokens`, a response still
/// streaming (all counts 0), and older threads whose `usageLedger` events are what count
/// (their messages' own counts are not, but their cache counts are). ccusage reads all of
/// it as a correct reader does, so its oracle is the same.
pub fn amp(root: &Path, spec: &Spec) -> io::Result<AgentTree> {
    let mut rng = Rng(spec.seed ^ 0x616d70);
    let mut tree = AgentTree::default();
    for _ in 0..spec.files {
        let id = format!("T-{}", uuid(&mut rng));
        let mut ts = START_MS
            + rng.below(spec.days as u64) as i64 * 86_400_000
            + rng.below(86_400_000) as i64;
        let ledger = rng.chance(0.2);
        let mut messages = Vec::new();
        let mut events = Vec::new();
        for turn in 0..rng.range(1, spec.turns as u64 * 2) {
            ts += rng.range(5_000, 400_000) as i64;
            messages.push(format!(
                r#"{{"role":"user","messageId":{},"content":[{{"type":"text","text":"step {turn}"}}]}}"#,
                messages.len()
            ));
            ts += rng.range(2_000, 60_000) as i64;
            let model = AMP_MODELS[rng.below(2) as usize];
            let [input, output, write, read] = [
                rng.range(1, 50),
                rng.range(10, 3_000),
                rng.range(0, 5_000),
                rng.range(0, 150_000),
            ];
            let message_id = messages.len();
            let credits = rng.range(1, 400) as f64 / 100.0;
            if ledger {
                // The event counts input and output, the message it points to the cache.
                messages.push(format!(
                    r#"{{"role":"assistant","messageId":{message_id},"usage":{{"model":"{model}","inputTokens":{},"outputTokens":{},"cacheCreationInputTokens":{write},"cacheReadInputTokens":{read},"timestamp":"{}"}}}}"#,
                    input + 7,
                    output + 7,
                    iso(ts)
                ));
                events.push(format!(
                    r#"{{"id":"{}","timestamp":"{}","model":"{model}","credits":{credits},"tokens":{{"input":{input},"output":{output}}},"toMessageId":{message_id}}}"#,
                    uuid(&mut rng),
                    iso(ts)
                ));
                count(&mut tree.expected, ts, [input, output, write, read]);
                tree.ccusage(ts, [input, output, write, read]);
            } else if rng.chance(0.1) {
                // Only a total: billed as output.
                let total = input + output + write + read;
                messages.push(format!(
                    r#"{{"role":"assistant","messageId":{message_id},"usage":{{"model":"{model}","totalTokens":{total},"timestamp":"{}"}}}}"#,
                    iso(ts)
                ));
                count(&mut tree.expected, ts, [0, total, 0, 0]);
                tree.ccusage(ts, [0, total, 0, 0]);
            } else {
                messages.push(format!(
                    r#"{{"role":"assistant","messageId":{message_id},"state":{{"type":"complete"}},"usage":{{"model":"{model}","inputTokens":{input},"outputTokens":{output},"cacheCreationInputTokens":{write},"cacheReadInputTokens":{read},"totalInputTokens":{},"credits":{credits},"timestamp":"{}"}}}}"#,
                    input + write + read,
                    iso(ts)
                ));
                count(&mut tree.expected, ts, [input, output, write, read]);
                tree.ccusage(ts, [input, output, write, read]);
            }
        }
        if !ledger && rng.chance(0.3) {
            // Still streaming when the file was written: nothing yet.
            messages.push(format!(
                r#"{{"role":"assistant","messageId":{},"state":{{"type":"streaming"}},"usage":{{"model":"{}","inputTokens":0,"outputTokens":0,"timestamp":"{}"}}}}"#,
                messages.len(),
                AMP_MODELS[0],
                iso(ts + 1_000)
            ));
        }
        let ledger = match ledger {
            true => format!(r#","usageLedger":{{"events":[{}]}}"#, events.join(",")),
            false => String::new(),
        };
        let document = format!(
            r#"{{"v":7,"id":"{id}","created":{},"env":{{"initial":{{"trees":[{{"uri":"file:///home/u/project-{}"}}]}}}},"messages":[{}]{ledger}}}"#,
            START_MS,
            rng.below(5),
            messages.join(",")
        );
        write_file(
            &root.join("threads").join(format!("{id}.json")),
            &[document],
            &mut tree.expected,
        )?;
    }
    Ok(tree)
}

const COPILOT_MODELS: [&str; 2] = ["claude-sonnet-4.5", "gpt-5.1"];

/// One Copilot CLI process's usage of one model, as its `session.shutdown` sums it.
#[derive(Clone, Copy, Default)]
struct CopilotMetric {
    input: u64,
    output: u64,
    read: u64,
    write: u64,
    requests: u64,
}

/// What ccusage makes of one session's rollups of one model: the last one seen, and the
/// sum of the first and of each count's growth since.
#[derive(Default)]
struct CopilotCcusage {
    last: Option<Sums>,
    counted: Sums,
}

impl CopilotCcusage {
    fn rollup(&mut self, sums: Sums) {
        for i in 0..4 {
            self.counted[i] += sums[i].saturating_sub(self.last.map_or(0, |l| l[i]));
        }
        self.last = Some(sums);
    }
}

/// A Copilot CLI home under `root` (what `~/.copilot` holds): sessions in
/// `session-state/<uuid>/events.jsonl` with the traps of `fixtures/README.md`: responses
/// split into chunks that repeat their call's output count, a model named only by
/// `session.model_change`, tool events whose text holds `"type":"session.shutdown"`,
/// resumed sessions (one rollup per process), and sessions killed before their rollup.
/// Every session stays within one UTC day, where ccusage files a rollup's messages too.
/// ccusage's oracle: only rollups, taken as cumulative per session and model: the first,
/// then each count's growth over the one before (a count that went down adds nothing).
pub fn copilot(root: &Path, spec: &Spec) -> io::Result<AgentTree> {
    let mut rng = Rng(spec.seed ^ 0x636f70);
    let mut tree = AgentTree::default();
    for _ in 0..spec.files {
        let session = uuid(&mut rng);
        let day = START_MS + rng.below(spec.days as u64) as i64 * 86_400_000;
        let mut ts = day + rng.below(12 * 3_600_000) as i64;
        let mut lines = Vec::new();
        let mut event = 0u64;
        let mut line = |lines: &mut Vec<String>, ts: i64, kind: &str, data: String| {
            event += 1;
            lines.push(format!(
                r#"{{"type":"{kind}","data":{data},"id":"{session}-{event}","timestamp":"{}","parentId":null}}"#,
                iso(ts)
            ));
        };
        let mut ccusage: BTreeMap<&str, CopilotCcusage> = BTreeMap::new();
        let processes = rng.range(1, 3);
        for process in 0..processes {
            let (kind, model) = match process {
                0 => ("session.start", COPILOT_MODELS[0]),
                _ => ("session.resume", COPILOT_MODELS[0]),
            };
            line(
                &mut lines,
                ts,
                kind,
                format!(
                    r#"{{"sessionId":"{session}","selectedModel":"{model}","context":{{"cwd":"/home/u/app"}}}}"#
                ),
            );
            let mut model = model;
            let mut metrics: BTreeMap<&str, CopilotMetric> = BTreeMap::new();
            for _ in 0..rng.range(1, spec.turns as u64) {
                ts += rng.range(2_000, 300_000) as i64;
                if rng.chance(0.15) {
                    let new = COPILOT_MODELS[rng.below(2) as usize];
                    line(
                        &mut lines,
                        ts,
                        "session.model_change",
                        format!(r#"{{"newModel":"{new}"}}"#),
                    );
                    model = new;
                }
                let output = rng.range(10, 2_000);
                let call = format!("call-{}", rng.hex(12));
                let chunks = if rng.chance(0.2) { 2 } else { 1 };
                for chunk in 0..chunks {
                    // Half name their model, half leave it to the last model_change.
                    let named = match rng.chance(0.5) {
                        true => format!(r#""model":"{model}","#),
                        false => String::new(),
                    };
                    line(
                        &mut lines,
                        ts + chunk,
                        "assistant.message",
                        format!(
                            r#"{{"messageId":"{}",{named}"outputTokens":{output},"apiCallId":"{call}","chunkIndex":{chunk},"content":"ok"}}"#,
                            rng.hex(8)
                        ),
                    );
                }
                count(&mut tree.expected, ts, [0, output, 0, 0]);
                if rng.chance(0.1) {
                    line(
                        &mut lines,
                        ts + 5,
                        "tool.execution_start",
                        r#"{"toolName":"bash","arguments":{"command":"grep '\"type\":\"session.shutdown\"' log"}}"#.to_string(),
                    );
                }
                let m = metrics.entry(model).or_default();
                m.output += output;
                m.read += rng.range(0, 100_000);
                m.write += rng.range(0, 5_000);
                m.input += rng.range(1, 3_000);
                m.requests += 1;
            }
            if process + 1 == processes && rng.chance(0.2) {
                break; // Killed: no rollup.
            }
            ts += rng.range(1_000, 60_000) as i64;
            // Some output the messages did not say (a call whose message never came).
            let extra = rng.range(0, 50);
            let rollup: Vec<String> = metrics
                .iter()
                .map(|(model, m)| {
                    format!(
                        r#""{model}":{{"requests":{{"count":{},"cost":{}}},"usage":{{"inputTokens":{},"outputTokens":{},"cacheReadTokens":{},"cacheWriteTokens":{}}}}}"#,
                        m.requests,
                        m.requests,
                        m.input + m.read + m.write,
                        m.output + extra,
                        m.read,
                        m.write
                    )
                })
                .collect();
            line(
                &mut lines,
                ts,
                "session.shutdown",
                format!(
                    r#"{{"shutdownType":"routine","modelMetrics":{{{}}}}}"#,
                    rollup.join(",")
                ),
            );
            for (model, m) in &metrics {
                count(&mut tree.expected, ts, [m.input, extra, m.write, m.read]);
                ccusage.entry(model).or_default().rollup([
                    m.input,
                    m.output + extra,
                    m.write,
                    m.read,
                ]);
            }
            ts += rng.range(60_000, 3_600_000) as i64;
        }
        for model in ccusage.values() {
            tree.ccusage(day, model.counted);
        }
        write_file(
            &root
                .join("session-state")
                .join(&session)
                .join("events.jsonl"),
            &lines,
            &mut tree.expected,
        )?;
    }
    Ok(tree)
}

const DROID_MODELS: [&str; 3] = [
    "claude-sonnet-4-5-20250929",
    "custom:Claude-Opus-4.5-[Anthropic]",
    "gpt-5-codex",
];

/// A Droid sessions folder under `root` (what `~/.factory/sessions` holds): per session
/// `<project>/<uuid>.settings.json`, its cumulative usage as Droid last rewrote it, with
/// the traps of `fixtures/README.md`: thinking tokens (billed as output), a usage given
/// only as `totalTokens`, a model named only in the transcript beside it, sessions with
/// no usage yet, Droid's `.settings.json.bak` of the settings before (not read), and an
/// older copy of a session's settings in an `archive/` folder (smaller, earlier: counted
/// once, at its latest). ccusage's oracle: the same, less the thinking tokens, which its
/// daily `outputTokens` leaves out.
pub fn droid(root: &Path, spec: &Spec) -> io::Result<AgentTree> {
    let mut rng = Rng(spec.seed ^ 0x64726f6964);
    let mut tree = AgentTree::default();
    for _ in 0..spec.files {
        let id = uuid(&mut rng);
        let project = format!("-home-u-project-{}", rng.below(4));
        let ts = START_MS
            + rng.below(spec.days as u64) as i64 * 86_400_000
            + rng.below(86_400_000) as i64;
        let path = root.join(&project).join(format!("{id}.settings.json"));
        let transcript = format!(
            r#"{{"type":"session_start","id":"{id}","title":"work","cwd":"/home/u/{project}"}}"#
        );
        let settings = |model: &str, usage: &str| {
            format!(
                r#"{{"assistantActiveTimeMs":1000,{model}"providerLock":"anthropic","providerLockTimestamp":"{}","tokenUsage":{{{usage}}}}}"#,
                iso(ts)
            )
        };
        let drawn = [
            rng.range(1, 20_000),
            rng.range(1, 8_000),
            rng.range(0, 9_000),
            rng.range(0, 400_000),
        ];
        let model = format!(r#""model":"{}","#, DROID_MODELS[rng.below(3) as usize]);
        let parts = |[input, output, write, read]: Sums, thinking: u64| {
            format!(
                r#""inputTokens":{input},"outputTokens":{output},"cacheCreationTokens":{write},"cacheReadTokens":{read},"thinkingTokens":{thinking}"#
            )
        };
        let mut transcript = vec![transcript];
        let (document, sums, thinking) = match rng.below(10) {
            0 => (settings(&model, &parts([0; 4], 0)), [0; 4], 0),
            1 => {
                // Only a total: billed as output.
                let total: u64 = drawn.iter().sum();
                let usage = format!(r#""totalTokens":{total}"#);
                (settings(&model, &usage), [0, total, 0, 0], 0)
            }
            2 => {
                transcript.push(
                    r#"{"type":"message","message":{"role":"system","content":[{"type":"text","text":"Model: Claude Opus 4.5 [Anthropic]"}]}}"#
                        .to_string(),
                );
                let thinking = rng.range(0, 2_000);
                (settings("", &parts(drawn, thinking)), drawn, thinking)
            }
            _ => {
                let thinking = rng.range(0, 2_000);
                (settings(&model, &parts(drawn, thinking)), drawn, thinking)
            }
        };
        if sums.iter().sum::<u64>() > 0 {
            let [input, output, write, read] = sums;
            count(
                &mut tree.expected,
                ts,
                [input, output + thinking, write, read],
            );
            tree.ccusage(ts, sums);
        }
        write_file(&path, &[document], &mut tree.expected)?;
        // The transcript holds no usage, and is not read.
        let lines = transcript.join("\n") + "\n";
        fs::write(root.join(&project).join(format!("{id}.jsonl")), lines)?;
        let half = sums.map(|n| n / 2);
        if rng.chance(0.3) {
            // Droid's copy of the settings before their last write: not read.
            let bak = root.join(&project).join(format!("{id}.settings.json.bak"));
            fs::write(bak, settings(&model, &parts(half, thinking / 2)))?;
        }
        if rng.chance(0.15) {
            // An older copy of the session, kept in an archive: counted once.
            let older = format!(
                r#"{{{model}"providerLockTimestamp":"{}","tokenUsage":{{{}}}}}"#,
                iso(ts - 3_600_000),
                parts(half, thinking / 2)
            );
            let archived = root.join("archive").join(format!("{id}.settings.json"));
            write_file(&archived, &[older], &mut tree.expected)?;
        }
    }
    Ok(tree)
}

const KILO_MODELS: [&str; 3] = [
    "anthropic/claude-sonnet-4.5",
    "openai/gpt-5",
    "anthropic/claude-opus-4.6",
];

/// A Kilo data folder under `root` (what `~/.local/share/kilo` holds): `kilo.db` with
/// Kilo's schema (`fixtures/kilo/schema.sql`), written in two stages as Kilo writes its
/// messages: `stage` 0 makes the database as it stood while the range's last two days'
/// responses streamed (written with no tokens yet, or with their first step's counts),
/// `stage` 1 updates those in place to their final counts and `time.completed` (or, for
/// one aborted before any token, an `error`), later. The traps of `fixtures/README.md`: user messages,
/// messages aborted before any token (never counted), subtask sessions, reasoning
/// (billed as output). The oracle is the final counts, whichever stage was read when;
/// ccusage's is the same less reasoning, which its daily `outputTokens` leaves out.
pub fn kilo(root: &Path, spec: &Spec, stage: u8) -> io::Result<AgentTree> {
    let sqlite = |e: rusqlite::Error| io::Error::other(e.to_string());
    fs::create_dir_all(root)?;
    let db = rusqlite::Connection::open(root.join("kilo.db")).map_err(sqlite)?;
    db.pragma_update(None, "journal_mode", "WAL")
        .map_err(sqlite)?;
    if stage == 0 {
        db.execute_batch(include_str!("../fixtures/kilo/schema.sql"))
            .map_err(sqlite)?;
    }
    let mut rng = Rng(spec.seed ^ 0x6b696c6f);
    let mut tree = AgentTree::default();
    let tx = db.unchecked_transaction().map_err(sqlite)?;
    let mut main = String::new();
    for file in 0..spec.files {
        let session = format!("ses_{}", rng.hex(12));
        let parent = match rng.chance(0.2) && !main.is_empty() {
            true => Some(main.clone()),
            false => None,
        };
        if parent.is_none() {
            main = session.clone();
        }
        if stage == 0 {
            tx.execute(
                "INSERT INTO session (id, project_id, parent_id, slug, directory, title, version, time_created, time_updated)
                 VALUES (?1, 'p1', ?2, ?1, '/home/u/shop', 't', '7.0.14', 0, 0)",
                rusqlite::params![session, parent],
            )
            .map_err(sqlite)?;
        }
        let mut ts = START_MS
            + rng.below(spec.days as u64) as i64 * 86_400_000
            + rng.below(80_000_000) as i64;
        for turn in 0..rng.range(1, spec.turns as u64 * 2) {
            ts += rng.range(2_000, 60_000) as i64;
            let id = format!("msg_{file:05}_{turn:03}");
            let model = KILO_MODELS[rng.below(3) as usize];
            let [input, output, reasoning, read, write] = [
                rng.range(1, 20_000),
                rng.range(1, 3_000),
                rng.range(0, 1) * rng.range(1, 2_000),
                rng.range(0, 200_000),
                rng.range(0, 8_000),
            ];
            // Only a response of the last days can still be streaming: an older one is
            // done, or was killed mid-stream and stays as it was (its session's last).
            let live = ts >= START_MS + (spec.days as i64 - 2) * 86_400_000;
            let streaming = if live { rng.below(3) } else { 2 };
            let aborted = streaming == 0 && rng.chance(0.2);
            let tokens = |[i, o, r, cr, cw]: [u64; 5]| {
                format!(
                    r#"{{"input":{i},"output":{o},"reasoning":{r},"cache":{{"read":{cr},"write":{cw}}}}}"#
                )
            };
            let final_tokens = match aborted {
                true => [0; 5],
                false => [input, output, reasoning, read, write],
            };
            let done = format!(r#"{{"created":{ts},"completed":{}}}"#, ts + 9_000);
            let open = format!(r#"{{"created":{ts}}}"#);
            let (written, time, updated) = match (stage, streaming) {
                (0, 0) => ([0; 5], open, ts),
                (0, 1) => ([input, output / 2, 0, read, write], open, ts + 1),
                (_, _) => (final_tokens, done, ts + 9_000),
            };
            let error = match aborted && stage > 0 {
                true => r#""error":{"name":"MessageAbortedError","data":{"message":"aborted"}},"#,
                false => "",
            };
            let data = format!(
                r#"{{"role":"assistant","mode":"code","agent":"code","modelID":"{model}","providerID":"kilo","path":{{"cwd":"/home/u/shop","root":"/home/u/shop"}},"time":{time},{error}"cost":0,"tokens":{}}}"#,
                tokens(written)
            );
            tx.execute(
                "INSERT INTO message (id, session_id, time_created, time_updated, data) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (id) DO UPDATE SET time_updated = excluded.time_updated, data = excluded.data",
                rusqlite::params![id, session, ts, updated, data],
            )
            .map_err(sqlite)?;
            if stage == 0 {
                let user = format!(r#"{{"role":"user","time":{{"created":{ts}}}}}"#);
                tx.execute(
                    "INSERT INTO message VALUES (?1, ?2, ?3, ?3, ?4)",
                    rusqlite::params![format!("{id}_u"), session, ts - 1, user],
                )
                .map_err(sqlite)?;
            }
            if !aborted {
                count(
                    &mut tree.expected,
                    ts,
                    [input, output + reasoning, write, read],
                );
                tree.ccusage(ts, [input, output, write, read]);
            }
        }
    }
    tx.commit().map_err(sqlite)?;
    Ok(tree)
}

/// A Codebuff config folder under `root` (what `~/.config` holds): chats in
/// `<channel>/projects/<project>/chats/<chat id>/chat-messages.json`, each as the CLI last
/// rewrote it, with the traps of `fixtures/README.md`: usage in `metadata.usage`, in
/// `metadata.codebuff.usage` (snake case, a total above the parts) or only in the run
/// state's history, replies with credits and no tokens, replies without an id or a time
/// (the chat's id is its start), error messages with usage (not replies), and the run
/// state file beside the messages (not read). ccusage reads it all as a correct reader
/// does, so its oracle is the same.
pub fn codebuff(root: &Path, spec: &Spec) -> io::Result<AgentTree> {
    let mut rng = Rng(spec.seed ^ 0x6275_6666);
    let mut tree = AgentTree::default();
    for file in 0..spec.files {
        let channel = ["manicode", "manicode-dev", "manicode-staging"][rng.below(3) as usize];
        let project = format!("project-{}", rng.below(4));
        // Chats start at different milliseconds: the start is the chat's id.
        let start = START_MS
            + rng.below(spec.days as u64) as i64 * 86_400_000
            + rng.below(80_000) as i64 * 1_000
            + file as i64;
        // The chat's id is its start time, to the millisecond, `:` as `-`.
        let chat = iso(start).replace(':', "-");
        let dir = root
            .join(channel)
            .join("projects")
            .join(&project)
            .join("chats")
            .join(chat);
        let mut ts = start;
        let mut messages = Vec::new();
        for turn in 0..rng.range(1, spec.turns as u64 * 2) {
            ts += rng.range(2_000, 300_000) as i64;
            messages.push(format!(
                r#"{{"id":"user-{turn}","variant":"user","content":"step {turn}","timestamp":"{}"}}"#,
                iso(ts)
            ));
            ts += rng.range(2_000, 60_000) as i64;
            let [input, output, write, read] = [
                rng.range(1, 20_000),
                rng.range(1, 3_000),
                rng.range(0, 5_000),
                rng.range(0, 100_000),
            ];
            let credits = rng.range(0, 40) as f64 / 4.0;
            let credit_field = match credits > 0.0 {
                true => format!(r#","credits":{credits}"#),
                false => String::new(),
            };
            let id = match rng.chance(0.1) {
                true => String::new(),
                false => format!(r#""id":"ai-{turn}-{}","#, rng.hex(6)),
            };
            // Some replies carry no time: the chat's start is theirs.
            let (time, at) = match rng.chance(0.1) {
                true => (String::new(), start),
                false => (format!(r#","timestamp":"{}""#, iso(ts)), ts),
            };
            let (metadata, sums) = match rng.below(5) {
                0 => {
                    let total = input + output + write + read;
                    (
                        format!(
                            r#"{{"model":"openai/gpt-5","codebuff":{{"usage":{{"input_tokens":{input},"output_tokens":0,"cache_read_input_tokens":{read},"cache_creation_input_tokens":{write},"total_tokens":{total}}}}}}}"#
                        ),
                        [input, output, write, read],
                    )
                }
                1 => (
                    format!(
                        r#"{{"runState":{{"sessionState":{{"mainAgentState":{{"messageHistory":[{{"role":"user","content":"x"}},{{"role":"assistant","providerOptions":{{"codebuff":{{"model":"openai/gpt-5","usage":{{"promptTokens":{input},"completionTokens":{output},"cacheCreationTokens":{write},"promptTokensDetails":{{"cachedTokens":{read}}}}}}}}}}}]}}}}}}}}"#
                    ),
                    [input, output, write, read],
                ),
                2 if credits > 0.0 => ("null".to_string(), [0; 4]),
                _ => (
                    format!(
                        r#"{{"model":"anthropic/claude-sonnet-4.5","usage":{{"inputTokens":{input},"outputTokens":{output},"cacheCreationInputTokens":{write},"cacheReadInputTokens":{read}}}}}"#
                    ),
                    [input, output, write, read],
                ),
            };
            messages.push(format!(
                r#"{{{id}"variant":"{}","content":"done"{time}{credit_field},"metadata":{metadata}}}"#,
                ["ai", "agent"][rng.below(2) as usize]
            ));
            if sums.iter().sum::<u64>() > 0 || credits > 0.0 {
                count(&mut tree.expected, at, sums);
                tree.ccusage(at, sums);
            }
            if rng.chance(0.05) {
                messages.push(format!(
                    r#"{{"id":"error-{turn}","variant":"error","content":"lost","timestamp":"{}","metadata":{{"usage":{{"inputTokens":5}}}}}}"#,
                    iso(ts + 1)
                ));
            }
        }
        write_file(
            &dir.join("chat-messages.json"),
            &[format!("[{}]", messages.join(","))],
            &mut tree.expected,
        )?;
        fs::write(
            dir.join("run-state.json"),
            r#"{"usage":{"inputTokens":99999}}"#,
        )?;
    }
    Ok(tree)
}

/// A Kimi CLI wire line: `{"timestamp": <epoch seconds>, "message": {"type", "payload"}}`,
/// as Python's `json.dumps` writes it. The seconds carry microseconds past the
/// millisecond, so a reader that truncates to milliseconds gets `ts_ms` whatever the
/// float's rounding.
fn kimi_line(ts_ms: i64, kind: &str, payload: &str) -> String {
    format!(
        r#"{{"timestamp": {}.{:03}500, "message": {{"type": "{kind}", "payload": {payload}}}}}"#,
        ts_ms.div_euclid(1000),
        ts_ms.rem_euclid(1000)
    )
}

/// A step's `StatusUpdate` payload: `[input, output, cache creation, cache read]` as
/// Kimi's `token_usage`, and its `message_id` where it has one.
fn kimi_status(sums: Sums, message_id: Option<&str>) -> String {
    let id = message_id.map_or(String::new(), |id| format!(r#", "message_id": "{id}""#));
    format!(
        r#"{{"context_usage": 0.05, "context_tokens": {}, "max_context_tokens": 262144, "token_usage": {{"input_other": {}, "output": {}, "input_cache_read": {}, "input_cache_creation": {}}}{id}, "plan_mode": false}}"#,
        sums[0] + sums[3],
        sums[0],
        sums[1],
        sums[3],
        sums[2]
    )
}

/// A line of a generated Kimi session: its text, the step it reports at top level (what
/// ccusage counts in every file it is in), and whether `/fork` copies it (Kimi drops
/// lines that are not JSON).
struct KimiLine {
    text: String,
    step: Option<(i64, Sums)>,
    whole: bool,
}

/// A Kimi CLI share dir under `root` (what `~/.kimi` holds): sessions in
/// `sessions/<work dir hash>/<session id>/wire.jsonl` whose `StatusUpdate`s carry each
/// step's usage, with the traps of `fixtures/README.md`: steps without a `message_id`,
/// interrupted steps with no usage, `StatusUpdate`s that carry none (plan mode), subagent
/// steps in their own `subagents/<id>/wire.jsonl` and repeated in the parent as
/// `SubagentEvent`s (or, as Kimi CLI wrote them before 2026-03-23, in the parent only),
/// `/fork` sessions that start with an earlier session's lines verbatim, and damaged
/// lines. ccusage counts a fork's copies again and never unwraps a `SubagentEvent`.
pub fn kimi(root: &Path, spec: &Spec) -> io::Result<AgentTree> {
    let mut rng = Rng(spec.seed ^ 0x6b69_6d69);
    let mut tree = AgentTree::default();
    let groups = (spec.files / 10).max(1) as u64;
    let mut finished: Vec<Vec<KimiLine>> = Vec::new();
    let header = || KimiLine {
        text: r#"{"type": "metadata", "protocol_version": "1.3"}"#.to_string(),
        step: None,
        whole: true,
    };
    for _ in 0..spec.files {
        let group = format!("{:032x}", 0x5d41_402a_bc4b_2a76_u64 + rng.below(groups));
        let session = uuid(&mut rng);
        let dir = root.join("sessions").join(&group).join(&session);
        let mut ts = START_MS
            + rng.below(spec.days as u64) as i64 * 86_400_000
            + rng.below(86_400_000) as i64;
        let mut lines = vec![header()];
        if !finished.is_empty() && rng.chance(0.1) {
            // `/fork`: the parent's first lines, verbatim, the damaged ones left out.
            let parent = &finished[rng.below(finished.len() as u64) as usize];
            let upto = rng.range(2, parent.len() as u64) as usize;
            for line in parent[1..upto].iter().filter(|l| l.whole) {
                if let Some((at, sums)) = line.step {
                    tree.ccusage(at, sums);
                }
                lines.push(KimiLine {
                    text: line.text.clone(),
                    step: line.step,
                    whole: true,
                });
            }
        }
        let mut subagents: Vec<(String, Vec<String>)> = Vec::new();
        let push = |lines: &mut Vec<KimiLine>, text: String, step: Option<(i64, Sums)>| {
            lines.push(KimiLine {
                text,
                step,
                whole: true,
            })
        };
        for turn in 0..rng.range(1, spec.turns as u64) {
            ts += rng.range(5_000, 400_000) as i64;
            let begin = format!(r#"{{"user_input": "step {turn}: refactor the parser"}}"#);
            push(&mut lines, kimi_line(ts, "TurnBegin", &begin), None);
            for n in 1..=rng.range(1, 4) {
                ts += rng.range(2_000, 60_000) as i64;
                push(
                    &mut lines,
                    kimi_line(ts, "StepBegin", &format!(r#"{{"n": {n}}}"#)),
                    None,
                );
                let write = if rng.chance(0.2) {
                    rng.range(1, 4_000)
                } else {
                    0
                };
                let sums = [
                    rng.range(1, 5_000),
                    rng.range(10, 3_000),
                    write,
                    rng.range(0, 150_000),
                ];
                let id = format!("chatcmpl-{}", rng.hex(24));
                let roll = rng.below(100);
                if roll < 5 {
                    // Interrupted: a StatusUpdate with nothing used.
                    let status = kimi_status([0; 4], Some(&id));
                    push(&mut lines, kimi_line(ts, "StatusUpdate", &status), None);
                } else if roll < 12 {
                    // No message id: keyed by its time.
                    let status = kimi_status(sums, None);
                    count(&mut tree.expected, ts, sums);
                    tree.ccusage(ts, sums);
                    push(
                        &mut lines,
                        kimi_line(ts, "StatusUpdate", &status),
                        Some((ts, sums)),
                    );
                } else if roll < 27 {
                    // A subagent's step: in its own wire (not before 2026-03-23) and
                    // repeated in the parent's, wrapped.
                    let own_file = roll < 22;
                    let agent = rng.hex(8);
                    let status = kimi_status(sums, Some(&id));
                    count(&mut tree.expected, ts, sums);
                    if own_file {
                        tree.ccusage(ts, sums);
                        subagents.push((
                            agent.clone(),
                            vec![header().text, kimi_line(ts, "StatusUpdate", &status)],
                        ));
                    }
                    let event = format!(
                        r#"{{"parent_tool_call_id": "tool_{n}", "agent_id": "{agent}", "subagent_type": "coder", "event": {{"type": "StatusUpdate", "payload": {status}}}}}"#
                    );
                    push(&mut lines, kimi_line(ts, "SubagentEvent", &event), None);
                } else {
                    let status = kimi_status(sums, Some(&id));
                    count(&mut tree.expected, ts, sums);
                    tree.ccusage(ts, sums);
                    push(
                        &mut lines,
                        kimi_line(ts, "StatusUpdate", &status),
                        Some((ts, sums)),
                    );
                }
                let call = r#"{"type": "function", "id": "tool_1", "function": {"name": "ReadFile", "arguments": "{\"path\": \"src/lib.rs\"}"}}"#;
                push(&mut lines, kimi_line(ts + 1, "ToolCall", call), None);
            }
            if rng.chance(0.1) {
                push(
                    &mut lines,
                    kimi_line(ts + 2, "StatusUpdate", r#"{"plan_mode": true}"#),
                    None,
                );
            }
            if rng.chance(0.03) {
                lines.push(KimiLine {
                    text: r#"{"timestamp": 1.0, "message": {"type": "StatusUpdate", "payload": {"token_usage": {"input_other": 9"#.to_string(),
                    step: None,
                    whole: false,
                });
            }
            push(&mut lines, kimi_line(ts + 3, "TurnEnd", "{}"), None);
        }
        let texts: Vec<String> = lines.iter().map(|l| l.text.clone()).collect();
        write_file(&dir.join("wire.jsonl"), &texts, &mut tree.expected)?;
        for (agent, texts) in subagents {
            let path = dir.join("subagents").join(agent).join("wire.jsonl");
            write_file(&path, &texts, &mut tree.expected)?;
        }
        finished.push(lines);
        if finished.len() > 50 {
            finished.remove(0);
        }
    }
    Ok(tree)
}

const PI_MODELS: [(&str, &str); 3] = [
    ("anthropic", "claude-sonnet-4-5"),
    ("anthropic", "claude-haiku-4-5"),
    ("openai", "gpt-5"),
];

/// A line of a generated pi session, the reply it holds, and whether the session copied
/// it from its parent.
struct PiLine {
    text: String,
    reply: Option<(i64, Sums)>,
    copied: bool,
}

/// A pi-agent sessions folder under `root` (what `~/.pi/agent/sessions` holds): sessions
/// in `--<cwd>--/<time>_<id>.jsonl` whose assistant messages carry `usage`, with the traps
/// of `fixtures/README.md`: 1-hour cache writes inside `cacheWrite`, aborted replies with
/// no usage, replies that give only `totalTokens`, sessions in the old format without
/// entry ids, damaged lines, and forks (`/fork`, `/tree`) that start with an earlier
/// session's entries verbatim under a header naming their `parentSession` (ccusage counts
/// a copy again when it has no entry id: a fork of an old-format session).
pub fn pi(root: &Path, spec: &Spec) -> io::Result<AgentTree> {
    let mut rng = Rng(spec.seed ^ 0x7069);
    let mut tree = AgentTree::default();
    let projects = (spec.files / 10).max(1) as u64;
    let mut finished: Vec<(String, i64, Vec<PiLine>)> = Vec::new();
    for _ in 0..spec.files {
        let cwd = format!("/home/dev/work/project-{}", rng.below(projects));
        let session = uuid(&mut rng);
        let mut legacy = rng.chance(0.1);
        let mut ts = START_MS
            + rng.below(spec.days as u64) as i64 * 86_400_000
            + rng.below(86_400_000) as i64;
        let mut copied = Vec::new();
        let mut parent_session = String::new();
        if !finished.is_empty() && rng.chance(0.12) {
            let (path, last, lines) = &finished[rng.below(finished.len() as u64) as usize];
            ts = ts.max(last + rng.range(1_000, 3_600_000) as i64);
            // pi writes a fork in its current format.
            legacy = false;
            parent_session = format!(r#","parentSession":"{path}""#);
            for line in &lines[..rng.range(1, lines.len() as u64) as usize] {
                // ccusage tells a fork's copies by the parent's own entry ids: a copy of
                // an old-format entry (no id), or of the parent's own copy, counts again.
                let again = line.copied || !line.text.contains(r#""id":"#);
                if let Some((at, sums)) = line.reply.filter(|_| again) {
                    tree.ccusage(at, sums);
                }
                copied.push(PiLine {
                    text: line.text.clone(),
                    reply: line.reply,
                    copied: true,
                });
            }
        }
        let version = if legacy { "" } else { r#""version":3,"# };
        let header = format!(
            r#"{{"type":"session",{version}"id":"{session}","timestamp":"{}","cwd":"{cwd}"{parent_session}}}"#,
            iso(ts)
        );
        let name = format!("{}_{session}.jsonl", iso(ts).replace([':', '.'], "-"));
        let path = root
            .join(format!("--{}--", cwd[1..].replace('/', "-")))
            .join(name);
        let mut own: Vec<PiLine> = Vec::new();
        let mut parent = String::from("null");
        let mut entry = |rng: &mut Rng, kind: &str, at: i64, rest: &str| {
            let id = rng.hex(8);
            let ids = match legacy {
                true => String::new(),
                false => format!(r#""id":"{id}","parentId":{parent},"#),
            };
            parent = format!(r#""{id}""#);
            format!(
                r#"{{"type":"{kind}",{ids}"timestamp":"{}"{rest}}}"#,
                iso(at)
            )
        };
        for turn in 0..rng.range(1, spec.turns as u64) {
            ts += rng.range(5_000, 400_000) as i64;
            let text = entry(
                &mut rng,
                "message",
                ts,
                &format!(
                    r#","message":{{"role":"user","content":[{{"type":"text","text":"step {turn}: fix the usage report"}}],"timestamp":{ts}}}"#
                ),
            );
            own.push(PiLine {
                text,
                reply: None,
                copied: false,
            });
            for _ in 0..rng.range(1, 4) {
                ts += rng.range(2_000, 60_000) as i64;
                let (provider, model) = PI_MODELS[rng.below(PI_MODELS.len() as u64) as usize];
                let write = if provider == "anthropic" {
                    rng.range(0, 20_000)
                } else {
                    0
                };
                let hour = if rng.chance(0.3) {
                    rng.range(0, write)
                } else {
                    0
                };
                let sums = [
                    rng.range(1, 5_000),
                    rng.range(10, 3_000),
                    write,
                    rng.range(0, 150_000),
                ];
                let roll = rng.below(100);
                let (usage, counted) = if roll < 5 {
                    // Aborted before any token.
                    (
                        r#"{"input":0,"output":0,"cacheRead":0,"cacheWrite":0,"totalTokens":0,"cost":{"input":0,"output":0,"cacheRead":0,"cacheWrite":0,"total":0}}"#.to_string(),
                        None,
                    )
                } else if roll < 10 {
                    // Only a total: output.
                    let total = sums.iter().sum::<u64>();
                    (
                        format!(r#"{{"totalTokens":{total}}}"#),
                        Some([0, total, 0, 0]),
                    )
                } else {
                    let cost = rng.range(0, 90_000) as f64 / 1e6;
                    (
                        format!(
                            r#"{{"input":{},"output":{},"cacheRead":{},"cacheWrite":{write},"totalTokens":{},"cost":{{"input":0,"output":0,"cacheRead":0,"cacheWrite":0,"total":{cost}}},"cacheWrite1h":{hour},"reasoning":0}}"#,
                            sums[0],
                            sums[1],
                            sums[3],
                            sums.iter().sum::<u64>()
                        ),
                        Some(sums),
                    )
                };
                let text = entry(
                    &mut rng,
                    "message",
                    ts,
                    &format!(
                        r#","message":{{"role":"assistant","content":[{{"type":"text","text":"Done."}}],"api":"x","provider":"{provider}","model":"{model}","usage":{usage},"stopReason":"stop","timestamp":{}}}"#,
                        ts - 1_500
                    ),
                );
                if let Some(sums) = counted {
                    count(&mut tree.expected, ts, sums);
                    tree.ccusage(ts, sums);
                }
                own.push(PiLine {
                    text,
                    reply: counted.map(|sums| (ts, sums)),
                    copied: false,
                });
                ts += rng.range(500, 20_000) as i64;
                let text = entry(
                    &mut rng,
                    "message",
                    ts,
                    r#","message":{"role":"toolResult","toolCallId":"call_1","toolName":"bash","content":[{"type":"text","text":"ok"}],"isError":false}"#,
                );
                own.push(PiLine {
                    text,
                    reply: None,
                    copied: false,
                });
            }
            if rng.chance(0.03) {
                own.push(PiLine {
                    text: r#"{"type":"message","timestamp":"2025-09-02T00:00:00.000Z","message":{"role":"assistant","usage":{"input":9"#.to_string(),
                    reply: None,
                    copied: false,
                });
            }
        }
        let mut texts = vec![header];
        texts.extend(copied.iter().chain(&own).map(|l| l.text.clone()));
        write_file(&path, &texts, &mut tree.expected)?;
        // A later fork copies the parent's entries (pi never copies a line it cannot read).
        let mut lines = copied;
        lines.extend(own.into_iter().filter(|l| !l.text.ends_with(":9")));
        finished.push((path.display().to_string(), ts, lines));
        if finished.len() > 50 {
            finished.remove(0);
        }
    }
    Ok(tree)
}

const OPENCLAW_MODELS: [(&str, &str); 3] = [
    ("anthropic", "claude-sonnet-4-5"),
    ("openai-codex", "gpt-5.2"),
    ("opencode", "minimax-m2.5-free"),
];

/// An OpenClaw state dir under `root` (what `~/.openclaw` holds): transcripts in
/// `agents/<agent>/sessions/<id>.jsonl` in pi's format, with the traps of
/// `fixtures/README.md`: replies that name no model (the latest `model_change` or
/// `model-snapshot` does), replies dated by their message a little before their entry (so
/// some fall on the day before), replies with no usage, damaged lines, sessions reset or
/// deleted (renamed `.jsonl.reset.<time>`, `.jsonl.deleted.<time>`), some of them also
/// still present under their live name as the ledger last saw them, and repair backups
/// (`.jsonl.bak-<time>`) that are not read. ccusage reads all of it as a correct reader
/// does, so its oracle is the same.
pub fn openclaw(root: &Path, spec: &Spec) -> io::Result<AgentTree> {
    let mut rng = Rng(spec.seed ^ 0x6f63);
    let mut tree = AgentTree::default();
    for _ in 0..spec.files {
        let agent = ["main", "coder", "ops"][rng.below(3) as usize];
        let session = uuid(&mut rng);
        let mut ts = START_MS
            + rng.below(spec.days as u64) as i64 * 86_400_000
            + rng.below(86_400_000) as i64;
        let mut lines = vec![format!(
            r#"{{"type":"session","version":3,"id":"{session}","timestamp":"{}","cwd":"/home/u/.openclaw/workspace"}}"#,
            iso(ts)
        )];
        let entry = |rng: &mut Rng, kind: &str, at: i64, rest: &str| {
            format!(
                r#"{{"type":"{kind}","id":"{}","parentId":null,"timestamp":"{}"{rest}}}"#,
                rng.hex(8),
                iso(at)
            )
        };
        for turn in 0..rng.range(1, spec.turns as u64) {
            ts += rng.range(5_000, 400_000) as i64;
            let (provider, model) = OPENCLAW_MODELS[rng.below(3) as usize];
            let change = match rng.chance(0.5) {
                true => entry(
                    &mut rng,
                    "model_change",
                    ts,
                    &format!(r#","provider":"{provider}","modelId":"{model}""#),
                ),
                false => entry(
                    &mut rng,
                    "custom",
                    ts,
                    &format!(
                        r#","customType":"model-snapshot","data":{{"provider":"{provider}","modelId":"{model}"}}"#
                    ),
                ),
            };
            lines.push(change);
            let text = format!(
                r#","message":{{"role":"user","content":[{{"type":"text","text":"step {turn}"}}],"timestamp":{ts}}}"#
            );
            lines.push(entry(&mut rng, "message", ts, &text));
            for _ in 0..rng.range(1, 4) {
                ts += rng.range(2_000, 60_000) as i64;
                let started = ts - rng.range(0, 20_000) as i64;
                let sums = [
                    rng.range(1, 5_000),
                    rng.range(10, 3_000),
                    if provider == "anthropic" {
                        rng.range(0, 20_000)
                    } else {
                        0
                    },
                    rng.range(0, 150_000),
                ];
                let named = match rng.chance(0.5) {
                    true => format!(r#","model":"{model}""#),
                    false => String::new(),
                };
                let empty = rng.chance(0.05);
                let counted = if empty { [0; 4] } else { sums };
                let dated = match rng.chance(0.9) {
                    true => format!(r#","timestamp":{started}"#),
                    false => String::new(),
                };
                let text = format!(
                    r#","message":{{"role":"assistant","content":[{{"type":"text","text":"Done."}}],"provider":"{provider}"{named},"usage":{{"input":{},"output":{},"cacheRead":{},"cacheWrite":{},"totalTokens":{},"cost":{{"total":0}}}},"stopReason":"stop"{dated}}}"#,
                    counted[0],
                    counted[1],
                    counted[3],
                    counted[2],
                    counted.iter().sum::<u64>()
                );
                lines.push(entry(&mut rng, "message", ts, &text));
                if !empty {
                    let at = if dated.is_empty() { ts } else { started };
                    count(&mut tree.expected, at, counted);
                    tree.ccusage(at, counted);
                }
            }
            if rng.chance(0.03) {
                lines.push(
                    r#"{"type":"message","timestamp":"2025-09-02T00:00:00.000Z","message":{"role":"assistant","usage":{"input":9"#
                        .to_string(),
                );
            }
        }
        let sessions = root.join("agents").join(agent).join("sessions");
        let live = sessions.join(format!("{session}.jsonl"));
        match rng.below(10) {
            0 => {
                let name = format!("{session}.jsonl.reset.{}", iso(ts).replace(':', "-"));
                write_file(&sessions.join(name), &lines, &mut tree.expected)?;
            }
            1 => {
                // Deleted, and still under its live name as the ledger last read it.
                let name = format!("{session}.jsonl.deleted.{ts}");
                write_file(&sessions.join(name), &lines, &mut tree.expected)?;
                write_file(&live, &lines[..lines.len() / 2], &mut tree.expected)?;
            }
            2 => {
                write_file(&live, &lines, &mut tree.expected)?;
                let backup = sessions.join(format!("{session}.jsonl.bak-{ts}"));
                write_file(&backup, &lines, &mut Expected::default())?;
            }
            _ => write_file(&live, &lines, &mut tree.expected)?,
        }
    }
    Ok(tree)
}

const HERMES_MODELS: [&str; 3] = ["claude-sonnet-4-6", "gpt-5", "anthropic/claude-opus-4.6"];

/// A Hermes home under `root` (what `~/.hermes` holds): `state.db` with Hermes' sessions
/// table (`fixtures/hermes/schema.sql`), each session's counts cumulative on its row, as
/// Hermes adds each call's to them: `stage` 0 writes every session as it stood halfway,
/// `stage` 1 its final counts, in place. The traps of `fixtures/README.md`: sessions
/// without a model yet or without usage (not read), compression children (their own
/// counts), reasoning (billed as output), `started_at` with a fraction of a second. The
/// oracle is the final counts; ccusage's is the same less reasoning.
pub fn hermes(root: &Path, spec: &Spec, stage: u8) -> io::Result<AgentTree> {
    let sqlite = |e: rusqlite::Error| io::Error::other(e.to_string());
    fs::create_dir_all(root)?;
    let db = rusqlite::Connection::open(root.join("state.db")).map_err(sqlite)?;
    db.pragma_update(None, "journal_mode", "WAL")
        .map_err(sqlite)?;
    if stage == 0 {
        db.execute_batch(include_str!("../fixtures/hermes/schema.sql"))
            .map_err(sqlite)?;
    }
    let mut rng = Rng(spec.seed ^ 0x6865_726d);
    let mut tree = AgentTree::default();
    let tx = db.unchecked_transaction().map_err(sqlite)?;
    let mut last = None::<String>;
    for file in 0..spec.files {
        let id = format!("2025_{file:05}_{}", rng.hex(6));
        let started = START_MS
            + rng.below(spec.days as u64) as i64 * 86_400_000
            + rng.below(86_000_000) as i64;
        let parent = if rng.chance(0.2) { last.clone() } else { None };
        let model = match rng.below(12) {
            0 => None,
            n => Some(HERMES_MODELS[n as usize % 3]),
        };
        let idle = rng.chance(0.1);
        let final_counts = [
            rng.range(1, 200_000),
            rng.range(1, 30_000),
            rng.range(0, 900_000),
            rng.range(0, 40_000),
            rng.range(0, 1) * rng.range(1, 5_000),
        ];
        let counts = match (model, idle, stage) {
            (None, _, _) | (_, true, _) => [0; 5],
            (_, _, 0) => final_counts.map(|n| n / 2),
            _ => final_counts,
        };
        let [input, output, read, write, reasoning] = counts;
        tx.execute(
            "INSERT INTO sessions (id, source, model, parent_session_id, started_at, input_tokens,
                 output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, api_call_count)
             VALUES (?1, 'cli', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1)
             ON CONFLICT (id) DO UPDATE SET input_tokens = excluded.input_tokens,
                 output_tokens = excluded.output_tokens, cache_read_tokens = excluded.cache_read_tokens,
                 cache_write_tokens = excluded.cache_write_tokens,
                 reasoning_tokens = excluded.reasoning_tokens",
            rusqlite::params![
                id,
                model,
                parent,
                started as f64 / 1000.0,
                input as i64,
                output as i64,
                read as i64,
                write as i64,
                reasoning as i64
            ],
        )
        .map_err(sqlite)?;
        if model.is_some() && !idle {
            let [input, output, read, write, reasoning] = final_counts;
            count(
                &mut tree.expected,
                started,
                [input, output + reasoning, write, read],
            );
            tree.ccusage(started, [input, output, write, read]);
        }
        last = Some(id);
    }
    tx.commit().map_err(sqlite)?;
    Ok(tree)
}

const GOOSE_MODELS: [(&str, &str); 3] = [
    ("anthropic", "claude-sonnet-4-5"),
    ("openai", "gpt-5"),
    ("google", "gemini-2.5-pro"),
];

/// Goose's `sessions.db` at `db` (in WAL mode, as Goose keeps it), with Goose 1.35's
/// `sessions` table (`fixtures/goose/schema.sql`) and the traps of `fixtures/README.md`:
/// sessions with running totals, older rows with only the latest call's counts, totals
/// above input and output (a provider's thinking, which ccusage leaves out of its output
/// column), sessions without a model config (which ccusage skips), sessions that used
/// nothing yet, created-at times in SQLite's and RFC 3339's formats.
pub fn goose(db: &Path, spec: &Spec) -> io::Result<AgentTree> {
    let mut rng = Rng(spec.seed ^ 0x676f);
    let mut tree = AgentTree::default();
    fs::create_dir_all(db.parent().expect("a database has a folder"))?;
    let conn = rusqlite::Connection::open(db).map_err(io::Error::other)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(io::Error::other)?;
    let schema = include_str!("../fixtures/goose/schema.sql");
    conn.execute_batch(schema).map_err(io::Error::other)?;
    for n in 0..spec.files {
        let ts = START_MS
            + rng.below(spec.days as u64) as i64 * 86_400_000
            + rng.below(86_400_000) as i64 / 1000 * 1000;
        let created = match rng.chance(0.2) {
            true => format!("{}Z", &iso(ts)[..19]),
            false => iso(ts)[..19].replace('T', " "),
        };
        let updated = iso(ts + rng.range(60, 7_200) as i64 * 1000)[..19].replace('T', " ");
        let (provider, model) = GOOSE_MODELS[rng.below(3) as usize];
        let (input, output) = (rng.range(1_000, 400_000), rng.range(100, 30_000));
        let thinking = if rng.chance(0.1) {
            rng.range(1, 5_000)
        } else {
            0
        };
        let total = input + output + thinking;
        let config = format!(r#"{{"model_name":"{model}","toolshim":false}}"#);
        let roll = rng.below(100);
        // [latest call's (total, in, out)], [running (total, in, out)], model config
        let (latest, running, config, counted) = if roll < 5 {
            ([None; 3], [None; 3], Some(config), None)
        } else if roll < 15 {
            let latest = [Some(total), Some(input), Some(output)];
            (latest, [None; 3], Some(config), Some(true))
        } else if roll < 20 {
            let running = [Some(total), Some(input), Some(output)];
            (running, running, None, Some(false))
        } else {
            let latest = [Some(total / 4), Some(input / 4), Some(output / 4)];
            let running = [Some(total), Some(input), Some(output)];
            (latest, running, Some(config), Some(true))
        };
        if let Some(ccusage_reads) = counted {
            count(&mut tree.expected, ts, [input, output + thinking, 0, 0]);
            if ccusage_reads {
                tree.ccusage(ts, [input, output, 0, 0]);
            }
        }
        conn.execute(
            "INSERT INTO sessions (id, name, working_dir, created_at, updated_at, total_tokens,
                 input_tokens, output_tokens, accumulated_total_tokens, accumulated_input_tokens,
                 accumulated_output_tokens, provider_name, model_config_json)
             VALUES (?1, 'session', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            rusqlite::params![
                format!("{}_{n}", &iso(ts)[..10].replace('-', "")),
                format!("/home/dev/work/project-{}", n % 7),
                created,
                updated,
                latest[0],
                latest[1],
                latest[2],
                running[0],
                running[1],
                running[2],
                provider,
                config,
            ],
        )
        .map_err(io::Error::other)?;
    }
    drop(conn);
    tree.expected.files.push(db.to_path_buf());
    Ok(tree)
}

/// OpenCode's tables as its drizzle schema makes them (the tests' fixture).
pub const OPENCODE_SCHEMA: &str = include_str!("../fixtures/opencode/schema.sql");

/// A generated OpenCode data folder, and what must happen to it between passes.
pub struct OpenCodeTree {
    pub tree: AgentTree,
    /// Sessions to delete in OpenCode after the first pass (their messages go with
    /// them, ON DELETE cascade): the ledger keeps what it read.
    pub deleted: Vec<String>,
    /// Messages still streaming when generated (no `time.completed`): id, session,
    /// creation time, and the counts they have so far.
    pub streaming: Vec<(String, String, i64, [u64; 5])>,
}

/// An OpenCode data folder under `dir` (what `~/.local/share/opencode` holds):
/// `opencode.db` in WAL mode with OpenCode's own schema and about `messages` rows, with
/// the traps of its shape: subtask sessions (`parent_id`), user messages and aborted
/// assistant messages without tokens, messages still streaming (partial counts, no
/// `time.completed`), reasoning tokens, sessions to be deleted after the first pass, and
/// the legacy `storage/message/<session>/msg_*.json` copies v1.2 made of older messages
/// (same ids: each counts once). ccusage drops reasoning from output: its oracle does too.
pub fn opencode(dir: &Path, messages: usize, seed: u64) -> io::Result<OpenCodeTree> {
    let sql = |e: rusqlite::Error| io::Error::other(e.to_string());
    fs::create_dir_all(dir)?;
    let db = rusqlite::Connection::open(dir.join("opencode.db")).map_err(sql)?;
    db.pragma_update(None, "journal_mode", "WAL").map_err(sql)?;
    db.execute_batch(OPENCODE_SCHEMA).map_err(sql)?;
    db.execute_batch("BEGIN").map_err(sql)?;
    let mut rng = Rng(seed ^ 0x6f70656e);
    let mut out = OpenCodeTree {
        tree: AgentTree::default(),
        deleted: Vec::new(),
        streaming: Vec::new(),
    };
    let per_session = 50;
    let sessions = messages.div_ceil(per_session);
    let mut written = 0usize;
    for s in 0..sessions {
        let session = format!("ses_{s:06}");
        let parent = (s > 0 && rng.chance(0.1)).then(|| format!("ses_{:06}", rng.below(s as u64)));
        let mut ts = START_MS + (s as i64 * 40 * 86_400_000 / sessions as i64);
        db.execute(
            "INSERT INTO session (id, project_id, parent_id, slug, directory, title, version, time_created, time_updated)
             VALUES (?1, 'p1', ?2, ?1, '/home/u/app', 'bench', '1.2.4', ?3, ?3)",
            rusqlite::params![session, parent, ts],
        )
        .map_err(sql)?;
        let legacy = rng.chance(0.02);
        if s % 97 == 5 {
            out.deleted.push(session.clone());
        }
        let last = s + 1 == sessions;
        for m in 0..per_session.min(messages - written) {
            let id = format!("msg_{s:06}_{m:03}");
            ts += rng.range(1_000, 60_000) as i64;
            let data = if m % 2 == 0 {
                format!(
                    r#"{{"role":"user","time":{{"created":{ts}}},"agent":"build","model":{{"providerID":"anthropic","modelID":"claude-sonnet-4-20250514"}},"summary":{{"diffs":[]}}}}"#
                )
            } else {
                let model = MODELS[rng.below(MODELS.len() as u64) as usize];
                let reasoning = if rng.chance(0.2) {
                    rng.range(10, 500)
                } else {
                    0
                };
                let tokens = [
                    rng.range(1, 4_000),
                    rng.range(10, 3_000),
                    reasoning,
                    rng.range(0, 150_000),
                    rng.range(0, 8_000),
                ];
                // The last session's last messages are still streaming; one in fifty
                // elsewhere was aborted before any counts came.
                let streaming = last && m + 10 >= per_session;
                let aborted = !streaming && rng.chance(0.02);
                let tokens = if aborted { [0; 5] } else { tokens };
                let data = opencode_message(ts, model, tokens, !streaming);
                if streaming {
                    out.streaming
                        .push((id.clone(), session.clone(), ts, tokens));
                }
                if tokens.iter().sum::<u64>() > 0 {
                    let [i, o, r, read, write] = tokens;
                    count(&mut out.tree.expected, ts, [i, o + r, write, read]);
                    out.tree.ccusage(ts, [i, o, write, read]);
                }
                if legacy {
                    let mut copy: serde_json::Value = serde_json::from_str(&data).unwrap();
                    copy["id"] = id.clone().into();
                    copy["sessionID"] = session.clone().into();
                    let folder = dir.join("storage/message").join(&session);
                    fs::create_dir_all(&folder)?;
                    let path = folder.join(format!("{id}.json"));
                    fs::write(&path, copy.to_string())?;
                    out.tree.expected.files.push(path);
                }
                data
            };
            let updated = ts + rng.range(0, 30_000) as i64;
            db.execute(
                "INSERT INTO message (id, session_id, time_created, time_updated, data) VALUES (?1, ?2, ?3, ?4, ?5)",
                rusqlite::params![id, session, ts, updated, data],
            )
            .map_err(sql)?;
            out.tree.expected.bytes += data.len() as u64;
            written += 1;
        }
    }
    db.execute_batch("COMMIT").map_err(sql)?;
    out.tree.expected.lines = written as u64;
    out.tree.expected.files.push(dir.join("opencode.db"));
    Ok(out)
}

/// An assistant message's `data` as OpenCode writes it: `tokens` [input, output,
/// reasoning, cache read, cache write]; `completed` once its response is done.
pub fn opencode_message(created: i64, model: &str, tokens: [u64; 5], completed: bool) -> String {
    let [input, output, reasoning, read, write] = tokens;
    let time = match completed {
        true => format!(r#"{{"created":{created},"completed":{}}}"#, created + 9_000),
        false => format!(r#"{{"created":{created}}}"#),
    };
    format!(
        r#"{{"role":"assistant","parentID":"msg_x","mode":"build","agent":"build","modelID":"{model}","providerID":"anthropic","path":{{"cwd":"/home/u/app","root":"/home/u/app"}},"time":{time},"cost":0,"tokens":{{"total":{},"input":{input},"output":{output},"reasoning":{reasoning},"cache":{{"read":{read},"write":{write}}}}},"finish":"tool-calls"}}"#,
        input + output + reasoning + read + write
    )
}

/// The median of `values` (sorted in place): the figure the benches quote.
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// A bench's size from its environment variable, else `default`.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The days of a `daily --json` (ours or ccusage's): date and [input, output, cache
/// creation, cache read].
pub fn daily_days(json: &str) -> Vec<(String, [u64; 4])> {
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
