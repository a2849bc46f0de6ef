//! Hermes Agent (Nous Research): its SQLite state database, `state.db` in
//! `$HERMES_HOME` (a comma list, as ccusage reads it; Hermes itself takes one folder),
//! else `~/.hermes`. Hermes writes it in WAL mode while it runs.
//!
//! Hermes keeps usage per session, cumulative, on the session's row of
//! `sessions(id, model, billing_provider, started_at, input_tokens, output_tokens,
//! cache_read_tokens, cache_write_tokens, reasoning_tokens, estimated_cost_usd,
//! actual_cost_usd, …)` (its `hermes_state_usage.py` adds each API call's counts to them,
//! or sets them from a gateway's cumulative report). So a session is one response to the
//! ledger, keyed by its id, as ccusage counts it: each read of a changed database reads
//! every session with usage, and a session whose counts grew replaces its row (the dedup
//! rules' rule 1, the larger copy wins); one read again adds nothing. No column says when a
//! session's counts last changed in every schema Hermes has had (`last_activity_at` is
//! recent), so there is no watermark: the read is of every session, and only when the
//! database or its WAL changed (one `stat` each otherwise). Sessions are few: one per
//! conversation, not per message.
//!
//! A session's time is `started_at` (seconds, or milliseconds above 10^12): a session that
//! runs past midnight is counted on the day it started, as ccusage counts it. Counts
//! have Anthropic's meanings (cache apart from input); reasoning is billed as output and
//! kept apart for display. Hermes' own cost, its actual one else its estimate, is used
//! in `auto` mode as Claude Code's `costUSD` is. A session without a model (none ran
//! yet) is not read, as ccusage reads none. Not read: Hermes profiles' own state
//! databases (`~/.hermes/profiles/<name>/`) unless `HERMES_HOME` names them.

use std::path::Path;

use anyhow::{Context, Result};
use rusqlite::Connection;

use crate::model::Agent;
use crate::model::{Record, Tokens};
use crate::sources::claude::roots::Roots;
use crate::sources::database::{DatabaseReader, NoLines};
use crate::sources::{Folder, LineParser, Shape, Source};

/// The variable Hermes (and ccusage) read for its home.
const HOME_VAR: &str = "HERMES_HOME";

pub static HERMES: Hermes = Hermes;

pub struct Hermes;

impl Source for Hermes {
    fn agent(&self) -> Agent {
        Agent::Hermes
    }

    fn shape(&self) -> Shape {
        Shape::Database
    }

    fn folders(&self, _claude: &Roots) -> Vec<Folder> {
        Folder::named_or(
            Agent::Hermes,
            HOME_VAR,
            crate::paths::home().map(|home| home.join(".hermes")),
        )
    }

    /// A database holds every session: each record names its own.
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

impl DatabaseReader for Hermes {
    fn is_database(&self, name: &str) -> bool {
        name == "state.db"
    }

    /// Every session with usage (see the module doc); the watermark stays as it was.
    fn read_since(&self, db: &Connection, watermark: &str) -> Result<(Vec<Record>, String)> {
        let watermark: i64 = watermark.parse().unwrap_or(0);
        let mut stmt = db
            .prepare_cached(
                "SELECT id, trim(model), started_at, input_tokens, output_tokens,
                        cache_read_tokens, cache_write_tokens, reasoning_tokens,
                        actual_cost_usd, estimated_cost_usd
                 FROM sessions WHERE model IS NOT NULL AND trim(model) != ''",
            )
            .context("not a Hermes state database (no sessions table)")?;
        let mut rows = stmt.query([])?;
        let mut records = Vec::new();
        while let Some(row) = rows.next()? {
            let id: String = row.get(0)?;
            match session(row) {
                Ok(Some(record)) => records.push(record),
                Ok(None) => {}
                Err(e) => log::warn!("Hermes session {id}: {e}; not counted"),
            }
        }
        Ok((records, watermark.to_string()))
    }
}

/// A count as Hermes stores it: an integer, a real, or NULL (none yet).
fn count(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<u64> {
    let value: Option<f64> = row.get(at)?;
    Ok(value
        .filter(|v| v.is_finite() && *v > 0.0)
        .map_or(0, |v| v as u64))
}

/// The record of one session's row: `None` for a session without usage yet.
fn session(row: &rusqlite::Row<'_>) -> Result<Option<Record>> {
    let id: String = row.get(0)?;
    let model: String = row.get(1)?;
    let reasoning = count(row, 7)?;
    let tokens = Tokens {
        input: count(row, 3)?,
        output: count(row, 4)?.saturating_add(reasoning),
        cache_write_5m: count(row, 6)?,
        cache_write_1h: 0,
        cache_read: count(row, 5)?,
    };
    let cost = |at| -> rusqlite::Result<Option<f64>> {
        let value: Option<f64> = row.get(at)?;
        Ok(value.filter(|c| c.is_finite() && *c > 0.0))
    };
    let cost_usd = cost(8)?.or(cost(9)?);
    if tokens.total() == 0 && cost_usd.is_none() {
        return Ok(None);
    }
    let started: Option<f64> = row.get(2)?;
    let started = started
        .filter(|s| s.is_finite() && *s > 0.0)
        .context("no started_at")?;
    let ts_ms = if started > 1e12 {
        started
    } else {
        started * 1000.0
    } as i64;
    let record = Record {
        agent: Agent::Hermes,
        ts_ms,
        message_id: Some(id.clone()),
        line_session_id: Some(id),
        model: Some(model),
        tokens,
        reasoning,
        cost_usd,
        ..Record::default()
    };
    // The ledger's ranges, as every source's lines pass them (`limits::admit`).
    crate::limits::check(&record).map_err(anyhow::Error::msg)?;
    Ok(Some(record))
}
