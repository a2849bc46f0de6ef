//! Claude Code: `projects/**/*.jsonl` below each data root, one line per response block.
//!
//! The first source, with the rules the ledger always had: the roots are `roots`'
//! (`--source`, `CLAUDE_CONFIG_DIR`, the defaults), the names come from the path below
//! `projects/`, and each line is read alone by `parse`, so the parser keeps no state.
//!
//! Besides responses, the lines where Claude Code says a limit was hit: an assistant
//! message (`isApiErrorMessage`, model `<synthetic>`) whose text is
//! `Claude AI usage limit reached|<reset, Unix seconds>`. Each is a quota sample of
//! 100 % marked as a hit (`RateLimit::hit`) of the window the reset names: the 5-hour one
//! when it resets within 5 hours of the line, else the weekly one.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::model::Parsed;
use memchr::memmem;
use roots::Roots;
use serde::Deserialize;

use crate::model::{Agent, RateLimit, window_name};
use crate::sources::{Folder, LineParser, Shape, Source};

pub mod parse;
pub mod roots;

pub struct Claude;

/// The `projects/` folder of each root. Default roots are only kept if they exist, so
/// every root is a named one: missing, a warning.
pub fn folders_of(roots: &[PathBuf]) -> Vec<Folder> {
    roots
        .iter()
        .map(|root| Folder {
            agent: Agent::Claude,
            path: root.join("projects"),
            named: true,
        })
        .collect()
}

pub static CLAUDE: Claude = Claude;

impl Source for Claude {
    fn agent(&self) -> Agent {
        Agent::Claude
    }

    fn shape(&self) -> Shape {
        Shape::AppendOnly
    }

    fn folders(&self, claude: &Roots) -> Vec<Folder> {
        folders_of(&claude.paths)
    }

    fn names(&self, relative: &Path, path: &Path) -> (String, String) {
        roots::names(relative, path)
    }

    fn parser(&self) -> Box<dyn LineParser> {
        Box::new(Lines::default())
    }
}

/// Claude Code's lines, each read alone, and the limit hits they tell.
#[derive(Default)]
struct Lines {
    hits: Vec<RateLimit>,
}

impl LineParser for Lines {
    fn resume(&mut self, _state: &str) -> Result<()> {
        Ok(())
    }

    fn line(&mut self, line: &[u8]) -> Parsed {
        // Only the rare line with the marker is read a second time.
        if memmem::find(line, LIMIT_MARKER).is_some() {
            self.hits.extend(limit_hit(line));
        }
        parse::parse_line(line)
    }

    fn take_state(&mut self) -> Option<String> {
        None
    }

    fn take_limits(&mut self) -> Vec<RateLimit> {
        std::mem::take(&mut self.hits)
    }
}

/// What a limit-hit text holds before its reset time.
const LIMIT_MARKER: &[u8] = b"usage limit reached|";

/// The windows a hit can be of, by how far its reset lies (see the module doc).
const FIVE_HOURS_MS: i64 = 5 * 3_600_000;

#[derive(Deserialize)]
struct HitLine<'a> {
    #[serde(rename = "type")]
    kind: Option<&'a str>,
    timestamp: Option<&'a str>,
    message: Option<HitMessage>,
}

#[derive(Deserialize)]
struct HitMessage {
    #[serde(default)]
    content: Vec<HitContent>,
}

#[derive(Deserialize)]
struct HitContent {
    text: Option<String>,
}

/// The limit hit an assistant line tells, if it is one (a user quoting the text is not).
fn limit_hit(line: &[u8]) -> Option<RateLimit> {
    let parsed: HitLine<'_> = serde_json::from_slice(line).ok()?;
    if parsed.kind != Some("assistant") {
        return None;
    }
    let seen_ms = parsed
        .timestamp?
        .parse::<jiff::Timestamp>()
        .ok()?
        .as_millisecond();
    let reset_secs: i64 = parsed.message?.content.iter().find_map(|c| {
        let text = c.text.as_deref()?.trim();
        let (before, epoch) = text.rsplit_once('|')?;
        before
            .ends_with("usage limit reached")
            .then(|| epoch.parse().ok())?
    })?;
    let resets_at_ms = reset_secs.checked_mul(1000)?;
    crate::limits::check_time(seen_ms).ok()?;
    crate::limits::check_time(resets_at_ms).ok()?;
    let minutes = match resets_at_ms - seen_ms <= FIVE_HOURS_MS {
        true => 300,
        false => 10_080,
    };
    Some(RateLimit {
        agent: Agent::Claude,
        window: window_name(minutes),
        window_minutes: Some(minutes),
        resets_at_ms,
        used_percent: 100.0,
        seen_ms,
        hit: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HIT: &str = r#"{"type":"assistant","timestamp":"2025-08-11T01:02:03.000Z","isApiErrorMessage":true,"message":{"id":"x","model":"<synthetic>","role":"assistant","content":[{"type":"text","text":"Claude AI usage limit reached|1754877600"}],"usage":{"input_tokens":0,"output_tokens":0}}}"#;

    #[test]
    fn a_limit_hit_line_is_a_full_window() {
        let hit = limit_hit(HIT.as_bytes()).unwrap();
        assert_eq!(hit.window, "five_hour");
        assert_eq!(hit.resets_at_ms, 1_754_877_600_000);
        assert!(hit.hit && hit.used_percent == 100.0);
        let weekly = HIT
            .replace("01:02:03", "00:00:00")
            .replace("1754877600", "1755300000");
        assert_eq!(limit_hit(weekly.as_bytes()).unwrap().window, "seven_day");
        let quoted = HIT.replace(r#""type":"assistant""#, r#""type":"user""#);
        assert_eq!(limit_hit(quoted.as_bytes()), None);
    }
}
