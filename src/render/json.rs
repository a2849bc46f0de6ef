//! JSON: typed rows with ccusage's field names (in its order for the periods).
//!
//! `daily`, `weekly`, `monthly`, `session` and `blocks` have ccusage's shapes, so
//! dashboards and status bars built on ccusage read cco-stats unchanged; `projects`,
//! `models` and `prices` have shapes of their own, documented in the README. The structs
//! are the contract: a field renamed by mistake fails to compile or shows in a snapshot.
//!
//! With `--no-cost` the cost fields are left out, not zeroed. A model's or a block's cost
//! (`cost`, `costUSD`) that could not be priced at all is `null`, never a made-up number;
//! a sum (`totalCost`) is the priced part, with the rest named in `unpricedModels`.

use serde::Serialize;

use super::{Style, iso, money, percent};
use crate::model::Tokens;
use crate::report::blocks::{Block, limit_status};
use crate::report::pricing::{PriceTable, Rates};
use crate::report::{AgentUsage, HostUsage, ModelUsage, Report, Session, Usage};

/// Which list a periods document holds, and so the name of each row's key field.
#[derive(Clone, Copy, Debug)]
pub enum PeriodKind {
    Daily,
    Weekly,
    Monthly,
    Projects,
}

impl PeriodKind {
    fn list(self) -> &'static str {
        match self {
            PeriodKind::Daily => "daily",
            PeriodKind::Weekly => "weekly",
            PeriodKind::Monthly => "monthly",
            PeriodKind::Projects => "projects",
        }
    }

    fn key(self, value: &str) -> PeriodKey<'_> {
        match self {
            PeriodKind::Daily => PeriodKey::Date(value),
            PeriodKind::Weekly => PeriodKey::Week(value),
            PeriodKind::Monthly => PeriodKey::Month(value),
            PeriodKind::Projects => PeriodKey::Project(value),
        }
    }
}

/// A row's key field: `"date": "2026-01-10"`, `"week": ...`.
#[derive(Serialize)]
#[serde(rename_all = "lowercase")]
enum PeriodKey<'a> {
    Date(&'a str),
    Week(&'a str),
    Month(&'a str),
    Project(&'a str),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TokenCounts {
    input_tokens: u64,
    output_tokens: u64,
    cache_creation_tokens: u64,
    cache_read_tokens: u64,
}

impl TokenCounts {
    fn of(t: &Tokens) -> TokenCounts {
        TokenCounts {
            input_tokens: t.input,
            output_tokens: t.output,
            cache_creation_tokens: t.cache_creation(),
            cache_read_tokens: t.cache_read,
        }
    }
}

/// The sums every row and the totals share.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Sums<'a> {
    #[serde(flatten)]
    tokens: TokenCounts,
    total_tokens: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    total_cost: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    models_used: Option<Vec<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    model_breakdowns: Option<Vec<Breakdown<'a>>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    unpriced_models: Vec<&'a str>,
    /// The agents a row's usage is of (rows only, like `modelsUsed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    agents: Option<Vec<&'static str>>,
}

impl<'a> Sums<'a> {
    fn of(usage: &'a Usage, with_models: bool, style: Style) -> Sums<'a> {
        Sums {
            agents: with_models.then(|| usage.agents_used()),
            tokens: TokenCounts::of(&usage.tokens),
            total_tokens: usage.tokens.total(),
            total_cost: (!style.no_cost).then(|| money(usage.cost)),
            models_used: with_models.then(|| usage.models_used()),
            model_breakdowns: with_models.then(|| {
                usage
                    .breakdown()
                    .into_iter()
                    .map(|(name, m)| Breakdown::of(name, m, style))
                    .collect()
            }),
            unpriced_models: unpriced(usage, style),
        }
    }
}

fn unpriced(usage: &Usage, style: Style) -> Vec<&str> {
    match style.no_cost {
        true => Vec::new(),
        false => usage.unpriced_models().into_iter().collect(),
    }
}

/// `Some(None)` is written as `null`: asked for, but nothing could be priced.
fn cost_field(cost: f64, unpriced: bool, style: Style) -> Option<Option<f64>> {
    match (style.no_cost, unpriced && cost == 0.0) {
        (true, _) => None,
        (false, true) => Some(None),
        (false, false) => Some(Some(money(cost))),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Breakdown<'a> {
    model_name: &'a str,
    #[serde(flatten)]
    tokens: TokenCounts,
    #[serde(skip_serializing_if = "Option::is_none")]
    cost: Option<Option<f64>>,
}

impl<'a> Breakdown<'a> {
    fn of(model: &'a str, m: &ModelUsage, style: Style) -> Breakdown<'a> {
        Breakdown {
            model_name: model,
            tokens: TokenCounts::of(&m.tokens),
            cost: cost_field(m.cost, m.unpriced, style),
        }
    }
}

#[derive(Serialize)]
struct PeriodRow<'a> {
    #[serde(flatten)]
    key: PeriodKey<'a>,
    #[serde(flatten)]
    sums: Sums<'a>,
}

/// Serialized with the list under its own name: `{"daily": [...], "totals": {...}}`.
struct Periods<'a> {
    list: &'static str,
    rows: Vec<PeriodRow<'a>>,
    totals: Sums<'a>,
}

impl Serialize for Periods<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry(self.list, &self.rows)?;
        map.serialize_entry("totals", &self.totals)?;
        map.end()
    }
}

/// `{"daily": [{"date": ..., ...}], "totals": {...}}`, as `ccusage daily --json`; the
/// same with `weekly`/`week`, `monthly`/`month`, `projects`/`project`.
pub fn periods(report: &Report, kind: PeriodKind, style: Style) -> impl Serialize + '_ {
    Periods {
        list: kind.list(),
        rows: report
            .periods
            .iter()
            .map(|p| PeriodRow {
                key: kind.key(&p.key),
                sums: Sums::of(&p.usage, true, style),
            })
            .collect(),
        totals: Sums::of(&report.totals, false, style),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AgentRow<'a> {
    agent: &'static str,
    requests: u64,
    #[serde(flatten)]
    sums: Sums<'a>,
    first_activity: String,
    last_activity: String,
    /// Amp's credits, for Amp's row.
    #[serde(skip_serializing_if = "Option::is_none")]
    credits: Option<f64>,
    /// Copilot's premium requests, for Copilot's row.
    #[serde(skip_serializing_if = "Option::is_none")]
    premium_requests: Option<f64>,
}

#[derive(Serialize)]
struct Agents<'a> {
    agents: Vec<AgentRow<'a>>,
    totals: Sums<'a>,
}

/// `{"agents": [{"agent", "requests", "inputTokens", "outputTokens",
/// "cacheCreationTokens", "cacheReadTokens", "totalTokens", "totalCost", "modelsUsed",
/// "modelBreakdowns", "firstActivity", "lastActivity", "credits"?, "premiumRequests"?}],
/// "totals": {...}}`: `credits` (Amp's) and `premiumRequests` (Copilot's) only on the rows
/// of agents that bill in them.
pub fn agents<'a>(
    agents: &'a [AgentUsage],
    totals: &'a Usage,
    style: Style,
) -> impl Serialize + 'a {
    Agents {
        agents: agents
            .iter()
            .map(|a| AgentRow {
                agent: a.agent.name(),
                requests: a.usage.requests,
                sums: Sums {
                    // The row is the agent.
                    agents: None,
                    ..Sums::of(&a.usage, true, style)
                },
                first_activity: iso(a.first_ms),
                last_activity: iso(a.last_ms),
                credits: a.figures.credits,
                premium_requests: a.figures.premium_requests,
            })
            .collect(),
        totals: Sums::of(totals, false, style),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HostRow<'a> {
    host: &'a str,
    host_id: &'a str,
    requests: u64,
    first_activity: String,
    last_activity: String,
    #[serde(flatten)]
    sums: Sums<'a>,
}

#[derive(Serialize)]
struct Hosts<'a> {
    hosts: Vec<HostRow<'a>>,
    totals: Sums<'a>,
}

/// `{"hosts": [{"host", "hostId", "requests", "firstActivity", "lastActivity", tokens...,
/// "totalCost", "modelsUsed", "modelBreakdowns"}], "totals": {...}}`.
pub fn hosts<'a>(hosts: &'a [HostUsage], totals: &'a Usage, style: Style) -> impl Serialize + 'a {
    Hosts {
        hosts: hosts
            .iter()
            .map(|h| HostRow {
                host: &h.name,
                host_id: &h.id,
                requests: h.usage.requests,
                first_activity: iso(h.first_ms),
                last_activity: iso(h.last_ms),
                sums: Sums::of(&h.usage, true, style),
            })
            .collect(),
        totals: Sums::of(totals, false, style),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ModelRow<'a> {
    model: &'a str,
    #[serde(flatten)]
    tokens: TokenCounts,
    total_tokens: u64,
    cache_write1h_tokens: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    cost: Option<Option<f64>>,
    requests: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    unpriced_models: Vec<&'a str>,
}

#[derive(Serialize)]
struct Models<'a> {
    models: Vec<ModelRow<'a>>,
    totals: Sums<'a>,
}

/// `{"models": [{"model", tokens..., "cost", "requests"}], "totals": {...}}`.
pub fn models<'a>(report: &'a Report, style: Style) -> impl Serialize + 'a {
    let models = report
        .periods
        .iter()
        .map(|p| {
            let unpriced = unpriced(&p.usage, style);
            ModelRow {
                model: &p.key,
                tokens: TokenCounts::of(&p.usage.tokens),
                total_tokens: p.usage.tokens.total(),
                cache_write1h_tokens: p.usage.tokens.cache_write_1h,
                cost: cost_field(p.usage.cost, !unpriced.is_empty(), style),
                requests: p.usage.requests,
                unpriced_models: unpriced,
            }
        })
        .collect();
    Models {
        models,
        totals: Sums::of(&report.totals, false, style),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionRow<'a> {
    session_id: &'a str,
    project_path: &'a str,
    first_activity: String,
    last_activity: String,
    #[serde(flatten)]
    sums: Sums<'a>,
}

#[derive(Serialize)]
struct Sessions<'a> {
    sessions: Vec<SessionRow<'a>>,
    totals: Sums<'a>,
}

/// `{"sessions": [...], "totals": {...}}`, as `ccusage session --json`.
pub fn sessions<'a>(
    sessions: &'a [Session],
    totals: &'a Usage,
    style: Style,
) -> impl Serialize + 'a {
    Sessions {
        sessions: sessions
            .iter()
            .map(|s| SessionRow {
                session_id: &s.session_id,
                project_path: &s.project,
                first_activity: iso(s.first_ms),
                last_activity: iso(s.last_ms),
                sums: Sums::of(&s.usage, true, style),
            })
            .collect(),
        totals: Sums::of(totals, false, style),
    }
}

/// ccusage names the cache fields of a block `...InputTokens`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BlockTokens {
    input_tokens: u64,
    output_tokens: u64,
    cache_creation_input_tokens: u64,
    cache_read_input_tokens: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BurnRateJson {
    tokens_per_minute: f64,
    tokens_per_minute_for_indicator: f64,
    cost_per_hour: f64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProjectionJson {
    total_tokens: u64,
    total_cost: f64,
    remaining_minutes: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LimitStatus {
    limit: u64,
    projected_usage: u64,
    percent_used: f64,
    status: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BlockRow<'a> {
    id: String,
    start_time: String,
    end_time: String,
    actual_end_time: Option<String>,
    is_active: bool,
    is_gap: bool,
    entries: u64,
    token_counts: BlockTokens,
    total_tokens: u64,
    #[serde(rename = "costUSD", skip_serializing_if = "Option::is_none")]
    cost_usd: Option<Option<f64>>,
    models: Vec<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    unpriced_models: Vec<&'a str>,
    burn_rate: Option<BurnRateJson>,
    projection: Option<ProjectionJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_limit_status: Option<LimitStatus>,
}

impl<'a> BlockRow<'a> {
    fn of(b: &'a Block, now_ms: i64, token_limit: Option<u64>, style: Style) -> BlockRow<'a> {
        let t = &b.usage.tokens;
        let unpriced = unpriced(&b.usage, style);
        let (rate, projection) = match b.is_active {
            true => (b.burn_rate(), b.projection(now_ms)),
            false => (None, None),
        };
        let token_limit_status = token_limit.filter(|_| b.is_active).map(|limit| {
            let projected = projection.map_or(t.total(), |p| p.total_tokens);
            LimitStatus {
                limit,
                projected_usage: projected,
                percent_used: percent(projected, limit),
                status: limit_status(projected, limit),
            }
        });
        BlockRow {
            id: match b.is_gap {
                true => format!("gap-{}", iso(b.start_ms)),
                false => iso(b.start_ms),
            },
            start_time: iso(b.start_ms),
            end_time: iso(b.end_ms),
            actual_end_time: b.actual_end_ms.map(iso),
            is_active: b.is_active,
            is_gap: b.is_gap,
            entries: b.entries,
            token_counts: BlockTokens {
                input_tokens: t.input,
                output_tokens: t.output,
                cache_creation_input_tokens: t.cache_creation(),
                cache_read_input_tokens: t.cache_read,
            },
            total_tokens: t.total(),
            cost_usd: cost_field(b.usage.cost, !unpriced.is_empty(), style),
            models: b.usage.models_used(),
            unpriced_models: unpriced,
            burn_rate: rate.map(|r| BurnRateJson {
                tokens_per_minute: r.tokens_per_minute,
                tokens_per_minute_for_indicator: r.tokens_per_minute_for_indicator,
                cost_per_hour: money(r.cost_per_hour),
            }),
            projection: projection.map(|p| ProjectionJson {
                total_tokens: p.total_tokens,
                total_cost: (p.total_cost * 100.0).round() / 100.0,
                remaining_minutes: p.remaining_minutes,
            }),
            token_limit_status,
        }
    }
}

#[derive(Serialize)]
struct Blocks<'a> {
    blocks: Vec<BlockRow<'a>>,
}

/// `{"blocks": [...]}`, as `ccusage blocks --json`.
pub fn blocks<'a>(
    blocks: &'a [Block],
    now_ms: i64,
    token_limit: Option<u64>,
    style: Style,
) -> impl Serialize + 'a {
    Blocks {
        blocks: blocks
            .iter()
            .map(|b| BlockRow::of(b, now_ms, token_limit, style))
            .collect(),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RatesJson {
    input: f64,
    output: f64,
    cache_write5m: f64,
    cache_write1h: f64,
    cache_read: f64,
}

impl RatesJson {
    fn of(r: &Rates) -> RatesJson {
        RatesJson {
            input: r.input,
            output: r.output,
            cache_write5m: r.cache_write_5m,
            cache_write1h: r.cache_write_1h,
            cache_read: r.cache_read,
        }
    }
}

#[derive(Serialize)]
struct TierJson {
    above: u64,
    #[serde(flatten)]
    rates: RatesJson,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PeriodJson<'a> {
    from: Option<String>,
    until: Option<String>,
    #[serde(flatten)]
    rates: RatesJson,
    tiers: Vec<TierJson>,
    fast_multiplier: Option<f64>,
    geo_multipliers: &'a std::collections::BTreeMap<String, f64>,
    web_search_per1k: Option<f64>,
    source: &'a str,
}

#[derive(Serialize)]
struct FamilyJson<'a> {
    family: &'a str,
    periods: Vec<PeriodJson<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Prices<'a> {
    unit: &'static str,
    user_file: Option<String>,
    models: Vec<FamilyJson<'a>>,
}

/// `{"unit", "userFile", "models": [{"family", "periods": [{"from", "until", rates...,
/// "tiers", "fastMultiplier", "geoMultipliers", "webSearchPer1k", "source"}]}]}`; a
/// family's periods in the order they are looked at (the user's first).
pub fn prices(prices: &PriceTable) -> impl Serialize + '_ {
    let models = prices
        .families
        .iter()
        .map(|(family, f)| FamilyJson {
            family,
            periods: f
                .periods
                .iter()
                .map(|p| PeriodJson {
                    from: p.from.map(|d| d.to_string()),
                    until: p.until.map(|d| d.to_string()),
                    rates: RatesJson::of(&p.rates),
                    tiers: p
                        .tiers
                        .iter()
                        .map(|t| TierJson {
                            above: t.above,
                            rates: RatesJson::of(&t.rates),
                        })
                        .collect(),
                    fast_multiplier: p.fast,
                    geo_multipliers: &p.geo,
                    web_search_per1k: p.web_search_per_1k,
                    source: &p.source,
                })
                .collect(),
        })
        .collect();
    Prices {
        unit: "USD per million tokens",
        user_file: prices.user_file.as_ref().map(|p| p.display().to_string()),
        models,
    }
}

/// Pretty-printed, with the final newline a shell expects.
pub fn text(value: &impl Serialize) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("report JSON is serializable");
    text.push('\n');
    text
}
