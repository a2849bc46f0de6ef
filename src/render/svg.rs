//! The dashboard's charts, drawn on the server as inline SVG: the daily cost stacked by
//! model or agent (with the dated price changes marked), the year's calendar, and a
//! session's responses over time.
//!
//! Our own few lines rather than a crate: the charts are rectangles and lines with a
//! title each, and the chart crates (plotters and its kin) bring fonts, backends and
//! thousands of lines for that, while the `svg` crate only builds elements we can write
//! as text. Colours are classes (`s0`…`s7`, `l0`…`l4`) the page's CSS maps to a
//! colour-blind-safe palette for light and dark themes; every shape has a `<title>`
//! (its figures, for a pointer and a screen reader) and every chart a label.

use std::fmt::Write;

use jiff::ToSpan;
use jiff::civil::Date;

use crate::render::html::escape;
use crate::report::dashboard::{Day, Measure, PriceChange};

/// The series the palette tells apart; the rest are drawn as one "other" part.
pub const SERIES: usize = 7;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 200.0;
/// Room left of the bars for the axis labels.
const LEFT: f64 = 48.0;
const BOTTOM: f64 = 18.0;

/// The series of a stacked chart, largest over the range first, at most `SERIES` (the
/// rest become "other").
pub fn series(days: &[Day], measure: Measure) -> Vec<String> {
    let mut sums: Vec<(String, f64)> = Vec::new();
    for day in days {
        for part in &day.parts {
            let value = measure.of_part(part);
            match sums.iter_mut().find(|(n, _)| *n == part.name) {
                Some((_, sum)) => *sum += value,
                None => sums.push((part.name.clone(), value)),
            }
        }
    }
    sums.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    sums.into_iter().take(SERIES).map(|(n, _)| n).collect()
}

/// The daily cost or tokens as stacked bars, one a day, `series`' parts in their colours
/// and the rest in the "other" colour; a dashed line on each day a price changed.
pub fn stacked_days(
    days: &[Day],
    measure: Measure,
    series: &[String],
    changes: &[PriceChange],
    label: &str,
) -> String {
    let mut out = String::new();
    let max = days
        .iter()
        .map(|d| measure.of_usage(&d.usage))
        .fold(0.0, f64::max);
    let plot_w = WIDTH - LEFT;
    let plot_h = HEIGHT - BOTTOM;
    let _ = write!(
        out,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{}"><title>{}</title>"#,
        escape(label),
        escape(label)
    );
    axis(&mut out, &shown(measure, max), plot_h);
    let n = days.len().max(1) as f64;
    // At most 40 units a bar: a few days should not look like a wall.
    let bar = (plot_w / n).min(40.0);
    let scale = if max > 0.0 { plot_h / max } else { 0.0 };
    for (i, day) in days.iter().enumerate() {
        let x = LEFT + i as f64 * bar;
        let _ = write!(
            out,
            "<g><title>{}: {}, {} tokens</title>",
            escape(&day.date),
            crate::render::dollars(day.usage.cost),
            crate::render::thousands(day.usage.tokens.total())
        );
        let mut y = plot_h;
        let mut other = 0.0;
        for part in &day.parts {
            let value = measure.of_part(part);
            match series.iter().position(|s| *s == part.name) {
                Some(index) => rect(&mut out, x, &mut y, bar, value * scale, index),
                None => other += value,
            }
        }
        rect(&mut out, x, &mut y, bar, other * scale, SERIES);
        out.push_str("</g>");
    }
    for change in changes {
        let Some(index) = days.iter().position(|d| d.date == change.date.to_string()) else {
            continue;
        };
        let x = LEFT + index as f64 * bar;
        let _ = write!(
            out,
            r#"<line class="price" x1="{x:.1}" x2="{x:.1}" y1="0" y2="{plot_h}"><title>{} price change on {}</title></line>"#,
            escape(&change.family),
            change.date
        );
    }
    if let (Some(first), Some(last)) = (days.first(), days.last()) {
        let _ = write!(
            out,
            r#"<text x="{LEFT}" y="{}" class="tick">{}</text><text x="{WIDTH}" y="{}" class="tick" text-anchor="end">{}</text>"#,
            HEIGHT - 4.0,
            escape(&first.date),
            HEIGHT - 4.0,
            escape(&last.date)
        );
    }
    out.push_str("</svg>");
    out
}

/// A figure of `measure` as an axis shows it: dollars, or tokens in thousands (K) or
/// millions (M).
fn shown(measure: Measure, value: f64) -> String {
    match measure {
        Measure::Cost => crate::render::dollars(value),
        Measure::Tokens if value >= 1e6 => format!("{:.1}M", value / 1e6),
        Measure::Tokens if value >= 1e3 => format!("{:.0}K", value / 1e3),
        Measure::Tokens => format!("{value:.0}"),
    }
}

fn axis(out: &mut String, max: &str, plot_h: f64) {
    let _ = write!(
        out,
        r#"<line class="axis" x1="{LEFT}" x2="{WIDTH}" y1="{plot_h}" y2="{plot_h}"/><text x="{}" y="10" class="tick" text-anchor="end">{max}</text><text x="{}" y="{plot_h}" class="tick" text-anchor="end">0</text>"#,
        LEFT - 4.0,
        LEFT - 4.0,
    );
}

/// A part `height` high on top of the stack at `y` (which moves up by it).
fn rect(out: &mut String, x: f64, y: &mut f64, width: f64, height: f64, class: usize) {
    if height <= 0.0 {
        return;
    }
    *y -= height;
    let _ = write!(
        out,
        r#"<rect x="{x:.1}" y="{:.1}" width="{:.2}" height="{height:.1}" class="s{class}"/>"#,
        *y,
        (width - 0.5).max(0.5),
    );
}

/// The 53 weeks up to `end` as a calendar: a column a week (Sunday on top), each day's
/// shade one of five steps of its cost against the year's costliest day.
pub fn year(days: &[(Date, f64)], end: Date, label: &str) -> String {
    const CELL: f64 = 11.0;
    const STEP: f64 = 13.0;
    let first = end.saturating_sub(364.days());
    // The calendar starts on the Sunday on or before the first day.
    let offset = i64::from(first.weekday().to_sunday_zero_offset());
    let start = first.saturating_sub(offset.days());
    let max = days.iter().map(|d| d.1).fold(0.0, f64::max);
    let width = 54.0 * STEP;
    let height = 7.0 * STEP + 14.0;
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg class="year" viewBox="0 0 {width} {height}" role="img" aria-label="{}"><title>{}</title>"#,
        escape(label),
        escape(label)
    );
    let mut costs = days.iter().peekable();
    let mut day = start;
    let mut index = 0i64;
    while day <= end {
        let cost = loop {
            match costs.peek() {
                Some((d, _)) if *d < day => {
                    costs.next();
                }
                Some((d, c)) if *d == day => break *c,
                _ => break 0.0,
            }
        };
        let (week, weekday) = (index / 7, index % 7);
        if day >= first {
            let level = match cost {
                c if c <= 0.0 || max <= 0.0 => 0,
                c => 1 + ((c / max) * 3.999) as usize,
            };
            let _ = write!(
                out,
                r#"<rect x="{}" y="{}" width="{CELL}" height="{CELL}" class="l{level}"><title>{day}: {}</title></rect>"#,
                week as f64 * STEP,
                weekday as f64 * STEP,
                crate::render::dollars(cost)
            );
        }
        if day.day() == 1 {
            let _ = write!(
                out,
                r#"<text x="{}" y="{}" class="tick">{}</text>"#,
                week as f64 * STEP,
                height - 2.0,
                day.strftime("%b")
            );
        }
        day = day.saturating_add(1.days());
        index += 1;
    }
    out.push_str("</svg>");
    out
}

/// Responses per quarter hour over a session's life, as bars placed by time.
pub fn timeline(points: &[(i64, u64, f64)], label: &str) -> String {
    let mut out = String::new();
    let plot_h = HEIGHT - BOTTOM;
    let max = points.iter().map(|p| p.1).max().unwrap_or(0) as f64;
    let _ = write!(
        out,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{}"><title>{}</title>"#,
        escape(label),
        escape(label)
    );
    let _ = write!(
        out,
        r#"<line class="axis" x1="{LEFT}" x2="{WIDTH}" y1="{plot_h}" y2="{plot_h}"/><text x="{}" y="10" class="tick" text-anchor="end">{max}</text>"#,
        LEFT - 4.0
    );
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        out.push_str("</svg>");
        return out;
    };
    const QUARTER_MS: i64 = 15 * 60_000;
    let span = (last.0 - first.0 + QUARTER_MS) as f64;
    let plot_w = WIDTH - LEFT;
    let bar = (plot_w * QUARTER_MS as f64 / span).max(1.0);
    for &(at_ms, requests, cost) in points {
        let x = LEFT + (at_ms - first.0) as f64 / span * plot_w;
        let h = if max > 0.0 {
            requests as f64 / max * plot_h
        } else {
            0.0
        };
        let _ = write!(
            out,
            r#"<rect x="{x:.1}" y="{:.1}" width="{:.2}" height="{h:.1}" class="s0"><title>{}: {requests} responses, {}</title></rect>"#,
            plot_h - h,
            (bar - 0.5).max(0.5),
            crate::render::iso(at_ms),
            crate::render::dollars(cost)
        );
    }
    out.push_str("</svg>");
    out
}
