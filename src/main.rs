//! cco-stats: the binary. Everything it does lives in the library (`src/lib.rs` draws the
//! pipeline); this file sets up logging (its lines begin as `command::say` decides), runs
//! the command and turns its outcome into an exit code.

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use clap::{ArgMatches, CommandFactory, FromArgMatches};

use cco_stats::cli::{Cli, Command};
use cco_stats::command::{self, say};
use cco_stats::{defaults, visible};

fn main() -> ExitCode {
    let argv: Vec<OsString> = std::env::args_os().collect();
    let matches = match Cli::command().try_get_matches_from(&argv) {
        Ok(matches) => matches,
        // A status line that cannot read its flags still prints a line, and exits 0.
        Err(e) if e.use_stderr() && parses_as_statusline() => {
            println!("cco-stats: {}", visible::text(&defaults::first_line(&e)));
            return ExitCode::SUCCESS;
        }
        Err(e) => e.exit(),
    };
    let name = matches.subcommand_name().unwrap_or_default().to_string();
    let cli = match with_defaults(&argv, matches) {
        Ok(cli) => cli,
        Err(err) if name == "statusline" => {
            println!("cco-stats: {}", visible::text(&format!("{err:#}")));
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            eprintln!("cco-stats: error: {:#}", visible::Shown(&err));
            // `check` says an error with 3 (its 2 is "over").
            return ExitCode::from(if name == "check" { 3 } else { 2 });
        }
    };
    if matches!(cli.command, Command::Statusline(_)) {
        // Claude Code shows what a status line command prints: nothing goes to stderr,
        // a panic included (the command turns it into its line).
        std::panic::set_hook(Box::new(|_| {}));
    } else {
        if matches!(cli.command, Command::Once(_) | Command::Watch(_)) {
            say::stamp_unless_terminal();
        }
        init_logging();
    }
    match command::run(cli) {
        Ok(code) => code,
        Err(err) if command::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            say::line(format_args!("error: {}", command::describe(&err)));
            if let Some(advice) = command::advice(&err) {
                say::line(advice);
            }
            ExitCode::from(2)
        }
    }
}

/// The command line with the config file's defaults under it (`defaults`).
fn with_defaults(argv: &[OsString], matches: ArgMatches) -> anyhow::Result<Cli> {
    let matches = defaults::apply(Cli::command, argv, &matches)?.unwrap_or(matches);
    Ok(Cli::from_arg_matches(&matches)?)
}

/// Whether the command line names the `statusline` subcommand, as clap reads it when it
/// looks past the errors: a word `statusline` elsewhere (a flag's value) is not it.
fn parses_as_statusline() -> bool {
    Cli::command()
        .ignore_errors(true)
        .try_get_matches()
        .is_ok_and(|m| m.subcommand_name() == Some("statusline"))
}

fn init_logging() {
    env_logger::Builder::new()
        .filter_level(log::LevelFilter::Warn)
        .parse_env("RUST_LOG")
        .format(|f, record| {
            let level = record.level().to_string().to_lowercase();
            // Warnings name files, models and hosts: shown, never obeyed by the terminal.
            let text = visible::Shown(record.args());
            writeln!(f, "{}{level}: {text}", say::prefix())
        })
        .init();
}
