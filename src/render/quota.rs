//! `cco-stats limits` in its three formats (JSON exactly as issue 20 gives it, CSV, a
//! table), kept in one module beside the per-format ones because the quota report shares
//! nothing of theirs (no token columns, no breakdown).
//!
//! Window names come from data (Claude Code names its windows): the status line admits
//! only short `[a-z0-9_]` names (`report::statusline`), and Codex's are made here from a
//! number, so they print as they are.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Serialize;

use super::statusline::duration;
use super::{dollars, iso, thousands};
use crate::report::quota::{Past, Window};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonWindow<'a> {
    agent: &'static str,
    window: &'a str,
    used_percent: Option<f64>,
    resets_at: Option<String>,
    seen_at: Option<String>,
    source: &'static str,
    pace_percent: Option<f64>,
    forecast_full_at: Option<String>,
    tokens_per_percent: Option<f64>,
    cost_per_percent: Option<f64>,
    history: Vec<JsonPast>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonPast {
    resets_at: String,
    peak_percent: f64,
    hit: bool,
    tokens: u64,
    cost: f64,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    windows: Vec<JsonWindow<'a>>,
}

/// Two decimals: the agents send whole or one-decimal percents, and the derived figures
/// mean nothing past that.
fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

pub fn json(windows: &[Window]) -> impl Serialize + '_ {
    JsonReport {
        windows: windows
            .iter()
            .map(|w| JsonWindow {
                agent: w.agent.name(),
                window: &w.window,
                used_percent: w.used_percent,
                resets_at: w.resets_at_ms.map(iso),
                seen_at: w.seen_ms.map(iso),
                source: w.source.name(),
                pace_percent: w.pace_percent.map(round2),
                forecast_full_at: w.forecast_full_ms.map(iso),
                tokens_per_percent: w.tokens_per_percent.map(round2),
                cost_per_percent: w.cost_per_percent.map(|c| (c * 1e6).round() / 1e6),
                history: w.history.iter().map(json_past).collect(),
            })
            .collect(),
    }
}

fn json_past(p: &Past) -> JsonPast {
    JsonPast {
        resets_at: iso(p.resets_at_ms),
        peak_percent: p.peak_percent,
        hit: p.hit,
        tokens: p.spent.tokens,
        cost: (p.spent.cost * 1e6).round() / 1e6,
    }
}

const CSV_HEADER: [&str; 14] = [
    "agent",
    "window",
    "period",
    "source",
    "used_percent",
    "resets_at",
    "seen_at",
    "pace_percent",
    "forecast_full_at",
    "tokens",
    "cost_usd",
    "tokens_per_percent",
    "cost_per_percent",
    "hit",
];

/// One record per window now (`period` = `current`) and per past window (`past`, its
/// peak in `used_percent`).
pub fn csv(windows: &[Window]) -> String {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let text = |x: Option<String>| x.unwrap_or_default();
    let number = |x: Option<f64>| x.map(|x| round2(x).to_string()).unwrap_or_default();
    let mut rows = vec![CSV_HEADER.map(str::to_string).to_vec()];
    for w in windows {
        rows.push(vec![
            w.agent.name().to_string(),
            w.window.clone(),
            "current".to_string(),
            w.source.name().to_string(),
            number(w.used_percent),
            text(w.resets_at_ms.map(iso)),
            text(w.seen_ms.map(iso)),
            number(w.pace_percent),
            text(w.forecast_full_ms.map(iso)),
            w.spent.tokens.to_string(),
            format!("{:.6}", w.spent.cost),
            number(w.tokens_per_percent),
            w.cost_per_percent
                .map(|c| format!("{c:.6}"))
                .unwrap_or_default(),
            (w.used_percent.unwrap_or(0.0) >= 100.0).to_string(),
        ]);
        for p in &w.history {
            rows.push(vec![
                w.agent.name().to_string(),
                w.window.clone(),
                "past".to_string(),
                w.source.name().to_string(),
                number(Some(p.peak_percent)),
                iso(p.resets_at_ms),
                String::new(),
                String::new(),
                String::new(),
                p.spent.tokens.to_string(),
                format!("{:.6}", p.spent.cost),
                String::new(),
                String::new(),
                p.hit.to_string(),
            ]);
        }
    }
    for row in rows {
        writer.write_record(&row).expect("writing to memory");
    }
    String::from_utf8(writer.into_inner().expect("writing to memory")).expect("CSV of UTF-8")
}

/// `Mon 14:00` in `zone`.
pub fn day_time(ms: i64, zone: &TimeZone) -> String {
    Timestamp::from_millisecond(ms)
        .map(|t| {
            t.to_zoned_datetime(zone.clone())
                .strftime("%a %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

fn date_time(ms: i64, zone: &TimeZone) -> String {
    Timestamp::from_millisecond(ms)
        .map(|t| {
            t.to_zoned_datetime(zone.clone())
                .strftime("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

/// The width a history line needs under the labels (a cost of up to $9,999.99).
const HISTORY_WIDE: usize = 76;

/// For people: a block per agent and window, its history below it (the caller says
/// when there is none), within `width` columns.
pub fn table(windows: &[Window], zone: &TimeZone, now_ms: i64, width: usize) -> String {
    let mut out = String::new();
    for w in windows {
        out.push_str(&format!(
            "{} {} ({})\n",
            w.agent.name(),
            w.window,
            w.source.name()
        ));
        if w.source == crate::report::quota::Source::Estimate {
            out.push_str(&super::wrap_indented(
                "no official figure from this agent yet: estimated from the ledger's tokens \
                 against the busiest finished 5-hour block",
                width,
                "  ",
            ));
        }
        match (w.used_percent, w.resets_at_ms) {
            (Some(used), Some(resets)) => {
                out.push_str(&format!(
                    "  used        {used:.1} %{}\n",
                    w.seen_ms
                        .map(|s| format!("  (seen {})", date_time(s, zone)))
                        .unwrap_or_default()
                ));
                out.push_str(&format!(
                    "  resets      {}  ({} left)\n",
                    date_time(resets, zone),
                    duration((resets - now_ms).max(0))
                ));
            }
            _ => out.push_str("  used        unknown: the last window reported has reset\n"),
        }
        if let (Some(pace), Some(elapsed)) = (w.pace_percent, w.elapsed_percent) {
            out.push_str(&format!(
                "  pace        {pace:.0} % ({elapsed:.0} % of the window elapsed)\n"
            ));
        }
        if let (Some(t), Some(c)) = (w.tokens_per_percent, w.cost_per_percent) {
            out.push_str(&format!(
                "  per 1 %     {} tokens, {}\n",
                thousands(t.round() as u64),
                dollars(c)
            ));
        }
        if let Some(used) = w.used_percent {
            out.push_str(&match w.forecast_full_ms {
                // A time to come, not the moment it was seen full.
                _ if used >= 100.0 => "  forecast    full: the window's limit is reached\n".into(),
                Some(full) => format!("  forecast    100 % at {}\n", date_time(full, zone)),
                None => "  forecast    not full before the reset at the recent burn\n".into(),
            });
        }
        if !w.history.is_empty() {
            // Under the labels where the lines fit, else from the left edge.
            let indent = if width >= HISTORY_WIDE { 14 } else { 2 };
            let label = if width >= HISTORY_WIDE {
                "  history     "
            } else {
                "  history\n  "
            };
            out.push_str(label);
            out.push_str("reset             peak    hit  tokens          cost\n");
            for p in &w.history {
                out.push_str(&format!(
                    "{:indent$}{}  {:>5.1} %  {:<3}  {:<14}  {}\n",
                    "",
                    date_time(p.resets_at_ms, zone),
                    p.peak_percent,
                    if p.hit { "yes" } else { "no" },
                    thousands(p.spent.tokens),
                    dollars(p.spent.cost)
                ));
            }
        }
    }
    out
}
