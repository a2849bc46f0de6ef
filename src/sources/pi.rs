//! pi-agent (pi-mono's coding agent): `<agent dir>/sessions/--<cwd>--/<time>_<session
//! id>.jsonl`, the agent dir being `PI_CODING_AGENT_DIR` as pi reads it, else
//! `~/.pi/agent`; `PI_AGENT_DIR`, ccusage's comma list of sessions folders, is read when
//! pi's own variable is not set.
//!
//! A session is one entry a line (see `fixtures/README.md` for where the format comes
//! from): a `session` header, then `message` entries whose `message` is an agent message.
//! Usage is an `assistant` message's `usage` `{input, output, cacheRead, cacheWrite,
//! cacheWrite1h?, totalTokens, cost: {total}}`, Anthropic's meanings whatever the
//! provider (pi splits cached input out of input itself); `cacheWrite1h` is the part of
//! `cacheWrite` written to the 1-hour cache. A usage that gives less than its
//! `totalTokens` and no output bills the rest as output (ccusage's rule). `cost.total` is
//! pi's own USD figure, used in `auto` mode as Claude Code's `costUSD` is; a zero is no
//! figure.
//!
//! Files are appended to, but pi rewrites a whole file when it migrates an older session
//! format on resume (adding entry ids): the ingest reads a rewritten file again, and each
//! response is keyed by its entry's timestamp and its message's (which a migration keeps)
//! in the ledger's dedup index, so it counts once. `/fork` and `/tree`'s branch into a new
//! session copy the parent's entries verbatim into a new file whose header names the
//! `parentSession`: entries older than that header are copies, read as side chains under
//! the parent session's id (as Qwen Code's branches are), so the parent's copy of each
//! wins whichever file is read first (the dedup rules' rule 2). The parser's state is the
//! fork's time and parent, if the file is one.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use anyhow::{Context, Result};
use memchr::memmem;
use serde::Deserialize;

use crate::ingest::discover::Roots;
use crate::ingest::parse::{Parsed, Record, Tokens, line_time};
use crate::sources::{Agent, Folder, LineParser, Shape, Source, env_paths};

pub struct Pi;

pub static PI: Pi = Pi;

/// The variable pi reads for its agent dir (sessions are in its `sessions/`).
pub const AGENT_VAR: &str = "PI_CODING_AGENT_DIR";

/// ccusage's variable: a comma list of sessions folders.
pub const SESSIONS_VAR: &str = "PI_AGENT_DIR";

/// The model of a response that names none.
pub const NO_MODEL: &str = "pi-unknown-model";

impl Source for Pi {
    fn agent(&self) -> Agent {
        Agent::Pi
    }

    fn shape(&self) -> Shape {
        Shape::AppendOnly
    }

    fn folders(&self, _claude: &Roots) -> Vec<Folder> {
        let sessions = env_paths(AGENT_VAR)
            .map(|dirs| dirs.iter().map(|d| d.join("sessions")).collect())
            .or_else(|| env_paths(SESSIONS_VAR))
            .unwrap_or_else(|| {
                crate::paths::home()
                    .map(|h| vec![h.join(".pi/agent/sessions")])
                    .unwrap_or_default()
            });
        // An agent dir without sessions yet is usual: no warning.
        sessions
            .into_iter()
            .map(|path: PathBuf| Folder {
                agent: Agent::Pi,
                path,
                named: false,
            })
            .collect()
    }

    /// The project is the folder pi names after the working directory; the session the
    /// id after the time in the file's name.
    fn names(&self, relative: &Path, path: &Path) -> (String, String) {
        let project = match relative.iter().count() {
            0 | 1 => String::new(),
            _ => relative
                .iter()
                .next()
                .unwrap()
                .to_string_lossy()
                .into_owned(),
        };
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let session = match stem.split_once('_') {
            Some((_, id)) => id.to_string(),
            None => stem,
        };
        (project, session)
    }

    fn parser(&self) -> Box<dyn LineParser> {
        Box::new(Session {
            fork: None,
            changed: true,
        })
    }
}

/// A session file's lines: the header says whether the file is a fork, and of what.
struct Session {
    fork: Option<Fork>,
    /// The state changed since `take_state` last gave it.
    changed: bool,
}

static USAGE_KEY: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new(b"\"usage\""));

/// Only a header names a parent session (the bytes cannot occur inside a JSON string).
static PARENT_KEY: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new(b"\"parentSession\""));

#[derive(Deserialize)]
struct RawHeader<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(rename = "parentSession", borrow)]
    parent_session: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct RawEntry<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(borrow)]
    message: Option<RawMessage<'a>>,
}

#[derive(Deserialize)]
struct RawMessage<'a> {
    #[serde(borrow)]
    role: Option<Cow<'a, str>>,
    #[serde(borrow)]
    model: Option<Cow<'a, str>>,
    usage: Option<RawUsage>,
    /// Unix milliseconds (a float in some files).
    timestamp: Option<serde_json::Number>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawUsage {
    #[serde(default)]
    input: u64,
    #[serde(default)]
    output: u64,
    #[serde(default)]
    cache_read: u64,
    #[serde(default)]
    cache_write: u64,
    #[serde(default, rename = "cacheWrite1h")]
    cache_write_1h: u64,
    #[serde(default)]
    total_tokens: u64,
    cost: Option<RawCost>,
}

#[derive(Deserialize)]
struct RawCost {
    total: Option<f64>,
}

/// When a file was forked from its `parentSession` (entries older are copies), and that
/// session's id.
#[derive(Clone, Debug, PartialEq)]
struct Fork {
    at_ms: i64,
    parent: String,
}

impl LineParser for Session {
    fn resume(&mut self, state: &str) -> Result<()> {
        self.fork = match state.split_once(' ') {
            None => None,
            Some((ms, parent)) => Some(Fork {
                at_ms: ms.parse().context("pi parser state")?,
                parent: parent.to_string(),
            }),
        };
        self.changed = false;
        Ok(())
    }

    fn line(&mut self, line: &[u8]) -> Parsed {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let usage = USAGE_KEY.find(line).is_some();
        if !usage && PARENT_KEY.find(line).is_none() {
            return Parsed::Other;
        }
        let Ok(text) = simdutf8::basic::from_utf8(line) else {
            return Parsed::Skipped("invalid UTF-8".to_string());
        };
        if !usage {
            self.header(text);
            return Parsed::Other;
        }
        match serde_json::from_str::<RawEntry<'_>>(text) {
            Ok(raw) => self.record(raw),
            Err(err) => Parsed::Skipped(format!("invalid JSON: {err}")),
        }
    }

    fn take_state(&mut self) -> Option<String> {
        if !std::mem::take(&mut self.changed) {
            return None;
        }
        Some(
            self.fork
                .as_ref()
                .map_or(String::new(), |f| format!("{} {}", f.at_ms, f.parent)),
        )
    }
}

impl Session {
    /// The first header naming a parent session: the file is a fork of it, made then.
    fn header(&mut self, text: &str) {
        if self.fork.is_some() {
            return;
        }
        let Ok(header) = serde_json::from_str::<RawHeader<'_>>(text) else {
            return;
        };
        let (Some("session"), Some(parent)) = (header.kind.as_deref(), header.parent_session)
        else {
            return;
        };
        if let Ok(at_ms) = line_time(header.timestamp.as_deref()) {
            let (_, parent) = PI.names(Path::new(""), Path::new(parent.as_ref()));
            self.fork = Some(Fork { at_ms, parent });
            self.changed = true;
        }
    }

    fn record(&self, raw: RawEntry<'_>) -> Parsed {
        if raw.kind.as_deref().is_some_and(|k| k != "message") {
            return Parsed::Other;
        }
        let Some(message) = raw.message else {
            return Parsed::Other;
        };
        if message.role.as_deref() != Some("assistant") {
            return Parsed::Other;
        }
        let Some(usage) = message.usage else {
            return Parsed::Other;
        };
        let tokens = tokens(&usage);
        if tokens.total() == 0 {
            return Parsed::Other;
        }
        let ts_ms = match line_time(raw.timestamp.as_deref()) {
            Ok(ts_ms) => ts_ms,
            Err(why) => return Parsed::Skipped(why),
        };
        // What a copy, a migration and the original all repeat.
        let message_ms = message.timestamp.map(|n| n.to_string()).unwrap_or_default();
        let entry_time = raw.timestamp.as_deref().unwrap_or_default();
        let copied_from = self
            .fork
            .as_ref()
            .filter(|fork| ts_ms < fork.at_ms)
            .map(|fork| fork.parent.clone());
        Parsed::Billable(Box::new(Record {
            agent: Agent::Pi,
            ts_ms,
            model: Some(
                message
                    .model
                    .filter(|m| !m.is_empty())
                    .map_or(NO_MODEL.to_string(), Cow::into_owned),
            ),
            message_id: Some(format!("pi@{entry_time}@{message_ms}")),
            is_sidechain: copied_from.is_some(),
            request_id: copied_from,
            tokens,
            cost_usd: usage
                .cost
                .and_then(|c| c.total)
                .filter(|c| c.is_finite() && *c > 0.0),
            ..Record::default()
        }))
    }
}

/// pi's counts as the ledger's: `cacheWrite` holds the 1-hour writes; what `totalTokens`
/// holds beyond the four counts is output when none was given (ccusage's rule).
fn tokens(usage: &RawUsage) -> Tokens {
    let hour = usage.cache_write_1h.min(usage.cache_write);
    let mut tokens = Tokens {
        input: usage.input,
        output: usage.output,
        cache_write_5m: usage.cache_write - hour,
        cache_write_1h: hour,
        cache_read: usage.cache_read,
    };
    if tokens.output == 0 {
        tokens.output = usage.total_tokens.saturating_sub(
            usage
                .input
                .saturating_add(usage.cache_read)
                .saturating_add(usage.cache_write),
        );
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parser() -> Session {
        Session {
            fork: None,
            changed: true,
        }
    }

    fn billable(p: &mut Session, line: &str) -> Record {
        match p.line(line.as_bytes()) {
            Parsed::Billable(r) => *r,
            other => panic!("{other:?}: {line}"),
        }
    }

    const REPLY: &str = r#"{"type":"message","id":"412698ad","parentId":"cbe12d45","timestamp":"2026-08-13T11:54:08.567Z","message":{"role":"assistant","content":[],"api":"anthropic-messages","provider":"anthropic","model":"claude-opus-4-5","usage":{"input":2,"output":62,"cacheRead":100,"cacheWrite":13301,"totalTokens":13465,"cost":{"total":0.0847},"cacheWrite1h":1000,"reasoning":0},"stopReason":"toolUse","timestamp":1786622042861}}"#;

    #[test]
    fn an_assistant_reply_is_billed_with_its_own_cost() {
        let row = billable(&mut parser(), REPLY);
        assert_eq!(
            row.tokens,
            Tokens {
                input: 2,
                output: 62,
                cache_write_5m: 12_301,
                cache_write_1h: 1_000,
                cache_read: 100,
            }
        );
        assert_eq!(row.cost_usd, Some(0.0847));
        assert_eq!(row.model.as_deref(), Some("claude-opus-4-5"));
        assert_eq!(
            row.message_id.as_deref(),
            Some("pi@2026-08-13T11:54:08.567Z@1786622042861")
        );
        assert!(!row.is_sidechain);
    }

    #[test]
    fn a_total_alone_is_output_and_other_entries_are_not_billable() {
        let total = r#"{"type":"message","timestamp":"2026-01-02T00:00:00.000Z","message":{"role":"assistant","model":"gpt-5","usage":{"totalTokens":333}}}"#;
        assert_eq!(billable(&mut parser(), total).tokens.output, 333);
        for line in [
            r#"{"type":"message","timestamp":"2026-01-02T00:00:00.000Z","message":{"role":"user","content":"the usage"}}"#,
            r#"{"type":"message","timestamp":"2026-01-02T00:00:00.000Z","message":{"role":"assistant","usage":{"input":0,"output":0,"cacheRead":0,"cacheWrite":0,"totalTokens":0}}}"#,
            r#"{"type":"compaction","timestamp":"2026-01-02T00:00:00.000Z","summary":"usage","message":{"role":"assistant","usage":{"input":5}}}"#,
        ] {
            assert_eq!(parser().line(line.as_bytes()), Parsed::Other, "{line}");
        }
    }

    #[test]
    fn a_forks_copies_are_side_chains_and_its_own_replies_are_not() {
        let mut p = parser();
        let header = r#"{"type":"session","version":3,"id":"f","timestamp":"2026-08-13T12:00:00.000Z","cwd":"/r","parentSession":"/s/--r--/2026-08-13T11-00-00-000Z_a1.jsonl"}"#;
        assert_eq!(p.line(header.as_bytes()), Parsed::Other);
        assert_eq!(p.take_state().as_deref(), Some("1786622400000 a1"));
        let copy = billable(&mut p, REPLY);
        assert!(copy.is_sidechain, "a copy");
        assert_eq!(copy.request_id.as_deref(), Some("a1"));
        let own = REPLY.replace("2026-08-13T11:54:08.567Z", "2026-08-13T12:01:00.000Z");
        // Resumed from its state, the parser still knows the file is a fork.
        let mut resumed = parser();
        resumed.resume("1786622400000 a1").unwrap();
        assert!(billable(&mut resumed, REPLY).is_sidechain);
        let own = billable(&mut resumed, &own);
        assert!(!own.is_sidechain && own.request_id.is_none());
        assert_eq!(resumed.take_state(), None);
    }

    #[test]
    fn names_are_the_cwd_folder_and_the_session_id() {
        let relative = Path::new("--home-u-app--/2026-08-13T11-54-00-000Z_0b1c.jsonl");
        assert_eq!(
            PI.names(relative, &Path::new("/s").join(relative)),
            ("--home-u-app--".to_string(), "0b1c".to_string())
        );
    }
}
