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
//! wins whichever file is read first (the dedup rules' rule 2).
//!
//! A reply that names no model has the latest `model_change`'s. The parser (`Transcript`,
//! which OpenClaw's source shares) keeps that model and the fork's time and parent as its
//! state, stored with the cursor.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use anyhow::{Context, Result};
use memchr::memmem;
use serde::{Deserialize, Serialize};

use crate::model::Agent;
use crate::model::{Parsed, Record, Tokens, line_time};
use crate::sources::claude::roots::Roots;
use crate::sources::{Folder, LineParser, Shape, Source, env_paths, line_text, text_json};

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
        Box::new(Transcript::new(&PI_FLAVOR))
    }
}

/// What tells one agent's pi-format transcripts from another's.
pub struct Flavor {
    pub agent: Agent,
    /// A reply's time is its message's `timestamp` (Unix ms) where it has one, as ccusage
    /// reads OpenClaw's; else, as for pi, its entry's.
    pub message_time: bool,
    /// The model of a reply that names none, after no `model_change`.
    pub no_model: &'static str,
}

const PI_FLAVOR: Flavor = Flavor {
    agent: Agent::Pi,
    message_time: false,
    no_model: NO_MODEL,
};

/// A pi-format transcript's lines (pi's, and OpenClaw's, which embeds pi's session
/// manager): the header says whether the file is a fork, and of what; `model_change`
/// entries and OpenClaw's `model-snapshot`s name the model of replies that name none.
pub struct Transcript {
    flavor: &'static Flavor,
    state: State,
    /// The state changed since `take_state` last gave it.
    changed: bool,
}

impl Transcript {
    pub fn new(flavor: &'static Flavor) -> Transcript {
        Transcript {
            flavor,
            state: State::default(),
            // A file read from its start replaces whatever state its cursor held.
            changed: true,
        }
    }
}

/// What a transcript's earlier lines said that its later replies need: stored with the
/// cursor.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct State {
    /// When the file was forked from its `parentSession` (entries older are copies), and
    /// that session's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fork: Option<(i64, String)>,
    /// The model the latest `model_change` or `model-snapshot` named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    model: Option<String>,
}

static USAGE_KEY: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new(b"\"usage\""));

/// Only a header names a parent session (the bytes cannot occur inside a JSON string).
static PARENT_KEY: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new(b"\"parentSession\""));

/// The kinds that name a model (a `model_change` entry, OpenClaw's `model-snapshot`).
static MODEL_KEYS: LazyLock<[memmem::Finder<'static>; 2]> = LazyLock::new(|| {
    [
        memmem::Finder::new(b"\"model_change\""),
        memmem::Finder::new(b"\"model-snapshot\""),
    ]
});

#[derive(Deserialize)]
struct RawHeader<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(rename = "parentSession", borrow)]
    parent_session: Option<Cow<'a, str>>,
}

/// A `model_change` entry (`modelId` at its top) or a `custom` `model-snapshot` (under
/// `data`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawModelChange<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    custom_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    model_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    data: Option<RawModelData<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawModelData<'a> {
    #[serde(borrow)]
    model_id: Option<Cow<'a, str>>,
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

impl LineParser for Transcript {
    fn resume(&mut self, state: &str) -> Result<()> {
        self.state = serde_json::from_str(state).context("pi transcript parser state")?;
        self.changed = false;
        Ok(())
    }

    fn line(&mut self, line: &[u8]) -> Parsed {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let usage = USAGE_KEY.find(line).is_some();
        let header = !usage && PARENT_KEY.find(line).is_some();
        let model = !usage && MODEL_KEYS.iter().any(|k| k.find(line).is_some());
        if !(usage || header || model) {
            return Parsed::Other;
        }
        let text = match line_text(line) {
            Ok(text) => text,
            Err(skipped) => return skipped,
        };
        if header {
            self.header(text);
        }
        if model {
            self.model_change(text);
        }
        if !usage {
            return Parsed::Other;
        }
        match text_json::<RawEntry<'_>>(text) {
            Ok(raw) => self.record(raw),
            Err(skipped) => skipped,
        }
    }

    fn take_state(&mut self) -> Option<String> {
        if !std::mem::take(&mut self.changed) {
            return None;
        }
        Some(serde_json::to_string(&self.state).expect("the state serializes"))
    }
}

impl Transcript {
    /// The first header naming a parent session: the file is a fork of it, made then.
    fn header(&mut self, text: &str) {
        if self.state.fork.is_some() {
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
            self.state.fork = Some((at_ms, parent));
            self.changed = true;
        }
    }

    fn model_change(&mut self, text: &str) {
        let Ok(change) = serde_json::from_str::<RawModelChange<'_>>(text) else {
            return;
        };
        let model = match (change.kind.as_deref(), change.custom_type.as_deref()) {
            (Some("model_change"), _) => change.model_id,
            (Some("custom"), Some("model-snapshot")) => change.data.and_then(|d| d.model_id),
            _ => None,
        };
        if let Some(model) = model.filter(|m| !m.is_empty()) {
            let model = Some(model.into_owned());
            self.changed |= self.state.model != model;
            self.state.model = model;
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
        let message_ms = message
            .timestamp
            .as_ref()
            .and_then(serde_json::Number::as_i64);
        let ts_ms = match message_ms.filter(|_| self.flavor.message_time) {
            Some(ms) => ms,
            None => match line_time(raw.timestamp.as_deref()) {
                Ok(ts_ms) => ts_ms,
                Err(why) => return Parsed::Skipped(why),
            },
        };
        // What a copy, an archived file, a migration and the original all repeat.
        let message_id = format!(
            "{}@{}",
            raw.timestamp.as_deref().unwrap_or_default(),
            message.timestamp.map(|n| n.to_string()).unwrap_or_default()
        );
        let copied_from = self
            .state
            .fork
            .as_ref()
            .filter(|(at_ms, _)| ts_ms < *at_ms)
            .map(|(_, parent)| parent.clone());
        let model = message
            .model
            .filter(|m| !m.is_empty())
            .map(Cow::into_owned)
            .or_else(|| self.state.model.clone());
        Parsed::Billable(Box::new(Record {
            agent: self.flavor.agent,
            ts_ms,
            model: Some(model.unwrap_or_else(|| self.flavor.no_model.to_string())),
            message_id: Some(message_id),
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

    fn parser() -> Transcript {
        Transcript::new(&PI_FLAVOR)
    }

    fn billable(p: &mut Transcript, line: &str) -> Record {
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
            Some("2026-08-13T11:54:08.567Z@1786622042861")
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
        let state = p.take_state().unwrap();
        assert_eq!(state, r#"{"fork":[1786622400000,"a1"]}"#);
        let copy = billable(&mut p, REPLY);
        assert!(copy.is_sidechain, "a copy");
        assert_eq!(copy.request_id.as_deref(), Some("a1"));
        let own = REPLY.replace("2026-08-13T11:54:08.567Z", "2026-08-13T12:01:00.000Z");
        // Resumed from its state, the parser still knows the file is a fork.
        let mut resumed = parser();
        resumed.resume(&state).unwrap();
        assert!(billable(&mut resumed, REPLY).is_sidechain);
        let own = billable(&mut resumed, &own);
        assert!(!own.is_sidechain && own.request_id.is_none());
        assert_eq!(resumed.take_state(), None);
    }

    #[test]
    fn a_reply_without_a_model_has_the_latest_model_change_s() {
        let mut p = parser();
        let bare = r#"{"type":"message","timestamp":"2026-01-02T00:00:00.000Z","message":{"role":"assistant","usage":{"input":1,"output":2}}}"#;
        assert_eq!(billable(&mut p, bare).model.as_deref(), Some(NO_MODEL));
        p.take_state();
        for (change, model) in [
            (
                r#"{"type":"model_change","provider":"openai-codex","modelId":"gpt-5.2"}"#,
                "gpt-5.2",
            ),
            (
                r#"{"type":"custom","customType":"model-snapshot","data":{"provider":"opencode","modelId":"minimax-m2.5-free"}}"#,
                "minimax-m2.5-free",
            ),
        ] {
            assert_eq!(p.line(change.as_bytes()), Parsed::Other);
            assert!(p.take_state().is_some());
            assert_eq!(billable(&mut p, bare).model.as_deref(), Some(model));
        }
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
