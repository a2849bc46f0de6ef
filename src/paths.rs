//! Where things live on this machine: the home folder and the XDG base folders. One home
//! for these lookups, so every stage agrees on what an empty or unset variable means
//! (the XDG spec: unset or empty both mean the default).

use std::path::PathBuf;

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
