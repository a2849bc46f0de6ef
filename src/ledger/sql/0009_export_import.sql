-- Export and import (issue 12, part 4): rows keep the host they were recorded on, and
-- every write of a row leaves a change marker, so `export --since CURSOR` finds the rows
-- added or upgraded since an earlier export (src/ledger/exchange.rs).

-- The other ledgers rows were imported from, by their `meta.host_id`; `name` is the
-- host name their latest imported row gave. This ledger's own host is not listed here.
CREATE TABLE hosts (
    id      INTEGER PRIMARY KEY,
    host_id TEXT    NOT NULL UNIQUE,
    name    TEXT    NOT NULL
);

-- The row's origin: NULL for this ledger's own host (meta.host_id), the common case,
-- which keeps local rows as small as before; else the host it was imported from.
ALTER TABLE entries ADD COLUMN host INTEGER REFERENCES hosts(id);

-- The change marker: every flush (ingest or import) that inserts or overwrites rows
-- stamps them with the next value of meta.change_seq. An export reports the counter as
-- its cursor; `--since` reads the rows stamped after it through this index. Rows from
-- before this migration carry 0, which every cursor is at or past, and a first export
-- (without --since) writes them all. The counter only grows, also when rows are deleted.
ALTER TABLE entries ADD COLUMN changed_seq INTEGER NOT NULL DEFAULT 0;
CREATE INDEX entries_by_change ON entries(changed_seq);
INSERT OR IGNORE INTO meta (key, value) VALUES ('change_seq', '0');

-- entry_keys as in migration 6, with the row's host: `--host` and the `hosts` view read
-- raw rows through it (the aggregates are not kept by host).
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
       host
FROM entries;
