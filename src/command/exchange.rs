//! `export` and `import`: glue between the ledger's rows (`ledger::exchange`), the NDJSON
//! format (`render::export`) and files.
//!
//! An export streams rows from one snapshot (those after a cursor, `--after`, and of
//! the days `--since`..`--until`) to stdout or to a temporary file renamed over the
//! target at the end, then tells its cursor. An import reads each file (`-`: stdin, the
//! far end of `ssh host cco-stats export |`) line by line,
//! no line held past `--max-line-mib` (ingest's limit and default), and commits every
//! chunk (`IMPORT_CHUNK` rows or `IMPORT_CHUNK_BYTES`): a kill loses at most the
//! uncommitted chunk, and importing the file again finds the committed rows already there.
//! With `--atomic` the chunks go into one transaction, committed only if every line of
//! the file was read well: memory stays one chunk whatever the file's size.
//!
//! A line that is no row (damaged, or of a newer row version) costs that line; a line
//! over the limit, or a read error, ends its file there, keeping the rows before it (with
//! `--atomic`, nothing of the file); a file that cannot be opened costs that file. Each is
//! named on stderr as `file:line: reason`, the other files are imported all the same, and
//! the exit code is 1.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use crate::cli::{ExportArgs, ExportSince, ImportArgs};
use crate::ledger::exchange::{Row, Selection};
use crate::ledger::{Flushed, Store};
use crate::paths::Replacement;
use crate::render::export::{self, ROW_VERSION, Unreadable};
use crate::visible::Shown;

/// Rows per import transaction: large enough that commits cost little, small enough that
/// a kill loses little work (none of it counted).
const IMPORT_CHUNK: usize = 2000;

/// Bytes of lines per import transaction (or per batch of `--atomic`'s one): rows can be
/// long, and memory is bounded by this plus one line, not by a count of rows.
const IMPORT_CHUNK_BYTES: usize = 8 << 20;

pub fn export(db: &Path, args: &ExportArgs) -> Result<ExitCode> {
    let store = Store::open(db)?;
    let host = store.host()?;
    let selection = selection(args, &host.id)?;
    let done = match &args.output {
        None => {
            let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
            let done = store.export(selection, |row| Ok(out.write_all(&export::line(row))?))?;
            out.flush()?;
            done
        }
        Some(path) => {
            // Private: it holds usage history. Left unfinished, it is removed.
            let file = Replacement::create(path, 0o600)?;
            let mut out = BufWriter::with_capacity(1 << 16, file.file());
            let done = store.export(selection, |row| Ok(out.write_all(&export::line(row))?))?;
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
    // Always, --quiet or not: the cursor is what the next `--after` needs.
    eprintln!("cco-stats: exported {} rows; cursor {cursor}", done.rows);
    Ok(ExitCode::SUCCESS)
}

/// The rows `export` was asked for. A cursor given to `--since` (its name before
/// `--after`) still works, with a note.
fn selection(args: &ExportArgs, host_id: &str) -> Result<Selection> {
    let (since, old_cursor) = match &args.since {
        Some(ExportSince::Date(date)) => (Some(*date), None),
        Some(ExportSince::Cursor(cursor)) => {
            log::warn!(
                "export --since CURSOR is now spelt --after CURSOR (--since takes a date, as in the reports)"
            );
            (None, Some(cursor))
        }
        None => (None, None),
    };
    let cursor = match (&args.after, old_cursor) {
        (Some(_), Some(_)) => bail!("a cursor is given twice: to --after and to --since"),
        (after, old) => after.as_ref().or(old),
    };
    let zone = crate::model::calendar::zone(args.timezone.as_deref())?;
    let (since_ms, until_ms) = crate::model::calendar::range_ms(since, args.until, &zone)?;
    Ok(Selection {
        after: cursor.map(|c| parse_cursor(c, host_id)).transpose()?,
        since_ms,
        until_ms,
    })
}

/// A cursor is `<host id>:<change marker>`: one from another ledger would skip or repeat
/// arbitrary rows here, so it is refused.
fn parse_cursor(text: &str, host_id: &str) -> Result<i64> {
    let text = text.trim();
    let (host, seq) = text.split_once(':').with_context(|| {
        format!("--after {text:?} is not a cursor (an export prints one, `<host id>:<number>`)")
    })?;
    let seq: i64 = seq
        .parse()
        .ok()
        .filter(|&s| s >= 0)
        .with_context(|| format!("--after {text:?} is not a cursor (`<host id>:<number>`)"))?;
    if host != host_id {
        bail!(
            "--after {text:?} is a cursor of another ledger (host {host}); this one is {host_id}"
        );
    }
    Ok(seq)
}

/// What importing one file did.
#[derive(Debug, Default)]
struct FileImport {
    rows: u64,
    counts: Flushed,
    /// Lines that are no row this cco-stats reads (damaged, of a newer version): each
    /// costs itself, or with `--atomic` the file.
    bad_lines: u64,
    /// Where reading stopped short of the end (a line over the limit, a read error): the
    /// line number; the rows before it count unless `--atomic`.
    stopped_at: Option<u64>,
    /// `--atomic` rolled the file back: nothing of it was imported.
    refused: bool,
    /// The file could not be opened (said where it was tried): no summary to add.
    unopened: bool,
}

impl FileImport {
    fn failed(&self) -> bool {
        self.bad_lines > 0 || self.stopped_at.is_some() || self.refused || self.unopened
    }

    /// The summary line, for people.
    fn summary(&self, path: &Path) -> String {
        let c = self.counts;
        let mut text = format!(
            "{}: {} rows: {} added, {} upgraded, {} already here",
            path.display(),
            self.rows,
            c.added,
            c.upgraded,
            c.duplicates
        );
        match self.bad_lines {
            0 => {}
            1 => text += "; 1 bad line",
            n => text += &format!("; {n} bad lines"),
        }
        if let Some(line) = self.stopped_at {
            text += &format!("; not read from line {line} on");
        }
        if self.refused {
            text += "; nothing imported from it";
        }
        text
    }
}

/// Imports into `store`, opened as an ingest opens it (its aggregates split at the price
/// table's tiers), so a report read from an imported ledger has nothing to learn.
pub fn import(mut store: Store, args: &ImportArgs, quiet: bool) -> Result<ExitCode> {
    let max_line = crate::cli::max_line(args.max_line_mib);
    let mut failed = false;
    for path in &args.files {
        let done = import_file(&mut store, path, args.atomic, max_line)?;
        // Rows committed so far are merged into the aggregates even if a later file fails.
        store.merge_pending()?;
        failed |= done.failed();
        if !quiet && !done.unopened {
            eprintln!("cco-stats: {}", Shown(done.summary(name(path))));
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `-` names stdin.
fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// How messages name a file: stdin as `stdin`.
fn name(path: &Path) -> &Path {
    match is_stdin(path) {
        true => Path::new("stdin"),
        false => path,
    }
}

/// Imports one file, naming each line it cannot take on stderr as `file:line: reason`. A
/// file that cannot be read costs that file; only the ledger's errors stop the run.
fn import_file(
    store: &mut Store,
    path: &Path,
    atomic: bool,
    max_line: usize,
) -> Result<FileImport> {
    let mut done = FileImport::default();
    let source: Box<dyn io::Read> = match is_stdin(path) {
        true => Box::new(io::stdin().lock()),
        false => match File::open(path) {
            Ok(file) => Box::new(file),
            Err(e) => {
                eprintln!("cco-stats: cannot read {}: {e}", Shown(path.display()));
                done.unopened = true;
                return Ok(done);
            }
        },
    };
    let mut lines = ExportLines {
        path: name(path),
        reader: BufReader::with_capacity(1 << 16, source),
        line: Vec::new(),
        line_no: 0,
        max_line,
    };
    if atomic {
        import_atomic(store, &mut lines, &mut done)?;
    } else {
        import_chunked(store, &mut lines, &mut done)?;
    }
    Ok(done)
}

/// Commits each chunk as it is read: a bad line costs itself, and a line that ends the
/// file early keeps the rows before it.
fn import_chunked<R: BufRead>(
    store: &mut Store,
    lines: &mut ExportLines<'_, R>,
    done: &mut FileImport,
) -> Result<()> {
    let path = lines.path;
    let mut counts = Flushed::default();
    feed(lines, done, false, |rows| {
        let mut refused = Vec::new();
        let chunk = store
            .import_with(|sink| {
                refused = sink.add(rows)?;
                Ok(true)
            })
            .with_context(|| format!("cannot import {}", path.display()))?
            .expect("a fill that keeps its rows is committed");
        add_counts(&mut counts, chunk);
        Ok(refused)
    })?;
    done.counts = counts;
    Ok(())
}

/// One transaction for the whole file, fed a chunk at a time (never the whole file in
/// memory), and rolled back at its first bad line.
fn import_atomic<R: BufRead>(
    store: &mut Store,
    lines: &mut ExportLines<'_, R>,
    done: &mut FileImport,
) -> Result<()> {
    let path = lines.path;
    let committed = store
        .import_with(|sink| feed(lines, done, true, |rows| sink.add(rows)))
        .with_context(|| format!("cannot import {}", path.display()))?;
    match committed {
        Some(counts) => done.counts = counts,
        None => {
            done.rows = 0;
            done.refused = true;
        }
    }
    Ok(())
}

/// Reads `lines` to their end, or to a line that ends the file early, handing `take`
/// every chunk of rows (counted in `done`); the rows it refuses (by their place in the
/// chunk, and why) are bad lines. With `stop_at_bad`, the first bad line ends the
/// reading, unread chunk and all. Whether every line was read well.
fn feed<R: BufRead>(
    lines: &mut ExportLines<'_, R>,
    done: &mut FileImport,
    stop_at_bad: bool,
    mut take: impl FnMut(&[Row]) -> Result<Vec<(usize, String)>>,
) -> Result<bool> {
    let mut chunk = Chunk::default();
    loop {
        let end = match lines.next() {
            Next::Row(row) => {
                chunk.push(*row, lines.line_no, lines.line.len());
                false
            }
            Next::Blank => false,
            Next::Bad => {
                done.bad_lines += 1;
                false
            }
            Next::Stop => {
                done.stopped_at = Some(lines.line_no);
                true
            }
            Next::End => true,
        };
        let well = !done.failed();
        if stop_at_bad && !well {
            return Ok(false);
        }
        if chunk.full() || (end && !chunk.rows.is_empty()) {
            let (rows, line_nos) = chunk.take();
            for (at, reason) in take(&rows)? {
                name_line(lines.path, line_nos[at], &reason);
                done.bad_lines += 1;
            }
            done.rows += rows.len() as u64;
        }
        if end {
            return Ok(!done.failed());
        }
    }
}

fn add_counts(sum: &mut Flushed, more: Flushed) {
    sum.added += more.added;
    sum.upgraded += more.upgraded;
    sum.duplicates += more.duplicates;
    sum.refused += more.refused;
}

/// The rows read and not yet handed to the ledger.
#[derive(Default)]
struct Chunk {
    rows: Vec<Row>,
    /// Each row's line, to name one the ledger refuses.
    line_nos: Vec<u64>,
    bytes: usize,
}

impl Chunk {
    fn push(&mut self, row: Row, line_no: u64, line_len: usize) {
        self.rows.push(row);
        self.line_nos.push(line_no);
        self.bytes += line_len;
    }

    fn full(&self) -> bool {
        self.rows.len() >= IMPORT_CHUNK || self.bytes >= IMPORT_CHUNK_BYTES
    }

    /// The rows and their lines, leaving the chunk empty.
    fn take(&mut self) -> (Vec<Row>, Vec<u64>) {
        self.bytes = 0;
        (
            std::mem::take(&mut self.rows),
            std::mem::take(&mut self.line_nos),
        )
    }
}

/// What the next line of an export gave.
enum Next {
    /// Boxed, so that the kinds without a row stay small.
    Row(Box<Row>),
    /// A line that is no row this cco-stats reads, named on stderr.
    Bad,
    /// The rest of the file cannot be read (a line over the limit, a read error), named
    /// on stderr.
    Stop,
    Blank,
    End,
}

/// Names a line of `path` that could not be taken, on stderr: `file:line: reason`.
fn name_line(path: &Path, line_no: u64, reason: &str) {
    eprintln!(
        "cco-stats: {}:{line_no}: {}",
        Shown(path.display()),
        Shown(reason)
    );
}

/// An export read a line at a time, no line buffered past `max_line` bytes: a file of
/// any size (`/dev/zero`, a FIFO) costs at most one line of memory.
struct ExportLines<'p, R> {
    path: &'p Path,
    reader: R,
    line: Vec<u8>,
    /// The line last read, from 1.
    line_no: u64,
    max_line: usize,
}

impl<R: BufRead> ExportLines<'_, R> {
    fn next(&mut self) -> Next {
        let read = match self.read_line() {
            Ok(Some(read)) => read,
            Ok(None) => return Next::End,
            Err(e) => {
                self.name(&format!("cannot read: {e}"));
                return Next::Stop;
            }
        };
        if !read {
            self.name(&format!(
                "line longer than {} (--max-line-mib): the rest of the file is not read",
                crate::ingest::human_bytes(self.max_line as u64)
            ));
            return Next::Stop;
        }
        let text = self.line.trim_ascii();
        if text.is_empty() {
            return Next::Blank;
        }
        match export::parse(text) {
            Ok(row) => Next::Row(Box::new(row)),
            Err(Unreadable::Malformed(reason)) => {
                self.name(&reason);
                Next::Bad
            }
            Err(Unreadable::Future(v)) => {
                self.name(&format!(
                    "written by a newer cco-stats (row version {v}; this one reads up to {ROW_VERSION}): upgrade cco-stats to import it"
                ));
                Next::Bad
            }
        }
    }

    fn name(&self, reason: &str) {
        name_line(self.path, self.line_no, reason);
    }

    /// Reads the next line into `self.line`, without its `\n`: `Some(true)`, or
    /// `Some(false)` for a line longer than `max_line`, of which no more than that is
    /// read; `None` at the end of the file.
    fn read_line(&mut self) -> io::Result<Option<bool>> {
        self.line.clear();
        self.line_no += 1;
        let mut started = false;
        loop {
            let buf = match self.reader.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                return Ok(started.then_some(true));
            }
            started = true;
            let (len, newline) = match memchr::memchr(b'\n', buf) {
                Some(at) => (at, true),
                None => (buf.len(), false),
            };
            if self.line.len() + len > self.max_line {
                return Ok(Some(false));
            }
            self.line.extend_from_slice(&buf[..len]);
            self.reader.consume(len + usize::from(newline));
            if newline {
                return Ok(Some(true));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `read_line` gives for each line of `text`, with a limit of `max` bytes.
    fn read_all(text: &[u8], max: usize) -> Vec<Option<Vec<u8>>> {
        let mut lines = ExportLines {
            path: Path::new("t"),
            reader: BufReader::with_capacity(4, text),
            line: Vec::new(),
            line_no: 0,
            max_line: max,
        };
        let mut got = Vec::new();
        while let Some(whole) = lines.read_line().unwrap() {
            got.push(whole.then(|| lines.line.clone()));
            if !whole {
                break;
            }
        }
        got
    }

    #[test]
    fn lines_are_read_up_to_the_limit_and_no_further() {
        let some = |s: &str| Some(s.as_bytes().to_vec());
        // At the limit a line is whole; the last needs no newline.
        assert_eq!(
            read_all(b"12345\n\nabc", 5),
            [some("12345"), some(""), some("abc")]
        );
        // One byte over, across reads, ends the reading there.
        assert_eq!(read_all(b"ab\n123456\nnext\n", 5), [some("ab"), None]);
        assert_eq!(read_all(b"", 5), []);
    }

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
