//! The status line's model: what Claude Code sends on stdin, and the figures the line
//! shows. Claude Code may leave out or null any field, and an older or newer version may
//! send other shapes, so the input is read leniently, field by field: a field of the
//! wrong type counts as missing, and garbage on stdin leaves everything missing. The
//! line is then degraded, never absent.

use std::io::Read;
use std::path::PathBuf;

use serde_json::Value;

/// What the status line uses of Claude Code's JSON.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Input {
    pub session_id: Option<String>,
    pub transcript_path: Option<PathBuf>,
    pub model_id: Option<String>,
    pub model_name: Option<String>,
    /// Claude Code's own estimate of the session's cost (reset by `/clear`).
    pub claude_cost_usd: Option<f64>,
    pub context: Option<ContextUse>,
    pub five_hour: Option<RateWindow>,
    pub seven_day: Option<RateWindow>,
}

/// How full the context window is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ContextUse {
    pub percent: f64,
    /// The tokens in the window, where known.
    pub tokens: Option<u64>,
}

/// A subscription's rate-limit window, as Claude Code reports it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateWindow {
    pub used_percent: f64,
    /// Unix seconds.
    pub resets_at: Option<i64>,
}

/// The context window of a model whose size Claude Code did not send: Claude's models
/// have 200,000 tokens, their `[1m]` variants a million.
pub fn default_context_size(model_id: Option<&str>) -> u64 {
    match model_id {
        Some(id) if id.to_ascii_lowercase().contains("[1m]") => 1_000_000,
        _ => 200_000,
    }
}

impl Input {
    /// Reads Claude Code's JSON: the first JSON value of `reader`, and not a byte past it
    /// (Claude Code may keep the pipe open after it). `Err` (with a short reason) only
    /// when that is no JSON object at all; missing and mistyped fields are `None`.
    pub fn read(reader: impl Read) -> Result<Input, String> {
        let mut values = serde_json::Deserializer::from_reader(reader).into_iter::<Value>();
        let value = match values.next() {
            Some(Ok(value)) => value,
            None => return Err("no input on stdin".to_string()),
            Some(Err(e)) if e.is_io() => return Err(format!("cannot read stdin: {e}")),
            Some(Err(e)) => return Err(format!("stdin is not JSON ({e})")),
        };
        if !value.is_object() {
            return Err("stdin is not a JSON object".to_string());
        }
        let text = |path: &[&str]| {
            at(&value, path)
                .and_then(Value::as_str)
                .filter(|s| !s.trim().is_empty())
                .map(str::to_string)
        };
        let number = |path: &[&str]| at(&value, path).and_then(Value::as_f64);
        let model_id = text(&["model", "id"]);
        Ok(Input {
            session_id: text(&["session_id"]),
            transcript_path: text(&["transcript_path"]).map(PathBuf::from),
            model_name: text(&["model", "display_name"]),
            claude_cost_usd: number(&["cost", "total_cost_usd"]).filter(|c| *c >= 0.0),
            context: context_use(&value, model_id.as_deref()),
            five_hour: rate_window(&value, "five_hour"),
            seven_day: rate_window(&value, "seven_day"),
            model_id,
        })
    }

    /// The session: its id, else the transcript's name (`<session>.jsonl`).
    pub fn session(&self) -> Option<String> {
        self.session_id.clone().or_else(|| {
            let path = self.transcript_path.as_ref()?;
            Some(path.file_stem()?.to_string_lossy().into_owned())
        })
    }
}

fn at<'v>(value: &'v Value, path: &[&str]) -> Option<&'v Value> {
    path.iter().try_fold(value, |v, key| v.get(key))
}

/// `context_window.used_percentage`, else its `current_usage` against its size.
fn context_use(value: &Value, model_id: Option<&str>) -> Option<ContextUse> {
    let window = value.get("context_window")?;
    let tokens = window.get("current_usage").and_then(|usage| {
        let kinds = [
            "input_tokens",
            "cache_creation_input_tokens",
            "cache_read_input_tokens",
        ];
        let counts: Vec<u64> = kinds
            .iter()
            .filter_map(|k| usage.get(k).and_then(Value::as_u64))
            .collect();
        (!counts.is_empty()).then(|| counts.iter().sum())
    });
    let size = window
        .get("context_window_size")
        .and_then(Value::as_u64)
        .filter(|s| *s > 0)
        .unwrap_or_else(|| default_context_size(model_id));
    let percent = window
        .get("used_percentage")
        .and_then(Value::as_f64)
        .filter(|p| p.is_finite() && *p >= 0.0)
        .or_else(|| tokens.map(|t| t as f64 * 100.0 / size as f64))?;
    Some(ContextUse { percent, tokens })
}

fn rate_window(value: &Value, name: &str) -> Option<RateWindow> {
    let window = at(value, &["rate_limits", name])?;
    let used_percent = window
        .get("used_percentage")
        .and_then(Value::as_f64)
        .filter(|p| p.is_finite())?;
    Some(RateWindow {
        used_percent,
        resets_at: window.get("resets_at").and_then(Value::as_i64),
    })
}

/// A cost from the ledger; `unpriced`: part of the usage has no price, so it is a floor.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Cost {
    pub usd: f64,
    pub unpriced: bool,
}

/// The active 5-hour block.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ActiveBlock {
    pub cost: Cost,
    pub end_ms: i64,
    pub cost_per_hour: Option<f64>,
}

/// How current the ledger is outside the session the line reads itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freshness {
    Current,
    /// The last full pass (`watch`, `once`, a report) finished this long ago.
    Behind {
        age_ms: i64,
    },
    /// No full pass has ever run on this ledger.
    NeverRead,
}

/// Why the session's own transcript could not be read just now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unread {
    /// Another process is ingesting: the figures are what it has committed.
    Busy,
    /// A short reason (the ledger could not be written, the transcript is missing, ...).
    Failed(String),
}

/// Everything the line can show; what it does show is the `--format`'s choice.
#[derive(Clone, Debug, PartialEq)]
pub struct Figures {
    pub model: Option<String>,
    /// This session in the ledger (`None`: the ledger has no response of it yet).
    pub session: Option<Cost>,
    pub claude_session_usd: Option<f64>,
    pub today: Cost,
    pub block: Option<ActiveBlock>,
    pub context: Option<ContextUse>,
    pub five_hour: Option<RateWindow>,
    pub freshness: Freshness,
    pub unread: Option<Unread>,
    /// Why stdin could not be read, if it could not.
    pub input_problem: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_input_is_read() {
        let input = Input::read(
            &br#"{"session_id":"abc","transcript_path":"/p/x/abc.jsonl",
                 "model":{"id":"claude-opus-4-5","display_name":"Opus 4.5"},
                 "cost":{"total_cost_usd":0.42},
                 "context_window":{"context_window_size":200000,"used_percentage":41.5,
                   "current_usage":{"input_tokens":10,"output_tokens":5,
                     "cache_creation_input_tokens":20,"cache_read_input_tokens":30}},
                 "rate_limits":{"five_hour":{"used_percentage":37,"resets_at":1767225600}}}"#[..],
        )
        .unwrap();
        assert_eq!(input.session().as_deref(), Some("abc"));
        assert_eq!(input.model_name.as_deref(), Some("Opus 4.5"));
        assert_eq!(input.claude_cost_usd, Some(0.42));
        let context = input.context.unwrap();
        assert_eq!((context.percent, context.tokens), (41.5, Some(60)));
        let five = input.five_hour.unwrap();
        assert_eq!(
            (five.used_percent, five.resets_at),
            (37.0, Some(1767225600))
        );
        assert_eq!(input.seven_day, None);
    }

    #[test]
    fn nulls_and_wrong_types_are_missing_fields() {
        let input = Input::read(
            &br#"{"session_id":null,"transcript_path":"/p/x/s9.jsonl","model":"Opus",
                 "cost":{"total_cost_usd":"1"},"context_window":{"current_usage":null},
                 "rate_limits":{"five_hour":{"resets_at":5}}}"#[..],
        )
        .unwrap();
        assert_eq!(
            input.session().as_deref(),
            Some("s9"),
            "named by its transcript"
        );
        assert_eq!(input.model_name, None);
        assert_eq!(input.claude_cost_usd, None);
        assert_eq!(input.context, None);
        assert_eq!(input.five_hour, None);
    }

    #[test]
    fn context_from_usage_against_the_window() {
        let input = Input::read(
            &br#"{"model":{"id":"claude-sonnet-4-5[1m]"},
                 "context_window":{"current_usage":{"input_tokens":250000}}}"#[..],
        )
        .unwrap();
        assert_eq!(input.context.unwrap().percent, 25.0);
    }

    #[test]
    fn garbage_is_an_error_with_a_reason() {
        assert!(
            Input::read(&b"not json"[..])
                .unwrap_err()
                .contains("not JSON")
        );
        assert_eq!(Input::read(&b"  \n"[..]).unwrap_err(), "no input on stdin");
        assert!(Input::read(&b"[1]"[..]).is_err());
        assert_eq!(Input::read(&b"{}"[..]).unwrap(), Input::default());
    }

    #[test]
    fn reading_ends_with_the_first_value() {
        // A reader that fails past the object: it is never asked for more.
        let object = &br#" {"session_id":"a"}"#[..];
        let input = Input::read(object.chain(FailingRead)).unwrap();
        assert_eq!(input.session_id.as_deref(), Some("a"));
    }

    struct FailingRead;

    impl Read for FailingRead {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            panic!("read past the JSON value")
        }
    }
}
