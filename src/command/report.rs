//! Runs the report commands: open the ledger (after an incremental ingest unless
//! `--no-ingest`), query it, build the report model, and render it in the chosen format.
//! Every report goes through `Context`, so the common flags mean the same everywhere.

use std::cell::OnceCell;
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

use anyhow::{Context as _, Result};
use jiff::tz::TimeZone;

use crate::ingest::{Ingestor, Options};
use crate::ledger;
use crate::ledger::Store;
use crate::ledger::query::{self, Filter};
use crate::model::Agent;
use crate::model::calendar;
use crate::render::{self, Screen, Style, json, table};
use crate::report::blocks;
use crate::report::options::{
    BlocksOptions, Order, OutputFormat, ReportOptions, TokenLimit, WeekStart,
};
use crate::report::pricing::PriceTable;
use crate::report::projects::Projects;
use crate::report::quota;
use crate::report::{self, Usage};
use crate::sources::claude::roots::Roots;

/// Which period a report groups by.
#[derive(Clone, Copy, Debug)]
pub enum Periods {
    Daily,
    Weekly(WeekStart),
    Monthly,
    Projects,
    Models,
}

impl Periods {
    /// What `--last` counts for these periods; `None`: they are not periods of time.
    fn unit(self) -> Option<calendar::Unit> {
        match self {
            Periods::Daily => Some(calendar::Unit::Day),
            Periods::Weekly(start) => Some(calendar::Unit::Week(start.weekday())),
            Periods::Monthly => Some(calendar::Unit::Month),
            Periods::Projects | Periods::Models => None,
        }
    }
}

/// Claude's usage limits count 5-hour blocks (the estimate where no official figure is).
const BLOCK_MS: i64 = 5 * 3_600_000;

/// What every report needs: the ledger, prices, zone, filter and output choices.
pub struct Context {
    store: Store,
    prices: PriceTable,
    zone: TimeZone,
    filter: Filter,
    options: ReportOptions,
    /// The ledger's projects, read once when a view names or matches one.
    projects: OnceCell<Projects>,
}

impl Context {
    pub fn open(
        db: &Path,
        roots: &Roots,
        prices: Option<&Path>,
        options: ReportOptions,
        quiet: bool,
    ) -> Result<Context> {
        let prices = PriceTable::load(prices)?;
        let thresholds = prices.tier_thresholds();
        let store = if !options.ingest {
            let store = Store::open_read_only(db)?;
            let missing = store.missing_tiers(&thresholds)?;
            if !missing.is_empty() {
                log::warn!(
                    "the price table has tier thresholds {missing:?} the ledger's aggregates do not tell apart yet; \
                     costs of requests above them may be low until a run without --no-ingest (or `cco-stats rebuild`) learns them"
                );
            }
            store
        } else {
            let mut store = ingested(db, roots, quiet)?;
            store.learn_tiers(&thresholds)?;
            store
        };
        Context::with_store(store, prices, options)
    }

    /// A report over a ledger opened (and ingested into) by the caller.
    pub fn with_store(store: Store, prices: PriceTable, options: ReportOptions) -> Result<Context> {
        let zone = calendar::zone(options.timezone.as_deref())?;
        let (since_ms, until_ms) = calendar::range_ms(options.since, options.until, &zone)?;
        let host = match &options.host {
            Some(name) => Some(store.find_host(name)?.key),
            None => None,
        };
        let mut context = Context {
            store,
            prices,
            zone,
            filter: Filter {
                since_ms,
                until_ms,
                project: None,
                host,
                agents: options.agents.clone(),
            },
            options,
            projects: OnceCell::new(),
        };
        if let Some(asked) = &context.options.project {
            let project = context
                .projects()?
                .resolve(asked)
                .map_err(anyhow::Error::msg)?;
            context.filter.project = Some(project);
        }
        Ok(context)
    }

    /// The ledger's projects and the config's aliases (`report::projects`).
    pub fn projects(&self) -> Result<&Projects> {
        if let Some(projects) = self.projects.get() {
            return Ok(projects);
        }
        let projects = Projects::new(
            ledger::projects::known(self.store.conn())?,
            &self.options.project_aliases,
            crate::paths::home().as_deref(),
        );
        Ok(self.projects.get_or_init(|| projects))
    }

    fn style(&self) -> Style {
        Style {
            breakdown: self.options.breakdown,
            no_cost: self.options.no_cost,
        }
    }

    /// From now on, the report covers the days `since..=until` (in its zone) only.
    pub fn set_days(
        &mut self,
        since: Option<jiff::civil::Date>,
        until: Option<jiff::civil::Date>,
    ) -> Result<()> {
        (self.filter.since_ms, self.filter.until_ms) =
            calendar::range_ms(since, until, &self.zone)?;
        Ok(())
    }

    /// `--last n`: from now on, the report covers the last `n` periods up to today (in
    /// its zone), today's the first of them.
    pub fn last(&mut self, periods: Periods, n: u32) -> Result<()> {
        let unit = periods
            .unit()
            .context("--last counts days, weeks or months")?;
        let today = calendar::local_date(jiff::Timestamp::now().as_millisecond(), &self.zone);
        self.set_days(calendar::last_periods_start(today, unit, n), None)
    }

    /// Every block of the report's range, as `blocks` lists them (for `--token-limit max`
    /// and `p90`, which look at finished blocks).
    pub fn all_blocks(&self, length_ms: i64, now_ms: i64) -> Result<Vec<blocks::Block>> {
        let responses = query::responses(self.store.conn(), &self.blocks_filter())?;
        Ok(blocks::blocks(
            &responses,
            &self.prices,
            self.options.mode,
            length_ms,
            now_ms,
        ))
    }

    /// The filter of 5-hour blocks: they are Claude's billing windows, so they count
    /// Claude Code's usage unless `--agent` names others.
    fn blocks_filter(&self) -> Filter {
        let mut filter = self.filter.clone();
        if filter.agents.is_empty() {
            filter.agents = vec![Agent::Claude];
        }
        filter
    }

    /// Usage per 15-minute UTC bucket of the report's range (any order).
    pub fn quarter_hours(&self) -> Result<Vec<query::Group>> {
        query::time_groups(self.store.conn(), &self.filter)
    }

    /// From now on, the report covers what happened from `since_ms` (a UTC instant) on.
    pub fn set_since_ms(&mut self, since_ms: Option<i64>) {
        (self.filter.since_ms, self.filter.until_ms) = (since_ms, None);
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn prices(&self) -> &PriceTable {
        &self.prices
    }

    pub fn options(&self) -> &ReportOptions {
        &self.options
    }

    /// The daily report split by agent: each day's usage per agent, priced as the daily
    /// report prices it (the agents of a day add up to the day).
    pub fn daily_by_agent(
        &self,
    ) -> Result<std::collections::BTreeMap<(jiff::civil::Date, Agent), Usage>> {
        let groups = self.dated_groups(true)?;
        let mut pricer = report::Pricer::new(&self.prices, self.options.mode);
        let mut days = std::collections::BTreeMap::<_, Usage>::new();
        for group in &groups {
            let day = calendar::local_date(group.at_ms, &self.zone);
            let cost = pricer.cost(group);
            days.entry((day, group.key.agent))
                .or_default()
                .add_group(group, cost);
        }
        Ok(days)
    }

    /// The groups a periods report reads: by local date where dates are asked for, else
    /// each inside one UTC day.
    fn dated_groups(&self, dated: bool) -> Result<Vec<query::Group>> {
        if dated {
            query::date_groups(self.store.conn(), &self.filter, &self.zone)
        } else {
            query::range_groups(self.store.conn(), &self.filter)
        }
    }

    pub fn zone(&self) -> &TimeZone {
        &self.zone
    }

    pub fn periods(&self, periods: Periods) -> Result<ExitCode> {
        let mut report = self.period_report(periods)?;
        if matches!(periods, Periods::Models) && self.options.format != OutputFormat::Json {
            report = report.without_empty_rows();
        }
        let (key, title) = match periods {
            Periods::Daily => ("date", "Date"),
            Periods::Weekly(_) => ("week", "Week"),
            Periods::Monthly => ("month", "Month"),
            Periods::Projects => ("project", "Project"),
            Periods::Models => ("model", "Model"),
        };
        let style = match periods {
            // A row per model, broken down by model, would repeat each row.
            Periods::Models => Style {
                breakdown: false,
                ..self.style()
            },
            _ => self.style(),
        };
        if matches!(periods, Periods::Projects) && self.options.format != OutputFormat::Json {
            // People know a project by its path (or alias); JSON keeps the key beside it.
            let projects = self.projects()?;
            for p in &mut report.periods {
                p.key = projects.display(&p.key);
            }
        }
        let text = match (self.options.format, periods) {
            (OutputFormat::Json, Periods::Models) => {
                render::json::text(&json::models(&report, style))
            }
            (OutputFormat::Json, _) => {
                let kind = match periods {
                    Periods::Daily => json::PeriodKind::Daily,
                    Periods::Weekly(_) => json::PeriodKind::Weekly,
                    Periods::Monthly => json::PeriodKind::Monthly,
                    _ => json::PeriodKind::Projects,
                };
                let projects = match periods {
                    Periods::Projects => Some(self.projects()?),
                    _ => None,
                };
                render::json::text(&json::periods(&report, kind, style, projects))
            }
            (OutputFormat::Csv, Periods::Models) => render::csv::models(&report, style),
            (OutputFormat::Csv, _) => render::csv::periods(&report, key, style),
            (OutputFormat::Table, Periods::Models) => table::models(&report, style, screen()),
            (OutputFormat::Table, _) => table::periods(&report, title, style, screen()),
        };
        self.finish(&text, &report.totals, report.periods.is_empty(), &[])
    }

    /// The periods report's model, in the requested order.
    pub fn period_report(&self, periods: Periods) -> Result<report::Report> {
        let dated = matches!(
            periods,
            Periods::Daily | Periods::Weekly(_) | Periods::Monthly
        );
        let groups = self.dated_groups(dated)?;
        let (prices, mode, zone) = (&self.prices, self.options.mode, &self.zone);
        let mut report = match periods {
            Periods::Daily | Periods::Weekly(_) | Periods::Monthly => {
                // Groups come in bucket order: the local date is worked out once a bucket.
                let mut last: Option<(i64, jiff::civil::Date)> = None;
                let key_of = |g: &query::Group| {
                    let day = match last {
                        Some((at, day)) if at == g.at_ms => day,
                        _ => {
                            let day = calendar::local_date(g.at_ms, zone);
                            last = Some((g.at_ms, day));
                            day
                        }
                    };
                    match periods {
                        Periods::Weekly(start) => calendar::week_start(day, start.weekday()),
                        Periods::Monthly => day.first_of_month(),
                        _ => day,
                    }
                };
                let name_of = |day: &jiff::civil::Date| match periods {
                    Periods::Monthly => day.strftime("%Y-%m").to_string(),
                    _ => day.to_string(),
                };
                report::build(&groups, prices, mode, key_of, name_of)
            }
            Periods::Projects => {
                report::build(&groups, prices, mode, |g| g.project.clone(), String::clone)
            }
            Periods::Models => {
                let key_of = |g: &query::Group| match g.model() {
                    Some(model) if g.key.fast => format!("{model}-fast"),
                    Some(model) => model.to_string(),
                    None => "<synthetic>".to_string(),
                };
                report::build(&groups, prices, mode, key_of, String::clone)
            }
        };
        if self.options.order == Some(Order::Desc) {
            report.reverse();
        }
        Ok(report)
    }

    /// `daily --instances`: each project's days (as ccusage shows them), then, in a
    /// table, the projects' own totals.
    pub fn instances(&mut self) -> Result<ExitCode> {
        let all = self.period_report(Periods::Projects)?;
        let asked = self.filter.project.clone();
        let mut projects = Vec::new();
        for project in &all.periods {
            self.filter.project = Some(project.key.clone());
            projects.push((project.key.clone(), self.period_report(Periods::Daily)?));
        }
        self.filter.project = asked;
        let mut all = all;
        if self.options.format != OutputFormat::Json {
            // People know a project by its path (or alias); JSON keeps ccusage's key.
            let known = self.projects()?;
            for (name, _) in &mut projects {
                *name = known.display(name);
            }
            for p in &mut all.periods {
                p.key = known.display(&p.key);
            }
        }
        let style = self.style();
        let text = match self.options.format {
            OutputFormat::Json => json::text(&json::instances(&projects, &all.totals, style)),
            OutputFormat::Csv => render::csv::instances(&projects, style),
            OutputFormat::Table => {
                let mut text = String::new();
                for (project, report) in &projects {
                    text += &format!("{}\n", crate::visible::text(project));
                    text += &table::periods(report, "Date", style, screen());
                    text += "\n";
                }
                text + &table::periods(&all, "Project", style, screen())
            }
        };
        self.finish(&text, &all.totals, all.periods.is_empty(), &[])
    }

    /// The `hosts` view: usage per host the ledger's rows were recorded on, this ledger's
    /// own first. Read from the raw rows (the aggregates keep no host).
    pub fn hosts(&self) -> Result<ExitCode> {
        let conn = self.store.conn();
        let snapshot = conn.unchecked_transaction()?;
        let groups = query::host_groups(conn, &self.filter)?;
        let spans = query::host_spans(conn, &self.filter)?;
        let known = self.store.known_hosts()?;
        snapshot.finish()?;
        let (prices, mode) = (&self.prices, self.options.mode);
        let by_key = report::build(&groups, prices, mode, |g| g.project.clone(), String::clone);
        let mut hosts = Vec::new();
        for host in known {
            let key = host.key.unwrap_or(0).to_string();
            let Some(period) = by_key.periods.iter().find(|p| p.key == key) else {
                continue;
            };
            let (first_ms, last_ms) = spans
                .iter()
                .find(|(k, _, _)| *k == key)
                .map_or((0, 0), |&(_, first, last)| (first, last));
            hosts.push(report::HostUsage {
                name: host.name,
                id: host.id,
                first_ms,
                last_ms,
                usage: period.usage.clone(),
            });
        }
        if self.options.order == Some(Order::Desc) {
            hosts.reverse();
        }
        let style = self.style();
        let totals = &by_key.totals;
        let text = match self.options.format {
            OutputFormat::Json => json::text(&json::hosts(&hosts, totals, style)),
            OutputFormat::Csv => render::csv::hosts(&hosts, style),
            OutputFormat::Table => table::hosts(&hosts, totals, &self.zone, style, screen()),
        };
        self.finish(&text, totals, hosts.is_empty(), &[])
    }

    /// The `agents` view: usage, models and first and last activity per agent.
    pub fn agents(&self) -> Result<ExitCode> {
        let groups = query::session_groups(self.store.conn(), &self.filter)?;
        let (mut agents, totals) = report::agents(&groups, &self.prices, self.options.mode);
        let figures = query::figures(self.store.conn(), &self.filter)?;
        for agent in &mut agents {
            agent.figures = figures.get(&agent.agent).copied().unwrap_or_default();
        }
        if self.options.order == Some(Order::Desc) {
            agents.reverse();
        }
        let style = self.style();
        let named = report::Report {
            periods: agents
                .iter()
                .map(|a| report::Period {
                    key: a.agent.name().to_string(),
                    usage: a.usage.clone(),
                })
                .collect(),
            // The rows are the agents: no column beside them saying which.
            totals: Usage {
                agents: Default::default(),
                ..totals.clone()
            },
        };
        let text = match self.options.format {
            OutputFormat::Json => json::text(&json::agents(&agents, &totals, style)),
            OutputFormat::Csv => render::csv::periods(&named, "agent", style),
            OutputFormat::Table => {
                table::periods(&named, "Agent", style, screen()) + &table::agent_figures(&agents)
            }
        };
        self.finish(&text, &totals, agents.is_empty(), &[])
    }

    pub fn sessions(&self) -> Result<ExitCode> {
        let (mut sessions, totals) = self.session_report()?;
        let style = self.style();
        let projects = self.projects()?;
        if self.options.format != OutputFormat::Json {
            for s in &mut sessions {
                s.project = projects.display(&s.project);
            }
        }
        let text = match self.options.format {
            OutputFormat::Json => json::text(&json::sessions(&sessions, &totals, style, projects)),
            OutputFormat::Csv => render::csv::sessions(&sessions, style),
            OutputFormat::Table => table::sessions(&sessions, &totals, &self.zone, style, screen()),
        };
        self.finish(&text, &totals, sessions.is_empty(), &[])
    }

    /// The sessions report's model (sessions in the requested order, and their totals):
    /// by cost, the costliest first, as ccusage lists them, unless `--order` asks for
    /// them by last activity (`report::order_sessions`).
    pub fn session_report(&self) -> Result<(Vec<report::Session>, Usage)> {
        let groups = self.session_groups()?;
        let (mut sessions, totals) = report::sessions(&groups, &self.prices, self.options.mode);
        report::order_sessions(&mut sessions, self.options.order, |s| s.usage.cost);
        Ok((sessions, totals))
    }

    /// The groups the sessions report sums. With `--id`, that session's, or those of the
    /// sessions whose id starts with it.
    pub fn session_groups(&self) -> Result<Vec<query::SessionGroup>> {
        let mut groups = query::session_groups(self.store.conn(), &self.filter)?;
        if let Some(id) = &self.options.session {
            anyhow::ensure!(
                query::session_id_known(self.store.conn(), id)?,
                "no session id starts with {id:?} (`cco-stats session` lists them, costliest first)"
            );
            // A whole id is that session alone (`s1`, not `s10` too).
            let whole = groups.iter().any(|g| g.session_id == *id);
            groups.retain(|g| match whole {
                true => g.session_id == *id,
                false => g.session_id.starts_with(id.as_str()),
            });
        }
        Ok(groups)
    }

    /// One session of the sessions report (`None`: the ledger has no response of it),
    /// read by its id alone.
    pub fn session(&self, session_id: &str) -> Result<Option<report::Session>> {
        let groups = query::session_groups_of(self.store.conn(), session_id)?;
        let (sessions, _) = report::sessions(&groups, &self.prices, self.options.mode);
        Ok(sessions.into_iter().next())
    }

    /// The active block at `now_ms`, exactly as `blocks --active` finds it, from the
    /// responses since the last pause longer than a block rather than from all history:
    /// a response after such a pause starts a block whatever came before it (see
    /// `blocks::settled_from`), so the blocks from there on are the same.
    pub fn active_block(&self, length_ms: i64, now_ms: i64) -> Result<Option<blocks::Block>> {
        const DAY_MS: i64 = 86_400_000;
        let mut window_ms = 2 * DAY_MS;
        loop {
            let since_ms = now_ms.saturating_sub(window_ms);
            // Past a year, read the whole range rather than widen again.
            let bounded = window_ms <= 366 * DAY_MS;
            let mut filter = self.filter.clone();
            if bounded {
                filter.since_ms = Some(filter.since_ms.map_or(since_ms, |s| s.max(since_ms)));
            }
            let whole_range = !bounded || filter.since_ms == self.filter.since_ms;
            let responses = query::responses(self.store.conn(), &filter)?;
            // Active means a response less than a block ago: none, no active block.
            match responses.last() {
                Some(last) if now_ms - last.at_ms < length_ms => {}
                _ => return Ok(None),
            }
            let read_from = filter.since_ms.unwrap_or(i64::MIN);
            let from = match blocks::settled_from(&responses, read_from, length_ms) {
                Some(from) => from,
                None if whole_range => 0,
                None => {
                    window_ms *= 4;
                    continue;
                }
            };
            let recent = &responses[from..];
            let all = blocks::blocks(recent, &self.prices, self.options.mode, length_ms, now_ms);
            return Ok(all.into_iter().find(|b| b.is_active));
        }
    }

    /// `active_block` of the agents `blocks` counts (Claude Code's unless the report
    /// names agents): the block `blocks --active` shows.
    pub fn active_billing_block(
        &mut self,
        length_ms: i64,
        now_ms: i64,
    ) -> Result<Option<blocks::Block>> {
        let counted = self.blocks_filter().agents;
        let agents = std::mem::replace(&mut self.filter.agents, counted);
        let block = self.active_block(length_ms, now_ms);
        self.filter.agents = agents;
        block
    }

    /// The quota report's model (`report::quota`): every window of the report's agents the
    /// ledger has samples of, and Claude Code's estimate where it has none. The alerts and
    /// the glance views read it; `now_ms` is the instant it is for.
    pub fn quota(&self, now_ms: i64) -> Result<Vec<quota::Window>> {
        let mut windows = self.official_quota(now_ms)?;
        self.add_estimate(&mut windows, now_ms)?;
        Ok(in_order(windows))
    }

    /// `quota` without Claude Code's estimate, which reads every response of the range
    /// (a second on a million rows): the agents' own windows, with their history.
    pub fn official_quota(&self, now_ms: i64) -> Result<Vec<quota::Window>> {
        let samples = ledger::quota::windows(self.store.conn(), &self.filter.agents, i64::MIN)?;
        let mut spent = |agent, from_ms, until_ms| self.spent(agent, from_ms, until_ms);
        Ok(in_order(quota::build(&samples, &mut spent, now_ms)?))
    }

    /// The windows not reset at `now_ms` only, without history or estimate, and with
    /// the ledger's tokens but not its costs (`cost_per_percent` is `None`): what the
    /// status line, `live` and the alerts show, read in a few small sums.
    pub fn quota_now(&self, now_ms: i64) -> Result<Vec<quota::Window>> {
        let samples = ledger::quota::windows(self.store.conn(), &self.filter.agents, now_ms)?;
        let mut tokens = |agent, from_ms, until_ms| {
            let filter = Filter {
                since_ms: Some(from_ms),
                until_ms: Some(until_ms),
                agents: vec![agent],
                ..Filter::default()
            };
            let tokens = query::tokens(self.store.conn(), &filter)?;
            Ok(quota::Spent { tokens, cost: 0.0 })
        };
        let mut windows = quota::build(&samples, &mut tokens, now_ms)?;
        for w in &mut windows {
            w.cost_per_percent = None;
        }
        Ok(in_order(windows))
    }

    /// Claude Code's estimate (`quota::estimate`) where the report is of Claude Code and
    /// it has no official window.
    fn add_estimate(&self, windows: &mut Vec<quota::Window>, now_ms: i64) -> Result<()> {
        let claude_asked =
            self.filter.agents.is_empty() || self.filter.agents.contains(&Agent::Claude);
        if !claude_asked || windows.iter().any(|w| w.agent == Agent::Claude) {
            return Ok(());
        }
        let filter = Filter {
            agents: vec![Agent::Claude],
            ..self.filter.clone()
        };
        let responses = query::responses(self.store.conn(), &filter)?;
        let all = blocks::blocks(
            &responses,
            &self.prices,
            self.options.mode,
            BLOCK_MS,
            now_ms,
        );
        let limit = blocks::max_tokens(&all);
        if let Some(active) = all.iter().find(|b| b.is_active) {
            windows.extend(quota::estimate(Agent::Claude, active, limit, now_ms));
        }
        Ok(())
    }

    /// The tokens and cost of `agent` from `from_ms` to `until_ms` (to the quarter hour
    /// of the aggregates), over every project and host.
    fn spent(&self, agent: Agent, from_ms: i64, until_ms: i64) -> Result<quota::Spent> {
        let filter = Filter {
            since_ms: Some(from_ms),
            until_ms: Some(until_ms),
            agents: vec![agent],
            ..Filter::default()
        };
        let mut pricer = report::Pricer::new(&self.prices, self.options.mode);
        let mut spent = quota::Spent::default();
        for group in query::time_groups(self.store.conn(), &filter)? {
            spent.tokens += group.tokens.total();
            spent.cost += pricer.cost(&group).unwrap_or(0.0);
        }
        Ok(spent)
    }

    /// `cco-stats limits`.
    pub fn limits(&self) -> Result<ExitCode> {
        let now_ms = jiff::Timestamp::now().as_millisecond();
        let windows = self.quota(now_ms)?;
        if windows.is_empty() && self.options.format == OutputFormat::Table {
            eprintln!(
                "{} No agent has reported a quota window (Claude Code sends them to the status \
                 line on subscription plans; Codex in its rollouts), and there is no usage to \
                 estimate from.",
                self.nothing_found("quota figures", &[])
            );
            return Ok(ExitCode::SUCCESS);
        }
        let text = match self.options.format {
            OutputFormat::Json => json::text(&render::quota::json(&windows)),
            OutputFormat::Csv => render::quota::csv(&windows),
            OutputFormat::Table => {
                render::quota::table(&windows, &self.zone, now_ms, screen().width)
            }
        };
        crate::command::print(&text)?;
        Ok(ExitCode::SUCCESS)
    }

    pub fn blocks(&self, blocks_options: BlocksOptions) -> Result<ExitCode> {
        let now_ms = jiff::Timestamp::now().as_millisecond();
        let mut filter = self.blocks_filter();
        if blocks_options.recent {
            let three_days_ago = now_ms - 3 * 86_400_000;
            filter.since_ms = Some(
                filter
                    .since_ms
                    .map_or(three_days_ago, |s| s.max(three_days_ago)),
            );
        }
        let responses = query::responses(self.store.conn(), &filter)?;
        let length_ms = blocks_options.length_ms;
        let mut all = blocks::blocks(
            &responses,
            &self.prices,
            self.options.mode,
            length_ms,
            now_ms,
        );
        let limit = match blocks_options.token_limit {
            Some(TokenLimit::Tokens(n)) => Some(n),
            Some(TokenLimit::Max) => Some(blocks::max_tokens(&all)),
            Some(TokenLimit::P90) => Some(blocks::p90_tokens(&all)),
            None => None,
        };
        let mut asked = Vec::new();
        if blocks_options.recent {
            asked.push("--recent".to_string());
        }
        if blocks_options.active {
            all.retain(|b| b.is_active);
            asked.push(format!(
                "--active (no response in the last {})",
                render::hours(length_ms)
            ));
        }
        if self.options.order == Some(Order::Desc) {
            all.reverse();
        }
        if let Some(limit) = limit {
            warn_past_limit(&all, limit, now_ms);
        }
        let mut totals = Usage::default();
        for b in &all {
            merge(&mut totals, &b.usage);
        }
        let style = self.style();
        let text = match self.options.format {
            OutputFormat::Json => json::text(&json::blocks(&all, now_ms, limit, style)),
            OutputFormat::Csv => render::csv::blocks(&all, now_ms, style),
            OutputFormat::Table => table::blocks(&all, now_ms, limit, &self.zone, style, screen()),
        };
        self.finish(&text, &totals, all.is_empty(), &asked)
    }

    /// The filters the report was asked for, as the command line spells them, then
    /// `more` (a view's own).
    fn filters(&self, more: &[String]) -> Vec<String> {
        let o = &self.options;
        let mut filters = Vec::new();
        let mut flag = |name: &str, value: Option<String>| {
            if let Some(value) = value {
                filters.push(format!("--{name} {value}"));
            }
        };
        flag("since", o.since.map(|d| d.to_string()));
        flag("until", o.until.map(|d| d.to_string()));
        flag("project", o.project.clone());
        flag("host", o.host.clone());
        flag("id", o.session.clone());
        let agents: Vec<&str> = o.agents.iter().map(|a| a.name()).collect();
        flag("agent", (!agents.is_empty()).then(|| agents.join(",")));
        filters.extend(more.iter().cloned());
        filters
    }

    /// The one sentence every view prints (on stderr) where a table would have no rows:
    /// `No usage found for --since 2030-01-01, --project app.`
    fn nothing_found(&self, what: &str, more: &[String]) -> String {
        let filters = self.filters(more);
        match filters.is_empty() {
            true => format!("No {what} found."),
            false => format!("No {what} found for {}.", filters.join(", ")),
        }
    }

    /// Prints the report, names unpriced models, and turns them into exit 1 with --strict.
    /// A table without rows is the nothing-found sentence instead (JSON and CSV keep
    /// their empty shapes: programs read them); `more` names the view's own filters.
    fn finish(&self, text: &str, totals: &Usage, empty: bool, more: &[String]) -> Result<ExitCode> {
        if empty && self.options.format == OutputFormat::Table {
            eprintln!("{}", self.nothing_found("usage", more));
            return Ok(ExitCode::SUCCESS);
        }
        crate::command::print(text)?;
        let unpriced = totals.unpriced_models();
        if unpriced.is_empty() || self.options.no_cost {
            return Ok(ExitCode::SUCCESS);
        }
        let names: Vec<&str> = unpriced.into_iter().collect();
        log::warn!(
            "no price for {}: tokens counted, cost left out (add them to ~/.config/cco-stats/prices.toml or --prices FILE)",
            names.join(", ")
        );
        Ok(if self.options.strict {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        })
    }
}

/// Quota windows by agent, then shortest first (5-hour, weekly, the others by name).
fn in_order(mut windows: Vec<quota::Window>) -> Vec<quota::Window> {
    windows.sort_by_key(|w| (w.agent, w.length_ms.unwrap_or(i64::MAX), w.window.clone()));
    windows
}

fn merge(sum: &mut Usage, more: &Usage) {
    report::add_tokens(&mut sum.tokens, &more.tokens);
    sum.cost += more.cost;
    sum.requests += more.requests;
    for (model, m) in &more.models {
        let into = sum.models.entry(model.clone()).or_default();
        report::add_tokens(&mut into.tokens, &m.tokens);
        into.cost += m.cost;
        into.unpriced |= m.unpriced;
        into.requests += m.requests;
    }
}

fn warn_past_limit(blocks: &[blocks::Block], limit: u64, now_ms: i64) {
    for b in blocks.iter().filter(|b| b.is_active) {
        let projected = b
            .projection(now_ms)
            .map_or(b.usage.tokens.total(), |p| p.total_tokens);
        match blocks::limit_status(projected, limit) {
            "exceeds" => log::warn!(
                "the active block is projected to use {} tokens, past the limit of {}",
                render::thousands(projected),
                render::thousands(limit)
            ),
            "warning" => log::warn!(
                "the active block is projected to use {} tokens, over 80% of the limit of {}",
                render::thousands(projected),
                render::thousands(limit)
            ),
            _ => {}
        }
    }
}

/// A project is named by its folder under projects/ or by its working directory, which
/// Claude Code encodes by replacing every character outside [A-Za-z0-9] with '-'.
pub(crate) fn project_name(name: &str) -> String {
    if name.contains('/') {
        crate::model::project_of_cwd(name)
    } else {
        name.to_string()
    }
}

/// A report ingests new lines first, so it is never behind the transcripts.
pub(crate) fn ingested(db: &Path, roots: &Roots, quiet: bool) -> Result<Store> {
    let mut store = Store::open(db)?;
    let never = AtomicBool::new(false);
    crate::command::progress::attach(Ingestor::new(&mut store, Options::default()), quiet)
        .pass(&crate::sources::folders(roots), &never)
        .context("ingest before the report failed (use --no-ingest to read the ledger as it is)")?;
    Ok(store)
}

/// What the command line said of terminals (`--color`, `--no-color`, `--compact`): set
/// once, by `command::run`, for every view that prints to one.
#[derive(Clone, Copy, Debug, Default)]
pub struct Terminal {
    /// `--color` (`Some(true)`) or `--no-color`; `None`: neither.
    pub color: Option<bool>,
    pub compact: bool,
}

static TERMINAL: std::sync::OnceLock<Terminal> = std::sync::OnceLock::new();

pub fn set_terminal(terminal: Terminal) {
    // Set once per process; a second call (none today) changes nothing.
    let _ = TERMINAL.set(terminal);
}

fn terminal() -> Terminal {
    TERMINAL.get().copied().unwrap_or_default()
}

/// Whether to colour: `--color` or `--no-color` decide; else NO_COLOR (set, not empty)
/// says no and FORCE_COLOR (set, neither empty nor `0`) yes; else `auto` (the view's own
/// default: a terminal, for tables).
pub fn colored(auto: bool) -> bool {
    if let Some(choice) = terminal().color {
        return choice;
    }
    let set = |name| std::env::var_os(name).filter(|v| !v.is_empty());
    if set("NO_COLOR").is_some() {
        return false;
    }
    if set("FORCE_COLOR").is_some_and(|v| v != "0") {
        return true;
    }
    auto
}

/// The terminal's width, whether to colour (on a terminal unless TERM=dumb, see
/// `colored`) and whether `--compact` was asked. Piped output is laid out for 120
/// columns.
pub fn screen() -> Screen {
    let stdout = std::io::stdout();
    let tty = stdout.is_terminal();
    let width = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .or_else(|| {
            tty.then(|| terminal_size::terminal_size().map(|(w, _)| w.0 as usize))
                .flatten()
        })
        .unwrap_or(120);
    let color = colored(tty && std::env::var("TERM").map_or(true, |t| t != "dumb"));
    Screen {
        width,
        color,
        compact: terminal().compact,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projects_are_named_by_folder_or_by_path() {
        assert_eq!(project_name("-home-u-app"), "-home-u-app");
        assert_eq!(project_name("/home/u/my_app.v2"), "-home-u-my-app-v2");
    }
}
