//! Claude Code's data roots and the names its paths give: a root comes from `--source`,
//! else `CLAUDE_CONFIG_DIR` (a comma list), else the two places Claude Code uses by
//! default; below a root's `projects/`, a file's path names its project and session.

use std::path::{Path, PathBuf};

use crate::paths::{self, expand_tilde};

/// Where the data roots were taken from, for `status` and error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RootsFrom {
    Flag,
    Env,
    Defaults,
}

#[derive(Clone, Debug)]
pub struct Roots {
    pub paths: Vec<PathBuf>,
    pub from: RootsFrom,
}

/// The roots to search: `--source` wins over `CLAUDE_CONFIG_DIR`, which wins over the
/// defaults. Named roots are kept even if missing (the walk warns); defaults only if they
/// exist.
pub fn roots(sources: &[PathBuf]) -> Roots {
    if !sources.is_empty() {
        let paths = sources.iter().map(|p| normalize(p)).collect();
        return Roots {
            paths,
            from: RootsFrom::Flag,
        };
    }
    if let Some(list) = std::env::var_os("CLAUDE_CONFIG_DIR").filter(|v| !v.is_empty()) {
        let paths: Vec<PathBuf> = list
            .to_string_lossy()
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| normalize(&expand_tilde(p)))
            .collect();
        if !paths.is_empty() {
            return Roots {
                paths,
                from: RootsFrom::Env,
            };
        }
    }
    let paths = default_roots().into_iter().filter(|p| p.is_dir()).collect();
    Roots {
        paths,
        from: RootsFrom::Defaults,
    }
}

fn default_roots() -> Vec<PathBuf> {
    let mut roots = Vec::new();
    roots.extend(paths::config_home().map(|c| c.join("claude")));
    roots.extend(paths::home().map(|h| h.join(".claude")));
    roots
}

/// A root named by its `projects` folder means the folder above it.
fn normalize(path: &Path) -> PathBuf {
    let trimmed: &Path = path.components().as_path();
    match trimmed.file_name() {
        Some(name) if name == "projects" => trimmed.parent().unwrap_or(trimmed).to_path_buf(),
        _ => trimmed.to_path_buf(),
    }
}

/// The project and session a Claude Code transcript belongs to, from its place under
/// `projects/`.
pub fn names(relative: &Path, path: &Path) -> (String, String) {
    let parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let project = if parts.len() > 1 {
        parts[0].clone()
    } else {
        String::new()
    };
    // projects/<project>/<session>/subagents/agent-x.jsonl
    let session = match parts.as_slice() {
        [_, session, subagents, _] if subagents == "subagents" => session.clone(),
        _ => stem,
    };
    (project, session)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projects_suffix_means_parent() {
        assert_eq!(normalize(Path::new("/a/b/projects")), PathBuf::from("/a/b"));
        assert_eq!(
            normalize(Path::new("/a/b/projects/")),
            PathBuf::from("/a/b")
        );
        assert_eq!(normalize(Path::new("/a/b")), PathBuf::from("/a/b"));
    }
}
