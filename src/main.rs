//! cco-stats: the binary. Everything it does lives in the library (`src/lib.rs` draws the
//! pipeline); this file sets up logging (its lines begin as `command::say` decides), runs
//! the command and turns its outcome into an exit code.

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use cco_stats::cli::{Cli, Command};
use cco_stats::command::{self, say};
use cco_stats::visible;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // A status line that cannot read its flags still prints a line, and exits 0.
        Err(e) if e.use_stderr() && parses_as_statusline() => {
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or("bad arguments");
            let first = first.trim_start_matches("error: ");
            println!("cco-stats: {}", visible::text(first));
            return ExitCode::SUCCESS;
        }
        Err(e) => e.exit(),
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
