//! Which alert crossings have fired (`alerts_fired`, migration 15): the ledger's memory
//! that makes each crossing fire once, across restarts and between processes.

use anyhow::{Context, Result};
use rusqlite::{Connection, Transaction, TransactionBehavior, params};

/// Records the crossing of `threshold` in `period` at each of `levels` (lowest first,
/// ending with the crossing's own level; the report decides which lower levels it
/// settles). True when that last level had not fired yet for its period: the caller fires
/// it.
pub fn record_crossing(
    conn: &Connection,
    threshold: &str,
    period: &str,
    levels: &[&str],
    value: f64,
    now_ms: i64,
) -> Result<bool> {
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)
        .context("cannot start a write transaction to record an alert")?;
    let mut fired = false;
    for level in levels {
        let new = tx
            .prepare_cached(
                "INSERT OR IGNORE INTO alerts_fired (threshold, period, level, fired_ms, value)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![threshold, period, level, now_ms, value])?;
        fired = new == 1;
    }
    tx.commit()
        .with_context(|| format!("cannot record the alert {threshold}"))?;
    Ok(fired)
}
