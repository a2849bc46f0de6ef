//! Formats: pure functions from the report model to text. Where the bytes go (and what a
//! closed pipe means) is the caller's business.
//!
//! JSON uses ccusage's field names and shapes for `daily`, `weekly`, `monthly`, `session`
//! and `blocks`, so dashboards and status bars built on ccusage read cco-stats unchanged;
//! `projects` and `models` have shapes of their own, documented in the README. CSV follows
//! RFC 4180. Tables pick the widest layout that fits the terminal.

pub mod live;
pub mod statusline;

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use crate::ingest::parse::Tokens;
use crate::report::blocks::{Block, limit_status};
use crate::report::pricing::{PriceTable, Rates};
use crate::report::{ModelUsage, Report, Session, Usage};

/// What the caller chose about costs and detail, shared by every format.
#[derive(Clone, Copy, Debug, Default)]
pub struct Style {
    pub breakdown: bool,
    pub no_cost: bool,
}

/// How a table may be drawn.
#[derive(Clone, Copy, Debug)]
pub struct Screen {
    pub width: usize,
    pub color: bool,
}

// ---------------------------------------------------------------------------------------
// JSON

fn token_fields(t: &Tokens) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("inputTokens".into(), json!(t.input));
    map.insert("outputTokens".into(), json!(t.output));
    map.insert("cacheCreationTokens".into(), json!(t.cache_creation()));
    map.insert("cacheReadTokens".into(), json!(t.cache_read));
    map.insert("totalTokens".into(), json!(t.total()));
    map
}

/// A cost that could not be (wholly) priced is `null`, never a made-up number.
fn cost_value(cost: f64, unpriced: bool) -> Value {
    if unpriced && cost == 0.0 {
        Value::Null
    } else {
        json!(cost)
    }
}

fn breakdown_json(model: &str, m: &ModelUsage, style: Style) -> Value {
    let mut map = token_fields(&m.tokens);
    map.remove("totalTokens");
    map.insert("modelName".into(), json!(model));
    if !style.no_cost {
        map.insert("cost".into(), cost_value(m.cost, m.unpriced));
    }
    Value::Object(map)
}

/// The fields every row and the totals share; `unpricedModels` only when some are.
fn usage_json(usage: &Usage, with_models: bool, style: Style) -> Map<String, Value> {
    let mut map = token_fields(&usage.tokens);
    if !style.no_cost {
        map.insert("totalCost".into(), json!(usage.cost));
    }
    if with_models {
        map.insert("modelsUsed".into(), json!(usage.models_used()));
        let rows = usage
            .breakdown()
            .into_iter()
            .map(|(name, m)| breakdown_json(name, m, style))
            .collect();
        map.insert("modelBreakdowns".into(), Value::Array(rows));
    }
    let unpriced = usage.unpriced_models();
    if !unpriced.is_empty() && !style.no_cost {
        map.insert("unpricedModels".into(), json!(unpriced));
    }
    map
}

/// `{"daily": [{"date": ..., ...}], "totals": {...}}`, as `ccusage daily --json`; the
/// same with `weekly`/`week`, `monthly`/`month`, `projects`/`project`.
pub fn periods_json(report: &Report, list_key: &str, key_name: &str, style: Style) -> Value {
    let rows: Vec<Value> = report
        .periods
        .iter()
        .map(|p| {
            let mut map = Map::new();
            map.insert(key_name.into(), json!(p.key));
            map.extend(usage_json(&p.usage, true, style));
            Value::Object(map)
        })
        .collect();
    json!({ list_key: rows, "totals": Value::Object(usage_json(&report.totals, false, style)) })
}

/// `{"models": [{"model", tokens..., "cost", "requests"}], "totals": {...}}`.
pub fn models_json(report: &Report, style: Style) -> Value {
    let rows: Vec<Value> = report
        .periods
        .iter()
        .map(|p| {
            let mut map = Map::new();
            map.insert("model".into(), json!(p.key));
            map.extend(token_fields(&p.usage.tokens));
            map.insert(
                "cacheWrite1hTokens".into(),
                json!(p.usage.tokens.cache_write_1h),
            );
            let unpriced = p.usage.unpriced_models();
            if !style.no_cost {
                map.insert(
                    "cost".into(),
                    cost_value(p.usage.cost, !unpriced.is_empty()),
                );
            }
            map.insert("requests".into(), json!(p.usage.requests));
            if !unpriced.is_empty() && !style.no_cost {
                map.insert("unpricedModels".into(), json!(unpriced));
            }
            Value::Object(map)
        })
        .collect();
    json!({ "models": rows, "totals": Value::Object(usage_json(&report.totals, false, style)) })
}

fn iso(ms: i64) -> String {
    Timestamp::from_millisecond(ms)
        .map(|t| format!("{}", t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ")))
        .unwrap_or_default()
}

/// `{"sessions": [...], "totals": {...}}`, as `ccusage session --json`.
pub fn sessions_json(sessions: &[Session], totals: &Usage, style: Style) -> Value {
    let rows: Vec<Value> = sessions
        .iter()
        .map(|s| {
            let mut map = Map::new();
            map.insert("sessionId".into(), json!(s.session_id));
            map.insert("projectPath".into(), json!(s.project));
            map.insert("firstActivity".into(), json!(iso(s.first_ms)));
            map.insert("lastActivity".into(), json!(iso(s.last_ms)));
            map.extend(usage_json(&s.usage, true, style));
            Value::Object(map)
        })
        .collect();
    json!({ "sessions": rows, "totals": Value::Object(usage_json(totals, false, style)) })
}

/// `{"blocks": [...]}`, as `ccusage blocks --json`.
pub fn blocks_json(blocks: &[Block], now_ms: i64, token_limit: Option<u64>, style: Style) -> Value {
    let rows: Vec<Value> = blocks
        .iter()
        .map(|b| {
            let t = &b.usage.tokens;
            let mut map = Map::new();
            let id = if b.is_gap {
                format!("gap-{}", iso(b.start_ms))
            } else {
                iso(b.start_ms)
            };
            map.insert("id".into(), json!(id));
            map.insert("startTime".into(), json!(iso(b.start_ms)));
            map.insert("endTime".into(), json!(iso(b.end_ms)));
            map.insert("actualEndTime".into(), json!(b.actual_end_ms.map(iso)));
            map.insert("isActive".into(), json!(b.is_active));
            map.insert("isGap".into(), json!(b.is_gap));
            map.insert("entries".into(), json!(b.entries));
            map.insert(
                "tokenCounts".into(),
                json!({
                    "inputTokens": t.input,
                    "outputTokens": t.output,
                    "cacheCreationInputTokens": t.cache_creation(),
                    "cacheReadInputTokens": t.cache_read,
                }),
            );
            map.insert("totalTokens".into(), json!(t.total()));
            let unpriced = b.usage.unpriced_models();
            if !style.no_cost {
                map.insert(
                    "costUSD".into(),
                    cost_value(b.usage.cost, !unpriced.is_empty()),
                );
            }
            map.insert("models".into(), json!(b.usage.models_used()));
            if !unpriced.is_empty() && !style.no_cost {
                map.insert("unpricedModels".into(), json!(unpriced));
            }
            let (rate, projection) = match b.is_active {
                true => (b.burn_rate(), b.projection(now_ms)),
                false => (None, None),
            };
            map.insert(
                "burnRate".into(),
                rate.map_or(Value::Null, |r| {
                    json!({
                        "tokensPerMinute": r.tokens_per_minute,
                        "tokensPerMinuteForIndicator": r.tokens_per_minute_for_indicator,
                        "costPerHour": r.cost_per_hour,
                    })
                }),
            );
            map.insert(
                "projection".into(),
                projection.map_or(Value::Null, |p| {
                    json!({
                        "totalTokens": p.total_tokens,
                        "totalCost": (p.total_cost * 100.0).round() / 100.0,
                        "remainingMinutes": p.remaining_minutes,
                    })
                }),
            );
            if let (Some(limit), true) = (token_limit, b.is_active) {
                let projected = projection.map_or(t.total(), |p| p.total_tokens);
                map.insert(
                    "tokenLimitStatus".into(),
                    json!({
                        "limit": limit,
                        "projectedUsage": projected,
                        "percentUsed": percent(projected, limit),
                        "status": limit_status(projected, limit),
                    }),
                );
            }
            Value::Object(map)
        })
        .collect();
    json!({ "blocks": rows })
}

fn percent(tokens: u64, limit: u64) -> f64 {
    if limit == 0 {
        0.0
    } else {
        (tokens as f64 / limit as f64 * 10_000.0).round() / 100.0
    }
}

fn rates_json(r: &Rates) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("input".into(), json!(r.input));
    map.insert("output".into(), json!(r.output));
    map.insert("cacheWrite5m".into(), json!(r.cache_write_5m));
    map.insert("cacheWrite1h".into(), json!(r.cache_write_1h));
    map.insert("cacheRead".into(), json!(r.cache_read));
    map
}

/// `{"unit", "userFile", "models": [{"family", "periods": [{"from", "until", rates...,
/// "tier", "fastMultiplier", "geoMultipliers", "webSearchPer1k", "source"}]}]}`; a
/// family's periods in the order they are looked at (the user's first).
pub fn prices_json(prices: &PriceTable) -> Value {
    let models: Vec<Value> = prices
        .families
        .iter()
        .map(|(family, f)| {
            let periods: Vec<Value> = f
                .periods
                .iter()
                .map(|p| {
                    let mut map = Map::new();
                    map.insert("from".into(), json!(p.from.map(|d| d.to_string())));
                    map.insert("until".into(), json!(p.until.map(|d| d.to_string())));
                    map.extend(rates_json(&p.rates));
                    let tier = p.tier.map(|t| {
                        let mut tier = rates_json(&t.rates);
                        tier.insert("above".into(), json!(t.above));
                        Value::Object(tier)
                    });
                    map.insert("tier".into(), json!(tier));
                    map.insert("fastMultiplier".into(), json!(p.fast));
                    map.insert("geoMultipliers".into(), json!(p.geo));
                    map.insert("webSearchPer1k".into(), json!(p.web_search_per_1k));
                    map.insert("source".into(), json!(p.source));
                    Value::Object(map)
                })
                .collect();
            json!({ "family": family, "periods": periods })
        })
        .collect();
    json!({
        "unit": "USD per million tokens",
        "userFile": prices.user_file.as_ref().map(|p| p.display().to_string()),
        "models": models,
    })
}

// ---------------------------------------------------------------------------------------
// CSV

/// RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled.
fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

fn csv_line(fields: &[String]) -> String {
    let mut line = fields
        .iter()
        .map(|f| csv_field(f))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

/// The cost column (empty where nothing could be priced) and the `unpriced_models`
/// column after it (the models the cost leaves out, space-separated).
fn csv_cost(cost: f64, unpriced: &[&str]) -> [String; 2] {
    let cost = if !unpriced.is_empty() && cost == 0.0 {
        String::new()
    } else {
        format!("{cost:.6}")
    };
    [cost, unpriced.join(" ")]
}

fn unpriced_list(usage: &Usage) -> Vec<&str> {
    usage.unpriced_models().into_iter().collect()
}

fn csv_tokens(t: &Tokens) -> [String; 5] {
    [
        t.input.to_string(),
        t.output.to_string(),
        t.cache_creation().to_string(),
        t.cache_read.to_string(),
        t.total().to_string(),
    ]
}

const CSV_TOKENS: [&str; 5] = [
    "input_tokens",
    "output_tokens",
    "cache_creation_tokens",
    "cache_read_tokens",
    "total_tokens",
];

/// The header line: the row's own columns, the token columns, and the cost.
fn csv_header(first: &[&str], style: Style) -> String {
    let mut header: Vec<String> = first
        .iter()
        .chain(&CSV_TOKENS)
        .map(|s| s.to_string())
        .collect();
    if !style.no_cost {
        header.push("cost_usd".into());
        header.push("unpriced_models".into());
    }
    csv_line(&header)
}

/// One row per period; with `breakdown`, one row per period and model.
pub fn periods_csv(report: &Report, key_name: &str, style: Style) -> String {
    let models = if style.breakdown { "model" } else { "models" };
    let mut out = csv_header(&[key_name, models], style);
    for p in &report.periods {
        let mut push = |model: String, tokens: &Tokens, cost: f64, unpriced: &[&str]| {
            let mut row = vec![p.key.clone(), model];
            row.extend(csv_tokens(tokens));
            if !style.no_cost {
                row.extend(csv_cost(cost, unpriced));
            }
            out.push_str(&csv_line(&row));
        };
        if style.breakdown {
            for (model, m) in p.usage.breakdown() {
                let unpriced: &[&str] = if m.unpriced { &[model] } else { &[] };
                push(model.to_string(), &m.tokens, m.cost, unpriced);
            }
        } else {
            push(
                p.usage.models_used().join(" "),
                &p.usage.tokens,
                p.usage.cost,
                &unpriced_list(&p.usage),
            );
        }
    }
    out
}

pub fn sessions_csv(sessions: &[Session], style: Style) -> String {
    let first = [
        "session_id",
        "project",
        "first_activity",
        "last_activity",
        "models",
    ];
    let mut out = csv_header(&first, style);
    for s in sessions {
        let mut row = vec![
            s.session_id.clone(),
            s.project.clone(),
            iso(s.first_ms),
            iso(s.last_ms),
            s.usage.models_used().join(" "),
        ];
        row.extend(csv_tokens(&s.usage.tokens));
        if !style.no_cost {
            row.extend(csv_cost(s.usage.cost, &unpriced_list(&s.usage)));
        }
        out.push_str(&csv_line(&row));
    }
    out
}

pub fn blocks_csv(blocks: &[Block], style: Style) -> String {
    let first = [
        "start",
        "end",
        "last_activity",
        "status",
        "entries",
        "models",
    ];
    let mut out = csv_header(&first, style);
    for b in blocks {
        let mut row = vec![
            iso(b.start_ms),
            iso(b.end_ms),
            b.actual_end_ms.map(iso).unwrap_or_default(),
            block_status(b).to_string(),
            b.entries.to_string(),
            b.usage.models_used().join(" "),
        ];
        row.extend(csv_tokens(&b.usage.tokens));
        if !style.no_cost {
            row.extend(csv_cost(b.usage.cost, &unpriced_list(&b.usage)));
        }
        out.push_str(&csv_line(&row));
    }
    out
}

fn block_status(b: &Block) -> &'static str {
    match (b.is_gap, b.is_active) {
        (true, _) => "gap",
        (_, true) => "active",
        _ => "done",
    }
}

// ---------------------------------------------------------------------------------------
// Tables

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn dollars(cost: f64) -> String {
    format!("${cost:.2}")
}

fn cost_cell(usage: &Usage) -> String {
    if usage.unpriced_models().is_empty() {
        dollars(usage.cost)
    } else {
        // Part of it has no price: the sum shown is a floor.
        format!("{}+?", dollars(usage.cost))
    }
}

/// Rows of cells, and how each line is to be drawn.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Row,
    Detail,
    Total,
}

struct Table {
    header: Vec<String>,
    rows: Vec<(Kind, Vec<String>)>,
    /// Columns of text, left-aligned; numbers are right-aligned.
    text_columns: usize,
}

impl Table {
    fn width(&self) -> usize {
        self.widths().iter().sum::<usize>() + 2 * self.header.len().saturating_sub(1)
    }

    fn widths(&self) -> Vec<usize> {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for (_, row) in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        widths
    }

    /// Text columns left-aligned, numbers right-aligned; rules under the header and above
    /// the totals.
    fn render(&self, color: bool) -> String {
        let widths = self.widths();
        let line = |cells: &[String]| -> String {
            let mut out = String::new();
            for (i, (cell, width)) in cells.iter().zip(&widths).enumerate() {
                let pad = width.saturating_sub(cell.chars().count());
                if i > 0 {
                    out.push_str("  ");
                }
                if i < self.text_columns {
                    out.push_str(cell);
                    out.push_str(&" ".repeat(pad));
                } else {
                    out.push_str(&" ".repeat(pad));
                    out.push_str(cell);
                }
            }
            out.truncate(out.trim_end().len());
            out
        };
        let rule = widths
            .iter()
            .map(|w| "─".repeat(*w))
            .collect::<Vec<_>>()
            .join("  ");
        let paint = |text: String, code: &str| -> String {
            if color {
                format!("\x1b[{code}m{text}\x1b[0m\n")
            } else {
                format!("{text}\n")
            }
        };
        let mut out = paint(line(&self.header), "1");
        out.push_str(&format!("{rule}\n"));
        for (kind, row) in &self.rows {
            match kind {
                Kind::Row => out.push_str(&format!("{}\n", line(row))),
                Kind::Detail => out.push_str(&paint(line(row), "2")),
                Kind::Total => {
                    out.push_str(&format!("{rule}\n"));
                    out.push_str(&paint(line(row), "1"));
                }
            }
        }
        out
    }
}

/// The columns a usage row can show, widest layout first.
#[derive(Clone, Copy, PartialEq)]
enum Layout {
    Full,
    NoModels,
    Compact,
}

fn usage_row(labels: Vec<String>, usage: &Usage, layout: Layout, style: Style) -> Vec<String> {
    let t = &usage.tokens;
    let mut row = labels;
    if layout == Layout::Full {
        row.push(
            usage
                .models_used()
                .iter()
                .map(|m| short_model(m))
                .collect::<Vec<_>>()
                .join(", "),
        );
    }
    row.push(thousands(t.input));
    row.push(thousands(t.output));
    if layout != Layout::Compact {
        row.push(thousands(t.cache_creation()));
        row.push(thousands(t.cache_read));
    }
    row.push(thousands(t.total()));
    if !style.no_cost {
        row.push(cost_cell(usage));
    }
    row
}

fn detail_row(
    model: &str,
    m: &ModelUsage,
    label_columns: usize,
    layout: Layout,
    style: Style,
) -> Vec<String> {
    let mut usage = Usage {
        tokens: m.tokens,
        cost: m.cost,
        requests: m.requests,
        ..Usage::default()
    };
    if m.unpriced {
        usage.models.insert(model.to_string(), m.clone());
    }
    let mut labels = vec![String::new(); label_columns];
    labels[0] = format!("  └ {}", short_model(model));
    let mut row = usage_row(labels, &usage, layout, style);
    if layout == Layout::Full {
        row[label_columns] = String::new();
    }
    row
}

fn header(labels: &[&str], layout: Layout, style: Style) -> Vec<String> {
    let mut h: Vec<String> = labels.iter().map(|l| l.to_string()).collect();
    if layout == Layout::Full {
        h.push("Models".into());
    }
    h.push("Input".into());
    h.push("Output".into());
    if layout != Layout::Compact {
        h.push("Cache Create".into());
        h.push("Cache Read".into());
    }
    h.push(
        if layout == Layout::Compact {
            "Total"
        } else {
            "Total Tokens"
        }
        .into(),
    );
    if !style.no_cost {
        h.push("Cost (USD)".into());
    }
    h
}

/// `claude-sonnet-4-5-20250929` → `sonnet-4-5`: tables are read by people.
pub fn short_model(model: &str) -> String {
    let without_vendor = model.strip_prefix("claude-").unwrap_or(model);
    match without_vendor.rsplit_once('-') {
        Some((family, date)) if date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit()) => {
            family.to_string()
        }
        _ => without_vendor.to_string(),
    }
}

/// Labelled usage rows (periods, sessions) and a totals row, in the widest layout that
/// fits the screen. `labels` names the text columns each row starts with.
fn usage_table(
    labels: &[&str],
    rows: &[(Vec<String>, &Usage)],
    totals: &Usage,
    style: Style,
    screen: Screen,
) -> String {
    let mut fallback = String::new();
    for layout in [Layout::Full, Layout::NoModels, Layout::Compact] {
        let mut table = Table {
            header: header(labels, layout, style),
            rows: Vec::new(),
            text_columns: labels.len() + usize::from(layout == Layout::Full),
        };
        for (cells, usage) in rows {
            let row = usage_row(cells.clone(), usage, layout, style);
            table.rows.push((Kind::Row, row));
            if style.breakdown {
                for (model, m) in usage.breakdown() {
                    let row = detail_row(model, m, labels.len(), layout, style);
                    table.rows.push((Kind::Detail, row));
                }
            }
        }
        let mut total_labels = vec![String::new(); labels.len()];
        total_labels[0] = "Total".into();
        let row = usage_row(total_labels, totals, layout, style);
        table.rows.push((Kind::Total, row));
        fallback = table.render(screen.color);
        if table.width() <= screen.width {
            break;
        }
    }
    fallback
}

pub fn periods_table(report: &Report, first: &str, style: Style, screen: Screen) -> String {
    let rows: Vec<(Vec<String>, &Usage)> = report
        .periods
        .iter()
        .map(|p| (vec![p.key.clone()], &p.usage))
        .collect();
    usage_table(&[first], &rows, &report.totals, style, screen)
}

pub fn sessions_table(
    sessions: &[Session],
    totals: &Usage,
    zone: &jiff::tz::TimeZone,
    style: Style,
    screen: Screen,
) -> String {
    let rows: Vec<(Vec<String>, &Usage)> = sessions
        .iter()
        .map(|s| {
            let last = Timestamp::from_millisecond(s.last_ms)
                .map(|t| {
                    t.to_zoned_datetime(zone.clone())
                        .strftime("%Y-%m-%d %H:%M")
                        .to_string()
                })
                .unwrap_or_default();
            let id: String = s.session_id.chars().take(8).collect();
            (vec![id, last, short_project(&s.project)], &s.usage)
        })
        .collect();
    let labels = ["Session", "Last activity", "Project"];
    usage_table(&labels, &rows, totals, style, screen)
}

/// The end of an encoded project path (`-home-u-work-app` → `…work-app`).
fn short_project(project: &str) -> String {
    let chars: Vec<char> = project.chars().collect();
    if chars.len() <= 24 {
        project.to_string()
    } else {
        format!("…{}", chars[chars.len() - 23..].iter().collect::<String>())
    }
}

pub fn blocks_table(
    blocks: &[Block],
    now_ms: i64,
    token_limit: Option<u64>,
    zone: &jiff::tz::TimeZone,
    style: Style,
    color: bool,
) -> String {
    let local = |ms: i64| {
        Timestamp::from_millisecond(ms)
            .map(|t| {
                t.to_zoned_datetime(zone.clone())
                    .strftime("%Y-%m-%d %H:%M")
                    .to_string()
            })
            .unwrap_or_default()
    };
    let mut table = Table {
        header: vec![
            "Block start".into(),
            "Status".into(),
            "Models".into(),
            "Tokens".into(),
        ],
        rows: Vec::new(),
        text_columns: 3,
    };
    if token_limit.is_some() {
        table.header.push("% of limit".into());
    }
    if !style.no_cost {
        table.header.push("Cost (USD)".into());
    }
    for b in blocks {
        let status = if b.is_gap {
            format!("gap {}", hours(b.end_ms - b.start_ms))
        } else if b.is_active {
            let left = (b.end_ms - now_ms).max(0);
            format!("ACTIVE, {} left", hours(left))
        } else {
            hours(b.actual_end_ms.unwrap_or(b.start_ms) - b.start_ms)
        };
        let models = b
            .usage
            .models_used()
            .iter()
            .map(|m| short_model(m))
            .collect::<Vec<_>>()
            .join(", ");
        let tokens = match b.is_gap {
            true => String::new(),
            false => thousands(b.usage.tokens.total()),
        };
        let mut row = vec![local(b.start_ms), status, models, tokens];
        if let Some(limit) = token_limit {
            row.push(if b.is_gap {
                String::new()
            } else {
                format!("{:.1}%", percent(b.usage.tokens.total(), limit))
            });
        }
        if !style.no_cost {
            row.push(if b.is_gap {
                String::new()
            } else {
                cost_cell(&b.usage)
            });
        }
        let kind = if b.is_gap { Kind::Detail } else { Kind::Row };
        table.rows.push((kind, row));
        if let (true, Some(rate), Some(p)) = (b.is_active, b.burn_rate(), b.projection(now_ms)) {
            let mut note = vec![
                "  burn rate".into(),
                format!("{:.0} tokens/min", rate.tokens_per_minute),
                if style.no_cost {
                    String::new()
                } else {
                    format!("{}/h", dollars(rate.cost_per_hour))
                },
                format!("→ {}", thousands(p.total_tokens)),
            ];
            if let Some(limit) = token_limit {
                note.push(format!("{:.1}%", percent(p.total_tokens, limit)));
            }
            if !style.no_cost {
                note.push(format!("→ {}", dollars(p.total_cost)));
            }
            table.rows.push((Kind::Detail, note));
        }
    }
    table.render(color)
}

fn hours(ms: i64) -> String {
    let minutes = ms.max(0) / 60_000;
    format!("{}h {:02}m", minutes / 60, minutes % 60)
}

/// One row per family and period, in the order periods are looked at.
pub fn prices_table(prices: &PriceTable, color: bool) -> String {
    let mut table = Table {
        header: [
            "Model family",
            "Period (UTC)",
            "Input",
            "Output",
            "Write 5m",
            "Write 1h",
            "Read",
            "Tier: above, in/out",
            "Fast",
            "Geo",
            "Search/1k",
            "Source",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        rows: Vec::new(),
        text_columns: 2,
    };
    for (family, f) in &prices.families {
        for p in &f.periods {
            let r = p.rates;
            let date = |d: Option<jiff::civil::Date>| d.map(|d| d.to_string()).unwrap_or_default();
            let period = match (p.from, p.until) {
                (None, None) => "always".to_string(),
                (from, until) => format!("{}..{}", date(from), date(until)),
            };
            let geo: Vec<String> = p.geo.iter().map(|(k, v)| format!("{k} {v}x")).collect();
            table.rows.push((
                Kind::Row,
                vec![
                    family.clone(),
                    period,
                    r.input.to_string(),
                    r.output.to_string(),
                    r.cache_write_5m.to_string(),
                    r.cache_write_1h.to_string(),
                    r.cache_read.to_string(),
                    p.tier
                        .map(|t| {
                            format!(
                                "{}: {}/{}",
                                thousands(t.above),
                                t.rates.input,
                                t.rates.output
                            )
                        })
                        .unwrap_or_default(),
                    p.fast.map(|f| format!("{f}x")).unwrap_or_default(),
                    geo.join(" "),
                    p.web_search_per_1k
                        .map(|v| format!("${v}"))
                        .unwrap_or_default(),
                    p.source.clone(),
                ],
            ));
        }
    }
    let mut out = table.render(color);
    out.push_str(
        "USD per million tokens; periods run from their first day to the day before `until`. \
         Tier: a request whose input side (input + cache writes + cache reads) is above the \
         threshold is billed whole at the tier's rates. Fast and geo multiply the whole request.\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{ModelUsage, Period};

    fn usage(input: u64, cost: f64, models: &[&str]) -> Usage {
        let mut u = Usage {
            tokens: Tokens {
                input,
                output: input * 2,
                cache_write_5m: 1,
                cache_write_1h: 2,
                cache_read: 1_000_000,
            },
            cost,
            requests: 1,
            ..Usage::default()
        };
        for m in models {
            u.models.insert(
                m.to_string(),
                ModelUsage {
                    tokens: u.tokens,
                    cost,
                    unpriced: false,
                    requests: 1,
                },
            );
        }
        u
    }

    fn report() -> Report {
        Report {
            periods: vec![
                Period {
                    key: "2026-01-01".into(),
                    usage: usage(5, 1.5, &["claude-sonnet-4-5-20250929"]),
                },
                Period {
                    key: "2026-01-02".into(),
                    usage: usage(
                        1_000,
                        0.25,
                        &["claude-haiku-4-5-20251001", "claude-opus-4-6"],
                    ),
                },
            ],
            totals: usage(1_005, 1.75, &[]),
        }
    }

    const WIDE: Screen = Screen {
        width: 200,
        color: false,
    };

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(77_423_878), "77,423,878");
    }

    #[test]
    fn wide_table_has_models_and_a_totals_row() {
        let out = periods_table(&report(), "Date", Style::default(), WIDE);
        let expected = "\
Date        Models               Input  Output  Cache Create  Cache Read  Total Tokens  Cost (USD)
──────────  ───────────────────  ─────  ──────  ────────────  ──────────  ────────────  ──────────
2026-01-01  sonnet-4-5               5      10             3   1,000,000     1,000,018       $1.50
2026-01-02  haiku-4-5, opus-4-6  1,000   2,000             3   1,000,000     1,003,003       $0.25
──────────  ───────────────────  ─────  ──────  ────────────  ──────────  ────────────  ──────────
Total                            1,005   2,010             3   1,000,000     1,003,018       $1.75
";
        assert_eq!(out, expected);
    }

    #[test]
    fn narrow_screens_get_narrower_layouts() {
        for width in [80, 60] {
            let out = periods_table(
                &report(),
                "Date",
                Style::default(),
                Screen {
                    width,
                    color: false,
                },
            );
            assert!(out.lines().all(|l| l.chars().count() <= width), "{out}");
            assert!(out.contains("$1.75"), "{out}");
        }
        let compact = periods_table(
            &report(),
            "Date",
            Style::default(),
            Screen {
                width: 60,
                color: false,
            },
        );
        assert!(!compact.contains("Cache Read"), "{compact}");
    }

    #[test]
    fn breakdown_rows_no_cost_and_color() {
        let style = Style {
            breakdown: true,
            no_cost: true,
        };
        let out = periods_table(&report(), "Date", style, WIDE);
        assert!(out.contains("  └ haiku-4-5"), "{out}");
        assert!(!out.contains('$'), "{out}");
        let colored = periods_table(
            &report(),
            "Date",
            Style::default(),
            Screen {
                width: 200,
                color: true,
            },
        );
        assert!(colored.contains("\x1b[1m"));
        assert!(!periods_table(&report(), "Date", Style::default(), WIDE).contains('\x1b'));
    }

    #[test]
    fn csv_is_rfc_4180() {
        let out = periods_csv(&report(), "date", Style::default());
        let lines: Vec<&str> = out.split("\r\n").collect();
        assert_eq!(
            lines[0],
            "date,models,input_tokens,output_tokens,cache_creation_tokens,cache_read_tokens,total_tokens,cost_usd,unpriced_models"
        );
        assert_eq!(
            lines[2],
            "2026-01-02,claude-haiku-4-5-20251001 claude-opus-4-6,1000,2000,3,1000000,1003003,0.250000,"
        );
        // A row whose cost leaves a model out names it in its own row.
        let mut partly = report();
        partly.periods[1]
            .usage
            .models
            .get_mut("claude-opus-4-6")
            .unwrap()
            .unpriced = true;
        let out = periods_csv(&partly, "date", Style::default());
        let lines: Vec<&str> = out.split("\r\n").collect();
        assert!(lines[1].ends_with(",1.500000,"), "{}", lines[1]);
        assert!(
            lines[2].ends_with(",0.250000,claude-opus-4-6"),
            "{}",
            lines[2]
        );
        assert_eq!(csv_field("a,\"b\""), "\"a,\"\"b\"\"\"");
        let breakdown = periods_csv(
            &report(),
            "date",
            Style {
                breakdown: true,
                no_cost: true,
            },
        );
        assert_eq!(
            breakdown.matches("\r\n").count(),
            4,
            "header and one row per model: {breakdown}"
        );
        assert!(!breakdown.contains("cost_usd"));
    }

    #[test]
    fn model_names_shorten_for_people() {
        assert_eq!(short_model("claude-sonnet-4-5-20250929"), "sonnet-4-5");
        assert_eq!(short_model("claude-opus-4-6-fast"), "opus-4-6-fast");
        assert_eq!(short_model("gpt-x"), "gpt-x");
    }
}
