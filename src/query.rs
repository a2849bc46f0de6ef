//! Reads the ledger for reports: token sums grouped by 15-minute UTC bucket and by what
//! pricing needs (model, fast mode, long context, whether the line carried its own cost).
//!
//! Every time zone in use today has an offset that is a whole multiple of 15 minutes
//! (India +5:30, Nepal +5:45), and DST moves on such boundaries too, so a 15-minute UTC
//! bucket always falls inside one local day, week or month. Grouping by bucket in SQL and
//! assigning buckets to periods in Rust lets one ledger serve every zone.

use anyhow::Result;
use rusqlite::{Connection, params};

use crate::parse::Tokens;
use crate::pricing::LONG_CONTEXT_INPUT;

pub const BUCKET_MS: i64 = 15 * 60 * 1000;

/// Which rows a report covers: UTC milliseconds, `until_ms` exclusive.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    pub project: Option<String>,
}

/// Sums over the rows that share a bucket and a pricing key.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    pub bucket_ms: i64,
    pub model: Option<String>,
    pub fast: bool,
    pub long_context: bool,
    /// The rows carried `costUSD` (older Claude Code versions): `cost_usd` is their sum.
    pub has_cost_usd: bool,
    pub tokens: Tokens,
    pub cost_usd: f64,
    pub requests: u64,
}

pub fn groups(conn: &Connection, filter: &Filter) -> Result<Vec<Group>> {
    let mut stmt = conn.prepare_cached(
        "SELECT ts_ms / ?1 * ?1, model, speed = 'fast',
                input + cache_write_5m + cache_write_1h + cache_read > ?2,
                cost_usd IS NOT NULL,
                sum(input), sum(output), sum(cache_write_5m), sum(cache_write_1h), sum(cache_read),
                total(cost_usd), count(*)
         FROM entries
         WHERE ts_ms >= ?3 AND ts_ms < ?4 AND (?5 IS NULL OR project = ?5)
         GROUP BY 1, 2, 3, 4, 5
         ORDER BY 1",
    )?;
    let rows = stmt.query_map(
        params![
            BUCKET_MS,
            LONG_CONTEXT_INPUT,
            filter.since_ms.unwrap_or(i64::MIN),
            filter.until_ms.unwrap_or(i64::MAX),
            filter.project,
        ],
        |r| {
            Ok(Group {
                bucket_ms: r.get(0)?,
                model: r.get(1)?,
                fast: r.get::<_, Option<bool>>(2)?.unwrap_or(false),
                long_context: r.get(3)?,
                has_cost_usd: r.get(4)?,
                tokens: Tokens {
                    input: r.get(5)?,
                    output: r.get(6)?,
                    cache_write_5m: r.get(7)?,
                    cache_write_1h: r.get(8)?,
                    cache_read: r.get(9)?,
                },
                cost_usd: r.get(10)?,
                requests: r.get(11)?,
            })
        },
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
