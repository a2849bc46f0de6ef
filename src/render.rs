//! Formats: pure functions from the report model to text. Where the bytes go (and what a
//! closed pipe means) is the caller's business.
//!
//! JSON uses ccusage's field names and shapes, so dashboards and status bars built on
//! ccusage read cco-stats unchanged.

use serde_json::{Value, json};

use crate::parse::Tokens;
use crate::report::{ModelUsage, Report, Usage};

fn token_fields(t: &Tokens) -> serde_json::Map<String, Value> {
    let mut map = serde_json::Map::new();
    map.insert("inputTokens".into(), json!(t.input));
    map.insert("outputTokens".into(), json!(t.output));
    map.insert("cacheCreationTokens".into(), json!(t.cache_creation()));
    map.insert("cacheReadTokens".into(), json!(t.cache_read));
    map.insert("totalTokens".into(), json!(t.total()));
    map
}

fn breakdown_json(model: &str, m: &ModelUsage) -> Value {
    let mut map = token_fields(&m.tokens);
    map.remove("totalTokens");
    map.insert("modelName".into(), json!(model));
    map.insert(
        "cost".into(),
        if m.unpriced && m.cost == 0.0 {
            Value::Null
        } else {
            json!(m.cost)
        },
    );
    Value::Object(map)
}

/// The fields every period row and the totals share; `unpricedModels` only when some are.
fn usage_json(usage: &Usage, with_models: bool) -> serde_json::Map<String, Value> {
    let mut map = token_fields(&usage.tokens);
    map.insert("totalCost".into(), json!(usage.cost));
    if with_models {
        map.insert("modelsUsed".into(), json!(usage.models_used()));
        map.insert(
            "modelBreakdowns".into(),
            Value::Array(
                usage
                    .breakdown()
                    .into_iter()
                    .map(|(name, m)| breakdown_json(name, m))
                    .collect(),
            ),
        );
    }
    let unpriced = usage.unpriced_models();
    if !unpriced.is_empty() {
        map.insert("unpricedModels".into(), json!(unpriced));
    }
    map
}

/// `{"daily": [{"date": ..., ...}], "totals": {...}}`, as `ccusage daily --json`.
pub fn periods_json(report: &Report, list_key: &str, period_key: &str) -> Value {
    let rows: Vec<Value> = report
        .periods
        .iter()
        .map(|p| {
            let mut map = serde_json::Map::new();
            map.insert(period_key.into(), json!(p.key));
            map.extend(usage_json(&p.usage, true));
            Value::Object(map)
        })
        .collect();
    json!({ list_key: rows, "totals": Value::Object(usage_json(&report.totals, false)) })
}

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

/// A plain text table: first column left-aligned, the rest right-aligned.
pub fn table(header: &[&str], rows: &[Vec<String>], totals: Option<Vec<String>>) -> String {
    let columns = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows.iter().chain(totals.iter()) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| -> String {
        let mut out = String::new();
        for (i, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            if i > 0 {
                out.push_str("  ");
            }
            let pad = width - cell.chars().count();
            if i == 0 {
                out.push_str(cell);
                if i + 1 < columns {
                    out.push_str(&" ".repeat(pad));
                }
            } else {
                out.push_str(&" ".repeat(pad));
                out.push_str(cell);
            }
        }
        out.push('\n');
        out
    };
    let rule: String = widths
        .iter()
        .map(|w| "─".repeat(*w))
        .collect::<Vec<_>>()
        .join("  ")
        + "\n";
    let mut out = line(&header.iter().map(|h| h.to_string()).collect::<Vec<_>>());
    out.push_str(&rule);
    for row in rows {
        out.push_str(&line(row));
    }
    if let Some(totals) = totals {
        out.push_str(&rule);
        out.push_str(&line(&totals));
    }
    out
}

fn usage_cells(label: String, usage: &Usage) -> Vec<String> {
    let t = &usage.tokens;
    let cost = if usage.unpriced_models().is_empty() {
        dollars(usage.cost)
    } else {
        format!("{}+?", dollars(usage.cost))
    };
    vec![
        label,
        thousands(t.input),
        thousands(t.output),
        thousands(t.cache_creation()),
        thousands(t.cache_read),
        thousands(t.total()),
        cost,
    ]
}

/// The table of a period report: one row per period and a totals row.
pub fn periods_table(report: &Report, first_column: &str) -> String {
    let header = [
        first_column,
        "Input",
        "Output",
        "Cache Create",
        "Cache Read",
        "Total Tokens",
        "Cost (USD)",
    ];
    let rows: Vec<Vec<String>> = report
        .periods
        .iter()
        .map(|p| usage_cells(p.key.clone(), &p.usage))
        .collect();
    let totals = usage_cells("Total".to_string(), &report.totals);
    table(&header, &rows, Some(totals))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(77_423_878), "77,423,878");
    }

    #[test]
    fn table_aligns_columns() {
        let out = table(
            &["Date", "Input"],
            &[vec!["2026-01-01".into(), "5".into()]],
            Some(vec!["Total".into(), "1,000".into()]),
        );
        assert_eq!(
            out,
            "Date        Input\n──────────  ─────\n2026-01-01      5\n──────────  ─────\nTotal       1,000\n"
        );
    }
}
