//! What the ledger knows of a log file between passes: how it looked when stat'ed
//! (`Identity`) and the fingerprint of its first bytes (`Head`). The ingest takes them,
//! the ledger stores them beside the cursor, and a file truncated or replaced is told
//! apart from one that grew by comparing the two.

/// Bytes fingerprinted at the head of a file: enough to hold its first line's uuid and
/// timestamp, so a file rewritten with other content is told apart from one that grew.
pub const HEAD_LEN: u64 = 4096;

/// What a file looked like when stat'ed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Identity {
    pub dev: u64,
    pub inode: u64,
    pub size: u64,
    pub mtime_ns: i64,
}

/// A fingerprint of the first `len` bytes of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Head {
    pub len: u64,
    pub hash: u64,
}

impl Head {
    /// The fingerprint of `bytes` (a file's first bytes, see `ingest::tail::read_head`).
    pub fn of(bytes: &[u8]) -> Head {
        Head {
            len: bytes.len() as u64,
            hash: fnv1a(bytes),
        }
    }
}

/// FNV-1a: stable across builds and platforms, which a fingerprint kept on disk needs.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
