//! Reads the ledger for reports. Daily, weekly and monthly reports read whole UTC days
//! from `usage_by_day` (`usage_by_project_day` for one project) and the quarter hours
//! around midnight from `usage_by_time` (see `date_groups`); project, model and session
//! reports read the range's whole UTC days from `usage_by_project_day` and
//! `usage_by_session_day` and the rest of the range from the raw rows (`OUTSIDE_DAYS`);
//! one session's page reads its quarter hours from `usage_by_session`; all of them plus
//! the rows not yet merged into the aggregates (see `aggregate`). 5-hour blocks read the
//! raw rows, whose exact times their gap rule needs. Each report reads one snapshot.
//!
//! Every time zone in use today has an offset that is a whole multiple of 15 minutes
//! (India +5:30, Nepal +5:45), and DST moves on such boundaries too, so a 15-minute UTC
//! bucket always falls inside one local day, week or month: one ledger serves every zone,
//! and a report reads a few rows per active quarter hour instead of every response.

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::ledger::aggregate::{BUCKET_MS, DAY_MS, PricingKey, Sums, SumsPart};
use crate::ledger::tokens_at;
use crate::model::Agent;
use crate::model::Tokens;
use crate::model::calendar;

/// Which rows a report covers: UTC milliseconds, `until_ms` exclusive.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    pub project: Option<String>,
    /// One host's rows only (`--host`): `Some(None)` this ledger's own, `Some(Some(id))`
    /// those imported from `hosts.id`. The aggregates are not kept by host, so such a
    /// report reads every raw row of its range (about 1 s per million rows).
    pub host: Option<Option<i64>>,
    /// Only these agents' rows (`--agent`); empty: every agent's.
    pub agents: Vec<Agent>,
}

/// The condition on a row's or an aggregate's agent: ?5 is `agents_param`.
const AGENTS: &str = "(?5 IS NULL OR instr(?5, ',' || agent || ',') > 0)";

impl Filter {
    fn since(&self) -> i64 {
        self.since_ms.unwrap_or(i64::MIN)
    }
    fn until(&self) -> i64 {
        self.until_ms.unwrap_or(i64::MAX)
    }

    /// ?1..?5 of the queries below: the range, the project, the host, the agents.
    fn params(&self) -> (i64, i64, Option<&str>, i64, Option<String>) {
        (
            self.since(),
            self.until(),
            self.project.as_deref(),
            self.host_param(),
            self.agents_param(),
        )
    }

    /// ?1..?7 of the queries that read whole UTC days from a day aggregate: `params`, then
    /// those days (`whole_days`).
    fn params_with_days(&self) -> (i64, i64, Option<&str>, i64, Option<String>, i64, i64) {
        let (since, until, project, host, agents) = self.params();
        let (first, end) = self.whole_days();
        (since, until, project, host, agents, first, end)
    }

    /// The whole UTC days inside the range, as `first..end` in ms: what a day aggregate
    /// answers. Without one, an empty span at the range's end, so that the parts before
    /// and after it (read from the raw rows, see `OUTSIDE_DAYS`) are the whole range.
    fn whole_days(&self) -> (i64, i64) {
        let (since, until) = (self.since(), self.until());
        let into_day = i64::from(since.rem_euclid(DAY_MS) != 0);
        let first = (since.div_euclid(DAY_MS) + into_day).saturating_mul(DAY_MS);
        let end = until.div_euclid(DAY_MS).saturating_mul(DAY_MS);
        if first < end {
            (first, end)
        } else {
            (until, until)
        }
    }

    /// Parameter ?5 of the queries below: the agents as `,claude,codex,`, or NULL for
    /// every agent (see `AGENTS`).
    fn agents_param(&self) -> Option<String> {
        if self.agents.is_empty() {
            return None;
        }
        let names: Vec<&str> = self.agents.iter().map(|a| a.name()).collect();
        Some(format!(",{},", names.join(",")))
    }

    /// Parameter ?4 of the queries below: -1 for every host, 0 for this ledger's own,
    /// else the `hosts` id (`HOST_KEY` of a row).
    fn host_param(&self) -> i64 {
        match self.host {
            None => -1,
            Some(host) => host.unwrap_or(0),
        }
    }

    /// Which raw rows of the range (?1..?2) a report adds to the aggregates: those not
    /// merged yet (`UNMERGED` says why its time range is `+ts_ms`); for one host, all of
    /// that host's (and the aggregates are left out, see `AGGREGATES`).
    fn raw_rows(&self) -> String {
        match self.host {
            None => format!("{UNMERGED} AND +ts_ms >= ?1 AND +ts_ms < ?2"),
            Some(_) => "coalesce(host, 0) = ?4 AND ts_ms >= ?1 AND ts_ms < ?2".to_string(),
        }
    }
}

/// A group of responses that pricing cannot tell apart, and their sums.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    /// A moment inside the group's time: its 15-minute bucket, its date, or (for blocks)
    /// the response's own time. Always inside one UTC day, whose prices apply.
    pub at_ms: i64,
    pub project: String,
    pub key: PricingKey,
    pub tokens: Tokens,
    pub web_search: u64,
    /// The sum of the rows' own `costUSD` (older Claude Code versions), where
    /// `key.has_cost_usd`.
    pub cost_usd: f64,
    pub requests: u64,
}

impl Group {
    /// One request of `model` (`""`: none) with `output` tokens, for the report code's
    /// unit tests.
    #[cfg(test)]
    pub fn of_output(at_ms: i64, model: &str, output: u64) -> Group {
        Group {
            at_ms,
            project: "p".into(),
            key: PricingKey {
                model: model.into(),
                ..PricingKey::default()
            },
            tokens: Tokens {
                output,
                ..Tokens::default()
            },
            web_search: 0,
            cost_usd: 0.0,
            requests: 1,
        }
    }

    /// `None` for API-error placeholders, which name no model.
    pub fn model(&self) -> Option<&str> {
        Some(self.key.model.as_str()).filter(|m| !m.is_empty())
    }
}

/// The key and sums columns every query below selects after its own, in this order:
/// the aggregates' columns, and the `entry_keys` view's, which has the same names.
const SUMS: &str = "model, fast, tier, geo, has_cost_usd, input, output, cache_write_5m,
                    cache_write_1h, cache_read, web_search, cost_usd, requests, agent";

/// `SUMS` of one `entry_keys` row, as a group of one.
const ROW_SUMS: &str = "model, fast, tier, geo, has_cost_usd, input, output, cache_write_5m,
                        cache_write_1h, cache_read, web_search, cost_usd, 1, agent";

fn group_from(r: &Row<'_>, at_ms: i64, project: String, first: usize) -> rusqlite::Result<Group> {
    Ok(Group {
        at_ms,
        project,
        key: PricingKey {
            model: r.get(first)?,
            fast: r.get(first + 1)?,
            tier: r.get(first + 2)?,
            geo: r.get(first + 3)?,
            has_cost_usd: r.get(first + 4)?,
            agent: r.get(first + 13)?,
        },
        tokens: tokens_at(r, first + 5)?,
        web_search: r.get(first + 10)?,
        cost_usd: r.get(first + 11)?,
        requests: r.get(first + 12)?,
    })
}

/// The condition on an aggregate's rows: they count unless the report is of one host
/// (?4 is then its key, not -1). Constant, so SQLite evaluates it once, before the scan.
const AGGREGATES: &str = "?4 = -1";

/// The rows the aggregates do not hold yet: a rowid range, a few rows. Beside it a time
/// range is written `+ts_ms`, which keeps SQLite from taking `entries_by_time` for it
/// instead (every row of the range: 55 million instructions of a `daily` on the bench's
/// ledger, against a few thousand).
pub(crate) const UNMERGED: &str = "id > coalesce(
    (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'aggregated_through'), 0)";

/// Usage by 15-minute bucket, project and pricing key; groups of one bucket come together.
pub fn time_groups(conn: &Connection, filter: &Filter) -> Result<Vec<Group>> {
    let rows = filter.raw_rows();
    let sql = format!(
        "SELECT bucket_ms, project, {SUMS} FROM usage_by_time
         WHERE {AGGREGATES} AND bucket_ms >= ?1 AND bucket_ms < ?2 AND (?3 IS NULL OR project = ?3) AND requests > 0
           AND {AGENTS}
         UNION ALL
         SELECT ts_ms / {BUCKET_MS} * {BUCKET_MS}, project, {ROW_SUMS} FROM entry_keys
         WHERE {rows} AND (?3 IS NULL OR project = ?3) AND {AGENTS}"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(filter.params(), |r| group_from(r, r.get(0)?, r.get(1)?, 2))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Which raw rows a query that reads whole days (?6..?7) from a day aggregate adds to it:
/// every row of the range outside those days (from `entries_by_time`), and the rows of
/// those days not merged yet. Three conditions, each its own `SELECT` of a `UNION ALL`,
/// so that each reads its own index.
const OUTSIDE_DAYS: [&str; 3] = [
    "ts_ms >= ?1 AND ts_ms < ?6",
    "ts_ms >= ?7 AND ts_ms < ?2",
    "+ts_ms >= ?6 AND +ts_ms < ?7 AND {UNMERGED}",
];

/// `select`, one `SELECT` of `entry_keys` for each of `OUTSIDE_DAYS`, and `filter` on each.
fn outside_days(select: &str, filter: &str) -> String {
    OUTSIDE_DAYS
        .map(|rows| {
            let rows = rows.replace("{UNMERGED}", UNMERGED);
            format!("{select} FROM entry_keys WHERE {rows} AND {filter}")
        })
        .join("\n UNION ALL\n")
}

/// Usage by project and pricing key over the filter's range, each group inside one UTC
/// day: what the projects and models reports read, which do not group by time. The
/// range's whole UTC days come from `usage_by_project_day` (about three rows a day a
/// project), the rest from the raw rows (`OUTSIDE_DAYS`): a year of a million responses
/// in about a thousand groups instead of a hundred thousand quarter hours.
pub fn range_groups(conn: &Connection, filter: &Filter) -> Result<Vec<Group>> {
    if filter.host.is_some() {
        // The aggregates keep no host: every row is read.
        return time_groups(conn, filter);
    }
    let conditions = format!("(?3 IS NULL OR project = ?3) AND {AGENTS}");
    let sql = format!(
        "SELECT day_ms, project, {SUMS} FROM usage_by_project_day
         WHERE day_ms >= ?6 AND day_ms < ?7 AND requests > 0 AND {conditions}
         UNION ALL
         {}",
        outside_days(&format!("SELECT ts_ms, project, {ROW_SUMS}"), &conditions)
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(filter.params_with_days(), |r| {
        group_from(r, r.get(0)?, r.get(1)?, 2)
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

impl Group {
    fn part(&self) -> SumsPart {
        SumsPart {
            tokens: self.tokens,
            web_search: self.web_search,
            cost_usd: self.cost_usd,
            requests: self.requests,
            first_ms: self.at_ms,
            last_ms: self.at_ms,
        }
    }
}

/// Every token of the filter's range (to the quarter hour of the aggregates) and agents,
/// summed in SQLite: what a quota forecast needs of a window, with no group read or
/// priced (the status line's share of the 10 ms).
pub fn tokens(conn: &Connection, filter: &Filter) -> Result<u64> {
    const TOTAL: &str = "sum(input + output + cache_write_5m + cache_write_1h + cache_read)";
    let rows = filter.raw_rows();
    let sql = format!(
        "SELECT coalesce(sum(n), 0) FROM (
           SELECT {TOTAL} AS n FROM usage_by_time
           WHERE {AGGREGATES} AND bucket_ms >= ?1 AND bucket_ms < ?2 AND (?3 IS NULL OR project = ?3)
             AND {AGENTS}
           UNION ALL
           SELECT {TOTAL} FROM entry_keys
           WHERE {rows} AND (?3 IS NULL OR project = ?3) AND {AGENTS})"
    );
    let total: i64 = conn
        .prepare_cached(&sql)?
        .query_row(filter.params(), |r| r.get(0))?;
    Ok(total.max(0) as u64)
}

/// Usage by local date in `zone`, UTC day and pricing key, of the filter's project or of
/// every project: what `daily`, `weekly` and `monthly` read. Each group's `at_ms` lies in
/// both its local date and its UTC day, so the date groups it and the day prices it (a
/// local date spans two UTC days, which can have different prices).
///
/// A UTC day of `usage_by_day` (of `usage_by_project_day` for one project) counts whole
/// on the local date of its noon, which it shares 12 hours or more with. The quarter
/// hours between its midnight and that date's then move, from `usage_by_time`, to the
/// date they belong to: none in UTC, five hours'
/// worth in New York. A ledger of months is read in a few hundred rows instead of tens
/// of thousands, in any zone, DST included (the bounds are each date's own).
pub fn date_groups(conn: &Connection, filter: &Filter, zone: &TimeZone) -> Result<Vec<Group>> {
    // One snapshot for the three reads below.
    let snapshot = conn.unchecked_transaction()?;
    let mut sums = DateSums::new(filter, zone);
    if filter.host.is_none() {
        let days = sums.add_days(conn, filter)?;
        sums.move_day_edges(conn, &days, filter)?;
    }
    sums.add_unmerged(conn, filter)?;
    snapshot.finish()?;
    sums.into_groups()
}

/// Signed sums by (local date, UTC day, pricing key), for the dates of the range only.
struct DateSums<'z> {
    zone: &'z TimeZone,
    first: Option<Date>,
    last: Option<Date>,
    sums: BTreeMap<(Date, i64, PricingKey), Sums>,
}

impl<'z> DateSums<'z> {
    fn new(filter: &Filter, zone: &'z TimeZone) -> DateSums<'z> {
        DateSums {
            zone,
            first: filter.since_ms.map(|ms| calendar::local_date(ms, zone)),
            last: filter.until_ms.map(|ms| calendar::local_date(ms - 1, zone)),
            sums: BTreeMap::new(),
        }
    }

    fn add(&mut self, date: Date, utc_day: i64, group: &Group, sign: i64) {
        if self.first.is_none_or(|f| date >= f) && self.last.is_none_or(|l| date <= l) {
            self.sums
                .entry((date, utc_day, group.key.clone()))
                .or_default()
                .add(&group.part(), sign);
        }
    }

    /// Each UTC day of `usage_by_day`, whole, on the local date of its noon. Returns the
    /// days read and their dates.
    fn add_days(&mut self, conn: &Connection, filter: &Filter) -> Result<Vec<(i64, Date)>> {
        // A UTC day two days outside the range has no hour inside it in any zone.
        let (from, to) = (
            filter.since().saturating_sub(2 * DAY_MS),
            filter.until().saturating_add(2 * DAY_MS),
        );
        let mut days: Vec<(i64, Date)> = Vec::new();
        let aggregate = match filter.project {
            None => USAGE_BY_DAY,
            Some(_) => USAGE_BY_PROJECT_DAY,
        };
        for day in groups_between(conn, aggregate, from, to, filter)? {
            let date = match days.last() {
                Some(&(at, date)) if at == day.at_ms => date,
                _ => {
                    let date = calendar::local_date(day.at_ms + DAY_MS / 2, self.zone);
                    days.push((day.at_ms, date));
                    date
                }
            };
            self.add(date, day.at_ms, &day, 1);
        }
        Ok(days)
    }

    /// Moves the quarter hours of each day that lie outside its date (between the UTC and
    /// the local midnight) from that date to their own.
    fn move_day_edges(
        &mut self,
        conn: &Connection,
        days: &[(i64, Date)],
        filter: &Filter,
    ) -> Result<()> {
        for &(day, date) in days {
            let start = calendar::day_start_ms(date, self.zone)?;
            let end = calendar::day_start_ms(date.tomorrow()?, self.zone)?;
            for (from, to) in [(day, start.min(day + DAY_MS)), (end.max(day), day + DAY_MS)] {
                if from >= to {
                    continue;
                }
                for quarter in groups_between(conn, USAGE_BY_QUARTER, from, to, filter)? {
                    self.add(
                        calendar::local_date(quarter.at_ms, self.zone),
                        day,
                        &quarter,
                        1,
                    );
                    self.add(date, day, &quarter, -1);
                }
            }
        }
        Ok(())
    }

    /// The rows not merged into the aggregates yet (with `--host`, all that host's rows),
    /// each on its own date.
    fn add_unmerged(&mut self, conn: &Connection, filter: &Filter) -> Result<()> {
        let rows = filter.raw_rows();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT ts_ms, {ROW_SUMS} FROM entry_keys
             WHERE {rows} AND (?3 IS NULL OR project = ?3) AND {AGENTS}"
        ))?;
        let map = |r: &Row<'_>| group_from(r, r.get(0)?, String::new(), 1);
        let unmerged = stmt.query_map(filter.params(), map)?;
        for row in unmerged {
            let row = row?;
            let date = calendar::local_date(row.at_ms, self.zone);
            self.add(date, row.at_ms.div_euclid(DAY_MS) * DAY_MS, &row, 1);
        }
        Ok(())
    }

    /// One group per date, UTC day and key that holds anything; each at an instant in both
    /// its date and its day.
    fn into_groups(self) -> Result<Vec<Group>> {
        let mut groups = Vec::with_capacity(self.sums.len());
        for ((date, day, key), sums) in self.sums {
            if sums.is_empty() {
                continue;
            }
            let Some(tokens) = sums.counts() else {
                bail!(
                    "the report aggregates disagree with each other on {date} \
                     (run `cco-stats doctor`, then `cco-stats rebuild`)"
                );
            };
            groups.push(Group {
                at_ms: calendar::day_start_ms(date, self.zone)?.max(day),
                project: String::new(),
                key,
                tokens,
                web_search: sums.web_search.max(0) as u64,
                cost_usd: sums.cost_usd,
                requests: sums.requests.max(0) as u64,
            });
        }
        Ok(groups)
    }
}

/// (table, time column, condition on the project ?3) of the aggregates `date_groups`
/// reads. `usage_by_day` keeps no project: it answers only when none is asked.
type Aggregate = (&'static str, &'static str, &'static str);
const USAGE_BY_DAY: Aggregate = ("usage_by_day", "day_ms", "?3 IS NULL");
const USAGE_BY_PROJECT_DAY: Aggregate = (
    "usage_by_project_day",
    "day_ms",
    "(?3 IS NULL OR project = ?3)",
);
const USAGE_BY_QUARTER: Aggregate = ("usage_by_time", "bucket_ms", "(?3 IS NULL OR project = ?3)");

/// The rows of an aggregate between two UTC instants, of the filter's project and
/// agents, in time order.
fn groups_between(
    conn: &Connection,
    (table, at, project): Aggregate,
    from: i64,
    to: i64,
    filter: &Filter,
) -> Result<Vec<Group>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {at}, {SUMS} FROM {table}
         WHERE {at} >= ?1 AND {at} < ?2 AND requests > 0 AND {project} AND {AGENTS}
         ORDER BY {at}"
    ))?;
    // ?4 (the host) is not asked of an aggregate, which keeps none.
    let (project, agents) = (filter.project.as_deref(), filter.agents_param());
    let rows = stmt.query_map(params![from, to, project, None::<i64>, agents], |r| {
        group_from(r, r.get(0)?, String::new(), 1)
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The whole history by UTC day and pricing key (and project, with `by_project`): what
/// `metrics` prices and sums into lifetime counters. A day is the unit prices are dated
/// by, so each group is priced at its own day's rates. It reads `usage_by_day`, or
/// `usage_by_project_day` by project: a few hundred rows for months of history.
pub fn lifetime_groups(conn: &Connection, by_project: bool) -> Result<Vec<Group>> {
    let merged = if by_project {
        format!("SELECT day_ms, project, {SUMS} FROM usage_by_project_day WHERE requests > 0")
    } else {
        format!("SELECT day_ms, '', {SUMS} FROM usage_by_day WHERE requests > 0")
    };
    let project = if by_project { "project" } else { "''" };
    let sql = format!(
        "{merged}
         UNION ALL
         SELECT ts_ms / {DAY_MS} * {DAY_MS}, {project}, {ROW_SUMS} FROM entry_keys WHERE {UNMERGED}"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([], |r| group_from(r, r.get(0)?, r.get(1)?, 2))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Usage by host, UTC day and pricing key, `project` holding the host's key (`0` for
/// this ledger's own host, else `hosts.id`): what the `hosts` view prices. From the raw
/// rows, since the aggregates keep no host.
pub fn host_groups(conn: &Connection, filter: &Filter) -> Result<Vec<Group>> {
    let sql = format!(
        "SELECT ts_ms / {DAY_MS} * {DAY_MS}, CAST(coalesce(host, 0) AS TEXT),
                model, fast, tier, geo, has_cost_usd, sum(input), sum(output),
                sum(cache_write_5m), sum(cache_write_1h), sum(cache_read), sum(web_search),
                total(cost_usd), count(*), agent
         FROM entry_keys
         WHERE ts_ms >= ?1 AND ts_ms < ?2 AND (?3 IS NULL OR project = ?3)
           AND (?4 = -1 OR coalesce(host, 0) = ?4) AND {AGENTS}
         GROUP BY 1, 2, model, fast, tier, geo, has_cost_usd, agent"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(filter.params(), |r| group_from(r, r.get(0)?, r.get(1)?, 2))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Each host's first and last response in the filter's range: (host key as in
/// `host_groups`, first ms, last ms).
pub fn host_spans(conn: &Connection, filter: &Filter) -> Result<Vec<(String, i64, i64)>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT CAST(coalesce(host, 0) AS TEXT), min(ts_ms), max(ts_ms) FROM entries
             WHERE ts_ms >= ?1 AND ts_ms < ?2 AND (?3 IS NULL OR project = ?3)
               AND (?4 = -1 OR coalesce(host, 0) = ?4) AND {AGENTS}
             GROUP BY 1"
    ))?;
    let rows = stmt.query_map(filter.params(), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// What the ingest has done so far, for `metrics`' health gauges.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Health {
    pub files_tracked: u64,
    pub lines_skipped: u64,
    pub rows: u64,
    /// The last pass that finished (with or without new lines), UTC ms.
    pub last_pass_ms: Option<i64>,
}

pub fn health(conn: &Connection) -> Result<Health> {
    let (files_tracked, lines_skipped) = conn
        .prepare_cached(&format!(
            "SELECT count(*), coalesce(sum(lines_skipped + rows_refused), 0) FROM files WHERE {}",
            crate::ledger::exchange::TRANSCRIPTS
        ))?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    // Each row is one request of the day aggregate or above its watermark: the same
    // number as count(*) over entries, without reading every page of the table.
    let rows = conn
        .prepare_cached(&format!(
            "SELECT (SELECT coalesce(sum(requests), 0) FROM usage_by_day)
                  + (SELECT count(*) FROM entries WHERE {UNMERGED})"
        ))?
        .query_row([], |r| r.get(0))?;
    let last_pass_ms = conn
        .prepare_cached("SELECT CAST(value AS INTEGER) FROM meta WHERE key = ?1")?
        .query_row([crate::ledger::LAST_FULL_PASS], |r| r.get(0))
        .optional()?;
    Ok(Health {
        files_tracked,
        lines_skipped,
        rows,
        last_pass_ms,
    })
}

/// One session's usage in one quarter hour under one pricing key.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionGroup {
    pub session_id: String,
    pub first_ms: i64,
    pub last_ms: i64,
    pub group: Group,
}

/// Usage by session inside the filter's range: a session is listed if it was active in
/// the range, with the activity inside the range only, so the sessions of any range add
/// up to the daily totals of that range. The range's whole UTC days come from
/// `usage_by_session_day`, the rest from the raw rows (`OUTSIDE_DAYS`); each group lies
/// inside one UTC day.
pub fn session_groups(conn: &Connection, filter: &Filter) -> Result<Vec<SessionGroup>> {
    let conditions = format!("(?3 IS NULL OR project = ?3) AND {AGENTS}");
    let raw = format!("SELECT session_id, ts_ms, ts_ms, ts_ms, project, {ROW_SUMS}");
    let rows = if filter.host.is_some() {
        // The aggregates keep no host: every row of the range is read.
        let sql = format!(
            "{raw} FROM entry_keys WHERE {} AND {conditions}",
            filter.raw_rows()
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(filter.params(), session_group_from)?;
        rows.collect::<rusqlite::Result<_>>()?
    } else {
        let sql = format!(
            "SELECT session_id, day_ms, first_ms, last_ms, project, {SUMS}
             FROM usage_by_session_day
             WHERE day_ms >= ?6 AND day_ms < ?7 AND requests > 0 AND {conditions}
             UNION ALL
             {}",
            outside_days(&raw, &conditions)
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(filter.params_with_days(), session_group_from)?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    Ok(rows)
}

/// A row of the session queries: session, bucket, first and last activity, project, sums.
fn session_group_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<SessionGroup> {
    Ok(SessionGroup {
        session_id: r.get(0)?,
        first_ms: r.get(2)?,
        last_ms: r.get(3)?,
        group: group_from(r, r.get(1)?, r.get(4)?, 5)?,
    })
}

/// One session's groups over all time, as `session_groups` has them for an unbounded
/// range: the status line's session, read by its id alone.
pub fn session_groups_of(conn: &Connection, session_id: &str) -> Result<Vec<SessionGroup>> {
    let sql = format!(
        "SELECT session_id, bucket_ms, first_ms, last_ms, project, {SUMS} FROM usage_by_session
         WHERE session_id = ?1 AND requests > 0
         UNION ALL
         SELECT session_id, ts_ms / {BUCKET_MS} * {BUCKET_MS}, ts_ms, ts_ms, project, {ROW_SUMS}
         FROM entry_keys
         WHERE {UNMERGED} AND session_id = ?1"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![session_id], session_group_from)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Whether the ledger holds a session whose id starts with `prefix`, whatever the range
/// or the filters (`session --id` tells an unknown id from a session outside them).
pub fn session_id_known(conn: &Connection, prefix: &str) -> Result<bool> {
    // A range on the key, so the primary key finds it: ids are text, char(1114111) the
    // greatest character.
    let sql = format!(
        "SELECT EXISTS(SELECT 1 FROM usage_by_session
                       WHERE session_id >= ?1 AND session_id < ?1 || char(1114111))
             OR EXISTS(SELECT 1 FROM entry_keys
                       WHERE {UNMERGED} AND session_id >= ?1 AND session_id < ?1 || char(1114111))"
    );
    Ok(conn.query_row(&sql, params![prefix], |r| r.get(0))?)
}

/// What an agent billed in other units than tokens and dollars, summed over a report's
/// rows: `None` where none of its rows gave the figure.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Figures {
    /// Amp's credits.
    pub credits: Option<f64>,
    /// GitHub Copilot's premium requests.
    pub premium_requests: Option<f64>,
}

/// `Figures` per agent over the filter's rows. Only rows that have one are read (the
/// partial index `entries_figures` holds nothing else), so a ledger of Claude Code's
/// rows alone answers at once.
pub fn figures(conn: &Connection, filter: &Filter) -> Result<BTreeMap<Agent, Figures>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT agent, sum(credits), sum(premium_requests) FROM entries
         WHERE (credits IS NOT NULL OR premium_requests IS NOT NULL)
           AND ts_ms >= ?1 AND ts_ms < ?2 AND (?3 IS NULL OR project = ?3)
           AND (?4 = -1 OR coalesce(host, 0) = ?4) AND {AGENTS}
         GROUP BY agent"
    ))?;
    let rows = stmt.query_map(filter.params(), |r| {
        let figures = Figures {
            credits: r.get(1)?,
            premium_requests: r.get(2)?,
        };
        Ok((r.get::<_, Agent>(0)?, figures))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The responses of one session's subagents (read from files in `subagents/`, or marked
/// as a sidechain) between `first_ms` and `last_ms`, one `Group` each, with the name of
/// the file each came from (its stem: `agent-…`). The time range keeps the read on
/// `entries_by_time`: no index holds a session's rows.
pub fn subagent_responses(
    conn: &Connection,
    session_id: &str,
    first_ms: i64,
    last_ms: i64,
) -> Result<Vec<(String, Group)>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT CAST(f.path AS TEXT), k.ts_ms, k.project, {ROW_SUMS_K}
         FROM entries e JOIN entry_keys k ON k.id = e.id JOIN files f ON f.id = e.file_id
         WHERE e.ts_ms >= ?2 AND e.ts_ms <= ?3 AND e.session_id = ?1
           AND (e.is_sidechain OR instr(CAST(f.path AS TEXT), '/subagents/') > 0)
         ORDER BY e.ts_ms"
    ))?;
    let rows = stmt.query_map(params![session_id, first_ms, last_ms], |r| {
        let path: Option<String> = r.get(0)?;
        let name = path
            .as_deref()
            .and_then(|p| p.rsplit('/').next())
            .map(|f| f.trim_end_matches(".jsonl").to_string())
            .unwrap_or_default();
        Ok((name, group_from(r, r.get(1)?, r.get(2)?, 3)?))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// `ROW_SUMS` from the `entry_keys` view aliased `k`.
const ROW_SUMS_K: &str = "k.model, k.fast, k.tier, k.geo, k.has_cost_usd, k.input, k.output,
    k.cache_write_5m, k.cache_write_1h, k.cache_read, k.web_search, k.cost_usd, 1, k.agent";

/// A value that changes whenever the figures of a report may have: rows added or
/// upgraded (the newest id and the ledger's weight) or a quota sample seen. Cheap enough
/// to ask twice a second (the dashboard's page does).
pub fn stamp(conn: &Connection) -> Result<String> {
    let stamp = conn.query_row(
        "SELECT (SELECT coalesce(max(id), 0) FROM entries) || '.'
             || coalesce((SELECT weight FROM ledger_total), 0) || '.'
             || (SELECT count(*) || '.' || coalesce(max(last_seen_ms), 0) FROM quota_samples)",
        [],
        |r| r.get(0),
    )?;
    Ok(stamp)
}

/// Every response in the range, one `Group` each, in time order (for 5-hour blocks).
pub fn responses(conn: &Connection, filter: &Filter) -> Result<Vec<Group>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT ts_ms, project, {ROW_SUMS} FROM entry_keys
         WHERE ts_ms >= ?1 AND ts_ms < ?2 AND (?3 IS NULL OR project = ?3)
           AND (?4 = -1 OR coalesce(host, 0) = ?4) AND {AGENTS}
         ORDER BY ts_ms"
    ))?;
    let rows = stmt.query_map(filter.params(), |r| group_from(r, r.get(0)?, r.get(1)?, 2))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::Store;

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
        crate::ledger::aggregate::rebuild(conn).unwrap();
        assert!(crate::ledger::aggregate::consistent(conn).unwrap());
        let groups = time_groups(conn, &Filter::default()).unwrap();
        assert_eq!(groups.len(), 2, "{groups:?}");
        let long = groups.iter().find(|g| g.key.tier == 200_000).unwrap();
        assert_eq!(long.tokens.cache_read, 300_000);
        let short = groups.iter().find(|g| g.key.tier == 0).unwrap();
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

    type DaySums = BTreeMap<(Date, PricingKey), ([u64; 5], u64)>;

    fn by_local_date(groups: &[Group], zone: &TimeZone) -> DaySums {
        let mut sums = DaySums::new();
        for g in groups {
            let date = calendar::local_date(g.at_ms, zone);
            let key = (date, g.key.clone());
            let (tokens, requests) = sums.entry(key).or_default();
            for (sum, value) in tokens.iter_mut().zip(g.tokens.kinds()) {
                *sum += value;
            }
            *requests += g.requests;
        }
        sums
    }

    /// Per session: tokens, requests, first and last activity.
    type SessionSums = BTreeMap<String, (u64, u64, i64, i64)>;

    fn by_session(groups: &[SessionGroup]) -> SessionSums {
        let mut sums = SessionSums::new();
        for g in groups {
            let (tokens, requests, first, last) =
                sums.entry(g.session_id.clone())
                    .or_insert((0, 0, i64::MAX, i64::MIN));
            *tokens += g.group.tokens.total();
            *requests += g.group.requests;
            *first = (*first).min(g.first_ms);
            *last = (*last).max(g.last_ms);
        }
        sums
    }

    /// `by_session` of the raw rows themselves.
    fn sessions_of_rows(conn: &Connection, filter: &Filter) -> SessionSums {
        let mut stmt = conn
            .prepare(
                "SELECT session_id, sum(input + output + cache_write_5m + cache_write_1h + cache_read),
                        count(*), min(ts_ms), max(ts_ms)
                 FROM entries WHERE ts_ms >= ?1 AND ts_ms < ?2 AND (?3 IS NULL OR project = ?3)
                 GROUP BY session_id",
            )
            .unwrap();
        let (since, until, project, _, _) = filter.params();
        stmt.query_map(params![since, until, project], |r| {
            Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
    }

    type ProjectSums = BTreeMap<(String, PricingKey), ([u64; 5], u64)>;

    fn by_project(groups: &[Group]) -> ProjectSums {
        let mut sums = ProjectSums::new();
        for g in groups {
            let (tokens, requests) = sums.entry((g.project.clone(), g.key.clone())).or_default();
            for (sum, value) in tokens.iter_mut().zip(g.tokens.kinds()) {
                *sum += value;
            }
            *requests += g.requests;
        }
        sums
    }

    /// Days read from whole UTC days plus the quarter hours that move between dates give
    /// what the quarter hours alone give, and whole UTC days plus the raw rows outside
    /// them give the projects and sessions the quarter hours and the rows give: in zones
    /// of every kind of offset, over DST changes (New York 2026-03-08, Berlin
    /// 2026-10-25), with and without a range and a project, with rows not merged into
    /// the aggregates yet.
    #[test]
    fn whole_utc_days_and_their_edges_equal_quarter_hours_and_rows() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        let conn = store.conn();
        let insert = |from: &str, count: i64| {
            let start: jiff::Timestamp = from.parse().unwrap();
            conn.execute(
                "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?2 - 1)
                 INSERT INTO entries (file_id, ts_ms, session_id, project, model, message_id,
                                      is_sidechain, speed, input, output, cache_write_5m,
                                      cache_write_1h, cache_read, web_search, cost_usd)
                 SELECT 1, ?1 + i * 37 * 60000, 's' || (i / 50), 'p' || (i % 3),
                        CASE i % 4 WHEN 0 THEN NULL WHEN 1 THEN 'm1' ELSE 'm2' END,
                        ?1 || '-' || i, 0, NULL, i, 2 * i, i % 5, i % 7, i * 1000 * (i % 11),
                        0, CASE WHEN i % 6 = 0 THEN 0.25 END
                 FROM n",
                params![start.as_millisecond(), count],
            )
            .unwrap();
        };
        conn.execute_batch(
            "INSERT INTO files (id, path, project, session_id, dev, inode, size, mtime_ns, offset, lines, head_len, head_hash, updated_ms)
                 VALUES (1, x'61', 'p', 's', 0, 0, 0, 0, 0, 0, 0, 0, 0);",
        )
        .unwrap();
        insert("2026-03-06T00:00:00Z", 200);
        insert("2026-10-23T00:00:00Z", 200);
        crate::ledger::aggregate::rebuild(conn).unwrap();
        // Above the watermark: reports add these from the rows themselves.
        insert("2026-03-08T03:00:00Z", 40);
        insert("2026-10-25T20:00:00Z", 40);

        let day = |text: &str| calendar::parse_date(text).unwrap();
        for name in [
            "UTC",
            "Asia/Kolkata",
            "Asia/Kathmandu",
            "America/New_York",
            "America/St_Johns",
            "Europe/Berlin",
            "Pacific/Kiritimati",
            "Pacific/Chatham",
        ] {
            let zone = calendar::zone(Some(name)).unwrap();
            for (since, until) in [
                (None, None),
                (Some(day("2026-03-07")), Some(day("2026-03-08"))),
                (Some(day("2026-03-07")), Some(day("2026-03-07"))),
                (Some(day("2026-10-25")), None),
            ] {
                for project in [None, Some("p1".to_string())] {
                    let (since_ms, until_ms) = calendar::range_ms(since, until, &zone).unwrap();
                    let filter = Filter {
                        since_ms,
                        until_ms,
                        project,
                        ..Filter::default()
                    };
                    let what = format!("{name} {since:?}..{until:?} {:?}", filter.project);
                    let quarters = time_groups(conn, &filter).unwrap();
                    assert!(!quarters.is_empty(), "{what}");
                    let dates = date_groups(conn, &filter, &zone).unwrap();
                    assert_eq!(
                        by_local_date(&dates, &zone),
                        by_local_date(&quarters, &zone),
                        "{what}"
                    );
                    let ranged = range_groups(conn, &filter).unwrap();
                    assert_eq!(by_project(&ranged), by_project(&quarters), "{what}");
                    let sessions = session_groups(conn, &filter).unwrap();
                    assert_eq!(
                        by_session(&sessions),
                        sessions_of_rows(conn, &filter),
                        "{what}"
                    );
                }
            }
        }
    }
}
