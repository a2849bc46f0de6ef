-- Recomputes the report aggregates from the ledger's rows: run by the last migration that
-- reshapes them (6), by `cco-stats rebuild`, and when a price file brings a new tier
-- threshold (Store::learn_tiers). Empties them and their watermark; merge.sql, which
-- follows this file in aggregate::rebuild, then sums every row.
DELETE FROM usage_by_time;
DELETE FROM usage_by_session;
DELETE FROM usage_by_day;
DELETE FROM usage_by_project_day;
DELETE FROM usage_by_session_day;
DELETE FROM meta WHERE key = 'aggregated_through';
