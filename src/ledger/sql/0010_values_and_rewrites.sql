-- Issue 17: a rewritten transcript is read again, and a response's final copy wins.

-- A fingerprint of the last bytes before the cursor (FNV-1a of up to tail::TAIL_LEN
-- bytes ending at `offset`): a file truncated and written longer again, whose first
-- bytes are the same, is told apart from one that only grew. NULL: not known (a cursor
-- from before this migration), and the file is resumed as before.
ALTER TABLE files ADD COLUMN tail_hash INTEGER;

-- The copy stored carried a `stop_reason` (its response's final line). Among copies of
-- one response such a copy wins before the larger total does (src/ledger/dedup.rs):
-- a relay's preliminary line can count more than the final one. 0 for rows from before
-- this migration: not known.
ALTER TABLE entries ADD COLUMN stopped INTEGER NOT NULL DEFAULT 0;

-- The same migration's Rust step (Step::MoveOutOfLimits) then moves the rows stored
-- before src/limits.rs existed and out of its range into the skipped lines, and sums
-- the aggregates again.
