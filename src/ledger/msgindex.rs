//! The dedup index: which ledger rows hold a `message.id`, kept so that a 100-row flush
//! does not rewrite a hundred pages of it.
//!
//! Message ids are random, so an index on them takes each new row to a different page,
//! and a commit rewrites every page it touched: most of what a flush wrote. Here the
//! index is a table (`message_index`) that is complete up to a watermark
//! (`meta.indexed_through`, an `entries.id`); rows above it are kept in memory as a hash
//! of their message id and their row id (a match is read back from `entries`). Every
//! `MERGE_ROWS` rows, and at the end of each pass, the rows above the watermark are merged
//! into the table in message-id order, so each page is written once per merge.
//!
//! Exactness does not rest on this process's memory: the watermark moves in the same
//! transaction as the merge, a process that starts (or was killed) loads the rows above it
//! from the database, and when another process has committed since our last look
//! (`PRAGMA data_version`), the in-memory part is read again under the write lock.

use std::hash::BuildHasher;

use anyhow::Result;
use rusqlite::{Connection, OptionalExtension, params};

use crate::ledger::batch::Rank;
use crate::ledger::dedup::Stored;

/// Rows kept in memory before they are merged into the table. At about 24 bytes a row
/// the map is small; what bounds this is the merge's sort, which SQLite does in memory
/// (about 10 MB more peak memory for 75,000 rows). Merging every 4,096 rows instead made
/// a cold ingest 10% slower, most of it in looking up new ids in a growing table.
const MERGE_ROWS: usize = 1 << 16;

/// The columns `stored` reads, in its order (`e` is the `entries` row).
const STORED: &str = "e.id, e.request_id, e.is_sidechain,
    e.input + e.output + e.cache_write_5m + e.cache_write_1h + e.cache_read, e.cost_usd,
    e.speed IS NOT NULL, e.stopped, e.agent";

fn stored(r: &rusqlite::Row<'_>) -> rusqlite::Result<Stored> {
    Ok(Stored {
        id: r.get(0)?,
        request_id: r.get(1)?,
        is_sidechain: r.get(2)?,
        rank: Rank {
            total: r.get(3)?,
            cost_usd: r.get(4)?,
            has_speed: r.get(5)?,
            stopped: r.get(6)?,
        },
        agent: r.get(7)?,
    })
}

/// The entry ids above the watermark whose message id hashes to one value: nearly always
/// one (message ids are unique but for copies of a response).
#[derive(Debug)]
enum Ids {
    One(i64),
    More(Vec<i64>),
}

impl Ids {
    fn push(&mut self, id: i64) {
        match self {
            Ids::One(first) => *self = Ids::More(vec![*first, id]),
            Ids::More(ids) => ids.push(id),
        }
    }

    fn as_slice(&self) -> &[i64] {
        match self {
            Ids::One(id) => std::slice::from_ref(id),
            Ids::More(ids) => ids,
        }
    }
}

#[derive(Debug, Default)]
pub struct MessageIndex {
    /// Rows above the watermark, by a hash of their message id. Only the hash and the id
    /// are kept: a match (a copy of a response, or rarely another id with the same hash)
    /// is read from `entries` and checked there.
    recent: foldhash::HashMap<u64, Ids>,
    recent_rows: usize,
    hasher: foldhash::fast::RandomState,
    /// The rows stored under the message ids of the flush at hand, read for all of them
    /// at once by `prefetch`, and kept current by `add` and `replaced`.
    fetched: foldhash::HashMap<String, Vec<Stored>>,
    /// `message_index` holds every row with `entries.id <= indexed_through`.
    indexed_through: i64,
    /// `PRAGMA data_version` when `recent` was last made to match the database; `None`
    /// when it must be read again (never read, or a failed transaction left it wrong).
    synced_at: Option<i64>,
}

impl MessageIndex {
    /// Makes the in-memory part match the database. Call inside the write transaction,
    /// before any lookup.
    pub fn sync(&mut self, conn: &Connection) -> Result<()> {
        let version: i64 = conn.pragma_query_value(None, "data_version", |r| r.get(0))?;
        if self.synced_at == Some(version) {
            return Ok(());
        }
        self.indexed_through = conn
            .query_row(
                "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'indexed_through'",
                [],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0);
        self.recent.clear();
        self.recent_rows = 0;
        let mut stmt = conn.prepare_cached(
            "SELECT id, message_id FROM entries WHERE id > ?1 AND message_id IS NOT NULL",
        )?;
        let mut rows = stmt.query([self.indexed_through])?;
        while let Some(row) = rows.next()? {
            let message_id = row.get_ref(1)?.as_str()?;
            let hash = self.hasher.hash_one(message_id);
            self.remember(hash, row.get(0)?);
        }
        self.synced_at = Some(version);
        Ok(())
    }

    /// After a failed transaction the in-memory part may hold rows that were rolled back.
    pub fn invalidate(&mut self) {
        self.synced_at = None;
    }

    fn remember(&mut self, hash: u64, id: i64) {
        match self.recent.get_mut(&hash) {
            Some(ids) => ids.push(id),
            None => {
                self.recent.insert(hash, Ids::One(id));
            }
        }
        self.recent_rows += 1;
    }

    /// Reads the rows stored under `message_ids` (a flush's), so that `lookup` can answer
    /// for them: from the table in one statement (nearly every id is new, and a query per
    /// row that finds nothing was a tenth of a cold ingest), and the rows above the
    /// watermark whose hash matches. Call inside the write transaction, after `sync`.
    pub fn prefetch<'a>(
        &mut self,
        conn: &Connection,
        message_ids: impl Iterator<Item = &'a str>,
    ) -> Result<()> {
        self.fetched.clear();
        let ids: Vec<&str> = message_ids.collect();
        if ids.is_empty() {
            return Ok(());
        }
        let mut found: Vec<(String, i64)> = Vec::new();
        if self.indexed_through > 0 {
            // Two plain statements, not a JOIN: inside a flush a JOIN was recompiled at
            // every call (SQLite's statement status counted one re-prepare per run).
            let mut stmt = conn.prepare_cached(
                "SELECT message_id, entry_id FROM message_index
                 WHERE message_id IN (SELECT value FROM json_each(?1))",
            )?;
            let rows = stmt.query_map([serde_json::to_string(&ids)?], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
            found = rows.collect::<rusqlite::Result<_>>()?;
        }
        let mut by_id = conn.prepare_cached(&format!(
            "SELECT {STORED} FROM entries e WHERE e.id = ?1 AND e.message_id = ?2"
        ))?;
        for (message_id, entry_id) in found {
            let row = by_id.query_row(params![entry_id, message_id], stored)?;
            self.fetched.entry(message_id).or_default().push(row);
        }
        for message_id in ids {
            let hash = self.hasher.hash_one(message_id);
            let Some(candidates) = self.recent.get(&hash) else {
                continue;
            };
            for &entry_id in candidates.as_slice() {
                // Another message id with the same hash is not a match.
                let row = by_id
                    .query_row(params![entry_id, message_id], stored)
                    .optional()?;
                let held = self.fetched.entry(message_id.to_string()).or_default();
                if let Some(row) = row
                    && !held.iter().any(|h| h.id == row.id)
                {
                    held.push(row);
                }
            }
        }
        Ok(())
    }

    /// Every row stored under `message_id`, which must have been prefetched.
    pub fn lookup(&self, message_id: &str) -> Vec<Stored> {
        self.fetched.get(message_id).cloned().unwrap_or_default()
    }

    /// A row was inserted.
    pub fn add(&mut self, message_id: &str, row: Stored) {
        let hash = self.hasher.hash_one(message_id);
        self.remember(hash, row.id);
        self.fetched
            .entry(message_id.to_string())
            .or_default()
            .push(row);
    }

    /// Row `row.id` was overwritten in place (an upgrade): keep what lookups see current.
    pub fn replaced(&mut self, message_id: &str, row: Stored) {
        if let Some(held) = self
            .fetched
            .get_mut(message_id)
            .and_then(|rows| rows.iter_mut().find(|s| s.id == row.id))
        {
            *held = row;
        }
    }

    pub fn merge_due(&self) -> bool {
        self.recent_rows >= MERGE_ROWS
    }

    pub fn is_merged(&self) -> bool {
        self.recent_rows == 0
    }

    /// Moves the rows above the watermark into `message_index`, in message-id order.
    /// Call inside the write transaction, after `sync`.
    pub fn merge(&mut self, conn: &Connection) -> Result<()> {
        if self.recent_rows == 0 {
            return Ok(());
        }
        conn.prepare_cached(
            "INSERT OR IGNORE INTO message_index (message_id, entry_id)
             SELECT message_id, id FROM entries WHERE id > ?1 AND message_id IS NOT NULL
             ORDER BY message_id",
        )?
        .execute([self.indexed_through])?;
        let through: i64 =
            conn.query_row("SELECT coalesce(max(id), 0) FROM entries", [], |r| r.get(0))?;
        conn.prepare_cached(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('indexed_through', ?1)",
        )?
        .execute(params![through.to_string()])?;
        self.indexed_through = through;
        self.recent.clear();
        self.recent_rows = 0;
        Ok(())
    }
}
