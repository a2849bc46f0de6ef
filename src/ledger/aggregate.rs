//! Keeps the report aggregates (`usage_by_time`, `usage_by_day`, `usage_by_session`) equal
//! to the sums of the ledger's rows up to a watermark, `meta.aggregated_through` (an
//! `entries.id`).
//!
//! New rows are not summed by the flush that writes them: aggregate keys are scattered
//! (a quarter hour, a session), so upserting them at every 100-row commit rewrote pages
//! all over both tables, a fifth of a cold ingest. Instead the rows above the watermark
//! are merged in bulk at the end of each pass (`merge`), in key order, and the watermark
//! moves in the same transaction. Reports add the rows above it from `entries` (see
//! `query`), so they are exact at any moment, even after a pass was killed.
//!
//! A flush that upgrades or removes a row at or below the watermark changes sums already
//! merged: such changes become signed deltas under their aggregate keys, summed in memory
//! and written with one upsert per key, in the flush's own transaction.

use anyhow::Result;
use rusqlite::{Connection, OptionalExtension, Statement, ToSql, params, params_from_iter};

use crate::ingest::parse::Tokens;
use crate::report::pricing::LONG_CONTEXT_INPUT;

/// Recomputes every aggregate from `entries`.
pub const REBUILD: &str = concat!(
    include_str!("sql/rebuild.sql"),
    include_str!("sql/merge.sql")
);

/// Sums the rows above the watermark into the aggregates and moves the watermark.
const MERGE: &str = include_str!("sql/merge.sql");

/// 15 minutes: every time zone's offset is a multiple of it (see `query`).
pub const BUCKET_MS: i64 = 15 * 60 * 1000;

/// A UTC day, the bucket of `usage_by_day`.
pub const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// The fields of a ledger row that the aggregates key and sum.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub ts_ms: i64,
    pub session_id: String,
    pub project: String,
    pub model: Option<String>,
    pub fast: bool,
    pub tokens: Tokens,
    pub cost_usd: Option<f64>,
}

/// What pricing needs to tell rows apart (see `query::Group`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Pricing {
    model: String,
    project: String,
    fast: bool,
    long_context: bool,
    has_cost_usd: bool,
}

#[derive(Clone, Copy, Debug, Default)]
struct Sums {
    tokens: [i64; 5],
    cost_usd: f64,
    requests: i64,
    first_ms: i64,
    last_ms: i64,
}

impl Sums {
    fn add(&mut self, row: &Row, sign: i64) {
        for (sum, value) in self.tokens.iter_mut().zip(row.tokens.kinds()) {
            *sum += sign * value as i64;
        }
        self.cost_usd += sign as f64 * row.cost_usd.unwrap_or(0.0);
        self.requests += sign;
        // Activity times only widen: a row that moved or went keeps its moment of activity.
        if sign > 0 {
            self.first_ms = self.first_ms.min(row.ts_ms);
            self.last_ms = self.last_ms.max(row.ts_ms);
        }
    }
}

/// How an upsert adds a delta to the sums every aggregate keeps.
const ADD_SUMS: &str = "input = input + excluded.input, output = output + excluded.output,
    cache_write_5m = cache_write_5m + excluded.cache_write_5m,
    cache_write_1h = cache_write_1h + excluded.cache_write_1h,
    cache_read = cache_read + excluded.cache_read,
    cost_usd = cost_usd + excluded.cost_usd, requests = requests + excluded.requests";

/// Deltas gathered during one flush.
#[derive(Debug, Default)]
pub struct Deltas {
    by_time: foldhash::HashMap<(i64, Pricing), Sums>,
    /// Keyed without the project (left empty), as `usage_by_day` is.
    by_day: foldhash::HashMap<(i64, Pricing), Sums>,
    by_session: foldhash::HashMap<(String, Pricing), Sums>,
}

impl Deltas {
    pub fn add(&mut self, row: &Row) {
        self.apply(row, 1);
    }

    pub fn remove(&mut self, row: &Row) {
        self.apply(row, -1);
    }

    fn apply(&mut self, row: &Row, sign: i64) {
        let t = &row.tokens;
        let pricing = Pricing {
            model: row.model.clone().unwrap_or_default(),
            project: row.project.clone(),
            fast: row.fast,
            long_context: t.input + t.cache_creation() + t.cache_read > LONG_CONTEXT_INPUT,
            has_cost_usd: row.cost_usd.is_some(),
        };
        let bucket = row.ts_ms.div_euclid(BUCKET_MS) * BUCKET_MS;
        let fresh = || Sums {
            first_ms: i64::MAX,
            last_ms: i64::MIN,
            ..Sums::default()
        };
        self.by_time
            .entry((bucket, pricing.clone()))
            .or_insert_with(fresh)
            .add(row, sign);
        let day = row.ts_ms.div_euclid(DAY_MS) * DAY_MS;
        let any_project = Pricing {
            project: String::new(),
            ..pricing.clone()
        };
        self.by_day
            .entry((day, any_project))
            .or_insert_with(fresh)
            .add(row, sign);
        self.by_session
            .entry((row.session_id.clone(), pricing))
            .or_insert_with(fresh)
            .add(row, sign);
    }

    /// Writes the summed deltas: one upsert per key.
    pub fn write(&self, conn: &Connection) -> Result<()> {
        // Most flushes only add rows above the watermark: nothing to write.
        if self.by_time.is_empty() && self.by_day.is_empty() && self.by_session.is_empty() {
            return Ok(());
        }
        let mut time = conn.prepare_cached(&format!(
            "INSERT INTO usage_by_time VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
             ON CONFLICT DO UPDATE SET {ADD_SUMS}"
        ))?;
        for ((bucket, p), s) in &self.by_time {
            let key = params![
                bucket,
                p.model,
                p.project,
                p.fast,
                p.long_context,
                p.has_cost_usd
            ];
            upsert(&mut time, key, s)?;
        }
        let mut day = conn.prepare_cached(&format!(
            "INSERT INTO usage_by_day VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
             ON CONFLICT DO UPDATE SET {ADD_SUMS}"
        ))?;
        for ((day_ms, p), s) in &self.by_day {
            let key = params![day_ms, p.model, p.fast, p.long_context, p.has_cost_usd];
            upsert(&mut day, key, s)?;
        }
        let mut session = conn.prepare_cached(&format!(
            "INSERT INTO usage_by_session VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
             ON CONFLICT DO UPDATE SET
                 first_ms = min(first_ms, excluded.first_ms), last_ms = max(last_ms, excluded.last_ms),
                 {ADD_SUMS}"
        ))?;
        for ((session_id, p), s) in &self.by_session {
            // A key only removed from has no activity of its own: its times change nothing.
            let (first, last) = if s.first_ms <= s.last_ms {
                (s.first_ms, s.last_ms)
            } else {
                (i64::MAX, i64::MIN)
            };
            let key = params![
                session_id,
                p.model,
                p.project,
                p.fast,
                p.long_context,
                p.has_cost_usd,
                first,
                last
            ];
            upsert(&mut session, key, s)?;
        }
        Ok(())
    }
}

/// Runs an aggregate's upsert: its key columns, then the sums every aggregate keeps.
fn upsert(stmt: &mut Statement<'_>, key: &[&dyn ToSql], s: &Sums) -> Result<()> {
    let [input, output, w5, w1, read] = s.tokens;
    let sums = params![input, output, w5, w1, read, s.cost_usd, s.requests];
    stmt.execute(params_from_iter(key.iter().chain(sums)))?;
    Ok(())
}

/// The last `entries.id` the aggregates hold.
pub fn watermark(conn: &Connection) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'aggregated_through'")?
        .query_row([], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

fn last_row(conn: &Connection) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT coalesce(max(id), 0) FROM entries")?
        .query_row([], |r| r.get(0))?)
}

/// Whether rows wait above the watermark.
pub fn pending(conn: &Connection) -> Result<bool> {
    Ok(last_row(conn)? > watermark(conn)?)
}

/// Sums the rows above the watermark into the aggregates and moves the watermark past
/// them. Call inside a write transaction.
pub fn merge(conn: &Connection) -> Result<()> {
    if pending(conn)? {
        conn.execute_batch(MERGE)?;
    }
    Ok(())
}

/// Whether the aggregates equal the sums of the raw rows they hold (`doctor` and tests).
pub fn consistent(conn: &Connection) -> Result<bool> {
    let through = watermark(conn)?;
    let differences: i64 = conn.query_row(
        "SELECT count(*) FROM (
             SELECT ts_ms / 900000 * 900000 AS bucket, coalesce(model, '') AS model, project,
                    speed IS 'fast' AS fast,
                    input + cache_write_5m + cache_write_1h + cache_read > ?1 AS long_context,
                    cost_usd IS NOT NULL AS has_cost_usd,
                    sum(input) AS input, sum(output) AS output, sum(cache_write_5m) AS w5,
                    sum(cache_write_1h) AS w1, sum(cache_read) AS read, count(*) AS requests
             FROM entries WHERE id <= ?2 GROUP BY 1, 2, 3, 4, 5, 6
             EXCEPT
             SELECT bucket_ms, model, project, fast, long_context, has_cost_usd, input, output,
                    cache_write_5m, cache_write_1h, cache_read, requests
             FROM usage_by_time WHERE requests > 0)",
        params![LONG_CONTEXT_INPUT, through],
        |r| r.get(0),
    )?;
    let day_differences: i64 = conn.query_row(
        "SELECT count(*) FROM (
             SELECT ts_ms / 86400000 * 86400000 AS day, coalesce(model, '') AS model,
                    speed IS 'fast' AS fast,
                    input + cache_write_5m + cache_write_1h + cache_read > ?1 AS long_context,
                    cost_usd IS NOT NULL AS has_cost_usd,
                    sum(input) AS input, sum(output) AS output, sum(cache_write_5m) AS w5,
                    sum(cache_write_1h) AS w1, sum(cache_read) AS read, count(*) AS requests
             FROM entries WHERE id <= ?2 GROUP BY 1, 2, 3, 4, 5
             EXCEPT
             SELECT day_ms, model, fast, long_context, has_cost_usd, input, output,
                    cache_write_5m, cache_write_1h, cache_read, requests
             FROM usage_by_day WHERE requests > 0)",
        params![LONG_CONTEXT_INPUT, through],
        |r| r.get(0),
    )?;
    let (rows, by_time, by_day, by_session): (i64, i64, i64, i64) = conn.query_row(
        "SELECT (SELECT count(*) FROM entries WHERE id <= ?1),
                (SELECT coalesce(sum(requests), 0) FROM usage_by_time),
                (SELECT coalesce(sum(requests), 0) FROM usage_by_day),
                (SELECT coalesce(sum(requests), 0) FROM usage_by_session)",
        [through],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    Ok(differences == 0
        && day_differences == 0
        && rows == by_time
        && rows == by_day
        && rows == by_session)
}
