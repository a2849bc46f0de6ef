//! One ingest pass, and the loop that repeats it (`once` and `watch`).
//!
//! A pass walks the data roots, skips every file whose size, mtime and inode are what the
//! ledger last saw (one `stat` each), and tails the others from their cursor: a file that
//! shrank, changed inode, or changed its first bytes or the bytes just before the cursor
//! is read again from 0 (the dedup rules keep totals exact). Rows and cursor moves wait in a `Batch` and are flushed at
//! `batch_size` rows, after `flush_interval`, at the end of the pass, and when asked to
//! stop. A pass that starts `CATCH_UP_BYTES` or more behind (a first ingest, a return
//! after weeks away) flushes at `BULK_BATCH_ROWS` rows instead: a transaction's fixed
//! costs (its reads of the watermarks, the commit's WAL frames, each page written once
//! rather than once per flush) are paid ten times less often, and a kill still loses
//! only what was not committed, since rows and cursors commit together at any size. A transcript that cannot be read is a warning; only the database failing is an
//! error. `changes` decides what `watch` and `live` read between full passes: the files
//! the OS says changed (`Ingestor::pass_paths`), or the ones a poll found changed.

pub mod changes;
pub mod database;
pub mod discover;
pub mod tail;

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use log::debug;
use serde::Serialize;

use crate::ingest::discover::Transcript;
use crate::ledger::batch::{Batch, Cursor, Cursors, FileInfo, SkippedLine};
use crate::ledger::{LAST_FULL_PASS, Store};
use crate::model::Parsed;
use crate::model::{Head, Identity};
use crate::sources::{self, Folder, LineParser, Shape};

/// How a pass batches its writes and bounds its memory.
#[derive(Clone, Debug)]
pub struct Options {
    pub batch_size: usize,
    pub flush_interval: Duration,
    /// Lines longer than this are skipped while streaming, never buffered whole.
    pub max_line: usize,
}

pub const DEFAULT_BATCH_SIZE: u64 = 100;

/// A pass this many bytes behind is catching up, and flushes in bulk.
const CATCH_UP_BYTES: u64 = 32 << 20;

/// The rows a catching-up pass flushes at (unless `batch_size` is larger). Past a
/// thousand a flush's cost is its rows' (8 µs each), not its own; and a kill of a first
/// ingest still finds flushes to land between.
const BULK_BATCH_ROWS: usize = 1_000;
pub const DEFAULT_FLUSH_INTERVAL: &str = "30s";
pub const DEFAULT_MAX_LINE_MIB: u64 = 64;

impl Default for Options {
    fn default() -> Options {
        Options {
            batch_size: DEFAULT_BATCH_SIZE as usize,
            flush_interval: Duration::from_secs(30),
            max_line: (DEFAULT_MAX_LINE_MIB as usize) << 20,
        }
    }
}

/// What one pass did: the `once` summary, and `status`'s "last ingest".
#[derive(Debug, Default, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct PassStats {
    pub files_seen: u64,
    pub files_changed: u64,
    pub files_reset: u64,
    pub bytes_read: u64,
    pub lines_read: u64,
    pub rows_added: u64,
    pub rows_upgraded: u64,
    pub duplicates: u64,
    pub lines_skipped: u64,
    pub flushes: u64,
    pub warnings: u64,
    /// Transcripts (or folders of them) that could not be read: `once` exits 1.
    #[serde(default)]
    pub files_unreadable: u64,
    pub elapsed_ms: u64,
    pub finished_at: String,
    /// The process's peak resident memory so far (Linux), for watching it stay bounded.
    #[serde(default)]
    pub peak_rss_bytes: Option<u64>,
}

impl PassStats {
    pub fn summary(&self) -> String {
        format!(
            "{} files seen, {} changed{}; {} read in {} lines; {} rows added, {} upgraded; {} lines skipped; {} ms",
            self.files_seen,
            self.files_changed,
            match self.files_unreadable {
                0 => String::new(),
                n => format!(", {n} could not be read"),
            },
            human_bytes(self.bytes_read),
            self.lines_read,
            self.rows_added,
            self.rows_upgraded,
            self.lines_skipped,
            self.elapsed_ms
        )
    }
}

/// VmHWM of /proc/self/status: the peak resident set of this process.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A no-change full pass records its time at most this often, whichever process made the
/// last record: a `watch` every few seconds, or `once` from cron every minute, must not
/// turn into a write (and its fsyncs) every time.
const FULL_PASS_RECORD_EVERY_MS: i64 = 60_000;

/// Told how a pass advances, for a progress bar. `start` comes once the walk knows what
/// there is to read (the bytes new since each file's cursor, the files that changed),
/// `read` as lines are read (in steps of about a MiB), `finish` at the pass's end.
pub trait Progress {
    fn start(&mut self, files: u64, bytes: u64);
    fn read(&mut self, files_done: u64, bytes_done: u64);
    fn finish(&mut self);
}

/// Runs passes against one store, keeping what it learned between them.
pub struct Ingestor<'s> {
    store: &'s mut Store,
    options: Options,
    /// The cursors the database holds, as far as this process knows.
    committed: Cursors,
    batch: Batch,
    buf: Vec<u8>,
    stats: PassStats,
    /// When this process last recorded a full pass in `meta`.
    full_pass_recorded_ms: Option<i64>,
    progress: Option<Box<dyn Progress + 's>>,
    /// Bytes read when `progress` was last told.
    progress_told: u64,
    files_done: u64,
    /// This pass started `CATCH_UP_BYTES` or more behind: it flushes in bulk.
    catching_up: bool,
    /// Where this pass's time went, when the debug log is on (the bench prints it).
    spent: Option<Spent>,
}

/// Where a pass's time went: reading bytes (and finding lines), parsing them (the
/// sources' parsers), writing (flushes, and the merge at the pass's end).
#[derive(Clone, Copy, Debug, Default)]
struct Spent {
    read: Duration,
    parse: Duration,
    write: Duration,
}

impl<'s> Ingestor<'s> {
    pub fn new(store: &'s mut Store, options: Options) -> Ingestor<'s> {
        Ingestor {
            store,
            options,
            committed: Cursors::default(),
            batch: Batch::default(),
            buf: Vec::new(),
            stats: PassStats::default(),
            full_pass_recorded_ms: None,
            progress: None,
            progress_told: 0,
            files_done: 0,
            catching_up: false,
            spent: log::log_enabled!(log::Level::Debug).then(Spent::default),
        }
    }

    /// Reports each pass's progress to `progress` (a progress bar on a terminal).
    pub fn with_progress(mut self, progress: Box<dyn Progress + 's>) -> Ingestor<'s> {
        self.progress = Some(progress);
        self
    }

    fn begin(&mut self) {
        self.stats = PassStats::default();
        self.batch.clear();
        // Another process may have moved any cursor since our last pass: the cursors of
        // the files this pass reads are fetched when it reaches them.
        self.committed.clear();
        self.progress_told = 0;
        self.files_done = 0;
        self.catching_up = false;
        if let Some(spent) = self.spent.as_mut() {
            *spent = Spent::default();
        }
    }

    /// A pass over `transcripts` only (the status line's own session), walking nothing
    /// and writing no pass record: the rest of the ledger waits for a full pass. Like a
    /// full pass it fails with the database's error, at once if the store was opened
    /// without waiting and another process is writing.
    pub fn pass_files(
        &mut self,
        transcripts: &[Transcript],
        stop: &AtomicBool,
    ) -> Result<PassStats> {
        self.pass_files_and(transcripts, &[], stop)
    }

    /// `pass_files`, also reading `databases`.
    fn pass_files_and(
        &mut self,
        transcripts: &[Transcript],
        databases: &[database::Database],
        stop: &AtomicBool,
    ) -> Result<PassStats> {
        let started = Instant::now();
        self.begin();
        self.stats.files_seen = transcripts.len() as u64;
        self.read_changed(transcripts, |_| true, stop)?;
        self.read_databases(databases, stop)?;
        self.flush()?;
        self.store.merge_pending()?;
        self.stats.elapsed_ms = started.elapsed().as_millis() as u64;
        self.stats.finished_at = jiff::Timestamp::now().to_string();
        Ok(self.stats.clone())
    }

    /// Reads each of `transcripts` from its cursor (`has_cursor` says whether the file
    /// may have one), stopping at a database error.
    fn read_changed(
        &mut self,
        transcripts: &[Transcript],
        has_cursor: impl Fn(&Transcript) -> bool,
        stop: &AtomicBool,
    ) -> Result<()> {
        for transcript in transcripts {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            if let Err(e) = self.ingest_file(transcript, has_cursor(transcript), stop) {
                match e {
                    // Gone since the walk saw it: nothing to read, nothing lost.
                    FileError::Io(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    FileError::Io(e) => {
                        self.stats.warnings += 1;
                        self.stats.files_unreadable += 1;
                        log::warn!("{}: {e}", transcript.path.display());
                    }
                    FileError::Store(e) => return Err(e),
                }
            }
            self.files_done += 1;
            self.tell_progress(true);
        }
        Ok(())
    }

    fn tell_progress(&mut self, file_done: bool) {
        if let Some(progress) = self.progress.as_mut()
            && (file_done || self.stats.bytes_read - self.progress_told >= 1 << 20)
        {
            self.progress_told = self.stats.bytes_read;
            progress.read(self.files_done, self.stats.bytes_read);
        }
    }

    /// One pass over every transcript in `folders`. `stop` ends it early (after a flush).
    pub fn pass(&mut self, folders: &[Folder], stop: &AtomicBool) -> Result<PassStats> {
        self.pass_tracking(folders, stop, None)
            .map(|(stats, _)| stats)
    }

    /// Reads the transcripts at `paths` (the files a watcher or a poll saw change) from
    /// their cursors, walking nothing. Unlike `pass_files` (the status line's) it records
    /// a pass that read something as `status`'s last ingest.
    pub fn pass_paths(
        &mut self,
        folders: &[Folder],
        paths: &[PathBuf],
        stop: &AtomicBool,
    ) -> Result<PassStats> {
        let transcripts = discover::transcripts_at(folders, paths.iter().map(PathBuf::as_path));
        let databases = database::databases_at(folders, paths.iter().map(PathBuf::as_path));
        let stats = self.pass_files_and(&transcripts, &databases, stop)?;
        if stats.files_changed > 0 {
            self.store
                .set_meta("last_ingest", &serde_json::to_string(&stats)?)?;
        }
        Ok(stats)
    }

    /// Writes one `meta` entry (what `watch` records of itself for `status`).
    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.store.set_meta(key, value)
    }

    /// `pass`, also returning what `track` asks the walk to note (see `discover::Track`).
    pub fn pass_tracking(
        &mut self,
        folders: &[Folder],
        stop: &AtomicBool,
        track: Option<discover::Track>,
    ) -> Result<(PassStats, discover::Found)> {
        let started = Instant::now();
        self.begin();
        let identities = self.store.identities()?;
        debug!(
            "Loaded {} cursors in {:.3} ms",
            identities.len(),
            started.elapsed().as_secs_f64() * 1e3
        );
        let cache = self.store.dir_cache()?;
        debug!(
            "Loaded {} directory listings in {:.3} ms",
            cache.dirs.len(),
            started.elapsed().as_secs_f64() * 1e3
        );
        let mut found = discover::find_tracking(
            folders,
            &cache,
            |path, identity| identities.get(path.as_os_str()) != Some(identity),
            track,
        );
        debug!(
            "Found {} transcripts, {} changed, in {:.3} ms",
            found.seen,
            found.transcripts.len(),
            started.elapsed().as_secs_f64() * 1e3
        );
        for warning in &found.warnings {
            log::warn!("{warning}");
        }
        self.stats.warnings = found.warnings.len() as u64;
        self.stats.files_unreadable = found.unreadable;
        self.stats.files_seen = found.seen;
        // What each changed file gained since its cursor saw it (all of a new one).
        let behind: u64 = found
            .transcripts
            .iter()
            .map(|t| {
                let seen = identities.get(t.path.as_os_str()).map_or(0, |i| i.size);
                t.identity.size.checked_sub(seen).unwrap_or(t.identity.size)
            })
            .sum();
        self.catching_up = behind >= CATCH_UP_BYTES;
        if let Some(progress) = self.progress.as_mut() {
            progress.start(found.transcripts.len() as u64, behind);
        }
        let transcripts = std::mem::take(&mut found.transcripts);
        let read = self
            .read_changed(
                &transcripts,
                |t| identities.contains_key(t.path.as_os_str()),
                stop,
            )
            .and_then(|()| self.read_databases(&database::databases_in(folders), stop))
            .and_then(|()| self.read_documents(folders, &identities, stop));
        if let Some(progress) = self.progress.as_mut() {
            progress.finish();
        }
        read?;
        self.flush()?;
        let merging = Instant::now();
        self.store.merge_pending()?;
        debug!(
            "Merged the pass's rows into the dedup index and aggregates in {:.1} ms",
            merging.elapsed().as_secs_f64() * 1e3
        );
        if let Some(spent) = self.spent.as_mut() {
            spent.write += merging.elapsed();
            debug!(
                "Time spent: read {:.1} ms, parse {:.1} ms, write {:.1} ms",
                spent.read.as_secs_f64() * 1e3,
                spent.parse.as_secs_f64() * 1e3,
                spent.write.as_secs_f64() * 1e3
            );
        }
        self.store.save_listings(&found.listed)?;
        self.stats.elapsed_ms = started.elapsed().as_millis() as u64;
        self.stats.finished_at = jiff::Timestamp::now().to_string();
        self.stats.peak_rss_bytes = peak_rss();
        // A pass that read nothing writes nothing but, now and then, that it ran: a
        // no-change run must stay a few stats.
        if self.stats.files_changed > 0 {
            self.store
                .set_meta("last_ingest", &serde_json::to_string(&self.stats)?)?;
        }
        let now_ms = jiff::Timestamp::now().as_millisecond();
        if self.full_pass_recorded_ms.is_none() {
            // Recorded by an earlier process (the last cron run): a read, not a write.
            self.full_pass_recorded_ms = self
                .store
                .meta(LAST_FULL_PASS)?
                .and_then(|ms| ms.parse().ok());
        }
        if self.stats.files_changed > 0
            || self
                .full_pass_recorded_ms
                .is_none_or(|at| now_ms - at >= FULL_PASS_RECORD_EVERY_MS)
        {
            self.store.set_meta(LAST_FULL_PASS, &now_ms.to_string())?;
            self.full_pass_recorded_ms = Some(now_ms);
        }
        found.transcripts = transcripts;
        Ok((self.stats.clone(), found))
    }

    /// Reads what `transcript` gained since its cursor; `has_cursor` says whether it had
    /// one when the pass began (a file that had none needs no query).
    fn ingest_file(
        &mut self,
        transcript: &Transcript,
        has_cursor: bool,
        stop: &AtomicBool,
    ) -> Result<(), FileError> {
        let Some((mut file, mut read)) = self.open_changed(transcript, has_cursor)? else {
            return Ok(());
        };
        if read.document {
            return self.read_document(&mut file, &mut read, transcript, stop);
        }
        let read_started = Instant::now();
        let inside = self.spent.map(|s| s.parse + s.write);
        let first_line = read.progress.lines;
        let mut buf = std::mem::take(&mut self.buf);
        let outcome = tail::read_lines(
            &mut file,
            read.progress.offset,
            self.options.max_line,
            &mut buf,
            |line| self.take_line(&mut read, line, stop),
        );
        self.buf = buf;
        match outcome? {
            tail::Stop::Eof => {
                // Read to the end: record the size and mtime as stat'ed, even if no whole
                // line was added, so the next pass over an unchanged file costs one stat.
                read.progress.identity = transcript.identity;
                self.seal(&mut read);
            }
            tail::Stop::Caller(Halt::Stopped) => {}
            tail::Stop::Caller(Halt::Failed(e)) => return Err(FileError::Store(e)),
        }
        if let (Some(spent), Some(inside)) = (self.spent.as_mut(), inside) {
            let parsed_and_written = spent.parse + spent.write - inside;
            spent.read += read_started.elapsed().saturating_sub(parsed_and_written);
        }
        debug!(
            "Incremental parse: {} new lines in {:.3} ms ({})",
            read.progress.lines - first_line,
            read_started.elapsed().as_secs_f64() * 1e3,
            read.info.path.display()
        );
        Ok(())
    }

    /// A document rewritten whole (`Shape::Rewritten`), read whole by its source's
    /// `DocumentParser`. Its records all have ids, so those read before are duplicates to
    /// the dedup rules and only what is new adds a row. The cursor stays at 0 until the last record is batched: a pass killed
    /// in between leaves the file changed to the next one, which reads it again.
    fn read_document(
        &mut self,
        file: &mut File,
        read: &mut FileRead,
        transcript: &Transcript,
        stop: &AtomicBool,
    ) -> Result<(), FileError> {
        let limit = self.options.max_line as u64;
        let mut bytes = Vec::new();
        file.seek(SeekFrom::Start(0))?;
        file.by_ref().take(limit + 1).read_to_end(&mut bytes)?;
        let documents = sources::of(transcript.agent).and_then(|s| s.documents());
        let records = match (bytes.len() as u64 > limit, documents) {
            (true, _) => vec![self.too_long()],
            (false, None) => vec![Parsed::Skipped("not a document its source reads".into())],
            (false, Some(documents)) => match documents.records(&transcript.path, &bytes) {
                Ok(records) => records
                    .into_iter()
                    .map(|r| Parsed::Billable(Box::new(r)))
                    .collect(),
                Err(e) => vec![Parsed::Skipped(format!("{e:#}"))],
            },
        };
        read.progress.lines = 1;
        self.stats.lines_read += 1;
        self.stats.bytes_read += bytes.len() as u64;
        for parsed in records {
            match self.take_parsed(read, parsed, 0, stop) {
                ControlFlow::Continue(()) => {}
                ControlFlow::Break(Halt::Stopped) => return Ok(()),
                ControlFlow::Break(Halt::Failed(e)) => return Err(FileError::Store(e)),
            }
        }
        read.progress.offset = bytes.len() as u64;
        read.progress.identity = transcript.identity;
        self.record_progress(read);
        Ok(())
    }

    /// The file opened where its new bytes start, or `None` when its cursor says it has
    /// none (same size, mtime and inode as when the cursor was committed).
    fn open_changed(
        &mut self,
        transcript: &Transcript,
        has_cursor: bool,
    ) -> Result<Option<(File, FileRead)>, FileError> {
        let identity = transcript.identity;
        let path = transcript.path.as_os_str();
        let committed = match has_cursor {
            true => self
                .store
                .cursor(&transcript.path)
                .map_err(FileError::Store)?,
            false => None,
        };
        match committed {
            Some(cursor) => self.committed.insert(path.to_os_string(), cursor),
            None => self.committed.remove(path),
        };
        if committed.is_some_and(|c| c.identity == identity) {
            return Ok(None);
        }
        let mut file = File::open(&transcript.path)?;
        let mut progress = start_cursor(&mut file, committed.as_ref(), identity)?;
        let document = sources::of(transcript.agent)
            .is_some_and(|s| s.shape_of(&transcript.path) == Shape::Rewritten);
        if document {
            // Read again whole: nothing of it is known until all of it is read.
            progress = Cursor {
                offset: 0,
                lines: 0,
                lines_skipped: 0,
                ..progress
            };
        }
        let parser = self.parser_at(transcript, &mut progress)?;
        self.stats.files_changed += 1;
        let reset = !document && committed.is_some_and(|c| c.offset > 0 && progress.offset == 0);
        if reset {
            self.stats.files_reset += 1;
            debug!(
                "{}: truncated or replaced, reading again from 0",
                transcript.path.display()
            );
        }
        // Until the read reaches the end, the cursor claims to have seen the file only up
        // to its offset: a flush in mid-file followed by a kill must not leave a cursor
        // that looks like "this file, unchanged, fully read".
        progress.identity.size = progress.offset;
        let (project, session_id) = transcript.names();
        let info = FileInfo {
            agent: transcript.agent,
            path: transcript.path.clone(),
            project,
            session_id,
        };
        let read = FileRead {
            info,
            file: file.try_clone()?,
            progress,
            segment: None,
            reset,
            document,
            parser,
        };
        Ok(Some((file, read)))
    }

    /// The parser of `transcript`'s source, with the state stored at the cursor when the
    /// read resumes there. A state that cannot be read back (damage) means reading the
    /// file again from 0: the dedup rules keep the totals exact.
    fn parser_at(
        &mut self,
        transcript: &Transcript,
        progress: &mut Cursor,
    ) -> Result<Box<dyn LineParser>, FileError> {
        let source = sources::of(transcript.agent).ok_or_else(|| {
            FileError::Io(std::io::Error::other(format!(
                "no source reads {} files",
                transcript.agent
            )))
        })?;
        let mut parser = source.parser();
        let stored = match (progress.offset, progress.id) {
            (0, _) | (_, None) => None,
            (_, Some(id)) => self.store.parser_state(id).map_err(FileError::Store)?,
        };
        if let Some(state) = stored
            && let Err(e) = parser.resume(&state)
        {
            log::warn!(
                "{}: {e:#}; reading it again from the start",
                transcript.path.display()
            );
            self.stats.warnings += 1;
            parser = source.parser();
            progress.offset = 0;
            progress.lines = 0;
            progress.lines_skipped = 0;
        }
        Ok(parser)
    }

    /// One line of a file: counted, parsed, batched; then a flush if one is due.
    fn take_line(
        &mut self,
        read: &mut FileRead,
        line: tail::Line<'_>,
        stop: &AtomicBool,
    ) -> ControlFlow<Halt> {
        read.progress.offset = line.end;
        read.progress.identity.size = line.end;
        // Fingerprinted only where a cursor may be committed (`seal`), not per line.
        read.progress.tail = None;
        read.progress.lines += 1;
        self.stats.lines_read += 1;
        self.stats.bytes_read += line.end - line.start;
        if self.progress.is_some() {
            self.tell_progress(false);
        }
        let parse_started = self.spent.map(|_| Instant::now());
        let parsed = match line.too_long {
            true => self.too_long(),
            false => read.parser.line(line.bytes),
        };
        if let (Some(spent), Some(started)) = (self.spent.as_mut(), parse_started) {
            spent.parse += started.elapsed();
        }
        self.take_parsed(read, parsed, line.start, stop)
    }

    fn too_long(&self) -> Parsed {
        Parsed::Skipped(format!(
            "line longer than {} (limit), not read",
            human_bytes(self.options.max_line as u64)
        ))
    }

    /// What one line (or one record of a document) turned out to be, starting at byte
    /// `start`: batched, or counted as skipped; then a flush if one is due.
    fn take_parsed(
        &mut self,
        read: &mut FileRead,
        parsed: Parsed,
        start: u64,
        stop: &AtomicBool,
    ) -> ControlFlow<Halt> {
        // Every source's records meet the same limits here, so none can forget them. A
        // line that holds several responses (`LineParser::take_more`) is drained whatever
        // became of its first.
        let first = crate::limits::admit(parsed);
        let more: Vec<Parsed> = read
            .parser
            .take_more()
            .into_iter()
            .map(|record| crate::limits::admit(Parsed::Billable(Box::new(record))))
            .collect();
        let skipped = std::iter::once(&first)
            .chain(&more)
            .filter(|p| matches!(p, Parsed::Skipped(_)))
            .count() as u64;
        read.progress.lines_skipped += skipped;
        self.stats.lines_skipped += skipped;
        let segment = self.record_progress(read);
        for parsed in std::iter::once(first).chain(more) {
            self.batch_parsed(read, segment, parsed, start);
        }
        if stop.load(Ordering::Relaxed) {
            // Asked to stop: what was read so far is flushed with the pass's end.
            self.seal(read);
            return ControlFlow::Break(Halt::Stopped);
        }
        if self.flush_due() {
            self.seal(read);
            read.segment = None;
            match self.flush() {
                // Another process owns this file now: leave it to it. (A conflict over
                // another file of the batch is no reason to stop this one.)
                Ok(conflicts) if conflicts.contains(&read.info.path) => {
                    return ControlFlow::Break(Halt::Stopped);
                }
                Ok(_) => {}
                Err(e) => return ControlFlow::Break(Halt::Failed(e)),
            }
        }
        ControlFlow::Continue(())
    }

    /// Puts one parsed response of the line at byte `start` into `segment` of the batch:
    /// a row, or a skipped line with its reason.
    fn batch_parsed(&mut self, read: &FileRead, segment: usize, parsed: Parsed, start: u64) {
        let line_no = read.progress.lines;
        match parsed {
            Parsed::Billable(record) => self.batch.push(segment, line_no, start, *record),
            Parsed::Skipped(reason) => {
                debug!("{}:{line_no}: skipped: {reason}", read.info.path.display());
                let skipped = SkippedLine {
                    line_no,
                    offset: start,
                    reason,
                };
                self.batch.skip(segment, skipped);
            }
            Parsed::Other => {}
        }
    }

    /// Moves this file's segment of the batch to its progress, opening the segment (from
    /// the committed cursor) if the batch has none yet: the path is hashed once per
    /// segment, not once per line.
    fn record_progress(&mut self, read: &mut FileRead) -> usize {
        let index = match read.segment {
            Some(index) => {
                self.batch.segments[index].next = read.progress;
                index
            }
            None => {
                let committed = self.committed.get(read.info.path.as_os_str());
                let index = self.batch.advance(&read.info, committed, read.progress);
                if std::mem::take(&mut read.reset) {
                    self.batch.mark_reset(index);
                }
                read.segment = Some(index);
                index
            }
        };
        // The parser's state and what it noted go with the cursor they belong to.
        let segment = &mut self.batch.segments[index];
        if let Some(state) = read.parser.take_state() {
            segment.state = Some(state);
        }
        segment.limits.extend(read.parser.take_limits());
        index
    }

    /// Fingerprints the bytes before `read`'s cursor into its segment: every cursor a
    /// flush commits is sealed first, so the next pass can tell a file rewritten since
    /// from one that grew. A file that cannot be read there commits no fingerprint, and
    /// is resumed as cursors without one always were.
    fn seal(&mut self, read: &mut FileRead) {
        read.progress.tail = tail::tail_hash(&read.file, read.progress.offset).ok();
        self.record_progress(read);
    }

    fn flush_due(&self) -> bool {
        let rows = match self.catching_up {
            true => self.options.batch_size.max(BULK_BATCH_ROWS),
            false => self.options.batch_size,
        };
        self.batch.rows.len() >= rows
            || self
                .batch
                .opened()
                .is_some_and(|t| t.elapsed() >= self.options.flush_interval)
    }

    /// Commits the batch; returns the files of it that another process had moved on (their
    /// rows were left out, and the other process reads them).
    pub fn flush(&mut self) -> Result<Vec<PathBuf>> {
        if self.batch.is_empty() {
            return Ok(Vec::new());
        }
        let started = Instant::now();
        let rows = self.batch.rows.len();
        let outcome = self.store.flush(&self.batch);
        self.batch.clear();
        let outcome = outcome?;
        debug!(
            "Batch insert of {rows} records took {:.3} ms",
            started.elapsed().as_secs_f64() * 1e3
        );
        self.stats.flushes += 1;
        if let Some(spent) = self.spent.as_mut() {
            spent.write += started.elapsed();
        }
        self.stats.rows_added += outcome.counts.added;
        self.stats.rows_upgraded += outcome.counts.upgraded;
        self.stats.duplicates += outcome.counts.duplicates;
        self.stats.lines_skipped += outcome.counts.refused;
        for (path, cursor) in outcome.committed {
            self.committed.insert(path.into_os_string(), cursor);
        }
        for path in &outcome.conflicts {
            debug!(
                "{}: another process moved its cursor; left to it",
                path.display()
            );
            match self.store.cursor(path)? {
                Some(cursor) => self.committed.insert(path.clone().into_os_string(), cursor),
                None => self.committed.remove(path.as_os_str()),
            };
        }
        Ok(outcome.conflicts)
    }
}

/// One file being read: where it is, and its segment in the batch until a flush empties
/// the batch.
struct FileRead {
    info: FileInfo,
    /// The file, for `seal`'s reads beside the tailer's.
    file: File,
    progress: Cursor,
    segment: Option<usize>,
    /// The file was truncated or replaced: its segment, once opened, says so.
    reset: bool,
    /// A document rewritten whole (`Shape::Rewritten`), read whole.
    document: bool,
    /// Its source's parser, at `progress`.
    parser: Box<dyn LineParser>,
}

/// Why a file's read stopped before its end.
enum Halt {
    /// Asked to stop, or another process took the file over.
    Stopped,
    /// A flush failed: the pass ends with this error.
    Failed(anyhow::Error),
}

enum FileError {
    Io(std::io::Error),
    Store(anyhow::Error),
}

impl From<std::io::Error> for FileError {
    fn from(e: std::io::Error) -> Self {
        FileError::Io(e)
    }
}

/// Where reading of a changed file starts: at its cursor if the file only grew, at 0 if it
/// is new, shrank, or is another file now (inode or head fingerprint changed).
fn start_cursor(
    file: &mut File,
    committed: Option<&Cursor>,
    identity: Identity,
) -> std::io::Result<Cursor> {
    let fresh = |head: Head| Cursor {
        id: committed.and_then(|c| c.id),
        identity,
        head,
        tail: None,
        offset: 0,
        lines: 0,
        lines_skipped: 0,
    };
    let bytes = tail::read_head(file)?;
    let head = Head::of(&bytes);
    let Some(c) = committed else {
        return Ok(fresh(head));
    };
    let same_file = c.identity.dev == identity.dev && c.identity.inode == identity.inode;
    let same_head = bytes
        .get(..c.head.len as usize)
        .is_some_and(|old| Head::of(old) == c.head);
    if !same_file || !same_head || identity.size < c.offset || !same_tail(file, c)? {
        return Ok(fresh(head));
    }
    Ok(Cursor {
        identity,
        head,
        ..*c
    })
}

/// Whether the bytes before `c`'s offset are still those it fingerprinted (or it has no
/// fingerprint): a file truncated and written longer again fails here though its size and
/// first bytes pass. A file cut shorter since its stat is no longer the same either.
fn same_tail(file: &File, c: &Cursor) -> std::io::Result<bool> {
    let Some(hash) = c.tail else {
        return Ok(true);
    };
    match tail::tail_hash(file, c.offset) {
        Ok(now) => Ok(now == hash),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::MetadataExt;

    fn start_of(path: &std::path::Path, committed: Option<&Cursor>) -> Cursor {
        let mut file = File::open(path).unwrap();
        let meta = file.metadata().unwrap();
        let identity = Identity {
            dev: meta.dev(),
            inode: meta.ino(),
            size: meta.size(),
            mtime_ns: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
        };
        start_cursor(&mut file, committed, identity).unwrap()
    }

    #[test]
    fn start_cursor_resumes_growth_and_resets_rewrites() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        std::fs::write(&path, b"{\"a\":1}\n").unwrap();
        let first = start_of(&path, None);
        assert_eq!(first.offset, 0);
        let committed = Cursor {
            offset: 8,
            lines: 1,
            ..first
        };

        // Grown: resume at the cursor.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"b\":2}\n")
            .unwrap();
        let grown = start_of(&path, Some(&committed));
        assert_eq!((grown.offset, grown.lines), (8, 1));

        // Rewritten in place with other content of a larger size: read from 0.
        std::fs::write(&path, b"{\"c\":3}\n{\"d\":4}\n{\"e\":5}\n").unwrap();
        let rewritten = start_of(&path, Some(&committed));
        assert_eq!(rewritten.offset, 0);

        // Truncated: read from 0.
        std::fs::write(&path, b"{").unwrap();
        let cut = start_of(&path, Some(&committed));
        assert_eq!(cut.offset, 0);
    }

    /// The head fingerprint covers the first 4 KiB only: a file truncated and written
    /// longer with the same first 4 KiB is told apart by the bytes before the cursor.
    #[test]
    fn start_cursor_resets_a_rewrite_with_the_same_head() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        let head = format!("{{\"x\":\"{}\"}}\n", "a".repeat(5000));
        std::fs::write(&path, format!("{head}{{\"b\":1}}\n")).unwrap();
        let offset = std::fs::metadata(&path).unwrap().len();
        let sealed =
            |path: &std::path::Path| tail::tail_hash(&File::open(path).unwrap(), offset).unwrap();
        let committed = Cursor {
            offset,
            lines: 2,
            tail: Some(sealed(&path)),
            ..start_of(&path, None)
        };
        // Grown: the bytes before the cursor are unchanged, so it resumes.
        let grown = format!("{head}{{\"b\":1}}\n{{\"c\":2}}\n");
        std::fs::write(&path, &grown).unwrap();
        assert_eq!(start_of(&path, Some(&committed)).offset, offset);
        // Rewritten longer, same head, other bytes before the cursor: read from 0.
        std::fs::write(&path, format!("{head}{{\"d\":333}}\n{{\"e\":4}}\n")).unwrap();
        assert_eq!(start_of(&path, Some(&committed)).offset, 0);
        // A cursor from before fingerprints (no tail) resumes as it always did.
        let old = Cursor {
            tail: None,
            ..committed
        };
        assert_eq!(start_of(&path, Some(&old)).offset, offset);
    }

    #[test]
    fn human_bytes_reads_well() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 * 1024 * 1024 * 1024), "3.0 GiB");
    }
}
