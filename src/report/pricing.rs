//! What a response cost: prices as data, applied the way Anthropic bills.
//!
//! The table ships inside the binary (`src/report/prices.toml`) and a user file adds or overrides
//! model families, so a new model needs no release. A model id resolves to its family by
//! dropping a date suffix. A model the table does not know has no price: callers show its
//! cost as missing and name it, never price it at zero or at another model's rate.
//!
//! Two per-request rules make cost depend on more than token sums: a Sonnet 4/4.5 request
//! whose input side is above 200,000 tokens is billed whole at long-context rates, and fast
//! mode multiplies the whole cost. Reports therefore group by (model, fast, long context)
//! before pricing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::ingest::parse::Tokens;

/// Anthropic's long-context boundary: input + cache writes + cache reads above this.
pub const LONG_CONTEXT_INPUT: u64 = 200_000;

const BUILTIN: &str = include_str!("prices.toml");

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

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelPrice {
    #[serde(flatten)]
    pub rates: Rates,
    pub long_context: Option<Rates>,
    /// Multiplier for fast mode; a model without one has no known fast price.
    pub fast: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PriceFile {
    #[serde(default)]
    models: BTreeMap<String, ModelPrice>,
}

/// The prices in use: the built-in table, then the user's file on top.
#[derive(Clone, Debug)]
pub struct PriceTable {
    pub models: BTreeMap<String, ModelPrice>,
    /// Where each family's price came from (for `cco-stats prices`).
    pub sources: BTreeMap<String, String>,
}

impl PriceTable {
    pub fn builtin() -> PriceTable {
        let file: PriceFile = toml::from_str(BUILTIN).expect("the built-in price table parses");
        let sources = file
            .models
            .keys()
            .map(|k| (k.clone(), "built-in".to_string()))
            .collect();
        PriceTable {
            models: file.models,
            sources,
        }
    }

    /// The built-in table with `user` (if given, or the default user file if it exists) on top.
    pub fn load(user: Option<&Path>) -> Result<PriceTable> {
        let mut table = PriceTable::builtin();
        let path = match user {
            Some(path) => Some(path.to_path_buf()),
            None => default_user_file().filter(|p| p.exists()),
        };
        if let Some(path) = path {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read price file {}", path.display()))?;
            let file: PriceFile =
                toml::from_str(&text).with_context(|| format!("price file {}", path.display()))?;
            for (family, price) in file.models {
                table
                    .sources
                    .insert(family.clone(), path.display().to_string());
                table.models.insert(family, price);
            }
        }
        Ok(table)
    }

    /// The price of `model`: its exact id, else its family (the id without a date suffix).
    pub fn resolve(&self, model: &str) -> Option<&ModelPrice> {
        self.models
            .get(model)
            .or_else(|| self.models.get(family(model)))
    }

    /// The cost of one request, or of a group of requests that share `long` and `fast`.
    /// `None`: the model, or its fast-mode price, is unknown.
    #[cfg(test)]
    pub fn cost(&self, model: &str, tokens: &Tokens, long: bool, fast: bool) -> Option<f64> {
        self.resolve(model)?.cost(tokens, long, fast)
    }
}

impl ModelPrice {
    /// The cost of one request, or of a group of requests that share `long` and `fast`;
    /// `None` in fast mode for a model without a fast-mode price.
    pub fn cost(&self, tokens: &Tokens, long: bool, fast: bool) -> Option<f64> {
        let rates = match (long, self.long_context) {
            (true, Some(long_rates)) => long_rates,
            _ => self.rates,
        };
        let multiplier = if fast { self.fast? } else { 1.0 };
        let per_million = tokens.input as f64 * rates.input
            + tokens.output as f64 * rates.output
            + tokens.cache_write_5m as f64 * rates.cache_write_5m
            + tokens.cache_write_1h as f64 * rates.cache_write_1h
            + tokens.cache_read as f64 * rates.cache_read;
        Some(per_million / 1e6 * multiplier)
    }
}

/// `~/.config/cco-stats/prices.toml` (or under `$XDG_CONFIG_HOME`).
pub fn default_user_file() -> Option<PathBuf> {
    let config = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => crate::ingest::discover::home()?.join(".config"),
    };
    Some(config.join("cco-stats").join("prices.toml"))
}

/// `claude-sonnet-4-5-20250929` → `claude-sonnet-4-5`; `x@20250929` → `x`.
fn family(model: &str) -> &str {
    let cut = model.rfind(['-', '@']).filter(|&at| {
        let suffix = &model[at + 1..];
        suffix.len() == 8 && suffix.bytes().all(|b| b.is_ascii_digit())
    });
    match cut {
        Some(at) => &model[..at],
        None => model,
    }
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

    #[test]
    fn families_resolve_without_date_suffix() {
        assert_eq!(family("claude-sonnet-4-5-20250929"), "claude-sonnet-4-5");
        assert_eq!(family("claude-opus-4-6"), "claude-opus-4-6");
        assert_eq!(family("claude-3-5-haiku-20241022"), "claude-3-5-haiku");
        assert_eq!(family("claude-opus-4-1@20250805"), "claude-opus-4-1");
        let table = PriceTable::builtin();
        assert!(table.resolve("claude-sonnet-4-20250514").is_some());
        assert!(table.resolve("claude-sonnet-9").is_none());
        assert!(table.resolve("gpt-4").is_none());
    }

    #[test]
    fn every_documented_family_is_priced() {
        let table = PriceTable::builtin();
        for model in [
            "claude-opus-4",
            "claude-opus-4-1",
            "claude-opus-4-5",
            "claude-opus-4-6",
            "claude-opus-4-7",
            "claude-sonnet-4",
            "claude-sonnet-4-5",
            "claude-sonnet-4-6",
            "claude-haiku-4-5",
            "claude-3-5-haiku",
        ] {
            assert!(table.resolve(model).is_some(), "{model}");
        }
    }

    #[test]
    fn each_token_kind_has_its_own_rate() {
        let table = PriceTable::builtin();
        let one_million_each = tokens(1_000_000, 1_000_000, 1_000_000, 1_000_000, 1_000_000);
        let cost = table
            .cost("claude-haiku-4-5-20251001", &one_million_each, false, false)
            .unwrap();
        assert!(
            (cost - (1.0 + 5.0 + 1.25 + 2.0 + 0.1)).abs() < 1e-9,
            "{cost}"
        );
    }

    #[test]
    fn long_context_bills_the_whole_request_higher() {
        let table = PriceTable::builtin();
        let t = tokens(1_000, 1_000, 0, 0, 250_000);
        let normal = table.cost("claude-sonnet-4-5", &t, false, false).unwrap();
        let long = table.cost("claude-sonnet-4-5", &t, true, false).unwrap();
        assert!((normal - (3_000.0 + 15_000.0 + 75_000.0) / 1e6).abs() < 1e-12);
        assert!((long - (6_000.0 + 22_500.0 + 150_000.0) / 1e6).abs() < 1e-12);
        // Models from 4.6 on have no surcharge.
        assert_eq!(
            table.cost("claude-sonnet-4-6", &t, true, false),
            table.cost("claude-sonnet-4-6", &t, false, false)
        );
    }

    #[test]
    fn fast_mode_multiplies_and_is_unknown_where_unpriced() {
        let table = PriceTable::builtin();
        let t = tokens(1_000_000, 0, 0, 0, 0);
        assert_eq!(table.cost("claude-opus-4-6", &t, false, true), Some(30.0));
        assert_eq!(table.cost("claude-haiku-4-5", &t, false, true), None);
    }

    #[test]
    fn user_file_adds_and_overrides() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prices.toml");
        std::fs::write(
            &path,
            "[models.claude-future-5]\ninput = 2\noutput = 10\ncache_write_5m = 2.5\ncache_write_1h = 4\ncache_read = 0.2\n\
             [models.claude-haiku-4-5]\ninput = 100\noutput = 5\ncache_write_5m = 1.25\ncache_write_1h = 2\ncache_read = 0.1\n",
        )
        .unwrap();
        let table = PriceTable::load(Some(&path)).unwrap();
        let t = tokens(1_000_000, 0, 0, 0, 0);
        assert_eq!(
            table.cost("claude-future-5-20270101", &t, false, false),
            Some(2.0)
        );
        assert_eq!(
            table.cost("claude-haiku-4-5", &t, false, false),
            Some(100.0)
        );

        std::fs::write(&path, "[models.x]\ninput = 1\n").unwrap();
        let err = PriceTable::load(Some(&path)).unwrap_err();
        assert!(format!("{err:#}").contains("prices.toml"), "{err:#}");
    }
}
