//! Keeps the report aggregates (`usage_by_time`, `usage_by_day`, `usage_by_project_day`,
//! `usage_by_session`, `usage_by_session_day`) equal to the sums of the ledger's rows up
//! to a watermark, `meta.aggregated_through` (an `entries.id`).
//!
//! New rows are not written into the aggregates by the flush that writes them: aggregate
//! keys are scattered (a quarter hour, a session), so upserting them at every 100-row
//! commit rewrote pages all over the tables, a fifth of a cold ingest. Instead the flushes
//! sum the rows they add above the watermark in memory (`Pending`), and the end of the
//! pass writes those sums in key order and moves the watermark in the same transaction.
//! When the sums in memory do not stand for every row above the watermark (a pass was
//! killed, another process wrote), `merge` sums those rows from `entries` instead
//! (`merge.sql`). Reports add the rows above the watermark from `entries` (see `query`),
//! so they are exact at any moment.
//!
//! A flush that upgrades or removes a row at or below the watermark changes sums already
//! merged: such changes become signed deltas under their aggregate keys, summed in memory
//! and written with one upsert per key, in the flush's own transaction.

use std::borrow::Cow;
use std::sync::Arc;
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

/// The fields of a ledger row that the aggregates key and sum, borrowed from a record
/// being written or owned when read back from `entries`.
#[derive(Clone, Debug, PartialEq)]
pub struct Row<'a> {
    pub ts_ms: i64,
    pub session_id: Cow<'a, str>,
    pub project: Cow<'a, str>,
    pub model: Option<Cow<'a, str>>,
    pub fast: bool,
    pub geo: Option<Cow<'a, str>>,
    pub tokens: Tokens,
    pub web_search: u64,
    pub cost_usd: Option<f64>,
    pub agent: Agent,
}

impl<'a> Row<'a> {
    /// The aggregate fields of `record`, stored in `session_id` of `project`.
    pub fn of(record: &'a Record, session_id: &'a str, project: &'a str) -> Row<'a> {
        Row {
            agent: record.agent,
            ts_ms: record.ts_ms,
            session_id: Cow::Borrowed(session_id),
            project: Cow::Borrowed(project),
            model: record.model.as_deref().map(Cow::Borrowed),
            fast: record.speed.as_deref() == Some("fast"),
            geo: record.inference_geo.as_deref().map(Cow::Borrowed),
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

    /// Adds `other`, sums of other rows under a coarser key.
    fn merge(&mut self, other: &Sums) {
        for (sum, value) in self.tokens.iter_mut().zip(other.tokens) {
            *sum += value;
        }
        self.web_search += other.web_search;
        self.cost_usd += other.cost_usd;
        self.requests += other.requests;
        self.first_ms = self.first_ms.min(other.first_ms);
        self.last_ms = self.last_ms.max(other.last_ms);
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

impl Row<'_> {
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

/// Signed sums of rows, keyed as `entry_keys` keys them: a flush's changes to rows the
/// aggregates hold, or the rows a pass added above the watermark (`Pending`).
///
/// Only the finest key is kept, (session, quarter hour, project, pricing key): every
/// aggregate is a coarser sum of it, grouped when written. Strings are interned, so a key
/// is a few numbers: a pass's sums hold tens of thousands of keys.
#[derive(Debug, Default)]
pub struct Deltas {
    strings: Strings,
    sums: foldhash::HashMap<FineKey, Sums>,
}

/// The finest aggregate key, its strings as `Strings` ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct FineKey {
    session: u32,
    bucket_ms: i64,
    project: u32,
    model: u32,
    geo: u32,
    tier: u64,
    fast: bool,
    has_cost_usd: bool,
    agent: Agent,
}

/// Each distinct string once, by id.
#[derive(Debug, Default)]
struct Strings {
    ids: foldhash::HashMap<Arc<str>, u32>,
    values: Vec<Arc<str>>,
}

impl Strings {
    fn id(&mut self, value: &str) -> u32 {
        if let Some(&id) = self.ids.get(value) {
            return id;
        }
        let id = u32::try_from(self.values.len()).expect("fewer than 2^32 distinct strings");
        let value: Arc<str> = Arc::from(value);
        self.values.push(Arc::clone(&value));
        self.ids.insert(value, id);
        id
    }

    fn get(&self, id: u32) -> &str {
        &self.values[id as usize]
    }
}

impl Deltas {
    pub fn add(&mut self, row: &Row<'_>, thresholds: &[u64]) {
        self.apply(row, thresholds, 1);
    }

    pub fn remove(&mut self, row: &Row<'_>, thresholds: &[u64]) {
        self.apply(row, thresholds, -1);
    }

    /// How many keys the sums hold (what their memory grows with).
    pub fn len(&self) -> usize {
        self.sums.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sums.is_empty()
    }

    fn apply(&mut self, row: &Row<'_>, thresholds: &[u64], sign: i64) {
        let key = self.key(row, thresholds);
        self.sums.entry(key).or_default().add(&row.part(), sign);
    }

    fn key(&mut self, row: &Row<'_>, thresholds: &[u64]) -> FineKey {
        FineKey {
            session: self.strings.id(&row.session_id),
            bucket_ms: row.ts_ms.div_euclid(BUCKET_MS) * BUCKET_MS,
            project: self.strings.id(&row.project),
            model: self.strings.id(row.model.as_deref().unwrap_or_default()),
            geo: self.strings.id(row.geo.as_deref().unwrap_or_default()),
            tier: tier_class(&row.tokens, thresholds),
            fast: row.fast,
            has_cost_usd: row.cost_usd.is_some(),
            agent: row.agent,
        }
    }

    /// Writes the sums into every aggregate: one upsert per key of each, in the order of
    /// its primary key, so each page is written once.
    pub fn write(&self, conn: &Connection) -> Result<()> {
        if self.sums.is_empty() {
            return Ok(());
        }
        let text = |id| self.strings.get(id);
        let mut fine: Vec<(&FineKey, &Sums)> = self.sums.iter().collect();
        let day = |k: &FineKey| k.bucket_ms.div_euclid(DAY_MS) * DAY_MS;
        let pricing = |k: &FineKey| (k.fast, k.tier, text(k.geo), k.has_cost_usd, k.agent.name());

        let mut stmt = upsert_by_project(conn, "usage_by_time")?;
        for_each_group(
            &mut fine,
            |k| (k.bucket_ms, text(k.model), text(k.project), pricing(k)),
            |(at, model, project, (fast, tier, geo, has_cost, agent)), s| {
                upsert(
                    &mut stmt,
                    params![at, model, project, fast, tier, geo, has_cost],
                    s,
                    agent,
                )
            },
        )?;
        let mut stmt = upsert_by_project(conn, "usage_by_project_day")?;
        for_each_group(
            &mut fine,
            |k| (day(k), text(k.model), text(k.project), pricing(k)),
            |(at, model, project, (fast, tier, geo, has_cost, agent)), s| {
                upsert(
                    &mut stmt,
                    params![at, model, project, fast, tier, geo, has_cost],
                    s,
                    agent,
                )
            },
        )?;
        let mut stmt = conn.prepare_cached(&format!(
            "INSERT INTO usage_by_day VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
             ON CONFLICT DO UPDATE SET {ADD_SUMS}"
        ))?;
        for_each_group(
            &mut fine,
            |k| (day(k), text(k.model), pricing(k)),
            |(at, model, (fast, tier, geo, has_cost, agent)), s| {
                upsert(
                    &mut stmt,
                    params![at, model, fast, tier, geo, has_cost],
                    s,
                    agent,
                )
            },
        )?;
        let mut stmt = upsert_by_session(conn, "usage_by_session")?;
        for_each_group(
            &mut fine,
            |k| {
                (
                    text(k.session),
                    k.bucket_ms,
                    text(k.model),
                    text(k.project),
                    pricing(k),
                )
            },
            |(session, at, model, project, (fast, tier, geo, has_cost, agent)), s| {
                // A key only removed from has no activity of its own: its times change
                // nothing (Sums starts them at MAX and MIN).
                let key = params![
                    session, at, model, project, fast, tier, geo, has_cost, s.first_ms, s.last_ms
                ];
                upsert(&mut stmt, key, s, agent)
            },
        )?;
        let mut stmt = upsert_by_session(conn, "usage_by_session_day")?;
        // Keyed by day first: see migration 17.
        for_each_group(
            &mut fine,
            |k| {
                (
                    day(k),
                    text(k.session),
                    text(k.model),
                    text(k.project),
                    pricing(k),
                )
            },
            |(at, session, model, project, (fast, tier, geo, has_cost, agent)), s| {
                let key = params![
                    session, at, model, project, fast, tier, geo, has_cost, s.first_ms, s.last_ms
                ];
                upsert(&mut stmt, key, s, agent)
            },
        )?;
        Ok(())
    }
}

/// Sorts `fine` by `key` (an aggregate's primary key, in its column order) and hands
/// `write` each key once, with the sums of the fine keys under it.
fn for_each_group<'k, K: Ord>(
    fine: &mut [(&'k FineKey, &'k Sums)],
    key: impl Fn(&'k FineKey) -> K,
    mut write: impl FnMut(K, &Sums) -> Result<()>,
) -> Result<()> {
    fine.sort_unstable_by_key(|a| key(a.0));
    let mut group: Option<(K, Sums)> = None;
    for &(fine_key, sums) in fine.iter() {
        let key = key(fine_key);
        match &mut group {
            Some((current, total)) if *current == key => total.merge(sums),
            _ => {
                if let Some((done, total)) = group.replace((key, *sums)) {
                    write(done, &total)?;
                }
            }
        }
    }
    if let Some((done, total)) = group {
        write(done, &total)?;
    }
    Ok(())
}

/// The upsert of `table`, an aggregate keyed by a time and a project.
fn upsert_by_project<'c>(
    conn: &'c Connection,
    table: &str,
) -> Result<rusqlite::CachedStatement<'c>> {
    Ok(conn.prepare_cached(&format!(
        "INSERT INTO {table} VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
         ON CONFLICT DO UPDATE SET {ADD_SUMS}"
    ))?)
}

/// The upsert of `table`, an aggregate keyed by session, time and project.
fn upsert_by_session<'c>(
    conn: &'c Connection,
    table: &str,
) -> Result<rusqlite::CachedStatement<'c>> {
    Ok(conn.prepare_cached(&format!(
        "INSERT INTO {table} VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)
         ON CONFLICT DO UPDATE SET
             first_ms = min(first_ms, excluded.first_ms), last_ms = max(last_ms, excluded.last_ms),
             {ADD_SUMS}"
    ))?)
}

/// Runs an aggregate's upsert: its key columns, then the sums every aggregate keeps,
/// then its agent.
fn upsert(stmt: &mut Statement<'_>, key: &[&dyn ToSql], s: &Sums, agent: &str) -> Result<()> {
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
        agent
    ];
    stmt.execute(params_from_iter(key.iter().chain(sums)))?;
    Ok(())
}

/// The sums of the rows above the watermark, added up in memory by the flushes that
/// wrote them, so the end of a pass writes them (`merge`) instead of summing the rows again
/// in SQL (`merge.sql`, whose two sorts of every new row were most of a first ingest's
/// write time).
///
/// They stand for the rows above the watermark only while nothing else touched those:
/// the watermark is still `base`, no other writer added or changed a row (`meta`'s change
/// counter is still what our last commit left, `change_seq`) or removed one (`rows` of
/// them). Otherwise they are dropped and `merge` sums the rows from the table, as it does
/// after a killed pass. Each flush checks the first two (`resume`, two reads); the count,
/// a scan of the rows above the watermark, is checked once, before the sums are written.
#[derive(Debug)]
pub struct Pending {
    base: i64,
    rows: i64,
    change_seq: i64,
    sums: Deltas,
    /// Keys a row left (upgraded, or forgotten): their first and last activity may have
    /// narrowed, which sums cannot tell, so they are read from the rows when written.
    narrowed: foldhash::HashSet<FineKey>,
}

/// The keys `Pending` holds before a flush writes them and moves the watermark: about
/// 4 MB of memory (120 bytes a key), the hash table's size before it doubles.
pub const PENDING_KEYS: usize = 28_000;

impl Pending {
    /// The pending sums a write transaction can add to: `carried` (what this process kept
    /// from its last commit) if still exact, new ones if no row waits above the watermark
    /// `through`, else none. `change_seq` is `meta`'s change counter as the transaction
    /// found it.
    pub fn resume(
        conn: &Connection,
        carried: Option<Pending>,
        through: i64,
        change_seq: i64,
    ) -> Result<Option<Pending>> {
        if let Some(pending) = carried
            && pending.base == through
            && pending.change_seq == change_seq
        {
            return Ok(Some(pending));
        }
        Ok((last_row(conn)? == through).then(|| Pending {
            base: through,
            rows: 0,
            change_seq,
            sums: Deltas::default(),
            narrowed: Default::default(),
        }))
    }

    pub fn inserted(&mut self, row: &Row<'_>, thresholds: &[u64]) {
        self.sums.add(row, thresholds);
        self.rows += 1;
    }

    pub fn replaced(&mut self, old: &Row<'_>, new: &Row<'_>, thresholds: &[u64]) {
        self.narrowed.insert(self.sums.key(old, thresholds));
        self.sums.remove(old, thresholds);
        self.sums.add(new, thresholds);
    }

    pub fn removed(&mut self, row: &Row<'_>, thresholds: &[u64]) {
        self.narrowed.insert(self.sums.key(row, thresholds));
        self.sums.remove(row, thresholds);
        self.rows -= 1;
    }

    /// Our transaction leaves `meta`'s change counter at `change_seq`.
    pub fn committed(&mut self, change_seq: i64) {
        self.change_seq = change_seq;
    }

    /// Sets the first and last activity of each narrowed key to its rows' (a copy kept
    /// later than the one it replaced starts the session's activity later): the rows of
    /// one quarter hour, found by the time index.
    fn read_narrowed_times(&mut self, conn: &Connection) -> Result<()> {
        let mut read = conn.prepare_cached(
            "SELECT min(ts_ms), max(ts_ms) FROM entry_keys
             WHERE ts_ms >= ?1 AND ts_ms < ?2 AND id > ?3 AND session_id = ?4 AND project = ?5
               AND model = ?6 AND geo = ?7 AND tier = ?8 AND fast = ?9 AND has_cost_usd = ?10
               AND agent = ?11",
        )?;
        for key in &self.narrowed {
            let Some(sums) = self.sums.sums.get_mut(key) else {
                continue;
            };
            let text = |id| self.sums.strings.get(id);
            let (first, last): (Option<i64>, Option<i64>) = read.query_row(
                params![
                    key.bucket_ms,
                    key.bucket_ms + BUCKET_MS,
                    self.base,
                    text(key.session),
                    text(key.project),
                    text(key.model),
                    text(key.geo),
                    key.tier,
                    key.fast,
                    key.has_cost_usd,
                    key.agent.name()
                ],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            sums.first_ms = first.unwrap_or(i64::MAX);
            sums.last_ms = last.unwrap_or(i64::MIN);
        }
        Ok(())
    }

    /// Whether the sums are worth writing before the pass ends (memory).
    pub fn is_large(&self) -> bool {
        self.sums.len() >= PENDING_KEYS
    }

    /// Writes the sums into the aggregates and moves the watermark past every row, if
    /// they still stand for the rows above it; else sums those rows in SQL (`merge`).
    /// Call inside a write transaction.
    pub fn merge(pending: Option<Pending>, conn: &Connection) -> Result<()> {
        let Some(mut pending) = pending else {
            return merge(conn);
        };
        let rows_above: i64 = conn
            .prepare_cached("SELECT count(*) FROM entries WHERE id > ?1")?
            .query_row([pending.base], |r| r.get(0))?;
        let exact = watermark(conn)? == pending.base
            && super::exchange::change_seq(conn)? == pending.change_seq
            && rows_above == pending.rows;
        if !exact {
            return merge(conn);
        }
        pending.read_narrowed_times(conn)?;
        let started = std::time::Instant::now();
        pending.sums.write(conn)?;
        log::debug!(
            "Wrote the sums of {} rows ({} keys) into the aggregates in {:.1} ms",
            pending.rows,
            pending.sums.len(),
            started.elapsed().as_secs_f64() * 1e3
        );
        conn.prepare_cached(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('aggregated_through', ?1)",
        )?
        .execute([last_row(conn)?])?;
        Ok(())
    }
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
