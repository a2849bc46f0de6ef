//! Golden output: every report in every format on `fixtures/claude` (see
//! `fixtures/README.md` for which line exercises which rule), through the real binary.
//!
//! Tables at 80 and 60 columns (the two narrow layouts) and at the 120 a pipe gets, JSON
//! and CSV, each with and without `--breakdown`. A change of output shows up here as a
//! snapshot diff to review (`cargo insta review`, or read the `.snap.new` files).

mod common;

use common::Scratch;
use unicode_width::UnicodeWidthStr;

const REPORTS: &[&str] = &[
    "daily", "weekly", "monthly", "session", "blocks", "projects", "models",
];

/// (snapshot suffix, flags, COLUMNS)
const FORMATS: &[(&str, &[&str], &str)] = &[
    ("table120", &[], "120"),
    ("table80", &[], "80"),
    ("table60", &[], "60"),
    ("json", &["--json"], "120"),
    ("csv", &["--csv"], "120"),
];

fn output(scratch: &Scratch, args: &[&str], columns: &str) -> String {
    let out = scratch
        .cmd()
        .env("COLUMNS", columns)
        .args(args)
        .args(["--no-ingest", "--timezone", "UTC"])
        .assert()
        .success();
    String::from_utf8(out.get_output().stdout.clone()).expect("UTF-8 output")
}

#[test]
fn every_report_in_every_format() {
    let scratch = Scratch::with_fixtures();
    scratch.once();
    for report in REPORTS {
        for (format, flags, columns) in FORMATS {
            for breakdown in [false, true] {
                let mut args = vec![*report];
                args.extend_from_slice(flags);
                if breakdown {
                    args.push("--breakdown");
                }
                let name = format!(
                    "{report}_{format}{}",
                    if breakdown { "_breakdown" } else { "" }
                );
                let text = output(&scratch, &args, columns);
                if format.starts_with("table") {
                    let limit: usize = columns.parse().unwrap();
                    let widest = text.lines().map(UnicodeWidthStr::width).max().unwrap_or(0);
                    assert!(
                        widest <= limit,
                        "{name} is {widest} wide for {limit}:\n{text}"
                    );
                }
                insta::assert_snapshot!(name, text);
            }
        }
    }
}

/// The options every report shares, once each on `daily`: order, no cost, the cost
/// modes, a range, a project, a zone east of UTC, and weeks from Sunday.
#[test]
fn shared_options() {
    let scratch = Scratch::with_fixtures();
    scratch.once();
    let cases: &[(&str, &[&str])] = &[
        ("daily_desc", &["daily", "--order", "desc"]),
        ("daily_no_cost", &["daily", "--no-cost"]),
        ("daily_no_cost_json", &["daily", "--no-cost", "--json"]),
        (
            "daily_calculate_json",
            &["daily", "--mode", "calculate", "--json"],
        ),
        (
            "daily_display_json",
            &["daily", "--mode", "display", "--json"],
        ),
        (
            "daily_range",
            &["daily", "--since", "2026-01-11", "--until", "2026-01-11"],
        ),
        (
            "daily_project",
            &["daily", "--project", "/home/dev/other", "--json"],
        ),
        ("weekly_sunday", &["weekly", "--start-of-week", "sunday"]),
        ("session_desc_csv", &["session", "--order", "desc", "--csv"]),
        (
            "blocks_limit_json",
            &["blocks", "--token-limit", "1000", "--json"],
        ),
    ];
    for (name, args) in cases {
        insta::assert_snapshot!(*name, output(&scratch, args, "120"));
    }
    // Narrower than any layout: breakdown lines keep their └ and their whole model name.
    let narrow = output(&scratch, &["projects", "--breakdown"], "40");
    assert!(narrow.contains("  └ opus-4-6-fast"), "{narrow}");
    insta::assert_snapshot!("projects_breakdown_at_40", narrow);
    let kolkata = scratch
        .cmd()
        .args([
            "daily",
            "--no-ingest",
            "--timezone",
            "Asia/Kolkata",
            "--json",
        ])
        .assert()
        .success();
    insta::assert_snapshot!(
        "daily_kolkata_json",
        String::from_utf8(kolkata.get_output().stdout.clone()).unwrap()
    );
}

#[test]
fn price_table() {
    let scratch = Scratch::new();
    for (name, args) in [
        ("prices_table", &["prices"][..]),
        ("prices_json", &["prices", "--json"]),
    ] {
        let out = scratch
            .cmd()
            .env("COLUMNS", "120")
            .args(args)
            .assert()
            .success();
        insta::assert_snapshot!(
            name,
            String::from_utf8(out.get_output().stdout.clone()).unwrap()
        );
    }
}
