//! `cco-stats prices`: the price table in use, and `--import` of a LiteLLM price list into
//! the user's price file. The file is never left half written: the new text is checked by
//! reading it back as a price file, written beside the old one, and renamed over it.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::cli::PricesArgs;
use crate::command::{print, report::screen};
use crate::render;
use crate::report::litellm;
use crate::report::pricing::{self, PriceTable};
use crate::visible::Shown;

pub fn run(args: &PricesArgs, user_file: Option<&Path>) -> Result<ExitCode> {
    let table = PriceTable::load(user_file)?;
    if let Some(source) = &args.import {
        let target = match user_file {
            Some(path) => path.to_path_buf(),
            None => pricing::default_user_file()
                .context("cannot place the price file: HOME is not set (use --prices FILE)")?,
        };
        return import(source, &target, &table);
    }
    let text = match args.json {
        true => render::json::text(&render::json::prices(&table)),
        false => render::table::prices(&table, screen().color),
    };
    print(&text)?;
    Ok(ExitCode::SUCCESS)
}

fn import(source: &Path, target: &Path, table: &PriceTable) -> Result<ExitCode> {
    let text = std::fs::read_to_string(source)
        .with_context(|| format!("cannot read {}", source.display()))?;
    let imported = litellm::families_to_import(&text, table)
        .with_context(|| format!("{} (nothing was imported)", source.display()))?;
    if imported.is_empty() {
        eprintln!(
            "cco-stats: every Claude model of {} is priced already; {} left as it is",
            Shown(source.display()),
            Shown(target.display())
        );
        return Ok(ExitCode::SUCCESS);
    }
    let existing = match std::fs::read_to_string(target) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", target.display())),
    };
    let now_ms = jiff::Timestamp::now().as_millisecond();
    let today = crate::model::calendar::local_date(now_ms, &jiff::tz::TimeZone::UTC).to_string();
    let mut updated = existing;
    if !updated.is_empty() && !updated.ends_with('\n') {
        updated.push('\n');
    }
    updated.push_str(&litellm::price_file_text(
        &imported,
        &source.display().to_string(),
        &today,
    ));
    // What is written must read back: checked before the old file is touched.
    PriceTable::builtin()
        .add_text(&updated, &target.display().to_string())
        .with_context(|| format!("the updated {} would not read back", target.display()))?;
    replace_file(target, &updated)?;
    for m in &imported {
        println!("added {} (LiteLLM \"{}\")", Shown(&m.family), Shown(&m.key));
    }
    eprintln!(
        "cco-stats: {} model(s) added to {}",
        imported.len(),
        Shown(target.display())
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes the price file whole (see `paths::write_replacing`), creating its folder.
fn replace_file(path: &Path, text: &str) -> Result<()> {
    if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder)
            .with_context(|| format!("cannot create {}", folder.display()))?;
    }
    crate::paths::write_replacing(path, text, 0o644)
}
