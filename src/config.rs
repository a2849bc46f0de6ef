//! The config file of cco-stats: `$XDG_CONFIG_HOME/cco-stats/config.toml` (else
//! `~/.config/cco-stats/config.toml`), or `--config PATH`. One file, in sections, so that
//! every setting a person keeps has one home; today it holds the alert thresholds
//! (`[thresholds]`), the dollar budgets (`[budgets]`) and the alert command (`[alerts]`).
//!
//! It is read strictly: an unknown section or key, a value of the wrong type or out of
//! range is an error naming the file and the line, never a setting silently ignored (a
//! misspelt `daly = 50` would otherwise be a budget that never warns). It comes from the
//! person's own folder but may be copied from anywhere, so what it can ask for is
//! bounded: its size, the number of named budgets, every number's range and the
//! command's length.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::model::Agent;
use crate::report::options::WeekStart;

/// A config file larger than this is refused: a real one is a few hundred bytes.
pub const MAX_FILE_BYTES: u64 = 64 * 1024;
/// The most budgets named per agent or project, and windows named in `[thresholds]`.
pub const MAX_NAMED: usize = 256;
/// The longest alert command, in bytes.
pub const MAX_COMMAND_BYTES: usize = 4096;
/// The largest budget, in US dollars: far beyond any person's spend, and small enough
/// that every sum and percent of it stays exact in f64.
pub const MAX_BUDGET_USD: f64 = 1e9;

/// What the file says; every field optional (the defaults are `Thresholds`').
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub thresholds: ThresholdsSection,
    #[serde(default)]
    pub budgets: BudgetsSection,
    #[serde(default)]
    pub alerts: AlertsSection,
}

/// `[thresholds]`: when a quota window warns and is over, and when a budget warns.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdsSection {
    pub warn_percent: Option<f64>,
    pub over_percent: Option<f64>,
    /// `[thresholds.window.seven_day]`: one window's own percents.
    #[serde(default)]
    pub window: BTreeMap<String, Percents>,
}

#[derive(Debug, Default, Deserialize, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct Percents {
    pub warn_percent: Option<f64>,
    pub over_percent: Option<f64>,
}

/// `[budgets]`: dollars per day, week and month, for all usage and per agent or project.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetsSection {
    pub daily: Option<f64>,
    pub weekly: Option<f64>,
    pub monthly: Option<f64>,
    /// The day budget weeks start on (as `weekly --start-of-week`).
    pub week_start: Option<WeekStartName>,
    /// `[budgets.agent.codex]`
    #[serde(default)]
    pub agent: BTreeMap<String, Budget>,
    /// `[budgets.project."/home/me/app"]`: a project as `--project` names it.
    #[serde(default)]
    pub project: BTreeMap<String, Budget>,
}

#[derive(Debug, Default, Deserialize, Clone, Copy, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    pub daily: Option<f64>,
    pub weekly: Option<f64>,
    pub monthly: Option<f64>,
}

#[derive(Debug, Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum WeekStartName {
    Sunday,
    Monday,
}

impl From<WeekStartName> for WeekStart {
    fn from(name: WeekStartName) -> WeekStart {
        match name {
            WeekStartName::Sunday => WeekStart::Sunday,
            WeekStartName::Monday => WeekStart::Monday,
        }
    }
}

impl BudgetsSection {
    /// The budgets of all usage (the section's own keys).
    pub fn all(&self) -> Budget {
        Budget {
            daily: self.daily,
            weekly: self.weekly,
            monthly: self.monthly,
        }
    }
}

/// `[alerts]`: what runs when a threshold is crossed.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsSection {
    /// Run with `sh -c` (see `command::alerts`).
    pub command: Option<String>,
}

/// `$XDG_CONFIG_HOME/cco-stats/config.toml`, else `~/.config/cco-stats/config.toml`.
pub fn default_path() -> Option<PathBuf> {
    Some(
        crate::paths::config_home()?
            .join("cco-stats")
            .join("config.toml"),
    )
}

/// The config: `path` (which must exist) when given, else the default file when it
/// exists, else the defaults.
pub fn load(path: Option<&Path>) -> Result<Config> {
    let path = match path {
        Some(path) => path.to_path_buf(),
        None => match default_path().filter(|p| p.exists()) {
            Some(path) => path,
            None => return Ok(Config::default()),
        },
    };
    let text = read_bounded(&path)?;
    parse(&text).map_err(|e| anyhow::anyhow!("config file {}{e}", path.display()))
}

fn read_bounded(path: &Path) -> Result<String> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        bail!(
            "config file {} is larger than {} KiB: not a config file",
            path.display(),
            MAX_FILE_BYTES / 1024
        );
    }
    String::from_utf8(bytes)
        .map_err(|e| anyhow::anyhow!("config file {} is not UTF-8: {e}", path.display()))
}

/// A parse or range error, with the line it is on when known: shown after the file name.
#[derive(Debug)]
pub struct ParseError {
    line: Option<usize>,
    message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, ", line {line}: {}", self.message),
            None => write!(f, ": {}", self.message),
        }
    }
}

/// Parses and checks a config file's text.
pub fn parse(text: &str) -> Result<Config, ParseError> {
    let config: Config = toml::from_str(text).map_err(|e| ParseError {
        line: e.span().map(|span| line_of(text, span.start)),
        message: e.message().trim().to_string(),
    })?;
    config.check().map_err(|(key, message)| ParseError {
        line: find_line(text, &key),
        message,
    })?;
    Ok(config)
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The first line that sets `key` (a range error is found after parsing, without spans).
fn find_line(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|line| {
            let line = line.trim_start();
            line.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
                || line.starts_with('[') && line.contains(key)
        })
        .map(|i| i + 1)
}

/// A range error: the key it is about (to find its line) and what is wrong.
type RangeError = (String, String);

impl Config {
    fn check(&self) -> Result<(), RangeError> {
        let t = &self.thresholds;
        check_percents(&Percents {
            warn_percent: t.warn_percent,
            over_percent: t.over_percent,
        })?;
        count("[thresholds.window]", t.window.len())?;
        for (name, percents) in &t.window {
            if name.is_empty() || name.len() > 64 || !name.bytes().all(is_name_byte) {
                return Err((
                    name.clone(),
                    format!(
                        "{name:?} is not a window name (five_hour, seven_day, … : letters, digits and _)"
                    ),
                ));
            }
            check_percents(percents)?;
        }
        let b = &self.budgets;
        check_budget(&b.all())?;
        count("[budgets.agent]", b.agent.len())?;
        for (name, budget) in &b.agent {
            if Agent::from_name(name).is_none() {
                let known: Vec<&str> = Agent::ALL.iter().map(|a| a.name()).collect();
                return Err((
                    name.clone(),
                    format!("unknown agent {name:?} (known: {})", known.join(", ")),
                ));
            }
            check_budget(budget)?;
        }
        count("[budgets.project]", b.project.len())?;
        for (name, budget) in &b.project {
            if name.trim().is_empty() || name.len() > 4096 || name.contains('\0') {
                return Err((
                    name.clone(),
                    "a project is named by its folder under projects/ or its working directory"
                        .to_string(),
                ));
            }
            check_budget(budget)?;
        }
        if let Some(command) = &self.alerts.command {
            check_command(command).map_err(|e| ("command".to_string(), e))?;
        }
        Ok(())
    }
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn count(section: &str, n: usize) -> Result<(), RangeError> {
    if n > MAX_NAMED {
        return Err((
            section.to_string(),
            format!("{section} names {n} entries, more than {MAX_NAMED}"),
        ));
    }
    Ok(())
}

fn check_percents(p: &Percents) -> Result<(), RangeError> {
    for (key, value) in [
        ("warn_percent", p.warn_percent),
        ("over_percent", p.over_percent),
    ] {
        if let Some(v) = value {
            percent(v).map_err(|e| (key.to_string(), format!("{key}: {e}")))?;
        }
    }
    if let (Some(warn), Some(over)) = (p.warn_percent, p.over_percent)
        && warn > over
    {
        return Err((
            "warn_percent".to_string(),
            format!("warn_percent {warn} is above over_percent {over}"),
        ));
    }
    Ok(())
}

fn check_budget(b: &Budget) -> Result<(), RangeError> {
    for (key, value) in [
        ("daily", b.daily),
        ("weekly", b.weekly),
        ("monthly", b.monthly),
    ] {
        if let Some(v) = value {
            dollars(v).map_err(|e| (key.to_string(), format!("{key}: {e}")))?;
        }
    }
    Ok(())
}

/// A threshold percent: above 0, at most 100.
pub fn percent(value: f64) -> Result<f64, String> {
    if value.is_finite() && value > 0.0 && value <= 100.0 {
        Ok(value)
    } else {
        Err(format!("{value} is not a percent (0 < P <= 100)"))
    }
}

/// A budget in US dollars: above 0, at most `MAX_BUDGET_USD`.
pub fn dollars(value: f64) -> Result<f64, String> {
    if value.is_finite() && value > 0.0 && value <= MAX_BUDGET_USD {
        Ok(value)
    } else {
        Err(format!(
            "{value} is not a budget in dollars (0 < USD <= {MAX_BUDGET_USD:.0})"
        ))
    }
}

/// An alert command: a shell command line, not empty, without NUL, bounded.
pub fn check_command(command: &str) -> Result<(), String> {
    if command.trim().is_empty() {
        return Err("the alert command is empty".to_string());
    }
    if command.len() > MAX_COMMAND_BYTES {
        return Err(format!(
            "the alert command is longer than {MAX_COMMAND_BYTES} bytes"
        ));
    }
    if command.contains('\0') {
        return Err("the alert command contains a NUL byte".to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn a_full_file_parses() {
        let config = parse(
            r#"
[thresholds]
warn_percent = 70
over_percent = 90
[thresholds.window.seven_day]
warn_percent = 60

[budgets]
daily = 50
weekly = 200.5
week_start = "monday"
[budgets.agent.codex]
daily = 10
[budgets.project."/home/me/app"]
monthly = 100

[alerts]
command = "notify.sh --loud"
"#,
        )
        .unwrap();
        assert_eq!(config.thresholds.warn_percent, Some(70.0));
        assert_eq!(
            config.thresholds.window["seven_day"].warn_percent,
            Some(60.0)
        );
        assert_eq!(config.budgets.daily, Some(50.0));
        assert_eq!(config.budgets.weekly, Some(200.5));
        assert_eq!(config.budgets.agent["codex"].daily, Some(10.0));
        assert_eq!(config.budgets.project["/home/me/app"].monthly, Some(100.0));
        assert_eq!(config.alerts.command.as_deref(), Some("notify.sh --loud"));
    }

    #[test]
    fn an_empty_file_is_the_defaults() {
        let config = parse("").unwrap();
        assert_eq!(config.budgets.all(), Budget::default());
    }

    #[test]
    fn unknown_keys_are_errors_with_their_line() {
        let e = error("[budgets]\ndaily = 5\ndaly = 50\n");
        assert!(e.starts_with(", line 3: "), "{e}");
        assert!(e.contains("daly"), "{e}");
        let e = error("[budget]\ndaily = 5\n");
        assert!(e.starts_with(", line 1: "), "{e}");
    }

    #[test]
    fn values_out_of_range_are_errors_with_their_line() {
        let e = error("[budgets]\n\nweekly = -3\n");
        assert!(e.starts_with(", line 3: weekly: -3"), "{e}");
        let e = error("[thresholds]\nwarn_percent = 99\nover_percent = 90\n");
        assert!(
            e.contains("warn_percent 99 is above over_percent 90"),
            "{e}"
        );
        let e = error("[thresholds]\nwarn_percent = nan\n");
        assert!(e.contains("not a percent"), "{e}");
        let e = error("[budgets.agent.cursor]\ndaily = 3\n");
        assert!(e.contains("unknown agent \"cursor\""), "{e}");
        let e = error("[budgets]\ndaily = \"50\"\n");
        assert!(e.starts_with(", line 2: "), "{e}");
    }

    #[test]
    fn hostile_files_are_bounded() {
        let many: String = (0..=MAX_NAMED)
            .map(|i| format!("[budgets.project.p{i}]\ndaily = 1\n"))
            .collect();
        assert!(error(&many).contains("more than 256"));
        let long = format!("[alerts]\ncommand = \"{}\"\n", "x".repeat(5000));
        assert!(error(&long).contains("longer than 4096"));
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("config.toml");
        std::fs::write(&big, "#".repeat(70 * 1024)).unwrap();
        let e = load(Some(&big)).unwrap_err().to_string();
        assert!(e.contains("larger than 64 KiB"), "{e}");
    }
}
