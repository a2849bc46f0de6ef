//! 5-hour billing blocks, as Claude's limits count them and as ccusage reports them.
//!
//! A block starts at the UTC hour of its first response and lasts `length` (5 h). A
//! response more than `length` after the block's start, or after the previous response,
//! starts a new block; where responses paused for longer than `length`, a gap block
//! stands between the two. The active block (now inside it, and its last response less
//! than `length` ago) gets a burn rate and a projection to its end.

use crate::ledger::query::Group;
use crate::report::pricing::PriceTable;
use crate::report::{CostMode, Pricer, Usage};

const HOUR_MS: i64 = 3_600_000;

#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    pub start_ms: i64,
    pub end_ms: i64,
    /// The last response's time; `None` for a gap.
    pub actual_end_ms: Option<i64>,
    pub first_ms: Option<i64>,
    pub is_gap: bool,
    pub is_active: bool,
    pub entries: u64,
    pub usage: Usage,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BurnRate {
    /// All tokens per minute between the first and the last response.
    pub tokens_per_minute: f64,
    /// Input and output tokens only (what a limit indicator follows).
    pub tokens_per_minute_for_indicator: f64,
    pub cost_per_hour: f64,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Projection {
    pub total_tokens: u64,
    pub total_cost: f64,
    pub remaining_minutes: i64,
}

/// Groups responses (in time order) into blocks and gaps.
pub fn blocks(
    responses: &[Group],
    prices: &PriceTable,
    mode: CostMode,
    length_ms: i64,
    now_ms: i64,
) -> Vec<Block> {
    let mut out: Vec<Block> = Vec::new();
    let mut pricer = Pricer::new(prices, mode);
    for response in responses {
        let ts = response.at_ms;
        let starts_new = match out.iter().rev().find(|b| !b.is_gap) {
            None => true,
            Some(block) => {
                ts - block.start_ms > length_ms
                    || block
                        .actual_end_ms
                        .is_some_and(|last| ts - last > length_ms)
            }
        };
        if starts_new {
            if let Some(last) = out
                .iter()
                .rev()
                .find(|b| !b.is_gap)
                .and_then(|b| b.actual_end_ms)
                && ts - last > length_ms
            {
                out.push(gap(last + length_ms, ts));
            }
            let start_ms = ts.div_euclid(HOUR_MS) * HOUR_MS;
            out.push(Block {
                start_ms,
                end_ms: start_ms + length_ms,
                actual_end_ms: None,
                first_ms: Some(ts),
                is_gap: false,
                is_active: false,
                entries: 0,
                usage: Usage::default(),
            });
        }
        let block = out
            .iter_mut()
            .rev()
            .find(|b| !b.is_gap)
            .expect("a block was just pushed");
        block.entries += response.requests;
        block.actual_end_ms = Some(ts);
        block.usage.add_group(response, pricer.cost(response));
    }
    // A gap can start after the next block does (that block starts at the hour of its
    // first response): blocks are listed by start time.
    out.sort_by_key(|b| b.start_ms);
    if let Some(block) = out.iter_mut().rev().find(|b| !b.is_gap) {
        block.is_active = !block.is_gap
            && now_ms < block.end_ms
            && block
                .actual_end_ms
                .is_some_and(|last| now_ms - last < length_ms);
    }
    out
}

fn gap(start_ms: i64, end_ms: i64) -> Block {
    Block {
        start_ms,
        end_ms,
        actual_end_ms: None,
        first_ms: None,
        is_gap: true,
        is_active: false,
        entries: 0,
        usage: Usage::default(),
    }
}

impl Block {
    /// Spending pace between the block's first and last response (`None` before a minute
    /// has passed between them, or for a gap).
    pub fn burn_rate(&self) -> Option<BurnRate> {
        let minutes = (self.actual_end_ms? - self.first_ms?) as f64 / 60_000.0;
        if minutes <= 0.0 {
            return None;
        }
        let t = &self.usage.tokens;
        Some(BurnRate {
            tokens_per_minute: t.total() as f64 / minutes,
            tokens_per_minute_for_indicator: (t.input + t.output) as f64 / minutes,
            cost_per_hour: self.usage.cost / minutes * 60.0,
        })
    }

    /// Where the block ends up if the burn rate holds until its end.
    pub fn projection(&self, now_ms: i64) -> Option<Projection> {
        let rate = self.burn_rate()?;
        let remaining_minutes = ((self.end_ms - now_ms).max(0) as f64 / 60_000.0).round() as i64;
        Some(Projection {
            total_tokens: (self.usage.tokens.total() as f64
                + rate.tokens_per_minute * remaining_minutes as f64)
                .round() as u64,
            total_cost: self.usage.cost + rate.cost_per_hour / 60.0 * remaining_minutes as f64,
            remaining_minutes,
        })
    }
}

/// Where the responses (in time order) last paused for longer than a block: the index of
/// the response after that pause, which starts a block whatever came before it, so the
/// blocks from it on do not depend on earlier history. `None` when they never paused.
pub fn after_last_pause(responses: &[Group], length_ms: i64) -> Option<usize> {
    (1..responses.len())
        .rev()
        .find(|&i| responses[i].at_ms - responses[i - 1].at_ms > length_ms)
}

/// Where, among responses read from `read_from_ms` on (in time order), the blocks stop
/// depending on what came before: after the last pause longer than a block, or from the
/// first response if it came more than a block after `read_from_ms` (whatever came
/// earlier then paused before it). `None`: reading must start earlier.
pub fn settled_from(responses: &[Group], read_from_ms: i64, length_ms: i64) -> Option<usize> {
    if let Some(i) = after_last_pause(responses, length_ms) {
        return Some(i);
    }
    let first = responses.first()?;
    (first.at_ms - read_from_ms > length_ms).then_some(0)
}

/// `--token-limit p90`: the 90th percentile (nearest rank) of the tokens finished blocks
/// used, as Claude-Code-Usage-Monitor estimates a plan's limit from history.
pub fn p90_tokens(blocks: &[Block]) -> u64 {
    let mut used: Vec<u64> = blocks
        .iter()
        .filter(|b| !b.is_gap && !b.is_active)
        .map(|b| b.usage.tokens.total())
        .collect();
    if used.is_empty() {
        return 0;
    }
    used.sort_unstable();
    let rank = (used.len() as f64 * 0.9).ceil() as usize;
    used[rank.clamp(1, used.len()) - 1]
}

/// `--token-limit max`: the most tokens any finished block used.
pub fn max_tokens(blocks: &[Block]) -> u64 {
    blocks
        .iter()
        .filter(|b| !b.is_gap && !b.is_active)
        .map(|b| b.usage.tokens.total())
        .max()
        .unwrap_or(0)
}

/// How a block's (projected) tokens stand against a limit: ok, warning past 80%, exceeds.
pub fn limit_status(tokens: u64, limit: u64) -> &'static str {
    if limit == 0 {
        "ok"
    } else if tokens > limit {
        "exceeds"
    } else if tokens * 10 > limit * 8 {
        "warning"
    } else {
        "ok"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIVE_H: i64 = 5 * HOUR_MS;

    fn response(at_ms: i64, output: u64) -> Group {
        Group::of_output(at_ms, "claude-sonnet-4-5", output)
    }

    fn run(times_min: &[i64], now_ms: i64) -> Vec<Block> {
        let responses: Vec<Group> = times_min
            .iter()
            .map(|m| response(m * 60_000, 100))
            .collect();
        blocks(
            &responses,
            &PriceTable::builtin(),
            CostMode::Auto,
            FIVE_H,
            now_ms,
        )
    }

    #[test]
    fn a_block_starts_at_the_hour_and_lasts_five_hours() {
        // 10:20, 12:00, 14:59 (4h59 after the 10:00 start), 15:01 (5h01 after it).
        let b = run(&[620, 720, 899, 901], i64::MAX / 2);
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].start_ms, 600 * 60_000);
        assert_eq!(b[0].end_ms, 900 * 60_000);
        assert_eq!(b[0].entries, 3);
        assert_eq!(
            b[1].start_ms,
            900 * 60_000,
            "the next block starts at 15:00"
        );
        assert_eq!(b[1].entries, 1);
    }

    #[test]
    fn a_long_pause_leaves_a_gap_block() {
        let b = run(&[60, 60 + 5 * 60 + 30], i64::MAX / 2);
        assert_eq!(b.len(), 3);
        assert!(b[1].is_gap);
        assert_eq!(
            b[1].start_ms,
            (60 + 300) * 60_000,
            "gap from the last response + 5 h"
        );
        assert_eq!(b[1].end_ms, (60 + 330) * 60_000, "to the next response");
        assert_eq!(b[1].usage.tokens.total(), 0);
    }

    #[test]
    fn a_gap_that_starts_after_the_next_block_is_listed_after_it() {
        // 07:26, then 12:31: the gap runs 12:26-12:31, the next block starts at 12:00.
        let b = run(&[7 * 60 + 26, 12 * 60 + 31], i64::MAX / 2);
        let kinds: Vec<bool> = b.iter().map(|b| b.is_gap).collect();
        assert_eq!(kinds, vec![false, false, true]);
        assert_eq!(b[1].start_ms, 12 * 60 * 60_000);
    }

    #[test]
    fn the_active_block_has_a_burn_rate_and_a_projection() {
        // Responses at 15:17 and 15:57; now 16:07; the block ends at 20:00.
        let now = (16 * 60 + 7) * 60_000;
        let b = run(&[15 * 60 + 17, 15 * 60 + 57], now);
        let active = &b[0];
        assert!(active.is_active);
        let rate = active.burn_rate().unwrap();
        assert_eq!(rate.tokens_per_minute, 200.0 / 40.0);
        let p = active.projection(now).unwrap();
        assert_eq!(p.remaining_minutes, 233);
        assert_eq!(p.total_tokens, 200 + 5 * 233);
        // An old block is not active.
        assert!(!run(&[60], now + 10 * FIVE_H)[0].is_active);
    }

    #[test]
    fn blocks_after_the_last_long_pause_are_those_of_all_history() {
        // Busy for 14 hours (blocks chain), a 6-hour pause, then 3 hours of work.
        let mut times: Vec<i64> = (0..=14 * 60).step_by(50).collect();
        times.extend([20 * 60 + 10, 21 * 60, 23 * 60 + 5]);
        let now = (23 * 60 + 30) * 60_000;
        let responses: Vec<Group> = times.iter().map(|m| response(m * 60_000, 100)).collect();
        let from = after_last_pause(&responses, FIVE_H).unwrap();
        assert_eq!(responses[from].at_ms, (20 * 60 + 10) * 60_000);
        let table = PriceTable::builtin();
        let all = blocks(&responses, &table, CostMode::Auto, FIVE_H, now);
        let recent = blocks(&responses[from..], &table, CostMode::Auto, FIVE_H, now);
        let active = |b: &[Block]| b.iter().find(|b| b.is_active).cloned();
        assert!(active(&all).is_some());
        assert_eq!(active(&recent), active(&all));
        assert_eq!(after_last_pause(&responses[..from], FIVE_H), None);

        // Read from 19:00: no pause inside, but nothing in the 5 h 10 m before 20:10.
        let tail = &responses[from..];
        assert_eq!(settled_from(tail, 15 * 60 * 60_000, FIVE_H), Some(0));
        // Read from 16:00: the pause may be longer than that, or not: read earlier.
        assert_eq!(settled_from(tail, 16 * 60 * 60_000, FIVE_H), None);
    }

    #[test]
    fn p90_is_the_nearest_rank_of_finished_blocks() {
        // Ten finished blocks of 100..1000 tokens (one response each, 6 h apart).
        let responses: Vec<Group> = (1..=10)
            .map(|i| response(i * 6 * HOUR_MS, i as u64 * 100))
            .collect();
        let b = blocks(
            &responses,
            &PriceTable::builtin(),
            CostMode::Auto,
            FIVE_H,
            i64::MAX / 2,
        );
        assert_eq!(p90_tokens(&b), 900);
        assert_eq!(p90_tokens(&[]), 0);
    }

    #[test]
    fn limits_warn_at_80_percent_and_max_uses_finished_blocks() {
        assert_eq!(limit_status(79, 100), "ok");
        assert_eq!(limit_status(81, 100), "warning");
        assert_eq!(limit_status(101, 100), "exceeds");
        let b = run(&[60, 61, 60 + 400], i64::MAX / 2);
        assert_eq!(max_tokens(&b), 200);
    }
}
