//! cco-stats: the pipeline glue. `run` reads as the data's path: parse the command line,
//! find the roots, open the ledger, ingest, query, render.

mod batch;
mod calendar;
mod cli;
mod dedup;
mod discover;
mod ingest;
mod parse;
mod pricing;
mod query;
mod render;
mod report;
mod status;
mod store;
mod tail;

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Parser;

use crate::cli::{Cli, Command, IngestArgs, ReportArgs};
use crate::ingest::{Ingestor, Options};
use crate::report::CostMode;
use crate::store::Store;

fn main() -> ExitCode {
    init_logging();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("cco-stats: error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn init_logging() {
    env_logger::Builder::new()
        .filter_level(log::LevelFilter::Warn)
        .parse_env("RUST_LOG")
        .format(|f, record| {
            let level = record.level().to_string().to_lowercase();
            writeln!(f, "cco-stats: {level}: {}", record.args())
        })
        .init();
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

fn run(cli: Cli) -> Result<ExitCode> {
    let db = match &cli.db {
        Some(path) => path.clone(),
        None => store::default_path()?,
    };
    let roots = discover::roots(&cli.sources);
    match cli.command {
        Command::Once(args) => {
            let stop = stop_flag()?;
            let mut store = Store::open(&db)?;
            warn_if_no_roots(&roots);
            let stats =
                Ingestor::new(&mut store, options(&args.ingest)).pass(&roots.paths, &stop)?;
            eprintln!("cco-stats: {}", stats.summary());
            if args.json {
                print(&format!("{}\n", serde_json::to_string_pretty(&stats)?))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Watch(args) => {
            let stop = stop_flag()?;
            let mut store = Store::open(&db)?;
            warn_if_no_roots(&roots);
            watch(&mut store, &roots.paths, &args.ingest, args.interval, &stop);
            Ok(ExitCode::SUCCESS)
        }
        Command::Status(args) => {
            let status = status::gather(&db, &roots)?;
            let text = if args.json {
                format!("{}\n", serde_json::to_string_pretty(&status)?)
            } else {
                status::render(&status)
            };
            print(&text)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Daily(args) => {
            let prices = pricing::PriceTable::load(cli.prices.as_deref())?;
            let store = open_for_report(&db, &roots, &args)?;
            let zone = calendar::zone(args.timezone.as_deref())?;
            let (since_ms, until_ms) = calendar::range_ms(args.since, args.until, &zone)?;
            let filter = query::Filter {
                since_ms,
                until_ms,
                project: None,
            };
            let groups = query::groups(store.conn(), &filter)?;
            let report = report::build(&groups, &prices, CostMode::Auto, |bucket| {
                calendar::local_date(bucket, &zone).to_string()
            });
            warn_unpriced(&report.totals);
            let text = if args.json {
                format!(
                    "{}\n",
                    serde_json::to_string_pretty(&render::periods_json(&report, "daily", "date"))?
                )
            } else {
                render::periods_table(&report, "Date")
            };
            print(&text)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn options(args: &IngestArgs) -> Options {
    Options {
        batch_size: args.batch_size as usize,
        flush_interval: args.flush_interval,
        max_line: (args.max_line_mib as usize) << 20,
    }
}

/// A report reads the ledger after an incremental ingest, or only the ledger.
fn open_for_report(
    db: &std::path::Path,
    roots: &discover::Roots,
    args: &ReportArgs,
) -> Result<Store> {
    if args.no_ingest {
        return Store::open_read_only(db);
    }
    let mut store = Store::open(db)?;
    let never = AtomicBool::new(false);
    let stats = Ingestor::new(&mut store, options(&default_ingest()))
        .pass(&roots.paths, &never)
        .context("ingest before the report failed (use --no-ingest to read the ledger as it is)")?;
    log::info!("{}", stats.summary());
    Ok(store)
}

fn default_ingest() -> IngestArgs {
    IngestArgs {
        batch_size: 100,
        flush_interval: Duration::from_secs(30),
        max_line_mib: 64,
    }
}

fn warn_if_no_roots(roots: &discover::Roots) {
    if roots.paths.is_empty() {
        log::warn!(
            "no Claude data found in ~/.config/claude or ~/.claude; set CLAUDE_CONFIG_DIR or pass --source DIR"
        );
    }
}

fn warn_unpriced(usage: &report::Usage) {
    let unpriced = usage.unpriced_models();
    if !unpriced.is_empty() {
        let names: Vec<&str> = unpriced.into_iter().collect();
        log::warn!(
            "no price for {}: their cost is left out (add them to a price file, see `--prices`)",
            names.join(", ")
        );
    }
}

/// SIGINT/SIGTERM set the flag: the pass stops at the next line, flushes, and returns.
fn stop_flag() -> Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst))
        .context("cannot install the signal handler")?;
    Ok(stop)
}

/// Passes every `interval` until stopped. A failed pass (database busy, disk full) is
/// reported and retried with growing back-off; nothing committed is lost by it.
fn watch(
    store: &mut Store,
    roots: &[PathBuf],
    args: &IngestArgs,
    interval: Duration,
    stop: &AtomicBool,
) {
    let mut ingestor = Ingestor::new(store, options(args));
    let mut backoff = interval;
    while !stop.load(Ordering::SeqCst) {
        let wait = match ingestor.pass(roots, stop) {
            Ok(stats) => {
                if stats.files_changed > 0 {
                    log::info!("{}", stats.summary());
                }
                backoff = interval;
                interval
            }
            Err(err) => {
                log::error!(
                    "pass failed, retrying in {}: {err:#}",
                    humantime::format_duration(backoff)
                );
                let wait = backoff;
                backoff = (backoff * 2).min(Duration::from_secs(300)).max(interval);
                wait
            }
        };
        sleep_unless_stopped(wait, stop);
    }
}

fn sleep_unless_stopped(duration: Duration, stop: &AtomicBool) {
    let until = Instant::now() + duration;
    while !stop.load(Ordering::SeqCst) {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
}

fn print(text: &str) -> Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}
