//! Qwen Code: `<runtime dir>/projects/<project>/chats/<session id>.jsonl`, the runtime
//! dir being `QWEN_RUNTIME_DIR`, else `QWEN_HOME`, else `~/.qwen`, as Qwen Code reads them
//! (else `QWEN_DATA_DIR`, ccusage's comma list of such dirs). Archived sessions
//! (`chats/archive/`) are read too: the ledger keeps what the agent moves away.
//!
//! One record a line (see `fixtures/README.md` for where the format comes from); usage is
//! the `usageMetadata` of `assistant` records, Gemini's `usageMetadata` (read by
//! `gemini::UsageMetadata`: the prompt includes the cached tokens, and the total says
//! whether the thoughts are inside the candidates). Telemetry records (`system`,
//! `ui_telemetry`) repeat the same counts and are not read.
//!
//! `/branch` starts a session with copies of its parent's records, verbatim but for the
//! session id and each marked `forkedFrom`: every record is keyed by its `uuid` in the
//! ledger's dedup index, and a copy is a side chain under its parent session's id, so it
//! never outranks the original (the dedup rules' rule 2) and counts once, in the
//! session where it happened.
//!
//! The project is the folder below `projects/` (the working directory with every
//! character but letters and digits as `-`, as Claude Code's), the session the file's.
//! The parser keeps no state.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use anyhow::Result;
use memchr::memmem;
use serde::Deserialize;

use crate::model::Agent;
use crate::model::{Parsed, Record, line_time};
use crate::sources::claude::roots::Roots;
use crate::sources::gemini::UsageMetadata;
use crate::sources::{Folder, LineParser, Shape, Source, env_paths, line_text, text_json};

pub struct Qwen;

pub static QWEN: Qwen = Qwen;

/// The variables Qwen Code reads for the dir its sessions are in, the one it prefers
/// first.
pub const RUNTIME_VARS: [&str; 2] = ["QWEN_RUNTIME_DIR", "QWEN_HOME"];

/// ccusage's variable: a comma list of Qwen dirs.
pub const DATA_VAR: &str = "QWEN_DATA_DIR";

/// The model of an assistant record that names none: counted, and listed as a model
/// without a price rather than priced as a guess.
pub const NO_MODEL: &str = "qwen-unknown-model";

impl Source for Qwen {
    fn agent(&self) -> Agent {
        Agent::Qwen
    }

    fn shape(&self) -> Shape {
        Shape::AppendOnly
    }

    fn folders(&self, _claude: &Roots) -> Vec<Folder> {
        let from_variable = RUNTIME_VARS
            .iter()
            .chain([&DATA_VAR])
            .find_map(|var| env_paths(var));
        let (dirs, named) = match from_variable {
            Some(dirs) => (dirs, true),
            None => (
                crate::paths::home()
                    .map(|h| vec![h.join(".qwen")])
                    .unwrap_or_default(),
                false,
            ),
        };
        dirs.into_iter()
            .map(|dir: PathBuf| Folder {
                agent: Agent::Qwen,
                path: dir.join("projects"),
                named,
            })
            .collect()
    }

    fn names(&self, relative: &Path, path: &Path) -> (String, String) {
        let project = relative
            .iter()
            .next()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let session = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        (project, session)
    }

    fn parser(&self) -> Box<dyn LineParser> {
        Box::new(Lines)
    }
}

/// A session file's lines, each read alone.
struct Lines;

static USAGE_KEY: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new(b"\"usageMetadata\""));

#[derive(Deserialize)]
struct RawRecord<'a> {
    #[serde(borrow)]
    uuid: Option<Cow<'a, str>>,
    #[serde(borrow)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    model: Option<Cow<'a, str>>,
    #[serde(borrow)]
    cwd: Option<Cow<'a, str>>,
    #[serde(borrow)]
    version: Option<Cow<'a, str>>,
    #[serde(rename = "usageMetadata")]
    usage: Option<RawUsage>,
    #[serde(rename = "forkedFrom", borrow)]
    forked_from: Option<RawFork<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawUsage {
    #[serde(default)]
    prompt_token_count: u64,
    #[serde(default)]
    candidates_token_count: u64,
    #[serde(default)]
    cached_content_token_count: u64,
    #[serde(default)]
    thoughts_token_count: u64,
    #[serde(default)]
    tool_use_prompt_token_count: u64,
    #[serde(default)]
    total_token_count: u64,
}

#[derive(Deserialize)]
struct RawFork<'a> {
    #[serde(rename = "sessionId", borrow)]
    session_id: Option<Cow<'a, str>>,
}

impl LineParser for Lines {
    fn resume(&mut self, _state: &str) -> Result<()> {
        Ok(())
    }

    fn line(&mut self, line: &[u8]) -> Parsed {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if USAGE_KEY.find(line).is_none() {
            return Parsed::Other;
        }
        match line_text(line).and_then(text_json::<RawRecord<'_>>) {
            Ok(raw) => record(raw),
            Err(skipped) => skipped,
        }
    }

    fn take_state(&mut self) -> Option<String> {
        None
    }
}

fn record(raw: RawRecord<'_>) -> Parsed {
    if raw.kind.as_deref() != Some("assistant") {
        return Parsed::Other;
    }
    let Some(usage) = raw.usage else {
        return Parsed::Other;
    };
    let usage = UsageMetadata {
        prompt: usage.prompt_token_count,
        candidates: usage.candidates_token_count,
        cached: usage.cached_content_token_count,
        thoughts: usage.thoughts_token_count,
        tool: usage.tool_use_prompt_token_count,
        total: usage.total_token_count,
    };
    let (tokens, reasoning) = match usage.billed() {
        Ok(Some(billed)) => billed,
        Ok(None) => return Parsed::Other,
        Err(why) => return Parsed::Skipped(why),
    };
    let ts_ms = match line_time(raw.timestamp.as_deref()) {
        Ok(ts_ms) => ts_ms,
        Err(why) => return Parsed::Skipped(why),
    };
    // A `/branch` copy: under its parent session's id, as a side chain.
    let fork = raw
        .forked_from
        .map(|f| f.session_id.map(Cow::into_owned).unwrap_or_default());
    let owned = |field: Option<Cow<'_, str>>| field.map(Cow::into_owned);
    Parsed::Billable(Box::new(Record {
        agent: Agent::Qwen,
        ts_ms,
        cwd: owned(raw.cwd),
        model: Some(
            raw.model
                .filter(|m| !m.is_empty())
                .map_or(NO_MODEL.to_string(), Cow::into_owned),
        ),
        message_id: owned(raw.uuid),
        is_sidechain: fork.is_some(),
        request_id: fork,
        version: owned(raw.version),
        tokens,
        reasoning,
        ..Record::default()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Tokens;

    fn fixture(relative: &str) -> Vec<Record> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/qwen/projects")
            .join(relative);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        text.lines()
            .filter_map(|l| match Lines.line(l.as_bytes()) {
                Parsed::Billable(r) => Some(*r),
                Parsed::Other => None,
                Parsed::Skipped(why) => panic!("{why}: {l}"),
            })
            .collect()
    }

    const PARENT: &str = "-home-dev-app/chats/4c6e8a0c-2e4a-4c6e-8a0c-2e4a6c8e0a21.jsonl";
    const BRANCH: &str = "-home-dev-app/chats/5d7f9b1d-3f5b-4d7f-9b1d-3f5b7d9f1b22.jsonl";

    #[test]
    fn assistant_usage_with_cached_input_apart_and_telemetry_left_out() {
        let rows = fixture(PARENT);
        assert_eq!(
            rows.len(),
            3,
            "lines 3, 5 and 8; not the telemetry of line 2"
        );
        assert_eq!(
            rows[0].tokens,
            Tokens {
                input: 5_000,
                output: 300,
                cache_read: 15_000,
                ..Tokens::default()
            }
        );
        assert_eq!(rows[0].reasoning, 120);
        assert_eq!(rows[0].model.as_deref(), Some("qwen3-coder-plus"));
        // Through Gemini's API the thoughts are on top of the candidates.
        assert_eq!((rows[2].tokens.input, rows[2].tokens.output), (8_000, 160));
        assert!(
            rows.iter()
                .all(|r| !r.is_sidechain && r.request_id.is_none())
        );
    }

    #[test]
    fn branch_copies_are_side_chains_of_the_same_uuids() {
        let parent = fixture(PARENT);
        let branch = fixture(BRANCH);
        assert_eq!(branch.len(), 3);
        for (copy, original) in branch.iter().zip(&parent[..2]) {
            assert_eq!(copy.message_id, original.message_id);
            assert_eq!(copy.tokens, original.tokens);
            assert!(copy.is_sidechain);
            assert_eq!(
                copy.request_id.as_deref(),
                Some("4c6e8a0c-2e4a-4c6e-8a0c-2e4a6c8e0a21")
            );
        }
        let own = &branch[2];
        assert!(!own.is_sidechain);
        assert_eq!(own.tokens.input, 1_000);
    }

    #[test]
    fn a_reply_without_a_model_is_marked_unknown() {
        let line = r#"{"uuid":"u","timestamp":"2026-01-10T10:00:00.000Z","type":"assistant","usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":1,"totalTokenCount":11}}"#;
        let Parsed::Billable(row) = Lines.line(line.as_bytes()) else {
            panic!("billable");
        };
        assert_eq!(row.model.as_deref(), Some(NO_MODEL));
    }

    #[test]
    fn names_are_the_project_folder_and_the_file() {
        let path = Path::new("/q/projects").join(PARENT);
        assert_eq!(
            QWEN.names(Path::new(PARENT), &path),
            (
                "-home-dev-app".to_string(),
                "4c6e8a0c-2e4a-4c6e-8a0c-2e4a6c8e0a21".to_string()
            )
        );
    }
}
