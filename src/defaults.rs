//! The config file's defaults for the command line: `[defaults]` holds options for every
//! command that has them, `[commands.<name>]` one command's, over `[defaults]` (the
//! shape of ccusage's `defaults` and `commands`). A key is an option's long name
//! (`no_cost` or `no-cost`); a value is what the option takes (`timezone = "UTC"`,
//! `agent = ["claude", "codex"]`), or `true`/`false` for a flag.
//!
//! They are laid under the command line: an option given there, or by its environment
//! variable, keeps its value, and so does an option that conflicts with one given there
//! (`--csv` over a default `json = true`, `--no-color` over `color = true`). What the
//! file may set is what the command line may: each value goes through the option's own
//! parser, for every command it names, whichever command runs, so a misspelt key or a
//! bad value is an error naming the file and its line, never a default silently lost.

use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::{Result, anyhow};
use clap::builder::Resettable;
use clap::parser::ValueSource;
use clap::{Arg, ArgMatches, Command};

use crate::config::{self, Config};

/// The command line's matches with the config file's defaults added where it leaves an
/// option unset; `None` when the file adds nothing. `matches` are `argv`'s own, by the
/// command `cli` makes (only when there is a file: the status line runs often).
pub fn apply(
    cli: impl FnOnce() -> Command,
    argv: &[OsString],
    matches: &ArgMatches,
) -> Result<Option<ArgMatches>> {
    let Some((name, sub)) = matches.subcommand() else {
        return Ok(None);
    };
    if sub.get_flag("no_defaults") {
        return Ok(None);
    }
    let given = config_flag(matches, sub);
    let Some(path) = config::locate(given.as_deref()) else {
        return Ok(None);
    };
    let config = config::load(Some(&path))?;
    if config.defaults.is_empty() && config.commands.is_empty() {
        return Ok(None);
    }
    let mut cli = cli();
    cli.build();
    check(&cli, &config).map_err(|e| anyhow!("config file {}{e}", path.display()))?;
    let command = cli.find_subcommand(name).expect("clap matched it");
    let mut added = Vec::new();
    for (arg, setting) in settings(command, name, &config) {
        if !given_here(command, arg, sub) {
            added.extend(words(arg, setting.get_ref()).expect("checked above"));
        }
    }
    if added.is_empty() {
        return Ok(None);
    }
    // Before a `--` that ends the options, if any.
    let at = argv.iter().position(|a| a == "--").unwrap_or(argv.len());
    let mut with_defaults = argv[..at].to_vec();
    with_defaults.extend(added);
    with_defaults.extend_from_slice(&argv[at..]);
    // Each value parsed alone; together they may still clash (an option that needs
    // another the file did not set).
    cli.try_get_matches_from(with_defaults)
        .map(Some)
        .map_err(|e| {
            anyhow!(
                "config file {}: with its defaults, {}",
                path.display(),
                described(&e)
            )
        })
}

/// `--config`, wherever on the command line it was given.
fn config_flag(top: &ArgMatches, sub: &ArgMatches) -> Option<PathBuf> {
    [sub, top]
        .into_iter()
        .find_map(|m| m.get_one::<PathBuf>("config").cloned())
}

/// The options `command` takes from the file, `[commands.<name>]` over `[defaults]`.
fn settings<'c>(
    command: &'c Command,
    name: &str,
    config: &'c Config,
) -> Vec<(&'c Arg, &'c toml::Spanned<toml::Value>)> {
    let mut merged = std::collections::BTreeMap::new();
    let own = config.commands.get(name).into_iter().flatten();
    for (key, setting) in config.defaults.iter().chain(own) {
        if let Some(arg) = option(command, key) {
            merged.insert(arg.get_id().as_str(), (arg, setting));
        }
    }
    merged.into_values().collect()
}

/// Whether the command line already says what `arg` would: it, its `no-` twin or an
/// option it conflicts with was given there (or by its environment variable).
fn given_here(command: &Command, arg: &Arg, matches: &ArgMatches) -> bool {
    let given = |a: &Arg| {
        matches!(
            matches.value_source(a.get_id().as_str()),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        )
    };
    let long = arg.get_long().unwrap_or_default();
    let twin = match long.strip_prefix("no-") {
        Some(plain) => plain.to_string(),
        None => format!("no-{long}"),
    };
    // A conflict is declared on one side only (`--last` names `--since`).
    let clash = |a: &Arg, b: &Arg| {
        command
            .get_arg_conflicts_with(a)
            .iter()
            .any(|c| c.get_id() == b.get_id())
    };
    given(arg)
        || option(command, &twin).is_some_and(given)
        || command
            .get_arguments()
            .filter(|other| given(other))
            .any(|other| clash(arg, other) || clash(other, arg))
}

/// The option of `command` a file's key names (`no_cost`, `no-cost`); never `--config`
/// (the file cannot name another) or `--no-defaults` (nor set itself aside), `--help` or
/// `--version`, nor a positional argument.
fn option<'c>(command: &'c Command, key: &str) -> Option<&'c Arg> {
    let long = key.replace('_', "-");
    if ["config", "no-defaults", "help", "version"].contains(&long.as_str()) {
        return None;
    }
    command
        .get_arguments()
        .find(|a| a.get_long() == Some(long.as_str()))
}

/// Every key and value of the file, checked against the commands they are for.
fn check(cli: &Command, config: &Config) -> Result<(), config::ParseError> {
    let error = |setting, message: String| config::ParseError::at(config.line(setting), message);
    for (key, setting) in &config.defaults {
        let mut takers = cli.get_subcommands().filter_map(|c| option(c, key));
        let Some(first) = takers.next() else {
            return Err(error(setting, unknown(key, "any command")));
        };
        for arg in std::iter::once(first).chain(takers) {
            words(arg, setting.get_ref()).map_err(|e| error(setting, format!("{key}: {e}")))?;
        }
    }
    for (name, options) in &config.commands {
        let Some(command) = cli.find_subcommand(name) else {
            let first = options.values().next();
            let names: Vec<&str> = cli
                .get_subcommands()
                .filter(|c| !c.is_hide_set() && c.get_name() != "help")
                .map(|c| c.get_name())
                .collect();
            let message = format!(
                "[commands.{name}]: no such command (known: {})",
                names.join(", ")
            );
            return Err(match first {
                Some(setting) => error(setting, message),
                None => config::ParseError::at(0, message),
            });
        };
        for (key, setting) in options {
            let Some(arg) = option(command, key) else {
                return Err(error(setting, unknown(key, &format!("`{name}`"))));
            };
            words(arg, setting.get_ref())
                .map_err(|e| error(setting, format!("[commands.{name}] {key}: {e}")))?;
        }
    }
    Ok(())
}

fn unknown(key: &str, of: &str) -> String {
    format!(
        "{key:?} is not an option of {of} (keys are the options' long names, e.g. timezone, breakdown)"
    )
}

/// The command-line words that set `arg` to `value` (none for a flag set to `false`),
/// once `value` has passed the option's own parser.
fn words(arg: &Arg, value: &toml::Value) -> Result<Vec<OsString>, String> {
    let long = arg
        .get_long()
        .expect("options are found by their long name");
    if !arg.get_action().takes_values() {
        return match value {
            toml::Value::Boolean(true) => Ok(vec![format!("--{long}").into()]),
            toml::Value::Boolean(false) => Ok(Vec::new()),
            _ => Err(format!("--{long} is a flag: true or false")),
        };
    }
    let items = match value {
        toml::Value::Array(items) => items.iter().map(scalar).collect::<Result<Vec<_>, _>>()?,
        other => vec![scalar(other)?],
    };
    let words: Vec<OsString> = match arg.get_value_delimiter() {
        Some(delimiter) => vec![format!("--{long}={}", items.join(&delimiter.to_string())).into()],
        None => items
            .iter()
            .map(|v| format!("--{long}={v}").into())
            .collect(),
    };
    parses(arg, &words)?;
    Ok(words)
}

/// A value as the command line spells it.
fn scalar(value: &toml::Value) -> Result<String, String> {
    match value {
        toml::Value::String(s) => Ok(s.clone()),
        toml::Value::Integer(n) => Ok(n.to_string()),
        toml::Value::Float(x) => Ok(x.to_string()),
        toml::Value::Datetime(d) => Ok(d.to_string()),
        toml::Value::Boolean(_) => Err("takes a value, not true or false".to_string()),
        toml::Value::Array(_) | toml::Value::Table(_) => {
            Err("takes a value or a list of values".to_string())
        }
    }
}

/// Whether the command line would take `words` for `arg`: clap's own parsing of the
/// option alone (its ties to other options are the whole command line's to check).
fn parses(arg: &Arg, words: &[OsString]) -> Result<(), String> {
    let alone = arg
        .clone()
        .required(false)
        .global(false)
        .requires(Resettable::Reset)
        .conflicts_with(Resettable::Reset)
        .overrides_with(Resettable::Reset)
        .group(Resettable::Reset);
    Command::new("config")
        .no_binary_name(true)
        .disable_help_flag(true)
        .arg(alone)
        .try_get_matches_from(words)
        .map(|_| ())
        .map_err(|e| described(&e))
}

/// A clap error in one line, with what it lists on the next lines (the options missing,
/// the values possible).
fn described(e: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue};
    let text = e.render().to_string();
    let mut line = first_line(e);
    if line.ends_with(':')
        && let Some(next) = text.lines().nth(1)
    {
        line = format!("{line} {}", next.trim());
    }
    if let Some(ContextValue::Strings(valid)) = e.get(ContextKind::ValidValue) {
        line = format!("{line} (possible values: {})", valid.join(", "));
    }
    line
}

/// The first line of a clap error, without its `error: `.
pub fn first_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let line = text.lines().next().unwrap_or("bad arguments");
    line.trim_start_matches("error: ").to_string()
}
