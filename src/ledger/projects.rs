//! The projects the ledger knows and the working directory each is named after
//! (`projects`, migration 16): what `--project` is matched against and what tables show
//! in place of the encoded name (see `report::projects`).
//!
//! A row's `cwd` names its project's directory only when encoding it gives the project's
//! name: Claude Code names the folder after the directory a session started in, and a
//! session may `cd` elsewhere.

use std::collections::BTreeMap;

use anyhow::Result;
use rusqlite::{Connection, params};

use crate::ledger::aggregate;
use crate::model::project_of_cwd as encoded;

/// Learns the projects, and their paths, of the rows after `after_id` (the aggregates'
/// watermark at the end of a pass; 0 for all). Call inside a write transaction.
pub fn learn(conn: &Connection, after_id: i64) -> Result<()> {
    let mut read =
        conn.prepare_cached("SELECT DISTINCT project, cwd FROM entries WHERE id > ?1")?;
    let pairs = read
        .query_map([after_id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut write = conn.prepare_cached(
        "INSERT INTO projects (project, path) VALUES (?1, ?2)
         ON CONFLICT (project) DO UPDATE SET path = excluded.path
         WHERE path IS NULL AND excluded.path IS NOT NULL",
    )?;
    for (project, cwd) in pairs {
        let path = cwd
            .as_deref()
            .map(without_trailing_slash)
            .filter(|path| encoded(path) == project);
        write.execute(params![project, path])?;
    }
    Ok(())
}

/// Every project of the ledger's rows, with its path where one is known.
pub fn known(conn: &Connection) -> Result<BTreeMap<String, Option<String>>> {
    let mut read = conn.prepare_cached("SELECT project, path FROM projects")?;
    let mut projects = read
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<BTreeMap<String, Option<String>>>>()?;
    // The rows a pass has not merged yet (reports are exact before it did).
    let mut pending = conn.prepare_cached("SELECT DISTINCT project FROM entries WHERE id > ?1")?;
    for name in pending.query_map([aggregate::watermark(conn)?], |r| r.get::<_, String>(0))? {
        projects.entry(name?).or_default();
    }
    Ok(projects)
}

/// `/home/u/app/` → `/home/u/app` (the root stays `/`).
pub fn without_trailing_slash(path: &str) -> &str {
    let trimmed = path.trim_end_matches(['/', '\\']);
    if trimmed.is_empty() {
        &path[..1.min(path.len())]
    } else {
        trimmed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_slashes_go() {
        assert_eq!(without_trailing_slash("/home/u/app/"), "/home/u/app");
        assert_eq!(without_trailing_slash("/"), "/");
    }
}
