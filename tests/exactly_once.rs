//! Exactly-once ingest through the real binary, on generated trees whose exact totals the
//! generator knows: files that grow mid-line between runs, runs killed at any moment,
//! files truncated or replaced, and a `watch` racing overlapping `once` runs.

mod common;

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::corpus::{self, Expected, Spec};
use common::{Scratch, days, expected_days, walk};

fn generate(s: &Scratch, spec: Spec) -> Expected {
    corpus::generate(&s.root, &spec).unwrap()
}

fn assert_exact(s: &Scratch, expected: &Expected) {
    let daily = s.daily(&["--timezone", "UTC"]);
    assert_eq!(days(&daily), expected_days(expected));
    assert_eq!(s.status()["rows"], expected.rows);
}

/// Moves a generated tree aside; `grow` then writes it back piece by piece.
fn stash(s: &Scratch) -> PathBuf {
    let stash = s.dir.path().join("final");
    fs::rename(&s.root, &stash).unwrap();
    fs::create_dir_all(s.root.join("projects")).unwrap();
    stash
}

/// Brings every file of `stash` to `fraction` of its final size (cutting lines anywhere),
/// appending to what is there, as Claude Code's writes do.
fn grow(stash: &Path, root: &Path, fraction: f64) {
    for file in walk(stash) {
        let final_bytes = fs::read(&file).unwrap();
        let target = root.join(file.strip_prefix(stash).unwrap());
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        let have = fs::metadata(&target).map(|m| m.len() as usize).unwrap_or(0);
        let want = ((final_bytes.len() as f64 * fraction) as usize).max(have);
        if want > have {
            let mut out = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&target)
                .unwrap();
            out.write_all(&final_bytes[have..want]).unwrap();
        }
    }
}

#[test]
fn the_generator_writes_correct_dates() {
    assert_eq!(corpus::iso(corpus::START_MS), "2025-09-01T00:00:00.000Z");
    assert_eq!(
        corpus::iso(corpus::START_MS + 86_400_000 * 30 + 1_234),
        "2025-10-01T00:00:01.234Z"
    );
    assert_eq!(corpus::iso(1_709_164_800_000), "2024-02-29T00:00:00.000Z");
}

#[test]
fn a_generated_tree_gives_exactly_the_generators_totals() {
    let s = Scratch::new();
    let expected = generate(&s, Spec::default());
    let pass = s.once();
    assert_eq!(pass["rows_added"], expected.rows);
    assert!(
        pass["lines_skipped"].as_u64().unwrap() > 0,
        "the tree has damaged lines"
    );
    assert_exact(&s, &expected);
}

#[test]
fn files_growing_mid_line_between_runs_give_the_final_totals() {
    let s = Scratch::new();
    let expected = generate(
        &s,
        Spec {
            files: 25,
            seed: 7,
            ..Spec::default()
        },
    );
    let stash = stash(&s);
    for step in 1..=12 {
        // Uneven steps, so cuts land at every kind of place in a line.
        grow(
            &stash,
            &s.root,
            (step as f64 / 12.0).powf(1.3) - 0.013 * (step % 3) as f64,
        );
        s.cmd()
            .args(["once", "--batch-size", "7"])
            .assert()
            .success();
    }
    grow(&stash, &s.root, 1.0);
    s.once();
    assert_exact(&s, &expected);

    // One fresh run over the final files agrees.
    let fresh = Scratch::new();
    common::copy_tree(&s.root, &fresh.root);
    fresh.once();
    assert_exact(&fresh, &expected);
}

#[test]
fn runs_killed_at_any_moment_lose_and_double_nothing() {
    let s = Scratch::new();
    let expected = generate(
        &s,
        Spec {
            files: 120,
            seed: 11,
            big_prob: 0.2,
            big_kb: 300,
            ..Spec::default()
        },
    );
    // Small batches, so kills land between, inside and after many flushes.
    let mut delays_ms = 2..;
    let mut kills = 0;
    while kills < 15 {
        let mut child = s
            .std_cmd()
            .args(["once", "--batch-size", "10"])
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delays_ms.next().unwrap() * 7 % 90));
        child.kill().unwrap();
        child.wait().unwrap();
        kills += 1;
    }
    s.once();
    assert_exact(&s, &expected);
}

#[test]
fn truncated_and_replaced_files_are_read_again_without_double_counting() {
    let s = Scratch::new();
    let expected = generate(
        &s,
        Spec {
            files: 20,
            seed: 3,
            ..Spec::default()
        },
    );
    s.once();
    let files = walk(&s.root.join("projects"));

    // Replaced: same content renamed over it (a new inode), as an editor or sync does.
    let replaced = &files[0];
    let copy = s.dir.path().join("copy.jsonl");
    fs::copy(replaced, &copy).unwrap();
    fs::rename(&copy, replaced).unwrap();

    // Truncated, then written again from the start.
    let truncated = &files[1];
    let content = fs::read(truncated).unwrap();
    fs::write(truncated, &content[..content.len() / 3]).unwrap();
    let pass = s.once();
    assert_eq!(pass["files_reset"], 2, "{pass}");
    fs::write(truncated, &content).unwrap();
    s.once();

    // Rewritten in place with other first bytes but the same size: the head fingerprint.
    let rewritten = &files[2];
    let mut content = fs::read(rewritten).unwrap();
    let line_end = content.iter().position(|&b| b == b'\n').unwrap();
    content[..line_end].reverse();
    fs::write(rewritten, &content).unwrap();
    let pass = s.once();
    assert_eq!(pass["files_reset"], 1, "{pass}");

    let daily = s.daily(&["--timezone", "UTC"]);
    let got: Vec<_> = days(&daily);
    let want = expected_days(&expected);
    // The reversed first line may have been a response: it is gone from the file now, but
    // the ledger keeps what it recorded. Everything else is exact.
    assert_eq!(got, want);
}

fn sigint(child: &Child) {
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Runs started together on a ledger that does not exist yet: each one either creates it
/// or waits for the one that does, none takes the half-made file for another program's
/// or gives up on its journal mode, and the rows are counted once. Nothing is left for
/// a later pass either: a run leaves a file to another only when that other has moved
/// the file's own cursor.
#[test]
fn once_runs_started_together_on_a_new_ledger_all_succeed() {
    let s = Scratch::new();
    let expected = generate(
        &s,
        Spec {
            files: 40,
            seed: 9,
            ..Spec::default()
        },
    );
    for round in 0..5 {
        fs::remove_file(&s.db).ok();
        let runs: Vec<Child> = (0..6)
            .map(|_| {
                s.std_cmd()
                    .args(["once", "--batch-size", "10"])
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for run in runs {
            let out = run.wait_with_output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "round {round}: once failed: {err}");
        }
        let daily = s.daily(&["--timezone", "UTC"]);
        assert_eq!(days(&daily), expected_days(&expected), "round {round}");
        assert_eq!(s.status()["rows"], expected.rows);
    }
}

#[test]
fn watch_and_overlapping_once_runs_count_exactly_once() {
    let s = Scratch::new();
    let expected = generate(
        &s,
        Spec {
            files: 60,
            seed: 5,
            ..Spec::default()
        },
    );
    let stash = stash(&s);
    let mut watch = s
        .std_cmd()
        .args(["watch", "--interval", "50ms", "--batch-size", "20"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut onces: Vec<Child> = Vec::new();
    for step in 1..=8 {
        grow(&stash, &s.root, step as f64 / 8.0 - 0.01);
        for _ in 0..3 {
            onces.push(
                s.std_cmd()
                    .args(["once", "--batch-size", "15"])
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap(),
            );
        }
        std::thread::sleep(Duration::from_millis(40));
    }
    grow(&stash, &s.root, 1.0);
    for once in onces {
        let out = once.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "once failed: {err}");
        assert!(!err.contains("locked"), "{err}");
    }
    // Let the watch see the final bytes, then stop it.
    std::thread::sleep(Duration::from_millis(400));
    sigint(&watch);
    let stopped = Instant::now();
    let status = watch.wait().unwrap();
    assert!(
        stopped.elapsed() < Duration::from_secs(1),
        "watch took {:?} to stop",
        stopped.elapsed()
    );
    assert!(status.success(), "watch exited with {status}");
    let mut err = String::new();
    std::io::Read::read_to_string(watch.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(!err.contains("error"), "{err}");

    s.once();
    assert_exact(&s, &expected);
}

#[test]
fn once_interrupted_flushes_what_it_read_and_exits_0() {
    let s = Scratch::new();
    let expected = generate(
        &s,
        Spec {
            files: 120,
            seed: 13,
            big_prob: 0.2,
            big_kb: 300,
            ..Spec::default()
        },
    );
    for delay_ms in [5, 20, 60] {
        let child = s
            .std_cmd()
            .args(["once", "--batch-size", "10"])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // A signal before the handler is in place would test process start-up on a
        // loaded machine, not the flush.
        common::wait_until_catching_sigint(&child);
        std::thread::sleep(Duration::from_millis(delay_ms));
        sigint(&child);
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    s.once();
    assert_exact(&s, &expected);
}

/// `watch` killed with SIGKILL while bursts of lines arrive (in notify mode, its reads
/// come from the OS's events), then started again: the ledger ends exact, counted once.
#[test]
fn watch_killed_mid_burst_loses_and_doubles_nothing() {
    let s = Scratch::new();
    let expected = generate(
        &s,
        Spec {
            files: 40,
            seed: 21,
            ..Spec::default()
        },
    );
    let stash = stash(&s);
    let spawn = || {
        s.std_cmd()
            .args(["watch", "--interval", "1h", "--batch-size", "5"])
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let rounds = 8;
    for round in 0..rounds {
        let mut watch = spawn();
        // Let it start and take the tree as it is, then a burst, killed in its midst.
        std::thread::sleep(Duration::from_millis(300));
        for step in 0..4 {
            let fraction = (round * 4 + step + 1) as f64 / (rounds * 4 + 1) as f64;
            grow(&stash, &s.root, fraction);
            std::thread::sleep(Duration::from_millis(20 + 15 * step as u64));
        }
        std::thread::sleep(Duration::from_millis(30 * (round % 4) as u64));
        watch.kill().unwrap();
        watch.wait().unwrap();
    }
    grow(&stash, &s.root, 1.0);
    let mut watch = spawn();
    let started = Instant::now();
    let want = expected_days(&expected);
    loop {
        let out = s
            .cmd()
            .args(["daily", "--json", "--no-ingest", "--timezone", "UTC"])
            .output()
            .unwrap();
        if out.status.success() && days(&common::json(&out.stdout)) == want {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the restarted watch did not catch up"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    sigint(&watch);
    assert!(watch.wait().unwrap().success());
    assert_exact(&s, &expected);
}
