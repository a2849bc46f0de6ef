//! OpenCode: its SQLite database, `opencode.db` (or a channel build's
//! `opencode-<channel>.db`) in `$OPENCODE_DATA_DIR` (a comma list, as ccusage reads it),
//! else `$XDG_DATA_HOME/opencode` (`~/.local/share/opencode`).
//!
//! OpenCode (since v1.2) keeps each message as a row of `message(id, session_id,
//! time_created, time_updated, data)` (its `packages/opencode/src/session/session.sql.ts`),
//! and updates an assistant message in place while its response streams: a row first
//! written with no tokens gets its counts, then its cost, later, each write stamping
//! `time_updated`, until its response is done (`time.completed`) or failed (`error`).
//! The ledger reads the rows new since its last read and those it read while still open
//! (see `Place`), and keeps one row per message id, the copy with the most tokens (the
//! dedup rules' rule 1), so a message read while it streamed and again when done counts
//! once, with its final counts.
//!
//! `data` (an assistant message): `{role, modelID, providerID, cost, path: {cwd, root},
//! time: {created, completed}, tokens: {input, output, reasoning, cache: {read, write}}}`.
//! The counts have Anthropic's meanings whatever the provider (OpenCode splits cached
//! input out of `input` itself). Reasoning is billed as output: the ledger adds it to
//! output and keeps it apart for display, as it does for OpenAI's models. `cost` is
//! OpenCode's own figure, used in `auto` mode as Claude Code's `costUSD` is; a zero cost
//! (OpenCode's for models it has no price for) is no figure, and the tokens are priced.
//!
//! A subtask's session (`session.parent_id`) is filed under its parent's, so the session
//! view shows one session per conversation (in the database; a legacy file's subtask
//! stays its own session).
//!
//! Before v1.2 OpenCode wrote each message to `storage/message/<session>/msg_<id>.json`,
//! rewritten whole as it streamed; v1.2 copies them into the database under the same
//! ids. Those files are read as the rewritten shape (again when their size or time
//! moved), and a message in both counts once: same agent, same message id. Deleting a session in OpenCode deletes its
//! messages; the ledger never deletes, so what it read stays.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::model::Agent;
use crate::model::project_of_cwd;
use crate::model::{Record, Tokens};
use crate::sources::claude::roots::Roots;
use crate::sources::database::{DatabaseReader, NoLines};
use crate::sources::rewritten::DocumentParser;
use crate::sources::{Folder, LineParser, Shape, Source};

/// How long an open message (see `Place`) OpenCode does not write is still looked at:
/// a response waits on a permission prompt for hours, not a week; one killed mid-stream
/// waits for ever.
const OPEN_FOR_MS: i64 = 7 * 86_400_000;

pub static OPENCODE: OpenCode = OpenCode {
    agent: Agent::OpenCode,
    data_var: "OPENCODE_DATA_DIR",
    name: "opencode",
};

/// OpenCode, or a fork of it that keeps the same database under its own names (Kilo).
pub struct OpenCode {
    pub(crate) agent: Agent,
    /// The variable the agent (and ccusage) read for its data folder.
    pub(crate) data_var: &'static str,
    /// Its data folder's name in `$XDG_DATA_HOME`, and its database's (`<name>.db`,
    /// `<name>-<channel>.db`).
    pub(crate) name: &'static str,
}

impl Source for OpenCode {
    fn agent(&self) -> Agent {
        self.agent
    }

    fn shape(&self) -> Shape {
        Shape::Database
    }

    fn folders(&self, _claude: &Roots) -> Vec<Folder> {
        Folder::named_or(
            self.agent,
            self.data_var,
            crate::paths::data_home().map(|data| data.join(self.name)),
        )
    }

    /// A database holds every session and project: each record names its own.
    fn names(&self, _relative: &Path, _path: &Path) -> (String, String) {
        (String::new(), String::new())
    }

    fn parser(&self) -> Box<dyn LineParser> {
        Box::new(NoLines)
    }

    fn database(&self) -> Option<&dyn DatabaseReader> {
        Some(self)
    }
}

impl DatabaseReader for OpenCode {
    fn is_database(&self, name: &str) -> bool {
        let Some(stem) = name.strip_suffix(".db") else {
            return false;
        };
        stem == self.name
            || stem
                .strip_prefix(self.name)
                .and_then(|rest| rest.strip_prefix('-'))
                .is_some_and(|channel| {
                    !channel.is_empty()
                        && channel
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                })
    }

    fn documents(&self, folder: &Path) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let Ok(sessions) = std::fs::read_dir(folder.join("storage").join("message")) else {
            return found;
        };
        for session in sessions.filter_map(|e| e.ok()) {
            let Ok(messages) = std::fs::read_dir(session.path()) else {
                continue;
            };
            found.extend(
                messages
                    .filter_map(|e| e.ok())
                    .filter(|e| {
                        e.file_name()
                            .to_str()
                            .is_some_and(|n| n.starts_with("msg_") && n.ends_with(".json"))
                    })
                    .map(|e| e.path()),
            );
        }
        found.sort();
        found
    }

    fn document_parser(&self) -> Option<&dyn DocumentParser> {
        Some(self)
    }

    fn read_since(&self, db: &Connection, watermark: &str) -> Result<(Vec<Record>, String)> {
        // One snapshot for the place, the table's end and the rows: what OpenCode commits
        // meanwhile is the next pass's.
        let tx = db.unchecked_transaction()?;
        let place = Place::of(watermark);
        let end: Option<(i64, String)> = tx
            .query_row(
                "SELECT rowid, id FROM message ORDER BY rowid DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .context("not an OpenCode database (no message table)")?;
        let mut next = Place {
            rowid: end.as_ref().map_or(0, |e| e.0),
            last: end.map(|e| e.1).unwrap_or_default(),
            ..place.clone()
        };
        let mut records = Vec::new();
        if place.anchored(&tx)? {
            // The rows after the last one read: new, whatever time they carry.
            let mut new = tx.prepare_cached(&format!("{SELECT} WHERE m.rowid > ?1"))?;
            let mut rows = new.query([place.rowid])?;
            while let Some(row) = rows.next()? {
                next.read(row, &mut records, None)?;
            }
            // The messages that were still streaming, again: whether OpenCode wrote them
            // since is not told by `time_updated` (two writes in one millisecond), but by
            // their counts and cost, and a copy with the same is not handed on (OpenCode
            // writes a response's parts far more often than its message).
            let mut open = tx.prepare_cached(&format!("{SELECT} WHERE m.rowid = ?1"))?;
            for &(rowid, _, seen) in &place.open {
                let mut rows = open.query([rowid])?;
                match rows.next()? {
                    Some(row) => next.read(row, &mut records, Some(seen))?,
                    // Deleted with its session.
                    None => next.open.retain(|&(r, _, _)| r != rowid),
                }
            }
        } else {
            // Nowhere to start from (a first read, an older version's watermark, rows
            // renumbered by a VACUUM or the last ones deleted, their rowids given again):
            // every row, once; what the ledger holds already, the dedup rules keep out.
            next.open.clear();
            let mut all = tx.prepare_cached(SELECT)?;
            let mut rows = all.query([])?;
            while let Some(row) = rows.next()? {
                next.read(row, &mut records, None)?;
            }
        }
        next.forget_stale();
        for record in &mut records {
            record.agent = self.agent;
        }
        Ok((records, next.to_state()))
    }
}

/// The columns `Place::read` takes, of each message and its session.
const SELECT: &str =
    "SELECT m.rowid, m.id, coalesce(s.parent_id, m.session_id), m.time_updated, m.data
     FROM message m LEFT JOIN session s ON s.id = m.session_id";

/// Where a pass left an OpenCode database: the cursor's state, as JSON.
///
/// OpenCode indexes no update time, and the ledger may not add an index to its database,
/// so rows are found by rowid, the table's own order: OpenCode inserts a message when it
/// starts and only updates it in place while its response streams, until it is complete
/// (`time.completed`) or failed (`error`). So a pass reads the rows after the last one it
/// read, and again those it read while still open: a handful of lookups, whatever the
/// size of the table.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Place {
    /// The greatest `time_updated` read.
    updated: i64,
    /// The table's last row at the read, and its id: when that row no longer holds that
    /// id, the rowids have moved and the table is read whole again.
    rowid: i64,
    last: String,
    /// The messages read while still open, by rowid, with their `time_updated` and the
    /// `fingerprint` of their record when last read.
    open: Vec<(i64, i64, u64)>,
}

impl Place {
    /// The place `state` keeps. None, or another version's (a bare `time_updated`), is
    /// no place: the table is read whole once.
    fn of(state: &str) -> Place {
        serde_json::from_str(state).unwrap_or_default()
    }

    fn to_state(&self) -> String {
        serde_json::to_string(self).expect("a place always serializes")
    }

    /// Whether the rowids still mean what they meant at the last read.
    fn anchored(&self, db: &Connection) -> Result<bool> {
        if self.rowid == 0 {
            return Ok(false);
        }
        let id: Option<String> = db
            .query_row(
                "SELECT id FROM message WHERE rowid = ?1",
                [self.rowid],
                |r| r.get(0),
            )
            .optional()?;
        Ok(id.as_deref() == Some(self.last.as_str()))
    }

    /// Reads one row of `SELECT`: its record (if billed, and its fingerprint is not
    /// `seen`) into `records`, and whether it is still open.
    fn read(
        &mut self,
        row: &rusqlite::Row,
        records: &mut Vec<Record>,
        seen: Option<u64>,
    ) -> Result<()> {
        let rowid: i64 = row.get(0)?;
        let id: String = row.get(1)?;
        let updated: i64 = row.get(3)?;
        self.updated = self.updated.max(updated);
        self.open.retain(|&(r, _, _)| r != rowid);
        let message = match parse(row.get_ref(4)?.as_bytes()?) {
            Ok(message) => message,
            Err(e) => {
                log::warn!("OpenCode message {id}: {e:#}; not counted");
                return Ok(());
            }
        };
        let open = message.is_open();
        let record = record_of_message(message).unwrap_or_else(|e| {
            log::warn!("OpenCode message {id}: {e:#}; not counted");
            None
        });
        let print = record.as_ref().map_or(0, fingerprint);
        if open {
            self.open.push((rowid, updated, print));
        }
        if let Some(mut record) = record.filter(|_| seen != Some(print)) {
            record.message_id = Some(id);
            record.line_session_id = row.get(2)?;
            records.push(record);
        }
        Ok(())
    }

    /// Forgets the open messages OpenCode has not written for `OPEN_FOR_MS` (one killed
    /// mid-response stays open for ever): the list stays short.
    fn forget_stale(&mut self) {
        let horizon = self.updated.saturating_sub(OPEN_FOR_MS);
        self.open.retain(|&(_, updated, _)| updated >= horizon);
    }
}

/// What tells a copy of a message the ledger would keep from one it holds already: its
/// counts and its cost.
fn fingerprint(record: &Record) -> u64 {
    let cost = record.cost_usd.map_or(0, f64::to_bits);
    record.tokens.total() ^ cost.rotate_left(32)
}

/// A message file of OpenCode before v1.2 (the database copies them in, ids kept).
impl DocumentParser for OpenCode {
    fn records(&self, _path: &Path, document: &[u8]) -> Result<Vec<Record>> {
        let record = record_of(document)?.map(|r| Record {
            agent: self.agent,
            ..r
        });
        Ok(record.into_iter().collect())
    }
}

#[derive(Deserialize)]
struct Message {
    /// A failed response (aborted, an API error): its counts are final.
    error: Option<serde::de::IgnoredAny>,
    /// In a legacy file only: a database row's id and session are its columns.
    id: Option<String>,
    #[serde(rename = "sessionID")]
    session_id: Option<String>,
    role: Option<String>,
    #[serde(rename = "modelID")]
    model_id: Option<String>,
    cost: Option<f64>,
    path: Option<MessagePath>,
    time: Option<MessageTime>,
    tokens: Option<MessageTokens>,
}

#[derive(Deserialize)]
struct MessagePath {
    cwd: Option<String>,
    root: Option<String>,
}

#[derive(Deserialize)]
struct MessageTime {
    created: Option<i64>,
    /// Set when the response is done: its counts are final.
    completed: Option<i64>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct MessageTokens {
    input: u64,
    output: u64,
    reasoning: u64,
    cache: Cache,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Cache {
    read: u64,
    write: u64,
}

fn parse(data: &[u8]) -> Result<Message> {
    serde_json::from_slice(data).context("unreadable data")
}

impl Message {
    fn is_assistant(&self) -> bool {
        self.role.as_deref() == Some("assistant")
    }

    /// An assistant message whose response may still grow: OpenCode updates it in place.
    fn is_open(&self) -> bool {
        self.is_assistant()
            && self.error.is_none()
            && self.time.as_ref().is_none_or(|t| t.completed.is_none())
    }
}

/// The record of one message's `data`: `None` for what is not billed (a user message, an
/// assistant message still without tokens).
pub fn record_of(data: &[u8]) -> Result<Option<Record>> {
    record_of_message(parse(data)?)
}

fn record_of_message(message: Message) -> Result<Option<Record>> {
    if !message.is_assistant() {
        return Ok(None);
    }
    let t = message.tokens.unwrap_or_default();
    let tokens = Tokens {
        input: t.input,
        output: t.output.saturating_add(t.reasoning),
        cache_write_5m: t.cache.write,
        cache_write_1h: 0,
        cache_read: t.cache.read,
    };
    if tokens.total() == 0 {
        return Ok(None);
    }
    let ts_ms = message
        .time
        .and_then(|t| t.created)
        .context("no time.created")?;
    let cwd = message.path.and_then(|p| p.cwd.or(p.root));
    let record = Record {
        agent: Agent::OpenCode,
        message_id: message.id,
        line_session_id: message.session_id,
        ts_ms,
        model: message.model_id.filter(|m| !m.is_empty()),
        tokens,
        reasoning: t.reasoning,
        cost_usd: message.cost.filter(|c| c.is_finite() && *c > 0.0),
        project: cwd.as_deref().map(project_of_cwd),
        cwd,
        ..Record::default()
    };
    // The ledger's ranges, as every source's lines pass them (`limits::admit`).
    crate::limits::check(&record).map_err(anyhow::Error::msg)?;
    Ok(Some(record))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_databases_are_opencodes_and_nothing_else() {
        for name in ["opencode.db", "opencode-beta.db", "opencode-dev_2.db"] {
            assert!(OPENCODE.is_database(name), "{name}");
        }
        for name in [
            "opencode.db-wal",
            "opencode-.db",
            "other.db",
            "opencode-a.b.db",
        ] {
            assert!(!OPENCODE.is_database(name), "{name}");
        }
    }

    #[test]
    fn an_assistant_message_is_billed_with_reasoning_as_output() {
        let data = br#"{"role":"assistant","modelID":"gpt-5","providerID":"openai","cost":0,
            "path":{"cwd":"/home/u/app","root":"/home/u/app"},"time":{"created":1767312000000},
            "tokens":{"input":100,"output":40,"reasoning":10,"cache":{"read":7,"write":3}}}"#;
        let r = record_of(data).unwrap().unwrap();
        assert_eq!(
            (r.tokens.input, r.tokens.output, r.reasoning),
            (100, 50, 10)
        );
        assert_eq!((r.tokens.cache_write_5m, r.tokens.cache_read), (3, 7));
        assert_eq!(r.cost_usd, None, "a zero cost is no figure");
        assert_eq!(r.project.as_deref(), Some("-home-u-app"));
        let user = br#"{"role":"user","time":{"created":1}}"#;
        assert_eq!(record_of(user).unwrap(), None);
        let streaming = br#"{"role":"assistant","time":{"created":1},"tokens":{"input":0,"output":0,"reasoning":0,"cache":{"read":0,"write":0}}}"#;
        assert_eq!(record_of(streaming).unwrap(), None);
    }
}
