//! What the ledger holds, for `status` and `doctor`: counts, the first skipped lines, the
//! models in use and SQLite's own integrity check. Read-only questions, asked here so that
//! the commands need no SQL of their own.

use anyhow::Result;
use serde::Serialize;

use super::Store;
use super::query::UNMERGED;

/// The ledger's size in files, lines and rows.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Holdings {
    pub tracked_files: u64,
    pub lines_parsed: u64,
    pub bytes_parsed: u64,
    pub lines_skipped: u64,
    pub rows: u64,
    /// The first and last response's time.
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
}

/// One agent's part of the ledger: the files read and the rows kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentHoldings {
    pub agent: String,
    pub files: u64,
    pub rows: u64,
}

/// A transcript line that could not be read, where it is and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedAt {
    pub file: String,
    pub line: u64,
    pub reason: String,
}

impl Store {
    pub fn holdings(&self) -> Result<Holdings> {
        let conn = self.conn();
        let mut holdings = Holdings::default();
        (
            holdings.tracked_files,
            holdings.lines_parsed,
            holdings.bytes_parsed,
            holdings.lines_skipped,
        ) = conn.query_row(
            &format!(
                "SELECT count(*), total(lines), total(offset), total(lines_skipped + rows_refused) FROM files
                 WHERE {}",
                crate::ledger::exchange::TRANSCRIPTS
            ),
            [],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get::<_, f64>(1)? as u64,
                    r.get::<_, f64>(2)? as u64,
                    r.get::<_, f64>(3)? as u64,
                ))
            },
        )?;
        (holdings.rows, holdings.first_ms, holdings.last_ms) = conn.query_row(
            "SELECT count(*), min(ts_ms), max(ts_ms) FROM entries",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        Ok(holdings)
    }

    /// Files and rows per agent, in name order (imported rows count under their agent).
    pub fn holdings_by_agent(&self) -> Result<Vec<AgentHoldings>> {
        let mut stmt = self.conn().prepare(&format!(
            "SELECT agent, sum(files), sum(rows) FROM (
                 SELECT agent, count(*) AS files, 0 AS rows FROM files WHERE {}
                 GROUP BY agent
                 UNION ALL
                 SELECT agent, 0, count(*) FROM entries GROUP BY agent)
             GROUP BY agent ORDER BY agent",
            crate::ledger::exchange::TRANSCRIPTS
        ))?;
        let rows = stmt.query_map([], |r| {
            Ok(AgentHoldings {
                agent: r.get(0)?,
                files: r.get(1)?,
                rows: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The first `limit` skipped lines kept, by file and line.
    pub fn first_skipped(&self, limit: usize) -> Result<Vec<SkippedAt>> {
        let mut stmt = self.conn().prepare(
            "SELECT f.path, s.line_no, s.reason FROM skipped_lines s JOIN files f ON f.id = s.file_id
             ORDER BY f.path, s.line_no LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit as i64], |r| {
            Ok(SkippedAt {
                file: String::from_utf8_lossy(&r.get::<_, Vec<u8>>(0)?).into_owned(),
                line: r.get(1)?,
                reason: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// SQLite's `quick_check`: `["ok"]`, or what is damaged (an error reading it counts as
    /// damage too).
    pub fn quick_check(&self) -> Vec<String> {
        let check = || -> rusqlite::Result<Vec<String>> {
            self.conn()
                .prepare("PRAGMA quick_check")?
                .query_map([], |r| r.get(0))?
                .collect()
        };
        check().unwrap_or_else(|e| vec![e.to_string()])
    }

    /// Every model id with a response in the ledger, sorted.
    pub fn models_in_use(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn().prepare(&format!(
            "SELECT DISTINCT model FROM usage_by_time WHERE model != '' AND requests > 0
             UNION SELECT DISTINCT model FROM entry_keys WHERE model != '' AND {UNMERGED}
             ORDER BY 1"
        ))?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
