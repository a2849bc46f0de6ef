//! The commands: glue only. `run` reads as the data's path: parse the command line, find
//! the roots, open the ledger, ingest, query, render. Each stage lives in its own folder
//! (see the crate doc); this module only wires them together per subcommand.

pub mod alerts;
pub mod dashboard;
pub mod doctor;
pub mod exchange;
pub mod live;
pub mod metrics;
pub mod prices;
pub mod progress;
pub mod report;
pub mod say;
pub mod status;
pub mod statusline;

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::cli::{Cli, Command, IngestArgs, LastArgs, OnceArgs, ReportArgs, StatusArgs, WatchArgs};
use crate::command::report::Periods;
use crate::ingest::Ingestor;
use crate::ingest::changes::{Changes, Mode, Waker};
use crate::ledger::{self, Store};
use crate::report::options::ReportOptions;
use crate::report::pricing;
use crate::sources;
use crate::sources::claude::roots::{self, Roots};

/// What to do about the database errors a person can fix.
pub fn advice(err: &anyhow::Error) -> Option<&'static str> {
    use rusqlite::ErrorCode;
    let code = err
        .chain()
        .find_map(|cause| match cause.downcast_ref::<rusqlite::Error>() {
            Some(rusqlite::Error::SqliteFailure(e, _)) => Some(e.code),
            _ => None,
        })?;
    match code {
        ErrorCode::DiskFull => Some(
            "the disk holding the database is full: free some space and run again. Nothing already recorded is lost, and the next run reads from where the last commit stopped.",
        ),
        ErrorCode::ReadOnly => Some(
            "the database is read-only here: check its permissions (and its folder's), or read it with --no-ingest.",
        ),
        ErrorCode::CannotOpen | ErrorCode::PermissionDenied => Some(
            "the database cannot be opened: check that its folder exists and is writable, or choose another with --db.",
        ),
        ErrorCode::DatabaseCorrupt => Some(
            "the database is damaged: `cco-stats doctor` checks it; keep a copy and start a new one with --db if it cannot be read.",
        ),
        _ => None,
    }
}

/// An error and its causes, as anyhow's `{:#}` writes them, each said once: SQLite's
/// errors carry their text twice (rusqlite's message, then the same after its code:
/// "Error code 26: file is not a database").
pub fn describe(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in err.chain() {
        let said = cause.to_string();
        let bare = said
            .strip_prefix("Error code ")
            .and_then(|rest| rest.split_once(": "))
            .map_or(said.as_str(), |(_, message)| message);
        if text.contains(bare) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&said);
    }
    text
}

pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

pub fn run(cli: Cli) -> Result<ExitCode> {
    report::set_terminal(report::Terminal {
        color: match (cli.color, cli.no_color) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        },
        compact: cli.compact,
    });
    let env = Env {
        db: match &cli.db {
            Some(path) => path.clone(),
            None => ledger::default_path()?,
        },
        roots: roots::roots(&cli.sources),
        prices: cli.prices.clone(),
        config: cli.config.clone(),
        quiet: cli.quiet,
    };
    // The status line must never wait on the ledger; completions and man pages have none.
    let uses_ledger = !matches!(
        cli.command,
        Command::Statusline(_) | Command::Completions(_) | Command::Man(_)
    );
    if let Some(path) = cli.db.as_deref().filter(|_| uses_ledger) {
        refuse_missing_folder(path)?;
    }
    if let Some(name) = cli.host_name.as_deref().filter(|_| uses_ledger) {
        name_host(&env.db, name)?;
    }
    match &cli.command {
        Command::Once(args) => run_once(&env, args),
        Command::Watch(args) => run_watch(&env, args),
        Command::Status(args) => run_status(&env, args),
        Command::Daily(args) => {
            let mut report = env.dated(&args.report, &args.last, Periods::Daily)?;
            match args.instances {
                true => report.instances(),
                false => report.periods(Periods::Daily),
            }
        }
        Command::Weekly(args) => {
            let weeks = Periods::Weekly(args.start_of_week);
            env.dated(&args.report, &args.last, weeks)?.periods(weeks)
        }
        Command::Monthly(args) => env
            .dated(&args.report, &args.last, Periods::Monthly)?
            .periods(Periods::Monthly),
        Command::Projects(args) => env.report(args)?.periods(Periods::Projects),
        Command::Models(args) => env.report(args)?.periods(Periods::Models),
        Command::Session(args) => env.report_of(&args.report, args.options())?.sessions(),
        Command::Hosts(args) => env.report(args)?.hosts(),
        Command::Agents(args) => env.report(args)?.agents(),
        Command::Limits(args) => env.report(args)?.limits(),
        Command::Blocks(args) => env.report(&args.report)?.blocks(args.options()),
        Command::Doctor => run_doctor(&env),
        Command::Rebuild => run_rebuild(&env),
        Command::Statusline(args) => {
            let text = statusline::run(&env.db, &env.roots, env.prices(), args);
            // Only a closed pipe can fail here, and then nobody is reading.
            let _ = print(&format!("{text}\n"));
            Ok(ExitCode::SUCCESS)
        }
        Command::Live(args) => live::run(&env.db, &env.roots, env.prices(), env.config(), args),
        Command::Check(args) => Ok(alerts::check(
            &env.db,
            &env.roots,
            env.prices(),
            env.config(),
            args,
            env.quiet,
        )),
        Command::Completions(args) => {
            let mut out = Vec::new();
            clap_complete::generate(args.shell, &mut Cli::command(), "cco-stats", &mut out);
            print(&String::from_utf8_lossy(&out))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Man(args) => {
            let written = man_pages(&args.dir)?;
            eprintln!(
                "cco-stats: {written} man pages written to {}",
                args.dir.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Prices(args) => prices::run(args, env.prices()),
        Command::Metrics(args) => metrics::run(&env.db, env.prices(), args),
        Command::Export(args) => exchange::export(&env.db, args),
        Command::Import(args) => exchange::import(open_for_ingest(&env)?, args, env.quiet),
        Command::Dashboard(args) => dashboard::run(&env, args),
        Command::Report(args) => dashboard::write_file(&env, args),
    }
}

/// What every command is given: the ledger, the data roots, the price file, the config
/// file and whether to be quiet.
struct Env {
    db: PathBuf,
    roots: Roots,
    prices: Option<PathBuf>,
    config: Option<PathBuf>,
    quiet: bool,
}

impl Env {
    fn prices(&self) -> Option<&Path> {
        self.prices.as_deref()
    }

    fn config(&self) -> Option<&Path> {
        self.config.as_deref()
    }

    /// A report by day, week or month, over the last N of them with `--last N`.
    fn dated(
        &self,
        args: &ReportArgs,
        last: &LastArgs,
        periods: Periods,
    ) -> Result<report::Context> {
        let mut report = self.report(args)?;
        if let Some(n) = last.last {
            report.last(periods, n)?;
        }
        Ok(report)
    }

    /// A report over the ledger, after an incremental ingest unless `--no-ingest`.
    fn report(&self, args: &ReportArgs) -> Result<report::Context> {
        self.report_of(args, args.options())
    }

    /// `report`, with the options a subcommand built from `args` and its own flags.
    fn report_of(&self, args: &ReportArgs, mut options: ReportOptions) -> Result<report::Context> {
        options.project_aliases = crate::config::load(self.config())?.projects;
        if !args.no_ingest {
            // An empty report should not leave the reader guessing why.
            warn_if_no_roots(&self.roots);
        }
        report::Context::open(&self.db, &self.roots, self.prices(), options, self.quiet)
    }
}

fn run_once(env: &Env, args: &OnceArgs) -> Result<ExitCode> {
    let stop = stop_flag()?;
    let mut store = open_for_ingest(env)?;
    warn_if_no_roots(&env.roots);
    let stats = progress::attach(Ingestor::new(&mut store, (&args.ingest).into()), env.quiet)
        .pass(&sources::folders(&env.roots), &stop)?;
    if !env.quiet {
        say::line(stats.summary());
    }
    if args.json {
        print(&crate::render::json::text(&stats))?;
    }
    // Everything readable is committed; a transcript that could not be read (named in a
    // warning above) must still show in cron's mail.
    Ok(match stats.files_unreadable {
        0 => ExitCode::SUCCESS,
        _ => ExitCode::from(1),
    })
}

/// The ledger, for `once`, `watch` and `import`, its aggregates split at the price table's tier
/// thresholds: a report read from it later with `--no-ingest` (cron's `once`, then
/// `daily --no-ingest`) then has nothing to learn, and no warning to give. The table is
/// parsed only when the ledger has not learned it yet.
fn open_for_ingest(env: &Env) -> Result<Store> {
    let mut store = Store::open(&env.db)?;
    let prices = pricing::PriceTexts::read(env.prices())?;
    store.learn_tiers_of(&prices.digest(), || Ok(prices.parse()?.tier_thresholds()))?;
    Ok(store)
}

fn run_watch(env: &Env, args: &WatchArgs) -> Result<ExitCode> {
    // Watching first: nothing written while the ledger opens is missed.
    let changes = Changes::start(
        &sources::folders(&env.roots),
        args.changes.schedule(args.interval),
    );
    let stop = stop_flag_waking(changes.waker())?;
    let mut store = open_for_ingest(env)?;
    warn_if_no_roots(&env.roots);
    say_what_is_watched(env, &changes, args);
    // Its own connection: the ingestor holds the other for the whole watch.
    let alerting = (
        alerts::Alerts::load(
            env.config(),
            &args.alerts,
            pricing::PriceTable::load(env.prices())?,
        )?,
        Store::open(&env.db)?,
    );
    // The server has its own threads and ledger connection; the loop knows nothing of it
    // but that it may stop the watch: a watch that no longer serves what it was asked to
    // ends, with the reason, so that its supervisor sees it and starts it again.
    let metrics = match &args.metrics_listen {
        Some(addr) => {
            let (stop, waker) = (stop.clone(), changes.waker());
            Some(metrics::serve(
                metrics::listen_address(addr, args.metrics_allow_remote)?,
                env.db.clone(),
                pricing::PriceTable::load(env.prices())?,
                crate::cli::MetricLabel::dimensions(&args.metrics_labels),
                move || {
                    stop.store(true, Ordering::SeqCst);
                    waker.wake();
                },
            )?)
        }
        None => None,
    };
    watch(
        &mut store,
        &args.ingest,
        args.interval,
        env.quiet,
        &stop,
        changes,
        alerting,
    );
    match metrics.as_ref().and_then(|serving| serving.failure()) {
        Some(failure) => Err(anyhow::anyhow!("{failure}")),
        None => Ok(ExitCode::SUCCESS),
    }
}

/// `watch`'s first lines: what it reads, how it learns of changes, where it writes. A
/// service's log then says what a watch was doing without `status`.
fn say_what_is_watched(env: &Env, changes: &Changes, args: &WatchArgs) {
    let folders: Vec<String> = sources::folders(&env.roots)
        .into_iter()
        .filter(|f| f.path.exists())
        .map(|f| format!("{} {}", f.agent, f.path.display()))
        .collect();
    match folders.is_empty() {
        true => say::line("watching: no agent folder is there yet"),
        false => say::line(format_args!("watching {}", folders.join(", "))),
    }
    let every = |d: Duration| humantime::format_duration(d).to_string();
    let how = match changes.mode() {
        Mode::Notify => "notify mode (the OS tells of changes)".to_string(),
        Mode::Poll => format!("poll mode (every {})", every(args.interval)),
    };
    say::line(format_args!(
        "{how}, a full pass every {}; ledger {}",
        every(args.changes.rescan),
        env.db.display()
    ));
}

fn run_status(env: &Env, args: &StatusArgs) -> Result<ExitCode> {
    let status = status::gather(&env.db, &env.roots)?;
    let text = match args.json {
        true => crate::render::json::text(&status),
        false => status::render(&status),
    };
    print(&text)?;
    Ok(ExitCode::SUCCESS)
}

fn run_doctor(env: &Env) -> Result<ExitCode> {
    let table = pricing::PriceTable::load(env.prices())?;
    let findings = doctor::check(&env.db, &env.roots, &table)?;
    print(&doctor::render(&findings))?;
    let worst = findings.iter().map(|f| f.level).max();
    Ok(match worst {
        Some(doctor::Level::Problem) => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    })
}

fn run_rebuild(env: &Env) -> Result<ExitCode> {
    let mut store = Store::open(&env.db)?;
    let started = std::time::Instant::now();
    let table = pricing::PriceTable::load(env.prices())?;
    store.learn_tiers(&table.tier_thresholds())?;
    store.rebuild_aggregates()?;
    let ok = ledger::aggregate::consistent(store.conn())?;
    eprintln!(
        "cco-stats: report aggregates, dedup index and projects rebuilt from the ledger in {} ms{}",
        started.elapsed().as_millis(),
        if ok {
            ""
        } else {
            " (still inconsistent: please report this)"
        }
    );
    Ok(match ok {
        true => ExitCode::SUCCESS,
        false => ExitCode::from(2),
    })
}

/// A `--db` in a folder that does not exist is a mistyped path far more often than a new
/// ledger: reporting from a fresh, empty one would look like history lost. (The default
/// path's folders are created.)
fn refuse_missing_folder(db: &std::path::Path) -> Result<()> {
    if let Some(dir) = db
        .parent()
        .filter(|d| !d.as_os_str().is_empty() && !d.exists())
    {
        anyhow::bail!(
            "--db {}: no folder {} (a typo? to start a new ledger there, create the folder first)",
            db.display(),
            dir.display()
        );
    }
    Ok(())
}

/// Stores `--host-name` in the ledger (creating it if needed), once per run.
fn name_host(db: &std::path::Path, name: &str) -> Result<()> {
    let name = name.trim();
    anyhow::ensure!(!name.is_empty(), "--host-name must not be empty");
    let store = Store::open(db)?;
    if store.host()?.name != name {
        store.set_host_name(name)?;
    }
    Ok(())
}

/// `cco-stats.1` and a `cco-stats-<command>.1` per visible subcommand, into `dir`.
fn man_pages(dir: &std::path::Path) -> Result<usize> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let cli = Cli::command();
    let mut written = 0;
    let mut write = |name: String, command: clap::Command| -> Result<()> {
        let path = dir.join(format!("{name}.1"));
        let mut out = Vec::new();
        clap_mangen::Man::new(command).render(&mut out)?;
        std::fs::write(&path, out).with_context(|| format!("cannot write {}", path.display()))?;
        written += 1;
        Ok(())
    };
    for sub in cli.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("cco-stats-{}", sub.get_name());
        write(name.clone(), sub.clone().name(name))?;
    }
    write("cco-stats".to_string(), cli)?;
    Ok(written)
}

fn warn_if_no_roots(roots: &Roots) {
    // Another agent's data is reason enough to run.
    let others = sources::folders(roots).iter().any(|f| f.path.is_dir());
    if roots.paths.is_empty() && !others {
        log::warn!(
            "no agent data found (Claude Code in ~/.config/claude or ~/.claude, Codex in ~/.codex); set CLAUDE_CONFIG_DIR or pass --source DIR, or set CODEX_HOME"
        );
    }
}

/// SIGINT/SIGTERM set the flag: the pass stops at the next line, flushes, and returns.
fn stop_flag() -> Result<Arc<AtomicBool>> {
    stop_flag_with(|| {})
}

/// `stop_flag`, also waking `watch`'s wait: an idle `watch` sleeps until told.
fn stop_flag_waking(waker: Waker) -> Result<Arc<AtomicBool>> {
    stop_flag_with(move || waker.wake())
}

fn stop_flag_with(then: impl Fn() + Send + 'static) -> Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || {
        flag.store(true, Ordering::SeqCst);
        then();
    })
    .context("cannot install the signal handler")?;
    Ok(stop)
}

/// Keeps the ledger current until stopped: reads what the OS says changed, or polls
/// (see `ingest::changes`). A failed pass (database busy, disk full) is reported and
/// retried with growing back-off; nothing committed is lost by it. The alert thresholds
/// are judged after each pass and at least every `alerts::ALERT_EVERY`.
fn watch(
    store: &mut Store,
    args: &IngestArgs,
    interval: Duration,
    quiet: bool,
    stop: &AtomicBool,
    mut changes: Changes,
    (mut alerts, alert_store): (alerts::Alerts, Store),
) {
    let mut ingestor = progress::attach(Ingestor::new(store, args.into()), quiet);
    log::info!("watching in {} mode", changes.mode().name());
    // With notification the interval may be long (it is for polling only): a failed pass
    // is retried soon all the same.
    let first_retry = interval.min(Duration::from_secs(5));
    let mut backoff = first_retry;
    let mut next_check = std::time::Instant::now() + alerts::ALERT_EVERY;
    while !stop.load(Ordering::SeqCst) {
        let wait = next_check.saturating_duration_since(std::time::Instant::now());
        let work = changes.next(wait, stop);
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let passed = work.map(|work| changes.run(&mut ingestor, work, stop));
        if matches!(passed, Some(Ok(_))) || std::time::Instant::now() >= next_check {
            let now_ms = jiff::Timestamp::now().as_millisecond();
            if let Err(err) = alerts.judge_and_fire(&alert_store, now_ms) {
                log::error!("cannot judge the alert thresholds: {err:#}");
            }
            next_check = std::time::Instant::now() + alerts::ALERT_EVERY;
        }
        match passed {
            None => {}
            Some(Ok(stats)) => {
                if stats.files_changed > 0 {
                    log::info!("{}", stats.summary());
                }
                backoff = first_retry;
            }
            Some(Err(err)) => {
                log::error!(
                    "pass failed, retrying in {}: {err:#}",
                    humantime::format_duration(backoff)
                );
                changes.retry_after(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(60)).max(first_retry);
            }
        }
    }
    // The last event count, for `status`; a ledger that cannot be written now has said so.
    if let Err(err) = changes.save(&ingestor) {
        log::debug!("cannot record the watch's end: {err:#}");
    }
}

pub fn print(text: &str) -> Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}
