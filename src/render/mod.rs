//! Formats: pure functions from the report model to text, one module per format. Where
//! the bytes go (and what a closed pipe means) is the caller's business.
//!
//! - `json`: typed rows with ccusage's field names (its shapes for `daily`, `weekly`,
//!   `monthly`, `session` and `blocks`);
//! - `csv`: RFC 4180 through the `csv` crate;
//! - `export`: the NDJSON rows of `export` and `import`, versioned;
//! - `table`: for people, in the widest layout that fits the terminal;
//! - `statusline` and `live`: the glance views.
//!
//! This module holds what they share: how numbers, money, times and model names are
//! written.

pub mod csv;
pub mod export;
pub mod html;
pub mod json;
pub mod live;
pub mod metrics;
pub mod quota;
pub mod statusline;
pub mod svg;
pub mod table;

use jiff::Timestamp;

use crate::report::alerts::Finding;

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
    /// `--compact`: the narrow layouts only, whatever the width.
    pub compact: bool,
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

/// The one line a person reads (the check's report, stderr, the notification).
pub fn finding_line(finding: &Finding) -> String {
    match finding.kind {
        "budget" => format!(
            "{:<4}  {} budget of {}: {} of {} ({:.0}%) in {}",
            finding.level.name(),
            finding.period,
            finding_scope(finding),
            dollars(finding.value),
            dollars(finding.over_at),
            finding.percent,
            finding.period_key,
        ),
        _ => format!(
            "{:<4}  {} quota of {}: {:.0}% used (warn {:.0}%, over {:.0}%), resets {}",
            finding.level.name(),
            finding.period,
            finding.agent.unwrap_or("?"),
            finding.value,
            finding.warn_at,
            finding.over_at,
            finding.period_key,
        ),
    }
}

fn finding_scope(finding: &Finding) -> String {
    match (&finding.agent, &finding.project) {
        (Some(agent), _) => format!("agent {agent}"),
        (_, Some(project)) => format!("project {}", crate::visible::text(project)),
        _ => "all usage".to_string(),
    }
}

pub fn dollars(cost: f64) -> String {
    format!("${cost:.2}")
}

/// What every view shows for a cost: dollars; a floor (`$0.50+?`) where part of it has
/// no price; `unpriced` where none of it has one (`$0.00` would read as free).
pub fn cost_text(usage: &crate::report::Usage) -> String {
    let unpriced = usage.unpriced_models();
    if unpriced.is_empty() {
        dollars(usage.cost)
    } else if usage.cost == 0.0 && unpriced.len() == usage.models.len() {
        UNPRICED.to_string()
    } else {
        format!("{}+?", dollars(usage.cost))
    }
}

/// `cost_text` of one model's usage (a breakdown's line).
pub fn model_cost_text(m: &crate::report::ModelUsage) -> String {
    match (m.unpriced, m.cost == 0.0) {
        (false, _) => dollars(m.cost),
        (true, true) => UNPRICED.to_string(),
        (true, false) => format!("{}+?", dollars(m.cost)),
    }
}

/// The cost of usage the price table has no price for (the warning under a report names
/// the models).
const UNPRICED: &str = "unpriced";

/// Dollars to the billionth: sums of many requests' costs carry float noise
/// (`0.18742399999999998`) that means nothing, while a millionth of a dollar is still a
/// token of some models.
fn money(cost: f64) -> f64 {
    (cost * 1e9).round() / 1e9
}

/// `tokens` as a percentage of `limit`, to two decimals.
fn percent(tokens: u64, limit: u64) -> f64 {
    if limit == 0 {
        0.0
    } else {
        (tokens as f64 / limit as f64 * 10_000.0).round() / 100.0
    }
}

/// A UTC instant as ccusage writes it: `2026-01-10T09:00:05.300Z`.
pub(crate) fn iso(ms: i64) -> String {
    Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

/// `1h 05m`; from a day on, `398d 6h` (minutes no longer tell anything, and `9558h`
/// has to be divided by 24 in the head).
pub fn hours(ms: i64) -> String {
    let minutes = ms.max(0) / 60_000;
    let hours = minutes / 60;
    match hours >= 24 {
        true => format!("{}d {}h", hours / 24, hours % 24),
        false => format!("{hours}h {:02}m", minutes % 60),
    }
}

/// `text` in lines of at most `width` display columns, broken between words (a longer
/// word has a line of its own), each line indented by `indent`.
pub fn wrap_indented(text: &str, width: usize, indent: &str) -> String {
    use unicode_width::UnicodeWidthStr;
    let mut out = String::new();
    let mut line = indent.to_string();
    for word in text.split_whitespace() {
        if !line.trim().is_empty() && line.width() + 1 + word.width() > width {
            out.push_str(&line);
            out.push('\n');
            line = indent.to_string();
        } else if !line.trim().is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
    out
}

/// `wrap_indented` without an indent.
pub fn wrap(text: &str, width: usize) -> String {
    wrap_indented(text, width, "")
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
    fn text_wraps_between_words() {
        assert_eq!(wrap("one two three", 7), "one two\nthree\n");
        assert_eq!(
            wrap_indented("one two three", 9, "  "),
            "  one two\n  three\n"
        );
        assert_eq!(wrap("unbreakable", 4), "unbreakable\n");
    }

    #[test]
    fn durations_read_in_hours_then_days() {
        assert_eq!(hours(65 * 60_000), "1h 05m");
        assert_eq!(hours(23 * 3_600_000 + 59 * 60_000), "23h 59m");
        assert_eq!(hours((9558 * 60 + 15) * 60_000), "398d 6h");
    }

    #[test]
    fn model_names_shorten_for_people() {
        assert_eq!(short_model("claude-sonnet-4-5-20250929"), "sonnet-4-5");
        assert_eq!(short_model("claude-opus-4-6-fast"), "opus-4-6-fast");
        assert_eq!(short_model("gpt-x"), "gpt-x");
    }

    #[test]
    fn money_drops_float_noise() {
        assert_eq!(money(0.18742399999999998), 0.187424);
        assert_eq!(serde_json::to_string(&money(0.1 + 0.2)).unwrap(), "0.3");
    }
}
