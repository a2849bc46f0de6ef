-- The ledger: raw facts only. Costs and periods are computed at query time, so a price fix
-- or another time zone re-prices and re-groups the whole history.

-- One cursor per transcript file: where the next read starts, and what the file looked
-- like when we last read it (so an unchanged file costs one stat, and a truncated or
-- replaced one is noticed). Rows stay when the file is deleted: the ledger outlives it.
CREATE TABLE files (
    id            INTEGER PRIMARY KEY,
    path          BLOB    NOT NULL UNIQUE,  -- raw OS bytes: paths need not be UTF-8
    project       TEXT    NOT NULL,         -- encoded cwd directory under projects/
    session_id    TEXT    NOT NULL,         -- file stem, or the session dir of subagents/
    dev           INTEGER NOT NULL,
    inode         INTEGER NOT NULL,
    size          INTEGER NOT NULL,
    mtime_ns      INTEGER NOT NULL,
    offset        INTEGER NOT NULL,         -- bytes consumed: always the end of a whole line
    lines         INTEGER NOT NULL,         -- whole lines consumed
    lines_skipped INTEGER NOT NULL DEFAULT 0,
    head_len      INTEGER NOT NULL,         -- fingerprint of the first head_len bytes
    head_hash     INTEGER NOT NULL,
    updated_ms    INTEGER NOT NULL
);

-- One row per billable response, after deduplication (the rules: src/dedup.rs).
-- Dedup looks rows up by message_id (since migration 3 through message_index). No other
-- index: each one is written at every flush.
CREATE TABLE entries (
    id              INTEGER PRIMARY KEY,
    file_id         INTEGER NOT NULL REFERENCES files(id),
    ts_ms           INTEGER NOT NULL,       -- UTC, milliseconds since the epoch
    session_id      TEXT    NOT NULL,       -- from the file's path
    line_session_id TEXT,                   -- the line's own sessionId, if not session_id
    project         TEXT    NOT NULL,
    cwd             TEXT,
    model           TEXT,                   -- NULL for <synthetic> placeholders
    message_id      TEXT,
    request_id      TEXT,
    is_sidechain    INTEGER NOT NULL,
    speed           TEXT,
    input           INTEGER NOT NULL,
    output          INTEGER NOT NULL,
    cache_write_5m  INTEGER NOT NULL,
    cache_write_1h  INTEGER NOT NULL,
    cache_read      INTEGER NOT NULL,
    web_search      INTEGER NOT NULL,
    cost_usd        REAL,
    version         TEXT
);
CREATE INDEX entries_by_message ON entries(message_id) WHERE message_id IS NOT NULL;

-- The first lines of each file that could not be read, for `status` and `doctor`.
-- Only the first few per file are kept; files.lines_skipped has the full count.
CREATE TABLE skipped_lines (
    file_id     INTEGER NOT NULL REFERENCES files(id),
    line_no     INTEGER NOT NULL,           -- 1-based
    byte_offset INTEGER NOT NULL,
    reason      TEXT    NOT NULL,
    PRIMARY KEY (file_id, line_no)
);

-- Directory listings, so that an unchanged folder costs one stat (see discover::DirCache).
-- A cache: losing it costs one listing per folder, never a row.
CREATE TABLE dirs (
    path     BLOB    PRIMARY KEY,
    inode    INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    children BLOB    NOT NULL
);

-- Small facts about the ledger itself (the last ingest summary).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
