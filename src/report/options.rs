//! What a report was asked for, parsed once: `cli.rs` turns its clap arguments into these
//! (the low arguments into high ones, as ripgrep does), so the report code never sees clap
//! and the glance views (`statusline`, `live`) build the same options without it.

use jiff::civil::Date;

use super::CostMode;
use crate::model::Agent;

/// How a report is printed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OutputFormat {
    #[default]
    Table,
    Json,
    Csv,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Order {
    #[default]
    Asc,
    Desc,
}

/// The day a week is named by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WeekStart {
    #[default]
    Sunday,
    Monday,
}

/// A block's token limit: a number of tokens, `max` (the most any finished block used) or
/// `p90` (the 90th percentile of finished blocks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenLimit {
    Tokens(u64),
    Max,
    P90,
}

/// The options every report shares. `Default` is what the command line gives with no
/// flags.
#[derive(Clone, Debug, PartialEq)]
pub struct ReportOptions {
    /// The first and last day to include, in `timezone`.
    pub since: Option<Date>,
    pub until: Option<Date>,
    /// An IANA zone; `None`: the system's.
    pub timezone: Option<String>,
    /// A project's folder name under `projects/`, or its working directory.
    pub project: Option<String>,
    /// One host's rows only: its name or id (`hosts` lists them).
    pub host: Option<String>,
    /// These agents' rows only; empty: every agent's (but for blocks, Claude Code's).
    pub agents: Vec<Agent>,
    pub breakdown: bool,
    pub order: Order,
    pub format: OutputFormat,
    pub no_cost: bool,
    pub mode: CostMode,
    /// Read new transcript lines before answering.
    pub ingest: bool,
    /// Exit 1 when a model has no price.
    pub strict: bool,
}

impl Default for ReportOptions {
    fn default() -> ReportOptions {
        ReportOptions {
            since: None,
            until: None,
            timezone: None,
            project: None,
            host: None,
            agents: Vec::new(),
            breakdown: false,
            order: Order::Asc,
            format: OutputFormat::Table,
            no_cost: false,
            mode: CostMode::Auto,
            ingest: true,
            strict: false,
        }
    }
}

/// What `blocks` adds to the shared options.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlocksOptions {
    pub active: bool,
    pub recent: bool,
    pub token_limit: Option<TokenLimit>,
    /// How long a block lasts (Claude's limits use 5 hours).
    pub length_ms: i64,
}
