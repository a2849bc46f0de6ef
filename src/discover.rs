//! Finds the transcripts: which data roots to search, and every `*.jsonl` under their
//! `projects/` folders.
//!
//! A root comes from `--source`, else `CLAUDE_CONFIG_DIR` (a comma list), else the two
//! places Claude Code uses by default. The walk never fails as a whole: an unreadable
//! folder, a symlink loop or a link that leads outside the root is reported as a warning
//! and passed over, because one bad entry must not stop the ledger from being kept.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::{self, Metadata};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

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
    match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(xdg) => roots.push(PathBuf::from(xdg).join("claude")),
        None => roots.extend(home().map(|h| h.join(".config").join("claude"))),
    }
    roots.extend(home().map(|h| h.join(".claude")));
    roots
}

pub fn home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

fn expand_tilde(path: &str) -> PathBuf {
    match (path.strip_prefix('~'), home()) {
        (Some(rest), Some(home)) if rest.is_empty() || rest.starts_with('/') => {
            home.join(rest.trim_start_matches('/'))
        }
        _ => PathBuf::from(path),
    }
}

/// A root named by its `projects` folder means the folder above it.
fn normalize(path: &Path) -> PathBuf {
    let trimmed: &Path = path.components().as_path();
    match trimmed.file_name() {
        Some(name) if name == "projects" => trimmed.parent().unwrap_or(trimmed).to_path_buf(),
        _ => trimmed.to_path_buf(),
    }
}

/// One transcript found on disk.
#[derive(Debug)]
pub struct Transcript {
    pub path: PathBuf,
    /// The encoded working directory: the first folder under `projects/`.
    pub project: String,
    /// The session the file belongs to: its stem, or for `<session>/subagents/x.jsonl`
    /// the session folder.
    pub session_id: String,
    pub meta: Metadata,
}

/// Everything one walk found, and what it could not read.
#[derive(Debug, Default)]
pub struct Found {
    pub transcripts: Vec<Transcript>,
    pub warnings: Vec<String>,
}

/// Walks `projects/` under every root, in a stable order (sorted paths).
pub fn find_transcripts(roots: &[PathBuf]) -> Found {
    let mut found = Found::default();
    for root in roots {
        let projects = root.join("projects");
        match fs::metadata(&projects) {
            Ok(meta) if meta.is_dir() => {
                let fence = fs::canonicalize(&projects).unwrap_or_else(|_| projects.clone());
                let mut walk = Walk {
                    projects: &projects,
                    fence: &fence,
                    seen_dirs: HashSet::new(),
                    found: &mut found,
                };
                walk.dir(&projects, &meta);
            }
            Ok(_) => found
                .warnings
                .push(format!("{}: not a directory", projects.display())),
            Err(e) => found.warnings.push(format!("{}: {e}", projects.display())),
        }
    }
    found.transcripts.sort_by(|a, b| a.path.cmp(&b.path));
    found
}

struct Walk<'a> {
    projects: &'a Path,
    /// The canonical `projects/` folder: links are followed only to places inside it.
    fence: &'a Path,
    seen_dirs: HashSet<(u64, u64)>,
    found: &'a mut Found,
}

impl Walk<'_> {
    fn warn(&mut self, path: &Path, what: impl std::fmt::Display) {
        self.found
            .warnings
            .push(format!("{}: {what}", path.display()));
    }

    fn dir(&mut self, dir: &Path, meta: &Metadata) {
        if !self.seen_dirs.insert((meta.dev(), meta.ino())) {
            self.warn(
                dir,
                "directory already visited (symlink loop?), passed over",
            );
            return;
        }
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => return self.warn(dir, e),
        };
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    self.warn(dir, e);
                    continue;
                }
            };
            self.entry(&entry.path());
        }
    }

    fn entry(&mut self, path: &Path) {
        let link = match fs::symlink_metadata(path) {
            Ok(meta) => meta,
            Err(e) => return self.warn(path, e),
        };
        let meta = if link.file_type().is_symlink() {
            match fs::canonicalize(path) {
                Ok(target) if target.starts_with(self.fence) => match fs::metadata(&target) {
                    Ok(meta) => meta,
                    Err(e) => return self.warn(path, e),
                },
                Ok(target) => {
                    return self.warn(
                        path,
                        format_args!(
                            "link leads outside the data root ({}), not followed",
                            target.display()
                        ),
                    );
                }
                Err(e) => return self.warn(path, format_args!("broken link: {e}")),
            }
        } else {
            link
        };
        if meta.is_dir() {
            self.dir(path, &meta);
        } else if meta.is_file() && path.extension() == Some(OsStr::new("jsonl")) {
            let (project, session_id) = names(self.projects, path);
            self.found.transcripts.push(Transcript {
                path: path.to_path_buf(),
                project,
                session_id,
                meta,
            });
        }
    }
}

/// The project and session a transcript belongs to, from its place under `projects/`.
fn names(projects: &Path, path: &Path) -> (String, String) {
    let relative = path.strip_prefix(projects).unwrap_or(path);
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

    #[test]
    fn session_and_project_names() {
        let p = Path::new("/r/projects");
        assert_eq!(
            names(p, Path::new("/r/projects/-home-u-app/abc.jsonl")),
            ("-home-u-app".into(), "abc".into())
        );
        assert_eq!(
            names(
                p,
                Path::new("/r/projects/-home-u-app/abc/subagents/agent-1.jsonl")
            ),
            ("-home-u-app".into(), "abc".into())
        );
        assert_eq!(
            names(p, Path::new("/r/projects/-home-u-app/agent-9f.jsonl")),
            ("-home-u-app".into(), "agent-9f".into())
        );
    }

    #[test]
    fn walk_survives_loops_and_fences_links() {
        let tmp = tempfile::tempdir().unwrap();
        let projects = tmp.path().join("projects");
        let proj = projects.join("-p");
        fs::create_dir_all(&proj).unwrap();
        fs::write(proj.join("s.jsonl"), "{}\n").unwrap();
        fs::write(proj.join("notes.txt"), "x").unwrap();
        fs::create_dir_all(proj.join("dir.jsonl")).unwrap();
        std::os::unix::fs::symlink(&proj, proj.join("loop")).unwrap();
        let outside = tmp.path().join("outside");
        fs::create_dir_all(&outside).unwrap();
        fs::write(outside.join("x.jsonl"), "{}\n").unwrap();
        std::os::unix::fs::symlink(&outside, proj.join("out")).unwrap();

        let found = find_transcripts(&[tmp.path().to_path_buf()]);
        let paths: Vec<_> = found.transcripts.iter().map(|t| t.path.clone()).collect();
        assert_eq!(paths, vec![proj.join("s.jsonl")]);
        assert!(
            found
                .warnings
                .iter()
                .any(|w| w.contains("outside the data root"))
        );
        assert!(found.warnings.iter().any(|w| w.contains("already visited")));
    }

    #[test]
    fn missing_root_is_a_warning() {
        let found = find_transcripts(&[PathBuf::from("/nonexistent/cco")]);
        assert!(found.transcripts.is_empty());
        assert_eq!(found.warnings.len(), 1);
    }
}
