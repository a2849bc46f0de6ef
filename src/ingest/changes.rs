//! What `watch` and `live` read next, and when: the OS's change notification where it
//! has one, else polling that spends where the change is.
//!
//! **notify** (inotify on Linux, FSEvents on macOS, through the `notify` crate's
//! synchronous API: its own thread, a std channel): a transcript the OS says was written,
//! created or renamed into place is read from its cursor ~200 ms after the first event
//! (one read for a burst of lines). A new folder (a project, a session's `subagents/`) is
//! watched by the crate as it appears, and triggers a full pass, which finds whatever was
//! written into it before its watch was in place. An idle `watch` then costs nothing but
//! the full pass of `--rescan`, the safety net that also runs at once after an event-queue
//! overflow or a watch error. When the watch limit (`fs.inotify.max_user_watches`) or the
//! backend fails, it falls back to polling, saying so once.
//!
//! **poll** (`--poll`, or the fallback): every interval it `stat`s only the transcripts
//! changed in the last hour (as of the last full pass, or read since), the folders where
//! new files appear (each root's `projects/`, every project folder, folders changed in the
//! last hour, and the session and `subagents/` folders of those recent transcripts); a
//! changed folder brings the full pass forward. Everything else is seen by the full pass
//! every `--rescan`. Idle polling costs the active sessions, not the history.
//!
//! Either way a file is read through the same cursor logic as a pass (a truncated or
//! replaced file is read again from 0), so the guarantees of `once` hold unchanged.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::{Duration, Instant};

use anyhow::Result;
use notify::event::{AccessKind, AccessMode, CreateKind, ModifyKind};
use notify::{Event, EventKind, RecursiveMode, Watcher as _};
use serde::{Deserialize, Serialize};

use crate::ingest::discover::{Stamp, Track};
use crate::ingest::{Ingestor, PassStats, database};
use crate::model::Identity;
use crate::sources::Folder;

/// How long after a first event the files it named are read: a response's lines come
/// in a burst, and one read takes them all.
pub const DEBOUNCE: Duration = Duration::from_millis(200);
/// Transcripts changed this recently are polled every interval.
pub const HOT: Duration = Duration::from_secs(3600);
/// How soon a stop (Ctrl-C, SIGTERM) is seen while waiting, where no `Waker` tells of
/// it at once.
const STOP_CHECK: Duration = Duration::from_secs(1);
/// `watch`'s record of itself in `meta` is rewritten at most this often (and on a change
/// of mode, after a full pass and at exit).
const RECORD_EVERY: Duration = Duration::from_secs(10);

/// The `meta` key of what the last `watch` or `live` recorded of itself.
pub const WATCH_META: &str = "watch";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Notify,
    Poll,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Notify => "notify",
            Mode::Poll => "poll",
        }
    }
}

/// When to look: `interval` for polling, `rescan` for the full pass, `poll` to never try
/// notification (network file systems).
#[derive(Clone, Copy, Debug)]
pub struct Schedule {
    pub interval: Duration,
    pub rescan: Duration,
    pub poll: bool,
}

/// What there is to do now.
#[derive(Debug)]
pub enum Work {
    /// Walk every root (the first look, the safety net, after an overflow, an error or a
    /// new folder).
    Full,
    /// Read these files from their cursors.
    Files(Vec<PathBuf>),
}

/// What `status` shows of the last `watch` or `live`: stored as JSON in `meta`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Record {
    pub mode: Mode,
    /// Why the mode is poll, when it was not asked for.
    #[serde(default)]
    pub fallback: Option<String>,
    pub pid: u32,
    pub started_at: String,
    /// Change events received from the OS (those about transcripts and folders).
    pub events: u64,
    pub full_passes: u64,
    pub updated_at: String,
}

/// What the waiting loop is woken by: the crate's events, or a `Waker`.
enum Msg {
    Event(notify::Result<Event>),
    Wake,
}

/// Wakes a waiting `Changes::next` at once (a signal handler's: the loop then sees its
/// stop flag without waking up every so often to look).
#[derive(Clone)]
pub struct Waker(Sender<Msg>);

impl Waker {
    pub fn wake(&self) {
        // Nobody waiting any more: nothing to wake.
        let _ = self.0.send(Msg::Wake);
    }
}

/// The OS's change notification: the crate's watcher, which sends on `Changes::inbox`.
struct Notify {
    watcher: notify::RecommendedWatcher,
    /// Folders not there yet whose parent is: the parent is watched until they appear.
    waiting: Vec<PathBuf>,
    /// Folders whose parent is not there either: tried again after each full pass.
    missing: Vec<PathBuf>,
    /// Each watched folder as the crate spells it in events (absolute, as it makes it)
    /// and as the walk and the ledger's cursors spell it (as the root was given).
    spellings: Vec<(PathBuf, PathBuf)>,
    /// Folders watched without what is below them: an agent's database folder, whose
    /// other files (OpenCode's git snapshots) are none of ours.
    flat: Vec<PathBuf>,
}

impl Notify {
    fn start(folders: &[Folder], tx: Sender<Msg>) -> notify::Result<Notify> {
        let watcher = notify::recommended_watcher(move |event| {
            // The loop is gone only when `watch` ends.
            let _ = tx.send(Msg::Event(event));
        })?;
        let mut notify = Notify {
            watcher,
            waiting: Vec::new(),
            missing: Vec::new(),
            spellings: Vec::new(),
            flat: folders
                .iter()
                .filter(|f| f.database().is_some())
                .map(|f| f.path.clone())
                .collect(),
        };
        for folder in folders {
            notify.watch_folder(&folder.path)?;
        }
        Ok(notify)
    }

    /// Watches `folder` (a root's `projects/`, a Codex `sessions/`) and all below it, or
    /// the folder above it until it appears.
    fn watch_folder(&mut self, folder: &Path) -> notify::Result<()> {
        let parent = folder.parent().unwrap_or(folder);
        if folder.is_dir() {
            let mode = match self.flat.iter().any(|f| f == folder) {
                true => RecursiveMode::NonRecursive,
                false => RecursiveMode::Recursive,
            };
            self.watcher.watch(folder, mode)?;
            self.spell(folder);
            if let Some(at) = self.waiting.iter().position(|f| f == folder) {
                self.waiting.remove(at);
                // Gone or not, it is no longer needed (unless another folder waits there,
                // or it is a folder of databases, watched for itself: Copilot's home).
                if !self.waiting.iter().any(|f| f.parent() == Some(parent))
                    && !self.flat.iter().any(|f| f == parent)
                {
                    let _ = self.watcher.unwatch(parent);
                }
            }
        } else if parent.is_dir() {
            if !self.waiting.iter().any(|f| f == folder) {
                if !self.waiting.iter().any(|f| f.parent() == Some(parent)) {
                    self.watcher.watch(parent, RecursiveMode::NonRecursive)?;
                    self.spell(parent);
                }
                self.waiting.push(folder.to_path_buf());
            }
        } else if !self.missing.iter().any(|f| f == folder) {
            self.missing.push(folder.to_path_buf());
        }
        Ok(())
    }

    /// Watches the folders that were missing and are there now.
    fn retry_missing(&mut self) -> notify::Result<()> {
        for folder in std::mem::take(&mut self.missing) {
            self.watch_folder(&folder)?;
        }
        Ok(())
    }

    fn spell(&mut self, ours: &Path) {
        // What the crate does with a relative path (inotify), and where the folder really
        // is (FSEvents reports resolved paths; a root may be reached through a link).
        let absolute = match std::env::current_dir() {
            Ok(cwd) if ours.is_relative() => cwd.join(ours),
            _ => ours.to_path_buf(),
        };
        let real = std::fs::canonicalize(ours).ok();
        for theirs in std::iter::once(absolute).chain(real) {
            if theirs != ours && !self.spellings.iter().any(|(t, _)| *t == theirs) {
                self.spellings.push((theirs, ours.to_path_buf()));
            }
        }
    }

    /// An event's path as the ledger spells it.
    fn ours(&self, path: PathBuf) -> PathBuf {
        for (theirs, ours) in &self.spellings {
            if let Ok(rest) = path.strip_prefix(theirs) {
                return ours.join(rest);
            }
        }
        path
    }
}

/// Polling's state: what each polled entry looked like when last seen.
#[derive(Default)]
struct Hot {
    files: HashMap<PathBuf, Identity>,
    folders: HashMap<PathBuf, Stamp>,
}

pub struct Changes {
    folders: Vec<Folder>,
    schedule: Schedule,
    notify: Option<Notify>,
    /// Events and wake-ups; `outbox` is what the watcher and `Waker`s send on.
    inbox: Receiver<Msg>,
    outbox: Sender<Msg>,
    record: Record,
    recorded: Option<Instant>,
    next_full: Instant,
    /// Files named by events, and when the first of them came.
    pending: BTreeSet<PathBuf>,
    pending_since: Option<Instant>,
    hot: Hot,
    next_poll: Instant,
}

impl Changes {
    /// Watches `folders` unless `schedule.poll`; a backend that fails is a warning, and
    /// polling. The first work is a full pass, after the watch is in place so that
    /// nothing written in between is missed.
    pub fn start(folders: &[Folder], schedule: Schedule) -> Changes {
        let now = Instant::now();
        let (outbox, inbox) = channel();
        let mut changes = Changes {
            folders: folders.to_vec(),
            schedule,
            notify: None,
            inbox,
            outbox,
            record: Record {
                mode: Mode::Poll,
                fallback: None,
                pid: std::process::id(),
                started_at: jiff::Timestamp::now().to_string(),
                events: 0,
                full_passes: 0,
                updated_at: String::new(),
            },
            recorded: None,
            next_full: now,
            pending: BTreeSet::new(),
            pending_since: None,
            hot: Hot::default(),
            next_poll: now,
        };
        if !schedule.poll {
            match Notify::start(folders, changes.outbox.clone()) {
                Ok(notify) => {
                    changes.notify = Some(notify);
                    changes.record.mode = Mode::Notify;
                }
                Err(e) => changes.fall_back(&e),
            }
        }
        changes
    }

    /// What wakes `next` at once: for the signal handler.
    pub fn waker(&self) -> Waker {
        Waker(self.outbox.clone())
    }

    pub fn mode(&self) -> Mode {
        self.record.mode
    }

    pub fn record(&self) -> &Record {
        &self.record
    }

    /// A full pass at once (`live`'s `r`).
    pub fn ask_full(&mut self) {
        self.next_full = Instant::now();
    }

    /// After a failed pass: everything again, once `after` has passed.
    pub fn retry_after(&mut self, after: Duration) {
        self.pending.clear();
        self.pending_since = None;
        self.next_full = Instant::now() + after;
    }

    /// When work may next be due, at the latest: what a caller that waits on something
    /// else (`live`'s keys) should wait until.
    pub fn deadline(&self) -> Instant {
        let mut at = self.next_full;
        if let Some(since) = self.pending_since {
            at = at.min(since + DEBOUNCE);
        }
        if self.notify.is_none() {
            at = at.min(self.next_poll);
        }
        at
    }

    /// Waits up to `wait` for work (`Duration::MAX`: until there is some); `None` when
    /// there was none by then, or on `stop`.
    pub fn next(&mut self, wait: Duration, stop: &AtomicBool) -> Option<Work> {
        let start = Instant::now();
        let until = start
            .checked_add(wait)
            .unwrap_or(start + Duration::from_secs(1 << 30));
        loop {
            if stop.load(Ordering::SeqCst) {
                return None;
            }
            // What is queued, without waiting (all `live` asks for).
            while let Ok(msg) = self.inbox.try_recv() {
                self.on_message(msg);
            }
            if let Some(work) = self.due() {
                return Some(work);
            }
            let now = Instant::now();
            if now >= until {
                return None;
            }
            let deadline = self.deadline().min(until).min(now + STOP_CHECK);
            let left = deadline.saturating_duration_since(now);
            // Never disconnected: `self.outbox` is a sender too.
            if let Ok(msg) = self.inbox.recv_timeout(left) {
                self.on_message(msg);
            }
        }
    }

    fn on_message(&mut self, msg: Msg) {
        match msg {
            // Events queued before a fall-back to polling are of no use any more.
            Msg::Event(event) if self.notify.is_some() => self.on_event(event),
            Msg::Event(_) | Msg::Wake => {}
        }
    }

    /// The work due now, if any.
    fn due(&mut self) -> Option<Work> {
        let now = Instant::now();
        if now >= self.next_full {
            self.pending.clear();
            self.pending_since = None;
            self.next_full = now + self.schedule.rescan;
            self.next_poll = now + self.schedule.interval;
            return Some(Work::Full);
        }
        if self
            .pending_since
            .is_some_and(|since| now >= since + DEBOUNCE)
        {
            self.pending_since = None;
            let files: Vec<PathBuf> = std::mem::take(&mut self.pending).into_iter().collect();
            return Some(Work::Files(files));
        }
        if self.notify.is_none() && now >= self.next_poll {
            self.next_poll = now + self.schedule.interval;
            return self.poll_hot();
        }
        None
    }

    fn on_event(&mut self, event: notify::Result<Event>) {
        let event = match event {
            Ok(event) => event,
            Err(e) if matches!(e.kind, notify::ErrorKind::MaxFilesWatch) => {
                // A folder that cannot be watched would never be seen: poll instead.
                self.fall_back(&e);
                return;
            }
            Err(e) => {
                log::warn!("change notification: {e}; walking every root now");
                self.next_full = Instant::now();
                return;
            }
        };
        if event.need_rescan() {
            log::info!("change notification: the event queue overflowed; walking every root");
            self.record.events += 1;
            self.next_full = Instant::now();
            return;
        }
        match event.kind {
            // Reads (ours among them) and attribute changes tell nothing new.
            EventKind::Access(AccessKind::Close(AccessMode::Write)) => {}
            EventKind::Access(_) | EventKind::Modify(ModifyKind::Metadata(_)) => return,
            EventKind::Remove(_) => return,
            _ => {}
        }
        self.record.events += 1;
        let folder = matches!(event.kind, EventKind::Create(CreateKind::Folder));
        for path in event.paths {
            let path = match &self.notify {
                Some(notify) => notify.ours(path),
                None => path,
            };
            // A database written (its WAL, or the file itself at a checkpoint), first: its
            // folder may be where another folder is awaited (Copilot's home, its
            // `session-state/`).
            if let Some(db) = database::database_of(&self.folders, &path) {
                self.pending.insert(db.path);
                self.pending_since.get_or_insert_with(Instant::now);
                continue;
            }
            if self.waiting_for(&path) {
                continue;
            }
            if folder || !crate::sources::any_reads(&path) {
                // A new or renamed folder: files may be written into it before the crate
                // has its watch in place (it adds it after handing over the event). A
                // full pass a debounce later finds those; later ones come as events.
                if folder || path.is_dir() {
                    self.next_full = self.next_full.min(Instant::now() + DEBOUNCE);
                }
                continue;
            }
            self.pending.insert(path);
            self.pending_since.get_or_insert_with(Instant::now);
        }
    }

    /// Whether `path` is a folder awaited appearing (then watched, and a full pass due),
    /// or something else beside it: not a transcript either way.
    fn waiting_for(&mut self, path: &Path) -> bool {
        let Some(notify) = self.notify.as_mut() else {
            return false;
        };
        if !notify.waiting.iter().any(|f| path.parent() == f.parent()) {
            return false;
        }
        if notify.waiting.iter().any(|f| f == path) && path.is_dir() {
            if let Err(e) = notify.watch_folder(path) {
                self.fall_back(&e);
            }
            self.next_full = Instant::now();
        }
        true
    }

    /// Polling from now on, said once with the reason and the way out.
    fn fall_back(&mut self, error: &notify::Error) {
        if self.notify.take().is_none() && self.record.fallback.is_some() {
            return;
        }
        let why = match error.kind {
            notify::ErrorKind::MaxFilesWatch => "the inotify watch limit is reached (fs.inotify.max_user_watches; raise it with `sysctl fs.inotify.max_user_watches=524288`)".to_string(),
            _ => error.to_string(),
        };
        log::warn!(
            "cannot watch for changes: {why}; polling instead: recently changed transcripts every {}, all of them every {}",
            humantime::format_duration(self.schedule.interval),
            humantime::format_duration(self.schedule.rescan),
        );
        self.record.mode = Mode::Poll;
        self.record.fallback = Some(why);
        self.recorded = None;
        self.pending.clear();
        self.pending_since = None;
        // A full pass at once tells polling what to look at (and reads what the events
        // in flight were about).
        self.next_full = Instant::now();
        self.next_poll = Instant::now();
    }

    /// One `stat` per polled entry: the transcripts that changed, or a full pass when a
    /// folder did (something new in it).
    fn poll_hot(&mut self) -> Option<Work> {
        for (path, stamp) in &mut self.hot.folders {
            match std::fs::symlink_metadata(path) {
                Ok(meta) if Stamp::of(&meta) == *stamp => {}
                Ok(_) => {
                    self.next_full = Instant::now();
                    return self.due();
                }
                // Gone: whatever it held is left as recorded.
                Err(_) => {}
            }
        }
        let mut changed = Vec::new();
        self.hot.files.retain(|path, seen| {
            let Ok(meta) = std::fs::symlink_metadata(path) else {
                return false;
            };
            let now = identity_of(&meta);
            if now != *seen {
                *seen = now;
                changed.push(path.clone());
            }
            true
        });
        (!changed.is_empty()).then_some(Work::Files(changed))
    }

    /// Does `work` with `ingestor`, keeping what polling needs and `status`'s record.
    pub fn run(
        &mut self,
        ingestor: &mut Ingestor<'_>,
        work: Work,
        stop: &AtomicBool,
    ) -> Result<PassStats> {
        let stats = match work {
            Work::Full => {
                let stats = if let Some(notify) = self.notify.as_mut() {
                    if let Err(e) = notify.retry_missing() {
                        self.fall_back(&e);
                    }
                    ingestor.pass(&self.folders, stop)?
                } else {
                    let now_ns = jiff::Timestamp::now().as_nanosecond() as i64;
                    let track = Track {
                        recent_after_ns: now_ns - HOT.as_nanos() as i64,
                    };
                    let (stats, found) =
                        ingestor.pass_tracking(&self.folders, stop, Some(track))?;
                    self.hot = hot_set(&self.folders, found.recent, found.folders);
                    self.hot.add_databases(&self.folders);
                    stats
                };
                self.record.full_passes += 1;
                self.recorded = None;
                stats
            }
            Work::Files(paths) => {
                let stats = ingestor.pass_paths(&self.folders, &paths, stop)?;
                if self.notify.is_none() {
                    self.keep_hot(&paths);
                }
                stats
            }
        };
        if self.recorded.is_none_or(|at| at.elapsed() >= RECORD_EVERY) {
            self.save(ingestor)?;
        }
        Ok(stats)
    }

    /// Files read by polling stay polled, with what they look like now.
    fn keep_hot(&mut self, paths: &[PathBuf]) {
        for path in paths {
            if let Ok(meta) = std::fs::symlink_metadata(path) {
                self.hot.files.insert(path.clone(), identity_of(&meta));
            }
        }
    }

    /// Writes `status`'s record (also at exit, so the event count is the last one).
    pub fn save(&mut self, ingestor: &Ingestor<'_>) -> Result<()> {
        self.record.updated_at = jiff::Timestamp::now().to_string();
        ingestor.set_meta(WATCH_META, &serde_json::to_string(&self.record)?)?;
        self.recorded = Some(Instant::now());
        Ok(())
    }
}

impl Hot {
    /// Polls each database's WAL and the database itself (a database not written to
    /// since its last checkpoint has none), and its folder, where a WAL appears.
    fn add_databases(&mut self, folders: &[Folder]) {
        for folder in folders {
            if folder.database().is_none() {
                continue;
            }
            if let Ok(meta) = std::fs::symlink_metadata(&folder.path) {
                self.folders.insert(folder.path.clone(), Stamp::of(&meta));
            }
        }
        // As never seen: the pass may have read a database before a write that landed
        // since, so the first poll hands each over again (its cursor tells whether
        // anything is new, for two `stat`s).
        for db in database::databases_in(folders) {
            for path in [database::wal_of(&db.path), db.path] {
                if let Ok(meta) = std::fs::symlink_metadata(&path) {
                    let unseen = Identity {
                        mtime_ns: -1,
                        ..identity_of(&meta)
                    };
                    self.files.insert(path, unseen);
                }
            }
        }
    }
}

/// What polling looks at between full passes (see the module doc), from a full pass's
/// walk: `recent` transcripts, and of `folders` the ones new files appear in.
fn hot_set(
    walked: &[Folder],
    recent: Vec<(PathBuf, Identity)>,
    folders: Vec<(PathBuf, Stamp)>,
) -> Hot {
    let recent_after_ns = jiff::Timestamp::now().as_nanosecond() as i64 - HOT.as_nanos() as i64;
    let projects: Vec<&Path> = walked.iter().map(|f| f.path.as_path()).collect();
    // The session folders of recent transcripts: `<s>/` and `<s>/subagents/` of `<s>.jsonl`.
    let mut sessions = BTreeSet::new();
    for (path, _) in &recent {
        let session = path.with_extension("");
        sessions.insert(session.join("subagents"));
        sessions.insert(session);
    }
    let folders = folders
        .into_iter()
        .filter(|(path, stamp)| {
            stamp.mtime_ns >= recent_after_ns
                || sessions.contains(path)
                || projects
                    .iter()
                    .any(|&p| path == p || path.parent() == Some(p))
        })
        .collect();
    Hot {
        files: recent.into_iter().collect(),
        folders,
    }
}

fn identity_of(meta: &std::fs::Metadata) -> Identity {
    use std::os::unix::fs::MetadataExt;
    Identity {
        dev: meta.dev(),
        inode: meta.ino(),
        size: meta.size(),
        mtime_ns: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(mtime_ns: i64) -> Stamp {
        Stamp { inode: 1, mtime_ns }
    }

    fn identity(mtime_ns: i64) -> Identity {
        Identity {
            dev: 1,
            inode: 2,
            size: 3,
            mtime_ns,
        }
    }

    #[test]
    fn polling_looks_at_project_folders_recent_folders_and_recent_sessions_own() {
        let now = jiff::Timestamp::now().as_nanosecond() as i64;
        let old = now - 2 * HOT.as_nanos() as i64;
        let root = PathBuf::from("/r");
        let p = |rest: &str| PathBuf::from(format!("/r/projects{rest}"));
        let folders = vec![
            (p(""), stamp(old)),
            (p("/-a"), stamp(old)),
            (p("/-a/s1"), stamp(old)),
            (p("/-a/s1/subagents"), stamp(old)),
            (p("/-a/s2"), stamp(old)),
            (p("/-a/s2/subagents"), stamp(old)),
            (p("/-a/s3"), stamp(now)),
        ];
        let recent = vec![(p("/-a/s1.jsonl"), identity(now))];
        let hot = hot_set(
            &crate::sources::claude::folders_of(&[root]),
            recent,
            folders,
        );
        let mut polled: Vec<_> = hot.folders.keys().cloned().collect();
        polled.sort();
        assert_eq!(
            polled,
            vec![
                p(""),
                p("/-a"),
                p("/-a/s1"),
                p("/-a/s1/subagents"),
                p("/-a/s3")
            ]
        );
        assert_eq!(hot.files.len(), 1);
    }

    #[test]
    fn reads_and_attribute_changes_are_not_changes() {
        let mut changes = Changes::start(
            &[],
            Schedule {
                interval: Duration::from_secs(5),
                rescan: Duration::from_secs(300),
                poll: true,
            },
        );
        let path = PathBuf::from("/r/projects/-a/s.jsonl");
        let event = |kind| Ok(Event::new(kind).add_path(path.clone()));
        changes.on_event(event(EventKind::Access(AccessKind::Open(AccessMode::Any))));
        changes.on_event(event(EventKind::Access(AccessKind::Close(
            AccessMode::Read,
        ))));
        changes.on_event(event(EventKind::Modify(ModifyKind::Metadata(
            notify::event::MetadataKind::Any,
        ))));
        assert!(changes.pending.is_empty());
        assert_eq!(changes.record.events, 0);
        changes.on_event(event(EventKind::Modify(ModifyKind::Data(
            notify::event::DataChange::Any,
        ))));
        changes.on_event(event(EventKind::Access(AccessKind::Close(
            AccessMode::Write,
        ))));
        assert_eq!(changes.pending.iter().collect::<Vec<_>>(), vec![&path]);
        assert_eq!(changes.record.events, 2);
    }
}
