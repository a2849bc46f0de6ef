//! The quota samples (`quota_samples`, migration 14): what agents said of their plans'
//! windows, written by the ingest (Codex's events, Claude Code's limit-hit lines) and by
//! every status-line call (Claude Code's `rate_limits`), read by `report::quota`.
//!
//! The write is the one rule for every source: a row per change of a window's use. A
//! sample equal to the row before it (in time) only extends that row's `last_seen_ms`,
//! so a status line called after every message adds a row only when the percent moved,
//! and an event read twice changes nothing. Out-of-order samples land where their time
//! puts them; the report takes the peak as the max and the latest as the row seen last.

use anyhow::{Context, Result};
use rusqlite::{Connection, OptionalExtension, params};

use crate::model::{Agent, RateLimit};

/// Windows are identified by their reset time to the minute: an agent that computes it
/// afresh at each report (now + the time left) names the same window a second apart.
const RESET_UNIT_MS: i64 = 60_000;

/// The window's row at or before a sample's time: the sample extends it or follows it.
const SAMPLE_BEFORE: &str = "SELECT seen_ms, used_percent FROM quota_samples
     WHERE agent = ?1 AND window_name = ?2 AND resets_at_ms = ?3 AND seen_ms <= ?4
     ORDER BY seen_ms DESC LIMIT 1";

/// Records one sample (see the module doc).
pub fn record(tx: &Connection, sample: &RateLimit) -> Result<()> {
    let sample = &RateLimit {
        // Saturating: a reset time from a hostile file may sit at i64's edge.
        resets_at_ms: sample
            .resets_at_ms
            .saturating_add(RESET_UNIT_MS / 2)
            .div_euclid(RESET_UNIT_MS)
            * RESET_UNIT_MS,
        ..sample.clone()
    };
    let before: Option<(i64, f64)> = tx
        .prepare_cached(SAMPLE_BEFORE)?
        .query_row(
            params![
                sample.agent,
                sample.window,
                sample.resets_at_ms,
                sample.seen_ms
            ],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let context = || {
        format!(
            "recording {}'s {} window (resets at {} ms)",
            sample.agent.name(),
            sample.window,
            sample.resets_at_ms
        )
    };
    match before {
        Some((seen_ms, used)) if used == sample.used_percent => {
            tx.prepare_cached(
                "UPDATE quota_samples SET last_seen_ms = max(last_seen_ms, ?5),
                     hit = max(hit, ?6)
                 WHERE agent = ?1 AND window_name = ?2 AND resets_at_ms = ?3 AND seen_ms = ?4",
            )?
            .execute(params![
                sample.agent,
                sample.window,
                sample.resets_at_ms,
                seen_ms,
                sample.seen_ms,
                sample.hit
            ])
            .with_context(context)?;
        }
        _ => {
            tx.prepare_cached(
                "INSERT INTO quota_samples (agent, window_name, resets_at_ms, seen_ms, last_seen_ms,
                     used_percent, window_minutes, hit)
                 VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6, ?7)
                 ON CONFLICT DO UPDATE SET used_percent = max(used_percent, excluded.used_percent),
                     hit = max(hit, excluded.hit)",
            )?
            .execute(params![
                sample.agent,
                sample.window,
                sample.resets_at_ms,
                sample.seen_ms,
                sample.used_percent,
                sample.window_minutes,
                sample.hit
            ])
            .with_context(context)?;
        }
    }
    Ok(())
}

/// Records samples in one transaction (the status line's, outside any pass). Fails at
/// once, without waiting, when another process holds the write lock and the store was
/// opened not to wait.
pub fn record_all(conn: &Connection, samples: &[RateLimit]) -> Result<()> {
    if samples.is_empty() {
        return Ok(());
    }
    let tx = conn.unchecked_transaction()?;
    for sample in samples {
        record(&tx, sample)?;
    }
    tx.commit()?;
    Ok(())
}

/// One window of one agent, as the samples tell it: a window per agent, name and reset.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowSamples {
    pub agent: Agent,
    pub window: String,
    pub window_minutes: Option<i64>,
    pub resets_at_ms: i64,
    /// The highest use any sample gave.
    pub peak_percent: f64,
    /// The use of the sample seen last, and when.
    pub latest_percent: f64,
    pub last_seen_ms: i64,
    /// A limit-hit line named this window.
    pub hit: bool,
}

/// Every window of `agents` (empty: every agent's) that resets after `since_ms`, oldest
/// reset first.
pub fn windows(conn: &Connection, agents: &[Agent], since_ms: i64) -> Result<Vec<WindowSamples>> {
    let names: Vec<&str> = agents.iter().map(|a| a.name()).collect();
    let agents_param = (!names.is_empty()).then(|| format!(",{},", names.join(",")));
    // The latest is the row seen last (ties: the higher).
    let mut stmt = conn.prepare_cached(
        "SELECT agent, window_name, max(window_minutes), resets_at_ms, max(used_percent),
                max(hit), (SELECT used_percent FROM quota_samples l
                           WHERE l.agent = s.agent AND l.window_name = s.window_name
                             AND l.resets_at_ms = s.resets_at_ms
                           ORDER BY last_seen_ms DESC, used_percent DESC LIMIT 1),
                max(last_seen_ms)
         FROM quota_samples s
         WHERE resets_at_ms > ?1 AND (?2 IS NULL OR instr(?2, ',' || agent || ',') > 0)
         GROUP BY agent, window_name, resets_at_ms
         ORDER BY resets_at_ms, agent, window_name",
    )?;
    let rows = stmt.query_map(params![since_ms, agents_param], |r| {
        Ok(WindowSamples {
            agent: r.get(0)?,
            window: r.get(1)?,
            window_minutes: r.get(2)?,
            resets_at_ms: r.get(3)?,
            peak_percent: r.get(4)?,
            hit: r.get(5)?,
            latest_percent: r.get(6)?,
            last_seen_ms: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Codex reports its windows at every `token_count` event: the lookup before each
    /// write must be planned once, not parsed and planned again at every event (it was:
    /// half of a cold Codex ingest, see `ledger::plan_once`).
    #[test]
    fn a_sample_lookup_is_planned_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::ledger::Store::open(&dir.path().join("l.db")).unwrap();
        let samples: Vec<RateLimit> = (0..50)
            .map(|i| RateLimit {
                agent: Agent::Codex,
                window: if i % 2 == 0 { "five_hour" } else { "seven_day" }.to_string(),
                window_minutes: Some(300),
                resets_at_ms: 1_756_882_800_000,
                used_percent: (i % 7) as f64,
                seen_ms: 1_756_872_907_072 + i * 1000,
                hit: false,
            })
            .collect();
        record_all(store.conn(), &samples).unwrap();
        let replanned = store
            .conn()
            .prepare_cached(SAMPLE_BEFORE)
            .unwrap()
            .get_status(rusqlite::StatementStatus::RePrepare);
        assert_eq!(replanned, 0, "re-planned at {replanned} of 50 samples");
    }
}
