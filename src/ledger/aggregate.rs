//! Keeps the report aggregates (`usage_by_time`, `usage_by_day`, `usage_by_project_day`,
//! `usage_by_session`, `usage_by_session_day`) equal to the sums of the ledger's rows up
//! to a watermark, `meta.aggregated_through` (an `entries.id`).
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

use std::sync::LazyLock;

use anyhow::Result;
use rusqlite::{Connection, OptionalExtension, Statement, ToSql, params, params_from_iter};

use crate::model::Agent;
use crate::model::{Record, Tokens};

/// merge.sql with this module's bucket sizes written in, so the SQL that fills the buckets
/// and the Rust that reads them cannot disagree.
fn merge_sql() -> &'static str {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        include_str!("sql/merge.sql")
            .replace("{bucket_ms}", &BUCKET_MS.to_string())
            .replace("{day_ms}", &DAY_MS.to_string())
    });
    &SQL
}

/// Recomputes every aggregate from `entries`. Call inside a write transaction.
pub fn rebuild(conn: &Connection) -> Result<()> {
    conn.execute_batch(include_str!("sql/rebuild.sql"))?;
    conn.execute_batch(merge_sql())?;
    Ok(())
}

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
    pub geo: Option<String>,
    pub tokens: Tokens,
    pub web_search: u64,
    pub cost_usd: Option<f64>,
    pub agent: Agent,
}

impl Row {
    /// The aggregate fields of `record`, stored in `session_id` of `project`.
    pub fn of(record: &Record, session_id: &str, project: &str) -> Row {
        Row {
            agent: record.agent,
            ts_ms: record.ts_ms,
            session_id: session_id.to_string(),
            project: project.to_string(),
            model: record.model.clone(),
            fast: record.speed.as_deref() == Some("fast"),
            geo: record.inference_geo.clone(),
            tokens: record.tokens,
            web_search: record.web_search,
            cost_usd: record.cost_usd,
        }
    }
}

/// What pricing tells rows apart by, and the agent whose rows they are: the key of every
/// aggregate, besides its time and project or session. `model` is '' for responses
/// without one, `geo` '' where none was recorded, as the `entry_keys` view says.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PricingKey {
    pub model: String,
    pub fast: bool,
    pub tier: u64,
    pub geo: String,
    pub has_cost_usd: bool,
    pub agent: Agent,
}

/// The tier class of an input side: the largest threshold it is above, or 0 (the
/// `entry_keys` view's `tier`). `thresholds` are the ledger's `price_tiers`.
pub fn tier_class(tokens: &Tokens, thresholds: &[u64]) -> u64 {
    let side = tokens.input + tokens.cache_creation() + tokens.cache_read;
    thresholds
        .iter()
        .copied()
        .filter(|&above| above < side)
        .max()
        .unwrap_or(0)
}

/// Sums of token kinds, web searches, costUSD and requests that may pass through negative
/// values: deltas of a flush, and quarter hours moving between dates in `query`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sums {
    pub tokens: [i64; 5],
    pub web_search: i64,
    pub cost_usd: f64,
    pub requests: i64,
    pub first_ms: i64,
    pub last_ms: i64,
}

impl Default for Sums {
    fn default() -> Sums {
        Sums {
            tokens: [0; 5],
            web_search: 0,
            cost_usd: 0.0,
            requests: 0,
            first_ms: i64::MAX,
            last_ms: i64::MIN,
        }
    }
}

impl Sums {
    /// Adds (`sign` 1) or takes away (-1) `requests` responses of these sums, active from
    /// `first_ms` to `last_ms`. Activity times only widen: a row that moved or went keeps
    /// its moment of activity.
    pub fn add(&mut self, part: &SumsPart, sign: i64) {
        for (sum, value) in self.tokens.iter_mut().zip(part.tokens.kinds()) {
            *sum += sign * value as i64;
        }
        self.web_search += sign * part.web_search as i64;
        self.cost_usd += sign as f64 * part.cost_usd;
        self.requests += sign * part.requests as i64;
        if sign > 0 {
            self.first_ms = self.first_ms.min(part.first_ms);
            self.last_ms = self.last_ms.max(part.last_ms);
        }
    }

    /// Nothing left: every delta added up to zero.
    pub fn is_empty(&self) -> bool {
        self.requests == 0 && self.tokens == [0; 5] && self.web_search == 0
    }

    /// The token sums as counts, `None` if any went below zero (the aggregates disagree
    /// with each other).
    pub fn counts(&self) -> Option<Tokens> {
        let [input, output, w5, w1, read] = self.tokens.map(|t| u64::try_from(t).ok());
        Some(Tokens {
            input: input?,
            output: output?,
            cache_write_5m: w5?,
            cache_write_1h: w1?,
            cache_read: read?,
        })
    }
}

/// What one row, or one aggregate row, adds to `Sums`.
#[derive(Clone, Copy, Debug)]
pub struct SumsPart {
    pub tokens: Tokens,
    pub web_search: u64,
    pub cost_usd: f64,
    pub requests: u64,
    pub first_ms: i64,
    pub last_ms: i64,
}

impl Row {
    fn part(&self) -> SumsPart {
        SumsPart {
            tokens: self.tokens,
            web_search: self.web_search,
            cost_usd: self.cost_usd.unwrap_or(0.0),
            requests: 1,
            first_ms: self.ts_ms,
            last_ms: self.ts_ms,
        }
    }
}

/// How an upsert adds a delta to the sums every aggregate keeps.
const ADD_SUMS: &str = "input = input + excluded.input, output = output + excluded.output,
    cache_write_5m = cache_write_5m + excluded.cache_write_5m,
    cache_write_1h = cache_write_1h + excluded.cache_write_1h,
    cache_read = cache_read + excluded.cache_read, web_search = web_search + excluded.web_search,
    cost_usd = cost_usd + excluded.cost_usd, requests = requests + excluded.requests";

/// Deltas gathered during one flush, keyed as `entry_keys` keys rows.
#[derive(Debug, Default)]
pub struct Deltas {
    /// (quarter hour, project) and the pricing key.
    by_time: ByProject,
    /// Keyed without the project, as `usage_by_day` is.
    by_day: foldhash::HashMap<(i64, PricingKey), Sums>,
    /// (UTC day, project) and the pricing key.
    by_project_day: ByProject,
    /// (session, quarter hour, project) and the pricing key.
    by_session: BySession,
    /// (session, UTC day, project) and the pricing key.
    by_session_day: BySession,
}

/// Deltas of an aggregate keyed by a time and a project (`usage_by_time`,
/// `usage_by_project_day`).
type ByProject = foldhash::HashMap<(i64, String, PricingKey), Sums>;

/// Deltas of an aggregate keyed by session, time and project (`usage_by_session`,
/// `usage_by_session_day`).
type BySession = foldhash::HashMap<(String, i64, String, PricingKey), Sums>;

impl Deltas {
    pub fn add(&mut self, row: &Row, thresholds: &[u64]) {
        self.apply(row, thresholds, 1);
    }

    pub fn remove(&mut self, row: &Row, thresholds: &[u64]) {
        self.apply(row, thresholds, -1);
    }

    fn apply(&mut self, row: &Row, thresholds: &[u64], sign: i64) {
        let key = PricingKey {
            model: row.model.clone().unwrap_or_default(),
            fast: row.fast,
            tier: tier_class(&row.tokens, thresholds),
            geo: row.geo.clone().unwrap_or_default(),
            has_cost_usd: row.cost_usd.is_some(),
            agent: row.agent,
        };
        let part = row.part();
        let bucket = row.ts_ms.div_euclid(BUCKET_MS) * BUCKET_MS;
        let day = row.ts_ms.div_euclid(DAY_MS) * DAY_MS;
        for (map, at) in [(&mut self.by_time, bucket), (&mut self.by_project_day, day)] {
            map.entry((at, row.project.clone(), key.clone()))
                .or_default()
                .add(&part, sign);
        }
        self.by_day
            .entry((day, key.clone()))
            .or_default()
            .add(&part, sign);
        for (map, at) in [
            (&mut self.by_session, bucket),
            (&mut self.by_session_day, day),
        ] {
            map.entry((row.session_id.clone(), at, row.project.clone(), key.clone()))
                .or_default()
                .add(&part, sign);
        }
    }

    /// Writes the summed deltas: one upsert per key.
    pub fn write(&self, conn: &Connection) -> Result<()> {
        // Most flushes only add rows above the watermark: nothing to write. (Every delta
        // goes to every aggregate, so one empty map means all are.)
        if self.by_day.is_empty() {
            return Ok(());
        }
        write_by_project(conn, "usage_by_time", &self.by_time)?;
        write_by_project(conn, "usage_by_project_day", &self.by_project_day)?;
        let mut day = conn.prepare_cached(&format!(
            "INSERT INTO usage_by_day VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
             ON CONFLICT DO UPDATE SET {ADD_SUMS}"
        ))?;
        for ((day_ms, k), s) in &self.by_day {
            let key = params![day_ms, k.model, k.fast, k.tier, k.geo, k.has_cost_usd];
            upsert(&mut day, key, s, k.agent)?;
        }
        write_by_session(conn, "usage_by_session", &self.by_session)?;
        write_by_session(conn, "usage_by_session_day", &self.by_session_day)?;
        Ok(())
    }
}

/// Upserts the deltas of `table`, an aggregate keyed by a time and a project.
fn write_by_project(conn: &Connection, table: &str, deltas: &ByProject) -> Result<()> {
    let mut stmt = conn.prepare_cached(&format!(
        "INSERT INTO {table} VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
         ON CONFLICT DO UPDATE SET {ADD_SUMS}"
    ))?;
    for ((at, project, k), s) in deltas {
        let key = params![at, k.model, project, k.fast, k.tier, k.geo, k.has_cost_usd];
        upsert(&mut stmt, key, s, k.agent)?;
    }
    Ok(())
}

/// Upserts the deltas of `table`, an aggregate keyed by session, time and project.
fn write_by_session(conn: &Connection, table: &str, deltas: &BySession) -> Result<()> {
    let mut stmt = conn.prepare_cached(&format!(
        "INSERT INTO {table} VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)
         ON CONFLICT DO UPDATE SET
             first_ms = min(first_ms, excluded.first_ms), last_ms = max(last_ms, excluded.last_ms),
             {ADD_SUMS}"
    ))?;
    for ((session_id, at, project, k), s) in deltas {
        // A key only removed from has no activity of its own: its times change nothing
        // (Sums starts them at MAX and MIN).
        let key = params![
            session_id,
            at,
            k.model,
            project,
            k.fast,
            k.tier,
            k.geo,
            k.has_cost_usd,
            s.first_ms,
            s.last_ms
        ];
        upsert(&mut stmt, key, s, k.agent)?;
    }
    Ok(())
}

/// Runs an aggregate's upsert: its key columns, then the sums every aggregate keeps,
/// then its agent.
fn upsert(stmt: &mut Statement<'_>, key: &[&dyn ToSql], s: &Sums, agent: Agent) -> Result<()> {
    let [input, output, w5, w1, read] = s.tokens;
    let sums = params![
        input,
        output,
        w5,
        w1,
        read,
        s.web_search,
        s.cost_usd,
        s.requests,
        agent.name()
    ];
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
        conn.execute_batch(merge_sql())?;
    }
    Ok(())
}

/// Whether the aggregates equal the sums of the raw rows they hold (`doctor` and tests).
pub fn consistent(conn: &Connection) -> Result<bool> {
    let through = watermark(conn)?;
    let sums = "sum(input), sum(output), sum(cache_write_5m), sum(cache_write_1h),
                sum(cache_read), sum(web_search), count(*)";
    let columns = "input, output, cache_write_5m, cache_write_1h, cache_read, web_search, requests";
    let differences = |rows: String, aggregate: String| -> Result<i64> {
        let sql = format!("SELECT count(*) FROM ({rows} EXCEPT {aggregate})");
        Ok(conn.query_row(&sql, [through], |r| r.get(0))?)
    };
    let by_project = |at: i64, table: &str, time: &str| {
        differences(
            format!(
                "SELECT ts_ms / {at} * {at}, model, project, fast, tier, geo, has_cost_usd,
                        agent, {sums} FROM entry_keys WHERE id <= ?1 GROUP BY 1, 2, 3, 4, 5, 6, 7, 8"
            ),
            format!(
                "SELECT {time}, model, project, fast, tier, geo, has_cost_usd, agent, {columns}
                 FROM {table} WHERE requests > 0"
            ),
        )
    };
    let by_time = by_project(BUCKET_MS, "usage_by_time", "bucket_ms")?
        + by_project(DAY_MS, "usage_by_project_day", "day_ms")?;
    let by_day = differences(
        format!(
            "SELECT ts_ms / {DAY_MS} * {DAY_MS}, model, fast, tier, geo, has_cost_usd, agent,
                    {sums} FROM entry_keys WHERE id <= ?1 GROUP BY 1, 2, 3, 4, 5, 6, 7"
        ),
        format!(
            "SELECT day_ms, model, fast, tier, geo, has_cost_usd, agent, {columns}
             FROM usage_by_day WHERE requests > 0"
        ),
    )?;
    let by_session = |at: i64, table: &str, time: &str| {
        differences(
            format!(
                "SELECT session_id, ts_ms / {at} * {at}, model, project, fast, tier, geo,
                        has_cost_usd, agent, {sums} FROM entry_keys WHERE id <= ?1
                 GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9"
            ),
            format!(
                "SELECT session_id, {time}, model, project, fast, tier, geo, has_cost_usd, agent,
                        {columns}
                 FROM {table} WHERE requests > 0"
            ),
        )
    };
    let by_session = by_session(BUCKET_MS, "usage_by_session", "bucket_ms")?
        + by_session(DAY_MS, "usage_by_session_day", "day_ms")?;
    let rows: i64 = conn.query_row(
        "SELECT count(*) FROM entries WHERE id <= ?1",
        [through],
        |r| r.get(0),
    )?;
    let mut requests_equal = true;
    for table in TABLES {
        let requests: i64 = conn.query_row(
            &format!("SELECT coalesce(sum(requests), 0) FROM {table}"),
            [],
            |r| r.get(0),
        )?;
        requests_equal &= requests == rows;
    }
    Ok(by_time == 0 && by_day == 0 && by_session == 0 && requests_equal)
}

/// Every aggregate this module keeps.
const TABLES: [&str; 5] = [
    "usage_by_time",
    "usage_by_day",
    "usage_by_project_day",
    "usage_by_session",
    "usage_by_session_day",
];
