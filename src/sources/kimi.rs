//! Kimi CLI: `<share dir>/sessions/<work dir hash>/<session id>/wire.jsonl`, the share
//! dir being `KIMI_SHARE_DIR` as Kimi CLI reads it, else `KIMI_DATA_DIR` (ccusage's comma
//! list of such dirs), else `~/.kimi`.
//!
//! A wire file is the session's every UI event, appended one a line (`{"timestamp":
//! <epoch seconds>, "message": {"type", "payload"}}`, after a `{"type": "metadata"}`
//! header; see `fixtures/README.md` for where the format comes from). Usage is the
//! `token_usage` of a `StatusUpdate`, sent once per model step with the step's
//! `message_id`: `input_other` (input without its cached part), `output`,
//! `input_cache_read` and `input_cache_creation`, Anthropic's meanings. Other
//! `StatusUpdate`s (plan mode, context after `/compact`) carry no usage.
//!
//! A subagent writes its steps to its own `subagents/<agent id>/wire.jsonl` (since Kimi
//! CLI of 2026-03-23), and its parent's wire repeats each one wrapped in a
//! `SubagentEvent` (the only copy before then). Both are read, the wrapped ones unwrapped,
//! and counted once by their `message_id`.
//!
//! `/fork` starts a session whose wire is the parent's lines copied verbatim: each step is
//! keyed by its `message_id` (else its timestamp, which a copy repeats) in the ledger's
//! dedup index, so a copied step counts once.
//!
//! The wire names no model, and Kimi CLI's config names today's, not the session's: the
//! rows are listed as `kimi-for-coding`, the model `kimi login` sets up (as ccusage lists
//! them). The project is the work dir's hash folder, the session its folder. The parser
//! keeps no state.

use std::borrow::Cow;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use anyhow::Result;
use memchr::memmem;
use serde::Deserialize;

use crate::model::Agent;
use crate::model::{Parsed, Record, Tokens};
use crate::sources::claude::roots::Roots;
use crate::sources::{Folder, LineParser, Shape, Source, env_paths, line_text, text_json};

pub struct Kimi;

pub static KIMI: Kimi = Kimi;

/// The variable Kimi CLI reads for its share dir.
pub const SHARE_VAR: &str = "KIMI_SHARE_DIR";

/// ccusage's variable: a comma list of Kimi share dirs.
pub const DATA_VAR: &str = "KIMI_DATA_DIR";

/// The model every Kimi row is listed under (see the module doc).
pub const MODEL: &str = "kimi-for-coding";

/// The one file of a session folder that is read.
const WIRE: &str = "wire.jsonl";

impl Source for Kimi {
    fn agent(&self) -> Agent {
        Agent::Kimi
    }

    fn shape(&self) -> Shape {
        Shape::AppendOnly
    }

    fn folders(&self, _claude: &Roots) -> Vec<Folder> {
        let dirs = [SHARE_VAR, DATA_VAR]
            .iter()
            .find_map(|var| env_paths(var))
            .unwrap_or_else(|| {
                crate::paths::home()
                    .map(|h| vec![h.join(".kimi")])
                    .unwrap_or_default()
            });
        // A share dir without sessions yet is usual (a config only): no warning.
        dirs.into_iter()
            .map(|dir: PathBuf| Folder {
                agent: Agent::Kimi,
                path: dir.join("sessions"),
                named: false,
            })
            .collect()
    }

    /// A session's `wire.jsonl`, and its subagents' (not `context.jsonl` beside them).
    fn reads(&self, _dir: &Path, name: &OsStr) -> bool {
        name == WIRE
    }

    fn names(&self, relative: &Path, _path: &Path) -> (String, String) {
        let mut parts = relative.iter().map(|p| p.to_string_lossy().into_owned());
        let project = parts.next().unwrap_or_default();
        let session = parts.next().unwrap_or_default();
        (project, session)
    }

    fn parser(&self) -> Box<dyn LineParser> {
        Box::new(Lines)
    }
}

/// A wire file's lines, each read alone.
struct Lines;

static USAGE_KEY: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new(b"\"token_usage\""));

#[derive(Deserialize)]
struct RawLine<'a> {
    timestamp: Option<f64>,
    #[serde(borrow)]
    message: Option<RawMessage<'a>>,
}

/// A wire message: `{"type", "payload"}`; a `SubagentEvent`'s payload holds another.
#[derive(Deserialize)]
struct RawMessage<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    payload: Option<RawPayload<'a>>,
}

#[derive(Deserialize)]
struct RawPayload<'a> {
    token_usage: Option<RawUsage>,
    #[serde(borrow)]
    message_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    event: Option<Box<RawMessage<'a>>>,
}

#[derive(Deserialize)]
struct RawUsage {
    #[serde(default)]
    input_other: u64,
    #[serde(default)]
    output: u64,
    #[serde(default)]
    input_cache_read: u64,
    #[serde(default)]
    input_cache_creation: u64,
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
        match line_text(line).and_then(text_json::<RawLine<'_>>) {
            Ok(raw) => record(raw),
            Err(skipped) => skipped,
        }
    }

    fn take_state(&mut self) -> Option<String> {
        None
    }
}

/// The `StatusUpdate` a message is, or wraps through `SubagentEvent`s.
fn status_update<'m, 'a>(message: &'m RawMessage<'a>) -> Option<&'m RawPayload<'a>> {
    let payload = message.payload.as_ref()?;
    match message.kind.as_deref()? {
        "StatusUpdate" => Some(payload),
        "SubagentEvent" => status_update(payload.event.as_deref()?),
        _ => None,
    }
}

fn record(raw: RawLine<'_>) -> Parsed {
    let Some(payload) = raw.message.as_ref().and_then(status_update) else {
        return Parsed::Other;
    };
    let Some(usage) = &payload.token_usage else {
        return Parsed::Other;
    };
    let tokens = Tokens {
        input: usage.input_other,
        output: usage.output,
        cache_write_5m: usage.input_cache_creation,
        cache_read: usage.input_cache_read,
        ..Tokens::default()
    };
    if tokens.total() == 0 {
        return Parsed::Other;
    }
    let Some(seconds) = raw.timestamp else {
        return Parsed::Skipped("billable line without a timestamp".to_string());
    };
    let Some(ts_ms) = epoch_ms(seconds) else {
        return Parsed::Skipped(format!("timestamp {seconds} is not a time"));
    };
    // A step without an id is keyed by its time: a fork's copy of it repeats that too.
    let message_id = payload
        .message_id
        .as_deref()
        .filter(|id| !id.is_empty())
        .map_or_else(|| format!("kimi-step@{seconds}"), str::to_string);
    Parsed::Billable(Box::new(Record {
        agent: Agent::Kimi,
        ts_ms,
        model: Some(MODEL.to_string()),
        message_id: Some(message_id),
        tokens,
        ..Record::default()
    }))
}

/// Epoch seconds (a float, as Python's `time.time()` writes them) in whole milliseconds,
/// truncated as ccusage does; `None` for what is no time at all (the range is
/// `limits::check`'s).
fn epoch_ms(seconds: f64) -> Option<i64> {
    let ms = (seconds * 1000.0).trunc();
    (ms.is_finite() && ms.abs() < 9.0e15).then_some(ms as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Parsed {
        Lines.line(line.as_bytes())
    }

    fn billable(line: &str) -> Record {
        match parse(line) {
            Parsed::Billable(r) => *r,
            other => panic!("{other:?}: {line}"),
        }
    }

    #[test]
    fn a_step_status_update_is_one_response_in_anthropics_terms() {
        let row = billable(
            r#"{"timestamp": 1771123711.615454, "message": {"type": "StatusUpdate", "payload": {"context_usage": 0.024, "token_usage": {"input_other": 1508, "output": 205, "input_cache_read": 4864, "input_cache_creation": 7}, "message_id": "chatcmpl-2tNw"}}}"#,
        );
        assert_eq!(
            row.tokens,
            Tokens {
                input: 1_508,
                output: 205,
                cache_write_5m: 7,
                cache_read: 4_864,
                ..Tokens::default()
            }
        );
        assert_eq!(row.ts_ms, 1_771_123_711_615);
        assert_eq!(row.message_id.as_deref(), Some("chatcmpl-2tNw"));
        assert_eq!(row.model.as_deref(), Some(MODEL));
    }

    #[test]
    fn a_subagents_step_is_unwrapped_from_its_event() {
        let row = billable(
            r#"{"timestamp": 1771123800.5, "message": {"type": "SubagentEvent", "payload": {"parent_tool_call_id": "tool_1", "agent_id": "a1", "subagent_type": "coder", "event": {"type": "StatusUpdate", "payload": {"token_usage": {"input_other": 10, "output": 2, "input_cache_read": 0, "input_cache_creation": 0}, "message_id": "chatcmpl-sub"}}}}}"#,
        );
        assert_eq!((row.tokens.input, row.tokens.output), (10, 2));
        assert_eq!(row.message_id.as_deref(), Some("chatcmpl-sub"));
    }

    #[test]
    fn status_updates_without_usage_and_other_events_are_not_billable() {
        for line in [
            r#"{"type": "metadata", "protocol_version": "1.3"}"#,
            r#"{"timestamp": 1.0, "message": {"type": "StatusUpdate", "payload": {"plan_mode": true}}}"#,
            r#"{"timestamp": 1.0, "message": {"type": "StatusUpdate", "payload": {"token_usage": null, "message_id": null}}}"#,
            r#"{"timestamp": 1.0, "message": {"type": "StatusUpdate", "payload": {"token_usage": {"input_other": 0, "output": 0, "input_cache_read": 0, "input_cache_creation": 0}}}}"#,
            r#"{"timestamp": 1.0, "message": {"type": "ToolResult", "payload": {"token_usage": {"input_other": 5, "output": 5}}}}"#,
        ] {
            assert_eq!(parse(line), Parsed::Other, "{line}");
        }
        assert!(matches!(
            parse(
                r#"{"timestamp": 1.0, "message": {"type": "StatusUpdate", "payload": {"token_usage": {"input_other": -5}}}}"#
            ),
            Parsed::Skipped(_)
        ));
    }

    #[test]
    fn a_step_without_an_id_is_keyed_by_its_time() {
        let line = r#"{"timestamp": 1771123711.25, "message": {"type": "StatusUpdate", "payload": {"token_usage": {"input_other": 1, "output": 1}}}}"#;
        assert_eq!(
            billable(line).message_id.as_deref(),
            Some("kimi-step@1771123711.25")
        );
    }

    #[test]
    fn wires_are_read_and_a_subagents_belong_to_its_session() {
        let session = Path::new("/k/sessions/0a1b/5f2e");
        assert!(KIMI.reads(session, OsStr::new("wire.jsonl")));
        assert!(!KIMI.reads(session, OsStr::new("context.jsonl")));
        for relative in ["0a1b/5f2e/wire.jsonl", "0a1b/5f2e/subagents/a1/wire.jsonl"] {
            assert_eq!(
                KIMI.names(Path::new(relative), Path::new("/x")),
                ("0a1b".to_string(), "5f2e".to_string())
            );
        }
    }
}
