//! `cco-stats dashboard` and `cco-stats report --html`: gather the dashboard's model
//! (`report::dashboard`) from the reports' own `Context`, render it (`render::html`), and
//! serve it on the bounded HTTP server (`crate::http`, loopback only unless
//! `--allow-remote`) while the watch loop keeps the ledger current, or write it to a file.
//!
//! The server answers on threads of its own, each request on a fresh read-only ledger
//! connection: a page never waits on the ingest, and the ingest never on a page. The
//! page asks `/stamp` (`query::stamp`) twice a second and fetches itself again when it
//! changed.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;

use anyhow::{Context as _, Result};
use jiff::ToSpan;
use jiff::civil::Date;

use super::Env;
use super::report::{Context, Periods};
use crate::cli::{DashboardArgs, HtmlReportArgs};
use crate::http;
use crate::ingest::changes::Changes;
use crate::ledger::{Store, query};
use crate::model::calendar;
use crate::render::html::{self, Controls, Mode};
use crate::report::dashboard::{self as model, Headline, Overview, SessionView, Stack};
use crate::report::options::{Order, ReportOptions};
use crate::report::pricing::PriceTable;
use crate::report::{self, Pricer, Usage};
use crate::sources;

/// Where the dashboard listens when neither `--listen` nor `--port` says.
pub const DEFAULT_PORT: u16 = 8464;

const BLOCK_MS: i64 = 5 * 3_600_000;

pub(super) fn run(env: &Env, args: &DashboardArgs) -> Result<ExitCode> {
    let addr = match (&args.listen, args.port) {
        (Some(text), _) => {
            http::listen_address(text, args.allow_remote, "--listen", "--allow-remote")?
        }
        (None, port) => SocketAddr::from(([127, 0, 0, 1], port.unwrap_or(DEFAULT_PORT))),
    };
    // Watching first: nothing written while the ledger opens is missed (as `watch`).
    let changes = Changes::start(
        &sources::folders(&env.roots),
        args.changes.schedule(args.interval),
    );
    let stop = super::stop_flag_waking(changes.waker())?;
    let mut store = Store::open(&env.db)?;
    super::warn_if_no_roots(&env.roots);
    let prices = PriceTable::load(env.prices())?;
    store.learn_tiers(&prices.tier_thresholds())?;
    let alerting = (
        super::alerts::Alerts::load(env.config(), &Default::default(), prices.clone())?,
        Store::open(&env.db)?,
    );
    let pages = Pages {
        db: env.db.clone(),
        prices,
        timezone: args.timezone.clone(),
    };
    let (on_stop, waker) = (stop.clone(), changes.waker());
    let serving = http::serve(
        "dashboard",
        addr,
        Box::new(move |request| pages.answer(request)),
        move || {
            on_stop.store(true, Ordering::SeqCst);
            waker.wake();
        },
    )
    .context("dashboard")?;
    let url = format!("http://{addr}/");
    if !env.quiet {
        eprintln!("cco-stats: the dashboard is at {url}");
    }
    if args.open {
        open_browser(&url);
    }
    super::watch(
        &mut store,
        &args.ingest,
        args.interval,
        env.quiet,
        &stop,
        changes,
        alerting,
    );
    match serving.failure() {
        Some(failure) => Err(anyhow::anyhow!("{failure}")),
        None => Ok(ExitCode::SUCCESS),
    }
}

/// `report --html FILE`: the overview page for the report's filters, as one file.
pub(super) fn write_file(env: &Env, args: &HtmlReportArgs) -> Result<ExitCode> {
    let options = args.report.options();
    let controls = Controls {
        since: options.since,
        until: options.until,
        agents: options.agents.clone(),
        project: options.project.clone(),
        stack: args.by.into(),
        measure: Default::default(),
        sort: Default::default(),
    };
    let mut ctx = env.report(&args.report)?;
    let now_ms = jiff::Timestamp::now().as_millisecond();
    let overview = gather(&mut ctx, &controls, now_ms)?;
    let page = html::overview(
        &overview,
        &controls,
        Mode::File,
        "",
        now_ms,
        &range_of(&overview, &controls),
    );
    crate::paths::write_replacing(&args.html, &page, 0o644)
        .with_context(|| format!("cannot write {}", args.html.display()))?;
    if !env.quiet {
        eprintln!(
            "cco-stats: wrote {} ({} KB)",
            crate::visible::text(&args.html.display().to_string()),
            page.len().div_ceil(1024)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// What every request needs to draw a page.
struct Pages {
    db: PathBuf,
    prices: PriceTable,
    timezone: Option<String>,
}

impl Pages {
    fn answer(&self, request: &http::Request) -> http::Response {
        const HTML: &str = "text/html; charset=utf-8";
        if request.method != "GET" {
            return http::Response::text(404, "not found\n".into());
        }
        let now_ms = jiff::Timestamp::now().as_millisecond();
        let started = std::time::Instant::now();
        let answer = match request.path {
            "/" => Controls::parse(request.query)
                .map_err(|bad| (400, bad))
                .and_then(|controls| self.overview(&controls, now_ms).map_err(server_error)),
            "/session" => self.session(request.query, now_ms),
            "/stamp" => {
                return match self.stamp() {
                    Ok(stamp) => http::Response::text(200, stamp),
                    Err(err) => http::Response::text(500, format!("{err:#}\n")),
                };
            }
            "/app.js" => {
                return http::Response::new(
                    200,
                    "text/javascript; charset=utf-8",
                    html::SCRIPT.into(),
                );
            }
            _ => Err((404, format!("no page at {}", request.path))),
        };
        log::debug!(
            "dashboard: {} drawn in {:.1} ms",
            request.path,
            started.elapsed().as_secs_f64() * 1e3
        );
        match answer {
            Ok(page) => http::Response::new(200, HTML, page),
            Err((status, why)) => {
                http::Response::new(status, HTML, html::problem("Cannot show this page", &why))
            }
        }
    }

    /// A report context over a fresh read-only connection, with these filters.
    fn context(&self, controls: &Controls) -> Result<Context> {
        let options = ReportOptions {
            since: controls.since,
            until: controls.until,
            timezone: self.timezone.clone(),
            project: controls.project.clone(),
            agents: controls.agents.clone(),
            ingest: false,
            ..ReportOptions::default()
        };
        let store = Store::open_read_only(&self.db)?;
        Context::with_store(store, self.prices.clone(), options)
    }

    fn stamp(&self) -> Result<String> {
        query::stamp(Store::open_read_only(&self.db)?.conn())
    }

    fn overview(&self, controls: &Controls, now_ms: i64) -> Result<String> {
        // Read first: a change after it shows at the next stamp, never one before it lost.
        let stamp = self.stamp()?;
        let mut ctx = self.context(controls)?;
        let overview = gather(&mut ctx, controls, now_ms)?;
        let range = range_of(&overview, controls);
        Ok(html::overview(
            &overview,
            controls,
            Mode::Live,
            &stamp,
            now_ms,
            &range,
        ))
    }

    fn session(&self, query: &str, now_ms: i64) -> Result<String, (u16, String)> {
        let id = query
            .split('&')
            .find_map(|pair| pair.strip_prefix("id="))
            .and_then(html::decode)
            .filter(|id| !id.is_empty())
            .ok_or((400, "which session? (/session?id=…)".to_string()))?;
        let view = self
            .session_view(&id)
            .map_err(server_error)?
            .ok_or_else(|| (404, format!("the ledger has no session {id}")))?;
        let stamp = self.stamp().map_err(server_error)?;
        Ok(html::session(&view, &stamp, now_ms))
    }

    fn session_view(&self, id: &str) -> Result<Option<SessionView>> {
        let ctx = self.context(&Controls::default())?;
        let Some(session) = ctx.session(id)? else {
            return Ok(None);
        };
        let conn = ctx.store().conn();
        let mut pricer = Pricer::new(ctx.prices(), ctx.options().mode);
        let mut timeline: Vec<(i64, u64, f64)> = Vec::new();
        let mut groups = query::session_groups_of(conn, id)?;
        groups.sort_by_key(|g| g.group.at_ms);
        for g in &groups {
            let cost = pricer.cost(&g.group).unwrap_or(0.0);
            match timeline.last_mut() {
                Some(last) if last.0 == g.group.at_ms => {
                    last.1 += g.group.requests;
                    last.2 += cost;
                }
                _ => timeline.push((g.group.at_ms, g.group.requests, cost)),
            }
        }
        let mut subagents: Vec<(String, Usage)> = Vec::new();
        for (name, group) in query::subagent_responses(conn, id, session.first_ms, session.last_ms)?
        {
            let cost = pricer.cost(&group);
            let index = match subagents.iter().position(|(n, _)| *n == name) {
                Some(i) => i,
                None => {
                    subagents.push((name, Usage::default()));
                    subagents.len() - 1
                }
            };
            subagents[index].1.add_group(&group, cost);
        }
        Ok(Some(SessionView {
            project: ctx.projects()?.display(&session.project),
            session,
            timeline,
            subagents,
        }))
    }
}

fn server_error(err: anyhow::Error) -> (u16, String) {
    log::error!("dashboard: {err:#}");
    (500, format!("{err:#}"))
}

/// The first and last day a page covers, as it names them.
fn range_of(o: &Overview, c: &Controls) -> (String, String) {
    let first = o.daily.periods.first().map(|p| p.key.clone());
    let last = o.daily.periods.last().map(|p| p.key.clone());
    (
        c.since
            .map(|d| d.to_string())
            .or(first)
            .unwrap_or_else(|| "the first day".into()),
        c.until
            .map(|d| d.to_string())
            .or(last)
            .unwrap_or_else(|| "today".into()),
    )
}

/// The overview's model, from the reports themselves: the range's daily, projects and
/// sessions reports, then the same daily report over today, this week, this month and
/// the year, the active block and the official quota windows.
pub fn gather(ctx: &mut Context, controls: &Controls, now_ms: i64) -> Result<Overview> {
    let mut daily = ctx.period_report(Periods::Daily)?;
    // Charts run left to right in time, whatever `--order` the report was given.
    if ctx.options().order == Some(Order::Desc) {
        daily.reverse();
    }
    let by_agent = match controls.stack {
        Stack::Agent => ctx.daily_by_agent()?,
        Stack::Model => Default::default(),
    };
    let days = model::days(&daily, controls.stack, &by_agent);
    let dates: Vec<Date> = daily
        .periods
        .iter()
        .filter_map(|p| p.key.parse().ok())
        .collect();
    let price_changes = match (dates.first(), dates.last()) {
        (Some(&first), Some(&last)) => {
            model::price_changes(ctx.prices(), &daily.totals, first, last)
        }
        _ => Vec::new(),
    };
    let mut projects = ctx.period_report(Periods::Projects)?;
    let project_names: Vec<String> = projects.periods.iter().map(|p| p.key.clone()).collect();
    let labels = labels(ctx, project_names.iter().chain(&controls.project))?;
    model::sort_projects(&mut projects, controls.sort, &labels);
    // The sessions report's order, then the page's; only the sessions listed are built.
    let session_groups = ctx.session_groups()?;
    let (prices, mode) = (ctx.prices(), ctx.options().mode);
    let mut briefs = report::briefs(&session_groups, prices, mode);
    report::order_sessions(&mut briefs, ctx.options().order, |b| b.cost);
    model::sort_sessions(&mut briefs, controls.sort, &labels);
    let sessions = model::listed_sessions(&session_groups, &briefs, prices, mode);
    let sessions_total = briefs.len();
    let quota = ctx.official_quota(now_ms)?;

    let (since, until) = (ctx.options().since, ctx.options().until);
    let today = calendar::local_date(now_ms, ctx.zone());
    let totals_of = |ctx: &mut Context, from: Date, to: Date| -> Result<Usage> {
        ctx.set_days(Some(from), Some(to))?;
        Ok(ctx.period_report(Periods::Daily)?.totals)
    };
    let headline = Headline {
        today: totals_of(ctx, today, today)?,
        week: totals_of(
            ctx,
            calendar::week_start(today, jiff::civil::Weekday::Sunday),
            today,
        )?,
        month: totals_of(ctx, today.first_of_month(), today)?,
    };
    let year_end = until.unwrap_or(today);
    ctx.set_days(Some(year_end.saturating_sub(364.days())), Some(year_end))?;
    let mut year: Vec<(Date, f64)> = ctx
        .period_report(Periods::Daily)?
        .periods
        .iter()
        .filter_map(|p| Some((p.key.parse().ok()?, p.usage.cost)))
        .collect();
    year.sort_by_key(|&(date, _)| date);
    ctx.set_days(None, None)?;
    let active_block = ctx.active_billing_block(BLOCK_MS, now_ms)?;
    ctx.set_days(since, until)?;
    Ok(Overview {
        headline,
        active_block,
        quota,
        daily,
        days,
        stack: controls.stack,
        price_changes,
        year,
        year_end,
        projects,
        sessions,
        sessions_total,
        project_names,
        labels,
    })
}

/// The names `projects` are shown by, as the CLI's tables show them (`Projects::display`).
/// Every session of the range is of one of the range's projects.
fn labels<'a>(
    ctx: &Context,
    projects: impl Iterator<Item = &'a String>,
) -> Result<BTreeMap<String, String>> {
    let known = ctx.projects()?;
    Ok(projects.map(|p| (p.clone(), known.display(p))).collect())
}

/// Starts the desktop's browser on `url` (`$BROWSER`, else `xdg-open`), without waiting.
fn open_browser(url: &str) {
    let browser = std::env::var("BROWSER")
        .ok()
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| "xdg-open".to_string());
    let started = std::process::Command::new(&browser)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if let Err(err) = started {
        log::warn!("cannot start {browser} ({err}): open {url} yourself");
    }
}
