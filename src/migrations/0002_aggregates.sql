-- Aggregates for reports: `daily`, `weekly`, `monthly`, `projects` and `models` read
-- usage_by_time; `session` reads usage_by_session. Triggers keep them equal to the sums of
-- `entries` inside the same transaction as every write, so they can never disagree with
-- the ledger; this migration fills them from the rows already there (the rebuild path).
--
-- The key is what pricing needs: cost depends on the model, on fast mode, on long context
-- (input + cache writes + cache reads above 200,000 tokens: pricing::LONG_CONTEXT_INPUT)
-- and on whether the line carried its own costUSD.

-- 15-minute UTC buckets: every time zone in use has an offset that is a multiple of 15
-- minutes, so a bucket always falls within one local day, week or month.
CREATE TABLE usage_by_time (
    bucket_ms      INTEGER NOT NULL,
    model          TEXT    NOT NULL,        -- '' for responses without a model
    project        TEXT    NOT NULL,
    fast           INTEGER NOT NULL,
    long_context   INTEGER NOT NULL,
    has_cost_usd   INTEGER NOT NULL,
    input          INTEGER NOT NULL,
    output         INTEGER NOT NULL,
    cache_write_5m INTEGER NOT NULL,
    cache_write_1h INTEGER NOT NULL,
    cache_read     INTEGER NOT NULL,
    cost_usd       REAL    NOT NULL,
    requests       INTEGER NOT NULL,
    PRIMARY KEY (bucket_ms, model, project, fast, long_context, has_cost_usd)
) WITHOUT ROWID;

CREATE TABLE usage_by_session (
    session_id     TEXT    NOT NULL,
    model          TEXT    NOT NULL,
    project        TEXT    NOT NULL,
    fast           INTEGER NOT NULL,
    long_context   INTEGER NOT NULL,
    has_cost_usd   INTEGER NOT NULL,
    first_ms       INTEGER NOT NULL,
    last_ms        INTEGER NOT NULL,
    input          INTEGER NOT NULL,
    output         INTEGER NOT NULL,
    cache_write_5m INTEGER NOT NULL,
    cache_write_1h INTEGER NOT NULL,
    cache_read     INTEGER NOT NULL,
    cost_usd       REAL    NOT NULL,
    requests       INTEGER NOT NULL,
    PRIMARY KEY (session_id, model, project, fast, long_context, has_cost_usd)
) WITHOUT ROWID;

CREATE TRIGGER entries_add AFTER INSERT ON entries BEGIN
    INSERT INTO usage_by_time VALUES (
        new.ts_ms / 900000 * 900000, coalesce(new.model, ''), new.project,
        new.speed IS 'fast',
        new.input + new.cache_write_5m + new.cache_write_1h + new.cache_read > 200000,
        new.cost_usd IS NOT NULL,
        new.input, new.output, new.cache_write_5m, new.cache_write_1h, new.cache_read,
        coalesce(new.cost_usd, 0), 1)
    ON CONFLICT DO UPDATE SET
        input = input + excluded.input, output = output + excluded.output,
        cache_write_5m = cache_write_5m + excluded.cache_write_5m,
        cache_write_1h = cache_write_1h + excluded.cache_write_1h,
        cache_read = cache_read + excluded.cache_read,
        cost_usd = cost_usd + excluded.cost_usd, requests = requests + 1;
    INSERT INTO usage_by_session VALUES (
        new.session_id, coalesce(new.model, ''), new.project,
        new.speed IS 'fast',
        new.input + new.cache_write_5m + new.cache_write_1h + new.cache_read > 200000,
        new.cost_usd IS NOT NULL, new.ts_ms, new.ts_ms,
        new.input, new.output, new.cache_write_5m, new.cache_write_1h, new.cache_read,
        coalesce(new.cost_usd, 0), 1)
    ON CONFLICT DO UPDATE SET
        first_ms = min(first_ms, excluded.first_ms), last_ms = max(last_ms, excluded.last_ms),
        input = input + excluded.input, output = output + excluded.output,
        cache_write_5m = cache_write_5m + excluded.cache_write_5m,
        cache_write_1h = cache_write_1h + excluded.cache_write_1h,
        cache_read = cache_read + excluded.cache_read,
        cost_usd = cost_usd + excluded.cost_usd, requests = requests + 1;
END;

-- Removing a row subtracts it; a group left with no request is ignored by reports.
CREATE TRIGGER entries_remove AFTER DELETE ON entries BEGIN
    UPDATE usage_by_time SET
        input = input - old.input, output = output - old.output,
        cache_write_5m = cache_write_5m - old.cache_write_5m,
        cache_write_1h = cache_write_1h - old.cache_write_1h,
        cache_read = cache_read - old.cache_read,
        cost_usd = cost_usd - coalesce(old.cost_usd, 0), requests = requests - 1
    WHERE bucket_ms = old.ts_ms / 900000 * 900000 AND model = coalesce(old.model, '')
        AND project = old.project AND fast = (old.speed IS 'fast')
        AND long_context = (old.input + old.cache_write_5m + old.cache_write_1h + old.cache_read > 200000)
        AND has_cost_usd = (old.cost_usd IS NOT NULL);
    UPDATE usage_by_session SET
        input = input - old.input, output = output - old.output,
        cache_write_5m = cache_write_5m - old.cache_write_5m,
        cache_write_1h = cache_write_1h - old.cache_write_1h,
        cache_read = cache_read - old.cache_read,
        cost_usd = cost_usd - coalesce(old.cost_usd, 0), requests = requests - 1
    WHERE session_id = old.session_id AND model = coalesce(old.model, '')
        AND project = old.project AND fast = (old.speed IS 'fast')
        AND long_context = (old.input + old.cache_write_5m + old.cache_write_1h + old.cache_read > 200000)
        AND has_cost_usd = (old.cost_usd IS NOT NULL);
END;

-- An upgrade (a final streaming line, a non-sidechain copy) is a removal and an addition.
CREATE TRIGGER entries_change AFTER UPDATE ON entries BEGIN
    UPDATE usage_by_time SET
        input = input - old.input, output = output - old.output,
        cache_write_5m = cache_write_5m - old.cache_write_5m,
        cache_write_1h = cache_write_1h - old.cache_write_1h,
        cache_read = cache_read - old.cache_read,
        cost_usd = cost_usd - coalesce(old.cost_usd, 0), requests = requests - 1
    WHERE bucket_ms = old.ts_ms / 900000 * 900000 AND model = coalesce(old.model, '')
        AND project = old.project AND fast = (old.speed IS 'fast')
        AND long_context = (old.input + old.cache_write_5m + old.cache_write_1h + old.cache_read > 200000)
        AND has_cost_usd = (old.cost_usd IS NOT NULL);
    UPDATE usage_by_session SET
        input = input - old.input, output = output - old.output,
        cache_write_5m = cache_write_5m - old.cache_write_5m,
        cache_write_1h = cache_write_1h - old.cache_write_1h,
        cache_read = cache_read - old.cache_read,
        cost_usd = cost_usd - coalesce(old.cost_usd, 0), requests = requests - 1
    WHERE session_id = old.session_id AND model = coalesce(old.model, '')
        AND project = old.project AND fast = (old.speed IS 'fast')
        AND long_context = (old.input + old.cache_write_5m + old.cache_write_1h + old.cache_read > 200000)
        AND has_cost_usd = (old.cost_usd IS NOT NULL);
    INSERT INTO usage_by_time VALUES (
        new.ts_ms / 900000 * 900000, coalesce(new.model, ''), new.project,
        new.speed IS 'fast',
        new.input + new.cache_write_5m + new.cache_write_1h + new.cache_read > 200000,
        new.cost_usd IS NOT NULL,
        new.input, new.output, new.cache_write_5m, new.cache_write_1h, new.cache_read,
        coalesce(new.cost_usd, 0), 1)
    ON CONFLICT DO UPDATE SET
        input = input + excluded.input, output = output + excluded.output,
        cache_write_5m = cache_write_5m + excluded.cache_write_5m,
        cache_write_1h = cache_write_1h + excluded.cache_write_1h,
        cache_read = cache_read + excluded.cache_read,
        cost_usd = cost_usd + excluded.cost_usd, requests = requests + 1;
    INSERT INTO usage_by_session VALUES (
        new.session_id, coalesce(new.model, ''), new.project,
        new.speed IS 'fast',
        new.input + new.cache_write_5m + new.cache_write_1h + new.cache_read > 200000,
        new.cost_usd IS NOT NULL, new.ts_ms, new.ts_ms,
        new.input, new.output, new.cache_write_5m, new.cache_write_1h, new.cache_read,
        coalesce(new.cost_usd, 0), 1)
    ON CONFLICT DO UPDATE SET
        first_ms = min(first_ms, excluded.first_ms), last_ms = max(last_ms, excluded.last_ms),
        input = input + excluded.input, output = output + excluded.output,
        cache_write_5m = cache_write_5m + excluded.cache_write_5m,
        cache_write_1h = cache_write_1h + excluded.cache_write_1h,
        cache_read = cache_read + excluded.cache_read,
        cost_usd = cost_usd + excluded.cost_usd, requests = requests + 1;
END;

-- The rebuild path: fill both from the rows already in the ledger.
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
