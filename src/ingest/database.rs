//! The pass's reading of the databases agents write while they run (`Shape::Database`:
//! OpenCode's, Copilot's session store), beside the walk's tailing of files.
//!
//! A database's place is a `files` row like a transcript's, read differently: its
//! identity is the database file's and its `-wal` file's together (the agents write into
//! the WAL; the database file itself changes only at a checkpoint), and its parser state (the
//! `state` column, committed with the cursor) is the watermark, the place its reader says
//! it left the database at; its offset stays 0 (no bytes are tailed). An unchanged identity
//! costs two `stat`s and no query; a changed one costs the reader's few queries, of the
//! rows new or changed since the watermark. The rows and the watermark join the pass's batch and commit together, so a
//! pass killed at any point has either read a database up to its watermark or not at all.
//!
//! The database is opened read-only and never waited on for long: OpenCode's writes (WAL)
//! do not block a reader, and a database that does (a checkpoint truncating its WAL, a
//! rollback-journal writer) is left to the next pass, the ledger's other agents committed
//! meanwhile.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use rusqlite::ErrorCode;

use crate::ingest::Ingestor;
use crate::ingest::discover::RACY_NS;
use crate::ledger::batch::{Cursor, FileInfo, Identities};
use crate::model::Agent;
use crate::model::{Head, Identity};
use crate::sources::Folder;
use crate::sources::database::{DatabaseReader, open};

/// One agent database found in a source's folder.
pub struct Database {
    pub agent: Agent,
    pub path: PathBuf,
    reader: &'static dyn DatabaseReader,
}

/// The databases in `folders` of the sources that keep one.
pub fn databases_in(folders: &[Folder]) -> Vec<Database> {
    let mut found = Vec::new();
    for folder in folders {
        let Some(reader) = folder.database() else {
            continue;
        };
        for path in crate::sources::database::databases_in(&folder.path, reader) {
            found.push(Database {
                agent: folder.agent,
                path,
                reader,
            });
        }
    }
    found
}

/// The databases that `paths` (files a watcher or a poll saw change: a database or its
/// `-wal`) belong to, each once.
pub fn databases_at<'p>(
    folders: &[Folder],
    paths: impl IntoIterator<Item = &'p Path>,
) -> Vec<Database> {
    let mut found: Vec<Database> = Vec::new();
    for path in paths {
        let Some(db) = database_of(folders, path) else {
            continue;
        };
        if !found.iter().any(|d| d.path == db.path) {
            found.push(db);
        }
    }
    found
}

/// The database `path` is, or is the `-wal` of, in one of `folders`. Not its `-shm`:
/// every reader (this one too) maps and locks it, and a reader changes nothing.
pub fn database_of(folders: &[Folder], path: &Path) -> Option<Database> {
    let name = path.file_name()?.to_str()?;
    let db_name = name.strip_suffix("-wal").unwrap_or(name);
    let dir = path.parent()?;
    let folder = folders.iter().find(|f| f.path == dir)?;
    let reader = folder.database()?;
    reader.is_database(db_name).then(|| Database {
        agent: folder.agent,
        path: dir.join(db_name),
        reader,
    })
}

/// The `-wal` file beside database `path`.
pub fn wal_of(path: &Path) -> PathBuf {
    let mut wal = path.as_os_str().to_os_string();
    wal.push("-wal");
    PathBuf::from(wal)
}

/// What the database and its WAL look like now: the database file's device and inode,
/// and a size and time that move when either file is written (`settled`).
fn identity_of(path: &Path) -> std::io::Result<Identity> {
    let db = std::fs::metadata(path)?;
    let (wal_size, wal_mtime) = match std::fs::metadata(wal_of(path)) {
        Ok(wal) => (wal.size(), mtime_ns(&wal)),
        Err(_) => (0, 0),
    };
    Ok(settled(Identity {
        dev: db.dev(),
        inode: db.ino(),
        // Apart, not summed: a WAL restarted after a checkpoint may reach the size of
        // the database's growth.
        size: db.size() ^ wal_size.rotate_left(32),
        mtime_ns: mtime_ns(&db).max(wal_mtime),
    }))
}

fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    meta.mtime() * 1_000_000_000 + meta.mtime_nsec()
}

/// `identity` as a cursor may keep it: a time too recent to trust (a write may land in
/// the same clock tick, leaving size and time as they were) is kept as 0, so the next
/// pass looks again.
fn settled(identity: Identity) -> Identity {
    let now_ns = jiff::Timestamp::now().as_nanosecond() as i64;
    match identity.mtime_ns > now_ns - RACY_NS {
        true => Identity {
            mtime_ns: 0,
            ..identity
        },
        false => identity,
    }
}

impl Ingestor<'_> {
    /// Reads the legacy documents beside the databases in `folders` (see
    /// `DatabaseReader::documents`) that changed since `identities` saw them: one `stat`
    /// each when none did.
    pub(crate) fn read_documents(
        &mut self,
        folders: &[Folder],
        identities: &Identities,
        stop: &AtomicBool,
    ) -> anyhow::Result<()> {
        for folder in folders {
            let Some(reader) = folder.database() else {
                continue;
            };
            let Some(parser) = reader.document_parser() else {
                continue;
            };
            for path in reader.documents(&folder.path) {
                if stop.load(Ordering::Relaxed) {
                    return Ok(());
                }
                self.stats.files_seen += 1;
                let identity = match std::fs::metadata(&path) {
                    Ok(meta) => settled(Identity {
                        dev: meta.dev(),
                        inode: meta.ino(),
                        size: meta.size(),
                        mtime_ns: mtime_ns(&meta),
                    }),
                    Err(_) => continue,
                };
                if identity.mtime_ns != 0 && identities.get(path.as_os_str()) == Some(&identity) {
                    continue;
                }
                let records = std::fs::read(&path)
                    .map_err(anyhow::Error::from)
                    .and_then(|bytes| parser.records(&path, &bytes));
                let records = match records {
                    Ok(records) => records,
                    Err(e) => {
                        log::warn!("{}: {e:#}", path.display());
                        self.stats.warnings += 1;
                        self.stats.files_unreadable += 1;
                        continue;
                    }
                };
                let committed = self.store.cursor(&path)?;
                self.stats.files_changed += 1;
                self.stats.bytes_read += identity.size;
                let info = FileInfo {
                    agent: folder.agent,
                    path,
                    project: String::new(),
                    session_id: String::new(),
                };
                let cursor = Cursor {
                    id: committed.and_then(|c| c.id),
                    identity,
                    head: Head::default(),
                    tail: None,
                    offset: identity.size,
                    lines: 1,
                    lines_skipped: 0,
                };
                let segment = self.batch.advance(&info, committed.as_ref(), cursor);
                for record in records {
                    self.batch.push(segment, 1, 0, record);
                }
            }
        }
        Ok(())
    }

    /// Reads every database of `databases` that changed since its cursor into the batch
    /// (the caller flushes). A database that cannot be read is a warning; one that is
    /// busy waits for the next pass.
    pub(crate) fn read_databases(
        &mut self,
        databases: &[Database],
        stop: &AtomicBool,
    ) -> anyhow::Result<()> {
        for db in databases {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            self.stats.files_seen += 1;
            let identity = match identity_of(&db.path) {
                Ok(identity) => identity,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    self.unreadable_database(db, &e);
                    continue;
                }
            };
            let committed = self.store.cursor(&db.path)?;
            if committed.is_some_and(|c| c.identity == identity && identity.mtime_ns != 0) {
                continue;
            }
            // None (or damage) reads the database from its start, which the dedup rules
            // make exact.
            let watermark = match committed.and_then(|c| c.id) {
                Some(id) => self.store.parser_state(id)?.unwrap_or_default(),
                None => String::new(),
            };
            let started = std::time::Instant::now();
            let read = open(&db.path).and_then(|conn| db.reader.read_since(&conn, &watermark));
            log::debug!(
                "Read {} rows changed since {watermark} in {:.3} ms ({})",
                read.as_ref().map_or(0, |(records, _)| records.len()),
                started.elapsed().as_secs_f64() * 1e3,
                db.path.display()
            );
            let (records, next) = match read {
                Ok(read) => read,
                Err(e) if busy(&e) => {
                    log::info!("{}: busy ({e:#}); read at the next pass", db.path.display());
                    continue;
                }
                Err(e) => {
                    self.unreadable_database(db, &e);
                    continue;
                }
            };
            self.stats.files_changed += 1;
            self.stats.lines_read += records.len() as u64;
            let info = FileInfo {
                agent: db.agent,
                path: db.path.clone(),
                project: String::new(),
                session_id: String::new(),
            };
            let cursor = Cursor {
                id: committed.and_then(|c| c.id),
                identity,
                head: Head::default(),
                tail: None,
                offset: 0,
                lines: committed.map_or(0, |c| c.lines) + records.len() as u64,
                lines_skipped: 0,
            };
            let segment = self.batch.advance(&info, committed.as_ref(), cursor);
            self.batch.segments[segment].state = Some(next);
            // A row has no line: its place is the database's start.
            for record in records {
                self.batch.push(segment, 0, 0, record);
            }
        }
        Ok(())
    }

    fn unreadable_database(&mut self, db: &Database, e: &dyn std::fmt::Display) {
        log::warn!("{}: {e:#}", db.path.display());
        self.stats.warnings += 1;
        self.stats.files_unreadable += 1;
    }
}

/// Whether reading failed only because another connection held the database.
fn busy(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<rusqlite::Error>(),
            Some(rusqlite::Error::SqliteFailure(f, _))
                if matches!(f.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
        )
    })
}
