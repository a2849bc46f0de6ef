//! Reads LiteLLM's `model_prices_and_context_window.json` (the price list ccusage fetches
//! online) into price-file periods, so a model released after this build is one
//! `cco-stats prices --import FILE` away, with no network code here.
//!
//! Only Anthropic's own API entries (`litellm_provider: "anthropic"`) are read: they are
//! the prices Claude Code's requests are billed at. LiteLLM gives USD per token; the price
//! file keeps USD per million. Its `*_above_200k_tokens` (or `_above_100k_`) fields become
//! a tier, its `search_context_cost_per_query` the price of web searches. It knows no
//! fast-mode or data-residency multipliers, so imported models have none (a fast request
//! stays unpriced rather than priced at the standard rate).

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value};

use crate::report::pricing::{PriceTable, Rates, Tier, family_name};

/// One model family the table lacks, priced from a LiteLLM entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Imported {
    pub family: String,
    /// The LiteLLM key it was read from.
    pub key: String,
    pub rates: Rates,
    pub tier: Option<Tier>,
    pub web_search_per_1k: Option<f64>,
}

/// The Claude families of `text` (a LiteLLM price file) that `table` has no price for, in
/// name order. Any entry it reads that is damaged (a missing or negative rate) is an
/// error naming the entry, and nothing is imported.
pub fn families_to_import(text: &str, table: &PriceTable) -> Result<Vec<Imported>> {
    let json: Value = serde_json::from_str(text).context("not a JSON file")?;
    let Value::Object(entries) = json else {
        bail!(
            "expected a JSON object of models, as LiteLLM's model_prices_and_context_window.json"
        );
    };
    let mut found: BTreeMap<String, Imported> = BTreeMap::new();
    for (key, entry) in &entries {
        if !is_anthropic_claude(key, entry) {
            continue;
        }
        if !is_plausible_model_id(key) {
            bail!(
                "entry {key:?}: not a plausible model id (at most {MAX_MODEL_ID} of \
                 A-Z a-z 0-9 . _ : / @ + -)"
            );
        }
        let family = family_name(key).to_string();
        if table.resolve(key).is_some() || table.resolve(&family).is_some() {
            continue;
        }
        let Value::Object(fields) = entry else {
            bail!("{key}: expected an object of prices");
        };
        let imported =
            read_entry(key, &family, fields).with_context(|| format!("entry {key:?}"))?;
        // Several keys name one family (`claude-x` and `claude-x-20270101`): the key that
        // is the family's own name wins, else the first.
        let prefer = key == &family;
        match found.get(&family) {
            Some(_) if !prefer => {}
            _ => {
                found.insert(family, imported);
            }
        }
    }
    Ok(found.into_values().collect())
}

/// The longest model id imported (LiteLLM's longest Claude key is under 60).
const MAX_MODEL_ID: usize = 128;

/// What a model id may look like: the characters of every id Anthropic, the clouds and
/// LiteLLM use, bounded. A key outside it is damage (or an attempt to write into the price
/// file), not a model.
fn is_plausible_model_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_MODEL_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:/@+-".contains(&b))
}

fn is_anthropic_claude(key: &str, entry: &Value) -> bool {
    key.contains("claude")
        && entry.get("litellm_provider").and_then(Value::as_str) == Some("anthropic")
        && entry
            .get("mode")
            .and_then(Value::as_str)
            .is_none_or(|mode| mode == "chat")
}

fn read_entry(key: &str, family: &str, fields: &Map<String, Value>) -> Result<Imported> {
    let rates = rates(fields, "")?;
    let mut tier = None;
    for (suffix, above) in [
        ("_above_200k_tokens", 200_000),
        ("_above_100k_tokens", 100_000),
    ] {
        if fields.contains_key(&format!("input_cost_per_token{suffix}")) {
            tier = Some(Tier {
                above,
                rates: rates_above(fields, suffix, &rates)?,
            });
            break;
        }
    }
    let web_search_per_1k = match fields.get("search_context_cost_per_query") {
        Some(Value::Object(sizes)) => sizes
            .get("search_context_size_medium")
            .map(|v| {
                rate(
                    v,
                    "search_context_cost_per_query.search_context_size_medium",
                )
            })
            .transpose()?
            .map(|per_search| round(per_search * 1000.0)),
        _ => None,
    };
    Ok(Imported {
        family: family.to_string(),
        key: key.to_string(),
        rates,
        tier,
        web_search_per_1k,
    })
}

/// The five rates of an entry, per million tokens. Input and output are required; a
/// missing cache rate follows Anthropic's published multiples of the input rate (5-minute
/// writes 1.25x, 1-hour writes 2x, reads 0.1x), as every Claude model has been priced.
fn rates(fields: &Map<String, Value>, suffix: &str) -> Result<Rates> {
    let input = required(fields, &format!("input_cost_per_token{suffix}"))?;
    let output = required(fields, &format!("output_cost_per_token{suffix}"))?;
    let or_multiple = |name: &str, multiple: f64| -> Result<f64> {
        Ok(optional(fields, name)?.unwrap_or(round(input * multiple)))
    };
    Ok(Rates {
        input,
        output,
        cache_write_5m: or_multiple(&format!("cache_creation_input_token_cost{suffix}"), 1.25)?,
        cache_write_1h: or_multiple(
            &format!("cache_creation_input_token_cost_above_1hr{suffix}"),
            2.0,
        )?,
        cache_read: or_multiple(&format!("cache_read_input_token_cost{suffix}"), 0.1)?,
    })
}

/// A tier's rates: its own where LiteLLM gives them, else the base rates scaled as its
/// input rate is (how Anthropic's long-context rates are set).
fn rates_above(fields: &Map<String, Value>, suffix: &str, base: &Rates) -> Result<Rates> {
    let input = required(fields, &format!("input_cost_per_token{suffix}"))?;
    let scale = if base.input > 0.0 {
        input / base.input
    } else {
        1.0
    };
    let or_scaled = |name: String, base_rate: f64| -> Result<f64> {
        Ok(optional(fields, &name)?.unwrap_or(round(base_rate * scale)))
    };
    Ok(Rates {
        input,
        output: or_scaled(format!("output_cost_per_token{suffix}"), base.output)?,
        cache_write_5m: or_scaled(
            format!("cache_creation_input_token_cost{suffix}"),
            base.cache_write_5m,
        )?,
        cache_write_1h: or_scaled(
            format!("cache_creation_input_token_cost_above_1hr{suffix}"),
            base.cache_write_1h,
        )?,
        cache_read: or_scaled(
            format!("cache_read_input_token_cost{suffix}"),
            base.cache_read,
        )?,
    })
}

fn required(fields: &Map<String, Value>, name: &str) -> Result<f64> {
    optional(fields, name)?.with_context(|| format!("no {name}"))
}

/// A per-token rate as USD per million tokens.
fn optional(fields: &Map<String, Value>, name: &str) -> Result<Option<f64>> {
    fields
        .get(name)
        .map(|v| Ok(round(rate(v, name)? * 1e6)))
        .transpose()
}

fn rate(value: &Value, name: &str) -> Result<f64> {
    match value.as_f64() {
        Some(v) if v.is_finite() && v >= 0.0 => Ok(v),
        Some(v) => bail!("{name} = {v}: a price cannot be negative"),
        None => bail!("{name} = {value}: not a number"),
    }
}

/// Per-token prices times a million carry float noise (3.75e-6 * 1e6 = 3.7499999999999996):
/// no price has more than nine decimals.
fn round(value: f64) -> f64 {
    (value * 1e9).round() / 1e9
}

/// The price-file text of `imported`: one period each, since the beginning, with the key
/// it came from. Written by the TOML serializer, so a name is always a quoted key where
/// it must be, whatever it holds.
pub fn price_file_text(imported: &[Imported], source: &str, today: &str) -> String {
    let mut out = String::new();
    for m in imported {
        let mut period = rates_table(&m.rates);
        if let Some(per_1k) = m.web_search_per_1k {
            period.insert("web_search_per_1k".into(), per_1k.into());
        }
        if let Some(t) = &m.tier {
            let mut tier = rates_table(&t.rates);
            // TOML integers are i64; a threshold beyond it is no real tier.
            tier.insert(
                "above".into(),
                i64::try_from(t.above).unwrap_or(i64::MAX).into(),
            );
            period.insert("tier".into(), toml::Value::Table(tier));
        }
        let family = toml::Table::from_iter([(
            m.family.clone(),
            toml::Value::Array(vec![toml::Value::Table(period)]),
        )]);
        let file = toml::Table::from_iter([("models".to_string(), toml::Value::Table(family))]);
        // `{:?}` escapes what would end the comment line.
        out.push_str(&format!(
            "\n# Imported on {today} from {source:?} (LiteLLM entry {:?}).\n",
            m.key
        ));
        out.push_str(&toml::to_string(&file).expect("a table of numbers serializes"));
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

fn rates_table(r: &Rates) -> toml::Table {
    [
        ("input", r.input),
        ("output", r.output),
        ("cache_write_5m", r.cache_write_5m),
        ("cache_write_1h", r.cache_write_1h),
        ("cache_read", r.cache_read),
    ]
    .into_iter()
    .map(|(name, rate)| (name.to_string(), toml::Value::Float(rate)))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn import(text: &str) -> Result<Vec<Imported>> {
        families_to_import(text, &PriceTable::builtin())
    }

    #[test]
    fn new_anthropic_models_are_read_per_million() {
        let text = r#"{
            "sample_spec": {"input_cost_per_token": 0},
            "claude-opus-4-6": {"litellm_provider": "anthropic", "mode": "chat",
                "input_cost_per_token": 5e-06, "output_cost_per_token": 2.5e-05},
            "claude-next-7-20270101": {"litellm_provider": "anthropic", "mode": "chat",
                "input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05,
                "cache_creation_input_token_cost": 3.75e-06,
                "cache_creation_input_token_cost_above_1hr": 6e-06,
                "cache_read_input_token_cost": 3e-07,
                "input_cost_per_token_above_200k_tokens": 6e-06,
                "output_cost_per_token_above_200k_tokens": 2.25e-05,
                "search_context_cost_per_query": {"search_context_size_medium": 0.01}},
            "anthropic.claude-other-1-v1:0": {"litellm_provider": "bedrock",
                "input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06}
        }"#;
        let imported = import(text).unwrap();
        assert_eq!(imported.len(), 1, "{imported:?}");
        let m = &imported[0];
        assert_eq!(m.family, "claude-next-7");
        assert_eq!(
            m.rates,
            Rates {
                input: 3.0,
                output: 15.0,
                cache_write_5m: 3.75,
                cache_write_1h: 6.0,
                cache_read: 0.3
            }
        );
        let tier = m.tier.unwrap();
        assert_eq!(tier.above, 200_000);
        assert_eq!(tier.rates.output, 22.5);
        assert_eq!(tier.rates.cache_read, 0.6, "scaled as the input rate is");
        assert_eq!(m.web_search_per_1k, Some(10.0));
        // What it writes is a price file this build reads back.
        let text = price_file_text(&imported, "prices.json", "2026-12-02");
        let mut table = PriceTable::builtin();
        table.add_text(&text, "test").unwrap();
        assert!(table.resolve("claude-next-7-20270101").is_some());
    }

    #[test]
    fn damage_names_the_entry_and_imports_nothing() {
        for (text, expected) in [
            ("not json", "not a JSON file"),
            ("[1, 2]", "expected a JSON object"),
            (
                r#"{"claude-x": {"litellm_provider": "anthropic", "output_cost_per_token": 1e-06}}"#,
                "entry \"claude-x\": no input_cost_per_token",
            ),
            (
                r#"{"claude-x": {"litellm_provider": "anthropic", "input_cost_per_token": -1e-06, "output_cost_per_token": 1e-06}}"#,
                "entry \"claude-x\": input_cost_per_token = -0.000001: a price cannot be negative",
            ),
            (
                r#"{"claude-x": {"litellm_provider": "anthropic", "input_cost_per_token": "cheap", "output_cost_per_token": 1e-06}}"#,
                "not a number",
            ),
        ] {
            let err = import(text).unwrap_err();
            assert!(format!("{err:#}").contains(expected), "{text}: {err:#}");
        }
    }

    #[test]
    fn a_name_is_a_key_whatever_it_holds() {
        let imported = import(
            r#"{"claude-next-7": {"litellm_provider": "anthropic", "input_cost_per_token": 3e-06,
                "output_cost_per_token": 1.5e-05, "input_cost_per_token_above_200k_tokens": 6e-06}}"#,
        )
        .unwrap();
        let mut odd = imported[0].clone();
        odd.family = "claude-x]]\n[[models.claude-sonnet-4-5".to_string();
        let text = price_file_text(&[odd], "a\nb.json", "2026-12-02");
        let mut table = PriceTable::builtin();
        table.add_text(&text, "test").unwrap();
        let sonnet = table.resolve("claude-sonnet-4-5").unwrap();
        let builtin = PriceTable::builtin();
        assert_eq!(
            sonnet.periods,
            builtin.resolve("claude-sonnet-4-5").unwrap().periods,
            "the built-in price stands"
        );
        for bad in [
            "claude-x]]\n",
            "claude x",
            &format!("claude-{}", "c".repeat(MAX_MODEL_ID)),
        ] {
            let text = format!(
                r#"{{"{}": {{"litellm_provider": "anthropic", "input_cost_per_token": 1e-06,
                    "output_cost_per_token": 1e-06}}}}"#,
                bad.replace('\n', "\\n")
            );
            let err = import(&text).unwrap_err();
            assert!(
                format!("{err:#}").contains("not a plausible model id"),
                "{bad:?}: {err:#}"
            );
        }
    }
}
