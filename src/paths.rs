//! Where things live on this machine: the home folder and the XDG base folders, and how a
//! file is replaced whole. One home for these, so every stage agrees on what an empty or
//! unset variable means (the XDG spec: unset or empty both mean the default) and no file
//! we write (a price file, a metrics textfile, an export) is ever seen half written.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

pub fn home() -> Option<PathBuf> {
    non_empty_var("HOME")
}

/// `$XDG_CONFIG_HOME`, else `~/.config`.
pub fn config_home() -> Option<PathBuf> {
    non_empty_var("XDG_CONFIG_HOME").or_else(|| Some(home()?.join(".config")))
}

/// `$XDG_DATA_HOME`, else `~/.local/share`.
pub fn data_home() -> Option<PathBuf> {
    non_empty_var("XDG_DATA_HOME").or_else(|| Some(home()?.join(".local").join("share")))
}

fn non_empty_var(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Where a replacement of `target` is written before it is renamed over it: a hidden file
/// beside it (so the rename stays on one file system), named for this process.
pub fn temp_beside(target: &Path) -> Result<PathBuf> {
    let dir = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = target
        .file_name()
        .with_context(|| format!("{} is not a file name", target.display()))?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(name);
    temp_name.push(format!(".{}.tmp", std::process::id()));
    Ok(dir.join(temp_name))
}

/// Replaces `path` by `text` (with permissions `mode`) in one rename, after flushing it
/// to disk: a reader sees the old file or the new one, never a part.
pub fn write_replacing(path: &Path, text: &str, mode: u32) -> Result<()> {
    let temp = temp_beside(path)?;
    let written = (|| -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&temp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(e).with_context(|| format!("cannot write {}", path.display()));
    }
    Ok(())
}
