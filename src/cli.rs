//! The command line, as clap sees it. Nothing here does work: `main` turns these into
//! calls into the pipeline.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use jiff::civil::Date;

use crate::calendar::parse_date;

/// A permanent, exact ledger of your Claude Code usage.
///
/// cco-stats reads Claude Code's transcripts from where it last stopped, keeps every
/// billable response in a SQLite ledger exactly once, and answers reports from it. The
/// ledger keeps your history after Claude Code deletes old transcripts.
#[derive(Debug, Parser)]
#[command(name = "cco-stats", version, max_term_width = 100)]
pub struct Cli {
    /// The ledger database [default: $XDG_DATA_HOME/cco-stats/stats.db]
    #[arg(long, global = true, env = "CCO_STATS_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,

    /// A Claude data root to read (repeatable) [default: $CLAUDE_CONFIG_DIR, else
    /// ~/.config/claude and ~/.claude]
    #[arg(long = "source", global = true, value_name = "DIR")]
    pub sources: Vec<PathBuf>,

    /// A price file that adds or overrides models [default: ~/.config/cco-stats/prices.toml]
    #[arg(long, global = true, value_name = "FILE")]
    pub prices: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read new transcript lines into the ledger once, then exit (for cron)
    Once(OnceArgs),
    /// Keep the ledger up to date: read new lines every interval until stopped
    Watch(WatchArgs),
    /// What the ledger holds and where it comes from
    Status(StatusArgs),
    /// Usage and cost per day
    Daily(ReportArgs),
}

#[derive(Debug, Args, Clone)]
pub struct IngestArgs {
    /// Flush to the database after this many new rows
    #[arg(long, default_value_t = 100, value_name = "ROWS", value_parser = clap::value_parser!(u64).range(1..))]
    pub batch_size: u64,

    /// Flush pending rows at least this often (e.g. 30s, 2m)
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub flush_interval: Duration,

    /// Skip (and count) lines longer than this many MiB instead of buffering them
    #[arg(long, default_value_t = 64, value_name = "MIB", value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub max_line_mib: u64,
}

#[derive(Debug, Args)]
pub struct OnceArgs {
    #[command(flatten)]
    pub ingest: IngestArgs,

    /// Print the pass summary as JSON on stdout
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    #[command(flatten)]
    pub ingest: IngestArgs,

    /// Time between passes (e.g. 5s, 1m)
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub interval: Duration,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// First day to include (YYYY-MM-DD or YYYYMMDD)
    #[arg(long, value_parser = parse_date, value_name = "DATE")]
    pub since: Option<Date>,

    /// Last day to include (YYYY-MM-DD or YYYYMMDD)
    #[arg(long, value_parser = parse_date, value_name = "DATE")]
    pub until: Option<Date>,

    /// IANA time zone that days are counted in [default: the system's]
    #[arg(long, value_name = "ZONE")]
    pub timezone: Option<String>,

    /// Print as JSON (ccusage's shape)
    #[arg(long)]
    pub json: bool,

    /// Read the ledger only; do not read new transcript lines first
    #[arg(long)]
    pub no_ingest: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
