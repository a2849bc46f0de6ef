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
    let homes: [(&str, &str, &str); 6] = [
        ("CODEX_HOME", "no-codex-home", "sessions"),
        ("GEMINI_CLI_HOME", "no-gemini-home", ".gemini/tmp"),
        ("QWEN_RUNTIME_DIR", "no-qwen-home", "projects"),
        ("OPENCODE_DATA_DIR", "no-opencode-home", ""),
        ("AMP_DATA_DIR", "no-amp-home", "threads"),
        ("COPILOT_HOME", "no-copilot-home", "session-state"),
    ];
    for (var, home, folder) in homes {
        let home = dir.join(home);
        fs::create_dir_all(home.join(folder))?;
        // SAFETY: the caller has started no thread yet.
        unsafe { std::env::set_var(var, &home) };
    }
    Ok(())
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

/// One `token_count` line of a rollout, as Codex writes it.
fn codex_count(ts_ms: i64, totals: Option<(&CodexTotals, &CodexTotals)>, used: u64) -> String {
    let info = match totals {
        None => "null".to_string(),
        Some((total, last)) => format!(
            r#"{{"total_token_usage":{},"last_token_usage":{},"model_context_window":272000}}"#,
            total.json(),
            last.json()
        ),
    };
    let resets = (START_MS / 1000) + 18_000 * (ts_ms - START_MS).div_euclid(18_000_000);
    format!(
        r#"{{"timestamp":"{}","type":"event_msg","payload":{{"type":"token_count","info":{info},"rate_limits":{{"primary":{{"used_percent":{used}.0,"window_minutes":300,"resets_at":{}}},"secondary":{{"used_percent":{}.0,"window_minutes":10080,"resets_at":{}}}}}}}}}"#,
        iso(ts_ms),
        resets + 18_000,
        used / 3,
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
                    lines.push(codex_count(ts, Some((&event.totals, &event.last)), 1));
                }
                totals = parent_totals;
                events = replayed;
            }
            None => {
                lines.push(codex_meta(ts, &id, &cwd, r#""source":"cli","#));
                ts += 20;
                lines.push(codex_count(ts, None, rng.below(50)));
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
                lines.push(codex_count(ts, Some((&grown, &last)), rng.below(100)));
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
                    lines.push(codex_count(ts, Some((&totals, &last)), rng.below(100)));
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
