//! Reads the ledger for reports. Period, project and model reports read `usage_by_time`
//! (15-minute UTC buckets), sessions read `usage_by_session`, both plus the rows not yet
//! merged into them (see `aggregate`), and 5-hour blocks read the raw rows, whose exact
//! times their gap rule needs. Each query is one statement, so it reads one snapshot.
//!
//! Every time zone in use today has an offset that is a whole multiple of 15 minutes
//! (India +5:30, Nepal +5:45), and DST moves on such boundaries too, so a 15-minute UTC
//! bucket always falls inside one local day, week or month: one ledger serves every zone,
//! and a report reads a few rows per active quarter hour instead of every response.

use anyhow::Result;
use rusqlite::{Connection, Row, params};

use crate::aggregate::BUCKET_MS;
use crate::parse::Tokens;
use crate::pricing::LONG_CONTEXT_INPUT;
use crate::store::tokens_at;

/// Which rows a report covers: UTC milliseconds, `until_ms` exclusive.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    pub project: Option<String>,
}

impl Filter {
    fn since(&self) -> i64 {
        self.since_ms.unwrap_or(i64::MIN)
    }
    fn until(&self) -> i64 {
        self.until_ms.unwrap_or(i64::MAX)
    }
}

/// What pricing needs to know of a group of responses, and their sums.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    /// The 15-minute bucket (or, for blocks, the response's own time).
    pub at_ms: i64,
    pub project: String,
    pub model: Option<String>,
    pub fast: bool,
    pub long_context: bool,
    /// The rows carried `costUSD` (older Claude Code versions): `cost_usd` is their sum.
    pub has_cost_usd: bool,
    pub tokens: Tokens,
    pub cost_usd: f64,
    pub requests: u64,
}

/// The columns every query below selects after its own, in this order.
const SUMS: &str = "model, fast, long_context, has_cost_usd, input, output, cache_write_5m,
                    cache_write_1h, cache_read, cost_usd, requests";

fn group_from(r: &Row<'_>, at_ms: i64, project: String, first: usize) -> rusqlite::Result<Group> {
    let model: String = r.get(first)?;
    Ok(Group {
        at_ms,
        project,
        model: (!model.is_empty()).then_some(model),
        fast: r.get(first + 1)?,
        long_context: r.get(first + 2)?,
        has_cost_usd: r.get(first + 3)?,
        tokens: tokens_at(r, first + 4)?,
        cost_usd: r.get(first + 9)?,
        requests: r.get(first + 10)?,
    })
}

/// `SUMS` of one `entries` row, as a group of one; `?4` is the long-context boundary.
const ROW_SUMS: &str = "coalesce(model, ''), speed IS 'fast',
    input + cache_write_5m + cache_write_1h + cache_read > ?4, cost_usd IS NOT NULL,
    input, output, cache_write_5m, cache_write_1h, cache_read, coalesce(cost_usd, 0), 1";

/// The rows the aggregates do not hold yet.
const UNMERGED: &str = "id > coalesce(
    (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'aggregated_through'), 0)";

/// Usage by 15-minute bucket, project and pricing key; groups of one bucket come together.
pub fn time_groups(conn: &Connection, filter: &Filter) -> Result<Vec<Group>> {
    let sql = format!(
        "SELECT bucket_ms, project, {SUMS} FROM usage_by_time
         WHERE bucket_ms >= ?1 AND bucket_ms < ?2 AND (?3 IS NULL OR project = ?3) AND requests > 0
         UNION ALL
         SELECT ts_ms / {BUCKET_MS} * {BUCKET_MS}, project, {ROW_SUMS} FROM entries
         WHERE {UNMERGED} AND ts_ms >= ?1 AND ts_ms < ?2 AND (?3 IS NULL OR project = ?3)"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(
        params![
            filter.since(),
            filter.until(),
            filter.project,
            LONG_CONTEXT_INPUT
        ],
        |r| group_from(r, r.get(0)?, r.get(1)?, 2),
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One session's usage under one pricing key.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionGroup {
    pub session_id: String,
    pub first_ms: i64,
    pub last_ms: i64,
    pub group: Group,
}

/// Usage by session, for sessions with activity inside the filter's range. A session's
/// sums are whole, even where it ran past the range.
pub fn session_groups(conn: &Connection, filter: &Filter) -> Result<Vec<SessionGroup>> {
    let sql = format!(
        "WITH grouped AS (
             SELECT session_id, first_ms, last_ms, project, {SUMS} FROM usage_by_session
             WHERE requests > 0
             UNION ALL
             SELECT session_id, ts_ms, ts_ms, project, {ROW_SUMS} FROM entries WHERE {UNMERGED})
         SELECT * FROM grouped
         WHERE session_id IN (
             SELECT session_id FROM grouped
             WHERE last_ms >= ?1 AND first_ms < ?2 AND (?3 IS NULL OR project = ?3))
         ORDER BY session_id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(
        params![
            filter.since(),
            filter.until(),
            filter.project,
            LONG_CONTEXT_INPUT
        ],
        |r| {
            let first_ms: i64 = r.get(1)?;
            Ok(SessionGroup {
                session_id: r.get(0)?,
                first_ms,
                last_ms: r.get(2)?,
                group: group_from(r, first_ms, r.get(3)?, 4)?,
            })
        },
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Every response in the range, one `Group` each, in time order (for 5-hour blocks).
pub fn responses(conn: &Connection, filter: &Filter) -> Result<Vec<Group>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT ts_ms, project, {ROW_SUMS} FROM entries
         WHERE ts_ms >= ?1 AND ts_ms < ?2 AND (?3 IS NULL OR project = ?3)
         ORDER BY ts_ms"
    ))?;
    let rows = stmt.query_map(
        params![
            filter.since(),
            filter.until(),
            filter.project,
            LONG_CONTEXT_INPUT
        ],
        |r| group_from(r, r.get(0)?, r.get(1)?, 2),
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    /// Reports read the aggregates the rebuild path computes from raw rows.
    #[test]
    fn reports_read_rebuilt_aggregates() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        let conn = store.conn();
        conn.execute_batch(
            "INSERT INTO files (id, path, project, session_id, dev, inode, size, mtime_ns, offset, lines, head_len, head_hash, updated_ms)
                 VALUES (1, x'61', 'p', 's', 0, 0, 0, 0, 0, 0, 0, 0, 0);
             INSERT INTO entries (file_id, ts_ms, session_id, project, model, message_id, is_sidechain, speed,
                                  input, output, cache_write_5m, cache_write_1h, cache_read, web_search, cost_usd)
             VALUES (1, 1000, 's', 'p', 'm', 'a', 0, NULL, 1, 2, 3, 4, 5, 0, NULL),
                    (1, 2000, 's', 'p', 'm', 'b', 0, NULL, 10, 20, 0, 0, 300000, 0, NULL),
                    (1, 900000, 's2', 'p', NULL, 'c', 0, 'fast', 7, 7, 0, 0, 0, 0, 0.5);
             UPDATE entries SET output = 200 WHERE message_id = 'a';
             DELETE FROM entries WHERE message_id = 'c';",
        )
        .unwrap();
        conn.execute_batch(crate::aggregate::REBUILD).unwrap();
        assert!(crate::aggregate::consistent(conn).unwrap());
        let groups = time_groups(conn, &Filter::default()).unwrap();
        assert_eq!(groups.len(), 2, "{groups:?}");
        let long = groups.iter().find(|g| g.long_context).unwrap();
        assert_eq!(long.tokens.cache_read, 300_000);
        let short = groups.iter().find(|g| !g.long_context).unwrap();
        assert_eq!((short.tokens.output, short.requests), (200, 1));

        let sessions = session_groups(conn, &Filter::default()).unwrap();
        assert!(sessions.iter().all(|s| s.session_id == "s"));
        assert_eq!(sessions.iter().map(|s| s.group.requests).sum::<u64>(), 2);

        let since = Filter {
            since_ms: Some(1500),
            ..Filter::default()
        };
        assert_eq!(responses(conn, &since).unwrap().len(), 1);
    }
}
