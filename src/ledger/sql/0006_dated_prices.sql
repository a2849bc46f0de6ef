-- Dated prices (src/report/pricing.rs): what a response cost depends on its day, on tiers
-- whose thresholds are data (Haiku 5.5 bills a request whole at a higher tier above
-- 100,000 input-side tokens, Sonnet 4/4.5 above 200,000), on data residency and on web
-- searches. The aggregates are keyed by what those rules need, and sessions by quarter
-- hour, so that `session --since/--until` counts only the activity inside its range and a
-- session running across a price change is priced at both prices.
--
-- Since this migration the merge and the reports read entries through the view
-- entry_keys, the one place that says how a row maps to its aggregate key; the flush
-- (src/ledger/aggregate.rs, Deltas) mirrors it in Rust, and `doctor` checks they agree.
-- This supersedes the comments of 0002 (long_context, pricing::LONG_CONTEXT_INPUT) and of
-- rebuild.sql (run by migration 2): the aggregates are rebuilt after this migration.

ALTER TABLE entries ADD COLUMN inference_geo TEXT;   -- `us` etc.; NULL for none or global

-- The tier thresholds the aggregates tell apart: a row's `tier` is the largest of them its
-- input side (input + cache writes + cache reads) is above, or 0. A price file that brings
-- a new threshold adds it here and the aggregates are rebuilt (Store::learn_tiers).
CREATE TABLE price_tiers (above INTEGER PRIMARY KEY);
INSERT INTO price_tiers (above) VALUES (100000), (200000);

CREATE VIEW entry_keys AS
SELECT id, ts_ms, session_id, project,
       coalesce(model, '') AS model,
       speed IS 'fast' AS fast,
       coalesce((SELECT max(above) FROM price_tiers
                 WHERE above < input + cache_write_5m + cache_write_1h + cache_read), 0) AS tier,
       coalesce(inference_geo, '') AS geo,
       cost_usd IS NOT NULL AS has_cost_usd,
       input, output, cache_write_5m, cache_write_1h, cache_read, web_search,
       coalesce(cost_usd, 0) AS cost_usd
FROM entries;

DROP TABLE usage_by_time;
DROP TABLE usage_by_day;
DROP TABLE usage_by_session;

-- 15-minute UTC buckets: every time zone in use has an offset that is a multiple of 15
-- minutes, so a bucket always falls within one local day, week or month.
CREATE TABLE usage_by_time (
    bucket_ms      INTEGER NOT NULL,
    model          TEXT    NOT NULL,        -- '' for responses without a model
    project        TEXT    NOT NULL,
    fast           INTEGER NOT NULL,
    tier           INTEGER NOT NULL,
    geo            TEXT    NOT NULL,
    has_cost_usd   INTEGER NOT NULL,
    input          INTEGER NOT NULL,
    output         INTEGER NOT NULL,
    cache_write_5m INTEGER NOT NULL,
    cache_write_1h INTEGER NOT NULL,
    cache_read     INTEGER NOT NULL,
    web_search     INTEGER NOT NULL,
    cost_usd       REAL    NOT NULL,
    requests       INTEGER NOT NULL,
    PRIMARY KEY (bucket_ms, model, project, fast, tier, geo, has_cost_usd)
) WITHOUT ROWID;

-- Whole UTC days without the project: `daily`, `weekly` and `monthly` without --project.
CREATE TABLE usage_by_day (
    day_ms         INTEGER NOT NULL,        -- UTC midnight
    model          TEXT    NOT NULL,
    fast           INTEGER NOT NULL,
    tier           INTEGER NOT NULL,
    geo            TEXT    NOT NULL,
    has_cost_usd   INTEGER NOT NULL,
    input          INTEGER NOT NULL,
    output         INTEGER NOT NULL,
    cache_write_5m INTEGER NOT NULL,
    cache_write_1h INTEGER NOT NULL,
    cache_read     INTEGER NOT NULL,
    web_search     INTEGER NOT NULL,
    cost_usd       REAL    NOT NULL,
    requests       INTEGER NOT NULL,
    PRIMARY KEY (day_ms, model, fast, tier, geo, has_cost_usd)
) WITHOUT ROWID;

-- Sessions by quarter hour: `session`, and the status line's session figure.
CREATE TABLE usage_by_session (
    session_id     TEXT    NOT NULL,
    bucket_ms      INTEGER NOT NULL,
    model          TEXT    NOT NULL,
    project        TEXT    NOT NULL,
    fast           INTEGER NOT NULL,
    tier           INTEGER NOT NULL,
    geo            TEXT    NOT NULL,
    has_cost_usd   INTEGER NOT NULL,
    first_ms       INTEGER NOT NULL,
    last_ms        INTEGER NOT NULL,
    input          INTEGER NOT NULL,
    output         INTEGER NOT NULL,
    cache_write_5m INTEGER NOT NULL,
    cache_write_1h INTEGER NOT NULL,
    cache_read     INTEGER NOT NULL,
    web_search     INTEGER NOT NULL,
    cost_usd       REAL    NOT NULL,
    requests       INTEGER NOT NULL,
    PRIMARY KEY (session_id, bucket_ms, model, project, fast, tier, geo, has_cost_usd)
) WITHOUT ROWID;
