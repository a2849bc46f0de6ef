//! Finds the transcripts: which data roots to search, and every `*.jsonl` under their
//! `projects/` folders.
//!
//! A root comes from `--source`, else `CLAUDE_CONFIG_DIR` (a comma list), else the two
//! places Claude Code uses by default. The walk never fails as a whole: an unreadable
//! folder, a symlink loop or a link that leads outside the root is reported as a warning
//! and passed over, because one bad entry must not stop the ledger from being kept.

use std::ffi::{OsStr, OsString};
use std::fs::{self, Metadata};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
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
    /// Where the path goes on below its root's `projects/` folder.
    below_projects: usize,
    pub meta: Metadata,
}

impl Transcript {
    /// (project, session): the encoded working directory (the first folder under
    /// `projects/`), and the session the file belongs to (its stem, or for
    /// `<session>/subagents/x.jsonl` the session folder). Worked out only for the files
    /// a pass reads: most passes read few of the thousands it sees.
    pub fn names(&self) -> (String, String) {
        let relative = Path::new(OsStr::from_bytes(
            &self.path.as_os_str().as_bytes()[self.below_projects..],
        ));
        names(relative, &self.path)
    }
}

/// Everything one walk found, and what it could not read.
#[derive(Debug, Default)]
pub struct Found {
    pub transcripts: Vec<Transcript>,
    pub warnings: Vec<String>,
    /// Listings made by this walk that later walks may trust (see `DirCache`).
    pub listed: Vec<(PathBuf, Listing)>,
}

/// What a directory held when it was listed, keyed by its inode and mtime.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listing {
    pub inode: u64,
    pub mtime_ns: i64,
    /// Sub-directories, transcripts and links, by name: all the walk looks at.
    pub children: Vec<(OsString, ChildKind)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChildKind {
    Dir,
    Transcript,
    Link,
}

/// Directory listings from earlier walks. A directory whose inode and mtime are unchanged
/// has the same entries, so it costs one `stat` instead of an open, a read and a close:
/// most of a no-change pass over thousands of session folders.
///
/// A listing is kept only if the directory was last modified at least `RACY_NS` before it
/// was listed: mtime ticks are coarse, and an entry added within the same tick as the
/// listing would otherwise leave the mtime unchanged and go unseen for good.
#[derive(Debug, Default)]
pub struct DirCache {
    /// By the directory's path bytes (see `batch::Cursors` for why not `Path`).
    pub dirs: foldhash::HashMap<OsString, Listing>,
}

const RACY_NS: i64 = 2_000_000_000;

impl Listing {
    /// `children` as stored: one kind byte, the name, a NUL, per child.
    pub fn encode_children(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, kind) in &self.children {
            out.push(match kind {
                ChildKind::Dir => b'd',
                ChildKind::Transcript => b'f',
                ChildKind::Link => b'l',
            });
            out.extend_from_slice(name.as_bytes());
            out.push(0);
        }
        out
    }

    pub fn decode_children(bytes: &[u8]) -> Vec<(OsString, ChildKind)> {
        bytes
            .split(|&b| b == 0)
            .filter_map(|item| {
                let (&kind, name) = item.split_first()?;
                let kind = match kind {
                    b'd' => ChildKind::Dir,
                    b'f' => ChildKind::Transcript,
                    b'l' => ChildKind::Link,
                    _ => return None,
                };
                Some((OsString::from_vec(name.to_vec()), kind))
            })
            .collect()
    }
}

/// Walks `projects/` under every root, in a stable order: roots as given, each folder's
/// entries by name, depth first (which is the order of their paths, compared component
/// by component).
pub fn find_transcripts(roots: &[PathBuf], cache: &DirCache) -> Found {
    let mut found = Found::default();
    let now_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0);
    for root in roots {
        // The root and its projects/ may be links (a data folder moved to another disk):
        // the user named them. Links below it are another matter (see `Walk::entry`).
        let projects = root.join("projects");
        match fs::metadata(&projects) {
            Ok(meta) if meta.is_dir() => {
                let mut walk = Walk {
                    projects: &projects,
                    cache,
                    now_ns,
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
    found
}

struct Walk<'a> {
    projects: &'a Path,
    cache: &'a DirCache,
    now_ns: i64,
    found: &'a mut Found,
}

impl Walk<'_> {
    fn warn(&mut self, path: &Path, what: impl std::fmt::Display) {
        self.found
            .warnings
            .push(format!("{}: {what}", path.display()));
    }

    fn dir(&mut self, dir: &Path, meta: &Metadata) {
        let mtime_ns = meta.mtime() * 1_000_000_000 + meta.mtime_nsec();
        // The cache outlives the walk, so a cached listing is walked in place, not copied.
        let cache: &DirCache = self.cache;
        let cached = cache
            .dirs
            .get(dir.as_os_str())
            .filter(|l| l.inode == meta.ino() && l.mtime_ns == mtime_ns);
        if let Some(listing) = cached {
            for (name, kind) in &listing.children {
                self.child(dir, name, *kind);
            }
            return;
        }
        let Some(children) = self.list(dir) else {
            return;
        };
        for (name, kind) in &children {
            self.child(dir, name, *kind);
        }
        if mtime_ns < self.now_ns - RACY_NS {
            let listing = Listing {
                inode: meta.ino(),
                mtime_ns,
                children,
            };
            self.found.listed.push((dir.to_path_buf(), listing));
        }
    }

    fn child(&mut self, dir: &Path, name: &OsStr, kind: ChildKind) {
        let path = dir.join(name);
        match kind {
            ChildKind::Link => self.link(&path),
            ChildKind::Dir | ChildKind::Transcript => match fs::symlink_metadata(&path) {
                Ok(meta) if meta.is_dir() => self.dir(&path, &meta),
                Ok(meta) if meta.is_file() => self.transcript(path, meta),
                Ok(_) => {}
                // Gone since it was listed: the next listing will not have it.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => self.warn(&path, e),
            },
        }
    }

    #[cfg(test)]
    fn list_for_test(dir: &Path) -> Vec<(OsString, ChildKind)> {
        let mut found = Found::default();
        let cache = DirCache::default();
        let mut walk = Walk {
            projects: dir,
            cache: &cache,
            now_ns: 0,
            found: &mut found,
        };
        walk.list(dir).unwrap()
    }

    /// The entries of `dir` the walk cares about; directory entries carry their type, so
    /// nothing here costs a `stat`.
    fn list(&mut self, dir: &Path) -> Option<Vec<(OsString, ChildKind)>> {
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => {
                self.warn(dir, e);
                return None;
            }
        };
        let mut children = Vec::new();
        for entry in entries {
            let (name, kind) = match entry.and_then(|e| Ok((e.file_name(), e.file_type()?))) {
                Ok(pair) => pair,
                Err(e) => {
                    self.warn(dir, e);
                    continue;
                }
            };
            let kind = if kind.is_dir() {
                // A real directory cannot lead back up the tree (no hard links to folders).
                ChildKind::Dir
            } else if kind.is_symlink() {
                ChildKind::Link
            } else if kind.is_file() && Path::new(&name).extension() == Some(OsStr::new("jsonl")) {
                ChildKind::Transcript
            } else {
                continue;
            };
            children.push((name, kind));
        }
        children.sort();
        Some(children)
    }

    fn transcript(&mut self, path: PathBuf, meta: Metadata) {
        let below_projects = self.projects.as_os_str().len() + 1;
        self.found.transcripts.push(Transcript {
            path,
            below_projects,
            meta,
        });
    }

    /// A link either points inside projects/, which the walk reaches by its real path
    /// anyway, or outside it, where a data root must not lead: links are never followed.
    fn link(&mut self, path: &Path) {
        let fence = fs::canonicalize(self.projects).unwrap_or_else(|_| self.projects.to_path_buf());
        match fs::canonicalize(path) {
            Ok(target) if target.starts_with(&fence) => {
                log::debug!(
                    "{}: link inside the data root, read by its own path",
                    path.display()
                );
            }
            Ok(target) => self.warn(
                path,
                format_args!(
                    "link leads outside the data root ({}), not followed",
                    target.display()
                ),
            ),
            Err(e) => self.warn(path, format_args!("broken link: {e}")),
        }
    }
}

/// The project and session a transcript belongs to, from its place under `projects/`.
fn names(relative: &Path, path: &Path) -> (String, String) {
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
        let tmp = tempfile::tempdir().unwrap();
        let project = tmp.path().join("projects/-home-u-app");
        fs::create_dir_all(project.join("abc/subagents")).unwrap();
        for file in ["abc.jsonl", "abc/subagents/agent-1.jsonl", "agent-9f.jsonl"] {
            fs::write(project.join(file), "{}\n").unwrap();
        }
        let found = find_transcripts(&[tmp.path().to_path_buf()], &DirCache::default());
        let names: Vec<(String, String)> =
            found.transcripts.iter().map(Transcript::names).collect();
        let expected = [
            ("-home-u-app", "abc"),
            ("-home-u-app", "abc"),
            ("-home-u-app", "agent-9f"),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(p, s)| (p.to_string(), s.to_string()))
            .collect();
        assert_eq!(names, expected);
    }

    #[test]
    fn links_below_projects_are_never_followed() {
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

        let found = find_transcripts(&[tmp.path().to_path_buf()], &DirCache::default());
        let paths: Vec<_> = found.transcripts.iter().map(|t| t.path.clone()).collect();
        assert_eq!(
            paths,
            vec![proj.join("s.jsonl")],
            "each transcript once, by its real path"
        );
        assert_eq!(found.warnings.len(), 1, "{:?}", found.warnings);
        assert!(found.warnings[0].contains("outside the data root"));
    }

    #[test]
    fn a_trusted_listing_is_reused_and_a_changed_folder_listed_again() {
        let tmp = tempfile::tempdir().unwrap();
        let proj = tmp.path().join("projects/-p");
        fs::create_dir_all(proj.join("s/subagents")).unwrap();
        fs::write(proj.join("s.jsonl"), "{}\n").unwrap();
        fs::write(proj.join("s/subagents/agent-1.jsonl"), "{}\n").unwrap();
        let roots = [tmp.path().to_path_buf()];

        // Just modified: too recent to trust, so nothing is kept.
        let first = find_transcripts(&roots, &DirCache::default());
        assert_eq!(first.transcripts.len(), 2);
        assert!(first.listed.is_empty());

        // A listing of an old folder is kept and reused, even when it is stale on purpose.
        let mut cache = DirCache::default();
        for dir in [
            tmp.path().join("projects"),
            proj.clone(),
            proj.join("s"),
            proj.join("s/subagents"),
        ] {
            let meta = fs::metadata(&dir).unwrap();
            let fresh = Walk::list_for_test(&dir);
            cache.dirs.insert(
                dir.into_os_string(),
                Listing {
                    inode: meta.ino(),
                    mtime_ns: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
                    children: fresh,
                },
            );
        }
        let listing = cache.dirs.get_mut(proj.as_os_str()).unwrap();
        listing.children.retain(|(name, _)| name != "s.jsonl");
        let cached = find_transcripts(&roots, &cache);
        assert_eq!(cached.transcripts.len(), 1, "the cached listing was used");

        // A new file changes the folder's mtime: it is listed again and the file is found.
        std::thread::sleep(std::time::Duration::from_millis(20));
        fs::write(proj.join("t.jsonl"), "{}\n").unwrap();
        let relisted = find_transcripts(&roots, &cache);
        assert_eq!(relisted.transcripts.len(), 3);
    }

    #[test]
    fn children_round_trip_through_their_encoding() {
        let listing = Listing {
            inode: 1,
            mtime_ns: 2,
            children: vec![
                ("a b.jsonl".into(), ChildKind::Transcript),
                ("sub".into(), ChildKind::Dir),
                ("l".into(), ChildKind::Link),
            ],
        };
        assert_eq!(
            Listing::decode_children(&listing.encode_children()),
            listing.children
        );
    }

    #[test]
    fn missing_root_is_a_warning() {
        let found = find_transcripts(&[PathBuf::from("/nonexistent/cco")], &DirCache::default());
        assert!(found.transcripts.is_empty());
        assert_eq!(found.warnings.len(), 1);
    }
}
