//! What a response cost on the day it ran: prices as dated data, applied the way each
//! provider bills.
//!
//! The table ships inside the binary (`src/report/prices.toml`), and a user file with the
//! same layout (`~/.config/cco-stats/prices.toml`, or `--prices FILE`) adds model families
//! or periods, so a new model or a price change needs no release. Each family has one or
//! more periods (`from` inclusive, `until` exclusive, UTC dates); a request is priced by
//! the period its timestamp falls in, so a ledger that keeps years of history prices its
//! old months at their own rates. The user's periods are looked at before the built-in
//! ones: a user period covers the built-in rates for its dates only.
//!
//! Per request, four rules make cost depend on more than token sums, and the ledger keeps
//! what they need in its aggregate keys (see `ledger::query::Group`):
//! - tiers: a request whose input side (input + cache writes + cache reads) is above a
//!   threshold of its period is billed WHOLE at the rates of the highest such tier (Sonnet
//!   4/4.5 above 200,000, Haiku 5.5 above 100,000, Gemini's Pro models above 200,000,
//!   Qwen's coders at 32,000, 128,000 and 256,000): the thresholds are data, and the
//!   ledger learns them from `PriceTable::tier_thresholds`;
//! - fast mode multiplies the whole request (Anthropic's fast mode, OpenAI's Priority
//!   processing; a period without a multiplier has no known fast price);
//! - data residency (`inference_geo`) multiplies it where the period says so;
//! - web searches cost a price per 1,000.
//!
//! The other agents' providers bill cached input instead of cache writes: the ledger keeps
//! non-cached input as input, cached input as cache reads and reasoning as output, so a
//! model's `cache_read` is its cached-input rate and its cache-write rates are 0 unless the
//! provider charges for writing a cache.
//!
//! A model id resolves to its family by dropping what the agents, routers and clouds add
//! to it (see `family_name`). A model the table does not know, a date no period covers, or
//! a fast request without a fast price has no price: callers show the cost as missing and
//! name the model, never price it at zero or at a neighbour's rate.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use jiff::civil::Date;
use serde::Deserialize;

use crate::model::Tokens;

const BUILTIN: &str = include_str!("prices.toml");

/// Where the table says the built-in entries come from.
pub const BUILTIN_SOURCE: &str = "built-in";

/// USD per million tokens of each kind.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Rates {
    pub input: f64,
    pub output: f64,
    pub cache_write_5m: f64,
    pub cache_write_1h: f64,
    pub cache_read: f64,
}

impl Rates {
    fn all(&self) -> [f64; 5] {
        [
            self.input,
            self.output,
            self.cache_write_5m,
            self.cache_write_1h,
            self.cache_read,
        ]
    }

    /// USD for `tokens` at these rates.
    fn price(&self, tokens: &Tokens) -> f64 {
        let per_million: f64 = tokens
            .kinds()
            .iter()
            .zip(self.all())
            .map(|(&count, rate)| count as f64 * rate)
            .sum();
        per_million / 1e6
    }
}

/// Rates for requests whose input side is above `above` tokens.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    pub above: u64,
    #[serde(flatten)]
    pub rates: Rates,
}

/// A family's prices over a span of UTC dates.
#[derive(Clone, Debug, PartialEq)]
pub struct PricePeriod {
    /// The first day it applies; `None`: since the beginning.
    pub from: Option<Date>,
    /// The first day it no longer applies; `None`: still in force.
    pub until: Option<Date>,
    pub rates: Rates,
    /// Ascending by threshold, none equal.
    pub tiers: Vec<Tier>,
    /// Multiplier on the whole request in fast mode.
    pub fast: Option<f64>,
    /// Multiplier on the whole request by `inference_geo` value (`us = 1.1`).
    pub geo: BTreeMap<String, f64>,
    /// USD per 1,000 web searches.
    pub web_search_per_1k: Option<f64>,
    /// `built-in`, or the path of the user's file.
    pub source: String,
}

impl PricePeriod {
    fn covers(&self, date: Date) -> bool {
        self.from.is_none_or(|from| date >= from) && self.until.is_none_or(|until| date < until)
    }

    /// USD for one request, or a group of requests that share the pricing key; `None` where
    /// the period does not price it (fast mode without a multiplier, web searches
    /// without a price).
    pub fn cost(&self, request: &Request<'_>) -> Option<f64> {
        // The ledger's class is the largest of all thresholds the input side is above, so
        // every tier at or under it is exceeded too.
        let rates = self
            .tiers
            .iter()
            .rev()
            .find(|tier| request.tier_class >= tier.above)
            .map_or(self.rates, |tier| tier.rates);
        let fast = if request.fast { self.fast? } else { 1.0 };
        let geo = self.geo.get(request.geo).copied().unwrap_or(1.0);
        let searches = match (request.web_search, self.web_search_per_1k) {
            (0, _) => 0.0,
            (n, Some(per_1k)) => n as f64 * per_1k / 1000.0,
            (_, None) => return None,
        };
        Some(rates.price(request.tokens) * fast * geo + searches)
    }
}

/// What pricing needs of one request or of a group that shares its key.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// Any moment of the request's UTC day.
    pub at_ms: i64,
    pub tokens: &'a Tokens,
    /// The largest of the ledger's tier thresholds the input side is above (0: none).
    pub tier_class: u64,
    pub fast: bool,
    /// `inference_geo` as the ledger keeps it ("" where none was recorded).
    pub geo: &'a str,
    pub web_search: u64,
}

/// One model family: its periods, the user's first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Family {
    pub periods: Vec<PricePeriod>,
}

impl Family {
    /// The period in force on the UTC day of `at_ms`.
    pub fn period_at(&self, at_ms: i64) -> Option<&PricePeriod> {
        let date = utc_date(at_ms)?;
        self.periods.iter().find(|p| p.covers(date))
    }

    pub fn cost(&self, request: &Request<'_>) -> Option<f64> {
        self.period_at(request.at_ms)?.cost(request)
    }
}

fn utc_date(at_ms: i64) -> Option<Date> {
    let ts = jiff::Timestamp::from_millisecond(at_ms).ok()?;
    Some(ts.to_zoned_datetime(jiff::tz::TimeZone::UTC).date())
}

/// The prices in use: the built-in table, with the user's file on top.
#[derive(Clone, Debug)]
pub struct PriceTable {
    pub families: BTreeMap<String, Family>,
    /// The user's file that was read, if any.
    pub user_file: Option<PathBuf>,
    /// FNV-1a of every price text read, in order: tells one table from another
    /// (`metrics`' prices revision).
    digest: u64,
}

impl PriceTable {
    pub fn builtin() -> PriceTable {
        let mut table = PriceTable {
            families: BTreeMap::new(),
            user_file: None,
            digest: FNV_OFFSET,
        };
        table
            .add_text(BUILTIN, BUILTIN_SOURCE)
            .expect("the built-in price table is valid");
        table
    }

    /// The built-in table with `user` (if given, or the default user file if it exists) on
    /// top.
    pub fn load(user: Option<&Path>) -> Result<PriceTable> {
        PriceTexts::read(user)?.parse()
    }

    /// Adds a price file's periods (its text, and where it comes from) in front of those
    /// already known for the same family.
    pub fn add_text(&mut self, text: &str, source: &str) -> Result<()> {
        self.digest = fnv(self.digest, text.as_bytes());
        for (name, periods) in parse_file(text, source)? {
            let family = self.families.entry(name).or_default();
            family.periods.splice(0..0, periods);
        }
        Ok(())
    }

    /// A short name of this table's texts: equal tables, equal digests.
    pub fn digest(&self) -> String {
        format!("{:016x}", self.digest)
    }

    /// The family `model` belongs to: the table's names went through `family_name` too.
    pub fn resolve(&self, model: &str) -> Option<&Family> {
        self.families.get(&family_name(model))
    }

    /// Every tier threshold of every period: the ledger keys its aggregates by them.
    pub fn tier_thresholds(&self) -> BTreeSet<u64> {
        self.families
            .values()
            .flat_map(|f| &f.periods)
            .flat_map(|p| p.tiers.iter().map(|t| t.above))
            .collect()
    }

    /// The cost of one request of `model`; `None` where it has no price.
    pub fn cost(&self, model: &str, request: &Request<'_>) -> Option<f64> {
        self.resolve(model)?.cost(request)
    }
}

/// The price texts a table is made of, read but not yet parsed: the built-in table and
/// the user's file, if any. Their digest is the table's (`PriceTable::digest`), known
/// without the parse, which is a fifth of the instructions of a `once` that finds nothing
/// new: such a pass only needs to know that the ledger learned this table's tiers.
pub struct PriceTexts {
    /// The user's file and its text.
    user: Option<(PathBuf, String)>,
}

impl PriceTexts {
    /// The texts of the built-in table with `user` (if given, or the default user file if
    /// it exists) on top.
    pub fn read(user: Option<&Path>) -> Result<PriceTexts> {
        let path = match user {
            Some(path) => Some(path.to_path_buf()),
            None => default_user_file().filter(|p| p.exists()),
        };
        let user = match path {
            Some(path) => {
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read price file {}", path.display()))?;
                Some((path, text))
            }
            None => None,
        };
        Ok(PriceTexts { user })
    }

    /// The digest of the table these texts make (equal to its `PriceTable::digest`).
    pub fn digest(&self) -> String {
        let user = self.user.as_ref().map(|(_, text)| text.as_bytes());
        format!(
            "{:016x}",
            user.map_or(BUILTIN_DIGEST, |t| fnv(BUILTIN_DIGEST, t))
        )
    }

    /// The table these texts make.
    pub fn parse(self) -> Result<PriceTable> {
        let mut table = PriceTable::builtin();
        if let Some((path, text)) = self.user {
            table
                .add_text(&text, &path.display().to_string())
                .with_context(|| format!("price file {}", path.display()))?;
            table.user_file = Some(path);
        }
        Ok(table)
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0100_0000_01b3;
const BUILTIN_DIGEST: u64 = fnv(FNV_OFFSET, BUILTIN.as_bytes());

/// `digest` (FNV-1a) carried on over `text` and a NUL that ends it: texts `ab` + `c` and
/// `a` + `bc` differ.
const fn fnv(mut digest: u64, text: &[u8]) -> u64 {
    let mut at = 0;
    while at <= text.len() {
        let byte = if at < text.len() { text[at] } else { 0 };
        digest = (digest ^ byte as u64).wrapping_mul(FNV_PRIME);
        at += 1;
    }
    digest
}

/// `~/.config/cco-stats/prices.toml` (or under `$XDG_CONFIG_HOME`).
pub fn default_user_file() -> Option<PathBuf> {
    Some(
        crate::paths::config_home()?
            .join("cco-stats")
            .join("prices.toml"),
    )
}

/// The family an id belongs to: lower case, version dots as dashes (`gpt-5.1` →
/// `gpt-5-1`, so that a router's `claude-sonnet-4.5` is Anthropic's `claude-sonnet-4-5`),
/// with what the agents, routers and clouds add taken off: a `[1m]` context suffix, a
/// provider or path prefix (`openai/`, `z-ai/`, `models/`: everything up to the last `/`),
/// Bedrock's `us.`/`eu.`/`global.` region prefix, `anthropic.` and `-v1:0` version suffix,
/// Vertex's `@20250929`, `-latest`, and a date suffix (`claude-sonnet-4-5-20250929` →
/// `claude-sonnet-4-5`, `gpt-5-mini-2025-08-07` → `gpt-5-mini`).
pub fn family_name(model: &str) -> String {
    let mut id = model.trim();
    if let Some(open) = id.rfind('[').filter(|_| id.ends_with(']')) {
        id = &id[..open];
    }
    if let Some(slash) = id.rfind('/') {
        id = &id[slash + 1..];
    }
    if let Some(at) = id.rfind("anthropic.") {
        id = &id[at + "anthropic.".len()..];
        id = strip_bedrock_version(id);
    }
    if let Some(at) = id.find('@') {
        id = &id[..at];
    }
    id = id.strip_suffix("-latest").unwrap_or(id);
    id = strip_date(id);
    id.to_ascii_lowercase().replace('.', "-")
}

/// `…-20250929` or `…-2025-09-29` → `…`.
fn strip_date(id: &str) -> &str {
    let b = id.as_bytes();
    let n = b.len();
    let digits = |r: &[u8]| r.iter().all(u8::is_ascii_digit);
    // Cut only at an ASCII `-`, so always at a character boundary.
    if n > 9 && b[n - 9] == b'-' && digits(&b[n - 8..]) {
        return &id[..n - 9];
    }
    let dashed = n > 11
        && [n - 11, n - 6, n - 3].iter().all(|&i| b[i] == b'-')
        && digits(&b[n - 10..n - 6])
        && digits(&b[n - 5..n - 3])
        && digits(&b[n - 2..]);
    if dashed { &id[..n - 11] } else { id }
}

/// `claude-sonnet-4-5-20250929-v1:0` → `claude-sonnet-4-5-20250929`.
fn strip_bedrock_version(id: &str) -> &str {
    let Some(dash) = id.rfind("-v") else {
        return id;
    };
    let version = &id[dash + 2..];
    let (major, minor) = version.split_once(':').unwrap_or((version, "0"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if digits(major) && digits(minor) {
        &id[..dash]
    } else {
        id
    }
}

// ---------------------------------------------------------------------------------------
// The file format

/// One period as written: `[[models.<family>]]` (or a single `[models.<family>]` table).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPeriod {
    from: Option<String>,
    until: Option<String>,
    #[serde(flatten)]
    rates: Rates,
    /// One tier (`tier = { above = …, … }`) or several (`tier = [{ … }, { … }]`).
    tier: Option<toml::Value>,
    fast: Option<f64>,
    #[serde(default)]
    geo: BTreeMap<String, f64>,
    web_search_per_1k: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    models: BTreeMap<String, toml::Value>,
}

/// Reads a price file into each family's periods, checking what a price must be: rates
/// finite and not negative, multipliers above zero, dates that parse, and periods that
/// neither overlap nor end before they start. A family is named as `family_name` names a
/// model id, so `[models."GPT-5.1"]` adds periods to the `gpt-5-1` that `openai/gpt-5.1`
/// resolves to.
fn parse_file(text: &str, source: &str) -> Result<BTreeMap<String, Vec<PricePeriod>>> {
    let file: RawFile = toml::from_str(text)?;
    let mut families: BTreeMap<String, Vec<PricePeriod>> = BTreeMap::new();
    for (name, value) in file.models {
        let raws = match value {
            toml::Value::Array(items) => items,
            table @ toml::Value::Table(_) => vec![table],
            other => bail!(
                "models.{name}: expected a table of rates or a list of periods, found a {}",
                other.type_str()
            ),
        };
        let mut periods = Vec::with_capacity(raws.len());
        for (index, raw) in raws.into_iter().enumerate() {
            let at = || format!("models.{name}, period {}", index + 1);
            let raw = RawPeriod::deserialize(raw).with_context(at)?;
            periods.push(checked(raw, source).with_context(at)?);
        }
        families
            .entry(family_name(&name))
            .or_default()
            .extend(periods);
    }
    for (name, periods) in &families {
        check_overlaps(name, periods)?;
    }
    Ok(families)
}

fn checked(raw: RawPeriod, source: &str) -> Result<PricePeriod> {
    let date = |field: &str, text: &Option<String>| -> Result<Option<Date>> {
        text.as_deref()
            .map(|t| {
                t.parse::<Date>()
                    .with_context(|| format!("{field} = {t:?} is not a date (YYYY-MM-DD)"))
            })
            .transpose()
    };
    let period = PricePeriod {
        from: date("from", &raw.from)?,
        until: date("until", &raw.until)?,
        rates: raw.rates,
        tiers: tiers(raw.tier)?,
        fast: raw.fast,
        geo: raw.geo,
        web_search_per_1k: raw.web_search_per_1k,
        source: source.to_string(),
    };
    let mut rates: Vec<(&str, f64)> = rate_names(&period.rates);
    for tier in &period.tiers {
        rates.extend(rate_names(&tier.rates));
    }
    rates.extend(period.web_search_per_1k.map(|v| ("web_search_per_1k", v)));
    for (field, value) in rates {
        if !value.is_finite() || value < 0.0 {
            bail!("{field} = {value}: a rate must be a number of USD, 0 or more");
        }
    }
    let multipliers = period.fast.map(|f| ("fast".to_string(), f));
    let geo = period.geo.iter().map(|(k, &v)| (format!("geo.{k}"), v));
    for (field, value) in multipliers.into_iter().chain(geo) {
        if !value.is_finite() || value <= 0.0 {
            bail!("{field} = {value}: a multiplier must be above 0");
        }
    }
    if let (Some(from), Some(until)) = (period.from, period.until)
        && until <= from
    {
        bail!("until = {until} is not after from = {from}");
    }
    Ok(period)
}

/// A period's tiers, ascending by threshold: thresholds above 0, no two equal.
fn tiers(raw: Option<toml::Value>) -> Result<Vec<Tier>> {
    let items = match raw {
        None => vec![],
        Some(toml::Value::Array(items)) => items,
        Some(table @ toml::Value::Table(_)) => vec![table],
        Some(other) => bail!(
            "tier: expected a table of rates or a list of them, found a {}",
            other.type_str()
        ),
    };
    let mut tiers = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        let tier = Tier::deserialize(item).with_context(|| format!("tier {}", index + 1))?;
        if tier.above == 0 {
            bail!("tier.above must be a number of tokens above 0");
        }
        tiers.push(tier);
    }
    tiers.sort_by_key(|t| t.above);
    if let Some(pair) = tiers.windows(2).find(|w| w[0].above == w[1].above) {
        bail!(
            "two tiers above {} tokens (each needs its own threshold)",
            pair[0].above
        );
    }
    Ok(tiers)
}

fn rate_names(rates: &Rates) -> Vec<(&'static str, f64)> {
    [
        "input",
        "output",
        "cache_write_5m",
        "cache_write_1h",
        "cache_read",
    ]
    .into_iter()
    .zip(rates.all())
    .collect()
}

fn check_overlaps(name: &str, periods: &[PricePeriod]) -> Result<()> {
    for (i, a) in periods.iter().enumerate() {
        for (j, b) in periods.iter().enumerate().skip(i + 1) {
            let a_before_b = a.until.zip(b.from).is_some_and(|(end, start)| end <= start);
            let b_before_a = b.until.zip(a.from).is_some_and(|(end, start)| end <= start);
            if !a_before_b && !b_before_a {
                bail!(
                    "models.{name}: periods {} and {} overlap (each day needs one price)",
                    i + 1,
                    j + 1
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(input: u64, output: u64, w5: u64, w1: u64, read: u64) -> Tokens {
        Tokens {
            input,
            output,
            cache_write_5m: w5,
            cache_write_1h: w1,
            cache_read: read,
        }
    }

    fn day_ms(date: &str) -> i64 {
        let date: Date = date.parse().unwrap();
        crate::model::calendar::day_start_ms(date, &jiff::tz::TimeZone::UTC).unwrap() + 3_600_000
    }

    fn request<'a>(at: &str, tokens: &'a Tokens) -> Request<'a> {
        Request {
            at_ms: day_ms(at),
            tokens,
            tier_class: 0,
            fast: false,
            geo: "",
            web_search: 0,
        }
    }

    #[test]
    fn ids_resolve_to_their_family() {
        for (id, family) in [
            ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
            ("claude-opus-4-6", "claude-opus-4-6"),
            ("claude-3-5-haiku-20241022", "claude-3-5-haiku"),
            ("claude-3-5-haiku-latest", "claude-3-5-haiku"),
            ("claude-opus-4-1@20250805", "claude-opus-4-1"),
            ("claude-sonnet-4-5@20250929", "claude-sonnet-4-5"),
            ("claude-sonnet-4-6[1m]", "claude-sonnet-4-6"),
            ("claude-opus-4-6[1m]", "claude-opus-4-6"),
            (
                "anthropic.claude-sonnet-4-5-20250929-v1:0",
                "claude-sonnet-4-5",
            ),
            (
                "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
                "claude-sonnet-4-5",
            ),
            (
                "eu.anthropic.claude-haiku-4-5-20251001-v1:0",
                "claude-haiku-4-5",
            ),
            ("global.anthropic.claude-opus-4-6-v1", "claude-opus-4-6"),
            (
                "anthropic.claude-3-7-sonnet-20250219-v1:0",
                "claude-3-7-sonnet",
            ),
            ("gpt-4", "gpt-4"),
            ("openai/gpt-5-codex", "gpt-5-codex"),
            ("gpt-5-mini-2025-08-07", "gpt-5-mini"),
            ("gpt-5.1-codex-max", "gpt-5-1-codex-max"),
            ("google/gemini-2.5-pro", "gemini-2-5-pro"),
            ("models/gemini-2.5-flash", "gemini-2-5-flash"),
            ("z-ai/GLM-4.7", "glm-4-7"),
            ("MiniMax-M2.1", "minimax-m2-1"),
            ("qwen3-coder-plus-2025-09-23", "qwen3-coder-plus"),
            (
                "openrouter/anthropic/claude-sonnet-4.5",
                "claude-sonnet-4-5",
            ),
            ("o4-mini-2025-04-16", "o4-mini"),
            (
                "gemini-2.5-flash-preview-05-20",
                "gemini-2-5-flash-preview-05-20",
            ),
        ] {
            assert_eq!(family_name(id), family, "{id}");
        }
        let table = PriceTable::builtin();
        assert!(table.resolve("claude-sonnet-4-20250514").is_some());
        assert!(
            table
                .resolve("us.anthropic.claude-sonnet-4-20250514-v1:0")
                .is_some()
        );
        assert!(table.resolve("claude-sonnet-9").is_none());
        assert!(table.resolve("gpt-4").is_none());
        assert!(table.resolve("").is_none());
    }

    #[test]
    fn each_token_kind_has_its_own_rate() {
        let table = PriceTable::builtin();
        let t = tokens(1_000_000, 1_000_000, 1_000_000, 1_000_000, 1_000_000);
        let cost = table
            .cost("claude-haiku-4-5-20251001", &request("2026-01-10", &t))
            .unwrap();
        assert!(
            (cost - (1.0 + 5.0 + 1.25 + 2.0 + 0.1)).abs() < 1e-9,
            "{cost}"
        );
    }

    #[test]
    fn a_tier_bills_the_whole_request_higher() {
        let table = PriceTable::builtin();
        let t = tokens(1_000, 1_000, 0, 0, 250_000);
        let mut r = request("2026-01-10", &t);
        let normal = table.cost("claude-sonnet-4-5", &r).unwrap();
        r.tier_class = 200_000;
        let long = table.cost("claude-sonnet-4-5", &r).unwrap();
        assert!((normal - (3_000.0 + 15_000.0 + 75_000.0) / 1e6).abs() < 1e-12);
        assert!((long - (6_000.0 + 22_500.0 + 150_000.0) / 1e6).abs() < 1e-12);
        // Above 100,000 only: below Sonnet's threshold, so its normal rates.
        r.tier_class = 100_000;
        assert_eq!(table.cost("claude-sonnet-4-5", &r), Some(normal));
    }

    #[test]
    fn the_highest_tier_below_the_class_applies() {
        let text = "[models.x]\ninput = 1\noutput = 0\ncache_write_5m = 0\ncache_write_1h = 0\ncache_read = 0\n\
                    tier = [{ above = 128000, input = 3, output = 0, cache_write_5m = 0, cache_write_1h = 0, cache_read = 0 },\n\
                    { above = 32000, input = 2, output = 0, cache_write_5m = 0, cache_write_1h = 0, cache_read = 0 }]\n";
        let family = Family {
            periods: parse_file(text, "test").unwrap().remove("x").unwrap(),
        };
        let t = tokens(1_000_000, 0, 0, 0, 0);
        let mut r = request("2026-01-10", &t);
        // Classes are the ledger's thresholds of every family: 100,000 is another model's.
        for (class, cost) in [
            (0, 1.0),
            (32_000, 2.0),
            (100_000, 2.0),
            (128_000, 3.0),
            (200_000, 3.0),
        ] {
            r.tier_class = class;
            assert_eq!(family.cost(&r), Some(cost), "class {class}");
        }
    }

    #[test]
    fn fast_mode_multiplies_and_is_unknown_where_unpriced() {
        let table = PriceTable::builtin();
        let t = tokens(1_000_000, 0, 0, 0, 0);
        let mut r = request("2026-02-20", &t);
        r.fast = true;
        assert_eq!(table.cost("claude-opus-4-6", &r), Some(30.0));
        assert_eq!(table.cost("claude-haiku-4-5", &r), None);
    }

    #[test]
    fn geo_and_web_search() {
        let table = PriceTable::builtin();
        let t = tokens(1_000_000, 0, 0, 0, 0);
        let mut r = request("2026-05-20", &t);
        r.geo = "us";
        let us = table.cost("claude-opus-4-6", &r).unwrap();
        assert!((us - 5.5).abs() < 1e-9, "{us}");
        r.geo = "";
        r.web_search = 3;
        let searched = table.cost("claude-opus-4-6", &r).unwrap();
        assert!((searched - 5.03).abs() < 1e-9, "{searched}");
    }

    #[test]
    fn a_date_outside_every_period_has_no_price() {
        let text = "[[models.claude-x]]\nfrom = \"2026-03-01\"\nuntil = \"2026-04-01\"\n\
                    input = 1\noutput = 2\ncache_write_5m = 1.25\ncache_write_1h = 2\ncache_read = 0.1\n";
        let families = parse_file(text, "test").unwrap();
        let family = Family {
            periods: families["claude-x"].clone(),
        };
        let t = tokens(1_000_000, 0, 0, 0, 0);
        assert_eq!(family.cost(&request("2026-02-28", &t)), None);
        assert_eq!(family.cost(&request("2026-03-01", &t)), Some(1.0));
        assert_eq!(family.cost(&request("2026-03-31", &t)), Some(1.0));
        assert_eq!(family.cost(&request("2026-04-01", &t)), None);
    }

    /// A no-change `once` compares the texts' digest with the one whose tiers the ledger
    /// learned, without parsing them: it must be the parsed table's.
    #[test]
    fn texts_have_the_digest_of_the_table_they_make() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prices.toml");
        std::fs::write(
            &path,
            "[models.claude-future-5]\ninput = 2\noutput = 10\ncache_write_5m = 2.5\ncache_write_1h = 4\ncache_read = 0.2\n",
        )
        .unwrap();
        let builtin = PriceTexts::read(Some(&dir.path().join("absent.toml")));
        assert!(
            builtin.is_err(),
            "a price file named but missing is an error"
        );
        for user in [None, Some(path.as_path())] {
            let texts = PriceTexts::read(user).unwrap();
            let digest = texts.digest();
            assert_eq!(digest, texts.parse().unwrap().digest());
        }
        assert_ne!(
            PriceTexts::read(Some(&path)).unwrap().digest(),
            PriceTable::builtin().digest()
        );
    }

    #[test]
    fn user_file_adds_families_and_periods_in_front() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prices.toml");
        std::fs::write(
            &path,
            "[models.claude-future-5]\ninput = 2\noutput = 10\ncache_write_5m = 2.5\ncache_write_1h = 4\ncache_read = 0.2\n\
             [[models.claude-haiku-4-5]]\nfrom = \"2026-06-01\"\ninput = 100\noutput = 5\ncache_write_5m = 1.25\ncache_write_1h = 2\ncache_read = 0.1\n",
        )
        .unwrap();
        let table = PriceTable::load(Some(&path)).unwrap();
        let t = tokens(1_000_000, 0, 0, 0, 0);
        let at = |date| request(date, &t);
        assert_eq!(
            table.cost("claude-future-5-20270101", &at("2026-01-01")),
            Some(2.0)
        );
        assert_eq!(
            table.cost("claude-haiku-4-5", &at("2026-06-01")),
            Some(100.0)
        );
        assert_eq!(table.cost("claude-haiku-4-5", &at("2026-05-31")), Some(1.0));
        let haiku = table.resolve("claude-haiku-4-5").unwrap();
        assert_eq!(haiku.periods[0].source, path.display().to_string());
        assert_eq!(haiku.periods.last().unwrap().source, BUILTIN_SOURCE);
    }

    #[test]
    fn bad_files_name_the_entry() {
        let cases = [
            ("[models.x]\ninput = 1\n", "models.x, period 1"),
            (
                "[models.x]\ninput = -1\noutput = 1\ncache_write_5m = 1\ncache_write_1h = 1\ncache_read = 1\n",
                "input = -1",
            ),
            (
                "[[models.x]]\nuntil = \"2026-01-01\"\ninput = 1\noutput = 1\ncache_write_5m = 1\ncache_write_1h = 1\ncache_read = 1\n\
                 [[models.x]]\ninput = 1\noutput = 1\ncache_write_5m = 1\ncache_write_1h = 1\ncache_read = 1\n",
                "overlap",
            ),
            (
                "[models.x]\nfrom = \"soon\"\ninput = 1\noutput = 1\ncache_write_5m = 1\ncache_write_1h = 1\ncache_read = 1\n",
                "not a date",
            ),
            (
                "[models.x]\nfast = 0\ninput = 1\noutput = 1\ncache_write_5m = 1\ncache_write_1h = 1\ncache_read = 1\n",
                "multiplier",
            ),
            ("models = 3\n", "invalid type"),
            (
                "[models.x]\ninput = 1\noutput = 1\ncache_write_5m = 1\ncache_write_1h = 1\ncache_read = 1\ntier = 3\n",
                "expected a table of rates or a list",
            ),
            (
                "[models.x]\ninput = 1\noutput = 1\ncache_write_5m = 1\ncache_write_1h = 1\ncache_read = 1\n\
                 tier = [{ above = 10, input = 1, output = 1, cache_write_5m = 1, cache_write_1h = 1, cache_read = 1 }, { above = 20, input = 1 }]\n",
                "tier 2",
            ),
            (
                "[models.x]\ninput = 1\noutput = 1\ncache_write_5m = 1\ncache_write_1h = 1\ncache_read = 1\n\
                 tier = [{ above = 10, input = 1, output = 1, cache_write_5m = 1, cache_write_1h = 1, cache_read = 1 }, \
                 { above = 10, input = 2, output = 1, cache_write_5m = 1, cache_write_1h = 1, cache_read = 1 }]\n",
                "two tiers above 10",
            ),
        ];
        for (text, expected) in cases {
            let err = parse_file(text, "test").unwrap_err();
            assert!(format!("{err:#}").contains(expected), "{text}: {err:#}");
        }
    }

    #[test]
    fn the_builtin_thresholds_are_data() {
        let thresholds = PriceTable::builtin().tier_thresholds();
        assert!(thresholds.contains(&200_000), "{thresholds:?}");
        assert!(thresholds.contains(&100_000), "{thresholds:?}");
        assert!(thresholds.contains(&32_000), "{thresholds:?}");
    }
}
