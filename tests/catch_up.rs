//! A first ingest, far behind (issue 23): it flushes in bulk and reads quiet files from
//! maps, and still counts every response once, whether it runs whole or is killed at any
//! moment, and whether its files are mapped or streamed.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::corpus::{self, Expected, Spec};
use common::{Scratch, days, expected_days, walk};

/// A history of more than the 32 MiB that makes a pass a catching-up one, its files
/// last written a day ago (so they are mapped) unless `fresh`.
fn history(s: &Scratch, fresh: bool) -> Expected {
    let spec = Spec {
        files: 60,
        seed: 11,
        big_prob: 0.25,
        big_kb: 100,
        ..Spec::default()
    };
    let expected = corpus::generate(&s.root, &spec).unwrap();
    assert!(expected.bytes > 40 << 20, "{} bytes", expected.bytes);
    assert!(expected.bytes < 80 << 20, "{} bytes", expected.bytes);
    if !fresh {
        corpus::backdate(&walk(&s.root.join("projects"))).unwrap();
    }
    expected
}

fn assert_exact(s: &Scratch, expected: &Expected) {
    let daily = s.daily(&["--timezone", "UTC"]);
    assert_eq!(days(&daily), expected_days(expected));
    assert_eq!(s.status()["rows"], expected.rows);
}

#[test]
fn a_first_ingest_far_behind_flushes_in_bulk_with_the_same_rows_mapped_or_streamed() {
    let mapped = Scratch::new();
    let expected = history(&mapped, false);
    let pass = mapped.once();
    assert_exact(&mapped, &expected);
    // A hundred rows a flush would be a transaction per hundred rows.
    let flushes = pass["flushes"].as_u64().unwrap();
    assert!(
        flushes * 500 < expected.rows,
        "{flushes} flushes for {} rows",
        expected.rows
    );

    let streamed = Scratch::new();
    let same = history(&streamed, true);
    assert_eq!(
        (same.rows, same.days),
        (expected.rows, expected.days.clone())
    );
    streamed.once();
    assert_exact(&streamed, &expected);
    let export = |s: &Scratch| {
        let out = s.cmd().arg("export").output().unwrap();
        assert!(out.status.success());
        let mut rows: Vec<serde_json::Value> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .filter(|row: &serde_json::Value| row.get("tsMs").is_some())
            .map(|mut row| {
                // Which ledger holds the rows, not what they are.
                for key in ["hostId", "hostName"] {
                    row.as_object_mut().unwrap().remove(key);
                }
                row
            })
            .collect();
        rows.sort_by_key(|r| r.to_string());
        rows
    };
    assert_eq!(export(&mapped), export(&streamed));
}

/// The history holds a few bulk flushes' rows, so kills land before, between and
/// after them.
#[test]
fn runs_killed_during_a_bulk_first_ingest_lose_and_double_nothing() {
    let s = Scratch::new();
    let expected = history(&s, false);
    // Spread over a whole run: each run resumes from what the killed ones committed.
    for delay_ms in [300, 800, 1_400, 2_100, 2_900, 3_800, 4_800] {
        let mut child = s
            .std_cmd()
            .arg("once")
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap();
        child.wait().unwrap();
    }
    s.once();
    assert_exact(&s, &expected);
}
