//! Property tests that fuzz the stages which meet hostile bytes: the line parser, the
//! tailer (random appends, cuts and truncations), the dedup rules (copies of one
//! response in any order), and the whole binary (lines whose numbers and times sit at
//! the edges of i64, u64, f64 and the calendar: `once` and every report keep working and
//! agree on the good lines' totals; a case there runs the binary, so it gets a hundredth
//! of the cases, at least 12). `make test` runs a few hundred cases each; `make fuzz` runs
//! them with many more (`PROPTEST_CASES`), and any failure proptest finds is kept in
//! `proptest-regressions/` and replayed by every later run.
//!
//! Why not cargo-fuzz: it needs a nightly toolchain, and a fresh machine here has only
//! the stable one.

mod common;

use std::io::Write;
use std::ops::ControlFlow;

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

use cco_stats::ingest::tail::read_lines;
use cco_stats::ledger::batch::Rank;
use cco_stats::ledger::dedup::{Decision, Stored, decide};
use cco_stats::limits::{EARLIEST_MS, END_MS, MAX_COST_USD, MAX_COUNT, admit};
use cco_stats::model::{Parsed, Record, Tokens};
use cco_stats::sources::claude::parse::parse_line;
use serde_json::{Value, json};

/// A complete assistant line with the given values, as Claude Code writes it.
fn assistant_line(
    message: &str,
    request: &str,
    model: &str,
    ms: i64,
    t: [u32; 5],
    text: &str,
) -> String {
    let ts = jiff::Timestamp::from_millisecond(ms).unwrap();
    serde_json::json!({
        "type": "assistant", "timestamp": ts.to_string(), "requestId": request,
        "isSidechain": false, "sessionId": "s", "cwd": "/w",
        "message": {"id": message, "model": model, "content": [{"type": "text", "text": text}],
            "usage": {"input_tokens": t[0], "output_tokens": t[1],
                "cache_creation_input_tokens": u64::from(t[2]) + u64::from(t[3]), "cache_read_input_tokens": t[4],
                "cache_creation": {"ephemeral_5m_input_tokens": t[2], "ephemeral_1h_input_tokens": t[3]}}}
    })
    .to_string()
}

/// A transcript line: a JSON object (as Claude Code writes), or garbage without braces
/// (so it is never a complete JSON object on its own).
fn line_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::collection::btree_map("[a-z]{1,8}", "[a-z0-9 ]{0,400}", 0..6)
            .prop_map(|map| serde_json::to_string(&map).unwrap()),
        "[a-z\":0-9 ]{0,300}",
    ]
}

proptest! {
    // The seeds of failures found so far, replayed before new cases (the default looks
    // for them beside src/lib.rs, which a test target does not have).
    #![proptest_config(ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/properties.proptest-regressions",
        ))),
        ..ProptestConfig::default()
    })]

    /// Whatever the bytes, the parser answers (never panics) and never bills a line that
    /// does not mention usage.
    #[test]
    fn parser_survives_any_bytes(line in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let parsed = parse_line(&line);
        if memchr::memmem::find(&line, b"\"usage\"").is_none() {
            prop_assert_eq!(parsed, Parsed::Other);
        }
    }

    /// Damaging a valid line anywhere (a cut, a flipped byte) never panics, and a line that
    /// still parses bills exactly what it says.
    #[test]
    fn parser_survives_damaged_lines(
        t in proptest::array::uniform5(any::<u32>()),
        ms in EARLIEST_MS..4_000_000_000_000,
        text in "\\PC{0,40}",
        cut in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let line = assistant_line("msg_1", "req_1", "claude-sonnet-4-5", ms, t, &text);
        let Parsed::Billable(record) = parse_line(line.as_bytes()) else {
            return Err(TestCaseError::fail(format!("a valid line was not billable: {line}")));
        };
        prop_assert_eq!(record.ts_ms, ms);
        prop_assert_eq!(record.tokens, Tokens {
            input: t[0].into(), output: t[1].into(), cache_write_5m: t[2].into(),
            cache_write_1h: t[3].into(), cache_read: t[4].into(),
        });
        let mut damaged = line.clone().into_bytes();
        damaged.truncate(cut.index(damaged.len() + 1));
        let _ = parse_line(&damaged);
        let mut flipped = line.into_bytes();
        let at = flip.index(flipped.len());
        flipped[at] = byte;
        let _ = parse_line(&flipped);
    }

    /// A time before 2000 is damage: the line is skipped, never stored with a time whose
    /// bucket SQL and Rust would work out differently.
    #[test]
    fn times_before_2000_are_skipped(ms in -4_000_000_000_000i64..EARLIEST_MS) {
        let line = assistant_line("msg_1", "req_1", "claude-sonnet-4-5", ms, [1, 2, 3, 4, 5], "");
        prop_assert!(matches!(admit(parse_line(line.as_bytes())), Parsed::Skipped(_)));
    }

    /// A file written in random pieces (cut anywhere) and read from the stored offset after
    /// each piece yields each of its lines once, in order: a JSON line may be handed out
    /// before its `\n` arrives (it is complete), garbage never is, and lines longer than
    /// the limit are reported as such.
    #[test]
    fn tailer_reads_every_line_once_whatever_the_cuts(
        lines in proptest::collection::vec(line_strategy(), 0..40),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..10),
        max_line in 64usize..4096,
    ) {
        let content: Vec<u8> = lines.iter().flat_map(|l| format!("{l}\n").into_bytes()).collect();
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(content.len() + 1)).collect();
        points.push(content.len());
        points.sort_unstable();

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        let mut out = std::fs::File::create(&path).unwrap();
        let (mut written, mut offset) = (0, 0u64);
        let mut seen: Vec<(Vec<u8>, bool)> = Vec::new();
        let mut buf = Vec::new();
        for point in points {
            out.write_all(&content[written..point]).unwrap();
            written = point;
            let mut file = std::fs::File::open(&path).unwrap();
            read_lines(&mut file, offset, max_line, &mut buf, |line| {
                assert_eq!(line.start, offset, "lines follow each other");
                offset = line.end;
                seen.push((line.bytes.to_vec(), line.too_long));
                ControlFlow::<()>::Continue(())
            }).unwrap();
        }
        prop_assert_eq!(offset, content.len() as u64);
        // An early JSON line leaves its `\n` as an empty line: empties carry nothing.
        let seen: Vec<_> = seen.into_iter().filter(|(b, too_long)| !b.is_empty() || *too_long).collect();
        let expected: Vec<(Vec<u8>, bool)> = lines
            .iter()
            .filter(|l| !l.is_empty())
            .map(|l| if l.len() > max_line { (vec![], true) } else { (l.as_bytes().to_vec(), false) })
            .collect();
        prop_assert_eq!(seen, expected);
    }

    /// Copies of one response, in any order, leave exactly the best one by rule 3: the
    /// one with a `stop_reason`, then the largest, then the highest costUSD, then the one
    /// with speed.
    #[test]
    fn copies_of_one_response_keep_the_best_in_any_order(
        copies in proptest::collection::vec(
            (0u64..20, proptest::option::of(0u8..3), any::<bool>(), any::<bool>()), 1..8),
    ) {
        let copies: Vec<Record> = copies.iter().map(|&(output, cost, speed, stopped)| Record {
            ts_ms: 0, line_session_id: None, cwd: None, model: None,
            message_id: Some("m".into()), request_id: Some("r".into()), is_sidechain: false,
            speed: speed.then(|| "fast".to_string()), inference_geo: None,
            tokens: Tokens { output, ..Tokens::default() },
            web_search: 0, cost_usd: cost.map(|c| f64::from(c) / 100.0), version: None,
            stopped,
            ..Record::default()
        }).collect();
        let mut stored: Vec<Stored> = Vec::new();
        for copy in &copies {
            match decide(copy, &stored) {
                Decision::Insert => stored.push(Stored {
                    id: 1, request_id: copy.request_id.clone(), is_sidechain: false,
                    rank: Rank::of(copy), agent: copy.agent,
                }),
                Decision::Replace(_) => stored[0].rank = Rank::of(copy),
                Decision::Keep => {}
            }
        }
        prop_assert_eq!(stored.len(), 1);
        let kept = stored[0].rank;
        for copy in &copies {
            prop_assert!(Rank::of(copy) <= kept, "{:?} beats the kept {:?}", Rank::of(copy), kept);
        }
    }

    /// A response and its sidechain replays, in any order, leave the response.
    #[test]
    fn sidechain_replays_never_win(replays in 1usize..5, position in any::<prop::sample::Index>()) {
        let mut arrivals: Vec<(String, bool)> = (0..replays).map(|i| (format!("side{i}"), true)).collect();
        arrivals.insert(position.index(replays + 1), ("main".to_string(), false));
        let mut stored: Vec<Stored> = Vec::new();
        for (request, sidechain) in &arrivals {
            let record = Record {
                ts_ms: 0, line_session_id: None, cwd: None, model: None,
                message_id: Some("m".into()), request_id: Some(request.clone()),
                is_sidechain: *sidechain, speed: None, inference_geo: None,
                tokens: Tokens { output: 5, ..Tokens::default() },
                web_search: 0, cost_usd: None, version: None, stopped: false,
                ..Record::default()
            };
            let as_stored = Stored {
                id: 1, request_id: Some(request.clone()), is_sidechain: *sidechain,
                rank: Rank { stopped: false, total: 5, cost_usd: None, has_speed: false },
                agent: record.agent,
            };
            match decide(&record, &stored) {
                Decision::Insert => stored.push(as_stored),
                Decision::Replace(_) => stored[0] = as_stored,
                Decision::Keep => {}
            }
        }
        prop_assert_eq!(stored.len(), 1);
        prop_assert_eq!(stored[0].request_id.as_deref(), Some("main"));
    }
}

/// A JSON number at or near an edge: of the count limit, of i64 and u64, of f64, and
/// numbers that are no count at all (negative, fractional).
fn edge_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        (0u64..1_000_000).prop_map(Value::from),
        Just(Value::from(MAX_COUNT)),
        Just(Value::from(MAX_COUNT + 1)),
        Just(Value::from(i64::MAX)),
        Just(Value::from(i64::MAX as u64 + 1)),
        Just(Value::from(u64::MAX)),
        Just(Value::from(-1)),
        Just(Value::from(i64::MIN)),
        Just(Value::from(1.5)),
        Just(Value::from(f64::MAX)),
        Just(Value::from(-0.0)),
        Just(Value::from(1e-300)),
    ]
}

/// A `costUSD`: absent, ordinary, or at an edge of the limit or of f64.
fn edge_cost() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        Just(None),
        (0u32..100_000).prop_map(|c| Some(Value::from(f64::from(c) / 100.0))),
        Just(Some(Value::from(MAX_COST_USD))),
        Just(Some(Value::from(MAX_COST_USD + 1e-9))),
        Just(Some(Value::from(-0.01))),
        Just(Some(Value::from(-1e6))),
        Just(Some(Value::from(1e308))),
        Just(Some(Value::from(f64::MIN_POSITIVE))),
        Just(Some(Value::from(u64::MAX))),
        Just(Some(Value::from("0.5"))),
    ]
}

/// A `timestamp`: inside the limits (their very edges too), just outside them, at the
/// ends of what jiff can name, or no time.
fn edge_time() -> impl Strategy<Value = String> {
    fn iso(ms: i64) -> String {
        jiff::Timestamp::from_millisecond(ms).unwrap().to_string()
    }
    prop_oneof![
        (EARLIEST_MS..END_MS).prop_map(iso),
        Just(iso(EARLIEST_MS)),
        Just(iso(END_MS - 1)),
        Just(iso(EARLIEST_MS - 1)),
        Just(iso(END_MS)),
        Just("9999-12-30T12:00:00Z".to_string()),
        Just("9999-12-31T23:59:59.999Z".to_string()),
        Just("-009999-01-01T00:00:00Z".to_string()),
        Just("0000-01-01T00:00:00Z".to_string()),
        Just("1970-01-01T00:00:00Z".to_string()),
        Just("2026-02-30T00:00:00Z".to_string()),
    ]
}

/// What a good line adds to every report: input, output, cache read, cost.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Sums {
    input: u64,
    output: u64,
    cache_read: u64,
    cost: f64,
}

/// The limits' rule, stated again from the outside: a count is an integer in
/// 0..=MAX_COUNT, a cost a number in 0..=MAX_COST_USD, a time in [2000, 2100).
fn count_of(v: &Value) -> Option<u64> {
    v.as_u64().filter(|&n| n <= MAX_COUNT)
}

fn good_time(text: &str) -> bool {
    text.parse::<jiff::Timestamp>()
        .is_ok_and(|ts| (EARLIEST_MS..END_MS).contains(&ts.as_millisecond()))
}

/// One response line with the given values (each message id its own, so no two lines
/// are copies of one response), and what it adds if all of them are good.
fn edge_line(
    id: usize,
    time: &str,
    counts: &[Value; 4],
    cost: &Option<Value>,
) -> (String, Option<Sums>) {
    let mut line = json!({
        "type": "assistant", "timestamp": time, "requestId": format!("req_{id}"),
        "sessionId": "s", "cwd": "/w",
        "message": {"id": format!("msg_{id}"), "model": "claude-sonnet-4-5",
            "usage": {"input_tokens": counts[0], "output_tokens": counts[1],
                "cache_read_input_tokens": counts[2],
                "server_tool_use": {"web_search_requests": counts[3]}}}
    });
    if let Some(cost) = cost {
        line["costUSD"] = cost.clone();
    }
    let cost_ok = match cost {
        None => Some(0.0),
        Some(v) => v.as_f64().filter(|c| (0.0..=MAX_COST_USD).contains(c)),
    };
    let [input, output, cache_read, searches] = counts.each_ref().map(count_of);
    let sums = match (input, output, cache_read, searches, cost_ok) {
        (Some(input), Some(output), Some(cache_read), Some(_), Some(cost)) if good_time(time) => {
            Some(Sums {
                input,
                output,
                cache_read,
                cost,
            })
        }
        _ => None,
    };
    (line.to_string(), sums)
}

/// The number of cases of the binary property: a hundredth of `PROPTEST_CASES`, at least 12.
fn binary_cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse::<u32>().ok())
        .map_or(12, |c| (c / 100).max(12))
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: binary_cases(),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/properties.proptest-regressions",
        ))),
        ..ProptestConfig::default()
    })]

    /// Any lines at the edges of the numbers and the calendar, with garbage between them,
    /// in two files: `once` exits 0 (1 only for a file it cannot read), and every report,
    /// in any zone, gives the totals of exactly the lines the limits admit.
    #[test]
    fn edge_values_cost_their_lines_and_every_report_agrees(
        lines in proptest::collection::vec(
            prop_oneof![
                4 => (edge_time(), [edge_number(), edge_number(), edge_number(), edge_number()], edge_cost())
                    .prop_map(Some),
                1 => Just(None),
            ],
            1..14,
        ),
        zone in prop::sample::select(vec!["UTC", "Pacific/Kiritimati", "Etc/GMT+12", "Asia/Kathmandu"]),
    ) {
        let s = common::Scratch::new();
        let mut expected = Sums::default();
        let mut files = [String::new(), String::new()];
        for (i, line) in lines.iter().enumerate() {
            let text = match line {
                Some((time, counts, cost)) => {
                    let (text, sums) = edge_line(i, time, counts, cost);
                    if let Some(sums) = sums {
                        expected.input += sums.input;
                        expected.output += sums.output;
                        expected.cache_read += sums.cache_read;
                        expected.cost += sums.cost;
                    }
                    text
                }
                None => r#"{"type":"assistant","usage":{"input_tokens":"#.to_string(),
            };
            files[i % 2] += &(text + "\n");
        }
        let dir = s.root.join("projects/-w");
        std::fs::create_dir_all(&dir).unwrap();
        for (n, text) in files.iter().enumerate() {
            std::fs::write(dir.join(format!("s{n}.jsonl")), text).unwrap();
        }
        let once = s.cmd().arg("once").output().unwrap();
        prop_assert!(
            matches!(once.status.code(), Some(0 | 1)),
            "once: {}", common::stderr(&once)
        );
        for report in ["daily", "weekly", "monthly", "session", "projects", "models"] {
            let out = s
                .cmd()
                .args([report, "--json", "--no-ingest", "--mode", "display", "--timezone", zone])
                .output()
                .unwrap();
            prop_assert!(out.status.success(), "{} in {}: {}", report, zone, common::stderr(&out));
            let totals = &common::json(&out.stdout)["totals"];
            let got = Sums {
                input: totals["inputTokens"].as_u64().unwrap(),
                output: totals["outputTokens"].as_u64().unwrap(),
                cache_read: totals["cacheReadTokens"].as_u64().unwrap(),
                cost: totals["totalCost"].as_f64().unwrap(),
            };
            prop_assert_eq!(
                (got.input, got.output, got.cache_read),
                (expected.input, expected.output, expected.cache_read),
                "{}", report
            );
            prop_assert!((got.cost - expected.cost).abs() <= 1e-9 * expected.cost.max(1.0), "{} cost {} vs {}", report, got.cost, expected.cost);
        }
    }
}
