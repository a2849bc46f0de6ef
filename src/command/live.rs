//! `cco-stats live`: a full-screen view that keeps the ledger current like `watch` and
//! redraws after each pass or on a key.
//!
//! Two connections: the ingestor's writer, and a reader that builds the view through the
//! report code (`Context`), so the figures are those of `daily`, `blocks` and `session`.
//! The view is rebuilt only when the ledger moved (ours or another process's commit, seen
//! in SQLite's `data_version`) or every half minute for the clock. It learns of changes
//! as `watch` does (`ingest::changes`): an idle view costs a redraw every half minute,
//! or with polling a few `stat`s per interval. The terminal is restored on every way out:
//! `q`, Esc, Ctrl-C, SIGTERM, an error, and a panic (ratatui's hook).

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};

use crate::cli::LiveArgs;
use crate::command::alerts::{ALERT_EVERY, Alerts, Say};
use crate::command::report::{Context, Periods};
use crate::ingest::changes::{Changes, Mode};
use crate::ingest::{Ingestor, PassStats};
use crate::ledger::Store;
use crate::model::calendar;
use crate::render;
use crate::report::blocks;
use crate::report::live::{
    ActiveBlock, LimitSource, Live, SPARK_BUCKET_MS, SPARK_BUCKETS, SessionRow, spark,
};
use crate::report::options::{ReportOptions, TokenLimit};
use crate::report::pricing::PriceTable;
use crate::sources::claude::roots::Roots;

const BLOCK_MS: i64 = 5 * 3_600_000;
/// The view is rebuilt at least this often, for what moves with the clock alone.
const CLOCK_REFRESH: Duration = Duration::from_secs(30);
/// `max` and `p90` look at all finished blocks: recomputed at most this often.
const LIMIT_REFRESH_MS: i64 = 10 * 60_000;
const SESSIONS_SHOWN: usize = 50;

pub fn run(
    db: &Path,
    roots: &Roots,
    prices: Option<&Path>,
    config: Option<&Path>,
    args: &LiveArgs,
) -> Result<ExitCode> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        bail!(
            "live draws a full-screen view and needs a terminal; in a pipe or a script use `cco-stats blocks --active` or `cco-stats daily`"
        );
    }
    let prices = PriceTable::load(prices)?;
    let mut alerts = Alerts::load(config, &args.alerts, prices.clone())?;
    // The full screen would be torn by stderr: the view shows what fired.
    alerts.say = Say::Keep(Vec::new());
    let options = report_options(args.timezone.clone());
    let zone_name = zone_name(args.timezone.as_deref())?;
    let mut writer = Store::open(db)?;
    // As a report does: aggregates that tell the price table's tiers apart.
    writer.learn_tiers(&prices.tier_thresholds())?;
    let reader = Store::open_read_only(db)?;
    let alert_store = Store::open(db)?;
    let mut source = Source::new(reader, prices, options, args.token_limit, zone_name)?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst))
        .context("cannot install the signal handler")?;
    let mut ingestor = Ingestor::new(&mut writer, (&args.ingest).into());
    // Before the full screen: a fallback to polling is said on stderr.
    let mut changes = Changes::start(
        &crate::sources::folders(roots),
        args.changes.schedule(args.interval),
    );
    let mut terminal = ratatui::try_init().context("cannot set up the terminal")?;
    let outcome = event_loop(
        &mut terminal,
        &mut ingestor,
        &mut source,
        &mut changes,
        (&mut alerts, &alert_store),
        args,
        &stop,
    );
    ratatui::try_restore().context("cannot restore the terminal")?;
    outcome.map(|()| ExitCode::SUCCESS)
}

fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    ingestor: &mut Ingestor<'_>,
    source: &mut Source,
    changes: &mut Changes,
    (alerts, alert_store): (&mut Alerts, &Store),
    args: &LiveArgs,
    stop: &AtomicBool,
) -> Result<()> {
    let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let mut view: Option<Live> = None;
    let mut next_check = Instant::now();
    let mut fired: Option<String> = None;
    let mut built = Instant::now();
    let mut seen_version = None;
    let mut last_pass: Option<String> = None;
    let mut pass_text: Option<String> = None;
    let mut redraw = true;
    while !stop.load(Ordering::SeqCst) {
        let mut passed = false;
        if let Some(work) = changes.next(Duration::ZERO, stop) {
            pass_text = Some(match changes.run(ingestor, work, stop) {
                Ok(stats) => pass_line(&stats, changes.mode()),
                Err(e) => {
                    changes.retry_after(args.interval);
                    format!("pass failed, retrying: {e:#}")
                }
            });
            passed = true;
        }
        if passed || Instant::now() >= next_check {
            next_check = Instant::now() + ALERT_EVERY;
            let said = match alerts
                .judge_and_fire(alert_store, jiff::Timestamp::now().as_millisecond())
            {
                Err(e) => Some(format!("cannot judge the alert thresholds: {e:#}")),
                Ok(_) => match &mut alerts.say {
                    Say::Keep(lines) => lines.drain(..).next_back().map(|l| format!("alert: {l}")),
                    Say::Stderr => None,
                },
            };
            if said.is_some() {
                fired = said;
                passed = true;
            }
        }
        if passed {
            // The last alert stays beside the pass line until the view closes.
            last_pass = match (&pass_text, &fired) {
                (Some(pass), Some(alert)) => Some(format!("{pass} · {alert}")),
                (pass, alert) => pass.clone().or_else(|| alert.clone()),
            };
        }
        if passed || view.is_none() || built.elapsed() >= CLOCK_REFRESH {
            let version = source.data_version()?;
            if view.is_none() || seen_version != Some(version) || built.elapsed() >= CLOCK_REFRESH {
                seen_version = Some(version);
                built = Instant::now();
                view =
                    Some(source.live(jiff::Timestamp::now().as_millisecond(), last_pass.clone())?);
            } else if let Some(v) = view.as_mut() {
                v.last_pass = last_pass.clone();
                v.now_ms = jiff::Timestamp::now().as_millisecond();
            }
            redraw = true;
        }
        if redraw && let Some(v) = &view {
            terminal.draw(|frame| render::live::draw(frame, v, color))?;
            redraw = false;
        }
        let wait = changes
            .deadline()
            .min(built + CLOCK_REFRESH)
            .saturating_duration_since(Instant::now());
        // Short polls, so that SIGTERM and the OS's change events are seen soon.
        if event::poll(wait.min(Duration::from_millis(250)))? {
            match event::read()? {
                Event::Key(key) if key.kind == KeyEventKind::Press => match key.code {
                    KeyCode::Char('q') | KeyCode::Esc => break,
                    KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => break,
                    KeyCode::Char('r') => {
                        changes.ask_full();
                        view = None;
                    }
                    _ => {}
                },
                Event::Resize(..) => redraw = true,
                _ => {}
            }
        }
    }
    // The last event count, for `status`.
    if let Err(e) = changes.save(ingestor) {
        log::debug!("cannot record the view's end: {e:#}");
    }
    Ok(())
}

fn pass_line(stats: &PassStats, mode: Mode) -> String {
    let at = jiff::Timestamp::now().strftime("%H:%M:%S UTC");
    format!(
        "pass {at}: {} files, {} changed ({})",
        render::thousands(stats.files_seen),
        stats.files_changed,
        mode.name(),
    )
}

/// The zone's IANA name, as the view shows it.
fn zone_name(name: Option<&str>) -> Result<String> {
    let zone = calendar::zone(name)?;
    Ok(zone.iana_name().unwrap_or("UTC").to_string())
}

/// The options a report would have for the same figures: all history, costs as `auto`,
/// from the ledger as it is (the view ingests on its own schedule).
pub fn report_options(timezone: Option<String>) -> ReportOptions {
    ReportOptions {
        timezone,
        ingest: false,
        ..ReportOptions::default()
    }
}

/// Builds the view from a ledger through the report code, keeping the block limit
/// between builds.
pub struct Source {
    ctx: Context,
    token_limit: TokenLimit,
    zone_name: String,
    limit: Option<(u64, LimitSource, i64)>,
}

impl Source {
    /// `token_limit` `None` means `p90`.
    pub fn new(
        store: Store,
        prices: PriceTable,
        options: ReportOptions,
        token_limit: Option<TokenLimit>,
        zone_name: String,
    ) -> Result<Source> {
        Ok(Source {
            ctx: Context::with_store(store, prices, options)?,
            token_limit: token_limit.unwrap_or(TokenLimit::P90),
            zone_name,
            limit: None,
        })
    }

    pub fn data_version(&self) -> Result<i64> {
        self.ctx.store().data_version()
    }

    /// The view at `now_ms`.
    pub fn live(&mut self, now_ms: i64, last_pass: Option<String>) -> Result<Live> {
        self.ctx.set_since_ms(None);
        let mut quota = self.ctx.quota_now(now_ms)?;
        quota.retain(|w| w.used_percent.is_some());
        let block = self
            .ctx
            .active_block(BLOCK_MS, now_ms)?
            .map(|b| ActiveBlock {
                burn: b.burn_rate(),
                projection: b.projection(now_ms),
                block: b,
            });
        let limit = self.limit(now_ms)?;
        let last_bucket = now_ms.div_euclid(SPARK_BUCKET_MS);
        let spark_from = (last_bucket - SPARK_BUCKETS as i64 + 1) * SPARK_BUCKET_MS;
        self.ctx.set_since_ms(Some(spark_from));
        let spark = spark(&self.ctx.quarter_hours()?, now_ms);
        let day = calendar::local_date(now_ms, self.ctx.zone());
        self.ctx.set_days(Some(day), Some(day))?;
        let today = self.ctx.period_report(Periods::Daily)?.totals;
        let (mut sessions, _) = self.ctx.session_report()?;
        sessions.sort_by(|a, b| b.usage.cost.total_cmp(&a.usage.cost));
        sessions.truncate(SESSIONS_SHOWN);
        Ok(Live {
            now_ms,
            zone_name: self.zone_name.clone(),
            today,
            block,
            limit,
            spark,
            sessions: sessions
                .into_iter()
                .map(|s| SessionRow {
                    session_id: s.session_id,
                    project: s.project,
                    usage: s.usage,
                })
                .collect(),
            last_pass,
            quota,
        })
    }

    /// The block limit; `max` and `p90` over all history (the context's range then).
    fn limit(&mut self, now_ms: i64) -> Result<Option<(u64, LimitSource)>> {
        let source = match self.token_limit {
            TokenLimit::Tokens(n) => return Ok(Some((n, LimitSource::Given))),
            TokenLimit::Max => LimitSource::Max,
            TokenLimit::P90 => LimitSource::P90,
        };
        if let Some((limit, source, at)) = self.limit
            && now_ms - at < LIMIT_REFRESH_MS
        {
            return Ok(Some((limit, source)));
        }
        let finished = self.ctx.all_blocks(BLOCK_MS, now_ms)?;
        let limit = match source {
            LimitSource::Max => blocks::max_tokens(&finished),
            _ => blocks::p90_tokens(&finished),
        };
        self.limit = Some((limit, source, now_ms));
        Ok((limit > 0).then_some((limit, source)))
    }
}
