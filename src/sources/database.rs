//! The *SQLite written by a running agent* shape (OpenCode, Goose, Copilot's session
//! store): the interface part 2's sources implement, and the cursor such a database keeps.
//!
//! The agent's database is opened read-only (never written, never checkpointed), and
//! only its rows new or changed since a watermark are read: a place in the database the
//! reader alone defines (OpenCode's: the last rowid read and the messages still open;
//! Copilot's store: the last row id). A row updated in place while a response streams
//! comes again with more tokens, and replaces its ledger row through the dedup rules
//! (same message id and request id, the larger copy wins); a row read again adds nothing.
//! So the records must carry the agent's own message id, and the watermark is committed
//! with the rows.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rusqlite::{Connection, OpenFlags};

use crate::model::{Parsed, Record};
use crate::sources::LineParser;
use crate::sources::rewritten::DocumentParser;

/// Reads an agent's database from a watermark.
pub trait DatabaseReader: Sync {
    /// Whether a file of this name, in one of the source's folders, is its database.
    fn is_database(&self, name: &str) -> bool;
    /// Whether `folder`, one of the source's, is where its databases are (and so is not
    /// walked): all of them, unless the source keeps logs beside (Copilot's home).
    fn holds_databases(&self, _folder: &Path) -> bool {
        true
    }
    /// The records of the rows new or changed since `watermark` (what this reader
    /// returned last time; empty at the first read), and the new watermark.
    fn read_since(&self, db: &Connection, watermark: &str) -> Result<(Vec<Record>, String)>;
    /// Files an older version of the agent wrote beside its database, each a document
    /// rewritten whole (the *whole file rewritten* shape), whose messages the database may
    /// hold again under the same ids: OpenCode's `storage/message/<session>/msg_*.json`.
    /// The dedup rules count such a copy once.
    fn documents(&self, _folder: &Path) -> Vec<PathBuf> {
        Vec::new()
    }
    /// The parser of `documents`' files.
    fn document_parser(&self) -> Option<&dyn DocumentParser> {
        None
    }
}

/// The line parser of a source whose usage is all in databases: the walk never hands it a
/// line (see `Source::database`); if it ever did, the line is skipped, named.
pub struct NoLines;

impl LineParser for NoLines {
    fn resume(&mut self, _state: &str) -> Result<()> {
        Ok(())
    }

    fn line(&mut self, _line: &[u8]) -> Parsed {
        Parsed::Skipped("this agent keeps its usage in a database, not in lines".into())
    }

    fn take_state(&mut self) -> Option<String> {
        None
    }
}

/// How much of an agent's database is mapped into memory rather than read.
const MMAP_BYTES: i64 = 256 << 20;

/// Opens an agent's database for reading only: a database another program is writing is
/// never written to, and a missing one is not created.
pub fn open(path: &Path) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let db = Connection::open_with_flags(path, flags)
        .with_context(|| format!("cannot open {} read-only", path.display()))?;
    // A WAL database's writer never blocks a reader; what does (its recovery, a
    // rollback-journal writer) is waited for a moment, then left to the next pass: a
    // pass (and the status line's) must not stall on an agent's lock.
    db.busy_timeout(std::time::Duration::from_millis(100))?;
    // A changed database is scanned (agents index no update time): mapped, its pages
    // cost no read call each, a third of a 100,000-message scan.
    db.pragma_update(None, "mmap_size", MMAP_BYTES)?;
    Ok(db)
}

/// The databases in one of a source's folders, in the order of their names.
pub fn databases_in(folder: &Path, reader: &dyn DatabaseReader) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| reader.is_database(n))
        })
        .map(|e| e.path())
        .collect();
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::dedup::{Decision, decide};
    use crate::model::Tokens;

    /// A small example of the shape: OpenCode's `message(id, time_updated, data)`, the
    /// tokens in `data`.
    struct Messages;

    impl DatabaseReader for Messages {
        fn is_database(&self, name: &str) -> bool {
            name == "opencode.db"
        }

        fn read_since(&self, db: &Connection, watermark: &str) -> Result<(Vec<Record>, String)> {
            let watermark: i64 = watermark.parse().unwrap_or(0);
            let mut stmt = db.prepare(
                "SELECT id, time_updated, json_extract(data, '$.tokens.output') FROM message
                 WHERE time_updated > ?1 ORDER BY time_updated",
            )?;
            let mut next = watermark;
            let rows = stmt.query_map([watermark], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, u64>(2)?,
                ))
            })?;
            let mut records = Vec::new();
            for row in rows {
                let (id, updated, output) = row?;
                next = next.max(updated);
                records.push(Record {
                    message_id: Some(id),
                    ts_ms: updated,
                    tokens: Tokens {
                        output,
                        ..Tokens::default()
                    },
                    ..Record::default()
                });
            }
            Ok((records, next.to_string()))
        }
    }

    #[test]
    fn rows_are_read_from_the_watermark_and_a_row_updated_in_place_replaces_its_copy() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("opencode.db");
        let agent = Connection::open(&path).unwrap();
        agent
            .execute_batch(
                "CREATE TABLE message (id TEXT PRIMARY KEY, time_updated INTEGER, data TEXT);
                 INSERT INTO message VALUES ('m1', 10, '{\"tokens\":{\"output\":4}}'),
                                            ('m2', 20, '{\"tokens\":{\"output\":1}}');",
            )
            .unwrap();
        let db = open(&path).unwrap();
        assert!(db.execute("DELETE FROM message", []).is_err(), "read-only");
        assert!(
            open(&dir.path().join("absent.db")).is_err(),
            "never created"
        );

        let (first, watermark) = Messages.read_since(&db, "").unwrap();
        assert_eq!((first.len(), watermark.as_str()), (2, "20"));
        // Nothing new: nothing read.
        assert!(Messages.read_since(&db, &watermark).unwrap().0.is_empty());

        // m2 streams on: updated in place, later, with more tokens.
        agent
            .execute(
                "UPDATE message SET time_updated = 30, data = '{\"tokens\":{\"output\":8}}' WHERE id = 'm2'",
                [],
            )
            .unwrap();
        let (again, watermark) = Messages.read_since(&db, &watermark).unwrap();
        assert_eq!((again.len(), watermark.as_str()), (1, "30"));
        let stored = crate::ledger::dedup::Stored::of(2, &first[1]);
        assert_eq!(
            decide(&again[0], std::slice::from_ref(&stored)),
            Decision::Replace(2)
        );
        // The same version read again (a watermark not committed): nothing new.
        assert_eq!(decide(&first[1], &[stored]), Decision::Keep);
    }
}
