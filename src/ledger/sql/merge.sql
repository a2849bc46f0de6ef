-- Sums the rows above the watermark (meta.aggregated_through) into the report aggregates
-- and moves the watermark past them: the end of a pass whose sums in memory do not stand
-- for every such row (src/ledger/aggregate.rs, `Pending`), and the second half of
-- rebuild.sql. Run inside one transaction, so max(id) holds still.
-- Rows are read through entry_keys (migration 6), which says how a row maps to its key;
-- {bucket_ms} and {day_ms} are aggregate::BUCKET_MS and DAY_MS, written in by Rust.
-- (The WHERE clauses also keep SQLite from reading an upsert's ON as a join's.)

-- The new rows' sums by quarter hour, once: usage_by_time takes them as they are,
-- usage_by_day and usage_by_project_day sum them by day (a few rows a quarter hour
-- instead of every response).
CREATE TEMP TABLE merging AS
SELECT ts_ms / {bucket_ms} * {bucket_ms} AS bucket_ms, model, project, fast, tier, geo, has_cost_usd,
       sum(input) AS input, sum(output) AS output, sum(cache_write_5m) AS cache_write_5m,
       sum(cache_write_1h) AS cache_write_1h, sum(cache_read) AS cache_read,
       sum(web_search) AS web_search, total(cost_usd) AS cost_usd, count(*) AS requests,
       agent
FROM entry_keys
WHERE id > coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'aggregated_through'), 0)
GROUP BY 1, 2, 3, 4, 5, 6, 7, agent;

INSERT INTO usage_by_time
SELECT * FROM temp.merging WHERE true
ON CONFLICT DO UPDATE SET
    input = input + excluded.input, output = output + excluded.output,
    cache_write_5m = cache_write_5m + excluded.cache_write_5m,
    cache_write_1h = cache_write_1h + excluded.cache_write_1h,
    cache_read = cache_read + excluded.cache_read, web_search = web_search + excluded.web_search,
    cost_usd = cost_usd + excluded.cost_usd, requests = requests + excluded.requests;

INSERT INTO usage_by_day
SELECT bucket_ms / {day_ms} * {day_ms}, model, fast, tier, geo, has_cost_usd,
       sum(input), sum(output), sum(cache_write_5m), sum(cache_write_1h), sum(cache_read),
       sum(web_search), sum(cost_usd), sum(requests), agent
FROM temp.merging
GROUP BY 1, 2, 3, 4, 5, 6, agent
ON CONFLICT DO UPDATE SET
    input = input + excluded.input, output = output + excluded.output,
    cache_write_5m = cache_write_5m + excluded.cache_write_5m,
    cache_write_1h = cache_write_1h + excluded.cache_write_1h,
    cache_read = cache_read + excluded.cache_read, web_search = web_search + excluded.web_search,
    cost_usd = cost_usd + excluded.cost_usd, requests = requests + excluded.requests;

INSERT INTO usage_by_project_day
SELECT bucket_ms / {day_ms} * {day_ms}, model, project, fast, tier, geo, has_cost_usd,
       sum(input), sum(output), sum(cache_write_5m), sum(cache_write_1h), sum(cache_read),
       sum(web_search), sum(cost_usd), sum(requests), agent
FROM temp.merging
GROUP BY 1, 2, 3, 4, 5, 6, 7, agent
ON CONFLICT DO UPDATE SET
    input = input + excluded.input, output = output + excluded.output,
    cache_write_5m = cache_write_5m + excluded.cache_write_5m,
    cache_write_1h = cache_write_1h + excluded.cache_write_1h,
    cache_read = cache_read + excluded.cache_read, web_search = web_search + excluded.web_search,
    cost_usd = cost_usd + excluded.cost_usd, requests = requests + excluded.requests;

DROP TABLE temp.merging;

-- The same for sessions: their quarter hours once, taken as they are by usage_by_session
-- and summed by day into usage_by_session_day.
CREATE TEMP TABLE merging_sessions AS
SELECT session_id, ts_ms / {bucket_ms} * {bucket_ms} AS bucket_ms, model, project, fast, tier, geo,
       has_cost_usd, min(ts_ms) AS first_ms, max(ts_ms) AS last_ms,
       sum(input) AS input, sum(output) AS output, sum(cache_write_5m) AS cache_write_5m,
       sum(cache_write_1h) AS cache_write_1h, sum(cache_read) AS cache_read,
       sum(web_search) AS web_search, total(cost_usd) AS cost_usd, count(*) AS requests, agent
FROM entry_keys
WHERE id > coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'aggregated_through'), 0)
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, agent;

INSERT INTO usage_by_session
SELECT * FROM temp.merging_sessions WHERE true
ON CONFLICT DO UPDATE SET
    first_ms = min(first_ms, excluded.first_ms), last_ms = max(last_ms, excluded.last_ms),
    input = input + excluded.input, output = output + excluded.output,
    cache_write_5m = cache_write_5m + excluded.cache_write_5m,
    cache_write_1h = cache_write_1h + excluded.cache_write_1h,
    cache_read = cache_read + excluded.cache_read, web_search = web_search + excluded.web_search,
    cost_usd = cost_usd + excluded.cost_usd, requests = requests + excluded.requests;

INSERT INTO usage_by_session_day
SELECT session_id, bucket_ms / {day_ms} * {day_ms}, model, project, fast, tier, geo, has_cost_usd,
       min(first_ms), max(last_ms),
       sum(input), sum(output), sum(cache_write_5m), sum(cache_write_1h), sum(cache_read),
       sum(web_search), sum(cost_usd), sum(requests), agent
FROM temp.merging_sessions
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, agent
ON CONFLICT DO UPDATE SET
    first_ms = min(first_ms, excluded.first_ms), last_ms = max(last_ms, excluded.last_ms),
    input = input + excluded.input, output = output + excluded.output,
    cache_write_5m = cache_write_5m + excluded.cache_write_5m,
    cache_write_1h = cache_write_1h + excluded.cache_write_1h,
    cache_read = cache_read + excluded.cache_read, web_search = web_search + excluded.web_search,
    cost_usd = cost_usd + excluded.cost_usd, requests = requests + excluded.requests;

DROP TABLE temp.merging_sessions;

INSERT OR REPLACE INTO meta (key, value)
SELECT 'aggregated_through', coalesce(max(id), 0) FROM entries;
