//! `make bench`'s figures for where people look: the status line after an append to the
//! session's transcript (median, against ccusage's `statusline` fed the same JSON), ten
//! status lines started at once (the slowest, and each one's peak RSS), and `live` left
//! idle in tmux (CPU and RSS). Printed, never asserted.
//!
//! A child's peak RSS is taken from `getrusage(RUSAGE_CHILDREN)` in a small helper (this
//! bench binary started again with `--spawn-rss`): Linux folds the spawning process's
//! peak into a child's at exec, so measured from the bench itself, which has held big
//! lines, every child would look as big as the bench.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const HELPER: &str = "--spawn-rss";

/// In the helper: runs `program args...` with `stdin_file` as its stdin; prints
/// `<seconds> <peak RSS KiB>` and then the child's stdout. Returns false in the bench.
pub fn rss_helper() -> bool {
    let args: Vec<String> = std::env::args().collect();
    let Some(at) = args.iter().position(|a| a == HELPER) else {
        return false;
    };
    let stdin = std::fs::File::open(&args[at + 1]).expect("the helper's stdin file");
    let started = Instant::now();
    let out = Command::new(&args[at + 2])
        .args(&args[at + 3..])
        .stdin(stdin)
        .stderr(Stdio::null())
        .output()
        .expect("spawn");
    let elapsed = started.elapsed().as_secs_f64();
    // SAFETY: getrusage fills the struct it is given; a zeroed one is a valid start.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    println!("{elapsed} {}", usage.ru_maxrss);
    std::io::stdout().write_all(&out.stdout).ok();
    true
}

struct Timed {
    seconds: f64,
    rss_kib: u64,
    stdout: String,
}

fn spawn_measured(stdin_file: &Path, program: &Path, args: &[String]) -> std::process::Child {
    Command::new(std::env::current_exe().expect("the bench binary"))
        .arg(HELPER)
        .arg(stdin_file)
        .arg(program)
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn the helper")
}

fn finish(child: std::process::Child) -> Timed {
    let out = child.wait_with_output().expect("the helper");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
    let mut figures = first.split_whitespace();
    Timed {
        seconds: figures
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or(f64::NAN),
        rss_kib: figures.next().and_then(|s| s.parse().ok()).unwrap_or(0),
        stdout: rest.trim_end().to_string(),
    }
}

/// A response as Claude Code writes it, at `ts_ms`, in session `session`.
fn response(session: &str, ts_ms: i64, id: usize) -> String {
    let ts = jiff::Timestamp::from_millisecond(ts_ms).expect("a time");
    format!(
        r#"{{"type":"assistant","sessionId":"{session}","cwd":"/home/dev/work","version":"2.1.30","timestamp":"{}","requestId":"req_glance_{id}","message":{{"id":"msg_glance_{id}","type":"message","role":"assistant","model":"claude-opus-4-5","content":[{{"type":"text","text":"ok"}}],"usage":{{"input_tokens":120,"cache_creation_input_tokens":2000,"cache_read_input_tokens":40000,"output_tokens":800}}}}}}"#,
        ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
    ) + "\n"
}

struct Appender {
    path: PathBuf,
    session: String,
    next: usize,
}

impl Appender {
    fn append(&mut self) {
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.path)
            .expect("the session's transcript");
        let now = jiff::Timestamp::now().as_millisecond();
        file.write_all(response(&self.session, now, self.next).as_bytes())
            .expect("append");
        self.next += 1;
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

pub fn run(bin: &Path, db: &Path, root: &Path, files: &[PathBuf], ccusage: Option<PathBuf>) {
    let Some(transcript) = files
        .iter()
        .find(|f| !f.to_string_lossy().contains("/subagents/"))
    else {
        return;
    };
    let session = transcript
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let mut appender = Appender {
        path: transcript.clone(),
        session: session.clone(),
        next: 0,
    };
    let work = db.parent().expect("the bench folder");
    let stdin_file = work.join("statusline.json");
    // The quota windows change at every call, so every call writes a sample (the worst
    // case: Claude Code sends the same percents again more often than not).
    let write_input = |call: usize| {
        let resets = jiff::Timestamp::now().as_second() / 3600 * 3600 + 3 * 3600;
        let input = serde_json::json!({
            "session_id": session,
            "transcript_path": transcript,
            "cwd": "/home/dev/work",
            "model": {"id": "claude-opus-4-5", "display_name": "Opus 4.5"},
            "workspace": {"current_dir": "/home/dev/work", "project_dir": "/home/dev/work"},
            "version": "2.1.30",
            "cost": {"total_cost_usd": 1.0},
            "rate_limits": {
                "five_hour": {"used_percentage": call % 100, "resets_at": resets},
                "seven_day": {"used_percentage": 20 + call / 10, "resets_at": resets + 4 * 86_400},
            },
        });
        std::fs::write(&stdin_file, input.to_string()).expect("the status line's stdin");
    };
    write_input(0);
    // A session active now, and a ledger that is current.
    appender.append();
    let once = Command::new(bin)
        .arg("--db")
        .arg(db)
        .arg("--source")
        .arg(root)
        .args(["--quiet", "once"])
        .status()
        .expect("once");
    assert!(once.success());
    let args: Vec<String> = [
        "--db".to_string(),
        db.display().to_string(),
        "--source".to_string(),
        root.display().to_string(),
        "statusline".to_string(),
        "--no-color".to_string(),
    ]
    .into();

    let mut times = Vec::new();
    let mut rss = Vec::new();
    let mut line = String::new();
    for call in 0..21 {
        appender.append();
        write_input(call + 1);
        let t = finish(spawn_measured(&stdin_file, bin, &args));
        times.push(t.seconds);
        rss.push(t.rss_kib);
        line = t.stdout;
    }
    let ours = median(&mut times);
    rss.sort_unstable();
    println!("\nstatus line (after a line appended to the session's transcript, ledger current)");
    println!("  {line}");
    println!(
        "  cco-stats statusline           median {:>9.2} ms   (p90 {:.2} ms, peak RSS {:.1} MiB; goal: <= 10 ms)",
        ours * 1e3,
        times[(times.len() - 1) * 9 / 10] * 1e3,
        rss[rss.len() / 2] as f64 / 1024.0
    );

    appender.append();
    let started: Vec<_> = (0..10)
        .map(|_| spawn_measured(&stdin_file, bin, &args))
        .collect();
    let ten: Vec<Timed> = started.into_iter().map(finish).collect();
    let slowest = ten.iter().map(|t| t.seconds).fold(0.0, f64::max);
    let biggest = ten.iter().map(|t| t.rss_kib).max().unwrap_or(0);
    let lines_ok = ten.iter().filter(|t| !t.stdout.is_empty()).count();
    println!(
        "  ten started at once            slowest {:>8.2} ms   peak RSS at most {:.1} MiB, {lines_ok}/10 printed a line (goal: <= 100 ms, <= 20 MB)",
        slowest * 1e3,
        biggest as f64 / 1024.0
    );

    if let Some(ccusage) = ccusage {
        let ccusage_args: Vec<String> = ["statusline", "--offline", "--cost-source", "ccusage"]
            .map(String::from)
            .into();
        let mut theirs = Vec::new();
        let mut their_line = String::new();
        for _ in 0..5 {
            appender.append();
            let mut cmd = Command::new(&ccusage);
            cmd.args(&ccusage_args)
                .env("CLAUDE_CONFIG_DIR", root)
                .stdin(std::fs::File::open(&stdin_file).expect("stdin"))
                .stderr(Stdio::null());
            let started = Instant::now();
            let out = cmd.output().expect("run ccusage statusline");
            theirs.push(started.elapsed().as_secs_f64());
            their_line = String::from_utf8_lossy(&out.stdout).trim_end().to_string();
        }
        let theirs_s = median(&mut theirs);
        println!("  {their_line}");
        println!(
            "  ccusage statusline             median {:>9.1} ms   ratio {:.0}x (goal: >= 100x)",
            theirs_s * 1e3,
            theirs_s / ours
        );
    }
    live_idle(bin, db, root);
}

/// `live` on the bench tree in a detached tmux window: its CPU over 20 idle seconds
/// (after 5 to settle) and its resident memory.
fn live_idle(bin: &Path, db: &Path, root: &Path) {
    if !Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        println!("  live idle: tmux not found, not measured");
        return;
    }
    let socket = format!("cco-stats-bench-{}", std::process::id());
    let tmux = |args: &[&str]| {
        Command::new("tmux")
            .args(["-L", &socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("tmux")
    };
    let command = format!(
        "exec '{}' --db '{}' --source '{}' live",
        bin.display(),
        db.display(),
        root.display()
    );
    tmux(&[
        "new-session",
        "-d",
        "-s",
        "live",
        "-x",
        "120",
        "-y",
        "40",
        &command,
    ]);
    let pid = String::from_utf8_lossy(
        &tmux(&["display-message", "-p", "-t", "live", "#{pane_pid}"]).stdout,
    )
    .trim()
    .to_string();
    let cpu_ticks = || -> Option<u64> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let after = stat.rsplit_once(')')?.1;
        let fields: Vec<&str> = after.split_whitespace().collect();
        Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
    };
    let status = |key: &str| -> Option<u64> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let line = text.lines().find(|l| l.starts_with(key))?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    std::thread::sleep(Duration::from_secs(5));
    let (Some(before), started) = (cpu_ticks(), Instant::now()) else {
        println!("  live idle: it did not start ({pid})");
        tmux(&["kill-server"]);
        return;
    };
    std::thread::sleep(Duration::from_secs(20));
    let after = cpu_ticks().unwrap_or(before);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let cpu = (after - before) as f64 / hz / started.elapsed().as_secs_f64() * 100.0;
    let rss = status("VmRSS:").unwrap_or(0) as f64 / 1024.0;
    let peak = status("VmHWM:").unwrap_or(0) as f64 / 1024.0;
    tmux(&["send-keys", "-t", "live", "q"]);
    std::thread::sleep(Duration::from_millis(500));
    tmux(&["kill-server"]);
    println!(
        "  live, idle for 20 s            CPU {cpu:.2}%   RSS {rss:.1} MiB (peak {peak:.1} MiB; goal: <= 1%, <= 30 MB)"
    );
}
