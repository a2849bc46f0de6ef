//! `cco-stats doctor`: checks what can go wrong around the ledger and says what to do.
//!
//! Each check ends as ok, a warning (worth knowing, nothing broken) or a problem (the
//! exit code says so). The checks read only: doctor never changes the database.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::ingest::discover;
use crate::ledger::aggregate;
use crate::ledger::{self, Store};
use crate::model::Agent;
use crate::model::DirCache;
use crate::render::thousands;
use crate::report::pricing::PriceTable;
use crate::sources::claude::roots::Roots;
use crate::sources::{self, Folder};
use crate::visible;

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
pub enum Level {
    Ok,
    Warning,
    Problem,
}

pub struct Finding {
    pub level: Level,
    pub text: String,
    /// Lines under the text (the first skipped lines, say), one each.
    pub details: Vec<String>,
}

/// Claude Code's default retention: transcripts older than this are deleted at start-up.
const DEFAULT_CLEANUP_DAYS: i64 = 30;

pub fn check(db: &Path, roots: &Roots, prices: &PriceTable) -> Result<Vec<Finding>> {
    let mut findings = Findings::default();
    check_roots(&mut findings, roots);
    check_retention(&mut findings, roots);
    if let Some(store) = check_database(&mut findings, db) {
        check_contents(&mut findings, &store, prices)?;
    }
    Ok(findings.0)
}

#[derive(Default)]
struct Findings(Vec<Finding>);

impl Findings {
    fn say(&mut self, level: Level, text: impl Into<String>) {
        self.say_with(level, text, Vec::new());
    }

    fn say_with(&mut self, level: Level, text: impl Into<String>, details: Vec<String>) {
        self.0.push(Finding {
            level,
            text: text.into(),
            details,
        });
    }
}

/// The data roots, and what is readable under them.
fn check_roots(findings: &mut Findings, roots: &Roots) {
    if roots.paths.is_empty() {
        findings.say(
            Level::Warning,
            "no Claude data root found (~/.config/claude, ~/.claude); set CLAUDE_CONFIG_DIR or pass --source",
        );
    }
    let found = discover::find_transcripts(
        &crate::sources::claude::folders_of(&roots.paths),
        &DirCache::default(),
        |_, _| true,
    );
    for root in &roots.paths {
        let count = found
            .transcripts
            .iter()
            .filter(|t| t.path.starts_with(root))
            .count();
        findings.say(
            Level::Ok,
            format!(
                "data root {}: {} transcripts",
                root.display(),
                thousands(count as u64)
            ),
        );
    }
    for warning in found.warnings.iter().take(10) {
        findings.say(Level::Warning, format!("cannot read {warning}"));
    }
    check_other_agents(findings, roots);
}

/// Every folder the other agents' sources look in, found or not: a folder that is not
/// there is an agent not used here (or not yet), said so that a wrong `CODEX_HOME` shows.
fn check_other_agents(findings: &mut Findings, roots: &Roots) {
    let folders: Vec<Folder> = sources::folders(roots)
        .into_iter()
        .filter(|f| f.agent != Agent::Claude)
        .collect();
    let found = discover::find_transcripts(&folders, &DirCache::default(), |_, _| true);
    for folder in &folders {
        if !folder.path.is_dir() {
            findings.say(
                Level::Ok,
                format!(
                    "{} folder {}: not there",
                    folder.agent,
                    folder.path.display()
                ),
            );
            continue;
        }
        let count = found
            .transcripts
            .iter()
            .filter(|t| t.path.starts_with(&folder.path))
            .count()
            + folder.database().map_or(0, |reader| {
                let databases = sources::database::databases_in(&folder.path, reader);
                databases.len() + reader.documents(&folder.path).len()
            });
        findings.say(
            Level::Ok,
            format!(
                "{} folder {}: {} files",
                folder.agent,
                folder.path.display(),
                thousands(count as u64)
            ),
        );
    }
    for warning in found.warnings.iter().take(10) {
        findings.say(Level::Warning, format!("cannot read {warning}"));
    }
}

/// Claude Code's own retention: what it deletes, the ledger must have read before.
fn check_retention(findings: &mut Findings, roots: &Roots) {
    for (settings, days) in retention(roots) {
        match days {
            Some(days) if days > DEFAULT_CLEANUP_DAYS => findings.say(
                Level::Ok,
                format!(
                    "{}: Claude Code keeps transcripts {days} days",
                    settings.display()
                ),
            ),
            days => findings.say(
                Level::Warning,
                format!(
                    "{}: Claude Code deletes transcripts after {} days. The ledger keeps what it has read, so run cco-stats at least that often (cron or a user service), or raise \"cleanupPeriodDays\" in that file",
                    settings.display(),
                    days.unwrap_or(DEFAULT_CLEANUP_DAYS)
                ),
            ),
        }
    }
}

/// The database file: there, private, undamaged, its aggregates in agreement. The ledger,
/// opened, when the contents are worth checking.
fn check_database(findings: &mut Findings, db: &Path) -> Option<Store> {
    if !db.exists() {
        findings.say(
            Level::Warning,
            format!("no database at {} yet: run `cco-stats once`", db.display()),
        );
        return None;
    }
    let store = match Store::open_read_only(db) {
        Ok(store) => store,
        Err(e) => {
            // A file damaged where SQLite reads its schema fails here, before the
            // integrity check: say what it means, as every command's error does.
            let text = match super::advice(&e) {
                Some(advice) => format!("{}; {advice}", super::describe(&e)),
                None => super::describe(&e),
            };
            findings.say(Level::Problem, text);
            return None;
        }
    };
    // Only now is the file known to be a ledger, whose mode the next write narrows.
    match ledger::permissions(db) {
        Ok(mode) if mode & 0o077 == 0 => findings.say(
            Level::Ok,
            format!("database {} is private ({mode:o})", db.display()),
        ),
        Ok(mode) => findings.say(
            Level::Warning,
            format!(
                "database {} is readable by others ({mode:o}); the next write narrows it to 600",
                db.display()
            ),
        ),
        Err(e) => findings.say(Level::Problem, format!("database {}: {e}", db.display())),
    }
    let integrity = store.quick_check();
    if integrity != ["ok"] {
        findings.say(
            Level::Problem,
            format!(
                "database {} is damaged ({}). Copy it aside, then start a new ledger with --db; transcripts still on disk will be read again",
                db.display(),
                integrity[..integrity.len().min(3)].join("; ")
            ),
        );
        return None;
    }
    findings.say(
        Level::Ok,
        format!(
            "database {} passes SQLite's integrity check ({})",
            db.display(),
            crate::ingest::human_bytes(store.size_on_disk())
        ),
    );
    match aggregate::consistent(store.conn()) {
        Ok(true) => findings.say(Level::Ok, "report aggregates agree with the ledger's rows"),
        Ok(false) => findings.say(
            Level::Problem,
            "report aggregates disagree with the ledger's rows: run `cco-stats rebuild`",
        ),
        Err(e) => findings.say(
            Level::Problem,
            format!("cannot compare the report aggregates: {e:#}"),
        ),
    }
    Some(store)
}

/// What the ledger holds: rows, lines it could not read, models without a price, and
/// when it last read anything.
fn check_contents(findings: &mut Findings, store: &Store, prices: &PriceTable) -> Result<()> {
    let held = store.holdings()?;
    findings.say(
        Level::Ok,
        format!("{} responses in the ledger", thousands(held.rows)),
    );
    if held.lines_skipped > 0 {
        let first: Vec<String> = store
            .first_skipped(5)?
            .iter()
            .map(|s| format!("{}:{}: {}", s.file, s.line, s.reason))
            .collect();
        findings.say_with(
            Level::Warning,
            format!(
                "{} transcript lines could not be read or taken and were skipped; the first:",
                thousands(held.lines_skipped),
            ),
            first,
        );
    }
    let models = store.models_in_use()?;
    let unpriced: Vec<&str> = models
        .iter()
        .map(String::as_str)
        .filter(|m| prices.resolve(m).is_none())
        .collect();
    if unpriced.is_empty() {
        findings.say(
            Level::Ok,
            format!("all {} models in the ledger have a price", models.len()),
        );
    } else {
        findings.say(
            Level::Warning,
            format!(
                "no price for {}: their cost is left out; add them to ~/.config/cco-stats/prices.toml",
                unpriced.join(", ")
            ),
        );
    }
    match store.meta("last_ingest")? {
        Some(json) => {
            let at = serde_json::from_str::<crate::ingest::PassStats>(&json)
                .map(|p| p.finished_at)
                .unwrap_or_default();
            findings.say(
                Level::Ok,
                format!(
                    "last pass that read new lines: {}",
                    crate::command::status::local(&at)
                ),
            );
        }
        None => findings.say(
            Level::Warning,
            "nothing has been ingested yet: run `cco-stats once`",
        ),
    }
    Ok(())
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

/// The findings for people: every text and detail names paths, models or reasons from
/// data, so each is shown through `visible`, a line of its own.
pub fn render(findings: &[Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        let tag = match f.level {
            Level::Ok => "ok     ",
            Level::Warning => "warning",
            Level::Problem => "PROBLEM",
        };
        out.push_str(&format!("{tag}  {}\n", visible::text(&f.text)));
        for detail in &f.details {
            out.push_str(&format!("    {}\n", visible::text(detail)));
        }
    }
    out
}
