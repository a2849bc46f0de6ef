//! Rows between ledgers: what `export` reads and what `import` writes.
//!
//! An export is every row (or those stamped after a cursor, see migration 9's
//! `changed_seq`) with the host it was recorded on. An import pushes other ledgers' rows
//! through the same dedup rules and write path as a flush (`apply`), in its own
//! transactions, so a response that reached two machines is one row, and importing a file
//! again (whole, or after a kill) finds every committed row already there: equal copies
//! are kept, never added. Rows without a message id, which the rules never deduplicate,
//! are recognised by their content (host, session, time, request, model, tokens) instead.
//!
//! The file format (NDJSON, its field names and version) is `render::export`'s; the
//! ledger deals in `Row`s.

use anyhow::{Context, Result, bail};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{FileRef, Flushed, Merged, Store, apply, tokens_at};
use crate::ingest::parse::Record;
use crate::ledger::dedup::Decision;

/// One response as it travels between ledgers: its record, where it counts, and the host
/// it was recorded on.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub host_id: String,
    pub host_name: String,
    pub session_id: String,
    pub project: String,
    pub record: Record,
}

/// Where an export got to: `--since` with this writes only rows stamped after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exported {
    pub rows: u64,
    pub change_seq: i64,
}

/// A host as the `hosts` view and `--host` know it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnownHost {
    /// `None` for this ledger's own host (its rows' `host` is NULL).
    pub key: Option<i64>,
    pub id: String,
    pub name: String,
}

/// The imported rows' `files` row: one for all of them, which no walk can find (a path
/// with a NUL byte), so no pass ever reads or resets it.
const IMPORT_FILE: &[u8] = b"\0import";

/// The condition on `files` that leaves `IMPORT_FILE` out: what counts as a tracked
/// transcript (`status`, `metrics`).
pub(crate) const TRANSCRIPTS: &str = "path != x'00696d706f7274'";

/// The last change marker handed out (0 before any).
pub(super) fn change_seq(conn: &Connection) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'change_seq'")?
        .query_row([], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

pub(super) fn set_change_seq(conn: &Connection, seq: i64) -> Result<()> {
    conn.prepare_cached("INSERT OR REPLACE INTO meta (key, value) VALUES ('change_seq', ?1)")?
        .execute([seq.to_string()])?;
    Ok(())
}

/// Every row of the export, as `Row`s: the host's, the session's and the record's columns.
const EXPORT_COLUMNS: &str = "coalesce(h.host_id, ?2), coalesce(h.name, ?3), e.session_id,
    e.project, e.cwd, e.ts_ms, e.model, e.message_id, e.request_id, e.is_sidechain, e.speed,
    e.inference_geo, e.input, e.output, e.cache_write_5m, e.cache_write_1h, e.cache_read,
    e.web_search, e.cost_usd, e.version, e.agent, e.reasoning, e.credits, e.premium_requests";

fn export_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok(Row {
        host_id: r.get(0)?,
        host_name: r.get(1)?,
        session_id: r.get(2)?,
        project: r.get(3)?,
        record: Record {
            cwd: r.get(4)?,
            ts_ms: r.get(5)?,
            model: r.get(6)?,
            message_id: r.get(7)?,
            request_id: r.get(8)?,
            is_sidechain: r.get(9)?,
            speed: r.get(10)?,
            inference_geo: r.get(11)?,
            tokens: tokens_at(r, 12)?,
            web_search: r.get(17)?,
            cost_usd: r.get(18)?,
            version: r.get(19)?,
            line_session_id: None,
            agent: r.get(20)?,
            reasoning: r.get(21)?,
            project: None,
            credits: r.get(22)?,
            premium_requests: r.get(23)?,
        },
    })
}

impl Store {
    /// Hands every row stamped after `since` (all of them without it) to `each`, from one
    /// snapshot, and says where that snapshot stands: the cursor of the next `--since`.
    pub fn export(
        &self,
        since: Option<i64>,
        mut each: impl FnMut(&Row) -> Result<()>,
    ) -> Result<Exported> {
        let snapshot = self.conn.unchecked_transaction()?;
        let host = self.host()?;
        let change_seq = change_seq(&snapshot)?;
        // A whole export scans the table in id order; a few changes are found by the index.
        let sql = match since {
            None => format!(
                "SELECT {EXPORT_COLUMNS} FROM entries e LEFT JOIN hosts h ON h.id = e.host
                 WHERE ?1 IS NULL ORDER BY e.id"
            ),
            Some(_) => format!(
                "SELECT {EXPORT_COLUMNS} FROM entries e LEFT JOIN hosts h ON h.id = e.host
                 WHERE e.changed_seq > ?1 ORDER BY e.changed_seq, e.id"
            ),
        };
        let mut stmt = snapshot.prepare(&sql)?;
        let mut rows = stmt.query(params![since, host.id, host.name])?;
        let mut count = 0;
        while let Some(r) = rows.next()? {
            each(&export_row(r)?)?;
            count += 1;
        }
        drop(rows);
        drop(stmt);
        snapshot.finish()?;
        Ok(Exported {
            rows: count,
            change_seq,
        })
    }

    /// Commits `rows` (another ledger's export) in one transaction, through the dedup
    /// rules: what is already here is kept, better copies replace it, the rest is added.
    pub fn import(&mut self, rows: &[Row]) -> Result<Flushed> {
        let outcome = self.import_inner(rows);
        if outcome.is_err() {
            self.index.invalidate();
        }
        outcome
    }

    fn import_inner(&mut self, rows: &[Row]) -> Result<Flushed> {
        let local = self.host()?.id;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .context("cannot start a write transaction")?;
        self.index.sync(&tx)?;
        let mut merged = Merged::read(&tx)?;
        let file_id = import_file(&tx)?;
        self.index.prefetch(
            &tx,
            rows.iter()
                .filter_map(|row| row.record.message_id.as_deref()),
        )?;
        let mut hosts = foldhash::HashMap::<String, Option<i64>>::default();
        let mut counts = Flushed::default();
        for row in rows {
            let host = match hosts.get(&row.host_id) {
                Some(&host) => host,
                None => {
                    let host = host_key(&tx, row, &local)?;
                    hosts.insert(row.host_id.clone(), host);
                    host
                }
            };
            if row.record.message_id.is_none() && holds_same_row(&tx, row, host)? {
                counts.duplicates += 1;
                continue;
            }
            let file = FileRef {
                id: file_id,
                session_id: &row.session_id,
                project: &row.project,
                host,
            };
            match apply(&tx, &row.record, file, &mut merged, &mut self.index)? {
                Decision::Insert => counts.added += 1,
                Decision::Replace(_) => counts.upgraded += 1,
                Decision::Keep => counts.duplicates += 1,
            }
        }
        merged.finish(&tx, counts)?;
        if self.index.merge_due() {
            self.index.merge(&tx)?;
        }
        tx.commit().context("cannot commit to the database")?;
        Ok(counts)
    }

    /// This ledger's host first, then every host rows were imported from.
    pub fn known_hosts(&self) -> Result<Vec<KnownHost>> {
        let host = self.host()?;
        let mut hosts = vec![KnownHost {
            key: None,
            id: host.id,
            name: host.name,
        }];
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, host_id, name FROM hosts ORDER BY name, host_id")?;
        let others = stmt.query_map([], |r| {
            Ok(KnownHost {
                key: Some(r.get(0)?),
                id: r.get(1)?,
                name: r.get(2)?,
            })
        })?;
        for other in others {
            hosts.push(other?);
        }
        Ok(hosts)
    }

    /// The host `name` names: its name or its id (or an id's first digits, if only one
    /// host's id starts so).
    pub fn find_host(&self, name: &str) -> Result<KnownHost> {
        let hosts = self.known_hosts()?;
        let by_name: Vec<&KnownHost> = hosts.iter().filter(|h| h.name == name).collect();
        let found: Vec<&KnownHost> = if by_name.is_empty() {
            hosts
                .iter()
                .filter(|h| h.id == name || (name.len() >= 4 && h.id.starts_with(name)))
                .collect()
        } else {
            by_name
        };
        match found.as_slice() {
            [one] => Ok((*one).clone()),
            [] => bail!(
                "no host named {name:?} in this ledger (known: {})",
                hosts
                    .iter()
                    .map(|h| format!("{} ({})", h.name, h.id))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            _ => bail!("{name:?} names several hosts: give its id instead"),
        }
    }
}

/// The `files` row imported rows belong to, made on the first import.
fn import_file(tx: &Connection) -> Result<i64> {
    let found = tx
        .prepare_cached("SELECT id FROM files WHERE path = ?1")?
        .query_row([IMPORT_FILE], |r| r.get(0))
        .optional()?;
    if let Some(id) = found {
        return Ok(id);
    }
    Ok(tx
        .prepare_cached(
            "INSERT INTO files (path, project, session_id, dev, inode, size, mtime_ns, offset, lines, head_len, head_hash, updated_ms)
             VALUES (?1, '', '', 0, 0, 0, 0, 0, 0, 0, 0, 0) RETURNING id",
        )?
        .query_row([IMPORT_FILE], |r| r.get(0))?)
}

/// A row's host as `entries.host` stores it: NULL for this ledger's own (rows that went
/// out and came back), else its `hosts` row, made or renamed as the row names it.
fn host_key(tx: &Connection, row: &Row, local: &str) -> Result<Option<i64>> {
    if row.host_id == local {
        return Ok(None);
    }
    let id = tx
        .prepare_cached(
            "INSERT INTO hosts (host_id, name) VALUES (?1, ?2)
             ON CONFLICT (host_id) DO UPDATE SET name = excluded.name RETURNING id",
        )?
        .query_row(params![row.host_id, row.host_name], |r| r.get(0))?;
    Ok(Some(id))
}

/// Whether the ledger holds a row without a message id equal to `row` (the same host,
/// session, moment, request, model and tokens): such rows are never deduplicated by the
/// rules, so an import recognises its own earlier copy this way. Found through
/// `entries_by_time`: few rows share a millisecond.
fn holds_same_row(tx: &Connection, row: &Row, host: Option<i64>) -> Result<bool> {
    let r = &row.record;
    let t = &r.tokens;
    Ok(tx
        .prepare_cached(
            "SELECT 1 FROM entries
             WHERE ts_ms = ?1 AND message_id IS NULL AND host IS ?2 AND session_id = ?3
               AND request_id IS ?4 AND model IS ?5 AND input = ?6 AND output = ?7
               AND cache_write_5m = ?8 AND cache_write_1h = ?9 AND cache_read = ?10
             LIMIT 1",
        )?
        .query_row(
            params![
                r.ts_ms,
                host,
                row.session_id,
                r.request_id,
                r.model,
                t.input,
                t.output,
                t.cache_write_5m,
                t.cache_write_1h,
                t.cache_read
            ],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(host: &str, message: Option<&str>, output: u64) -> Row {
        let mut record = Record::for_test(message.unwrap_or("x"), Some("r1"), output);
        record.message_id = message.map(str::to_string);
        record.ts_ms = 1_760_000_000_000;
        record.model = Some("claude-sonnet-4-5".into());
        Row {
            host_id: host.into(),
            host_name: format!("{host}-name"),
            session_id: "s".into(),
            project: "p".into(),
            record,
        }
    }

    fn all(store: &Store, since: Option<i64>) -> (Vec<Row>, Exported) {
        let mut rows = Vec::new();
        let done = store
            .export(since, |r| {
                rows.push(r.clone());
                Ok(())
            })
            .unwrap();
        (rows, done)
    }

    #[test]
    fn imports_dedup_like_flushes_and_exports_follow_changes() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let rows = [row("aa", Some("m1"), 5), row("aa", None, 7)];
        assert_eq!(store.import(&rows).unwrap().added, 2);
        let again = store.import(&rows).unwrap();
        assert_eq!((again.added, again.duplicates), (0, 2));

        let (exported, first) = all(&store, None);
        assert_eq!(exported, rows.to_vec());
        // An upgrade is stamped after the cursor; what did not change is not.
        let upgrade = store.import(&[row("aa", Some("m1"), 50)]).unwrap();
        assert_eq!(upgrade.upgraded, 1);
        let (changed, second) = all(&store, Some(first.change_seq));
        assert_eq!(changed, vec![row("aa", Some("m1"), 50)]);
        assert!(second.change_seq > first.change_seq);
        assert!(all(&store, Some(second.change_seq)).0.is_empty());
        assert!(crate::ledger::aggregate::consistent(store.conn()).unwrap());
    }

    #[test]
    fn the_import_file_is_no_tracked_transcript() {
        let hex: String = IMPORT_FILE.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(TRANSCRIPTS, format!("path != x'{hex}'"));
    }

    #[test]
    fn rows_that_come_back_are_this_hosts() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let me = store.host().unwrap();
        store.import(&[row(&me.id, None, 3)]).unwrap();
        let (exported, _) = all(&store, None);
        assert_eq!(exported[0].host_name, me.name);
        assert_eq!(store.known_hosts().unwrap().len(), 1);
        assert_eq!(store.find_host(&me.name).unwrap().key, None);
        assert!(store.find_host("nobody").is_err());
    }
}
