//! The quota report's model (`cco-stats limits`, and what the status line, `live`,
//! `metrics` and the alerts read of it): per agent and window, the official use the
//! agent last reported, its pace and forecast, and the history of past windows.
//!
//! What is official and what is not: `used_percent`, `resets_at_ms` and `seen_ms` (and
//! each past window's `peak_percent` and `hit`) are the agent's own figures, recorded by
//! `ledger::quota`. The tokens and cost spent in a window are the ledger's; the pace is
//! arithmetic on the official figures; the forecast projects the ledger's recent burn
//! through the calibration the official percent gives (tokens and dollars per 1 %).
//! Where an agent has no official figure at all (API users, no status-line call yet),
//! `estimate` stands in: the 5-hour block's tokens against the most a finished block
//! used (`blocks --token-limit max`), marked `Source::Estimate`.
//!
//! The interface other parts build on (`Window`, `Past`, `Source`, `build`,
//! `estimate`) stays stable: add fields, do not change these.

use anyhow::Result;

use crate::ledger::quota::WindowSamples;
use crate::model::{Agent, window_minutes};
use crate::report::blocks::Block;

const MINUTE_MS: i64 = 60_000;

/// The burn a forecast projects is measured over the last fifth of the window: the last
/// hour of a 5-hour window, the last 33.6 hours of a week (an hour's burn, projected over
/// days, would forecast every busy hour full).
const BURN_SHARE: i64 = 5;

/// The span of a window of `length_ms` (an hour where the length is unknown), at most
/// what has elapsed of it, that its burn is measured over.
pub fn burn_span_ms(length_ms: Option<i64>, elapsed_ms: i64) -> i64 {
    length_ms
        .map_or(3_600_000, |l| l / BURN_SHARE)
        .min(elapsed_ms)
}

/// Whose figure a window's use is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Reported by the agent itself (Claude Code's status-line input, Codex's events).
    Official,
    /// Computed from the ledger's tokens against a limit guessed from history.
    Estimate,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::Official => "official",
            Source::Estimate => "estimate",
        }
    }
}

/// Tokens and cost the ledger holds for a span of time.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Spent {
    pub tokens: u64,
    pub cost: f64,
}

/// One agent's window now (the one not reset yet), with its history.
#[derive(Clone, Debug, PartialEq)]
pub struct Window {
    pub agent: Agent,
    /// `five_hour`, `seven_day`, or the agent's own name for it.
    pub window: String,
    pub source: Source,
    /// The latest use, 0..100 (more when an agent lets use run over). `None`: the last
    /// window reported has reset and no sample of the new one came yet.
    pub used_percent: Option<f64>,
    pub resets_at_ms: Option<i64>,
    /// When the agent last said so.
    pub seen_ms: Option<i64>,
    /// The window's length, where known.
    pub length_ms: Option<i64>,
    /// The share of the window elapsed at `now`, 0..100 (the pace marker).
    pub elapsed_percent: Option<f64>,
    /// The use against the share elapsed, in percent: 100 is the pace that reaches the
    /// limit exactly at the reset, above it runs out before.
    pub pace_percent: Option<f64>,
    /// When the use reaches 100 % at the recent burn (`burn_span_ms`); `None` when
    /// not before the reset (or nothing to project from).
    pub forecast_full_ms: Option<i64>,
    /// The ledger's tokens and cost in the window so far.
    pub spent: Spent,
    pub tokens_per_percent: Option<f64>,
    pub cost_per_percent: Option<f64>,
    /// The windows of the same agent and name that have reset, the latest first.
    pub history: Vec<Past>,
}

/// A window that has reset.
#[derive(Clone, Debug, PartialEq)]
pub struct Past {
    pub resets_at_ms: i64,
    pub length_ms: Option<i64>,
    pub peak_percent: f64,
    /// The limit was reached: a sample at 100 % or more, or a limit-hit line.
    pub hit: bool,
    pub spent: Spent,
}

/// The model from the samples of `ledger::quota::windows` (oldest reset first).
/// `spent(agent, from_ms, until_ms)` gives the ledger's usage of a span.
pub fn build(
    samples: &[WindowSamples],
    spent: &mut dyn FnMut(Agent, i64, i64) -> Result<Spent>,
    now_ms: i64,
) -> Result<Vec<Window>> {
    let mut out: Vec<Window> = Vec::new();
    for s in samples {
        let length_ms = s
            .window_minutes
            .or_else(|| window_minutes(&s.window))
            .map(|m| m * MINUTE_MS);
        let index = match out
            .iter()
            .position(|w| w.agent == s.agent && w.window == s.window)
        {
            Some(i) => i,
            None => {
                out.push(empty(s.agent, &s.window, length_ms));
                out.len() - 1
            }
        };
        let window = &mut out[index];
        let start_ms = length_ms.map_or(s.resets_at_ms, |l| s.resets_at_ms - l);
        if s.resets_at_ms <= now_ms {
            let used = spent(s.agent, start_ms, s.resets_at_ms)?;
            window.history.insert(
                0,
                Past {
                    resets_at_ms: s.resets_at_ms,
                    length_ms,
                    peak_percent: s.peak_percent,
                    hit: s.hit || s.peak_percent >= 100.0,
                    spent: used,
                },
            );
            continue;
        }
        // Two windows not reset yet (a reset moved): the one seen last is current.
        if window.seen_ms.is_some_and(|seen| seen > s.last_seen_ms) {
            continue;
        }
        let used = spent(s.agent, start_ms, now_ms)?;
        let span_ms = burn_span_ms(length_ms, now_ms - start_ms);
        let recent = spent(s.agent, now_ms - span_ms, now_ms)?;
        window.used_percent = Some(s.latest_percent);
        window.resets_at_ms = Some(s.resets_at_ms);
        window.seen_ms = Some(s.last_seen_ms);
        window.length_ms = length_ms;
        window.spent = used;
        project(window, recent, now_ms);
    }
    Ok(out)
}

fn empty(agent: Agent, name: &str, length_ms: Option<i64>) -> Window {
    Window {
        agent,
        window: name.to_string(),
        source: Source::Official,
        used_percent: None,
        resets_at_ms: None,
        seen_ms: None,
        length_ms,
        elapsed_percent: None,
        pace_percent: None,
        forecast_full_ms: None,
        spent: Spent::default(),
        tokens_per_percent: None,
        cost_per_percent: None,
        history: Vec::new(),
    }
}

/// Pace, calibration and forecast of a window whose use, reset and spending are set;
/// `recent`: what the last `burn_span_ms` of it spent.
fn project(window: &mut Window, recent: Spent, now_ms: i64) {
    let (Some(used), Some(resets_at_ms)) = (window.used_percent, window.resets_at_ms) else {
        return;
    };
    if let Some(length_ms) = window.length_ms.filter(|l| *l > 0) {
        let elapsed_ms = (now_ms - (resets_at_ms - length_ms)).clamp(0, length_ms);
        let elapsed = elapsed_ms as f64 * 100.0 / length_ms as f64;
        window.elapsed_percent = Some(elapsed);
        window.pace_percent = (elapsed > 0.0).then(|| used * 100.0 / elapsed);
    }
    if used <= 0.0 || window.spent.tokens == 0 {
        return;
    }
    let tokens_per_percent = window.spent.tokens as f64 / used;
    window.tokens_per_percent = Some(tokens_per_percent);
    window.cost_per_percent = Some(window.spent.cost / used);
    if used >= 100.0 {
        window.forecast_full_ms = Some(window.seen_ms.unwrap_or(now_ms).min(now_ms));
        return;
    }
    let elapsed_ms = window
        .length_ms
        .map_or(i64::MAX, |l| now_ms - (resets_at_ms - l));
    let span_ms = burn_span_ms(window.length_ms, elapsed_ms);
    if recent.tokens == 0 || span_ms <= 0 {
        return;
    }
    let percent_per_ms = recent.tokens as f64 / tokens_per_percent / span_ms as f64;
    let full_ms = now_ms + ((100.0 - used) / percent_per_ms).round() as i64;
    window.forecast_full_ms = (full_ms < resets_at_ms).then_some(full_ms);
}

/// The estimate for an agent with no official figure: the active 5-hour block's tokens
/// against `limit_tokens` (the most a finished block used), as `blocks` guesses.
pub fn estimate(agent: Agent, block: &Block, limit_tokens: u64, now_ms: i64) -> Option<Window> {
    if limit_tokens == 0 {
        return None;
    }
    let length_ms = block.end_ms - block.start_ms;
    let mut window = empty(agent, "five_hour", Some(length_ms));
    window.source = Source::Estimate;
    window.used_percent = Some(block.usage.tokens.total() as f64 * 100.0 / limit_tokens as f64);
    window.resets_at_ms = Some(block.end_ms);
    window.seen_ms = Some(now_ms);
    window.spent = Spent {
        tokens: block.usage.tokens.total(),
        cost: block.usage.cost,
    };
    // The block's burn over the span `project` measures it on.
    let span_ms = burn_span_ms(Some(length_ms), now_ms - block.start_ms);
    let recent = Spent {
        tokens: block.burn_rate().map_or(0, |r| {
            (r.tokens_per_minute * span_ms as f64 / MINUTE_MS as f64) as u64
        }),
        cost: 0.0,
    };
    project(&mut window, recent, now_ms);
    Some(window)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    fn sample(resets_at_ms: i64, peak: f64, latest: f64, seen: i64) -> WindowSamples {
        WindowSamples {
            agent: Agent::Claude,
            window: "five_hour".into(),
            window_minutes: None,
            resets_at_ms,
            peak_percent: peak,
            latest_percent: latest,
            last_seen_ms: seen,
            hit: false,
        }
    }

    /// 1,000 tokens per hour, $1 per hour, from 0 on.
    fn steady(_: Agent, from: i64, until: i64) -> Result<Spent> {
        let hours = (until - from) as f64 / HOUR as f64;
        Ok(Spent {
            tokens: (hours * 1000.0) as u64,
            cost: hours,
        })
    }

    #[test]
    fn a_steady_burn_is_forecast_and_paced() {
        // Window 0..5h, now 2h in, 40 % used: 2,000 tokens, 50 per 1 %, 20 % an hour.
        let windows = build(
            &[sample(5 * HOUR, 40.0, 40.0, 2 * HOUR)],
            &mut steady,
            2 * HOUR,
        )
        .unwrap();
        let w = &windows[0];
        assert_eq!(w.elapsed_percent, Some(40.0));
        assert_eq!(w.pace_percent, Some(100.0));
        assert_eq!(w.tokens_per_percent, Some(50.0));
        assert_eq!(w.cost_per_percent, Some(0.05));
        // 60 % more at 20 % an hour: 3 h from now, at the reset, so not before it.
        assert_eq!(w.forecast_full_ms, None);
        let ahead = build(
            &[sample(5 * HOUR, 60.0, 60.0, 2 * HOUR)],
            &mut steady,
            2 * HOUR,
        )
        .unwrap();
        // 2,000 tokens for 60 %: 33.3 per 1 %, 30 % an hour: 40 % more in 80 minutes.
        assert_eq!(ahead[0].forecast_full_ms, Some(2 * HOUR + 80 * 60_000));
    }

    #[test]
    fn past_windows_go_to_the_history_latest_first() {
        let samples = [
            sample(5 * HOUR, 100.0, 90.0, 4 * HOUR),
            sample(10 * HOUR, 30.0, 30.0, 9 * HOUR),
            sample(15 * HOUR, 5.0, 5.0, 11 * HOUR),
        ];
        let windows = build(&samples, &mut steady, 11 * HOUR).unwrap();
        assert_eq!(windows.len(), 1);
        let w = &windows[0];
        assert_eq!(w.used_percent, Some(5.0));
        let resets: Vec<_> = w
            .history
            .iter()
            .map(|p| (p.resets_at_ms / HOUR, p.hit))
            .collect();
        assert_eq!(resets, [(10, false), (5, true)]);
        assert_eq!(w.history[0].spent.tokens, 5000);
    }

    #[test]
    fn a_window_reset_without_a_new_sample_has_no_use() {
        let windows = build(
            &[sample(5 * HOUR, 50.0, 50.0, 4 * HOUR)],
            &mut steady,
            6 * HOUR,
        )
        .unwrap();
        assert_eq!(windows[0].used_percent, None);
        assert_eq!(windows[0].history.len(), 1);
    }
}
