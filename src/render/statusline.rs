//! The status line's text: a pure function of its figures, the fields asked for and the
//! moment. One line, never empty; ANSI colours unless asked not to (Claude Code draws
//! them, and its stdout is a pipe, so a terminal test would always say no). Text from
//! Claude Code's stdin and from errors (the model's name, paths) is shown through
//! `visible`: only our own colours reach the terminal as codes.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::render::dollars;
use crate::report::statusline::{Cost, Figures, Freshness, Unread};
use crate::visible;

/// What the line can show, in the order `--format` lists them (described for the
/// command line in `cli.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Model,
    Session,
    Today,
    Block,
    Burn,
    Context,
    Limits,
}

pub const DEFAULT_FIELDS: &str = "model,session,today,block,burn,context,limits";

/// Whose session cost the line shows, as ccusage's `--cost-source` (described for the
/// command line in `cli.rs`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CostSource {
    #[default]
    Ledger,
    Claude,
    Both,
}

/// How the line is drawn.
#[derive(Clone, Debug)]
pub struct LineStyle<'a> {
    pub fields: &'a [Field],
    pub cost_source: CostSource,
    pub color: bool,
    pub zone: &'a TimeZone,
}

const SEPARATOR: &str = " · ";

struct Paint(bool);

impl Paint {
    fn wrap(&self, style: anstyle::Style, text: &str) -> String {
        match self.0 {
            true => format!("{}{text}{}", style.render(), style.render_reset()),
            false => text.to_string(),
        }
    }
    fn fg(&self, color: anstyle::AnsiColor, text: &str) -> String {
        self.wrap(anstyle::Style::new().fg_color(Some(color.into())), text)
    }
    fn bold(&self, text: &str) -> String {
        self.wrap(anstyle::Style::new().bold(), text)
    }
    fn green(&self, text: &str) -> String {
        self.fg(anstyle::AnsiColor::Green, text)
    }
    fn yellow(&self, text: &str) -> String {
        self.fg(anstyle::AnsiColor::Yellow, text)
    }
    fn red(&self, text: &str) -> String {
        self.fg(anstyle::AnsiColor::Red, text)
    }
    fn dim(&self, text: &str) -> String {
        self.wrap(anstyle::Style::new().dimmed(), text)
    }
    /// Green, yellow past 60 %, red past 80 %.
    fn level(&self, percent: f64, text: &str) -> String {
        if percent >= 80.0 {
            self.red(text)
        } else if percent >= 60.0 {
            self.yellow(text)
        } else {
            self.green(text)
        }
    }
}

/// The line, without a trailing newline. Never empty: with nothing to show it still says
/// what it is.
pub fn line(figures: &Figures, style: &LineStyle<'_>, now_ms: i64) -> String {
    let paint = Paint(style.color);
    let mut parts: Vec<String> = Vec::new();
    if let Some(problem) = &figures.input_problem {
        parts.push(paint.yellow(&format!("cco-stats: {}", visible::text(problem))));
    }
    for field in style.fields {
        if let Some(part) = field_text(*field, figures, style, &paint, now_ms) {
            parts.push(part);
        }
    }
    match &figures.unread {
        Some(Unread::Failed(reason)) => {
            parts.push(paint.red(&format!("⚠ {}", visible::text(reason))))
        }
        Some(Unread::Busy) | None => {}
    }
    match figures.freshness {
        Freshness::Current => {}
        Freshness::Behind { age_ms } => {
            parts.push(paint.yellow(&format!("others as of {} ago", duration(age_ms.max(0)))))
        }
        Freshness::NeverRead => parts.push(paint.yellow("others unread: run cco-stats watch")),
    }
    if parts.is_empty() {
        return "cco-stats".to_string();
    }
    parts.join(&paint.dim(SEPARATOR))
}

fn field_text(
    field: Field,
    f: &Figures,
    style: &LineStyle<'_>,
    paint: &Paint,
    now_ms: i64,
) -> Option<String> {
    Some(match field {
        Field::Model => paint.bold(&visible::text(f.model.as_deref()?)),
        Field::Session => {
            let ledger = f.session.unwrap_or_default();
            match (style.cost_source, f.claude_session_usd) {
                (CostSource::Claude, Some(claude)) => {
                    format!("{} session", paint.green(&dollars(claude)))
                }
                (CostSource::Both, Some(claude)) => format!(
                    "{} session ({} Claude Code)",
                    paint.green(&cost(ledger)),
                    dollars(claude)
                ),
                _ => format!("{} session", paint.green(&cost(ledger))),
            }
        }
        Field::Today => format!("{} today", paint.green(&cost(f.today))),
        Field::Block => match &f.block {
            Some(block) => format!(
                "{} block, {} left",
                paint.green(&cost(block.cost)),
                duration((block.end_ms - now_ms).max(0))
            ),
            None => paint.dim("no active block"),
        },
        Field::Burn => {
            let rate = f.block.as_ref()?.cost_per_hour?;
            paint.yellow(&format!("{}/h", dollars(rate)))
        }
        Field::Context => {
            let c = f.context?;
            paint.level(c.percent, &format!("ctx {:.0}%", c.percent))
        }
        Field::Limits => {
            let w = f.five_hour?;
            let used = paint.level(w.used_percent, &format!("5h {:.0}%", w.used_percent));
            match w.resets_at.and_then(|s| Timestamp::from_second(s).ok()) {
                Some(at) => {
                    let local = at.to_zoned_datetime(style.zone.clone());
                    format!("{used}, resets {}", local.strftime("%H:%M"))
                }
                None => used,
            }
        }
    })
}

fn cost(c: Cost) -> String {
    if c.unpriced {
        format!("{}+?", dollars(c.usd))
    } else {
        dollars(c.usd)
    }
}

/// `2h 15m`, `45m`, `3d 4h`: minutes rounded down, at most two units.
pub fn duration(ms: i64) -> String {
    let minutes = ms / 60_000;
    let (days, hours, mins) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    if days > 0 {
        format!("{days}d {hours}h")
    } else if hours > 0 {
        format!("{hours}h {mins}m")
    } else {
        format!("{mins}m")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::statusline::{ActiveBlock, ContextUse, RateWindow};

    fn figures() -> Figures {
        Figures {
            model: Some("Opus 4.5".into()),
            session: Some(Cost {
                usd: 0.42,
                unpriced: false,
            }),
            claude_session_usd: Some(0.4),
            today: Cost {
                usd: 6.1,
                unpriced: false,
            },
            block: Some(ActiveBlock {
                cost: Cost {
                    usd: 2.3,
                    unpriced: false,
                },
                end_ms: 3_600_000 * 3,
                cost_per_hour: Some(1.2),
            }),
            context: Some(ContextUse {
                percent: 41.2,
                tokens: None,
            }),
            five_hour: Some(RateWindow {
                used_percent: 37.0,
                resets_at: Some(3 * 3600),
            }),
            freshness: Freshness::Current,
            unread: None,
            input_problem: None,
        }
    }

    fn all_fields() -> Vec<Field> {
        vec![
            Field::Model,
            Field::Session,
            Field::Today,
            Field::Block,
            Field::Burn,
            Field::Context,
            Field::Limits,
        ]
    }

    fn plain(f: &Figures, fields: &[Field], source: CostSource) -> String {
        let style = LineStyle {
            fields,
            cost_source: source,
            color: false,
            zone: &TimeZone::UTC,
        };
        line(f, &style, 3_600_000 * 3 / 4)
    }

    #[test]
    fn every_field_in_order() {
        assert_eq!(
            plain(&figures(), &all_fields(), CostSource::Ledger),
            "Opus 4.5 · $0.42 session · $6.10 today · $2.30 block, 2h 15m left · $1.20/h · ctx 41% · 5h 37%, resets 03:00"
        );
        assert_eq!(
            plain(
                &figures(),
                &[Field::Context, Field::Model],
                CostSource::Ledger
            ),
            "ctx 41% · Opus 4.5"
        );
    }

    #[test]
    fn cost_sources() {
        let f = figures();
        assert_eq!(
            plain(&f, &[Field::Session], CostSource::Claude),
            "$0.40 session"
        );
        assert_eq!(
            plain(&f, &[Field::Session], CostSource::Both),
            "$0.42 session ($0.40 Claude Code)"
        );
        let mut no_claude = f.clone();
        no_claude.claude_session_usd = None;
        assert_eq!(
            plain(&no_claude, &[Field::Session], CostSource::Claude),
            "$0.42 session"
        );
    }

    #[test]
    fn degraded_lines_say_what_they_lack() {
        let mut f = figures();
        f.model = None;
        f.block = None;
        f.context = None;
        f.five_hour = None;
        f.session = None;
        f.freshness = Freshness::Behind {
            age_ms: 2 * 3_600_000 + 5 * 60_000,
        };
        f.today.unpriced = true;
        assert_eq!(
            plain(&f, &all_fields(), CostSource::Ledger),
            "$0.00 session · $6.10+? today · no active block · others as of 2h 5m ago"
        );
        f.input_problem = Some("stdin is not JSON".into());
        f.freshness = Freshness::NeverRead;
        f.unread = Some(Unread::Failed("transcript not found".into()));
        assert_eq!(
            plain(&f, &[Field::Today], CostSource::Ledger),
            "cco-stats: stdin is not JSON · $6.10+? today · ⚠ transcript not found · others unread: run cco-stats watch"
        );
        assert_eq!(plain(&figures(), &[], CostSource::Ledger), "cco-stats");
    }

    #[test]
    fn colour_only_when_asked() {
        let style = LineStyle {
            fields: &[Field::Model],
            cost_source: CostSource::Ledger,
            color: true,
            zone: &TimeZone::UTC,
        };
        assert_eq!(line(&figures(), &style, 0), "\x1b[1mOpus 4.5\x1b[0m");
    }

    #[test]
    fn durations() {
        assert_eq!(duration(59_999), "0m");
        assert_eq!(duration(135 * 60_000), "2h 15m");
        assert_eq!(duration((3 * 1440 + 4 * 60 + 5) * 60_000), "3d 4h");
    }
}
