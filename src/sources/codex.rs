//! Codex CLI: `$CODEX_HOME/sessions/YYYY/MM/DD/rollout-*.jsonl` and
//! `$CODEX_HOME/archived_sessions/rollout-*.jsonl` (`CODEX_HOME` a comma list, as ccusage
//! reads it; `~/.codex` by default).
//!
//! A rollout is `{"timestamp", "type", "payload"}` lines (see `fixtures/README.md` for
//! where the format comes from). Usage is in `event_msg` lines whose payload is a
//! `token_count`: `info.total_token_usage` is the session's cumulative count. The ledger
//! counts its growth, event to event, so a `token_count` emitted again with unchanged
//! totals (Codex does, for rate-limit refreshes) adds nothing; a total that went down
//! (a session whose count started again) counts from zero. The model is the latest
//! `turn_context`'s, the project the session's working directory.
//!
//! OpenAI's `input_tokens` includes `cached_input_tokens`: the ledger stores the
//! difference as input and the cached part as cache reads; `output_tokens` includes
//! `reasoning_output_tokens`, billed as output and kept apart for display.
//!
//! Copies count once through the ledger's dedup index: each growth is keyed by the
//! cumulative totals it reached (its message id) and those it grew from (its request
//! id), numbers a copy repeats exactly. A rollout in both `sessions/` and
//! `archived_sessions/` is the same lines twice (rule 1: one row). A fork
//! (`session_meta.forked_from_id`) or a subagent thread (`source.subagent`) replays its
//! parent's `token_count` events under new timestamps; it is read as a side chain whose
//! request ids say so, so the parent's copy of an event wins whichever file is read first
//! (rule 2), and only the growth past the parent's totals is new.
//!
//! Each event's `rate_limits` (the plan's 5-hour and weekly windows) are kept too, as
//! quota samples (see `RateLimit` and `ledger::quota`).
//!
//! The parser's state (session, working directory, model, whether the file replays a
//! parent, the last totals) is stored with the cursor: a pass that resumes mid-file
//! counts the next growth from the right totals, with the right model.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use anyhow::{Context, Result};
use memchr::memmem;
use serde::{Deserialize, Serialize};

use crate::limits::{self, MAX_COUNT};
use crate::model::{Agent, RateLimit};
use crate::model::{Parsed, Record, Tokens, line_time, project_of_cwd};
use crate::sources::claude::roots::Roots;
use crate::sources::{Folder, LineParser, Shape, Source, env_paths, line_text, text_json};

pub struct Codex;

pub static CODEX: Codex = Codex;

/// The variable Codex itself reads for its home.
pub const HOME_VAR: &str = "CODEX_HOME";

/// The model of a usage event no `turn_context` named.
pub const NO_MODEL: &str = "codex-unknown-model";

/// The folders below a Codex home that hold rollouts, in the order they are read: a
/// rollout still in `sessions/` is read before its archived copy.
const FOLDERS: [&str; 2] = ["sessions", "archived_sessions"];

impl Source for Codex {
    fn agent(&self) -> Agent {
        Agent::Codex
    }

    fn shape(&self) -> Shape {
        Shape::AppendOnly
    }

    fn folders(&self, _claude: &Roots) -> Vec<Folder> {
        let homes = env_paths(HOME_VAR).unwrap_or_else(|| {
            crate::paths::home()
                .map(|h| vec![h.join(".codex")])
                .unwrap_or_default()
        });
        // A home without one of the two folders is usual (nothing archived yet): no
        // warning, whoever named the home.
        homes
            .iter()
            .flat_map(|home| FOLDERS.map(|f| home.join(f)))
            .map(|path: PathBuf| Folder {
                agent: Agent::Codex,
                path,
                named: false,
            })
            .collect()
    }

    /// The session is the rollout's id, the uuid that ends its name; the project is
    /// the working directory its `session_meta` names (see `Rollout::record`).
    fn names(&self, _relative: &Path, path: &Path) -> (String, String) {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        (String::new(), session_of_stem(&stem).to_string())
    }

    fn parser(&self) -> Box<dyn LineParser> {
        Box::new(Rollout::default())
    }
}

/// `rollout-2025-05-07T17-24-21-5973b6c0-94b8-487b-a530-2aeb6098ae0e` → the uuid (36
/// characters); any other name is its own session.
fn session_of_stem(stem: &str) -> &str {
    const UUID_LEN: usize = 36;
    match stem.len().checked_sub(UUID_LEN) {
        Some(at) if stem.starts_with("rollout-") && stem.is_char_boundary(at) => &stem[at..],
        _ => stem,
    }
}

/// What a rollout has said so far that later lines need: stored with the cursor.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct State {
    session: Option<String>,
    cwd: Option<String>,
    model: Option<String>,
    /// A fork or a subagent thread: its copies of the parent's events are side chains.
    replay: bool,
    /// The cumulative totals of the last `token_count` with any.
    totals: Option<Usage>,
}

/// One rollout being read.
#[derive(Debug)]
struct Rollout {
    state: State,
    /// The state changed since `take_state` last gave it.
    changed: bool,
    limits: Vec<RateLimit>,
}

impl Default for Rollout {
    fn default() -> Rollout {
        Rollout {
            state: State::default(),
            // A file read from its start replaces whatever state its cursor held.
            changed: true,
            limits: Vec::new(),
        }
    }
}

/// OpenAI's token counts, as Codex writes them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Usage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    cached_input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
    #[serde(default)]
    reasoning_output_tokens: u64,
    #[serde(default)]
    total_tokens: u64,
}

impl Usage {
    fn kinds(&self) -> [u64; 5] {
        [
            self.input_tokens,
            self.cached_input_tokens,
            self.output_tokens,
            self.reasoning_output_tokens,
            self.total_tokens,
        ]
    }

    /// `self - before`, or `None` if any count went down (the totals started again).
    fn growth_since(&self, before: &Usage) -> Option<Usage> {
        Some(Usage {
            input_tokens: self.input_tokens.checked_sub(before.input_tokens)?,
            cached_input_tokens: self
                .cached_input_tokens
                .checked_sub(before.cached_input_tokens)?,
            output_tokens: self.output_tokens.checked_sub(before.output_tokens)?,
            reasoning_output_tokens: self
                .reasoning_output_tokens
                .checked_sub(before.reasoning_output_tokens)?,
            total_tokens: self.total_tokens.checked_sub(before.total_tokens)?,
        })
    }

    /// The five counts as one key: what a copy of the event repeats exactly.
    fn key(&self) -> String {
        let [a, b, c, d, e] = self.kinds();
        format!("{a}.{b}.{c}.{d}.{e}")
    }
}

/// The bytes a line must hold to be read at all: the three kinds of line that matter.
static KINDS: LazyLock<[memmem::Finder<'static>; 3]> = LazyLock::new(|| {
    [
        memmem::Finder::new(b"\"token_count\""),
        memmem::Finder::new(b"\"turn_context\""),
        memmem::Finder::new(b"\"session_meta\""),
    ]
});

/// Whether a line is one of the three kinds that matter, read from where Codex puts its
/// kind: `{"timestamp":"…","type":"event_msg","payload":{"type":"token_count",…`, in the
/// first bytes. Most of a rollout's bytes are tool output in lines of other kinds, so
/// this spares scanning them whole. `None`: the line is not laid out that way, and is
/// looked through whole (`KINDS`).
fn kind_at_start(line: &[u8]) -> Option<bool> {
    const TIMESTAMP: &[u8] = br#"{"timestamp":""#;
    const TYPE: &[u8] = br#""type":""#;
    // Only Codex's own layout is trusted: the line's `type` right after its timestamp. A
    // line laid out otherwise (keys in another order) is looked through whole, or the
    // payload's `type` could be taken for the line's.
    let rest = line.strip_prefix(TIMESTAMP)?;
    let rest = &rest[memchr::memchr(b'"', &rest[..rest.len().min(64)])? + 1..];
    let kind = rest.strip_prefix(b",")?.strip_prefix(TYPE)?;
    let head = &kind[..kind.len().min(160)];
    let end = memchr::memchr(b'"', head)?;
    match &head[..end] {
        b"session_meta" | b"turn_context" => Some(true),
        b"event_msg" => {
            let payload = &head[end..];
            let at = memmem::find(payload, TYPE)? + TYPE.len();
            Some(payload[at..].starts_with(b"token_count\""))
        }
        _ => Some(false),
    }
}

#[derive(Deserialize)]
struct RawLine<'a> {
    #[serde(borrow)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    payload: Option<RawPayload<'a>>,
}

#[derive(Deserialize)]
struct RawPayload<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    cwd: Option<Cow<'a, str>>,
    #[serde(borrow)]
    model: Option<Cow<'a, str>>,
    #[serde(borrow)]
    forked_from_id: Option<Cow<'a, str>>,
    /// `"cli"`, `"vscode"`, … or `{"subagent": …}` for a thread another one spawned.
    source: Option<serde_json::Value>,
    info: Option<RawInfo>,
    rate_limits: Option<RawLimits>,
}

#[derive(Deserialize)]
struct RawInfo {
    total_token_usage: Option<Usage>,
}

#[derive(Deserialize)]
struct RawLimits {
    primary: Option<RawWindow>,
    secondary: Option<RawWindow>,
}

#[derive(Deserialize)]
struct RawWindow {
    used_percent: Option<f64>,
    window_minutes: Option<i64>,
    /// Unix seconds (newer versions).
    resets_at: Option<i64>,
    /// Seconds from the event (older versions).
    resets_in_seconds: Option<i64>,
}

impl LineParser for Rollout {
    fn resume(&mut self, state: &str) -> Result<()> {
        self.state = serde_json::from_str(state).context("Codex parser state")?;
        self.changed = false;
        Ok(())
    }

    fn line(&mut self, line: &[u8]) -> Parsed {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let wanted = match kind_at_start(line) {
            Some(wanted) => wanted,
            None => KINDS.iter().any(|k| k.find(line).is_some()),
        };
        if !wanted {
            return Parsed::Other;
        }
        let raw = match line_text(line).and_then(text_json::<RawLine<'_>>) {
            Ok(raw) => raw,
            Err(skipped) => return skipped,
        };
        let Some(payload) = raw.payload else {
            return Parsed::Other;
        };
        match (raw.kind.as_deref(), payload.kind.as_deref()) {
            (Some("session_meta"), _) => {
                self.session_meta(payload);
                Parsed::Other
            }
            (Some("turn_context"), _) => {
                if let Some(model) = payload.model.filter(|m| !m.is_empty()) {
                    self.set(|s| s.model = Some(model.into_owned()));
                }
                if self.state.cwd.is_none()
                    && let Some(cwd) = payload.cwd
                {
                    self.set(|s| s.cwd = Some(cwd.into_owned()));
                }
                Parsed::Other
            }
            (Some("event_msg"), Some("token_count")) => {
                self.token_count(raw.timestamp.as_deref(), payload)
            }
            _ => Parsed::Other,
        }
    }

    fn take_state(&mut self) -> Option<String> {
        if !std::mem::take(&mut self.changed) {
            return None;
        }
        Some(serde_json::to_string(&self.state).expect("the state serializes"))
    }

    fn take_limits(&mut self) -> Vec<RateLimit> {
        std::mem::take(&mut self.limits)
    }
}

impl Rollout {
    fn set(&mut self, change: impl FnOnce(&mut State)) {
        let before = self.state.clone();
        change(&mut self.state);
        self.changed |= self.state != before;
    }

    /// The first `session_meta` is the file's own: a fork copies its parent's after it.
    fn session_meta(&mut self, payload: RawPayload<'_>) {
        if self.state.session.is_some() {
            return;
        }
        let subagent = payload
            .source
            .as_ref()
            .is_some_and(|s| s.get("subagent").is_some());
        let forked = payload.forked_from_id.is_some_and(|id| !id.is_empty());
        self.set(|s| {
            s.session = payload.id.map(Cow::into_owned);
            s.replay = forked || subagent;
            if let Some(cwd) = payload.cwd {
                s.cwd = Some(cwd.into_owned());
            }
        });
    }

    fn token_count(&mut self, timestamp: Option<&str>, payload: RawPayload<'_>) -> Parsed {
        let ts_ms = match line_time(timestamp) {
            Ok(ts_ms) => ts_ms,
            Err(why) => return Parsed::Skipped(why),
        };
        // A rate-limit sample at a time no real event has is kept out with its line.
        if let Err(reason) = limits::check_time(ts_ms) {
            return Parsed::Skipped(reason);
        }
        if let Some(limits) = payload.rate_limits {
            self.limits.extend(
                [limits.primary, limits.secondary]
                    .into_iter()
                    .flatten()
                    .filter_map(|w| RateLimit::of(w, ts_ms)),
            );
        }
        // `info` is null before the first response of a session.
        let Some(totals) = payload.info.and_then(|i| i.total_token_usage) else {
            return Parsed::Other;
        };
        // The running totals themselves must be in range, or one damaged event would
        // become the base every later growth is measured from.
        if totals.kinds().iter().any(|&n| n > MAX_COUNT) {
            return Parsed::Skipped(format!(
                "a cumulative token count above {MAX_COUNT}: not a real session"
            ));
        }
        let before = self.state.totals.unwrap_or_default();
        let (from, growth) = match totals.growth_since(&before) {
            Some(growth) => (before, growth),
            None => (Usage::default(), totals),
        };
        self.set(|s| s.totals = Some(totals));
        if growth.kinds() == [0; 5] {
            return Parsed::Other;
        }
        let cached = growth.cached_input_tokens.min(growth.input_tokens);
        let state = &self.state;
        Parsed::Billable(Box::new(Record {
            agent: Agent::Codex,
            ts_ms,
            line_session_id: state.session.clone(),
            project: state.cwd.as_deref().map(project_of_cwd),
            cwd: state.cwd.clone(),
            // Rollouts older than `turn_context` name no model: counted, and listed as a
            // model without a price rather than priced as a guess (ccusage guesses gpt-5).
            model: Some(state.model.as_deref().unwrap_or(NO_MODEL).to_string()),
            message_id: Some(totals.key()),
            request_id: Some(match state.replay {
                // Unlike the parent's own, so that the parent's copy, whenever read, wins
                // by rule 2 and keeps its own time.
                true => format!("replay:{}", from.key()),
                false => from.key(),
            }),
            is_sidechain: state.replay,
            tokens: Tokens {
                input: growth.input_tokens - cached,
                output: growth.output_tokens,
                cache_read: cached,
                ..Tokens::default()
            },
            reasoning: growth.reasoning_output_tokens.min(growth.output_tokens),
            ..Record::default()
        }))
    }
}

impl RateLimit {
    /// A window of an event at `ts_ms`; `None` without its length, use or reset time.
    fn of(window: RawWindow, ts_ms: i64) -> Option<RateLimit> {
        let resets_at_ms = match (window.resets_at, window.resets_in_seconds) {
            (Some(at), _) => at.checked_mul(1000)?,
            // Relative to the event; `ledger::quota` rounds every reset to the minute, so
            // the refreshes of one window name the same reset.
            (None, Some(secs)) => ts_ms.checked_add(secs.checked_mul(1000)?)?,
            (None, None) => return None,
        };
        let minutes = window.window_minutes?;
        Some(RateLimit {
            agent: Agent::Codex,
            window: crate::model::window_name(minutes),
            window_minutes: Some(minutes),
            resets_at_ms,
            used_percent: window.used_percent?,
            seen_ms: ts_ms,
            hit: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(parser: &mut Rollout, text: &str) -> Vec<Record> {
        text.lines()
            .filter_map(|l| match parser.line(l.as_bytes()) {
                Parsed::Billable(r) => Some(*r),
                Parsed::Other => None,
                Parsed::Skipped(why) => panic!("{why}: {l}"),
            })
            .collect()
    }

    fn count(ts: &str, totals: [u64; 5]) -> String {
        let [i, c, o, r, t] = totals;
        format!(
            r#"{{"timestamp":"{ts}","type":"event_msg","payload":{{"type":"token_count","info":{{"total_token_usage":{{"input_tokens":{i},"cached_input_tokens":{c},"output_tokens":{o},"reasoning_output_tokens":{r},"total_tokens":{t}}},"last_token_usage":{{"input_tokens":1,"cached_input_tokens":0,"output_tokens":1,"reasoning_output_tokens":0,"total_tokens":2}}}},"rate_limits":{{"primary":{{"used_percent":5.0,"window_minutes":300,"resets_at":1760000000}}}}}}}}"#
        )
    }

    const META: &str = r#"{"timestamp":"2025-10-01T10:00:00.000Z","type":"session_meta","payload":{"id":"s1","cwd":"/home/u/app","originator":"codex_cli_rs","cli_version":"0.46.0","source":"cli"}}"#;
    const CONTEXT: &str = r#"{"timestamp":"2025-10-01T10:00:01.000Z","type":"turn_context","payload":{"cwd":"/home/u/app","model":"gpt-5-codex","effort":"medium"}}"#;

    #[test]
    fn growth_of_totals_with_cached_input_apart() {
        let mut p = Rollout::default();
        let text = [
            META.to_string(),
            CONTEXT.to_string(),
            count("2025-10-01T10:00:05.000Z", [1000, 200, 50, 10, 1050]),
            // Emitted again with the same totals: nothing.
            count("2025-10-01T10:00:06.000Z", [1000, 200, 50, 10, 1050]),
            count("2025-10-01T10:01:00.000Z", [2500, 1200, 80, 10, 2580]),
        ]
        .join("\n");
        let records = lines(&mut p, &text);
        assert_eq!(records.len(), 2);
        let second = &records[1];
        assert_eq!(
            second.tokens,
            Tokens {
                input: 500,
                output: 30,
                cache_read: 1000,
                ..Tokens::default()
            }
        );
        assert_eq!(records[0].reasoning, 10);
        assert_eq!(second.model.as_deref(), Some("gpt-5-codex"));
        assert_eq!(second.project.as_deref(), Some("-home-u-app"));
        assert_eq!(second.line_session_id.as_deref(), Some("s1"));
        assert!(!second.is_sidechain);
        assert_eq!(p.take_limits().len(), 3);
    }

    #[test]
    fn state_taken_and_resumed_continues_the_growth() {
        let mut p = Rollout::default();
        let first = [
            META.to_string(),
            CONTEXT.to_string(),
            count("2025-10-01T10:00:05.000Z", [1000, 0, 50, 0, 1050]),
        ]
        .join("\n");
        lines(&mut p, &first);
        let state = p.take_state().unwrap();
        assert_eq!(p.take_state(), None, "unchanged since taken");
        let mut q = Rollout::default();
        q.resume(&state).unwrap();
        let records = lines(
            &mut q,
            &count("2025-10-01T10:02:00Z", [1500, 0, 70, 0, 1570]),
        );
        assert_eq!(records[0].tokens.input, 500);
        assert_eq!(records[0].tokens.output, 20);
        assert_eq!(records[0].model.as_deref(), Some("gpt-5-codex"));
    }

    #[test]
    fn the_kind_is_read_from_the_start_where_codex_puts_it() {
        let big = format!(
            r#"{{"timestamp":"2025-10-01T09:00:00Z","type":"response_item","payload":{{"type":"function_call_output","output":"{}"token_count""}}}}"#,
            "x".repeat(1000)
        );
        assert_eq!(kind_at_start(big.as_bytes()), Some(false));
        assert_eq!(kind_at_start(META.as_bytes()), Some(true));
        assert_eq!(kind_at_start(CONTEXT.as_bytes()), Some(true));
        let counted = count("2025-10-01T10:00:05Z", [1, 0, 1, 0, 2]);
        assert_eq!(kind_at_start(counted.as_bytes()), Some(true));
        let message = r#"{"timestamp":"2025-10-01T09:00:00Z","type":"event_msg","payload":{"type":"agent_message","message":"token_count"}}"#;
        assert_eq!(kind_at_start(message.as_bytes()), Some(false));
        // Laid out otherwise: looked through whole.
        let other = format!(
            r#"{{"payload":{{"x":"{}","model":"gpt-5"}},"type":"turn_context"}}"#,
            "y".repeat(200)
        );
        assert_eq!(kind_at_start(other.as_bytes()), None);
        // The payload's `type` first: not taken for the line's (a token_count was lost so).
        let reordered = r#"{"payload":{"type":"token_count","info":null},"timestamp":"2025-10-01T09:00:00Z","type":"event_msg"}"#;
        assert_eq!(kind_at_start(reordered.as_bytes()), None);
        let mut p = Rollout::default();
        p.line(other.as_bytes());
        assert!(p.take_state().unwrap().contains("gpt-5"));
    }

    #[test]
    fn usage_before_any_turn_context_has_a_model_marked_unknown() {
        let mut p = Rollout::default();
        let records = lines(&mut p, &count("2025-05-01T10:00:00Z", [100, 0, 5, 0, 105]));
        assert_eq!(records[0].model.as_deref(), Some(NO_MODEL));
    }

    #[test]
    fn totals_that_start_again_count_from_zero() {
        let mut p = Rollout::default();
        let text = [
            count("2025-10-01T10:00:05Z", [1000, 0, 50, 0, 1050]),
            count("2025-10-01T10:00:09Z", [300, 0, 5, 0, 305]),
        ]
        .join("\n");
        let records = lines(&mut p, &text);
        assert_eq!(records[1].tokens.input, 300);
        assert_eq!(records[1].request_id.as_deref(), Some("0.0.0.0.0"));
    }

    #[test]
    fn forks_and_subagents_are_side_chains() {
        for meta in [
            r#"{"timestamp":"2025-10-01T10:00:00Z","type":"session_meta","payload":{"id":"f","forked_from_id":"s1","cwd":"/a"}}"#,
            r#"{"timestamp":"2025-10-01T10:00:00Z","type":"session_meta","payload":{"id":"f","cwd":"/a","source":{"subagent":{"thread_spawn":{"parent_thread_id":"s1","depth":1}}}}}"#,
        ] {
            let mut p = Rollout::default();
            let text = format!(
                "{meta}\n{META}\n{}",
                count("2025-10-02T00:00:00Z", [9, 0, 1, 0, 10])
            );
            let records = lines(&mut p, &text);
            assert!(records[0].is_sidechain);
            assert_eq!(records[0].line_session_id.as_deref(), Some("f"));
        }
    }

    #[test]
    fn session_is_the_uuid_ending_the_name() {
        let (_, session) = CODEX.names(
            Path::new("2025/10/01/x.jsonl"),
            Path::new("/h/sessions/2025/10/01/rollout-2025-10-01T10-00-00-0199a213-81c0-7800-8aa1-bbab2a035a53.jsonl"),
        );
        assert_eq!(session, "0199a213-81c0-7800-8aa1-bbab2a035a53");
        assert_eq!(session_of_stem("other"), "other");
    }
}
