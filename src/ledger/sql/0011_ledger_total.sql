-- Issue 17: the ledger's total, so that no sum over its rows can overflow.

-- The sum of every row's weight (its five token counts and its web searches,
-- src/limits.rs `weight`), kept in the transaction that writes the rows: a row that would
-- take it past limits::MAX_LEDGER_WEIGHT is refused. One row; the migration's Rust step
-- (Step::CountTotal) fills it from the rows, and `rebuild` counts it again.
CREATE TABLE ledger_total (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    weight INTEGER NOT NULL
);

-- Rows of the file refused at the ledger's total, counted beside the lines the parser
-- skipped (`lines_skipped` is the reader's cursor, rewritten at every flush).
ALTER TABLE files ADD COLUMN rows_refused INTEGER NOT NULL DEFAULT 0;
