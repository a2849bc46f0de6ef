-- The alerts fired (issue 20, item 4): one row per threshold, period and level, written
-- when `watch`, `live` or `check` fires a crossing, so that each crossing fires once per
-- day, week, month or quota window, across restarts and between processes.
--
-- `threshold` is the finding's id (`budget/daily/all`, `quota/codex/seven_day`, …),
-- `period` the period's first day or the window's reset time, `level` 'warn' or 'over'.
CREATE TABLE alerts_fired (
    threshold TEXT    NOT NULL,
    period    TEXT    NOT NULL,
    level     TEXT    NOT NULL,
    fired_ms  INTEGER NOT NULL,
    value     REAL    NOT NULL,             -- the figure that crossed (dollars or percent)
    PRIMARY KEY (threshold, period, level)
) WITHOUT ROWID;
