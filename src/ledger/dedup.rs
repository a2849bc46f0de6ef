//! The duplicate rules of `transcripts.md`, as one pure decision.
//!
//! The same API response reaches the transcripts many times: one line per content block,
//! streaming partials, resumed sessions that copy earlier lines, progress lines echoing a
//! subagent, sidechains replaying a parent response under a new `requestId`. The ledger
//! keeps one row per response. `decide` says, for a new record and the rows already stored
//! under its `message.id`, whether it adds a row, replaces one, or is a duplicate. The store
//! applies it inside the flush transaction, so the rules hold across files and runs.

use crate::ledger::batch::Rank;
use crate::model::Record;

/// What the ledger holds for a `message.id`, as far as the rules need.
#[derive(Clone, Debug, PartialEq)]
pub struct Stored {
    pub id: i64,
    pub request_id: Option<String>,
    pub is_sidechain: bool,
    pub rank: Rank,
    /// The rules apply within one agent: the caller leaves other agents' rows out.
    pub agent: crate::model::Agent,
}

impl Stored {
    /// `record`, stored as row `id`.
    pub fn of(id: i64, record: &Record) -> Stored {
        Stored {
            id,
            request_id: record.request_id.clone(),
            is_sidechain: record.is_sidechain,
            rank: Rank::of(record),
            agent: record.agent,
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// A response not seen before.
    Insert,
    /// A better copy of a stored response: overwrite row `id`.
    Replace(i64),
    /// A copy no better than what is stored.
    Keep,
}

/// Applies the rules to `new` against the rows stored under its `message.id` (rule 4:
/// a record without one is never deduplicated and is always inserted).
pub fn decide(new: &Record, stored: &[Stored]) -> Decision {
    if new.message_id.is_none() {
        return Decision::Insert;
    }
    let new_rank = Rank::of(new);
    // Rules 1 and 3a: the same (message.id, requestId) is one response; the better copy
    // (`Rank`: a `stop_reason`, then the larger total) wins.
    if let Some(same) = stored.iter().find(|s| s.request_id == new.request_id) {
        return if new_rank > same.rank {
            Decision::Replace(same.id)
        } else {
            Decision::Keep
        };
    }
    // Rules 2 and 3b: a sidechain replay under a new requestId; the non-sidechain one wins.
    if let Some(other) = stored.iter().find(|s| s.is_sidechain || new.is_sidechain) {
        return if other.is_sidechain && !new.is_sidechain {
            Decision::Replace(other.id)
        } else {
            Decision::Keep
        };
    }
    Decision::Insert
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(request: Option<&str>, sidechain: bool, output: u64) -> Record {
        Record {
            is_sidechain: sidechain,
            ..Record::for_test("msg", request, output)
        }
    }

    fn stored(id: i64, request: Option<&str>, sidechain: bool, total: u64) -> Stored {
        Stored {
            id,
            request_id: request.map(str::to_string),
            is_sidechain: sidechain,
            rank: Rank {
                stopped: false,
                total,
                cost_usd: None,
                has_speed: false,
            },
            agent: Default::default(),
        }
    }

    #[test]
    fn rule1_new_key_is_inserted() {
        assert_eq!(decide(&new(Some("r"), false, 5), &[]), Decision::Insert);
        // Two non-sidechain responses that share a message.id under different requests
        // are two responses.
        assert_eq!(
            decide(
                &new(Some("r2"), false, 5),
                &[stored(1, Some("r1"), false, 5)]
            ),
            Decision::Insert
        );
    }

    #[test]
    fn rule1_missing_request_id_is_its_own_value() {
        assert_eq!(
            decide(&new(None, false, 5), &[stored(1, None, false, 9)]),
            Decision::Keep
        );
        assert_eq!(
            decide(&new(None, false, 5), &[stored(1, Some("r"), false, 9)]),
            Decision::Insert
        );
    }

    #[test]
    fn rule2_sidechain_collides_on_message_id() {
        assert_eq!(
            decide(
                &new(Some("r2"), true, 500),
                &[stored(1, Some("r1"), false, 5)]
            ),
            Decision::Keep,
            "a sidechain replay never adds a row, however large"
        );
        assert_eq!(
            decide(
                &new(Some("r2"), false, 1),
                &[stored(7, Some("r1"), true, 50)]
            ),
            Decision::Replace(7),
            "the non-sidechain response replaces a replay stored first"
        );
        assert_eq!(
            decide(
                &new(Some("r2"), true, 1),
                &[stored(7, Some("r1"), true, 50)]
            ),
            Decision::Keep
        );
    }

    #[test]
    fn rule3_larger_copy_upgrades_smaller_one() {
        assert_eq!(
            decide(
                &new(Some("r"), false, 10),
                &[stored(3, Some("r"), false, 9)]
            ),
            Decision::Replace(3)
        );
        assert_eq!(
            decide(&new(Some("r"), false, 9), &[stored(3, Some("r"), false, 9)]),
            Decision::Keep
        );
        let mut fast = new(Some("r"), false, 9);
        fast.speed = Some("fast".into());
        assert_eq!(
            decide(&fast, &[stored(3, Some("r"), false, 9)]),
            Decision::Replace(3)
        );
    }

    #[test]
    fn rule3_ties_go_to_the_higher_cost_usd_then_to_speed() {
        let with_cost = |cost: Option<f64>, speed: bool| {
            let mut r = new(Some("r"), false, 9);
            r.cost_usd = cost;
            r.speed = speed.then(|| "standard".to_string());
            r
        };
        let stored_as = |r: &Record| Stored {
            id: 3,
            request_id: r.request_id.clone(),
            is_sidechain: false,
            rank: Rank::of(r),
            agent: r.agent,
        };
        let order = [
            with_cost(None, false),
            with_cost(None, true),
            with_cost(Some(0.01), false),
            with_cost(Some(0.01), true),
            with_cost(Some(0.02), false),
        ];
        // Every pair, both ways round: the later in `order` is kept, whichever came first.
        for (i, weaker) in order.iter().enumerate() {
            for stronger in &order[i + 1..] {
                assert_eq!(
                    decide(stronger, &[stored_as(weaker)]),
                    Decision::Replace(3),
                    "{stronger:?} over {weaker:?}"
                );
                assert_eq!(decide(weaker, &[stored_as(stronger)]), Decision::Keep);
            }
            assert_eq!(decide(weaker, &[stored_as(weaker)]), Decision::Keep);
        }
        // A larger copy wins whatever its cost.
        let mut larger = new(Some("r"), false, 10);
        larger.cost_usd = None;
        assert_eq!(
            decide(&larger, &[stored_as(&with_cost(Some(5.0), true))]),
            Decision::Replace(3)
        );
    }

    #[test]
    fn rule3_same_key_wins_over_sidechain_rule() {
        let rows = [
            stored(1, Some("r1"), true, 5),
            stored(2, Some("r2"), false, 5),
        ];
        assert_eq!(
            decide(&new(Some("r1"), true, 50), &rows),
            Decision::Replace(1)
        );
    }

    #[test]
    fn rule4_no_message_id_is_never_deduplicated() {
        let mut r = new(Some("r"), false, 5);
        r.message_id = None;
        assert_eq!(
            decide(&r, &[stored(1, Some("r"), false, 5)]),
            Decision::Insert
        );
    }
}
