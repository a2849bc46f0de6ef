//! The ledger's write request: pending writes, grouped in memory until one transaction
//! commits them. The ingest builds it; `Store::flush` takes it.
//!
//! A batch holds the rows read since the last flush AND, per file, how far the reading got
//! (a `Segment`: the cursor the database held when the segment was opened, and the cursor
//! after the last line read). The two are committed together or not at all, which is what
//! makes ingest exactly-once: a row is in the ledger if and only if the cursor is past it.
//!
//! Split responses (one line per content block, same `message.id` and `requestId`) are
//! collapsed here, within one file, with the same rule the ledger applies: the copy that
//! carries a `stop_reason` wins, then the larger token total. That keeps the flush from
//! touching the database once per block.

use std::path::PathBuf;
use std::time::Instant;

use crate::model::Record;
use crate::model::{Head, Identity};

/// Committed cursors, keyed by the path's bytes.
pub type Cursors = foldhash::HashMap<std::ffi::OsString, Cursor>;

/// Every file's identity as its cursor last saw it, keyed by the path's bytes. A
/// no-change pass looks up every transcript here: hashing bytes with foldhash costs a
/// fraction of hashing a `Path` (component by component) with SipHash; the keys are our
/// own paths, not an attacker's.
pub type Identities = foldhash::HashMap<std::ffi::OsString, Identity>;

/// Where reading of one file stands, as stored in the `files` table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    /// The `files` row, once the file has been committed.
    pub id: Option<i64>,
    pub identity: Identity,
    pub head: Head,
    /// The fingerprint of the bytes just before `offset` (`tail::tail_hash`), `None` where
    /// not known: a file whose bytes there changed was rewritten, and is read from 0.
    pub tail: Option<u64>,
    pub offset: u64,
    pub lines: u64,
    pub lines_skipped: u64,
}

/// The names a file's rows are filed under.
#[derive(Clone, Debug)]
pub struct FileInfo {
    pub agent: crate::model::Agent,
    pub path: PathBuf,
    pub project: String,
    pub session_id: String,
}

/// A line that could not be read: kept (the first few per file) for `status`.
#[derive(Clone, Debug)]
pub struct SkippedLine {
    pub line_no: u64,
    pub offset: u64,
    pub reason: String,
}

/// Progress through one file since the last flush.
#[derive(Debug)]
pub struct Segment {
    pub file: FileInfo,
    /// The cursor the database held when this segment opened (`None`: no row yet). A flush
    /// applies the segment only if the database still holds exactly this.
    pub base: Option<Cursor>,
    /// The cursor after the last line read.
    pub next: Cursor,
    /// The file is being read again from 0 (truncated or replaced): rows that the dedup
    /// rules cannot recognise again (no `message.id`) must go before they are re-added.
    pub reset: bool,
    pub skipped: Vec<SkippedLine>,
    /// The source's parser state at `next`, where it changed since `base` (`None`: as
    /// stored). Committed with `next`.
    pub state: Option<String>,
    /// Rate-limit windows the lines read reported.
    pub limits: Vec<crate::model::RateLimit>,
}

#[derive(Debug)]
pub struct PendingRow {
    pub segment: usize,
    /// The line the record was read from, and its byte offset: where a row the ledger
    /// refuses is named (`file:line: reason`).
    pub line_no: u64,
    pub offset: u64,
    pub record: Record,
}

#[derive(Debug, Default)]
pub struct Batch {
    pub segments: Vec<Segment>,
    pub rows: Vec<PendingRow>,
    segment_of: foldhash::HashMap<PathBuf, usize>,
    /// (segment, message.id, requestId) → index in `rows`.
    row_of: foldhash::HashMap<(usize, String, Option<String>), usize>,
    opened: Option<Instant>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// When the oldest pending row or segment was added.
    pub fn opened(&self) -> Option<Instant> {
        self.opened
    }

    /// Records that reading `file` reached `next`. `committed` is the cursor the database
    /// holds for it as far as this process knows; it becomes the segment's base.
    pub fn advance(&mut self, file: &FileInfo, committed: Option<&Cursor>, next: Cursor) -> usize {
        if let Some(&index) = self.segment_of.get(&file.path) {
            self.segments[index].next = next;
            return index;
        }
        self.opened.get_or_insert_with(Instant::now);
        let index = self.segments.len();
        self.segments.push(Segment {
            file: file.clone(),
            base: committed.copied(),
            next,
            reset: false,
            skipped: Vec::new(),
            state: None,
            limits: Vec::new(),
        });
        self.segment_of.insert(file.path.clone(), index);
        index
    }

    pub fn mark_reset(&mut self, segment: usize) {
        self.segments[segment].reset = true;
    }

    pub fn skip(&mut self, segment: usize, line: SkippedLine) {
        self.segments[segment].skipped.push(line);
    }

    /// Adds a billable record read from `segment`, at line `line_no` (byte `offset`).
    pub fn push(&mut self, segment: usize, line_no: u64, offset: u64, record: Record) {
        if let Some(message_id) = &record.message_id {
            let key = (segment, message_id.clone(), record.request_id.clone());
            if let Some(&at) = self.row_of.get(&key) {
                let kept = &mut self.rows[at];
                if outranks(&record, &kept.record) {
                    *kept = PendingRow {
                        segment,
                        line_no,
                        offset,
                        record,
                    };
                }
                return;
            }
            self.row_of.insert(key, self.rows.len());
        }
        self.rows.push(PendingRow {
            segment,
            line_no,
            offset,
            record,
        });
    }

    pub fn clear(&mut self) {
        self.segments.clear();
        self.rows.clear();
        self.segment_of.clear();
        self.row_of.clear();
        self.opened = None;
    }
}

/// Rule 3 for two copies of one response: the copy that carries a `stop_reason` (the
/// response's final line) wins; then the larger token total; on a tie the copy with the
/// higher `costUSD` (having one beats having none), then the one that has `speed`.
/// Copies equal on all four are the same response: the one kept first stays (so
/// `false`), and nothing a report shows depends on which was read first.
///
/// The `stop_reason` comes first because real transcripts disagree with "the largest is
/// the last": behind a third-party relay a response's preliminary line can count more
/// (input 18,988, output 1) than its final one (18,579 and 118, `stop_reason: tool_use`),
/// which is the one the API billed. `transcripts.md` states the rule without it.
pub fn outranks(new: &Record, kept: &Record) -> bool {
    Rank::of(new) > Rank::of(kept)
}

/// How rule 3 orders copies of one response (see `outranks`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rank {
    pub stopped: bool,
    pub total: u64,
    pub cost_usd: Option<f64>,
    pub has_speed: bool,
}

impl Rank {
    pub fn of(record: &Record) -> Rank {
        Rank {
            stopped: record.stopped,
            total: record.tokens.total(),
            cost_usd: record.cost_usd,
            has_speed: record.speed.is_some(),
        }
    }
}

impl PartialOrd for Rank {
    fn partial_cmp(&self, other: &Rank) -> Option<std::cmp::Ordering> {
        // None sorts before every cost; total_cmp orders every f64, NaN included.
        let cost = |rank: &Rank| rank.cost_usd.map(OrderedCost);
        Some(
            self.stopped
                .cmp(&other.stopped)
                .then(self.total.cmp(&other.total))
                .then_with(|| cost(self).cmp(&cost(other)))
                .then(self.has_speed.cmp(&other.has_speed)),
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct OrderedCost(f64);

impl Eq for OrderedCost {}

impl PartialOrd for OrderedCost {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for OrderedCost {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, output: u64) -> Record {
        Record {
            model: Some("m".into()),
            ..Record::for_test(id, Some("r"), output)
        }
    }

    fn cursor(offset: u64) -> Cursor {
        Cursor {
            id: None,
            identity: Identity {
                dev: 1,
                inode: 2,
                size: offset,
                mtime_ns: 0,
            },
            head: Head::default(),
            tail: None,
            offset,
            lines: 0,
            lines_skipped: 0,
        }
    }

    fn file(name: &str) -> FileInfo {
        FileInfo {
            agent: Default::default(),
            path: name.into(),
            project: "p".into(),
            session_id: "s".into(),
        }
    }

    #[test]
    fn split_response_collapses_to_the_largest_copy() {
        let mut batch = Batch::default();
        let seg = batch.advance(&file("a"), None, cursor(10));
        batch.push(seg, 0, 0, record("m1", 5));
        batch.push(seg, 0, 0, record("m1", 50));
        batch.push(seg, 0, 0, record("m1", 20));
        assert_eq!(batch.rows.len(), 1);
        assert_eq!(batch.rows[0].record.tokens.output, 50);
    }

    /// Blocks of two responses interleaved (two subagents echoed in one file): each
    /// copy finds its own response.
    #[test]
    fn interleaved_responses_collapse_each_to_its_largest_copy() {
        let mut batch = Batch::default();
        let seg = batch.advance(&file("a"), None, cursor(10));
        for (id, output) in [("m1", 5), ("m2", 7), ("m1", 50), ("m2", 3), ("m1", 20)] {
            batch.push(seg, 0, 0, record(id, output));
        }
        let kept: Vec<(Option<&str>, u64)> = batch
            .rows
            .iter()
            .map(|r| (r.record.message_id.as_deref(), r.record.tokens.output))
            .collect();
        assert_eq!(kept, vec![(Some("m1"), 50), (Some("m2"), 7)]);
    }

    #[test]
    fn tie_goes_to_speed_then_first() {
        let mut batch = Batch::default();
        let seg = batch.advance(&file("a"), None, cursor(10));
        let mut first = record("m1", 5);
        first.ts_ms = 1;
        batch.push(seg, 0, 0, first);
        let mut second = record("m1", 5);
        second.ts_ms = 2;
        batch.push(seg, 0, 0, second);
        assert_eq!(batch.rows[0].record.ts_ms, 1);
        let mut fast = record("m1", 5);
        fast.speed = Some("fast".into());
        batch.push(seg, 0, 0, fast);
        assert_eq!(batch.rows[0].record.speed.as_deref(), Some("fast"));
    }

    #[test]
    fn the_copy_with_a_stop_reason_beats_a_larger_one() {
        let mut batch = Batch::default();
        let seg = batch.advance(&file("a"), None, cursor(10));
        let last = Record {
            stopped: true,
            ..record("m1", 118)
        };
        batch.push(seg, 0, 0, record("m1", 500));
        batch.push(seg, 0, 0, last.clone());
        batch.push(seg, 0, 0, record("m1", 900));
        assert_eq!(batch.rows[0].record, last);
    }

    #[test]
    fn copies_in_other_files_are_left_to_the_ledger() {
        let mut batch = Batch::default();
        let a = batch.advance(&file("a"), None, cursor(10));
        let b = batch.advance(&file("b"), None, cursor(10));
        batch.push(a, 0, 0, record("m1", 5));
        batch.push(b, 0, 0, record("m1", 5));
        assert_eq!(batch.rows.len(), 2);
    }

    #[test]
    fn segment_keeps_its_base_and_moves_its_next() {
        let mut batch = Batch::default();
        let base = cursor(3);
        let seg = batch.advance(&file("a"), Some(&base), cursor(10));
        assert_eq!(
            batch.advance(&file("a"), Some(&cursor(99)), cursor(20)),
            seg
        );
        assert_eq!(batch.segments[seg].base, Some(base));
        assert_eq!(batch.segments[seg].next.offset, 20);
        batch.clear();
        assert!(batch.is_empty());
    }
}
