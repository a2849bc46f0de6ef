//! The command line, as clap sees it. Nothing here does work: `main` turns these into
//! calls into the pipeline.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use jiff::civil::Date;

use crate::ingest;
use crate::model::Agent;
use crate::model::calendar::parse_date;
use crate::render;
use crate::render::statusline::{CostSource, Field};
use crate::report::CostMode;
use crate::report::options::{
    BlocksOptions, Order, OutputFormat, ReportOptions, TokenLimit, WeekStart,
};

/// The model's enums know nothing of clap: this names their values for the command line
/// (and for `--help`, completions and man pages).
macro_rules! value_enum {
    ($ty:ty { $($variant:path => $name:literal $(: $help:literal)?),+ $(,)? }) => {
        impl clap::ValueEnum for $ty {
            fn value_variants<'a>() -> &'a [Self] {
                &[$($variant),+]
            }

            fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
                Some(match self {
                    $($variant => clap::builder::PossibleValue::new($name)$(.help($help))?),+
                })
            }
        }
    };
}

value_enum!(CostMode {
    CostMode::Auto => "auto",
    CostMode::Calculate => "calculate",
    CostMode::Display => "display",
});

value_enum!(Order {
    Order::Asc => "asc",
    Order::Desc => "desc",
});

value_enum!(WeekStart {
    WeekStart::Sunday => "sunday",
    WeekStart::Monday => "monday",
});

value_enum!(Field {
    Field::Model => "model": "The model's name",
    Field::Session => "session": "This session's cost",
    Field::Today => "today": "Today's cost, all sessions (in the chosen time zone)",
    Field::Block => "block": "The active 5-hour block's cost and the time to its end",
    Field::Burn => "burn": "The active block's burn rate in $/h",
    Field::Context => "context": "How full the context window is",
    Field::Limits => "limits": "The 5-hour rate limit's use and reset time (subscriptions), and when it fills if before the reset",
    Field::Weekly => "weekly": "The weekly rate limit's use and reset day and time (subscriptions), and when it fills if before the reset",
});

value_enum!(CostSource {
    CostSource::Ledger => "ledger": "The ledger's, from the session's transcripts (subagents included)",
    CostSource::Claude => "claude": "Claude Code's own estimate (`cost.total_cost_usd`, reset by /clear)",
    CostSource::Both => "both": "The ledger's, with Claude Code's beside it",
});

/// A permanent, exact ledger of your coding agents' usage.
///
/// cco-stats reads the logs of Claude Code, Codex, Gemini CLI, Qwen Code, OpenCode, Amp
/// and GitHub Copilot CLI from where it last stopped, keeps every billable response in a
/// SQLite ledger exactly once, and answers reports from it. The ledger keeps your history
/// after the agents delete theirs.
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

    /// The config file (thresholds, budgets, the alert command) [default:
    /// ~/.config/cco-stats/config.toml]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// This machine's name in the ledger (stored in it; `status` and `metrics` show it)
    /// [default: the hostname]
    #[arg(long, global = true, env = "CCO_STATS_HOST_NAME", value_name = "NAME")]
    pub host_name: Option<String>,

    /// No progress bar and no pass summary
    #[arg(long, short, global = true)]
    pub quiet: bool,

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
    /// Usage and cost per week (named by the day it starts)
    Weekly(WeeklyArgs),
    /// Usage and cost per month
    Monthly(ReportArgs),
    /// Usage and cost per session (subagents count in their parent session)
    Session(ReportArgs),
    /// Usage per 5-hour billing block, with the active block's burn rate
    Blocks(BlocksArgs),
    /// Usage and cost per project
    Projects(ReportArgs),
    /// Usage and cost per model
    Models(ReportArgs),
    /// The price table in use
    Prices(PricesArgs),
    /// The ledger as Prometheus metrics: lifetime counters that never go down, and health
    Metrics(MetricsArgs),
    /// Usage and cost per host: this ledger's own and those imported from
    Hosts(ReportArgs),
    /// Usage and cost per coding agent (Claude Code, Codex, ...)
    Agents(ReportArgs),
    /// Quota windows (5-hour, weekly): the agents' official use, pace, forecast, history
    Limits(ReportArgs),
    /// The ledger's rows as NDJSON, one response a line, for a warehouse or another ledger
    Export(ExportArgs),
    /// Merge other machines' exports into this ledger (each response counts once)
    Import(ImportArgs),
    /// Recompute the report aggregates and the dedup index from the ledger's rows
    Rebuild,
    /// Check the data roots, the database and Claude Code's retention, and explain
    Doctor,
    /// One line for Claude Code's status line: reads its JSON on stdin
    Statusline(StatuslineArgs),
    /// A full-screen live view of today, the active block and its burn rate
    Live(LiveArgs),
    /// Judge the budgets and quota thresholds once: one line each; exit 0 ok, 1 warn,
    /// 2 over, 3 error (for cron, scripts and a Claude Code hook)
    Check(CheckArgs),
    /// Print a shell completion script (e.g. `cco-stats completions bash > ...`)
    Completions(CompletionsArgs),
    /// Write man pages for cco-stats and its subcommands into a folder (`make man`)
    #[command(hide = true)]
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct StatuslineArgs {
    /// What to show, in this order (comma list of: model, session, today, block, burn,
    /// context, limits, weekly)
    #[arg(long, value_enum, value_delimiter = ',', default_value = render::statusline::DEFAULT_FIELDS, value_name = "FIELDS")]
    pub format: Vec<Field>,

    /// No ANSI colours (also with NO_COLOR set)
    #[arg(long)]
    pub no_color: bool,

    /// Whose session cost to show
    #[arg(long, value_enum, default_value_t = CostSource::Ledger)]
    pub cost_source: CostSource,

    /// IANA time zone that "today" is counted in [default: the system's]
    #[arg(long, value_name = "ZONE")]
    pub timezone: Option<String>,

    /// Say that other sessions' figures are old when no full pass (`watch`, `once`, a
    /// report) ran for this long
    #[arg(long, default_value = "15m", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub stale_after: Duration,
}

#[derive(Debug, Args)]
pub struct LiveArgs {
    #[command(flatten)]
    pub ingest: IngestArgs,

    /// Time between polls when the OS's change notification is not used (e.g. 2s)
    #[arg(long, default_value = "2s", value_parser = parse_interval, value_name = "DURATION")]
    pub interval: Duration,

    #[command(flatten)]
    pub changes: ChangeArgs,

    /// The active block's gauge runs against this many tokens; `max`: the most a finished
    /// block used; `p90`: the 90th percentile of finished blocks [default: p90]
    #[arg(long, value_parser = parse_token_limit, value_name = "N|max|p90")]
    pub token_limit: Option<TokenLimit>,

    /// IANA time zone that "today" is counted in [default: the system's]
    #[arg(long, value_name = "ZONE")]
    pub timezone: Option<String>,

    #[command(flatten)]
    pub alerts: AlertArgs,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Print as JSON
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub alerts: AlertArgs,
}

/// The thresholds `check`, `watch` and `live` judge, over the config file's.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Budgets and alerts (over the config file's)")]
pub struct AlertArgs {
    /// Warn when a quota window's used percent, or a budget's spend as a percent of it,
    /// reaches this [default: 80]
    #[arg(long, value_parser = parse_percent, value_name = "PERCENT")]
    pub warn_percent: Option<f64>,

    /// A quota window is over at this used percent [default: 95]
    #[arg(long, value_parser = parse_percent, value_name = "PERCENT")]
    pub over_percent: Option<f64>,

    /// Today's budget for all usage, in US dollars (over at it, warn at --warn-percent of it)
    #[arg(long, value_parser = parse_dollars, value_name = "USD")]
    pub daily_budget: Option<f64>,

    /// This week's budget, in US dollars (weeks start as the config's `week_start`)
    #[arg(long, value_parser = parse_dollars, value_name = "USD")]
    pub weekly_budget: Option<f64>,

    /// This month's budget, in US dollars
    #[arg(long, value_parser = parse_dollars, value_name = "USD")]
    pub monthly_budget: Option<f64>,

    /// Run this shell command for each crossing, with its details in CCO_STATS_ALERT_*
    /// variables and as JSON on stdin
    #[arg(long, value_name = "CMD")]
    pub alert_command: Option<String>,
}

fn parse_percent(text: &str) -> Result<f64, String> {
    crate::config::percent(
        text.parse()
            .map_err(|_| format!("{text:?} is not a number"))?,
    )
}

fn parse_dollars(text: &str) -> Result<f64, String> {
    let text = text.trim_start_matches('$');
    crate::config::dollars(
        text.parse()
            .map_err(|_| format!("{text:?} is not a number"))?,
    )
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// The folder to write `cco-stats.1` and `cco-stats-<command>.1` into
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

#[derive(Debug, Args, Clone)]
pub struct IngestArgs {
    /// Flush to the database after this many new rows
    #[arg(long, default_value_t = ingest::DEFAULT_BATCH_SIZE, value_name = "ROWS", value_parser = clap::value_parser!(u64).range(1..))]
    pub batch_size: u64,

    /// Flush pending rows at least this often (e.g. 30s, 2m)
    #[arg(long, default_value = ingest::DEFAULT_FLUSH_INTERVAL, value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub flush_interval: Duration,

    /// Skip (and count) lines longer than this many MiB instead of buffering them
    #[arg(long, default_value_t = ingest::DEFAULT_MAX_LINE_MIB, value_name = "MIB", value_parser = max_line_mib())]
    pub max_line_mib: u64,
}

/// `--max-line-mib`'s values, for transcripts and exports alike.
fn max_line_mib() -> clap::builder::RangedU64ValueParser<u64> {
    clap::value_parser!(u64).range(1..=4096)
}

/// `--max-line-mib` in bytes.
pub fn max_line(mib: u64) -> usize {
    (mib as usize) << 20
}

impl From<&IngestArgs> for ingest::Options {
    fn from(args: &IngestArgs) -> ingest::Options {
        ingest::Options {
            batch_size: args.batch_size as usize,
            flush_interval: args.flush_interval,
            max_line: max_line(args.max_line_mib),
        }
    }
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

    /// Time between polls when the OS's change notification is not used (e.g. 5s, 1m)
    #[arg(long, default_value = "5s", value_parser = parse_interval, value_name = "DURATION")]
    pub interval: Duration,

    #[command(flatten)]
    pub changes: ChangeArgs,

    /// Serve `cco-stats metrics` on GET /metrics at this address (e.g. 127.0.0.1:9464, or
    /// a port alone for loopback)
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<String>,

    /// Let --metrics-listen bind to an address other machines can reach
    #[arg(long, requires = "metrics_listen")]
    pub metrics_allow_remote: bool,

    /// The dimensions of the served counters (comma list of: model, project)
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "model",
        value_name = "LABELS",
        requires = "metrics_listen"
    )]
    pub metrics_labels: Vec<MetricLabel>,

    #[command(flatten)]
    pub alerts: AlertArgs,
}

#[derive(Debug, Args)]
pub struct MetricsArgs {
    /// OpenMetrics 1.0 instead of Prometheus text 0.0.4 (adds `_created` and `# EOF`)
    #[arg(long)]
    pub openmetrics: bool,

    /// Write to this file atomically (a temporary file beside it, then a rename), e.g. for
    /// node_exporter's textfile collector, instead of stdout
    #[arg(long, value_name = "PATH")]
    pub textfile: Option<PathBuf>,

    /// The dimensions counters are split by, besides the token kind (comma list of: model,
    /// project; projects can be many)
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "model",
        value_name = "LABELS"
    )]
    pub labels: Vec<MetricLabel>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Write to this file atomically (a temporary file beside it, then a rename) instead
    /// of stdout
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Only the rows added or upgraded after the export that printed this cursor
    #[arg(long, value_name = "CURSOR")]
    pub since: Option<String>,

    /// Also write the cursor this export ends at to this file (atomically)
    #[arg(long, value_name = "PATH")]
    pub cursor_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Export files (`cco-stats export`), from this machine or others
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// A file with a bad line imports nothing (default: its other lines are imported)
    #[arg(long)]
    pub atomic: bool,

    /// A line longer than this many MiB ends its file (the rest is not read)
    #[arg(long, default_value_t = ingest::DEFAULT_MAX_LINE_MIB, value_name = "MIB", value_parser = max_line_mib())]
    pub max_line_mib: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum MetricLabel {
    Model,
    Project,
}

impl MetricLabel {
    pub fn dimensions(labels: &[MetricLabel]) -> crate::report::metrics::Dimensions {
        crate::report::metrics::Dimensions {
            model: labels.contains(&MetricLabel::Model),
            project: labels.contains(&MetricLabel::Project),
        }
    }
}

/// How `watch` and `live` learn of changes.
#[derive(Debug, Args, Clone)]
pub struct ChangeArgs {
    /// Walk every transcript this often, whatever the OS said (the safety net)
    #[arg(long, default_value = "5m", value_parser = parse_interval, value_name = "DURATION")]
    pub rescan: Duration,

    /// Poll instead of using the OS's change notification (for network file systems)
    #[arg(long)]
    pub poll: bool,
}

impl ChangeArgs {
    pub fn schedule(&self, interval: Duration) -> ingest::changes::Schedule {
        ingest::changes::Schedule {
            interval,
            rescan: self.rescan,
            poll: self.poll,
        }
    }
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

    /// Only this project: its folder name under projects/, or its working directory
    // Folder names start with '-' (an encoded '/'): they are values, not flags.
    #[arg(long, value_name = "NAME", allow_hyphen_values = true)]
    pub project: Option<String>,

    /// Only the rows recorded on this host: its name or id (see `cco-stats hosts`)
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,

    /// Only these agents' usage: claude, codex, gemini, qwen (a comma list) [default:
    /// every agent; Claude Code's for blocks]
    #[arg(long, value_name = "NAME[,NAME…]", value_delimiter = ',', value_parser = parse_agent)]
    pub agent: Vec<Agent>,

    /// Show usage per model under each row
    #[arg(long)]
    pub breakdown: bool,

    /// Row order
    #[arg(long, value_enum, default_value_t = Order::Asc)]
    pub order: Order,

    /// Print as JSON (ccusage's shape where it has one)
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,

    /// Print as CSV (RFC 4180)
    #[arg(long)]
    pub csv: bool,

    /// Leave costs out
    #[arg(long)]
    pub no_cost: bool,

    /// auto: a line's own costUSD where it has one, else computed; calculate: always
    /// computed from tokens; display: costUSD only
    #[arg(long, value_enum, default_value_t = CostMode::Auto)]
    pub mode: CostMode,

    /// Read the ledger only; do not read new transcript lines first
    #[arg(long)]
    pub no_ingest: bool,

    /// Exit 1 when a model has no price (after printing the report)
    #[arg(long)]
    pub strict: bool,
}

impl ReportArgs {
    pub fn options(&self) -> ReportOptions {
        ReportOptions {
            since: self.since,
            until: self.until,
            timezone: self.timezone.clone(),
            project: self.project.clone(),
            host: self.host.clone(),
            agents: self.agent.clone(),
            breakdown: self.breakdown,
            order: self.order,
            format: match (self.json, self.csv) {
                (true, _) => OutputFormat::Json,
                (_, true) => OutputFormat::Csv,
                _ => OutputFormat::Table,
            },
            no_cost: self.no_cost,
            mode: self.mode,
            ingest: !self.no_ingest,
            strict: self.strict,
        }
    }
}

#[derive(Debug, Args)]
pub struct WeeklyArgs {
    #[command(flatten)]
    pub report: ReportArgs,

    /// The day a week starts on
    #[arg(long, value_enum, default_value_t = WeekStart::Sunday)]
    pub start_of_week: WeekStart,
}

fn parse_token_limit(text: &str) -> Result<TokenLimit, String> {
    match text {
        "max" => Ok(TokenLimit::Max),
        "p90" => Ok(TokenLimit::P90),
        _ => text
            .replace(['_', ','], "")
            .parse()
            .map(TokenLimit::Tokens)
            .map_err(|_| format!("{text:?} is neither a number of tokens nor \"max\" or \"p90\"")),
    }
}

/// The shortest time between two polls or walks of the transcripts: below it a poll
/// loop is a busy loop (`--interval 0s` spun a core).
pub const MIN_INTERVAL: Duration = Duration::from_millis(10);

fn parse_interval(text: &str) -> Result<Duration, String> {
    let interval = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    if interval < MIN_INTERVAL {
        return Err(format!(
            "{text} is below the minimum of {}",
            humantime::format_duration(MIN_INTERVAL)
        ));
    }
    Ok(interval)
}

fn parse_hours(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(h) if h > 0.0 && h <= 24.0 * 7.0 => Ok(h),
        _ => Err(format!("{text:?} is not a number of hours (0 < H <= 168)")),
    }
}

#[derive(Debug, Args)]
pub struct BlocksArgs {
    #[command(flatten)]
    pub report: ReportArgs,

    /// Only the active block, with its burn rate and projection
    #[arg(long)]
    pub active: bool,

    /// Only blocks of the last 3 days
    #[arg(long)]
    pub recent: bool,

    /// Warn when a block (or the active block's projection) passes this many tokens;
    /// `max` takes the most any finished block used, `p90` their 90th percentile
    #[arg(long, value_parser = parse_token_limit, value_name = "N|max|p90")]
    pub token_limit: Option<TokenLimit>,

    /// Block length in hours (Claude's limits use 5)
    #[arg(long, default_value = "5", value_parser = parse_hours, value_name = "H")]
    pub session_length: f64,
}

impl BlocksArgs {
    pub fn options(&self) -> BlocksOptions {
        BlocksOptions {
            active: self.active,
            recent: self.recent,
            token_limit: self.token_limit,
            length_ms: (self.session_length * 3_600_000.0).round() as i64,
        }
    }
}

#[derive(Debug, Args)]
pub struct PricesArgs {
    /// Print as JSON
    #[arg(long, conflicts_with = "import")]
    pub json: bool,

    /// Add the Claude models of a LiteLLM price list (model_prices_and_context_window.json)
    /// that the table lacks to your price file (--prices, or ~/.config/cco-stats/prices.toml)
    #[arg(long, value_name = "FILE")]
    pub import: Option<PathBuf>,
}

/// An agent named as ccusage's subcommands name them.
fn parse_agent(name: &str) -> Result<Agent, String> {
    Agent::from_name(name.trim()).ok_or_else(|| {
        let known: Vec<&str> = Agent::ALL.iter().map(|a| a.name()).collect();
        format!("unknown agent {name:?} (known: {})", known.join(", "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn no_flags_give_the_default_options() {
        let cli = Cli::try_parse_from(["cco-stats", "daily"]).unwrap();
        let Command::Daily(args) = cli.command else {
            panic!("daily parses as daily");
        };
        assert_eq!(args.options(), ReportOptions::default());
    }
}
