//! The metrics model: the ledger's lifetime sums as counter series (tokens by kind, cost,
//! requests, web searches) by the chosen dimensions, and the ledger's health as gauges.
//! `render::metrics` prints it as Prometheus text or OpenMetrics.
//!
//! Token kinds are named as Claude Code's own OpenTelemetry metrics name them (`input`,
//! `output`, `cacheRead`, `cacheCreation`), so its dashboards port. Cost is computed the
//! way reports compute it by default (`--mode auto`, today's price table), so the sums
//! over every series equal `daily --json`'s totals; a model without a price adds no cost.

use std::collections::BTreeMap;

use crate::ledger::query::{Group, Health};
use crate::model::Tokens;
use crate::report::pricing::PriceTable;
use crate::report::{CostMode, Pricer, add_tokens};

/// The dimensions counters are split by besides the token kind and the agent (always a
/// label). Projects can be many, so they are asked for (`--labels model,project`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dimensions {
    pub model: bool,
    pub project: bool,
}

/// A counter family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Family {
    Tokens,
    CostUsd,
    Requests,
    WebSearches,
}

impl Family {
    pub const ALL: [Family; 4] = [
        Family::Tokens,
        Family::CostUsd,
        Family::Requests,
        Family::WebSearches,
    ];

    /// The family's name without `_total`.
    pub fn name(self) -> &'static str {
        match self {
            Family::Tokens => "cco_stats_tokens",
            Family::CostUsd => "cco_stats_cost_usd",
            Family::Requests => "cco_stats_requests",
            Family::WebSearches => "cco_stats_web_searches",
        }
    }

    pub fn help(self) -> &'static str {
        match self {
            Family::Tokens => {
                "Tokens of billable Claude Code responses in the ledger, by kind (input, output, cacheRead, cacheCreation)."
            }
            Family::CostUsd => {
                "Cost in US dollars of the responses in the ledger at the current prices (as reports compute it); a price fix that lowers it is absorbed, see cco_stats_prices_revision."
            }
            Family::Requests => "Billable Claude Code responses in the ledger.",
            Family::WebSearches => "Web searches made by Claude Code responses in the ledger.",
        }
    }
}

/// One counter series: its family, its labels (host aside) and its value.
#[derive(Clone, Debug, PartialEq)]
pub struct Counter {
    pub family: Family,
    pub labels: Vec<(&'static str, String)>,
    pub value: f64,
    /// When the series was first printed (OpenMetrics `_created`), UTC ms.
    pub created_ms: i64,
}

/// What one render prints.
#[derive(Clone, Debug, PartialEq)]
pub struct Metrics {
    pub host_id: String,
    pub host_name: String,
    pub version: String,
    pub counters: Vec<Counter>,
    pub health: Health,
    pub ledger_bytes: u64,
    pub prices_revision: i64,
    /// Each agent's quota windows not reset yet, as the agent last reported them.
    pub quota: Vec<QuotaGauge>,
}

/// One official quota window's gauges (see `report::quota`).
#[derive(Clone, Debug, PartialEq)]
pub struct QuotaGauge {
    pub agent: &'static str,
    pub window: String,
    /// 0..1 (more when an agent lets use run over).
    pub used_ratio: f64,
    pub resets_at_ms: i64,
    pub seen_ms: i64,
}

/// The gauges of the official windows of `windows` (`Context::quota_now`'s, or
/// `report::quota::build`'s over samples not reset yet); estimates are left out.
pub fn quota_gauges(windows: &[crate::report::quota::Window]) -> Vec<QuotaGauge> {
    windows
        .iter()
        .filter(|w| w.source == crate::report::quota::Source::Official)
        .filter_map(|w| {
            Some(QuotaGauge {
                agent: w.agent.name(),
                window: w.window.clone(),
                used_ratio: w.used_percent? / 100.0,
                resets_at_ms: w.resets_at_ms?,
                seen_ms: w.seen_ms?,
            })
        })
        .collect()
}

/// Claude Code's name for responses without a model (API-error placeholders), which the
/// ledger stores as none.
const NO_MODEL: &str = "<synthetic>";

#[derive(Default)]
struct Sums {
    tokens: Tokens,
    cost: f64,
    requests: u64,
    web_search: u64,
}

/// The counters the rows give now, in a fixed order (family, then labels), with
/// `created_ms` left 0 for the ledger to fill.
pub fn counters(groups: &[Group], prices: &PriceTable, dims: Dimensions) -> Vec<Counter> {
    let mut pricer = Pricer::new(prices, CostMode::Auto);
    let mut sums: BTreeMap<Vec<(&'static str, String)>, Sums> = BTreeMap::new();
    for group in groups {
        // Agents are few: always a label, so one agent's usage can be told from another's.
        let mut labels = vec![("agent", group.key.agent.name().to_string())];
        if dims.model {
            let model = match group.model() {
                Some(model) if group.key.fast => format!("{model}-fast"),
                Some(model) => model.to_string(),
                None => NO_MODEL.to_string(),
            };
            labels.push(("model", model));
        }
        if dims.project {
            labels.push(("project", group.project.clone()));
        }
        let cost = pricer.cost(group);
        let sum = sums.entry(labels).or_default();
        add_tokens(&mut sum.tokens, &group.tokens);
        sum.cost += cost.unwrap_or(0.0);
        sum.requests += group.requests;
        sum.web_search += group.web_search;
    }
    let mut counters = Vec::new();
    for family in Family::ALL {
        for (labels, sum) in &sums {
            let mut push = |extra: Option<(&'static str, &str)>, value: f64| {
                let mut labels = labels.clone();
                labels.extend(extra.map(|(k, v)| (k, v.to_string())));
                counters.push(Counter {
                    family,
                    labels,
                    value,
                    created_ms: 0,
                });
            };
            match family {
                Family::Tokens => {
                    let t = &sum.tokens;
                    for (kind, value) in [
                        ("input", t.input),
                        ("output", t.output),
                        ("cacheRead", t.cache_read),
                        ("cacheCreation", t.cache_creation()),
                    ] {
                        push(Some(("type", kind)), value as f64);
                    }
                }
                Family::CostUsd => push(None, sum.cost),
                Family::Requests => push(None, sum.requests as f64),
                Family::WebSearches => push(None, sum.web_search as f64),
            }
        }
    }
    counters
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The counter of `family` with `labels` and Claude Code's `agent` label (every
    /// group here is Claude Code's).
    fn value(counters: &[Counter], family: Family, labels: &[(&str, &str)]) -> f64 {
        let labels: Vec<(&str, &str)> = [("agent", "claude")]
            .into_iter()
            .chain(labels.iter().copied())
            .collect();
        counters
            .iter()
            .find(|c| {
                c.family == family
                    && c.labels.len() == labels.len()
                    && labels
                        .iter()
                        .all(|(k, v)| c.labels.iter().any(|(ck, cv)| ck == k && cv == v))
            })
            .unwrap_or_else(|| panic!("no {family:?} {labels:?} in {counters:?}"))
            .value
    }

    #[test]
    fn groups_sum_by_the_chosen_dimensions_and_kinds() {
        let mut a = Group::of_output(1_770_000_000_000, "claude-sonnet-4-5", 1_000_000);
        a.tokens.cache_write_5m = 10;
        a.tokens.cache_write_1h = 5;
        let mut b = Group::of_output(1_770_000_000_000, "claude-sonnet-4-5", 2);
        b.project = "q".into();
        let mut fast = Group::of_output(1_770_000_000_000, "claude-opus-4-6", 3);
        fast.key.fast = true;
        let none = Group::of_output(1_770_000_000_000, "", 0);
        let groups = [a, b, fast, none];
        let prices = PriceTable::builtin();

        let by_model = counters(
            &groups,
            &prices,
            Dimensions {
                model: true,
                project: false,
            },
        );
        let sonnet = ("model", "claude-sonnet-4-5");
        assert_eq!(
            value(&by_model, Family::Tokens, &[sonnet, ("type", "output")]),
            1_000_002.0
        );
        assert_eq!(
            value(
                &by_model,
                Family::Tokens,
                &[sonnet, ("type", "cacheCreation")]
            ),
            15.0
        );
        assert_eq!(value(&by_model, Family::Requests, &[sonnet]), 2.0);
        assert!(value(&by_model, Family::CostUsd, &[sonnet]) > 15.0);
        let opus_fast = ("model", "claude-opus-4-6-fast");
        assert_eq!(value(&by_model, Family::Requests, &[opus_fast]), 1.0);
        assert_eq!(
            value(&by_model, Family::Requests, &[("model", "<synthetic>")]),
            1.0
        );

        let by_project = counters(
            &groups,
            &prices,
            Dimensions {
                model: false,
                project: true,
            },
        );
        assert_eq!(
            value(&by_project, Family::Requests, &[("project", "p")]),
            3.0
        );
        assert_eq!(
            value(&by_project, Family::Requests, &[("project", "q")]),
            1.0
        );
    }
}
