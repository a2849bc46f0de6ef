-- Recomputes the report aggregates from the ledger's rows: run by migration 2 and by
-- `cco-stats rebuild`. Empties them and their watermark; merge.sql, which follows this
-- file in aggregate::REBUILD, then sums every row.
DELETE FROM usage_by_time;
DELETE FROM usage_by_session;
DELETE FROM usage_by_day;
DELETE FROM meta WHERE key = 'aggregated_through';
