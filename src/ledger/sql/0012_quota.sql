-- The official quota figures (issue 20): the samples of every agent's quota windows, from
-- Claude Code's status-line input (`rate_limits.five_hour`, `.seven_day`, any other
-- window by name), Codex's rollouts (`rate_limits.primary`, `.secondary`) and the
-- "usage limit reached|<epoch>" lines Claude Code writes to transcripts.
--
-- A window is named (`five_hour`, `seven_day`, ...) and identified by its reset time, so
-- its history survives restarts and gaps. A row is one value of a window's use as first
-- seen, extended (`last_seen_ms`) while the same value keeps coming: one row per change,
-- not per call. Samples may arrive out of order (an archived rollout read late): the
-- peak is the max of the rows and the latest the row last seen, so neither moves back.
CREATE TABLE quota_samples (
    agent          TEXT    NOT NULL,
    window_name    TEXT    NOT NULL,
    resets_at_ms   INTEGER NOT NULL,
    seen_ms        INTEGER NOT NULL,        -- this value first seen
    last_seen_ms   INTEGER NOT NULL,        -- and last seen
    used_percent   REAL    NOT NULL,
    window_minutes INTEGER,                 -- the window's length, where the agent says it
    hit            INTEGER NOT NULL DEFAULT 0, -- a limit-hit line, not a percent the agent sent
    PRIMARY KEY (agent, window_name, resets_at_ms, seen_ms)
) WITHOUT ROWID;

-- Codex's windows of migration 11, named as Claude Code names the same lengths.
INSERT INTO quota_samples
SELECT agent,
       CASE window_minutes WHEN 300 THEN 'five_hour' WHEN 10080 THEN 'seven_day'
                           ELSE window_minutes || 'm' END,
       resets_at_ms, first_seen_ms, last_seen_ms, used_percent, window_minutes, 0
FROM rate_limits;
DROP TABLE rate_limits;
