//! Goose: its SQLite database, `sessions/sessions.db` in Goose's data dir: below
//! `GOOSE_PATH_ROOT` (`<root>/data`) as Goose reads it, else each of the places Goose and
//! ccusage know (`$XDG_DATA_HOME/goose`, `~/.local/share/goose`, macOS's
//! `~/Library/Application Support/goose`, `~/.local/share/Block/goose`).
//!
//! Goose keeps no row per response: a `sessions` row holds the session's running totals
//! (`accumulated_input_tokens`, `accumulated_output_tokens`, `accumulated_total_tokens`;
//! an older row only the latest call's `input_tokens`, `output_tokens`, `total_tokens`),
//! updated in place after each call, with no cache columns (see `fixtures/README.md` for
//! where the schema comes from). So the ledger keeps one row per session, keyed by its id
//! and dated when the session was created (as ccusage dates it): read again as it grows,
//! the larger copy replaces the smaller (the dedup rules' rule 1), so a session counts
//! once with its latest totals, and one Goose deletes keeps what was read. A session that
//! spans days is all on its first: Goose keeps no time per call.
//!
//! Input includes whatever the provider cached (Goose does not split it out), so it is
//! priced as uncached input: an upper bound. What the total holds beyond input and
//! output (a provider's thinking) is billed as output and kept apart for display.
//! `accumulated_cost`, Goose's own figure where its schema has it, is used in `auto`
//! mode as Claude Code's `costUSD` is. The model is `model_config_json`'s `model_name`.
//!
//! Rows updated since the watermark (`updated_at`, less a slack for writes stamped before
//! a read and committed after it) are read; columns are looked up by name, so schemas
//! with fewer or more of them read alike.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rusqlite::{Connection, Row};
use serde::Deserialize;

use crate::model::Agent;
use crate::model::project_of_cwd;
use crate::model::{Parsed, Record, Tokens, line_time};
use crate::sources::claude::roots::Roots;
use crate::sources::database::DatabaseReader;
use crate::sources::{Folder, LineParser, Shape, Source};

pub struct Goose;

pub static GOOSE: Goose = Goose;

/// The variable Goose (and ccusage) read for the root of its folders.
pub const ROOT_VAR: &str = "GOOSE_PATH_ROOT";

/// The model of a session whose row names none.
pub const NO_MODEL: &str = "goose-unknown-model";

/// Sessions updated this long before the watermark are read again (`updated_at` is kept
/// to the second, and a write may commit after a read that began later).
const SLACK_MS: i64 = 10_000;

/// Goose's data dirs below home where `XDG_DATA_HOME` does not say (ccusage's list).
const HOME_DIRS: [&str; 3] = [
    ".local/share/goose",
    "Library/Application Support/goose",
    ".local/share/Block/goose",
];

impl Source for Goose {
    fn agent(&self) -> Agent {
        Agent::Goose
    }

    fn shape(&self) -> Shape {
        Shape::Database
    }

    fn folders(&self, _claude: &Roots) -> Vec<Folder> {
        if let Some(root) = std::env::var_os(ROOT_VAR).filter(|v| !v.is_empty()) {
            let root = crate::paths::expand_tilde(&root.to_string_lossy());
            // A root without sessions yet is usual: no warning.
            return vec![Folder {
                agent: Agent::Goose,
                path: root.join("data").join("sessions"),
                named: false,
            }];
        }
        let mut dirs: Vec<PathBuf> = crate::paths::data_home()
            .map(|d| d.join("goose"))
            .into_iter()
            .collect();
        if let Some(home) = crate::paths::home() {
            dirs.extend(HOME_DIRS.iter().map(|d| home.join(d)));
        }
        let mut folders: Vec<Folder> = Vec::new();
        for dir in dirs {
            let path = dir.join("sessions");
            if !folders.iter().any(|f| f.path == path) {
                folders.push(Folder {
                    agent: Agent::Goose,
                    path,
                    named: false,
                });
            }
        }
        folders
    }

    /// A database holds every session: each record names its own.
    fn names(&self, _relative: &Path, _path: &Path) -> (String, String) {
        (String::new(), String::new())
    }

    fn parser(&self) -> Box<dyn LineParser> {
        Box::new(NoLines)
    }

    fn database(&self) -> Option<&'static dyn DatabaseReader> {
        Some(&GOOSE)
    }
}

/// Goose has no line-written files: the walk never hands it one (see `Source::database`).
struct NoLines;

impl LineParser for NoLines {
    fn resume(&mut self, _state: &str) -> Result<()> {
        Ok(())
    }

    fn line(&mut self, _line: &[u8]) -> Parsed {
        Parsed::Skipped("Goose keeps its sessions in a database, not in lines".into())
    }

    fn take_state(&mut self) -> Option<String> {
        None
    }
}

impl DatabaseReader for Goose {
    fn is_database(&self, name: &str) -> bool {
        name == "sessions.db"
    }

    fn read_since(&self, db: &Connection, watermark: &str) -> Result<(Vec<Record>, String)> {
        let watermark: i64 = watermark.parse().unwrap_or(0);
        // A few hundred rows a year: read whole, filtered here, where Goose's several
        // time formats are understood.
        let mut stmt = db
            .prepare_cached("SELECT * FROM sessions")
            .context("not a Goose database (no sessions table)")?;
        let mut rows = stmt.query([])?;
        let mut records = Vec::new();
        let mut next = watermark;
        while let Some(row) = rows.next()? {
            let id: String = row.get("id")?;
            let updated = text(row, "updated_at").and_then(|t| goose_time(&t));
            if let Some(updated) = updated {
                if updated <= watermark.saturating_sub(SLACK_MS) {
                    continue;
                }
                next = next.max(updated);
            }
            match record_of(row) {
                Ok(Some(mut record)) => {
                    record.line_session_id = Some(id.clone());
                    record.message_id = Some(id);
                    records.push(record);
                }
                Ok(None) => {}
                Err(e) => log::warn!("Goose session {id}: {e:#}; not counted"),
            }
        }
        Ok((records, next.to_string()))
    }
}

#[derive(Deserialize)]
struct ModelConfig {
    model_name: Option<String>,
}

/// A column by name: `None` where the schema has no such column or the value is NULL.
fn column<T: rusqlite::types::FromSql>(row: &Row<'_>, name: &str) -> Option<T> {
    row.get::<_, Option<T>>(name).ok().flatten()
}

/// A text column, or an integer one written as text (Goose's times are either).
fn text(row: &Row<'_>, name: &str) -> Option<String> {
    column::<String>(row, name).or_else(|| column::<i64>(row, name).map(|n| n.to_string()))
}

/// A count: the first of `names` that is above 0.
fn count(row: &Row<'_>, names: [&str; 2]) -> Option<u64> {
    names
        .iter()
        .filter_map(|name| column::<i64>(row, name))
        .find(|n| *n > 0)
        .map(|n| n as u64)
}

/// The record of one `sessions` row: `None` for a session that used nothing.
fn record_of(row: &Row<'_>) -> Result<Option<Record>> {
    let input = count(row, ["accumulated_input_tokens", "input_tokens"]).unwrap_or(0);
    let output = count(row, ["accumulated_output_tokens", "output_tokens"]).unwrap_or(0);
    let total = count(row, ["accumulated_total_tokens", "total_tokens"]).unwrap_or(0);
    let thinking = total.saturating_sub(input.saturating_add(output));
    let tokens = Tokens {
        input,
        output: output.saturating_add(thinking),
        ..Tokens::default()
    };
    if tokens.total() == 0 {
        return Ok(None);
    }
    let created = text(row, "created_at").context("no created_at")?;
    let ts_ms = goose_time(&created).with_context(|| format!("created_at {created:?}"))?;
    let model = column::<String>(row, "model_config_json")
        .and_then(|json| serde_json::from_str::<ModelConfig>(&json).ok())
        .and_then(|config| config.model_name)
        .map(|m| m.trim().to_string())
        .filter(|m| !m.is_empty());
    let cwd = column::<String>(row, "working_dir").filter(|d| !d.is_empty());
    let record = Record {
        agent: Agent::Goose,
        ts_ms,
        model: Some(model.unwrap_or_else(|| NO_MODEL.to_string())),
        tokens,
        reasoning: thinking,
        cost_usd: column::<f64>(row, "accumulated_cost").filter(|c| c.is_finite() && *c > 0.0),
        project: cwd.as_deref().map(project_of_cwd),
        cwd,
        ..Record::default()
    };
    // The ledger's ranges, as every source's lines pass them (`limits::admit`).
    crate::limits::check(&record).map_err(anyhow::Error::msg)?;
    Ok(Some(record))
}

/// A Goose time in milliseconds: SQLite's `CURRENT_TIMESTAMP` (`2026-04-26 14:30:00`,
/// UTC), RFC 3339, epoch seconds or milliseconds, or a bare date (ccusage's formats).
fn goose_time(value: &str) -> Option<i64> {
    let value = value.trim();
    if let Ok(n) = value.parse::<i64>() {
        return Some(if n > 1_000_000_000_000 {
            n
        } else {
            n.checked_mul(1000)?
        });
    }
    if let Ok(ms) = line_time(Some(value)) {
        return Some(ms);
    }
    let civil = match value.len() {
        10 => format!("{value}T00:00:00"),
        _ => value.replacen(' ', "T", 1),
    };
    let civil: jiff::civil::DateTime = civil.parse().ok()?;
    Some(
        jiff::tz::TimeZone::UTC
            .to_timestamp(civil)
            .ok()?
            .as_millisecond(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goose_times_in_each_of_their_formats() {
        let at = 1_777_213_800_000; // 2026-04-26T14:30:00Z
        for value in [
            "2026-04-26 14:30:00",
            "2026-04-26T14:30:00Z",
            "2026-04-26T14:30:00.000+00:00",
            "1777213800",
            "1777213800000",
        ] {
            assert_eq!(goose_time(value), Some(at), "{value}");
        }
        assert_eq!(goose_time("2026-04-26"), Some(at - 52_200_000));
        assert_eq!(goose_time("yesterday"), None);
    }

    #[test]
    fn only_sessions_db_is_gooses() {
        assert!(GOOSE.is_database("sessions.db"));
        for name in ["sessions.db-wal", "goose.db", "sessions.db.bak"] {
            assert!(!GOOSE.is_database(name), "{name}");
        }
    }
}
