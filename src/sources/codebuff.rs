//! Codebuff (formerly Manicode): `~/.config/<channel>/projects/<project>/chats/<chat id>/
//! chat-messages.json`, the channels `manicode`, `manicode-dev` and `manicode-staging`
//! (`CODEBUFF_DATA_DIR`, a comma list of channel folders or of their `projects/`, the
//! variable ccusage reads: Codebuff itself has none). The CLI writes the file whole after
//! each turn (its `cli/src/utils/run-state-storage.ts`, `saveChatState`): the *whole file
//! rewritten* shape (`rewritten`). The chat id is the time the chat began, `:` written
//! as `-` (`2026-01-02T03-04-05.000Z`).
//!
//! The file is a JSON array of the CLI's `ChatMessage`s (`cli/src/types/chat.ts`): `{id,
//! variant: "ai"|"user"|"agent"|"error", content, timestamp, credits?, metadata?:
//! {runState?}}`. What a reply billed is its `credits`, Codebuff's own figure, kept
//! beside the tokens as Amp's credits are. Its tokens are read where ccusage 20.0.24
//! reads them (`adapter/codebuff/parser.rs`; Codebuff's types say nothing of them):
//! `metadata.usage`, then `metadata.codebuff.usage`, then the usage on the provider
//! options of the latest assistant entries of `metadata.runState`'s main-agent history,
//! each count taken from the first of these that has it; under any of the spellings
//! ccusage knows (`inputTokens`, `input_tokens`, `promptTokens`, …). Their meanings are
//! Anthropic's (cache apart from input); a total above the parts bills the rest as
//! output (ccusage's rule).
//!
//! A reply is keyed by its project, chat and id (else its place in the chat: messages are only
//! added), so a chat read again adds nothing and a reply whose usage grew replaces its
//! row. A reply with credits and no tokens is a row of 0 tokens, as ccusage counts it. Its
//! time is its `timestamp` (else `createdAt`, `metadata.timestamp`), else the chat's id,
//! else the file's mtime.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::{Map, Value};

use crate::model::Agent;
use crate::model::{Record, Tokens, line_time};
use crate::sources::claude::roots::Roots;
use crate::sources::rewritten::{DocumentParser, ReadWhole};
use crate::sources::{Folder, LineParser, Shape, Source, env_paths};

pub struct Codebuff;

pub static CODEBUFF: Codebuff = Codebuff;

/// The variable ccusage reads for Codebuff's channel folders.
pub const DATA_VAR: &str = "CODEBUFF_DATA_DIR";

/// Codebuff's release channels, each its own folder in `~/.config`.
const CHANNELS: [&str; 3] = ["manicode", "manicode-dev", "manicode-staging"];

/// The file a chat's messages are in.
const MESSAGES: &str = "chat-messages.json";

impl Source for Codebuff {
    fn agent(&self) -> Agent {
        Agent::Codebuff
    }

    fn shape(&self) -> Shape {
        Shape::Rewritten
    }

    fn folders(&self, _claude: &Roots) -> Vec<Folder> {
        let (roots, named) = match env_paths(DATA_VAR) {
            Some(roots) => (roots, true),
            None => {
                let config = crate::paths::home().map(|h| h.join(".config"));
                let roots = config
                    .map(|c| CHANNELS.iter().map(|ch| c.join(ch)).collect())
                    .unwrap_or_default();
                (roots, false)
            }
        };
        roots
            .into_iter()
            .map(|root| Folder {
                agent: Agent::Codebuff,
                path: projects_of(root),
                named,
            })
            .collect()
    }

    /// `<project>/chats/<chat id>/chat-messages.json`: the project's folder name, and the
    /// chat.
    fn names(&self, relative: &Path, _path: &Path) -> (String, String) {
        let parts: Vec<String> = relative
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        match parts.as_slice() {
            [project, .., chat, _] => (project.clone(), chat.clone()),
            _ => (String::new(), String::new()),
        }
    }

    fn parser(&self) -> Box<dyn LineParser> {
        Box::new(ReadWhole)
    }

    /// `chat-messages.json` only (a chat's folder also holds its `run-state.json`).
    fn reads(&self, _dir: &Path, name: &OsStr) -> bool {
        name == MESSAGES
    }

    fn documents(&self) -> Option<&dyn DocumentParser> {
        Some(&CODEBUFF)
    }
}

/// A channel folder's `projects/`, or the folder itself if it is one.
fn projects_of(root: PathBuf) -> PathBuf {
    match root.file_name() == Some(OsStr::new("projects")) {
        true => root,
        false => root.join("projects"),
    }
}

/// One chat's messages.
impl DocumentParser for Codebuff {
    fn records(&self, path: &Path, document: &[u8]) -> Result<Vec<Record>> {
        let messages: Value = serde_json::from_slice(document).context("not a JSON document")?;
        let messages = messages
            .as_array()
            .context("not a chat's messages (an array)")?;
        // `<project>/chats/<chat>/`: a chat's id is its start time, so the project too
        // keys its replies.
        let name = |up: usize| {
            path.ancestors()
                .nth(up)
                .and_then(Path::file_name)
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        let (project, chat) = (name(3), name(1));
        let chat_ms = chat_time(&chat);
        let mut file_ms = None;
        let mut records = Vec::new();
        for (at, message) in messages.iter().enumerate() {
            let Some(message) = message.as_object().filter(|m| is_reply(m)) else {
                continue;
            };
            let usage = usage_of(message);
            let credits = [number(message.get("credits")), usage.credits]
                .into_iter()
                .find(|c| *c > 0.0);
            if usage.tokens.total() == 0 && credits.is_none() {
                continue;
            }
            let ts_ms = match message_time(message).or(chat_ms) {
                Some(ts_ms) => ts_ms,
                None => *file_ms.get_or_insert(mtime_ms(path)?),
            };
            let id = match text(message.get("id")) {
                Some(id) => id.to_string(),
                None => format!("#{at}"),
            };
            let record = Record {
                agent: Agent::Codebuff,
                ts_ms,
                message_id: Some(format!("{project}/{chat}:{id}")),
                model: usage.model,
                tokens: usage.tokens,
                credits,
                ..Record::default()
            };
            // The ledger's ranges, as every source's lines pass them (`limits::admit`):
            // a reply out of them is left out, not the chat.
            match crate::limits::check(&record) {
                Ok(()) => records.push(record),
                Err(why) => log::warn!("{}: reply {id}: {why}; not counted", path.display()),
            }
        }
        Ok(records)
    }
}

/// What Codebuff writes for a reply: an `ai` (or `agent`) message; other tools' exports
/// say `assistant`, in `variant` or `role`.
fn is_reply(message: &Map<String, Value>) -> bool {
    let kind = text(message.get("variant")).or_else(|| text(message.get("role")));
    matches!(kind, Some("ai" | "agent" | "assistant"))
}

/// A reply's usage, gathered as the module doc says.
#[derive(Default)]
struct Usage {
    tokens: Tokens,
    credits: f64,
    model: Option<String>,
}

impl Usage {
    /// Each count (and the model, the credits) this one lacks, from `other`.
    fn or(mut self, other: Usage) -> Usage {
        let fill = |mine: &mut u64, theirs: u64| {
            if *mine == 0 {
                *mine = theirs;
            }
        };
        fill(&mut self.tokens.input, other.tokens.input);
        fill(&mut self.tokens.output, other.tokens.output);
        fill(&mut self.tokens.cache_write_5m, other.tokens.cache_write_5m);
        fill(&mut self.tokens.cache_read, other.tokens.cache_read);
        if self.credits <= 0.0 {
            self.credits = other.credits;
        }
        self.model = self.model.or(other.model);
        self
    }
}

fn usage_of(message: &Map<String, Value>) -> Usage {
    let Some(metadata) = message.get("metadata").and_then(Value::as_object) else {
        return Usage::default();
    };
    let mut usage = Usage {
        model: text(metadata.get("model")).map(str::to_string),
        ..Usage::default()
    };
    usage = usage.or(counts(metadata.get("usage")));
    usage = usage.or(counts(
        metadata.get("codebuff").and_then(|c| c.get("usage")),
    ));
    let history = metadata
        .get("runState")
        .and_then(|r| r.pointer("/sessionState/mainAgentState/messageHistory"))
        .and_then(Value::as_array);
    for entry in history.into_iter().flatten().rev() {
        if text(entry.get("role")) != Some("assistant") {
            continue;
        }
        let Some(options) = entry.get("providerOptions") else {
            continue;
        };
        let codebuff = options.get("codebuff");
        let mut step =
            counts(options.get("usage")).or(counts(codebuff.and_then(|c| c.get("usage"))));
        step.model = text(codebuff.and_then(|c| c.get("model")))
            .map(str::to_string)
            .or(step.model);
        usage = usage.or(step);
    }
    usage
}

/// One usage object, in any of the spellings ccusage reads.
fn counts(value: Option<&Value>) -> Usage {
    let Some(usage) = value.and_then(Value::as_object) else {
        return Usage::default();
    };
    let pick = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| usage.get(*k).and_then(Value::as_u64).filter(|n| *n > 0))
            .unwrap_or(0)
    };
    let nested = |object: &str, key: &str| {
        usage
            .get(object)
            .and_then(|o| o.get(key))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    let mut tokens = Tokens {
        input: pick(&[
            "inputTokens",
            "input_tokens",
            "promptTokens",
            "prompt_tokens",
        ]),
        output: pick(&[
            "outputTokens",
            "output_tokens",
            "completionTokens",
            "completion_tokens",
        ]),
        cache_write_5m: pick(&[
            "cacheCreationInputTokens",
            "cache_creation_input_tokens",
            "cacheCreationTokens",
            "cache_creation_tokens",
            "cachedTokensCreated",
            "cached_tokens_created",
        ]),
        cache_write_1h: 0,
        cache_read: pick(&["cacheReadInputTokens", "cache_read_input_tokens"])
            .max(nested("promptTokensDetails", "cachedTokens"))
            .max(nested("prompt_tokens_details", "cached_tokens")),
    };
    // What a total holds beyond the parts was billed, and only output is left.
    let total = pick(&["totalTokens", "total_tokens", "total"]);
    tokens.output = tokens
        .output
        .saturating_add(total.saturating_sub(tokens.total()));
    Usage {
        tokens,
        credits: number(usage.get("credits")),
        model: text(usage.get("model")).map(str::to_string),
    }
}

fn text(value: Option<&Value>) -> Option<&str> {
    value
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn number(value: Option<&Value>) -> f64 {
    value
        .and_then(Value::as_f64)
        .filter(|n| n.is_finite() && *n > 0.0)
        .unwrap_or(0.0)
}

/// A reply's own time: an RFC 3339 text, or a number of seconds or milliseconds.
fn message_time(message: &Map<String, Value>) -> Option<i64> {
    let metadata = message.get("metadata");
    [
        message.get("timestamp"),
        message.get("createdAt"),
        metadata.and_then(|m| m.get("timestamp")),
    ]
    .into_iter()
    .flatten()
    .find_map(|value| match value {
        Value::String(s) => line_time(Some(s)).ok(),
        Value::Number(n) => {
            let n = n.as_i64().filter(|n| *n > 0)?;
            // Seconds until the year 2286, milliseconds after.
            if n < 10_000_000_000 {
                n.checked_mul(1000)
            } else {
                Some(n)
            }
        }
        _ => None,
    })
}

/// The time a chat's id names (`2026-01-02T03-04-05.000Z`: the time with `:` as `-`).
fn chat_time(chat: &str) -> Option<i64> {
    let (date, time) = chat.split_once('T')?;
    let time = time.replacen('-', ":", 2);
    line_time(Some(&format!("{date}T{time}"))).ok()
}

fn mtime_ms(path: &Path) -> Result<i64> {
    let modified = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .with_context(|| format!("no time for a reply, and no mtime of {}", path.display()))?;
    let since = modified
        .duration_since(std::time::UNIX_EPOCH)
        .context("an mtime before 1970")?;
    Ok(since.as_millis().try_into().unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chats_id_is_its_start_time() {
        let ms = chat_time("2026-01-02T03-04-05.000Z").unwrap();
        assert_eq!(ms, line_time(Some("2026-01-02T03:04:05Z")).unwrap());
        assert_eq!(chat_time("not-a-time"), None);
    }

    #[test]
    fn counts_come_from_the_first_place_that_has_them() {
        let doc = br#"[
            {"id":"u1","variant":"user","content":"hi","timestamp":"2026-01-02T03:04:06.000Z"},
            {"id":"a1","variant":"ai","timestamp":"2026-01-02T03:04:09.000Z","credits":1.5,
             "metadata":{"usage":{"inputTokens":10},"codebuff":{"usage":{"inputTokens":99,"output_tokens":4}},
               "runState":{"sessionState":{"mainAgentState":{"messageHistory":[
                 {"role":"assistant","providerOptions":{"codebuff":{"model":"m-old","usage":{"cacheReadInputTokens":5}}}},
                 {"role":"assistant","providerOptions":{"usage":{"promptTokensDetails":{"cachedTokens":7}},"codebuff":{"model":"m"}}}
               ]}}}}},
            {"variant":"ai","credits":0.25,"timestamp":1767323050}
        ]"#;
        let path = Path::new("/p/projects/app/chats/2026-01-02T03-04-05.000Z/chat-messages.json");
        let records = CODEBUFF.records(path, doc).unwrap();
        assert_eq!(records.len(), 2);
        let a1 = &records[0];
        assert_eq!(
            a1.message_id.as_deref(),
            Some("app/2026-01-02T03-04-05.000Z:a1")
        );
        assert_eq!(
            (a1.tokens.input, a1.tokens.output, a1.tokens.cache_read),
            (10, 4, 7)
        );
        assert_eq!((a1.model.as_deref(), a1.credits), (Some("m"), Some(1.5)));
        // Credits alone: a row of no tokens; no id: its place.
        let second = &records[1];
        assert_eq!(second.tokens.total(), 0);
        assert_eq!(second.credits, Some(0.25));
        assert!(second.message_id.as_deref().unwrap().ends_with(":#2"));
        assert_eq!(second.ts_ms, 1_767_323_050_000);
    }
}
