//! The report model: periods of usage with per-model sums and costs, computed once and
//! then handed to whichever format prints it.
//!
//! Costs are computed here, per pricing group (see `query`), according to the cost mode:
//! `auto` uses a line's own `costUSD` where it has one and the price table elsewhere,
//! `calculate` always prices, `display` only shows `costUSD`. A model the table does not
//! know keeps its tokens and loses its cost: the model is named in `unpriced`.

pub mod alerts;
pub mod blocks;
pub mod dashboard;
pub mod litellm;
pub mod live;
pub mod metrics;
pub mod options;
pub mod pricing;
pub mod projects;
pub mod quota;
pub mod statusline;

use std::collections::{BTreeMap, BTreeSet};

use crate::ledger::query::{Group, SessionGroup};
use crate::model::Agent;
use crate::model::Tokens;
use crate::report::options::Order;
use crate::report::pricing::{Family, PriceTable, Request};

/// Where a cost comes from: `auto`, a line's own `costUSD` where it has one and the price
/// table elsewhere; `calculate`, always the table; `display`, `costUSD` only.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CostMode {
    #[default]
    Auto,
    Calculate,
    Display,
}

/// One model's usage inside a period.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModelUsage {
    pub tokens: Tokens,
    /// The cost of the priced part.
    pub cost: f64,
    /// Some of this usage could not be priced.
    pub unpriced: bool,
    pub requests: u64,
}

/// Usage over one period (a day, a week, ...), or over all of them (the totals).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Usage {
    pub tokens: Tokens,
    pub cost: f64,
    pub requests: u64,
    /// Keyed by model id; usage without a model (API-error placeholders) is in the sums only.
    pub models: BTreeMap<String, ModelUsage>,
    /// The agents whose rows it holds.
    pub agents: BTreeSet<Agent>,
}

impl Usage {
    pub fn unpriced_models(&self) -> BTreeSet<&str> {
        self.models
            .iter()
            .filter(|(_, m)| m.unpriced)
            .map(|(name, _)| name.as_str())
            .collect()
    }

    /// Model ids in use, as ccusage lists them (sorted).
    pub fn models_used(&self) -> Vec<&str> {
        self.models.keys().map(String::as_str).collect()
    }

    /// Per-model rows, costliest first.
    pub fn breakdown(&self) -> Vec<(&str, &ModelUsage)> {
        let mut rows: Vec<_> = self.models.iter().map(|(k, v)| (k.as_str(), v)).collect();
        rows.sort_by(|a, b| b.1.cost.total_cmp(&a.1.cost).then(a.0.cmp(b.0)));
        rows
    }

    /// The names of the agents whose rows it holds, in `Agent::ALL`'s order.
    pub fn agents_used(&self) -> Vec<&'static str> {
        self.agents.iter().map(|a| a.name()).collect()
    }

    pub fn add_group(&mut self, group: &Group, cost: Option<f64>) {
        self.agents.insert(group.key.agent);
        add_tokens(&mut self.tokens, &group.tokens);
        self.cost += cost.unwrap_or(0.0);
        self.requests += group.requests;
        if let Some(model) = group.model() {
            // Fast mode is its own line in breakdowns (as ccusage names it).
            let fast_name;
            let name = if group.key.fast {
                fast_name = format!("{model}-fast");
                &fast_name
            } else {
                model
            };
            // Looked up before inserting: a report adds many groups to few models.
            if !self.models.contains_key(name) {
                self.models.insert(name.to_string(), ModelUsage::default());
            }
            let m = self.models.get_mut(name).expect("inserted above");
            add_tokens(&mut m.tokens, &group.tokens);
            m.cost += cost.unwrap_or(0.0);
            m.unpriced |= cost.is_none();
            m.requests += group.requests;
        }
    }
}

pub fn add_tokens(sum: &mut Tokens, more: &Tokens) {
    sum.input += more.input;
    sum.output += more.output;
    sum.cache_write_5m += more.cache_write_5m;
    sum.cache_write_1h += more.cache_write_1h;
    sum.cache_read += more.cache_read;
}

/// A period's name (`2026-02-10`, `2026-02`, a project, a model ...) and its usage.
#[derive(Clone, Debug, PartialEq)]
pub struct Period {
    pub key: String,
    pub usage: Usage,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// In ascending key order; `reverse` for `--order desc`.
    pub periods: Vec<Period>,
    pub totals: Usage,
}

/// One host's usage, for the `hosts` view.
#[derive(Clone, Debug, PartialEq)]
pub struct HostUsage {
    pub name: String,
    pub id: String,
    pub first_ms: i64,
    pub last_ms: i64,
    pub usage: Usage,
}

impl Report {
    pub fn reverse(&mut self) {
        self.periods.reverse();
    }

    /// Without the rows of neither tokens nor cost (the `<synthetic>` placeholders Claude
    /// Code writes for API errors): a row of zeros tells a person nothing. Their requests
    /// leave the totals with them.
    pub fn without_empty_rows(mut self) -> Report {
        let totals = &mut self.totals;
        self.periods.retain(|p| {
            let empty = p.usage.tokens.total() == 0 && p.usage.cost == 0.0;
            if empty {
                totals.requests -= p.usage.requests;
            }
            !empty
        });
        self
    }
}

/// Prices groups in one cost mode, resolving each model id to its family once (a report
/// prices many groups of a handful of models).
pub struct Pricer<'t> {
    prices: &'t PriceTable,
    mode: CostMode,
    resolved: Vec<(String, Option<&'t Family>)>,
}

impl<'t> Pricer<'t> {
    pub fn new(prices: &'t PriceTable, mode: CostMode) -> Pricer<'t> {
        Pricer {
            prices,
            mode,
            resolved: Vec::new(),
        }
    }

    /// The cost of one group, or `None` when it has no price: its model is unknown, no
    /// period covers its day, or its period does not price its fast mode or web searches.
    pub fn cost(&mut self, group: &Group) -> Option<f64> {
        match (self.mode, group.key.has_cost_usd) {
            (CostMode::Display, true) | (CostMode::Auto, true) => return Some(group.cost_usd),
            (CostMode::Display, false) => return Some(0.0),
            _ => {}
        }
        let Some(model) = group.model() else {
            // Placeholders without a model carry no tokens: nothing to price.
            return (group.tokens.total() == 0).then_some(0.0);
        };
        let request = Request {
            at_ms: group.at_ms,
            tokens: &group.tokens,
            tier_class: group.key.tier,
            fast: group.key.fast,
            geo: &group.key.geo,
            web_search: group.web_search,
        };
        self.family(model)?.cost(&request)
    }

    fn family(&mut self, model: &str) -> Option<&'t Family> {
        if let Some((_, family)) = self.resolved.iter().find(|(name, _)| name == model) {
            return *family;
        }
        let family = self.prices.resolve(model);
        self.resolved.push((model.to_string(), family));
        family
    }
}

/// Sums groups into periods keyed by `key_of(group)` and named by `name_of(key)` (keys
/// order the periods: dates as dates, not as text).
pub fn build<K: Ord>(
    groups: &[Group],
    prices: &PriceTable,
    mode: CostMode,
    mut key_of: impl FnMut(&Group) -> K,
    name_of: impl Fn(&K) -> String,
) -> Report {
    let mut periods: BTreeMap<K, Usage> = BTreeMap::new();
    let mut totals = Usage::default();
    let mut pricer = Pricer::new(prices, mode);
    for group in groups {
        let cost = pricer.cost(group);
        periods
            .entry(key_of(group))
            .or_default()
            .add_group(group, cost);
        totals.add_group(group, cost);
    }
    Report {
        periods: periods
            .into_iter()
            .map(|(key, usage)| Period {
                key: name_of(&key),
                usage,
            })
            .collect(),
        totals,
    }
}

/// One session: its usage, project and first and last activity.
#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    pub session_id: String,
    pub project: String,
    pub first_ms: i64,
    pub last_ms: i64,
    pub usage: Usage,
}

/// Sums session groups into sessions (ordered by last activity) and totals.
pub fn sessions(
    groups: &[SessionGroup],
    prices: &PriceTable,
    mode: CostMode,
) -> (Vec<Session>, Usage) {
    let mut by_id: BTreeMap<&str, Session> = BTreeMap::new();
    let mut totals = Usage::default();
    let mut pricer = Pricer::new(prices, mode);
    for g in groups {
        let cost = pricer.cost(&g.group);
        let session = by_id.entry(&g.session_id).or_insert_with(|| Session {
            session_id: g.session_id.clone(),
            project: g.group.project.clone(),
            first_ms: g.first_ms,
            last_ms: g.last_ms,
            usage: Usage::default(),
        });
        session.first_ms = session.first_ms.min(g.first_ms);
        session.last_ms = session.last_ms.max(g.last_ms);
        session.usage.add_group(&g.group, cost);
        totals.add_group(&g.group, cost);
    }
    let mut list: Vec<Session> = by_id.into_values().collect();
    list.sort_by(|a, b| {
        a.last_ms
            .cmp(&b.last_ms)
            .then(a.session_id.cmp(&b.session_id))
    });
    (list, totals)
}

/// What ordering a list of sessions needs of each, summed as `sessions` sums them (the
/// same group costs, added in the same order, so the same figures): a page that lists a
/// few sessions of thousands orders them all by these and builds the few it shows whole.
#[derive(Clone, Debug, PartialEq)]
pub struct Brief<'g> {
    pub session_id: &'g str,
    pub project: &'g str,
    pub last_ms: i64,
    pub cost: f64,
    pub tokens: u64,
}

/// `sessions`' list as briefs, in its order (by last activity).
pub fn briefs<'g>(
    groups: &'g [SessionGroup],
    prices: &PriceTable,
    mode: CostMode,
) -> Vec<Brief<'g>> {
    let mut by_id: BTreeMap<&str, Brief> = BTreeMap::new();
    let mut pricer = Pricer::new(prices, mode);
    for g in groups {
        let cost = pricer.cost(&g.group);
        let brief = by_id.entry(&g.session_id).or_insert_with(|| Brief {
            session_id: &g.session_id,
            project: &g.group.project,
            last_ms: g.last_ms,
            cost: 0.0,
            tokens: 0,
        });
        brief.last_ms = brief.last_ms.max(g.last_ms);
        brief.cost += cost.unwrap_or(0.0);
        brief.tokens += g.group.tokens.total();
    }
    let mut list: Vec<Brief> = by_id.into_values().collect();
    list.sort_by(|a, b| {
        a.last_ms
            .cmp(&b.last_ms)
            .then(a.session_id.cmp(b.session_id))
    });
    list
}

/// Puts sessions in the sessions report's order: by cost, the costliest first, as
/// ccusage lists them, unless `--order` asks for them by last activity (the order
/// `sessions` and `briefs` give).
pub fn order_sessions<T>(list: &mut [T], order: Option<Order>, cost: impl Fn(&T) -> f64) {
    match order {
        None => list.sort_by(|a, b| cost(b).total_cmp(&cost(a))),
        Some(Order::Asc) => {}
        Some(Order::Desc) => list.reverse(),
    }
}

/// One agent's usage, for the `agents` view.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentUsage {
    pub agent: Agent,
    pub first_ms: i64,
    pub last_ms: i64,
    pub usage: Usage,
    /// What the agent billed in its own units (Amp's credits, Copilot's premium
    /// requests), read beside the usage.
    pub figures: crate::ledger::query::Figures,
}

/// Sums session groups (which keep exact first and last activity times) into one row
/// per agent, in `Agent::ALL`'s order, and totals.
pub fn agents(
    groups: &[SessionGroup],
    prices: &PriceTable,
    mode: CostMode,
) -> (Vec<AgentUsage>, Usage) {
    let mut by_agent: BTreeMap<Agent, AgentUsage> = BTreeMap::new();
    let mut totals = Usage::default();
    let mut pricer = Pricer::new(prices, mode);
    for g in groups {
        let cost = pricer.cost(&g.group);
        let agent = by_agent
            .entry(g.group.key.agent)
            .or_insert_with(|| AgentUsage {
                agent: g.group.key.agent,
                first_ms: g.first_ms,
                last_ms: g.last_ms,
                usage: Usage::default(),
                figures: Default::default(),
            });
        agent.first_ms = agent.first_ms.min(g.first_ms);
        agent.last_ms = agent.last_ms.max(g.last_ms);
        agent.usage.add_group(&g.group, cost);
        totals.add_group(&g.group, cost);
    }
    (by_agent.into_values().collect(), totals)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(at_ms: i64, model: &str, output: u64) -> Group {
        Group::of_output(at_ms, model, output)
    }

    #[test]
    fn groups_sum_into_periods_and_totals() {
        let prices = PriceTable::builtin();
        let groups = [
            group(0, "claude-haiku-4-5", 1_000_000),
            group(1, "claude-haiku-4-5", 1_000_000),
            group(2, "claude-unknown-9", 10),
        ];
        let report = build(
            &groups,
            &prices,
            CostMode::Auto,
            |g| if g.at_ms < 2 { "a" } else { "b" },
            |k| k.to_string(),
        );
        assert_eq!(report.periods.len(), 2);
        assert_eq!(report.periods[0].usage.tokens.output, 2_000_000);
        assert_eq!(report.periods[0].usage.cost, 10.0);
        assert_eq!(report.totals.tokens.output, 2_000_010);
        assert_eq!(
            report
                .totals
                .unpriced_models()
                .into_iter()
                .collect::<Vec<_>>(),
            vec!["claude-unknown-9"]
        );
        assert_eq!(
            report.totals.cost, 10.0,
            "an unknown model adds no made-up cost"
        );
    }

    #[test]
    fn cost_modes() {
        let prices = PriceTable::builtin();
        let cost = |mode, g: &Group| Pricer::new(&prices, mode).cost(g);
        let mut g = group(0, "claude-haiku-4-5", 1_000_000);
        g.key.has_cost_usd = true;
        g.cost_usd = 1.5;
        assert_eq!(cost(CostMode::Auto, &g), Some(1.5));
        assert_eq!(cost(CostMode::Display, &g), Some(1.5));
        assert_eq!(cost(CostMode::Calculate, &g), Some(5.0));
        g.key.has_cost_usd = false;
        assert_eq!(cost(CostMode::Auto, &g), Some(5.0));
        assert_eq!(cost(CostMode::Display, &g), Some(0.0));
    }
}
