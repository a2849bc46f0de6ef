//! The model of `cco-stats live`: today's usage, the active block against a limit, the
//! burn rate and where it leads, the last hours in quarter hours, and today's top
//! sessions and models, and the agents' official quota windows. Built from the same report code as `daily`, `blocks` and
//! `session` (see `command::live`), drawn by `render::live`.

use crate::ledger::query::Group;
use crate::model::Agent;
use crate::report::Usage;
use crate::report::blocks::{Block, BurnRate, Projection};
use crate::report::quota::Window;

/// Quarter hours shown in the sparkline: the last 12 hours.
pub const SPARK_BUCKETS: usize = 48;
pub const SPARK_BUCKET_MS: i64 = 15 * 60_000;

/// Where the block's token limit comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitSource {
    Given,
    Max,
    P90,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ActiveBlock {
    pub block: Block,
    pub burn: Option<BurnRate>,
    pub projection: Option<Projection>,
}

/// One of today's sessions, by cost.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionRow {
    pub session_id: String,
    pub project: String,
    pub usage: Usage,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Live {
    pub now_ms: i64,
    pub zone_name: String,
    pub today: Usage,
    pub block: Option<ActiveBlock>,
    pub limit: Option<(u64, LimitSource)>,
    /// Tokens per quarter hour, oldest first, the last one holding `now_ms`.
    pub spark: Vec<u64>,
    /// Today's sessions, costliest first.
    pub sessions: Vec<SessionRow>,
    /// The last pass: when it finished and what it found (`None` before the first).
    pub last_pass: Option<String>,
    /// The agents' official quota windows not reset yet (`Context::quota_now`).
    pub quota: Vec<Window>,
}

impl Live {
    /// The block's estimated limit, unless Claude Code reported its 5-hour window: the
    /// official figure replaces the guess.
    pub fn estimated_limit(&self) -> Option<(u64, LimitSource)> {
        let official = self
            .quota
            .iter()
            .any(|w| w.agent == Agent::Claude && w.window == "five_hour");
        self.limit.filter(|_| !official)
    }

    /// The projection passes the (estimated) limit.
    pub fn past_limit(&self) -> bool {
        match (&self.block, self.estimated_limit()) {
            (Some(b), Some((limit, _))) if limit > 0 => {
                let projected = b
                    .projection
                    .map_or(b.block.usage.tokens.total(), |p| p.total_tokens);
                projected > limit
            }
            _ => false,
        }
    }
}

/// Tokens per quarter hour over the `SPARK_BUCKETS` ending with the one holding `now_ms`,
/// from groups of 15-minute buckets (any order).
pub fn spark(groups: &[Group], now_ms: i64) -> Vec<u64> {
    let last = now_ms.div_euclid(SPARK_BUCKET_MS);
    let first = last - SPARK_BUCKETS as i64 + 1;
    let mut out = vec![0; SPARK_BUCKETS];
    for g in groups {
        let bucket = g.at_ms.div_euclid(SPARK_BUCKET_MS);
        if (first..=last).contains(&bucket) {
            out[(bucket - first) as usize] += g.tokens.total();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spark_counts_quarter_hours_up_to_now() {
        let g = |at_ms: i64, output: u64| Group::of_output(at_ms, "", output);
        let now = 100 * SPARK_BUCKET_MS + 60_000;
        let s = spark(
            &[
                g(100 * SPARK_BUCKET_MS, 5),
                g(100 * SPARK_BUCKET_MS, 2),
                g(53 * SPARK_BUCKET_MS, 9),
                g(52 * SPARK_BUCKET_MS, 1000),
            ],
            now,
        );
        assert_eq!(s.len(), SPARK_BUCKETS);
        assert_eq!(s[SPARK_BUCKETS - 1], 7);
        assert_eq!(s[0], 9, "the oldest bucket shown is 47 before now's");
        assert_eq!(s.iter().sum::<u64>(), 16, "older ones are left out");
    }
}
