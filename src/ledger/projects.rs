//! The projects the ledger knows and the working directory each is named after
//! (`project_paths`, migration 16): what `--project` is matched against and what tables
//! show in place of the encoded name (see `report::projects`).
//!
//! A row's `cwd` names its project's directory only when encoding it gives the project's
//! name: Claude Code names the folder after the directory a session started in, and a
//! session may `cd` elsewhere.

use std::collections::BTreeMap;

use anyhow::Result;
use rusqlite::{Connection, params};

use crate::ledger::aggregate;
use crate::sources::codex::project_of_cwd as encoded;

/// Learns the paths of projects from the rows after `after_id` (the aggregates'
/// watermark at the end of a pass; 0 for all). Call inside a write transaction.
pub fn learn(conn: &Connection, after_id: i64) -> Result<()> {
    let mut read = conn.prepare_cached(
        "SELECT DISTINCT project, cwd FROM entries WHERE id > ?1 AND cwd IS NOT NULL",
    )?;
    let pairs = read
        .query_map([after_id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut write =
        conn.prepare_cached("INSERT OR IGNORE INTO project_paths (project, path) VALUES (?1, ?2)")?;
    for (project, cwd) in pairs {
        let path = without_trailing_slash(&cwd);
        if encoded(path) == project {
            write.execute(params![project, path])?;
        }
    }
    Ok(())
}

/// Every project of the ledger's rows, with its path where one is known.
pub fn known(conn: &Connection) -> Result<BTreeMap<String, Option<String>>> {
    let mut projects: BTreeMap<String, Option<String>> = BTreeMap::new();
    // The aggregates hold every merged row's project; the rows above the watermark are
    // read as they are (reports are exact before a pass merged them).
    let mut names = conn.prepare_cached(
        "SELECT project FROM usage_by_session GROUP BY project
         UNION SELECT project FROM entries WHERE id > ?1",
    )?;
    let watermark = aggregate::watermark(conn)?;
    for name in names.query_map([watermark], |r| r.get::<_, String>(0))? {
        projects.insert(name?, None);
    }
    let mut paths = conn.prepare_cached("SELECT project, path FROM project_paths")?;
    for pair in paths.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
        let (project, path) = pair?;
        if let Some(slot) = projects.get_mut(&project) {
            *slot = Some(path);
        }
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
