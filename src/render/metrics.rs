//! The metrics model as Prometheus text exposition (version 0.0.4) or OpenMetrics 1.0.
//!
//! Both print the same series: counters with `_total`, gauges, and `cco_stats_info`,
//! each with a `host` label (the ledger's host id). OpenMetrics adds what its format
//! has and the older one lacks: family names without `_total` in `# TYPE`, a
//! `_created` sample per counter, the `info` type, and the closing `# EOF`.

use std::fmt::Write;

use crate::report::metrics::{Counter, Metrics, QuotaGauge};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Prometheus,
    OpenMetrics,
}

impl Format {
    /// The HTTP `Content-Type` of the format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// A counter series as printed, without the host label: the key the ledger keeps its
/// floor under (see `ledger::counters`).
pub fn series_key(counter: &Counter) -> String {
    let mut key = format!("{}_total", counter.family.name());
    write_labels(&mut key, None, &counter.labels);
    key
}

pub fn render(m: &Metrics, format: Format) -> String {
    let mut out = String::with_capacity(256 + m.counters.len() * 120);
    let host = ("host", m.host_id.as_str());
    let open = format == Format::OpenMetrics;
    for family in m.counters.chunk_by(|a, b| a.family == b.family) {
        let name = family[0].family.name();
        let typed = if open {
            name.to_string()
        } else {
            format!("{name}_total")
        };
        header(&mut out, &typed, "counter", family[0].family.help());
        for counter in family {
            sample(
                &mut out,
                &format!("{name}_total"),
                host,
                &counter.labels,
                counter.value,
            );
            if open {
                sample(
                    &mut out,
                    &format!("{name}_created"),
                    host,
                    &counter.labels,
                    counter.created_ms as f64 / 1000.0,
                );
            }
        }
    }
    let h = &m.health;
    let gauges: [(&str, &str, Option<f64>); 6] = [
        (
            "cco_stats_last_pass_timestamp_seconds",
            "When the last ingest pass over the transcripts finished (recorded at least once a minute), Unix time.",
            h.last_pass_ms.map(|ms| ms as f64 / 1000.0),
        ),
        (
            "cco_stats_lines_skipped",
            "Transcript lines that could not be read (damaged, too long, implausible), as the ledger's cursors count them now.",
            Some(h.lines_skipped as f64),
        ),
        (
            "cco_stats_files_tracked",
            "Transcript files the ledger holds a cursor for (deleted ones included: their rows stay).",
            Some(h.files_tracked as f64),
        ),
        (
            "cco_stats_ledger_rows",
            "Billable responses stored in the ledger.",
            Some(h.rows as f64),
        ),
        (
            "cco_stats_ledger_bytes",
            "Size of the ledger database and its write-ahead log on disk.",
            Some(m.ledger_bytes as f64),
        ),
        (
            "cco_stats_prices_revision",
            "Goes up by one whenever the price table differs from the one the last render used: the cost counters may step up then, and a price cut is absorbed instead of lowering them.",
            Some(m.prices_revision as f64),
        ),
    ];
    for (name, help, value) in gauges {
        header(&mut out, name, "gauge", help);
        if let Some(value) = value {
            sample(&mut out, name, host, &[], value);
        }
    }
    quota_gauges(&mut out, m, host);
    let info: [(&'static str, String); 2] = [
        ("host_name", m.host_name.clone()),
        ("version", m.version.clone()),
    ];
    let help =
        "The ledger's host (host is its id, host_name its human name) and the cco-stats version.";
    if open {
        header(&mut out, "cco_stats", "info", help);
    } else {
        header(&mut out, "cco_stats_info", "gauge", help);
    }
    sample(&mut out, "cco_stats_info", host, &info, 1.0);
    if open {
        out.push_str("# EOF\n");
    }
    out
}

/// The official quota windows, by agent and window (declared even with none).
fn quota_gauges(out: &mut String, m: &Metrics, host: (&'static str, &str)) {
    type Value = fn(&QuotaGauge) -> f64;
    let families: [(&str, &str, Value); 3] = [
        (
            "cco_stats_quota_used_ratio",
            "The share of a quota window used, as the agent last reported it (Claude Code's status-line rate_limits, Codex's rollouts): 1 is the limit.",
            |q| q.used_ratio,
        ),
        (
            "cco_stats_quota_resets_timestamp_seconds",
            "When the quota window resets, Unix time.",
            |q| q.resets_at_ms as f64 / 1000.0,
        ),
        (
            "cco_stats_quota_seen_timestamp_seconds",
            "When the agent last reported the quota window's use, Unix time.",
            |q| q.seen_ms as f64 / 1000.0,
        ),
    ];
    for (name, help, value) in families {
        header(out, name, "gauge", help);
        for q in &m.quota {
            let labels = [("agent", q.agent.to_string()), ("window", q.window.clone())];
            sample(out, name, host, &labels, value(q));
        }
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    // HELP text escapes backslashes and newlines in both formats.
    let help = help.replace('\\', "\\\\").replace('\n', "\\n");
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(
    out: &mut String,
    name: &str,
    host: (&'static str, &str),
    labels: &[(&'static str, String)],
    value: f64,
) {
    out.push_str(name);
    write_labels(out, Some(host), labels);
    let _ = writeln!(out, " {}", number(value));
}

fn write_labels(
    out: &mut String,
    host: Option<(&'static str, &str)>,
    labels: &[(&'static str, String)],
) {
    let labels = host
        .into_iter()
        .chain(labels.iter().map(|(k, v)| (*k, v.as_str())));
    let mut any = false;
    for (key, value) in labels {
        out.push(if any { ',' } else { '{' });
        any = true;
        let _ = write!(out, "{key}=\"{}\"", escape(value));
    }
    if any {
        out.push('}');
    }
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Whole numbers as integers (token counts stay exact and readable), others in Rust's
/// shortest form, which both formats' parsers read.
fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 9.0e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::query::Health;
    use crate::report::metrics::Family;

    fn metrics() -> Metrics {
        Metrics {
            host_id: "abc".into(),
            host_name: "box \"one\"".into(),
            version: "0.1.0".into(),
            counters: vec![
                Counter {
                    family: Family::Tokens,
                    labels: vec![("model", "m".into()), ("type", "input".into())],
                    value: 12.0,
                    created_ms: 1_500,
                },
                Counter {
                    family: Family::CostUsd,
                    labels: vec![("model", "m".into())],
                    value: 0.25,
                    created_ms: 2_000,
                },
            ],
            health: Health {
                files_tracked: 3,
                lines_skipped: 1,
                rows: 12,
                last_pass_ms: None,
            },
            ledger_bytes: 4096,
            prices_revision: 1,
            quota: vec![QuotaGauge {
                agent: "claude",
                window: "seven_day".into(),
                used_ratio: 0.21,
                resets_at_ms: 1_767_225_600_000,
                seen_ms: 1_767_000_000_500,
            }],
        }
    }

    #[test]
    fn prometheus_text_has_total_names_and_no_eof() {
        let text = render(&metrics(), Format::Prometheus);
        assert!(text.contains("# TYPE cco_stats_tokens_total counter\n"));
        assert!(
            text.contains("cco_stats_tokens_total{host=\"abc\",model=\"m\",type=\"input\"} 12\n")
        );
        assert!(text.contains("cco_stats_cost_usd_total{host=\"abc\",model=\"m\"} 0.25\n"));
        assert!(text.contains(
            "cco_stats_info{host=\"abc\",host_name=\"box \\\"one\\\"\",version=\"0.1.0\"} 1\n"
        ));
        assert!(text.contains("cco_stats_ledger_rows{host=\"abc\"} 12\n"));
        assert!(text.contains(
            "cco_stats_quota_used_ratio{host=\"abc\",agent=\"claude\",window=\"seven_day\"} 0.21\n"
        ));
        assert!(text.contains(
            "cco_stats_quota_resets_timestamp_seconds{host=\"abc\",agent=\"claude\",window=\"seven_day\"} 1767225600\n"
        ));
        // No pass recorded yet: the gauge is declared, with no sample.
        assert!(!text.contains("cco_stats_last_pass_timestamp_seconds{"));
        assert!(!text.contains("_created") && !text.contains("# EOF"));
    }

    #[test]
    fn openmetrics_has_families_created_and_eof() {
        let text = render(&metrics(), Format::OpenMetrics);
        assert!(text.contains("# TYPE cco_stats_tokens counter\n"));
        assert!(
            text.contains(
                "cco_stats_tokens_created{host=\"abc\",model=\"m\",type=\"input\"} 1.5\n"
            )
        );
        assert!(text.contains("# TYPE cco_stats info\n"));
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn series_keys_leave_the_host_out() {
        let m = metrics();
        assert_eq!(
            series_key(&m.counters[0]),
            "cco_stats_tokens_total{model=\"m\",type=\"input\"}"
        );
    }
}
