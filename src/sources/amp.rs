//! Amp: `${AMP_DATA_DIR:-~/.local/share/amp}/threads/T-<uuid>.json` (`AMP_DATA_DIR` a
//! comma list, as ccusage reads it), one JSON document per thread that Amp rewrites whole
//! as the thread goes on: the *whole file rewritten* shape (`rewritten`). The ingest reads
//! a thread again only when its size, mtime or inode moved, and never more of it than the
//! line limit (`--max-line-mib`): a larger file is a skipped line, as an over-long line is.
//!
//! Usage is in each assistant message's `usage` (`model`, `timestamp`, `inputTokens`,
//! `outputTokens`, `cacheCreationInputTokens`, `cacheReadInputTokens`, `totalTokens`,
//! `credits`: Anthropic's meanings, cache apart from input). Older threads keep a
//! `usageLedger.events[]` instead (`id`, `timestamp`, `model`, `credits`,
//! `tokens: {input, output, total}`, `toMessageId`), whose cache counts are those of the
//! message the event points to; where the ledger is there it is what is read, as ccusage
//! does. A `totalTokens` above the split counts bills the rest as output (ccusage's rule).
//!
//! Each response is keyed by its thread and Amp's own message (or ledger event) id, so a
//! thread read again adds nothing, a message whose usage grew replaces its row (the dedup
//! rules), and a message that disappears from a later version keeps the row it had. Amp's
//! credits are kept beside the tokens, as their own figure.

use std::ffi::OsStr;
use std::path::Path;

use anyhow::{Context, Result, anyhow};
use serde_json::Value;

use crate::limits::MAX_COUNT;
use crate::model::Agent;
use crate::model::{Record, Tokens, line_time};
use crate::sources::claude::roots::Roots;
use crate::sources::codex::project_of_cwd;
use crate::sources::rewritten::{DocumentParser, ReadWhole};
use crate::sources::{Folder, LineParser, Shape, Source, env_paths};

pub struct Amp;

pub static AMP: Amp = Amp;

/// The variable ccusage reads for Amp's data folder (the one holding `threads/`).
pub const DATA_VAR: &str = "AMP_DATA_DIR";

impl Source for Amp {
    fn agent(&self) -> Agent {
        Agent::Amp
    }

    fn shape(&self) -> Shape {
        Shape::Rewritten
    }

    fn folders(&self, _claude: &Roots) -> Vec<Folder> {
        let homes = env_paths(DATA_VAR).unwrap_or_else(|| {
            crate::paths::home()
                .map(|h| vec![h.join(".local/share/amp")])
                .unwrap_or_default()
        });
        // A home without its `threads/` yet is an agent that has written nothing: no
        // warning, whoever named the home (as Codex's).
        homes
            .into_iter()
            .map(|home| Folder {
                agent: Agent::Amp,
                path: home.join("threads"),
                named: false,
            })
            .collect()
    }

    /// The session is the thread, the file's stem; the project is the working tree its
    /// document names (see `Thread::records`).
    fn names(&self, _relative: &Path, path: &Path) -> (String, String) {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        (String::new(), stem)
    }

    fn parser(&self) -> Box<dyn LineParser> {
        Box::new(ReadWhole)
    }

    /// `T-*.json` and nothing else of the folder (Amp keeps other files beside them).
    fn reads(&self, _dir: &Path, name: &OsStr) -> bool {
        let name = name.as_encoded_bytes();
        name.starts_with(b"T-") && name.ends_with(b".json")
    }

    fn documents(&self) -> Option<&dyn DocumentParser> {
        Some(&Thread)
    }
}

/// One thread document.
struct Thread;

impl DocumentParser for Thread {
    fn records(&self, _path: &Path, document: &[u8]) -> Result<Vec<Record>> {
        let doc: Value = serde_json::from_slice(document).context("not a JSON document")?;
        let id = non_empty(&doc["id"]).ok_or_else(|| anyhow!("a thread without an id"))?;
        let project = project_of(&doc);
        let messages = doc["messages"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        let records: Vec<Record> = match doc["usageLedger"]["events"].as_array() {
            Some(events) => events
                .iter()
                .filter_map(|e| ledger_event(id, e, messages))
                .collect(),
            None => messages
                .iter()
                .enumerate()
                .filter_map(|(at, m)| message(id, at, m))
                .collect(),
        };
        Ok(records
            .into_iter()
            .map(|r| Record {
                project: project.clone(),
                ..r
            })
            .collect())
    }
}

/// The project of the thread's first working tree (`env.initial.trees[0].uri`, a
/// `file://` URL), named as a Claude project is.
fn project_of(doc: &Value) -> Option<String> {
    let uri = doc["env"]["initial"]["trees"][0]["uri"].as_str()?;
    uri.strip_prefix("file://").map(project_of_cwd)
}

fn non_empty(value: &Value) -> Option<&str> {
    value.as_str().filter(|s| !s.is_empty())
}

fn count(value: &Value) -> u64 {
    value.as_u64().unwrap_or(0)
}

/// A response of the current schema: an assistant message with a `usage`.
fn message(thread: &str, at: usize, m: &Value) -> Option<Record> {
    if m["role"].as_str() != Some("assistant") {
        return None;
    }
    let usage = m.get("usage")?;
    let timestamp = non_empty(&usage["timestamp"]).or_else(|| non_empty(&m["timestamp"]));
    let model = non_empty(&usage["model"]).or_else(|| non_empty(&m["model"]))?;
    let tokens = Tokens {
        input: count(&usage["inputTokens"]),
        output: count(&usage["outputTokens"]),
        cache_write_5m: count(&usage["cacheCreationInputTokens"]),
        cache_write_1h: 0,
        cache_read: count(&usage["cacheReadInputTokens"]),
    };
    // Without Amp's own id, the message's place in the thread (messages are only added).
    let id = match &m["messageId"] {
        Value::Number(n) => n.to_string(),
        Value::String(s) if !s.is_empty() => s.clone(),
        _ => format!("#{at}"),
    };
    response(
        format!("{thread}:{id}"),
        timestamp,
        model,
        with_total(tokens, count(&usage["totalTokens"]))?,
        usage["credits"].as_f64(),
    )
}

/// A response of the older schema: a `usageLedger` event, with the cache counts of the
/// message it points to.
fn ledger_event(thread: &str, e: &Value, messages: &[Value]) -> Option<Record> {
    let model = non_empty(&e["model"])?;
    let tokens = e.get("tokens")?;
    let target = e["toMessageId"].as_i64();
    let usage = target.and_then(|id| {
        messages.iter().find(|m| {
            m["role"].as_str() == Some("assistant") && m["messageId"].as_i64() == Some(id)
        })
    });
    let cache = |field: &str| usage.map_or(0, |m| count(&m["usage"][field]));
    let split = Tokens {
        input: count(&tokens["input"]),
        output: count(&tokens["output"]),
        cache_write_5m: cache("cacheCreationInputTokens"),
        cache_write_1h: 0,
        cache_read: cache("cacheReadInputTokens"),
    };
    let id = match (non_empty(&e["id"]), target) {
        (Some(id), _) => format!("event:{id}"),
        (None, Some(to)) => to.to_string(),
        (None, None) => return None,
    };
    response(
        format!("{thread}:{id}"),
        non_empty(&e["timestamp"]),
        model,
        with_total(split, count(&tokens["total"]))?,
        e["credits"].as_f64(),
    )
}

/// `tokens` with what `total` holds beyond them billed as output (ccusage's rule for
/// a usage that gives only its total); `None` if a count is beyond any real response's
/// (`MAX_COUNT`): the file's bytes are not trusted, and such a row would not even fit
/// the ledger's integers.
fn with_total(tokens: Tokens, total: u64) -> Option<Tokens> {
    if total > MAX_COUNT || tokens.kinds().iter().any(|&n| n > MAX_COUNT) {
        return None;
    }
    Some(Tokens {
        output: tokens.output + total.saturating_sub(tokens.total()),
        ..tokens
    })
}

/// A response worth a row: one with a time and some tokens (an empty usage is a message
/// still being written).
fn response(
    message_id: String,
    timestamp: Option<&str>,
    model: &str,
    tokens: Tokens,
    credits: Option<f64>,
) -> Option<Record> {
    let ts_ms = line_time(timestamp).ok()?;
    if tokens.total() == 0 {
        return None;
    }
    Some(Record {
        agent: Agent::Amp,
        ts_ms,
        model: Some(model.to_string()),
        message_id: Some(message_id),
        tokens,
        credits: credits.filter(|c| c.is_finite() && *c >= 0.0),
        ..Record::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outputs(doc: &str) -> Vec<(String, u64, Option<f64>)> {
        Thread
            .records(Path::new("T.json"), doc.as_bytes())
            .unwrap()
            .into_iter()
            .map(|r| (r.message_id.unwrap(), r.tokens.output, r.credits))
            .collect()
    }

    #[test]
    fn messages_are_keyed_by_thread_and_id_and_a_total_alone_is_output() {
        let doc = r#"{"id":"T-1","messages":[
            {"role":"user","messageId":0},
            {"role":"assistant","messageId":1,"usage":{"model":"m","timestamp":"2026-01-19T11:42:10.652Z","inputTokens":10,"outputTokens":5,"credits":1.5}},
            {"role":"assistant","messageId":2,"usage":{"model":"m","timestamp":"2026-01-19T11:43:00Z","totalTokens":345}},
            {"role":"assistant","messageId":3,"usage":{"model":"m","timestamp":"2026-01-19T11:44:00Z","inputTokens":0,"outputTokens":0}}
        ]}"#;
        assert_eq!(
            outputs(doc),
            vec![
                ("T-1:1".to_string(), 5, Some(1.5)),
                ("T-1:2".to_string(), 345, None)
            ]
        );
    }

    #[test]
    fn a_usage_ledger_wins_over_messages_and_takes_their_cache_counts() {
        let doc = r#"{"id":"T-2","usageLedger":{"events":[
            {"id":"e1","timestamp":"2026-01-02T00:00:00Z","model":"m","credits":2,"tokens":{"input":1,"output":2},"toMessageId":1}
        ]},"messages":[
            {"role":"assistant","messageId":1,"usage":{"model":"x","timestamp":"2026-01-19T11:42:10Z","inputTokens":99,"outputTokens":99,"cacheReadInputTokens":7}}
        ]}"#;
        let records = Thread.records(Path::new("T.json"), doc.as_bytes()).unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].message_id.as_deref(), Some("T-2:event:e1"));
        assert_eq!(
            (records[0].tokens.input, records[0].tokens.cache_read),
            (1, 7)
        );
        assert_eq!(records[0].credits, Some(2.0));
    }

    #[test]
    fn a_count_beyond_any_real_response_costs_only_its_message() {
        let doc = format!(
            r#"{{"id":"T-3","messages":[
            {{"role":"assistant","messageId":1,"usage":{{"model":"m","timestamp":"2026-01-19T11:42:10Z","outputTokens":{}}}}},
            {{"role":"assistant","messageId":2,"usage":{{"model":"m","timestamp":"2026-01-19T11:42:10Z","inputTokens":1,"totalTokens":{}}}}},
            {{"role":"assistant","messageId":3,"usage":{{"model":"m","timestamp":"2026-01-19T11:42:10Z","outputTokens":9}}}}
        ]}}"#,
            u64::MAX,
            MAX_COUNT + 1
        );
        assert_eq!(outputs(&doc), vec![("T-3:3".to_string(), 9, None)]);
    }

    #[test]
    fn a_thread_without_an_id_or_not_json_is_an_error() {
        assert!(
            Thread
                .records(Path::new("T.json"), b"{\"messages\":[]}")
                .is_err()
        );
        assert!(Thread.records(Path::new("T.json"), b"{\"id\":").is_err());
    }
}
