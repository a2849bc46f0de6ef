-- Recomputes the report aggregates from the ledger's rows: run by migration 2 and by
-- `cco-stats rebuild`. The long-context boundary is pricing::LONG_CONTEXT_INPUT.
DELETE FROM usage_by_time;
DELETE FROM usage_by_session;

INSERT INTO usage_by_time
SELECT ts_ms / 900000 * 900000, coalesce(model, ''), project, speed IS 'fast',
       input + cache_write_5m + cache_write_1h + cache_read > 200000, cost_usd IS NOT NULL,
       sum(input), sum(output), sum(cache_write_5m), sum(cache_write_1h), sum(cache_read),
       total(cost_usd), count(*)
FROM entries GROUP BY 1, 2, 3, 4, 5, 6;

INSERT INTO usage_by_session
SELECT session_id, coalesce(model, ''), project, speed IS 'fast',
       input + cache_write_5m + cache_write_1h + cache_read > 200000, cost_usd IS NOT NULL,
       min(ts_ms), max(ts_ms),
       sum(input), sum(output), sum(cache_write_5m), sum(cache_write_1h), sum(cache_read),
       total(cost_usd), count(*)
FROM entries GROUP BY 1, 2, 3, 4, 5, 6;

INSERT OR REPLACE INTO meta (key, value)
SELECT 'aggregated_through', coalesce(max(id), 0) FROM entries;
