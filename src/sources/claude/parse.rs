//! Turns one transcript line into at most one billable record.
//!
//! Almost every byte of a transcript is tool output inside `user` lines, so the parser's
//! first job is to not look at them: a line without the bytes `"usage"` is rejected by a
//! SIMD substring search and never reaches serde. The lines that pass are deserialized with
//! borrowed fields; only what the ledger stores is picked out.
//!
//! Two shapes are billable (see `transcripts.md`): an `assistant` line's `message.usage`,
//! and a subagent response echoed in the parent's file by a `progress` line
//! (`data.type == "agent_progress"`, the response under `data.message`). Everything else
//! (unknown kinds, `toolUseResult` summaries in `user` lines) is not billable, and a line
//! that cannot be read is reported as skipped with its reason, never as an error. Whether
//! a record's numbers are in range is the ingest's question, asked of every source's
//! records alike (`limits::admit`).

use std::borrow::Cow;
use std::sync::LazyLock;

use memchr::memmem;
use serde::Deserialize;

use crate::model::{Parsed, Record, Tokens, line_time};
use crate::sources::{line_text, text_json};

static USAGE_KEY: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new(b"\"usage\""));

#[derive(Deserialize)]
struct RawLine<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(rename = "sessionId", borrow)]
    session_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    cwd: Option<Cow<'a, str>>,
    #[serde(borrow)]
    version: Option<Cow<'a, str>>,
    #[serde(rename = "requestId", borrow)]
    request_id: Option<Cow<'a, str>>,
    #[serde(rename = "isSidechain")]
    is_sidechain: Option<bool>,
    #[serde(rename = "costUSD")]
    cost_usd: Option<f64>,
    #[serde(borrow)]
    message: Option<RawMessage<'a>>,
    #[serde(borrow)]
    data: Option<RawProgress<'a>>,
}

#[derive(Deserialize)]
struct RawMessage<'a> {
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    model: Option<Cow<'a, str>>,
    usage: Option<RawUsage<'a>>,
    #[serde(borrow)]
    stop_reason: Option<Cow<'a, str>>,
}

/// `data` of a `progress` line: an agent_progress echoes one subagent response.
#[derive(Deserialize)]
struct RawProgress<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    message: Option<RawEcho<'a>>,
}

#[derive(Deserialize)]
struct RawEcho<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(rename = "requestId", borrow)]
    request_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    message: Option<RawMessage<'a>>,
}

#[derive(Deserialize)]
struct RawUsage<'a> {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cache_creation_input_tokens: Option<u64>,
    cache_read_input_tokens: Option<u64>,
    cache_creation: Option<RawCacheCreation>,
    server_tool_use: Option<RawServerToolUse>,
    #[serde(borrow)]
    speed: Option<Cow<'a, str>>,
    #[serde(borrow)]
    inference_geo: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct RawCacheCreation {
    ephemeral_5m_input_tokens: Option<u64>,
    ephemeral_1h_input_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct RawServerToolUse {
    web_search_requests: Option<u64>,
}

/// Reads one line (without its `\n`; a trailing `\r` is tolerated).
pub fn parse_line(line: &[u8]) -> Parsed {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if USAGE_KEY.find(line).is_none() {
        return Parsed::Other;
    }
    match line_text(line).and_then(text_json::<RawLine>) {
        Ok(raw) => from_raw(raw),
        Err(skipped) => skipped,
    }
}

/// What a billable line says around its message: the fields `record` takes from the
/// line itself rather than from the message.
struct LineFields<'l, 'a> {
    timestamp: Option<&'l str>,
    request_id: Option<Cow<'a, str>>,
    is_sidechain: bool,
    session_id: &'l Option<Cow<'a, str>>,
    cwd: &'l Option<Cow<'a, str>>,
    version: &'l Option<Cow<'a, str>>,
    cost_usd: Option<f64>,
}

fn from_raw(raw: RawLine<'_>) -> Parsed {
    match raw.kind.as_deref() {
        Some("assistant") => {
            let Some(message) = raw.message else {
                return Parsed::Other;
            };
            let line = LineFields {
                timestamp: raw.timestamp.as_deref(),
                request_id: raw.request_id,
                is_sidechain: raw.is_sidechain.unwrap_or(false),
                session_id: &raw.session_id,
                cwd: &raw.cwd,
                version: &raw.version,
                cost_usd: raw.cost_usd,
            };
            record(message, line)
        }
        Some("progress") => {
            let Some(echo) = raw.data.and_then(agent_echo) else {
                return Parsed::Other;
            };
            let Some(message) = echo.message else {
                return Parsed::Other;
            };
            // The echoed response is the subagent's, so it is a sidechain response, whatever
            // the parent line says of itself.
            let line = LineFields {
                timestamp: echo.timestamp.as_deref().or(raw.timestamp.as_deref()),
                request_id: echo.request_id,
                is_sidechain: true,
                session_id: &raw.session_id,
                cwd: &raw.cwd,
                version: &raw.version,
                cost_usd: None,
            };
            record(message, line)
        }
        _ => Parsed::Other,
    }
}

/// The subagent response a `progress` line echoes, if it is one.
fn agent_echo(data: RawProgress<'_>) -> Option<RawEcho<'_>> {
    if data.kind.as_deref() != Some("agent_progress") {
        return None;
    }
    data.message
        .filter(|echo| echo.kind.as_deref() == Some("assistant"))
}

fn record(message: RawMessage<'_>, line: LineFields<'_, '_>) -> Parsed {
    let Some(usage) = message.usage else {
        return Parsed::Other;
    };
    let ts_ms = match line_time(line.timestamp) {
        Ok(ts_ms) => ts_ms,
        Err(why) => return Parsed::Skipped(why),
    };
    let tokens = tokens(&usage);
    let model = message
        .model
        .filter(|m| m != "<synthetic>" && !m.is_empty());
    let owned = |field: &Option<Cow<'_, str>>| field.as_deref().map(str::to_string);
    Parsed::Billable(Box::new(Record {
        ts_ms,
        line_session_id: owned(line.session_id),
        cwd: owned(line.cwd),
        model: model.map(Cow::into_owned),
        message_id: message.id.map(Cow::into_owned),
        request_id: line.request_id.map(Cow::into_owned),
        is_sidechain: line.is_sidechain,
        speed: owned(&usage.speed),
        inference_geo: usage
            .inference_geo
            .as_deref()
            .filter(|geo| !matches!(*geo, "" | "global" | "not_available"))
            .map(str::to_string),
        tokens,
        web_search: usage
            .server_tool_use
            .and_then(|s| s.web_search_requests)
            .unwrap_or(0),
        cost_usd: line.cost_usd,
        version: owned(line.version),
        stopped: message.stop_reason.is_some(),
        ..Record::default()
    }))
}

/// Cache writes: `cache_creation_input_tokens` is the total the API bills; the
/// `cache_creation` split (newer versions) says how much of it was written for 1 hour.
fn tokens(usage: &RawUsage<'_>) -> Tokens {
    let split = usage.cache_creation.as_ref();
    let split_5m = split.and_then(|s| s.ephemeral_5m_input_tokens).unwrap_or(0);
    let split_1h = split.and_then(|s| s.ephemeral_1h_input_tokens).unwrap_or(0);
    let creation = usage
        .cache_creation_input_tokens
        .unwrap_or(split_5m.saturating_add(split_1h));
    let write_1h = split_1h.min(creation);
    Tokens {
        input: usage.input_tokens.unwrap_or(0),
        output: usage.output_tokens.unwrap_or(0),
        cache_write_5m: creation - write_1h,
        cache_write_1h: write_1h,
        cache_read: usage.cache_read_input_tokens.unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits;

    const ASSISTANT: &[u8] = br#"{"parentUuid":"p","isSidechain":false,"userType":"external","cwd":"/home/u/app","sessionId":"23fe","version":"2.1.18","gitBranch":"main","type":"assistant","uuid":"d223","timestamp":"2026-07-31T01:06:51.365Z","requestId":"req_1","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-haiku-4-5-20251001","content":[{"type":"text","text":"usage"}],"stop_reason":"end_turn","usage":{"input_tokens":156,"cache_creation_input_tokens":300,"cache_read_input_tokens":7,"output_tokens":79,"cache_creation":{"ephemeral_5m_input_tokens":100,"ephemeral_1h_input_tokens":200},"server_tool_use":{"web_search_requests":2,"web_fetch_requests":0},"service_tier":"standard","speed":"fast"}}}"#;

    fn billable(line: &[u8]) -> Record {
        match parse_line(line) {
            Parsed::Billable(r) => *r,
            other => panic!("expected a billable record, got {other:?}"),
        }
    }

    #[test]
    fn assistant_line_gives_every_field() {
        let r = billable(ASSISTANT);
        assert_eq!(r.ts_ms, 1_785_460_011_365);
        assert_eq!(r.model.as_deref(), Some("claude-haiku-4-5-20251001"));
        assert_eq!(r.message_id.as_deref(), Some("msg_1"));
        assert_eq!(r.request_id.as_deref(), Some("req_1"));
        assert_eq!(r.line_session_id.as_deref(), Some("23fe"));
        assert_eq!(r.cwd.as_deref(), Some("/home/u/app"));
        assert_eq!(r.version.as_deref(), Some("2.1.18"));
        assert_eq!(r.speed.as_deref(), Some("fast"));
        assert!(!r.is_sidechain);
        assert_eq!(r.web_search, 2);
        assert_eq!(
            r.tokens,
            Tokens {
                input: 156,
                output: 79,
                cache_write_5m: 100,
                cache_write_1h: 200,
                cache_read: 7
            }
        );
    }

    #[test]
    fn cache_creation_without_split_is_all_5m() {
        let r = billable(
            br#"{"type":"assistant","timestamp":"2026-01-01T00:00:00Z","costUSD":0.25,"message":{"id":"m","model":"claude-sonnet-4-20250514","usage":{"input_tokens":1,"output_tokens":2,"cache_creation_input_tokens":50,"cache_read_input_tokens":3}}}"#,
        );
        assert_eq!(r.tokens.cache_write_5m, 50);
        assert_eq!(r.tokens.cache_write_1h, 0);
        assert_eq!(r.cost_usd, Some(0.25));
        assert_eq!(r.request_id, None);
    }

    #[test]
    fn crlf_line_is_read() {
        let mut line = ASSISTANT.to_vec();
        line.extend_from_slice(b"\r");
        assert_eq!(billable(&line).tokens.input, 156);
    }

    #[test]
    fn synthetic_model_is_no_model() {
        let r = billable(
            br#"{"type":"assistant","timestamp":"2026-01-01T00:00:00.000Z","isApiErrorMessage":true,"message":{"id":"m","model":"<synthetic>","usage":{"input_tokens":0,"output_tokens":0}}}"#,
        );
        assert_eq!(r.model, None);
        assert_eq!(r.tokens.total(), 0);
    }

    #[test]
    fn progress_echo_is_a_sidechain_response() {
        let r = billable(
            br#"{"isSidechain":false,"sessionId":"s","type":"progress","timestamp":"2026-02-12T16:02:52.000Z","data":{"message":{"type":"assistant","timestamp":"2026-02-12T16:02:51.467Z","message":{"model":"claude-sonnet-4-5-20250929","id":"msg_e","usage":{"input_tokens":3,"cache_creation_input_tokens":13522,"cache_read_input_tokens":0,"output_tokens":3}},"requestId":"req_e"},"type":"agent_progress","agentId":"a2898e3"}}"#,
        );
        assert!(r.is_sidechain);
        assert_eq!(r.request_id.as_deref(), Some("req_e"));
        assert_eq!(r.message_id.as_deref(), Some("msg_e"));
        assert_eq!(r.ts_ms, 1_770_912_171_467);
        assert_eq!(r.tokens.cache_write_5m, 13522);
    }

    #[test]
    fn non_billable_kinds_are_other() {
        let lines: &[&[u8]] = &[
            br#"{"type":"user","timestamp":"2026-01-01T00:00:00Z","message":{"role":"user","content":"x"},"toolUseResult":{"usage":{"input_tokens":7,"output_tokens":315}}}"#,
            br#"{"type":"progress","data":{"type":"hook_progress","usage":1}}"#,
            br#"{"type":"progress","data":{"type":"agent_progress","message":{"type":"user","message":{"usage":{"input_tokens":1}}}}}"#,
            br#"{"type":"summary","summary":"the usage report","leafUuid":"x"}"#,
            br#"{"type":"some-future-kind","usage":{"input_tokens":1}}"#,
            br#"{"type":"assistant","timestamp":"2026-01-01T00:00:00Z","message":{"id":"m","content":[]}}"#,
            br#"{"type":"file-history-snapshot","snapshot":{}}"#,
            b"",
            b"\r",
        ];
        for line in lines {
            assert_eq!(
                parse_line(line),
                Parsed::Other,
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn damaged_billable_lines_are_skipped_with_a_reason() {
        let cut = &ASSISTANT[..ASSISTANT.len() - 10];
        let bad_ts = br#"{"type":"assistant","timestamp":"yesterday","message":{"id":"m","usage":{"input_tokens":1}}}"#;
        let no_ts = br#"{"type":"assistant","message":{"id":"m","usage":{"input_tokens":1}}}"#;
        let garbage = b"\x00\x01 \"usage\" }{";
        for (line, reason) in [
            (cut, "invalid JSON"),
            (&bad_ts[..], "does not parse"),
            (&no_ts[..], "without a timestamp"),
            (&garbage[..], "invalid JSON"),
        ] {
            match parse_line(line) {
                Parsed::Skipped(why) => assert!(why.contains(reason), "{why}"),
                other => panic!("expected skipped, got {other:?}"),
            }
        }
    }

    #[test]
    fn invalid_utf8_is_skipped() {
        let line = ASSISTANT
            .windows(5)
            .position(|w| w == b"usage")
            .map(|at| {
                let mut v = ASSISTANT.to_vec();
                v[at] = 0xff; // inside the text block "usage"
                v
            })
            .unwrap();
        assert_eq!(parse_line(&line), Parsed::Skipped("invalid UTF-8".into()));
        // Any line that could be billable is checked, whatever its kind turns out to be.
        let user = b"{\"type\":\"user\",\"toolUseResult\":{\"usage\":1,\"x\":\"\xff\"}}";
        assert_eq!(parse_line(user), Parsed::Skipped("invalid UTF-8".into()));
        // A line that cannot be billable is never looked into.
        assert_eq!(
            parse_line(b"{\"type\":\"user\",\"x\":\"\xff\"}"),
            Parsed::Other
        );
    }

    #[test]
    fn absurd_token_counts_are_damage() {
        let line = br#"{"type":"assistant","timestamp":"2026-01-01T00:00:00Z","message":{"id":"m","usage":{"input_tokens":18446744073709551615,"output_tokens":1}}}"#;
        let split = br#"{"type":"assistant","timestamp":"2026-01-01T00:00:00Z","message":{"id":"m","usage":{"cache_creation":{"ephemeral_5m_input_tokens":18446744073709551615,"ephemeral_1h_input_tokens":9}}}}"#;
        for line in [&line[..], &split[..]] {
            match limits::admit(parse_line(line)) {
                Parsed::Skipped(why) => assert!(why.contains("tokens"), "{why}"),
                other => panic!("expected skipped, got {other:?}"),
            }
        }
    }

    /// Issue 17: each number out of range costs its line, named in the reason.
    #[test]
    fn out_of_range_values_are_damage() {
        let line = |ts: &str, cost: &str, search: &str| {
            format!(
                r#"{{"type":"assistant","timestamp":"{ts}","costUSD":{cost},"message":{{"id":"m","usage":{{"input_tokens":1,"server_tool_use":{{"web_search_requests":{search}}}}}}}}}"#
            )
        };
        let ok = "2026-01-01T00:00:00Z";
        for (text, reason) in [
            (
                line(ok, "0.5", "9223372036854775808"),
                "web_search_requests",
            ),
            (
                line(ok, "0.5", "4611686018427387904"),
                "web_search_requests",
            ),
            (line(ok, "-1000000", "0"), "costUSD -1000000"),
            (line(ok, "1e308", "0"), "costUSD 1e308"),
            (line("9999-12-30T00:00:00Z", "0.5", "0"), "9999-12-30"),
            (line("1999-12-31T23:59:59Z", "0.5", "0"), "1999-12-31"),
        ] {
            match limits::admit(parse_line(text.as_bytes())) {
                Parsed::Skipped(why) => assert!(why.contains(reason), "{why}"),
                other => panic!("expected skipped, got {other:?} for {text}"),
            }
        }
        assert_eq!(
            billable(line(ok, "1000", "1000000000000").as_bytes()).web_search,
            1_000_000_000_000
        );
    }

    #[test]
    fn escaped_strings_are_unescaped() {
        let r = billable(
            br#"{"type":"assistant","timestamp":"2026-01-01T00:00:00Z","cwd":"C:\\work\\app","message":{"id":"m\u0031","usage":{"input_tokens":1}}}"#,
        );
        assert_eq!(r.cwd.as_deref(), Some(r"C:\work\app"));
        assert_eq!(r.message_id.as_deref(), Some("m1"));
    }
}
