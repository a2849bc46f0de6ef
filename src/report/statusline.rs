//! The status line's model: what Claude Code sends on stdin, and the figures the line
//! shows. Claude Code may leave out or null any field, and an older or newer version may
//! send other shapes, so the input is read leniently, field by field: a field of the
//! wrong type counts as missing, and garbage on stdin leaves everything missing. The
//! line is then degraded, never absent.

use std::io::Read;
use std::path::PathBuf;

use serde_json::Value;

use crate::model::{Agent, RateLimit, window_minutes};
use crate::report::quota::Window;

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
    /// Every window of `rate_limits` by name, those two included (and any Claude Code
    /// adds later), by name.
    pub rate_limits: Vec<(String, RateWindow)>,
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
    /// When it fills at the current burn, if before the reset (`report::quota`'s
    /// forecast); never in the input.
    pub full_at_ms: Option<i64>,
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
        let rate_limits = rate_windows(&value);
        let named = |name: &str| rate_limits.iter().find(|(n, _)| n == name).map(|(_, w)| *w);
        Ok(Input {
            session_id: text(&["session_id"]),
            transcript_path: text(&["transcript_path"]).map(PathBuf::from),
            model_name: text(&["model", "display_name"]),
            claude_cost_usd: number(&["cost", "total_cost_usd"]).filter(|c| *c >= 0.0),
            context: context_use(&value, model_id.as_deref()),
            five_hour: named("five_hour"),
            seven_day: named("seven_day"),
            model_id,
            rate_limits,
        })
    }

    /// The samples the ledger records of this call's windows (`ledger::quota`): those
    /// with a reset time, which identifies a window, inside the range of real times.
    pub fn quota_samples(&self, now_ms: i64) -> Vec<RateLimit> {
        self.rate_limits
            .iter()
            .filter_map(|(name, window)| {
                let resets_at_ms = window.resets_at?.checked_mul(1000)?;
                crate::limits::check_time(resets_at_ms).ok()?;
                Some(RateLimit {
                    agent: Agent::Claude,
                    window: name.clone(),
                    window_minutes: window_minutes(name),
                    resets_at_ms,
                    used_percent: window.used_percent,
                    seen_ms: now_ms,
                    hit: false,
                })
            })
            .collect()
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

/// The longest window name kept: a name is stored and printed, and Claude Code's are
/// short (`five_hour`, `seven_day`, `seven_day_opus`).
const MAX_WINDOW_NAME: usize = 40;

/// The highest use a window may report: agents let use run past 100 %, but not this far.
const MAX_USED_PERCENT: f64 = 1000.0;

/// Every window of `rate_limits` with a name of `[a-z0-9_]` and a use in range.
fn rate_windows(value: &Value) -> Vec<(String, RateWindow)> {
    let Some(windows) = at(value, &["rate_limits"]).and_then(Value::as_object) else {
        return Vec::new();
    };
    windows
        .iter()
        .filter(|(name, _)| {
            !name.is_empty()
                && name.len() <= MAX_WINDOW_NAME
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        })
        .filter_map(|(name, window)| {
            let used_percent = window
                .get("used_percentage")
                .and_then(Value::as_f64)
                .filter(|p| (0.0..=MAX_USED_PERCENT).contains(p))?;
            let resets_at = window.get("resets_at").and_then(Value::as_i64);
            Some((
                name.clone(),
                RateWindow {
                    used_percent,
                    resets_at,
                    full_at_ms: None,
                },
            ))
        })
        .collect()
}

impl RateWindow {
    /// The window as the line shows it: this call's figure where Claude Code sent one,
    /// else the ledger's latest; the ledger's forecast either way.
    pub fn glance(sent: Option<RateWindow>, recorded: Option<&Window>) -> Option<RateWindow> {
        let Some(recorded) = recorded.filter(|w| w.used_percent.is_some()) else {
            return sent;
        };
        Some(RateWindow {
            used_percent: sent.map_or(recorded.used_percent?, |s| s.used_percent),
            resets_at: sent
                .and_then(|s| s.resets_at)
                .or(recorded.resets_at_ms.map(|ms| ms / 1000)),
            full_at_ms: recorded.forecast_full_ms,
        })
    }
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
    pub seven_day: Option<RateWindow>,
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
    fn every_window_is_read_by_name_and_odd_names_are_left_out() {
        let input = Input::read(
            &br#"{"rate_limits":{"five_hour":{"used_percentage":3,"resets_at":1767225600},
                   "seven_day_opus":{"used_percentage":12.5,"resets_at":1767600000},
                   "Bad Name\u001b":{"used_percentage":1,"resets_at":1767225600},
                   "seven_day":{"used_percentage":-4,"resets_at":1767600000}}}"#[..],
        )
        .unwrap();
        let names: Vec<&str> = input.rate_limits.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["five_hour", "seven_day_opus"]);
        let samples = input.quota_samples(1_767_220_000_000);
        assert_eq!(samples[1].window_minutes, Some(10_080));
        assert_eq!(samples[1].resets_at_ms, 1_767_600_000_000);
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
