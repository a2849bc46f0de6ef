//! Counters that never go down, for `cco-stats metrics` (table `counter_floor`).
//!
//! Prometheus takes any decrease of a counter for a restart from zero, so a counter that
//! dips by a cent shows as a spike of its whole value in `rate()` and `increase()`. The
//! ledger only grows, but its *view* can still dip: a price fix that lowers a rate
//! re-prices all history, a response replaced by a copy with fewer tokens, a transcript
//! re-read from 0 whose rows without a message id are removed in one flush and come back
//! in the next. So each series printed is remembered with the value printed, and a new
//! view below it is lifted to it: the difference is `absorbed` and added to that series
//! from then on. A counter thus equals the sums of the rows (the same as `daily --json`)
//! until its view first dips, and then runs that many units above them.
//!
//! Settling happens in one write transaction with the view's reads, so two renders at
//! once (a scrape and a cron `metrics --textfile`) cannot interleave their floors.

use anyhow::{Context, Result};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::ledger::Store;

/// A counter series as the rows give it now: its name and labels (as printed, host
/// left out), and its value.
#[derive(Clone, Debug, PartialEq)]
pub struct Viewed {
    pub series: String,
    pub value: f64,
}

/// A counter series as it may be printed: never below what was printed before.
#[derive(Clone, Debug, PartialEq)]
pub struct Settled {
    pub series: String,
    pub value: f64,
    /// When the series was first printed (its OpenMetrics `_created`), UTC ms.
    pub created_ms: i64,
}

/// The settled counters, what the view returned beside them, and the price table's
/// revision (`cco_stats_prices_revision`: it goes up by one whenever the table differs
/// from the one the last render used).
#[derive(Debug)]
pub struct Settlement<T> {
    pub counters: Vec<Settled>,
    pub extra: T,
    pub prices_revision: i64,
}

const PRICES_DIGEST: &str = "prices_digest";
const PRICES_REVISION: &str = "prices_revision";

struct Floor {
    printed: f64,
    absorbed: f64,
    created_ms: i64,
}

impl Store {
    /// Computes the counters with `view` (inside the transaction, so one snapshot) and
    /// lifts each to at least what was printed for it before; records what is printed now.
    /// `prices_digest` names the price table the view priced with.
    pub fn settle_counters<T>(
        &mut self,
        prices_digest: &str,
        view: impl FnOnce(&Connection) -> Result<(Vec<Viewed>, T)>,
    ) -> Result<Settlement<T>> {
        let now_ms = jiff::Timestamp::now().as_millisecond();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .context("cannot start a write transaction for the counters")?;
        let prices_revision = prices_revision(&tx, prices_digest)?;
        let (viewed, extra) = view(&tx)?;

        let mut counters = Vec::with_capacity(viewed.len());
        for Viewed { series, value } in viewed {
            let (changed, floor) = settle(floor_of(&tx, &series)?, value, now_ms);
            if changed {
                tx.prepare_cached(
                    "INSERT OR REPLACE INTO counter_floor (series, printed, absorbed, created_ms)
                     VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![
                    series,
                    floor.printed,
                    floor.absorbed,
                    floor.created_ms
                ])?;
            }
            counters.push(Settled {
                series,
                value: floor.printed,
                created_ms: floor.created_ms,
            });
        }
        tx.commit().context("cannot record the counters printed")?;
        Ok(Settlement {
            counters,
            extra,
            prices_revision,
        })
    }
}

/// The floor after a view of `value`, and whether it changed (and must be written).
fn settle(floor: Option<Floor>, value: f64, now_ms: i64) -> (bool, Floor) {
    let Some(old) = floor else {
        let new = Floor {
            printed: value,
            absorbed: 0.0,
            created_ms: now_ms,
        };
        return (true, new);
    };
    let lifted = value + old.absorbed;
    let new = if lifted < old.printed {
        Floor {
            printed: old.printed,
            absorbed: old.absorbed + (old.printed - lifted),
            ..old
        }
    } else {
        Floor {
            printed: lifted,
            ..old
        }
    };
    let changed = new.printed != old.printed || new.absorbed != old.absorbed;
    (changed, new)
}

/// One series' floor. Looked up one by one: the table also holds the series of other
/// `--labels` choices, which this render does not print.
fn floor_of(conn: &Connection, series: &str) -> Result<Option<Floor>> {
    Ok(conn
        .prepare_cached(
            "SELECT printed, absorbed, created_ms FROM counter_floor WHERE series = ?1",
        )?
        .query_row([series], |r| {
            Ok(Floor {
                printed: r.get(0)?,
                absorbed: r.get(1)?,
                created_ms: r.get(2)?,
            })
        })
        .optional()?)
}

/// The revision of the price table named by `digest`: 1 for the first, one more each
/// time it differs from the last one seen.
fn prices_revision(conn: &Connection, digest: &str) -> Result<i64> {
    let meta = |key: &str| -> Result<Option<String>> {
        Ok(conn
            .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?)
    };
    let revision: i64 = meta(PRICES_REVISION)?
        .and_then(|r| r.parse().ok())
        .unwrap_or(0);
    if meta(PRICES_DIGEST)?.as_deref() == Some(digest) {
        return Ok(revision);
    }
    let revision = revision + 1;
    let mut set =
        conn.prepare_cached("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)")?;
    set.execute(params![PRICES_DIGEST, digest])?;
    set.execute(params![PRICES_REVISION, revision.to_string()])?;
    Ok(revision)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(series: &[(&str, f64)]) -> Vec<Viewed> {
        series
            .iter()
            .map(|&(s, v)| Viewed {
                series: s.into(),
                value: v,
            })
            .collect()
    }

    fn values(store: &mut Store, digest: &str, series: &[(&str, f64)]) -> (Vec<f64>, i64) {
        let settled = store
            .settle_counters(digest, |_| Ok((view(series), ())))
            .unwrap();
        (
            settled.counters.iter().map(|c| c.value).collect(),
            settled.prices_revision,
        )
    }

    #[test]
    fn a_dip_is_absorbed_and_later_growth_passes_through() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        assert_eq!(values(&mut store, "a", &[("x", 10.0)]), (vec![10.0], 1));
        assert_eq!(values(&mut store, "a", &[("x", 12.0)]), (vec![12.0], 1));
        // A price fix lowers the view to 8: the counter stays at 12, and the revision says why.
        assert_eq!(values(&mut store, "b", &[("x", 8.0)]), (vec![12.0], 2));
        // Growth of the view after the dip is growth of the counter.
        assert_eq!(values(&mut store, "b", &[("x", 9.5)]), (vec![13.5], 2));
        // A series seen for the first time starts at its view.
        assert_eq!(
            values(&mut store, "b", &[("x", 9.5), ("y", 3.0)]),
            (vec![13.5, 3.0], 2)
        );
    }

    #[test]
    fn a_new_series_is_created_now_and_keeps_its_created_time() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let first = store
            .settle_counters("a", |_| Ok((view(&[("x", 1.0)]), ())))
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(5));
        let second = store
            .settle_counters("a", |_| Ok((view(&[("x", 2.0)]), ())))
            .unwrap();
        assert_eq!(first.counters[0].created_ms, second.counters[0].created_ms);
    }
}
