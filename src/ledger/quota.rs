//! The quota samples (`quota_samples`, migration 14): what agents said of their plans'
//! windows, written by the ingest (Codex's events, Claude Code's limit-hit lines) and by
//! every status-line call (Claude Code's `rate_limits`), read by `report::quota`.
//!
//! The write is the one rule for every source: a row per change of a window's use. A
//! sample equal to the row before it (in time) only extends that row's `last_seen_ms`,
//! so a status line called after every message adds a row only when the percent moved,
//! and an event read twice changes nothing. Out-of-order samples land where their time
//! puts them; the report takes the peak as the max and the latest as the row seen last.
//!
//! Samples are written through a `Recorder`, one per transaction. Codex reports two
//! windows at every event, so a first ingest brings tens of thousands of samples; the
//! recorder takes a transaction's samples in time order within each window and holds
//! each window's latest row in memory, so a sample at or after it is decided without a
//! query, and the row is written once, when the next change follows it or the
//! transaction ends, not once per sample. A sample older than its window's latest row
//! takes the general path (`record_one`), which the held row cannot affect: it only ever
//! touches rows seen before it.

use std::collections::HashMap;

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

/// The window's latest row: what the recorder holds.
const LATEST: &str = "SELECT seen_ms, last_seen_ms, used_percent, window_minutes, hit
     FROM quota_samples
     WHERE agent = ?1 AND window_name = ?2 AND resets_at_ms = ?3
     ORDER BY seen_ms DESC LIMIT 1";

/// A new row, or a sample at the time of a row there already: the higher use stays.
const INSERT: &str = "INSERT INTO quota_samples (agent, window_name, resets_at_ms, seen_ms,
         last_seen_ms, used_percent, window_minutes, hit)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
     ON CONFLICT DO UPDATE SET used_percent = max(used_percent, excluded.used_percent),
         last_seen_ms = max(last_seen_ms, excluded.last_seen_ms),
         hit = max(hit, excluded.hit)";

/// A window: an agent's window by name and reset time (rounded, see `RESET_UNIT_MS`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Window {
    agent: Agent,
    name: String,
    resets_at_ms: i64,
}

/// A window's latest row as the recorder holds it, and how it differs from the table.
#[derive(Clone, Debug)]
struct Row {
    seen_ms: i64,
    last_seen_ms: i64,
    used_percent: f64,
    window_minutes: Option<i64>,
    hit: bool,
    held: Held,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Held {
    /// As the table has it.
    Stored,
    /// In the table, with a later `last_seen_ms`, a higher use or a hit to write.
    Changed,
    /// Not in the table yet.
    New,
}

/// Records the samples of one transaction (see the module doc); `finish` writes them,
/// and must run before the transaction commits.
pub struct Recorder<'c> {
    tx: &'c Connection,
    /// The samples recorded, their resets rounded.
    queued: Vec<RateLimit>,
    /// Each window a sample named, and its latest row (`None`: it has none yet).
    latest: HashMap<Window, Option<Row>>,
}

impl<'c> Recorder<'c> {
    pub fn new(tx: &'c Connection) -> Recorder<'c> {
        Recorder {
            tx,
            queued: Vec::new(),
            latest: HashMap::new(),
        }
    }

    /// Records one sample (see the module doc).
    pub fn record(&mut self, sample: &RateLimit) -> Result<()> {
        self.queued.push(RateLimit {
            resets_at_ms: rounded_reset(sample.resets_at_ms),
            ..sample.clone()
        });
        Ok(())
    }

    /// Writes the samples recorded, and the rows held that the table does not have as
    /// they are. The samples go in time order within each window: sessions read one
    /// after another overlap in time, and a sample before its window's latest row costs
    /// queries where one in order costs none.
    pub fn finish(mut self) -> Result<()> {
        let mut queued = std::mem::take(&mut self.queued);
        queued.sort_by(|a, b| {
            (a.agent, &a.window, a.resets_at_ms, a.seen_ms).cmp(&(
                b.agent,
                &b.window,
                b.resets_at_ms,
                b.seen_ms,
            ))
        });
        for sample in &queued {
            self.apply(sample)?;
        }
        for (window, row) in &self.latest {
            if let Some(row) = row {
                write(self.tx, window, row)?;
            }
        }
        Ok(())
    }

    fn apply(&mut self, sample: &RateLimit) -> Result<()> {
        let window = Window {
            agent: sample.agent,
            name: sample.window.clone(),
            resets_at_ms: sample.resets_at_ms,
        };
        let latest = match self.latest.entry(window) {
            std::collections::hash_map::Entry::Occupied(held) => held.into_mut(),
            std::collections::hash_map::Entry::Vacant(new) => {
                let row = latest_row(self.tx, new.key())?;
                new.insert(row)
            }
        };
        match latest {
            None => *latest = Some(Row::of(sample)),
            Some(row) if sample.seen_ms < row.seen_ms => record_one(self.tx, sample)?,
            Some(row) if sample.used_percent == row.used_percent => {
                row.last_seen_ms = row.last_seen_ms.max(sample.seen_ms);
                row.hit |= sample.hit;
                row.changed();
            }
            Some(row) if sample.seen_ms == row.seen_ms => {
                // Two uses at one time: the higher stays (the insert's conflict rule).
                row.used_percent = row.used_percent.max(sample.used_percent);
                row.hit |= sample.hit;
                row.changed();
            }
            Some(row) => {
                let window = Window {
                    agent: sample.agent,
                    name: sample.window.clone(),
                    resets_at_ms: sample.resets_at_ms,
                };
                write(self.tx, &window, row)?;
                *row = Row::of(sample);
            }
        }
        Ok(())
    }
}

impl Row {
    fn of(sample: &RateLimit) -> Row {
        Row {
            seen_ms: sample.seen_ms,
            last_seen_ms: sample.seen_ms,
            used_percent: sample.used_percent,
            window_minutes: sample.window_minutes,
            hit: sample.hit,
            held: Held::New,
        }
    }

    fn changed(&mut self) {
        if self.held == Held::Stored {
            self.held = Held::Changed;
        }
    }
}

/// Saturating: a reset time from a hostile file may sit at i64's edge.
fn rounded_reset(resets_at_ms: i64) -> i64 {
    resets_at_ms
        .saturating_add(RESET_UNIT_MS / 2)
        .div_euclid(RESET_UNIT_MS)
        * RESET_UNIT_MS
}

fn latest_row(tx: &Connection, window: &Window) -> Result<Option<Row>> {
    Ok(tx
        .prepare_cached(LATEST)?
        .query_row(
            params![window.agent, window.name, window.resets_at_ms],
            |r| {
                Ok(Row {
                    seen_ms: r.get(0)?,
                    last_seen_ms: r.get(1)?,
                    used_percent: r.get(2)?,
                    window_minutes: r.get(3)?,
                    hit: r.get(4)?,
                    held: Held::Stored,
                })
            },
        )
        .optional()?)
}

/// Writes a held row, if the table does not have it as it is.
fn write(tx: &Connection, window: &Window, row: &Row) -> Result<()> {
    let context = || {
        format!(
            "recording {}'s {} window (resets at {} ms)",
            window.agent.name(),
            window.name,
            window.resets_at_ms
        )
    };
    match row.held {
        Held::Stored => {}
        Held::Changed => {
            tx.prepare_cached(
                "UPDATE quota_samples SET last_seen_ms = ?5, used_percent = ?6, hit = ?7
                 WHERE agent = ?1 AND window_name = ?2 AND resets_at_ms = ?3 AND seen_ms = ?4",
            )?
            .execute(params![
                window.agent,
                window.name,
                window.resets_at_ms,
                row.seen_ms,
                row.last_seen_ms,
                row.used_percent,
                row.hit
            ])
            .with_context(context)?;
        }
        Held::New => {
            tx.prepare_cached(INSERT)?
                .execute(params![
                    window.agent,
                    window.name,
                    window.resets_at_ms,
                    row.seen_ms,
                    row.last_seen_ms,
                    row.used_percent,
                    row.window_minutes,
                    row.hit
                ])
                .with_context(context)?;
        }
    }
    Ok(())
}

/// Records one sample (reset already rounded) against the table alone: the row at or
/// before its time extends, or a new row follows it.
fn record_one(tx: &Connection, sample: &RateLimit) -> Result<()> {
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
    let window = Window {
        agent: sample.agent,
        name: sample.window.clone(),
        resets_at_ms: sample.resets_at_ms,
    };
    let row = match before {
        Some((seen_ms, used)) if used == sample.used_percent => Row {
            seen_ms,
            // The update keeps the later of the two (`max` in `INSERT`'s conflict rule).
            last_seen_ms: sample.seen_ms,
            used_percent: used,
            window_minutes: sample.window_minutes,
            hit: sample.hit,
            held: Held::New,
        },
        _ => Row::of(sample),
    };
    write(tx, &window, &row)
}

/// Records samples in one transaction (the status line's, outside any pass). Fails at
/// once, without waiting, when another process holds the write lock and the store was
/// opened not to wait.
pub fn record_all(conn: &Connection, samples: &[RateLimit]) -> Result<()> {
    if samples.is_empty() {
        return Ok(());
    }
    let tx = conn.unchecked_transaction()?;
    let mut recorder = Recorder::new(&tx);
    for sample in samples {
        recorder.record(sample)?;
    }
    recorder.finish()?;
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

    fn sample(window: &str, used: f64, seen_ms: i64, hit: bool) -> RateLimit {
        RateLimit {
            agent: Agent::Codex,
            window: window.to_string(),
            window_minutes: Some(300),
            resets_at_ms: 1_756_882_800_000,
            used_percent: used,
            seen_ms,
            hit,
        }
    }

    fn rows(conn: &Connection) -> Vec<(String, i64, i64, i64, f64, bool)> {
        let mut stmt = conn
            .prepare(
                "SELECT window_name, resets_at_ms, seen_ms, last_seen_ms, used_percent, hit
                 FROM quota_samples ORDER BY 1, 2, 3",
            )
            .unwrap();
        stmt.query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
    }

    /// The recorder holds rows back and skips lookups, but leaves the table as recording
    /// each sample against the table alone does, a transaction's samples in time order:
    /// samples in order and out of it, repeats, two uses at one time, hits, over several
    /// transactions.
    #[test]
    fn the_recorder_leaves_the_rows_each_sample_alone_would() {
        let mut seed = 7u64;
        let mut next = |n: u64| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (seed >> 33) % n
        };
        let samples: Vec<RateLimit> = (0..600)
            .map(|i| {
                // Mostly forward in time, now and then back (a file read late).
                let back = next(10) == 0;
                let seen =
                    1_756_872_000_000 + i * 1000 - if back { next(300) as i64 * 1000 } else { 0 };
                let window = ["five_hour", "seven_day"][next(2) as usize];
                sample(window, next(4) as f64, seen, next(40) == 0)
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let one = crate::ledger::Store::open(&dir.path().join("one.db")).unwrap();
        for chunk in samples.chunks(97) {
            let mut chunk = chunk.to_vec();
            chunk.sort_by(|a, b| (&a.window, a.seen_ms).cmp(&(&b.window, b.seen_ms)));
            for s in &chunk {
                let mut s = s.clone();
                s.resets_at_ms = rounded_reset(s.resets_at_ms);
                record_one(one.conn(), &s).unwrap();
            }
        }
        let held = crate::ledger::Store::open(&dir.path().join("held.db")).unwrap();
        for chunk in samples.chunks(97) {
            record_all(held.conn(), chunk).unwrap();
        }
        let want = rows(one.conn());
        assert!(want.len() > 100, "{} rows: the samples change", want.len());
        assert_eq!(rows(held.conn()), want);
    }

    /// Codex reports its windows at every `token_count` event: the lookups before each
    /// write must be planned once, not parsed and planned again at every event (they were:
    /// half of a cold Codex ingest, see `ledger::plan_once`).
    #[test]
    fn a_sample_lookup_is_planned_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::ledger::Store::open(&dir.path().join("l.db")).unwrap();
        // A transaction each, as the status line records them: a lookup each.
        for i in 0..50 {
            let window = if i % 2 == 0 { "five_hour" } else { "seven_day" };
            let late = sample(window, (i % 7) as f64, 1_756_872_907_072 + i * 1000, false);
            let early = RateLimit {
                seen_ms: late.seen_ms - 500,
                ..late.clone()
            };
            record_all(store.conn(), &[late, early]).unwrap();
        }
        for sql in [LATEST, SAMPLE_BEFORE, INSERT] {
            let replanned = store
                .conn()
                .prepare_cached(sql)
                .unwrap()
                .get_status(rusqlite::StatementStatus::RePrepare);
            assert_eq!(
                replanned, 0,
                "re-planned at {replanned} of 50 samples: {sql}"
            );
        }
    }
}
