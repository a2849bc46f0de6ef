//! Where things live on this machine: the home folder and the XDG base folders, and how a
//! file is replaced whole. One home for these, so every stage agrees on what an empty or
//! unset variable means (the XDG spec: unset or empty both mean the default) and no file
//! we write (a price file, a metrics textfile, an export) is ever seen half written.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

pub fn home() -> Option<PathBuf> {
    non_empty_var("HOME")
}

/// A path as a user wrote it: a leading `~` (alone or before `/`) is the home folder;
/// `~user` and every other path are taken as written.
pub fn expand_tilde(path: &str) -> PathBuf {
    match (path.strip_prefix('~'), home()) {
        (Some(rest), Some(home)) if rest.is_empty() || rest.starts_with('/') => {
            home.join(rest.trim_start_matches('/'))
        }
        _ => PathBuf::from(path),
    }
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

/// A new version of a file, written beside it and renamed over it when whole: a reader
/// sees the old file or the new one, never a part. The new file is created exclusively
/// (`O_EXCL`) under a random hidden name, with its permissions set at creation, so a file
/// or link someone planted in the folder is never opened, followed or inherited; dropped
/// before `commit`, it is removed.
pub struct Replacement {
    temp: tempfile::NamedTempFile,
    target: PathBuf,
}

impl Replacement {
    /// Starts a replacement of `target` with permissions `mode` (0600 where the file is
    /// private).
    pub fn create(target: &Path, mode: u32) -> Result<Replacement> {
        let dir = match target.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let name = target
            .file_name()
            .with_context(|| format!("{} is not a file name", target.display()))?;
        let mut prefix = std::ffi::OsString::from(".");
        prefix.push(name);
        prefix.push(".");
        let temp = tempfile::Builder::new()
            .prefix(&prefix)
            .suffix(".tmp")
            .permissions(std::fs::Permissions::from_mode(mode))
            .tempfile_in(dir)
            .with_context(|| format!("cannot write {}", target.display()))?;
        Ok(Replacement {
            temp,
            target: target.to_path_buf(),
        })
    }

    pub fn file(&self) -> &File {
        self.temp.as_file()
    }

    /// Flushes the new file to disk and renames it over the target.
    pub fn commit(self) -> Result<()> {
        let target = self.target;
        self.temp
            .as_file()
            .sync_all()
            .map_err(anyhow::Error::from)
            .and_then(|()| Ok(self.temp.persist(&target).map_err(|e| e.error)?))
            .with_context(|| format!("cannot write {}", target.display()))?;
        Ok(())
    }
}

/// Replaces `path` by `text` (with permissions `mode`) in one rename (see `Replacement`).
pub fn write_replacing(path: &Path, text: &str, mode: u32) -> Result<()> {
    let replacement = Replacement::create(path, mode)?;
    replacement
        .file()
        .write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    replacement.commit()
}
