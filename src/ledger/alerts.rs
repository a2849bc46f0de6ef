//! Which alert crossings have fired (`alerts_fired`, migration 15): the ledger's memory
//! that makes each crossing fire once, across restarts and between processes.

use anyhow::{Context, Result};
use rusqlite::{Connection, Transaction, TransactionBehavior, params};

use crate::report::alerts::{Finding, Level};

/// Records `finding`'s crossing, and the lower levels with it (an `over` first seen also
/// settles the `warn` of the same period: it must not fire later). True when the
/// finding's own level had not fired yet for its period: the caller fires it.
pub fn record_crossing(conn: &Connection, finding: &Finding, now_ms: i64) -> Result<bool> {
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)
        .context("cannot start a write transaction to record an alert")?;
    let mut fired = false;
    for level in [Level::Warn, Level::Over]
        .into_iter()
        .filter(|l| *l <= finding.level)
    {
        let new = tx
            .prepare_cached(
                "INSERT OR IGNORE INTO alerts_fired (threshold, period, level, fired_ms, value)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                finding.id,
                finding.period_key,
                level.name(),
                now_ms,
                finding.value
            ])?;
        fired = new == 1 && level == finding.level;
    }
    tx.commit()
        .with_context(|| format!("cannot record the alert {}", finding.id))?;
    Ok(fired)
}
