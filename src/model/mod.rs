//! The bottom floor: the values every layer shares, so that every other module's
//! arrows point down to it and none point back up.
//!
//! What a source's parser makes and the ledger stores (`Record`, `Tokens`, `Parsed`),
//! whose it is (`Agent`) and the quota samples beside it (`RateLimit`); what the ledger
//! keeps of the files and folders records come from between passes (`Identity`, `Head`,
//! `Listing`); and the calendar every layer counts days by (`calendar`: a local day in a
//! zone). Values and pure rules: the floor names no other module of the crate
//! (`tests/layers.rs`) and opens no database; the one file it reads is a time zone's.

pub mod agent;
pub mod calendar;
pub mod file;
pub mod listing;
pub mod record;

pub use agent::{Agent, RateLimit, window_minutes, window_name};
pub use file::{HEAD_LEN, Head, Identity};
pub use listing::{ChildKind, DirCache, Listing};
pub use record::{Parsed, Record, Tokens, line_time};
