//! Hostile conditions through the real binary: a full disk (a real, tiny tmpfs), a
//! corrupt or read-only database, and writers that append and truncate while several
//! processes ingest. Each must end in a clear message and an exact ledger.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::corpus::{self, Spec};
use common::{Scratch, days, expected_days, json, walk};
use predicates::prelude::*;

/// Why the tests that mount a tmpfs are left out of `cargo test`: `make test-root` (and
/// CI, which runs as root) runs them with `--ignored`.
const NEEDS_ROOT: &str = "mounts a tmpfs: needs root, run by `make test-root`";

/// A tmpfs of a few MiB, mounted for one test. Unmounted when dropped.
struct TinyDisk {
    path: PathBuf,
}

impl TinyDisk {
    /// Fails the test when the tmpfs cannot be mounted: asked for, it must run.
    fn mount(at: &Path, size: &str) -> TinyDisk {
        fs::create_dir_all(at).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "cannot mount a tmpfs at {} ({NEEDS_ROOT}): {}",
            at.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        TinyDisk {
            path: at.to_path_buf(),
        }
    }

    /// Fills the disk until less than `keep` bytes are free.
    fn fill(&self, keep: u64) -> PathBuf {
        let filler = self.path.join("filler");
        let free = free_bytes(&self.path);
        fs::write(&filler, vec![0u8; free.saturating_sub(keep) as usize]).unwrap();
        filler
    }
}

impl Drop for TinyDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

fn free_bytes(path: &Path) -> u64 {
    let out = Command::new("df")
        .args(["-B1", "--output=avail"])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .unwrap()
}

fn cco(s: &Scratch, db: &Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(common::BIN);
    cmd.env_remove("CLAUDE_CONFIG_DIR")
        .env_remove("RUST_LOG")
        .env("HOME", s.dir.path())
        .arg("--db")
        .arg(db)
        .arg("--source")
        .arg(&s.root);
    cmd
}

fn daily(s: &Scratch, db: &Path) -> Vec<(String, [u64; 4])> {
    let out = cco(s, db)
        .args(["daily", "--json", "--no-ingest", "--timezone", "UTC"])
        .assert()
        .success();
    days(&json(&out.get_output().stdout))
}

/// A generated tree and an empty ledger on a tiny disk filled to its last 96 KiB:
/// (scratch, expected totals, disk, database, filler).
fn on_a_full_disk(seed: u64) -> (Scratch, corpus::Expected, TinyDisk, PathBuf, PathBuf) {
    let s = Scratch::new();
    let spec = Spec {
        files: 40,
        seed,
        ..Spec::default()
    };
    let expected = corpus::generate(&s.root, &spec).unwrap();
    let disk = TinyDisk::mount(&s.dir.path().join("tiny"), "8m");
    let db = disk.path.join("stats.db");
    // The ledger exists (empty) before the disk fills: the failure is in ingesting.
    cco(&s, &db).arg("rebuild").assert().success();
    let filler = disk.fill(96 * 1024);
    (s, expected, disk, db, filler)
}

#[test]
#[ignore = "mounts a tmpfs: needs root, run by `make test-root`"]
fn a_full_disk_fails_clearly_and_the_next_run_records_everything() {
    let (s, expected, _disk, db, filler) = on_a_full_disk(21);
    cco(&s, &db)
        .arg("once")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("full"))
        .stderr(predicate::str::contains("Nothing already recorded is lost"));

    fs::remove_file(filler).unwrap();
    cco(&s, &db).arg("once").assert().success();
    assert_eq!(daily(&s, &db), expected_days(&expected));
}

#[test]
#[ignore = "mounts a tmpfs: needs root, run by `make test-root`"]
fn watch_survives_a_full_disk_and_catches_up_when_space_returns() {
    let (s, expected, _disk, db, filler) = on_a_full_disk(22);
    let mut watch = Command::new(common::BIN)
        .env_remove("CLAUDE_CONFIG_DIR")
        .env("HOME", s.dir.path())
        .arg("--db")
        .arg(&db)
        .arg("--source")
        .arg(&s.root)
        .args(["watch", "--interval", "100ms"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    assert!(
        watch.try_wait().unwrap().is_none(),
        "watch must keep running on a full disk"
    );
    fs::remove_file(filler).unwrap();

    // Back-off is at most a few seconds here: wait for the ledger to catch up.
    let started = Instant::now();
    while daily_or_empty(&s, &db) != expected_days(&expected) {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "watch did not catch up"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    sigint(&watch);
    let status = watch.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(watch.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(status.success(), "watch exited with {status}: {err}");
    assert!(err.contains("retrying"), "the failure was reported: {err}");
}

fn daily_or_empty(s: &Scratch, db: &Path) -> Vec<(String, [u64; 4])> {
    let out = cco(s, db)
        .args(["daily", "--json", "--no-ingest", "--timezone", "UTC"])
        .output()
        .unwrap();
    if out.status.success() {
        days(&json(&out.stdout))
    } else {
        Vec::new()
    }
}

fn sigint(child: &Child) {
    let ok = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

#[test]
#[ignore = "mounts a tmpfs: needs root, run by `make test-root`"]
fn reports_read_a_ledger_on_a_read_only_filesystem() {
    let s = Scratch::with_fixtures();
    let disk = TinyDisk::mount(&s.dir.path().join("ro"), "4m");
    let db = disk.path.join("stats.db");
    cco(&s, &db).arg("once").assert().success();
    let remount = Command::new("mount")
        .args(["-o", "remount,ro"])
        .arg(&disk.path)
        .status()
        .unwrap();
    assert!(remount.success());
    let totals = daily(&s, &db).iter().map(|(_, t)| t[0]).sum::<u64>();
    assert_eq!(totals, 1_158);
    cco(&s, &db)
        .arg("once")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cco-stats: the database"));
}

#[test]
fn a_corrupt_database_is_found_and_explained() {
    let s = Scratch::with_fixtures();
    s.once();
    // Scribble over the middle of the file, as a failing disk might.
    let mut bytes = fs::read(&s.db).unwrap();
    let middle = bytes.len() / 2;
    for b in &mut bytes[middle..middle + 3000] {
        *b = 0xA5;
    }
    fs::write(&s.db, &bytes).unwrap();
    s.cmd()
        .arg("doctor")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("PROBLEM"))
        .stdout(predicate::str::contains("damaged"));
}

#[test]
fn doctor_explains_claude_codes_retention() {
    let s = Scratch::with_fixtures();
    s.once();
    s.cmd()
        .arg("doctor")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "deletes transcripts after 30 days",
        ))
        .stdout(predicate::str::contains("report aggregates agree"));
    fs::write(
        s.root.join("settings.json"),
        r#"{"cleanupPeriodDays": 365}"#,
    )
    .unwrap();
    s.cmd()
        .arg("doctor")
        .assert()
        .success()
        .stdout(predicate::str::contains("keeps transcripts 365 days"));
}

/// Writers append in random pieces and now and then truncate a file and write it again,
/// while a `watch` and overlapping `once` runs ingest: the final totals are exact.
#[test]
fn stress_appends_truncations_and_overlapping_runs() {
    let s = Scratch::new();
    let expected = corpus::generate(
        &s.root,
        &Spec {
            files: 50,
            seed: 31,
            ..Spec::default()
        },
    )
    .unwrap();
    let stash = s.dir.path().join("final");
    fs::rename(&s.root, &stash).unwrap();
    fs::create_dir_all(s.root.join("projects")).unwrap();
    let files = walk(&stash);
    let mut watch = s
        .std_cmd()
        .args(["watch", "--interval", "30ms", "--batch-size", "7"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut runs: Vec<Child> = Vec::new();
    let rounds = 16;
    for round in 1..=rounds {
        for (i, file) in files.iter().enumerate() {
            let full = fs::read(file).unwrap();
            let target = s.root.join(file.strip_prefix(&stash).unwrap());
            fs::create_dir_all(target.parent().unwrap()).unwrap();
            let have = fs::metadata(&target).map(|m| m.len() as usize).unwrap_or(0);
            // Every few rounds some files are cut back (a truncation) before growing on.
            let keep = if (i + round) % 7 == 0 { have / 3 } else { have };
            let want = (full.len() * round / rounds).max(keep);
            let mut bytes = full[..keep].to_vec();
            bytes.extend_from_slice(&full[keep..want]);
            if keep < have {
                fs::write(&target, &bytes).unwrap();
            } else if want > have {
                let mut out = fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&target)
                    .unwrap();
                std::io::Write::write_all(&mut out, &full[have..want]).unwrap();
            }
        }
        runs.push(
            s.std_cmd()
                .args(["once", "--batch-size", "11"])
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
        if round % 2 == 0 {
            runs.push(
                s.std_cmd()
                    .args(["once"])
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap(),
            );
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    for run in runs {
        let out = run.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!String::from_utf8_lossy(&out.stderr).contains("locked"));
    }
    std::thread::sleep(Duration::from_millis(300));
    sigint(&watch);
    assert!(watch.wait().unwrap().success());
    s.once();
    assert_eq!(daily(&s, &s.db), expected_days(&expected));
    s.cmd().arg("doctor").assert().success();
}

/// The binary with `args`, started by a shell that first runs `plant` in the scratch
/// folder: `exec` keeps the shell's pid, so `$$` there is the pid the binary runs as, and
/// `plant` can put files at any name derived from it.
fn planted_first(s: &Scratch, plant: &str, args: &[&str]) -> std::process::Output {
    let script = format!("cd \"$0\" && {plant} && exec \"$@\"");
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(s.dir.path())
        .arg(common::BIN)
        .arg("--db")
        .arg(&s.db)
        .arg("--source")
        .arg(&s.root)
        .args(args)
        .env_remove("CLAUDE_CONFIG_DIR")
        .env_remove("RUST_LOG")
        .env("HOME", s.dir.path())
        .output()
        .unwrap()
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

/// Someone who can write to the export's folder plants a link to a file of the user's
/// at the temporary name (formerly `.<name>.<pid>.tmp`) and a world-writable file at the
/// cursor file's: neither is followed or reused, and both results are private files.
#[test]
fn an_export_never_writes_through_a_planted_file() {
    let s = Scratch::with_fixtures();
    s.once();
    let victim = s.dir.path().join("victim");
    fs::write(&victim, "the user's own file\n").unwrap();
    let plant = "ln -s victim .out.ndjson.$$.tmp && \
                 : > .cursor.$$.tmp && chmod 666 .cursor.$$.tmp";
    let out = planted_first(
        &s,
        plant,
        &[
            "export",
            "--output",
            "out.ndjson",
            "--cursor-file",
            "cursor",
        ],
    );
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(
        fs::read_to_string(&victim).unwrap() == "the user's own file\n",
        "the planted link was followed"
    );
    for name in ["out.ndjson", "cursor"] {
        let path = s.dir.path().join(name);
        assert!(fs::symlink_metadata(&path).unwrap().is_file(), "{name}");
        assert_eq!(mode(&path), 0o600, "{name} must be private");
    }
    let rows = fs::read_to_string(s.dir.path().join("out.ndjson")).unwrap();
    assert_eq!(rows.lines().count(), 10, "{rows}");
}

/// `program`, run so that file permissions bind it: as root, without the capabilities
/// that override them (a 0555 folder stops no root process otherwise).
fn bound_by_permissions(program: &Path) -> Command {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Command::new(program);
    }
    let mut cmd = Command::new("setpriv");
    cmd.args([
        "--inh-caps=-all",
        "--bounding-set=-dac_override,-dac_read_search",
        "--",
    ])
    .arg(program);
    cmd
}

/// A ledger in a folder the user cannot write to (a shared or read-only copy), closed
/// cleanly so it has no -shm file: reports with --no-ingest, status and doctor read it
/// ("attempt to write a readonly database" before).
#[test]
fn a_ledger_in_a_read_only_folder_is_read() {
    let s = Scratch::with_fixtures();
    let folder = s.dir.path().join("ledger");
    fs::create_dir_all(&folder).unwrap();
    let db = folder.join("stats.db");
    cco(&s, &db).arg("once").assert().success();
    assert!(!folder.join("stats.db-shm").exists());
    let writable = |mode: u32| {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&folder, fs::Permissions::from_mode(mode)).unwrap();
    };
    writable(0o555);
    let probe = bound_by_permissions(Path::new("touch"))
        .arg(folder.join("probe"))
        .output()
        .expect("run touch (and setpriv, as root)");
    assert!(!probe.status.success(), "the folder must refuse writes");

    let run = |args: &[&str]| {
        bound_by_permissions(Path::new(common::BIN))
            .env_remove("CLAUDE_CONFIG_DIR")
            .env_remove("RUST_LOG")
            .env("HOME", s.dir.path())
            .arg("--db")
            .arg(&db)
            .arg("--source")
            .arg(&s.root)
            .args(args)
            .output()
            .unwrap()
    };
    let daily = run(&["daily", "--json", "--no-ingest", "--timezone", "UTC"]);
    let status = run(&["status", "--json"]);
    let doctor = run(&["doctor"]);
    writable(0o755);

    assert!(daily.status.success(), "{}", common::stderr(&daily));
    assert_eq!(days(&json(&daily.stdout)), cli_fixture_days());
    assert!(status.status.success(), "{}", common::stderr(&status));
    assert_eq!(
        json(&status.stdout)["rows"],
        10,
        "{}",
        String::from_utf8_lossy(&status.stdout)
    );
    let said = String::from_utf8_lossy(&doctor.stdout);
    assert!(doctor.status.success(), "{said}{}", common::stderr(&doctor));
    assert!(!said.contains("readonly"), "{said}");
}

/// The fixture tree's UTC days (as `tests/cli.rs` has them).
fn cli_fixture_days() -> Vec<(String, [u64; 4])> {
    [
        ("2026-01-10", [120, 80, 1_000, 7_000]),
        ("2026-01-11", [1_017, 1_027, 0, 100]),
        ("2026-01-12", [21, 111, 0, 250_000]),
    ]
    .into_iter()
    .map(|(d, s)| (d.to_string(), s))
    .collect()
}
