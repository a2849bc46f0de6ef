//! CSV (RFC 4180, CRLF line ends, quoting by the `csv` crate): one header line, then one
//! record per row; with `--breakdown`, one record per row and model.
//!
//! Every report has the same token columns and, unless `--no-cost`, a `cost_usd` column
//! (empty where nothing could be priced) and an `unpriced_models` column naming the
//! models the cost leaves out, space-separated.
//!
//! CSV is read by people in a terminal and in spreadsheets as often as by programs: its
//! fields are shown through `visible` (controls and bidi overrides escaped), as tables
//! are. `--json` keeps the exact strings.

use super::{Style, iso};
use crate::model::Tokens;
use crate::report::blocks::Block;
use crate::report::{Report, Session, Usage};
use crate::visible;

const TOKEN_COLUMNS: [&str; 5] = [
    "input_tokens",
    "output_tokens",
    "cache_creation_tokens",
    "cache_read_tokens",
    "total_tokens",
];

const COST_COLUMNS: [&str; 2] = ["cost_usd", "unpriced_models"];

/// Records built in memory, then written out once.
struct Sheet {
    writer: csv::Writer<Vec<u8>>,
    style: Style,
}

impl Sheet {
    /// A sheet whose records start with the columns `first`.
    fn new(first: &[&str], style: Style) -> Sheet {
        let writer = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::new());
        let mut sheet = Sheet { writer, style };
        let mut header: Vec<&str> = first.iter().chain(&TOKEN_COLUMNS).copied().collect();
        if !style.no_cost {
            header.extend(COST_COLUMNS);
        }
        sheet.write(header.iter().map(|s| s.to_string()).collect());
        sheet
    }

    /// A record: its own fields, then tokens and cost.
    fn row(&mut self, mut fields: Vec<String>, tokens: &Tokens, cost: f64, unpriced: &[&str]) {
        fields.extend([
            tokens.input.to_string(),
            tokens.output.to_string(),
            tokens.cache_creation().to_string(),
            tokens.cache_read.to_string(),
            tokens.total().to_string(),
        ]);
        if !self.style.no_cost {
            fields.push(match unpriced.is_empty() || cost != 0.0 {
                true => format!("{cost:.6}"),
                false => String::new(),
            });
            fields.push(unpriced.join(" "));
        }
        self.write(fields);
    }

    fn usage_row(&mut self, fields: Vec<String>, usage: &Usage) {
        let unpriced: Vec<&str> = usage.unpriced_models().into_iter().collect();
        self.row(fields, &usage.tokens, usage.cost, &unpriced);
    }

    fn write(&mut self, fields: Vec<String>) {
        // Writing into a Vec cannot fail.
        self.writer
            .write_record(fields.iter().map(|f| visible::text(f).into_owned()))
            .expect("a CSV record written to memory");
    }

    fn finish(self) -> String {
        let bytes = self
            .writer
            .into_inner()
            .expect("a CSV sheet flushed to memory");
        String::from_utf8(bytes).expect("CSV built from text is text")
    }
}

/// One record per period; with `breakdown`, one per period and model.
pub fn periods(report: &Report, key_name: &str, style: Style) -> String {
    let models = if style.breakdown { "model" } else { "models" };
    let mut sheet = Sheet::new(&[key_name, models], style);
    for p in &report.periods {
        if style.breakdown {
            for (model, m) in p.usage.breakdown() {
                let unpriced: &[&str] = if m.unpriced { &[model] } else { &[] };
                let fields = vec![p.key.clone(), model.to_string()];
                sheet.row(fields, &m.tokens, m.cost, unpriced);
            }
        } else {
            let fields = vec![p.key.clone(), p.usage.models_used().join(" ")];
            sheet.usage_row(fields, &p.usage);
        }
    }
    sheet.finish()
}

/// One record per model id: the model is the row, no model list beside it.
pub fn models(report: &Report, style: Style) -> String {
    let mut sheet = Sheet::new(&["model"], style);
    for p in &report.periods {
        sheet.usage_row(vec![p.key.clone()], &p.usage);
    }
    sheet.finish()
}

pub fn sessions(sessions: &[Session], style: Style) -> String {
    let first = [
        "session_id",
        "project",
        "first_activity",
        "last_activity",
        "models",
    ];
    let mut sheet = Sheet::new(&first, style);
    for s in sessions {
        let fields = vec![
            s.session_id.clone(),
            s.project.clone(),
            iso(s.first_ms),
            iso(s.last_ms),
            s.usage.models_used().join(" "),
        ];
        sheet.usage_row(fields, &s.usage);
    }
    sheet.finish()
}

pub fn blocks(blocks: &[Block], style: Style) -> String {
    let first = [
        "start",
        "end",
        "last_activity",
        "status",
        "entries",
        "models",
    ];
    let mut sheet = Sheet::new(&first, style);
    for b in blocks {
        let fields = vec![
            iso(b.start_ms),
            iso(b.end_ms),
            b.actual_end_ms.map(iso).unwrap_or_default(),
            status(b).to_string(),
            b.entries.to_string(),
            b.usage.models_used().join(" "),
        ];
        sheet.usage_row(fields, &b.usage);
    }
    sheet.finish()
}

fn status(b: &Block) -> &'static str {
    match (b.is_gap, b.is_active) {
        (true, _) => "gap",
        (_, true) => "active",
        _ => "done",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{ModelUsage, Period};

    fn report() -> Report {
        let mut usage = Usage {
            tokens: Tokens {
                input: 5,
                output: 10,
                ..Tokens::default()
            },
            cost: 1.5,
            requests: 1,
            ..Usage::default()
        };
        usage.models.insert(
            "claude-x, \"quoted\"".into(),
            ModelUsage {
                tokens: usage.tokens,
                cost: 1.5,
                unpriced: false,
                requests: 1,
            },
        );
        Report {
            periods: vec![Period {
                key: "2026-01-01".into(),
                usage: usage.clone(),
            }],
            totals: usage,
        }
    }

    #[test]
    fn fields_are_quoted_and_lines_end_in_crlf() {
        let out = periods(&report(), "date", Style::default());
        assert_eq!(
            out,
            "date,models,input_tokens,output_tokens,cache_creation_tokens,cache_read_tokens,total_tokens,cost_usd,unpriced_models\r\n\
             2026-01-01,\"claude-x, \"\"quoted\"\"\",5,10,0,0,15,1.500000,\r\n"
        );
    }

    #[test]
    fn no_cost_drops_the_cost_columns() {
        let style = Style {
            breakdown: true,
            no_cost: true,
        };
        let out = periods(&report(), "date", style);
        assert!(!out.contains("cost_usd"), "{out}");
        assert!(out.lines().nth(1).unwrap().ends_with(",15"), "{out}");
    }
}
