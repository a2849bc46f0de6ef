//! The alert thresholds and what they say of the figures: dollar budgets per day, week
//! and month (of all usage, an agent's or a project's), and the quota windows' official
//! used percent. Pure: `command::alerts` gathers the figures and fires the crossings;
//! `check` and `watch` both judge through `judge_budget` and `judge_quota`, so they agree.

use serde::Serialize;

use crate::model::Agent;
use crate::report::options::WeekStart;

/// Where a figure stands against its threshold. Ordered: the worst of several is `max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    Warn,
    Over,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warn => "warn",
            Level::Over => "over",
        }
    }

    /// The levels a crossing at `self` settles, lowest first, ending with `self`: an
    /// `over` first seen also settles the `warn` of the same period, which must not fire
    /// later.
    pub fn settled(self) -> Vec<&'static str> {
        [Level::Warn, Level::Over]
            .into_iter()
            .filter(|l| *l <= self)
            .map(Level::name)
            .collect()
    }

    /// `check`'s exit code: 0 ok, 1 warn, 2 over.
    pub fn exit_code(self) -> u8 {
        self as u8
    }
}

/// Whose usage a budget counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    All,
    Agent(Agent),
    /// A project as `--project` names it.
    Project(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Period {
    Day,
    Week,
    Month,
}

impl Period {
    pub const ALL: [Period; 3] = [Period::Day, Period::Week, Period::Month];

    pub fn name(self) -> &'static str {
        match self {
            Period::Day => "daily",
            Period::Week => "weekly",
            Period::Month => "monthly",
        }
    }
}

/// One dollar budget.
#[derive(Clone, Debug, PartialEq)]
pub struct Budget {
    pub scope: Scope,
    pub period: Period,
    pub usd: f64,
}

/// The warn and over percents of a quota window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Percents {
    pub warn: f64,
    pub over: f64,
}

/// The default percents: warn at 80 % of a quota window (and of a budget), over at 95 %.
pub const DEFAULT_PERCENTS: Percents = Percents {
    warn: 80.0,
    over: 95.0,
};

/// Every threshold in force: the config file's, with the command line's flags on top.
#[derive(Clone, Debug, PartialEq)]
pub struct Thresholds {
    /// The quota windows' percents, and a budget's warn percent (`percents.warn`).
    pub percents: Percents,
    /// Windows with percents of their own, by name (`five_hour`, `seven_day`, …).
    pub windows: Vec<(String, Percents)>,
    pub budgets: Vec<Budget>,
    pub week_start: WeekStart,
}

impl Default for Thresholds {
    fn default() -> Thresholds {
        Thresholds {
            percents: DEFAULT_PERCENTS,
            windows: Vec::new(),
            budgets: Vec::new(),
            week_start: WeekStart::Sunday,
        }
    }
}

impl Thresholds {
    pub fn window(&self, name: &str) -> Percents {
        self.windows
            .iter()
            .find(|(n, _)| n == name)
            .map_or(self.percents, |(_, p)| *p)
    }
}

/// What one threshold says now. `id` and `period_key` name a crossing: it fires once per
/// id, period and level.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// `budget` or `quota`.
    pub kind: &'static str,
    /// Stable: `budget/daily/all`, `budget/weekly/agent/codex`,
    /// `budget/monthly/project/<name>`, `quota/codex/seven_day`.
    pub id: String,
    /// `daily`, `weekly`, `monthly`, or the window's name.
    pub period: String,
    /// Which period or window: its first day (`2026-12-03`, a week's first day, the
    /// month's first day) or, for a quota window, its reset time (ISO 8601 UTC).
    pub period_key: String,
    pub agent: Option<&'static str>,
    pub project: Option<String>,
    /// Dollars spent, or the percent of the window used.
    pub value: f64,
    /// `value` as a percent of the limit (a quota's `value` is one already).
    pub percent: f64,
    /// Where `warn` and `over` begin, in `value`'s unit.
    pub warn_at: f64,
    pub over_at: f64,
    pub level: Level,
}

fn level(value: f64, warn_at: f64, over_at: f64) -> Level {
    if value >= over_at {
        Level::Over
    } else if value >= warn_at {
        Level::Warn
    } else {
        Level::Ok
    }
}

/// A budget against the dollars spent in its period (`period_key`: its first day).
pub fn judge_budget(budget: &Budget, warn_percent: f64, spent: f64, period_key: String) -> Finding {
    let (agent, project, scope) = match &budget.scope {
        Scope::All => (None, None, "all".to_string()),
        Scope::Agent(agent) => (Some(agent.name()), None, format!("agent/{agent}")),
        Scope::Project(name) => (None, Some(name.clone()), format!("project/{name}")),
    };
    let warn_at = budget.usd * warn_percent / 100.0;
    Finding {
        kind: "budget",
        id: format!("budget/{}/{scope}", budget.period.name()),
        period: budget.period.name().to_string(),
        period_key,
        agent,
        project,
        value: spent,
        percent: spent / budget.usd * 100.0,
        warn_at,
        over_at: budget.usd,
        level: level(spent, warn_at, budget.usd),
    }
}

/// One quota window's latest official figure.
#[derive(Clone, Debug, PartialEq)]
pub struct QuotaSample {
    pub agent: Agent,
    /// `five_hour`, `seven_day`, or a window's own name.
    pub window: String,
    pub resets_at_ms: i64,
    pub used_percent: f64,
}

/// A quota window's used percent against its percents.
pub fn judge_quota(sample: &QuotaSample, percents: Percents) -> Finding {
    let resets = jiff::Timestamp::from_millisecond(sample.resets_at_ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|_| sample.resets_at_ms.to_string());
    Finding {
        kind: "quota",
        id: format!("quota/{}/{}", sample.agent, sample.window),
        period: sample.window.clone(),
        period_key: resets,
        agent: Some(sample.agent.name()),
        project: None,
        value: sample.used_percent,
        percent: sample.used_percent,
        warn_at: percents.warn,
        over_at: percents.over,
        level: level(sample.used_percent, percents.warn, percents.over),
    }
}

/// The worst level of all findings (`Ok` when there are none).
pub fn worst(findings: &[Finding]) -> Level {
    findings.iter().map(|f| f.level).max().unwrap_or(Level::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn daily(usd: f64) -> Budget {
        Budget {
            scope: Scope::All,
            period: Period::Day,
            usd,
        }
    }

    #[test]
    fn a_budget_warns_at_its_warn_percent_and_is_over_at_itself() {
        let at = |spent| judge_budget(&daily(50.0), 80.0, spent, "2026-12-03".into()).level;
        assert_eq!(at(39.99), Level::Ok);
        assert_eq!(at(40.0), Level::Warn);
        assert_eq!(at(49.99), Level::Warn);
        assert_eq!(at(50.0), Level::Over);
    }

    #[test]
    fn a_quota_window_warns_and_is_over_at_its_percents() {
        let sample = |used| QuotaSample {
            agent: Agent::Codex,
            window: "seven_day".into(),
            resets_at_ms: 1_767_225_600_000,
            used_percent: used,
        };
        let at = |used| judge_quota(&sample(used), DEFAULT_PERCENTS);
        assert_eq!(at(79.0).level, Level::Ok);
        assert_eq!(at(80.0).level, Level::Warn);
        assert_eq!(at(95.0).level, Level::Over);
        assert_eq!(at(95.0).id, "quota/codex/seven_day");
        assert_eq!(at(95.0).period_key, "2026-01-01T00:00:00Z");
    }

    #[test]
    fn the_worst_level_is_the_exit_code() {
        let f = |spent| judge_budget(&daily(10.0), 80.0, spent, String::new());
        assert_eq!(worst(&[]).exit_code(), 0);
        assert_eq!(worst(&[f(1.0), f(9.0)]).exit_code(), 1);
        assert_eq!(worst(&[f(9.0), f(11.0), f(1.0)]).exit_code(), 2);
    }
}
