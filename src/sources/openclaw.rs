//! OpenClaw (formerly clawdbot, moltbot): `<state dir>/agents/<agent id>/sessions/<session
//! id>.jsonl`, the state dir being `OPENCLAW_STATE_DIR` (or the older
//! `CLAWDBOT_STATE_DIR`) as OpenClaw reads it, else `OPENCLAW_DIR` (ccusage's comma list of
//! state dirs), else each of `~/.openclaw` and the older `~/.clawdbot`, `~/.moltbot` and
//! `~/.moldbot` (as ccusage does: one that OpenClaw no longer uses still holds history).
//!
//! OpenClaw keeps its transcripts with pi's session manager: the same lines, read by
//! `pi::Transcript` (see `fixtures/README.md`). Its replies are dated by their message's
//! `timestamp` (Unix ms) where they have one, as ccusage dates them, and name their model
//! or take the latest `model_change` or `model-snapshot`'s.
//!
//! A session reset or deleted in OpenClaw is not lost: its transcript is renamed
//! `<id>.jsonl.reset.<time>` or `<id>.jsonl.deleted.<time>`, and those are read too. The
//! renamed file is the same lines under a new name: each reply is keyed by its entry's and
//! its message's times (`pi::Transcript`), so it counts once. Repair backups
//! (`.jsonl.bak-*`) and the `sessions.json` index are not read.
//!
//! The project is the OpenClaw agent (the folder below `agents/`), the session the file's
//! name up to `.jsonl`.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use crate::model::Agent;
use crate::sources::claude::roots::Roots;
use crate::sources::pi::{Flavor, Transcript};
use crate::sources::{Folder, LineParser, Shape, Source, env_paths};

pub struct OpenClaw;

pub static OPENCLAW: OpenClaw = OpenClaw;

/// The variables OpenClaw reads for its state dir, the one it prefers first.
pub const STATE_VARS: [&str; 2] = ["OPENCLAW_STATE_DIR", "CLAWDBOT_STATE_DIR"];

/// ccusage's variable: a comma list of OpenClaw state dirs.
pub const DIR_VAR: &str = "OPENCLAW_DIR";

/// The state dirs below home, OpenClaw's own first.
const HOMES: [&str; 4] = [".openclaw", ".clawdbot", ".moltbot", ".moldbot"];

/// The model of a reply that names none, after no `model_change` or `model-snapshot`.
pub const NO_MODEL: &str = "openclaw-unknown-model";

static FLAVOR: Flavor = Flavor {
    agent: Agent::OpenClaw,
    message_time: true,
    no_model: NO_MODEL,
};

impl Source for OpenClaw {
    fn agent(&self) -> Agent {
        Agent::OpenClaw
    }

    fn shape(&self) -> Shape {
        Shape::AppendOnly
    }

    fn folders(&self, _claude: &Roots) -> Vec<Folder> {
        let dirs = STATE_VARS
            .iter()
            .chain([&DIR_VAR])
            .find_map(|var| env_paths(var))
            .unwrap_or_else(|| {
                crate::paths::home()
                    .map(|h| HOMES.iter().map(|d| h.join(d)).collect())
                    .unwrap_or_default()
            });
        // A state dir without agents yet is usual (a config only): no warning.
        dirs.into_iter()
            .map(|dir: PathBuf| Folder {
                agent: Agent::OpenClaw,
                path: dir.join("agents"),
                named: false,
            })
            .collect()
    }

    /// A transcript, live or archived, in an agent's `sessions/`.
    fn reads(&self, dir: &Path, name: &OsStr) -> bool {
        let Some(name) = name.to_str() else {
            return false;
        };
        dir.file_name() == Some(OsStr::new("sessions"))
            && match name.find(".jsonl") {
                Some(at) => {
                    let suffix = &name[at..];
                    suffix == ".jsonl"
                        || suffix.starts_with(".jsonl.reset.")
                        || suffix.starts_with(".jsonl.deleted.")
                }
                None => false,
            }
    }

    fn names(&self, relative: &Path, path: &Path) -> (String, String) {
        let project = relative
            .iter()
            .next()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let session = match name.find(".jsonl") {
            Some(at) if at > 0 => name[..at].to_string(),
            _ => name,
        };
        (project, session)
    }

    fn parser(&self) -> Box<dyn LineParser> {
        Box::new(Transcript::new(&FLAVOR))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Parsed;

    #[test]
    fn live_and_archived_transcripts_are_read_and_nothing_else() {
        let sessions = Path::new("/o/agents/main/sessions");
        for name in [
            "5f1e.jsonl",
            "5f1e-topic-42.jsonl",
            "5f1e.jsonl.reset.2026-03-20T06-34-44.520Z",
            "5f1e.jsonl.deleted.1700000000000",
        ] {
            assert!(OPENCLAW.reads(sessions, OsStr::new(name)), "{name}");
        }
        for name in ["sessions.json", "5f1e.jsonl.bak-1", "5f1e.json"] {
            assert!(!OPENCLAW.reads(sessions, OsStr::new(name)), "{name}");
        }
        assert!(!OPENCLAW.reads(Path::new("/o/agents/main/qmd"), OsStr::new("a.jsonl")));
        assert_eq!(
            OPENCLAW.names(
                Path::new("main/sessions/5f1e.jsonl.reset.1"),
                &sessions.join("5f1e.jsonl.reset.1")
            ),
            ("main".to_string(), "5f1e".to_string())
        );
    }

    #[test]
    fn a_reply_is_dated_by_its_message_and_named_by_the_snapshot() {
        let mut p = OPENCLAW.parser();
        let snapshot = r#"{"type":"custom","customType":"model-snapshot","data":{"provider":"openai-codex","modelId":"gpt-5.2"},"id":"c1","timestamp":"2026-01-30T06:18:50.000Z"}"#;
        assert_eq!(p.line(snapshot.as_bytes()), Parsed::Other);
        let reply = r#"{"type":"message","id":"m1","timestamp":"2026-01-30T06:18:56.000Z","message":{"role":"assistant","usage":{"input":1660,"output":55,"cacheRead":108928,"cost":{"total":0.02}},"timestamp":1769753935279}}"#;
        let Parsed::Billable(row) = p.line(reply.as_bytes()) else {
            panic!("billable");
        };
        assert_eq!(row.agent, Agent::OpenClaw);
        assert_eq!(row.ts_ms, 1_769_753_935_279);
        assert_eq!(row.model.as_deref(), Some("gpt-5.2"));
        assert_eq!(row.cost_usd, Some(0.02));
    }
}
