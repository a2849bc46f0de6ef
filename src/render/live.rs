//! Draws `cco-stats live`'s screen from its model: a pure function of the model, the
//! frame's size and whether to colour, so it is tested on ratatui's `TestBackend`.
//! Narrow screens (down to 60×20, `MIN_SIZE`; below it the view says it needs more) stack
//! the session and model tables; wide ones put them side by side. The 12-hour chart
//! spans the panel's width over an hour axis. Names from data (models, projects, sessions, the last pass's summary)
//! are shown through `visible`, as in every other view, rather than left to ratatui,
//! which drops control characters but draws bidi overrides.

use jiff::tz::TimeZone;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Row, Sparkline, Table};

use crate::render::statusline::duration;
use crate::render::{dollars, short_model, thousands};
use crate::report::live::{LimitSource, Live, SPARK_BUCKET_MS};
use crate::visible;

/// `1234` → `1.2k`, `1834567` → `1.8M`: tokens where a column is short.
pub fn compact(n: u64) -> String {
    match n {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => format!("{:.1}k", n as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1}M", n as f64 / 1e6),
        _ => format!("{:.1}B", n as f64 / 1e9),
    }
}

struct Palette {
    color: bool,
}

impl Palette {
    fn fg(&self, color: Color) -> Style {
        if self.color {
            Style::default().fg(color)
        } else {
            Style::default()
        }
    }
    fn title(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }
    fn level(&self, percent: f64) -> Style {
        self.fg(if percent >= 100.0 {
            Color::Red
        } else if percent >= 80.0 {
            Color::Yellow
        } else {
            Color::Green
        })
    }
}

/// A model id as tables show it: shortened, through `visible`.
fn shown_model(model: &str) -> String {
    visible::text(&short_model(model)).into_owned()
}

/// The smallest screen the view is drawn on (columns, rows): below it, it says so.
pub const MIN_SIZE: (u16, u16) = (60, 20);

pub fn draw(frame: &mut Frame<'_>, live: &Live, color: bool) {
    let palette = Palette { color };
    let area = frame.area();
    if area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 {
        draw_too_small(frame, area);
        return;
    }
    let warning = live.past_limit();
    let windows = live.quota.len().min(MAX_WINDOWS) as u16;
    let [
        title,
        today,
        gauge,
        burn,
        quota,
        alert,
        spark,
        tables,
        footer,
    ] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(windows),
        Constraint::Length(u16::from(warning)),
        // Bars over an hour axis, in a frame.
        Constraint::Length(if area.height >= 40 { 9 } else { 5 }),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area);

    draw_title(frame, live, &palette, title);
    draw_today(frame, live, &palette, today);
    draw_block(frame, live, &palette, gauge, burn);
    draw_quota(frame, live, &palette, quota);
    if warning {
        frame.render_widget(
            Paragraph::new("⚠ the block is projected to pass its token limit")
                .style(palette.fg(Color::Red).add_modifier(Modifier::BOLD)),
            alert,
        );
    }
    draw_spark(frame, live, &palette, spark);
    let [sessions, models] = if tables.width >= 100 {
        Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(tables)
    } else {
        Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(tables)
    };
    draw_sessions(frame, live, &palette, sessions);
    draw_models(frame, live, &palette, models);
    let pass = visible::text(live.last_pass.as_deref().unwrap_or("reading…"));
    frame.render_widget(
        Paragraph::new(format!("q quit · r refresh · {pass}")).style(palette.fg(Color::DarkGray)),
        footer,
    );
}

/// In place of panels that would be cut off: what size the view needs.
fn draw_too_small(frame: &mut Frame<'_>, area: Rect) {
    let (width, height) = MIN_SIZE;
    let text = vec![
        Line::from(format!("terminal too small (need {width}×{height})")),
        Line::from(format!("now {}×{} · q quits", area.width, area.height)),
    ];
    let [_, middle, _] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(2),
        Constraint::Fill(1),
    ])
    .areas(area);
    frame.render_widget(
        Paragraph::new(text)
            .alignment(ratatui::layout::Alignment::Center)
            .wrap(ratatui::widgets::Wrap { trim: true }),
        middle,
    );
}

/// The name and the time in the view's zone.
fn draw_title(frame: &mut Frame<'_>, live: &Live, palette: &Palette, area: Rect) {
    let now = jiff::Timestamp::from_millisecond(live.now_ms).unwrap_or_default();
    let clock = now.strftime("%Y-%m-%d %H:%M UTC").to_string();
    // Through calendar::zone, which reads the zone's file instead of listing jiff's database.
    let zone_time = crate::model::calendar::zone(Some(&live.zone_name))
        .map(|tz| {
            now.to_zoned_datetime(tz)
                .strftime("%Y-%m-%d %H:%M")
                .to_string()
        })
        .map(|t| format!("{t} {}", visible::text(&live.zone_name)))
        .unwrap_or(clock);
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled("cco-stats live", palette.title()),
            Span::raw(format!(" · {zone_time}")),
        ])),
        area,
    );
}

/// Today's tokens, cost and models.
fn draw_today(frame: &mut Frame<'_>, live: &Live, palette: &Palette, area: Rect) {
    let models: Vec<String> = live.today.models.keys().map(|m| shown_model(m)).collect();
    let models = match models.is_empty() {
        true => "no responses yet".to_string(),
        false => models.join(", "),
    };
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled("Today  ", palette.title()),
            Span::raw(format!(
                "{} tokens · {} · {models}",
                thousands(live.today.tokens.total()),
                super::cost_text(&live.today),
            )),
        ])),
        area,
    );
}

/// Tokens per quarter hour, as many of the last ones as the width holds (all 48 from 48
/// columns), stretched across the panel, over an axis of the hours in the view's zone.
fn draw_spark(frame: &mut Frame<'_>, live: &Live, palette: &Palette, area: Rect) {
    let peak = live.spark.iter().copied().max().unwrap_or(0);
    let width = area.width.saturating_sub(2) as usize;
    let shown = width.min(live.spark.len());
    let hours = shown as f64 * 0.25;
    let block = Block::default().borders(Borders::ALL).title(format!(
        "Last {hours:.1} h, tokens per 15 min (peak {})",
        compact(peak)
    ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if shown == 0 || inner.height < 2 {
        return;
    }
    let [bars, axis] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
    let buckets = &live.spark[live.spark.len() - shown..];
    // Each quarter hour gets width/shown columns (the remainder spread among them).
    let columns: Vec<u64> = (0..width).map(|x| buckets[x * shown / width]).collect();
    frame.render_widget(
        Sparkline::default()
            .data(&columns)
            .max(peak.max(1))
            .style(palette.fg(Color::Cyan)),
        bars,
    );
    let first_ms = (live.now_ms.div_euclid(SPARK_BUCKET_MS) - shown as i64 + 1) * SPARK_BUCKET_MS;
    frame.render_widget(
        Paragraph::new(hour_axis(first_ms, shown, width, &view_zone(live)))
            .style(palette.fg(Color::DarkGray)),
        axis,
    );
}

/// A line `width` columns wide under `shown` quarter hours from `first_ms`: each hour's
/// start in `zone` labelled (`14`) at its column, unless it would touch the label before.
fn hour_axis(first_ms: i64, shown: usize, width: usize, zone: &TimeZone) -> String {
    let mut line = String::new();
    for bucket in 0..shown {
        let at = jiff::Timestamp::from_millisecond(first_ms + bucket as i64 * SPARK_BUCKET_MS)
            .unwrap_or_default()
            .to_zoned_datetime(zone.clone());
        let column = (bucket * width).div_ceil(shown);
        let room = line.chars().count() + usize::from(!line.is_empty());
        if at.minute() != 0 || column < room || column + 2 > width {
            continue;
        }
        line.push_str(&" ".repeat(column - line.chars().count()));
        line.push_str(&format!("{:02}", at.hour()));
    }
    line
}

/// The zone the view counts today in (through `calendar::zone`, which reads the zone's
/// file instead of listing jiff's database); UTC if it cannot be read.
fn view_zone(live: &Live) -> TimeZone {
    crate::model::calendar::zone(Some(&live.zone_name)).unwrap_or(TimeZone::UTC)
}

fn draw_block(frame: &mut Frame<'_>, live: &Live, palette: &Palette, gauge: Rect, burn: Rect) {
    let [label, bar, figures] = gauge_row(gauge);
    frame.render_widget(
        Paragraph::new(Span::styled("Block", palette.title())),
        label,
    );
    let Some(active) = &live.block else {
        frame.render_widget(Paragraph::new("no active block"), bar.union(figures));
        frame.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled("Burn   ", palette.title()),
                Span::raw("—"),
            ])),
            burn,
        );
        return;
    };
    let used = active.block.usage.tokens.total();
    let left = duration((active.block.end_ms - live.now_ms).max(0));
    let cost = super::cost_text(&active.block.usage);
    match live.estimated_limit() {
        Some((limit, source)) if limit > 0 => {
            let percent = used as f64 * 100.0 / limit as f64;
            let source = match source {
                LimitSource::Given => "",
                LimitSource::Max => " max",
                LimitSource::P90 => " p90",
            };
            let ratio = used as f64 / limit as f64;
            frame.render_widget(
                Paragraph::new(bar_text(ratio, bar.width)).style(palette.level(percent)),
                bar,
            );
            let text = format!(
                "{cost} {percent:.0}% of {}{source} · {left} left",
                compact(limit)
            );
            frame.render_widget(Paragraph::new(text), figures);
        }
        // No limit to fill a bar against: the figures alone, where the bar would be.
        _ => {
            let text = match live.limit {
                // Claude Code's own 5-hour figure is drawn below instead of the guess.
                Some(_) => format!("{cost} {} tokens · {left} left", compact(used)),
                None => format!("{cost} {} tokens · {left} left (no limit)", compact(used)),
            };
            frame.render_widget(Paragraph::new(text), bar.union(figures));
        }
    }
    let rate = match (active.burn, active.projection) {
        (Some(rate), Some(p)) => format!(
            "{} tok/min · {}/h · → {}, {} at end",
            thousands(rate.tokens_per_minute.round() as u64),
            dollars(rate.cost_per_hour),
            compact(p.total_tokens),
            dollars(p.total_cost)
        ),
        _ => "under a minute of activity".to_string(),
    };
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled("Burn   ", palette.title()),
            Span::raw(rate),
        ])),
        burn,
    );
}

/// A gauge's row: its name, the bar, and its figures beside the bar, never inside it,
/// where the fill would run into them (and the pace marker would hide some).
fn gauge_row(row: Rect) -> [Rect; 3] {
    let bar_width = (row.width.saturating_sub(8) / 4).clamp(10, 30);
    let [label, bar, _, figures] = Layout::horizontal([
        Constraint::Length(7),
        Constraint::Length(bar_width),
        Constraint::Length(1),
        Constraint::Min(10),
    ])
    .areas(row);
    [label, bar, figures]
}

/// A bar `width` columns wide filled to `ratio`, to an eighth of a column; the rest
/// shaded, so that its length shows without colour. (ratatui's `Gauge` leaves a hole
/// where its label would be, even an empty one.)
fn bar_text(ratio: f64, width: u16) -> String {
    const PARTS: [char; 7] = ['▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    let width = usize::from(width);
    let eighths = (ratio.clamp(0.0, 1.0) * width as f64 * 8.0).round() as usize;
    let (full, part) = (eighths / 8, eighths % 8);
    let mut text = "█".repeat(full);
    if let Some(&c) = part.checked_sub(1).and_then(|at| PARTS.get(at)) {
        text.push(c);
    }
    let drawn = text.chars().count();
    text + &"░".repeat(width - drawn)
}

/// The most quota windows drawn: two agents' 5-hour and weekly ones.
const MAX_WINDOWS: usize = 4;

/// A gauge per official quota window, its pace marker (`│`) where the use would be if
/// spread evenly over the window, and its reset, pace and forecast.
fn draw_quota(frame: &mut Frame<'_>, live: &Live, palette: &Palette, area: Rect) {
    let rows = Layout::vertical(vec![Constraint::Length(1); area.height as usize]).split(area);
    for (w, row) in live.quota.iter().zip(rows.iter()) {
        let Some(used) = w.used_percent else { continue };
        let [label, bar, figures] = gauge_row(*row);
        let name = match w.window.as_str() {
            "five_hour" => "5h".to_string(),
            "seven_day" => "7d".to_string(),
            other => visible::text(other).into_owned(),
        };
        frame.render_widget(Paragraph::new(Span::styled(name, palette.title())), label);
        let mut text = format!("{} {used:.0}%", w.agent.name());
        if let Some(resets) = w.resets_at_ms {
            text.push_str(&format!(
                " · {} left",
                duration((resets - live.now_ms).max(0))
            ));
        }
        if let Some(pace) = w.pace_percent {
            text.push_str(&format!(" · pace {pace:.0}%"));
        }
        if let Some(full) = w.forecast_full_ms {
            text.push_str(&format!(
                " · full in {}",
                duration((full - live.now_ms).max(0))
            ));
        }
        frame.render_widget(
            Paragraph::new(bar_text(used / 100.0, bar.width)).style(palette.level(used)),
            bar,
        );
        frame.render_widget(Paragraph::new(text), figures);
        if let Some(elapsed) = w.elapsed_percent {
            let x =
                bar.x + ((elapsed / 100.0) * f64::from(bar.width.saturating_sub(1))).round() as u16;
            let marker = Rect { x, width: 1, ..bar };
            frame.render_widget(Paragraph::new("│").style(palette.fg(Color::White)), marker);
        }
    }
}

fn draw_sessions(frame: &mut Frame<'_>, live: &Live, palette: &Palette, area: Rect) {
    let rows: Vec<Row> = live
        .sessions
        .iter()
        .take(area.height.saturating_sub(3) as usize)
        .map(|s| {
            let id: String = s.session_id.chars().take(8).collect();
            let project = s.project.rsplit('-').find(|p| !p.is_empty()).unwrap_or("");
            Row::new(vec![
                visible::text(&id).into_owned(),
                visible::text(project).into_owned(),
                compact(s.usage.tokens.total()),
                super::cost_text(&s.usage),
            ])
        })
        .collect();
    let table = Table::new(
        rows,
        [
            Constraint::Length(8),
            Constraint::Min(6),
            Constraint::Length(7),
            Constraint::Length(9),
        ],
    )
    .header(Row::new(vec!["session", "project", "tokens", "cost"]).style(palette.title()))
    .block(
        Block::default()
            .borders(Borders::ALL)
            .title("Sessions active today"),
    );
    frame.render_widget(table, area);
}

fn draw_models(frame: &mut Frame<'_>, live: &Live, palette: &Palette, area: Rect) {
    let rows: Vec<Row> = live
        .today
        .breakdown()
        .into_iter()
        .take(area.height.saturating_sub(3) as usize)
        .map(|(model, m)| {
            let cost = if m.unpriced && m.cost == 0.0 {
                "no price".to_string()
            } else {
                dollars(m.cost)
            };
            Row::new(vec![shown_model(model), compact(m.tokens.total()), cost])
        })
        .collect();
    let table = Table::new(
        rows,
        [
            Constraint::Min(10),
            Constraint::Length(7),
            Constraint::Length(9),
        ],
    )
    .header(Row::new(vec!["model", "tokens", "cost"]).style(palette.title()))
    .block(Block::default().borders(Borders::ALL).title("Models today"));
    frame.render_widget(table, area);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_fill_to_an_eighth_and_shade_the_rest() {
        assert_eq!(bar_text(0.0, 4), "░░░░");
        assert_eq!(bar_text(0.5, 4), "██░░");
        assert_eq!(bar_text(0.53, 4), "██▏░");
        assert_eq!(bar_text(7.0, 4), "████");
    }

    #[test]
    fn compact_tokens() {
        assert_eq!(compact(999), "999");
        assert_eq!(compact(1_234), "1.2k");
        assert_eq!(compact(1_834_567), "1.8M");
    }
}
