//! OpenCode figures (`cargo bench --bench opencode`, part of `make bench`): a generated
//! OpenCode database of `CCO_BENCH_OPENCODE_MESSAGES` messages (100,000) with OpenCode's
//! own schema and the traps of its shape (`corpus::opencode`), read cold by `once`; then
//! the two costs issue 19 sets goals for, each against the same `once` on a ledger with
//! no OpenCode database (medians of paired runs):
//!
//! - no change: `once` with the database unchanged (goal: <= 5 ms more);
//! - 100 messages changed: OpenCode finishes the 50 responses it was streaming (updated
//!   in place, final counts) and starts 50 more (new rows, partial counts) between two
//!   passes (goal: <= 20 ms more).
//!
//! The ledger's totals are checked against the generator's after the cold read, after
//! sessions are deleted in OpenCode, and after the streaming rounds.

#[path = "corpus.rs"]
mod corpus;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rusqlite::{Connection, params};

/// [input, output, reasoning, cache read, cache write] of a message as it grows.
type Counts = [u64; 5];

fn main() {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_cco-stats"));
    let scratch = tempfile::tempdir().expect("a scratch folder");
    let work = scratch.path();
    // SAFETY: no thread has started yet.
    unsafe { corpus::empty_agent_homes(work) }.expect("empty agent homes");
    let without = std::env::var_os("OPENCODE_DATA_DIR").expect("an empty OpenCode home");
    let claude = work.join("claude");
    std::fs::create_dir_all(claude.join("projects")).expect("an empty Claude root");
    let data = work.join("opencode");
    let messages = corpus::env_usize("CCO_BENCH_OPENCODE_MESSAGES", 100_000);
    let started = Instant::now();
    let generated = corpus::opencode(&data, messages, 7).expect("generate the OpenCode db");
    let db_bytes = std::fs::metadata(data.join("opencode.db")).map_or(0, |m| m.len())
        + std::fs::metadata(data.join("opencode.db-wal")).map_or(0, |m| m.len());
    println!(
        "\nopencode: {messages} messages, {} billed, {:.0} MiB database, {} legacy files (generated in {:.1} s)",
        generated.tree.expected.rows,
        db_bytes as f64 / (1 << 20) as f64,
        generated.tree.expected.files.len() - 1,
        started.elapsed().as_secs_f64()
    );
    let cco = |ledger: &Path, opencode: &std::ffi::OsStr, args: &[&str]| {
        let mut cmd = Command::new(&bin);
        cmd.arg("--db")
            .arg(ledger)
            .arg("--source")
            .arg(&claude)
            .args(args)
            .env("OPENCODE_DATA_DIR", opencode);
        cmd
    };
    let (with_db, without_db) = (work.join("with.db"), work.join("without.db"));
    let cold = time(&mut cco(&with_db, data.as_os_str(), &["once"])).0;
    time(&mut cco(&without_db, &without, &["once"]));
    let mut days: BTreeMap<String, [u64; 4]> = generated.tree.expected.days.clone();
    check(
        &cco(&with_db, data.as_os_str(), &[]),
        &days,
        "after the cold read",
    );
    println!("  cold once (fresh ledger)          {:>8.1} ms", cold * 1e3);

    let agent = Connection::open(data.join("opencode.db")).expect("OpenCode's db");
    agent.pragma_update(None, "foreign_keys", "ON").unwrap();
    for session in &generated.deleted {
        agent
            .execute("DELETE FROM session WHERE id = ?1", [session])
            .unwrap();
    }
    time(&mut cco(&with_db, data.as_os_str(), &["once"]));
    check(
        &cco(&with_db, data.as_os_str(), &[]),
        &days,
        &format!(
            "after {} sessions deleted in OpenCode",
            generated.deleted.len()
        ),
    );

    // A database written in the last two seconds is queried again (its time is too
    // recent to trust): the no-change figure is of one that has settled.
    std::thread::sleep(Duration::from_millis(2_500));
    let runs = corpus::env_usize("CCO_BENCH_OPENCODE_RUNS", 21);
    let mut deltas = Vec::new();
    let (mut withs, mut withouts) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let a = time(&mut cco(&with_db, data.as_os_str(), &["once"])).0;
        let b = time(&mut cco(&without_db, &without, &["once"])).0;
        deltas.push(a - b);
        withs.push(a);
        withouts.push(b);
    }
    let unchanged = corpus::median(&mut deltas);
    println!(
        "  no-change once                    {:>8.2} ms with the db, {:.2} ms without: {:+.2} ms (median of paired runs; goal <= +5 ms)",
        corpus::median(&mut withs) * 1e3,
        corpus::median(&mut withouts) * 1e3,
        unchanged * 1e3
    );

    let mut streaming: Vec<(String, String, i64, Counts)> = generated.streaming.clone();
    let mut next = 0u64;
    let (mut deltas, mut withs, mut withouts) = (Vec::new(), Vec::new(), Vec::new());
    let session = "ses_bench_live";
    agent
        .execute(
            "INSERT INTO session (id, project_id, slug, directory, title, version, time_created, time_updated)
             VALUES (?1, 'p1', ?1, '/home/u/app', 'live', '1.2.4', 0, 0)",
            [session],
        )
        .unwrap();
    for round in 0..=runs {
        stream(&agent, &mut streaming, &mut next, session, &mut days);
        let a = time(&mut cco(&with_db, data.as_os_str(), &["once"])).0;
        let b = time(&mut cco(&without_db, &without, &["once"])).0;
        // The first round finishes the generator's few streaming messages, not 50.
        if round > 0 {
            deltas.push(a - b);
            withs.push(a);
            withouts.push(b);
        }
    }
    check(
        &cco(&with_db, data.as_os_str(), &[]),
        &days,
        "after the streaming rounds",
    );
    let changed = corpus::median(&mut deltas);
    println!(
        "  once after 100 messages changed   {:>8.2} ms with the db, {:.2} ms without: {:+.2} ms (median of paired runs; goal <= +20 ms)",
        corpus::median(&mut withs) * 1e3,
        corpus::median(&mut withouts) * 1e3,
        changed * 1e3
    );
    println!("totals: exact (cold, after deleted sessions, after the streaming rounds)");
}

/// One round of OpenCode streaming: the messages it was streaming finish (updated in
/// place: more output, `time.completed`), and 50 new ones start (inserted with partial
/// counts). `days` follows the counts.
fn stream(
    agent: &Connection,
    streaming: &mut Vec<(String, String, i64, Counts)>,
    next: &mut u64,
    session: &str,
    days: &mut BTreeMap<String, [u64; 4]>,
) {
    let now = jiff::Timestamp::now().as_millisecond();
    agent.execute_batch("BEGIN").unwrap();
    for (id, _, created, tokens) in streaming.drain(..) {
        let mut done = tokens;
        done[1] += 100;
        let data = corpus::opencode_message(created, "claude-sonnet-4-20250514", done, true);
        agent
            .execute(
                "UPDATE message SET time_updated = ?2, data = ?3 WHERE id = ?1",
                params![id, now, data],
            )
            .unwrap();
        add(days, created, tokens, false);
        add(days, created, done, true);
    }
    for _ in 0..50 {
        *next += 1;
        let id = format!("msg_live_{next:08}");
        let tokens = [3 + *next % 7, 40, 0, 1_000, 10];
        let data = corpus::opencode_message(now, "claude-sonnet-4-20250514", tokens, false);
        agent
            .execute(
                "INSERT INTO message (id, session_id, time_created, time_updated, data) VALUES (?1, ?2, ?3, ?3, ?4)",
                params![id, session, now, data],
            )
            .unwrap();
        add(days, now, tokens, true);
        streaming.push((id, session.to_string(), now, tokens));
    }
    agent.execute_batch("COMMIT").unwrap();
}

/// Adds (or takes away) a message's counts to its UTC day.
fn add(days: &mut BTreeMap<String, [u64; 4]>, created: i64, t: Counts, plus: bool) {
    let day = corpus::iso(created)[..10].to_string();
    let sums = days.entry(day).or_default();
    for (sum, n) in sums.iter_mut().zip([t[0], t[1] + t[2], t[4], t[3]]) {
        *sum = if plus { *sum + n } else { *sum - n };
    }
}

/// Panics unless the ledger's OpenCode days are `days`.
fn check(cco: &Command, days: &BTreeMap<String, [u64; 4]>, when: &str) {
    let mut cmd = Command::new(cco.get_program());
    cmd.args(cco.get_args())
        .envs(cco.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .args([
            "daily",
            "--json",
            "--no-ingest",
            "--agent",
            "opencode",
            "--timezone",
            "UTC",
        ]);
    let ours = corpus::daily_days(&time(&mut cmd).1);
    let wanted: Vec<(String, [u64; 4])> = days
        .iter()
        .filter(|(_, sums)| sums.iter().any(|&n| n > 0))
        .map(|(day, sums)| (day.clone(), *sums))
        .collect();
    assert_eq!(ours, wanted, "the ledger's OpenCode days differ {when}");
}

/// Runs `cmd` to completion: its wall time and stdout.
fn time(cmd: &mut Command) -> (f64, String) {
    let started = Instant::now();
    let out = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("spawn");
    let elapsed = started.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (elapsed, String::from_utf8_lossy(&out.stdout).into_owned())
}
