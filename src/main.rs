//! cco-stats: the binary. Everything it does lives in the library (`src/lib.rs` draws the
//! pipeline); this file sets up logging, runs the command and turns its outcome into an
//! exit code.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use cco_stats::cli::Cli;
use cco_stats::command;
use cco_stats::visible;

fn main() -> ExitCode {
    let statusline = std::env::args_os().any(|a| a == "statusline");
    if statusline {
        // Claude Code shows what a status line command prints: nothing goes to stderr,
        // a panic included (the command turns it into its line).
        std::panic::set_hook(Box::new(|_| {}));
    } else {
        init_logging();
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // A status line that cannot read its flags still prints a line, and exits 0.
        Err(e) if statusline && e.use_stderr() => {
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or("bad arguments");
            let first = first.trim_start_matches("error: ");
            println!("cco-stats: {}", visible::text(first));
            return ExitCode::SUCCESS;
        }
        Err(e) => e.exit(),
    };
    match command::run(cli) {
        Ok(code) => code,
        Err(err) if command::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("cco-stats: error: {:#}", visible::Shown(&err));
            if let Some(advice) = command::advice(&err) {
                eprintln!("cco-stats: {advice}");
            }
            ExitCode::from(2)
        }
    }
}

fn init_logging() {
    env_logger::Builder::new()
        .filter_level(log::LevelFilter::Warn)
        .parse_env("RUST_LOG")
        .format(|f, record| {
            let level = record.level().to_string().to_lowercase();
            // Warnings name files, models and hosts: shown, never obeyed by the terminal.
            writeln!(f, "cco-stats: {level}: {}", visible::Shown(record.args()))
        })
        .init();
}
