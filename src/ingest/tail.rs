//! Reads the bytes a transcript gained since the stored offset and hands out whole lines.
//!
//! Reads are large and buffered into one reusable buffer; lines are found with `memchr` and
//! handed out as slices of it, so no line is ever copied or allocated. The last bytes of a
//! file that have no `\n` yet are usually a line Claude Code is still writing: they are held
//! back (the offset stays at their start) unless they already form a complete JSON value.
//!
//! A line longer than `max_line` is never buffered whole: once the buffer would grow past
//! the limit the tailer discards bytes up to the next `\n` and reports the line as skipped,
//! so memory stays bounded by `max_line` plus one read, whatever the file holds.
//!
//! A catching-up read (`MAP_MIN` bytes behind or more) of a file nobody has written to
//! for `QUIET` is mapped instead, a `MAP_WINDOW` at a time, and its lines handed out as
//! slices of the map: the kernel's copy of every byte into the buffer (a tenth of a first
//! ingest's time) is saved. Only the whole lines below the size `fstat` gave are taken
//! from maps; the last bytes (a fragment, whatever was appended since, a line longer than
//! a window) are left to the streaming read, so both paths hand out the same lines.
//! A map of a file cut shorter under it would kill the process (SIGBUS) when read past
//! the cut. The agents only append, so a cut is someone else's doing, and its moment is
//! unknowable; what is known is that a file being written now is the likeliest to be
//! touched, and that a cut changes the mtime. So only a file quiet for `QUIET` before
//! the `fstat` is mapped (a cut before it shows as a recent mtime and a smaller size):
//! the remaining risk is a file idle for a minute, then cut within the milliseconds its
//! window is being read. Windows keep the resident map, which counts in the peak RSS,
//! to `MAP_WINDOW`.
//!
//! This module also owns a file's identity (device, inode, size, mtime, and the
//! fingerprints of its head and of the bytes just before the cursor), which is how a
//! truncated or replaced file is told apart from one that grew: the head alone missed a
//! file truncated and written longer again with the same first 4 KiB.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::ops::ControlFlow;
use std::time::{Duration, SystemTime};

use crate::model::HEAD_LEN;
use crate::model::file::fnv1a;

/// Bytes fingerprinted just before a cursor: a line or more of what was read last, so a
/// file whose bytes there are no longer those is known to have been rewritten.
pub const TAIL_LEN: u64 = 4096;

/// Bytes asked of the OS per read.
const READ_SIZE: usize = 1 << 20;

/// A read this far behind is mapped (if the file is quiet): below it, the copy of a
/// read costs less than setting up a map and faulting its pages in.
const MAP_MIN: u64 = 256 << 10;

/// Bytes mapped at a time: the most of the file that is resident for us at once.
const MAP_WINDOW: u64 = 8 << 20;

/// A file written to this recently is read, not mapped (see the module doc).
const QUIET: Duration = Duration::from_secs(60);

/// The first `HEAD_LEN` bytes of `file` (fewer if it is shorter): read once, they give
/// both the file's fingerprint now and, from their start, the one stored earlier.
pub fn read_head(file: &mut File) -> io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(HEAD_LEN as usize);
    file.seek(SeekFrom::Start(0))?;
    file.by_ref().take(HEAD_LEN).read_to_end(&mut buf)?;
    Ok(buf)
}

/// The fingerprint of the `TAIL_LEN` bytes (fewer at the start of a file) that end at
/// `offset`. Read with `pread`, so a handle being read elsewhere keeps its position.
pub fn tail_hash(file: &File, offset: u64) -> io::Result<u64> {
    let start = offset.saturating_sub(TAIL_LEN);
    let mut bytes = vec![0; (offset - start) as usize];
    std::os::unix::fs::FileExt::read_exact_at(file, &mut bytes, start)?;
    Ok(fnv1a(&bytes))
}

/// One line handed to the caller.
pub struct Line<'a> {
    /// The bytes, without the `\n`. Empty for a line that was too long (see `too_long`).
    pub bytes: &'a [u8],
    /// Offset just past this line's `\n` (or past the last byte of a complete final line).
    pub end: u64,
    /// Offset of the line's first byte.
    pub start: u64,
    /// The line was longer than `max_line` and was skipped without being buffered.
    pub too_long: bool,
}

/// How a read ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Stop<B> {
    /// Everything up to the end of the file was handed out (a held-back fragment aside).
    Eof,
    /// The caller stopped with this value (a reason, an error: values, not side channels).
    Caller(B),
}

/// Reads `file` from `offset` to its end, calling `on_line` for every whole line, until it
/// breaks: from maps where that pays (see the module doc), then streamed.
pub fn read_lines<B>(
    file: &mut File,
    offset: u64,
    max_line: usize,
    buf: &mut Vec<u8>,
    mut on_line: impl FnMut(Line<'_>) -> ControlFlow<B>,
) -> io::Result<Stop<B>> {
    let offset = match read_mapped(file, offset, max_line, &mut on_line)? {
        ControlFlow::Continue(offset) => offset,
        ControlFlow::Break(value) => return Ok(Stop::Caller(value)),
    };
    read_streamed(file, offset, max_line, buf, on_line)
}

/// Whether reading `file` from `offset` is worth a map, and safe enough: the size to map
/// up to if so.
fn map_end(file: &File, offset: u64) -> io::Result<Option<u64>> {
    let meta = file.metadata()?;
    let quiet = meta
        .modified()
        .ok()
        .and_then(|at| SystemTime::now().duration_since(at).ok())
        .is_some_and(|idle| idle >= QUIET);
    let behind = meta.len().saturating_sub(offset);
    Ok((quiet && behind >= MAP_MIN).then_some(meta.len()))
}

/// Hands out the whole lines of `file` from `offset` that lie below the size it has now,
/// from maps, if `map_end` allows; the offset where the streaming read takes over.
fn read_mapped<B>(
    file: &File,
    mut offset: u64,
    max_line: usize,
    on_line: &mut impl FnMut(Line<'_>) -> ControlFlow<B>,
) -> io::Result<ControlFlow<B, u64>> {
    let Some(end) = map_end(file, offset)? else {
        return Ok(ControlFlow::Continue(offset));
    };
    while offset < end {
        let len = (end - offset).min(MAP_WINDOW);
        // SAFETY: the map is read-only and private to this call, and the file quiet (see
        // the module doc for the one case left: a file cut while its window is read).
        let map = unsafe {
            memmap2::MmapOptions::new()
                .offset(offset)
                .len(len as usize)
                .map(file)?
        };
        map.advise(memmap2::Advice::Sequential)?;
        let mut line_start = 0;
        for nl in memchr::memchr_iter(b'\n', &map) {
            let too_long = nl - line_start > max_line;
            let line = Line {
                bytes: if too_long { &[] } else { &map[line_start..nl] },
                start: offset + line_start as u64,
                end: offset + nl as u64 + 1,
                too_long,
            };
            if let ControlFlow::Break(value) = on_line(line) {
                return Ok(ControlFlow::Break(value));
            }
            line_start = nl + 1;
        }
        if line_start == 0 {
            // A line longer than a window: the streaming read knows how to skip it.
            break;
        }
        offset += line_start as u64;
    }
    Ok(ControlFlow::Continue(offset))
}

/// `read_lines` through one reusable buffer.
fn read_streamed<B>(
    file: &mut File,
    offset: u64,
    max_line: usize,
    buf: &mut Vec<u8>,
    mut on_line: impl FnMut(Line<'_>) -> ControlFlow<B>,
) -> io::Result<Stop<B>> {
    file.seek(SeekFrom::Start(offset))?;
    // `buf[..filled]` holds the bytes from file offset `buf_start`, and `buf` keeps its
    // length between reads (and files), so no byte of it is zeroed twice.
    let mut filled = 0;
    let mut buf_start = offset;
    // While skipping a too-long line: the offset where it began.
    let mut skipping_from: Option<u64> = None;
    loop {
        if buf.len() < filled + READ_SIZE {
            buf.resize(filled + READ_SIZE, 0);
        }
        let n = read_full(file, &mut buf[filled..filled + READ_SIZE])?;
        if n == 0 {
            break;
        }
        let scan = filled;
        filled += n;
        let mut line_start = 0;
        for nl in memchr::memchr_iter(b'\n', &buf[scan..filled]).map(|i| scan + i) {
            let line = match skipping_from.take() {
                Some(start) => Line {
                    bytes: &[],
                    start,
                    end: buf_start + nl as u64 + 1,
                    too_long: true,
                },
                // A long line found whole in one read is over the limit all the same.
                None if nl - line_start > max_line => Line {
                    bytes: &[],
                    start: buf_start + line_start as u64,
                    end: buf_start + nl as u64 + 1,
                    too_long: true,
                },
                None => Line {
                    bytes: &buf[line_start..nl],
                    start: buf_start + line_start as u64,
                    end: buf_start + nl as u64 + 1,
                    too_long: false,
                },
            };
            if let ControlFlow::Break(value) = on_line(line) {
                return Ok(Stop::Caller(value));
            }
            line_start = nl + 1;
        }
        // Keep the unfinished line at the front of the buffer and read on.
        if line_start > 0 {
            buf.copy_within(line_start..filled, 0);
        }
        buf_start += line_start as u64;
        filled -= line_start;
        if skipping_from.is_some() || filled > max_line {
            // Inside a line too long to keep: none of it is worth keeping.
            skipping_from.get_or_insert(buf_start);
            buf_start += filled as u64;
            filled = 0;
        }
    }
    let fragment = &buf[..filled];
    if skipping_from.is_none() && is_complete_json(fragment) {
        // A final line without `\n` that is whole already: the writer may never add one.
        let line = Line {
            bytes: fragment,
            start: buf_start,
            end: buf_start + fragment.len() as u64,
            too_long: false,
        };
        if let ControlFlow::Break(value) = on_line(line) {
            return Ok(Stop::Caller(value));
        }
    }
    Ok(Stop::Eof)
}

/// A line is one JSON object, so a fragment that parses as one can only be the whole line.
fn is_complete_json(fragment: &[u8]) -> bool {
    let trimmed = fragment.trim_ascii();
    trimmed.first() == Some(&b'{')
        && serde_json::from_slice::<serde::de::IgnoredAny>(trimmed).is_ok()
}

/// Fills `buf` as far as the file allows; 0 only at end of file.
fn read_full(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut total = 0;
    while total < buf.len() {
        match file.read(&mut buf[total..]) {
            Ok(0) => break,
            Ok(n) => total += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    struct Got {
        lines: Vec<(Vec<u8>, u64, u64, bool)>,
    }

    fn read_all(content: &[u8], offset: u64, max_line: usize) -> Got {
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        tmp.write_all(content).unwrap();
        let mut file = File::open(tmp.path()).unwrap();
        let mut got = Got { lines: vec![] };
        let mut buf = Vec::new();
        let stop = read_lines(&mut file, offset, max_line, &mut buf, |l| {
            got.lines
                .push((l.bytes.to_vec(), l.start, l.end, l.too_long));
            ControlFlow::<()>::Continue(())
        })
        .unwrap();
        assert_eq!(stop, Stop::Eof);
        got
    }

    #[test]
    fn splits_lines_and_reports_offsets() {
        let got = read_all(b"{\"a\":1}\n{\"b\":2}\n", 0, 1 << 20);
        assert_eq!(
            got.lines,
            vec![
                (b"{\"a\":1}".to_vec(), 0, 8, false),
                (b"{\"b\":2}".to_vec(), 8, 16, false)
            ]
        );
    }

    #[test]
    fn starts_at_the_offset() {
        let got = read_all(b"{\"a\":1}\n{\"b\":2}\n", 8, 1 << 20);
        assert_eq!(got.lines.len(), 1);
        assert_eq!(got.lines[0].1, 8);
    }

    #[test]
    fn holds_back_a_half_written_line() {
        let got = read_all(b"{\"a\":1}\n{\"b\":", 0, 1 << 20);
        assert_eq!(got.lines.len(), 1);
        assert_eq!(got.lines[0].2, 8, "the offset stays before the fragment");
    }

    #[test]
    fn takes_a_complete_final_line_without_newline() {
        let got = read_all(b"{\"a\":1}\n{\"b\":2}", 0, 1 << 20);
        assert_eq!(got.lines.len(), 2);
        assert_eq!(got.lines[1].2, 15);
    }

    #[test]
    fn keeps_the_carriage_return_for_the_parser() {
        let got = read_all(b"{\"a\":1}\r\n", 0, 1 << 20);
        assert_eq!(got.lines[0].0, b"{\"a\":1}\r");
    }

    #[test]
    fn lines_longer_than_one_read_are_joined() {
        let long = vec![b'x'; READ_SIZE * 2 + 17];
        let mut content = long.clone();
        content.push(b'\n');
        content.extend_from_slice(b"{}\n");
        let got = read_all(&content, 0, READ_SIZE * 4);
        assert_eq!(got.lines.len(), 2);
        assert_eq!(got.lines[0].0, long);
        assert_eq!(got.lines[1].1, long.len() as u64 + 1);
    }

    #[test]
    fn too_long_lines_are_skipped_not_buffered() {
        let mut content = b"{\"a\":1}\n".to_vec();
        content.extend(std::iter::repeat_n(b'x', READ_SIZE * 3));
        content.extend_from_slice(b"\n{\"b\":2}\n");
        let got = read_all(&content, 0, 1000);
        assert_eq!(got.lines.len(), 3);
        assert_eq!(
            got.lines[1],
            (vec![], 8, 8 + READ_SIZE as u64 * 3 + 1, true)
        );
        assert_eq!(got.lines[2].0, b"{\"b\":2}");
    }

    #[test]
    fn a_short_line_over_the_limit_is_too_long_even_within_one_read() {
        // Found by the tailer property (tests/properties.rs): the limit held only across reads.
        let got = read_all(b"{\"a\":\"0123456789\"}\n{}\n", 0, 10);
        assert_eq!(got.lines[0], (vec![], 0, 19, true));
        assert_eq!(got.lines[1].0, b"{}");
    }

    #[test]
    fn an_unfinished_too_long_line_is_held_back() {
        let mut content = b"{\"a\":1}\n".to_vec();
        content.extend(std::iter::repeat_n(b'x', 5000));
        let got = read_all(&content, 0, 1000);
        assert_eq!(got.lines.len(), 1);
    }

    /// Lines of every kind the tailer meets, over several map windows: short ones, CRLF,
    /// lines too long for `max_line`, a line longer than a window, and an unfinished one
    /// or a complete one without `\n` at the end.
    fn varied(last: &[u8]) -> Vec<u8> {
        let mut content = Vec::new();
        let mut n = 0u64;
        while content.len() < 3 * MAP_WINDOW as usize {
            n += 1;
            match n % 97 {
                13 => content.extend(std::iter::repeat_n(b'x', 5000)),
                41 => content.extend_from_slice(b"{\"crlf\":1}\r"),
                _ => content.extend_from_slice(format!("{{\"n\":{n}}}").as_bytes()),
            }
            content.push(b'\n');
            if n == 5000 {
                content.extend(std::iter::repeat_n(b'y', MAP_WINDOW as usize + 3));
                content.push(b'\n');
            }
        }
        content.extend_from_slice(last);
        content
    }

    /// Every line `read_lines` hands out for `content`, the file last written `age` ago.
    fn lines_of(content: &[u8], age: Duration, max_line: usize) -> Vec<(Vec<u8>, u64, u64, bool)> {
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        tmp.write_all(content).unwrap();
        tmp.as_file().set_modified(SystemTime::now() - age).unwrap();
        let mut file = File::open(tmp.path()).unwrap();
        let mut lines = Vec::new();
        let stop = read_lines(&mut file, 0, max_line, &mut Vec::new(), |l| {
            lines.push((l.bytes.to_vec(), l.start, l.end, l.too_long));
            ControlFlow::<()>::Continue(())
        })
        .unwrap();
        assert_eq!(stop, Stop::Eof);
        lines
    }

    #[test]
    fn mapped_and_streamed_reads_give_the_same_lines() {
        let old = Duration::from_secs(3600);
        for last in [&b"{\"end\":1}"[..], b"{\"half\":", b""] {
            let content = varied(last);
            let mapped = lines_of(&content, old, 4000);
            assert_eq!(mapped, lines_of(&content, Duration::ZERO, 4000));
            assert!(mapped.iter().any(|l| l.3), "some lines are too long");
            // With a limit above the window, the longest line comes whole either way.
            let mapped = lines_of(&content, old, 2 * MAP_WINDOW as usize);
            assert_eq!(
                mapped,
                lines_of(&content, Duration::ZERO, 2 * MAP_WINDOW as usize)
            );
            assert!(mapped.iter().all(|l| !l.3));
        }
    }

    #[test]
    fn only_a_quiet_file_far_behind_is_mapped() {
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        tmp.write_all(&vec![b'\n'; 2 * MAP_MIN as usize]).unwrap();
        let end = 2 * MAP_MIN;
        assert_eq!(map_end(tmp.as_file(), 0).unwrap(), None, "written just now");
        tmp.as_file()
            .set_modified(SystemTime::now() - QUIET - Duration::from_secs(1))
            .unwrap();
        assert_eq!(map_end(tmp.as_file(), 0).unwrap(), Some(end));
        assert_eq!(
            map_end(tmp.as_file(), end - MAP_MIN + 1).unwrap(),
            None,
            "a read or two"
        );
        // The map's lines are handed out, up to where streaming takes over.
        let mut lines = 0;
        let took_over = read_mapped(tmp.as_file(), 0, 10, &mut |_| {
            lines += 1;
            ControlFlow::<()>::Continue(())
        })
        .unwrap();
        assert_eq!(took_over, ControlFlow::Continue(end));
        assert_eq!(lines, end);
    }

    /// The walk stat'ed the file at its full size; it was cut before the read (and left
    /// quiet since): the map stops at the size it has now.
    #[test]
    fn a_file_cut_after_the_walk_is_mapped_only_to_its_new_size() {
        let line = b"{\"a\":1}\n";
        let content: Vec<u8> = line.repeat(2 * MAP_WINDOW as usize / line.len());
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        tmp.write_all(&content).unwrap();
        let cut = MAP_MIN + 3;
        tmp.as_file().set_len(cut).unwrap();
        tmp.as_file()
            .set_modified(SystemTime::now() - QUIET * 2)
            .unwrap();
        let mut file = File::open(tmp.path()).unwrap();
        let mut ends = Vec::new();
        let stop = read_lines(&mut file, 0, 1 << 20, &mut Vec::new(), |l| {
            ends.push(l.end);
            ControlFlow::<()>::Continue(())
        })
        .unwrap();
        assert_eq!(stop, Stop::Eof);
        let whole = cut / line.len() as u64;
        assert_eq!(ends.len() as u64, whole, "the cut line is held back");
        assert_eq!(ends.last(), Some(&(whole * line.len() as u64)));
    }

    #[test]
    fn fingerprint_is_stable_and_content_sensitive() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_ne!(fnv1a(b"abc"), fnv1a(b"abd"));
    }
}
