//! The range every number from outside must fall in before the ledger takes it: one
//! check, `check`, applied by the ingest to every source's records (`admit`) and where an
//! import row is decoded, so a value out of range costs its one line (skipped or
//! refused, named by `file:line: reason`) and never a pass, a report or another file's
//! rows.
//!
//! Why these bounds:
//!
//! - **Counts** (each token kind, web searches): at most `MAX_COUNT`, 10^12. The largest
//!   context window is 10^6 tokens, so a count a million times larger is damage. SQLite
//!   stores integers as i64, which cannot hold 2^63 and up at all (the insert fails), and
//!   Rust's u64 sums must not wrap.
//! - **`costUSD`**: finite and within `0..=MAX_COST_USD`, $1,000. The most one response
//!   can cost today is about $40 (a full 10^6-token context written to the 1-hour cache at
//!   $30/M, plus 128k output at $75/M, Opus prices): the bound leaves 25 times that for
//!   dearer models, and keeps `inf`, NaN and negative costs (which printed `$inf`, `null`
//!   and negative counters) out.
//! - **Times**: from 2000-01-01 (`EARLIEST_MS`, no Claude Code line is older) to before
//!   2100-01-01 (`END_MS`). Every bucket is then positive (SQL's and Rust's integer
//!   division agree) and every day is one jiff can name in every zone, with room for the
//!   `--until` day after it (a year-9999 row failed every calendar report).
//!
//! - **The ledger's total**: every row has a weight, its five token counts and its web
//!   searches added (`weight`), and the ledger keeps the sum of its rows' weights
//!   (`ledger_total`, migration 11, written in the transaction that writes the rows, so
//!   it stays exact across a kill, and counted again by `rebuild`). A row, or the growth
//!   of an upgraded row, that would take that sum past `MAX_LEDGER_WEIGHT`, 2^53, is
//!   refused like a value out of range: `file:line: reason`, never a failed pass.
//!
//! **Why no sum can overflow.** Every count is at least 0, so each column of a row is at
//! most the row's weight, and any sum of columns over any set of rows (what every `sum()`
//! in SQL and every u64 sum in Rust adds: a report's buckets, the aggregates, the
//! counters, a total beside its parts) is at most the sum of those rows' weights, at most
//! the ledger's total, at most 2^53: 1/1024 of SQLite's i64 limit (2^63 - 1, where
//! `sum()` fails rather than wraps) and 1/2048 of u64's, so even a sum that added every
//! row a thousand times over could not reach either. The aggregates and the rows above their
//! watermark are disjoint, so a report adding both adds each row once anyway.
//!
//! **Why 2^53 and not more.** Below it every count and every sum is an integer an f64
//! holds exactly: costs are counts times a rate in f64 (`report::pricing`), rates and
//! percentages divide counts as f64, and the JSON reports are read by programs
//! (JavaScript, jq) whose numbers are f64. A larger cap would let those round silently.
//! No real ledger comes near it: a response holds at most about 1.2 × 10^6 tokens (a
//! 10^6 context and its output), so 2^53 is 7.5 × 10^9 of the largest responses, or a
//! hundred hosts each reading 10^9 tokens a day for 240 years. At the per-row limits
//! (6 × 10^12) it takes 1,501 fabricated rows: tests fill a ledger to the cap with such
//! rows and check every report's totals exactly. Costs are f64 (`total()` in SQL, never
//! an error): n rows of at most $1,000 sum to at most 10^3 × n, finite for any n, and
//! exact to far below a cent while the total is under $10^10 (2^53 ulps of 10^-6).

use crate::model::{Parsed, Record, Tokens};

/// A source's parsed line as the ledger may take it: a billable record out of range
/// becomes a skipped line with `check`'s reason. The ingest passes every source's lines
/// through here, so no source can forget the rule.
pub fn admit(parsed: Parsed) -> Parsed {
    match parsed {
        Parsed::Billable(record) => match check(&record) {
            Ok(()) => Parsed::Billable(record),
            Err(reason) => Parsed::Skipped(reason),
        },
        other => other,
    }
}

/// The most tokens of one kind, or web searches, one response can report.
pub const MAX_COUNT: u64 = 1_000_000_000_000;

/// The most one response can cost, in US dollars (see the module's doc for why).
pub const MAX_COST_USD: f64 = 1_000.0;

/// The most the weights of all a ledger's rows may add up to (see the module's doc).
pub const MAX_LEDGER_WEIGHT: u64 = 1 << 53;

/// What a row counts against `MAX_LEDGER_WEIGHT`: its tokens of every kind and its web
/// searches. At most 6 × 10^12 for a row `check` takes.
pub fn weight(tokens: &Tokens, web_search: u64) -> u64 {
    tokens.total() + web_search
}

/// `weight` of an `entries` row, in SQL.
pub const WEIGHT_SQL: &str =
    "input + output + cache_write_5m + cache_write_1h + cache_read + web_search";

/// Why a row of weight `new`, replacing one of weight `old` (0 for a new row), cannot
/// join a ledger whose rows weigh `total` now, if it cannot; else the total after it.
pub fn admit_weight(total: u64, old: u64, new: u64) -> Result<u64, String> {
    let after = u128::from(total.saturating_sub(old)) + u128::from(new);
    match u64::try_from(after) {
        Ok(after) if after <= MAX_LEDGER_WEIGHT => Ok(after),
        _ => Err(format!(
            "{new} tokens and web searches would take the ledger's total from {total} past \
             {MAX_LEDGER_WEIGHT}, where its sums could overflow: not taken"
        )),
    }
}

/// 2000-01-01T00:00:00Z, in Unix milliseconds: the earliest time a row may have.
pub const EARLIEST_MS: i64 = 946_684_800_000;

/// 2100-01-01T00:00:00Z, in Unix milliseconds: every row is before it.
pub const END_MS: i64 = 4_102_444_800_000;

/// Why `record` cannot be taken, if it cannot: the first field out of range, its value,
/// and the range, for `file:line: reason`.
pub fn check(record: &Record) -> Result<(), String> {
    let t = &record.tokens;
    let counts = [
        ("input_tokens", t.input),
        ("output_tokens", t.output),
        ("cache 5m write tokens", t.cache_write_5m),
        ("cache 1h write tokens", t.cache_write_1h),
        ("cache_read_input_tokens", t.cache_read),
        ("web_search_requests", record.web_search),
    ];
    if let Some((name, n)) = counts.iter().find(|(_, n)| *n > MAX_COUNT) {
        return Err(format!(
            "{name} {n} is above {MAX_COUNT}: not a real response"
        ));
    }
    check_time(record.ts_ms)?;
    if let Some(cost) = record
        .cost_usd
        .filter(|c| !(0.0..=MAX_COST_USD).contains(c))
    {
        return Err(format!(
            "costUSD {cost:?} is outside 0 to {MAX_COST_USD}: not a real response"
        ));
    }
    // Amp's credits and Copilot's premium requests are counts of their own units: finite,
    // not negative, and no larger than a token count may be.
    let figures = [
        ("credits", record.credits),
        ("premium requests", record.premium_requests),
    ];
    for (name, value) in figures {
        if let Some(v) = value.filter(|v| !(0.0..=MAX_COUNT as f64).contains(v)) {
            return Err(format!(
                "{name} {v:?} is outside 0 to {MAX_COUNT}: not a real response"
            ));
        }
    }
    Ok(())
}

/// Why `ts_ms` is no time a row may have, if it is not.
pub fn check_time(ts_ms: i64) -> Result<(), String> {
    if (EARLIEST_MS..END_MS).contains(&ts_ms) {
        return Ok(());
    }
    let when = jiff::Timestamp::from_millisecond(ts_ms)
        .map_or_else(|_| format!("{ts_ms} ms"), |ts| ts.to_string());
    Err(format!(
        "time {when} is outside 2000-01-01 to 2100-01-01: not a real response"
    ))
}

/// The rows of `entries` that `check` would refuse, as an SQL condition: what the
/// upgrade to schema 10 moves out of ledgers written before these limits (`ledger`).
/// NaN is stored as NULL by SQLite, so no condition is needed for it.
pub fn outside_sql() -> String {
    let counts = [
        "input",
        "output",
        "cache_write_5m",
        "cache_write_1h",
        "cache_read",
        "web_search",
    ]
    .map(|column| format!("{column} NOT BETWEEN 0 AND {MAX_COUNT}"))
    .join(" OR ");
    format!(
        "{counts} OR ts_ms < {EARLIEST_MS} OR ts_ms >= {END_MS} \
         OR cost_usd < 0 OR cost_usd > {MAX_COST_USD:.1}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record {
        Record {
            ts_ms: 1_764_000_000_000,
            cost_usd: Some(MAX_COST_USD),
            web_search: MAX_COUNT,
            ..Record::for_test("m", None, MAX_COUNT)
        }
    }

    #[test]
    fn the_bounds_are_in_and_one_past_them_is_out() {
        assert_eq!(check(&record()), Ok(()));
        type Spoil = fn(&mut Record);
        let cases: [(Spoil, &str); 7] = [
            (|r| r.tokens.cache_read = MAX_COUNT + 1, "cache_read"),
            (|r| r.web_search = u64::MAX, "web_search_requests"),
            (|r| r.cost_usd = Some(-0.01), "costUSD -0.01"),
            (|r| r.cost_usd = Some(f64::INFINITY), "costUSD inf"),
            (|r| r.cost_usd = Some(f64::NAN), "costUSD NaN"),
            (|r| r.ts_ms = END_MS, "2100-01-01T00:00:00Z"),
            (|r| r.ts_ms = EARLIEST_MS - 1, "1999-12-31T23:59:59.999Z"),
        ];
        for (spoil, reason) in cases {
            let mut r = record();
            spoil(&mut r);
            let why = check(&r).unwrap_err();
            assert!(why.contains(reason), "{why}");
        }
        let mut r = record();
        r.ts_ms = EARLIEST_MS;
        assert_eq!(check(&r), Ok(()));
        r.ts_ms = END_MS - 1;
        assert_eq!(check(&r), Ok(()));
    }

    #[test]
    fn the_bounds_name_the_days_they_say() {
        let day = |ms| jiff::Timestamp::from_millisecond(ms).unwrap().to_string();
        assert_eq!(day(EARLIEST_MS), "2000-01-01T00:00:00Z");
        assert_eq!(day(END_MS), "2100-01-01T00:00:00Z");
    }
}
