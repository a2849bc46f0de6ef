-- Host ids and monotonic counters (issue 12).
--
-- Every ledger gets a stable id the moment it is made (or upgraded to this schema): the
-- `host` label of `cco-stats metrics`, and what `status` shows. 16 random bytes from
-- SQLite's PRNG (seeded from the OS), as hex; never changed afterwards. Its human name
-- (`host_name`, the machine's hostname or `--host-name`) is written by the same
-- migration's caller (Store::migrate), since SQL cannot read the hostname. `created_ms`
-- is the `_created` time of OpenMetrics counters that existed before their first render.
INSERT OR IGNORE INTO meta (key, value) VALUES ('host_id', lower(hex(randomblob(16))));
INSERT OR IGNORE INTO meta (key, value)
VALUES ('created_ms', CAST(unixepoch('subsec') * 1000 AS INTEGER));

-- What `cco-stats metrics` last printed for each counter series, so that no counter it
-- prints ever goes down (src/ledger/counters.rs): a series' value is its current view
-- (the sums of the rows, at the current prices) plus `absorbed`, every decrease of that
-- view since the series was first printed (a price fix that lowers a price, a row
-- replaced by a copy with fewer tokens, a transcript re-read from 0 between two flushes).
-- `series` is the metric name and its labels as printed, host label left out.
CREATE TABLE counter_floor (
    series     TEXT    PRIMARY KEY,
    printed    REAL    NOT NULL,    -- the value last printed
    absorbed   REAL    NOT NULL,    -- decreases of the view swallowed so far (>= 0)
    created_ms INTEGER NOT NULL     -- first printed: OpenMetrics `_created`
) WITHOUT ROWID;
