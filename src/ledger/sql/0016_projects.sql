-- Every project of the ledger's rows and the working directory it is named after
-- (issue 21): `--project` finds a project by its path or its folder's name, and tables
-- show `~/dev/app` where the ledger keys `-home-dev-app`. Listing the projects from the
-- aggregates scanned every session's rows (0.6 s at half a million responses); this
-- table has a row per project.
--
-- A project's name encodes its directory lossily (every character outside [A-Za-z0-9]
-- is '-'), so `path` is read from the rows' `cwd`, and only a cwd whose encoding is the
-- project's name is taken (a session started in one folder may work in another); NULL
-- until one is seen, then the first one stays. Filled in Rust (`ledger::projects::learn`),
-- here from all rows and at the end of each pass from those above the aggregates'
-- watermark.
CREATE TABLE projects (
    project TEXT PRIMARY KEY,
    path    TEXT
) WITHOUT ROWID;
