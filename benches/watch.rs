//! `make bench`'s figures for `watch`: what it costs left idle on a big history, and how
//! soon a new line reaches the ledger, in the three ways it can run, side by side:
//!
//! - notify: the OS's change notification (the default where there is one);
//! - poll: `--poll`, which stats the transcripts changed in the last hour every interval
//!   and walks everything every `--rescan`;
//! - full pass every 5 s: `--poll --rescan 5s`, which is what `watch` did before it had
//!   either (one walk of the whole tree per interval).
//!
//! The tree is the shared generator's, about 10,000 transcripts (`CCO_BENCH_WATCH_FILES`
//! sessions; subagent files come on top) dated two days back, as a history is. CPU is
//! taken from /proc/PID/stat ticks over the idle window (`CCO_BENCH_IDLE_S`, 60 s), RSS
//! from /proc/PID/status. Then one session gets a response a second, 20 times: CPU over
//! those 20 s, and the median time from the append to the row being in the ledger (read
//! by a separate connection every 2 ms). Printed, never asserted.

#[path = "corpus.rs"]
mod corpus;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

const MODES: [(&str, &[&str]); 3] = [
    ("notify", &[]),
    ("poll (recent every 5 s)", &["--poll"]),
    ("full pass every 5 s", &["--poll", "--rescan", "5s"]),
];

fn main() {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_cco-stats"));
    let scratch = tempfile::tempdir().expect("a scratch folder");
    // Every run below would read this machine's other agents too: empty homes instead,
    // so the figures are the generated tree's alone.
    // SAFETY: no thread has started yet.
    unsafe { corpus::empty_agent_homes(scratch.path()) }.expect("empty agent homes");
    let work = scratch.path();
    let root = work.join("claude");
    let spec = corpus::Spec {
        files: env_u64("CCO_BENCH_WATCH_FILES", 8_200) as usize,
        days: 60,
        seed: 11,
        turns: 4,
        big_prob: 0.0,
        big_kb: 1,
    };
    let started = Instant::now();
    let expected = corpus::generate(&root, &spec).expect("generate the watch tree");
    age(
        &root.join("projects"),
        SystemTime::now() - Duration::from_secs(2 * 86_400),
    );
    println!(
        "\nwatch: {} transcripts, {:.0} MiB, dated two days back (generated in {:.1} s)",
        expected.files.len(),
        expected.bytes as f64 / (1 << 20) as f64,
        started.elapsed().as_secs_f64()
    );
    let db = work.join("watch.db");
    let once = Command::new(&bin)
        .arg("--db")
        .arg(&db)
        .arg("--source")
        .arg(&root)
        .args(["--quiet", "once"])
        .status()
        .expect("once");
    assert!(once.success());
    let idle = Duration::from_secs(env_u64("CCO_BENCH_IDLE_S", 60));
    let session = expected
        .files
        .iter()
        .find(|f| !f.to_string_lossy().contains("/subagents/"))
        .expect("a session transcript")
        .clone();
    println!(
        "  {:<26} {:>10} {:>10} {:>12} {:>14} {:>12}",
        "mode",
        format!("idle {} s", idle.as_secs()),
        "RSS",
        "1 append/s",
        "append→ledger",
        "(p90)"
    );
    let mut next_id = 0;
    for (label, flags) in MODES {
        // A session in use now, as the one appended to below is.
        next_id += 1;
        append(&session, next_id);
        let mut watch = Command::new(&bin)
            .arg("--db")
            .arg(&db)
            .arg("--source")
            .arg(&root)
            .arg("watch")
            .args(flags)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn watch");
        // Its first full pass, and the page cache settled.
        std::thread::sleep(Duration::from_secs(3));
        let (cpu_idle, rss) = cpu_over(&watch, idle);
        let conn =
            rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .expect("open the ledger");
        let before = ticks(watch.id());
        let window = Instant::now();
        let mut latencies = appends(&conn, &session, &mut next_id);
        let cpu_busy = percent(ticks(watch.id()) - before, window.elapsed());
        stop(&mut watch);
        latencies.sort_by(f64::total_cmp);
        println!(
            "  {label:<26} {:>9.3}% {:>6.1} MiB {:>11.3}% {:>11.0} ms {:>9.0} ms",
            cpu_idle,
            rss,
            cpu_busy,
            latencies[latencies.len() / 2] * 1e3,
            latencies[latencies.len() * 9 / 10] * 1e3,
        );
    }
    println!(
        "  (goals for notify: idle <= 0.05% and RSS <= 30 MB; 1 append/s <= 0.5%, median <= 1000 ms)"
    );
}

/// Sets the mtime of every file and folder below `dir` to `when`.
fn age(dir: &Path, when: SystemTime) {
    for entry in std::fs::read_dir(dir).expect("a generated folder") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            age(&path, when);
        }
        set_mtime(&path, when);
    }
    set_mtime(dir, when);
}

fn set_mtime(path: &Path, when: SystemTime) {
    std::fs::File::open(path)
        .and_then(|f| f.set_modified(when))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// Appends a response to `session` once a second, 20 times, on the clock (not waiting
/// for the ledger, which would lock the appends to the poll's phase); for each, the
/// seconds until a reader of the ledger saw it.
fn appends(conn: &rusqlite::Connection, session: &Path, next_id: &mut usize) -> Vec<f64> {
    let start = Instant::now();
    let mut written: Vec<(usize, Instant)> = Vec::new();
    let mut latencies = Vec::new();
    while latencies.len() < 20 {
        let due = start + Duration::from_secs(written.len() as u64);
        if written.len() < 20 && Instant::now() >= due {
            *next_id += 1;
            append(session, *next_id);
            written.push((*next_id, Instant::now()));
        }
        for (id, at) in &mut written {
            if *id == 0 {
                continue;
            }
            let seen: i64 = conn
                .query_row(
                    "SELECT count(*) FROM entries WHERE message_id = ?1",
                    [format!("msg_watchbench_{id}")],
                    |r| r.get(0),
                )
                .unwrap_or(0);
            if seen > 0 {
                latencies.push(at.elapsed().as_secs_f64());
                *id = 0;
            } else if at.elapsed() > Duration::from_secs(30) {
                latencies.push(f64::NAN);
                *id = 0;
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    latencies
}

/// Appends response `id` (message `msg_watchbench_<id>`) to `session`.
fn append(session: &Path, id: usize) {
    let message = format!("msg_watchbench_{id}");
    let line = format!(
        r#"{{"type":"assistant","sessionId":"bench","cwd":"/home/dev/work","version":"2.1.30","timestamp":"{}","requestId":"req_watchbench_{id}","message":{{"id":"{message}","type":"message","role":"assistant","model":"claude-opus-4-5","content":[{{"type":"text","text":"ok"}}],"usage":{{"input_tokens":120,"cache_creation_input_tokens":2000,"cache_read_input_tokens":40000,"output_tokens":800}}}}}}"#,
        jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
    ) + "\n";
    std::fs::OpenOptions::new()
        .append(true)
        .open(session)
        .and_then(|mut f| f.write_all(line.as_bytes()))
        .expect("append");
}

/// CPU % of `child` over `window`, and its resident memory (MiB) at the end.
fn cpu_over(child: &Child, window: Duration) -> (f64, f64) {
    let before = ticks(child.id());
    let started = Instant::now();
    std::thread::sleep(window);
    let cpu = percent(ticks(child.id()) - before, started.elapsed());
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
    let rss_kib: u64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0);
    (cpu, rss_kib as f64 / 1024.0)
}

/// utime + stime of a process, in clock ticks.
fn ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let Some((_, after)) = stat.rsplit_once(')') else {
        return 0;
    };
    let fields: Vec<&str> = after.split_whitespace().collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(11) + field(12)
}

fn percent(ticks: u64, over: Duration) -> f64 {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    ticks as f64 / hz / over.as_secs_f64() * 100.0
}

fn stop(child: &mut Child) {
    let ok = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(ok.success());
    let status = child.wait().expect("watch");
    assert!(status.success(), "watch exited with {status}");
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
