//! Budgets and alerts: `cco-stats check`, and the checks `watch` and `live` make after
//! each pass and at least once a minute (`ALERT_EVERY`), since a status-line call may
//! bring the sample that crosses a quota threshold while no transcript changes.
//!
//! The thresholds are the config file's with the command line's flags on top
//! (`thresholds`); the figures are the ledger's (dollars spent since the period's first
//! day, in the system's zone, priced as reports price them; the quota windows' official
//! percents); `report::alerts` judges them. A crossing fires once per threshold, period
//! and level, recorded in the ledger (`ledger::alerts`) so that a restart, or another
//! process, does not fire it again. Firing is a line on stderr, a desktop notification
//! where one can be sent (`notify-send`, `osascript`; never required), and the alert
//! command: each bounded in time (`NOTIFY_TIME`, `COMMAND_TIME`), each failure logged and
//! never more.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use jiff::tz::TimeZone;
use serde::Serialize;

use crate::cli::{AlertArgs, CheckArgs};
use crate::config::Config;
use crate::ledger::query::{self, Filter};
use crate::ledger::{self, Store};
use crate::model::Agent;
use crate::model::calendar;
use crate::render;
use crate::report::alerts::{
    Budget, Finding, Level, Percents, Period, QuotaSample, Scope, Thresholds, judge_budget,
    judge_quota, worst,
};
use crate::report::options::WeekStart;
use crate::report::pricing::PriceTable;
use crate::report::{self, CostMode, quota};
use crate::sources::claude::roots::Roots;

/// `watch` and `live` judge the thresholds at least this often.
pub const ALERT_EVERY: Duration = Duration::from_secs(60);
/// The longest a desktop notification may take to be sent.
const NOTIFY_TIME: Duration = Duration::from_secs(5);
/// The longest the alert command may run; then it is killed, with its process group.
const COMMAND_TIME: Duration = Duration::from_secs(10);

/// The thresholds in force: `config`'s, with `args` over them.
pub fn thresholds(config: &Config, args: &AlertArgs) -> Result<Thresholds> {
    let t = &config.thresholds;
    let mut percents = Percents {
        warn: t
            .warn_percent
            .unwrap_or(report::alerts::DEFAULT_PERCENTS.warn),
        over: t
            .over_percent
            .unwrap_or(report::alerts::DEFAULT_PERCENTS.over),
    };
    let mut windows: Vec<(String, Percents)> = t
        .window
        .iter()
        .map(|(name, p)| {
            let own = Percents {
                warn: p.warn_percent.unwrap_or(percents.warn),
                over: p.over_percent.unwrap_or(percents.over),
            };
            (name.clone(), own)
        })
        .collect();
    // A flag is the person's word for now: it holds for every window.
    if args.warn_percent.is_some() || args.over_percent.is_some() {
        percents.warn = args.warn_percent.unwrap_or(percents.warn);
        percents.over = args.over_percent.unwrap_or(percents.over);
        windows.clear();
    }
    for (name, p) in
        std::iter::once(("", &percents)).chain(windows.iter().map(|(n, p)| (n.as_str(), p)))
    {
        if p.warn > p.over {
            let of = if name.is_empty() {
                String::new()
            } else {
                format!(" of window {name}")
            };
            bail!(
                "the warn percent{of} ({}) is above the over percent ({})",
                p.warn,
                p.over
            );
        }
    }
    let b = &config.budgets;
    let all = crate::config::Budget {
        daily: args.daily_budget.or(b.daily),
        weekly: args.weekly_budget.or(b.weekly),
        monthly: args.monthly_budget.or(b.monthly),
    };
    let mut budgets = Vec::new();
    let scoped = std::iter::once((Scope::All, all))
        .chain(b.agent.iter().map(|(name, budget)| {
            // Checked when the file was read.
            let agent = Agent::from_name(name).unwrap_or_default();
            (Scope::Agent(agent), *budget)
        }))
        .chain(b.project.iter().map(|(name, budget)| {
            (
                Scope::Project(crate::command::report::project_name(name)),
                *budget,
            )
        }));
    for (scope, budget) in scoped {
        for (period, usd) in
            Period::ALL
                .into_iter()
                .zip([budget.daily, budget.weekly, budget.monthly])
        {
            if let Some(usd) = usd {
                budgets.push(Budget {
                    scope: scope.clone(),
                    period,
                    usd,
                });
            }
        }
    }
    Ok(Thresholds {
        percents,
        windows,
        budgets,
        week_start: b.week_start.map_or(WeekStart::Sunday, Into::into),
    })
}

/// Where a fired alert's line goes: stderr, or (in `live`'s full screen, which stderr
/// would tear) kept for the view to show.
pub enum Say {
    Stderr,
    Keep(Vec<String>),
}

/// The thresholds, the figures' prices and zone, and how to fire.
pub struct Alerts {
    thresholds: Thresholds,
    command: Option<String>,
    prices: PriceTable,
    zone: TimeZone,
    notifier: Option<PathBuf>,
    pub say: Say,
}

impl Alerts {
    /// The config file (`config`, else the default one) with `args` over it.
    pub fn load(config: Option<&Path>, args: &AlertArgs, prices: PriceTable) -> Result<Alerts> {
        let file = crate::config::load(config)?;
        if let Some(command) = &args.alert_command {
            crate::config::check_command(command)
                .map_err(|e| anyhow::anyhow!("--alert-command: {e}"))?;
        }
        Ok(Alerts {
            thresholds: thresholds(&file, args)?,
            command: args.alert_command.clone().or(file.alerts.command),
            prices,
            zone: calendar::zone(None)?,
            notifier: notifier(),
            say: Say::Stderr,
        })
    }

    /// Every threshold against the ledger at `now_ms`: the budgets in their order, then
    /// the quota windows that have not reset.
    pub fn judge(&self, store: &Store, now_ms: i64) -> Result<Vec<Finding>> {
        let conn = store.conn();
        let today = calendar::local_date(now_ms, &self.zone);
        let mut findings = Vec::new();
        for budget in &self.thresholds.budgets {
            let first = match budget.period {
                Period::Day => today,
                Period::Week => calendar::week_start(today, self.thresholds.week_start.weekday()),
                Period::Month => today.first_of_month(),
            };
            let spent = self.spent(conn, &budget.scope, first)?;
            findings.push(judge_budget(
                budget,
                self.thresholds.percents.warn,
                spent,
                first.to_string(),
            ));
        }
        for sample in official_quota(conn, now_ms)? {
            findings.push(judge_quota(&sample, self.thresholds.window(&sample.window)));
        }
        Ok(findings)
    }

    /// Dollars spent by `scope` from the start of `first` (a day in the zone) on.
    fn spent(
        &self,
        conn: &rusqlite::Connection,
        scope: &Scope,
        first: jiff::civil::Date,
    ) -> Result<f64> {
        let (since_ms, _) = calendar::range_ms(Some(first), None, &self.zone)?;
        let mut filter = Filter {
            since_ms,
            ..Filter::default()
        };
        match scope {
            Scope::All => {}
            Scope::Agent(agent) => filter.agents = vec![*agent],
            Scope::Project(name) => filter.project = Some(name.clone()),
        }
        let groups = query::date_groups(conn, &filter, &self.zone)?;
        let report = report::build(
            &groups,
            &self.prices,
            CostMode::Auto,
            |_| (),
            |_| String::new(),
        );
        Ok(report.totals.cost)
    }

    /// Judges the thresholds and fires each crossing that has not fired for its period
    /// (`watch` and `live`, after a pass and every `ALERT_EVERY`).
    pub fn judge_and_fire(&mut self, store: &Store, now_ms: i64) -> Result<()> {
        let findings = self.judge(store, now_ms)?;
        self.fire_new(store, &findings, now_ms)
    }

    /// Fires each of `findings`' crossings that has not fired for its period. A failure
    /// to notify or of the command is logged, never returned: only the ledger's errors
    /// are.
    pub fn fire_new(&mut self, store: &Store, findings: &[Finding], now_ms: i64) -> Result<()> {
        for finding in findings.iter().filter(|f| f.level > Level::Ok) {
            if ledger::alerts::record_crossing(
                store.conn(),
                &finding.id,
                &finding.period_key,
                &finding.level.settled(),
                finding.value,
                now_ms,
            )? {
                self.fire(finding, now_ms);
            }
        }
        Ok(())
    }

    fn fire(&mut self, finding: &Finding, now_ms: i64) {
        let line = render::finding_line(finding);
        match &mut self.say {
            Say::Stderr => super::say::line(format_args!("alert: {line}")),
            Say::Keep(lines) => lines.push(line.clone()),
        }
        if let Some(notifier) = &self.notifier {
            let title = format!("cco-stats: {}", finding.level.name());
            if let Err(e) = run_bounded(notification(notifier, &title, &line), None, NOTIFY_TIME) {
                log::warn!(
                    "cannot send a desktop notification with {}: {e:#}",
                    notifier.display()
                );
            }
        }
        if let Some(command) = &self.command {
            let alert = Alert {
                finding,
                message: &line,
                fired_at: jiff::Timestamp::from_millisecond(now_ms)
                    .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
                    .unwrap_or_default(),
            };
            let json = serde_json::to_vec(&alert).unwrap_or_default();
            let mut cmd = Command::new("sh");
            cmd.arg("-c").arg(command).envs(alert.environment());
            match run_bounded(cmd, Some(&json), COMMAND_TIME) {
                Ok(status) if status.success() => {}
                Ok(status) => log::warn!("the alert command failed ({status}) for {}", finding.id),
                Err(e) => log::warn!("the alert command for {}: {e:#}", finding.id),
            }
        }
    }
}

/// The quota windows not reset by `now_ms` with an official figure, as the `limits`
/// report's model gives them (its latest sample each). Estimates are left out: a guessed
/// limit would fire on guesses.
fn official_quota(conn: &rusqlite::Connection, now_ms: i64) -> Result<Vec<QuotaSample>> {
    let samples = ledger::quota::windows(conn, &[], now_ms)?;
    // The thresholds need no spending: the model's forecast is not read here.
    let mut nothing = |_, _, _| Ok(quota::Spent::default());
    let windows = quota::build(&samples, &mut nothing, now_ms)?;
    Ok(windows
        .into_iter()
        .filter(|w| w.source == quota::Source::Official)
        .filter_map(|w| match (w.used_percent, w.resets_at_ms) {
            (Some(used_percent), Some(resets_at_ms)) if resets_at_ms > now_ms => {
                Some(QuotaSample {
                    agent: w.agent,
                    window: w.window,
                    resets_at_ms,
                    used_percent,
                })
            }
            _ => None,
        })
        .collect())
}

/// What the alert command reads on stdin: the finding, its line, and when it fired.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Alert<'a> {
    #[serde(flatten)]
    finding: &'a Finding,
    message: &'a str,
    fired_at: String,
}

impl Alert<'_> {
    /// The same details as `CCO_STATS_ALERT_*` variables.
    fn environment(&self) -> Vec<(&'static str, String)> {
        let f = self.finding;
        vec![
            ("CCO_STATS_ALERT_LEVEL", f.level.name().to_string()),
            ("CCO_STATS_ALERT_KIND", f.kind.to_string()),
            ("CCO_STATS_ALERT_ID", f.id.clone()),
            ("CCO_STATS_ALERT_PERIOD", f.period.clone()),
            ("CCO_STATS_ALERT_PERIOD_KEY", f.period_key.clone()),
            ("CCO_STATS_ALERT_AGENT", f.agent.unwrap_or("").to_string()),
            (
                "CCO_STATS_ALERT_PROJECT",
                f.project.clone().unwrap_or_default(),
            ),
            ("CCO_STATS_ALERT_VALUE", f.value.to_string()),
            ("CCO_STATS_ALERT_PERCENT", format!("{:.1}", f.percent)),
            ("CCO_STATS_ALERT_WARN_AT", f.warn_at.to_string()),
            ("CCO_STATS_ALERT_OVER_AT", f.over_at.to_string()),
            ("CCO_STATS_ALERT_MESSAGE", self.message.to_string()),
            ("CCO_STATS_ALERT_FIRED_AT", self.fired_at.clone()),
        ]
    }
}

/// `notify-send` (freedesktop) or `osascript` (macOS), the first found on PATH.
fn notifier() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["notify-send", "osascript"].into_iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

fn notification(notifier: &Path, title: &str, body: &str) -> Command {
    let mut cmd = Command::new(notifier);
    if notifier.ends_with("osascript") {
        // The text as arguments, never inside the script: nothing in it is AppleScript.
        cmd.args([
            "-e",
            "on run argv",
            "-e",
            "display notification (item 2 of argv) with title (item 1 of argv)",
            "-e",
            "end run",
            title,
            body,
        ]);
    } else {
        cmd.args(["--app-name=cco-stats", title, body]);
    }
    cmd
}

/// Runs `cmd` in a process group of its own with `input` on stdin and its output on our
/// stderr (stdout is a report's), for at most `limit`: then the group is killed.
fn run_bounded(mut cmd: Command, input: Option<&[u8]>, limit: Duration) -> Result<ExitStatus> {
    let stderr = std::io::stderr();
    let out = std::os::fd::AsFd::as_fd(&stderr)
        .try_clone_to_owned()
        .context("cannot pass stderr on")?;
    let mut child = cmd
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::from(out))
        .process_group(0)
        .spawn()
        .with_context(|| format!("cannot start {:?}", cmd.get_program()))?;
    if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
        // A command that does not read its input is its own business.
        if let Err(e) = stdin.write_all(input)
            && e.kind() != std::io::ErrorKind::BrokenPipe
        {
            log::debug!("cannot write the alert to {:?}: {e}", cmd.get_program());
        }
    }
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if started.elapsed() >= limit {
            if let Some(group) = rustix::process::Pid::from_raw(child.id() as i32) {
                let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
            }
            let _ = child.wait();
            bail!("killed after {}", humantime::format_duration(limit));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `cco-stats check`: ingests, judges every threshold once, prints one line each (or
/// JSON) and exits with the worst level: 0 ok, 1 warn, 2 over; 3 when it cannot tell.
/// With an alert command, the crossings not fired yet are fired too (cron without
/// `watch`).
pub fn check(
    db: &Path,
    roots: &Roots,
    prices: Option<&Path>,
    config: Option<&Path>,
    args: &CheckArgs,
    quiet: bool,
) -> ExitCode {
    match check_inner(db, roots, prices, config, args, quiet) {
        Ok(level) => ExitCode::from(level.exit_code()),
        Err(e) if crate::command::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            super::say::line(format_args!("error: {}", super::describe(&e)));
            ExitCode::from(3)
        }
    }
}

fn check_inner(
    db: &Path,
    roots: &Roots,
    prices: Option<&Path>,
    config: Option<&Path>,
    args: &CheckArgs,
    quiet: bool,
) -> Result<Level> {
    let prices = PriceTable::load(prices)?;
    let mut alerts = Alerts::load(config, &args.alerts, prices)?;
    let mut store = crate::command::report::ingested(db, roots, quiet)?;
    // As a report does: aggregates that tell the price table's tiers apart.
    store.learn_tiers(&alerts.prices.tier_thresholds())?;
    let now_ms = jiff::Timestamp::now().as_millisecond();
    let findings = alerts.judge(&store, now_ms)?;
    if alerts.command.is_some() {
        alerts.fire_new(&store, &findings, now_ms)?;
    }
    let level = worst(&findings);
    let text = if args.json {
        crate::render::json::text(&CheckReport {
            level,
            thresholds: &findings,
        })
    } else if findings.is_empty() {
        "ok    no thresholds to judge: no budget is set and no quota figure is recorded\n"
            .to_string()
    } else {
        findings
            .iter()
            .map(|f| render::finding_line(f) + "\n")
            .collect()
    };
    crate::command::print(&text)?;
    Ok(level)
}

#[derive(Serialize)]
struct CheckReport<'a> {
    level: Level,
    thresholds: &'a [Finding],
}
