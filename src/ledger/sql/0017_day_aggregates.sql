-- Whole UTC days by project and by session: what the projects, models and sessions
-- reports (and the dashboard's pages) read for the whole days of their range, and the
-- dated reports of one project. A year of a heavy user is a thousand or so rows by
-- project-day and ten thousand by session-day, against a hundred thousand quarter hours
-- in usage_by_time and usage_by_session; the parts of a range outside whole UTC days are
-- read from the raw rows (src/ledger/query.rs). Kept with the other aggregates, under the
-- same watermark (src/ledger/aggregate.rs, merge.sql).
--
-- Filled here from the quarter hours, which hold every row up to the watermark: a day is
-- 96 of them (86400000 ms is aggregate::DAY_MS).
CREATE TABLE usage_by_project_day (
    day_ms         INTEGER NOT NULL,
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
    PRIMARY KEY (day_ms, model, project, fast, tier, geo, has_cost_usd, agent)
) WITHOUT ROWID;

-- Keyed by day first (usage_by_session is keyed by session first, for one session's
-- page): a range of days is read without the sessions outside it.
CREATE TABLE usage_by_session_day (
    session_id     TEXT    NOT NULL,
    day_ms         INTEGER NOT NULL,
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
    PRIMARY KEY (day_ms, session_id, model, project, fast, tier, geo, has_cost_usd, agent)
) WITHOUT ROWID;

INSERT INTO usage_by_project_day
SELECT bucket_ms / 86400000 * 86400000, model, project, fast, tier, geo, has_cost_usd,
       sum(input), sum(output), sum(cache_write_5m), sum(cache_write_1h), sum(cache_read),
       sum(web_search), sum(cost_usd), sum(requests), agent
FROM usage_by_time
GROUP BY 1, model, project, fast, tier, geo, has_cost_usd, agent;

INSERT INTO usage_by_session_day
SELECT session_id, bucket_ms / 86400000 * 86400000, model, project, fast, tier, geo,
       has_cost_usd, min(first_ms), max(last_ms),
       sum(input), sum(output), sum(cache_write_5m), sum(cache_write_1h), sum(cache_read),
       sum(web_search), sum(cost_usd), sum(requests), agent
FROM usage_by_session
GROUP BY session_id, 2, model, project, fast, tier, geo, has_cost_usd, agent;
