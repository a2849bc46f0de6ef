-- Aggregates for reports: `daily`, `weekly`, `monthly`, `projects` and `models` read
-- usage_by_time; `session` reads usage_by_session. Every flush writes the deltas of the
-- rows it changes in the same transaction (src/aggregate.rs), so they never disagree with
-- the ledger. Migration 5 fills them from the rows already there (rebuild.sql).
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
