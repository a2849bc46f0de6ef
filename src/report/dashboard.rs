//! The dashboard's model (`cco-stats dashboard` and `report --html`): what one page shows,
//! gathered from the same report structs the CLI prints (`Report`, `Session`, `Block`,
//! `quota::Window`), so that every figure on the page is the one `daily --json`,
//! `session --json`, `blocks --active --json` and `limits --json` give for the same
//! filters. Only the layout of those figures (days by model or agent, the year's days,
//! the dated price changes in range) is worked out here.

use std::collections::{BTreeMap, HashMap};

use jiff::civil::Date;

use crate::ledger::query::SessionGroup;
use crate::model::Agent;
use crate::report::blocks::Block;
use crate::report::pricing::{PriceTable, family_name};
use crate::report::quota::Window;
use crate::report::{self, Brief, CostMode, Report, Session, Usage};

/// How the daily chart's bars are split.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Stack {
    #[default]
    Model,
    Agent,
}

impl Stack {
    pub fn name(self) -> &'static str {
        match self {
            Stack::Model => "model",
            Stack::Agent => "agent",
        }
    }
}

/// What the daily chart's bars measure.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Measure {
    #[default]
    Cost,
    Tokens,
}

impl Measure {
    pub fn name(self) -> &'static str {
        match self {
            Measure::Cost => "cost",
            Measure::Tokens => "tokens",
        }
    }

    pub fn of_part(self, part: &Part) -> f64 {
        match self {
            Measure::Cost => part.cost,
            Measure::Tokens => part.tokens as f64,
        }
    }

    pub fn of_usage(self, usage: &Usage) -> f64 {
        match self {
            Measure::Cost => usage.cost,
            Measure::Tokens => usage.tokens.total() as f64,
        }
    }
}

/// A column of a table the page can sort by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortKey {
    #[default]
    Cost,
    Tokens,
    Name,
    Last,
}

impl SortKey {
    pub const ALL: [SortKey; 4] = [SortKey::Cost, SortKey::Tokens, SortKey::Name, SortKey::Last];

    pub fn name(self) -> &'static str {
        match self {
            SortKey::Cost => "cost",
            SortKey::Tokens => "tokens",
            SortKey::Name => "name",
            SortKey::Last => "last",
        }
    }

    pub fn from_name(name: &str) -> Option<SortKey> {
        SortKey::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// The most sessions a page lists: the rest are counted, not shown (a page stays under
/// its weight budget on any ledger; narrowing the range or a project shows them).
pub const MAX_SESSIONS: usize = 200;

/// Today, this week and this month, for the page's agent and project (not its range).
#[derive(Clone, Debug, Default)]
pub struct Headline {
    pub today: Usage,
    pub week: Usage,
    pub month: Usage,
}

/// One bar of the daily chart: a day, its usage, and that usage split into parts.
#[derive(Clone, Debug)]
pub struct Day {
    pub date: String,
    pub usage: Usage,
    /// By model or agent (`Stack`), costliest part first.
    pub parts: Vec<Part>,
}

/// A model's or an agent's share of a day.
#[derive(Clone, Debug, PartialEq)]
pub struct Part {
    pub name: String,
    pub cost: f64,
    pub tokens: u64,
}

/// A price that changed inside the chart's range: the day it changed and for what.
#[derive(Clone, Debug, PartialEq)]
pub struct PriceChange {
    pub date: Date,
    pub family: String,
}

/// Everything the overview page shows.
#[derive(Clone, Debug)]
pub struct Overview {
    pub headline: Headline,
    pub active_block: Option<Block>,
    pub quota: Vec<Window>,
    /// The range's daily report (its totals are `daily --json`'s totals).
    pub daily: Report,
    pub days: Vec<Day>,
    pub stack: Stack,
    pub price_changes: Vec<PriceChange>,
    /// The 365 days up to the range's last day, with their cost (days without use left out).
    pub year: Vec<(Date, f64)>,
    pub year_end: Date,
    pub projects: Report,
    /// At most `MAX_SESSIONS`, in the page's order.
    pub sessions: Vec<Session>,
    pub sessions_total: usize,
    /// Every project with use in the range (for the project control).
    pub project_names: Vec<String>,
    /// How the page names the projects it shows, as the CLI's tables do (`Projects::
    /// display`: an alias, else the path with the home folder as `~`); links and
    /// controls keep the ledger's names.
    pub labels: BTreeMap<String, String>,
}

impl Overview {
    /// The name `project` is shown by.
    pub fn label<'a>(&'a self, project: &'a str) -> &'a str {
        label(&self.labels, project)
    }
}

/// The name `project` is shown by, in `labels` (see `Overview::labels`).
fn label<'a>(labels: &'a BTreeMap<String, String>, project: &'a str) -> &'a str {
    labels.get(project).map_or(project, String::as_str)
}

/// One session's page.
#[derive(Clone, Debug)]
pub struct SessionView {
    pub session: Session,
    /// The session's project as the page names it (see `Overview::labels`).
    pub project: String,
    /// Responses and cost per quarter hour, in time order.
    pub timeline: Vec<(i64, u64, f64)>,
    /// Each subagent's file and its usage.
    pub subagents: Vec<(String, Usage)>,
}

/// The parts of a day by model (from the daily report itself).
pub fn parts_by_model(usage: &Usage) -> Vec<Part> {
    usage
        .breakdown()
        .into_iter()
        .map(|(model, m)| Part {
            name: model.to_string(),
            cost: m.cost,
            tokens: m.tokens.total(),
        })
        .collect()
}

/// The daily report's days, split as `stack` asks: by model from the report's own
/// breakdown, by agent from `by_agent` (`Context::daily_by_agent`); the days between
/// without use are there too, empty, so that a chart's width is time.
pub fn days(daily: &Report, stack: Stack, by_agent: &BTreeMap<(Date, Agent), Usage>) -> Vec<Day> {
    let used: Vec<Day> = daily
        .periods
        .iter()
        .map(|p| {
            let parts = match stack {
                Stack::Model => parts_by_model(&p.usage),
                Stack::Agent => {
                    let date: Option<Date> = p.key.parse().ok();
                    let mut parts: Vec<Part> = by_agent
                        .iter()
                        .filter(|((d, _), _)| Some(*d) == date)
                        .map(|((_, agent), u)| Part {
                            name: agent.name().to_string(),
                            cost: u.cost,
                            tokens: u.tokens.total(),
                        })
                        .collect();
                    parts.sort_by(|a, b| b.cost.total_cmp(&a.cost).then(a.name.cmp(&b.name)));
                    parts
                }
            };
            Day {
                date: p.key.clone(),
                usage: p.usage.clone(),
                parts,
            }
        })
        .collect();
    with_empty_days(used)
}

/// `days` (in date order) with a `Day` of no use for each date missing between them.
fn with_empty_days(days: Vec<Day>) -> Vec<Day> {
    let mut out: Vec<Day> = Vec::with_capacity(days.len());
    for day in days {
        let date: Option<Date> = day.date.parse().ok();
        let previous: Option<Date> = out.last().and_then(|d| d.date.parse().ok());
        if let (Some(mut next), Some(date)) = (previous.and_then(|p| p.tomorrow().ok()), date) {
            while next < date {
                out.push(Day {
                    date: next.to_string(),
                    usage: Usage::default(),
                    parts: Vec::new(),
                });
                let Ok(after) = next.tomorrow() else { break };
                next = after;
            }
        }
        out.push(day);
    }
    out
}

/// The dated price changes of the models used in `totals` that fall from `first` to
/// `last`: the days a bar's height may jump for a reason other than use.
pub fn price_changes(
    prices: &PriceTable,
    totals: &Usage,
    first: Date,
    last: Date,
) -> Vec<PriceChange> {
    let mut changes = Vec::new();
    for model in totals.models.keys() {
        let Some(family) = prices.resolve(model) else {
            continue;
        };
        let name = family_name(model);
        for from in family.periods.iter().filter_map(|p| p.from) {
            let change = PriceChange {
                date: from,
                family: name.clone(),
            };
            if from >= first && from <= last && !changes.contains(&change) {
                changes.push(change);
            }
        }
    }
    changes.sort_by(|a, b| a.date.cmp(&b.date).then(a.family.cmp(&b.family)));
    changes
}

/// Sessions sorted by `key` (largest, or latest, first; projects A to Z as `labels` name
/// them).
pub fn sort_sessions(sessions: &mut [Brief], key: SortKey, labels: &BTreeMap<String, String>) {
    match key {
        SortKey::Cost => sessions.sort_by(|a, b| b.cost.total_cmp(&a.cost)),
        SortKey::Tokens => sessions.sort_by_key(|s| std::cmp::Reverse(s.tokens)),
        SortKey::Name => {
            sessions.sort_by(|a, b| label(labels, a.project).cmp(label(labels, b.project)))
        }
        SortKey::Last => sessions.sort_by_key(|s| std::cmp::Reverse(s.last_ms)),
    }
}

/// The sessions a page lists: the first `MAX_SESSIONS` of `sorted`, in its order, each
/// built whole (`report::sessions`) from its own groups of `groups`, so with the figures
/// the sessions report gives it. Building only these keeps a range of thousands of
/// sessions from costing a `Usage` each.
pub fn listed_sessions(
    groups: &[SessionGroup],
    sorted: &[Brief],
    prices: &PriceTable,
    mode: CostMode,
) -> Vec<Session> {
    let rank: HashMap<&str, usize> = sorted
        .iter()
        .take(MAX_SESSIONS)
        .enumerate()
        .map(|(i, b)| (b.session_id, i))
        .collect();
    let listed: Vec<SessionGroup> = groups
        .iter()
        .filter(|g| rank.contains_key(g.session_id.as_str()))
        .cloned()
        .collect();
    let (mut sessions, _) = report::sessions(&listed, prices, mode);
    sessions.sort_by_key(|s| rank[s.session_id.as_str()]);
    sessions
}

/// Projects sorted by `key` (`Last` keeps the report's order: by name, A to Z as `labels`
/// name them).
pub fn sort_projects(projects: &mut Report, key: SortKey, labels: &BTreeMap<String, String>) {
    let periods = &mut projects.periods;
    match key {
        SortKey::Cost => periods.sort_by(|a, b| b.usage.cost.total_cmp(&a.usage.cost)),
        SortKey::Tokens => periods.sort_by_key(|p| std::cmp::Reverse(p.usage.tokens.total())),
        SortKey::Name | SortKey::Last => {
            periods.sort_by(|a, b| label(labels, &a.key).cmp(label(labels, &b.key)))
        }
    }
}

/// The share of input-side tokens read from the cache, in percent (`None`: no input).
pub fn cache_hit_percent(usage: &Usage) -> Option<f64> {
    let t = &usage.tokens;
    let input_side = t.input + t.cache_write_5m + t.cache_write_1h + t.cache_read;
    (input_side > 0).then(|| t.cache_read as f64 * 100.0 / input_side as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sessions a page lists are the sessions report's, sorted as the page asks and
    /// cut at `MAX_SESSIONS`, with the same figures.
    #[test]
    fn listed_sessions_are_the_reports_first_ones() {
        let prices = PriceTable::builtin();
        let mode = CostMode::Auto;
        let models = ["claude-opus-4-6", "claude-sonnet-4-5-20250929", ""];
        let groups: Vec<SessionGroup> = (0..1_500_i64)
            .map(|i| {
                let at_ms = 1_767_225_600_000 + (i % 40) * 86_400_000;
                let mut group = crate::ledger::query::Group::of_output(
                    at_ms,
                    models[(i % 3) as usize],
                    (i as u64 * 7919) % 5_000,
                );
                group.project = format!("p{}", i % 7);
                SessionGroup {
                    session_id: format!("s{}", (i * 31) % 450),
                    first_ms: at_ms,
                    last_ms: at_ms + i,
                    group,
                }
            })
            .collect();
        let labels = BTreeMap::from([("p3".to_string(), "~/a".to_string())]);
        for key in SortKey::ALL {
            let mut briefs = report::briefs(&groups, &prices, mode);
            report::order_sessions(&mut briefs, None, |b| b.cost);
            sort_sessions(&mut briefs, key, &labels);
            let listed = listed_sessions(&groups, &briefs, &prices, mode);

            let (mut all, _) = report::sessions(&groups, &prices, mode);
            report::order_sessions(&mut all, None, |s| s.usage.cost);
            let sort_key = |s: &Session| match key {
                SortKey::Cost => (0, -s.usage.cost, 0, String::new()),
                SortKey::Tokens => (0, 0.0, -(s.usage.tokens.total() as i64), String::new()),
                SortKey::Name => (0, 0.0, 0, label(&labels, &s.project).to_string()),
                SortKey::Last => (-s.last_ms, 0.0, 0, String::new()),
            };
            all.sort_by(|a, b| sort_key(a).partial_cmp(&sort_key(b)).unwrap());
            all.truncate(MAX_SESSIONS);
            assert_eq!(briefs.len(), 450);
            assert_eq!(listed, all, "{key:?}");
        }
    }

    /// Opus 4.6's price changed on 2026-03-13 (the built-in table): a chart of March
    /// marks it, one of April or of other models does not.
    #[test]
    fn price_changes_are_the_used_families_dates_in_range() {
        let prices = PriceTable::builtin();
        let used = |model: &str| {
            let mut totals = Usage::default();
            totals.models.insert(model.to_string(), Default::default());
            totals
        };
        let march = (Date::constant(2026, 3, 1), Date::constant(2026, 3, 31));
        let april = (Date::constant(2026, 4, 1), Date::constant(2026, 4, 30));
        let opus = used("claude-opus-4-6");
        assert_eq!(
            price_changes(&prices, &opus, march.0, march.1),
            vec![PriceChange {
                date: Date::constant(2026, 3, 13),
                family: family_name("claude-opus-4-6"),
            }]
        );
        assert_eq!(price_changes(&prices, &opus, april.0, april.1), vec![]);
        let haiku = used("claude-haiku-4-5-20251001");
        assert_eq!(price_changes(&prices, &haiku, march.0, march.1), vec![]);
    }
}
