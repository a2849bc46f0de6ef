//! A billable response as every layer sees it: its token counts (`Tokens`), the record the
//! sources' parsers make and the ledger stores (`Record`), what one line turned out to be
//! (`Parsed`), and a line's time (`line_time`), the one rule every source reads it by.

use crate::model::Agent;

/// Token counts of one response, as the ledger stores them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tokens {
    pub input: u64,
    pub output: u64,
    pub cache_write_5m: u64,
    pub cache_write_1h: u64,
    pub cache_read: u64,
}

impl Tokens {
    pub fn cache_creation(&self) -> u64 {
        self.cache_write_5m + self.cache_write_1h
    }

    /// The size the dedup rules compare: input + output + cache creation + cache read.
    pub fn total(&self) -> u64 {
        self.input + self.output + self.cache_creation() + self.cache_read
    }

    /// The five kinds in the ledger's column order: input, output, 5-minute and 1-hour
    /// cache writes, cache reads.
    pub fn kinds(&self) -> [u64; 5] {
        [
            self.input,
            self.output,
            self.cache_write_5m,
            self.cache_write_1h,
            self.cache_read,
        ]
    }
}

/// One billable response, ready for the ledger.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Record {
    /// The agent whose log held it: the dedup rules apply within one agent.
    pub agent: Agent,
    pub ts_ms: i64,
    pub line_session_id: Option<String>,
    pub cwd: Option<String>,
    /// `None` for `<synthetic>` API-error placeholders: they are not a model.
    pub model: Option<String>,
    pub message_id: Option<String>,
    pub request_id: Option<String>,
    pub is_sidechain: bool,
    pub speed: Option<String>,
    /// `usage.inference_geo` where it names a place (`us`); `global`, `not_available`
    /// and empty mean no residency and are left out.
    pub inference_geo: Option<String>,
    pub tokens: Tokens,
    pub web_search: u64,
    pub cost_usd: Option<f64>,
    pub version: Option<String>,
    /// The project, where the line names it rather than the file's path (Codex: its
    /// session's working directory).
    pub project: Option<String>,
    /// Reasoning tokens, already counted in `tokens.output` (OpenAI's models): kept apart
    /// for display only.
    pub reasoning: u64,
    /// The line carried the response's `stop_reason`: it is the response's final copy.
    pub stopped: bool,
    /// Amp's credits for the response: its own figure, neither tokens nor dollars.
    pub credits: Option<f64>,
    /// GitHub Copilot's premium requests (the model's multiplier, summed): its own
    /// figure, neither tokens nor dollars.
    pub premium_requests: Option<f64>,
}

/// What one line turned out to be.
#[derive(Debug, PartialEq)]
pub enum Parsed {
    Billable(Box<Record>),
    /// Not a billable response: most lines. Not an error.
    Other,
    /// A line that looked billable but could not be read; the reason is for humans.
    Skipped(String),
}

/// A billable line's time in milliseconds, or why the ledger cannot use it: it has none,
/// or it does not parse. Whether the time is one a real response has is `limits`' rule,
/// applied by the ingest to every source's records.
pub fn line_time(timestamp: Option<&str>) -> Result<i64, String> {
    let Some(timestamp) = timestamp else {
        return Err("billable line without a timestamp".to_string());
    };
    match timestamp.parse::<jiff::Timestamp>() {
        Ok(ts) => Ok(ts.as_millisecond()),
        Err(_) => Err(format!("timestamp {timestamp:?} does not parse")),
    }
}

#[cfg(test)]
impl Record {
    /// A response as the unit tests need one: its ids and output tokens, nothing else.
    pub(crate) fn for_test(message_id: &str, request_id: Option<&str>, output: u64) -> Record {
        Record {
            ts_ms: 0,
            line_session_id: None,
            cwd: None,
            model: None,
            message_id: Some(message_id.into()),
            request_id: request_id.map(str::to_string),
            is_sidechain: false,
            speed: None,
            inference_geo: None,
            tokens: Tokens {
                output,
                ..Tokens::default()
            },
            web_search: 0,
            cost_usd: None,
            version: None,
            ..Record::default()
        }
    }
}
