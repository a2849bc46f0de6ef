//! The coding agents whose logs the ledger reads: one source module per agent.
//!
//! A source owns three things of its agent and nothing else: where its files are (the
//! default folders, and the override the agent itself honours, e.g. `CODEX_HOME`), which
//! files below them are its own and what session and project their paths name, and how
//! their bytes become ledger records. Everything after a record (batches, dedup, the
//! cursor's commit, reports) is shared, and knows an agent only as the `agent` column
//! every row and file carries: the dedup rules apply within one agent.
//!
//! What a source implements (`Source`):
//! - `agent`: its name in the ledger, as ccusage's subcommands name it (`Agent`).
//! - `shape`: how its agent writes (`Shape`): append-only JSONL tailed from a byte
//!   cursor (Claude Code, Codex, Gemini CLI, Qwen Code), a whole file rewritten in place,
//!   or a SQLite database written by the running agent. The first is read, and Gemini
//!   CLI's legacy documents of the second (whole, each time they change); the other two
//!   have their cursor kinds (`CursorKind`) and interfaces (`rewritten::DocumentParser` with
//!   its `Digest`, `database::DatabaseReader` with its watermark), each tested with a
//!   small example, for the agents of the part 2.
//! - `folders`: the folders the walk looks in, every one probed whether it exists or not
//!   (`doctor` lists them all).
//! - `names`: the (project, session) a file's path below its folder names.
//! - `parser`: a fresh `LineParser` for one file.
//! - `reads`, `shape_of` and `documents`, where the source's files are more than
//!   `*.jsonl` of its one shape (Gemini CLI: legacy `.json` documents, rewritten whole,
//!   beside its logs, read by the ingest with the source's `rewritten::DocumentParser`).
//!
//! How parser state survives a restart: a line parser that needs more than the line at
//! hand (Codex counts the growth of cumulative totals, and takes the model from an
//! earlier line) says so through `LineParser::take_state`, a string it alone reads back
//! in `LineParser::resume`. The ingest stores the string in the file's cursor row
//! (`files.state`) in the same transaction as the cursor's offset and the rows read up to
//! it, so a pass killed at any point resumes with exactly the state that matches its
//! offset. A stateless parser (Claude Code's) never has any.

pub mod amp;
pub mod claude;
pub mod codebuff;
pub mod codex;
pub mod copilot;
pub mod database;
pub mod droid;
pub mod gemini;
pub mod goose;
pub mod hermes;
pub mod kilo;
pub mod kimi;
pub mod openclaw;
pub mod opencode;
pub mod pi;
pub mod qwen;
pub mod rewritten;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::model::{Agent, Parsed, RateLimit, Record};
use crate::sources::claude::roots::Roots;

/// How an agent writes its usage, and so how the ledger keeps its place in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Lines are only ever appended: a byte cursor, and per-file parser state.
    AppendOnly,
    /// One JSON document rewritten whole: read again on change, upserted by message id.
    Rewritten,
    /// A SQLite database the running agent writes: read-only, from a watermark.
    Database,
}

impl Shape {
    /// The kind of cursor a file of this shape keeps.
    pub fn cursor_kind(self) -> CursorKind {
        match self {
            Shape::AppendOnly => CursorKind::Offset,
            Shape::Rewritten => CursorKind::Digest,
            Shape::Database => CursorKind::Watermark,
        }
    }
}

/// Where reading of one file stands, by shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CursorKind {
    /// Bytes consumed (always the end of a whole line), with the parser's state there.
    Offset,
    /// The digest of the whole file when last read: unchanged, nothing to read again.
    Digest,
    /// A place in the database, the reader's own: rows past it are new or changed.
    Watermark,
}

/// A folder the walk looks in for one agent's files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Folder {
    pub agent: Agent,
    pub path: PathBuf,
    /// A folder the user named (`--source`, a variable): missing, it is a warning. A
    /// default folder that is not there is an agent not installed.
    pub named: bool,
}

impl Folder {
    /// The folders `$var` names (a comma list, as `env_paths` reads it), else `default`:
    /// the shape of an agent whose one variable replaces its one default folder.
    pub fn named_or(agent: Agent, var: &str, default: Option<PathBuf>) -> Vec<Folder> {
        match env_paths(var) {
            Some(paths) => paths
                .into_iter()
                .map(|path| Folder {
                    agent,
                    path,
                    named: true,
                })
                .collect(),
            None => default
                .map(|path| Folder {
                    agent,
                    path,
                    named: false,
                })
                .into_iter()
                .collect(),
        }
    }

    /// The reader of the databases in this folder, if its agent keeps one: such a folder
    /// is looked in for them by name, never walked (it holds the agent's other files,
    /// OpenCode's git snapshots among them).
    pub fn database(&self) -> Option<&'static dyn database::DatabaseReader> {
        of(self.agent)?
            .database()
            .filter(|reader| reader.holds_databases(&self.path))
    }
}

/// One agent's source: see the module doc.
pub trait Source: Sync {
    fn agent(&self) -> Agent;
    fn shape(&self) -> Shape;
    /// The folders to look in; Claude Code's follow `claude` (its roots, from `--source`,
    /// `CLAUDE_CONFIG_DIR` or the defaults).
    fn folders(&self, claude: &Roots) -> Vec<Folder>;
    /// (project, session) of the file at `path`, `relative` being its path below its
    /// folder.
    fn names(&self, relative: &Path, path: &Path) -> (String, String);
    /// A parser for one file, at its start.
    fn parser(&self) -> Box<dyn LineParser>;
    /// Whether the file `name` in the folder `dir` is one of this agent's logs: the walk
    /// and the watchers look at nothing else. `*.jsonl` unless the source says more.
    fn reads(&self, _dir: &Path, name: &OsStr) -> bool {
        Path::new(name).extension() == Some(OsStr::new("jsonl"))
    }
    /// The shape of the file at `path`: the source's, unless its agent writes two
    /// (Gemini CLI's legacy `.json` documents beside its `.jsonl` logs).
    fn shape_of(&self, _path: &Path) -> Shape {
        self.shape()
    }
    /// The parser of its `Rewritten` files (see `shape_of`), if it has any.
    fn documents(&self) -> Option<&dyn rewritten::DocumentParser> {
        None
    }
    /// The reader of a `Shape::Database` source's databases (see `Folder::database`).
    fn database(&self) -> Option<&dyn database::DatabaseReader> {
        None
    }
}

/// Turns one file's lines into records, in order.
pub trait LineParser {
    /// Continues from `state`, what `take_state` gave after the cursor's last line.
    fn resume(&mut self, state: &str) -> Result<()>;
    /// Reads one line (without its `\n`).
    fn line(&mut self, line: &[u8]) -> Parsed;
    /// The state after the last line read, if it changed since last taken: stored with
    /// the cursor. A parser at a file's start has changed (its state is the empty one).
    fn take_state(&mut self) -> Option<String>;
    /// The responses after the first of a line that holds several (Copilot's
    /// `session.shutdown`, one per model): asked right after `line` gave its first as
    /// `Parsed::Billable`.
    fn take_more(&mut self) -> Vec<Record> {
        Vec::new()
    }
    /// The rate-limit windows the lines read since last asked reported.
    fn take_limits(&mut self) -> Vec<RateLimit> {
        Vec::new()
    }
}

/// Every source, in the order a pass reads them.
pub fn all() -> [&'static dyn Source; 15] {
    [
        &claude::CLAUDE,
        &codex::CODEX,
        &gemini::GEMINI,
        &qwen::QWEN,
        &amp::AMP,
        &copilot::COPILOT,
        &opencode::OPENCODE,
        &droid::DROID,
        &kilo::KILO,
        &codebuff::CODEBUFF,
        &hermes::HERMES,
        &kimi::KIMI,
        &pi::PI,
        &openclaw::OPENCLAW,
        &goose::GOOSE,
    ]
}

/// The source of `agent`'s files; `None` for an agent read by a later version.
pub fn of(agent: Agent) -> Option<&'static dyn Source> {
    all().into_iter().find(|s| s.agent() == agent)
}

/// Whether the file `name` in `dir` is a log file of `agent`'s: the one rule for the walk
/// and the watchers.
pub fn reads(agent: Agent, dir: &Path, name: &OsStr) -> bool {
    of(agent).is_some_and(|source| source.reads(dir, name))
}

/// Whether the file at `path` is a log file of any agent's (a watcher's first look,
/// before it knows the folder).
pub fn any_reads(path: &Path) -> bool {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return false;
    };
    all().iter().any(|source| source.reads(dir, name))
}

/// Every folder of every source.
pub fn folders(claude: &Roots) -> Vec<Folder> {
    all().iter().flat_map(|s| s.folders(claude)).collect()
}

/// The text of a line a parser wants. A line with broken bytes is damaged, however
/// little: skipped like any other, so the totals agree with every other reader of the
/// same files. serde does not check the strings it skips, so the line is checked whole,
/// first, with SIMD; serde then reads it as text and checks no string again.
pub fn line_text(line: &[u8]) -> Result<&str, Parsed> {
    simdutf8::basic::from_utf8(line).map_err(|_| Parsed::Skipped("invalid UTF-8".to_string()))
}

/// A line's text (`line_text`) read as `T`, or why the line is skipped.
pub fn text_json<'a, T: serde::Deserialize<'a>>(text: &'a str) -> Result<T, Parsed> {
    serde_json::from_str(text).map_err(|err| Parsed::Skipped(format!("invalid JSON: {err}")))
}

/// `$NAME` as a comma list of paths (`~` expanded), the way ccusage reads its agents'
/// variables; `None` if unset or empty.
pub fn env_paths(name: &str) -> Option<Vec<PathBuf>> {
    let list = std::env::var_os(name).filter(|v| !v.is_empty())?;
    let paths: Vec<PathBuf> = list
        .to_string_lossy()
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(crate::paths::expand_tilde)
        .collect();
    (!paths.is_empty()).then_some(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_source_is_found_by_its_agent() {
        for source in all() {
            assert_eq!(of(source.agent()).map(|s| s.agent()), Some(source.agent()));
        }
    }
}
