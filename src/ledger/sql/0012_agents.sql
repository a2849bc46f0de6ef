-- Every coding agent in one ledger (issue 18, part 1).
--
-- Every file and row has its agent, named as ccusage's subcommands name them ('claude',
-- 'codex', …; src/sources/mod.rs, `Agent`); what was here before is Claude Code's. The
-- dedup rules apply within one agent (`Stored::agent`). A file's cursor keeps its
-- source's parser state beside its offset (`files.state`, NULL for a stateless source):
-- written in the same transaction, so a pass killed anywhere resumes with the state that
-- matches the offset.
ALTER TABLE files ADD COLUMN agent TEXT NOT NULL DEFAULT 'claude';
ALTER TABLE files ADD COLUMN state TEXT;
ALTER TABLE entries ADD COLUMN agent TEXT NOT NULL DEFAULT 'claude';
-- Reasoning tokens, already counted in `output` (OpenAI's models): for display only.
ALTER TABLE entries ADD COLUMN reasoning INTEGER NOT NULL DEFAULT 0;

-- The quota windows agents report (Codex's `rate_limits`: the 5-hour and the weekly
-- window of a ChatGPT plan), one row per window and reset time: copies of an event
-- (an archived rollout, a fork's replay) name the same window and change nothing. Kept
-- for a later report.
CREATE TABLE rate_limits (
    agent          TEXT    NOT NULL,
    window_minutes INTEGER NOT NULL,
    resets_at_ms   INTEGER NOT NULL,
    used_percent   REAL    NOT NULL,        -- the highest seen
    first_seen_ms  INTEGER NOT NULL,
    last_seen_ms   INTEGER NOT NULL,
    PRIMARY KEY (agent, window_minutes, resets_at_ms)
) WITHOUT ROWID;

DROP VIEW entry_keys;
CREATE VIEW entry_keys AS
SELECT id, ts_ms, session_id, project,
       coalesce(model, '') AS model,
       speed IS 'fast' AS fast,
       coalesce((SELECT max(above) FROM price_tiers
                 WHERE above < input + cache_write_5m + cache_write_1h + cache_read), 0) AS tier,
       coalesce(inference_geo, '') AS geo,
       cost_usd IS NOT NULL AS has_cost_usd,
       input, output, cache_write_5m, cache_write_1h, cache_read, web_search,
       coalesce(cost_usd, 0) AS cost_usd,
       host, agent
FROM entries;

-- The aggregates are keyed by agent too (its last column), so every report can be of
-- some agents and say which agents each of its rows holds. Refilled by the rebuild that
-- follows this migration (Step::RebuildAggregates).
DROP TABLE usage_by_time;
DROP TABLE usage_by_day;
DROP TABLE usage_by_session;

CREATE TABLE usage_by_time (
    bucket_ms      INTEGER NOT NULL,
    model          TEXT    NOT NULL,
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
    agent          TEXT    NOT NULL,
    PRIMARY KEY (bucket_ms, model, project, fast, tier, geo, has_cost_usd, agent)
) WITHOUT ROWID;

CREATE TABLE usage_by_day (
    day_ms         INTEGER NOT NULL,
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
    agent          TEXT    NOT NULL,
    PRIMARY KEY (day_ms, model, fast, tier, geo, has_cost_usd, agent)
) WITHOUT ROWID;

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
    agent          TEXT    NOT NULL,
    PRIMARY KEY (session_id, bucket_ms, model, project, fast, tier, geo, has_cost_usd, agent)
) WITHOUT ROWID;
