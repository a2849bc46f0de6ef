//! GitHub Copilot CLI: `${COPILOT_HOME:-~/.copilot}/session-state/<session id>/events.jsonl`
//! (`COPILOT_HOME` is the variable the Copilot runtime itself and ccusage read), an
//! append-only log of `{type, data, id, timestamp, parentId}` events.
//!
//! Two kinds of event carry usage, and they overlap:
//! - `assistant.message`: one response of the model, with `data.outputTokens` and
//!   `data.model` in current builds (its input and cache counts are only in an
//!   `assistant.usage` event, which Copilot never writes to disk);
//! - `session.shutdown`: written on a clean exit, `data.modelMetrics` per model with the
//!   process's totals (`usage.inputTokens` including `cacheReadTokens` and
//!   `cacheWriteTokens`, `outputTokens`, `reasoningTokens`) and its premium requests
//!   (`requests.cost`, the model's multiplier summed). The totals are those of one
//!   process: since the `session.start` or `session.resume` before it, not cumulative
//!   across resumes.
//!
//! Counting both would count the output twice; counting only the rollup (as ccusage
//! does) counts nothing of a session until it exits cleanly, and nothing at all of one
//! that is killed. So each message's output is counted as it is written, and the rollup
//! adds what the messages of its process did not say: its input and cache counts, the
//! output beyond theirs, and the premium requests, per model. The parser's state (the
//! session's working directory, the model, the output counted per model since the
//! process began) is kept with the cursor, so a pass resumed mid-file subtracts exactly
//! what was counted before it.
//!
//! Copilot also keeps `session-store.db` in its home, a SQLite database (WAL) it writes
//! as it runs: its `assistant_usage_events` table holds one row per model call, with its
//! input (cache reads and writes included), output, cache and reasoning counts and its
//! request multiplier, the `assistant.usage` event Copilot never writes to the log (the
//! schema is Copilot CLI 1.0.102's, `fixtures/copilot/session-store.sql`). Rows are only
//! inserted, under an `AUTOINCREMENT` id, so the store is read by that id: the rows after
//! the last one read. A call is in both the log and the store, and nothing names it in
//! both (the store keeps no `apiCallId`), so a session is counted from one of them, its
//! log where it has one: Copilot writes a session's log before any call, so the log is
//! there when the store's rows are read, and the ledger has counted from it already (it
//! never takes a row back); ccusage reads the log too. The store's rows count the
//! sessions with no log: one deleted, or a client that writes none.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{Context, Result};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::limits::MAX_COUNT;
use crate::model::Agent;
use crate::model::project_of_cwd;
use crate::model::{Parsed, Record, Tokens, line_time};
use crate::sources::claude::roots::Roots;
use crate::sources::database::DatabaseReader;
use crate::sources::{Folder, LineParser, Shape, Source, env_paths};

pub struct Copilot;

pub static COPILOT: Copilot = Copilot;

/// The variable the Copilot runtime reads for its home.
pub const HOME_VAR: &str = "COPILOT_HOME";

/// The model of a response no event named.
pub const NO_MODEL: &str = "copilot-unknown-model";

impl Source for Copilot {
    fn agent(&self) -> Agent {
        Agent::Copilot
    }

    fn shape(&self) -> Shape {
        Shape::AppendOnly
    }

    fn folders(&self, _claude: &Roots) -> Vec<Folder> {
        let homes = env_paths(HOME_VAR).unwrap_or_else(|| {
            crate::paths::home()
                .map(|h| vec![h.join(".copilot")])
                .unwrap_or_default()
        });
        // A home without its `session-state/` yet is an agent that has written nothing: no
        // warning, whoever named the home (as Codex's). The home itself holds the store.
        homes
            .into_iter()
            .flat_map(|home| {
                [home.join(STATE), home].map(|path| Folder {
                    agent: Agent::Copilot,
                    path,
                    named: false,
                })
            })
            .collect()
    }

    /// The session is the folder the log is in (`<session id>/events.jsonl`); the project
    /// the working directory its `session.start` names.
    fn names(&self, relative: &Path, _path: &Path) -> (String, String) {
        let session = relative
            .iter()
            .next()
            .filter(|_| relative.components().count() > 1)
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        (String::new(), session)
    }

    fn parser(&self) -> Box<dyn LineParser> {
        Box::new(Events::default())
    }

    /// Only the event logs: a session's folder holds other files (`workspace.yaml`, …).
    fn reads(&self, _dir: &Path, name: &std::ffi::OsStr) -> bool {
        name == "events.jsonl"
    }

    fn database(&self) -> Option<&'static dyn DatabaseReader> {
        Some(&COPILOT)
    }
}

/// The folder of the session logs in Copilot's home.
const STATE: &str = "session-state";

/// The session store, read by row id (see the module doc).
impl DatabaseReader for Copilot {
    fn is_database(&self, name: &str) -> bool {
        name == "session-store.db"
    }

    /// The home, not its `session-state/`: that one is walked for the logs.
    fn holds_databases(&self, folder: &Path) -> bool {
        folder.file_name().is_none_or(|name| name != STATE)
    }

    fn read_since(&self, db: &Connection, watermark: &str) -> Result<(Vec<Record>, String)> {
        let mut last: i64 = watermark.parse().unwrap_or(0);
        let home = db
            .path()
            .and_then(|p| Path::new(p).parent())
            .map(Path::to_path_buf);
        let mut stmt = db
            .prepare_cached(
                "SELECT u.id, u.session_id, u.model, u.input_tokens, u.output_tokens,
                        u.cache_read_tokens, u.cache_write_tokens, u.reasoning_tokens,
                        u.request_multiplier, u.created_at, s.cwd
                 FROM assistant_usage_events u LEFT JOIN sessions s ON s.id = u.session_id
                 WHERE u.id > ?1 ORDER BY u.id",
            )
            .context("not Copilot's session store (no assistant_usage_events table)")?;
        let mut rows = stmt.query([last])?;
        let mut logged: HashMap<String, bool> = HashMap::new();
        let mut records = Vec::new();
        while let Some(row) = rows.next()? {
            let id: i64 = row.get(0)?;
            last = last.max(id);
            let session: String = row.get(1)?;
            let has_log = *logged.entry(session.clone()).or_insert_with(|| {
                home.as_ref()
                    .is_some_and(|h| h.join(STATE).join(&session).join("events.jsonl").exists())
            });
            if has_log {
                continue;
            }
            match stored_call(row, session) {
                Ok(Some(record)) => records.push(record),
                Ok(None) => {}
                Err(e) => log::warn!("Copilot session store row {id}: {e:#}; not counted"),
            }
        }
        Ok((records, last.to_string()))
    }
}

/// The record of one `assistant_usage_events` row of the query above; `None` for a call
/// with no counts.
fn stored_call(row: &rusqlite::Row, session: String) -> Result<Option<Record>> {
    let count = |i: usize| -> Result<u64> {
        let n: Option<i64> = row.get(i)?;
        let n = u64::try_from(n.unwrap_or(0)).context("a negative count")?;
        anyhow::ensure!(n <= MAX_COUNT, "a token count above {MAX_COUNT}");
        Ok(n)
    };
    let (input, output, read, write, reasoning) =
        (count(3)?, count(4)?, count(5)?, count(6)?, count(7)?);
    let tokens = Tokens {
        input: input.saturating_sub(read + write),
        output,
        cache_write_5m: write,
        cache_write_1h: 0,
        cache_read: read,
    };
    if tokens.total() == 0 {
        return Ok(None);
    }
    let id: i64 = row.get(0)?;
    let created: String = row.get(9)?;
    let cwd: Option<String> = row.get(10)?;
    let multiplier: Option<f64> = row.get(8)?;
    let model: Option<String> = row.get(2)?;
    Ok(Some(Record {
        agent: Agent::Copilot,
        ts_ms: sqlite_time(&created)?,
        model: Some(
            model
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| NO_MODEL.into()),
        ),
        message_id: Some(format!("store:{id}")),
        line_session_id: Some(session),
        project: cwd.as_deref().map(project_of_cwd),
        cwd,
        tokens,
        reasoning,
        premium_requests: multiplier.filter(|m| m.is_finite() && *m > 0.0),
        ..Record::default()
    }))
}

/// A time as SQLite's `datetime('now')` writes it (`YYYY-MM-DD HH:MM:SS`, UTC), or RFC 3339.
fn sqlite_time(text: &str) -> Result<i64> {
    let rfc3339 = match text.len() {
        19 => format!("{}Z", text.replacen(' ', "T", 1)),
        _ => text.replacen(' ', "T", 1),
    };
    line_time(Some(&rfc3339)).map_err(anyhow::Error::msg)
}

/// What the log has said so far that later events need: stored with the cursor.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct State {
    cwd: Option<String>,
    model: Option<String>,
    /// Output tokens counted from `assistant.message` events since the process began, per
    /// model: the rollup that ends the process adds only what is beyond them.
    counted: BTreeMap<String, u64>,
    /// The provider call the last message belonged to, and the output counted for it: a
    /// response split into several messages repeats its call id.
    call: Option<(String, u64)>,
}

#[derive(Debug, Default)]
struct Events {
    state: State,
    changed: bool,
    /// The rest of a shutdown's records, for `take_more`.
    more: Vec<Record>,
}

/// One event line: only what the ledger reads.
#[derive(Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: String,
    id: Option<String>,
    timestamp: Option<String>,
    #[serde(default)]
    data: Value,
}

impl LineParser for Events {
    fn resume(&mut self, state: &str) -> Result<()> {
        self.state = serde_json::from_str(state).context("unreadable Copilot parser state")?;
        Ok(())
    }

    fn line(&mut self, line: &[u8]) -> Parsed {
        // Most events are tool calls and text: look for the three that matter first.
        if memchr::memmem::find(line, b"\"session.").is_none()
            && memchr::memmem::find(line, b"\"assistant.message\"").is_none()
        {
            return Parsed::Other;
        }
        let Ok(event) = serde_json::from_slice::<Event>(line) else {
            return Parsed::Other;
        };
        match event.kind.as_str() {
            "session.start" | "session.resume" => {
                self.begin(&event.data);
                Parsed::Other
            }
            "session.model_change" => {
                if let Some(model) = event.data["newModel"].as_str() {
                    self.state.model = Some(model.to_string());
                    self.changed = true;
                }
                Parsed::Other
            }
            "assistant.message" => self.message(&event),
            "session.shutdown" => self.shutdown(&event),
            _ => Parsed::Other,
        }
    }

    fn take_more(&mut self) -> Vec<Record> {
        std::mem::take(&mut self.more)
    }

    fn take_state(&mut self) -> Option<String> {
        std::mem::take(&mut self.changed)
            .then(|| serde_json::to_string(&self.state).expect("the state always serializes"))
    }
}

impl Events {
    /// A process begins: nothing of it counted yet.
    fn begin(&mut self, data: &Value) {
        let cwd = data["context"]["cwd"].as_str().or(data["cwd"].as_str());
        if let Some(cwd) = cwd {
            self.state.cwd = Some(cwd.to_string());
        }
        if let Some(model) = data["selectedModel"].as_str() {
            self.state.model = Some(model.to_string());
        }
        self.state.counted.clear();
        self.state.call = None;
        self.changed = true;
    }

    fn message(&mut self, event: &Event) -> Parsed {
        let data = &event.data;
        let output = data["outputTokens"].as_u64().unwrap_or(0);
        if output == 0 {
            return Parsed::Other;
        }
        if output > MAX_COUNT {
            return beyond_real();
        }
        let model = data["model"]
            .as_str()
            .or(self.state.model.as_deref())
            .unwrap_or(NO_MODEL)
            .to_string();
        // One provider call's messages are one response: keyed by the call, the larger
        // count wins in the ledger, and only the growth is counted here.
        let call = data["apiCallId"].as_str().filter(|c| !c.is_empty());
        let before = match (call, &self.state.call) {
            (Some(call), Some((last, counted))) if call == last => *counted,
            _ => 0,
        };
        let key = match (call, data["messageId"].as_str(), &event.id) {
            (Some(call), _, _) => format!("call:{call}"),
            (None, Some(message), _) => format!("message:{message}"),
            (None, None, Some(id)) => format!("event:{id}"),
            (None, None, None) => return Parsed::Skipped("a response without an id".into()),
        };
        let ts_ms = match line_time(event.timestamp.as_deref()) {
            Ok(ts_ms) => ts_ms,
            Err(why) => return Parsed::Skipped(why),
        };
        *self.state.counted.entry(model.clone()).or_default() += output.saturating_sub(before);
        self.state.call = call.map(|c| (c.to_string(), output.max(before)));
        self.changed = true;
        let tokens = Tokens {
            output,
            ..Tokens::default()
        };
        Parsed::Billable(Box::new(self.record(ts_ms, model, key, tokens, None)))
    }

    /// The process's rollup: per model, what its messages did not count.
    fn shutdown(&mut self, event: &Event) -> Parsed {
        let Some(metrics) = event.data["modelMetrics"].as_object() else {
            return Parsed::Other;
        };
        let Some(id) = event.id.as_deref() else {
            return Parsed::Skipped("a session.shutdown without an id".into());
        };
        let ts_ms = match line_time(event.timestamp.as_deref()) {
            Ok(ts_ms) => ts_ms,
            Err(why) => return Parsed::Skipped(why),
        };
        // One line, several models: the first record is the line's, the rest `take_more`'s.
        let mut records = Vec::new();
        for (model, metric) in metrics {
            let usage = &metric["usage"];
            let n = |field: &str| usage[field].as_u64().unwrap_or(0);
            let fields = [
                "inputTokens",
                "outputTokens",
                "cacheReadTokens",
                "cacheWriteTokens",
            ];
            if fields.iter().any(|&f| n(f) > MAX_COUNT) {
                return beyond_real();
            }
            let (cache_read, cache_write) = (n("cacheReadTokens"), n("cacheWriteTokens"));
            let counted = self.state.counted.get(model).copied().unwrap_or(0);
            let tokens = Tokens {
                input: n("inputTokens").saturating_sub(cache_read + cache_write),
                output: n("outputTokens").saturating_sub(counted),
                cache_write_5m: cache_write,
                cache_write_1h: 0,
                cache_read,
            };
            let premium = metric["requests"]["cost"]
                .as_f64()
                .filter(|c| c.is_finite() && *c > 0.0);
            if tokens.total() == 0 && premium.is_none() {
                continue;
            }
            let key = format!("shutdown:{id}:{model}");
            records.push(self.record(ts_ms, model.clone(), key, tokens, premium));
        }
        self.state.counted.clear();
        self.state.call = None;
        self.changed = true;
        if records.is_empty() {
            return Parsed::Other;
        }
        let first = records.remove(0);
        self.more = records;
        Parsed::Billable(Box::new(first))
    }

    fn record(
        &self,
        ts_ms: i64,
        model: String,
        message_id: String,
        tokens: Tokens,
        premium_requests: Option<f64>,
    ) -> Record {
        Record {
            agent: Agent::Copilot,
            ts_ms,
            model: Some(model),
            message_id: Some(message_id),
            project: self.state.cwd.as_deref().map(project_of_cwd),
            cwd: self.state.cwd.clone(),
            tokens,
            premium_requests,
            ..Record::default()
        }
    }
}

/// A count no real response has (`MAX_COUNT`): the line is skipped, named, rather than
/// let into the ledger, whose integers would not even hold it.
fn beyond_real() -> Parsed {
    Parsed::Skipped(format!(
        "a token count above {MAX_COUNT}: not a real response"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each line read by a fresh parser resumed from the state the one before left, as
    /// a pass killed after every line would read them.
    fn resumed_after_every_line(lines: &[&str]) -> Vec<Record> {
        let mut state = String::new();
        let mut records = Vec::new();
        for line in lines {
            let mut parser = Events::default();
            if !state.is_empty() {
                parser.resume(&state).unwrap();
            }
            if let Parsed::Billable(record) = parser.line(line.as_bytes()) {
                records.push(*record);
                records.extend(parser.take_more());
            }
            if let Some(next) = parser.take_state() {
                state = next;
            }
        }
        records
    }

    #[test]
    fn a_rollup_adds_only_what_the_messages_of_its_process_did_not_count() {
        let lines = [
            r#"{"type":"session.start","id":"a","timestamp":"2026-02-02T10:00:00Z","data":{"selectedModel":"m","context":{"cwd":"/w"}}}"#,
            r#"{"type":"assistant.message","id":"b","timestamp":"2026-02-02T10:00:01Z","data":{"outputTokens":70,"apiCallId":"c1"}}"#,
            r#"{"type":"assistant.message","id":"c","timestamp":"2026-02-02T10:00:02Z","data":{"outputTokens":70,"apiCallId":"c1"}}"#,
            r#"{"type":"session.shutdown","id":"d","timestamp":"2026-02-02T10:01:00Z","data":{"modelMetrics":{"m":{"requests":{"cost":1.5},"usage":{"inputTokens":100,"outputTokens":75,"cacheReadTokens":60,"cacheWriteTokens":10}},"n":{"requests":{"cost":0},"usage":{"inputTokens":5,"outputTokens":5,"cacheReadTokens":0,"cacheWriteTokens":0}}}}}"#,
        ];
        let records = resumed_after_every_line(&lines);
        let summary: Vec<(String, [u64; 4], Option<f64>)> = records
            .iter()
            .map(|r| {
                let t = &r.tokens;
                let id = r.message_id.clone().unwrap();
                (
                    id,
                    [t.input, t.output, t.cache_write_5m, t.cache_read],
                    r.premium_requests,
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("call:c1".to_string(), [0, 70, 0, 0], None),
                ("call:c1".to_string(), [0, 70, 0, 0], None),
                ("shutdown:d:m".to_string(), [30, 5, 10, 60], Some(1.5)),
                ("shutdown:d:n".to_string(), [5, 5, 0, 0], None),
            ]
        );
        assert_eq!(records[0].project.as_deref(), Some("-w"));
    }

    #[test]
    fn a_count_beyond_any_real_response_is_a_skipped_line() {
        let huge = format!(
            r#"{{"type":"assistant.message","id":"b","timestamp":"2026-02-02T10:00:01Z","data":{{"outputTokens":{}}}}}"#,
            u64::MAX
        );
        assert!(matches!(
            Events::default().line(huge.as_bytes()),
            Parsed::Skipped(_)
        ));
    }
}
