-- The dedup index becomes a table merged in bulk (see src/msgindex.rs): an index on
-- random message ids took every new row to a different page, and every 100-row commit
-- rewrote about a hundred of them. Lookups: message_index up to meta.indexed_through,
-- rows above it from memory.
DROP INDEX entries_by_message;

CREATE TABLE message_index (
    message_id TEXT    NOT NULL,
    entry_id   INTEGER NOT NULL,
    PRIMARY KEY (message_id, entry_id)
) WITHOUT ROWID;

INSERT INTO message_index (message_id, entry_id)
SELECT message_id, id FROM entries WHERE message_id IS NOT NULL ORDER BY message_id;

INSERT OR REPLACE INTO meta (key, value)
SELECT 'indexed_through', coalesce(max(id), 0) FROM entries;
