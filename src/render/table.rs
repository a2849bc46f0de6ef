//! Tables for people: text left, numbers right, a rule under the header and above the
//! totals, detail lines dimmed, in the widest layout that fits the terminal.
//!
//! Widths are display columns (`unicode-width`), so a project named in CJK or with an
//! ellipsis lines up. A table that is still too wide in its narrowest layout shrinks its
//! shrinkable columns (model lists, projects, model ids), keeping the end of the text that
//! tells rows apart, and never below a width where the text stops meaning anything.
//! Cells from data are shown through `visible` (controls and bidi overrides escaped).

use std::borrow::Cow;

use anstyle::Style as Paint;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use unicode_width::UnicodeWidthStr;

use super::{Screen, Style, dollars, hours, percent, short_model, thousands, wrap};
use crate::report::blocks::Block;
use crate::report::pricing::PriceTable;
use crate::report::{HostUsage, ModelUsage, Report, Session, Usage};
use crate::visible;

/// How a row is drawn.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Row,
    /// Dimmed; its first cell is measured apart, never cut, and may run across the
    /// (empty) label columns after it.
    Detail,
    /// Bold, under a rule.
    Total,
}

#[derive(Clone, Copy, PartialEq)]
enum Align {
    Left,
    Right,
}

/// Which end of a shrunk cell is kept.
#[derive(Clone, Copy)]
enum Keep {
    /// `claude-sonnet-4-5-2…`: ids and lists read from the start.
    Start,
    /// `…work-app`: encoded project paths differ at the end.
    End,
}

#[derive(Clone, Copy)]
struct Shrink {
    keep: Keep,
    min: usize,
}

struct Column {
    header: String,
    align: Align,
    shrink: Option<Shrink>,
    /// Set by `fit`: the width cells are cut to.
    limit: Option<usize>,
}

impl Column {
    fn text(header: &str) -> Column {
        Column {
            header: header.to_string(),
            align: Align::Left,
            shrink: None,
            limit: None,
        }
    }

    fn number(header: &str) -> Column {
        Column {
            align: Align::Right,
            ..Column::text(header)
        }
    }

    fn shrinking(self, keep: Keep, min: usize) -> Column {
        Column {
            shrink: Some(Shrink { keep, min }),
            ..self
        }
    }
}

fn width(text: &str) -> usize {
    text.width()
}

/// `text` cut to `max` display columns with an ellipsis, keeping the chosen end.
fn cut(text: &str, max: usize, keep: Keep) -> String {
    if width(text) <= max {
        return text.to_string();
    }
    let budget = max.saturating_sub(1);
    let mut kept = Vec::new();
    let mut used = 0;
    let mut push = |c: char| {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > budget {
            return false;
        }
        used += w;
        kept.push(c);
        true
    };
    match keep {
        Keep::Start => {
            for c in text.chars() {
                if !push(c) {
                    break;
                }
            }
            kept.iter().collect::<String>() + "…"
        }
        Keep::End => {
            for c in text.chars().rev() {
                if !push(c) {
                    break;
                }
            }
            "…".to_string() + &kept.iter().rev().collect::<String>()
        }
    }
}

struct Table {
    columns: Vec<Column>,
    rows: Vec<(Kind, Vec<String>)>,
    /// How many leading columns a detail row's first cell may run across.
    label_span: usize,
}

const GAP: usize = 2;

impl Table {
    fn new(columns: Vec<Column>, label_span: usize) -> Table {
        Table {
            columns,
            rows: Vec::new(),
            label_span: label_span.max(1),
        }
    }

    /// A row of cells, shown through `visible` here, so widths are measured (and cuts
    /// made) on the text the terminal will draw.
    fn push(&mut self, kind: Kind, cells: Vec<String>) {
        let cells = cells
            .into_iter()
            .map(|cell| match visible::text(&cell) {
                Cow::Borrowed(_) => cell,
                Cow::Owned(shown) => shown,
            })
            .collect();
        self.rows.push((kind, cells));
    }

    fn spans(&self, kind: Kind) -> bool {
        kind == Kind::Detail
    }

    /// Each column's width: its widest cell (or header), within its limit.
    fn widths(&self) -> Vec<usize> {
        let mut widths: Vec<usize> = self.columns.iter().map(|c| width(&c.header)).collect();
        let mut spanning = 0;
        for (kind, row) in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                if i == 0 && self.spans(*kind) {
                    spanning = spanning.max(width(cell));
                } else if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(width(cell));
                }
            }
        }
        for (w, column) in widths.iter_mut().zip(&self.columns) {
            if let Some(limit) = column.limit {
                *w = (*w).min(limit);
            }
        }
        let span = self.label_span.min(widths.len());
        let across: usize = widths[..span].iter().sum::<usize>() + GAP * (span - 1);
        widths[0] += spanning.saturating_sub(across);
        widths
    }

    fn width(&self) -> usize {
        self.widths().iter().sum::<usize>() + GAP * self.columns.len().saturating_sub(1)
    }

    /// Shrinks the shrinkable columns (rightmost first) until the table fits in `max`;
    /// false if it cannot.
    fn fit(&mut self, max: usize) -> bool {
        let widths = self.widths();
        let mut excess = self.width().saturating_sub(max);
        for i in (0..self.columns.len()).rev() {
            let Some(shrink) = self.columns[i].shrink else {
                continue;
            };
            let take = excess.min(widths[i].saturating_sub(shrink.min));
            if take > 0 {
                self.columns[i].limit = Some(widths[i] - take);
                excess -= take;
            }
        }
        // Measured again: a breakdown line running across a shrunk column can widen the
        // first one back.
        self.width() <= max
    }

    fn line(&self, kind: Kind, cells: &[String], widths: &[usize]) -> String {
        let mut out = String::new();
        let mut i = 0;
        while i < cells.len() {
            let column = &self.columns[i];
            let (cell, cell_width, next) = if i == 0 && self.spans(kind) {
                let span = self.label_span.min(widths.len());
                let across = widths[..span].iter().sum::<usize>() + GAP * (span - 1);
                (cells[0].clone(), across, span)
            } else {
                let cell = match column.shrink {
                    Some(shrink) => cut(&cells[i], widths[i], shrink.keep),
                    None => cells[i].clone(),
                };
                (cell, widths[i], i + 1)
            };
            if i > 0 {
                out.push_str(&" ".repeat(GAP));
            }
            let pad = " ".repeat(cell_width.saturating_sub(width(&cell)));
            match column.align {
                Align::Left => out.push_str(&(cell + &pad)),
                Align::Right => out.push_str(&(pad + &cell)),
            }
            i = next;
        }
        out.truncate(out.trim_end().len());
        out
    }

    fn render(&self, color: bool) -> String {
        let widths = self.widths();
        let paint = |text: String, paint: Paint| -> String {
            match color {
                true => format!("{}{text}{}\n", paint.render(), paint.render_reset()),
                false => format!("{text}\n"),
            }
        };
        let bold = Paint::new().bold();
        let dim = Paint::new().dimmed();
        let rule = widths
            .iter()
            .map(|w| "─".repeat(*w))
            .collect::<Vec<_>>()
            .join(&" ".repeat(GAP));
        let header: Vec<String> = self.columns.iter().map(|c| c.header.clone()).collect();
        let mut out = paint(self.line(Kind::Row, &header, &widths), bold);
        out.push_str(&rule);
        out.push('\n');
        for (kind, row) in &self.rows {
            let text = self.line(*kind, row, &widths);
            match kind {
                Kind::Row => {
                    out.push_str(&text);
                    out.push('\n');
                }
                Kind::Detail => out.push_str(&paint(text, dim)),
                Kind::Total => {
                    out.push_str(&rule);
                    out.push('\n');
                    out.push_str(&paint(text, bold));
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
    /// Total and cost only.
    Minimal,
}

impl Layout {
    /// Label columns (projects, model ids) are cut only once the token detail is gone:
    /// a whole name is worth more than the cache columns.
    fn cuts_labels(self) -> bool {
        matches!(self, Layout::Compact | Layout::Minimal)
    }
}

const LAYOUTS: [Layout; 4] = [
    Layout::Full,
    Layout::NoModels,
    Layout::Compact,
    Layout::Minimal,
];

/// A label column of a usage table.
#[derive(Clone, Copy)]
struct Label {
    header: &'static str,
    shrink: Option<Shrink>,
}

impl Label {
    const fn fixed(header: &'static str) -> Label {
        Label {
            header,
            shrink: None,
        }
    }

    const fn shrinking(header: &'static str, keep: Keep, min: usize) -> Label {
        Label {
            header,
            shrink: Some(Shrink { keep, min }),
        }
    }
}

/// The columns a usage table has besides its labels and figures.
#[derive(Clone, Copy)]
struct Shape {
    /// The models each row used (not where the rows are the models).
    models: bool,
    /// How many responses each row counts.
    requests: bool,
}

const PERIODS: Shape = Shape {
    models: true,
    requests: false,
};

impl Shape {
    fn models_in(self, layout: Layout) -> bool {
        self.models && layout == Layout::Full
    }

    fn requests_in(self, layout: Layout) -> bool {
        self.requests && layout != Layout::Minimal
    }
}

fn usage_columns(labels: &[Label], layout: Layout, shape: Shape, style: Style) -> Vec<Column> {
    let mut columns: Vec<Column> = labels
        .iter()
        .map(|l| Column {
            shrink: l.shrink.filter(|_| layout.cuts_labels()),
            ..Column::text(l.header)
        })
        .collect();
    if shape.models_in(layout) {
        columns.push(Column::text("Models").shrinking(Keep::Start, 16));
    }
    if shape.requests_in(layout) {
        columns.push(Column::number("Requests"));
    }
    if layout != Layout::Minimal {
        columns.push(Column::number("Input"));
        columns.push(Column::number("Output"));
    }
    if matches!(layout, Layout::Full | Layout::NoModels) {
        columns.push(Column::number("Cache Create"));
        columns.push(Column::number("Cache Read"));
        columns.push(Column::number("Total Tokens"));
    } else {
        columns.push(Column::number("Tokens"));
    }
    if !style.no_cost {
        columns.push(Column::number("Cost (USD)"));
    }
    columns
}

fn usage_cells(
    mut cells: Vec<String>,
    usage: &Usage,
    layout: Layout,
    shape: Shape,
    style: Style,
) -> Vec<String> {
    let t = &usage.tokens;
    if shape.models_in(layout) {
        let models: Vec<String> = usage.models_used().iter().map(|m| short_model(m)).collect();
        cells.push(models.join(", "));
    }
    if shape.requests_in(layout) {
        cells.push(thousands(usage.requests));
    }
    if layout != Layout::Minimal {
        cells.push(thousands(t.input));
        cells.push(thousands(t.output));
    }
    if matches!(layout, Layout::Full | Layout::NoModels) {
        cells.push(thousands(t.cache_creation()));
        cells.push(thousands(t.cache_read));
    }
    cells.push(thousands(t.total()));
    if !style.no_cost {
        cells.push(super::cost_text(usage));
    }
    cells
}

/// A breakdown line: the model under its row, its own sums, no model list.
fn detail_cells(
    model: &str,
    m: &ModelUsage,
    labels: usize,
    layout: Layout,
    shape: Shape,
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
    let mut cells = vec![String::new(); labels];
    cells[0] = format!("  └ {}", short_model(model));
    let mut cells = usage_cells(cells, &usage, layout, shape, style);
    if shape.models_in(layout) {
        cells[labels] = String::new();
    }
    cells
}

/// Labelled usage rows (periods, sessions) and a totals row, in the widest layout that
/// fits the screen. With `breakdown`, each row is followed by one line per model.
fn usage_table(
    labels: &[Label],
    rows: &[(Vec<String>, &Usage)],
    totals: &Usage,
    shape: Shape,
    style: Style,
    screen: Screen,
) -> String {
    // More than one agent: each row says whose usage it is.
    let with_agents;
    let (labels, rows) = if totals.agents.len() > 1 {
        let mut all = labels.to_vec();
        all.push(Label::fixed("Agents"));
        with_agents = rows
            .iter()
            .map(|(cells, usage)| {
                let mut cells = cells.clone();
                cells.push(usage.agents_used().join(", "));
                (cells, *usage)
            })
            .collect::<Vec<_>>();
        (all, with_agents.as_slice())
    } else {
        (labels.to_vec(), rows)
    };
    let labels = labels.as_slice();
    let mut table = None;
    // The narrow layouts start where the per-model and cache columns are gone.
    let layouts = match screen.compact {
        true => &LAYOUTS[2..],
        false => &LAYOUTS[..],
    };
    for &layout in layouts {
        // A breakdown line's model name runs across the labels (and the empty model list).
        let span = labels.len() + usize::from(shape.models_in(layout));
        let mut candidate = Table::new(usage_columns(labels, layout, shape, style), span);
        for (cells, usage) in rows {
            let row = usage_cells(cells.clone(), usage, layout, shape, style);
            candidate.push(Kind::Row, row);
            if style.breakdown {
                for (model, m) in usage.breakdown() {
                    let cells = detail_cells(model, m, labels.len(), layout, shape, style);
                    candidate.push(Kind::Detail, cells);
                }
            }
        }
        let mut total = vec![String::new(); labels.len()];
        total[0] = "Total".into();
        let mut total = usage_cells(total, totals, layout, shape, style);
        if shape.models_in(layout) {
            // Every model of the report: the rows above already say which.
            total[labels.len()] = String::new();
        }
        candidate.push(Kind::Total, total);
        let fits = candidate.fit(screen.width);
        table = Some(candidate);
        if fits {
            break;
        }
    }
    table.expect("at least one layout").render(screen.color)
}

/// `daily`, `weekly`, `monthly`, `projects`: `first` names the key column.
pub fn periods(report: &Report, first: &'static str, style: Style, screen: Screen) -> String {
    let rows: Vec<(Vec<String>, &Usage)> = report
        .periods
        .iter()
        .map(|p| (vec![p.key.clone()], &p.usage))
        .collect();
    let label = match first {
        "Project" => Label::shrinking(first, Keep::End, 12),
        _ => Label::fixed(first),
    };
    usage_table(&[label], &rows, &report.totals, PERIODS, style, screen)
}

/// `models`: one row per model id, with its requests (the row is the model: no list).
pub fn models(report: &Report, style: Style, screen: Screen) -> String {
    let rows: Vec<(Vec<String>, &Usage)> = report
        .periods
        .iter()
        .map(|p| (vec![p.key.clone()], &p.usage))
        .collect();
    let label = Label::shrinking("Model", Keep::Start, 16);
    let shape = Shape {
        models: false,
        requests: true,
    };
    usage_table(&[label], &rows, &report.totals, shape, style, screen)
}

/// `hosts`: a host by its name and the first digits of its id, with its requests and
/// first and last activity.
pub fn hosts(
    hosts: &[HostUsage],
    totals: &Usage,
    zone: &TimeZone,
    style: Style,
    screen: Screen,
) -> String {
    let rows: Vec<(Vec<String>, &Usage)> = hosts
        .iter()
        .map(|h| {
            let cells = vec![
                format!("{} ({})", h.name, &h.id[..h.id.len().min(8)]),
                local_minute(h.first_ms, zone),
                local_minute(h.last_ms, zone),
            ];
            (cells, &h.usage)
        })
        .collect();
    let labels = [
        Label::shrinking("Host", Keep::Start, 12),
        // Down to the day on a narrow screen.
        Label::shrinking("First activity", Keep::Start, 11),
        Label::shrinking("Last activity", Keep::Start, 11),
    ];
    let shape = Shape {
        models: true,
        requests: true,
    };
    usage_table(&labels, &rows, totals, shape, style, screen)
}

fn local_minute(ms: i64, zone: &TimeZone) -> String {
    Timestamp::from_millisecond(ms)
        .map(|t| {
            t.to_zoned_datetime(zone.clone())
                .strftime("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

/// `session`: whole ids where they fit (cut from the end only once the token detail is
/// gone, like the other labels).
pub fn sessions(
    sessions: &[Session],
    totals: &Usage,
    zone: &TimeZone,
    style: Style,
    screen: Screen,
) -> String {
    let rows: Vec<(Vec<String>, &Usage)> = sessions
        .iter()
        .map(|s| {
            let cells = vec![
                s.session_id.clone(),
                local_minute(s.last_ms, zone),
                s.project.clone(),
            ];
            (cells, &s.usage)
        })
        .collect();
    let labels = [
        Label::shrinking("Session", Keep::Start, 8),
        Label::fixed("Last activity"),
        Label::shrinking("Project", Keep::End, 10),
    ];
    usage_table(&labels, &rows, totals, PERIODS, style, screen)
}

pub fn blocks(
    blocks: &[Block],
    now_ms: i64,
    token_limit: Option<u64>,
    zone: &TimeZone,
    style: Style,
    screen: Screen,
) -> String {
    let mut table = None;
    for with_models in [!screen.compact, false] {
        let mut candidate = blocks_table(blocks, now_ms, token_limit, zone, style, with_models);
        let fits = candidate.fit(screen.width);
        table = Some(candidate);
        if fits {
            break;
        }
    }
    table.expect("two layouts").render(screen.color)
}

fn blocks_table(
    blocks: &[Block],
    now_ms: i64,
    token_limit: Option<u64>,
    zone: &TimeZone,
    style: Style,
    with_models: bool,
) -> Table {
    let mut columns = vec![Column::text("Block start"), Column::text("Status")];
    if with_models {
        columns.push(Column::text("Models").shrinking(Keep::Start, 16));
    }
    columns.push(Column::number("Tokens"));
    if token_limit.is_some() {
        columns.push(Column::number("% of limit"));
    }
    if !style.no_cost {
        columns.push(Column::number("Cost (USD)"));
    }
    let mut table = Table::new(columns, 1);
    for b in blocks {
        let (kind, cells) = block_cells(b, now_ms, token_limit, zone, style, with_models);
        table.push(kind, cells);
        if style.breakdown && !b.is_gap {
            for (model, m) in b.usage.breakdown() {
                let mut cells = vec![format!("  └ {}", short_model(model)), String::new()];
                if with_models {
                    cells.push(String::new());
                }
                cells.push(thousands(m.tokens.total()));
                if let Some(limit) = token_limit {
                    cells.push(format!("{:.1}%", percent(m.tokens.total(), limit)));
                }
                if !style.no_cost {
                    cells.push(super::model_cost_text(m));
                }
                table.push(Kind::Detail, cells);
            }
        }
        if let (true, Some(rate), Some(p)) = (b.is_active, b.burn_rate(), b.projection(now_ms)) {
            let mut note = vec![
                "  burn rate".into(),
                format!(
                    "{} tokens/min",
                    thousands(rate.tokens_per_minute.round() as u64)
                ),
            ];
            if with_models {
                note.push(match style.no_cost {
                    true => String::new(),
                    false => format!("{}/h", dollars(rate.cost_per_hour)),
                });
            }
            note.push(format!("→ {}", thousands(p.total_tokens)));
            if let Some(limit) = token_limit {
                note.push(format!("{:.1}%", percent(p.total_tokens, limit)));
            }
            if !style.no_cost {
                note.push(format!("→ {}", dollars(p.total_cost)));
            }
            table.push(Kind::Detail, note);
        }
    }
    table
}

fn block_cells(
    b: &Block,
    now_ms: i64,
    token_limit: Option<u64>,
    zone: &TimeZone,
    style: Style,
    with_models: bool,
) -> (Kind, Vec<String>) {
    let status = if b.is_gap {
        format!("gap {}", hours(b.end_ms - b.start_ms))
    } else if b.is_active {
        format!("ACTIVE, {} left", hours((b.end_ms - now_ms).max(0)))
    } else {
        format!(
            "done, {}",
            hours(b.actual_end_ms.unwrap_or(b.start_ms) - b.start_ms)
        )
    };
    let mut cells = vec![local_minute(b.start_ms, zone), status];
    if with_models {
        let models: Vec<String> = b
            .usage
            .models_used()
            .iter()
            .map(|m| short_model(m))
            .collect();
        cells.push(models.join(", "));
    }
    // A gap has no usage: its figures stay blank.
    let figure = |text: String| if b.is_gap { String::new() } else { text };
    cells.push(figure(thousands(b.usage.tokens.total())));
    if let Some(limit) = token_limit {
        cells.push(figure(format!(
            "{:.1}%",
            percent(b.usage.tokens.total(), limit)
        )));
    }
    if !style.no_cost {
        cells.push(figure(super::cost_text(&b.usage)));
    }
    let kind = if b.is_gap { Kind::Detail } else { Kind::Row };
    (kind, cells)
}

/// The columns of the price table a layout keeps, widest first: the rarely set columns
/// go first (source, geo, searches, fast), then the cache writes.
const PRICE_LAYOUTS: [&[usize]; 4] = [
    &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    &[0, 1, 2, 3, 4, 5, 6],
    &[0, 1, 2, 3, 6],
];

/// One row per family and period, in the order periods are looked at, each tier on a
/// line of its own under it, in the widest layout that fits the screen.
pub fn prices(prices: &PriceTable, screen: Screen) -> String {
    let columns = || {
        let mut columns = vec![
            Column::text("Model family").shrinking(Keep::Start, 12),
            Column::text("Period (UTC)").shrinking(Keep::Start, 10),
        ];
        for header in ["Input", "Output", "Write 5m", "Write 1h", "Read"] {
            columns.push(Column::number(header));
        }
        for header in ["Fast", "Geo", "Search/1k", "Source"] {
            columns.push(Column::number(header));
        }
        columns
    };
    let rows = price_rows(prices);
    let layout = |keep: &[usize]| {
        let mut all: Vec<Option<Column>> = columns().into_iter().map(Some).collect();
        let chosen = keep
            .iter()
            .map(|&i| all[i].take().expect("each column once"));
        // A tier's line names it across the family and period columns.
        let mut table = Table::new(chosen.collect(), 2);
        for (kind, row) in &rows {
            let cells = keep
                .iter()
                .map(|&i| row.get(i).cloned().unwrap_or_default());
            table.push(*kind, cells.collect());
        }
        table
    };
    // Whole cells in fewer columns before cut cells.
    let mut table = PRICE_LAYOUTS
        .iter()
        .map(|keep| layout(keep))
        .find(|t| t.width() <= screen.width)
        .unwrap_or_else(|| layout(PRICE_LAYOUTS[PRICE_LAYOUTS.len() - 1]));
    table.fit(screen.width);
    let mut out = wrap(
        "Prices in USD per million tokens (web searches: USD per 1,000).",
        screen.width,
    );
    out.push_str(&table.render(screen.color));
    out.push_str(&wrap(
        "Periods run from their first day to the day before `until`. A tier (└ above N): a \
         request whose input side (input + cache writes + cache reads) is above N tokens is \
         billed whole at the rates of the highest tier it is above. Fast and geo multiply \
         the whole request.",
        screen.width,
    ));
    out
}

/// Every column's cell of each family and period, and a detail line per tier.
fn price_rows(prices: &PriceTable) -> Vec<(Kind, Vec<String>)> {
    let date = |d: Option<jiff::civil::Date>| d.map(|d| d.to_string()).unwrap_or_default();
    let rates = |r: &crate::report::pricing::Rates| {
        [
            r.input,
            r.output,
            r.cache_write_5m,
            r.cache_write_1h,
            r.cache_read,
        ]
        .map(|rate| rate.to_string())
    };
    let mut rows = Vec::new();
    for (family, f) in &prices.families {
        for p in &f.periods {
            let period = match (p.from, p.until) {
                (None, None) => "always".to_string(),
                (from, until) => format!("{}..{}", date(from), date(until)),
            };
            let geo: Vec<String> = p.geo.iter().map(|(k, v)| format!("{k} {v}x")).collect();
            let mut row = vec![family.clone(), period];
            row.extend(rates(&p.rates));
            row.extend([
                p.fast.map(|f| format!("{f}x")).unwrap_or_default(),
                geo.join(" "),
                p.web_search_per_1k
                    .map(|v| format!("${v}"))
                    .unwrap_or_default(),
                p.source.clone(),
            ]);
            rows.push((Kind::Row, row));
            for t in &p.tiers {
                let mut tier = vec![format!("  └ above {}", thousands(t.above)), String::new()];
                tier.extend(rates(&t.rates));
                rows.push((Kind::Detail, tier));
            }
        }
    }
    rows
}

/// The lines under the `agents` table for the figures agents bill in besides tokens and
/// dollars (Amp's credits, Copilot's premium requests), one per agent that has one.
pub fn agent_figures(agents: &[crate::report::AgentUsage]) -> String {
    let mut lines = String::new();
    for a in agents {
        let f = a.figures;
        for (value, unit) in [
            (f.credits, "credits"),
            (f.premium_requests, "premium requests"),
        ] {
            if let Some(value) = value {
                lines.push_str(&format!("{}: {} {unit}\n", a.agent, figure(value)));
            }
        }
    }
    lines
}

/// A figure as people write it: whole numbers without decimals, others with two.
fn figure(value: f64) -> String {
    match value.fract() == 0.0 {
        true => format!("{value:.0}"),
        false => format!("{value:.2}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Tokens;
    use crate::report::Period;

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

    fn screen(width: usize) -> Screen {
        Screen {
            width,
            color: false,
            compact: false,
        }
    }

    #[test]
    fn wide_table_has_models_and_a_totals_row() {
        let out = periods(&report(), "Date", Style::default(), screen(200));
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
        for width in [80, 60, 40] {
            let out = periods(&report(), "Date", Style::default(), screen(width));
            assert!(out.lines().all(|l| l.width() <= width), "{out}");
            assert!(out.contains("$1.75"), "{out}");
        }
        let compact = periods(&report(), "Date", Style::default(), screen(60));
        assert!(!compact.contains("Cache Read"), "{compact}");
    }

    #[test]
    fn breakdown_no_cost_and_color() {
        let style = Style {
            breakdown: true,
            no_cost: true,
        };
        let out = periods(&report(), "Date", style, screen(200));
        assert!(out.contains("  └ haiku-4-5"), "{out}");
        assert!(!out.contains('$'), "{out}");
        let colored = periods(
            &report(),
            "Date",
            Style::default(),
            Screen {
                width: 200,
                color: true,
                compact: false,
            },
        );
        assert!(colored.contains("\x1b[1m"));
        assert!(!periods(&report(), "Date", Style::default(), screen(200)).contains('\x1b'));
    }

    #[test]
    fn cells_are_cut_by_display_width_at_the_chosen_end() {
        assert_eq!(cut("-home-dev-work-app", 10, Keep::End), "…-work-app");
        assert_eq!(cut("claude-sonnet-4-5", 8, Keep::Start), "claude-…");
        assert_eq!(cut("short", 8, Keep::Start), "short");
        // Two columns per character: the cut never splits one.
        assert_eq!(cut("项目项目项目", 6, Keep::End), "…项目");
        assert_eq!(width("…项目"), 5);
    }

    #[test]
    fn wide_characters_line_up() {
        let mut r = report();
        r.periods[0].key = "项目".into();
        let out = periods(&r, "Project", Style::default(), screen(200));
        let lines: Vec<&str> = out.lines().collect();
        let before = |line: &str, text: &str| width(line.split(text).next().unwrap());
        assert_eq!(
            before(lines[2], "sonnet"),
            before(lines[0], "Models"),
            "{out}"
        );
    }
}
