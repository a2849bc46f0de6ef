//! `cco-stats doctor`: checks what can go wrong around the ledger and says what to do.
//!
//! Each check ends as ok, a warning (worth knowing, nothing broken) or a problem (the
//! exit code says so). The checks read only: doctor never changes the database.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::ingest::discover::{self, DirCache, Roots};
use crate::ledger::aggregate;
use crate::ledger::{self, Store};
use crate::render::thousands;
use crate::report::pricing::PriceTable;

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
pub enum Level {
    Ok,
    Warning,
    Problem,
}

pub struct Finding {
    pub level: Level,
    pub text: String,
}

/// Claude Code's default retention: transcripts older than this are deleted at start-up.
const DEFAULT_CLEANUP_DAYS: i64 = 30;

pub fn check(db: &Path, roots: &Roots, prices: &PriceTable) -> Result<Vec<Finding>> {
    let mut findings = Vec::new();
    let mut say = |level, text: String| findings.push(Finding { level, text });

    // Data roots and what is readable under them.
    if roots.paths.is_empty() {
        say(Level::Warning, "no Claude data root found (~/.config/claude, ~/.claude); set CLAUDE_CONFIG_DIR or pass --source".into());
    }
    let found = discover::find_transcripts(&roots.paths, &DirCache::default(), |_, _| true);
    for root in &roots.paths {
        let count = found
            .transcripts
            .iter()
            .filter(|t| t.path.starts_with(root))
            .count();
        say(
            Level::Ok,
            format!(
                "data root {}: {} transcripts",
                root.display(),
                thousands(count as u64)
            ),
        );
    }
    for warning in found.warnings.iter().take(10) {
        say(Level::Warning, format!("cannot read {warning}"));
    }

    // Claude Code's own retention.
    for (settings, days) in retention(roots) {
        match days {
            Some(days) if days > DEFAULT_CLEANUP_DAYS => say(
                Level::Ok,
                format!(
                    "{}: Claude Code keeps transcripts {days} days",
                    settings.display()
                ),
            ),
            days => say(
                Level::Warning,
                format!(
                    "{}: Claude Code deletes transcripts after {} days. The ledger keeps what it has read, so run cco-stats at least that often (cron or a user service), or raise \"cleanupPeriodDays\" in that file",
                    settings.display(),
                    days.unwrap_or(DEFAULT_CLEANUP_DAYS)
                ),
            ),
        }
    }

    // The database itself.
    if !db.exists() {
        say(
            Level::Warning,
            format!("no database at {} yet: run `cco-stats once`", db.display()),
        );
        return Ok(findings);
    }
    match ledger::permissions(db) {
        Ok(mode) if mode & 0o077 == 0 => say(
            Level::Ok,
            format!("database {} is private ({mode:o})", db.display()),
        ),
        Ok(mode) => say(
            Level::Warning,
            format!(
                "database {} is readable by others ({mode:o}); the next write narrows it to 600",
                db.display()
            ),
        ),
        Err(e) => say(Level::Problem, format!("database {}: {e}", db.display())),
    }
    let store = match Store::open_read_only(db) {
        Ok(store) => store,
        Err(e) => {
            say(Level::Problem, format!("{e:#}"));
            return Ok(findings);
        }
    };
    let conn = store.conn();
    let integrity: Vec<String> = conn
        .prepare("PRAGMA quick_check")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()
        .unwrap_or_else(|e| vec![e.to_string()]);
    if integrity == ["ok"] {
        say(
            Level::Ok,
            format!(
                "database {} passes SQLite's integrity check ({})",
                db.display(),
                crate::ingest::human_bytes(store.size_on_disk())
            ),
        );
    } else {
        say(
            Level::Problem,
            format!(
                "database {} is damaged ({}). Copy it aside, then start a new ledger with --db; transcripts still on disk will be read again",
                db.display(),
                integrity
                    .iter()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        );
        return Ok(findings);
    }
    match aggregate::consistent(conn) {
        Ok(true) => say(
            Level::Ok,
            "report aggregates agree with the ledger's rows".into(),
        ),
        Ok(false) => say(
            Level::Problem,
            "report aggregates disagree with the ledger's rows: run `cco-stats rebuild`".into(),
        ),
        Err(e) => say(
            Level::Problem,
            format!("cannot compare the report aggregates: {e:#}"),
        ),
    }

    // What the ledger holds.
    let (rows, skipped): (i64, i64) = conn.query_row(
        "SELECT (SELECT count(*) FROM entries), (SELECT coalesce(sum(lines_skipped), 0) FROM files)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    say(
        Level::Ok,
        format!("{} responses in the ledger", thousands(rows as u64)),
    );
    if skipped > 0 {
        let mut stmt = conn.prepare(
            "SELECT f.path, s.line_no, s.reason FROM skipped_lines s JOIN files f ON f.id = s.file_id
             ORDER BY f.path, s.line_no LIMIT 5",
        )?;
        let first: Vec<String> = stmt
            .query_map([], |r| {
                let path: Vec<u8> = r.get(0)?;
                Ok(format!(
                    "{}:{}: {}",
                    String::from_utf8_lossy(&path),
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        say(
            Level::Warning,
            format!(
                "{} transcript lines could not be read and were skipped; the first:\n    {}",
                thousands(skipped as u64),
                first.join("\n    ")
            ),
        );
    }
    let models: Vec<String> = conn
        .prepare("SELECT DISTINCT model FROM usage_by_time WHERE model != '' AND requests > 0 ORDER BY model")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let unpriced: Vec<&String> = models
        .iter()
        .filter(|m| prices.resolve(m).is_none())
        .collect();
    if unpriced.is_empty() {
        say(
            Level::Ok,
            format!("all {} models in the ledger have a price", models.len()),
        );
    } else {
        say(
            Level::Warning,
            format!(
                "no price for {}: their cost is left out; add them to ~/.config/cco-stats/prices.toml",
                unpriced
                    .iter()
                    .map(|m| m.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    match store.meta("last_ingest")? {
        Some(json) => {
            let at = serde_json::from_str::<crate::ingest::PassStats>(&json)
                .map(|p| p.finished_at)
                .unwrap_or_default();
            say(Level::Ok, format!("last ingest that read new lines: {at}"));
        }
        None => say(
            Level::Warning,
            "nothing has been ingested yet: run `cco-stats once`".into(),
        ),
    }
    Ok(findings)
}

/// `cleanupPeriodDays` from each root's settings.json (`None`: not set, the default).
fn retention(roots: &Roots) -> Vec<(PathBuf, Option<i64>)> {
    roots
        .paths
        .iter()
        .map(|root| root.join("settings.json"))
        .filter(|settings| settings.exists() || settings.parent().is_some_and(Path::is_dir))
        .map(|settings| {
            let days = std::fs::read_to_string(&settings)
                .ok()
                .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
                .and_then(|v| v.get("cleanupPeriodDays").and_then(|d| d.as_i64()));
            (settings, days)
        })
        .collect()
}

pub fn render(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| {
            let tag = match f.level {
                Level::Ok => "ok     ",
                Level::Warning => "warning",
                Level::Problem => "PROBLEM",
            };
            format!("{tag}  {}\n", f.text)
        })
        .collect()
}
