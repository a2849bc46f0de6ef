//! `--help` of the tool and of every subcommand, through the real binary, as snapshots to
//! review (`tests/snapshots/help__*.snap`): each subcommand shows its own options first
//! and the global ones under their own heading, in the same short form.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_cco-stats");

fn help(args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .arg("--help")
        .env_remove("CCO_STATS_DB")
        .env_remove("CCO_STATS_HOST_NAME")
        .env("COLUMNS", "100")
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// The visible subcommands, as the tool's own help lists them.
fn subcommands() -> Vec<String> {
    let top = help(&[]);
    top.lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .filter(|name| name != "help")
        .collect()
}

/// The options a section of a help text lists, by their long name.
fn section(text: &str, heading: &str) -> Vec<String> {
    text.lines()
        .skip_while(|l| *l != heading)
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split("--").nth(1))
        .map(|rest| rest.split([' ', '<']).next().unwrap().to_string())
        .collect()
}

#[test]
fn every_help_in_snapshots() {
    insta::assert_snapshot!("cco-stats", help(&[]));
    let subcommands = subcommands();
    assert!(subcommands.len() > 20, "{subcommands:?}");
    let globals = section(&help(&["daily"]), "Global options:");
    for global in [
        "db", "source", "prices", "config", "quiet", "color", "no-color",
    ] {
        assert!(globals.iter().any(|g| g == global), "{global}: {globals:?}");
    }
    for name in &subcommands {
        let text = help(&[name]);
        // Its own options first; the global ones apart, and only there.
        let own = section(&text, "Options:");
        assert!(own.iter().all(|o| !globals.contains(o)), "{name}: {own:?}");
        assert_eq!(section(&text, "Global options:"), globals, "{name}");
        // One form for all: an option and its text on one line.
        assert!(!text.contains("see a summary with '-h'"), "{name}: {text}");
        insta::assert_snapshot!(name.as_str(), text);
    }
    let watch = help(&["watch"]);
    assert!(
        watch
            .lines()
            .next()
            .unwrap()
            .contains("as the OS reports changes"),
        "{watch}"
    );
}
