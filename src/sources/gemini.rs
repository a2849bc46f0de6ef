//! Gemini CLI: `~/.gemini/tmp/<project>/chats/session-*.jsonl`, their subagents in
//! `chats/<parent session id>/*.jsonl`, and the legacy `session-*.json` of versions up to
//! 0.38 (`GEMINI_CLI_HOME` replaces the home, as Gemini CLI reads it; else
//! `GEMINI_DATA_DIR`, ccusage's comma list of `tmp` folders).
//!
//! A session file is a log of changes (see `fixtures/README.md` for where the format
//! comes from): a metadata line naming the session, then every message, appended again
//! whole each time it changes, `{"$set": …}` updates (some hold the whole history again)
//! and `{"$rewindTo": id}`. Usage is the `tokens` of `type: "gemini"` messages. Only
//! message lines are read: a `$set` repeats messages already appended, and a rewind hides
//! messages whose usage was billed all the same, so neither adds nor removes a row.
//!
//! Copies count once through the ledger's dedup index, keyed by the message id: the
//! copies of a message (its tokens arriving, a tool call added) repeat the tokens once
//! set, and a legacy `.json` resumed into a `.jsonl` leaves the same ids in both. The
//! `.json` is one document rewritten whole (`Shape::Rewritten`): it is read whole, each
//! time it changes, and what it held before adds nothing.
//!
//! `tokens` is Gemini's `usageMetadata` by other names; `UsageMetadata` is the one
//! reading of it, which Qwen Code's source shares.
//!
//! A session is named as Gemini CLI names it in its files: by the first 8 characters of
//! its id, which end a session's file name and begin its subagents' folder (Gemini CLI
//! finds and deletes a session's files together by this short id).
//!
//! The parser's state, the last model (a synthetic message has none, and is billed under
//! the one before it), is stored with the cursor.

use std::borrow::Cow;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use anyhow::{Context, Result, anyhow};
use memchr::memmem;
use serde::{Deserialize, Serialize};

use crate::limits::MAX_COUNT;
use crate::model::Agent;
use crate::model::{Parsed, Record, Tokens, line_time};
use crate::sources::claude::roots::Roots;
use crate::sources::rewritten::DocumentParser;
use crate::sources::{Folder, LineParser, Shape, Source, env_paths, line_text, text_json};

pub struct Gemini;

pub static GEMINI: Gemini = Gemini;

/// The variable Gemini CLI reads for the home its `.gemini` is in.
pub const HOME_VAR: &str = "GEMINI_CLI_HOME";

/// ccusage's variable: a comma list of Gemini `tmp` folders.
pub const DATA_VAR: &str = "GEMINI_DATA_DIR";

/// The model of a reply when neither it nor any reply before it in its file names one:
/// counted, and listed as a model without a price rather than priced as a guess.
pub const NO_MODEL: &str = "gemini-unknown-model";

impl Source for Gemini {
    fn agent(&self) -> Agent {
        Agent::Gemini
    }

    fn shape(&self) -> Shape {
        Shape::AppendOnly
    }

    fn folders(&self, _claude: &Roots) -> Vec<Folder> {
        let (paths, named) = if let Some(homes) = env_paths(HOME_VAR) {
            let tmp = homes
                .iter()
                .map(|h| h.join(".gemini").join("tmp"))
                .collect();
            (tmp, true)
        } else if let Some(tmp) = env_paths(DATA_VAR) {
            (tmp, true)
        } else {
            let tmp = crate::paths::home()
                .map(|h| vec![h.join(".gemini").join("tmp")])
                .unwrap_or_default();
            (tmp, false)
        };
        paths
            .into_iter()
            .map(|path: PathBuf| Folder {
                agent: Agent::Gemini,
                path,
                named,
            })
            .collect()
    }

    /// The project is the folder below `tmp/` (a slug, or in older trees the sha256 of
    /// the project's path); the session the short id: `chats/session-<time>-<short id>.jsonl`
    /// (or `.json`), and `chats/<parent id>/<id>.jsonl` for a subagent of the parent.
    fn names(&self, relative: &Path, path: &Path) -> (String, String) {
        let parts: Vec<_> = relative.iter().map(|p| p.to_string_lossy()).collect();
        let project = parts.first().map(|p| p.to_string()).unwrap_or_default();
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let session = match parts.as_slice() {
            [_, chats, parent, _] if chats == "chats" => short_id(parent).to_string(),
            _ => match stem.rsplit_once('-') {
                Some((_, id)) if stem.starts_with("session-") => id.to_string(),
                _ => stem,
            },
        };
        (project, session)
    }

    fn parser(&self) -> Box<dyn LineParser> {
        Box::new(Session::default())
    }

    /// Session logs, and the legacy documents: a session's `chats/session-*.json`, a
    /// subagent's `chats/<parent id>/<id>.json` (not the other `.json` files below
    /// `tmp/`: prompt logs, saved chats, tool output).
    fn reads(&self, dir: &Path, name: &OsStr) -> bool {
        let chats = |dir: Option<&Path>| dir.and_then(Path::file_name) == Some(OsStr::new("chats"));
        match Path::new(name).extension().and_then(OsStr::to_str) {
            Some("jsonl") => true,
            Some("json") => {
                (chats(Some(dir)) && name.as_bytes().starts_with(b"session-"))
                    || chats(dir.parent())
            }
            _ => false,
        }
    }

    fn documents(&self) -> Option<&dyn DocumentParser> {
        Some(&LegacyDocuments)
    }

    fn shape_of(&self, path: &Path) -> Shape {
        match path.extension() == Some(OsStr::new("json")) {
            true => Shape::Rewritten,
            false => Shape::AppendOnly,
        }
    }
}

/// The first 8 characters of a session id, as Gemini CLI's file names hold it.
fn short_id(id: &str) -> &str {
    id.char_indices().nth(8).map_or(id, |(at, _)| &id[..at])
}

/// Gemini's `usageMetadata` (and Gemini CLI's `tokens`, which copies it under other
/// names): what one response used, read the one way both agents need.
///
/// `prompt` includes `cached`; `tool` (tool-use prompts) is input besides the prompt.
/// Whether `thoughts` is inside `candidates` depends on the API behind it: Gemini's counts
/// them apart (total = prompt + candidates + thoughts + tool), an OpenAI-compatible one
/// inside (`completion_tokens`, reasoning included: total = prompt + candidates). The
/// total tells which; without one, Gemini's meaning holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UsageMetadata {
    pub prompt: u64,
    pub candidates: u64,
    pub cached: u64,
    pub thoughts: u64,
    pub tool: u64,
    pub total: u64,
}

impl UsageMetadata {
    /// The ledger's tokens and the reasoning inside their output; `None` when nothing
    /// was used (a cancelled request); an error naming the count that is damage (checked
    /// here, before the sums below, which such a count could overflow).
    pub fn billed(&self) -> Result<Option<(Tokens, u64)>, String> {
        let counts = [
            self.prompt,
            self.candidates,
            self.cached,
            self.thoughts,
            self.tool,
            self.total,
        ];
        if let Some(n) = counts.iter().find(|&&n| n > MAX_COUNT) {
            return Err(format!(
                "a token count of {n} is above {MAX_COUNT}: not a real response"
            ));
        }
        if counts.iter().all(|&n| n == 0) {
            return Ok(None);
        }
        let apart = self.total == 0 || self.total >= self.prompt + self.candidates + self.thoughts;
        let output = if apart {
            self.candidates + self.thoughts
        } else {
            self.candidates
        };
        let cached = self.cached.min(self.prompt);
        let tokens = Tokens {
            input: self.prompt - cached + self.tool,
            output,
            cache_read: cached,
            ..Tokens::default()
        };
        Ok(Some((tokens, self.thoughts.min(output))))
    }
}

/// What a session file has said so far that later lines need: stored with the cursor.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct State {
    model: Option<String>,
}

/// One session file being read.
#[derive(Debug)]
struct Session {
    state: State,
    /// The state changed since `take_state` last gave it.
    changed: bool,
}

impl Default for Session {
    fn default() -> Session {
        Session {
            state: State::default(),
            // A file read from its start replaces whatever state its cursor held.
            changed: true,
        }
    }
}

/// The bytes a line must hold to matter: a message's tokens or its model.
static WANTED: LazyLock<[memmem::Finder<'static>; 2]> = LazyLock::new(|| {
    [
        memmem::Finder::new(b"\"tokens\""),
        memmem::Finder::new(b"\"model\""),
    ]
});

/// A line of a session file, or a message of a legacy document.
#[derive(Deserialize)]
struct RawRecord<'a> {
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    model: Option<Cow<'a, str>>,
    tokens: Option<RawTokens>,
}

#[derive(Deserialize)]
struct RawTokens {
    #[serde(default)]
    input: u64,
    #[serde(default)]
    output: u64,
    #[serde(default)]
    cached: u64,
    #[serde(default)]
    thoughts: u64,
    #[serde(default)]
    tool: u64,
    #[serde(default)]
    total: u64,
}

impl LineParser for Session {
    fn resume(&mut self, state: &str) -> Result<()> {
        self.state = serde_json::from_str(state).context("Gemini parser state")?;
        self.changed = false;
        Ok(())
    }

    fn line(&mut self, line: &[u8]) -> Parsed {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        // A `$set` may hold the whole history: not read at all. A rewind names an id.
        if line.starts_with(b"{\"$") || !WANTED.iter().any(|w| w.find(line).is_some()) {
            return Parsed::Other;
        }
        match line_text(line).and_then(text_json::<RawRecord<'_>>) {
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

impl Session {
    fn set(&mut self, change: impl FnOnce(&mut State)) {
        let before = self.state.clone();
        change(&mut self.state);
        self.changed |= self.state != before;
    }

    fn record(&mut self, raw: RawRecord<'_>) -> Parsed {
        if raw.id.is_none() || raw.kind.as_deref() != Some("gemini") {
            return Parsed::Other;
        }
        if let Some(model) = raw.model.as_deref().filter(|m| !m.is_empty())
            && self.state.model.as_deref() != Some(model)
        {
            self.set(|s| s.model = Some(model.to_string()));
        }
        // `tokens: null`: written before its usage arrived; a later copy has it.
        let Some(tokens) = raw.tokens else {
            return Parsed::Other;
        };
        let usage = UsageMetadata {
            prompt: tokens.input,
            candidates: tokens.output,
            cached: tokens.cached,
            thoughts: tokens.thoughts,
            tool: tokens.tool,
            total: tokens.total,
        };
        let (tokens, reasoning) = match usage.billed() {
            Ok(Some(billed)) => billed,
            Ok(None) => return Parsed::Other,
            Err(why) => return Parsed::Skipped(why),
        };
        let ts_ms = match line_time(raw.timestamp.as_deref()) {
            Ok(ts_ms) => ts_ms,
            Err(why) => return Parsed::Skipped(why),
        };
        Parsed::Billable(Box::new(Record {
            agent: Agent::Gemini,
            ts_ms,
            model: Some(self.state.model.as_deref().unwrap_or(NO_MODEL).to_string()),
            message_id: raw.id.map(Cow::into_owned),
            tokens,
            reasoning,
            ..Record::default()
        }))
    }
}

/// A legacy `session-*.json` (or a subagent's `<id>.json`): one pretty-printed document,
/// `{sessionId, projectHash, startTime, lastUpdated, messages}`, its messages the same
/// records as a `.jsonl`'s, read in order as the lines of a session file would be. A
/// message that cannot be read (a time that does not parse) is left out, as its line
/// would be.
struct LegacyDocuments;

impl DocumentParser for LegacyDocuments {
    fn records(&self, _path: &Path, document: &[u8]) -> Result<Vec<Record>> {
        #[derive(Deserialize)]
        struct Document<'a> {
            #[serde(borrow, default)]
            messages: Vec<RawRecord<'a>>,
        }
        let text = simdutf8::basic::from_utf8(document).map_err(|_| anyhow!("invalid UTF-8"))?;
        let document: Document<'_> = serde_json::from_str(text).context("invalid JSON")?;
        let mut session = Session::default();
        Ok(document
            .messages
            .into_iter()
            .filter_map(|message| match session.record(message) {
                Parsed::Billable(record) => Some(*record),
                Parsed::Other | Parsed::Skipped(_) => None,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(parsed: Vec<Parsed>) -> Vec<Record> {
        parsed
            .into_iter()
            .filter_map(|p| match p {
                Parsed::Billable(r) => Some(*r),
                Parsed::Other => None,
                Parsed::Skipped(why) => panic!("skipped: {why}"),
            })
            .collect()
    }

    fn read(text: &str) -> (Session, Vec<Record>) {
        let mut session = Session::default();
        let parsed = text.lines().map(|l| session.line(l.as_bytes())).collect();
        (session, records(parsed))
    }

    fn fixture(relative: &str) -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/gemini/tmp")
            .join(relative);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    const MAIN: &str = "my-app/chats/session-2026-01-10T09-00-a1b2c3d4.jsonl";
    const LEGACY: &str = "04382e3e2136986122415aa03b903f429a5c2f7ea590135bac4ab947b97dc809/\
                          chats/session-2026-01-09T14-00-0f0e0d0c";

    #[test]
    fn gemini_api_counts_thoughts_and_tool_prompts_apart() {
        let usage = UsageMetadata {
            prompt: 15_327,
            candidates: 23,
            cached: 11_526,
            thoughts: 919,
            tool: 7,
            total: 16_276,
        };
        let (tokens, reasoning) = usage.billed().unwrap().unwrap();
        assert_eq!((tokens.input, tokens.cache_read), (3_801 + 7, 11_526));
        assert_eq!((tokens.output, reasoning), (23 + 919, 919));
    }

    #[test]
    fn openai_compatible_apis_count_thoughts_inside_the_candidates() {
        // A real Qwen Code line: 18,009 + 47 = 18,056, the 36 thoughts inside the 47.
        let usage = UsageMetadata {
            prompt: 18_009,
            candidates: 47,
            cached: 12,
            thoughts: 36,
            tool: 0,
            total: 18_056,
        };
        let (tokens, reasoning) = usage.billed().unwrap().unwrap();
        assert_eq!(
            (tokens.input, tokens.output, tokens.cache_read),
            (17_997, 47, 12)
        );
        assert_eq!(reasoning, 36);
        assert_eq!(UsageMetadata::default().billed(), Ok(None));
    }

    #[test]
    fn the_fixture_session_gives_each_reply_once_with_its_session_and_model() {
        let (session, rows) = read(&fixture(MAIN));
        // Lines 5 and 6 are one message (the ledger's dedup keeps one: same id, same
        // tokens); line 10's history dump and line 11's rewind add and remove nothing.
        let ids: Vec<_> = rows.iter().map(|r| r.message_id.clone().unwrap()).collect();
        assert_eq!(ids.len(), 5);
        assert_eq!(ids[0], ids[1]);
        assert_eq!(rows[0].tokens, rows[1].tokens);
        let sum = |f: fn(&Record) -> u64| rows.iter().skip(1).map(f).sum::<u64>();
        assert_eq!(sum(|r| r.tokens.input), 4_000 + 3_030 + 2_000 + 1_000);
        assert_eq!(sum(|r| r.tokens.output), 500 + 120 + 60 + 10);
        assert_eq!(sum(|r| r.tokens.cache_read), 8_000 + 12_000);
        assert_eq!(sum(|r| r.reasoning), 200 + 10);
        // Line 14 has no model of its own: the file's last one.
        assert_eq!(rows[4].model.as_deref(), Some("gemini-2.5-flash"));
        assert_eq!(session.state.model.as_deref(), Some("gemini-2.5-flash"));
    }

    #[test]
    fn state_taken_and_resumed_keeps_the_model() {
        let text = fixture(MAIN);
        let lines: Vec<_> = text.lines().collect();
        let (mut first, _) = read(&lines[..13].join("\n"));
        let state = first.take_state().unwrap();
        assert_eq!(first.take_state(), None, "unchanged since taken");
        let mut rest = Session::default();
        rest.resume(&state).unwrap();
        let Parsed::Billable(row) = rest.line(lines[13].as_bytes()) else {
            panic!("line 14 is billable");
        };
        assert_eq!(row.model.as_deref(), Some("gemini-2.5-flash"));
    }

    #[test]
    fn a_legacy_document_holds_the_replies_its_migrated_jsonl_repeats() {
        let legacy = LegacyDocuments
            .records(
                Path::new("s.json"),
                fixture(&format!("{LEGACY}.json")).as_bytes(),
            )
            .unwrap();
        let (_, migrated) = read(&fixture(&format!("{LEGACY}.jsonl")));
        assert_eq!(legacy.len(), 2);
        assert_eq!(migrated.len(), 3);
        for (old, new) in legacy.iter().zip(&migrated) {
            assert_eq!(old, new, "the same message, the same record: counted once");
        }
        assert_eq!(
            legacy[0].tokens,
            Tokens {
                input: 2_000,
                output: 150,
                cache_read: 1_000,
                ..Tokens::default()
            }
        );
    }

    #[test]
    fn a_reply_before_any_model_is_marked_unknown() {
        let line = r#"{"id":"x","timestamp":"2026-01-10T09:00:05.000Z","type":"gemini","tokens":{"input":9,"output":1,"cached":0,"thoughts":0,"tool":0,"total":10}}"#;
        let (_, rows) = read(line);
        assert_eq!(rows[0].model.as_deref(), Some(NO_MODEL));
    }

    #[test]
    fn set_lines_are_not_read_even_with_messages_inside() {
        let mut session = Session::default();
        let dump = r#"{"$set":{"messages":[{"id":"x","timestamp":"2026-01-10T09:00:05.000Z","type":"gemini","tokens":{"input":9,"output":9,"cached":0,"thoughts":0,"tool":0,"total":18},"model":"m"}]}}"#;
        assert_eq!(session.line(dump.as_bytes()), Parsed::Other);
        assert_eq!(session.line(br#"{"$rewindTo":"x"}"#), Parsed::Other);
    }

    #[test]
    fn a_broken_document_is_an_error() {
        let cut = b"{\n  \"sessionId\": \"s\",\n  \"messages\": [";
        assert!(LegacyDocuments.records(Path::new("s.json"), cut).is_err());
    }

    #[test]
    fn logs_and_legacy_documents_are_read_and_no_other_json() {
        let reads = |dir: &str, name: &str| GEMINI.reads(Path::new(dir), OsStr::new(name));
        assert!(reads(
            "/g/tmp/my-app/chats",
            "session-2026-01-10T09-00-a1b2c3d4.jsonl"
        ));
        assert!(reads("/g/tmp/my-app/chats/a1b2c3d4-5e6f", "f0e1d2c3.jsonl"));
        assert!(reads(
            "/g/tmp/h/chats",
            "session-2026-01-09T14-00-0f0e0d0c.json"
        ));
        assert!(reads("/g/tmp/h/chats/0f0e0d0c-1111", "k3j9x2.json"));
        assert!(!reads("/g/tmp/my-app", "logs.json"));
        assert!(!reads("/g/tmp/my-app", "checkpoint-build.json"));
        assert!(!reads("/g/tmp/my-app/chats", "notes.json"));
        assert!(!reads(
            "/g/tmp/my-app/chats",
            "session-x.jsonl.unreadable-1767999605000"
        ));
    }

    #[test]
    fn a_session_and_its_subagents_share_the_short_id() {
        let names = |relative: &str| GEMINI.names(Path::new(relative), Path::new(relative));
        let main = ("my-app".to_string(), "a1b2c3d4".to_string());
        assert_eq!(names(MAIN), main);
        assert_eq!(
            names("my-app/chats/a1b2c3d4-5e6f-4a70-8b91-c2d3e4f5a6b7/f0e1d2c3.jsonl"),
            main
        );
        assert_eq!(names(&format!("{LEGACY}.json")).1, "0f0e0d0c");
        assert_eq!(names(&format!("{LEGACY}.jsonl")).1, "0f0e0d0c");
    }
}
