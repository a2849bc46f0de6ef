//! The ledger's side of the alerts: which crossings have fired (`alerts_fired`, migration
//! 12), and the quota windows' latest official figures the thresholds are judged on.

use anyhow::{Context, Result};
use rusqlite::{Connection, Transaction, TransactionBehavior, params};

use crate::report::alerts::{Finding, Level, QuotaSample};

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

/// Every quota window that has not reset by `now_ms`, with the highest percent any sample
/// gave it (use only grows within a window, so a sample read late cannot lower it).
///
/// Reads the `rate_limits` rows the Codex ingest keeps (migration 11), naming the
/// windows as Claude Code does.
pub fn current_quota_windows(conn: &Connection, now_ms: i64) -> Result<Vec<QuotaSample>> {
    let mut stmt = conn.prepare_cached(
        "SELECT agent,
                CASE window_minutes WHEN 300 THEN 'five_hour' WHEN 10080 THEN 'seven_day'
                                    ELSE window_minutes || 'm' END,
                resets_at_ms, used_percent
         FROM rate_limits WHERE resets_at_ms > ?1
         ORDER BY agent, window_minutes, resets_at_ms",
    )?;
    let rows = stmt.query_map([now_ms], |r| {
        Ok(QuotaSample {
            agent: r.get(0)?,
            window: r.get(1)?,
            resets_at_ms: r.get(2)?,
            used_percent: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
