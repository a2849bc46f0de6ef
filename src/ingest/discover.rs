//! Finds the transcripts: every `*.jsonl` below the folders the sources name (each
//! Claude Code root's `projects/`, see `sources::claude::roots`; Codex's `sessions/` and
//! `archived_sessions/`: see `sources`), each found file tagged with its agent.
//!
//! The walk never fails as a whole: an unreadable folder, a symlink loop or a link that
//! leads outside the root is reported as a warning and passed over, because one bad entry
//! must not stop the ledger from being kept.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags, Stat, openat, statat};
use rustix::io::Errno;

use crate::model::Agent;
use crate::model::{ChildKind, DirCache, Identity, Listing};
use crate::sources::{self, Folder};

/// One transcript found on disk.
#[derive(Debug)]
pub struct Transcript {
    pub agent: Agent,
    pub path: PathBuf,
    /// Where the path goes on below its folder (a Claude root's `projects/`).
    below_folder: usize,
    pub identity: Identity,
}

impl Transcript {
    /// (project, session), as its source names them from its path (Claude Code: the
    /// encoded working directory, the first folder under `projects/`, and the session the
    /// file belongs to, its stem, or for `<session>/subagents/x.jsonl` the session
    /// folder). Worked out only for the files a pass reads: most passes read few of the
    /// thousands it sees.
    pub fn names(&self) -> (String, String) {
        let relative = Path::new(OsStr::from_bytes(
            &self.path.as_os_str().as_bytes()[self.below_folder..],
        ));
        sources::of(self.agent)
            .map(|source| source.names(relative, &self.path))
            .unwrap_or_default()
    }
}

/// Why the status line cannot read a session's own transcript.
#[derive(Debug, PartialEq, Eq)]
pub enum SessionFilesError {
    /// The file is not below any root's `projects/`: a full pass would never read it.
    OutsideRoots,
    /// It is not there (not written yet, or deleted).
    Missing,
}

/// One session's own transcripts, the way a full pass finds them: `transcript` itself and
/// its subagents' files (`<session>/subagents/*.jsonl` beside it). The status line reads
/// these and nothing else. Each path is spelled below its root's `projects/` as the walk
/// spells it, so both find the same cursor; links are not followed, as in the walk.
pub fn session_transcripts(
    roots: &[PathBuf],
    transcript: &Path,
) -> Result<Vec<Transcript>, SessionFilesError> {
    let (projects, relative) = below_projects(roots, transcript)?;
    let path = projects.join(&relative);
    let below = projects.as_os_str().len() + 1;
    let regular = |path: &Path| {
        fs::symlink_metadata(path)
            .ok()
            .filter(|m| m.file_type().is_file())
            .map(|m| Identity {
                dev: m.dev(),
                inode: m.ino(),
                size: m.size(),
                mtime_ns: m.mtime() * 1_000_000_000 + m.mtime_nsec(),
            })
    };
    let identity = regular(&path).ok_or(SessionFilesError::Missing)?;
    let mut found = vec![Transcript {
        agent: Agent::Claude,
        path: path.clone(),
        below_folder: below,
        identity,
    }];
    let subagents = path.with_extension("").join("subagents");
    let mut names: Vec<OsString> = match fs::read_dir(&subagents) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.file_name()))
            .filter(|name| Path::new(name).extension() == Some(OsStr::new("jsonl")))
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    for name in names {
        let path = subagents.join(name);
        if let Some(identity) = regular(&path) {
            found.push(Transcript {
                agent: Agent::Claude,
                path,
                below_folder: below,
                identity,
            });
        }
    }
    Ok(found)
}

/// The transcripts among `paths` (files the OS or a poll said changed), as a walk would
/// find them: regular files below a source's folder that it reads, spelled as given (a
/// watcher spells them from the folder, as the walk does), links not followed. A path
/// that is gone, a folder, or outside every folder is left out: there is nothing to read
/// there.
pub fn transcripts_at<'p>(
    folders: &[Folder],
    paths: impl IntoIterator<Item = &'p Path>,
) -> Vec<Transcript> {
    let mut found = Vec::new();
    for path in paths {
        let Some(folder) = folders.iter().find(|f| path.starts_with(&f.path)) else {
            continue;
        };
        let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
            continue;
        };
        if !sources::reads(folder.agent, dir, name) {
            continue;
        }
        let Ok(meta) = fs::symlink_metadata(path) else {
            continue;
        };
        if !meta.file_type().is_file() {
            continue;
        }
        found.push(Transcript {
            agent: folder.agent,
            path: path.to_path_buf(),
            below_folder: folder.path.as_os_str().len() + 1,
            identity: Identity {
                dev: meta.dev(),
                inode: meta.ino(),
                size: meta.size(),
                mtime_ns: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
            },
        });
    }
    found
}

/// The root's `projects/` folder `transcript` lies below, and the rest of its path: by
/// the spelling first, else (a root reached through a link) by where both really are.
fn below_projects(
    roots: &[PathBuf],
    transcript: &Path,
) -> Result<(PathBuf, PathBuf), SessionFilesError> {
    let transcript = transcript.components().as_path();
    for root in roots {
        let projects = root.join("projects");
        if let Ok(rest) = transcript.strip_prefix(&projects) {
            return Ok((projects, rest.to_path_buf()));
        }
    }
    let real = fs::canonicalize(transcript).map_err(|_| SessionFilesError::Missing)?;
    for root in roots {
        let projects = root.join("projects");
        if let Ok(real_projects) = fs::canonicalize(&projects)
            && let Ok(rest) = real.strip_prefix(&real_projects)
        {
            return Ok((projects, rest.to_path_buf()));
        }
    }
    Err(SessionFilesError::OutsideRoots)
}

/// Everything one walk found, and what it could not read.
#[derive(Debug, Default)]
pub struct Found {
    /// Every transcript the walk met.
    pub seen: u64,
    /// The transcripts the caller kept (see `find_transcripts`).
    pub transcripts: Vec<Transcript>,
    pub warnings: Vec<String>,
    /// Files and folders below `projects/` that could not be read (among `warnings`).
    pub unreadable: u64,
    /// Listings made by this walk that later walks may trust (see `DirCache`).
    pub listed: Vec<(PathBuf, Listing)>,
    /// With `Track`: the transcripts modified since its threshold, with what a `stat`
    /// said of them, and every folder walked (for polling that looks where the change is).
    pub recent: Vec<(PathBuf, Identity)>,
    pub folders: Vec<(PathBuf, Stamp)>,
}

/// What tells a folder's entries changed: its inode and mtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    pub inode: u64,
    pub mtime_ns: i64,
}

impl Stamp {
    pub fn of(meta: &fs::Metadata) -> Stamp {
        Stamp {
            inode: meta.ino(),
            mtime_ns: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
        }
    }
}

/// What a walk notes beyond the transcripts to read: `Found::recent` (transcripts with an
/// mtime at or after `recent_after_ns`) and `Found::folders`.
#[derive(Clone, Copy, Debug)]
pub struct Track {
    pub recent_after_ns: i64,
}

pub(crate) const RACY_NS: i64 = 2_000_000_000;

/// Walks every folder, in a stable order: folders as given, each folder's entries by
/// name, depth first (which is the order of their paths, compared component by
/// component). Every transcript is counted in `seen`; `keep` says which ones go into
/// `transcripts` (a pass keeps the files that changed since it last read them, so the
/// thousands that did not cost no allocation).
pub fn find_transcripts(
    folders: &[Folder],
    cache: &DirCache,
    keep: impl FnMut(&Path, &Identity) -> bool,
) -> Found {
    find_tracking(folders, cache, keep, None)
}

/// `find_transcripts`, noting what `track` asks for in `Found::recent` and `Found::folders`.
pub fn find_tracking(
    folders: &[Folder],
    cache: &DirCache,
    keep: impl FnMut(&Path, &Identity) -> bool,
    track: Option<Track>,
) -> Found {
    let mut found = Found::default();
    let mut keep = keep;
    let now_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0);
    for folder in folders {
        // Its databases are read by `ingest::database`.
        if folder.database().is_some() {
            continue;
        }
        // The root and its projects/ may be links (a data folder moved to another disk):
        // the user named them. Links below it are another matter (see `Walk::link`).
        let projects = &folder.path;
        match fs::metadata(projects) {
            Ok(meta) if meta.is_dir() => {
                let mut walk = Walk {
                    agent: folder.agent,
                    projects,
                    path: projects.as_os_str().as_bytes().to_vec(),
                    bases: Vec::new(),
                    cache,
                    now_ns,
                    track,
                    keep: &mut keep,
                    found: &mut found,
                };
                walk.dir(meta.ino(), meta.mtime() * 1_000_000_000 + meta.mtime_nsec());
            }
            Ok(_) => {
                found.unreadable += 1;
                found
                    .warnings
                    .push(format!("{}: not a directory", projects.display()));
            }
            // An agent's default folder that is not there: the agent is not installed.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !folder.named => {}
            Err(e) => {
                // A named root without its folder (Claude Code's projects/) has no session
                // yet; a root that is not there at all (a mistyped --source) is a folder of
                // transcripts not read.
                let root_exists = projects.parent().is_some_and(Path::exists);
                if e.kind() != std::io::ErrorKind::NotFound || !root_exists {
                    found.unreadable += 1;
                }
                found.warnings.push(format!("{}: {e}", projects.display()));
            }
        }
    }
    found
}

/// A folder held open while the walk is inside it, and where its path ends in `Walk::path`.
struct Base {
    fd: OwnedFd,
    len: usize,
}

/// A folder with at least this many entries is held open while they are stat'ed: the
/// open and close cost less than resolving the folder's path again for each of them.
const MANY_ENTRIES: usize = 8;

/// How such a folder is opened: only to stat relative to it, which Linux's `O_PATH` allows
/// without read permission; elsewhere (macOS) a plain read-only open.
#[cfg(any(target_os = "linux", target_os = "android"))]
const OPEN_FOLDER: OFlags = OFlags::PATH
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const OPEN_FOLDER: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

struct Walk<'a, K> {
    agent: Agent,
    /// The folder walked (a Claude root's `projects/`): no link leads out of it.
    projects: &'a Path,
    /// The path of the entry at hand, as bytes: one buffer for the whole walk instead of
    /// a new path per entry.
    path: Vec<u8>,
    /// Folders held open, innermost last. Entries are stat'ed relative to the innermost
    /// one, so the kernel resolves a name or two instead of the whole path: path lookup
    /// was a sixth of a no-change pass over a big tree.
    bases: Vec<Base>,
    cache: &'a DirCache,
    now_ns: i64,
    track: Option<Track>,
    keep: &'a mut K,
    found: &'a mut Found,
}

impl<K: FnMut(&Path, &Identity) -> bool> Walk<'_, K> {
    fn path(&self) -> &Path {
        Path::new(OsStr::from_bytes(&self.path))
    }

    /// A file or folder that is there but could not be read: a warning, and the pass
    /// ends with a failing exit code once everything else is committed.
    fn unreadable(&mut self, error: std::io::Error) {
        self.found.unreadable += 1;
        self.warn(error);
    }

    fn warn(&mut self, what: impl std::fmt::Display) {
        let warning = format!("{}: {what}", self.path().display());
        self.found.warnings.push(warning);
    }

    /// Where the entry at `self.path` is reached from: the innermost open folder and the
    /// rest of the path.
    fn at(&self) -> (BorrowedFd<'_>, &[u8]) {
        match self.bases.last() {
            Some(base) => (base.fd.as_fd(), &self.path[base.len + 1..]),
            None => (CWD, &self.path),
        }
    }

    /// Walks the folder at `self.path`.
    fn dir(&mut self, inode: u64, mtime_ns: i64) {
        if self.track.is_some() {
            let path = self.path().to_path_buf();
            self.found.folders.push((path, Stamp { inode, mtime_ns }));
        }
        // The cache outlives the walk, so a cached listing is walked in place, not copied.
        let cache: &DirCache = self.cache;
        let cached = cache
            .dirs
            .get(OsStr::from_bytes(&self.path))
            .filter(|l| l.inode == inode && l.mtime_ns == mtime_ns);
        // A folder not in the cache is listed now, and walked the same way.
        let fresh = match cached {
            Some(_) => None,
            None => self.list().map(|children| Listing {
                inode,
                mtime_ns,
                children: Listing::encode(&children),
            }),
        };
        // Neither: the folder could not be read, which `list` has warned of.
        let Some(listing) = cached.or(fresh.as_ref()) else {
            return;
        };
        let opened = self.open_base(listing.len());
        for (name, kind) in listing.children() {
            self.child(name, kind);
        }
        if opened {
            self.bases.pop();
        }
        if let Some(listing) = fresh
            && mtime_ns < self.now_ns - RACY_NS
        {
            let path = self.path().to_path_buf();
            self.found.listed.push((path, listing));
        }
    }

    /// Holds the folder at `self.path` open while its `entries` are walked, when there
    /// are enough of them to pay for it. A folder that cannot be opened this way is not
    /// an error: its entries are then reached by a longer path.
    fn open_base(&mut self, entries: usize) -> bool {
        if entries < MANY_ENTRIES {
            return false;
        }
        let (from, rest) = self.at();
        match openat(from, rest, OPEN_FOLDER, Mode::empty()) {
            Ok(fd) => {
                let len = self.path.len();
                self.bases.push(Base { fd, len });
                true
            }
            Err(_) => false,
        }
    }

    fn child(&mut self, name: &OsStr, kind: ChildKind) {
        let len = self.path.len();
        self.path.push(b'/');
        self.path.extend_from_slice(name.as_bytes());
        match kind {
            ChildKind::Link => self.link(),
            ChildKind::Dir | ChildKind::Transcript => {
                let (from, rest) = self.at();
                match statat(from, rest, AtFlags::SYMLINK_NOFOLLOW) {
                    Ok(stat) => match FileType::from_raw_mode(stat.st_mode) {
                        FileType::Directory => {
                            let identity = identity_of(&stat);
                            self.dir(identity.inode, identity.mtime_ns);
                        }
                        FileType::RegularFile => self.transcript(identity_of(&stat)),
                        _ => {}
                    },
                    // Gone since it was listed: the next listing will not have it.
                    Err(Errno::NOENT) => {}
                    Err(e) => self.unreadable(std::io::Error::from(e)),
                }
            }
        }
        self.path.truncate(len);
    }

    /// The entries of `dir` the walk cares about; directory entries carry their type, so
    /// nothing here costs a `stat`.
    fn list(&mut self) -> Option<Vec<(OsString, ChildKind)>> {
        let entries = match fs::read_dir(self.path()) {
            Ok(entries) => entries,
            Err(e) => {
                self.unreadable(e);
                return None;
            }
        };
        let mut children = Vec::new();
        for entry in entries {
            let (name, kind) = match entry.and_then(|e| Ok((e.file_name(), e.file_type()?))) {
                Ok(pair) => pair,
                Err(e) => {
                    self.unreadable(e);
                    continue;
                }
            };
            let kind = if kind.is_dir() {
                // A real directory cannot lead back up the tree (no hard links to folders).
                ChildKind::Dir
            } else if kind.is_symlink() {
                ChildKind::Link
            } else if kind.is_file() && sources::reads(self.agent, self.path(), &name) {
                ChildKind::Transcript
            } else {
                continue;
            };
            children.push((name, kind));
        }
        children.sort();
        Some(children)
    }

    fn transcript(&mut self, identity: Identity) {
        self.found.seen += 1;
        if self
            .track
            .is_some_and(|t| identity.mtime_ns >= t.recent_after_ns)
        {
            let path = self.path().to_path_buf();
            self.found.recent.push((path, identity));
        }
        if !(self.keep)(Path::new(OsStr::from_bytes(&self.path)), &identity) {
            return;
        }
        let below_folder = self.projects.as_os_str().len() + 1;
        self.found.transcripts.push(Transcript {
            agent: self.agent,
            path: PathBuf::from(OsString::from_vec(self.path.clone())),
            below_folder,
            identity,
        });
    }

    /// A link either points inside projects/, which the walk reaches by its real path
    /// anyway, or outside it, where a data root must not lead: links are never followed.
    fn link(&mut self) {
        let fence = fs::canonicalize(self.projects).unwrap_or_else(|_| self.projects.to_path_buf());
        match fs::canonicalize(self.path()) {
            Ok(target) if target.starts_with(&fence) => {
                log::debug!(
                    "{}: link inside the data root, read by its own path",
                    self.path().display()
                );
            }
            Ok(target) => self.warn(format_args!(
                "link leads outside the data root ({}), not followed",
                target.display()
            )),
            // A transcript's name on a broken link: a transcript that cannot be read.
            Err(e) => {
                if self.path().extension() == Some(OsStr::new("jsonl")) {
                    self.found.unreadable += 1;
                }
                self.warn(format_args!("broken link: {e}"));
            }
        }
    }
}

/// What a `stat` says of a file's identity. The field types differ between platforms,
/// hence the casts that are no-ops on Linux.
#[allow(clippy::unnecessary_cast)]
fn identity_of(stat: &Stat) -> Identity {
    Identity {
        dev: stat.st_dev as u64,
        inode: stat.st_ino as u64,
        size: stat.st_size as u64,
        mtime_ns: stat.st_mtime as i64 * 1_000_000_000 + stat.st_mtime_nsec as i64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::claude::folders_of;

    fn all(_: &Path, _: &Identity) -> bool {
        true
    }

    fn list(dir: &Path) -> Vec<(OsString, ChildKind)> {
        let mut found = Found::default();
        let mut keep = all;
        let mut walk = Walk {
            agent: Agent::Claude,
            projects: dir,
            path: dir.as_os_str().as_bytes().to_vec(),
            bases: Vec::new(),
            cache: &DirCache::default(),
            now_ns: 0,
            track: None,
            keep: &mut keep,
            found: &mut found,
        };
        walk.list().unwrap()
    }

    #[test]
    fn session_and_project_names() {
        let tmp = tempfile::tempdir().unwrap();
        let project = tmp.path().join("projects/-home-u-app");
        fs::create_dir_all(project.join("abc/subagents")).unwrap();
        for file in ["abc.jsonl", "abc/subagents/agent-1.jsonl", "agent-9f.jsonl"] {
            fs::write(project.join(file), "{}\n").unwrap();
        }
        let found = find_transcripts(
            &folders_of(&[tmp.path().to_path_buf()]),
            &DirCache::default(),
            all,
        );
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

        let found = find_transcripts(
            &folders_of(&[tmp.path().to_path_buf()]),
            &DirCache::default(),
            all,
        );
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
        let first = find_transcripts(&folders_of(&roots), &DirCache::default(), all);
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
            let fresh = list(&dir);
            cache.dirs.insert(
                dir.into_os_string(),
                Listing {
                    inode: meta.ino(),
                    mtime_ns: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
                    children: Listing::encode(&fresh),
                },
            );
        }
        let listing = cache.dirs.get_mut(proj.as_os_str()).unwrap();
        let mut stale = list(&proj);
        stale.retain(|(name, _)| name != "s.jsonl");
        listing.children = Listing::encode(&stale);
        let cached = find_transcripts(&folders_of(&roots), &cache, all);
        assert_eq!(cached.transcripts.len(), 1, "the cached listing was used");

        // A new file changes the folder's mtime: it is listed again and the file is found.
        std::thread::sleep(std::time::Duration::from_millis(20));
        fs::write(proj.join("t.jsonl"), "{}\n").unwrap();
        let relisted = find_transcripts(&folders_of(&roots), &cache, all);
        assert_eq!(relisted.transcripts.len(), 3);
    }

    #[test]
    fn children_round_trip_through_their_encoding() {
        let children: Vec<(OsString, ChildKind)> = vec![
            ("a b.jsonl".into(), ChildKind::Transcript),
            ("sub".into(), ChildKind::Dir),
            ("l".into(), ChildKind::Link),
        ];
        let listing = Listing {
            inode: 1,
            mtime_ns: 2,
            children: Listing::encode(&children),
        };
        let decoded: Vec<(OsString, ChildKind)> = listing
            .children()
            .map(|(name, kind)| (name.to_os_string(), kind))
            .collect();
        assert_eq!(decoded, children);
    }

    /// Folders big enough to be held open and small ones below them: every file is
    /// found once, by its full path, with the identity `std` reports for it (a cursor
    /// compares the two: any difference would read every file again).
    #[test]
    fn files_below_open_folders_have_their_full_paths_and_identities() {
        let tmp = tempfile::tempdir().unwrap();
        let proj = tmp.path().join("projects/-p");
        fs::create_dir_all(proj.join("s03/subagents")).unwrap();
        let mut expected = Vec::new();
        for i in 0..2 * MANY_ENTRIES {
            let path = proj.join(format!("s{i:02}.jsonl"));
            fs::write(&path, "x".repeat(i)).unwrap();
            expected.push(path);
        }
        for i in 0..MANY_ENTRIES + 1 {
            let path = proj.join(format!("s03/subagents/agent-{i}.jsonl"));
            fs::write(&path, "{}\n").unwrap();
            expected.push(path);
        }
        expected.sort_by(|a, b| a.components().cmp(b.components()));

        let found = find_transcripts(
            &folders_of(&[tmp.path().to_path_buf()]),
            &DirCache::default(),
            all,
        );
        let paths: Vec<_> = found.transcripts.iter().map(|t| t.path.clone()).collect();
        assert_eq!(paths, expected);
        for t in &found.transcripts {
            let meta = fs::metadata(&t.path).unwrap();
            let identity = Identity {
                dev: meta.dev(),
                inode: meta.ino(),
                size: meta.size(),
                mtime_ns: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
            };
            assert_eq!(t.identity, identity, "{}", t.path.display());
        }
    }

    #[test]
    fn every_transcript_is_seen_and_only_the_kept_ones_are_returned() {
        let tmp = tempfile::tempdir().unwrap();
        let proj = tmp.path().join("projects/-p");
        fs::create_dir_all(&proj).unwrap();
        for name in ["a.jsonl", "b.jsonl", "c.jsonl"] {
            fs::write(proj.join(name), "{}\n").unwrap();
        }
        let found = find_transcripts(
            &folders_of(&[tmp.path().to_path_buf()]),
            &DirCache::default(),
            |p, _| p.ends_with("b.jsonl"),
        );
        assert_eq!(found.seen, 3);
        let kept: Vec<_> = found.transcripts.iter().map(|t| t.path.clone()).collect();
        assert_eq!(kept, vec![proj.join("b.jsonl")]);
    }

    #[test]
    fn missing_root_is_a_warning() {
        let found = find_transcripts(
            &folders_of(&[PathBuf::from("/nonexistent/cco")]),
            &DirCache::default(),
            all,
        );
        assert!(found.transcripts.is_empty());
        assert_eq!(found.warnings.len(), 1);
    }
}
