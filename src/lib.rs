//! cco-stats keeps a permanent, exact ledger of coding-agent usage: it tails the agents'
//! append-only logs (Claude Code's transcripts, Codex's rollouts, Gemini's, Qwen's and
//! Copilot's sessions) from stored byte offsets, reads rewritten files (Amp's threads)
//! and agents' SQLite databases (OpenCode's) by watermark and upsert, all into SQLite,
//! exactly once, and answers reports from that ledger in milliseconds.
//!
//! The folders follow the data's path:
//!
//! ```text
//!  ~/.claude/projects/**/*.jsonl   ~/.codex/{sessions,archived_sessions}/**/*.jsonl
//!        │
//!        ▼
//!  sources/   one module per agent: its folders (Claude Code's roots), the names its
//!             paths give, its lines → records (with parser state kept beside the cursor)
//!        │
//!        ▼
//!  ingest/    discover (the walk) → tail (bytes from the cursor, whole lines)
//!             → a source's parser (billable responses) → the ledger's batch (rows and
//!             cursor moves in memory); changes: what `watch` and `live` read next (OS
//!             notification, or polling)
//!        │
//!        ▼
//!  ledger/    batch (the write request), open + migrate (sql/), flush (one transaction:
//!             dedup, rows, cursors),
//!             dedup index, report aggregates, counters (never lower), exchange (rows
//!             out to an export, other ledgers' rows in), query and inspect (the only SQL,
//!             with quota: the agents' quota samples, written and read)
//!        │
//!        ▼
//!  report/    the report model: options (what was asked, parsed once), pricing
//!             (dated price table), 5-hour blocks, status line and live figures,
//!             metrics (lifetime counters), quota (the agents' official windows: pace,
//!             forecast, history)
//!        │
//!        ▼
//!  render/    json (typed rows, ccusage's names), csv, table, statusline, live, metrics
//!             (Prometheus text, OpenMetrics), quota (`limits` in all three formats),
//!             export (NDJSON rows, versioned): pure
//!             functions of the model
//! ```
//!
//! Imports only point down: a module names the modules below it in this drawing, never
//! one above nor its sibling (`tests/layers.rs` checks every `crate::` path, and lists
//! the few that still climb). `ingest` builds the ledger's write request (`ledger::batch`) from a
//! source's records; neither `sources` nor `ledger` knows the ingest exists. The bottom
//! floor, `model`, holds what every layer shares: a record and its tokens, its agent and
//! quota samples, what the ledger keeps of a file (identity, head fingerprint) and of a
//! folder (listing) between passes, and the calendar (a local day in a zone).
//!
//! ```text
//!  command/ (cli, config, http)    one subcommand through the stages
//!     │               │
//!     ▼               ▼
//!  ingest/         render/         a pass: walk, tail, parse → batch → flush;
//!     │  │            │            output: pure functions of the report model
//!     │  │            ▼
//!     │  │         report/         the report model, read from the ledger
//!     │  │            │
//!     │  └─────┐ ┌────┘
//!     ▼        ▼ ▼
//!  sources/  ledger/               siblings: an agent's files → records │ the write
//!     │        │                   request, the schema, every SQL
//!     ▼        ▼
//!  limits, paths, visible          the helpers
//!          │
//!          ▼
//!       model/                     the floor: names no other module
//! ```
//!
//! `command/` is the glue that runs one subcommand through those stages, `cli` the
//! command-line definition, `config` the config file (thresholds, budgets, the alert
//! command), `paths` the home and XDG folders and whole-file replacement,
//! `visible` how text from data is shown on a terminal (controls and bidi overrides
//! escaped), for every format for people and every warning, `http` the bounded HTTP
//! server that `watch --metrics-listen` answers on,
//! `limits` the range every number from a transcript or an import must fall in,
//! `model` the bottom floor (above).

pub mod cli;
pub mod command;
pub mod config;
pub mod http;
pub mod ingest;
pub mod ledger;
pub mod limits;
pub mod model;
pub mod paths;
pub mod render;
pub mod report;
pub mod sources;
pub mod visible;
