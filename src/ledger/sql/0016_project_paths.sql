-- The working directory each project is named after (issue 21): `--project` finds a
-- project by its path or its folder's name, and tables show `~/dev/app` where the ledger
-- keys `-home-dev-app`. A project's name encodes its directory lossily (every character
-- outside [A-Za-z0-9] is '-'), so the path is read from the rows' `cwd`, and only a cwd
-- whose encoding is the project's name is taken (a session started in one folder may
-- work in another). Filled from the rows in Rust (`ledger::projects::learn`), here from
-- all of them and at the end of each pass from those above the aggregates' watermark;
-- the first path met stays.
CREATE TABLE project_paths (
    project TEXT PRIMARY KEY,
    path    TEXT NOT NULL
) WITHOUT ROWID;
