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
    WeekStart::Tuesday => "tuesday",
    WeekStart::Wednesday => "wednesday",
    WeekStart::Thursday => "thursday",
    WeekStart::Friday => "friday",
    WeekStart::Saturday => "saturday",
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
/// cco-stats reads the logs of Claude Code, Codex, Gemini CLI, Qwen Code, OpenCode, Amp,
/// GitHub Copilot CLI, Droid, Kilo, Codebuff, Hermes, Kimi CLI, pi, OpenClaw and Goose
/// from where it last stopped, keeps
/// every billable response in a SQLite ledger exactly once, and answers reports from it.
/// The ledger keeps your history after the agents delete theirs.
#[derive(Debug, Parser)]
#[command(
    name = "cco-stats",
    version,
    disable_version_flag = true,
    max_term_width = 100,
    next_help_heading = "Global options"
)]
pub struct Cli {
    /// Print version (-v as ccusage spells it)
    #[arg(short = 'V', short_alias = 'v', long, action = clap::ArgAction::Version)]
    version: Option<bool>,

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

    /// The config file (the commands' defaults, thresholds, budgets, the alert command)
    /// [default: ~/.config/cco-stats/config.toml]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Set aside the config file's per-command defaults for this run (a default flag has
    /// no off switch of its own)
    #[arg(long, global = true)]
    pub no_defaults: bool,

    /// This machine's name in the ledger (stored in it; `status` and `metrics` show it)
    /// [default: the hostname]
    #[arg(long, global = true, env = "CCO_STATS_HOST_NAME", value_name = "NAME")]
    pub host_name: Option<String>,

    /// No progress bar and no pass summary
    #[arg(long, short, global = true)]
    pub quiet: bool,

    /// Colour even when stdout is not a terminal (as FORCE_COLOR=1 does)
    #[arg(long, global = true, overrides_with = "no_color")]
    pub color: bool,

    /// No colour (as NO_COLOR=1 does)
    #[arg(long, global = true, overrides_with = "color")]
    pub no_color: bool,

    /// Tables in their narrow layout (input, output, total, cost), whatever the width
    #[arg(long, global = true)]
    pub compact: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read new transcript lines into the ledger once, then exit (for cron)
    Once(OnceArgs),
    /// Keep the ledger up to date until stopped: read new lines as the OS reports changes
    /// (or every --interval with --poll)
    Watch(WatchArgs),
    /// What the ledger holds and where it comes from
    Status(StatusArgs),
    /// Usage and cost per day
    Daily(DailyArgs),
    /// Usage and cost per week (named by the day it starts)
    Weekly(WeeklyArgs),
    /// Usage and cost per month
    Monthly(MonthlyArgs),
    /// Usage and cost per session (subagents count in their parent session), the
    /// costliest first
    Session(SessionArgs),
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
    /// A local web dashboard of the ledger (loopback only), kept current as `watch` keeps it
    Dashboard(DashboardArgs),
    /// The dashboard's charts and tables as one self-contained HTML file (--html FILE)
    Report(HtmlReportArgs),
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
    // The values are listed above: their own help would turn `--help` into the long form.
    #[arg(long, value_enum, value_delimiter = ',', default_value = render::statusline::DEFAULT_FIELDS, value_name = "FIELDS", hide_possible_values = true)]
    pub format: Vec<Field>,

    /// Whose session cost to show: ledger (from the session's transcripts, subagents
    /// included), claude (Claude Code's own estimate, reset by /clear) or both
    #[arg(long, value_enum, default_value_t = CostSource::Ledger, hide_possible_values = true, value_name = "SOURCE")]
    pub cost_source: CostSource,

    /// IANA time zone that "today" is counted in [default: the system's]
    #[arg(long, short = 'z', value_name = "ZONE")]
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
    #[arg(long, short = 'z', value_name = "ZONE")]
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
    pub after: Option<String>,

    /// Only responses from this day on (YYYY-MM-DD or YYYYMMDD); a cursor here, as
    /// before --after, still works
    #[arg(long, short, value_parser = parse_export_since, value_name = "DATE")]
    pub since: Option<ExportSince>,

    /// Only responses up to this day, inclusive (YYYY-MM-DD or YYYYMMDD)
    #[arg(long, short, value_parser = parse_date, value_name = "DATE")]
    pub until: Option<Date>,

    /// IANA time zone that --since and --until days are counted in [default: the system's]
    #[arg(long, short = 'z', value_name = "ZONE")]
    pub timezone: Option<String>,

    /// Also write the cursor this export ends at to this file (atomically)
    #[arg(long, value_name = "PATH")]
    pub cursor_file: Option<PathBuf>,
}

/// `export --since`: a day, or (its meaning before `--after`) a cursor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExportSince {
    Date(Date),
    Cursor(String),
}

/// A cursor is `<host id>:<number>`; no date has a colon.
fn parse_export_since(text: &str) -> Result<ExportSince, String> {
    match parse_date(text) {
        Ok(date) => Ok(ExportSince::Date(date)),
        Err(_) if text.contains(':') => Ok(ExportSince::Cursor(text.to_string())),
        Err(e) => Err(format!("{e}; a cursor goes to --after")),
    }
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Export files (`cco-stats export`), from this machine or others; `-` reads stdin
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// A file with a bad line imports nothing (default: its other lines are imported)
    #[arg(long)]
    pub atomic: bool,

    /// A line longer than this many MiB ends its file (the rest is not read)
    #[arg(long, default_value_t = ingest::DEFAULT_MAX_LINE_MIB, value_name = "MIB", value_parser = max_line_mib())]
    pub max_line_mib: u64,
}

#[derive(Debug, Args)]
pub struct DashboardArgs {
    /// Listen at this address (host:port, or a port alone for loopback)
    /// [default: 127.0.0.1:8464]
    #[arg(long, value_name = "ADDR", conflicts_with = "port")]
    pub listen: Option<String>,

    /// Listen on this port of loopback
    #[arg(long, value_name = "N")]
    pub port: Option<u16>,

    /// Let --listen bind to an address other machines can reach
    #[arg(long, requires = "listen")]
    pub allow_remote: bool,

    /// Open the dashboard in the desktop's browser ($BROWSER, else xdg-open)
    #[arg(long)]
    pub open: bool,

    /// IANA time zone that days are counted in [default: the system's]
    #[arg(long, value_name = "ZONE")]
    pub timezone: Option<String>,

    #[command(flatten)]
    pub ingest: IngestArgs,

    /// Time between polls when the OS's change notification is not used (e.g. 5s, 1m)
    #[arg(long, default_value = "5s", value_parser = parse_interval, value_name = "DURATION")]
    pub interval: Duration,

    #[command(flatten)]
    pub changes: ChangeArgs,
}

#[derive(Debug, Args)]
pub struct HtmlReportArgs {
    /// Write the report to this file (replaced whole)
    #[arg(long, value_name = "FILE", required = true)]
    pub html: PathBuf,

    /// Split the daily cost chart by model or by agent
    #[arg(long, value_enum, default_value_t = StackBy::Model)]
    pub by: StackBy,

    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum StackBy {
    Model,
    Agent,
}

impl From<StackBy> for crate::report::dashboard::Stack {
    fn from(by: StackBy) -> Self {
        match by {
            StackBy::Model => crate::report::dashboard::Stack::Model,
            StackBy::Agent => crate::report::dashboard::Stack::Agent,
        }
    }
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
    #[arg(long, short, value_parser = parse_date, value_name = "DATE")]
    pub since: Option<Date>,

    /// Last day to include (YYYY-MM-DD or YYYYMMDD)
    #[arg(long, short, value_parser = parse_date, value_name = "DATE")]
    pub until: Option<Date>,

    /// IANA time zone that days are counted in [default: the system's]
    #[arg(long, short = 'z', value_name = "ZONE")]
    pub timezone: Option<String>,

    /// Only this project: its path (`~/dev/app`), its folder's name (`app`), a part of its
    /// path that only it has, its encoded folder (`-home-dev-app`), or an alias from the
    /// config file's `[projects]`
    // Folder names start with '-' (an encoded '/'): they are values, not flags.
    #[arg(long, short, value_name = "NAME", allow_hyphen_values = true)]
    pub project: Option<String>,

    /// Only the rows recorded on this host: its name or id (see `cco-stats hosts`)
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,

    /// Only these agents' usage (a comma list of: claude, codex, gemini, qwen, opencode,
    /// amp, copilot, droid, kilo, codebuff, hermes, kimi, pi, openclaw, goose) [default:
    /// every agent; Claude Code's for blocks]
    #[arg(long, value_name = "NAME[,NAME…]", value_delimiter = ',', value_parser = parse_agent)]
    pub agent: Vec<Agent>,

    /// Show usage per model under each row
    #[arg(long, short)]
    pub breakdown: bool,

    /// Row order, by date (or name) [default: asc; `session`: by cost, the costliest
    /// first]
    #[arg(long, short, value_enum)]
    pub order: Option<Order>,

    /// Print as JSON (ccusage's shape where it has one)
    #[arg(long, short, conflicts_with = "csv")]
    pub json: bool,

    /// Print as CSV (RFC 4180)
    #[arg(long)]
    pub csv: bool,

    /// Leave costs out
    #[arg(long)]
    pub no_cost: bool,

    /// auto: a line's own costUSD where it has one, else computed; calculate: always
    /// computed from tokens; display: costUSD only
    #[arg(long, short, value_enum, default_value_t = CostMode::Auto)]
    pub mode: CostMode,

    /// Accepted as ccusage takes it: prices here never come from the network (the
    /// built-in table and your price file)
    #[arg(long, short = 'O')]
    pub offline: bool,

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
            project_aliases: Default::default(),
            host: self.host.clone(),
            agents: self.agent.clone(),
            session: None,
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

/// `daily`: the shared options, `--last` and ccusage's breakdown by project.
#[derive(Debug, Args)]
pub struct DailyArgs {
    #[command(flatten)]
    pub report: ReportArgs,

    /// Each project's days apart (ccusage's instances), then the projects' totals
    #[arg(long, short)]
    pub instances: bool,

    #[command(flatten)]
    pub last: LastArgs,
}

#[derive(Debug, Args)]
pub struct SessionArgs {
    #[command(flatten)]
    pub report: ReportArgs,

    /// Only the sessions whose id starts with this (a whole id, or its first characters)
    #[arg(long, short, value_name = "ID")]
    pub id: Option<String>,
}

impl SessionArgs {
    pub fn options(&self) -> ReportOptions {
        ReportOptions {
            session: self.id.clone(),
            ..self.report.options()
        }
    }
}

#[derive(Debug, Args)]
pub struct WeeklyArgs {
    #[command(flatten)]
    pub report: ReportArgs,

    /// The day a week starts on
    #[arg(long, short = 'w', value_enum, ignore_case = true, default_value_t = WeekStart::Sunday, value_name = "DAY")]
    pub start_of_week: WeekStart,

    #[command(flatten)]
    pub last: LastArgs,
}

#[derive(Debug, Args)]
pub struct MonthlyArgs {
    #[command(flatten)]
    pub report: ReportArgs,

    #[command(flatten)]
    pub last: LastArgs,
}

/// `--last N`, of the reports by day, week and month.
#[derive(Debug, Args)]
pub struct LastArgs {
    /// Only the last N periods up to now, empty ones counted (1: today, this week or
    /// this month)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..), conflicts_with_all = ["since", "until"])]
    pub last: Option<u32>,
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
    #[arg(long, short)]
    pub active: bool,

    /// Only blocks of the last 3 days
    #[arg(long, short)]
    pub recent: bool,

    /// Warn when a block (or the active block's projection) passes this many tokens;
    /// `max` takes the most any finished block used, `p90` their 90th percentile
    #[arg(long, short, value_parser = parse_token_limit, value_name = "N|max|p90")]
    pub token_limit: Option<TokenLimit>,

    /// Block length in hours (Claude's limits use 5)
    #[arg(long, short = 'n', default_value = "5", value_parser = parse_hours, value_name = "H")]
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
        assert_eq!(args.report.options(), ReportOptions::default());
    }
}
