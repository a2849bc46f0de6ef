//! Rows between ledgers: what `export` reads and what `import` writes.
//!
//! An export is every row (or those stamped after a cursor, see migration 9's
//! `changed_seq`) with the host it was recorded on. An import pushes other ledgers' rows
//! through the same dedup rules and write path as a flush (`write_decision`), in its own
//! transactions, so a response that reached two machines is one row, and importing a file
//! again (whole, or after a kill) finds every committed row already there: equal copies
//! are kept, never added. Rows without a message id, which the rules never deduplicate,
//! are recognised by their content (host, session, time, request, model, tokens) instead.
//!
//! An export is a claim, so an import cannot lower what this ledger recorded itself: a
//! copy claiming this ledger's host replaces nothing, a copy from elsewhere wins no tie by
//! its `costUSD` or `speed`, and a replaced row keeps its host, session and project
//! (`judge`).
//!
//! The file format (NDJSON, its field names and version) is `render::export`'s; the
//! ledger deals in `Row`s.

use anyhow::{Context, Result, bail};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::{FileRef, Flushed, Merged, Store, Written, stored_under, tokens_at, write_decision};
use crate::ledger::batch::Rank;
use crate::ledger::dedup::{self, Decision, Stored};
use crate::ledger::msgindex::MessageIndex;
use crate::model::Record;

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

/// Which rows an export writes: those stamped after the cursor `after` (all without it),
/// of responses from `since_ms` (inclusive) to `until_ms` (exclusive).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    pub after: Option<i64>,
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
}

/// Where an export got to: `--after` with this writes only rows stamped after it.
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
            // An export does not carry it: an imported copy ranks by its total.
            stopped: false,
            credits: r.get(22)?,
            premium_requests: r.get(23)?,
        },
    })
}

impl Store {
    /// Hands every row of `selection` to `each`, from one snapshot, and says where that
    /// snapshot stands: the cursor of the next `--after`.
    pub fn export(
        &self,
        selection: Selection,
        mut each: impl FnMut(&Row) -> Result<()>,
    ) -> Result<Exported> {
        let snapshot = self.conn.unchecked_transaction()?;
        let host = self.host()?;
        let change_seq = change_seq(&snapshot)?;
        const IN_RANGE: &str = "(?4 IS NULL OR e.ts_ms >= ?4) AND (?5 IS NULL OR e.ts_ms < ?5)";
        // A whole export scans the table in id order; a few changes are found by the index.
        let sql = match selection.after {
            None => format!(
                "SELECT {EXPORT_COLUMNS} FROM entries e LEFT JOIN hosts h ON h.id = e.host
                 WHERE ?1 IS NULL AND {IN_RANGE} ORDER BY e.id"
            ),
            Some(_) => format!(
                "SELECT {EXPORT_COLUMNS} FROM entries e LEFT JOIN hosts h ON h.id = e.host
                 WHERE e.changed_seq > ?1 AND {IN_RANGE} ORDER BY e.changed_seq, e.id"
            ),
        };
        let mut stmt = snapshot.prepare(&sql)?;
        let mut rows = stmt.query(params![
            selection.after,
            host.id,
            host.name,
            selection.since_ms,
            selection.until_ms
        ])?;
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

    /// Commits `rows` (another ledger's export) in one transaction, through the import
    /// rules (`judge`): what is already here is kept, better copies replace it, the rest
    /// is added.
    pub fn import(&mut self, rows: &[Row]) -> Result<Flushed> {
        let done = self.import_with(|sink| {
            sink.add(rows)?;
            Ok(true)
        })?;
        Ok(done.expect("a fill that keeps its rows is committed"))
    }

    /// Runs `fill` inside one write transaction, handing it the sink that takes rows in
    /// as many batches as it likes (one file of any size: only a batch is held at a
    /// time). The transaction is committed if `fill` returns `Ok(true)`, with what it
    /// did; rolled back (`None`) if it returns `Ok(false)` or fails.
    pub fn import_with(
        &mut self,
        fill: impl FnOnce(&mut Sink<'_>) -> Result<bool>,
    ) -> Result<Option<Flushed>> {
        let outcome = self.import_inner(fill);
        if !matches!(outcome, Ok(Some(_))) {
            // Rows the sink put into the index were rolled back with the transaction.
            self.index.invalidate();
        }
        outcome
    }

    fn import_inner(
        &mut self,
        fill: impl FnOnce(&mut Sink<'_>) -> Result<bool>,
    ) -> Result<Option<Flushed>> {
        let local = self.host()?.id;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .context("cannot start a write transaction")?;
        self.index.sync(&tx)?;
        let mut sink = Sink {
            merged: Merged::read(&tx, self.pending.take())?,
            file_id: import_file(&tx)?,
            tx,
            index: &mut self.index,
            local,
            hosts: foldhash::HashMap::default(),
            counts: Flushed::default(),
        };
        if !fill(&mut sink)? {
            return Ok(None);
        }
        let Sink {
            tx,
            index,
            merged,
            counts,
            ..
        } = sink;
        let pending = merged.finish(&tx, counts)?;
        if index.merge_due() {
            index.merge(&tx)?;
        }
        tx.commit().context("cannot commit to the database")?;
        self.pending = pending;
        Ok(Some(counts))
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

/// The rows of one import transaction going in (`Store::import_with`).
pub struct Sink<'s> {
    tx: Transaction<'s>,
    index: &'s mut MessageIndex,
    merged: Merged,
    file_id: i64,
    /// This ledger's host id: rows claiming it are this ledger's own, gone out and back.
    local: String,
    /// `entries.host` of each host id met so far.
    hosts: foldhash::HashMap<String, Option<i64>>,
    counts: Flushed,
}

impl Sink<'_> {
    /// Takes `rows` in, each through `judge`. The rows the ledger's total cannot take
    /// (`limits::admit`), by their place in `rows`, and why.
    pub fn add(&mut self, rows: &[Row]) -> Result<Vec<(usize, String)>> {
        self.index.prefetch(
            &self.tx,
            rows.iter()
                .filter_map(|row| row.record.message_id.as_deref()),
        )?;
        let mut refused = Vec::new();
        for (at, row) in rows.iter().enumerate() {
            if let Some(reason) = self.add_one(row)? {
                refused.push((at, reason));
            }
        }
        if self.index.merge_due() {
            self.index.merge(&self.tx)?;
        }
        Ok(refused)
    }

    /// Why the ledger refused `row`, if it did.
    fn add_one(&mut self, row: &Row) -> Result<Option<String>> {
        let host = match self.hosts.get(&row.host_id) {
            Some(&host) => host,
            None => {
                let host = host_key(&self.tx, row, &self.local)?;
                self.hosts.insert(row.host_id.clone(), host);
                host
            }
        };
        if row.record.message_id.is_none() && holds_same_row(&self.tx, row, host)? {
            self.counts.duplicates += 1;
            return Ok(None);
        }
        let here = FileRef {
            id: self.file_id,
            session_id: &row.session_id,
            project: &row.project,
            host,
        };
        let stored = stored_under(self.index, &row.record);
        let (decision, place) = judge(&self.tx, &row.record, host, &stored)?;
        let file = place.as_ref().map_or(here, Place::file_ref);
        let merged = &mut self.merged;
        match write_decision(&self.tx, &row.record, file, decision, merged, self.index)? {
            Written::Done(decision) => self.counts.count(&decision),
            Written::Refused(reason) => {
                self.counts.refused += 1;
                return Ok(Some(reason));
            }
        }
        Ok(None)
    }
}

/// What an import does with `copy` (recorded on `host`, `None` for this ledger's), given
/// the rows here under its message id; for a replacement, also where the row stays.
///
/// The dedup rules of an ingest (`dedup::decide`) decide, narrowed three ways, since an
/// export is a claim and an import must not lower what this ledger recorded itself:
/// - a copy claiming this ledger's host replaces nothing: it is one of its rows gone out
///   and back, or a forgery of one, and what the ledger recorded stands (a row it no
///   longer holds is added back as its own);
/// - a copy from another host wins no tie (`is_tie`);
/// - a replaced row keeps its place (`Place`): its host, session, project and file.
fn judge(
    tx: &Connection,
    copy: &Record,
    host: Option<i64>,
    stored: &[Stored],
) -> Result<(Decision, Option<Place>)> {
    let decision = dedup::decide(copy, stored);
    let Decision::Replace(id) = decision else {
        return Ok((decision, None));
    };
    if host.is_none() {
        return Ok((Decision::Keep, None));
    }
    let place = Place::of(tx, id)?;
    if place.host != host && is_tie(copy, id, stored) {
        return Ok((Decision::Keep, None));
    }
    Ok((decision, Some(place)))
}

/// Whether replacing row `id` by `copy` rests only on rule 3's tie-breaks (the same
/// response with the same token total, told apart by `costUSD`, then `speed`).
///
/// An imported `costUSD` is another machine's claim, as is its `speed` (fast mode prices
/// a request at a multiple): between copies recorded on different hosts a tie keeps the
/// row that is here, so neither can raise this ledger's cost by itself. A copy with a
/// larger token total still replaces it (rule 3), bringing its own `costUSD` and `speed`
/// with its tokens; between copies of one host (its later export) rule 3 applies whole.
/// How large a `costUSD` may be at all is the import's value checks' to say.
fn is_tie(copy: &Record, id: i64, stored: &[Stored]) -> bool {
    stored.iter().any(|s| {
        s.id == id && s.request_id == copy.request_id && s.rank.total == Rank::of(copy).total
    })
}

/// Where a stored row is: what a replacement by an imported copy leaves as it was.
struct Place {
    file_id: i64,
    session_id: String,
    project: String,
    host: Option<i64>,
}

impl Place {
    fn of(tx: &Connection, id: i64) -> Result<Place> {
        Ok(tx
            .prepare_cached("SELECT file_id, session_id, project, host FROM entries WHERE id = ?1")?
            .query_row([id], |r| {
                Ok(Place {
                    file_id: r.get(0)?,
                    session_id: r.get(1)?,
                    project: r.get(2)?,
                    host: r.get(3)?,
                })
            })?)
    }

    fn file_ref(&self) -> FileRef<'_> {
        FileRef {
            id: self.file_id,
            session_id: &self.session_id,
            project: &self.project,
            host: self.host,
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

    fn all(store: &Store, after: Option<i64>) -> (Vec<Row>, Exported) {
        let mut rows = Vec::new();
        let selection = Selection {
            after,
            ..Selection::default()
        };
        let done = store
            .export(selection, |r| {
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
    fn ties_go_to_a_hosts_own_later_copy_only_and_replaced_rows_keep_their_host() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let with_cost = |host: &str, output: u64, cost: f64| {
            let mut r = row(host, Some("m1"), output);
            r.record.cost_usd = Some(cost);
            r
        };
        store.import(&[row("aa", Some("m1"), 5)]).unwrap();
        // The same host's later export: rule 3 whole, the cost breaks the tie.
        assert_eq!(
            store.import(&[with_cost("aa", 5, 1.0)]).unwrap().upgraded,
            1
        );
        // Another host's claim of a higher cost for the same tokens changes nothing.
        let tie = store.import(&[with_cost("bb", 5, 9.0)]).unwrap();
        assert_eq!((tie.upgraded, tie.duplicates), (0, 1));
        assert_eq!(all(&store, None).0, vec![with_cost("aa", 5, 1.0)]);
        // Its larger copy replaces the row, which stays the first host's.
        assert_eq!(
            store.import(&[with_cost("bb", 6, 2.0)]).unwrap().upgraded,
            1
        );
        let (rows, _) = all(&store, None);
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (rows[0].host_id.as_str(), rows[0].record.tokens.output),
            ("aa", 6)
        );
        assert_eq!(rows[0].record.cost_usd, Some(2.0));
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
