//! `export` and `import`: glue between the ledger's rows (`ledger::exchange`), the NDJSON
//! format (`render::export`) and files.
//!
//! An export streams rows from one snapshot to stdout or to a temporary file renamed over
//! the target at the end, then tells its cursor. An import reads each file line by line
//! and commits every `IMPORT_CHUNK` rows (with `--atomic`, the whole file in one
//! transaction, after every line read well): a kill loses at most the uncommitted chunk,
//! and importing the file again finds the committed rows already there.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use crate::cli::{ExportArgs, ImportArgs};
use crate::ledger::exchange::Row;
use crate::ledger::{Flushed, Store};
use crate::paths::Replacement;
use crate::render::export::{self, ROW_VERSION, Unreadable};

/// Rows per import transaction: large enough that commits cost little, small enough that
/// a kill loses little work (none of it counted).
const IMPORT_CHUNK: usize = 2000;

pub fn export(db: &Path, args: &ExportArgs) -> Result<ExitCode> {
    let store = Store::open(db)?;
    let host = store.host()?;
    let since = args
        .since
        .as_deref()
        .map(|c| parse_cursor(c, &host.id))
        .transpose()?;
    let done = match &args.output {
        None => {
            let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
            let done = store.export(since, |row| Ok(out.write_all(&export::line(row))?))?;
            out.flush()?;
            done
        }
        Some(path) => {
            // Private: it holds usage history. Left unfinished, it is removed.
            let file = Replacement::create(path, 0o600)?;
            let mut out = BufWriter::with_capacity(1 << 16, file.file());
            let done = store.export(since, |row| Ok(out.write_all(&export::line(row))?))?;
            out.flush()
                .with_context(|| format!("cannot write {}", path.display()))?;
            drop(out);
            file.commit()?;
            done
        }
    };
    let cursor = format!("{}:{}", host.id, done.change_seq);
    if let Some(path) = &args.cursor_file {
        crate::paths::write_replacing(path, &format!("{cursor}\n"), 0o600)?;
    }
    // Always, --quiet or not: the cursor is what the next `--since` needs.
    eprintln!("cco-stats: exported {} rows; cursor {cursor}", done.rows);
    Ok(ExitCode::SUCCESS)
}

/// A cursor is `<host id>:<change marker>`: one from another ledger would skip or repeat
/// arbitrary rows here, so it is refused.
fn parse_cursor(text: &str, host_id: &str) -> Result<i64> {
    let text = text.trim();
    let (host, seq) = text.split_once(':').with_context(|| {
        format!("--since {text:?} is not a cursor (an export prints one, `<host id>:<number>`)")
    })?;
    let seq: i64 = seq
        .parse()
        .ok()
        .filter(|&s| s >= 0)
        .with_context(|| format!("--since {text:?} is not a cursor (`<host id>:<number>`)"))?;
    if host != host_id {
        bail!(
            "--since {text:?} is a cursor of another ledger (host {host}); this one is {host_id}"
        );
    }
    Ok(seq)
}

/// What importing one file did.
#[derive(Debug, Default)]
struct FileImport {
    rows: u64,
    counts: Flushed,
    malformed: u64,
    /// The file was refused (a newer row version), or `--atomic` found a malformed line.
    refused: bool,
}

pub fn import(db: &Path, args: &ImportArgs, quiet: bool) -> Result<ExitCode> {
    let mut store = Store::open(db)?;
    let mut failed = false;
    for path in &args.files {
        let done = import_file(&mut store, path, args.atomic)?;
        // Rows committed so far are merged into the aggregates even if a later file fails.
        store.merge_pending()?;
        failed |= done.malformed > 0 || done.refused;
        if !quiet {
            let c = done.counts;
            eprintln!(
                "cco-stats: {}: {} rows: {} added, {} upgraded, {} already here{}{}",
                path.display(),
                done.rows,
                c.added,
                c.upgraded,
                c.duplicates,
                match done.malformed {
                    0 => String::new(),
                    1 => "; 1 malformed line".to_string(),
                    n => format!("; {n} malformed lines"),
                },
                if done.refused {
                    "; nothing imported from it"
                } else {
                    ""
                },
            );
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Imports one file; its malformed lines are named on stderr as `file:line: reason`.
/// Errors are the ledger's and the file's (cannot be read): they stop the run.
fn import_file(store: &mut Store, path: &Path, atomic: bool) -> Result<FileImport> {
    let file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut done = FileImport::default();
    let mut chunk: Vec<Row> = Vec::new();
    let mut line = Vec::new();
    let mut line_no = 0u64;
    loop {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if read == 0 {
            break;
        }
        line_no += 1;
        let text = line.trim_ascii();
        if text.is_empty() {
            continue;
        }
        match export::parse(text) {
            Ok(row) => chunk.push(row),
            Err(Unreadable::Malformed(reason)) => {
                eprintln!("cco-stats: {}:{line_no}: {reason}", path.display());
                done.malformed += 1;
                if atomic {
                    done.refused = true;
                    return Ok(done);
                }
            }
            Err(Unreadable::Future(v)) => {
                eprintln!(
                    "cco-stats: {}:{line_no}: written by a newer cco-stats (row version {v}; this one reads up to {ROW_VERSION}): upgrade cco-stats to import it",
                    path.display()
                );
                done.refused = true;
                return Ok(done);
            }
        }
        if !atomic && chunk.len() >= IMPORT_CHUNK {
            commit(store, &mut chunk, &mut done, path)?;
        }
    }
    commit(store, &mut chunk, &mut done, path)?;
    Ok(done)
}

fn commit(
    store: &mut Store,
    chunk: &mut Vec<Row>,
    done: &mut FileImport,
    path: &Path,
) -> Result<()> {
    if chunk.is_empty() {
        return Ok(());
    }
    let counts = store
        .import(chunk)
        .with_context(|| format!("cannot import {}", path.display()))?;
    done.rows += chunk.len() as u64;
    done.counts.added += counts.added;
    done.counts.upgraded += counts.upgraded;
    done.counts.duplicates += counts.duplicates;
    chunk.clear();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_name_their_ledger() {
        assert_eq!(parse_cursor("abc:12\n", "abc").unwrap(), 12);
        for bad in ["12", "abc:", "abc:-1", "abc:x"] {
            assert!(parse_cursor(bad, "abc").is_err(), "{bad}");
        }
        let err = parse_cursor("def:3", "abc").unwrap_err().to_string();
        assert!(err.contains("another ledger"), "{err}");
    }
}
