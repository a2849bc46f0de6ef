-- Whole UTC days without the project: what `daily`, `weekly` and `monthly` read when no
-- --project is given. A month of history is a few hundred rows here against tens of
-- thousands of quarter hours in usage_by_time, and a local day is a UTC day give or take
-- the quarter hours between the two midnights, which the report reads from usage_by_time
-- (src/query.rs, date_groups). Kept with the other aggregates (src/aggregate.rs).
CREATE TABLE usage_by_day (
    day_ms         INTEGER NOT NULL,        -- UTC midnight
    model          TEXT    NOT NULL,
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
    PRIMARY KEY (day_ms, model, fast, long_context, has_cost_usd)
) WITHOUT ROWID;
