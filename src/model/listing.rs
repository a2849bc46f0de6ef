//! A folder's entries as an earlier walk listed them (`Listing`, `DirCache`): the ingest's
//! walk makes and trusts them, the ledger stores them, so a no-change pass costs a `stat`
//! per folder.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

/// What a directory held when it was listed, keyed by its inode and mtime.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listing {
    pub inode: u64,
    pub mtime_ns: i64,
    /// Sub-directories, transcripts and links, by name: all the walk looks at. Kept as
    /// stored (see `Listing::encode`) and read in place: a no-change pass walks thousands
    /// of names and allocates none of them.
    pub children: Vec<u8>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChildKind {
    Dir,
    Transcript,
    Link,
}

/// Directory listings from earlier walks. A directory whose inode and mtime are unchanged
/// has the same entries, so it costs one `stat` instead of an open, a read and a close:
/// most of a no-change pass over thousands of session folders.
///
/// The walk keeps a listing only if the directory was last modified at least
/// `ingest::discover::RACY_NS` before it was listed: mtime ticks are coarse, and an entry
/// added within the same tick as the listing would otherwise leave the mtime unchanged
/// and go unseen for good.
#[derive(Debug, Default)]
pub struct DirCache {
    /// By the directory's path bytes (see `ledger::batch::Identities` for why not `Path`).
    pub dirs: foldhash::HashMap<OsString, Listing>,
}

impl Listing {
    /// Children as stored: one kind byte, the name, a NUL, per child. A name cannot hold
    /// a NUL, so the encoding needs no escapes.
    pub fn encode(children: &[(OsString, ChildKind)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, kind) in children {
            out.push(match kind {
                ChildKind::Dir => b'd',
                ChildKind::Transcript => b'f',
                ChildKind::Link => b'l',
            });
            out.extend_from_slice(name.as_bytes());
            out.push(0);
        }
        out
    }

    /// How many children the listing holds.
    pub fn len(&self) -> usize {
        memchr::memchr_iter(0, &self.children).count()
    }

    pub fn is_empty(&self) -> bool {
        self.children.is_empty()
    }

    /// The children, borrowed from the stored bytes; an item of an unknown kind (a newer
    /// version's) is passed over, and the folder is listed afresh once it changes.
    pub fn children(&self) -> impl Iterator<Item = (&OsStr, ChildKind)> {
        self.children.split(|&b| b == 0).filter_map(|item| {
            let (&kind, name) = item.split_first()?;
            let kind = match kind {
                b'd' => ChildKind::Dir,
                b'f' => ChildKind::Transcript,
                b'l' => ChildKind::Link,
                _ => return None,
            };
            Some((OsStr::from_bytes(name), kind))
        })
    }
}
