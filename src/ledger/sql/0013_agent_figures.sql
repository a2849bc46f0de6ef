-- Figures agents bill in that are neither tokens nor dollars (issue 19): Amp's credits
-- and GitHub Copilot's premium requests, per row, NULL where the agent gives none. They
-- stay on the rows (the aggregates are about tokens and cost); the `agents` view sums
-- them through the partial index, which holds only the rows that have one.
ALTER TABLE entries ADD COLUMN credits REAL;
ALTER TABLE entries ADD COLUMN premium_requests REAL;
CREATE INDEX entries_figures ON entries (agent, ts_ms)
    WHERE credits IS NOT NULL OR premium_requests IS NOT NULL;
