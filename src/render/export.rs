//! The export format: NDJSON, one response a line, in a versioned shape that ClickHouse
//! (`FORMAT JSONEachRow`) and DuckDB (`read_json`) load as it is, and that `import` reads
//! back. The field names are the contract (README, "Export and import"): a change that
//! an older reader would misread raises `ROW_VERSION`, and a reader refuses rows of a
//! version above its own.

use serde::{Deserialize, Serialize};

use crate::ledger::exchange::Row;
use crate::limits;
use crate::model::Agent;
use crate::model::{Record, Tokens};
use crate::render::iso;

/// The highest version of the row shape this cco-stats reads, and the one it writes for
/// rows of agents other than Claude Code: version 2 added `agent` (and `reasoningTokens`),
/// which a version-1 reader would ignore, counting another agent's rows as Claude Code's.
/// Claude Code's rows are still written as version 1, which every reader reads right.
pub const ROW_VERSION: u64 = 2;

/// The version a row of `agent` is written with (see `ROW_VERSION`).
fn row_version(agent: Agent) -> u64 {
    match agent {
        Agent::Claude => 1,
        _ => ROW_VERSION,
    }
}

/// One exported line.
#[derive(Debug, Serialize, Deserialize)]
pub struct Line {
    pub v: u64,
    #[serde(rename = "hostId")]
    pub host_id: String,
    #[serde(rename = "hostName")]
    pub host_name: String,
    #[serde(rename = "sessionId")]
    pub session_id: String,
    pub project: String,
    pub cwd: Option<String>,
    /// ISO 8601 UTC with milliseconds, for people and warehouses; `tsMs` is what import reads.
    pub timestamp: String,
    #[serde(rename = "tsMs")]
    pub ts_ms: i64,
    pub model: Option<String>,
    #[serde(rename = "messageId")]
    pub message_id: Option<String>,
    #[serde(rename = "requestId")]
    pub request_id: Option<String>,
    #[serde(rename = "inputTokens")]
    pub input_tokens: u64,
    #[serde(rename = "outputTokens")]
    pub output_tokens: u64,
    #[serde(rename = "cacheWrite5mTokens")]
    pub cache_write_5m_tokens: u64,
    #[serde(rename = "cacheWrite1hTokens")]
    pub cache_write_1h_tokens: u64,
    #[serde(rename = "cacheReadTokens")]
    pub cache_read_tokens: u64,
    #[serde(rename = "webSearchRequests")]
    pub web_search_requests: u64,
    #[serde(rename = "costUSD")]
    pub cost_usd: Option<f64>,
    pub speed: Option<String>,
    #[serde(rename = "inferenceGeo")]
    pub inference_geo: Option<String>,
    pub version: Option<String>,
    #[serde(rename = "isSidechain")]
    pub is_sidechain: bool,
    /// The agent whose log held the row; rows of version 1 have none and are Claude Code's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// Reasoning tokens, already in `outputTokens` (OpenAI's models).
    #[serde(rename = "reasoningTokens", default, skip_serializing_if = "is_zero")]
    pub reasoning_tokens: u64,
    /// Amp's credits for the response, where Amp gave them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credits: Option<f64>,
    /// GitHub Copilot's premium requests, where Copilot gave them.
    #[serde(
        rename = "premiumRequests",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub premium_requests: Option<f64>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Just the version, to tell a row of a newer shape from a damaged one.
#[derive(Deserialize)]
struct Versioned {
    v: u64,
}

/// One export line, with its newline.
pub fn line(row: &Row) -> Vec<u8> {
    let r = &row.record;
    let t = &r.tokens;
    let line = Line {
        v: row_version(r.agent),
        host_id: row.host_id.clone(),
        host_name: row.host_name.clone(),
        session_id: row.session_id.clone(),
        project: row.project.clone(),
        cwd: r.cwd.clone(),
        timestamp: iso(r.ts_ms),
        ts_ms: r.ts_ms,
        model: r.model.clone(),
        message_id: r.message_id.clone(),
        request_id: r.request_id.clone(),
        input_tokens: t.input,
        output_tokens: t.output,
        cache_write_5m_tokens: t.cache_write_5m,
        cache_write_1h_tokens: t.cache_write_1h,
        cache_read_tokens: t.cache_read,
        web_search_requests: r.web_search,
        cost_usd: r.cost_usd,
        speed: r.speed.clone(),
        inference_geo: r.inference_geo.clone(),
        version: r.version.clone(),
        is_sidechain: r.is_sidechain,
        agent: (r.agent != Agent::Claude).then(|| r.agent.name().to_string()),
        reasoning_tokens: r.reasoning,
        credits: r.credits,
        premium_requests: r.premium_requests,
    };
    let mut bytes = serde_json::to_vec(&line).expect("an export line always serializes");
    bytes.push(b'\n');
    bytes
}

/// Why an export line cannot be imported.
#[derive(Debug, PartialEq)]
pub enum Unreadable {
    /// Damaged, or not an export row at all: the reason, for people.
    Malformed(String),
    /// A row of a newer shape than this cco-stats reads.
    Future(u64),
}

/// Reads one export line back into a row.
pub fn parse(bytes: &[u8]) -> Result<Row, Unreadable> {
    let line: Line = match serde_json::from_slice(bytes) {
        Ok(line) => line,
        Err(e) => {
            return Err(match serde_json::from_slice::<Versioned>(bytes) {
                Ok(Versioned { v }) if v > ROW_VERSION => Unreadable::Future(v),
                _ => Unreadable::Malformed(format!("not an export row: {e}")),
            });
        }
    };
    if line.v > ROW_VERSION {
        return Err(Unreadable::Future(line.v));
    }
    if line.v == 0 {
        return Err(Unreadable::Malformed("row version 0 does not exist".into()));
    }
    let tokens = Tokens {
        input: line.input_tokens,
        output: line.output_tokens,
        cache_write_5m: line.cache_write_5m_tokens,
        cache_write_1h: line.cache_write_1h_tokens,
        cache_read: line.cache_read_tokens,
    };
    let agent = match line.agent.as_deref() {
        None => Agent::Claude,
        Some(name) => Agent::from_name(name).ok_or_else(|| {
            Unreadable::Malformed(format!("agent {name:?} is not one this cco-stats knows"))
        })?,
    };
    if line.reasoning_tokens > line.output_tokens {
        return Err(Unreadable::Malformed(
            "reasoningTokens above outputTokens, which holds them".into(),
        ));
    }
    if [line.credits, line.premium_requests]
        .into_iter()
        .flatten()
        .any(|n| !n.is_finite() || n < 0.0)
    {
        return Err(Unreadable::Malformed(
            "credits and premiumRequests must be finite and not negative".into(),
        ));
    }
    if line.host_id.is_empty() || line.session_id.is_empty() {
        return Err(Unreadable::Malformed(
            "hostId and sessionId must not be empty".into(),
        ));
    }
    let row = Row {
        host_id: line.host_id,
        host_name: line.host_name,
        session_id: line.session_id,
        project: line.project,
        record: Record {
            ts_ms: line.ts_ms,
            line_session_id: None,
            cwd: line.cwd,
            model: line.model,
            message_id: line.message_id,
            request_id: line.request_id,
            is_sidechain: line.is_sidechain,
            speed: line.speed,
            inference_geo: line.inference_geo,
            tokens,
            web_search: line.web_search_requests,
            cost_usd: line.cost_usd,
            version: line.version,
            agent,
            reasoning: line.reasoning_tokens,
            project: None,
            stopped: false,
            credits: line.credits,
            premium_requests: line.premium_requests,
        },
    };
    limits::check(&row.record).map_err(Unreadable::Malformed)?;
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> Row {
        Row {
            host_id: "ab".repeat(16),
            host_name: "laptop".into(),
            session_id: "s1".into(),
            project: "-home-u-app".into(),
            record: Record {
                ts_ms: 1_764_000_000_123,
                model: Some("claude-opus-4-5".into()),
                cost_usd: Some(0.1 + 0.2),
                speed: Some("fast".into()),
                cwd: Some("/home/u/app".into()),
                ..Record::for_test("msg_1", Some("req_1"), 42)
            },
        }
    }

    #[test]
    fn a_line_reads_back_as_the_row_it_was() {
        let text = line(&row());
        assert!(text.ends_with(b"\n"));
        assert_eq!(parse(text.trim_ascii_end()), Ok(row()));
        let shape: serde_json::Value = serde_json::from_slice(&text).unwrap();
        assert_eq!(shape["v"], 1);
        assert_eq!(shape["timestamp"], "2025-11-24T16:00:00.123Z");
        assert_eq!(shape["outputTokens"], 42);
        assert_eq!(shape["cacheWrite1hTokens"], 0);
        assert_eq!(shape["costUSD"], 0.1 + 0.2);
    }

    #[test]
    fn damaged_and_future_lines_are_told_apart() {
        assert!(matches!(parse(b"{\"v\":1}"), Err(Unreadable::Malformed(_))));
        assert!(matches!(parse(b"not json"), Err(Unreadable::Malformed(_))));
        assert_eq!(
            parse(b"{\"v\":3,\"whatever\":1}"),
            Err(Unreadable::Future(3))
        );
        let mut future = serde_json::from_slice::<serde_json::Value>(&line(&row())).unwrap();
        future["v"] = 7.into();
        assert_eq!(
            parse(future.to_string().as_bytes()),
            Err(Unreadable::Future(7))
        );
        let mut huge = serde_json::from_slice::<serde_json::Value>(&line(&row())).unwrap();
        huge["inputTokens"] = (limits::MAX_COUNT + 1).into();
        assert!(matches!(
            parse(huge.to_string().as_bytes()),
            Err(Unreadable::Malformed(_))
        ));
    }
}
