//! Prices through the real binary: every family at the rates of its day, worked out here
//! by hand from the rates the pricing pages publish (written out below, not read from the
//! table), on both sides of every dated change; tiers, fast mode, data residency, web
//! searches, the names clouds give models, and `prices --import`.

mod common;

use common::{Scratch, json};
use serde_json::Value;

/// USD per million: input, output, 5-minute write, 1-hour write, read.
type Rates = [f64; 5];

/// Below every tier (the lowest is 32,000): 20,000 tokens of one kind per request, one
/// request per kind.
const EACH: u64 = 20_000;

fn line(message: &str, day: &str, model: &str, usage: Value) -> String {
    serde_json::json!({
        "type": "assistant", "timestamp": format!("{day}T12:00:00.000Z"),
        "requestId": format!("req_{message}"), "sessionId": "s", "cwd": "/w",
        "message": {"id": message, "model": model, "usage": usage},
    })
    .to_string()
}

fn usage(t: [u64; 5]) -> Value {
    serde_json::json!({
        "input_tokens": t[0], "output_tokens": t[1],
        "cache_creation_input_tokens": t[2] + t[3], "cache_read_input_tokens": t[4],
        "cache_creation": {"ephemeral_5m_input_tokens": t[2], "ephemeral_1h_input_tokens": t[3]},
    })
}

fn write_session(s: &Scratch, name: &str, lines: &[String]) {
    let dir = s.root.join("projects/-w");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.jsonl")), lines.join("\n") + "\n").unwrap();
}

/// `daily --json --mode calculate` in UTC for one day.
fn day_report(s: &Scratch, day: &str, extra: &[&str]) -> Value {
    let out = s
        .cmd()
        .args([
            "daily",
            "--json",
            "--mode",
            "calculate",
            "--timezone",
            "UTC",
        ])
        .args(["--since", day, "--until", day])
        .args(extra)
        .assert()
        .success();
    json(&out.get_output().stdout)
}

fn cost_of(report: &Value) -> Option<f64> {
    report["totals"]["totalCost"]
        .as_f64()
        .filter(|_| report["totals"].get("unpricedModels").is_none())
}

fn per_million(tokens: u64, rate: f64) -> f64 {
    tokens as f64 * rate / 1e6
}

/// One request of each token kind priced at `rates`, and, for each of the family's tiers
/// (ascending), one request just above its threshold priced whole at the tier's rates and
/// one at the threshold exactly, priced at the rates below it.
fn check_family(model: &str, day: &str, rates: Rates, tiers: &[(u64, Rates)]) {
    let s = Scratch::new();
    let mut lines = Vec::new();
    let mut expected = 0.0;
    for kind in 0..5 {
        let mut t = [0; 5];
        t[kind] = EACH;
        lines.push(line(&format!("m{kind}"), day, model, usage(t)));
        expected += per_million(EACH, rates[kind]);
    }
    let mut below = rates;
    for (i, &(above, tier_rates)) in tiers.iter().enumerate() {
        let priced = |t: [u64; 5], rates: Rates| -> f64 {
            t.iter().zip(rates).map(|(&n, r)| per_million(n, r)).sum()
        };
        // Input side just above the threshold: input + cache writes + cache reads.
        let t = [above / 2, 1_000, above / 4, 0, above / 4 + 1];
        lines.push(line(&format!("big{i}"), day, model, usage(t)));
        expected += priced(t, tier_rates);
        // At the threshold exactly: not above it, so the rates below it.
        let t = [above / 2, 1_000, above / 4, 0, above / 4];
        lines.push(line(&format!("edge{i}"), day, model, usage(t)));
        expected += priced(t, below);
        below = tier_rates;
    }
    write_session(&s, "s", &lines);
    let report = day_report(&s, day, &[]);
    let cost = cost_of(&report).unwrap_or_else(|| panic!("{model} on {day} unpriced: {report}"));
    assert!(
        (cost - expected).abs() < 1e-9,
        "{model} on {day}: {cost} != {expected} by hand"
    );
}

macro_rules! family {
    ($name:ident, $model:expr, $day:expr, $rates:expr) => {
        #[test]
        fn $name() {
            check_family($model, $day, $rates, &[]);
        }
    };
    ($name:ident, $model:expr, $day:expr, $rates:expr, $(tier $above:expr => $tier:expr),+) => {
        #[test]
        fn $name() {
            check_family($model, $day, $rates, &[$(($above, $tier)),+]);
        }
    };
}

// https://platform.claude.com/docs/en/about-claude/pricing and the model pages.
const OPUS_4: Rates = [15.0, 75.0, 18.75, 30.0, 1.5];
const OPUS_45: Rates = [5.0, 25.0, 6.25, 10.0, 0.5];
const SONNET_4: Rates = [3.0, 15.0, 3.75, 6.0, 0.3];
const SONNET_4_LONG: Rates = [6.0, 22.5, 7.5, 12.0, 0.6];
const FABLE: Rates = [10.0, 50.0, 12.5, 20.0, 1.0];
const FABLE_51: Rates = [10.0, 50.0, 12.5, 20.0, 0.25];

family!(fable_5_1, "claude-fable-5-1", "2026-11-20", FABLE_51);
family!(mythos_5_1, "claude-mythos-5-1", "2026-11-20", FABLE_51);
family!(fable_5, "claude-fable-5-20260609", "2026-07-01", FABLE);
family!(mythos_5, "claude-mythos-5", "2026-07-01", FABLE);
family!(
    opus_5_5,
    "claude-opus-5-5",
    "2026-11-20",
    [4.0, 20.0, 5.0, 8.0, 0.2]
);
family!(opus_5, "claude-opus-5", "2026-08-01", OPUS_45);
family!(opus_4_8, "claude-opus-4-8", "2026-06-10", OPUS_45);
family!(opus_4_7, "claude-opus-4-7", "2026-05-01", OPUS_45);
family!(opus_4_6_before_1m_context_became_standard, "claude-opus-4-6", "2026-03-12", OPUS_45,
    tier 200_000 => [10.0, 37.5, 12.5, 20.0, 1.0]);
family!(opus_4_6_from_2026_03_13, "claude-opus-4-6", "2026-03-13", OPUS_45, tier 200_000 => OPUS_45);
family!(opus_4_5, "claude-opus-4-5-20251101", "2026-01-05", OPUS_45);
family!(opus_4_1, "claude-opus-4-1-20250805", "2025-09-01", OPUS_4);
family!(opus_4, "claude-opus-4-20250514", "2025-06-01", OPUS_4);
family!(
    sonnet_5_5_before_the_cache_read_cut,
    "claude-sonnet-5-5",
    "2026-10-06",
    [2.0, 10.0, 2.5, 4.0, 0.2]
);
family!(
    sonnet_5_5_from_2026_10_07,
    "claude-sonnet-5-5",
    "2026-10-07",
    [2.0, 10.0, 2.5, 4.0, 0.1]
);
family!(
    sonnet_5_introductory,
    "claude-sonnet-5",
    "2026-07-15",
    [2.0, 10.0, 2.5, 4.0, 0.2]
);
family!(
    sonnet_5_after_the_introduction,
    "claude-sonnet-5",
    "2026-09-15",
    [2.0, 10.0, 2.5, 4.0, 0.2]
);
family!(sonnet_4_6_before_1m_context_became_standard, "claude-sonnet-4-6", "2026-03-12", SONNET_4,
    tier 200_000 => SONNET_4_LONG);
family!(sonnet_4_6_from_2026_03_13, "claude-sonnet-4-6", "2026-03-13", SONNET_4, tier 200_000 => SONNET_4);
family!(sonnet_4_5, "claude-sonnet-4-5-20250929", "2026-01-05", SONNET_4, tier 200_000 => SONNET_4_LONG);
family!(sonnet_4, "claude-sonnet-4-20250514", "2025-07-01", SONNET_4, tier 200_000 => SONNET_4_LONG);
family!(
    sonnet_3_7,
    "claude-3-7-sonnet-20250219",
    "2025-04-01",
    SONNET_4
);
family!(
    sonnet_3_5,
    "claude-3-5-sonnet-20241022",
    "2025-01-10",
    SONNET_4
);
family!(haiku_5_5, "claude-haiku-5-5", "2026-11-01", [0.1, 0.5, 0.125, 0.2, 0.01],
    tier 100_000 => [0.5, 2.5, 0.625, 1.0, 0.05]);
family!(
    haiku_4_5,
    "claude-haiku-4-5-20251001",
    "2026-01-05",
    [1.0, 5.0, 1.25, 2.0, 0.1]
);
family!(
    haiku_3_5,
    "claude-3-5-haiku-20241022",
    "2025-03-01",
    [0.8, 4.0, 1.0, 1.6, 0.08]
);
family!(opus_3, "claude-3-opus-20240229", "2024-06-01", OPUS_4);
family!(
    haiku_3,
    "claude-3-haiku-20240307",
    "2024-06-01",
    [0.25, 1.25, 0.3, 0.5, 0.03]
);

// The other agents' models. OpenAI, Google, Qwen, Z.ai, Moonshot, DeepSeek and MiniMax
// bill input without cache hits, cache hits (the ledger's cache reads) and output with
// reasoning; only Qwen and MiniMax charge for writing a cache. Rates per the pages cited
// in prices.toml.
const GPT_5: Rates = [1.25, 10.0, 0.0, 0.0, 0.125];
const GPT_5_MINI: Rates = [0.25, 2.0, 0.0, 0.0, 0.025];
const GPT_5_2: Rates = [1.75, 14.0, 0.0, 0.0, 0.175];
const GLM_4_X: Rates = [0.6, 2.2, 0.0, 0.0, 0.11];
const GEMINI_PRO: Rates = [2.0, 12.0, 0.0, 0.0, 0.2];
const GEMINI_PRO_LONG: Rates = [4.0, 18.0, 0.0, 0.0, 0.4];
const KIMI_K2: Rates = [0.6, 2.5, 0.0, 0.0, 0.15];
const MINIMAX_M2: Rates = [0.3, 1.2, 0.375, 0.375, 0.03];

family!(
    gpt_5_codex_behind_a_provider_prefix,
    "openai/gpt-5-codex",
    "2025-10-01",
    GPT_5
);
family!(gpt_5, "gpt-5", "2025-09-01", GPT_5);
family!(
    gpt_5_mini_dated_snapshot,
    "gpt-5-mini-2025-08-07",
    "2025-09-01",
    GPT_5_MINI
);
family!(
    gpt_5_nano,
    "gpt-5-nano",
    "2025-09-01",
    [0.05, 0.4, 0.0, 0.0, 0.005]
);
family!(gpt_5_1, "gpt-5.1", "2025-12-01", GPT_5);
family!(gpt_5_1_codex, "gpt-5.1-codex", "2025-12-01", GPT_5);
family!(
    gpt_5_1_codex_mini,
    "gpt-5.1-codex-mini",
    "2025-12-01",
    GPT_5_MINI
);
family!(gpt_5_1_codex_max, "gpt-5.1-codex-max", "2025-12-01", GPT_5);
family!(gpt_5_2, "gpt-5.2", "2026-01-10", GPT_5_2);
family!(gpt_5_2_codex, "openai/gpt-5.2-codex", "2026-01-10", GPT_5_2);
family!(gpt_5_3_codex, "gpt-5.3-codex", "2026-03-01", GPT_5_2);
family!(
    codex_mini,
    "codex-mini-latest",
    "2025-06-01",
    [1.5, 6.0, 0.0, 0.0, 0.375]
);
family!(
    o4_mini,
    "o4-mini-2025-04-16",
    "2025-06-01",
    [1.1, 4.4, 0.0, 0.0, 0.275]
);
family!(gpt_4_1, "gpt-4.1", "2025-06-01", [2.0, 8.0, 0.0, 0.0, 0.5]);
family!(gemini_2_5_pro_long_context, "google/gemini-2.5-pro", "2025-10-01",
    [1.25, 10.0, 0.0, 0.0, 0.125], tier 200_000 => [2.5, 15.0, 0.0, 0.0, 0.25]);
family!(
    gemini_2_5_flash,
    "gemini-2.5-flash",
    "2025-10-01",
    [0.3, 2.5, 0.0, 0.0, 0.03]
);
family!(
    gemini_2_5_flash_lite,
    "gemini-2.5-flash-lite",
    "2025-10-01",
    [0.1, 0.4, 0.0, 0.0, 0.01]
);
family!(gemini_3_pro_preview_long_context, "gemini-3-pro-preview", "2025-12-01", GEMINI_PRO,
    tier 200_000 => GEMINI_PRO_LONG);
family!(gemini_3_1_pro_preview_long_context, "gemini-3.1-pro-preview", "2026-03-01", GEMINI_PRO,
    tier 200_000 => GEMINI_PRO_LONG);
family!(
    gemini_3_flash_preview,
    "gemini-3-flash-preview",
    "2026-01-10",
    [0.5, 3.0, 0.0, 0.0, 0.05]
);
family!(qwen3_coder_plus_by_prompt_length, "qwen3-coder-plus", "2025-10-01", [1.0, 5.0, 1.25, 1.25, 0.2],
    tier 32_000 => [1.8, 9.0, 2.25, 2.25, 0.36],
    tier 128_000 => [3.0, 15.0, 3.75, 3.75, 0.6],
    tier 256_000 => [6.0, 60.0, 7.5, 7.5, 1.2]);
family!(qwen3_coder_flash_by_prompt_length, "qwen3-coder-flash-2025-07-28", "2025-10-01",
    [0.3, 1.5, 0.375, 0.375, 0.06],
    tier 32_000 => [0.5, 2.5, 0.625, 0.625, 0.1],
    tier 128_000 => [0.8, 4.0, 1.0, 1.0, 0.16],
    tier 256_000 => [1.6, 9.6, 2.0, 2.0, 0.32]);
family!(glm_4_7, "glm-4.7", "2026-01-10", GLM_4_X);
family!(
    glm_4_7_as_openrouter_names_it,
    "z-ai/GLM-4.7",
    "2026-01-10",
    GLM_4_X
);
family!(glm_4_6, "glm-4.6", "2025-11-01", GLM_4_X);
family!(glm_4_5, "glm-4.5", "2025-08-10", GLM_4_X);
family!(
    glm_4_5_air,
    "glm-4.5-air",
    "2025-08-10",
    [0.2, 1.1, 0.0, 0.0, 0.03]
);
family!(glm_5, "glm-5", "2026-03-01", [1.0, 3.2, 0.0, 0.0, 0.2]);
family!(
    glm_4_7_flash_is_free,
    "glm-4.7-flash",
    "2026-03-01",
    [0.0; 5]
);
family!(kimi_k2, "kimi-k2-0905-preview", "2025-10-01", KIMI_K2);
family!(
    kimi_k2_5,
    "kimi-k2.5",
    "2026-03-01",
    [0.6, 3.0, 0.0, 0.0, 0.1]
);
family!(
    kimi_k2_thinking,
    "moonshotai/kimi-k2-thinking",
    "2025-12-01",
    KIMI_K2
);
family!(minimax_m2, "MiniMax-M2", "2025-11-20", MINIMAX_M2);
family!(minimax_m2_1, "MiniMax-M2.1", "2026-01-10", MINIMAX_M2);
family!(
    deepseek_chat_after_the_night_discount_ended,
    "deepseek-chat",
    "2025-09-06",
    [0.56, 1.68, 0.0, 0.0, 0.07]
);
family!(
    deepseek_reasoner_until_the_v3_2_cut,
    "deepseek-reasoner",
    "2025-09-28",
    [0.56, 1.68, 0.0, 0.0, 0.07]
);

/// The cost of one request of `model` with 1,000,000 input tokens on `day`, or `None`
/// unpriced.
fn input_cost(model: &str, day: &str) -> Option<f64> {
    let s = Scratch::new();
    write_session(
        &s,
        "s",
        &[line("m", day, model, usage([1_000_000, 0, 0, 0, 0]))],
    );
    cost_of(&day_report(&s, day, &[]))
}

/// DeepSeek priced by time of day until 2025-09-05 16:00 UTC, and cut its prices again with
/// V3.2 on 2025-09-29: days the ledger cannot price by one rate stay unpriced.
#[test]
fn deepseek_is_priced_only_on_the_days_one_rate_covers() {
    assert_eq!(
        input_cost("deepseek-chat", "2025-09-04"),
        None,
        "night discount"
    );
    assert_eq!(
        input_cost("deepseek-chat", "2025-09-05"),
        None,
        "changed at 16:00"
    );
    assert_eq!(input_cost("deepseek-chat", "2025-09-06"), Some(0.56));
    assert_eq!(input_cost("deepseek-chat", "2025-09-28"), Some(0.56));
    assert_eq!(input_cost("deepseek-chat", "2025-09-29"), None, "V3.2");
}

/// Models without an official price stay unpriced and named, never priced as a neighbour
/// (a turbo variant is not its base model, a later version not its predecessor).
#[test]
fn other_agents_models_without_a_price_stay_unpriced() {
    for model in [
        "kimi-k2-turbo-preview",
        "glm-5.1",
        "gpt-5.2-pro",
        "gemini-2.0-flash",
        "MiniMax-M2.5",
        "qwen3-coder-next",
        "o3",
    ] {
        let s = Scratch::new();
        write_session(
            &s,
            "s",
            &[line("m", "2026-06-01", model, usage([1_000, 0, 0, 0, 0]))],
        );
        let report = day_report(&s, "2026-06-01", &[]);
        assert_eq!(
            report["totals"]["unpricedModels"],
            serde_json::json!([model]),
            "{model}: {report}"
        );
    }
}

/// The cost of one fast request of 1,000,000 input tokens on `day`, or `None` unpriced.
fn fast_cost(model: &str, day: &str) -> Option<f64> {
    let s = Scratch::new();
    let mut u = usage([1_000_000, 0, 0, 0, 0]);
    u["speed"] = "fast".into();
    write_session(&s, "s", &[line("m", day, model, u)]);
    cost_of(&day_report(&s, day, &[]))
}

#[test]
fn fast_mode_by_model_and_day() {
    assert_eq!(fast_cost("claude-opus-4-6", "2026-04-01"), Some(30.0));
    assert_eq!(fast_cost("claude-opus-4-7", "2026-07-23"), Some(30.0));
    assert_eq!(
        fast_cost("claude-opus-4-7", "2026-07-24"),
        None,
        "fast mode ended"
    );
    assert_eq!(fast_cost("claude-opus-4-8", "2026-11-29"), Some(10.0));
    assert_eq!(
        fast_cost("claude-opus-4-8", "2026-11-30"),
        None,
        "fast mode ended"
    );
    assert_eq!(fast_cost("claude-opus-5", "2026-09-01"), Some(10.0));
    assert_eq!(fast_cost("claude-opus-5-5", "2026-11-20"), Some(8.0));
    assert_eq!(
        fast_cost("claude-haiku-4-5", "2026-01-05"),
        None,
        "no fast mode"
    );
}

/// OpenAI's Priority processing (Codex's fast service tier): a request the ledger marks
/// fast is billed at the priority rates the page lists, 2x on the GPT-5 models, 1.8x on
/// GPT-5 mini, 1.75x on GPT-4.1; a model the page does not list has no known fast price.
#[test]
fn openai_priority_processing_by_model() {
    let day = "2026-01-10";
    assert_eq!(fast_cost("openai/gpt-5-codex", day), Some(2.5));
    assert_eq!(fast_cost("gpt-5.2", day), Some(3.5));
    let mini = fast_cost("gpt-5-mini", day).unwrap();
    assert!((mini - 0.45).abs() < 1e-9, "{mini}");
    assert_eq!(fast_cost("gpt-4.1", day), Some(3.5));
    assert_eq!(fast_cost("gpt-5-nano", day), None, "not on the page");
}

#[test]
fn fast_mode_above_the_tier_multiplies_the_tier_rates() {
    let s = Scratch::new();
    let mut u = usage([150_000, 10_000, 0, 0, 60_000]);
    u["speed"] = "fast".into();
    write_session(&s, "s", &[line("m", "2026-03-01", "claude-opus-4-6", u)]);
    let cost = cost_of(&day_report(&s, "2026-03-01", &[])).unwrap();
    let by_hand =
        6.0 * (per_million(150_000, 10.0) + per_million(10_000, 37.5) + per_million(60_000, 1.0));
    assert!((cost - by_hand).abs() < 1e-9, "{cost} != {by_hand}");
}

#[test]
fn us_only_inference_costs_a_tenth_more_on_4_6_and_later() {
    let s = Scratch::new();
    let geo = |model: &str, message: &str, geo: &str| {
        let mut u = usage([1_000_000, 0, 0, 0, 0]);
        u["inference_geo"] = geo.into();
        line(message, "2026-05-01", model, u)
    };
    write_session(
        &s,
        "s",
        &[
            geo("claude-opus-4-6", "a", "us"),
            geo("claude-opus-4-6", "b", "global"),
            geo("claude-haiku-4-5", "c", "us"),
        ],
    );
    let cost = cost_of(&day_report(&s, "2026-05-01", &[])).unwrap();
    assert!((cost - (5.5 + 5.0 + 1.0)).abs() < 1e-9, "{cost}");
}

#[test]
fn web_searches_cost_ten_dollars_a_thousand() {
    let s = Scratch::new();
    let mut u = usage([0, 0, 0, 0, 0]);
    u["server_tool_use"] = serde_json::json!({"web_search_requests": 7, "web_fetch_requests": 2});
    write_session(&s, "s", &[line("m", "2026-05-01", "claude-sonnet-4-6", u)]);
    let cost = cost_of(&day_report(&s, "2026-05-01", &[])).unwrap();
    assert!((cost - 0.07).abs() < 1e-12, "{cost}");
}

#[test]
fn cloud_and_suffixed_ids_resolve_to_their_family() {
    let s = Scratch::new();
    let ids = [
        "claude-sonnet-4-5-20250929",
        "claude-sonnet-4-5@20250929",
        "anthropic.claude-sonnet-4-5-20250929-v1:0",
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "eu.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "claude-sonnet-4-5[1m]",
        "claude-sonnet-4-5-latest",
    ];
    let lines: Vec<String> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            line(
                &format!("m{i}"),
                "2026-01-05",
                id,
                usage([100_000, 0, 0, 0, 0]),
            )
        })
        .collect();
    // And one id that resolves to nothing: unpriced, never priced as a neighbour.
    let mut all = lines.clone();
    all.push(line(
        "x",
        "2026-01-05",
        "claude-sonnet-9",
        usage([1_000_000, 0, 0, 0, 0]),
    ));
    write_session(&s, "s", &all);
    let report = day_report(&s, "2026-01-05", &[]);
    let totals = &report["totals"];
    let cost = totals["totalCost"].as_f64().unwrap();
    assert!((cost - 0.3 * ids.len() as f64).abs() < 1e-9, "{cost}");
    assert_eq!(
        totals["unpricedModels"],
        serde_json::json!(["claude-sonnet-9"])
    );
    // Marked on the day's row too, not only in the totals.
    assert_eq!(
        report["daily"][0]["unpricedModels"],
        serde_json::json!(["claude-sonnet-9"])
    );
}

/// Every view marks a row whose cost leaves a model out: JSON `unpricedModels` on the
/// row, CSV its `unpriced_models` column, the table `+?`.
#[test]
fn unpriced_is_marked_on_every_row_in_every_format() {
    let s = Scratch::new();
    write_session(
        &s,
        "s",
        &[
            line(
                "a",
                "2026-01-05",
                "claude-sonnet-4-5",
                usage([1_000, 0, 0, 0, 0]),
            ),
            line(
                "b",
                "2026-01-05",
                "claude-unknown-1",
                usage([1_000, 0, 0, 0, 0]),
            ),
        ],
    );
    for view in [
        "daily", "weekly", "monthly", "session", "blocks", "projects",
    ] {
        let out = s.cmd().args([view, "--json"]).assert().success();
        let report = json(&out.get_output().stdout);
        let rows = report
            .as_object()
            .unwrap()
            .iter()
            .find(|(k, _)| *k != "totals")
            .map(|(_, v)| v.as_array().unwrap().clone())
            .unwrap();
        let row = rows
            .iter()
            .find(|r| r["isGap"] != Value::Bool(true))
            .unwrap();
        assert_eq!(
            row["unpricedModels"],
            serde_json::json!(["claude-unknown-1"]),
            "{view}: {row}"
        );
        let csv = s.cmd().args([view, "--csv"]).assert().success();
        let csv = String::from_utf8(csv.get_output().stdout.clone()).unwrap();
        let mut lines = csv.lines();
        assert!(
            lines.next().unwrap().ends_with(",unpriced_models"),
            "{view}: {csv}"
        );
        assert!(
            lines.next().unwrap().ends_with(",claude-unknown-1"),
            "{view}: {csv}"
        );
        let table = s.cmd().arg(view).assert().success();
        let table = String::from_utf8(table.get_output().stdout.clone()).unwrap();
        assert!(table.contains("+?"), "{view}: {table}");
    }
}

#[test]
fn prices_lists_periods_tiers_multipliers_and_sources() {
    let s = Scratch::new();
    let out = s.cmd().args(["prices", "--json"]).assert().success();
    let listed = json(&out.get_output().stdout);
    let family = |name: &str| common::price_family(&listed, name);
    let sonnet_5_5 = family("claude-sonnet-5-5");
    assert_eq!(sonnet_5_5["periods"][0]["until"], "2026-10-07");
    assert_eq!(sonnet_5_5["periods"][1]["from"], "2026-10-07");
    assert_eq!(sonnet_5_5["periods"][1]["cacheRead"], 0.1);
    let haiku = family("claude-haiku-5-5");
    assert_eq!(haiku["periods"][0]["tiers"][0]["above"], 100_000);
    let qwen = &family("qwen3-coder-plus")["periods"][0]["tiers"];
    let thresholds: Vec<&Value> = qwen
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["above"])
        .collect();
    assert_eq!(thresholds, [32_000, 128_000, 256_000]);
    assert_eq!(qwen[2]["output"], 60.0);
    assert_eq!(family("gpt-5-mini")["periods"][0]["fastMultiplier"], 1.8);
    assert_eq!(family("deepseek-chat")["periods"][0]["until"], "2025-09-29");
    let opus = family("claude-opus-4-8");
    assert_eq!(opus["periods"][0]["fastMultiplier"], 2.0);
    assert_eq!(opus["periods"][0]["geoMultipliers"]["us"], 1.1);
    assert_eq!(opus["periods"][0]["webSearchPer1k"], 10.0);
    assert_eq!(opus["periods"][0]["source"], "built-in");
    let table = s.cmd().arg("prices").assert().success();
    let table = String::from_utf8(table.get_output().stdout.clone()).unwrap();
    assert!(
        table.contains("claude-haiku-5-5") && table.contains("└ above 100,000"),
        "{table}"
    );
    assert!(table.contains("..2026-10-07"), "{table}");
    // Each tier on its own line, its rates in the rate columns.
    for tier in ["above 32,000", "above 128,000", "above 256,000"] {
        assert!(table.contains(tier), "{table}");
    }
    let lines: Vec<&str> = table.lines().collect();
    let plus = lines
        .iter()
        .position(|l| l.starts_with("qwen3-coder-plus"))
        .unwrap();
    let top = lines[plus + 3];
    let rates: Vec<&str> = top.split_whitespace().skip(3).collect();
    assert_eq!(rates[..2], ["6", "60"], "{table}");
}

fn litellm_fixture() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/litellm/model_prices_claude.json")
}

#[test]
fn import_adds_the_claude_models_the_table_lacks() {
    let s = Scratch::new();
    let user_file = s.dir.path().join("config/cco-stats/prices.toml");
    let out = s
        .cmd()
        .args(["prices", "--import"])
        .arg(litellm_fixture())
        .assert()
        .success();
    let said = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    // LiteLLM 1.110.2's Anthropic entries are all in the built-in table but this one.
    assert_eq!(said.lines().count(), 1, "{said}");
    assert!(said.contains("claude-mythos-preview"), "{said}");
    let written = std::fs::read_to_string(&user_file).unwrap();
    assert!(
        written.contains("[[models.claude-mythos-preview]]"),
        "{written}"
    );

    // The imported model is priced from then on, and says where its price comes from.
    write_session(
        &s,
        "s",
        &[line(
            "m",
            "2026-11-01",
            "claude-mythos-preview",
            usage([1_000_000, 0, 0, 0, 0]),
        )],
    );
    let cost = cost_of(&day_report(&s, "2026-11-01", &[])).unwrap();
    assert!((cost - 10.0).abs() < 1e-9, "{cost}");

    // Importing again adds nothing and leaves the file as it is.
    s.cmd()
        .args(["prices", "--import"])
        .arg(litellm_fixture())
        .assert()
        .success()
        .stdout("");
    assert_eq!(std::fs::read_to_string(&user_file).unwrap(), written);
}

#[test]
fn import_of_garbage_changes_nothing_and_names_the_entry() {
    let s = Scratch::new();
    let user_file = s.dir.path().join("prices.toml");
    let mine = "# my prices\n[models.claude-mine-1]\ninput = 1\noutput = 2\ncache_write_5m = 1.25\ncache_write_1h = 2\ncache_read = 0.1\n";
    std::fs::write(&user_file, mine).unwrap();
    let bad = s.dir.path().join("bad.json");
    for (text, expected) in [
        ("this is not json", "not a JSON file"),
        (
            r#"{"claude-new-9": {"litellm_provider": "anthropic", "input_cost_per_token": 1e-06}}"#,
            "entry \"claude-new-9\": no output_cost_per_token",
        ),
        (
            r#"{"claude-new-9": {"litellm_provider": "anthropic", "input_cost_per_token": -1e-06, "output_cost_per_token": 1e-06}}"#,
            "cannot be negative",
        ),
    ] {
        std::fs::write(&bad, text).unwrap();
        let out = s
            .cmd()
            .arg("--prices")
            .arg(&user_file)
            .args(["prices", "--import"])
            .arg(&bad)
            .assert()
            .code(2);
        let err = common::stderr(out.get_output());
        assert!(err.contains(expected) && err.contains("bad.json"), "{err}");
        assert_eq!(std::fs::read_to_string(&user_file).unwrap(), mine);
    }
    let leftovers: Vec<_> = std::fs::read_dir(s.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_user_period_covers_the_built_in_rates_for_its_dates_only() {
    let s = Scratch::new();
    let user_file = s.dir.path().join("prices.toml");
    std::fs::write(
        &user_file,
        "[[models.claude-haiku-4-5]]\nfrom = \"2026-06-01\"\ninput = 2\noutput = 5\ncache_write_5m = 1.25\ncache_write_1h = 2\ncache_read = 0.1\n",
    )
    .unwrap();
    let lines = [
        line(
            "a",
            "2026-05-31",
            "claude-haiku-4-5",
            usage([1_000_000, 0, 0, 0, 0]),
        ),
        line(
            "b",
            "2026-06-01",
            "claude-haiku-4-5",
            usage([1_000_000, 0, 0, 0, 0]),
        ),
    ];
    write_session(&s, "s", &lines);
    let prices = ["--prices", user_file.to_str().unwrap()];
    let before = cost_of(&day_report(&s, "2026-05-31", &prices)).unwrap();
    let after = cost_of(&day_report(&s, "2026-06-01", &prices)).unwrap();
    assert!(
        (before - 1.0).abs() < 1e-9 && (after - 2.0).abs() < 1e-9,
        "{before} {after}"
    );
}

/// A price file with a tier at a threshold the ledger has never seen: the aggregates
/// learn it, and a request between the old and new thresholds is billed at the tier.
#[test]
fn a_new_tier_threshold_is_learned_and_priced_exactly() {
    let s = Scratch::new();
    let user_file = s.dir.path().join("prices.toml");
    std::fs::write(
        &user_file,
        "[models.claude-tiered-1]\ninput = 1\noutput = 1\ncache_write_5m = 1\ncache_write_1h = 1\ncache_read = 1\n\
         tier = { above = 150000, input = 3, output = 3, cache_write_5m = 3, cache_write_1h = 3, cache_read = 3 }\n",
    )
    .unwrap();
    write_session(
        &s,
        "s",
        &[
            line(
                "a",
                "2026-05-01",
                "claude-tiered-1",
                usage([160_000, 0, 0, 0, 0]),
            ),
            line(
                "b",
                "2026-05-01",
                "claude-tiered-1",
                usage([140_000, 0, 0, 0, 0]),
            ),
        ],
    );
    // Ingested and merged before the price file is known.
    s.once();
    let prices = ["--prices", user_file.to_str().unwrap()];
    let cost = cost_of(&day_report(&s, "2026-05-01", &prices)).unwrap();
    assert!((cost - (0.48 + 0.14)).abs() < 1e-9, "{cost}");
}

/// A price file's tiers by prompt length (Qwen's shape): each request is billed whole at
/// the highest tier its input side is above, and the id an agent writes (a provider prefix,
/// capitals, a version dot) resolves to the family.
#[test]
fn a_user_family_with_tiers_by_prompt_length_and_a_prefixed_id() {
    let s = Scratch::new();
    let user_file = s.dir.path().join("prices.toml");
    std::fs::write(
        &user_file,
        "[models.acme-coder-1-5]\ninput = 1\noutput = 0\ncache_write_5m = 0\ncache_write_1h = 0\ncache_read = 0.5\n\
         tier = [\n\
           { above = 32000, input = 2, output = 0, cache_write_5m = 0, cache_write_1h = 0, cache_read = 1 },\n\
           { above = 128000, input = 3, output = 0, cache_write_5m = 0, cache_write_1h = 0, cache_read = 1.5 },\n\
         ]\n",
    )
    .unwrap();
    let model = "acme/ACME-Coder-1.5";
    let lines = [
        line("a", "2026-05-01", model, usage([30_000, 0, 0, 0, 2_000])),
        line("b", "2026-05-01", model, usage([30_000, 0, 0, 0, 2_001])),
        line("c", "2026-05-01", model, usage([100_000, 0, 0, 0, 28_000])),
        line("d", "2026-05-01", model, usage([100_000, 0, 0, 0, 28_001])),
    ];
    write_session(&s, "s", &lines);
    let prices = ["--prices", user_file.to_str().unwrap()];
    let cost = cost_of(&day_report(&s, "2026-05-01", &prices)).unwrap();
    let by_hand = (30_000.0 * 1.0 + 2_000.0 * 0.5)
        + (30_000.0 * 2.0 + 2_001.0 * 1.0)
        + (100_000.0 * 2.0 + 28_000.0 * 1.0)
        + (100_000.0 * 3.0 + 28_001.0 * 1.5);
    assert!(
        (cost - by_hand / 1e6).abs() < 1e-9,
        "{cost} != {by_hand}e-6"
    );
}

/// A user's family written as the provider names the model (capitals, a version dot) is
/// the family the agents' ids resolve to, so its periods come before the built-in ones.
#[test]
fn a_user_family_named_as_the_provider_writes_it_covers_the_built_in_one() {
    let s = Scratch::new();
    let user_file = s.dir.path().join("prices.toml");
    std::fs::write(
        &user_file,
        "[[models.\"GPT-5.1\"]]\nfrom = \"2026-06-01\"\ninput = 100\noutput = 0\ncache_write_5m = 0\ncache_write_1h = 0\ncache_read = 0\n",
    )
    .unwrap();
    let lines = [
        line(
            "a",
            "2026-05-31",
            "openai/gpt-5.1",
            usage([1_000_000, 0, 0, 0, 0]),
        ),
        line(
            "b",
            "2026-06-01",
            "openai/gpt-5.1",
            usage([1_000_000, 0, 0, 0, 0]),
        ),
    ];
    write_session(&s, "s", &lines);
    let prices = ["--prices", user_file.to_str().unwrap()];
    let before = cost_of(&day_report(&s, "2026-05-31", &prices)).unwrap();
    let after = cost_of(&day_report(&s, "2026-06-01", &prices)).unwrap();
    assert!(
        (before - 1.25).abs() < 1e-9 && (after - 100.0).abs() < 1e-9,
        "{before} {after}"
    );
}

/// A LiteLLM key that closes the table header and opens another: written as text, it
/// priced Sonnet 4.5 at $0. It is refused, the price file is not written, and the
/// built-in price stands.
#[test]
fn an_import_key_cannot_write_its_own_toml() {
    let s = Scratch::new();
    let user_file = s.dir.path().join("config/cco-stats/prices.toml");
    let key = "claude-evil-1]]\ninput = 0\noutput = 0\ncache_write_5m = 0\n\
               cache_write_1h = 0\ncache_read = 0\n[[models.claude-sonnet-4-5]]\n#";
    let entry = serde_json::json!({
        "litellm_provider": "anthropic", "mode": "chat",
        "input_cost_per_token": 0.0, "output_cost_per_token": 0.0,
    });
    let list = s.dir.path().join("litellm.json");
    std::fs::write(&list, serde_json::json!({ key: entry }).to_string()).unwrap();
    let out = s
        .cmd()
        .args(["prices", "--import"])
        .arg(&list)
        .output()
        .unwrap();
    let err = common::stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("not a plausible model id"), "{err}");
    assert!(!user_file.exists(), "nothing is written");

    write_session(
        &s,
        "s",
        &[line(
            "m",
            "2026-11-01",
            "claude-sonnet-4-5-20250929",
            usage([100_000, 0, 0, 0, 0]),
        )],
    );
    let cost = cost_of(&day_report(&s, "2026-11-01", &[])).unwrap();
    assert!(
        (cost - 0.3).abs() < 1e-9,
        "Sonnet 4.5 at its built-in $3/M: {cost}"
    );
}

/// The price file's temporary name was `.prices.toml.<pid>.tmp`: a link planted there
/// is not followed, and the price file is a file of its own.
#[test]
fn an_import_never_writes_through_a_planted_link() {
    let s = Scratch::new();
    let victim = s.dir.path().join("victim");
    std::fs::write(&victim, "the user's own file\n").unwrap();
    std::fs::write(s.dir.path().join("prices.toml"), "# mine\n").unwrap();
    let script = "cd \"$0\" && ln -s victim .prices.toml.$$.tmp && exec \"$@\"";
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(s.dir.path())
        .arg(common::BIN)
        .args(["--prices", "prices.toml", "prices", "--import"])
        .arg(litellm_fixture())
        .env("HOME", s.dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "the user's own file\n"
    );
    let written = s.dir.path().join("prices.toml");
    assert!(std::fs::symlink_metadata(&written).unwrap().is_file());
    assert!(
        std::fs::read_to_string(&written)
            .unwrap()
            .contains("claude-mythos-preview")
    );
}
