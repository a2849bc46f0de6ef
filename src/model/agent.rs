//! Who wrote a record: the coding agent (`Agent`, its name in the ledger's `agent`
//! columns) and the quota samples its logs report (`RateLimit`, with the one naming of
//! plan windows, `window_name` and `window_minutes`).

/// A coding agent, named as ccusage's subcommands name it. Stored by `name` in the
/// ledger's `agent` columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Agent {
    #[default]
    Claude,
    Codex,
    Gemini,
    Qwen,
    Amp,
    Copilot,
    OpenCode,
    Droid,
    Kilo,
    Codebuff,
    Hermes,
}

impl Agent {
    /// Every agent the ledger knows, in the order reports list them.
    pub const ALL: [Agent; 11] = [
        Agent::Claude,
        Agent::Codex,
        Agent::Gemini,
        Agent::Qwen,
        Agent::Amp,
        Agent::Copilot,
        Agent::OpenCode,
        Agent::Droid,
        Agent::Kilo,
        Agent::Codebuff,
        Agent::Hermes,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Agent::Claude => "claude",
            Agent::Codex => "codex",
            Agent::Gemini => "gemini",
            Agent::Qwen => "qwen",
            Agent::Amp => "amp",
            Agent::Copilot => "copilot",
            Agent::OpenCode => "opencode",
            Agent::Droid => "droid",
            Agent::Kilo => "kilo",
            Agent::Codebuff => "codebuff",
            Agent::Hermes => "hermes",
        }
    }

    pub fn from_name(name: &str) -> Option<Agent> {
        Agent::ALL.into_iter().find(|a| a.name() == name)
    }
}

impl rusqlite::ToSql for Agent {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.name().into())
    }
}

/// An agent name this version does not know is an error: only a newer cco-stats writes
/// one, and it also marks the ledger as newer, which this one refuses to open.
impl rusqlite::types::FromSql for Agent {
    fn column_result(
        value: rusqlite::types::ValueRef<'_>,
    ) -> rusqlite::types::FromSqlResult<Agent> {
        let name = value.as_str()?;
        Agent::from_name(name).ok_or_else(|| {
            rusqlite::types::FromSqlError::Other(format!("unknown agent {name:?}").into())
        })
    }
}

impl std::fmt::Display for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One sample of a quota window of an agent's plan: Claude Code's status-line input and
/// limit-hit lines, Codex's `token_count` events. The ledger keeps a row per change of a
/// window's use (`ledger::quota`): copies of an event (archived rollouts, replays) and
/// the same percent sent again add none.
#[derive(Clone, Debug, PartialEq)]
pub struct RateLimit {
    pub agent: Agent,
    /// `five_hour`, `seven_day`, or the name the agent gives a window (`window_name`).
    pub window: String,
    /// The window's length, where known (`window_minutes`).
    pub window_minutes: Option<i64>,
    pub resets_at_ms: i64,
    pub used_percent: f64,
    /// When the event said so.
    pub seen_ms: i64,
    /// A limit-hit line (`usage limit reached|<epoch>`), recorded as 100 %.
    pub hit: bool,
}

/// Claude Code's names for the windows of a plan, and their lengths.
const NAMED_WINDOWS: [(&str, i64); 2] = [("five_hour", 300), ("seven_day", 10_080)];

/// The name of a window of `minutes` (Codex gives lengths, Claude Code names): Claude
/// Code's name for the same length, else `<minutes>m`.
pub fn window_name(minutes: i64) -> String {
    match NAMED_WINDOWS.iter().find(|(_, m)| *m == minutes) {
        Some((name, _)) => name.to_string(),
        None => format!("{minutes}m"),
    }
}

/// The length of a named window: `five_hour`, `seven_day` and the per-model weeks Claude
/// Code names after it (`seven_day_opus`), `<minutes>m`; `None` for a name not known.
pub fn window_minutes(name: &str) -> Option<i64> {
    NAMED_WINDOWS
        .iter()
        .find(|(n, _)| name == *n || name.starts_with(&format!("{n}_")))
        .map(|(_, m)| *m)
        .or_else(|| name.strip_suffix('m')?.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agents_round_trip_their_names() {
        for agent in Agent::ALL {
            assert_eq!(Agent::from_name(agent.name()), Some(agent));
        }
        assert_eq!(Agent::from_name("cursor"), None);
    }

    #[test]
    fn windows_are_named_and_measured_alike() {
        for minutes in [300, 10_080, 60] {
            assert_eq!(window_minutes(&window_name(minutes)), Some(minutes));
        }
        assert_eq!(window_minutes("seven_day_opus"), Some(10_080));
        assert_eq!(window_minutes("monthly"), None);
    }
}
