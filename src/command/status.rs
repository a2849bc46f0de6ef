//! `cco-stats status`: what the ledger holds, where it reads from, and how the last ingest
//! went. Computed into one struct, then printed as text (its values shown through
//! `visible`) or JSON (exact).

use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use crate::ingest::changes;
use crate::ingest::{PassStats, human_bytes};
use crate::ledger::LAST_FULL_PASS;
use crate::ledger::inspect::{AgentHoldings, SkippedAt};
use crate::ledger::{Host, Store};
use crate::render::thousands;
use crate::sources::claude::roots::{Roots, RootsFrom};
use crate::visible;

#[derive(Debug, Serialize)]
pub struct Status {
    pub database: String,
    pub database_exists: bool,
    pub database_bytes: u64,
    /// The ledger's host id and name (`metrics` labels its series with the id).
    pub host: Option<Host>,
    pub roots: Vec<String>,
    pub roots_from: &'static str,
    pub tracked_files: u64,
    pub lines_parsed: u64,
    pub bytes_parsed: u64,
    pub rows: u64,
    /// Files and rows per agent.
    pub agents: Vec<AgentHoldings>,
    pub lines_skipped: u64,
    pub first_skipped: Vec<SkippedAt>,
    pub first_entry: Option<String>,
    pub last_entry: Option<String>,
    /// The last pass that read new bytes.
    pub last_ingest: Option<PassStats>,
    /// When a pass last walked every root (`once`, a report, `watch`'s rescan).
    pub last_full_pass: Option<String>,
    /// How the last `watch` or `live` learnt of changes (notify or poll), as it recorded.
    pub watch: Option<changes::Record>,
    /// Whether the process that wrote `watch` still runs (`None`: no record).
    pub watch_running: Option<bool>,
}

pub fn gather(db: &Path, roots: &Roots) -> Result<Status> {
    let mut status = Status {
        database: db.display().to_string(),
        database_exists: db.exists(),
        database_bytes: 0,
        host: None,
        roots: roots
            .paths
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        roots_from: match roots.from {
            RootsFrom::Flag => "--source",
            RootsFrom::Env => "CLAUDE_CONFIG_DIR",
            RootsFrom::Defaults => "defaults",
        },
        tracked_files: 0,
        lines_parsed: 0,
        bytes_parsed: 0,
        rows: 0,
        agents: Vec::new(),
        lines_skipped: 0,
        first_skipped: Vec::new(),
        first_entry: None,
        last_entry: None,
        last_ingest: None,
        last_full_pass: None,
        watch: None,
        watch_running: None,
    };
    if !status.database_exists {
        return Ok(status);
    }
    let store = Store::open_read_only(db)?;
    status.database_bytes = store.size_on_disk();
    status.host = Some(store.host()?);
    let held = store.holdings()?;
    status.tracked_files = held.tracked_files;
    status.lines_parsed = held.lines_parsed;
    status.bytes_parsed = held.bytes_parsed;
    status.lines_skipped = held.lines_skipped;
    status.rows = held.rows;
    status.agents = store.holdings_by_agent()?;
    let iso = |ms: i64| {
        jiff::Timestamp::from_millisecond(ms)
            .map(|t| t.to_string())
            .ok()
    };
    status.first_entry = held.first_ms.and_then(iso);
    status.last_entry = held.last_ms.and_then(iso);
    status.first_skipped = store.first_skipped(5)?;
    status.last_ingest = store
        .meta("last_ingest")?
        .and_then(|json| serde_json::from_str(&json).ok());
    status.last_full_pass = store
        .meta(LAST_FULL_PASS)?
        .and_then(|ms| ms.parse().ok())
        .and_then(iso);
    status.watch = store
        .meta(changes::WATCH_META)?
        .and_then(|json| serde_json::from_str(&json).ok());
    status.watch_running = status.watch.as_ref().map(still_running);
    Ok(status)
}

/// A process started this long after its record says the watch started is another one
/// that was given the pid since: the boot time the kernel reports drifts by a second or
/// so with clock adjustments, and a watch records its start within moments of starting.
#[cfg(target_os = "linux")]
const START_SLACK_S: i64 = 10;

/// Whether the `watch` (or `live`) that wrote `record` still runs: its pid is taken by a
/// live process that started no later than the record says (on Linux, read from /proc; a
/// killed one waiting to be reaped has exited). Elsewhere the pid is only asked whether
/// it is ours and alive.
fn still_running(record: &changes::Record) -> bool {
    #[cfg(target_os = "linux")]
    {
        let Ok(recorded) = record.started_at.parse::<jiff::Timestamp>() else {
            return false;
        };
        process_start_s(record.pid)
            .is_some_and(|start| start <= recorded.as_second() + START_SLACK_S)
    }
    #[cfg(not(target_os = "linux"))]
    {
        i32::try_from(record.pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
            .is_some_and(|pid| rustix::process::test_kill_process(pid).is_ok())
    }
}

/// When process `pid` started, in seconds since the epoch; `None` if there is no such
/// process or it has exited (a zombie).
#[cfg(target_os = "linux")]
fn process_start_s(pid: u32) -> Option<i64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: the fields follow the last ')'.
    let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    // proc(5): the state is field 3, the start time (clock ticks after boot) field 22.
    if matches!(fields.first(), Some(&"Z" | &"X")) {
        return None;
    }
    let ticks: u64 = fields.get(19)?.parse().ok()?;
    let boot_s: i64 = std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    let after_boot_s = ticks / rustix::param::clock_ticks_per_second();
    Some(boot_s + i64::try_from(after_boot_s).ok()?)
}

pub fn render(s: &Status) -> String {
    let mut out = String::new();
    // Every value names something from data (paths, the host, skipped lines' reasons).
    let mut line = |label: &str, value: String| {
        out.push_str(&format!("{label:<16}{}\n", visible::text(&value)))
    };
    line(
        "database",
        if s.database_exists {
            format!("{} ({})", s.database, human_bytes(s.database_bytes))
        } else {
            format!("{} (not created yet: run `cco-stats once`)", s.database)
        },
    );
    if let Some(host) = &s.host {
        line("host", format!("{} (id {})", host.name, host.id));
    }
    line(
        "roots",
        if s.roots.is_empty() {
            format!("none found ({})", s.roots_from)
        } else {
            format!("{} ({})", s.roots.join(", "), s.roots_from)
        },
    );
    line("tracked files", thousands(s.tracked_files));
    line(
        "parsed",
        format!(
            "{} lines, {}",
            thousands(s.lines_parsed),
            human_bytes(s.bytes_parsed)
        ),
    );
    line("ledger rows", thousands(s.rows));
    if !s.agents.is_empty() {
        let agents: Vec<String> = s
            .agents
            .iter()
            .map(|a| {
                format!(
                    "{}: {} files, {} rows",
                    a.agent,
                    thousands(a.files),
                    thousands(a.rows)
                )
            })
            .collect();
        line("agents", agents.join("; "));
    }
    if let (Some(first), Some(last)) = (&s.first_entry, &s.last_entry) {
        line("history", format!("{} … {}", local(first), local(last)));
    }
    line("lines skipped", thousands(s.lines_skipped));
    for skipped in &s.first_skipped {
        line(
            "",
            format!("{}:{}: {}", skipped.file, skipped.line, skipped.reason),
        );
    }
    line(
        "last new lines",
        match &s.last_ingest {
            Some(pass) => format!("{} ({})", local(&pass.finished_at), pass.summary()),
            None => "never".to_string(),
        },
    );
    // Any pass, new lines or none (recorded at least once a minute): what says cron runs.
    line(
        "last pass",
        s.last_full_pass
            .as_deref()
            .map_or_else(|| "never".to_string(), local),
    );
    if let Some(w) = &s.watch {
        let fallback = match &w.fallback {
            Some(why) => format!(", fallen back to: {why}"),
            None => String::new(),
        };
        let counts = format!(
            "{} change events, {} full {}",
            thousands(w.events),
            thousands(w.full_passes),
            if w.full_passes == 1 { "pass" } else { "passes" }
        );
        let (mode, pid, started) = (w.mode.name(), w.pid, local(&w.started_at));
        line(
            "watch",
            match s.watch_running {
                Some(true) => format!(
                    "{mode}{fallback} (pid {pid}, started {started}): {counts}; recorded {}",
                    local(&w.updated_at)
                ),
                _ => format!(
                    "{mode}{fallback}, last ran {}, exited (pid {pid}, started {started}): {counts}",
                    local(&w.updated_at)
                ),
            },
        );
    }
    out
}

/// An instant as people read it: in the system's zone, to the second
/// (`2026-01-12 10:00:00 CET`); JSON keeps the exact UTC instant. Text that is not an
/// instant is shown as it is.
pub(crate) fn local(instant: &str) -> String {
    match instant.parse::<jiff::Timestamp>() {
        Ok(t) => t
            .to_zoned_datetime(jiff::tz::TimeZone::system())
            .strftime("%Y-%m-%d %H:%M:%S %Z")
            .to_string(),
        Err(_) => instant.to_string(),
    }
}
