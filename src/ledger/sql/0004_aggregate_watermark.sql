-- The aggregates are merged in bulk at the end of each pass instead of at every flush
-- (see src/aggregate.rs): they hold the rows up to meta.aggregated_through, and reports
-- add the rows above it. Every row so far is in them.
INSERT OR REPLACE INTO meta (key, value)
SELECT 'aggregated_through', coalesce(max(id), 0) FROM entries;
