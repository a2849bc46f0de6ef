//! Droid (Factory's CLI): `${DROID_SESSIONS_DIR:-~/.factory/sessions}` (a comma list, the
//! variable ccusage reads: Droid itself has none), where each session keeps
//! `<working directory, dashed>/<session id>.jsonl`, its transcript, and beside it
//! `<session id>.settings.json`, a small JSON document Droid rewrites whole as the session
//! goes on: the *whole file rewritten* shape (`rewritten`).
//!
//! The transcript holds no token counts; the settings hold the session's usage so far,
//! cumulative: `{model, providerLock, providerLockTimestamp, tokenUsage: {inputTokens,
//! outputTokens, cacheCreationTokens, cacheReadTokens, thinkingTokens}}` (Anthropic's
//! meanings, cache apart from input). So a session is one response to the ledger, keyed
//! by its id: a settings file read again with more usage replaces the row (the dedup
//! rules' rule 1, the larger copy wins), and a copy of the file in another folder (an
//! archive) adds nothing. Its time is `providerLockTimestamp` (when the session first
//! called its provider), else the file's mtime when read, as ccusage dates it: a session
//! that runs past midnight is counted on the day it started.
//!
//! Thinking tokens are billed as output: added to output, and kept apart as reasoning
//! for display (as OpenCode's). A `totalTokens` above the parts bills the rest as output
//! (ccusage's rule). The model is Droid's label normalized as ccusage does
//! (`custom:Claude-Opus-4.5-[Anthropic]` → `claude-opus-4-5`); a file without one takes
//! it from the first `Model: …` of its transcript's first lines, else stays unknown.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::model::Agent;
use crate::model::{Record, Tokens, line_time};
use crate::sources::claude::roots::Roots;
use crate::sources::rewritten::{DocumentParser, ReadWhole};
use crate::sources::{Folder, LineParser, Shape, Source};

pub struct Droid;

pub static DROID: Droid = Droid;

/// The variable ccusage reads for Droid's sessions folder.
pub const SESSIONS_VAR: &str = "DROID_SESSIONS_DIR";

/// What ends the name of a session's settings file.
const SETTINGS: &str = ".settings.json";

/// How much of a transcript is looked through for its model (ccusage's 500 lines), and
/// at most how many bytes of it: a transcript's lines hold whole tool outputs.
const MODEL_LINES: usize = 500;
const MODEL_BYTES: u64 = 1 << 20;

impl Source for Droid {
    fn agent(&self) -> Agent {
        Agent::Droid
    }

    fn shape(&self) -> Shape {
        Shape::Rewritten
    }

    fn folders(&self, _claude: &Roots) -> Vec<Folder> {
        Folder::named_or(
            Agent::Droid,
            SESSIONS_VAR,
            crate::paths::home().map(|home| home.join(".factory/sessions")),
        )
    }

    /// The project is the folder the settings are in (Droid's dashed working directory,
    /// as Claude Code names its projects); the session is the file's name before
    /// `.settings.json`.
    fn names(&self, relative: &Path, path: &Path) -> (String, String) {
        let mut parts = relative.iter();
        let project = match (parts.next(), parts.next()) {
            (Some(folder), Some(_)) => folder.to_string_lossy().into_owned(),
            _ => String::new(),
        };
        (project, session_of(path))
    }

    fn parser(&self) -> Box<dyn LineParser> {
        Box::new(ReadWhole)
    }

    /// `*.settings.json` only: the transcripts beside them hold no usage.
    fn reads(&self, _dir: &Path, name: &OsStr) -> bool {
        name.as_encoded_bytes().ends_with(SETTINGS.as_bytes())
    }

    fn documents(&self) -> Option<&dyn DocumentParser> {
        Some(&DROID)
    }
}

/// The session a settings file is of: its name before `.settings.json`.
fn session_of(path: &Path) -> String {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    name.strip_suffix(SETTINGS).unwrap_or(&name).to_string()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Settings {
    model: Option<String>,
    provider_lock_timestamp: Option<String>,
    token_usage: Option<Usage>,
}

#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Usage {
    input_tokens: u64,
    output_tokens: u64,
    cache_creation_tokens: u64,
    cache_read_tokens: u64,
    thinking_tokens: u64,
    total_tokens: u64,
}

/// One session's settings, its usage so far.
impl DocumentParser for Droid {
    fn records(&self, path: &Path, document: &[u8]) -> Result<Vec<Record>> {
        let settings: Settings = serde_json::from_slice(document).context("not Droid settings")?;
        let Some(usage) = settings.token_usage else {
            return Ok(Vec::new());
        };
        let thinking = usage.thinking_tokens;
        let mut tokens = Tokens {
            input: usage.input_tokens,
            output: usage.output_tokens.saturating_add(thinking),
            cache_write_5m: usage.cache_creation_tokens,
            cache_write_1h: 0,
            cache_read: usage.cache_read_tokens,
        };
        // What `totalTokens` holds beyond the parts was billed, and only output is left.
        tokens.output += usage.total_tokens.saturating_sub(tokens.total());
        if tokens.total() == 0 {
            return Ok(Vec::new());
        }
        let ts_ms = match settings.provider_lock_timestamp.as_deref() {
            Some(text) => line_time(Some(text)).map_err(anyhow::Error::msg)?,
            None => mtime_ms(path)?,
        };
        let model = settings
            .model
            .as_deref()
            .map(normalize_model)
            .filter(|m| !m.is_empty())
            .or_else(|| transcript_model(path));
        let session = session_of(path);
        let record = Record {
            agent: Agent::Droid,
            ts_ms,
            message_id: Some(session.clone()),
            line_session_id: Some(session),
            model,
            tokens,
            reasoning: thinking,
            ..Record::default()
        };
        // The ledger's ranges, as every source's lines pass them (`limits::admit`).
        crate::limits::check(&record).map_err(anyhow::Error::msg)?;
        Ok(vec![record])
    }
}

fn mtime_ms(path: &Path) -> Result<i64> {
    let modified = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .with_context(|| {
            format!(
                "no providerLockTimestamp, and no mtime of {}",
                path.display()
            )
        })?;
    let since = modified
        .duration_since(std::time::UNIX_EPOCH)
        .context("an mtime before 1970")?;
    Ok(since.as_millis().try_into().unwrap_or(i64::MAX))
}

/// The model the session's transcript names (`Model: <label>` in its first lines), for
/// settings that name none.
fn transcript_model(settings: &Path) -> Option<String> {
    let transcript = settings.with_file_name(format!("{}.jsonl", session_of(settings)));
    let file = std::fs::File::open(transcript).ok()?;
    BufReader::new(file.take(MODEL_BYTES))
        .lines()
        .take(MODEL_LINES)
        .map_while(Result::ok)
        .find_map(|line| {
            let label = line.split_once("Model:")?.1;
            let label = label.split(['"', '\\', '[']).next()?.trim();
            Some(normalize_model(label)).filter(|m| !m.is_empty())
        })
}

/// Droid's model label as ccusage names it: no `custom:` prefix nor `[…]` parts, lower
/// case, `.` and blanks as single dashes, no dash at either end.
pub fn normalize_model(label: &str) -> String {
    let label = label.strip_prefix("custom:").unwrap_or(label);
    let mut depth = 0u32;
    let mut out = String::with_capacity(label.len());
    for c in label.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            _ if depth > 0 => {}
            c if c == '.' || c == '-' || c.is_whitespace() => {
                if !out.ends_with('-') {
                    out.push('-');
                }
            }
            c => out.extend(c.to_lowercase()),
        }
    }
    out.trim_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_normalized_as_ccusage_names_them() {
        assert_eq!(
            normalize_model("custom:Claude-Opus-4.5-Thinking-[Anthropic]-0"),
            "claude-opus-4-5-thinking-0"
        );
        assert_eq!(
            normalize_model("Claude-Sonnet-4-[Anthropic]"),
            "claude-sonnet-4"
        );
        assert_eq!(normalize_model("gemini-2.5-pro"), "gemini-2-5-pro");
    }

    #[test]
    fn a_session_is_one_record_keyed_by_its_file_with_thinking_as_output() {
        let path = Path::new("/x/-home-u-app/abc.settings.json");
        let doc = br#"{"model":"claude-sonnet-4-5-20250929","providerLock":"anthropic",
            "providerLockTimestamp":"2026-05-01T01:02:03.000Z",
            "tokenUsage":{"inputTokens":100,"outputTokens":50,"cacheCreationTokens":20,
            "cacheReadTokens":10,"thinkingTokens":5}}"#;
        let records = DROID.records(path, doc).unwrap();
        assert_eq!(records.len(), 1);
        let r = &records[0];
        assert_eq!(r.message_id.as_deref(), Some("abc"));
        assert_eq!((r.tokens.input, r.tokens.output, r.reasoning), (100, 55, 5));
        assert_eq!((r.tokens.cache_write_5m, r.tokens.cache_read), (20, 10));
        let empty = br#"{"model":"gpt-5","tokenUsage":{"inputTokens":0}}"#;
        assert!(DROID.records(path, empty).unwrap().is_empty());
        let total = br#"{"providerLockTimestamp":"2026-05-01T00:00:00Z","tokenUsage":{"inputTokens":1,"totalTokens":456}}"#;
        assert_eq!(DROID.records(path, total).unwrap()[0].tokens.output, 455);
    }
}
