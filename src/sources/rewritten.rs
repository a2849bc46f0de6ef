//! The *whole file rewritten* shape (Amp's threads, Gemini CLI's legacy `session-*.json`):
//! the interface part 2's sources implement, and the cursor such a file keeps.
//!
//! A file rewritten in place cannot be tailed from an offset. When its identity (size,
//! mtime, inode) moved it is read whole again, and if its bytes changed (`Digest`) every
//! billable message it holds comes out again, each with its message id. The ledger applies
//! them through the dedup rules like any other records: a message read again is the same
//! (message id, request id) and adds nothing, a message whose usage grew replaces its row
//! (rule 1), so the file's rows follow its latest version without a delete.

use std::path::Path;

use anyhow::Result;

use crate::model::{Head, Identity};
use crate::model::{Parsed, Record};
use crate::sources::LineParser;

/// Turns one version of a whole document into its billable records. Every record must
/// have a message id: that is what makes reading the document again add nothing.
pub trait DocumentParser {
    /// The records of `document`, the bytes of the file at `path` (which names what a
    /// document may not say of itself: Droid's settings name their session only by it).
    fn records(&self, path: &Path, document: &[u8]) -> Result<Vec<Record>>;
}

/// The line parser of a source whose files are all documents: the ingest reads those
/// whole (`DocumentParser`) and never hands it a line; if it ever did, the line is
/// skipped, named, rather than read as something it is not.
pub struct ReadWhole;

impl LineParser for ReadWhole {
    fn resume(&mut self, _state: &str) -> Result<()> {
        Ok(())
    }

    fn line(&mut self, _line: &[u8]) -> Parsed {
        Parsed::Skipped("a document rewritten whole is read whole, not by lines".into())
    }

    fn take_state(&mut self) -> Option<String> {
        None
    }
}

/// Where reading of a rewritten file stands: the file as last stat'ed, and a digest of
/// the bytes last parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Digest {
    pub identity: Identity,
    pub hash: u64,
}

impl Digest {
    /// The digest of `bytes`, read from a file that looked like `identity`.
    pub fn of(identity: Identity, bytes: &[u8]) -> Digest {
        // The fingerprint a tailed file's head gets, over the whole document.
        Digest {
            identity,
            hash: Head::of(bytes).hash,
        }
    }

    /// Whether a file that looks like `identity` now must be read again at all.
    pub fn stale(stored: Option<&Digest>, identity: Identity) -> bool {
        stored.is_none_or(|d| d.identity != identity)
    }

    /// Whether bytes read again (the file was stale) hold anything new to parse.
    pub fn changed(stored: Option<&Digest>, now: &Digest) -> bool {
        stored.is_none_or(|d| d.hash != now.hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::dedup::{Decision, Stored, decide};
    use crate::model::Tokens;

    /// A small example of the shape: `{"messages": [{"id", "output"}]}`, rewritten whole
    /// as a conversation goes on (as Amp's thread files are).
    struct Thread;

    impl DocumentParser for Thread {
        fn records(&self, _path: &Path, document: &[u8]) -> Result<Vec<Record>> {
            let doc: serde_json::Value = serde_json::from_slice(document)?;
            let messages = doc["messages"].as_array().cloned().unwrap_or_default();
            Ok(messages
                .iter()
                .map(|m| Record {
                    message_id: m["id"].as_str().map(str::to_string),
                    tokens: Tokens {
                        output: m["output"].as_u64().unwrap_or(0),
                        ..Tokens::default()
                    },
                    ..Record::default()
                })
                .collect())
        }
    }

    fn identity(size: u64, mtime_ns: i64) -> Identity {
        Identity {
            dev: 1,
            inode: 7,
            size,
            mtime_ns,
        }
    }

    /// The ledger in miniature: rows by message id, with their output tokens.
    #[derive(Default)]
    struct Rows(Vec<(Option<String>, Stored, u64)>);

    impl Rows {
        /// Applies one read of the document as the ledger does: the dedup rules by id.
        fn apply(&mut self, records: Vec<Record>) {
            for record in records {
                let same_id: Vec<Stored> = self
                    .0
                    .iter()
                    .filter(|(id, _, _)| *id == record.message_id)
                    .map(|(_, stored, _)| stored.clone())
                    .collect();
                match decide(&record, &same_id) {
                    Decision::Insert => {
                        let stored = Stored::of(self.0.len() as i64, &record);
                        self.0
                            .push((record.message_id.clone(), stored, record.tokens.output));
                    }
                    Decision::Replace(at) => {
                        let stored = Stored::of(at, &record);
                        self.0[at as usize] =
                            (record.message_id.clone(), stored, record.tokens.output);
                    }
                    Decision::Keep => {}
                }
            }
        }

        fn outputs(&self) -> Vec<u64> {
            self.0.iter().map(|(_, _, output)| *output).collect()
        }
    }

    #[test]
    fn a_rewritten_document_is_read_again_only_when_it_changed_and_counts_each_message_once() {
        let v1 = br#"{"messages":[{"id":"a","output":5},{"id":"b","output":2}]}"#;
        // Rewritten: `b` finished streaming (more tokens), `c` is new.
        let v2 =
            br#"{"messages":[{"id":"a","output":5},{"id":"b","output":9},{"id":"c","output":1}]}"#;
        let mut rows = Rows::default();

        let first = Digest::of(identity(v1.len() as u64, 1), v1);
        assert!(Digest::stale(None, first.identity));
        rows.apply(Thread.records(Path::new("t.json"), v1).unwrap());

        // Touched, same bytes: stale by its identity, but nothing to parse.
        let touched = Digest::of(identity(v1.len() as u64, 2), v1);
        assert!(Digest::stale(Some(&first), touched.identity));
        assert!(!Digest::changed(Some(&first), &touched));
        assert!(!Digest::stale(Some(&touched), touched.identity));

        let second = Digest::of(identity(v2.len() as u64, 3), v2);
        assert!(Digest::changed(Some(&touched), &second));
        rows.apply(Thread.records(Path::new("t.json"), v2).unwrap());
        assert_eq!(
            rows.outputs(),
            vec![5, 9, 1],
            "a once, b at its latest, c new"
        );
    }
}
