//! The SQLite ledger: opening it safely, migrating its schema, and the one write path.
//!
//! One long-lived connection (WAL, `synchronous=NORMAL`, a generous busy timeout) with
//! cached prepared statements. Every write is a `flush`: one `BEGIN IMMEDIATE` transaction
//! that re-reads each file's cursor, applies the batch's rows through the dedup rules, and
//! moves the cursors past them. If another process (an overlapping cron run, a `watch`)
//! moved a cursor since we read it, that file's rows are dropped from this flush: the other
//! process owns those bytes now, and nothing is counted twice.
//!
//! The schema lives in `src/ledger/sql/`, applied in order and numbered by
//! `PRAGMA user_version`; `PRAGMA application_id` marks the file as ours, so a database of
//! another program or of a newer cco-stats is refused before anything is written to it.

pub mod aggregate;
pub mod alerts;
pub mod batch;
pub mod counters;
pub mod dedup;
pub mod exchange;
pub mod inspect;
pub mod msgindex;
pub mod projects;
pub mod query;
pub mod quota;

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs::{self, DirBuilder, OpenOptions};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rusqlite::{
    Connection, OpenFlags, OptionalExtension, TransactionBehavior, params, params_from_iter,
};

use crate::ledger::aggregate::{Deltas, Pending};
use crate::ledger::batch::{Batch, Cursor, Identities, SkippedLine};
use crate::ledger::dedup::{Decision, Stored};
use crate::ledger::msgindex::MessageIndex;
use crate::limits;
use crate::model::{DirCache, Listing};
use crate::model::{HEAD_LEN, Head, Identity};
use crate::model::{Record, Tokens};

/// The `meta` key holding when the last full pass (every root walked) finished, in Unix
/// milliseconds: the status line, which reads only its own session, says how old the
/// rest of the ledger is from it.
pub const LAST_FULL_PASS: &str = "last_full_pass_ms";

/// 'ccos': marks a SQLite file as a cco-stats ledger.
const APPLICATION_ID: i32 = 0x6363_6f73;

/// One step of a migration.
enum Step {
    Sql(&'static str),
    /// `aggregate::rebuild`: fills every aggregate of the current schema from the rows.
    /// The rebuild writes tables later migrations create (17's days), so the step asks
    /// for it and it runs once, after the last migration (12's step, which keys them by
    /// agent; 6 and 5 asked for it until a later one came).
    RebuildAggregates,
    /// `move_out_of_limits`: the rows a ledger took before `limits` existed and that
    /// `limits::check` refuses leave for the skipped lines (migration 10; the aggregates
    /// are summed again by migration 12's rebuild, which every upgrade through 10 runs).
    MoveOutOfLimits,
    /// `count_total`: the ledger's total weight summed from its rows (migration 11).
    CountTotal,
    /// `projects::learn` from every row: the projects already held and their paths
    /// (migration 16).
    LearnProjects,
}

/// Applied in order; `user_version` counts how many have run. Append, never edit
/// (`sql/README.md` corrects what their comments got wrong).
const MIGRATIONS: &[&[Step]] = &[
    &[Step::Sql(include_str!("sql/0001_ledger.sql"))],
    &[Step::Sql(include_str!("sql/0002_aggregates.sql"))],
    &[Step::Sql(include_str!("sql/0003_message_index.sql"))],
    &[Step::Sql(include_str!("sql/0004_aggregate_watermark.sql"))],
    &[Step::Sql(include_str!("sql/0005_usage_by_day.sql"))],
    &[Step::Sql(include_str!("sql/0006_dated_prices.sql"))],
    &[Step::Sql(include_str!("sql/0007_entries_by_time.sql"))],
    &[Step::Sql(include_str!("sql/0008_hosts_and_counters.sql"))],
    &[Step::Sql(include_str!("sql/0009_export_import.sql"))],
    &[
        Step::Sql(include_str!("sql/0010_values_and_rewrites.sql")),
        Step::MoveOutOfLimits,
    ],
    &[
        Step::Sql(include_str!("sql/0011_ledger_total.sql")),
        Step::CountTotal,
    ],
    &[
        Step::Sql(include_str!("sql/0012_agents.sql")),
        Step::RebuildAggregates,
    ],
    &[Step::Sql(include_str!("sql/0013_agent_figures.sql"))],
    &[Step::Sql(include_str!("sql/0014_quota.sql"))],
    &[Step::Sql(include_str!("sql/0015_alerts.sql"))],
    &[
        Step::Sql(include_str!("sql/0016_projects.sql")),
        Step::LearnProjects,
    ],
    &[Step::Sql(include_str!("sql/0017_day_aggregates.sql"))],
];

/// At most this many skipped lines are remembered per file (the count is kept in full).
const SKIPPED_LINES_KEPT: u64 = 20;

/// Waiting this long for another writer is normal; past it something is wrong.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Store {
    conn: Connection,
    path: PathBuf,
    index: MessageIndex,
    /// The sums of the rows this process wrote above the aggregates' watermark.
    pending: Option<Pending>,
}

/// What a flush did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Flushed {
    pub added: u64,
    pub upgraded: u64,
    pub duplicates: u64,
    /// Rows refused at the ledger's total (`limits::admit`).
    pub refused: u64,
}

/// The result of a flush: counts, the cursors now committed, and the files another process
/// had moved on (their rows were left to it).
#[derive(Debug, Default)]
pub struct FlushOutcome {
    pub counts: Flushed,
    pub committed: Vec<(PathBuf, Cursor)>,
    pub conflicts: Vec<PathBuf>,
}

/// Makes a statement's query plan independent of the values bound to it (SQLite's query
/// planner stability guarantee). Without it, a statement the planner chose by a bound
/// value is marked to be planned again when that value changes, and rusqlite clears the
/// bindings of every statement it returns to its cache: each such cached statement was
/// parsed and planned again at every use. Codex's quota sample lookup, run for every
/// `token_count` event, spent half of a cold Codex ingest there. The ledger keeps no
/// statistics (no `ANALYZE`) and matches no bound `LIKE` pattern, so no plan is lost.
fn plan_once(conn: &Connection) -> Result<()> {
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(())
}

/// The default ledger: `$XDG_DATA_HOME/cco-stats/stats.db` or `~/.local/share/...`.
pub fn default_path() -> Result<PathBuf> {
    let data = crate::paths::data_home()
        .context("cannot place the database: HOME is not set (use --db or CCO_STATS_DB)")?;
    Ok(data.join("cco-stats").join("stats.db"))
}

impl Store {
    /// Opens (creating if needed) the ledger for reading and writing.
    pub fn open(path: &Path) -> Result<Store> {
        Store::open_waiting(path, BUSY_TIMEOUT)
    }

    /// Opens the ledger for writing without ever waiting for another writer: every write
    /// (including the migration or WAL switch of a new ledger) fails at once with "busy"
    /// while another process holds the write lock (see `is_busy`). For the status line,
    /// which must answer in milliseconds and may answer from what is committed.
    pub fn open_without_waiting(path: &Path) -> Result<Store> {
        Store::open_waiting(path, Duration::ZERO)
    }

    fn open_waiting(path: &Path, busy: Duration) -> Result<Store> {
        refuse_folder(path)?;
        create_private(path)?;
        let conn = Connection::open(path)
            .with_context(|| format!("cannot open database {}", path.display()))?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
            index: MessageIndex::default(),
            pending: None,
        };
        store
            .configure(busy)
            .with_context(|| format!("database {}", path.display()))?;
        // Only once the file is known to be ours: another program's is left as it is.
        keep_private(path)?;
        store
            .migrate()
            .with_context(|| format!("database {}", path.display()))?;
        Ok(store)
    }

    /// Opens an existing ledger without writing to it (reports with `--no-ingest`).
    pub fn open_read_only(path: &Path) -> Result<Store> {
        refuse_folder(path)?;
        if !path.exists() {
            bail!(
                "no database at {} (run `cco-stats once` first, or drop --no-ingest)",
                path.display()
            );
        }
        let read_only = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let open = |conn: Connection| -> Result<(Store, i64)> {
            conn.busy_timeout(BUSY_TIMEOUT)?;
            plan_once(&conn)?;
            let store = Store {
                conn,
                path: path.to_path_buf(),
                index: MessageIndex::default(),
                pending: None,
            };
            let version = store.check_ours()?;
            Ok((store, version))
        };
        let plain = Connection::open_with_flags(path, read_only).map_err(anyhow::Error::from);
        let (store, version) = match plain.and_then(open) {
            Ok(opened) => opened,
            // On read-only media, or in a folder that refuses the -shm file, a WAL ledger
            // without one cannot be opened the usual way. No writer can be at work there
            // (a writer needs that file), so SQLite may treat it as immutable.
            Err(e) if is_cannot_open(&e) || is_shm_refused(&e) => {
                let mut uri = std::ffi::OsString::from("file:");
                uri.push(path.as_os_str());
                uri.push("?immutable=1");
                Connection::open_with_flags(
                    PathBuf::from(uri),
                    read_only | OpenFlags::SQLITE_OPEN_URI,
                )
                .map_err(anyhow::Error::from)
                .and_then(open)
                .with_context(|| format!("cannot open database {}", path.display()))?
            }
            Err(e) => return Err(e.context(format!("database {}", path.display()))),
        };
        if version < MIGRATIONS.len() as i64 {
            bail!(
                "database {} has schema version {version}, this cco-stats needs {}: `cco-stats once` upgrades it",
                path.display(),
                MIGRATIONS.len()
            );
        }
        Ok(store)
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Bounds SQLite's page cache. A one-shot reader that scans a table (the status line)
    /// is faster with a small one: pages it reads once are not worth keeping, and filling
    /// a big cache costs more allocation and memory than the scan itself.
    pub fn set_cache_kib(&self, kib: u32) -> Result<()> {
        self.conn
            .pragma_update(None, "cache_size", -i64::from(kib))?;
        Ok(())
    }

    /// How long a statement waits for another process's lock before failing "busy".
    pub fn set_busy_timeout(&self, wait: Duration) -> Result<()> {
        self.conn.busy_timeout(wait)?;
        Ok(())
    }

    fn configure(&mut self, busy: Duration) -> Result<()> {
        self.conn.busy_timeout(busy)?;
        plan_once(&self.conn)?;
        // Refuse a foreign file before changing anything in it (even its journal mode).
        self.check_ours()?;
        self.use_wal(busy)?;
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        // Checkpoints cost two fsyncs; every ~64 MiB of WAL instead of every 4 MiB keeps a
        // catch-up ingest of 100-row flushes from waiting on the disk.
        self.conn.pragma_update(None, "wal_autocheckpoint", 16384)?;
        self.conn.pragma_update(None, "foreign_keys", "ON")?;
        self.conn.pragma_update(None, "cache_size", -16384)?;
        self.conn
            .pragma_update(None, "journal_size_limit", 64 << 20)?;
        self.conn.set_prepared_statement_cache_capacity(64);
        Ok(())
    }

    /// Switches the ledger to WAL. Two processes creating a ledger at the same moment may
    /// both ask; SQLite then answers one of them "busy" at once (waiting could deadlock),
    /// so that one asks again until the busy timeout.
    fn use_wal(&self, busy: Duration) -> Result<()> {
        let started = Instant::now();
        loop {
            match self.conn.pragma_update(None, "journal_mode", "WAL") {
                Ok(()) => return Ok(()),
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::DatabaseBusy && started.elapsed() < busy =>
                {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => return Err(anyhow::Error::new(e).context("cannot switch to WAL mode")),
            }
        }
    }

    /// The schema version, after checking the file is a cco-stats ledger (or empty).
    fn check_ours(&self) -> Result<i64> {
        // One statement, so one snapshot: another process creating the ledger at this
        // moment is seen before its first migration or after it, never halfway (an empty
        // header beside its new tables would look like another program's file).
        let (app, version, tables): (i32, i64, i64) = self
            .conn
            .query_row(
                "SELECT (SELECT application_id FROM pragma_application_id()),
                        (SELECT user_version FROM pragma_user_version()),
                        (SELECT count(*) FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%')",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .map_err(|e| match e.sqlite_error_code() {
                // A wrong path more likely than lost data: no "damaged" advice.
                Some(rusqlite::ErrorCode::NotADatabase) => anyhow::anyhow!(
                    "not a cco-stats ledger: not a SQLite database at all (the wrong file?); left untouched"
                ),
                _ => anyhow::Error::new(e).context("cannot read its header"),
            })?;
        if app != APPLICATION_ID && (app != 0 || version != 0 || tables != 0) {
            bail!("not a cco-stats database (it belongs to another program); left untouched");
        }
        if version > MIGRATIONS.len() as i64 {
            bail!(
                "schema version {version} is newer than this cco-stats knows ({}): upgrade cco-stats; the database was left untouched",
                MIGRATIONS.len()
            );
        }
        Ok(version)
    }

    fn migrate(&mut self) -> Result<()> {
        // A current schema needs no write lock: opening must not queue behind a writer.
        // (The version only grows, so a current one read outside the lock stays current.)
        if self.check_ours()? == MIGRATIONS.len() as i64 {
            return Ok(());
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Read inside the write lock: two processes starting at once migrate once.
        let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let mut rebuild = false;
        for (index, steps) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            for step in *steps {
                match step {
                    Step::Sql(sql) => tx.execute_batch(sql).map_err(anyhow::Error::from),
                    Step::RebuildAggregates => {
                        rebuild = true;
                        Ok(())
                    }
                    Step::MoveOutOfLimits => move_out_of_limits(&tx),
                    Step::CountTotal => count_total(&tx),
                    Step::LearnProjects => projects::learn(&tx, 0),
                }
                .with_context(|| format!("migration {} failed", index + 1))?;
            }
        }
        if rebuild {
            aggregate::rebuild(&tx).context("summing the aggregates after migrating failed")?;
        }
        if version < MIGRATIONS.len() as i64 {
            // The host id is made by the migration; its human name is the machine's.
            tx.prepare_cached("INSERT OR IGNORE INTO meta (key, value) VALUES ('host_name', ?1)")?
                .execute([hostname()])?;
            tx.pragma_update(None, "application_id", APPLICATION_ID)?;
            tx.pragma_update(None, "user_version", MIGRATIONS.len() as i64)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// What every file with a cursor looked like when its cursor was committed: all a
    /// pass needs to tell the few changed files from the thousands that are not. Reading
    /// five columns instead of a whole cursor is most of a no-change pass's database time.
    pub fn identities(&self) -> Result<Identities> {
        // Ids are dense: the largest is the number of files, give or take a few gone.
        let files: i64 = self
            .conn
            .prepare_cached("SELECT coalesce(max(id), 0) FROM files")?
            .query_row([], |r| r.get(0))?;
        let mut identities =
            Identities::with_capacity_and_hasher(files as usize, Default::default());
        let mut stmt = self
            .conn
            .prepare_cached("SELECT path, dev, inode, size, mtime_ns FROM files")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let path: Vec<u8> = r.get(0)?;
            identities.insert(OsString::from_vec(path), identity_at(r, 1)?);
        }
        Ok(identities)
    }

    /// The directory listings earlier walks kept.
    pub fn dir_cache(&self) -> Result<DirCache> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT path, inode, mtime_ns, children FROM dirs")?;
        let dirs = stmt
            .query_map([], |r| {
                let path: Vec<u8> = r.get(0)?;
                Ok((
                    OsString::from_vec(path),
                    Listing {
                        inode: r.get::<_, i64>(1)? as u64,
                        mtime_ns: r.get(2)?,
                        children: r.get(3)?,
                    },
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(DirCache { dirs })
    }

    pub fn save_listings(&mut self, listed: &[(PathBuf, Listing)]) -> Result<()> {
        if listed.is_empty() {
            return Ok(());
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for (path, listing) in listed {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO dirs (path, inode, mtime_ns, children) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                path.as_os_str().as_bytes(),
                listing.inode as i64,
                listing.mtime_ns,
                listing.children
            ])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Commits a batch: rows and cursors together, or nothing.
    pub fn flush(&mut self, batch: &Batch) -> Result<FlushOutcome> {
        let outcome = self.flush_inner(batch);
        if outcome.is_err() {
            self.index.invalidate();
        }
        outcome
    }

    /// Merges what flushes leave for bulk merging, the rows above the dedup index's and
    /// the aggregates' watermarks, into their tables (the end of a pass).
    pub fn merge_pending(&mut self) -> Result<()> {
        // A pass that wrote nothing must not wait for the write lock.
        if self.index.is_merged() && !aggregate::pending(&self.conn)? {
            return Ok(());
        }
        let result = (|| {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            self.index.sync(&tx)?;
            if !self.index.is_merged() {
                self.index.merge(&tx)?;
            }
            merge_aggregates(&tx, self.pending.take())?;
            tx.commit()?;
            Ok(())
        })();
        if result.is_err() {
            self.index.invalidate();
        }
        result
    }

    fn flush_inner(&mut self, batch: &Batch) -> Result<FlushOutcome> {
        let now_ms = jiff::Timestamp::now().as_millisecond();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .context("cannot start a write transaction")?;
        self.index.sync(&tx)?;
        let mut merged = Merged::read(&tx, self.pending.take())?;
        let mut outcome = FlushOutcome::default();
        let mut samples = quota::Recorder::new(&tx);
        let file_ids = write_segments(&tx, batch, &mut merged, &mut outcome, &mut samples, now_ms)?;
        samples.finish()?;
        let message_ids = batch.rows.iter();
        self.index.prefetch(
            &tx,
            message_ids.filter_map(|row| row.record.message_id.as_deref()),
        )?;
        for row in &batch.rows {
            let Some(file_id) = file_ids[row.segment] else {
                continue;
            };
            let segment = &batch.segments[row.segment];
            let file = FileRef {
                id: file_id,
                session_id: &segment.file.session_id,
                project: row
                    .record
                    .project
                    .as_deref()
                    .unwrap_or(&segment.file.project),
                host: None,
            };
            match apply(&tx, &row.record, file, &mut merged, &mut self.index)? {
                Written::Done(decision) => outcome.counts.count(&decision),
                Written::Refused(reason) => {
                    let at = SkippedLine {
                        line_no: row.line_no,
                        offset: row.offset,
                        reason,
                    };
                    refuse_row(&tx, file_id, &at)?;
                    outcome.counts.refused += 1;
                }
            }
        }
        let pending = merged.finish(&tx, outcome.counts)?;
        if self.index.merge_due() {
            self.index.merge(&tx)?;
        }
        tx.commit().context("cannot commit to the database")?;
        self.pending = pending;
        Ok(outcome)
    }

    /// The cursor the database holds for `path` now.
    pub fn cursor(&self, path: &Path) -> Result<Option<Cursor>> {
        current_cursor(&self.conn, path.as_os_str().as_bytes())
    }

    /// The parser state stored with the cursor of file `id` (see `sources`).
    pub fn parser_state(&self, id: i64) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT state FROM files WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?
            .flatten())
    }

    /// A number that changes whenever another connection commits to the ledger: a
    /// long-running view re-reads its figures only when it moved.
    pub fn data_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))?)
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.conn
            .prepare_cached("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)")?
            .execute(params![key, value])?;
        Ok(())
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?)
    }

    /// Who this ledger is: its id (made once, when the ledger was) and its human name.
    pub fn host(&self) -> Result<Host> {
        let id = self
            .meta(HOST_ID)?
            .context("the ledger has no host id (run `cco-stats once` to upgrade it)")?;
        let name = self.meta(HOST_NAME)?.unwrap_or_else(hostname);
        Ok(Host { id, name })
    }

    /// Renames this ledger's host (`--host-name`); its id stays.
    pub fn set_host_name(&self, name: &str) -> Result<()> {
        self.set_meta(HOST_NAME, name)
    }

    /// Recomputes the report aggregates, the dedup index and the projects from the rows
    /// (`cco-stats rebuild`, for a ledger changed by hand).
    pub fn rebuild_aggregates(&mut self) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        aggregate::rebuild(&tx)?;
        count_total(&tx)?;
        // Rows written by hand name projects no pass has learned.
        projects::learn(&tx, 0)?;
        tx.execute_batch(
            "DELETE FROM message_index;
             INSERT INTO message_index (message_id, entry_id)
             SELECT message_id, id FROM entries WHERE message_id IS NOT NULL ORDER BY message_id;
             INSERT OR REPLACE INTO meta (key, value)
             SELECT 'indexed_through', coalesce(max(id), 0) FROM entries;",
        )?;
        tx.commit()?;
        self.index.invalidate();
        self.pending = None;
        Ok(())
    }

    /// Makes the aggregates tell apart every tier threshold of `thresholds` (a price table's):
    /// a threshold the ledger does not know yet is added and the aggregates are summed
    /// again, once. Whether anything changed.
    pub fn learn_tiers(&mut self, thresholds: &BTreeSet<u64>) -> Result<bool> {
        if self.missing_tiers(thresholds)?.is_empty() {
            return Ok(false);
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for above in thresholds {
            tx.prepare_cached("INSERT OR IGNORE INTO price_tiers (above) VALUES (?1)")?
                .execute([above])?;
        }
        aggregate::rebuild(&tx)?;
        tx.commit()?;
        self.pending = None;
        log::info!("learned tier thresholds {thresholds:?}: report aggregates rebuilt");
        Ok(true)
    }

    /// `learn_tiers` for the price table of digest `digest` (`PriceTexts::digest`), its
    /// thresholds given by `thresholds` only if this ledger has not learned that table's
    /// before: tiers are never forgotten, so a table learned once costs a `meta` read
    /// instead of its parse, every pass after. Whether the aggregates changed.
    pub fn learn_tiers_of(
        &mut self,
        digest: &str,
        thresholds: impl FnOnce() -> Result<BTreeSet<u64>>,
    ) -> Result<bool> {
        if self.meta(TIERS_LEARNED_FROM)?.as_deref() == Some(digest) {
            return Ok(false);
        }
        let learned = self.learn_tiers(&thresholds()?)?;
        self.set_meta(TIERS_LEARNED_FROM, digest)?;
        Ok(learned)
    }

    /// The thresholds of `thresholds` the aggregates do not tell apart (a read-only ledger
    /// cannot learn them: its reports say so).
    pub fn missing_tiers(&self, thresholds: &BTreeSet<u64>) -> Result<Vec<u64>> {
        let known = tier_thresholds(&self.conn)?;
        Ok(thresholds
            .iter()
            .copied()
            .filter(|t| !known.contains(t))
            .collect())
    }

    /// Size of the database and its WAL on disk.
    pub fn size_on_disk(&self) -> u64 {
        let mut wal = self.path.clone().into_os_string();
        wal.push("-wal");
        [self.path.clone(), PathBuf::from(wal)]
            .iter()
            .filter_map(|p| fs::metadata(p).ok())
            .map(|m| m.len())
            .sum()
    }
}

/// A ledger's identity: `id` is stable for its life (random, made with the ledger), `name`
/// is for people (the hostname unless `--host-name` set another).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Host {
    pub id: String,
    pub name: String,
}

/// The digest of the last price table whose tiers `learn_tiers_of` made sure of.
const TIERS_LEARNED_FROM: &str = "tiers_learned_from";
const HOST_ID: &str = "host_id";
const HOST_NAME: &str = "host_name";

/// The machine's hostname (uname's nodename), or "unknown" if it has none.
pub fn hostname() -> String {
    let uname = rustix::system::uname();
    let name = uname.nodename().to_string_lossy().trim().to_string();
    if name.is_empty() {
        "unknown".to_string()
    } else {
        name
    }
}

/// The error is another process holding the write lock (after `open_without_waiting`,
/// at once; otherwise after the busy timeout).
pub fn is_busy(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<rusqlite::Error>(),
            Some(rusqlite::Error::SqliteFailure(e, _))
                if matches!(e.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        )
    })
}

fn is_cannot_open(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<rusqlite::Error>(),
            Some(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::CannotOpen
        )
    })
}

/// SQLite could not create the -shm file beside a ledger (`SQLITE_READONLY_DIRECTORY`):
/// the folder is read-only, though the file may not be.
fn is_shm_refused(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<rusqlite::Error>(),
            Some(rusqlite::Error::SqliteFailure(e, _))
                if e.extended_code == rusqlite::ffi::SQLITE_READONLY_DIRECTORY
        )
    })
}

/// Creates the database file (and its folders) private to the user before SQLite opens it.
/// A folder given where the ledger's file belongs (`--db ~/.local/share/cco-stats`).
fn refuse_folder(path: &Path) -> Result<()> {
    if path.is_dir() {
        bail!(
            "{} is a folder: --db takes the ledger's file (e.g. {})",
            path.display(),
            path.join("stats.db").display()
        );
    }
    Ok(())
}

fn create_private(path: &Path) -> Result<()> {
    if let Some(dir) = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty() && !d.exists())
    {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create directory {}", dir.display()))?;
    }
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot create database {}", path.display())),
    }
}

/// A file's permission bits.
pub fn permissions(path: &Path) -> std::io::Result<u32> {
    Ok(fs::metadata(path)?.permissions().mode() & 0o777)
}

/// Whether a file's permission bits let anyone but its owner in.
fn is_private(path: &Path) -> std::io::Result<bool> {
    Ok(permissions(path)? & 0o077 == 0)
}

/// Usage history is private: narrows the database (and our own folder) to the owner.
fn keep_private(path: &Path) -> Result<()> {
    let ours = path
        .parent()
        .filter(|d| d.file_name() == Some("cco-stats".as_ref()));
    for (item, mode) in [(Some(path), 0o600), (ours, 0o700)] {
        let Some(item) = item else { continue };
        if !is_private(item)? {
            log::warn!(
                "{} was readable by others; narrowed to {mode:o}",
                item.display()
            );
            fs::set_permissions(item, fs::Permissions::from_mode(mode))
                .with_context(|| format!("cannot narrow permissions of {}", item.display()))?;
        }
    }
    Ok(())
}

/// dev, inode, size, mtime_ns from column `at` on.
fn identity_at(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Identity> {
    Ok(Identity {
        dev: r.get::<_, i64>(at)? as u64,
        inode: r.get::<_, i64>(at + 1)? as u64,
        size: r.get(at + 2)?,
        mtime_ns: r.get(at + 3)?,
    })
}

fn cursor_from_row(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Cursor> {
    Ok(Cursor {
        id: Some(r.get(at)?),
        identity: identity_at(r, at + 1)?,
        offset: r.get(at + 5)?,
        lines: r.get(at + 6)?,
        lines_skipped: r.get(at + 7)?,
        head: Head {
            len: r.get(at + 8)?,
            hash: r.get::<_, i64>(at + 9)? as u64,
        },
        tail: r.get::<_, Option<i64>>(at + 10)?.map(|h| h as u64),
    })
}

fn current_cursor(conn: &Connection, path: &[u8]) -> Result<Option<Cursor>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, dev, inode, size, mtime_ns, offset, lines, lines_skipped, head_len, head_hash, tail_hash
             FROM files WHERE path = ?1",
        )?
        .query_row([path], |r| cursor_from_row(r, 0))
        .optional()?)
}

fn write_cursor(
    conn: &Connection,
    segment: &crate::ledger::batch::Segment,
    now_ms: i64,
) -> Result<i64> {
    let next = &segment.next;
    let cursor = params![
        next.identity.dev as i64,
        next.identity.inode as i64,
        next.identity.size,
        next.identity.mtime_ns,
        next.offset,
        next.lines,
        next.lines_skipped,
        next.head.len,
        next.head.hash as i64,
        now_ms,
        next.tail.map(|h| h as i64),
    ];
    // The flush has checked that the database holds `base`: a file with a row is updated
    // by its id, cheaper than finding it again by its path, and one without has none.
    // The parser state moves with the offset; `None` leaves the stored one as it is.
    let state = params![segment.state];
    if let Some(id) = segment.base.and_then(|base| base.id) {
        conn.prepare_cached(
            "UPDATE files SET dev = ?2, inode = ?3, size = ?4, mtime_ns = ?5, offset = ?6,
                 lines = ?7, lines_skipped = ?8, head_len = ?9, head_hash = ?10, updated_ms = ?11,
                 tail_hash = ?12, state = coalesce(?13, state)
             WHERE id = ?1",
        )?
        .execute(params_from_iter(
            params![id].iter().chain(cursor).chain(state),
        ))?;
        return Ok(id);
    }
    let file = &segment.file;
    let names = params![
        file.path.as_os_str().as_bytes(),
        file.project,
        file.session_id
    ];
    let id = conn
        .prepare_cached(
            "INSERT INTO files (path, project, session_id, dev, inode, size, mtime_ns, offset, lines, lines_skipped, head_len, head_hash, updated_ms, tail_hash, state, agent)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
             RETURNING id",
        )?
        .query_row(
            params_from_iter(
                names
                    .iter()
                    .chain(cursor)
                    .chain(state)
                    .chain(params![file.agent]),
            ),
            |r| r.get(0),
        )?;
    Ok(id)
}

/// The columns of `entries` that `aggregate_row` reads, in its order.
const AGGREGATE_COLUMNS: &str = "ts_ms, session_id, project, model, speed IS 'fast', inference_geo,
     input, output, cache_write_5m, cache_write_1h, cache_read, web_search, cost_usd, agent";

fn aggregate_row(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<aggregate::Row<'static>> {
    let text = |at| r.get::<_, String>(at).map(Cow::Owned);
    let optional_text = |at| r.get::<_, Option<String>>(at).map(|t| t.map(Cow::Owned));
    Ok(aggregate::Row {
        ts_ms: r.get(at)?,
        session_id: text(at + 1)?,
        project: text(at + 2)?,
        model: optional_text(at + 3)?,
        fast: r.get(at + 4)?,
        geo: optional_text(at + 5)?,
        tokens: tokens_at(r, at + 6)?,
        web_search: r.get(at + 11)?,
        cost_usd: r.get(at + 12)?,
        agent: r.get(at + 13)?,
    })
}

/// The ledger's tier thresholds (`price_tiers`), ascending.
fn tier_thresholds(conn: &Connection) -> Result<Vec<u64>> {
    let mut stmt = conn.prepare_cached("SELECT above FROM price_tiers ORDER BY above")?;
    let thresholds = stmt.query_map([], |r| r.get(0))?;
    Ok(thresholds.collect::<rusqlite::Result<_>>()?)
}

/// What a flush needs to keep merged aggregates right: the watermark they hold rows up
/// to, the tier thresholds they are keyed by, the deltas of rows below the watermark and
/// the pending sums of those above it; and the change marker it stamps on the rows it
/// writes (`export --since`).
struct Merged {
    through: i64,
    thresholds: Vec<u64>,
    deltas: Deltas,
    /// The sums of the rows above the watermark, when this process knows them all.
    pending: Option<Pending>,
    change_seq: i64,
    /// The ledger's total weight (`limits::admit`), as this transaction leaves it.
    total: u64,
    /// The total as read: written back only if a row moved it.
    total_read: u64,
}

impl Merged {
    /// Read inside the flush's write transaction, so no other writer takes the same marker.
    /// `carried` are the pending sums this process kept from its last commit.
    fn read(tx: &Connection, carried: Option<Pending>) -> Result<Merged> {
        let total = tx
            .prepare_cached("SELECT weight FROM ledger_total")?
            .query_row([], |r| r.get(0))?;
        let through = aggregate::watermark(tx)?;
        let change_seq = exchange::change_seq(tx)?;
        Ok(Merged {
            through,
            thresholds: tier_thresholds(tx)?,
            deltas: Deltas::default(),
            pending: Pending::resume(tx, carried, through, change_seq)?,
            change_seq: change_seq + 1,
            total,
            total_read: total,
        })
    }

    /// Writes the deltas, and moves the change counter past the marker if a row took it.
    /// The pending sums to keep once the transaction commits: none if they were written
    /// now, having grown large.
    fn finish(mut self, tx: &Connection, counts: Flushed) -> Result<Option<Pending>> {
        self.deltas.write(tx)?;
        if counts.added + counts.upgraded > 0 {
            exchange::set_change_seq(tx, self.change_seq)?;
            if let Some(pending) = self.pending.as_mut() {
                pending.committed(self.change_seq);
            }
        }
        if self.total != self.total_read {
            write_total(tx, self.total)?;
        }
        match self.pending {
            Some(pending) if pending.is_large() => {
                merge_aggregates(tx, Some(pending))?;
                Ok(None)
            }
            pending => Ok(pending),
        }
    }
}

/// Five token columns from `at` on, in the order every table here keeps them: input,
/// output, cache_write_5m, cache_write_1h, cache_read.
pub fn tokens_at(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Tokens> {
    Ok(Tokens {
        input: r.get(at)?,
        output: r.get(at + 1)?,
        cache_write_5m: r.get(at + 2)?,
        cache_write_1h: r.get(at + 3)?,
        cache_read: r.get(at + 4)?,
    })
}

/// Sums the rows above the watermark into the aggregates, from `pending` if it still
/// stands for them, and moves the watermark past them; the projects of those rows are
/// learned first. Call inside a write transaction.
fn merge_aggregates(tx: &Connection, pending: Option<Pending>) -> Result<()> {
    projects::learn(tx, aggregate::watermark(tx)?)?;
    Pending::merge(pending, tx)
}

/// Older flat subagent files (`agent-<hex>.jsonl`) are named after the agent: their
/// session is the parent's, which the lines carry. A file that names no session (an
/// agent's database, holding all of them) leaves it to its records.
fn session_of<'a>(record: &'a Record, file_session: &'a str) -> &'a str {
    match &record.line_session_id {
        Some(line_session) if file_session.starts_with("agent-") || file_session.is_empty() => {
            line_session
        }
        _ => file_session,
    }
}

/// Moves the cursor of every segment whose file no other process moved since the batch
/// read it (the others are conflicts, their rows left out), and records its skipped
/// lines. The file id of each segment, `None` for a conflict.
fn write_segments(
    tx: &Connection,
    batch: &Batch,
    merged: &mut Merged,
    outcome: &mut FlushOutcome,
    samples: &mut quota::Recorder<'_>,
    now_ms: i64,
) -> Result<Vec<Option<i64>>> {
    let mut file_ids = Vec::with_capacity(batch.segments.len());
    for segment in &batch.segments {
        let path = segment.file.path.as_os_str().as_bytes();
        if current_cursor(tx, path)? != segment.base {
            outcome.conflicts.push(segment.file.path.clone());
            file_ids.push(None);
            continue;
        }
        let id = write_cursor(tx, segment, now_ms)?;
        if segment.reset {
            forget_rows_without_id(tx, id, merged)?;
            // Its lines are read again, and refused again if they still do not fit.
            tx.prepare_cached("UPDATE files SET rows_refused = 0 WHERE id = ?1")?
                .execute([id])?;
        }
        for skipped in &segment.skipped {
            remember_skipped(tx, id, skipped)?;
        }
        for limit in &segment.limits {
            samples.record(limit)?;
        }
        file_ids.push(Some(id));
        let committed = Cursor {
            id: Some(id),
            ..segment.next
        };
        outcome
            .committed
            .push((segment.file.path.clone(), committed));
    }
    Ok(file_ids)
}

/// Keeps `skipped` for `status` and `doctor`, if it is among the first lines of its file.
fn remember_skipped(tx: &Connection, file_id: i64, skipped: &SkippedLine) -> Result<()> {
    if skipped.line_no <= SKIPPED_LINES_KEPT {
        tx.prepare_cached(
            "INSERT OR REPLACE INTO skipped_lines (file_id, line_no, byte_offset, reason) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![file_id, skipped.line_no, skipped.offset, skipped.reason])?;
    }
    Ok(())
}

/// A row the ledger's total cannot take: skipped like a line out of range, and counted
/// apart from the reader's skipped lines (its cursor rewrites those at every flush).
fn refuse_row(tx: &Connection, file_id: i64, at: &SkippedLine) -> Result<()> {
    remember_skipped(tx, file_id, at)?;
    tx.prepare_cached("UPDATE files SET rows_refused = rows_refused + 1 WHERE id = ?1")?
        .execute([file_id])?;
    Ok(())
}

/// A file read again from 0 brings its rows again: those with a message id are found by
/// dedup, those without one would count twice, so they go (and leave the aggregates).
fn forget_rows_without_id(tx: &Connection, file_id: i64, merged: &mut Merged) -> Result<()> {
    let mut delete = tx.prepare_cached(&format!(
        "DELETE FROM entries WHERE file_id = ?1 AND message_id IS NULL RETURNING id, {AGGREGATE_COLUMNS}"
    ))?;
    let removed = delete.query_map([file_id], |r| Ok((r.get(0)?, aggregate_row(r, 1)?)))?;
    for row in removed {
        let (row_id, row): (i64, aggregate::Row<'_>) = row?;
        let weight = limits::weight(&row.tokens, row.web_search);
        merged.total = merged.total.saturating_sub(weight);
        if row_id <= merged.through {
            merged.deltas.remove(&row, &merged.thresholds);
        } else if let Some(pending) = merged.pending.as_mut() {
            pending.removed(&row, &merged.thresholds);
        }
    }
    Ok(())
}

/// Applies one record through the dedup rules; `file` is (file id, session, project).
fn apply(
    conn: &Connection,
    record: &Record,
    file: FileRef<'_>,
    merged: &mut Merged,
    index: &mut MessageIndex,
) -> Result<Written> {
    let decision = dedup::decide(record, &stored_under(index, record));
    write_decision(conn, record, file, decision, merged, index)
}

/// The rows of `record`'s agent stored under its message id (none without one): another
/// agent's row under the same id is another response.
fn stored_under(index: &MessageIndex, record: &Record) -> Vec<Stored> {
    let mut stored = match &record.message_id {
        Some(message_id) => index.lookup(message_id),
        None => Vec::new(),
    };
    stored.retain(|s| s.agent == record.agent);
    stored
}

/// Writes what `decision` says about `record`, the row going where `file` says. What it
/// changes in rows the aggregates already hold (ids up to `merged.through`) goes into
/// `merged.deltas`; what it adds goes into `index` for later lookups.
fn write_decision(
    conn: &Connection,
    record: &Record,
    file: FileRef<'_>,
    decision: Decision,
    merged: &mut Merged,
    index: &mut MessageIndex,
) -> Result<Written> {
    let old = match decision {
        Decision::Insert => 0,
        Decision::Replace(id) => conn
            .prepare_cached(&format!(
                "SELECT {} FROM entries WHERE id = ?1",
                limits::WEIGHT_SQL
            ))?
            .query_row([id], |r| r.get(0))?,
        Decision::Keep => return Ok(Written::Done(decision)),
    };
    let new = limits::weight(&record.tokens, record.web_search);
    match limits::admit_weight(merged.total, old, new) {
        Ok(total) => merged.total = total,
        Err(reason) => return Ok(Written::Refused(reason)),
    }
    let session_id = session_of(record, file.session_id);
    let row = EntryRef {
        file_id: file.id,
        session_id,
        project: file.project,
        host: file.host,
        change_seq: merged.change_seq,
    };
    match decision {
        Decision::Insert => {
            let id = write_entry(conn, None, record, &row)?;
            if let Some(message_id) = &record.message_id {
                index.add(message_id, Stored::of(id, record));
            }
            // A row above the watermark goes into the pending sums (without them, the
            // merge sums it from the table); only changes to rows already merged are
            // deltas now. A new row normally lands above it, but an id freed by a deleted
            // last row is handed out again.
            let new = || aggregate::Row::of(record, session_id, file.project);
            if id <= merged.through {
                merged.deltas.add(&new(), &merged.thresholds);
            } else if let Some(pending) = merged.pending.as_mut() {
                pending.inserted(&new(), &merged.thresholds);
            }
        }
        Decision::Replace(id) => {
            // A row above the watermark changes only the pending sums, if any.
            if id <= merged.through || merged.pending.is_some() {
                let old = conn
                    .prepare_cached(&format!(
                        "SELECT {AGGREGATE_COLUMNS} FROM entries WHERE id = ?1"
                    ))?
                    .query_row([id], |r| aggregate_row(r, 0))?;
                let new = aggregate::Row::of(record, session_id, file.project);
                match merged.pending.as_mut() {
                    Some(pending) if id > merged.through => {
                        pending.replaced(&old, &new, &merged.thresholds);
                    }
                    _ => {
                        merged.deltas.remove(&old, &merged.thresholds);
                        merged.deltas.add(&new, &merged.thresholds);
                    }
                }
            }
            write_entry(conn, Some(id), record, &row)?;
            if let Some(message_id) = &record.message_id {
                index.replaced(message_id, Stored::of(id, record));
            }
        }
        Decision::Keep => {}
    }
    Ok(Written::Done(decision))
}

/// What became of a record the dedup rules decided on.
pub(crate) enum Written {
    Done(Decision),
    /// The ledger's total could not take it (`limits::admit`): why.
    Refused(String),
}

impl Flushed {
    fn count(&mut self, decision: &Decision) {
        match decision {
            Decision::Insert => self.added += 1,
            Decision::Replace(_) => self.upgraded += 1,
            Decision::Keep => self.duplicates += 1,
        }
    }
}

fn write_total(tx: &Connection, total: u64) -> Result<()> {
    tx.prepare_cached("INSERT OR REPLACE INTO ledger_total (id, weight) VALUES (1, ?1)")?
        .execute([total])?;
    Ok(())
}

/// Sums the ledger's total weight from its rows (migration 11, `rebuild`). Row by row in
/// u128, since a ledger changed by hand may hold more than SQL's `sum()` can: such a
/// total is kept at i64's limit, and the ledger takes no row more.
fn count_total(tx: &Connection) -> Result<()> {
    let mut stmt = tx.prepare(
        "SELECT input, output, cache_write_5m, cache_write_1h, cache_read, web_search FROM entries",
    )?;
    let mut rows = stmt.query([])?;
    let mut total: u128 = 0;
    while let Some(r) = rows.next()? {
        for at in 0..6 {
            total += u128::try_from(r.get::<_, i64>(at)?).unwrap_or(0);
        }
    }
    write_total(
        tx,
        u64::try_from(total)
            .unwrap_or(u64::MAX)
            .min(i64::MAX as u64),
    )
}

/// A head length no file's fingerprint has (`tail::read_head` reads at most `HEAD_LEN`):
/// a cursor given it is taken for a rewritten file, and the file is read again from 0.
const NO_HEAD: u64 = HEAD_LEN + 1;

/// Moves the rows a ledger took before `limits` existed, and that `limits::check` now
/// refuses, out into the skipped lines (migration 10). Chosen over skipping them in every
/// report: the rule stays where values enter, the aggregates and counters stay plain sums,
/// and no query has to know it. Each such row's file is read again from 0 (the rows the
/// dedup rules find again stay as they are), so the next pass names the line it came from
/// as `file:line: reason`, as it would name it now; a note on line 0 says what the
/// upgrade removed, for files no longer on disk. The aggregates are summed again, and the
/// counter floors forgotten: a floor lifted to `inf` or 10^17 by such a row would hold
/// every counter there for good, where one counter reset is what Prometheus expects.
fn move_out_of_limits(tx: &Connection) -> Result<()> {
    let outside = limits::outside_sql();
    let files: Vec<(i64, u64)> = tx
        .prepare(&format!(
            "SELECT file_id, count(*) FROM entries WHERE {outside} GROUP BY file_id"
        ))?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    if files.is_empty() {
        return Ok(());
    }
    tx.execute_batch(&format!(
        "DELETE FROM message_index WHERE entry_id IN (SELECT id FROM entries WHERE {outside});
         DELETE FROM entries WHERE {outside};
         DELETE FROM counter_floor;"
    ))?;
    for (file_id, rows) in files {
        tx.execute(
            "UPDATE files SET lines_skipped = lines_skipped + ?2, head_len = ?3, mtime_ns = -1
             WHERE id = ?1",
            params![file_id, rows, NO_HEAD],
        )?;
        let reason = format!(
            "{rows} rows stored before the value limits were outside them and were removed \
             (the file is read again to name their lines)"
        );
        tx.execute(
            "INSERT OR REPLACE INTO skipped_lines (file_id, line_no, byte_offset, reason)
             VALUES (?1, 0, 0, ?2)",
            params![file_id, reason],
        )?;
    }
    Ok(())
}

/// The file a record was read from, as its row names it, and the host it was recorded on
/// (`None`: this ledger's; imported rows name theirs, `hosts.id`).
#[derive(Clone, Copy)]
struct FileRef<'a> {
    id: i64,
    session_id: &'a str,
    project: &'a str,
    host: Option<i64>,
}

/// Where a row belongs: its file, the session and project it counts under, its host, and
/// the change marker of the flush writing it.
struct EntryRef<'a> {
    file_id: i64,
    session_id: &'a str,
    project: &'a str,
    host: Option<i64>,
    change_seq: i64,
}

/// Inserts a row, or overwrites row `id` in place (keeping its id); the row's id.
fn write_entry(conn: &Connection, id: Option<i64>, r: &Record, row: &EntryRef<'_>) -> Result<i64> {
    let EntryRef {
        file_id,
        session_id,
        project,
        host,
        change_seq,
    } = *row;
    let t = &r.tokens;
    // Nearly always the file's own session: stored only where it differs, which keeps a
    // row a seventh smaller (`coalesce(line_session_id, session_id)` reads it back).
    let line_session_id = r.line_session_id.as_deref().filter(|&s| s != session_id);
    let values: &[&dyn rusqlite::ToSql] = params![
        file_id,
        r.ts_ms,
        session_id,
        line_session_id,
        project,
        r.cwd,
        r.model,
        r.message_id,
        r.request_id,
        r.is_sidechain,
        r.speed,
        t.input,
        t.output,
        t.cache_write_5m,
        t.cache_write_1h,
        t.cache_read,
        r.web_search,
        r.cost_usd,
        r.version,
        r.inference_geo,
        host,
        change_seq,
        r.agent,
        r.reasoning,
        r.stopped,
        r.credits,
        r.premium_requests,
        id,
    ];
    let sql = match id {
        None => {
            "INSERT INTO entries (file_id, ts_ms, session_id, line_session_id, project, cwd, model,
                 message_id, request_id, is_sidechain, speed, input, output, cache_write_5m,
                 cache_write_1h, cache_read, web_search, cost_usd, version, inference_geo, host,
                 changed_seq, agent, reasoning, stopped, credits, premium_requests)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20,
                     ?21, ?22, ?23, ?24, ?25, ?26, ?27)"
        }
        Some(_) => {
            "UPDATE entries SET file_id = ?1, ts_ms = ?2, session_id = ?3, line_session_id = ?4,
                 project = ?5, cwd = ?6, model = ?7, message_id = ?8, request_id = ?9,
                 is_sidechain = ?10, speed = ?11, input = ?12, output = ?13, cache_write_5m = ?14,
                 cache_write_1h = ?15, cache_read = ?16, web_search = ?17, cost_usd = ?18,
                 version = ?19, inference_geo = ?20, host = ?21, changed_seq = ?22, agent = ?23,
                 reasoning = ?24, stopped = ?25, credits = ?26, premium_requests = ?27
             WHERE id = ?28"
        }
    };
    // The insert takes every value but the id (the last).
    let values = if id.is_some() {
        values
    } else {
        &values[..values.len() - 1]
    };
    conn.prepare_cached(sql)?.execute(values)?;
    Ok(id.unwrap_or_else(|| conn.last_insert_rowid()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::batch::FileInfo;

    fn record(message: &str, request: &str, output: u64, sidechain: bool) -> Record {
        Record {
            ts_ms: 1_700_000_000_000,
            model: Some("claude-sonnet-4-5".into()),
            is_sidechain: sidechain,
            ..Record::for_test(message, Some(request), output)
        }
    }

    fn cursor(offset: u64) -> Cursor {
        Cursor {
            id: None,
            identity: Identity {
                dev: 1,
                inode: 2,
                size: offset,
                mtime_ns: 3,
            },
            head: Head { len: 4, hash: 5 },
            tail: Some(6),
            offset,
            lines: 1,
            lines_skipped: 0,
        }
    }

    fn file(path: &str) -> FileInfo {
        FileInfo {
            agent: Default::default(),
            path: path.into(),
            project: "proj".into(),
            session_id: "sess".into(),
        }
    }

    fn output_sum(store: &Store) -> (i64, i64) {
        store
            .conn
            .query_row("SELECT count(*), sum(output) FROM entries", [], |r| {
                Ok((r.get(0)?, r.get::<_, Option<i64>>(1)?.unwrap_or(0)))
            })
            .unwrap()
    }

    fn flush_rows(store: &mut Store, path: &str, offset: u64, rows: Vec<Record>) -> FlushOutcome {
        let base = store.cursor(Path::new(path)).unwrap();
        let mut batch = Batch::default();
        let seg = batch.advance(&file(path), base.as_ref(), cursor(offset));
        for r in rows {
            batch.push(seg, 0, 0, r);
        }
        store.flush(&batch).unwrap()
    }

    /// The dedup rules hold within one agent: another agent's response under the same
    /// message and request id is another response, in a flush and after one.
    #[test]
    fn dedup_applies_within_an_agent() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let codex = |output| Record {
            agent: crate::model::Agent::Codex,
            ..record("m1", "r1", output, false)
        };
        flush_rows(&mut store, "a", 10, vec![record("m1", "r1", 5, false)]);
        flush_rows(&mut store, "b", 10, vec![codex(7)]);
        assert_eq!(output_sum(&store), (2, 12));
        // Each agent's copy still finds its own row.
        flush_rows(
            &mut store,
            "c",
            10,
            vec![codex(9), record("m1", "r1", 5, false)],
        );
        assert_eq!(output_sum(&store), (2, 14));
        let agents: Vec<String> = store
            .conn
            .prepare("SELECT agent FROM entries ORDER BY agent")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(agents, ["claude", "codex"]);
    }

    /// A price table whose tiers were learned is not parsed again; another one is, and
    /// its new threshold splits the aggregates.
    #[test]
    fn a_price_table_learned_once_is_not_parsed_again() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let parsed = std::cell::Cell::new(0);
        let tiers = |t: &[u64]| {
            parsed.set(parsed.get() + 1);
            Ok(t.iter().copied().collect::<BTreeSet<u64>>())
        };
        assert!(!store.learn_tiers_of("a", || tiers(&[200_000])).unwrap());
        assert!(!store.learn_tiers_of("a", || tiers(&[200_000])).unwrap());
        assert_eq!(parsed.get(), 1, "the same table again: no parse");
        assert!(store.learn_tiers_of("b", || tiers(&[150_000])).unwrap());
        assert_eq!(parsed.get(), 2);
        assert!(tier_thresholds(&store.conn).unwrap().contains(&150_000));
        // A table that cannot be parsed is not taken as learned.
        let failed = store.learn_tiers_of("c", || Err(anyhow::anyhow!("bad file")));
        assert!(failed.is_err());
        assert!(!store.learn_tiers_of("b", || tiers(&[150_000])).unwrap());
        assert_eq!(parsed.get(), 2);
    }

    #[test]
    fn migrations_run_once_and_mark_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/stats.db");
        drop(Store::open(&path).unwrap());
        let store = Store::open(&path).unwrap();
        assert_eq!(store.check_ours().unwrap(), MIGRATIONS.len() as i64);
        assert!(is_private(&path).unwrap());
        assert_eq!(
            fs::metadata(path.parent().unwrap())
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o700
        );
    }

    #[test]
    fn wide_permissions_are_narrowed() {
        let dir = tempfile::tempdir().unwrap();
        let ours = dir.path().join("cco-stats");
        let path = ours.join("stats.db");
        drop(Store::open(&path).unwrap());
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        fs::set_permissions(&ours, fs::Permissions::from_mode(0o755)).unwrap();
        drop(Store::open(&path).unwrap());
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            fs::metadata(&ours).unwrap().permissions().mode() & 0o777,
            0o700
        );
    }

    #[test]
    fn foreign_and_future_databases_are_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let foreign = dir.path().join("foreign.db");
        Connection::open(&foreign)
            .unwrap()
            .execute_batch("CREATE TABLE notes (x); PRAGMA user_version = 3;")
            .unwrap();
        let before = fs::read(&foreign).unwrap();
        let err = Store::open(&foreign).err().unwrap();
        assert!(
            format!("{err:#}").contains("not a cco-stats database"),
            "{err:#}"
        );
        assert_eq!(fs::read(&foreign).unwrap(), before);

        let future = dir.path().join("future.db");
        drop(Store::open(&future).unwrap());
        Connection::open(&future)
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        let err = Store::open(&future).err().unwrap();
        assert!(format!("{err:#}").contains("newer"), "{err:#}");
    }

    #[test]
    fn later_flush_upgrades_a_partial_and_ignores_replays() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let first = flush_rows(&mut store, "a", 10, vec![record("m1", "r1", 5, false)]);
        assert_eq!(first.counts.added, 1);
        let second = flush_rows(
            &mut store,
            "b",
            10,
            vec![record("m1", "r1", 50, false), record("m1", "r9", 500, true)],
        );
        assert_eq!(second.counts.upgraded, 1);
        assert_eq!(second.counts.duplicates, 1);
        assert_eq!(output_sum(&store), (1, 50));
        assert!(aggregate::consistent(store.conn()).unwrap());
    }

    #[test]
    fn dedup_finds_rows_merged_in_memory_and_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let mut store = Store::open(&path).unwrap();
        flush_rows(
            &mut store,
            "a",
            10,
            vec![record("m1", "r1", 5, false), record("m2", "r2", 5, false)],
        );
        store.merge_pending().unwrap(); // m1 and m2 are in message_index now
        flush_rows(&mut store, "b", 10, vec![record("m3", "r3", 5, false)]); // m3 in memory
        drop(store);

        // Another process: m3 is above the watermark and is read back from the rows.
        let mut store = Store::open(&path).unwrap();
        let outcome = flush_rows(
            &mut store,
            "c",
            10,
            vec![
                record("m1", "r1", 50, false),
                record("m3", "r3", 50, false),
                record("m2", "r9", 7, true),
            ],
        );
        assert_eq!(outcome.counts.upgraded, 2);
        assert_eq!(outcome.counts.duplicates, 1);
        assert_eq!(output_sum(&store), (3, 50 + 5 + 50));

        // Merging moves every row into the table, where each is still found once.
        let mut index = MessageIndex::default();
        index.sync(&store.conn).unwrap();
        index.merge(&store.conn).unwrap();
        for id in ["m1", "m2", "m3"] {
            index.prefetch(&store.conn, [id].into_iter()).unwrap();
            assert_eq!(index.lookup(id).len(), 1, "{id}");
        }
        assert!(aggregate::consistent(store.conn()).unwrap());
    }

    /// Two copies of a merged response in one flush, from two files: the first upgrades
    /// the stored row, and the second is weighed against the upgraded row, not the one
    /// read before the flush began.
    #[test]
    fn a_flush_sees_its_own_upgrade_of_a_merged_row() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        flush_rows(&mut store, "a", 10, vec![record("m1", "r1", 5, false)]);
        store.merge_pending().unwrap();

        let mut batch = Batch::default();
        let first = batch.advance(&file("b"), None, cursor(10));
        batch.push(first, 0, 0, record("m1", "r1", 50, false));
        let second = batch.advance(&file("c"), None, cursor(10));
        batch.push(second, 0, 0, record("m1", "r1", 20, false));
        let outcome = store.flush(&batch).unwrap();
        assert_eq!(outcome.counts.upgraded, 1);
        assert_eq!(outcome.counts.duplicates, 1);
        assert_eq!(output_sum(&store), (1, 50));
    }

    #[test]
    fn aggregates_follow_upgrades_replacements_and_resets() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let mut replay = record("m1", "r9", 5, true);
        replay.ts_ms += 86_400_000; // another day, another bucket
        let mut no_id = record("x", "rx", 7, false);
        no_id.message_id = None;
        flush_rows(&mut store, "a", 10, vec![replay, no_id.clone()]);
        let mut fast = record("m2", "r2", 3, false);
        fast.speed = Some("fast".into());
        flush_rows(
            &mut store,
            "b",
            10,
            vec![record("m1", "r1", 1, false), fast],
        );
        assert!(aggregate::consistent(store.conn()).unwrap());

        // File a is read again from 0: its row without message.id goes, then comes back.
        let base = store.cursor(Path::new("a")).unwrap();
        let mut batch = Batch::default();
        let seg = batch.advance(&file("a"), base.as_ref(), cursor(10));
        batch.mark_reset(seg);
        batch.push(seg, 0, 0, no_id);
        store.flush(&batch).unwrap();
        assert_eq!(output_sum(&store), (3, 1 + 3 + 7));
        assert!(aggregate::consistent(store.conn()).unwrap());
    }

    /// Every aggregate's rows, in key order.
    fn aggregate_rows(store: &Store) -> Vec<String> {
        let mut rows = Vec::new();
        for table in [
            "usage_by_time",
            "usage_by_day",
            "usage_by_project_day",
            "usage_by_session",
            "usage_by_session_day",
        ] {
            let mut stmt = store
                .conn
                .prepare(&format!("SELECT '{table}', * FROM {table} WHERE requests != 0 ORDER BY 2, 3, 4, 5, 6, 7, 8, 9"))
                .unwrap();
            let columns = stmt.column_count();
            let table_rows = stmt
                .query_map([], |r| {
                    (0..columns)
                        .map(|i| {
                            r.get::<_, rusqlite::types::Value>(i)
                                .map(|v| format!("{v:?}"))
                        })
                        .collect::<rusqlite::Result<Vec<_>>>()
                })
                .unwrap();
            rows.extend(table_rows.map(|r| r.unwrap().join("|")));
        }
        rows
    }

    /// The aggregates a pass left are those summed again from the rows, and the
    /// watermark is past every row.
    fn assert_aggregates_exact(store: &mut Store) {
        let through = aggregate::watermark(store.conn()).unwrap();
        let last: i64 = store
            .conn
            .query_row("SELECT max(id) FROM entries", [], |r| r.get(0))
            .unwrap();
        assert_eq!(through, last, "the watermark is past every row");
        assert!(aggregate::consistent(store.conn()).unwrap());
        let kept = aggregate_rows(store);
        store.rebuild_aggregates().unwrap();
        assert_eq!(kept, aggregate_rows(store));
    }

    /// Rows of a few days, sessions, models and geos, some of them copies that upgrade a
    /// row written by an earlier flush of the same pass.
    fn varied_rows(pass: u64) -> Vec<Record> {
        (0..40)
            .map(|i| {
                let mut r = record(
                    &format!("m{pass}-{}", i % 30),
                    &format!("r{}", i % 30),
                    10 + i,
                    false,
                );
                r.ts_ms += i as i64 * 7 * 60_000;
                r.line_session_id = Some(format!("s{}", i % 3));
                r.model = Some(["claude-sonnet-4-5", "claude-opus-4-5"][i as usize % 2].into());
                r.inference_geo = (i % 5 == 0).then(|| "us".into());
                r.cost_usd = (i % 4 == 0).then_some(0.25);
                r.tokens.cache_read = i * 10_000;
                r
            })
            .collect()
    }

    /// What a pass adds above the watermark is summed as the flushes write it: inserts,
    /// upgrades of rows the same pass wrote, a file read again from 0, a second agent.
    #[test]
    fn a_pass_writes_the_sums_of_its_own_rows() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let mut no_id = record("x", "rx", 7, false);
        no_id.message_id = None;
        let mut first = varied_rows(1);
        first.push(no_id.clone());
        flush_rows(&mut store, "a", 10, first);
        flush_rows(&mut store, "b", 10, varied_rows(1));
        let codex: Vec<Record> = varied_rows(2)
            .into_iter()
            .map(|r| Record {
                agent: crate::model::Agent::Codex,
                ..r
            })
            .collect();
        flush_rows(&mut store, "c", 10, codex);
        let base = store.cursor(Path::new("a")).unwrap();
        let mut batch = Batch::default();
        let seg = batch.advance(&file("a"), base.as_ref(), cursor(10));
        batch.mark_reset(seg);
        batch.push(seg, 0, 0, no_id);
        store.flush(&batch).unwrap();
        // A later copy of a response, written seconds after the first (Claude Code writes
        // a line per content block): the session's activity starts at the copy kept.
        let mut later = varied_rows(1).remove(30);
        later.tokens.output += 1000;
        later.ts_ms += 30_000;
        let outcome = flush_rows(&mut store, "e", 10, vec![later]);
        assert_eq!(outcome.counts.upgraded, 1);
        store.merge_pending().unwrap();
        assert_aggregates_exact(&mut store);

        // The next pass adds to what the last one merged.
        flush_rows(&mut store, "d", 10, varied_rows(3));
        store.merge_pending().unwrap();
        assert_aggregates_exact(&mut store);
    }

    /// Another process writing between two of our flushes makes our sums stand for less
    /// than the rows above the watermark: they are dropped and the rows summed again.
    #[test]
    fn another_writer_between_flushes_leaves_the_aggregates_exact() {
        type Interfere = fn(&mut Store);
        let merges: Interfere = |other| {
            flush_rows(other, "o", 10, varied_rows(8));
            other.merge_pending().unwrap();
        };
        let upgrades: Interfere = |other| {
            // The copy file a's flush kept of m1-0, grown.
            let mut better = varied_rows(1).remove(30);
            better.tokens.output += 1000;
            let outcome = flush_rows(other, "o", 10, vec![better]);
            assert_eq!(outcome.counts.upgraded, 1);
        };
        let forgets: Interfere = |other| {
            let base = other.cursor(Path::new("a")).unwrap();
            let mut batch = Batch::default();
            let seg = batch.advance(&file("a"), base.as_ref(), cursor(10));
            batch.mark_reset(seg);
            other.flush(&batch).unwrap();
        };
        let rebuilds: Interfere = |other| other.rebuild_aggregates().unwrap();
        for interfere in [merges, upgrades, forgets, rebuilds] {
            // Between two of our flushes, and between our last flush and our merge.
            for before_merge in [false, true] {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("s.db");
                let mut store = Store::open(&path).unwrap();
                let mut other = Store::open(&path).unwrap();
                let mut no_id = record("x", "rx", 7, false);
                no_id.message_id = None;
                let mut first = varied_rows(1);
                first.push(no_id);
                flush_rows(&mut store, "a", 10, first);
                if !before_merge {
                    interfere(&mut other);
                }
                flush_rows(&mut store, "b", 10, varied_rows(2));
                if before_merge {
                    interfere(&mut other);
                }
                store.merge_pending().unwrap();
                assert_aggregates_exact(&mut store);
            }
        }
    }

    /// A pass with more keys than `PENDING_KEYS` writes its sums before its end, and
    /// they still add up.
    #[test]
    fn a_large_pass_writes_its_sums_as_it_goes() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let rows = |from: usize| -> Vec<Record> {
            (from..from + aggregate::PENDING_KEYS / 2 + 1)
                .map(|i| {
                    let mut r = record(&format!("m{i}"), "r", 1, false);
                    r.ts_ms += i as i64 * aggregate::BUCKET_MS;
                    r
                })
                .collect()
        };
        flush_rows(&mut store, "a", 10, rows(0));
        flush_rows(&mut store, "b", 10, rows(aggregate::PENDING_KEYS));
        // Written by the second flush, before any merge.
        assert_eq!(
            aggregate::watermark(store.conn()).unwrap(),
            aggregate::PENDING_KEYS as i64 + 2
        );
        flush_rows(&mut store, "c", 10, rows(3 * aggregate::PENDING_KEYS));
        store.merge_pending().unwrap();
        assert_aggregates_exact(&mut store);
    }

    /// The ledger's total as kept, and summed from its rows.
    fn totals(store: &Store) -> (u64, u64) {
        store
            .conn
            .query_row(
                &format!(
                    "SELECT (SELECT weight FROM ledger_total),
                            (SELECT coalesce(sum({}), 0) FROM entries)",
                    limits::WEIGHT_SQL
                ),
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap()
    }

    #[test]
    fn the_ledger_total_follows_upgrades_and_forgotten_rows() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let mut no_id = record("x", "rx", 7, false);
        no_id.message_id = None;
        flush_rows(
            &mut store,
            "a",
            10,
            vec![record("m1", "r1", 5, false), no_id.clone()],
        );
        flush_rows(&mut store, "b", 10, vec![record("m1", "r1", 9, false)]);
        // File a is read again from 0: its row without message.id goes, then comes back.
        let base = store.cursor(Path::new("a")).unwrap();
        let mut batch = Batch::default();
        let seg = batch.advance(&file("a"), base.as_ref(), cursor(10));
        batch.mark_reset(seg);
        batch.push(seg, 1, 0, no_id.clone());
        store.flush(&batch).unwrap();
        let (kept, summed) = totals(&store);
        assert_eq!(kept, summed);
        let weight = |r: &Record| limits::weight(&r.tokens, r.web_search);
        assert_eq!(kept, weight(&record("m1", "r1", 9, false)) + weight(&no_id));
    }

    #[test]
    fn a_row_or_growth_past_the_cap_is_refused_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        flush_rows(&mut store, "a", 10, vec![record("m1", "r1", 5, false)]);
        // As if the ledger held other rows up to 2 below its cap.
        let full = limits::MAX_LEDGER_WEIGHT - 2;
        store
            .conn
            .execute("UPDATE ledger_total SET weight = ?1", [full])
            .unwrap();
        let base = store.cursor(Path::new("a")).unwrap();
        let mut batch = Batch::default();
        let seg = batch.advance(&file("a"), base.as_ref(), cursor(20));
        // (`record`'s rows weigh their output.) Growing by 3 is refused; 2 more fits.
        batch.push(seg, 2, 10, record("m1", "r1", 8, false));
        batch.push(seg, 3, 15, record("m2", "r2", 2, false));
        let outcome = store.flush(&batch).unwrap();
        assert_eq!(outcome.counts.refused, 1);
        assert_eq!(outcome.counts.added, 1);
        assert_eq!(totals(&store).0, limits::MAX_LEDGER_WEIGHT);
        assert_eq!(output_sum(&store).1, 5 + 2, "m1 kept as it was");
        let (refused, line, reason): (u64, u64, String) = store
            .conn
            .query_row(
                "SELECT rows_refused, line_no, reason FROM files JOIN skipped_lines ON file_id = id",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!((refused, line), (1, 2));
        assert!(reason.contains("past 9007199254740992"), "{reason}");

        // Read again from 0, the file's lines are refused again, not counted twice.
        let base = store.cursor(Path::new("a")).unwrap();
        let mut batch = Batch::default();
        let seg = batch.advance(&file("a"), base.as_ref(), cursor(20));
        batch.mark_reset(seg);
        batch.push(seg, 2, 10, record("m1", "r1", 8, false));
        assert_eq!(store.flush(&batch).unwrap().counts.refused, 1);
        let refused: u64 = store
            .conn
            .query_row("SELECT rows_refused FROM files", [], |r| r.get(0))
            .unwrap();
        assert_eq!(refused, 1);
    }

    /// Output summed three ways: what reports see, what the aggregates hold, by session.
    fn report_sums(store: &Store) -> (u64, i64, u64) {
        let filter = crate::ledger::query::Filter::default();
        let groups = crate::ledger::query::time_groups(&store.conn, &filter).unwrap();
        let sessions = crate::ledger::query::session_groups(&store.conn, &filter).unwrap();
        let merged: i64 = store
            .conn
            .query_row(
                "SELECT coalesce(sum(output), 0) FROM usage_by_time",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let by_session = sessions.iter().map(|s| s.group.tokens.output).sum();
        assert_eq!(
            groups.iter().map(|g| g.tokens.output).sum::<u64>(),
            by_session
        );
        let ranged = crate::ledger::query::range_groups(&store.conn, &filter).unwrap();
        assert_eq!(
            ranged.iter().map(|g| g.tokens.output).sum::<u64>(),
            by_session
        );
        (by_session, merged, groups.iter().map(|g| g.requests).sum())
    }

    #[test]
    fn reports_add_rows_the_aggregates_do_not_hold_yet() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let mut no_id = record("x", "rx", 7, false);
        no_id.message_id = None;
        flush_rows(
            &mut store,
            "a",
            10,
            vec![record("m1", "r1", 5, false), no_id.clone()],
        );
        assert_eq!(report_sums(&store), (12, 0, 2), "flushed, not merged");
        assert!(aggregate::consistent(store.conn()).unwrap());
        store.merge_pending().unwrap();
        assert_eq!(report_sums(&store), (12, 12, 2), "merged");

        // File a read again from 0: its merged last row goes and its id is handed out
        // again, while m1 is upgraded in place: all three are deltas to merged sums.
        let base = store.cursor(Path::new("a")).unwrap();
        let mut batch = Batch::default();
        let seg = batch.advance(&file("a"), base.as_ref(), cursor(20));
        batch.mark_reset(seg);
        no_id.tokens.output = 8;
        batch.push(seg, 0, 0, no_id);
        batch.push(seg, 0, 0, record("m1", "r1", 50, false));
        store.flush(&batch).unwrap();
        assert_eq!(report_sums(&store), (58, 58, 2));
        assert!(aggregate::consistent(store.conn()).unwrap());

        // A new row waits above the watermark; upgrading it before the merge is no delta.
        flush_rows(&mut store, "b", 10, vec![record("m2", "r2", 3, false)]);
        flush_rows(&mut store, "c", 10, vec![record("m2", "r2", 30, false)]);
        assert_eq!(report_sums(&store), (88, 58, 3));
        assert!(aggregate::consistent(store.conn()).unwrap());
        store.merge_pending().unwrap();
        assert_eq!(report_sums(&store), (88, 88, 3));
        assert!(aggregate::consistent(store.conn()).unwrap());

        // Rows another process added are merged too, each once.
        let mut other = Store::open(&dir.path().join("s.db")).unwrap();
        flush_rows(&mut other, "d", 10, vec![record("m3", "r3", 100, false)]);
        flush_rows(&mut store, "e", 10, vec![record("m4", "r4", 1000, false)]);
        assert_eq!(report_sums(&store), (1188, 88, 5));
        store.merge_pending().unwrap();
        assert_eq!(report_sums(&other), (1188, 1188, 5));
        assert!(aggregate::consistent(store.conn()).unwrap());
    }

    /// A ledger as cco-stats left it at schema `version`, made by the released migrations
    /// themselves, holding one file and `rows` (raw `entries` values of that schema).
    fn ledger_at(path: &Path, version: usize, rows: &str) {
        let conn = Connection::open(path).unwrap();
        for steps in &MIGRATIONS[..version] {
            // The released migrations, without the rebuild that now runs after the last.
            let Step::Sql(sql) = steps[0] else {
                panic!("every migration starts with its SQL");
            };
            conn.execute_batch(sql).unwrap();
        }
        conn.execute_batch(&format!(
            "INSERT INTO files (id, path, project, session_id, dev, inode, size, mtime_ns, offset, lines, head_len, head_hash, updated_ms)
                 VALUES (1, x'61', 'p', 's', 0, 0, 0, 0, 0, 0, 0, 0, 0);
             INSERT INTO entries (file_id, ts_ms, session_id, project, model, message_id, request_id,
                                  is_sidechain, speed, input, output, cache_write_5m, cache_write_1h,
                                  cache_read, web_search, cost_usd)
             VALUES {rows};
             PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {version};"
        ))
        .unwrap();
    }

    #[test]
    fn a_ledger_from_before_the_watermark_counts_each_row_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        // Schema 3 kept its aggregates whole and knew no watermark.
        ledger_at(
            &path,
            3,
            "(1, 1700000000000, 's', 'p', 'claude-sonnet-4-5', 'm1', 'r1', 0, NULL, 0, 5, 0, 0, 0, 0, NULL)",
        );
        let store = Store::open(&path).unwrap();
        assert_eq!(report_sums(&store), (5, 5, 1));
        assert!(aggregate::consistent(store.conn()).unwrap());
    }

    /// A ledger of the last release (schema 5) keeps every row and total through
    /// migration 6, and its aggregates are summed again under the new keys.
    #[test]
    fn a_schema_5_ledger_upgrades_with_its_totals() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        ledger_at(
            &path,
            5,
            "(1, 1700000000000, 's', 'p', 'claude-sonnet-4-5', 'm1', 'r1', 0, NULL, 1000, 5, 0, 0, 250000, 2, NULL),
             (1, 1700000900000, 's', 'p', 'claude-haiku-4-5', 'm2', 'r2', 0, 'fast', 10, 7, 3, 4, 0, 0, 0.5)",
        );
        let store = Store::open(&path).unwrap();
        assert_eq!(report_sums(&store), (12, 12, 2));
        assert!(aggregate::consistent(store.conn()).unwrap());
        let tiers: Vec<(u64, u64)> = store
            .conn
            .prepare("SELECT tier, web_search FROM usage_by_time ORDER BY bucket_ms")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(tiers, vec![(200_000, 2), (0, 0)]);
        let geo: Option<String> = store
            .conn
            .query_row(
                "SELECT inference_geo FROM entries WHERE message_id = 'm1'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(geo, None);
    }

    /// A ledger of schema 7 (before host ids) gets an id and a name on upgrade, keeps
    /// them afterwards, and a new ledger gets another id.
    #[test]
    fn a_schema_7_ledger_gets_a_host_id_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        ledger_at(
            &path,
            7,
            "(1, 1700000000000, 's', 'p', 'claude-sonnet-4-5', 'm1', 'r1', 0, NULL, 1, 5, 0, 0, 0, 0, NULL)",
        );
        let host = Store::open(&path).unwrap().host().unwrap();
        assert_eq!(host.id.len(), 32);
        assert!(host.id.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(host.name, hostname());
        let store = Store::open(&path).unwrap();
        assert_eq!(store.host().unwrap(), host);
        // Its row is still counted, merged by the rebuild of migration 12 (agents).
        assert_eq!(report_sums(&store), (5, 5, 1));
        let other = Store::open(&dir.path().join("t.db")).unwrap();
        assert_ne!(other.host().unwrap().id, host.id);
    }

    /// A ledger of schema 8 (before export) keeps its rows as this host's, all in a first
    /// export and none after its cursor; the next flush stamps what it writes after it.
    #[test]
    fn a_schema_8_ledger_exports_its_rows_and_then_only_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        ledger_at(
            &path,
            8,
            "(1, 1700000000000, 's', 'p', 'claude-sonnet-4-5', 'm1', 'r1', 0, NULL, 1, 5, 0, 0, 0, 0, NULL)",
        );
        let mut store = Store::open(&path).unwrap();
        let host = store.host().unwrap();
        let mut seen = Vec::new();
        let first = store
            .export(exchange::Selection::default(), |row| {
                seen.push((row.host_id.clone(), row.record.tokens.output));
                Ok(())
            })
            .unwrap();
        assert_eq!(seen, vec![(host.id.clone(), 5)]);
        assert_eq!(first.change_seq, 0);
        let mut since = Vec::new();
        flush_rows(&mut store, "b", 10, vec![record("m1", "r1", 50, false)]);
        let second = store
            .export(
                exchange::Selection {
                    after: Some(first.change_seq),
                    ..Default::default()
                },
                |row| {
                    since.push(row.record.tokens.output);
                    Ok(())
                },
            )
            .unwrap();
        assert_eq!(since, vec![50]);
        assert_eq!(second.change_seq, 1);
    }

    #[test]
    fn a_schema_15_ledger_learns_its_projects_and_their_paths() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        ledger_at(
            &path,
            15,
            "(1, 1700000000000, 's', '-home-u-app', 'claude-sonnet-4-5', 'm1', 'r1', 0, NULL, 1, 5, 0, 0, 0, 0, NULL),
             (1, 1700000000001, 's', '-home-u-app', 'claude-sonnet-4-5', 'm2', 'r2', 0, NULL, 1, 5, 0, 0, 0, 0, NULL),
             (1, 1700000000002, 't', '-home-u-web', 'claude-sonnet-4-5', 'm3', 'r3', 0, NULL, 1, 5, 0, 0, 0, 0, NULL)",
        );
        // The first row's session moved elsewhere: its cwd does not name its project.
        Connection::open(&path)
            .unwrap()
            .execute_batch(
                "UPDATE entries SET cwd = '/elsewhere' WHERE message_id = 'm1';
                 UPDATE entries SET cwd = '/home/u/app/' WHERE message_id = 'm2';",
            )
            .unwrap();
        let store = Store::open(&path).unwrap();
        let known = projects::known(store.conn()).unwrap();
        assert_eq!(known["-home-u-app"].as_deref(), Some("/home/u/app"));
        assert_eq!(known["-home-u-web"], None);
    }

    /// A schema 16 ledger gets its day aggregates from its quarter hours, exact (rows not
    /// merged yet stay above the watermark).
    #[test]
    fn a_schema_16_ledger_sums_its_days_from_its_quarter_hours() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        ledger_at(
            &path,
            MIGRATIONS.len(),
            "(1, 1700000000000, 's', 'p', 'claude-sonnet-4-5', 'm1', 'r1', 0, NULL, 1, 5, 0, 0, 0, 0, NULL),
             (1, 1700090000000, 's', 'q', 'claude-sonnet-4-5', 'm2', 'r2', 0, NULL, 1, 7, 0, 0, 0, 0, NULL)",
        );
        let conn = Connection::open(&path).unwrap();
        aggregate::rebuild(&conn).unwrap();
        conn.execute_batch(
            "INSERT INTO entries (file_id, ts_ms, session_id, project, model, message_id, request_id,
                                  is_sidechain, speed, input, output, cache_write_5m, cache_write_1h,
                                  cache_read, web_search, cost_usd)
             VALUES (1, 1700000000002, 't', 'p', 'claude-sonnet-4-5', 'm3', 'r3', 0, NULL, 1, 11, 0, 0, 0, 0, NULL);
             DROP TABLE usage_by_project_day; DROP TABLE usage_by_session_day;
             PRAGMA user_version = 16;",
        )
        .unwrap();
        drop(conn);
        let store = Store::open(&path).unwrap();
        assert!(aggregate::consistent(store.conn()).unwrap());
        let days: i64 = store
            .conn()
            .query_row(
                "SELECT (SELECT sum(output) FROM usage_by_project_day)
                      + (SELECT sum(output) FROM usage_by_session_day)",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(days, 2 * (5 + 7));
        assert_eq!(report_sums(&store).0, 5 + 7 + 11);
    }

    #[test]
    fn flush_drops_rows_of_a_file_another_process_moved() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let mut mine = Store::open(&path).unwrap();
        let mut other = Store::open(&path).unwrap();

        // Both start from "no cursor"; the other process commits first.
        let mut batch = Batch::default();
        let seg = batch.advance(&file("a"), None, cursor(10));
        batch.push(seg, 0, 0, record("m1", "r1", 5, false));
        let mut no_id = record("m2", "r2", 7, false);
        no_id.message_id = None;
        batch.push(seg, 0, 0, no_id);
        other.flush(&batch).unwrap();
        let outcome = mine.flush(&batch).unwrap();

        assert_eq!(outcome.conflicts, vec![PathBuf::from("a")]);
        assert_eq!(outcome.counts, Flushed::default());
        assert_eq!(output_sum(&mine), (2, 12), "nothing counted twice");
    }
}
