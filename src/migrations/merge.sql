-- Sums the rows above the watermark (meta.aggregated_through) into the report aggregates
-- and moves the watermark past them: the end of every pass (src/aggregate.rs), and the
-- second half of rebuild.sql. Run inside one transaction, so max(id) holds still. The
-- long-context boundary is pricing::LONG_CONTEXT_INPUT, the bucket aggregate::BUCKET_MS.
-- (The WHERE clauses also keep SQLite from reading an upsert's ON as a join's.)

INSERT INTO usage_by_time
SELECT ts_ms / 900000 * 900000, coalesce(model, ''), project, speed IS 'fast',
       input + cache_write_5m + cache_write_1h + cache_read > 200000, cost_usd IS NOT NULL,
       sum(input), sum(output), sum(cache_write_5m), sum(cache_write_1h), sum(cache_read),
       total(cost_usd), count(*)
FROM entries
WHERE id > coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'aggregated_through'), 0)
GROUP BY 1, 2, 3, 4, 5, 6
ON CONFLICT DO UPDATE SET
    input = input + excluded.input, output = output + excluded.output,
    cache_write_5m = cache_write_5m + excluded.cache_write_5m,
    cache_write_1h = cache_write_1h + excluded.cache_write_1h,
    cache_read = cache_read + excluded.cache_read,
    cost_usd = cost_usd + excluded.cost_usd, requests = requests + excluded.requests;

INSERT INTO usage_by_session
SELECT session_id, coalesce(model, ''), project, speed IS 'fast',
       input + cache_write_5m + cache_write_1h + cache_read > 200000, cost_usd IS NOT NULL,
       min(ts_ms), max(ts_ms),
       sum(input), sum(output), sum(cache_write_5m), sum(cache_write_1h), sum(cache_read),
       total(cost_usd), count(*)
FROM entries
WHERE id > coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'aggregated_through'), 0)
GROUP BY 1, 2, 3, 4, 5, 6
ON CONFLICT DO UPDATE SET
    first_ms = min(first_ms, excluded.first_ms), last_ms = max(last_ms, excluded.last_ms),
    input = input + excluded.input, output = output + excluded.output,
    cache_write_5m = cache_write_5m + excluded.cache_write_5m,
    cache_write_1h = cache_write_1h + excluded.cache_write_1h,
    cache_read = cache_read + excluded.cache_read,
    cost_usd = cost_usd + excluded.cost_usd, requests = requests + excluded.requests;

INSERT INTO usage_by_day
SELECT ts_ms / 86400000 * 86400000, coalesce(model, ''), speed IS 'fast',
       input + cache_write_5m + cache_write_1h + cache_read > 200000, cost_usd IS NOT NULL,
       sum(input), sum(output), sum(cache_write_5m), sum(cache_write_1h), sum(cache_read),
       total(cost_usd), count(*)
FROM entries
WHERE id > coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'aggregated_through'), 0)
GROUP BY 1, 2, 3, 4, 5
ON CONFLICT DO UPDATE SET
    input = input + excluded.input, output = output + excluded.output,
    cache_write_5m = cache_write_5m + excluded.cache_write_5m,
    cache_write_1h = cache_write_1h + excluded.cache_write_1h,
    cache_read = cache_read + excluded.cache_read,
    cost_usd = cost_usd + excluded.cost_usd, requests = requests + excluded.requests;

INSERT OR REPLACE INTO meta (key, value)
SELECT 'aggregated_through', coalesce(max(id), 0) FROM entries;
